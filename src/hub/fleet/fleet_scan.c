/* Node-run target scans (node_scans, schema migration 18): an operator asks a node to scan
 * candidates (POST /api/v1/nodes/{id}/scan, `veil node scan`); the oldest unfinished request
 * rides in the node's pull answers until its results come back (POST /api/v1/node/scan); the
 * rows are kept with the request and go into the target pool as that node's own candidates
 * (targets.node_id), which rotation prefers (hub/targets/targets.h), with the RTT from there. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/api/api_route.h"
#include "hub/fleet/fleet_int.h"
#include "ctl/sync.h"
#include "hub/store/store_sql.h"

/* ---- store ---- */

struct scan_arg {
    int64_t node_id, now, id;
    const struct sync_scan *req;
    struct sync_scan *out;
    const struct sync_scan_result *res;
    const char *text;
    const struct store_audit *audit;
    json_t *doc; /* GET: the latest request as JSON */
    int stored;
};

static json_t *request_json(const struct sync_scan *s)
{
    json_t *c = json_array();
    for (size_t i = 0; c != NULL && i < s->n; i++)
        json_array_append_new(c, json_string(s->candidates[i]));
    return json_pack("{s:o,s:s}", "candidates", c, "sni", s->sni);
}

/* Fills s from the stored request text; false when it does not parse (the column is ours). */
static bool request_parse(const char *text, int64_t id, struct sync_scan *s)
{
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    bool ok = json_is_object(o) && json_object_set_new(o, "id", json_integer(id)) == 0;
    char *full = ok ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    ok = full != NULL && sync_scan_request_decode(s, full, strlen(full), NULL) == 0 && s->id == (uint64_t)id;
    free(full);
    return ok;
}

static int add_body(struct store_conn *sc, void *arg)
{
    struct scan_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc, "SELECT id FROM nodes WHERE id = $1", (struct store_val[]){SV_I(a->node_id)}, 1, &r));
    bool found = r.nrows == 1;
    store__res_free(&r);
    if (!found)
        return ERR_NOT_FOUND;
    TRY(store__exec(sc,
                    "INSERT INTO node_scans (node_id, candidates, state, created_at) VALUES ($1, $2, 'pending', $3)"
                    " RETURNING id",
                    (struct store_val[]){SV_I(a->node_id), SV_T(a->text), SV_I(a->now)}, 3, &r));
    a->id = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    store__res_free(&r);
    char details[64];
    snprintf(details, sizeof details, "{\"scan\":%lld,\"candidates\":%zu}", (long long)a->id, a->req->n);
    struct store_audit au = *a->audit;
    au.details = details;
    return store__audit(sc, &au, a->now, "node", a->node_id);
}

int fleet__scan_add(struct store *st, int64_t node_id, const struct sync_scan *req, const struct store_audit *audit,
                    int64_t now, int64_t *id)
{
    json_t *j = request_json(req);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL)
        return ERR_NOMEM;
    struct scan_arg a = {.node_id = node_id, .now = now, .req = req, .text = text, .audit = audit};
    int rc = store__tx(st, add_body, &a);
    free(text);
    *id = a.id;
    return rc;
}

static int for_node_body(struct store_conn *sc, void *arg)
{
    struct scan_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT id, candidates, sent_at FROM node_scans WHERE node_id = $1 AND state <> 'done'"
                    " ORDER BY id LIMIT 1",
                    (struct store_val[]){SV_I(a->node_id)}, 1, &r));
    int rc = 0;
    if (r.nrows == 1) {
        int64_t id = store__cell_i64(&r, 0, 0);
        if (!request_parse(store__cell(&r, 0, 1), id, a->out)) {
            /* Unreadable: done with nothing, so it does not block the node's queue. */
            rc = store__exec(sc, "UPDATE node_scans SET state = 'done', done_at = $1 WHERE id = $2",
                             (struct store_val[]){SV_I(a->now), SV_I(id)}, 2, NULL);
            memset(a->out, 0, sizeof(*a->out));
        } else if (store__cell_i64(&r, 0, 2) == 0) {
            rc = store__exec(sc, "UPDATE node_scans SET state = 'sent', sent_at = $1 WHERE id = $2",
                             (struct store_val[]){SV_I(a->now), SV_I(id)}, 2, NULL);
        }
    }
    store__res_free(&r);
    return rc;
}

int fleet_scan_for_node(struct store *st, int64_t node_id, int64_t now, struct sync_scan *out)
{
    memset(out, 0, sizeof(*out));
    struct scan_arg a = {.node_id = node_id, .now = now, .out = out};
    return store__tx(st, for_node_body, &a);
}

