/* `veil user`: users on a veil-hub through its admin API (cli/hubapi.h): add (optionally with
 * a plan), list, show (with the subscription's vless:// links and a QR code), disable, enable,
 * rotate-token. */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "cli/cli.h"
#include "cli/hubapi.h"
#include "core/err.h"

/* What v2rayN sends: the hub then answers with the base64 list of links. */
#define SUB_USER_AGENT "v2rayN/6.45"

static void usage(FILE *out)
{
    fputs("usage: veil user add NAME [--telegram-id N] [--plan ID]\n"
          "       veil user list [--q TEXT] [--limit N] [--offset N]\n"
          "       veil user show ID [--qr] [--qr-invert]\n"
          "       veil user disable ID | enable ID | rotate-token ID\n"
          "  add creates a user (and grants plan ID starting now); list shows id, username, enabled,\n"
          "  plan/expiry and traffic (--q searches username, referral code or exact Telegram id);\n"
          "  show prints the user, the subscription URL and the vless:// links it serves (--qr adds\n"
          "  a QR code of the URL for dark terminals, --qr-invert for light); rotate-token issues a\n"
          "  new subscription URL (the old one stops working).\n" HUBAPI_USAGE_COMMON,
          out);
}

struct verb_opts {
    struct hubapi_opts hub;
    const char *telegram_id, *plan, *q, *limit, *offset;
    bool qr, qr_invert;
};

enum {
    OPT_TELEGRAM = HUBAPI_OPT__COUNT,
    OPT_PLAN,
    OPT_Q,
    OPT_LIMIT,
    OPT_OFFSET,
    OPT_QR,
    OPT_QR_INVERT,
};

static bool take_opt(void *ctx, int c, const char *arg)
{
    struct verb_opts *v = ctx;
    switch (c) {
    case OPT_TELEGRAM:
        v->telegram_id = arg;
        break;
    case OPT_PLAN:
        v->plan = arg;
        break;
    case OPT_Q:
        v->q = arg;
        break;
    case OPT_LIMIT:
        v->limit = arg;
        break;
    case OPT_OFFSET:
        v->offset = arg;
        break;
    case OPT_QR:
        v->qr = true;
        break;
    case OPT_QR_INVERT:
        v->qr = v->qr_invert = true;
        break;
    }
    return true;
}

/* Parses options; positional arguments are left in argv[optind..]. Each verb accepts only
 * the options listed in `allowed` (0-ended; NULL: none). Returns -1 to go on, or the exit code. */
static int parse_opts(int argc, char **argv, struct verb_opts *v, const int *allowed)
{
    static const struct option lo[] = {
        HUBAPI_LONG_OPTIONS,
        {"telegram-id", required_argument, NULL, OPT_TELEGRAM},
        {"plan", required_argument, NULL, OPT_PLAN},
        {"q", required_argument, NULL, OPT_Q},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"offset", required_argument, NULL, OPT_OFFSET},
        {"qr", no_argument, NULL, OPT_QR},
        {"qr-invert", no_argument, NULL, OPT_QR_INVERT},
        {NULL, 0, NULL, 0},
    };
    memset(v, 0, sizeof(*v));
    return hubapi_parse_verb("user", argc, argv, lo, allowed, &v->hub, usage, take_opt, v);
}

/* Exactly n positional arguments. */
static bool positional(int argc, char **argv, int n)
{
    if (argc - optind == n)
        return true;
    fprintf(stderr, "veil user %s: expected %d argument%s\n", argv[0], n, n == 1 ? "" : "s");
    usage(stderr);
    return false;
}

/* The plan's name for display, "plan N" when it cannot be read. */
static void plan_name(json_t *plans, int64_t id, char *out, size_t cap)
{
    snprintf(out, cap, "plan %" PRId64, id);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(plans, "plans"), i, p)
    {
        if (hubapi_int(p, "id") == id) {
            hubapi_sanitize(hubapi_str(p, "name"), out, cap);
            return;
        }
    }
}

/* "Month until 2026-12-26" / "Month, expired 2026-12-26" / "-". */
static void plan_expiry(json_t *sub, const char *name, char *out, size_t cap)
{
    if (!json_is_object(sub)) {
        snprintf(out, cap, "-");
        return;
    }
    char date[32];
    hubapi_format_date(hubapi_int(sub, "ends_at"), date, sizeof(date));
    const char *state = hubapi_str(sub, "state");
    if (strcmp(state, "active") == 0)
        snprintf(out, cap, "%s until %s", name, date);
    else
        snprintf(out, cap, "%s, %.16s %s", name, state, date);
}

