/* `veil scan`: is this site a good REALITY target (ARCHITECTURE.md §2), and which of these
 * candidates is best? Each check (reality/check.h) sends the same Chrome-shaped ClientHello as
 * `veil client` (random REALITY key: not a session anyone can authenticate), learns the target's
 * flight exactly as the node would, completes the TLS 1.3 handshake without trust decisions to
 * see ALPN and the certificate (names, expiry), and judges the target by spec/reality.md §5.
 * One HOST: a text report. --json or several targets (hosts, IPv4 CIDRs, a file): a ranked JSON
 * list. Exit 0 suitable (the best candidate is), 1 not suitable or unreachable, 2 usage. */
#include <arpa/inet.h>
#include <ctype.h>
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

#include <jansson.h>

#include "cli/blocking.h"
#include "cli/cli.h"
#include "reality/verdict.h"
#include "core/buf.h"
#include "core/container.h"
#include "core/err.h"
#include "core/wire.h"
#include "crypto/crypto.h"
#include "net/sock.h"
#include "reality/check.h"
#include "reality/target.h"
#include "tls13/tls13.h"

/* Sends the hello, then reads until both views (the node's plan and our TLS client) are
 * settled, the target closes, or it goes quiet. *timed_out: nothing settled before the deadline. */
static int scan_exchange(struct reality_check *k, int fd, const char *sni, bool pq, int timeout_ms, bool *timed_out)
{
    struct buf out;
    uint8_t tmp[16384];
    buf_init(&out);
    *timed_out = false;
    int rc = reality_check_begin(k, sni, pq, (uint64_t)time(NULL) * 1000, &out);
    if (rc == 0)
        rc = cli_write_all(fd, &out, timeout_ms);
    while (rc == 0 && !reality_check_settled(k)) {
        bool tls_done = reality_check_tls_done(k);
        /* The node's view may wait for more than the TLS client needs (a layout it cannot
         * follow): give the target a second to send it, then judge. */
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int pr = poll(&pf, 1, tls_done ? 1000 : timeout_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            *timed_out = !tls_done;
            break;
        }
        ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break;
        buf_reset(&out);
        if ((rc = reality_check_feed(k, tmp, (size_t)n, &out)) == 0 && buf_len(&out))
            (void)cli_write_all(fd, &out, timeout_ms);
    }
    buf_dispose(&out);
    return rc;
}

static const char *group_name(uint16_t g)
{
    return g == TLS13_GROUP_X25519MLKEM768 ? "X25519MLKEM768" : g == TLS13_GROUP_X25519 ? "X25519" : "other";
}

/* Prints the findings of one check (the single-target text form). */
static void scan_report(const struct reality_check *k, const struct reality_check_result *r, bool timed_out)
{
    const struct reality_target *t = &k->target;
    const struct reality_target_plan *plan = &t->plan;
    struct bytes raw = reality_target_received(t);
    enum reality_verdict v = r->verdict;

    printf("records     ");
    size_t off = 0;
    for (int i = 0; off + 5 <= raw.len && i < 12; i++) {
        size_t len = 5 + (size_t)wire_be16(raw.p + off + 3);
        printf("%s%u:%zu", i ? " " : "", raw.p[off], len);
        off += len;
    }
    printf("%s\n", raw.len == 0 ? "(none)" : off < raw.len ? " ..." : "");

    bool sh_ok = plan->lens[REALITY_SLOT_SERVER_HELLO] != 0;
    if (v == REALITY_V_NO_ANSWER)
        printf("TLS 1.3     unknown (%s)\n", timed_out ? "no answer" : "closed without answering");
    else if (v == REALITY_V_HRR)
        printf("TLS 1.3     yes, but HelloRetryRequest\n");
    else if (v == REALITY_V_ALERT)
        printf("TLS 1.3     unknown (the target answered with an alert)\n");
    else if (v == REALITY_V_NOT_TLS13)
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
                    printf(" %s %zu", reality_slot_name((enum reality_slot)i), plan->lens[i]);
        }
        printf("\n");
        struct bytes alpn = k->tls_rc == 0 ? tls13_conn_alpn(k->tls) : (struct bytes){0};
        if (k->tls_rc == 0 && alpn.len == 0)
            printf("ALPN        none selected (no h2)\n");
        else if (k->tls_rc == 0)
            printf("ALPN        %.*s%s\n", (int)alpn.len, (const char *)alpn.p,
                   alpn.len == 2 && memcmp(alpn.p, "h2", 2) == 0 ? " (h2 supported)" : " (no h2)");
        if (r->http_status != 0 && r->location[0])
            printf("http        %d -> %s\n", r->http_status, r->location);
        else if (r->http_status != 0)
            printf("http        %d\n", r->http_status);
        else if (k->tls_rc == 0)
            printf("http        no answer to GET /\n");
        if (k->n_certs > 0)
            printf("certificate %zu certificate%s, %zu bytes (leaf %zu)\n", k->n_certs, k->n_certs == 1 ? "" : "s",
                   k->certs_total, buf_len(&k->leaf));
        if (r->cert_seen)
            printf("names       CN %s, %s the SNI; valid until %lld (Unix)\n", r->cert_cn[0] ? r->cert_cn : "(none)",
                   r->cert_names_sni ? "names" : "does not name", (long long)r->cert_not_after);
        if (k->tls_rc != 0)
            printf("handshake   our TLS client stopped: %s\n", tls13_err_str(k->tls_rc));
    }
}

