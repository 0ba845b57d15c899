/*
 * conn.c - the wire protocol of one leecher connection.
 *
 * After the 68-byte handshake everything goes through the streaming decoder
 * of proto/wire.h. A piece message comes as BEGIN, DATA... (its first 8 bytes
 * are index and begin), END; the block is matched against the outstanding
 * requests when its first 8 bytes are in, and its payload is copied into the
 * piece's slot (copy mode), left in the shared receive buffer (discard mode)
 * or never read at all (trunc mode: TCP drops it, loop.c asks conn_want() how
 * much). Either way framing is followed byte by byte, so the next request
 * goes out as soon as a block ends.
 *
 * Requests: at most `queue` outstanding (fewer if the peer's BEP 10 handshake
 * says "reqq" is smaller), kept in a ring in the order they were
 * sent (seeders answer in order, so a match is nearly always at the head; an
 * answer out of order leaves a hole that is skipped later). A rejected request
 * (BEP 6), or every outstanding one when a peer without the Fast extension
 * chokes (BEP 3: a choke drops them), goes to the retry list and is asked
 * again first once unchoked. A piece holds a slot from its first request to
 * its last block; there are enough slots per connection for `queue` blocks
 * in flight plus the piece being started.
 *
 * Messages to send are appended to the connection's send buffer; loop.c sends
 * what is there, one send at a time, after each batch of completions.
 *
 * Request pacing (--requests, pace.c): burst refills the whole queue at the
 * end of each read, all of it in one send. Trickle, like libtorrent or aria2
 * on a peer well under 1 MB/s, asks for one new block the moment a block has
 * fully arrived and writes that request alone, with a send(2) of its own
 * there and then; only a queue found short otherwise (the first unchoke, a
 * reject) is refilled in one send. With --rtt either kind is held first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <openssl/provider.h>
#include <openssl/sha.h>

#include "bench/bench.h"
#include "iocore/log.h"
#include "proto/bencode.h"
#include "proto/bytes.h"

#define CONN_SBUF_SPARE 64 /* room beyond handshake + interested + Q requests (keep-alives) */
#define CONN_MAX_EXT	(64u << 10) /* a BEP 10 handshake longer than this is not read */

const char *conn_end_name(enum conn_end e)
{
	static const char *const names[END_MAX] = {
		[END_NONE] = "none",
		[END_DONE] = "done",
		[END_CONNECT] = "connect",
		[END_CONNECT_TIMEOUT] = "connect_timeout",
		[END_HANDSHAKE_TIMEOUT] = "handshake_timeout",
		[END_BAD_HANDSHAKE] = "bad_handshake",
		[END_EOF] = "closed_by_peer",
		[END_RECV] = "recv_error",
		[END_SEND] = "send_error",
		[END_PROTOCOL] = "protocol_error",
		[END_HTTP_STATUS] = "http_status",
	};

	return (unsigned)e < END_MAX ? names[e] : "?";
}

/* Slots one connection needs: `queue` blocks span at most this many pieces, plus one. */
static uint32_t conn_nslots(const struct bench *b)
{
	uint64_t span = (uint64_t)b->o.queue * BENCH_BLOCK;
	uint64_t n = (span + b->mi.piece_length - 1) / b->mi.piece_length + 1;

	return (uint32_t)n;
}

/* Copy mode: the piece buffers, one mapping, touched only as slots are used. */
static int conn_map_pieces(struct bench *b, uint32_t nslots)
{
	size_t len = (size_t)b->o.conns * nslots * b->mi.piece_length;
	uint8_t *map;

	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	for (uint32_t i = 0; i < b->o.conns; i++)
		for (uint32_t s = 0; s < nslots; s++)
			b->conns[i].slots[s].buf =
				map + ((size_t)i * nslots + s) * b->mi.piece_length;
	return 0;
}

