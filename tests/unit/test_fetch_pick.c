/*
 * test_fetch_pick.c - the fetcher's piece picker (master/fetch/fetch_pick.c)
 * on a struct fetch built by hand: 16 pieces of 32 KiB (2 blocks each).
 *
 *   - random first: with nothing complete, the first piece is not always the
 *     rarest one;
 *   - rarest first: with FETCH_RANDOM_FIRST pieces complete, the rarest piece
 *     the peer has is picked;
 *   - whole pieces: a peer's next block is in the piece it started;
 *   - a peer is never asked for a piece it does not have;
 *   - a piece that failed with a source is not given back to it while
 *     another peer has it;
 *   - endgame: once every missing block is asked for, a second peer gets a
 *     duplicate of a block in flight, never more than FETCH_ENDGAME_DUP, and
 *     never one it asked for itself;
 *   - fpick_release gives a block back to the pool.
 */
#include <stdlib.h>
#include <string.h>

#include "master/fetch/fetch_int.h"
#include "tests/unit/test.h"

#define NP 16
#define PL 32768u

static struct metainfo mi;

static struct fetch *mk(void)
{
	struct fetch *f = calloc(1, sizeof(*f));

	mi.piece_count = NP;
	mi.piece_length = PL;
	mi.total_length = (uint64_t)NP * PL;
	f->mi = &mi;
	f->ps = calloc(NP, 1);
	f->avail = calloc(NP, sizeof(*f->avail));
	f->act_max = 8;
	f->rng = 0x1234567;
	for (int i = 0; i < 3; i++) {
		f->src[i].excluded_piece = UINT32_MAX;
		f->peers[i].src = i;
		f->peers[i].state = FPEER_ACTIVE;
		f->peers[i].bits = calloc(1, NP / 8);
		f->peers[i].nbits = NP;
	}
	f->n_src = 3;
	return f;
}

static void give(struct fetch *f, int peer, uint32_t piece)
{
	f->peers[peer].bits[piece / 8] |= (uint8_t)(0x80u >> (piece % 8));
	f->avail[piece]++;
}

static void done(struct fetch *f)
{
	for (uint32_t i = 0; i < FETCH_ACTIVE_MAX; i++) {
		free(f->act[i].buf);
		free(f->act[i].blk);
	}
	for (int i = 0; i < 3; i++)
		free(f->peers[i].bits);
	free(f->ps);
	free(f->avail);
	free(f);
}

/* Takes what fpick_next gives, as fpeer_fill does. */
static bool take(struct fetch *f, int peer, uint32_t *piece, uint32_t *block)
{
	struct fpeer *p = &f->peers[peer];
	int act;

	if (!fpick_next(f, p, &act, block))
		return false;
	*piece = f->act[act].index;
	f->act[act].blk[*block] = FBLK_REQ;
	f->act[act].nreq[*block]++;
	p->req[p->n_req++] = (struct freq){ *piece, *block * FETCH_BLOCK, FETCH_BLOCK };
	return true;
}

static void test_random_then_rarest(void)
{
	bool saw_other = false;
	uint32_t piece, block;

	for (int round = 0; round < 40 && !saw_other; round++) {
		struct fetch *f = mk();

		f->rng += (uint64_t)round * 7919;
		for (uint32_t i = 0; i < NP; i++) {
			give(f, 0, i);
			give(f, 1, i);
		}
		f->avail[5] = 1; /* the rarest, by far */
		REQUIRE(take(f, 0, &piece, &block));
		saw_other = piece != 5;
		done(f);
	}
	CHECK(saw_other);

	struct fetch *f = mk();
	for (uint32_t i = 0; i < NP; i++) {
		give(f, 0, i);
		give(f, 1, i);
	}
	for (uint32_t i = 0; i < FETCH_RANDOM_FIRST; i++)
		f->ps[i] = FPS_HAVE;
	f->n_have = FETCH_RANDOM_FIRST;
	f->avail[9] = 1;
	REQUIRE(take(f, 0, &piece, &block));
	CHECK_EQ_INT(piece, 9);
	CHECK_EQ_INT(block, 0);
	/* whole pieces: its next block is the rest of piece 9 */
	REQUIRE(take(f, 0, &piece, &block));
	CHECK_EQ_INT(piece, 9);
	CHECK_EQ_INT(block, 1);
	done(f);
}

static void test_only_what_it_has(void)
{
	struct fetch *f = mk();
	uint32_t piece, block;

	give(f, 0, 3);
	REQUIRE(take(f, 0, &piece, &block));
	CHECK_EQ_INT(piece, 3);
	REQUIRE(take(f, 0, &piece, &block));
	CHECK_EQ_INT(piece, 3);
	CHECK(!take(f, 0, &piece, &block)); /* everything of piece 3 is asked for */
	CHECK(!take(f, 1, &piece, &block)); /* peer 1 has nothing */
	CHECK(fpick_interesting(f, &f->peers[0]));
	CHECK(!fpick_interesting(f, &f->peers[1]));
	done(f);
}

static void test_excluded(void)
{
	struct fetch *f = mk();
	uint32_t piece, block;

	give(f, 0, 7);
	give(f, 1, 7);
	f->src[0].excluded_piece = 7;
	CHECK(!take(f, 0, &piece, &block)); /* peer 1 has it: not back to the source that failed */
	REQUIRE(take(f, 1, &piece, &block));
	CHECK_EQ_INT(piece, 7);
	done(f);

	f = mk();
	give(f, 0, 7);
	f->src[0].excluded_piece = 7;
	REQUIRE(take(f, 0, &piece, &block)); /* nobody else has it */
	CHECK_EQ_INT(piece, 7);
	done(f);
}

static void test_endgame(void)
{
	struct fetch *f = mk();
	uint32_t piece, block, n = 0;

	for (uint32_t i = 0; i < NP; i++) {
		give(f, 0, i);
		give(f, 1, i);
		give(f, 2, i);
		f->ps[i] = i < NP - 2 ? FPS_HAVE : FPS_WANTED;
	}
	f->n_have = NP - 2;
	/* peer 0 asks for all 4 blocks of the last 2 pieces */
	while (take(f, 0, &piece, &block))
		n++;
	CHECK_EQ_INT(n, 4);
	/* endgame: peer 1 gets duplicates of all 4, peer 2 none (2 requests each already) */
	n = 0;
	while (take(f, 1, &piece, &block)) {
		CHECK(piece >= NP - 2);
		n++;
	}
	CHECK_EQ_INT(n, 4);
	CHECK(!take(f, 2, &piece, &block));
	/* a request given back frees its block for peer 2 */
	int act = fpick_find(f, NP - 1);
	REQUIRE(act >= 0);
	struct freq r = { NP - 1, 0, FETCH_BLOCK };
	fpick_release(f, &r);
	CHECK_EQ_INT(f->act[act].nreq[0], 1);
	REQUIRE(take(f, 2, &piece, &block));
	CHECK_EQ_INT(piece, NP - 1);
	CHECK_EQ_INT(block, 0);
	fpick_release(f, &r);
	fpick_release(f, &r);
	CHECK_EQ_INT(f->act[act].blk[0], FBLK_FREE);
	done(f);
}

int main(void)
{
	test_random_then_rarest();
	test_only_what_it_has();
	test_excluded();
	test_endgame();
	return test_done("test_fetch_pick");
}
