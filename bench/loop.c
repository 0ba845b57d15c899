/*
 * loop.c - the ring of ringseed-bench: every connection's I/O in one thread.
 *
 * Each turn: submit what is queued and wait for at least one completion (or
 * the next deadline), walk every completion, give the receive buffers back in
 * one commit, then send what the completions produced (one send per
 * connection with something to say, all its messages in it), open more
 * connections while fewer than max_opening are connecting or handshaking,
 * fire the timers that are due and move the phase on.
 *
 * Operations in the ring and their user_data, (connection index << 8) | op:
 *   OP_CONNECT          connect, linked to OP_CONNECT_TIMEOUT
 *   OP_CONNECT_TIMEOUT  the linked timeout (--connect-timeout)
 *   OP_RECV             multishot recv on the shared provided buffer ring
 *   OP_SEND             one send of the connection's send buffer
 * A connection counts its operations in c->ops; it is closed only when the
 * last one completed, so no completion ever names a closed descriptor.
 *
 * The protocol on a connection is BitTorrent (conn.c) or, with --http, HTTP
 * range requests (http.c). In HTTP mode a clean close by the server between
 * responses is not an end: the connection closes its socket as usual and
 * connects again (counted in b->reconnects), keeping its numbers.
 *
 * A connection capped by --rate reads with single-shot recvs (OP_READ) of at
 * most its tokens instead of the multishot recv; out of tokens it reads nothing
 * until its wake timer (b->fine, 1 ms ticks) fires, so TCP pushes back on the
 * seeder. Requests held by --rtt are written when due (pace.c); the loop waits
 * no longer than the first of those.
 *
 * Phases: WARMUP (from the first connect) -> WINDOW (--warmup seconds later;
 * every connection's byte count, the seeder's and our own CPU time are noted)
 * -> DONE (after --duration seconds of window, or in budget mode when every
 * connection has ended or --timeout passed; the same numbers are noted again).
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench.h"
#include "iocore/log.h"
#include "iocore/ring.h"

enum loop_op {
	OP_CONNECT = 1,
	OP_CONNECT_TIMEOUT,
	OP_SEND,
	OP_RECV,  /* multishot: discard and copy modes */
	OP_READ,  /* trunc mode: one recv of headers into a provided buffer */
	OP_TRUNC, /* trunc mode: one recv of block payload with MSG_TRUNC */
};

#define LOOP_PROGRESS_NS 1000000000ull /* a progress line and a seeder RSS sample */

static uint64_t loop_ud(const struct conn *c, enum loop_op op)
{
	return (uint64_t)c->idx << 8 | op;
}

void loop_mark_dirty(struct bench *b, struct conn *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	c->next_dirty = b->dirty_head;
	b->dirty_head = c->idx;
}

static void loop_connect(struct bench *b, struct conn *c);

/* CLOSING with nothing in the ring: the descriptor can go (and a reconnect begin). */
static void loop_close_if_idle(struct bench *b, struct conn *c)
{
	if (c->state != CONN_CLOSING || c->ops)
		return;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->reconnect) {
		c->reconnect = false;
		loop_connect(b, c);
		return;
	}
	c->state = CONN_CLOSED;
	b->live--;
}

void loop_finish(struct bench *b, struct conn *c, enum conn_end why, int err)
{
	bool connected = c->state == CONN_HANDSHAKE || c->state == CONN_ACTIVE;

	if (c->state >= CONN_CLOSING)
		return;
	if (c->state == CONN_CONNECTING || c->state == CONN_HANDSHAKE)
		b->opening--;
	else if (c->state == CONN_ACTIVE)
		b->active--;
	c->state = CONN_CLOSING;
	c->end = (uint8_t)why;
	c->err = err;
	c->t_end = bench_now_ns();
	if (b->ends[why]++ == 0)
		b->first_err[why] = err;
	tw_del(&b->wheel, &c->timer);
	tw_del(&b->fine, &c->wake);
	/*
	 * Ends the recv (EOF) and a send the peer does not read; a connect in
	 * flight ends on its own (its linked timeout at the latest).
	 */
	if (connected && c->ops)
		shutdown(c->fd, SHUT_RDWR);
	loop_close_if_idle(b, c);
}

/*
 * HTTP: the server closed the socket cleanly between responses (nginx does
 * after keepalive_requests); --churn: the seeder's handshake came. Not a
 * failure: the same connection, its numbers kept, connects again once its
 * operations have drained.
 */