int conn_setup_all(struct bench *b)
{
	uint32_t n = b->o.conns, q = b->o.queue ? b->o.queue : 1, nslots = conn_nslots(b);
	uint32_t s_cap = WIRE_HANDSHAKE_LEN + WIRE_SIMPLE_LEN + q * WIRE_BLOCK_LEN +
			 CONN_SBUF_SPARE + (b->o.mse ? MSE_OUT_MAX : 0);
	size_t bm = (b->mi.piece_count + 7) / 8;
	struct bench_req *reqs = calloc((size_t)n * q * 2, sizeof(*reqs));
	struct bench_slot *slots = calloc((size_t)n * nslots, sizeof(*slots));
	uint8_t *sbufs = malloc((size_t)n * s_cap);
	uint8_t *got = b->o.order == PICK_RAREST ? calloc(n, bm) : NULL;

	struct mse *mses = b->o.mse ? calloc(n, sizeof(*mses)) : NULL;

	b->conns = calloc(n, sizeof(*b->conns));
	if (!b->conns || !reqs || !slots || !sbufs || (b->o.order == PICK_RAREST && !got) ||
	    (b->o.mse && !mses)) {
		free(mses);
		free(reqs);
		free(slots);
		free(sbufs);
		free(got);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct conn *c = &b->conns[i];

		c->fd = -1;
		c->idx = i;
		c->next_dirty = UINT32_MAX;
		c->reqs = reqs + (size_t)i * q * 2;
		c->retry = c->reqs + q;
		c->slots = slots + (size_t)i * nslots;
		c->nslots = nslots;
		c->sbuf = sbufs + (size_t)i * s_cap;
		c->s_cap = s_cap;
		c->got = got ? got + (size_t)i * bm : NULL;
		c->mse = mses ? mses + i : NULL;
		tw_timer_init(&c->timer);
		pick_conn_init(b, c);
	}
	/* The bench ciphers as cheaply as it can: libcrypto's RC4 is assembly. */
	if (b->o.mse == MSE_CRYPTO_RC4 && (b->prov[0] = OSSL_PROVIDER_load(NULL, "default")) &&
	    (b->prov[1] = OSSL_PROVIDER_load(NULL, "legacy")))
		b->rc4 = EVP_CIPHER_fetch(NULL, "RC4", NULL);
	if (b->o.recv == RECV_COPY)
		return conn_map_pieces(b, nslots);
	return 0;
}

void conn_free_all(struct bench *b)
{
	struct conn *c0 = b->conns;

	if (!c0)
		return;
	for (uint32_t i = 0; i < b->o.conns; i++) {
		free(c0[i].peer_has);
		free(c0[i].ext);
		EVP_CIPHER_CTX_free(c0[i].rc4_in);
		EVP_CIPHER_CTX_free(c0[i].rc4_out);
	}
	EVP_CIPHER_free(b->rc4);
	for (int i = 1; i >= 0; i--)
		if (b->prov[i])
			OSSL_PROVIDER_unload(b->prov[i]);
	if (c0->slots[0].buf)
		munmap(c0->slots[0].buf, (size_t)b->o.conns * c0->nslots * b->mi.piece_length);
	free(c0->reqs);
	free(c0->slots);
	free(c0->sbuf);
	free(c0->got);
	free(c0->mse);
	free(c0);
	b->conns = NULL;
}

/*
 * Appends one message to the send buffer; false (counted nowhere) if it is
 * full. After an MSE handshake with RC4 the bytes are ciphered here: the
 * buffer goes out in the order it is filled, as the cipher stream must.
 */
/* --mse: cipher bytes about to go on the wire, in wire order (nothing for plaintext). */
static void conn_seal(struct conn *c, uint8_t *buf, size_t len)
{
	if (c->rc4_out)
		EVP_EncryptUpdate(c->rc4_out, buf, &(int){ 0 }, buf, (int)len);
	else if (c->mse && c->mse->state == MSE_DONE)
		mse_send(&c->mse->st, buf, len);
}

