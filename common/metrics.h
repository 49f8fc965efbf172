/*
 * A small Prometheus metrics registry and its text exposition (format
 * 0.0.4).  Families are counters, gauges or histograms with a fixed list of
 * label names; series are created on first use, at most
 * LIMIT_MAX_METRIC_SERIES per family (further ones are dropped and
 * counted in pushprox_metrics_series_dropped_total).  Gauges may instead
 * be computed at exposition time by a callback.
 */
#ifndef PUSHPROX_METRICS_H
#define PUSHPROX_METRICS_H

#include <stddef.h>

#include "buf.h"

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
};

struct metrics;
struct metric;

typedef double (*metric_value_cb)(void *arg);

/* Returns a new registry; caller frees with metrics_free. */
struct metrics *metrics_new(void);

/* Frees the registry and all its families. NULL is a no-op. */
void metrics_free(struct metrics *reg);

/*
 * Adds a family.  labels is a comma-separated list of label names, or NULL
 * for none.  buckets (upper bounds, ascending, without +Inf) only for
 * histograms.  Returns the family, borrowed from reg; fatal on ENOMEM.
 */
struct metric *metrics_add(struct metrics *reg, enum metric_type type,
    const char *name, const char *help, const char *labels,
    const double *buckets, size_t nbuckets);

/* Adds an unlabeled gauge whose value is cb(arg) at exposition time. */
void metrics_add_gauge_cb(struct metrics *reg, const char *name,
    const char *help, metric_value_cb cb, void *arg);

/* Adds an unlabeled counter whose value is cb(arg) at exposition time. */
void metrics_add_counter_cb(struct metrics *reg, const char *name,
    const char *help, metric_value_cb cb, void *arg);

/*
 * Changes a series; the label values follow v, one const char * per label
 * name of the family, in order.
 */
void metric_add(struct metric *m, double v, ...);	/* counter, gauge */
void metric_set(struct metric *m, double v, ...);	/* gauge */
void metric_observe(struct metric *m, double v, ...);	/* histogram */

/* Returns a series' current value (histograms: the count), or 0. */
double metric_value(struct metric *m, ...);

/* Appends the text exposition of every family; -1 if out is full. */
int metrics_write(struct metrics *reg, struct buf *out);

/* The Content-Type of metrics_write's output. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
