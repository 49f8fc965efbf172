/*
 * The real client (client_new + client_start on an event_base, libcurl
 * multi driven by libevent), pointed at a fake proxy and a fake target
 * that the harness plays on two listening sockets on 127.0.0.1.  The
 * input decides what the proxy answers to each poll (a well-formed scrape
 * request with fuzzed parts, raw bytes, another status) and what the
 * target answers to each scrape (a response with fuzzed status, reason,
 * headers, framing and body, or raw bytes), and when connections close
 * or timers fire.  Pushes are read and answered 200 by the harness.
 *
 * Input: ops, one byte each plus operands (missing bytes read as 0):
 * op (bits 0-2) | a (bits 3-7).
 *
 *   LOOP                 more loop turns
 *   SCRAPE m b           answer the oldest poll: 200, a scrape request
 *                        GET/HEAD (m) of http://<host>:<target port>/<path>
 *                        with host and path picked by m, an Id, a timeout
 *                        header (m), extra header lines blob b
 *   POLLRAW b            answer the oldest poll: 200 with body blob b
 *   POLLSTATUS           answer the oldest poll: 204, 408, 500, or close
 *   TARGET s r f h v x y answer the oldest scrape: status #s, reason blob
 *                        r, h headers of blob v, blob x as is, framing f,
 *                        body blob y (as in fuzz_proxy_net)
 *   TARGETRAW b          answer the oldest scrape with blob b, then close
 *                        (a: FIN, RST, keep open)
 *   CLOSE                close a connection (a picks which and how)
 *   TIMER i              fire the i-th pending timer now
 *
 * Invariants: every push the client sends is a POST /push whose body is a
 * response starting "HTTP/1.1 [1-5]xx", with an Id header, at most one
 * Content-Length, never with Transfer-Encoding as well, and a
 * Content-Length that matches the body (a scraper would read anything
 * else as another response); no crash, no leak (LeakSanitizer).
 */
#include <stddef.h>
#include <stdint.h>
#include <signal.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "client/client.h"
#include "client/config.h"	/* not proxy/config.h, also on the path */
#include "log.h"

#include "fuzz_net.h"

#define NHC		16
#define MAX_OPS		64
#define SETTLE_TURNS	12

enum hc_side {
	HC_PROXY,
	HC_TARGET,
};

struct hconn {
	int		 fd;
	enum hc_side	 side;
	struct fz_str	 in;
	struct fz_str	 out;
	/* bytes of the request in "in", 0: none */
	size_t		 reqlen;
	bool		 pending; /* a complete request not yet answered */
	bool		 is_poll;
	bool		 is_push;
	uint64_t	 seq;		/* arrival order of the request */
};

struct cnet {
	struct event_base	*base;
	struct client		*cl;
	int			 lproxy, ltarget;
	int			 pport, tport;
	struct hconn		 hc[NHC];
	uint64_t		 seq;
	unsigned		 ids;
	size_t			 pushes;
};

static int cnet_pport_fd = -1, cnet_tport_fd = -1;

static const int statuses[] = {
	200, 200, 204, 304, 100, 101, 103, 500, 404, 302, 0, 99, 600, 999,
	301, 206,
};

static void
hc_close(struct hconn *h, int how)
{
	if (h->fd == -1)
		return;
	fz_close(h->fd, how);
	h->fd = -1;
	fz_str_free(&h->in);
	fz_str_free(&h->out);
	h->pending = false;
	h->reqlen = 0;
}

/* Length of the complete request at the start of buf, or 0. */
static size_t
cnet_request_len(const struct fz_str *in)
{
	const char *hend, *cl, *te;
	size_t hlen, n, blen;

	if (in->len == 0 ||
	    (hend = fz_memmem(in->d, in->len, "\r\n\r\n")) == NULL)
		return 0;
	hlen = (size_t)(hend - in->d) + 4;
	te = fz_head_header(in->d, hlen - 2, "Transfer-Encoding", &n);
	cl = fz_head_header(in->d, hlen - 2, "Content-Length", &n);
	if (te != NULL) {
		if ((blen = fz_chunked_len(in->d + hlen, in->len - hlen)) == 0)
			return 0;
		return hlen + blen;
	}
	blen = cl != NULL ? strtoul(cl, NULL, 10) : 0;
	return in->len - hlen >= blen ? hlen + blen : 0;
}

