#include "tunnel/xprt.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "crypto/crypto.h"
#include "vless/header.h"

#define XPRT_READ_CHUNK 16384
/* Largest plaintext we put in one record: Vision frames are at most 8192 + 21 bytes, and the
 * first one also carries the prefix (a VLESS header is at most 533 bytes). */
#define XPRT_RECORD_MAX 16384
/* A TLS 1.3 record's bytes beyond its plaintext: header, content type, AEAD tag. */
#define XPRT_RECORD_OVERHEAD (5 + 1 + 16)

static int vision_rand(void *arg, void *out, size_t n)
{
    (void)arg;
    return crypto_random(out, n);
}

/* Tells the owner once per direction that it went raw. */
static void raw_switched(struct tunnel_xprt *x)
{
    bool rx = x->rx_direct && !x->rx_raw_told, tx = x->tx_direct && !x->tx_raw_told;
    if (!rx && !tx)
        return;
    x->rx_raw_told |= rx;
    x->tx_raw_told |= tx;
    if (x->on_raw != NULL)
        x->on_raw(x->on_raw_arg);
}

bool tunnel_xprt_idle(const struct tunnel_xprt *x)
{
    return buf_len(&x->cin) == 0 && buf_len(&x->plain) == 0 && buf_len(&x->cout) == 0 && buf_len(&x->prefix) == 0 &&
           !x->expect_response;
}

bool tunnel_xprt_rx_spliceable(const struct tunnel_xprt *x)
{
    return x->rx_direct && !x->rx_eof && !x->expect_response && buf_len(&x->cin) == 0 && buf_len(&x->plain) == 0;
}

bool tunnel_xprt_tx_spliceable(const struct tunnel_xprt *x)
{
    return x->tx_direct && !x->write_closed && buf_len(&x->cout) == 0 && buf_len(&x->prefix) == 0;
}

/* Hands decrypted outer-TLS plaintext on: response header (client), Vision unframing, plain. */
static int deliver(struct tunnel_xprt *x, const uint8_t *p, size_t n)
{
    if (x->expect_response) {
        TRY(buf_append(&x->resp, p, n));
        size_t used = 0;
        int rc = vless_response_parse(buf_data(&x->resp), buf_len(&x->resp), VLESS_VERSION, &used, NULL);
        if (rc == ERR_NEED_MORE)
            return 0;
        if (rc < 0)
            return rc;
        x->expect_response = false;
        struct buf rest = x->resp; /* deliver what followed the header, then drop the copy */
        buf_init(&x->resp);
        rc = deliver(x, buf_data(&rest) + used, buf_len(&rest) - used);
        buf_dispose(&rest);
        return rc;
    }
    if (n == 0)
        return 0;
    if (!x->vision || x->rx_direct)
        return buf_append(&x->plain, p, n);
    struct vless_vision_rres res = {0};
    TRY(vless_vision_read(&x->vrd, p, n, &x->plain, &res));
    if (res.events & VLESS_VISION_EV_DIRECT)
        x->rx_direct = true; /* bytes left in cin are the peer's raw inner stream (§7.2) */
    raw_switched(x);
    return 0;
}

void tunnel_xprt_expect_response(struct tunnel_xprt *x)
{
    x->expect_response = true;
}

int tunnel_xprt_init(struct tunnel_xprt *x, struct tls13_conn *tls, bool vision, const uint8_t uuid[static 16],
                     const uint8_t *cin_left, size_t cin_len, const uint8_t *plain_left, size_t plain_len)
{
    memset(x, 0, sizeof(*x));
    x->tls = tls;
    x->vision = vision;
    buf_init(&x->cin);
    buf_init(&x->plain);
    buf_init(&x->rec);
    buf_init(&x->cout);
    buf_init(&x->prefix);
    if (vision) {
        vless_vision_shared_init(&x->vsh);
        vless_vision_reader_init(&x->vrd, &x->vsh, uuid);
        vless_vision_writer_init(&x->vwr, &x->vsh, uuid, vision_rand, NULL);
    }
    buf_init(&x->resp);
    TRY(buf_append(&x->cin, cin_left, cin_len));
    return deliver(x, plain_left, plain_len);
}

int tunnel_xprt_set_prefix(struct tunnel_xprt *x, const uint8_t *p, size_t n)
{
    buf_reset(&x->prefix);
    return buf_append(&x->prefix, p, n);
}

void tunnel_xprt_dispose(struct tunnel_xprt *x)
{
    buf_dispose(&x->cin);
    buf_dispose(&x->plain);
    buf_dispose_secret(&x->rec);
    buf_dispose(&x->cout);
    buf_dispose(&x->prefix);
    buf_dispose(&x->resp);
}

