/* The outbound half of `veil client`: one VLESS + REALITY (+ Vision) tunnel to a node.
 * outbound_open() does the blocking part — TCP connect, the REALITY handshake (Chrome-shaped
 * ClientHello with the sealed session id, our temporary-certificate check) — and leaves a
 * tunnel_xprt ready to carry the VLESS request and the data. A server whose certificate is not
 * a REALITY certificate for our key is a real website: the tunnel is refused, never used. */
#ifndef VEIL_CLI_OUTBOUND_H
#define VEIL_CLI_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "crypto/hybrid_x25519mlkem768.h"
#include "tunnel/xprt.h"
#include "reality/client.h"
#include "tls13/tls13.h"
#include "vless/addr.h"
#include "vless/vless.h"

struct outbound_cfg {
    char host[256];
    uint16_t port;
    uint8_t id[16];
    enum vless_flow flow; /* NONE or VISION */
    char sni[256];
    uint8_t pbk[32];
    uint8_t sid[8];
    uint32_t timeout_ms; /* connect + handshake; 0 = 10000 */
    bool no_pq;          /* offer X25519 only; default: X25519MLKEM768 first, then X25519 (Chrome) */
    char bind_ip[64];    /* source address of the connection to the node; "" = any */
};

/* From a vless:// share link (security=reality, type tcp/raw). ERR_MALFORMED / ERR_UNSUPPORTED
 * with a reason in err. */
int outbound_cfg_from_link(struct outbound_cfg *c, const char *link, char *err, size_t errlen);
/* From Xray client JSON: the first outbound with protocol "vless" and REALITY settings. */
int outbound_cfg_from_json(struct outbound_cfg *c, const char *text, size_t len, char *err, size_t errlen);

struct outbound_verify {
    struct tls13_verify_certificate base;
    const uint8_t *auth_key;
    bool reality; /* the leaf carried our HMAC */
};

struct outbound {
    int fd;
    struct tls13_ctx ctx;
    struct tls13_conn *tls;
    struct reality_client_keys keys;
    struct x25519mlkem768_client hybrid; /* secrets behind the hybrid share (keys.offered_hybrid) */
    struct outbound_verify verify;
    struct tunnel_xprt xprt;
    bool xprt_ready;
};

/* Connects and completes the REALITY handshake, then prepares the VLESS request for `dest`
 * (sent in front of the first data). The socket is left nonblocking. 0, or -errno / ERR_*;
 * ERR_AUTH when the server is not a REALITY server for this key (a real website). The group the
 * server answered is tls13_conn_group(t->tls) (logged at debug level as "reality_handshake"). */
int outbound_open(struct outbound *t, const struct outbound_cfg *c, const struct vless_addr *dest);
/* Same with another command: VLESS_CMD_UDP (dest = the one destination; data is then
 * vless/udp.h datagrams) or VLESS_CMD_MUX (dest ignored; data is vless/mux.h frames). */
int outbound_open_cmd(struct outbound *t, const struct outbound_cfg *c, enum vless_cmd cmd,
                      const struct vless_addr *dest);
/* Sends the VLESS request now (the local application has not spoken; spec/vision.md §4.5).
 * Blocking until written. */
int outbound_send_request_now(struct outbound *t);
void outbound_close(struct outbound *t);

#endif