/* Appends bytes as they are (already ciphered, or the MSE handshake's own). */
static bool conn_put_raw(struct bench *b, struct conn *c, const uint8_t *m, size_t len)
{
	if (c->s_len + len > c->s_cap)
		return false;
	memcpy(c->sbuf + c->s_len, m, len);
	c->s_len += (uint32_t)len;
	loop_mark_dirty(b, c);
	return true;
}

static bool conn_put(struct bench *b, struct conn *c, const uint8_t *m, size_t len)
{
	if (c->s_len + len > c->s_cap)
		return false;
	memcpy(c->sbuf + c->s_len, m, len);
	conn_seal(c, c->sbuf + c->s_len, len);
	c->s_len += (uint32_t)len;
	loop_mark_dirty(b, c);
	return true;
}

/* What the MSE handshake has to send, as it is (not ciphered again). */
static void conn_put_mse(struct bench *b, struct conn *c)
{
	if (c->mse->out_len)
		conn_put_raw(b, c, c->mse->out, c->mse->out_len);
	c->mse->out_len = 0;
}

/* --mse: Ya and PadA now; our BitTorrent handshake goes as the IA of step 3. */
static void conn_start_mse(struct bench *b, struct conn *c, const uint8_t *hs)
{
	struct mse_policy pol = { .allow = b->o.mse, .pad_max = MSE_PAD_MAX };
	uint8_t rnd[MSE_RAND_LEN];

	for (size_t i = 0; i < sizeof(rnd); i += 8) {
		uint64_t r = bench_rand(b);

		memcpy(rnd + i, &r, 8);
	}
	if (mse_init_initiator(c->mse, &pol, rnd, b->ih, hs, WIRE_HANDSHAKE_LEN) != 0) {
		loop_finish(b, c, END_BAD_HANDSHAKE, ENOMEM);
		return;
	}
	conn_put_mse(b, c);
}

void conn_start_handshake(struct bench *b, struct conn *c)
{
	uint8_t hs[WIRE_HANDSHAKE_LEN];
	char tail[13];

	memcpy(hs, b->hs_out, sizeof(hs));
	/* Each connection its own peer id (the last 12 bytes): some seeders drop duplicates. */
	snprintf(tail, sizeof(tail), "%06x%06x", c->idx & 0xffffff,
		 (unsigned)(bench_rand(b) & 0xffffff));
	memcpy(hs + WIRE_HANDSHAKE_LEN - 12, tail, 12);
	c->hs_len = 0;
	c->s_len = 0; /* --churn: nothing of the last socket's is left to send */
	EVP_CIPHER_CTX_free(c->rc4_in);
	EVP_CIPHER_CTX_free(c->rc4_out);
	c->rc4_in = c->rc4_out = NULL;
	c->choked = true;
	c->qmax = b->o.queue;
	wire_dec_init(&c->dec, b->max_msg);
	if (c->mse)
		conn_start_mse(b, c, hs);
	else
		conn_put(b, c, hs, sizeof(hs));
}

void conn_keepalive(struct bench *b, struct conn *c)
{
	uint8_t m[WIRE_KEEPALIVE_LEN];

	conn_put(b, c, m, wire_put_keepalive(m));
}

/* --- outstanding requests --- */

static uint32_t req_at(const struct bench *b, const struct conn *c, uint32_t k)
{
	uint32_t i = c->req_head + k;

	return i >= b->o.queue ? i - b->o.queue : i;
}

/* Drops the holes at the head of the ring. */
static void req_trim(struct bench *b, struct conn *c)
{
	while (c->req_len && c->reqs[c->req_head].length == 0) {
		c->req_head = c->req_head + 1 == b->o.queue ? 0 : c->req_head + 1;
		c->req_len--;
	}
}

