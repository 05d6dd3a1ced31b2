/* veil-node: `veil-node -c config.json [--check]`. Loads and validates the config (every
 * error is printed, exit 2), sets up logging, then serves. --check prints
 * "config OK" (plus any warnings) and exits 0, like `haproxy -c`. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/log.h"
#include "core/secret_file.h"
#include "core/version.h"
#include "nodecfg/config.h"
#include "node/daemon.h"
#include "node/services.h"

/* How long SIGTERM lets open tunnels finish before the node exits. */
#define NODE_DRAIN_MS 10000

enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,
    EXIT_CONFIG = 2,
};

static void usage(FILE *out)
{
    fputs("usage: veil-node -c CONFIG.json [--check]\n"
          "  -c, --config FILE  Xray-style JSON config (VLESS + REALITY inbound; docs/node-config.md)\n"
          "  -t, --check        validate the config, print \"config OK\" and exit\n"
          "  -v, --version      print the version\n",
          out);
}

/* The error log goes to the file named by log.error (appended), else stderr. */
static int open_error_log(const struct node_cfg *cfg)
{
    if (cfg->error_log == NULL)
        return 2;
    int fd = open(cfg->error_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd == -1)
        fprintf(stderr, "veil-node: cannot open log.error %s: %s\n", cfg->error_log, strerror(errno));
    return fd;
}

int main(int argc, char **argv)
{
    secret_json_wipe_on_free(); /* the configuration document holds resolved secrets */
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 't'},
        {"version", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    bool check = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:tvh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            break;
        case 't':
            check = true;
            break;
        case 'v':
            printf("veil-node %s\n", VEIL_VERSION);
            return EXIT_OK;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_CONFIG;
        }
    }
    if (path == NULL || optind != argc) {
        usage(stderr);
        return EXIT_CONFIG;
    }

    struct cfg_ctx c;
    cfg_init(&c, path);
    /* The file plus the users changed through the admin API (stateDir/users.json). */
    struct node_cfg *cfg = node_services_load(path, &c);
    cfg_print(&c, stderr);
    cfg_dispose(&c);
    if (cfg == NULL) {
        fprintf(stderr, "veil-node: %s: configuration has errors\n", path);
        return EXIT_CONFIG;
    }
    if (check) {
        printf("config OK\n");
        node_cfg_unref(cfg);
        return EXIT_OK;
    }

    int fd = open_error_log(cfg);
    if (fd == -1) {
        node_cfg_unref(cfg);
        return EXIT_CONFIG;
    }
    log_setup(cfg->log_level, fd);
    /* log.access: one JSON line per tunnel (user, client address, destination), in its own file
     * whatever the error log level, as Xray does. Off unless a path is given. */
    int afd = -1;
    if (cfg->access_log != NULL) {
        afd = open(cfg->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (afd == -1) {
            fprintf(stderr, "veil-node: cannot open log.access %s: %s\n", cfg->access_log, strerror(errno));
            node_cfg_unref(cfg);
            return EXIT_CONFIG;
        }
        log_route_mod("access", afd);
    }
    log_info("node", 0, "start", LF_STR("version", VEIL_VERSION), LF_STR("config", path));
    int rc = node_daemon_run(path, cfg, NODE_DRAIN_MS);
    if (afd != -1) {
        log_route_mod(NULL, -1);
        close(afd);
    }
    node_cfg_unref(cfg);
    if (fd != 2)
        close(fd);
    return rc < 0 ? EXIT_FAIL : EXIT_OK;
}
