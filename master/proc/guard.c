/*
 * guard.c - content files watched while served; the picture is in guard.h.
 *
 * Lookups: a lease break names a descriptor (by_fd), an inotify event a
 * watch descriptor (wds), a worker's REMOVED a torrent id (all). The tables
 * are small arrays searched or indexed directly: events are rare.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/content/recheck.h"
#include "master/content/verify.h"
#include "master/proc/guard.h"
#include "master/proc/master.h"

#define GUARD_MASK (IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_CLOSE_WRITE)
#define GUARD_CTIME_SLACK_NS 10000000 /* a timestamp tick: a change this close to a check is doubted */

enum gstate { G_SERVING, G_DRAINING, G_HELD, G_CHECKING };

static const char *const gstate_name[] = { "seeding", "draining", "changed", "checking" };

struct gfile {
	int fd;	     /* read-only, holding the lease (or just open, without one); -1: none */
	int wd;	     /* inotify; -1: none */
	bool leased;
};

struct tguard {
	struct torrent *t;
	enum gstate st;
	struct gfile *f; /* per file of the torrent; pad and empty files: none */
	bool *wait;	 /* DRAINING: per worker, a REMOVED still due */
	uint64_t since_ms; /* DRAINING: since when; HELD: the last change seen */
	uint64_t retry_ms; /* HELD: the next look */
	uint32_t gen;	   /* every change bumps it: a check of an older one is void */
	struct rck_job *job; /* CHECKING: the check */
	uint32_t jobs_out;   /* jobs not back yet (cancelled ones too) */
	bool gone;	     /* the torrent left the registry; freed when its jobs are back */
	bool said;	     /* HELD: why it waits was logged */
	bool announced;	     /* master_guard_ready was called for it */
};

struct gwd {
	int wd;
	struct tguard *g;
	uint32_t file;
};

struct gfd {
	struct tguard *g;
	uint32_t file;
};

struct guard {
	int ifd; /* inotify on content files */
	struct recheck rck;
	bool rck_ok;
	struct tguard **all;
	uint32_t n, cap;
	struct gwd *wds;
	uint32_t n_wds, cap_wds;
	struct gfd *by_fd; /* indexed by descriptor */
	int cap_fd;
	unsigned drain_ms; /* half the lease-break time */
	uint32_t n_fds, fd_budget; /* lease descriptors held, and at most (RLIMIT_NOFILE / 2) */
	bool budget_warned;
	bool lease_warned, watch_warned;
	uint64_t stat[GSTAT_MAX];
};

static unsigned guard_break_ms(void)
{
	unsigned s = 45; /* the kernel's default */
	FILE *f = fopen("/proc/sys/fs/lease-break-time", "re");

	if (f) {
		if (fscanf(f, "%u", &s) != 1)
			s = 45;
		fclose(f);
	}
	if (s < 2)
		log_warnx("fs.lease-break-time is %u s: a writer may get a file before every worker "
			  "has closed it",
			  s);
	return s * 1000 / 2;
}

int guard_init(struct master *m, uint64_t ev_inotify, uint64_t ev_recheck)
{
	struct guard *gd = calloc(1, sizeof(*gd));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!gd)
		return -ENOMEM;
	m->guard = gd;
	gd->drain_ms = guard_break_ms();
	{
		struct rlimit rl;

		/* The rest is for peers' handshakes, the admin endpoint, trackers... */
		gd->fd_budget = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
					? (uint32_t)(rl.rlim_cur / 2)
					: 1u << 20;
	}
	gd->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ev.data.u64 = ev_inotify;
	if (gd->ifd < 0 || epoll_ctl(m->epfd, EPOLL_CTL_ADD, gd->ifd, &ev) != 0)
		log_warn("inotify for content files (changes are seen through leases only)");
	if (rck_init(&gd->rck, m->reg.data_dirfd, m->reg.state_dirfd) != 0) {
		log_errx("starting the background check thread");
		return -ENOMEM;
	}
	gd->rck_ok = true;
	ev.data.u64 = ev_recheck;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, gd->rck.efd, &ev) != 0) {
		log_err("epoll_ctl for the background checks");
		return -errno;
	}
	return 0;
}

