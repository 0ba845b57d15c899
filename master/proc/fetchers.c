/*
 * fetchers.c - inside `ringseed serve`, a torrent whose content is missing
 * or incomplete is fetched (fetch.enable) instead of refused.
 *
 * Each scan leaves the incomplete torrents in reg.incomplete (files missing
 * or short, or full size with bad pieces: reg.repair, so that damaged
 * content is repaired rather than served with holes); for each one
 * not already being fetched, the master forks a fetcher process (the
 * leecher of master/fetch, one io_uring of its own; the master never moves
 * a byte of content). The child runs as the master does by then (core.user),
 * dies with it (PR_SET_PDEATHSIG) and stops on SIGTERM, keeping what it
 * verified. When it exits the master rescans the torrents directory: a
 * complete fetch left the verify state behind, so the torrent is
 * "verified from state" without hashing and handed to the workers like any
 * other, with its full bitfield, for the zero-copy path. A fetch that failed
 * is tried again after MFETCH_RETRY_MIN_MS, doubling up to
 * MFETCH_RETRY_MAX_MS.
 *
 * Uploading while fetching: a fleet's edges must serve each other, so a
 * peer that connects to the master for a torrent being fetched is handed to
 * that torrent's fetcher, not refused. Each fetcher has a SOCK_SEQPACKET
 * socketpair with the master (the child's end is its fd 3 across the
 * close_range). The master reads the plain handshake as for any peer; when
 * the info-hash is not served but is being fetched (mfetch.info_hash), it
 * sends one message on that channel: the 68 handshake bytes, with the
 * descriptor by SCM_RIGHTS, and closes its copy (counted peers_fetch). The
 * fetcher takes it on its tick (master/fetch/fetch_up.c) and answers the
 * handshake; from then on the connection is the fetcher's, both ways. A
 * full channel, or a fetcher between runs, and the peer is closed as an
 * unknown info-hash (it comes back). Peers with an MSE opening are not
 * handed over (the fetcher speaks plain BitTorrent); per-address caps are
 * the workers', the fetcher has its own (FETCH_SOURCES_MAX).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/content/torrent_file.h"
#include "master/fetch/fetch.h"
#include "master/proc/master.h"

#define MFETCH_MAX	    64
#define MFETCH_RETRY_MIN_MS 5000u
#define MFETCH_RETRY_MAX_MS 300000u

struct mfetch {
	char *path;	 /* the .torrent file; NULL: free slot */
	pid_t pid;	 /* running; 0: waiting for retry_ms */
	uint64_t retry_ms;
	uint32_t backoff_ms;
	bool seen; /* still incomplete in the last scan */
	uint8_t info_hash[MI_HASH_LEN];
	int channel; /* the master's end of the socketpair while running; -1: none */
};

#define MFETCH_CHILD_CHANNEL 3 /* the fetcher's end of it, in the child */

struct mfetchers {
	struct mfetch f[MFETCH_MAX];
};

static volatile sig_atomic_t mfetch_stop_flag;

static void mfetch_on_term(int sig)
{
	(void)sig;
	mfetch_stop_flag = 1;
}