/* Holes behind the head fill the ring: move the live requests together, oldest first. */
static void req_compact(struct bench *b, struct conn *c)
{
	struct bench_req tmp[BENCH_MAX_QUEUE];
	uint32_t live = 0;

	for (uint32_t k = 0; k < c->req_len; k++) {
		struct bench_req r = c->reqs[req_at(b, c, k)];

		if (r.length)
			tmp[live++] = r;
	}
	memcpy(c->reqs, tmp, live * sizeof(tmp[0]));
	c->req_head = 0;
	c->req_len = live;
}

static void req_push(struct bench *b, struct conn *c, struct bench_req r)
{
	if (c->req_len == b->o.queue)
		req_compact(b, c);
	c->reqs[req_at(b, c, c->req_len)] = r;
	c->req_len++;
	c->req_live++;
}

/* Removes the request (piece, begin, length); false if it is not outstanding. */
static bool req_take(struct bench *b, struct conn *c, uint32_t piece, uint32_t begin, uint32_t len)
{
	for (uint32_t k = 0; k < c->req_len; k++) {
		struct bench_req *r = &c->reqs[req_at(b, c, k)];

		if (r->length == len && r->piece == piece && r->begin == begin) {
			r->length = 0;
			c->req_live--;
			req_trim(b, c);
			return true;
		}
	}
	return false;
}

/* A late answer to a request that went to the retry list: it is not asked again. */
static bool retry_take(struct conn *c, uint32_t piece, uint32_t begin, uint32_t len)
{
	for (uint32_t k = 0; k < c->nretry; k++) {
		struct bench_req *r = &c->retry[k];

		if (r->length == len && r->piece == piece && r->begin == begin) {
			*r = c->retry[--c->nretry];
			return true;
		}
	}
	return false;
}

static void retry_add(struct conn *c, struct bench_req r)
{
	c->retry[c->nretry++] = r;
	c->requested -= r.length;
}

static struct bench_slot *slot_of(struct conn *c, uint32_t piece)
{
	for (uint32_t i = 0; i < c->nslots; i++)
		if (c->slots[i].used && c->slots[i].piece == piece)
			return &c->slots[i];
	return NULL;
}

static struct bench_slot *slot_free(struct conn *c)
{
	for (uint32_t i = 0; i < c->nslots; i++)
		if (!c->slots[i].used)
			return &c->slots[i];
	return NULL;
}

/* The next block to ask for: a retry first, then the current piece, then a new piece. */
static bool conn_next_block(struct bench *b, struct conn *c, struct bench_req *r)
{
	uint32_t size;

	if (c->nretry) {
		*r = c->retry[--c->nretry];
		return true;
	}
	if (!c->cur) {
		struct bench_slot *s = slot_free(c);
		uint32_t piece;

		if (!s || !pick_next(b, c, &piece))
			return false;
		s->used = true;
		s->piece = piece;
		s->got = 0;
		c->cur = s;
		c->cur_begin = 0;
	}
	size = mi_piece_size(&b->mi, c->cur->piece);
	r->piece = c->cur->piece;
	r->begin = c->cur_begin;
	r->length = size - c->cur_begin < BENCH_BLOCK ? size - c->cur_begin : BENCH_BLOCK;
	c->cur_begin += r->length;
	if (c->cur_begin >= size)
		c->cur = NULL;
	return true;
}

void conn_write_request(struct bench *b, struct conn *c, struct bench_req r, bool alone)
{
	uint8_t m[WIRE_BLOCK_LEN];
	uint32_t len = (uint32_t)wire_put_block(m, WIRE_REQUEST, r.piece, r.begin, r.length);
	ssize_t n = 0;

	/* Alone, unless something queued before it must go first (order on the wire). */
	if (alone && !c->send_busy && !c->s_len) {
		conn_seal(c, m, len); /* --mse rc4: ciphered once, whether sent here or queued */
		n = send(c->fd, m, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			b->req_writes++;
			b->reqs_sent++;
		}
		if (n == (ssize_t)len)
			return;
		if (n < 0)
			n = 0; /* EAGAIN, or an error the ring's send will meet and report */
		conn_put_raw(b, c, m + n, len - (uint32_t)n);
	} else {
		/* The buffer holds handshake, interested and `queue` requests: it always fits. */
		conn_put(b, c, m, len);
	}
	if (n == 0)
		c->s_reqs++;
}

