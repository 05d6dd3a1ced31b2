/* node/services: a real runtime (one worker on loopback) with the admin API and /metrics:
 * users added over HTTP reach the running snapshot and survive SIGHUP reloads and restarts
 * (stateDir/users.json); /metrics shows the workers' counters. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/err.h"
#include "net/sock.h"
#include "node/admin.h"
#include "node/hubsync.h"
#include "node/services.h"
#include "node/worker.h"

static uint16_t free_port(void)
{
    struct sock_addr a;
    assert_int_equal(sock_addr_parse(&a, "127.0.0.1:0"), 0);
    int fd = sock_listen(&a, 1, SOCK_LISTEN_NONE);
    assert_true(fd >= 0);
    assert_int_equal(sock_local_addr(fd, &a), 0);
    close(fd);
    return sock_addr_port(&a);
}

static char *roundtrip(uint16_t port, const char *req)
{
    struct sock_addr a;
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
    assert_int_equal(sock_addr_parse(&a, addr), 0);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, &a.u.sa, a.len), 0);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    size_t cap = 65536, n = 0;
    char *out = malloc(cap + 1);
    for (ssize_t r; (r = read(fd, out + n, cap - n)) > 0;)
        n += (size_t)r;
    out[n] = '\0';
    close(fd);
    return out;
}

static void write_config(const char *path, const char *dir, uint16_t port, uint16_t admin, uint16_t metrics,
                         const char *extra_user)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"inbounds\": [{\"listen\": \"127.0.0.1\", \"port\": %u, \"protocol\": \"vless\","
            " \"settings\": {\"clients\": [{\"id\": \"alice\", \"email\": \"alice@x\"}%s], \"decryption\": \"none\"},"
            " \"streamSettings\": {\"security\": \"reality\", \"realitySettings\": {"
            "   \"target\": \"127.0.0.1:9\", \"serverNames\": [\"www.example.com\"],"
            "   \"privateKey\": \"EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8\", \"shortIds\": [\"\"]}}}],"
            " \"veil\": {\"workers\": 1, \"stateDir\": \"%s\", \"adminListen\": \"127.0.0.1:%u\","
            " \"metricsListen\": \"127.0.0.1:%u\", \"adminToken\": \"test-token-0123456789\"}}",
            port, extra_user ? extra_user : "", dir, admin, metrics);
    fclose(f);
}

static size_t running_users(struct node_runtime *rt)
{
    pthread_mutex_lock(&rt->lock);
    size_t n = rt->snap->cfg->inbounds[0].n_users;
    pthread_mutex_unlock(&rt->lock);
    return n;
}

static void test_services(void **state)
{
    char dir[] = "/tmp/veil-services-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], state_file[256];
    snprintf(path, sizeof(path), "%s/node.json", dir);
    snprintf(state_file, sizeof(state_file), "%s/users.json", dir);
    uint16_t port = free_port(), admin = free_port(), metrics = free_port();
    write_config(path, dir, port, admin, metrics, NULL);

    struct cfg_ctx c;
    cfg_init(&c, path);
    struct node_cfg *cfg = node_services_load(path, &c);
    if (cfg == NULL)
        for (size_t i = 0; i < c.n_msgs; i++)
            fprintf(stderr, "%s\n", c.msgs[i].text);
    assert_non_null(cfg);
    cfg_dispose(&c);
    char err[256] = "";
    struct node_snapshot *snap = NULL;
    assert_int_equal(node_snapshot_new(cfg, &snap, err, sizeof(err)), 0);
    struct node_runtime rt;
    assert_int_equal(node_runtime_start(&rt, snap, 1), 0);
    node_snapshot_unref(snap);
    struct node_services *svc = NULL;
    assert_int_equal(node_services_start(&rt, path, cfg, &svc), 0);
    assert_non_null(svc);
    node_cfg_unref(cfg);

    char *r = roundtrip(metrics, "GET /metrics HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.1 200 OK"));
    assert_non_null(strstr(r, "veil_node_connections_total{result=\"accepted\"} 0"));
    assert_non_null(strstr(r, "veil_node_users 1"));
    assert_non_null(strstr(r, "veil_node_dns_lookups_total{source=\"query\"} 0"));
    free(r);

    r = roundtrip(admin, "GET /api/v1/users HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.1 401"));
    free(r);
    r = roundtrip(admin, "POST /api/v1/users HTTP/1.1\r\nAuthorization: Bearer test-token-0123456789\r\n"
                         "Content-Length: 43\r\n\r\n{\"id\": \"carol\", \"flow\": \"xtls-rprx-vision\"}");
    assert_non_null(strstr(r, "HTTP/1.1 201 Created"));
    free(r);
    assert_int_equal(running_users(&rt), 2);
    assert_int_equal(access(state_file, F_OK), 0);
    r = roundtrip(admin, "DELETE /api/v1/users/alice%40x HTTP/1.1\r\nAuthorization: Bearer test-token-0123456789"
                         "\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.1 204"));
    free(r);
    assert_int_equal(running_users(&rt), 1);

    /* SIGHUP with a new file user: the overlay still applies (carol in, alice out) */
    write_config(path, dir, port, admin, metrics, ", {\"id\": \"dave\"}");
    assert_int_equal(node_services_reload(svc, path), 0);
    assert_int_equal(running_users(&rt), 2);
    r = roundtrip(metrics, "GET /metrics HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(r, "veil_node_users 2"));
    free(r);
    /* a reload that moves a listener applies the rest (dave out) and keeps the socket (a
     * restart_needed warning); a broken file keeps the running config */
    write_config(path, dir, free_port(), admin, metrics, NULL);
    assert_int_equal(node_services_reload(svc, path), 0);
    assert_int_equal(running_users(&rt), 1);
    FILE *f = fopen(path, "w");
    fputs("{", f);
    fclose(f);
    assert_int_equal(node_services_reload(svc, path), ERR_CONFIG);
    assert_int_equal(running_users(&rt), 1);

    node_services_stop(svc);
    node_runtime_stop(&rt, 0);

    /* restart: the persisted overlay is applied at load */
    write_config(path, dir, port, admin, metrics, NULL);
    cfg_init(&c, path);
    cfg = node_services_load(path, &c);
    assert_non_null(cfg);
    assert_null(node_cfg_find_user(cfg, "alice@x", NULL));
    assert_non_null(node_cfg_find_user(cfg, "carol", NULL));
    node_cfg_unref(cfg);
    cfg_dispose(&c);

    /* a broken state file is a config error naming it */
    f = fopen(state_file, "w");
    fputs("{\"add\": [{}]}", f);
    fclose(f);
    cfg_init(&c, path);
    assert_null(node_services_load(path, &c));
    bool named = false;
    for (size_t i = 0; i < c.n_msgs; i++)
        named |= c.msgs[i].sev == CFG_SEV_ERROR && strstr(c.msgs[i].text, "users.json: add[0].id: is required");
    assert_true(named);
    cfg_dispose(&c);

    unlink(state_file);
    unlink(path);
    rmdir(dir);
}

