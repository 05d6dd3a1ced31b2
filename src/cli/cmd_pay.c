/* `veil pay`: invoices and payments on a veil-hub (cli/hubapi.h, docs/billing.md): create an
 * invoice for a plan or a top-up through a provider, list and show payments, refund one.
 * Amounts are shown as the currency writes them ("299.00 RUB", "250 XTR"), kept as minor units. */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/hubapi.h"
#include "core/err.h"

static void usage(FILE *out)
{
    fputs("usage: veil pay invoice --user ID (--plan ID | --amount MINOR) --provider PROVIDER [--promo CODE]\n"
          "       veil pay list [--status STATUS] [--provider PROVIDER] [--since UNIX_TIME] [--limit N]\n"
          "       veil pay show PAYMENT_ID\n"
          "       veil pay refund PAYMENT_ID\n"
          "  PROVIDER is yookassa, robokassa, cryptobot, stars or balance; --amount is a balance top-up\n"
          "  in minor units of the balance's currency (29900 = 299.00). STATUS is pending, succeeded,\n"
          "  canceled, expired, failed or refunded.\n" HUBAPI_USAGE_COMMON,
          out);
}

enum {
    OPT_USER = HUBAPI_OPT__COUNT,
    OPT_PLAN,
    OPT_AMOUNT,
    OPT_PROVIDER,
    OPT_PROMO,
    OPT_STATUS,
    OPT_SINCE,
    OPT_LIMIT,
};

struct pay_opts {
    struct hubapi_opts hub;
    const char *user, *plan, *amount, *provider, *promo, *status, *since, *limit;
};

static bool take_opt(void *ctx, int c, const char *arg)
{
    struct pay_opts *v = ctx;
    const char **slot[] = {[OPT_USER - OPT_USER] = &v->user,     [OPT_PLAN - OPT_USER] = &v->plan,
                           [OPT_AMOUNT - OPT_USER] = &v->amount, [OPT_PROVIDER - OPT_USER] = &v->provider,
                           [OPT_PROMO - OPT_USER] = &v->promo,   [OPT_STATUS - OPT_USER] = &v->status,
                           [OPT_SINCE - OPT_USER] = &v->since,   [OPT_LIMIT - OPT_USER] = &v->limit};
    *slot[c - OPT_USER] = arg;
    return true;
}

/* Positional arguments stay at argv[optind..]; `allowed`: the options the action takes (0-ended;
 * NULL: none). -1 to go on, or the exit code. */
static int parse_opts(int argc, char **argv, struct pay_opts *v, const int *allowed)
{
    static const struct option lo[] = {
        HUBAPI_LONG_OPTIONS,
        {"user", required_argument, NULL, OPT_USER},
        {"plan", required_argument, NULL, OPT_PLAN},
        {"amount", required_argument, NULL, OPT_AMOUNT},
        {"provider", required_argument, NULL, OPT_PROVIDER},
        {"promo", required_argument, NULL, OPT_PROMO},
        {"status", required_argument, NULL, OPT_STATUS},
        {"since", required_argument, NULL, OPT_SINCE},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {NULL, 0, NULL, 0},
    };
    memset(v, 0, sizeof(*v));
    return hubapi_parse_verb("pay", argc, argv, lo, allowed, &v->hub, usage, take_opt, v);
}

/* "299.00 RUB" / "250 XTR" from minor units. */
static void money_text(int64_t minor, const char *currency, char *out, size_t cap)
{
    char cur[8];
    hubapi_sanitize(currency, cur, sizeof(cur));
    if (strcmp(cur, "XTR") == 0 || minor < 0)
        snprintf(out, cap, "%" PRId64 " %s", minor, cur);
    else
        snprintf(out, cap, "%" PRId64 ".%02" PRId64 " %s", minor / 100, minor % 100, cur);
}

