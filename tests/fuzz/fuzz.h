/*
 * fuzz.h - what the libFuzzer targets share: the entry point's prototype and
 * an invariant check that aborts, so libFuzzer keeps the input that broke it.
 */
#ifndef RINGSEED_FUZZ_H
#define RINGSEED_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c)                                                                                 \
	do {                                                                                      \
		if (!(c)) {                                                                       \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                                  \
		}                                                                                 \
	} while (0)

#endif
