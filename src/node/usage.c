#include "node/usage.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "node/hubsync.h"

#define USAGE_STRIPES 64 /* power of two */
#define USAGE_MIN_CAP 16 /* per stripe, power of two */

struct usage_slot {
    struct node_usage_entry e;
    bool used;
};

/* One lock and one open-addressing table; aligned so two stripes never share a cache line. */
struct usage_stripe {
    _Alignas(64) pthread_mutex_t lock;
    struct usage_slot *slots;
    size_t cap, n;
};

struct node_usage {
    struct usage_stripe stripes[USAGE_STRIPES];
    struct node_hubsync *hub; /* written with every stripe lock held; read with one */
    _Atomic uint64_t online, users, lost;
};

struct node_usage *node_usage_new(void)
{
    struct node_usage *u = aligned_alloc(64, sizeof(struct node_usage));
    if (u == NULL)
        return NULL;
    memset(u, 0, sizeof(*u));
    for (size_t i = 0; i < USAGE_STRIPES; i++)
        pthread_mutex_init(&u->stripes[i].lock, NULL);
    return u;
}

void node_usage_free(struct node_usage *u)
{
    if (u == NULL)
        return;
    for (size_t i = 0; i < USAGE_STRIPES; i++) {
        pthread_mutex_destroy(&u->stripes[i].lock);
        free(u->stripes[i].slots);
    }
    free(u);
}

void node_usage_set_hubsync(struct node_usage *u, struct node_hubsync *h)
{
    if (u == NULL)
        return;
    for (size_t i = 0; i < USAGE_STRIPES; i++)
        pthread_mutex_lock(&u->stripes[i].lock);
    u->hub = h;
    for (size_t i = USAGE_STRIPES; i-- > 0;)
        pthread_mutex_unlock(&u->stripes[i].lock);
}

void node_usage_key(const uint8_t id[static NODE_USAGE_KEY_LEN], uint8_t key[static NODE_USAGE_KEY_LEN])
{
    memmove(key, id, NODE_USAGE_KEY_LEN);
    key[6] = key[7] = 0;
}

/* Keys are configured ids (random UUIDs or UUIDv5 hashes), not attacker-chosen: a plain mix of
 * the two halves spreads them. */
static uint64_t key_hash(const uint8_t *key)
{
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 31);
}

static struct usage_stripe *stripe_of(struct node_usage *u, const uint8_t *key, uint64_t *h)
{
    *h = key_hash(key);
    return &u->stripes[(*h >> 58) & (USAGE_STRIPES - 1)];
}

/* Lock held. NULL when absent (create false) or out of memory. */
static struct node_usage_entry *find(struct node_usage *u, struct usage_stripe *st, uint64_t h, const uint8_t *key,
                                     bool create)
{
    if (st->cap) {
        for (size_t i = h & (st->cap - 1);; i = (i + 1) & (st->cap - 1)) {
            struct usage_slot *s = &st->slots[i];
            if (!s->used)
                break;
            if (memcmp(s->e.key, key, NODE_USAGE_KEY_LEN) == 0)
                return &s->e;
        }
    }
    if (!create)
        return NULL;
    if ((st->n + 1) * 4 > st->cap * 3) { /* grow at 3/4 */
        size_t cap = st->cap ? st->cap * 2 : USAGE_MIN_CAP;
        struct usage_slot *v = calloc(cap, sizeof(*v));
        if (v == NULL)
            return NULL;
        for (size_t k = 0; k < st->cap; k++) {
            if (!st->slots[k].used)
                continue;
            size_t j = key_hash(st->slots[k].e.key) & (cap - 1);
            while (v[j].used)
                j = (j + 1) & (cap - 1);
            v[j] = st->slots[k];
        }
        free(st->slots);
        st->slots = v;
        st->cap = cap;
    }
    size_t i = h & (st->cap - 1);
    while (st->slots[i].used)
        i = (i + 1) & (st->cap - 1);
    struct usage_slot *s = &st->slots[i];
    s->used = true;
    memcpy(s->e.key, key, NODE_USAGE_KEY_LEN);
    st->n++;
    atomic_fetch_add_explicit(&u->users, 1, memory_order_relaxed);
    return &s->e;
}