void loop_reconnect(struct bench *b, struct conn *c)
{
	if (c->state == CONN_HANDSHAKE)
		b->opening--;
	else if (c->state == CONN_ACTIVE)
		b->active--;
	c->state = CONN_CLOSING;
	c->reconnect = true;
	b->reconnects++;
	tw_del(&b->wheel, &c->timer);
	tw_del(&b->fine, &c->wake);
	if (c->ops)
		shutdown(c->fd, SHUT_RDWR); /* ends a send the server no longer reads */
	loop_close_if_idle(b, c);
}

/* The socket failed or the peer closed it: the end of c, or in HTTP mode maybe a reconnect. */
static void loop_lost(struct bench *b, struct conn *c, enum conn_end why, int err)
{
	if (b->o.http && http_may_reconnect(c, err))
		loop_reconnect(b, c);
	else
		loop_finish(b, c, why, err);
}

/* Received bytes to the connection's protocol; false when it ended. */
static bool loop_input(struct bench *b, struct conn *c, const uint8_t *p, size_t n)
{
	return b->o.http ? http_input(b, c, p, n) : conn_input(b, c, p, n);
}

static struct io_uring_sqe *loop_sqe(struct bench *b)
{
	return ring_get_sqe(&b->ring, &b->sq_full);
}

/*
 * Trunc mode: one recv at a time, sized by what the decoder waits for.
 * Headers go into a provided buffer (taken only when data arrives); block
 * payload is discarded by TCP itself (MSG_TRUNC: no copy). Not with
 * MSG_WAITALL: io_uring retries a short MSG_TRUNC recv with the full length
 * again (the iterator it assumes advanced never did), discarding past the
 * block (seen on Linux 6.18: 29605 bytes for a 16384-byte recv). A short one
 * is re-armed for the rest instead.
 */
static void loop_prep_trunc(struct bench *b, struct conn *c, struct io_uring_sqe *sqe,
			    uint32_t allow)
{
	bool payload;
	uint32_t want = b->o.http ? http_want(c, &payload) : conn_want(c, &payload);

	if (want > allow)
		want = allow;
	if (payload) {
		if (want > b->scratch_len)
			want = b->scratch_len;
		io_uring_prep_recv(sqe, c->fd, b->scratch, want, MSG_TRUNC);
		io_uring_sqe_set_data64(sqe, loop_ud(c, OP_TRUNC));
		return;
	}
	io_uring_prep_recv(sqe, c->fd, NULL, want < b->br.size ? want : b->br.size, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = b->br.bgid;
	io_uring_sqe_set_data64(sqe, loop_ud(c, OP_READ));
}

static void loop_arm_recv(struct bench *b, struct conn *c)
{
	struct io_uring_sqe *sqe;
	uint64_t wait_ms = 0;
	uint32_t allow = pace_allow(b, c, bench_now_ns(), &wait_ms);

	if (!allow) {
		tw_add(&b->fine, &c->wake, wait_ms); /* --rate: no tokens, no read */
		return;
	}
	sqe = loop_sqe(b);
	if (!sqe) {
		loop_finish(b, c, END_RECV, EBUSY);
		return;
	}
	if (b->o.recv == RECV_TRUNC) {
		loop_prep_trunc(b, c, sqe, allow);
	} else if (pace_capped(b, c)) {
		io_uring_prep_recv(sqe, c->fd, NULL, allow < b->br.size ? allow : b->br.size, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = b->br.bgid;
		io_uring_sqe_set_data64(sqe, loop_ud(c, OP_READ));
	} else {
		io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = b->br.bgid;
		io_uring_sqe_set_data64(sqe, loop_ud(c, OP_RECV));
	}
	c->recv_armed = true;
	c->ops++;
}

/* Socket, options, source address: 0 or -errno. */
static int loop_socket(struct bench *b, struct conn *c)
{
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	c->fd = fd;
	/* Requests leave at once: alone (trickle) or in a batch, never held for an ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (b->o.src_first) {
		struct sockaddr_in sa = { .sin_family = AF_INET };

		/* The port is chosen at connect time, per destination: no 28k limit per address. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		c->src = b->src_next;
		sa.sin_addr.s_addr = htonl(c->src);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			return -errno;
		do {
			b->src_next =
				b->src_next >= b->o.src_last ? b->o.src_first : b->src_next + 1;
			/* x.y.z.0 and x.y.z.255 look like network and broadcast: skip them. */
		} while ((b->src_next & 0xff) == 0 || (b->src_next & 0xff) == 0xff);
	}
	return 0;
}

