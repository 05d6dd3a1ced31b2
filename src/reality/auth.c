/* REALITY session-id authentication (spec/reality.md §4.3) and its config snapshot. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/enc.h"
#include "core/err.h"
#include "core/secmem.h"
#include "core/secure.h"
#include "core/wire.h"
#include "crypto/crypto.h"
#include "reality/auth.h"

struct server_name {
    char *p;
    size_t len;
};

struct reality_server_cfg {
    _Atomic unsigned refs;
    bool frozen;
    bool legacy_chacha;
    bool has_min_ver, has_max_ver;
    uint32_t min_ver, max_ver;
    uint64_t max_time_diff_ms;
    uint8_t private_key[32];
    struct server_name *names;
    size_t n_names;
    uint8_t (*short_ids)[REALITY_SHORT_ID_LEN];
    size_t n_short_ids;
};

struct reality_server_cfg *reality_server_cfg_new(const uint8_t private_key[static 32])
{
    struct reality_server_cfg *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    atomic_init(&c->refs, 1);
    memcpy(c->private_key, private_key, 32);
    (void)secmem_dontdump(c->private_key, sizeof(c->private_key)); /* best effort: not in core dumps */
    return c;
}

int reality_server_cfg_add_server_name(struct reality_server_cfg *c, const char *name, size_t len)
{
    if (c->frozen)
        return ERR_BAD_STATE;
    struct server_name *n = realloc(c->names, (c->n_names + 1) * sizeof(*n));
    if (n == NULL)
        return ERR_NOMEM;
    c->names = n;
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return ERR_NOMEM;
    if (len)
        memcpy(copy, name, len);
    copy[len] = '\0';
    c->names[c->n_names++] = (struct server_name){copy, len};
    return 0;
}

int reality_parse_short_id(const char *hex, uint8_t out[static 8])
{
    size_t n = strlen(hex), got = 0;
    memset(out, 0, REALITY_SHORT_ID_LEN);
    if (n > 2 * REALITY_SHORT_ID_LEN || n % 2 != 0)
        return ERR_CONFIG;
    if (n > 0 && hex_decode(out, REALITY_SHORT_ID_LEN, &got, hex, n) < 0)
        return ERR_CONFIG;
    return 0;
}

int reality_server_cfg_add_short_id(struct reality_server_cfg *c, const char *hex)
{
    if (c->frozen)
        return ERR_BAD_STATE;
    uint8_t id[REALITY_SHORT_ID_LEN];
    TRY(reality_parse_short_id(hex, id));
    uint8_t(*n)[REALITY_SHORT_ID_LEN] = realloc(c->short_ids, (c->n_short_ids + 1) * sizeof(*n));
    if (n == NULL)
        return ERR_NOMEM;
    c->short_ids = n;
    memcpy(c->short_ids[c->n_short_ids++], id, REALITY_SHORT_ID_LEN);
    return 0;
}

/* Xray: split on '.', at most 3 parts, each strconv.ParseUint(part, 10, 8); missing parts 0. */
int reality_parse_version(const char *s, uint32_t *ver)
{
    uint32_t parts[3] = {0, 0, 0};
    size_t np = 0;
    const char *p = s;
    for (;;) {
        if (np == 3)
            return ERR_CONFIG;
        uint32_t v = 0;
        size_t digits = 0;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (uint32_t)(*p - '0');
            if (v > 255)
                return ERR_CONFIG;
            p++;
            digits++;
        }
        if (digits == 0)
            return ERR_CONFIG;
        parts[np++] = v;
        if (*p == '\0')
            break;
        if (*p != '.')
            return ERR_CONFIG;
        p++;
    }
    *ver = parts[0] << 16 | parts[1] << 8 | parts[2];
    return 0;
}

int reality_server_cfg_set_client_ver(struct reality_server_cfg *c, const char *min, const char *max)
{
    if (c->frozen)
        return ERR_BAD_STATE;
    uint32_t lo = 0, hi = 0;
    bool has_lo = min != NULL && min[0] != '\0', has_hi = max != NULL && max[0] != '\0';
    if (has_lo)
        TRY(reality_parse_version(min, &lo));
    if (has_hi)
        TRY(reality_parse_version(max, &hi));
    c->has_min_ver = has_lo;
    c->min_ver = lo;
    c->has_max_ver = has_hi;
    c->max_ver = hi;
    return 0;
}

int reality_server_cfg_set_max_time_diff(struct reality_server_cfg *c, uint64_t ms)
{
    if (c->frozen)
        return ERR_BAD_STATE;
    c->max_time_diff_ms = ms;
    return 0;
}

int reality_server_cfg_set_legacy_chacha(struct reality_server_cfg *c, bool on)
{
    if (c->frozen)
        return ERR_BAD_STATE;
    c->legacy_chacha = on;
    return 0;
}

int reality_server_cfg_freeze(struct reality_server_cfg *c)
{
    if (c->n_names == 0 || c->n_short_ids == 0)
        return ERR_CONFIG;
    c->frozen = true;
    return 0;
}

