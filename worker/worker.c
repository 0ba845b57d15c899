/*
 * worker.c - a worker process: its ring, its loop, its torrents, its channel.
 *
 * The loop is liburing's: one submit-and-wait (bounded by the next timer),
 * walk every completion, advance once, one dispatch switch. Messages from the
 * master are rare and small: a multishot poll says the channel is readable
 * and the worker drains it with recvmsg().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iocore/clock.h"
#include "iocore/log.h"
#include "worker/wk.h"

#define WK_RING_ENTRIES	 4096
#define WK_QUIT_MS	 3000 /* blocks in flight get this long on QUIT */
#define WK_CHANNEL_BATCH 64

/*
 * Puts p on the ready list: it is pumped at the end of this loop turn, not
 * now, so a batch that ends inside a pump never starts the next one inside
 * it (no recursion), and peers take turns. The list holds an op of p's.
 */
void wk_ready(struct worker *w, struct peer *p)
{
	if (p->ready)
		return;
	p->ready = true;
	peer_hold(p);
	p->next_ready = NULL;
	if (w->ready_tail)
		w->ready_tail->next_ready = p;
	else
		w->ready_head = p;
	w->ready_tail = p;
}

/* Pumps the peers readied before this call; those they ready wait a turn. */
static void wk_run_ready(struct worker *w)
{
	struct peer *p = w->ready_head;

	w->ready_head = w->ready_tail = NULL;
	while (p) {
		struct peer *next = p->next_ready;

		p->ready = false;
		peer_pump(w, p);
		peer_put(w, p);
		p = next;
	}
}

struct io_uring_sqe *wk_sqe(struct worker *w)
{
	uint64_t full = 0;
	struct io_uring_sqe *sqe = ring_get_sqe(&w->ring, &full);

	if (full)
		wk_count(w, WSTAT_SQ_FULL, full);
	if (!sqe) {
		/* ring_get_sqe submitted and still found no room: cannot go on safely. */
		log_alert("io_uring: no submission queue entry after submitting");
		_exit(3);
	}
	return sqe;
}

/* An operation of p's: user_data names it, and it holds p until its last completion. */
struct io_uring_sqe *wk_peer_sqe(struct worker *w, enum wk_op op, struct peer *p)
{
	struct io_uring_sqe *sqe = wk_sqe(w);

	io_uring_sqe_set_data64(sqe, wk_ud(op, p));
	peer_hold(p);
	return sqe;
}

void wk_queue_push(struct wk_queue *q, struct peer *p)
{
	p->next_wait = NULL;
	if (q->tail)
		q->tail->next_wait = p;
	else
		q->head = p;
	q->tail = p;
}

struct peer *wk_queue_pop(struct wk_queue *q)
{
	struct peer *p = q->head;

	if (p) {
		q->head = p->next_wait;
		if (!q->head)
			q->tail = NULL;
		p->next_wait = NULL;
	}
	return p;
}

void wk_queue_remove(struct wk_queue *q, struct peer *p)
{
	struct peer **pp = &q->head, *prev = NULL;

	while (*pp && *pp != p) {
		prev = *pp;
		pp = &(*pp)->next_wait;
	}
	if (!*pp)
		return;
	*pp = p->next_wait;
	if (q->tail == p)
		q->tail = prev;
	p->next_wait = NULL;
}

static struct wk_torrent *wk_torrent_find(struct worker *w, uint32_t id)
{
	for (uint32_t i = 0; i < w->n_tt; i++)
		if (w->tt[i]->id == id && !w->tt[i]->removed)
			return w->tt[i];
	return NULL;
}

static void wk_torrent_free(struct worker *w, struct wk_torrent *t)
{
	for (uint32_t i = 0; i < w->n_tt; i++) {
		if (w->tt[i] == t) {
			w->tt[i] = w->tt[--w->n_tt];
			break;
		}
	}
	for (uint32_t i = 0; t->fds && i < t->mi.file_count; i++)
		if (t->fds[i] >= 0)
			close(t->fds[i]);
	for (uint32_t i = 0; t->maps && i < t->mi.file_count; i++)
		if (t->maps[i])
			munmap((void *)t->maps[i], t->mi.files[i].length);
	for (uint32_t i = 0; t->trees && i < t->mi.file_count; i++)
		free(t->trees[i]);
	ss_torrent_free(t);
	free(t->trees);
	wpex_torrent_free(t);
	free(t->fds);
	free(t->maps);
	free(t->have);
	mi_free(&t->mi);
	free(t);
}

