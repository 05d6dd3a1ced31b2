/* Fuzz target: untrusted ML-KEM-768 / X25519MLKEM768 inputs. The bytes are tried as an
 * encapsulation key (check + Encaps), as a ciphertext for a fixed decapsulation key (Decaps),
 * as a decapsulation key, and as the two hybrid key shares. Inputs are used both as given
 * (length checks) and cut/zero-padded to the exact size (to reach the arithmetic). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hybrid_x25519mlkem768.h"
#include "crypto/mlkem768.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t fixed_ek[MLKEM768_EK_LEN], fixed_dk[MLKEM768_DK_LEN];
static struct x25519mlkem768_client fixed_client;
static int ready;

static void setup(void)
{
    uint8_t seed[X25519MLKEM768_CLIENT_SEED_LEN];
    for (size_t i = 0; i < sizeof seed; i++)
        seed[i] = (uint8_t)i;
    if (mlkem768_keygen_internal(seed, seed + 32, fixed_ek, fixed_dk) != 0)
        abort();
    uint8_t share[X25519MLKEM768_CLIENT_SHARE_LEN];
    if (x25519mlkem768_client_keygen_seeded(&fixed_client, seed, share) != 0)
        abort();
    ready = 1;
}

/* Copies up to n bytes of data into a zeroed buffer of exactly n bytes. */
static void fit(uint8_t *buf, size_t n, const uint8_t *data, size_t size)
{
    memset(buf, 0, n);
    if (size > 0)
        memcpy(buf, data, size < n ? size : n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup();
    static const uint8_t m[32] = {42};
    static uint8_t buf[MLKEM768_DK_LEN];
    uint8_t ct[MLKEM768_CT_LEN], ss[32], ss2[32], sec[X25519MLKEM768_SECRET_LEN];
    uint8_t sshare[X25519MLKEM768_SERVER_SHARE_LEN];

    /* As an encapsulation key: the check and Encaps must agree. */
    int chk = mlkem768_check_ek(data, size);
    if (mlkem768_encaps_internal(data, size, m, ct, ss) != chk)
        abort();
    fit(buf, MLKEM768_EK_LEN, data, size);
    chk = mlkem768_check_ek(buf, MLKEM768_EK_LEN);
    if (mlkem768_encaps_internal(buf, MLKEM768_EK_LEN, m, ct, ss) != chk)
        abort();

    /* As a ciphertext for the fixed key: any 1088 bytes decapsulate, deterministically. */
    (void)mlkem768_decaps(fixed_dk, sizeof fixed_dk, data, size, ss);
    fit(buf, MLKEM768_CT_LEN, data, size);
    if (mlkem768_decaps(fixed_dk, sizeof fixed_dk, buf, MLKEM768_CT_LEN, ss) != 0 ||
        mlkem768_decaps(fixed_dk, sizeof fixed_dk, buf, MLKEM768_CT_LEN, ss2) != 0 || memcmp(ss, ss2, 32) != 0)
        abort();

    /* As a decapsulation key (almost always fails the hash check). */
    fit(buf, MLKEM768_DK_LEN, data, size);
    chk = mlkem768_check_dk(buf, MLKEM768_DK_LEN);
    if (mlkem768_decaps(buf, MLKEM768_DK_LEN, ct, sizeof ct, ss) != chk)
        abort();

    /* As hybrid shares. */
    (void)x25519mlkem768_server_encaps(data, size, sshare, sec);
    (void)x25519mlkem768_client_decaps(&fixed_client, data, size, sec);
    fit(buf, X25519MLKEM768_CLIENT_SHARE_LEN, data, size);
    (void)x25519mlkem768_server_encaps(buf, X25519MLKEM768_CLIENT_SHARE_LEN, sshare, sec);
    fit(buf, X25519MLKEM768_SERVER_SHARE_LEN, data, size);
    (void)x25519mlkem768_client_decaps(&fixed_client, buf, X25519MLKEM768_SERVER_SHARE_LEN, sec);
    return 0;
}
