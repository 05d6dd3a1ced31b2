#include "node/admin.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"

struct node_admin {
    struct loop *loop;
    pthread_t thread;
    struct node_http_server *metrics, *api;
    struct metrics_registry *registry;
    node_http_handler *admin_handler;
    void *admin_arg;
};

static void metrics_handler(void *arg, const struct node_http_req *req, struct node_http_resp *resp)
{
    struct node_admin *a = arg;
    static const char text[] = "text/plain; charset=utf-8";
    if (strcmp(req->path, "/metrics") != 0 && strncmp(req->path, "/metrics?", 9) != 0) {
        resp->status = 404;
        resp->content_type = text;
        buf_append(&resp->body, "not found\n", 10);
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        resp->status = 405;
        resp->content_type = text;
        buf_append(&resp->body, "use GET\n", 8);
        return;
    }
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    if (a->registry && metrics_render(a->registry, &resp->body) < 0) {
        buf_reset(&resp->body);
        resp->status = 500;
        resp->content_type = text;
    }
}

static void api_handler(void *arg, const struct node_http_req *req, struct node_http_resp *resp)
{
    struct node_admin *a = arg;
    if (a->admin_handler) {
        a->admin_handler(a->admin_arg, req, resp);
        return;
    }
    resp->status = 404;
    resp->content_type = "application/json";
    static const char body[] = "{\"error\":\"not_found\"}\n";
    buf_append(&resp->body, body, sizeof(body) - 1);
}

static void *run(void *arg)
{
    struct node_admin *a = arg;
    int rc = loop_run(a->loop);
    if (rc < 0)
        log_err("node", 0, "admin_loop_failed", LF_STR("err", err_str(rc)));
    return NULL;
}

static void stop_cb(struct loop *loop, void *arg)
{
    if (loop)
        loop_stop(loop);
}

static int serve(struct node_admin *a, const char *listen, node_http_handler *h, struct node_http_server **out)
{
    if (listen == NULL)
        return 0;
    struct sock_addr addr;
    if (sock_addr_parse(&addr, listen) < 0)
        return ERR_MALFORMED;
    int err = 0;
    *out = node_http_server_new(a->loop, &addr, h, a, &err);
    return *out ? 0 : err;
}

static void admin_free(struct node_admin *a)
{
    node_http_server_free(a->metrics);
    node_http_server_free(a->api);
    loop_free(a->loop);
    free(a);
}

int node_admin_start(const struct node_admin_opts *o, struct node_admin **out)
{
    *out = NULL;
    if (o->metrics_listen == NULL && o->admin_listen == NULL)
        return 0;
    struct node_admin *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return ERR_NOMEM;
    a->registry = o->registry;
    a->admin_handler = o->admin_handler;
    a->admin_arg = o->admin_arg;
    a->loop = loop_new();
    if (a->loop == NULL) {
        free(a);
        return ERR_NOMEM;
    }
    int rc = serve(a, o->metrics_listen, metrics_handler, &a->metrics);
    if (rc == 0)
        rc = serve(a, o->admin_listen, api_handler, &a->api);
    if (rc == 0 && pthread_create(&a->thread, NULL, run, a) != 0)
        rc = ERR_NOMEM;
    if (rc < 0) {
        admin_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void node_admin_stop(struct node_admin *a)
{
    if (a == NULL)
        return;
    if (loop_post(a->loop, stop_cb, NULL) < 0)
        loop_wakeup(a->loop);
    pthread_join(a->thread, NULL);
    admin_free(a);
}

int node_admin_metrics_addr(const struct node_admin *a, struct sock_addr *out)
{
    return a && a->metrics ? node_http_server_addr(a->metrics, out) : ERR_NOT_FOUND;
}

int node_admin_api_addr(const struct node_admin *a, struct sock_addr *out)
{
    return a && a->api ? node_http_server_addr(a->api, out) : ERR_NOT_FOUND;
}
