/*
 * test_metainfo.c - mi_parse() loads good .torrent files completely and
 * refuses, naming the key, everything a seeder cannot serve safely; mi_map()
 * agrees with a plain reference on where every block lives.
 *
 * The torrents are built here with the bencode encoder from a small spec
 * (struct tor), so that each refusal case differs from a good torrent by one
 * field.
 */
#include <errno.h>

#include <openssl/sha.h>

#include "proto/bencode.h"
#include "proto/metainfo.h"
#include "tests/unit/test.h"

struct tfile {
	const char *path; /* components joined by '/'; "" gives an empty list */
	int64_t length;
	const char *raw_path; /* bencoded, replaces path */
	const char *attr;     /* BEP 47 attr; NULL when absent */
};

/*
 * A torrent to build. Zero fields take defaults (a single file of 100 bytes
 * named "t" in pieces of 16); raw_* fields are bencoded values that replace a
 * key's default, with "" leaving the key out.
 */
struct tor {
	const char *name;
	int64_t piece_length;
	int64_t length; /* single-file when nfiles == 0 */
	const struct tfile *files;
	unsigned nfiles;
	int extra_pieces; /* hashes beyond (or short of) what the length needs */
	int extra_bytes;  /* bytes beyond a multiple of 20 */
	const char *source;
	const char *raw_files, *raw_length, *raw_meta_version, *raw_name, *raw_piece_length;
	const char *raw_pieces, *raw_private;
	const char *announce, *comment, *created_by;
	int64_t creation_date;
	const char *raw_announce_list, *raw_url_list, *raw_info;
};

/* A pieces value of one hash, for specs whose length would need too many. */
#define P20 "20:AAAAAAAAAAAAAAAAAAAA"

/* A file entry: plain, with a bencoded path, with a BEP 47 attr. */
/* clang-format off */
#define F(p, n)		{ .path = (p), .length = (n) }
#define FR(p, n, raw)	{ .path = (p), .length = (n), .raw_path = (raw) }
#define FA(p, n, a)	{ .path = (p), .length = (n), .attr = (a) }
/* clang-format on */

#define FILES(...)                                      \
	.files = (const struct tfile[]){ __VA_ARGS__ }, \
	.nfiles = sizeof((const struct tfile[]){ __VA_ARGS__ }) / sizeof(struct tfile)

/* A built torrent and where its info dictionary is. */
struct built {
	uint8_t *buf;
	size_t len;
	size_t info_off;
	size_t info_len;
};

/* Byte k of the pieces string: high bit set, so it never looks like text. */
static uint8_t piece_byte(size_t k)
{
	return (uint8_t)(0x80 | ((k * 7 + k / 20 * 13) & 0x7f));
}

static int64_t tor_total(const struct tor *t)
{
	int64_t total = 0;

	if (t->nfiles == 0)
		return t->length ? t->length : 100;
	for (unsigned i = 0; i < t->nfiles; i++)
		total += t->files[i].length > 0 ? t->files[i].length : 0;
	return total;
}

static int64_t tor_piece_length(const struct tor *t)
{
	return t->piece_length ? t->piece_length : 16;
}

/* raw given: write it unless it is "" ; raw NULL: the caller writes the default. */
static bool put_raw(struct bc_enc *e, const char *key, const char *raw, bool dflt)
{
	if (raw && !raw[0])
		return false;
	if (!raw && !dflt)
		return false;
	bc_enc_cstr(e, key);
	if (raw)
		bc_enc_raw(e, raw, strlen(raw));
	return !raw;
}

static void put_path(struct bc_enc *e, const char *path)
{
	const char *p = path, *slash;

	bc_enc_list(e);
	if (*path) {
		while ((slash = strchr(p, '/'))) {
			bc_enc_str(e, p, (size_t)(slash - p));
			p = slash + 1;
		}
		bc_enc_cstr(e, p);
	}
	bc_enc_end(e);
}

static void put_files(struct bc_enc *e, const struct tor *t)
{
	bc_enc_list(e);
	for (unsigned i = 0; i < t->nfiles; i++) {
		const struct tfile *f = &t->files[i];

		bc_enc_dict(e);
		if (f->attr) {
			bc_enc_cstr(e, "attr");
			bc_enc_cstr(e, f->attr);
		}
		bc_enc_cstr(e, "length");
		bc_enc_int(e, f->length);
		bc_enc_cstr(e, "path");
		if (f->raw_path)
			bc_enc_raw(e, f->raw_path, strlen(f->raw_path));
		else
			put_path(e, f->path);
		bc_enc_end(e);
	}
	bc_enc_end(e);
}

static void put_pieces(struct bc_enc *e, const struct tor *t)
{
	int64_t total = tor_total(t), pl = tor_piece_length(t);
	int64_t count = total > 0 ? total / pl + (total % pl != 0) : 0;
	size_t n;
	uint8_t *p;

	count += t->extra_pieces;
	n = (size_t)(count > 0 ? count : 0) * 20 + (size_t)t->extra_bytes;
	REQUIRE(n <= 1 << 19); /* past that, the spec wants raw_pieces */
	p = malloc(n + 1);
	REQUIRE(p);
	for (size_t k = 0; k < n; k++)
		p[k] = piece_byte(k);
	bc_enc_str(e, p, n);
	free(p);
}