void node_usage_add(struct node_usage *u, const uint8_t key[static NODE_USAGE_KEY_LEN], uint64_t hub_id, uint64_t up,
                    uint64_t down)
{
    if (u == NULL || (up == 0 && down == 0))
        return;
    uint64_t h;
    struct usage_stripe *st = stripe_of(u, key, &h);
    pthread_mutex_lock(&st->lock);
    struct node_usage_entry *e = find(u, st, h, key, true);
    if (e != NULL) {
        if (hub_id)
            e->hub_id = hub_id;
        e->up += up;
        e->down += down;
        e->total_up += up;
        e->total_down += down;
    } else {
        atomic_fetch_add_explicit(&u->lost, up + down, memory_order_relaxed);
    }
    /* Under the stripe lock, so node_usage_set_hubsync(NULL) waits for us (hub sync never calls
     * back into this table: no lock-order problem). */
    if (u->hub != NULL && hub_id != 0)
        node_hubsync_add_usage(u->hub, hub_id, up, down);
    pthread_mutex_unlock(&st->lock);
}

/* One attempt of a kind the hub judges (BitTorrent, SMTP): counted, and sent to hub sync. */
static void add_attempt(struct node_usage *u, const uint8_t key[static NODE_USAGE_KEY_LEN], uint64_t hub_id, bool smtp)
{
    if (u == NULL)
        return;
    uint64_t h;
    struct usage_stripe *st = stripe_of(u, key, &h);
    pthread_mutex_lock(&st->lock);
    struct node_usage_entry *e = find(u, st, h, key, true);
    if (e != NULL) {
        if (hub_id)
            e->hub_id = hub_id;
        if (smtp)
            e->smtp++;
        else
            e->bittorrent++;
    }
    if (u->hub != NULL && hub_id != 0) {
        if (smtp)
            node_hubsync_add_smtp(u->hub, hub_id, 1);
        else
            node_hubsync_add_bittorrent(u->hub, hub_id, 1);
    }
    pthread_mutex_unlock(&st->lock);
}

void node_usage_bittorrent(struct node_usage *u, const uint8_t key[static NODE_USAGE_KEY_LEN], uint64_t hub_id)
{
    add_attempt(u, key, hub_id, false);
}

void node_usage_smtp(struct node_usage *u, const uint8_t key[static NODE_USAGE_KEY_LEN], uint64_t hub_id)
{
    add_attempt(u, key, hub_id, true);
}

bool node_usage_open(struct node_usage *u, const uint8_t key[static NODE_USAGE_KEY_LEN], uint64_t hub_id)
{
    if (u == NULL)
        return false;
    uint64_t h;
    struct usage_stripe *st = stripe_of(u, key, &h);
    pthread_mutex_lock(&st->lock);
    struct node_usage_entry *e = find(u, st, h, key, true);
    if (e != NULL) {
        if (hub_id)
            e->hub_id = hub_id;
        if (e->active++ == 0)
            atomic_fetch_add_explicit(&u->online, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&st->lock);
    return e != NULL;
}

void node_usage_close(struct node_usage *u, const uint8_t key[static NODE_USAGE_KEY_LEN])
{
    if (u == NULL)
        return;
    uint64_t h;
    struct usage_stripe *st = stripe_of(u, key, &h);
    pthread_mutex_lock(&st->lock);
    struct node_usage_entry *e = find(u, st, h, key, false);
    if (e != NULL && e->active > 0 && --e->active == 0)
        atomic_fetch_sub_explicit(&u->online, 1, memory_order_relaxed);
    pthread_mutex_unlock(&st->lock);
}

static void take(struct node_usage_entry *e, bool reset, struct node_usage_entry *out)
{
    *out = *e;
    if (reset)
        e->up = e->down = 0;
}

int node_usage_get(struct node_usage *u, const uint8_t key[static NODE_USAGE_KEY_LEN], bool reset,
                   struct node_usage_entry *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->key, key, NODE_USAGE_KEY_LEN);
    if (u == NULL)
        return ERR_NOT_FOUND;
    uint64_t h;
    struct usage_stripe *st = stripe_of(u, key, &h);
    pthread_mutex_lock(&st->lock);
    struct node_usage_entry *e = find(u, st, h, key, false);
    if (e != NULL)
        take(e, reset, out);
    pthread_mutex_unlock(&st->lock);
    return e != NULL ? 0 : ERR_NOT_FOUND;
}

