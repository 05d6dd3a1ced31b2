/* Mux.Cool / XUDP frames (spec/mux-xudp.md): meta_len(2) | metadata | [data_len(2) | data].
 * Metadata: session id(2) | status(1) | option(1) | status-specific (network, port-first
 * address, XUDP GlobalID). Incremental parser over a byte stream, and encoders. */
#ifndef VEIL_VLESS_MUX_H
#define VEIL_VLESS_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/bytes.h"
#include "vless/addr.h"

enum vless_mux_status {
    VLESS_MUX_NONE = 0, /* never valid on the wire */
    VLESS_MUX_NEW = 1,
    VLESS_MUX_KEEP = 2,
    VLESS_MUX_END = 3,
    VLESS_MUX_KEEPALIVE = 4,
    VLESS_MUX_STATUS__COUNT, /* sentinel */
};

enum vless_mux_net {
    VLESS_MUX_NET_NONE = 0,
    VLESS_MUX_NET_TCP = 1,
    VLESS_MUX_NET_UDP = 2,
    VLESS_MUX_NET__COUNT, /* sentinel */
};

#define VLESS_MUX_OPT_DATA 0x01
#define VLESS_MUX_OPT_ERROR 0x02
#define VLESS_MUX_META_MAX 512
#define VLESS_MUX_UDP_MAX 8192 /* largest datagram in a UDP frame */
/* Xray clients drop datagrams with len + 666 > 8192. */
#define VLESS_MUX_CLIENT_UDP_MAX (8192 - 666)

struct vless_mux_frame {
    uint16_t session_id;
    uint8_t status; /* enum vless_mux_status */
    uint8_t option; /* VLESS_MUX_OPT_* bits */
    bool has_target;
    uint8_t network; /* enum vless_mux_net; with has_target */
    struct vless_addr target;
    bool has_global_id;
    uint8_t global_id[8];
    bool has_data;     /* option & DATA */
    struct bytes data; /* borrowed from the parser input */
};

/* Parses one whole frame from the start of p. 0 with *consumed = frame size,
 * ERR_NEED_MORE (nothing consumed), ERR_MALFORMED (meta_len > 512 or < 4, unknown status,
 * bad network or address), ERR_TOO_LONG (UDP datagram > 8192, known UDP frames only:
 * New/UDP and Keep with an address; the caller checks address-less Keeps of UDP sessions).
 * Any of the errors means: drop the whole connection. */
int vless_mux_parse(const uint8_t *p, size_t len, struct vless_mux_frame *f, size_t *consumed);

/* Appends a frame. The target is written for New, and for Keep when has_target (UDP
 * per-packet address); GlobalID for New/UDP when has_global_id; data when option has DATA.
 * ERR_RANGE (bad status/network, data > 65535), ERR_NOMEM; `out` unchanged on error. */
int vless_mux_encode(struct buf *out, const struct vless_mux_frame *f);

/* Server → client datagram: Keep, option exactly DATA, source address (full cone). */
int vless_mux_encode_udp(struct buf *out, uint16_t session_id, const struct vless_addr *src, const uint8_t *data,
                         size_t len);
/* End frame, option ERROR when `error`. */
int vless_mux_encode_end(struct buf *out, uint16_t session_id, bool error);

/* spec/mux-xudp.md §8: the body after a Mux request header starts with an XUDP New
 * (>= 7 bytes, session id 0, network UDP). */
bool vless_mux_is_xudp(const uint8_t *body, size_t len);

#endif
