/* Provider signatures: Robokassa's hash over colon-joined fields, Crypto Pay's HMAC. */
#include <stdlib.h>
#include <string.h>

#include "core/enc.h"
#include "core/err.h"
#include "core/secure.h"
#include "crypto/crypto.h"
#include "hub/billing/billing_int.h"

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const struct billing_kv *)a)->key, ((const struct billing_kv *)b)->key);
}

int billing_robokassa_sign(enum crypto_hash h, const char *const *parts, size_t n, const struct billing_kv *shp,
                           size_t n_shp, char out[static 129])
{
    if (n_shp > BILLING_SHP_MAX)
        return ERR_RANGE;
    struct billing_kv sorted[BILLING_SHP_MAX];
    if (n_shp > 0)
        memcpy(sorted, shp, n_shp * sizeof *shp);
    qsort(sorted, n_shp, sizeof *sorted, cmp_kv);
    struct crypto_hash_ctx *c = crypto_hash_new(h);
    if (c == NULL)
        return ERR_RANGE;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0)
            rc = crypto_hash_update(c, ":", 1);
        if (rc == 0)
            rc = crypto_hash_update(c, parts[i], strlen(parts[i]));
    }
    for (size_t i = 0; i < n_shp && rc == 0; i++) {
        rc = crypto_hash_update(c, ":", 1);
        if (rc == 0)
            rc = crypto_hash_update(c, sorted[i].key, strlen(sorted[i].key));
        if (rc == 0)
            rc = crypto_hash_update(c, "=", 1);
        if (rc == 0)
            rc = crypto_hash_update(c, sorted[i].value, strlen(sorted[i].value));
    }
    uint8_t d[CRYPTO_HASH_MAX];
    if (rc == 0)
        rc = crypto_hash_peek(c, d);
    crypto_hash_free(c);
    if (rc < 0)
        return rc;
    hex_encode(out, d, crypto_hash_len(h));
    secure_wipe(sorted, sizeof sorted);
    return 0;
}

bool billing_hex_equal(const char *expected, const char *received)
{
    size_t n = strlen(expected);
    if (received == NULL || strlen(received) != n || n == 0)
        return false;
    char low[129];
    if (n >= sizeof low)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = received[i];
        low[i] = (char)(ch >= 'A' && ch <= 'F' ? ch + 32 : ch);
    }
    return secure_memcmp(expected, low, n) == 0;
}

int billing_cryptobot_sign(const char *token, const void *body, size_t len, char out[static 65])
{
    uint8_t key[32], mac[32];
    TRY(crypto_hash(CRYPTO_SHA256, token, strlen(token), key));
    int rc = crypto_hmac(CRYPTO_SHA256, key, sizeof key, body, len, mac);
    secure_wipe(key, sizeof key);
    if (rc < 0)
        return rc;
    hex_encode(out, mac, sizeof mac);
    return 0;
}
