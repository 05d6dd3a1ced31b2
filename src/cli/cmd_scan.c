/* `veil scan HOST[:PORT] [--sni NAME] [--no-pq]`: is this site a good REALITY target
 * (ARCHITECTURE.md §2)? Sends the same Chrome-shaped ClientHello as `veil client` (hybrid
 * share offered, random REALITY key: not a session anyone can authenticate), learns the
 * target's flight exactly as the node would (reality/target.h), completes the TLS 1.3
 * handshake without certificate checks to see ALPN and the chain, and judges the target by
 * spec/reality.md §5 "Consequences an operator must know". Exit 0 suitable, 1 not suitable
 * or unreachable, 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/blocking.h"
#include "cli/cli.h"
#include "cli/scan.h"
#include "core/buf.h"
#include "core/container.h"
#include "core/err.h"
#include "core/wire.h"
#include "crypto/crypto.h"
#include "net/sock.h"
#include "reality/client.h"
#include "reality/session.h"
#include "reality/target.h"
#include "tls13/tls13.h"

struct scan_certs {
    struct tls13_verify_certificate base;
    size_t n, total, leaf;
};

struct scan {
    struct reality_target target;
    struct scan_certs certs;
    struct tls13_conn *tls;
    int tls_rc; /* ERR_NEED_MORE while running, 0 done, or the failure */
    bool eof, timed_out;
};

static int certs_cb(struct tls13_verify_certificate *self, struct tls13_conn *conn, const struct bytes *chain, size_t n)
{
    (void)conn;
    struct scan_certs *c = container_of(self, struct scan_certs, base);
    c->n = n;
    c->leaf = n > 0 ? chain[0].len : 0;
    for (size_t i = 0; i < n; i++)
        c->total += chain[i].len;
    return 0; /* a scan, not a trust decision */
}

/* Sends the hello, then reads until both views (the node's plan and our TLS client) are
 * settled, the target closes, or it goes quiet. */
static int scan_exchange(struct scan *s, int fd, const char *sni, bool pq, int timeout_ms)
{
    static struct x25519mlkem768_client hybrid; /* large; one scan per process */
    struct reality_client_params p = {.server_name = sni, .now_ms = (uint64_t)time(NULL) * 1000};
    struct reality_client_keys keys;
    struct buf hello, out, in;
    buf_init(&hello);
    buf_init(&out);
    buf_init(&in);
    int rc = crypto_random(p.server_public_key, sizeof(p.server_public_key)); /* nobody's key */
    if (pq) {
        p.hybrid_keygen = reality_hybrid_keygen;
        p.hybrid_arg = &hybrid;
    }
    rc = rc ? rc : reality_client_build(&p, &hello, &keys);
    if (rc == 0)
        rc = reality_client_prepare(s->tls, buf_data(&hello), buf_len(&hello), &keys,
                                    keys.offered_hybrid ? &hybrid : NULL);
    reality_client_keys_wipe(&keys);
    x25519mlkem768_client_wipe(&hybrid);
    size_t used = 0;
    if (rc == 0)
        rc = tls13_handshake(s->tls, NULL, 0, &used, &out);
    s->tls_rc = ERR_NEED_MORE;
    if (rc == ERR_NEED_MORE)
        rc = cli_write_all(fd, &out, timeout_ms);
    while (rc == 0) {
        bool settled = s->tls_rc != ERR_NEED_MORE;
        /* The node's view may wait for more than the TLS client needs (a layout it cannot
         * follow): give the target a second to send it, then judge. */
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int pr = poll(&pf, 1, settled ? 1000 : timeout_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            s->timed_out = !settled;
            break;
        }
        if ((rc = buf_reserve(&in, 16384)) < 0)
            break;
        ssize_t k = recv(fd, buf_tail(&in), buf_space(&in), 0);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (k <= 0) {
            s->eof = true;
            break;
        }
        if (s->target.state == REALITY_TARGET_ST_EXPECT_RECORDS) {
            size_t took = 0;
            if ((rc = reality_target_feed(&s->target, buf_tail(&in), (size_t)k, &took)) < 0)
                break;
        }
        buf_produce(&in, (size_t)k);
        if (s->tls_rc == ERR_NEED_MORE) {
            s->tls_rc = tls13_handshake(s->tls, buf_data(&in), buf_len(&in), &used, &out);
            buf_consume(&in, used);
            if (s->tls_rc == 0)
                (void)tls13_close(s->tls, &out); /* Finished, then close_notify: a polite client */
            (void)cli_write_all(fd, &out, timeout_ms);
        } else {
            buf_consume(&in, buf_len(&in));
        }
        if (s->tls_rc != ERR_NEED_MORE && s->target.state != REALITY_TARGET_ST_EXPECT_RECORDS)
            break;
    }
    buf_dispose(&hello);
    buf_dispose(&out);
    buf_dispose(&in);
    return rc;
}

