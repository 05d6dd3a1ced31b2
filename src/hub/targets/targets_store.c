/* Target pool and per-node target state in the database (tables targets, node_targets,
 * target_failures: schema migration 10), through store_sql.h. */
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/store/store_sql.h"
#include "hub/targets/targets_int.h"

static _Atomic uint64_t stat_rot[TARGETS_R__COUNT], stat_none;

void targets_stats_get(struct targets_stats *out)
{
    for (int i = 0; i < TARGETS_R__COUNT; i++)
        out->rotations[i] = atomic_load(&stat_rot[i]);
    out->no_candidate = atomic_load(&stat_none);
}

/* ---- a node's state ---- */

static int state_read(struct store_conn *sc, int64_t node_id, struct targets_node *n)
{
    memset(n, 0, sizeof(*n));
    n->node_id = node_id;
    strcpy(n->verdict, "unknown");
    static const char sql[] = "SELECT target, sni, target_id, rev, pinned, grace, reported_target, reported_sni, "
                              "verdict, reported_at, rotated_at, health FROM node_targets WHERE node_id = $1";
    struct store_res r;
    TRY(store__exec(sc, sql, (struct store_val[]){SV_I(node_id)}, 1, &r));
    if (r.nrows == 1) {
        n->exists = true;
        store__cell_str(&r, 0, 0, n->target, sizeof(n->target));
        store__cell_str(&r, 0, 1, n->sni, sizeof(n->sni));
        n->target_id = store__cell_i64(&r, 0, 2);
        n->rev = store__cell_i64(&r, 0, 3);
        n->pinned = store__cell_i64(&r, 0, 4) != 0;
        targets_grace_parse(store__cell(&r, 0, 5), &n->grace);
        store__cell_str(&r, 0, 6, n->reported_target, sizeof(n->reported_target));
        store__cell_str(&r, 0, 7, n->reported_sni, sizeof(n->reported_sni));
        store__cell_str(&r, 0, 8, n->verdict, sizeof(n->verdict));
        n->reported_at = store__cell_i64(&r, 0, 9);
        n->rotated_at = store__cell_i64(&r, 0, 10);
        store__cell_str(&r, 0, 11, n->health, sizeof(n->health));
    }
    store__res_free(&r);
    return 0;
}

static int state_write(struct store_conn *sc, const struct targets_node *n)
{
    char grace[TARGETS_GRACE_MAX * 280];
    TRY(targets_grace_format(&n->grace, grace, sizeof(grace)));
    static const char sql[] =
        "INSERT INTO node_targets (node_id, target, sni, target_id, rev, pinned, grace, reported_target, "
        "reported_sni, verdict, reported_at, rotated_at, health) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
        "$11, $12, $13) ON CONFLICT (node_id) DO UPDATE SET target = $2, sni = $3, target_id = $4, rev = $5, "
        "pinned = $6, grace = $7, reported_target = $8, reported_sni = $9, verdict = $10, reported_at = $11, "
        "rotated_at = $12, health = $13";
    struct store_val p[] = {SV_I(n->node_id),      SV_T(n->target),  SV_T(n->sni),         SV_I(n->target_id),
                            SV_I(n->rev),          SV_I(n->pinned),  SV_T(grace),          SV_T(n->reported_target),
                            SV_T(n->reported_sni), SV_T(n->verdict), SV_I(n->reported_at), SV_I(n->rotated_at),
                            SV_T(n->health)};
    return store__exec(sc, sql, p, sizeof(p) / sizeof(p[0]), NULL);
}

struct node_arg {
    int64_t node_id, now;
    struct targets_node n;
    const struct sync_health *h;
    struct sync_reality *r;
    uint64_t failures;
    int64_t since;
};

static int get_body(struct store_conn *sc, void *arg)
{
    struct node_arg *a = arg;
    TRY(state_read(sc, a->node_id, &a->n));
    if (a->since > 0) {
        struct store_res r;
        TRY(store__exec(sc, "SELECT COALESCE(SUM(failures), 0) FROM target_failures WHERE node_id = $1 AND at > $2",
                        (struct store_val[]){SV_I(a->node_id), SV_I(a->since)}, 2, &r));
        a->failures = r.nrows == 1 ? (uint64_t)store__cell_i64(&r, 0, 0) : 0;
        store__res_free(&r);
    }
    return 0;
}

int targets__node_get(struct store *st, int64_t node_id, int64_t failures_since, struct targets_node *out,
                      uint64_t *failures)
{
    struct node_arg a = {.node_id = node_id, .since = failures_since};
    TRY(store__ro(st, get_body, &a));
    *out = a.n;
    if (failures)
        *failures = a.failures;
    return 0;
}

