/*
 * Simulated PushProx clients, as many as one process's descriptors allow.
 * Each holds one keep-alive connection to the proxy and long-polls on it:
 * POST /poll with its FQDN (bench-K.local), again at once after a 204, and
 * after a 200 (a scrape request) it polls again at once and pushes the
 * answer: POST /push carrying a serialized response with the request's Id,
 * an X-Bench-Client header naming itself (so a scraper can tell a mixed-up
 * answer) and the payload.  Pushes go out on a pool of keep-alive
 * connections, as curl's connection cache does for the real client.  A
 * body larger than the payload is streamed by repeating it, added only as
 * the socket drains (back-pressure).  Connections are opened a batch at a
 * time; a lost one is counted and reopened a second later.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bench.h"

#define SIM_PUSH_LOW	(256 * 1024)	/* refill a streamed push below */
#define SIM_PUSH_HIGH	(1024 * 1024)	/* ... up to this */

enum sim_state {
	SIM_NEW,
	SIM_CONNECTING,
	SIM_POLLING,
	SIM_RETRY,
};

struct simclient {
	struct simgen		*g;
	struct bufferevent	*bev;
	SLIST_ENTRY(simclient)	 retry;
	uint32_t		 idx;
	uint8_t			 state;
	uint8_t			 counted;	/* connected once */
};

struct pushconn {
	TAILQ_ENTRY(pushconn)	 entry;
	struct simgen		*g;
	struct bufferevent	*bev;
	bool			 busy;
	uint64_t		 off;		/* streamed body position */
	uint64_t		 left;		/* streamed bytes still to add */
};

struct simgen {
	struct event_base	*base;
	struct simgen_config	 cfg;
	struct simclient	*clients;
	uint32_t		 next;		/* next client to connect */
	uint32_t		 connecting;
	uint32_t		 connected;
	bool			 ready;
	void			(*ready_cb)(void *);
	void			*ready_arg;
	TAILQ_HEAD(, pushconn)	 idle_push;
	TAILQ_HEAD(, pushconn)	 busy_push;
	SLIST_HEAD(, simclient)	 retry;
	struct event		*retry_ev;
	struct simgen_stats	 st;
	char			 host[64];
	unsigned		 logged;
};

static void	sim_connect(struct simclient *);
static void	sim_pump(struct simgen *);

static void
sim_warn(struct simgen *g, const char *what, int status)
{
	if (g->logged++ < 5)
		bench_log("generator: %s (status %d)", what, status);
}

/* Queues one poll on c's connection. */
static void
sim_poll(struct simclient *c)
{
	char fqdn[40];
	int n;

	n = snprintf(fqdn, sizeof(fqdn), "bench-%u.local", c->idx);
	evbuffer_add_printf(bufferevent_get_output(c->bev),
	    "POST /poll HTTP/1.1\r\nHost: %s\r\nUser-Agent: pushprox-bench\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
	    c->g->host, n, fqdn);
	c->g->st.polls++;
}

/* Drops c's connection; it is reopened by the retry timer. */
static void
sim_lost(struct simclient *c)
{
	struct simgen *g = c->g;

	if (c->state == SIM_CONNECTING)
		g->connecting--;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	c->state = SIM_RETRY;
	g->st.disconnects++;
	SLIST_INSERT_HEAD(&g->retry, c, retry);
	sim_pump(g);
}

/* --- pushes --- */

static void
push_free(struct pushconn *p)
{
	struct simgen *g = p->g;

	if (p->busy)
		TAILQ_REMOVE(&g->busy_push, p, entry);
	else
		TAILQ_REMOVE(&g->idle_push, p, entry);
	bufferevent_free(p->bev);
	free(p);
}

static void
push_fill(struct pushconn *p)
{
	struct evbuffer *out = bufferevent_get_output(p->bev);
	size_t n;

	while (p->left > 0 && evbuffer_get_length(out) < SIM_PUSH_HIGH) {
		n = payload_stream_add(p->g->cfg.payload, out, &p->off,
		    p->left);
		if (n == 0)
			break;
		p->left -= n;
	}
}

static void
push_write_cb(struct bufferevent *bev, void *arg)
{
	push_fill(arg);
}

