/*
 * timer.c - the hashed timer wheel; see timer.h.
 *
 * Invariants:
 *   - a pending timer is on the list of slot[expires & TW_MASK] and has
 *     expires > w->now (every timer with expires <= now has fired);
 *   - count is the number of pending timers.
 *
 * tw_advance() moves now to the new tick before it calls anything, so a timer
 * armed from a callback lands after the new now and cannot fire twice in one
 * call. It walks one slot at a time by first moving the slot's list onto a
 * list head on its own stack: the callbacks may then delete any timer (tw_del
 * unlinks from whichever list holds it) or arm timers into the slot being
 * walked without disturbing the walk.
 */

#include "iocore/clock.h"
#include "iocore/timer.h"

static void tw_list_init(struct tw_timer *head)
{
	head->next = head;
	head->prev = head;
}

static bool tw_list_empty(const struct tw_timer *head)
{
	return head->next == head;
}

static void tw_list_append(struct tw_timer *head, struct tw_timer *t)
{
	t->prev = head->prev;
	t->next = head;
	head->prev->next = t;
	head->prev = t;
}

static void tw_unlink(struct tw_timer *t)
{
	t->prev->next = t->next;
	t->next->prev = t->prev;
	t->next = NULL;
	t->prev = NULL;
}

/* Moves every timer of src onto dst, which must be empty; src is left empty. */
static void tw_list_move(struct tw_timer *src, struct tw_timer *dst)
{
	if (tw_list_empty(src)) {
		tw_list_init(dst);
		return;
	}
	dst->next = src->next;
	dst->prev = src->prev;
	dst->next->prev = dst;
	dst->prev->next = dst;
	tw_list_init(src);
}

void tw_init(struct tw_wheel *w, unsigned tick_ms, uint64_t now_ms)
{
	for (unsigned i = 0; i < TW_SLOTS; i++)
		tw_list_init(&w->slot[i]);
	w->tick_ms = tick_ms ? tick_ms : 1;
	w->now_ms = now_ms;
	w->now = now_ms / w->tick_ms;
	w->count = 0;
}

void tw_timer_init(struct tw_timer *t)
{
	t->next = NULL;
	t->prev = NULL;
	t->expires = 0;
}

void tw_add(struct tw_wheel *w, struct tw_timer *t, uint64_t delay_ms)
{
	uint64_t at_ms, expires;

	tw_del(w, t);
	/* Saturate: a delay of UINT64_MAX means never, in practice. */
	at_ms = delay_ms > UINT64_MAX - w->now_ms ? UINT64_MAX : w->now_ms + delay_ms;
	/* Round up, so that the tick boundary it fires at is never before at_ms. */
	expires = at_ms / w->tick_ms + (at_ms % w->tick_ms != 0);
	/* The current tick's slot has been walked already: the next tick is the earliest. */
	if (expires <= w->now)
		expires = w->now + 1;
	t->expires = expires;
	tw_list_append(&w->slot[expires & TW_MASK], t);
	w->count++;
}

void tw_del(struct tw_wheel *w, struct tw_timer *t)
{
	if (!tw_pending(t))
		return;
	tw_unlink(t);
	w->count--;
}

/*
 * Fires the timers of one slot whose tick is <= until; the others (a later
 * turn) go back on the slot. Returns how many fired.
 */
static unsigned tw_fire_slot(struct tw_wheel *w, struct tw_timer *slot, uint64_t until,
			     void (*fn)(struct tw_timer *t, void *arg), void *arg)
{
	struct tw_timer walk;
	unsigned fired = 0;

	tw_list_move(slot, &walk);
	/* Bounded: each pass takes one timer off walk, and nothing adds to walk. */
	while (!tw_list_empty(&walk)) {
		struct tw_timer *t = walk.next;

		tw_unlink(t);
		if (t->expires > until) {
			tw_list_append(slot, t);
			continue;
		}
		w->count--;
		fired++;
		fn(t, arg);
	}
	return fired;
}

unsigned tw_advance(struct tw_wheel *w, uint64_t now_ms, void (*fn)(struct tw_timer *t, void *arg),
		    void *arg)
{
	uint64_t old = w->now, target, nslots;
	unsigned fired = 0;

	if (now_ms < w->now_ms)
		now_ms = w->now_ms;
	w->now_ms = now_ms;
	target = now_ms / w->tick_ms;
	if (target <= old)
		return 0;
	w->now = target;
	nslots = target - old;
	if (nslots > TW_SLOTS)
		nslots = TW_SLOTS;
	for (uint64_t i = 1; i <= nslots && w->count > 0; i++)
		fired += tw_fire_slot(w, &w->slot[(old + i) & TW_MASK], target, fn, arg);
	return fired;
}

uint64_t tw_next_ms(const struct tw_wheel *w, uint64_t now_ms)
{
	uint64_t tick = w->now;

	if (w->count == 0)
		return UINT64_MAX;
	/*
	 * Every pending timer has expires > now, and one in the slot of tick T has
	 * expires >= T once the slots before T are empty: the first non-empty slot
	 * bounds the earliest timer from below.
	 */
	for (unsigned i = 0; i < TW_NEXT_SCAN; i++) {
		tick++;
		if (!tw_list_empty(&w->slot[tick & TW_MASK]))
			break;
	}
	/* If the scan found nothing, tick is its horizon: nothing fires before it. */
	if (tick > UINT64_MAX / w->tick_ms)
		return UINT64_MAX;
	return tick * w->tick_ms > now_ms ? tick * w->tick_ms - now_ms : 0;
}

uint64_t tw_now_ms(void)
{
	return clock_ms();
}
