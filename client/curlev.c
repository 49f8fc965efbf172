/*
 * The hiperfifo wiring.  curl asks for sockets to be watched through the
 * socket callback (one persistent libevent event per socket, found again
 * with curl_multi_assign) and for a wake-up through the timer callback
 * (one evtimer; -1 disarms it).  Both only (re)arm events: libcurl itself
 * is only entered from our event callbacks, via curl_multi_socket_action,
 * after which finished transfers are drained from curl_multi_info_read,
 * removed from the multi, and reported to their owners.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "curlev.h"
#include "log.h"

struct curlev_xfer {
	LIST_ENTRY(curlev_xfer)	 entry;
	CURL			*easy;
	curlev_done_cb		 done;
	void			*arg;
};

struct curlev_sock {
	LIST_ENTRY(curlev_sock)	 entry;
	struct curlev		*cev;
	curl_socket_t		 fd;
	struct event		*ev;
};

struct curlev {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	LIST_HEAD(, curlev_xfer) xfers;
	LIST_HEAD(, curlev_sock) socks;
	size_t			 nxfers;
};

static void curlev_check_done(struct curlev *);

/* Logs a multi error; never fatal, a transfer failure is not ours to end. */
static void
curlev_log_mcode(const char *what, CURLMcode code)
{
	if (code != CURLM_OK && code != CURLM_BAD_SOCKET)
		log_warn("curl multi call failed", "call", what,
		    "err", curl_multi_strerror(code));
}

static void
curlev_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curlev_sock	*sk = arg;
	struct curlev		*cev = sk->cev;
	int			 action = 0, running;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	/* sk may be freed by the socket callback inside socket_action. */
	curlev_log_mcode("socket_action",
	    curl_multi_socket_action(cev->multi, fd, action, &running));
	curlev_check_done(cev);
}

static void
curlev_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curlev	*cev = arg;
	int		 running;

	curlev_log_mcode("socket_action(timeout)",
	    curl_multi_socket_action(cev->multi, CURL_SOCKET_TIMEOUT, 0,
	    &running));
	curlev_check_done(cev);
}

static void
curlev_sock_free(struct curlev_sock *sk)
{
	if (sk == NULL)
		return;
	LIST_REMOVE(sk, entry);
	if (sk->ev != NULL)
		event_free(sk->ev);
	free(sk);
}

/* CURLMOPT_SOCKETFUNCTION: only (re)arms or drops one event. */
static int
curlev_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct curlev		*cev = userp;
	struct curlev_sock	*sk = socketp;
	short			 kind = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		curlev_sock_free(sk);
		curl_multi_assign(cev->multi, s, NULL);
		return 0;
	}
	if (sk == NULL) {
		if ((sk = calloc(1, sizeof(*sk))) == NULL) {
			log_warn("cannot watch a transfer's socket", "err",
			    "out of memory for its watcher");
			return -1;
		}
		sk->cev = cev;
		sk->fd = s;
		LIST_INSERT_HEAD(&cev->socks, sk, entry);
		curl_multi_assign(cev->multi, s, sk);
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		kind |= EV_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		kind |= EV_WRITE;
	/* Re-armed in place: this may run inside sk->ev's own callback. */
	if (sk->ev == NULL)
		sk->ev = event_new(cev->base, s, kind, curlev_event_cb, sk);
	else if (event_del(sk->ev) == -1 || event_assign(sk->ev, cev->base, s,
	    kind, curlev_event_cb, sk) == -1) {
		log_warn("cannot watch a transfer's socket", "err",
		    "event_del or event_assign failed");
		return -1;
	}
	if (sk->ev == NULL || event_add(sk->ev, NULL) == -1) {
		log_warn("cannot watch a transfer's socket", "err",
		    sk->ev == NULL ? "event_new failed (out of memory)" :
		    "event_add failed");
		return -1;
	}
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: never calls libcurl (recursion when 0). */
static int
curlev_timerfn_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curlev	*cev = userp;
	struct timeval	 tv;

	if (timeout_ms < 0)
		return evtimer_del(cev->timer) == 0 ? 0 : -1;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(cev->timer, &tv) == 0 ? 0 : -1;
}

