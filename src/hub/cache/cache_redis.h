/* Redis side of hub/cache: a small pool of hiredis connections with timeouts, the
 * up/down state with backoff and rate-limited logging, and the few commands the cache needs.
 * Every command returns ERR_IO when Redis cannot answer (down, backing off, timeout, error
 * reply); the caller falls back. Keys passed in are full keys (prefix included). */
#ifndef VEIL_HUB_CACHE_CACHE_REDIS_H
#define VEIL_HUB_CACHE_CACHE_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/redis_url.h"

struct hcredis;

/* on_down(arg) runs when Redis stops answering (after a run of good calls). gen_key is the full
 * name of the generation counter, bumped when Redis answers again after an outage. */
int hcredis_new(const struct redis_url *u, unsigned timeout_ms, unsigned pool, const char *gen_key,
                void (*on_down)(void *arg), void *arg, struct hcredis **out);
void hcredis_free(struct hcredis *r);
bool hcredis_up(const struct hcredis *r);

/* GET gen_key and GET <scope_prefix><gen>:<key> in one round trip (a Lua script). *val NULL
 * when absent. */
int hcredis_gen_get(struct hcredis *r, const char *scope_prefix, const char *key, uint64_t *gen, char **val,
                    size_t *len);
int hcredis_get(struct hcredis *r, const char *key, char **val, size_t *len);
int hcredis_set(struct hcredis *r, const char *key, const void *val, size_t len, int64_t ttl_ms);
int hcredis_incr(struct hcredis *r, const char *key, uint64_t *out);
/* INCR key and PEXPIRE it (pipelined). */
int hcredis_hit(struct hcredis *r, const char *key, int64_t ttl_ms, uint64_t *count);
/* SET key holder NX PX ttl; when taken, renews it if holder owns it. */
int hcredis_lock(struct hcredis *r, const char *key, const char *holder, int64_t ttl_ms, bool *held);
/* Deletes key when its value is holder (Lua, atomic). */
int hcredis_unlock(struct hcredis *r, const char *key, const char *holder);

/* INCR the generation counter and PUBLISH the new value on the channel of the same name (one
 * script). */
int hcredis_gen_bump(struct hcredis *r);

/* Generation watcher: a thread holding one more connection SUBSCRIBEd to that channel, so every
 * hub learns a new generation as soon as Redis has it, without a round trip per request.
 * hcredis_watch_gen tells the generation and the watcher's session (bumped on every
 * reconnect: generations restart when Redis loses its data) while the watcher is connected;
 * false otherwise (callers then ask Redis). The thread is stopped by hcredis_free. */
int hcredis_watch_start(struct hcredis *r);
bool hcredis_watch_gen(struct hcredis *r, uint64_t *gen, uint64_t *session);

#endif
