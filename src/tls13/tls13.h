/* tls13: a small, strict, sans-IO TLS 1.3 engine (RFC 8446), client and server, built so
 * that REALITY controls every byte (spec/reality.md §7, docs/tls13.md).
 *
 * Model (picotls style): the caller owns the sockets. tls13_handshake() takes input
 * bytes, reports how many it consumed (always whole records), and appends records to
 * send to an output buf. Bytes not consumed are still the caller's: after the handshake
 * they are the next records of the stream, which is how REALITY/Vision take the raw
 * stream over. Only whole records are consumed, and nothing is buffered inside except
 * a handshake message split across records.
 *
 * Supported: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
 * TLS_CHACHA20_POLY1305_SHA256; groups through struct tls13_kex_ops (X25519 built in);
 * server signatures Ed25519; client verifies Ed25519 CertificateVerify, other schemes
 * only in insecure_skip_verify mode (signature not checked). No PSK/resumption/0-RTT
 * (0-RTT records are skipped by the server), no HelloRetryRequest (server fails with
 * handshake_failure when no acceptable key share, client aborts with
 * handshake_failure on HRR), no client certificates (an empty Certificate is sent when
 * the server asks for one). */
#ifndef VEIL_TLS13_TLS13_H
#define VEIL_TLS13_TLS13_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/bytes.h"
#include "tls13/alert.h"
#include "tls13/kex.h"
#include "tls13/keysched.h"
#include "tls13/record.h"

struct tls13_conn;

/* Handshake states, named for what they wait for. One dispatch switch per role. */
enum tls13_state {
    TLS13_ST_CLIENT_START = 0,            /* client: ClientHello not sent yet */
    TLS13_ST_EXPECT_SERVER_HELLO,         /* client */
    TLS13_ST_EXPECT_ENCRYPTED_EXTENSIONS, /* client */
    TLS13_ST_EXPECT_CERT_OR_CERT_REQUEST, /* client */
    TLS13_ST_EXPECT_CERTIFICATE,          /* client, after CertificateRequest */
    TLS13_ST_EXPECT_CERTIFICATE_VERIFY,   /* client */
    TLS13_ST_EXPECT_SERVER_FINISHED,      /* client */
    TLS13_ST_EXPECT_CLIENT_HELLO,         /* server */
    TLS13_ST_EXPECT_CLIENT_FINISHED,      /* server: flight sent, app write key installed */
    TLS13_ST_ESTABLISHED,                 /* both: application data */
    TLS13_ST_CLOSED,                      /* close_notify received */
    TLS13_ST_FAILED,                      /* fatal error; sticky */
    TLS13_ST__COUNT,                      /* sentinel */
};
const char *tls13_state_str(enum tls13_state s);

#define TLS13_HS_CLIENT_HELLO 1
#define TLS13_HS_SERVER_HELLO 2
#define TLS13_HS_NEW_SESSION_TICKET 4
#define TLS13_HS_ENCRYPTED_EXTENSIONS 8
#define TLS13_HS_CERTIFICATE 11
#define TLS13_HS_CERTIFICATE_REQUEST 13
#define TLS13_HS_CERTIFICATE_VERIFY 15
#define TLS13_HS_FINISHED 20
#define TLS13_HS_KEY_UPDATE 24

#define TLS13_SIG_ED25519 0x0807
#define TLS13_MAX_EXTENSIONS 64

/* A parsed ClientHello. Every view borrows from `msg` (the whole handshake message,
 * type byte and length included) and lives as long as the callback call, or, through
 * tls13_conn_client_hello(), as long as the connection. Absent extensions have p NULL. */
struct tls13_client_hello {
    struct bytes msg;
    uint16_t legacy_version;
    const uint8_t *random;      /* 32 bytes */
    struct bytes session_id;    /* 0..32 bytes; offset in msg is 39 when present */
    struct bytes cipher_suites; /* raw list of uint16 */
    struct bytes compression;   /* legacy_compression_methods */
    struct bytes server_name;   /* host_name of the SNI extension */
    struct bytes alpn;          /* raw ProtocolNameList contents (vec8 entries) */
    struct bytes supported_versions, supported_groups, signature_algorithms, key_shares,
        psk_modes; /* raw list contents without their length prefix */
    bool has_pre_shared_key, has_early_data;
    size_t n_ext;
    struct {
        uint16_t type;
        struct bytes data;
    } ext[TLS13_MAX_EXTENSIONS];
};
/* Parses a ClientHello handshake message strictly (TLS 1.3 rules: duplicate extensions
 * and a non-final pre_shared_key are illegal_parameter, everything malformed is
 * decode_error). Does not check negotiation (versions, groups). */
int tls13_parse_client_hello(const uint8_t *msg, size_t len, struct tls13_client_hello *ch);
/* Finds the key_share entry for `group` in a parsed ClientHello. */
bool tls13_client_hello_key_share(const struct tls13_client_hello *ch, uint16_t group, struct bytes *share);

