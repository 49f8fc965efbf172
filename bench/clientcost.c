/*
 * client: the real pushprox-client's own cost.  The bench plays the proxy
 * (POST /poll is held open until there is work; POST /push is read, its
 * serialized response parsed and its body checked by length and CRC-32)
 * and the target (GET /metrics: the payload; GET /large: a stream of
 * --large-size bytes), both on its own HTTP server.  Phases: the client's
 * first poll arrives; after a second of settling its idle RSS is read and
 * its CPU over --idle; then K scrapes one after another (each sent as
 * soon as the client has polled again and the previous push is in) for
 * CPU per scrape; then one scrape of the large body, with the client's
 * peak RSS reset first, for its peak RSS growth.
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "bench.h"

#define CC_LARGE_BLOCK	(1024 * 1024)
#define CC_STREAM_HIGH	(1024 * 1024)
#define CC_SCRAPE_TMO	60.0

enum cc_phase {
	CC_FIRST_POLL,
	CC_SETTLE,
	CC_IDLE,
	CC_SCRAPES,
	CC_LARGE,
	CC_DONE,
};

static char cc_kind_poll, cc_kind_push, cc_kind_metrics, cc_kind_large;

struct cc {
	const struct bench_config *cfg;
	struct event_base	*base;
	struct httpd		*proxy;
	struct httpd		*target;
	struct event		*tick;
	struct payload		 pl;
	struct payload		 block;
	uint64_t		 large_total;
	uint32_t		 large_crc;
	uint64_t		 stream_off;
	pid_t			 pid;
	enum cc_phase		 phase;
	double			 phase_at;
	struct httpd_conn	*held;		/* the parked poll */
	uint64_t		 polls;
	/* The scrape in flight and its push. */
	bool			 inflight;
	bool			 large;
	double			 t_sent;
	char			 phead[WIRE_MAX_HEAD];
	size_t			 phead_len;
	bool			 phead_done;
	struct wire_head	 ph;
	uint64_t		 got;
	uint32_t		 crc;
	/* A gzip (and, streamed, chunked) push body, decoded as it comes. */
	z_stream		 zs;
	bool			 zinit, zon;
	int			 chunk_state;	/* 0 size, 1 data, 2 CRLF, 3 end */
	uint64_t		 chunk_left;
	uint64_t		 wire;		/* push body bytes as sent */
	uint64_t		 wire_scrapes;	/* of the --scrapes phase */
	/* Figures. */
	uint64_t		 sent;
	uint64_t		 errors;
	struct samples		 lat;
	struct procmem		 idle;
	double			 idle_cpu;
	double			 idle_secs;
	double			 cpu0, scrape_cpu, scrape_secs;
	int64_t			 large_rss0, large_hwm1;
	bool			 large_reset;
	bool			 large_ok;
	double			 large_secs;
	char			 target_hp[64];
	bool			 failed;
};

static void	cc_step(struct cc *);

static void
cc_fail(struct cc *cc, const char *why)
{
	bench_log("client: %s", why);
	cc->failed = true;
	event_base_loopbreak(cc->base);
}

/* Answers the parked poll with a scrape request for path. */
static void
cc_send(struct cc *cc, const char *path)
{
	char req[1024], id[48];
	int n;

	snprintf(id, sizeof(id), "bench-%016" PRIx64, ++cc->sent);
	n = snprintf(req, sizeof(req), "GET http://%s%s HTTP/1.1\r\n"
	    "Host: %s\r\nUser-Agent: Prometheus/2.53.0\r\n"
	    "Accept: text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
	    "Accept-Encoding: gzip\r\nId: %s\r\n"
	    "X-Prometheus-Scrape-Timeout-Seconds: %g\r\n\r\n", cc->target_hp,
	    path, cc->target_hp, id, CC_SCRAPE_TMO);
	cc->inflight = true;
	cc->phead_len = 0;
	cc->phead_done = false;
	cc->got = 0;
	cc->crc = 0;
	cc->t_sent = bench_now();
	httpd_reply(cc->held, 200, "Content-Type: message/http\r\n", req,
	    (size_t)n);
	cc->held = NULL;
}

static void
cc_mem(struct cc *cc, int64_t *rss, int64_t *hwm)
{
	(void)procstat_mem(cc->pid, rss, hwm);
}

