/*
 * test_pex.c - proto/pex: BEP 11 ut_pex messages, read strictly and written.
 */
#include <errno.h>

#include "proto/bytes.h"
#include "proto/pex.h"
#include "proto/wire.h"
#include "tests/unit/test.h"

static int parse(const char *s, size_t n, struct pex_msg *m, struct ext_err *err)
{
	return pex_parse((const uint8_t *)s, n, m, err);
}

#define PARSE(lit, m, err) parse(lit, sizeof(lit) - 1, m, err)

/* What libtorrent 2.0 sends: one IPv4 peer with its flags, nothing dropped. */
static void test_parse_real(void)
{
	struct pex_msg m;
	struct ext_err err;
	struct pex_contact c;

	REQUIRE(PARSE("d5:added6:\x7f\x00\x00\x02\x1a\xe1"
		      "7:added.f1:\x10"
		      "6:added60:"
		      "8:added6.f0:7:dropped0:8:dropped60:e",
		      &m, &err) == 0);
	CHECK_EQ_INT(m.n_added, 1);
	CHECK_EQ_INT(m.n_added6, 0);
	CHECK_EQ_INT(m.n_dropped, 0);
	REQUIRE(m.added_f != NULL);
	CHECK_EQ_INT(m.added_f[0], PEX_F_REACHABLE);
	pex_contact_at(m.added, 0, 4, &c);
	CHECK_EQ_INT(c.family, 4);
	CHECK_EQ_INT(c.port, 6881);
	CHECK(c.addr[0] == 127 && c.addr[3] == 2);

	/* IPv6 and drops only; unsorted keys are read, as ext.c reads them. */
	REQUIRE(PARSE("d8:dropped618:\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x00\x50"
		      "7:dropped12:\x0a\0\0\x01\0\x01\x0a\0\0\x02\0\x02"
		      "e",
		      &m, &err) == 0);
	CHECK_EQ_INT(m.n_dropped6, 1);
	CHECK_EQ_INT(m.n_dropped, 2);
	pex_contact_at(m.dropped6, 0, 6, &c);
	CHECK_EQ_INT(c.family, 6);
	CHECK_EQ_INT(c.port, 80);
	CHECK(c.addr[0] == 0x20 && c.addr[15] == 1);
	pex_contact_at(m.dropped, 1, 4, &c);
	CHECK_EQ_INT(c.port, 2);

	/* Unknown keys are fine; flags may be absent. */
	REQUIRE(PARSE("d5:added6:\x01\x02\x03\x04\x00\x01"
		      "3:fooi1ee",
		      &m, &err) == 0);
	CHECK(m.added_f == NULL);
}

static void refused(const char *s, size_t n, const char *why)
{
	struct pex_msg m;
	struct ext_err err = { "" };

	CHECK_EQ_INT(parse(s, n, &m, &err), -EINVAL);
	if (!strstr(err.msg, why))
		fprintf(stderr, "  error '%s', want '%s'\n", err.msg, why);
	CHECK(strstr(err.msg, why) != NULL);
}

#define REFUSED(lit, why) refused(lit, sizeof(lit) - 1, why)

static void test_parse_refused(void)
{
	static char big[32 + PEX_V4_LEN * (PEX_PARSE_MAX + 1)];
	int n;

	REFUSED("", "ut_pex");
	REFUSED("\xffgarbage", "ut_pex");
	REFUSED("li1ee", "not a dictionary");
	REFUSED("de", "none of added");
	REFUSED("d3:fooi1ee", "none of added");
	REFUSED("d5:addedi1ee", "added: not a string");
	REFUSED("d5:added5:12345e", "added: not a whole number of contacts");
	REFUSED("d6:added65:12345e", "added6: not a whole number");
	REFUSED("d7:dropped7:1234567e", "dropped: not a whole number");
	REFUSED("d5:added6:\x01\x02\x03\x04\x00\x00"
		"e",
		"port 0");
	REFUSED("d5:added6:\x01\x02\x03\x04\x00\x01"
		"7:added.f2:\x00\x00"
		"e",
		"added.f: not one byte per contact");
	REFUSED("d5:added6:\x01\x02\x03\x04\x00\x01"
		"7:added.fi0ee",
		"added.f: not a string");
	REFUSED("d7:added.f0:e", "none of added"); /* flags alone say nothing */
	REFUSED("d5:added12:\x01\x02\x03\x04\x00\x01\x01\x02\x03\x04\x00\x01"
		"e",
		"added twice");
	REFUSED("d7:dropped12:\x01\x02\x03\x04\x00\x01\x01\x02\x03\x04\x00\x01"
		"e",
		"dropped twice");
	REFUSED("d5:added6:\x01\x02\x03\x04\x00\x01"
		"7:dropped6:\x01\x02\x03\x04\x00\x01"
		"e",
		"both added and dropped");
	REFUSED("d5:added6:\x01\x02\x03\x04\x00\x01", "ut_pex"); /* truncated */
	REFUSED("d5:added6:\x01\x02\x03\x04\x00\x01"
		"ex",
		"ut_pex"); /* trailing bytes */

	/* More than PEX_PARSE_MAX contacts. */
	n = snprintf(big, sizeof(big), "d5:added%d:", PEX_V4_LEN * (PEX_PARSE_MAX + 1));
	for (int i = 0; i <= PEX_PARSE_MAX; i++) {
		put_be32((uint8_t *)big + n + i * PEX_V4_LEN, 0x0a000000u + (uint32_t)i);
		put_be16((uint8_t *)big + n + i * PEX_V4_LEN + 4, 1);
	}
	big[n + PEX_V4_LEN * (PEX_PARSE_MAX + 1)] = 'e';
	refused(big, (size_t)n + PEX_V4_LEN * (PEX_PARSE_MAX + 1) + 1, "too many contacts");
}

