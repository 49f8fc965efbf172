/*
 * Concurrent scrapers, as Prometheus runs them: C keep-alive connections,
 * each sending one scrape after another (proxy form "GET
 * http://bench-K.local:9100/metrics" for a random K, or a direct "GET
 * /metrics"), with Prometheus's headers including
 * X-Prometheus-Scrape-Timeout-Seconds.  Each answer is checked (status
 * 200, length and CRC-32 of the body as sent, X-Bench-Client naming the
 * client asked for) and, while recording, timed from the request being
 * queued to its last byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bench.h"

struct scraper {
	struct scrapeset	*set;
	struct bufferevent	*bev;
	bool			 busy;
	bool			 head_done;
	struct wire_head	 h;
	int64_t			 left;
	uint32_t		 crc;
	uint64_t		 got;
	uint32_t		 want;	/* the client asked for */
	double			 t0;
};

struct scrapeset {
	struct event_base	*base;
	struct scrapeset_config	 cfg;
	struct scraper		*s;
	bool			 running;
	bool			 recording;
	uint32_t		 busy;
	uint64_t		 rng;
	struct samples		 lat;
	struct scrapeset_stats	 st;
	char			 hostport[64];
	unsigned		 logged;
};

static void	scraper_send(struct scraper *);
static void	scraper_connect(struct scraper *);

static void
scraper_error(struct scraper *sc, uint64_t *kind, const char *what)
{
	struct scrapeset *set = sc->set;

	if (set->recording) {
		set->st.errors++;
		(*kind)++;
	}
	if (set->logged++ < 5)
		bench_log("scrape error: %s (status %d)", what, sc->h.status);
}

/* A scrape ended (well or not); start the next one or rest. */
static void
scraper_next(struct scraper *sc)
{
	struct scrapeset *set = sc->set;

	sc->busy = false;
	set->busy--;
	if (set->running)
		scraper_send(sc);
	else if (set->busy == 0)
		event_base_loopbreak(set->base);
}

static void
scraper_done(struct scraper *sc)
{
	struct scrapeset *set = sc->set;
	char want[16];

	set->st.last_status = sc->h.status;
	snprintf(want, sizeof(want), "%u", sc->want);
	if (sc->h.status != 200)
		scraper_error(sc, &set->st.err_status, "status");
	else if (sc->got != set->cfg.expect_len ||
	    sc->crc != set->cfg.expect_crc)
		scraper_error(sc, &set->st.err_body, "body differs");
	else if (set->cfg.proxy_form && strcmp(sc->h.client, want) != 0)
		scraper_error(sc, &set->st.err_client, "answer of another "
		    "client");
	else if (set->recording) {
		set->st.ok++;
		samples_add(&set->lat, bench_now() - sc->t0);
	}
	if (sc->h.close) {
		bufferevent_free(sc->bev);
		sc->bev = NULL;
	}
	scraper_next(sc);
}

static void
scraper_sink(void *arg, const char *p, size_t n)
{
	struct scraper *sc = arg;

	sc->crc = payload_crc(sc->crc, p, n);
	sc->got += n;
}

static void
scraper_read_cb(struct bufferevent *bev, void *arg)
{
	struct scraper *sc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int r;

	if (!sc->busy) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (!sc->head_done) {
		if ((r = wire_take_head(in, false, &sc->h)) == 0)
			return;
		if (r == -1 || sc->h.chunked || sc->h.clen < 0) {
			scraper_error(sc, &sc->set->st.err_conn, "unreadable "
			    "answer");
			bufferevent_free(sc->bev);
			sc->bev = NULL;
			scraper_next(sc);
			return;
		}
		sc->head_done = true;
		sc->left = sc->h.clen;
	}
	wire_take_body(in, &sc->left, &sc->crc, &sc->got);
	if (sc->left > 0)
		(void)wire_read_direct(bev, &sc->left, scraper_sink, sc);
	if (sc->left == 0)
		scraper_done(sc);
}

static void
scraper_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct scraper *sc = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	bufferevent_free(sc->bev);
	sc->bev = NULL;
	if (sc->busy) {
		scraper_error(sc, &sc->set->st.err_conn,
		    (what & BEV_EVENT_TIMEOUT) ? "timed out" :
		    "connection lost");
		scraper_next(sc);
	}
}

static void
scraper_connect(struct scraper *sc)
{
	struct scrapeset *set = sc->set;
	struct timeval tv;
	double t = set->cfg.timeout_s + 5;

	if ((sc->bev = net_connect(set->base, &set->cfg.dst, NULL)) == NULL)
		return;
	tv.tv_sec = (time_t)t;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(sc->bev, &tv, NULL);
	bufferevent_set_max_single_read(sc->bev, 1 << 20);
	bufferevent_setcb(sc->bev, scraper_read_cb, NULL, scraper_event_cb,
	    sc);
	bufferevent_enable(sc->bev, EV_READ | EV_WRITE);
}

static void
scraper_send(struct scraper *sc)
{
	struct scrapeset *set = sc->set;
	char head[1024], fqdn[40];

	if (sc->bev == NULL)
		scraper_connect(sc);
	if (sc->bev == NULL) {
		scraper_error(sc, &set->st.err_conn, "cannot connect");
		set->running = false;	/* no point hammering */
		if (set->busy == 0)
			event_base_loopbreak(set->base);
		return;
	}
	sc->want = set->cfg.nclients > 0 ? bench_rand(&set->rng) %
	    set->cfg.nclients : 0;
	snprintf(fqdn, sizeof(fqdn), "bench-%u.local", sc->want);
	if (fetch_scrape_head(head, sizeof(head), set->cfg.proxy_form ? fqdn :
	    NULL, set->hostport, "/metrics", set->cfg.timeout_s) == -1)
		return;
	memset(&sc->h, 0, sizeof(sc->h));
	sc->head_done = false;
	sc->crc = 0;
	sc->got = 0;
	sc->busy = true;
	set->busy++;
	sc->t0 = bench_now();
	bufferevent_write(sc->bev, head, strlen(head));
}

struct scrapeset *
scrapeset_new(struct event_base *base, const struct scrapeset_config *cfg)
{
	struct scrapeset *set;
	uint32_t i;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		return NULL;
	if ((set->s = calloc(cfg->conns, sizeof(*set->s))) == NULL) {
		free(set);
		return NULL;
	}
	set->base = base;
	set->cfg = *cfg;
	set->rng = cfg->seed != 0 ? cfg->seed : 1;
	net_format(&cfg->dst, set->hostport, sizeof(set->hostport));
	for (i = 0; i < cfg->conns; i++)
		set->s[i].set = set;
	return set;
}

void
scrapeset_start(struct scrapeset *set)
{
	uint32_t i;

	set->running = true;
	for (i = 0; i < set->cfg.conns && set->running; i++)
		if (!set->s[i].busy)
			scraper_send(&set->s[i]);
}

void
scrapeset_record(struct scrapeset *set, bool on)
{
	set->recording = on;
}

void
scrapeset_stop(struct scrapeset *set)
{
	set->running = false;
	if (set->busy == 0)
		event_base_loopbreak(set->base);
}

struct samples *
scrapeset_samples(struct scrapeset *set)
{
	return &set->lat;
}

void
scrapeset_stats(const struct scrapeset *set, struct scrapeset_stats *st)
{
	*st = set->st;
}

void
scrapeset_free(struct scrapeset *set)
{
	uint32_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->cfg.conns; i++)
		if (set->s[i].bev != NULL)
			bufferevent_free(set->s[i].bev);
	samples_free(&set->lat);
	free(set->s);
	free(set);
}
