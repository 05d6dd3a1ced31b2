/* `veil node`: register nodes on a veil-hub and list them with their health (cli/hubapi.h). */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/hubapi.h"
#include "core/err.h"

#define NODE_LIST_MAX 8 /* short ids / server names per node (the API's maxItems) */

static void usage(FILE *out)
{
    fputs("usage: veil node add NAME --address HOST [--port 443] --public-key KEY --short-id HEX\n"
          "                [--server-name SNI] [--country CC] [--weight N]\n"
          "       veil node list\n",
          out);
    cli_node_drain_usage(out);
    cli_node_target_usage(out);
    cli_node_scan_usage(out);
    fputs("  add registers a node (KEY is the REALITY public key, base64url, as `veil x25519` prints;\n"
          "  --short-id and --server-name may repeat) and prints its node token ONCE: store it in\n"
          "  the node's hub settings right away. list shows health, weight, draining and last "
          "seen.\n" HUBAPI_USAGE_COMMON,
          out);
}

enum {
    OPT_ADDRESS = HUBAPI_OPT__COUNT,
    OPT_PORT,
    OPT_PUBLIC_KEY,
    OPT_SHORT_ID,
    OPT_SERVER_NAME,
    OPT_COUNTRY,
    OPT_WEIGHT,
};

struct node_opts {
    struct hubapi_opts hub;
    const char *address, *port, *public_key, *country, *weight;
    const char *short_ids[NODE_LIST_MAX], *server_names[NODE_LIST_MAX];
    size_t n_short_ids, n_server_names;
};

static bool push(const char **list, size_t *n, const char *v, const char *what)
{
    if (*n == NODE_LIST_MAX) {
        fprintf(stderr, "veil: at most %d %s per node\n", NODE_LIST_MAX, what);
        return false;
    }
    list[(*n)++] = v;
    return true;
}

static bool take_opt(void *ctx, int c, const char *arg)
{
    struct node_opts *v = ctx;
    switch (c) {
    case OPT_ADDRESS:
        v->address = arg;
        break;
    case OPT_PORT:
        v->port = arg;
        break;
    case OPT_PUBLIC_KEY:
        v->public_key = arg;
        break;
    case OPT_SHORT_ID:
        return push(v->short_ids, &v->n_short_ids, arg, "--short-id");
    case OPT_SERVER_NAME:
        return push(v->server_names, &v->n_server_names, arg, "--server-name");
    case OPT_COUNTRY:
        v->country = arg;
        break;
    case OPT_WEIGHT:
        v->weight = arg;
        break;
    }
    return true;
}

/* Returns -1 to go on, or the exit code to return; positional arguments stay at argv[optind..].
 * add takes the node's options, list none. */
static int parse_opts(int argc, char **argv, struct node_opts *v, bool add)
{
    static const struct option lo[] = {
        HUBAPI_LONG_OPTIONS,
        {"address", required_argument, NULL, OPT_ADDRESS},
        {"port", required_argument, NULL, OPT_PORT},
        {"public-key", required_argument, NULL, OPT_PUBLIC_KEY},
        {"short-id", required_argument, NULL, OPT_SHORT_ID},
        {"server-name", required_argument, NULL, OPT_SERVER_NAME},
        {"country", required_argument, NULL, OPT_COUNTRY},
        {"weight", required_argument, NULL, OPT_WEIGHT},
        {NULL, 0, NULL, 0},
    };
    static const int add_opts[] = {OPT_ADDRESS,     OPT_PORT,    OPT_PUBLIC_KEY, OPT_SHORT_ID,
                                   OPT_SERVER_NAME, OPT_COUNTRY, OPT_WEIGHT,     0};
    memset(v, 0, sizeof(*v));
    return hubapi_parse_verb("node", argc, argv, lo, add ? add_opts : NULL, &v->hub, usage, take_opt, v);
}

static json_t *string_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* Checks what the API would refuse anyway, so that typos are usage errors (exit 2) with a
 * clear word instead of a round trip. */
static bool add_opts_ok(const struct node_opts *v, uint64_t *port, uint64_t *weight)
{
    if (v->address == NULL || v->public_key == NULL || v->n_short_ids == 0) {
        fprintf(stderr, "veil node add: --address, --public-key and --short-id are required\n");
        return false;
    }
    if (v->port && (hubapi_parse_uint(v->port, 65535, port) < 0 || *port == 0)) {
        fprintf(stderr, "veil node add: --port: expected 1..65535\n");
        return false;
    }
    if (v->weight && hubapi_parse_uint(v->weight, 1000, weight) < 0) {
        fprintf(stderr, "veil node add: --weight: expected 0..1000\n");
        return false;
    }
    for (size_t i = 0; i < v->n_short_ids; i++)
        if (!hubapi_short_id_ok(v->short_ids[i])) {
            fprintf(stderr, "veil node add: --short-id: expected 0..16 hex digits, even length\n");
            return false;
        }
    if (v->country && (strlen(v->country) != 2 || v->country[0] < 'A' || v->country[0] > 'Z' || v->country[1] < 'A' ||
                       v->country[1] > 'Z')) {
        fprintf(stderr, "veil node add: --country: expected two upper-case letters (ISO 3166, e.g. NL)\n");
        return false;
    }
    return true;
}

