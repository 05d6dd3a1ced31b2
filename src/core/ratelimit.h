/* Token bucket for byte rates: REALITY limitFallbackUpload/Download and per-user speed limits.
 * Pure: the caller passes the monotonic clock in milliseconds. */
#ifndef VEIL_CORE_RATELIMIT_H
#define VEIL_CORE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
    uint64_t rate;        /* bytes per second; 0 = unlimited */
    uint64_t capacity;    /* bucket size in bytes */
    uint64_t after;       /* first `after` bytes pass free (REALITY afterBytes) */
    uint64_t passed;      /* bytes seen so far */
    int64_t tokens_milli; /* tokens in 1/1000 byte, may go negative (debt) */
    int64_t last_ms;
};

/* capacity = max(burst, rate) as in Xray; the bucket starts full. */
void ratelimit_init(struct ratelimit *rl, uint64_t bytes_per_sec, uint64_t burst, uint64_t after_bytes, int64_t now_ms);
/* Charges n bytes that were just read or are about to be sent. Returns 0 when the caller may
 * go on now, or the number of milliseconds to wait before reading again (the debt is already
 * booked: a read larger than the bucket waits proportionally). */
int64_t ratelimit_charge(struct ratelimit *rl, uint64_t n, int64_t now_ms);
/* How many bytes may pass right now without waiting (UINT64_MAX when unlimited). */
uint64_t ratelimit_available(struct ratelimit *rl, int64_t now_ms);
static inline bool ratelimit_enabled(const struct ratelimit *rl)
{
    return rl->rate != 0;
}

#endif
