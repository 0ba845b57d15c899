/*
 * test_fast.c - BEP 6's allowed fast set against the example in the BEP
 * (80.4.4.200, an info-hash of twenty 0xaa bytes, 1313 pieces), its /24
 * masking, and the edges: more pieces asked than the torrent has, none.
 */
#include "proto/fast.h"
#include "tests/unit/test.h"

static const uint32_t bep6_ip = (80u << 24) | (4u << 16) | (4u << 8) | 200u;

static void test_bep6_vectors(void)
{
	static const uint32_t want7[] = { 1059, 431, 808, 1217, 287, 376, 1188 };
	static const uint32_t want9[] = { 1059, 431, 808, 1217, 287, 376, 1188, 353, 508 };
	uint8_t ih[20];
	uint32_t out[9];

	memset(ih, 0xaa, sizeof(ih));
	CHECK_EQ_INT(fast_allowed_set(bep6_ip, ih, 1313, 7, out), 7);
	for (size_t i = 0; i < 7; i++)
		CHECK_EQ_INT(out[i], want7[i]);
	CHECK_EQ_INT(fast_allowed_set(bep6_ip, ih, 1313, 9, out), 9);
	for (size_t i = 0; i < 9; i++)
		CHECK_EQ_INT(out[i], want9[i]);
	/* The last octet does not count: the same set for the whole /24. */
	CHECK_EQ_INT(fast_allowed_set(bep6_ip & 0xffffff00u, ih, 1313, 9, out), 9);
	for (size_t i = 0; i < 9; i++)
		CHECK_EQ_INT(out[i], want9[i]);
	CHECK_EQ_INT(fast_allowed_set(bep6_ip ^ 0x100u, ih, 1313, 9, out), 9);
	CHECK(out[0] != 1059 || out[1] != 431);
}

static void test_edges(void)
{
	uint8_t ih[20] = { 1 };
	uint32_t out[8];
	int seen[5] = { 0 };

	CHECK_EQ_INT(fast_allowed_set(bep6_ip, ih, 5, 8, out), 5); /* every piece, once */
	for (size_t i = 0; i < 5; i++) {
		REQUIRE(out[i] < 5);
		seen[out[i]]++;
	}
	for (size_t i = 0; i < 5; i++)
		CHECK_EQ_INT(seen[i], 1);
	CHECK_EQ_INT(fast_allowed_set(bep6_ip, ih, 0, 8, out), 0);
	CHECK_EQ_INT(fast_allowed_set(bep6_ip, ih, 100, 0, out), 0);
	CHECK_EQ_INT(fast_allowed_set(bep6_ip, ih, 1, 3, out), 1);
	CHECK_EQ_INT(out[0], 0);
}

int main(void)
{
	test_bep6_vectors();
	test_edges();
	return test_done("fast");
}
