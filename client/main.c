/*
 * pushprox-client: parse the flags, build the context, run the loop.
 * SIGINT/SIGTERM start a clean shutdown (client_shutdown: polling stops,
 * scrapes in flight are finished and pushed); when the loop ends
 * everything is freed and the process exits 0.  Under systemd
 * (Type=notify, $NOTIFY_SOCKET) it reports READY=1 once the metrics
 * listener is up and the first polls are sent, STOPPING=1 on the signal,
 * and every tick (half of WatchdogSec, else LIMIT_CLIENT_STATUS_S) a
 * STATUS= line and, when asked for, WATCHDOG=1 (common/sdnotify.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "client.h"
#include "config.h"
#include "duration.h"
#include "log.h"
#include "pushprox_limits.h"
#include "sdnotify.h"
#include "version.h"

/* What the loop's systemd tick needs. */
struct main_notify {
	struct client	*c;
	bool		 watchdog;
};

/* The status line of `systemctl status`, and the watchdog ping. */
static void
main_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct main_notify	*mn = arg;
	struct client		*c = mn->c;

	if (mn->watchdog)
		sdnotify_watchdog_ping();
	sdnotify_status("%s%zu of %zu proxies up, %zu polls open, %zu scrapes "
	    "in flight", c->stopping ? "stopping: " : "",
	    client_proxies_up(c), c->npollers, client_polls_open(c), c->njobs);
}

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct client	*c = arg;

	sdnotify_stopping();
	log_info("signal received, shutting down", "signal",
	    sig == SIGINT ? "SIGINT" : "SIGTERM");
	client_shutdown(c);
}

int
main(int argc, char **argv)
{
	struct client_config	 cfg;
	struct event_base	*base = NULL;
	struct client		*c = NULL;
	struct event		*sigint = NULL, *sigterm = NULL, *tick = NULL;
	struct main_notify	 mn = { NULL, false };
	struct timeval		 tv;
	uint64_t		 wd;
	int			 rv = EXIT_FAILURE;
	CURLcode		 cc;

	switch (config_load(&cfg, argc, argv, stdout, stderr)) {
	case CONFIG_RUN:
		break;
	case CONFIG_EXIT_OK:
		return EXIT_SUCCESS;
	case CONFIG_EXIT_ERR:
	default:
		return EXIT_FAILURE;
	}
	log_setup((enum log_level)cfg.log_level,
	    (enum log_format)cfg.log_format, NULL);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	signal(SIGPIPE, SIG_IGN);
	if ((cc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		log_error("cannot initialise libcurl", "call",
		    "curl_global_init", "err", curl_easy_strerror(cc));
		goto out;
	}
	if ((base = event_base_new()) == NULL) {
		log_error("cannot create the event loop", "call",
		    "event_base_new", "err", strerror(errno));
		goto out_curl;
	}
	if ((c = client_new(base, &cfg)) == NULL)
		goto out_curl;
	sigint = evsignal_new(base, SIGINT, main_signal_cb, c);
	sigterm = evsignal_new(base, SIGTERM, main_signal_cb, c);
	if (sigint == NULL || sigterm == NULL || evsignal_add(sigint, NULL) ||
	    evsignal_add(sigterm, NULL)) {
		log_error("cannot install signal handlers", "signals",
		    "SIGINT, SIGTERM", "err", strerror(errno));
		goto out_curl;
	}
	log_info("starting pushprox-client", "fqdn", cfg.fqdn, "version",
	    PUSHPROX_VERSION);
	for (size_t i = 0; i < cfg.nproxies; i++)
		log_info("polling proxy", "proxy", cfg.proxies[i].url_log);
	if (client_start(c) == -1)
		goto out_curl;
	mn.c = c;
	wd = sdnotify_watchdog_usec();
	mn.watchdog = wd != 0;
	if (wd != 0 && wd / 2 < (uint64_t)LIMIT_CLIENT_STATUS_S * 1000000) {
		tv.tv_sec = (time_t)(wd / 2 / 1000000);
		tv.tv_usec = (suseconds_t)(wd / 2 % 1000000);
	} else
		duration_to_timeval(LIMIT_CLIENT_STATUS_S * 1000, &tv);
	if ((tick = event_new(base, -1, EV_PERSIST, main_notify_cb, &mn)) ==
	    NULL || event_add(tick, &tv) == -1) {
		log_error("cannot start the systemd status timer", "err",
		    "out of memory");
		goto out_curl;
	}
	sdnotify_ready();
	main_notify_cb(-1, 0, &mn);
	if (event_base_dispatch(base) == -1)
		log_error("event loop failed", "call", "event_base_dispatch",
		    "err", strerror(errno));
	else
		rv = EXIT_SUCCESS;
out_curl:
	if (tick != NULL)
		event_free(tick);
	client_free(c);
	if (sigint != NULL)
		event_free(sigint);
	if (sigterm != NULL)
		event_free(sigterm);
	if (base != NULL)
		event_base_free(base);
	curl_global_cleanup();
	log_info("stopped");
out:
	config_free(&cfg);
	return rv;
}
