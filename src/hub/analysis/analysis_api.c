/* GET /api/v1/findings (admin and support) and POST /api/v1/findings/{id}/ack (admin). */
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/analysis/analysis_api.h"
#include "hub/api/api_route.h"
#include "hub/api/api_valid.h"
#include "hub/store/store_findings.h"

static void store_failed(struct api_call *c, int rc)
{
    if (rc == ERR_NOT_FOUND) {
        api_reply_error(c, 404, "not_found", "finding not found");
    } else if (rc == ERR_TIMEOUT) {
        api_reply_error(c, 503, "busy", "database busy, retry");
    } else {
        log_err("analysis", 0, "store_error", LF_STR("err", err_str(rc)));
        api_reply_error(c, 500, "internal", "internal error");
    }
}

/* A filter value: short, printable, no quotes (it only ever meets a bound parameter). */
static bool filter_ok(const char *v)
{
    if (v == NULL)
        return true;
    size_t n = strlen(v);
    if (n == 0 || n > 96)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
            return false;
    return true;
}

static void on_list(struct api_call *c)
{
    struct store_finding_filter f = {.kind = api_call_query(c, "kind"),
                                     .state = api_call_query(c, "state"),
                                     .subject = api_call_query(c, "subject"),
                                     .limit = 100};
    const char *l = api_call_query(c, "limit");
    if (l != NULL && api_parse_uint_param(l, 1, 1000, &f.limit) < 0) {
        api_reply_error(c, 400, "invalid_query", "limit must be 1..1000");
        return;
    }
    if (!filter_ok(f.kind) || !filter_ok(f.subject) ||
        (f.state != NULL && strcmp(f.state, "open") != 0 && strcmp(f.state, "acknowledged") != 0)) {
        api_reply_error(c, 400, "invalid_query", "kind/subject: 1..96 printable characters; state: open|acknowledged");
        return;
    }
    struct store_finding *rows;
    size_t n;
    int rc = store_finding_list(api_call_store(c), &f, &rows, &n);
    if (rc < 0) {
        store_failed(c, rc);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *det = rows[i].details ? json_loads(rows[i].details, 0, NULL) : NULL;
        json_array_append_new(
            arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:I,s:I,s:I}", "id", (json_int_t)rows[i].id, "kind", rows[i].kind,
                           "subject", rows[i].subject, "severity", rows[i].severity, "state", rows[i].state, "details",
                           det ? det : json_object(), "first_seen", (json_int_t)rows[i].first_seen, "last_seen",
                           (json_int_t)rows[i].last_seen, "count", (json_int_t)rows[i].count));
    }
    store_findings_free(rows, n);
    api_reply_json(c, 200, json_pack("{s:o}", "findings", arr));
}

static void on_ack(struct api_call *c)
{
    struct store_audit a = {.actor = api_call_actor(c), .action = "finding.ack", .source_ip = api_call_ip(c)};
    int rc = store_finding_ack(api_call_store(c), api_call_id(c), api_call_now(c), &a);
    if (rc < 0) {
        store_failed(c, rc);
        return;
    }
    api_reply_json(c, 200, json_pack("{s:I,s:s}", "id", (json_int_t)api_call_id(c), "state", "acknowledged"));
}

void analysis_api_register(void)
{
    api_route_add("GET", "/api/v1/findings", API_AUTH_READ, on_list);
    api_route_add("POST", "/api/v1/findings/{id}/ack", API_AUTH_ADMIN, on_ack);
}
