/* Live load for the hub's placement (ctl/sync.h struct sync_health: cpu, bytes_per_sec): rates
 * over the interval between two usage pushes, from cumulative counters. Pure: the caller reads
 * the clock, the process CPU time and the byte counters. */
#ifndef VEIL_NODE_LOAD_H
#define VEIL_NODE_LOAD_H

#include <stdint.h>

struct node_load_meter {
    uint64_t at_ms;      /* 0: no sample yet */
    uint64_t cpu_us;     /* process CPU time (user + system) at at_ms */
    uint64_t bytes;      /* client bytes (both directions) at at_ms */
    uint64_t handshakes; /* authenticated client handshakes counted at the previous push */
};

/* Takes a sample and gives the rates since the previous one: *cpu_pct is the CPU time used as a
 * percentage of all ncpu cores (0..100), *bps bytes per second. The first sample, a clock that did
 * not advance or counters that went backwards give 0 for the affected figure. */
void node_load_sample(struct node_load_meter *m, uint64_t now_ms, uint64_t cpu_us, uint64_t bytes, unsigned ncpu,
                      uint64_t *cpu_pct, uint64_t *bps);

/* Client handshakes since the previous call, from the process's running total (REALITY
 * authenticated connections): the hub's "unreachable from clients" signal. A total that went
 * backwards gives 0. */
uint64_t node_load_handshakes(struct node_load_meter *m, uint64_t total);

#endif