int targets_reality_for_node(struct store *st, int64_t node_id, int64_t now, struct sync_reality *out)
{
    memset(out, 0, sizeof(*out));
    struct targets_node n;
    TRY(targets__node_get(st, node_id, 0, &n, NULL));
    if (n.rev <= 0 || n.target[0] == '\0' || n.sni[0] == '\0')
        return 0;
    out->rev = (uint64_t)n.rev;
    snprintf(out->target, sizeof(out->target), "%s", n.target);
    snprintf(out->names[out->n_names++], sizeof(out->names[0]), "%s", n.sni);
    for (size_t i = 0; i < n.grace.n && out->n_names < SYNC_NAMES_MAX; i++)
        if (n.grace.until[i] > now && strcmp(n.grace.names[i], n.sni) != 0)
            snprintf(out->names[out->n_names++], sizeof(out->names[0]), "%s", n.grace.names[i]);
    return 0;
}

static int record_body(struct store_conn *sc, void *arg)
{
    struct node_arg *a = arg;
    const struct sync_target_health *t = &a->h->targets[0];
    TRY(state_read(sc, a->node_id, &a->n));
    struct targets_node *n = &a->n;
    /* The node reports its old target until it has pulled and applied a rotation. */
    bool current = n->target[0] == '\0' || (strcmp(n->target, t->target) == 0 && strcmp(n->sni, t->sni) == 0);
    snprintf(n->reported_target, sizeof(n->reported_target), "%s", t->target);
    snprintf(n->reported_sni, sizeof(n->reported_sni), "%s", t->sni);
    n->reported_at = a->now;
    json_t *j =
        json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:b,s:s,s:I,s:b,s:I,s:s,s:I}", "target", t->target, "sni", t->sni,
                  "dial_ok", (json_int_t)t->dial_ok, "dial_failed", (json_int_t)t->dial_failed, "checks_ok",
                  (json_int_t)t->checks_ok, "checks_failed", (json_int_t)t->checks_failed, "rtt_ms",
                  (json_int_t)t->rtt_ms, "tls13", t->tls13, "group", t->group, "cert_not_after",
                  (json_int_t)t->cert_not_after, "cert_names_sni", t->cert_names_sni, "layout_changes",
                  (json_int_t)t->layout_changes, "verdict", t->verdict, "checked_at", (json_int_t)t->checked_at);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    snprintf(n->health, sizeof(n->health), "%s", text && strlen(text) < sizeof(n->health) ? text : "{}");
    free(text);
    if (current)
        snprintf(n->verdict, sizeof(n->verdict), "%s", t->verdict);
    TRY(state_write(sc, n));
    uint64_t failures = t->dial_failed + t->checks_failed;
    if (!current || failures == 0)
        return 0;
    return store__exec(sc, "INSERT INTO target_failures (node_id, at, failures, verdict) VALUES ($1, $2, $3, $4)",
                       (struct store_val[]){SV_I(a->node_id), SV_I(a->now), SV_I(failures), SV_T(t->verdict)}, 4, NULL);
}

int targets_record_health(struct store *st, int64_t node_id, const struct sync_health *h, int64_t now)
{
    if (h->n_targets == 0)
        return 0;
    struct node_arg a = {.node_id = node_id, .now = now, .h = h};
    return store__tx(st, record_body, &a);
}

/* ---- rotation ---- */

struct rotate_arg {
    int64_t node_id, now, target_id;
    enum targets_reason reason;
    const struct targets_cfg *cfg;
    int pin; /* -1 keep, 0 unpin, 1 pin */
    const struct store_audit *audit;
    struct targets_node n;
    char from[SYNC_HOSTPORT_MAX + 1], from_sni[SYNC_SNI_MAX + 1];
};

/* The next vetted target for the node: its own pool first, then its region's, then the global
 * one; best score first; never the target it has (or reports). ERR_NOT_FOUND when none. */
