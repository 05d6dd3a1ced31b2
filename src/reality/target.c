/* Target flight classification (spec/reality.md §5) and ServerHello key-share swap (§7.1). */
#include <string.h>

#include "core/err.h"
#include "core/wire.h"
#include "reality/client_hello.h"
#include "reality/target.h"

enum {
    CT_CCS = 20,
    CT_HANDSHAKE = 22,
    CT_APPLICATION_DATA = 23,
    HS_SERVER_HELLO = 2,
    EXT_SUPPORTED_VERSIONS = 43,
    EXT_KEY_SHARE = 51,
    EXT_PRE_SHARED_KEY = 41,
    EXT_ALPN = 16,
    EXT_EC_POINT_FORMATS = 11,
    EXT_RENEGOTIATION_INFO = 0xff01,
};

void reality_target_init(struct reality_target *t)
{
    memset(t, 0, sizeof(*t));
    buf_init(&t->raw);
}

void reality_target_dispose(struct reality_target *t)
{
    buf_dispose(&t->raw);
    memset(t, 0, sizeof(*t));
}

const char *reality_target_state_str(enum reality_target_state s)
{
    switch (s) {
    case REALITY_TARGET_ST_EXPECT_RECORDS:
        return "expect_records";
    case REALITY_TARGET_ST_READY:
        return "ready";
    case REALITY_TARGET_ST_FALLBACK:
        return "fallback";
    case REALITY_TARGET_ST_CLOSE:
        return "close";
    default:
        return "unknown";
    }
}

/* Go serverHelloMsg.unmarshal, plus upstream's acceptance test: legacy_version 0x0303,
 * supported_versions 0x0304, a TLS 1.3 suite, key_share (x25519, 32) or (hybrid, 1120).
 * Stricter than Go: the 24-bit length must match the record payload. */
static int parse_server_hello(const uint8_t *msg, size_t len, struct reality_target_plan *plan)
{
    struct wire_rd r = wire_rd_init(msg, len), sid, exts;
    uint8_t type, comp;
    uint32_t body_len;
    uint16_t vers, suite;
    if (wire_rd_u8(&r, &type) < 0 || wire_rd_u24(&r, &body_len) < 0 || type != HS_SERVER_HELLO ||
        body_len != wire_rd_left(&r))
        return ERR_MALFORMED;
    if (wire_rd_u16(&r, &vers) < 0 || wire_rd_skip(&r, 32) < 0 || wire_rd_vec8(&r, &sid) < 0 ||
        wire_rd_u16(&r, &suite) < 0 || wire_rd_u8(&r, &comp) < 0)
        return ERR_MALFORMED;
    if (wire_rd_left(&r) == 0 || wire_rd_vec16(&r, &exts) < 0 || wire_rd_done(&r) < 0)
        return ERR_MALFORMED; /* no extensions: not TLS 1.3 */
    uint16_t version = 0, group = 0;
    size_t share_len = 0, share_off = 0;
    unsigned seen = 0; /* duplicate check for the extensions we interpret */
    while (wire_rd_left(&exts) > 0) {
        uint16_t et;
        struct wire_rd e, v;
        if (wire_rd_u16(&exts, &et) < 0 || wire_rd_vec16(&exts, &e) < 0)
            return ERR_MALFORMED;
        int bit = et == EXT_SUPPORTED_VERSIONS ? 0
                  : et == EXT_KEY_SHARE        ? 1
                  : et == EXT_PRE_SHARED_KEY   ? 2
                  : et == EXT_ALPN             ? 3
                                               : -1;
        if (bit >= 0) {
            if (seen & (1u << bit))
                return ERR_MALFORMED;
            seen |= 1u << bit;
        }
        int rc = 0;
        uint16_t u16;
        switch (et) {
        case EXT_SUPPORTED_VERSIONS:
            rc = wire_rd_u16(&e, &version);
            break;
        case EXT_KEY_SHARE:
            if (wire_rd_left(&e) == 2) { /* HelloRetryRequest: selected_group only */
                rc = wire_rd_u16(&e, &group);
                share_len = 0;
                break;
            }
            rc = wire_rd_u16(&e, &group);
            if (rc == 0)
                rc = wire_rd_vec16(&e, &v);
            if (rc == 0) {
                share_len = wire_rd_left(&v);
                share_off = (size_t)(wire_rd_ptr(&v) - msg);
            }
            break;
        case EXT_PRE_SHARED_KEY:
            rc = wire_rd_u16(&e, &u16);
            break;
        case EXT_ALPN:
            rc = wire_rd_vec16(&e, &v);
            if (rc == 0) {
                struct wire_rd proto;
                rc = wire_rd_vec8(&v, &proto);
                if (rc == 0 && (wire_rd_left(&proto) == 0 || wire_rd_left(&v) != 0))
                    rc = ERR_MALFORMED;
            }
            break;
        case EXT_EC_POINT_FORMATS:
            rc = wire_rd_vec8(&e, &v);
            if (rc == 0 && wire_rd_left(&v) == 0)
                rc = ERR_MALFORMED;
            break;
        case EXT_RENEGOTIATION_INFO:
            rc = wire_rd_vec8(&e, &v);
            break;
        default:
            wire_rd_skip(&e, wire_rd_left(&e));
        }
        if (rc < 0 || wire_rd_done(&e) < 0)
            return ERR_MALFORMED;
    }
    if (vers != 0x0303 || version != 0x0304 || suite < 0x1301 || suite > 0x1303)
        return ERR_UNSUPPORTED;
    if (!(group == REALITY_TLS_GROUP_X25519 && share_len == 32) &&
        !(group == REALITY_TLS_GROUP_X25519MLKEM768 && share_len == REALITY_X25519MLKEM768_SERVER_SHARE_LEN))
        return ERR_UNSUPPORTED;
    plan->cipher_suite = suite;
    plan->group = group;
    plan->key_share_len = share_len;
    plan->sh_key_share_offset = share_off;
    return 0;
}

