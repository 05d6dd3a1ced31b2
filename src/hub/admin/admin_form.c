/* Reading what browsers send: one cookie from a Cookie header (RFC 6265 §5.4) and one field of
 * an application/x-www-form-urlencoded body (WHATWG URL §5.1); and the reverse for links. */
#include <string.h>

#include "core/enc.h"
#include "core/err.h"
#include "hub/admin/admin.h"

int admin_url_encode(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '.' || *p == '_' || *p == '~') {
            TRY(buf_append(out, p, 1));
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            TRY(buf_append(out, e, 3));
        }
    }
    return 0;
}

bool admin_cookie_get(const char *header, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    for (const char *p = header; p != NULL && *p != '\0';) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *semi = strchr(p, ';');
        const char *end = semi ? semi : p + strlen(p);
        if ((size_t)(end - p) > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            size_t vlen = (size_t)(end - v);
            while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;
            if (vlen >= cap)
                return false;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return true;
        }
        p = semi ? semi + 1 : end;
    }
    return false;
}

/* Decodes s[0..n) into out; false on a bad escape, a NUL, or when it does not fit. */
static bool decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%') {
            if (i + 2 >= n || hex_digit_value(s[i + 1]) < 0 || hex_digit_value(s[i + 2]) < 0)
                return false;
            ch = hex_digit_value(s[i + 1]) * 16 + hex_digit_value(s[i + 2]);
            i += 2;
        }
        if (ch == 0 || k + 1 >= cap)
            return false;
        out[k++] = (char)ch;
    }
    out[k] = '\0';
    return cap > 0;
}

bool admin_form_get(const char *body, size_t len, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < len;) {
        const char *p = body + i;
        const char *amp = memchr(p, '&', len - i);
        size_t flen = amp ? (size_t)(amp - p) : len - i;
        if (flen > klen && memcmp(p, key, klen) == 0 && p[klen] == '=')
            return decode(p + klen + 1, flen - klen - 1, out, cap);
        if (flen == klen && memcmp(p, key, klen) == 0) /* "key" alone: an empty value */
            return decode(p, 0, out, cap);
        i += flen + 1;
    }
    return false;
}
