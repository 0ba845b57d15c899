/*
 * send.c - serving blocks: up to WK_BATCH_BLOCKS piece messages per batch,
 * from a fixed pool of batches, by one of two strategies that put the same
 * bytes on the wire.
 *
 * copy:   READ every extent of every block into the batch's buffer, right
 *         behind its 13-byte header (in parallel), then one SEND of the
 *         whole buffer; a short send goes on from where it stopped.
 * splice: one linked chain per batch into the batch's own pipe:
 *           WRITE header -> SPLICE file extents -> ... (every block)
 *           -> SPLICE pipe -> socket (the whole batch at once)
 *         so no byte of content passes through user space. The socket is
 *         non-blocking, so a full socket never parks an io-wq thread: a
 *         short or -EAGAIN final splice goes on with POLLOUT linked to a
 *         splice of what is left in the pipe. Any other failure or short
 *         transfer ends the peer (its stream would be torn) and throws the
 *         pipe away.
 *
 * A peer holds at most one batch. When the pool is empty, peers wait in a
 * FIFO and get the next batch released.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iocore/log.h"
#include "worker/wk.h"

#define SEND_PAGE 4096u

static const uint8_t send_zeros[16384]; /* BEP 47 pad files */

static uint32_t send_buf_size(const struct worker *w)
{
	uint32_t batch = WK_BATCH_BLOCKS * (13 + 16384u);
	uint32_t one = 13 + (uint32_t)w->conf->max_request;

	return batch > one ? batch : one;
}

