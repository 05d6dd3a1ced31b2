/* The verdict of `veil scan` (spec/reality.md §5 "Consequences an operator must know"),
 * sans-IO: judged from what reality_target_feed() learned of the target's answer to a Chrome
 * ClientHello (exactly the node's view) and how our TLS client fared on the same bytes. */
#ifndef VEIL_CLI_SCAN_H
#define VEIL_CLI_SCAN_H

#include <stdbool.h>

#include "core/bytes.h"
#include "reality/target.h"

enum scan_verdict {
    SCAN_SUITABLE = 0,
    SCAN_NO_ANSWER,        /* nothing received */
    SCAN_HRR,              /* HelloRetryRequest: no share the target accepts */
    SCAN_ALERT,            /* the target answered with an alert */
    SCAN_NOT_TLS13,        /* a ServerHello for TLS 1.2 or older */
    SCAN_BAD_SERVER_HELLO, /* a ServerHello the node cannot use (suite, group, malformed) */
    SCAN_NO_CCS,           /* no middlebox-compatibility ChangeCipherSpec after it */
    SCAN_UNFOLLOWABLE,     /* packed first encrypted record <= 512 bytes: the node would hang */
    SCAN_INCOMPLETE,       /* the target went quiet or closed mid-flight */
    SCAN_ABORT,            /* the node's classification aborts (record or buffer too long) */
    SCAN_RECORD_TOO_SMALL, /* separate mode: a target record smaller than ours */
    SCAN__COUNT,           /* sentinel */
};

/* Judges the target. tls_rc is what tls13_handshake() last returned on the same bytes (0: the
 * handshake completed, ERR_NEED_MORE: unfinished, else its error). *detail gets static text
 * naming the alert, the abort reason or the slot, or NULL. */
enum scan_verdict scan_judge(const struct reality_target *t, int tls_rc, const char **detail);
/* Static sentence for a verdict ("suitable", "no TLS 1.3", ...). */
const char *scan_verdict_text(enum scan_verdict v);
/* True when raw starts with a ServerHello record that is a HelloRetryRequest. */
bool scan_is_hrr(struct bytes raw);
/* "ServerHello", "CCS", "EncryptedExtensions", ... for a reality_slot. */
const char *scan_slot_name(enum reality_slot s);

#endif
