/*
 * pushprox-bench: the declarations its modules share.  The bench speaks the
 * PushProx protocol itself: it plays the clients (simclient.c, in forked
 * generator processes, generator.c) and the scrapers (scraper.c, fetch.c),
 * or the proxy (clientcost.c), and reads the cost of the real binaries from
 * /proc (procstat.c).  Each mode (idle.c, relay.c, large.c, clientcost.c)
 * ends by printing one JSON line of its figures on stdout (report.c);
 * progress and a readable summary go to stderr.
 */
#ifndef PUSHPROX_BENCH_H
#define PUSHPROX_BENCH_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "flags.h"

struct event_base;
struct evbuffer;
struct bufferevent;
struct json_t;

/* The flag table's target (main.c). */
struct bench_config {
	char			*proxy_bin;
	char			*client_bin;
	char			*proxy_url;	/* attach instead of starting */
	int64_t			 proxy_pid;
	char			*log_dir;
	struct flag_strings	 proxy_args;
	int64_t			 clients;
	int64_t			 procs;
	int64_t			 size;
	bool			 gzip;
	int64_t			 concurrency;
	int64_t			 duration_ms;
	int64_t			 warmup_ms;
	int64_t			 scrapes;
	int64_t			 list_fetches;
	int64_t			 large_size;
	int64_t			 idle_ms;
	int64_t			 scrape_timeout_ms;
	char			*source_base;
	int64_t			 connect_batch;
	int64_t			 seed;
	bool			 direct;
	int64_t			 wait_ms;
	char			*nginx_bin;
	char			*haproxy_bin;
	int64_t			 server_cpu;	/* compare: the server's core */
	int64_t			 bench_cpu;	/* compare: the load's core */
	bool			 pin;		/* set by compare, not a flag */
};

int	mode_idle(const struct bench_config *);
int	mode_relay(const struct bench_config *);
int	mode_large(const struct bench_config *);
int	mode_client(const struct bench_config *);
int	mode_compare(const struct bench_config *);

/* --- stats.c: clock, latency samples, random numbers --- */

double	bench_now(void);	/* CLOCK_MONOTONIC seconds */
void	bench_sleep(double seconds);
void	bench_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct samples {
	double	*v;
	size_t	 n;
	size_t	 cap;
	bool	 sorted;
};

void	samples_add(struct samples *, double);
double	samples_pct(struct samples *, double pct);	/* nearest rank */
double	samples_max(struct samples *);
void	samples_free(struct samples *);

uint32_t bench_rand(uint64_t *state);	/* xorshift64* */

/* --- procstat.c: a process's memory and CPU from /proc --- */

int	procstat_mem(pid_t, int64_t *rss_bytes, int64_t *hwm_bytes);

struct procmem {
	int64_t	 rss;	/* VmRSS */
	int64_t	 hwm;	/* VmHWM: peak RSS */
	int64_t	 anon;	/* RssAnon: private memory */
	int64_t	 file;	/* RssFile: mapped files, libraries */
	int64_t	 pss;	/* Pss from smaps_rollup */
};

/* All in bytes; -1 for what cannot be read. */
int	procstat_memx(pid_t, struct procmem *);
int	procstat_cpu(pid_t, double *seconds);
int	procstat_reset_hwm(pid_t);
/* CPU seconds the whole host spent busy since boot (all cores). */
double	procstat_host_busy(void);
/* The 1-minute load average. */
double	procstat_loadavg(void);
long	procstat_raise_nofile(void);
/* The directory of this executable's build tree sibling: "<dir>/../rel". */
int	procstat_sibling(const char *rel, char *out, size_t len);
/* Pins pid (0: this process) to one CPU; 0, or -1 after logging why. */
int	procstat_pin(pid_t, int cpu);

/* --- net.c: loopback sockets --- */

int	net_parse_hostport(const char *s, struct sockaddr_in *out);
int	net_source_addr(const char *base, unsigned offset, struct in_addr *);
struct bufferevent *net_connect(struct event_base *,
	    const struct sockaddr_in *dst, const struct in_addr *src);
int	net_free_port(void);
int	net_wait_port(const struct sockaddr_in *, pid_t, double timeout_s);
void	net_format(const struct sockaddr_in *, char *out, size_t len);

/* --- wire.c: HTTP/1.1 heads, as far as the bench needs them --- */

#define WIRE_MAX_HEAD	(64 * 1024)

struct wire_head {
	size_t	 head_len;	/* bytes up to and including CRLF CRLF */
	int	 status;	/* response */
	char	 method[16];	/* request */
	char	 target[512];
	int64_t	 clen;		/* Content-Length, -1 when absent */
	bool	 chunked;
	bool	 close;
	char	 id[96];	/* "Id" */
	char	 client[32];	/* "X-Bench-Client" */
	char	 encoding[32];	/* "Content-Encoding" */
};

/* 1: a whole head is at the start of in (*len), 0: not yet, -1: too big. */
int	wire_find_head(struct evbuffer *in, size_t *len);
/* Parses len bytes holding a head; 0 or -1 if malformed. */
int	wire_parse_head(const char *p, size_t len, bool request,
	    struct wire_head *);
