/*
 * swarm.c - the shared swarm areas of super-seeding (swarm.h).
 *
 * An area is small and bounded: 16 bytes, then per worker 16 bytes and 8
 * bytes per piece (a 4 GiB torrent of 1 MiB pieces: 32 KiB per worker).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/announce/announce.h"
#include "master/proc/swarm.h"

#define SWARM_TICK_MS 1000

static struct swarm_map *swarm_find(struct swarm_tab *tab, uint32_t id)
{
	for (uint32_t i = 0; i < tab->n; i++)
		if (tab->m[i].id == id)
			return &tab->m[i];
	return NULL;
}

static int swarm_make(struct swarm_map *m, const struct torrent *t, unsigned workers)
{
	size_t len = worker_swarm_size(t->mi.piece_count, workers);
	int fd = memfd_create("ringseed-swarm", MFD_CLOEXEC);
	void *p;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) != 0 ||
	    (p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	*m = (struct swarm_map){ .id = t->id, .fd = fd, .area = p, .len = len };
	m->area->pieces = t->mi.piece_count;
	m->area->workers = workers;
	return 0;
}

int swarm_fd(struct swarm_tab *tab, const struct torrent *t, unsigned workers)
{
	struct swarm_map *m = swarm_find(tab, t->id);
	int rc;

	if (m)
		return m->fd;
	if (tab->n == tab->cap) {
		uint32_t cap = tab->cap ? tab->cap * 2 : 16;
		struct swarm_map *nm = realloc(tab->m, cap * sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		tab->m = nm;
		tab->cap = cap;
	}
	rc = swarm_make(&tab->m[tab->n], t, workers);
	if (rc) {
		log_warnx("torrent %s: no shared swarm area (%s): super-seeding sees this worker "
			  "only",
			  t->mi.name, strerror(-rc));
		return rc;
	}
	return tab->m[tab->n++].fd;
}

static void swarm_unmap(struct swarm_map *m)
{
	munmap(m->area, m->len);
	close(m->fd);
}

void swarm_drop(struct swarm_tab *tab, uint32_t id)
{
	struct swarm_map *m = swarm_find(tab, id);

	if (!m)
		return;
	swarm_unmap(m);
	*m = tab->m[--tab->n];
}

void swarm_tick(struct swarm_tab *tab, const struct announcer *a, uint64_t now_ms)
{
	if (!a || now_ms < tab->next_tick_ms)
		return;
	tab->next_tick_ms = now_ms + SWARM_TICK_MS;
	for (uint32_t i = 0; i < tab->n; i++) {
		int64_t s = ann_seeders(a, tab->m[i].id);

		__atomic_store_n(&tab->m[i].area->tracker_seeds,
				 s < 0		  ? 0u
				 : s > UINT32_MAX ? UINT32_MAX
						  : (uint32_t)s,
				 __ATOMIC_RELAXED);
	}
}

void swarm_forget_worker(struct swarm_tab *tab, unsigned i)
{
	for (uint32_t k = 0; k < tab->n; k++)
		if (i < tab->m[k].area->workers)
			memset(worker_swarm_row(tab->m[k].area, i), 0,
			       worker_swarm_row_size(tab->m[k].area->pieces));
}

void swarm_free(struct swarm_tab *tab)
{
	for (uint32_t i = 0; i < tab->n; i++)
		swarm_unmap(&tab->m[i]);
	free(tab->m);
	*tab = (struct swarm_tab){ 0 };
}

void swarm_stats(const uint64_t *w, char *buf, size_t len)
{
	snprintf(buf, len,
		 "superseed_reveals=%llu superseed_timeouts=%llu superseed_refused=%llu "
		 "superseed_plain=%llu superseed_liars=%llu superseed_off=%llu",
		 (unsigned long long)w[WSTAT_SS_REVEALS], (unsigned long long)w[WSTAT_SS_TIMEOUTS],
		 (unsigned long long)w[WSTAT_SS_REFUSED], (unsigned long long)w[WSTAT_SS_PLAIN],
		 (unsigned long long)w[WSTAT_SS_LIARS], (unsigned long long)w[WSTAT_SS_OFF]);
}
