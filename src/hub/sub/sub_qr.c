/* QR codes as inline SVG for the subscription web page: rendered on the server with
 * libqrencode, so the page needs no script or external asset to show them. */
#include <errno.h>
#include <stdio.h>

#include <qrencode.h>

#include "core/err.h"
#include "hub/sub/sub_int.h"

#define QUIET_ZONE 4 /* modules of white border that scanners need (ISO/IEC 18004) */

int sub__qr_svg(struct buf *out, const char *text, const char *label_html)
{
    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (q == NULL)
        return errno == ENOMEM ? ERR_NOMEM : ERR_MALFORMED; /* ERANGE: text too long for a QR */
    int w = q->width, side = w + 2 * QUIET_ZONE;
    char tmp[160];
    snprintf(tmp, sizeof tmp,
             "<svg class=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
             "shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"",
             side, side);
    int rc = sub__put(out, tmp);
    if (rc == 0)
        rc = sub__put(out, label_html);
    if (rc == 0)
        rc = sub__put(out, "\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path fill=\"#000\" d=\"");
    /* One rectangle per horizontal run of dark modules keeps the path short. */
    for (int y = 0; rc == 0 && y < w; y++) {
        for (int x = 0; rc == 0 && x < w;) {
            if (!(q->data[y * w + x] & 1)) {
                x++;
                continue;
            }
            int run = 1;
            while (x + run < w && (q->data[y * w + x + run] & 1))
                run++;
            snprintf(tmp, sizeof tmp, "M%d %dh%dv1h-%dz", x + QUIET_ZONE, y + QUIET_ZONE, run, run);
            rc = sub__put(out, tmp);
            x += run;
        }
    }
    if (rc == 0)
        rc = sub__put(out, "\"/></svg>");
    QRcode_free(q);
    return rc;
}