static void
push_read_cb(struct bufferevent *bev, void *arg)
{
	struct pushconn *p = arg;
	struct simgen *g = p->g;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct wire_head h;
	size_t hl;
	int r;

	for (;;) {
		if ((r = wire_find_head(in, &hl)) == 0)
			return;
		if (r == -1 || wire_parse_head((const char *)evbuffer_pullup(in,
		    (ssize_t)hl), hl, false, &h) == -1 || h.clen < 0) {
			g->st.push_errors++;
			sim_warn(g, "malformed push answer", 0);
			push_free(p);
			return;
		}
		if (evbuffer_get_length(in) < hl + (size_t)h.clen)
			return;
		evbuffer_drain(in, hl + (size_t)h.clen);
		if (!p->busy) {
			g->st.push_errors++;
			push_free(p);
			return;
		}
		if (h.status == 200)
			g->st.pushes_ok++;
		else {
			g->st.push_errors++;
			sim_warn(g, "push refused", h.status);
		}
		p->busy = false;
		TAILQ_REMOVE(&g->busy_push, p, entry);
		TAILQ_INSERT_HEAD(&g->idle_push, p, entry);
		if (h.close) {
			push_free(p);
			return;
		}
	}
}

static void
push_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct pushconn *p = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (p->busy) {
		p->g->st.push_errors++;
		sim_warn(p->g, "push connection lost", 0);
	}
	push_free(p);
}

static struct pushconn *
push_get(struct simgen *g)
{
	struct pushconn *p;

	if ((p = TAILQ_FIRST(&g->idle_push)) != NULL) {
		TAILQ_REMOVE(&g->idle_push, p, entry);
		return p;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->g = g;
	p->bev = net_connect(g->base, &g->cfg.proxy,
	    g->cfg.bind_src ? &g->cfg.src : NULL);
	if (p->bev == NULL) {
		free(p);
		return NULL;
	}
	bufferevent_set_max_single_write(p->bev, 1 << 20);
	bufferevent_setcb(p->bev, push_read_cb, push_write_cb, push_event_cb,
	    p);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	return p;
}

/* Pushes client idx's answer to scrape id. */
static void
sim_push(struct simgen *g, uint32_t idx, const char *id)
{
	const struct payload *pl = g->cfg.payload;
	struct pushconn *p;
	struct evbuffer *out;
	char inner[512];
	uint64_t total = g->cfg.push_total > pl->len ? g->cfg.push_total :
	    pl->len;
	int n;

	if ((p = push_get(g)) == NULL) {
		g->st.push_errors++;
		sim_warn(g, "cannot open a push connection", 0);
		return;
	}
	p->busy = true;
	TAILQ_INSERT_TAIL(&g->busy_push, p, entry);
	n = snprintf(inner, sizeof(inner), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	    "%sContent-Length: %llu\r\nId: %s\r\nX-Bench-Client: %u\r\n"
	    "X-Prometheus-Scrape-Timeout: 9.998\r\n\r\n",
	    pl->gzip ? "Content-Encoding: gzip\r\n" : "",
	    (unsigned long long)total, id, idx);
	if (n < 0 || (size_t)n >= sizeof(inner))
		n = 0;
	out = bufferevent_get_output(p->bev);
	evbuffer_add_printf(out, "POST /push HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: pushprox-bench\r\nContent-Length: %llu\r\n\r\n",
	    g->host, (unsigned long long)((uint64_t)n + total));
	evbuffer_add(out, inner, (size_t)n);
	if (total == pl->len) {
		evbuffer_add_reference(out, pl->data, pl->len, NULL, NULL);
		bufferevent_setwatermark(p->bev, EV_WRITE, 0, 0);
	} else {
		p->off = 0;
		p->left = total;
		bufferevent_setwatermark(p->bev, EV_WRITE, SIM_PUSH_LOW, 0);
		push_fill(p);
	}
}

/* --- polls --- */

static void
sim_read_cb(struct bufferevent *bev, void *arg)
{
	struct simclient *c = arg;
	struct simgen *g = c->g;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct wire_head h, req;
	unsigned char *p;
	size_t hl, total;
	int r;

	for (;;) {
		if ((r = wire_find_head(in, &hl)) == 0)
			return;
		p = r == 1 ? evbuffer_pullup(in, (ssize_t)hl) : NULL;
		if (p == NULL || wire_parse_head((const char *)p, hl, false,
		    &h) == -1 || h.clen < 0) {
			g->st.poll_errors++;
			sim_warn(g, "malformed poll answer", 0);
			sim_lost(c);
			return;
		}
		total = hl + (size_t)h.clen;
		if (evbuffer_get_length(in) < total)
			return;
		if (h.status == 204) {
			evbuffer_drain(in, total);
			g->st.empty_polls++;
			sim_poll(c);
		} else if (h.status == 200) {
			p = evbuffer_pullup(in, (ssize_t)total);
			if (wire_parse_head((const char *)p + hl, (size_t)h.clen,
			    true, &req) == -1 || req.id[0] == '\0') {
				g->st.poll_errors++;
				sim_warn(g, "poll answer is no scrape request",
				    200);
				sim_lost(c);
				return;
			}
			evbuffer_drain(in, total);
			g->st.scrapes++;
			sim_poll(c);		/* at once, as the client does */
			sim_push(g, c->idx, req.id);
		} else {
			evbuffer_drain(in, total);
			g->st.poll_errors++;
			sim_warn(g, "poll refused", h.status);
			sim_lost(c);
			return;
		}
		if (h.close) {
			sim_lost(c);
			return;
		}
	}
}

static void
sim_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct simclient *c = arg;
	struct simgen *g = c->g;

	if (what & BEV_EVENT_CONNECTED) {
		c->state = SIM_POLLING;
		g->connecting--;
		if (!c->counted) {
			c->counted = 1;
			g->connected++;
		}
		if (!g->ready && g->connected == g->cfg.n) {
			g->ready = true;
			if (g->ready_cb != NULL)
				g->ready_cb(g->ready_arg);
		}
		sim_pump(g);
		return;
	}
	sim_lost(c);
}

