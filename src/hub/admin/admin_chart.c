/* Charts of the dashboard as server-rendered SVG: no script, no external asset, a few hundred
 * bytes per chart. The SVG is role="img" with a label, and the numbers are also in a table
 * next to it for screen readers and copying. And money as text. */
#include <inttypes.h>
#include <string.h>

#include "core/err.h"
#include "core/html.h"
#include "hub/admin/admin_pages.h"
#include "hub/billing/billing.h"

#define W 600 /* viewBox */
#define H 160
#define PAD_L 4
#define PAD_B 18

int admin_money(struct buf *out, int64_t minor, const char *currency)
{
    char dec[32];
    billing_minor_to_decimal(minor < 0 ? -minor : minor, billing_currency_exp(currency), dec);
    TRY(admin_put(out, minor < 0 ? "−" : ""));
    TRY(admin_put(out, dec));
    TRY(admin_put(out, " "));
    return html_escape_str(out, currency);
}

static int max_label(struct buf *out, const struct admin_series *s, int64_t max)
{
    if (strcmp(s->unit, "B") == 0)
        return admin_bytes(out, max);
    TRY(admin_putf(out, "%" PRId64, max));
    if (s->unit[0] != '\0')
        TRY(admin_putf(out, " %s", s->unit));
    return 0;
}

int admin_chart(struct buf *out, const struct admin_series *s)
{
    int64_t max = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->values[i] > max)
            max = s->values[i];
    TRY(admin_putf(out, "<figure class=\"card\" id=\"%s\"><figcaption>", s->id));
    TRY(html_escape_str(out, s->label));
    TRY(admin_put(out, " <span class=\"muted\">(max "));
    TRY(max_label(out, s, max));
    TRY(admin_putf(out, ")</span></figcaption><svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", W,
                   H));
    TRY(html_escape_str(out, s->label));
    TRY(admin_putf(out, "\"><line class=\"axis\" x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", H - PAD_B, W, H - PAD_B));
    size_t n = s->n ? s->n : 1;
    int slot = (W - PAD_L) / (int)n, bar = slot > 3 ? slot - 2 : slot;
    size_t every = n > 10 ? (n + 5) / 6 : 1; /* about six labels whatever the number of bars */
    for (size_t i = 0; i < s->n; i++) {
        int64_t v = s->values[i] < 0 ? 0 : s->values[i];
        int h = max > 0 ? (int)(v * (H - PAD_B - 4) / max) : 0;
        int x = PAD_L + (int)i * slot;
        if (h > 0 || v > 0)
            TRY(admin_putf(out, "<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>", x,
                           H - PAD_B - (h > 0 ? h : 1), bar, h > 0 ? h : 1));
        if (s->labels != NULL && (i % every == 0 || i + 1 == s->n)) {
            TRY(admin_putf(out, "<text x=\"%d\" y=\"%d\">", x, H - 4));
            TRY(html_escape_str(out, s->labels[i]));
            TRY(admin_put(out, "</text>"));
        }
    }
    /* The same numbers as a table, collapsed by default: readable without the picture. */
    TRY(admin_put(out, "</svg><details><summary>Numbers</summary><table><tbody>"));
    for (size_t i = 0; i < s->n; i++) {
        TRY(admin_put(out, "<tr><th scope=\"row\">"));
        TRY(html_escape_str(out, s->labels ? s->labels[i] : ""));
        TRY(admin_put(out, "</th><td>"));
        TRY(strcmp(s->unit, "B") == 0 ? admin_bytes(out, s->values[i]) : admin_putf(out, "%" PRId64, s->values[i]));
        TRY(admin_put(out, "</td></tr>"));
    }
    return admin_put(out, "</tbody></table></details></figure>\n");
}