/* "30 B / 1.00 GiB", "30 B / unlimited", "-". */
static void traffic(json_t *sub, char *out, size_t cap)
{
    if (!json_is_object(sub)) {
        snprintf(out, cap, "-");
        return;
    }
    char used[32], quota[32];
    uint64_t u = (uint64_t)hubapi_int(sub, "used_up") + (uint64_t)hubapi_int(sub, "used_down");
    int64_t q = hubapi_int(sub, "quota_bytes");
    hubapi_format_bytes(u, used, sizeof(used));
    if (q > 0)
        hubapi_format_bytes((uint64_t)q, quota, sizeof(quota));
    else
        snprintf(quota, sizeof(quota), "unlimited");
    snprintf(out, cap, "%s / %s", used, quota);
}

static int get_user(struct hubapi *api, int64_t id, json_t **out)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/users/%" PRId64, id);
    return hubapi_call(api, "GET", path, NULL, out);
}

/* Prints the fields of a user object (with its subscription) as "key: value" lines. */
static void print_user(struct hubapi *api, json_t *u)
{
    char s1[256], s2[256], s3[64];
    json_t *sub = json_object_get(u, "subscription");
    printf("id:            %" PRId64 "\n", hubapi_int(u, "id"));
    hubapi_sanitize(hubapi_str(u, "username"), s1, sizeof(s1));
    printf("username:      %s\n", s1);
    if (json_is_integer(json_object_get(u, "telegram_id")))
        printf("telegram id:   %" PRId64 "\n", hubapi_int(u, "telegram_id"));
    printf("enabled:       %s\n", json_is_true(json_object_get(u, "enabled")) ? "yes" : "no");
    hubapi_sanitize(hubapi_str(u, "uuid"), s1, sizeof(s1));
    printf("uuid:          %s\n", s1);
    hubapi_sanitize(hubapi_str(u, "currency"), s3, sizeof(s3));
    printf("balance:       %s:%" PRId64 "\n", s3, hubapi_int(u, "balance_minor"));
    hubapi_sanitize(hubapi_str(u, "referral_code"), s1, sizeof(s1));
    printf("referral code: %s\n", s1);
    hubapi_format_date(hubapi_int(u, "created_at"), s3, sizeof(s3));
    printf("created:       %s\n", s3);
    if (json_is_object(sub)) {
        json_t *plans = NULL;
        (void)hubapi_call(api, "GET", "/api/v1/plans", NULL, &plans);
        plan_name(plans, hubapi_int(sub, "plan_id"), s2, sizeof(s2));
        json_decref(plans);
        plan_expiry(sub, s2, s1, sizeof(s1));
        printf("plan:          %s\n", s1);
        traffic(sub, s1, sizeof(s1));
        printf("traffic:       %s\n", s1);
    } else {
        printf("plan:          none\n");
    }
    hubapi_sanitize(hubapi_str(u, "sub_url"), s1, sizeof(s1));
    printf("subscription:  %s\n", s1);
}

static bool token_ok(const char *t)
{
    size_t n = strlen(t);
    if (n < 16 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') ||
              t[i] == '_' || t[i] == '-'))
            return false;
    return true;
}

/* Fetches the user's subscription as v2rayN would and collects its vless:// links (a JSON
 * array of strings). NULL with a note on stderr when the hub serves none. */
static json_t *fetch_links(struct hubapi *api, json_t *u)
{
    const char *tok = hubapi_str(u, "sub_token");
    if (!token_ok(tok)) {
        fprintf(stderr, "veil: the hub sent no usable subscription token\n");
        return NULL;
    }
    char path[96];
    snprintf(path, sizeof(path), "/sub/%s", tok);
    struct buf body, links;
    buf_init(&body);
    buf_init(&links);
    long status;
    json_t *arr = NULL;
    size_t n;
    if (hubapi_get_public(api, path, SUB_USER_AGENT, &body, &status) < 0)
        goto out;
    if (status != 200) {
        fprintf(stderr, "veil: no links: the subscription answered HTTP %ld\n", status);
        goto out;
    }
    if (hubapi_sub_links((const char *)buf_data(&body), buf_len(&body), &links, &n) < 0) {
        fprintf(stderr, "veil: no links: the subscription body is not a base64 link list\n");
        goto out;
    }
    arr = json_array();
    for (size_t off = 0; arr && off < buf_len(&links);) {
        const char *line = (const char *)buf_data(&links) + off;
        json_array_append_new(arr, json_string(line));
        off += strlen(line) + 1;
    }
out:
    buf_dispose(&body);
    buf_dispose(&links);
    return arr;
}

