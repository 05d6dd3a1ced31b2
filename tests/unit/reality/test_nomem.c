/* Allocation failures on REALITY's ClientHello path (issue 11 #10): the server's settings
 * built and frozen, our client's hello built and sent in two records (so the parser gathers it
 * in its scratch buffer), parsed and authenticated, and the temporary certificate made for the
 * connection and checked as the client checks it, with allocation 1, 2, ... failing in turn.
 * Every failed run must report ERR_NOMEM (ERR_CRYPTO where libcrypto reports it) and free what
 * it took (tests/support/nomem tracks every block allocated during the run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/enc.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "failalloc.h"
#include "reality/auth.h"
#include "reality/cert.h"
#include "reality/client.h"
#include "reality/client_hello.h"

static const char server_priv_hex[] = "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e6f";
static const char server_pub_hex[] = "d89e3bad79437dbed9f843418304f460ff05c7fe81fe4a9577a804cb9367ff66";
static const uint64_t now_ms = 1767225600500ULL;
static uint8_t server_priv[32], server_pub[32];

static int server_cfg(struct reality_server_cfg **out)
{
    struct reality_server_cfg *c = reality_server_cfg_new(server_priv);
    if (c == NULL)
        return ERR_NOMEM;
    int rc = reality_server_cfg_add_server_name(c, "www.example.com", 15);
    if (rc == 0)
        rc = reality_server_cfg_add_server_name(c, "cdn.example.com", 15);
    if (rc == 0)
        rc = reality_server_cfg_add_short_id(c, "aabb");
    if (rc == 0)
        rc = reality_server_cfg_add_short_id(c, "");
    if (rc == 0)
        rc = reality_server_cfg_set_max_time_diff(c, 1000);
    if (rc == 0)
        rc = reality_server_cfg_freeze(c);
    if (rc < 0) {
        reality_server_cfg_unref(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* The hello as two handshake records: 16 03 01 len | first part, 16 03 03 len | the rest. */
static int two_records(const struct buf *hello, struct buf *out)
{
    size_t half = buf_len(hello) / 2, parts[2] = {half, buf_len(hello) - half};
    const uint8_t *p = buf_data(hello);
    for (size_t i = 0; i < 2; i++) {
        uint8_t hdr[5] = {0x16, 0x03, i == 0 ? 0x01 : 0x03, (uint8_t)(parts[i] >> 8), (uint8_t)parts[i]};
        int rc = buf_append(out, hdr, sizeof hdr);
        if (rc == 0)
            rc = buf_append(out, p, parts[i]);
        if (rc < 0)
            return rc;
        p += parts[i];
    }
    return 0;
}

static int hello_auth_cert(void)
{
    struct reality_server_cfg *cfg = NULL;
    struct buf hello, wire, scratch, certmsg;
    buf_init(&hello);
    buf_init(&wire);
    buf_init(&scratch);
    buf_init(&certmsg);
    struct reality_client_keys keys;
    struct reality_auth_result res;
    struct reality_cert cert;
    memset(&keys, 0, sizeof keys);
    memset(&res, 0, sizeof res);
    memset(&cert, 0, sizeof cert);
    int rc = server_cfg(&cfg);
    if (rc < 0)
        goto out;
    struct reality_client_params p;
    memset(&p, 0, sizeof p);
    memcpy(p.server_public_key, server_pub, 32);
    memcpy(p.short_id, "\xaa\xbb\0\0\0\0\0\0", 8);
    p.server_name = "www.example.com";
    p.version[0] = 26;
    p.version[1] = 7;
    p.version[2] = 28;
    p.now_ms = now_ms;
    if ((rc = reality_client_build(&p, &hello, &keys)) < 0 || (rc = two_records(&hello, &wire)) < 0)
        goto out;
    struct reality_client_hello ch;
    if ((rc = reality_ch_peek(buf_data(&wire), buf_len(&wire), &scratch, &ch)) < 0)
        goto out;
    if ((rc = reality_auth(cfg, &ch, now_ms + 400, &res)) < 0)
        goto out;
    if (res.outcome != REALITY_OUTCOME_AUTHENTICATED) {
        rc = ERR_INTERNAL;
        goto out;
    }
    /* The temporary certificate for this connection, as the client verifies it. */
    static const uint8_t seed[32] = {0x71};
    uint8_t der[REALITY_CERT_DER_LEN];
    enum reality_cert_verdict verdict;
    if ((rc = reality_cert_init(&cert, seed)) < 0 || (rc = reality_cert_for_conn(&cert, res.auth_key, der)) < 0 ||
        (rc = reality_cert_write_msg(&certmsg, der, sizeof der)) < 0 ||
        (rc = reality_cert_verify_msg(buf_data(&certmsg), buf_len(&certmsg), keys.auth_key, &verdict)) < 0)
        goto out;
    rc = verdict == REALITY_CERT_REALITY ? 0 : ERR_INTERNAL;
out:
    reality_cert_dispose(&cert);
    reality_auth_result_wipe(&res);
    reality_client_keys_wipe(&keys);
    reality_server_cfg_unref(cfg);
    buf_dispose(&hello);
    buf_dispose(&wire);
    buf_dispose(&scratch);
    buf_dispose(&certmsg);
    crypto_clear_errors(); /* libcrypto's per-thread error ring is not ours to free */
    return rc;
}

/* libcrypto does not always say that an allocation failed: ERR_CRYPTO is its report. */
static int nomem_or_crypto(int rc)
{
    return rc == ERR_NOMEM || rc == ERR_CRYPTO;
}

static void test_reality_hello_nomem(void **state)
{
    (void)state;
    size_t n;
    assert_int_equal(hex_decode(server_priv, 32, &n, server_priv_hex, 64), 0);
    assert_int_equal(hex_decode(server_pub, 32, &n, server_pub_hex, 64), 0);
    assert_int_equal(hello_auth_cert(), 0); /* warms libcrypto's per-thread caches */
    FAILALLOC_SWEEP("reality hello + auth + cert", nomem_or_crypto, hello_auth_cert());
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_reality_hello_nomem)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
