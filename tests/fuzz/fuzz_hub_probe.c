/* Fuzz target: the hub's node probe (hub/probe). The input is the first bytes a node's port
 * answered (judged by hub_probe_answer_is_tls, which must agree with a direct reading of the
 * record header) and, from its tail, the SNI a ClientHello is built for: the hello must fit its
 * buffer, and its record and handshake lengths must add up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/domain/node_health.h"
#include "hub/probe/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool tls = hub_probe_answer_is_tls(data, size);
    if (tls && (size < 5 || (data[0] != 21 && data[0] != 22) || data[1] != 3 || ((size_t)data[3] << 8 | data[4]) == 0))
        abort();
    char sni[300];
    size_t n = size < sizeof sni - 1 ? size : sizeof sni - 1;
    memcpy(sni, data, n);
    sni[n] = '\0';
    uint8_t rnd[PROBE_HELLO_RAND] = {0}, hello[PROBE_HELLO_MAX];
    size_t len = probe_client_hello(hello, sizeof hello, sni, rnd);
    if (len == 0 || len > sizeof hello)
        abort();
    size_t rec = (size_t)hello[3] << 8 | hello[4];
    size_t hs = (size_t)hello[6] << 16 | (size_t)hello[7] << 8 | hello[8];
    if (hello[0] != 22 || hello[5] != 1 || rec != len - 5 || hs != len - 9)
        abort();
    return 0;
}
