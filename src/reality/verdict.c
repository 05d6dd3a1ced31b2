/* Target verdicts (`veil scan`, the node's target check) from the node's view of a target's flight. */
#include "reality/verdict.h"

#include <string.h>

#include "core/err.h"
#include "tls13/tls13.h"

/* HelloRetryRequest's ServerHello.random (RFC 8446 §4.1.3). */
static const uint8_t hrr_random[32] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
                                       0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
                                       0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

/* Our flight's message sizes (spec/reality.md §7.2): EE, Certificate (178-byte certificate),
 * CertificateVerify; Finished is 4 + the suite's hash length. */
#define OUR_EE_LEN 6
#define OUR_CERT_LEN 191
#define OUR_CV_LEN 72

bool reality_verdict_is_hrr(struct bytes raw)
{
    /* record header (5), handshake header (4), legacy_version (2), then the random */
    return raw.len >= 5 + 4 + 2 + 32 && raw.p[0] == TLS13_CT_HANDSHAKE && raw.p[5] == TLS13_HS_SERVER_HELLO &&
           memcmp(raw.p + 11, hrr_random, 32) == 0;
}

const char *reality_slot_name(enum reality_slot s)
{
    static const char *const names[REALITY_SLOT__COUNT] = {
        "ServerHello", "CCS", "EncryptedExtensions", "Certificate", "CertificateVerify", "Finished", "after Finished",
    };
    return (unsigned)s < REALITY_SLOT__COUNT ? names[s] : "unknown";
}

const char *reality_verdict_text(enum reality_verdict v)
{
    switch (v) {
    case REALITY_V_SUITABLE:
        return "suitable";
    case REALITY_V_NO_ANSWER:
        return "the target did not answer a Chrome ClientHello";
    case REALITY_V_HRR:
        return "the target asked for HelloRetryRequest (no X25519 or X25519MLKEM768 share it accepts)";
    case REALITY_V_ALERT:
        return "the target refused the hello with an alert";
    case REALITY_V_NOT_TLS13:
        return "no TLS 1.3";
    case REALITY_V_BAD_SERVER_HELLO:
        return "a ServerHello REALITY cannot use (suite 1301-1303 and group X25519/X25519MLKEM768 needed)";
    case REALITY_V_NO_CCS:
        return "no middlebox-compatibility ChangeCipherSpec after the ServerHello";
    case REALITY_V_UNFOLLOWABLE:
        return "the encrypted flight packs messages into a first record of <= 512 bytes: the node would wait "
               "for records that never come and clients would hang";
    case REALITY_V_INCOMPLETE:
        return "the target's flight was incomplete (it went quiet or closed)";
    case REALITY_V_ABORT:
        return "the node would abort on this flight";
    case REALITY_V_RECORD_TOO_SMALL:
        return "a record of the target's flight is smaller than ours";
    case REALITY_V_UNREACHABLE:
        return "the target does not accept connections";
    case REALITY_V_CERT_NAME:
        return "the certificate is for another name";
    case REALITY_V_CERT_EXPIRED:
        return "the certificate is expired or not yet valid";
    case REALITY_V_REDIRECT:
        return "the site redirects to another domain (a visitor, or a prober, leaves for another site)";
    default:
        return "unknown";
    }
}

const char *reality_verdict_code(enum reality_verdict v)
{
    static const char *const codes[REALITY_V__COUNT] = {
        [REALITY_V_SUITABLE] = "suitable",
        [REALITY_V_NO_ANSWER] = "no_answer",
        [REALITY_V_HRR] = "no_x25519",
        [REALITY_V_ALERT] = "alert",
        [REALITY_V_NOT_TLS13] = "no_tls13",
        [REALITY_V_BAD_SERVER_HELLO] = "bad_server_hello",
        [REALITY_V_NO_CCS] = "no_ccs",
        [REALITY_V_UNFOLLOWABLE] = "unfollowable",
        [REALITY_V_INCOMPLETE] = "incomplete",
        [REALITY_V_ABORT] = "abort",
        [REALITY_V_RECORD_TOO_SMALL] = "record_too_small",
        [REALITY_V_UNREACHABLE] = "down",
        [REALITY_V_CERT_NAME] = "cert_name",
        [REALITY_V_CERT_EXPIRED] = "cert_expired",
        [REALITY_V_REDIRECT] = "redirect",
    };
    return (unsigned)v < REALITY_V__COUNT ? codes[v] : "unknown";
}

/* Separate mode: the first slot whose record cannot carry our message (pad < 0), or -1. */
static int separate_misfit(const struct reality_target_plan *plan)
{
    static const enum reality_slot slots[4] = {REALITY_SLOT_ENCRYPTED_EXTENSIONS, REALITY_SLOT_CERTIFICATE,
                                               REALITY_SLOT_CERTIFICATE_VERIFY, REALITY_SLOT_FINISHED};
    const size_t need[4] = {OUR_EE_LEN, OUR_CERT_LEN, OUR_CV_LEN, 4 + (plan->cipher_suite == 0x1302 ? 48u : 32u)};
    size_t pad;
    for (int i = 0; i < 4; i++)
        if (reality_plan_pad(plan, slots[i], need[i], &pad) < 0)
            return (int)slots[i];
    return -1;
}

enum reality_verdict reality_verdict_judge(const struct reality_target *t, int tls_rc, const char **detail)
{
    const struct reality_target_plan *plan = &t->plan;
    struct bytes raw = reality_target_received(t);
    uint8_t alert;
    bool from_peer;
    *detail = NULL;
    if (raw.len == 0)
        return REALITY_V_NO_ANSWER;
    if (reality_verdict_is_hrr(raw))
        return REALITY_V_HRR;
    if (raw.p[0] == TLS13_CT_ALERT) {
        *detail = raw.len >= 7 ? tls13_alert_name(raw.p[6]) : NULL;
        return REALITY_V_ALERT;
    }
    if (plan->lens[REALITY_SLOT_SERVER_HELLO] == 0) {
        if (tls13_err_is_alert(tls_rc, &alert, &from_peer) && !from_peer && alert == TLS13_ALERT_PROTOCOL_VERSION)
            return REALITY_V_NOT_TLS13;
        if (t->state == REALITY_TARGET_ST_EXPECT_RECORDS)
            return REALITY_V_INCOMPLETE;
        *detail = t->why;
        return REALITY_V_BAD_SERVER_HELLO;
    }
    if (plan->lens[REALITY_SLOT_CCS] == 0)
        return t->state == REALITY_TARGET_ST_EXPECT_RECORDS ? REALITY_V_INCOMPLETE : REALITY_V_NO_CCS;
    if (t->state == REALITY_TARGET_ST_EXPECT_RECORDS)
        return tls_rc == 0 ? REALITY_V_UNFOLLOWABLE : REALITY_V_INCOMPLETE;
    if (t->state != REALITY_TARGET_ST_READY) {
        *detail = t->why;
        return REALITY_V_ABORT;
    }
    int misfit = plan->combined ? -1 : separate_misfit(plan);
    if (misfit >= 0) {
        *detail = reality_slot_name((enum reality_slot)misfit);
        return REALITY_V_RECORD_TOO_SMALL;
    }
    return REALITY_V_SUITABLE;
}
