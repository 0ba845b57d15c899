/*
 * watch.c - the torrents directory watched with inotify, so that a .torrent
 * added, replaced or removed takes effect without a signal.
 *
 * A finished write (IN_CLOSE_WRITE), a rename into or out of the directory
 * (IN_MOVED_TO, IN_MOVED_FROM) or a deletion of a *.torrent name arms a rescan
 * WATCH_SETTLE_MS later; events meanwhile join it, so a copy of 500 files is
 * one rescan. The rescan is the one SIGHUP does for the directory
 * (master_rescan): other torrents and their peers are untouched. IN_CREATE
 * is not watched: a file just created is still being written. A queue
 * overflow rescans too. If the directory itself goes away the watch ends,
 * with one line saying so; SIGHUP still rescans.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/proc/master.h"

#define WATCH_SETTLE_MS 100
#define WATCH_MASK	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)

int watch_init(struct master *m, uint64_t epoll_data)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = epoll_data };

	m->watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (m->watch_fd < 0 ||
	    inotify_add_watch(m->watch_fd, m->conf.torrents_dir, WATCH_MASK) < 0 ||
	    epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->watch_fd, &ev) != 0) {
		log_warn("inotify on %s (new torrents wait for SIGHUP)", m->conf.torrents_dir);
		watch_close(m);
		return -errno;
	}
	return 0;
}

static bool watch_is_torrent(const struct inotify_event *e)
{
	size_t n = e->len ? strnlen(e->name, e->len) : 0;

	return n > 8 && memcmp(e->name + n - 8, ".torrent", 8) == 0;
}

/* Reads every queued event; arms the rescan if one concerns a .torrent. */
void watch_event(struct master *m, uint64_t now)
{
	union {
		char buf[16384];
		struct inotify_event align;
	} u;
	bool gone = false;
	ssize_t n;

	while ((n = read(m->watch_fd, u.buf, sizeof(u.buf))) > 0) {
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
			const struct inotify_event *e = (const void *)(u.buf + off);

			if (e->mask & (IN_Q_OVERFLOW) || watch_is_torrent(e)) {
				if (!m->rescan_at_ms)
					m->rescan_at_ms = now + WATCH_SETTLE_MS;
			}
			gone |= (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) != 0;
			off += (ssize_t)sizeof(*e) + e->len;
		}
	}
	if (gone) {
		log_warnx("torrents directory %s moved or removed: no longer watched (SIGHUP rescans)",
			  m->conf.torrents_dir);
		watch_close(m);
	}
}

void watch_tick(struct master *m, uint64_t now)
{
	if (!m->rescan_at_ms || now < m->rescan_at_ms || m->quit_deadline_ms)
		return;
	m->rescan_at_ms = 0;
	master_rescan(m, "rescan");
}

void watch_close(struct master *m)
{
	if (m->watch_fd >= 0)
		close(m->watch_fd); /* also leaves the epoll set */
	m->watch_fd = -1;
}
