/*
 * The real proxy (proxy_new on an event_base, listening on 127.0.0.1:0),
 * driven over loopback sockets by an op sequence decoded from the input:
 * interleavings of polls, scrapes and pushes on up to 8 connections, with
 * the harness playing Prometheus and clients at once.  Each op writes
 * bytes and then runs the proxy's loop a few non-blocking turns; the
 * harness reads every answer, and remembers the scrape ids it sees in
 * poll answers so that a PUSH can answer a real scrape.
 *
 * Input: byte 0 picks a configuration (bit 0: 3 connections at most;
 * bits 1 and 2: 1 KiB header cap; 5 and 6: 1 KiB push cap; 3: one poll
 * per client; 4: 100 ms read timeout; the small caps are rarer, since
 * they hide what needs big heads).  Then ops, one byte each plus operands
 * (missing bytes read as 0, so every input is valid).  An op byte is
 * op (bits 0-2) | k (bits 3-5) | a (bits 6-7); k picks the connection,
 * counted from a base that differs per op (so that with k = 0 a poll, a
 * scrape and a push use three connections); a connection opens on first
 * use.  Blobs are described in fuzz_net.h (a few input bytes can stand
 * for a 10 KB reason phrase).
 *
 *   LOOP                 4 (a + 1) more turns of the loop
 *   POLL                 POST /poll for FQDN #a
 *   SCRAPE m [b]         GET (or HEAD: m bit 0) http://FQDN#a:9100/metrics;
 *                        m bit 1: a scrape timeout header; m bit 2: extra
 *                        header lines, blob b
 *   PUSH s r f h v x y   POST /push of "HTTP/1.1 <status #s> <blob r>",
 *                        h headers "X-H<i>: <blob v>", then blob x as is,
 *                        "Id: " the last poll answer's id (a = 0), the one
 *                        before (1), none (2) or an unknown one (3), the
 *                        framing f picks (Content-Length, chunked, none,
 *                        a wrong Content-Length), body blob y; the push
 *                        itself is sent with a Content-Length or chunked
 *   RAW b                blob b as is
 *   CLOSE                a: FIN, RST, half-close (shutdown SHUT_WR)
 *   TIMER i              fire the i-th pending timer now (time passes)
 *   OPEN                 just connect
 *
 * Every op is followed by loop turns until nothing moves (at most 8):
 * the harness writes what it has queued, runs the loop once
 * (EVLOOP_NONBLOCK), reads every socket and checks what it read.
 *
 * Invariants: every response the proxy writes starts "HTTP/1.1 [1-5]xx",
 * is framed exactly (no bytes after its body that a keep-alive peer would
 * read as a response; no framing headers on 1xx and 204; chunked framing
 * intact); after all sockets close the proxy holds no connection and no
 * scrape; no leak (LeakSanitizer); and of course no crash, in particular
 * no fatal() reached from peer bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <signal.h>

#include <event2/event.h>

#include "config.h"
#include "httpserver.h"
#include "log.h"
#include "proxy.h"

#include "fuzz_net.h"

#define NCONN		8
#define NIDS		8
#define SETTLE_TURNS	8
#define MAX_OPS		64

struct pconn {
	int			 fd;
	struct fz_str		 out;
	struct fz_str		 in;
	size_t			 idscan;
	struct fz_resp_check	 rc;
};

struct pnet {
	struct event_base	*base;
	struct proxy		*px;
	int			 port;
	struct pconn		 c[NCONN];
	char			 ids[NIDS][37];
	size_t			 nids;
};

static const char *const fqdns[] = {
	"node0.example", "node1.example", "NODE1.example", "127.0.0.1",
};

static const int statuses[] = {
	200, 200, 204, 304, 100, 101, 103, 500, 404, 302, 0, 99, 600, 999,
	201, 206,
};

static void
pnet_open(struct pnet *n, size_t k)
{
	struct pconn *c = &n->c[k];

	if (c->fd != -1)
		return;
	memset(&c->rc, 0, sizeof(c->rc));
	c->in.len = c->out.len = 0;
	c->idscan = 0;
	c->fd = fz_connect(n->port);
	if (c->fd == -1)
		fprintf(stderr, "cannot connect to the proxy on port %d: %s\n",
		    n->port, strerror(errno));
	FUZZ_CHECK(c->fd != -1);
}

static void
pnet_close(struct pnet *n, size_t k, int how)
{
	struct pconn *c = &n->c[k];

	if (c->fd == -1)
		return;
	fz_close(c->fd, how);
	if (how != 2)
		c->fd = -1;
	else
		c->rc.done = true;	/* keep reading; framing not checked */
}