/* One candidate of a multi-target scan. */
struct scan_row {
    char host[SOCK_HOST_MAX + 1];
    uint16_t port;
    char sni[256];
    struct reality_check_result res;
    int64_t rtt_ms; /* TCP connect time: the RTT from where the scan runs */
    int64_t score;
};

/* Ranking: only suitable candidates score above 0; nearer is better, h2 and a hybrid-capable
 * group are what a browser-like site shows, a certificate with weeks left avoids a rotation soon. */
static int64_t scan_score(const struct scan_row *r, int64_t now)
{
    if (r->res.verdict != REALITY_V_SUITABLE)
        return 0;
    int64_t s = 10000 - (r->rtt_ms < 5000 ? r->rtt_ms : 5000);
    if (r->res.h2)
        s += 500;
    if (r->res.group == TLS13_GROUP_X25519MLKEM768)
        s += 200;
    if (r->res.cert_not_after - now > 30 * 86400)
        s += 300;
    return s;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects and checks one candidate. print: the single-target text report. */
static int scan_one(struct scan_row *row, bool pq, int timeout_ms, bool print)
{
    int64_t t0 = mono_ms();
    int fd = cli_dial(row->host, row->port, NULL, timeout_ms);
    row->rtt_ms = mono_ms() - t0;
    memset(&row->res, 0, sizeof(row->res));
    if (fd < 0) {
        row->res.verdict = REALITY_V_UNREACHABLE;
        if (print)
            fprintf(stderr, "veil scan: cannot connect to %s port %u: %s\n", row->host, (unsigned)row->port,
                    err_str(fd));
        return fd;
    }
    if (print)
        printf("target      %s port %u, SNI %s, offering %s\n", row->host, (unsigned)row->port,
               row->sni[0] ? row->sni : "(none)", pq ? "X25519MLKEM768 + X25519" : "X25519");
    struct reality_check k;
    bool timed_out = false;
    int rc = scan_exchange(&k, fd, row->sni, pq, timeout_ms, &timed_out);
    close(fd);
    reality_check_judge(&k, time(NULL), &row->res);
    if (rc < 0 && print)
        printf("verdict     scan failed: %s\n", err_str(rc));
    else if (print) {
        scan_report(&k, &row->res, timed_out);
        if (row->res.verdict == REALITY_V_SUITABLE)
            printf("verdict     suitable\n");
        else
            printf("verdict     not suitable: %s%s%s\n", reality_verdict_text(row->res.verdict),
                   row->res.detail ? ": " : "", row->res.detail ? row->res.detail : "");
    }
    reality_check_dispose(&k);
    return rc;
}

static void usage(FILE *out)
{
    fputs("usage: veil scan HOST[:PORT] [--sni NAME] [--no-pq] [--timeout SECONDS]\n"
          "       veil scan --json [--port PORT] [--sni NAME] [--file FILE] [TARGET...]\n"
          "  Checks whether HOST is a good REALITY target (\"dest\"): TLS 1.3, suite and group, the\n"
          "  middlebox ChangeCipherSpec, the encrypted flight's record layout, ALPN h2, the\n"
          "  certificate (size, names, expiry), then a verdict. PORT defaults to 443, NAME to HOST.\n"
          "  With --json (or several targets) every candidate is checked and the list is printed as\n"
          "  JSON, best first. TARGET is HOST[:PORT], IP[:PORT] or an IPv4 CIDR (/20 or smaller);\n"
          "  --file reads one TARGET a line ('#' comments). An IP without --sni is checked with the\n"
          "  name its certificate gives. Only addresses you give are scanned.\n"
          "  --no-pq offers X25519 only (default: X25519MLKEM768 and X25519, like Chrome).\n",
          out);
}

#define SCAN_MAX_CANDIDATES 4096

/* Appends the candidates one TARGET names: a host, or every address of an IPv4 CIDR. */
static int add_target(struct scan_row **rows, size_t *n, const char *arg, uint16_t def_port, const char *sni)
{
    char host[SOCK_HOST_MAX + 1];
    uint16_t port = def_port;
    const char *slash = strchr(arg, '/');
    uint32_t base = 0, count = 1;
    if (slash != NULL) {
        char ip[16];
        size_t il = (size_t)(slash - arg);
        char *end;
        long bits = strtol(slash + 1, &end, 10);
        if (il >= sizeof(ip) || *end != '\0' || bits < 20 || bits > 32)
            return ERR_RANGE;
        memcpy(ip, arg, il);
        ip[il] = '\0';
        struct in_addr a;
        if (inet_pton(AF_INET, ip, &a) != 1)
            return ERR_MALFORMED;
        count = 1u << (32 - bits);
        base = ntohl(a.s_addr) & ~(count - 1);
    } else if (sock_hostport_split(arg, host, sizeof(host), &port) < 0) {
        if (strchr(arg, ':') != NULL || strlen(arg) >= sizeof(host) || arg[0] == '\0')
            return ERR_MALFORMED;
        memcpy(host, arg, strlen(arg) + 1);
    }
    if (*n + count > SCAN_MAX_CANDIDATES)
        return ERR_LIMIT;
    struct scan_row *v = realloc(*rows, (*n + count) * sizeof(*v));
    if (v == NULL)
        return ERR_NOMEM;
    *rows = v;
    for (uint32_t i = 0; i < count; i++) {
        struct scan_row *r = &v[(*n)++];
        memset(r, 0, sizeof(*r));
        r->port = port;
        if (slash != NULL) {
            struct in_addr a = {.s_addr = htonl(base + i)};
            inet_ntop(AF_INET, &a, r->host, sizeof(r->host));
        } else {
            memcpy(r->host, host, strlen(host) + 1);
        }
        struct sock_addr ip;
        const char *name = sni ? sni : sock_addr_from_ip(&ip, r->host, port) == 0 ? "" : r->host;
        snprintf(r->sni, sizeof(r->sni), "%s", name);
    }
    return 0;
}

static int read_targets(struct scan_row **rows, size_t *n, const char *path, uint16_t port, const char *sni)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL)
        return -errno;
    char line[512];
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        char *p = line + strspn(line, " \t");
        p[strcspn(p, " \t\r\n#")] = '\0';
        if (*p)
            rc = add_target(rows, n, p, port, sni);
    }
    if (f != stdin)
        fclose(f);
    return rc;
}

