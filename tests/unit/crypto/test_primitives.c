/* crypto/: known-answer tests from the RFCs, and the error paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/enc.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "crypto/uuid5.h"
#include "support/test_util.h"

static void test_sha256_and_incremental(void **state)
{
    (void)state;
    uint8_t d[32], p[32];
    size_t n;
    uint8_t *want = tu_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", &n);
    assert_int_equal(crypto_hash(CRYPTO_SHA256, "abc", 3, d), 0);
    assert_memory_equal(d, want, 32);
    struct crypto_hash_ctx *c = crypto_hash_new(CRYPTO_SHA256);
    assert_non_null(c);
    assert_int_equal(crypto_hash_update(c, "a", 1), 0);
    struct crypto_hash_ctx *dup = crypto_hash_dup(c);
    assert_int_equal(crypto_hash_update(c, "bc", 2), 0);
    assert_int_equal(crypto_hash_peek(c, p), 0);
    assert_memory_equal(p, want, 32);
    assert_int_equal(crypto_hash_peek(c, p), 0); /* peek does not end the hash */
    assert_memory_equal(p, want, 32);
    assert_int_equal(crypto_hash_update(dup, "bc", 2), 0);
    assert_int_equal(crypto_hash_peek(dup, p), 0);
    assert_memory_equal(p, want, 32);
    crypto_hash_free(dup);
    crypto_hash_free(c);
    crypto_hash_free(NULL);
    assert_int_equal(crypto_hash_len(CRYPTO_SHA384), 48);
    assert_int_equal(crypto_hash(CRYPTO_HASH__COUNT, "", 0, d), ERR_RANGE);
    free(want);
}

/* RFC 5869 test case 1 */
static void test_hkdf_rfc5869(void **state)
{
    (void)state;
    size_t ikml, saltl, infol, prkl, okml;
    uint8_t *ikm = tu_hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", &ikml);
    uint8_t *salt = tu_hex("000102030405060708090a0b0c", &saltl);
    uint8_t *info = tu_hex("f0f1f2f3f4f5f6f7f8f9", &infol);
    uint8_t *prk_want = tu_hex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5", &prkl);
    uint8_t *okm_want =
        tu_hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865", &okml);
    uint8_t prk[32], okm[42];
    assert_int_equal(crypto_hkdf_extract(CRYPTO_SHA256, salt, saltl, ikm, ikml, prk), 0);
    assert_memory_equal(prk, prk_want, 32);
    assert_int_equal(crypto_hkdf_expand(CRYPTO_SHA256, prk, 32, info, infol, okm, 42), 0);
    assert_memory_equal(okm, okm_want, 42);
    free(ikm), free(salt), free(info), free(prk_want), free(okm_want);
}

/* RFC 4231 test case 2 */
static void test_hmac(void **state)
{
    (void)state;
    size_t n;
    uint8_t *want = tu_hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", &n);
    uint8_t out[32];
    assert_int_equal(crypto_hmac(CRYPTO_SHA256, "Jefe", 4, "what do ya want for nothing?", 28, out), 0);
    assert_memory_equal(out, want, 32);
    free(want);
}

/* Our HMAC (RFC 2104 over a kept digest context): RFC 4231 test 6 (a key longer than the
 * block is hashed first) for the three hashes, test 1 for SHA-384 (128-byte block), the
 * empty key and message, and keys of exactly one block and one byte more. */
