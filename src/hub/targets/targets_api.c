/* /api/v1/targets (the pool) and /api/v1/nodes/{id}/target (a node's target: state, rotate, pin). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/api/api_route.h"
#include "hub/targets/targets_int.h"

#define ADD_MAX 1000 /* candidates in one POST */

static void store_fail(struct api_call *c, int rc, const char *what)
{
    if (rc == ERR_NOT_FOUND)
        api_reply_error(c, 404, "not_found", what);
    else
        api_reply_error(c, 500, "internal", "database error");
}

static json_t *pool_json(const struct targets_pool_row *t)
{
    return json_pack("{s:I,s:s,s:I,s:s,s:s,s:I,s:I,s:s,s:s,s:I,s:I,s:I}", "id", (json_int_t)t->id, "host", t->host,
                     "port", (json_int_t)t->port, "sni", t->sni, "region", t->region, "node_id", (json_int_t)t->node_id,
                     "score", (json_int_t)t->score, "state", t->state, "verdict", t->verdict, "rtt_ms",
                     (json_int_t)t->rtt_ms, "created_at", (json_int_t)t->created_at, "updated_at",
                     (json_int_t)t->updated_at);
}

static void on_list(struct api_call *c)
{
    const char *node = api_call_query(c, "node_id"), *region = api_call_query(c, "region");
    char *end = NULL;
    long long node_id = node ? strtoll(node, &end, 10) : 0;
    if ((node && (*node == '\0' || *end != '\0' || node_id < 0)) || (region && strlen(region) > 2)) {
        api_reply_error(c, 400, "invalid_query", "node_id: a node id; region: a country code");
        return;
    }
    struct targets_pool_row *rows;
    size_t n;
    int rc = targets__pool_list(api_call_store(c), node_id, region, &rows, &n);
    if (rc < 0) {
        store_fail(c, rc, "targets");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, pool_json(&rows[i]));
    free(rows);
    api_reply_json(c, 200, json_pack("{s:o}", "targets", arr));
}

/* One candidate from the body: `veil scan --json` rows are accepted as they are (their extra
 * keys are the scan's findings); "suitable": false is stored as bad. */
static int candidate(const json_t *o, size_t i, struct targets_pool_row *t, char *err, size_t cap)
{
    memset(t, 0, sizeof(*t));
    if (!json_is_object(o)) {
        snprintf(err, cap, "[%zu]: expected an object", i);
        return ERR_MALFORMED;
    }
    json_t *host = json_object_get(o, "host"), *port = json_object_get(o, "port"), *sni = json_object_get(o, "sni"),
           *region = json_object_get(o, "region"), *node = json_object_get(o, "node_id"),
           *score = json_object_get(o, "score"), *suitable = json_object_get(o, "suitable"),
           *verdict = json_object_get(o, "verdict"), *rtt = json_object_get(o, "rtt_ms");
    char hp[SYNC_HOSTPORT_MAX + 1];
    if (!json_is_string(host) || json_string_length(host) == 0 || json_string_length(host) >= sizeof(t->host)) {
        snprintf(err, cap, "[%zu].host: expected a host name or IP", i);
        return ERR_MALFORMED;
    }
    if (!json_is_integer(port) || json_integer_value(port) < 1 || json_integer_value(port) > 65535) {
        snprintf(err, cap, "[%zu].port: expected 1..65535", i);
        return ERR_MALFORMED;
    }
    memcpy(t->host, json_string_value(host), json_string_length(host) + 1);
    t->port = json_integer_value(port);
    targets_hostport(t->host, t->port, hp, sizeof(hp));
    if (!sync_target_valid(hp)) {
        snprintf(err, cap, "[%zu].host: expected a host name or IP", i);
        return ERR_MALFORMED;
    }
    struct sync_reality probe = {.rev = 1, .n_names = 1};
    if (!json_is_string(sni) || json_string_length(sni) == 0 || json_string_length(sni) > SYNC_SNI_MAX) {
        snprintf(err, cap, "[%zu].sni: expected the server name clients will send", i);
        return ERR_MALFORMED;
    }
    memcpy(t->sni, json_string_value(sni), json_string_length(sni) + 1);
    /* the name must be one a node can put in serverNames: checked by the sync codec */
    memcpy(probe.target, hp, strlen(hp) + 1);
    memcpy(probe.names[0], t->sni, strlen(t->sni) + 1);
    struct buf b;
    buf_init(&b);
    struct sync_users_resp m = {.full = true, .reality = probe};
    int rc = sync_users_resp_encode(&m, &b);
    buf_dispose(&b);
    if (rc < 0) {
        snprintf(err, cap, "[%zu].sni: not a DNS name", i);
        return ERR_MALFORMED;
    }
    if (region != NULL && (!json_is_string(region) || json_string_length(region) > 2)) {
        snprintf(err, cap, "[%zu].region: expected a country code or \"\"", i);
        return ERR_MALFORMED;
    }
    if (region)
        for (size_t k = 0; k < json_string_length(region); k++) {
            char ch = json_string_value(region)[k];
            if (ch < 'A' || ch > 'Z') {
                snprintf(err, cap, "[%zu].region: expected an upper-case country code", i);
                return ERR_MALFORMED;
            }
            t->region[k] = ch;
        }
    if (node != NULL && (!json_is_integer(node) || json_integer_value(node) < 0)) {
        snprintf(err, cap, "[%zu].node_id: expected a node id (0: any)", i);
        return ERR_MALFORMED;
    }
    t->node_id = node ? json_integer_value(node) : 0;
    if ((score != NULL && !json_is_integer(score)) || (rtt != NULL && !json_is_integer(rtt)) ||
        (suitable != NULL && !json_is_boolean(suitable)) ||
        (verdict != NULL && (!json_is_string(verdict) || json_string_length(verdict) > SYNC_VERDICT_MAX))) {
        snprintf(err, cap, "[%zu]: score/rtt_ms integers, suitable a boolean, verdict a short string", i);
        return ERR_MALFORMED;
    }
    t->score = score ? json_integer_value(score) : 0;
    t->rtt_ms = rtt && json_integer_value(rtt) > 0 ? json_integer_value(rtt) : 0;
    bool ok = suitable == NULL || json_is_true(suitable);
    snprintf(t->state, sizeof(t->state), "%s", ok ? "vetted" : "bad");
    snprintf(t->verdict, sizeof(t->verdict), "%s", verdict ? json_string_value(verdict) : ok ? "suitable" : "unknown");
    return 0;
}