/* A socket for c and its connect (again, for a reconnect). */
static void loop_connect(struct bench *b, struct conn *c)
{
	struct io_uring_sqe *sqe;
	int rc;

	b->opening++;
	c->state = CONN_CONNECTING;
	rc = loop_socket(b, c);
	if (rc < 0) {
		loop_finish(b, c, END_CONNECT, -rc);
		return;
	}
	/* The connect and its linked timeout must go into the same submission. */
	if (io_uring_sq_space_left(&b->ring) < 2)
		io_uring_submit(&b->ring);
	sqe = io_uring_get_sqe(&b->ring);
	if (!sqe || io_uring_sq_space_left(&b->ring) < 1) {
		loop_finish(b, c, END_CONNECT, EBUSY);
		return;
	}
	io_uring_prep_connect(sqe, c->fd, (struct sockaddr *)&b->o.target, sizeof(b->o.target));
	io_uring_sqe_set_data64(sqe, loop_ud(c, OP_CONNECT));
	sqe->flags |= IOSQE_IO_LINK;
	c->ops++;
	sqe = io_uring_get_sqe(&b->ring);
	io_uring_prep_link_timeout(sqe, &b->connect_ts, 0);
	io_uring_sqe_set_data64(sqe, loop_ud(c, OP_CONNECT_TIMEOUT));
	c->ops++;
	/* With the multishot recv (not trunc, not --rate), loop_open_now() hurries it. */
	if (b->hs_sync && !c->hs_listed && b->o.recv != RECV_TRUNC && !pace_capped(b, c)) {
		c->hs_listed = true;
		c->hs_turn = b->turns;
		c->next_hs = b->hs_head;
		b->hs_head = c->idx;
	}
}

static void loop_start(struct bench *b, struct conn *c)
{
	b->attempted++;
	b->live++;
	c->t_connect = bench_now_ns();
	loop_connect(b, c);
}

static void loop_connected(struct bench *b, struct conn *c, int res)
{
	if (c->state != CONN_CONNECTING)
		return;
	if (res == -ECANCELED) {
		loop_finish(b, c, END_CONNECT_TIMEOUT, ETIMEDOUT);
		return;
	}
	if (res < 0) {
		loop_finish(b, c, END_CONNECT, -res);
		return;
	}
	c->state = CONN_HANDSHAKE;
	loop_arm_recv(b, c);
	if (c->state != CONN_HANDSHAKE)
		return;
	if (b->o.http)
		http_start(b, c);
	else
		conn_start_handshake(b, c);
	tw_add(&b->wheel, &c->timer, b->o.handshake_timeout_ms);
}

static void loop_recv(struct bench *b, struct conn *c, const struct io_uring_cqe *cqe)
{
	bool live = c->state == CONN_HANDSHAKE || c->state == CONN_ACTIVE;
	uint16_t bid;

	if (cqe->res > 0 && bufring_cqe_bid(cqe, &bid)) {
		b->recv_cqes++;
		if (live)
			live = loop_input(b, c, bufring_buf(&b->br, bid), (size_t)cqe->res);
		bufring_stage(&b->br, bid);
	}
	if (cqe->flags & IORING_CQE_F_MORE)
		return;
	c->ops--;
	c->recv_armed = false;
	if (!live) {
		loop_close_if_idle(b, c);
		return;
	}
	if (cqe->res == 0) {
		loop_lost(b, c, END_EOF, 0);
	} else if (cqe->res == -ENOBUFS) {
		b->enobufs++;
		loop_arm_recv(b, c);
	} else if (cqe->res < 0) {
		loop_lost(b, c, END_RECV, -cqe->res);
	} else {
		b->rearms++; /* the kernel ended the multishot (a full CQ, say) */
		loop_arm_recv(b, c);
	}
}

/* Trunc mode: a single-shot recv (OP_READ or OP_TRUNC) completed. */
static void loop_recv_once(struct bench *b, struct conn *c, const struct io_uring_cqe *cqe,
			   bool trunc)
{
	bool live = c->state == CONN_HANDSHAKE || c->state == CONN_ACTIVE;
	uint16_t bid;

	c->ops--;
	c->recv_armed = false;
	if (cqe->res > 0) {
		b->recv_cqes++;
		if (pace_capped(b, c))
			pace_spend(b, c, (uint32_t)cqe->res);
		if (trunc) {
			if (live)
				live = loop_input(b, c, b->scratch, (size_t)cqe->res);
		} else if (bufring_cqe_bid(cqe, &bid)) {
			if (live)
				live = loop_input(b, c, bufring_buf(&b->br, bid), (size_t)cqe->res);
			bufring_stage(&b->br, bid);
		}
	}
	if (!live) {
		loop_close_if_idle(b, c);
		return;
	}
	if (cqe->res == 0) {
		loop_lost(b, c, END_EOF, 0);
	} else if (cqe->res < 0 && cqe->res != -ENOBUFS) {
		loop_lost(b, c, END_RECV, -cqe->res);
	} else {
		b->enobufs += cqe->res == -ENOBUFS;
		loop_arm_recv(b, c);
	}
}

