/* ML-KEM-768 and X25519MLKEM768 operations per second, next to X25519 in the same run.
 * Usage: bench_mlkem [seconds-per-op]   (default 1). Build without sanitizers for real numbers.
 * Time is process CPU time, so a busy machine skews the numbers less than wall time would. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "crypto/crypto.h"
#include "crypto/hybrid_x25519mlkem768.h"
#include "crypto/mlkem768.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN], ct[MLKEM768_CT_LEN], bad_ct[MLKEM768_CT_LEN];
static uint8_t xpriv[32], xpub[32], xpeer[32];
static struct x25519mlkem768_client hyb;
static uint8_t cshare[X25519MLKEM768_CLIENT_SHARE_LEN], sshare[X25519MLKEM768_SERVER_SHARE_LEN];
static volatile uint8_t sink;

enum op {
    OP_KEYGEN = 0,
    OP_ENCAPS,
    OP_DECAPS,
    OP_DECAPS_REJECT,
    OP_X25519_KEYGEN,
    OP_X25519_DERIVE,
    OP_HYBRID_CLIENT_KEYGEN,
    OP_HYBRID_SERVER,
    OP_HYBRID_CLIENT_FINISH,
    OP__COUNT, /* sentinel */
};

static const char *const op_names[OP__COUNT] = {
    "mlkem768 keygen", "mlkem768 encaps",      "mlkem768 decaps",        "mlkem768 decaps (rej)", "x25519 keygen",
    "x25519 derive",   "hybrid client keygen", "hybrid server (encaps)", "hybrid client finish",
};

static int run_op(enum op op)
{
    uint8_t ss[64];
    int rc = 0;
    switch (op) {
    case OP_KEYGEN:
        rc = mlkem768_keygen(ek, dk);
        break;
    case OP_ENCAPS:
        rc = mlkem768_encaps(ek, sizeof ek, ct, ss);
        break;
    case OP_DECAPS:
        rc = mlkem768_decaps(dk, sizeof dk, ct, sizeof ct, ss);
        break;
    case OP_DECAPS_REJECT:
        rc = mlkem768_decaps(dk, sizeof dk, bad_ct, sizeof bad_ct, ss);
        break;
    case OP_X25519_KEYGEN:
        rc = crypto_x25519_keypair(xpriv, xpub);
        break;
    case OP_X25519_DERIVE:
        rc = crypto_x25519(ss, xpriv, xpeer);
        break;
    case OP_HYBRID_CLIENT_KEYGEN:
        rc = x25519mlkem768_client_keygen(&hyb, cshare);
        break;
    case OP_HYBRID_SERVER:
        rc = x25519mlkem768_server_encaps(cshare, sizeof cshare, sshare, ss);
        break;
    case OP_HYBRID_CLIENT_FINISH:
        rc = x25519mlkem768_client_decaps(&hyb, sshare, sizeof sshare, ss);
        break;
    case OP__COUNT:
        break;
    }
    sink ^= ss[0];
    return rc;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    if (secs <= 0)
        secs = 1.0;
    uint8_t ss[64], ppriv[32];
    if (mlkem768_keygen(ek, dk) != 0 || mlkem768_encaps(ek, sizeof ek, ct, ss) != 0 ||
        crypto_x25519_keypair(ppriv, xpeer) != 0 || crypto_x25519_keypair(xpriv, xpub) != 0 ||
        x25519mlkem768_client_keygen(&hyb, cshare) != 0 ||
        x25519mlkem768_server_encaps(cshare, sizeof cshare, sshare, ss) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    for (size_t i = 0; i < sizeof bad_ct; i++)
        bad_ct[i] = (uint8_t)(ct[i] ^ (i == 7));
    printf("%-24s %12s %12s\n", "operation", "ops/s", "us/op");
    for (int op = 0; op < OP__COUNT; op++) {
        /* Keep keygen results consistent with the ciphertext used by decaps. */
        uint8_t ek0[MLKEM768_EK_LEN], dk0[MLKEM768_DK_LEN];
        if (op == OP_KEYGEN) {
            for (size_t i = 0; i < sizeof ek; i++)
                ek0[i] = ek[i];
            for (size_t i = 0; i < sizeof dk; i++)
                dk0[i] = dk[i];
        }
        unsigned long n = 0;
        double t0 = now(), t;
        do {
            for (int k = 0; k < 16; k++) {
                if (run_op((enum op)op) != 0) {
                    fprintf(stderr, "%s failed\n", op_names[op]);
                    return 1;
                }
            }
            n += 16;
            t = now() - t0;
        } while (t < secs);
        if (op == OP_KEYGEN) {
            for (size_t i = 0; i < sizeof ek; i++)
                ek[i] = ek0[i];
            for (size_t i = 0; i < sizeof dk; i++)
                dk[i] = dk0[i];
        }
        printf("%-24s %12.0f %12.2f\n", op_names[op], (double)n / t, t * 1e6 / (double)n);
    }
    x25519mlkem768_client_wipe(&hyb);
    return 0;
}
