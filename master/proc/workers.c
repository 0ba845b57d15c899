/*
 * workers.c - starting, pinning, supervising and feeding worker processes;
 * the table is drawn in workers.h.
 *
 * Each worker slot has a channel (SOCK_SEQPACKET) and a queue of messages
 * that did not fit into it yet. A message is never reordered: while a slot's
 * queue is not empty, new messages join its tail, and the accept path
 * prefers another worker over a slot that is backed up (and counts that).
 *
 * A worker that dies is started again after a backoff that doubles (100 ms
 * up to 5 s) while it keeps dying young; five deaths within a minute are
 * logged as a crash loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iocore/log.h"
#include "iocore/timer.h"
#include "master/proc/addrcap.h"
#include "master/content/piece_hash.h"
#include "master/proc/workers.h"

#define WORKERS_BACKOFF_MIN_MS 100
#define WORKERS_BACKOFF_MAX_MS 5000
#define WORKERS_STABLE_MS      30000 /* alive this long: the next death starts a fresh backoff */
#define WORKERS_LOOP_COUNT     5     /* deaths within a minute that make a crash loop */

struct wqueued {
	struct wqueued *next;
	struct wmsg msg;
	int fd;		      /* -1: none */
	uint64_t deadline_ms; /* a queued peer is closed then; 0: not a peer */
};

int workers_init(struct workers *ws, const struct conf *conf, const struct registry *reg,
		 int epfd, uint32_t ev_kind)
{
	unsigned n = conf->workers ? (unsigned)conf->workers : ph_cpu_count();

	_Static_assert(ADDRCAP_SLOTS == WORKER_ADDR_SLOTS, "one address slot layout");
	*ws = (struct workers){ .conf = conf, .reg = reg, .epfd = epfd, .ev_kind = ev_kind };
	ws->w = calloc(n, sizeof(*ws->w));
	if (!ws->w)
		return -ENOMEM;
	ws->n = n;
	ws->shared = mmap(NULL, worker_shared_size(n), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ws->shared == MAP_FAILED)
		return -errno;
	for (unsigned i = 0; i < n; i++) {
		void *p = mmap(NULL, worker_stats_size(WORKERS_MAX_TORRENT_IDS),
			       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return -errno;
		ws->w[i].stats = p;
		ws->w[i].channel = -1;
	}
	return 0;
}

/* One message, with an optional descriptor; -EAGAIN when the channel is full. */
static int workers_sendmsg(int channel, const struct wmsg *msg, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = wmsg_len(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(channel, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)iov.iov_len)
		return 0;
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ? -EAGAIN : -errno;
}

static void workers_watch_out(struct workers *ws, unsigned i, bool on)
{
	/* Always readable: workers report peer exchange joins and leaves (pex.c). */
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0),
				  .data.u64 = ((uint64_t)ws->ev_kind << 32) | i };

	epoll_ctl(ws->epfd, EPOLL_CTL_MOD, ws->w[i].channel, &ev);
}

/* Adds one (or takes one off) the counters a peer handed to w charges. */
static void workers_addr_add(struct wproc *w, const uint32_t slot[2], int32_t d)
{
	uint32_t *live = worker_addr_live(w->stats, WORKERS_MAX_TORRENT_IDS);

	for (int i = 0; i < 2; i++)
		if (slot[i] < WORKER_ADDR_SLOTS)
			__atomic_fetch_add(&live[slot[i]], (uint32_t)d, __ATOMIC_RELAXED);
}

static void workers_addr_put(struct wproc *w, const uint32_t slot[2])
{
	workers_addr_add(w, slot, -1);
}

/* Sends what waits in slot i's queue; called when its channel is writable. */
void workers_flush(struct workers *ws, unsigned i)
{
	struct wqueued *q;

	int rc;

	while ((q = ws->w[i].q_head)) {
		rc = workers_sendmsg(ws->w[i].channel, &q->msg, q->fd);
		if (rc == -EAGAIN)
			return;
		if (rc && q->msg.type == WMSG_PEER)
			workers_addr_put(&ws->w[i], q->msg.addr_slot); /* it never got there */
		ws->w[i].q_head = q->next;
		if (q->fd >= 0)
			close(q->fd);
		free(q);
	}
	ws->w[i].q_tail = NULL;
	workers_watch_out(ws, i, false);
}

