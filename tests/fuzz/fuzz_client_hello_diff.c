/* Differential fuzz target: the node decides with REALITY's ClientHello parser (Go's rules)
 * and then hands the same message to our TLS 1.3 server (RFC 8446, strict). Whatever REALITY
 * accepts and would answer with TLS 1.3 must parse in tls13 too, with the same views: a
 * disagreement would make an authenticated client fail in a way the target never does. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reality/client_hello.h"
#include "tls13/tls13.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Names the disagreement in the crash report. */
#define DISAGREE(what)                                                                                                 \
    do {                                                                                                               \
        fprintf(stderr, "client hello parsers disagree: %s\n", what);                                                  \
        abort();                                                                                                       \
    } while (0)

static void same(struct bytes a, struct bytes b, const char *what)
{
    if (a.len != b.len || (a.len != 0 && memcmp(a.p, b.p, a.len) != 0))
        DISAGREE(what);
}

/* RFC 8446 §4.2.8: a client must not offer two shares of one group. Go's server then picks
 * the first share of its preferred group and aborts on a bad one, tls13 aborts on the
 * duplicate: both answer illegal_parameter, so such hellos are outside the comparison. */
static bool duplicate_share_groups(const struct reality_client_hello *r)
{
    uint16_t seen[TLS13_MAX_EXTENSIONS];
    size_t n = 0, pos = 0;
    struct reality_key_share ks;
    while (reality_ch_next_key_share(r, &pos, &ks) == 0) {
        for (size_t i = 0; i < n; i++)
            if (seen[i] == ks.group)
                return true;
        if (n < TLS13_MAX_EXTENSIONS)
            seen[n++] = ks.group;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reality_client_hello r;
    /* Only hellos REALITY could authenticate reach tls13: TLS 1.3 offered, an X25519 share and a
     * 32-byte session id (Go's parser takes longer ones; authentication needs exactly 32). */
    if (reality_ch_parse_msg(data, size, &r) != 0 || !r.offers_tls13 || r.x25519_share == NULL ||
        r.session_id.len != 32 || duplicate_share_groups(&r))
        return 0;
    static struct tls13_client_hello t; /* large: keep it off the fuzzer's stack */
    memset(&t, 0, sizeof t);
    int rc = tls13_parse_client_hello(data, size, &t);
    if (rc != 0) {
        fprintf(stderr, "tls13 refused with %d\n", rc);
        DISAGREE("acceptance");
    }
    if (t.legacy_version != r.legacy_version || memcmp(t.random, r.random, 32) != 0)
        DISAGREE("version or random");
    same(t.session_id, r.session_id, "session_id");
    same(t.cipher_suites, r.cipher_suites, "cipher_suites");
    same(t.compression, r.compression, "compression");
    if ((t.server_name.p != NULL) != r.has_sni)
        DISAGREE("sni presence");
    if (r.has_sni)
        same(t.server_name, r.sni, "server_name");
    same(t.supported_versions, r.supported_versions, "supported_versions");
    same(t.key_shares, r.key_share_list, "key_shares");
    if (r.has_supported_groups)
        same(t.supported_groups, r.supported_groups, "supported_groups");
    if (t.has_pre_shared_key != r.has_psk)
        DISAGREE("pre_shared_key");
    /* The share REALITY authenticates with is the one tls13 will agree on. */
    struct bytes share;
    if (!tls13_client_hello_key_share(&t, r.x25519_share_group, &share))
        DISAGREE("key share");
    return 0;
}
