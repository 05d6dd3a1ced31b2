#include "node/probe_guard.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lazy_mutex.h"
#include "core/log.h"

#define STRIPES 64       /* power of two */
#define NETS_PER 16      /* networks tracked per stripe: 1024 in all */
#define BANS_PER 32      /* banned addresses per stripe: 2048 in all */
#define TOKEN_MILLI 1000 /* one connection in the dial bucket */

struct probe_net {
    uint8_t key[16]; /* v4-mapped /24 or /48, host bits zero */
    bool used;
    uint64_t last_ms;
    uint64_t win_start; /* current fixed window */
    uint32_t cur, prev; /* fallbacks in it and in the one before */
    uint64_t flag_until;
    int64_t tokens_milli; /* dial bucket while flagged */
    uint64_t tok_ms;
    bool rep_flagged; /* flagged since the last report */
    uint64_t rep_fallbacks, rep_bans, rep_refused;
};

struct probe_ban {
    uint8_t ip[16];
    uint64_t until; /* 0: free */
};

struct probe_stripe {
    pthread_mutex_t mu;
    struct probe_net nets[NETS_PER];
    struct probe_ban bans[BANS_PER];
};

struct node_probe_guard {
    struct probe_stripe s[STRIPES];
    _Atomic uint32_t fallbacks, window_sec, ban_sec, dials_per_sec;
    _Atomic uint64_t quiet_until; /* no flag or ban lasts beyond this: admit takes no lock */
    _Atomic uint64_t n_fallbacks, n_flags, n_bans, n_refused[NODE_PROBE__COUNT];
};

static const char *const refusal_names[NODE_PROBE__COUNT] = {"banned", "net_rate"};

const char *node_probe_refusal_str(enum node_probe_refusal why)
{
    return (unsigned)why < NODE_PROBE__COUNT ? refusal_names[why] : "unknown";
}

/* IPv4 as v4-mapped IPv6, so both families share one 16-byte form. */
static void ip_key(const struct sock_addr *a, uint8_t out[16])
{
    memset(out, 0, 16);
    if (sock_addr_family(a) == AF_INET) {
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a->u.in4.sin_addr, 4);
    } else if (sock_addr_family(a) == AF_INET6) {
        memcpy(out, &a->u.in6.sin6_addr, 16);
    }
}

static bool is_v4(const uint8_t k[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(k, mapped, 12) == 0;
}

static void net_key(const uint8_t ip[16], uint8_t out[16])
{
    memcpy(out, ip, 16);
    if (is_v4(ip))
        out[15] = 0; /* /24 */
    else
        memset(out + 6, 0, 10); /* /48 */
}

static uint32_t hash16(const uint8_t *p)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 16; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return (uint32_t)(h ^ (h >> 32));
}

static void key_text(const uint8_t net[16], char out[NODE_PROBE_NET_TEXT])
{
    char a[INET6_ADDRSTRLEN] = "";
    if (is_v4(net)) {
        inet_ntop(AF_INET, net + 12, a, sizeof a);
        snprintf(out, NODE_PROBE_NET_TEXT, "%s/24", a);
    } else {
        inet_ntop(AF_INET6, net, a, sizeof a);
        snprintf(out, NODE_PROBE_NET_TEXT, "%s/48", a);
    }
}

void node_probe_net_text(const struct sock_addr *ip, char out[NODE_PROBE_NET_TEXT])
{
    uint8_t k[16], n[16];
    ip_key(ip, k);
    net_key(k, n);
    key_text(n, out);
}

struct node_probe_guard *node_probe_new(const struct node_probe_cfg *cfg)
{
    struct node_probe_guard *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    for (unsigned i = 0; i < STRIPES; i++)
        lazy_mutex_init_zeroed(&g->s[i].mu); /* ~160 kB of stripes resident only once used */
    node_probe_set_cfg(g, cfg);
    return g;
}

void node_probe_set_cfg(struct node_probe_guard *g, const struct node_probe_cfg *cfg)
{
    atomic_store(&g->fallbacks, cfg->fallbacks);
    atomic_store(&g->window_sec, cfg->window_sec ? cfg->window_sec : 60);
    atomic_store(&g->ban_sec, cfg->ban_sec ? cfg->ban_sec : 600);
    atomic_store(&g->dials_per_sec, cfg->dials_per_sec);
}

void node_probe_free(struct node_probe_guard *g)
{
    if (g == NULL)
        return;
    for (unsigned i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&g->s[i].mu);
    free(g);
}

static void extend_quiet(struct node_probe_guard *g, uint64_t until)
{
    uint64_t cur = atomic_load(&g->quiet_until);
    while (cur < until && !atomic_compare_exchange_weak(&g->quiet_until, &cur, until))
        ;
}