static void abort_with(struct reality_target *t, const char *why)
{
    t->why = why;
    t->state = t->plan.lens[REALITY_SLOT_SERVER_HELLO] != 0 ? REALITY_TARGET_ST_CLOSE : REALITY_TARGET_ST_FALLBACK;
}

/* The inner loop of §5 over the unconsumed bytes; leaves the state EXPECT_RECORDS when it
 * needs another read. */
static void examine(struct reality_target *t)
{
    if (buf_len(&t->raw) - t->pos > REALITY_TARGET_MAX_BUFFERED) {
        abort_with(t, "too many buffered target bytes");
        return;
    }
    for (int i = 0; i < REALITY_SLOT__COUNT; i++) {
        if (t->plan.lens[i] != 0)
            continue;
        const uint8_t *s = buf_data(&t->raw) + t->pos;
        size_t n = buf_len(&t->raw) - t->pos;
        if (i == REALITY_SLOT_NEW_SESSION_TICKET && n == 0)
            break; /* nothing after Finished yet: no NST slot */
        if (t->hl == 0 && n >= 6) {
            bool ok = s[1] == 3 && s[2] == 3;
            if (i == REALITY_SLOT_SERVER_HELLO)
                ok = ok && s[0] == CT_HANDSHAKE && s[5] == HS_SERVER_HELLO;
            else if (i == REALITY_SLOT_CCS)
                ok = ok && s[0] == CT_CCS && s[5] == 1;
            else
                ok = ok && s[0] == CT_APPLICATION_DATA;
            if (!ok) {
                abort_with(t, "unexpected target record");
                return;
            }
            t->hl = 5 + (size_t)wire_be16(s + 3);
        }
        if (t->hl > REALITY_TARGET_MAX_BUFFERED) {
            abort_with(t, "target record too long");
            return;
        }
        if (i == REALITY_SLOT_CCS && t->hl > 0 && t->hl != 6) {
            abort_with(t, "bad target ChangeCipherSpec");
            return;
        }
        if (i == REALITY_SLOT_ENCRYPTED_EXTENSIONS && t->hl > REALITY_TARGET_COMBINED_MIN) {
            t->plan.lens[i] = t->hl;
            t->plan.combined = true;
            break;
        }
        if (i == REALITY_SLOT_NEW_SESSION_TICKET && t->hl > 0) {
            t->plan.lens[i] = t->hl;
            break;
        }
        if (t->hl == 0 || n < t->hl)
            return; /* read more */
        if (i == REALITY_SLOT_SERVER_HELLO) {
            if (parse_server_hello(s + 5, t->hl - 5, &t->plan) < 0) {
                abort_with(t, "target sent an unusable ServerHello");
                return;
            }
            t->sh_at = t->pos;
        }
        t->plan.lens[i] = t->hl;
        t->pos += t->hl;
        t->hl = 0;
    }
    t->state = REALITY_TARGET_ST_READY;
}

