/* Alert names and the error -> alert mapping (the one place that picks the alert). */
#include <stdio.h>

#include "core/err.h"
#include "tls13/alert.h"

bool tls13_err_is_alert(int err, uint8_t *alert, bool *from_peer)
{
    if (err > TLS13_ERR_ALERT_BASE || err <= TLS13_ERR_ALERT_BASE - 0x200)
        return false;
    int v = TLS13_ERR_ALERT_BASE - err;
    *from_peer = v >= 0x100;
    *alert = (uint8_t)(v & 0xff);
    return true;
}

bool tls13_alert_for_error(int err, uint8_t *alert)
{
    bool peer;
    if (err >= 0 || err == ERR_NEED_MORE || err == ERR_CLOSED)
        return false;
    if (tls13_err_is_alert(err, alert, &peer))
        return !peer;
    /* Codes from shared helpers: message syntax problems are decode errors, the rest
     * are our own failures. */
    switch (err) {
    case ERR_MALFORMED:
        *alert = TLS13_ALERT_DECODE_ERROR;
        break;
    case ERR_DECRYPT:
        *alert = TLS13_ALERT_BAD_RECORD_MAC;
        break;
    case ERR_AUTH:
        *alert = TLS13_ALERT_DECRYPT_ERROR;
        break;
    default:
        *alert = TLS13_ALERT_INTERNAL_ERROR;
        break;
    }
    return true;
}

const char *tls13_alert_name(uint8_t alert)
{
    switch (alert) {
    case TLS13_ALERT_CLOSE_NOTIFY:
        return "close_notify";
    case TLS13_ALERT_UNEXPECTED_MESSAGE:
        return "unexpected_message";
    case TLS13_ALERT_BAD_RECORD_MAC:
        return "bad_record_mac";
    case TLS13_ALERT_RECORD_OVERFLOW:
        return "record_overflow";
    case TLS13_ALERT_HANDSHAKE_FAILURE:
        return "handshake_failure";
    case TLS13_ALERT_BAD_CERTIFICATE:
        return "bad_certificate";
    case TLS13_ALERT_UNSUPPORTED_CERTIFICATE:
        return "unsupported_certificate";
    case TLS13_ALERT_CERTIFICATE_UNKNOWN:
        return "certificate_unknown";
    case TLS13_ALERT_ILLEGAL_PARAMETER:
        return "illegal_parameter";
    case TLS13_ALERT_DECODE_ERROR:
        return "decode_error";
    case TLS13_ALERT_DECRYPT_ERROR:
        return "decrypt_error";
    case TLS13_ALERT_PROTOCOL_VERSION:
        return "protocol_version";
    case TLS13_ALERT_INTERNAL_ERROR:
        return "internal_error";
    case TLS13_ALERT_USER_CANCELED:
        return "user_canceled";
    case TLS13_ALERT_MISSING_EXTENSION:
        return "missing_extension";
    case TLS13_ALERT_UNSUPPORTED_EXTENSION:
        return "unsupported_extension";
    case TLS13_ALERT_UNRECOGNIZED_NAME:
        return "unrecognized_name";
    case TLS13_ALERT_NO_APPLICATION_PROTOCOL:
        return "no_application_protocol";
    default:
        return "unknown";
    }
}

const char *tls13_err_str(int err)
{
    /* One static table of strings per alert would be long; thread-local buffer instead. */
    static _Thread_local char text[64];
    uint8_t a;
    bool peer;
    if (!tls13_err_is_alert(err, &a, &peer))
        return err_str(err);
    snprintf(text, sizeof(text), "alert %s (%u, %s)", tls13_alert_name(a), a, peer ? "received" : "sent");
    return text;
}
