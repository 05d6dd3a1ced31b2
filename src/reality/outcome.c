/* Outcome names and process-wide counters. */
#include <stdatomic.h>
#include <stddef.h>

#include "core/err.h"
#include "core/metrics.h"
#include "reality/outcome.h"

static const char *const names[REALITY_OUTCOME__COUNT] = {
    [REALITY_OUTCOME_AUTHENTICATED] = "authenticated",
    [REALITY_OUTCOME_MALFORMED] = "no_client_hello",
    [REALITY_OUTCOME_NOT_TLS13] = "not_tls13",
    [REALITY_OUTCOME_SNI_MISMATCH] = "sni_mismatch",
    [REALITY_OUTCOME_NO_X25519_SHARE] = "no_x25519_share",
    [REALITY_OUTCOME_BAD_KEY_SHARE] = "bad_key_share",
    [REALITY_OUTCOME_DECRYPT_FAILED] = "decrypt_failed",
    [REALITY_OUTCOME_CLIENT_VERSION] = "client_version",
    [REALITY_OUTCOME_TIME] = "time_diff",
    [REALITY_OUTCOME_SHORT_ID] = "short_id",
    [REALITY_OUTCOME_TARGET_FIRST] = "target_spoke_first",
    [REALITY_OUTCOME_TARGET_BAD_SERVER_HELLO] = "target_bad_server_hello",
    [REALITY_OUTCOME_TARGET_BAD_FLIGHT] = "target_bad_flight",
    [REALITY_OUTCOME_HANDSHAKE_FAILED] = "handshake_failed",
    [REALITY_OUTCOME_DIAL_FAILED] = "dial_failed",
};

static _Atomic uint64_t counters[REALITY_OUTCOME__COUNT];

const char *reality_outcome_str(enum reality_outcome o)
{
    if ((unsigned)o >= REALITY_OUTCOME__COUNT)
        return "unknown";
    return names[o];
}

const char *reality_outcome_upstream_str(enum reality_outcome o)
{
    switch (o) {
    case REALITY_OUTCOME_NO_X25519_SHARE:
    case REALITY_OUTCOME_BAD_KEY_SHARE:
    case REALITY_OUTCOME_DECRYPT_FAILED:
    case REALITY_OUTCOME_CLIENT_VERSION:
    case REALITY_OUTCOME_TIME:
    case REALITY_OUTCOME_SHORT_ID:
        return "auth_failed";
    case REALITY_OUTCOME_TARGET_FIRST:
    case REALITY_OUTCOME_TARGET_BAD_FLIGHT:
        return "target_bad_server_hello";
    default:
        return reality_outcome_str(o);
    }
}

void reality_outcome_count(enum reality_outcome o)
{
    if ((unsigned)o < REALITY_OUTCOME__COUNT)
        atomic_fetch_add_explicit(&counters[o], 1, memory_order_relaxed);
}

uint64_t reality_outcome_get(enum reality_outcome o)
{
    if ((unsigned)o >= REALITY_OUTCOME__COUNT)
        return 0;
    return atomic_load_explicit(&counters[o], memory_order_relaxed);
}

void reality_outcome_snapshot(uint64_t out[REALITY_OUTCOME__COUNT])
{
    for (size_t i = 0; i < REALITY_OUTCOME__COUNT; i++)
        out[i] = atomic_load_explicit(&counters[i], memory_order_relaxed);
}

/* Render-time refresh: counters only grow, so add the difference. */
static void collect(struct metrics_family *f, void *arg)
{
    (void)arg;
    for (int o = 0; o < REALITY_OUTCOME__COUNT; o++) {
        const char *label = names[o];
        struct metrics_series *s = metrics_series(f, &label);
        if (s == NULL)
            continue;
        uint64_t have = metrics_counter_value(s), now = reality_outcome_get((enum reality_outcome)o);
        if (now > have)
            metrics_add(s, now - have);
    }
}

int reality_outcome_register_metrics(struct metrics_registry *r)
{
    static const char *const labels[] = {"outcome"};
    struct metrics_family *f =
        metrics_family_new(r, METRICS_COUNTER, "veil_reality_outcomes_total",
                           "REALITY connections by outcome (authenticated or the fallback/close reason).", labels, 1,
                           NULL, 0, REALITY_OUTCOME__COUNT + 1);
    if (f == NULL)
        return ERR_EXISTS;
    metrics_family_on_collect(f, collect, NULL);
    return 0;
}