int reality_target_feed(struct reality_target *t, const uint8_t *in, size_t len, size_t *consumed)
{
    *consumed = 0;
    if (t->state != REALITY_TARGET_ST_EXPECT_RECORDS)
        return ERR_BAD_STATE;
    while (*consumed < len && t->state == REALITY_TARGET_ST_EXPECT_RECORDS) {
        size_t chunk = len - *consumed;
        if (chunk > REALITY_TARGET_MAX_BUFFERED)
            chunk = REALITY_TARGET_MAX_BUFFERED;
        TRY(buf_append(&t->raw, in + *consumed, chunk));
        *consumed += chunk;
        examine(t);
    }
    return 0;
}

struct bytes reality_target_received(const struct reality_target *t)
{
    if (buf_len(&t->raw) == 0)
        return bytes_of(NULL, 0); /* no buffer yet: buf_data() would offset NULL */
    return bytes_of(buf_data(&t->raw), buf_len(&t->raw));
}

struct bytes reality_target_server_hello_record(const struct reality_target *t)
{
    if (t->state != REALITY_TARGET_ST_READY)
        return bytes_of(NULL, 0);
    return bytes_of(buf_data(&t->raw) + t->sh_at, t->plan.lens[REALITY_SLOT_SERVER_HELLO]);
}

struct bytes reality_target_server_hello_msg(const struct reality_target *t)
{
    struct bytes rec = reality_target_server_hello_record(t);
    if (rec.len < 5)
        return bytes_of(NULL, 0);
    return bytes_of(rec.p + 5, rec.len - 5);
}

size_t reality_target_tail_pending(const struct reality_target *t)
{
    if (t->state != REALITY_TARGET_ST_READY)
        return 0;
    size_t have = buf_len(&t->raw) - t->pos, want = 0;
    if (t->plan.lens[REALITY_SLOT_NEW_SESSION_TICKET] != 0)
        want = t->plan.lens[REALITY_SLOT_NEW_SESSION_TICKET];
    else if (t->plan.combined)
        want = t->plan.lens[REALITY_SLOT_ENCRYPTED_EXTENSIONS];
    return want > have ? want - have : 0;
}

int reality_target_build_server_hello(const struct reality_target *t, const uint8_t *share, size_t len, struct buf *out)
{
    if (t->state != REALITY_TARGET_ST_READY)
        return ERR_BAD_STATE;
    if (len != t->plan.key_share_len)
        return ERR_RANGE;
    struct bytes rec = reality_target_server_hello_record(t);
    size_t start = buf_len(out);
    TRY(buf_append(out, rec.p, rec.len));
    memcpy(buf_data(out) + start + 5 + t->plan.sh_key_share_offset, share, len);
    return 0;
}

int reality_plan_pad(const struct reality_target_plan *p, enum reality_slot slot, size_t payload, size_t *pad)
{
    if ((unsigned)slot >= REALITY_SLOT__COUNT || p->lens[slot] == 0)
        return ERR_NOT_FOUND;
    size_t need = 5 + payload + 1 + 16;
    if (need > p->lens[slot])
        return ERR_RANGE;
    *pad = p->lens[slot] - need;
    return 0;
}

void reality_plan_flight_layout(const struct reality_target_plan *p, size_t lens[4], size_t *n)
{
    if (p->combined) {
        lens[0] = p->lens[REALITY_SLOT_ENCRYPTED_EXTENSIONS];
        lens[1] = lens[2] = lens[3] = 0;
        *n = 1;
        return;
    }
    for (int i = 0; i < 4; i++)
        lens[i] = p->lens[REALITY_SLOT_ENCRYPTED_EXTENSIONS + i];
    *n = 4;
}