static double
cc_cpu(struct cc *cc)
{
	double s;

	(void)procstat_cpu(cc->pid, &s);
	return s;
}

/* Moves the run along; called on every poll, push and tick. */
static void
cc_step(struct cc *cc)
{
	double now = bench_now();
	int64_t hwm;

	switch (cc->phase) {
	case CC_FIRST_POLL:
		if (cc->held == NULL)
			return;
		cc->phase = CC_SETTLE;
		cc->phase_at = now;
		return;
	case CC_SETTLE:
		if (now - cc->phase_at < 1.0)
			return;
		(void)procstat_memx(cc->pid, &cc->idle);
		cc->idle_cpu = cc_cpu(cc);
		cc->phase = CC_IDLE;
		cc->phase_at = now;
		bench_log("client idle: RSS %" PRId64 " bytes; watching its "
		    "CPU for %.0f s", cc->idle.rss,
		    (double)cc->cfg->idle_ms / 1000.0);
		return;
	case CC_IDLE:
		if (now - cc->phase_at < (double)cc->cfg->idle_ms / 1000.0)
			return;
		cc->idle_cpu = cc_cpu(cc) - cc->idle_cpu;
		cc->idle_secs = now - cc->phase_at;
		cc->phase = CC_SCRAPES;
		cc->phase_at = now;
		cc->cpu0 = cc_cpu(cc);
		bench_log("client: %lld scrapes of %zu bytes",
		    (long long)cc->cfg->scrapes, cc->pl.plain_len);
		/* FALLTHROUGH */
	case CC_SCRAPES:
		if (cc->inflight || cc->held == NULL)
			return;
		if (cc->sent < (uint64_t)cc->cfg->scrapes) {
			cc_send(cc, "/metrics");
			return;
		}
		cc->scrape_cpu = cc_cpu(cc) - cc->cpu0;
		cc->scrape_secs = now - cc->phase_at;
		cc->wire_scrapes = cc->wire;
		cc->phase = CC_LARGE;
		cc->phase_at = now;
		bench_sleep(0.2);	/* let the last transfer's memory go */
		cc->large_reset = procstat_reset_hwm(cc->pid) == 0;
		cc_mem(cc, &cc->large_rss0, &hwm);
		bench_log("client: one scrape of %" PRIu64 " bytes",
		    cc->large_total);
		cc->large = true;
		cc_send(cc, "/large");
		return;
	case CC_LARGE:
	case CC_DONE:
		return;
	}
}

/* A push is complete: check it against what the target served. */
static void
cc_push_done(struct cc *cc, struct httpd_conn *c)
{
	uint64_t want_len = cc->large ? cc->large_total : cc->pl.len;
	uint32_t want_crc = cc->large ? cc->large_crc : cc->pl.crc;
	double t = bench_now() - cc->t_sent;
	int64_t rss;
	bool ok;

	ok = cc->inflight && cc->phead_done && cc->ph.status == 200 &&
	    cc->got == want_len && cc->crc == want_crc;
	httpd_reply(c, 200, "Content-Type: text/plain\r\n", "OK\n", 3);
	if (!cc->inflight)
		return;
	cc->inflight = false;
	if (!ok && cc->errors++ < 5)
		bench_log("client: bad push (status %d, %" PRIu64 " of %"
		    PRIu64 " bytes)", cc->ph.status, cc->got, want_len);
	if (cc->large) {
		cc->large_ok = ok;
		cc->large_secs = t;
		cc_mem(cc, &rss, &cc->large_hwm1);
		cc->phase = CC_DONE;
		event_base_loopbreak(cc->base);
		return;
	}
	if (ok)
		samples_add(&cc->lat, t);
	cc_step(cc);
}

/* Decoded body bytes: inflated when the push is gzip, then counted. */
static void
cc_body_decoded(struct cc *cc, const char *data, size_t len)
{
	static unsigned char out[65536];
	size_t n;

	if (!cc->zon) {
		cc->crc = payload_crc(cc->crc, data, len);
		cc->got += len;
		return;
	}
	cc->zs.next_in = (unsigned char *)data;
	cc->zs.avail_in = (uInt)len;
	for (int i = 0; i < 1 << 20; i++) {
		cc->zs.next_out = out;
		cc->zs.avail_out = sizeof(out);
		if (inflate(&cc->zs, Z_NO_FLUSH) < 0) {
			cc->got = UINT64_MAX;	/* never the length wanted */
			return;
		}
		n = sizeof(out) - cc->zs.avail_out;
		cc->crc = payload_crc(cc->crc, (char *)out, n);
		cc->got += n;
		if (cc->zs.avail_in == 0 && n < sizeof(out))
			return;
	}
}

