/* Strict ClientHello reader for the REALITY server (spec/reality.md §4.2).
 *
 * The node accumulates the client's first bytes and calls reality_ch_peek() after every read
 * without consuming anything: the same bytes also go to the target (§4.1). Record rules are
 * Go crypto/tls's before a version is negotiated: every record must be handshake (22) or
 * alert (21; only warning alerts are skipped) with a version below 0x1000 and a payload of at most 16384+2048
 * bytes; the ClientHello (type 1, at most 65536 bytes) may span several records; empty
 * handshake records and warning alerts are tolerated up to 32 in a row (REALITY's
 * MaxUselessRecords default; Go's own limit is 16). The message itself is parsed like Go's
 * clientHelloMsg.unmarshal: known extensions must be well formed and fully consumed,
 * extensions must not repeat, pre_shared_key must be last, unknown ones (and GREASE) are
 * skipped. Nothing here allocates except the reassembly of a multi-record message. */
#ifndef VEIL_REALITY_CLIENT_HELLO_H
#define VEIL_REALITY_CLIENT_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/bytes.h"

#define REALITY_TLS_GROUP_X25519 0x001d
#define REALITY_TLS_GROUP_X25519MLKEM768 0x11ec
#define REALITY_X25519MLKEM768_CLIENT_SHARE_LEN 1216 /* ML-KEM-768 ek (1184) || X25519 (32) */
#define REALITY_X25519MLKEM768_SERVER_SHARE_LEN 1120 /* ML-KEM-768 ct (1088) || X25519 (32) */

#define REALITY_CH_SESSION_ID_OFFSET 39 /* type 1 + len 3 + version 2 + random 32 + sid length 1 */
#define REALITY_CH_MAX_RECORD_PAYLOAD (16384 + 2048)
#define REALITY_CH_MAX_MESSAGE 65536      /* body length limit (Go maxHandshake) */
#define REALITY_CH_MAX_USELESS_RECORDS 32 /* consecutive empty records / warning alerts */
#define REALITY_CH_MAX_EXT_RECORDED 64    /* extension types kept in order; more are parsed, not listed */
#define REALITY_CH_MAX_SHARES_RECORDED 16

struct reality_key_share {
    uint16_t group;
    struct bytes data;
};

/* A parsed ClientHello. Every view borrows from `msg`, which borrows either the caller's
 * input (single record) or the scratch buffer given to reality_ch_peek (several records). */
struct reality_client_hello {
    struct bytes msg;    /* handshake message: type, 24-bit length, body */
    size_t record_bytes; /* input bytes through the end of the record holding the last CH byte */
    size_t trailing_hs;  /* handshake bytes after the ClientHello inside that record */
    uint16_t legacy_version;
    const uint8_t *random; /* 32 bytes */
    struct bytes session_id;
    size_t session_id_offset;   /* into msg: always REALITY_CH_SESSION_ID_OFFSET */
    struct bytes cipher_suites; /* raw u16 list */
    struct bytes compression;
    bool has_sni;
    struct bytes sni; /* host_name, when has_sni */
    bool has_alpn;
    struct bytes alpn_list; /* raw ProtocolNameList (without its 2-byte length) */
    struct bytes alpn_first;
    bool has_supported_versions;
    struct bytes supported_versions; /* raw u16 list */
    bool offers_tls13;               /* supported_versions lists 0x0304: Go would negotiate TLS 1.3 */
    bool has_supported_groups;
    struct bytes supported_groups; /* raw u16 list */
    bool has_key_share;
    struct bytes key_share_list; /* raw KeyShareEntry list */
    size_t n_key_shares;
    struct reality_key_share key_shares[REALITY_CH_MAX_SHARES_RECORDED]; /* first ones, in order */
    /* The X25519 public key REALITY uses (§4.3): the first 0x001d share of 32 bytes, else the
     * tail of the first 0x11ec share of 1216 bytes. NULL when there is none. */
    const uint8_t *x25519_share;
    uint16_t x25519_share_group;
    bool has_psk;
    bool has_ech;
    size_t n_extensions;
    uint16_t ext_types[REALITY_CH_MAX_EXT_RECORDED]; /* wire order, GREASE included */
};

/* True for the RFC 8701 GREASE code points 0x0a0a, 0x1a1a, ... 0xfafa. */
bool reality_is_grease(uint16_t v);

/* Looks at the client's bytes received so far (`in`, `len`, never consumed) and parses the
 * ClientHello once it is complete. `scratch` is used (and grown) only when the message spans
 * records; it must outlive `out`. Returns 0 (out filled), ERR_NEED_MORE (read more and call
 * again), ERR_MALFORMED (not TLS, bad record, not a ClientHello, parse error), ERR_TOO_LONG
 * (oversized record or message), ERR_NOMEM. Every error means: fallback relay. */
int reality_ch_peek(const uint8_t *in, size_t len, struct buf *scratch, struct reality_client_hello *out);

/* Parses one complete ClientHello handshake message (type byte included). */
int reality_ch_parse_msg(const uint8_t *msg, size_t len, struct reality_client_hello *out);

/* Iterates the ClientHello's raw key_share list: *pos starts at 0. Returns 0 with the next
 * entry, ERR_NOT_FOUND at the end. The list was validated by the parser. */
int reality_ch_next_key_share(const struct reality_client_hello *ch, size_t *pos, struct reality_key_share *ks);

#endif
