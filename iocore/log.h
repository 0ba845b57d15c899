/*
 * log.h - one log line per event, to stderr, with a level.
 *
 * The log_warn and log_err forms add strerror(errno) like relayd's log_warn; the
 * *x forms do not. Debug lines cost one comparison when debug is off.
 * A line at level alert means the process saw something that must never
 * happen; the test runner fails any test whose log has one.
 */
#ifndef RINGSEED_LOG_H
#define RINGSEED_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ALERT, /* an invariant broke; tests fail on sight */
	LOG_LVL_ERR,   /* an operation failed and something is not served */
	LOG_LVL_WARN,  /* bad input or a degraded mode; service goes on */
	LOG_LVL_NOTICE,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
	LOG_LVL_MAX
};

extern enum log_level log_max_level;

void log_init(const char *progname, enum log_level max);
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level lvl);

void log_msg(enum log_level lvl, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_enabled(lvl) ((lvl) <= log_max_level)

#define log_alert(...)	log_msg(LOG_LVL_ALERT, 0, __VA_ARGS__)
#define log_errx(...)	log_msg(LOG_LVL_ERR, 0, __VA_ARGS__)
#define log_err(...)	log_msg(LOG_LVL_ERR, errno, __VA_ARGS__)
#define log_warnx(...)	log_msg(LOG_LVL_WARN, 0, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, errno, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, 0, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, 0, __VA_ARGS__)
#define log_debug(...)                                          \
	do {                                                    \
		if (log_enabled(LOG_LVL_DEBUG))                 \
			log_msg(LOG_LVL_DEBUG, 0, __VA_ARGS__); \
	} while (0)

#endif
