/* Scan requests and results of the node sync (sync_scan.h), with jansson. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "ctl/sync.h"
#include "ctl/sync_int.h"
#include "ctl/sync_scan.h"

bool sync_scan_candidate_valid(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (len == 0 || len > SYNC_SCAN_CANDIDATE_MAX)
        return false;
    const char *slash = strchr(s, '/');
    if (slash != NULL) {
        char ip[16];
        size_t il = (size_t)(slash - s);
        char *end;
        long bits = strtol(slash + 1, &end, 10);
        struct in_addr a;
        if (il == 0 || il >= sizeof(ip) || slash[1] < '0' || slash[1] > '9' || *end != '\0' || bits < 24 || bits > 32)
            return false;
        memcpy(ip, s, il);
        ip[il] = '\0';
        return inet_pton(AF_INET, ip, &a) == 1;
    }
    if (sync_target_valid(s))
        return true;
    /* A host without a port (443 is meant). */
    char hp[SYNC_SCAN_CANDIDATE_MAX + 8];
    snprintf(hp, sizeof(hp), "%s:443", s);
    return strchr(s, ':') == NULL && sync_target_valid(hp);
}

static bool host_valid(const char *s)
{
    char hp[SYNC_SCAN_HOST_MAX + 8];
    snprintf(hp, sizeof(hp), strchr(s, ':') ? "[%s]:443" : "%s:443", s);
    return s[0] != '\0' && strlen(s) <= SYNC_SCAN_HOST_MAX && sync_target_valid(hp);
}

