/*
 * peer.c - one peer's session: its state machine, input and control output.
 *
 * Input comes from the worker's multishot receive into shared provided
 * buffers and goes straight through the streaming decoder; nothing is copied
 * but the few bytes of a message split across two buffers (inside the
 * decoder). Output is one operation at a time: the intro, then control
 * messages, then batches of blocks (send.c, which reports each batch's end
 * through peer_on_batch_done()).
 *
 * The states (enum peer_state in peer.h), and the events (enum peer_event)
 * that move a peer between them; peer_advance() is the only place a state
 * changes, entering a state runs its actions (peer_enter):
 *
 *   FREE --admit--> INTRO: handshake, have_all or bitfield, extended handshake
 *                     |    going out; "interested" is remembered meanwhile
 *                     | intro sent
 *                     v
 *          +------ (interested?) <------ interested ------ CHOKED
 *          |  yes     | no                                   ^
 *          |          +--------------------------------------+
 *          v                                                 |
 *    (a slot free?) -- no --> WAITING_SLOT -- slot free, -----+
 *          | yes                    |        not interested
 *          |                        | slot free, interested
 *          v                        v
 *   +--> SERVING  <-----------------+         (UNCHOKE queued on the way in)
 *   |      | pumped with requests queued, no output in flight  [pacing]
 *   |      +-- no free batch --> WAITING_BATCH --+
 *   |      | a batch free                         | a batch came free:
 *   |      v                                      | readied --> SERVING
 *   |    BATCH -- socket full (splice) --> WAITING_ROOM
 *   |      |                                 | POLLOUT: send.c pushes again;
 *   |      | all out                         | all out
 *   +------+---------------------------------+
 *
 *   INTRO .. WAITING_ROOM -- protocol error, bad request (no Fast), flood,
 *                            idle, EOF, I/O error, a seed too, malformed
 *                            extension message (ext.c), torrent removed,
 *                            worker quitting --> CLOSING
 *   CLOSING -- last operation completes --> FREE
 *
 * SERVING, WAITING_BATCH, BATCH and WAITING_ROOM hold one of the worker's
 * unchoke slots (serve.unchoke_slots, shared out by choke.c); closing gives
 * it to the longest-waiting peer. A rechoke (choke.c) takes a slot back:
 * SERVING or WAITING_BATCH --choke--> WAITING_SLOT (interested) or CHOKED;
 * BATCH and WAITING_ROOM go there when the batch is done. A choked peer
 * with requests for its allowed fast pieces (BEP 6) goes CHOKED or
 * WAITING_SLOT -> BATCH | WAITING_BATCH -> ... and back when they are
 * served, holding no slot (p->ch.fast_serving). [pacing]: when serving starts is decided in one place, the
 * SERVING -> BATCH | WAITING_BATCH transition (peer_next on PEV_SERVE, and the
 * pumps that send it); how a batch waits for the socket is BATCH <->
 * WAITING_ROOM, reported by send.c.
 *
 * A control send (the intro, unchoke, reject_request, keep-alive, hashes or
 * hash_reject (BEP 52), a ut_metadata piece from ext.c) may go out in any
 * open state when no batch is in flight; it is an operation (sending_ctl),
 * not a state. p->ops counts what holds the slot (operations in the ring,
 * the ready list): only peer_hold() and peer_put() change it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iocore/log.h"
#include "proto/merkle.h"
#include "worker/wk.h"

#define PEER_Q_MIN 16 /* requests a peer's queue holds when it first grows */
/* The largest hashes message (BEP 52): header, then hashes and proof. */
#define PEER_HASHES_MAX (WIRE_HASH_HDR_LEN + (MI_HASHES_MAX + MI_PROOF_MAX) * MI_HASH_V2_LEN)

static void peer_free(struct worker *w, struct peer *p)
{
	close(p->fd);
	wk_addr_put(w, p->addr_slot);
	ss_peer_free(w, p);
	peer_ext_free(p);
	free(p->q);
	free(p->ctl);
	free(p->ctl_old);
	free(p->intro);
	crypt_free(p);
	choke_free(p);
	wk_torrent_put(w, p->t);
	p->gen++;
	p->q = NULL;
	p->q_cap = 0;
	p->ctl = NULL;
	p->ctl_old = NULL;
	p->intro = NULL;
	w->free_slots[w->n_free++] = p->slot;
	w->n_open--;
}

