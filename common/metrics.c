/*
 * A metrics registry sized for two small daemons.  Families keep their
 * registration order and series their creation order, so exposition is
 * deterministic.  A series is identified by its label pairs already
 * escaped for exposition (fqdn="a\"b",code="200"): that text is
 * unambiguous, serves as the strmap key for O(1) lookups, and is written
 * out as is.  Escaping also makes values valid UTF-8, since Prometheus
 * fails a whole scrape on one invalid label value; values differing only
 * in invalid bytes thus share a series instead of exposing duplicates.  A
 * family's series count is capped, since label values may come from
 * peers (FQDNs) and must not grow memory without bound.  Out of memory:
 * families are registered at start-up, where it is fatal (xmalloc.h);
 * series are created while serving, where a failed allocation drops
 * that one update and counts it as a dropped series.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pushprox_limits.h"
#include "log.h"
#include "metrics.h"
#include "strmap.h"
#include "xmalloc.h"

#define METRICS_DROPPED_NAME	"pushprox_metrics_series_dropped_total"

/* One allocation: the header, the bucket counts, then the labels text. */
struct metric_series {
	struct metric_series	*next;
	char			*labels;	/* escaped pairs, or "" */
	double			 value;		/* histogram: the sum */
	uint64_t		 count;		/* histogram only */
	uint64_t		 bucket_counts[]; /* per bucket, +Inf last */
};

struct metric {
	struct metrics		*reg;
	struct metric		*next;
	enum metric_type	 type;
	char			*name;	/* these 3 follow the struct */
	char			*help;
	char			*labels[LIMIT_METRIC_LABELS];
	size_t			 nlabels;
	double			*buckets;
	size_t			 nbuckets;
	metric_value_cb		 cb;
	void			*cb_arg;
	struct metric_series	*head;
	struct metric_series	**tailp;
	size_t			 nseries;
	struct strmap		*index;
};

struct metrics {
	struct metric	*head;
	struct metric	**tailp;
	struct metric	*dropped;	/* written last, after all families */
	struct strmap	*names;
};

static bool
metrics_name_check(const char *s, bool colon)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || (colon && c == ':') ||
		    (i > 0 && c >= '0' && c <= '9')))
			return false;
	}
	return i > 0;
}

/* A new series with the given escaped labels, or NULL on ENOMEM. */
static struct metric_series *
metrics_series_new(struct metric *m, const char *labels, size_t len)
{
	struct metric_series	*s;
	size_t			 nb;

	nb = m->type == METRIC_HISTOGRAM ? m->nbuckets + 1 : 0;
	if ((s = calloc(1, sizeof(*s) + nb * sizeof(uint64_t) + len + 1)) ==
	    NULL)
		return NULL;
	s->labels = (char *)(s->bucket_counts + nb);
	memcpy(s->labels, labels, len);
	return s;
}

static void
metrics_series_link(struct metric *m, struct metric_series *s)
{
	*m->tailp = s;
	m->tailp = &s->next;
	m->nseries++;
}

