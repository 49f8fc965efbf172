/*
 * Build-time tool: writes pushprox-proxy(1) or pushprox-client(1) from the
 * daemon's own flag table (proxy_config_flags, config_flags_table), so the
 * OPTIONS section is what --help prints and cannot drift from it.  The
 * prose around the options lives here.  Run by man/meson.build:
 *
 *   pushprox-man proxy|client OUTPUT
 *
 * The page's date is SOURCE_DATE_EPOCH's (reproducible builds set it,
 * dpkg-buildpackage from debian/changelog), or none.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/config.h"
#include "manpage.h"
#include "proxy/config.h"
#include "version.h"

static const struct manpage_item proxy_signals[] = {
	{ "SIGHUP", "Reads --web.config.file and --client.tokens-file "
	  "again. Open connections, waiting polls and scrapes in flight are "
	  "kept. A file that does not load is logged at level=error with "
	  "the file, line and key, and the configuration in force stays. "
	  "Flags are read only at start." },
	{ "SIGTERM, SIGINT", "Drains, then exits 0: GET /-/ready answers "
	  "503 at once, parked polls are answered 204, new scrapes and polls "
	  "get 503, and scrapes in flight may finish for up to "
	  "--web.shutdown-timeout; then the listener closes. A second signal "
	  "exits at once." },
};

static const struct manpage_item proxy_environment[] = {
	{ "NOTIFY_SOCKET", "Set by systemd for Type=notify: the proxy sends "
	  "READY=1 once its port accepts, STATUS= with clients, polls and "
	  "scrapes in flight, RELOADING=1 and READY=1 around SIGHUP, and "
	  "STOPPING=1 on SIGTERM (sd_notify(3)). Unset: nothing is sent." },
	{ "WATCHDOG_USEC", "Set by systemd for WatchdogSec=: the proxy sends "
	  "WATCHDOG=1 every half of it while its event loop runs." },
};

static const struct manpage_item proxy_files[] = {
	{ "/etc/default/pushprox-proxy", "Flags for the packaged systemd "
	  "unit, as ARGS=\"...\"." },
	{ "/etc/pushprox/web-config.yml", "The web configuration (TLS, client "
	  "certificates, scraper passwords) when given as --web.config.file; "
	  "see pushprox-web-config(5)." },
	{ "/etc/pushprox/tokens", "Client tokens when given as "
	  "--client.tokens-file; see pushprox-tokens(5)." },
};

static const struct manpage_item proxy_endpoints[] = {
	{ "POST /poll", "A client waits here (a long poll) for the next "
	  "scrape of its FQDN." },
	{ "POST /push", "A client returns a scrape's result." },
	{ "GET /clients", "The registered clients, as Prometheus "
	  "http_sd_configs (and file_sd) reads them." },
	{ "GET /metrics", "The proxy's own metrics." },
	{ "GET /", "The status page: clients, their targets, labels, polls "
	  "and recent scrapes; ?q= filters, ?page= pages. Same access "
	  "control as /clients." },
	{ "GET /-/healthy, GET /-/ready", "Probes for load balancers, without "
	  "authentication: 200 while serving; /-/ready answers 503 while "
	  "draining." },
	{ "GET http://FQDN:PORT/path", "A scrape from Prometheus, sent as a "
	  "forward-proxy request (proxy_url). No client for FQDN: 502 at "
	  "once; no answer in time: 504." },
};

static const struct manpage_item exit_status[] = {
	{ "0", "Stopped by SIGTERM or SIGINT, or --help or --version." },
	{ "1", "A flag was wrong (the message names it), or start-up failed "
	  "(the listener, a configuration file); the reason is logged." },
};

static const struct manpage_section proxy_sections[] = {
	{ "ENDPOINTS", "One port serves clients and Prometheus:",
	  proxy_endpoints,
	  sizeof(proxy_endpoints) / sizeof(proxy_endpoints[0]) },
	{ "SIGNALS", NULL, proxy_signals,
	  sizeof(proxy_signals) / sizeof(proxy_signals[0]) },
	{ "ENVIRONMENT", NULL, proxy_environment,
	  sizeof(proxy_environment) / sizeof(proxy_environment[0]) },
	{ "FILES", NULL, proxy_files,
	  sizeof(proxy_files) / sizeof(proxy_files[0]) },
	{ "EXIT STATUS", NULL, exit_status,
	  sizeof(exit_status) / sizeof(exit_status[0]) },
};

static const char *const proxy_see_also[] = {
	"pushprox-client(1)", "pushprox-web-config(5)", "pushprox-tokens(5)",
	"prometheus(1)", "systemctl(1)", "journalctl(1)", NULL,
};

static const struct manpage_doc proxy_doc = {
	.section = 1,
	.manual = "PushProx Manual",
	.name_line = "let Prometheus scrape targets behind NAT through "
	    "polling clients",
	.description = "pushprox-proxy runs where both Prometheus and the "
	    "pushprox-client(1) daemons can reach it. Each client long-polls "
	    "the proxy for the FQDN it serves; Prometheus sends its scrapes "
	    "to the proxy as to an HTTP forward proxy; the proxy hands each "
	    "scrape to a waiting poll of that FQDN's client, which performs "
	    "it next to its targets and pushes the result back, and the "
	    "proxy relays it to Prometheus. The targets need no inbound "
	    "connection. It speaks the wire protocol of the Go PushProx.\n\n"
	    "Out of the box anyone who reaches the port may register any "
	    "FQDN and scrape through it, in plain HTTP. --web.config.file "
	    "adds TLS, client certificates and passwords for scrapers; "
	    "--client.auth binds each FQDN to a client certificate or a "
	    "bearer token.\n\n"
	    "Logs go to standard error, one logfmt (or JSON) line each.",
	.sections = proxy_sections,
	.nsections = sizeof(proxy_sections) / sizeof(proxy_sections[0]),
	.see_also = proxy_see_also,
};

static const struct manpage_item client_signals[] = {
	{ "SIGTERM, SIGINT", "Stops polling every proxy (parked polls are "
	  "cancelled), lets scrapes in flight finish and be pushed for up to "
	  "--shutdown-timeout, answers the ones still fetching then with a "
	  "503, and exits 0. A second signal exits at once." },
};

static const struct manpage_item client_environment[] = {
	{ "NOTIFY_SOCKET", "Set by systemd for Type=notify: the client sends "
	  "READY=1 once its metrics listener is up and its first polls are "
	  "sent, STATUS= with the proxies up, polls open and scrapes in "
	  "flight, and STOPPING=1 on SIGTERM (sd_notify(3)). Unset: nothing "
	  "is sent." },
	{ "WATCHDOG_USEC", "Set by systemd for WatchdogSec=: the client sends "
	  "WATCHDOG=1 every half of it while its event loop runs." },
	{ "HTTP_PROXY, HTTPS_PROXY, NO_PROXY", "Forward proxies for the "
	  "connections to the proxies and to targets, as the Go client reads "
	  "them (upper case first); localhost and loopback addresses are "
	  "never proxied." },
};

static const struct manpage_item client_files[] = {
	{ "/etc/default/pushprox-client", "Flags for the packaged systemd "
	  "unit, as ARGS=\"...\"; --proxy-url must be set there before the "
	  "unit is started." },
	{ "/etc/pushprox/client.token", "A bearer token when given as "
	  "--auth.token-file (its first line)." },
};

static const struct manpage_section client_sections[] = {
	{ "SIGNALS", NULL, client_signals,
	  sizeof(client_signals) / sizeof(client_signals[0]) },
	{ "ENVIRONMENT", NULL, client_environment,
	  sizeof(client_environment) / sizeof(client_environment[0]) },
	{ "FILES", NULL, client_files,
	  sizeof(client_files) / sizeof(client_files[0]) },
	{ "EXIT STATUS", NULL, exit_status,
	  sizeof(exit_status) / sizeof(exit_status[0]) },
};

static const char *const client_see_also[] = {
	"pushprox-proxy(1)", "pushprox-tokens(5)", "systemctl(1)",
	"journalctl(1)", NULL,
};

static const struct manpage_doc client_doc = {
	.section = 1,
	.manual = "PushProx Manual",
	.name_line = "poll a PushProx proxy for scrapes and perform them "
	    "locally",
	.description = "pushprox-client runs next to the targets that "
	    "Prometheus cannot reach. It only makes outgoing connections: it "
	    "long-polls pushprox-proxy(1) at --proxy-url for scrapes of "
	    "--fqdn, performs each one itself (http://FQDN:PORT/path, so the "
	    "name must resolve here to where the targets listen), and pushes "
	    "the answer back. Scrapes for another host are refused; a failed "
	    "scrape reaches Prometheus as an error naming the URL and the "
	    "cause.\n\n"
	    "--proxy-url may be given several times: the client then keeps a "
	    "poll open on every proxy at once, each with its own back-off, "
	    "answers scrapes from any of them and pushes each answer back to "
	    "the proxy it came from (an HA pair of proxies, or shards behind "
	    "a load balancer). Every request it sends carries its FQDN in a "
	    "Pushprox-Fqdn header.\n\n"
	    "Its own metrics (GET /metrics) and a status page (GET /: its "
	    "proxies, targets and last scrapes) are served on "
	    "--metrics-addr. Logs go to standard error, one logfmt (or JSON) "
	    "line each.",
	.sections = client_sections,
	.nsections = sizeof(client_sections) / sizeof(client_sections[0]),
	.see_also = client_see_also,
};

/* SOURCE_DATE_EPOCH as YYYY-MM-DD into buf, or NULL. */
static const char *
man_date(char *buf, size_t len)
{
	const char	*s = getenv("SOURCE_DATE_EPOCH");
	char		*end;
	long long	 v;
	time_t		 t;
	struct tm	 tm;

	if (s == NULL || *s == '\0')
		return NULL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || errno != 0 || v < 0)
		return NULL;
	t = (time_t)v;
	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d",
	    &tm) == 0)
		return NULL;
	return buf;
}

