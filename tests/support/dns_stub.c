#include "dns_stub.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct dns_stub {
    int fd;
    pthread_t thread;
    atomic_bool stop;
    atomic_size_t queries;
    const struct dns_stub_rule *rules;
    size_t n;
};

/* Reads the question name as "a.b.c" into out; returns the offset after QTYPE/QCLASS or 0. */
static size_t parse_question(const uint8_t *p, size_t len, char *out, size_t cap, uint16_t *qtype)
{
    size_t off = 12, o = 0;
    for (;;) {
        if (off >= len)
            return 0;
        uint8_t l = p[off++];
        if (l == 0)
            break;
        if (l > 63 || off + l > len || o + l + 2 > cap)
            return 0;
        if (o)
            out[o++] = '.';
        memcpy(out + o, p + off, l);
        o += l;
        off += l;
    }
    out[o] = '\0';
    if (off + 4 > len)
        return 0;
    *qtype = (uint16_t)(p[off] << 8 | p[off + 1]);
    return off + 4;
}

static void handle(struct dns_stub *s, const uint8_t *q, size_t len, const struct sockaddr_in *from)
{
    char name[256];
    uint16_t qtype;
    if (len < 12)
        return;
    size_t qend = parse_question(q, len, name, sizeof(name), &qtype);
    if (qend == 0)
        return;
    atomic_fetch_add(&s->queries, 1);
    uint8_t r[512];
    memcpy(r, q, qend);
    r[2] = 0x81; /* QR, RD */
    r[3] = 0x80; /* RA, rcode 0 */
    r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
    size_t off = qend, an = 0;
    bool known = false;
    for (size_t i = 0; i < s->n; i++) {
        const struct dns_stub_rule *rule = &s->rules[i];
        if (strcasecmp(rule->name, name) != 0)
            continue;
        known = true;
        if (rule->action == DNS_STUB_DROP)
            return;
        if (rule->action == DNS_STUB_SERVFAIL) {
            r[3] = 0x82;
            an = 0;
            off = qend;
            break;
        }
        uint16_t type = rule->addr_len == 4 ? 1 : 28;
        if (type != qtype || off + 12 + rule->addr_len > sizeof(r))
            continue;
        uint8_t rr[12] = {0xc0, 0x0c, 0, (uint8_t)type, 0, 1, 0, 0, 0, 60, 0, (uint8_t)rule->addr_len};
        memcpy(r + off, rr, sizeof(rr));
        memcpy(r + off + 12, rule->addr, rule->addr_len);
        off += 12 + rule->addr_len;
        an++;
    }
    if (!known)
        r[3] = 0x83; /* NXDOMAIN */
    r[7] = (uint8_t)an;
    sendto(s->fd, r, off, 0, (const struct sockaddr *)from, sizeof(*from));
}

static void *run(void *arg)
{
    struct dns_stub *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {s->fd, POLLIN, 0};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        uint8_t buf[1500];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(s->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
        if (n > 0)
            handle(s, buf, (size_t)n, &from);
    }
    return NULL;
}

struct dns_stub *dns_stub_start(const struct dns_stub_rule *rules, size_t n, uint16_t *port)
{
    struct dns_stub *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->rules = rules;
    s->n = n;
    s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (s->fd == -1 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
        getsockname(s->fd, (struct sockaddr *)&a, &al) == -1 || pthread_create(&s->thread, NULL, run, s) != 0) {
        if (s->fd != -1)
            close(s->fd);
        free(s);
        return NULL;
    }
    *port = ntohs(a.sin_port);
    return s;
}

void dns_stub_stop(struct dns_stub *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    close(s->fd);
    free(s);
}

size_t dns_stub_queries(struct dns_stub *s)
{
    return atomic_load(&s->queries);
}