/* Remembers the scrape ids in poll answers ("Id: <uuid>" lines). */
static void
pnet_scan_ids(struct pnet *n, struct pconn *c)
{
	const char *p;

	while (c->in.len > c->idscan + 42 &&
	    (p = fz_memmem(c->in.d + c->idscan, c->in.len - c->idscan,
	    "\nId: ")) != NULL) {
		if ((size_t)(p - c->in.d) + 5 + 36 > c->in.len)
			return;
		memcpy(n->ids[n->nids % NIDS], p + 5, 36);
		n->ids[n->nids % NIDS][36] = '\0';
		n->nids++;
		c->idscan = (size_t)(p - c->in.d) + 5;
	}
}

/*
 * One turn: write what is queued, run the loop once, read and check.
 * Returns whether any byte moved between the harness and the proxy.
 */
static bool
pnet_turn(struct pnet *n)
{
	struct pconn *c;
	size_t k, before;
	bool moved = false;

	for (k = 0; k < NCONN; k++) {
		c = &n->c[k];
		if (c->fd == -1 || c->out.len == 0)
			continue;
		before = c->out.len;
		(void)fz_flush(c->fd, &c->out);
		moved |= c->out.len != before;
	}
	event_base_loop(n->base, EVLOOP_NONBLOCK);
	for (k = 0; k < NCONN; k++) {
		c = &n->c[k];
		if (c->fd == -1)
			continue;
		before = c->in.len;
		(void)fz_drain(c->fd, &c->in);
		if (c->in.len == before)
			continue;
		moved = true;
		fz_resp_check(&c->rc, &c->in);
		pnet_scan_ids(n, c);
	}
	return moved;
}

/* Turns until two in a row move nothing, at most max. */
static void
pnet_settle(struct pnet *n, int max)
{
	int t, idle = 0;

	for (t = 0; t < max && idle < 2; t++)
		idle = pnet_turn(n) ? 0 : idle + 1;
}

/* The events with a timeout pending, for TIMER. */
struct timers {
	struct event	*ev[64];
	size_t		 n;
};

static int
pnet_timer_cb(const struct event_base *base, const struct event *ev,
    void *arg)
{
	struct timers *t = arg;

	if (t->n < 64 && event_pending(ev, EV_TIMEOUT, NULL))
		t->ev[t->n++] = (struct event *)(uintptr_t)ev;
	return 0;
}

/* Time passes for one timer: it fires now, the others keep waiting. */
static void
pnet_fire_timer(struct pnet *n, uint8_t i)
{
	struct timers t = { .n = 0 };

	event_base_foreach_event(n->base, pnet_timer_cb, &t);
	if (t.n > 0)
		event_active(t.ev[i % t.n], EV_TIMEOUT, 1);
}

static void
pnet_poll(struct pconn *c, const char *fqdn)
{
	fz_str_fmt(&c->out, "POST /poll HTTP/1.1\r\nHost: proxy\r\n"
	    "User-Agent: Go-http-client/1.1\r\nContent-Length: %zu\r\n\r\n%s",
	    strlen(fqdn), fqdn);
	fz_expect(&c->rc, FZ_EXPECT_BODY);
}