static void test_hmac_key_lengths(void **state)
{
    (void)state;
    static const char *const big_msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    uint8_t big[131];
    memset(big, 0xaa, sizeof(big));
    static const struct {
        enum crypto_hash h;
        const char *want;
    } t6[] = {
        {CRYPTO_SHA256, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {CRYPTO_SHA384,
         "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952"},
        {CRYPTO_SHA512, "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e"
                        "5295e64f73f63f0aec8b915a985d786598"},
    };
    uint8_t out[64];
    size_t n;
    for (size_t i = 0; i < sizeof(t6) / sizeof(t6[0]); i++) {
        uint8_t *want = tu_hex(t6[i].want, &n);
        assert_int_equal(crypto_hmac(t6[i].h, big, sizeof(big), big_msg, strlen(big_msg), out), 0);
        assert_memory_equal(out, want, n);
        free(want);
    }
    uint8_t k1[20];
    memset(k1, 0x0b, sizeof(k1));
    uint8_t *want =
        tu_hex("afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6", &n);
    assert_int_equal(crypto_hmac(CRYPTO_SHA384, k1, sizeof(k1), "Hi There", 8, out), 0);
    assert_memory_equal(out, want, 48);
    free(want);
    want = tu_hex("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad", &n);
    assert_int_equal(crypto_hmac(CRYPTO_SHA256, NULL, 0, NULL, 0, out), 0);
    assert_memory_equal(out, want, 32);
    free(want);
    uint8_t k64[65];
    memset(k64, 1, sizeof(k64));
    want = tu_hex("0c462fe9789424c45ebeb37b90d6e879e8e0580849c91a84198b267a90c77250", &n);
    assert_int_equal(crypto_hmac(CRYPTO_SHA256, k64, 64, "abc", 3, out), 0);
    assert_memory_equal(out, want, 32);
    free(want);
    want = tu_hex("fb1e9b9f783337ca807b11cd396d1c31eb5267d95d2d2bb0f1d83ffafbbf64e9", &n);
    assert_int_equal(crypto_hmac(CRYPTO_SHA256, k64, 65, "abc", 3, out), 0);
    assert_memory_equal(out, want, 32);
    free(want);
}

static void aead_roundtrip(enum crypto_aead a)
{
    uint8_t key[32] = {1, 2, 3}, nonce[12] = {9};
    const char *msg = "attack at dawn";
    size_t len = strlen(msg);
    uint8_t ct[64], pt[64];
    struct crypto_aead_ctx *e = crypto_aead_new(a, key, true), *d = crypto_aead_new(a, key, false);
    assert_non_null(e);
    assert_non_null(d);
    assert_int_equal(crypto_aead_seal(e, nonce, "hdr", 3, msg, len, ct), 0);
    assert_int_equal(crypto_aead_open(d, nonce, "hdr", 3, ct, len + 16, pt), 0);
    assert_memory_equal(pt, msg, len);
    /* reuse the same context for a second record */
    nonce[11] ^= 1;
    assert_int_equal(crypto_aead_seal(e, nonce, NULL, 0, msg, len, ct), 0);
    assert_int_equal(crypto_aead_open(d, nonce, NULL, 0, ct, len + 16, pt), 0);
    ct[0] ^= 0x80; /* tampered ciphertext */
    assert_int_equal(crypto_aead_open(d, nonce, NULL, 0, ct, len + 16, pt), ERR_DECRYPT);
    ct[0] ^= 0x80;
    assert_int_equal(crypto_aead_open(d, nonce, "x", 1, ct, len + 16, pt), ERR_DECRYPT); /* wrong aad */
    assert_int_equal(crypto_aead_open(d, nonce, NULL, 0, ct, 15, pt), ERR_DECRYPT);      /* shorter than a tag */
    assert_int_equal(crypto_aead_open(e, nonce, NULL, 0, ct, len + 16, pt), ERR_BAD_STATE);
    /* in place */
    uint8_t inplace[64];
    memcpy(inplace, msg, len);
    assert_int_equal(crypto_aead_seal(e, nonce, NULL, 0, inplace, len, inplace), 0);
    assert_int_equal(crypto_aead_open(d, nonce, NULL, 0, inplace, len + 16, inplace), 0);
    assert_memory_equal(inplace, msg, len);
    /* parked contexts rebuild from the kept key: the same ciphertext as a context never parked */
    uint8_t ct2[64];
    assert_int_equal(crypto_aead_seal(e, nonce, "hdr", 3, msg, len, ct), 0);
    crypto_aead_park(e);
    crypto_aead_park(d);
    crypto_aead_park(d); /* twice is harmless */
    assert_true(crypto_aead_parked(e));
    assert_int_equal(crypto_aead_seal(e, nonce, "hdr", 3, msg, len, ct2), 0);
    assert_false(crypto_aead_parked(e));
    assert_memory_equal(ct2, ct, len + 16);
    assert_int_equal(crypto_aead_open(d, nonce, "hdr", 3, ct2, len + 16, pt), 0);
    assert_memory_equal(pt, msg, len);
    crypto_aead_park(d);
    ct2[0] ^= 0x80; /* a parked opener still rejects a forgery */
    assert_int_equal(crypto_aead_open(d, nonce, "hdr", 3, ct2, len + 16, pt), ERR_DECRYPT);
    assert_false(crypto_aead_parked(NULL));
    crypto_aead_park(NULL);
    crypto_aead_free(e);
    crypto_aead_free(d);
}

static void test_aead_all_suites(void **state)
{
    (void)state;
    aead_roundtrip(CRYPTO_AES_128_GCM);
    aead_roundtrip(CRYPTO_AES_256_GCM);
    aead_roundtrip(CRYPTO_CHACHA20_POLY1305);
    assert_null(crypto_aead_new(CRYPTO_AEAD__COUNT, (const uint8_t *)"k", true));
}

/* GCM test vector (McGrew & Viega test case 3, AES-128) */
static void test_aes_gcm_kat(void **state)
{
    (void)state;
    size_t n;
    uint8_t *key = tu_hex("feffe9928665731c6d6a8f9467308308", &n);
    uint8_t *iv = tu_hex("cafebabefacedbaddecaf888", &n);
    size_t ptl;
    uint8_t *pt =
        tu_hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b1"
               "6aedf5aa0de657ba637b391aafd255",
               &ptl);
    size_t ctl;
    uint8_t *want =
        tu_hex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051b"
               "a30b396a0aac973d58e091473f5985"
               "4d5c2af327cd64a62cf35abd2ba6fab4",
               &ctl);
    struct crypto_aead_ctx *e = crypto_aead_new(CRYPTO_AES_128_GCM, key, true);
    uint8_t out[128];
    assert_int_equal(crypto_aead_seal(e, iv, NULL, 0, pt, ptl, out), 0);
    assert_memory_equal(out, want, ctl);
    crypto_aead_free(e);
    free(key), free(iv), free(pt), free(want);
}

