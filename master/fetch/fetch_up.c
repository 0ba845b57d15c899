/*
 * fetch_up.c - uploading while fetching: a fleet distributes a release
 * through the swarm only if its edges serve each other what they verified.
 *
 * Every connection, dialled or inbound, is both ways: the handshake sends
 * our bitfield (or have_none, BEP 6), each verified piece a have
 * (fetch_peer.c); here are the peer's interest, its requests and cancels.
 * A request is queued only while we unchoke the peer, for a piece verified
 * and on disk (FPS_HAVE), inside the piece, at most WIRE_MAX_BLOCK long and
 * FETCH_REQ_MAX deep (the reqq we state); anything else is refused (reject
 * with the Fast extension, else ignored) and counted. Per peer one batch
 * is read at a time with io_uring into fup.buf, each block behind room for
 * its piece header (the blocks of one piece that follow each other in the
 * queue, up to FETCH_UP_BATCH, with one readv), then appended to the peer's
 * send buffer, while that holds less than FUP_OUT_MAX: a slow peer costs
 * one batch and its buffer, not the disk.
 *
 * Inbound peers: the master hands over those for this torrent on a
 * SOCK_SEQPACKET channel (their 68-byte handshake, the descriptor by
 * SCM_RIGHTS; master/proc/fetchers.c), and `ringseed fetch --listen`
 * accepts its own. Both are read on the tick (100 ms). An inbound peer
 * takes a source slot marked inbound, which is never dialled and is reused
 * by the next inbound peer once its connection is gone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iocore/log.h"
#include "iocore/ring.h"
#include "master/fetch/fetch_int.h"

#define FUP_OUT_MAX	  (64u << 10) /* send buffer bytes over which no block is read */
#define FUP_EXTENTS	  8	      /* files one block may span, read at once */
#define FUP_ACCEPT_BURST 16	      /* inbound peers taken per tick */

static void fup_put_block_msg(struct fetch *f, struct fpeer *p, enum wire_id id,
			      const struct freq *r)
{
	uint8_t m[WIRE_BLOCK_LEN];

	fpeer_put(f, p, m, wire_put_block(m, id, r->piece, r->begin, r->length));
}

/* A request not served: rejected if the peer speaks BEP 6 (it then asks elsewhere). */
static void fup_refuse(struct fetch *f, struct fpeer *p, const struct freq *r)
{
	f->res->c[FC_UP_REFUSED]++;
	if (p->fast)
		fup_put_block_msg(f, p, WIRE_REJECT, r);
}

void fup_drop(struct fpeer *p)
{
	p->up.n_q = 0;
	p->up.interested = false;
}

void fup_set_choke(struct fetch *f, struct fpeer *p, bool choke)
{
	uint8_t m[WIRE_SIMPLE_LEN];

	if (p->state != FPEER_ACTIVE || p->up.choking == choke)
		return;
	p->up.choking = choke;
	fpeer_put(f, p, m, wire_put_simple(m, choke ? WIRE_CHOKE : WIRE_UNCHOKE));
	/* BEP 3: a choke voids the queue; BEP 6 wants each request rejected. */
	for (uint32_t i = 0; choke && p->fast && i < p->up.n_q; i++)
		fup_put_block_msg(f, p, WIRE_REJECT, &p->up.q[i]);
	if (choke)
		p->up.n_q = 0;
	fetch_send(f, p);
}

static bool fup_valid(const struct fetch *f, const struct freq *r)
{
	uint32_t size;

	if (r->piece >= f->mi->piece_count || r->length == 0 || r->length > WIRE_MAX_BLOCK)
		return false;
	size = mi_piece_size(f->mi, r->piece);
	return r->begin < size && r->length <= size - r->begin;
}

static void fup_request(struct fetch *f, struct fpeer *p, const struct freq *r)
{
	if (p->up.choking || !fup_valid(f, r) || f->ps[r->piece] != FPS_HAVE ||
	    p->up.n_q == FETCH_REQ_MAX) {
		fup_refuse(f, p, r);
		return;
	}
	p->up.q[p->up.n_q++] = *r;
	fup_pump(f, p);
}

static void fup_cancel(struct fetch *f, struct fpeer *p, const struct freq *r)
{
	for (uint32_t i = 0; i < p->up.n_q; i++) {
		struct freq *q = &p->up.q[i];

		if (q->piece == r->piece && q->begin == r->begin && q->length == r->length) {
			memmove(q, q + 1, (p->up.n_q - i - 1) * sizeof(*q));
			p->up.n_q--;
			/* BEP 6: a cancelled request is answered too, by a reject. */
			if (p->fast)
				fup_put_block_msg(f, p, WIRE_REJECT, r);
			fetch_send(f, p);
			return;
		}
	}
}

