/*
 * The process-wide logger.  Each event is formatted completely into one
 * line before a single fwrite, so concurrent writers to the same stream
 * (other processes sharing stderr) never interleave within a line.  Every
 * value is escaped here: a peer-supplied string can neither split a line
 * nor forge a key, in logfmt or JSON.  Values longer than
 * LIMIT_LOG_VALUE_BYTES
 * are cut, so one huge header cannot blow up the log.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "log.h"
#include "pushprox_limits.h"


const char *const log_level_names[] = { "debug", "info", "warn", "error",
    NULL };
const char *const log_format_names[] = { "logfmt", "json", NULL };

static struct {
	enum log_level	 level;
	enum log_format	 format;
	FILE		*out;		/* NULL: stderr */
	log_hook_cb	 hook;
	void		*hook_arg;
	log_hook_cb	 warn_hook;	/* warn and above, whatever the level */
	void		*warn_hook_arg;
} log_state = { LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, NULL, NULL, NULL, NULL,
    NULL };

void
log_setup(enum log_level level, enum log_format format, FILE *out)
{
	log_state.level = level;
	log_state.format = format;
	log_state.out = out;
}

void
log_set_hook(log_hook_cb hook, void *arg)
{
	log_state.hook = hook;
	log_state.hook_arg = arg;
}

void
log_set_warn_hook(log_hook_cb hook, void *arg)
{
	log_state.warn_hook = hook;
	log_state.warn_hook_arg = arg;
}

bool
log_enabled(enum log_level level)
{
	return level >= log_state.level;
}

static const char *
log_level_name_get(enum log_level level)
{
	if ((unsigned)level > LOG_LEVEL_ERROR)
		return "error";
	return log_level_names[level];
}

/* Length of the valid UTF-8 sequence at p (of n bytes), or 0 if invalid. */
static size_t
log_utf8_len_get(const unsigned char *p, size_t n)
{
	size_t		 len, i;
	uint32_t	 c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, c = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	/* Reject overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return len;
}

static bool
log_logfmt_quoting_check(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0)
		return true;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f || c == '=' || c == '"')
			return true;
	}
	return false;
}

static int
log_logfmt_value_write(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i;
	int	 r = 0;

	if (!log_logfmt_quoting_check(s, n))
		return buf_append(b, s, n);
	r |= buf_append(b, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 0xf] };

		switch (c) {
		case '"':
			r |= buf_append(b, "\\\"", 2);
			break;
		case '\\':
			r |= buf_append(b, "\\\\", 2);
			break;
		case '\n':
			r |= buf_append(b, "\\n", 2);
			break;
		case '\r':
			r |= buf_append(b, "\\r", 2);
			break;
		case '\t':
			r |= buf_append(b, "\\t", 2);
			break;
		default:
			if (c < ' ' || c >= 0x7f)
				r |= buf_append(b, esc, sizeof(esc));
			else
				r |= buf_append(b, &s[i], 1);
		}
	}
	r |= buf_append(b, "\"", 1);
	return r;
}

/* Keys come from code, but are still kept to a safe alphabet. */
static int
log_logfmt_key_write(struct buf *b, const char *k)
{
	size_t	 i;
	int	 r = 0;

	if (*k == '\0')
		return buf_append(b, "_", 1);
	for (i = 0; k[i] != '\0'; i++) {
		unsigned char c = (unsigned char)k[i];

		if (c <= ' ' || c >= 0x7f || c == '=' || c == '"')
			r |= buf_append(b, "_", 1);
		else
			r |= buf_append(b, &k[i], 1);
	}
	return r;
}

static int
log_json_string_write(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i, ul;
	int	 r = 0;

	r |= buf_append(b, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4],
		    hex[c & 0xf] };

		switch (c) {
		case '"':
			r |= buf_append(b, "\\\"", 2);
			continue;
		case '\\':
			r |= buf_append(b, "\\\\", 2);
			continue;
		case '\n':
			r |= buf_append(b, "\\n", 2);
			continue;
		case '\r':
			r |= buf_append(b, "\\r", 2);
			continue;
		case '\t':
			r |= buf_append(b, "\\t", 2);
			continue;
		}
		if (c < ' ' || c == 0x7f) {
			r |= buf_append(b, esc, sizeof(esc));
		} else if (c < 0x80) {
			r |= buf_append(b, &s[i], 1);
		} else if ((ul = log_utf8_len_get((const unsigned char *)s + i,
		    n - i)) == 0) {
			/* JSON must be UTF-8: stray bytes become U+FFFD. */
			r |= buf_append(b, "\\ufffd", 6);
		} else {
			r |= buf_append(b, &s[i], ul);
			i += ul - 1;
		}
	}
	r |= buf_append(b, "\"", 1);
	return r;
}

