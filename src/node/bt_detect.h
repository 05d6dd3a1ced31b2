/* BitTorrent recognition over the first bytes of a flow inside the tunnel (docs/node-config.md
 * "BitTorrent"). Sans-IO: pure functions of the bytes, no state. Each verdict needs the
 * protocol's structure, not one magic byte, so TLS, QUIC, DNS and ordinary HTTP never match:
 *   TCP: the peer handshake (BEP 3: 19 "BitTorrent protocol"), an HTTP tracker announce or
 *        scrape (BEP 3/23: GET /...?info_hash=...).
 *   UDP: a DHT KRPC message (BEP 5: one whole bencoded dict with "t" and "y" = q/r/e), a uTP
 *        SYN or STATE packet (BEP 29: version 1, no payload, a valid extension chain), a UDP
 *        tracker connect request (BEP 15: protocol id 0x41727101980, action 0).
 * Encrypted peer connections (MSE) look random and are not recognised. */
#ifndef VEIL_NODE_BT_DETECT_H
#define VEIL_NODE_BT_DETECT_H

#include <stddef.h>
#include <stdint.h>

enum node_bt_kind {
    NODE_BT_NONE = 0,
    NODE_BT_HANDSHAKE,    /* BEP 3 peer wire handshake */
    NODE_BT_HTTP_TRACKER, /* BEP 3/23 HTTP announce or scrape */
    NODE_BT_DHT,          /* BEP 5 KRPC */
    NODE_BT_UTP,          /* BEP 29 */
    NODE_BT_UDP_TRACKER,  /* BEP 15 connect */
    NODE_BT__COUNT,       /* sentinel */
};

/* The first bytes a client sent on a TCP flow (any length; a short prefix gives NONE). */
enum node_bt_kind node_bt_detect_tcp(const uint8_t *p, size_t n);
/* One whole UDP datagram from the client. */
enum node_bt_kind node_bt_detect_udp(const uint8_t *p, size_t n);
const char *node_bt_kind_str(enum node_bt_kind k);

#endif