void fup_msg(struct fetch *f, struct fpeer *p, const struct wire_event *ev)
{
	struct freq r = { ev->piece, ev->begin, ev->length };

	switch (ev->id) {
	case WIRE_INTERESTED:
		if (!p->up.interested) {
			p->up.interested = true;
			fchoke_interested(f, p);
		}
		break;
	case WIRE_NOT_INTERESTED:
		p->up.interested = false;
		break;
	case WIRE_REQUEST:
		fup_request(f, p, &r);
		break;
	case WIRE_CANCEL:
		fup_cancel(f, p, &r);
		break;
	default:
		break;
	}
}

/*
 * Block i of a batch sits at buf + i * FUP_SLOT behind room for its header.
 * A request longer than FETCH_BLOCK (up to WIRE_MAX_BLOCK) is read alone:
 * the buffer holds that too.
 */
#define FUP_SLOT (WIRE_PIECE_HDR_LEN + FETCH_BLOCK)
#define FUP_BUF	 (FETCH_UP_BATCH * FUP_SLOT > WIRE_PIECE_HDR_LEN + WIRE_MAX_BLOCK \
			  ? FETCH_UP_BATCH * FUP_SLOT : WIRE_PIECE_HDR_LEN + WIRE_MAX_BLOCK)

/* One read per file extent of a single block (it may span files; pad files are zeros). */
static int fup_read_one(struct fetch *f, struct fpeer *p, uint32_t slot)
{
	struct mi_extent ext[FUP_EXTENTS];
	const struct freq *r = &p->up.cur[0];
	uint32_t off = 0;
	int n = mi_map(f->mi, r->piece, r->begin, r->length, ext, FUP_EXTENTS);

	if (n <= 0)
		return n < 0 ? n : -EINVAL; /* more files than FUP_EXTENTS in one block */
	for (int i = 0; i < n; i++) {
		uint8_t *dst = p->up.buf + WIRE_PIECE_HDR_LEN + off;
		int fd = f->st.fds[ext[i].file];
		struct io_uring_sqe *sqe;

		off += (uint32_t)ext[i].length;
		if (fd < 0) {
			memset(dst, 0, ext[i].length);
			p->up.got += (uint32_t)ext[i].length;
			continue;
		}
		if (!(sqe = ring_get_sqe(&f->ring, NULL)))
			return -EBUSY;
		io_uring_prep_read(sqe, fd, dst, (unsigned)ext[i].length, ext[i].offset);
		io_uring_sqe_set_data64(sqe, fetch_ud(FOP_READ, slot, p->gen));
		p->up.reads++;
		p->ops++;
	}
	return 0;
}

/*
 * Submits the reads of the batch in up.cur: blocks back to back in one file
 * take one readv, each block into its slot; anything else is read one block
 * at a time (a batch of one).
 */
static int fup_read(struct fetch *f, struct fpeer *p)
{
	struct mi_extent ext;
	uint32_t slot = (uint32_t)(p - f->peers), len = 0;
	struct io_uring_sqe *sqe;
	int fd;

	p->up.reads = p->up.got = 0;
	p->up.err = 0;
	if (p->up.n_cur == 1)
		return fup_read_one(f, p, slot);
	for (uint32_t i = 0; i < p->up.n_cur; i++) {
		p->up.iov[i].iov_base = p->up.buf + i * FUP_SLOT + WIRE_PIECE_HDR_LEN;
		p->up.iov[i].iov_len = p->up.cur[i].length;
		len += p->up.cur[i].length;
	}
	if (mi_map(f->mi, p->up.cur[0].piece, p->up.cur[0].begin, len, &ext, 1) != 1 ||
	    (fd = f->st.fds[ext.file]) < 0) {
		/* spans files or a pad file: the first block alone, the rest back in the queue */
		memmove(p->up.q + p->up.n_cur - 1, p->up.q, p->up.n_q * sizeof(p->up.q[0]));
		memcpy(p->up.q, p->up.cur + 1, (p->up.n_cur - 1) * sizeof(p->up.q[0]));
		p->up.n_q += p->up.n_cur - 1;
		p->up.n_cur = 1;
		return fup_read_one(f, p, slot);
	}
	if (!(sqe = ring_get_sqe(&f->ring, NULL)))
		return -EBUSY;
	io_uring_prep_readv(sqe, fd, p->up.iov, p->up.n_cur, ext.offset);
	io_uring_sqe_set_data64(sqe, fetch_ud(FOP_READ, slot, p->gen));
	p->up.reads++;
	p->ops++;
	return 0;
}

/* Moves the head of the queue, and the blocks of its piece right behind it, to up.cur. */
static void fup_take_batch(struct fpeer *p)
{
	struct fup *u = &p->up;
	uint32_t n = 1;

	u->cur[0] = u->q[0];
	while (n < FETCH_UP_BATCH && n < u->n_q && u->cur[0].length <= FETCH_BLOCK &&
	       u->q[n].piece == u->cur[0].piece && u->q[n].length <= FETCH_BLOCK &&
	       u->q[n].begin == u->cur[n - 1].begin + u->cur[n - 1].length) {
		u->cur[n] = u->q[n];
		n++;
	}
	memmove(u->q, u->q + n, (u->n_q - n) * sizeof(u->q[0]));
	u->n_q -= n;
	u->n_cur = n;
}

