/* crypto: the public keys and Ed25519 signatures libsodium computes for crypto.c (fixed-base
 * multiplications, cheaper than libcrypto 3.0's portable C) against RFC 8032 vectors (RFC 7748 keys: test_primitives)
 * and against libcrypto's independent code (its X25519 ladder on u = 9, its Ed25519 signature) on random and edge-case
 * scalars. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "support/test_util.h"

/* Scalars every implementation gets wrong first: all zeros, all ones, single bits, and
 * digits that make the signed radix-16 recoding carry all the way up. */
static void edge_scalar(int i, uint8_t s[32])
{
    memset(s, 0, 32);
    switch (i % 6) {
    case 0:
        break;
    case 1:
        memset(s, 0xff, 32);
        break;
    case 2:
        s[(i / 6) % 32] = (uint8_t)(1u << (i % 8));
        break;
    case 3:
        memset(s, 0x88, 32);
        break;
    case 4:
        memset(s, 0x77, 32);
        break;
    default:
        memset(s, 0xf8, 32);
        s[31] = 0x7f;
        break;
    }
}

/* Against libcrypto's Montgomery ladder on the base point u = 9: a different algorithm in a
 * different coordinate system, so agreement on 2000 scalars leaves no room for a slip. */
static void test_x25519_matches_ladder(void **state)
{
    (void)state;
    uint8_t nine[32] = {9};
    for (int i = 0; i < 2000; i++) {
        uint8_t priv[32], ours[32], ladder[32];
        if (i < 60)
            edge_scalar(i, priv);
        else
            assert_int_equal(crypto_random(priv, 32), 0);
        assert_int_equal(crypto_x25519_public(priv, ours), 0);
        assert_int_equal(crypto_x25519(ladder, priv, nine), 0);
        assert_memory_equal(ours, ladder, 32);
    }
}

/* RFC 8032 §7.1 tests 1-3, then random keys and messages against libcrypto byte for byte. */
static void test_sign_matches_libcrypto(void **state)
{
    (void)state;
    static const char *const vec[][4] = {
        {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bb"
         "e24655141438e7a100b",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"},
        {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302"
         "aeeb00d291612bb0c00",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"},
        {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed"
         "28dc027beceea1ec40a",
         "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025"},
    };
    for (size_t v = 0; v < sizeof(vec) / sizeof(vec[0]); v++) {
        size_t n, mlen = 0;
        uint8_t *seed = tu_hex(vec[v][0], &n);
        uint8_t *msg = vec[v][1][0] ? tu_hex(vec[v][1], &mlen) : NULL;
        uint8_t *want = tu_hex(vec[v][2], &n);
        uint8_t *want_pub = tu_hex(vec[v][3], &n);
        uint8_t sig[64], pub[32];
        assert_int_equal(crypto_ed25519_public(seed, pub), 0);
        assert_memory_equal(pub, want_pub, 32);
        free(want_pub);
        assert_int_equal(crypto_ed25519_sign(seed, msg, mlen, sig), 0);
        assert_memory_equal(sig, want, 64);
        free(seed), free(msg), free(want);
    }
    uint8_t seeds[2][32];
    assert_int_equal(crypto_random(seeds, sizeof(seeds)), 0);
    for (int i = 0; i < 1000; i++) {
        uint8_t msg[300], ours[64], theirs[64], pub[32];
        size_t len = (size_t)i % sizeof(msg);
        assert_int_equal(crypto_random(msg, len), 0);
        const uint8_t *seed = seeds[i % 2]; /* alternating keys: the per-thread cache must switch */
        if (i % 7 == 0)
            assert_int_equal(crypto_random(seeds[i % 2], 32), 0);
        assert_int_equal(crypto_ed25519_sign(seed, msg, len, ours), 0);
        assert_int_equal(crypto_ed25519_sign_libcrypto(seed, msg, len, theirs), 0);
        assert_memory_equal(ours, theirs, 64);
        assert_int_equal(crypto_ed25519_public(seed, pub), 0);
        assert_int_equal(crypto_ed25519_verify(pub, msg, len, ours), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x25519_matches_ladder),
        cmocka_unit_test(test_sign_matches_libcrypto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
