/*
 * --targets.file at run time (see targetsctl.h): the load at start, the
 * watcher's callback (targets_rescan of the directories) and the SIGHUP
 * reload (targets_load of the file, then the watcher re-pointed at the
 * new set's directories).  targets_load and targets_rescan are atomic, so
 * a failure here only logs: the set in use stays as it was.  A rescan
 * that keeps failing for the same reason (a bad included file) is logged
 * once as a warning, then at debug until the reason changes.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "client.h"
#include "config.h"
#include "log.h"
#include "pushprox_limits.h"
#include "targets.h"
#include "targetsctl.h"
#include "targetwatch.h"

struct targetsctl {
	struct client		*c;
	struct targets_limits	 lim;
	struct targetwatch	*tw;
	struct event		*sighup;
	char			 last_err[LIMIT_ERROR_BODY_BYTES];
};

static void
targetsctl_count(const struct targets *set, char *out, size_t len)
{
	snprintf(out, len, "%zu", set != NULL ? set->n : (size_t)0);
}

static void
targetsctl_rescan_cb(void *arg)
{
	struct targetsctl	*tc = arg;
	struct client		*c = tc->c;
	char			 err[LIMIT_ERROR_BODY_BYTES], n[32];

	switch (targets_rescan(c->targets, err, sizeof(err))) {
	case 1:
		tc->last_err[0] = '\0';
		targetsctl_count(c->targets, n, sizeof(n));
		log_info("targets changed", "file", c->targets->path,
		    "targets", n);
		client_targets_changed(c);
		break;
	case 0:
		tc->last_err[0] = '\0';
		break;
	default:
		if (strcmp(err, tc->last_err) == 0) {
			log_debug("rescan of the targets directories still "
			    "failing, keeping the previous targets", "err",
			    err);
			break;
		}
		snprintf(tc->last_err, sizeof(tc->last_err), "%s", err);
		log_warn("rescan of the targets directories failed, keeping "
		    "the previous targets", "file", c->targets->path, "err",
		    err);
		break;
	}
}

static void
targetsctl_sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct targetsctl	*tc = arg;
	struct client		*c = tc->c;
	const char		*path = c->cfg->targets_file;
	char			 err[LIMIT_ERROR_BODY_BYTES], n[32];

	if (targets_load(path, &tc->lim, &c->targets, err, sizeof(err)) ==
	    -1) {
		log_warn("reload of the targets file failed (SIGHUP), keeping "
		    "the previous targets", "file", path, "err", err);
		return;
	}
	tc->last_err[0] = '\0';
	targetwatch_set(tc->tw, c->targets);
	targetsctl_count(c->targets, n, sizeof(n));
	log_info("targets file reloaded (SIGHUP)", "file", path, "targets", n);
	client_targets_changed(c);
}

struct targetsctl *
targetsctl_new(struct client *c, bool *failed)
{
	struct targetsctl	*tc;
	const char		*path = c->cfg->targets_file;
	char			 err[LIMIT_ERROR_BODY_BYTES], n[32];

	*failed = false;
	if (path == NULL)
		return NULL;
	*failed = true;
	if ((tc = calloc(1, sizeof(*tc))) == NULL) {
		log_error("cannot load the targets file", "file", path, "err",
		    "out of memory");
		return NULL;
	}
	tc->c = c;
	targets_limits_default(&tc->lim);
	if (targets_load(path, &tc->lim, &c->targets, err, sizeof(err)) ==
	    -1) {
		log_error("cannot load the targets file", "flag",
		    "--targets.file", "err", err);
		goto fail;
	}
	tc->tw = targetwatch_new(c->base, c->cfg->targets_rescan_ms,
	    targetsctl_rescan_cb, tc);
	tc->sighup = evsignal_new(c->base, SIGHUP, targetsctl_sighup_cb, tc);
	if (tc->tw == NULL || tc->sighup == NULL ||
	    evsignal_add(tc->sighup, NULL) == -1) {
		log_error("cannot watch the targets file", "file", path, "err",
		    "cannot create the watcher or the SIGHUP handler (out of "
		    "memory?)");
		goto fail;
	}
	targetwatch_set(tc->tw, c->targets);
	targetsctl_count(c->targets, n, sizeof(n));
	log_info("targets file loaded: it is the allowlist, plain scrapes "
	    "run only for its targets' URLs or by --scrape.allow", "file", path,
	    "targets", n, "scrape_allow_rules",
	    c->cfg->scrape_allow.n > 0 ? "yes" : "none");
	*failed = false;
	return tc;
fail:
	targetsctl_free(tc);
	return NULL;
}

void
targetsctl_free(struct targetsctl *tc)
{
	if (tc == NULL)
		return;
	if (tc->sighup != NULL)
		event_free(tc->sighup);
	targetwatch_free(tc->tw);
	targets_free(tc->c->targets);
	tc->c->targets = NULL;
	free(tc);
}
