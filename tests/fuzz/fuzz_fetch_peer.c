/*
 * fuzz_fetch_peer.c - libFuzzer target for what the fetcher does with a
 * peer's bytes (master/fetch/fetch_peer.c, the picker it calls, and the
 * uploading side: fetch_up.c's interest, requests and cancels, and
 * fetch_choke.c, which unchokes an interested peer while slots are free).
 *
 * Input: two bytes that shape the torrent (1 to 64 pieces of 32 KiB, the
 * last one shorter by up to 25,500 bytes), one flag byte (bit 0: the peer's
 * handshake has the Fast bit; bit 1: the input itself starts with the
 * handshake, which is then usually refused), then what the peer sends after
 * a valid handshake, fed in chunks of 1, 13, 200 and 4096 bytes in turn.
 * Whatever comes, nothing may crash or leak, and after every chunk: requests
 * in flight stay within FETCH_REQ_MAX, each assembled piece counts no more
 * blocks done than it has, one peer makes a piece's availability 1 at most,
 * and a live connection knows the peer's bitfield; its requests to us stay
 * queued within FETCH_REQ_MAX (no submission queue here: each is refused
 * when its turn comes, which runs the refusal path). A complete piece is taken
 * as verified (fetch_piece_complete below), so the endgame is reached too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iocore/log.h"
#include "master/fetch/fetch_int.h"
#include "tests/fuzz/fuzz.h"

#define PL 32768u

/* --- what fetch.c gives fetch_peer.c, reduced to bookkeeping --- */

void fetch_send(struct fetch *f, struct fpeer *p)
{
	(void)f;
	p->out_len = 0; /* the bytes we would send are not the peer's input */
}

const char *fetch_src_name(const struct fetch *f, int src, char *buf, size_t cap)
{
	(void)f;
	snprintf(buf, cap, "fuzz-%d", src);
	return buf;
}

void fetch_recv(struct fetch *f, struct fpeer *p)
{
	(void)f;
	(void)p;
}

void fetch_peer_reset(struct fpeer *p)
{
	p->gen++;
}

/* PEX contacts (fetch_pex.c) and inbound peers would become sources: the table is full here. */
int fetch_add_source(struct fetch *f, const struct conf_addr *a)
{
	(void)f;
	(void)a;
	return -ENOSPC;
}

int fetch_add_peer(struct fetch *f, bool v6, const uint8_t *addr, uint16_t port)
{
	(void)f;
	(void)v6;
	(void)addr;
	(void)port;
	return -ENOSPC;
}

struct io_uring_sqe *ring_get_sqe(struct io_uring *ring, uint64_t *sq_full)
{
	(void)ring;
	(void)sq_full;
	return NULL;
}

uint64_t fetch_rand(struct fetch *f)
{
	f->rng = f->rng * 6364136223846793005ull + 1442695040888963407ull;
	return f->rng >> 17;
}

void fetch_piece_complete(struct fetch *f, int act)
{
	struct fpiece *a = &f->act[act];

	ASSERT(a->done == a->nblocks);
	f->ps[a->index] = FPS_HAVE;
	f->n_have++;
	free(a->buf);
	free(a->blk);
	a->buf = a->blk = a->nreq = NULL;
	a->used = false;
}

static void check(const struct fetch *f, const struct fpeer *p)
{
	ASSERT(p->n_req <= FETCH_REQ_MAX);
	ASSERT(p->up.n_q <= FETCH_REQ_MAX);
	ASSERT(p->state != FPEER_ACTIVE || p->bits);
	for (uint32_t i = 0; i < f->act_max; i++)
		ASSERT(!f->act[i].used || f->act[i].done <= f->act[i].nblocks);
	for (uint32_t i = 0; i < f->mi->piece_count; i++)
		ASSERT(f->avail[i] <= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunks[] = { 1, 13, 200, 4096 };
	struct metainfo mi = { 0 };
	struct fetch_result res = { 0 };
	struct fetch *f;
	struct fpeer *p;
	struct wire_handshake hs = { 0 };
	uint8_t hsb[WIRE_HANDSHAKE_LEN];
	size_t off = 3;

	if (size < 3)
		return 0;
	log_max_level = LOG_LVL_ALERT;
	mi.piece_count = 1 + data[0] % 64;
	mi.piece_length = PL;
	mi.total_length = (uint64_t)mi.piece_count * PL - (uint64_t)data[1] * 100;
	memset(mi.info_hash, 0xab, sizeof(mi.info_hash));
	f = calloc(1, sizeof(*f));
	ASSERT(f);
	f->mi = &mi;
	f->res = &res;
	f->rng = 1;
	f->act_max = 8;
	f->request_timeout_ms = 1000;
	f->st.bf_len = (mi.piece_count + 7) / 8;
	f->st.have = calloc(1, f->st.bf_len);
	f->ps = calloc(mi.piece_count, 1);
	f->avail = calloc(mi.piece_count, sizeof(*f->avail));
	ASSERT(f->st.have && f->ps && f->avail);
	f->n_src = 1;
	f->src[0].excluded_piece = UINT32_MAX;
	p = &f->peers[0];
	p->fd = -1;
	p->up.choking = true;
	f->channel_fd = f->listen_fd = -1;
	f->optimistic = -1;
	p->state = FPEER_HANDSHAKE;
	if (!(data[2] & 2)) {
		if (data[2] & 1)
			hs.reserved[WIRE_RSV_FAST_BYTE] |= WIRE_RSV_FAST_MASK;
		memcpy(hs.info_hash, mi.info_hash, sizeof(hs.info_hash));
		wire_handshake_build(hsb, &hs);
		fpeer_input(f, p, hsb, sizeof(hsb));
		check(f, p);
	}
	for (unsigned k = 0; off < size && p->state != FPEER_CLOSING; k++) {
		size_t n = chunks[k % 4] < size - off ? chunks[k % 4] : size - off;

		fpeer_input(f, p, data + off, n);
		off += n;
		check(f, p);
		f->now_ms += 10;
		if (k % 16 == 15)
			fpeer_tick(f, p);
	}
	if (p->state == FPEER_ACTIVE)
		fpeer_drop(f, p, FC_MAX, "end of input");
	for (uint32_t i = 0; i < mi.piece_count; i++)
		ASSERT(f->avail[i] == 0); /* a dropped peer takes its availability with it */
	for (uint32_t i = 0; i < FETCH_ACTIVE_MAX; i++) {
		free(f->act[i].buf);
		free(f->act[i].blk);
	}
	free(p->out);
	free(p->out_old);
	free(p->up.buf);
	free(p->bits);
	free(p->msg);
	free(f->st.have);
	free(f->ps);
	free(f->avail);
	free(f);
	return 0;
}