void peer_hold(struct peer *p)
{
	p->ops++;
}

/* Lets go of what peer_hold took; a closing peer goes free with its last hold. */
void peer_put(struct worker *w, struct peer *p)
{
	p->ops--;
	peer_advance(w, p, PEV_LAST_OP);
}

/*
 * Room for n more control bytes. The buffer grows (outside the block path)
 * up to what every queued request's reject_request takes, since BEP 6 owes
 * one for each cancelled or refused request; beyond that a peer is flooding.
 */
static bool peer_ctl_room(struct worker *w, struct peer *p, size_t n)
{
	/* Room for every reject owed, metadata, and two answers to BEP 52 hash requests. */
	size_t max = (size_t)w->conf->reqq * WIRE_BLOCK_LEN + 1024 + WK_CTL_META + 2 * PEER_HASHES_MAX;
	size_t cap = p->ctl_cap;
	uint8_t *c;

	if (p->ctl_len + n <= cap)
		return true;
	while (cap < p->ctl_len + n)
		cap = cap ? cap * 2 : WK_CTL_MIN;
	if (cap > max)
		cap = max;
	if (p->ctl_len + n > cap)
		return false;
	if (p->ctl_inflight && !p->ctl_old) {
		/* A send reads the old buffer until it completes: copy, keep it. */
		c = malloc(cap);
		if (!c)
			return false;
		memcpy(c, p->ctl, p->ctl_len);
		p->ctl_old = p->ctl;
	} else {
		c = realloc(p->ctl, cap);
		if (!c)
			return false;
	}
	p->ctl = c;
	p->ctl_cap = (uint32_t)cap;
	return true;
}

/* Queues a control message; a peer that makes us queue too many is flooding. */
bool peer_ctl(struct worker *w, struct peer *p, const uint8_t *m, size_t n)
{
	if (!peer_ctl_room(w, p, n)) {
		peer_close(w, p, WSTAT_DROP_FLOOD);
		return false;
	}
	memcpy(p->ctl + p->ctl_len, m, n);
	p->ctl_len += (uint32_t)n;
	return true;
}

static bool peer_state_unchoked(enum peer_state s)
{
	return s == PEER_SERVING || s == PEER_WAITING_BATCH || s == PEER_BATCH ||
	       s == PEER_WAITING_ROOM;
}

/* An interested peer: unchoked if a slot is free (or slots are unlimited), else it waits. */
static enum peer_state peer_want_slot(const struct worker *w, const struct peer *p)
{
	if (!p->interested)
		return PEER_CHOKED;
	if (choke_room(w))
		return PEER_SERVING;
	return PEER_WAITING_SLOT;
}

/* Where a peer goes that loses its slot, or ends serving its allowed fast requests. */
static enum peer_state peer_choked_state(const struct peer *p)
{
	return p->interested ? PEER_WAITING_SLOT : PEER_CHOKED;
}

/* The transition table: where ev takes p from its state; its own state if nowhere. */
static enum peer_state peer_next(const struct worker *w, const struct peer *p, enum peer_event ev)
{
	enum peer_state s = p->state;

