#include "core/cfg.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/enc.h"
#include "core/err.h"

void cfg_init(struct cfg_ctx *c, const char *file)
{
    memset(c, 0, sizeof(*c));
    c->file = file ? file : "config";
}

void cfg_dispose(struct cfg_ctx *c)
{
    for (size_t i = 0; i < c->n_msgs; i++)
        free(c->msgs[i].text);
    free(c->msgs);
    c->msgs = NULL;
    c->n_msgs = c->cap_msgs = 0;
}

static bool is_ident(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return false;
    return true;
}

/* Appends to the path; on overflow the path ends in "..." and later pushes are no-ops. */
static void path_append(struct cfg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void path_append(struct cfg_ctx *c, const char *fmt, ...)
{
    size_t room = sizeof(c->path) - c->path_len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->path + c->path_len, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= room) {
        c->path_len = sizeof(c->path) - 1;
        memcpy(c->path + c->path_len - 3, "...", 3);
        c->path[c->path_len] = '\0';
        return;
    }
    c->path_len += (size_t)n;
}

/* Appends ".key" (or "key" at the root, or ["key"] when it needs quoting) to buf. */
static void key_to_path(struct cfg_ctx *c, const char *key)
{
    if (is_ident(key))
        path_append(c, "%s%s", c->path_len ? "." : "", key);
    else {
        char safe[65];
        size_t n = 0;
        for (; key[n] && n < sizeof(safe) - 1; n++)
            safe[n] = (isprint((unsigned char)key[n]) && key[n] != '"' && key[n] != '\\') ? key[n] : '?';
        safe[n] = '\0';
        path_append(c, "[\"%s\"]", safe);
    }
}

size_t cfg_push_key(struct cfg_ctx *c, const char *key)
{
    size_t mark = c->path_len;
    key_to_path(c, key);
    return mark;
}

size_t cfg_push_index(struct cfg_ctx *c, size_t i)
{
    size_t mark = c->path_len;
    path_append(c, "[%zu]", i);
    return mark;
}

void cfg_pop(struct cfg_ctx *c, size_t mark)
{
    if (mark < sizeof(c->path)) {
        c->path_len = mark;
        c->path[mark] = '\0';
    }
}

