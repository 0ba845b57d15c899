/*
 * sdnotify.c - telling systemd how the service is doing (Type=notify), by
 * the sd_notify datagram protocol, without libsystemd: one AF_UNIX datagram
 * of newline-separated VAR=VALUE lines to $NOTIFY_SOCKET (a path, or an
 * abstract name when it starts with '@').
 *
 *   READY=1       after every listener is bound and the workers run
 *   RELOADING=1   on SIGHUP, then READY=1 when the reload is done
 *   STOPPING=1    on SIGTERM/SIGINT
 *   STATUS=...    one line for `systemctl status`
 *
 * The socket is connected once at start-up, before privileges are dropped;
 * without NOTIFY_SOCKET every call is a no-op. A failed send is logged once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/proc/master.h"

int sdn_open(struct master *m)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	m->notify_fd = -1;
	if (!path || !path[0])
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path)) {
		log_warnx("NOTIFY_SOCKET '%s': not a socket path; systemd will not hear from us",
			  path);
		return 0;
	}
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    connect(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) != 0) {
		log_warn("NOTIFY_SOCKET %s", path);
		if (fd >= 0)
			close(fd);
		return 0;
	}
	m->notify_fd = fd;
	/* Workers must not inherit it: the service's notifications are the master's. */
	unsetenv("NOTIFY_SOCKET");
	return 0;
}

void sdn_send(struct master *m, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	if (m->notify_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	if (send(m->notify_fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n &&
	    !m->notify_warned) {
		m->notify_warned = true;
		log_warn("sd_notify");
	}
}

/* RELOADING=1 carries the monotonic clock, as Type=notify-reload wants it. */
void sdn_reloading(struct master *m)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sdn_send(m, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
		 (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
}

void sdn_close(struct master *m)
{
	if (m->notify_fd >= 0)
		close(m->notify_fd);
	m->notify_fd = -1;
}