static void put_info(struct bc_enc *e, const struct tor *t)
{
	bc_enc_dict(e);
	if (put_raw(e, "files", t->raw_files, t->nfiles > 0))
		put_files(e, t);
	if (put_raw(e, "length", t->raw_length, t->nfiles == 0))
		bc_enc_int(e, tor_total(t));
	put_raw(e, "meta version", t->raw_meta_version, false);
	if (put_raw(e, "name", t->raw_name, true))
		bc_enc_cstr(e, t->name ? t->name : "t");
	if (put_raw(e, "piece length", t->raw_piece_length, true))
		bc_enc_int(e, tor_piece_length(t));
	if (put_raw(e, "pieces", t->raw_pieces, true))
		put_pieces(e, t);
	put_raw(e, "private", t->raw_private, false);
	if (t->source) {
		bc_enc_cstr(e, "source");
		bc_enc_cstr(e, t->source);
	}
	bc_enc_end(e);
}

/* Builds t into a new allocation (the caller frees b->buf). */
static void build(const struct tor *t, struct built *b)
{
	size_t cap = 1 << 20;
	struct bc_enc e;
	ssize_t n;

	b->buf = malloc(cap);
	REQUIRE(b->buf);
	bc_enc_init(&e, b->buf, cap);
	bc_enc_dict(&e);
	if (t->announce) {
		bc_enc_cstr(&e, "announce");
		bc_enc_cstr(&e, t->announce);
	}
	put_raw(&e, "announce-list", t->raw_announce_list, false);
	if (t->comment) {
		bc_enc_cstr(&e, "comment");
		bc_enc_cstr(&e, t->comment);
	}
	if (t->created_by) {
		bc_enc_cstr(&e, "created by");
		bc_enc_cstr(&e, t->created_by);
	}
	if (t->creation_date) {
		bc_enc_cstr(&e, "creation date");
		bc_enc_int(&e, t->creation_date);
	}
	b->info_off = 0;
	b->info_len = 0;
	if (put_raw(&e, "info", t->raw_info, true)) {
		b->info_off = e.len;
		put_info(&e, t);
		b->info_len = e.len - b->info_off;
	}
	put_raw(&e, "url-list", t->raw_url_list, false);
	bc_enc_end(&e);
	n = bc_enc_finish(&e);
	if (n < 0)
		fprintf(stderr, "building a torrent: encoder said %zd\n", n);
	REQUIRE(n > 0);
	b->len = (size_t)n;
}

/* Parses a built torrent; reports the message when it is refused. */
static bool load_at(int line, const struct built *b, struct metainfo *mi)
{
	struct mi_err err;
	int rc = mi_parse(b->buf, b->len, mi, &err);

	test_checks++;
	if (rc == 0)
		return true;
	test_failures++;
	fprintf(stderr, "%s:%d: mi_parse refused a good torrent: %d \"%s\"\n", __FILE__, line, rc,
		err.msg);
	return false;
}

#define LOAD(b, mi) load_at(__LINE__, b, mi)

/* Expects mi_parse to refuse b with -EINVAL and a message containing want. */
static void refused_buf(int line, const uint8_t *buf, size_t len, const char *want)
{
	struct metainfo mi;
	struct mi_err err;
	int rc = mi_parse(buf, len, &mi, &err);

	test_checks++;
	if (rc == -EINVAL && strstr(err.msg, want) && mi.arena == NULL)
		return;
	test_failures++;
	fprintf(stderr, "%s:%d: mi_parse gave %d \"%s\", expected -EINVAL naming \"%s\"\n",
		__FILE__, line, rc, rc ? err.msg : "", want);
	if (rc == 0)
		mi_free(&mi);
}

static void refused_at(int line, const struct tor *t, const char *want)
{
	struct built b;

	build(t, &b);
	refused_buf(line, b.buf, b.len, want);
	free(b.buf);
}

#define REFUSED(want, ...) refused_at(__LINE__, &(struct tor){ __VA_ARGS__ }, want)

/* Replaces the first 0x01 byte of b with NUL (C strings in a spec cannot hold one). */
static void nul_at_marker(struct built *b)
{
	uint8_t *p = memchr(b->buf, 0x01, b->len);

	REQUIRE(p);
	*p = 0;
}

static void check_info_hash(const struct built *b, const struct metainfo *mi)
{
	uint8_t h[SHA_DIGEST_LENGTH];

	SHA1(b->buf + b->info_off, b->info_len, h);
	CHECK(memcmp(mi->info_hash, h, MI_HASH_LEN) == 0);
	CHECK_EQ_INT(mi->info_len, b->info_len);
	CHECK(mi->info_raw && memcmp(mi->info_raw, b->buf + b->info_off, b->info_len) == 0);
	CHECK(mi->info_raw != b->buf + b->info_off); /* a copy: the input may go away */
	CHECK(mi->info_raw[0] == 'd' && mi->info_raw[mi->info_len - 1] == 'e');
}

static void check_pieces(const struct metainfo *mi)
{
	size_t bad = 0;

	for (size_t k = 0; k < (size_t)mi->piece_count * MI_HASH_LEN; k++)
		bad += mi->pieces[k] != piece_byte(k);
	CHECK_EQ_INT(bad, 0);
	CHECK(mi->pieces > mi->info_raw && mi->pieces < mi->info_raw + mi->info_len);
}

