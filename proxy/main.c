/*
 * pushprox-proxy: parse flags, build the context, run the loop.  Signals:
 * SIGHUP reloads the configuration files; the first SIGTERM or SIGINT
 * starts the graceful drain (proxy_drain), a second one exits at once.
 * systemd (Type=notify) hears READY=1 once the port accepts, RELOADING=1
 * and READY=1 around a reload, STOPPING=1 at the drain, a STATUS= line
 * and, with WatchdogSec=, WATCHDOG=1 from a repeating timer (sdnotify.c;
 * all no-ops outside systemd).
 */
#include <sys/resource.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "config.h"
#include "duration.h"
#include "httpserver.h"
#include "pushprox_limits.h"
#include "log.h"
#include "proxy.h"
#include "registry.h"
#include "sdnotify.h"
#include "version.h"

/* One line for `systemctl status`. */
static void
main_status(struct proxy *px)
{
	(void)sdnotify_status("%s%zu clients, %zu polls waiting, %zu scrapes "
	    "in flight", px->draining ? "draining: " : "",
	    registry_clients(px->registry),
	    registry_polls_waiting(px->registry), px->scrapes_active);
}

static void
main_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *px = arg;

	if (sdnotify_watchdog_usec() > 0)
		(void)sdnotify_watchdog_ping();
	main_status(px);
}

static void
main_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct proxy *px = arg;

	log_info("reloading configuration", "signal", "SIGHUP");
	(void)sdnotify_reloading();
	if (proxy_reload(px) == -1) {
		/* READY=1 all the same, or systemd stays "reloading". */
		(void)sdnotify_ready();
		(void)sdnotify_status("reload failed, previous configuration "
		    "kept (see the log)");
		return;
	}
	(void)sdnotify_ready();
	main_status(px);
}

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct proxy *px = arg;
	const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";

	if (px->draining) {
		log_info("exiting now", "signal", name, "reason", "second "
		    "signal during the drain");
		event_base_loopexit(px->base, NULL);
		return;
	}
	log_info("shutting down", "signal", name);
	(void)sdnotify_stopping();
	(void)proxy_drain(px);
	main_status(px);
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
	struct event *sigint, *sigterm, *sighup, *notify = NULL;
	struct timeval tv;
	uint64_t wd_usec;
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
	sigint = evsignal_new(base, SIGINT, main_signal_cb, px);
	sigterm = evsignal_new(base, SIGTERM, main_signal_cb, px);
	if (sigint != NULL && sigterm != NULL && sighup != NULL &&
	    evsignal_add(sigint, NULL) == 0 && evsignal_add(sigterm, NULL) ==
	    0 && evsignal_add(sighup, NULL) == 0 && proxy_listen(px) == 0) {
		snprintf(port, sizeof(port), "%d",
		    httpserver_port(px->server));
		log_info("pushprox-proxy started", "version", PUSHPROX_VERSION,
		    "address", cfg.listen_address, "port", port,
		    "max_open_files", fds, "client_capacity", cap);
		(void)sdnotify_ready();
		main_status(px);
		/* The watchdog's half-interval, else a status refresh. */
		wd_usec = sdnotify_watchdog_usec();
		if (wd_usec > 0) {
			tv.tv_sec = (time_t)(wd_usec / 2 / 1000000);
			tv.tv_usec = (suseconds_t)(wd_usec / 2 % 1000000);
		} else
			duration_to_timeval(LIMIT_SDNOTIFY_STATUS_S * 1000,
			    &tv);
		if ((notify = event_new(base, -1, EV_PERSIST, main_notify_cb,
		    px)) == NULL || event_add(notify, &tv) == -1)
			log_warn("no periodic status or watchdog ping for "
			    "systemd", "error", "out of memory for the timer");
		if (event_base_dispatch(base) == 0)
			rc = EXIT_SUCCESS;
	}
	if (notify != NULL)
		event_free(notify);
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