/* In the child: everything the master held is closed, signals are its own again. */
static int mfetch_child(const struct master *m, const char *path, int channel)
{
	struct sigaction sa = { .sa_handler = mfetch_on_term };
	struct metainfo mi;
	struct fetch_result res;
	sigset_t none;
	char err[512];
	int data_fd, state_fd, rc;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (channel >= 0 && dup2(channel, MFETCH_CHILD_CHANNEL) < 0)
		channel = -1;
	close_range(channel >= 0 ? MFETCH_CHILD_CHANNEL + 1 : 3, ~0u, 0);
	if (torrent_file_load(path, &mi, err, sizeof(err)) != 0) {
		log_errx("fetch: %s", err);
		return 1;
	}
	data_fd = open(m->conf.data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	state_fd = open(m->conf.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct fetch_opts o = { .mi = &mi,
				.data_dirfd = data_fd,
				.state_dirfd = state_fd,
				.conf = &m->conf,
				.port = m->conf.announce ? fetch_announce_port(&m->conf) : 0,
				.stop = &mfetch_stop_flag,
				.channel_fd = channel >= 0 ? MFETCH_CHILD_CHANNEL : -1,
				.listen_fd = -1 };
	rc = data_fd < 0 || state_fd < 0 ? -errno
					 : fetch_run_waiting(&o, &res, err, sizeof(err));
	if (rc)
		log_errx("fetch: %s", data_fd < 0 || state_fd < 0 ? strerror(-rc) : err);
	mi_free(&mi);
	return rc ? 1 : 0;
}

static void mfetch_spawn(struct master *m, struct mfetch *f)
{
	int sv[2] = { -1, -1 };
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		log_warn("fetch: %s: socketpair: peers connecting are not handed over", f->path);
	pid = fork();
	if (pid < 0) {
		log_warn("fetch: fork for %s", f->path);
		f->retry_ms = master_now_ms() + f->backoff_ms;
		if (sv[0] >= 0) {
			close(sv[0]);
			close(sv[1]);
		}
		return;
	}
	if (pid == 0)
		_exit(mfetch_child(m, f->path, sv[1]));
	if (sv[1] >= 0)
		close(sv[1]);
	f->channel = sv[0];
	f->pid = pid;
	log_notice("fetch: %s: content missing or incomplete; fetching it (pid %d)", f->path,
		   (int)pid);
}

static void mfetch_channel_close(struct mfetch *f)
{
	if (f->channel >= 0)
		close(f->channel);
	f->channel = -1;
}

/*
 * A peer whose handshake names a torrent not served: handed to its fetcher
 * if one runs (see the header). True if it went; the caller closes its copy.
 */
bool mfetch_handoff(struct master *m, const uint8_t *info_hash, int fd, const uint8_t *hs)
{
	struct mfetchers *fs = m->fetchers;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)hs, .iov_len = WORKER_HANDSHAKE_LEN };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;

	for (unsigned i = 0; fs && i < MFETCH_MAX; i++) {
		struct mfetch *f = &fs->f[i];

		if (!f->path || f->pid <= 0 || f->channel < 0 ||
		    memcmp(f->info_hash, info_hash, MI_HASH_LEN) != 0)
			continue;
		/* The fetcher shares the socket: out of our epoll set, as a worker's peer. */
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, fd, NULL);
		memset(&u, 0, sizeof(u));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
		return sendmsg(f->channel, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) ==
		       WORKER_HANDSHAKE_LEN;
	}
	return false;
}

/* The slot fetching path; with path NULL, a free slot. */
static struct mfetch *mfetch_find(struct mfetchers *fs, const char *path)
{
	for (unsigned i = 0; i < MFETCH_MAX; i++)
		if (path ? fs->f[i].path && strcmp(fs->f[i].path, path) == 0 : !fs->f[i].path)
			return &fs->f[i];
	return NULL;
}

/* Peers to ask: fetch.peers, or an HTTP tracker in the .torrent (and announce.enable). */
static bool mfetch_possible(const struct master *m, const char *path, uint8_t *info_hash)
{
	struct metainfo mi;
	char err[256];
	bool ok;

	if (torrent_file_load(path, &mi, err, sizeof(err)) != 0)
		return false;
	ok = fetch_has_source(&mi, &m->conf, 0,
			      m->conf.announce ? fetch_announce_port(&m->conf) : 0);
	memcpy(info_hash, mi.info_hash, MI_HASH_LEN);
	if (!ok)
		log_info("fetch: %s: no fetch.peers and no HTTP tracker: not fetched", path);
	mi_free(&mi);
	return ok;
}

bool mfetch_can_repair(void *arg, const struct metainfo *mi)
{
	const struct master *m = arg;

	return m->conf.fetch && !m->quit_deadline_ms &&
	       fetch_has_source(mi, &m->conf, 0,
				m->conf.announce ? fetch_announce_port(&m->conf) : 0);
}

bool mfetch_repair(struct master *m, const struct torrent *t)
{
	struct mfetch *f;

	if (!mfetch_can_repair(m, &t->mi))
		return false;
	if (!m->fetchers && !(m->fetchers = calloc(1, sizeof(*m->fetchers))))
		return false;
	if (mfetch_find(m->fetchers, t->path))
		return true; /* running, or waiting for its retry */
	f = mfetch_find(m->fetchers, NULL);
	if (!f || !(f->path = strdup(t->path)))
		return false;
	f->backoff_ms = MFETCH_RETRY_MIN_MS;
	mfetch_spawn(m, f);
	return true;
}

