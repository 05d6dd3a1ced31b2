/* Load rates between usage pushes (load.h). */
#include "node/load.h"

void node_load_sample(struct node_load_meter *m, uint64_t now_ms, uint64_t cpu_us, uint64_t bytes, unsigned ncpu,
                      uint64_t *cpu_pct, uint64_t *bps)
{
    *cpu_pct = 0;
    *bps = 0;
    if (m->at_ms != 0 && now_ms > m->at_ms) {
        uint64_t dt_ms = now_ms - m->at_ms;
        if (cpu_us >= m->cpu_us && ncpu > 0) {
            /* used_us / (dt_ms * 1000 * ncpu) * 100, rounded down, capped at 100 */
            uint64_t used = cpu_us - m->cpu_us, avail = dt_ms * 10u * ncpu;
            uint64_t pct = used / avail;
            *cpu_pct = pct > 100 ? 100 : pct;
        }
        if (bytes >= m->bytes)
            *bps = (bytes - m->bytes) / dt_ms * 1000u + (bytes - m->bytes) % dt_ms * 1000u / dt_ms;
    }
    m->at_ms = now_ms;
    m->cpu_us = cpu_us;
    m->bytes = bytes;
}

uint64_t node_load_handshakes(struct node_load_meter *m, uint64_t total)
{
    uint64_t d = total >= m->handshakes ? total - m->handshakes : 0;
    m->handshakes = total;
    return d;
}
