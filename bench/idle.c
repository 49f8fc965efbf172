/*
 * idle: N simulated clients long-poll the proxy and do nothing else.
 * Reports the proxy's resident memory before and after they registered
 * (and per client), how long GET /clients takes with all of them listed,
 * and the latency of scrapes of random ones of them, each on a new
 * connection, while the other N-1 stay parked.  Also the proxy's CPU
 * while they idle for --idle (polls answered 204 after --poll.timeout,
 * 1h unless --proxy-arg says otherwise, and polled again) and per
 * /clients answer.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "bench.h"

/* One scrape of bench-K.local on a new connection; seconds or -1. */
static double
idle_scrape(struct event_base *base, const struct bench_config *cfg,
    const struct proxyproc *pp, const struct payload *pl, uint32_t k)
{
	struct fetch_result fr;
	char head[1024], fqdn[40], want[16];
	double tmo = (double)cfg->scrape_timeout_ms / 1000.0;

	memset(&fr, 0, sizeof(fr));
	snprintf(fqdn, sizeof(fqdn), "bench-%u.local", k);
	snprintf(want, sizeof(want), "%u", k);
	if (fetch_scrape_head(head, sizeof(head), fqdn, NULL, "/metrics",
	    tmo) == -1 || fetch_run(base, &pp->addr, head, false, tmo + 5,
	    &fr) == -1 || fr.status != 200 || fr.body_len != pl->len ||
	    fr.crc != pl->crc || strcmp(fr.client, want) != 0) {
		bench_log("scrape of %s failed: status %d, %" PRIu64 " bytes "
		    "%s", fqdn, fr.status, fr.body_len, fr.err);
		return -1;
	}
	return fr.seconds;
}