/* The network's slot, or NULL (create = false, or no room). Stripe locked. */
static struct probe_net *net_find(struct probe_stripe *st, const uint8_t key[16], uint64_t now, bool create)
{
    struct probe_net *victim = NULL;
    for (unsigned i = 0; i < NETS_PER; i++) {
        struct probe_net *n = &st->nets[i];
        if (n->used && memcmp(n->key, key, 16) == 0)
            return n;
        /* room: a free slot, else the least recently seen network that is not flagged */
        if (!n->used || n->flag_until <= now) {
            if (victim == NULL || !n->used ||
                (victim->used && victim->flag_until <= now && n->last_ms < victim->last_ms))
                victim = n;
        }
    }
    if (!create || victim == NULL)
        return NULL; /* every slot flagged: a new network waits for one to expire */
    memset(victim, 0, sizeof(*victim));
    victim->used = true;
    memcpy(victim->key, key, 16);
    victim->win_start = now;
    return victim;
}

static struct probe_ban *ban_find(struct probe_stripe *st, const uint8_t ip[16])
{
    for (unsigned i = 0; i < BANS_PER; i++)
        if (st->bans[i].until != 0 && memcmp(st->bans[i].ip, ip, 16) == 0)
            return &st->bans[i];
    return NULL;
}

bool node_probe_admit(struct node_probe_guard *g, const struct sock_addr *ip, uint64_t now_ms,
                      enum node_probe_refusal *why)
{
    if (g == NULL || atomic_load(&g->fallbacks) == 0 || now_ms >= atomic_load(&g->quiet_until))
        return true;
    uint8_t k[16], nk[16];
    ip_key(ip, k);
    net_key(k, nk);
    struct probe_stripe *bs = &g->s[hash16(k) & (STRIPES - 1)];
    pthread_mutex_lock(&bs->mu);
    struct probe_ban *b = ban_find(bs, k);
    bool banned = b != NULL && b->until > now_ms;
    pthread_mutex_unlock(&bs->mu);
    enum node_probe_refusal r = NODE_PROBE_BANNED;
    bool ok = !banned;
    uint32_t rate = atomic_load(&g->dials_per_sec);
    struct probe_stripe *ns = &g->s[hash16(nk) & (STRIPES - 1)];
    pthread_mutex_lock(&ns->mu);
    struct probe_net *n = net_find(ns, nk, now_ms, false);
    if (ok && n != NULL && n->flag_until > now_ms && rate > 0) {
        /* one token a connection, rate a second, a bucket of one second */
        int64_t cap = (int64_t)rate * TOKEN_MILLI;
        n->tokens_milli += (int64_t)(now_ms - n->tok_ms) * rate;
        if (n->tokens_milli > cap)
            n->tokens_milli = cap;
        n->tok_ms = now_ms;
        if (n->tokens_milli >= TOKEN_MILLI) {
            n->tokens_milli -= TOKEN_MILLI;
        } else {
            ok = false;
            r = NODE_PROBE_NET_RATE;
        }
    }
    if (!ok && n != NULL)
        n->rep_refused++;
    pthread_mutex_unlock(&ns->mu);
    if (!ok) {
        atomic_fetch_add(&g->n_refused[r], 1);
        if (why)
            *why = r;
    }
    return ok;
}

/* Bans ip until `until`; true when it was not banned already. */
static bool ban(struct node_probe_guard *g, const uint8_t ip[16], uint64_t now, uint64_t until)
{
    struct probe_stripe *st = &g->s[hash16(ip) & (STRIPES - 1)];
    pthread_mutex_lock(&st->mu);
    struct probe_ban *b = ban_find(st, ip);
    bool fresh = b == NULL || b->until <= now;
    if (b == NULL) { /* a free or expired slot, else the ban that ends first */
        b = &st->bans[0];
        for (unsigned i = 0; i < BANS_PER; i++) {
            if (st->bans[i].until <= now) {
                b = &st->bans[i];
                break;
            }
            if (st->bans[i].until < b->until)
                b = &st->bans[i];
        }
        memcpy(b->ip, ip, 16);
    }
    b->until = until;
    pthread_mutex_unlock(&st->mu);
    extend_quiet(g, until);
    return fresh;
}

