/*
 * The bench's own small HTTP/1.1 server on 127.0.0.1 (an ephemeral port):
 * the direct baseline of relay mode, and the simulated proxy and target of
 * client mode.  Keep-alive, one request at a time per connection, bodies
 * by Content-Length only, streamed to the handler; replies are queued by
 * reference (no copy) or streamed through a fill callback as the socket
 * drains.  A handler may hold a request (a long-poll) and reply later.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "bench.h"

#define HTTPD_STREAM_LOW	(256 * 1024)
#define HTTPD_STREAM_HIGH	(1024 * 1024)

enum hc_state {
	HC_HEAD,	/* waiting for a request head */
	HC_BODY,	/* passing its body to the handler */
	HC_WAIT,	/* the handler owes a reply */
	HC_STREAM,	/* a streamed reply is being filled */
};

struct httpd_conn {
	TAILQ_ENTRY(httpd_conn)	 entry;
	struct httpd		*d;
	struct bufferevent	*bev;
	enum hc_state		 state;
	int64_t			 left;
	void			*data;
	httpd_fill_cb		 fill;
	void			*fill_arg;
	bool			 in_process;
};

struct httpd {
	struct event_base	*base;
	struct evconnlistener	*l;
	struct httpd_handlers	 h;
	void			*arg;
	int			 port;
	TAILQ_HEAD(, httpd_conn) conns;
};

static void	hc_process(struct httpd_conn *);

static void
hc_free(struct httpd_conn *c)
{
	if (c->state == HC_WAIT || c->state == HC_BODY)
		if (c->d->h.gone != NULL)
			c->d->h.gone(c, c->d->arg);
	TAILQ_REMOVE(&c->d->conns, c, entry);
	bufferevent_free(c->bev);
	free(c);
}

/* The reply is queued: take the next request. */
static void
hc_end(struct httpd_conn *c)
{
	c->state = HC_HEAD;
	c->fill = NULL;
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (!c->in_process &&
	    evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		hc_process(c);
}

static void
hc_sink(void *arg, const char *p, size_t n)
{
	struct httpd_conn *c = arg;

	if (c->d->h.body != NULL)
		c->d->h.body(c, p, n, c->d->arg);
}

static void
hc_process(struct httpd_conn *c)
{
	struct httpd *d = c->d;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec v;
	struct wire_head h;
	size_t n;
	int r;

	c->in_process = true;
	for (;;) {
		if (c->state == HC_HEAD) {
			if ((r = wire_take_head(in, true, &h)) == 0)
				break;
			if (r == -1 || h.chunked) {
				evbuffer_add_printf(bufferevent_get_output(
				    c->bev), "HTTP/1.1 400 Bad Request\r\n"
				    "Content-Length: 0\r\nConnection: close"
				    "\r\n\r\n");
				bufferevent_disable(c->bev, EV_READ);
				c->state = HC_STREAM;	/* answered; closing */
				break;
			}
			c->left = h.clen > 0 ? h.clen : 0;
			c->state = HC_BODY;
			if (d->h.request != NULL)
				d->h.request(c, &h, d->arg);
		}
		if (c->state != HC_BODY)
			break;
		while (c->left > 0 && evbuffer_peek(in, c->left, NULL, &v,
		    1) >= 1) {
			n = v.iov_len < (uint64_t)c->left ? v.iov_len :
			    (size_t)c->left;
			if (d->h.body != NULL)
				d->h.body(c, v.iov_base, n, d->arg);
			evbuffer_drain(in, n);
			c->left -= (int64_t)n;
		}
		if (c->left > 0 && evbuffer_get_length(in) == 0)
			(void)wire_read_direct(c->bev, &c->left, hc_sink, c);
		if (c->left > 0)
			break;
		c->state = HC_WAIT;
		if (d->h.done != NULL)
			d->h.done(c, d->arg);
	}
	c->in_process = false;
}

static void
hc_read_cb(struct bufferevent *bev, void *arg)
{
	hc_process(arg);
}

static void
hc_write_cb(struct bufferevent *bev, void *arg)
{
	struct httpd_conn *c = arg;
	struct evbuffer *out = bufferevent_get_output(bev);

	if (c->state != HC_STREAM)
		return;
	if (c->fill == NULL) {
		if (evbuffer_get_length(out) == 0)
			hc_free(c);	/* the 400 went out */
		return;
	}
	if (c->fill(c, out, c->fill_arg))
		hc_end(c);
}

static void
hc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	hc_free(arg);
}

