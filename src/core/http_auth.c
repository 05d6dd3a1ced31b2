#include "core/http_auth.h"

#include <stdbool.h>
#include <strings.h>

#include "core/err.h"

static bool token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

int http_bearer_token(const char *hdr, const char **tok, size_t *tok_len)
{
    *tok = NULL;
    *tok_len = 0;
    if (hdr == NULL || strncasecmp(hdr, "bearer", 6) != 0 || hdr[6] != ' ')
        return ERR_AUTH;
    const char *p = hdr + 6;
    while (*p == ' ')
        p++;
    size_t n = 0;
    while (n <= HTTP_BEARER_MAX && token_char(p[n]))
        n++;
    if (p[n] != '\0' || n == 0 || n > HTTP_BEARER_MAX)
        return ERR_AUTH;
    *tok = p;
    *tok_len = n;
    return 0;
}