/* Tells the master that torrent id's files are closed (WMSG_REMOVED). */
static void wk_removed(struct worker *w, uint32_t id)
{
	struct wmsg msg = { .type = WMSG_REMOVED, .torrent = id };

	if (!w->channel_gone &&
	    send(w->a->channel, &msg, wmsg_len(&msg), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_warn("channel: telling the master torrent %u is closed", id);
}

/* A peer let go of t: a removed torrent goes when its last peer does. */
void wk_torrent_put(struct worker *w, struct wk_torrent *t)
{
	uint32_t id = t->id;

	if (--t->peers == 0 && t->removed) {
		wk_torrent_free(w, t);
		wk_removed(w, id);
	}
}

/*
 * splice: maps every file read-only, so vmsplice() can hand the pipe its
 * page-cache pages. The kernel reaches them through get_user_pages, never
 * by touching them from user space, so a file cut short under us makes a
 * send fail (EFAULT), not a SIGBUS.
 */
static int wk_torrent_map(struct wk_torrent *t)
{
	t->maps = calloc(t->mi.file_count, sizeof(*t->maps));
	if (!t->maps)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->mi.file_count; i++) {
		void *m;

		if (t->fds[i] < 0)
			continue;
		m = mmap(NULL, t->mi.files[i].length, PROT_READ, MAP_SHARED, t->fds[i], 0);
		if (m == MAP_FAILED) {
			log_warn("torrent %s: mapping file %u", t->mi.name, i);
			return -errno;
		}
		t->maps[i] = m;
		/* cold.c reads runs itself: no read-ahead window for a fault, or for its reads */
		(void)madvise(m, t->mi.files[i].length, MADV_RANDOM);
		(void)posix_fadvise(t->fds[i], 0, 0, POSIX_FADV_RANDOM);
	}
	return 0;
}

/* Opens every file of t read-only; an empty or pad file needs no descriptor. */
static int wk_torrent_open(struct worker *w, struct wk_torrent *t)
{
	char path[MI_MAX_PATH + MI_MAX_COMPONENT + 2];
	struct stat st;

	t->fds = malloc(t->mi.file_count * sizeof(*t->fds));
	if (!t->fds)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->mi.file_count; i++)
		t->fds[i] = -1;
	for (uint32_t i = 0; i < t->mi.file_count; i++) {
		const struct mi_file *f = &t->mi.files[i];

		if (f->pad || f->length == 0)
			continue;
		if (t->mi.multi_file)
			snprintf(path, sizeof(path), "%s/%s", t->mi.name, f->path);
		else
			snprintf(path, sizeof(path), "%s", t->mi.name);
		t->fds[i] = openat(w->a->data_dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (t->fds[i] < 0 || fstat(t->fds[i], &st) != 0 ||
		    (uint64_t)st.st_size != f->length) {
			log_warnx("torrent %s: %s: missing or changed; not served by this worker",
				  t->mi.name, path);
			return -EIO;
		}
	}
	return w->conf->send_strategy != CONF_SEND_COPY ? wk_torrent_map(t) : 0;
}

/* One torrent from its .torrent bytes and have bitfield (BEP 3 order). */
static void wk_add_one(struct worker *w, uint32_t id, const uint8_t *raw, uint32_t raw_len,
		       const uint8_t *have, uint32_t have_len)
{
	struct wk_torrent *t = calloc(1, sizeof(*t));
	struct wk_torrent **tt = realloc(w->tt, (w->n_tt + 1) * sizeof(*tt));
	struct mi_err err;

	if (tt)
		w->tt = tt;
	if (!t || !tt || mi_parse(raw, raw_len, &t->mi, &err) != 0 ||
	    have_len != (t->mi.piece_count + 7) / 8 || !(t->have = malloc(have_len ? have_len : 1))) {
		log_errx("torrent %u: the master's description did not load", id);
		goto fail;
	}
	memcpy(t->have, have, have_len);
	t->id = id;
	t->complete = true;
	for (uint32_t i = 0; i < t->mi.piece_count && t->complete; i++)
		t->complete = t->have[i / 8] & (0x80u >> (i % 8));
	if (wk_torrent_open(w, t) != 0)
		goto fail;
	w->tt[w->n_tt++] = t;
	return;
fail:
	if (t)
		wk_torrent_free(w, t); /* not on the list yet: only releases it */
}

static void wk_add_torrent(struct worker *w, const struct wmsg *msg, int fd)
{
	size_t len = (size_t)msg->torrent_len + msg->have_len;
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf || pread(fd, buf, len, 0) != (ssize_t)len)
		log_errx("torrent %u: the master's description did not load", msg->torrent);
	else
		wk_add_one(w, msg->torrent, buf, msg->torrent_len, buf + msg->torrent_len,
			   msg->have_len);
	free(buf);
}

