#include <errno.h>
#include <stdint.h>

#include <qrencode.h>

#include "cli/cli.h"
#include "core/err.h"

#define QR_MARGIN 2

/* true when module (x, y) is dark; outside the symbol is the (light) quiet zone. */
static bool dark(const QRcode *q, int x, int y)
{
    if (x < 0 || y < 0 || x >= q->width || y >= q->width)
        return false;
    return q->data[y * q->width + x] & 1;
}

int cli_qr_print(FILE *out, const char *text, bool invert)
{
    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
    if (q == NULL) /* libqrencode: EINVAL for empty or bad input, ERANGE too long, ENOMEM */
        return errno == ERANGE ? ERR_TOO_LONG : errno == EINVAL ? ERR_MALFORMED : ERR_NOMEM;
    /* Glyph for (top drawn, bottom drawn). */
    static const char *const glyph[2][2] = {{" ", "\u2584"}, {"\u2580", "\u2588"}};
    for (int y = -QR_MARGIN; y < q->width + QR_MARGIN; y += 2) {
        for (int x = -QR_MARGIN; x < q->width + QR_MARGIN; x++) {
            bool top = dark(q, x, y) == invert;
            bool bottom = y + 1 < q->width + QR_MARGIN ? dark(q, x, y + 1) == invert : false;
            fputs(glyph[top][bottom], out);
        }
        fputc('\n', out);
    }
    QRcode_free(q);
    return 0;
}