/* Body bytes of the serialized response: de-chunked if chunked. */
static void
cc_body_take(struct cc *cc, const char *data, size_t len)
{
	size_t k;

	cc->wire += len;
	if (!cc->ph.chunked) {
		cc_body_decoded(cc, data, len);
		return;
	}
	while (len > 0) {
		switch (cc->chunk_state) {
		case 0:		/* hex size, up to LF */
			if (*data == '\n') {
				cc->chunk_state = cc->chunk_left > 0 ? 1 : 3;
			} else if (*data >= '0' && *data <= '9')
				cc->chunk_left = cc->chunk_left * 16 +
				    (uint64_t)(*data - '0');
			else if ((*data | 0x20) >= 'a' && (*data | 0x20) <= 'f')
				cc->chunk_left = cc->chunk_left * 16 +
				    (uint64_t)((*data | 0x20) - 'a' + 10);
			data++, len--;
			break;
		case 1:
			k = len < cc->chunk_left ? len : cc->chunk_left;
			cc_body_decoded(cc, data, k);
			data += k, len -= k;
			if ((cc->chunk_left -= k) == 0)
				cc->chunk_state = 2;
			break;
		case 2:		/* CRLF after the data */
			if (*data == '\n')
				cc->chunk_state = 0;
			data++, len--;
			break;
		default:	/* the end: the last CRLF */
			return;
		}
	}
}

/* Push body: the serialized response's head, then the target's body. */
static void
cc_push_body(struct cc *cc, const char *data, size_t len)
{
	const char *end;
	size_t take, hl;

	if (!cc->phead_done) {
		take = sizeof(cc->phead) - cc->phead_len;
		if (take > len)
			take = len;
		memcpy(cc->phead + cc->phead_len, data, take);
		cc->phead_len += take;
		end = memmem(cc->phead, cc->phead_len, "\r\n\r\n", 4);
		if (end == NULL)
			return;
		hl = (size_t)(end + 4 - cc->phead);
		if (wire_parse_head(cc->phead, hl, false, &cc->ph) == -1)
			cc->ph.status = -1;
		cc->phead_done = true;
		cc->chunk_state = 0;
		cc->chunk_left = 0;
		cc->zon = strcmp(cc->ph.encoding, "gzip") == 0;
		if (cc->zon && (cc->zinit ? inflateReset(&cc->zs) :
		    inflateInit2(&cc->zs, 15 + 16)) != Z_OK)
			cc->ph.status = -1;
		else if (cc->zon)
			cc->zinit = true;
		/* What followed the head in this piece is body. */
		take = cc->phead_len - hl;
		cc_body_take(cc, cc->phead + hl, take);
		return;
	}
	cc_body_take(cc, data, len);
}

static void
cc_proxy_request(struct httpd_conn *c, const struct wire_head *h, void *arg)
{
	if (strcmp(h->method, "POST") == 0 && strcmp(h->target, "/poll") == 0)
		httpd_set_data(c, &cc_kind_poll);
	else if (strcmp(h->method, "POST") == 0 &&
	    strcmp(h->target, "/push") == 0)
		httpd_set_data(c, &cc_kind_push);
	else
		httpd_set_data(c, NULL);
}

static void
cc_proxy_body(struct httpd_conn *c, const char *data, size_t len, void *arg)
{
	if (httpd_data(c) == &cc_kind_push)
		cc_push_body(arg, data, len);
}

static void
cc_proxy_done(struct httpd_conn *c, void *arg)
{
	struct cc *cc = arg;

	if (httpd_data(c) == &cc_kind_poll) {
		cc->polls++;
		if (cc->held != NULL)	/* one parked poll is enough */
			httpd_reply(cc->held, 204, NULL, NULL, 0);
		cc->held = c;
		cc_step(cc);
	} else if (httpd_data(c) == &cc_kind_push)
		cc_push_done(cc, c);
	else
		httpd_reply(c, 404, NULL, NULL, 0);
}