static int pick(struct store_conn *sc, struct rotate_arg *a, const char *country, struct targets_pool_row *out)
{
    static const char sql[] =
        "SELECT id, host, port, sni FROM targets WHERE state = 'vetted' AND (node_id = $1 OR (node_id = 0 AND "
        "(region = '' OR region = $2))) ORDER BY CASE WHEN node_id = $1 THEN 0 WHEN region = $2 THEN 1 ELSE 2 END, "
        "score DESC, id";
    struct store_res r;
    TRY(store__exec(sc, sql, (struct store_val[]){SV_I(a->node_id), SV_T(country)}, 2, &r));
    int rc = ERR_NOT_FOUND;
    for (size_t i = 0; i < r.nrows && rc == ERR_NOT_FOUND; i++) {
        memset(out, 0, sizeof(*out));
        out->id = store__cell_i64(&r, i, 0);
        store__cell_str(&r, i, 1, out->host, sizeof(out->host));
        out->port = store__cell_i64(&r, i, 2);
        store__cell_str(&r, i, 3, out->sni, sizeof(out->sni));
        char hp[SYNC_HOSTPORT_MAX + 1];
        targets_hostport(out->host, out->port, hp, sizeof(hp));
        bool same = (strcmp(hp, a->from) == 0 && strcmp(out->sni, a->from_sni) == 0);
        if (!same)
            rc = 0;
    }
    store__res_free(&r);
    return rc;
}

static int rotate_body(struct store_conn *sc, void *arg)
{
    struct rotate_arg *a = arg;
    TRY(state_read(sc, a->node_id, &a->n));
    struct targets_node *n = &a->n;
    struct store_res r;
    TRY(store__exec(sc, "SELECT server_names, country FROM nodes WHERE id = $1", (struct store_val[]){SV_I(a->node_id)},
                    1, &r));
    if (r.nrows != 1) {
        store__res_free(&r);
        return ERR_NOT_FOUND;
    }
    char names[2048], country[8];
    store__cell_str(&r, 0, 0, names, sizeof(names));
    store__cell_str(&r, 0, 1, country, sizeof(country));
    store__res_free(&r);
    snprintf(a->from, sizeof(a->from), "%s", n->target[0] ? n->target : n->reported_target);
    snprintf(a->from_sni, sizeof(a->from_sni), "%s", n->target[0] ? n->sni : n->reported_sni);
    struct targets_pool_row next;
    if (a->target_id > 0) {
        TRY(store__exec(sc, "SELECT id, host, port, sni FROM targets WHERE id = $1",
                        (struct store_val[]){SV_I(a->target_id)}, 1, &r));
        if (r.nrows != 1) {
            store__res_free(&r);
            return ERR_NOT_FOUND;
        }
        memset(&next, 0, sizeof(next));
        next.id = store__cell_i64(&r, 0, 0);
        store__cell_str(&r, 0, 1, next.host, sizeof(next.host));
        next.port = store__cell_i64(&r, 0, 2);
        store__cell_str(&r, 0, 3, next.sni, sizeof(next.sni));
        store__res_free(&r);
    } else {
        TRY(pick(sc, a, country, &next));
    }
    /* Every name clients may hold stays accepted for the grace period. */
    int64_t until = a->now + (int64_t)a->cfg->grace_sec;
    for (char *s = names, *c; s != NULL && *s; s = c ? c + 1 : NULL) {
        c = strchr(s, ',');
        if (c)
            *c = '\0';
        if (strcmp(s, next.sni) != 0 && a->cfg->grace_sec > 0)
            targets_grace_add(&n->grace, s, until);
    }
    targets_grace_prune(&n->grace, next.sni, a->now);
    int64_t old_id = n->target_id;
    targets_hostport(next.host, next.port, n->target, sizeof(n->target));
    snprintf(n->sni, sizeof(n->sni), "%s", next.sni);
    n->target_id = next.id;
    n->rev++;
    n->rotated_at = a->now;
    strcpy(n->verdict, "unknown");
    if (a->pin >= 0)
        n->pinned = a->pin != 0;
    TRY(state_write(sc, n));
    TRY(store__exec(sc, "UPDATE nodes SET server_names = $1 WHERE id = $2",
                    (struct store_val[]){SV_T(next.sni), SV_I(a->node_id)}, 2, NULL));
    if (old_id > 0 && old_id != next.id && a->reason != TARGETS_R_MANUAL)
        TRY(store__exec(sc, "UPDATE targets SET state = 'bad', verdict = $1, updated_at = $2 WHERE id = $3",
                        (struct store_val[]){SV_T(n->verdict), SV_I(a->now), SV_I(old_id)}, 3, NULL));
    TRY(store__exec(sc, "DELETE FROM target_failures WHERE node_id = $1", (struct store_val[]){SV_I(a->node_id)}, 1,
                    NULL));
    int64_t rev;
    TRY(store__bump_revision(sc, &rev)); /* nodes learn of news from their next push answer */
    json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:b}", "reason", targets_reason_str(a->reason), "from", a->from,
                          "from_sni", a->from_sni, "to", n->target, "to_sni", n->sni, "target_id", (json_int_t)next.id,
                          "pinned", n->pinned);
    char *details = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    struct store_audit au = a->audit ? *a->audit : (struct store_audit){.actor = "scheduler"};
    au.action = "node.target_rotate";
    au.details = details;
    int rc = store__audit(sc, &au, a->now, "node", a->node_id);
    free(details);
    return rc;
}

