#include "crypto/uuid5.h"

#include <string.h>

#include "core/enc.h"
#include "core/err.h"
#include "crypto/crypto.h"

int uuid_from_string(uint8_t id[static 16], const char *s, size_t len)
{
    if (len >= 32 && len <= 36)
        return uuid_parse(id, s, len);
    if (len == 0 || len > 30)
        return ERR_MALFORMED;
    uint8_t in[16 + 30] = {0}; /* namespace: 16 zero bytes */
    memcpy(in + 16, s, len);
    uint8_t digest[CRYPTO_HASH_MAX];
    TRY(crypto_hash(CRYPTO_SHA1, in, 16 + len, digest));
    memcpy(id, digest, 16);
    id[6] = (uint8_t)((id[6] & 0x0f) | 0x50);
    id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
    return 0;
}
