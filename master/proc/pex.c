/*
 * pex.c - the master's half of peer exchange (BEP 11): workers report the
 * peers of public torrents that said where they listen (JOIN) and their
 * end (LEAVE); the master names each one and tells every worker (ADD, DEL),
 * since the peers of one torrent sit on different workers, which share
 * nothing writable. worker/pex.c keeps each torrent's list and decides what
 * each peer is told, and when.
 *
 * Entries are kept per origin worker by the peer's slot there, so a join
 * and its leave meet in O(1) and a worker's death drops all of its entries
 * (each sent out as a DEL). A worker that starts gets the whole list as
 * ADDs; any it also got as a broadcast meanwhile it ignores. Channel order
 * keeps a torrent's ADD_TORRENT ahead of its ADDs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iocore/log.h"
#include "master/proc/pex.h"

#define MPEX_READ_BATCH 64	/* messages read from one channel per wake-up */
#define MPEX_SLOTS_MAX	1000000 /* serve.max_peers's bound: the slots a worker has */

struct mpex_entry {
	bool used;
	uint32_t torrent;
	uint64_t id;
	struct wmsg_pex p; /* as joined: key, port, family, flags, addr */
};

int mpex_init(struct mpex *x, unsigned n_workers)
{
	*x = (struct mpex){ .n_workers = n_workers };
	x->by_slot = calloc(n_workers, sizeof(*x->by_slot));
	x->n_slots = calloc(n_workers, sizeof(*x->n_slots));
	x->pid = calloc(n_workers, sizeof(*x->pid));
	if (!x->by_slot || !x->n_slots || !x->pid) {
		mpex_free(x);
		return -ENOMEM;
	}
	return 0;
}

void mpex_free(struct mpex *x)
{
	for (unsigned i = 0; x->by_slot && i < x->n_workers; i++)
		free(x->by_slot[i]);
	free(x->by_slot);
	free(x->n_slots);
	free(x->pid);
	*x = (struct mpex){ 0 };
}

static void mpex_msg(struct wmsg *m, enum wmsg_type type, const struct mpex_entry *e,
		     unsigned worker)
{
	*m = (struct wmsg){ .type = type, .torrent = e->torrent };
	m->pex = e->p;
	m->pex.id = e->id;
	m->pex.worker = (uint16_t)worker;
}

static void mpex_broadcast(struct workers *ws, const struct wmsg *m)
{
	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].channel >= 0)
			workers_send(ws, i, m);
}

/* The entry for slot of worker i, the array grown to hold it; NULL past the bound or on ENOMEM. */
static struct mpex_entry *mpex_slot(struct mpex *x, unsigned i, uint32_t slot, bool grow)
{
	struct mpex_entry *e;
	uint32_t n = x->n_slots[i];

	if (slot < n)
		return &x->by_slot[i][slot];
	if (!grow || slot >= MPEX_SLOTS_MAX)
		return NULL;
	while (n <= slot)
		n = n ? n * 2 : 1024;
	if (n > MPEX_SLOTS_MAX)
		n = MPEX_SLOTS_MAX;
	if (!(e = realloc(x->by_slot[i], n * sizeof(*e))))
		return NULL;
	memset(e + x->n_slots[i], 0, (n - x->n_slots[i]) * sizeof(*e));
	x->by_slot[i] = e;
	x->n_slots[i] = n;
	return &e[slot];
}

static void mpex_drop(struct mpex *x, struct workers *ws, unsigned i, struct mpex_entry *e)
{
	struct wmsg m;

	mpex_msg(&m, WMSG_PEX_DEL, e, i);
	e->used = false;
	x->listed--;
	mpex_broadcast(ws, &m);
}

static void mpex_join(struct mpex *x, struct workers *ws, unsigned i, const struct wmsg *m)
{
	struct mpex_entry *e = mpex_slot(x, i, (uint32_t)m->pex.key, true);
	struct wmsg out;

	if (!e || (m->pex.family != 4 && m->pex.family != 6) || !m->pex.port) {
		x->bad++;
		return;
	}
	if (e->used) /* its leave was lost: the slot's new peer replaces it */
		mpex_drop(x, ws, i, e);
	*e = (struct mpex_entry){
		.used = true, .torrent = m->torrent, .id = ++x->next_id, .p = m->pex
	};
	x->listed++;
	mpex_msg(&out, WMSG_PEX_ADD, e, i);
	mpex_broadcast(ws, &out);
}

static void mpex_leave(struct mpex *x, struct workers *ws, unsigned i, const struct wmsg *m)
{
	struct mpex_entry *e = mpex_slot(x, i, (uint32_t)m->pex.key, false);

	if (e && e->used && e->p.key == m->pex.key && e->torrent == m->torrent)
		mpex_drop(x, ws, i, e);
}

void mpex_read(struct mpex *x, struct workers *ws, unsigned i)
{
	struct wmsg m;

	for (int k = 0; k < MPEX_READ_BATCH && i < x->n_workers; k++) {
		ssize_t n = workers_recv(ws, i, &m);

		if (n < 0)
			return;
		if (n != (ssize_t)wmsg_len(&m) ||
		    (m.type != WMSG_PEX_JOIN && m.type != WMSG_PEX_LEAVE)) {
			x->bad++;
			continue;
		}
		if (m.type == WMSG_PEX_JOIN)
			mpex_join(x, ws, i, &m);
		else
			mpex_leave(x, ws, i, &m);
	}
}

/* Worker i starts: every entry, as ADDs, after the torrents workers_start sent it. */
static void mpex_sync(struct mpex *x, struct workers *ws, unsigned i)
{
	struct wmsg m;

	for (unsigned k = 0; k < x->n_workers; k++) {
		for (uint32_t s = 0; s < x->n_slots[k]; s++) {
			if (!x->by_slot[k][s].used)
				continue;
			mpex_msg(&m, WMSG_PEX_ADD, &x->by_slot[k][s], k);
			workers_send(ws, i, &m);
		}
	}
}

void mpex_check(struct mpex *x, struct workers *ws)
{
	for (unsigned i = 0; i < x->n_workers && i < ws->n; i++) {
		if (x->pid[i] == ws->w[i].pid)
			continue;
		if (x->pid[i]) /* the process its entries came from is gone */
			for (uint32_t s = 0; s < x->n_slots[i]; s++)
				if (x->by_slot[i][s].used)
					mpex_drop(x, ws, i, &x->by_slot[i][s]);
		x->pid[i] = ws->w[i].pid;
		if (x->pid[i])
			mpex_sync(x, ws, i);
	}
}

void mpex_stats(const struct mpex *x, const uint64_t *w, char *buf, size_t len)
{
	snprintf(buf, len,
		 "pex_sent=%llu pex_received=%llu pex_bad=%llu pex_flood=%llu pex_lost=%llu "
		 "pex_peers=%llu",
		 (unsigned long long)w[WSTAT_PEX_SENT], (unsigned long long)w[WSTAT_PEX_RECEIVED],
		 (unsigned long long)w[WSTAT_PEX_BAD], (unsigned long long)w[WSTAT_PEX_FLOOD],
		 (unsigned long long)(w[WSTAT_PEX_LOST] + x->bad), (unsigned long long)x->listed);
}