/* ---- callbacks: single-method structs embedded in the caller's object (container_of) ---- */

/* Server: called once the ClientHello is parsed and before anything is chosen. It may
 * call the tls13_server_set_* functions below (template ServerHello, certificate,
 * record layout). Return 0 to continue, or an error (TLS13_ERR_SEND(alert) to pick the
 * alert). */
struct tls13_on_client_hello {
    int (*cb)(struct tls13_on_client_hello *self, struct tls13_conn *conn, const struct tls13_client_hello *ch);
};
/* Server: called right before the Certificate message is built, after the ServerHello
 * is final (tls13_conn_server_hello() is valid here). Must call
 * tls13_server_set_certificate() unless a certificate is already set. */
struct tls13_emit_certificate {
    int (*cb)(struct tls13_emit_certificate *self, struct tls13_conn *conn);
};
/* Client: inspect the server's chain (DER, leaf first). Return 0 to accept, or an error
 * such as TLS13_ERR_SEND(TLS13_ALERT_BAD_CERTIFICATE). CertificateVerify is checked
 * by the engine afterwards with the leaf's key (Ed25519). */
struct tls13_verify_certificate {
    int (*cb)(struct tls13_verify_certificate *self, struct tls13_conn *conn, const struct bytes *chain, size_t n);
};

/* Shared configuration; borrowed by every connection made from it, so it must outlive
 * them and not change while they run. Zero-initialise and fill what you need. */
struct tls13_ctx {
    struct tls13_random *random;   /* NULL: system CSPRNG */
    const uint16_t *cipher_suites; /* preference order; NULL: 1301, 1302, 1303 */
    size_t n_cipher_suites;
    const struct tls13_kex_ops *const *groups; /* NULL: X25519 only */
    size_t n_groups;
    const struct bytes *alpn; /* client: offered; server: preference order */
    size_t n_alpn;
    bool no_alerts; /* never write alerts to the output */
    /* server */
    const struct bytes *cert_chain; /* default certificate chain (DER, leaf first) */
    size_t n_certs;
    const uint8_t *sign_key; /* default Ed25519 seed (32 bytes) */
    struct tls13_on_client_hello *on_client_hello;
    struct tls13_emit_certificate *emit_certificate;
    /* client */
    const char *server_name; /* SNI; NULL: none */
    struct tls13_verify_certificate *verify_certificate;
    bool insecure_skip_verify; /* tests: accept any chain; non-Ed25519 CertificateVerify unchecked */
};

/* A connection; NULL on allocation failure. The ctx is borrowed. */
struct tls13_conn *tls13_conn_new(const struct tls13_ctx *ctx, bool is_server);
/* Frees the connection and wipes its secrets; NULL is a no-op. */
void tls13_conn_free(struct tls13_conn *c);
void tls13_conn_set_data(struct tls13_conn *c, void *data);
void *tls13_conn_get_data(const struct tls13_conn *c);

/* Drives the handshake. in/inlen: received bytes (may be NULL/0, e.g. for the client's
 * first call, which writes the ClientHello). *consumed: how many bytes of `in` were used
 * (whole records only). Records to send are appended to `out`.
 * Returns 0 when the handshake is complete (bytes after *consumed are application
 * records), ERR_NEED_MORE while it is in progress, or a fatal error; on a fatal error
 * the alert (if any, see alert.h) has already been appended to `out`. */
int tls13_handshake(struct tls13_conn *c, const uint8_t *in, size_t inlen, size_t *consumed, struct buf *out);
bool tls13_handshake_done(const struct tls13_conn *c);
enum tls13_state tls13_conn_state(const struct tls13_conn *c);

/* Seals application data into records of at most max_fragment bytes (default 2^14). */
int tls13_send(struct tls13_conn *c, const void *data, size_t len, struct buf *out);
void tls13_set_max_fragment(struct tls13_conn *c, size_t n);
/* Opens every complete record at `in`, appending application data to `app`.
 * Returns 0 after at least one record, ERR_NEED_MORE if no complete record is there,
 * ERR_CLOSED after the peer's close_notify (the record is consumed), or a fatal error
 * (alert appended to `out` when out is not NULL). NewSessionTicket is ignored and
 * KeyUpdate handled (a requested update is answered by the next tls13_send). */
int tls13_recv(struct tls13_conn *c, const uint8_t *in, size_t inlen, size_t *consumed, struct buf *app,
               struct buf *out);
/* The same for exactly one record; *type gets its inner content type. For Vision, which
 * must stop decrypting at a record boundary and take the rest raw. */
int tls13_recv_record(struct tls13_conn *c, const uint8_t *in, size_t inlen, size_t *consumed, struct buf *app,
                      struct buf *out, uint8_t *type);