static int results_body(struct store_conn *sc, void *arg)
{
    struct scan_arg *a = arg;
    int64_t changes = 0;
    TRY(store__exec_changes(
        sc,
        "UPDATE node_scans SET state = 'done', done_at = $1, results = $2"
        " WHERE id = $3 AND node_id = $4 AND state <> 'done'",
        (struct store_val[]){SV_I(a->now), SV_T(a->text), SV_I((int64_t)a->res->id), SV_I(a->node_id)}, 4, &changes));
    if (changes == 0)
        return ERR_NOT_FOUND;
    a->stored = 0;
    for (size_t i = 0; i < a->res->n; i++) {
        const struct sync_scan_row *r = &a->res->rows[i];
        if (r->sni[0] == '\0')
            continue; /* an IP whose certificate named nothing usable: no SNI to serve */
        /* The node's own candidate: rotation takes it before region and global ones. */
        TRY(store__exec(sc,
                        "INSERT INTO targets (host, port, sni, region, node_id, score, state, verdict, rtt_ms,"
                        " created_at, updated_at) VALUES ($1, $2, $3, '', $4, $5, $6, $7, $8, $9, $9)"
                        " ON CONFLICT (host, port, sni, region, node_id) DO UPDATE SET score = $5, state = $6,"
                        " verdict = $7, rtt_ms = $8, updated_at = $9",
                        (struct store_val[]){SV_T(r->host), SV_I(r->port), SV_T(r->sni), SV_I(a->node_id),
                                             SV_I(r->score), SV_T(r->suitable ? "vetted" : "bad"), SV_T(r->verdict),
                                             SV_I((int64_t)r->rtt_ms), SV_I(a->now)},
                        9, NULL));
        a->stored++;
    }
    char details[96];
    snprintf(details, sizeof details, "{\"scan\":%llu,\"rows\":%zu,\"pooled\":%d}", (unsigned long long)a->res->id,
             a->res->n, a->stored);
    char actor[32];
    snprintf(actor, sizeof actor, "node:%lld", (long long)a->node_id);
    struct store_audit au = {.actor = actor, .action = "node.scan_done", .details = details};
    return store__audit(sc, &au, a->now, "node", a->node_id);
}

int fleet__scan_results(struct store *st, int64_t node_id, const struct sync_scan_result *res, const char *text,
                        int64_t now, int *pooled)
{
    struct scan_arg a = {.node_id = node_id, .now = now, .res = res, .text = text};
    int rc = store__tx(st, results_body, &a);
    *pooled = rc == 0 ? a.stored : 0;
    return rc;
}

static int latest_body(struct store_conn *sc, void *arg)
{
    struct scan_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT id, candidates, state, results, created_at, sent_at, done_at FROM node_scans"
                    " WHERE node_id = $1 ORDER BY id DESC LIMIT 1",
                    (struct store_val[]){SV_I(a->node_id)}, 1, &r));
    int rc = r.nrows == 1 ? 0 : ERR_NOT_FOUND;
    if (rc == 0) {
        json_t *req = json_loads(store__cell(&r, 0, 1) ? store__cell(&r, 0, 1) : "", 0, NULL);
        const char *res_text = store__cell(&r, 0, 3);
        json_t *res = res_text && res_text[0] ? json_loads(res_text, 0, NULL) : NULL;
        json_t *rows = res ? json_incref(json_object_get(res, "results")) : NULL;
        json_decref(res);
        a->doc = json_pack("{s:I,s:I,s:s,s:O*,s:O*,s:I,s:I,s:I,s:o}", "id", (json_int_t)store__cell_i64(&r, 0, 0),
                           "node_id", (json_int_t)a->node_id, "state", store__cell(&r, 0, 2), "candidates",
                           req ? json_object_get(req, "candidates") : NULL, "sni",
                           req ? json_object_get(req, "sni") : NULL, "created_at",
                           (json_int_t)store__cell_i64(&r, 0, 4), "sent_at", (json_int_t)store__cell_i64(&r, 0, 5),
                           "done_at", (json_int_t)store__cell_i64(&r, 0, 6), "results", rows ? rows : json_array());
        json_decref(req);
        if (a->doc == NULL)
            rc = ERR_NOMEM;
    }
    store__res_free(&r);
    return rc;
}

/* ---- routes ---- */

