/* Fuzz target: what browsers send to the dashboard (hub/admin): form fields of a urlencoded
 * body and a cookie from a Cookie header. Decoded values must fit, hold no NUL before their
 * end, and never come out longer than the input. Input: the raw body, also used as header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/admin/admin.h"
#include "fuzz_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *s = fuzz_cstr(data, size);
    if (s == NULL)
        abort();
    static const char *const keys[] = {"token", "csrf", "q", ""};
    char out[64];
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (admin_form_get(s, size, keys[i], out, sizeof out) && strlen(out) > size)
            abort();
        if (admin_cookie_get(s, keys[i][0] ? keys[i] : ADMIN_COOKIE, out, sizeof out) && strlen(out) > size)
            abort();
    }
    free(s);
    return 0;
}
