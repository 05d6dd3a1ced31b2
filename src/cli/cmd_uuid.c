/* `veil uuid [-i STRING]`: a random UUIDv4, or the UUID Xray derives from a 1-30-byte string
 * (UUIDv5, zero namespace; spec/vless.md §3), as `xray uuid` prints them. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/enc.h"
#include "crypto/crypto.h"
#include "crypto/uuid5.h"

static void usage(FILE *out)
{
    fputs("usage: veil uuid [-i STRING]\n"
          "  Prints a random UUID (v4), or with -i the UUID a VLESS server derives from STRING\n"
          "  (1 to 30 bytes; a UUID text is printed in canonical form).\n",
          out);
}

int cli_uuid_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *input = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'i':
            input = optarg;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    uint8_t id[16];
    if (input) {
        if (uuid_from_string(id, input, strlen(input)) < 0) {
            fprintf(stderr, "veil uuid: -i: must be a UUID or a string of 1 to 30 bytes\n");
            return CLI_EXIT_USAGE;
        }
    } else {
        if (crypto_random(id, sizeof(id)) < 0) {
            fprintf(stderr, "veil uuid: no randomness available\n");
            return CLI_EXIT_FAIL;
        }
        id[6] = (uint8_t)((id[6] & 0x0f) | 0x40); /* version 4 */
        id[8] = (uint8_t)((id[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    }
    char text[UUID_STR_LEN + 1];
    uuid_format(text, id);
    printf("%s\n", text);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
