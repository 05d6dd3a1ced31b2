#include "core/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

struct metrics_series {
    struct metrics_series *next;
    const struct metrics_family *fam;
    char *values[METRICS_MAX_LABELS];
    _Atomic uint64_t counter;
    _Atomic int64_t gauge;
    _Atomic uint64_t buckets[METRICS_MAX_BUCKETS + 1]; /* last: +Inf */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_bits; /* double stored as bits; updated with CAS */
};

struct metrics_family {
    struct metrics_family *next;
    struct metrics_registry *reg;
    enum metrics_type type;
    char *name, *help;
    char *labels[METRICS_MAX_LABELS];
    size_t n_labels;
    double bounds[METRICS_MAX_BUCKETS];
    size_t n_buckets;
    size_t max_series, n_series;
    struct metrics_series *series, *overflow;
    metrics_collect_cb *collect;
    void *collect_arg;
    double scale; /* 0 = 1: integers as is */
};

struct metrics_registry {
    pthread_mutex_t lock; /* guards family and series lists, never held on updates */
    struct metrics_family *families, **tail;
};

struct metrics_registry *metrics_registry_new(void)
{
    struct metrics_registry *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    pthread_mutex_init(&r->lock, NULL);
    r->tail = &r->families;
    return r;
}

static void series_free(struct metrics_series *s, size_t n_labels)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < n_labels; i++)
        free(s->values[i]);
    free(s);
}