static void test_single_file(void)
{
	struct tor t = {
		.name = "file.bin",
		.piece_length = 16384,
		.length = 40000,
		.source = "SRC",
		.raw_private = "i1e",
		.announce = "http://tracker.example/announce",
		.comment = "a comment",
		.created_by = "ringseed test",
		.creation_date = 1700000000,
		.raw_url_list = "21:http://seed.example/f",
	};
	struct built b;
	struct metainfo mi;
	uint8_t *copy;

	build(&t, &b);
	/* Parse from a copy that is wiped and freed before anything is read. */
	copy = malloc(b.len);
	REQUIRE(copy);
	memcpy(copy, b.buf, b.len);
	{
		struct built c = b;

		c.buf = copy;
		if (!LOAD(&c, &mi)) {
			free(copy);
			free(b.buf);
			return;
		}
	}
	memset(copy, 'X', b.len);
	free(copy);

	CHECK_STR(mi.name, "file.bin");
	CHECK_EQ_INT(mi.piece_length, 16384);
	CHECK_EQ_INT(mi.piece_count, 3);
	CHECK_EQ_INT(mi.total_length, 40000);
	CHECK(!mi.multi_file);
	CHECK(mi.private_torrent);
	REQUIRE(mi.file_count == 1);
	CHECK_STR(mi.files[0].path, "file.bin");
	CHECK_EQ_INT(mi.files[0].length, 40000);
	CHECK_EQ_INT(mi.files[0].offset, 0);
	CHECK(!mi.files[0].pad);
	REQUIRE(mi.tracker_count == 1);
	CHECK_STR(mi.trackers[0].url, "http://tracker.example/announce");
	CHECK_EQ_INT(mi.trackers[0].tier, 0);
	CHECK_EQ_INT(mi.tier_count, 1);
	REQUIRE(mi.web_seed_count == 1);
	CHECK_STR(mi.web_seeds[0], "http://seed.example/f");
	CHECK_STR(mi.comment, "a comment");
	CHECK_STR(mi.created_by, "ringseed test");
	CHECK_STR(mi.source, "SRC");
	CHECK_EQ_INT(mi.creation_date, 1700000000);
	CHECK_EQ_INT(mi.warning_count, 0);
	check_info_hash(&b, &mi);
	check_pieces(&mi);
	CHECK_EQ_INT(mi_piece_size(&mi, 0), 16384);
	CHECK_EQ_INT(mi_piece_size(&mi, 1), 16384);
	CHECK_EQ_INT(mi_piece_size(&mi, 2), 40000 - 2 * 16384);
	CHECK_EQ_INT(mi_piece_size(&mi, 3), 0);
	CHECK_EQ_INT(mi_piece_size(&mi, UINT32_MAX), 0);
	mi_free(&mi);
	CHECK(mi.arena == NULL && mi.files == NULL);
	mi_free(&mi); /* twice is harmless */
	free(b.buf);
}

static void test_single_file_defaults(void)
{
	struct built b;
	struct metainfo mi;

	/* Absent optional keys are NULL / 0; a length that is a multiple of the piece. */
	build(&(struct tor){ .length = 64, .piece_length = 16 }, &b);
	if (LOAD(&b, &mi)) {
		CHECK_EQ_INT(mi.piece_count, 4);
		CHECK_EQ_INT(mi_piece_size(&mi, 3), 16);
		CHECK(!mi.private_torrent);
		CHECK(mi.comment == NULL && mi.created_by == NULL && mi.source == NULL);
		CHECK_EQ_INT(mi.creation_date, 0);
		CHECK_EQ_INT(mi.tracker_count, 0);
		CHECK_EQ_INT(mi.tier_count, 0);
		CHECK_EQ_INT(mi.web_seed_count, 0);
		check_info_hash(&b, &mi);
		mi_free(&mi);
	}
	free(b.buf);
}

static void test_multi_file(void)
{
	struct tor t = {
		.name = "dir",
		.piece_length = 32,
		FILES(F("a.txt", 50), F("sub/empty", 0), F("sub/c", 30), FA(".pad/14", 14, "p"),
		      F("z", 100)),
		.announce = "http://ignored.example/a",
		.raw_announce_list = "ll9:http://a1el9:http://b19:http://b2ee",
		.raw_url_list = "l9:http://w19:http://w2e",
	};
	static const uint64_t off[] = { 0, 50, 50, 80, 94 }, len[] = { 50, 0, 30, 14, 100 };
	static const char *const path[] = { "a.txt", "sub/empty", "sub/c", ".pad/14", "z" };
	struct built b;
	struct metainfo mi;

	build(&t, &b);
	if (!LOAD(&b, &mi)) {
		free(b.buf);
		return;
	}
	CHECK_STR(mi.name, "dir");
	CHECK(mi.multi_file);
	CHECK_EQ_INT(mi.total_length, 194);
	CHECK_EQ_INT(mi.piece_count, 7);
	CHECK_EQ_INT(mi_piece_size(&mi, 6), 194 - 6 * 32);
	REQUIRE(mi.file_count == 5);
	for (unsigned i = 0; i < 5; i++) {
		CHECK_STR(mi.files[i].path, path[i]);
		CHECK_EQ_INT(mi.files[i].offset, off[i]);
		CHECK_EQ_INT(mi.files[i].length, len[i]);
		CHECK_EQ_INT(mi.files[i].pad, i == 3);
	}
	/* BEP 12: announce-list replaces announce; tiers numbered from 0. */
	REQUIRE(mi.tracker_count == 3);
	CHECK_EQ_INT(mi.tier_count, 2);
	CHECK_STR(mi.trackers[0].url, "http://a1");
	CHECK_EQ_INT(mi.trackers[0].tier, 0);
	CHECK_STR(mi.trackers[1].url, "http://b1");
	CHECK_EQ_INT(mi.trackers[1].tier, 1);
	CHECK_STR(mi.trackers[2].url, "http://b2");
	CHECK_EQ_INT(mi.trackers[2].tier, 1);
	REQUIRE(mi.web_seed_count == 2);
	CHECK_STR(mi.web_seeds[0], "http://w1");
	CHECK_STR(mi.web_seeds[1], "http://w2");
	CHECK_EQ_INT(mi.warning_count, 0);
	check_info_hash(&b, &mi);
	check_pieces(&mi);
	mi_free(&mi);
	free(b.buf);
}