static const char *group_name(uint16_t g)
{
    return g == TLS13_GROUP_X25519MLKEM768 ? "X25519MLKEM768" : g == TLS13_GROUP_X25519 ? "X25519" : "other";
}

/* Prints the findings and returns the verdict. */
static enum scan_verdict scan_report(const struct scan *s, const char **detail)
{
    const struct reality_target *t = &s->target;
    const struct reality_target_plan *plan = &t->plan;
    struct bytes raw = reality_target_received(t);
    enum scan_verdict v = scan_judge(t, s->tls_rc, detail);

    printf("records     ");
    size_t off = 0;
    for (int k = 0; off + 5 <= raw.len && k < 12; k++) {
        size_t len = 5 + (size_t)wire_be16(raw.p + off + 3);
        printf("%s%u:%zu", k ? " " : "", raw.p[off], len);
        off += len;
    }
    printf("%s\n", raw.len == 0 ? "(none)" : off < raw.len ? " ..." : "");

    bool sh_ok = plan->lens[REALITY_SLOT_SERVER_HELLO] != 0;
    if (v == SCAN_NO_ANSWER)
        printf("TLS 1.3     unknown (%s)\n", s->timed_out ? "no answer" : "closed without answering");
    else if (v == SCAN_HRR)
        printf("TLS 1.3     yes, but HelloRetryRequest\n");
    else if (v == SCAN_ALERT)
        printf("TLS 1.3     unknown (the target answered with an alert)\n");
    else if (v == SCAN_NOT_TLS13)
        printf("TLS 1.3     no (the ServerHello chose TLS 1.2 or older)\n");
    else if (!sh_ok)
        printf("TLS 1.3     unknown (no usable ServerHello)\n");
    else {
        const struct tls13_suite *suite = tls13_suite_by_id(plan->cipher_suite);
        printf("TLS 1.3     yes\n");
        printf("suite       %s (0x%04x)\n", suite ? suite->name : "?", plan->cipher_suite);
        printf("group       %s (0x%04x)\n", group_name(plan->group), plan->group);
        printf("CCS         %s\n", plan->lens[REALITY_SLOT_CCS] ? "yes" : "no");
        printf("flight      ServerHello %zu", plan->lens[REALITY_SLOT_SERVER_HELLO]);
        if (plan->combined)
            printf(", combined: one encrypted record of %zu (> %d)", plan->lens[REALITY_SLOT_ENCRYPTED_EXTENSIONS],
                   REALITY_TARGET_COMBINED_MIN);
        else if (plan->lens[REALITY_SLOT_ENCRYPTED_EXTENSIONS] != 0) {
            printf(", %s:", t->state == REALITY_TARGET_ST_READY ? "separate" : "not followable");
            for (int i = REALITY_SLOT_ENCRYPTED_EXTENSIONS; i < REALITY_SLOT__COUNT; i++)
                if (plan->lens[i] != 0)
                    printf(" %s %zu", scan_slot_name((enum reality_slot)i), plan->lens[i]);
        }
        printf("\n");
        struct bytes alpn = s->tls_rc == 0 ? tls13_conn_alpn(s->tls) : (struct bytes){0};
        if (s->tls_rc == 0 && alpn.len == 0)
            printf("ALPN        none selected (no h2)\n");
        else if (s->tls_rc == 0)
            printf("ALPN        %.*s%s\n", (int)alpn.len, (const char *)alpn.p,
                   alpn.len == 2 && memcmp(alpn.p, "h2", 2) == 0 ? " (h2 supported)" : " (no h2)");
        if (s->certs.n > 0)
            printf("certificate %zu certificate%s, %zu bytes (leaf %zu)\n", s->certs.n, s->certs.n == 1 ? "" : "s",
                   s->certs.total, s->certs.leaf);
        if (s->tls_rc != 0)
            printf("handshake   our TLS client stopped: %s\n", tls13_err_str(s->tls_rc));
    }
    return v;
}

