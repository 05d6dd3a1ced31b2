/* Learning the target's server flight (spec/reality.md §5) and the layout our flight must
 * copy (§7.1, §7.2). Sans-IO: feed the bytes read from the target as they arrive.
 *
 * Slots: 0 ServerHello, 1 ChangeCipherSpec, 2 EncryptedExtensions (or the combined record),
 * 3 Certificate, 4 CertificateVerify, 5 Finished, 6 the first post-Finished record (NST).
 * Lengths are whole records, 5-byte header included. */
#ifndef VEIL_REALITY_TARGET_H
#define VEIL_REALITY_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/bytes.h"

#define REALITY_TARGET_MAX_BUFFERED 8192 /* upstream `size`: unconsumed bytes and record limit */
#define REALITY_TARGET_COMBINED_MIN 512  /* first encrypted record longer than this: combined */

enum reality_slot {
    REALITY_SLOT_SERVER_HELLO = 0,
    REALITY_SLOT_CCS,
    REALITY_SLOT_ENCRYPTED_EXTENSIONS,
    REALITY_SLOT_CERTIFICATE,
    REALITY_SLOT_CERTIFICATE_VERIFY,
    REALITY_SLOT_FINISHED,
    REALITY_SLOT_NEW_SESSION_TICKET,
    REALITY_SLOT__COUNT, /* sentinel */
};

enum reality_target_state {
    REALITY_TARGET_ST_EXPECT_RECORDS = 0, /* feed more */
    REALITY_TARGET_ST_READY,              /* plan complete: build and send our flight */
    REALITY_TARGET_ST_FALLBACK,           /* ABORT before the ServerHello was accepted: relay */
    REALITY_TARGET_ST_CLOSE,              /* ABORT after it: close client and target */
    REALITY_TARGET_ST__COUNT,             /* sentinel */
};

/* What our flight must look like. */
struct reality_target_plan {
    size_t lens[REALITY_SLOT__COUNT]; /* 0 = not present */
    bool combined;                    /* lens[2] > 512: one record for EE..Finished */
    uint16_t cipher_suite;            /* 0x1301..0x1303 */
    uint16_t group;                   /* 0x001d or 0x11ec */
    size_t key_share_len;             /* 32 or 1120 */
    size_t sh_key_share_offset;       /* key_exchange offset inside the ServerHello *message* */
};

struct reality_target {
    enum reality_target_state state;
    const char *why; /* static reason of an abort, for logs */
    struct buf raw;  /* every byte received from the target, in order */
    size_t pos;      /* start of the unconsumed bytes (upstream s2c) in raw */
    size_t hl;       /* length of the record being examined, 0 = unknown */
    size_t sh_at;    /* offset of the ServerHello record in raw */
    struct reality_target_plan plan;
};

void reality_target_init(struct reality_target *t);
void reality_target_dispose(struct reality_target *t);

/* Feeds bytes read from the target. Input is handled in reads of at most 8192 bytes, as
 * upstream reads; *consumed says how much of `in` was taken (everything unless the state
 * left EXPECT_RECORDS midway). Returns 0 with t->state updated, ERR_BAD_STATE when the state
 * is no longer EXPECT_RECORDS, or ERR_NOMEM. */
int reality_target_feed(struct reality_target *t, const uint8_t *in, size_t len, size_t *consumed);

/* Everything received from the target so far (FALLBACK: send this to the client first). */
struct bytes reality_target_received(const struct reality_target *t);
/* READY: the target's ServerHello handshake message (no record header), e.g. for
 * tls13_server_set_hello_template(), and the whole record. */
struct bytes reality_target_server_hello_msg(const struct reality_target *t);
struct bytes reality_target_server_hello_record(const struct reality_target *t);
/* READY: bytes of the record whose header was seen (combined flight or NST) that have not
 * arrived yet; §7.3 reads them before watching the target. */
size_t reality_target_tail_pending(const struct reality_target *t);

/* §7.1: appends the target's ServerHello record with `share` (plan.key_share_len bytes: our
 * X25519 public key, or ML-KEM ciphertext || X25519 public key) in place of its key_exchange.
 * ERR_BAD_STATE unless READY, ERR_RANGE on a wrong share length, ERR_NOMEM. */
int reality_target_build_server_hello(const struct reality_target *t, const uint8_t *share, size_t len,
                                      struct buf *out);

/* §7.2: zero padding for a record of slot `slot` carrying `payload` bytes of plaintext (inner
 * type byte and 16-byte tag come on top): pad = lens[slot] - (5 + payload + 1 + 16).
 * ERR_RANGE when it does not fit (the handshake fails), ERR_NOT_FOUND for an absent slot. */
int reality_plan_pad(const struct reality_target_plan *p, enum reality_slot slot, size_t payload, size_t *pad);
/* The encrypted-flight layout in tls13_server_set_record_layout() form: n = 1 (combined,
 * lens[0] = total length) or n = 4 (EE, Certificate, CertificateVerify, Finished). */
void reality_plan_flight_layout(const struct reality_target_plan *p, size_t lens[4], size_t *n);

const char *reality_target_state_str(enum reality_target_state s);

#endif
