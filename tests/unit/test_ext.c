/*
 * test_ext.c - proto/ext: the peer's extended handshake (BEP 10, BEP 21) and
 * ut_metadata messages (BEP 9), read and written.
 */
#include <errno.h>

#include "proto/ext.h"
#include "proto/wire.h"
#include "tests/unit/test.h"

static int hs_parse(const char *s, struct ext_peer_hs *hs, struct ext_err *err)
{
	return ext_handshake_parse((const uint8_t *)s, strlen(s), hs, err);
}

/* What libtorrent 2.0 sends, keys and all (trimmed of its yourip bytes). */
static void test_handshake_real(void)
{
	struct ext_peer_hs hs;
	struct ext_err err;
	const char *lt = "d12:complete_agoi-1e1:md11:lt_donthavei7e10:share_modei8e"
			 "11:upload_onlyi3e12:ut_holepunchi4e11:ut_metadatai2e6:ut_pexi1ee"
			 "13:metadata_sizei31235e1:pi6881e4:reqqi500e11:upload_onlyi1e"
			 "1:v18:libtorrent/2.0.8.0e";

	REQUIRE(hs_parse(lt, &hs, &err) == 0);
	CHECK_EQ_INT(hs.ut_metadata, 2);
	CHECK_EQ_INT(hs.ut_pex, 1);
	CHECK(hs.upload_only);
	CHECK_EQ_INT(hs.port, 6881);
	CHECK_EQ_INT(hs.reqq, 500);
	CHECK_EQ_INT(hs.metadata_size, 31235);
	CHECK_STR(hs.client, "libtorrent/2.0.8.0");
	CHECK_EQ_INT(hs.skipped, 0);

	/* A leecher with nothing: no upload_only, no metadata yet. */
	REQUIRE(hs_parse("d1:md11:ut_metadatai3eee", &hs, &err) == 0);
	CHECK_EQ_INT(hs.ut_metadata, 3);
	CHECK(!hs.upload_only);
	CHECK_EQ_INT(hs.port, 0);
	CHECK_EQ_INT(hs.reqq, 0);
	CHECK_EQ_INT(hs.metadata_size, -1);
	CHECK_STR(hs.client, "");

	/* upload_only 0 is a leecher; unsorted keys are accepted. */
	REQUIRE(hs_parse("d11:upload_onlyi0e1:md11:ut_metadatai0eee", &hs, &err) == 0);
	CHECK(!hs.upload_only);
	CHECK_EQ_INT(hs.ut_metadata, 0); /* 0: the peer disabled it */

	/* An empty dictionary is a handshake that says nothing. */
	REQUIRE(hs_parse("de", &hs, &err) == 0);
	CHECK_EQ_INT(hs.ut_metadata, 0);
}

/* Known keys with wrong types or values are skipped and counted, not fatal. */
static void test_handshake_odd(void)
{
	struct ext_peer_hs hs;
	struct ext_err err;

	REQUIRE(hs_parse("d1:mi3e1:pi70000e4:reqqi0e11:upload_only3:yes1:vi1ee", &hs, &err) == 0);
	CHECK_EQ_INT(hs.skipped, 5);
	CHECK_STR(hs.first_skipped, "m");
	CHECK(!hs.upload_only);
	CHECK_EQ_INT(hs.port, 0);
	CHECK_EQ_INT(hs.reqq, 0);

	REQUIRE(hs_parse("d1:md11:ut_metadatai256e6:ut_pexi-1eee", &hs, &err) == 0);
	CHECK_EQ_INT(hs.ut_metadata, 0);
	CHECK_EQ_INT(hs.ut_pex, 0);
	CHECK_EQ_INT(hs.skipped, 2);
	CHECK_STR(hs.first_skipped, "ut_metadata");

	REQUIRE(hs_parse("d1:md11:ut_metadatai255ee13:metadata_sizei-5ee", &hs, &err) == 0);
	CHECK_EQ_INT(hs.ut_metadata, 255);
	CHECK_EQ_INT(hs.metadata_size, -1);
	CHECK_STR(hs.first_skipped, "metadata_size");

	/* The client name is cut and made printable. */
	REQUIRE(hs_parse("d1:v5:a\x01\xff"
			 "b\ne",
			 &hs, &err) == 0);
	CHECK_STR(hs.client, "a??b?");
	{
		char big[200];
		int n = snprintf(big, sizeof(big), "d1:v100:%0100de", 0);

		REQUIRE(n > 0 &&
			ext_handshake_parse((const uint8_t *)big, (size_t)n, &hs, &err) == 0);
		CHECK_EQ_INT(strlen(hs.client), EXT_CLIENT_MAX - 1);
	}
}