static int node_add(int argc, char **argv)
{
    struct node_opts v;
    int rc = parse_opts(argc, argv, &v, true);
    if (rc >= 0)
        return rc;
    if (argc - optind != 1) {
        fprintf(stderr, "veil node add: expected the node's NAME\n");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    uint64_t port = 443, weight = 100;
    if (!add_opts_ok(&v, &port, &weight))
        return CLI_EXIT_USAGE;
    struct hubapi *api;
    if ((rc = hubapi_open(&api, &v.hub)) < 0)
        return hubapi_exit_code(rc);
    json_t *body = json_pack("{s:s,s:s,s:I,s:s,s:o,s:I}", "name", argv[optind], "address", v.address, "port",
                             (json_int_t)port, "public_key", v.public_key, "short_ids",
                             string_array(v.short_ids, v.n_short_ids), "weight", (json_int_t)weight);
    if (v.n_server_names)
        json_object_set_new(body, "server_names", string_array(v.server_names, v.n_server_names));
    if (v.country)
        json_object_set_new(body, "country", json_string(v.country));
    json_t *n = NULL;
    rc = hubapi_call(api, "POST", "/api/v1/nodes", body, &n);
    json_decref(body);
    if (rc == 0) {
        char name[128], addr[300], token[160];
        hubapi_sanitize(hubapi_str(n, "name"), name, sizeof(name));
        hubapi_sanitize(hubapi_str(n, "address"), addr, sizeof(addr));
        hubapi_sanitize(hubapi_str(n, "token"), token, sizeof(token));
        if (v.hub.json) {
            hubapi_print_json(n);
        } else {
            printf("registered node %" PRId64 " (%s) at %s:%" PRId64 "\n", hubapi_int(n, "id"), name, addr,
                   hubapi_int(n, "port"));
            printf("node token: %s\n", token);
        }
        fflush(stdout);
        fprintf(stderr, "veil: WARNING: the node token is shown only this once; store it now in the node's hub "
                        "settings (if lost, remove the node and register it again)\n");
    }
    json_decref(n);
    hubapi_close(api);
    return hubapi_exit_code(rc);
}

static int node_list(int argc, char **argv)
{
    struct node_opts v;
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
    rc = hubapi_call(api, "GET", "/api/v1/nodes", NULL, &list);
    if (rc == 0 && v.hub.json) {
        hubapi_print_json(list);
    } else if (rc == 0) {
        printf("%-5s %-16s %-30s %-8s %-6s %-8s %s\n", "ID", "NAME", "ADDRESS", "HEALTH", "WEIGHT", "DRAINING",
               "LAST SEEN");
        int64_t now = (int64_t)time(NULL);
        size_t i;
        json_t *n;
        json_array_foreach(json_object_get(list, "nodes"), i, n)
        {
            char name[17], host[260], addr[300], health[16], seen[32];
            hubapi_sanitize(hubapi_str(n, "name"), name, sizeof(name));
            hubapi_sanitize(hubapi_str(n, "address"), host, sizeof(host));
            snprintf(addr, sizeof(addr), strchr(host, ':') ? "[%s]:%" PRId64 : "%s:%" PRId64, host,
                     hubapi_int(n, "port"));
            hubapi_sanitize(hubapi_str(n, "health"), health, sizeof(health));
            hubapi_format_age(now, hubapi_int(n, "last_seen"), seen, sizeof(seen));
            printf("%-5" PRId64 " %-16s %-30s %-8s %-6" PRId64 " %-8s %s\n", hubapi_int(n, "id"), name, addr, health,
                   hubapi_int(n, "weight"), json_is_true(json_object_get(n, "draining")) ? "yes" : "no", seen);
        }
    }
    json_decref(list);
    hubapi_close(api);
    return hubapi_exit_code(rc);
}

int cli_node_main(int argc, char **argv)
{
    static const struct hubapi_verb verbs[] = {
        {"add", node_add},
        {"list", node_list},
        {"drain", cli_node_drain},
        {"undrain", cli_node_undrain},
        {"rotate-target", cli_node_rotate_target},
        {"target", cli_node_target},
        {"scan", cli_node_scan},
        {NULL, NULL},
    };
    return hubapi_run_verb("node", argc, argv, verbs, usage);
}
