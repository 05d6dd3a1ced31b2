/* Nodes (with hashed per-node tokens). Admin API tokens: store_tokens.c. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/domain/rules.h"
#include "hub/store/store_int.h"

#define NODE_COLS                                                                                                      \
    "id, name, address, port, country, public_key, short_ids, server_names, weight, health, draining, last_seen, "     \
    "traffic_up, traffic_down, created_at, usage_percent, node_group, load_connections, load_cpu, load_bps, hot, "     \
    "handshake_at, silent_since"

/* Splits "a,b,c" into a fixed array. */
static size_t split_list(const char *s, size_t cap_items, size_t item_cap, char *items)
{
    size_t n = 0;
    while (s && *s && n < cap_items) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        if (len >= item_cap)
            len = item_cap - 1;
        memcpy(items + n * item_cap, s, len);
        items[n * item_cap + len] = '\0';
        n++;
        if (c == NULL)
            break;
        s = c + 1;
    }
    return n;
}

static char *join_list(size_t n, size_t item_cap, const char *items)
{
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(items + i * item_cap) + 1;
    char *out = malloc(total);
    if (out == NULL)
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            strcat(out, ",");
        strcat(out, items + i * item_cap);
    }
    return out;
}

static void node_from_row(const struct store_res *r, size_t i, struct hub_node *n)
{
    char buf[16];
    memset(n, 0, sizeof *n);
    n->id = store__cell_i64(r, i, 0);
    store__cell_str(r, i, 1, n->name, sizeof n->name);
    store__cell_str(r, i, 2, n->address, sizeof n->address);
    n->port = (uint16_t)store__cell_i64(r, i, 3);
    store__cell_str(r, i, 4, n->country, sizeof n->country);
    store__cell_str(r, i, 5, n->public_key, sizeof n->public_key);
    n->n_short_ids = split_list(store__cell(r, i, 6), HUB_NODE_LIST_MAX, sizeof n->short_ids[0], n->short_ids[0]);
    n->n_server_names =
        split_list(store__cell(r, i, 7), HUB_NODE_LIST_MAX, sizeof n->server_names[0], n->server_names[0]);
    n->weight = store__cell_i64(r, i, 8);
    store__cell_str(r, i, 9, buf, sizeof buf);
    int h = hub_health_parse(buf);
    n->health = h < 0 ? HUB_HEALTH_UNKNOWN : (enum hub_health)h;
    n->draining = store__cell_i64(r, i, 10) != 0;
    n->last_seen = store__cell_i64(r, i, 11);
    n->traffic_up = store__cell_i64(r, i, 12);
    n->traffic_down = store__cell_i64(r, i, 13);
    n->created_at = store__cell_i64(r, i, 14);
    n->usage_percent = store__cell_i64(r, i, 15);
    store__cell_str(r, i, 16, n->group, sizeof n->group);
    n->load_connections = store__cell_i64(r, i, 17);
    n->load_cpu = store__cell_i64(r, i, 18);
    n->load_bps = store__cell_i64(r, i, 19);
    n->hot = store__cell_i64(r, i, 20) != 0;
    n->handshake_at = store__cell_i64(r, i, 21);
    n->silent_since = store__cell_i64(r, i, 22);
}

struct node_arg {
    struct hub_node *n;
    const char *s;
    int64_t id, now, weight;
    int draining, health;
    const struct store_audit *audit;
    struct hub_node *list;
    size_t count;
};

static int create_body(struct store_conn *sc, void *arg)
{
    struct node_arg *a = arg;
    struct hub_node *n = a->n;
    if (n->usage_percent <= 0)
        n->usage_percent = 100;
    char *sids = join_list(n->n_short_ids, sizeof n->short_ids[0], n->short_ids[0]);
    char *sns = join_list(n->n_server_names, sizeof n->server_names[0], n->server_names[0]);
    int rc = ERR_NOMEM;
    if (sids == NULL || sns == NULL)
        goto out;
    struct store_val p[] = {SV_T(n->name),       SV_T(n->address), SV_I(n->port), SV_T(n->country),
                            SV_T(n->public_key), SV_T(sids),       SV_T(sns),     SV_I(n->weight),
                            SV_I(n->draining),   SV_T(a->s),       SV_I(a->now),  SV_I(n->usage_percent),
                            SV_T(n->group)};
    struct store_res r;
    rc = store__exec(sc,
                     "INSERT INTO nodes (name, address, port, country, public_key, short_ids, server_names, weight,"
                     " health, draining, token_hash, created_at, usage_percent, node_group)"
                     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'unknown', $9, $10, $11, $12, $13) RETURNING id",
                     p, 13, &r);
    if (rc < 0)
        goto out;
    n->id = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    n->created_at = a->now;
    n->health = HUB_HEALTH_UNKNOWN;
    store__res_free(&r);
    rc = store__audit(sc, a->audit, a->now, "node", n->id);
