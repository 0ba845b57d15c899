/*
 * workers.h - the workers table: one slot per worker process, owned by the
 * master's loop but knowing nothing of it.
 *
 * A slot's life:
 *
 *   workers_start -> RUNNING (pid, channel watched in the master's epoll set)
 *     -> death (workers_reap): channel closed, queue dropped
 *          -> quitting:  stays down
 *          -> otherwise: restart_at_ms = now + backoff; workers_tick starts
 *                        it again (backoff doubling 100 ms .. 5 s while it
 *                        keeps dying young)
 *
 * The table is given what it needs at workers_init (the configuration, the
 * registry whose torrents every started worker receives, the epoll set and
 * the tag its channels carry there; the owner may set child_setup, which
 * the master uses to drop privileges) and counts its own fallbacks, drops
 * and restarts for the master's stats line.
 */
#ifndef RINGSEED_WORKERS_H
#define RINGSEED_WORKERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf/conf.h"
#include "master/content/registry.h"
#include "master/proc/swarm.h"
#include "worker/worker.h"

#define WORKERS_MAX_TORRENT_IDS 65536 /* per-torrent counters kept, by id modulo this */

struct wqueued;

struct wproc {
	pid_t pid;			 /* 0: not running */
	struct wqueued *q_head, *q_tail; /* messages waiting for room in the channel */
	int channel;			 /* the master's end; -1 when not running */
	uint64_t handed; /* peers sent to this slot (compared with its WSTAT_HANDSHAKES) */
	uint64_t started_ms;
	uint64_t restart_at_ms; /* when a dead worker is started again; 0: not scheduled */
	unsigned backoff_ms;
	unsigned recent_restarts; /* within the last minute */
	uint64_t recent_since_ms;
	struct worker_stats *stats; /* shared with the worker */
};

struct workers {
	struct wproc *w;
	unsigned n;
	struct worker_shared *shared; /* every worker's (worker.h) */
	const struct conf *conf;     /* what a worker starts with (the master's, reloads included) */
	const struct registry *reg;  /* every torrent in it is sent to a started worker */
	int epfd;		     /* the master's epoll set, where channels are watched */
	uint32_t ev_kind;	     /* epoll data: ev_kind << 32 | slot */
	bool quitting;		     /* workers_quit was called: nobody is restarted */
	int (*child_setup)(void *arg); /* first thing in a forked worker; nonzero ends it */
	void *child_arg;
	uint64_t restarts;	       /* workers started again after a death */
	uint64_t handoff_fallback;     /* the least-loaded worker's channel was full */
	uint64_t drop_no_worker;       /* a peer no running worker could take */
	uint64_t drop_handoff_timeout; /* queued for a backed-up worker past handshake_timeout */
	uint64_t drop_paused;	       /* a peer of a torrent out of service (guard.c) */
	struct swarm_tab swarm;	       /* super-seeding's shared area per torrent (swarm.h) */
};

int workers_init(struct workers *ws, const struct conf *conf, const struct registry *reg,
		 int epfd, uint32_t ev_kind);
int workers_start(struct workers *ws, unsigned i);
void workers_reap(struct workers *ws);
void workers_tick(struct workers *ws, uint64_t now);
void workers_broadcast_add(struct workers *ws, const struct torrent *t);
void workers_broadcast_remove(struct workers *ws, uint32_t id);
int workers_handoff(struct workers *ws, int fd, const struct torrent *t, struct wmsg *msg);
/* Connections every worker holds, or has been sent, that charge address slot (addrcap.h). */
uint32_t workers_addr_live(const struct workers *ws, uint32_t slot);
void workers_flush(struct workers *ws, unsigned i);
/* A message without a descriptor to worker i, queued behind what waits; and one from it. */
int workers_send(struct workers *ws, unsigned i, const struct wmsg *msg);
ssize_t workers_recv(struct workers *ws, unsigned i, struct wmsg *msg);
void workers_quit(struct workers *ws);
bool workers_all_gone(const struct workers *ws);
void workers_kill(struct workers *ws);

/* The workers' counters summed (sum[WSTAT_MAX]), and one torrent's payload bytes sent. */
void workers_stats(const struct workers *ws, uint64_t *sum);
uint64_t workers_torrent_up(const struct workers *ws, uint32_t torrent_id);

#endif