void metrics_registry_free(struct metrics_registry *r)
{
    if (r == NULL)
        return;
    struct metrics_family *f = r->families;
    while (f) {
        struct metrics_family *fn = f->next;
        struct metrics_series *s = f->series;
        while (s) {
            struct metrics_series *sn = s->next;
            series_free(s, f->n_labels);
            s = sn;
        }
        series_free(f->overflow, f->n_labels);
        for (size_t i = 0; i < f->n_labels; i++)
            free(f->labels[i]);
        free(f->name);
        free(f->help);
        free(f);
        f = fn;
    }
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static bool valid_name(const char *s, bool colon)
{
    if (s == NULL || *s == '\0')
        return false;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

struct metrics_family *metrics_family_new(struct metrics_registry *r, enum metrics_type type, const char *name,
                                          const char *help, const char *const *label_names, size_t n_labels,
                                          const double *buckets, size_t n_buckets, size_t max_series)
{
    if ((unsigned)type >= METRICS__COUNT || !valid_name(name, true) || n_labels > METRICS_MAX_LABELS)
        return NULL;
    if (type == METRICS_HISTOGRAM ? (n_buckets == 0 || n_buckets > METRICS_MAX_BUCKETS) : n_buckets != 0)
        return NULL;
    for (size_t i = 0; i < n_labels; i++)
        if (!valid_name(label_names[i], false) || !strcmp(label_names[i], "le"))
            return NULL;
    for (size_t i = 1; i < n_buckets; i++)
        if (!(buckets[i] > buckets[i - 1]))
            return NULL;
    struct metrics_family *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->reg = r;
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->n_labels = n_labels;
    bool oom = f->name == NULL || f->help == NULL;
    for (size_t i = 0; i < n_labels; i++) {
        f->labels[i] = strdup(label_names[i]);
        oom |= f->labels[i] == NULL;
    }
    if (n_buckets)
        memcpy(f->bounds, buckets, n_buckets * sizeof(double));
    f->n_buckets = n_buckets;
    f->max_series = max_series ? max_series : 1000;
    pthread_mutex_lock(&r->lock);
    for (struct metrics_family *o = r->families; o && !oom; o = o->next)
        if (!strcmp(o->name, name))
            oom = true; /* duplicate: refuse like an error */
    if (!oom) {
        *r->tail = f;
        r->tail = &f->next;
    }
    pthread_mutex_unlock(&r->lock);
    if (oom) {
        for (size_t i = 0; i < n_labels; i++)
            free(f->labels[i]);
        free(f->name);
        free(f->help);
        free(f);
        return NULL;
    }
    return f;
}

static struct metrics_series *series_new(const struct metrics_family *f, const char *const *values)
{
    struct metrics_series *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->fam = f;
    for (size_t i = 0; i < f->n_labels; i++) {
        s->values[i] = strdup(values ? values[i] : "_other");
        if (s->values[i] == NULL) {
            series_free(s, f->n_labels);
            return NULL;
        }
    }
    return s;
}

struct metrics_series *metrics_series(struct metrics_family *f, const char *const *values)
{
    pthread_mutex_lock(&f->reg->lock);
    struct metrics_series *s = f->series, **tail = &f->series;
    for (; s; tail = &s->next, s = s->next) {
        size_t i = 0;
        while (i < f->n_labels && !strcmp(s->values[i], values[i]))
            i++;
        if (i == f->n_labels)
            break;
    }
    if (s == NULL) {
        if (f->n_series < f->max_series) {
            s = series_new(f, values);
            if (s != NULL) {
                *tail = s;
                f->n_series++;
            }
        } else {
            if (f->overflow == NULL)
                f->overflow = series_new(f, NULL);
            s = f->overflow;
        }
    }
    pthread_mutex_unlock(&f->reg->lock);
    return s;
}

void metrics_add(struct metrics_series *s, uint64_t v)
{
    atomic_fetch_add_explicit(&s->counter, v, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->gauge, (int64_t)v, memory_order_relaxed);
}

void metrics_set(struct metrics_series *s, int64_t v)
{
    atomic_store_explicit(&s->gauge, v, memory_order_relaxed);
}

void metrics_gauge_add(struct metrics_series *s, int64_t delta)
{
    atomic_fetch_add_explicit(&s->gauge, delta, memory_order_relaxed);
}

uint64_t metrics_counter_value(const struct metrics_series *s)
{
    return atomic_load_explicit(&s->counter, memory_order_relaxed);
}

int64_t metrics_gauge_value(const struct metrics_series *s)
{
    return atomic_load_explicit(&s->gauge, memory_order_relaxed);
}

void metrics_observe(struct metrics_series *s, double v)
{
    /* Each observation lands in one slot; render() makes the buckets cumulative. */
    size_t i = 0;
    while (i < s->fam->n_buckets && !(v <= s->fam->bounds[i]))
        i++;
    atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&s->sum_bits, memory_order_relaxed), upd;
    do {
        double sum;
        memcpy(&sum, &old, sizeof(sum));
        sum += v;
        memcpy(&upd, &sum, sizeof(upd));
    } while (
        !atomic_compare_exchange_weak_explicit(&s->sum_bits, &old, upd, memory_order_relaxed, memory_order_relaxed));
}

void metrics_family_on_collect(struct metrics_family *f, metrics_collect_cb *cb, void *arg)
{
    f->collect = cb;
    f->collect_arg = arg;
}

void metrics_family_set_scale(struct metrics_family *f, double scale)
{
    f->scale = scale == 1 ? 0 : scale;
}

void metrics_family_clear(struct metrics_family *f)
{
    pthread_mutex_lock(&f->reg->lock);
    struct metrics_series *s = f->series;
    while (s) {
        struct metrics_series *sn = s->next;
        series_free(s, f->n_labels);
        s = sn;
    }
    series_free(f->overflow, f->n_labels);
    f->series = f->overflow = NULL;
    f->n_series = 0;
    pthread_mutex_unlock(&f->reg->lock);
}

static int put(struct buf *out, const char *s, size_t n)
{
    return buf_append(out, s, n);
}

static int puts_(struct buf *out, const char *s)
{
    return put(out, s, strlen(s));
}

/* Label values escape backslash, double quote and newline; HELP escapes backslash and newline. */
static int put_escaped(struct buf *out, const char *s, bool quote)
{
    for (; *s; s++) {
        const char *e = NULL;
        if (*s == '\\')
            e = "\\\\";
        else if (*s == '\n')
            e = "\\n";
        else if (quote && *s == '"')
            e = "\\\"";
        TRY(e ? puts_(out, e) : put(out, s, 1));
    }
    return 0;
}

static int put_num(struct buf *out, double v)
{
    char tmp[64];
    if (isinf(v))
        return puts_(out, v > 0 ? "+Inf" : "-Inf");
    if (isnan(v))
        return puts_(out, "NaN");
    snprintf(tmp, sizeof(tmp), "%.17g", v);
    return puts_(out, tmp);
}

/* name{l1="v1",...[,le="x"]} */
static int put_series_name(struct buf *out, const struct metrics_family *f, const char *suffix,
                           const struct metrics_series *s, const char *le)
{
    TRY(puts_(out, f->name));
    TRY(puts_(out, suffix));
    if (f->n_labels == 0 && le == NULL)
        return 0;
    TRY(puts_(out, "{"));
    for (size_t i = 0; i < f->n_labels; i++) {
        if (i)
            TRY(puts_(out, ","));
        TRY(puts_(out, f->labels[i]));
        TRY(puts_(out, "=\""));
        TRY(put_escaped(out, s->values[i], true));
        TRY(puts_(out, "\""));
    }
    if (le) {
        if (f->n_labels)
            TRY(puts_(out, ","));
        TRY(puts_(out, "le=\""));
        TRY(puts_(out, le));
        TRY(puts_(out, "\""));
    }
    return puts_(out, "}");
}

static int render_series(struct buf *out, const struct metrics_family *f, const struct metrics_series *s)
{
    char tmp[64];
    switch (f->type) {
    case METRICS_COUNTER:
        TRY(put_series_name(out, f, "", s, NULL));
        if (f->scale != 0) {
            TRY(puts_(out, " "));
            TRY(put_num(out, (double)metrics_counter_value(s) * f->scale));
            return puts_(out, "\n");
        }
        snprintf(tmp, sizeof(tmp), " %llu\n", (unsigned long long)metrics_counter_value(s));
        return puts_(out, tmp);
    case METRICS_GAUGE:
        TRY(put_series_name(out, f, "", s, NULL));
        if (f->scale != 0) {
            TRY(puts_(out, " "));
            TRY(put_num(out, (double)metrics_gauge_value(s) * f->scale));
            return puts_(out, "\n");
        }
        snprintf(tmp, sizeof(tmp), " %lld\n", (long long)metrics_gauge_value(s));
        return puts_(out, tmp);
    case METRICS_HISTOGRAM: {
        uint64_t cum = 0;
        for (size_t i = 0; i <= f->n_buckets; i++) {
            cum += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
            char le[64];
            if (i < f->n_buckets)
                snprintf(le, sizeof(le), "%.17g", f->bounds[i]);
            else
                snprintf(le, sizeof(le), "+Inf");
            TRY(put_series_name(out, f, "_bucket", s, le));
            snprintf(tmp, sizeof(tmp), " %llu\n", (unsigned long long)cum);
            TRY(puts_(out, tmp));
        }
        uint64_t bits = atomic_load_explicit(&s->sum_bits, memory_order_relaxed);
        double sum;
        memcpy(&sum, &bits, sizeof(sum));
        TRY(put_series_name(out, f, "_sum", s, NULL));
        TRY(puts_(out, " "));
        TRY(put_num(out, sum));
        TRY(puts_(out, "\n"));
        TRY(put_series_name(out, f, "_count", s, NULL));
        snprintf(tmp, sizeof(tmp), " %llu\n",
                 (unsigned long long)atomic_load_explicit(&s->count, memory_order_relaxed));
        return puts_(out, tmp);
    }
    case METRICS__COUNT:
    default:
        return ERR_INTERNAL;
    }
}

int metrics_render(struct metrics_registry *r, struct buf *out)
{
    static const char *const type_names[METRICS__COUNT] = {"counter", "gauge", "histogram"};
    /* Collect callbacks run without the lock: they may create series. */
    for (struct metrics_family *f = r->families; f; f = f->next)
        if (f->collect)
            f->collect(f, f->collect_arg);
    int rc = 0;
    pthread_mutex_lock(&r->lock);
    for (struct metrics_family *f = r->families; f && rc == 0; f = f->next) {
        rc = puts_(out, "# HELP ");
        if (rc == 0)
            rc = puts_(out, f->name);
        if (rc == 0)
            rc = puts_(out, " ");
        if (rc == 0)
            rc = put_escaped(out, f->help, false);
        if (rc == 0)
            rc = puts_(out, "\n# TYPE ");
        if (rc == 0)
            rc = puts_(out, f->name);
        if (rc == 0)
            rc = puts_(out, " ");
        if (rc == 0)
            rc = puts_(out, type_names[f->type]);
        if (rc == 0)
            rc = puts_(out, "\n");
        for (struct metrics_series *s = f->series; s && rc == 0; s = s->next)
            rc = render_series(out, f, s);
        if (rc == 0 && f->overflow)
            rc = render_series(out, f, f->overflow);
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}
