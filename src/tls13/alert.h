/* TLS alerts and how tls13 errors carry them.
 *
 * Every tls13 function returns 0, ERR_NEED_MORE ("in progress"), another negative ERR_*
 * (internal failure: we send internal_error), or an alert code made by the macros below:
 *   TLS13_ERR_SEND(a)  we detected a problem and the alert `a` goes to the peer;
 *   TLS13_ERR_PEER(a)  the peer sent the fatal alert `a` (we send nothing).
 * Both live below -0x10000, clear of -errno and of core/err.h's codes. One place
 * (tls13_alert_for_error) turns any code into the alert to send. */
#ifndef VEIL_TLS13_ALERT_H
#define VEIL_TLS13_ALERT_H

#include <stdbool.h>
#include <stdint.h>

/* RFC 8446 §6 AlertDescription (values fixed by the RFC). */
enum tls13_alert {
    TLS13_ALERT_CLOSE_NOTIFY = 0,
    TLS13_ALERT_UNEXPECTED_MESSAGE = 10,
    TLS13_ALERT_BAD_RECORD_MAC = 20,
    TLS13_ALERT_RECORD_OVERFLOW = 22,
    TLS13_ALERT_HANDSHAKE_FAILURE = 40,
    TLS13_ALERT_BAD_CERTIFICATE = 42,
    TLS13_ALERT_UNSUPPORTED_CERTIFICATE = 43,
    TLS13_ALERT_CERTIFICATE_UNKNOWN = 46,
    TLS13_ALERT_ILLEGAL_PARAMETER = 47,
    TLS13_ALERT_DECODE_ERROR = 50,
    TLS13_ALERT_DECRYPT_ERROR = 51,
    TLS13_ALERT_PROTOCOL_VERSION = 70,
    TLS13_ALERT_INTERNAL_ERROR = 80,
    TLS13_ALERT_USER_CANCELED = 90,
    TLS13_ALERT_MISSING_EXTENSION = 109,
    TLS13_ALERT_UNSUPPORTED_EXTENSION = 110,
    TLS13_ALERT_UNRECOGNIZED_NAME = 112,
    TLS13_ALERT_NO_APPLICATION_PROTOCOL = 120,
    TLS13_ALERT__MAX = 255, /* sentinel: descriptions are one byte */
};

#define TLS13_ERR_ALERT_BASE (-0x10000)
#define TLS13_ERR_SEND(a) (TLS13_ERR_ALERT_BASE - (int)(a))
#define TLS13_ERR_PEER(a) (TLS13_ERR_ALERT_BASE - 0x100 - (int)(a))

/* True when err is a TLS13_ERR_SEND/PEER code; *alert and *from_peer describe it. */
bool tls13_err_is_alert(int err, uint8_t *alert, bool *from_peer);
/* The fatal alert to send for any error; false when nothing must be sent (success,
 * ERR_NEED_MORE, a peer's alert, or the peer's close_notify = ERR_CLOSED). */
bool tls13_alert_for_error(int err, uint8_t *alert);
/* Static text: "alert decode_error (sent)", or err_str() for non-alert codes. */
const char *tls13_err_str(int err);
/* Name of an alert description, e.g. "bad_record_mac"; "unknown" otherwise. */
const char *tls13_alert_name(uint8_t alert);

#endif
