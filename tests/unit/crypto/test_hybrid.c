/* X25519MLKEM768: share and secret layouts (ML-KEM first), client/server agreement, and the
 * rejection of bad shares. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "crypto/crypto.h"
#include "crypto/hybrid_x25519mlkem768.h"
#include "crypto/mlkem768.h"

static const uint8_t zero64[64];

static void fill(uint8_t *p, size_t n, uint8_t start)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(start + i * 7);
}

static void test_constants(void **state)
{
    (void)state;
    assert_int_equal(X25519MLKEM768_GROUP, 0x11EC);
    assert_int_equal(X25519MLKEM768_CLIENT_SHARE_LEN, 1216);
    assert_int_equal(X25519MLKEM768_SERVER_SHARE_LEN, 1120);
    assert_int_equal(X25519MLKEM768_SECRET_LEN, 64);
}

/* Each half of every share and of the secret equals what the component primitive produces. */
static void test_layout_seeded(void **state)
{
    (void)state;
    uint8_t cseed[X25519MLKEM768_CLIENT_SEED_LEN], sseed[X25519MLKEM768_SERVER_SEED_LEN];
    fill(cseed, sizeof cseed, 1);
    fill(sseed, sizeof sseed, 100);
    static struct x25519mlkem768_client st;
    uint8_t cshare[X25519MLKEM768_CLIENT_SHARE_LEN], sshare[X25519MLKEM768_SERVER_SHARE_LEN];
    uint8_t ssec[64], csec[64];
    assert_int_equal(x25519mlkem768_client_keygen_seeded(&st, cseed, cshare), 0);

    static uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN];
    uint8_t pub[32], ct[MLKEM768_CT_LEN], ss[32], xs[32];
    assert_int_equal(mlkem768_keygen_internal(cseed, cseed + 32, ek, dk), 0);
    assert_memory_equal(cshare, ek, MLKEM768_EK_LEN);
    assert_memory_equal(st.mlkem_dk, dk, MLKEM768_DK_LEN);
    assert_int_equal(crypto_x25519_public(cseed + 64, pub), 0);
    assert_memory_equal(cshare + 1184, pub, 32);

    assert_int_equal(x25519mlkem768_server_encaps_seeded(cshare, sizeof cshare, sseed, sshare, ssec), 0);
    assert_int_equal(mlkem768_encaps_internal(ek, sizeof ek, sseed, ct, ss), 0);
    assert_memory_equal(sshare, ct, MLKEM768_CT_LEN);
    assert_int_equal(crypto_x25519_public(sseed + 32, pub), 0);
    assert_memory_equal(sshare + 1088, pub, 32);
    assert_memory_equal(ssec, ss, 32);
    assert_int_equal(crypto_x25519(xs, sseed + 32, cshare + 1184), 0);
    assert_memory_equal(ssec + 32, xs, 32);

    assert_int_equal(x25519mlkem768_client_decaps(&st, sshare, sizeof sshare, csec), 0);
    assert_memory_equal(csec, ssec, 64);

    x25519mlkem768_client_wipe(&st);
    assert_memory_equal(st.x25519_priv, zero64, 32);
    x25519mlkem768_client_wipe(NULL);
}

static void test_agreement_random(void **state)
{
    (void)state;
    static struct x25519mlkem768_client st;
    uint8_t cshare[X25519MLKEM768_CLIENT_SHARE_LEN], sshare[X25519MLKEM768_SERVER_SHARE_LEN];
    uint8_t ssec[64], csec[64], prev[64] = {0};
    for (int i = 0; i < 10; i++) {
        assert_int_equal(x25519mlkem768_client_keygen(&st, cshare), 0);
        assert_int_equal(x25519mlkem768_server_encaps(cshare, sizeof cshare, sshare, ssec), 0);
        assert_int_equal(x25519mlkem768_client_decaps(&st, sshare, sizeof sshare, csec), 0);
        assert_memory_equal(csec, ssec, 64);
        assert_memory_not_equal(ssec, prev, 64);
        memcpy(prev, ssec, 64);
        x25519mlkem768_client_wipe(&st);
    }
}

