/* QR code PNGs (bot_qr.h). */
#include <errno.h>
#include <stdbool.h>
#include <png.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/bot/bot_qr.h"

struct membuf {
    unsigned char *data;
    size_t len, cap;
    bool nomem;
};

static void write_cb(png_structp p, png_bytep data, png_size_t n)
{
    struct membuf *m = png_get_io_ptr(p);
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 4096;
        while (cap < m->len + n)
            cap *= 2;
        unsigned char *d = realloc(m->data, cap);
        if (d == NULL) {
            m->nomem = true;
            png_error(p, "out of memory"); /* longjmps back to bot_qr_png */
        }
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->len, data, n);
    m->len += n;
}

static void flush_cb(png_structp p)
{
    (void)p;
}

static void no_warnings(png_structp p, png_const_charp msg)
{
    (void)p;
    (void)msg;
}

/* Writes the PNG; everything it allocates is freed by the caller, so a longjmp leaks nothing. */
static int encode(const QRcode *q, unsigned scale, unsigned char *row, struct membuf *m, png_structp p, png_infop info)
{
    if (setjmp(png_jmpbuf(p)))
        return m->nomem ? ERR_NOMEM : ERR_INTERNAL;
    unsigned side = ((unsigned)q->width + 2 * BOT_QR_QUIET) * scale;
    png_set_write_fn(p, m, write_cb, flush_cb);
    png_set_IHDR(p, info, side, side, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    for (unsigned y = 0; y < side; y++) {
        int my = (int)(y / scale) - BOT_QR_QUIET;
        for (unsigned x = 0; x < side; x++) {
            int mx = (int)(x / scale) - BOT_QR_QUIET;
            bool dark = my >= 0 && my < q->width && mx >= 0 && mx < q->width && (q->data[my * q->width + mx] & 1);
            row[x] = dark ? 0 : 255;
        }
        png_write_row(p, row);
    }
    png_write_end(p, NULL);
    return 0;
}

int bot_qr_png(const char *text, unsigned scale, unsigned char **png, size_t *len)
{
    *png = NULL;
    *len = 0;
    if (scale == 0 || scale > 32)
        return ERR_RANGE;
    if (text == NULL || text[0] == '\0')
        return ERR_MALFORMED;
    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (q == NULL)
        return errno == ENOMEM ? ERR_NOMEM : ERR_MALFORMED; /* ERANGE: too long for a QR code */
    unsigned side = ((unsigned)q->width + 2 * BOT_QR_QUIET) * scale;
    unsigned char *row = malloc(side);
    struct membuf m = {0};
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, no_warnings);
    png_infop info = p != NULL ? png_create_info_struct(p) : NULL;
    int rc = row == NULL || p == NULL || info == NULL ? ERR_NOMEM : encode(q, scale, row, &m, p, info);
    png_destroy_write_struct(p != NULL ? &p : NULL, info != NULL ? &info : NULL);
    free(row);
    QRcode_free(q);
    if (rc < 0) {
        free(m.data);
        return rc;
    }
    *png = m.data;
    *len = m.len;
    return 0;
}