/* A push: check the pushed response, answer 200. */
static void
cnet_check_push(struct cnet *n, struct hconn *h)
{
	const char *hend, *body, *p, *cl, *te;
	struct fz_str dechunked = { 0 };
	size_t hlen, blen, ncl, nte, off, sz;
	char *endp;

	n->pushes++;
	hend = fz_memmem(h->in.d, h->reqlen, "\r\n\r\n");
	body = hend + 4;
	blen = h->reqlen - (size_t)(body - h->in.d);
	if (fz_head_header(h->in.d, (size_t)(hend - h->in.d) + 2,
	    "Transfer-Encoding", &nte) != NULL) {
		/* Undo the push's own chunking. */
		for (off = 0; off < blen; ) {
			sz = strtoul(body + off, &endp, 16);
			if (sz == 0)
				break;
			off = (size_t)(strstr(endp, "\r\n") - body) + 2;
			fz_str_add(&dechunked, body + off, sz);
			off += sz + 2;
		}
		body = dechunked.d != NULL ? dechunked.d : "";
		blen = dechunked.len;
	}
	p = body;
	FUZZ_CHECK(blen >= 13);
	if (memcmp(p, "HTTP/1.1 ", 9) != 0 || p[9] < '1' || p[9] > '5' ||
	    p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' ||
	    (p[12] != ' ' && p[12] != '\r')) {
		fprintf(stderr, "pushed response: \"%.60s\"\n", p);
		FUZZ_CHECK(!"pushed response starts with HTTP/1.1 [1-5]xx");
	}
	hend = fz_memmem(p, blen, "\r\n\r\n");
	FUZZ_CHECK(hend != NULL);
	hlen = (size_t)(hend - p) + 4;
	FUZZ_CHECK(fz_memmem(p, hlen, "\r\nId: ") != NULL);
	cl = fz_head_header(p, hlen - 2, "Content-Length", &ncl);
	te = fz_head_header(p, hlen - 2, "Transfer-Encoding", &nte);
	FUZZ_CHECK(ncl <= 1 && nte <= 1 && (ncl == 0 || nte == 0));
	if (cl != NULL && strtoul(cl, NULL, 10) != 0)
		/* A HEAD's answer may state a length and carry nothing. */
		FUZZ_CHECK(strtoul(cl, NULL, 10) == blen - hlen ||
		    blen == hlen);
	if (te != NULL)
		FUZZ_CHECK(fz_chunked_len(p + hlen, blen - hlen) ==
		    blen - hlen);
	fz_str_free(&dechunked);
	fz_str_cat(&h->out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK");
}

static void
cnet_accept(struct cnet *n, int lfd, enum hc_side side)
{
	size_t i;
	int fd, one = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		for (i = 0; i < NHC && n->hc[i].fd != -1; i++)
			;
		if (i == NHC) {
			fz_close(fd, 1);
			continue;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		memset(&n->hc[i], 0, sizeof(n->hc[i]));
		n->hc[i].fd = fd;
		n->hc[i].side = side;
	}
}

/*
 * One turn: the loop once (without waiting, or waiting up to 1 ms for
 * curl's timers), accept, write, read, parse requests.
 */
static bool
cnet_turn(struct cnet *n, bool wait)
{
	struct timeval tv = { 0, 1000 };
	struct hconn *h;
	size_t i, before;
	bool moved = false;

	if (wait) {
		event_base_loopexit(n->base, &tv);
		event_base_loop(n->base, EVLOOP_ONCE);
	} else
		event_base_loop(n->base, EVLOOP_NONBLOCK);
	cnet_accept(n, n->lproxy, HC_PROXY);
	cnet_accept(n, n->ltarget, HC_TARGET);
	for (i = 0; i < NHC; i++) {
		h = &n->hc[i];
		if (h->fd == -1)
			continue;
		if (h->out.len > 0) {
			before = h->out.len;
			(void)fz_flush(h->fd, &h->out);
			moved |= h->out.len != before;
		}
		before = h->in.len;
		if (fz_drain(h->fd, &h->in) && h->in.len == before &&
		    h->out.len == 0 && !h->pending) {
			hc_close(h, 0);
			moved = true;
			continue;
		}
		moved |= h->in.len != before;
		if (h->pending || h->reqlen != 0 ||
		    (h->reqlen = cnet_request_len(&h->in)) == 0)
			continue;
		h->seq = n->seq++;
		h->is_poll = h->side == HC_PROXY &&
		    strncmp(h->in.d, "POST /poll ", 11) == 0;
		h->is_push = h->side == HC_PROXY &&
		    strncmp(h->in.d, "POST /push ", 11) == 0;
		/* A scrape handed the proxy's port lands here: a target. */
		if (h->side == HC_PROXY && !h->is_poll && !h->is_push)
			h->side = HC_TARGET;
		if (h->is_push) {
			cnet_check_push(n, h);
			fz_str_consume(&h->in, h->reqlen);
			h->reqlen = 0;
		} else
			h->pending = true;
		moved = true;
	}
	return moved;
}

/*
 * Turns until quiet waiting turns in a row moved nothing (at most max):
 * a waiting turn only after two quick ones moved nothing.
 */
static void
cnet_settle(struct cnet *n, int max, int quiet)
{
	int t, idle = 0, waits = 0;

	for (t = 0; t < max && waits < quiet; t++) {
		if (cnet_turn(n, idle >= 2)) {
			idle = waits = 0;
			continue;
		}
		if (idle >= 2)
			waits++;
		idle++;
	}
}

/* The oldest request waiting on side (polls when poll), or NULL. */
static struct hconn *
cnet_oldest(struct cnet *n, enum hc_side side)
{
	struct hconn *best = NULL;
	size_t i;

	for (i = 0; i < NHC; i++) {
		struct hconn *h = &n->hc[i];

		if (h->fd != -1 && h->pending && h->side == side &&
		    (best == NULL || h->seq < best->seq))
			best = h;
	}
	return best;
}

/*
 * The oldest request waiting on side, after turns of the loop if none is
 * there yet (the client may still be connecting); NULL if none comes.
 */
static struct hconn *
cnet_wait(struct cnet *n, enum hc_side side)
{
	struct hconn *h;
	int t;

	for (t = 0; (h = cnet_oldest(n, side)) == NULL && t < 40; t++)
		(void)cnet_turn(n, t >= 4);
	return h;
}

/* The request is answered: forget it, keep pipelined bytes. */
static void
cnet_answered(struct hconn *h)
{
	fz_str_consume(&h->in, h->reqlen);
	h->reqlen = 0;
	h->pending = false;
}

static void
cnet_scrape(struct cnet *n, struct fz_in *in)
{
	static const char *const hosts[] = {
		"node.example", "NODE.example", "other.example", "127.0.0.1",
	};
	static const char *const paths[] = {
		"/metrics", "/metrics?_scheme=http", "/", "/a?b=c&_scheme=x",
	};
	struct fz_str req = { 0 }, extra = { 0 };
	uint8_t m = fz_byte(in);
	struct hconn *h;

	if (m & 128)
		fz_blob(in, &extra);
	if ((h = cnet_wait(n, HC_PROXY)) == NULL) {
		fz_str_free(&extra);
		return;
	}
	fz_str_fmt(&req, "%s http://%s:%d%s HTTP/1.1\r\nHost: %s:%d\r\n"
	    "Id: id-%u\r\n", (m & 1) ? "HEAD" : "GET", hosts[(m >> 1) & 3],
	    (m & 64) ? n->pport : n->tport, paths[(m >> 3) & 3],
	    hosts[(m >> 1) & 3], n->tport, n->ids++);
	if (m & 32)
		fz_str_cat(&req,
		    "X-Prometheus-Scrape-Timeout-Seconds: 1.5\r\n");
	FZ_SIZE_HINT(extra.len);
	fz_str_add(&req, extra.d, extra.len);
	fz_str_cat(&req, "\r\n");
	fz_str_fmt(&h->out, "HTTP/1.1 200 OK\r\nContent-Type: message/http\r\n"
	    "Content-Length: %zu\r\n\r\n", req.len);
	fz_str_add(&h->out, req.d, req.len);
	cnet_answered(h);
	fz_str_free(&req);
	fz_str_free(&extra);
}

static void
cnet_target(struct cnet *n, struct fz_in *in)
{
	struct fz_str reason = { 0 }, value = { 0 }, raw = { 0 },
	    body = { 0 };
	struct hconn *h;
	uint8_t s, f, hn;
	size_t i, nh;

	s = fz_byte(in);
	fz_blob(in, &reason);
	f = fz_byte(in);
	hn = fz_byte(in);
	nh = hn % 128;
	if (nh > 0)
		fz_blob(in, &value);
	fz_blob(in, &raw);
	fz_blob(in, &body);
	if ((h = cnet_wait(n, HC_TARGET)) == NULL)
		goto out;
	fz_str_fmt(&h->out, "HTTP/1.1 %03d ", statuses[s % 16]);
	fz_str_add(&h->out, reason.d, reason.len);
	fz_str_cat(&h->out, "\r\n");
	/* At most 256 KiB of them: bigger only slows the run. */
	for (i = 0; i < nh && h->out.len < 256 * 1024; i++) {
		fz_str_fmt(&h->out, "X-H%zu: ", i);
		fz_str_add(&h->out, value.d, value.len);
		fz_str_cat(&h->out, "\r\n");
	}
	fz_str_add(&h->out, raw.d, raw.len);
	FZ_SIZE_HINT(h->out.len);
	switch (f & 3) {
	case 0:
		fz_str_fmt(&h->out, "Content-Length: %zu\r\n\r\n", body.len);
		fz_str_add(&h->out, body.d, body.len);
		break;
	case 1:
		fz_str_cat(&h->out, "Transfer-Encoding: chunked\r\n\r\n");
		if (body.len > 0)
			fz_str_fmt(&h->out, "%zx\r\n", body.len);
		fz_str_add(&h->out, body.d, body.len);
		fz_str_cat(&h->out, body.len > 0 ? "\r\n0\r\n\r\n" :
		    "0\r\n\r\n");
		break;
	case 2:
		fz_str_cat(&h->out, "Connection: close\r\n\r\n");
		fz_str_add(&h->out, body.d, body.len);
		break;
	default:
		fz_str_fmt(&h->out, "Content-Length: %zu\r\n\r\n",
		    body.len + (f >> 4));
		fz_str_add(&h->out, body.d, body.len);
		break;
	}
	cnet_answered(h);
out:
	fz_str_free(&reason);
	fz_str_free(&value);
	fz_str_free(&raw);
	fz_str_free(&body);
}

/* The events with a timeout pending, for TIMER. */
struct timers {
	struct event	*ev[64];
	size_t		 n;
};

static int
cnet_timer_cb(const struct event_base *base, const struct event *ev,
    void *arg)
{
	struct timers *t = arg;

	if (t->n < 64 && event_pending(ev, EV_TIMEOUT, NULL))
		t->ev[t->n++] = (struct event *)(uintptr_t)ev;
	return 0;
}

static void
cnet_fire_timer(struct cnet *n, uint8_t i)
{
	struct timers t = { .n = 0 };

	event_base_foreach_event(n->base, cnet_timer_cb, &t);
	if (t.n > 0)
		event_active(t.ev[i % t.n], EV_TIMEOUT, 1);
}

/* A listening socket on a port kept for the whole run. */
static int
cnet_listen(int *keep, int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (*keep == -1)
		*keep = fz_listen(port);
	memset(&sin, 0, sizeof(sin));
	FUZZ_CHECK(getsockname(*keep, (struct sockaddr *)&sin, &len) == 0);
	*port = ntohs(sin.sin_port);
	return *keep;
}

static void
cnet_setup(struct cnet *n, struct client_config *cfg, uint8_t conf)
{
	char purl[64], maxsize[64];
	char *argv[] = {
		"pushprox-client",
		purl,
		"--fqdn=node.example",
		"--scrape.target-host=127.0.0.1",
		"--metrics-addr=",
		"--proxy.retry.initial-wait=10ms",
		"--proxy.retry.max-wait=20ms",
		"--log.level=error",
		maxsize,
		(conf & 2) ? "--scrape.max-concurrency=1" :
		    "--scrape.max-concurrency=4",
		NULL,
	};
	size_t i;

	memset(n, 0, sizeof(*n));
	for (i = 0; i < NHC; i++)
		n->hc[i].fd = -1;
	n->lproxy = cnet_listen(&cnet_pport_fd, &n->pport);
	n->ltarget = cnet_listen(&cnet_tport_fd, &n->tport);
	snprintf(purl, sizeof(purl), "--proxy-url=http://127.0.0.1:%d/",
	    n->pport);
	snprintf(maxsize, sizeof(maxsize), "--scrape.max-size=%s",
	    (conf & 1) ? "1KiB" : "1MiB");
	FUZZ_CHECK(config_load(cfg, (int)(sizeof(argv) / sizeof(argv[0])) - 1,
	    argv, stdout, stderr) == CONFIG_RUN);
	log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_LOGFMT, NULL);
	FUZZ_CHECK((n->base = event_base_new()) != NULL);
	FUZZ_CHECK((n->cl = client_new(n->base, cfg)) != NULL);
	FUZZ_CHECK(client_start(n->cl) == 0);
}

