/* Interop with OpenSSL 3 over loopback: our server against `openssl s_client -tls1_3`
 * and our client against `openssl s_server -tls1_3 -rev`, for each cipher suite, with
 * an Ed25519 certificate made by `openssl genpkey` + `openssl req -x509`.
 * Skipped when the openssl binary is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "tls13/tls13.h"
#include "test_util.h"

static char dir[64];
static char key_pem[128], cert_pem[128], cert_der[128];
static bool have_openssl;

static const char *const suite_names[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                          "TLS_CHACHA20_POLY1305_SHA256"};
static const uint16_t suite_ids[] = {0x1301, 0x1302, 0x1303};

static int setup(void **state)
{
    (void)state;
    have_openssl = system("openssl version >/dev/null 2>&1") == 0;
    if (!have_openssl)
        return 0;
    strcpy(dir, "/tmp/veil-tls13-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(key_pem, sizeof(key_pem), "%s/key.pem", dir);
    snprintf(cert_pem, sizeof(cert_pem), "%s/cert.pem", dir);
    snprintf(cert_der, sizeof(cert_der), "%s/cert.der", dir);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl genpkey -algorithm ed25519 -out %s 2>/dev/null && "
             "openssl req -x509 -new -key %s -out %s -days 2 -subj /CN=veil.test 2>/dev/null && "
             "openssl x509 -in %s -outform der -out %s",
             key_pem, key_pem, cert_pem, cert_pem, cert_der);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (have_openssl) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

/* The Ed25519 seed from the PKCS#8 PEM: its DER ends with the 32-byte seed. */
static void read_seed(uint8_t seed[32])
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "openssl pkey -in %s -outform der | od -An -v -tx1 | tr -d ' \\n' > %s/seed.hex",
             key_pem, dir);
    assert_int_equal(system(cmd), 0);
    char path[128];
    snprintf(path, sizeof(path), "%s/seed.hex", dir);
    size_t n;
    uint8_t *der = tu_read_hex_file(path, &n);
    assert_non_null(der);
    assert_true(n >= 32);
    memcpy(seed, der + n - 32, 32);
    free(der);
}

