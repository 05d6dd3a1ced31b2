/* X25519MLKEM768 key shares and shared secrets: ML-KEM-768 part first, X25519 part second. */
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "crypto/crypto.h"
#include "crypto/hybrid_x25519mlkem768.h"

int x25519mlkem768_client_keygen_seeded(struct x25519mlkem768_client *st,
                                        const uint8_t seed[static X25519MLKEM768_CLIENT_SEED_LEN],
                                        uint8_t share[static X25519MLKEM768_CLIENT_SHARE_LEN])
{
    int rc = mlkem768_keygen_internal(seed, seed + 32, share, st->mlkem_dk);
    if (rc == 0) {
        memcpy(st->x25519_priv, seed + 64, 32);
        rc = crypto_x25519_public(st->x25519_priv, share + X25519MLKEM768_CLIENT_X25519_OFF);
    }
    if (rc != 0) {
        x25519mlkem768_client_wipe(st);
        memset(share, 0, X25519MLKEM768_CLIENT_SHARE_LEN);
    }
    return rc;
}

int x25519mlkem768_client_keygen(struct x25519mlkem768_client *st,
                                 uint8_t share[static X25519MLKEM768_CLIENT_SHARE_LEN])
{
    uint8_t seed[X25519MLKEM768_CLIENT_SEED_LEN];
    int rc = crypto_random(seed, sizeof seed);
    if (rc == 0)
        rc = x25519mlkem768_client_keygen_seeded(st, seed, share);
    secure_wipe(seed, sizeof seed);
    return rc;
}

int x25519mlkem768_server_encaps_seeded(const uint8_t *client_share, size_t client_share_len,
                                        const uint8_t seed[static X25519MLKEM768_SERVER_SEED_LEN],
                                        uint8_t server_share[static X25519MLKEM768_SERVER_SHARE_LEN],
                                        uint8_t secret[static X25519MLKEM768_SECRET_LEN])
{
    int rc = ERR_MALFORMED;
    if (client_share != NULL && client_share_len == X25519MLKEM768_CLIENT_SHARE_LEN)
        rc = mlkem768_encaps_internal(client_share, MLKEM768_EK_LEN, seed, server_share, secret);
    if (rc == 0)
        rc = crypto_x25519_public(seed + 32, server_share + X25519MLKEM768_SERVER_X25519_OFF);
    if (rc == 0)
        rc = crypto_x25519(secret + MLKEM768_SS_LEN, seed + 32, client_share + X25519MLKEM768_CLIENT_X25519_OFF);
    if (rc != 0) {
        secure_wipe(secret, X25519MLKEM768_SECRET_LEN);
        memset(server_share, 0, X25519MLKEM768_SERVER_SHARE_LEN);
    }
    return rc;
}

int x25519mlkem768_server_encaps(const uint8_t *client_share, size_t client_share_len,
                                 uint8_t server_share[static X25519MLKEM768_SERVER_SHARE_LEN],
                                 uint8_t secret[static X25519MLKEM768_SECRET_LEN])
{
    uint8_t seed[X25519MLKEM768_SERVER_SEED_LEN];
    int rc = crypto_random(seed, sizeof seed);
    if (rc == 0) {
        rc = x25519mlkem768_server_encaps_seeded(client_share, client_share_len, seed, server_share, secret);
    } else {
        secure_wipe(secret, X25519MLKEM768_SECRET_LEN);
        memset(server_share, 0, X25519MLKEM768_SERVER_SHARE_LEN);
    }
    secure_wipe(seed, sizeof seed);
    return rc;
}

int x25519mlkem768_client_decaps(const struct x25519mlkem768_client *st, const uint8_t *server_share,
                                 size_t server_share_len, uint8_t secret[static X25519MLKEM768_SECRET_LEN])
{
    int rc = ERR_MALFORMED;
    if (server_share != NULL && server_share_len == X25519MLKEM768_SERVER_SHARE_LEN)
        rc = mlkem768_decaps(st->mlkem_dk, MLKEM768_DK_LEN, server_share, MLKEM768_CT_LEN, secret);
    if (rc == 0)
        rc = crypto_x25519(secret + MLKEM768_SS_LEN, st->x25519_priv, server_share + X25519MLKEM768_SERVER_X25519_OFF);
    if (rc != 0)
        secure_wipe(secret, X25519MLKEM768_SECRET_LEN);
    return rc;
}

void x25519mlkem768_client_wipe(struct x25519mlkem768_client *st)
{
    if (st != NULL)
        secure_wipe(st, sizeof *st);
}