static void test_handshake_refused(void)
{
	static const struct {
		const char *in, *why;
	} cases[] = {
		{ "", "extended handshake: " },
		{ "le", "extended handshake: not a dictionary" },
		{ "i1e", "extended handshake: not a dictionary" },
		{ "d1:md", "extended handshake: " },
		{ "d1:mdeex", "extended handshake: " },	      /* trailing bytes */
		{ "d1:pi1e1:pi2ee", "extended handshake: " }, /* duplicate key */
		{ "d1:p99999999999999999999999ee", "extended handshake: " },
		{ "d3:abc", "extended handshake: " },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ext_peer_hs hs;
		struct ext_err err = { "" };

		CHECK_EQ_INT(hs_parse(cases[i].in, &hs, &err), -EINVAL);
		if (strncmp(err.msg, cases[i].why, strlen(cases[i].why)) != 0)
			fprintf(stderr, "case %zu: %s\n", i, err.msg);
		CHECK(strncmp(err.msg, cases[i].why, strlen(cases[i].why)) == 0);
	}
	{
		struct ext_peer_hs hs;
		struct ext_err err;

		CHECK_EQ_INT(hs_parse("d1:md", &hs, &err), -EINVAL);
		CHECK(strstr(err.msg, "at byte") != NULL);
	}
}

static int meta_parse(const char *s, size_t n, struct ext_meta_msg *m, struct ext_err *err)
{
	return ext_meta_parse((const uint8_t *)s, n, m, err);
}

static void test_meta_parse(void)
{
	static const char data[] = "d8:msg_typei1e5:piecei2e10:total_sizei40000eeXYZ";
	struct ext_meta_msg m;
	struct ext_err err;

	REQUIRE(meta_parse("d8:msg_typei0e5:piecei7ee", 25, &m, &err) == 0);
	CHECK_EQ_INT(m.type, EXT_META_REQUEST);
	CHECK_EQ_INT(m.piece, 7);
	CHECK_EQ_INT(m.total_size, -1);
	CHECK_EQ_INT(m.data_len, 0);

	REQUIRE(meta_parse(data, sizeof(data) - 1, &m, &err) == 0);
	CHECK_EQ_INT(m.type, EXT_META_DATA);
	CHECK_EQ_INT(m.piece, 2);
	CHECK_EQ_INT(m.total_size, 40000);
	CHECK_EQ_INT(m.data_len, 3);
	CHECK(m.data == (const uint8_t *)data + sizeof(data) - 4 && memcmp(m.data, "XYZ", 3) == 0);

	/* Out-of-range values parse: rejecting them is the caller's (BEP 9). */
	REQUIRE(meta_parse("d8:msg_typei0e5:piecei9223372036854775807ee", 43, &m, &err) == 0);
	CHECK_EQ_INT(m.piece, INT64_MAX);
	REQUIRE(meta_parse("d8:msg_typei0e5:piecei-1ee", 26, &m, &err) == 0);
	CHECK_EQ_INT(m.piece, -1);
	REQUIRE(meta_parse("d8:msg_typei9e5:piecei0ee", 25, &m, &err) == 0);
	CHECK_EQ_INT(m.type, 9);
	/* Unsorted keys, as some clients write them. */
	REQUIRE(meta_parse("d5:piecei1e8:msg_typei2ee", 25, &m, &err) == 0);
	CHECK_EQ_INT(m.type, EXT_META_REJECT);
	CHECK_EQ_INT(m.piece, 1);
}

static void test_meta_refused(void)
{
	static const struct {
		const char *in, *why;
	} cases[] = {
		{ "", "ut_metadata: " },
		{ "x", "ut_metadata: " },
		{ "d8:msg_typei0e5:piecei0e", "ut_metadata: " },
		{ "li0ee", "ut_metadata: not a dictionary" },
		{ "d5:piecei0ee", "ut_metadata: msg_type missing or not an integer" },
		{ "d8:msg_type1:05:piecei0ee", "ut_metadata: msg_type missing or not an integer" },
		{ "d8:msg_typei0ee", "ut_metadata: piece missing or not an integer" },
		{ "d8:msg_typei0e5:piece1:0e", "ut_metadata: piece missing or not an integer" },
		{ "d8:msg_typei0e5:piecei00ee", "ut_metadata: " },
		{ "d8:msg_typei0e5:piecei99999999999999999999ee", "ut_metadata: " },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ext_meta_msg m;
		struct ext_err err = { "" };

		CHECK_EQ_INT(meta_parse(cases[i].in, strlen(cases[i].in), &m, &err), -EINVAL);
		if (strncmp(err.msg, cases[i].why, strlen(cases[i].why)) != 0)
			fprintf(stderr, "case %zu: %s\n", i, err.msg);
		CHECK(strncmp(err.msg, cases[i].why, strlen(cases[i].why)) == 0);
	}
}

static void test_meta_pieces(void)
{
	CHECK_EQ_INT(ext_meta_pieces(0), 0);
	CHECK_EQ_INT(ext_meta_pieces(1), 1);
	CHECK_EQ_INT(ext_meta_pieces(16384), 1);
	CHECK_EQ_INT(ext_meta_pieces(16385), 2);
	CHECK_EQ_INT(ext_meta_piece_len(16385, 0), 16384);
	CHECK_EQ_INT(ext_meta_piece_len(16385, 1), 1);
	CHECK_EQ_INT(ext_meta_piece_len(16385, 2), 0);
	CHECK_EQ_INT(ext_meta_piece_len(32768, 1), 16384);
	CHECK_EQ_INT(ext_meta_piece_len(100, UINT32_MAX), 0);
	CHECK_EQ_INT(ext_meta_pieces(UINT64_MAX), UINT32_MAX);
}