static void fake_hub(void *arg, const struct node_http_req *req, struct node_http_resp *resp)
{
    resp->content_type = "application/json";
    const char *body;
    if (strncmp(req->path, "/api/v1/node/users?since=0", 26) == 0)
        body = "{\"v\":1,\"revision\":7,\"full\":true,\"users\":[{\"id\":42,\"uuid\":\"hub-user\",\"email\":\"hub@x\","
               "\"flow\":\"xtls-rprx-vision\"},{\"id\":43,\"uuid\":\"alice\",\"flow\":\"\"}],\"removed\":[]}";
    else if (strncmp(req->path, "/api/v1/node/users", 18) == 0)
        body = "{\"v\":1,\"revision\":7,\"full\":false,\"users\":[],\"removed\":[]}";
    else
        body = "{\"v\":1,\"duplicate\":false,\"revision\":7}";
    buf_append(&resp->body, body, strlen(body));
}

/* veil.hub: the hub's users join the file's (a clash with a file user is skipped) and are kept in
 * stateDir/hub-users.json for the next start. */
static void test_services_hub(void **state)
{
    struct node_admin_opts ao = {NULL, "127.0.0.1:0", NULL, fake_hub, NULL};
    struct node_admin *hub = NULL;
    assert_int_equal(node_admin_start(&ao, &hub), 0);
    struct sock_addr ha;
    assert_int_equal(node_admin_api_addr(hub, &ha), 0);

    char dir[] = "/tmp/veil-services-hub-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], hub_state[256];
    snprintf(path, sizeof(path), "%s/node.json", dir);
    snprintf(hub_state, sizeof(hub_state), "%s/hub-users.json", dir);
    uint16_t port = free_port();
    FILE *f = fopen(path, "w");
    fprintf(f,
            "{\"inbounds\": [{\"listen\": \"127.0.0.1\", \"port\": %u, \"protocol\": \"vless\","
            " \"settings\": {\"clients\": [{\"id\": \"alice\", \"email\": \"alice@x\"}], \"decryption\": \"none\"},"
            " \"streamSettings\": {\"security\": \"reality\", \"realitySettings\": {"
            "   \"target\": \"127.0.0.1:9\", \"serverNames\": [\"www.example.com\"],"
            "   \"privateKey\": \"EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8\", \"shortIds\": [\"\"]}}}],"
            " \"veil\": {\"workers\": 1, \"stateDir\": \"%s\","
            " \"hub\": {\"url\": \"http://127.0.0.1:%u\", \"token\": \"node-token-0123456789\", \"pollSec\": 5}}}",
            port, dir, sock_addr_port(&ha));
    fclose(f);

    struct cfg_ctx c;
    cfg_init(&c, path);
    struct node_cfg *cfg = node_services_load(path, &c);
    assert_non_null(cfg);
    cfg_dispose(&c);
    char err[256] = "";
    struct node_snapshot *snap = NULL;
    assert_int_equal(node_snapshot_new(cfg, &snap, err, sizeof(err)), 0);
    struct node_runtime rt;
    assert_int_equal(node_runtime_start(&rt, snap, 1), 0);
    node_snapshot_unref(snap);
    struct node_services *svc = NULL;
    assert_int_equal(node_services_start(&rt, path, cfg, &svc), 0);
    node_cfg_unref(cfg);
    struct node_hubsync *hs = node_services_hubsync(svc);
    assert_non_null(hs);
    for (int i = 0; i < 500 && node_hubsync_revision(hs) < 7; i++)
        usleep(10000);
    assert_int_equal(node_hubsync_revision(hs), 7);
    assert_int_equal(running_users(&rt), 2); /* alice (file) + hub-user; the hub's "alice" is skipped */
    pthread_mutex_lock(&rt.lock);
    const struct node_user *hu = node_cfg_find_user(rt.snap->cfg, "hub@x", NULL);
    assert_non_null(hu);
    assert_int_equal(hu->hub_id, 42);
    assert_int_equal(hu->flow, NODE_FLOW_VISION);
    pthread_mutex_unlock(&rt.lock);
    node_services_stop(svc);
    node_runtime_stop(&rt, 0);

    /* next start: the hub's users are there before any pull */
    cfg_init(&c, path);
    cfg = node_services_load(path, &c);
    assert_non_null(cfg);
    assert_non_null(node_cfg_find_user(cfg, "hub@x", NULL));
    node_cfg_unref(cfg);
    cfg_dispose(&c);

    node_admin_stop(hub);
    unlink(hub_state);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_services), cmocka_unit_test(test_services_hub)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
