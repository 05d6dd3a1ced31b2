/* The dashboard's request plumbing shared by every page (see admin_http.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "hub/admin/admin_http.h"

static void security_headers(struct api_call *c)
{
    api_reply_header(c, "cache-control", "no-store");
    api_reply_header(c, "content-security-policy",
                     "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                     "frame-ancestors 'none'; base-uri 'none'");
    api_reply_header(c, "referrer-policy", "same-origin");
    api_reply_header(c, "x-content-type-options", "nosniff");
}

void admin_send_page(struct api_call *c, int status, struct buf *b, int rc)
{
    if (rc < 0)
        api_reply_error(c, 500, "internal", "page rendering failed");
    else
        api_reply(c, status, "text/html; charset=utf-8", buf_data(b), buf_len(b));
    buf_dispose(b);
    if (rc >= 0)
        security_headers(c);
}

void admin_redirect(struct api_call *c, const char *to)
{
    api_reply(c, 303, "text/plain; charset=utf-8", "", 0);
    api_reply_header(c, "location", to);
    security_headers(c);
}

void admin_redirectf(struct api_call *c, const char *fmt, ...)
{
    char to[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(to, sizeof to, fmt, ap);
    va_end(ap);
    admin_redirect(c, n > 0 && (size_t)n < sizeof to ? to : "/admin");
}

void admin_forbidden(struct api_call *c, const char *why)
{
    api_reply(c, 403, "text/plain; charset=utf-8", why, strlen(why));
    security_headers(c);
}

bool admin_session_of(struct api_call *c, struct admin_session *s, char *sid)
{
    const char *ck = api_call_header(c, "cookie");
    char v[ADMIN_SECRET_LEN + 1];
    if (ck == NULL || !admin_cookie_get(ck, ADMIN_COOKIE, v, sizeof v))
        return false;
    if (admin_session_find(v, api_call_now(c), s) < 0)
        return false;
    int rc = api_token_live(c, s->token_id);
    if (rc == ERR_NOT_FOUND) /* revoked (here or on another hub) or expired: the session ends too */
        admin_session_end(v);
    if (rc < 0)
        return false;
    if (sid != NULL)
        memcpy(sid, v, sizeof v);
    return true;
}

bool admin_viewer(struct api_call *c, struct admin_session *s)
{
    if (admin_session_of(c, s, NULL))
        return true;
    admin_redirect(c, "/admin");
    return false;
}

bool admin_field(struct api_call *c, const char *key, char *out, size_t cap)
{
    size_t len;
    const char *body = api_call_body(c, &len);
    return body != NULL && admin_form_get(body, len, key, out, cap);
}

bool admin_csrf_ok(struct api_call *c, const struct admin_session *s)
{
    char got[ADMIN_FORM_MAX];
    return admin_field(c, "csrf", got, sizeof got) && strlen(got) == ADMIN_SECRET_LEN &&
           secure_memcmp(got, s->csrf, ADMIN_SECRET_LEN) == 0;
}

bool admin_changer(struct api_call *c, struct admin_session *s)
{
    if (!admin_viewer(c, s))
        return false;
    if (s->role != HUB_ROLE_ADMIN) {
        admin_forbidden(c, "the support role is read-only");
        return false;
    }
    if (!admin_csrf_ok(c, s)) {
        admin_forbidden(c, "missing or wrong CSRF token");
        return false;
    }
    return true;
}

void admin_actor(const struct admin_session *s, char out[static 32])
{
    snprintf(out, 32, "token:%" PRId64, s->token_id);
}

void admin_store_error(struct api_call *c, int rc, const char *what)
{
    char msg[160];
    int status = rc == ERR_NOT_FOUND ? 404 : rc == ERR_EXISTS || rc == ERR_BAD_STATE ? 409 : 503;
    snprintf(msg, sizeof msg, "%s: %s", what,
             rc == ERR_NOT_FOUND   ? "not found"
             : rc == ERR_EXISTS    ? "already exists"
             : rc == ERR_BAD_STATE ? "not allowed in its current state"
                                   : "the database is busy, try again");
    api_reply(c, status, "text/plain; charset=utf-8", msg, strlen(msg));
    security_headers(c);
}