static void loop_sent(struct bench *b, struct conn *c, int res)
{
	c->ops--;
	c->send_busy = false;
	if (c->state != CONN_HANDSHAKE && c->state != CONN_ACTIVE) {
		loop_close_if_idle(b, c);
		return;
	}
	if (res < 0) {
		loop_lost(b, c, END_SEND, -res);
		return;
	}
	/* The kernel is done with the buffer: what it did not take moves to the front. */
	memmove(c->sbuf, c->sbuf + res, c->s_len - (uint32_t)res);
	c->s_len -= (uint32_t)res;
	c->s_inflight = 0;
	if (c->s_len)
		loop_mark_dirty(b, c);
}

static void loop_cqe(struct bench *b, const struct io_uring_cqe *cqe)
{
	struct conn *c = &b->conns[cqe->user_data >> 8];

	switch ((enum loop_op)(cqe->user_data & 0xff)) {
	case OP_CONNECT:
		c->ops--;
		loop_connected(b, c, cqe->res);
		loop_close_if_idle(b, c);
		break;
	case OP_CONNECT_TIMEOUT:
		c->ops--;
		loop_close_if_idle(b, c);
		break;
	case OP_RECV:
		loop_recv(b, c, cqe);
		break;
	case OP_READ:
	case OP_TRUNC:
		loop_recv_once(b, c, cqe, (cqe->user_data & 0xff) == OP_TRUNC);
		break;
	case OP_SEND:
		loop_sent(b, c, cqe->res);
		break;
	}
}

/* One send per connection with something queued and no send in flight. */
static void loop_flush(struct bench *b)
{
	while (b->dirty_head != UINT32_MAX) {
		struct conn *c = &b->conns[b->dirty_head];
		struct io_uring_sqe *sqe;

		if ((c->state == CONN_HANDSHAKE || c->state == CONN_ACTIVE) && !c->send_busy &&
		    c->s_len) {
			sqe = loop_sqe(b);
			if (!sqe)
				return; /* stays dirty: next turn */
			io_uring_prep_send(sqe, c->fd, c->sbuf, c->s_len, MSG_NOSIGNAL);
			io_uring_sqe_set_data64(sqe, loop_ud(c, OP_SEND));
			if (c->s_reqs) {
				b->req_writes++;
				b->reqs_sent += c->s_reqs;
				c->s_reqs = 0;
			}
			c->send_busy = true;
			c->s_inflight = c->s_len;
			c->ops++;
		}
		b->dirty_head = c->next_dirty;
		c->next_dirty = UINT32_MAX;
		c->dirty = false;
	}
}

static void loop_timer(struct tw_timer *t, void *arg)
{
	struct bench *b = arg;
	struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, timer));

	if (c->state == CONN_HANDSHAKE) {
		loop_finish(b, c, END_HANDSHAKE_TIMEOUT, ETIMEDOUT);
	} else if (c->state == CONN_ACTIVE && !b->o.http) {
		conn_keepalive(b, c);
		tw_add(&b->wheel, t, BENCH_KEEPALIVE_MS);
	}
}

/* --rate: a capped connection has tokens again; it reads once more. */
static void loop_wake(struct tw_timer *t, void *arg)
{
	struct bench *b = arg;
	struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, wake));

	if ((c->state == CONN_HANDSHAKE || c->state == CONN_ACTIVE) && !c->recv_armed)
		loop_arm_recv(b, c);
}

/* The window begins: note where every counter stands. */
static void loop_window_begin(struct bench *b, uint64_t now)
{
	b->phase = PHASE_WINDOW;
	b->t_window = now;
	b->rx_at_window = b->rx_payload;
	for (uint32_t i = 0; i < b->o.conns; i++)
		b->conns[i].bytes_at_warmup = b->conns[i].bytes;
	if (b->o.seeder_pid)
		proc_sample_tree(b->o.seeder_pid, &b->seeder_a);
	proc_sample_self(&b->self_a);
	proc_sample_machine(&b->machine_a);
	pace_note(b, 0);
	phase_window(b, 0);
}

