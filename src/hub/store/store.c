/* Store core: backend choice, the connection pool, result helpers, transactions. */
#include "hub/store/store_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/secmem.h"
#include "hub/seal/seal.h"

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

int store_open(const char *url, size_t pool, struct store **out)
{
    const struct store_ops *ops;
    const char *target;
    *out = NULL;
    if (url == NULL)
        return ERR_CONFIG;
    if (has_prefix(url, "sqlite:")) {
        ops = &store__sqlite_ops;
        target = url + strlen("sqlite:");
        if (target[0] == '\0')
            return ERR_CONFIG;
    } else if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://") || strchr(url, '=') != NULL) {
        ops = &store__pg_ops;
        target = url;
    } else {
        return ERR_CONFIG;
    }
    if (pool == 0)
        pool = 4;
    size_t maxp = ops->max_pool(target);
    if (pool > maxp)
        pool = maxp;

    struct store *st = calloc(1, sizeof *st);
    if (st == NULL)
        return ERR_NOMEM;
    st->ops = ops;
    st->target = strdup(target);
    st->conns = calloc(pool, sizeof *st->conns);
    st->busy = calloc(pool, sizeof *st->busy);
    if (st->target == NULL || st->conns == NULL || st->busy == NULL) {
        store_close(st);
        return ERR_NOMEM;
    }
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    for (size_t i = 0; i < pool; i++) {
        int rc = ops->connect(st->target, &st->conns[i]);
        if (rc < 0) {
            st->n_conns = i;
            store_close(st);
            return rc;
        }
    }
    st->n_conns = pool;
    *out = st;
    return 0;
}

void store_close(struct store *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->n_conns; i++)
        st->ops->disconnect(st->conns[i]);
    if (st->conns != NULL && st->busy != NULL) {
        pthread_mutex_destroy(&st->mu);
        pthread_cond_destroy(&st->cv);
    }
    free(st->conns);
    free(st->busy);
    free(st->target);
    seal_ring_free(st->seal);
    secmem_free(st->seal_master, SEAL_KEY_LEN);
    free(st);
}

const char *store_backend(const struct store *st)
{
    return st->ops->name;
}

void store_pool_stats(struct store *st, size_t *size, size_t *busy)
{
    size_t b = 0;
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->n_conns; i++)
        b += st->busy[i];
    pthread_mutex_unlock(&st->mu);
    *size = st->n_conns;
    *busy = b;
}

int store__acquire(struct store *st, struct store_conn *out)
{
    pthread_mutex_lock(&st->mu);
    for (;;) {
        for (size_t i = 0; i < st->n_conns; i++) {
            if (!st->busy[i]) {
                st->busy[i] = true;
                pthread_mutex_unlock(&st->mu);
                out->st = st;
                out->c = st->conns[i];
                out->slot = i;
                return 0;
            }
        }
        pthread_cond_wait(&st->cv, &st->mu);
    }
}

void store__release(struct store_conn *sc)
{
    struct store *st = sc->st;
    pthread_mutex_lock(&st->mu);
    st->busy[sc->slot] = false;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    sc->c = NULL;
}

int store__exec(struct store_conn *sc, const char *sql, const struct store_val *p, size_t n, struct store_res *res)
{
    if (res != NULL)
        memset(res, 0, sizeof *res);
    return sc->st->ops->exec(sc->c, sql, p, n, res);
}

int store__exec_changes(struct store_conn *sc, const char *sql, const struct store_val *p, size_t n, int64_t *changes)
{
    struct store_res r;
    TRY(store__exec(sc, sql, p, n, &r));
    *changes = r.changes;
    store__res_free(&r);
    return 0;
}

void store__res_free(struct store_res *r)
{
    if (r->cells != NULL && r->row_blocks) {
        for (size_t row = 0; row < r->nrows; row++)
            for (size_t c = 0; c < r->ncols; c++)
                if (r->cells[row * r->ncols + c] != NULL) {
                    free(r->cells[row * r->ncols + c]);
                    break;
                }
        free(r->cells);
    } else if (r->cells != NULL) {
        for (size_t i = 0; i < r->nrows * r->ncols; i++)
            free(r->cells[i]);
        free(r->cells);
    }
    memset(r, 0, sizeof *r);
}

int64_t store__cell_i64(const struct store_res *r, size_t row, size_t col)
{
    const char *s = store__cell(r, row, col);
    if (s == NULL)
        return 0;
    return strtoll(s, NULL, 10);
}

void store__cell_str(const struct store_res *r, size_t row, size_t col, char *out, size_t cap)
{
    const char *s = store__cell(r, row, col);
    if (cap == 0)
        return;
    if (s == NULL)
        s = "";
    size_t n = strlen(s);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

int store__begin(struct store_conn *sc)
{
    return store__exec(sc, sc->st->ops->begin_sql, NULL, 0, NULL);
}

int store__commit(struct store_conn *sc)
{
    int rc = store__exec(sc, "COMMIT", NULL, 0, NULL);
    if (rc < 0)
        store__rollback(sc);
    return rc;
}

void store__rollback(struct store_conn *sc)
{
    (void)store__exec(sc, "ROLLBACK", NULL, 0, NULL);
}

int store__bump_revision(struct store_conn *sc, int64_t *rev)
{
    struct store_res r;
    int rc =
        store__exec(sc, "UPDATE sync_state SET revision = revision + 1 WHERE id = 1 RETURNING revision", NULL, 0, &r);
    if (rc < 0)
        return rc;
    if (r.nrows != 1) {
        store__res_free(&r);
        return ERR_INTERNAL;
    }
    *rev = store__cell_i64(&r, 0, 0);
    store__res_free(&r);
    return 0;
}

int store__user_touch(struct store_conn *sc, int64_t user_id)
{
    int64_t rev;
    TRY(store__bump_revision(sc, &rev));
    struct store_val p[] = {SV_I(rev), SV_I(user_id)};
    return store__exec(sc, "UPDATE users SET revision = $1 WHERE id = $2", p, 2, NULL);
}

int store_migrate(struct store *st, int *version)
{
    struct store_conn sc;
    TRY(store__acquire(st, &sc));
    int rc = store__migrate(&sc, version);
    store__release(&sc);
    return rc;
}

int store__tx(struct store *st, store_tx_fn *body, void *arg)
{
    struct store_conn sc;
    int rc = 0;
    TRY(store__acquire(st, &sc));
    for (int attempt = 0; attempt < 3; attempt++) {
        /* A connection found dead at BEGIN has done nothing yet: the next attempt reconnects. */
        if ((rc = store__begin(&sc)) < 0) {
            if (rc == ERR_CLOSED && attempt == 0)
                continue;
            break;
        }
        rc = body(&sc, arg);
        if (rc == 0)
            rc = store__commit(&sc);
        else
            store__rollback(&sc);
        if (rc != ERR_TIMEOUT)
            break;
    }
    store__release(&sc);
    return rc;
}

int store__ro(struct store *st, store_tx_fn *body, void *arg)
{
    struct store_conn sc;
    TRY(store__acquire(st, &sc));
    int rc = body(&sc, arg);
    store__release(&sc);
    return rc;
}
