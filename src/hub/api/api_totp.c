/* The TOTP second factor of admin tokens (api_access.h, docs/security.md §6):
 *   POST   /api/v1/tokens/{id}/totp   enrol: a new secret, shown once as base32 and otpauth:// URI
 *                                     and STORE_RECOVERY_CODES one-time recovery codes
 *   DELETE /api/v1/tokens/{id}/totp   remove it (and its recovery codes)
 *   POST   /api/v1/tokens/{id}/totp/recovery   new recovery codes (the old ones stop working)
 *   POST   /api/v1/auth/totp          {"code": "123456"} (or a recovery code) with the protected token as bearer: a
 *                                     session token (same role and scopes, session_ttl seconds,
 *                                     ended when its parent is revoked)
 * A protected token is refused on every other route (401 totp_required); the dashboard login
 * asks for the code itself (admin/). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base32.h"
#include "core/enc.h"
#include "core/err.h"
#include "core/secure.h"
#include "crypto/crypto.h"
#include "crypto/totp.h"
#include "core/http_auth.h"
#include "core/log.h"
#include "hub/api/api_access.h"
#include "hub/api/api_int.h"
#include "hub/api/api_route.h"
#include "hub/api/api_scope.h"
#include "hub/domain/rules.h"

#define RECOVERY_BYTES 10 /* 80 bits */
#define RECOVERY_CHARS API_RECOVERY_CODE_LEN

bool api_recovery_code_normalize(const char *in, size_t len, char out[static API_RECOVERY_CODE_LEN + 1])
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (ch == '-' || ch == ' ')
            continue;
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (n == RECOVERY_CHARS || !((ch >= 'a' && ch <= 'z') || (ch >= '2' && ch <= '7')))
            return false;
        out[n++] = ch;
    }
    out[n] = '\0';
    return n == RECOVERY_CHARS;
}

/* One recovery code instead of a TOTP code: spent once, audited (auth.recovery_code). */
static int recovery_check(struct api_call *c, int64_t token_id, const char *code)
{
    char actor[32], target[32];
    snprintf(actor, sizeof actor, "token:%" PRId64, token_id);
    snprintf(target, sizeof target, "token:%" PRId64, token_id);
    struct store_audit a = {.actor = actor, .action = "auth.recovery_code", .target = target, .source_ip = c->req->ip};
    int64_t left = 0;
    int rc = store_token_recovery_use(c->ctx->st, token_id, code, c->now, &a, &left);
    if (rc == 0)
        log_warn("api", 0, "recovery_code_used", LF_INT("token_id", token_id), LF_INT("left", left));
    return rc;
}

int api_totp_check(struct api_call *c, int64_t token_id, const char *code, size_t len)
{
    struct totp_params p = TOTP_PARAMS_DEFAULT;
    uint32_t v;
    char rec[RECOVERY_CHARS + 1];
    if (totp_parse_code(code, len, p.digits, &v) < 0) {
        if (!api_recovery_code_normalize(code, len, rec))
            return ERR_MALFORMED;
        int rc = recovery_check(c, token_id, rec);
        secure_wipe(rec, sizeof rec);
        return rc;
    }
    char hex[2 * TOTP_SECRET_LEN + 1];
    uint8_t key[TOTP_SECRET_LEN];
    size_t klen = 0;
    int64_t last = 0, step = 0;
    TRY(store_token_totp_get(c->ctx->st, token_id, hex, sizeof hex, &last));
    int rc = hex_decode(key, sizeof key, &klen, hex, strlen(hex));
    secure_wipe(hex, sizeof hex);
    if (rc == 0)
        rc = totp_verify(&p, key, klen, c->now, v, last, &step);
    secure_wipe(key, sizeof key);
    if (rc == 0) /* a concurrent use of the same code on another hub loses here */
        rc = store_token_totp_accept(c->ctx->st, token_id, step);
    return rc;
}

int api_token_live(struct api_call *c, int64_t id)
{
    return store_token_live(c->ctx->st, id, c->now);
}

