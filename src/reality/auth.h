/* REALITY server-side authentication of a ClientHello (spec/reality.md §3, §4.3) and the
 * frozen configuration it checks against. Pure: the clock is a parameter, no I/O.
 *
 *   ECDH(privateKey, client X25519 share) -> HKDF-SHA256(salt = random[0..20), info =
 *   "REALITY") = AuthKey -> AES-256-GCM-Open(AuthKey, nonce = random[20..32), the 32-byte
 *   session id, AAD = ClientHello with the session id zeroed) -> version, time, shortId. */
#ifndef VEIL_REALITY_AUTH_H
#define VEIL_REALITY_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reality/client_hello.h"
#include "reality/outcome.h"

#define REALITY_AUTH_KEY_LEN 32
#define REALITY_SHORT_ID_LEN 8
#define REALITY_SESSION_ID_LEN 32
#define REALITY_SESSION_PLAIN_LEN 16

/* Server configuration snapshot (config-and-links.md §1.5). Built with the setters, then
 * frozen; a frozen snapshot is immutable and may be shared by threads (ref/unref). */
struct reality_server_cfg;

/* New, unfrozen config holding a copy of the 32-byte X25519 private key. NULL on no memory. */
struct reality_server_cfg *reality_server_cfg_new(const uint8_t private_key[static 32]);
/* Adds an exact server name (bytes, case-sensitive; "" admits hellos without SNI).
 * ERR_BAD_STATE once frozen, ERR_NOMEM. */
int reality_server_cfg_add_server_name(struct reality_server_cfg *c, const char *name, size_t len);
/* Adds a shortId given as hex text (config-and-links.md §4: even length 0..16, right-padded
 * with zeros). ERR_CONFIG on bad text, ERR_BAD_STATE once frozen, ERR_NOMEM. */
int reality_server_cfg_add_short_id(struct reality_server_cfg *c, const char *hex);
/* min/maxClientVer as "x", "x.y" or "x.y.z" (each 0..255); NULL or "" leaves it unset (our
 * default: no minimum, spec §12.1). ERR_CONFIG, ERR_BAD_STATE. */
int reality_server_cfg_set_client_ver(struct reality_server_cfg *c, const char *min, const char *max);
/* maxTimeDiff in milliseconds; 0 disables the check. */
int reality_server_cfg_set_max_time_diff(struct reality_server_cfg *c, uint64_t ms);
/* Optional deviation (spec §12.3): after AES-256-GCM fails, also try ChaCha20-Poly1305. */
int reality_server_cfg_set_legacy_chacha(struct reality_server_cfg *c, bool on);
/* Validates (at least one server name and one shortId) and freezes. ERR_CONFIG. */
int reality_server_cfg_freeze(struct reality_server_cfg *c);
/* Reference counting for a frozen snapshot; the creator holds the first reference. unref(NULL)
 * is a no-op; the last unref wipes the private key and frees. */
struct reality_server_cfg *reality_server_cfg_ref(struct reality_server_cfg *c);
void reality_server_cfg_unref(struct reality_server_cfg *c);

/* Text helpers shared with config loading: 24-bit version number x<<16|y<<8|z, and a shortId. */
int reality_parse_version(const char *s, uint32_t *ver);
int reality_parse_short_id(const char *hex, uint8_t out[static 8]);

struct reality_auth_result {
    enum reality_outcome outcome;           /* AUTHENTICATED or the fallback reason */
    bool opened;                            /* the session id decrypted: fields below are valid */
    bool used_chacha;                       /* opened with the legacy ChaCha20 deviation */
    uint16_t share_group;                   /* group of the share used: 0x001d or 0x11ec */
    uint8_t auth_key[REALITY_AUTH_KEY_LEN]; /* for the certificate HMAC (§8.2); wipe after use */
    uint8_t plain[REALITY_SESSION_PLAIN_LEN];
    uint8_t version[3];
    uint32_t client_ver;  /* version[0]<<16 | version[1]<<8 | version[2] */
    uint32_t client_time; /* Unix seconds */
    uint8_t short_id[REALITY_SHORT_ID_LEN];
};

/* Takes the decision of §4.3 for a parsed ClientHello. `now_ms` is Unix time in milliseconds.
 * Returns 0 with res->outcome set (AUTHENTICATED or a fallback reason); a negative code only
 * for ERR_NOMEM / ERR_CRYPTO (treat as fallback too). res->auth_key is wiped unless
 * authenticated. Does not bump the outcome counters (the caller knows the final outcome). */
int reality_auth(const struct reality_server_cfg *cfg, const struct reality_client_hello *ch, uint64_t now_ms,
                 struct reality_auth_result *res);

/* AuthKey = HKDF-SHA256(IKM = shared, salt = random[0..20), info = "REALITY", 32 bytes). */
int reality_derive_auth_key(const uint8_t shared[static 32], const uint8_t random[static 32],
                            uint8_t auth_key[static 32]);

/* Wipes the secrets of a result. */
void reality_auth_result_wipe(struct reality_auth_result *res);

#endif
