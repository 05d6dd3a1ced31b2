/* `veil token`: admin API tokens on a veil-hub (cli/hubapi.h, docs/security.md §6): create with
 * a role, scopes and a lifetime, list, revoke, enrol or remove a TOTP second factor, and trade a
 * TOTP-protected token and a code for a session token. Token and secret values are printed only
 * by the command that made them (the hub shows them once). */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/hubapi.h"
#include "core/err.h"

#define TOKEN_SCOPES_MAX 8

static void usage(FILE *out)
{
    fputs("usage: veil token create NAME --role admin|support [--scope AREA ...] [--ttl SECONDS]\n"
          "       veil token list\n"
          "       veil token revoke ID\n"
          "       veil token totp-enable ID     enrol a second factor: prints the otpauth:// URI and\n"
          "                                     10 recovery codes once\n"
          "       veil token totp-disable ID\n"
          "       veil token recovery-codes ID  new one-time recovery codes (the old ones stop working)\n"
          "       veil token session --code CODE  trade --token (TOTP-protected) and a code (or a recovery\n"
          "                                     code) for a session\n"
          "  AREA: read, users, billing, nodes or admin (docs/security.md); none = all the role allows.\n"
          "  Show the URI as a QR code for an authenticator app with `veil qr URI`.\n" HUBAPI_USAGE_COMMON,
          out);
}

enum {
    OPT_ROLE = HUBAPI_OPT__COUNT,
    OPT_SCOPE,
    OPT_TTL,
    OPT_CODE,
};

struct token_opts {
    struct hubapi_opts hub;
    const char *role, *ttl, *code;
    const char *scopes[TOKEN_SCOPES_MAX];
    size_t n_scopes;
};

static bool take_opt(void *ctx, int c, const char *arg)
{
    struct token_opts *v = ctx;
    switch (c) {
    case OPT_ROLE:
        v->role = arg;
        break;
    case OPT_SCOPE:
        if (v->n_scopes == TOKEN_SCOPES_MAX) {
            fprintf(stderr, "veil token create: at most %d --scope\n", TOKEN_SCOPES_MAX);
            return false;
        }
        v->scopes[v->n_scopes++] = arg;
        break;
    case OPT_TTL:
        v->ttl = arg;
        break;
    case OPT_CODE:
        v->code = arg;
        break;
    }
    return true;
}

/* -1 to go on, or the exit code. `allowed` lists the options the verb takes (0-ended; NULL: none). */
static int parse_opts(int argc, char **argv, struct token_opts *v, const int *allowed)
{
    static const struct option lo[] = {
        HUBAPI_LONG_OPTIONS,
        {"role", required_argument, NULL, OPT_ROLE},
        {"scope", required_argument, NULL, OPT_SCOPE},
        {"ttl", required_argument, NULL, OPT_TTL},
        {"code", required_argument, NULL, OPT_CODE},
        {NULL, 0, NULL, 0},
    };
    memset(v, 0, sizeof(*v));
    return hubapi_parse_verb("token", argc, argv, lo, allowed, &v->hub, usage, take_opt, v);
}

/* Opens the client, calls, prints (JSON or via print_text), closes. */
static int call_and_print(struct token_opts *v, const char *method, const char *path, json_t *body,
                          void (*print_text)(const json_t *))
{
    struct hubapi *api;
    int rc = hubapi_open(&api, &v->hub);
    if (rc < 0) {
        json_decref(body);
        return hubapi_exit_code(rc);
    }
    json_t *resp = NULL;
    rc = hubapi_call(api, method, path, body, &resp);
    json_decref(body);
    if (rc == 0 && v->hub.json && resp != NULL)
        hubapi_print_json(resp);
    else if (rc == 0 && print_text != NULL)
        print_text(resp);
    json_decref(resp);
    hubapi_close(api);
    return hubapi_exit_code(rc);
}

static void print_created(const json_t *t)
{
    char name[80];
    hubapi_sanitize(hubapi_str(t, "name"), name, sizeof name);
    printf("created token %" PRId64 " (%s)", hubapi_int(t, "id"), name);
    if (hubapi_int(t, "expires_at") != 0)
        printf(", expires at %" PRId64, hubapi_int(t, "expires_at"));
    printf("\n%s\n", hubapi_str(t, "token")); /* shown once */
}

static int token_create(int argc, char **argv)
{
    static const int allowed[] = {OPT_ROLE, OPT_SCOPE, OPT_TTL, 0};
    struct token_opts v;
    int rc = parse_opts(argc, argv, &v, allowed);
    if (rc >= 0)
        return rc;
    if (argc - optind != 1 || v.role == NULL) {
        fprintf(stderr, "veil token create: expected NAME and --role admin|support\n");
        return CLI_EXIT_USAGE;
    }
    json_t *body = json_pack("{s:s,s:s}", "name", argv[optind], "role", v.role);
    if (v.n_scopes > 0) {
        json_t *a = json_array();
        for (size_t i = 0; i < v.n_scopes; i++)
            json_array_append_new(a, json_string(v.scopes[i]));
        json_object_set_new(body, "scopes", a);
    }
    if (v.ttl != NULL) {
        uint64_t ttl;
        if (hubapi_parse_uint(v.ttl, 10ULL * 366 * 86400, &ttl) < 0 || ttl < 60) {
            fprintf(stderr, "veil token create: --ttl: seconds, at least 60\n");
            json_decref(body);
            return CLI_EXIT_USAGE;
        }
        json_object_set_new(body, "ttl", json_integer((json_int_t)ttl));
    }
    return call_and_print(&v, "POST", "/api/v1/tokens", body, print_created);
}