static void print_payment(const json_t *p)
{
    char money[48], prov[16], status[16], url[512], flag[40], date[16];
    money_text(hubapi_int(p, "amount_minor"), hubapi_str(p, "currency"), money, sizeof(money));
    hubapi_sanitize(hubapi_str(p, "provider"), prov, sizeof(prov));
    hubapi_sanitize(hubapi_str(p, "status"), status, sizeof(status));
    hubapi_sanitize(hubapi_str(p, "pay_url"), url, sizeof(url));
    hubapi_sanitize(hubapi_str(p, "flag"), flag, sizeof(flag));
    hubapi_format_date(hubapi_int(p, "created_at"), date, sizeof(date));
    printf("payment %" PRId64 ": user %" PRId64 ", %s via %s, %s%s%s, created %s\n", hubapi_int(p, "payment_id"),
           hubapi_int(p, "user_id"), money, prov, status, flag[0] ? ", flagged " : "", flag, date);
    if (url[0] && strcmp(status, "pending") == 0)
        printf("pay at: %s\n", url);
}

/* Shows the payment a call answered with (as JSON with --json), then closes the client and
 * gives the exit code of the call. */
static int answer_payment(struct hubapi *api, int rc, json_t *p, bool json)
{
    if (rc == 0 && json)
        hubapi_print_json(p);
    else if (rc == 0)
        print_payment(p);
    json_decref(p);
    hubapi_close(api);
    return hubapi_exit_code(rc);
}

static int pay_invoice(int argc, char **argv)
{
    static const int allowed[] = {OPT_USER, OPT_PLAN, OPT_AMOUNT, OPT_PROVIDER, OPT_PROMO, 0};
    struct pay_opts v;
    int rc = parse_opts(argc, argv, &v, allowed);
    if (rc >= 0)
        return rc;
    int64_t user = 0, plan = 0;
    uint64_t amount = 0;
    if (argc != optind || v.user == NULL || hubapi_parse_id(v.user, "--user", &user) < 0) {
        fprintf(stderr, "veil pay invoice: --user ID is required\n");
        return CLI_EXIT_USAGE;
    }
    if ((v.plan == NULL) == (v.amount == NULL)) {
        fprintf(stderr, "veil pay invoice: give --plan ID or --amount MINOR (a top-up)\n");
        return CLI_EXIT_USAGE;
    }
    if (v.plan != NULL && hubapi_parse_id(v.plan, "--plan", &plan) < 0)
        return CLI_EXIT_USAGE;
    if (v.amount != NULL && (hubapi_parse_uint(v.amount, HUBAPI_PRICE_MAX, &amount) < 0 || amount == 0)) {
        fprintf(stderr, "veil pay invoice: --amount: whole minor units, 1..%" PRIu64 "\n", (uint64_t)HUBAPI_PRICE_MAX);
        return CLI_EXIT_USAGE;
    }
    if (v.provider == NULL) {
        fprintf(stderr, "veil pay invoice: --provider is required\n");
        return CLI_EXIT_USAGE;
    }
    struct hubapi *api;
    if ((rc = hubapi_open(&api, &v.hub)) < 0)
        return hubapi_exit_code(rc);
    json_t *body = json_pack("{s:I,s:s}", "user_id", (json_int_t)user, "provider", v.provider);
    if (plan > 0)
        json_object_set_new(body, "plan_id", json_integer(plan));
    else
        json_object_set_new(body, "amount_minor", json_integer((json_int_t)amount));
    if (v.promo != NULL)
        json_object_set_new(body, "promo_code", json_string(v.promo));
    json_t *p = NULL;
    rc = hubapi_call(api, "POST", "/api/v1/invoices", body, &p);
    json_decref(body);
    return answer_payment(api, rc, p, v.hub.json);
}

