/*
 * relay: N simulated clients answer every scrape with the same Prometheus
 * text payload of S bytes (gzip-compressed once with --gzip), while C
 * scrapers scrape random clients through the proxy for D seconds after a
 * warm-up.  Reports throughput, latency percentiles, errors (a wrong
 * status, a body whose length or CRC-32 differs from what the client
 * sent, or another client's answer) and the proxy's CPU time per scrape
 * (utime + stime over the measured window).  Then the same C scrapers
 * scrape the same payload directly from the bench's own HTTP server (in
 * generator 0) for D seconds, and the difference is the proxy's added
 * latency.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bench.h"

static double
relay_bench_cpu(const struct genset *gs)
{
	double s, total = 0;
	int g;

	if (procstat_cpu(getpid(), &s) == 0)
		total += s;
	for (g = 0; g < gs->n; g++)
		if (procstat_cpu(gs->pid[g], &s) == 0)
			total += s;
	return total;
}

static void
relay_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* Runs the loop for seconds, or until something breaks it. */
static void
relay_run_for(struct event_base *base, double seconds)
{
	struct event *ev;
	struct timeval tv;

	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	if ((ev = evtimer_new(base, relay_timer_cb, base)) == NULL)
		return;
	evtimer_add(ev, &tv);
	event_base_dispatch(base);
	event_free(ev);
}

int
relay_measure(struct event_base *base, const struct bench_config *cfg,
    const struct scrapeset_config *sc, pid_t server,
    const struct genset *gs, struct relay_result *r)
{
	struct scrapeset *set;
	struct samples *lat;
	double t0, c0, b0, h0;

	memset(r, 0, sizeof(*r));
	if ((set = scrapeset_new(base, sc)) == NULL)
		return -1;
	scrapeset_start(set);
	relay_run_for(base, (double)cfg->warmup_ms / 1000.0);
	scrapeset_record(set, true);
	(void)procstat_cpu(server, &c0);
	b0 = relay_bench_cpu(gs);
	h0 = procstat_host_busy();
	t0 = bench_now();
	relay_run_for(base, (double)cfg->duration_ms / 1000.0);
	r->seconds = bench_now() - t0;
	if (procstat_cpu(server, &r->server_cpu) == 0)
		r->server_cpu -= c0;
	else
		r->server_cpu = NAN;
	r->bench_cpu = relay_bench_cpu(gs) - b0;
	r->host_busy = (procstat_host_busy() - h0) / r->seconds;
	scrapeset_record(set, false);
	scrapeset_stop(set);
	/* Let the scrapes in flight finish (bounded by their timeout). */
	relay_run_for(base, sc->timeout_s + 10);
	scrapeset_stats(set, &r->st);
	r->scrapes = r->st.ok + r->st.errors;
	lat = scrapeset_samples(set);
	r->p50 = samples_pct(lat, 50) * 1e6;
	r->p90 = samples_pct(lat, 90) * 1e6;
	r->p99 = samples_pct(lat, 99) * 1e6;
	r->max = samples_max(lat) * 1e6;
	scrapeset_free(set);
	return 0;
}