int targets__rotate(struct store *st, const struct targets_cfg *cfg, int64_t node_id, int64_t target_id,
                    enum targets_reason reason, int pin, const struct store_audit *audit, int64_t now,
                    struct targets_node *out)
{
    struct rotate_arg a = {.node_id = node_id,
                           .now = now,
                           .target_id = target_id,
                           .reason = reason,
                           .cfg = cfg,
                           .pin = pin,
                           .audit = audit};
    int rc = store__tx(st, rotate_body, &a);
    if (rc == ERR_NOT_FOUND && target_id == 0)
        atomic_fetch_add(&stat_none, 1);
    if (rc == 0) {
        atomic_fetch_add(&stat_rot[(unsigned)reason < TARGETS_R__COUNT ? reason : 0], 1);
        if (out)
            *out = a.n;
    }
    return rc;
}

/* ---- the rule's pass ---- */

struct pass_arg {
    int64_t *ids;
    size_t n;
};

static int ids_body(struct store_conn *sc, void *arg)
{
    struct pass_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc, "SELECT node_id FROM node_targets ORDER BY node_id", NULL, 0, &r));
    a->ids = r.nrows ? calloc(r.nrows, sizeof(*a->ids)) : NULL;
    for (size_t i = 0; a->ids != NULL && i < r.nrows; i++)
        a->ids[a->n++] = store__cell_i64(&r, i, 0);
    int rc = r.nrows && a->ids == NULL ? ERR_NOMEM : 0;
    store__res_free(&r);
    return rc;
}

static int grace_body(struct store_conn *sc, void *arg)
{
    struct node_arg *a = arg;
    TRY(state_read(sc, a->node_id, &a->n));
    if (!targets_grace_prune(&a->n.grace, a->n.sni, a->now))
        return 0;
    a->n.rev++; /* the node drops the names whose grace is over */
    TRY(state_write(sc, &a->n));
    TRY(store__exec(sc, "DELETE FROM target_failures WHERE node_id = $1 AND at < $2",
                    (struct store_val[]){SV_I(a->node_id), SV_I(a->now - 86400)}, 2, NULL));
    a->failures = 1; /* changed */
    return 0;
}

int targets__pass(struct store *st, const struct targets_cfg *cfg, int64_t now, bool *changed)
{
    struct pass_arg p = {0};
    TRY(store__ro(st, ids_body, &p));
    int rc = 0;
    for (size_t i = 0; i < p.n && rc == 0; i++) {
        struct targets_node n;
        uint64_t failures = 0;
        rc = targets__node_get(st, p.ids[i], now - (int64_t)cfg->window_sec, &n, &failures);
        if (rc < 0)
            break;
        enum targets_reason why = targets_decide(cfg, failures, n.verdict, n.pinned, now, n.rotated_at);
        if (why != TARGETS_R_NONE) {
            struct targets_node after;
            int r2 = targets__rotate(st, cfg, p.ids[i], 0, why, -1, NULL, now, &after);
            if (r2 == 0) {
                *changed = true;
                targets__log_rotation(p.ids[i], why, &n, &after, failures);
            } else if (r2 == ERR_NOT_FOUND) {
                targets__log_stuck(p.ids[i], why, &n);
            } else {
                rc = r2;
            }
        }
        if (rc == 0 && n.grace.n > 0) {
            struct node_arg g = {.node_id = p.ids[i], .now = now};
            rc = store__tx(st, grace_body, &g);
            if (rc == 0 && g.failures)
                *changed = true;
        }
    }
    free(p.ids);
    return rc;
}

/* ---- the pool ---- */

struct pool_arg {
    const struct targets_pool_row *in;
    struct targets_pool_row *rows;
    size_t n;
    int64_t id, now, node_id;
    const char *region;
    const struct store_audit *audit;
};

static void pool_from(const struct store_res *r, size_t i, struct targets_pool_row *t)
{
    memset(t, 0, sizeof(*t));
    t->id = store__cell_i64(r, i, 0);
    store__cell_str(r, i, 1, t->host, sizeof(t->host));
    t->port = store__cell_i64(r, i, 2);
    store__cell_str(r, i, 3, t->sni, sizeof(t->sni));
    store__cell_str(r, i, 4, t->region, sizeof(t->region));
    t->node_id = store__cell_i64(r, i, 5);
    t->score = store__cell_i64(r, i, 6);
    store__cell_str(r, i, 7, t->state, sizeof(t->state));
    store__cell_str(r, i, 8, t->verdict, sizeof(t->verdict));
    t->rtt_ms = store__cell_i64(r, i, 9);
    t->created_at = store__cell_i64(r, i, 10);
    t->updated_at = store__cell_i64(r, i, 11);
}