static int user_add(int argc, char **argv)
{
    static const int allowed[] = {OPT_TELEGRAM, OPT_PLAN, 0};
    struct verb_opts v;
    int rc = parse_opts(argc, argv, &v, allowed);
    if (rc >= 0)
        return rc;
    if (!positional(argc, argv, 1))
        return CLI_EXIT_USAGE;
    uint64_t tg = 0;
    int64_t plan = 0;
    if (v.telegram_id && (hubapi_parse_uint(v.telegram_id, INT64_MAX, &tg) < 0 || tg == 0)) {
        fprintf(stderr, "veil: --telegram-id: expected a positive integer\n");
        return CLI_EXIT_USAGE;
    }
    if (v.plan && hubapi_parse_id(v.plan, "--plan", &plan) < 0)
        return CLI_EXIT_USAGE;

    struct hubapi *api;
    if ((rc = hubapi_open(&api, &v.hub)) < 0)
        return hubapi_exit_code(rc);
    json_t *body = json_pack("{s:s}", "username", argv[optind]);
    if (tg)
        json_object_set_new(body, "telegram_id", json_integer((json_int_t)tg));
    json_t *u = NULL, *sub = NULL;
    rc = hubapi_call(api, "POST", "/api/v1/users", body, &u);
    json_decref(body);
    int64_t id = hubapi_int(u, "id");
    if (rc == 0 && plan) {
        body = json_pack("{s:I,s:I}", "user_id", (json_int_t)id, "plan_id", (json_int_t)plan);
        rc = hubapi_call(api, "POST", "/api/v1/subscriptions", body, &sub);
        json_decref(body);
        json_decref(sub);
        if (rc < 0)
            fprintf(stderr, "veil: user %" PRId64 " was created, but without the plan\n", id);
    }
    if (rc == 0) {
        json_decref(u);
        u = NULL;
        rc = get_user(api, id, &u);
    }
    if (rc == 0) {
        if (v.hub.json) {
            hubapi_print_json(u);
        } else {
            printf("created user %" PRId64 "\n", id);
            print_user(api, u);
        }
    }
    json_decref(u);
    hubapi_close(api);
    return hubapi_exit_code(rc);
}

static int user_list(int argc, char **argv)
{
    static const int allowed[] = {OPT_Q, OPT_LIMIT, OPT_OFFSET, 0};
    struct verb_opts v;
    int rc = parse_opts(argc, argv, &v, allowed);
    if (rc >= 0)
        return rc;
    if (!positional(argc, argv, 0))
        return CLI_EXIT_USAGE;
    uint64_t limit = 50, offset = 0;
    if (v.limit && (hubapi_parse_uint(v.limit, 500, &limit) < 0 || limit == 0)) {
        fprintf(stderr, "veil: --limit: expected 1..500\n");
        return CLI_EXIT_USAGE;
    }
    if (v.offset && hubapi_parse_uint(v.offset, 1000000000, &offset) < 0) {
        fprintf(stderr, "veil: --offset: expected 0..10^9\n");
        return CLI_EXIT_USAGE;
    }
    struct hubapi *api;
    if ((rc = hubapi_open(&api, &v.hub)) < 0)
        return hubapi_exit_code(rc);
    char path[512];
    int n = snprintf(path, sizeof(path), "/api/v1/users?limit=%" PRIu64 "&offset=%" PRIu64, limit, offset);
    if (v.q) {
        char *esc = curl_easy_escape(NULL, v.q, 0);
        if (esc == NULL || strlen(esc) > 400) {
            fprintf(stderr, "veil: --q: too long\n");
            curl_free(esc);
            hubapi_close(api);
            return CLI_EXIT_USAGE;
        }
        snprintf(path + n, sizeof(path) - (size_t)n, "&q=%s", esc);
        curl_free(esc);
    }
    json_t *list = NULL, *plans = NULL;
    rc = hubapi_call(api, "GET", path, NULL, &list);
    /* The list carries no subscriptions: read each user in full (the page is at most 500). */
    json_t *users = json_object_get(list, "users");
    for (size_t i = 0; rc == 0 && i < json_array_size(users); i++) {
        json_t *full = NULL;
        rc = get_user(api, hubapi_int(json_array_get(users, i), "id"), &full);
        if (rc == 0)
            json_array_set_new(users, i, full);
    }
    if (rc == 0 && !v.hub.json)
        rc = hubapi_call(api, "GET", "/api/v1/plans", NULL, &plans);
    if (rc == 0 && v.hub.json) {
        hubapi_print_json(list);
    } else if (rc == 0) {
        printf("%-6s %-24s %-7s %-34s %s\n", "ID", "USERNAME", "ENABLED", "PLAN/EXPIRY", "TRAFFIC");
        size_t i;
        json_t *u;
        json_array_foreach(users, i, u)
        {
            char name[25], pn[64], pe[128], tr[64];
            json_t *sub = json_object_get(u, "subscription");
            hubapi_sanitize(hubapi_str(u, "username"), name, sizeof(name));
            plan_name(plans, hubapi_int(sub, "plan_id"), pn, sizeof(pn));
            plan_expiry(sub, pn, pe, sizeof(pe));
            traffic(sub, tr, sizeof(tr));
            printf("%-6" PRId64 " %-24s %-7s %-34s %s\n", hubapi_int(u, "id"), name,
                   json_is_true(json_object_get(u, "enabled")) ? "yes" : "no", pe, tr);
        }
        int64_t total = hubapi_int(list, "total");
        if ((int64_t)json_array_size(users) < total)
            printf("(%zu of %" PRId64 " users from offset %" PRIu64 "; see --limit and --offset)\n",
                   json_array_size(users), total, offset);
    }
    json_decref(list);
    json_decref(plans);
    hubapi_close(api);
    return hubapi_exit_code(rc);
}

