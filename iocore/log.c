/*
 * log.c - stderr logging with levels; see log.h.
 *
 * Each line is formatted into one buffer and written with one write(2), so
 * lines from the master and its workers do not interleave mid-line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iocore/log.h"

enum log_level log_max_level = LOG_LVL_INFO;
static const char *log_prog = "ringseed";

static const char *const log_names[LOG_LVL_MAX] = {
	[LOG_LVL_ALERT] = "alert",   [LOG_LVL_ERR] = "error", [LOG_LVL_WARN] = "warning",
	[LOG_LVL_NOTICE] = "notice", [LOG_LVL_INFO] = "info", [LOG_LVL_DEBUG] = "debug",
};

void log_init(const char *progname, enum log_level max)
{
	log_prog = progname;
	log_max_level = max;
}

const char *log_level_name(enum log_level lvl)
{
	return lvl < LOG_LVL_MAX ? log_names[lvl] : "?";
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (int i = 0; i < LOG_LVL_MAX; i++) {
		if (strcmp(name, log_names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	if (strcmp(name, "warn") == 0 || strcmp(name, "err") == 0) {
		*out = name[0] == 'w' ? LOG_LVL_WARN : LOG_LVL_ERR;
		return 0;
	}
	return -EINVAL;
}

void log_msg(enum log_level lvl, int errnum, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;

	if (!log_enabled(lvl))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(line + n, sizeof(line) - n, ".%03ldZ %s[%d] %s: ", ts.tv_nsec / 1000000,
		      log_prog, (int)getpid(), log_level_name(lvl));
	va_start(ap, fmt);
	if (n < sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (errnum && n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - n, ": %s", strerror(errnum));
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2; /* truncated: keep the newline */
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}