	switch (ev) {
	case PEV_ADMIT:
		return s == PEER_FREE ? PEER_INTRO : s;
	case PEV_INTRO_SENT:
		return s == PEER_INTRO ? peer_want_slot(w, p) : s;
	case PEV_INTERESTED:
		return s == PEER_CHOKED ? peer_want_slot(w, p) : s;
	case PEV_SLOT_FREE: /* the slot is this peer's if it still wants it */
		return s == PEER_WAITING_SLOT ? (p->interested ? PEER_SERVING : PEER_CHOKED) : s;
	case PEV_SERVE: /* choked: its allowed fast requests (BEP 6, choke.c) */
		if (s == PEER_SERVING && !p->q_len && p->ch.fast_serving)
			return peer_choked_state(p);
		if (!p->q_len || (s != PEER_SERVING && s != PEER_CHOKED && s != PEER_WAITING_SLOT))
			return s;
		return batch_available(w) ? PEER_BATCH : PEER_WAITING_BATCH;
	case PEV_BATCH_FREE:
		return s == PEER_WAITING_BATCH ? PEER_SERVING : s;
	case PEV_SOCKET_FULL:
		return s == PEER_BATCH ? PEER_WAITING_ROOM : s;
	case PEV_BATCH_DONE:
		if (s != PEER_BATCH && s != PEER_WAITING_ROOM)
			return s;
		return p->ch.fast_serving || p->ch.choke_pending ? peer_choked_state(p) : PEER_SERVING;
	case PEV_CHOKE: /* a rechoke took its slot (choke.c waits out a batch in flight) */
		if ((s != PEER_SERVING && s != PEER_WAITING_BATCH) || p->ch.fast_serving)
			return s;
		return peer_choked_state(p);
	case PEV_CLOSE:
		return peer_open(p) ? PEER_CLOSING : s;
	case PEV_LAST_OP:
		return s == PEER_CLOSING && p->ops == 0 ? PEER_FREE : s;
	}
	return s;
}

/* A slot was freed: the longest-waiting peer that still wants it gets it. */
static void peer_next_unchoke(struct worker *w)
{
	struct peer *q;

	while (choke_room(w) && (q = wk_queue_pop(&w->unchoke_wait))) {
		peer_advance(w, q, PEV_SLOT_FREE);
		if (q->state != PEER_CHOKED)
			return;
	}
}

static void peer_enter_closing(struct worker *w, struct peer *p, enum peer_state from)
{
	/* Wakes every operation on the socket, a blocked splice included. */
	shutdown(p->fd, SHUT_RDWR);
	tw_del(&w->wheel, &p->timer);
	if (from == PEER_WAITING_SLOT)
		wk_queue_remove(&w->unchoke_wait, p);
	if (from == PEER_WAITING_BATCH)
		wk_queue_remove(&w->batch_wait, p);
	p->q_len = 0;
	wpex_close(w, p);
	__atomic_fetch_sub(&w->a->stats->c[WSTAT_PEERS], 1, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&worker_torrent_peers(w->a->stats, w->a->max_torrents)[p->t->id %
										    w->a->max_torrents],
			   1, __ATOMIC_RELAXED);
	if (peer_state_unchoked(from) && !p->ch.fast_serving) {
		choke_slot_freed(w, p);
		peer_next_unchoke(w);
	}
	peer_advance(w, p, PEV_LAST_OP);
}

/* What entering a state does; a nested event may move p on before it returns. */
static void peer_enter(struct worker *w, struct peer *p, enum peer_state from)
{
	enum peer_state to = p->state;

	choke_enter(w, p, from);
	if (p->state != to) /* choking it failed: it is closing already */
		return;
	switch (p->state) {
	case PEER_WAITING_SLOT:
		wk_queue_push(&w->unchoke_wait, p);
		break;
	case PEER_SERVING:
		if (peer_state_unchoked(from)) { /* a batch ended, or one came free */
			wk_ready(w, p);
			break;
		}
		if (choke_unchoked(w, p))
			peer_pump(w, p);
		break;
	case PEER_WAITING_BATCH:
		if (w->free_batches) /* the pool has one: the upload cap holds it back */
			wk_count(w, WSTAT_THROTTLED, 1);
		wk_queue_push(&w->batch_wait, p);
		break;
	case PEER_BATCH:
		peer_hold(p); /* the batch may end, and the peer close, inside */
		batch_start(w, p);
		peer_put(w, p);
		break;
	case PEER_CLOSING:
		peer_enter_closing(w, p, from);
		break;
	case PEER_FREE:
		peer_free(w, p);
		break;
	default: /* INTRO, CHOKED, WAITING_ROOM: nothing to do on the way in */
		break;
	}
}

void peer_advance(struct worker *w, struct peer *p, enum peer_event ev)
{
	enum peer_state from = p->state, to = peer_next(w, p, ev);

	if (to == from)
		return;
	p->state = to;
	peer_enter(w, p, from);
}

/* stat < 0: a normal end (EOF, removal, shutdown), not a drop worth counting. */
void peer_close(struct worker *w, struct peer *p, int stat)
{
	if (!peer_open(p))
		return;
	if (stat >= 0)
		wk_count(w, (enum wstat)stat, 1);
	peer_advance(w, p, PEV_CLOSE);
}

