/*
 * test_magnet.c - proto/magnet: magnet links read, and refused with a reason.
 */
#include <errno.h>

#include "proto/magnet.h"
#include "tests/unit/test.h"

static int parse(const char *s, struct magnet *m, struct magnet_err *err)
{
	return magnet_parse(s, strlen(s), m, err);
}

static const uint8_t hash[20] = { 0xc1, 0x2f, 0xe1, 0xc0, 0x6b, 0xba, 0x25, 0x4a, 0x9d, 0xc9,
				  0xf5, 0x19, 0xb3, 0x35, 0xaa, 0x7c, 0x13, 0x67, 0xa8, 0x8a };

/* What `ringseed info` prints, and what clients write. */
static void test_hex(void)
{
	static struct magnet m;
	struct magnet_err err;

	REQUIRE(parse("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
		      "&dn=My+Release%20v1&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce"
		      "&tr=udp%3A%2F%2Ft.example%3A80&x.pe=127.0.0.1:6881&x.pe=%5B%3A%3A1%5D%3A7000",
		      &m, &err) == 0);
	CHECK(m.has_v1 && !m.has_v2);
	CHECK(memcmp(m.info_hash, hash, 20) == 0);
	CHECK_STR(m.dn, "My Release v1");
	CHECK_EQ_INT(m.n_tr, 2);
	CHECK_STR(m.tr[0], "http://127.0.0.1:6969/announce");
	CHECK_STR(m.tr[1], "udp://t.example:80");
	CHECK_EQ_INT(m.n_pe, 2);
	CHECK_STR(m.pe[0], "127.0.0.1:6881");
	CHECK_STR(m.pe[1], "[::1]:7000");
	CHECK_EQ_INT(m.skipped, 0);

	/* Upper-case hex and prefix, unknown keys, empty pairs, a key without '='. */
	REQUIRE(parse("MAGNET:?&foo=bar&xt=URN:BTIH:C12FE1C06BBA254A9DC9F519B335AA7C1367A88A&&ws",
		      &m, &err) == 0);
	CHECK(memcmp(m.info_hash, hash, 20) == 0);
	CHECK_STR(m.dn, "");
	CHECK_EQ_INT(m.n_tr, 0);
	CHECK(magnet_is_link("magnet:?xt=") && !magnet_is_link("/tmp/a.torrent"));
}

/* 32 base32 letters are the same 20 bytes (RFC 4648). */
static void test_base32(void)
{
	static struct magnet m;
	struct magnet_err err;

	REQUIRE(parse("magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK", &m, &err) == 0);
	CHECK(memcmp(m.info_hash, hash, 20) == 0);
	REQUIRE(parse("magnet:?xt=urn:btih:yex6dqdlxisuvhoj6um3gnnkpqjwpkek", &m, &err) == 0);
	CHECK(memcmp(m.info_hash, hash, 20) == 0);
}

/* A hybrid: both hashes, in numbered xt keys. */
static void test_v2(void)
{
	static struct magnet m;
	struct magnet_err err;

	REQUIRE(parse("magnet:?xt.1=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
		      "&xt.2=urn:btmh:1220"
		      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		      &m, &err) == 0);
	CHECK(m.has_v1 && m.has_v2);
	CHECK(m.info_hash2[0] == 0x00 && m.info_hash2[1] == 0x11 && m.info_hash2[31] == 0xff);
	REQUIRE(parse("magnet:?xt=urn:btmh:1220"
		      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		      &m, &err) == 0);
	CHECK(!m.has_v1 && m.has_v2);
}

/* Repeats and overflow are skipped and counted, not refused. */
static void test_bounds(void)
{
	static struct magnet m;
	struct magnet_err err;
	char link[MAGNET_LEN_MAX + 16];
	size_t n;

	n = (size_t)snprintf(link, sizeof(link),
			     "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a");
	for (int i = 0; i < MAGNET_TR_MAX + 3; i++)
		n += (size_t)snprintf(link + n, sizeof(link) - n, "&tr=http://h%d/a", i);
	n += (size_t)snprintf(link + n, sizeof(link) - n, "&tr=http://h0/a");
	REQUIRE(parse(link, &m, &err) == 0);
	CHECK_EQ_INT(m.n_tr, MAGNET_TR_MAX);
	CHECK_EQ_INT(m.skipped, 4);

	memset(link, 'a', sizeof(link));
	memcpy(link, "magnet:?", 8);
	CHECK(magnet_parse(link, MAGNET_LEN_MAX + 1, &m, &err) == -EINVAL);
	CHECK(strstr(err.msg, "at most") != NULL);
}

#define REFUSED(link, why)                                                  \
	do {                                                                \
		CHECK(parse(link, &m, &err) == -EINVAL);                    \
		if (!strstr(err.msg, why))                                  \
			fprintf(stderr, "%s: said \"%s\"\n", link, err.msg); \
		CHECK(strstr(err.msg, why) != NULL);                        \
	} while (0)

static void test_refused(void)
{
	static struct magnet m;
	struct magnet_err err;

	REFUSED("http://x/a.torrent", "not a magnet link");
	REFUSED("magnet:?dn=x", "no urn:btih:");
	REFUSED("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88", "39 characters");
	REFUSED("magnet:?xt=urn:btih:g12fe1c06bba254a9dc9f519b335aa7c1367a88a", "not all digits");
	REFUSED("magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKE1", "not all digits");
	REFUSED("magnet:?xt=urn:btmh:1220abcd", "64 hex digits");
	REFUSED("magnet:?xt=urn:btmh:1114abcd", "sha2-256");
	REFUSED("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&tr=http%3", "escape");
	REFUSED("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&tr=a%zzb", "escape");
	REFUSED("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&tr=", "tr: empty");
	REFUSED("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&tr=a%0Ab", "control");
	CHECK(magnet_parse("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&tr=\0a", 66, &m,
			   &err) == -EINVAL);
	REFUSED("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&x.pe=host", "HOST:PORT");
	REFUSED("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&x.pe=h:0", "HOST:PORT");
	REFUSED("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&x.pe=h:65536",
		"HOST:PORT");
	REFUSED("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&x.pe=[::1:80",
		"HOST:PORT");
	REFUSED("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=%4", "dn: a bad");
}

int main(void)
{
	test_hex();
	test_base32();
	test_v2();
	test_bounds();
	test_refused();
	return test_done("magnet");
}