/* Writes cout to the socket: 0 when empty, -EAGAIN while some remain, or -errno. */
static int drain(struct tunnel_xprt *x, int fd)
{
    while (buf_len(&x->cout) > 0) {
        ssize_t k = send(fd, buf_data(&x->cout), buf_len(&x->cout), MSG_NOSIGNAL);
        if (k == -1) {
            if (errno == EINTR)
                continue;
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
        buf_consume(&x->cout, (size_t)k);
    }
    buf_dispose(&x->cout); /* idle tunnels hold no buffers */
    if (x->tx_direct_pending) {
        /* The Direct frame is on the wire: raw bytes may follow (spec/vision.md §7.1). */
        x->tx_direct_pending = false;
        x->tx_direct = true;
        raw_switched(x);
    }
    return 0;
}

/* Processes one record of cin (or, after the switch, the raw bytes). 0 when something was
 * consumed, ERR_NEED_MORE when a whole record is missing, ERR_CLOSED at close_notify, or a
 * fatal error. One record at a time, because under Vision the record that ends the Direct
 * frame is the last outer record of this direction (spec/vision.md §7.2). */
static int process(struct tunnel_xprt *x)
{
    if (x->rx_direct) {
        if (buf_len(&x->cin) == 0)
            return ERR_NEED_MORE;
        int rc = deliver(x, buf_data(&x->cin), buf_len(&x->cin));
        buf_reset(&x->cin);
        return rc;
    }
    size_t used = 0;
    buf_reset(&x->rec);
    int rc = tls13_recv_record(x->tls, buf_data(&x->cin), buf_len(&x->cin), &used, &x->rec, &x->cout, NULL);
    buf_consume(&x->cin, used);
    if (rc < 0)
        return rc;
    return deliver(x, buf_data(&x->rec), buf_len(&x->rec));
}

/* Going idle: give back memory that holds nothing (a quiet tunnel should cost a few hundred
 * bytes, not 16 KiB buffers). */
static ssize_t idle(struct tunnel_xprt *x, ssize_t rc)
{
    if (buf_len(&x->cin) == 0)
        buf_dispose(&x->cin);
    if (buf_len(&x->plain) == 0)
        buf_dispose(&x->plain);
    buf_dispose_secret(&x->rec);
    return rc;
}

static ssize_t xprt_recv(void *arg, int fd, uint8_t *p, size_t n)
{
    struct tunnel_xprt *x = arg;
    for (;;) {
        if (buf_len(&x->plain) > 0) {
            size_t k = buf_len(&x->plain) < n ? buf_len(&x->plain) : n;
            memcpy(p, buf_data(&x->plain), k);
            buf_consume(&x->plain, k);
            x->rx_app += k;
            return (ssize_t)k;
        }
        if (x->rx_eof)
            return 0;
        if (x->rx_direct && buf_len(&x->cin) == 0) {
            ssize_t k = recv(fd, p, n, 0); /* raw: straight into the relay's buffer */
            if (k == -1)
                return errno == EWOULDBLOCK ? idle(x, -EAGAIN) : -errno;
            if (k == 0)
                x->rx_eof = true;
            x->rx_app += (size_t)k;
            return k;
        }
        int rc = process(x);
        if (rc == 0)
            continue;
        if (rc == ERR_CLOSED) {
            x->rx_eof = true;
            continue;
        }
        if (rc != ERR_NEED_MORE)
            return rc;
        if (buf_reserve(&x->cin, XPRT_READ_CHUNK) < 0)
            return ERR_NOMEM;
        ssize_t k = recv(fd, buf_tail(&x->cin), buf_space(&x->cin), 0);
        if (k == -1) {
            if (errno == EINTR)
                continue;
            return errno == EWOULDBLOCK ? idle(x, -EAGAIN) : -errno;
        }
        if (k == 0) {
            if (buf_len(&x->cin) > 0 && !x->rx_direct)
                return -ECONNRESET; /* truncated record: the peer did not close cleanly */
            x->rx_eof = true;
            continue;
        }
        buf_produce(&x->cin, (size_t)k);
    }
}

/* Seals `data` (the prefix first, if any) into records appended to cout. */
static int seal_plain(struct tunnel_xprt *x, const uint8_t *data, size_t n)
{
    if (buf_len(&x->prefix) > 0) {
        TRY(buf_append(&x->prefix, data, n));
        int rc = tls13_send(x->tls, buf_data(&x->prefix), buf_len(&x->prefix), &x->cout);
        buf_reset(&x->prefix);
        return rc;
    }
    return tls13_send(x->tls, data, n, &x->cout);
}

/* Vision: frames the batch and puts each frame in its own record, the prefix in front of the
 * first (spec/vision.md §9 sender rules 1 and 2). */
static int seal_vision(struct tunnel_xprt *x, const uint8_t *data, size_t n, bool empty_frame)
{
    if (!empty_frame && x->vwr.mode == VLESS_VISION_MODE_PLAIN && buf_len(&x->prefix) == 0)
        return tls13_send(x->tls, data, n, &x->cout); /* after End the writer adds nothing: skip its copy */
    struct buf framed;
    buf_init(&framed);
    struct vless_vision_wres res = {0};
    size_t pre = buf_len(&x->prefix);
    int rc = buf_append(&framed, buf_data(&x->prefix), pre);
    if (rc == 0)
        rc = empty_frame ? vless_vision_write_empty(&x->vwr, &framed, &res)
                         : vless_vision_write(&x->vwr, data, n, &framed, &res);
    if (rc == 0) {
        buf_reset(&x->prefix);
        if (res.nframes == 0 && buf_len(&framed) > 0) { /* plain mode: whole batch */
            rc = tls13_send(x->tls, buf_data(&framed), buf_len(&framed), &x->cout);
        } else {
            size_t start = 0;
            for (size_t i = 0; i < res.nframes && rc == 0; i++) {
                size_t end = res.frame_end[i];
                while (rc == 0 && end - start > XPRT_RECORD_MAX) { /* never happens with 8 KiB frames */
                    rc = tls13_send(x->tls, buf_data(&framed) + start, XPRT_RECORD_MAX, &x->cout);
                    start += XPRT_RECORD_MAX;
                }
                if (rc == 0)
                    rc = tls13_send(x->tls, buf_data(&framed) + start, end - start, &x->cout);
                start = end;
            }
            if (rc == 0 && start < buf_len(&framed))
                rc = tls13_send(x->tls, buf_data(&framed) + start, buf_len(&framed) - start, &x->cout);
        }
        if (rc == 0 && (res.events & VLESS_VISION_EV_DIRECT))
            x->tx_direct_pending = true;
    }
    buf_dispose(&framed);
    return rc;
}

int tunnel_xprt_send_prefix_now(struct tunnel_xprt *x)
{
    if (x->vision)
        return seal_vision(x, NULL, 0, true);
    int rc = tls13_send(x->tls, buf_data(&x->prefix), buf_len(&x->prefix), &x->cout);
    buf_reset(&x->prefix);
    return rc;
}

/* Length of the longest prefix of p made of whole `17 03 03 LL LL` records (0 if none). */
static size_t whole_appdata_records(const uint8_t *p, size_t n)
{
    size_t at = 0;
    while (n - at >= 5 && p[at] == 0x17 && p[at + 1] == 0x03 && p[at + 2] == 0x03) {
        size_t len = (size_t)p[at + 3] << 8 | p[at + 4];
        if (len == 0 || n - at - 5 < len)
            break;
        at += 5 + len;
    }
    return at;
}

/* A batch cut inside a record makes the next one start mid-record, so under a bulk transfer
 * (reads always full) the stream could stay padded for good (2.6 CPU s/GiB instead of ~0.3 in
 * direct copy). A Go sender whose read returned just those records makes the same batch. */
size_t tunnel_xprt_vision_batch(const struct tunnel_xprt *x, const uint8_t *p, size_t n)
{
    if (!x->vision || x->vwr.mode != VLESS_VISION_MODE_PADDING || !x->vsh.is_tls || !x->vwr.check_complete)
        return n;
    size_t k = whole_appdata_records(p, n);
    return k > 0 ? k : n;
}

static ssize_t xprt_send(void *arg, int fd, const uint8_t *p, size_t n)
{
    struct tunnel_xprt *x = arg;
    int rc = drain(x, fd);
    if (rc < 0)
        return rc;
    if (x->tx_direct) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k == -1)
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        x->tx_app += (size_t)k;
        return k;
    }
    bool padding = x->vision && x->vwr.mode == VLESS_VISION_MODE_PADDING;
    if (padding) {
        if (n > VLESS_VISION_MAX_BATCH)
            n = VLESS_VISION_MAX_BATCH; /* the Vision writer's batch limit */
        n = tunnel_xprt_vision_batch(x, p, n);
    } else {
        /* The whole relay block in one go: its records (the same as block by block) leave in
         * one send, and cout is sized once instead of doubling record by record. */
        size_t records = n / XPRT_RECORD_MAX + 2;
        if (buf_reserve(&x->cout, buf_len(&x->prefix) + n + records * XPRT_RECORD_OVERHEAD) < 0)
            return ERR_NOMEM;
    }
    rc = x->vision ? seal_vision(x, p, n, false) : seal_plain(x, p, n);
    if (rc < 0)
        return rc;
    x->tx_app += n;
    rc = drain(x, fd);
    if (rc < 0 && rc != -EAGAIN)
        return rc;
    return (ssize_t)n; /* taken: the rest of cout goes out through flush() */
}

static int xprt_flush(void *arg, int fd)
{
    return drain(arg, fd);
}

static int xprt_shutdown_wr(void *arg, int fd)
{
    struct tunnel_xprt *x = arg;
    if (!x->write_closed && !x->tx_direct && !x->tx_direct_pending) {
        /* close_notify only while this direction still speaks the outer TLS (§7.1 rule 3) */
        (void)tls13_close(x->tls, &x->cout);
    }
    x->write_closed = true;
    (void)drain(x, fd); /* best effort; a full socket loses the close_notify, not data */
    return shutdown(fd, SHUT_WR) == -1 ? -errno : 0;
}

const struct relay_xprt_ops tunnel_xprt_ops = {
    .recv = xprt_recv,
    .send = xprt_send,
    .flush = xprt_flush,
    .shutdown_wr = xprt_shutdown_wr,
};
