/* BitTorrent recognition (node/bt_detect.h). Written from BEP 3, 5, 15, 23 and 29. */
#include "node/bt_detect.h"

#include <stdbool.h>
#include <string.h>

#define BT_PROTO "BitTorrent protocol"
#define BT_BENCODE_DEPTH 16   /* KRPC nests two levels; deeper is not DHT */
#define BT_HTTP_LINE_MAX 4096 /* the request line is looked at up to here */
#define UTP_HEADER_LEN 20

static bool handshake(const uint8_t *p, size_t n)
{
    return n >= 20 && p[0] == 19 && memcmp(p + 1, BT_PROTO, 19) == 0;
}

/* Is `key=` a query parameter of the target (after '?' or '&')? */
static bool has_param(const uint8_t *q, size_t n, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl + 1 <= n; i++) {
        if ((q[i] == '?' || q[i] == '&') && i + 1 + kl < n && memcmp(q + i + 1, key, kl) == 0 && q[i + 1 + kl] == '=')
            return true;
    }
    return false;
}

/* "GET <target> HTTP/1.x" whose query carries info_hash and, for an announce, peer_id (BEP 3)
 * or, for a scrape, a path ending in "scrape" (BEP 48). The target is bounded by the first space. */
static bool http_tracker(const uint8_t *p, size_t n)
{
    if (n < 5 || memcmp(p, "GET /", 5) != 0)
        return false;
    size_t lim = n < BT_HTTP_LINE_MAX ? n : BT_HTTP_LINE_MAX;
    size_t end = 4;
    while (end < lim && p[end] != ' ' && p[end] != '\r' && p[end] != '\n')
        end++;
    if (end >= lim || p[end] != ' ')
        return false; /* the request line is not complete: not judged */
    const uint8_t *t = p + 4;
    size_t tl = end - 4;
    const uint8_t *qm = memchr(t, '?', tl);
    if (qm == NULL || !has_param(t, tl, "info_hash"))
        return false;
    size_t path_len = (size_t)(qm - t);
    bool scrape = path_len >= 6 && memcmp(qm - 6, "scrape", 6) == 0;
    return scrape || has_param(t, tl, "peer_id");
}

/* Bencode (BEP 3): skips one value at p[*off], false when malformed or too deep. */
static bool benc_skip(const uint8_t *p, size_t n, size_t *off, unsigned depth);

/* A byte string "<len>:<bytes>"; its bytes in *s, *sl. */
static bool benc_str(const uint8_t *p, size_t n, size_t *off, const uint8_t **s, size_t *sl)
{
    size_t i = *off, len = 0;
    if (i >= n || p[i] < '0' || p[i] > '9' || (p[i] == '0' && i + 1 < n && p[i + 1] != ':'))
        return false;
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        len = len * 10 + (size_t)(p[i] - '0');
        if (len > n)
            return false;
        i++;
    }
    if (i >= n || p[i] != ':' || len > n - i - 1)
        return false;
    *s = p + i + 1;
    *sl = len;
    *off = i + 1 + len;
    return true;
}

static bool benc_int(const uint8_t *p, size_t n, size_t *off)
{
    size_t i = *off + 1; /* past 'i' */
    if (i < n && p[i] == '-')
        i++;
    size_t digits = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9' && digits <= 20) {
        i++;
        digits++;
    }
    if (digits == 0 || digits > 20 || i >= n || p[i] != 'e')
        return false;
    *off = i + 1;
    return true;
}

static bool benc_skip(const uint8_t *p, size_t n, size_t *off, unsigned depth)
{
    if (*off >= n || depth > BT_BENCODE_DEPTH)
        return false;
    uint8_t c = p[*off];
    if (c == 'i')
        return benc_int(p, n, off);
    if (c == 'l' || c == 'd') {
        (*off)++;
        while (*off < n && p[*off] != 'e') {
            if (c == 'd') {
                const uint8_t *k;
                size_t kl;
                if (!benc_str(p, n, off, &k, &kl))
                    return false;
            }
            if (!benc_skip(p, n, off, depth + 1))
                return false;
        }
        if (*off >= n)
            return false;
        (*off)++;
        return true;
    }
    const uint8_t *s;
    size_t sl;
    return benc_str(p, n, off, &s, &sl);
}

