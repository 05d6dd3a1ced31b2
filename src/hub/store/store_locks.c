/* Named leases in the locks table (the scheduler's replica lock): taken, renewed by the
 * holder, taken over after the TTL. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/store/store_int.h"

struct lock_arg {
    const char *name, *holder;
    int64_t ttl, now;
    bool held;
};

static int lock_body(struct store_conn *sc, void *arg)
{
    struct lock_arg *a = arg;
    struct store_val p[] = {SV_T(a->name), SV_T(a->holder), SV_I(a->now + a->ttl), SV_I(a->now)};
    TRY(store__exec(sc,
                    "INSERT INTO locks (name, holder, expires_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE"
                    " SET holder = excluded.holder, expires_at = excluded.expires_at"
                    " WHERE locks.holder = excluded.holder OR locks.expires_at < $4",
                    p, 4, NULL));
    struct store_res r;
    TRY(store__exec(sc, "SELECT holder FROM locks WHERE name = $1", p, 1, &r));
    a->held = r.nrows == 1 && store__cell(&r, 0, 0) != NULL && strcmp(store__cell(&r, 0, 0), a->holder) == 0;
    store__res_free(&r);
    return 0;
}

int store_lock_try(struct store *st, const char *name, const char *holder, int64_t ttl, int64_t now, bool *held)
{
    struct lock_arg a = {.name = name, .holder = holder, .ttl = ttl, .now = now};
    TRY(store__tx(st, lock_body, &a));
    *held = a.held;
    return 0;
}