static void add_msg(struct cfg_ctx *c, enum cfg_severity sev, const char *key, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static void add_msg(struct cfg_ctx *c, enum cfg_severity sev, const char *key, const char *fmt, va_list ap)
{
    if (sev == CFG_SEV_ERROR)
        c->n_errors++;
    else
        c->n_warnings++;
    if (c->n_msgs >= CFG_MSGS_MAX) {
        c->n_dropped++;
        return;
    }
    size_t mark = c->path_len;
    if (key)
        key_to_path(c, key);
    char what[512];
    vsnprintf(what, sizeof(what), fmt, ap);
    char *text = NULL;
    int n =
        c->path_len ? asprintf(&text, "%s: %s: %s", c->file, c->path, what) : asprintf(&text, "%s: %s", c->file, what);
    cfg_pop(c, mark);
    if (n < 0)
        abort(); /* out of memory while loading config: fatal (STYLE.md §3) */
    if (c->n_msgs == c->cap_msgs) {
        size_t cap = c->cap_msgs ? c->cap_msgs * 2 : 8;
        struct cfg_msg *m = realloc(c->msgs, cap * sizeof(*m));
        if (m == NULL)
            abort();
        c->msgs = m;
        c->cap_msgs = cap;
    }
    c->msgs[c->n_msgs++] = (struct cfg_msg){sev, text};
}

int cfg_error(struct cfg_ctx *c, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_msg(c, CFG_SEV_ERROR, key, fmt, ap);
    va_end(ap);
    return ERR_CONFIG;
}

void cfg_warn(struct cfg_ctx *c, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_msg(c, CFG_SEV_WARNING, key, fmt, ap);
    va_end(ap);
}

int cfg_error_global(struct cfg_ctx *c, const char *fmt, ...)
{
    size_t saved = c->path_len;
    char path[CFG_PATH_MAX];
    memcpy(path, c->path, saved + 1);
    c->path_len = 0;
    c->path[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    add_msg(c, CFG_SEV_ERROR, NULL, fmt, ap);
    va_end(ap);
    memcpy(c->path, path, saved + 1);
    c->path_len = saved;
    return ERR_CONFIG;
}

void cfg_take_msgs(struct cfg_ctx *dst, struct cfg_ctx *src)
{
    for (size_t i = 0; i < src->n_msgs; i++) {
        if (dst->n_msgs >= CFG_MSGS_MAX) {
            free(src->msgs[i].text);
            dst->n_dropped++;
            continue;
        }
        if (dst->n_msgs == dst->cap_msgs) {
            size_t cap = dst->cap_msgs ? dst->cap_msgs * 2 : 8;
            struct cfg_msg *m = realloc(dst->msgs, cap * sizeof(*m));
            if (m == NULL)
                abort();
            dst->msgs = m;
            dst->cap_msgs = cap;
        }
        dst->msgs[dst->n_msgs++] = src->msgs[i];
    }
    dst->n_errors += src->n_errors;
    dst->n_warnings += src->n_warnings;
    dst->n_dropped += src->n_dropped;
    free(src->msgs);
    src->msgs = NULL;
    src->n_msgs = src->cap_msgs = 0;
    src->n_errors = src->n_warnings = src->n_dropped = 0;
}

void cfg_print(const struct cfg_ctx *c, FILE *out)
{
    for (size_t i = 0; i < c->n_msgs; i++)
        fprintf(out, "%s: %s\n", c->msgs[i].sev == CFG_SEV_ERROR ? "error" : "warning", c->msgs[i].text);
    if (c->n_dropped)
        fprintf(out, "error: %s: %zu more messages not shown\n", c->file, c->n_dropped);
}

void cfg_join(const struct cfg_ctx *c, char *out, size_t cap)
{
    if (cap == 0)
        return;
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < c->n_msgs && n + 1 < cap; i++) {
        int w = snprintf(out + n, cap - n, "%s%s%s", i ? "; " : "",
                         c->msgs[i].sev == CFG_SEV_WARNING ? "warning: " : "", c->msgs[i].text);
        if (w < 0)
            break;
        n = (size_t)w >= cap - n ? cap - 1 : n + (size_t)w;
    }
    if (c->n_dropped && n + 1 < cap)
        snprintf(out + n, cap - n, "; %zu more", c->n_dropped);
}

json_t *cfg_parse(struct cfg_ctx *c, const char *text, size_t len)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        cfg_error_global(c, "line %d column %d: %s", je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        cfg_error_global(c, "the top level must be a JSON object, not %s", cfg_type_name(root));
        json_decref(root);
        return NULL;
    }
    return root;
}

const char *cfg_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

bool cfg_key_allowed(const char *key, const char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(key, *list) == 0)
            return true;
    return false;
}

int cfg_value_int(const json_t *v, int64_t min, int64_t max, int64_t *out)
{
    if (!json_is_integer(v))
        return ERR_MALFORMED;
    int64_t x = (int64_t)json_integer_value(v);
    if (x < min || x > max)
        return ERR_RANGE;
    *out = x;
    return 0;
}

int cfg_value_str(const json_t *v, size_t cap, const char **out, size_t *len)
{
    if (!json_is_string(v))
        return ERR_MALFORMED;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (strlen(s) != n)
        return ERR_MALFORMED;
    if (n >= cap)
        return ERR_TOO_LONG;
    *out = s;
    *len = n;
    return 0;
}