/* KRPC (BEP 5): the datagram is exactly one dict with a string "t" and "y" one of q, r, e; a
 * query also names its method "q". */
static bool dht(const uint8_t *p, size_t n)
{
    if (n < 12 || p[0] != 'd')
        return false;
    size_t off = 1;
    bool has_t = false, has_q = false;
    uint8_t y = 0;
    while (off < n && p[off] != 'e') {
        const uint8_t *k, *v;
        size_t kl, vl;
        if (!benc_str(p, n, &off, &k, &kl))
            return false;
        size_t voff = off;
        if (!benc_skip(p, n, &off, 1))
            return false;
        bool str = p[voff] >= '0' && p[voff] <= '9';
        if (kl == 1 && k[0] == 't' && str)
            has_t = true;
        else if (kl == 1 && k[0] == 'q' && str)
            has_q = true;
        else if (kl == 1 && k[0] == 'y' && str) {
            size_t o = voff;
            if (benc_str(p, n, &o, &v, &vl) && vl == 1)
                y = v[0];
        }
    }
    if (off + 1 != n) /* the dict must end the datagram */
        return false;
    if (!has_t)
        return false;
    return (y == 'q' && has_q) || y == 'r' || y == 'e';
}

/* uTP (BEP 29): a header of version 1 whose type is ST_STATE (2) or ST_SYN (4), the packets
 * that open a connection and carry no payload, with a valid extension chain ending exactly at
 * the datagram's end. Data packets carry arbitrary payload after a weak header, so they are
 * not judged (a connection always starts with a SYN). */
static bool utp(const uint8_t *p, size_t n)
{
    if (n < UTP_HEADER_LEN || (p[0] & 0x0f) != 1)
        return false;
    unsigned type = p[0] >> 4;
    if (type != 2 && type != 4)
        return false;
    uint8_t ext = p[1];
    size_t off = UTP_HEADER_LEN;
    unsigned hops = 0;
    while (ext != 0) {
        if (ext > 3 || ++hops > 4 || n - off < 2)
            return false; /* BEP 29 knows 1 (selective ack); libutp uses 2, 3 */
        uint8_t next = p[off], len = p[off + 1];
        if (len == 0 || n - off - 2 < len)
            return false;
        if (ext == 1 && (len < 4 || len % 4 != 0))
            return false;
        off += 2u + len;
        ext = next;
    }
    if (off != n)
        return false;
    /* A SYN's window must be non-zero; its timestamp_difference is 0 (no reply yet). */
    uint32_t wnd = (uint32_t)p[12] << 24 | (uint32_t)p[13] << 16 | (uint32_t)p[14] << 8 | p[15];
    uint32_t diff = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
    if (type == 4)
        return wnd != 0 && diff == 0;
    return wnd != 0;
}

/* BEP 15 connect request: 64-bit protocol id 0x41727101980, action 0, a transaction id. */
static bool udp_tracker(const uint8_t *p, size_t n)
{
    static const uint8_t connect[12] = {0x00, 0x00, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0};
    return n == 16 && memcmp(p, connect, sizeof(connect)) == 0;
}

enum node_bt_kind node_bt_detect_tcp(const uint8_t *p, size_t n)
{
    if (p == NULL)
        return NODE_BT_NONE;
    if (handshake(p, n))
        return NODE_BT_HANDSHAKE;
    if (http_tracker(p, n))
        return NODE_BT_HTTP_TRACKER;
    return NODE_BT_NONE;
}

enum node_bt_kind node_bt_detect_udp(const uint8_t *p, size_t n)
{
    if (p == NULL || n == 0)
        return NODE_BT_NONE;
    if (udp_tracker(p, n))
        return NODE_BT_UDP_TRACKER;
    if (dht(p, n))
        return NODE_BT_DHT;
    if (utp(p, n))
        return NODE_BT_UTP;
    return NODE_BT_NONE;
}

const char *node_bt_kind_str(enum node_bt_kind k)
{
    static const char *const names[NODE_BT__COUNT] = {"none", "handshake", "http_tracker", "dht", "utp", "udp_tracker"};
    return (unsigned)k < NODE_BT__COUNT ? names[k] : "?";
}
