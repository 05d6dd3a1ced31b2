#include "nodecfg/overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "nodecfg/statefile.h"
#include "core/err.h"
#include "crypto/uuid5.h"

void node_overlay_init(struct node_overlay *o)
{
    memset(o, 0, sizeof(*o));
}

static void user_dispose(struct node_overlay_user *u)
{
    free(u->inbound);
    free(u->id);
    free(u->email);
}

void node_overlay_dispose(struct node_overlay *o)
{
    for (size_t i = 0; i < o->n_add; i++)
        user_dispose(&o->add[i]);
    free(o->add);
    for (size_t i = 0; i < o->n_remove; i++)
        free(o->remove[i]);
    free(o->remove);
    node_overlay_init(o);
}

bool node_overlay_matches(const char *who, const char *id, const char *email)
{
    if (email && strcasecmp(email, who) == 0)
        return true;
    if (id == NULL)
        return false;
    if (strcmp(id, who) == 0)
        return true;
    uint8_t a[16], b[16];
    if (uuid_from_string(a, who, strlen(who)) < 0 || uuid_from_string(b, id, strlen(id)) < 0)
        return false;
    /* bytes 6-7 are not part of a user's identity (spec/vless.md §3) */
    return memcmp(a, b, 6) == 0 && memcmp(a + 8, b + 8, 8) == 0;
}

static char *dup_or_null(const char *s)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        abort(); /* state handling: OOM is fatal like config loading */
    return d;
}

int node_overlay_add(struct node_overlay *o, const struct node_overlay_user *u)
{
    struct node_overlay_user *n = realloc(o->add, (o->n_add + 1) * sizeof(*n));
    if (n == NULL)
        return ERR_NOMEM;
    o->add = n;
    o->add[o->n_add++] = (struct node_overlay_user){
        .inbound = dup_or_null(u->inbound), .id = dup_or_null(u->id), .email = dup_or_null(u->email), .flow = u->flow};
    size_t k = 0;
    for (size_t i = 0; i < o->n_remove; i++) {
        if (node_overlay_matches(o->remove[i], u->id, u->email))
            free(o->remove[i]);
        else
            o->remove[k++] = o->remove[i];
    }
    o->n_remove = k;
    return 0;
}

int node_overlay_remove(struct node_overlay *o, const char *who)
{
    int dropped = 0;
    size_t k = 0;
    for (size_t i = 0; i < o->n_add; i++) {
        if (node_overlay_matches(who, o->add[i].id, o->add[i].email)) {
            user_dispose(&o->add[i]);
            dropped++;
        } else {
            o->add[k++] = o->add[i];
        }
    }
    o->n_add = k;
    for (size_t i = 0; i < o->n_remove; i++)
        if (strcasecmp(o->remove[i], who) == 0)
            return dropped;
    char **n = realloc(o->remove, (o->n_remove + 1) * sizeof(*n));
    if (n == NULL)
        return ERR_NOMEM;
    o->remove = n;
    o->remove[o->n_remove++] = dup_or_null(who);
    return dropped;
}

/* ---- the document ---- */

static void parse_user(struct cfg_ctx *c, const json_t *v, struct node_overlay *o);

static void user_at(struct cfg_ctx *c, size_t i, const json_t *v, void *o)
{
    (void)i;
    parse_user(c, v, o);
}

/* An empty id names no user: nothing to remove. */
static void remove_at(struct cfg_ctx *c, size_t i, const char *s, void *arg)
{
    (void)c;
    (void)i;
    struct node_overlay *o = arg;
    if (*s == '\0')
        return;
    char **n = realloc(o->remove, (o->n_remove + 1) * sizeof(*n));
    if (n == NULL)
        abort();
    o->remove = n;
    o->remove[o->n_remove++] = dup_or_null(s);
}

