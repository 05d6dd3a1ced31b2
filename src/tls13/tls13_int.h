/* tls13 internals shared by conn.c, server.c, client.c, msgs.c and cert.c. */
#ifndef VEIL_TLS13_TLS13_INT_H
#define VEIL_TLS13_TLS13_INT_H

#include "core/wire.h"
#include "tls13/tls13.h"

#define TLS13__MAX_HS_MSG (1u << 18)     /* largest handshake message we buffer */
#define TLS13__MAX_USELESS 32            /* consecutive CCS records tolerated (REALITY default) */
#define TLS13__MAX_EARLY_SKIP (1u << 16) /* bytes of 0-RTT records a server may skip */
#define TLS13__MAX_CLIENT_KEYS 4
#define TLS13__MAX_CERTS 16

struct tls13__client_key {
    const struct tls13_kex_ops *ops;
    void *state;
};

/* State only the handshake needs, on the heap so that an established connection gives it
 * back (~700 B): secrets, the server's certificate flight settings, the client's key shares
 * and certificate request. */
struct tls13__hs {
    uint8_t c_hs[TLS13_HASH_MAX], s_hs[TLS13_HASH_MAX]; /* handshake traffic secrets */
    uint8_t c_ap[TLS13_HASH_MAX];                       /* client app secret until installed */
    /* server */
    struct buf sh_template;
    struct buf cert_msg; /* serialized Certificate message when set */
    uint8_t sign_key[32];
    size_t layout[4], n_layout;
    /* client */
    struct tls13__client_key keys[TLS13__MAX_CLIENT_KEYS];
    size_t n_keys;
    uint8_t peer_key[32];
    bool peer_key_ok; /* leaf is Ed25519 */
    bool cert_requested;
    uint8_t cr_ctx[255];
    size_t cr_ctx_len;
};

struct tls13_conn {
    const struct tls13_ctx *ctx;
    bool is_server;
    enum tls13_state state;
    int error; /* sticky fatal error once state is FAILED */
    void *data;
    struct buf *out; /* output of the current tls13_handshake/recv call */

    const struct tls13_suite *suite;
    const struct tls13_kex_ops *kex;
    struct tls13_keysched ks;
    struct crypto_hash_ctx *transcript;
    struct tls13_cipher rd, wr;

    struct buf hs_in; /* handshake message reassembly */
    struct buf ch_msg, sh_msg;
    struct tls13_client_hello *ch; /* parsed view over ch_msg; NULL once released */
    size_t useless;                /* consecutive CCS records */
    size_t early_skipped;          /* server: bytes of 0-RTT records dropped */
    bool skip_early;               /* server: client offered early_data we ignore */
    bool ccs_sent;
    bool key_update_pending;
    bool app_keys; /* both application keys installed */
    size_t max_fragment;
    uint8_t *alpn; /* heap, only when a protocol was agreed (REALITY never selects one) */
    size_t alpn_len;

    /* server per-connection settings */
    bool have_cert;
    bool alpn_forced;

    /* client */
    bool custom_hello;
    struct tls13__hs *hs; /* NULL once the handshake is over (tls13__drop_handshake_state) */
};

/* conn.c */
/* The agreed protocol (len <= 255; 0 = none). ERR_NOMEM. */
int tls13__set_alpn(struct tls13_conn *c, const uint8_t *proto, size_t len);
int tls13__transcript_start(struct tls13_conn *c);
int tls13__transcript_add(struct tls13_conn *c, const uint8_t *msg, size_t len);
int tls13__transcript_hash(struct tls13_conn *c, uint8_t *out);
int tls13__send_handshake(struct tls13_conn *c, const uint8_t *msg, size_t len, struct buf *out);
int tls13__ccs(struct tls13_conn *c, struct buf *out);
int tls13__finished_build(struct tls13_conn *c, const uint8_t *base, struct buf *msg);
int tls13__finished_check(struct tls13_conn *c, const uint8_t *base, const uint8_t *msg, size_t len);
int tls13__cv_content(struct tls13_conn *c, bool server, uint8_t *out, size_t *len);
bool tls13__list_has_u16(struct bytes list, uint16_t v);
void tls13__free_client_keys(struct tls13_conn *c);
void tls13__drop_handshake_state(struct tls13_conn *c);

/* server.c / client.c: one dispatch per role */
int tls13__server_handle(struct tls13_conn *c, uint8_t type, const uint8_t *msg, size_t len, struct buf *out);
int tls13__client_handle(struct tls13_conn *c, uint8_t type, const uint8_t *msg, size_t len, struct buf *out);
int tls13__client_start(struct tls13_conn *c, struct buf *out);

/* msgs.c */
struct tls13__server_hello {
    uint16_t legacy_version;
    const uint8_t *random;
    struct bytes session_id;
    uint16_t suite;
    bool is_hrr;
    bool has_version;
    uint16_t version;
    bool has_key_share;
    uint16_t group;
    struct bytes share;  /* key_exchange bytes (empty in HRR) */
    size_t share_offset; /* offset of share.p in the message */
    bool has_cookie;
    size_t n_ext;
    uint16_t ext_types[TLS13_MAX_EXTENSIONS];
};
int tls13__parse_server_hello(const uint8_t *msg, size_t len, struct tls13__server_hello *sh);
/* Writes a ClientHello from ctx and fresh key shares (client role). */
int tls13__build_client_hello(struct tls13_conn *c, struct buf *msg);
int tls13__msg_begin(struct buf *b, uint8_t type, struct wire_block *blk);

#endif
