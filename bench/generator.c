/*
 * Generator processes: the simulated clients are spread over P forked
 * children (one process cannot hold more connections than its descriptor
 * limit), child g holding clients [g*N/P, (g+1)*N/P) and binding its
 * sockets to source address 127.0.0.(2+g) (--source-base) so that no one
 * address runs out of ephemeral ports.  Generator 0 can also serve the
 * payload directly (the baseline of relay mode).  Parent and child talk
 * over a socketpair in lines: the child sends "ready PORT" once all its
 * clients are connected; the parent sends "stats" (or "stop") and the
 * child answers "stats ..." with its counters (and, for "stop", exits once
 * the parent closes the channel).
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bench.h"

#define GEN_PER_PROC	15000	/* clients per process by default */

struct gen_child {
	struct event_base	*base;
	struct simgen		*sim;
	struct httpd		*direct;
	const struct payload	*payload;
	struct bufferevent	*ctl;
	char			 extra[128];
};

int
genset_procs(const struct bench_config *cfg, uint32_t nclients)
{
	int64_t p = cfg->procs;

	if (p <= 0)
		p = (nclients + GEN_PER_PROC - 1) / GEN_PER_PROC;
	if (p < 1)
		p = 1;
	return p > GENSET_MAX ? GENSET_MAX : (int)p;
}

/* The direct server: every request gets the payload. */
static void
gen_direct_done(struct httpd_conn *c, void *arg)
{
	struct gen_child *gc = arg;

	httpd_reply_ref(c, 200, gc->extra, gc->payload->data,
	    gc->payload->len);
}

static const struct httpd_handlers gen_direct_handlers = {
	.done = gen_direct_done,
};

static void
gen_ready_cb(void *arg)
{
	struct gen_child *gc = arg;

	evbuffer_add_printf(bufferevent_get_output(gc->ctl), "ready %d\n",
	    gc->direct != NULL ? httpd_port(gc->direct) : 0);
}

static void
gen_ctl_read_cb(struct bufferevent *bev, void *arg)
{
	struct gen_child *gc = arg;
	struct simgen_stats st;
	char *line;
	size_t n;

	while ((line = evbuffer_readln(bufferevent_get_input(bev), &n,
	    EVBUFFER_EOL_LF)) != NULL) {
		if (strcmp(line, "stop") == 0 || strcmp(line, "stats") == 0) {
			simgen_stats(gc->sim, &st);
			evbuffer_add_printf(bufferevent_get_output(bev),
			    "stats %" PRIu64 " %" PRIu64 " %" PRIu64 " %"
			    PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
			    st.polls, st.empty_polls, st.scrapes,
			    st.pushes_ok, st.push_errors, st.poll_errors,
			    st.disconnects);
		}
		free(line);
	}
}

static void
gen_ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct gen_child *gc = arg;

	/* The parent is gone or done with us. */
	event_base_loopbreak(gc->base);
}

