/* /api/v1/users: create, list/search, read, update, disable/enable, delete, rotations, balance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "hub/api/api_int.h"
#include "hub/api/api_route.h"
#include "hub/domain/rules.h"

/* The public subscription URL of a user, when public_url is configured (NULL otherwise). */
static json_t *sub_url_json(struct api_call *c, const struct hub_user *u)
{
    const char *base = c->ctx->cfg.public_url;
    if (base == NULL || base[0] == '\0')
        return NULL;
    char url[512];
    size_t bl = strlen(base);
    snprintf(url, sizeof url, "%.*s/sub/%s", (int)(bl && base[bl - 1] == '/' ? bl - 1 : bl), base, u->sub_token);
    return json_string(url);
}

/* The uuid and the sub token are credentials (either one is enough to use the customer's VPN):
 * the support role gets them as null with "secrets_redacted": true; only admin tokens see them,
 * and support staff who need them ask an admin (GET /users/{id}/secrets, audited). */
json_t *api__user_json(struct api_call *c, const struct hub_user *u)
{
    bool show = c->role == HUB_ROLE_ADMIN;
    json_t *j = json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:b,s:I,s:I}", "id", (json_int_t)u->id, "username", u->username,
                          "language", u->language, "referral_code", u->referral_code, "balance_minor",
                          (json_int_t)u->balance_minor, "currency", u->currency, "enabled", u->enabled, "created_at",
                          (json_int_t)u->created_at, "revision", (json_int_t)u->revision);
    if (j == NULL)
        return NULL;
    json_object_set_new(j, "uuid", show ? json_string(u->uuid) : json_null());
    json_object_set_new(j, "sub_token", show ? json_string(u->sub_token) : json_null());
    json_object_set_new(j, "telegram_id", u->telegram_id ? json_integer(u->telegram_id) : json_null());
    json_object_set_new(j, "referrer_id", u->referrer_id ? json_integer(u->referrer_id) : json_null());
    json_t *url = show ? sub_url_json(c, u) : NULL;
    if (url != NULL)
        json_object_set_new(j, "sub_url", url);
    if (!show)
        json_object_set_new(j, "secrets_redacted", json_true());
    return j;
}

void api__users_secrets(struct api_call *c)
{
    struct hub_user u;
    struct store_audit a = api__audit(c, "user.secrets_read", NULL);
    int rc = store_user_secrets_read(c->ctx->st, c->id, c->now, &a, &u);
    if (rc < 0) {
        api__store_error(c, rc, "user");
        return;
    }
    json_t *j = json_pack("{s:I,s:s,s:s}", "id", (json_int_t)u.id, "uuid", u.uuid, "sub_token", u.sub_token);
    json_t *url = j ? sub_url_json(c, &u) : NULL;
    if (url != NULL)
        json_object_set_new(j, "sub_url", url);
    secure_wipe(&u, sizeof u);
    api__header(c, "Cache-Control", "no-store");
    api__json(c, 200, j);
}

/* Details for the audit log: {"username": ...}, or NULL when the database seals usernames (the
 * audit log is not sealed: it is a hash chain exported to a SIEM). Caller frees. */
static char *details_user(struct store *st, const struct hub_user *u)
{
    if (store_seal_enabled(st))
        return NULL;
    json_t *d = json_pack("{s:s}", "username", u->username);
    char *s = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    return s;
}

void api__users_create(struct api_call *c)
{
    struct hub_user u;
    struct api_verr e;
    if (api_parse_user_create(c->req->body, c->req->body_len, &u, &e) < 0) {
        api__verr(c, &e);
        return;
    }
    uint8_t rnd[16 + HUB_SUB_TOKEN_RAND + HUB_REFCODE_LEN];
    if (api__random(rnd, sizeof rnd) < 0) {
        api__error(c, 500, "internal", "random generator failed");
        return;
    }
    hub_uuid_v4_format(u.uuid, rnd);
    hub_sub_token_format(u.sub_token, rnd + 16);
    hub_refcode_format(u.referral_code, rnd + 16 + HUB_SUB_TOKEN_RAND);
    secure_wipe(rnd, sizeof rnd);
    char *det = details_user(c->ctx->st, &u);
    struct store_audit a = api__audit(c, "user.create", det);
    int rc = store_user_create(c->ctx->st, &u, c->now, &a);
    free(det);
    if (rc < 0) {
        api__store_error(c, rc, rc == ERR_NOT_FOUND ? "referrer" : "user (username or telegram_id)");
        return;
    }
    api__json(c, 201, api__user_json(c, &u));
}