static int
log_field_write(struct buf *b, bool first, const char *key,
    const char *val)
{
	size_t	 n;
	int	 r = 0;

	if (val == NULL)
		val = "";
	n = strnlen(val, LIMIT_LOG_VALUE_BYTES + 1);
	if (n > LIMIT_LOG_VALUE_BYTES) {
		/* Cut on a character boundary so JSON stays valid UTF-8. */
		n = LIMIT_LOG_VALUE_BYTES;
		while (n > 0 && ((unsigned char)val[n] & 0xc0) == 0x80)
			n--;
	}
	if (log_state.format == LOG_FORMAT_JSON) {
		if (!first)
			r |= buf_append(b, ",", 1);
		r |= log_json_string_write(b, key, strlen(key));
		r |= buf_append(b, ":", 1);
		r |= log_json_string_write(b, val, n);
	} else {
		if (!first)
			r |= buf_append(b, " ", 1);
		r |= log_logfmt_key_write(b, key);
		r |= buf_append(b, "=", 1);
		r |= log_logfmt_value_write(b, val, n);
	}
	return r;
}

static void
log_timestamp_format(char *ts, size_t len)
{
	struct timespec	 now;
	struct tm	 tm;
	char		 sec[32];

	clock_gettime(CLOCK_REALTIME, &now);
	if (gmtime_r(&now.tv_sec, &tm) == NULL ||
	    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(ts, len, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(ts, len, "%s.%03ldZ", sec, now.tv_nsec / 1000000);
}

/* Whether the warn hook wants an event at this level. */
static bool
log_warn_hooked(enum log_level level)
{
	return level >= LOG_LEVEL_WARN && log_state.warn_hook != NULL;
}

static void
log_write(enum log_level level, const char *line, size_t len)
{
	FILE	*out = log_state.out != NULL ? log_state.out : stderr;

	if (log_enabled(level)) {
		fwrite(line, 1, len, out);
		fputc('\n', out);
		fflush(out);
		if (log_state.hook != NULL)
			log_state.hook(level, line, log_state.hook_arg);
	}
	if (log_warn_hooked(level))
		log_state.warn_hook(level, line, log_state.warn_hook_arg);
}

void
log_emit(enum log_level level, const char *caller, const char *msg, ...)
{
	struct buf	 b;
	va_list		 ap;
	const char	*k, *v;
	char		 ts[64];
	int		 r = 0;

	if (!log_enabled(level) && !log_warn_hooked(level))
		return;
	log_timestamp_format(ts, sizeof(ts));
	buf_init(&b, LIMIT_LOG_LINE_BYTES);
	if (log_state.format == LOG_FORMAT_JSON)
		r |= buf_append(&b, "{", 1);
	r |= log_field_write(&b, true, "ts", ts);
	r |= log_field_write(&b, false, "caller", caller);
	r |= log_field_write(&b, false, "level", log_level_name_get(level));
	r |= log_field_write(&b, false, "msg", msg);
	va_start(ap, msg);
	while (r == 0 && (k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		r |= log_field_write(&b, false, k, v);
	}
	va_end(ap);
	if (log_state.format == LOG_FORMAT_JSON)
		r |= buf_append(&b, "}", 1);
	if (r == 0) {
		log_write(level, buf_cstr(&b), b.len);
	} else {
		/* Out of memory or absurdly many fields: say so, safely. */
		char	 fb[256];
		int	 n;

		if (log_state.format == LOG_FORMAT_JSON)
			n = snprintf(fb, sizeof(fb), "{\"ts\":\"%s\","
			    "\"level\":\"error\",\"msg\":\"log line dropped\"}",
			    ts);
		else
			n = snprintf(fb, sizeof(fb), "ts=%s level=error "
			    "msg=\"log line dropped\"", ts);
		if (n > 0 && (size_t)n < sizeof(fb))
			log_write(LOG_LEVEL_ERROR, fb, (size_t)n);
	}
	buf_release(&b);
}

void
log_fatal(const char *caller, const char *msg)
{
	log_emit(LOG_LEVEL_ERROR, caller, msg, (const char *)NULL);
	abort();
}
