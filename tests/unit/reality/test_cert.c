/* reality/cert: the temporary certificate of spec §8 (exact DER of §13), the per-connection
 * HMAC and the client-side check of §9. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "reality/cert.h"
#include "test_util.h"

static const char *auth_key_hex = "6d1789eeccfffa456b641d2da0cb5a3479d44187fdb9a4d69c471811be745f43";
static const char *spec_der_hex = "3081af3063a003020102020100300506032b657030003022180f3030303130313031303030303030"
                                  "5a180f30303031303130313030303030305a3000302a300506032b657003210003a107bff3ce10be"
                                  "1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8300506032b6570034100fcdc2c2eb92c"
                                  "69d7fa2a481bbde9633b63fb584229b58ad07aa51767ab75b2927ca6f50c5e181daac8c7bd535ed3"
                                  "8c0b25c242da65aba93ea9e2b2071af4ddad";

static void test_spec_vector(void **state)
{
    (void)state;
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)i;
    struct reality_cert c;
    assert_int_equal(reality_cert_init(&c, seed), 0);
    size_t n, kn;
    uint8_t *expect = tu_hex(spec_der_hex, &n);
    uint8_t *ak = tu_hex(auth_key_hex, &kn);
    assert_int_equal(n, REALITY_CERT_DER_LEN);
    /* The template differs from the vector only in the signature (a real self-signature). */
    assert_memory_equal(c.der, expect, REALITY_CERT_SIG_OFFSET);
    assert_memory_equal(c.der + REALITY_CERT_PUB_OFFSET, c.ed_pub, 32);
    assert_int_equal(crypto_ed25519_verify(c.ed_pub, c.der + 3, 101, c.der + REALITY_CERT_SIG_OFFSET), 0);
    uint8_t der[REALITY_CERT_DER_LEN];
    assert_int_equal(reality_cert_for_conn(&c, ak, der), 0);
    assert_memory_equal(der, expect, REALITY_CERT_DER_LEN);
    assert_int_equal(reality_cert_verify_der(der, sizeof(der), ak), REALITY_CERT_REALITY);

    /* Certificate message: 191 bytes with this certificate (spec §7.2). */
    struct buf m;
    buf_init(&m);
    assert_int_equal(reality_cert_write_msg(&m, der, sizeof(der)), 0);
    assert_int_equal(buf_len(&m), 191);
    assert_memory_equal(buf_data(&m), "\x0b\x00\x00\xbb\x00\x00\x00\xb7\x00\x00\xb2", 11);
    enum reality_cert_verdict v = REALITY_CERT__COUNT;
    assert_int_equal(reality_cert_verify_msg(buf_data(&m), buf_len(&m), ak, &v), 0);
    assert_int_equal(v, REALITY_CERT_REALITY);
    assert_string_equal(reality_cert_verdict_str(v), "REALITY server");

    /* Truncation at every byte: a malformed message, never a false "REALITY". */
    for (size_t k = 0; k < buf_len(&m); k++)
        assert_int_equal(reality_cert_verify_msg(buf_data(&m), k, ak, &v), ERR_MALFORMED);
    /* Tampering anywhere that matters -> real website. */
    uint8_t *p = buf_data(&m);
    size_t der_at = 11;
    size_t spots[] = {der_at + REALITY_CERT_PUB_OFFSET, der_at + REALITY_CERT_PUB_OFFSET + 31,
                      der_at + REALITY_CERT_SIG_OFFSET, der_at + REALITY_CERT_DER_LEN - 1, der_at + 63};
    for (size_t s = 0; s < sizeof(spots) / sizeof(spots[0]); s++) {
        p[spots[s]] ^= 0x01;
        assert_int_equal(reality_cert_verify_msg(p, buf_len(&m), ak, &v), 0);
        assert_int_equal(v, REALITY_CERT_NOT_REALITY);
        p[spots[s]] ^= 0x01;
    }
    /* Another AuthKey (another connection) -> real website. */
    ak[0] ^= 1;
    assert_int_equal(reality_cert_verify_msg(p, buf_len(&m), ak, &v), 0);
    assert_int_equal(v, REALITY_CERT_NOT_REALITY);
    assert_string_equal(reality_cert_verdict_str(v), "real website");
    buf_dispose(&m);
    reality_cert_dispose(&c);
    free(expect);
    free(ak);
}

