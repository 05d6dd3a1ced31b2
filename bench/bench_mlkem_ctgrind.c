/* Constant-time check driver for ML-KEM-768, run under valgrind memcheck by
 * tests/integration/test_mlkem_ctgrind.sh (which builds it with -DMLKEM768_CTGRIND, no ASan).
 * The secret inputs (d, z, m, and the secret parts of dk: dk_pke and z) are marked undefined;
 * memcheck then reports any branch or memory index that depends on them. Values that are
 * public by design (rho, ek, the ciphertext) are declassified inside the library.
 * Built as a plain benchmark executable too, where the marks are no-ops. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define HAVE_MEMCHECK 1
#endif
#endif
#ifndef HAVE_MEMCHECK
#define VALGRIND_MAKE_MEM_UNDEFINED(p, n) ((void)(p), (void)(n))
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif

#include "crypto/mlkem768.h"

#define PKE_DK_LEN 1152 /* dk_pke, the secret vector s */

static uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN], ct[MLKEM768_CT_LEN], bad_ct[MLKEM768_CT_LEN];

static void secret_dk(void)
{
    VALGRIND_MAKE_MEM_UNDEFINED(dk, PKE_DK_LEN);
    VALGRIND_MAKE_MEM_UNDEFINED(dk + MLKEM768_DK_LEN - 32, 32);
}

int main(void)
{
    uint8_t d[32], z[32], m[32], ss_enc[32], ss_dec[32], ss_rej[32];
    for (size_t i = 0; i < 32; i++) {
        d[i] = (uint8_t)(i * 3 + 1);
        z[i] = (uint8_t)(i * 5 + 2);
        m[i] = (uint8_t)(i * 7 + 3);
    }
    int rc = 0;
    for (int round = 0; round < 3 && rc == 0; round++) {
        d[0] = (uint8_t)round;
        VALGRIND_MAKE_MEM_UNDEFINED(d, sizeof d);
        VALGRIND_MAKE_MEM_UNDEFINED(z, sizeof z);
        rc |= mlkem768_keygen_internal(d, z, ek, dk);

        VALGRIND_MAKE_MEM_UNDEFINED(m, sizeof m);
        rc |= mlkem768_encaps_internal(ek, sizeof ek, m, ct, ss_enc);

        secret_dk();
        rc |= mlkem768_decaps(dk, sizeof dk, ct, sizeof ct, ss_dec); /* valid ciphertext */

        memcpy(bad_ct, ct, sizeof ct);
        bad_ct[round * 100] ^= 0x04;
        secret_dk();
        rc |= mlkem768_decaps(dk, sizeof dk, bad_ct, sizeof bad_ct, ss_rej); /* implicit rejection */

        /* Only now look at the results. */
        VALGRIND_MAKE_MEM_DEFINED(ss_enc, sizeof ss_enc);
        VALGRIND_MAKE_MEM_DEFINED(ss_dec, sizeof ss_dec);
        VALGRIND_MAKE_MEM_DEFINED(ss_rej, sizeof ss_rej);
        VALGRIND_MAKE_MEM_DEFINED(d, sizeof d);
        VALGRIND_MAKE_MEM_DEFINED(z, sizeof z);
        VALGRIND_MAKE_MEM_DEFINED(m, sizeof m);
        VALGRIND_MAKE_MEM_DEFINED(dk, sizeof dk);
        if (rc == 0 && (memcmp(ss_enc, ss_dec, 32) != 0 || memcmp(ss_enc, ss_rej, 32) == 0)) {
            fprintf(stderr, "ctgrind: wrong shared secrets in round %d\n", round);
            return 1;
        }
    }
    if (rc != 0) {
        fprintf(stderr, "ctgrind: ML-KEM call failed\n");
        return 1;
    }
    printf("ctgrind: keygen, encaps, decaps (valid and rejected) ran\n");
    return 0;
}
