/* `veil node scan NODE_ID TARGET... [--sni NAME] [--wait SECONDS]`: asks the hub to have the node
 * scan REALITY target candidates from where it stands (`veil scan --json` on the node), then
 * waits for the node's ranked rows (they also go into the hub's pool as that node's own
 * candidates, docs/hub.md "Node-run target scans"). `veil node scan NODE_ID` alone shows the
 * node's latest scan. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/hubapi.h"
#include "core/err.h"

void cli_node_scan_usage(FILE *out)
{
    fputs("       veil node scan NODE_ID [TARGET...] [--sni NAME] [--wait SECONDS]\n"
          "  scan has the node check TARGETs (HOST[:PORT] or an IPv4 CIDR /24..32, at most 32) as REALITY\n"
          "  targets with `veil scan` from where it runs and waits (default 120 s) for its ranked list;\n"
          "  suitable ones join the hub's pool for that node. Without TARGET: the latest scan.\n",
          out);
}

static void usage(FILE *out)
{
    cli_node_scan_usage(out);
    fputs(HUBAPI_USAGE_COMMON, out);
}

enum { OPT_SNI = HUBAPI_OPT__COUNT, OPT_WAIT };

static void print_scan(const json_t *s)
{
    char st[16];
    hubapi_sanitize(hubapi_str(s, "state"), st, sizeof(st));
    printf("scan        %" PRId64 ": %s\n", hubapi_int(s, "id"), st);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(s, "results"), i, r)
    {
        char host[260], sni[260], v[40];
        hubapi_sanitize(hubapi_str(r, "host"), host, sizeof(host));
        hubapi_sanitize(hubapi_str(r, "sni"), sni, sizeof(sni));
        hubapi_sanitize(hubapi_str(r, "verdict"), v, sizeof(v));
        printf("%-4zu %s:%" PRId64 " SNI %s  %s  rtt %" PRId64 " ms  score %" PRId64 "\n", i + 1, host,
               hubapi_int(r, "port"), sni[0] ? sni : "-", v, hubapi_int(r, "rtt_ms"), hubapi_int(r, "score"));
    }
}

#define SCAN_WAIT_MAX_S 3600

struct scan_opts {
    struct hubapi_opts hub;
    const char *sni;
    uint64_t wait_s;
};

static bool take_opt(void *ctx, int c, const char *arg)
{
    struct scan_opts *v = ctx;
    if (c == OPT_SNI) {
        v->sni = arg;
    } else if (hubapi_parse_uint(arg, SCAN_WAIT_MAX_S, &v->wait_s) < 0) { /* OPT_WAIT */
        fprintf(stderr, "veil node scan: --wait: expected 0..%d seconds\n", SCAN_WAIT_MAX_S);
        return false;
    }
    return true;
}

int cli_node_scan(int argc, char **argv)
{
    static const struct option lo[] = {
        HUBAPI_LONG_OPTIONS,
        {"sni", required_argument, NULL, OPT_SNI},
        {"wait", required_argument, NULL, OPT_WAIT},
        {NULL, 0, NULL, 0},
    };
    static const int allowed[] = {OPT_SNI, OPT_WAIT, 0};
    struct scan_opts v = {.wait_s = 120};
    int code = hubapi_parse_verb("node", argc, argv, lo, allowed, &v.hub, usage, take_opt, &v);
    if (code >= 0)
        return code;
    int rest = argc - optind;
    int64_t node = 0;
    if (rest < 1) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (hubapi_parse_id(argv[optind], "NODE_ID", &node) < 0)
        return CLI_EXIT_USAGE;
    struct hubapi *api;
    int rc = hubapi_open(&api, &v.hub);
    if (rc < 0)
        return hubapi_exit_code(rc);
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/nodes/%" PRId64 "/scan", node);
    json_t *out = NULL;
    if (rest > 1) {
        json_t *cands = json_array();
        for (int i = optind + 1; i < argc; i++)
            json_array_append_new(cands, json_string(argv[i]));
        json_t *body = json_pack("{s:o}", "candidates", cands);
        if (v.sni != NULL)
            json_object_set_new(body, "sni", json_string(v.sni));
        rc = hubapi_call(api, "POST", path, body, &out);
        json_decref(body);
        /* The node picks the request up at its next pull: poll until its rows are in. */
        time_t until = time(NULL) + (time_t)v.wait_s;
        while (rc == 0 && strcmp(hubapi_str(out, "state"), "done") != 0 && time(NULL) < until) {
            struct timespec ts = {.tv_sec = 1};
            nanosleep(&ts, NULL);
            json_decref(out);
            out = NULL;
            rc = hubapi_call(api, "GET", path, NULL, &out);
        }
    } else {
        rc = hubapi_call(api, "GET", path, NULL, &out);
    }
    if (rc == 0 && v.hub.json)
        hubapi_print_json(out);
    else if (rc == 0)
        print_scan(out);
    bool done = rc == 0 && strcmp(hubapi_str(out, "state"), "done") == 0;
    json_decref(out);
    hubapi_close(api);
    if (rc == 0 && rest > 1 && !done) {
        fprintf(stderr, "veil node scan: the node has not answered within %" PRIu64 " s (it scans at its next pull)\n",
                v.wait_s);
        return CLI_EXIT_FAIL;
    }
    return hubapi_exit_code(rc);
}
