/* XTLS Vision (flow xtls-rprx-vision): padding writer, unpadding reader, inner-TLS filter
 * and the direct-copy switch (spec/vision.md). Sans-IO; randomness from a callback.
 *
 * One endpoint (client or server connection) owns one struct vless_vision_shared plus one
 * writer (its sending direction) and one reader (its receiving direction), all pointing
 * at the shared state; reader and writer must be driven from the same thread.
 *
 * Writer: feed each source read as one batch to vless_vision_write(v)(). The output goes
 * through the outer TLS. When a call reports VLESS_VISION_EV_DIRECT, flush that output
 * completely through the outer TLS, then write everything after it raw to the socket
 * and never emit another outer record in this direction (no alert, no close_notify).
 * VLESS_VISION_EV_END: padding is over; later data is passed through unframed, still in
 * the outer TLS. res->frame_end[] lists frame boundaries so each frame can go into one
 * record (spec/vision.md §9 sender rule 1).
 *
 * Reader: feed outer-TLS plaintext after the VLESS header, in order, in any chunking
 * (frame headers and the UUID prefix may straddle records). When a call reports
 * VLESS_VISION_EV_DIRECT the outer record just fed was the last one in this direction:
 * stop decrypting; the input bytes from res->raw_from on (already in `out`), then the TLS
 * layer's buffered plaintext, then its read-ahead ciphertext (verbatim), then the socket
 * are raw inner bytes. Feeding them to the reader afterwards passes them through. */
#ifndef VEIL_VLESS_VISION_H
#define VEIL_VLESS_VISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/bytes.h"
#include "vless/vless.h"

/* Fills n random bytes; returns 0 or a negative error (which the writer returns). */
typedef int vless_rand_fn(void *arg, void *out, size_t n);

enum vless_vision_cmd {
    VLESS_VISION_CONTINUE = 0,
    VLESS_VISION_END = 1,
    VLESS_VISION_DIRECT = 2,
    VLESS_VISION_CMD__COUNT, /* sentinel */
};

#define VLESS_VISION_BUF_SIZE 8192
#define VLESS_VISION_MAX_BODY (VLESS_VISION_BUF_SIZE - 21) /* content + padding */
#define VLESS_VISION_FILTER_PACKETS 8
/* Largest batch one write call takes (8 buffers of 8192, at most 16 frames after reshape). */
#define VLESS_VISION_MAX_BATCH (8 * VLESS_VISION_BUF_SIZE)
#define VLESS_VISION_MAX_FRAMES 16

/* Shared per-endpoint traffic state (filter results). */
struct vless_vision_shared {
    int filter_count; /* packets left to inspect; shared by reader and writer */
    bool is_tls;
    bool is_tls12_or_above;
    bool enable_xtls; /* inner TLS 1.3 with suite 0x1301..0x1304: Direct allowed */
    uint16_t cipher;
    long remaining_server_hello; /* -1: no ServerHello seen */
};

void vless_vision_shared_init(struct vless_vision_shared *s);
/* The inner-TLS filter (spec/vision.md §6) over one buffer; counts one packet. */
void vless_vision_filter_tls(struct vless_vision_shared *s, const uint8_t *b, size_t len);

enum vless_vision_mode {
    VLESS_VISION_MODE_PADDING = 0, /* framing */
    VLESS_VISION_MODE_PLAIN,       /* after End: unframed, inside the outer TLS */
    VLESS_VISION_MODE_DIRECT,      /* after Direct: raw on the socket */
    VLESS_VISION_MODE__COUNT,      /* sentinel */
};

/* Event bits reported by write and read calls. */
#define VLESS_VISION_EV_END 0x1u      /* an End frame was written / read */
#define VLESS_VISION_EV_DIRECT 0x2u   /* a Direct frame was written / read: switch */
#define VLESS_VISION_EV_UNFRAMED 0x4u /* reader: the peer's first bytes were not UUID-framed */

struct vless_vision_writer {
    struct vless_vision_shared *sh;
    uint8_t uuid[VLESS_ID_LEN];
    uint32_t seed[4];    /* testseed: {900, 500, 900, 256} by default */
    bool check_complete; /* require complete app-data records to stop padding (newer Xray); false = 25.x rule */
    vless_rand_fn *rand;
    void *rand_arg;
    bool is_padding;
    bool uuid_pending;
    enum vless_vision_mode mode;
};

struct vless_vision_wres {
    unsigned events;
    size_t nframes;
    /* End offset of each frame, counted from buf_data(out) after the call (so bytes the
     * caller put in `out` before the call, e.g. the VLESS header, precede frame 0). */
    size_t frame_end[VLESS_VISION_MAX_FRAMES];
};

/* uuid = the 16 id bytes the client sent in its request header (both roles). */
void vless_vision_writer_init(struct vless_vision_writer *w, struct vless_vision_shared *sh,
                              const uint8_t uuid[static VLESS_ID_LEN], vless_rand_fn *rand, void *rand_arg);
/* Frames one batch (bufs of any size; each is cut into 8192-byte buffers as upstream reads
 * do) and appends the result to out. At most 8 buffers after cutting and
 * VLESS_VISION_MAX_BATCH bytes in total (else ERR_TOO_LONG): concatenate small pieces
 * (e.g. Mux frames) first. In PLAIN and DIRECT modes the input is appended unchanged. An empty batch
 * writes nothing. ERR_NOMEM, or the RNG's error; on error `out` is unchanged. */
int vless_vision_writev(struct vless_vision_writer *w, const struct bytes *bufs, size_t nbufs, struct buf *out,
                        struct vless_vision_wres *res);
int vless_vision_write(struct vless_vision_writer *w, const uint8_t *p, size_t len, struct buf *out,
                       struct vless_vision_wres *res);
/* Client only: the frame sent when the app stays silent (spec/vision.md §4.5): no
 * content, Continue, long padding. ERR_BAD_STATE unless still padding. */
int vless_vision_write_empty(struct vless_vision_writer *w, struct buf *out, struct vless_vision_wres *res);

/* Called for each frame header the reader parses (optional; logging and tests). */
typedef void vless_vision_frame_cb(void *arg, enum vless_vision_cmd cmd, size_t content_len, size_t padding_len);

struct vless_vision_reader {
    struct vless_vision_shared *sh;
    uint8_t uuid[VLESS_ID_LEN];
    vless_vision_frame_cb *on_frame;
    void *cb_arg;
    int st; /* private parser state */
    uint8_t hdr[VLESS_ID_LEN + 5];
    size_t hlen;
    uint8_t cur_cmd;
    size_t rem_content, rem_padding;
    uint64_t frames;
};

struct vless_vision_rres {
    unsigned events;
    size_t raw_from; /* with EV_END/EV_DIRECT/EV_UNFRAMED: input offset where unframed bytes start */
};

void vless_vision_reader_init(struct vless_vision_reader *r, struct vless_vision_shared *sh,
                              const uint8_t uuid[static VLESS_ID_LEN]);
/* Unframes p[0..len) and appends the inner bytes to out. Always consumes all input.
 * ERR_MALFORMED for an unknown command (close the connection; sticky), ERR_NOMEM. */
int vless_vision_read(struct vless_vision_reader *r, const uint8_t *p, size_t len, struct buf *out,
                      struct vless_vision_rres *res);
enum vless_vision_mode vless_vision_reader_mode(const struct vless_vision_reader *r);

const char *vless_vision_mode_str(enum vless_vision_mode m);

#endif