static void test_trackers(void)
{
	struct built b;
	struct metainfo mi;
	struct bc_enc e;
	static uint8_t list[65536];
	ssize_t n;

	/* Empty tiers and unusable URLs are skipped, tiers stay dense. */
	build(&(struct tor){ .raw_announce_list = "llel0:ei7el8:http://a3:a b8:http://bee" }, &b);
	if (LOAD(&b, &mi)) {
		REQUIRE(mi.tracker_count == 2);
		CHECK_EQ_INT(mi.tier_count, 1);
		CHECK_STR(mi.trackers[0].url, "http://a");
		CHECK_STR(mi.trackers[1].url, "http://b");
		CHECK_EQ_INT(mi.trackers[0].tier, 0);
		CHECK_EQ_INT(mi.trackers[1].tier, 0);
		CHECK(mi.warning_count > 0);
		mi_free(&mi);
	}
	free(b.buf);

	/* An announce-list without a usable URL falls back to announce. */
	build(&(struct tor){ .announce = "udp://t:1", .raw_announce_list = "ll0:ee" }, &b);
	if (LOAD(&b, &mi)) {
		REQUIRE(mi.tracker_count == 1);
		CHECK_STR(mi.trackers[0].url, "udp://t:1");
		CHECK_EQ_INT(mi.tier_count, 1);
		mi_free(&mi);
	}
	free(b.buf);

	/* More than MI_MAX_TRACKERS: the rest dropped with a warning. */
	bc_enc_init(&e, list, sizeof(list) - 1);
	bc_enc_list(&e);
	for (int tier = 0; tier < 110; tier++) {
		bc_enc_list(&e);
		for (int i = 0; i < 10; i++) {
			char url[32];

			snprintf(url, sizeof(url), "http://t%d.%d", tier, i);
			bc_enc_cstr(&e, url);
		}
		bc_enc_end(&e);
	}
	bc_enc_end(&e);
	n = bc_enc_finish(&e);
	REQUIRE(n > 0);
	list[n] = '\0';
	build(&(struct tor){ .raw_announce_list = (const char *)list }, &b);
	if (LOAD(&b, &mi)) {
		CHECK_EQ_INT(mi.tracker_count, MI_MAX_TRACKERS);
		CHECK_STR(mi.trackers[MI_MAX_TRACKERS - 1].url, "http://t102.3");
		CHECK_EQ_INT(mi.trackers[MI_MAX_TRACKERS - 1].tier, 102);
		CHECK(mi.warning_count > 0);
		mi_free(&mi);
	}
	free(b.buf);
}

static void test_web_seeds(void)
{
	static uint8_t list[65536];
	struct built b;
	struct metainfo mi;
	struct bc_enc e;
	ssize_t n;

	/* More than MI_MAX_WEB_SEEDS. */
	bc_enc_init(&e, list, sizeof(list) - 1);
	bc_enc_list(&e);
	for (int i = 0; i < 300; i++) {
		char url[32];

		snprintf(url, sizeof(url), "http://w%d", i);
		bc_enc_cstr(&e, url);
	}
	bc_enc_end(&e);
	n = bc_enc_finish(&e);
	REQUIRE(n > 0);
	list[n] = '\0';
	build(&(struct tor){ .raw_url_list = (const char *)list }, &b);
	if (LOAD(&b, &mi)) {
		CHECK_EQ_INT(mi.web_seed_count, MI_MAX_WEB_SEEDS);
		CHECK_STR(mi.web_seeds[MI_MAX_WEB_SEEDS - 1], "http://w255");
		mi_free(&mi);
	}
	free(b.buf);

	/* url-list "" means none; unusable entries of a list are skipped, with a warning. */
	build(&(struct tor){ .raw_url_list = "0:" }, &b);
	if (LOAD(&b, &mi)) {
		CHECK_EQ_INT(mi.web_seed_count, 0);
		CHECK_EQ_INT(mi.warning_count, 0);
		mi_free(&mi);
	}
	free(b.buf);
	build(&(struct tor){ .raw_url_list = "l0:3:a\tbi1e8:http://we" }, &b);
	if (LOAD(&b, &mi)) {
		REQUIRE(mi.web_seed_count == 1);
		CHECK_STR(mi.web_seeds[0], "http://w");
		CHECK(mi.warning_count > 0);
		/* the first bad entry, named: "" */
		CHECK_STR(mi.warning, "url-list: \"\" is not a usable URL (skipped)");
		mi_free(&mi);
	}
	free(b.buf);
}

/*
 * url-list that is a dictionary (neither of BEP 19's forms): ignored, with a
 * warning, and the rest of the torrent stays intact and inside its
 * allocation. Regression test: an earlier metainfo.c sized the arena for one
 * web seed here but stored every value of the dictionary, over the info_raw
 * copy (three values) and past the arena (256 values, a heap overflow).
 */
