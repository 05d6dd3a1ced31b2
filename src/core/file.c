#include "core/file.h"

#include <errno.h>
#include <stdio.h>

#include "core/err.h"

#define READ_CHUNK 65536

int file_read_all(const char *path, size_t max, struct buf *out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -errno;
    size_t start = buf_len(out);
    int rc = 0;
    for (;;) {
        if (buf_reserve(out, READ_CHUNK) < 0) {
            rc = ERR_NOMEM;
            break;
        }
        size_t n = fread(buf_tail(out), 1, buf_space(out), f);
        buf_produce(out, n);
        if (buf_len(out) - start > max) {
            rc = ERR_TOO_LONG;
            break;
        }
        if (n == 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = -EIO;
    fclose(f);
    return rc;
}
