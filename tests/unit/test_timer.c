/*
 * test_timer.c - the timer wheel fires every timer once, never early and at
 * most one tick late, in tick order within a turn; callbacks may delete and
 * re-arm timers; tw_next_ms() never sleeps past a due timer; 100,000 timers
 * cost linear time.
 */
#include <stddef.h>
#include <time.h>

#include "iocore/timer.h"
#include "tests/unit/test.h"

#define TICK 10

struct item {
	struct tw_timer t;
	uint64_t due_ms;   /* wheel time at tw_add + delay */
	uint64_t fired_ms; /* wheel time of the tw_advance that fired it */
	unsigned fires;
};

struct ctx {
	struct tw_wheel *w;
	uint64_t now_ms; /* time passed to the running tw_advance */
	uint64_t last_expires;
	unsigned fired, early, late, order;
	/* for the callback tests */
	struct item *victims[4];
	unsigned rearm_left;
	uint64_t rearm_delay;
};

static struct tw_wheel wheel;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure reproduces. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static struct item *item_of(struct tw_timer *t)
{
	return (struct item *)((char *)t - offsetof(struct item, t));
}

static void arm(struct tw_wheel *w, struct item *it, uint64_t delay_ms)
{
	it->due_ms = w->now_ms + delay_ms;
	tw_add(w, &it->t, delay_ms);
}

/* Checks every firing against its deadline: not before due, less than one tick after. */
static void on_fire(struct tw_timer *t, void *arg)
{
	struct ctx *c = arg;
	struct item *it = item_of(t);

	CHECK(!tw_pending(t));
	it->fires++;
	it->fired_ms = c->now_ms;
	c->fired++;
	if (c->now_ms < it->due_ms)
		c->early++;
	if (c->now_ms > it->due_ms + TICK)
		c->late++;
	if (t->expires < c->last_expires)
		c->order++;
	c->last_expires = t->expires;
}

static unsigned advance(struct ctx *c, uint64_t now_ms)
{
	c->now_ms = now_ms;
	return tw_advance(c->w, now_ms, on_fire, c);
}