static pid_t spawn(char *const argv[], int *in_fd, int *out_fd)
{
    int pin[2], pout[2];
    assert_int_equal(pipe(pin), 0);
    assert_int_equal(pipe(pout), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        close(pin[1]);
        close(pout[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    *in_fd = pin[1];
    *out_fd = pout[0];
    return pid;
}

static int wait_readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms);
}

/* Runs the handshake over a blocking socket, then sends `msg` and reads until `want`
 * arrives in the application data. */
static void drive(int fd, struct tls13_conn *c, const char *msg, const char *want)
{
    struct buf in, out, app;
    buf_init(&in);
    buf_init(&out);
    buf_init(&app);
    int rc = ERR_NEED_MORE;
    bool sent = false;
    for (int rounds = 0; rounds < 1000; rounds++) {
        if (!tls13_handshake_done(c)) {
            size_t used;
            rc = tls13_handshake(c, buf_len(&in) ? buf_data(&in) : NULL, buf_len(&in), &used, &out);
            buf_consume(&in, used);
            assert_true(rc == 0 || rc == ERR_NEED_MORE);
        }
        if (tls13_handshake_done(c) && !sent) {
            assert_int_equal(tls13_send(c, msg, strlen(msg), &out), 0);
            sent = true;
        }
        if (tls13_handshake_done(c) && buf_len(&in) > 0) {
            size_t used;
            rc = tls13_recv(c, buf_data(&in), buf_len(&in), &used, &app, &out);
            buf_consume(&in, used);
            assert_true(rc == 0 || rc == ERR_NEED_MORE);
        }
        while (buf_len(&out) > 0) {
            ssize_t n = write(fd, buf_data(&out), buf_len(&out));
            assert_true(n > 0);
            buf_consume(&out, (size_t)n);
        }
        if (buf_len(&app) >= strlen(want))
            break;
        if (rc == 0 && tls13_handshake_done(c) && buf_len(&in) > 0)
            continue;
        assert_true(wait_readable(fd, 10000) == 1);
        assert_int_equal(buf_reserve(&in, 16384), 0);
        ssize_t n = read(fd, buf_tail(&in), buf_space(&in));
        assert_true(n > 0);
        buf_produce(&in, (size_t)n);
    }
    assert_true(buf_len(&app) >= strlen(want));
    assert_memory_equal(buf_data(&app), want, strlen(want));
    assert_int_equal(tls13_close(c, &out), 0);
    assert_true(write(fd, buf_data(&out), buf_len(&out)) == (ssize_t)buf_len(&out));
    buf_dispose(&in);
    buf_dispose(&out);
    buf_dispose(&app);
}

static void test_our_server(void **state)
{
    (void)state;
    if (!have_openssl)
        skip();
    size_t clen;
    uint8_t *cert = tu_read_file(cert_der, &clen), seed[32];
    assert_non_null(cert);
    read_seed(seed);
    struct bytes chain[1] = {{cert, clen}};
    for (size_t i = 0; i < 3; i++) {
        struct tls13_ctx ctx = {0};
        ctx.cert_chain = chain;
        ctx.n_certs = 1;
        ctx.sign_key = seed;
        ctx.cipher_suites = &suite_ids[i];
        ctx.n_cipher_suites = 1;
        int lfd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof(a);
        assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(lfd, 1), 0);
        assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
        char target[64];
        snprintf(target, sizeof(target), "127.0.0.1:%u", ntohs(a.sin_port));
        char *argv[] = {"openssl", "s_client", "-connect", target, "-tls1_3", "-ciphersuites", (char *)suite_names[i],
                        "-quiet",  NULL};
        int to_child, from_child;
        pid_t pid = spawn(argv, &to_child, &from_child);
        assert_true(write(to_child, "ping\n", 5) == 5);
        assert_true(wait_readable(lfd, 10000) == 1);
        int fd = accept(lfd, NULL, NULL);
        assert_true(fd >= 0);
        struct tls13_conn *c = tls13_conn_new(&ctx, true);
        drive(fd, c, "pong\n", "ping\n");
        assert_int_equal(tls13_conn_suite(c)->id, suite_ids[i]);
        /* s_client prints what we sent */
        char got[16] = {0};
        assert_true(wait_readable(from_child, 10000) == 1);
        assert_true(read(from_child, got, sizeof(got) - 1) >= 5);
        assert_string_equal(got, "pong\n");
        tls13_conn_free(c);
        close(fd);
        close(lfd);
        close(to_child);
        close(from_child);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    free(cert);
}

struct pin {
    struct tls13_verify_certificate v;
    const uint8_t *der;
    size_t len;
};

static int pin_cb(struct tls13_verify_certificate *self, struct tls13_conn *conn, const struct bytes *chain, size_t n)
{
    (void)conn;
    struct pin *p = (struct pin *)self;
    if (n < 1 || chain[0].len != p->len || memcmp(chain[0].p, p->der, p->len) != 0)
        return TLS13_ERR_SEND(TLS13_ALERT_BAD_CERTIFICATE);
    return 0;
}

static void test_our_client(void **state)
{
    (void)state;
    if (!have_openssl)
        skip();
    size_t clen;
    uint8_t *cert = tu_read_file(cert_der, &clen);
    assert_non_null(cert);
    struct pin pin = {{pin_cb}, cert, clen};
    for (size_t i = 0; i < 3; i++) {
        /* a free port for s_server */
        int probe = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof(a);
        assert_int_equal(bind(probe, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(getsockname(probe, (struct sockaddr *)&a, &alen), 0);
        close(probe);
        char port[16];
        snprintf(port, sizeof(port), "%u", ntohs(a.sin_port));
        char *argv[] = {"openssl",
                        "s_server",
                        "-accept",
                        port,
                        "-tls1_3",
                        "-ciphersuites",
                        (char *)suite_names[i],
                        "-key",
                        key_pem,
                        "-cert",
                        cert_pem,
                        "-naccept",
                        "1",
                        "-rev",
                        "-quiet",
                        NULL};
        int to_child, from_child;
        pid_t pid = spawn(argv, &to_child, &from_child);
        int fd = -1;
        for (int tries = 0; tries < 100 && fd < 0; tries++) {
            fd = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
                close(fd);
                fd = -1;
                usleep(50000);
            }
        }
        assert_true(fd >= 0);
        struct tls13_ctx ctx = {0};
        ctx.server_name = "veil.test";
        ctx.verify_certificate = &pin.v;
        ctx.cipher_suites = &suite_ids[i];
        ctx.n_cipher_suites = 1;
        struct tls13_conn *c = tls13_conn_new(&ctx, false);
        drive(fd, c, "hello\n", "olleh\n");
        assert_int_equal(tls13_conn_suite(c)->id, suite_ids[i]);
        tls13_conn_free(c);
        close(fd);
        close(to_child);
        close(from_child);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    free(cert);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_our_server),
        cmocka_unit_test(test_our_client),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
