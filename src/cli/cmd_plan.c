/* `veil plan`: create and list the plans a veil-hub sells (cli/hubapi.h). Prices are given and
 * shown as CUR:MINOR (minor units: "RUB:29900" is 299.00 RUB), never as floats. */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/hubapi.h"
#include "core/err.h"

#define PLAN_PRICES_MAX 16
#define GIB (UINT64_C(1) << 30)

static void usage(FILE *out)
{
    fputs("usage: veil plan add NAME --days N --price CUR:MINOR [--price CUR:MINOR ...] [--quota-gb N]\n"
          "                [--devices N] [--reset none|daily|weekly|monthly]\n"
          "       veil plan list\n"
          "  Prices are in minor units of the currency: --price RUB:29900 is 299.00 RUB, USD:399 is\n"
          "  $3.99. --quota-gb is GiB (2^30 bytes) of traffic per period, 0 or absent = unlimited;\n"
          "  --devices limits distinct devices (0 = no limit); --reset restarts the traffic count\n"
          "  each UTC day, week or month.\n" HUBAPI_USAGE_COMMON,
          out);
}

enum {
    OPT_DAYS = HUBAPI_OPT__COUNT,
    OPT_PRICE,
    OPT_QUOTA_GB,
    OPT_DEVICES,
    OPT_RESET,
};

struct plan_opts {
    struct hubapi_opts hub;
    const char *days, *quota_gb, *devices, *reset;
    const char *prices[PLAN_PRICES_MAX];
    size_t n_prices;
};

static bool take_opt(void *ctx, int c, const char *arg)
{
    struct plan_opts *v = ctx;
    switch (c) {
    case OPT_DAYS:
        v->days = arg;
        break;
    case OPT_PRICE:
        if (v->n_prices == PLAN_PRICES_MAX) {
            fprintf(stderr, "veil plan add: at most %d prices\n", PLAN_PRICES_MAX);
            return false;
        }
        v->prices[v->n_prices++] = arg;
        break;
    case OPT_QUOTA_GB:
        v->quota_gb = arg;
        break;
    case OPT_DEVICES:
        v->devices = arg;
        break;
    case OPT_RESET:
        v->reset = arg;
        break;
    }
    return true;
}

/* Returns -1 to go on, or the exit code to return; positional arguments stay at argv[optind..].
 * add takes the plan's options, list none. */
static int parse_opts(int argc, char **argv, struct plan_opts *v, bool add)
{
    static const struct option lo[] = {
        HUBAPI_LONG_OPTIONS,
        {"days", required_argument, NULL, OPT_DAYS},
        {"price", required_argument, NULL, OPT_PRICE},
        {"quota-gb", required_argument, NULL, OPT_QUOTA_GB},
        {"devices", required_argument, NULL, OPT_DEVICES},
        {"reset", required_argument, NULL, OPT_RESET},
        {NULL, 0, NULL, 0},
    };
    static const int add_opts[] = {OPT_DAYS, OPT_PRICE, OPT_QUOTA_GB, OPT_DEVICES, OPT_RESET, 0};
    memset(v, 0, sizeof(*v));
    return hubapi_parse_verb("plan", argc, argv, lo, add ? add_opts : NULL, &v->hub, usage, take_opt, v);
}

/* The --price list as the API's {"CUR": minor} object; NULL after a message on a bad one. */
static json_t *prices_json(const struct plan_opts *v)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < v->n_prices; i++) {
        char cur[4];
        int64_t minor;
        int rc = hubapi_parse_price(v->prices[i], cur, &minor);
        if (rc < 0) {
            fprintf(stderr,
                    "veil plan add: --price %s: %s (expected CUR:MINOR, e.g. RUB:29900 for 299.00 RUB: "
                    "three upper-case letters, then whole minor units)\n",
                    v->prices[i], rc == ERR_RANGE ? "amount too large" : "malformed");
            json_decref(o);
            return NULL;
        }
        if (json_object_get(o, cur) != NULL) {
            fprintf(stderr, "veil plan add: --price: %s given twice\n", cur);
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, cur, json_integer((json_int_t)minor));
    }
    return o;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "RUB:29900 USD:399", currencies sorted, into out. */