static void workers_drop_queue(struct workers *ws, unsigned i)
{
	struct wqueued *q;

	while ((q = ws->w[i].q_head)) {
		ws->w[i].q_head = q->next;
		if (q->fd >= 0)
			close(q->fd);
		free(q);
	}
	ws->w[i].q_tail = NULL;
}

/* Sends now, or queues (taking ownership of fd either way). */
static int workers_post(struct workers *ws, unsigned i, const struct wmsg *msg, int fd)
{
	struct wqueued *q;
	int rc;

	if (ws->w[i].channel < 0) {
		if (fd >= 0)
			close(fd);
		return -EPIPE;
	}
	if (!ws->w[i].q_head) {
		rc = workers_sendmsg(ws->w[i].channel, msg, fd);
		if (rc != -EAGAIN) {
			if (fd >= 0)
				close(fd);
			return rc;
		}
	}
	q = malloc(sizeof(*q));
	if (!q) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	*q = (struct wqueued){ .msg = *msg, .fd = fd };
	if (msg->type == WMSG_PEER)
		q->deadline_ms = tw_now_ms() + (uint64_t)ws->conf->handshake_timeout * 1000;
	if (ws->w[i].q_tail)
		ws->w[i].q_tail->next = q;
	else
		ws->w[i].q_head = q;
	ws->w[i].q_tail = q;
	workers_watch_out(ws, i, true);
	return 0;
}

int workers_send(struct workers *ws, unsigned i, const struct wmsg *msg)
{
	return workers_post(ws, i, msg, -1);
}

/*
 * One message from worker i; -EAGAIN when none waits. At EOF (the worker is
 * exiting, not reaped yet) its channel stops being watched for input, so the
 * loop does not spin on it until the reap closes it.
 */
ssize_t workers_recv(struct workers *ws, unsigned i, struct wmsg *msg)
{
	struct epoll_event ev = { .events = ws->w[i].q_head ? EPOLLOUT : 0,
				  .data.u64 = ((uint64_t)ws->ev_kind << 32) | i };
	ssize_t n;

	if (ws->w[i].channel < 0)
		return -EPIPE;
	n = recv(ws->w[i].channel, msg, sizeof(*msg), MSG_DONTWAIT);
	if (n > 0)
		return n;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;
	epoll_ctl(ws->epfd, EPOLL_CTL_MOD, ws->w[i].channel, &ev);
	return -EPIPE;
}

/* The n-th CPU this process may run on, for pinning worker n. */
static int workers_cpu(unsigned n)
{
	cpu_set_t set;
	int count, seen = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0 || (count = CPU_COUNT(&set)) == 0)
		return -1;
	n %= (unsigned)count;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &set) && seen++ == (int)n)
			return cpu;
	}
	return -1;
}

static int workers_fd_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/*
 * In the child: every descriptor the master had (listeners, handshakes being
 * read, other workers' channels, trackers' sockets, the state directory...)
 * is closed but the ones named in keep. The table need not know the
 * master's layout to do it.
 */
static void workers_child_close(int *keep, unsigned n)
{
	unsigned from = 0;
	int rc = 0;

	qsort(keep, n, sizeof(*keep), workers_fd_cmp);
	for (unsigned k = 0; k < n && rc == 0; k++) {
		if (keep[k] < (int)from)
			continue;
		if ((unsigned)keep[k] > from)
			rc = close_range(from, (unsigned)keep[k] - 1, 0);
		from = (unsigned)keep[k] + 1;
	}
	if (rc == 0)
		rc = close_range(from, ~0u, 0);
	if (rc != 0) /* Linux 5.9 has it; without it the worker only holds more descriptors */
		log_warn("close_range");
}

static void workers_child(struct workers *ws, unsigned i, int channel, pid_t master_pid)
{
	char name[32];
	sigset_t all;
	int cpu = workers_cpu(i);
	struct worker_args a = { .index = i,
				 .channel = channel,
				 .data_dirfd = ws->reg->data_dirfd,
				 .conf = ws->conf,
				 .stats = ws->w[i].stats,
				 .max_torrents = WORKERS_MAX_TORRENT_IDS,
				 .shared = ws->shared,
				 .workers = ws->n };
	int keep[] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO /* the log */, channel,
		       ws->reg->data_dirfd };

	/*
	 * The owner's set-up first (core.user: a change of credentials clears
	 * the parent-death signal). Then the master's death takes the worker
	 * with it, even if it died already.
	 */
	if (ws->child_setup && ws->child_setup(ws->child_arg) != 0)
		_exit(1);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != master_pid)
		_exit(1);
	snprintf(name, sizeof(name), "ringseed-w%u", i);
	log_init(strdup(name), log_max_level);
	workers_child_close(keep, sizeof(keep) / sizeof(keep[0]));
	/*
	 * A terminal's ^C, or SIGTERM to the whole process group (systemd,
	 * timeout), is the master's to handle: it sends QUIT, and the workers
	 * finish their blocks in flight. SIGKILL, or the master's death, ends
	 * a worker at once.
	 */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0)
			log_warn("sched_setaffinity(cpu %d)", cpu);
	}
	_exit(worker_main(&a));
}