static void test_basic(void)
{
	struct ctx c = { .w = &wheel };
	struct item a = { 0 }, b = { 0 };

	tw_init(&wheel, TICK, 1000);
	tw_timer_init(&a.t);
	tw_timer_init(&b.t);
	CHECK(!tw_pending(&a.t));
	CHECK_EQ_INT(tw_next_ms(&wheel, 1000), UINT64_MAX);
	tw_del(&wheel, &a.t); /* not pending: no-op */
	CHECK_EQ_INT(wheel.count, 0);

	arm(&wheel, &a, 50);
	CHECK(tw_pending(&a.t));
	CHECK_EQ_INT(wheel.count, 1);
	CHECK_EQ_INT(tw_next_ms(&wheel, 1000), 50);
	CHECK_EQ_INT(tw_next_ms(&wheel, 1030), 20);
	CHECK_EQ_INT(advance(&c, 1049), 0);
	CHECK(tw_pending(&a.t));
	CHECK_EQ_INT(tw_next_ms(&wheel, 1049), 1);
	CHECK_EQ_INT(tw_next_ms(&wheel, 1060), 0); /* due, not yet advanced */
	CHECK_EQ_INT(advance(&c, 1050), 1);
	CHECK_EQ_INT(a.fires, 1);
	CHECK(!tw_pending(&a.t));
	CHECK_EQ_INT(wheel.count, 0);
	CHECK_EQ_INT(advance(&c, 5000), 0);

	/* Deleted before its time: never fires; re-added: fires once. */
	arm(&wheel, &a, 30);
	tw_del(&wheel, &a.t);
	CHECK(!tw_pending(&a.t));
	CHECK_EQ_INT(wheel.count, 0);
	CHECK_EQ_INT(advance(&c, 5100), 0);
	arm(&wheel, &a, 30);
	CHECK_EQ_INT(advance(&c, 5130), 1);
	CHECK_EQ_INT(a.fires, 2);

	/* Re-arming a pending timer moves it, both later and sooner. */
	arm(&wheel, &a, 100);
	arm(&wheel, &a, 500);
	arm(&wheel, &b, 100);
	arm(&wheel, &b, 20);
	CHECK_EQ_INT(wheel.count, 2);
	CHECK_EQ_INT(advance(&c, 5150), 1);
	CHECK_EQ_INT(b.fires, 1);
	CHECK_EQ_INT(advance(&c, 5629), 0);
	CHECK_EQ_INT(advance(&c, 5630), 1);
	CHECK_EQ_INT(a.fires, 3);

	/* A delay that is not a multiple of the tick rounds up; 0 fires at the next tick. */
	tw_init(&wheel, TICK, 2005);
	arm(&wheel, &a, 1);
	arm(&wheel, &b, 0);
	CHECK_EQ_INT(advance(&c, 2009), 0);
	CHECK_EQ_INT(advance(&c, 2010), 2);
	tw_init(&wheel, TICK, 3000);
	arm(&wheel, &b, 0);
	CHECK_EQ_INT(advance(&c, 3000), 0);
	CHECK_EQ_INT(tw_next_ms(&wheel, 3000), TICK);
	CHECK_EQ_INT(advance(&c, 3010), 1);

	/* Time going back is taken as standing still. */
	arm(&wheel, &a, 20);
	CHECK_EQ_INT(advance(&c, 100), 0);
	CHECK_EQ_INT(wheel.now_ms, 3010);
	CHECK_EQ_INT(advance(&c, 3030), 1);

	/* A delay of "forever" neither overflows nor fires. */
	arm(&wheel, &a, UINT64_MAX);
	CHECK_EQ_INT(advance(&c, 3010 + 100ull * 24 * 3600 * 1000), 0);
	CHECK(tw_pending(&a.t));
	tw_del(&wheel, &a.t);
	CHECK_EQ_INT(c.early, 0);
	CHECK_EQ_INT(c.late, 0);
}

/*
 * Many timers with random delays from 0 to three turns, some armed while time
 * runs, time advanced 1 ms at a time: each fires once, on time, in tick order.
 */
static void test_random(void)
{
	enum { N = 5000, LATE = 1000 };
	static struct item it[N];
	const uint64_t turn = (uint64_t)TW_SLOTS * TICK, start = 123457;
	struct ctx c = { .w = &wheel };
	uint64_t now = start, end = start + 3 * turn + 2 * TICK;
	unsigned armed = 0;

	tw_init(&wheel, TICK, start);
	memset(it, 0, sizeof(it));
	for (unsigned i = 0; i < N; i++) {
		uint64_t d;

		tw_timer_init(&it[i].t);
		switch (i % 8) {
		case 0:
			d = 0;
			break;
		case 1:
			d = (rnd() % 3 + 1) * turn; /* exactly whole turns */
			break;
		default:
			d = rnd() % (3 * turn);
		}
		if (i < N - LATE) {
			arm(&wheel, &it[i], d);
			armed++;
		} else {
			it[i].due_ms = d; /* armed later, when time reaches start + d */
		}
	}
	for (now = start + 1; now <= end + 3 * turn; now++) {
		advance(&c, now);
		/* Arm the late ones from inside the run, at odd times. */
		for (; armed < N && it[armed].due_ms + start <= now; armed++)
			arm(&wheel, &it[armed], rnd() % (2 * turn));
		if (armed == N && wheel.count == 0)
			break;
	}
	CHECK_EQ_INT(armed, N);
	CHECK_EQ_INT(wheel.count, 0);
	CHECK_EQ_INT(c.fired, N);
	CHECK_EQ_INT(c.early, 0);
	CHECK_EQ_INT(c.late, 0);
	CHECK_EQ_INT(c.order, 0);
	for (unsigned i = 0; i < N; i++)
		if (it[i].fires != 1) {
			CHECK_EQ_INT(it[i].fires, 1);
			break;
		}
}

