/*
 * test_fetch_choke.c - uploading while fetching (master/fetch/fetch_choke.c
 * and the request side of fetch_up.c) on a struct fetch built by hand.
 *
 *   - a round unchokes the 4 interested peers with the best rate to us and
 *     one other interested peer (optimistic); the rest, and a fast peer that
 *     is not interested, stay choked;
 *   - between rounds a newly interested peer is unchoked while fewer than 5
 *     are, and waits once 5 are;
 *   - the optimistic unchoke stays for optimistic_interval, then moves: over
 *     rotations more than one peer gets it;
 *   - requests: refused (reject_request, counted) while choked, for a piece
 *     we lack, past the piece's end or longer than WIRE_MAX_BLOCK; queued
 *     otherwise; a cancel takes one off the queue, a choke empties it with a
 *     reject for each (BEP 6).
 */
#include <stdlib.h>
#include <string.h>

#include "master/fetch/fetch_int.h"
#include "tests/unit/test.h"

#define NP 8
#define PL 32768u
#define NPEERS 8

static struct metainfo mi;
static struct conf conf = { .rechoke_interval = 10, .optimistic_interval = 30 };
static struct fetch_opts opts = { .conf = &conf };
static struct fetch_result res;

static struct fetch *mk(void)
{
	struct fetch *f = calloc(1, sizeof(*f));

	if (!f || io_uring_queue_init(64, &f->ring, 0) != 0) {
		printf("test_fetch_choke: skip: no io_uring here\n");
		exit(77);
	}
	mi.piece_count = NP;
	mi.piece_length = PL;
	mi.total_length = (uint64_t)NP * PL - 100;
	f->mi = &mi;
	f->o = &opts;
	f->res = &res;
	f->ps = calloc(NP, 1);
	f->rng = 0x9e3779b97f4a7c15ull;
	f->optimistic = -1;
	f->now_ms = 1000000;
	for (int i = 0; i < NPEERS; i++) {
		struct fpeer *p = &f->peers[i];

		p->src = i;
		p->fd = -1;
		p->state = FPEER_ACTIVE;
		p->fast = true;
		p->up.choking = true;
		p->send_busy = true; /* nothing is sent: the messages stay in out */
	}
	f->n_src = NPEERS;
	return f;
}

static void done(struct fetch *f)
{
	for (int i = 0; i < NPEERS; i++) {
		free(f->peers[i].out);
		free(f->peers[i].out_old);
	}
	io_uring_queue_exit(&f->ring);
	free(f->ps);
	free(f);
}

static unsigned unchoked(const struct fetch *f)
{
	unsigned n = 0;

	for (int i = 0; i < NPEERS; i++)
		n += !f->peers[i].up.choking;
	return n;
}

static void interested(struct fetch *f, int i)
{
	struct wire_event ev = { .type = WIRE_EV_MSG, .id = WIRE_INTERESTED };

	fup_msg(f, &f->peers[i], &ev);
}

static void test_round(void)
{
	struct fetch *f = mk();

	/* peers 0..6 interested with rates 10..70; peer 7 the fastest, not interested */
	for (int i = 0; i < NPEERS; i++) {
		f->peers[i].rate = (uint64_t)(i + 1) * 10000;
		f->peers[i].up.interested = i < 7;
	}
	fchoke_tick(f);
	for (int i = 3; i < 7; i++)
		CHECK(!f->peers[i].up.choking);
	CHECK(f->peers[7].up.choking);
	CHECK_EQ_INT(unchoked(f), 5);
	CHECK(f->optimistic >= 0 && f->optimistic < 3);
	CHECK(!f->peers[f->optimistic].up.choking);
	/* peer 0 now sends the fastest: the next round has it in the top 4 */
	f->peers[0].rate = 1000000;
	f->now_ms += 10000;
	fchoke_tick(f);
	CHECK(!f->peers[0].up.choking);
	CHECK_EQ_INT(unchoked(f), 5);
	done(f);
}

static void test_free_slots(void)
{
	struct fetch *f = mk();

	f->choke_ms = f->now_ms; /* no round due */
	for (int i = 0; i < 6; i++)
		interested(f, i);
	for (int i = 0; i < 5; i++)
		CHECK(!f->peers[i].up.choking);
	CHECK(f->peers[5].up.choking);
	done(f);
}