int
main(int argc, char **argv)
{
	struct flags_program	 prog = { NULL, PUSHPROX_VERSION, NULL };
	struct manpage_doc	 doc;
	const struct flag_def	*table;
	char			 date[32];
	size_t			 n;
	FILE			*out;

	if (argc != 3 || (strcmp(argv[1], "proxy") != 0 &&
	    strcmp(argv[1], "client") != 0)) {
		fprintf(stderr, "usage: pushprox-man proxy|client OUTPUT\n");
		return 2;
	}
	if (strcmp(argv[1], "proxy") == 0) {
		prog.name = "pushprox-proxy";
		table = proxy_config_flags(&n);
		doc = proxy_doc;
	} else {
		prog.name = "pushprox-client";
		table = config_flags_table(&n);
		doc = client_doc;
	}
	doc.date = man_date(date, sizeof(date));
	if ((out = fopen(argv[2], "w")) == NULL) {
		fprintf(stderr, "pushprox-man: %s: %s\n", argv[2],
		    strerror(errno));
		return 1;
	}
	if (manpage_write(table, n, &prog, &doc, out) == -1 ||
	    fclose(out) == EOF) {
		fprintf(stderr, "pushprox-man: %s: write failed: %s\n",
		    argv[2], strerror(errno));
		return 1;
	}
	return 0;
}
