/*
 * Every named limit of pushprox, in one place: no file in proxy/, client/
 * or common/ defines a limit of its own.  A limit not marked "fixed" is
 * the default of a flag (the flag tables in proxy/config.c and
 * client/config.c take it from here; a _MS or _BYTES twin derived from it
 * is what the code uses).  One marked "fixed" is a hard limit with no
 * flag, and says why.  Messages print these values, never a figure.
 */
#ifndef PUSHPROX_LIMITS_H
#define PUSHPROX_LIMITS_H

/*
 * A limit as a flag default (flag defaults are strings in flag syntax,
 * see common/flags.h): LIMIT_STR(LIMIT_AUTH_QUEUE) is "32".  Only a limit
 * written as one literal stringifies well; one with a unit is written as a
 * literal in the flag's unit (LIMIT_X_S 30) with the value code uses
 * derived from it (LIMIT_X_MS), and the default is LIMIT_STR(LIMIT_X_S)
 * "s".  Shared by proxy/config.c and client/config.c (added by proxy9).
 */
#define LIMIT_XSTR(x)	#x
#define LIMIT_STR(x)	LIMIT_XSTR(x)

/* HTTP messages (both daemons). */
#define LIMIT_MAX_HEADER_KIB        16            /* request line + headers */
#define LIMIT_MAX_HEADER_BYTES      (LIMIT_MAX_HEADER_KIB * 1024)
#define LIMIT_MAX_HEADERS           100           /* fixed: header count */
#define LIMIT_MAX_REASON_BYTES      128           /* fixed: a relayed reason
                                                     phrase longer (or not
                                                     VCHAR/SP/HTAB) becomes
                                                     the standard one */
#define LIMIT_MAX_INTERIM_RESPONSES 8             /* fixed: 1xx skipped in
                                                     one push */
#define LIMIT_MAX_FQDN_BYTES        253           /* fixed: DNS name length */
#define LIMIT_MAX_POLL_BODY_BYTES   1024          /* fixed: body of POST
                                                     /poll (one FQDN) */
#define LIMIT_MAX_PUSH_MIB          256           /* body of POST /push */
#define LIMIT_MAX_SCRAPE_REQ_BYTES  (64 * 1024)   /* fixed: poll answer
                                                     body (one request head
                                                     under the proxy's
                                                     header cap) */
#define LIMIT_MAX_CONNECTIONS       100000        /* proxy: open connections */
#define LIMIT_MAX_POLLS_PER_FQDN    16            /* proxy: parked polls each */
#define LIMIT_FD_RESERVE            100           /* fixed: descriptors kept
                                                     for scrapers, pushes,
                                                     logs */
#define LIMIT_MAX_METRIC_SERIES     1000          /* fixed: series per family */
#define LIMIT_METRIC_LABELS         16            /* fixed: label names of a
                                                     family (ours, in code) */
#define LIMIT_REPLY_HEADER_BYTES    (8 * 1024)    /* fixed: a reply's own
                                                     headers (ours; relayed
                                                     ones fit by reserve) */
#define LIMIT_LISTENERS             4             /* fixed: listen addresses
                                                     of one HTTP server */
#define LIMIT_ACCEPT_PAUSE_MS       100           /* fixed: accepts paused
                                                     when out of descriptors */

/* Logging and configuration files (both daemons). */
#define LIMIT_LOG_VALUE_BYTES       4096          /* fixed: input bytes kept
                                                     of one logged value */
#define LIMIT_LOG_LINE_BYTES        (256 * 1024)  /* fixed: one log line */
#define LIMIT_WEBCONFIG_BYTES       (1 << 20)     /* fixed: --web.config.file */
#define LIMIT_WEBCONFIG_USERS       10000         /* fixed: basic_auth_users
                                                     entries */

/* Password checks (proxy, basic_auth_users): bcrypt off the event loop. */
#define LIMIT_AUTH_THREADS          2             /* bcrypt worker threads */
#define LIMIT_AUTH_QUEUE            32            /* checks waiting;
                                                     more: 503 */
#define LIMIT_AUTH_FAILURES_PER_MIN 60            /* failed checks a source
                                                     may make a minute (and in
                                                     a burst); more: 429 */
#define LIMIT_AUTH_SOURCES          4096          /* fixed: sources whose
                                                     failures are counted */