static void test_optimistic_rotates(void)
{
	struct fetch *f = mk();
	bool seen[NPEERS] = { false };
	int kinds = 0, first;

	for (int i = 0; i < NPEERS; i++) {
		f->peers[i].rate = i < 4 ? 1000000 : 0; /* 0..3: the top 4 */
		f->peers[i].up.interested = true;
	}
	fchoke_tick(f);
	first = f->optimistic;
	CHECK(first >= 4);
	f->now_ms += 10000;
	fchoke_tick(f);
	CHECK_EQ_INT(f->optimistic, first); /* kept until optimistic_interval */
	for (int r = 0; r < 20; r++) {
		f->now_ms += 30000;
		fchoke_tick(f);
		CHECK(f->optimistic >= 4);
		if (f->optimistic >= 0 && !seen[f->optimistic]) {
			seen[f->optimistic] = true;
			kinds++;
		}
	}
	CHECK(kinds >= 2);
	done(f);
}

static void request(struct fetch *f, int peer, enum wire_id id, uint32_t piece, uint32_t begin,
		    uint32_t length)
{
	struct wire_event ev = { .type = WIRE_EV_MSG, .id = (uint8_t)id, .piece = piece,
				 .begin = begin, .length = length };

	fup_msg(f, &f->peers[peer], &ev);
}

static unsigned rejects(const struct fpeer *p)
{
	unsigned n = 0;

	for (size_t i = 0; i + WIRE_BLOCK_LEN <= p->out_len;) {
		uint32_t len = (uint32_t)p->out[i] << 24 | (uint32_t)p->out[i + 1] << 16 |
			       (uint32_t)p->out[i + 2] << 8 | p->out[i + 3];

		n += len == 13 && p->out[i + 4] == WIRE_REJECT;
		i += 4 + len;
	}
	return n;
}

static void test_requests(void)
{
	struct fetch *f = mk();
	struct fpeer *p = &f->peers[0];

	f->ps[1] = FPS_HAVE;
	f->ps[NP - 1] = FPS_HAVE;
	request(f, 0, WIRE_REQUEST, 1, 0, FETCH_BLOCK); /* choked */
	CHECK_EQ_INT(res.c[FC_UP_REFUSED], 1);
	CHECK_EQ_INT(rejects(p), 1);
	f->choke_ms = f->now_ms;
	interested(f, 0);
	REQUIRE(!p->up.choking);
	p->up.busy = true; /* a read in flight: requests wait in the queue */
	request(f, 0, WIRE_REQUEST, 2, 0, FETCH_BLOCK);			  /* not here */
	request(f, 0, WIRE_REQUEST, NP - 1, PL - 100 - 16, 32);		  /* past the end */
	request(f, 0, WIRE_REQUEST, 1, 0, WIRE_MAX_BLOCK + 1);		  /* too long */
	request(f, 0, WIRE_REQUEST, NP, 0, FETCH_BLOCK);		  /* out of range */
	CHECK_EQ_INT(res.c[FC_UP_REFUSED], 5);
	CHECK_EQ_INT(p->up.n_q, 0);
	request(f, 0, WIRE_REQUEST, 1, 0, FETCH_BLOCK);
	request(f, 0, WIRE_REQUEST, 1, FETCH_BLOCK, FETCH_BLOCK);
	request(f, 0, WIRE_REQUEST, NP - 1, PL - 100 - 16, 16); /* the last bytes */
	CHECK_EQ_INT(p->up.n_q, 3);
	request(f, 0, WIRE_CANCEL, 1, 0, FETCH_BLOCK);
	CHECK_EQ_INT(p->up.n_q, 2);
	CHECK_EQ_INT(p->up.q[0].begin, FETCH_BLOCK); /* the order kept */
	CHECK_EQ_INT(rejects(p), 6);
	fup_set_choke(f, p, true);
	CHECK_EQ_INT(p->up.n_q, 0);
	CHECK_EQ_INT(rejects(p), 8);
	done(f);
}

int main(void)
{
	test_round();
	test_free_slots();
	test_optimistic_rotates();
	test_requests();
	return test_done("test_fetch_choke");
}
