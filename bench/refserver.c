/*
 * The reference relays of compare mode: Debian's nginx and HAProxy, each
 * started by the bench as one process on loopback with its own config,
 * pid, log and temp files in a fresh directory under --log-dir (never the
 * system services or their files), pinned to one CPU like the proxy.
 *
 * nginx runs with master_process off, so the one process that does the
 * work is the one whose CPU time is read: proxy_pass to the origin (the
 * bench's own HTTP server) over an upstream keep-alive pool, and the same
 * body served from a file, both with Debian's default sendfile and
 * tcp_nopush.  HAProxy runs in the foreground (-db), nbthread 1, mode
 * http, keep-alive both ways.  Neither logs requests.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define REFSERVER_MAX_ARGS	16

static int
refserver_write(const char *path, const void *data, size_t len)
{
	FILE *f;
	int ok;

	if ((f = fopen(path, "we")) == NULL) {
		bench_log("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	ok = fwrite(data, 1, len, f) == len;
	if (fclose(f) != 0 || !ok) {
		bench_log("cannot write %s", path);
		return -1;
	}
	return 0;
}

static int
refserver_mkdir(struct refserver *rs, const struct bench_config *cfg,
    const char *name)
{
	memset(rs, 0, sizeof(*rs));
	snprintf(rs->dir, sizeof(rs->dir), "%s/pushprox-bench-%s-XXXXXX",
	    cfg->log_dir, name);
	if (mkdtemp(rs->dir) == NULL) {
		bench_log("cannot make a directory for %s under %s: %s", name,
		    cfg->log_dir, strerror(errno));
		rs->dir[0] = '\0';
		return -1;
	}
	snprintf(rs->log, sizeof(rs->log), "%s/%s.log", rs->dir, name);
	return 0;
}

/* Copies the server's output to stderr (it is removed with rs->dir). */
static void
refserver_show_log(const struct refserver *rs)
{
	char line[512];
	FILE *f;
	int n = 0;

	if ((f = fopen(rs->log, "re")) == NULL)
		return;
	while (n++ < 40 && fgets(line, sizeof(line), f) != NULL)
		fprintf(stderr, "  | %s", line);
	fclose(f);
}

