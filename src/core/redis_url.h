/* Redis connection URLs, as the node (limits sync) and the hub (cache) take them in config:
 * redis://[[user]:password@]host[:port][/db] (host may be [IPv6], db 0..15) or unix:/path
 * (unix:///path alike). One parser, so both accept the same text. */
#ifndef VEIL_CORE_REDIS_URL_H
#define VEIL_CORE_REDIS_URL_H

#include <stddef.h>
#include <stdint.h>

struct redis_url {
    char host[256]; /* "" with a unix socket */
    uint16_t port;  /* 6379 unless given */
    char path[256]; /* unix socket path or "" */
    char user[128], pass[256];
    unsigned db;
};

/* Fills *out from url. ERR_CONFIG with a reason in err. */
int redis_url_parse(const char *url, struct redis_url *out, char *err, size_t errcap);

#endif
