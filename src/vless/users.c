#include "vless/users.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/secure.h"

#define SLOT_EMPTY UINT32_MAX

struct vless_users_builder {
    uint64_t seed;
    struct vless_user *v;
    size_t n, cap;
};

struct vless_users {
    atomic_size_t refs;
    uint64_t seed;
    struct vless_user *v; /* surviving users, insertion order */
    size_t n;
    uint32_t *slots; /* open addressing, linear probing; index into v or SLOT_EMPTY */
    size_t mask;
};

static void key_of(uint8_t key[VLESS_ID_LEN], const uint8_t id[VLESS_ID_LEN])
{
    memcpy(key, id, VLESS_ID_LEN);
    key[6] = 0;
    key[7] = 0;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* Keyed so that clients cannot aim many ids at one probe chain. */
static uint64_t key_hash(uint64_t seed, const uint8_t key[VLESS_ID_LEN])
{
    uint64_t a = 0, b = 0;
    for (int i = 0; i < 8; i++) {
        a = a << 8 | key[i];
        b = b << 8 | key[8 + i];
    }
    return mix64(mix64(seed ^ a) ^ b);
}

struct vless_users_builder *vless_users_builder_new(uint64_t seed)
{
    struct vless_users_builder *b = calloc(1, sizeof(*b));
    if (b != NULL)
        b->seed = seed;
    return b;
}

static void free_users(struct vless_user *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].email);
        secure_wipe(&v[i], sizeof(v[i]));
    }
    free(v);
}

void vless_users_builder_free(struct vless_users_builder *b)
{
    if (b == NULL)
        return;
    free_users(b->v, b->n);
    free(b);
}

int vless_users_builder_add(struct vless_users_builder *b, const uint8_t id[static VLESS_ID_LEN], enum vless_flow flow,
                            const char *email, uint64_t tag)
{
    if (flow != VLESS_FLOW_NONE && flow != VLESS_FLOW_VISION)
        return ERR_CONFIG;
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 16;
        struct vless_user *nv = realloc(b->v, ncap * sizeof(*nv));
        if (nv == NULL)
            return ERR_NOMEM;
        b->v = nv;
        b->cap = ncap;
    }
    struct vless_user *u = &b->v[b->n];
    memset(u, 0, sizeof(*u));
    if (email != NULL && email[0] != '\0') {
        u->email = strdup(email);
        if (u->email == NULL)
            return ERR_NOMEM;
    }
    memcpy(u->id, id, VLESS_ID_LEN);
    key_of(u->key, id);
    u->flow = flow;
    u->tag = tag;
    b->n++;
    return 0;
}

static int email_cmp(const void *a, const void *b)
{
    const struct vless_user *x = *(const struct vless_user *const *)a;
    const struct vless_user *y = *(const struct vless_user *const *)b;
    return strcasecmp(x->email, y->email);
}

/* Returns the slot holding `key`, or the empty slot where it would go. */
static size_t probe(const uint32_t *slots, size_t mask, const struct vless_user *v, uint64_t seed,
                    const uint8_t key[VLESS_ID_LEN])
{
    size_t i = (size_t)key_hash(seed, key) & mask;
    while (slots[i] != SLOT_EMPTY && secure_memcmp(v[slots[i]].key, key, VLESS_ID_LEN) != 0)
        i = (i + 1) & mask;
    return i;
}

int vless_users_freeze(struct vless_users_builder *b, struct vless_users **out)
{
    int rc = ERR_NOMEM;
    *out = NULL;
    struct vless_users *u = calloc(1, sizeof(*u));
    const struct vless_user **by_email = NULL;
    uint32_t *tmp = NULL;
    if (u == NULL)
        goto out;
    size_t cap = 16;
    while (cap < 2 * b->n + 1) /* load factor <= 1/2 keeps probe chains short */
        cap *= 2;
    u->slots = malloc(cap * sizeof(*u->slots));
    tmp = malloc(cap * sizeof(*tmp));
    if (u->slots == NULL || tmp == NULL)
        goto out;
    u->mask = cap - 1;
    u->seed = b->seed;

    /* Pass 1 on builder entries: the later duplicate (bytes 6-7 ignored) wins. */
    for (size_t i = 0; i < cap; i++)
        tmp[i] = SLOT_EMPTY;
    bool *dead = calloc(b->n ? b->n : 1, sizeof(*dead));
    if (dead == NULL)
        goto out;
    for (size_t i = 0; i < b->n; i++) {
        size_t s = probe(tmp, u->mask, b->v, b->seed, b->v[i].key);
        if (tmp[s] != SLOT_EMPTY)
            dead[tmp[s]] = true;
        tmp[s] = (uint32_t)i;
    }
    /* Pass 2: compact survivors (insertion order) and index them. */
    u->v = b->v;
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (dead[i]) {
            free(b->v[i].email);
            continue;
        }
        u->v[n++] = b->v[i];
    }
    free(dead);
    b->v = NULL;
    b->n = 0;
    u->n = n;
    for (size_t i = 0; i < cap; i++)
        u->slots[i] = SLOT_EMPTY;
    for (size_t i = 0; i < n; i++)
        u->slots[probe(u->slots, u->mask, u->v, u->seed, u->v[i].key)] = (uint32_t)i;

    /* Emails must be unique, ignoring case. */
    by_email = malloc((n ? n : 1) * sizeof(*by_email));
    if (by_email == NULL)
        goto out;
    size_t ne = 0;
    for (size_t i = 0; i < n; i++)
        if (u->v[i].email != NULL)
            by_email[ne++] = &u->v[i];
    qsort(by_email, ne, sizeof(*by_email), email_cmp);
    for (size_t i = 1; i < ne; i++) {
        if (strcasecmp(by_email[i - 1]->email, by_email[i]->email) == 0) {
            rc = ERR_EXISTS;
            goto out;
        }
    }
    atomic_init(&u->refs, 1);
    *out = u;
    u = NULL;
    rc = 0;
