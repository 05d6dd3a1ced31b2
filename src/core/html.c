#include "core/html.h"

#include <string.h>

#include "core/err.h"

static const char *entity(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

int html_escape(struct buf *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        const char *r = entity(s[i]);
        TRY(r ? buf_append(out, r, strlen(r)) : buf_append(out, &s[i], 1));
    }
    return 0;
}

int html_escape_str(struct buf *out, const char *s)
{
    return html_escape(out, s, strlen(s));
}
