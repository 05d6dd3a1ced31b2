/* Key exchange groups as a const ops table, so X25519MLKEM768 (0x11ec) can be plugged in
 * next to X25519 without touching the handshake. Shares and secrets are raw bytes;
 * per-client state (the private key) is opaque and owned by the ops. */
#ifndef VEIL_TLS13_KEX_H
#define VEIL_TLS13_KEX_H

#include <stddef.h>
#include <stdint.h>

#define TLS13_GROUP_X25519 0x001d
#define TLS13_GROUP_X25519MLKEM768 0x11ec
#define TLS13_KEX_SHARED_MAX 64 /* hybrid: 32 (ML-KEM) + 32 (X25519) */
#define TLS13_KEX_SHARE_MAX 1216

/* Injected randomness (STYLE §6): a single-method struct embedded in the caller's object.
 * A NULL `struct tls13_random *` means the system CSPRNG (crypto_random). */
struct tls13_random {
    int (*cb)(struct tls13_random *self, void *out, size_t n);
};
int tls13_random_bytes(struct tls13_random *r, void *out, size_t n);

struct tls13_kex_ops {
    uint16_t group;
    const char *name;
    size_t client_share_len, server_share_len;
    /* Client: new key pair; *state is allocated by the ops (freed with state_free) and
     * `share` receives client_share_len bytes. */
    int (*client_keygen)(struct tls13_random *rng, void **state, uint8_t *share);
    /* Client: state from a caller-held private key (REALITY client supplies its own
     * ClientHello and the key behind its key share). ERR_RANGE on a bad length. */
    int (*client_import)(const uint8_t *priv, size_t len, void **state);
    /* Client: shared secret from the server's share (server_share_len bytes). */
    int (*client_finish)(void *state, const uint8_t *server_share, uint8_t *shared, size_t *shared_len);
    /* Server: answer a client share (client_share_len bytes) with server_share_len bytes
     * and the shared secret. */
    int (*server_exchange)(struct tls13_random *rng, const uint8_t *client_share, uint8_t *server_share,
                           uint8_t *shared, size_t *shared_len);
    void (*state_free)(void *state);
};

extern const struct tls13_kex_ops tls13_kex_x25519;
/* X25519MLKEM768; client private key for tls13_client_set_hello: dk (2400) || x25519 (32). */
extern const struct tls13_kex_ops tls13_kex_x25519mlkem768;

#endif
