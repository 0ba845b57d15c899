/*
 * fast.c - BEP 6's canonical allowed fast set.
 *
 * x = (ip & 0xffffff00) as 4 big-endian bytes, then the 20-byte info-hash;
 * repeatedly x = SHA1(x), and each of its five 32-bit big-endian words
 * modulo the piece count names a piece, duplicates skipped, until k are found.
 */
#include <openssl/sha.h>
#include <string.h>

#include "proto/fast.h"

static int fast_has(const uint32_t *set, size_t n, uint32_t v)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == v)
			return 1;
	return 0;
}

size_t fast_allowed_set(uint32_t ip, const uint8_t info_hash[20], uint32_t piece_count, size_t k,
			uint32_t *out)
{
	uint8_t x[SHA_DIGEST_LENGTH + 4];
	size_t n = 0;

	if (k == 0 || piece_count == 0)
		return 0;
	if (k > piece_count)
		k = piece_count; /* every piece, in the order found; terminates */
	/* BEP 6: one set for a whole /24, as for peers behind one NAT. */
	ip &= 0xffffff00u;
	x[0] = (uint8_t)(ip >> 24);
	x[1] = (uint8_t)(ip >> 16);
	x[2] = (uint8_t)(ip >> 8);
	x[3] = 0;
	memcpy(x + 4, info_hash, 20);
	SHA1(x, 24, x);
	for (;;) {
		for (size_t i = 0; i < 5 && n < k; i++) {
			const uint8_t *y = x + 4 * i;
			uint32_t word = (uint32_t)y[0] << 24 | (uint32_t)y[1] << 16 |
					(uint32_t)y[2] << 8 | y[3];
			uint32_t v = word % piece_count;

			if (!fast_has(out, n, v))
				out[n++] = v;
		}
		if (n >= k)
			return n;
		SHA1(x, SHA_DIGEST_LENGTH, x);
	}
}
