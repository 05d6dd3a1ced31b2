/* Load-aware placement (placement.h): weighted rendezvous hashing with hot nodes last. */
#include "hub/domain/placement.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool hub_group_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > HUB_GROUP_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Whether the comma-separated list holds the name (len bytes). */
static bool list_has(const char *list, const char *name, size_t len)
{
    for (const char *p = list; p != NULL && *p;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l == len && memcmp(p, name, len) == 0)
            return true;
        p = c ? c + 1 : NULL;
    }
    return false;
}

bool hub_node_groups_valid(const char *s)
{
    if (s == NULL || strlen(s) > HUB_NODE_GROUPS_MAX)
        return false;
    if (*s == '\0')
        return true;
    char name[HUB_GROUP_MAX + 1];
    for (const char *p = s;;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l == 0 || l > HUB_GROUP_MAX)
            return false;
        memcpy(name, p, l);
        name[l] = '\0';
        /* Valid and not already listed before p. */
        if (!hub_group_valid(name))
            return false;
        for (const char *q = s; q < p;) {
            const char *qc = strchr(q, ',');
            if ((size_t)(qc - q) == l && memcmp(q, p, l) == 0)
                return false;
            q = qc + 1;
        }
        if (c == NULL)
            return true;
        p = c + 1;
    }
}

bool hub_plan_allows_group(const char *plan_groups, const char *node_group)
{
    if (plan_groups == NULL || *plan_groups == '\0')
        return true;
    return node_group != NULL && *node_group && list_has(plan_groups, node_group, strlen(node_group));
}

bool hub_node_hot(const struct hub_node *n, const struct hub_place_cfg *cfg)
{
    if (cfg == NULL)
        return false;
    return (cfg->hot_cpu_percent > 0 && n->load_cpu >= cfg->hot_cpu_percent) ||
           (cfg->hot_connections > 0 && n->load_connections >= cfg->hot_connections);
}

/* The cool threshold for a hot one: the configured value, else HUB_COOL_DEFAULT_PCT % of it. */
static int64_t cool_of(int64_t hot, int64_t cool)
{
    if (cool > 0)
        return cool < hot ? cool : hot;
    return hot / 100 * HUB_COOL_DEFAULT_PCT + hot % 100 * HUB_COOL_DEFAULT_PCT / 100;
}

bool hub_node_hot_next(bool was_hot, const struct hub_node *n, const struct hub_place_cfg *cfg)
{
    if (cfg == NULL)
        return false;
    if (hub_node_hot(n, cfg))
        return true;
    if (!was_hot)
        return false;
    bool cpu_cool = cfg->hot_cpu_percent <= 0 || n->load_cpu < cool_of(cfg->hot_cpu_percent, cfg->cool_cpu_percent);
    bool conn_cool =
        cfg->hot_connections <= 0 || n->load_connections < cool_of(cfg->hot_connections, cfg->cool_connections);
    return !(cpu_cool && conn_cool);
}

/* splitmix64's finaliser: a fixed, well-mixed 64-bit hash. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double hub_place_score(int64_t user_id, int64_t node_id, int64_t weight)
{
    if (weight <= 0)
        return 0;
    uint64_t h = mix64(mix64((uint64_t)user_id + 0x9e3779b97f4a7c15ull) ^ (uint64_t)node_id);
    /* u uniform in (0, 1) from the top 53 bits; -w / ln(u) makes P(first) = w / sum(w). */
    double u = ((double)(h >> 11) + 0.5) / 9007199254740992.0;
    return -(double)weight / log(u);
}

struct ranked {
    struct hub_node node;
    double score;
    bool hot;
    bool foreign; /* not in the preferred country (false when there is no preference) */
};

static int ranked_cmp(const void *x, const void *y)
{
    const struct ranked *a = x, *b = y;
    if (a->hot != b->hot)
        return a->hot ? 1 : -1;
    if (a->foreign != b->foreign)
        return a->foreign ? 1 : -1;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return (a->node.id > b->node.id) - (a->node.id < b->node.id);
}

size_t hub_place_order(int64_t user_id, const char *plan_groups, const struct hub_place_cfg *cfg,
                       struct hub_node *nodes, size_t n)
{
    return hub_place_order_pref(user_id, plan_groups, NULL, cfg, nodes, n);
}

size_t hub_place_order_pref(int64_t user_id, const char *plan_groups, const char *country,
                            const struct hub_place_cfg *cfg, struct hub_node *nodes, size_t n)
{
    bool pref = country != NULL && country[0] != '\0';
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (hub_plan_allows_group(plan_groups, nodes[i].group))
            nodes[k++] = nodes[i];
    if (k < 2)
        return k;
    struct ranked *r = malloc(k * sizeof *r);
    if (r == NULL) {
        /* Out of memory: the allowed nodes in their given order still serve the customer. */
        return k;
    }
    for (size_t i = 0; i < k; i++)
        r[i] = (struct ranked){nodes[i], hub_place_score(user_id, nodes[i].id, nodes[i].weight),
                               nodes[i].hot || hub_node_hot(&nodes[i], cfg),
                               pref && strcmp(nodes[i].country, country) != 0};
    qsort(r, k, sizeof *r, ranked_cmp);
    for (size_t i = 0; i < k; i++)
        nodes[i] = r[i].node;
    free(r);
    return k;
}