size_t cfg_check_keys(struct cfg_ctx *c, const json_t *obj, const char *const *allowed, const char *const *ignored,
                      const char *ignored_why)
{
    size_t unknown = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (cfg_key_allowed(key, allowed))
            continue;
        if (cfg_key_allowed(key, ignored)) {
            cfg_warn(c, key, "ignored: %s", ignored_why ? ignored_why : "has no effect in veil-node");
            continue;
        }
        cfg_error(c, key, "unknown field");
        unknown++;
    }
    return unknown;
}

/* Fetches obj[key]; NULL when absent or null. */
static json_t *lookup(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

int cfg_expect_str(struct cfg_ctx *c, const char *key, const json_t *v, const char **out)
{
    size_t len;
    if (!json_is_string(v))
        return cfg_error(c, key, "expected a string, got %s", cfg_type_name(v));
    if (cfg_value_str(v, SIZE_MAX, out, &len) < 0)
        return cfg_error(c, key, "must not contain NUL characters");
    return 0;
}

int cfg_expect_obj(struct cfg_ctx *c, const char *key, const json_t *v)
{
    if (!json_is_object(v))
        return cfg_error(c, key, "expected an object, got %s", cfg_type_name(v));
    return 0;
}

int cfg_get_str(struct cfg_ctx *c, const json_t *obj, const char *key, const char **out)
{
    json_t *v = lookup(obj, key);
    if (v == NULL)
        return 0;
    const char *s = NULL;
    if (cfg_expect_str(c, key, v, &s) < 0)
        return ERR_CONFIG;
    *out = s;
    return 1;
}

int cfg_get_bool(struct cfg_ctx *c, const json_t *obj, const char *key, bool *out)
{
    json_t *v = lookup(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_boolean(v))
        return cfg_error(c, key, "expected true or false, got %s", cfg_type_name(v));
    *out = json_is_true(v);
    return 1;
}

static int check_range(struct cfg_ctx *c, const char *key, int64_t x, int64_t min, int64_t max, int64_t *out)
{
    if (x < min || x > max)
        return cfg_error(c, key, "must be between %" PRId64 " and %" PRId64, min, max);
    *out = x;
    return 1;
}

int cfg_get_int(struct cfg_ctx *c, const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
    json_t *v = lookup(obj, key);
    if (v == NULL)
        return 0;
    int rc = cfg_value_int(v, min, max, out);
    if (rc == ERR_MALFORMED)
        return cfg_error(c, key, "expected an integer, got %s", cfg_type_name(v));
    if (rc == ERR_RANGE)
        return cfg_error(c, key, "must be between %" PRId64 " and %" PRId64, min, max);
    return 1;
}

int cfg_get_u64(struct cfg_ctx *c, const json_t *obj, const char *key, uint64_t *out)
{
    int64_t x = 0;
    int rc = cfg_get_int(c, obj, key, 0, INT64_MAX, &x);
    if (rc == 1)
        *out = (uint64_t)x;
    return rc;
}

int cfg_get_int_or_str(struct cfg_ctx *c, const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
    json_t *v = lookup(obj, key);
    if (v == NULL)
        return 0;
    if (json_is_integer(v))
        return check_range(c, key, (int64_t)json_integer_value(v), min, max, out);
    if (!json_is_string(v))
        return cfg_error(c, key, "expected an integer, got %s", cfg_type_name(v));
    const char *s = json_string_value(v);
    if (*s == '\0' || json_string_length(v) > 18)
        return cfg_error(c, key, "expected an integer, got \"%.32s\"", s);
    int64_t x = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return cfg_error(c, key, "expected an integer, got \"%.32s\"", s);
        x = x * 10 + (*p - '0');
    }
    return check_range(c, key, x, min, max, out);
}

int cfg_get_obj(struct cfg_ctx *c, const json_t *obj, const char *key, json_t **out)
{
    json_t *v = lookup(obj, key);
    if (v == NULL)
        return 0;
    if (cfg_expect_obj(c, key, v) < 0)
        return ERR_CONFIG;
    *out = v;
    return 1;
}

