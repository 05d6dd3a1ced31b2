#include "vless/header.h"

#include <string.h>

#include "core/err.h"
#include "core/wire.h"

/* ---- addons protobuf ---- */

static int pb_varint(struct wire_rd *r, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < 10; i++) {
        uint8_t b;
        if (wire_rd_u8(r, &b) < 0)
            return ERR_MALFORMED; /* the addons block is complete: short means malformed */
        if (i == 9 && b > 1)
            return ERR_MALFORMED; /* more than 64 bits */
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return ERR_MALFORMED;
}

static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

int vless_addons_decode(struct vless_addons *a, const uint8_t *p, size_t len)
{
    memset(a, 0, sizeof(*a));
    struct wire_rd r = wire_rd_init(p, len);
    while (wire_rd_left(&r) > 0) {
        uint64_t tag, v;
        struct bytes val;
        TRY(pb_varint(&r, &tag));
        uint64_t field = tag >> 3;
        unsigned wt = (unsigned)(tag & 7);
        if (field == 0 || field > 0x1fffffff)
            return ERR_MALFORMED;
        if ((field == 1 || field == 2) && wt != 2)
            return ERR_MALFORMED;
        switch (wt) {
        case 0:
            TRY(pb_varint(&r, &v));
            break;
        case 1:
            if (wire_rd_skip(&r, 8) < 0)
                return ERR_MALFORMED;
            break;
        case 5:
            if (wire_rd_skip(&r, 4) < 0)
                return ERR_MALFORMED;
            break;
        case 2:
            TRY(pb_varint(&r, &v));
            if (v > wire_rd_left(&r))
                return ERR_MALFORMED;
            TRY(wire_rd_bytes(&r, (size_t)v, &val));
            if (field == 1) { /* proto3 string: last one wins, must be UTF-8 */
                if (!utf8_valid(val.p, val.len))
                    return ERR_MALFORMED;
                a->flow = vless_flow_from_str((const char *)val.p, val.len);
                if (a->flow == VLESS_FLOW_VISION_UDP443) /* never valid on the wire */
                    a->flow = VLESS_FLOW_UNKNOWN;
                a->flow_len = (uint8_t)val.len; /* the addons block is < 256 bytes */
                size_t c = val.len < sizeof(a->flow_str) - 1 ? val.len : sizeof(a->flow_str) - 1;
                memcpy(a->flow_str, val.p, c);
                a->flow_str[c] = '\0';
            } else if (field == 2) {
                a->has_seed = true;
            }
            break;
        default: /* groups (3, 4) and reserved types */
            return ERR_MALFORMED;
        }
    }
    return 0;
}

/* ---- request ---- */

static int verdict(struct vless_request *req, enum vless_action act, enum vless_hdr_reason why, int rc)
{
    req->action = act;
    req->reason = why;
    return rc;
}

static int refuse_auth(struct vless_request *req, enum vless_hdr_reason why, bool fallbacks)
{
    return verdict(req, fallbacks ? VLESS_ACT_FALLBACK : VLESS_ACT_CLOSE, why, ERR_AUTH);
}

int vless_request_parse(struct vless_request *req, const uint8_t *p, size_t len, size_t first_len,
                        const struct vless_users *users, bool fallbacks)
{
    memset(req, 0, sizeof(*req));
    if (fallbacks && first_len < VLESS_MIN_FIRST_CHUNK)
        return refuse_auth(req, VLESS_HR_SHORT_FIRST, fallbacks);
    struct wire_rd r = wire_rd_init(p, len);
    if (wire_rd_u8(&r, &req->version) < 0)
        return verdict(req, VLESS_ACT_NEED_MORE, VLESS_HR_OK, ERR_NEED_MORE);
    if (req->version != VLESS_VERSION)
        return refuse_auth(req, VLESS_HR_BAD_VERSION, fallbacks);
    if (wire_rd_copy(&r, req->id, VLESS_ID_LEN) < 0)
        return verdict(req, VLESS_ACT_NEED_MORE, VLESS_HR_OK, ERR_NEED_MORE);
    req->user = vless_users_lookup(users, req->id);
    if (req->user == NULL)
        return refuse_auth(req, VLESS_HR_UNKNOWN_USER, fallbacks);

    /* Authenticated: from here on errors close, never fall back. */
    struct wire_rd addons;
    uint8_t cmd;
    if (wire_rd_vec8(&r, &addons) < 0)
        return verdict(req, VLESS_ACT_NEED_MORE, VLESS_HR_OK, ERR_NEED_MORE);
    if (vless_addons_decode(&req->addons, addons.p, addons.len) < 0)
        return verdict(req, VLESS_ACT_CLOSE, VLESS_HR_BAD_ADDONS, ERR_MALFORMED);
    if (wire_rd_u8(&r, &cmd) < 0)
        return verdict(req, VLESS_ACT_NEED_MORE, VLESS_HR_OK, ERR_NEED_MORE);
    switch (cmd) {
    case VLESS_CMD_TCP:
    case VLESS_CMD_UDP: {
        int rc = vless_addr_read(&r, &req->dest);
        if (rc == ERR_NEED_MORE)
            return verdict(req, VLESS_ACT_NEED_MORE, VLESS_HR_OK, ERR_NEED_MORE);
        if (rc < 0)
            return verdict(req, VLESS_ACT_CLOSE, VLESS_HR_BAD_ADDRESS, ERR_MALFORMED);
        break;
    }
    case VLESS_CMD_MUX:
        break;
    case VLESS_CMD_RVS: /* reverse portal: out of scope */
    default:
        req->cmd = cmd < VLESS_CMD__COUNT ? (enum vless_cmd)cmd : VLESS_CMD_NONE;
        return verdict(req, VLESS_ACT_CLOSE, VLESS_HR_BAD_COMMAND, ERR_MALFORMED);
    }
    req->cmd = (enum vless_cmd)cmd;
    req->header_len = r.pos;
    return verdict(req, VLESS_ACT_ACCEPT, VLESS_HR_OK, 0);
}

