/*
 * The HTTP server's private structures, shared by its two files only:
 * httpserver.c (listeners, connections, parsing, teardown) and httpreq.c
 * (what a handler does with a request: bodies and replies).  Nothing else
 * includes this header.
 */
#ifndef PUSHPROX_HTTPSERVER_INT_H
#define PUSHPROX_HTTPSERVER_INT_H

#include <sys/queue.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <netinet/in.h>

#include <openssl/ssl.h>

#include "buf.h"
#include "httpmsg.h"
#include "httpreq.h"
#include "httpserver.h"
#include "pushprox_limits.h"

struct bufferevent;
struct event;
struct listener;

enum conn_state {
	CONN_IDLE,
	CONN_READING,
	CONN_HANDLING,
	CONN_CLOSING,
};

enum req_body {
	BODY_DISCARD,
	BODY_BUFFER,
	BODY_STREAM,
};

struct httpconn;

struct httpreq {
	struct httpconn		*conn;
	enum req_body		 body_mode;
	struct buf		 body;
	httpreq_body_cb		 body_cb;
	httpreq_done_cb		 done_cb;
	void			*body_arg;
	httpreq_abort_cb	 abort_cb;
	void			*abort_arg;
	httpreq_drain_cb	 drain_cb;
	void			*drain_arg;
	httpreq_sent_cb		 sent_cb;
	void			*sent_arg;
	struct buf		 reply_headers;
	struct timeval		 start;
	int			 body_done;
	int			 body_paused;
	int			 reply_started;
	int			 reply_chunked;
	int			 reply_nobody;	/* 1xx/204/304/HEAD: body dropped */
};

struct httpconn {
	TAILQ_ENTRY(httpconn)	 entry;
	TAILQ_ENTRY(httpconn)	 idle_entry;	/* on srv->idle: evictable */
	int			 idle_listed;
	struct event		*head_ev;	/* the head's total deadline */
	int			 out_paused;	/* pipelining held: output full */
	struct httpserver	*srv;
	struct bufferevent	*bev;
	struct httpmsg		*msg;
	struct httpreq		*req;
	struct event		*process_ev;
	enum conn_state		 state;
	int			 in_feed;
	const char		*close_reason;	/* set: close when feed returns */
	int			 finish_pending; /* reply queued during feed */
	int			 keep_alive;
	int			 plain;		/* not TLS: direct socket I/O */
	size_t			 in_left;	/* input left after processing */
	unsigned		 nrequests;
	httpreq_sent_cb		 sent_cb;	/* a reply waiting to be flushed */
	void			*sent_arg;
	char			 peer[INET6_ADDRSTRLEN + 8];
};

TAILQ_HEAD(httpconn_list, httpconn);

struct httpserver {
	struct event_base	*base;
	struct httpserver_config cfg;
	httpserver_request_cb	 cb;
	httpserver_reply_cb	 reply_cb;
	void			*arg;
	SSL_CTX			*tls;
	struct listener		*listeners[LIMIT_LISTENERS];
	size_t			 nlisteners;
	struct httpconn_list	 conns;
	size_t			 nconns;
	struct httpconn_list	 idle;		/* oldest idle first */
};

/* The single teardown of a connection (deferred inside the parser). */
void	httpserver_conn_close(struct httpconn *c, const char *why);
/* The reply is fully queued: forget the request, serve the next one. */
void	httpserver_conn_finish(struct httpconn *c);
/* Runs the connection's processing from the loop, not from here. */
void	httpserver_conn_schedule(struct httpconn *c);
/* Sends at once what fits (plain sockets), queues the rest. */
int	httpserver_conn_sendv(struct httpconn *c, struct iovec *iov, int niov);

#endif