static void parse_user(struct cfg_ctx *c, const json_t *v, struct node_overlay *o)
{
    static const char *const keys[] = {"inbound", "id", "email", "flow", NULL};
    if (cfg_expect_obj(c, NULL, v) < 0)
        return;
    cfg_check_keys(c, v, keys, NULL, NULL);
    struct node_overlay_user u = {0};
    const char *s = NULL, *id = NULL;
    if (cfg_get_str(c, v, "id", &id) == 0)
        cfg_error(c, "id", "is required");
    else if (id) {
        uint8_t b[16];
        if (uuid_from_string(b, id, strlen(id)) < 0) {
            cfg_error(c, "id", "must be a UUID or a string of 1 to 30 bytes");
            id = NULL;
        }
    }
    if (cfg_get_str(c, v, "flow", &s) == 1 && *s) {
        if (strcmp(s, "xtls-rprx-vision") == 0)
            u.flow = NODE_FLOW_VISION;
        else
            cfg_error(c, "flow", "must be \"\" or \"xtls-rprx-vision\"");
    }
    const char *email = NULL, *inbound = NULL;
    cfg_get_str(c, v, "email", &email);
    cfg_get_str(c, v, "inbound", &inbound);
    if (id == NULL)
        return;
    u.id = (char *)id;
    u.email = email && *email ? (char *)email : NULL;
    u.inbound = inbound && *inbound ? (char *)inbound : NULL;
    if (node_overlay_add(o, &u) < 0)
        abort();
}

int node_overlay_parse(struct node_overlay *o, const char *json, size_t len, struct cfg_ctx *c)
{
    node_overlay_dispose(o);
    size_t errors = c->n_errors;
    json_t *root = cfg_parse(c, json, len);
    if (root == NULL)
        return ERR_CONFIG;
    static const char *const keys[] = {"add", "remove", NULL};
    cfg_check_keys(c, root, keys, NULL, NULL);
    json_t *arr;
    if (cfg_get_arr(c, root, "add", &arr) == 1)
        cfg_each(c, "add", arr, user_at, o);
    /* Removals after additions: the file order is "add" then "remove", as written. */
    if (cfg_get_arr(c, root, "remove", &arr) == 1)
        cfg_each_str(c, "remove", arr, remove_at, o);
    json_decref(root);
    if (c->n_errors != errors) {
        node_overlay_dispose(o);
        return ERR_CONFIG;
    }
    return 0;
}

static json_t *user_json(const struct node_overlay_user *u)
{
    json_t *j = json_object();
    if (j == NULL)
        return NULL;
    if (u->inbound)
        json_object_set_new(j, "inbound", json_string(u->inbound));
    json_object_set_new(j, "id", json_string(u->id));
    if (u->email)
        json_object_set_new(j, "email", json_string(u->email));
    json_object_set_new(j, "flow", json_string(node_flow_name(u->flow)));
    return j;
}

int node_overlay_write(const struct node_overlay *o, struct buf *out)
{
    json_t *root = json_object(), *add = json_array(), *rm = json_array();
    int rc = ERR_NOMEM;
    if (root == NULL || add == NULL || rm == NULL)
        goto out;
    for (size_t i = 0; i < o->n_add; i++)
        if (json_array_append_new(add, user_json(&o->add[i])) < 0)
            goto out;
    for (size_t i = 0; i < o->n_remove; i++)
        if (json_array_append_new(rm, json_string(o->remove[i])) < 0)
            goto out;
    json_object_set(root, "add", add);
    json_object_set(root, "remove", rm);
    char *text = json_dumps(root, JSON_INDENT(1));
    if (text == NULL)
        goto out;
    rc = buf_append(out, text, strlen(text));
    if (rc == 0)
        rc = buf_append(out, "\n", 1);
    free(text);
out:
    json_decref(add);
    json_decref(rm);
    json_decref(root);
    return rc;
}

int node_overlay_load_file(struct node_overlay *o, const char *path, struct cfg_ctx *c)
{
    node_overlay_dispose(o);
    struct buf b;
    buf_init(&b);
    int rc = node_file_read(path, &b);
    if (rc == 0)
        rc = node_overlay_parse(o, (const char *)buf_data(&b), buf_len(&b), c);
    buf_dispose(&b);
    return rc == 1 ? 0 : rc; /* no file yet: an empty overlay */
}

