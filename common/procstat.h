/*
 * The process_* metrics of /proc/self (cpu, memory, fds, max fds, start
 * time), as callback families of a metrics registry.
 */
#ifndef PUSHPROX_PROCSTAT_H
#define PUSHPROX_PROCSTAT_H

struct metrics;

enum procstat_kind {
	PROCSTAT_CPU,		/* process_cpu_seconds_total */
	PROCSTAT_RSS,		/* process_resident_memory_bytes */
	PROCSTAT_VSIZE,		/* process_virtual_memory_bytes */
	PROCSTAT_FDS,		/* process_open_fds */
	PROCSTAT_MAX_FDS,	/* process_max_fds */
	PROCSTAT_START,		/* process_start_time_seconds */
};

/* Adds the process_* families to reg (at start-up: fatal on ENOMEM). */
void procstat_register(struct metrics *reg);

/* One value, read now; NaN if /proc could not be read. */
double procstat_value(enum procstat_kind kind);

#endif
