/*
 * The --scrape.allow list: each pattern is checked and split once, at
 * start-up, into a port (0 for "*") and a path (NULL for any); matching is
 * a walk over at most LIMIT_ALLOW_RULES rules per scrape.  The refusal text
 * says which half failed (port, path, both, or only their combination)
 * and lists the patterns as they were given.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allow.h"
#include "pushprox_limits.h"

#define ALLOW_MAX_PORT_DIGITS	5

struct allow_rule {
	uint16_t	 port;		/* 0: any port */
	char		*path;		/* NULL: any path */
	char		*pattern;	/* as given, for the refusal text */
};

struct allow {
	struct allow_rule	*rules;
	size_t			 n;
};

struct allow *
allow_new(void)
{
	return calloc(1, sizeof(struct allow));
}

void
allow_free(struct allow *a)
{
	size_t	 i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++) {
		free(a->rules[i].path);
		free(a->rules[i].pattern);
	}
	free(a->rules);
	free(a);
}

size_t
allow_count(const struct allow *a)
{
	return a != NULL ? a->n : 0;
}

/* "*" -> 0, "1".."65535" -> the port; -1 for anything else. */
static int
allow_parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (len == 1 && s[0] == '*') {
		*port = 0;
		return 0;
	}
	if (len == 0 || len > ALLOW_MAX_PORT_DIGITS)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > UINT16_MAX)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* NULL if path may be matched against URL paths, else why not. */
static const char *
allow_check_path(const char *path)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)path; *p != '\0'; p++) {
		if (*p == '?' || *p == '#')
			return "path must not contain a query or fragment "
			    "(it matches the URL path exactly)";
		if (*p <= ' ' || *p == 0x7f)
			return "path must not contain spaces or control "
			    "characters";
	}
	return NULL;
}

int
allow_add(struct allow *a, const char *pattern, const char **why)
{
	struct allow_rule	 r, *nr;
	size_t			 seg, lead;

	if (pattern[0] == '\0') {
		*why = "empty pattern (expected PORT, PORT/PATH or */PATH)";
		return -1;
	}
	if (strlen(pattern) > LIMIT_ALLOW_PATTERN_BYTES) {
		*why = "pattern longer than "
		    LIMIT_STR(LIMIT_ALLOW_PATTERN_BYTES) " bytes";
		return -1;
	}
	if (a->n == LIMIT_ALLOW_RULES) {
		*why = "too many --scrape.allow patterns (at most "
		    LIMIT_STR(LIMIT_ALLOW_RULES) ")";
		return -1;
	}
	memset(&r, 0, sizeof(r));
	seg = strcspn(pattern, "/");
	if (allow_parse_port(pattern, seg, &r.port) == -1) {
		/* "9100metrics": a port, then something that is no path. */
		lead = pattern[0] == '*' ? 1 : strspn(pattern, "0123456789");
		if (pattern[seg] == '\0' && lead > 0 &&
		    allow_parse_port(pattern, lead, &r.port) == 0)
			*why = "path must start with /";
		else
			*why = "port must be 1..65535 or *";
		return -1;
	}
	if (pattern[seg] == '/' && (*why = allow_check_path(pattern + seg)) !=
	    NULL)
		return -1;
	if ((nr = reallocarray(a->rules, a->n + 1, sizeof(*nr))) == NULL) {
		*why = "out of memory";
		return -1;
	}
	a->rules = nr;
	if ((r.pattern = strdup(pattern)) == NULL ||
	    (pattern[seg] == '/' && (r.path = strdup(pattern + seg)) == NULL)) {
		free(r.pattern);
		*why = "out of memory";
		return -1;
	}
	a->rules[a->n++] = r;
	return 0;
}

static bool
allow_rule_port_match(const struct allow_rule *r, uint16_t port)
{
	return r->port == 0 || r->port == port;
}

static bool
allow_rule_path_match(const struct allow_rule *r, const char *path)
{
	return r->path == NULL || strcmp(r->path, path) == 0;
}

bool
allow_match(const struct allow *a, uint16_t port, const char *path)
{
	size_t	 i;

	/* Port 0 is the named-target route, never a plain scrape. */
	if (port == 0)
		return false;
	if (a == NULL || a->n == 0)
		return true;
	for (i = 0; i < a->n; i++)
		if (allow_rule_port_match(&a->rules[i], port) &&
		    allow_rule_path_match(&a->rules[i], path))
			return true;
	return false;
}

/* snprintf at *off; false once out is full (it stays NUL-terminated). */
static bool
allow_appendf(char *out, size_t outlen, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool
allow_appendf(char *out, size_t outlen, size_t *off, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (*off + 1 >= outlen)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(out + *off, outlen - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen - *off) {
		*off = outlen - 1;
		return false;
	}
	*off += (size_t)n;
	return true;
}

void
allow_explain(const struct allow *a, uint16_t port, const char *path,
    char *out, size_t outlen)
{
	bool	 port_ok = false, path_ok = false;
	size_t	 i, off = 0, keep;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (port == 0) {
		allow_appendf(out, outlen, &off, "port 0 is the named-target "
		    "route (/pushprox/targets/NAME/metrics), not a port to "
		    "connect to");
		return;
	}
	if (a == NULL || a->n == 0) {
		allow_appendf(out, outlen, &off, "nothing is refused (no "
		    "--scrape.allow given)");
		return;
	}
	/*
	 * A port counts as allowed if a rule names it, a path if a rule
	 * names it or a rule allows every path on some port: "*" followed by
	 * "/probe" does not make port 22 an allowed port.
	 */
	for (i = 0; i < a->n; i++) {
		port_ok = port_ok || a->rules[i].port == port;
		path_ok = path_ok || allow_rule_path_match(&a->rules[i], path);
	}
	if (!port_ok && !path_ok)
		allow_appendf(out, outlen, &off, "port %u and path %.*s "
		    "are not allowed", (unsigned)port, LIMIT_LOG_PATH_BYTES,
		    path);
	else if (!port_ok)
		allow_appendf(out, outlen, &off, "port %u is not allowed",
		    (unsigned)port);
	else if (!path_ok)
		allow_appendf(out, outlen, &off, "path %.*s is not allowed",
		    LIMIT_LOG_PATH_BYTES, path);
	else
		allow_appendf(out, outlen, &off, "path %.*s is not allowed on "
		    "port %u", LIMIT_LOG_PATH_BYTES, path, (unsigned)port);
	if (!allow_appendf(out, outlen, &off, " by --scrape.allow (allowed: "))
		return;
	for (i = 0; i < a->n; i++) {
		keep = off;
		/* Leave room for ", ...)" so a long list still ends well. */
		if (off + strlen(a->rules[i].pattern) + 8 >= outlen ||
		    !allow_appendf(out, outlen, &off, "%s%s", i > 0 ? ", " : "",
		    a->rules[i].pattern)) {
			off = keep;
			out[off] = '\0';
			allow_appendf(out, outlen, &off, "%s...)",
			    i > 0 ? ", " : "");
			return;
		}
	}
	allow_appendf(out, outlen, &off, ")");
}
