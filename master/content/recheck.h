/*
 * recheck.h - content checks off the master's loop.
 *
 * One thread takes jobs in order and runs verify_torrent on each (which
 * hashes on every CPU); the master's loop hears of finished jobs through an
 * eventfd it watches, and takes them back with rck_take. A job's metainfo
 * must stay alive until the job comes back, cancelled or not.
 *
 *   rck_submit -> QUEUED -> RUNNING -> DONE (eventfd) -> rck_take
 *   rck_cancel:   QUEUED: straight to DONE, rc -ECANCELED
 *                 RUNNING: the hashers stop at their next batch
 */
#ifndef RINGSEED_RECHECK_H
#define RINGSEED_RECHECK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "master/content/piece_hash.h"
#include "master/content/verify.h"
#include "proto/metainfo.h"

struct rck_job {
	struct rck_job *next;
	const struct metainfo *mi;
	void *owner;	  /* the caller's, untouched */
	uint32_t gen;	  /* the caller's, untouched */
	uint8_t *have;	  /* out: verify_bitfield_len(piece_count) bytes, allocated here */
	int rc;		  /* verify_torrent's result; -ECANCELED */
	int64_t checked_ns; /* CLOCK_REALTIME just before the check took its stat values */
	struct verify_report rep;
	struct ph_share share; /* progress, while it runs */
	bool running;
	char err[256];
};

struct recheck {
	pthread_t th;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rck_job *q_head, *q_tail; /* waiting */
	struct rck_job *running;
	struct rck_job *done;		 /* finished, not taken yet */
	bool stop;
	int efd; /* eventfd: written when a job is done */
	int data_dirfd, state_dirfd;
	uint64_t jobs, cancelled; /* counts, for /metrics */
};

int rck_init(struct recheck *r, int data_dirfd, int state_dirfd);
/* Queues j (its mi, owner and gen set by the caller). */
void rck_submit(struct recheck *r, struct rck_job *j);
/*
 * Stops j early; it still comes back through rck_take. True when it was
 * still queued (then its rc is -ECANCELED); a running job stops at its
 * hashers' next batch, or finishes if it was nearly done.
 */
bool rck_cancel(struct recheck *r, struct rck_job *j);
/* A finished job, or NULL; reads the eventfd empty first. */
struct rck_job *rck_take(struct recheck *r);
/* Progress of j, 0..1 (1 once done); safe while it runs. */
double rck_progress(struct recheck *r, const struct rck_job *j);
void rck_job_free(struct rck_job *j);
/* Cancels everything, waits for the thread, frees every job left. */
void rck_close(struct recheck *r);

#endif
