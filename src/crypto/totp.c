/* RFC 6238 TOTP (crypto/totp.h). */
#include "crypto/totp.h"

#include "core/err.h"
#include "core/secure.h"

static const uint32_t pow10[TOTP_DIGITS_MAX + 1] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

static int params_ok(const struct totp_params *p)
{
    if (p->alg != CRYPTO_SHA1 && p->alg != CRYPTO_SHA256 && p->alg != CRYPTO_SHA512)
        return ERR_RANGE;
    if (p->digits < 6 || p->digits > TOTP_DIGITS_MAX || p->period == 0 || p->window > TOTP_WINDOW_MAX)
        return ERR_RANGE;
    return 0;
}

int64_t totp_step(const struct totp_params *p, int64_t now)
{
    return now < 0 || p->period == 0 ? 0 : now / (int64_t)p->period;
}

int totp_hotp(enum crypto_hash alg, const uint8_t *key, size_t klen, uint64_t counter, unsigned digits, uint32_t *code)
{
    if ((alg != CRYPTO_SHA1 && alg != CRYPTO_SHA256 && alg != CRYPTO_SHA512) || digits == 0 || digits > TOTP_DIGITS_MAX)
        return ERR_RANGE;
    uint8_t msg[8], mac[CRYPTO_HASH_MAX];
    for (int i = 7; i >= 0; i--, counter >>= 8)
        msg[i] = (uint8_t)counter;
    TRY(crypto_hmac(alg, key, klen, msg, sizeof msg, mac));
    size_t n = crypto_hash_len(alg);
    unsigned off = mac[n - 1] & 0x0f;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    secure_wipe(mac, sizeof mac);
    *code = bin % pow10[digits];
    return 0;
}

int totp_parse_code(const char *s, size_t len, unsigned digits, uint32_t *code)
{
    if (s == NULL || digits == 0 || digits > TOTP_DIGITS_MAX || len != digits)
        return ERR_MALFORMED;
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return ERR_MALFORMED;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    *code = v;
    return 0;
}

int totp_verify(const struct totp_params *p, const uint8_t *key, size_t klen, int64_t now, uint32_t code,
                int64_t last_step, int64_t *step)
{
    TRY(params_ok(p));
    int64_t t = totp_step(p, now);
    int64_t hit = -1;
    /* No early exit: every candidate costs the same HMAC and comparison. */
    for (int64_t s = t - (int64_t)p->window; s <= t + (int64_t)p->window; s++) {
        uint32_t want = 0;
        if (s < 0)
            continue;
        TRY(totp_hotp(p->alg, key, klen, (uint64_t)s, p->digits, &want));
        uint8_t a[4] = {(uint8_t)(want >> 24), (uint8_t)(want >> 16), (uint8_t)(want >> 8), (uint8_t)want};
        uint8_t b[4] = {(uint8_t)(code >> 24), (uint8_t)(code >> 16), (uint8_t)(code >> 8), (uint8_t)code};
        if (secure_memcmp(a, b, sizeof a) == 0) /* the latest match wins */
            hit = s;
    }
    if (hit < 0)
        return ERR_AUTH;
    if (hit <= last_step)
        return ERR_BAD_STATE;
    *step = hit;
    return 0;
}