/* One more request, if the queue, the budget and the pieces allow; false if not. */
static bool conn_ask(struct bench *b, struct conn *c, bool alone)
{
	uint32_t busy = c->req_live + (b->o.requests == REQ_TRICKLE && c->blk_open);
	struct bench_req r;

	if (c->state != CONN_ACTIVE || c->choked || busy >= c->qmax)
		return false;
	if (b->o.budget && c->requested >= b->o.budget)
		return false;
	if (!conn_next_block(b, c, &r))
		return false;
	req_push(b, c, r);
	c->requested += r.length;
	pace_request(b, c, r, alone);
	return true;
}

/*
 * Keeps `queue` requests outstanding while unchoked and within the budget. A
 * block arriving counts as outstanding until its end: trickle asks for its
 * successor only then.
 */
static void conn_refill(struct bench *b, struct conn *c)
{
	while (conn_ask(b, c, false))
		;
}

/* --- received messages --- */

static bool conn_handshake_done(struct bench *b, struct conn *c)
{
	struct wire_handshake hs;
	uint8_t m[WIRE_SIMPLE_LEN];

	if (wire_handshake_parse(c->hs, &hs) != 0 ||
	    memcmp(hs.info_hash, b->ih, MI_HASH_LEN) != 0) {
		loop_finish(b, c, END_BAD_HANDSHAKE, 0);
		return false;
	}
	if (!phase_churn(b, c))
		return false;
	c->peer_fast = wire_has_fast(&hs);
	c->state = CONN_ACTIVE;
	c->t_handshake = bench_now_ns();
	b->opening--;
	if (++b->active > b->active_peak)
		b->active_peak = b->active;
	b->handshaked++;
	tw_add(&b->wheel, &c->timer, BENCH_KEEPALIVE_MS);
	conn_put(b, c, m, wire_put_simple(m, WIRE_INTERESTED));
	return true;
}

static void conn_choke(struct bench *b, struct conn *c)
{
	c->choked = true;
	c->chokes++;
	if (c->peer_fast)
		return; /* BEP 6: requests stay pending until served or rejected */
	/* BEP 3: a choke drops every request; ask again after the unchoke. */
	for (uint32_t k = 0; k < c->req_len; k++) {
		struct bench_req r = c->reqs[req_at(b, c, k)];

		if (r.length)
			retry_add(c, r);
	}
	c->req_head = 0;
	c->req_len = 0;
	c->req_live = 0;
	c->epoch++; /* what --rtt still holds was dropped too */
}

static void conn_peer_has(struct bench *b, struct conn *c, uint32_t piece)
{
	size_t bm = (b->mi.piece_count + 7) / 8;

	if (c->has_all || piece >= b->mi.piece_count)
		return;
	if (!c->peer_has && !(c->peer_has = calloc(1, bm)))
		return;
	if (!((c->peer_has[piece >> 3] >> (7 - (piece & 7))) & 1) && b->avail)
		b->avail[piece]++;
	c->peer_has[piece >> 3] |= (uint8_t)(0x80u >> (piece & 7));
}

static void conn_msg(struct bench *b, struct conn *c, const struct wire_event *ev)
{
	struct bench_req r = { ev->piece, ev->begin, ev->length };

	switch (ev->id) {
	case WIRE_CHOKE:
		conn_choke(b, c);
		break;
	case WIRE_UNCHOKE:
		c->choked = false;
		c->unchokes++;
		break;
	case WIRE_HAVE:
		conn_peer_has(b, c, ev->piece);
		break;
	case WIRE_HAVE_ALL:
		if (!c->has_all)
			b->seeds++;
		c->has_all = true;
		break;
	case WIRE_REJECT:
		c->rejects++;
		if (req_take(b, c, r.piece, r.begin, r.length))
			retry_add(c, r);
		break;
	default:
		break; /* interested, request, suggest, allowed_fast, port, have_none: nothing to do
			*/
	}
}