/* Forks, pins, execs argv with its output in rs->log; waits for port. */
static int
refserver_spawn(struct refserver *rs, const char *const *argv, int port,
    int cpu)
{
	struct sockaddr_in a;
	pid_t pid;
	int fd;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		bench_log("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (cpu >= 0)
			(void)procstat_pin(0, cpu);
		fd = open(rs->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644);
		if (fd != -1) {
			(void)dup2(fd, STDOUT_FILENO);
			(void)dup2(fd, STDERR_FILENO);
		}
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	rs->pid = pid;
	if (net_parse_hostport("127.0.0.1:1", &a) == -1)
		return -1;
	a.sin_port = htons((uint16_t)port);
	if (net_wait_port(&a, pid, 10) == -1) {
		bench_log("%s did not start; its output:", argv[0]);
		refserver_show_log(rs);
		return -1;
	}
	bench_log("started %s on 127.0.0.1:%d (pid %ld, directory %s)",
	    argv[0], port, (long)pid, rs->dir);
	return 0;
}

int
refserver_nginx(struct refserver *rs, const struct bench_config *cfg,
    int proxy_port, int static_port, int origin_port,
    const struct payload *body, int cpu)
{
	char conf[4096], path[512], elog[512];
	const char *argv[REFSERVER_MAX_ARGS];
	int n;

	if (refserver_mkdir(rs, cfg, "nginx") == -1)
		return -1;
	n = snprintf(conf, sizeof(conf),
	    "daemon off;\n"
	    "master_process off;\n"
	    "worker_processes 1;\n"
	    "pid %s/nginx.pid;\n"
	    "error_log %s/error.log warn;\n"
	    "events { worker_connections 4096; }\n"
	    "http {\n"
	    "  access_log off;\n"
	    "  sendfile on;\n"
	    "  tcp_nopush on;\n"
	    "  default_type text/plain;\n"
	    "  client_body_temp_path %s/body;\n"
	    "  proxy_temp_path %s/proxy;\n"
	    "  fastcgi_temp_path %s/fastcgi;\n"
	    "  uwsgi_temp_path %s/uwsgi;\n"
	    "  scgi_temp_path %s/scgi;\n"
	    "  keepalive_requests 1000000;\n"
	    "  upstream origin {\n"
	    "    server 127.0.0.1:%d;\n"
	    "    keepalive 64;\n"
	    "    keepalive_requests 1000000;\n"
	    "  }\n"
	    "  server {\n"
	    "    listen 127.0.0.1:%d;\n"
	    "    location / {\n"
	    "      proxy_pass http://origin;\n"
	    "      proxy_http_version 1.1;\n"
	    "      proxy_set_header Connection \"\";\n"
	    "    }\n"
	    "  }\n"
	    "  server {\n"
	    "    listen 127.0.0.1:%d;\n"
	    "    root %s/www;\n"
	    "  }\n"
	    "}\n", rs->dir, rs->dir, rs->dir, rs->dir, rs->dir, rs->dir,
	    rs->dir, origin_port, proxy_port, static_port, rs->dir);
	if (n < 0 || (size_t)n >= sizeof(conf))
		return -1;
	snprintf(path, sizeof(path), "%s/nginx.conf", rs->dir);
	if (refserver_write(path, conf, (size_t)n) == -1)
		return -1;
	snprintf(elog, sizeof(elog), "%s/www", rs->dir);
	if (mkdir(elog, 0755) == -1) {
		bench_log("cannot make %s: %s", elog, strerror(errno));
		return -1;
	}
	snprintf(elog, sizeof(elog), "%s/www/metrics", rs->dir);
	if (refserver_write(elog, body->data, body->len) == -1)
		return -1;
	snprintf(elog, sizeof(elog), "%s/error.log", rs->dir);
	argv[0] = cfg->nginx_bin;
	argv[1] = "-p";
	argv[2] = rs->dir;
	argv[3] = "-e";
	argv[4] = elog;
	argv[5] = "-c";
	argv[6] = path;
	argv[7] = NULL;
	if (refserver_spawn(rs, argv, proxy_port, cpu) == -1)
		return -1;
	return 0;
}

int
refserver_haproxy(struct refserver *rs, const struct bench_config *cfg,
    int port, int origin_port, int cpu)
{
	char conf[2048], path[512];
	const char *argv[REFSERVER_MAX_ARGS];
	int n;

	if (refserver_mkdir(rs, cfg, "haproxy") == -1)
		return -1;
	n = snprintf(conf, sizeof(conf),
	    "global\n"
	    "  nbthread 1\n"
	    "  maxconn 4096\n"
	    "defaults\n"
	    "  mode http\n"
	    "  option http-keep-alive\n"
	    "  http-reuse always\n"
	    "  timeout connect 5s\n"
	    "  timeout client 60s\n"
	    "  timeout server 60s\n"
	    "frontend fe\n"
	    "  bind 127.0.0.1:%d\n"
	    "  default_backend origin\n"
	    "backend origin\n"
	    "  server origin 127.0.0.1:%d\n", port, origin_port);
	if (n < 0 || (size_t)n >= sizeof(conf))
		return -1;
	snprintf(path, sizeof(path), "%s/haproxy.cfg", rs->dir);
	if (refserver_write(path, conf, (size_t)n) == -1)
		return -1;
	argv[0] = cfg->haproxy_bin;
	argv[1] = "-db";
	argv[2] = "-f";
	argv[3] = path;
	argv[4] = NULL;
	return refserver_spawn(rs, argv, port, cpu);
}

static int
refserver_rm_cb(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	(void)remove(path);
	return 0;
}

void
refserver_stop(struct refserver *rs)
{
	double end;
	bool reaped = false;
	int status;

	if (rs->pid > 0) {
		(void)kill(rs->pid, SIGTERM);
		for (end = bench_now() + 10; !reaped && bench_now() < end; ) {
			reaped = waitpid(rs->pid, &status, WNOHANG) == rs->pid;
			if (!reaped)
				bench_sleep(0.02);
		}
		if (!reaped) {
			(void)kill(rs->pid, SIGKILL);
			(void)waitpid(rs->pid, &status, 0);
		}
		rs->pid = 0;
	}
	if (rs->dir[0] != '\0')
		(void)nftw(rs->dir, refserver_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	rs->dir[0] = '\0';
}
