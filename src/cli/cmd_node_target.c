/* `veil node rotate-target NODE [TARGET] [--pin|--unpin]` and `veil node target NODE`: move a
 * node to another REALITY target from the hub's pool now (TARGET is a pool id; without it the
 * hub picks the next vetted one), pin it there, or show what the node reports of its target.
 * The names it served before stay accepted for the hub's targets.grace_sec (docs/hub.md). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/hubapi.h"
#include "core/err.h"

void cli_node_target_usage(FILE *out)
{
    fputs("       veil node rotate-target NODE_ID [TARGET_ID] [--pin | --unpin]\n"
          "       veil node target NODE_ID [--pin | --unpin]\n"
          "  rotate-target moves the node to TARGET_ID of the hub's pool (GET /api/v1/targets) or, without\n"
          "  it, to the next vetted target; the old server names stay accepted for targets.grace_sec.\n"
          "  --pin keeps the node on its target (no automatic rotation); --unpin lets the rule move it.\n"
          "  target shows the node's target: assigned, reported, verdict, failures, names in grace.\n",
          out);
}

static void usage(FILE *out)
{
    cli_node_target_usage(out);
    fputs(HUBAPI_USAGE_COMMON, out);
}

enum { OPT_PIN = HUBAPI_OPT__COUNT, OPT_UNPIN };

static void print_target(const json_t *t)
{
    char a[300], s[260], r[300], rs[260], v[40];
    hubapi_sanitize(hubapi_str(t, "target"), a, sizeof(a));
    hubapi_sanitize(hubapi_str(t, "sni"), s, sizeof(s));
    hubapi_sanitize(hubapi_str(t, "reported_target"), r, sizeof(r));
    hubapi_sanitize(hubapi_str(t, "reported_sni"), rs, sizeof(rs));
    hubapi_sanitize(hubapi_str(t, "verdict"), v, sizeof(v));
    printf("assigned    %s SNI %s (rev %" PRId64 ")%s\n", a[0] ? a : "(the node's own)", s[0] ? s : "-",
           hubapi_int(t, "rev"), json_is_true(json_object_get(t, "pinned")) ? ", pinned" : "");
    printf("reported    %s SNI %s, verdict %s, %" PRId64 " failures in the window\n", r[0] ? r : "-", rs[0] ? rs : "-",
           v, hubapi_int(t, "failures"));
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(t, "grace"), i, g)
    {
        char n[260];
        hubapi_sanitize(hubapi_str(g, "sni"), n, sizeof(n));
        printf("grace       %s until %" PRId64 "\n", n, hubapi_int(g, "until"));
    }
}

static bool take_opt(void *ctx, int c, const char *arg)
{
    (void)arg;
    *(int *)ctx = c == OPT_PIN; /* the last of --pin and --unpin counts */
    return true;
}

static int run(int argc, char **argv, bool rotate)
{
    static const struct option lo[] = {
        HUBAPI_LONG_OPTIONS,
        {"pin", no_argument, NULL, OPT_PIN},
        {"unpin", no_argument, NULL, OPT_UNPIN},
        {NULL, 0, NULL, 0},
    };
    static const int allowed[] = {OPT_PIN, OPT_UNPIN, 0};
    struct hubapi_opts hub;
    int pin = -1; /* -1: neither given */
    int code = hubapi_parse_verb("node", argc, argv, lo, allowed, &hub, usage, take_opt, &pin);
    if (code >= 0)
        return code;
    int rest = argc - optind;
    int64_t node = 0, target = 0;
    if (rest < 1 || rest > (rotate ? 2 : 1)) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (hubapi_parse_id(argv[optind], "NODE_ID", &node) < 0 ||
        (rest == 2 && hubapi_parse_id(argv[optind + 1], "TARGET_ID", &target) < 0))
        return CLI_EXIT_USAGE;
    struct hubapi *api;
    int rc = hubapi_open(&api, &hub);
    if (rc < 0)
        return hubapi_exit_code(rc);
    char path[96];
    json_t *out = NULL;
    if (rotate) {
        json_t *body = json_object();
        if (target > 0)
            json_object_set_new(body, "target_id", json_integer(target));
        if (pin >= 0)
            json_object_set_new(body, "pin", json_boolean(pin));
        snprintf(path, sizeof(path), "/api/v1/nodes/%" PRId64 "/rotate-target", node);
        rc = hubapi_call(api, "POST", path, body, &out);
        json_decref(body);
    } else {
        snprintf(path, sizeof(path), "/api/v1/nodes/%" PRId64 "/target", node);
        if (pin >= 0) {
            json_t *body = json_pack("{s:b}", "pinned", pin);
            rc = hubapi_call(api, "PATCH", path, body, &out);
            json_decref(body);
        } else {
            rc = hubapi_call(api, "GET", path, NULL, &out);
        }
    }
    if (rc == 0 && hub.json)
        hubapi_print_json(out);
    else if (rc == 0)
        print_target(out);
    json_decref(out);
    hubapi_close(api);
    return hubapi_exit_code(rc);
}

int cli_node_rotate_target(int argc, char **argv)
{
    return run(argc, argv, true);
}

int cli_node_target(int argc, char **argv)
{
    return run(argc, argv, false);
}
