/*
 * fetch_choke.c - whom a fetcher uploads to: the seeds' tit-for-tat.
 *
 * Every serve.rechoke_interval (10 s, BEP 3) the interested peers are
 * ranked by their upload rate to us (fpeer.rate, the bytes they sent over
 * the last seconds) and the top FCHOKE_SLOTS are unchoked; one more, chosen
 * at random among the others, is unchoked optimistically and kept for
 * serve.optimistic_interval (30 s), the seeder's keys, so
 * that a newcomer with nothing to give gets its first pieces and a better
 * partner can be found. Everyone else is choked. Between rounds a peer
 * that becomes interested is unchoked at once while fewer than
 * FCHOKE_SLOTS + 1 are: in a fleet that starts together nobody waits ten
 * seconds for a slot that is free. Once the torrent is complete the
 * workers take it over with the seeding choker.
 */
#include <stdlib.h>

#include "master/fetch/fetch_int.h"

#define FCHOKE_SLOTS 4 /* unchoked for their rate (the seeds' choking, BEP 3) */

static bool fchoke_candidate(const struct fpeer *p)
{
	return p->state == FPEER_ACTIVE && p->up.interested;
}

static unsigned fchoke_unchoked(const struct fetch *f)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < FETCH_SOURCES_MAX; i++)
		n += fchoke_candidate(&f->peers[i]) && !f->peers[i].up.choking;
	return n;
}

void fchoke_interested(struct fetch *f, struct fpeer *p)
{
	if (p->up.choking && fchoke_unchoked(f) < FCHOKE_SLOTS + 1)
		fup_set_choke(f, p, false);
}

/* The top FCHOKE_SLOTS candidates by rate into top[]; ties go by a random key. */
static unsigned fchoke_rank(struct fetch *f, int top[FCHOKE_SLOTS])
{
	uint64_t key[FCHOKE_SLOTS];
	unsigned n = 0;

	for (uint32_t i = 0; i < FETCH_SOURCES_MAX; i++) {
		const struct fpeer *p = &f->peers[i];
		uint64_t k;
		unsigned j;

		if (!fchoke_candidate(p))
			continue;
		/* the rate in the high bits; the low 16 random, to break ties */
		k = (p->rate < (1ull << 47) ? p->rate : (1ull << 47) - 1) << 16 |
		    (fetch_rand(f) & 0xffff);
		for (j = n; j > 0 && key[j - 1] < k; j--)
			if (j < FCHOKE_SLOTS) {
				key[j] = key[j - 1];
				top[j] = top[j - 1];
			}
		if (j < FCHOKE_SLOTS) {
			key[j] = k;
			top[j] = (int)i;
			if (n < FCHOKE_SLOTS)
				n++;
		}
	}
	return n;
}

static bool fchoke_in(const int *top, unsigned n, int slot)
{
	for (unsigned i = 0; i < n; i++)
		if (top[i] == slot)
			return true;
	return false;
}

/* A random candidate outside top[]; -1 if none. */
static int fchoke_pick_optimistic(struct fetch *f, const int *top, unsigned n)
{
	int pick = -1;
	unsigned seen = 0;

	for (uint32_t i = 0; i < FETCH_SOURCES_MAX; i++)
		if (fchoke_candidate(&f->peers[i]) && !fchoke_in(top, n, (int)i) &&
		    fetch_rand(f) % ++seen == 0) /* reservoir sampling: each equally likely */
			pick = (int)i;
	return pick;
}

static void fchoke_round(struct fetch *f)
{
	int top[FCHOKE_SLOTS];
	unsigned n = fchoke_rank(f, top);
	int o = f->optimistic;

	if (o < 0 || !fchoke_candidate(&f->peers[o]) || fchoke_in(top, n, o) ||
	    f->now_ms - f->optimistic_ms >= (uint64_t)f->o->conf->optimistic_interval * 1000) {
		o = f->optimistic = fchoke_pick_optimistic(f, top, n);
		f->optimistic_ms = f->now_ms;
	}
	for (uint32_t i = 0; i < FETCH_SOURCES_MAX; i++) {
		struct fpeer *p = &f->peers[i];

		if (p->state == FPEER_ACTIVE)
			fup_set_choke(f, p, !(fchoke_candidate(p) &&
					      (fchoke_in(top, n, (int)i) || (int)i == o)));
	}
}

void fchoke_tick(struct fetch *f)
{
	if (f->now_ms - f->choke_ms < (uint64_t)f->o->conf->rechoke_interval * 1000)
		return;
	f->choke_ms = f->now_ms;
	fchoke_round(f);
}