/*
 * SWARM: super-seeding's area of the torrent, shared by every worker (the
 * master makes it at the first send); none when super-seeding is off.
 */
static void workers_send_swarm(struct workers *ws, unsigned i, const struct torrent *t)
{
	int fd;

	if (ws->conf->super_seed == CONF_SS_OFF)
		return;
	fd = swarm_fd(&ws->swarm, t, ws->n);
	if (fd >= 0 && (fd = dup(fd)) >= 0) /* the worker maps its own view */
		workers_post(ws, i, &(struct wmsg){ .type = WMSG_SWARM, .torrent = t->id }, fd);
}

/* ADD_TORRENT: the .torrent bytes and the have bitfield travel in a memfd. */
static int workers_send_torrent(struct workers *ws, unsigned i, const struct torrent *t)
{
	struct wmsg msg = { .type = WMSG_ADD_TORRENT,
			    .torrent = t->id,
			    .torrent_len = (uint32_t)t->raw_len,
			    .have_len = (uint32_t)t->have_len };
	int fd = memfd_create("ringseed-torrent", MFD_CLOEXEC), rc;

	if (fd < 0) {
		log_err("memfd_create for torrent %s", t->mi.name);
		return -errno;
	}
	if (pwrite(fd, t->raw, t->raw_len, 0) != (ssize_t)t->raw_len ||
	    pwrite(fd, t->have, t->have_len, (off_t)t->raw_len) != (ssize_t)t->have_len) {
		log_err("writing torrent %s for worker %u", t->mi.name, i);
		close(fd);
		return -EIO;
	}
	rc = workers_post(ws, i, &msg, fd);
	if (!rc)
		workers_send_swarm(ws, i, t);
	return rc;
}

/*
 * ADD_TORRENTS: every torrent not paused, in one memfd and one message (a
 * worker starting with 10,000 torrents gets one message, not 10,000).
 */
