/* Fuzz target: `veil node drain`'s parser of HAProxy's `show stat` answer (cli/haproxy_rt.h).
 * Any bytes: no crash, and a found server has non-negative numbers and a terminated status. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/haproxy_rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct haproxy_server_stat st;
    if (haproxy_rt_server_stat((const char *)data, size, "nodes", "node2", &st) == 0) {
        if (st.scur < 0 || st.weight < 0 || memchr(st.status, '\0', sizeof st.status) == NULL)
            abort();
    }
    return 0;
}
