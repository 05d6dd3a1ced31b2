/* Fuzz target: crypto_cert_info over arbitrary bytes (a REALITY target's leaf certificate as
 * the node's target check and `veil scan` receive it). Must not crash or leak; a parsed
 * certificate has a validity period and a bounded, terminated CN. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct crypto_cert_info ci;
    if (crypto_cert_info(data, size, "www.example.com", &ci) == 0 &&
        strnlen(ci.subject_cn, sizeof(ci.subject_cn)) == sizeof(ci.subject_cn))
        abort();
    return 0;
}