/* WMSG_ADD_TORRENTS: msg->torrent_len records in the memfd, read through one mapping. */
static void wk_add_torrents(struct worker *w, const struct wmsg *msg, int fd)
{
	struct stat st;
	const uint8_t *p, *end;
	void *m;

	if (fstat(fd, &st) != 0 || st.st_size <= 0 ||
	    (m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		log_errx("channel: the master's torrents did not load");
		return;
	}
	p = m;
	end = p + st.st_size;
	for (uint32_t i = 0; i < msg->torrent_len; i++) {
		struct wmsg_add_rec r;

		if ((size_t)(end - p) < sizeof(r))
			break;
		memcpy(&r, p, sizeof(r));
		p += sizeof(r);
		if ((size_t)(end - p) < (size_t)r.torrent_len + r.have_len)
			break;
		wk_add_one(w, r.torrent, p, r.torrent_len, p + r.torrent_len, r.have_len);
		p += (size_t)r.torrent_len + r.have_len;
	}
	munmap(m, (size_t)st.st_size);
}

static void wk_remove_torrent(struct worker *w, uint32_t id)
{
	struct wk_torrent *t = wk_torrent_find(w, id);

	if (!t) { /* never loaded here: nothing of it is open */
		wk_removed(w, id);
		return;
	}
	t->removed = true;
	t->peers++; /* held, so that the peers closed below do not free it under the loop */
	for (uint32_t i = 0; i < (uint32_t)w->a->conf->max_peers; i++)
		if (peer_open(&w->peers[i]) && w->peers[i].t == t)
			peer_close(w, &w->peers[i], -1);
	wk_torrent_put(w, t); /* freed, and said so, now or when its last peer goes */
}

static void wk_begin_quit(struct worker *w)
{
	if (w->quitting)
		return;
	w->quitting = true;
	w->quit_deadline_ms = tw_now_ms() + WK_QUIT_MS;
}

static void wk_message(struct worker *w, const struct wmsg *msg, int fd)
{
	struct wk_torrent *t;

	switch (msg->type) {
	case WMSG_ADD_TORRENT:
		if (fd >= 0)
			wk_add_torrent(w, msg, fd);
		break;
	case WMSG_ADD_TORRENTS:
		if (fd >= 0)
			wk_add_torrents(w, msg, fd);
		break;
	case WMSG_REMOVE_TORRENT:
		wk_remove_torrent(w, msg->torrent);
		break;
	case WMSG_PEER:
		wk_count(w, WSTAT_HANDSHAKES, 1);
		t = wk_torrent_find(w, msg->torrent);
		if (fd < 0) { /* the descriptor did not fit: RLIMIT_NOFILE (MSG_CTRUNC) */
			static bool said;

			if (!said)
				log_warnx("a peer's descriptor was lost in the hand-off: out of "
					  "descriptors (RLIMIT_NOFILE); counted as drop_too_many");
			said = true;
			wk_count(w, WSTAT_DROP_TOO_MANY, 1);
			wk_addr_put(w, msg->addr_slot);
			break;
		}
		if (!t || w->quitting) {
			close(fd);
			wk_addr_put(w, msg->addr_slot);
			break;
		}
		peer_admit(w, fd, t, msg);
		return; /* the peer owns fd now */
	case WMSG_QUIT:
		wk_begin_quit(w);
		break;
	case WMSG_SWARM:
		if (fd >= 0)
			ss_attach(w, msg->torrent, fd, wk_torrent_find(w, msg->torrent));
		break;
	case WMSG_PEX_ADD:
	case WMSG_PEX_DEL:
		if ((t = wk_torrent_find(w, msg->torrent)))
			wpex_channel(t, msg);
		break;
	default:
		log_warnx("channel: unknown message type %u", msg->type);
		break;
	}
	if (fd >= 0)
		close(fd);
}

/*
 * Drains up to WK_CHANNEL_BATCH messages; EOF means the master is gone. A
 * multishot poll fires again only when more data arrives, so a drain that
 * stops at its cap sets channel_more and the loop goes on reading next turn
 * without sleeping: a burst of hand-offs is never left unread.
 */
static void wk_channel_read(struct worker *w)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct wmsg msg;

	w->channel_more = false;
	for (int i = 0; i < WK_CHANNEL_BATCH; i++) {
		struct iovec iov = { .iov_base = &msg, .iov_len = sizeof(msg) };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = u.buf,
				     .msg_controllen = sizeof(u.buf) };
		struct cmsghdr *c;
		ssize_t n = recvmsg(w->a->channel, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		int fd = -1;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			w->channel_gone = true;
			wk_begin_quit(w);
			return;
		}
		c = CMSG_FIRSTHDR(&mh);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
		if (n < (ssize_t)offsetof(struct wmsg, addr_slot) || n != (ssize_t)wmsg_len(&msg)) {
			log_warnx("channel: a message of %zd bytes", n);
			if (fd >= 0)
				close(fd);
			continue;
		}
		wk_message(w, &msg, fd);
	}
	w->channel_more = true; /* hit the cap: there may be more */
}