/* find + parse + drain: 1 done, 0 need more, -1 malformed. */
int	wire_take_head(struct evbuffer *in, bool request, struct wire_head *);
/*
 * Reads up to *left more body bytes straight from bev's socket (past
 * libevent 2.1's 4 KiB reads), passing them to sink; call after the input
 * buffer is consumed.  0, or -1 on end of file or an error.
 */
int	wire_read_direct(struct bufferevent *, int64_t *left,
	    void (*sink)(void *, const char *, size_t), void *arg);
/* Drains up to *left body bytes from in, adding them to crc and *got. */
void	wire_take_body(struct evbuffer *in, int64_t *left, uint32_t *crc,
	    uint64_t *got);

/* --- payload.c: Prometheus text bodies --- */

struct payload {
	unsigned char	*data;		/* the bytes on the wire */
	size_t		 len;
	size_t		 plain_len;	/* before gzip */
	bool		 gzip;
	uint32_t	 crc;		/* CRC-32 of data */
};

int	payload_make(struct payload *, size_t size, bool gzip);
void	payload_free(struct payload *);
uint32_t payload_crc(uint32_t crc, const void *, size_t);
/* CRC-32 of total bytes made by repeating p's data. */
uint32_t payload_stream_crc(const struct payload *, uint64_t total);
/* Adds up to max bytes of the endless stream at *off to out, by reference. */
size_t	payload_stream_add(const struct payload *, struct evbuffer *out,
	    uint64_t *off, uint64_t max);

/* --- proxyproc.c: the proxy under test --- */

struct proxyproc {
	pid_t			 pid;	/* 0: unknown (attached, no --proxy-pid) */
	bool			 owned;
	struct sockaddr_in	 addr;
	char			 hostport[64];
	char			 log[512];
};

int	proxyproc_start(struct proxyproc *, const struct bench_config *,
	    const char *const *args, size_t nargs);
void	proxyproc_stop(struct proxyproc *);
/* Reads the proxy's memory; -1 values when it cannot. */
void	proxyproc_mem(const struct proxyproc *, int64_t *rss, int64_t *hwm);
double	proxyproc_cpu(const struct proxyproc *);

/* --- fetch.c: one HTTP request on a new connection --- */

struct fetch_result {
	int		 status;
	double		 seconds;	/* request queued to last body byte */
	uint64_t	 body_len;
	uint32_t	 crc;
	char		 client[32];
	struct evbuffer	*body;		/* collected when asked */
	char		 err[160];
};

int	fetch_run(struct event_base *, const struct sockaddr_in *,
	    const char *head, bool collect, double timeout_s,
	    struct fetch_result *);
void	fetch_result_free(struct fetch_result *);
/* GET /clients: the number of targets listed, or -1; *seconds taken. */
long	fetch_clients(struct event_base *, const struct sockaddr_in *,
	    double *seconds);
/* Polls /clients until it lists n; seconds waited, or -1 on timeout. */
double	fetch_wait_clients(struct event_base *, const struct sockaddr_in *,
	    long n, double timeout_s);
/* The head of a proxy-form scrape of bench-K.local, as Prometheus sends. */
int	fetch_scrape_head(char *out, size_t len, const char *fqdn,
	    const char *hostport, const char *path, double timeout_s);

/* --- simclient.c: simulated PushProx clients --- */

struct simgen_config {
	struct sockaddr_in	 proxy;
	struct in_addr		 src;
	bool			 bind_src;
	uint32_t		 first;		/* clients first .. first+n-1 */
	uint32_t		 n;
	const struct payload	*payload;	/* pushed body (or block) */
	uint64_t		 push_total;	/* > payload len: stream */
	uint32_t		 connect_batch;
};

struct simgen_stats {
	uint64_t	 polls;
	uint64_t	 empty_polls;	/* 204 */
	uint64_t	 scrapes;	/* 200 with a scrape request */
	uint64_t	 pushes_ok;
	uint64_t	 push_errors;
	uint64_t	 poll_errors;
	uint64_t	 disconnects;
};

struct simgen;

struct simgen *simgen_new(struct event_base *, const struct simgen_config *,
	    void (*ready_cb)(void *), void *arg);
void	simgen_start(struct simgen *);
void	simgen_stats(const struct simgen *, struct simgen_stats *);
void	simgen_free(struct simgen *);

/* --- generator.c: forked processes running simgens --- */

#define GENSET_MAX	64

struct genset {
	int	 n;
	pid_t	 pid[GENSET_MAX];
	int	 fd[GENSET_MAX];
	int	 direct_port;	/* generator 0's direct server, or 0 */
};

int	genset_start(struct genset *, const struct bench_config *,
	    const struct proxyproc *, uint32_t nclients, int procs,
	    const struct payload *, uint64_t push_total, bool direct_server);
int	genset_stats(struct genset *, struct simgen_stats *total);
int	genset_stop(struct genset *, struct simgen_stats *total);
int	genset_procs(const struct bench_config *, uint32_t nclients);

/* --- httpd.c: the bench's own small HTTP/1.1 server --- */

