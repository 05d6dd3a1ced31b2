/* VLESS module: shared enums and constants. The codecs live in their own headers:
 *   vless/addr.h    destination address codec (port first)
 *   vless/header.h  request/response headers, addons, server decode decisions
 *   vless/users.h   immutable user table snapshots, flow rules
 *   vless/vision.h  XTLS Vision writer/reader, inner-TLS filter, direct-copy switch
 *   vless/mux.h     Mux.Cool / XUDP frames
 *   vless/udp.h     command-2 UDP datagram framing
 * Everything is sans-IO: bytes in, bytes out, RNG injected. See docs/vless.md. */
#ifndef VEIL_VLESS_VLESS_H
#define VEIL_VLESS_VLESS_H

#include <stddef.h>
#include <stdint.h>

#define VLESS_ID_LEN 16
#define VLESS_VERSION 0

/* Request commands (spec/vless.md §5); values are the wire bytes. */
enum vless_cmd {
    VLESS_CMD_NONE = 0, /* not a valid command */
    VLESS_CMD_TCP = 1,
    VLESS_CMD_UDP = 2,
    VLESS_CMD_MUX = 3,
    VLESS_CMD_RVS = 4, /* reverse portal; parsed, always rejected by the server */
    VLESS_CMD__COUNT,  /* sentinel */
};

/* Flow values. VISION_UDP443 exists only in client configs and is sent as VISION. */
enum vless_flow {
    VLESS_FLOW_NONE = 0,      /* "" */
    VLESS_FLOW_VISION,        /* "xtls-rprx-vision" */
    VLESS_FLOW_VISION_UDP443, /* "xtls-rprx-vision-udp443" (client config only) */
    VLESS_FLOW_UNKNOWN,       /* any other string a peer sent */
    VLESS_FLOW__COUNT,        /* sentinel */
};

#define VLESS_FLOW_VISION_STR "xtls-rprx-vision"
#define VLESS_FLOW_VISION_UDP443_STR "xtls-rprx-vision-udp443"

/* Maps a flow string; unknown strings give VLESS_FLOW_UNKNOWN. */
enum vless_flow vless_flow_from_str(const char *s, size_t len);
/* The config/wire name of a flow ("" for NONE, "?" for UNKNOWN). */
const char *vless_flow_str(enum vless_flow f);

#endif