int
mode_idle(const struct bench_config *cfg)
{
	struct payload pl;
	struct proxyproc pp;
	struct genset gs;
	struct simgen_stats sim, s0, s1;
	struct event_base *base = NULL;
	struct samples lat = { 0 }, list = { 0 };
	struct procmem m0, m1, m2;
	struct report *rep;
	char maxconn[64];
	const char *args[2];
	uint32_t n = (uint32_t)cfg->clients;
	uint64_t rng = (uint64_t)cfg->seed;
	int64_t errors = 0;
	int procs = genset_procs(cfg, n), i, nscrapes;
	long listed = -1;
	double t0, reg, secs, cpu0, cpu1, first = NAN, c0, c1, list_cpu;
	double idle_secs, idle_cpu;
	uint64_t idle_polls;

	nscrapes = cfg->scrapes > 0 ? (int)cfg->scrapes : 20;
	if (payload_make(&pl, (size_t)cfg->size, cfg->gzip) == -1) {
		bench_log("cannot make the payload");
		return 1;
	}
	snprintf(maxconn, sizeof(maxconn), "--web.max-connections=%" PRIu32,
	    n + 1000);
	args[0] = "--poll.timeout=1h";
	args[1] = maxconn;
	if (proxyproc_start(&pp, cfg, args, 2) == -1) {
		payload_free(&pl);
		return 1;
	}
	bench_sleep(0.5);
	(void)procstat_memx(pp.pid, &m0);
	cpu0 = proxyproc_cpu(&pp);
	t0 = bench_now();
	if (genset_start(&gs, cfg, &pp, n, procs, &pl, 0, false) == -1)
		goto fail;
	if ((base = event_base_new()) == NULL)
		goto fail_gen;
	if (fetch_wait_clients(base, &pp.addr, n,
	    (double)cfg->wait_ms / 1000.0) < 0) {
		bench_log("not all %u clients registered", n);
		goto fail_gen;
	}
	reg = bench_now() - t0;
	bench_log("%u clients registered in %.2f s", n, reg);
	bench_sleep(1.0);	/* let the last polls settle */
	(void)procstat_memx(pp.pid, &m1);
	cpu1 = proxyproc_cpu(&pp);

	/* Idle: what N parked (and re-polling) clients cost. */
	bench_log("watching the idle proxy for %.0f s",
	    (double)cfg->idle_ms / 1000.0);
	(void)genset_stats(&gs, &s0);
	c0 = proxyproc_cpu(&pp);
	t0 = bench_now();
	bench_sleep((double)cfg->idle_ms / 1000.0);
	c1 = proxyproc_cpu(&pp);
	idle_secs = bench_now() - t0;
	(void)genset_stats(&gs, &s1);
	idle_cpu = c1 - c0;
	idle_polls = s1.polls - s0.polls;

	c0 = proxyproc_cpu(&pp);
	for (i = 0; i < cfg->list_fetches; i++) {
		listed = fetch_clients(base, &pp.addr, &secs);
		samples_add(&list, secs * 1000.0);
	}
	list_cpu = (proxyproc_cpu(&pp) - c0) / (double)cfg->list_fetches;
	for (i = 0; i < nscrapes; i++) {
		secs = idle_scrape(base, cfg, &pp, &pl, bench_rand(&rng) % n);
		if (secs < 0)
			errors++;
		else if (i == 0)
			first = secs * 1000.0;
		else
			samples_add(&lat, secs * 1000.0);
		bench_sleep(0.01);
	}
	(void)procstat_memx(pp.pid, &m2);
	genset_stop(&gs, &sim);

	rep = report_new("idle");
	report_int(rep, "clients", n);
	report_int(rep, "generator_procs", procs);
	report_int(rep, "payload_bytes", (int64_t)pl.plain_len);
	report_real(rep, "register_seconds", reg);
	report_real(rep, "proxy_cpu_register_seconds", cpu1 - cpu0);
	report_bytes(rep, "proxy_rss_before_bytes", m0.rss);
	report_bytes(rep, "proxy_rss_after_bytes", m1.rss);
	report_bytes(rep, "proxy_hwm_after_bytes", m1.hwm);
	report_bytes(rep, "proxy_anon_after_bytes", m1.anon);
	report_real(rep, "rss_per_client_bytes", bench_per(m1.rss, m0.rss,
	    n));
	report_real(rep, "hwm_per_client_bytes", bench_per(m1.hwm, m0.rss,
	    n));
	report_real(rep, "idle_seconds", idle_secs);
	report_real(rep, "proxy_cpu_idle_share", idle_cpu / idle_secs);
	report_real(rep, "polls_per_second", (double)idle_polls / idle_secs);
	report_real(rep, "proxy_cpu_us_per_poll", idle_polls > 0 ?
	    idle_cpu / (double)idle_polls * 1e6 : NAN);
	report_int(rep, "clients_listed", listed);
	report_real(rep, "clients_endpoint_ms_p50", samples_pct(&list, 50));
	report_real(rep, "clients_endpoint_ms_max", samples_max(&list));
	report_real(rep, "proxy_cpu_ms_per_clients_list", list_cpu * 1000.0);
	report_int(rep, "scrapes", nscrapes);
	report_int(rep, "scrape_errors", errors);
	report_real(rep, "scrape_latency_ms_first", first);
	report_real(rep, "scrape_latency_ms_p50", samples_pct(&lat, 50));
	report_real(rep, "scrape_latency_ms_p90", samples_pct(&lat, 90));
	report_real(rep, "scrape_latency_ms_p99", samples_pct(&lat, 99));
	report_real(rep, "scrape_latency_ms_max", samples_max(&lat));
	report_bytes(rep, "proxy_rss_after_scrapes_bytes", m2.rss);
	report_int(rep, "poll_errors", (int64_t)sim.poll_errors);
	report_int(rep, "push_errors", (int64_t)sim.push_errors);
	report_int(rep, "disconnects", (int64_t)sim.disconnects);
	report_done(rep);

	samples_free(&lat);
	samples_free(&list);
	event_base_free(base);
	proxyproc_stop(&pp);
	payload_free(&pl);
	return errors == 0 && sim.disconnects == 0 ? 0 : 2;

fail_gen:
	genset_stop(&gs, NULL);
fail:
	if (base != NULL)
		event_base_free(base);
	proxyproc_stop(&pp);
	payload_free(&pl);
	return 1;
}