int api_token_login_lookup(struct api_call *c, const char *token, size_t len, int *role, int64_t *id,
                           int64_t *expires_at, bool *totp)
{
    char hash[65];
    struct store_token_auth t;
    TRY(api_token_hash(token, len, hash));
    TRY(store_token_auth(c->ctx->st, hash, &t));
    if (t.expires_at != 0 && t.expires_at <= c->now)
        return ERR_NOT_FOUND;
    /* The dashboard reads and changes users: a scoped token needs that area (or only reads). */
    uint32_t mask = 0;
    if (api_scopes_parse(t.scopes, strlen(t.scopes), &mask) < 0 || !api_scope_allows(mask, "GET", API_SCOPE_USERS))
        return ERR_NOT_FOUND;
    if (!api_scope_allows(mask, "POST", API_SCOPE_USERS))
        t.role = HUB_ROLE_SUPPORT;
    *role = (int)t.role;
    *id = t.id;
    *expires_at = t.expires_at;
    *totp = t.totp;
    return 0;
}

/* RFC 3986 unreserved characters pass, everything else is %XX (labels may hold spaces). */
static void pct_encode(char *out, size_t cap, const char *s)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
            ch == '.' || ch == '_' || ch == '~') {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hexd[ch >> 4];
            out[o++] = hexd[ch & 15];
        }
    }
    out[o] = '\0';
}

static struct store_token *find_token(struct store_token *list, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].id == id)
            return &list[i];
    return NULL;
}

/* Makes STORE_RECOVERY_CODES codes for token c->id, replacing its old ones (audited
 * token.recovery_codes); *out gets them as a JSON array of "abcd-efgh-ijkl-mnop" strings, to be
 * shown once. */
static int new_recovery_codes(struct api_call *c, json_t **out)
{
    char text[STORE_RECOVERY_CODES][RECOVERY_CHARS + 1];
    const char *ptrs[STORE_RECOVERY_CODES];
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < STORE_RECOVERY_CODES; i++) {
        uint8_t rnd[RECOVERY_BYTES];
        char b32[RECOVERY_CHARS + 1];
        if ((rc = crypto_random(rnd, sizeof rnd)) < 0)
            break;
        base32_encode(b32, rnd, sizeof rnd);
        secure_wipe(rnd, sizeof rnd);
        for (size_t k = 0; k < RECOVERY_CHARS; k++)
            b32[k] = (char)(b32[k] >= 'A' && b32[k] <= 'Z' ? b32[k] - 'A' + 'a' : b32[k]);
        memcpy(text[i], b32, sizeof b32);
        secure_wipe(b32, sizeof b32);
        ptrs[i] = text[i];
    }
    char target[32];
    snprintf(target, sizeof target, "token:%" PRId64, c->id);
    struct store_audit a = api__audit(c, "token.recovery_codes", NULL);
    a.target = target;
    if (rc == 0)
        rc = store_token_recovery_set(c->ctx->st, c->id, ptrs, STORE_RECOVERY_CODES, c->now, &a);
    json_t *arr = rc == 0 ? json_array() : NULL;
    for (size_t i = 0; arr != NULL && i < STORE_RECOVERY_CODES; i++) {
        char shown[RECOVERY_CHARS + 4];
        snprintf(shown, sizeof shown, "%.4s-%.4s-%.4s-%.4s", text[i], text[i] + 4, text[i] + 8, text[i] + 12);
        json_array_append_new(arr, json_string(shown));
        secure_wipe(shown, sizeof shown);
    }
    secure_wipe(text, sizeof text);
    if (rc == 0 && arr == NULL)
        rc = ERR_NOMEM;
    *out = arr;
    return rc;
}

static void on_recovery(struct api_call *c)
{
    json_t *codes = NULL;
    int rc = new_recovery_codes(c, &codes);
    if (rc == ERR_BAD_STATE) {
        api__error(c, 409, "invalid_state", "the token is revoked or has no second factor");
        return;
    }
    if (rc < 0) {
        api__store_error(c, rc, "token");
        return;
    }
    api__json(c, 201, json_pack("{s:I,s:o}", "id", (json_int_t)c->id, "recovery_codes", codes));
}

