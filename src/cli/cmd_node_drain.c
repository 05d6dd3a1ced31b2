/* `veil node drain NAME` / `veil node undrain NAME`: take a node out of rotation without cutting
 * its open tunnels. Through HAProxy's runtime API (weight 0: no new connections go to it; undrain
 * restores the configured weight) and/or the hub (draining: subscriptions stop listing it), as
 * configured. --wait waits for the node's open connections at HAProxy to reach zero. */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/haproxy_rt.h"
#include "cli/hubapi.h"
#include "core/err.h"

#define DRAIN_RT_TIMEOUT_MS 5000
#define DRAIN_WAIT_MAX_S 86400

void cli_node_drain_usage(FILE *out)
{
    fputs("       veil node drain NAME [--haproxy-socket PATH|IP:PORT] [--backend nodes] [--wait SECONDS]\n"
          "       veil node undrain NAME [--haproxy-socket PATH|IP:PORT] [--backend nodes]\n"
          "  drain sets the node's weight to 0 in HAProxy (socket: --haproxy-socket or\n"
          "  $VEIL_HAPROXY_SOCKET, the `stats socket ... level admin`; NAME is the server's name in\n"
          "  --backend) so new tunnels go to other nodes while open ones continue, and/or marks it\n"
          "  draining on the hub (--hub or $VEIL_HUB_URL; NAME as registered) so subscriptions stop\n"
          "  listing it. --wait waits until HAProxy counts no open connection to it (exit 1 if\n"
          "  some remain after SECONDS). undrain restores the configured weight / clears draining.\n",
          out);
}

static void usage(FILE *out)
{
    cli_node_drain_usage(out);
    fputs(HUBAPI_USAGE_COMMON, out);
}

enum { OPT_SOCKET = HUBAPI_OPT__COUNT, OPT_BACKEND, OPT_WAIT };

struct drain_opts {
    struct hubapi_opts hub;
    const char *verb, *socket, *backend, *name;
    uint64_t wait_s;
    bool drain;
};

/* The answer of a `set` command is empty on success, HAProxy's complaint otherwise. */
static bool answer_ok(const char *a)
{
    for (; *a; a++)
        if (*a != '\n' && *a != '\r' && *a != ' ')
            return false;
    return true;
}

/* Prints HAProxy's complaint without its control characters. */
static void print_complaint(const char *a)
{
    fputs("veil node: haproxy: ", stderr);
    for (size_t i = 0; a[i] && i < 300; i++)
        fputc(a[i] >= 0x20 && a[i] < 0x7f ? a[i] : ' ', stderr);
    fputc('\n', stderr);
}

static int server_stat(const struct drain_opts *v, struct haproxy_server_stat *st)
{
    char *ans = NULL, err[300];
    int rc = haproxy_rt_command(v->socket, "show stat", DRAIN_RT_TIMEOUT_MS, &ans, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "veil node: haproxy: %s\n", err);
        return rc;
    }
    rc = haproxy_rt_server_stat(ans, strlen(ans), v->backend, v->name, st);
    if (rc == ERR_NOT_FOUND)
        fprintf(stderr, "veil node: haproxy: no server %s in backend %s\n", v->name, v->backend);
    else if (rc < 0)
        fprintf(stderr, "veil node: haproxy: unexpected `show stat` answer\n");
    free(ans);
    return rc;
}

static int via_haproxy(const struct drain_opts *v)
{
    char cmd[200], err[300];
    /* "100%" is the weight from the configuration file, whatever it was. */
    snprintf(cmd, sizeof cmd, "set server %s/%s weight %s", v->backend, v->name, v->drain ? "0" : "100%");
    char *ans = NULL;
    int rc = haproxy_rt_command(v->socket, cmd, DRAIN_RT_TIMEOUT_MS, &ans, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "veil node: haproxy: %s\n", err);
        return rc;
    }
    if (!answer_ok(ans)) {
        print_complaint(ans);
        free(ans);
        return ERR_BAD_STATE;
    }
    free(ans);
    struct haproxy_server_stat st;
    TRY(server_stat(v, &st));
    printf("haproxy %s/%s: weight %" PRId64 ", %s, %" PRId64 " open connections\n", v->backend, v->name, st.weight,
           st.status, st.scur);
    if (!v->drain || v->wait_s == 0)
        return 0;
    time_t deadline = time(NULL) + (time_t)v->wait_s;
    while (st.scur > 0) {
        if (time(NULL) >= deadline) {
            fprintf(stderr, "veil node drain: %" PRId64 " connections still open on %s after %" PRIu64 " s\n", st.scur,
                    v->name, v->wait_s);
            return ERR_TIMEOUT;
        }
        sleep(1);
        TRY(server_stat(v, &st));
    }
    printf("haproxy %s/%s: no open connections\n", v->backend, v->name);
    return 0;
}

