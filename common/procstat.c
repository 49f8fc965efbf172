/*
 * The process collector: the process_* metrics every Prometheus client
 * exposes (CPU, memory, descriptors, start time), read afresh from
 * /proc/self at each exposition as client_golang does.  Linux only; a
 * file that cannot be read gives NaN, never an error.
 */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "procstat.h"

/* Field k (1-based, as in proc(5)) of /proc/self/stat, or NaN. */
static double
procstat_stat_read(int k)
{
	char	 line[2048], *p, *end;
	FILE	*f;
	size_t	 n;
	int	 field;

	if ((f = fopen("/proc/self/stat", "re")) == NULL)
		return NAN;
	n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	/* The command name may hold spaces and ')': skip to the last ')'. */
	if ((p = strrchr(line, ')')) == NULL)
		return NAN;
	p++;
	for (field = 3; field < k; field++) {
		while (*p == ' ')
			p++;
		while (*p != ' ' && *p != '\0')
			p++;
	}
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return NAN;
	return (double)strtoull(p, &end, 10);
}

/* Value after prefix at the start of a line of path, or NaN. */
static double
procstat_line_read(const char *path, const char *prefix)
{
	char	 line[512], *p;
	FILE	*f;
	double	 v = NAN;
	size_t	 plen = strlen(prefix);

	if ((f = fopen(path, "re")) == NULL)
		return NAN;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, prefix, plen) != 0)
			continue;
		for (p = line + plen; *p == ' '; p++)
			;
		/* procfs (and so client_golang) reads "unlimited" as ~0. */
		if (strncmp(p, "unlimited", 9) == 0)
			v = 18446744073709551615.0;
		else
			v = strtod(p, NULL);
		break;
	}
	fclose(f);
	return v;
}

static const struct {
	const char		*name;
	enum metric_type	 type;
	const char		*help;
} procstat_table[] = {
	[PROCSTAT_CPU] = { "process_cpu_seconds_total", METRIC_COUNTER,
	    "Total user and system CPU time spent in seconds." },
	[PROCSTAT_RSS] = { "process_resident_memory_bytes", METRIC_GAUGE,
	    "Resident memory size in bytes." },
	[PROCSTAT_VSIZE] = { "process_virtual_memory_bytes", METRIC_GAUGE,
	    "Virtual memory size in bytes." },
	[PROCSTAT_FDS] = { "process_open_fds", METRIC_GAUGE,
	    "Number of open file descriptors." },
	[PROCSTAT_MAX_FDS] = { "process_max_fds", METRIC_GAUGE,
	    "Maximum number of open file descriptors." },
	[PROCSTAT_START] = { "process_start_time_seconds", METRIC_GAUGE,
	    "Start time of the process since unix epoch in seconds." },
};

/* Read afresh at each exposition, as client_golang does. */
static double
procstat_read_cb(void *arg)
{
	long		 hz = sysconf(_SC_CLK_TCK);
	long		 page = sysconf(_SC_PAGESIZE);
	DIR		*d;
	struct dirent	*de;
	double		 n = 0;

	if (hz <= 0)
		hz = 100;
	switch ((enum procstat_kind)(uintptr_t)arg) {
	case PROCSTAT_CPU:
		return (procstat_stat_read(14) +
		    procstat_stat_read(15)) / (double)hz;
	case PROCSTAT_RSS:
		return procstat_stat_read(24) *
		    (double)(page > 0 ? page : 4096);
	case PROCSTAT_VSIZE:
		return procstat_stat_read(23);
	case PROCSTAT_FDS:
		if ((d = opendir("/proc/self/fd")) == NULL)
			return NAN;
		while ((de = readdir(d)) != NULL)
			n += de->d_name[0] != '.';
		closedir(d);
		return n;
	case PROCSTAT_MAX_FDS:
		return procstat_line_read("/proc/self/limits",
		    "Max open files");
	case PROCSTAT_START:
		return procstat_line_read("/proc/stat", "btime") +
		    procstat_stat_read(22) / (double)hz;
	}
	return NAN;
}

void
procstat_register(struct metrics *reg)
{
	size_t	 i;

	for (i = 0; i < sizeof(procstat_table) / sizeof(procstat_table[0]);
	    i++) {
		if (procstat_table[i].type == METRIC_COUNTER)
			metrics_add_counter_cb(reg, procstat_table[i].name,
			    procstat_table[i].help, procstat_read_cb,
			    (void *)(uintptr_t)i);
		else
			metrics_add_gauge_cb(reg, procstat_table[i].name,
			    procstat_table[i].help, procstat_read_cb,
			    (void *)(uintptr_t)i);
	}
}

double
procstat_value(enum procstat_kind kind)
{
	return procstat_read_cb((void *)(uintptr_t)kind);
}