static int workers_send_all(struct workers *ws, unsigned i)
{
	struct wmsg msg = { .type = WMSG_ADD_TORRENTS };
	int fd = memfd_create("ringseed-torrents", MFD_CLOEXEC), rc;
	int fd2 = fd >= 0 ? dup(fd) : -1; /* the FILE's own, closed by fclose */
	FILE *f = fd2 >= 0 ? fdopen(fd2, "w") : NULL;
	bool ok = f != NULL;

	if (!f && fd2 >= 0)
		close(fd2);

	for (uint32_t k = 0; ok && k < ws->reg->n; k++) {
		const struct torrent *t = ws->reg->t[k];
		struct wmsg_add_rec r = { .torrent = t->id,
					  .torrent_len = (uint32_t)t->raw_len,
					  .have_len = (uint32_t)t->have_len };

		if (t->paused)
			continue;
		ok = fwrite(&r, sizeof(r), 1, f) == 1 && fwrite(t->raw, 1, t->raw_len, f) == t->raw_len &&
		     fwrite(t->have, 1, t->have_len, f) == t->have_len;
		msg.torrent_len++;
	}
	if (f && fclose(f) != 0)
		ok = false;
	if (!ok) {
		log_err("writing the torrents for worker %u", i);
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	if (!msg.torrent_len) {
		close(fd);
		return 0;
	}
	rc = workers_post(ws, i, &msg, fd);
	for (uint32_t k = 0; !rc && k < ws->reg->n; k++)
		if (!ws->reg->t[k]->paused)
			workers_send_swarm(ws, i, ws->reg->t[k]);
	return rc;
}

int workers_start(struct workers *ws, unsigned i)
{
	struct wproc *w = &ws->w[i];
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ((uint64_t)ws->ev_kind << 32) | i };
	pid_t master_pid = getpid(), pid;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		log_err("socketpair for worker %u", i);
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		log_err("fork for worker %u", i);
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (pid == 0) {
		close(sv[0]);
		workers_child(ws, i, sv[1], master_pid);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	w->pid = pid;
	w->channel = sv[0];
	w->started_ms = tw_now_ms();
	w->restart_at_ms = 0;
	w->handed = __atomic_load_n(&w->stats->c[WSTAT_HANDSHAKES], __ATOMIC_RELAXED);
	epoll_ctl(ws->epfd, EPOLL_CTL_ADD, w->channel, &ev);
	workers_send_all(ws, i);
	log_info("worker %u started (pid %d)", i, (int)pid);
	return 0;
}

static void workers_died(struct workers *ws, unsigned i, int status)
{
	struct wproc *w = &ws->w[i];
	uint64_t now = tw_now_ms();
	pid_t dead_pid = w->pid;
	char how[64];

	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
	epoll_ctl(ws->epfd, EPOLL_CTL_DEL, w->channel, NULL);
	close(w->channel);
	w->channel = -1;
	w->pid = 0;
	workers_drop_queue(ws, i);
	__atomic_store_n(&w->stats->c[WSTAT_PEERS], 0, __ATOMIC_RELAXED);
	memset(worker_torrent_peers(w->stats, WORKERS_MAX_TORRENT_IDS), 0,
	       WORKERS_MAX_TORRENT_IDS * sizeof(uint64_t));
	/* Its peers are closed, and those queued or in its channel were dropped. */
	memset(worker_addr_live(w->stats, WORKERS_MAX_TORRENT_IDS), 0,
	       WORKER_ADDR_SLOTS * sizeof(uint32_t));
	swarm_forget_worker(&ws->swarm, i);
	if (ws->quitting) {
		log_info("worker %u (pid %d) %s", i, (int)dead_pid, how);
		return;
	}
	if (now - w->started_ms > WORKERS_STABLE_MS || !w->backoff_ms)
		w->backoff_ms = WORKERS_BACKOFF_MIN_MS;
	else if (w->backoff_ms < WORKERS_BACKOFF_MAX_MS)
		w->backoff_ms = w->backoff_ms * 2 > WORKERS_BACKOFF_MAX_MS ? WORKERS_BACKOFF_MAX_MS
									   : w->backoff_ms * 2;
	if (now - w->recent_since_ms > 60000) {
		w->recent_since_ms = now;
		w->recent_restarts = 0;
	}
	w->restart_at_ms = now + w->backoff_ms;
	log_warnx("worker %u (pid %d) %s; restarting in %u ms", i, (int)dead_pid, how,
		  w->backoff_ms);
	if (++w->recent_restarts == WORKERS_LOOP_COUNT)
		log_errx("worker %u is crash-looping: %u deaths within a minute", i,
			 w->recent_restarts);
}

void workers_reap(struct workers *ws)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (unsigned i = 0; i < ws->n; i++) {
			if (ws->w[i].pid == pid) {
				workers_died(ws, i, status);
				break;
			}
		}
	}
}

/* Connections every worker holds, or has been sent, that charge slot. */
uint32_t workers_addr_live(const struct workers *ws, uint32_t slot)
{
	uint32_t n = 0;

	for (unsigned i = 0; i < ws->n; i++)
		n += __atomic_load_n(&worker_addr_live(ws->w[i].stats, WORKERS_MAX_TORRENT_IDS)[slot],
				     __ATOMIC_RELAXED);
	return n;
}

/*
 * A worker that does not read its channel (stopped, or far behind) must not
 * make the master hold its peers' sockets for ever (in CLOSE-WAIT once the
 * peers give up): a peer queued for longer than handshake_timeout is closed
 * and counted. Torrent messages keep their place and order.
 */
static void workers_expire_queue(struct workers *ws, unsigned i, uint64_t now)
{
	struct wproc *w = &ws->w[i];
	struct wqueued **pp = &w->q_head, *q;

	w->q_tail = NULL;
	while ((q = *pp)) {
		if (q->deadline_ms && now >= q->deadline_ms) {
			*pp = q->next;
			close(q->fd);
			workers_addr_put(w, q->msg.addr_slot);
			free(q);
			if (w->handed)
				w->handed--; /* it never reaches the worker */
			ws->drop_handoff_timeout++;
			continue;
		}
		w->q_tail = q;
		pp = &q->next;
	}
	if (!w->q_head && w->channel >= 0)
		workers_watch_out(ws, i, false);
}

