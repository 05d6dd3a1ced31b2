#include "core/ratelimit.h"

void ratelimit_init(struct ratelimit *rl, uint64_t bytes_per_sec, uint64_t burst, uint64_t after_bytes, int64_t now_ms)
{
    rl->rate = bytes_per_sec;
    rl->capacity = burst > bytes_per_sec ? burst : bytes_per_sec;
    rl->after = after_bytes;
    rl->passed = 0;
    rl->tokens_milli = (int64_t)(rl->capacity > INT64_MAX / 1000 ? INT64_MAX / 1000 : rl->capacity) * 1000;
    rl->last_ms = now_ms;
}

static void refill(struct ratelimit *rl, int64_t now_ms)
{
    if (now_ms <= rl->last_ms)
        return;
    int64_t elapsed = now_ms - rl->last_ms;
    rl->last_ms = now_ms;
    /* rate bytes/s = rate milli-bytes/ms */
    int64_t add = (int64_t)rl->rate > INT64_MAX / elapsed ? INT64_MAX : (int64_t)rl->rate * elapsed;
    int64_t cap = (int64_t)(rl->capacity > INT64_MAX / 1000 ? INT64_MAX / 1000 : rl->capacity) * 1000;
    rl->tokens_milli = rl->tokens_milli > cap - add ? cap : rl->tokens_milli + add;
}

int64_t ratelimit_charge(struct ratelimit *rl, uint64_t n, int64_t now_ms)
{
    if (rl->rate == 0)
        return 0;
    if (rl->passed < rl->after) {
        /* The read that crosses the threshold is not throttled (spec/reality.md §6). */
        rl->passed = n > UINT64_MAX - rl->passed ? UINT64_MAX : rl->passed + n;
        return 0;
    }
    rl->passed = n > UINT64_MAX - rl->passed ? UINT64_MAX : rl->passed + n;
    refill(rl, now_ms);
    int64_t cost = n > (uint64_t)(INT64_MAX / 2000) ? INT64_MAX / 2 : (int64_t)n * 1000;
    rl->tokens_milli -= cost;
    if (rl->tokens_milli >= 0)
        return 0;
    /* Wait until the debt is paid: debt / rate milli-bytes per ms, rounded up. */
    int64_t debt = -rl->tokens_milli;
    return (debt + (int64_t)rl->rate - 1) / (int64_t)rl->rate;
}

uint64_t ratelimit_available(struct ratelimit *rl, int64_t now_ms)
{
    if (rl->rate == 0)
        return UINT64_MAX;
    if (rl->passed < rl->after)
        return rl->after - rl->passed;
    refill(rl, now_ms);
    return rl->tokens_milli > 0 ? (uint64_t)rl->tokens_milli / 1000 : 0;
}
