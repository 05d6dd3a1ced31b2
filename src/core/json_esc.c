#include "core/json_esc.h"

#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not valid. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3 && c == 0xe0 && s[1] < 0xa0)
        return 0;
    if (n == 3 && c == 0xed && s[1] >= 0xa0) /* surrogates */
        return 0;
    if (n == 4 && c == 0xf0 && s[1] < 0x90)
        return 0;
    if (n == 4 && c == 0xf4 && s[1] >= 0x90)
        return 0;
    return n;
}

size_t json_escape(char *out, size_t cap, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t o = 0;
    if (cap < 2)
        return 0;
    out[o++] = '"';
    for (size_t i = 0; i < len;) {
        char esc[8];
        size_t elen;
        size_t adv = 1;
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            elen = 2;
        } else if (c == '\n') {
            memcpy(esc, "\\n", 2);
            elen = 2;
        } else if (c == '\r') {
            memcpy(esc, "\\r", 2);
            elen = 2;
        } else if (c == '\t') {
            memcpy(esc, "\\t", 2);
            elen = 2;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            elen = 6;
        } else if (c < 0x80) {
            esc[0] = (char)c;
            elen = 1;
        } else {
            adv = utf8_seq(s + i, len - i);
            if (adv == 0) { /* invalid byte: make it visible, keep the line valid */
                snprintf(esc, sizeof(esc), "\\u%04x", c);
                elen = 6;
                adv = 1;
            } else {
                memcpy(esc, s + i, adv);
                elen = adv;
            }
        }
        if (o + elen + 1 > cap)
            break;
        memcpy(out + o, esc, elen);
        o += elen;
        i += adv;
    }
    out[o++] = '"';
    return o;
}
