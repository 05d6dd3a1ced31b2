/* HAProxy's runtime API (the `stats socket ... level admin` of deploy/lb/haproxy.cfg), as
 * `veil node drain` uses it: one command per connection, the answer read until HAProxy closes.
 * The socket is a UNIX path or "host:port" (a TCP `stats socket ipv4@...`). Plus the pure parser
 * of `show stat` CSV, unit tested and fuzzed. */
#ifndef VEIL_CLI_HAPROXY_RT_H
#define VEIL_CLI_HAPROXY_RT_H

#include <stddef.h>
#include <stdint.h>

#define HAPROXY_RT_ANSWER_MAX (4u << 20) /* `show stat` of a big configuration fits */

/* Sends cmd (without the newline) to the runtime API at `socket` and returns its answer in
 * *answer (NUL-terminated, malloc'ed; the caller frees it). timeout_ms bounds connecting and
 * each read. Returns 0, ERR_IO (cannot connect: message in err), ERR_TIMEOUT or ERR_TOO_LONG. */
int haproxy_rt_command(const char *socket, const char *cmd, int timeout_ms, char **answer, char *err, size_t err_cap);

/* The server's numbers in `show stat` CSV output (header "# pxname,svname,..."): current
 * sessions (scur), weight and status ("UP", "DOWN", "MAINT", "DRAIN"...). Returns 0, ERR_NOT_FOUND
 * when no row names backend/server, ERR_MALFORMED when the header lacks those columns. */
struct haproxy_server_stat {
    int64_t scur;
    int64_t weight;
    char status[32];
};
int haproxy_rt_server_stat(const char *csv, size_t len, const char *backend, const char *server,
                           struct haproxy_server_stat *out);

/* Whether a backend or server name is safe to put in a runtime command: 1..64 of [A-Za-z0-9._-]
 * (no spaces, ';' or newlines that would smuggle another command). */
int haproxy_rt_name_ok(const char *name);

#endif
