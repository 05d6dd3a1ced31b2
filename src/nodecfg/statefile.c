#include "nodecfg/statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/file.h"

int node_file_read(const char *path, struct buf *out)
{
    int rc = file_read_all(path, SIZE_MAX, out);
    return rc == -ENOENT ? 1 : rc;
}

int node_file_write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1)
        return -errno;
    for (size_t off = 0; rc == 0 && off < len;) {
        ssize_t n = write(fd, (const uint8_t *)data + off, len - off);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            rc = -errno;
        else
            off += (size_t)n;
    }
    if (rc == 0 && fsync(fd) == -1)
        rc = -errno;
    if (close(fd) == -1 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) == -1)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    if (rc == 0) {
        /* The rename itself survives a power loss only once the directory is on disk. */
        char dir[4096];
        const char *slash = strrchr(path, '/');
        if (slash == NULL)
            snprintf(dir, sizeof(dir), ".");
        else
            snprintf(dir, sizeof(dir), "%.*s", (int)(slash == path ? 1 : slash - path), path);
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd != -1) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    return rc;
}
