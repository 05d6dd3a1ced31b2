/* Config-loading helpers on jansson. A cfg_ctx tracks the JSON path being read
 * ("inbounds[0].settings.clients[2].id") and collects every error and warning, so one run
 * reports all problems, each naming the file, the field and what is wrong:
 *   node.json: inbounds[0].port: must be between 1 and 65535
 * I/O-free: the caller supplies the text (cfg_parse) and prints the messages (cfg_print).
 *
 * Getters share one convention: they return 1 when the key is present and valid (the value
 * is stored), 0 when it is absent or JSON null (the output is left untouched, so callers
 * preset defaults), and ERR_CONFIG after recording an error at "<path>.<key>". */
#ifndef VEIL_CORE_CFG_H
#define VEIL_CORE_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

enum cfg_severity {
    CFG_SEV_ERROR = 0,
    CFG_SEV_WARNING,
    CFG_SEV__COUNT, /* sentinel */
};

struct cfg_msg {
    enum cfg_severity sev;
    char *text; /* "file: path: what", owned */
};

#define CFG_PATH_MAX 256
#define CFG_MSGS_MAX 100 /* further messages are counted but not stored */

struct cfg_ctx {
    const char *file; /* borrowed; used as the message prefix */
    char path[CFG_PATH_MAX];
    size_t path_len;
    struct cfg_msg *msgs;
    size_t n_msgs, cap_msgs;
    size_t n_errors, n_warnings, n_dropped;
};

void cfg_init(struct cfg_ctx *c, const char *file);
void cfg_dispose(struct cfg_ctx *c);

/* Parses JSON text (duplicate keys are an error: Xray keeps the last one silently, which
 * hides mistakes). Returns a new reference or NULL after recording "line L column C: ...". */
json_t *cfg_parse(struct cfg_ctx *c, const char *text, size_t len);

/* Path stack. push returns a mark to pass to cfg_pop. Keys that are not identifiers are
 * written as ["key"]. */
size_t cfg_push_key(struct cfg_ctx *c, const char *key);
size_t cfg_push_index(struct cfg_ctx *c, size_t i);
void cfg_pop(struct cfg_ctx *c, size_t mark);

/* Records a message at the current path, or at path.key when key is not NULL. Always
 * returns ERR_CONFIG so callers can `return cfg_error(...)`. */
