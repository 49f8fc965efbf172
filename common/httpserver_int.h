/*
 * The HTTP server's private structures and functions, shared by its files
 * only: httpserver.c (the server: listeners, accept, the connection cap
 * and idle eviction), httpconn.c (a connection's states, parsing,
 * finishing and teardown), httpconnio.c (socket I/O: our own read and
 * write loop on plain sockets, bufferevent_openssl for TLS, pipelining
 * back-pressure), httpdeadline.c (read, idle and head deadlines) and
 * httpreq.c (what a handler does with a request: bodies and replies).
 * Nothing else includes this header.
 */
#ifndef PUSHPROX_HTTPSERVER_INT_H
#define PUSHPROX_HTTPSERVER_INT_H

#include <sys/queue.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <netinet/in.h>

#include <openssl/ssl.h>

#include <event2/util.h>

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
	/* 1xx/204/304/HEAD: body dropped */
	int			 reply_nobody;
};

struct httpconn {
	TAILQ_ENTRY(httpconn)	 entry;
	TAILQ_ENTRY(httpconn)	 idle_entry;	/* on srv->idle: evictable */
	TAILQ_ENTRY(httpconn)	 sched_entry;	/* on srv->scheduled */
	struct httpserver	*srv;
	struct bufferevent	*bev;
	struct httpmsg		*msg;
	struct httpreq		*req;
	struct event		*head_ev;	/* the head's total deadline */
	/* plain: our reads, and the read and idle deadlines */
	struct event		*read_ev;
	int64_t			 read_armed_ms;	/* read_ev's timeout: -1 none */
	/* plain: a reply head held to go out with its first body bytes */
	char			*held;
	size_t			 held_len;
	/* set: close when feed returns */
	const char		*close_reason;
	httpreq_sent_cb		 sent_cb; /* a reply waiting to be flushed */
	void			*sent_arg;
	enum conn_state		 state;
	unsigned		 nrequests;
	/* Flags, packed. */
	unsigned		 idle_listed:1;
	unsigned		 scheduled:1;
	/* pipelining held: output full */
	unsigned		 out_paused:1;
	unsigned		 in_feed:1;
	/* reply queued during feed */
	unsigned		 finish_pending:1;
	unsigned		 keep_alive:1;
	unsigned		 plain:1;	/* not TLS: direct socket I/O */
	unsigned		 reading:1;	/* reads enabled */
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
	struct event		*process_ev;	/* runs srv->scheduled */
	struct httpconn_list	 scheduled;	/* to process this turn */
	size_t			 nscheduled;
};

/* httpconn.c: a connection's lifecycle. */

/* A connection on fd (accepted), or NULL after logging why. */
struct httpconn *httpserver_conn_new(struct httpserver *s, int fd,
    const char *peer);
/* Changes state: deadlines and idle listing follow. */
void	httpserver_conn_set_state(struct httpconn *c, enum conn_state s);
/* The single teardown of a connection (deferred inside the parser). */
void	httpserver_conn_close(struct httpconn *c, const char *why);
/* The reply is fully queued: forget the request, serve the next one. */
void	httpserver_conn_finish(struct httpconn *c);
/* Runs the connection's processing from the loop, not from here. */
void	httpserver_conn_schedule(struct httpconn *c);
/* The server's processing event (httpserver_conn_schedule). */
void	httpserver_process_cb(evutil_socket_t fd, short what, void *arg);
/* Feeds buffered input to the parser as far as the state allows. */
void	httpserver_conn_process(struct httpconn *c);
/* Feeds bytes just read (plain), keeping what is not parsed yet. */
void	httpserver_conn_take(struct httpconn *c, const char *p, size_t len);
/* Reports the fate of a reply that asked for it; at most once. */
void	httpserver_conn_notify_sent(struct httpconn *c, int ok);
/* Answers a protocol error and closes once it is written. */
void	httpserver_conn_reply_error(struct httpconn *c, int status,
    const char *text);

/* httpconnio.c: socket I/O. */

/* Creates the I/O state (plain: our read event); -1 out of memory. */
int	httpserver_conn_io_new(struct httpconn *c);
/* Sets the I/O callbacks and starts reading (and writing). */
void	httpserver_conn_io_start(struct httpconn *c);
/* Sends text and closes once it is written (refused at the cap). */
void	httpserver_conn_io_refuse(struct httpconn *c, const char *text,
    size_t len);
/* Frees the I/O state: the held head and our read event. */
void	httpserver_conn_io_free(struct httpconn *c);
/* Turns reading on or off (plain: our event; TLS: the bufferevent's). */
void	httpserver_conn_reading(struct httpconn *c, int on);
/* Sends at once what fits (plain sockets), queues the rest. */
int	httpserver_conn_sendv(struct httpconn *c, struct iovec *iov, int niov);
/*
 * Holds a reply head (plain, nothing queued) to go out in one sendmsg
 * with the first body bytes, or at the end of this loop turn; else sends.
 */
int	httpserver_conn_hold(struct httpconn *c, struct iovec *iov, int niov);
/* Sends a held head now. */
void	httpserver_conn_flush(struct httpconn *c);
/* Reply bytes not yet written to the socket. */
size_t	httpserver_conn_queued(const struct httpconn *c);
/* After a reply: hold pipelined requests while too much is unsent. */
int	httpserver_conn_pause_output(struct httpconn *c);

/* httpdeadline.c: deadlines. */

/* Sets the read/idle and write deadlines the state asks for. */
void	httpserver_conn_set_timeouts(struct httpconn *c);
/* Starts the head's total deadline, unless it runs already (or is off). */
void	httpserver_conn_head_arm(struct httpconn *c);
/* The head's total deadline passed. */
void	httpserver_conn_head_timeout_cb(evutil_socket_t fd, short what,
    void *arg);
/* The read or idle deadline passed: closes c. */
void	httpserver_conn_read_timeout(struct httpconn *c);

/* httpserver.c: the server. */

/* Keeps c on the idle list exactly while it may be evicted. */
void	httpserver_conn_idle_update(struct httpconn *c);

#endif
