/* Fuzz target: the record layer. Parses a stream of record headers and opens protected
 * records under a fixed key for each suite (first byte picks the suite and sequence);
 * checks that sealing any plaintext to an exact length round-trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "tls13/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303};
    static uint8_t scratch[TLS13_MAX_CIPHERTEXT];
    if (size < 1)
        return 0;
    const struct tls13_suite *s = tls13_suite_by_id(suites[data[0] % 3]);
    uint8_t secret[48];
    memset(secret, 0x33, sizeof(secret));
    struct tls13_cipher rd = {0}, wr = {0};
    if (tls13_cipher_init(&rd, s, secret, false) < 0 || tls13_cipher_init(&wr, s, secret, true) < 0)
        abort();
    rd.seq = data[0] >> 2;
    data++;
    size--;

    /* a stream of records */
    size_t pos = 0;
    while (pos < size) {
        struct tls13_record_hdr h;
        if (tls13_record_parse_header(data + pos, size - pos, &h) < 0)
            break;
        if (size - pos < TLS13_RECORD_HDR_LEN + h.len)
            break;
        if (h.type == TLS13_CT_APPLICATION_DATA) {
            uint8_t type;
            size_t n;
            if (tls13_record_open(&rd, data + pos, TLS13_RECORD_HDR_LEN + h.len, scratch, &type, &n) == 0 && n > h.len)
                abort();
        }
        pos += TLS13_RECORD_HDR_LEN + h.len;
    }

    /* round trip: the input as content, padded to an input-derived exact length */
    size_t len = size > TLS13_MAX_PLAINTEXT ? TLS13_MAX_PLAINTEXT : size;
    size_t total = TLS13_RECORD_OVERHEAD + len + (size > 2 ? (size_t)(data[0] | data[1] << 8) % 512 : 0);
    struct buf out;
    buf_init(&out);
    int rc = tls13_record_seal_to(&wr, TLS13_CT_APPLICATION_DATA, data, len, total, &out);
    if (rc == 0) {
        struct tls13_cipher rd2 = {0};
        uint8_t type;
        size_t n;
        if (buf_len(&out) != total || tls13_cipher_init(&rd2, s, secret, false) < 0 ||
            tls13_record_open(&rd2, buf_data(&out), buf_len(&out), scratch, &type, &n) < 0 || n != len ||
            type != TLS13_CT_APPLICATION_DATA || (len > 0 && memcmp(scratch, data, len) != 0))
            abort();
        tls13_cipher_dispose(&rd2);
    } else if (rc != ERR_TOO_LONG) {
        abort();
    }
    buf_dispose(&out);
    tls13_cipher_dispose(&rd);
    tls13_cipher_dispose(&wr);
    return 0;
}