static void test_bad_lengths(void **state)
{
    (void)state;
    static struct x25519mlkem768_client st;
    uint8_t cshare[X25519MLKEM768_CLIENT_SHARE_LEN + 1], sshare[X25519MLKEM768_SERVER_SHARE_LEN + 1];
    uint8_t sec[64];
    assert_int_equal(x25519mlkem768_client_keygen(&st, cshare), 0);
    static const size_t clens[] = {0, 1, 32, 1184, 1215, 1217};
    for (size_t i = 0; i < sizeof clens / sizeof clens[0]; i++) {
        memset(sec, 0x77, sizeof sec);
        assert_int_equal(x25519mlkem768_server_encaps(cshare, clens[i], sshare, sec), ERR_MALFORMED);
        assert_memory_equal(sec, zero64, 64);
    }
    assert_int_equal(x25519mlkem768_server_encaps(NULL, X25519MLKEM768_CLIENT_SHARE_LEN, sshare, sec), ERR_MALFORMED);
    assert_int_equal(x25519mlkem768_server_encaps(cshare, X25519MLKEM768_CLIENT_SHARE_LEN, sshare, sec), 0);
    static const size_t slens[] = {0, 32, 1088, 1119, 1121};
    for (size_t i = 0; i < sizeof slens / sizeof slens[0]; i++) {
        memset(sec, 0x77, sizeof sec);
        assert_int_equal(x25519mlkem768_client_decaps(&st, sshare, slens[i], sec), ERR_MALFORMED);
        assert_memory_equal(sec, zero64, 64);
    }
    assert_int_equal(x25519mlkem768_client_decaps(&st, NULL, X25519MLKEM768_SERVER_SHARE_LEN, sec), ERR_MALFORMED);
    x25519mlkem768_client_wipe(&st);
}

/* An ek coefficient >= q, or a low-order X25519 key, makes the server refuse the share. */
static void test_bad_client_share(void **state)
{
    (void)state;
    static struct x25519mlkem768_client st;
    uint8_t cshare[X25519MLKEM768_CLIENT_SHARE_LEN], sshare[X25519MLKEM768_SERVER_SHARE_LEN], sec[64];
    assert_int_equal(x25519mlkem768_client_keygen(&st, cshare), 0);
    uint8_t saved[2] = {cshare[0], cshare[1]};
    cshare[0] = 0xFF;
    cshare[1] |= 0x0F; /* first coefficient = 4095 */
    assert_int_equal(x25519mlkem768_server_encaps(cshare, sizeof cshare, sshare, sec), ERR_MALFORMED);
    assert_memory_equal(sec, zero64, 64);
    cshare[0] = saved[0];
    cshare[1] = saved[1];
    memset(cshare + 1184, 0, 32); /* X25519 point of order 1: all-zero shared secret */
    assert_int_equal(x25519mlkem768_server_encaps(cshare, sizeof cshare, sshare, sec), ERR_CRYPTO);
    assert_memory_equal(sec, zero64, 64);
    x25519mlkem768_client_wipe(&st);
}

/* A modified ciphertext changes only the ML-KEM half (implicit rejection); a low-order server
 * X25519 key is an error. */
static void test_bad_server_share(void **state)
{
    (void)state;
    static struct x25519mlkem768_client st;
    uint8_t cshare[X25519MLKEM768_CLIENT_SHARE_LEN], sshare[X25519MLKEM768_SERVER_SHARE_LEN];
    uint8_t ssec[64], csec[64];
    assert_int_equal(x25519mlkem768_client_keygen(&st, cshare), 0);
    assert_int_equal(x25519mlkem768_server_encaps(cshare, sizeof cshare, sshare, ssec), 0);
    sshare[17] ^= 0x01;
    assert_int_equal(x25519mlkem768_client_decaps(&st, sshare, sizeof sshare, csec), 0);
    assert_memory_not_equal(csec, ssec, 32);
    assert_memory_equal(csec + 32, ssec + 32, 32);
    sshare[17] ^= 0x01;
    memset(sshare + 1088, 0, 32);
    assert_int_equal(x25519mlkem768_client_decaps(&st, sshare, sizeof sshare, csec), ERR_CRYPTO);
    assert_memory_equal(csec, zero64, 64);
    x25519mlkem768_client_wipe(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constants),        cmocka_unit_test(test_layout_seeded),
        cmocka_unit_test(test_agreement_random), cmocka_unit_test(test_bad_lengths),
        cmocka_unit_test(test_bad_client_share), cmocka_unit_test(test_bad_server_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
