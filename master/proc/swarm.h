/*
 * swarm.h - the shared swarm areas of super-seeding (BEP 16), one per torrent.
 *
 * The master makes a torrent's area at its first ADD_TORRENT (a memfd sized
 * for every worker's row, worker.h struct worker_swarm) and keeps it until
 * the torrent is removed, so a restarted worker gets the same area and the
 * other workers' rows stay. Once a second, swarm_tick copies what the
 * trackers say of the torrent's seeders into the area's header.
 */
#ifndef RINGSEED_SWARM_H
#define RINGSEED_SWARM_H

#include <stddef.h>
#include <stdint.h>

#include "master/content/registry.h"
#include "worker/worker.h"

struct announcer;

struct swarm_map {
	uint32_t id;
	int fd;
	struct worker_swarm *area;
	size_t len;
};

struct swarm_tab {
	struct swarm_map *m;
	uint32_t n, cap;
	uint64_t next_tick_ms;
};

/* The area's descriptor (the table keeps it; dup it to send), made on first need; -errno. */
int swarm_fd(struct swarm_tab *tab, const struct torrent *t, unsigned workers);
void swarm_drop(struct swarm_tab *tab, uint32_t id);
void swarm_tick(struct swarm_tab *tab, const struct announcer *a, uint64_t now_ms);
/* Worker i died: its peers are gone, and so are their counts (its successor starts afresh). */
void swarm_forget_worker(struct swarm_tab *tab, unsigned i);
void swarm_free(struct swarm_tab *tab);
/* " superseed_reveals=N ..." for the stats line, from the workers' summed counters. */
void swarm_stats(const uint64_t *w, char *buf, size_t len);

#endif