/* The first 8 bytes of a piece message are in: which request does it answer? */
static void conn_block_begin(struct bench *b, struct conn *c)
{
	uint32_t piece = get_be32(c->phdr);
	uint32_t begin = get_be32(c->phdr + 4);

	c->blk_slot = NULL;
	if (req_take(b, c, piece, begin, c->blk_len)) {
		c->blk_slot = slot_of(c, piece);
		c->blk_open = true;
	} else if (retry_take(c, piece, begin, c->blk_len)) {
		c->requested += c->blk_len;
		c->blk_slot = slot_of(c, piece);
	} else {
		c->unexpected++;
	}
	c->blk_off = begin; /* where the payload goes in the piece */
}

static void conn_block_data(struct bench *b, struct conn *c, const uint8_t *d, uint32_t n)
{
	if (c->phdr_len < 8) {
		uint32_t take = 8u - c->phdr_len < n ? 8u - c->phdr_len : n;

		memcpy(c->phdr + c->phdr_len, d, take);
		c->phdr_len = (uint8_t)(c->phdr_len + take);
		d += take;
		n -= take;
		if (c->phdr_len == 8)
			conn_block_begin(b, c);
		if (n == 0)
			return;
	}
	if (!c->blk_slot)
		return;
	if (c->blk_slot->buf)
		memcpy(c->blk_slot->buf + c->blk_off, d, n);
	c->blk_off += n;
	c->bytes += n;
	b->rx_payload += n;
	if (!c->t_first)
		c->t_first = bench_now_ns();
}

static void conn_piece_done(struct bench *b, struct conn *c, struct bench_slot *s)
{
	uint32_t size = mi_piece_size(&b->mi, s->piece);

	if (b->o.verify) {
		uint8_t md[SHA_DIGEST_LENGTH];

		SHA1(s->buf, size, md);
		if (memcmp(md, b->mi.pieces + (size_t)s->piece * MI_HASH_LEN, MI_HASH_LEN) == 0) {
			b->verified++;
		} else {
			if (b->mismatches++ < 10)
				log_warnx("connection %u: piece %u fails its SHA-1", c->idx,
					  s->piece);
		}
	}
	c->pieces_done++;
	s->used = false;
	pick_completed(b, c, s->piece);
}

static void conn_block_end(struct bench *b, struct conn *c)
{
	struct bench_slot *s = c->blk_slot;
	bool was_open = c->blk_open;

	c->blk_slot = NULL;
	c->blk_open = false;
	if (c->phdr_len < 8)
		c->unexpected++; /* a piece message too short to say which block */
	b->blocks += was_open;
	if (s) {
		s->got += c->blk_len;
		if (s->got >= mi_piece_size(&b->mi, s->piece))
			conn_piece_done(b, c, s);
	}
	if (was_open && b->o.requests == REQ_TRICKLE)
		conn_ask(b, c, true); /* its successor, now, alone */
}

static void conn_bitfield(struct bench *b, struct conn *c, const struct wire_event *ev)
{
	size_t bm = (b->mi.piece_count + 7) / 8;
	uint32_t have = 0;

	if (ev->type == WIRE_EV_BEGIN) {
		c->bf_off = 0;
		if (!c->peer_has)
			c->peer_has = calloc(1, bm);
		return;
	}
	if (ev->type == WIRE_EV_DATA) {
		if (c->peer_has && c->bf_off < bm)
			memcpy(c->peer_has + c->bf_off, ev->data,
			       ev->data_len < bm - c->bf_off ? ev->data_len : bm - c->bf_off);
		c->bf_off += ev->data_len;
		return;
	}
	/* END: a seed has every bit; anyone else counts towards availability. */
	if (!c->peer_has)
		return;
	for (uint32_t p = 0; p < b->mi.piece_count; p++)
		have += (c->peer_has[p >> 3] >> (7 - (p & 7))) & 1;
	if (have == b->mi.piece_count) {
		free(c->peer_has);
		c->peer_has = NULL;
		c->has_all = true;
		b->seeds++;
	} else if (b->avail) {
		for (uint32_t p = 0; p < b->mi.piece_count; p++)
			b->avail[p] += (c->peer_has[p >> 3] >> (7 - (p & 7))) & 1;
	}
}