int node_overlay_save_file(const struct node_overlay *o, const char *path)
{
    struct buf b;
    buf_init(&b);
    int rc = node_overlay_write(o, &b);
    if (rc == 0)
        rc = node_file_write_atomic(path, buf_data(&b), buf_len(&b));
    buf_dispose(&b);
    return rc;
}

/* ---- applying it to the config JSON ---- */

static json_t *find_inbound(json_t *inbounds, const char *tag)
{
    if (tag == NULL)
        return json_array_get(inbounds, 0);
    size_t i;
    json_t *ib;
    json_array_foreach(inbounds, i, ib)
    {
        const char *t = json_string_value(json_object_get(ib, "tag"));
        if (t && strcmp(t, tag) == 0)
            return ib;
    }
    return NULL;
}

/* The clients array of an inbound ("clients" or its alias "users"); created when absent. */
static json_t *clients_of(json_t *ib)
{
    json_t *st = json_object_get(ib, "settings");
    if (!json_is_object(st))
        return NULL;
    json_t *arr = json_object_get(st, "clients");
    if (arr == NULL)
        arr = json_object_get(st, "users");
    if (arr == NULL) {
        arr = json_array();
        if (arr == NULL || json_object_set_new(st, "clients", arr) < 0)
            return NULL;
    }
    return json_is_array(arr) ? arr : NULL;
}

static json_t *client_json(const struct node_overlay_user *u)
{
    json_t *j = json_object();
    if (j == NULL)
        return NULL;
    json_object_set_new(j, "id", json_string(u->id));
    if (u->email)
        json_object_set_new(j, "email", json_string(u->email));
    json_object_set_new(j, "flow", json_string(node_flow_name(u->flow)));
    if (u->device_limit || u->max_conns || u->speed_limit) { /* node/limits.h */
        json_t *v = json_object();
        if (v == NULL) {
            json_decref(j);
            return NULL;
        }
        if (u->device_limit)
            json_object_set_new(v, "deviceLimit", json_integer((json_int_t)u->device_limit));
        if (u->max_conns)
            json_object_set_new(v, "maxConnections", json_integer((json_int_t)u->max_conns));
        if (u->speed_limit)
            json_object_set_new(v, "speedLimit",
                                json_integer((json_int_t)(u->speed_limit < 1024 ? 1024 : u->speed_limit)));
        json_object_set_new(j, "veil", v);
    }
    return j;
}

/* A small string -> value hash table (open addressing) so that layering a large hub table
 * stays linear. Keys are copied. */
struct strmap {
    char **keys;
    uint64_t *vals;
    size_t cap; /* power of two */
};

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int strmap_init(struct strmap *m, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n + 2)
        cap *= 2;
    m->keys = calloc(cap, sizeof(*m->keys));
    m->vals = calloc(cap, sizeof(*m->vals));
    m->cap = cap;
    return m->keys && m->vals ? 0 : ERR_NOMEM;
}

static void strmap_dispose(struct strmap *m)
{
    for (size_t i = 0; m->keys && i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
}

static char **strmap_slot(const struct strmap *m, const char *key)
{
    for (size_t i = str_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == NULL || strcmp(m->keys[i], key) == 0)
            return &m->keys[i];
}

static bool strmap_get(const struct strmap *m, const char *key, uint64_t *val)
{
    char **slot = strmap_slot(m, key);
    if (*slot == NULL)
        return false;
    if (val)
        *val = m->vals[slot - m->keys];
    return true;
}

/* Inserts (the table is sized for every key up front, so it never fills). */
static int strmap_put(struct strmap *m, const char *key, uint64_t val)
{
    char **slot = strmap_slot(m, key);
    if (*slot == NULL && (*slot = strdup(key)) == NULL)
        return ERR_NOMEM;
    m->vals[slot - m->keys] = val;
    return 0;
}

/* Identity keys: "i" + the id with bytes 6-7 zeroed (hex), "e" + the lower-cased email. */
static void id_key(const char *id, char out[34])
{
    uint8_t b[16];
    out[0] = 'i';
    if (uuid_from_string(b, id, strlen(id)) < 0) {
        snprintf(out + 1, 33, "?%.31s", id);
        return;
    }
    b[6] = b[7] = 0;
    for (size_t i = 0; i < 16; i++)
        snprintf(out + 1 + 2 * i, 3, "%02x", b[i]);
}

static char *email_key(const char *email)
{
    size_t n = strlen(email);
    char *k = malloc(n + 2);
    if (k == NULL)
        return NULL;
    k[0] = 'e';
    for (size_t i = 0; i <= n; i++)
        k[i + 1] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);
    return k;
}