static void loop_window_end(struct bench *b, uint64_t now)
{
	if (b->phase == PHASE_WARMUP)
		loop_window_begin(b, now); /* ended before the warm-up did: an empty window */
	b->phase = PHASE_DONE;
	b->t_end = now;
	if (b->o.seeder_pid) {
		proc_sample_tree(b->o.seeder_pid, &b->seeder_b);
		if (b->seeder_b.rss_kb > b->seeder_rss_peak)
			b->seeder_rss_peak = b->seeder_b.rss_kb;
	}
	proc_sample_self(&b->self_b);
	proc_sample_machine(&b->machine_b);
	pace_note(b, 1);
	phase_window(b, 1);
}

/* Moves the phase on; the deadline of the next move in *next. */
static void loop_phase(struct bench *b, uint64_t now, uint64_t *next)
{
	uint64_t warm_end = b->t0 + (uint64_t)(b->o.warmup * 1e9);
	bool budget = b->o.budget != 0;

	if (b->phase == PHASE_WARMUP && phase_may_open(b, now, warm_end, next))
		loop_window_begin(b, now);
	if (bench_interrupted) {
		loop_window_end(b, now);
		return;
	}
	if (budget) {
		uint64_t limit = b->t0 + (uint64_t)(b->o.timeout * 1e9);

		if (b->live == 0 && b->next_start == b->o.conns) {
			loop_window_end(b, now);
		} else if (now >= limit) {
			b->budget_timeout = true;
			loop_window_end(b, now);
		}
		*next = b->phase == PHASE_WARMUP && warm_end < limit ? warm_end : limit;
		return;
	}
	if (b->phase == PHASE_WARMUP) {
		if (now < warm_end)
			*next = warm_end;
		return;
	}
	*next = b->t_window + (uint64_t)(b->o.duration * 1e9);
	if (now >= *next)
		loop_window_end(b, now);
	else
		phase_tick(b, now, next);
}

static void loop_progress(struct bench *b, uint64_t now, uint64_t *last_bytes)
{
	double mbps = (double)(b->rx_payload - *last_bytes) / 1e6;
	uint32_t failed = 0;

	for (int e = END_DONE + 1; e < END_MAX; e++)
		failed += b->ends[e];
	*last_bytes = b->rx_payload;
	if (b->o.seeder_pid) {
		struct proc_sample s;

		proc_sample_tree(b->o.seeder_pid, &s);
		if (s.rss_kb > b->seeder_rss_peak)
			b->seeder_rss_peak = s.rss_kb;
	}
	if (b->o.quiet)
		return;
	fprintf(stderr,
		"%7.1fs  %-7s  started %u/%u  handshaked %u  held %u  done %u  failed %u  %9.1f "
		"MB/s",
		(double)(now - b->t0) / 1e9, b->phase == PHASE_WARMUP ? "warm-up" : "window",
		b->attempted, b->o.conns, b->handshaked, b->active, b->ends[END_DONE], failed,
		mbps);
	if (b->o.http)
		fprintf(stderr, "  reconnects %llu", (unsigned long long)b->reconnects);
	fputc('\n', stderr);
}

/*
 * Held requests that are due go out, capped connections whose wait is over
 * read again; returns when the next of either is due (ns, UINT64_MAX: none).
 */
static uint64_t loop_pace(struct bench *b, uint64_t now)
{
	uint64_t due = pace_release(b, now), ms = now / 1000000, next;

	/* Even when empty: a wait is armed relative to the wheel's time, kept current. */
	tw_advance(&b->fine, ms, loop_wake, b);
	if (b->fine.count) {
		next = tw_next_ms(&b->fine, ms);
		if (next != UINT64_MAX && (ms + next) * 1000000 < due)
			due = (ms + next) * 1000000;
	}
	return due;
}

/*
 * Connections opening, hurried. When the bench is the bottleneck (10,000
 * connections, every socket holding blocks), completions come out of the
 * kernel's deferred task work in arrival order, so a new connection's connect
 * and then the seeder's handshake each waited behind a whole round of every
 * other socket's queued blocks: seconds, and with at most --max-opening
 * connections opening at once, the ramp of -n 10000 did not end in 60 s. Once
 * a turn, for each connection still opening (at most max_opening of them):
 * poll() for writability, which says the kernel has connected it (only after
 * an io_uring_enter has submitted its own connect, whose completion is then
 * ignored; a failure is left to that completion, which reports its error),
 * and a non-blocking recv() of what the seeder sent. Byte
 * order holds: with DEFER_TASKRUN (hs_sync) the multishot recv posts
 * completions only inside io_uring_enter(), and this runs after every
 * completion was handled.
 */