int batch_init(struct worker *w)
{
	uint32_t size = send_buf_size(w);

	w->batch_mem = malloc((size_t)WK_BATCHES * size);
	if (!w->batch_mem)
		return -ENOMEM;
	for (int i = WK_BATCHES - 1; i >= 0; i--) {
		struct batch *b = &w->batches[i];

		b->buf = w->batch_mem + (size_t)i * size;
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
}

/* Gives the batch back, and to the longest-waiting peer if there is one. */
void batch_release(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;
	struct peer *next;

	if (!b)
		return;
	if (b->failed)
		batch_close_pipe(b); /* it may hold a torn batch */
	p->batch = NULL;
	p->out_busy = false;
	b->peer = NULL;
	b->next_free = w->free_batches;
	w->free_batches = b;
	while ((next = wk_queue_pop(&w->batch_wait))) {
		next->waiting_batch = false;
		if (next->state == PEER_OPEN) {
			peer_pump(w, next);
			break;
		}
	}
}

static struct io_uring_sqe *batch_sqe(struct worker *w, struct peer *p, enum wk_op op)
{
	struct io_uring_sqe *sqe = wk_sqe(w);

	io_uring_sqe_set_data64(sqe, wk_ud(op, p));
	p->ops++;
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

/* copy: headers and block bytes back to back in the batch buffer. */
static void batch_fill_copy(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;
	const struct wk_torrent *t = p->t;
	uint32_t size = send_buf_size(w), off = 0;
	struct mi_extent ext[WK_MAX_EXTENTS];

	while (p->q_len && b->blocks < WK_BATCH_BLOCKS &&
	       off + 13 + p->q[p->q_head].length <= size) {
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
}

/* Pipe slots a block takes: its header, its pages (unaligned: one more), per extent. */
static uint32_t batch_pipe_pages(uint32_t length, int extents)
{
	return 1 + length / SEND_PAGE + 1 + (uint32_t)extents;
}

static int batch_pipe(struct batch *b)
{
	if (b->pipe[0] >= 0)
		return 0;
	int size;

	if (pipe2(b->pipe, O_CLOEXEC) != 0)
		return -errno;
	(void)fcntl(b->pipe[1], F_SETPIPE_SZ, WK_PIPE_SIZE);
	size = fcntl(b->pipe[1], F_GETPIPE_SZ);
	b->pipe_pages = size > 0 ? (uint32_t)size / SEND_PAGE : 16; /* 16: the kernel default */
	return 0;
}

static void batch_splice_extent(struct worker *w, struct peer *p, const struct mi_extent *e)
{
	const struct wk_torrent *t = p->t;
	struct batch *b = p->batch;
	struct io_uring_sqe *sqe;

	if (!t->mi.files[e->file].pad) {
		sqe = batch_sqe(w, p, OP_SPLICE);
		io_uring_prep_splice(sqe, t->fds[e->file], (int64_t)e->offset, b->pipe[1], -1,
				     e->length, 0);
		sqe->flags |= IOSQE_IO_LINK;
		return;
	}
	for (uint32_t done = 0; done < e->length; done += sizeof(send_zeros)) {
		uint32_t n = e->length - done < sizeof(send_zeros) ? e->length - done
								   : (uint32_t)sizeof(send_zeros);

		sqe = batch_sqe(w, p, OP_SPLICE);
		io_uring_prep_write(sqe, b->pipe[1], send_zeros, n, 0);
		sqe->flags |= IOSQE_IO_LINK;
	}
}

/* splice: one linked chain for the whole batch, ending in one splice to the socket. */
static void batch_fill_splice(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;
	const struct wk_torrent *t = p->t;
	uint32_t pages = 0, budget;
	struct mi_extent ext[WK_MAX_EXTENTS];
	struct io_uring_sqe *sqe;

	if (batch_pipe(b) != 0) {
		b->failed = true;
		return;
	}
	budget = b->pipe_pages;
	while (p->q_len && b->blocks < WK_BATCH_BLOCKS) {
		struct block_req r = p->q[p->q_head];
		int n = mi_map(&t->mi, r.piece, r.begin, r.length, ext, WK_MAX_EXTENTS);

		if (n < 0) {
			b->failed = true;
			return;
		}
		if (b->blocks && pages + batch_pipe_pages(r.length, n) > budget)
			break;
		pages += batch_pipe_pages(r.length, n);
		batch_pop(w, p);
		wire_put_piece_header(b->hdr[b->blocks], r.piece, r.begin, r.length);
		sqe = batch_sqe(w, p, OP_SPLICE);
		io_uring_prep_write(sqe, b->pipe[1], b->hdr[b->blocks], 13, 0);
		sqe->flags |= IOSQE_IO_LINK;
		for (int i = 0; i < n; i++)
			batch_splice_extent(w, p, &ext[i]);
		b->bytes += 13 + r.length;
		b->payload += r.length;
		b->blen[b->blocks++] = r.length;
	}
	sqe = batch_sqe(w, p, OP_SEND); /* OP_SEND marks the chain's last link */
	io_uring_prep_splice(sqe, b->pipe[0], -1, p->fd, -1, b->bytes, 0);
}

/* splice: the socket was full; wait for room, then move the rest of the pipe. */
static void batch_splice_rest(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;
	struct io_uring_sqe *sqe = batch_sqe(w, p, OP_SPLICE);

	io_uring_prep_poll_add(sqe, p->fd, POLLOUT);
	sqe->flags |= IOSQE_IO_LINK;
	sqe = batch_sqe(w, p, OP_SEND);
	io_uring_prep_splice(sqe, b->pipe[0], -1, p->fd, -1, b->bytes - b->sent, 0);
}

bool batch_start(struct worker *w, struct peer *p)
{
	struct batch *b = w->free_batches;

	if (!b)
		return false;
	w->free_batches = b->next_free;
	p->batch = b;
	b->peer = p;
	b->bytes = b->sent = b->payload = b->blocks = b->ops = 0;
	b->read_want = b->read_got = 0;
	b->failed = false;
	p->out_busy = true;
	if (w->conf->send_strategy == CONF_SEND_SPLICE) {
		batch_fill_splice(w, p);
	} else {
		batch_fill_copy(w, p);
		if (b->ops == 0 && !b->failed)
			batch_send(w, p); /* all padding: nothing to read */
	}
	if (b->ops == 0) { /* nothing went out: a layout error before any op */
		peer_close(w, p, WSTAT_DROP_IO);
		batch_release(w, p);
		peer_op_done(w, p);
	}
	return true;
}

/* Counts the piece messages that left whole, also from a batch that failed later. */
static void batch_count_sent(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;
	uint64_t at = 0, payload = 0;
	uint32_t blocks = 0;

	while (blocks < b->blocks && at + 13 + b->blen[blocks] <= b->sent) {
		at += 13 + b->blen[blocks];
		payload += b->blen[blocks++];
	}
	if (!blocks)
		return;
	wk_count(w, WSTAT_BLOCKS, blocks);
	wk_count(w, WSTAT_UP_BYTES, payload);
	__atomic_fetch_add(&w->a->stats->torrent_up[p->t->id % w->a->max_torrents], payload,
			   __ATOMIC_RELAXED);
}

static void batch_done(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;

	batch_count_sent(w, p);
	if (b->failed || p->state != PEER_OPEN) {
		b->failed = true;
		peer_close(w, p, p->state == PEER_OPEN ? WSTAT_DROP_IO : -1);
	} else {
		p->last_tx_ms = tw_now_ms();
	}
	batch_release(w, p);
	if (p->state == PEER_OPEN)
		peer_pump(w, p);
	peer_op_done(w, p);
}

void batch_on_cqe(struct worker *w, struct peer *p, enum wk_op op, int res)
{
	struct batch *b = p->batch;
	bool splice = w->conf->send_strategy == CONF_SEND_SPLICE;

	p->ops--;
	b->ops--;
	if (op == OP_SEND && splice) {
		if (res > 0) {
			b->sent += (uint32_t)res;
			p->last_tx_ms = tw_now_ms();
		}
		if ((res > 0 || res == -EAGAIN) && b->sent < b->bytes && !b->failed &&
		    p->state == PEER_OPEN)
			batch_splice_rest(w, p);
		else if (b->sent != b->bytes)
			b->failed = true;
	} else if (res < 0) {
		b->failed = true;
	} else if (op == OP_READ) {
		b->read_got += (uint64_t)res;
	} else if (op == OP_SEND) {
		b->sent += (uint32_t)res;
		p->last_tx_ms = tw_now_ms();
		if (res == 0)
			b->failed = true;
		else if (b->sent < b->bytes && p->state == PEER_OPEN)
			batch_send(w, p);
	}
	if (b->ops)
		return;
	if (op == OP_READ && !b->failed && b->read_got == b->read_want && p->state == PEER_OPEN) {
		batch_send(w, p);
		return;
	}
	if (op == OP_READ)
		b->failed = true; /* short read, or the peer went away meanwhile */
	batch_done(w, p);
}
