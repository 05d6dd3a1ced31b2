/* What every dashboard handler does around its page (admin_http.c): find the session, check
 * the role and the CSRF token of a change, answer with a page, a redirect or a refusal, read a
 * form field, and name the actor of an audit row. */
#ifndef VEIL_HUB_ADMIN_ADMIN_HTTP_H
#define VEIL_HUB_ADMIN_ADMIN_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "hub/admin/admin.h"
#include "hub/api/api_route.h"

#define ADMIN_FORM_MAX 256 /* bytes of one decoded form field */
#define ADMIN_BODY_MAX 4096

/* Sends the page in b (or a 500 when rendering failed, rc < 0) and frees b. */
void admin_send_page(struct api_call *c, int status, struct buf *b, int rc);
void admin_redirect(struct api_call *c, const char *to);
void admin_forbidden(struct api_call *c, const char *why);
/* The caller's session from the cookie; sid (ADMIN_SECRET_LEN + 1 bytes) may be NULL. */
bool admin_session_of(struct api_call *c, struct admin_session *s, char *sid);
/* A GET page: the session, or false after redirecting to the login form. */
bool admin_viewer(struct api_call *c, struct admin_session *s);
/* The form's csrf field equals the session's token (constant time). */
bool admin_csrf_ok(struct api_call *c, const struct admin_session *s);
/* A change: a session with the admin role and the right CSRF token, or false after answering
 * (redirect to the login, 403 for the support role or a missing/wrong token). */
bool admin_changer(struct api_call *c, struct admin_session *s);
/* One field of the posted form (admin_form_get on the body). */
bool admin_field(struct api_call *c, const char *key, char *out, size_t cap);
/* "token:<id>" for audit rows. */
void admin_actor(const struct admin_session *s, char out[static 32]);
/* Redirects to printf-formatted location. */
void admin_redirectf(struct api_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Answers a store error of a change with a short plain-text page (404, 409, 503). */
void admin_store_error(struct api_call *c, int rc, const char *what);

#endif
