/* Blocking socket helpers for the CLI's one-connection-at-a-time work (`veil client` threads,
 * `veil scan`): connect with a deadline, optionally from a chosen source address, and write a
 * whole buffer to a nonblocking socket. Never used by the daemons. */
#ifndef VEIL_CLI_BLOCKING_H
#define VEIL_CLI_BLOCKING_H

#include <stdint.h>

#include "core/buf.h"

/* Resolves host (getaddrinfo) and connects to each address in turn within timeout_ms each;
 * bind_ip (NULL or "" for none) sets the source address. The connected nonblocking socket with
 * TCP_NODELAY, or ERR_NOT_FOUND / -errno of the last attempt (-ETIMEDOUT). */
int cli_dial(const char *host, uint16_t port, const char *bind_ip, int timeout_ms);
/* Writes all of b, waiting for writability; 0, -ETIMEDOUT or -errno. */
int cli_write_all(int fd, struct buf *b, int timeout_ms);

#endif
