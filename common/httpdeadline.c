/*
 * A connection's deadlines (see httpserver.h for what they bound):
 *
 * - Read and idle: an inactivity timer on reading, by state: IDLE waits
 *   read_timeout_ms for a new connection's first request and
 *   idle_timeout_ms between requests, READING read_timeout_ms for the
 *   next bytes of a head or body; a parked request (HANDLING) has none
 *   (its handler's).  On plain sockets it is the timeout of our own read
 *   event (EV_PERSIST: re-armed by every read inside libevent), changed
 *   only when its value changes, so serving a request does not churn the
 *   timer heap; on TLS the bufferevent's.
 * - Write: the bufferevent's write timeout, set once (plain) or with the
 *   read one (TLS).
 * - Head: a total deadline for each request head (read_header_timeout_ms),
 *   armed at accept for a connection's first head (so a TLS handshake
 *   counts) and at the first byte of each later one, never re-armed by
 *   more bytes: trickling a byte at a time does not hold a slot.  A head
 *   begun is answered 408; a connection that sent nothing (or never
 *   finished its TLS handshake) is just closed, as Go's server does.
 */
#include <stdio.h>

#include <openssl/ssl.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "duration.h"
#include "httpserver_int.h"
#include "log.h"

/* The read deadline of c's state in ms, or -1 for none. */
static int64_t
deadline_read_ms(const struct httpconn *c)
{
	const struct httpserver_config *cfg = &c->srv->cfg;

	switch (c->state) {
	case CONN_IDLE:
		/* A new connection must start its first request promptly. */
		return c->nrequests == 0 ? cfg->read_timeout_ms :
		    cfg->idle_timeout_ms;
	case CONN_READING:
		return cfg->read_timeout_ms;
	default:
		/* A parked request's deadline belongs to its handler. */
		return -1;
	}
}

void
httpserver_conn_set_timeouts(struct httpconn *c)
{
	struct timeval rtv, wtv;
	int64_t ms = deadline_read_ms(c);

	if (c->plain) {
		/* The write timeout is the bufferevent's, set at accept. */
		if (!c->reading || ms == c->read_armed_ms)
			return;
		c->read_armed_ms = ms;
		if (ms < 0) {
			/* event_add(NULL) would keep an armed timeout. */
			if (event_pending(c->read_ev, EV_READ, NULL))
				event_remove_timer(c->read_ev);
			else
				event_add(c->read_ev, NULL);
			return;
		}
		duration_to_timeval(ms, &rtv);
		event_add(c->read_ev, &rtv);
		return;
	}
	duration_to_timeval(c->srv->cfg.write_timeout_ms, &wtv);
	if (ms < 0) {
		bufferevent_set_timeouts(c->bev, NULL, &wtv);
		return;
	}
	duration_to_timeval(ms, &rtv);
	bufferevent_set_timeouts(c->bev, &rtv, &wtv);
}

void
httpserver_conn_read_timeout(struct httpconn *c)
{
	httpserver_conn_close(c, c->state == CONN_IDLE ? "idle timeout" :
	    "read timed out");
}

void
httpserver_conn_head_arm(struct httpconn *c)
{
	struct timeval tv;

	if (c->srv->cfg.read_header_timeout_ms <= 0 ||
	    evtimer_pending(c->head_ev, NULL))
		return;
	duration_to_timeval(c->srv->cfg.read_header_timeout_ms, &tv);
	evtimer_add(c->head_ev, &tv);
}

void
httpserver_conn_head_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpconn *c = arg;
	SSL *ssl;
	char lim[32];

	if (c->req != NULL || c->in_feed)
		return;		/* the head is in (a stale expiry) */
	snprintf(lim, sizeof(lim), "%lldms",
	    (long long)c->srv->cfg.read_header_timeout_ms);
	if (c->state == CONN_READING) {
		log_debug("request head not complete in time", "peer", c->peer,
		    "limit", lim, "flag", "--web.read-header-timeout");
		httpserver_conn_reply_error(c, 408, "request head not "
		    "complete within the header deadline "
		    "(--web.read-header-timeout)");
		return;
	}
	if (c->state != CONN_IDLE)
		return;
	ssl = c->plain ? NULL : bufferevent_openssl_get_ssl(c->bev);
	log_debug("connection closed: no request head in time", "peer",
	    c->peer, "limit", lim);
	httpserver_conn_close(c, ssl != NULL && !SSL_is_init_finished(ssl) ?
	    "TLS handshake not finished within the header deadline" :
	    "no request within the header deadline");
}