/* After a scan: a fetch for each incomplete torrent not fetched yet. */
void mfetch_sync(struct master *m)
{
	struct mfetchers *fs = m->fetchers;

	if (!m->conf.fetch || m->quit_deadline_ms)
		return;
	if (!fs && !(fs = m->fetchers = calloc(1, sizeof(*fs)))) {
		log_errx("fetch: out of memory");
		return;
	}
	for (unsigned i = 0; i < MFETCH_MAX; i++)
		fs->f[i].seen = false;
	for (uint32_t i = 0; i < m->reg.n_incomplete; i++) {
		const char *path = m->reg.incomplete[i];
		struct mfetch *f = mfetch_find(fs, path);

		if (!f && (f = mfetch_find(fs, NULL)) == NULL) {
			log_warnx("fetch: %s: %u fetches already; not fetched", path, MFETCH_MAX);
			continue;
		}
		if (!f->path && !mfetch_possible(m, path, f->info_hash))
			continue;
		f->seen = true;
		if (f->path)
			continue; /* running, or waiting for its retry */
		if (!(f->path = strdup(path)))
			continue;
		f->channel = -1;
		f->backoff_ms = MFETCH_RETRY_MIN_MS;
		mfetch_spawn(m, f);
	}
	/* A torrent gone from the directory (or served now) needs no retry. */
	for (unsigned i = 0; i < MFETCH_MAX; i++)
		if (fs->f[i].path && !fs->f[i].seen && fs->f[i].pid == 0) {
			free(fs->f[i].path);
			fs->f[i].path = NULL;
		}
}

/* SIGCHLD: our children are reaped by pid, before the workers' waitpid(-1). */
void mfetch_reap(struct master *m)
{
	struct mfetchers *fs = m->fetchers;
	bool rescan = false;
	int status;

	for (unsigned i = 0; fs && i < MFETCH_MAX; i++) {
		struct mfetch *f = &fs->f[i];
		pid_t r;

		if (!f->path || f->pid == 0)
			continue;
		r = waitpid(f->pid, &status, WNOHANG);
		if (r == 0)
			continue;
		if (r < 0) /* taken by another waitpid: its outcome shows in the rescan */
			status = -1;
		f->pid = 0;
		mfetch_channel_close(f);
		rescan = true;
		if (r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			log_notice("fetch: %s: complete; rescanning", f->path);
			f->retry_ms = 0;
			continue;
		}
		log_warnx("fetch: %s: fetch ended without the content (%s %d); again in %u s",
			  f->path, r > 0 && WIFSIGNALED(status) ? "signal" : "status",
			  r > 0 && WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
			  f->backoff_ms / 1000);
		f->retry_ms = master_now_ms() + f->backoff_ms;
		f->backoff_ms = f->backoff_ms * 2 > MFETCH_RETRY_MAX_MS ? MFETCH_RETRY_MAX_MS
									 : f->backoff_ms * 2;
	}
	if (rescan && !m->quit_deadline_ms)
		master_rescan(m, "fetched");
}

void mfetch_tick(struct master *m, uint64_t now)
{
	struct mfetchers *fs = m->fetchers;

	for (unsigned i = 0; fs && !m->quit_deadline_ms && i < MFETCH_MAX; i++) {
		struct mfetch *f = &fs->f[i];

		if (f->path && f->pid == 0 && f->retry_ms && now >= f->retry_ms) {
			f->retry_ms = 0;
			mfetch_spawn(m, f);
		}
	}
}

/* Shutdown: every fetcher saves what it verified and exits. */
void mfetch_stop(struct master *m)
{
	struct mfetchers *fs = m->fetchers;

	for (unsigned i = 0; fs && i < MFETCH_MAX; i++)
		if (fs->f[i].path && fs->f[i].pid > 0)
			kill(fs->f[i].pid, SIGTERM);
}

void mfetch_free(struct master *m)
{
	struct mfetchers *fs = m->fetchers;

	for (unsigned i = 0; fs && i < MFETCH_MAX; i++) {
		free(fs->f[i].path);
		if (fs->f[i].path)
			mfetch_channel_close(&fs->f[i]);
	}
	free(fs);
	m->fetchers = NULL;
}