static void format_prices(const json_t *prices, char *out, size_t cap)
{
    const char *keys[PLAN_PRICES_MAX * 4];
    size_t n = 0;
    const char *k;
    json_t *val;
    out[0] = '\0';
    json_object_foreach((json_t *)prices, k, val)
    {
        if (n < sizeof(keys) / sizeof(keys[0]))
            keys[n++] = k;
    }
    qsort(keys, n, sizeof(keys[0]), cmp_str);
    size_t used = 0;
    for (size_t i = 0; i < n && used < cap; i++) {
        char cur[8];
        hubapi_sanitize(keys[i], cur, sizeof(cur));
        int w = snprintf(out + used, cap - used, "%s%s:%" PRId64, i ? " " : "", cur, hubapi_int(prices, keys[i]));
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (n == 0)
        snprintf(out, cap, "-");
}

static void quota_text(int64_t q, char *out, size_t cap)
{
    if (q <= 0)
        snprintf(out, cap, "unlimited");
    else
        hubapi_format_bytes((uint64_t)q, out, cap);
}

static int plan_add(int argc, char **argv)
{
    struct plan_opts v;
    int rc = parse_opts(argc, argv, &v, true);
    if (rc >= 0)
        return rc;
    if (argc - optind != 1) {
        fprintf(stderr, "veil plan add: expected the plan's NAME\n");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    uint64_t days, quota_gb = 0, devices = 0;
    if (v.days == NULL || hubapi_parse_uint(v.days, 3660, &days) < 0 || days == 0) {
        fprintf(stderr, "veil plan add: --days: expected 1..3660\n");
        return CLI_EXIT_USAGE;
    }
    if (v.n_prices == 0) {
        fprintf(stderr, "veil plan add: at least one --price CUR:MINOR is required\n");
        return CLI_EXIT_USAGE;
    }
    if (v.quota_gb && hubapi_parse_uint(v.quota_gb, (uint64_t)INT64_MAX / GIB, &quota_gb) < 0) {
        fprintf(stderr, "veil plan add: --quota-gb: expected a whole number of GiB\n");
        return CLI_EXIT_USAGE;
    }
    if (v.devices && hubapi_parse_uint(v.devices, 1000, &devices) < 0) {
        fprintf(stderr, "veil plan add: --devices: expected 0..1000\n");
        return CLI_EXIT_USAGE;
    }
    if (v.reset && strcmp(v.reset, "none") != 0 && strcmp(v.reset, "daily") != 0 && strcmp(v.reset, "weekly") != 0 &&
        strcmp(v.reset, "monthly") != 0) {
        fprintf(stderr, "veil plan add: --reset: expected none, daily, weekly or monthly\n");
        return CLI_EXIT_USAGE;
    }
    json_t *prices = prices_json(&v);
    if (prices == NULL)
        return CLI_EXIT_USAGE;
    struct hubapi *api;
    if ((rc = hubapi_open(&api, &v.hub)) < 0) {
        json_decref(prices);
        return hubapi_exit_code(rc);
    }
    json_t *body = json_pack("{s:s,s:I,s:I,s:I,s:s,s:o}", "name", argv[optind], "duration_days", (json_int_t)days,
                             "quota_bytes", (json_int_t)(quota_gb * GIB), "device_limit", (json_int_t)devices,
                             "reset_strategy", v.reset ? v.reset : "none", "prices", prices);
    json_t *p = NULL;
    rc = hubapi_call(api, "POST", "/api/v1/plans", body, &p);
    json_decref(body);
    if (rc == 0 && v.hub.json) {
        hubapi_print_json(p);
    } else if (rc == 0) {
        char name[128], pr[256], q[32], reset[16];
        hubapi_sanitize(hubapi_str(p, "name"), name, sizeof(name));
        format_prices(json_object_get(p, "prices"), pr, sizeof(pr));
        quota_text(hubapi_int(p, "quota_bytes"), q, sizeof(q));
        hubapi_sanitize(hubapi_str(p, "reset_strategy"), reset, sizeof(reset));
        printf("created plan %" PRId64 " (%s): %" PRId64 " days, %s, quota %s, devices %" PRId64 ", reset %s\n",
               hubapi_int(p, "id"), name, hubapi_int(p, "duration_days"), pr, q, hubapi_int(p, "device_limit"), reset);
    }
    json_decref(p);
    hubapi_close(api);
    return hubapi_exit_code(rc);
}

static int plan_list(int argc, char **argv)
{
    struct plan_opts v;
    int rc = parse_opts(argc, argv, &v, false);
    if (rc >= 0)
        return rc;
    if (argc - optind != 0) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    struct hubapi *api;
    if ((rc = hubapi_open(&api, &v.hub)) < 0)
        return hubapi_exit_code(rc);
    json_t *list = NULL;
    rc = hubapi_call(api, "GET", "/api/v1/plans", NULL, &list);
    if (rc == 0 && v.hub.json) {
        hubapi_print_json(list);
    } else if (rc == 0) {
        printf("%-5s %-20s %-5s %-24s %-12s %-7s %-8s %s\n", "ID", "NAME", "DAYS", "PRICES", "QUOTA", "DEVICES",
               "RESET", "ENABLED");
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(list, "plans"), i, p)
        {
            char name[21], pr[256], q[32], reset[16];
            hubapi_sanitize(hubapi_str(p, "name"), name, sizeof(name));
            format_prices(json_object_get(p, "prices"), pr, sizeof(pr));
            quota_text(hubapi_int(p, "quota_bytes"), q, sizeof(q));
            hubapi_sanitize(hubapi_str(p, "reset_strategy"), reset, sizeof(reset));
            int64_t dl = hubapi_int(p, "device_limit");
            char dev[24];
            if (dl > 0)
                snprintf(dev, sizeof(dev), "%" PRId64, dl);
            else
                snprintf(dev, sizeof(dev), "any");
            printf("%-5" PRId64 " %-20s %-5" PRId64 " %-24s %-12s %-7s %-8s %s\n", hubapi_int(p, "id"), name,
                   hubapi_int(p, "duration_days"), pr, q, dev, reset,
                   json_is_true(json_object_get(p, "enabled")) ? "yes" : "no");
        }
    }
    json_decref(list);
    hubapi_close(api);
    return hubapi_exit_code(rc);
}

int cli_plan_main(int argc, char **argv)
{
    static const struct hubapi_verb verbs[] = {
        {"add", plan_add},
        {"list", plan_list},
        {NULL, NULL},
    };
    return hubapi_run_verb("plan", argc, argv, verbs, usage);
}