static void test_url_list_dict(void)
{
	static char many[2048];
	struct built b;
	struct metainfo mi;
	size_t n = 0;

	build(&(struct tor){ .raw_url_list = "d1:a8:http://a1:b8:http://b1:c8:http://ce" }, &b);
	if (LOAD(&b, &mi)) {
		check_info_hash(&b, &mi);
		check_pieces(&mi);
		CHECK_EQ_INT(mi.web_seed_count, 0);
		CHECK(mi.warning_count > 0 && strstr(mi.warning, "url-list"));
		mi_free(&mi);
	}
	free(b.buf);

	/* 256 one-byte keys (0x01..0xff, then a two-byte one) in order. */
	many[n++] = 'd';
	for (int k = 1; k <= 256; k++) {
		n += (size_t)snprintf(many + n, sizeof(many) - n, k < 256 ? "1:%c1:x" : "2:%c%c1:x",
				      k < 256 ? k : 0xff, 0xff);
	}
	many[n++] = 'e';
	REQUIRE(n < sizeof(many));
	build(&(struct tor){ .length = 1, .raw_url_list = many }, &b);
	if (LOAD(&b, &mi)) {
		check_info_hash(&b, &mi);
		CHECK_EQ_INT(mi.web_seed_count, 0);
		mi_free(&mi);
	}
	free(b.buf);
}

static void test_warnings(void)
{
	static const char unsorted_top[] =
		"d4:infod6:lengthi16e4:name1:t12:piece lengthi16e6:pieces20:AAAAAAAAAAAAAAAAAAAAe"
		"8:announce9:http://a1e";
	static const char unsorted_info[] =
		"d4:infod4:name1:t6:lengthi16e12:piece lengthi16e6:pieces20:AAAAAAAAAAAAAAAAAAAAee";
	struct metainfo mi;
	struct mi_err err;
	struct bc_val root, info;
	struct bc_err bce;
	uint8_t h[SHA_DIGEST_LENGTH];

	/* Keys outside info may be unsorted: accepted, with a warning. */
	CHECK_EQ_INT(mi_parse((const uint8_t *)unsorted_top, sizeof(unsorted_top) - 1, &mi, &err),
		     0);
	if (mi.arena) {
		CHECK(mi.warning_count > 0);
		CHECK(mi.warning[0] != '\0');
		REQUIRE(mi.tracker_count == 1);
		CHECK_STR(mi.trackers[0].url, "http://a1");
		REQUIRE(bc_parse((const uint8_t *)unsorted_top, sizeof(unsorted_top) - 1,
				 BC_ALLOW_UNSORTED, &root, &bce) == 0);
		REQUIRE(bc_dict_get(&root, "info", &info));
		SHA1(info.raw, info.raw_len, h);
		CHECK(memcmp(h, mi.info_hash, sizeof(h)) == 0);
		mi_free(&mi);
	}
	/* Inside info they define the hash: refused. */
	refused_buf(__LINE__, (const uint8_t *)unsorted_info, sizeof(unsorted_info) - 1, "info:");
	CHECK(mi_parse((const uint8_t *)unsorted_info, sizeof(unsorted_info) - 1, &mi, &err) ==
		      -EINVAL &&
	      strstr(err.msg, "sorted"));
	/* Also in a dictionary nested inside info. */
	REFUSED("info:", FILES(F("a", 100)), .raw_files = "ld6:lengthi100e4:pathl1:ae4:attr0:ee");

	/*
	 * meta version 2 without a file tree is refused, v1 or not (v2 and
	 * hybrids are tested in test_metainfo_v2.c).
	 */
	REFUSED("info.file tree: missing", .raw_meta_version = "i2e");
	REFUSED("info.file tree: missing", .raw_meta_version = "i2e", .raw_pieces = "");
	REFUSED("info.meta version: not 2", .raw_meta_version = "i1e");
}

static void test_refusals(void)
{
	static const char not_dict[] = "l4:infoe";
	char long_name[MI_MAX_COMPONENT + 2];
	struct built b;

	refused_buf(__LINE__, (const uint8_t *)not_dict, sizeof(not_dict) - 1, "top level");
	refused_buf(__LINE__, (const uint8_t *)"i1e", 3, "top level");
	refused_buf(__LINE__, (const uint8_t *)"", 0, "bencoding");
	refused_buf(__LINE__, (const uint8_t *)"d4:info", 7, "bencoding");
	refused_buf(__LINE__, (const uint8_t *)"de", 2, "info: missing");
	REFUSED("info: missing", .raw_info = "");
	REFUSED("info: not a dictionary", .raw_info = "i1e");
	REFUSED("info: not a dictionary", .raw_info = "le");

	/* name */
	REFUSED("info.name", .raw_name = "");
	REFUSED("info.name", .raw_name = "0:");
	REFUSED("info.name", .raw_name = "i1e");
	REFUSED("info.name", .name = "..");
	REFUSED("info.name", .name = ".");
	REFUSED("info.name", .name = "a/b");
	REFUSED("info.name", .name = "/abs");
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	REFUSED("info.name", .name = long_name);
	build(&(struct tor){ .name = "a\001b" }, &b);
	nul_at_marker(&b);
	refused_buf(__LINE__, b.buf, b.len, "info.name");
	free(b.buf);

	/* piece length */
	REFUSED("info.piece length", .raw_piece_length = "i0e");
	REFUSED("info.piece length", .raw_piece_length = "i-16e");
	REFUSED("info.piece length", .raw_piece_length = "");
	REFUSED("info.piece length", .raw_piece_length = "2:16");
	REFUSED("info.piece length", .length = 1, .piece_length = MI_MAX_PIECE_LENGTH + 1LL);
	REFUSED("info.piece length", .length = 1, .piece_length = 1LL << 40);

	/* pieces */
	REFUSED("info.pieces", .extra_bytes = 1);
	REFUSED("info.pieces", .extra_bytes = 19);
	REFUSED("info.pieces", .extra_pieces = 1);
	REFUSED("info.pieces", .extra_pieces = -1);
	REFUSED("info.pieces", .length = 16 * 3, .extra_pieces = 1);
	REFUSED("info.pieces", .length = 16 * 3 + 1, .extra_pieces = -1);
	REFUSED("info.pieces", .raw_pieces = "");
	REFUSED("info.pieces", .raw_pieces = "i20e");
	REFUSED("info.pieces", .raw_pieces = "0:");
}

