/* The node's scan thread (scan_job.h): veil scan --json in a child process, its output posted. */
#include "node/scan_job.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "ctl/sync.h"

extern char **environ;

#define OUT_MAX (4u << 20) /* veil scan's JSON for SYNC_SCAN_ROWS_MAX rows fits easily */

struct node_scan_job {
    unsigned timeout_sec;
    node_scan_post_fn *post;
    void *arg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop, pending;
    struct sync_scan next;
    pid_t child;
};

size_t node_scan_argv(const struct sync_scan *req, const char *bin, unsigned timeout_sec, char *timeout_buf,
                      size_t timeout_cap, const char **argv, size_t cap)
{
    size_t k = 0;
    if (cap < req->n + 8)
        return 0;
    snprintf(timeout_buf, timeout_cap, "%u", timeout_sec);
    argv[k++] = bin;
    argv[k++] = "scan";
    argv[k++] = "--json";
    argv[k++] = "--timeout";
    argv[k++] = timeout_buf;
    if (req->sni[0]) {
        argv[k++] = "--sni";
        argv[k++] = req->sni;
    }
    for (size_t i = 0; i < req->n; i++)
        argv[k++] = req->candidates[i];
    argv[k] = NULL;
    return k;
}

int node_scan_body(uint64_t id, const char *out, size_t n, struct buf *body)
{
    struct buf wrap;
    buf_init(&wrap);
    char head[64];
    int hl = snprintf(head, sizeof head, "{\"v\":1,\"id\":%llu,\"results\":", (unsigned long long)id);
    struct sync_scan_result m;
    struct sync_err se;
    int rc = buf_append(&wrap, head, (size_t)hl);
    if (rc == 0)
        rc = buf_append(&wrap, out, n);
    if (rc == 0)
        rc = buf_append(&wrap, "}", 1);
    if (rc < 0) {
        buf_dispose(&wrap);
        return rc;
    }
    if (sync_scan_result_decode(&m, (const char *)buf_data(&wrap), buf_len(&wrap), &se) < 0) {
        log_warn("node", 0, "scan_output_unusable", LF_UINT("scan", id), LF_STR("why", se.msg));
        m = (struct sync_scan_result){.id = id};
    }
    buf_dispose(&wrap);
    rc = sync_scan_result_encode(&m, body);
    sync_scan_result_dispose(&m);
    return rc;
}

/* veil next to this executable, else the name alone ($PATH). */
static void veil_path(char *out, size_t cap)
{
    const char *env = getenv("VEIL_SCAN_BIN");
    if (env != NULL && env[0]) {
        snprintf(out, cap, "%s", env);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            snprintf(out, cap, "%s/veil", self);
            if (access(out, X_OK) == 0)
                return;
        }
    }
    snprintf(out, cap, "veil");
}

/* Runs one scan: the child's stdout into out (at most OUT_MAX bytes). */
static int run_scan(struct node_scan_job *j, const struct sync_scan *req, struct buf *out)
{
    char bin[PATH_MAX + 8], tbuf[16];
    const char *argv[SYNC_SCAN_CANDIDATES_MAX + 10];
    veil_path(bin, sizeof bin);
    if (node_scan_argv(req, bin, j->timeout_sec, tbuf, sizeof tbuf, argv, sizeof argv / sizeof argv[0]) == 0)
        return ERR_RANGE;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) == -1)
        return -errno;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, bin, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -rc;
    }
    pthread_mutex_lock(&j->mu);
    j->child = pid;
    pthread_mutex_unlock(&j->mu);
    char tmp[16384];
    for (;;) {
        ssize_t n = read(fds[0], tmp, sizeof tmp);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (buf_len(out) + (size_t)n > OUT_MAX || buf_append(out, tmp, (size_t)n) < 0) {
            kill(pid, SIGKILL);
            break;
        }
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
        ;
    pthread_mutex_lock(&j->mu);
    j->child = 0;
    pthread_mutex_unlock(&j->mu);
    /* veil scan exits 0 (the best candidate suits) or 1 (none does): both printed the list. */
    if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
        return ERR_IO;
    return 0;
}

static void *job_run(void *arg)
{
    struct node_scan_job *j = arg;
    static struct sync_scan req; /* one job thread per process; large */
    for (;;) {
        pthread_mutex_lock(&j->mu);
        while (!j->stop && !j->pending)
            pthread_cond_wait(&j->cond, &j->mu);
        if (j->stop) {
            pthread_mutex_unlock(&j->mu);
            return NULL;
        }
        req = j->next;
        j->pending = false;
        pthread_mutex_unlock(&j->mu);
        log_info("node", 0, "scan_started", LF_UINT("scan", req.id), LF_UINT("candidates", req.n));
        struct buf out, body;
        buf_init(&out);
        buf_init(&body);
        int rc = run_scan(j, &req, &out);
        if (rc < 0)
            log_warn("node", 0, "scan_failed", LF_UINT("scan", req.id), LF_STR("err", err_str(rc)));
        /* Posted even when it failed (no rows): the hub closes the request instead of resending it. */
        if (node_scan_body(req.id, rc == 0 ? (const char *)buf_data(&out) : "[]", rc == 0 ? buf_len(&out) : 2, &body) ==
            0) {
            int pr = j->post(j->arg, &body);
            log_info("node", 0, "scan_posted", LF_UINT("scan", req.id), LF_STR("result", pr == 0 ? "ok" : err_str(pr)));
        }
        buf_dispose(&out);
        buf_dispose(&body);
    }
}

struct node_scan_job *node_scan_job_start(unsigned timeout_sec, node_scan_post_fn *post, void *arg)
{
    struct node_scan_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return NULL;
    j->timeout_sec = timeout_sec ? timeout_sec : 5;
    j->post = post;
    j->arg = arg;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cond, NULL);
    if (pthread_create(&j->thread, NULL, job_run, j) != 0) {
        pthread_mutex_destroy(&j->mu);
        pthread_cond_destroy(&j->cond);
        free(j);
        return NULL;
    }
    return j;
}

void node_scan_job_request(struct node_scan_job *j, const struct sync_scan *req)
{
    if (j == NULL || req->id == 0)
        return;
    pthread_mutex_lock(&j->mu);
    j->next = *req;
    j->pending = true;
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->mu);
}

void node_scan_job_stop(struct node_scan_job *j)
{
    if (j == NULL)
        return;
    pthread_mutex_lock(&j->mu);
    j->stop = true;
    if (j->child > 0)
        kill(j->child, SIGKILL);
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->mu);
    pthread_join(j->thread, NULL);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cond);
    free(j);
}
