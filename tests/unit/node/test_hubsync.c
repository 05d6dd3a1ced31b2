/* node/hubsync: table merging, and the sync thread against a fake hub on loopback (served by
 * node/admin's HTTP server): full then delta pulls, install callback, persisted state and
 * restart from it, usage/health push with an idempotent push_id, a wrong token. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/err.h"
#include "node/admin.h"
#include "node/hubsync.h"

#define TOKEN "node-token-0123456789abcdef"

static struct sync_user mk(uint64_t id, const char *uuid, const char *email, const char *flow)
{
    struct sync_user u;
    memset(&u, 0, sizeof(u));
    u.id = id;
    snprintf(u.uuid, sizeof(u.uuid), "%s", uuid);
    snprintf(u.email, sizeof(u.email), "%s", email);
    snprintf(u.flow, sizeof(u.flow), "%s", flow);
    return u;
}

static void test_merge(void **state)
{
    struct sync_users_resp table = {0};
    struct sync_user full_users[] = {mk(1, "aaa", "a@x", ""), mk(2, "bbb", "b@x", "xtls-rprx-vision")};
    struct sync_users_resp full = {.revision = 5, .full = true, .users = full_users, .n_users = 2};
    assert_int_equal(node_hubsync_merge(&table, &full), 0);
    assert_int_equal(table.n_users, 2);
    assert_int_equal(table.revision, 5);

    /* delta: change 2, add 3 (takes uuid "aaa" over from 1), remove nothing */
    struct sync_user delta_users[] = {mk(2, "bbb2", "b@x", ""), mk(3, "aaa", "c@x", "")};
    struct sync_users_resp delta = {.revision = 6, .users = delta_users, .n_users = 2};
    assert_int_equal(node_hubsync_merge(&table, &delta), 0);
    assert_int_equal(table.revision, 6);
    assert_int_equal(table.n_users, 2);
    assert_int_equal(table.users[0].id, 2);
    assert_string_equal(table.users[0].uuid, "bbb2");
    assert_int_equal(table.users[1].id, 3);

    uint64_t removed[] = {2, 99};
    struct sync_users_resp del = {.revision = 7, .removed = removed, .n_removed = 2};
    assert_int_equal(node_hubsync_merge(&table, &del), 0);
    assert_int_equal(table.n_users, 1);
    assert_int_equal(table.users[0].id, 3);

    /* conversion: bad flow / bad uuid entries are skipped */
    struct sync_user conv_users[] = {mk(7, "good", "g@x", "xtls-rprx-vision"), mk(8, "x", "", "xtls-rprx-direct"),
                                     mk(9, "0123456789012345678901234567890", "", "")};
    struct sync_users_resp conv = {.revision = 1, .full = true, .users = conv_users, .n_users = 3};
    struct node_overlay_user *u;
    size_t n;
    assert_int_equal(node_hubsync_users(&conv, &u, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(u[0].id, "good");
    assert_int_equal(u[0].hub_id, 7);
    assert_int_equal(u[0].flow, NODE_FLOW_VISION);
    assert_null(u[0].inbound);
    node_hubsync_users_free(u, n);
    sync_users_resp_dispose(&table);
}

/* ---- fake hub ---- */

struct fake_hub {
    pthread_mutex_t lock;
    int requests, unauthorized;
    uint64_t first_since; /* since of the first pull */
    bool seen_first;
    uint64_t usage_up, usage_down;
    int pushes;
    char last_push_id[80];
    uint64_t health_revision;
};

static struct fake_hub hub = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void reply(struct node_http_resp *resp, int status, const char *body)
{
    resp->status = status;
    resp->content_type = "application/json";
    buf_append(&resp->body, body, strlen(body));
}

static void hub_handler(void *arg, const struct node_http_req *req, struct node_http_resp *resp)
{
    pthread_mutex_lock(&hub.lock);
    hub.requests++;
    if (strcmp(req->authorization, "Bearer " TOKEN) != 0) {
        hub.unauthorized++;
        pthread_mutex_unlock(&hub.lock);
        reply(resp, 401, "{\"v\":1,\"error\":\"unauthorized\"}");
        return;
    }
    const char *q = strstr(req->path, "?since=");
    if (strncmp(req->path, "/api/v1/node/users", 18) == 0 && q) {
        uint64_t since = strtoull(q + 7, NULL, 10);
        if (!hub.seen_first) {
            hub.seen_first = true;
            hub.first_since = since;
        }
        pthread_mutex_unlock(&hub.lock);
        if (since == 0)
            reply(resp, 200,
                  "{\"v\":1,\"revision\":1,\"full\":true,\"users\":["
                  "{\"id\":1,\"uuid\":\"hub-user-1\",\"email\":\"h1@x\",\"flow\":\"xtls-rprx-vision\"},"
                  "{\"id\":2,\"uuid\":\"hub-user-2\",\"email\":\"h2@x\",\"flow\":\"\"}],\"removed\":[]}");
        else if (since == 1)
            reply(resp, 200,
                  "{\"v\":1,\"revision\":2,\"full\":false,\"users\":["
                  "{\"id\":3,\"uuid\":\"hub-user-3\",\"flow\":\"\"}],\"removed\":[1]}");
        else
            reply(resp, 200, "{\"v\":1,\"revision\":2,\"full\":false,\"users\":[],\"removed\":[]}");
        return;
    }
    if (strcmp(req->path, "/api/v1/node/usage") == 0 && strcmp(req->method, "POST") == 0) {
        struct sync_usage_req m;
        struct sync_err err;
        if (sync_usage_req_decode(&m, (const char *)req->body, req->body_len, &err) < 0) {
            pthread_mutex_unlock(&hub.lock);
            reply(resp, 400, "{\"v\":1,\"error\":\"bad\"}");
            return;
        }
        hub.pushes++;
        snprintf(hub.last_push_id, sizeof(hub.last_push_id), "%s", m.push_id);
        hub.health_revision = m.health.revision;
        for (size_t i = 0; i < m.n_entries; i++) {
            hub.usage_up += m.entries[i].up;
            hub.usage_down += m.entries[i].down;
        }
        sync_usage_req_dispose(&m);
        pthread_mutex_unlock(&hub.lock);
        reply(resp, 200, "{\"v\":1,\"duplicate\":false,\"revision\":2}");
        return;
    }
    pthread_mutex_unlock(&hub.lock);
    reply(resp, 404, "{}");
}

struct installed {
    pthread_mutex_t lock;
    int calls;
    size_t n;
    char ids[8][64];
};

static struct installed inst = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int apply_cb(void *arg, const struct node_overlay_user *users, size_t n, char *err, size_t errlen)
{
    pthread_mutex_lock(&inst.lock);
    inst.calls++;
    inst.n = n;
    for (size_t i = 0; i < n && i < 8; i++)
        snprintf(inst.ids[i], sizeof(inst.ids[i]), "%s", users[i].id);
    pthread_mutex_unlock(&inst.lock);
    return 0;
}

static void health_cb(void *arg, struct sync_health *h)
{
    h->connections = 3;
}

static bool wait_until(struct node_hubsync *s, uint64_t revision, uint64_t pushes, int max_ms)
{
    for (int i = 0; i < max_ms / 10; i++) {
        if (node_hubsync_revision(s) >= revision && node_hubsync_pushes(s) >= pushes)
            return true;
        usleep(10000);
    }
    return false;
}

static void test_sync_thread(void **state)
{
    struct node_admin_opts ao = {NULL, "127.0.0.1:0", NULL, hub_handler, NULL};
    struct node_admin *fake = NULL;
    assert_int_equal(node_admin_start(&ao, &fake), 0);
    struct sock_addr a;
    assert_int_equal(node_admin_api_addr(fake, &a), 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", sock_addr_port(&a));

    char dir[] = "/tmp/veil-hubsync-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/hub-users.json", dir);

    struct node_hubsync_opts o = {url,  TOKEN, NULL, 50,   100,  path, apply_cb, health_cb,
                                  NULL, 0,     NULL, NULL, NULL, NULL, NULL};
    struct node_hubsync *s = NULL;
    assert_int_equal(node_hubsync_start(&o, &s), 0);
    node_hubsync_add_usage(s, 1, 10, 20);
    node_hubsync_add_usage(s, 1, 5, 0);
    node_hubsync_add_usage(s, 0, 99, 99); /* local user: ignored */
    assert_true(wait_until(s, 2, 1, 5000));
    node_hubsync_stop(s);

    pthread_mutex_lock(&inst.lock);
    assert_int_equal(inst.calls, 2); /* full, then the delta; empty deltas install nothing */
    assert_int_equal(inst.n, 2);
    assert_string_equal(inst.ids[0], "hub-user-2");
    assert_string_equal(inst.ids[1], "hub-user-3");
    pthread_mutex_unlock(&inst.lock);
    pthread_mutex_lock(&hub.lock);
    assert_int_equal(hub.first_since, 0);
    assert_true(hub.pushes >= 1);
    assert_int_equal(hub.usage_up, 15);
    assert_int_equal(hub.usage_down, 20);
    assert_true(sync_push_id_valid(hub.last_push_id, strlen(hub.last_push_id)));
    assert_int_equal(hub.unauthorized, 0);
    hub.seen_first = false;
    pthread_mutex_unlock(&hub.lock);

    /* usage added just before stopping is pushed on the way out */
    pthread_mutex_lock(&hub.lock);
    uint64_t up_before = hub.usage_up;
    pthread_mutex_unlock(&hub.lock);
    struct node_hubsync_opts slow = {url,  TOKEN, NULL, 60000, 60000, NULL, apply_cb, NULL,
                                     NULL, 0,     NULL, NULL,  NULL,  NULL, NULL};
    assert_int_equal(node_hubsync_start(&slow, &s), 0);
    node_hubsync_add_usage(s, 3, 7, 8);
    node_hubsync_stop(s);
    pthread_mutex_lock(&hub.lock);
    assert_int_equal(hub.usage_up, up_before + 7);
    hub.seen_first = false;
    pthread_mutex_unlock(&hub.lock);

    /* persisted: a restart starts from revision 2 */
    struct sync_users_resp table;
    struct sync_err err;
    assert_int_equal(node_hubsync_load_state(path, &table, &err), 0);
    assert_int_equal(table.revision, 2);
    assert_int_equal(table.n_users, 2);
    sync_users_resp_dispose(&table);
    assert_int_equal(node_hubsync_start(&o, &s), 0);
    assert_int_equal(node_hubsync_revision(s), 2);
    for (int i = 0; i < 300 && node_hubsync_pulls(s) == 0; i++)
        usleep(10000);
    assert_true(node_hubsync_pulls(s) >= 1);
    node_hubsync_stop(s);
    pthread_mutex_lock(&hub.lock);
    assert_int_equal(hub.first_since, 2);
    pthread_mutex_unlock(&hub.lock);

    /* a wrong token: nothing installed, stop is prompt */
    unlink(path);
    pthread_mutex_lock(&inst.lock);
    int calls = inst.calls;
    pthread_mutex_unlock(&inst.lock);
    struct node_hubsync_opts bad = {
        url, "wrong-token-0123456789", NULL, 50, 100, NULL, apply_cb, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL};
    assert_int_equal(node_hubsync_start(&bad, &s), 0);
    int unauthorized = 0;
    for (int i = 0; i < 100 && unauthorized == 0; i++) {
        usleep(10000);
        pthread_mutex_lock(&hub.lock);
        unauthorized = hub.unauthorized;
        pthread_mutex_unlock(&hub.lock);
    }
    node_hubsync_stop(s);
    assert_true(unauthorized >= 1);
    pthread_mutex_lock(&inst.lock);
    assert_int_equal(inst.calls, calls);
    pthread_mutex_unlock(&inst.lock);

    /* an unreachable hub: stop still returns */
    struct node_hubsync_opts down = {
        "http://127.0.0.1:1", TOKEN, NULL, 50, 100, NULL, apply_cb, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL};
    assert_int_equal(node_hubsync_start(&down, &s), 0);
    usleep(100000);
    node_hubsync_stop(s);

    node_admin_stop(fake);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_sync_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