static void del_victims(struct tw_timer *t, void *arg)
{
	struct ctx *c = arg;

	on_fire(t, arg);
	for (unsigned i = 0; i < 4; i++)
		if (c->victims[i] && &c->victims[i]->t != t)
			tw_del(c->w, &c->victims[i]->t);
}

static void rearm_self(struct tw_timer *t, void *arg)
{
	struct ctx *c = arg;
	struct item *it = item_of(t);

	on_fire(t, arg);
	if (c->rearm_left > 0) {
		c->rearm_left--;
		arm(c->w, it, c->rearm_delay);
	}
}

/* Callbacks delete other timers of the same slot and of later slots, and re-arm. */
static void test_callbacks(void)
{
	static struct item it[8];
	struct ctx c = { .w = &wheel };
	unsigned n;

	memset(it, 0, sizeof(it));
	tw_init(&wheel, TICK, 0);
	/* it[0..2] share a tick, it[3] is a tick later, it[4] a turn later in it[0]'s slot. */
	arm(&wheel, &it[0], 100);
	arm(&wheel, &it[1], 100);
	arm(&wheel, &it[2], 100);
	arm(&wheel, &it[3], 110);
	arm(&wheel, &it[4], 100 + (uint64_t)TW_SLOTS * TICK);
	c.victims[0] = &it[1];
	c.victims[1] = &it[2];
	c.victims[2] = &it[3];
	c.victims[3] = &it[4];
	c.now_ms = 200;
	n = tw_advance(&wheel, 200, del_victims, &c);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(it[0].fires, 1);
	CHECK_EQ_INT(it[1].fires + it[2].fires + it[3].fires + it[4].fires, 0);
	CHECK_EQ_INT(wheel.count, 0);

	/* A timer that deletes the one after it in the walk, and that one's neighbour. */
	memset(&c.victims, 0, sizeof(c.victims));
	for (unsigned i = 0; i < 4; i++)
		arm(&wheel, &it[i], 50);
	c.victims[0] = &it[1];
	c.victims[1] = &it[3];
	c.now_ms = 250;
	n = tw_advance(&wheel, 250, del_victims, &c);
	/* it[0] fires and deletes 1 and 3; it[2] fires and deletes nothing new. */
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(it[0].fires, 2);
	CHECK_EQ_INT(it[2].fires, 1);
	CHECK_EQ_INT(it[1].fires + it[3].fires, 0);
	CHECK_EQ_INT(wheel.count, 0);

	/* Re-arming itself with delay 0 from the callback: once per tw_advance, even a long one. */
	memset(it, 0, sizeof(it));
	arm(&wheel, &it[5], 0);
	c.rearm_left = 1000;
	c.rearm_delay = 0;
	for (unsigned i = 1; i <= 5; i++) {
		c.now_ms = 250 + i * 3600 * 1000;
		CHECK_EQ_INT(tw_advance(&wheel, c.now_ms, rearm_self, &c), 1);
	}
	CHECK_EQ_INT(it[5].fires, 5);
	CHECK(tw_pending(&it[5].t));
	/* Periodic at 100 ms, time in 1 ms steps for one second: 10 firings, each on time. */
	arm(&wheel, &it[5], 100);
	c.rearm_delay = 100;
	c.early = c.late = 0;
	for (uint64_t t = c.now_ms + 1, t0 = c.now_ms; t <= t0 + 1000; t++) {
		c.now_ms = t;
		tw_advance(&wheel, t, rearm_self, &c);
	}
	CHECK_EQ_INT(it[5].fires, 15);
	CHECK_EQ_INT(c.early, 0);
	CHECK_EQ_INT(c.late, 0);
	/* Re-armed into the slot being walked (exactly one turn): not again in this call. */
	arm(&wheel, &it[6], 10);
	c.rearm_delay = (uint64_t)TW_SLOTS * TICK;
	c.now_ms = wheel.now_ms + 10 * (uint64_t)TW_SLOTS * TICK;
	tw_del(&wheel, &it[5].t);
	CHECK_EQ_INT(tw_advance(&wheel, c.now_ms, rearm_self, &c), 1);
	CHECK(tw_pending(&it[6].t));
	tw_del(&wheel, &it[6].t);
	CHECK_EQ_INT(wheel.count, 0);
}

