/*
 * common/flags.c flags_parse: the command line.  Not remote input, but
 * the parser also runs every default through the value parsers and
 * formats range errors, so it is fuzzed with the rest.  The input is split
 * on NUL bytes into argv[1..] (argv[0] is "fuzz"); the table below has
 * every flag type, ranges, a repeatable flag with a default, an enum and a
 * required flag.  --help and error text go to /dev/null.
 *
 * Invariants: on FLAGS_OK every numeric value is inside its range and the
 * enum index is a valid choice, the required string is non-empty;
 * flags_free may then be called any number of times.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "flags.h"

#include "fuzz_util.h"

#define FUZZ_MAX_ARGS	256

struct fuzz_cfg {
	char			*str;
	char			*req;
	struct flag_strings	 many;
	bool			 on;
	bool			 off;
	int64_t			 num;
	int64_t			 any;
	int64_t			 dur;
	int64_t			 dur_min;
	int64_t			 bytes;
	int			 level;
};

static const char *const fuzz_levels[] = { "debug", "info", "warn",
    "error", NULL };

#define O(f)	offsetof(struct fuzz_cfg, f)
static const struct flag_def fuzz_table[] = {
	{ "web.listen-address", FLAG_STRING, ":8080", 0, 0, NULL, O(str), 0,
	    "Address to listen on." },
	{ "proxy-url", FLAG_STRING, "http://localhost:8080/", 0, 0, NULL,
	    O(req), FLAG_REQUIRED, "The proxy." },
	{ "label", FLAG_STRINGS, "a=b", 0, 0, NULL, O(many), 0,
	    "Repeatable." },
	{ "tls.enabled", FLAG_BOOL, NULL, 0, 0, NULL, O(on), 0, "On." },
	{ "fast", FLAG_BOOL, "true", 0, 0, NULL, O(off), 0, "Off." },
	{ "scrape.concurrency", FLAG_INT, "64", 1, 4096, NULL, O(num), 0,
	    "Bounded int." },
	{ "count", FLAG_INT, NULL, 0, 0, NULL, O(any), 0, "Unbounded." },
	{ "poll.timeout", FLAG_DURATION, "30s", 1000, 3600000, NULL, O(dur),
	    0, "Bounded duration." },
	{ "retry.min", FLAG_DURATION, "1s", 1, INT64_MAX, NULL, O(dur_min), 0,
	    "At least." },
	{ "push.max-bytes", FLAG_BYTES, "256MiB", 1024, INT64_MAX / 2, NULL,
	    O(bytes), 0, "Bounded size." },
	{ "log.level", FLAG_ENUM, "info", 0, 0, fuzz_levels, O(level), 0,
	    "Log level." },
};
#undef O
#define FUZZ_NFLAGS	(sizeof(fuzz_table) / sizeof(fuzz_table[0]))

static const struct flags_program fuzz_prog = {
	"fuzz", "0.0.0", "flags fuzzer",
};

/* Opened once and kept: no state grows between runs. */
static FILE *fuzz_null;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_cfg		 cfg;
	char			*buf, *argv[FUZZ_MAX_ARGS + 1];
	int			 argc = 0;
	size_t			 i, start;
	enum flags_result	 r;

	if (fuzz_null == NULL && (fuzz_null = fopen("/dev/null", "w")) == NULL)
		abort();
	buf = fuzz_cstr(data, size);
	argv[argc++] = (char *)"fuzz";
	/* Each NUL ends an argument; the final one ends at the extra NUL. */
	for (i = 0, start = 0; i <= size && argc < FUZZ_MAX_ARGS; i++) {
		if (i == size || buf[i] == '\0') {
			if (i < size || i > start)
				argv[argc++] = buf + start;
			start = i + 1;
		}
	}
	argv[argc] = NULL;
	/* flags_parse must not need the struct initialised. */
	memset(&cfg, 0xa5, sizeof(cfg));
	r = flags_parse(fuzz_table, FUZZ_NFLAGS, &cfg, &fuzz_prog, argc, argv,
	    fuzz_null, fuzz_null);
	FUZZ_CHECK(r == FLAGS_OK || r == FLAGS_EXIT || r == FLAGS_ERROR);
	if (r == FLAGS_OK) {
		FUZZ_CHECK(cfg.str != NULL);
		fuzz_touch(cfg.str);
		FUZZ_CHECK(cfg.req != NULL && cfg.req[0] != '\0');
		FUZZ_CHECK(cfg.many.n == 0 || cfg.many.v != NULL);
		for (i = 0; i < cfg.many.n; i++)
			fuzz_touch(cfg.many.v[i]);
		FUZZ_CHECK(cfg.num >= 1 && cfg.num <= 4096);
		FUZZ_CHECK(cfg.dur >= 1000 && cfg.dur <= 3600000);
		FUZZ_CHECK(cfg.dur_min >= 1);
		FUZZ_CHECK(cfg.bytes >= 1024 && cfg.bytes <= INT64_MAX / 2);
		FUZZ_CHECK(cfg.level >= 0 && cfg.level < 4);
	}
	flags_free(fuzz_table, FUZZ_NFLAGS, &cfg);
	flags_free(fuzz_table, FUZZ_NFLAGS, &cfg);
	free(buf);
	return 0;
}
