/*
 * Loopback sockets: parsing "host:port", connecting from a chosen source
 * address (127.0.0.2, 127.0.0.3, ... so that many connections to one
 * destination do not exhaust one address's ephemeral ports), picking a
 * free port and waiting until a port accepts.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bench.h"

int
net_parse_hostport(const char *s, struct sockaddr_in *out)
{
	char host[64];
	const char *colon, *p;
	size_t hl;
	long port = 0;

	if (strncmp(s, "http://", 7) == 0)
		s += 7;
	if ((colon = strchr(s, ':')) == NULL)
		return -1;
	hl = (size_t)(colon - s);
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	for (p = colon + 1; *p >= '0' && *p <= '9' && port <= 65535; p++)
		port = port * 10 + (*p - '0');
	if (p == colon + 1 || port < 1 || port > 65535 ||
	    (*p != '\0' && *p != '/'))
		return -1;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	if (strcmp(host, "localhost") == 0)
		return inet_pton(AF_INET, "127.0.0.1", &out->sin_addr) == 1 ?
		    0 : -1;
	return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

int
net_source_addr(const char *base, unsigned offset, struct in_addr *out)
{
	struct in_addr a;
	uint32_t h;

	if (inet_pton(AF_INET, base, &a) != 1)
		return -1;
	h = ntohl(a.s_addr) + offset;
	if ((h >> 24) != 127)
		return -1;	/* loopback only */
	out->s_addr = htonl(h);
	return 0;
}

struct bufferevent *
net_connect(struct event_base *base, const struct sockaddr_in *dst,
    const struct in_addr *src)
{
	struct bufferevent *bev;
	struct sockaddr_in sa;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return NULL;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (src != NULL) {
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr = *src;
#ifdef IP_BIND_ADDRESS_NO_PORT
		/* Pick the port at connect(), per destination. */
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
#endif
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
			close(fd);
			return NULL;
		}
	}
	if ((bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL) {
		close(fd);
		return NULL;
	}
	if (bufferevent_socket_connect(bev, (const struct sockaddr *)dst,
	    sizeof(*dst)) == -1) {
		bufferevent_free(bev);
		return NULL;
	}
	return bev;
}

int
net_free_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

int
net_wait_port(const struct sockaddr_in *sa, pid_t pid, double timeout_s)
{
	double end = bench_now() + timeout_s;
	int fd, status;

	while (bench_now() < end) {
		if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid)
			return -1;	/* it exited */
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1)
			return -1;
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
			close(fd);
			return 0;
		}
		close(fd);
		bench_sleep(0.02);
	}
	return -1;
}

void
net_format(const struct sockaddr_in *sa, char *out, size_t len)
{
	char host[INET_ADDRSTRLEN];

	if (inet_ntop(AF_INET, &sa->sin_addr, host, sizeof(host)) == NULL)
		snprintf(host, sizeof(host), "?");
	snprintf(out, len, "%s:%u", host, (unsigned)ntohs(sa->sin_port));
}