int cfg_get_arr(struct cfg_ctx *c, const json_t *obj, const char *key, json_t **out)
{
    json_t *v = lookup(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_array(v))
        return cfg_error(c, key, "expected an array, got %s", cfg_type_name(v));
    *out = v;
    return 1;
}

void cfg_each(struct cfg_ctx *c, const char *key, const json_t *arr, cfg_elem_fn *fn, void *arg)
{
    size_t mark = key ? cfg_push_key(c, key) : c->path_len, i;
    json_t *v;
    json_array_foreach((json_t *)arr, i, v)
    {
        size_t m = cfg_push_index(c, i);
        fn(c, i, v, arg);
        cfg_pop(c, m);
    }
    cfg_pop(c, mark);
}

struct each_str {
    cfg_str_fn *fn;
    void *arg;
};

static void each_str_elem(struct cfg_ctx *c, size_t i, const json_t *v, void *arg)
{
    const struct each_str *e = arg;
    const char *s = NULL;
    if (cfg_expect_str(c, NULL, v, &s) == 0)
        e->fn(c, i, s, e->arg);
}

void cfg_each_str(struct cfg_ctx *c, const char *key, const json_t *arr, cfg_str_fn *fn, void *arg)
{
    struct each_str e = {fn, arg};
    cfg_each(c, key, arr, each_str_elem, &e);
}

const char *cfg_pick_alias(const json_t *obj, const char *const *names)
{
    for (; *names; names++)
        if (lookup(obj, *names))
            return *names;
    return NULL;
}

int cfg_decode_key32(const char *s, uint8_t out[static 32])
{
    char tmp[48];
    size_t n = 0;
    int lenient = 0;
    for (; *s; s++) {
        char ch = *s;
        if (ch == '\r' || ch == '\n')
            continue;
        if (n == sizeof(tmp) - 1)
            return ERR_MALFORMED;
        if (ch == '+' || ch == '/') {
            ch = ch == '+' ? '-' : '_';
            lenient = 1;
        }
        tmp[n++] = ch;
    }
    while (n > 0 && tmp[n - 1] == '=') {
        n--;
        lenient = 1;
    }
    if (n != 43)
        return ERR_MALFORMED;
    /* 43 characters carry 258 bits: the last one's two low bits are unused. */
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *pos = memchr(alphabet, tmp[42], 64);
    if (pos == NULL || tmp[42] == '\0')
        return ERR_MALFORMED;
    size_t v = (size_t)(pos - alphabet);
    if (v & 3) {
        tmp[42] = alphabet[v & ~(size_t)3];
        lenient = 1;
    }
    size_t outlen = 0;
    if (b64_decode(out, 32, &outlen, tmp, n, B64_RAW_URL) < 0 || outlen != 32)
        return ERR_MALFORMED;
    return lenient;
}

int cfg_decode_short_id(const char *s, uint8_t out[static 8])
{
    size_t n = strlen(s);
    if (n > 16)
        return ERR_TOO_LONG;
    if (n % 2)
        return ERR_MALFORMED;
    memset(out, 0, 8);
    size_t outlen;
    if (n && hex_decode(out, 8, &outlen, s, n) < 0)
        return ERR_MALFORMED;
    return 0;
}

int cfg_decode_version(const char *s, uint32_t *out)
{
    uint32_t parts[3] = {0, 0, 0};
    size_t np = 0;
    const char *p = s;
    for (;;) {
        if (np == 3 || *p < '0' || *p > '9')
            return ERR_MALFORMED;
        uint32_t x = 0;
        size_t digits = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            x = x * 10 + (uint32_t)(*p - '0');
            if (++digits > 3 || x > 255)
                return ERR_MALFORMED;
        }
        parts[np++] = x;
        if (*p == '\0')
            break;
        if (*p++ != '.')
            return ERR_MALFORMED;
    }
    *out = parts[0] << 16 | parts[1] << 8 | parts[2];
    return 0;
}
