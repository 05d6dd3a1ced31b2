/* Dashboard routes: GET /admin (overview or the login form), POST /admin/login (API token ->
 * session cookie, rate-limited per client address), POST /admin/logout, GET /admin/users
 * (search, pages), POST /admin/users/{id}/disable and /enable (admin role, CSRF token, audited). The routes
 * are public to the API router: they authenticate by the session cookie themselves. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/secure.h"
#include "hub/admin/admin.h"
#include "hub/admin/admin_http.h"
#include "hub/admin/admin_pages.h"
#include "hub/admin/admin_routes.h"
#include "hub/api/api_access.h"
#include "hub/api/api.h"
#include "hub/api/api_route.h"
#include "hub/api/api_valid.h"
#include "hub/cache/cache.h"

#define LOGIN_LIMIT 10   /* attempts per client address ... */
#define LOGIN_WINDOW 300 /* ... per this many seconds */

static void login_form(struct api_call *c, int status, const char *error)
{
    struct buf b;
    buf_init(&b);
    admin_send_page(c, status, &b, admin_page_login(&b, error));
}

static void on_home(struct api_call *c)
{
    struct admin_session s;
    if (!admin_session_of(c, &s, NULL)) {
        login_form(c, 200, NULL);
        return;
    }
    const char *fresh = api_call_query(c, "fresh");
    int64_t now = api_call_now(c), taken_at;
    char *figures;
    size_t len;
    if (admin_snapshot_get(api_call_store(c), now, fresh != NULL && strcmp(fresh, "1") == 0, &figures, &len,
                           &taken_at) < 0) {
        api_reply_error(c, 503, "store_unavailable", "statistics unavailable");
        return;
    }
    struct buf b;
    buf_init(&b);
    admin_send_page(c, 200, &b, admin_page_overview(&b, &s, figures, len, taken_at, now));
    free(figures);
}

/* A token with a second factor needs the form's code (api_totp_check); false after answering. */
static bool second_factor_ok(struct api_call *c, const char *body, size_t len, int64_t token_id, char *code)
{
    if (api_lockout_refuse(c, token_id)) {
        login_form(c, 429, "Too many wrong codes for this token. Try again later.");
        return false;
    }
    if (!admin_form_get(body, len, "code", code, ADMIN_FORM_MAX) || code[0] == '\0') {
        login_form(c, 401, "This token needs the 6-digit code from your authenticator app.");
        return false;
    }
    int rc = api_totp_check(c, token_id, code, strlen(code));
    if (rc == 0)
        return true;
    log_info("admin", 0, "login_failed", LF_STR("ip", api_call_ip(c)), LF_STR("why", "totp"));
    api_lockout_fail(c, rc == ERR_BAD_STATE ? "totp_replay" : "totp_wrong", token_id);
    login_form(c, 401, rc == ERR_BAD_STATE ? "This code was already used: wait for the next one." : "Wrong code.");
    return false;
}

