/*
 * pushprox-bench: load generator and cost meter for pushprox-proxy and
 * pushprox-client.  "pushprox-bench MODE [flags]", MODE one of idle, relay,
 * large, compare, client (see bench/README.md); the flags come from one table
 * (common/flags), shared by the modes, each row saying where it applies.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "version.h"

#define DAY_MS	(24LL * 3600 * 1000)
#define OFF(f)	offsetof(struct bench_config, f)

static const struct flag_def bench_flags[] = {
	{ "clients", FLAG_INT, "1000", 1, 1000000, NULL, OFF(clients), 0,
	  "idle, relay: simulated clients (N)" },
	{ "procs", FLAG_INT, "0", 0, GENSET_MAX, NULL, OFF(procs), 0,
	  "idle, relay: generator processes holding the clients (0: one per "
	  "15000 clients)" },
	{ "size", FLAG_BYTES, "20KiB", 1, 1LL << 30, NULL, OFF(size), 0,
	  "idle, relay, client: scrape payload size before compression (S)" },
	{ "gzip", FLAG_BOOL, "false", 0, 0, NULL, OFF(gzip), 0,
	  "idle, relay, client: send the payload gzip-compressed "
	  "(Content-Encoding: gzip)" },
	{ "concurrency", FLAG_INT, "64", 1, 4096, NULL, OFF(concurrency), 0,
	  "relay: concurrent keep-alive scrapers (C)" },
	{ "duration", FLAG_DURATION, "10s", 100, DAY_MS, NULL,
	  OFF(duration_ms), 0, "relay: measured time, per phase (D)" },
	{ "warmup", FLAG_DURATION, "2s", 0, DAY_MS, NULL, OFF(warmup_ms), 0,
	  "relay: unmeasured time before each phase" },
	{ "direct", FLAG_BOOL, "true", 0, 0, NULL, OFF(direct), 0,
	  "relay: also scrape the payload directly, for the added latency" },
	{ "scrapes", FLAG_INT, "0", 0, 100000000, NULL, OFF(scrapes), 0,
	  "idle: timed scrapes of random clients (0: 20); client: scrapes "
	  "for CPU per scrape (0: 1000) (K)" },
	{ "list-fetches", FLAG_INT, "5", 1, 100000, NULL, OFF(list_fetches),
	  0, "idle: timed GET /clients with all clients listed" },
	{ "large-size", FLAG_BYTES, "100MiB", 1, 1LL << 40, NULL,
	  OFF(large_size), 0, "large, client: size of the large body" },
	{ "idle", FLAG_DURATION, "10s", 100, DAY_MS, NULL, OFF(idle_ms), 0,
	  "idle, client: how long to watch the idle proxy's or client's CPU" },
	{ "scrape-timeout", FLAG_DURATION, "10s", 100, DAY_MS, NULL,
	  OFF(scrape_timeout_ms), 0,
	  "X-Prometheus-Scrape-Timeout-Seconds of the scrapes" },
	{ "proxy-bin", FLAG_STRING, "", 0, 0, NULL, OFF(proxy_bin), 0,
	  "pushprox-proxy to start (default: the one of this build tree)" },
	{ "proxy-arg", FLAG_STRINGS, NULL, 0, 0, NULL, OFF(proxy_args), 0,
	  "one more flag for the started proxy, after the bench's own" },
	{ "proxy-url", FLAG_STRING, "", 0, 0, NULL, OFF(proxy_url), 0,
	  "use the proxy already running here (http://127.0.0.1:PORT) "
	  "instead of starting one" },
	{ "proxy-pid", FLAG_INT, "0", 0, 1LL << 31, NULL, OFF(proxy_pid), 0,
	  "with --proxy-url: its process id, to read its memory and CPU" },
	{ "client-bin", FLAG_STRING, "", 0, 0, NULL, OFF(client_bin), 0,
	  "client: pushprox-client to start (default: the one of this build "
	  "tree)" },
	{ "log-dir", FLAG_STRING, "/tmp", 0, 0, NULL, OFF(log_dir), 0,
	  "where the started proxy's and client's logs go" },
	{ "source-base", FLAG_STRING, "127.0.0.2", 0, 0, NULL,
	  OFF(source_base), 0, "generator g binds its client sockets to this "
	  "address plus g (empty: no bind)" },
	{ "connect-batch", FLAG_INT, "256", 1, 100000, NULL,
	  OFF(connect_batch), 0,
	  "client connections being opened at once, per generator" },
	{ "wait", FLAG_DURATION, "5m", 1000, DAY_MS, NULL, OFF(wait_ms), 0,
	  "longest wait for all clients to connect and register" },
	{ "nginx-bin", FLAG_STRING, "/usr/sbin/nginx", 0, 0, NULL,
	  OFF(nginx_bin), 0, "compare: the nginx to start (Debian's "
	  "nginx-light)" },
	{ "haproxy-bin", FLAG_STRING, "/usr/sbin/haproxy", 0, 0, NULL,
	  OFF(haproxy_bin), 0, "compare: the HAProxy to start" },
	{ "server-cpu", FLAG_INT, "0", 0, 1023, NULL, OFF(server_cpu), 0,
	  "compare: the CPU the measured server is pinned to" },
	{ "bench-cpu", FLAG_INT, "1", 0, 1023, NULL, OFF(bench_cpu), 0,
	  "compare: the CPU the bench, its generators and the origin are "
	  "pinned to" },
	{ "seed", FLAG_INT, "42", 1, 1LL << 62, NULL, OFF(seed), 0,
	  "seed of the random choice of clients to scrape" },
};

#define NFLAGS	(sizeof(bench_flags) / sizeof(bench_flags[0]))

static const struct {
	const char	*name;
	int		(*run)(const struct bench_config *);
	const char	*what;
} bench_modes[] = {
	{ "idle", mode_idle, "N idle long-polling clients: proxy RSS per "
	  "client, /clients time, scrape latency" },
	{ "relay", mode_relay, "C scrapers, N clients, S-byte payloads: "
	  "throughput, latency, proxy CPU per scrape, added latency" },
	{ "large", mode_large, "one 100 MB scrape: proxy peak RSS growth, "
	  "throughput" },
	{ "compare", mode_compare, "CPU per request of nginx proxy_pass, "
	  "HAProxy, nginx static and the proxy's relay, in one run" },
	{ "client", mode_client, "the real client against a simulated "
	  "proxy: idle RSS and CPU, CPU per scrape, 100 MB peak RSS" },
};

#define NMODES	(sizeof(bench_modes) / sizeof(bench_modes[0]))

static void
bench_usage(FILE *out)
{
	const struct flags_program prog = { "pushprox-bench MODE",
	    PUSHPROX_VERSION, "benchmarks pushprox-proxy and pushprox-client "
	    "on loopback" };
	size_t i;

	flags_usage(bench_flags, NFLAGS, &prog, out);
	fprintf(out, "\nModes (each ends with one JSON line of figures on "
	    "stdout):\n");
	for (i = 0; i < NMODES; i++)
		fprintf(out, "  %-8s %s\n", bench_modes[i].name,
		    bench_modes[i].what);
}

int
main(int argc, char **argv)
{
	struct bench_config cfg;
	struct flags_program prog = { NULL, PUSHPROX_VERSION, NULL };
	char name[64];
	size_t i;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		bench_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 1 : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("pushprox-bench version %s\n", PUSHPROX_VERSION);
		return 0;
	}
	for (i = 0; i < NMODES; i++)
		if (strcmp(argv[1], bench_modes[i].name) == 0)
			break;
	if (i == NMODES) {
		fprintf(stderr, "pushprox-bench: unknown mode \"%s\" (one of "
		    "idle, relay, large, compare, client); try --help\n", argv[1]);
		return 1;
	}
	snprintf(name, sizeof(name), "pushprox-bench %s", argv[1]);
	prog.name = name;
	memset(&cfg, 0, sizeof(cfg));
	switch (flags_parse(bench_flags, NFLAGS, &cfg, &prog, argc - 1,
	    argv + 1, stdout, stderr)) {
	case FLAGS_OK:
		break;
	case FLAGS_EXIT:
		return 0;
	case FLAGS_ERROR:
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	procstat_raise_nofile();
	rc = bench_modes[i].run(&cfg);
	flags_free(bench_flags, NFLAGS, &cfg);
	return rc;
}