static void
cc_proxy_gone(struct httpd_conn *c, void *arg)
{
	struct cc *cc = arg;

	if (cc->held == c)
		cc->held = NULL;
}

static const struct httpd_handlers cc_proxy_handlers = {
	.request = cc_proxy_request,
	.body = cc_proxy_body,
	.done = cc_proxy_done,
	.gone = cc_proxy_gone,
};

static int
cc_large_fill(struct httpd_conn *c, struct evbuffer *out, void *arg)
{
	struct cc *cc = arg;
	uint64_t left;

	while (cc->stream_off < cc->large_total &&
	    evbuffer_get_length(out) < CC_STREAM_HIGH) {
		left = cc->large_total - cc->stream_off;
		if (payload_stream_add(&cc->block, out, &cc->stream_off,
		    left) == 0)
			break;
	}
	return cc->stream_off >= cc->large_total;
}

static void
cc_target_request(struct httpd_conn *c, const struct wire_head *h,
    void *arg)
{
	httpd_set_data(c, strcmp(h->target, "/large") == 0 ? &cc_kind_large :
	    &cc_kind_metrics);
}

static void
cc_target_done(struct httpd_conn *c, void *arg)
{
	struct cc *cc = arg;
	const char *ct = cc->pl.gzip ? "Content-Type: text/plain; "
	    "version=0.0.4; charset=utf-8\r\nContent-Encoding: gzip\r\n" :
	    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n";

	if (httpd_data(c) == &cc_kind_large) {
		cc->stream_off = 0;
		httpd_stream(c, 200, "Content-Type: text/plain; version=0.0.4; "
		    "charset=utf-8\r\n", cc->large_total, cc_large_fill, cc);
	} else
		httpd_reply_ref(c, 200, ct, cc->pl.data, cc->pl.len);
}

static const struct httpd_handlers cc_target_handlers = {
	.request = cc_target_request,
	.done = cc_target_done,
};

static void
cc_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cc *cc = arg;
	int status;

	if (waitpid(cc->pid, &status, WNOHANG) == cc->pid) {
		cc->pid = 0;
		cc_fail(cc, "pushprox-client exited");
		return;
	}
	if (cc->inflight && bench_now() - cc->t_sent > CC_SCRAPE_TMO) {
		cc_fail(cc, "no push within the scrape timeout");
		return;
	}
	if (cc->phase == CC_FIRST_POLL && bench_now() - cc->phase_at > 30) {
		cc_fail(cc, "no poll from pushprox-client within 30 s");
		return;
	}
	cc_step(cc);
}

static pid_t
cc_spawn(const struct bench_config *cfg, int proxy_port, char *log,
    size_t loglen)
{
	char bin[PATH_MAX], url[96];
	pid_t pid;
	int fd;

	if (cfg->client_bin != NULL && cfg->client_bin[0] != '\0')
		snprintf(bin, sizeof(bin), "%s", cfg->client_bin);
	else if (procstat_sibling("client/pushprox-client", bin,
	    sizeof(bin)) == -1) {
		bench_log("cannot find pushprox-client next to the bench; give "
		    "--client-bin");
		return -1;
	}
	snprintf(url, sizeof(url), "--proxy-url=http://127.0.0.1:%d/",
	    proxy_port);
	snprintf(log, loglen, "%s/pushprox-bench-client-%ld.log",
	    cfg->log_dir, (long)getpid());
	fflush(NULL);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd != -1) {
			(void)dup2(fd, STDOUT_FILENO);
			(void)dup2(fd, STDERR_FILENO);
		}
		execl(bin, bin, url, "--fqdn=127.0.0.1", "--metrics-addr=",
		    "--log.level=warn", (char *)NULL);
		_exit(127);
	}
	bench_log("started %s (pid %ld, log %s)", bin, (long)pid, log);
	return pid;
}

static void
cc_stop_client(pid_t pid)
{
	double end;
	int status;

	if (pid <= 0)
		return;
	(void)kill(pid, SIGTERM);
	for (end = bench_now() + 10; bench_now() < end; bench_sleep(0.02))
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
}

