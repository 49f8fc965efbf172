/*
 * What the bench measures of another process, from /proc: resident and
 * peak resident memory (VmRSS, VmHWM in /proc/PID/status), CPU time
 * (utime + stime in /proc/PID/stat), and resetting the peak (writing 5 to
 * /proc/PID/clear_refs) so a peak can be measured from a known start.
 * VmRSS counts the shared libraries' pages too; RssAnon is the process's
 * own memory, and Pss shares each library page among its users.  And
 * pinning a process to one CPU, as taskset does (sched_setaffinity).
 */
#include <sys/resource.h>

#include <sched.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* Reads a small file whole; returns its length or -1. */
static ssize_t
procstat_read_path(const char *path, char *buf, size_t len)
{
	ssize_t n, off = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((size_t)off < len - 1 &&
	    (n = read(fd, buf + off, len - 1 - (size_t)off)) > 0)
		off += n;
	close(fd);
	buf[off] = '\0';
	return off;
}

static ssize_t
procstat_read(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	return procstat_read_path(path, buf, len);
}

/* The "NAME:   123 kB" line of a status file, in bytes; -1 if absent. */
static int64_t
procstat_kb(const char *status, const char *name)
{
	const char *p = status;
	size_t nl = strlen(name);
	long long v;
	char *end;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, nl) == 0 && p[nl] == ':') {
			errno = 0;
			v = strtoll(p + nl + 1, &end, 10);
			if (errno != 0 || end == p + nl + 1)
				return -1;
			return (int64_t)v * 1024;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

int
procstat_mem(pid_t pid, int64_t *rss, int64_t *hwm)
{
	char buf[4096];

	*rss = *hwm = -1;
	if (pid <= 0 || procstat_read(pid, "status", buf, sizeof(buf)) <= 0)
		return -1;
	*rss = procstat_kb(buf, "VmRSS");
	*hwm = procstat_kb(buf, "VmHWM");
	return *rss >= 0 && *hwm >= 0 ? 0 : -1;
}

int
procstat_memx(pid_t pid, struct procmem *m)
{
	char buf[4096];

	m->rss = m->hwm = m->anon = m->file = m->pss = -1;
	if (pid <= 0 || procstat_read(pid, "status", buf, sizeof(buf)) <= 0)
		return -1;
	m->rss = procstat_kb(buf, "VmRSS");
	m->hwm = procstat_kb(buf, "VmHWM");
	m->anon = procstat_kb(buf, "RssAnon");
	m->file = procstat_kb(buf, "RssFile");
	if (procstat_read(pid, "smaps_rollup", buf, sizeof(buf)) > 0) {
		/* Its first line is the address range; find "Pss:". */
		const char *p = strstr(buf, "\nPss:");

		m->pss = p != NULL ? procstat_kb(p + 1, "Pss") : -1;
	}
	return m->rss >= 0 ? 0 : -1;
}

int
procstat_cpu(pid_t pid, double *seconds)
{
	char buf[2048], *p, *end;
	unsigned long long v[2];
	long tck = sysconf(_SC_CLK_TCK);
	int field, i;

	*seconds = -1;
	if (pid <= 0 || procstat_read(pid, "stat", buf, sizeof(buf)) <= 0)
		return -1;
	/* The command name may hold spaces; fields count from its ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	p++;
	/* utime and stime are fields 14 and 15; ')' ends field 2. */
	for (field = 2, i = 0; field < 15 && *p != '\0'; ) {
		while (*p == ' ')
			p++;
		field++;
		if (field == 14 || field == 15) {
			errno = 0;
			v[i++] = strtoull(p, &end, 10);
			if (errno != 0 || end == p)
				return -1;
			p = end;
		} else
			while (*p != ' ' && *p != '\0')
				p++;
	}
	if (i != 2 || tck <= 0)
		return -1;
	*seconds = (double)(v[0] + v[1]) / (double)tck;
	return 0;
}

double
procstat_host_busy(void)
{
	char buf[4096], *p = buf, *end;
	unsigned long long v, busy = 0;
	long tck = sysconf(_SC_CLK_TCK);
	int i;

	/* "cpu  user nice system idle iowait irq softirq steal ..." */
	if (procstat_read_path("/proc/stat", buf, sizeof(buf)) <= 0 ||
	    strncmp(buf, "cpu ", 4) != 0 || tck <= 0)
		return -1;
	p += 4;
	for (i = 0; i < 8; i++) {
		v = strtoull(p, &end, 10);
		if (end == p)
			return -1;
		if (i != 3 && i != 4)	/* not idle, not iowait */
			busy += v;
		p = end;
	}
	return (double)busy / (double)tck;
}

double
procstat_loadavg(void)
{
	char buf[128];

	if (procstat_read_path("/proc/loadavg", buf, sizeof(buf)) <= 0)
		return -1;
	return strtod(buf, NULL);
}

int
procstat_reset_hwm(pid_t pid)
{
	char path[64];
	int fd, rv;

	snprintf(path, sizeof(path), "/proc/%ld/clear_refs", (long)pid);
	if (pid <= 0 || (fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	rv = write(fd, "5", 1) == 1 ? 0 : -1;
	close(fd);
	return rv;
}

long
procstat_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? LONG_MAX : (long)rl.rlim_cur;
}

int
procstat_sibling(const char *rel, char *out, size_t len)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return -1;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return -1;
	*slash = '\0';
	if ((size_t)snprintf(out, len, "%s/../%s", self, rel) >= len)
		return -1;
	return access(out, X_OK);
}

int
procstat_pin(pid_t pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(pid, sizeof(set), &set) == -1) {
		bench_log("cannot pin process %ld to CPU %d: %s", (long)pid,
		    cpu, strerror(errno));
		return -1;
	}
	return 0;
}