static int pay_list(int argc, char **argv)
{
    static const int allowed[] = {OPT_STATUS, OPT_PROVIDER, OPT_SINCE, OPT_LIMIT, 0};
    struct pay_opts v;
    int rc = parse_opts(argc, argv, &v, allowed);
    if (rc >= 0)
        return rc;
    uint64_t since = 0, limit = 100;
    if (argc != optind || (v.since && hubapi_parse_uint(v.since, (uint64_t)INT64_MAX / 4, &since) < 0) ||
        (v.limit && (hubapi_parse_uint(v.limit, 1000, &limit) < 0 || limit == 0))) {
        fprintf(stderr, "veil pay list: --since UNIX_TIME, --limit 1..1000\n");
        return CLI_EXIT_USAGE;
    }
    /* The values go into a URL query: only the characters their grammar allows. */
    for (const char *s = v.status ? v.status : ""; *s; s++)
        if (*s < 'a' || *s > 'z')
            return fprintf(stderr, "veil pay list: --status: a status name\n"), CLI_EXIT_USAGE;
    for (const char *s = v.provider ? v.provider : ""; *s; s++)
        if (*s < 'a' || *s > 'z')
            return fprintf(stderr, "veil pay list: --provider: a provider name\n"), CLI_EXIT_USAGE;
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/payments?limit=%" PRIu64 "&since=%" PRIu64 "%s%s%s%s", limit, since,
             v.status ? "&status=" : "", v.status ? v.status : "", v.provider ? "&provider=" : "",
             v.provider ? v.provider : "");
    struct hubapi *api;
    if ((rc = hubapi_open(&api, &v.hub)) < 0)
        return hubapi_exit_code(rc);
    json_t *list = NULL;
    rc = hubapi_call(api, "GET", path, NULL, &list);
    if (rc == 0 && v.hub.json) {
        hubapi_print_json(list);
    } else if (rc == 0) {
        printf("%-7s %-7s %-10s %-16s %-10s %-11s %s\n", "ID", "USER", "PROVIDER", "AMOUNT", "STATUS", "CREATED",
               "FLAG");
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(list, "payments"), i, p)
        {
            char money[48], prov[16], status[16], flag[40], date[16];
            money_text(hubapi_int(p, "amount_minor"), hubapi_str(p, "currency"), money, sizeof(money));
            hubapi_sanitize(hubapi_str(p, "provider"), prov, sizeof(prov));
            hubapi_sanitize(hubapi_str(p, "status"), status, sizeof(status));
            hubapi_sanitize(hubapi_str(p, "flag"), flag, sizeof(flag));
            hubapi_format_date(hubapi_int(p, "created_at"), date, sizeof(date));
            printf("%-7" PRId64 " %-7" PRId64 " %-10s %-16s %-10s %-11s %s\n", hubapi_int(p, "payment_id"),
                   hubapi_int(p, "user_id"), prov, money, status, date, flag[0] ? flag : "-");
        }
    }
    json_decref(list);
    hubapi_close(api);
    return hubapi_exit_code(rc);
}

/* show / refund: one payment id. */
static int pay_one(int argc, char **argv, bool refund)
{
    struct pay_opts v;
    int rc = parse_opts(argc, argv, &v, NULL);
    if (rc >= 0)
        return rc;
    int64_t id;
    if (argc - optind != 1 || hubapi_parse_id(argv[optind], "PAYMENT_ID", &id) < 0) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/payments/%" PRId64 "%s", id, refund ? "/refund" : "");
    struct hubapi *api;
    if ((rc = hubapi_open(&api, &v.hub)) < 0)
        return hubapi_exit_code(rc);
    json_t *p = NULL;
    rc = hubapi_call(api, refund ? "POST" : "GET", path, NULL, &p);
    return answer_payment(api, rc, p, v.hub.json);
}

static int pay_show(int argc, char **argv)
{
    return pay_one(argc, argv, false);
}

static int pay_refund(int argc, char **argv)
{
    return pay_one(argc, argv, true);
}

int cli_pay_main(int argc, char **argv)
{
    static const struct hubapi_verb verbs[] = {
        {"invoice", pay_invoice}, {"list", pay_list}, {"show", pay_show}, {"refund", pay_refund}, {NULL, NULL},
    };
    return hubapi_run_verb("pay", argc, argv, verbs, usage);
}
