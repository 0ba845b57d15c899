/*
 * timer.h - one hashed timer wheel per worker; timers are embedded in their owners.
 *
 * A peer has a handshake deadline, a keep-alive, an idle timeout; a worker has
 * thousands of peers. One kernel timeout per peer would cost an SQE and a CQE
 * per re-arm, so the worker keeps its own wheel and asks the ring for a single
 * timeout: tw_next_ms() says how long it may sleep, tw_advance() fires what is
 * due when it wakes.
 *
 * The wheel is single-level: TW_SLOTS list heads, a timer expiring at tick T
 * lives in slot T & TW_MASK. A timer more than one turn away shares its slot
 * with nearer ones and is skipped (its expires is compared) until its turn
 * comes. Arming, re-arming and deleting are O(1) and allocate nothing.
 *
 * Time is in milliseconds, from tw_now_ms() (iocore/clock.h) or any other
 * clock that never goes back; the wheel rounds it to ticks of tick_ms. A timer
 * armed with delay d at wheel time t (the time of the last tw_init or
 * tw_advance) never fires before t + d, and fires in the first tw_advance
 * whose time reaches the next tick boundary at or after t + d, so at most one
 * tick late. A delay of 0 fires at the next tick.
 *
 * The wheel holds pointers to itself (the list heads): initialise it where it
 * will live and do not copy it. A timer must not be freed while pending.
 */
#ifndef RINGSEED_TIMER_H
#define RINGSEED_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 4096 slots: one turn is 41 s at a 10 ms tick, 410 s at 100 ms. */
#define TW_SLOTS_LOG2 12
#define TW_SLOTS      (1u << TW_SLOTS_LOG2)
#define TW_MASK	      (TW_SLOTS - 1)

/* How many slots tw_next_ms() looks at before it settles for "not before then". */
#define TW_NEXT_SCAN 1024

struct tw_timer {
	struct tw_timer *next, *prev; /* NULL when not pending */
	uint64_t expires;	      /* in ticks */
};

struct tw_wheel {
	struct tw_timer slot[TW_SLOTS]; /* circular list heads; only next/prev used */
	uint64_t now;			/* in ticks: every timer with expires <= now has fired */
	uint64_t now_ms;		/* the time of the last tw_init or tw_advance */
	unsigned tick_ms;
	size_t count; /* pending timers */
};

/* tick_ms 0 is taken as 1. */
void tw_init(struct tw_wheel *w, unsigned tick_ms, uint64_t now_ms);
void tw_timer_init(struct tw_timer *t);

/* Arms t to fire delay_ms after the wheel's time, rounded up to a tick; re-arms if pending. */
void tw_add(struct tw_wheel *w, struct tw_timer *t, uint64_t delay_ms);
/* No-op if t is not pending. */
void tw_del(struct tw_wheel *w, struct tw_timer *t);

static inline bool tw_pending(const struct tw_timer *t)
{
	return t->next != NULL;
}

/*
 * Moves time to now_ms (a time before the wheel's is taken as the wheel's) and
 * calls fn for each expired timer, already removed, so fn may re-arm it, delete
 * any other timer, or free its owner. A timer armed from fn fires in a later
 * call, never in this one.
 *
 * Bounded work: visits the slots between the old and the new tick, at most one
 * full turn, and in them the timers that fire and the ones that wait for a
 * later turn. Within one turn, timers fire in the order of their ticks; after a
 * jump longer than a turn, every due timer fires once, slot by slot.
 * Returns how many fired.
 */
unsigned tw_advance(struct tw_wheel *w, uint64_t now_ms, void (*fn)(struct tw_timer *t, void *arg),
		    void *arg);

/*
 * Milliseconds from now_ms until the next timer could fire: 0 if one is due,
 * UINT64_MAX when none is pending. Never later than the earliest pending
 * timer; it may be earlier (a slot holding only timers of a later turn, or
 * nothing found within TW_NEXT_SCAN slots), which costs one spare wake-up.
 */
uint64_t tw_next_ms(const struct tw_wheel *w, uint64_t now_ms);

/* Monotonic milliseconds: clock_ms() of iocore/clock.h, the wheel's usual clock. */
uint64_t tw_now_ms(void);

#endif
