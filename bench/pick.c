/*
 * pick.c - the order in which a connection asks for pieces.
 *
 * random:     each connection walks its own permutation of the pieces,
 *             p(i) = (a * i + b) mod n with a random a coprime to n and a
 *             random b: O(1) state per connection, every piece once per round,
 *             and neighbouring connections far apart in the file.
 * sequential: every connection walks 0, 1, 2, ... from the start, the way a
 *             flash crowd that streams a release hits the same pieces at once.
 * rarest:     the piece with the fewest copies in the swarm we simulate: copies
 *             announced by non-seed peers (bitfield, have) plus the pieces our
 *             own connections completed, as if each had told the others with a
 *             HAVE. Ties are broken at random. Against one seed every piece is
 *             equally available from the seed, so this spreads the connections
 *             over the whole torrent instead of crowding the same pieces.
 *             A pick scans at most PICK_SCAN candidates from a random start,
 *             so very large torrents get an approximation, not a full sort.
 *
 * A connection that went through every piece starts a new round (budget or
 * duration beyond the torrent's size). A piece it is still downloading is
 * never picked twice at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

#define PICK_SCAN 1024u /* candidates a rarest pick looks at, at least */

const char *pick_order_name(enum pick_order o)
{
	switch (o) {
	case PICK_RANDOM:
		return "random";
	case PICK_SEQUENTIAL:
		return "sequential";
	case PICK_RAREST:
		return "rarest";
	}
	return "?";
}

int pick_setup(struct bench *b)
{
	if (b->o.order != PICK_RAREST)
		return 0;
	b->avail = calloc(b->mi.piece_count, sizeof(*b->avail));
	return b->avail ? 0 : -ENOMEM;
}

static uint32_t pick_gcd(uint32_t x, uint32_t y)
{
	while (y) {
		uint32_t t = x % y;

		x = y;
		y = t;
	}
	return x;
}

void pick_conn_init(struct bench *b, struct conn *c)
{
	uint32_t n = b->mi.piece_count;

	c->pick_pos = 0;
	c->round = 0;
	c->perm_a = 1;
	c->perm_b = 0;
	if (b->o.order != PICK_RANDOM || n < 2)
		return;
	c->perm_b = (uint32_t)(bench_rand(b) % n);
	/* Coprime multipliers are common (6/pi^2 of all numbers); 64 tries never all miss. */
	for (int i = 0; i < 64; i++) {
		uint32_t a = 1 + (uint32_t)(bench_rand(b) % (n - 1));

		if (pick_gcd(a, n) == 1) {
			c->perm_a = a;
			break;
		}
	}
}

static bool pick_bit(const uint8_t *bm, uint32_t i)
{
	return (bm[i >> 3] >> (7 - (i & 7))) & 1;
}

static bool pick_peer_has(const struct conn *c, uint32_t piece)
{
	if (c->has_all)
		return true;
	return c->peer_has && pick_bit(c->peer_has, piece);
}

static bool pick_busy(const struct conn *c, uint32_t piece)
{
	for (uint32_t i = 0; i < c->nslots; i++)
		if (c->slots[i].used && c->slots[i].piece == piece)
			return true;
	return false;
}

/* random and sequential: the next position of the connection's permutation. */
static bool pick_walk(struct bench *b, struct conn *c, uint32_t *piece)
{
	uint32_t n = b->mi.piece_count;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t p;

		if (c->pick_pos >= n) {
			c->pick_pos = 0;
			c->round++;
		}
		p = (uint32_t)(((uint64_t)c->perm_a * c->pick_pos + c->perm_b) % n);
		c->pick_pos++;
		if (pick_peer_has(c, p) && !pick_busy(c, p)) {
			*piece = p;
			return true;
		}
	}
	return false;
}

/* rarest: one scan from a random start; reservoir sampling among the rarest. */
static bool pick_scan(struct bench *b, struct conn *c, uint32_t *piece)
{
	uint32_t n = b->mi.piece_count, start = (uint32_t)(bench_rand(b) % n);
	uint32_t best = 0, best_v = UINT32_MAX, ties = 0, seen = 0;

	for (uint32_t k = 0; k < n; k++) {
		uint32_t p = start + k < n ? start + k : start + k - n;
		uint32_t v;

		if (pick_bit(c->got, p) || !pick_peer_has(c, p) || pick_busy(c, p))
			continue;
		v = b->avail[p];
		if (v < best_v) {
			best = p;
			best_v = v;
			ties = 1;
		} else if (v == best_v && bench_rand(b) % ++ties == 0) {
			best = p;
		}
		if (++seen >= PICK_SCAN)
			break;
	}
	if (!seen)
		return false;
	*piece = best;
	return true;
}

bool pick_next(struct bench *b, struct conn *c, uint32_t *piece)
{
	if (b->mi.piece_count == 0)
		return false;
	if (b->o.order != PICK_RAREST)
		return pick_walk(b, c, piece);
	if (pick_scan(b, c, piece))
		return true;
	if (c->pick_pos == 0)
		return false; /* nothing completed this round: the peer has nothing we want */
	/* Every piece done this round: start the next one. */
	memset(c->got, 0, (b->mi.piece_count + 7) / 8);
	c->pick_pos = 0;
	c->round++;
	return pick_scan(b, c, piece);
}

void pick_completed(struct bench *b, struct conn *c, uint32_t piece)
{
	if (b->o.order != PICK_RAREST)
		return;
	if (!pick_bit(c->got, piece)) {
		c->got[piece >> 3] |= (uint8_t)(0x80u >> (piece & 7));
		c->pick_pos++;
	}
	b->avail[piece]++;
}
