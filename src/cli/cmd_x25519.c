/* `veil x25519 [-i PRIVATE_KEY] [--std-encoding]`: a REALITY key pair, printed exactly as
 * `xray x25519` prints it (spec/config-and-links.md §3.1), so scripts written for Xray work. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/blake3.h"
#include "cli/cli.h"
#include "core/cfg.h"
#include "core/enc.h"
#include "core/secure.h"
#include "crypto/crypto.h"

static void usage(FILE *out)
{
    fputs("usage: veil x25519 [-i PRIVATE_KEY] [--std-encoding]\n"
          "  Generates a REALITY X25519 key pair (or derives it from -i PRIVATE_KEY) and prints\n"
          "  PrivateKey (server privateKey), Password (PublicKey) (client password / link pbk) and Hash32.\n"
          "  --std-encoding  print standard base64 instead of base64url\n",
          out);
}

int cli_x25519_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, NULL, 'i'},
        {"std-encoding", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *input = NULL;
    enum b64_variant enc = B64_RAW_URL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'i':
            input = optarg;
            break;
        case 's':
            enc = B64_STD;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }

    uint8_t priv[32], pub[32], hash[32];
    if (input) {
        if (cfg_decode_key32(input, priv) < 0) {
            fprintf(stderr, "veil x25519: -i: expected a 32-byte key in base64url (43 characters)\n");
            return CLI_EXIT_USAGE;
        }
    } else if (crypto_random(priv, sizeof(priv)) < 0) {
        fprintf(stderr, "veil x25519: no randomness available\n");
        return CLI_EXIT_FAIL;
    }
    /* Clamp as Xray does, so the printed private key is the canonical one. */
    priv[0] &= 248;
    priv[31] &= 127;
    priv[31] |= 64;
    if (crypto_x25519_public(priv, pub) < 0 || blake3_hash_short(pub, sizeof(pub), hash) < 0) {
        secure_wipe(priv, sizeof(priv));
        fprintf(stderr, "veil x25519: key derivation failed\n");
        return CLI_EXIT_FAIL;
    }
    char spriv[64], spub[64], shash[64];
    b64_encode(spriv, priv, 32, enc);
    b64_encode(spub, pub, 32, enc);
    b64_encode(shash, hash, 32, enc);
    printf("PrivateKey: %s\nPassword (PublicKey): %s\nHash32: %s\n", spriv, spub, shash);
    secure_wipe(priv, sizeof(priv));
    secure_wipe(spriv, sizeof(spriv));
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