static struct metric *
metrics_family_new(struct metrics *reg, enum metric_type type,
    const char *name, const char *help, const char *labels,
    const double *buckets, size_t nbuckets)
{
	struct metric		*m;
	struct metric_series	*s;
	size_t			 i, nlen, hlen, llen;
	char			*p, *q;

	if (!metrics_name_check(name, true))
		fatal("invalid metric name");
	if (strmap_get(reg->names, name) != NULL)
		fatal("duplicate metric name");
	help = help != NULL ? help : "";
	labels = labels != NULL ? labels : "";
	nlen = strlen(name) + 1;
	hlen = strlen(help) + 1;
	llen = strlen(labels) + 1;
	m = xcalloc(1, sizeof(*m) + nlen + hlen + llen, "a metric family");
	m->reg = reg;
	m->type = type;
	m->name = memcpy((char *)(m + 1), name, nlen);
	m->help = memcpy(m->name + nlen, help, hlen);
	p = memcpy(m->help + hlen, labels, llen);
	m->tailp = &m->head;
	for (; *p != '\0'; p = q) {
		if ((q = strchr(p, ',')) != NULL)
			*q++ = '\0';
		else
			q = p + strlen(p);
		if (m->nlabels == LIMIT_METRIC_LABELS)
			fatal("too many labels");
		if (!metrics_name_check(p, false) || strncmp(p, "__", 2) == 0 ||
		    (type == METRIC_HISTOGRAM && strcmp(p, "le") == 0))
			fatal("invalid label name");
		m->labels[m->nlabels++] = p;
	}
	if (type == METRIC_HISTOGRAM) {
		for (i = 0; i < nbuckets; i++) {
			if (isnan(buckets[i]) ||
			    (i > 0 && buckets[i] <= buckets[i - 1]))
				fatal("histogram buckets not ascending");
		}
		if (nbuckets > 0 && isinf(buckets[nbuckets - 1]) &&
		    buckets[nbuckets - 1] > 0)
			nbuckets--;	/* +Inf is implicit */
		m->buckets = xcalloc(nbuckets, sizeof(*m->buckets),
		    "histogram buckets");
		if (nbuckets > 0)
			memcpy(m->buckets, buckets,
			    nbuckets * sizeof(*buckets));
		m->nbuckets = nbuckets;
	}
	if (m->nlabels == 0) {
		/* Unlabeled families are exposed (as 0) from the start. */
		if ((s = metrics_series_new(m, "", 0)) == NULL)
			fatal("out of memory: an unlabeled series");
		metrics_series_link(m, s);
	} else if ((m->index = strmap_new()) == NULL)
		fatal("out of memory: a family's series index");
	if (strmap_put(reg->names, name, m) == -1)
		fatal("out of memory: the family names index");
	return m;
}

static void
metrics_family_free(struct metric *m)
{
	struct metric_series	*s, *next;

	for (s = m->head; s != NULL; s = next) {
		next = s->next;
		free(s);
	}
	strmap_free(m->index);
	free(m->buckets);
	free(m);
}

struct metrics *
metrics_new(void)
{
	struct metrics	*reg;

	reg = xcalloc(1, sizeof(*reg), "a metrics registry");
	reg->tailp = &reg->head;
	if ((reg->names = strmap_new()) == NULL)
		fatal("out of memory: the family names index");
	reg->dropped = metrics_family_new(reg, METRIC_COUNTER,
	    METRICS_DROPPED_NAME,
	    "Series not created because their family was at its limit.",
	    NULL, NULL, 0);
	return reg;
}

void
metrics_free(struct metrics *reg)
{
	struct metric	*m, *next;

	if (reg == NULL)
		return;
	for (m = reg->head; m != NULL; m = next) {
		next = m->next;
		metrics_family_free(m);
	}
	metrics_family_free(reg->dropped);
	strmap_free(reg->names);
	free(reg);
}

struct metric *
metrics_add(struct metrics *reg, enum metric_type type, const char *name,
    const char *help, const char *labels, const double *buckets,
    size_t nbuckets)
{
	struct metric	*m;

	m = metrics_family_new(reg, type, name, help, labels, buckets,
	    nbuckets);
	*reg->tailp = m;
	reg->tailp = &m->next;
	return m;
}

static void
metrics_add_cb(struct metrics *reg, enum metric_type type, const char *name,
    const char *help, metric_value_cb cb, void *arg)
{
	struct metric	*m;

	m = metrics_add(reg, type, name, help, NULL, NULL, 0);
	m->cb = cb;
	m->cb_arg = arg;
}

void
metrics_add_gauge_cb(struct metrics *reg, const char *name,
    const char *help, metric_value_cb cb, void *arg)
{
	metrics_add_cb(reg, METRIC_GAUGE, name, help, cb, arg);
}

void
metrics_add_counter_cb(struct metrics *reg, const char *name,
    const char *help, metric_value_cb cb, void *arg)
{
	metrics_add_cb(reg, METRIC_COUNTER, name, help, cb, arg);
}

