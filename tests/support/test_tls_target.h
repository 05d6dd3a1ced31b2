/* A stand-in REALITY target for in-process tests: the ServerHello a real site would choose for
 * a client's hello, for our tls13 engine's template mode (it cannot pick for a Chrome-shaped
 * hello on its own: Chrome does not offer Ed25519). */
#ifndef VEIL_TESTS_TLS_TARGET_H
#define VEIL_TESTS_TLS_TARGET_H

#include <stdint.h>

#include "core/buf.h"
#include "core/bytes.h"

/* Appends a ServerHello handshake message echoing session_id, with cipher suite `suite`, a
 * zeroed key share of `group` (0x001d: 32 bytes, 0x11ec: 1120) and supported_versions TLS 1.3.
 * Asserts (cmocka) on failure. */
void tu_target_server_hello(struct buf *b, struct bytes session_id, uint16_t suite, uint16_t group);

#endif