static void usage(FILE *out)
{
    fputs("usage: veil scan HOST[:PORT] [--sni NAME] [--no-pq] [--timeout SECONDS]\n"
          "  Checks whether HOST is a good REALITY target (\"dest\"): TLS 1.3, suite and group, the\n"
          "  middlebox ChangeCipherSpec, the encrypted flight's record layout, ALPN h2, the\n"
          "  certificate size, then a verdict. PORT defaults to 443, NAME to HOST.\n"
          "  --no-pq offers X25519 only (default: X25519MLKEM768 and X25519, like Chrome).\n",
          out);
}

int cli_scan_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sni", required_argument, NULL, 's'},
        {"no-pq", no_argument, NULL, 'P'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *sni = NULL;
    bool pq = true;
    int timeout_ms = 10000, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "s:t:h", opts, NULL)) != -1) {
        if (ch == 's')
            sni = optarg;
        else if (ch == 'P')
            pq = false;
        else if (ch == 't' && atoi(optarg) > 0)
            timeout_ms = atoi(optarg) * 1000;
        else {
            usage(ch == 'h' ? stdout : stderr);
            return ch == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    char host[SOCK_HOST_MAX + 1];
    uint16_t port = 443;
    const char *at = argv[optind];
    if (sock_hostport_split(at, host, sizeof(host), &port) < 0) {
        if (strchr(at, ':') != NULL || strlen(at) >= sizeof(host)) {
            fprintf(stderr, "veil scan: expected HOST[:PORT], got \"%s\"\n", at);
            return CLI_EXIT_USAGE;
        }
        memcpy(host, at, strlen(at) + 1);
    }
    if (sni == NULL) {
        struct sock_addr ip;
        sni = sock_addr_from_ip(&ip, host, port) == 0 ? "" : host; /* no SNI for an IP literal */
    }
    int fd = cli_dial(host, port, NULL, timeout_ms);
    if (fd < 0) {
        fprintf(stderr, "veil scan: cannot connect to %s port %u: %s\n", host, (unsigned)port, err_str(fd));
        return CLI_EXIT_FAIL;
    }
    printf("target      %s port %u, SNI %s, offering %s\n", host, (unsigned)port, sni[0] ? sni : "(none)",
           pq ? "X25519MLKEM768 + X25519" : "X25519");
    static struct scan s; /* holds the hybrid key material; one per process */
    reality_target_init(&s.target);
    s.certs.base.cb = certs_cb;
    struct tls13_ctx ctx = {
        .server_name = sni[0] ? sni : NULL,
        .verify_certificate = &s.certs.base,
        .insecure_skip_verify = true, /* RSA/ECDSA sites: chain and signature are not our question */
    };
    s.tls = tls13_conn_new(&ctx, false);
    int rc = s.tls ? scan_exchange(&s, fd, sni, pq, timeout_ms) : ERR_NOMEM;
    close(fd);
    const char *detail = NULL;
    enum scan_verdict v = SCAN_NO_ANSWER;
    if (rc < 0)
        printf("verdict     scan failed: %s\n", err_str(rc));
    else if ((v = scan_report(&s, &detail)) == SCAN_SUITABLE)
        printf("verdict     suitable\n");
    else
        printf("verdict     not suitable: %s%s%s\n", scan_verdict_text(v), detail ? ": " : "", detail ? detail : "");
    tls13_conn_free(s.tls);
    reality_target_dispose(&s.target);
    return rc == 0 && v == SCAN_SUITABLE ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