static void peer_send(struct worker *w, struct peer *p, const uint8_t *buf, uint32_t len)
{
	struct io_uring_sqe *sqe = wk_peer_sqe(w, OP_CTL, p);

	io_uring_prep_send(sqe, p->fd, buf, len, MSG_NOSIGNAL);
	p->sending_ctl = true;
}

/* Starts p's next output: the intro, control messages, then blocks. */
void peer_pump(struct worker *w, struct peer *p)
{
	if (!peer_open(p) || peer_output_busy(p))
		return;
	peer_ext_pump(w, p); /* a metadata piece joins the control bytes (ext.c) */
	ss_pump(w, p);	     /* and haves, when super-seeding ends (superseed.c) */
	if (!peer_open(p))
		return;
	if (p->intro) {
		peer_send(w, p, p->intro, p->intro_len);
	} else if (p->ctl_len) {
		p->ctl_inflight = p->ctl_len;
		crypt_seal_ctl(p);
		peer_send(w, p, p->ctl, p->ctl_inflight);
	} else if (w->quitting) {
		peer_close(w, p, -1);
	} else {
		peer_advance(w, p, PEV_SERVE);
	}
}

/*
 * send.c is done with p's batch (and gave it back), or stopped on a full
 * socket. A batch that came free goes to the longest-waiting peer first,
 * then p is readied for the end of the turn: not pumped here, since a splice
 * batch may end right here again.
 */
void peer_on_batch_done(struct worker *w, struct peer *p, enum batch_result result)
{
	struct peer *next;

	if (result == BATCH_SOCKET_FULL) {
		peer_advance(w, p, PEV_SOCKET_FULL);
		return;
	}
	while ((next = wk_queue_pop(&w->batch_wait))) {
		if (next->state == PEER_WAITING_BATCH) {
			peer_advance(w, next, PEV_BATCH_FREE);
			break;
		}
	}
	if (result == BATCH_FAILED) {
		peer_close(w, p, WSTAT_DROP_IO);
		return;
	}
	p->last_tx_ms = tw_now_ms();
	peer_advance(w, p, PEV_BATCH_DONE);
}

/* A control send finished; a short one goes on from where it stopped. */
void peer_on_ctl(struct worker *w, struct peer *p, int res)
{
	p->sending_ctl = false;
	if (res <= 0 || !peer_open(p)) {
		p->ctl_inflight = 0;
		peer_close(w, p, -1);
		return;
	}
	p->last_tx_ms = tw_now_ms();
	if (p->intro) {
		p->intro_len -= (uint32_t)res;
		memmove(p->intro, p->intro + res, p->intro_len);
		if (p->intro_len == 0) {
			free(p->intro);
			p->intro = NULL;
			peer_advance(w, p, PEV_INTRO_SENT);
		}
	} else {
		/* The send is over: the buffer it read (maybe an old one) is free. */
		free(p->ctl_old);
		p->ctl_old = NULL;
		p->ctl_inflight = 0;
		memmove(p->ctl, p->ctl + res, p->ctl_len - (uint32_t)res);
		p->ctl_len -= (uint32_t)res;
		crypt_ctl_sent(p, (uint32_t)res);
	}
	peer_pump(w, p);
}

static void peer_reject(struct worker *w, struct peer *p, const struct wire_event *e)
{
	uint8_t m[WIRE_BLOCK_LEN];

	wk_count(w, WSTAT_REJECTS, 1);
	if (peer_ctl(w, p, m, wire_put_block(m, WIRE_REJECT, e->piece, e->begin, e->length)))
		peer_pump(w, p);
}

static bool peer_request_valid(const struct worker *w, const struct peer *p,
			       const struct wire_event *e)
{
	const struct wk_torrent *t = p->t;
	uint32_t size;

	if (e->piece >= t->mi.piece_count || e->length == 0 || e->length > w->conf->max_request)
		return false;
	size = mi_piece_size(&t->mi, e->piece);
	return e->begin < size && e->length <= size - e->begin &&
	       (t->have[e->piece / 8] & (0x80u >> (e->piece % 8)));
}

