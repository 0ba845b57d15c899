/*
 * recheck.c - content checks in a thread of their own; see recheck.h.
 *
 * The queue is a list under one mutex; the thread sleeps on a condition
 * variable while it is empty. Finished jobs go on a second list and the
 * eventfd is written, so the master's epoll loop learns of them without
 * ever waiting for the thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/content/recheck.h"

#define RCK_NICE 10 /* more than the master's own nice value */

static void rck_finish(struct recheck *r, struct rck_job *j)
{
	uint64_t one = 1;

	j->next = r->done;
	r->done = j;
	(void)!write(r->efd, &one, sizeof(one));
}

static void rck_run(struct recheck *r, struct rck_job *j)
{
	struct verify_opts o = { .data_dirfd = r->data_dirfd,
				 .state_dirfd = r->state_dirfd,
				 .share = &j->share };
	struct timespec ts;

	j->have = calloc(1, verify_bitfield_len(j->mi->piece_count));
	if (!j->have) {
		j->rc = -ENOMEM;
		snprintf(j->err, sizeof(j->err), "out of memory");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	j->checked_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	j->rc = verify_torrent(j->mi, &o, j->have, &j->rep, j->err, sizeof(j->err));
}

static void *rck_thread(void *arg)
{
	struct recheck *r = arg;
	struct rck_job *j;

	/*
	 * Below the master's loop and the workers: the hashers (threads this
	 * one starts, which inherit its nice value) take what CPU is left.
	 */
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, (id_t)gettid());

	if (errno == 0 && setpriority(PRIO_PROCESS, (id_t)gettid(),
				      nice + RCK_NICE > 19 ? 19 : nice + RCK_NICE) != 0)
		log_warn("setpriority for the background checks");
	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->q_head && !r->stop)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stop)
			break;
		j = r->q_head;
		r->q_head = j->next;
		if (!r->q_head)
			r->q_tail = NULL;
		r->running = j;
		j->running = true;
		pthread_mutex_unlock(&r->mu);
		rck_run(r, j);
		pthread_mutex_lock(&r->mu);
		j->running = false;
		r->running = NULL;
		r->jobs++;
		rck_finish(r, j);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

int rck_init(struct recheck *r, int data_dirfd, int state_dirfd)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->data_dirfd = data_dirfd;
	r->state_dirfd = state_dirfd;
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0)
		return -errno;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	rc = pthread_create(&r->th, NULL, rck_thread, r);
	if (rc) {
		close(r->efd);
		r->efd = -1;
		return -rc;
	}
	r->started = true;
	return 0;
}

void rck_submit(struct recheck *r, struct rck_job *j)
{
	j->next = NULL;
	j->rc = 0;
	j->running = false;
	j->share = (struct ph_share){ 0 };
	pthread_mutex_lock(&r->mu);
	if (r->q_tail)
		r->q_tail->next = j;
	else
		r->q_head = j;
	r->q_tail = j;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

bool rck_cancel(struct recheck *r, struct rck_job *j)
{
	struct rck_job **pp, *prev = NULL;
	bool queued;

	pthread_mutex_lock(&r->mu);
	__atomic_store_n(&j->share.cancel, true, __ATOMIC_RELAXED);
	for (pp = &r->q_head; *pp && *pp != j; pp = &(*pp)->next)
		prev = *pp;
	queued = *pp != NULL;
	if (queued) { /* done at once */
		*pp = j->next;
		if (r->q_tail == j)
			r->q_tail = prev;
		j->rc = -ECANCELED;
		snprintf(j->err, sizeof(j->err), "cancelled");
		rck_finish(r, j);
	}
	r->cancelled++;
	pthread_mutex_unlock(&r->mu);
	return queued;
}

struct rck_job *rck_take(struct recheck *r)
{
	struct rck_job *j;
	uint64_t n;

	(void)!read(r->efd, &n, sizeof(n));
	pthread_mutex_lock(&r->mu);
	j = r->done;
	if (j)
		r->done = j->next;
	pthread_mutex_unlock(&r->mu);
	if (j) { /* more may wait: keep the eventfd readable */
		n = 1;
		(void)!write(r->efd, &n, sizeof(n));
	}
	return j;
}

double rck_progress(struct recheck *r, const struct rck_job *j)
{
	uint64_t goal, done;
	bool running;

	pthread_mutex_lock(&r->mu);
	running = j->running;
	pthread_mutex_unlock(&r->mu);
	if (!running)
		return 0;
	goal = __atomic_load_n(&j->share.goal, __ATOMIC_RELAXED);
	done = __atomic_load_n(&j->share.done, __ATOMIC_RELAXED);
	return goal ? (double)done / (double)goal : 0;
}

void rck_job_free(struct rck_job *j)
{
	if (!j)
		return;
	free(j->have);
	free(j);
}

void rck_close(struct recheck *r)
{
	struct rck_job *j;

	if (!r->started)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	if (r->running)
		__atomic_store_n(&r->running->share.cancel, true, __ATOMIC_RELAXED);
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->th, NULL);
	r->started = false;
	while ((j = r->q_head)) {
		r->q_head = j->next;
		rck_job_free(j);
	}
	while ((j = r->done)) {
		r->done = j->next;
		rck_job_free(j);
	}
	close(r->efd);
	r->efd = -1;
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
}