json_t *sync__scan_to_json(const struct sync_scan *s)
{
    if (s->n == 0 || s->n > SYNC_SCAN_CANDIDATES_MAX || (s->sni[0] && !host_valid(s->sni)))
        return NULL;
    json_t *o = json_object(), *c = json_array();
    bool ok = o != NULL && c != NULL && s->id <= INT64_MAX;
    for (size_t i = 0; ok && i < s->n; i++)
        ok =
            sync_scan_candidate_valid(s->candidates[i]) && json_array_append_new(c, json_string(s->candidates[i])) == 0;
    ok = ok && json_object_set_new(o, "id", json_integer((json_int_t)s->id)) == 0 &&
         json_object_set(o, "candidates", c) == 0 && json_object_set_new(o, "sni", json_string(s->sni)) == 0;
    json_decref(c);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int sync__scan_from_json(const json_t *root, struct sync_scan *s, struct sync_err *err)
{
    memset(s, 0, sizeof(*s));
    json_t *o = json_object_get(root, "scan");
    if (o == NULL)
        return 0;
    json_t *id = json_object_get(o, "id"), *c = json_object_get(o, "candidates"), *sni = json_object_get(o, "sni");
    if (!json_is_object(o))
        return sync__fail(err, ERR_MALFORMED, "scan: expected an object");
    if (!json_is_integer(id) || json_integer_value(id) < 1)
        return sync__fail(err, ERR_MALFORMED, "scan.id: expected a positive integer");
    if (!json_is_array(c) || json_array_size(c) == 0)
        return sync__fail(err, ERR_MALFORMED, "scan.candidates: expected a non-empty array");
    if (json_array_size(c) > SYNC_SCAN_CANDIDATES_MAX)
        return sync__fail(err, ERR_LIMIT, "scan.candidates: more than %d", SYNC_SCAN_CANDIDATES_MAX);
    if (sni != NULL && (!json_is_string(sni) || (json_string_length(sni) > 0 && !host_valid(json_string_value(sni)))))
        return sync__fail(err, ERR_MALFORMED, "scan.sni: expected a host name or \"\"");
    for (size_t i = 0; i < json_array_size(c); i++) {
        json_t *v = json_array_get(c, i);
        if (!json_is_string(v) || !sync_scan_candidate_valid(json_string_value(v))) {
            memset(s, 0, sizeof(*s));
            return sync__fail(err, ERR_MALFORMED,
                              "scan.candidates[%zu]: expected host[:port] or an IPv4 CIDR (/24..32)", i);
        }
        memcpy(s->candidates[i], json_string_value(v), json_string_length(v) + 1);
    }
    s->n = json_array_size(c);
    s->id = (uint64_t)json_integer_value(id);
    if (sni != NULL)
        memcpy(s->sni, json_string_value(sni), json_string_length(sni) + 1);
    return 0;
}

int sync_scan_request_decode(struct sync_scan *s, const char *json, size_t len, struct sync_err *err)
{
    memset(s, 0, sizeof(*s));
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *root = json_is_object(o) ? json_pack("{s:O}", "scan", o) : NULL;
    int rc =
        root != NULL ? sync__scan_from_json(root, s, err) : sync__fail(err, ERR_MALFORMED, "scan: expected an object");
    json_decref(root);
    json_decref(o);
    return rc;
}

int sync_scan_result_encode(const struct sync_scan_result *m, struct buf *out)
{
    json_t *root = json_object(), *rows = json_array();
    bool ok = root != NULL && rows != NULL && m->id >= 1 && m->id <= INT64_MAX && m->n <= SYNC_SCAN_ROWS_MAX;
    for (size_t i = 0; ok && i < m->n; i++) {
        const struct sync_scan_row *r = &m->rows[i];
        ok = host_valid(r->host) && r->port > 0 && r->rtt_ms <= INT64_MAX &&
             json_array_append_new(rows,
                                   json_pack("{s:s,s:i,s:s,s:b,s:s,s:I,s:I}", "host", r->host, "port", (int)r->port,
                                             "sni", r->sni, "suitable", r->suitable, "verdict", r->verdict, "rtt_ms",
                                             (json_int_t)r->rtt_ms, "score", (json_int_t)r->score)) == 0;
    }
    ok = ok && json_object_set_new(root, "v", json_integer(SYNC_VERSION)) == 0 &&
         json_object_set_new(root, "id", json_integer((json_int_t)m->id)) == 0 &&
         json_object_set(root, "results", rows) == 0;
    json_decref(rows);
    char *text = ok ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (text == NULL)
        return ok ? ERR_NOMEM : ERR_RANGE;
    int rc = buf_append(out, text, strlen(text));
    free(text);
    return rc;
}

static int row_from(const json_t *o, size_t i, struct sync_scan_row *r, struct sync_err *err)
{
    if (!json_is_object(o))
        return sync__fail(err, ERR_MALFORMED, "results[%zu]: expected an object", i);
    json_t *host = json_object_get(o, "host"), *port = json_object_get(o, "port"), *sni = json_object_get(o, "sni"),
           *suitable = json_object_get(o, "suitable"), *verdict = json_object_get(o, "verdict"),
           *rtt = json_object_get(o, "rtt_ms"), *score = json_object_get(o, "score");
    if (!json_is_string(host) || !host_valid(json_string_value(host)))
        return sync__fail(err, ERR_MALFORMED, "results[%zu].host: expected a host name or IP", i);
    if (!json_is_integer(port) || json_integer_value(port) < 1 || json_integer_value(port) > 65535)
        return sync__fail(err, ERR_MALFORMED, "results[%zu].port: expected 1..65535", i);
    if (!json_is_string(sni) || (json_string_length(sni) > 0 && !host_valid(json_string_value(sni))))
        return sync__fail(err, ERR_MALFORMED, "results[%zu].sni: expected a host name or \"\"", i);
    if (!json_is_boolean(suitable))
        return sync__fail(err, ERR_MALFORMED, "results[%zu].suitable: expected true or false", i);
    if (!json_is_string(verdict) || json_string_length(verdict) == 0 ||
        json_string_length(verdict) >= sizeof(r->verdict))
        return sync__fail(err, ERR_MALFORMED, "results[%zu].verdict: expected a verdict code", i);
    if (!json_is_integer(rtt) || json_integer_value(rtt) < 0)
        return sync__fail(err, ERR_RANGE, "results[%zu].rtt_ms: expected 0 or more", i);
    if (!json_is_integer(score) || json_integer_value(score) < 0)
        return sync__fail(err, ERR_RANGE, "results[%zu].score: expected 0 or more", i);
    for (const char *p = json_string_value(verdict); *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return sync__fail(err, ERR_MALFORMED, "results[%zu].verdict: expected [a-z0-9_]", i);
    memcpy(r->host, json_string_value(host), json_string_length(host) + 1);
    r->port = (uint16_t)json_integer_value(port);
    memcpy(r->sni, json_string_value(sni), json_string_length(sni) + 1);
    r->suitable = json_is_true(suitable);
    memcpy(r->verdict, json_string_value(verdict), json_string_length(verdict) + 1);
    r->rtt_ms = (uint64_t)json_integer_value(rtt);
    r->score = json_integer_value(score);
    return 0;
}

static int result_from(struct sync_scan_result *m, const json_t *root, struct sync_err *err)
{
    json_t *v = json_object_get(root, "v"), *id = json_object_get(root, "id"), *rows = json_object_get(root, "results");
    if (!json_is_integer(v))
        return sync__fail(err, ERR_MALFORMED, "v: expected the integer %d", SYNC_VERSION);
    if (json_integer_value(v) != SYNC_VERSION)
        return sync__fail(err, ERR_UNSUPPORTED, "v: version not supported");
    if (!json_is_integer(id) || json_integer_value(id) < 1)
        return sync__fail(err, ERR_MALFORMED, "id: expected a positive integer");
    if (!json_is_array(rows))
        return sync__fail(err, ERR_MALFORMED, "results: expected an array");
    size_t n = json_array_size(rows);
    if (n > SYNC_SCAN_ROWS_MAX)
        return sync__fail(err, ERR_LIMIT, "results: more than %d rows", SYNC_SCAN_ROWS_MAX);
    m->id = (uint64_t)json_integer_value(id);
    if (n > 0 && (m->rows = calloc(n, sizeof(*m->rows))) == NULL)
        return sync__fail(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        TRY(row_from(json_array_get(rows, i), i, &m->rows[i], err));
        m->n = i + 1;
    }
    return 0;
}

int sync_scan_result_decode(struct sync_scan_result *m, const char *json, size_t len, struct sync_err *err)
{
    memset(m, 0, sizeof(*m));
    if (len > SYNC_SCAN_ROWS_MAX * 1024u)
        return sync__fail(err, ERR_TOO_LONG, "body too long");
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return sync__fail(err, json_error_code(&je) == json_error_numeric_overflow ? ERR_RANGE : ERR_MALFORMED,
                          "invalid JSON at line %d column %d: %s", je.line, je.column, je.text);
    int rc = json_is_object(root) ? result_from(m, root, err)
                                  : sync__fail(err, ERR_MALFORMED, "top level: expected an object");
    json_decref(root);
    if (rc < 0)
        sync_scan_result_dispose(m);
    return rc;
}

void sync_scan_result_dispose(struct sync_scan_result *m)
{
    if (m == NULL)
        return;
    free(m->rows);
    memset(m, 0, sizeof(*m));
}