out:
    free(by_email);
    free(tmp);
    if (u != NULL) {
        free_users(u->v, u->n);
        free(u->slots);
        free(u);
    }
    vless_users_builder_free(b);
    return rc;
}

struct vless_users *vless_users_ref(struct vless_users *u)
{
    if (u != NULL)
        atomic_fetch_add_explicit(&u->refs, 1, memory_order_relaxed);
    return u;
}

void vless_users_unref(struct vless_users *u)
{
    if (u == NULL)
        return;
    if (atomic_fetch_sub_explicit(&u->refs, 1, memory_order_acq_rel) != 1)
        return;
    free_users(u->v, u->n);
    free(u->slots);
    free(u);
}

size_t vless_users_count(const struct vless_users *u)
{
    return u->n;
}

const struct vless_user *vless_users_at(const struct vless_users *u, size_t i)
{
    return i < u->n ? &u->v[i] : NULL;
}

const struct vless_user *vless_users_lookup(const struct vless_users *u, const uint8_t id[static VLESS_ID_LEN])
{
    uint8_t key[VLESS_ID_LEN];
    key_of(key, id);
    size_t s = probe(u->slots, u->mask, u->v, u->seed, key);
    secure_wipe(key, sizeof(key));
    return u->slots[s] == SLOT_EMPTY ? NULL : &u->v[u->slots[s]];
}

/* ---- flows ---- */

enum vless_flow vless_flow_from_str(const char *s, size_t len)
{
    if (len == 0)
        return VLESS_FLOW_NONE;
    if (len == strlen(VLESS_FLOW_VISION_STR) && memcmp(s, VLESS_FLOW_VISION_STR, len) == 0)
        return VLESS_FLOW_VISION;
    if (len == strlen(VLESS_FLOW_VISION_UDP443_STR) && memcmp(s, VLESS_FLOW_VISION_UDP443_STR, len) == 0)
        return VLESS_FLOW_VISION_UDP443;
    return VLESS_FLOW_UNKNOWN;
}

const char *vless_flow_str(enum vless_flow f)
{
    switch (f) {
    case VLESS_FLOW_NONE:
        return "";
    case VLESS_FLOW_VISION:
        return VLESS_FLOW_VISION_STR;
    case VLESS_FLOW_VISION_UDP443:
        return VLESS_FLOW_VISION_UDP443_STR;
    default:
        return "?";
    }
}

/* spec/mux-xudp.md §8: XUDP iff >= 7 bytes, session id 0, network UDP in the first New. */
static bool first_frame_is_xudp(const uint8_t *body, size_t len)
{
    return len >= 7 && body[2] == 0 && body[3] == 0 && body[6] == 0x02;
}

struct vless_flow_decision vless_flow_decide(enum vless_flow account, enum vless_flow req, enum vless_cmd cmd,
                                             const uint8_t *body, size_t body_len)
{
    struct vless_flow_decision d = {.allow = false, .reason = VLESS_FR_OK};
    if (cmd != VLESS_CMD_TCP && cmd != VLESS_CMD_UDP && cmd != VLESS_CMD_MUX) {
        d.reason = VLESS_FR_BAD_COMMAND;
        return d;
    }
    bool acc_vision = account == VLESS_FLOW_VISION || account == VLESS_FLOW_VISION_UDP443;
    switch (req) {
    case VLESS_FLOW_VISION:
        if (!acc_vision) {
            d.reason = VLESS_FR_ACCOUNT_FLOW;
            return d;
        }
        if (cmd == VLESS_CMD_UDP) {
            d.reason = VLESS_FR_VISION_UDP;
            return d;
        }
        d.allow = true;
        d.vision = true;
        d.direct_ok = cmd == VLESS_CMD_TCP;
        d.mux_udp_only = cmd == VLESS_CMD_MUX;
        return d;
    case VLESS_FLOW_NONE:
        if (acc_vision && cmd == VLESS_CMD_TCP) {
            d.reason = VLESS_FR_EMPTY_FLOW_TCP;
            return d;
        }
        if (acc_vision && cmd == VLESS_CMD_MUX && !first_frame_is_xudp(body, body_len)) {
            d.reason = VLESS_FR_EMPTY_FLOW_MUX;
            return d;
        }
        d.allow = true;
        d.mux_udp_only = acc_vision && cmd == VLESS_CMD_MUX;
        return d;
    default:
        d.reason = VLESS_FR_UNKNOWN_FLOW;
        return d;
    }
}

const char *vless_flow_reason_str(enum vless_flow_reason r)
{
    switch (r) {
    case VLESS_FR_OK:
        return "ok";
    case VLESS_FR_VISION_UDP:
        return "xtls-rprx-vision doesn't support UDP";
    case VLESS_FR_ACCOUNT_FLOW:
        return "account is not able to use the flow";
    case VLESS_FR_EMPTY_FLOW_TCP:
        return "client flow is empty (TLS in TLS)";
    case VLESS_FR_EMPTY_FLOW_MUX:
        return "client flow is empty and mux is not xudp";
    case VLESS_FR_UNKNOWN_FLOW:
        return "unknown request flow";
    case VLESS_FR_BAD_COMMAND:
        return "command not allowed";
    default:
        return "?";
    }
}

bool vless_client_udp_allowed(enum vless_flow configured, uint16_t port)
{
    return !(configured == VLESS_FLOW_VISION && port == 443);
}