static void
pnet_scrape(struct pconn *c, const char *fqdn, struct fz_in *in)
{
	struct fz_str extra = { 0 };
	uint8_t m = fz_byte(in);

	if (m & 4)
		fz_blob(in, &extra);
	fz_str_fmt(&c->out, "%s http://%s:9100/metrics HTTP/1.1\r\n"
	    "Host: %s:9100\r\nUser-Agent: Prometheus/2.45.0\r\n"
	    "Accept: text/plain;version=0.0.4\r\n", (m & 1) ? "HEAD" : "GET",
	    fqdn, fqdn);
	if (m & 2)
		fz_str_cat(&c->out,
		    "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n");
	FZ_SIZE_HINT(extra.len);
	fz_str_add(&c->out, extra.d, extra.len);
	fz_str_cat(&c->out, "\r\n");
	/* Extra header lines may make it another request, or several. */
	fz_expect(&c->rc, extra.len > 0 ? FZ_EXPECT_RAW : (m & 1) ?
	    FZ_EXPECT_HEAD : FZ_EXPECT_BODY);
	fz_str_free(&extra);
}

static void
pnet_push(struct pnet *n, struct pconn *c, uint8_t a, struct fz_in *in)
{
	struct fz_str resp = { 0 }, reason = { 0 }, value = { 0 },
	    raw = { 0 }, body = { 0 };
	uint8_t s, f, h;
	size_t i, nh, off, piece;

	s = fz_byte(in);
	fz_blob(in, &reason);
	f = fz_byte(in);
	h = fz_byte(in);
	nh = h % 128;
	if (nh > 0)
		fz_blob(in, &value);
	fz_blob(in, &raw);
	fz_blob(in, &body);

	if (getenv("FUZZ_NET_DEBUG") != NULL)
		fprintf(stderr, "push: status %d, reason %zu bytes, "
		    "%zu headers of %zu, raw %zu, id %s, framing %d, "
		    "body %zu\n",
		    statuses[s % 16], reason.len, nh, value.len, raw.len,
		    a < 2 && n->nids > 0 ? "seen" : a == 3 ? "unknown" : "none",
		    f & 3, body.len);
	fz_str_fmt(&resp, "HTTP/1.1 %03d ", statuses[s % 16]);
	fz_str_add(&resp, reason.d, reason.len);
	fz_str_cat(&resp, "\r\n");
	/* At most 256 KiB of them: bigger only slows the run. */
	for (i = 0; i < nh && resp.len < 256 * 1024; i++) {
		fz_str_fmt(&resp, "X-H%zu: ", i);
		fz_str_add(&resp, value.d, value.len);
		fz_str_cat(&resp, "\r\n");
	}
	fz_str_add(&resp, raw.d, raw.len);
	if (a < 2 && n->nids > 0)
		fz_str_fmt(&resp, "Id: %s\r\n", n->ids[(n->nids - 1 -
		    (a == 1 && n->nids > 1)) % NIDS]);
	else if (a == 3)
		fz_str_cat(&resp,
		    "Id: 00000000-0000-4000-8000-000000000000\r\n");
	/* The head's size band, apart for pushes that may match a scrape. */
	if (a < 2 && n->nids > 0)
		FZ_SIZE_HINT(resp.len);
	else
		FZ_SIZE_HINT(resp.len);
	switch (f & 3) {
	case 0:
		fz_str_fmt(&resp, "Content-Length: %zu\r\n\r\n", body.len);
		fz_str_add(&resp, body.d, body.len);
		break;
	case 1:
		fz_str_cat(&resp, "Transfer-Encoding: chunked\r\n\r\n");
		if (body.len > 0)
			fz_str_fmt(&resp, "%zx\r\n", body.len);
		fz_str_add(&resp, body.d, body.len);
		fz_str_cat(&resp, body.len > 0 ? "\r\n0\r\n\r\n" : "0\r\n\r\n");
		break;
	case 2:
		fz_str_cat(&resp, "\r\n");
		fz_str_add(&resp, body.d, body.len);
		break;
	default:
		fz_str_fmt(&resp, "Content-Length: %zu\r\n\r\n",
		    body.len + (f >> 4));
		fz_str_add(&resp, body.d, body.len);
		break;
	}

	fz_str_cat(&c->out, "POST /push HTTP/1.1\r\nHost: proxy\r\n"
	    "User-Agent: Go-http-client/1.1\r\n");
	if ((f & 4) == 0) {
		fz_str_fmt(&c->out, "Content-Length: %zu\r\n\r\n", resp.len);
		fz_str_add(&c->out, resp.d, resp.len);
	} else {
		/*
		 * Chunked, in pieces of 1 + (f >> 3) * 97 bytes, 256 at most.
		 */
		fz_str_cat(&c->out, "Transfer-Encoding: chunked\r\n\r\n");
		piece = 1 + (size_t)(f >> 3) * 97;
		if (piece < resp.len / 256)
			piece = resp.len / 256;
		for (off = 0; off < resp.len; off += piece) {
			size_t len = resp.len - off < piece ? resp.len - off :
			    piece;

			fz_str_fmt(&c->out, "%zx\r\n", len);
			fz_str_add(&c->out, resp.d + off, len);
			fz_str_cat(&c->out, "\r\n");
		}
		fz_str_cat(&c->out, "0\r\n\r\n");
	}
	fz_expect(&c->rc, FZ_EXPECT_BODY);
	fz_str_free(&resp);
	fz_str_free(&reason);
	fz_str_free(&value);
	fz_str_free(&raw);
	fz_str_free(&body);
}

