/*
 * inotify + libevent: one inotify descriptor per watcher, re-created for
 * each new set (simpler than tracking watch descriptors across reloads),
 * read until EAGAIN on every wake-up; any event arms the settle timer,
 * whose expiry calls the owner.  The periodic timer is independent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>

#include <event2/event.h>

#include "log.h"
#include "pushprox_limits.h"
#include "targets.h"
#include "targetwatch.h"

#define TARGETWATCH_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
	IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | \
	IN_ONLYDIR)

struct targetwatch {
	struct event_base	*base;
	int			 fd;		/* inotify, or -1 */
	struct event		*ev_read;
	struct event		*ev_settle;
	struct event		*ev_rescan;
	targetwatch_cb		 cb;
	void			*arg;
};

static void
targetwatch_settle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct targetwatch *tw = arg;

	tw->cb(tw->arg);
}

static void
targetwatch_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct targetwatch *tw = arg;
	struct timeval tv = { 0, LIMIT_TARGETS_SETTLE_MS * 1000 };
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(tw->fd, buf, sizeof(buf))) > 0)
		;	/* which entry changed does not matter: rescan all */
	if (n == -1 && errno != EAGAIN && errno != EINTR)
		log_warn("cannot read directory events; relying on the "
		    "periodic rescan", "error", strerror(errno));
	evtimer_add(tw->ev_settle, &tv);
}

static void
targetwatch_close_fd(struct targetwatch *tw)
{
	if (tw->ev_read != NULL) {
		event_free(tw->ev_read);
		tw->ev_read = NULL;
	}
	if (tw->fd != -1) {
		close(tw->fd);
		tw->fd = -1;
	}
}

struct targetwatch *
targetwatch_new(struct event_base *base, int64_t rescan_ms,
    targetwatch_cb cb, void *arg)
{
	struct targetwatch *tw;
	struct timeval tv;

	if ((tw = calloc(1, sizeof(*tw))) == NULL)
		return NULL;
	tw->base = base;
	tw->fd = -1;
	tw->cb = cb;
	tw->arg = arg;
	if ((tw->ev_settle = evtimer_new(base, targetwatch_settle_cb, tw)) ==
	    NULL)
		goto fail;
	if (rescan_ms > 0) {
		tv.tv_sec = rescan_ms / 1000;
		tv.tv_usec = (rescan_ms % 1000) * 1000;
		if ((tw->ev_rescan = event_new(base, -1, EV_PERSIST,
		    targetwatch_settle_cb, tw)) == NULL ||
		    event_add(tw->ev_rescan, &tv) == -1)
			goto fail;
	}
	return tw;
fail:
	targetwatch_free(tw);
	return NULL;
}

int
targetwatch_set(struct targetwatch *tw, const struct targets *set)
{
	const char *dir;
	size_t i, n = 0;
	int watched = 0;

	targetwatch_close_fd(tw);
	if (set == NULL || (targets_dir(set, 0, &n), n == 0))
		return 0;
	if ((tw->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		log_warn("inotify unavailable; directories are rescanned "
		    "periodically only", "error", strerror(errno));
		return 0;
	}
	for (i = 0; i < n; i++) {
		dir = targets_dir(set, i, &n);
		if (inotify_add_watch(tw->fd, dir, TARGETWATCH_MASK) == -1)
			log_warn("cannot watch directory; it is rescanned "
			    "periodically only", "dir", dir, "error",
			    strerror(errno));
		else
			watched++;
	}
	if ((tw->ev_read = event_new(tw->base, tw->fd, EV_READ | EV_PERSIST,
	    targetwatch_read_cb, tw)) == NULL ||
	    event_add(tw->ev_read, NULL) == -1) {
		log_warn("cannot watch directories; they are rescanned "
		    "periodically only", "error", "libevent");
		targetwatch_close_fd(tw);
		return 0;
	}
	return watched;
}

void
targetwatch_free(struct targetwatch *tw)
{
	if (tw == NULL)
		return;
	targetwatch_close_fd(tw);
	if (tw->ev_settle != NULL)
		event_free(tw->ev_settle);
	if (tw->ev_rescan != NULL)
		event_free(tw->ev_rescan);
	free(tw);
}
