/* Prometheus metrics registry: counters, gauges and histograms with labels, rendered in the
 * text exposition format (version 0.0.4).
 *
 * Hot paths never look anything up: they resolve a labelled series once
 * (metrics_series(), which may allocate) and then update it with relaxed atomics, which is
 * safe from any thread. Cardinality is bounded per family (max_series); past it, new label
 * sets go to a single overflow series labelled with the value "_other" so nothing is lost
 * and memory stays bounded. */
#ifndef VEIL_CORE_METRICS_H
#define VEIL_CORE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum metrics_type {
    METRICS_COUNTER = 0,
    METRICS_GAUGE,
    METRICS_HISTOGRAM,
    METRICS__COUNT, /* sentinel */
};

#define METRICS_MAX_LABELS 4
#define METRICS_MAX_BUCKETS 16

struct metrics_registry;
struct metrics_family;
struct metrics_series;

struct metrics_registry *metrics_registry_new(void);
void metrics_registry_free(struct metrics_registry *r);

/* Registers a family. `name` must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 * [a-zA-Z_][a-zA-Z0-9_]*; n_labels <= METRICS_MAX_LABELS. For histograms, `buckets` are the
 * strictly increasing upper bounds (the +Inf bucket is implicit). max_series 0 means 1000.
 * Returns NULL on invalid arguments, a duplicate name, or no memory. */
struct metrics_family *metrics_family_new(struct metrics_registry *r, enum metrics_type type, const char *name,
                                          const char *help, const char *const *label_names, size_t n_labels,
                                          const double *buckets, size_t n_buckets, size_t max_series);

/* Finds or creates the series for these label values (n_labels of them). Thread-safe.
 * Returns NULL only when out of memory. */
struct metrics_series *metrics_series(struct metrics_family *f, const char *const *label_values);

void metrics_add(struct metrics_series *s, uint64_t v); /* counter += v (gauge too) */
void metrics_set(struct metrics_series *s, int64_t v);  /* gauge = v */
void metrics_gauge_add(struct metrics_series *s, int64_t delta);
void metrics_observe(struct metrics_series *s, double v); /* histogram */
uint64_t metrics_counter_value(const struct metrics_series *s);
int64_t metrics_gauge_value(const struct metrics_series *s);

/* Called during rendering so a family can refresh values it computes on demand (RSS, fds...). */
typedef void metrics_collect_cb(struct metrics_family *f, void *arg);
void metrics_family_on_collect(struct metrics_family *f, metrics_collect_cb *cb, void *arg);

/* Renders the family's counter/gauge values multiplied by `scale` (e.g. a counter kept in
 * microseconds, shown in seconds with scale 1e-6). Default 1 (integers as is). */
void metrics_family_set_scale(struct metrics_family *f, double scale);

/* Drops every series of the family (and its overflow series), for families rebuilt whole by
 * their collect callback at each render (e.g. a top-N list whose members change): series
 * pointers obtained for this family become invalid. Thread-safe against rendering. */
void metrics_family_clear(struct metrics_family *f);

/* Appends the whole registry in Prometheus text format. ERR_NOMEM. */
int metrics_render(struct metrics_registry *r, struct buf *out);

#endif