void workers_tick(struct workers *ws, uint64_t now)
{
	for (unsigned i = 0; i < ws->n; i++) {
		if (ws->w[i].q_head)
			workers_expire_queue(ws, i, now);
		if (ws->w[i].restart_at_ms && now >= ws->w[i].restart_at_ms &&
		    workers_start(ws, i) == 0)
			ws->restarts++;
	}
}

void workers_broadcast_add(struct workers *ws, const struct torrent *t)
{
	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].channel >= 0)
			workers_send_torrent(ws, i, t);
}

void workers_broadcast_remove(struct workers *ws, uint32_t id)
{
	struct wmsg msg = { .type = WMSG_REMOVE_TORRENT, .torrent = id };

	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].channel >= 0)
			workers_post(ws, i, &msg, -1);
	swarm_drop(&ws->swarm, id);
}

/* Peers a worker holds or has been sent but not yet taken. */
static uint64_t workers_load(const struct wproc *w)
{
	uint64_t taken = __atomic_load_n(&w->stats->c[WSTAT_HANDSHAKES], __ATOMIC_RELAXED);
	uint64_t peers = __atomic_load_n(&w->stats->c[WSTAT_PEERS], __ATOMIC_RELAXED);

	return peers + (w->handed > taken ? w->handed - taken : 0);
}

/*
 * Sends the peer to the least-loaded running worker whose channel is not
 * backed up; if every one is, queues it on the least-loaded one. Takes
 * ownership of fd. Each time the first choice could not take it is counted.
 */
int workers_handoff(struct workers *ws, int fd, const struct torrent *t, struct wmsg *msg)
{
	int best = -1, best_any = -1, rc;

	msg->type = WMSG_PEER;
	msg->torrent = t->id;
	if (t->paused) { /* out of service: its content is changing or being checked */
		close(fd);
		ws->drop_paused++;
		return -EAGAIN;
	}
	for (unsigned i = 0; i < ws->n; i++) {
		if (ws->w[i].channel < 0)
			continue;
		if (best_any < 0 || workers_load(&ws->w[i]) < workers_load(&ws->w[best_any]))
			best_any = (int)i;
		if (!ws->w[i].q_head &&
		    (best < 0 || workers_load(&ws->w[i]) < workers_load(&ws->w[best])))
			best = (int)i;
	}
	if (best_any < 0) {
		close(fd);
		ws->drop_no_worker++;
		return -EPIPE;
	}
	if (best != best_any)
		ws->handoff_fallback++;
	if (best < 0)
		best = best_any;
	ws->w[best].handed++;
	workers_addr_add(&ws->w[best], msg->addr_slot, 1); /* the worker takes it off at close */
	rc = workers_post(ws, (unsigned)best, msg, fd);
	if (rc)
		workers_addr_put(&ws->w[best], msg->addr_slot); /* it never got there */
	return rc;
}

void workers_quit(struct workers *ws)
{
	struct wmsg msg = { .type = WMSG_QUIT };

	ws->quitting = true;
	for (unsigned i = 0; i < ws->n; i++) {
		ws->w[i].restart_at_ms = 0;
		if (ws->w[i].channel >= 0 && workers_post(ws, i, &msg, -1) != 0 && ws->w[i].pid)
			kill(ws->w[i].pid, SIGKILL);
	}
}

bool workers_all_gone(const struct workers *ws)
{
	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].pid)
			return false;
	return true;
}

void workers_kill(struct workers *ws)
{
	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].pid)
			kill(ws->w[i].pid, SIGKILL);
}

void workers_stats(const struct workers *ws, uint64_t *sum)
{
	for (unsigned i = 0; i < ws->n; i++)
		for (int k = 0; k < WSTAT_MAX; k++)
			sum[k] += __atomic_load_n(&ws->w[i].stats->c[k], __ATOMIC_RELAXED);
}

uint64_t workers_torrent_up(const struct workers *ws, uint32_t torrent_id)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < ws->n; i++)
		sum += __atomic_load_n(&ws->w[i].stats->torrent_up[torrent_id %
								     WORKERS_MAX_TORRENT_IDS],
				       __ATOMIC_RELAXED);
	return sum;
}