static void print_list(const json_t *list)
{
    printf("%-5s %-24s %-8s %-7s %-5s %-5s %-12s %s\n", "ID", "NAME", "ROLE", "REVOKED", "TOTP", "RECOV", "EXPIRES",
           "SCOPES");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(list, "tokens"), i, t)
    {
        char name[25], role[12], scopes[80] = "", sc[16];
        hubapi_sanitize(hubapi_str(t, "name"), name, sizeof name);
        hubapi_sanitize(hubapi_str(t, "role"), role, sizeof role);
        size_t k;
        json_t *s;
        json_array_foreach(json_object_get(t, "scopes"), k, s)
        {
            hubapi_sanitize(json_string_value(s) ? json_string_value(s) : "", sc, sizeof sc);
            if (strlen(scopes) + strlen(sc) + 2 < sizeof scopes) {
                if (k)
                    strcat(scopes, ",");
                strcat(scopes, sc);
            }
        }
        char exp[24] = "never";
        if (hubapi_int(t, "expires_at") != 0)
            snprintf(exp, sizeof exp, "%" PRId64, hubapi_int(t, "expires_at"));
        char recov[24] = "-";
        if (json_is_integer(json_object_get(t, "recovery_left")))
            snprintf(recov, sizeof recov, "%" PRId64, hubapi_int(t, "recovery_left"));
        printf("%-5" PRId64 " %-24s %-8s %-7s %-5s %-5s %-12s %s\n", hubapi_int(t, "id"), name, role,
               json_is_true(json_object_get(t, "revoked")) ? "yes" : "no",
               json_is_true(json_object_get(t, "totp")) ? "yes" : "no", recov, exp, scopes[0] ? scopes : "all");
    }
}

static int token_list(int argc, char **argv)
{
    struct token_opts v;
    int rc = parse_opts(argc, argv, &v, NULL);
    if (rc >= 0)
        return rc;
    if (argc - optind != 0) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    return call_and_print(&v, "GET", "/api/v1/tokens", NULL, print_list);
}

/* The recovery codes of an answer, one per line. */
static void print_recovery(const json_t *t)
{
    size_t i;
    json_t *c;
    char v[32];
    json_array_foreach(json_object_get(t, "recovery_codes"), i, c)
    {
        hubapi_sanitize(json_string_value(c) ? json_string_value(c) : "", v, sizeof v);
        printf("%s\n", v);
    }
}

static void print_totp(const json_t *t)
{
    printf("second factor enrolled for token %" PRId64 "; add it to an authenticator app (shown once):\n%s\n",
           hubapi_int(t, "id"), hubapi_str(t, "otpauth"));
    printf("recovery codes, each usable once instead of a code (shown once; keep them offline):\n");
    print_recovery(t);
}

static void print_new_recovery(const json_t *t)
{
    printf("new recovery codes for token %" PRId64 " (the old ones no longer work; shown once):\n",
           hubapi_int(t, "id"));
    print_recovery(t);
}

/* revoke / totp-enable / totp-disable / recovery-codes: one ID. */
static int token_by_id(int argc, char **argv, const char *method, const char *suffix,
                       void (*print_text)(const json_t *))
{
    struct token_opts v;
    int rc = parse_opts(argc, argv, &v, NULL);
    if (rc >= 0)
        return rc;
    int64_t id;
    if (argc - optind != 1) {
        fprintf(stderr, "veil token %s: expected the token's ID\n", argv[0]);
        return CLI_EXIT_USAGE;
    }
    if (hubapi_parse_id(argv[optind], "ID", &id) < 0)
        return CLI_EXIT_USAGE;
    char path[96];
    snprintf(path, sizeof path, "/api/v1/tokens/%" PRId64 "%s", id, suffix);
    rc = call_and_print(&v, method, path, NULL, print_text);
    if (rc == 0 && print_text == NULL && !v.hub.json)
        printf("token %" PRId64 ": done\n", id);
    return rc;
}

static int token_revoke(int argc, char **argv)
{
    return token_by_id(argc, argv, "DELETE", "", NULL);
}

static int token_totp_enable(int argc, char **argv)
{
    return token_by_id(argc, argv, "POST", "/totp", print_totp);
}

static int token_totp_disable(int argc, char **argv)
{
    return token_by_id(argc, argv, "DELETE", "/totp", NULL);
}

static int token_recovery_codes(int argc, char **argv)
{
    return token_by_id(argc, argv, "POST", "/totp/recovery", print_new_recovery);
}

static void print_session(const json_t *t)
{
    printf("session token %" PRId64 ", expires at %" PRId64 ":\n%s\n", hubapi_int(t, "id"), hubapi_int(t, "expires_at"),
           hubapi_str(t, "token"));
}

static int token_session(int argc, char **argv)
{
    static const int allowed[] = {OPT_CODE, 0};
    struct token_opts v;
    int rc = parse_opts(argc, argv, &v, allowed);
    if (rc >= 0)
        return rc;
    if (argc - optind != 0 || v.code == NULL) {
        fprintf(stderr, "veil token session: expected --code CODE (6 digits from the authenticator app, or a "
                        "recovery code)\n");
        return CLI_EXIT_USAGE;
    }
    return call_and_print(&v, "POST", "/api/v1/auth/totp", json_pack("{s:s}", "code", v.code), print_session);
}

int cli_token_main(int argc, char **argv)
{
    static const struct hubapi_verb verbs[] = {
        {"create", token_create},
        {"list", token_list},
        {"revoke", token_revoke},
        {"totp-enable", token_totp_enable},
        {"totp-disable", token_totp_disable},
        {"recovery-codes", token_recovery_codes},
        {"session", token_session},
        {NULL, NULL},
    };
    return hubapi_run_verb("token", argc, argv, verbs, usage);
}