struct reality_server_cfg *reality_server_cfg_ref(struct reality_server_cfg *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void reality_server_cfg_unref(struct reality_server_cfg *c)
{
    if (c == NULL || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < c->n_names; i++)
        free(c->names[i].p);
    free(c->names);
    free(c->short_ids);
    secure_wipe(c->private_key, sizeof(c->private_key));
    free(c);
}

int reality_derive_auth_key(const uint8_t shared[static 32], const uint8_t random[static 32],
                            uint8_t auth_key[static 32])
{
    uint8_t prk[32];
    int rc = crypto_hkdf_extract(CRYPTO_SHA256, random, 20, shared, 32, prk);
    if (rc == 0)
        rc = crypto_hkdf_expand(CRYPTO_SHA256, prk, sizeof(prk), "REALITY", 7, auth_key, 32);
    secure_wipe(prk, sizeof(prk));
    return rc;
}

void reality_auth_result_wipe(struct reality_auth_result *res)
{
    secure_wipe(res->auth_key, sizeof(res->auth_key));
    secure_wipe(res->plain, sizeof(res->plain));
}

static bool sni_listed(const struct reality_server_cfg *cfg, const struct reality_client_hello *ch)
{
    const uint8_t *p = ch->has_sni ? ch->sni.p : (const uint8_t *)"";
    size_t len = ch->has_sni ? ch->sni.len : 0;
    for (size_t i = 0; i < cfg->n_names; i++)
        if (cfg->names[i].len == len && memcmp(cfg->names[i].p, p, len) == 0)
            return true;
    return false;
}

static bool short_id_listed(const struct reality_server_cfg *cfg, const uint8_t id[static 8])
{
    bool found = false;
    for (size_t i = 0; i < cfg->n_short_ids; i++)
        found |= secure_memcmp(cfg->short_ids[i], id, REALITY_SHORT_ID_LEN) == 0;
    return found;
}

/* Opens the session id with one AEAD; 0, ERR_DECRYPT, ERR_NOMEM or ERR_CRYPTO. */
static int open_sid(enum crypto_aead alg, const uint8_t key[32], const struct reality_client_hello *ch,
                    const uint8_t *aad, uint8_t plain[16])
{
    struct crypto_aead_ctx *a = crypto_aead_new(alg, key, false);
    if (a == NULL)
        return ERR_NOMEM;
    int rc = crypto_aead_open(a, ch->random + 20, aad, ch->msg.len, ch->session_id.p, REALITY_SESSION_ID_LEN, plain);
    crypto_aead_free(a);
    return rc;
}

static int decide(const struct reality_server_cfg *cfg, const struct reality_client_hello *ch, uint64_t now_ms,
                  struct reality_auth_result *res)
{
    if (!ch->offers_tls13)
        return REALITY_OUTCOME_NOT_TLS13;
    if (!sni_listed(cfg, ch))
        return REALITY_OUTCOME_SNI_MISMATCH;
    if (ch->x25519_share == NULL)
        return REALITY_OUTCOME_NO_X25519_SHARE;
    res->share_group = ch->x25519_share_group;
    uint8_t shared[32];
    int rc = crypto_x25519(shared, cfg->private_key, ch->x25519_share);
    if (rc == 0)
        rc = reality_derive_auth_key(shared, ch->random, res->auth_key);
    secure_wipe(shared, sizeof(shared));
    if (rc < 0)
        return REALITY_OUTCOME_BAD_KEY_SHARE; /* low-order point: all-zero shared secret */
    if (ch->session_id.len != REALITY_SESSION_ID_LEN || ch->msg.len < REALITY_CH_SESSION_ID_OFFSET + 32)
        return REALITY_OUTCOME_DECRYPT_FAILED;

    uint8_t *aad = malloc(ch->msg.len);
    if (aad == NULL)
        return ERR_NOMEM;
    memcpy(aad, ch->msg.p, ch->msg.len);
    memset(aad + REALITY_CH_SESSION_ID_OFFSET, 0, REALITY_SESSION_ID_LEN);
    rc = open_sid(CRYPTO_AES_256_GCM, res->auth_key, ch, aad, res->plain);
    if (rc == ERR_DECRYPT && cfg->legacy_chacha) {
        rc = open_sid(CRYPTO_CHACHA20_POLY1305, res->auth_key, ch, aad, res->plain);
        res->used_chacha = rc == 0;
    }
    free(aad);
    if (rc == ERR_DECRYPT)
        return REALITY_OUTCOME_DECRYPT_FAILED;
    if (rc < 0)
        return rc;

    res->opened = true;
    memcpy(res->version, res->plain, 3);
    res->client_ver = wire_be24(res->plain);
    res->client_time = wire_be32(res->plain + 4);
    memcpy(res->short_id, res->plain + 8, REALITY_SHORT_ID_LEN);
    if ((cfg->has_min_ver && res->client_ver < cfg->min_ver) || (cfg->has_max_ver && res->client_ver > cfg->max_ver))
        return REALITY_OUTCOME_CLIENT_VERSION;
    if (cfg->max_time_diff_ms != 0) {
        uint64_t t_ms = (uint64_t)res->client_time * 1000;
        uint64_t diff = now_ms > t_ms ? now_ms - t_ms : t_ms - now_ms;
        if (diff > cfg->max_time_diff_ms)
            return REALITY_OUTCOME_TIME;
    }
    if (!short_id_listed(cfg, res->short_id))
        return REALITY_OUTCOME_SHORT_ID;
    return REALITY_OUTCOME_AUTHENTICATED;
}

int reality_auth(const struct reality_server_cfg *cfg, const struct reality_client_hello *ch, uint64_t now_ms,
                 struct reality_auth_result *res)
{
    memset(res, 0, sizeof(*res));
    res->outcome = REALITY_OUTCOME_DECRYPT_FAILED; /* never "authenticated" by accident */
    if (!cfg->frozen)
        return ERR_BAD_STATE;
    int rc = decide(cfg, ch, now_ms, res);
    if (rc < 0) {
        reality_auth_result_wipe(res);
        res->outcome = REALITY_OUTCOME_DECRYPT_FAILED;
        return rc;
    }
    res->outcome = (enum reality_outcome)rc;
    if (res->outcome != REALITY_OUTCOME_AUTHENTICATED)
        secure_wipe(res->auth_key, sizeof(res->auth_key));
    return 0;
}