#define POOL_COLS "id, host, port, sni, region, node_id, score, state, verdict, rtt_ms, created_at, updated_at"

static int list_body(struct store_conn *sc, void *arg)
{
    struct pool_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT " POOL_COLS " FROM targets WHERE ($1 = 0 OR node_id = $1 OR node_id = 0) AND "
                    "($2 = '' OR region = $2 OR region = '') ORDER BY state DESC, score DESC, id",
                    (struct store_val[]){SV_I(a->node_id), SV_T(a->region ? a->region : "")}, 2, &r));
    a->rows = r.nrows ? calloc(r.nrows, sizeof(*a->rows)) : NULL;
    int rc = r.nrows && a->rows == NULL ? ERR_NOMEM : 0;
    for (size_t i = 0; rc == 0 && i < r.nrows; i++)
        pool_from(&r, i, &a->rows[a->n++]);
    store__res_free(&r);
    return rc;
}

int targets__pool_list(struct store *st, int64_t node_id, const char *region, struct targets_pool_row **out, size_t *n)
{
    struct pool_arg a = {.node_id = node_id, .region = region};
    TRY(store__ro(st, list_body, &a));
    *out = a.rows;
    *n = a.n;
    return 0;
}

static int add_body(struct store_conn *sc, void *arg)
{
    struct pool_arg *a = arg;
    for (size_t i = 0; i < a->n; i++) {
        const struct targets_pool_row *t = &a->in[i];
        static const char sql[] =
            "INSERT INTO targets (host, port, sni, region, node_id, score, state, verdict, rtt_ms, created_at, "
            "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) ON CONFLICT (host, port, sni, region, "
            "node_id) DO UPDATE SET score = $6, state = $7, verdict = $8, rtt_ms = $9, updated_at = $10";
        struct store_val p[] = {SV_T(t->host),  SV_I(t->port),  SV_T(t->sni),     SV_T(t->region), SV_I(t->node_id),
                                SV_I(t->score), SV_T(t->state), SV_T(t->verdict), SV_I(t->rtt_ms), SV_I(a->now)};
        TRY(store__exec(sc, sql, p, sizeof(p) / sizeof(p[0]), NULL));
    }
    char details[64];
    snprintf(details, sizeof(details), "{\"candidates\":%zu}", a->n);
    struct store_audit au = *a->audit;
    au.action = "target.add";
    au.target = "targets";
    au.details = details;
    return store__audit(sc, &au, a->now, NULL, 0);
}

int targets__pool_add(struct store *st, const struct targets_pool_row *rows, size_t n, const struct store_audit *audit,
                      int64_t now)
{
    struct pool_arg a = {.in = rows, .n = n, .audit = audit, .now = now};
    return store__tx(st, add_body, &a);
}

static int del_body(struct store_conn *sc, void *arg)
{
    struct pool_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc, "DELETE FROM targets WHERE id = $1", (struct store_val[]){SV_I(a->id)}, 1, &r));
    int64_t changes = r.changes;
    store__res_free(&r);
    if (changes == 0)
        return ERR_NOT_FOUND;
    struct store_audit au = *a->audit;
    au.action = "target.delete";
    return store__audit(sc, &au, a->now, "target", a->id);
}

int targets__pool_delete(struct store *st, int64_t id, const struct store_audit *audit, int64_t now)
{
    struct pool_arg a = {.id = id, .audit = audit, .now = now};
    return store__tx(st, del_body, &a);
}

static int pin_body(struct store_conn *sc, void *arg)
{
    struct node_arg *a = arg;
    TRY(state_read(sc, a->node_id, &a->n));
    a->n.pinned = a->failures != 0;
    TRY(state_write(sc, &a->n));
    /* Failures seen while pinned are not held against the target once the rule applies again. */
    if (!a->n.pinned)
        TRY(store__exec(sc, "DELETE FROM target_failures WHERE node_id = $1", (struct store_val[]){SV_I(a->node_id)}, 1,
                        NULL));
    return 0;
}

int targets__set_pinned(struct store *st, int64_t node_id, bool pinned)
{
    struct node_arg a = {.node_id = node_id, .failures = pinned};
    return store__tx(st, pin_body, &a);
}
