#include "core/err.h"

#include <string.h>

const char *err_str(int code)
{
    if (code == 0)
        return "ok";
    if (code > -4096 && code < 0)
        return strerror(-code); /* glibc's strerror returns static strings for known errnos */
    switch (code) {
#define ERR_CASE_(name, text)                                                                                          \
    case ERR_##name:                                                                                                   \
        return text;
        ERR_MAP(ERR_CASE_)
#undef ERR_CASE_
    default:
        return "unknown error";
    }
}
