/* One-time recovery codes of a token's TOTP second factor (docs/security.md §6).
 *
 * Codes are random (80 bits each, made by the API) and stored only as a hash bound to their
 * token: with a master key, "h:" + the blind index (HMAC-SHA256 under the index key) of
 * "recovery:<token id>" / code; without one, "s:" + SHA-256 of "veil-recovery:<token id>:<code>".
 * A database that gets a master key later keeps its "s:" rows valid. Using a code compares the
 * presented hash with every unused code of the token in constant time, then marks the match used
 * with a conditional update, so two hubs cannot both accept it. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/enc.h"
#include "core/err.h"
#include "core/secure.h"
#include "crypto/crypto.h"
#include "hub/store/store_int.h"

#define HASH_TEXT_LEN (2 + 64) /* "h:" or "s:" and 64 hex digits */

/* The stored form of code for token id, keyed (blind index) or not. */
static int code_hash(struct store_conn *sc, int64_t id, const char *code, bool keyed,
                     char out[static HASH_TEXT_LEN + 1])
{
    char field[48];
    snprintf(field, sizeof field, "recovery:%" PRId64, id);
    if (keyed) {
        memcpy(out, "h:", 2);
        return store__blind(sc, field, code, out + 2);
    }
    char buf[128];
    int n = snprintf(buf, sizeof buf, "veil-%s:%s", field, code);
    if (n < 0 || (size_t)n >= sizeof buf)
        return ERR_RANGE;
    uint8_t h[32];
    int rc = crypto_hash(CRYPTO_SHA256, buf, (size_t)n, h);
    secure_wipe(buf, sizeof buf);
    if (rc < 0)
        return rc;
    memcpy(out, "s:", 2);
    hex_encode(out + 2, h, sizeof h);
    return 0;
}

/* The token exists, is not revoked and has a second factor. */
static int check_factor(struct store_conn *sc, int64_t id)
{
    struct store_val p[] = {SV_I(id)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT revoked, CASE WHEN totp_secret IS NULL THEN 0 ELSE 1 END FROM api_tokens WHERE id = $1",
                    p, 1, &r));
    int rc = r.nrows != 1                     ? ERR_NOT_FOUND
             : store__cell_i64(&r, 0, 0) != 0 ? ERR_BAD_STATE
             : store__cell_i64(&r, 0, 1) == 0 ? ERR_BAD_STATE
                                              : 0;
    store__res_free(&r);
    return rc;
}

struct set_arg {
    int64_t id, now;
    const char *const *codes;
    size_t n;
    const struct store_audit *audit;
    const char *code;
    int64_t left;
};

static int set_body(struct store_conn *sc, void *arg)
{
    struct set_arg *a = arg;
    TRY(check_factor(sc, a->id));
    struct store_val pid[] = {SV_I(a->id)};
    TRY(store__exec(sc, "DELETE FROM api_token_recovery WHERE token_id = $1", pid, 1, NULL));
    for (size_t i = 0; i < a->n; i++) {
        char h[HASH_TEXT_LEN + 1];
        TRY(code_hash(sc, a->id, a->codes[i], store__sealed(sc), h));
        struct store_val p[] = {SV_I(a->id), SV_T(h), SV_I(a->now)};
        TRY(store__exec(sc, "INSERT INTO api_token_recovery (token_id, code_hash, created_at) VALUES ($1, $2, $3)", p,
                        3, NULL));
    }
    return store__audit(sc, a->audit, a->now, "token", a->id);
}

int store_token_recovery_set(struct store *st, int64_t id, const char *const *codes, size_t n, int64_t now,
                             const struct store_audit *audit)
{
    struct set_arg a = {.id = id, .now = now, .codes = codes, .n = n, .audit = audit};
    return store__tx(st, set_body, &a);
}

static int count_left(struct store_conn *sc, int64_t id, int64_t *left)
{
    struct store_val p[] = {SV_I(id)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT count(*) FROM api_token_recovery WHERE token_id = $1 AND used_at = 0", p, 1, &r));
    *left = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    store__res_free(&r);
    return 0;
}

static int use_body(struct store_conn *sc, void *arg)
{
    struct set_arg *a = arg;
    TRY(check_factor(sc, a->id));
    struct store_val pid[] = {SV_I(a->id)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT code_hash FROM api_token_recovery WHERE token_id = $1 AND used_at = 0", pid, 1, &r));
    /* Both forms are computed up front so the work does not depend on which rows exist. */
    char keyed[HASH_TEXT_LEN + 1] = "", plain[HASH_TEXT_LEN + 1];
    int rc = code_hash(sc, a->id, a->code, false, plain);
    if (rc == 0 && store__sealed(sc))
        rc = code_hash(sc, a->id, a->code, true, keyed);
    long hit = -1;
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        const char *h = store__cell(&r, i, 0);
        const char *want = h != NULL && h[0] == 'h' ? keyed : plain;
        if (h != NULL && strlen(h) == HASH_TEXT_LEN && want[0] != '\0' && secure_memcmp(h, want, HASH_TEXT_LEN) == 0)
            hit = (long)i;
    }
    char used[HASH_TEXT_LEN + 1] = "";
    if (rc == 0 && hit >= 0)
        memcpy(used, store__cell(&r, (size_t)hit, 0), HASH_TEXT_LEN + 1);
    store__res_free(&r);
    secure_wipe(plain, sizeof plain);
    secure_wipe(keyed, sizeof keyed);
    TRY(rc);
    if (hit < 0)
        return ERR_AUTH;
    struct store_val p[] = {SV_I(a->now), SV_I(a->id), SV_T(used)};
    TRY(store__exec(sc,
                    "UPDATE api_token_recovery SET used_at = $1 WHERE token_id = $2 AND code_hash = $3 AND used_at = 0"
                    " RETURNING token_id",
                    p, 3, &r));
    rc = r.nrows == 1 ? 0 : ERR_BAD_STATE; /* another hub used it a moment ago */
    store__res_free(&r);
    TRY(rc);
    TRY(count_left(sc, a->id, &a->left));
    char det[48];
    snprintf(det, sizeof det, "{\"left\":%" PRId64 "}", a->left);
    if (a->audit == NULL)
        return 0;
    struct store_audit row = *a->audit;
    row.details = det;
    return store__audit(sc, &row, a->now, "token", a->id);
}

int store_token_recovery_use(struct store *st, int64_t id, const char *code, int64_t now,
                             const struct store_audit *audit, int64_t *left)
{
    struct set_arg a = {.id = id, .now = now, .code = code, .audit = audit};
    TRY(store__tx(st, use_body, &a));
    if (left != NULL)
        *left = a.left;
    return 0;
}

static int left_body(struct store_conn *sc, void *arg)
{
    struct set_arg *a = arg;
    return count_left(sc, a->id, &a->left);
}

int store_token_recovery_left(struct store *st, int64_t id, int64_t *left)
{
    struct set_arg a = {.id = id};
    TRY(store__ro(st, left_body, &a));
    *left = a.left;
    return 0;
}