/* out must be the whole message: prefix, 20, ext_id, then dict; tail more bytes promised. */
static void expect_msg(int line, const uint8_t *out, ssize_t n, uint8_t ext_id, const char *dict,
		       uint32_t tail)
{
	size_t len = strlen(dict);
	uint32_t prefix = (uint32_t)(2 + len + tail);
	uint8_t want[EXT_META_HDR_CAP];

	want[0] = (uint8_t)(prefix >> 24);
	want[1] = (uint8_t)(prefix >> 16);
	want[2] = (uint8_t)(prefix >> 8);
	want[3] = (uint8_t)prefix;
	want[4] = WIRE_EXTENDED;
	want[5] = ext_id;
	memcpy(want + 6, dict, len);
	test_checks++;
	if (n == (ssize_t)(len + 6) && memcmp(out, want, len + 6) == 0)
		return;
	test_failures++;
	fprintf(stderr, "%s:%d: %zd bytes, expected %zu: %.*s\n", __FILE__, line, n, len + 6,
		n > 6 ? (int)n - 6 : 0, (const char *)out + 6);
}

static void test_meta_encode(void)
{
	uint8_t out[EXT_META_HDR_CAP];
	struct ext_meta_msg m;
	struct ext_err err;
	ssize_t n;

	n = ext_put_meta_request(out, sizeof(out), 3, 5);
	expect_msg(__LINE__, out, n, 3, "d8:msg_typei0e5:piecei5ee", 0);
	n = ext_put_meta_reject(out, sizeof(out), 2, INT64_MIN);
	expect_msg(__LINE__, out, n, 2, "d8:msg_typei2e5:piecei-9223372036854775808ee", 0);
	n = ext_put_meta_data(out, sizeof(out), 2, 1, 20000, 3616);
	expect_msg(__LINE__, out, n, 2, "d8:msg_typei1e5:piecei1e10:total_sizei20000ee", 3616);
	/* The longest one still fits in EXT_META_HDR_CAP. */
	n = ext_put_meta_data(out, sizeof(out), 255, UINT32_MAX, INT64_MAX, EXT_META_PIECE);
	CHECK(n > 0 && n <= EXT_META_HDR_CAP);
	REQUIRE(n > 0);
	REQUIRE(ext_meta_parse(out + 6, (size_t)n - 6, &m, &err) == 0);
	CHECK_EQ_INT(m.type, EXT_META_DATA);
	CHECK_EQ_INT(m.piece, UINT32_MAX);
	CHECK_EQ_INT(m.total_size, INT64_MAX);

	CHECK_EQ_INT(ext_put_meta_data(out, sizeof(out), 2, 0, 1, EXT_META_PIECE + 1), -EINVAL);
	CHECK_EQ_INT(ext_put_meta_data(out, sizeof(out), 2, 0, (uint64_t)INT64_MAX + 1, 1),
		     -EINVAL);
	CHECK_EQ_INT(ext_put_meta_request(out, 5, 2, 0), -ENOSPC);
	CHECK_EQ_INT(ext_put_meta_request(out, 20, 2, 0), -ENOSPC);
	/* Exactly enough room. */
	CHECK_EQ_INT(ext_put_meta_request(out, 31, 2, 0), 31);
}

/* Our handshake as wire.h writes it reads back through the parser here. */
static void test_roundtrip_ours(void)
{
	static const uint8_t ip[4] = { 127, 0, 0, 9 };
	struct wire_ext_handshake ours = { .client = "ringseed 0.1",
					   .reqq = 500,
					   .listen_port = 6881,
					   .metadata_size = 123456,
					   .yourip = ip,
					   .yourip_len = 4,
					   .upload_only = true,
					   .ut_metadata = 3 };
	uint8_t out[WIRE_EXT_HANDSHAKE_CAP];
	struct ext_peer_hs hs;
	struct ext_err err;
	ssize_t n = wire_put_ext_handshake(out, sizeof(out), &ours);

	REQUIRE(n > 6);
	REQUIRE(ext_handshake_parse(out + 6, (size_t)n - 6, &hs, &err) == 0);
	CHECK_EQ_INT(hs.ut_metadata, 3);
	CHECK_EQ_INT(hs.ut_pex, 0);
	CHECK(hs.upload_only);
	CHECK_EQ_INT(hs.port, 6881);
	CHECK_EQ_INT(hs.reqq, 500);
	CHECK_EQ_INT(hs.metadata_size, 123456);
	CHECK_STR(hs.client, "ringseed 0.1");
	CHECK_EQ_INT(hs.skipped, 0);
}

int main(void)
{
	test_handshake_real();
	test_handshake_odd();
	test_handshake_refused();
	test_meta_parse();
	test_meta_refused();
	test_meta_pieces();
	test_meta_encode();
	test_roundtrip_ours();
	return test_done("ext");
}