/*
 * Room at the tail of p's request queue, which starts empty and doubles on
 * demand up to reqq: most peers queue a few requests at a time, and a held,
 * quiet peer should cost no more than its slot. send.c pops from the head
 * modulo reqq, so while q_cap < reqq the live requests stay contiguous and
 * never wrap (q_head + q_len <= q_cap): a full tail is cured by moving them
 * to the front when they fill at most half of it, else by growing, which
 * keeps them where they are. From q_cap = reqq on, the queue is a plain ring.
 */
static bool peer_q_room(struct worker *w, struct peer *p)
{
	uint32_t reqq = (uint32_t)w->conf->reqq, cap;
	struct block_req *q;

	if (p->q_len == 0)
		p->q_head = 0;
	if (p->q_cap == reqq || p->q_head + p->q_len < p->q_cap)
		return true;
	if (p->q_head && p->q_len <= p->q_cap / 2) {
		memmove(p->q, p->q + p->q_head, p->q_len * sizeof(*p->q));
		p->q_head = 0;
		return true;
	}
	cap = p->q_cap ? p->q_cap * 2 : PEER_Q_MIN;
	if (cap > reqq)
		cap = reqq;
	q = realloc(p->q, cap * sizeof(*q));
	if (!q)
		return false;
	p->q = q;
	p->q_cap = cap;
	return true;
}

/* A quiet peer with nothing queued gives back its request queue and control buffer. */
static void peer_trim(struct peer *p, uint64_t now)
{
	if (now - p->last_rx_ms < WK_TICK_MS)
		return;
	if (p->q && !p->q_len) {
		free(p->q);
		p->q = NULL;
		p->q_cap = p->q_head = 0;
	}
	if (p->ctl && !p->ctl_len && !p->ctl_inflight && !p->ctl_old) {
		free(p->ctl);
		p->ctl = NULL;
		p->ctl_cap = 0;
	}
}

/*
 * BEP 3 drops requests from a choked peer; BEP 6 answers them, and invalid
 * ones, with reject_request. Without the Fast extension an invalid request
 * ends the connection.
 */
static void peer_request(struct worker *w, struct peer *p, const struct wire_event *e)
{
	struct block_req *r;

	if (!ss_request_ok(w, p, e)) { /* super-seeding: not shown to it (BEP 16) */
		if (p->fast)
			peer_reject(w, p, e);
		return;
	}
	if (!peer_request_valid(w, p, e)) {
		if (p->fast)
			peer_reject(w, p, e);
		else
			peer_close(w, p, WSTAT_DROP_BAD_REQUEST);
		return;
	}
	if ((!peer_state_unchoked(p->state) || p->ch.fast_serving || p->ch.choke_pending) &&
	    !choke_allowed(p, e->piece)) {
		if (p->fast)
			peer_reject(w, p, e);
		return;
	}
	if (p->q_len == (uint32_t)w->conf->reqq) {
		peer_close(w, p, WSTAT_DROP_FLOOD);
		return;
	}
	if (!peer_q_room(w, p)) {
		log_warnx("peer slot %u: out of memory for its request queue", p->slot);
		peer_close(w, p, WSTAT_DROP_TOO_MANY);
		return;
	}
	r = &p->q[(p->q_head + p->q_len++) % (uint32_t)w->conf->reqq];
	*r = (struct block_req){ .piece = e->piece, .begin = e->begin, .length = e->length };
	wk_count(w, WSTAT_REQUESTS, 1);
	wk_ready(w, p); /* at the end of the turn, with every request this turn brought */
}

/* Removes a queued request; BEP 6 wants a reject for it with the Fast extension. */
static void peer_cancel(struct worker *w, struct peer *p, const struct wire_event *e)
{
	uint32_t n = (uint32_t)w->conf->reqq;

	for (uint32_t i = 0; i < p->q_len; i++) {
		struct block_req *r = &p->q[(p->q_head + i) % n];

		if (r->piece != e->piece || r->begin != e->begin || r->length != e->length)
			continue;
		for (uint32_t k = i; k + 1 < p->q_len; k++)
			p->q[(p->q_head + k) % n] = p->q[(p->q_head + k + 1) % n];
		p->q_len--;
		if (p->fast)
			peer_reject(w, p, e);
		return;
	}
}

