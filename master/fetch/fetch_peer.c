/*
 * fetch_peer.c - one outbound connection, as a leecher speaks it.
 *
 * After the handshakes (ours with the Fast and extension bits, theirs
 * checked against the info-hash), every message goes through proto/wire's
 * decoder. What a peer has (bitfield, have, have_all, have_none) feeds the
 * availability the picker ranks pieces by; we stay interested while it has
 * something we lack, and while it unchokes us we keep `depth` requests in
 * flight: the blocks its rate delivers in FETCH_QUEUE_MS, at least
 * FETCH_REQ_MIN, at most its reqq (BEP 10) and FETCH_REQ_MAX.
 *
 * Hostile input is dropped and counted, never trusted: a block nobody asked
 * for (its bytes are skipped), a have or bitfield out of range or with the
 * spare bits set (the connection goes), a peer that claims pieces and sends
 * nothing for request_timeout (snubbed: its requests go to others).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/fetch/fetch_int.h"
#include "proto/bytes.h"
#include "proto/ext.h"

/*
 * Bandwidth-delay: what arrives in this long stays in flight. It must exceed
 * a seeder's send period, or the queue caps the rate that sizes it:
 * Transmission serves each peer's queue once per 500 ms, so 1 s doubles the
 * queue every round until reqq.
 */
#define FETCH_QUEUE_MS 1000

void fpeer_put(struct fetch *f, struct fpeer *p, const void *msg, size_t len)
{
	(void)f;
	if (p->state != FPEER_HANDSHAKE && p->state != FPEER_ACTIVE)
		return;
	if (p->out_len + len > p->out_cap) {
		size_t cap = p->out_cap ? p->out_cap : 4096;
		uint8_t *n;

		while (cap < p->out_len + len)
			cap *= 2;
		if (p->send_busy) {
			/* The send in flight reads the old buffer: it lives until that completes. */
			n = malloc(cap);
			if (!n)
				return;
			if (p->out_len)
				memcpy(n, p->out, p->out_len);
			if (p->out_old)
				free(p->out); /* an earlier copy, which no send reads */
			else
				p->out_old = p->out;
		} else if (!(n = realloc(p->out, cap))) {
			return; /* the peer will time out; nothing else to do without memory */
		}
		p->out = n;
		p->out_cap = cap;
	}
	memcpy(p->out + p->out_len, msg, len);
	p->out_len += len;
}

