/* `veil qr TEXT [--invert]`: prints TEXT (a vless:// link, a subscription URL) as a QR code in
 * the terminal, for a phone's camera. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/err.h"

int cli_qr_main(int argc, char **argv)
{
    const char *text = NULL;
    bool invert = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--invert"))
            invert = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            puts("usage: veil qr TEXT [--invert]   (QR code with Unicode half blocks; --invert for light terminals)");
            return CLI_EXIT_OK;
        } else if (text == NULL)
            text = argv[i];
        else
            text = NULL, i = argc; /* two texts: usage error below */
    }
    if (text == NULL) {
        fputs("usage: veil qr TEXT [--invert]\n", stderr);
        return CLI_EXIT_USAGE;
    }
    if (text[0] == '\0') {
        fputs("veil qr: TEXT is empty; nothing to encode\n", stderr);
        return CLI_EXIT_USAGE;
    }
    int rc = cli_qr_print(stdout, text, invert);
    if (rc < 0) {
        fprintf(stderr, "veil qr: %s\n", err_str(rc));
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}
