/* The verdict on a REALITY target, shared by `veil scan` and the node's target check
 * (reality/check.h) (spec/reality.md §5 "Consequences an operator must know"),
 * sans-IO: judged from what reality_target_feed() learned of the target's answer to a Chrome
 * ClientHello (exactly the node's view) and how our TLS client fared on the same bytes. */
#ifndef VEIL_REALITY_VERDICT_H
#define VEIL_REALITY_VERDICT_H

#include <stdbool.h>

#include "core/bytes.h"
#include "reality/target.h"

enum reality_verdict {
    REALITY_V_SUITABLE = 0,
    REALITY_V_NO_ANSWER,        /* nothing received */
    REALITY_V_HRR,              /* HelloRetryRequest: no share the target accepts */
    REALITY_V_ALERT,            /* the target answered with an alert */
    REALITY_V_NOT_TLS13,        /* a ServerHello for TLS 1.2 or older */
    REALITY_V_BAD_SERVER_HELLO, /* a ServerHello the node cannot use (suite, group, malformed) */
    REALITY_V_NO_CCS,           /* no middlebox-compatibility ChangeCipherSpec after it */
    REALITY_V_UNFOLLOWABLE,     /* packed first encrypted record <= 512 bytes: the node would hang */
    REALITY_V_INCOMPLETE,       /* the target went quiet or closed mid-flight */
    REALITY_V_ABORT,            /* the node's classification aborts (record or buffer too long) */
    REALITY_V_RECORD_TOO_SMALL, /* separate mode: a target record smaller than ours */
    REALITY_V_UNREACHABLE,      /* no TCP connection (set by the caller, never by the judge) */
    REALITY_V_CERT_NAME,        /* the certificate does not name the SNI (reality_check_judge) */
    REALITY_V_CERT_EXPIRED,     /* the certificate is expired or not yet valid (reality_check_judge) */
    REALITY_V_REDIRECT,         /* GET / answers a redirect to another domain (reality_check_judge) */
    REALITY_V__COUNT,           /* sentinel */
};

/* Judges the target. tls_rc is what tls13_handshake() last returned on the same bytes (0: the
 * handshake completed, ERR_NEED_MORE: unfinished, else its error). *detail gets static text
 * naming the alert, the abort reason or the slot, or NULL. */
enum reality_verdict reality_verdict_judge(const struct reality_target *t, int tls_rc, const char **detail);
/* Static sentence for a verdict ("suitable", "no TLS 1.3", ...). */
const char *reality_verdict_text(enum reality_verdict v);
/* Stable snake_case code for JSON and metrics ("suitable", "no_tls13", "no_x25519", ...). */
const char *reality_verdict_code(enum reality_verdict v);
/* True when raw starts with a ServerHello record that is a HelloRetryRequest. */
bool reality_verdict_is_hrr(struct bytes raw);
/* "ServerHello", "CCS", "EncryptedExtensions", ... for a reality_slot. */
const char *reality_slot_name(enum reality_slot s);

#endif