static const uint8_t vision_addons[] = {0x0a, 0x10, 'x', 't', 'l', 's', '-', 'r', 'p',
                                        'r',  'x',  '-', 'v', 'i', 's', 'i', 'o', 'n'};

int vless_request_encode(struct buf *out, const uint8_t id[static VLESS_ID_LEN], enum vless_flow flow,
                         enum vless_cmd cmd, const struct vless_addr *dest)
{
    if (cmd != VLESS_CMD_TCP && cmd != VLESS_CMD_UDP && cmd != VLESS_CMD_MUX)
        return ERR_RANGE;
    if (cmd != VLESS_CMD_MUX && (dest == NULL || dest->type == VLESS_ATYP_NONE || dest->type >= VLESS_ATYP__COUNT ||
                                 (dest->type == VLESS_ATYP_DOMAIN && dest->domain_len == 0)))
        return ERR_RANGE;
    size_t mark = buf_len(out);
    bool vision = flow == VLESS_FLOW_VISION || flow == VLESS_FLOW_VISION_UDP443;
    int rc;
    if ((rc = wire_wr_u8(out, VLESS_VERSION)) < 0 || (rc = wire_wr_bytes(out, id, VLESS_ID_LEN)) < 0)
        goto fail;
    if (vision)
        rc = wire_wr_u8(out, sizeof(vision_addons)) < 0 ? ERR_NOMEM
                                                        : wire_wr_bytes(out, vision_addons, sizeof(vision_addons));
    else
        rc = wire_wr_u8(out, 0);
    if (rc < 0 || (rc = wire_wr_u8(out, (uint8_t)cmd)) < 0)
        goto fail;
    if (cmd != VLESS_CMD_MUX && (rc = vless_addr_write(out, dest)) < 0)
        goto fail;
    return 0;
fail:
    out->wpos = out->rpos + mark;
    return rc;
}

int vless_response_encode(struct buf *out, uint8_t version)
{
    uint8_t h[2] = {version, 0};
    return wire_wr_bytes(out, h, sizeof(h));
}

int vless_response_parse(const uint8_t *p, size_t len, uint8_t version, size_t *consumed, enum vless_flow *flow)
{
    struct wire_rd r = wire_rd_init(p, len);
    uint8_t v;
    struct wire_rd addons;
    TRY(wire_rd_u8(&r, &v));
    if (v != version)
        return ERR_MALFORMED;
    TRY(wire_rd_vec8(&r, &addons));
    struct vless_addons a;
    if (vless_addons_decode(&a, addons.p, addons.len) < 0)
        return ERR_MALFORMED;
    if (flow != NULL)
        *flow = a.flow;
    *consumed = r.pos;
    return 0;
}

const char *vless_action_str(enum vless_action a)
{
    switch (a) {
    case VLESS_ACT_ACCEPT:
        return "accept";
    case VLESS_ACT_NEED_MORE:
        return "need_more";
    case VLESS_ACT_FALLBACK:
        return "fallback";
    case VLESS_ACT_CLOSE:
        return "close";
    default:
        return "?";
    }
}

const char *vless_hdr_reason_str(enum vless_hdr_reason r)
{
    switch (r) {
    case VLESS_HR_OK:
        return "ok";
    case VLESS_HR_SHORT_FIRST:
        return "short first chunk";
    case VLESS_HR_BAD_VERSION:
        return "invalid request version";
    case VLESS_HR_UNKNOWN_USER:
        return "invalid request user id";
    case VLESS_HR_BAD_ADDONS:
        return "failed to decode request header addons";
    case VLESS_HR_BAD_COMMAND:
    case VLESS_HR_BAD_ADDRESS:
        return "invalid request address";
    default:
        return "?";
    }
}
