/* Admin access hardening (docs/security.md §6): the "api" section of hub.json, the admin
 * address allowlist, lockout after failed attempts, and the TOTP second factor.
 *
 *   "api": {"admin_allow": ["10.0.0.0/8", "2001:db8::/32", "127.0.0.1"],
 *           "lockout": {"failures": 10, "window": 300, "duration": 900},
 *           "totp": {"issuer": "Veil", "session_ttl": 3600},
 *           "tls": {"cert_file": "/etc/veil/hub.crt", "key_file": "/etc/veil/hub.key",
 *                   "client_ca_file": "/etc/veil/nodes-ca.crt"}}
 *
 * admin_allow: when set, the admin API (admin and support tokens), the TOTP exchange and the
 * dashboard answer 403 to any other client address (as resolved by client_ip.h, so behind
 * trusted proxies it is the forwarded address). Node sync, /sub, webhooks, /healthz are not
 * affected. Empty or absent: every address.
 *
 * lockout: `failures` failed authentications (unknown token, wrong or replayed TOTP code,
 * failed dashboard login) from one address within `window` seconds lock that address out of
 * the admin API and dashboard for `duration` seconds (429 + Retry-After); the same count per
 * token locks that token's second factor (codes refused) — so guessing codes for a stolen token
 * is bounded even from many addresses. Counters and locks live in the hub cache, shared by
 * every hub when Redis is configured. Each lock is audited ("auth.lockout") and counted
 * (veil_hub_auth_lockouts_total). failures 0 turns lockout off.
 *
 * tls: the hub serves HTTPS itself (libmicrohttpd over GnuTLS) with this certificate chain and
 * key (the key file must not be readable by group or others); with client_ca_file the node sync
 * routes answer 403 to a connection without a client certificate signed by that CA.
 *
 * totp: issuer shown by authenticator apps; session_ttl: lifetime of the session token that
 * POST /api/v1/auth/totp trades for a TOTP-protected token and a code. */
#ifndef VEIL_HUB_API_ACCESS_H
#define VEIL_HUB_API_ACCESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/api/client_ip.h"

#define API_ALLOW_MAX 64

struct api_access_cfg {
    struct client_ip_net allow[API_ALLOW_MAX];
    size_t n_allow;
    unsigned lock_failures; /* 0: no lockout */
    unsigned lock_window, lock_duration;
    char totp_issuer[64];
    unsigned session_ttl;
    /* "tls": the hub speaks HTTPS itself (no balancer in front); client_ca: node routes need a
     * client certificate signed by it (mutual TLS). Absolute paths; "" = off. */
    char tls_cert[256], tls_key[256], tls_client_ca[256];
};

/* Defaults: no allowlist; lockout 10 failures / 300 s -> 900 s; issuer "Veil"; sessions 3600 s. */
void api_access_cfg_default(struct api_access_cfg *c);
/* Parses the "api" section (NULL: defaults). ERR_CONFIG with a reason naming the key. */
int api_access_cfg_parse(const json_t *section, struct api_access_cfg *out, char *err, size_t errcap);

struct api_call;

/* Whether the caller's address may reach admin routes. */
bool api_access_ip_allowed(const struct api_call *c);
/* True (and a 429 answer with Retry-After written) when the caller's address, or token_id when
 * non-zero, is locked out. */
bool api_lockout_refuse(struct api_call *c, int64_t token_id);
/* One failed attempt (reason: "unknown_token", "totp_wrong", "totp_replay", "login"): counted
 * for the address and, when non-zero, for token_id; locks and audits when a count reaches the
 * limit. */
void api_lockout_fail(struct api_call *c, const char *reason, int64_t token_id);

/* A recovery code as typed ("abcd-efgh-ijkl-mnop", either case, dashes and spaces ignored) in
 * its stored form: API_RECOVERY_CODE_LEN lowercase base32 characters and a NUL. false when it is
 * not one. */
#define API_RECOVERY_CODE_LEN 16
bool api_recovery_code_normalize(const char *in, size_t len, char out[static API_RECOVERY_CODE_LEN + 1]);
/* Checks a TOTP code (text as typed) for token_id and records its step as used, or spends a
 * recovery code (audited auth.recovery_code): 0; ERR_MALFORMED (neither 6 digits nor a recovery
 * code), ERR_AUTH (wrong), ERR_BAD_STATE (replayed), ERR_NOT_FOUND (none enrolled), or a store
 * error. Failures are not counted here (callers call api_lockout_fail). */
int api_totp_check(struct api_call *c, int64_t token_id, const char *code, size_t len);
/* The token's authentication facts for the dashboard login: 0 with role, id, expiry (0: never)
 * and whether a second factor is enrolled, ERR_NOT_FOUND (unknown, revoked or expired), a store
 * error. */
int api_token_login_lookup(struct api_call *c, const char *token, size_t len, int *role, int64_t *id,
                           int64_t *expires_at, bool *totp);
/* Whether token id is still live for a dashboard session: not revoked, its parent not revoked,
 * not expired. A store error counts as not live (the session is refused, not ended). */
int api_token_live(struct api_call *c, int64_t id);

#endif