/* Reads the next blocks to send while the send buffer has room. */
void fup_pump(struct fetch *f, struct fpeer *p)
{
	while (p->state == FPEER_ACTIVE && !p->up.busy && p->up.n_q > 0 &&
	       p->out_len < FUP_OUT_MAX) {
		if (!p->up.buf && !(p->up.buf = malloc(FUP_BUF)))
			return;
		fup_take_batch(p);
		p->up.busy = true;
		p->up.err = fup_read(f, p);
		if (p->up.reads == 0) /* nothing in flight: done (pad files) or failed */
			fup_on_read(f, p, 0);
	}
}

/* A read of the batch done (res 0 with none in flight: it needed none). */
void fup_on_read(struct fetch *f, struct fpeer *p, int res)
{
	struct fup *u = &p->up;
	uint32_t want = 0;

	if (u->reads > 0) {
		u->reads--;
		if (res < 0)
			u->err = res;
		else
			u->got += (uint32_t)res;
		if (u->reads > 0)
			return;
	}
	u->busy = false;
	for (uint32_t i = 0; i < u->n_cur; i++)
		want += u->cur[i].length;
	if (u->err || u->got != want)
		log_warnx("fetch: %s: reading piece %u+%u to upload: %s", f->mi->name,
			  u->cur[0].piece, u->cur[0].begin,
			  u->err ? strerror(-u->err) : "short read");
	for (uint32_t i = 0; i < u->n_cur; i++) {
		const struct freq *r = &u->cur[i];
		uint8_t *slot = u->buf + i * FUP_SLOT;

		if (u->err || u->got != want || u->choking) { /* choked meanwhile: void too */
			fup_refuse(f, p, r);
			continue;
		}
		wire_put_piece_header(slot, r->piece, r->begin, r->length);
		fpeer_put(f, p, slot, WIRE_PIECE_HDR_LEN + r->length);
		f->res->c[FC_UP_BYTES] += r->length;
	}
	u->n_cur = 0;
	fup_pump(f, p);
	fetch_send(f, p);
}

/* An inbound slot: one free and marked inbound, else a new source for its address. */
static int fup_slot(struct fetch *f, const struct conf_addr *a)
{
	for (uint32_t i = 0; i < f->n_src; i++)
		if (f->src[i].inbound && !f->src[i].banned && f->peers[i].state == FPEER_FREE) {
			f->src[i].addr = *a;
			f->src[i].strikes = 0;
			f->src[i].excluded_piece = UINT32_MAX;
			return (int)i;
		}
	if (fetch_add_source(f, a) != 0)
		return -1;
	f->src[f->n_src - 1].inbound = true;
	return (int)f->n_src - 1;
}

/* Takes a connected peer; hs: its handshake, read by the master, or NULL. */
static void fup_adopt(struct fetch *f, int fd, const uint8_t *hs)
{
	struct conf_addr a = { .len = sizeof(a.in6) };
	struct fpeer *p;
	int slot;

	if (getpeername(fd, &a.sa, &a.len) != 0 || (slot = fup_slot(f, &a)) < 0) {
		log_info("fetch: %s: inbound peer refused (%u peers at most)", f->mi->name,
			 FETCH_SOURCES_MAX);
		close(fd);
		return;
	}
	p = &f->peers[slot];
	if (!p->in && !(p->in = malloc(FETCH_RECV_BUF))) {
		close(fd);
		return;
	}
	f->res->c[FC_INBOUND]++;
	p->fd = fd;
	fetch_peer_reset(p);
	fpeer_connected(f, p); /* our handshake; theirs is awaited, or here */
	if (hs)
		fpeer_input(f, p, hs, WIRE_HANDSHAKE_LEN);
	if (p->state == FPEER_HANDSHAKE || p->state == FPEER_ACTIVE)
		fetch_recv(f, p);
	else if (p->ops == 0) { /* refused at its handshake, nothing in flight */
		close(p->fd);
		p->fd = -1;
		p->state = FPEER_FREE;
	}
}

/* One message from the master's channel: a handshake and a descriptor. */
static bool fup_channel(struct fetch *f)
{
	uint8_t hs[WIRE_HANDSHAKE_LEN];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = hs, .iov_len = sizeof(hs) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(f->channel_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	int fd = -1;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0) { /* the master went: PR_SET_PDEATHSIG stops us */
		close(f->channel_fd);
		f->channel_fd = -1;
		return false;
	}
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if (fd >= 0 && n == WIRE_HANDSHAKE_LEN && !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		fup_adopt(f, fd, hs);
	else if (fd >= 0)
		close(fd);
	return true;
}

void fup_tick(struct fetch *f)
{
	for (int i = 0; f->channel_fd >= 0 && i < FUP_ACCEPT_BURST && fup_channel(f); i++)
		;
	for (int i = 0; f->listen_fd >= 0 && i < FUP_ACCEPT_BURST; i++) {
		int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			break;
		fup_adopt(f, fd, NULL);
	}
	fchoke_tick(f);
}