static void wk_arm_channel(struct worker *w)
{
	struct io_uring_sqe *sqe = wk_sqe(w);

	io_uring_prep_poll_multishot(sqe, w->a->channel, POLLIN);
	io_uring_sqe_set_data64(sqe, (uint64_t)OP_CHANNEL << 56);
	w->channel_armed = true;
}

static void wk_dispatch(struct worker *w, const struct io_uring_cqe *cqe)
{
	enum wk_op op = (enum wk_op)(cqe->user_data >> 56);
	uint32_t slot = (uint32_t)cqe->user_data;
	uint32_t gen = (uint32_t)(cqe->user_data >> 32) & 0xffffff;
	struct peer *p;
	uint16_t bid;

	if (op == OP_CHANNEL) {
		if (!(cqe->flags & IORING_CQE_F_MORE))
			w->channel_armed = false;
		wk_channel_read(w);
		return;
	}
	if (op == OP_COLD) {
		cold_on_cqe(w, cqe->user_data, cqe->res);
		return;
	}
	p = slot < (uint32_t)w->conf->max_peers ? &w->peers[slot] : NULL;
	if (!p || p->state == PEER_FREE || (p->gen & 0xffffff) != gen) {
		/* A slot is freed only when its last completion is in: cannot happen. */
		log_alert("completion for a free peer slot %u (op %d)", slot, op);
		if (bufring_cqe_bid(cqe, &bid))
			bufring_recycle(&w->rx, bid);
		return;
	}
	switch (op) {
	case OP_RECV:
		peer_on_recv(w, p, cqe);
		break;
	case OP_CTL:
		peer_on_ctl(w, p, cqe->res);
		break;
	case OP_READ:
	case OP_SEND:
	case OP_SPLICE:
		batch_on_cqe(w, p, op, cqe->res);
		break;
	case OP_ZC:
		batch_on_zc(w, p, cqe->res, cqe->flags);
		break;
	default:
		log_alert("completion with unknown op %d", op);
		return;
	}
	/* An operation's last completion is the one without F_MORE (send_zc: its notification). */
	if (!(cqe->flags & IORING_CQE_F_MORE))
		peer_put(w, p);
}

/* On QUIT: peers with nothing in flight go now, the rest after their batch. */
static void wk_quit_sweep(struct worker *w, uint64_t now)
{
	bool late = now >= w->quit_deadline_ms;

	for (uint32_t i = 0; i < (uint32_t)w->conf->max_peers && w->n_open; i++) {
		struct peer *p = &w->peers[i];

		if (peer_open(p) && (late || !peer_output_busy(p)))
			peer_close(w, p, -1);
	}
}

/* A turn that handled something: its time, into the histogram /metrics shows. */
static void wk_turn_time(struct worker *w, uint64_t t0_ns)
{
	static const uint32_t le[WORKER_LOOP_BUCKETS] = WORKER_LOOP_LE;
	uint64_t us = (clock_ns() - t0_ns) / 1000;
	int k = 0;

	while (k < WORKER_LOOP_BUCKETS - 1 && us > le[k])
		k++;
	wk_count(w, WSTAT_LOOP_TURNS, 1);
	wk_count(w, WSTAT_LOOP_US, us);
	wk_count(w, (enum wstat)(WSTAT_LOOP_LE0 + k), 1);
}

/* The wheel's one callback: a peer's timer, or one of choke.c's and pace.c's. */
static void wk_timer(struct tw_timer *tm, void *arg)
{
	struct worker *w = arg;

	if (!choke_on_timer(w, tm))
		peer_timer(tm, arg);
}