/*
 * One port for the whole run (SO_REUSEADDR): a new ephemeral port per
 * input would leave the port range full of TIME_WAIT sockets.
 */
static int pnet_port;

static int
pnet_setup(struct pnet *n, struct proxy_config *cfg, uint8_t conf)
{
	char laddr[64];
	char *argv[] = {
		"pushprox-proxy",
		laddr,
		"--log.level=error",
		(conf & 1) ? "--web.max-connections=3" :
		    "--web.max-connections=1000",
		(conf & 6) == 6 ? "--web.max-header-size=1KiB" :
		    "--web.max-header-size=16KiB",
		(conf & 96) == 96 ? "--push.max-size=1KiB" :
		    "--push.max-size=1MiB",
		(conf & 8) ? "--poll.max-per-client=1" :
		    "--poll.max-per-client=16",
		(conf & 16) ? "--web.read-timeout=100ms" :
		    "--web.read-timeout=30s",
		NULL,
	};
	size_t k;

	snprintf(laddr, sizeof(laddr),
	    "--web.listen-address=127.0.0.1:%d", pnet_port);
	FUZZ_CHECK(proxy_config_parse(cfg,
	    (int)(sizeof(argv) / sizeof(argv[0])) - 1, argv,
	    stdout, stderr) == FLAGS_OK);
	log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_LOGFMT, NULL);
	memset(n, 0, sizeof(*n));
	for (k = 0; k < NCONN; k++)
		n->c[k].fd = -1;
	FUZZ_CHECK((n->base = event_base_new()) != NULL);
	FUZZ_CHECK((n->px = proxy_new(n->base, cfg)) != NULL);
	n->px->client_capacity = 1000;
	if (proxy_listen(n->px) == -1) {
		/* Someone took the port meanwhile: pick another. */
		FUZZ_CHECK(pnet_port != 0);
		pnet_port = 0;
		proxy_free(n->px);
		event_base_free(n->base);
		proxy_config_free(cfg);
		memset(cfg, 0, sizeof(*cfg));
		return -1;
	}
	n->port = pnet_port = httpserver_port(n->px->server);
	FUZZ_CHECK(n->port > 0);
	return 0;
}