/*
 * BEP 52 hash_request: answered from the piece layers with hashes (and the
 * proof up to the root), or with hash_reject; never left unanswered, and
 * allowed while choked. A peer that asks faster than it reads fills its
 * control buffer and is dropped as a flood.
 */
/* The merkle tree of file fi's piece layer, built once; on no memory, none (slow answers). */
static void peer_hash_tree(struct wk_torrent *t, int64_t fi)
{
	const struct mi_file *f = &t->mi.files[fi];
	uint64_t n = (f->length + t->mi.piece_length - 1) / t->mi.piece_length, width = mk_pow2(n);

	if (!t->trees && !(t->trees = calloc(t->mi.file_count, sizeof(*t->trees))))
		return;
	if (t->trees[fi] || !(t->trees[fi] = malloc((2 * width - 1) * MK_HASH_LEN)))
		return;
	mk_tree_build(f->layer, (size_t)n, width, mk_piece_height(t->mi.piece_length),
		      t->trees[fi]);
}

static void peer_hash_request(struct worker *w, struct peer *p)
{
	uint8_t m[PEER_HASHES_MAX];
	uint32_t count = 0;
	int64_t fi = mi_v2_hash_file(&p->t->mi, p->hreq);
	int rc;

	if (fi >= 0)
		peer_hash_tree(p->t, fi);
	rc = mi_v2_hashes(&p->t->mi, p->hreq, (const uint8_t *const *)p->t->trees,
			  m + WIRE_HASH_HDR_LEN, &count);

	wire_put_hash_header(m, rc ? WIRE_HASH_REJECT : WIRE_HASHES, p->hreq, rc ? 0 : count);
	wk_count(w, rc ? WSTAT_HASH_REJECTS : WSTAT_HASHES, 1);
	if (rc)
		count = 0;
	if (peer_ctl(w, p, m, WIRE_HASH_HDR_LEN + (size_t)count * MI_HASH_V2_LEN))
		peer_pump(w, p);
}

/* The 48 bytes of a hash_request, gathered from DATA events as they come. */
static void peer_hash_data(struct peer *p, const struct wire_event *e)
{
	uint32_t n = e->data_len;

	if (n > (uint32_t)(WIRE_HASH_REQ_LEN - p->hreq_len))
		n = (uint32_t)(WIRE_HASH_REQ_LEN - p->hreq_len); /* the decoder fixed its size */
	memcpy(p->hreq + p->hreq_len, e->data, n);
	p->hreq_len += (uint8_t)n;
}

/* Not interested keeps a slot already held: BEP 3 leaves choking to us. */
static void peer_interest(struct worker *w, struct peer *p, bool interested)
{
	p->interested = interested;
	if (interested)
		peer_advance(w, p, PEV_INTERESTED);
}

static void peer_message(struct worker *w, struct peer *p, const struct wire_event *e)
{
	switch (e->id) {
	case WIRE_INTERESTED:
		peer_interest(w, p, true);
		break;
	case WIRE_NOT_INTERESTED:
		peer_interest(w, p, false);
		break;
	case WIRE_REQUEST:
		peer_request(w, p, e);
		break;
	case WIRE_CANCEL:
		peer_cancel(w, p, e);
		break;
	case WIRE_HAVE_ALL:
		peer_ext_seed(w, p, "have_all");
		break;
	case WIRE_HAVE:
		choke_have(p, e->piece);
		ss_have(w, p, e->piece);
		break;
	case WIRE_HAVE_NONE:
		ss_heard(w, p);
		break;
	default: /* choke, unchoke, suggest, reject, allowed_fast, port */
		break;
	}
}

