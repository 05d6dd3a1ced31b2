/* HTML text escaping for pages built from data (admin dashboard, subscription page). */
#ifndef VEIL_CORE_HTML_H
#define VEIL_CORE_HTML_H

#include <stddef.h>

#include "core/buf.h"

/* Appends s[0..len) with & < > " ' replaced by entities, safe both in text and in quoted
 * attribute values. ERR_NOMEM / ERR_TOO_LONG from the buffer. */
int html_escape(struct buf *out, const char *s, size_t len);
/* The same for a NUL-terminated string. */
int html_escape_str(struct buf *out, const char *s);

#endif