/* Resets every socket; the proxy must let go of everything. */
static void
pnet_teardown(struct pnet *n, struct proxy_config *cfg)
{
	size_t k;
	int t;

	/* FUZZ_NET_DEBUG=1: what each connection received, for seeds. */
	if (getenv("FUZZ_NET_DEBUG") != NULL)
		for (k = 0; k < NCONN; k++)
			if (n->c[k].in.len > 0)
				fprintf(stderr, "--- conn %zu received %zu "
				    "bytes, %zu responses:\n%.3000s\n", k,
				    n->c[k].in.len, n->c[k].rc.responses,
				    n->c[k].in.d);
	/* RST, not FIN: no TIME_WAIT left behind on either side. */
	for (k = 0; k < NCONN; k++) {
		if (n->c[k].fd != -1) {
			fz_close(n->c[k].fd, 1);
			n->c[k].fd = -1;
		}
	}
	for (t = 0; t < 200 && httpserver_connections(n->px->server) > 0; t++) {
		if (t < 100)
			event_base_loop(n->base, EVLOOP_NONBLOCK);
		else {
			struct timeval tv = { 0, 1000 };

			event_base_loopexit(n->base, &tv);
			event_base_loop(n->base, EVLOOP_ONCE);
		}
	}
	if (httpserver_connections(n->px->server) != 0)
		fprintf(stderr, "proxy still holds %zu connections after every "
		    "peer closed\n", httpserver_connections(n->px->server));
	FUZZ_CHECK(httpserver_connections(n->px->server) == 0);
	FUZZ_CHECK(n->px->scrapes_active == 0);
	proxy_free(n->px);
	event_base_free(n->base);
	proxy_config_free(cfg);
	for (k = 0; k < NCONN; k++) {
		fz_str_free(&n->c[k].in);
		fz_str_free(&n->c[k].out);
	}
}

enum {
	OP_LOOP, OP_POLL, OP_SCRAPE, OP_PUSH, OP_RAW, OP_CLOSE, OP_TIMER,
	OP_OPEN,
};

/* Where each op starts counting connections. */
static const size_t op_base[8] = { 0, 0, 2, 4, 6, 0, 0, 0 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct fz_in in = { data, size };
	struct proxy_config cfg = { 0 };
	struct pnet n;
	struct pconn *c;
	uint8_t b, op, a;
	size_t ops, k;

	if (!init) {
		signal(SIGPIPE, SIG_IGN);
		init = 1;
	}
	b = fz_byte(&in);
	if (pnet_setup(&n, &cfg, b) == -1)
		FUZZ_CHECK(pnet_setup(&n, &cfg, b) == 0);
	for (ops = 0; in.left > 0 && ops < MAX_OPS; ops++) {
		b = fz_byte(&in);
		op = b & 7;
		k = (op_base[op] + ((b >> 3) & 7)) % NCONN;
		a = b >> 6;
		c = &n.c[k];
		switch (op) {
		case OP_LOOP:
			pnet_settle(&n, 4 * (a + 1));
			break;
		case OP_POLL:
			pnet_open(&n, k);
			pnet_poll(c, fqdns[a]);
			break;
		case OP_SCRAPE:
			pnet_open(&n, k);
			pnet_scrape(c, fqdns[a], &in);
			break;
		case OP_PUSH:
			pnet_open(&n, k);
			pnet_push(&n, c, a, &in);
			break;
		case OP_RAW: {
			struct fz_str raw = { 0 };

			pnet_open(&n, k);
			fz_blob(&in, &raw);
			fz_str_add(&c->out, raw.d, raw.len);
			fz_expect(&c->rc, FZ_EXPECT_RAW);
			fz_str_free(&raw);
			break;
		}
		case OP_CLOSE:
			pnet_close(&n, k, a % 3);
			break;
		case OP_TIMER:
			pnet_fire_timer(&n, fz_byte(&in));
			break;
		case OP_OPEN:
			pnet_open(&n, k);
			break;
		}
		pnet_settle(&n, SETTLE_TURNS);
	}
	pnet_teardown(&n, &cfg);
	return 0;
}
