/* Reading a whole file into memory: config, state and overlay files. One loop, so every caller
 * gets the same size cap, error codes and read-error check. */
#ifndef VEIL_CORE_FILE_H
#define VEIL_CORE_FILE_H

#include <stddef.h>

#include "core/buf.h"

/* Appends the whole file at path to out. 0; -errno when it cannot be opened (-ENOENT when it
 * does not exist); ERR_TOO_LONG when it holds more than max bytes; ERR_NOMEM; -EIO on a read
 * error. out keeps what was appended on failure: the caller disposes of it. */
int file_read_all(const char *path, size_t max, struct buf *out);

#endif