/* Records a user's id and email in the set. */
static int remember(struct strmap *m, const char *id, const char *email)
{
    char k[34];
    if (id) {
        id_key(id, k);
        TRY(strmap_put(m, k, 1));
    }
    if (email) {
        char *e = email_key(email);
        if (e == NULL)
            return ERR_NOMEM;
        int rc = strmap_put(m, e, 1);
        free(e);
        TRY(rc);
    }
    return 0;
}

static bool known(const struct strmap *m, const struct node_overlay_user *u)
{
    char k[34];
    id_key(u->id, k);
    if (strmap_get(m, k, NULL))
        return true;
    if (u->email == NULL)
        return false;
    char *e = email_key(u->email);
    bool hit = e == NULL || strmap_get(m, e, NULL); /* OOM: treat as taken (skip the user) */
    free(e);
    return hit;
}

/* Appends the hub users to one inbound's clients, skipping ids/emails it already has. */
static int add_hub_users(json_t *arr, const struct node_overlay_user *hub, size_t n_hub)
{
    struct strmap m;
    int rc = strmap_init(&m, 2 * (json_array_size(arr) + n_hub));
    size_t k;
    json_t *x;
    json_array_foreach(arr, k, x)
    {
        if (rc == 0)
            rc = remember(&m, json_string_value(json_object_get(x, "id")),
                          json_string_value(json_object_get(x, "email")));
    }
    for (size_t i = 0; rc == 0 && i < n_hub; i++) {
        if (known(&m, &hub[i]))
            continue;
        json_t *j = client_json(&hub[i]);
        if (j == NULL || json_array_append_new(arr, j) < 0)
            rc = ERR_NOMEM;
        else
            rc = remember(&m, hub[i].id, hub[i].email);
    }
    strmap_dispose(&m);
    return rc;
}

static int apply_to_json(json_t *root, const struct node_overlay *o, const struct node_overlay_user *hub, size_t n_hub,
                         struct cfg_ctx *c)
{
    json_t *inbounds = json_object_get(root, "inbounds");
    if (!json_is_array(inbounds))
        return 0; /* the loader reports it */
    size_t i;
    json_t *ib;
    /* hub users into every inbound, unless the file already has them there */
    json_array_foreach(inbounds, i, ib)
    {
        json_t *arr = json_is_object(ib) && n_hub ? clients_of(ib) : NULL;
        if (arr && add_hub_users(arr, hub, n_hub) < 0)
            return ERR_NOMEM;
    }
    json_array_foreach(inbounds, i, ib)
    {
        json_t *arr = json_is_object(ib) ? clients_of(ib) : NULL;
        for (size_t k = 0; arr && k < json_array_size(arr);) {
            json_t *u = json_array_get(arr, k);
            const char *id = json_string_value(json_object_get(u, "id"));
            const char *email = json_string_value(json_object_get(u, "email"));
            bool gone = false;
            for (size_t r = 0; r < o->n_remove && !gone; r++)
                gone = node_overlay_matches(o->remove[r], id, email);
            if (gone)
                json_array_remove(arr, k);
            else
                k++;
        }
    }
    for (size_t k = 0; k < o->n_add; k++) {
        const struct node_overlay_user *u = &o->add[k];
        json_t *arr = NULL;
        ib = find_inbound(inbounds, u->inbound);
        if (ib)
            arr = clients_of(ib);
        if (arr == NULL) {
            cfg_error_global(c, "state: user \"%.64s\": no inbound %s%.64s%s", u->email ? u->email : u->id,
                             u->inbound ? "tagged \"" : "", u->inbound ? u->inbound : "", u->inbound ? "\"" : "");
            continue;
        }
        json_t *j = client_json(u);
        if (j == NULL || json_array_append_new(arr, j) < 0)
            return ERR_NOMEM;
    }
    return 0;
}

