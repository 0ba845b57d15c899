/*
 * test_clock.c - iocore/clock.h: never goes back, the two units agree, and
 * a sleep of 20 ms shows as at least 20 ms.
 */
#include <time.h>

#include "iocore/clock.h"
#include "tests/unit/test.h"

int main(void)
{
	uint64_t prev = clock_ns(), before, ms, after;

	for (int i = 0; i < 10000; i++) {
		uint64_t now = clock_ns();

		if (now < prev)
			CHECK(!"clock_ns went back");
		prev = now;
	}
	CHECK(prev > 0);
	before = clock_ns();
	ms = clock_ms();
	after = clock_ns();
	CHECK(before / 1000000 <= ms && ms <= after / 1000000);

	before = clock_ms();
	nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
	after = clock_ms();
	CHECK(after - before >= 20);
	return test_done("test_clock");
}