int cfg_error(struct cfg_ctx *c, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cfg_warn(struct cfg_ctx *c, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An error without a path (e.g. "cannot read file"). */
int cfg_error_global(struct cfg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline bool cfg_ok(const struct cfg_ctx *c)
{
    return c->n_errors == 0;
}

/* Moves every message of src (verbatim, counts included) to the end of dst; src is left empty. */
void cfg_take_msgs(struct cfg_ctx *dst, struct cfg_ctx *src);

/* Writes every message, one per line ("error: ..." / "warning: ..."), and a summary of
 * dropped ones. */
void cfg_print(const struct cfg_ctx *c, FILE *out);

/* Writes every message (errors and warnings, as cfg_print words them, without "error: ") into
 * out, separated by "; ", truncated to cap bytes (always NUL-terminated when cap > 0): for a
 * log field or an API answer where one line is wanted. */
void cfg_join(const struct cfg_ctx *c, char *out, size_t cap);

/* Records "unknown field" for every key of obj not in `allowed` (NULL-terminated). Keys in
 * `ignored` (NULL-terminated, may be NULL) are accepted with a warning "ignored: <why>".
 * Returns the number of unknown keys. */
size_t cfg_check_keys(struct cfg_ctx *c, const json_t *obj, const char *const *allowed, const char *const *ignored,
                      const char *ignored_why);

/* Name of the JSON type for messages: "a string", "a number", ... */
const char *cfg_type_name(const json_t *v);

int cfg_get_str(struct cfg_ctx *c, const json_t *obj, const char *key, const char **out);
int cfg_get_bool(struct cfg_ctx *c, const json_t *obj, const char *key, bool *out);
/* Integer in [min, max] ("must be between min and max"). Reals are refused. */
int cfg_get_int(struct cfg_ctx *c, const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out);
/* Unsigned 64-bit; jansson stores json_int_t (signed 64), so the range is 0..INT64_MAX. */
int cfg_get_u64(struct cfg_ctx *c, const json_t *obj, const char *key, uint64_t *out);
/* Integer, or a string holding a decimal integer (Xray accepts "443" for ports). */
int cfg_get_int_or_str(struct cfg_ctx *c, const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out);
int cfg_get_obj(struct cfg_ctx *c, const json_t *obj, const char *key, json_t **out);
int cfg_get_arr(struct cfg_ctx *c, const json_t *obj, const char *key, json_t **out);

/* Visits every element of arr with the path at key[i] (key NULL: [i] under the current path).
 * cfg_each_str records "expected a string" for an element that is not one and calls fn only
 * for strings. */
typedef void cfg_elem_fn(struct cfg_ctx *c, size_t i, const json_t *v, void *arg);
typedef void cfg_str_fn(struct cfg_ctx *c, size_t i, const char *s, void *arg);
void cfg_each(struct cfg_ctx *c, const char *key, const json_t *arr, cfg_elem_fn *fn, void *arg);
void cfg_each_str(struct cfg_ctx *c, const char *key, const json_t *arr, cfg_str_fn *fn, void *arg);

/* Value checks on an already fetched value, reporting at path[.key]. 0 or ERR_CONFIG. */
int cfg_expect_str(struct cfg_ctx *c, const char *key, const json_t *v, const char **out);
int cfg_expect_obj(struct cfg_ctx *c, const char *key, const json_t *v);

/* Value checks without a context, for the readers that stop at the first mistake because they
 * answer one error to a peer (hub API bodies with a stable error code, node-sync messages): they
 * share these checks with the getters above and word their own messages. Nothing allocates.
 *
 * cfg_key_allowed: key is in list (NULL-terminated; NULL list: none).
 * cfg_value_int: v is an integer in [min, max]: 0 (*out set); ERR_MALFORMED when not an integer
 *   (reals included); ERR_RANGE when outside.
 * cfg_value_str: v is a string without NUL bytes shorter than cap: 0 (*out, *len set);
 *   ERR_MALFORMED when not a string or holding a NUL; ERR_TOO_LONG when len >= cap. */
bool cfg_key_allowed(const char *key, const char *const *list);
int cfg_value_int(const json_t *v, int64_t min, int64_t max, int64_t *out);
int cfg_value_str(const json_t *v, size_t cap, const char **out, size_t *len);

/* Among aliases (e.g. {"target", "dest", NULL}), the key of the first one present, else NULL. */
const char *cfg_pick_alias(const json_t *obj, const char *const *names);

/* Value decoders shared by the node config and the CLI (spec/config-and-links.md §3, §4). */

/* A 32-byte X25519 key in base64url without padding (Xray's form). Go's lenient decoding is
 * mirrored: CR/LF are skipped and non-zero unused trailing bits are accepted; as a convenience
 * the standard alphabet and '=' padding are accepted too. Returns 0 for the canonical form,
 * 1 for an accepted non-canonical form (callers may warn), ERR_MALFORMED otherwise. */
int cfg_decode_key32(const char *s, uint8_t out[static 32]);

/* A REALITY shortId: 0..16 hex digits, even length, right-padded with zeros to 8 bytes.
 * ERR_MALFORMED (odd length, non-hex) or ERR_TOO_LONG (> 16 digits). */
int cfg_decode_short_id(const char *s, uint8_t out[static 8]);

/* A client version "x", "x.y" or "x.y.z" (each 0..255, missing parts 0) as (x<<16)|(y<<8)|z.
 * ERR_MALFORMED. */
int cfg_decode_version(const char *s, uint32_t *out);

#endif