int
mode_relay(const struct bench_config *cfg)
{
	struct payload pl;
	struct proxyproc pp;
	struct genset gs;
	struct simgen_stats sim;
	struct scrapeset_config sc;
	struct relay_result px, dr;
	struct event_base *base = NULL;
	struct report *rep;
	struct procmem mem;
	char maxconn[64];
	const char *args[2];
	uint32_t n = (uint32_t)cfg->clients;
	int procs = genset_procs(cfg, n);
	bool direct = cfg->direct;
	double cpu_us;

	if (payload_make(&pl, (size_t)cfg->size, cfg->gzip) == -1) {
		bench_log("cannot make the payload");
		return 1;
	}
	snprintf(maxconn, sizeof(maxconn), "--web.max-connections=%" PRIu64,
	    (uint64_t)n + 2 * (uint64_t)cfg->concurrency + 1000);
	args[0] = "--poll.timeout=10m";
	args[1] = maxconn;
	if (proxyproc_start(&pp, cfg, args, 2) == -1) {
		payload_free(&pl);
		return 1;
	}
	if (genset_start(&gs, cfg, &pp, n, procs, &pl, 0, direct) == -1)
		goto fail;
	if ((base = event_base_new()) == NULL)
		goto fail_gen;
	if (fetch_wait_clients(base, &pp.addr, n,
	    (double)cfg->wait_ms / 1000.0) < 0) {
		bench_log("not all %u clients registered", n);
		goto fail_gen;
	}
	bench_log("relay: %u clients, %lld scrapers, %zu-byte payload%s, "
	    "%.0f s", n, (long long)cfg->concurrency, pl.plain_len,
	    pl.gzip ? " (gzip)" : "", (double)cfg->duration_ms / 1000.0);

	memset(&sc, 0, sizeof(sc));
	sc.dst = pp.addr;
	sc.proxy_form = true;
	sc.nclients = n;
	sc.conns = (uint32_t)cfg->concurrency;
	sc.expect_len = pl.len;
	sc.expect_crc = pl.crc;
	sc.timeout_s = (double)cfg->scrape_timeout_ms / 1000.0;
	sc.seed = (uint64_t)cfg->seed;
	if (relay_measure(base, cfg, &sc, pp.pid, &gs, &px) == -1)
		goto fail_gen;
	memset(&dr, 0, sizeof(dr));
	if (direct && gs.direct_port > 0) {
		bench_log("direct: the same scrapes from the bench's own "
		    "server");
		sc.proxy_form = false;
		sc.dst.sin_port = htons((uint16_t)gs.direct_port);
		if (relay_measure(base, cfg, &sc, gs.pid[0], &gs, &dr) == -1)
			goto fail_gen;
	}
	genset_stop(&gs, &sim);

	cpu_us = px.scrapes > 0 ? px.server_cpu / (double)px.scrapes * 1e6 :
	    NAN;
	(void)procstat_memx(pp.pid, &mem);
	rep = report_new("relay");
	report_int(rep, "clients", n);
	report_int(rep, "generator_procs", procs);
	report_int(rep, "payload_bytes", (int64_t)pl.plain_len);
	report_int(rep, "body_bytes", (int64_t)pl.len);
	report_bool(rep, "gzip", pl.gzip);
	report_int(rep, "concurrency", cfg->concurrency);
	report_real(rep, "duration_seconds", px.seconds);
	report_int(rep, "scrapes", (int64_t)px.scrapes);
	report_real(rep, "scrapes_per_second", (double)px.scrapes /
	    px.seconds);
	report_real(rep, "latency_us_p50", px.p50);
	report_real(rep, "latency_us_p90", px.p90);
	report_real(rep, "latency_us_p99", px.p99);
	report_real(rep, "latency_us_max", px.max);
	report_int(rep, "errors", (int64_t)px.st.errors);
	report_int(rep, "errors_status", (int64_t)px.st.err_status);
	report_int(rep, "errors_body", (int64_t)px.st.err_body);
	report_int(rep, "errors_wrong_client", (int64_t)px.st.err_client);
	report_int(rep, "errors_connection", (int64_t)px.st.err_conn);
	report_int(rep, "push_errors", (int64_t)sim.push_errors);
	report_real(rep, "proxy_cpu_seconds", px.server_cpu);
	report_real(rep, "proxy_cpu_seconds_per_1000_scrapes",
	    cpu_us / 1000.0);
	report_real(rep, "proxy_cpu_us_per_scrape", cpu_us);
	report_real(rep, "proxy_cpu_share", px.server_cpu / px.seconds);
	report_real(rep, "bench_cpu_share", px.bench_cpu / px.seconds);
	/* What other processes on the host took meanwhile, in cores. */
	report_real(rep, "others_cpu_share", px.host_busy - (px.server_cpu +
	    px.bench_cpu) / px.seconds);
	report_bytes(rep, "proxy_rss_after_bytes", mem.rss);
	report_bytes(rep, "proxy_hwm_after_bytes", mem.hwm);
	if (direct && dr.scrapes > 0) {
		report_int(rep, "direct_scrapes", (int64_t)dr.scrapes);
		report_real(rep, "direct_scrapes_per_second",
		    (double)dr.scrapes / dr.seconds);
		report_real(rep, "direct_latency_us_p50", dr.p50);
		report_real(rep, "direct_latency_us_p90", dr.p90);
		report_real(rep, "direct_latency_us_p99", dr.p99);
		report_real(rep, "direct_latency_us_max", dr.max);
		report_int(rep, "direct_errors", (int64_t)dr.st.errors);
		/* The floor: the bench's own server, same payload. */
		report_real(rep, "direct_server_cpu_us_per_scrape",
		    dr.server_cpu / (double)dr.scrapes * 1e6);
		report_real(rep, "added_latency_us_p50", px.p50 - dr.p50);
		report_real(rep, "added_latency_us_p99", px.p99 - dr.p99);
		report_real(rep, "latency_ratio_p50", px.p50 / dr.p50);
		report_real(rep, "latency_ratio_p99", px.p99 / dr.p99);
	}
	report_done(rep);

	event_base_free(base);
	proxyproc_stop(&pp);
	payload_free(&pl);
	return px.st.errors == 0 ? 0 : 2;

fail_gen:
	genset_stop(&gs, NULL);
fail:
	if (base != NULL)
		event_base_free(base);
	proxyproc_stop(&pp);
	payload_free(&pl);
	return 1;
}
