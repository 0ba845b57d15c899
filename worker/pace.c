/*
 * pace.c - serve.max_upload_rate: one token bucket for the whole box.
 *
 * The bucket lives in the box's shared area (worker.h, struct
 * worker_shared), so every worker draws from the same one and the cap holds
 * however the peers are spread. Whoever looks at it first after a
 * millisecond refills it by the time that passed (one compare-and-swap on
 * the refill time decides who). A batch may start while the bucket is
 * above zero; it is charged its whole size when it is filled, so the bucket
 * may go into debt by one batch and the next ones wait: the average rate is
 * the cap, nothing is dropped. A peer that finds the bucket empty waits in
 * the worker's batch queue (WAITING_BATCH, counted as throttled); the pacer
 * timer hands batches out again as the bucket refills, one wheel tick
 * (100 ms) at a time. The bucket holds at most 200 ms of the rate (at least
 * 64 KiB), so an idle box does not save up a burst.
 */
#include "iocore/clock.h"
#include "worker/wk.h"

#define PACE_TICK_MS   100
#define PACE_BURST_MS  200
#define PACE_BURST_MIN (64 << 10)

static int64_t pace_cap(uint64_t rate)
{
	uint64_t cap = rate * PACE_BURST_MS / 1000;

	return (int64_t)(cap < PACE_BURST_MIN ? PACE_BURST_MIN : cap);
}

static void pace_refill(struct worker_shared *sh, uint64_t rate)
{
	uint64_t now = clock_ns(), last = __atomic_load_n(&sh->refill_ns, __ATOMIC_RELAXED);
	int64_t cap = pace_cap(rate), add, cur, next;

	if (now < last + 1000000 ||
	    !__atomic_compare_exchange_n(&sh->refill_ns, &last, now, false, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED))
		return;
	/* The first refill (last == 0) fills the bucket: cap is the most it holds anyway. */
	add = last ? (int64_t)((unsigned __int128)(now - last) * rate / 1000000000u) : cap;
	cur = __atomic_load_n(&sh->tokens, __ATOMIC_RELAXED);
	do {
		next = cur + add > cap ? cap : cur + add;
	} while (!__atomic_compare_exchange_n(&sh->tokens, &cur, next, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
}

bool pace_ok(const struct worker *w)
{
	struct worker_shared *sh = w->a->shared;

	if (!w->conf->max_upload_rate || !sh)
		return true;
	pace_refill(sh, w->conf->max_upload_rate);
	return __atomic_load_n(&sh->tokens, __ATOMIC_RELAXED) > 0;
}

void pace_charge(struct worker *w, uint64_t bytes)
{
	if (w->conf->max_upload_rate && w->a->shared)
		__atomic_fetch_sub(&w->a->shared->tokens, (int64_t)bytes, __ATOMIC_RELAXED);
}

void pace_init(struct worker *w)
{
	tw_timer_init(&w->ch.pacer);
	if (w->conf->max_upload_rate && w->a->shared)
		tw_add(&w->wheel, &w->ch.pacer, PACE_TICK_MS);
}

/* Peers waiting for a batch get one while the pool and the bucket allow. */
bool pace_on_timer(struct worker *w, struct tw_timer *tm)
{
	struct peer *p;

	if (tm != &w->ch.pacer)
		return false;
	while (batch_available(w) && (p = wk_queue_pop(&w->batch_wait)))
		if (p->state == PEER_WAITING_BATCH)
			peer_advance(w, p, PEV_BATCH_FREE);
	tw_add(&w->wheel, &w->ch.pacer, PACE_TICK_MS);
	return true;
}