/*
 * BEP 10: the peer's extended handshake may say how many requests it keeps
 * ("reqq"); a real client stays below it, and a seeder may drop one that
 * does not (ringseed does, as a flood). Other extended messages are ignored.
 */
static void conn_extended(struct bench *b, struct conn *c, const struct wire_event *ev)
{
	struct bc_val root, reqq;
	struct bc_err err;

	if (ev->type == WIRE_EV_BEGIN) {
		c->ext_off = 0;
		c->ext_len = ev->len;
		/* Only until the handshake came: later ones (ut_pex, say) are not read. */
		if (!c->ext && !c->ext_seen && ev->len > 0 && ev->len <= CONN_MAX_EXT)
			c->ext = malloc(ev->len);
		return;
	}
	if (!c->ext)
		return;
	if (ev->type == WIRE_EV_DATA) {
		memcpy(c->ext + c->ext_off, ev->data, ev->data_len);
		c->ext_off += ev->data_len;
		return;
	}
	c->ext_seen = c->ext[0] == WIRE_EXT_HANDSHAKE_ID;
	if (c->ext_seen &&
	    bc_parse(c->ext + 1, c->ext_len - 1, BC_ALLOW_UNSORTED, &root, &err) == 0 &&
	    bc_dict_get_type(&root, "reqq", BC_INT, &reqq) && reqq.num >= 1 && reqq.num < c->qmax) {
		c->qmax = (uint32_t)reqq.num;
		if (b->reqq_capped++ == 0 || c->qmax < b->reqq_min)
			b->reqq_min = c->qmax;
	}
	free(c->ext);
	c->ext = NULL;
}

/* One decoder event; false when the connection ended. */
static bool conn_event(struct bench *b, struct conn *c, const struct wire_event *ev)
{
	switch (ev->type) {
	case WIRE_EV_MSG:
		conn_msg(b, c, ev);
		break;
	case WIRE_EV_BEGIN:
		if (ev->id == WIRE_PIECE) {
			c->phdr_len = 0;
			c->blk_len = ev->len - 8;
			c->blk_slot = NULL;
			c->blk_open = false;
		} else if (ev->id == WIRE_BITFIELD) {
			conn_bitfield(b, c, ev);
		} else if (ev->id == WIRE_EXTENDED) {
			conn_extended(b, c, ev);
		}
		break;
	case WIRE_EV_DATA:
		if (ev->id == WIRE_PIECE)
			conn_block_data(b, c, ev->data, ev->data_len);
		else if (ev->id == WIRE_BITFIELD)
			conn_bitfield(b, c, ev);
		else if (ev->id == WIRE_EXTENDED)
			conn_extended(b, c, ev);
		break;
	case WIRE_EV_END:
		if (ev->id == WIRE_PIECE)
			conn_block_end(b, c);
		else if (ev->id == WIRE_BITFIELD)
			conn_bitfield(b, c, ev);
		else if (ev->id == WIRE_EXTENDED)
			conn_extended(b, c, ev);
		break;
	case WIRE_EV_ERROR:
		if (b->ends[END_PROTOCOL] < 5)
			log_warnx("connection %u: %s", c->idx, ev->why);
		loop_finish(b, c, END_PROTOCOL, 0);
		return false;
	default:
		break;
	}
	return true;
}

