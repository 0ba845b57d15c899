/*
 * drr.h - deficit round robin by bytes: how much of its queue a peer may
 * send when its turn comes.
 *
 * Each visit (a batch started for the peer) adds one quantum to the peer's
 * deficit; the batch takes queued blocks while the next one fits in the
 * deficit, and what it takes is charged. A peer whose queue empties loses
 * what is left (an idle peer saves nothing up), so over any stretch in which
 * every peer wants data each gets the same bytes per round however deep its
 * queue, and a peer with one request is served in its first round. Pure: no
 * worker state, so tests/unit/test_drr.c drives it alone.
 */
#ifndef RINGSEED_WORKER_DRR_H
#define RINGSEED_WORKER_DRR_H

#include <stdint.h>

/*
 * A peer's share: 16 piece messages of 16 KiB (and their 13-byte headers) a
 * round, half a full splice batch: a peer 32 requests deep (burst) takes two
 * rounds, a trickling one is served whole in one.
 */
#define DRR_QUANTUM (16u * (16384u + 13u))

/* The quantum for blocks up to max_block bytes: at least one of them always fits. */
static inline uint32_t drr_quantum(uint32_t max_block)
{
	return max_block + 13u > DRR_QUANTUM ? max_block + 13u : DRR_QUANTUM;
}

/* A visit starts: one more quantum of bytes. */
static inline void drr_visit(int64_t *deficit, uint32_t quantum)
{
	*deficit += quantum;
}

/* Whether a message of len bytes joins a batch that holds so_far bytes this visit. */
static inline int drr_fits(int64_t deficit, uint32_t so_far, uint32_t len)
{
	return (int64_t)so_far + len <= deficit;
}

/*
 * The visit sent `bytes`; `queued` requests are left. A peer with none left
 * keeps no credit, and none keeps more than a quantum (a batch cut short by
 * its own limits must not save up a burst).
 */
static inline void drr_charge(int64_t *deficit, uint32_t quantum, uint32_t bytes, uint32_t queued)
{
	*deficit -= bytes;
	if (!queued || *deficit < 0)
		*deficit = 0;
	else if (*deficit > quantum)
		*deficit = quantum;
}

#endif
