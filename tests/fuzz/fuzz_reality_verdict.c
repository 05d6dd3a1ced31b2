/* Fuzz target: `veil scan`'s verdict (reality/verdict.h) over arbitrary target bytes classified by
 * the node's flight classifier. Byte 0 picks what our TLS client reported; the verdict must
 * be in range, its text and detail printable, and "suitable" only for a READY plan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reality/verdict.h"
#include "core/err.h"
#include "tls13/tls13.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int rcs[4] = {0, ERR_NEED_MORE, TLS13_ERR_SEND(TLS13_ALERT_PROTOCOL_VERSION),
                               TLS13_ERR_PEER(TLS13_ALERT_HANDSHAKE_FAILURE)};
    if (size < 1)
        return 0;
    int tls_rc = rcs[data[0] & 3];
    struct reality_target t;
    reality_target_init(&t);
    size_t used = 0;
    if (size > 1 && reality_target_feed(&t, data + 1, size - 1, &used) < 0)
        abort();
    const char *detail = NULL;
    enum reality_verdict v = reality_verdict_judge(&t, tls_rc, &detail);
    if ((unsigned)v >= REALITY_V__COUNT || strlen(reality_verdict_text(v)) == 0 ||
        (detail != NULL && strlen(detail) == 0))
        abort();
    if (v == REALITY_V_SUITABLE && t.state != REALITY_TARGET_ST_READY)
        abort();
    (void)reality_verdict_is_hrr(reality_target_received(&t));
    reality_target_dispose(&t);
    return 0;
}