static int via_hub(const struct drain_opts *v)
{
    struct hubapi *api;
    int rc = hubapi_open(&api, &v->hub);
    if (rc < 0)
        return rc;
    json_t *list = NULL;
    rc = hubapi_call(api, "GET", "/api/v1/nodes", NULL, &list);
    int64_t id = 0;
    size_t i;
    json_t *n;
    if (rc == 0) {
        json_array_foreach(json_object_get(list, "nodes"), i, n)
        {
            if (strcmp(hubapi_str(n, "name"), v->name) == 0)
                id = hubapi_int(n, "id");
        }
    }
    json_decref(list);
    if (rc == 0 && id == 0) {
        fprintf(stderr, "veil node: hub: no node named %s\n", v->name);
        rc = ERR_NOT_FOUND;
    }
    if (rc == 0) {
        char path[64];
        snprintf(path, sizeof path, "/api/v1/nodes/%" PRId64 "/drain", id);
        json_t *body = json_pack("{s:b}", "draining", v->drain), *resp = NULL;
        rc = hubapi_call(api, "POST", path, body, &resp);
        json_decref(body);
        if (rc == 0)
            printf("hub node %" PRId64 " (%s): draining %s\n", id, v->name,
                   json_is_true(json_object_get(resp, "draining")) ? "yes" : "no");
        json_decref(resp);
    }
    hubapi_close(api);
    return rc;
}

static bool take_opt(void *ctx, int c, const char *arg)
{
    struct drain_opts *v = ctx;
    if (c == OPT_SOCKET) {
        v->socket = arg;
    } else if (c == OPT_BACKEND) {
        v->backend = arg;
    } else if (!v->drain || hubapi_parse_uint(arg, DRAIN_WAIT_MAX_S, &v->wait_s) < 0) { /* OPT_WAIT */
        fprintf(stderr, "veil node %s: --wait: expected 0..%d seconds (drain only)\n", v->verb, DRAIN_WAIT_MAX_S);
        return false;
    }
    return true;
}

static int run(int argc, char **argv, bool drain)
{
    static const struct option lo[] = {
        HUBAPI_LONG_OPTIONS,
        {"haproxy-socket", required_argument, NULL, OPT_SOCKET},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"wait", required_argument, NULL, OPT_WAIT},
        {NULL, 0, NULL, 0},
    };
    static const int allowed[] = {OPT_SOCKET, OPT_BACKEND, OPT_WAIT, 0};
    struct drain_opts v = {.verb = argv[0], .backend = "nodes", .drain = drain};
    int code = hubapi_parse_verb("node", argc, argv, lo, allowed, &v.hub, usage, take_opt, &v);
    if (code >= 0)
        return code;
    if (argc - optind != 1) {
        fprintf(stderr, "veil node %s: expected the node's NAME\n", argv[0]);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    v.name = argv[optind];
    if (v.socket == NULL)
        v.socket = getenv("VEIL_HAPROXY_SOCKET");
    const char *env_hub = getenv("VEIL_HUB_URL");
    bool hub = (v.hub.url != NULL && *v.hub.url) || (v.hub.url == NULL && env_hub != NULL && *env_hub);
    if ((v.socket == NULL || *v.socket == '\0') && !hub) {
        fprintf(stderr,
                "veil node %s: say where: --haproxy-socket (or $VEIL_HAPROXY_SOCKET) and/or --hub "
                "(or $VEIL_HUB_URL)\n",
                argv[0]);
        return CLI_EXIT_USAGE;
    }
    if (v.socket != NULL && *v.socket != '\0' && (!haproxy_rt_name_ok(v.name) || !haproxy_rt_name_ok(v.backend))) {
        fprintf(stderr, "veil node %s: NAME and --backend: 1..64 of A-Z a-z 0-9 . _ -\n", argv[0]);
        return CLI_EXIT_USAGE;
    }
    int rc = 0;
    /* The hub first: subscriptions stop naming the node before HAProxy stops sending to it. */
    if (hub)
        rc = via_hub(&v);
    if (rc == 0 && v.socket != NULL && *v.socket != '\0')
        rc = via_haproxy(&v);
    return hubapi_exit_code(rc);
}

int cli_node_drain(int argc, char **argv)
{
    return run(argc, argv, true);
}

int cli_node_undrain(int argc, char **argv)
{
    return run(argc, argv, false);
}