bool node_probe_note_fallback(struct node_probe_guard *g, const struct sock_addr *ip, uint64_t now_ms)
{
    uint32_t threshold = g ? atomic_load(&g->fallbacks) : 0;
    if (threshold == 0)
        return false;
    atomic_fetch_add(&g->n_fallbacks, 1);
    uint64_t window = (uint64_t)atomic_load(&g->window_sec) * 1000, ban_ms = (uint64_t)atomic_load(&g->ban_sec) * 1000;
    uint8_t k[16], nk[16];
    ip_key(ip, k);
    net_key(k, nk);
    struct probe_stripe *ns = &g->s[hash16(nk) & (STRIPES - 1)];
    pthread_mutex_lock(&ns->mu);
    struct probe_net *n = net_find(ns, nk, now_ms, true);
    bool flagged_now = false, do_ban = false;
    if (n != NULL) {
        n->last_ms = now_ms;
        n->rep_fallbacks++;
        uint64_t age = now_ms - n->win_start;
        if (age >= window) { /* next window: the one just ended becomes `prev` */
            n->prev = age >= 2 * window ? 0 : n->cur;
            n->cur = 0;
            n->win_start = now_ms - age % window;
            age %= window;
        }
        if (n->cur < UINT32_MAX)
            n->cur++;
        /* sliding estimate: the previous window weighted by how much of it is still inside */
        uint64_t est = n->cur + (uint64_t)n->prev * (window - age) / window;
        if (n->flag_until <= now_ms && est >= threshold) {
            flagged_now = true;
            n->tokens_milli = (int64_t)atomic_load(&g->dials_per_sec) * TOKEN_MILLI;
            n->tok_ms = now_ms;
        }
        if (flagged_now || n->flag_until > now_ms) {
            n->flag_until = now_ms + ban_ms; /* each failure of a flagged network extends it */
            n->rep_flagged = true;
            do_ban = true;
        }
    }
    pthread_mutex_unlock(&ns->mu);
    if (!do_ban)
        return false;
    extend_quiet(g, now_ms + ban_ms);
    if (flagged_now) {
        atomic_fetch_add(&g->n_flags, 1);
        char text[NODE_PROBE_NET_TEXT];
        key_text(nk, text);
        log_warn("node", 0, "probing_flagged", LF_STR("net", text), LF_UINT("threshold", threshold),
                 LF_UINT("window_sec", window / 1000), LF_UINT("ban_sec", ban_ms / 1000));
    }
    bool fresh = ban(g, k, now_ms, now_ms + ban_ms);
    if (fresh) {
        atomic_fetch_add(&g->n_bans, 1);
        pthread_mutex_lock(&ns->mu);
        if (n->used && memcmp(n->key, nk, 16) == 0)
            n->rep_bans++;
        pthread_mutex_unlock(&ns->mu);
    }
    return fresh;
}

static int by_fallbacks(const void *a, const void *b)
{
    const struct node_probe_net_report *x = a, *y = b;
    return x->fallbacks < y->fallbacks ? 1 : x->fallbacks > y->fallbacks ? -1 : strcmp(x->net, y->net);
}

size_t node_probe_report(struct node_probe_guard *g, struct node_probe_net_report *out, size_t cap)
{
    if (g == NULL || cap == 0)
        return 0;
    struct node_probe_net_report all[STRIPES * NETS_PER];
    size_t n = 0;
    for (unsigned i = 0; i < STRIPES; i++) {
        struct probe_stripe *st = &g->s[i];
        pthread_mutex_lock(&st->mu);
        for (unsigned j = 0; j < NETS_PER; j++) {
            struct probe_net *x = &st->nets[j];
            if (x->used && x->rep_flagged) {
                key_text(x->key, all[n].net);
                all[n].fallbacks = x->rep_fallbacks;
                all[n].bans = x->rep_bans;
                all[n].refused = x->rep_refused;
                n++;
            }
            x->rep_flagged = false;
            x->rep_fallbacks = x->rep_bans = x->rep_refused = 0;
        }
        pthread_mutex_unlock(&st->mu);
    }
    qsort(all, n, sizeof(all[0]), by_fallbacks);
    if (n > cap)
        n = cap;
    memcpy(out, all, n * sizeof(all[0]));
    return n;
}

void node_probe_totals(struct node_probe_guard *g, uint64_t now_ms, struct node_probe_totals *out)
{
    memset(out, 0, sizeof(*out));
    if (g == NULL)
        return;
    out->fallbacks = atomic_load(&g->n_fallbacks);
    out->flags = atomic_load(&g->n_flags);
    out->bans = atomic_load(&g->n_bans);
    for (int r = 0; r < NODE_PROBE__COUNT; r++)
        out->refused[r] = atomic_load(&g->n_refused[r]);
    if (now_ms >= atomic_load(&g->quiet_until))
        return;
    for (unsigned i = 0; i < STRIPES; i++) {
        struct probe_stripe *st = &g->s[i];
        pthread_mutex_lock(&st->mu);
        for (unsigned j = 0; j < NETS_PER; j++)
            out->flagged_now += st->nets[j].used && st->nets[j].flag_until > now_ms;
        for (unsigned j = 0; j < BANS_PER; j++)
            out->banned_now += st->bans[j].until > now_ms;
        pthread_mutex_unlock(&st->mu);
    }
}
