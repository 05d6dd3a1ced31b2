/* A ready Redis connection from a parsed URL (core/redis_url.h), for the hub's cache and the
 * node's limits alike: connect (TCP or unix socket), AUTH, SELECT. For sentinel:// the sentinels
 * are asked in turn (SENTINEL get-master-addr-by-name) and the address they name is used only when
 * it says ROLE master, so after a failover the next dial finds the promoted replica. */
#ifndef VEIL_NET_REDIS_DIAL_H
#define VEIL_NET_REDIS_DIAL_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <sys/time.h>

#include "core/redis_url.h"

/* The connection (its timeouts set to tv) or NULL with the reason in why. */
redisContext *redis_dial(const struct redis_url *u, struct timeval tv, char *why, size_t whycap);

/* True for an error reply that means the server is no longer the master (READONLY, or
 * MASTERDOWN from a replica): the caller should drop the connection and dial again. */
int redis_reply_not_master(const redisReply *r);

#endif