static bool loop_is_connected(const struct conn *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };

	/* Not connect() or SO_ERROR: they would take a failure's error from the ring's connect. */
	return poll(&pfd, 1, 0) == 1 && pfd.revents == POLLOUT;
}

static void loop_open_now(struct bench *b)
{
	uint32_t i = b->hs_head, *link = &b->hs_head;

	while (i != UINT32_MAX) {
		struct conn *c = &b->conns[i];
		ssize_t n = 0;

		i = c->next_hs;
		if (c->state == CONN_CONNECTING && c->hs_turn != b->turns && loop_is_connected(c))
			loop_connected(b, c, 0);
		if (c->state == CONN_HANDSHAKE && c->recv_armed)
			n = recv(c->fd, b->scratch, b->scratch_len, MSG_DONTWAIT);
		if (n > 0)
			loop_input(b, c, b->scratch, (size_t)n);
		if (c->state == CONN_CONNECTING || (c->state == CONN_HANDSHAKE && c->recv_armed)) {
			*link = c->idx;
			link = &c->next_hs;
			continue;
		}
		c->hs_listed = false; /* handshaked, or ended */
	}
	*link = UINT32_MAX;
}

/* Opens connections while fewer than max_opening are on their way. */
static void loop_open(struct bench *b)
{
	while (b->next_start < b->o.conns && b->opening < b->o.max_opening)
		loop_start(b, &b->conns[b->next_start++]);
}

/*
 * Waits for a completion, the deadline, or the next tick of the timer wheel,
 * whichever comes first. Under load completions wake us long before; idle, a
 * wake-up per tick costs nothing, and asking the wheel (tw_next_ms scans slots)
 * on every turn did cost: 2% of the bench's CPU at 2 GB/s.
 */
static void loop_wait(struct bench *b, uint64_t now, uint64_t deadline)
{
	uint64_t wait_ms = BENCH_TICK_MS;
	uint64_t until = deadline > now ? (deadline - now) / 1000000 + 1 : 0;
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	int rc;

	if (until < wait_ms)
		wait_ms = until;
	ts.tv_sec = 0;
	ts.tv_nsec = (long long)wait_ms * 1000000;
	rc = io_uring_submit_and_wait_timeout(&b->ring, &cqe, 1, &ts, NULL);
	if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY)
		log_errx("io_uring_submit_and_wait_timeout: %s", strerror(-rc));
}

int loop_run(struct bench *b)
{
	uint64_t now, next_progress, last_bytes = 0;

	b->dirty_head = UINT32_MAX;
	b->hs_head = UINT32_MAX;
	b->src_next = b->o.src_first;
	b->connect_ts.tv_sec = b->o.connect_timeout_ms / 1000;
	b->connect_ts.tv_nsec = (long long)(b->o.connect_timeout_ms % 1000) * 1000000;
	b->t0 = bench_now_ns();
	next_progress = b->t0 + LOOP_PROGRESS_NS;
	tw_init(&b->wheel, BENCH_TICK_MS, b->t0 / 1000000);
	tw_init(&b->fine, BENCH_FINE_TICK_MS, b->t0 / 1000000);
	loop_open(b);
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		uint64_t deadline = next_progress, due;

		now = bench_now_ns();
		loop_phase(b, now, &deadline);
		if (b->phase == PHASE_DONE)
			break;
		if (deadline > next_progress)
			deadline = next_progress;
		due = loop_pace(b, now);
		if (deadline > due)
			deadline = due;
		loop_flush(b);
		loop_wait(b, now, deadline);
		b->turns++;
		io_uring_for_each_cqe(&b->ring, head, cqe)
		{
			loop_cqe(b, cqe);
			n++;
		}
		io_uring_cq_advance(&b->ring, n);
		bufring_commit(&b->br);
		loop_open_now(b);
		loop_flush(b);
		loop_open(b);
		now = bench_now_ns();
		tw_advance(&b->wheel, now / 1000000, loop_timer, b);
		if (now >= next_progress) {
			loop_progress(b, now, &last_bytes);
			next_progress += LOOP_PROGRESS_NS;
		}
	}
	return 0;
}
