/* The hub sync thread: pull -> merge -> install -> persist, and push usage/health, with
 * exponential back-off on failures. Blocking HTTP calls (httpc) are fine here: this thread does
 * nothing else, and the data plane never waits for it. */
#include "node/hubsync.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "nodecfg/statefile.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/version.h"
#include "crypto/crypto.h"
#include "crypto/uuid5.h"
#include "httpc/httpc.h"

#define HTTP_TIMEOUT_S 30
#define FINAL_PUSH_TIMEOUT_S 5
#define BACKOFF_MAX_MS 60000
#define RESPONSE_MAX ((size_t)64 << 20)

struct usage_slot {
    uint64_t id, up, down, bt, smtp;
};

struct node_hubsync {
    struct node_hubsync_opts o;
    char *url, *token, *ca_file, *state_path; /* owned copies */
    char *pin, *cert_file, *key_file;
    char *usage_path; /* stateDir/hub-usage.json, next to state_path */
    pthread_t thread;
    pthread_mutex_t lock; /* stop flag, usage map */
    pthread_cond_t cond;
    atomic_bool stop;
    atomic_bool final_push; /* stopping, but the last usage push may still run (short timeout) */
    struct sync_users_resp table;
    atomic_uint_least64_t revision, pulls, pushes;
    atomic_uint_least64_t scan_seen; /* the last scan request handed to o.scan */
    /* last attempts, for the health endpoint: unix ms (0 = none yet) and result (0 or ERR_*) */
    _Atomic int64_t last_pull_ms, last_push_ms, last_pull_ok_ms, last_push_ok_ms;
    _Atomic int last_pull_rc, last_push_rc;
    /* usage accumulated since the last batch was taken */
    struct usage_slot *usage;
    size_t n_usage, cap_usage;
    uint64_t usage_gen, saved_gen; /* bumped by every add; the value the file holds (lock) */
    /* the batch in flight (retried with the same push_id until accepted) */
    struct sync_usage_req pending;
    bool has_pending;
    uint64_t push_seq;
    char push_prefix[17];
    time_t started;
};

/* ---- table helpers ---- */

/* Identity of a user id: 16 bytes with bytes 6-7 zeroed (spec/vless.md §3); ids that do not
 * parse keep their text's first 16 bytes, so they still compare as distinct. */
