/* Fuzz target: what an admin login or token request carries that is new with access hardening:
 * the TOTP code field (crypto/totp, or a recovery code), a base32 secret (core/base32), a scope list (hub/api/
 * api_scope) and the "api" configuration section with its CIDR list (api_access_cfg). The first
 * byte picks the parser. Accepted values must round-trip; nothing may crash or leak. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base32.h"
#include "crypto/totp.h"
#include "hub/api/api_access.h"
#include "hub/api/api_scope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0: {
        uint32_t code;
        if (totp_parse_code(in, n, 6, &code) == 0 && (n != 6 || code > 999999))
            abort();
        /* the same field may hold a recovery code: its stored form is a fixed point */
        char rec[API_RECOVERY_CODE_LEN + 1], again[API_RECOVERY_CODE_LEN + 1];
        if (api_recovery_code_normalize(in, n, rec) &&
            (strlen(rec) != API_RECOVERY_CODE_LEN || !api_recovery_code_normalize(rec, strlen(rec), again) ||
             strcmp(rec, again) != 0))
            abort();
        break;
    }
    case 1: {
        uint8_t out[128], again[128];
        char enc[256];
        size_t len = 0, len2 = 0;
        if (base32_decode(out, sizeof out, &len, in, n) == 0) {
            base32_encode(enc, out, len);
            if (base32_decode(again, sizeof again, &len2, enc, strlen(enc)) != 0 || len2 != len ||
                memcmp(out, again, len) != 0)
                abort();
        }
        break;
    }
    case 2: {
        uint32_t mask, mask2;
        char text[API_SCOPES_TEXT_MAX];
        if (api_scopes_parse(in, n, &mask) == 0) {
            if (mask >> API_SCOPE__COUNT)
                abort();
            api_scopes_format(mask, text);
            if (api_scopes_parse(text, strlen(text), &mask2) != 0 || mask2 != mask)
                abort();
        }
        break;
    }
    default: {
        json_error_t je;
        json_t *j = json_loadb(in, n, 0, &je);
        struct api_access_cfg c;
        char err[256];
        if (j != NULL && api_access_cfg_parse(j, &c, err, sizeof err) == 0 &&
            (c.n_allow > API_ALLOW_MAX || c.lock_window == 0 || c.totp_issuer[0] == '\0'))
            abort();
        json_decref(j);
        break;
    }
    }
    return 0;
}
