/* The client side of an established tunnel as a relay transport (net/relay.h): TLS 1.3
 * records from our engine, optionally XTLS Vision framing inside them, and Vision's switch
 * to direct copy (spec/vision.md §7), after which bytes go raw on the socket.
 *
 * Used by veil-node (server role: reads the client's uplink, writes the downlink) and by
 * `veil client` (client role). It owns no fd; it borrows the tls13 connection. */
#ifndef VEIL_TUNNEL_XPRT_H
#define VEIL_TUNNEL_XPRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "net/relay.h"
#include "tls13/tls13.h"
#include "vless/vision.h"

struct tunnel_xprt {
    struct tls13_conn *tls; /* borrowed */
    struct buf cin;         /* ciphertext (or raw bytes after the switch) read from the socket */
    struct buf plain;       /* decoded bytes ready for the relay */
    struct buf rec;         /* one record's plaintext before Vision unframing */
    struct buf cout;        /* bytes waiting for the socket */
    struct buf prefix;      /* sent before the first data (VLESS response / request header) */
    bool vision;
    bool expect_response; /* client role: the downlink starts with a VLESS response header */
    struct buf resp;      /* response header bytes collected so far */
    bool rx_direct, tx_direct, tx_direct_pending;
    bool rx_eof;
    bool write_closed;
    struct vless_vision_shared vsh;
    struct vless_vision_reader vrd;
    struct vless_vision_writer vwr;
    uint64_t rx_app, tx_app; /* application bytes moved, for accounting */
    /* Called once per direction when it has switched to raw (Vision direct copy), from inside
     * a relay callback: the owner may then move that direction to splice
     * (tunnel_xprt_rx_spliceable / _tx_spliceable, relay_splice_dir), but only from a later
     * loop iteration. */
    void (*on_raw)(void *arg);
    void *on_raw_arg;
    bool rx_raw_told, tx_raw_told;
};

/* Prepares a transport over an established `tls`. `uuid` is the id the client sent (Vision
 * frames carry it); vision=false relays plain VLESS inside TLS. `cin_left` are bytes already
 * read from the socket but not yet processed (records after the VLESS header's record), and
 * `plain_left` plaintext already decrypted after the VLESS header (fed through the Vision
 * reader first). ERR_NOMEM. */
int tunnel_xprt_init(struct tunnel_xprt *x, struct tls13_conn *tls, bool vision, const uint8_t uuid[static 16],
                     const uint8_t *cin_left, size_t cin_len, const uint8_t *plain_left, size_t plain_len);
/* True when nothing is buffered inside the transport (either direction). */
bool tunnel_xprt_idle(const struct tunnel_xprt *x);
/* The receiving direction reads raw bytes and holds none: a relay may read the fd directly. */
bool tunnel_xprt_rx_spliceable(const struct tunnel_xprt *x);
/* The sending direction writes raw and holds nothing: a relay may write the fd directly. */
bool tunnel_xprt_tx_spliceable(const struct tunnel_xprt *x);
/* Client role: strip and check the VLESS response header at the start of the downlink. */
void tunnel_xprt_expect_response(struct tunnel_xprt *x);
/* Bytes to send in front of the first data (the VLESS response "00 00" on the server, the
 * request header on the client), in the same record as the first Vision frame. */
int tunnel_xprt_set_prefix(struct tunnel_xprt *x, const uint8_t *p, size_t n);
/* Client role: sends the prefix now with an empty Vision frame (spec/vision.md §4.5) or,
 * without Vision, alone. The bytes go to cout; the relay flushes them. */
int tunnel_xprt_send_prefix_now(struct tunnel_xprt *x);
void tunnel_xprt_dispose(struct tunnel_xprt *x);
/* How many of the n bytes the relay offers go into the next Vision batch: while Vision still
 * pads and the inner stream is TLS, only the whole application-data records at the front (if
 * any), so that padding stops at the first such batch (spec/vision.md §4.2) instead of never
 * once a batch boundary fell inside a record. Otherwise n. */
size_t tunnel_xprt_vision_batch(const struct tunnel_xprt *x, const uint8_t *p, size_t n);

extern const struct relay_xprt_ops tunnel_xprt_ops;

#endif