void api__users_list(struct api_call *c)
{
    int64_t offset = 0, limit = 50;
    const char *q = api__query(c, "q"), *o = api__query(c, "offset"), *l = api__query(c, "limit");
    if ((o != NULL && api_parse_uint_param(o, 0, 1000000000, &offset) < 0) ||
        (l != NULL && api_parse_uint_param(l, 1, 500, &limit) < 0)) {
        api__error(c, 400, "invalid_query", "offset must be 0..10^9 and limit 1..500");
        return;
    }
    if (q != NULL && strlen(q) > 128) {
        api__error(c, 400, "invalid_query", "q: at most 128 bytes");
        return;
    }
    struct hub_user *list;
    size_t n;
    int64_t total;
    int rc = store_user_list(c->ctx->st, q, offset, limit, &list, &n, &total);
    if (rc < 0) {
        api__store_error(c, rc, "users");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, api__user_json(c, &list[i]));
    free(list);
    api__json(c, 200,
              json_pack("{s:o,s:I,s:I,s:I}", "users", arr, "total", (json_int_t)total, "offset", (json_int_t)offset,
                        "limit", (json_int_t)limit));
}

void api__users_get(struct api_call *c)
{
    struct hub_user u;
    int rc = store_user_get(c->ctx->st, c->id, &u);
    if (rc < 0) {
        api__store_error(c, rc, "user");
        return;
    }
    json_t *j = api__user_json(c, &u);
    struct hub_sub s;
    if (j != NULL && store_sub_current(c->ctx->st, u.id, &s) == 0)
        json_object_set_new(j, "subscription", api__sub_json(&s));
    else if (j != NULL)
        json_object_set_new(j, "subscription", json_null());
    api__json(c, 200, j);
}

void api__users_patch(struct api_call *c)
{
    struct hub_user v = {0}, u;
    unsigned fields = 0;
    struct api_verr e;
    if (api_parse_user_patch(c->req->body, c->req->body_len, &v, &fields, &e) < 0) {
        api__verr(c, &e);
        return;
    }
    char *det = strndup(c->req->body, c->req->body_len);
    struct store_audit a = api__audit(c, "user.update", det);
    int rc = store_user_patch(c->ctx->st, c->id, &v, fields, c->now, &a, &u);
    free(det);
    if (rc < 0) {
        api__store_error(c, rc, rc == ERR_NOT_FOUND ? "user" : "user (username or telegram_id)");
        return;
    }
    api__json(c, 200, api__user_json(c, &u));
}

/* After a change to the user (rc its result): 200 with the user as it is now, or the error. */
static void answer_user(struct api_call *c, int rc)
{
    struct hub_user u;
    if (rc == 0)
        rc = store_user_get(c->ctx->st, c->id, &u);
    if (rc < 0) {
        api__store_error(c, rc, "user");
        return;
    }
    api__json(c, 200, api__user_json(c, &u));
}

static void set_enabled(struct api_call *c, bool on)
{
    struct store_audit a = api__audit(c, on ? "user.enable" : "user.disable", NULL);
    int rc = store_user_set_enabled(c->ctx->st, c->id, on, c->now, &a);
    answer_user(c, rc);
}

void api__users_disable(struct api_call *c)
{
    set_enabled(c, false);
}

void api__users_enable(struct api_call *c)
{
    set_enabled(c, true);
}

void api__users_delete(struct api_call *c)
{
    struct store_audit a = api__audit(c, "user.delete", NULL);
    int rc = store_user_delete(c->ctx->st, c->id, c->now, &a);
    if (rc < 0) {
        api__store_error(c, rc, "user");
        return;
    }
    api_reply(c, 204, "application/json", "", 0);
}

void api__users_rotate_token(struct api_call *c)
{
    uint8_t rnd[HUB_SUB_TOKEN_RAND];
    char tok[HUB_TOKEN_MAX + 1];
    if (api__random(rnd, sizeof rnd) < 0) {
        api__error(c, 500, "internal", "random generator failed");
        return;
    }
    hub_sub_token_format(tok, rnd);
    secure_wipe(rnd, sizeof rnd);
    struct store_audit a = api__audit(c, "user.rotate_token", NULL);
    int rc = store_user_set_token(c->ctx->st, c->id, tok, &a);
    answer_user(c, rc);
}

void api__users_rotate_uuid(struct api_call *c)
{
    uint8_t rnd[16];
    char uuid[37];
    if (api__random(rnd, sizeof rnd) < 0) {
        api__error(c, 500, "internal", "random generator failed");
        return;
    }
    hub_uuid_v4_format(uuid, rnd);
    secure_wipe(rnd, sizeof rnd);
    struct store_audit a = api__audit(c, "user.rotate_uuid", NULL);
    int rc = store_user_set_uuid(c->ctx->st, c->id, uuid, c->now, &a);
    answer_user(c, rc);
}

void api__users_balance(struct api_call *c)
{
    int64_t delta, bal;
    struct api_verr e;
    if (api_parse_balance(c->req->body, c->req->body_len, &delta, &e) < 0) {
        api__verr(c, &e);
        return;
    }
    char det[64];
    snprintf(det, sizeof det, "{\"delta\":%lld}", (long long)delta);
    struct store_audit a = api__audit(c, "user.balance", det);
    int rc = store_user_add_balance(c->ctx->st, c->id, delta, c->now, &bal, &a);
    if (rc < 0) {
        api__store_error(c, rc, rc == ERR_RANGE ? "balance (would go negative)" : "user");
        return;
    }
    api__json(c, 200, json_pack("{s:I,s:I}", "id", (json_int_t)c->id, "balance_minor", (json_int_t)bal));
}