void fpeer_drop(struct fetch *f, struct fpeer *p, enum fetch_counter why, const char *fmt, ...)
{
	char name[64], text[160];
	va_list ap;

	if (p->state == FPEER_FREE || p->state == FPEER_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (why < FC_MAX)
		f->res->c[why]++;
	log_info("fetch: %s: %s", fetch_src_name(f, p->src, name, sizeof(name)), text);
	for (uint32_t r = 0; r < p->n_req; r++)
		fpick_release(f, &p->req[r]);
	p->n_req = 0;
	if (p->pm_live)
		fpick_release(f, &p->pm_req);
	p->pm_live = false;
	fup_drop(p);
	if (p->bits)
		for (uint32_t i = 0; i < f->mi->piece_count; i++)
			if (fpick_has(p, i) && f->avail[i] > 0)
				f->avail[i]--;
	free(p->bits);
	p->bits = NULL;
	free(p->msg);
	p->msg = NULL;
	p->msg_cap = 0;
	p->state = FPEER_CLOSING;
	shutdown(p->fd, SHUT_RDWR);
	/* One second more per connection in a row that got nowhere, up to 10 s. */
	f->src[p->src].retry_ms =
		f->now_ms + 1000u * (f->src[p->src].fails < 10 ? f->src[p->src].fails + 1 : 10);
}

static void fpeer_have_one(struct fetch *f, struct fpeer *p, uint32_t piece)
{
	if (fpick_has(p, piece))
		return;
	p->bits[piece / 8] |= (uint8_t)(0x80u >> (piece % 8));
	f->avail[piece]++;
	if (f->ps[piece] != FPS_HAVE)
		p->n_wanted++;
}

/* Interest follows n_wanted, kept as haves come and our pieces complete: no scan per message. */
static void fpeer_interest(struct fetch *f, struct fpeer *p)
{
	uint8_t m[WIRE_SIMPLE_LEN];
	bool want = p->n_wanted > 0;

	if (want == p->interested)
		return;
	p->interested = want;
	fpeer_put(f, p, m, wire_put_simple(m, want ? WIRE_INTERESTED : WIRE_NOT_INTERESTED));
}

void fpeer_broadcast_have(struct fetch *f, uint32_t piece)
{
	uint8_t m[WIRE_HAVE_LEN];

	wire_put_have(m, WIRE_HAVE, piece);
	for (uint32_t i = 0; i < FETCH_SOURCES_MAX; i++) {
		struct fpeer *p = &f->peers[i];

		if (p->state != FPEER_ACTIVE)
			continue;
		if (fpick_has(p, piece) && p->n_wanted > 0)
			p->n_wanted--;
		fpeer_put(f, p, m, sizeof(m));
		fpeer_interest(f, p);
		fetch_send(f, p);
	}
}

/* Keeps depth requests in flight while the peer unchokes us. */
void fpeer_fill(struct fetch *f, struct fpeer *p)
{
	uint8_t m[WIRE_BLOCK_LEN];
	uint64_t want = p->rate * FETCH_QUEUE_MS / 1000 / FETCH_BLOCK;
	uint32_t cap = p->reqq < FETCH_REQ_MAX ? p->reqq : FETCH_REQ_MAX;
	int act;
	uint32_t b;

	p->depth = (uint32_t)(want < FETCH_REQ_MIN ? FETCH_REQ_MIN : want > cap ? cap : want);
	while (p->state == FPEER_ACTIVE && !p->choked && !f->fail && p->n_req < p->depth &&
	       fpick_next(f, p, &act, &b)) {
		struct fpiece *a = &f->act[act];
		struct freq *r = &p->req[p->n_req++];
		uint32_t begin = b * FETCH_BLOCK;

		r->piece = a->index;
		r->begin = begin;
		r->length = a->size - begin < FETCH_BLOCK ? a->size - begin : FETCH_BLOCK;
		a->blk[b] = FBLK_REQ;
		a->nreq[b]++;
		if (p->n_req == 1)
			p->last_data_ms = f->now_ms; /* the timeout runs from the first request */
		fpeer_put(f, p, m, wire_put_block(m, WIRE_REQUEST, r->piece, r->begin, r->length));
	}
	fetch_send(f, p);
}

void fpeer_connected(struct fetch *f, struct fpeer *p)
{
	struct wire_handshake hs = { 0 };
	uint8_t m[WIRE_HANDSHAKE_LEN + WIRE_SIMPLE_LEN];

	hs.reserved[WIRE_RSV_FAST_BYTE] |= WIRE_RSV_FAST_MASK;
	hs.reserved[WIRE_RSV_EXT_BYTE] |= WIRE_RSV_EXT_MASK;
	memcpy(hs.info_hash, f->mi->info_hash, MI_HASH_LEN);
	memcpy(hs.peer_id, f->peer_id, sizeof(hs.peer_id));
	wire_handshake_build(m, &hs);
	p->state = FPEER_HANDSHAKE;
	fpeer_put(f, p, m, WIRE_HANDSHAKE_LEN);
	fetch_send(f, p);
}

/* Their handshake is in p->hs: check it, then our bitfield (or have_none). */
static void fpeer_handshake(struct fetch *f, struct fpeer *p)
{
	struct wire_handshake hs;
	uint8_t m[WIRE_EXT_HANDSHAKE_CAP];
	struct wire_ext_handshake ext = { .client = "ringseed " RINGSEED_VERSION,
					  .reqq = FETCH_REQ_MAX,
					  .ut_pex = FETCH_UT_PEX };
	ssize_t n;

	if (wire_handshake_parse(p->hs, &hs) != 0 ||
	    memcmp(hs.info_hash, f->mi->info_hash, MI_HASH_LEN) != 0) {
		fpeer_drop(f, p, FC_CONNECT_FAILS, "not a handshake for this torrent");
		return;
	}
	f->res->c[FC_CONNECTS]++;
	f->src[p->src].fails = 0;
	p->state = FPEER_ACTIVE;
	p->fast = wire_has_fast(&hs);
	p->choked = true;
	p->reqq = FETCH_REQQ_DEFAULT;
	p->bits = calloc(1, f->st.bf_len);
	p->nbits = f->mi->piece_count;
	p->since_ms = f->now_ms;
	if (!p->bits) {
		fpeer_drop(f, p, FC_MAX, "out of memory");
		return;
	}
	wire_dec_init(&p->dec, 9 + WIRE_MAX_BLOCK + (uint32_t)f->st.bf_len + 64);
	if (wire_has_extension(&hs) && (n = wire_put_ext_handshake(m, sizeof(m), &ext)) > 0)
		fpeer_put(f, p, m, (size_t)n);
	if (f->n_have > 0) {
		fpeer_put(f, p, m, wire_put_bitfield_header(m, (uint32_t)f->st.bf_len));
		fpeer_put(f, p, f->st.have, f->st.bf_len);
	} else if (p->fast) {
		fpeer_put(f, p, m, wire_put_simple(m, WIRE_HAVE_NONE));
	}
	fetch_send(f, p);
}

static void fpeer_bitfield(struct fetch *f, struct fpeer *p)
{
	uint32_t spare = (uint32_t)(f->st.bf_len * 8 - f->mi->piece_count);

	if (p->msg_len != f->st.bf_len ||
	    (spare && (p->msg[f->st.bf_len - 1] & ((1u << spare) - 1)))) {
		fpeer_drop(f, p, FC_BAD_MESSAGES, "bitfield of %u bytes does not fit %u pieces",
			   p->msg_len, f->mi->piece_count);
		return;
	}
	for (uint32_t i = 0; i < f->mi->piece_count; i++)
		if (p->msg[i / 8] & (0x80u >> (i % 8)))
			fpeer_have_one(f, p, i);
	fpeer_interest(f, p);
}

static void fpeer_ext(struct fetch *f, struct fpeer *p)
{
	struct ext_peer_hs hs;
	struct ext_err err;

	/* The handshake and peer exchange matter to a leecher; the rest is skipped. */
	if (p->msg_len >= 1 && p->msg[0] == FETCH_UT_PEX) {
		fetch_pex_input(f, p, p->msg + 1, p->msg_len - 1);
		return;
	}
	if (p->msg_len < 1 || p->msg[0] != WIRE_EXT_HANDSHAKE_ID)
		return;
	if (ext_handshake_parse(p->msg + 1, p->msg_len - 1, &hs, &err) != 0) {
		f->res->c[FC_BAD_MESSAGES]++;
		return;
	}
	if (hs.reqq > 0)
		p->reqq = hs.reqq;
}

/* Takes r off p's list; false if p never asked for it. */
static bool fpeer_take_req(struct fpeer *p, uint32_t piece, uint32_t begin, uint32_t length)
{
	for (uint32_t i = 0; i < p->n_req; i++) {
		struct freq *r = &p->req[i];

		if (r->piece == piece && r->begin == begin && r->length == length) {
			*r = p->req[--p->n_req];
			return true;
		}
	}
	return false;
}

/* Endgame: the block came; the other peers asked for it too are told to forget it. */
static void fpeer_cancel_others(struct fetch *f, struct fpeer *from, const struct freq *r)
{
	uint8_t m[WIRE_BLOCK_LEN];

	for (uint32_t i = 0; i < FETCH_SOURCES_MAX; i++) {
		struct fpeer *q = &f->peers[i];

		if (q == from || q->state != FPEER_ACTIVE ||
		    !fpeer_take_req(q, r->piece, r->begin, r->length))
			continue;
		f->res->c[FC_CANCELS]++;
		fpeer_put(f, q, m, wire_put_block(m, WIRE_CANCEL, r->piece, r->begin, r->length));
		fetch_send(f, q);
	}
}

/* The 8 bytes of index and begin are in: where the block goes, if anywhere. */
static void fpeer_block_start(struct fetch *f, struct fpeer *p)
{
	uint32_t piece = get_be32(p->pm_hdr), begin = get_be32(p->pm_hdr + 4);
	int act = fpick_find(f, piece);
	struct fpiece *a = act >= 0 ? &f->act[act] : NULL;

	p->pm_dst = NULL;
	p->pm_act = -1;
	if (!fpeer_take_req(p, piece, begin, p->pm_len)) {
		f->res->c[FC_UNREQUESTED]++;
		return;
	}
	if (!a || begin / FETCH_BLOCK >= a->nblocks || a->blk[begin / FETCH_BLOCK] == FBLK_DONE) {
		f->res->c[FC_DUPLICATES]++;
		log_debug("fetch: block %u+%u again (%s)", piece, begin,
			  a ? "already in" : "piece not being fetched");
		return;
	}
	/* Its request counts as in flight until the last byte is in (fpeer_drop). */
	p->pm_req = (struct freq){ piece, begin, p->pm_len };
	p->pm_live = true;
	p->pm_dst = a->buf + begin;
	p->pm_act = act;
}

/*
 * In the endgame two peers may be sending the same block: once one copy is
 * in, the piece may be hashed, written and its buffer freed, so every chunk
 * checks that its block still waits for bytes.
 */
static bool fpeer_block_live(const struct fetch *f, const struct fpeer *p)
{
	const struct fpiece *a = &f->act[p->pm_act];

	return a->used && a->index == get_be32(p->pm_hdr) && !a->writes &&
	       a->blk[get_be32(p->pm_hdr + 4) / FETCH_BLOCK] != FBLK_DONE;
}

static void fpeer_block_end(struct fetch *f, struct fpeer *p)
{
	struct fpiece *a;
	uint32_t begin = get_be32(p->pm_hdr + 4), b = begin / FETCH_BLOCK;
	struct freq r = { get_be32(p->pm_hdr), begin, p->pm_len };
	bool known = false;

	p->last_data_ms = f->now_ms;
	p->pm_live = false;
	if (!p->pm_dst || !fpeer_block_live(f, p))
		return;
	a = &f->act[p->pm_act];
	a->blk[b] = FBLK_DONE;
	a->done++;
	for (uint8_t i = 0; i < a->n_contrib; i++)
		known |= a->contrib[i] == p->src;
	if (!known && a->n_contrib < FETCH_CONTRIB_MAX)
		a->contrib[a->n_contrib++] = (int16_t)p->src;
	else if (!known)
		a->many = true;
	fpeer_cancel_others(f, p, &r);
	if (a->done == a->nblocks)
		fetch_piece_complete(f, p->pm_act);
}

/* A piece message's payload, chunk by chunk. */
static void fpeer_block_data(struct fetch *f, struct fpeer *p, const uint8_t *d, uint32_t n)
{
	while (n > 0 && p->pm_hdr_n < 8) {
		p->pm_hdr[p->pm_hdr_n++] = *d++;
		n--;
		if (p->pm_hdr_n == 8)
			fpeer_block_start(f, p);
	}
	if (n == 0)
		return;
	f->res->c[FC_BYTES] += n;
	p->window_bytes += n;
	if (p->pm_dst && !fpeer_block_live(f, p))
		p->pm_dst = NULL;
	if (p->pm_dst)
		memcpy(p->pm_dst + p->pm_off, d, n);
	p->pm_off += n;
}

static void fpeer_msg(struct fetch *f, struct fpeer *p, const struct wire_event *ev)
{
	switch (ev->id) {
	case WIRE_CHOKE:
		p->choked = true;
		/* Without the Fast extension the requests in flight are void (BEP 3). */
		if (!p->fast) {
			for (uint32_t r = 0; r < p->n_req; r++)
				fpick_release(f, &p->req[r]);
			p->n_req = 0;
		}
		break;
	case WIRE_UNCHOKE:
		p->choked = false;
		p->last_data_ms = f->now_ms;
		break;
	case WIRE_HAVE:
		if (ev->piece >= f->mi->piece_count) {
			fpeer_drop(f, p, FC_BAD_MESSAGES, "have %u: only %u pieces", ev->piece,
				   f->mi->piece_count);
			return;
		}
		fpeer_have_one(f, p, ev->piece);
		fpeer_interest(f, p);
		break;
	case WIRE_HAVE_ALL:
		for (uint32_t i = 0; i < f->mi->piece_count; i++)
			fpeer_have_one(f, p, i);
		fpeer_interest(f, p);
		break;
	case WIRE_REJECT: {
		struct freq r = { ev->piece, ev->begin, ev->length };

		if (fpeer_take_req(p, r.piece, r.begin, r.length)) {
			f->res->c[FC_REJECTS]++;
			fpick_release(f, &r);
		}
		break;
	}
	default: /* interested, request, cancel: fetch_up.c; have_none, suggest, ...: nothing */
		fup_msg(f, p, ev);
		break;
	}
	fpeer_fill(f, p);
}

static void fpeer_begin(struct fpeer *p, const struct wire_event *ev)
{
	p->msg_len = 0;
	p->msg_skip = true;
	if (ev->id == WIRE_PIECE) {
		p->pm_hdr_n = 0;
		p->pm_off = 0;
		p->pm_len = ev->len - 8;
		p->pm_dst = NULL;
		return;
	}
	if ((ev->id != WIRE_BITFIELD && ev->id != WIRE_EXTENDED) || ev->len > FETCH_EXT_MAX + p->nbits)
		return;
	if (p->msg_cap < ev->len) {
		uint8_t *n = realloc(p->msg, ev->len);

		if (!n)
			return;
		p->msg = n;
		p->msg_cap = ev->len;
	}
	p->msg_skip = false;
}

static void fpeer_event(struct fetch *f, struct fpeer *p, const struct wire_event *ev)
{
	switch (ev->type) {
	case WIRE_EV_MSG:
		fpeer_msg(f, p, ev);
		break;
	case WIRE_EV_BEGIN:
		fpeer_begin(p, ev);
		break;
	case WIRE_EV_DATA:
		if (ev->id == WIRE_PIECE)
			fpeer_block_data(f, p, ev->data, ev->data_len);
		else if (!p->msg_skip) {
			memcpy(p->msg + p->msg_len, ev->data, ev->data_len);
			p->msg_len += ev->data_len;
		}
		break;
	case WIRE_EV_END:
		if (ev->id == WIRE_PIECE)
			fpeer_block_end(f, p);
		else if (ev->id == WIRE_BITFIELD)
			fpeer_bitfield(f, p);
		else if (ev->id == WIRE_EXTENDED && !p->msg_skip)
			fpeer_ext(f, p);
		fpeer_fill(f, p);
		break;
	case WIRE_EV_ERROR:
		fpeer_drop(f, p, FC_BAD_MESSAGES, "%s", ev->why);
		break;
	default:
		break;
	}
}

void fpeer_input(struct fetch *f, struct fpeer *p, const uint8_t *buf, size_t len)
{
	const uint8_t *q = buf, *end = buf + len;
	struct wire_event ev;

	if (p->state == FPEER_HANDSHAKE) {
		size_t n = WIRE_HANDSHAKE_LEN - p->hs_len;

		n = n < len ? n : len;
		memcpy(p->hs + p->hs_len, q, n);
		p->hs_len += (uint8_t)n;
		q += n;
		if (p->hs_len < WIRE_HANDSHAKE_LEN)
			return;
		fpeer_handshake(f, p);
	}
	while (p->state == FPEER_ACTIVE && wire_decode(&p->dec, &q, end, &ev) != WIRE_EV_NONE)
		fpeer_event(f, p, &ev);
}

/* Once a second: the rate, and a peer that sends nothing while we wait. */
void fpeer_tick(struct fetch *f, struct fpeer *p)
{
	if (p->state != FPEER_ACTIVE)
		return;
	if (f->now_ms - p->since_ms >= 1000) {
		p->rate = (p->rate + p->window_bytes * 1000 / (f->now_ms - p->since_ms)) / 2;
		p->window_bytes = 0;
		p->since_ms = f->now_ms;
	}
	if (p->n_req > 0 && f->now_ms - p->last_data_ms > f->request_timeout_ms) {
		fpeer_drop(f, p, FC_SNUBS, "no block in %u ms with %u requests out",
			   f->request_timeout_ms, p->n_req);
		return;
	}
	fpeer_fill(f, p);
}