static void on_enrol(struct api_call *c)
{
    struct store_token *list = NULL;
    size_t n = 0;
    int rc = store_token_list(c->ctx->st, &list, &n);
    if (rc < 0) {
        api__store_error(c, rc, "token");
        return;
    }
    struct store_token *t = find_token(list, n, c->id);
    if (t == NULL || t->revoked || t->parent_id != 0) {
        free(list);
        api__error(c, t == NULL ? 404 : 409, t == NULL ? "not_found" : "invalid_state",
                   t == NULL ? "no such token" : "revoked and session tokens cannot have a second factor");
        return;
    }
    char name[3 * sizeof t->name + 1];
    pct_encode(name, sizeof name, t->name);
    free(list);
    uint8_t key[TOTP_SECRET_LEN];
    char hex[2 * TOTP_SECRET_LEN + 1], b32[64];
    if (crypto_random(key, sizeof key) < 0) {
        api__error(c, 500, "internal", "no randomness");
        return;
    }
    hex_encode(hex, key, sizeof key);
    base32_encode(b32, key, sizeof key);
    secure_wipe(key, sizeof key);
    struct store_audit a = api__audit(c, "token.totp_enable", NULL);
    char target[32];
    snprintf(target, sizeof target, "token:%" PRId64, c->id);
    a.target = target;
    rc = store_token_totp_set(c->ctx->st, c->id, hex, c->now, &a);
    secure_wipe(hex, sizeof hex);
    json_t *codes = NULL;
    if (rc == 0)
        rc = new_recovery_codes(c, &codes);
    if (rc < 0) {
        secure_wipe(b32, sizeof b32);
        api__store_error(c, rc, "token");
        return;
    }
    const char *issuer = c->ctx->cfg.access.totp_issuer[0] ? c->ctx->cfg.access.totp_issuer : "Veil";
    char iss[3 * sizeof c->ctx->cfg.access.totp_issuer + 1], uri[1024];
    pct_encode(iss, sizeof iss, issuer);
    snprintf(uri, sizeof uri, "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=6&period=30", iss, name,
             b32, iss);
    /* Shown this once: the hub never returns the secret again. */
    json_t *j =
        json_pack("{s:I,s:s,s:s,s:o}", "id", (json_int_t)c->id, "secret", b32, "otpauth", uri, "recovery_codes", codes);
    secure_wipe(b32, sizeof b32);
    secure_wipe(uri, sizeof uri);
    api__json(c, 201, j);
}

static void on_remove(struct api_call *c)
{
    struct store_audit a = api__audit(c, "token.totp_disable", NULL);
    char target[32];
    snprintf(target, sizeof target, "token:%" PRId64, c->id);
    a.target = target;
    int rc = store_token_totp_set(c->ctx->st, c->id, NULL, c->now, &a);
    if (rc < 0) {
        api__store_error(c, rc, "token");
        return;
    }
    api_reply(c, 204, "application/json", "", 0);
}

/* The code from {"code": "123456"}; false when the body is not exactly that. */
static bool code_of(struct api_call *c, char out[static 32])
{
    json_error_t je;
    json_t *j = json_loadb(c->req->body ? c->req->body : "", c->req->body_len, JSON_REJECT_DUPLICATES, &je);
    json_t *v = json_is_object(j) && json_object_size(j) == 1 ? json_object_get(j, "code") : NULL;
    bool ok = json_is_string(v) && json_string_length(v) < 32;
    if (ok)
        memcpy(out, json_string_value(v), json_string_length(v) + 1);
    json_decref(j);
    return ok;
}

