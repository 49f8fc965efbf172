/*
 * large: one scrape of a very large body (default 100 MiB) through the
 * proxy.  One simulated client pushes it with Content-Length, streaming a
 * 1 MiB block of Prometheus text over and over and adding more only as its
 * socket drains; the scraper reads at full speed and checks length and
 * CRC-32.  Reports the proxy's peak RSS growth (VmHWM after the scrape,
 * peak first reset through /proc/PID/clear_refs, minus VmRSS before) and
 * the time and throughput.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "bench.h"

#define LARGE_BLOCK	(1024 * 1024)

int
mode_large(const struct bench_config *cfg)
{
	struct payload pl;
	struct proxyproc pp;
	struct genset gs;
	struct simgen_stats sim;
	struct event_base *base = NULL;
	struct fetch_result fr;
	struct report *rep;
	char head[1024], maxsize[64];
	const char *args[3];
	uint64_t total = (uint64_t)cfg->large_size;
	uint32_t crc;
	int64_t rss0, hwm0, rss1, hwm1;
	double timeout = 300, cpu0, cpu1;
	bool reset, ok;

	if (payload_make(&pl, LARGE_BLOCK, false) == -1) {
		bench_log("cannot make the payload");
		return 1;
	}
	crc = payload_stream_crc(&pl, total);
	snprintf(maxsize, sizeof(maxsize), "--push.max-size=%" PRIu64,
	    total + (1 << 20));
	args[0] = "--poll.timeout=10m";
	args[1] = "--scrape.max-timeout=10m";
	args[2] = maxsize;
	if (proxyproc_start(&pp, cfg, args, 3) == -1) {
		payload_free(&pl);
		return 1;
	}
	if (genset_start(&gs, cfg, &pp, 1, 1, &pl, total, false) == -1)
		goto fail;
	if ((base = event_base_new()) == NULL ||
	    fetch_wait_clients(base, &pp.addr, 1,
	    (double)cfg->wait_ms / 1000.0) < 0)
		goto fail_gen;
	bench_sleep(0.5);
	reset = procstat_reset_hwm(pp.pid) == 0;
	if (!reset)
		bench_log("cannot reset the proxy's VmHWM; growth is measured "
		    "from its earlier peak");
	proxyproc_mem(&pp, &rss0, &hwm0);
	cpu0 = proxyproc_cpu(&pp);
	bench_log("large: scraping %" PRIu64 " bytes through the proxy", total);
	if (fetch_scrape_head(head, sizeof(head), "bench-0.local", NULL,
	    "/metrics", timeout) == -1)
		goto fail_gen;
	ok = fetch_run(base, &pp.addr, head, false, timeout, &fr) == 0 &&
	    fr.status == 200 && fr.body_len == total && fr.crc == crc &&
	    strcmp(fr.client, "0") == 0;
	if (!ok)
		bench_log("large scrape failed: status %d, %" PRIu64 " bytes, "
		    "%s", fr.status, fr.body_len, fr.err);
	proxyproc_mem(&pp, &rss1, &hwm1);
	cpu1 = proxyproc_cpu(&pp);
	genset_stop(&gs, &sim);

	rep = report_new("large");
	report_int(rep, "body_bytes", (int64_t)total);
	report_bool(rep, "ok", ok);
	report_real(rep, "seconds", fr.seconds);
	report_real(rep, "throughput_mib_per_second", (double)fr.body_len /
	    (1 << 20) / fr.seconds);
	report_bytes(rep, "proxy_rss_before_bytes", rss0);
	report_bytes(rep, "proxy_hwm_before_bytes", hwm0);
	report_bytes(rep, "proxy_hwm_after_bytes", hwm1);
	report_bytes(rep, "proxy_rss_after_bytes", rss1);
	report_real(rep, "proxy_peak_rss_growth_bytes", bench_per(hwm1,
	    reset ? rss0 : hwm0, 1));
	report_bool(rep, "hwm_reset", reset);
	report_real(rep, "proxy_cpu_seconds", cpu1 - cpu0);
	report_real(rep, "proxy_cpu_seconds_per_gib", (cpu1 - cpu0) /
	    ((double)total / (1 << 30)));
	report_int(rep, "push_errors", (int64_t)sim.push_errors);
	report_done(rep);

	event_base_free(base);
	proxyproc_stop(&pp);
	payload_free(&pl);
	return ok ? 0 : 2;

fail_gen:
	genset_stop(&gs, NULL);
fail:
	if (base != NULL)
		event_base_free(base);
	proxyproc_stop(&pp);
	payload_free(&pl);
	return 1;
}