/*
 * Escapes a label value (or, without quote, a HELP text), replacing bytes
 * that are not UTF-8.
 */
static int
metrics_escaped_write(struct buf *out, const char *s, bool quote)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n, need;
	uint32_t		 c;
	int			 r = 0;

	for (i = 0; p[i] != '\0'; i += n) {
		n = 1;
		if (p[i] == '\\')
			r |= buf_append(out, "\\\\", 2);
		else if (p[i] == '"' && quote)
			r |= buf_append(out, "\\\"", 2);
		else if (p[i] == '\n')
			r |= buf_append(out, "\\n", 2);
		else if (p[i] < 0x80)
			r |= buf_append(out, &p[i], 1);
		else {
			need = p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : 2;
			c = p[i] & (0x7f >> need);
			for (n = 1; n < need && (p[i + n] & 0xc0) == 0x80; n++)
				c = (c << 6) | (p[i + n] & 0x3f);
			if (n < need || p[i] < 0xc2 || p[i] > 0xf4 ||
			    (need == 3 && c < 0x800) ||
			    (need == 4 && c < 0x10000) || c > 0x10ffff ||
			    (c >= 0xd800 && c <= 0xdfff)) {
				r |= buf_append(out, "\xef\xbf\xbd", 3);
				n = 1;
			} else
				r |= buf_append(out, &p[i], n);
		}
	}
	return r;
}

/*
 * The series for the label values in ap; created if absent and create is
 * set.  NULL when absent, over the cap or out of memory.
 */
static struct metric_series *
metrics_series_lookup(struct metric *m, va_list ap, bool create)
{
	struct metric_series	*s;
	struct buf		 key;
	const char		*v;
	size_t			 i;
	int			 r = 0;

	if (m->nlabels == 0)
		return m->head;
	buf_init(&key, SIZE_MAX);
	for (i = 0; i < m->nlabels; i++) {
		if ((v = va_arg(ap, const char *)) == NULL)
			v = "";
		r |= buf_printf(&key, "%s%s=\"", i > 0 ? "," : "",
		    m->labels[i]);
		r |= metrics_escaped_write(&key, v, true);
		r |= buf_append(&key, "\"", 1);
	}
	s = r == 0 ? strmap_get(m->index, buf_cstr(&key)) : NULL;
	if (s == NULL && create) {
		if (r == 0 && m->nseries < LIMIT_MAX_METRIC_SERIES &&
		    (s = metrics_series_new(m, key.data, key.len)) != NULL &&
		    strmap_put(m->index, s->labels, s) == 0)
			metrics_series_link(m, s);
		else {
			free(s);
			s = NULL;
			m->reg->dropped->head->value++;
		}
	}
	buf_release(&key);
	return s;
}

/* Adds to or sets a counter or gauge series; checks fit the public API. */
static void
metrics_scalar_update(struct metric *m, double v, bool set, va_list ap)
{
	struct metric_series	*s;

	if (m->type == METRIC_HISTOGRAM || m->cb != NULL ||
	    (set && m->type != METRIC_GAUGE))
		fatal("metric type does not allow this update");
	/* Counters only go up; a negative increment is a caller bug. */
	if (m->type == METRIC_COUNTER && !(v >= 0))
		return;
	if ((s = metrics_series_lookup(m, ap, true)) != NULL)
		s->value = set ? v : s->value + v;
}

void
metric_add(struct metric *m, double v, ...)
{
	va_list	 ap;

	va_start(ap, v);
	metrics_scalar_update(m, v, false, ap);
	va_end(ap);
}

void
metric_set(struct metric *m, double v, ...)
{
	va_list	 ap;

	va_start(ap, v);
	metrics_scalar_update(m, v, true, ap);
	va_end(ap);
}