struct httpd;
struct httpd_conn;

struct httpd_handlers {
	/* A request head; its body (Content-Length) follows. */
	void	(*request)(struct httpd_conn *, const struct wire_head *,
		    void *arg);
	void	(*body)(struct httpd_conn *, const char *, size_t, void *arg);
	/* Body complete: reply now or later. */
	void	(*done)(struct httpd_conn *, void *arg);
	/* The connection died with a request unanswered. */
	void	(*gone)(struct httpd_conn *, void *arg);
};

/* Streams a reply body: add to out; return 1 when all was added. */
typedef int (*httpd_fill_cb)(struct httpd_conn *, struct evbuffer *out,
    void *arg);

struct httpd *httpd_new(struct event_base *, const struct httpd_handlers *,
	    void *arg);
int	httpd_port(const struct httpd *);
void	httpd_free(struct httpd *);
void	httpd_set_data(struct httpd_conn *, void *);
void	*httpd_data(const struct httpd_conn *);
/* extra: header lines, each ending in CRLF, or NULL.  Body copied. */
void	httpd_reply(struct httpd_conn *, int status, const char *extra,
	    const void *body, size_t len);
/* The same with the body by reference: it must outlive the reply. */
void	httpd_reply_ref(struct httpd_conn *, int status, const char *extra,
	    const void *body, size_t len);
void	httpd_stream(struct httpd_conn *, int status, const char *extra,
	    uint64_t clen, httpd_fill_cb, void *arg);

/* --- scraper.c: concurrent keep-alive scrapers --- */

struct scrapeset_config {
	struct sockaddr_in	 dst;
	bool			 proxy_form;	/* else direct GET /metrics */
	uint32_t		 nclients;	/* random bench-K.local */
	uint32_t		 conns;
	uint64_t		 expect_len;
	uint32_t		 expect_crc;
	double			 timeout_s;
	uint64_t		 seed;
};

struct scrapeset_stats {
	uint64_t	 ok;
	uint64_t	 errors;
	uint64_t	 err_status;
	uint64_t	 err_body;
	uint64_t	 err_client;
	uint64_t	 err_conn;
	int		 last_status;
};

struct scrapeset;

struct scrapeset *scrapeset_new(struct event_base *,
	    const struct scrapeset_config *);
/* Starts every connection scraping in a loop. */
void	scrapeset_start(struct scrapeset *);
/* Counts and times scrapes that finish while on. */
void	scrapeset_record(struct scrapeset *, bool on);
/* No new scrapes; breaks the loop once all are done. */
void	scrapeset_stop(struct scrapeset *);
struct samples *scrapeset_samples(struct scrapeset *);
void	scrapeset_stats(const struct scrapeset *, struct scrapeset_stats *);
void	scrapeset_free(struct scrapeset *);

/* --- relay.c: one measured phase of keep-alive scrapers --- */

struct relay_result {
	double			 seconds;
	uint64_t		 scrapes;	/* ok + errors in the window */
	struct scrapeset_stats	 st;
	double			 p50, p90, p99, max;	/* microseconds */
	double			 server_cpu;	/* the server measured */
	double			 bench_cpu;
	double			 host_busy;	/* all processes, cores used */
};

/*
 * Scrapes as sc says for --warmup, then for --duration while reading the
 * CPU time of server (and of the bench and the generators of gs); fills r.
 */
int	relay_measure(struct event_base *, const struct bench_config *,
	    const struct scrapeset_config *sc, pid_t server,
	    const struct genset *gs, struct relay_result *r);

/* --- refserver.c: nginx and HAProxy as reference relays --- */

struct refserver {
	pid_t	 pid;
	char	 dir[256];	/* its config, pid, logs, temp files */
	char	 log[300];
};

/*
 * One nginx process (master_process off, one worker's work) on 127.0.0.1:
 * proxy_port proxy_passes to origin_port with upstream keep-alive;
 * static_port serves body as /metrics itself.  Pinned to cpu (-1: not).
 */
int	refserver_nginx(struct refserver *, const struct bench_config *,
	    int proxy_port, int static_port, int origin_port,
	    const struct payload *body, int cpu);
/* HAProxy, one thread, mode http, on port, relaying to origin_port. */
int	refserver_haproxy(struct refserver *, const struct bench_config *,
	    int port, int origin_port, int cpu);
/* Stops it (SIGTERM, then SIGKILL) and removes its directory. */
void	refserver_stop(struct refserver *);

/* --- report.c: figures, as readable lines and one JSON line --- */

struct report;

struct report *report_new(const char *mode);
void	report_int(struct report *, const char *key, int64_t v);
void	report_real(struct report *, const char *key, double v);
/* A size from /proc: null in the JSON when it could not be read (< 0). */
void	report_bytes(struct report *, const char *key, int64_t v);
/* (a - b) / n, or NaN when a or b could not be read. */
double	bench_per(int64_t a, int64_t b, double n);
void	report_bool(struct report *, const char *key, bool v);
void	report_str(struct report *, const char *key, const char *v);
/* Prints the JSON line on stdout and frees. */
void	report_done(struct report *);

#endif
