/* crypto/totp and core/base32: RFC 6238 Appendix B vectors for SHA-1/256/512, the window and
 * replay rules, code parsing and base32 (RFC 4648 §10 vectors) with malformed inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/base32.h"
#include "core/err.h"
#include "crypto/totp.h"

static const char seed1[] = "12345678901234567890";
static const char seed256[] = "12345678901234567890123456789012";
static const char seed512[] = "1234567890123456789012345678901234567890123456789012345678901234";

static const struct {
    int64_t t;
    uint32_t sha1, sha256, sha512;
} rfc6238[] = {
    {59, 94287082, 46119246, 90693936},         {1111111109, 7081804, 68084774, 25091201},
    {1111111111, 14050471, 67062674, 99943326}, {1234567890, 89005924, 91819424, 93441116},
    {2000000000, 69279037, 90698825, 38618901}, {20000000000, 65353130, 77737706, 47863826},
};

static void test_rfc6238_vectors(void **state)
{
    (void)state;
    struct totp_params p = TOTP_PARAMS_DEFAULT;
    p.digits = 8;
    p.window = 0;
    for (size_t i = 0; i < sizeof rfc6238 / sizeof rfc6238[0]; i++) {
        uint32_t c;
        uint64_t step = (uint64_t)totp_step(&p, rfc6238[i].t);
        assert_int_equal(totp_hotp(CRYPTO_SHA1, (const uint8_t *)seed1, 20, step, 8, &c), 0);
        assert_int_equal(c, rfc6238[i].sha1);
        assert_int_equal(totp_hotp(CRYPTO_SHA256, (const uint8_t *)seed256, 32, step, 8, &c), 0);
        assert_int_equal(c, rfc6238[i].sha256);
        assert_int_equal(totp_hotp(CRYPTO_SHA512, (const uint8_t *)seed512, 64, step, 8, &c), 0);
        assert_int_equal(c, rfc6238[i].sha512);
        /* The same through totp_verify, per algorithm. */
        int64_t got = 0;
        p.alg = CRYPTO_SHA1;
        assert_int_equal(totp_verify(&p, (const uint8_t *)seed1, 20, rfc6238[i].t, rfc6238[i].sha1, 0, &got), 0);
        assert_int_equal(got, (int64_t)step);
        p.alg = CRYPTO_SHA256;
        assert_int_equal(totp_verify(&p, (const uint8_t *)seed256, 32, rfc6238[i].t, rfc6238[i].sha256, 0, &got), 0);
        p.alg = CRYPTO_SHA512;
        assert_int_equal(totp_verify(&p, (const uint8_t *)seed512, 64, rfc6238[i].t, rfc6238[i].sha512, 0, &got), 0);
        p.alg = CRYPTO_SHA1;
    }
}

/* RFC 4226 Appendix D: HOTP with 6 digits, the same 20-byte secret. */
static void test_rfc4226_hotp(void **state)
{
    (void)state;
    static const uint32_t want[] = {755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489};
    for (uint64_t i = 0; i < 10; i++) {
        uint32_t c;
        assert_int_equal(totp_hotp(CRYPTO_SHA1, (const uint8_t *)seed1, 20, i, 6, &c), 0);
        assert_int_equal(c, want[i]);
    }
}

/* ±1 step accepted, ±2 refused; the same step twice refused (replay); an earlier step after a
 * later one refused too. */
