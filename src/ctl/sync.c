/* Node <-> hub sync messages: JSON encode and strict decode with jansson (docs/sync-protocol.md). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/cfg.h"
#include "core/enc.h"
#include "core/err.h"
#include "ctl/sync.h"
#include "ctl/sync_int.h"

#define FLOW_VISION "xtls-rprx-vision"

/* ---- shared helpers ---- */

int sync__fail(struct sync_err *err, int rc, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Xray's id rule (spec/vless.md §3): a UUID text of 32..36 characters, or any 1..30 bytes. */
static bool uuid_text_valid(const char *s, size_t len)
{
    uint8_t id[16];
    if (len >= 1 && len <= 30)
        return true;
    return len >= 32 && len <= 36 && uuid_parse(id, s, len) == 0;
}

bool sync_push_id_valid(const char *s, size_t len)
{
    if (len < 8 || len > SYNC_PUSH_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* ---- encoding ---- */

static json_t *jint(uint64_t v)
{
    if (v > (uint64_t)INT64_MAX)
        return NULL;
    return json_integer((json_int_t)v);
}

/* json_object_set_new that turns a NULL value (range error or OOM) into a failure. */
static bool jset(json_t *o, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(o, key, v) == 0;
}

static bool jappend(json_t *a, json_t *v)
{
    return v != NULL && json_array_append_new(a, v) == 0;
}

/* Appends the compact serialisation of root to out and releases root. */
static int emit(json_t *root, struct buf *out)
{
    if (root == NULL)
        return ERR_RANGE;
    size_t n = json_dumpb(root, NULL, 0, JSON_COMPACT);
    int rc = ERR_NOMEM;
    if (n > 0 && buf_reserve(out, n) == 0) {
        size_t w = json_dumpb(root, (char *)buf_tail(out), n, JSON_COMPACT);
        if (w == n) {
            buf_produce(out, n);
            rc = 0;
        }
    }
    json_decref(root);
    return rc;
}

static json_t *user_to_json(const struct sync_user *u)
{
    json_t *o = json_object(), *lim = json_object();
    size_t ul = strnlen(u->uuid, sizeof(u->uuid));
    bool ok = o != NULL && lim != NULL && ul < sizeof(u->uuid) && uuid_text_valid(u->uuid, ul) &&
              (u->flow[0] == '\0' || strcmp(u->flow, FLOW_VISION) == 0) &&
              strnlen(u->email, sizeof(u->email)) < sizeof(u->email) && jset(o, "id", jint(u->id)) &&
              jset(o, "uuid", json_string(u->uuid)) && jset(o, "email", json_string(u->email)) &&
              jset(o, "flow", json_string(u->flow)) && jset(lim, "devices", jint(u->device_limit)) &&
              jset(lim, "speed", jint(u->speed_limit)) && jset(lim, "conns", jint(u->max_conns));
    if (ok) {
        ok = json_object_set_new(o, "limits", lim) == 0;
        lim = NULL;
    }
    json_decref(lim);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int sync_users_resp_encode(const struct sync_users_resp *m, struct buf *out)
{
    if (m->full && m->n_removed > 0)
        return ERR_RANGE;
    json_t *root = json_object(), *users = json_array(), *removed = json_array();
    bool ok = root != NULL && users != NULL && removed != NULL;
    for (size_t i = 0; ok && i < m->n_users; i++)
        ok = jappend(users, user_to_json(&m->users[i]));
    for (size_t i = 0; ok && i < m->n_removed; i++)
        ok = jappend(removed, jint(m->removed[i]));
    ok = ok && jset(root, "v", json_integer(SYNC_VERSION)) && jset(root, "revision", jint(m->revision)) &&
         jset(root, "full", json_boolean(m->full)) && jset(root, "users", json_incref(users)) &&
         jset(root, "removed", json_incref(removed));
    if (ok && m->reality.rev != 0) {
        json_t *r = sync__reality_to_json(&m->reality);
        ok = r != NULL && jset(root, "reality", r);
    }
    if (ok && m->scan.id != 0)
        ok = jset(root, "scan", sync__scan_to_json(&m->scan));
    json_decref(users);
    json_decref(removed);
    if (!ok) {
        json_decref(root);
        return root == NULL ? ERR_NOMEM : ERR_RANGE;
    }
    return emit(root, out);
}

int sync_usage_req_encode(const struct sync_usage_req *m, struct buf *out)
{
    size_t pl = strnlen(m->push_id, sizeof(m->push_id));
    if (!sync_push_id_valid(m->push_id, pl))
        return ERR_RANGE;
    json_t *root = json_object(), *usage = json_array(), *health = json_object();
    bool ok = root != NULL && usage != NULL && health != NULL;
    for (size_t i = 0; ok && i < m->n_entries; i++) {
        const struct sync_usage_entry *e = &m->entries[i];
        json_t *o = json_object();
        ok = o != NULL && jset(o, "id", jint(e->id)) && jset(o, "up", jint(e->up)) && jset(o, "down", jint(e->down)) &&
             (e->bt == 0 || jset(o, "bt", jint(e->bt))) && (e->smtp == 0 || jset(o, "smtp", jint(e->smtp)));
        if (ok)
            ok = jappend(usage, o);
        else
            json_decref(o);
    }
    const struct sync_health *h = &m->health;
    ok = ok && strnlen(h->version, sizeof(h->version)) < sizeof(h->version) &&
         jset(health, "connections", jint(h->connections)) && jset(health, "uptime", jint(h->uptime)) &&
         jset(health, "revision", jint(h->revision)) && jset(health, "version", json_string(h->version)) &&
         h->cpu <= 100 && jset(health, "cpu", jint(h->cpu)) && jset(health, "bps", jint(h->bytes_per_sec)) &&
         jset(health, "handshakes", jint(h->handshakes)) &&
         (h->n_targets == 0 || jset(health, "targets", sync__targets_to_json(h))) &&
         (h->n_probes == 0 || jset(health, "probes", sync__probes_to_json(h))) &&
         jset(root, "v", json_integer(SYNC_VERSION)) && jset(root, "push_id", json_string(m->push_id)) &&
         jset(root, "usage", json_incref(usage)) && jset(root, "health", json_incref(health));
    json_decref(usage);
    json_decref(health);
    if (!ok) {
        json_decref(root);
        return root == NULL ? ERR_NOMEM : ERR_RANGE;
    }
    return emit(root, out);
}

int sync_usage_resp_encode(const struct sync_usage_resp *m, struct buf *out)
{
    json_t *root = json_object();
    if (root == NULL)
        return ERR_NOMEM;
    if (!(jset(root, "v", json_integer(SYNC_VERSION)) && jset(root, "duplicate", json_boolean(m->duplicate)) &&
          jset(root, "revision", jint(m->revision)))) {
        json_decref(root);
        return ERR_RANGE;
    }
    return emit(root, out);
}

/* ---- decoding ---- */

static json_t *load(const char *json, size_t len, struct sync_err *err, int *rc)
{
    if (len > SYNC_BODY_MAX) {
        *rc = sync__fail(err, ERR_TOO_LONG, "body larger than %u bytes", SYNC_BODY_MAX);
        return NULL;
    }
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        int code = json_error_code(&je) == json_error_numeric_overflow ? ERR_RANGE : ERR_MALFORMED;
        *rc = sync__fail(err, code, "invalid JSON at line %d column %d: %s", je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        *rc = sync__fail(err, ERR_MALFORMED, "top level: expected an object");
        return NULL;
    }
    json_t *v = json_object_get(root, "v");
    if (v == NULL || !json_is_integer(v)) {
        json_decref(root);
        *rc = sync__fail(err, ERR_MALFORMED, "v: expected the integer %d", SYNC_VERSION);
        return NULL;
    }
    json_int_t ver = json_integer_value(v);
    if (ver != SYNC_VERSION) {
        json_decref(root);
        *rc = sync__fail(err, ERR_UNSUPPORTED, "v: version %" JSON_INTEGER_FORMAT " not supported", ver);
        return NULL;
    }
    *rc = 0;
    return root;
}

/* Reads obj[key] as an integer in 0..max. `where` prefixes the error ("users[3]."). A missing
 * key yields 0 when optional. */
static int get_uint(const json_t *obj, const char *where, const char *key, uint64_t max, bool optional, uint64_t *out,
                    struct sync_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (optional) {
            *out = 0;
            return 0;
        }
        return sync__fail(err, ERR_MALFORMED, "%s%s: missing", where, key);
    }
    int64_t x = 0;
    int rc = cfg_value_int(v, 0, max > INT64_MAX ? INT64_MAX : (int64_t)max, &x);
    if (rc == ERR_MALFORMED)
        return sync__fail(err, ERR_MALFORMED, "%s%s: expected an integer", where, key);
    if (rc < 0)
        return sync__fail(err, ERR_RANGE, "%s%s: out of range", where, key);
    *out = (uint64_t)x;
    return 0;
}

/* Copies obj[key] (a string without NUL, shorter than cap) into dst; "" when optional and absent. */
static int get_str(const json_t *obj, const char *where, const char *key, char *dst, size_t cap, bool optional,
                   struct sync_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (optional) {
            dst[0] = '\0';
            return 0;
        }
        return sync__fail(err, ERR_MALFORMED, "%s%s: missing", where, key);
    }
    const char *s;
    size_t n;
    int rc = cfg_value_str(v, cap, &s, &n);
    if (rc == ERR_TOO_LONG)
        return sync__fail(err, ERR_RANGE, "%s%s: longer than %zu bytes", where, key, cap - 1);
    if (rc < 0)
        return sync__fail(err, ERR_MALFORMED, "%s%s: expected a string", where, key);
    memcpy(dst, s, n + 1);
    return 0;
}

static int get_bool(const json_t *obj, const char *key, bool *out, struct sync_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return sync__fail(err, ERR_MALFORMED, "%s: missing", key);
    if (!json_is_boolean(v))
        return sync__fail(err, ERR_MALFORMED, "%s: expected true or false", key);
    *out = json_is_true(v);
    return 0;
}

/* obj[key] as an array of at most max elements; NULL (and an empty result) when optional and absent. */
static int get_array(const json_t *obj, const char *key, size_t max, bool optional, json_t **out, struct sync_err *err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL)
        return optional ? 0 : sync__fail(err, ERR_MALFORMED, "%s: missing", key);
    if (!json_is_array(v))
        return sync__fail(err, ERR_MALFORMED, "%s: expected an array", key);
    if (json_array_size(v) > max)
        return sync__fail(err, ERR_LIMIT, "%s: more than %zu elements", key, max);
    *out = v;
    return 0;
}

static int decode_user(const json_t *o, size_t i, struct sync_user *u, struct sync_err *err)
{
    char where[48];
    snprintf(where, sizeof(where), "users[%zu].", i);
    if (!json_is_object(o))
        return sync__fail(err, ERR_MALFORMED, "users[%zu]: expected an object", i);
    uint64_t v;
    TRY(get_uint(o, where, "id", INT64_MAX, false, &u->id, err));
    TRY(get_str(o, where, "uuid", u->uuid, sizeof(u->uuid), false, err));
    if (!uuid_text_valid(u->uuid, strlen(u->uuid)))
        return sync__fail(err, ERR_MALFORMED, "%suuid: not a UUID or a 1..30-byte id", where);
    TRY(get_str(o, where, "email", u->email, sizeof(u->email), true, err));
    TRY(get_str(o, where, "flow", u->flow, sizeof(u->flow), false, err));
    if (u->flow[0] != '\0' && strcmp(u->flow, FLOW_VISION) != 0)
        return sync__fail(err, ERR_UNSUPPORTED, "%sflow: unsupported value", where);
    json_t *lim = json_object_get(o, "limits");
    if (lim == NULL)
        return 0; /* no limits: all unlimited */
    if (!json_is_object(lim))
        return sync__fail(err, ERR_MALFORMED, "%slimits: expected an object", where);
    snprintf(where, sizeof(where), "users[%zu].limits.", i);
    TRY(get_uint(lim, where, "devices", UINT32_MAX, true, &v, err));
    u->device_limit = (uint32_t)v;
    TRY(get_uint(lim, where, "speed", INT64_MAX, true, &u->speed_limit, err));
    TRY(get_uint(lim, where, "conns", UINT32_MAX, true, &v, err));
    u->max_conns = (uint32_t)v;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_uuid(const void *a, const void *b)
{
    return strcmp((*(const struct sync_user *const *)a)->uuid, (*(const struct sync_user *const *)b)->uuid);
}

/* A node table keyed by id and by uuid cannot take the same id twice, an id both changed and
 * removed, or two users sharing one uuid. */
static int check_unique(const struct sync_users_resp *m, struct sync_err *err)
{
    size_t n = m->n_users + m->n_removed;
    if (n < 2)
        return 0;
    uint64_t *ids = malloc(n * sizeof(*ids));
    const struct sync_user **by_uuid = malloc((m->n_users ? m->n_users : 1) * sizeof(*by_uuid));
    int rc = 0;
    if (ids == NULL || by_uuid == NULL) {
        rc = sync__fail(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < m->n_users; i++) {
        ids[i] = m->users[i].id;
        by_uuid[i] = &m->users[i];
    }
    if (m->n_removed > 0)
        memcpy(ids + m->n_users, m->removed, m->n_removed * sizeof(*ids));

    qsort(ids, n, sizeof(*ids), cmp_u64);
    for (size_t i = 1; i < n; i++) {
        if (ids[i] == ids[i - 1]) {
            rc = sync__fail(err, ERR_MALFORMED, "id %" PRIu64 " appears more than once", ids[i]);
            goto out;
        }
    }
    qsort(by_uuid, m->n_users, sizeof(*by_uuid), cmp_uuid);
    for (size_t i = 1; i < m->n_users; i++) {
        if (strcmp(by_uuid[i]->uuid, by_uuid[i - 1]->uuid) == 0) {
            rc = sync__fail(err, ERR_MALFORMED, "users %" PRIu64 " and %" PRIu64 " share a uuid", by_uuid[i - 1]->id,
                            by_uuid[i]->id);
            goto out;
        }
    }
out:
    free(ids);
    free(by_uuid);
    return rc;
}

static int users_resp_from(struct sync_users_resp *m, const json_t *root, struct sync_err *err)
{
    json_t *users, *removed;
    TRY(get_uint(root, "", "revision", INT64_MAX, false, &m->revision, err));
    TRY(get_bool(root, "full", &m->full, err));
    TRY(get_array(root, "users", SYNC_MAX_USERS, false, &users, err));
    TRY(get_array(root, "removed", SYNC_MAX_REMOVED, true, &removed, err));
    size_t nu = json_array_size(users), nr = removed ? json_array_size(removed) : 0;
    if (m->full && nr > 0)
        return sync__fail(err, ERR_MALFORMED, "removed: must be empty in a full update");
    if (nu > 0) {
        m->users = calloc(nu, sizeof(*m->users));
        if (m->users == NULL)
            return sync__fail(err, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < nu; i++) {
        TRY(decode_user(json_array_get(users, i), i, &m->users[i], err));
        m->n_users = i + 1;
    }
    if (nr > 0) {
        m->removed = calloc(nr, sizeof(*m->removed));
        if (m->removed == NULL)
            return sync__fail(err, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < nr; i++) {
        json_t *v = json_array_get(removed, i);
        if (!json_is_integer(v))
            return sync__fail(err, ERR_MALFORMED, "removed[%zu]: expected an integer", i);
        if (json_integer_value(v) < 0)
            return sync__fail(err, ERR_RANGE, "removed[%zu]: out of range", i);
        m->removed[i] = (uint64_t)json_integer_value(v);
        m->n_removed = i + 1;
    }
    TRY(sync__reality_from_json(root, &m->reality, err));
    TRY(sync__scan_from_json(root, &m->scan, err));
    return check_unique(m, err);
}

int sync_users_resp_decode(struct sync_users_resp *m, const char *json, size_t len, struct sync_err *err)
{
    memset(m, 0, sizeof(*m));
    int rc;
    json_t *root = load(json, len, err, &rc);
    if (root == NULL)
        return rc;
    rc = users_resp_from(m, root, err);
    json_decref(root);
    if (rc < 0)
        sync_users_resp_dispose(m);
    return rc;
}

static int usage_req_from(struct sync_usage_req *m, const json_t *root, struct sync_err *err)
{
    TRY(get_str(root, "", "push_id", m->push_id, sizeof(m->push_id), false, err));
    if (!sync_push_id_valid(m->push_id, strlen(m->push_id)))
        return sync__fail(err, ERR_MALFORMED, "push_id: expected 8..64 characters of [A-Za-z0-9_-]");
    json_t *usage;
    TRY(get_array(root, "usage", SYNC_MAX_ENTRIES, false, &usage, err));
    json_t *h = json_object_get(root, "health");
    if (h == NULL)
        return sync__fail(err, ERR_MALFORMED, "health: missing");
    if (!json_is_object(h))
        return sync__fail(err, ERR_MALFORMED, "health: expected an object");
    TRY(get_uint(h, "health.", "connections", INT64_MAX, false, &m->health.connections, err));
    TRY(get_uint(h, "health.", "uptime", INT64_MAX, false, &m->health.uptime, err));
    TRY(get_uint(h, "health.", "revision", INT64_MAX, false, &m->health.revision, err));
    TRY(get_str(h, "health.", "version", m->health.version, sizeof(m->health.version), false, err));
    TRY(get_uint(h, "health.", "cpu", 100, true, &m->health.cpu, err));
    TRY(get_uint(h, "health.", "bps", INT64_MAX, true, &m->health.bytes_per_sec, err));
    TRY(get_uint(h, "health.", "handshakes", INT64_MAX, true, &m->health.handshakes, err));
    TRY(sync__targets_from_json(h, &m->health, err));
    TRY(sync__probes_from_json(h, &m->health, err));
    size_t n = json_array_size(usage);
    if (n > 0) {
        m->entries = calloc(n, sizeof(*m->entries));
        if (m->entries == NULL)
            return sync__fail(err, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(usage, i);
        char where[40];
        snprintf(where, sizeof(where), "usage[%zu].", i);
        if (!json_is_object(o))
            return sync__fail(err, ERR_MALFORMED, "usage[%zu]: expected an object", i);
        struct sync_usage_entry *e = &m->entries[i];
        TRY(get_uint(o, where, "id", INT64_MAX, false, &e->id, err));
        TRY(get_uint(o, where, "up", INT64_MAX, false, &e->up, err));
        TRY(get_uint(o, where, "down", INT64_MAX, false, &e->down, err));
        TRY(get_uint(o, where, "bt", INT64_MAX, true, &e->bt, err));
        TRY(get_uint(o, where, "smtp", INT64_MAX, true, &e->smtp, err));
        m->n_entries = i + 1;
    }
    return 0;
}

int sync_usage_req_decode(struct sync_usage_req *m, const char *json, size_t len, struct sync_err *err)
{
    memset(m, 0, sizeof(*m));
    int rc;
    json_t *root = load(json, len, err, &rc);
    if (root == NULL)
        return rc;
    rc = usage_req_from(m, root, err);
    json_decref(root);
    if (rc < 0)
        sync_usage_req_dispose(m);
    return rc;
}

int sync_usage_resp_decode(struct sync_usage_resp *m, const char *json, size_t len, struct sync_err *err)
{
    memset(m, 0, sizeof(*m));
    int rc;
    json_t *root = load(json, len, err, &rc);
    if (root == NULL)
        return rc;
    rc = get_bool(root, "duplicate", &m->duplicate, err);
    if (rc == 0)
        rc = get_uint(root, "", "revision", INT64_MAX, false, &m->revision, err);
    json_decref(root);
    if (rc < 0)
        memset(m, 0, sizeof(*m));
    return rc;
}

void sync_users_resp_dispose(struct sync_users_resp *m)
{
    if (m == NULL)
        return;
    free(m->users);
    free(m->removed);
    memset(m, 0, sizeof(*m));
}

void sync_usage_req_dispose(struct sync_usage_req *m)
{
    if (m == NULL)
        return;
    free(m->entries);
    memset(m, 0, sizeof(*m));
}

/* ---- HTTP helpers ---- */

int sync_parse_since(const char *s, uint64_t *since)
{
    *since = 0;
    if (s == NULL)
        return 0;
    if (*s == '\0')
        return ERR_MALFORMED;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return ERR_MALFORMED;
        uint64_t d = (uint64_t)(*s - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return ERR_RANGE;
        v = v * 10 + d;
    }
    *since = v;
    return 0;
}