/* Seals one record of content `type` under the current write key, padded so that the
 * record is exactly `total` bytes (0: no padding). Application data, empty padding
 * records (REALITY post-handshake mimicry: data NULL, len 0) or raw handshake bytes. */
int tls13_seal_record(struct tls13_conn *c, uint8_t type, const void *data, size_t len, size_t total, struct buf *out);
/* Sends close_notify. */
int tls13_close(struct tls13_conn *c, struct buf *out);
/* Appends the fatal alert that `err` calls for (if any) under the current write key. */
int tls13_send_alert_for(struct tls13_conn *c, int err, struct buf *out);
/* KeyUpdate: sends it and updates our write key; request_peer asks the peer to do too. */
int tls13_key_update(struct tls13_conn *c, bool request_peer, struct buf *out);

/* ---- introspection (valid once the relevant message was processed) ---- */
uint64_t tls13_read_seq(const struct tls13_conn *c);
uint64_t tls13_write_seq(const struct tls13_conn *c);
const struct tls13_suite *tls13_conn_suite(const struct tls13_conn *c);
uint16_t tls13_conn_group(const struct tls13_conn *c);
struct bytes tls13_conn_alpn(const struct tls13_conn *c);
/* Server: SNI host name the client sent (empty if none). */
struct bytes tls13_conn_server_name(const struct tls13_conn *c);
/* The ClientHello / ServerHello handshake messages exactly as sent on the wire. */
struct bytes tls13_conn_client_hello(const struct tls13_conn *c);
struct bytes tls13_conn_server_hello(const struct tls13_conn *c);
/* Once established: frees the ClientHello / ServerHello copies and the parsed ClientHello,
 * which only the handshake needed (~2 kB a connection; for servers holding many idle ones).
 * Afterwards tls13_conn_client_hello / _server_hello / _server_name return empty. */
void tls13_conn_release_handshake(struct tls13_conn *c);
/* Once established: frees both directions' cipher contexts (~2.3 kB) while keeping the keys;
 * the next record rebuilds what it needs. For connections that have been quiet a while. */
void tls13_conn_park(struct tls13_conn *c);
/* The current traffic ciphers, for callers that seal/open records themselves. */
struct tls13_cipher *tls13_conn_read_cipher(struct tls13_conn *c);
struct tls13_cipher *tls13_conn_write_cipher(struct tls13_conn *c);

/* ---- server hooks for REALITY (call before the first tls13_handshake or from
 * on_client_hello; data is copied) ---- */

/* Use this ServerHello handshake message (the target's) verbatim, with only the
 * key_share key_exchange bytes replaced by ours. Its suite and group are used; they
 * must be ones the ClientHello offered (illegal_parameter / handshake_failure
 * otherwise), the session id must echo the client's, and the group must have ops in
 * ctx->groups. */
int tls13_server_set_hello_template(struct tls13_conn *c, const uint8_t *msg, size_t len);
/* Certificate chain (DER, leaf first) and Ed25519 seed for this connection. */
int tls13_server_set_certificate(struct tls13_conn *c, const struct bytes *chain, size_t n,
                                 const uint8_t sign_key[static 32]);
/* Record layout of the encrypted flight. n = 0: default (one record, unpadded);
 * n = 1: EE+Certificate+CertificateVerify+Finished in one record of total length
 * lens[0]; n = 4: one record per message with total lengths lens[0..3]. A length of 0
 * means "no padding". Fails the handshake with ERR_RANGE if a record does not fit. */
int tls13_server_set_record_layout(struct tls13_conn *c, const size_t *lens, size_t n);
/* Selected ALPN protocol override for this connection: len 0 selects none even when
 * the client offers some. Without a call, ctx->alpn preference is used. */
int tls13_server_set_alpn(struct tls13_conn *c, const uint8_t *proto, size_t len);

/* ---- client hooks for REALITY ---- */
struct tls13_client_key {
    const struct tls13_kex_ops *ops;
    const uint8_t *priv; /* format defined by ops->client_import (X25519: 32-byte scalar) */
    size_t priv_len;
};
/* Send exactly this ClientHello handshake message (e.g. Chrome-shaped with a sealed
 * session id) instead of building one. keys[] hold the private keys behind its
 * key_share entries (at least one). The hello is parsed and checked like a server
 * would; the server's answer must match it. */
int tls13_client_set_hello(struct tls13_conn *c, const uint8_t *msg, size_t len, const struct tls13_client_key *keys,
                           size_t n_keys);

/* Extracts the Ed25519 public key from a certificate's SubjectPublicKeyInfo.
 * ERR_UNSUPPORTED when the key is not Ed25519, ERR_MALFORMED on bad DER. */
int tls13_cert_ed25519_key(const uint8_t *der, size_t len, uint8_t pub[static 32]);
/* The signature value (BIT STRING contents after the unused-bits byte) of a
 * certificate; for REALITY's HMAC check. */
int tls13_cert_signature(const uint8_t *der, size_t len, struct bytes *sig);

#endif