static void on_login(struct api_call *c)
{
    struct hcache *hc = api_call_cache(c);
    if (hc != NULL) {
        char key[96];
        bool allowed = true;
        unsigned retry = 0;
        snprintf(key, sizeof key, "admin-login:%s", api_call_ip(c));
        if (hcache_rate(hc, key, LOGIN_LIMIT, LOGIN_WINDOW, &allowed, &retry) == 0 && !allowed) {
            char ra[16];
            snprintf(ra, sizeof ra, "%u", retry);
            login_form(c, 429, "Too many attempts from your address. Try again later.");
            api_reply_header(c, "retry-after", ra);
            return;
        }
    }
    if (api_lockout_refuse(c, 0)) { /* the API's answer, as a page */
        login_form(c, 429, "Too many failed attempts from your address. Try again later.");
        return;
    }
    size_t len;
    const char *body = api_call_body(c, &len);
    char token[ADMIN_FORM_MAX], code[ADMIN_FORM_MAX];
    int role_v = 0;
    int64_t token_id, token_expires = 0;
    bool totp = false;
    if (body == NULL || !admin_form_get(body, len, "token", token, sizeof token) || token[0] == '\0' ||
        api_token_login_lookup(c, token, strlen(token), &role_v, &token_id, &token_expires, &totp) < 0) {
        secure_wipe(token, sizeof token);
        log_info("admin", 0, "login_failed", LF_STR("ip", api_call_ip(c)));
        api_lockout_fail(c, "login", 0);
        login_form(c, 401, "Unknown, revoked or expired token.");
        return;
    }
    enum hub_role role = (enum hub_role)role_v;
    if (totp && !second_factor_ok(c, body, len, token_id, code)) {
        secure_wipe(token, sizeof token);
        return;
    }
    secure_wipe(token, sizeof token);
    char sid[ADMIN_SECRET_LEN + 1], cookie[160];
    struct admin_session s;
    if (admin_session_create(role, token_id, token_expires, api_call_now(c), sid, &s) < 0) {
        api_reply_error(c, 500, "internal", "no session");
        return;
    }
    log_info("admin", 0, "login", LF_INT("token_id", token_id), LF_STR("ip", api_call_ip(c)));
    char actor[32];
    snprintf(actor, sizeof actor, "token:%" PRId64, token_id);
    struct store_audit login = {.actor = actor,
                                .action = "auth.login",
                                .target = actor,
                                .source_ip = api_call_ip(c),
                                .details = totp ? "{\"via\":\"dashboard\",\"totp\":true}" : "{\"via\":\"dashboard\"}"};
    (void)store_audit_add(api_call_store(c), &login, api_call_now(c));
    snprintf(cookie, sizeof cookie, "%s=%s; Path=/admin; Max-Age=%" PRId64 "; HttpOnly; Secure; SameSite=Strict",
             ADMIN_COOKIE, sid, s.expires - api_call_now(c));
    secure_wipe(sid, sizeof sid);
    admin_redirect(c, "/admin");
    api_reply_header(c, "set-cookie", cookie);
    secure_wipe(cookie, sizeof cookie);
}

static void on_logout(struct api_call *c)
{
    struct admin_session s;
    char sid[ADMIN_SECRET_LEN + 1];
    if (!admin_session_of(c, &s, sid)) {
        admin_redirect(c, "/admin");
        return;
    }
    if (!admin_csrf_ok(c, &s)) {
        admin_forbidden(c, "missing or wrong CSRF token");
        return;
    }
    admin_session_end(sid);
    admin_redirect(c, "/admin");
    api_reply_header(c, "set-cookie", ADMIN_COOKIE "=; Path=/admin; Max-Age=0; HttpOnly; Secure; SameSite=Strict");
}

static void on_users(struct api_call *c)
{
    struct admin_session s;
    if (!admin_session_of(c, &s, NULL)) {
        admin_redirect(c, "/admin");
        return;
    }
    const char *q = api_call_query(c, "q");
    if (q == NULL)
        q = "";
    const char *ps = api_call_query(c, "page");
    int64_t page = 1;
    if (strlen(q) > 128 || (ps != NULL && ps[0] != '\0' && api_parse_uint_param(ps, 1, 1000000000, &page) < 0)) {
        api_reply_error(c, 400, "bad_request", "q: at most 128 characters; page: a positive integer");
        return;
    }
    struct hub_user *users = NULL;
    size_t n = 0;
    int64_t total = 0;
    bool more = false;
    if (store_user_list_capped(api_call_store(c), q, (page - 1) * ADMIN_PAGE_SIZE, ADMIN_PAGE_SIZE,
                               ADMIN_SEARCH_COUNT_CAP, &users, &n, &total, &more) < 0) {
        api_reply_error(c, 503, "store_unavailable", "users unavailable");
        return;
    }
    const char *done = api_call_query(c, "disabled"), *what = "disabled";
    if (done == NULL) {
        done = api_call_query(c, "enabled");
        what = "enabled";
    }
    int64_t done_id = 0;
    char notice[64];
    if (done != NULL && api_parse_uint_param(done, 1, INT64_MAX, &done_id) == 0)
        snprintf(notice, sizeof notice, "User %" PRId64 " %s.", done_id, what);
    struct buf b;
    buf_init(&b);
    int rc = admin_page_users(&b, &s, users, n, total, more, q, page, done_id ? notice : NULL);
    free(users);
    admin_send_page(c, 200, &b, rc);
}

