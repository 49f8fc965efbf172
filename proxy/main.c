/*
 * pushprox-proxy: parse flags, build the context, run the loop until
 * SIGINT or SIGTERM.
 */
#include <sys/resource.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "config.h"
#include "httpserver.h"
#include "pushprox_limits.h"
#include "log.h"
#include "proxy.h"
#include "version.h"

static void
main_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	log_info("reloading configuration", "signal", "SIGHUP");
	(void)proxy_reload(arg);
}

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	log_info("shutting down", "signal", sig == SIGINT ? "SIGINT" :
	    "SIGTERM");
	event_base_loopexit(base, NULL);
}

/* Raises the soft descriptor limit to the hard one, as Go programs do. */
static rlim_t
main_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

int
main(int argc, char **argv)
{
	struct proxy_config cfg = { 0 };
	struct event_base *base;
	struct event *sigint, *sigterm, *sighup;
	struct proxy *px;
	char fds[32], port[16], cap[32];
	rlim_t nofile;
	int rc = EXIT_FAILURE;

	switch (proxy_config_parse(&cfg, argc, argv, stdout, stderr)) {
	case FLAGS_OK:
		break;
	case FLAGS_EXIT:
		return EXIT_SUCCESS;
	case FLAGS_ERROR:
		return EXIT_FAILURE;
	}
	log_setup((enum log_level)cfg.log_level,
	    (enum log_format)cfg.log_format, NULL);
	signal(SIGPIPE, SIG_IGN);
	nofile = main_raise_nofile();
	snprintf(fds, sizeof(fds), "%llu", (unsigned long long)nofile);
	if ((base = event_base_new()) == NULL) {
		log_error("cannot start", "what", "the event loop", "error",
		    "event_base_new failed (out of memory or descriptors)");
		return EXIT_FAILURE;
	}
	if ((px = proxy_new(base, &cfg)) == NULL)
		return EXIT_FAILURE;	/* logged */
	if (proxy_reload(px) == -1) {
		proxy_free(px);
		event_base_free(base);
		proxy_config_free(&cfg);
		return EXIT_FAILURE;
	}
	/* Each idle client holds one descriptor: its parked poll. */
	px->client_capacity = nofile > LIMIT_FD_RESERVE ?
	    (size_t)(nofile - LIMIT_FD_RESERVE) : 0;
	if (px->client_capacity > (size_t)cfg.max_connections)
		px->client_capacity = (size_t)cfg.max_connections;
	snprintf(cap, sizeof(cap), "%zu", px->client_capacity);
	sighup = evsignal_new(base, SIGHUP, main_hup_cb, px);
	sigint = evsignal_new(base, SIGINT, main_signal_cb, base);
	sigterm = evsignal_new(base, SIGTERM, main_signal_cb, base);
	if (sigint != NULL && sigterm != NULL && sighup != NULL &&
	    evsignal_add(sigint, NULL) == 0 && evsignal_add(sigterm, NULL) ==
	    0 && evsignal_add(sighup, NULL) == 0 && proxy_listen(px) == 0) {
		snprintf(port, sizeof(port), "%d",
		    httpserver_port(px->server));
		log_info("pushprox-proxy started", "version", PUSHPROX_VERSION,
		    "address", cfg.listen_address, "port", port,
		    "max_open_files", fds, "client_capacity", cap);
		if (event_base_dispatch(base) == 0)
			rc = EXIT_SUCCESS;
	}
	proxy_free(px);
	if (sigint != NULL)
		event_free(sigint);
	if (sigterm != NULL)
		event_free(sigterm);
	if (sighup != NULL)
		event_free(sighup);
	event_base_free(base);
	proxy_config_free(&cfg);
	return rc;
}
