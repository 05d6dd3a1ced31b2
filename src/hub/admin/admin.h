/* The admin dashboard at /admin/ (issue 17 item 2, first slice): log in with an admin or
 * support API token, overview numbers, users with search and pagination, disable a user.
 * Server-rendered HTML, no external assets. Sessions live in this hub's memory: with several
 * hubs behind one name, the balancer must keep an operator on one hub (or they log in again). */
#ifndef VEIL_HUB_ADMIN_ADMIN_H
#define VEIL_HUB_ADMIN_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "hub/domain/model.h"

#define ADMIN_SESSION_TTL (8 * 3600) /* seconds; a login lasts a working day */
#define ADMIN_SESSIONS_MAX 256       /* the oldest is dropped beyond this */
#define ADMIN_SECRET_LEN 43          /* base64url of 32 random bytes */
#define ADMIN_COOKIE "veil_admin"

struct admin_session {
    char csrf[ADMIN_SECRET_LEN + 1]; /* echoed in every form that changes something */
    enum hub_role role;
    int64_t token_id; /* the API token that logged in, for audit rows ("token:<id>") */
    int64_t expires;
};

/* Starts a session of token_id: sid receives the cookie value. It lasts ADMIN_SESSION_TTL, never
 * past token_expires (the token's expires_at; 0: never). ERR_CRYPTO when no randomness. */
int admin_session_create(enum hub_role role, int64_t token_id, int64_t token_expires, int64_t now,
                         char sid[static ADMIN_SECRET_LEN + 1], struct admin_session *out);
/* The live session of a cookie value (compared in constant time). ERR_NOT_FOUND. */
int admin_session_find(const char *sid, int64_t now, struct admin_session *out);
void admin_session_end(const char *sid);
/* Forgets every session (tests). */
void admin_session_reset(void);

/* The value of cookie `name` in a Cookie header, copied into out (at most cap-1 bytes); false
 * when absent or too long. */
bool admin_cookie_get(const char *header, const char *name, char *out, size_t cap);
/* The value of `key` in an application/x-www-form-urlencoded body (or query string),
 * percent-decoded ('+' is a space) into out; false when absent, malformed, too long, or when
 * it decodes to a NUL byte. */
bool admin_form_get(const char *body, size_t len, const char *key, char *out, size_t cap);
/* Appends s percent-encoded for a query value (everything but RFC 3986 unreserved characters);
 * the result is also safe inside an HTML attribute. */
int admin_url_encode(struct buf *out, const char *s);

/* Operator input (admin_input.c). Prices: "RUB 199.00, XTR 150" -> up to cap prices in minor
 * units (the currency's digits, XTR whole); ERR_MALFORMED (also for an empty list), ERR_RANGE (too
 * many, or a fraction of a minor unit), ERR_EXISTS (a currency twice). */
int admin_prices_parse(const char *text, struct hub_price *out, size_t cap, size_t *n);
/* Quota: GiB with up to three decimals ("0", "50", "1.5") -> bytes; ERR_MALFORMED, ERR_RANGE. */
int admin_gib_parse(const char *s, int64_t *bytes);
/* bytes -> GiB text with up to three decimals (what admin_gib_parse reads back). */
void admin_gib_text(int64_t bytes, char out[static 32]);
/* "YYYY-MM-DD" (a real date, 1970 or later) -> the UTC midnight starting it. */
bool admin_day_parse(const char *s, int64_t *out);

#endif
