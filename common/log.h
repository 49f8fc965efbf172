/*
 * Leveled structured logging in the Prometheus ecosystem's style: one line
 * per event, logfmt (ts=... level=info caller=fn msg="..." key=value) or
 * JSON.  Values are escaped here, so peer-supplied strings are safe to pass.
 * The logger is one of the two permitted globals (with the parsed config).
 */
#ifndef PUSHPROX_LOG_H
#define PUSHPROX_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

enum log_format {
	LOG_FORMAT_LOGFMT,
	LOG_FORMAT_JSON,
};

/* Names accepted by --log.level and --log.format, NULL-terminated. */
extern const char *const log_level_names[];
extern const char *const log_format_names[];

/* Hook for tests: sees every formatted line (without newline). */
typedef void (*log_hook_cb)(enum log_level level, const char *line,
    void *arg);

/* Sets the threshold, format and stream (NULL means stderr). */
void log_setup(enum log_level level, enum log_format format, FILE *out);

/* Installs a hook (NULL removes it); lines still go to the stream. */
void log_set_hook(log_hook_cb hook, void *arg);

/*
 * Installs a second hook (NULL removes it) that sees every event at warn
 * level and above, formatted, even when the threshold hides it: the unit
 * tests' check that no test warns unexpectedly (tests/testlog.c).
 */
void log_set_warn_hook(log_hook_cb hook, void *arg);

/* Whether a message at this level would be emitted. */
bool log_enabled(enum log_level level);

/*
 * Emits one event.  After msg come key/value string pairs, ended by NULL.
 * A NULL value is written as an empty string.
 */
void log_emit(enum log_level level, const char *caller, const char *msg, ...)
    __attribute__((sentinel));

#define log_debug(...) \
	log_emit(LOG_LEVEL_DEBUG, __func__, __VA_ARGS__, (const char *)NULL)
#define log_info(...) \
	log_emit(LOG_LEVEL_INFO, __func__, __VA_ARGS__, (const char *)NULL)
#define log_warn(...) \
	log_emit(LOG_LEVEL_WARN, __func__, __VA_ARGS__, (const char *)NULL)
#define log_error(...) \
	log_emit(LOG_LEVEL_ERROR, __func__, __VA_ARGS__, (const char *)NULL)

/* Logs at error level and aborts: invariant violations and OOM only. */
void log_fatal(const char *caller, const char *msg) __attribute__((noreturn));
#define fatal(msg) log_fatal(__func__, (msg))

#endif
