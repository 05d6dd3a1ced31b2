/* A tiny UDP DNS responder on 127.0.0.1 for resolver tests (no Internet): answers A/AAAA
 * queries from a fixed rule table, in its own thread. Test-only. */
#ifndef VEIL_TEST_DNS_STUB_H
#define VEIL_TEST_DNS_STUB_H

#include <stddef.h>
#include <stdint.h>

enum dns_stub_action {
    DNS_STUB_ANSWER = 0, /* one A (len 4) or AAAA (len 16) record */
    DNS_STUB_DROP,       /* never answer (the client times out) */
    DNS_STUB_SERVFAIL,
    DNS_STUB__COUNT, /* sentinel */
};

struct dns_stub_rule {
    const char *name; /* matched case-insensitively, without the trailing dot */
    enum dns_stub_action action;
    uint8_t addr[16];
    size_t addr_len; /* 4 -> A, 16 -> AAAA */
};

struct dns_stub;

/* Starts the responder on an ephemeral UDP port of 127.0.0.1 (written to *port). Names that
 * match no rule get NXDOMAIN; names with rules but none of the asked type get an empty answer.
 * The rules array must outlive the stub. NULL on failure. */
struct dns_stub *dns_stub_start(const struct dns_stub_rule *rules, size_t n, uint16_t *port);
void dns_stub_stop(struct dns_stub *s);
/* Queries received so far. */
size_t dns_stub_queries(struct dns_stub *s);

#endif
