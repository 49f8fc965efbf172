/*
 * One HTTP request on a new connection, run to completion on the caller's
 * event loop: the scrapes the idle and large modes time one at a time, and
 * GET /clients.  The body is checked on the fly (CRC-32 and length) and
 * kept only when asked, so a 100 MB body is read at full speed without
 * being stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "bench.h"

struct fetch {
	struct event_base	*base;
	struct bufferevent	*bev;
	struct fetch_result	*r;
	struct wire_head	 h;
	bool			 head_done;
	bool			 done;
	int64_t			 left;
	double			 t0;
};

static void
fetch_finish(struct fetch *f, const char *err)
{
	if (f->done)
		return;
	f->done = true;
	f->r->seconds = bench_now() - f->t0;
	if (err != NULL)
		snprintf(f->r->err, sizeof(f->r->err), "%s", err);
	event_base_loopbreak(f->base);
}

static void
fetch_sink(void *arg, const char *p, size_t n)
{
	struct fetch *f = arg;

	if (f->r->body != NULL)
		evbuffer_add(f->r->body, p, n);
	else
		f->r->crc = payload_crc(f->r->crc, p, n);
	f->r->body_len += n;
}

static void
fetch_read_cb(struct bufferevent *bev, void *arg)
{
	struct fetch *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int r;

	if (f->done)
		return;
	if (!f->head_done) {
		if ((r = wire_take_head(in, false, &f->h)) == 0)
			return;
		if (r == -1) {
			fetch_finish(f, "malformed response head");
			return;
		}
		if (f->h.chunked) {
			fetch_finish(f, "chunked response (not expected)");
			return;
		}
		f->head_done = true;
		f->r->status = f->h.status;
		snprintf(f->r->client, sizeof(f->r->client), "%s",
		    f->h.client);
		f->left = f->h.clen >= 0 ? f->h.clen : INT64_MAX;
	}
	if (f->r->body != NULL) {
		size_t n = evbuffer_get_length(in);

		if ((int64_t)n > f->left)
			n = (size_t)f->left;
		evbuffer_remove_buffer(in, f->r->body, n);
		f->r->body_len += n;
		f->left -= (int64_t)n;
	} else
		wire_take_body(in, &f->left, &f->r->crc, &f->r->body_len);
	if (f->left > 0 && f->h.clen >= 0)
		(void)wire_read_direct(bev, &f->left, fetch_sink, f);
	if (f->left == 0)
		fetch_finish(f, NULL);
}

static void
fetch_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct fetch *f = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((what & BEV_EVENT_EOF) && f->head_done && f->h.clen < 0) {
		fetch_read_cb(bev, f);
		fetch_finish(f, NULL);	/* delimited by the close */
		return;
	}
	fetch_finish(f, (what & BEV_EVENT_TIMEOUT) ? "timed out" :
	    (what & BEV_EVENT_EOF) ? "connection closed early" :
	    "connection failed");
}

int
fetch_run(struct event_base *base, const struct sockaddr_in *dst,
    const char *head, bool collect, double timeout_s,
    struct fetch_result *r)
{
	struct fetch f;
	struct timeval tv;

	memset(r, 0, sizeof(*r));
	memset(&f, 0, sizeof(f));
	f.base = base;
	f.r = r;
	if (collect && (r->body = evbuffer_new()) == NULL)
		return -1;
	if ((f.bev = net_connect(base, dst, NULL)) == NULL) {
		snprintf(r->err, sizeof(r->err), "cannot connect");
		return -1;
	}
	tv.tv_sec = (time_t)timeout_s;
	tv.tv_usec = (suseconds_t)((timeout_s - (double)tv.tv_sec) * 1e6);
	bufferevent_set_timeouts(f.bev, &tv, &tv);
	bufferevent_set_max_single_read(f.bev, 1 << 20);
	bufferevent_setcb(f.bev, fetch_read_cb, NULL, fetch_event_cb, &f);
	f.t0 = bench_now();
	bufferevent_write(f.bev, head, strlen(head));
	bufferevent_enable(f.bev, EV_READ | EV_WRITE);
	while (!f.done)
		if (event_base_loop(base, EVLOOP_ONCE) != 0) {
			fetch_finish(&f, "event loop failed");
			break;
		}
	bufferevent_free(f.bev);
	return r->err[0] == '\0' ? 0 : -1;
}

void
fetch_result_free(struct fetch_result *r)
{
	if (r->body != NULL)
		evbuffer_free(r->body);
	r->body = NULL;
}

long
fetch_clients(struct event_base *base, const struct sockaddr_in *dst,
    double *seconds)
{
	struct fetch_result r;
	json_error_t err;
	json_t *j;
	char head[256], hp[64];
	long n = -1;
	size_t len;

	net_format(dst, hp, sizeof(hp));
	snprintf(head, sizeof(head), "GET /clients HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: Prometheus/2.53.0\r\nAccept: application/json\r\n"
	    "Connection: close\r\n\r\n", hp);
	if (fetch_run(base, dst, head, true, 30, &r) == 0 && r.status == 200) {
		len = evbuffer_get_length(r.body);
		j = json_loadb((const char *)evbuffer_pullup(r.body, -1), len,
		    0, &err);
		if (j != NULL && json_is_array(j))
			n = (long)json_array_size(j);
		json_decref(j);
	}
	if (seconds != NULL)
		*seconds = r.seconds;
	fetch_result_free(&r);
	return n;
}

double
fetch_wait_clients(struct event_base *base, const struct sockaddr_in *dst,
    long n, double timeout_s)
{
	double t0 = bench_now(), last = 0;
	long got, shown = -1;

	while (bench_now() - t0 < timeout_s) {
		got = fetch_clients(base, dst, NULL);
		if (got >= n)
			return bench_now() - t0;
		if (got != shown && bench_now() - last > 2) {
			bench_log("/clients lists %ld of %ld", got, n);
			shown = got;
			last = bench_now();
		}
		bench_sleep(0.1);
	}
	return -1;
}

int
fetch_scrape_head(char *out, size_t len, const char *fqdn,
    const char *hostport, const char *path, double timeout_s)
{
	char tmo[32];
	int n;

	snprintf(tmo, sizeof(tmo), "%g", timeout_s);
	if (fqdn != NULL)	/* proxy form, as Go's Transport sends it */
		n = snprintf(out, len, "GET http://%s:9100%s HTTP/1.1\r\n"
		    "Host: %s:9100\r\n", fqdn, path, fqdn);
	else
		n = snprintf(out, len, "GET %s HTTP/1.1\r\nHost: %s\r\n", path,
		    hostport);
	if (n < 0 || (size_t)n >= len)
		return -1;
	n += snprintf(out + n, len - (size_t)n,
	    "User-Agent: Prometheus/2.53.0\r\n"
	    "Accept: application/openmetrics-text;version=1.0.0,"
	    "application/openmetrics-text;version=0.0.1;q=0.75,"
	    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
	    "Accept-Encoding: gzip\r\n"
	    "X-Prometheus-Scrape-Timeout-Seconds: %s\r\n\r\n", tmo);
	return n > 0 && (size_t)n < len ? 0 : -1;
}
