/* Fuzz target: BitTorrent recognition (node/bt_detect.h). Any bytes give a verdict; a verdict
 * never depends on bytes past the input, and the DHT and uTP shapes are whole-datagram ones, so
 * the same input with a byte appended is not recognised as DHT or uTP again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/bt_detect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size + 1); /* exact-size heap copy: ASan sees any over-read */
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    enum node_bt_kind t = node_bt_detect_tcp(size ? copy : NULL, size);
    enum node_bt_kind u = node_bt_detect_udp(size ? copy : NULL, size);
    if ((unsigned)t >= NODE_BT__COUNT || (unsigned)u >= NODE_BT__COUNT)
        abort();
    if (t == NODE_BT_DHT || t == NODE_BT_UTP || u == NODE_BT_HANDSHAKE || u == NODE_BT_HTTP_TRACKER)
        abort(); /* each detector reports only its own network's kinds */
    copy[size] = 'x';
    enum node_bt_kind longer = node_bt_detect_udp(copy, size + 1);
    if ((u == NODE_BT_DHT || u == NODE_BT_UTP) && longer == u)
        abort();
    free(copy);
    return 0;
}