void
metric_observe(struct metric *m, double v, ...)
{
	struct metric_series	*s;
	va_list			 ap;
	size_t			 i;

	if (m->type != METRIC_HISTOGRAM)
		fatal("metric_observe on a non-histogram metric");
	va_start(ap, v);
	s = metrics_series_lookup(m, ap, true);
	va_end(ap);
	if (s == NULL)
		return;
	for (i = 0; i < m->nbuckets && !(v <= m->buckets[i]); i++)
		;
	s->bucket_counts[i]++;
	s->count++;
	s->value += v;
}

double
metric_value(struct metric *m, ...)
{
	struct metric_series	*s;
	va_list			 ap;

	if (m->cb != NULL)
		return m->cb(m->cb_arg);
	va_start(ap, m);
	s = metrics_series_lookup(m, ap, false);
	va_end(ap);
	if (s == NULL)
		return 0;
	return m->type == METRIC_HISTOGRAM ? (double)s->count : s->value;
}

/* Go's shortest round-trip style: "3", "0.25", "1.5e-07", "+Inf". */
static void
metrics_value_format(double v, char *buf, size_t len)
{
	int	 p;

	if (isnan(v))
		snprintf(buf, len, "NaN");
	else if (isinf(v))
		snprintf(buf, len, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v == trunc(v) && fabs(v) < 1e15)
		snprintf(buf, len, "%.0f", v);
	else {
		for (p = 1; p < 17; p++) {
			snprintf(buf, len, "%.*g", p, v);
			if (strtod(buf, NULL) == v)
				return;
		}
		snprintf(buf, len, "%.17g", v);
	}
}

static int
metrics_sample_write(struct buf *out, const struct metric *m,
    const struct metric_series *s, const char *suffix, const char *le,
    double v)
{
	char	 num[64];
	int	 r = 0;

	metrics_value_format(v, num, sizeof(num));
	r |= buf_printf(out, "%s%s", m->name, suffix);
	if (*s->labels != '\0' || le != NULL)
		r |= buf_printf(out, "{%s%s%s%s%s}", s->labels,
		    *s->labels != '\0' && le != NULL ? "," : "",
		    le != NULL ? "le=\"" : "", le != NULL ? le : "",
		    le != NULL ? "\"" : "");
	r |= buf_printf(out, " %s\n", num);
	return r;
}

static int
metrics_family_write(struct metric *m, struct buf *out)
{
	static const char *const types[] = { "counter", "gauge",
	    "histogram" };
	struct metric_series	*s;
	char			 le[64];
	uint64_t		 cum;
	size_t			 i;
	int			 r = 0;

	r |= buf_printf(out, "# HELP %s ", m->name);
	r |= metrics_escaped_write(out, m->help, false);
	r |= buf_printf(out, "\n# TYPE %s %s\n", m->name, types[m->type]);
	if (m->cb != NULL)
		return r | metrics_sample_write(out, m, m->head, "", NULL,
		    m->cb(m->cb_arg));
	for (s = m->head; s != NULL && r == 0; s = s->next) {
		if (m->type != METRIC_HISTOGRAM) {
			r |= metrics_sample_write(out, m, s, "", NULL,
			    s->value);
			continue;
		}
		cum = 0;
		for (i = 0; i <= m->nbuckets; i++) {
			cum += s->bucket_counts[i];
			metrics_value_format(i < m->nbuckets ? m->buckets[i] :
			    INFINITY, le, sizeof(le));
			r |= metrics_sample_write(out, m, s, "_bucket", le,
			    (double)cum);
		}
		r |= metrics_sample_write(out, m, s, "_sum", NULL, s->value);
		r |= metrics_sample_write(out, m, s, "_count", NULL,
		    (double)s->count);
	}
	return r;
}

int
metrics_write(struct metrics *reg, struct buf *out)
{
	struct metric	*m;

	for (m = reg->head; m != NULL; m = m->next) {
		if (metrics_family_write(m, out) != 0)
			return -1;
	}
	return metrics_family_write(reg->dropped, out) != 0 ? -1 : 0;
}