/* Marks the users that came from the hub with their hub id (matched by id text). */
static int tag_hub_users(struct node_cfg *cfg, const struct node_overlay_user *hub, size_t n_hub)
{
    if (n_hub == 0)
        return 0;
    struct strmap m;
    int rc = strmap_init(&m, n_hub);
    for (size_t k = 0; rc == 0 && k < n_hub; k++)
        rc = strmap_put(&m, hub[k].id, hub[k].hub_id);
    for (size_t i = 0; rc == 0 && i < cfg->n_inbounds; i++)
        for (size_t u = 0; u < cfg->inbounds[i].n_users; u++)
            if (cfg->inbounds[i].users[u].id_text)
                strmap_get(&m, cfg->inbounds[i].users[u].id_text, &cfg->inbounds[i].users[u].hub_id);
    strmap_dispose(&m);
    return rc;
}

/* The hub's target for every REALITY inbound. */
static int apply_reality(json_t *root, const struct sync_reality *r)
{
    json_t *inbounds = json_object_get(root, "inbounds");
    if (r == NULL || r->rev == 0 || !json_is_array(inbounds))
        return 0;
    size_t i;
    json_t *ib;
    json_array_foreach(inbounds, i, ib)
    {
        json_t *ss = json_is_object(ib) ? json_object_get(ib, "streamSettings") : NULL;
        json_t *rs = json_is_object(ss) ? json_object_get(ss, "realitySettings") : NULL;
        if (!json_is_object(rs))
            continue; /* the loader reports it */
        json_t *names = json_array();
        for (size_t k = 0; names != NULL && k < r->n_names; k++)
            if (json_array_append_new(names, json_string(r->names[k])) < 0) {
                json_decref(names);
                names = NULL;
            }
        if (names == NULL || json_object_set_new(rs, "serverNames", names) < 0 ||
            json_object_set_new(rs, "target", json_string(r->target)) < 0)
            return ERR_NOMEM;
        (void)json_object_del(rs, "dest");
    }
    return 0;
}

struct node_cfg *node_overlay_load_cfg_hub(const char *base, size_t len, const struct node_overlay *o,
                                           const struct node_overlay_user *hub, size_t n_hub, struct cfg_ctx *c)
{
    return node_overlay_load_cfg_full(base, len, o, hub, n_hub, NULL, c);
}

struct node_cfg *node_overlay_load_cfg_full(const char *base, size_t len, const struct node_overlay *o,
                                            const struct node_overlay_user *hub, size_t n_hub,
                                            const struct sync_reality *reality, struct cfg_ctx *c)
{
    if (n_hub == 0 && (o == NULL || (o->n_add == 0 && o->n_remove == 0)) && (reality == NULL || reality->rev == 0))
        return node_cfg_load(c, base, len);
    static const struct node_overlay empty = {0};
    json_t *root = cfg_parse(c, base, len);
    if (root == NULL)
        return NULL;
    size_t errors = c->n_errors;
    struct node_cfg *cfg = NULL;
    char *text = NULL;
    if (apply_to_json(root, o ? o : &empty, hub, n_hub, c) < 0 || c->n_errors != errors)
        goto out;
    if (apply_reality(root, reality) < 0) {
        cfg_error_global(c, "out of memory");
        goto out;
    }
    text = json_dumps(root, JSON_COMPACT);
    if (text == NULL)
        goto out;
    cfg = node_cfg_load(c, text, strlen(text));
    if (cfg && tag_hub_users(cfg, hub, n_hub) < 0) {
        node_cfg_unref(cfg);
        cfg = NULL;
        cfg_error_global(c, "out of memory");
    }
out:
    free(text);
    json_decref(root);
    return cfg;
}

struct node_cfg *node_overlay_load_cfg(const char *base, size_t len, const struct node_overlay *o, struct cfg_ctx *c)
{
    return node_overlay_load_cfg_hub(base, len, o, NULL, 0, c);
}