static void
httpd_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct httpd *d = arg;
	struct httpd_conn *c;
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->bev = bufferevent_socket_new(d->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(c);
		evutil_closesocket(fd);
		return;
	}
	c->d = d;
	c->state = HC_HEAD;
	TAILQ_INSERT_TAIL(&d->conns, c, entry);
	bufferevent_set_max_single_read(c->bev, 1 << 20);
	bufferevent_set_max_single_write(c->bev, 1 << 20);
	bufferevent_setcb(c->bev, hc_read_cb, hc_write_cb, hc_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

struct httpd *
httpd_new(struct event_base *base, const struct httpd_handlers *h,
    void *arg)
{
	struct httpd *d;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->base = base;
	d->h = *h;
	TAILQ_INIT(&d->conns);
	d->arg = arg;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d->l = evconnlistener_new_bind(base, httpd_accept_cb, d,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    1024, (struct sockaddr *)&sa, sizeof(sa));
	if (d->l == NULL || getsockname(evconnlistener_get_fd(d->l),
	    (struct sockaddr *)&sa, &sl) == -1) {
		if (d->l != NULL)
			evconnlistener_free(d->l);
		free(d);
		return NULL;
	}
	d->port = ntohs(sa.sin_port);
	return d;
}

int
httpd_port(const struct httpd *d)
{
	return d->port;
}

void
httpd_free(struct httpd *d)
{
	if (d == NULL)
		return;
	while (!TAILQ_EMPTY(&d->conns))
		hc_free(TAILQ_FIRST(&d->conns));
	evconnlistener_free(d->l);
	free(d);
}

void
httpd_set_data(struct httpd_conn *c, void *data)
{
	c->data = data;
}

void *
httpd_data(const struct httpd_conn *c)
{
	return c->data;
}

static void
httpd_head(struct httpd_conn *c, int status, const char *extra,
    uint64_t clen)
{
	evbuffer_add_printf(bufferevent_get_output(c->bev),
	    "HTTP/1.1 %d %s\r\n%sContent-Length: %llu\r\n\r\n", status,
	    status == 200 ? "OK" : status == 204 ? "No Content" :
	    status == 404 ? "Not Found" : "Error", extra != NULL ? extra : "",
	    (unsigned long long)clen);
}

void
httpd_reply(struct httpd_conn *c, int status, const char *extra,
    const void *body, size_t len)
{
	httpd_head(c, status, extra, len);
	if (len > 0)
		evbuffer_add(bufferevent_get_output(c->bev), body, len);
	hc_end(c);
}

void
httpd_reply_ref(struct httpd_conn *c, int status, const char *extra,
    const void *body, size_t len)
{
	httpd_head(c, status, extra, len);
	if (len > 0)
		evbuffer_add_reference(bufferevent_get_output(c->bev), body,
		    len, NULL, NULL);
	hc_end(c);
}

void
httpd_stream(struct httpd_conn *c, int status, const char *extra,
    uint64_t clen, httpd_fill_cb fill, void *arg)
{
	httpd_head(c, status, extra, clen);
	c->state = HC_STREAM;
	c->fill = fill;
	c->fill_arg = arg;
	bufferevent_setwatermark(c->bev, EV_WRITE, HTTPD_STREAM_LOW, 0);
	if (fill(c, bufferevent_get_output(c->bev), arg))
		hc_end(c);
}