static void guard_path(const struct torrent *t, uint32_t i, char *buf, size_t len)
{
	if (t->mi.multi_file)
		snprintf(buf, len, "%s/%s", t->mi.name, t->mi.files[i].path);
	else
		snprintf(buf, len, "%s", t->mi.name);
}

static bool guard_skip(const struct torrent *t, uint32_t i)
{
	return t->mi.files[i].pad || t->mi.files[i].length == 0;
}

static int guard_fd_set(struct guard *gd, int fd, struct tguard *g, uint32_t file)
{
	if (fd >= gd->cap_fd) {
		int cap = gd->cap_fd ? gd->cap_fd : 256;
		struct gfd *a;

		while (cap <= fd)
			cap *= 2;
		a = realloc(gd->by_fd, (size_t)cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		memset(a + gd->cap_fd, 0, (size_t)(cap - gd->cap_fd) * sizeof(*a));
		gd->by_fd = a;
		gd->cap_fd = cap;
	}
	gd->by_fd[fd] = (struct gfd){ .g = g, .file = file };
	return 0;
}

static void guard_wd_forget(struct guard *gd, int wd, const struct tguard *g)
{
	for (uint32_t i = 0; i < gd->n_wds; i++) {
		if (gd->wds[i].wd == wd && (!g || gd->wds[i].g == g)) {
			gd->wds[i--] = gd->wds[--gd->n_wds];
		}
	}
}

static void guard_wd_add(struct guard *gd, int wd, struct tguard *g, uint32_t file)
{
	for (uint32_t i = 0; i < gd->n_wds; i++)
		if (gd->wds[i].wd == wd && gd->wds[i].g == g && gd->wds[i].file == file)
			return;
	if (gd->n_wds == gd->cap_wds) {
		uint32_t cap = gd->cap_wds ? 2 * gd->cap_wds : 64;
		struct gwd *a = realloc(gd->wds, cap * sizeof(*a));

		if (!a)
			return;
		gd->wds = a;
		gd->cap_wds = cap;
	}
	gd->wds[gd->n_wds++] = (struct gwd){ .wd = wd, .g = g, .file = file };
}

/* Lets the leases go (closing the descriptor does); the inotify watches stay. */
static void guard_release(struct guard *gd, struct tguard *g)
{
	for (uint32_t i = 0; i < g->t->mi.file_count; i++) {
		struct gfile *f = &g->f[i];

		if (f->fd < 0)
			continue;
		if (f->fd < gd->cap_fd)
			gd->by_fd[f->fd].g = NULL;
		close(f->fd);
		gd->n_fds--;
		f->fd = -1;
		f->leased = false;
	}
}

/* inotify on the inode fd has open, whatever the path names by now. */
static void guard_watch(struct guard *gd, struct tguard *g, uint32_t i, int fd)
{
	struct gfile *f = &g->f[i];
	char path[64];
	int wd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	wd = gd->ifd >= 0 ? inotify_add_watch(gd->ifd, path, GUARD_MASK) : -1;
	if (wd < 0 && gd->ifd >= 0 && !gd->watch_warned) {
		log_warn("inotify on a file of %s (and maybe others; fs.inotify.max_user_watches?)",
			 g->t->mi.name);
		gd->watch_warned = true;
	}
	if (f->wd >= 0 && f->wd != wd)
		guard_wd_forget(gd, f->wd, g);
	f->wd = wd;
	if (wd >= 0)
		guard_wd_add(gd, wd, g, i);
}

/*
 * Takes a lease on file i (a descriptor of its own) and watches it. Returns
 * 0; -EAGAIN while a writer holds it open; -ENOENT/-EIO (why logged once)
 * while it is missing or not its size.
 */
static int guard_arm_file(struct master *m, struct tguard *g, uint32_t i)
{
	struct guard *gd = m->guard;
	struct gfile *f = &g->f[i];
	char path[MI_MAX_PATH + MI_MAX_COMPONENT + 2];
	struct stat st;
	int fd;

	guard_path(g->t, i, path, sizeof(path));
	fd = openat(m->reg.data_dirfd, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != g->t->mi.files[i].length) {
		if (!g->said)
			log_warnx("torrent %s: %s: %s; out of service until it is back", g->t->mi.name,
				  path, fd < 0 ? strerror(errno) : "not a regular file of its size");
		g->said = true;
		if (fd >= 0)
			close(fd);
		return fd < 0 ? -ENOENT : -EIO;
	}
	if (gd->n_fds >= gd->fd_budget) { /* inotify only: the watch outlives the descriptor */
		if (!gd->budget_warned)
			log_warnx("file leases on the first %u content files only (RLIMIT_NOFILE / 2): "
				  "changes to the others are seen by inotify, after the write",
				  gd->fd_budget);
		gd->budget_warned = true;
		gd->stat[GSTAT_NO_LEASE]++;
		guard_watch(gd, g, i, fd);
		close(fd);
		return 0;
	}
	if (fcntl(fd, F_SETSIG, GUARD_SIG) != 0 || fcntl(fd, F_SETLEASE, F_RDLCK) != 0) {
		if (errno == EAGAIN || errno == EBUSY) { /* open for writing somewhere */
			close(fd);
			return -EAGAIN;
		}
		if (!gd->lease_warned)
			log_warn("file lease on %s (and maybe others): changes to content are seen "
				 "by inotify only, after the write",
				 path);
		gd->lease_warned = true;
		gd->stat[GSTAT_NO_LEASE]++;
		guard_watch(gd, g, i, fd);
		close(fd); /* without a lease it only costs a descriptor */
		return 0;
	}
	f->leased = true;
	if (guard_fd_set(gd, fd, g, i) != 0) {
		close(fd);
		return -ENOMEM;
	}
	f->fd = fd;
	gd->n_fds++;
	guard_watch(gd, g, i, fd);
	return 0;
}

/* Leases and watches on every file; on failure none is held. */
static int guard_arm(struct master *m, struct tguard *g)
{
	int rc = 0;

	for (uint32_t i = 0; i < g->t->mi.file_count && !rc; i++)
		if (!guard_skip(g->t, i))
			rc = guard_arm_file(m, g, i);
	if (rc)
		guard_release(m->guard, g);
	return rc;
}


/* HELD -> CHECKING, if every file can be leased now. */
static void guard_try_check(struct master *m, struct tguard *g, uint64_t now)
{
	uint64_t since = g->since_ms;
	struct rck_job *j;
	int rc;

	/*
	 * A writer's IN_CLOSE_WRITE is queued before its write access is
	 * given up, so events still unread may be older than the lease about
	 * to be granted: read them first, and wait again if one is g's.
	 */
	if (m->guard->ifd >= 0)
		guard_inotify(m);
	if (g->since_ms != since || g->st != G_HELD)
		return;
	rc = guard_arm(m, g);
	if (rc) {
		g->retry_ms = now + (rc == -EAGAIN ? GUARD_SETTLE_MS : GUARD_RETRY_MS);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		guard_release(m->guard, g);
		g->retry_ms = now + GUARD_RETRY_MS;
		return;
	}
	j->mi = &g->t->mi;
	j->owner = g;
	j->gen = g->gen;
	g->job = j;
	g->jobs_out++;
	g->st = G_CHECKING;
	g->said = false;
	rck_submit(&m->guard->rck, j);
}

static void guard_to_held(struct master *m, struct tguard *g, uint64_t now)
{
	guard_release(m->guard, g);
	g->st = G_HELD;
	g->since_ms = now;
	g->retry_ms = now + GUARD_SETTLE_MS;
}

/* DRAINING: done when no worker still holds the files. */
static void guard_drain_check(struct master *m, struct tguard *g, uint64_t now)
{
	struct workers *ws = &m->workers;
	bool left = false;

	for (unsigned i = 0; i < ws->n; i++) {
		if (!g->wait[i])
			continue;
		/* Dead (its files closed with it), or started after: never had them. */
		if (!ws->w[i].pid || ws->w[i].started_ms > g->since_ms) {
			g->wait[i] = false;
			continue;
		}
		if (now >= g->since_ms + m->guard->drain_ms) {
			log_errx("worker %u did not close torrent %s within %u ms; killing it before "
				 "the kernel hands the file to its writer",
				 i, g->t->mi.name, m->guard->drain_ms);
			kill(ws->w[i].pid, SIGKILL);
			m->guard->stat[GSTAT_KILLS]++;
			g->since_ms = now; /* once; the reap clears it */
		}
		left = true;
	}
	if (!left)
		guard_to_held(m, g, now);
}

/* A file of g changed, or is about to. */
static void guard_take_out(struct master *m, struct tguard *g, uint32_t file, const char *why)
{
	uint64_t now = master_now_ms();
	char path[MI_MAX_PATH + MI_MAX_COMPONENT + 2];

	g->gen++;
	switch (g->st) {
	case G_SERVING:
		guard_path(g->t, file, path, sizeof(path));
		log_notice("torrent %s: %s %s; out of service until it is checked again",
			   g->t->mi.name, path, why);
		m->guard->stat[GSTAT_TAKEN_OUT]++;
		g->t->paused = true;
		workers_broadcast_remove(&m->workers, g->t->id);
		for (unsigned i = 0; i < m->workers.n; i++)
			g->wait[i] = m->workers.w[i].channel >= 0;
		g->st = G_DRAINING;
		g->since_ms = now;
		guard_drain_check(m, g, now);
		break;
	case G_DRAINING:
		break;
	case G_CHECKING:
		rck_cancel(&m->guard->rck, g->job);
		g->job = NULL;
		guard_to_held(m, g, now);
		break;
	case G_HELD:
		g->since_ms = now + 1; /* changes, even within the same millisecond */
		if (g->retry_ms < now + GUARD_SETTLE_MS)
			g->retry_ms = now + GUARD_SETTLE_MS;
		break;
	}
}

/*
 * Starts guarding t. verified: its content was just checked (the first
 * scan): it serves at once unless a file changed since that check took its
 * stat values. Otherwise it is checked in the background first. Either way
 * t->paused says whether the workers may have it now.
 */
void guard_add(struct master *m, struct torrent *t, bool verified)
{
	struct guard *gd = m->guard;
	struct tguard *g = calloc(1, sizeof(*g));
	uint64_t now = master_now_ms();

	if (!g || !(g->f = calloc(t->mi.file_count, sizeof(*g->f))) ||
	    !(g->wait = calloc(m->workers.n + 1, sizeof(*g->wait)))) {
		log_errx("torrent %s: out of memory for its content watch", t->mi.name);
		if (g)
			free(g->f);
		free(g);
		return;
	}
	for (uint32_t i = 0; i < t->mi.file_count; i++)
		g->f[i] = (struct gfile){ .fd = -1, .wd = -1 };
	g->t = t;
	t->guard = g;
	if (gd->n == gd->cap) {
		uint32_t cap = gd->cap ? 2 * gd->cap : 64;
		struct tguard **a = realloc(gd->all, cap * sizeof(*a));

		if (!a) {
			free(g->f);
			free(g->wait);
			free(g);
			t->guard = NULL;
			return;
		}
		gd->all = a;
		gd->cap = cap;
	}
	gd->all[gd->n++] = g;
	g->announced = verified;
	t->paused = true;
	g->st = G_HELD;
	if (verified && guard_arm(m, g) == 0) {
		struct stat st;
		bool fresh = false;

		for (uint32_t i = 0; i < t->mi.file_count; i++)
			fresh |= g->f[i].fd >= 0 && fstat(g->f[i].fd, &st) == 0 &&
				 (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec >=
					 t->checked_ns - GUARD_CTIME_SLACK_NS;
		if (!fresh) {
			g->st = G_SERVING;
			t->paused = false;
			return;
		}
		guard_release(gd, g);
		log_notice("torrent %s: a file changed during its check; checking again", t->mi.name);
	}
	guard_try_check(m, g, now);
}

/* Lets the leases and the inotify watches go. */
static void guard_unwatch(struct guard *gd, struct tguard *g)
{
	for (uint32_t i = 0; i < g->t->mi.file_count; i++) {
		int wd = g->f[i].wd;
		bool shared = false;

		if (wd < 0)
			continue;
		guard_wd_forget(gd, wd, g);
		for (uint32_t k = 0; k < gd->n_wds; k++)
			shared |= gd->wds[k].wd == wd;
		if (!shared && gd->ifd >= 0)
			inotify_rm_watch(gd->ifd, wd);
		g->f[i].wd = -1;
	}
	guard_release(gd, g);
}

/* Takes g off the table and frees it (with its torrent, if that left the registry). */
static void guard_free(struct guard *gd, struct tguard *g)
{
	for (uint32_t i = 0; i < gd->n; i++)
		if (gd->all[i] == g) {
			gd->all[i] = gd->all[--gd->n];
			break;
		}
	guard_unwatch(gd, g);
	if (g->gone)
		reg_torrent_free(g->t);
	else
		g->t->guard = NULL;
	free(g->f);
	free(g->wait);
	free(g);
}

/* t leaves the registry. True: free it now; false: guard.c frees it when its check is back. */
bool guard_remove(struct master *m, struct torrent *t)
{
	struct guard *gd = m->guard;
	struct tguard *g = t->guard;

	if (!gd || !g)
		return true;
	if (g->job)
		rck_cancel(&gd->rck, g->job);
	g->job = NULL;
	if (g->jobs_out) { /* the check still reads t->mi: both go when it is back */
		guard_unwatch(gd, g);
		g->gone = true;
		return false;
	}
	guard_free(gd, g);
	return true;
}

/* A worker's WMSG_REMOVED. */
void guard_removed(void *arg, unsigned worker, uint32_t id)
{
	struct master *m = arg;
	struct guard *gd = m->guard;

	for (uint32_t i = 0; gd && i < gd->n; i++) {
		struct tguard *g = gd->all[i];

		if (!g->gone && g->t->id == id && g->st == G_DRAINING) {
			g->wait[worker] = false;
			guard_drain_check(m, g, master_now_ms());
			return;
		}
	}
}

/* GUARD_SIG: the lease on fd is being broken by a writer. */
void guard_lease_break(struct master *m, int fd)
{
	struct guard *gd = m->guard;

	if (!gd || fd < 0 || fd >= gd->cap_fd || !gd->by_fd[fd].g)
		return;
	gd->stat[GSTAT_LEASE_BREAKS]++;
	guard_take_out(m, gd->by_fd[fd].g, gd->by_fd[fd].file, "opened for writing");
}

/* SIGIO: the real-time queue overflowed; every lease is asked. */
void guard_lease_scan(struct master *m)
{
	struct guard *gd = m->guard;

	for (uint32_t i = 0; gd && i < gd->n; i++) {
		struct tguard *g = gd->all[i];

		for (uint32_t k = 0; !g->gone && k < g->t->mi.file_count; k++) {
			if (g->f[k].leased && fcntl(g->f[k].fd, F_GETLEASE) != F_RDLCK) {
				gd->stat[GSTAT_LEASE_BREAKS]++;
				guard_take_out(m, g, k, "opened for writing");
				break;
			}
		}
	}
}

static const char *guard_why(uint32_t mask)
{
	if (mask & IN_MODIFY)
		return "modified";
	if (mask & IN_CLOSE_WRITE)
		return "written";
	if (mask & (IN_DELETE_SELF | IN_MOVE_SELF))
		return "deleted or moved";
	return "changed (attributes, links)";
}

static void guard_on_event(struct master *m, const struct inotify_event *e)
{
	struct guard *gd = m->guard;

	if (e->mask & IN_Q_OVERFLOW) {
		log_warnx("inotify queue overflow on content files: every torrent is checked again");
		for (uint32_t i = 0; i < gd->n; i++)
			if (!gd->all[i]->gone)
				guard_take_out(m, gd->all[i], 0, "may have changed (inotify overflow)");
		return;
	}
	if (e->mask & IN_IGNORED) { /* the watch is gone (file deleted, unmounted) */
		for (uint32_t i = 0; i < gd->n_wds; i++)
			if (gd->wds[i].wd == e->wd)
				gd->wds[i].g->f[gd->wds[i].file].wd = -1;
		guard_wd_forget(gd, e->wd, NULL);
		return;
	}
	for (uint32_t i = 0; i < gd->n_wds; i++) {
		if (gd->wds[i].wd != e->wd)
			continue;
		gd->stat[GSTAT_CHANGES]++;
		guard_take_out(m, gd->wds[i].g, gd->wds[i].file, guard_why(e->mask));
	}
}

void guard_inotify(struct master *m)
{
	union {
		char buf[16384];
		struct inotify_event align;
	} u;
	ssize_t n;

	while ((n = read(m->guard->ifd, u.buf, sizeof(u.buf))) > 0) {
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
			const struct inotify_event *e = (const void *)(u.buf + off);

			guard_on_event(m, e);
			off += (ssize_t)sizeof(*e) + e->len;
		}
	}
}

static void guard_done(struct master *m, struct tguard *g, struct rck_job *j)
{
	struct torrent *t = g->t;
	uint64_t now = master_now_ms();

	m->guard->stat[GSTAT_RECHECKS]++;
	if (j->rc) {
		log_warnx("torrent %s: check failed: %s; out of service until its files change",
			  t->mi.name, j->err);
		guard_to_held(m, g, now);
		g->retry_ms = now + GUARD_RETRY_MS;
		g->said = true;
		return;
	}
	free(t->have);
	t->have = j->have;
	j->have = NULL;
	t->good = j->rep.good;
	t->checked_ns = j->checked_ns;
	if (j->rep.bad && mfetch_repair(m, t)) {
		/* the fetcher's writes, then its end, bring the next check */
		log_notice("torrent %s: %u of %u pieces bad; not served until they are fetched "
			   "again", t->mi.name, j->rep.bad, t->mi.piece_count);
		guard_to_held(m, g, now);
		g->retry_ms = now + GUARD_RETRY_MS;
		g->said = true;
		return;
	}
	reg_report(t, &j->rep);
	g->st = G_SERVING;
	t->paused = false;
	workers_broadcast_add(&m->workers, t);
	if (!g->announced)
		master_guard_ready(m, t);
	g->announced = true;
}

/* The background checks' eventfd: takes every finished check. */
void guard_checks(struct master *m)
{
	struct guard *gd = m->guard;
	struct rck_job *j;

	while ((j = rck_take(&gd->rck))) {
		struct tguard *g = j->owner;

		g->jobs_out--;
		if (g->gone) {
			if (!g->jobs_out)
				guard_free(gd, g);
		} else if (g->job == j && g->gen == j->gen && g->st == G_CHECKING) {
			g->job = NULL;
			guard_done(m, g, j);
		}
		rck_job_free(j);
	}
}

void guard_tick(struct master *m, uint64_t now)
{
	struct guard *gd = m->guard;

	for (uint32_t i = 0; gd && i < gd->n; i++) {
		struct tguard *g = gd->all[i];

		if (g->gone)
			continue;
		if (g->st == G_DRAINING)
			guard_drain_check(m, g, now);
		else if (g->st == G_HELD && now >= g->retry_ms &&
			 now >= g->since_ms + GUARD_SETTLE_MS && !m->quit_deadline_ms)
			guard_try_check(m, g, now);
	}
}

/* What /status says of t's state, and its check's progress (0..1). */
const char *guard_state(struct master *m, const struct torrent *t, double *progress)
{
	const struct tguard *g = t->guard;

	*progress = 1;
	if (!g)
		return NULL;
	if (g->st == G_CHECKING && g->job)
		*progress = rck_progress(&m->guard->rck, g->job);
	else if (g->st != G_SERVING)
		*progress = 0;
	return gstate_name[g->st];
}

void guard_stats(const struct master *m, uint64_t *out)
{
	for (int i = 0; i < GSTAT_MAX; i++)
		out[i] = m->guard ? m->guard->stat[i] : 0;
}

void guard_close(struct master *m)
{
	struct guard *gd = m->guard;

	if (!gd)
		return;
	if (gd->rck_ok)
		rck_close(&gd->rck); /* first: no job runs while the torrents go */
	while (gd->n)
		guard_free(gd, gd->all[gd->n - 1]);
	if (gd->ifd >= 0)
		close(gd->ifd);
	free(gd->all);
	free(gd->wds);
	free(gd->by_fd);
	free(gd);
	m->guard = NULL;
}
