/*
 * pushprox-client: parse the flags, build the context, run the loop.
 * SIGINT/SIGTERM start a clean shutdown (client_shutdown); when the loop
 * ends everything is freed and the process exits 0.
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
#include "log.h"
#include "version.h"

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct client	*c = arg;

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
	struct event		*sigint = NULL, *sigterm = NULL;
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
	log_info("starting pushprox-client", "fqdn", cfg.fqdn, "proxy_url",
	    cfg.proxy_url_log, "version", PUSHPROX_VERSION);
	if (client_start(c) == -1)
		goto out_curl;
	if (event_base_dispatch(base) == -1)
		log_error("event loop failed", "call", "event_base_dispatch",
		    "err", strerror(errno));
	else
		rv = EXIT_SUCCESS;
out_curl:
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