static void wk_loop(struct worker *w)
{
	struct io_uring_cqe *cqe;
	unsigned head, count;

	while (!(w->quitting && w->n_open == 0)) {
		uint64_t now = tw_now_ms();
		uint64_t wait = tw_next_ms(&w->wheel, now), ss_wait_ms;
		struct __kernel_timespec ts;
		uint64_t t0;
		bool busy;
		int rc;

		if (wait > (w->quitting ? 50 : 1000))
			wait = w->quitting ? 50 : 1000;
		if (w->channel_more || w->ready_head)
			wait = 0;
		ss_wait_ms = ss_poll(w, now); /* super-seeding: sightings (BEP 16) */
		if (ss_wait_ms < wait)
			wait = ss_wait_ms;
		ts.tv_sec = (long long)(wait / 1000);
		ts.tv_nsec = (long long)(wait % 1000) * 1000000;
		rc = io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, NULL);
		if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) {
			log_errx("io_uring_submit_and_wait_timeout: %s", strerror(-rc));
			break;
		}
		t0 = clock_ns();
		busy = w->ready_head != NULL || w->channel_more;
		count = 0;
		io_uring_for_each_cqe(&w->ring, head, cqe)
		{
			wk_dispatch(w, cqe);
			count++;
		}
		io_uring_cq_advance(&w->ring, count);
		wk_run_ready(w);
		wpex_flush(w);
		now = tw_now_ms();
		tw_advance(&w->wheel, now, wk_timer, w);
		if (w->channel_more && !w->channel_gone)
			wk_channel_read(w);
		if (!w->channel_armed && !w->channel_gone)
			wk_arm_channel(w);
		if (w->quitting)
			wk_quit_sweep(w, now);
		if (busy || count)
			wk_turn_time(w, t0);
	}
}

static int wk_setup(struct worker *w)
{
	unsigned iowq[2] = { 8, 64 }; /* bounded (files), unbounded (sockets, pipes) */
	char err[256], feat[256];
	int rc;

	rc = ring_init(&w->ring, WK_RING_ENTRIES, &w->feat, err, sizeof(err));
	if (rc) {
		log_errx("%s", err);
		return rc;
	}
	ring_describe(&w->feat, feat, sizeof(feat));
	log_debug("%s", feat);
	if (w->conf->send_strategy == CONF_SEND_ZC && !w->feat.sendmsg_zc) {
		log_errx("serve.send_strategy = send_zc: IORING_OP_SENDMSG_ZC is not supported "
			 "by this kernel (Linux 6.1 has it)");
		return -EOPNOTSUPP;
	}
	io_uring_register_iowq_max_workers(&w->ring, iowq);
	rc = bufring_setup(&w->ring, &w->rx, 0, WK_RECV_BUFS, WK_RECV_BUF_SIZE);
	if (rc) {
		log_errx("io_uring provided buffer ring: %s", strerror(-rc));
		return rc;
	}
	w->peers = calloc((size_t)w->conf->max_peers, sizeof(*w->peers));
	w->free_slots = malloc((size_t)w->conf->max_peers * sizeof(*w->free_slots));
	if (!w->peers || !w->free_slots || batch_init(w) != 0) {
		log_errx("out of memory for %d peers", w->conf->max_peers);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < (uint32_t)w->conf->max_peers; i++)
		w->free_slots[w->n_free++] = (uint32_t)w->conf->max_peers - 1 - i;
	tw_init(&w->wheel, 100, tw_now_ms());
	if (choke_setup(w) != 0) {
		log_errx("out of memory for the choker's candidates");
		return -ENOMEM;
	}
	memcpy(w->peer_id, "-RS0100-", 8);
	for (int i = 8; i < 20; i++)
		w->peer_id[i] = (uint8_t)('0' + (unsigned)random() % 10);
	return 0;
}

int worker_main(const struct worker_args *a)
{
	static struct worker w;
	int rc;

	w.a = a;
	w.conf = a->conf;
	srandom((unsigned)getpid() ^ (unsigned)tw_now_ms());
	__atomic_store_n(&a->stats->c[WSTAT_PEERS], 0, __ATOMIC_RELAXED);
	memset(worker_torrent_peers(a->stats, a->max_torrents), 0,
	       (size_t)a->max_torrents * sizeof(uint64_t));
	rc = wk_setup(&w);
	if (rc)
		return 1;
	wk_arm_channel(&w);
	wk_loop(&w);
	for (uint32_t i = 0; i < w.n_tt;)
		wk_torrent_free(&w, w.tt[i]);
	batch_fini(&w);
	choke_fini(&w);
	wpex_worker_free(&w);
	bufring_free(&w.ring, &w.rx);
	io_uring_queue_exit(&w.ring);
	return 0;
}
