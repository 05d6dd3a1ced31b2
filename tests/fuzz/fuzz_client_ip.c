/* Fuzz target: hub client address resolution (hub/api/client_ip). The input is
 * "<peer>\n<cidr>\n<cidr>\n...\n\n<X-Forwarded-For>": parsed blocks must be sane, the answer
 * must fit its buffer and be a valid address (or the peer text as given), and without a header
 * it must be the peer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/api/client_ip.h"
#include "fuzz_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = fuzz_cstr(data, size);
    if (s == NULL)
        return 0;
    struct client_ip_net nets[8];
    size_t n = 0;
    char *peer = s, *p = strchr(s, '\n'), *xff = NULL;
    if (p != NULL) {
        *p++ = '\0';
        while (p != NULL && *p != '\n' && *p != '\0') {
            char *nl = strchr(p, '\n');
            if (nl != NULL)
                *nl = '\0';
            if (n < 8 && client_ip_net_parse(p, &nets[n]) == 0) {
                if (nets[n].family != 4 && nets[n].family != 6)
                    abort();
                if (nets[n].prefix > (nets[n].family == 4 ? 32 : 128))
                    abort();
                n++;
            }
            p = nl ? nl + 1 : NULL;
        }
        if (p != NULL && *p == '\n')
            xff = p + 1;
    }
    char out[CLIENT_IP_MAX];
    client_ip_resolve(peer, xff, nets, n, out);
    if (strnlen(out, sizeof out) >= sizeof out)
        abort();
    char norm[CLIENT_IP_MAX];
    if (out[0] != '\0' && !client_ip_normalise(out, strlen(out), norm) && strncmp(out, peer, strlen(out)) != 0)
        abort(); /* not an address: only the peer text itself may come back */
    if (xff == NULL && out[0] != '\0' && client_ip_normalise(peer, strlen(peer), norm) && strcmp(norm, out) != 0)
        abort(); /* no header: the peer */
    free(s);
    return 0;
}
