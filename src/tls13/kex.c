/* X25519 (RFC 7748) as a tls13_kex_ops, with injected randomness for private keys. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "crypto/crypto.h"
#include "tls13/kex.h"

int tls13_random_bytes(struct tls13_random *r, void *out, size_t n)
{
    if (r == NULL)
        return crypto_random(out, n);
    return r->cb(r, out, n);
}

static int x25519_import(const uint8_t *priv, size_t len, void **state)
{
    if (len != 32)
        return ERR_RANGE;
    uint8_t *k = malloc(32);
    if (k == NULL)
        return ERR_NOMEM;
    memcpy(k, priv, 32);
    *state = k;
    return 0;
}

static void x25519_free(void *state)
{
    if (state != NULL) {
        secure_wipe(state, 32);
        free(state);
    }
}

static int x25519_keygen(struct tls13_random *rng, void **state, uint8_t *share)
{
    uint8_t priv[32];
    int rc = tls13_random_bytes(rng, priv, sizeof(priv));
    if (rc == 0)
        rc = crypto_x25519_public(priv, share);
    if (rc == 0)
        rc = x25519_import(priv, sizeof(priv), state);
    secure_wipe(priv, sizeof(priv));
    return rc;
}

static int x25519_finish(void *state, const uint8_t *server_share, uint8_t *shared, size_t *shared_len)
{
    TRY(crypto_x25519(shared, state, server_share));
    *shared_len = 32;
    return 0;
}

static int x25519_server(struct tls13_random *rng, const uint8_t *client_share, uint8_t *server_share, uint8_t *shared,
                         size_t *shared_len)
{
    uint8_t priv[32];
    int rc = tls13_random_bytes(rng, priv, sizeof(priv));
    if (rc == 0)
        rc = crypto_x25519_public(priv, server_share);
    if (rc == ERR_CRYPTO)
        rc = ERR_NOMEM; /* our own key: only resources can fail; ERR_CRYPTO means a bad peer */
    if (rc == 0)
        rc = crypto_x25519(shared, priv, client_share);
    if (rc == 0)
        *shared_len = 32;
    secure_wipe(priv, sizeof(priv));
    return rc;
}

const struct tls13_kex_ops tls13_kex_x25519 = {
    .group = TLS13_GROUP_X25519,
    .name = "x25519",
    .client_share_len = 32,
    .server_share_len = 32,
    .client_keygen = x25519_keygen,
    .client_import = x25519_import,
    .client_finish = x25519_finish,
    .server_exchange = x25519_server,
    .state_free = x25519_free,
};