static void
gen_child_run(int g, int fd, const struct bench_config *cfg,
    const struct proxyproc *pp, uint32_t first, uint32_t n,
    const struct payload *pl, uint64_t push_total, bool direct)
{
	struct gen_child gc;
	struct simgen_config sc;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	memset(&gc, 0, sizeof(gc));
	memset(&sc, 0, sizeof(sc));
	gc.payload = pl;
	snprintf(gc.extra, sizeof(gc.extra), "Content-Type: text/plain; "
	    "version=0.0.4; charset=utf-8\r\n%s", pl->gzip ?
	    "Content-Encoding: gzip\r\n" : "");
	sc.proxy = pp->addr;
	if (cfg->source_base != NULL && cfg->source_base[0] != '\0') {
		if (net_source_addr(cfg->source_base, (unsigned)g, &sc.src) ==
		    -1) {
			bench_log("bad --source-base %s", cfg->source_base);
			_exit(1);
		}
		sc.bind_src = true;
	}
	sc.first = first;
	sc.n = n;
	sc.payload = pl;
	sc.push_total = push_total;
	sc.connect_batch = (uint32_t)cfg->connect_batch;
	if ((gc.base = event_base_new()) == NULL ||
	    (gc.ctl = bufferevent_socket_new(gc.base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (direct && (gc.direct = httpd_new(gc.base, &gen_direct_handlers,
	    &gc)) == NULL) ||
	    (gc.sim = simgen_new(gc.base, &sc, gen_ready_cb, &gc)) == NULL) {
		bench_log("generator %d: setup failed", g);
		_exit(1);
	}
	bufferevent_setcb(gc.ctl, gen_ctl_read_cb, NULL, gen_ctl_event_cb,
	    &gc);
	bufferevent_enable(gc.ctl, EV_READ | EV_WRITE);
	simgen_start(gc.sim);
	event_base_dispatch(gc.base);
	/* Descriptors close with the process; no need to free 19,000. */
	_exit(0);
}

int
genset_start(struct genset *gs, const struct bench_config *cfg,
    const struct proxyproc *pp, uint32_t nclients, int procs,
    const struct payload *pl, uint64_t push_total, bool direct)
{
	char buf[GENSET_MAX][64];
	size_t have[GENSET_MAX];
	struct pollfd pfd[GENSET_MAX];
	int sv[2], g, i, ready = 0;
	long port;
	ssize_t r;
	double end;
	uint32_t first, n;
	pid_t pid;

	memset(gs, 0, sizeof(*gs));
	memset(have, 0, sizeof(have));
	fflush(NULL);
	for (g = 0; g < procs; g++) {
		first = (uint32_t)((uint64_t)nclients * (uint64_t)g /
		    (uint64_t)procs);
		n = (uint32_t)((uint64_t)nclients * (uint64_t)(g + 1) /
		    (uint64_t)procs) - first;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ==
		    -1 || (pid = fork()) == -1) {
			bench_log("cannot start generator %d: %s", g,
			    strerror(errno));
			genset_stop(gs, NULL);
			return -1;
		}
		if (pid == 0) {
			for (i = 0; i < gs->n; i++)
				close(gs->fd[i]);
			close(sv[0]);
			gen_child_run(g, sv[1], cfg, pp, first, n, pl,
			    push_total, direct && g == 0);
		}
		close(sv[1]);
		gs->pid[gs->n] = pid;
		gs->fd[gs->n++] = sv[0];
	}
	bench_log("%d generator process(es) opening %u client connections",
	    procs, nclients);
	/* Wait for every "ready" line. */
	end = bench_now() + (double)cfg->wait_ms / 1000.0;
	while (ready < gs->n && bench_now() < end) {
		for (g = 0; g < gs->n; g++) {
			pfd[g].fd = have[g] == SIZE_MAX ? -1 : gs->fd[g];
			pfd[g].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)gs->n, 500) <= 0)
			continue;
		for (g = 0; g < gs->n; g++) {
			if (!(pfd[g].revents & (POLLIN | POLLHUP)))
				continue;
			r = read(gs->fd[g], buf[g] + have[g],
			    sizeof(buf[g]) - 1 - have[g]);
			if (r <= 0) {
				bench_log("generator %d died", g);
				genset_stop(gs, NULL);
				return -1;
			}
			have[g] += (size_t)r;
			buf[g][have[g]] = '\0';
			if (strchr(buf[g], '\n') == NULL)
				continue;
			if (strncmp(buf[g], "ready ", 6) == 0) {
				port = strtol(buf[g] + 6, NULL, 10);
				if (g == 0)
					gs->direct_port = (int)port;
			}
			have[g] = SIZE_MAX;
			ready++;
		}
	}
	if (ready < gs->n) {
		bench_log("generators not ready after --wait");
		genset_stop(gs, NULL);
		return -1;
	}
	return 0;
}

/* Reads one line from fd within timeout_s; -1 if none. */
static int
genset_readline(int fd, char *buf, size_t len, double timeout_s)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	double end = bench_now() + timeout_s;
	size_t have = 0;
	ssize_t r;

	while (have < len - 1 && bench_now() < end) {
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		if ((r = read(fd, buf + have, len - 1 - have)) <= 0)
			return -1;
		have += (size_t)r;
		buf[have] = '\0';
		if (strchr(buf, '\n') != NULL)
			return 0;
	}
	return -1;
}

/* Sends cmd to generator g and adds its "stats" answer to total. */
static int
genset_ask(struct genset *gs, int g, const char *cmd,
    struct simgen_stats *total)
{
	unsigned long long v[7];
	char line[256];
	size_t len = strlen(cmd);

	if (write(gs->fd[g], cmd, len) != (ssize_t)len ||
	    genset_readline(gs->fd[g], line, sizeof(line), 10) == -1 ||
	    sscanf(line, "stats %llu %llu %llu %llu %llu %llu %llu",
	    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) != 7)
		return -1;
	if (total != NULL) {
		total->polls += v[0];
		total->empty_polls += v[1];
		total->scrapes += v[2];
		total->pushes_ok += v[3];
		total->push_errors += v[4];
		total->poll_errors += v[5];
		total->disconnects += v[6];
	}
	return 0;
}

int
genset_stats(struct genset *gs, struct simgen_stats *total)
{
	int g, rv = 0;

	memset(total, 0, sizeof(*total));
	for (g = 0; g < gs->n; g++)
		if (genset_ask(gs, g, "stats\n", total) == -1)
			rv = -1;
	return rv;
}

int
genset_stop(struct genset *gs, struct simgen_stats *total)
{
	int g, status, rv = 0;
	double end;

	if (total != NULL)
		memset(total, 0, sizeof(*total));
	for (g = 0; g < gs->n; g++) {
		if (genset_ask(gs, g, "stop\n", total) == -1)
			rv = -1;
		close(gs->fd[g]);
	}
	for (g = 0; g < gs->n; g++) {
		for (end = bench_now() + 10; bench_now() < end;
		    bench_sleep(0.01))
			if (waitpid(gs->pid[g], &status, WNOHANG) == gs->pid[g])
				break;
		if (bench_now() >= end) {
			(void)kill(gs->pid[g], SIGKILL);
			(void)waitpid(gs->pid[g], &status, 0);
		}
	}
	gs->n = 0;
	return rv;
}