out:
    free(sids);
    free(sns);
    return rc;
}

int store_node_create(struct store *st, struct hub_node *n, const char *token_hash, int64_t now,
                      const struct store_audit *audit)
{
    struct node_arg a = {.n = n, .s = token_hash, .now = now, .audit = audit};
    return store__tx(st, create_body, &a);
}

static int query_one(struct store_conn *sc, const char *sql, struct store_val *p, struct hub_node *out)
{
    struct store_res r;
    TRY(store__exec(sc, sql, p, 1, &r));
    int rc = ERR_NOT_FOUND;
    if (r.nrows == 1) {
        node_from_row(&r, 0, out);
        rc = 0;
    }
    store__res_free(&r);
    return rc;
}

static int get_body(struct store_conn *sc, void *arg)
{
    struct node_arg *a = arg;
    struct store_val p[] = {SV_I(a->id)};
    return query_one(sc, "SELECT " NODE_COLS " FROM nodes WHERE id = $1", p, a->n);
}

int store_node_get(struct store *st, int64_t id, struct hub_node *out)
{
    struct node_arg a = {.id = id, .n = out};
    return store__ro(st, get_body, &a);
}

static int by_token_body(struct store_conn *sc, void *arg)
{
    struct node_arg *a = arg;
    struct store_val p[] = {SV_T(a->s)};
    return query_one(sc, "SELECT " NODE_COLS " FROM nodes WHERE token_hash = $1", p, a->n);
}

int store_node_by_token(struct store *st, const char *token_hash, struct hub_node *out)
{
    struct node_arg a = {.s = token_hash, .n = out};
    return store__ro(st, by_token_body, &a);
}

static int list_body(struct store_conn *sc, void *arg)
{
    struct node_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc, "SELECT " NODE_COLS " FROM nodes ORDER BY id", NULL, 0, &r));
    if (r.nrows > 0 && (a->list = calloc(r.nrows, sizeof *a->list)) == NULL) {
        store__res_free(&r);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < r.nrows; i++)
        node_from_row(&r, i, &a->list[i]);
    a->count = r.nrows;
    store__res_free(&r);
    return 0;
}

int store_node_list(struct store *st, struct hub_node **out, size_t *n)
{
    struct node_arg a = {0};
    int rc = store__ro(st, list_body, &a);
    *out = a.list;
    *n = a.count;
    return rc;
}

static int set_body(struct store_conn *sc, void *arg)
{
    struct node_arg *a = arg;
    const char *health = a->health >= 0 ? hub_health_name((enum hub_health)a->health) : NULL;
    struct store_val p[] = {SV_I(a->weight >= 0), SV_I(a->weight),      SV_I(a->draining >= 0),
                            SV_I(a->draining),    SV_I(health != NULL), SV_T(health ? health : ""),
                            SV_I(a->id)};
    struct store_res r;
    TRY(store__exec(sc,
                    "UPDATE nodes SET weight = CASE WHEN $1 = 1 THEN $2 ELSE weight END,"
                    " draining = CASE WHEN $3 = 1 THEN $4 ELSE draining END,"
                    " health = CASE WHEN $5 = 1 THEN $6 ELSE health END WHERE id = $7",
                    p, 7, &r));
    int64_t changed = r.changes;
    store__res_free(&r);
    if (changed != 1)
        return ERR_NOT_FOUND;
    return store__audit(sc, a->audit, a->now, "node", a->id);
}

int store_node_set(struct store *st, int64_t id, int64_t weight, int draining, int health, int64_t now,
                   const struct store_audit *audit)
{
    struct node_arg a = {
        .id = id, .weight = weight, .draining = draining, .health = health, .now = now, .audit = audit};
    return store__tx(st, set_body, &a);
}

static int delete_body(struct store_conn *sc, void *arg)
{
    struct node_arg *a = arg;
    struct store_val p[] = {SV_I(a->id)};
    struct store_res r;
    TRY(store__exec(sc, "DELETE FROM nodes WHERE id = $1", p, 1, &r));
    int64_t changed = r.changes;
    store__res_free(&r);
    if (changed != 1)
        return ERR_NOT_FOUND;
    TRY(store__exec(sc, "DELETE FROM usage_pushes WHERE node_id = $1", p, 1, NULL));
    return store__audit(sc, a->audit, a->now, "node", a->id);
}

int store_node_delete(struct store *st, int64_t id, int64_t now, const struct store_audit *audit)
{
    struct node_arg a = {.id = id, .now = now, .audit = audit};
    return store__tx(st, delete_body, &a);
}