/* Reports finished transfers; their owners may add or remove others. */
static void
curlev_check_done(struct curlev *cev)
{
	CURLMsg			*msg;
	int			 left;
	CURL			*easy;
	CURLcode		 result;
	struct curlev_xfer	*x;
	char			*priv;

	while ((msg = curl_multi_info_read(cev->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		result = msg->data.result;
		priv = NULL;
		if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) !=
		    CURLE_OK || priv == NULL) {
			log_warn("finished transfer dropped", "err",
			    "it has no owner (CURLINFO_PRIVATE unset)");
			curl_multi_remove_handle(cev->multi, easy);
			continue;
		}
		x = (struct curlev_xfer *)(void *)priv;
		/* msg is invalid after this. */
		curlev_log_mcode("remove_handle",
		    curl_multi_remove_handle(cev->multi, easy));
		LIST_REMOVE(x, entry);
		cev->nxfers--;
		(void)curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		x->done(easy, result, x->arg);
		free(x);
	}
}

struct curlev *
curlev_new(struct event_base *base)
{
	struct curlev	*cev;

	if ((cev = calloc(1, sizeof(*cev))) == NULL)
		return NULL;
	cev->base = base;
	LIST_INIT(&cev->xfers);
	LIST_INIT(&cev->socks);
	if ((cev->multi = curl_multi_init()) == NULL ||
	    (cev->timer = evtimer_new(base, curlev_timer_cb, cev)) == NULL)
		goto fail;
	if (curl_multi_setopt(cev->multi, CURLMOPT_SOCKETFUNCTION,
	    curlev_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(cev->multi, CURLMOPT_SOCKETDATA, cev) !=
	    CURLM_OK ||
	    curl_multi_setopt(cev->multi, CURLMOPT_TIMERFUNCTION,
	    curlev_timerfn_cb) != CURLM_OK ||
	    curl_multi_setopt(cev->multi, CURLMOPT_TIMERDATA, cev) != CURLM_OK)
		goto fail;
	return cev;
fail:
	curlev_free(cev);
	return NULL;
}

void
curlev_free(struct curlev *cev)
{
	struct curlev_xfer	*x;

	if (cev == NULL)
		return;
	while ((x = LIST_FIRST(&cev->xfers)) != NULL) {
		curlev_remove(cev, x->easy);
	}
	/* Closing cached connections calls the socket callback. */
	if (cev->multi != NULL)
		curl_multi_cleanup(cev->multi);
	while (!LIST_EMPTY(&cev->socks))
		curlev_sock_free(LIST_FIRST(&cev->socks));
	if (cev->timer != NULL)
		event_free(cev->timer);
	free(cev);
}

int
curlev_add(struct curlev *cev, CURL *easy, curlev_done_cb done, void *arg)
{
	struct curlev_xfer	*x;
	CURLMcode		 mc;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		log_warn("cannot start transfer", "err",
		    "out of memory for its record");
		return -1;
	}
	x->easy = easy;
	x->done = done;
	x->arg = arg;
	if (curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)x) != CURLE_OK) {
		log_warn("cannot start transfer", "err",
		    "curl refused CURLOPT_PRIVATE");
		free(x);
		return -1;
	}
	/* The timer callback fires (at 0) and kicks the transfer off. */
	if ((mc = curl_multi_add_handle(cev->multi, easy)) != CURLM_OK) {
		log_warn("cannot start transfer", "call",
		    "curl_multi_add_handle", "err", curl_multi_strerror(mc));
		(void)curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(x);
		return -1;
	}
	LIST_INSERT_HEAD(&cev->xfers, x, entry);
	cev->nxfers++;
	return 0;
}

void
curlev_remove(struct curlev *cev, CURL *easy)
{
	char			*priv = NULL;
	struct curlev_xfer	*x;

	if (easy == NULL ||
	    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK ||
	    priv == NULL)
		return;
	x = (struct curlev_xfer *)(void *)priv;
	curlev_log_mcode("remove_handle",
	    curl_multi_remove_handle(cev->multi, easy));
	(void)curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	LIST_REMOVE(x, entry);
	cev->nxfers--;
	free(x);
}

size_t
curlev_count(const struct curlev *cev)
{
	return cev->nxfers;
}