static void test_layout_refusals(void)
{
	/* length / files */
	REFUSED("info.length", .length = -1);
	REFUSED("info.length", .raw_length = "i-1e");
	REFUSED("info.length", .raw_length = "3:100");
	REFUSED("info.length", .length = (int64_t)MI_MAX_TOTAL_LENGTH + 1, .raw_pieces = P20);
	REFUSED("info.length", .length = INT64_MAX, .raw_pieces = P20);
	/* The boundary itself is a valid size: then the piece count is what is wrong. */
	REFUSED("info.pieces", .length = (int64_t)MI_MAX_TOTAL_LENGTH, .raw_pieces = P20);
	REFUSED("info:", .raw_length = "i0e");
	REFUSED("'length' and 'files'", FILES(F("a", 100)), .raw_length = "i100e");
	REFUSED("'length' and 'files'", .raw_length = "");
	REFUSED("info.files", FILES(F("a", 100)), .raw_files = "le");
	REFUSED("info.files", .raw_files = "i1e", .raw_length = "");
	REFUSED("info.files[0]", FILES(F("a", 100)), .raw_files = "li1ee");
	REFUSED("info.files[1].length", FILES(F("a", 100), F("b", -1)));
	REFUSED("info.files[0].length", FILES(F("a", 100)),
		.raw_files = "ld6:length3:1004:pathl1:aeee");
	REFUSED("info.files[0].length", FILES(F("a", 100)), .raw_files = "ld4:pathl1:aeee");
	REFUSED("info.files[0].length", FILES(F("a", (int64_t)MI_MAX_TOTAL_LENGTH + 1)),
		.raw_pieces = P20);
	REFUSED("info.files: total length",
		FILES(F("a", (int64_t)MI_MAX_TOTAL_LENGTH / 2 + 1),
		      F("b", (int64_t)MI_MAX_TOTAL_LENGTH / 2 + 1)),
		.raw_pieces = P20);
	REFUSED("info:", FILES(F("a", 0), F("b", 0)));
}

static void test_path_refusals(void)
{
	struct built b;

	REFUSED("info.files[0].path", FILES(F("", 100)));
	REFUSED("info.files[1].path", FILES(F("a", 50), FR("x", 50, "l1:ai1ee")));
	REFUSED("info.files[1].path", FILES(F("a", 50), FR("x", 50, "1:b")));
	REFUSED("info.files[0].path", FILES(F("x", 100)), .raw_files = "ld6:lengthi100eee");
	REFUSED("info.files[0].path[0]", FILES(F("/abs", 100)));
	REFUSED("info.files[0].path[1]", FILES(F("a//b", 100)));
	REFUSED("info.files[0].path[1]", FILES(F("a/", 100)));
	REFUSED("info.files[1].path[0]", FILES(F("a", 50), F("./b", 50)));
	REFUSED("info.files[1].path[1]", FILES(F("a", 50), F("b/..", 50)));
	REFUSED("info.files[0].path[0]", FILES(F("..", 100)));
	REFUSED("info.files[0].path[1]", FILES(FR("x", 100, "l1:a3:b/ce")));
	REFUSED("info.files[0].path[0]", FILES(FR("x", 100, "l1:/e")));
	build(&(struct tor){ FILES(F("a", 50), F("d/a\001b", 50)) }, &b);
	nul_at_marker(&b);
	refused_buf(__LINE__, b.buf, b.len, "info.files[1].path[1]");
	free(b.buf);
}

static void test_path_collisions(void)
{
	static char comp[MI_MAX_COMPONENT + 2], deep[4200];
	struct built b;
	size_t n = 0;

	/* Two files, one path; a file that is another's directory. */
	REFUSED("info.files", FILES(F("a", 50), F("a", 50)));
	REFUSED("info.files", FILES(F("d/x", 20), F("b", 60), F("d/x", 20)));
	REFUSED("info.files", FILES(F("a", 50), F("a/b", 50)));
	REFUSED("info.files", FILES(F("a/b/c", 50), F("a-b", 10), F("a/b", 40)));
	REFUSED("info.files", FILES(F("a/b", 50), F("a", 50)));
	/* Paths in those messages are quoted: control bytes escaped, long ones cut. */
	REFUSED("path 'a\\x01b\\x27c'", FILES(F("a\001b'c", 50), F("a\001b'c", 50)));
	memset(comp, 'L', 200);
	comp[200] = '\0';
	REFUSED("LLL...'", FILES(F(comp, 50), F(comp, 50)));

	/* Component length: MI_MAX_COMPONENT bytes fit, one more does not. */
	memset(comp, 'c', MI_MAX_COMPONENT + 1);
	snprintf(deep, sizeof(deep), "d/%s", comp);
	REFUSED("info.files[0].path[1]", FILES(F(deep, 100)));
	REFUSED("info.files[0].path[0]", FILES(F(comp, 100)));
	comp[MI_MAX_COMPONENT] = '\0';
	{
		struct metainfo mi;

		build(&(struct tor){ FILES(F(comp, 100)) }, &b);
		if (LOAD(&b, &mi)) {
			CHECK_EQ_INT(strlen(mi.files[0].path), MI_MAX_COMPONENT);
			mi_free(&mi);
		}
		free(b.buf);
	}

	/* Joined path: MI_MAX_PATH bytes fit, one more does not. */
	for (int i = 0; i < 16; i++) {
		memset(deep + n, 'p', 254);
		n += 254;
		deep[n++] = '/';
	}
	memset(deep + n, 'q', 15);
	n += 15;
	deep[n] = '\0';
	REQUIRE(n == MI_MAX_PATH);
	{
		struct metainfo mi;

		build(&(struct tor){ FILES(F(deep, 100)) }, &b);
		if (LOAD(&b, &mi)) {
			CHECK_EQ_INT(strlen(mi.files[0].path), MI_MAX_PATH);
			mi_free(&mi);
		}
		free(b.buf);
	}
	deep[n++] = 'q';
	deep[n] = '\0';
	REFUSED("info.files[0].path", FILES(F(deep, 100)));
}

