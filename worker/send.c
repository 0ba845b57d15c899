/*
 * send.c - serving blocks: a batch of piece messages at a time, from a fixed
 * pool of batches, by one of three strategies that put the same bytes on the
 * wire.
 *
 * copy:   READ every extent of up to WK_BATCH_BLOCKS blocks into the batch's
 *         buffer, right behind its 13-byte header (in parallel), then one
 *         SEND of the whole buffer; a short send goes on from where it
 *         stopped. Two copies (page cache -> buffer -> socket), all in the ring.
 * splice: no byte of content is copied. Up to WK_SPLICE_BLOCKS headers and
 *         blocks become one iovec (headers from the header log, blocks from
 *         the files mapped read-only); vmsplice() gives the batch's pipe
 *         references to those pages, splice() moves them to the socket, both
 *         synchronous and non-blocking, in the worker's own thread: io_uring
 *         would run IORING_OP_SPLICE in an io-wq thread, one at a time. A
 *         full socket keeps the batch, with POLLOUT armed in the ring.
 * send_zc: the same iovec in one IORING_OP_SENDMSG_ZC; the batch ends when
 *         the kernel's notification says it let the pages go.
 * auto:   splice.
 * RC4 peers: under splice and send_zc, the batch's iovec (as far as the
 *         buffer holds) is ciphered into the buffer by crypt_gather once
 *         cold.c has its pages in, then sent like copy's; under copy, copy.
 *
 * Before a splice or send_zc batch goes, cold.c checks that its pages are in
 * the page cache and has the missing ones read in while the worker goes on
 * with other peers, so that the kernel never faults one in from the worker's
 * thread.
 *
 * A peer holds at most one batch, started by peer.c when the peer enters
 * BATCH. How it ends (all out, failed, or stopped on a full socket) is
 * reported with peer_on_batch_done(); peer.c decides what comes next (the
 * peers waiting for a batch, the next batch). send.c changes no peer field
 * but its own handle, p->batch.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iocore/log.h"
#include "worker/drr.h"
#include "worker/wk.h"

static uint32_t send_buf_size(const struct worker *w)
{
	uint32_t batch = WK_BATCH_BLOCKS * (WIRE_PIECE_HDR_LEN + 16384u);
	uint32_t one = WIRE_PIECE_HDR_LEN + (uint32_t)w->conf->max_request;

	return batch > one ? batch : one;
}

int batch_init(struct worker *w)
{
	uint32_t size = send_buf_size(w);

	w->batch_mem = malloc((size_t)WK_BATCHES * size);
	if (!w->batch_mem)
		return -ENOMEM;
	if (w->conf->send_strategy != CONF_SEND_COPY) {
		/* Real pages (written once, then read-only), so TCP can hold them. */
		uint32_t z = (uint32_t)w->conf->max_request > 16384 ? (uint32_t)w->conf->max_request
								     : 16384;
		void *m = mmap(NULL, z, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			       0);

		if (m == MAP_FAILED)
			return -ENOMEM;
		memset(m, 0, z);
		mprotect(m, z, PROT_READ);
		w->zeros = m;
		w->zeros_len = z;
		w->iov_mem = calloc((size_t)WK_BATCHES * WK_SPLICE_IOV, sizeof(*w->iov_mem));
		if (!w->iov_mem || cold_init(w) != 0)
			return -ENOMEM;
	}
	for (int i = WK_BATCHES - 1; i >= 0; i--) {
		struct batch *b = &w->batches[i];

		b->buf = w->batch_mem + (size_t)i * size;
		b->iov = w->iov_mem ? w->iov_mem + (size_t)i * WK_SPLICE_IOV : NULL;
		b->pipe[0] = b->pipe[1] = -1;
		b->next_free = w->free_batches;
		w->free_batches = b;
	}
	return 0;
}

static void batch_close_pipe(struct batch *b)
{
	if (b->pipe[0] >= 0) {
		close(b->pipe[0]);
		close(b->pipe[1]);
	}
	b->pipe[0] = b->pipe[1] = -1;
}

void batch_fini(struct worker *w)
{
	for (int i = 0; i < WK_BATCHES; i++)
		batch_close_pipe(&w->batches[i]);
	free(w->batch_mem);
	free(w->iov_mem);
	cold_fini(w);
	if (w->hlog) {
		munmap(w->hlog->base, WK_HLOG_SIZE);
		free(w->hlog);
	}
	if (w->zeros)
		munmap((void *)w->zeros, w->zeros_len);
}

