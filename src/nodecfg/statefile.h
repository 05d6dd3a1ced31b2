/* Files in the node's stateDir (hub user table, unpushed usage, admin overlay): read whole, and
 * written atomically (tmp + fsync + rename) so a crash leaves the old or the new file, never a
 * torn one. */
#ifndef VEIL_NODECFG_STATEFILE_H
#define VEIL_NODECFG_STATEFILE_H

#include <stddef.h>

#include "core/buf.h"

/* Appends the whole file to out. 0, 1 when the file does not exist (out untouched), -errno,
 * ERR_NOMEM. */
int node_file_read(const char *path, struct buf *out);
/* Replaces path with len bytes (mode 0600): a temporary file, fsync, rename, fsync of the
 * directory, so path is always the old or the new content. 0 or -errno. */
int node_file_write_atomic(const char *path, const void *data, size_t len);

#endif
