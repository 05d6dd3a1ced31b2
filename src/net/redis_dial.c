/* Redis connections by URL, with Redis Sentinel discovery (net/redis_dial.h). */
#include "net/redis_dial.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static redisContext *connect_tcp(const char *host, int port, struct timeval tv, char *why, size_t whycap)
{
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (c == NULL || c->err || redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(why, whycap, "connect %s:%d: %s", host, port, c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    return c;
}

/* AUTH (when a password is set) and SELECT (db > 0). tolerate_no_auth: a sentinel without a
 * password answers AUTH with an error, which is fine. */
static bool login(redisContext *c, const struct redis_url *u, bool select_db, bool tolerate_no_auth, char *why,
                  size_t whycap)
{
    if (u->pass[0]) {
        const char *av[3] = {"AUTH", u->user[0] ? u->user : u->pass, u->pass};
        size_t al[3] = {4, strlen(av[1]), strlen(u->pass)};
        redisReply *r = redisCommandArgv(c, u->user[0] ? 3 : 2, av, al);
        bool ok = r != NULL && (r->type == REDIS_REPLY_STATUS || (tolerate_no_auth && r->type == REDIS_REPLY_ERROR));
        if (!ok)
            snprintf(why, whycap, "AUTH failed: %s", r && r->type == REDIS_REPLY_ERROR ? r->str : "no reply");
        freeReplyObject(r);
        if (!ok)
            return false;
    }
    if (select_db && u->db) {
        redisReply *r = redisCommand(c, "SELECT %u", u->db);
        bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        if (!ok) {
            snprintf(why, whycap, "SELECT %u failed", u->db);
            return false;
        }
    }
    return true;
}

/* Whether the server on c is a master now (ROLE's first element). */
static bool is_master(redisContext *c)
{
    redisReply *r = redisCommand(c, "ROLE");
    bool ok = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
              r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "master") == 0;
    freeReplyObject(r);
    return ok;
}

/* The master's address as one sentinel tells it. */
static bool ask_sentinel(const struct redis_url *u, const struct redis_sentinel_addr *s, struct timeval tv, char *host,
                         size_t hostcap, int *port, char *why, size_t whycap)
{
    redisContext *c = connect_tcp(s->host, s->port, tv, why, whycap);
    if (c == NULL)
        return false;
    bool ok = false;
    if (login(c, u, false, true, why, whycap)) {
        redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", u->master);
        if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING &&
            strlen(r->element[0]->str) < hostcap) {
            snprintf(host, hostcap, "%s", r->element[0]->str);
            *port = atoi(r->element[1]->str);
            ok = *port > 0 && *port <= 65535;
        }
        if (!ok)
            snprintf(why, whycap, "sentinel %s:%u does not know master \"%s\"%s%s", s->host, (unsigned)s->port,
                     u->master, r && r->type == REDIS_REPLY_ERROR ? ": " : "",
                     r && r->type == REDIS_REPLY_ERROR ? r->str : "");
        freeReplyObject(r);
    }
    redisFree(c);
    return ok;
}

redisContext *redis_dial(const struct redis_url *u, struct timeval tv, char *why, size_t whycap)
{
    snprintf(why, whycap, "no address");
    if (u->n_sentinels == 0) {
        redisContext *c;
        if (u->path[0]) {
            c = redisConnectUnixWithTimeout(u->path, tv);
            if (c == NULL || c->err || redisSetTimeout(c, tv) != REDIS_OK) {
                snprintf(why, whycap, "connect %s: %s", u->path, c ? c->errstr : "out of memory");
                redisFree(c);
                return NULL;
            }
        } else if ((c = connect_tcp(u->host, u->port, tv, why, whycap)) == NULL) {
            return NULL;
        }
        if (login(c, u, true, false, why, whycap))
            return c;
        redisFree(c);
        return NULL;
    }
    /* Each sentinel in turn: one that is down or not yet told of a failover is skipped. */
    for (size_t i = 0; i < u->n_sentinels; i++) {
        char host[256];
        int port = 0;
        if (!ask_sentinel(u, &u->sentinels[i], tv, host, sizeof host, &port, why, whycap))
            continue;
        redisContext *c = connect_tcp(host, port, tv, why, whycap);
        if (c == NULL)
            continue;
        if (login(c, u, true, false, why, whycap)) {
            if (is_master(c))
                return c;
            snprintf(why, whycap, "%s:%d named by sentinel %s:%u is not a master (failover under way)", host, port,
                     u->sentinels[i].host, (unsigned)u->sentinels[i].port);
        }
        redisFree(c);
    }
    return NULL;
}

int redis_reply_not_master(const redisReply *r)
{
    return r != NULL && r->type == REDIS_REPLY_ERROR &&
           (strncmp(r->str, "READONLY", 8) == 0 || strncmp(r->str, "MASTERDOWN", 10) == 0);
}