static int user_show(int argc, char **argv)
{
    static const int allowed[] = {OPT_QR, OPT_QR_INVERT, 0};
    struct verb_opts v;
    int rc = parse_opts(argc, argv, &v, allowed);
    if (rc >= 0)
        return rc;
    int64_t id;
    if (!positional(argc, argv, 1))
        return CLI_EXIT_USAGE;
    if (hubapi_parse_id(argv[optind], "ID", &id) < 0)
        return CLI_EXIT_USAGE;
    struct hubapi *api;
    if ((rc = hubapi_open(&api, &v.hub)) < 0)
        return hubapi_exit_code(rc);
    json_t *u = NULL;
    rc = get_user(api, id, &u);
    if (rc == 0) {
        json_t *links = fetch_links(api, u);
        if (v.hub.json) {
            json_object_set_new(u, "links", links ? links : json_array());
            hubapi_print_json(u);
        } else {
            print_user(api, u);
            printf("links:%s\n", json_array_size(links) ? "" : "         none");
            size_t i;
            json_t *l;
            json_array_foreach(links, i, l)
            {
                char line[8192];
                hubapi_sanitize(json_string_value(l), line, sizeof(line));
                printf("  %s\n", line);
            }
            json_decref(links);
            const char *url = hubapi_str(u, "sub_url");
            if (v.qr && *url) {
                fflush(stdout);
                if (cli_qr_print(stdout, url, v.qr_invert) < 0) {
                    fprintf(stderr, "veil: the subscription URL does not fit a QR code\n");
                    rc = ERR_TOO_LONG;
                }
            }
        }
    }
    json_decref(u);
    hubapi_close(api);
    return hubapi_exit_code(rc);
}

/* disable, enable, rotate-token: POST /api/v1/users/ID/<action>, answering the user. */
static int user_action(int argc, char **argv, const char *action)
{
    struct verb_opts v;
    int rc = parse_opts(argc, argv, &v, NULL);
    if (rc >= 0)
        return rc;
    int64_t id;
    if (!positional(argc, argv, 1))
        return CLI_EXIT_USAGE;
    if (hubapi_parse_id(argv[optind], "ID", &id) < 0)
        return CLI_EXIT_USAGE;
    struct hubapi *api;
    if ((rc = hubapi_open(&api, &v.hub)) < 0)
        return hubapi_exit_code(rc);
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/users/%" PRId64 "/%s", id, action);
    json_t *u = NULL;
    rc = hubapi_call(api, "POST", path, NULL, &u);
    if (rc == 0 && v.hub.json) {
        hubapi_print_json(u);
    } else if (rc == 0) {
        char name[128], url[256];
        hubapi_sanitize(hubapi_str(u, "username"), name, sizeof(name));
        if (strcmp(action, "rotate-token") == 0) {
            hubapi_sanitize(hubapi_str(u, "sub_url"), url, sizeof(url));
            printf("user %" PRId64 " (%s): new subscription URL (the old one no longer works):\n%s\n", id, name, url);
        } else {
            printf("user %" PRId64 " (%s) %s\n", id, name,
                   json_is_true(json_object_get(u, "enabled")) ? "enabled" : "disabled");
        }
    }
    json_decref(u);
    hubapi_close(api);
    return hubapi_exit_code(rc);
}

/* disable, enable and rotate-token share one runner, told the verb by argv[0]. */
static int user_state_action(int argc, char **argv)
{
    return user_action(argc, argv, argv[0]);
}

int cli_user_main(int argc, char **argv)
{
    static const struct hubapi_verb verbs[] = {
        {"add", user_add},
        {"list", user_list},
        {"show", user_show},
        {"disable", user_state_action},
        {"enable", user_state_action},
        {"rotate-token", user_state_action},
        {NULL, NULL},
    };
    return hubapi_run_verb("user", argc, argv, verbs, usage);
}
