/* Unit tests for the process collector (common/procstat.c). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "metrics.h"
#include "procstat.h"

static const char *const procstat_test_names[] = {
	[PROCSTAT_CPU] = "process_cpu_seconds_total",
	[PROCSTAT_RSS] = "process_resident_memory_bytes",
	[PROCSTAT_VSIZE] = "process_virtual_memory_bytes",
	[PROCSTAT_FDS] = "process_open_fds",
	[PROCSTAT_MAX_FDS] = "process_max_fds",
	[PROCSTAT_START] = "process_start_time_seconds",
};

/* Every family is exposed with its type, a finite value, and sane sizes. */
START_TEST(test_procstat_register)
{
	struct metrics *reg = metrics_new();
	struct buf out;
	const char *s;
	char want[128], *end;
	double x;
	size_t i;

	procstat_register(reg);
	buf_init(&out, 1 << 20);
	ck_assert_int_eq(metrics_write(reg, &out), 0);
	s = buf_cstr(&out);
	ck_assert_ptr_nonnull(strstr(s,
	    "# TYPE process_cpu_seconds_total counter\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "# TYPE process_open_fds gauge\n"));
	for (i = 0; i < sizeof(procstat_test_names) /
	    sizeof(procstat_test_names[0]); i++) {
		snprintf(want, sizeof(want), "\n%s ", procstat_test_names[i]);
		ck_assert_msg(strstr(s, want) != NULL, "no %s",
		    procstat_test_names[i]);
		x = strtod(strstr(s, want) + strlen(want), &end);
		ck_assert_int_eq(*end, '\n');
		ck_assert_msg(isfinite(x) && x >= 0, "%s = %g",
		    procstat_test_names[i], x);
		if (i != PROCSTAT_CPU)
			ck_assert_msg(x > 0, "%s = %g",
			    procstat_test_names[i], x);
	}
	buf_release(&out);
	metrics_free(reg);
}
END_TEST

/* The values follow the process: a new descriptor, a recent start. */
START_TEST(test_procstat_values)
{
	double fds, start, now = (double)time(NULL);
	int fd[2];

	fds = procstat_value(PROCSTAT_FDS);
	ck_assert_int_eq(pipe(fd), 0);
	ck_assert(procstat_value(PROCSTAT_FDS) == fds + 2);
	close(fd[0]);
	close(fd[1]);
	start = procstat_value(PROCSTAT_START);
	ck_assert_msg(start > now - 3600 && start <= now + 1,
	    "start %f, now %f", start, now);
	ck_assert(procstat_value(PROCSTAT_RSS) <=
	    procstat_value(PROCSTAT_VSIZE));
	ck_assert(procstat_value(PROCSTAT_MAX_FDS) >= fds);
}
END_TEST

Suite *
procstat_suite(void)
{
	Suite	*s = suite_create("procstat");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_procstat_register);
	tcase_add_test(tc, test_procstat_values);
	suite_add_tcase(s, tc);
	return s;
}
