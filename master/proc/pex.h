/*
 * pex.h - the master's list of peers others may be told about (BEP 11),
 * per torrent, fed by the workers' joins and leaves and fanned out to every
 * worker as adds and drops; worker/pex.c draws the exchange.
 */
#ifndef RINGSEED_MPEX_H
#define RINGSEED_MPEX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "master/proc/workers.h"

struct mpex_entry;

struct mpex {
	struct mpex_entry **by_slot; /* per worker: its entries by the peer's slot */
	uint32_t *n_slots;	     /* per worker: the length of by_slot[i] */
	pid_t *pid;		     /* per worker: the process its entries came from */
	unsigned n_workers;
	uint64_t next_id;
	uint64_t listed; /* entries now */
	uint64_t bad;	 /* messages from workers that made no sense */
};

int mpex_init(struct mpex *x, unsigned n_workers);
void mpex_free(struct mpex *x);
/* Worker i's channel is readable: its joins and leaves. */
void mpex_read(struct mpex *x, struct workers *ws, unsigned i);
/* After a worker died or started: its entries go, a new one hears the whole list. */
void mpex_check(struct mpex *x, struct workers *ws);
/* "pex_sent=... pex_peers=..." for the stats line, from the workers' counters w. */
void mpex_stats(const struct mpex *x, const uint64_t *w, char *buf, size_t len);

#endif