static void on_exchange(struct api_call *c)
{
    const char *tok;
    size_t len;
    char hash[65], code[32];
    if (api_lockout_refuse(c, 0))
        return;
    if (http_bearer_token(c->req->authorization, &tok, &len) < 0 || api_token_hash(tok, len, hash) < 0) {
        api__header(c, "WWW-Authenticate", "Bearer");
        api__error(c, 401, "unauthorized", "missing or malformed bearer token");
        return;
    }
    struct store_token_auth t;
    int rc = store_token_auth(c->ctx->st, hash, &t);
    if (rc == ERR_NOT_FOUND || (rc == 0 && t.expires_at != 0 && t.expires_at <= c->now)) {
        api_lockout_fail(c, "unknown_token", 0);
        api__header(c, "WWW-Authenticate", "Bearer");
        api__error(c, 401, "unauthorized", "unknown or expired token");
        return;
    }
    if (rc < 0) {
        api__store_error(c, rc, "token");
        return;
    }
    if (!t.totp) {
        api__error(c, 409, "invalid_state", "this token has no second factor");
        return;
    }
    if (api_lockout_refuse(c, t.id))
        return;
    if (!code_of(c, code)) {
        api__error(c, 400, "invalid_body", "expected {\"code\": \"123456\"}");
        return;
    }
    rc = api_totp_check(c, t.id, code, strlen(code));
    if (rc == ERR_MALFORMED) {
        api__error(c, 400, "invalid_field", "code: 6 digits, or a recovery code");
        return;
    }
    if (rc == ERR_AUTH || rc == ERR_BAD_STATE) {
        api_lockout_fail(c, rc == ERR_AUTH ? "totp_wrong" : "totp_replay", t.id);
        secure_wipe(code, sizeof code);
        api__error(c, 401, "totp_invalid", rc == ERR_AUTH ? "wrong code" : "this code was already used");
        return;
    }
    secure_wipe(code, sizeof code);
    if (rc < 0) {
        api__store_error(c, rc, "token");
        return;
    }
    uint8_t rnd[HUB_API_TOKEN_RAND];
    char out[HUB_TOKEN_MAX + 1], oh[65], name[HUB_NAME_MAX + 1];
    if (crypto_random(rnd, sizeof rnd) < 0) {
        api__error(c, 500, "internal", "no randomness");
        return;
    }
    hub_api_token_format(out, "va_", rnd);
    secure_wipe(rnd, sizeof rnd);
    snprintf(name, sizeof name, "session of token %" PRId64, t.id);
    unsigned ttl = c->ctx->cfg.access.session_ttl ? c->ctx->cfg.access.session_ttl : 3600;
    int64_t expires = c->now + ttl;
    if (t.expires_at != 0 && t.expires_at < expires)
        expires = t.expires_at; /* a session never outlives its parent */
    struct store_token_new nt = {.name = name,
                                 .hash = oh,
                                 .role = t.role,
                                 .now = c->now,
                                 .expires_at = expires,
                                 .scopes = t.scopes,
                                 .parent_id = t.id};
    int64_t id = 0;
    if (api_token_hash(out, strlen(out), oh) < 0 || (rc = store_token_add_ex(c->ctx->st, &nt, &id)) < 0) {
        secure_wipe(out, sizeof out);
        api__error(c, 503, "store_unavailable", "session not created");
        return;
    }
    snprintf(c->actor, sizeof c->actor, "token:%" PRId64, t.id);
    char target[32], det[64];
    snprintf(target, sizeof target, "token:%" PRId64, id);
    snprintf(det, sizeof det, "{\"via\":\"totp\",\"expires_at\":%" PRId64 "}", expires);
    struct store_audit a = api__audit(c, "auth.login", det);
    a.target = target;
    (void)store_audit_add(c->ctx->st, &a, c->now);
    json_t *j = json_pack("{s:I,s:s,s:I}", "id", (json_int_t)id, "token", out, "expires_at", (json_int_t)expires);
    secure_wipe(out, sizeof out);
    api__json(c, 201, j);
}

void api__totp_routes(void)
{
    api_route_add("POST", "/api/v1/tokens/{id}/totp", API_AUTH_ADMIN, on_enrol);
    api_route_add("DELETE", "/api/v1/tokens/{id}/totp", API_AUTH_ADMIN, on_remove);
    api_route_add("POST", "/api/v1/tokens/{id}/totp/recovery", API_AUTH_ADMIN, on_recovery);
    api_route_add_ex(&(struct api_route){.method = "POST",
                                         .pattern = "/api/v1/auth/totp",
                                         .auth = API_AUTH_NONE,
                                         .handler = on_exchange,
                                         .body_max = 1024});
}