/* A name from the certificate a candidate IP showed, to check it again with that SNI. */
static bool cert_name(const struct scan_row *r, char *out, size_t cap)
{
    const char *cn = r->res.cert_cn;
    size_t len = strlen(cn);
    if (!r->res.cert_seen || len == 0 || len >= cap || strchr(cn, '*') != NULL || strchr(cn, '.') == NULL)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)cn[i]) && cn[i] != '.' && cn[i] != '-')
            return false;
    memcpy(out, cn, len + 1);
    return true;
}

static int row_cmp(const void *a, const void *b)
{
    const struct scan_row *x = a, *y = b;
    return (y->score > x->score) - (y->score < x->score);
}

static json_t *row_json(const struct scan_row *r)
{
    const struct reality_check_result *c = &r->res;
    json_t *o = json_pack("{s:s,s:i,s:s,s:b,s:s,s:s,s:I,s:I,s:b}", "host", r->host, "port", (int)r->port, "sni", r->sni,
                          "suitable", c->verdict == REALITY_V_SUITABLE, "verdict", reality_verdict_code(c->verdict),
                          "why", reality_verdict_text(c->verdict), "rtt_ms", (json_int_t)r->rtt_ms, "score",
                          (json_int_t)r->score, "tls13", c->tls13);
    if (o == NULL)
        return NULL;
    if (c->detail)
        json_object_set_new(o, "detail", json_string(c->detail));
    if (c->tls13) {
        json_object_set_new(o, "group", json_string(group_name(c->group)));
        json_object_set_new(o, "h2", json_boolean(c->h2));
    }
    if (c->cert_seen) {
        json_object_set_new(o, "cert_not_after", json_integer(c->cert_not_after));
        json_object_set_new(o, "cert_names_sni", json_boolean(c->cert_names_sni));
        json_object_set_new(o, "cert_cn", json_string(c->cert_cn));
    }
    if (c->http_status != 0) {
        json_object_set_new(o, "http_status", json_integer(c->http_status));
        if (c->location[0])
            json_object_set_new(o, "location", json_string(c->location));
    }
    return o;
}