/* Disable or enable one user (admin session, CSRF token), audited, then back to the list. */
static void set_enabled(struct api_call *c, bool enabled)
{
    struct admin_session s;
    if (!admin_changer(c, &s))
        return;
    int64_t id = api_call_id(c);
    char actor[32], target[32], to[64];
    snprintf(actor, sizeof actor, "token:%" PRId64, s.token_id);
    snprintf(target, sizeof target, "user:%" PRId64, id);
    struct store_audit audit = {.actor = actor,
                                .action = enabled ? "user.enable" : "user.disable",
                                .target = target,
                                .source_ip = api_call_ip(c),
                                .details = "{\"via\":\"dashboard\"}"};
    int rc = store_user_set_enabled(api_call_store(c), id, enabled, api_call_now(c), &audit);
    if (rc == ERR_NOT_FOUND) {
        api_reply_error(c, 404, "not_found", "no such user");
        return;
    }
    if (rc < 0) {
        api_reply_error(c, 503, "store_unavailable", "user not changed");
        return;
    }
    /* Subscriptions show the change at once on every hub. */
    if (api_call_cache(c) != NULL)
        hcache_gen_bump(api_call_cache(c));
    /* Back to the page the button was on: the user's own page, or the list with its search. */
    char from[16];
    if (admin_field(c, "from", from, sizeof from) && strcmp(from, "detail") == 0) {
        admin_redirectf(c, "/admin/users/%" PRId64 "?done=%s", id, enabled ? "enabled" : "disabled");
        return;
    }
    size_t len;
    const char *body = api_call_body(c, &len);
    char q[ADMIN_FORM_MAX];
    if (body == NULL || !admin_form_get(body, len, "q", q, sizeof q) || strlen(q) > 128)
        q[0] = '\0';
    struct buf loc;
    buf_init(&loc);
    snprintf(to, sizeof to, "&%s=%" PRId64, enabled ? "enabled" : "disabled", id);
    int brc = buf_append(&loc, "/admin/users?q=", 15);
    if (brc == 0)
        brc = admin_url_encode(&loc, q);
    if (brc == 0)
        brc = buf_append(&loc, to, strlen(to) + 1);
    admin_redirect(c, brc == 0 ? (const char *)buf_data(&loc) : "/admin/users");
    buf_dispose(&loc);
}

static void on_disable(struct api_call *c)
{
    set_enabled(c, false);
}

static void on_enable(struct api_call *c)
{
    set_enabled(c, true);
}

void admin_routes_add_posts(const struct admin_post *posts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        api_route_add_ex(&(struct api_route){.method = "POST",
                                             .pattern = posts[i].pattern,
                                             .auth = API_AUTH_NONE,
                                             .handler = posts[i].fn,
                                             .body_max = ADMIN_BODY_MAX,
                                             .flags = API_ROUTE_ANY_BODY});
}

void admin_routes_add(void)
{
    api_route_add("GET", "/admin", API_AUTH_NONE, on_home);
    api_route_add("GET", "/admin/users", API_AUTH_NONE, on_users);
    static const struct admin_post posts[] = {
        {"/admin/login", on_login},
        {"/admin/logout", on_logout},
        {"/admin/users/{id}/enable", on_enable},
        {"/admin/users/{id}/disable", on_disable},
    };
    ADMIN_POSTS(posts);
}