/* mi_map() on a layout with empty files in the middle; pieces of 32. */
static void test_map_fixed(void)
{
	struct tor t = {
		.piece_length = 32,
		FILES(F("f0", 10), F("f1", 0), F("f2", 5), F("f3", 40), F("f4", 0), F("f5", 9),
		      F("f6", 30)),
	};
	struct built b;
	struct metainfo mi;
	struct mi_extent x[8];

	build(&t, &b);
	if (!LOAD(&b, &mi)) {
		free(b.buf);
		return;
	}
	REQUIRE(mi.total_length == 94 && mi.piece_count == 3);
	/* Inside one file. */
	CHECK_EQ_INT(mi_map(&mi, 0, 0, 8, x, 8), 1);
	CHECK(x[0].file == 0 && x[0].offset == 0 && x[0].length == 8);
	/* Across two files. */
	CHECK_EQ_INT(mi_map(&mi, 0, 12, 10, x, 8), 2);
	CHECK(x[0].file == 2 && x[0].offset == 2 && x[0].length == 3);
	CHECK(x[1].file == 3 && x[1].offset == 0 && x[1].length == 7);
	/* Across three, skipping the empty f1. */
	CHECK_EQ_INT(mi_map(&mi, 0, 5, 20, x, 8), 3);
	CHECK(x[0].file == 0 && x[0].offset == 5 && x[0].length == 5);
	CHECK(x[1].file == 2 && x[1].offset == 0 && x[1].length == 5);
	CHECK(x[2].file == 3 && x[2].offset == 0 && x[2].length == 10);
	/* A block starting exactly where an empty file sits. */
	CHECK_EQ_INT(mi_map(&mi, 0, 10, 1, x, 8), 1);
	CHECK(x[0].file == 2 && x[0].offset == 0 && x[0].length == 1);
	/* A whole middle piece: the tail of f3, (f4 empty), all of f5. */
	CHECK_EQ_INT(mi_map(&mi, 1, 0, 32, x, 8), 2);
	CHECK(x[0].file == 3 && x[0].offset == 17 && x[0].length == 23);
	CHECK(x[1].file == 5 && x[1].offset == 0 && x[1].length == 9);
	/* The end: the short last piece, and its last byte. */
	CHECK_EQ_INT(mi_map(&mi, 2, 0, 30, x, 8), 1);
	CHECK(x[0].file == 6 && x[0].offset == 0 && x[0].length == 30);
	CHECK_EQ_INT(mi_map(&mi, 2, 29, 1, x, 8), 1);
	CHECK(x[0].file == 6 && x[0].offset == 29 && x[0].length == 1);
	CHECK_EQ_INT(mi_map(&mi, 0, 31, 1, x, 8), 1);
	CHECK(x[0].file == 3 && x[0].offset == 16 && x[0].length == 1);

	/* Errors. */
	CHECK_EQ_INT(mi_map(&mi, 3, 0, 1, x, 8), -EINVAL);
	CHECK_EQ_INT(mi_map(&mi, UINT32_MAX, 0, 1, x, 8), -EINVAL);
	CHECK_EQ_INT(mi_map(&mi, 0, 30, 3, x, 8), -EINVAL);
	CHECK_EQ_INT(mi_map(&mi, 0, 32, 1, x, 8), -EINVAL);
	CHECK_EQ_INT(mi_map(&mi, 0, 0, 33, x, 8), -EINVAL);
	CHECK_EQ_INT(mi_map(&mi, 2, 20, 11, x, 8), -EINVAL);
	CHECK_EQ_INT(mi_map(&mi, 2, 30, 1, x, 8), -EINVAL);
	CHECK_EQ_INT(mi_map(&mi, 2, 0, 32, x, 8), -EINVAL);
	CHECK_EQ_INT(mi_map(&mi, 0, 0, 0, x, 8), -EINVAL);
	CHECK_EQ_INT(mi_map(&mi, 0, UINT32_MAX, 2, x, 8), -EINVAL);
	CHECK_EQ_INT(mi_map(&mi, 0, 1, UINT32_MAX, x, 8), -EINVAL);
	/* Not enough room: nothing past max is written. */
	memset(x, 0xee, sizeof(x));
	CHECK_EQ_INT(mi_map(&mi, 0, 5, 20, x, 2), -ENOSPC);
	CHECK(x[2].file == 0xeeeeeeeeu && x[2].length == 0xeeeeeeeeu);
	CHECK_EQ_INT(mi_map(&mi, 0, 0, 1, x, 0), -ENOSPC);
	CHECK_EQ_INT(mi_map(&mi, 0, 5, 20, x, 3), 3);
	mi_free(&mi);
	free(b.buf);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * The reference for mi_map(): intersect the block with every non-empty file
 * in turn. Returns the extent count, or -EINVAL.
 */
static int ref_map(const struct tfile *files, unsigned nfiles, uint64_t total, uint32_t pl,
		   uint32_t piece, uint32_t begin, uint32_t length, struct mi_extent *out)
{
	uint64_t pstart = (uint64_t)piece * pl, psize, lo, hi, at = 0;
	int n = 0;

	if (pstart >= total || length == 0)
		return -EINVAL;
	psize = total - pstart < pl ? total - pstart : pl;
	if ((uint64_t)begin + length > psize)
		return -EINVAL;
	lo = pstart + begin;
	hi = lo + length;
	for (unsigned i = 0; i < nfiles; i++) {
		uint64_t fs = at, fe = at + (uint64_t)files[i].length;
		uint64_t s = fs > lo ? fs : lo, e = fe < hi ? fe : hi;

		at = fe;
		if (s >= e)
			continue;
		out[n++] = (struct mi_extent){ .file = i,
					       .offset = s - fs,
					       .length = (uint32_t)(e - s) };
	}
	return n;
}

/* Field by field: struct mi_extent has padding. */
static bool same_extents(const struct mi_extent *a, const struct mi_extent *b, int n)
{
	for (int i = 0; i < n; i++) {
		if (a[i].file != b[i].file || a[i].offset != b[i].offset ||
		    a[i].length != b[i].length)
			return false;
	}
	return true;
}

static void test_map_random(void)
{
	static char names[16][8];
	struct tfile files[16];
	struct mi_extent got[17], want[17];
	uint64_t seed = 0x2545f4914f6cdd1dull;
	int cases = 0, bad = 0, layouts = 0;

	for (int round = 0; round < 60; round++) {
		unsigned nfiles = 1 + (unsigned)(rnd(&seed) % 16);
		uint32_t pl = 16 + (uint32_t)(rnd(&seed) % 700);
		uint64_t total = 0;
		struct built b;
		struct metainfo mi;

		for (unsigned i = 0; i < nfiles; i++) {
			uint64_t r = rnd(&seed) % 8;

			snprintf(names[i], sizeof(names[i]), "f%u", i);
			files[i] = (struct tfile){ .path = names[i] };
			/* Many empty and tiny files, so blocks cross several at once. */
			if (r >= 5)
				files[i].length = 1 + (int64_t)(rnd(&seed) % 3000);
			else if (r >= 3)
				files[i].length = 1 + (int64_t)(rnd(&seed) % 3);
			total += (uint64_t)files[i].length;
		}
		if (total == 0) {
			files[nfiles - 1].length = 1;
			total = 1;
		}
		build(&(struct tor){ .piece_length = pl, .files = files, .nfiles = nfiles }, &b);
		if (!LOAD(&b, &mi)) {
			free(b.buf);
			continue;
		}
		layouts++;
		for (int k = 0; k < 100; k++) {
			uint32_t piece = (uint32_t)(rnd(&seed) % (mi.piece_count + 1));
			uint32_t begin = (uint32_t)(rnd(&seed) % (pl + 1));
			uint32_t length = (uint32_t)(rnd(&seed) % (pl + 2));
			int w = ref_map(files, nfiles, total, pl, piece, begin, length, want);
			int g = mi_map(&mi, piece, begin, length, got, 17);

			cases++;
			if (g != w || !same_extents(got, want, g)) {
				if (bad++ < 5)
					fprintf(stderr,
						"mi_map(piece %u, begin %u, length %u), %u files, "
						"pieces of %u: %d extents, reference %d\n",
						piece, begin, length, nfiles, pl, g, w);
				continue;
			}
			if (w > 0 &&
			    mi_map(&mi, piece, begin, length, got, (unsigned)w - 1) != -ENOSPC)
				bad++;
		}
		mi_free(&mi);
		free(b.buf);
	}
	CHECK_EQ_INT(layouts, 60);
	CHECK(cases >= 6000);
	CHECK_EQ_INT(bad, 0);
}

static void test_hex(void)
{
	uint8_t h[MI_HASH_LEN];
	char out[2 * MI_HASH_LEN + 1];

	SHA1((const uint8_t *)"abc", 3, h);
	memset(out, 'X', sizeof(out));
	mi_hex(h, out);
	CHECK_STR(out, "a9993e364706816aba3e25717850c26c9cd0d89d");
	for (int i = 0; i < MI_HASH_LEN; i++)
		h[i] = (uint8_t)(i * 13 + 0x0f);
	mi_hex(h, out);
	CHECK_STR(out, "0f1c293643505d6a7784919eabb8c5d2dfecf906");
}

int main(void)
{
	test_single_file();
	test_single_file_defaults();
	test_multi_file();
	test_trackers();
	test_web_seeds();
	test_warnings();
	test_refusals();
	test_layout_refusals();
	test_path_refusals();
	test_path_collisions();
	test_map_fixed();
	test_map_random();
	test_hex();
	test_url_list_dict();
	return test_done("metainfo");
}