static void test_window_and_replay(void **state)
{
    (void)state;
    struct totp_params p = TOTP_PARAMS_DEFAULT;
    const uint8_t *k = (const uint8_t *)seed1;
    int64_t now = 1700000000, t = now / 30, got = 0;
    uint32_t c_prev, c_now, c_next, c_far;
    assert_int_equal(totp_hotp(CRYPTO_SHA1, k, 20, (uint64_t)(t - 1), 6, &c_prev), 0);
    assert_int_equal(totp_hotp(CRYPTO_SHA1, k, 20, (uint64_t)t, 6, &c_now), 0);
    assert_int_equal(totp_hotp(CRYPTO_SHA1, k, 20, (uint64_t)(t + 1), 6, &c_next), 0);
    assert_int_equal(totp_hotp(CRYPTO_SHA1, k, 20, (uint64_t)(t + 2), 6, &c_far), 0);
    assert_int_equal(totp_verify(&p, k, 20, now, c_prev, 0, &got), 0);
    assert_int_equal(got, t - 1);
    assert_int_equal(totp_verify(&p, k, 20, now, c_prev, got, &got), ERR_BAD_STATE); /* replay */
    assert_int_equal(totp_verify(&p, k, 20, now, c_now, t - 1, &got), 0);
    assert_int_equal(got, t);
    assert_int_equal(totp_verify(&p, k, 20, now, c_now, t, &got), ERR_BAD_STATE);
    assert_int_equal(totp_verify(&p, k, 20, now, c_prev, t, &got), ERR_BAD_STATE); /* older than the last */
    assert_int_equal(totp_verify(&p, k, 20, now, c_next, t, &got), 0);
    assert_int_equal(got, t + 1);
    if (c_far != c_now && c_far != c_prev && c_far != c_next)
        assert_int_equal(totp_verify(&p, k, 20, now, c_far, 0, &got), ERR_AUTH);
    assert_int_equal(totp_verify(&p, k, 20, now, (c_now + 1) % 1000000, 0, &got), ERR_AUTH);
    /* Bad parameters. */
    struct totp_params bad = p;
    bad.alg = CRYPTO_MD5;
    assert_int_equal(totp_verify(&bad, k, 20, now, c_now, 0, &got), ERR_RANGE);
    bad = p;
    bad.digits = 9;
    assert_int_equal(totp_verify(&bad, k, 20, now, c_now, 0, &got), ERR_RANGE);
    bad = p;
    bad.period = 0;
    assert_int_equal(totp_verify(&bad, k, 20, now, c_now, 0, &got), ERR_RANGE);
    bad = p;
    bad.window = TOTP_WINDOW_MAX + 1;
    assert_int_equal(totp_verify(&bad, k, 20, now, c_now, 0, &got), ERR_RANGE);
}

static void test_parse_code(void **state)
{
    (void)state;
    uint32_t c = 7;
    assert_int_equal(totp_parse_code("012345", 6, 6, &c), 0);
    assert_int_equal(c, 12345);
    static const char *const bad[] = {"",       "12345",  "1234567", "12345a",       " 12345",
                                      "12 345", "-12345", "+12345",  "１２３４５６", "12345\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(totp_parse_code(bad[i], strlen(bad[i]), 6, &c), ERR_MALFORMED);
    assert_int_equal(totp_parse_code("123\0456", 7, 6, &c), ERR_MALFORMED);
    assert_int_equal(totp_parse_code(NULL, 0, 6, &c), ERR_MALFORMED);
    assert_int_equal(totp_parse_code("123456789", 9, 9, &c), ERR_MALFORMED);
}

/* RFC 4648 §10 vectors, both ways, and what decoding refuses. */
static void test_base32(void **state)
{
    (void)state;
    static const struct {
        const char *raw, *enc;
    } v[] = {{"", ""},
             {"f", "MY"},
             {"fo", "MZXQ"},
             {"foo", "MZXW6"},
             {"foob", "MZXW6YQ"},
             {"fooba", "MZXW6YTB"},
             {"foobar", "MZXW6YTBOI"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[32];
        uint8_t dec[16];
        size_t n = 99;
        assert_int_equal(base32_encode(out, (const uint8_t *)v[i].raw, strlen(v[i].raw)), strlen(v[i].enc));
        assert_string_equal(out, v[i].enc);
        assert_true(base32_encoded_size(strlen(v[i].raw)) >= strlen(v[i].enc) + 1);
        assert_int_equal(base32_decode(dec, sizeof dec, &n, v[i].enc, strlen(v[i].enc)), 0);
        assert_int_equal(n, strlen(v[i].raw));
        assert_memory_equal(dec, v[i].raw, n);
    }
    uint8_t dec[16];
    size_t n;
    assert_int_equal(base32_decode(dec, sizeof dec, &n, "mzxw6ytboi", 10), 0); /* lower case */
    assert_int_equal(base32_decode(dec, sizeof dec, &n, "MZXW6===", 8), 0);    /* RFC padding */
    assert_int_equal(n, 3);
    static const char *const bad[] = {"MZXW6==",  "M",     "MZX",      "MZXW6Y",     "MZ XW",   "MZXW1",
                                      "MZXW-6YQ", "MZ=XW", "MZXW6YR=", "MZXW6YTBOJ", "=======", "MY======="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(base32_decode(dec, sizeof dec, &n, bad[i], strlen(bad[i])), ERR_MALFORMED);
    assert_int_equal(base32_decode(dec, 2, &n, "MZXW6", 5), ERR_TOO_LONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6238_vectors),
        cmocka_unit_test(test_rfc4226_hotp),
        cmocka_unit_test(test_window_and_replay),
        cmocka_unit_test(test_parse_code),
        cmocka_unit_test(test_base32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