static int scan_many(struct scan_row *rows, size_t n, bool pq, int timeout_ms)
{
    int64_t now = time(NULL);
    for (size_t i = 0; i < n; i++) {
        struct scan_row *r = &rows[i];
        (void)scan_one(r, pq, timeout_ms, false);
        char name[256];
        if (r->sni[0] == '\0' && cert_name(r, name, sizeof(name))) {
            struct scan_row again = *r;
            memcpy(again.sni, name, strlen(name) + 1);
            (void)scan_one(&again, pq, timeout_ms, false);
            if (again.res.verdict == REALITY_V_SUITABLE)
                *r = again;
        }
        r->score = scan_score(r, now);
    }
    qsort(rows, n, sizeof(*rows), row_cmp);
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, row_json(&rows[i])) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    char *text = arr ? json_dumps(arr, JSON_INDENT(1)) : NULL;
    json_decref(arr);
    if (text == NULL) {
        fputs("veil scan: out of memory\n", stderr);
        return CLI_EXIT_FAIL;
    }
    puts(text);
    free(text);
    return n > 0 && rows[0].score > 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int cli_scan_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sni", required_argument, NULL, 's'},     {"no-pq", no_argument, NULL, 'P'},
        {"timeout", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'},
        {"port", required_argument, NULL, 'p'},    {"file", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *sni = NULL, *file = NULL;
    bool pq = true, json = false;
    int timeout_ms = 10000, ch;
    long port = 443;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "s:t:h", opts, NULL)) != -1) {
        if (ch == 's')
            sni = optarg;
        else if (ch == 'P')
            pq = false;
        else if (ch == 't' && atoi(optarg) > 0)
            timeout_ms = atoi(optarg) * 1000;
        else if (ch == 'j')
            json = true;
        else if (ch == 'p' && (port = strtol(optarg, NULL, 10)) > 0 && port < 65536)
            continue;
        else if (ch == 'f')
            file = optarg;
        else {
            usage(ch == 'h' ? stdout : stderr);
            return ch == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        }
    }
    int n_args = argc - optind;
    if (!json && file == NULL && n_args == 1) {
        struct scan_row row = {.port = 443};
        struct scan_row *one = NULL;
        size_t n = 0;
        int rc = add_target(&one, &n, argv[optind], 443, sni);
        if (rc < 0 || n != 1) {
            free(one);
            fprintf(stderr, "veil scan: expected HOST[:PORT], got \"%s\"\n", argv[optind]);
            return CLI_EXIT_USAGE;
        }
        row = one[0];
        free(one);
        rc = scan_one(&row, pq, timeout_ms, true);
        return rc == 0 && row.res.verdict == REALITY_V_SUITABLE ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    }
    if (n_args < 1 && file == NULL) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    struct scan_row *rows = NULL;
    size_t n = 0;
    int rc = file ? read_targets(&rows, &n, file, (uint16_t)port, sni) : 0;
    for (int i = optind; rc == 0 && i < argc; i++)
        if ((rc = add_target(&rows, &n, argv[i], (uint16_t)port, sni)) < 0)
            fprintf(stderr, "veil scan: bad target \"%s\": %s\n", argv[i], err_str(rc));
    if (rc < 0) {
        if (file)
            fprintf(stderr, "veil scan: cannot use the targets: %s\n", err_str(rc));
        free(rows);
        return CLI_EXIT_USAGE;
    }
    int code = scan_many(rows, n, pq, timeout_ms);
    free(rows);
    return code;
}