/* What pex_put writes reads back the same, keys in order, the header right. */
static void test_put_roundtrip(void)
{
	struct pex_contact add[3] = {
		{ .family = 4, .flags = PEX_F_ENCRYPT, .port = 6881, .addr = { 10, 0, 0, 1 } },
		{ .family = 6,
		  .flags = PEX_F_SEED,
		  .port = 51413,
		  .addr = { 0x20, 0x01, [15] = 7 } },
		{ .family = 4, .flags = 0, .port = 1, .addr = { 192, 168, 1, 2 } },
	};
	struct pex_contact drop[1] = { { .family = 4, .port = 80, .addr = { 8, 8, 8, 8 } } };
	uint8_t out[PEX_PUT_CAP(3, 1)];
	struct pex_msg m;
	struct ext_err err;
	struct pex_contact c;
	ssize_t n = pex_put(out, sizeof(out), 9, add, 3, drop, 1);

	REQUIRE(n > WIRE_EXTENDED_HDR_LEN);
	CHECK_EQ_INT(get_be32(out), (uint32_t)n - 4);
	CHECK_EQ_INT(out[4], WIRE_EXTENDED);
	CHECK_EQ_INT(out[5], 9);
	CHECK(memcmp(out + 6, "d5:added12:", 11) == 0);
	REQUIRE(pex_parse(out + 6, (size_t)n - 6, &m, &err) == 0);
	CHECK_EQ_INT(m.n_added, 2);
	CHECK_EQ_INT(m.n_added6, 1);
	CHECK_EQ_INT(m.n_dropped, 1);
	CHECK_EQ_INT(m.n_dropped6, 0);
	CHECK(m.dropped6 == NULL);
	CHECK_EQ_INT(m.added_f[0], PEX_F_ENCRYPT);
	CHECK_EQ_INT(m.added_f[1], 0);
	CHECK_EQ_INT(m.added6_f[0], PEX_F_SEED);
	pex_contact_at(m.added6, 0, 6, &c);
	CHECK(c.port == 51413 && !memcmp(c.addr, add[1].addr, 16));
	pex_contact_at(m.added, 1, 4, &c);
	CHECK(c.port == 1 && !memcmp(c.addr, add[2].addr, 4));
	pex_contact_at(m.dropped, 0, 4, &c);
	CHECK(c.port == 80 && c.addr[0] == 8);

	/* Nothing to say, a bad family, no room. */
	CHECK_EQ_INT(pex_put(out, sizeof(out), 9, add, 0, drop, 0), -EINVAL);
	add[0].family = 5;
	CHECK_EQ_INT(pex_put(out, sizeof(out), 9, add, 1, NULL, 0), -EINVAL);
	add[0].family = 4;
	CHECK_EQ_INT(pex_put(out, 20, 9, add, 3, drop, 1), -ENOSPC);
	CHECK_EQ_INT(pex_put(out, 3, 9, add, 3, drop, 1), -ENOSPC);
}

/* The largest message we send fits the cap we size it by. */
static void test_put_cap(void)
{
	static struct pex_contact add[PEX_FIRST_MAX], drop[PEX_DELTA_MAX];
	static uint8_t out[PEX_PUT_CAP(PEX_FIRST_MAX, PEX_DELTA_MAX)];
	struct pex_msg m;
	struct ext_err err;
	ssize_t n;

	for (int i = 0; i < PEX_FIRST_MAX; i++)
		add[i] = (struct pex_contact){
			.family = 6,
			.port = 65535,
			.addr = { 1, [14] = (uint8_t)(i >> 8), [15] = (uint8_t)i }
		};
	for (int i = 0; i < PEX_DELTA_MAX; i++)
		drop[i] = (struct pex_contact){ .family = 6,
						.port = 65535,
						.addr = { 2, [15] = (uint8_t)i } };
	n = pex_put(out, sizeof(out), 1, add, PEX_FIRST_MAX, drop, PEX_DELTA_MAX);
	REQUIRE(n > 0);
	REQUIRE(pex_parse(out + 6, (size_t)n - 6, &m, &err) == 0);
	CHECK_EQ_INT(m.n_added6, PEX_FIRST_MAX);
	CHECK_EQ_INT(m.n_dropped6, PEX_DELTA_MAX);
}

int main(void)
{
	test_parse_real();
	test_parse_refused();
	test_put_roundtrip();
	test_put_cap();
	return test_done("pex");
}