int
mode_client(const struct bench_config *cfg)
{
	struct bench_config c2 = *cfg;
	struct cc cc;
	struct report *rep;
	struct timeval tv = { 0, 100000 };
	char log[512];
	int rc = 1;

	if (c2.scrapes <= 0)
		c2.scrapes = 1000;
	memset(&cc, 0, sizeof(cc));
	cc.cfg = &c2;
	cc.large_total = (uint64_t)cfg->large_size;
	if (payload_make(&cc.pl, (size_t)cfg->size, cfg->gzip) == -1 ||
	    payload_make(&cc.block, CC_LARGE_BLOCK, false) == -1) {
		bench_log("cannot make the payload");
		return 1;
	}
	cc.large_crc = payload_stream_crc(&cc.block, cc.large_total);
	if ((cc.base = event_base_new()) == NULL ||
	    (cc.proxy = httpd_new(cc.base, &cc_proxy_handlers, &cc)) == NULL ||
	    (cc.target = httpd_new(cc.base, &cc_target_handlers, &cc)) ==
	    NULL || (cc.tick = event_new(cc.base, -1, EV_PERSIST, cc_tick_cb,
	    &cc)) == NULL) {
		bench_log("cannot set up the simulated proxy and target");
		goto out;
	}
	snprintf(cc.target_hp, sizeof(cc.target_hp), "127.0.0.1:%d",
	    httpd_port(cc.target));
	if ((cc.pid = cc_spawn(cfg, httpd_port(cc.proxy), log,
	    sizeof(log))) <= 0)
		goto out;
	cc.phase = CC_FIRST_POLL;
	cc.phase_at = bench_now();
	event_add(cc.tick, &tv);
	event_base_dispatch(cc.base);
	if (cc.failed)
		goto out;

	rep = report_new("client");
	report_int(rep, "payload_bytes", (int64_t)cc.pl.plain_len);
	report_bool(rep, "gzip", cc.pl.gzip);
	report_bytes(rep, "client_idle_rss_bytes", cc.idle.rss);
	report_bytes(rep, "client_idle_hwm_bytes", cc.idle.hwm);
	report_bytes(rep, "client_idle_anon_bytes", cc.idle.anon);
	report_bytes(rep, "client_idle_file_bytes", cc.idle.file);
	report_bytes(rep, "client_idle_pss_bytes", cc.idle.pss);
	report_real(rep, "client_idle_seconds", cc.idle_secs);
	report_real(rep, "client_idle_cpu_seconds", cc.idle_cpu);
	report_int(rep, "scrapes", c2.scrapes);
	report_int(rep, "scrape_errors", (int64_t)cc.errors);
	report_real(rep, "client_cpu_seconds_scrapes", cc.scrape_cpu);
	report_real(rep, "client_cpu_us_per_scrape", cc.scrape_cpu /
	    (double)c2.scrapes * 1e6);
	/* The body of the pushed response as sent (gzip when it was). */
	report_real(rep, "push_body_wire_bytes_per_scrape",
	    (double)cc.wire_scrapes / (double)(c2.scrapes > 0 ? c2.scrapes :
	    1));
	report_real(rep, "scrapes_per_second", (double)c2.scrapes /
	    cc.scrape_secs);
	report_real(rep, "scrape_latency_us_p50", samples_pct(&cc.lat, 50) *
	    1e6);
	report_real(rep, "scrape_latency_us_p99", samples_pct(&cc.lat, 99) *
	    1e6);
	report_int(rep, "large_body_bytes", (int64_t)cc.large_total);
	report_bool(rep, "large_ok", cc.large_ok);
	report_real(rep, "large_seconds", cc.large_secs);
	report_bytes(rep, "client_rss_before_large_bytes", cc.large_rss0);
	report_bytes(rep, "client_hwm_after_large_bytes", cc.large_hwm1);
	report_real(rep, "client_peak_rss_growth_bytes", bench_per(
	    cc.large_hwm1, cc.large_rss0, 1));
	report_bool(rep, "hwm_reset", cc.large_reset);
	report_done(rep);
	rc = cc.errors == 0 && cc.large_ok ? 0 : 2;
out:
	cc_stop_client(cc.pid);
	if (cc.tick != NULL)
		event_free(cc.tick);
	httpd_free(cc.proxy);
	httpd_free(cc.target);
	if (cc.base != NULL)
		event_base_free(cc.base);
	payload_free(&cc.pl);
	payload_free(&cc.block);
	samples_free(&cc.lat);
	if (cc.zinit)
		inflateEnd(&cc.zs);
	return rc;
}
