/*
 * The unit tests' log check (see testlog.h).  The hook runs for every
 * event at warn level and above, whatever --log.level a test set, and
 * ends the running test with ck_abort_msg at the first one no
 * test_expect_log call allows, so the failure names the event.
 */
#include <check.h>
#include <stddef.h>
#include <string.h>

#include "testlog.h"

#define TESTLOG_MAX_EXPECTED	32

static struct {
	enum log_level	 level;
	const char	*substring;	/* NULL: any */
} testlog_expected[TESTLOG_MAX_EXPECTED];
static size_t testlog_nexpected;

void
test_expect_log(enum log_level level, const char *substring)
{
	ck_assert_msg(testlog_nexpected < TESTLOG_MAX_EXPECTED,
	    "more than %d log expectations in one test",
	    TESTLOG_MAX_EXPECTED);
	testlog_expected[testlog_nexpected].level = level;
	testlog_expected[testlog_nexpected].substring = substring;
	testlog_nexpected++;
}

static void
testlog_warn_cb(enum log_level level, const char *line, void *arg)
{
	size_t	 i;

	for (i = 0; i < testlog_nexpected; i++) {
		if (testlog_expected[i].level == level &&
		    (testlog_expected[i].substring == NULL ||
		    strstr(line, testlog_expected[i].substring) != NULL))
			return;
	}
	ck_abort_msg("unexpected %s logged (declare it with "
	    "test_expect_log): %s", level == LOG_LEVEL_WARN ? "warning" :
	    "error", line);
}

void
testlog_install(void)
{
	log_set_warn_hook(testlog_warn_cb, NULL);
}
