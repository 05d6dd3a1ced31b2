/* GET /api/v1/audit: the latest audit log entries. */
#include "core/err.h"
#include "hub/api/api_int.h"

void api__audit_list(struct api_call *c)
{
    int64_t limit = 100;
    const char *l = api__query(c, "limit");
    if (l != NULL && api_parse_uint_param(l, 1, 1000, &limit) < 0) {
        api__error(c, 400, "invalid_query", "limit must be 1..1000");
        return;
    }
    struct store_audit_row *rows;
    size_t n;
    int rc = store_audit_list(c->ctx->st, limit, &rows, &n);
    if (rc < 0) {
        api__store_error(c, rc, "audit log");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *det = NULL;
        if (rows[i].details != NULL)
            det = json_loads(rows[i].details, 0, NULL);
        json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:o}", "id", (json_int_t)rows[i].id, "actor",
                                             rows[i].actor, "action", rows[i].action, "target", rows[i].target, "at",
                                             (json_int_t)rows[i].at, "source_ip", rows[i].source_ip, "details",
                                             det ? det : json_null()));
    }
    store_audit_rows_free(rows, n);
    api__json(c, 200, json_pack("{s:o}", "entries", arr));
}
