/* Fuzz target: the target-flight classifier of REALITY (spec §5) on arbitrary server bytes,
 * fed in reads whose size comes from the first input byte. Checks the plan's invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "reality/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] * 37 + 1;
    data++;
    size--;
    struct reality_target t;
    reality_target_init(&t);
    size_t off = 0, used;
    while (off < size && t.state == REALITY_TARGET_ST_EXPECT_RECORDS) {
        size_t k = size - off < step ? size - off : step;
        if (reality_target_feed(&t, data + off, k, &used) < 0)
            abort();
        off += used;
    }
    struct bytes all = reality_target_received(&t);
    if (all.len != off || (off > 0 && memcmp(all.p, data, off) != 0))
        abort();
    if (t.state == REALITY_TARGET_ST_READY) {
        const struct reality_target_plan *p = &t.plan;
        if (p->lens[REALITY_SLOT_CCS] != 6 || p->lens[REALITY_SLOT_SERVER_HELLO] < 5 ||
            (p->key_share_len != 32 && p->key_share_len != 1120))
            abort();
        for (int i = 0; i < REALITY_SLOT__COUNT; i++)
            if (p->lens[i] > REALITY_TARGET_MAX_BUFFERED)
                abort();
        struct bytes msg = reality_target_server_hello_msg(&t);
        if (p->sh_key_share_offset + p->key_share_len > msg.len)
            abort();
        uint8_t share[1120];
        memset(share, 0xa5, sizeof(share));
        struct buf out;
        buf_init(&out);
        if (reality_target_build_server_hello(&t, share, p->key_share_len, &out) < 0 ||
            buf_len(&out) != p->lens[REALITY_SLOT_SERVER_HELLO])
            abort();
        buf_dispose(&out);
        size_t lens[4], n, pad;
        reality_plan_flight_layout(p, lens, &n);
        if (n != (p->combined ? 1u : 4u))
            abort();
        for (int i = REALITY_SLOT_ENCRYPTED_EXTENSIONS; i < REALITY_SLOT__COUNT; i++)
            (void)reality_plan_pad(p, (enum reality_slot)i, 6, &pad);
        (void)reality_target_tail_pending(&t);
    } else if (t.state == REALITY_TARGET_ST_EXPECT_RECORDS && off != size) {
        abort();
    }
    reality_target_dispose(&t);
    return 0;
}
