/* Fuzz target: Redis URL parser (core/redis_url), which reads node and hub config. Whatever it
 * accepts must be a usable address: a NUL-terminated host or absolute socket path, a port, a
 * database 0..15; whatever it refuses must say why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/redis_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    if (url == NULL)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0'; /* config strings are C strings: an embedded NUL ends the URL */
    struct redis_url u;
    char err[128] = "";
    int rc = redis_url_parse(url, &u, err, sizeof err);
    if (rc == 0) {
        if (memchr(u.host, '\0', sizeof u.host) == NULL || memchr(u.path, '\0', sizeof u.path) == NULL ||
            memchr(u.user, '\0', sizeof u.user) == NULL || memchr(u.pass, '\0', sizeof u.pass) == NULL)
            abort();
        if (u.n_sentinels > 0) { /* sentinel://: the sentinels and the master's name, nothing else */
            if (u.n_sentinels > REDIS_SENTINELS_MAX || u.master[0] == '\0' ||
                memchr(u.master, '\0', sizeof u.master) == NULL || u.path[0] != '\0' || u.db > 15)
                abort();
            for (size_t i = 0; i < u.n_sentinels; i++)
                if (u.sentinels[i].host[0] == '\0' || u.sentinels[i].port == 0 ||
                    memchr(u.sentinels[i].host, '\0', sizeof u.sentinels[i].host) == NULL)
                    abort();
        } else {
            if ((u.host[0] == '\0') == (u.path[0] == '\0') || (u.path[0] && u.path[0] != '/'))
                abort(); /* exactly one of host and socket path */
            if (u.port == 0 || u.db > 15 || u.master[0] != '\0')
                abort();
        }
    } else if (rc != ERR_CONFIG || err[0] == '\0') {
        abort();
    }
    free(url);
    return 0;
}
