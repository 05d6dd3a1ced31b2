/* X25519MLKEM768 (0x11ec) as a tls13_kex_ops over crypto/hybrid_x25519mlkem768.h, with
 * the randomness drawn from the injected RNG. The client private key for
 * tls13_client_set_hello is ML-KEM dk (2400) || X25519 private key (32). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "crypto/hybrid_x25519mlkem768.h"
#include "tls13/kex.h"

#define HYB_PRIV_LEN (MLKEM768_DK_LEN + 32)

static void hyb_free(void *state)
{
    if (state != NULL) {
        x25519mlkem768_client_wipe(state);
        free(state);
    }
}

static int hyb_keygen(struct tls13_random *rng, void **state, uint8_t *share)
{
    uint8_t seed[X25519MLKEM768_CLIENT_SEED_LEN];
    struct x25519mlkem768_client *st = malloc(sizeof(*st));
    if (st == NULL)
        return ERR_NOMEM;
    int rc = tls13_random_bytes(rng, seed, sizeof(seed));
    if (rc == 0)
        rc = x25519mlkem768_client_keygen_seeded(st, seed, share);
    secure_wipe(seed, sizeof(seed));
    if (rc < 0) {
        hyb_free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static int hyb_import(const uint8_t *priv, size_t len, void **state)
{
    if (len != HYB_PRIV_LEN)
        return ERR_RANGE;
    struct x25519mlkem768_client *st = malloc(sizeof(*st));
    if (st == NULL)
        return ERR_NOMEM;
    memcpy(st->mlkem_dk, priv, MLKEM768_DK_LEN);
    memcpy(st->x25519_priv, priv + MLKEM768_DK_LEN, 32);
    *state = st;
    return 0;
}

static int hyb_finish(void *state, const uint8_t *server_share, uint8_t *shared, size_t *shared_len)
{
    TRY(x25519mlkem768_client_decaps(state, server_share, X25519MLKEM768_SERVER_SHARE_LEN, shared));
    *shared_len = X25519MLKEM768_SECRET_LEN;
    return 0;
}

static int hyb_server(struct tls13_random *rng, const uint8_t *client_share, uint8_t *server_share, uint8_t *shared,
                      size_t *shared_len)
{
    uint8_t seed[X25519MLKEM768_SERVER_SEED_LEN];
    int rc = tls13_random_bytes(rng, seed, sizeof(seed));
    if (rc == 0)
        rc = x25519mlkem768_server_encaps_seeded(client_share, X25519MLKEM768_CLIENT_SHARE_LEN, seed, server_share,
                                                 shared);
    secure_wipe(seed, sizeof(seed));
    if (rc == ERR_MALFORMED)
        rc = ERR_CRYPTO; /* the handshake maps this to illegal_parameter */
    if (rc == 0)
        *shared_len = X25519MLKEM768_SECRET_LEN;
    return rc;
}

const struct tls13_kex_ops tls13_kex_x25519mlkem768 = {
    .group = TLS13_GROUP_X25519MLKEM768,
    .name = "X25519MLKEM768",
    .client_share_len = X25519MLKEM768_CLIENT_SHARE_LEN,
    .server_share_len = X25519MLKEM768_SERVER_SHARE_LEN,
    .client_keygen = hyb_keygen,
    .client_import = hyb_import,
    .client_finish = hyb_finish,
    .server_exchange = hyb_server,
    .state_free = hyb_free,
};