static void hlog_free_if_done(struct hlog *h)
{
	if (h->refs == 0 && h->retired) {
		munmap(h->base, WK_HLOG_SIZE);
		free(h);
	}
}

static void hlog_put(struct hlog *h)
{
	h->refs--;
	hlog_free_if_done(h);
}

/* Gives the batch back to the pool; peer.c hands it on. */
static void batch_release(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;

	if (b->failed)
		batch_close_pipe(b); /* it may hold a torn batch */
	for (int i = 0; i < 2; i++) {
		if (b->hl[i])
			hlog_put(b->hl[i]);
		b->hl[i] = NULL;
	}
	p->batch = NULL;
	b->peer = NULL;
	b->next_free = w->free_batches;
	w->free_batches = b;
}

static struct io_uring_sqe *batch_sqe(struct worker *w, struct peer *p, enum wk_op op)
{
	struct io_uring_sqe *sqe = wk_peer_sqe(w, op, p);

	p->batch->ops++;
	return sqe;
}

static struct block_req batch_pop(struct worker *w, struct peer *p)
{
	struct block_req r = p->q[p->q_head];

	p->q_head = (p->q_head + 1) % (uint32_t)w->conf->reqq;
	p->q_len--;
	return r;
}

static void batch_send(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;
	struct io_uring_sqe *sqe = batch_sqe(w, p, OP_SEND);

	io_uring_prep_send(sqe, p->fd, b->buf + b->sent, b->bytes - b->sent, MSG_NOSIGNAL);
}

/*
 * Fairness by bytes (drr.h): whether the peer's next queued block still fits
 * in its share of this round, with so_far bytes in the batch already. What
 * does not fit waits for the peer's next batch, a turn later, after every
 * other peer readied meanwhile had its turn.
 */
static bool batch_drr_room(const struct peer *p, uint32_t so_far)
{
	return drr_fits(p->drr_deficit, so_far, WIRE_PIECE_HDR_LEN + p->q[p->q_head].length);
}

/* A batch starts: the peer's share for this round. */
static void batch_drr_visit(struct worker *w, struct peer *p)
{
	drr_visit(&p->drr_deficit, drr_quantum((uint32_t)w->conf->max_request));
}

/* The batch is filled: what it took is charged to the peer's share. */
static void batch_drr_charge(struct worker *w, struct peer *p)
{
	drr_charge(&p->drr_deficit, drr_quantum((uint32_t)w->conf->max_request), p->batch->bytes,
		   p->q_len);
}

/* copy: headers and block bytes back to back in the batch buffer. */
static void batch_fill_copy(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;
	const struct wk_torrent *t = p->t;
	uint32_t size = send_buf_size(w), off = 0;
	struct mi_extent ext[WK_MAX_EXTENTS];

	while (p->q_len && b->blocks < WK_BATCH_BLOCKS &&
	       off + WIRE_PIECE_HDR_LEN + p->q[p->q_head].length <= size && batch_drr_room(p, off)) {
		struct block_req r = batch_pop(w, p);
		int n = mi_map(&t->mi, r.piece, r.begin, r.length, ext, WK_MAX_EXTENTS);

		off += (uint32_t)wire_put_piece_header(b->buf + off, r.piece, r.begin, r.length);
		if (n < 0) {
			b->failed = true;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (t->mi.files[ext[i].file].pad) {
				memset(b->buf + off, 0, ext[i].length);
			} else {
				struct io_uring_sqe *sqe = batch_sqe(w, p, OP_READ);

				io_uring_prep_read(sqe, t->fds[ext[i].file], b->buf + off,
						   ext[i].length, ext[i].offset);
				b->read_want += ext[i].length;
			}
			off += ext[i].length;
		}
		b->blen[b->blocks++] = r.length;
		b->payload += r.length;
	}
	b->bytes = off;
	pace_charge(w, b->bytes);
}

/*
 * splice: headers go to the header log, an append-only run of anonymous
 * memory. vmsplice() hands the pipe references to its pages, not copies, and
 * TCP keeps those references until the peer has read the bytes, so a byte
 * once spliced must never change: the log is only ever appended to. A full
 * chunk is replaced by a fresh one and unmapped when no batch still holds
 * headers in it that are not in its pipe (the kernel keeps the pages it
 * references).
 */