static void uuid_key(const char *uuid, uint8_t key[16])
{
    if (uuid_from_string(key, uuid, strlen(uuid)) < 0) {
        memset(key, 0xff, 16);
        memcpy(key, uuid, strnlen(uuid, 16));
    }
    key[6] = key[7] = 0;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

int node_hubsync_merge(struct sync_users_resp *table, const struct sync_users_resp *resp)
{
    if (resp->full) {
        struct sync_user *v = malloc((resp->n_users ? resp->n_users : 1) * sizeof(*v));
        if (v == NULL)
            return ERR_NOMEM;
        if (resp->n_users)
            memcpy(v, resp->users, resp->n_users * sizeof(*v));
        free(table->users);
        free(table->removed);
        *table =
            (struct sync_users_resp){.revision = resp->revision, .full = true, .users = v, .n_users = resp->n_users};
        return 0;
    }
    /* Sorted sets of what the delta replaces or drops: ids and uuid identities. O(n log n). */
    size_t n_ids = resp->n_users + resp->n_removed;
    uint64_t *ids = malloc((n_ids ? n_ids : 1) * sizeof(*ids));
    uint8_t(*keys)[16] = malloc((resp->n_users ? resp->n_users : 1) * sizeof(*keys));
    size_t cap = table->n_users + resp->n_users;
    struct sync_user *v = malloc((cap ? cap : 1) * sizeof(*v));
    if (ids == NULL || keys == NULL || v == NULL) {
        free(ids);
        free(keys);
        free(v);
        return ERR_NOMEM;
    }
    for (size_t r = 0; r < resp->n_users; r++) {
        ids[r] = resp->users[r].id;
        uuid_key(resp->users[r].uuid, keys[r]);
    }
    for (size_t r = 0; r < resp->n_removed; r++)
        ids[resp->n_users + r] = resp->removed[r];
    qsort(ids, n_ids, sizeof(*ids), u64_cmp);
    qsort(keys, resp->n_users, sizeof(*keys), key_cmp);
    size_t k = 0;
    for (size_t i = 0; i < table->n_users; i++) {
        const struct sync_user *u = &table->users[i];
        uint8_t key[16];
        uuid_key(u->uuid, key);
        if (bsearch(&u->id, ids, n_ids, sizeof(*ids), u64_cmp) ||
            bsearch(key, keys, resp->n_users, sizeof(*keys), key_cmp))
            continue;
        v[k++] = *u;
    }
    for (size_t r = 0; r < resp->n_users; r++)
        v[k++] = resp->users[r];
    free(ids);
    free(keys);
    free(table->users);
    free(table->removed);
    *table = (struct sync_users_resp){.revision = resp->revision, .full = true, .users = v, .n_users = k};
    return 0;
}

static int save_state(const struct node_hubsync *s)
{
    if (s->state_path == NULL)
        return 0;
    struct buf b;
    buf_init(&b);
    int rc = sync_users_resp_encode(&s->table, &b);
    if (rc == 0)
        rc = node_file_write_atomic(s->state_path, buf_data(&b), buf_len(&b));
    buf_dispose(&b);
    return rc;
}

/* ---- unpushed usage on disk ----
 * stateDir/hub-usage.json holds what the hub has not acknowledged yet: the batch in flight
 * (with its push_id, so a batch the hub did apply before the node lost the answer still counts
 * once) and the bytes counted since. Rewritten (atomically, fsync'd) when a batch is taken
 * (before it is sent, so its bytes are never also in the carry), after every push attempt,
 * every save_ms while usage grows, and at stop; removed when nothing is owed. A restart loses
 * no byte that was written, and a kill -9 at most save_ms plus the tunnels' report interval. */
static int save_usage(struct node_hubsync *s)
{
    if (s->usage_path == NULL)
        return 0;
    pthread_mutex_lock(&s->lock);
    size_t n = s->n_usage;
    uint64_t gen = s->usage_gen;
    json_t *carry = json_array();
    for (size_t i = 0; carry != NULL && i < n; i++)
        json_array_append_new(carry, json_pack("[IIIII]", (json_int_t)s->usage[i].id, (json_int_t)s->usage[i].up,
                                               (json_int_t)s->usage[i].down, (json_int_t)s->usage[i].bt,
                                               (json_int_t)s->usage[i].smtp));
    pthread_mutex_unlock(&s->lock);
    if (carry == NULL)
        return ERR_NOMEM;
    if (!s->has_pending && n == 0) {
        json_decref(carry);
        return unlink(s->usage_path) == -1 && errno != ENOENT ? -errno : 0;
    }
    json_t *pending = json_null();
    if (s->has_pending) {
        struct buf b;
        buf_init(&b);
        json_decref(pending);
        pending = sync_usage_req_encode(&s->pending, &b) == 0
                      ? json_loadb((const char *)buf_data(&b), buf_len(&b), 0, NULL)
                      : NULL;
        buf_dispose(&b);
    }
    json_t *root = pending ? json_pack("{s:i,s:o,s:o}", "v", 1, "pending", pending, "carry", carry) : NULL;
    if (root == NULL) {
        json_decref(carry);
        return ERR_NOMEM;
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    int rc = text ? node_file_write_atomic(s->usage_path, text, strlen(text)) : ERR_NOMEM;
    free(text);
    if (rc == 0) {
        pthread_mutex_lock(&s->lock);
        s->saved_gen = gen;
        pthread_mutex_unlock(&s->lock);
    }
    return rc;
}

/* The periodic save: only when bytes were added since the file was written. */
static void save_usage_if_grown(struct node_hubsync *s)
{
    pthread_mutex_lock(&s->lock);
    bool grown = s->usage_gen != s->saved_gen;
    pthread_mutex_unlock(&s->lock);
    int rc = grown ? save_usage(s) : 0;
    if (rc < 0)
        log_err("node", 0, "hub_usage_save_failed", LF_STR("err", err_str(rc)));
}

static void load_usage(struct node_hubsync *s)
{
    if (s->usage_path == NULL)
        return;
    json_error_t je;
    json_t *root = json_load_file(s->usage_path, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return; /* nothing owed (or unreadable: logged below only if it exists) */
    json_t *pending = json_object_get(root, "pending"), *carry = json_object_get(root, "carry");
    int ok = json_is_array(carry);
    if (ok && json_is_object(pending)) {
        char *text = json_dumps(pending, JSON_COMPACT);
        struct sync_err err = {{0}};
        ok = text != NULL && sync_usage_req_decode(&s->pending, text, strlen(text), &err) == 0;
        s->has_pending = ok;
        free(text);
    }
    size_t i;
    json_t *e;
    uint64_t bytes = 0;
    json_array_foreach(carry, i, e)
    {
        /* files written before "bt" hold three numbers, before "smtp" four */
        json_int_t id, up, down, bt = 0, smtp = 0;
        if ((json_unpack(e, "[IIIII]", &id, &up, &down, &bt, &smtp) == 0 ||
             json_unpack(e, "[IIII]", &id, &up, &down, &bt) == 0 || json_unpack(e, "[III]", &id, &up, &down) == 0) &&
            id > 0 && up >= 0 && down >= 0 && bt >= 0 && smtp >= 0) {
            node_hubsync_add_usage(s, (uint64_t)id, (uint64_t)up, (uint64_t)down);
            node_hubsync_add_bittorrent(s, (uint64_t)id, (uint64_t)bt);
            node_hubsync_add_smtp(s, (uint64_t)id, (uint64_t)smtp);
            bytes += (uint64_t)up + (uint64_t)down;
        }
    }
    json_decref(root);
    if (!ok)
        log_warn("node", 0, "hub_usage_unreadable", LF_STR("path", s->usage_path));
    else
        log_info("node", 0, "hub_usage_restored", LF_BOOL("batch_in_flight", s->has_pending),
                 LF_UINT("bytes_since", bytes));
}

/* ---- HTTP ---- */

/* Aborts a transfer when the node stops (but not the final push on the way out). */
static bool stopping(void *arg)
{
    struct node_hubsync *s = arg;
    return atomic_load(&s->stop) && !atomic_load(&s->final_push);
}

/* One request; *status gets the HTTP status (0 on a transport error). */
static int http(struct node_hubsync *s, const char *method, const char *url, const struct buf *body, struct buf *resp,
                long *status)
{
    *status = 0;
    char auth[300], ua[64];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", s->token);
    snprintf(ua, sizeof(ua), "veil-node/%s", VEIL_VERSION);
    const char *hdrs[] = {auth, NULL};
    bool post = strcmp(method, "POST") == 0;
    struct httpc_req req = {
        .method = method,
        .url = url,
        .headers = hdrs,
        .body = post ? buf_data(body) : NULL,
        .body_len = post ? buf_len(body) : 0,
        .content_type = "application/json; charset=utf-8",
        .timeout_ms = (atomic_load(&s->final_push) ? FINAL_PUSH_TIMEOUT_S : HTTP_TIMEOUT_S) * 1000u,
        .connect_timeout_ms = 10000,
        .max_response = RESPONSE_MAX,
        .ca_file = s->ca_file,
        .pin = s->pin,
        .cert_file = s->cert_file,
        .key_file = s->key_file,
        .user_agent = ua,
        .cancel = stopping,
        .cancel_arg = s,
    };
    struct httpc_resp r;
    int rc = httpc_do(&req, &r);
    if (rc == 0 && buf_append(resp, r.body, r.body_len) < 0)
        rc = ERR_NOMEM;
    if (rc < 0)
        log_warn("node", 0, "hub_request_failed", LF_STR("method", method), LF_STR("err", err_str(rc)),
                 LF_STR("why", r.error)); /* the transport's reason, e.g. a key that matches no pin */
    else
        *status = r.status;
    httpc_resp_dispose(&r);
    return rc < 0 ? ERR_IO : 0;
}

int node_hubsync_post(struct node_hubsync *s, const char *path, const struct buf *body)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", s->url, path);
    struct buf resp;
    buf_init(&resp);
    long status;
    int rc = http(s, "POST", url, body, &resp, &status);
    buf_dispose(&resp);
    if (rc == 0 && (status < 200 || status > 299)) {
        log_warn("node", 0, "hub_post_refused", LF_STR("path", path), LF_INT("status", status));
        rc = ERR_IO;
    }
    return rc;
}

/* ---- pull ---- */

static int pull(struct node_hubsync *s)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s/api/v1/node/users?since=%" PRIu64, s->url, s->table.revision);
    struct buf resp;
    buf_init(&resp);
    long status;
    int rc = http(s, "GET", url, NULL, &resp, &status);
    if (rc == 0 && status != 200) {
        log_warn("node", 0, "hub_pull_refused", LF_INT("status", status));
        rc = status == 401 ? ERR_AUTH : ERR_IO;
    }
    struct sync_users_resp m = {0};
    struct sync_err err = {{0}};
    if (rc == 0 && (rc = sync_users_resp_decode(&m, (const char *)buf_data(&resp), buf_len(&resp), &err)) < 0)
        log_warn("node", 0, "hub_pull_malformed", LF_STR("err", err.msg));
    buf_dispose(&resp);
    if (rc < 0)
        return rc;
    /* A target scan the hub asks for: handed over once per request id (it rides in every pull
     * answer until the results arrive). */
    if (m.scan.id != 0 && m.scan.id != atomic_load(&s->scan_seen) && s->o.scan != NULL) {
        atomic_store(&s->scan_seen, m.scan.id);
        s->o.scan(s->o.arg, &m.scan);
    }
    bool reality_changed = m.reality.rev != s->table.reality.rev;
    bool changed = m.full || m.n_users || m.n_removed || m.revision != s->table.revision || reality_changed;
    struct sync_users_resp next = {0};
    if (changed) {
        /* merge into a copy so that a failed install leaves the old table in place */
        struct sync_users_resp cur = s->table;
        next.users = malloc((cur.n_users ? cur.n_users : 1) * sizeof(*next.users));
        if (next.users == NULL) {
            sync_users_resp_dispose(&m);
            return ERR_NOMEM;
        }
        if (cur.n_users)
            memcpy(next.users, cur.users, cur.n_users * sizeof(*next.users));
        next.n_users = cur.n_users;
        next.revision = cur.revision;
        rc = node_hubsync_merge(&next, &m);
        next.reality = m.reality;
    }
    sync_users_resp_dispose(&m);
    if (rc < 0 || !changed) {
        free(next.users);
        if (rc == 0)
            atomic_fetch_add(&s->pulls, 1);
        return rc;
    }
    struct node_overlay_user *users = NULL;
    size_t n = 0;
    char msg[256] = "";
    rc = node_hubsync_users(&next, &users, &n);
    if (rc == 0)
        rc = s->o.apply ? s->o.apply(s->o.arg, users, n, msg, sizeof(msg)) : 0;
    node_hubsync_users_free(users, n);
    if (rc == 0 && reality_changed && s->o.apply_reality) {
        /* A rotation: new connections go to the new target, open tunnels keep theirs. */
        rc = s->o.apply_reality(s->o.arg, &next.reality, msg, sizeof(msg));
        if (rc == 0)
            log_warn("node", 0, "hub_target_applied", LF_UINT("rev", next.reality.rev),
                     LF_STR("target", next.reality.rev ? next.reality.target : "(the file's)"),
                     LF_STR("sni", next.reality.rev ? next.reality.names[0] : "(the file's)"),
                     LF_UINT("names", next.reality.n_names));
    }
    if (rc < 0) {
        log_err("node", 0, "hub_users_not_applied", LF_STR("err", *msg ? msg : err_str(rc)));
        free(next.users);
        return rc;
    }
    free(s->table.users);
    free(s->table.removed);
    s->table = next;
    atomic_store(&s->revision, next.revision);
    atomic_fetch_add(&s->pulls, 1);
    log_info("node", 0, "hub_users_applied", LF_UINT("revision", next.revision), LF_UINT("users", next.n_users));
    int src = save_state(s);
    if (src < 0)
        log_err("node", 0, "hub_state_save_failed", LF_STR("err", err_str(src)));
    return 0;
}

/* ---- usage ---- */

/* The user's slot for the next push (lock held); NULL when out of memory. */
static struct usage_slot *usage_slot(struct node_hubsync *s, uint64_t hub_id)
{
    size_t i = 0;
    while (i < s->n_usage && s->usage[i].id != hub_id)
        i++;
    if (i == s->n_usage) {
        if (s->n_usage == s->cap_usage) {
            size_t cap = s->cap_usage ? s->cap_usage * 2 : 64;
            struct usage_slot *v = realloc(s->usage, cap * sizeof(*v));
            if (v == NULL)
                return NULL; /* counted as lost rather than crash */
            s->usage = v;
            s->cap_usage = cap;
        }
        s->usage[s->n_usage++] = (struct usage_slot){.id = hub_id};
    }
    return &s->usage[i];
}

void node_hubsync_add_usage(struct node_hubsync *s, uint64_t hub_id, uint64_t up, uint64_t down)
{
    if (s == NULL || hub_id == 0 || (up == 0 && down == 0))
        return;
    pthread_mutex_lock(&s->lock);
    struct usage_slot *u = usage_slot(s, hub_id);
    if (u != NULL) {
        u->up += up;
        u->down += down;
        s->usage_gen++;
    }
    pthread_mutex_unlock(&s->lock);
}

static void add_attempts(struct node_hubsync *s, uint64_t hub_id, uint64_t n, bool smtp)
{
    if (s == NULL || hub_id == 0 || n == 0)
        return;
    pthread_mutex_lock(&s->lock);
    struct usage_slot *u = usage_slot(s, hub_id);
    if (u != NULL) {
        *(smtp ? &u->smtp : &u->bt) += n;
        s->usage_gen++;
    }
    pthread_mutex_unlock(&s->lock);
}

void node_hubsync_add_bittorrent(struct node_hubsync *s, uint64_t hub_id, uint64_t n)
{
    add_attempts(s, hub_id, n, false);
}

void node_hubsync_add_smtp(struct node_hubsync *s, uint64_t hub_id, uint64_t n)
{
    add_attempts(s, hub_id, n, true);
}

/* Takes the accumulated usage into a new pending batch (unless one is still in flight): 1 when
 * a new batch was taken, 0 when one was already pending. */
static int take_batch(struct node_hubsync *s)
{
    if (s->has_pending)
        return 0;
    pthread_mutex_lock(&s->lock);
    struct usage_slot *v = s->usage;
    size_t n = s->n_usage;
    s->usage = NULL;
    s->n_usage = s->cap_usage = 0;
    pthread_mutex_unlock(&s->lock);
    struct sync_usage_req *r = &s->pending;
    memset(r, 0, sizeof(*r));
    r->entries = calloc(n ? n : 1, sizeof(*r->entries));
    if (r->entries == NULL) {
        free(v);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        r->entries[i] = (struct sync_usage_entry){v[i].id, v[i].up, v[i].down, v[i].bt, v[i].smtp};
    r->n_entries = n;
    free(v);
    snprintf(r->push_id, sizeof(r->push_id), "%s-%" PRIu64, s->push_prefix, ++s->push_seq);
    s->has_pending = true;
    return 1;
}

static int push(struct node_hubsync *s)
{
    int taken = take_batch(s);
    if (taken < 0)
        return taken;
    /* On disk before it is sent: the bytes move from the carry to this push_id, so a crash
     * after the hub applied it can neither drop them nor book them twice. */
    int src = taken ? save_usage(s) : 0;
    if (src < 0)
        log_err("node", 0, "hub_usage_save_failed", LF_STR("err", err_str(src)));
    struct sync_usage_req *r = &s->pending;
    memset(&r->health, 0, sizeof(r->health));
    if (s->o.health)
        s->o.health(s->o.arg, &r->health);
    if (r->health.uptime == 0)
        r->health.uptime = (uint64_t)(time(NULL) - s->started);
    r->health.revision = s->table.revision;
    snprintf(r->health.version, sizeof(r->health.version), "veil-node %s", VEIL_VERSION);
    struct buf body, resp;
    buf_init(&body);
    buf_init(&resp);
    int rc = sync_usage_req_encode(r, &body);
    char url[1024];
    snprintf(url, sizeof(url), "%s/api/v1/node/usage", s->url);
    long status = 0;
    if (rc == 0)
        rc = http(s, "POST", url, &body, &resp, &status);
    struct sync_usage_resp ur = {0};
    struct sync_err err = {{0}};
    if (rc == 0 && status == 200 &&
        sync_usage_resp_decode(&ur, (const char *)buf_data(&resp), buf_len(&resp), &err) == 0) {
        atomic_fetch_add(&s->pushes, 1);
        free(r->entries);
        memset(r, 0, sizeof(*r));
        s->has_pending = false;
        rc = ur.revision > s->table.revision ? 1 : 0; /* 1: pull now */
    } else if (rc == 0 && status == 400) {
        /* a bug on one side: keep going with a new batch rather than retry forever */
        log_err("node", 0, "hub_push_rejected", LF_INT("status", status));
        free(r->entries);
        memset(r, 0, sizeof(*r));
        s->has_pending = false;
        rc = ERR_MALFORMED;
    } else if (rc == 0) {
        log_warn("node", 0, "hub_push_failed", LF_INT("status", status));
        rc = status == 401 ? ERR_AUTH : ERR_IO;
    }
    buf_dispose(&body);
    buf_dispose(&resp);
    return rc;
}

/* ---- thread ---- */

/* Sleeps up to ms; true when asked to stop. */
static bool wait_ms(struct node_hubsync *s, uint64_t ms)
{
    struct timespec ts = clock_after_ms(CLOCK_REALTIME, ms);
    pthread_mutex_lock(&s->lock);
    while (!atomic_load(&s->stop) && pthread_cond_timedwait(&s->cond, &s->lock, &ts) != ETIMEDOUT)
        ;
    bool stop = atomic_load(&s->stop);
    pthread_mutex_unlock(&s->lock);
    return stop;
}

static uint64_t jitter(uint64_t ms)
{
    uint32_t r = 0;
    crypto_random(&r, sizeof(r));
    return ms + (ms / 5 ? r % (ms / 5) : 0);
}

static void note_attempt(_Atomic int64_t *at, _Atomic int64_t *ok_at, _Atomic int *last_rc, int rc)
{
    int64_t ms = (int64_t)clock_unix_ms();
    atomic_store(at, ms);
    atomic_store(last_rc, rc < 0 ? rc : 0);
    if (rc >= 0)
        atomic_store(ok_at, ms);
}

static void *run(void *arg)
{
    struct node_hubsync *s = arg;
    uint64_t pull_backoff = 0, push_backoff = 0;
    uint64_t next_pull = clock_mono_ms(), next_push = clock_mono_ms() + s->o.push_ms,
             next_save = clock_mono_ms() + s->o.save_ms;
    for (;;) {
        uint64_t t = clock_mono_ms();
        if (t >= next_save) {
            save_usage_if_grown(s);
            next_save = clock_mono_ms() + s->o.save_ms;
        }
        if (t >= next_pull) {
            int rc = pull(s);
            note_attempt(&s->last_pull_ms, &s->last_pull_ok_ms, &s->last_pull_rc, rc);
            if (rc < 0) {
                pull_backoff = pull_backoff ? pull_backoff * 2 : 1000;
                if (pull_backoff > BACKOFF_MAX_MS)
                    pull_backoff = BACKOFF_MAX_MS;
                uint64_t wait = pull_backoff < s->o.poll_ms ? pull_backoff : s->o.poll_ms;
                next_pull = clock_mono_ms() + jitter(wait);
            } else {
                pull_backoff = 0;
                next_pull = clock_mono_ms() + jitter(s->o.poll_ms);
            }
        }
        if (t >= next_push) {
            int rc = push(s);
            note_attempt(&s->last_push_ms, &s->last_push_ok_ms, &s->last_push_rc, rc);
            int src = save_usage(s);
            if (src < 0)
                log_err("node", 0, "hub_usage_save_failed", LF_STR("err", err_str(src)));
            if (rc < 0 && rc != ERR_MALFORMED) {
                push_backoff = push_backoff ? push_backoff * 2 : 1000;
                if (push_backoff > BACKOFF_MAX_MS)
                    push_backoff = BACKOFF_MAX_MS;
                next_push = clock_mono_ms() + jitter(push_backoff);
            } else {
                push_backoff = 0;
                next_push = clock_mono_ms() + s->o.push_ms;
                if (rc == 1)
                    next_pull = clock_mono_ms(); /* the hub has news */
            }
        }
        uint64_t until = next_pull < next_push ? next_pull : next_push;
        if (s->usage_path != NULL && next_save < until)
            until = next_save;
        uint64_t cur = clock_mono_ms();
        if (wait_ms(s, until > cur ? until - cur : 0))
            break;
    }
    /* Stopping: one last push so the final tunnels' bytes reach the hub (bounded wait). */
    pthread_mutex_lock(&s->lock);
    bool usage = s->n_usage > 0;
    pthread_mutex_unlock(&s->lock);
    if (usage || s->has_pending) {
        atomic_store(&s->final_push, true);
        if (push(s) < 0)
            log_warn("node", 0, "hub_final_push_failed", LF_STR("kept_in", s->usage_path ? s->usage_path : "memory"));
    }
    int src = save_usage(s); /* whatever is still owed survives the restart */
    if (src < 0)
        log_err("node", 0, "hub_usage_save_failed", LF_STR("err", err_str(src)));
    return NULL;
}

static char *dup_opt(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void hubsync_free(struct node_hubsync *s)
{
    free(s->url);
    free(s->token);
    free(s->ca_file);
    free(s->pin);
    free(s->cert_file);
    free(s->key_file);
    free(s->state_path);
    free(s->usage_path);
    free(s->table.users);
    free(s->table.removed);
    free(s->usage);
    free(s->pending.entries);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}

int node_hubsync_start(const struct node_hubsync_opts *o, struct node_hubsync **out)
{
    struct node_hubsync *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return ERR_NOMEM;
    s->o = *o;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->url = dup_opt(o->url);
    s->token = dup_opt(o->token);
    s->ca_file = dup_opt(o->ca_file);
    s->pin = dup_opt(o->pin);
    s->cert_file = dup_opt(o->cert_file);
    s->key_file = dup_opt(o->key_file);
    s->state_path = dup_opt(o->state_path);
    s->started = time(NULL);
    if (s->o.poll_ms == 0)
        s->o.poll_ms = 20000;
    if (s->o.push_ms == 0)
        s->o.push_ms = 60000;
    if (s->o.save_ms == 0)
        s->o.save_ms = 5000;
    uint8_t rnd[8];
    if (s->url == NULL || s->token == NULL || (o->ca_file && !s->ca_file) || (o->pin && !s->pin) ||
        (o->cert_file && !s->cert_file) || (o->key_file && !s->key_file) || (o->state_path && !s->state_path) ||
        crypto_random(rnd, sizeof(rnd)) < 0) {
        hubsync_free(s);
        return ERR_NOMEM;
    }
    /* strip a trailing slash so paths join cleanly */
    size_t ul = strlen(s->url);
    while (ul > 0 && s->url[ul - 1] == '/')
        s->url[--ul] = '\0';
    for (size_t i = 0; i < 8; i++)
        snprintf(s->push_prefix + 2 * i, 3, "%02x", rnd[i]);
    if (s->state_path) {
        struct sync_err err = {{0}};
        int rc = node_hubsync_load_state(s->state_path, &s->table, &err);
        if (rc < 0) {
            log_warn("node", 0, "hub_state_unreadable", LF_STR("path", s->state_path),
                     LF_STR("err", err.msg[0] ? err.msg : err_str(rc)));
            memset(&s->table, 0, sizeof(s->table));
        }
        atomic_store(&s->revision, s->table.revision);
        const char *slash = strrchr(s->state_path, '/');
        size_t dir = slash ? (size_t)(slash - s->state_path) + 1 : 0;
        s->usage_path = malloc(dir + sizeof("hub-usage.json"));
        if (s->usage_path != NULL) {
            memcpy(s->usage_path, s->state_path, dir);
            memcpy(s->usage_path + dir, "hub-usage.json", sizeof("hub-usage.json"));
            load_usage(s);
        }
    }
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        hubsync_free(s);
        return ERR_NOMEM;
    }
    *out = s;
    return 0;
}

void node_hubsync_stop(struct node_hubsync *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->stop, true);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    hubsync_free(s);
}

uint64_t node_hubsync_revision(struct node_hubsync *s)
{
    return atomic_load(&s->revision);
}

uint64_t node_hubsync_pulls(struct node_hubsync *s)
{
    return atomic_load(&s->pulls);
}

uint64_t node_hubsync_pushes(struct node_hubsync *s)
{
    return atomic_load(&s->pushes);
}

void node_hubsync_status(struct node_hubsync *s, struct node_hubsync_status *out)
{
    memset(out, 0, sizeof(*out));
    if (s == NULL)
        return;
    out->revision = atomic_load(&s->revision);
    out->pulls = atomic_load(&s->pulls);
    out->pushes = atomic_load(&s->pushes);
    out->last_pull_ms = atomic_load(&s->last_pull_ms);
    out->last_pull_ok_ms = atomic_load(&s->last_pull_ok_ms);
    out->last_pull_rc = atomic_load(&s->last_pull_rc);
    out->last_push_ms = atomic_load(&s->last_push_ms);
    out->last_push_ok_ms = atomic_load(&s->last_push_ok_ms);
    out->last_push_rc = atomic_load(&s->last_push_rc);
}
