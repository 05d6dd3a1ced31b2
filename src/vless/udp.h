/* VLESS UDP (command 0x02, spec/vless.md §9): every datagram, both directions, is
 * len(2, big-endian) | payload. The destination is the request header's; replies carry
 * no address. */
#ifndef VEIL_VLESS_UDP_H
#define VEIL_VLESS_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/bytes.h"

/* Writers skip payloads above this (upstream: len + 2 <= 8192). */
#define VLESS_UDP_WRITE_MAX 8190

/* Parses one datagram from the start of p: 0 with *dgram (borrowed, may be empty: a
 * no-op packet) and *consumed, or ERR_NEED_MORE. Any length up to 65535 is accepted. */
int vless_udp_parse(const uint8_t *p, size_t len, struct bytes *dgram, size_t *consumed);
/* Appends one datagram. An empty payload writes nothing (returns 0); above
 * VLESS_UDP_WRITE_MAX returns ERR_TOO_LONG (drop it). ERR_NOMEM. */
int vless_udp_encode(struct buf *out, const uint8_t *p, size_t len);

#endif
