/* tls13_record_seal encrypts from the caller's data straight into the record; the same record
 * must come out whether data is a separate buffer, already in place in the output, or
 * overlapping it at another offset; and crypto_aead_seal2 must equal sealing the
 * concatenation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "tls13/record.h"

static const uint16_t suites[] = {0x1301, 0x1302, 0x1303};

static void cipher(struct tls13_cipher *c, uint16_t suite, bool encrypt)
{
    uint8_t secret[48];
    memset(secret, 0x3c, sizeof(secret));
    memset(c, 0, sizeof(*c));
    assert_int_equal(tls13_cipher_init(c, tls13_suite_by_id(suite), secret, encrypt), 0);
}

/* Seals data (len bytes, pad) with a fresh cipher into out (which has cap bytes of memory). */
static size_t seal_fresh(uint16_t suite, uint8_t *mem, size_t cap, const uint8_t *data, size_t len, size_t pad)
{
    struct tls13_cipher wr;
    cipher(&wr, suite, true);
    struct buf out;
    buf_init_fixed(&out, mem, cap);
    assert_int_equal(tls13_record_seal(&wr, TLS13_CT_APPLICATION_DATA, data, len, pad, &out), 0);
    tls13_cipher_dispose(&wr);
    return buf_len(&out);
}

static void test_seal_aliasing(void **state)
{
    (void)state;
    static uint8_t ref[TLS13_MAX_PLAINTEXT + 512], mem[TLS13_MAX_PLAINTEXT + 1024], data[TLS13_MAX_PLAINTEXT];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 31 + 7);
    const size_t lens[] = {0, 1, 15, 16, 17, 1000, TLS13_MAX_PLAINTEXT - 40, TLS13_MAX_PLAINTEXT};
    for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
        for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
            size_t len = lens[l], pad = len <= TLS13_MAX_PLAINTEXT - 40 ? 33 : 0;
            size_t n = seal_fresh(suites[s], ref, sizeof(ref), data, len, pad);
            assert_int_equal(n, TLS13_RECORD_HDR_LEN + len + 1 + pad + CRYPTO_AEAD_TAG_LEN);
            /* in place: data already where the payload goes */
            memcpy(mem + TLS13_RECORD_HDR_LEN, data, len);
            assert_int_equal(seal_fresh(suites[s], mem, sizeof(mem), mem + TLS13_RECORD_HDR_LEN, len, pad), n);
            assert_memory_equal(mem, ref, n);
            /* overlapping at other offsets (before and after the payload's place) */
            const size_t offs[] = {0, 3, 7, 100};
            for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]) && len > 0; o++) {
                memmove(mem + offs[o], data, len);
                assert_int_equal(seal_fresh(suites[s], mem, sizeof(mem), mem + offs[o], len, pad), n);
                assert_memory_equal(mem, ref, n);
            }
            /* and it opens */
            struct tls13_cipher rd;
            cipher(&rd, suites[s], false);
            uint8_t type = 0;
            size_t outlen = 0;
            assert_int_equal(tls13_record_open(&rd, ref, n, mem, &type, &outlen), 0);
            assert_int_equal(type, TLS13_CT_APPLICATION_DATA);
            assert_int_equal(outlen, len);
            assert_memory_equal(mem, data, len);
            tls13_cipher_dispose(&rd);
        }
    }
}

static void test_seal2_is_concatenation(void **state)
{
    (void)state;
    uint8_t key[32], nonce[12], aad[13], pt[300], a[300 + 16], b[300 + 16];
    memset(key, 0x11, sizeof(key));
    memset(nonce, 0x22, sizeof(nonce));
    memset(aad, 0x33, sizeof(aad));
    for (size_t i = 0; i < sizeof(pt); i++)
        pt[i] = (uint8_t)(i ^ 0xa5);
    for (int alg = 0; alg < CRYPTO_AEAD__COUNT; alg++) {
        struct crypto_aead_ctx *c = crypto_aead_new((enum crypto_aead)alg, key, true);
        assert_non_null(c);
        assert_int_equal(crypto_aead_seal(c, nonce, aad, sizeof(aad), pt, sizeof(pt), a), 0);
        const size_t splits[] = {0, 1, 16, 17, 299, 300};
        for (size_t k = 0; k < sizeof(splits) / sizeof(splits[0]); k++) {
            size_t s1 = splits[k];
            memset(b, 0, sizeof(b));
            assert_int_equal(crypto_aead_seal2(c, nonce, aad, sizeof(aad), pt, s1, pt + s1, sizeof(pt) - s1, b), 0);
            assert_memory_equal(a, b, sizeof(a));
            /* second part in place in out */
            memcpy(b + s1, pt + s1, sizeof(pt) - s1);
            assert_int_equal(crypto_aead_seal2(c, nonce, aad, sizeof(aad), pt, s1, b + s1, sizeof(pt) - s1, b), 0);
            assert_memory_equal(a, b, sizeof(a));
        }
        crypto_aead_free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_aliasing),
        cmocka_unit_test(test_seal2_is_concatenation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