static void on_add(struct api_call *c)
{
    size_t len;
    const char *body = api_call_body(c, &len);
    json_error_t je;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL) {
        api_reply_error(c, 400, "invalid_json", je.text);
        return;
    }
    json_t *list = json_is_array(doc) ? doc : json_object_get(doc, "targets");
    if (json_is_object(doc) && list == NULL) {
        list = json_array();
        json_array_append(list, doc);
    } else {
        json_incref(list);
    }
    json_decref(doc);
    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > ADD_MAX) {
        json_decref(list);
        api_reply_error(c, 422, "invalid_body", "expected a candidate, an array of 1..1000 or {\"targets\": [...]}");
        return;
    }
    size_t n = json_array_size(list);
    struct targets_pool_row *rows = calloc(n, sizeof(*rows));
    char err[160] = "";
    int rc = rows ? 0 : ERR_NOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = candidate(json_array_get(list, i), i, &rows[i], err, sizeof(err));
    json_decref(list);
    if (rc == ERR_MALFORMED) {
        free(rows);
        api_reply_error(c, 422, "invalid_body", err);
        return;
    }
    struct store_audit au = {.actor = api_call_actor(c), .source_ip = api_call_ip(c)};
    if (rc == 0)
        rc = targets__pool_add(api_call_store(c), rows, n, &au, api_call_now(c));
    free(rows);
    if (rc < 0) {
        store_fail(c, rc, "targets");
        return;
    }
    api_reply_json(c, 201, json_pack("{s:I}", "added", (json_int_t)n));
}

static void on_delete(struct api_call *c)
{
    struct store_audit au = {.actor = api_call_actor(c), .source_ip = api_call_ip(c)};
    int rc = targets__pool_delete(api_call_store(c), api_call_id(c), &au, api_call_now(c));
    if (rc < 0) {
        store_fail(c, rc, "target");
        return;
    }
    api_reply(c, 204, "application/json", "", 0);
}

static json_t *node_json(const struct targets_node *n, uint64_t failures)
{
    json_t *grace = json_array();
    for (size_t i = 0; grace && i < n->grace.n; i++)
        json_array_append_new(grace,
                              json_pack("{s:s,s:I}", "sni", n->grace.names[i], "until", (json_int_t)n->grace.until[i]));
    json_t *health = n->health[0] ? json_loads(n->health, 0, NULL) : NULL;
    return json_pack("{s:I,s:s,s:s,s:I,s:I,s:b,s:o,s:s,s:s,s:s,s:I,s:I,s:I,s:o}", "node_id", (json_int_t)n->node_id,
                     "target", n->target, "sni", n->sni, "target_id", (json_int_t)n->target_id, "rev",
                     (json_int_t)n->rev, "pinned", n->pinned, "grace", grace, "reported_target", n->reported_target,
                     "reported_sni", n->reported_sni, "verdict", n->verdict, "failures", (json_int_t)failures,
                     "reported_at", (json_int_t)n->reported_at, "rotated_at", (json_int_t)n->rotated_at, "health",
                     health ? health : json_null());
}