static void store_fail(struct api_call *c, int rc, const char *what)
{
    if (rc == ERR_NOT_FOUND)
        api_reply_error(c, 404, "not_found", what);
    else
        api_reply_error(c, 500, "internal", "database error");
}

static void answer_latest(struct api_call *c, int status, int64_t node_id)
{
    struct scan_arg a = {.node_id = node_id};
    int rc = store__ro(api_call_store(c), latest_body, &a);
    if (rc < 0) {
        store_fail(c, rc, "scan");
        return;
    }
    api_reply_json(c, status, a.doc);
}

/* POST /api/v1/nodes/{id}/scan {"candidates": ["host[:port]" | "a.b.c.d/24", ...], "sni"?: "name"} */
static void on_scan_request(struct api_call *c)
{
    size_t len;
    const char *body = api_call_body(c, &len);
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    struct sync_scan req;
    struct sync_err se = {""};
    /* Only "candidates" and "sni"; then the request is read by the codec the node uses. */
    bool keys_ok = doc && json_is_object(doc) && json_object_size(doc) == 1 + (json_object_get(doc, "sni") != NULL);
    json_t *wrap = keys_ok ? json_deep_copy(doc) : NULL;
    char *text = NULL;
    if (wrap != NULL && json_object_set_new(wrap, "id", json_integer(1)) == 0)
        text = json_dumps(wrap, JSON_COMPACT);
    int rc = text ? sync_scan_request_decode(&req, text, strlen(text), &se) : ERR_MALFORMED;
    free(text);
    json_decref(wrap);
    json_decref(doc);
    if (rc < 0) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "body: {\"candidates\": [1..%d of host[:port] or an IPv4 CIDR /24..32], \"sni\"?}%s%s",
                 SYNC_SCAN_CANDIDATES_MAX, se.msg[0] ? ": " : "", se.msg);
        api_reply_error(c, 422, "invalid_body", msg);
        return;
    }
    struct store_audit au = {.actor = api_call_actor(c), .action = "node.scan", .source_ip = api_call_ip(c)};
    int64_t id = 0;
    rc = fleet__scan_add(api_call_store(c), api_call_id(c), &req, &au, api_call_now(c), &id);
    if (rc < 0) {
        store_fail(c, rc, "node");
        return;
    }
    answer_latest(c, 201, api_call_id(c));
}

static void on_scan_get(struct api_call *c)
{
    answer_latest(c, 200, api_call_id(c));
}

/* POST /api/v1/node/scan: a node's results ({"v":1,"id":N,"results":[...]}), in the sync
 * protocol's error shape. */
static void on_scan_results(struct api_call *c)
{
    size_t len;
    const char *body = api_call_body(c, &len);
    struct sync_scan_result m;
    struct sync_err se;
    if (sync_scan_result_decode(&m, body, len, &se) < 0) {
        api_reply_json(c, 400, json_pack("{s:i,s:s}", "v", 1, "error", se.msg));
        return;
    }
    int pooled = 0;
    int64_t node_id = api_call_node_id(c);
    int rc = fleet__scan_results(api_call_store(c), node_id, &m, body, api_call_now(c), &pooled);
    size_t rows = m.n;
    uint64_t id = m.id;
    sync_scan_result_dispose(&m);
    if (rc == ERR_NOT_FOUND) {
        api_reply_json(c, 404, json_pack("{s:i,s:s}", "v", 1, "error", "no open scan with this id for this node"));
        return;
    }
    if (rc < 0) {
        api_reply_error(c, 500, "internal", "database error");
        return;
    }
    log_info("fleet", 0, "node_scan_done", LF_INT("node", node_id), LF_UINT("scan", id), LF_UINT("rows", rows),
             LF_INT("pooled", pooled));
    api_reply_json(c, 200, json_pack("{s:i,s:I,s:I}", "v", 1, "rows", (json_int_t)rows, "pooled", (json_int_t)pooled));
}

void fleet__scan_routes(void)
{
    api_route_add_scoped("POST", "/api/v1/nodes/{id}/scan", API_AUTH_ADMIN, API_SCOPE_NODES, on_scan_request);
    api_route_add_scoped("GET", "/api/v1/nodes/{id}/scan", API_AUTH_READ, API_SCOPE_NODES, on_scan_get);
    api_route_add_ex(&(struct api_route){.method = "POST",
                                         .pattern = "/api/v1/node/scan",
                                         .auth = API_AUTH_NODE,
                                         .handler = on_scan_results,
                                         .body_max = SYNC_SCAN_ROWS_MAX * 1024});
}
