/*
 * fetch_pick.c - which block to ask a peer for next.
 *
 * As the BitTorrent documents describe it:
 *   1. a piece this peer is already fetching whole (whole pieces per peer:
 *      a bad piece then has one author, and pieces complete sooner);
 *   2. else a new piece it has: at random until FETCH_RANDOM_FIRST pieces
 *      are complete (something to trade soon), then the rarest by the
 *      availability seen in bitfields and haves, ties at random;
 *   3. else a block nobody asked for in a piece another peer is fetching
 *      (a slow owner does not hold a piece hostage);
 *   4. endgame, once every missing block is asked for: a block in flight
 *      elsewhere, up to FETCH_ENDGAME_DUP requests each; the first copy to
 *      arrive wins and the others are cancelled (fetch_peer.c).
 * A piece whose last attempt failed is not given back to the source that
 * sent it (excluded_piece) while another peer has it.
 */
#include <stdlib.h>
#include <string.h>

#include "master/fetch/fetch_int.h"

bool fpick_has(const struct fpeer *p, uint32_t piece)
{
	return p->bits && piece < p->nbits && (p->bits[piece / 8] & (0x80u >> (piece % 8)));
}

int fpick_find(const struct fetch *f, uint32_t piece)
{
	for (uint32_t i = 0; i < f->act_max; i++)
		if (f->act[i].used && f->act[i].index == piece)
			return (int)i;
	return -1;
}

/* The first block of a that nobody asked for; UINT32_MAX if none. */
static uint32_t fpick_free_block(const struct fpiece *a)
{
	for (uint32_t b = 0; b < a->nblocks; b++)
		if (a->blk[b] == FBLK_FREE)
			return b;
	return UINT32_MAX;
}

static bool fpick_excluded(const struct fetch *f, const struct fpeer *p, uint32_t piece)
{
	const struct fsource *s = &f->src[p->src];

	if (s->excluded_piece != piece)
		return false;
	/* Allowed again when no other connected peer has the piece. */
	for (uint32_t i = 0; i < FETCH_SOURCES_MAX; i++) {
		const struct fpeer *q = &f->peers[i];

		if (q != p && q->state == FPEER_ACTIVE && fpick_has(q, piece))
			return true;
	}
	return false;
}

int fpick_activate(struct fetch *f, uint32_t piece, int owner)
{
	uint32_t size = mi_piece_size(f->mi, piece);

	for (uint32_t i = 0; i < f->act_max; i++) {
		struct fpiece *a = &f->act[i];

		if (a->used)
			continue;
		a->buf = malloc(size);
		a->nblocks = (size + FETCH_BLOCK - 1) / FETCH_BLOCK;
		a->blk = calloc(2, a->nblocks);
		if (!a->buf || !a->blk) {
			free(a->buf);
			free(a->blk);
			a->buf = a->blk = NULL;
			return -1;
		}
		a->nreq = a->blk + a->nblocks;
		a->used = true;
		a->index = piece;
		a->size = size;
		a->done = 0;
		a->owner = owner;
		a->n_contrib = 0;
		a->many = false;
		a->writes = 0;
		a->write_err = 0;
		f->ps[piece] = FPS_ACTIVE;
		return (int)i;
	}
	return -1;
}

static bool fpick_room(const struct fetch *f)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < f->act_max; i++)
		n += f->act[i].used;
	return n < f->act_max;
}

/* Step 2: a new piece p has, random or rarest; UINT32_MAX if none. */
static uint32_t fpick_new_piece(struct fetch *f, const struct fpeer *p)
{
	bool random_phase = f->n_have < FETCH_RANDOM_FIRST;
	uint32_t best = UINT32_MAX, best_avail = UINT32_MAX, ties = 0;

	for (uint32_t i = 0; i < f->mi->piece_count; i++) {
		if (f->ps[i] != FPS_WANTED || !fpick_has(p, i) || fpick_excluded(f, p, i))
			continue;
		uint32_t av = random_phase ? 0 : f->avail[i];

		if (av < best_avail) {
			best = i;
			best_avail = av;
			ties = 1;
		} else if (av == best_avail && fetch_rand(f) % ++ties == 0) {
			best = i; /* reservoir: each tie equally likely */
		}
	}
	return best;
}

/* Steps 3 and 4 over the pieces others are fetching. */
static bool fpick_shared(struct fetch *f, const struct fpeer *p, bool endgame, int *act,
			 uint32_t *block)
{
	for (uint32_t i = 0; i < f->act_max; i++) {
		struct fpiece *a = &f->act[i];

		if (!a->used || a->writes || a->done == a->nblocks || !fpick_has(p, a->index) ||
		    fpick_excluded(f, p, a->index))
			continue;
		for (uint32_t b = 0; b < a->nblocks; b++) {
			bool mine = false;

			if (a->blk[b] == FBLK_DONE)
				continue;
			if (a->blk[b] == FBLK_REQ && (!endgame || a->nreq[b] >= FETCH_ENDGAME_DUP))
				continue;
			/* in flight to p, or arriving from it right now */
			mine = p->pm_live && p->pm_req.piece == a->index &&
			       p->pm_req.begin == b * FETCH_BLOCK;
			for (uint32_t r = 0; r < p->n_req && !mine; r++)
				mine = p->req[r].piece == a->index &&
				       p->req[r].begin == b * FETCH_BLOCK;
			if (mine)
				continue;
			*act = (int)i;
			*block = b;
			return true;
		}
	}
	return false;
}

/* Endgame: every piece we lack is active and none has a block nobody asked for. */
static bool fpick_endgame(const struct fetch *f)
{
	for (uint32_t i = 0; i < f->mi->piece_count; i++)
		if (f->ps[i] == FPS_WANTED)
			return false;
	for (uint32_t i = 0; i < f->act_max; i++)
		if (f->act[i].used && fpick_free_block(&f->act[i]) != UINT32_MAX)
			return false;
	return true;
}

bool fpick_next(struct fetch *f, struct fpeer *p, int *act, uint32_t *block)
{
	uint32_t b, piece;

	for (uint32_t i = 0; i < f->act_max; i++) {
		struct fpiece *a = &f->act[i];

		if (a->used && a->owner == p->src && !a->writes &&
		    (b = fpick_free_block(a)) != UINT32_MAX) {
			*act = (int)i;
			*block = b;
			return true;
		}
	}
	if (fpick_room(f) && (piece = fpick_new_piece(f, p)) != UINT32_MAX) {
		int i = fpick_activate(f, piece, p->src);

		if (i >= 0) {
			*act = i;
			*block = 0;
			return true;
		}
	}
	if (fpick_shared(f, p, false, act, block))
		return true;
	return fpick_endgame(f) && fpick_shared(f, p, true, act, block);
}

bool fpick_interesting(const struct fetch *f, const struct fpeer *p)
{
	for (uint32_t i = 0; i < f->mi->piece_count; i++)
		if (f->ps[i] != FPS_HAVE && f->ps[i] != FPS_WRITING && fpick_has(p, i))
			return true;
	return false;
}

/* A request that will not be answered: its block may be asked of someone else. */
void fpick_release(struct fetch *f, const struct freq *r)
{
	int i = fpick_find(f, r->piece);
	struct fpiece *a;
	uint32_t b;

	if (i < 0)
		return;
	a = &f->act[i];
	b = r->begin / FETCH_BLOCK;
	if (b >= a->nblocks || a->blk[b] != FBLK_REQ)
		return;
	if (a->nreq[b] > 0)
		a->nreq[b]--;
	if (a->nreq[b] == 0)
		a->blk[b] = FBLK_FREE;
}