static void
cnet_teardown(struct cnet *n, struct client_config *cfg)
{
	size_t i;

	if (getenv("FUZZ_NET_DEBUG") != NULL)
		for (i = 0; i < NHC; i++)
			if (n->hc[i].fd != -1 && n->hc[i].in.len > 0)
				fprintf(stderr,
				    "--- %s conn %zu holds:\n%.2000s\n",
				    n->hc[i].side == HC_PROXY ? "proxy" :
				    "target", i, n->hc[i].in.d);
	client_free(n->cl);
	for (i = 0; i < NHC; i++)
		hc_close(&n->hc[i], 1);
	/* Connections the client had queued but we never accepted. */
	cnet_accept(n, n->lproxy, HC_PROXY);
	cnet_accept(n, n->ltarget, HC_TARGET);
	for (i = 0; i < NHC; i++)
		hc_close(&n->hc[i], 1);
	event_base_free(n->base);
	config_free(cfg);
}

enum {
	OP_LOOP, OP_SCRAPE, OP_POLLRAW, OP_POLLSTATUS, OP_TARGET,
	OP_TARGETRAW, OP_CLOSE, OP_TIMER,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct fz_in in = { data, size };
	struct client_config cfg;
	struct cnet n;
	struct hconn *h;
	uint8_t b, a;
	size_t ops, i;

