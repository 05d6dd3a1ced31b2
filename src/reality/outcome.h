/* Why a REALITY connection ended up authenticated or in the fallback relay, and per-reason
 * counters for metrics (spec/reality.md §6 labels, §11 catalogue). Counters are process-wide
 * relaxed atomics: any loop thread may bump them, the admin endpoint reads a snapshot. */
#ifndef VEIL_REALITY_OUTCOME_H
#define VEIL_REALITY_OUTCOME_H

#include <stddef.h>
#include <stdint.h>

enum reality_outcome {
    REALITY_OUTCOME_AUTHENTICATED = 0,
    REALITY_OUTCOME_MALFORMED,               /* no parsable ClientHello (§4.2) */
    REALITY_OUTCOME_NOT_TLS13,               /* TLS 1.3 not offered */
    REALITY_OUTCOME_SNI_MISMATCH,            /* SNI not in serverNames */
    REALITY_OUTCOME_NO_X25519_SHARE,         /* no usable X25519 (or hybrid) key share */
    REALITY_OUTCOME_BAD_KEY_SHARE,           /* X25519 result all zero */
    REALITY_OUTCOME_DECRYPT_FAILED,          /* session id does not open: wrong key, not REALITY, tampered */
    REALITY_OUTCOME_CLIENT_VERSION,          /* outside min/maxClientVer */
    REALITY_OUTCOME_TIME,                    /* |now - t| > maxTimeDiff */
    REALITY_OUTCOME_SHORT_ID,                /* shortId not listed */
    REALITY_OUTCOME_TARGET_FIRST,            /* target sent data before the decision (§4.4) */
    REALITY_OUTCOME_TARGET_BAD_SERVER_HELLO, /* §5 abort before slot 0: relay */
    REALITY_OUTCOME_TARGET_BAD_FLIGHT,       /* §5 abort after slot 0: close both */
    REALITY_OUTCOME_HANDSHAKE_FAILED,        /* §7 our TLS handshake failed */
    REALITY_OUTCOME_DIAL_FAILED,             /* §4.1 target unreachable or PROXY header failed */
    REALITY_OUTCOME__COUNT,                  /* sentinel */
};

/* Stable metric label, e.g. "sni_mismatch"; "unknown" when out of range. */
const char *reality_outcome_str(enum reality_outcome o);
/* The coarser label set the spec recommends after upstream's error texts (§6): every
 * session-id check maps to "auth_failed". */
const char *reality_outcome_upstream_str(enum reality_outcome o);

void reality_outcome_count(enum reality_outcome o);
uint64_t reality_outcome_get(enum reality_outcome o);
/* Copies all counters (REALITY_OUTCOME__COUNT values). */
void reality_outcome_snapshot(uint64_t out[REALITY_OUTCOME__COUNT]);

struct metrics_registry;
/* Registers the counter family veil_reality_outcomes_total{outcome="..."} in `r`; its values
 * are refreshed from the counters above at every render. 0, or ERR_NOMEM / ERR_EXISTS. */
int reality_outcome_register_metrics(struct metrics_registry *r);

#endif