/*
 * Budget mode: everything asked for has come, payload included (a request is
 * taken off the ring when its block's first 8 bytes arrive, not its last).
 */
static bool conn_budget_done(const struct bench *b, const struct conn *c)
{
	return b->o.budget && c->requested >= b->o.budget && c->bytes >= c->requested &&
	       c->nretry == 0;
}

/*
 * --mse: bytes go to the handshake until it is done; what follows is
 * deciphered in place (p is one of the bench's own receive buffers). Returns
 * false when the connection ended.
 */
static bool conn_input_mse(struct bench *b, struct conn *c, const uint8_t **p, size_t *n)
{
	if (c->mse->state != MSE_DONE) {
		size_t used;
		int rc = mse_feed(c->mse, *p, *n, &used);

		conn_put_mse(b, c);
		if (rc < 0) {
			loop_finish(b, c, END_BAD_HANDSHAKE, 0);
			return false;
		}
		*p += used;
		*n -= used;
		if (rc == 1 && b->rc4 && c->mse->st.method == MSE_CRYPTO_RC4) {
			c->rc4_in = mse_evp_rc4(b->rc4, c->mse->st.key_in, c->mse->st.in.used);
			c->rc4_out = mse_evp_rc4(b->rc4, c->mse->st.key_out, c->mse->st.out.used);
			if (!c->rc4_in || !c->rc4_out) {
				loop_finish(b, c, END_BAD_HANDSHAKE, ENOMEM);
				return false;
			}
		}
	}
	if (c->rc4_in && *n)
		EVP_EncryptUpdate(c->rc4_in, (uint8_t *)(uintptr_t)*p, &(int){ 0 }, *p, (int)*n);
	else
		mse_recv(&c->mse->st, (uint8_t *)(uintptr_t)*p, *n);
	return true;
}

bool conn_input(struct bench *b, struct conn *c, const uint8_t *p, size_t n)
{
	const uint8_t *end;
	struct wire_event ev;

	if (c->mse && !conn_input_mse(b, c, &p, &n))
		return false;
	end = p + n;

	if (c->state == CONN_HANDSHAKE) {
		size_t take = WIRE_HANDSHAKE_LEN - c->hs_len;

		if (take > n)
			take = n;
		memcpy(c->hs + c->hs_len, p, take);
		c->hs_len = (uint8_t)(c->hs_len + take);
		p += take;
		if (c->hs_len < WIRE_HANDSHAKE_LEN)
			return true;
		if (!conn_handshake_done(b, c))
			return false;
	}
	if (c->state != CONN_ACTIVE)
		return true;
	while (wire_decode(&c->dec, &p, end, &ev) != WIRE_EV_NONE)
		if (!conn_event(b, c, &ev))
			return false;
	if (conn_budget_done(b, c)) {
		loop_finish(b, c, END_DONE, 0);
		return false;
	}
	conn_refill(b, c);
	return true;
}

uint32_t conn_want(const struct conn *c, bool *payload)
{
	const struct wire_dec *d = &c->dec;

	*payload = false;
	if (c->state == CONN_HANDSHAKE)
		return WIRE_HANDSHAKE_LEN - c->hs_len;
	if (d->state == WIRE_DEC_BODY && d->id == WIRE_PIECE) {
		if (c->phdr_len < 8)
			return 8u - c->phdr_len;
		*payload = true;
		return d->body_left;
	}
	if (d->state == WIRE_DEC_BODY)
		return d->body_left; /* a bitfield, an extended message: read it */
	/*
	 * Between messages: up to where a piece message's header would end. A shorter
	 * message is followed by the next one's header, never by block payload, since
	 * every piece message starts with 13 bytes of header.
	 */
	if (d->hdr_len < WIRE_PIECE_HDR_LEN)
		return WIRE_PIECE_HDR_LEN - d->hdr_len;
	return WIRE_BLOCK_LEN - d->hdr_len; /* the tail of a request, cancel or reject */
}
