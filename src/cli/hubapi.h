/* The `veil` admin commands' client for the veil-hub REST API (docs/hub-api.json): connection
 * settings, requests through httpc (httpc/httpc.h), JSON in and out through jansson, and the API's error
 * objects turned into "veil: <code>: <message>" on stderr. Plus the pure parsers and
 * formatters the commands share (hubapi_parse.c), which are unit tested and fuzzed.
 *
 * The admin token is a secret: it only ever goes into the Authorization header of requests to
 * the configured hub (redirects are not followed), is never printed, and is wiped on close. */
#ifndef VEIL_CLI_HUBAPI_H
#define VEIL_CLI_HUBAPI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "core/buf.h"

#define HUBAPI_TIMEOUT_S 20           /* default whole-request timeout */
#define HUBAPI_BODY_MAX (16u << 20)   /* largest response we read */
#define HUBAPI_PRICE_MAX 999999999999 /* 10^12 - 1 minor units: far above any plan price */

/* Connection settings and output mode shared by every admin command. */
struct hubapi_opts {
    const char *url;    /* --hub, else $VEIL_HUB_URL */
    const char *token;  /* --token, else $VEIL_HUB_TOKEN */
    const char *cacert; /* --cacert FILE: trust this CA bundle instead of the system one */
    long timeout_s;     /* --timeout */
    bool insecure_http; /* --insecure-http: allow http:// to a non-loopback host */
    bool json;          /* --json: print the API's JSON instead of text */
};

/* getopt_long values of the shared options; commands put HUBAPI_LONG_OPTIONS in their table. */
enum hubapi_opt {
    HUBAPI_OPT_HUB = 0x100,
    HUBAPI_OPT_TOKEN,
    HUBAPI_OPT_CACERT,
    HUBAPI_OPT_TIMEOUT,
    HUBAPI_OPT_INSECURE_HTTP,
    HUBAPI_OPT_JSON,
    HUBAPI_OPT__COUNT, /* sentinel; command-specific options start here */
};

/* clang-format off */
#define HUBAPI_LONG_OPTIONS                                                  \
    {"hub", required_argument, NULL, HUBAPI_OPT_HUB},                        \
    {"token", required_argument, NULL, HUBAPI_OPT_TOKEN},                    \
    {"cacert", required_argument, NULL, HUBAPI_OPT_CACERT},                  \
    {"timeout", required_argument, NULL, HUBAPI_OPT_TIMEOUT},                \
    {"insecure-http", no_argument, NULL, HUBAPI_OPT_INSECURE_HTTP},          \
    {"json", no_argument, NULL, HUBAPI_OPT_JSON},                            \
    {"help", no_argument, NULL, 'h'}
/* clang-format on */

/* One-line summary of the shared options, for usage texts. */
#define HUBAPI_USAGE_COMMON                                                                                            \
    "common options: --hub URL (or $VEIL_HUB_URL)  --token TOKEN (or $VEIL_HUB_TOKEN)  --json\n"                       \
    "                --cacert FILE  --timeout SECONDS  --insecure-http (allow http:// to a non-loopback host)\n"

void hubapi_opts_init(struct hubapi_opts *o);

/* Handles one shared option from getopt_long. Returns 1 when opt was one of them, 0 when it is
 * not, -1 (after a message on stderr) for a bad value. */
int hubapi_opts_handle(struct hubapi_opts *o, int opt, const char *arg);

#define HUBAPI_OPT_EXIT (-2)
/* One step of the option loop every admin command shares: getopt_long with `lo`, the hub
 * options and -h taken here. Returns the next option for the caller, -1 at the end, or
 * HUBAPI_OPT_EXIT with *exit_code set (help printed: 0; a bad hub option: 2). */
int hubapi_next_opt(int argc, char **argv, const struct option *lo, struct hubapi_opts *o, void (*usage)(FILE *),
                    int *exit_code);

/* Refuses option c (the one getopt just returned) of verb argv[0]: '?' was already reported by
 * getopt, another gets "veil <tool> <verb>: option X does not apply here"; then usage on stderr.
 * Returns CLI_EXIT_USAGE. */
int hubapi_refuse_opt(const char *tool, int c, char **argv, void (*usage)(FILE *));

/* The whole option loop of one verb (argv starts at the verb): *hub initialised and the shared
 * options taken, -h prints usage, an option not in `allowed` (the command's own getopt values,
 * ended by 0; NULL: none) is refused, and each allowed one goes to take(ctx, c, optarg), which
 * returns false after printing why. Returns -1 to go on (positional arguments at
 * argv[optind..]) or the exit code (0 after help, CLI_EXIT_USAGE). */
int hubapi_parse_verb(const char *tool, int argc, char **argv, const struct option *lo, const int *allowed,
                      struct hubapi_opts *hub, void (*usage)(FILE *), bool (*take)(void *ctx, int c, const char *arg),
                      void *ctx);

