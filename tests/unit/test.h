/*
 * test.h - the few macros ringseed's C unit tests share.
 *
 * A unit test is a small program: it exits 0 when every check passed, 1 when
 * one failed and 77 when it skipped (after saying why). CHECK keeps going
 * after a failure so one run shows every broken case; REQUIRE stops.
 * A program that made no check at all fails: it tested nothing.
 */
#ifndef RINGSEED_TEST_H
#define RINGSEED_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		test_checks++;                                                                   \
		if (!(cond)) {                                                                   \
			test_failures++;                                                         \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                                \
	} while (0)

/* Evaluates cond once: it may have side effects (REQUIRE(fd = open(...))). */
#define REQUIRE(cond)                                                                        \
	do {                                                                                 \
		test_checks++;                                                               \
		if (!(cond)) {                                                               \
			test_failures++;                                                     \
			fprintf(stderr, "%s:%d: required: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                             \
		}                                                                            \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                    \
	do {                                                                                  \
		long long a_ = (long long)(a), b_ = (long long)(b);                           \
		test_checks++;                                                                \
		if (a_ != b_) {                                                               \
			test_failures++;                                                      \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, \
				__LINE__, #a, a_, #b, b_);                                    \
		}                                                                             \
	} while (0)

#define CHECK_STR(a, b)                                                                     \
	do {                                                                                \
		const char *a_ = (a), *b_ = (b);                                            \
		test_checks++;                                                              \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                    \
			test_failures++;                                                    \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, \
				__LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)");      \
		}                                                                           \
	} while (0)

static inline int test_done(const char *name)
{
	fprintf(stderr, "%s: %d checks, %d failed\n", name, test_checks, test_failures);
	if (test_checks == 0) {
		fprintf(stderr, "%s: no check ran\n", name);
		return 1;
	}
	return test_failures ? 1 : 0;
}

#endif
