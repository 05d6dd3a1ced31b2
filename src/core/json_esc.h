/* JSON string escaping shared by the logger and the metrics/HTTP writers. */
#ifndef VEIL_CORE_JSON_ESC_H
#define VEIL_CORE_JSON_ESC_H

#include <stddef.h>

/* Writes `"<escaped s>"` into out (at most cap bytes, no NUL) and returns the bytes written.
 * Control characters and invalid UTF-8 bytes become \u escapes; output is cut whole-escape. */
size_t json_escape(char *out, size_t cap, const char *s, size_t len);

#endif
