/* cli/haproxy_rt: `show stat` parsing (columns found by the header, the server picked by backend
 * and name, malformed answers refused), safe names, and one command against a fake runtime
 * socket that answers like HAProxy and closes. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/haproxy_rt.h"
#include "core/err.h"

/* The first columns of HAProxy 2.6's `show stat` (shortened after status). */
static const char stat_csv[] =
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,"
    "weight,act,bck,\n"
    "vless,FRONTEND,,,4,9,2000,120,0,0,0,0,0,,,,,OPEN,,,,\n"
    "nodes,node1,0,0,3,5,,50,0,0,,0,,0,0,0,0,UP,100,1,0,\n"
    "nodes,node2,0,0,1,4,,40,0,0,,0,,0,0,0,0,UP,0,1,0,\n"
    "nodes,node3,0,0,0,2,,30,0,0,,0,,0,0,0,0,DOWN,100,1,0,\n"
    "nodes,BACKEND,0,0,4,9,200,120,0,0,0,0,,0,0,0,0,UP,200,2,0,\n";

static void test_stat_found(void **state)
{
    (void)state;
    struct haproxy_server_stat st;
    assert_int_equal(haproxy_rt_server_stat(stat_csv, strlen(stat_csv), "nodes", "node2", &st), 0);
    assert_int_equal(st.scur, 1);
    assert_int_equal(st.weight, 0);
    assert_string_equal(st.status, "UP");
    assert_int_equal(haproxy_rt_server_stat(stat_csv, strlen(stat_csv), "nodes", "node3", &st), 0);
    assert_int_equal(st.scur, 0);
    assert_int_equal(st.weight, 100);
    assert_string_equal(st.status, "DOWN");
    /* Columns in another order (a newer HAProxy): found by the header's names. */
    static const char other[] = "# svname,pxname,status,weight,scur\nnode2,nodes,MAINT,7,12\n";
    assert_int_equal(haproxy_rt_server_stat(other, strlen(other), "nodes", "node2", &st), ERR_NOT_FOUND);
    static const char other2[] = "# pxname,svname,status,weight,scur\nnodes,node2,MAINT,7,12";
    assert_int_equal(haproxy_rt_server_stat(other2, strlen(other2), "nodes", "node2", &st), 0);
    assert_int_equal(st.scur, 12);
    assert_int_equal(st.weight, 7);
    assert_string_equal(st.status, "MAINT");
}

static void test_stat_bad(void **state)
{
    (void)state;
    struct haproxy_server_stat st;
    assert_int_equal(haproxy_rt_server_stat(stat_csv, strlen(stat_csv), "nodes", "node9", &st), ERR_NOT_FOUND);
    assert_int_equal(haproxy_rt_server_stat(stat_csv, strlen(stat_csv), "hubs", "node1", &st), ERR_NOT_FOUND);
    static const char *const bad[] = {
        "",
        "Unknown command\n",
        "# pxname,svname,scur\nnodes,node2,1\n",             /* no weight/status column */
        "# pxname,svname,scur,weight,status\nnodes,node2\n", /* short row */
        "# pxname,svname,scur,weight,status\nnodes,node2,x,1,UP\n",
        "# pxname,svname,scur,weight,status\nnodes,node2,-1,1,UP\n",
        "# pxname,svname,scur,weight,status\nnodes,node2,1,99999999999999999999,UP\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(haproxy_rt_server_stat(bad[i], strlen(bad[i]), "nodes", "node2", &st), ERR_MALFORMED);
    /* Prefixes of a good answer never crash; those that cut the row off are not found or malformed. */
    for (size_t n = 0; n < strlen(stat_csv); n++) {
        int rc = haproxy_rt_server_stat(stat_csv, n, "nodes", "node3", &st);
        assert_true(rc == 0 || rc == ERR_NOT_FOUND || rc == ERR_MALFORMED);
    }
}

static void test_names(void **state)
{
    (void)state;
    assert_true(haproxy_rt_name_ok("node2"));
    assert_true(haproxy_rt_name_ok("nl-1.ams_2"));
    assert_false(haproxy_rt_name_ok(""));
    assert_false(haproxy_rt_name_ok("a b"));
    assert_false(haproxy_rt_name_ok("a;b"));
    assert_false(haproxy_rt_name_ok("a\nshow stat"));
    assert_false(haproxy_rt_name_ok("a/b"));
    char long_name[66];
    memset(long_name, 'a', 65);
    long_name[65] = '\0';
    assert_false(haproxy_rt_name_ok(long_name));
    long_name[64] = '\0';
    assert_true(haproxy_rt_name_ok(long_name));
}

struct fake {
    int lfd;
    char got[256];
    const char *answer;
    int answer_then_hang;
};

/* Accepts one connection, reads one command line, answers and closes (or keeps it open). */
static void *fake_haproxy(void *arg)
{
    struct fake *f = arg;
    int c = accept(f->lfd, NULL, NULL);
    if (c < 0)
        return NULL;
    size_t n = 0;
    while (n < sizeof f->got - 1) {
        ssize_t r = read(c, f->got + n, 1);
        if (r <= 0 || f->got[n] == '\n')
            break;
        n++;
    }
    f->got[n] = '\0';
    if (write(c, f->answer, strlen(f->answer)) < 0)
        f->got[0] = '!';
    if (f->answer_then_hang)
        usleep(500 * 1000);
    close(c);
    return NULL;
}

static void run_fake(struct fake *f, const char *cmd, int timeout_ms, int want_rc, const char *want_answer)
{
    char path[] = "/tmp/veil-hrt-XXXXXX";
    assert_non_null(mkdtemp(path));
    char sock[128];
    snprintf(sock, sizeof sock, "%s/admin.sock", path);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, sock);
    f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f->lfd, 1), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fake_haproxy, f), 0);
    char *ans = NULL, err[200] = "";
    int rc = haproxy_rt_command(sock, cmd, timeout_ms, &ans, err, sizeof err);
    pthread_join(t, NULL);
    close(f->lfd);
    unlink(sock);
    rmdir(path);
    assert_int_equal(rc, want_rc);
    assert_string_equal(f->got, cmd);
    if (want_answer != NULL)
        assert_string_equal(ans, want_answer);
    else
        assert_null(ans);
    free(ans);
}

static void test_command(void **state)
{
    (void)state;
    struct fake f = {.answer = "\n"};
    run_fake(&f, "set server nodes/node2 weight 0", 2000, 0, "\n");
    struct fake g = {.answer = "No such server.\n"};
    run_fake(&g, "set server nodes/node9 weight 0", 2000, 0, "No such server.\n");
    /* An answer and then silence beyond the timeout: ERR_TIMEOUT, nothing returned. */
    struct fake h = {.answer = "partial", .answer_then_hang = 1};
    run_fake(&h, "show stat", 100, ERR_TIMEOUT, NULL);
    char *ans = NULL, err[200] = "";
    assert_int_equal(haproxy_rt_command("/nonexistent/admin.sock", "show stat", 100, &ans, err, sizeof err), ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/admin.sock"));
    assert_int_equal(haproxy_rt_command("not-an-ip:80", "show stat", 100, &ans, err, sizeof err), ERR_IO);
    assert_null(ans);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat_found),
        cmocka_unit_test(test_stat_bad),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