static void peer_feed(struct worker *w, struct peer *p, const uint8_t *data, uint32_t len)
{
	const uint8_t *ptr = data, *end = data + len;
	struct wire_event e;

	p->last_rx_ms = tw_now_ms();
	while (peer_open(p)) {
		switch (wire_decode(&p->dec, &ptr, end, &e)) {
		case WIRE_EV_NONE:
			return;
		case WIRE_EV_MSG:
			peer_message(w, p, &e);
			break;
		case WIRE_EV_BEGIN:
			if (e.id == WIRE_PIECE) { /* a seeder asked for nothing */
				log_debug("peer slot %u: unrequested piece message", p->slot);
				peer_close(w, p, WSTAT_DROP_PROTOCOL);
			} else {
				peer_ext_feed(w, p, &e);
			}
			p->hreq_len = 0;
			break;
		case WIRE_EV_DATA:
			if (e.id == WIRE_HASH_REQUEST)
				peer_hash_data(p, &e);
			else
				peer_ext_feed(w, p, &e);
			break;
		case WIRE_EV_END:
			if (e.id == WIRE_HASH_REQUEST && p->hreq_len == WIRE_HASH_REQ_LEN)
				peer_hash_request(w, p);
			else if (e.id != WIRE_HASH_REQUEST)
				peer_ext_feed(w, p, &e);
			break;
		case WIRE_EV_ERROR:
			log_debug("peer slot %u: %s", p->slot, e.why);
			peer_close(w, p, WSTAT_DROP_PROTOCOL);
			break;
		default: /* keep-alive; bitfield and extended go to ext.c, the rest is skipped */
			peer_ext_feed(w, p, &e);
			break;
		}
	}
}