/* One verb of an admin command (`veil pay list ...`); run gets argv starting at the verb. */
struct hubapi_verb {
    const char *name;
    int (*run)(int argc, char **argv);
};

/* Runs the verb argv[1] names from `verbs` (ended by a NULL name) with argv + 1. help, -h and
 * --help print usage on stdout (exit 0); a missing or unknown verb prints usage on stderr
 * (exit 2), the unknown one named as "veil <tool>: unknown action". */
int hubapi_run_verb(const char *tool, int argc, char **argv, const struct hubapi_verb *verbs, void (*usage)(FILE *));

struct hubapi;

/* Validates the settings (URL from the option or environment, token present, scheme rules of
 * hubapi_check_url) and makes a client. On failure prints why on stderr and returns
 * ERR_CONFIG (a usage error: exit 2) or ERR_NOMEM. */
int hubapi_open(struct hubapi **out, const struct hubapi_opts *o);

/* Wipes the token and frees the client. NULL is a no-op. */
void hubapi_close(struct hubapi *api);

/* One API call: method ("GET", "POST", ...), path below the hub URL ("/api/v1/users"), an
 * optional JSON body (borrowed). On a 2xx answer returns 0 and sets *resp to the parsed body
 * (NULL for an empty one; the caller json_decref's it). Otherwise prints on stderr
 * "veil: <code>: <message>" from the API's error object (or the HTTP status, or the transfer
 * error) and returns ERR_IO (unreachable), ERR_NOT_FOUND (404) or ERR_BAD_STATE (other). */
int hubapi_call(struct hubapi *api, const char *method, const char *path, json_t *body, json_t **resp);

/* GET path without the admin token, as the client app `user_agent` would; the body goes to out
 * (appended, at most HUBAPI_BODY_MAX). Returns 0 with *status set, or ERR_IO with a message. */
int hubapi_get_public(struct hubapi *api, const char *path, const char *user_agent, struct buf *out, long *status);

/* Prints a JSON value pretty-printed to stdout, with a newline. */
void hubapi_print_json(const json_t *j);

/* The process exit code for a hubapi result: 0 -> 0, ERR_CONFIG -> 2, other errors -> 1. */
int hubapi_exit_code(int rc);

/* A positional object id (1..2^53-1); prints "veil: <what>: ..." and returns ERR_MALFORMED
 * when it is not one. */
int hubapi_parse_id(const char *s, const char *what, int64_t *id);

/* Member `key` of object o as an integer (0 when absent or not an integer). */
int64_t hubapi_int(const json_t *o, const char *key);

/* Member `key` of object o as a string ("" when absent or not a string). */
const char *hubapi_str(const json_t *o, const char *key);

/* --- Pure helpers (hubapi_parse.c) --- */

/* Whether a hub URL may be used: https:// always; http:// only to a loopback host (localhost,
 * 127.0.0.0/8, ::1) unless allow_http; no user:password@, query or fragment. Returns 0, or
 * ERR_CONFIG with *why set to a static reason. */
int hubapi_check_url(const char *url, bool allow_http, const char **why);

/* Strict decimal: digits only (no sign, space or leading zero unless "0"), value <= max.
 * ERR_MALFORMED or ERR_RANGE. */
int hubapi_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* A price "CUR:MINOR": three upper-case letters, ':', then a strict decimal amount in minor
 * units (kopecks, cents) of at most HUBAPI_PRICE_MAX; "RUB:29900" is 299.00 RUB. No floats,
 * signs, spaces or lower case. cur receives the NUL-terminated code. ERR_MALFORMED or
 * ERR_RANGE. */
int hubapi_parse_price(const char *s, char cur[static 4], int64_t *minor);

/* Short ids as the node config takes them: 0..16 hex digits, even length. */
bool hubapi_short_id_ok(const char *s);

/* Decodes a v2rayN-style subscription body (standard base64 of newline-separated links,
 * padding and line breaks tolerated) and appends the lines that start with "vless://" to out,
 * each NUL-terminated. *n counts them. ERR_MALFORMED when the body is not base64,
 * ERR_NOMEM / ERR_TOO_LONG from the buffer. */
int hubapi_sub_links(const char *body, size_t len, struct buf *out, size_t *n);

/* "1.50 GiB" style (binary units, two decimals past bytes) into out. */
void hubapi_format_bytes(uint64_t n, char *out, size_t cap);

/* How long ago t was, seen at now: "never" for t <= 0, "12s ago", "5m ago", "3h ago", "2d ago";
 * "just now" when t is in the future. */
void hubapi_format_age(int64_t now, int64_t t, char *out, size_t cap);

/* "YYYY-MM-DD" (UTC) for a unix time. */
void hubapi_format_date(int64_t t, char *out, size_t cap);

/* Copies s into out with control characters (< 0x20, 0x7f, and the UTF-8 C1 range
 * U+0080..U+009F) replaced by '?', so text from the server cannot drive the terminal;
 * truncates to fit. */
void hubapi_sanitize(const char *s, char *out, size_t cap);

#endif