int node_usage_list(struct node_usage *u, bool reset, struct node_usage_entry **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (u == NULL)
        return 0;
    /* Sized with slack for users added meanwhile; retried if that was not enough. */
    for (;;) {
        size_t cap = (size_t)atomic_load(&u->users) + 64;
        struct node_usage_entry *v = malloc(cap * sizeof(*v));
        if (v == NULL)
            return ERR_NOMEM;
        size_t k = 0;
        bool fits = true;
        /* Every stripe locked at once, so a "too small" retry never follows a partial reset. */
        for (size_t i = 0; i < USAGE_STRIPES; i++)
            pthread_mutex_lock(&u->stripes[i].lock);
        size_t total = 0;
        for (size_t i = 0; i < USAGE_STRIPES; i++)
            total += u->stripes[i].n;
        if (total > cap) {
            fits = false;
        } else {
            for (size_t i = 0; i < USAGE_STRIPES; i++) {
                struct usage_stripe *st = &u->stripes[i];
                for (size_t j = 0; j < st->cap; j++)
                    if (st->slots[j].used)
                        take(&st->slots[j].e, reset, &v[k++]);
            }
        }
        for (size_t i = USAGE_STRIPES; i-- > 0;)
            pthread_mutex_unlock(&u->stripes[i].lock);
        if (fits) {
            *out = v;
            *n = k;
            return 0;
        }
        free(v);
    }
}

static uint64_t weight(const struct node_usage_entry *e)
{
    return e->total_up + e->total_down;
}

/* a ranks below b: fewer bytes, or as many and a larger key (stable order between scrapes). */
static bool below(const struct node_usage_entry *a, const struct node_usage_entry *b)
{
    uint64_t wa = weight(a), wb = weight(b);
    if (wa != wb)
        return wa < wb;
    return memcmp(a->key, b->key, NODE_USAGE_KEY_LEN) > 0;
}

static void sift_down(struct node_usage_entry *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && below(&h[l], &h[m]))
            m = l;
        if (r < n && below(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        struct node_usage_entry t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void sift_up(struct node_usage_entry *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!below(&h[i], &h[p]))
            return;
        struct node_usage_entry t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

size_t node_usage_top(struct node_usage *u, size_t n, struct node_usage_entry *out)
{
    if (u == NULL || n == 0)
        return 0;
    size_t k = 0; /* out[0..k) is a min-heap of the best seen so far */
    for (size_t i = 0; i < USAGE_STRIPES; i++) {
        struct usage_stripe *st = &u->stripes[i];
        pthread_mutex_lock(&st->lock);
        for (size_t j = 0; j < st->cap; j++) {
            const struct node_usage_entry *e = &st->slots[j].e;
            if (!st->slots[j].used || weight(e) == 0)
                continue;
            if (k < n) {
                out[k] = *e;
                sift_up(out, k++);
            } else if (below(&out[0], e)) {
                out[0] = *e;
                sift_down(out, k, 0);
            }
        }
        pthread_mutex_unlock(&st->lock);
    }
    /* heap sort: the smallest goes last */
    for (size_t m = k; m > 1; m--) {
        struct node_usage_entry t = out[0];
        out[0] = out[m - 1];
        out[m - 1] = t;
        sift_down(out, m - 1, 0);
    }
    return k;
}

uint64_t node_usage_online(const struct node_usage *u)
{
    return u ? atomic_load_explicit(&u->online, memory_order_relaxed) : 0;
}

uint64_t node_usage_users(const struct node_usage *u)
{
    return u ? atomic_load_explicit(&u->users, memory_order_relaxed) : 0;
}

uint64_t node_usage_lost(const struct node_usage *u)
{
    return u ? atomic_load_explicit(&u->lost, memory_order_relaxed) : 0;
}
