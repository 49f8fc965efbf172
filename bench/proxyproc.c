/*
 * The proxy under test: started as a child (pushprox-proxy from this build
 * tree unless --proxy-bin says otherwise) on a free loopback port with the
 * flags a mode needs, its log in --log-dir; or attached to with
 * --proxy-url (and --proxy-pid, without which its memory and CPU cannot be
 * read).
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define PROXYPROC_MAX_ARGS	64

int
proxyproc_start(struct proxyproc *pp, const struct bench_config *cfg,
    const char *const *args, size_t nargs)
{
	char bin[PATH_MAX], listen[128];
	const char *argv[PROXYPROC_MAX_ARGS];
	size_t i, n = 0;
	int port, fd;
	pid_t pid;

	memset(pp, 0, sizeof(*pp));
	if (cfg->proxy_url != NULL && cfg->proxy_url[0] != '\0') {
		if (net_parse_hostport(cfg->proxy_url, &pp->addr) == -1) {
			bench_log("cannot parse --proxy-url %s (want "
			    "http://127.0.0.1:PORT)", cfg->proxy_url);
			return -1;
		}
		pp->pid = (pid_t)cfg->proxy_pid;
		net_format(&pp->addr, pp->hostport, sizeof(pp->hostport));
		if (pp->pid <= 0)
			bench_log("no --proxy-pid: the proxy's memory and CPU "
			    "will not be measured");
		if (net_wait_port(&pp->addr, 0, 5) == -1) {
			bench_log("proxy at %s does not accept connections",
			    pp->hostport);
			return -1;
		}
		bench_log("attached to the proxy at %s (pid %ld)",
		    pp->hostport, (long)pp->pid);
		return 0;
	}
	if (cfg->proxy_bin != NULL && cfg->proxy_bin[0] != '\0')
		snprintf(bin, sizeof(bin), "%s", cfg->proxy_bin);
	else if (procstat_sibling("proxy/pushprox-proxy", bin,
	    sizeof(bin)) == -1) {
		bench_log("cannot find pushprox-proxy next to the bench; give "
		    "--proxy-bin");
		return -1;
	}
	if ((port = net_free_port()) == -1) {
		bench_log("no free port");
		return -1;
	}
	memset(&pp->addr, 0, sizeof(pp->addr));
	if (net_parse_hostport("127.0.0.1:1", &pp->addr) == -1)
		return -1;
	pp->addr.sin_port = htons((uint16_t)port);
	net_format(&pp->addr, pp->hostport, sizeof(pp->hostport));
	snprintf(listen, sizeof(listen), "--web.listen-address=%s",
	    pp->hostport);
	snprintf(pp->log, sizeof(pp->log), "%s/pushprox-bench-proxy-%ld.log",
	    cfg->log_dir, (long)getpid());
	argv[n++] = bin;
	argv[n++] = listen;
	argv[n++] = "--log.level=warn";
	for (i = 0; i < nargs && n < PROXYPROC_MAX_ARGS - 1; i++)
		argv[n++] = args[i];
	for (i = 0; i < cfg->proxy_args.n && n < PROXYPROC_MAX_ARGS - 1; i++)
		argv[n++] = cfg->proxy_args.v[i];
	argv[n] = NULL;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		bench_log("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (cfg->pin)
			(void)procstat_pin(0, (int)cfg->server_cpu);
		fd = open(pp->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644);
		if (fd != -1) {
			(void)dup2(fd, STDOUT_FILENO);
			(void)dup2(fd, STDERR_FILENO);
		}
		execv(bin, (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	pp->pid = pid;
	pp->owned = true;
	if (net_wait_port(&pp->addr, pid, 10) == -1) {
		bench_log("the proxy did not start; see %s", pp->log);
		proxyproc_stop(pp);
		return -1;
	}
	bench_log("started %s on %s (pid %ld, log %s)", bin, pp->hostport,
	    (long)pid, pp->log);
	return 0;
}

void
proxyproc_stop(struct proxyproc *pp)
{
	double end;
	int status;

	if (!pp->owned || pp->pid <= 0)
		return;
	(void)kill(pp->pid, SIGTERM);
	for (end = bench_now() + 10; bench_now() < end; bench_sleep(0.02))
		if (waitpid(pp->pid, &status, WNOHANG) == pp->pid) {
			pp->pid = 0;
			return;
		}
	(void)kill(pp->pid, SIGKILL);
	(void)waitpid(pp->pid, &status, 0);
	pp->pid = 0;
}

void
proxyproc_mem(const struct proxyproc *pp, int64_t *rss, int64_t *hwm)
{
	(void)procstat_mem(pp->pid, rss, hwm);
}

double
proxyproc_cpu(const struct proxyproc *pp)
{
	double s;

	(void)procstat_cpu(pp->pid, &s);
	return s;
}