static void peer_arm_recv(struct worker *w, struct peer *p)
{
	struct io_uring_sqe *sqe = wk_peer_sqe(w, OP_RECV, p);

	io_uring_prep_recv_multishot(sqe, p->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = w->rx.bgid;
	p->recv_armed = true;
}

void peer_on_recv(struct worker *w, struct peer *p, const struct io_uring_cqe *cqe)
{
	uint16_t bid;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		p->recv_armed = false;
	if (cqe->res > 0 && bufring_cqe_bid(cqe, &bid)) {
		if (peer_open(p)) {
			crypt_recv(p, bufring_buf(&w->rx, bid), (size_t)cqe->res);
			peer_feed(w, p, bufring_buf(&w->rx, bid), (uint32_t)cqe->res);
		}
		bufring_recycle(&w->rx, bid);
	} else if (cqe->res != -ENOBUFS) {
		peer_close(w, p, -1); /* EOF or a reset: the peer left */
	}
	if (peer_open(p) && !p->recv_armed)
		peer_arm_recv(w, p);
}

/*
 * Handshake, then have_all (Fast, complete) or a bitfield, then BEP 10's
 * handshake. The info-hash is the one the peer sent (the master checked it is
 * this torrent's): a hybrid is known by its v1 hash and by its v2 one cut to
 * 20 bytes (BEP 52), and a peer expects its own back.
 */
static int peer_intro(struct worker *w, struct peer *p, const uint8_t info_hash[20])
{
	const struct wk_torrent *t = p->t;
	size_t have_len = (t->mi.piece_count + 7) / 8, n = 0, hide_len;
	size_t cap = WIRE_HANDSHAKE_LEN + WIRE_BITFIELD_HDR_LEN + have_len + 512;
	struct wire_handshake hs = { .reserved = { 0 } };
	ssize_t e;

	p->intro = malloc(cap);
	if (!p->intro)
		return -ENOMEM;
	hs.reserved[WIRE_RSV_EXT_BYTE] |= WIRE_RSV_EXT_MASK;
	hs.reserved[WIRE_RSV_FAST_BYTE] |= WIRE_RSV_FAST_MASK;
	if (t->mi.format & MI_FORMAT_V2) /* BEP 52: we answer hash requests */
		hs.reserved[WIRE_RSV_V2_BYTE] |= WIRE_RSV_V2_MASK;
	memcpy(hs.info_hash, info_hash, sizeof(hs.info_hash));
	memcpy(hs.peer_id, w->peer_id, sizeof(hs.peer_id));
	wire_handshake_build(p->intro, &hs);
	n = WIRE_HANDSHAKE_LEN;
	if (ss_intro(w, p, p->intro + n, &hide_len)) { /* super-seeding: we have nothing */
		n += hide_len;
	} else if (p->fast && t->complete) {
		n += wire_put_simple(p->intro + n, WIRE_HAVE_ALL);
	} else {
		n += wire_put_bitfield_header(p->intro + n, (uint32_t)have_len);
		memcpy(p->intro + n, t->have, have_len);
		n += have_len;
	}
	if (p->ext) {
		e = peer_ext_hello(w, p, p->intro + n, cap - n);
		if (e < 0)
			return (int)e;
		n += (size_t)e;
	}
	p->intro_len = (uint32_t)n;
	return 0;
}

void peer_admit(struct worker *w, int fd, struct wk_torrent *t, const struct wmsg *msg)
{
	const uint8_t *hs_bytes = msg->handshake;
	struct wire_handshake hs;
	struct peer *p;
	uint32_t slot, gen;
	int one = 1;

	if (!w->n_free || wire_handshake_parse(hs_bytes, &hs) != 0) {
		wk_count(w, w->n_free ? WSTAT_DROP_PROTOCOL : WSTAT_DROP_TOO_MANY, 1);
		close(fd);
		wk_addr_put(w, msg->addr_slot);
		return;
	}
	slot = w->free_slots[--w->n_free];
	p = &w->peers[slot];
	gen = p->gen;
	memset(p, 0, sizeof(*p));
	*p = (struct peer){ .state = PEER_FREE,
			    .slot = slot,
			    .gen = gen,
			    .fd = fd,
			    .t = t,
			    .addr_slot = { msg->addr_slot[0], msg->addr_slot[1] },
			    .fast = wire_has_fast(&hs),
			    .ext = wire_has_extension(&hs) };
	t->peers++;
	w->n_open++;
	peer_advance(w, p, PEV_ADMIT);
	__atomic_fetch_add(&w->a->stats->c[WSTAT_PEERS], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&worker_torrent_peers(w->a->stats, w->a->max_torrents)[t->id %
										    w->a->max_torrents],
			   1, __ATOMIC_RELAXED);
	if (crypt_attach(w, p, msg) != 0 || peer_intro(w, p, hs.info_hash) != 0) {
		log_warnx("out of memory for a peer");
		peer_close(w, p, WSTAT_DROP_TOO_MANY);
		return;
	}
	crypt_seal(p, p->intro, p->intro_len);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	wire_dec_init(&p->dec, WK_MAX_MSG);
	p->last_rx_ms = p->last_tx_ms = p->admit_ms = tw_now_ms();
	tw_timer_init(&p->timer);
	tw_add(&w->wheel, &p->timer, WK_TICK_MS);
	peer_arm_recv(w, p);
	if (msg->extra_len) /* what the master read past the handshake (MSE), deciphered */
		peer_feed(w, p, msg->extra, msg->extra_len);
	if (peer_open(p))
		choke_admit(w, p, hs.info_hash); /* allowed fast messages follow the intro */
	if (peer_open(p))
		peer_pump(w, p);
}

/* When p's bytes last went out: a batch in flight keeps its own time. */
static uint64_t peer_last_tx(const struct peer *p)
{
	return p->batch && p->batch->tx_ms > p->last_tx_ms ? p->batch->tx_ms : p->last_tx_ms;
}

/*
 * Once a second per peer: idle and stuck peers go, quiet ones get a keep-alive
 * and give back the buffers they are not using.
 */
void peer_timer(struct tw_timer *tm, void *arg)
{
	struct worker *w = arg;
	struct peer *p = (struct peer *)((char *)tm - offsetof(struct peer, timer));
	uint64_t now = tw_now_ms(), idle = (uint64_t)w->conf->idle_timeout * 1000;
	uint8_t ka[4];

	if (!peer_open(p))
		return;
	if (now - p->last_rx_ms > idle || (peer_output_busy(p) && now - peer_last_tx(p) > idle)) {
		peer_close(w, p, WSTAT_DROP_IDLE);
		return;
	}
	if (!peer_output_busy(p) && now - p->last_tx_ms > WK_KEEPALIVE_MS &&
	    peer_ctl(w, p, ka, wire_put_keepalive(ka)))
		peer_pump(w, p);
	wpex_tick(w, p, now);
	if (!peer_open(p)) /* the keep-alive or ut_pex did not fit: closed, timer gone */
		return;
	peer_trim(p, now);
	ss_tick(w, p);
	if (!peer_open(p))
		return;
	tw_add(&w->wheel, &p->timer, WK_TICK_MS);
}
