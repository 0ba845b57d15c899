/*
 * test_metainfo_enc.c - the .torrent encoder, byte for byte and through mi_parse().
 *
 * A small single-file torrent is compared with its exact encoding (keys in
 * sorted order, optional keys left out when unset). A multi-file one with
 * trackers in tiers, web seeds and every optional key is loaded back with
 * mi_parse() and compared field by field. Then the edges: announce-list only
 * with more than one URL, empty path components dropped, a buffer one byte
 * short (-ENOSPC), a single-file torrent with two files (-EINVAL), and the
 * bound covering what is written.
 */
#include <errno.h>

#include "proto/metainfo.h"
#include "proto/metainfo_enc.h"
#include "tests/unit/test.h"

static uint8_t out[1 << 16];

static const char *const piece_a = "AAAAAAAAAAAAAAAAAAAA";

static void test_exact_single(void)
{
	static const char want[] = "d8:announce17:http://t/announce"
				   "4:infod6:lengthi5e4:name1:f12:piece lengthi16384e"
				   "6:pieces20:AAAAAAAAAAAAAAAAAAAAee";
	struct mi_v2_file f = { .path = "f", .length = 5 };
	struct mi_tracker t = { .url = "http://t/announce" };
	struct mi_enc m = {
		.name = "f",
		.files = &f,
		.file_count = 1,
		.piece_length = 16384,
		.pieces = (const uint8_t *)piece_a,
		.piece_count = 1,
		.trackers = &t,
		.tracker_count = 1,
	};
	ssize_t n = mi_encode(&m, out, sizeof(out));

	CHECK_EQ_INT(n, (ssize_t)strlen(want));
	CHECK(n > 0 && memcmp(out, want, (size_t)n) == 0);
	CHECK((size_t)n <= mi_enc_bound(&m));
	/* One byte short of the whole: the encoder says so instead of cutting. */
	CHECK_EQ_INT(mi_encode(&m, out, strlen(want) - 1), -ENOSPC);
}

static const struct mi_v2_file tree[] = {
	{ .path = "a", .length = 16384 },
	{ .path = "b/x", .length = 0 },
	{ .path = "sub/c", .length = 1 },
	{ .path = "sub//d", .length = 16383 }, /* the empty component is dropped: sub/d */
};
static const struct mi_tracker tiers[] = {
	{ "http://one/announce", 0 },
	{ "udp://two:6969", 0 },
	{ "https://three/announce", 1 },
};
static const char *const seeds[] = { "http://w1/", "https://w2/files/" };

static void check_tree(const struct metainfo *mi)
{
	CHECK_STR(mi->name, "t");
	CHECK(mi->multi_file);
	CHECK(mi->private_torrent);
	CHECK_EQ_INT(mi->piece_length, 16384);
	CHECK_EQ_INT(mi->piece_count, 2);
	CHECK_EQ_INT(mi->total_length, 32768);
	CHECK(memcmp(mi->pieces, "AAAAAAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBBBBB", 40) == 0);
	REQUIRE(mi->file_count == 4);
	CHECK_STR(mi->files[1].path, "b/x");
	CHECK_STR(mi->files[3].path, "sub/d");
	CHECK_EQ_INT(mi->files[3].offset, 16385);
	REQUIRE(mi->tracker_count == 3);
	CHECK_EQ_INT(mi->tier_count, 2);
	CHECK_STR(mi->trackers[1].url, "udp://two:6969");
	CHECK_EQ_INT(mi->trackers[1].tier, 0);
	CHECK_STR(mi->trackers[2].url, "https://three/announce");
	CHECK_EQ_INT(mi->trackers[2].tier, 1);
	REQUIRE(mi->web_seed_count == 2);
	CHECK_STR(mi->web_seeds[1], "https://w2/files/");
	CHECK_STR(mi->comment, "a comment");
	CHECK_STR(mi->created_by, "ringseed");
	CHECK_STR(mi->source, "site");
	CHECK_EQ_INT(mi->creation_date, 1700000000);
	CHECK_EQ_INT(mi->warning_count, 0);
}

static void test_tree_round_trip(void)
{
	struct mi_enc m = {
		.name = "t",
		.multi_file = true,
		.files = tree,
		.file_count = 4,
		.piece_length = 16384,
		.pieces = (const uint8_t *)"AAAAAAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBBBBB",
		.piece_count = 2,
		.private_torrent = true,
		.trackers = tiers,
		.tracker_count = 3,
		.web_seeds = seeds,
		.web_seed_count = 2,
		.comment = "a comment",
		.created_by = "ringseed",
		.source = "site",
		.creation_date = 1700000000,
	};
	struct metainfo mi;
	struct mi_err err;
	ssize_t n = mi_encode(&m, out, sizeof(out));

	REQUIRE(n > 0);
	CHECK((size_t)n <= mi_enc_bound(&m));
	if (mi_parse(out, (size_t)n, &mi, &err) != 0) {
		fprintf(stderr, "mi_parse: %s\n", err.msg);
		REQUIRE(!"the encoding loads");
	}
	check_tree(&mi);
	mi_free(&mi);
}

/* No trackers: neither key. One tracker: announce only, no announce-list. */
static void test_tracker_keys(void)
{
	static const char one[] = "8:announce19:http://one/announce";
	struct mi_v2_file f = { .path = "f", .length = 1 };
	struct mi_enc m = {
		.name = "f",
		.files = &f,
		.file_count = 1,
		.piece_length = 16384,
		.pieces = (const uint8_t *)piece_a,
		.piece_count = 1,
	};
	ssize_t n = mi_encode(&m, out, sizeof(out));

	REQUIRE(n > 0);
	CHECK(memmem(out, (size_t)n, "announce", 8) == NULL);
	m.trackers = tiers;
	m.tracker_count = 1;
	n = mi_encode(&m, out, sizeof(out));
	REQUIRE(n > 0);
	CHECK(memmem(out, (size_t)n, one, sizeof(one) - 1) != NULL);
	CHECK(memmem(out, (size_t)n, "announce-list", 13) == NULL);
}

static void test_refusals(void)
{
	struct mi_enc m = {
		.name = "t",
		.files = tree,
		.file_count = 2, /* single-file, yet two files */
		.piece_length = 16384,
		.pieces = (const uint8_t *)piece_a,
		.piece_count = 1,
	};

	CHECK_EQ_INT(mi_encode(&m, out, sizeof(out)), -EINVAL);
	m.file_count = 0;
	CHECK_EQ_INT(mi_encode(&m, out, sizeof(out)), -EINVAL);
}

int main(void)
{
	test_exact_single();
	test_tree_round_trip();
	test_tracker_keys();
	test_refusals();
	return test_done("test_metainfo_enc");
}
