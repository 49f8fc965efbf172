/*
 * compare: the proxy's CPU per relayed scrape against what the best-built
 * proxies spend per proxied request, side by side in one run.  The server
 * measured is pinned to --server-cpu, everything else (the bench, its
 * generators, the origin) to --bench-cpu, and C keep-alive scrapers fetch
 * the same --size body for --duration after --warmup, in four phases:
 *
 *   nginx_proxy   nginx proxy_pass, upstream keep-alive, to the origin
 *   haproxy       HAProxy, one thread, mode http, to the origin
 *   nginx_static  nginx serving the body from a file (no relay)
 *   pushprox      our proxy relaying scrapes of N simulated clients
 *
 * The origin is the bench's own HTTP server (generator 0's, the direct
 * baseline of relay mode).  Each phase's figure is the server process's
 * utime + stime over the window divided by the scrapes answered; every
 * answer is checked as in relay mode.  One JSON line gives each figure
 * and the ratios pushprox / each reference.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bench.h"

enum { CMP_NGINX_PROXY, CMP_HAPROXY, CMP_NGINX_STATIC, CMP_PUSHPROX,
	CMP_N };

static const char *const cmp_names[CMP_N] = {
	"nginx_proxy", "haproxy", "nginx_static", "pushprox",
};

static double
compare_us(const struct relay_result *r)
{
	return r->scrapes > 0 ? r->server_cpu / (double)r->scrapes * 1e6 :
	    NAN;
}

static void
compare_report(struct report *rep, const char *name,
    const struct relay_result *r)
{
	char key[64];

#define CMP_KEY(s)	(snprintf(key, sizeof(key), "%s_%s", name, s), key)
	report_real(rep, CMP_KEY("cpu_us_per_request"), compare_us(r));
	report_int(rep, CMP_KEY("requests"), (int64_t)r->scrapes);
	report_real(rep, CMP_KEY("requests_per_second"),
	    (double)r->scrapes / r->seconds);
	report_real(rep, CMP_KEY("cpu_share"), r->server_cpu / r->seconds);
	report_real(rep, CMP_KEY("latency_us_p50"), r->p50);
	report_real(rep, CMP_KEY("latency_us_p99"), r->p99);
	report_int(rep, CMP_KEY("errors"), (int64_t)r->st.errors);
	report_real(rep, CMP_KEY("others_cpu_share"), r->host_busy -
	    (r->server_cpu + r->bench_cpu) / r->seconds);
#undef CMP_KEY
}

int
mode_compare(const struct bench_config *config)
{
	struct bench_config cfg = *config;
	struct payload pl;
	struct proxyproc pp;
	struct genset gs;
	struct refserver ngx, hap;
	struct scrapeset_config sc;
	struct relay_result res[CMP_N];
	struct event_base *base = NULL;
	struct report *rep;
	char maxconn[64];
	const char *args[2];
	uint32_t n = (uint32_t)cfg.clients;
	int ports[3], i, rc = 1;
	uint64_t errors = 0;
	pid_t pids[CMP_N];

	memset(&ngx, 0, sizeof(ngx));
	memset(&hap, 0, sizeof(hap));
	memset(res, 0, sizeof(res));
	if (payload_make(&pl, (size_t)cfg.size, false) == -1) {
		bench_log("cannot make the payload");
		return 1;
	}
	/* The load's core; the servers' children pin themselves. */
	cfg.pin = true;
	if (procstat_pin(0, (int)cfg.bench_cpu) == -1) {
		payload_free(&pl);
		return 1;
	}
	snprintf(maxconn, sizeof(maxconn), "--web.max-connections=%" PRIu64,
	    (uint64_t)n + 2 * (uint64_t)cfg.concurrency + 1000);
	args[0] = "--poll.timeout=10m";
	args[1] = maxconn;
	if (proxyproc_start(&pp, &cfg, args, 2) == -1) {
		payload_free(&pl);
		return 1;
	}
	if (genset_start(&gs, &cfg, &pp, n, genset_procs(&cfg, n), &pl, 0,
	    true) == -1)
		goto done_proxy;
	if ((base = event_base_new()) == NULL || gs.direct_port <= 0)
		goto done_gen;
	if (fetch_wait_clients(base, &pp.addr, n,
	    (double)cfg.wait_ms / 1000.0) < 0) {
		bench_log("not all %u clients registered", n);
		goto done_gen;
	}
	for (i = 0; i < 3; i++)
		if ((ports[i] = net_free_port()) == -1) {
			bench_log("no free port");
			goto done_gen;
		}
	if (refserver_nginx(&ngx, &cfg, ports[0], ports[1], gs.direct_port,
	    &pl, (int)cfg.server_cpu) == -1 ||
	    refserver_haproxy(&hap, &cfg, ports[2], gs.direct_port,
	    (int)cfg.server_cpu) == -1)
		goto done_gen;
	pids[CMP_NGINX_PROXY] = ngx.pid;
	pids[CMP_HAPROXY] = hap.pid;
	pids[CMP_NGINX_STATIC] = ngx.pid;
	pids[CMP_PUSHPROX] = pp.pid;
	bench_log("compare: %lld scrapers, %zu-byte body, %.0f s each, "
	    "servers on CPU %lld, load on CPU %lld", (long long)cfg.concurrency,
	    pl.len, (double)cfg.duration_ms / 1000.0,
	    (long long)cfg.server_cpu, (long long)cfg.bench_cpu);

	for (i = 0; i < CMP_N; i++) {
		memset(&sc, 0, sizeof(sc));
		if (net_parse_hostport("127.0.0.1:1", &sc.dst) == -1)
			goto done_gen;
		sc.conns = (uint32_t)cfg.concurrency;
		sc.expect_len = pl.len;
		sc.expect_crc = pl.crc;
		sc.timeout_s = (double)cfg.scrape_timeout_ms / 1000.0;
		sc.seed = (uint64_t)cfg.seed;
		switch (i) {
		case CMP_NGINX_PROXY:
			sc.dst.sin_port = htons((uint16_t)ports[0]);
			break;
		case CMP_NGINX_STATIC:
			sc.dst.sin_port = htons((uint16_t)ports[1]);
			break;
		case CMP_HAPROXY:
			sc.dst.sin_port = htons((uint16_t)ports[2]);
			break;
		case CMP_PUSHPROX:
			sc.dst = pp.addr;
			sc.proxy_form = true;
			sc.nclients = n;
			break;
		}
		bench_log("phase %s", cmp_names[i]);
		if (relay_measure(base, &cfg, &sc, pids[i], &gs, &res[i]) == -1)
			goto done_gen;
		bench_log("  %.1f us of CPU per request, %.0f requests/s, "
		    "%" PRIu64 " errors", compare_us(&res[i]),
		    (double)res[i].scrapes / res[i].seconds, res[i].st.errors);
		errors += res[i].st.errors;
	}

	rep = report_new("compare");
	report_int(rep, "payload_bytes", (int64_t)pl.len);
	report_int(rep, "concurrency", cfg.concurrency);
	report_int(rep, "clients", n);
	report_real(rep, "duration_seconds", (double)cfg.duration_ms / 1000.0);
	for (i = 0; i < CMP_N; i++)
		compare_report(rep, cmp_names[i], &res[i]);
	report_real(rep, "ratio_pushprox_to_nginx_proxy",
	    compare_us(&res[CMP_PUSHPROX]) / compare_us(&res[CMP_NGINX_PROXY]));
	report_real(rep, "ratio_pushprox_to_haproxy",
	    compare_us(&res[CMP_PUSHPROX]) / compare_us(&res[CMP_HAPROXY]));
	report_real(rep, "ratio_pushprox_to_nginx_static",
	    compare_us(&res[CMP_PUSHPROX]) /
	    compare_us(&res[CMP_NGINX_STATIC]));
	report_done(rep);
	rc = errors == 0 ? 0 : 2;

done_gen:
	genset_stop(&gs, NULL);
	refserver_stop(&ngx);
	refserver_stop(&hap);
	if (base != NULL)
		event_base_free(base);
done_proxy:
	proxyproc_stop(&pp);
	payload_free(&pl);
	return rc;
}
