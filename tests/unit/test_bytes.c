/*
 * test_bytes.c - proto/bytes.h: big-endian loads and stores against fixed
 * byte patterns, hex digits, and percent-encoding of every byte value and
 * back, with the escapes a decoder must refuse.
 */
#include "proto/bytes.h"
#include "tests/unit/test.h"

static void test_be(void)
{
	static const uint8_t want[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	uint8_t b[9] = { 0 };

	CHECK_EQ_INT(get_be16(want), 0x0123);
	CHECK_EQ_INT(get_be32(want), 0x01234567);
	CHECK(get_be64(want) == 0x0123456789abcdefull);
	CHECK_EQ_INT(get_be32(want + 4), 0x89abcdef); /* no sign extension from the top bit */
	CHECK_EQ_INT(get_be16(want + 6), 0xcdef);

	put_be16(b + 1, 0xcdef); /* unaligned on purpose */
	CHECK(b[0] == 0 && b[1] == 0xcd && b[2] == 0xef && b[3] == 0);
	put_be32(b + 1, 0x89abcdef);
	CHECK(memcmp(b + 1, want + 4, 4) == 0 && b[0] == 0 && b[5] == 0);
	put_be64(b + 1, 0x0123456789abcdefull);
	CHECK(memcmp(b + 1, want, 8) == 0 && b[0] == 0);
}

static void test_hex(void)
{
	static const char upper[] = "0123456789ABCDEF";

	for (int c = 0; c < 256; c++) {
		static const char lower[] = "0123456789abcdef";
		const char *lo = memchr(lower, c, 16), *up = memchr(upper, c, 16);
		int want = c && lo ? (int)(lo - lower) : c && up ? (int)(up - upper) : -1;

		CHECK_EQ_INT(hex_val((char)c), want);
	}
	for (unsigned v = 0; v < 32; v++)
		CHECK_EQ_INT(hex_upper(v), upper[v & 15]);
}

/* Every byte: unreserved ones as they are, the rest %XX in upper case; and back. */
static void test_pct(void)
{
	static const char unreserved[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					 "0123456789-._~";
	char e[3], want[4];

	for (int c = 0; c < 256; c++) {
		size_t n = pct_encode_byte(e, (uint8_t)c);
		bool plain = c && memchr(unreserved, c, sizeof(unreserved) - 1);

		CHECK_EQ_INT(pct_unreserved((uint8_t)c), plain);
		if (plain) {
			CHECK(n == 1 && e[0] == c);
			continue;
		}
		snprintf(want, sizeof(want), "%%%02X", c);
		CHECK(n == 3 && memcmp(e, want, 3) == 0);
		CHECK_EQ_INT(pct_decode_byte(e, 3), c);
	}
	CHECK_EQ_INT(pct_decode_byte("%2b", 3), 0x2b); /* lower case decodes too */
	CHECK_EQ_INT(pct_decode_byte("%2", 2), -1);    /* the input ends */
	CHECK_EQ_INT(pct_decode_byte("%2B", 2), -1);   /* n is the bound, not the NUL */
	CHECK_EQ_INT(pct_decode_byte("%G0", 3), -1);
	CHECK_EQ_INT(pct_decode_byte("%0g", 3), -1);
	CHECK_EQ_INT(pct_decode_byte("%+1", 3), -1);
}

int main(void)
{
	test_be();
	test_hex();
	test_pct();
	return test_done("test_bytes");
}
