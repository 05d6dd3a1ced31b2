/* API tokens: hashing and issuing, and /api/v1/tokens (create, list, revoke). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/enc.h"
#include "core/err.h"
#include "core/secure.h"
#include "crypto/crypto.h"
#include "hub/api/api_int.h"
#include "hub/api/api_route.h"
#include "hub/api/api_scope.h"
#include "hub/domain/rules.h"

/* "users,read" -> ["users", "read"] ([] for none). */
static json_t *scopes_json(const char *text)
{
    json_t *a = json_array();
    for (const char *p = text; p != NULL && *p;) {
        size_t n = strcspn(p, ",");
        json_array_append_new(a, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    return a;
}

int api_token_hash(const char *token, size_t len, char out[static 65])
{
    uint8_t h[32];
    TRY(crypto_hash(CRYPTO_SHA256, token, len, h));
    hex_encode(out, h, 32);
    return 0;
}

int api__random(void *out, size_t n)
{
    return crypto_random(out, n);
}

int api__token_new(const char *prefix, char tok[static HUB_TOKEN_MAX + 1], char hash[static 65])
{
    uint8_t rnd[HUB_API_TOKEN_RAND];
    int rc = crypto_random(rnd, sizeof rnd);
    if (rc < 0)
        return rc;
    hub_api_token_format(tok, prefix, rnd);
    secure_wipe(rnd, sizeof rnd);
    rc = api_token_hash(tok, strlen(tok), hash);
    if (rc < 0)
        secure_wipe(tok, HUB_TOKEN_MAX + 1);
    return rc;
}

int api_token_create(struct store *st, const char *name, enum hub_role role, int64_t now,
                     char out[static HUB_TOKEN_MAX + 1])
{
    return api_token_create_id(st, name, role, now, out, NULL);
}

int api_token_create_id(struct store *st, const char *name, enum hub_role role, int64_t now,
                        char out[static HUB_TOKEN_MAX + 1], int64_t *id)
{
    char hash[65];
    TRY(api__token_new("va_", out, hash));
    return store_token_add(st, name, hash, role, now, id);
}

void api__tokens_create(struct api_call *c)
{
    struct api_token_in in;
    struct api_verr e;
    if (api_parse_token_ex(c->req->body, c->req->body_len, c->now, &in, &e) < 0) {
        api__verr(c, &e);
        return;
    }
    char tok[HUB_TOKEN_MAX + 1], hash[65], scopes[API_SCOPES_TEXT_MAX];
    api_scopes_format(in.scopes, scopes);
    int64_t id = 0;
    int rc = api__token_new("va_", tok, hash);
    struct store_token_new nt = {
        .name = in.name, .hash = hash, .role = in.role, .now = c->now, .expires_at = in.expires_at, .scopes = scopes};
    if (rc == 0)
        rc = store_token_add_ex(c->ctx->st, &nt, &id);
    if (rc < 0) {
        secure_wipe(tok, sizeof tok);
        api__store_error(c, rc, "token");
        return;
    }
    char det[192];
    snprintf(det, sizeof det, "{\"role\":\"%s\",\"scopes\":\"%s\",\"expires_at\":%lld}", hub_role_name(in.role), scopes,
             (long long)in.expires_at);
    char target[32];
    snprintf(target, sizeof target, "token:%lld", (long long)id);
    struct store_audit a = api__audit(c, "token.create", det);
    a.target = target;
    (void)store_audit_add(c->ctx->st, &a, c->now);
    json_t *j = json_pack("{s:I,s:s,s:s,s:s,s:o,s:I}", "id", (json_int_t)id, "name", in.name, "role",
                          hub_role_name(in.role), "token", tok, /* shown this once */
                          "scopes", scopes_json(scopes), "expires_at", (json_int_t)in.expires_at);
    secure_wipe(tok, sizeof tok);
    api__json(c, 201, j);
}

void api__tokens_list(struct api_call *c)
{
    struct store_token *list;
    size_t n;
    int rc = store_token_list(c->ctx->st, &list, &n);
    if (rc < 0) {
        api__store_error(c, rc, "tokens");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_pack("{s:I,s:s,s:s,s:I,s:b,s:o,s:I,s:b}", "id", (json_int_t)list[i].id, "name", list[i].name,
                              "role", hub_role_name(list[i].role), "created_at", (json_int_t)list[i].created_at,
                              "revoked", list[i].revoked, "scopes", scopes_json(list[i].scopes), "expires_at",
                              (json_int_t)list[i].expires_at, "totp", list[i].totp);
        if (t != NULL && list[i].totp)
            json_object_set_new(t, "recovery_left", json_integer(list[i].recovery_left));
        if (t != NULL && list[i].parent_id != 0)
            json_object_set_new(t, "parent_id", json_integer(list[i].parent_id));
        json_array_append_new(arr, t);
    }
    free(list);
    api__json(c, 200, json_pack("{s:o}", "tokens", arr));
}

void api__tokens_revoke(struct api_call *c)
{
    if (c->id == c->token_id) {
        api__error(c, 409, "invalid_state", "a token cannot revoke itself");
        return;
    }
    struct store_audit a = api__audit(c, "token.revoke", NULL);
    int rc = store_token_revoke(c->ctx->st, c->id, c->now, &a);
    if (rc < 0) {
        api__store_error(c, rc, "token");
        return;
    }
    api_reply(c, 204, "application/json", "", 0);
}