/* Jumps of hours fire every due timer exactly once, and only the due ones. */
static void test_jumps(void)
{
	enum { N = 3000 };
	static struct item it[N];
	const uint64_t hour = 3600 * 1000;
	struct ctx c = { .w = &wheel };
	unsigned fired;

	memset(it, 0, sizeof(it));
	tw_init(&wheel, TICK, 7);
	for (unsigned i = 0; i < N; i++) {
		tw_timer_init(&it[i].t);
		/* A third within 5 h spread over many turns, a third at 5..10 h, a third 0. */
		uint64_t d = i % 3 == 0	  ? rnd() % (5 * hour - 100)
			     : i % 3 == 1 ? 5 * hour + 1 + rnd() % (5 * hour)
					  : 0;
		arm(&wheel, &it[i], d);
	}
	fired = advance(&c, 7 + 5 * hour);
	CHECK_EQ_INT(fired, 2 * N / 3);
	CHECK_EQ_INT(wheel.count, N / 3);
	CHECK_EQ_INT(c.early, 0);
	for (unsigned i = 0; i < N; i++) {
		if (it[i].fires != (i % 3 != 1)) {
			CHECK_EQ_INT(it[i].fires, i % 3 != 1);
			break;
		}
	}
	CHECK_EQ_INT(advance(&c, 7 + 5 * hour), 0); /* same time: nothing more */
	fired = advance(&c, 7 + 48 * hour);
	CHECK_EQ_INT(fired, N / 3);
	CHECK_EQ_INT(wheel.count, 0);
	CHECK_EQ_INT(c.fired, N);
	CHECK_EQ_INT(c.early, 0);
	for (unsigned i = 0; i < N; i++)
		if (it[i].fires != 1) {
			CHECK_EQ_INT(it[i].fires, 1);
			break;
		}
}

/* One timer in every slot, from several turns, and a jump past them all: the jump visits every
 * slot. */
static void test_jump_every_slot(void)
{
	static struct item it[TW_SLOTS];
	const uint64_t turn = (uint64_t)TW_SLOTS * TICK;
	struct ctx c = { .w = &wheel };

	memset(it, 0, sizeof(it));
	for (uint64_t start = 0; start < 3 * TICK; start += TICK + 3) {
		tw_init(&wheel, TICK, start);
		for (unsigned j = 0; j < TW_SLOTS; j++) {
			tw_timer_init(&it[j].t);
			arm(&wheel, &it[j], j * TICK + (j % 7) * turn);
		}
		c.fired = 0;
		CHECK_EQ_INT(advance(&c, start + 7 * turn + TICK), TW_SLOTS);
		CHECK_EQ_INT(wheel.count, 0);
	}
	CHECK_EQ_INT(c.early, 0);
	for (unsigned j = 0; j < TW_SLOTS; j++)
		if (it[j].fires != 3) {
			CHECK_EQ_INT(it[j].fires, 3);
			break;
		}
}

/*
 * An event loop that sleeps exactly tw_next_ms() and then advances: every
 * timer fires exactly at its tick boundary, and tw_next_ms() is never more
 * than the true distance to the earliest pending timer.
 */