static void
sim_connect(struct simclient *c)
{
	struct simgen *g = c->g;

	c->bev = net_connect(g->base, &g->cfg.proxy,
	    g->cfg.bind_src ? &g->cfg.src : NULL);
	if (c->bev == NULL) {
		c->state = SIM_RETRY;
		g->st.disconnects++;
		SLIST_INSERT_HEAD(&g->retry, c, retry);
		return;
	}
	c->state = SIM_CONNECTING;
	g->connecting++;
	bufferevent_setcb(c->bev, sim_read_cb, NULL, sim_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	sim_poll(c);
}

/* Opens connections while fewer than a batch are in progress. */
static void
sim_pump(struct simgen *g)
{
	while (g->connecting < g->cfg.connect_batch && g->next < g->cfg.n)
		sim_connect(&g->clients[g->next++]);
}

static void
sim_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct simgen *g = arg;
	struct simclient *c;

	while ((c = SLIST_FIRST(&g->retry)) != NULL &&
	    g->connecting < g->cfg.connect_batch) {
		SLIST_REMOVE_HEAD(&g->retry, retry);
		sim_connect(c);
	}
}

struct simgen *
simgen_new(struct event_base *base, const struct simgen_config *cfg,
    void (*ready_cb)(void *), void *arg)
{
	struct simgen *g;
	struct timeval tv = { 1, 0 };
	uint32_t i;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->base = base;
	g->cfg = *cfg;
	if (g->cfg.connect_batch == 0)
		g->cfg.connect_batch = 256;
	g->ready_cb = ready_cb;
	g->ready_arg = arg;
	TAILQ_INIT(&g->idle_push);
	TAILQ_INIT(&g->busy_push);
	SLIST_INIT(&g->retry);
	net_format(&cfg->proxy, g->host, sizeof(g->host));
	if ((g->clients = calloc(cfg->n > 0 ? cfg->n : 1,
	    sizeof(*g->clients))) == NULL ||
	    (g->retry_ev = event_new(base, -1, EV_PERSIST, sim_retry_cb, g)) ==
	    NULL) {
		free(g->clients);
		free(g);
		return NULL;
	}
	event_add(g->retry_ev, &tv);
	for (i = 0; i < cfg->n; i++) {
		g->clients[i].g = g;
		g->clients[i].idx = cfg->first + i;
	}
	return g;
}

void
simgen_start(struct simgen *g)
{
	if (g->cfg.n == 0 && g->ready_cb != NULL) {
		g->ready = true;
		g->ready_cb(g->ready_arg);
	}
	sim_pump(g);
}

void
simgen_stats(const struct simgen *g, struct simgen_stats *st)
{
	*st = g->st;
}

void
simgen_free(struct simgen *g)
{
	struct pushconn *p;
	uint32_t i;

	if (g == NULL)
		return;
	while ((p = TAILQ_FIRST(&g->idle_push)) != NULL)
		push_free(p);
	while ((p = TAILQ_FIRST(&g->busy_push)) != NULL)
		push_free(p);
	for (i = 0; i < g->cfg.n; i++)
		if (g->clients[i].bev != NULL)
			bufferevent_free(g->clients[i].bev);
	event_free(g->retry_ev);
	free(g->clients);
	free(g);
}
