/* Integration helper: runs the node's hub sync client (node/hubsync.h) against a real veil-hub
 * until it has pulled a user table and had one usage push accepted, then prints what it
 * installed. Usage: hubsync_probe URL TOKEN STATE_FILE [HUB_ID UP DOWN]
 * Output: "revision N" then one "user <hub_id> <uuid> <email> <flow>" line per user.
 * VEIL_HUB_CA, VEIL_HUB_PIN, VEIL_HUB_CERT, VEIL_HUB_KEY set the link's TLS (node_hubsync_opts).
 * Exit 0 on success, 1 on timeout (10 s). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/hubsync.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *out;
static size_t installs;

static int apply_cb(void *arg, const struct node_overlay_user *users, size_t n, char *err, size_t errlen)
{
    pthread_mutex_lock(&lock);
    free(out);
    size_t cap = 64 + n * 256, len = 0;
    out = malloc(cap);
    if (out) {
        out[0] = '\0';
        for (size_t i = 0; i < n; i++)
            len += (size_t)snprintf(out + len, cap - len, "user %llu %s %s %s\n", (unsigned long long)users[i].hub_id,
                                    users[i].id, users[i].email ? users[i].email : "-",
                                    users[i].flow == NODE_FLOW_VISION ? "xtls-rprx-vision" : "none");
    }
    installs++;
    pthread_mutex_unlock(&lock);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 7) {
        fprintf(stderr, "usage: hubsync_probe URL TOKEN STATE_FILE [HUB_ID UP DOWN]\n");
        return 2;
    }
    /* TLS settings of the node's hub link from the environment (integration_test_tls_internal). */
    struct node_hubsync_opts o = {.url = argv[1],
                                  .token = argv[2],
                                  .ca_file = getenv("VEIL_HUB_CA"),
                                  .pin = getenv("VEIL_HUB_PIN"),
                                  .cert_file = getenv("VEIL_HUB_CERT"),
                                  .key_file = getenv("VEIL_HUB_KEY"),
                                  .poll_ms = 200,
                                  .push_ms = 300,
                                  .state_path = argv[3],
                                  .apply = apply_cb};
    struct node_hubsync *s = NULL;
    if (node_hubsync_start(&o, &s) < 0)
        return 1;
    if (argc == 7)
        node_hubsync_add_usage(s, strtoull(argv[4], NULL, 10), strtoull(argv[5], NULL, 10),
                               strtoull(argv[6], NULL, 10));
    int ok = 0;
    for (int i = 0; i < 1000 && !ok; i++) {
        pthread_mutex_lock(&lock);
        ok = installs > 0 && node_hubsync_pushes(s) > 0;
        pthread_mutex_unlock(&lock);
        if (!ok)
            usleep(10000);
    }
    uint64_t rev = node_hubsync_revision(s);
    node_hubsync_stop(s);
    if (!ok) {
        fprintf(stderr, "hubsync_probe: no pull+push within 10 s\n");
        free(out);
        return 1;
    }
    printf("revision %llu\n%s", (unsigned long long)rev, out ? out : "");
    free(out);
    return 0;
}
