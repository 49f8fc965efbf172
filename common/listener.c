/*
 * Listening sockets.  We create and bind the socket ourselves (rather than
 * evconnlistener_new_bind) to set IPV6_V6ONLY off for ":port", so one
 * socket serves IPv4 and IPv6 as Go's net.Listen(":port") does.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "duration.h"
#include "listener.h"
#include "log.h"
#include "pushprox_limits.h"

struct listener {
	struct evconnlistener	*evl;
	struct event		*resume_ev;
	listener_accept_cb	 cb;
	void			*arg;
	int			 port;
	time_t			 last_warn; /* rate-limits accept warnings */
	unsigned long		 failures;	/* since the last warning */
	char			 addr[64];
};

static void
listener_setsockopts(evutil_socket_t fd)
{
	int on = 1, idle = 30, intvl = 10, cnt = 3;

	/* Best effort: a failure here costs only dead-peer detection speed. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static void
listener_peer_format(const struct sockaddr *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(s4->sin_port));
	} else
		snprintf(out, len, "unknown");
}

static void
listener_accept_ev_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	char peer[INET6_ADDRSTRLEN + 8];

	listener_peer_format(sa, peer, sizeof(peer));
	listener_setsockopts(fd);
	l->cb(fd, peer, l->arg);
}

static void
listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	evconnlistener_enable(l->evl);
}

/* Out of descriptors: pause accepting briefly instead of spinning. */
static void
listener_error_cb(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	struct timeval tv;
	int err = EVUTIL_SOCKET_ERROR();

	time_t now = time(NULL);
	char count[32], pause[32];

	/* Out of descriptors this repeats every pause: warn every 10 s. */
	l->failures++;
	if (now - l->last_warn >= 10) {
		snprintf(count, sizeof(count), "%lu", l->failures);
		snprintf(pause, sizeof(pause), "%dms", LIMIT_ACCEPT_PAUSE_MS);
		log_warn("accept failed; pausing accepts", "address", l->addr,
		    "error", evutil_socket_error_to_string(err), "pause",
		    pause, "failures", count);
		l->last_warn = now;
		l->failures = 0;
	}
	evconnlistener_disable(l->evl);
	duration_to_timeval(LIMIT_ACCEPT_PAUSE_MS, &tv);
	evtimer_add(l->resume_ev, &tv);
}

int
listener_split_addr(const char *addr, char *host, size_t hostlen,
    char *port, size_t portlen)
{
	const char *colon, *h = addr, *p;
	size_t n;

	if (*addr == '[') {
		const char *end = strchr(addr, ']');

		if (end == NULL || end[1] != ':')
			return -1;
		h = addr + 1;
		n = (size_t)(end - h);
		colon = end + 1;
	} else {
		if ((colon = strrchr(addr, ':')) == NULL)
			return -1;
		n = (size_t)(colon - addr);
		if (memchr(addr, ':', n) != NULL)
			return -1;	/* bare IPv6 needs brackets */
	}
	p = colon + 1;
	if (n >= hostlen || *p == '\0' || strlen(p) > 5 ||
	    strlen(p) >= portlen || strspn(p, "0123456789") != strlen(p) ||
	    strtol(p, NULL, 10) > 65535)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	snprintf(port, portlen, "%s", p);
	return 0;
}

/* Returns a bound, listening, non-blocking socket, or -1 (logged). */
static evutil_socket_t
listener_bind(const char *addr, const char *host, const char *port)
{
	struct addrinfo hints, *res = NULL, *ai;
	evutil_socket_t fd = -1;
	int on = 1, off = 0, rc, err = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	/* ":port" means every address: one dual-stack IPv6 socket. */
	hints.ai_family = *host == '\0' ? AF_INET6 : AF_UNSPEC;
	if ((rc = getaddrinfo(*host == '\0' ? NULL : host, port, &hints,
	    &res)) != 0 && *host == '\0') {
		hints.ai_family = AF_INET;
		rc = getaddrinfo(NULL, port, &hints, &res);
	}
	if (rc != 0) {
		log_error("cannot listen: cannot resolve address", "address",
		    addr, "error", gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			err = errno;
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (ai->ai_family == AF_INET6 && *host == '\0')
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
			    sizeof(off));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SOMAXCONN) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		log_error("cannot listen", "address", addr, "error",
		    strerror(err));
	return fd;
}

struct listener *
listener_new(struct event_base *base, const char *addr,
    listener_accept_cb cb, void *arg)
{
	struct listener *l;
	char host[256], port[8];
	evutil_socket_t fd;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	if (listener_split_addr(addr, host, sizeof(host), port,
	    sizeof(port)) == -1) {
		log_error("cannot listen: address must be host:port, :port or "
		    "[ipv6]:port with a port from 0 to 65535", "address", addr);
		return NULL;
	}
	if ((fd = listener_bind(addr, host, port)) == -1)
		return NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->resume_ev = evtimer_new(base, listener_resume_cb, l)) ==
	    NULL ||
	    (l->evl = evconnlistener_new(base, listener_accept_ev_cb, l,
	    LEV_OPT_CLOSE_ON_FREE, 0, fd)) == NULL) {
		log_error("cannot listen", "address", addr, "error",
		    "out of memory");
		if (l != NULL && l->resume_ev != NULL)
			event_free(l->resume_ev);
		free(l);
		close(fd);
		return NULL;
	}
	evconnlistener_set_error_cb(l->evl, listener_error_cb);
	l->cb = cb;
	l->arg = arg;
	snprintf(l->addr, sizeof(l->addr), "%s", addr);
	l->port = -1;
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		l->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	return l;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	evconnlistener_free(l->evl);
	event_free(l->resume_ev);
	free(l);
}

int
listener_port(const struct listener *l)
{
	return l->port;
}
