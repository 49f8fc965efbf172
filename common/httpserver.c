/*
 * HTTP/1.1 server (see httpserver.h for the guarantees): listeners, the
 * accept path, and the connection cap.  A connection's lifecycle is
 * httpconn.c, its socket I/O httpconnio.c, its deadlines httpdeadline.c,
 * what handlers call (bodies, replies) httpreq.c.
 *
 * At the connection cap, the connection idle longest between requests
 * (on srv->idle: IDLE, one request served, nothing queued either way) is
 * closed for the newcomer; parked and relaying requests never are.  With
 * none idle, the newcomer gets a 503 and is closed.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>

#include <openssl/ssl.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "httpserver_int.h"
#include "listener.h"
#include "log.h"
#include "pushprox_limits.h"

/*
 * Keeps c on the server's idle list exactly while it may be closed to
 * admit a newcomer: between requests, after at least one, with no input
 * waiting and no reply bytes left to send.  A connection joins at the tail
 * when it becomes idle, so the head is the one idle longest.
 */
void
httpserver_conn_idle_update(struct httpconn *c)
{
	int evictable;

	evictable = c->state == CONN_IDLE && c->req == NULL &&
	    c->nrequests > 0 && !c->out_paused &&
	    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
	    httpserver_conn_queued(c) == 0;
	if (evictable && !c->idle_listed) {
		TAILQ_INSERT_TAIL(&c->srv->idle, c, idle_entry);
		c->idle_listed = 1;
	} else if (!evictable && c->idle_listed) {
		TAILQ_REMOVE(&c->srv->idle, c, idle_entry);
		c->idle_listed = 0;
	}
}

static void
httpserver_accept_cb(evutil_socket_t fd, const char *peer, void *arg)
{
#define FULL_BODY "too many connections (limit set by --web.max-connections)\n"
	static const char full[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 58\r\nConnection: close\r\n\r\n" FULL_BODY;
	_Static_assert(sizeof(FULL_BODY) - 1 == 58, "the 503's length");
	struct httpserver *s = arg;
	struct httpconn *c;

	if ((c = httpserver_conn_new(s, fd, peer)) == NULL)
		return;
	TAILQ_INSERT_TAIL(&s->conns, c, entry);
	s->nconns++;
	if (s->nconns > s->cfg.max_connections && !TAILQ_EMPTY(&s->idle)) {
		struct httpconn *old = TAILQ_FIRST(&s->idle);

		log_debug("idle connection closed to admit a new one", "peer",
		    old->peer, "new_peer", c->peer,
		    "flag", "--web.max-connections");
		httpserver_conn_close(old, "idle at the connection limit");
	}
	if (s->nconns > s->cfg.max_connections) {
		log_warn("connection refused: limit reached", "peer", c->peer,
		    "flag", "--web.max-connections");
		c->state = CONN_CLOSING;
		httpserver_conn_io_refuse(c, full, sizeof(full) - 1);
		return;
	}
	httpserver_conn_head_arm(c);	/* accept to first head, TLS included */
	httpserver_conn_io_start(c);
}

struct httpserver *
httpserver_new(struct event_base *base, const struct httpserver_config *cfg,
    httpserver_request_cb cb, void *arg)
{
	struct httpserver *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->base = base;
	s->cfg = *cfg;
	s->cb = cb;
	s->arg = arg;
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->idle);
	TAILQ_INIT(&s->scheduled);
	if ((s->process_ev = event_new(base, -1, 0, httpserver_process_cb,
	    s)) == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

void
httpserver_stop_listening(struct httpserver *s)
{
	size_t i;

	for (i = 0; i < s->nlisteners; i++)
		listener_free(s->listeners[i]);
	s->nlisteners = 0;
}

void
httpserver_free(struct httpserver *s)
{
	if (s == NULL)
		return;
	httpserver_stop_listening(s);
	while (!TAILQ_EMPTY(&s->conns))
		httpserver_conn_close(TAILQ_FIRST(&s->conns),
		    "server shutting down");
	event_free(s->process_ev);
	SSL_CTX_free(s->tls);
	free(s);
}

int
httpserver_listen(struct httpserver *s, const char *addr)
{
	struct listener *l;
	char limit[16];

	if (s->nlisteners == LIMIT_LISTENERS) {
		snprintf(limit, sizeof(limit), "%d", LIMIT_LISTENERS);
		log_error("too many listen addresses", "address", addr,
		    "limit", limit);
		return -1;
	}
	if ((l = listener_new(s->base, addr, httpserver_accept_cb, s)) == NULL)
		return -1;
	s->listeners[s->nlisteners++] = l;
	return 0;
}

int
httpserver_port(const struct httpserver *s)
{
	return s->nlisteners > 0 ? listener_port(s->listeners[0]) : -1;
}

void
httpserver_set_tls(struct httpserver *s, SSL_CTX *ctx)
{
	if (ctx != NULL)
		SSL_CTX_up_ref(ctx);
	SSL_CTX_free(s->tls);
	s->tls = ctx;
}

void
httpserver_set_reply_cb(struct httpserver *s, httpserver_reply_cb cb)
{
	s->reply_cb = cb;
}

size_t
httpserver_connections(const struct httpserver *s)
{
	return s->nconns;
}