	if (!init) {
		signal(SIGPIPE, SIG_IGN);
		FUZZ_CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
		init = 1;
	}
	memset(&cfg, 0, sizeof(cfg));
	cnet_setup(&n, &cfg, fz_byte(&in));
	cnet_settle(&n, SETTLE_TURNS, 1);
	for (ops = 0; in.left > 0 && ops < MAX_OPS; ops++) {
		b = fz_byte(&in);
		a = b >> 3;
		if (getenv("FUZZ_NET_DEBUG") != NULL)
			fprintf(stderr, "op %d a %d; polls %s, scrapes %s, "
			    "pushes %zu\n", b & 7, a,
			    cnet_oldest(&n, HC_PROXY) ? "waiting" : "none",
			    cnet_oldest(&n, HC_TARGET) ? "waiting" : "none",
			    n.pushes);
		switch (b & 7) {
		case OP_LOOP:
			cnet_settle(&n, 8 * (1 + (a & 7)), 1 + (a & 7));
			break;
		case OP_SCRAPE:
			cnet_scrape(&n, &in);
			break;
		case OP_POLLRAW: {
			struct fz_str body = { 0 };

			fz_blob(&in, &body);
			if ((h = cnet_wait(&n, HC_PROXY)) != NULL) {
				fz_str_fmt(&h->out, "HTTP/1.1 200 OK\r\n"
				    "Content-Length: %zu\r\n\r\n", body.len);
				fz_str_add(&h->out, body.d, body.len);
				cnet_answered(h);
			}
			fz_str_free(&body);
			break;
		}
		case OP_POLLSTATUS:
			if ((h = cnet_wait(&n, HC_PROXY)) == NULL)
				break;
			switch (a & 3) {
			case 0:
				fz_str_cat(&h->out,
				    "HTTP/1.1 204 No Content\r\n\r\n");
				break;
			case 1:
				fz_str_cat(&h->out,
				    "HTTP/1.1 408 Request Timeout\r\n"
				    "Content-Length: 0\r\n\r\n");
				break;
			case 2:
				fz_str_cat(&h->out,
				    "HTTP/1.1 500 Internal Server "
				    "Error\r\nContent-Length: 4\r\n\r\noops");
				break;
			default:
				hc_close(h, (a >> 2) & 1);
				continue;
			}
			cnet_answered(h);
			break;
		case OP_TARGET:
			cnet_target(&n, &in);
			break;
		case OP_TARGETRAW: {
			struct fz_str raw = { 0 };

			fz_blob(&in, &raw);
			if ((h = cnet_wait(&n, HC_TARGET)) != NULL) {
				fz_str_add(&h->out, raw.d, raw.len);
				cnet_answered(h);
				(void)fz_flush(h->fd, &h->out);
				if ((a & 3) < 2)
					hc_close(h, a & 1);
			}
			fz_str_free(&raw);
			break;
		}
		case OP_CLOSE:
			i = (a & 15) % NHC;
			if (n.hc[i].fd != -1)
				hc_close(&n.hc[i], (a >> 4) & 1);
			break;
		case OP_TIMER:
			cnet_fire_timer(&n, fz_byte(&in));
			break;
		}
		cnet_settle(&n, SETTLE_TURNS, 1);
	}
	/* What is in flight finishes (a push after the last answer). */
	cnet_settle(&n, 60, 2);
	cnet_teardown(&n, &cfg);
	return 0;
}
