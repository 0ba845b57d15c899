/*
 * clock.h - the one monotonic clock every process of ringseed reads.
 *
 * Deadlines, timeouts, rates and the timer wheels all count from
 * CLOCK_MONOTONIC, which never goes back when the wall clock is set. The
 * master, the workers, the hashers and ringseed-bench read it only through
 * these two, so they agree on what "now" is.
 */
#ifndef RINGSEED_CLOCK_H
#define RINGSEED_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic nanoseconds. */
static inline uint64_t clock_ns(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer (clock_gettime(2)). */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Monotonic milliseconds. */
static inline uint64_t clock_ms(void)
{
	return clock_ns() / 1000000;
}

#endif
