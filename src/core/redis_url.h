/* Redis connection URLs, as the node (limits sync) and the hub (cache) take them in config:
 * redis://[[user]:password@]host[:port][/db] (host may be [IPv6], db 0..15) or unix:/path
 * (unix:///path alike), or sentinel://[[user]:password@]host[:port],host[:port],.../master[/db]
 * (Redis Sentinel: the sentinels, port 26379 unless given, are asked for the master's address;
 * user and password are the master's, and are offered to the sentinels too). One parser, so both
 * accept the same text. */
#ifndef VEIL_CORE_REDIS_URL_H
#define VEIL_CORE_REDIS_URL_H

#include <stddef.h>
#include <stdint.h>

#define REDIS_SENTINELS_MAX 5

struct redis_url {
    char host[256]; /* "" with a unix socket */
    uint16_t port;  /* 6379 unless given */
    char path[256]; /* unix socket path or "" */
    char user[128], pass[256];
    unsigned db;
    /* sentinel:// only: the master's name and the sentinels to ask (n_sentinels 0 otherwise). */
    char master[128];
    size_t n_sentinels;
    struct redis_sentinel_addr {
        char host[256];
        uint16_t port;
    } sentinels[REDIS_SENTINELS_MAX];
};

/* Fills *out from url. ERR_CONFIG with a reason in err. */
int redis_url_parse(const char *url, struct redis_url *out, char *err, size_t errcap);

#endif