static const uint8_t *splice_header(struct worker *w, struct batch *b, const struct block_req *r)
{
	struct hlog *h = w->hlog;
	uint8_t *at;

	if (!h || h->used + WIRE_PIECE_HDR_LEN > WK_HLOG_SIZE) {
		struct hlog *n = calloc(1, sizeof(*n));
		void *m = mmap(NULL, WK_HLOG_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (!n || m == MAP_FAILED) {
			free(n);
			if (m != MAP_FAILED)
				munmap(m, WK_HLOG_SIZE);
			return NULL;
		}
		n->base = m;
		if (h) {
			h->retired = true;
			hlog_free_if_done(h);
		}
		w->hlog = h = n;
	}
	if (b->hl[0] != h && b->hl[1] != h) {
		b->hl[b->hl[0] ? 1 : 0] = h; /* 32 headers never span three chunks */
		h->refs++;
	}
	at = h->base + h->used;
	h->used += (uint32_t)wire_put_piece_header(at, r->piece, r->begin, r->length);
	return at;
}

static int splice_pipe(struct batch *b)
{
	if (b->pipe[0] >= 0)
		return 0;
	if (pipe2(b->pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return -errno;
	/* Bigger pipes move more per call; the kernel may give less (per-user limits). */
	(void)fcntl(b->pipe[1], F_SETPIPE_SZ, WK_PIPE_SIZE);
	return 0;
}

/* Notes a mapped extent for cold.c, joined to the last stretch when it follows it. */
static void span_add(struct batch *b, const struct mi_extent *e)
{
	struct cold_span *s = b->n_span ? &b->span[b->n_span - 1] : NULL;

	if (s && s->file == e->file && s->off + s->len == e->offset) {
		s->len += e->length;
		return;
	}
	/* no more than the iovec's entries, which are checked first */
	b->span[b->n_span++] = (struct cold_span){ .file = e->file, .len = e->length,
						   .off = e->offset };
}

/*
 * Appends one block's header and extents to the batch's iovec; false if they
 * don't fit. A pad extent is one run of the zero region, which is at least
 * max_request long, and no extent is longer than its block.
 */
static bool iov_add_block(struct worker *w, struct peer *p, const struct block_req *r)
{
	const struct wk_torrent *t = p->t;
	struct batch *b = p->batch;
	struct mi_extent ext[WK_MAX_EXTENTS];
	int n = mi_map(&t->mi, r->piece, r->begin, r->length, ext, WK_MAX_EXTENTS);
	const uint8_t *h;

	if (n < 0) {
		b->failed = true;
		return false;
	}
	if (b->iov_n + 1 + (uint32_t)n > WK_SPLICE_IOV)
		return false;
	h = splice_header(w, b, r);
	if (!h) {
		b->failed = true;
		return false;
	}
	b->iov[b->iov_n++] = (struct iovec){ (void *)h, WIRE_PIECE_HDR_LEN };
	for (int i = 0; i < n; i++) {
		bool pad = t->mi.files[ext[i].file].pad;
		const uint8_t *base = pad ? w->zeros : t->maps[ext[i].file] + ext[i].offset;

		b->iov[b->iov_n++] = (struct iovec){ (void *)base, ext[i].length };
		if (!pad)
			span_add(b, &ext[i]);
	}
	b->bytes += WIRE_PIECE_HDR_LEN + r->length;
	b->payload += r->length;
	b->blen[b->blocks++] = r->length;
	return true;
}

/* splice and send_zc: the batch as one iovec of headers and mapped blocks. */
static void batch_fill_iov(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;

	/* an RC4 peer's batch is ciphered into its buffer (crypt_gather) */
	uint32_t cap = crypt_gathers(p) ? send_buf_size(w) : UINT32_MAX;

	b->in_pipe = b->iov_at = b->iov_n = b->n_span = 0;
	while (p->q_len && b->blocks < WK_SPLICE_BLOCKS &&
	       b->bytes + WIRE_PIECE_HDR_LEN + p->q[p->q_head].length <= cap &&
	       batch_drr_room(p, b->bytes) &&
	       iov_add_block(w, p, &p->q[p->q_head]))
		batch_pop(w, p);
	pace_charge(w, b->bytes);
}

static void batch_done(struct worker *w, struct peer *p);

/* Drops the first n bytes of the batch's remaining iovec: they are on their way. */
static void iov_advance(struct batch *b, size_t n)
{
	while (n) {
		struct iovec *v = &b->iov[b->iov_at];
		size_t k = n < v->iov_len ? n : v->iov_len;

		v->iov_base = (uint8_t *)v->iov_base + k;
		v->iov_len -= k;
		n -= k;
		if (v->iov_len == 0)
			b->iov_at++;
	}
}

/*
 * Moves the batch to the socket, synchronously and without blocking:
 * vmsplice what fits into the pipe, splice the pipe into the socket, again.
 * Returns 1 when the batch is all in the socket, 0 when the socket is full
 * (POLLOUT is armed), -1 on failure.
 */
static int splice_push(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;

	for (;;) {
		ssize_t n;

		if (b->iov_at < b->iov_n) {
			uint32_t cnt = b->iov_n - b->iov_at;

			n = vmsplice(b->pipe[1], &b->iov[b->iov_at], cnt > IOV_MAX ? IOV_MAX : cnt,
				     SPLICE_F_NONBLOCK);
			if (n < 0 && errno != EAGAIN)
				return -1;
			if (n > 0) {
				iov_advance(b, (size_t)n);
				b->in_pipe += (uint32_t)n;
			}
		}
		if (b->in_pipe == 0) /* all out, or a pipe that takes nothing */
			return b->iov_at == b->iov_n ? 1 : -1;
		n = splice(b->pipe[0], NULL, p->fd, NULL, b->in_pipe,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0) {
			b->in_pipe -= (uint32_t)n;
			b->sent += (uint32_t)n;
			b->tx_ms = tw_now_ms();
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			break;
		return -1;
	}
	struct io_uring_sqe *sqe = batch_sqe(w, p, OP_SPLICE);

	io_uring_prep_poll_add(sqe, p->fd, POLLOUT);
	return 0;
}

/* splice: the batch goes out now; a full socket keeps it, armed for POLLOUT. */
static void batch_push(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;
	int rc = -1;

	b->ops++;
	if (!b->failed && b->blocks && peer_open(p))
		rc = splice_push(w, p);
	b->ops--;
	if (rc == 0) {
		peer_on_batch_done(w, p, BATCH_SOCKET_FULL);
		return;
	}
	if (rc < 0)
		b->failed = true;
	batch_done(w, p);
}

/*
 * send_zc: one zero-copy sendmsg of what is left of the iovec. MSG_WAITALL
 * makes io_uring go on after a short send by itself. The kernel pins the
 * pages while they are on the wire and says when it let them go with a
 * second completion (IORING_CQE_F_NOTIF); the batch ends after that one.
 */
static void zc_send(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;
	struct io_uring_sqe *sqe = batch_sqe(w, p, OP_ZC);

	b->msg = (struct msghdr){ .msg_iov = &b->iov[b->iov_at],
				  .msg_iovlen = b->iov_n - b->iov_at };
	io_uring_prep_sendmsg_zc(sqe, p->fd, &b->msg, MSG_NOSIGNAL | MSG_WAITALL);
}

/* A zero-copy batch, its content resident, goes out (or ends, if it failed). */
void batch_go(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;

	if (crypt_rc4(p)) { /* mapped, resident: ciphered into the buffer, one send */
		if (b->blocks && !b->failed && peer_open(p) &&
		    crypt_gather(p, b->buf, b->iov, b->iov_n) == 0)
			batch_send(w, p);
		else
			b->failed = b->failed || b->blocks;
		if (b->ops == 0)
			batch_done(w, p);
		return;
	}
	if (w->conf->send_strategy != CONF_SEND_ZC) {
		batch_push(w, p);
		return;
	}
	if (b->blocks && !b->failed && peer_open(p))
		zc_send(w, p);
	else
		batch_done(w, p);
}

/* Takes a batch from the pool (peer.c saw one free) and fills and sends it. */
void batch_start(struct worker *w, struct peer *p)
{
	struct batch *b = w->free_batches;

	w->free_batches = b->next_free;
	p->batch = b;
	b->peer = p;
	b->bytes = b->sent = b->payload = b->blocks = b->ops = 0;
	b->read_want = b->read_got = 0;
	b->tx_ms = 0;
	b->failed = false;
	batch_drr_visit(w, p);
	if (w->conf->send_strategy != CONF_SEND_COPY && (!crypt_rc4(p) || crypt_gathers(p))) {
		if (crypt_rc4(p) || w->conf->send_strategy == CONF_SEND_ZC || splice_pipe(b) == 0)
			batch_fill_iov(w, p);
		else
			b->failed = true;
		batch_drr_charge(w, p);
		if (!cold_hold(w, p)) /* else cold.c calls batch_go once it is read in */
			batch_go(w, p);
		return;
	}
	batch_fill_copy(w, p);
	batch_drr_charge(w, p);
	if (b->ops == 0 && !b->failed) {
		crypt_seal(p, b->buf, b->bytes);
		batch_send(w, p); /* all padding: nothing to read */
	}
	if (b->ops == 0) /* nothing went out: a layout error before any op */
		batch_done(w, p);
}

/* Counts the piece messages that left whole, also from a batch that failed later. */
static void batch_count_sent(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;
	uint64_t at = 0, payload = 0;
	uint32_t blocks = 0;

	while (blocks < b->blocks && at + WIRE_PIECE_HDR_LEN + b->blen[blocks] <= b->sent) {
		at += WIRE_PIECE_HDR_LEN + b->blen[blocks];
		payload += b->blen[blocks++];
	}
	if (!blocks)
		return;
	wk_hist(w, WHIST_BATCH_BLOCKS, blocks);
	if (p->admit_ms) { /* its first piece message is out */
		wk_hist(w, WHIST_TTFB_MS, tw_now_ms() - p->admit_ms);
		p->admit_ms = 0;
	}
	choke_sent(w, p, blocks, payload);
	wk_count(w, WSTAT_BLOCKS, blocks);
	wk_count(w, WSTAT_UP_BYTES, payload);
	if (crypt_up_stat(p) >= 0)
		wk_count(w, (enum wstat)crypt_up_stat(p), payload);
	__atomic_fetch_add(&w->a->stats->torrent_up[p->t->id % w->a->max_torrents], payload,
			   __ATOMIC_RELAXED);
}

static void batch_done(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;
	bool failed;

	batch_count_sent(w, p);
	if (!peer_open(p))
		b->failed = true;
	failed = b->failed;
	batch_release(w, p);
	peer_on_batch_done(w, p, failed ? BATCH_FAILED : BATCH_SENT);
}

void batch_on_cqe(struct worker *w, struct peer *p, enum wk_op op, int res)
{
	struct batch *b = p->batch;

	b->ops--;
	if (op == OP_SPLICE) { /* room in the socket, or it broke: push decides */
		if (res < 0)
			b->failed = true;
		batch_push(w, p);
		return;
	}
	if (res < 0) {
		b->failed = true;
	} else if (op == OP_READ) {
		b->read_got += (uint64_t)res;
	} else if (op == OP_SEND) {
		b->sent += (uint32_t)res;
		b->tx_ms = tw_now_ms();
		if (res == 0)
			b->failed = true;
		else if (b->sent < b->bytes && peer_open(p))
			batch_send(w, p);
	}
	if (b->ops)
		return;
	if (op == OP_READ && !b->failed && b->read_got == b->read_want && peer_open(p)) {
		crypt_seal(p, b->buf, b->bytes);
		batch_send(w, p);
		return;
	}
	if (op == OP_READ)
		b->failed = true; /* short read, or the peer went away meanwhile */
	batch_done(w, p);
}

/* send_zc: a sendmsg's result (its notification may follow), or the notification. */
void batch_on_zc(struct worker *w, struct peer *p, int res, uint32_t flags)
{
	struct batch *b = p->batch;

	if (flags & IORING_CQE_F_NOTIF) {
		b->ops--;
	} else {
		if (!(flags & IORING_CQE_F_MORE)) /* no notification will come */
			b->ops--;
		if (res > 0) {
			b->sent += (uint32_t)res;
			iov_advance(b, (size_t)res);
			b->tx_ms = tw_now_ms();
		}
		if (res > 0 && b->sent < b->bytes && !b->failed && peer_open(p))
			zc_send(w, p);
		else if (b->sent != b->bytes)
			b->failed = true;
	}
	if (b->ops == 0)
		batch_done(w, p);
}