static void test_next_ms(void)
{
	enum { N = 300 };
	static struct item it[N];
	const uint64_t turn = (uint64_t)TW_SLOTS * TICK;
	struct ctx c = { .w = &wheel };
	uint64_t now = 55555, wakeups = 0;
	unsigned overshoot = 0, exact = 0;

	memset(it, 0, sizeof(it));
	tw_init(&wheel, TICK, now);
	for (unsigned i = 0; i < N; i++) {
		uint64_t d = i < 10 ? 0 : i < 50 ? rnd() % 1000 : rnd() % (4 * turn);

		tw_timer_init(&it[i].t);
		arm(&wheel, &it[i], d);
	}
	while (wheel.count > 0 && wakeups < 1000000) {
		uint64_t next = tw_next_ms(&wheel, now), earliest = UINT64_MAX;

		/* Check against the true earliest boundary now and then (O(N) each). */
		if (wakeups % 7 == 0) {
			for (unsigned i = 0; i < N; i++)
				if (tw_pending(&it[i].t) && it[i].t.expires * TICK < earliest)
					earliest = it[i].t.expires * TICK;
			if (earliest != UINT64_MAX && now + next > earliest)
				overshoot++;
		}
		REQUIRE(next != UINT64_MAX);
		now += next;
		wakeups++;
		advance(&c, now);
	}
	for (unsigned i = 0; i < N; i++)
		exact += it[i].fires == 1 && it[i].fired_ms == it[i].t.expires * TICK;
	CHECK_EQ_INT(wheel.count, 0);
	CHECK_EQ_INT(overshoot, 0);
	CHECK_EQ_INT(exact, N);
	CHECK_EQ_INT(c.early, 0);
	CHECK_EQ_INT(c.late, 0);
	fprintf(stderr, "next_ms: %u timers over %" PRIu64 " ms in %" PRIu64 " wake-ups\n", N,
		now - 55555, wakeups);
	/* Due but not yet advanced: 0. Nothing pending: UINT64_MAX. */
	arm(&wheel, &it[0], 30);
	CHECK_EQ_INT(tw_next_ms(&wheel, now + 1000), 0);
	tw_del(&wheel, &it[0].t);
	CHECK_EQ_INT(tw_next_ms(&wheel, now), UINT64_MAX);
}

static double secs_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

/* 100,000 timers armed, re-armed, a tenth deleted, the rest fired: linear, well under a second. */
static void test_many(void)
{
	enum { N = 100000 };
	static struct item it[N];
	const uint64_t turn = (uint64_t)TW_SLOTS * TICK;
	struct ctx c = { .w = &wheel };
	struct timespec t0;
	uint64_t now = 0;
	double s;

	memset(it, 0, sizeof(it));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	tw_init(&wheel, TICK, now);
	for (unsigned i = 0; i < N; i++) {
		tw_timer_init(&it[i].t);
		arm(&wheel, &it[i], rnd() % (20 * turn));
	}
	for (unsigned i = 0; i < N; i++) /* keep-alive style re-arm */
		arm(&wheel, &it[i], rnd() % (10 * turn));
	for (unsigned i = 0; i < N; i += 10)
		tw_del(&wheel, &it[i].t);
	CHECK_EQ_INT(wheel.count, N - N / 10);
	while (wheel.count > 0 && now < 30 * turn) {
		now += TICK / 2; /* lands on every tick boundary: at most a tick late */
		advance(&c, now);
	}
	s = secs_since(&t0);
	fprintf(stderr,
		"many: %d timers armed twice, fired over %" PRIu64 " s of wheel time in %.3f s\n",
		N, now / 1000, s);
	CHECK_EQ_INT(c.fired, N - N / 10);
	CHECK_EQ_INT(c.early, 0);
	CHECK_EQ_INT(c.late, 0);
	/* Linear work here is a few million steps; quadratic would be 10^10. */
	CHECK(s < 5.0);
}

int main(void)
{
	test_basic();
	test_random();
	test_callbacks();
	test_jumps();
	test_jump_every_slot();
	test_next_ms();
	test_many();
	return test_done("timer");
}
