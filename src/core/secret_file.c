#include "core/secret_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/file.h"

__attribute__((format(printf, 3, 4))) static int refuse(char *why, size_t cap, const char *fmt, ...)
{
    if (cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return ERR_CONFIG;
}

int secret_file_read(const char *name, char *out, size_t cap, char *why, size_t why_cap)
{
    if (cap > 0)
        out[0] = '\0';
    if (name == NULL || *name == '\0')
        return refuse(why, why_cap, "is empty");
    char path[4096];
    if (*name == '/') {
        if (strlen(name) >= sizeof path)
            return refuse(why, why_cap, "path too long");
        memcpy(path, name, strlen(name) + 1);
    } else {
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        if (dir == NULL || *dir == '\0')
            return refuse(why, why_cap,
                          "\"%.200s\" is relative but $CREDENTIALS_DIRECTORY is not set (use an absolute path, or "
                          "LoadCredential= in the systemd unit)",
                          name);
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
            return refuse(why, why_cap, "path too long");
    }
    struct buf b;
    buf_init(&b);
    int rc = file_read_all(path, cap + 2, &b);
    if (rc < 0) {
        buf_dispose_secret(&b);
        if (rc == ERR_TOO_LONG)
            return refuse(why, why_cap, "%.300s: longer than %zu bytes", path, cap - 1);
        return refuse(why, why_cap, "%.300s: cannot read (%s)", path, rc > -4096 ? strerror(-rc) : err_str(rc));
    }
    const char *d = (const char *)buf_data(&b);
    size_t n = buf_len(&b);
    if (n > 0 && d[n - 1] == '\n')
        n--;
    if (n > 0 && d[n - 1] == '\r')
        n--;
    rc = 0;
    if (n == 0)
        rc = refuse(why, why_cap, "%.300s: is empty", path);
    else if (n >= cap)
        rc = refuse(why, why_cap, "%.300s: longer than %zu bytes", path, cap - 1);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if ((unsigned char)d[i] < 0x20 || d[i] == 0x7f)
            rc = refuse(why, why_cap, "%.300s: holds a control character (one secret on one line)", path);
    if (rc == 0) {
        memcpy(out, d, n);
        out[n] = '\0';
    }
    buf_dispose_secret(&b);
    return rc;
}