static void test_random_key_and_real_cert(void **state)
{
    (void)state;
    struct reality_cert c;
    assert_int_equal(reality_cert_init(&c, NULL), 0);
    uint8_t ak[32], der[REALITY_CERT_DER_LEN];
    memset(ak, 0x42, 32);
    assert_int_equal(reality_cert_for_conn(&c, ak, der), 0);
    assert_int_equal(reality_cert_verify_der(der, sizeof(der), ak), REALITY_CERT_REALITY);
    /* The unmodified template (a genuine Ed25519 self-signature) is not ours. */
    assert_int_equal(reality_cert_verify_der(c.der, sizeof(c.der), ak), REALITY_CERT_NOT_REALITY);
    /* A certificate chain whose leaf is an ECDSA certificate, as real websites send: the
     * SPKI algorithm is id-ecPublicKey, never Ed25519. */
    static const char *ec_leaf = /* openssl req -x509 -newkey ec (P-256) */
        "308201893082012fa003020102021425a1a65f54a6c64bdca7edce77a7c3e8cfe4b4f5300a06082a8648ce3d"
        "040302301a3118301606035504030c0f7777772e6578616d706c652e636f6d301e170d323631313236303530"
        "3630375a170d3336313132333035303630375a301a3118301606035504030c0f7777772e6578616d706c652e"
        "636f6d3059301306072a8648ce3d020106082a8648ce3d03010703420004fcc713218bd03a557321ae479402"
        "cdbac9fef0d503ccd7c2b94ddbd19147ba56da8b59314eacdaa63b132e85b16d9b78b604695550a83d709d5d"
        "87a8109ea283a3533051301d0603551d0e04160414922afbfde6217415e9c939fe4368f02d3d900633301f06"
        "03551d23041830168014922afbfde6217415e9c939fe4368f02d3d900633300f0603551d130101ff04053003"
        "0101ff300a06082a8648ce3d040302034800304502207c96748f7ab6f16d46ee95c73acd7b2fba07eb273748"
        "76171c7deda08fb375a5022100ca3bd4ef7278613a3437149784a715771a02bf5f48ed33330baec3d0bbc130"
        "60";
    static const char *ed_leaf = /* openssl req -x509 -newkey ed25519: Ed25519, but a real signature */
        "308201483081fba00302010202145093c692b4d839f2a6b079131c19f30fa70fe9e5300506032b6570301a31"
        "18301606035504030c0f7777772e6578616d706c652e636f6d301e170d3236313132363035303631315a170d"
        "3336313132333035303631315a301a3118301606035504030c0f7777772e6578616d706c652e636f6d302a30"
        "0506032b657003210063599c36d364695ed3fcf9a1db484a7846899b7137c8d7f5a4535cc80ad47936a35330"
        "51301d0603551d0e04160414c7fc29898994e20893c85b5002aaad75237f926e301f0603551d230418301680"
        "14c7fc29898994e20893c85b5002aaad75237f926e300f0603551d130101ff040530030101ff300506032b65"
        "70034100452d1d75b2473e349c528823458b5569a840c107d68210c13b17c86255a1e8b2cad23a4421d9d9c3"
        "1b05385b292ae1e5e47b7f7c32e3bdaa1f4da16a7225ac0d";
    size_t n;
    uint8_t *leaf = tu_hex(ec_leaf, &n);
    assert_int_equal(reality_cert_verify_der(leaf, n, ak), REALITY_CERT_NOT_REALITY);
    size_t n2;
    uint8_t *ed = tu_hex(ed_leaf, &n2);
    assert_int_equal(reality_cert_verify_der(ed, n2, ak), REALITY_CERT_NOT_REALITY);
    /* Put the HMAC of its key in its signature: now the parser must find both in a certificate
     * with names and extensions, and accept it. */
    static const uint8_t spki_hdr[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    const uint8_t *pub = NULL;
    for (size_t i = 0; i + sizeof(spki_hdr) + 32 <= n2; i++)
        if (memcmp(ed + i, spki_hdr, sizeof(spki_hdr)) == 0)
            pub = ed + i + sizeof(spki_hdr);
    assert_non_null(pub);
    assert_memory_equal(ed + n2 - 67, "\x03\x41\x00", 3);
    assert_int_equal(crypto_hmac(CRYPTO_SHA512, ak, 32, pub, 32, ed + n2 - 64), 0);
    assert_int_equal(reality_cert_verify_der(ed, n2, ak), REALITY_CERT_REALITY);
    free(ed);
    struct buf m;
    buf_init(&m);
    assert_int_equal(reality_cert_write_msg(&m, leaf, n), 0);
    enum reality_cert_verdict v;
    assert_int_equal(reality_cert_verify_msg(buf_data(&m), buf_len(&m), ak, &v), 0);
    assert_int_equal(v, REALITY_CERT_NOT_REALITY);
    /* Garbage DER is not ours either. */
    assert_int_equal(reality_cert_verify_der((const uint8_t *)"\x30\x03\x02\x01", 4, ak), REALITY_CERT_NOT_REALITY);
    /* Wrong message type / trailing bytes. */
    uint8_t *p = buf_data(&m);
    p[0] = 12;
    assert_int_equal(reality_cert_verify_msg(p, buf_len(&m), ak, &v), ERR_MALFORMED);
    p[0] = 11;
    assert_int_equal(buf_append(&m, "\x00", 1), 0);
    assert_int_equal(reality_cert_verify_msg(buf_data(&m), buf_len(&m), ak, &v), ERR_MALFORMED);
    buf_dispose(&m);
    free(leaf);
    reality_cert_dispose(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_vector),
        cmocka_unit_test(test_random_key_and_real_cert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