static int update_body(struct store_conn *sc, void *arg)
{
    struct node_arg *a = arg;
    const struct hub_node *n = a->n;
    char *sids = join_list(n->n_short_ids, sizeof n->short_ids[0], n->short_ids[0]);
    char *sns = join_list(n->n_server_names, sizeof n->server_names[0], n->server_names[0]);
    int rc = ERR_NOMEM;
    if (sids == NULL || sns == NULL)
        goto out;
    struct store_val p[] = {SV_T(n->name),    SV_T(n->address),    SV_I(n->port),
                            SV_T(n->country), SV_T(n->public_key), SV_T(sids),
                            SV_T(sns),        SV_I(n->weight),     SV_I(n->usage_percent > 0 ? n->usage_percent : 100),
                            SV_I(n->id),      SV_T(n->group)};
    struct store_res r;
    rc = store__exec(sc,
                     "UPDATE nodes SET name = $1, address = $2, port = $3, country = $4, public_key = $5,"
                     " short_ids = $6, server_names = $7, weight = $8, usage_percent = $9, node_group = $11"
                     " WHERE id = $10",
                     p, 11, &r);
    if (rc < 0)
        goto out;
    rc = r.changes == 1 ? 0 : ERR_NOT_FOUND;
    store__res_free(&r);
    if (rc == 0)
        rc = store__audit(sc, a->audit, a->now, "node", n->id);
out:
    free(sids);
    free(sns);
    return rc;
}

int store_node_update(struct store *st, const struct hub_node *n, int64_t now, const struct store_audit *audit)
{
    struct node_arg a = {.n = (struct hub_node *)n, .now = now, .audit = audit};
    return store__tx(st, update_body, &a);
}

static int set_token_body(struct store_conn *sc, void *arg)
{
    struct node_arg *a = arg;
    struct store_val p[] = {SV_T(a->s), SV_I(a->id)};
    struct store_res r;
    TRY(store__exec(sc, "UPDATE nodes SET token_hash = $1 WHERE id = $2", p, 2, &r));
    int64_t changed = r.changes;
    store__res_free(&r);
    if (changed != 1)
        return ERR_NOT_FOUND;
    return store__audit(sc, a->audit, a->now, "node", a->id);
}

int store_node_set_token(struct store *st, int64_t id, const char *token_hash, int64_t now,
                         const struct store_audit *audit)
{
    struct node_arg a = {.id = id, .s = token_hash, .now = now, .audit = audit};
    return store__tx(st, set_token_body, &a);
}

static int stale_body(struct store_conn *sc, void *arg)
{
    struct node_arg *a = arg;
    struct store_val p[] = {SV_I(a->now - a->weight)};
    struct store_res r;
    TRY(store__exec(sc, "UPDATE nodes SET health = 'down' WHERE health = 'up' AND last_seen > 0 AND last_seen < $1", p,
                    1, &r));
    a->count = (size_t)r.changes;
    store__res_free(&r);
    return 0;
}

int store_node_mark_stale(struct store *st, int64_t now, int64_t stale_after, int64_t *n)
{
    struct node_arg a = {.now = now, .weight = stale_after};
    TRY(store__tx(st, stale_body, &a));
    if (n != NULL)
        *n = (int64_t)a.count;
    return 0;
}

static int touch_body(struct store_conn *sc, void *arg)
{
    struct node_arg *a = arg;
    struct store_val p[] = {SV_I(a->now), SV_I(a->id)};
    return store__exec(sc, "UPDATE nodes SET last_seen = $1, health = 'up' WHERE id = $2", p, 2, NULL);
}

int store_node_touch(struct store *st, int64_t id, int64_t now)
{
    struct node_arg a = {.id = id, .now = now};
    return store__tx(st, touch_body, &a);
}

struct load_arg {
    int64_t id, connections, cpu, bps;
    bool hot;
};

static int load_body(struct store_conn *sc, void *arg)
{
    struct load_arg *a = arg;
    struct store_val p[] = {SV_I(a->connections), SV_I(a->cpu), SV_I(a->bps), SV_I(a->id), SV_I(a->hot)};
    return store__exec(
        sc, "UPDATE nodes SET load_connections = $1, load_cpu = $2, load_bps = $3, hot = $5 WHERE id = $4", p, 5, NULL);
}

int store_node_set_load(struct store *st, int64_t id, int64_t connections, int64_t cpu, int64_t bps, bool hot)
{
    if (connections < 0 || cpu < 0 || bps < 0)
        return ERR_RANGE;
    struct load_arg a = {.id = id, .connections = connections, .cpu = cpu, .bps = bps, .hot = hot};
    return store__tx(st, load_body, &a);
}