/* RFC 7748 §6.1 */
static void test_x25519_rfc7748(void **state)
{
    (void)state;
    size_t n;
    uint8_t *a = tu_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", &n);
    uint8_t *apub_want = tu_hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", &n);
    uint8_t *b = tu_hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", &n);
    uint8_t *bpub_want = tu_hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", &n);
    uint8_t *k_want = tu_hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", &n);
    uint8_t apub[32], bpub[32], k1[32], k2[32];
    assert_int_equal(crypto_x25519_public(a, apub), 0);
    assert_memory_equal(apub, apub_want, 32);
    assert_int_equal(crypto_x25519_public(b, bpub), 0);
    assert_memory_equal(bpub, bpub_want, 32);
    assert_int_equal(crypto_x25519(k1, a, bpub), 0);
    assert_int_equal(crypto_x25519(k2, b, apub), 0);
    assert_memory_equal(k1, k_want, 32);
    assert_memory_equal(k2, k_want, 32);
    uint8_t zero[32] = {0};
    assert_int_equal(crypto_x25519(k1, a, zero), ERR_CRYPTO); /* low-order point */
    /* the derive context kept with a's cached key still works after that refusal */
    assert_int_equal(crypto_x25519(k1, a, bpub), 0);
    assert_memory_equal(k1, k_want, 32);
    uint8_t p1[32], q1[32], p2[32], q2[32];
    assert_int_equal(crypto_x25519_keypair(p1, q1), 0);
    assert_int_equal(crypto_x25519_keypair(p2, q2), 0);
    assert_memory_not_equal(p1, p2, 32);
    free(a), free(apub_want), free(b), free(bpub_want), free(k_want);
}

/* RFC 8032 §7.1 test 2 */
static void test_ed25519_rfc8032(void **state)
{
    (void)state;
    size_t n;
    uint8_t *sk = tu_hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", &n);
    uint8_t *pk_want = tu_hex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", &n);
    uint8_t *sig_want =
        tu_hex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c"
               "387b2eaeb4302aeeb00d291612bb0c00",
               &n);
    const uint8_t msg[1] = {0x72};
    uint8_t pk[32], sig[64];
    assert_int_equal(crypto_ed25519_public(sk, pk), 0);
    assert_memory_equal(pk, pk_want, 32);
    assert_int_equal(crypto_ed25519_sign(sk, msg, 1, sig), 0);
    assert_memory_equal(sig, sig_want, 64);
    assert_int_equal(crypto_ed25519_verify(pk, msg, 1, sig), 0);
    sig[5] ^= 1;
    assert_int_equal(crypto_ed25519_verify(pk, msg, 1, sig), ERR_AUTH);
    free(sk), free(pk_want), free(sig_want);
}

static void test_uuid_from_string(void **state)
{
    (void)state;
    uint8_t id[16];
    char s[UUID_STR_LEN + 1];
    assert_int_equal(uuid_from_string(id, "hello", 5), 0);
    uuid_format(s, id);
    assert_string_equal(s, "b7502f40-1152-59f2-ba10-69aeed522cdf");
    const char *u = "b831381d-6324-4d53-ad4f-8cda48b30811";
    assert_int_equal(uuid_from_string(id, u, strlen(u)), 0);
    uuid_format(s, id);
    assert_string_equal(s, u);
    assert_int_equal(uuid_from_string(id, "", 0), ERR_MALFORMED);
    char l31[32];
    memset(l31, 'a', 31);
    assert_int_equal(uuid_from_string(id, l31, 31), ERR_MALFORMED);
    char l30[31];
    memset(l30, 'a', 30);
    assert_int_equal(uuid_from_string(id, l30, 30), 0); /* 30 bytes still maps to UUIDv5 */
    assert_int_equal(id[6] >> 4, 5);
    assert_int_equal(id[8] & 0xc0, 0x80);
    assert_int_equal(uuid_from_string(id, "zz31381d-6324-4d53-ad4f-8cda48b30811", 36), ERR_MALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_and_incremental),
        cmocka_unit_test(test_hkdf_rfc5869),
        cmocka_unit_test(test_hmac),
        cmocka_unit_test(test_hmac_key_lengths),
        cmocka_unit_test(test_aead_all_suites),
        cmocka_unit_test(test_aes_gcm_kat),
        cmocka_unit_test(test_x25519_rfc7748),
        cmocka_unit_test(test_ed25519_rfc8032),
        cmocka_unit_test(test_uuid_from_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
