/* Fuzz target: socket address strings from configs ("1.2.3.4:443", "[::1]:443", "host:port")
 * and address classification. Parsed addresses must format and re-parse to the same address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/sock.h"
#include "fuzz_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512)
        return 0;
    char *s = fuzz_cstr(data, size);
    if (s == NULL)
        return 0;

    char host[SOCK_HOST_MAX + 1];
    uint16_t port;
    (void)sock_hostport_split(s, host, sizeof(host), &port);

    struct sock_addr a, b;
    if (sock_addr_parse(&a, s) == 0) {
        char out[SOCK_ADDR_STRLEN];
        if (sock_addr_format(&a, out, sizeof(out)) <= 0)
            abort();
        if (sock_addr_parse(&b, out) != 0 || !sock_addr_equal(&a, &b))
            abort();
        if ((unsigned)sock_addr_classify(&a) >= SOCK_CLASS__COUNT)
            abort();
    }
    if (size == 4 || size == 16) {
        if ((unsigned)sock_ip_classify(data, size) >= SOCK_CLASS__COUNT)
            abort();
    }
    free(s);
    return 0;
}
