/* The pure parts of target rotation (hub/targets/targets.h): the decision and the grace list. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/targets/targets.h"

void targets_cfg_defaults(struct targets_cfg *c)
{
    *c = (struct targets_cfg){
        .rotate_failures = 20,
        .window_sec = 600,
        .rotate_on_verdict = true,
        .grace_sec = 7 * 86400,
        .check_sec = 30,
        .cooldown_sec = 600,
    };
}

const char *targets_reason_str(enum targets_reason r)
{
    static const char *const s[TARGETS_R__COUNT] = {"none", "failures", "verdict", "manual"};
    return (unsigned)r < TARGETS_R__COUNT ? s[r] : "unknown";
}

enum targets_reason targets_decide(const struct targets_cfg *c, uint64_t failures, const char *verdict, bool pinned,
                                   int64_t now, int64_t rotated_at)
{
    if (pinned || (rotated_at > 0 && now - rotated_at < (int64_t)c->cooldown_sec))
        return TARGETS_R_NONE;
    if (c->rotate_failures > 0 && failures >= c->rotate_failures)
        return TARGETS_R_FAILURES;
    if (c->rotate_on_verdict && verdict != NULL && verdict[0] != '\0' && strcmp(verdict, "suitable") != 0 &&
        strcmp(verdict, "unknown") != 0)
        return TARGETS_R_VERDICT;
    return TARGETS_R_NONE;
}

void targets_grace_parse(const char *s, struct targets_grace *g)
{
    memset(g, 0, sizeof(*g));
    while (s != NULL && *s != '\0' && g->n < TARGETS_GRACE_MAX) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        const char *at = memchr(s, '@', len);
        if (at != NULL && at > s && (size_t)(at - s) <= SYNC_SNI_MAX) {
            char num[24];
            size_t nl = len - (size_t)(at - s) - 1;
            if (nl > 0 && nl < sizeof(num)) {
                memcpy(num, at + 1, nl);
                num[nl] = '\0';
                char *end;
                errno = 0;
                long long until = strtoll(num, &end, 10);
                if (*end == '\0' && until > 0 && errno == 0) {
                    memcpy(g->names[g->n], s, (size_t)(at - s));
                    g->names[g->n][at - s] = '\0';
                    g->until[g->n++] = until;
                }
            }
        }
        s = comma ? comma + 1 : NULL;
    }
}

int targets_grace_format(const struct targets_grace *g, char *out, size_t cap)
{
    size_t off = 0;
    if (cap == 0)
        return ERR_RANGE;
    out[0] = '\0';
    for (size_t i = 0; i < g->n; i++) {
        int k = snprintf(out + off, cap - off, "%s%s@%lld", i ? "," : "", g->names[i], (long long)g->until[i]);
        if (k < 0 || (size_t)k >= cap - off)
            return ERR_RANGE;
        off += (size_t)k;
    }
    return 0;
}

void targets_grace_add(struct targets_grace *g, const char *name, int64_t until)
{
    if (name == NULL || name[0] == '\0' || strlen(name) > SYNC_SNI_MAX)
        return;
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->names[i], name) == 0) {
            if (until > g->until[i])
                g->until[i] = until;
            return;
        }
    if (g->n == TARGETS_GRACE_MAX) { /* full: the entry that ends first goes */
        size_t oldest = 0;
        for (size_t i = 1; i < g->n; i++)
            if (g->until[i] < g->until[oldest])
                oldest = i;
        g->names[oldest][0] = '\0';
        memmove(&g->names[oldest], &g->names[oldest + 1], (g->n - oldest - 1) * sizeof(g->names[0]));
        memmove(&g->until[oldest], &g->until[oldest + 1], (g->n - oldest - 1) * sizeof(g->until[0]));
        g->n--;
    }
    memcpy(g->names[g->n], name, strlen(name) + 1);
    g->until[g->n++] = until;
}

bool targets_grace_prune(struct targets_grace *g, const char *current, int64_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < g->n; i++) {
        if (g->until[i] <= now || (current != NULL && strcmp(g->names[i], current) == 0))
            continue;
        if (k != i) {
            memcpy(g->names[k], g->names[i], sizeof(g->names[0]));
            g->until[k] = g->until[i];
        }
        k++;
    }
    bool dropped = k != g->n;
    g->n = k;
    return dropped;
}

void targets_hostport(const char *host, int64_t port, char *out, size_t cap)
{
    snprintf(out, cap, strchr(host, ':') ? "[%s]:%lld" : "%s:%lld", host, (long long)port);
}