static void answer_node(struct api_call *c, int status, int64_t id)
{
    struct targets_cfg cfg;
    targets__cfg_get(&cfg);
    struct targets_node n;
    uint64_t failures = 0;
    int rc = targets__node_get(api_call_store(c), id, api_call_now(c) - (int64_t)cfg.window_sec, &n, &failures);
    if (rc < 0) {
        store_fail(c, rc, "node");
        return;
    }
    api_reply_json(c, status, node_json(&n, failures));
}

static void on_node_get(struct api_call *c)
{
    answer_node(c, 200, api_call_id(c));
}

/* POST /api/v1/nodes/{id}/rotate-target {"target_id"?: N, "pin"?: bool} */
static void on_rotate(struct api_call *c)
{
    size_t len;
    const char *body = api_call_body(c, &len);
    json_t *doc = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : json_object();
    json_t *tid = doc ? json_object_get(doc, "target_id") : NULL, *pin = doc ? json_object_get(doc, "pin") : NULL;
    bool ok = json_is_object(doc) && (tid == NULL || (json_is_integer(tid) && json_integer_value(tid) > 0)) &&
              (pin == NULL || json_is_boolean(pin)) && json_object_size(doc) == (size_t)(tid != NULL) + (pin != NULL);
    int64_t target_id = ok && tid ? json_integer_value(tid) : 0;
    int pinv = ok && pin ? json_is_true(pin) : -1;
    json_decref(doc);
    if (!ok) {
        api_reply_error(c, 422, "invalid_body", "body: {\"target_id\"?: a pool id, \"pin\"?: true|false}");
        return;
    }
    struct targets_cfg cfg;
    targets__cfg_get(&cfg);
    struct store_audit au = {.actor = api_call_actor(c), .source_ip = api_call_ip(c)};
    struct targets_node before, after;
    int64_t id = api_call_id(c);
    int rc = targets__node_get(api_call_store(c), id, 0, &before, NULL);
    if (rc == 0)
        rc = targets__rotate(api_call_store(c), &cfg, id, target_id, TARGETS_R_MANUAL, pinv, &au, api_call_now(c),
                             &after);
    if (rc < 0) {
        if (rc == ERR_NOT_FOUND)
            api_reply_error(c, 404, "not_found",
                            target_id ? "node or target"
                                      : "node, or no vetted target left for it (POST /api/v1/targets)");
        else
            store_fail(c, rc, "node");
        return;
    }
    targets__log_rotation(id, TARGETS_R_MANUAL, &before, &after, 0);
    api_call_changed(c, true);
    answer_node(c, 200, id);
}

/* PATCH /api/v1/nodes/{id}/target {"pinned": bool} */
static void on_pin(struct api_call *c)
{
    size_t len;
    const char *body = api_call_body(c, &len);
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *p = doc ? json_object_get(doc, "pinned") : NULL;
    bool ok = json_is_object(doc) && json_is_boolean(p) && json_object_size(doc) == 1;
    bool pinned = ok && json_is_true(p);
    json_decref(doc);
    if (!ok) {
        api_reply_error(c, 422, "invalid_body", "body: {\"pinned\": true|false}");
        return;
    }
    int rc = targets__set_pinned(api_call_store(c), api_call_id(c), pinned);
    if (rc < 0) {
        store_fail(c, rc, "node");
        return;
    }
    answer_node(c, 200, api_call_id(c));
}

void targets__routes(void)
{
    api_route_add_scoped("GET", "/api/v1/targets", API_AUTH_READ, API_SCOPE_NODES, on_list);
    api_route_add_scoped("POST", "/api/v1/targets", API_AUTH_ADMIN, API_SCOPE_NODES, on_add);
    api_route_add_scoped("DELETE", "/api/v1/targets/{id}", API_AUTH_ADMIN, API_SCOPE_NODES, on_delete);
    api_route_add_scoped("GET", "/api/v1/nodes/{id}/target", API_AUTH_READ, API_SCOPE_NODES, on_node_get);
    api_route_add_scoped("PATCH", "/api/v1/nodes/{id}/target", API_AUTH_ADMIN, API_SCOPE_NODES, on_pin);
    api_route_add_scoped("POST", "/api/v1/nodes/{id}/rotate-target", API_AUTH_ADMIN, API_SCOPE_NODES, on_rotate);
}
