/*
 * Figures of a run: each is printed as a readable "key: value" line on
 * stderr as it is added and collected into one JSON object (jansson, keys
 * in insertion order), printed as the run's single line on stdout.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "bench.h"

struct report {
	json_t	*obj;
};

struct report *
report_new(const char *mode)
{
	struct report *r;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->obj = json_object()) == NULL) {
		free(r);
		return NULL;
	}
	fprintf(stderr, "results:\n");
	report_str(r, "mode", mode);
	return r;
}

static void
report_set(struct report *r, const char *key, json_t *v)
{
	if (r == NULL || v == NULL) {
		json_decref(v);
		return;
	}
	json_object_set_new(r->obj, key, v);
}

void
report_int(struct report *r, const char *key, int64_t v)
{
	fprintf(stderr, "  %-44s %lld\n", key, (long long)v);
	report_set(r, key, json_integer((json_int_t)v));
}

void
report_real(struct report *r, const char *key, double v)
{
	char s[64];

	if (!isfinite(v)) {
		fprintf(stderr, "  %-44s (none)\n", key);
		report_set(r, key, json_null());
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		report_int(r, key, (int64_t)v);
		return;
	}
	/* Six significant digits are plenty and keep the line short. */
	snprintf(s, sizeof(s), "%.6g", v);
	fprintf(stderr, "  %-44s %s\n", key, s);
	report_set(r, key, json_real(strtod(s, NULL)));
}

void
report_bytes(struct report *r, const char *key, int64_t v)
{
	if (v < 0)
		report_real(r, key, NAN);	/* could not be read */
	else
		report_int(r, key, v);
}

void
report_bool(struct report *r, const char *key, bool v)
{
	fprintf(stderr, "  %-44s %s\n", key, v ? "true" : "false");
	report_set(r, key, json_boolean(v));
}

void
report_str(struct report *r, const char *key, const char *v)
{
	fprintf(stderr, "  %-44s %s\n", key, v);
	report_set(r, key, json_string(v));
}

void
report_done(struct report *r)
{
	char *s;

	if (r == NULL)
		return;
	/* Others' load on the host colours every figure; say how much. */
	report_real(r, "host_load_1m", procstat_loadavg());
	s = json_dumps(r->obj, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(10));
	if (s != NULL) {
		fputs(s, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		free(s);
	}
	json_decref(r->obj);
	free(r);
}