#define LIMIT_AUTH_HASH_BYTES       128           /* fixed: a user's hash
                                                     (bcrypt's are 60) */
#define LIMIT_AUTH_PASSWORD_BYTES   768           /* fixed: a decoded
                                                     "user:password" */

/* Proxy: client identity (--client.auth), scrapes, /metrics. */
#define LIMIT_CLIENT_TOKENS         100000        /* fixed: lines of
                                                     --client.tokens-file */
#define LIMIT_TOKEN_PATTERNS        16            /* fixed: FQDN patterns
                                                     of one token */
#define LIMIT_TOKEN_LINE_BYTES      4096          /* fixed: one line of
                                                     --client.tokens-file */
#define LIMIT_CERT_NAMES            32            /* fixed: SAN/CN names of a
                                                     client certificate
                                                     matched against an FQDN */
#define LIMIT_SCRAPE_TIMEOUT_S      15            /* without a timeout header */
#define LIMIT_SCRAPE_MAX_TIMEOUT_MIN 5            /* longer ones are clamped */
#define LIMIT_REGISTRATION_MIN      5             /* a silent client stays
                                                     registered */
#define LIMIT_POLL_TIMEOUT_S        30            /* a poll without work is
                                                     answered 204 */
#define LIMIT_SWEEP_MS              1000          /* fixed: expired clients
                                                     are forgotten this often */
#define LIMIT_METRICS_BYTES         (64 * 1024 * 1024) /* fixed: the proxy's
                                                     /metrics exposition */

/* The proxy's life cycle and what operators see (issue 12, plife). */
#define LIMIT_SHUTDOWN_TIMEOUT_S    15            /* SIGTERM: scrapes in
                                                     flight may finish this
                                                     long */
#define LIMIT_DRAIN_TICK_MS         100           /* fixed: while draining,
                                                     parked polls are
                                                     answered and the end is
                                                     checked this often */
#define LIMIT_DRAIN_FLUSH_MS        500           /* fixed: after the last
                                                     scrape, replies queued
                                                     get this long to leave */
#define LIMIT_SDNOTIFY_STATUS_S     10            /* fixed: STATUS= to
                                                     systemd this often (the
                                                     watchdog's half-interval
                                                     when that is shorter) */
#define LIMIT_STATS_PER_CLIENT      100           /* per-client metric series
                                                     while at most this many
                                                     clients are registered */
#define LIMIT_STATS_RECENT          8             /* fixed: recent scrape
                                                     outcomes kept per client
                                                     for the status page */
#define LIMIT_STATUS_PAGE_ROWS      100           /* fixed: clients on one
                                                     page of GET / */
#define LIMIT_STATUS_QUERY_BYTES    256           /* fixed: ?q= filter */
#define LIMIT_STATUS_PAGE_MIB       16            /* fixed: one status page
                                                     (rows of 100 clients,
                                                     labels included) */

/*
 * Output buffering: a relayed body never queues more than this per side,
 * and a connection's pipelined requests wait unparsed (its socket unread)
 * while more than this of its replies is unsent, until half has gone.
 */
#define LIMIT_RELAY_HIGH_WATER      (256 * 1024)  /* fixed */
#define LIMIT_READ_CHUNK            (64 * 1024)   /* fixed: one read */

/* Deadlines, in the flag's unit and in milliseconds. */
#define LIMIT_IDLE_TIMEOUT_MIN      5               /* keep-alive idle */
#define LIMIT_IDLE_TIMEOUT_MS       (LIMIT_IDLE_TIMEOUT_MIN * 60 * 1000)
#define LIMIT_READ_TIMEOUT_S        30              /* headers/body stall */
#define LIMIT_READ_TIMEOUT_MS       (LIMIT_READ_TIMEOUT_S * 1000)
#define LIMIT_READ_HEADER_TIMEOUT_S 10              /* a whole request head,
                                                     from its first byte (or
                                                     accept, TLS included) */
#define LIMIT_READ_HEADER_TIMEOUT_MS (LIMIT_READ_HEADER_TIMEOUT_S * 1000)
#define LIMIT_WRITE_TIMEOUT_S       30              /* reply stall */
#define LIMIT_WRITE_TIMEOUT_MS      (LIMIT_WRITE_TIMEOUT_S * 1000)
#define LIMIT_SHUTDOWN_GRACE_MS     (5 * 1000)      /* fixed: SIGTERM drain */

/* Client (its scrape timeout default is LIMIT_SCRAPE_TIMEOUT_S). */
#define LIMIT_MAX_SCRAPE_BYTES      268435456     /* 256MiB: one target
                                                     response body */
#define LIMIT_MAX_CONCURRENT_SCRAPES 64           /* target fetches at once */
#define LIMIT_MAX_REDIRECTS         10            /* hops a scrape follows */
#define LIMIT_PUSH_GZIP_LEVEL       4             /* --push.gzip-level: zlib
                                                     level of a compressed push
                                                     (4: 5.9x on node exporter
                                                     text for 12 ns a byte) */
#define LIMIT_PUSH_GZIP_MIN_BYTES   512           /* fixed: smaller bodies
                                                     are pushed as they are */
#define LIMIT_PUSH_GZIP_OUT_BYTES   (16 * 1024)   /* fixed: a streamed
                                                     compressed push's output
                                                     buffer */
#define LIMIT_RETRY_INITIAL_WAIT_S  1             /* first wait after a
                                                     failed poll */
#define LIMIT_RETRY_MAX_WAIT_S      5             /* longest one */
#define LIMIT_CLIENT_POLL_TIMEOUT_MIN 5           /* one long poll */
#define LIMIT_MAX_PROXIES           16            /* fixed: --proxy-url given
                                                     at most this often */
#define LIMIT_CLIENT_SHUTDOWN_TIMEOUT_S 15        /* the client's SIGTERM:
                                                     scrapes in flight finish
                                                     within
                                                     (--shutdown-timeout) */
#define LIMIT_CLIENT_STATUS_S       10            /* fixed: the client's
                                                     STATUS= to systemd this
                                                     often (or the watchdog's
                                                     half-interval if
                                                     shorter) */
#define LIMIT_SHUTDOWN_PUSH_MS      (2 * 1000)    /* fixed: then the 503s
                                                     of the rest are pushed
                                                     within */
#define LIMIT_CONNECT_TIMEOUT_MS    (10 * 1000)   /* fixed: to a target or
                                                     the proxy */
#define LIMIT_MIN_PUSH_TIMEOUT_MS   (5 * 1000)    /* fixed: a push may take
                                                     at least this long */
#define LIMIT_PUSH_HEAD_SLACK       1024          /* fixed: a push head's
                                                     bytes beyond the target's
                                                     (status line, Id, ...) */
#define LIMIT_ERROR_BODY_BYTES      4096          /* fixed: an error message
                                                     pushed or printed */
#define LIMIT_LOG_ANSWER_BYTES      128           /* fixed: a proxy's answer
                                                     quoted in a log line */
#define LIMIT_LOG_PATH_BYTES        512           /* fixed: a refused path
                                                     quoted in a message */
#define LIMIT_POLL_KEEPALIVE_S      15            /* fixed: TCP keep-alive
                                                     idle and interval */
#define LIMIT_POLL_MIN_EMPTY_MS     1000          /* fixed: a shorter empty
                                                     poll pauses initial-wait */
#define LIMIT_TARGET_MARGIN_MS      500           /* fixed: a target's
                                                     deadline before the
                                                     scrape's (or 10 %) */
#define LIMIT_TOKEN_BYTES           4096          /* fixed: a bearer token */
#define LIMIT_ALLOW_RULES           256           /* fixed: --scrape.allow
                                                     patterns */
#define LIMIT_ALLOW_PATTERN_BYTES   2048          /* fixed: one pattern */
#define LIMIT_CLIENT_METRICS_BYTES  (4 * 1024 * 1024) /* fixed: /metrics */
#define LIMIT_CLIENT_METRICS_CONNECTIONS 64       /* fixed: its listener */
#define LIMIT_CLIENT_STATUS_SCRAPES 32            /* fixed: last scrapes on
                                                     the client's status page
                                                     (GET / of the client) */
#define LIMIT_CLIENT_STATUS_FIELD_BYTES 256       /* fixed: a URL or message
                                                     kept per scrape or proxy
                                                     for it (longer: cut) */
#define LIMIT_CLIENT_STATUS_PAGE_MIB 8            /* fixed: one client status
                                                     page (its targets and
                                                     labels included) */

/*
 * Targets and advertisements (issue 10; docs/protocol.md).  The flagged
 * caps are enforced by the proxy on POST /advertise and by the client on
 * its own --targets.file, so a client learns of an oversized set at load.
 */
#define LIMIT_MAX_TARGETS_PER_CLIENT 1000         /* targets one client
                                                     advertises */
#define LIMIT_MAX_LABEL_KIB_PER_CLIENT 64         /* names + values of
                                                     all its labels */
#define LIMIT_MAX_LABEL_BYTES_PER_CLIENT (LIMIT_MAX_LABEL_KIB_PER_CLIENT * 1024)
#define LIMIT_MAX_ADVERT_KIB        512           /* body of POST /advertise */
#define LIMIT_MAX_ADVERT_BYTES      (LIMIT_MAX_ADVERT_KIB * 1024)
#define LIMIT_MAX_SD_MIB            256           /* fixed: one /targets or
                                                     /clients answer (past
                                                     it: 503 naming it) */
#define LIMIT_MAX_LABELS            64            /* fixed: labels in a set */
#define LIMIT_MAX_LABEL_NAME_BYTES  128           /* fixed */
#define LIMIT_MAX_LABEL_VALUE_BYTES 1024          /* fixed */
#define LIMIT_MAX_TARGET_NAME_BYTES 128           /* fixed */
#define LIMIT_MAX_TARGETS_FILE_BYTES (1 << 20)    /* fixed: --targets.file
                                                     and each included file */
#define LIMIT_TARGETS_RESCAN_S      30            /* fallback rescan of the
                                                     socket and include dirs
                                                     (--targets.rescan-interval)
                                                     */
#define LIMIT_TARGETS_SETTLE_MS     100           /* fixed: wait after a dir
                                                     event before rescanning */
#endif
