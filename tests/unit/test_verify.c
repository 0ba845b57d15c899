/*
 * test_verify.c - verify_torrent() against content laid out in a temp dir.
 *
 * Two torrents are built in memory (bencode encoder + SHA-1 of generated
 * content): a single file, and a multi-file one with an empty file, a BEP 47
 * pad file and pieces spanning files. The content's mtimes are set an hour
 * back, because a file modified within VERIFY_RACY_SECONDS of a check is not
 * trusted by the next one (that rule has its own case). utimensat() leaves
 * ctime at now, which is why the mtime alone keeps them out of that rule.
 *
 * Multi-file layout, pieces of 16384 (7 pieces, the last one short):
 *
 *   a      40000  @     0   pieces 0-2
 *   empty      0  @ 40000   none
 *   .pad/1  9152  @ 40000   piece 2 (zeros, not on disk)
 *   sub/b  30000  @ 49152   pieces 3-4
 *   sub/c   5000  @ 79152   pieces 4-5
 *   z      20000  @ 84152   pieces 5-6
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "master/content/verify.h"
#include "proto/bencode.h"
#include "proto/metainfo.h"
#include "tests/unit/test.h"

#define MAX_FILES 8
#define MAX_BAD	  16

struct tfile {
	const char *path;
	uint32_t length;
	bool pad;
};

struct tor {
	const char *name;
	uint32_t piece_length;
	const struct tfile *files;
	uint32_t nfiles;
	bool single;
	uint8_t *stream; /* the content, pad files as zeros */
	uint64_t total;
	struct metainfo mi;
};

static const struct tfile multi_files[] = {
	{ "a", 40000, false },	   { "empty", 0, false },    { ".pad/1", 9152, true },
	{ "sub/b", 30000, false }, { "sub/c", 5000, false }, { "z", 20000, false },
};
static const struct tfile single_file[] = { { "single.bin", 100000, false } };

struct bad_log {
	int n;
	uint32_t piece[MAX_BAD];
	char path[MAX_BAD][64];
	uint64_t offset[MAX_BAD];
};

static int data_fd, state_fd;
static time_t base_time; /* the content's mtime: an hour ago */

static void on_bad(void *arg, uint32_t piece, const char *path, uint64_t offset)
{
	struct bad_log *log = arg;

	if (log->n < MAX_BAD) {
		log->piece[log->n] = piece;
		snprintf(log->path[log->n], sizeof(log->path[0]), "%s", path);
		log->offset[log->n] = offset;
	}
	log->n++;
}

/* The torrent's path of file i, relative to the data directory. */
static void disk_path(const struct tor *t, uint32_t i, char *out, size_t len)
{
	if (t->single)
		snprintf(out, len, "%s", t->name);
	else
		snprintf(out, len, "%s/%s", t->name, t->files[i].path);
}

static uint64_t file_offset(const struct tor *t, uint32_t i)
{
	uint64_t off = 0;

	for (uint32_t j = 0; j < i; j++)
		off += t->files[j].length;
	return off;
}

static void set_mtime(const char *path, time_t when)
{
	struct timespec ts[2] = { { .tv_sec = when }, { .tv_sec = when, .tv_nsec = 12345 } };

	REQUIRE(utimensat(data_fd, path, ts, 0) == 0);
}

/* Writes file i from the stream (as a new file), mtime base_time. */
static void write_file(const struct tor *t, uint32_t i)
{
	char path[128];
	int fd;

	disk_path(t, i, path, sizeof(path));
	fd = openat(data_fd, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, t->stream + file_offset(t, i), t->files[i].length) ==
		(ssize_t)t->files[i].length);
	close(fd);
	set_mtime(path, base_time);
}

static void encode_files(struct bc_enc *e, const struct tor *t)
{
	char comp[64], *p, *slash;

	bc_enc_cstr(e, "files");
	bc_enc_list(e);
	for (uint32_t i = 0; i < t->nfiles; i++) {
		bc_enc_dict(e);
		if (t->files[i].pad) {
			bc_enc_cstr(e, "attr");
			bc_enc_cstr(e, "p");
		}
		bc_enc_cstr(e, "length");
		bc_enc_int(e, t->files[i].length);
		bc_enc_cstr(e, "path");
		bc_enc_list(e);
		snprintf(comp, sizeof(comp), "%s", t->files[i].path);
		for (p = comp; (slash = strchr(p, '/')); p = slash + 1) {
			*slash = '\0';
			bc_enc_cstr(e, p);
		}
		bc_enc_cstr(e, p);
		bc_enc_end(e);
		bc_enc_end(e);
	}
	bc_enc_end(e);
}

/* Generates the content, writes it, and loads the .torrent describing it. */
static void make_torrent(struct tor *t)
{
	char sub[128];
	uint32_t count;
	uint8_t *pieces, *buf;
	struct bc_enc e;
	struct mi_err err;
	ssize_t len;

	for (uint32_t i = 0; i < t->nfiles; i++)
		t->total += t->files[i].length;
	count = (uint32_t)((t->total + t->piece_length - 1) / t->piece_length);
	t->stream = calloc(1, t->total);
	pieces = malloc((size_t)count * 20);
	buf = malloc(4096 + (size_t)count * 20);
	REQUIRE(t->stream && pieces && buf);
	if (!t->single) {
		snprintf(sub, sizeof(sub), "%s/sub", t->name);
		REQUIRE(mkdirat(data_fd, t->name, 0755) == 0);
		REQUIRE(mkdirat(data_fd, sub, 0755) == 0);
	}
	for (uint32_t i = 0; i < t->nfiles; i++) {
		for (uint32_t j = 0; j < t->files[i].length && !t->files[i].pad; j++)
			t->stream[file_offset(t, i) + j] = (uint8_t)random();
		if (!t->files[i].pad)
			write_file(t, i);
	}
	for (uint32_t p = 0; p < count; p++) {
		uint64_t pos = (uint64_t)p * t->piece_length;
		uint64_t n = t->total - pos < t->piece_length ? t->total - pos : t->piece_length;

		SHA1(t->stream + pos, n, pieces + (size_t)p * 20);
	}
	bc_enc_init(&e, buf, 4096 + (size_t)count * 20);
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "info");
	bc_enc_dict(&e);
	if (!t->single)
		encode_files(&e, t);
	else {
		bc_enc_cstr(&e, "length");
		bc_enc_int(&e, (int64_t)t->total);
	}
	bc_enc_cstr(&e, "name");
	bc_enc_cstr(&e, t->name);
	bc_enc_cstr(&e, "piece length");
	bc_enc_int(&e, t->piece_length);
	bc_enc_cstr(&e, "pieces");
	bc_enc_str(&e, pieces, (size_t)count * 20);
	bc_enc_end(&e);
	bc_enc_end(&e);
	len = bc_enc_finish(&e);
	REQUIRE(len > 0);
	REQUIRE(mi_parse(buf, (size_t)len, &t->mi, &err) == 0);
	REQUIRE(t->mi.piece_count == count);
	free(pieces);
	free(buf);
}

struct run {
	int rc;
	struct verify_report rep;
	struct bad_log bad;
	uint8_t have[16];
	char err[256];
};

static struct run check(const struct tor *t, int statefd, unsigned threads)
{
	struct run r = { 0 };
	struct verify_opts o = { .data_dirfd = data_fd,
				 .state_dirfd = statefd,
				 .threads = threads,
				 .bad_piece = on_bad,
				 .arg = &r.bad };

	REQUIRE(verify_bitfield_len(t->mi.piece_count) <= sizeof(r.have));
	memset(r.have, 0xff, sizeof(r.have)); /* verify must clear it */
	r.rc = verify_torrent(&t->mi, &o, r.have, &r.rep, r.err, sizeof(r.err));
	if (r.rc)
		CHECK(r.err[0] != '\0');
	if (r.rep.state_write_failed)
		fprintf(stderr, "state write failed: %s\n", strerror(r.rep.state_write_errno));
	CHECK(!r.rep.state_write_failed);
	return r;
}

/* Every piece good, bits past the last piece clear, bytes past the bitfield untouched. */
static bool all_good(const struct tor *t, const struct run *r)
{
	uint32_t n = t->mi.piece_count;
	size_t len = verify_bitfield_len(n);

	for (uint32_t p = 0; p < n; p++)
		if (!verify_has(r->have, p))
			return false;
	if (n % 8 && (r->have[len - 1] & (0xffu >> (n % 8))))
		return false;
	return r->rc == 0 && r->rep.good == n && r->rep.bad == 0 && r->bad.n == 0 &&
	       (len == sizeof(r->have) || r->have[len] == 0xff);
}

static void state_path(const struct tor *t, char *out)
{
	verify_state_name(t->mi.info_hash, out);
}

static size_t read_state(const struct tor *t, uint8_t *buf, size_t cap)
{
	char name[VERIFY_STATE_NAME_LEN];
	ssize_t n;
	int fd;

	state_path(t, name);
	fd = openat(state_fd, name, O_RDONLY);
	REQUIRE(fd >= 0);
	n = read(fd, buf, cap);
	close(fd);
	REQUIRE(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

static void write_state(const struct tor *t, const void *buf, size_t len)
{
	char name[VERIFY_STATE_NAME_LEN];
	int fd;

	state_path(t, name);
	fd = openat(state_fd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, buf, len) == (ssize_t)len);
	close(fd);
}

static bool state_exists(const struct tor *t)
{
	char name[VERIFY_STATE_NAME_LEN];

	state_path(t, name);
	return faccessat(state_fd, name, F_OK, 0) == 0;
}

/* The state file's bit for a piece. */
static bool state_bit(const struct tor *t, uint32_t piece)
{
	uint8_t buf[8192];
	size_t len = read_state(t, buf, sizeof(buf));
	struct bc_val root, have;
	struct bc_err e;

	REQUIRE(bc_parse(buf, len, 0, &root, &e) == 0);
	REQUIRE(bc_dict_get_type(&root, "have", BC_STR, &have));
	REQUIRE(have.str_len == verify_bitfield_len(t->mi.piece_count));
	return verify_has(have.str, piece);
}

/* Byte order of a bencoded key and a C string, as bencode sorts keys. */
static int key_cmp(const struct bc_val *k, const char *key)
{
	size_t n = strlen(key), m = k->str_len < n ? k->str_len : n;
	int c = memcmp(k->str, key, m);

	return c ? c : (k->str_len > n) - (k->str_len < n);
}

/*
 * A copy of the bencoded dictionary in with key's value replaced by val (the
 * key added if absent, or left out when val is NULL). Returns the new length.
 */
static size_t rewrite(const uint8_t *in, size_t len, const char *key, const char *val, size_t vlen,
		      uint8_t *out, size_t cap)
{
	struct bc_val root, k, v;
	struct bc_err e;
	struct bc_iter it;
	struct bc_enc enc;
	bool done = false;
	ssize_t n;

	REQUIRE(bc_parse(in, len, 0, &root, &e) == 0 && root.type == BC_DICT);
	bc_enc_init(&enc, out, cap);
	bc_enc_dict(&enc);
	bc_iter_init(&it, &root);
	while (bc_next(&it, &k, &v)) {
		if (val && !done && key_cmp(&k, key) > 0) {
			bc_enc_cstr(&enc, key);
			bc_enc_raw(&enc, val, vlen);
			done = true;
		}
		if (bc_str_eq(&k, key) && !val)
			continue;
		bc_enc_str(&enc, k.str, k.str_len);
		if (bc_str_eq(&k, key)) {
			bc_enc_raw(&enc, val, vlen);
			done = true;
		} else {
			bc_enc_raw(&enc, v.raw, v.raw_len);
		}
	}
	if (val && !done) {
		bc_enc_cstr(&enc, key);
		bc_enc_raw(&enc, val, vlen);
	}
	bc_enc_end(&enc);
	n = bc_enc_finish(&enc);
	REQUIRE(n > 0);
	return (size_t)n;
}

static size_t rewrite_str(const uint8_t *in, size_t len, const char *key, const char *val,
			  uint8_t *out, size_t cap)
{
	return rewrite(in, len, key, val, val ? strlen(val) : 0, out, cap);
}

/*
 * The state's files list with entry `which` rewritten (key -> val), or, with
 * key NULL, without its last entry; then the state with that list.
 */
static size_t rewrite_files(const uint8_t *in, size_t len, int which, const char *key,
			    const char *val, uint8_t *out, size_t cap)
{
	uint8_t list[8192], entry[1024];
	struct bc_val root, files, v;
	struct bc_err e;
	struct bc_iter it;
	struct bc_enc enc;
	int i = 0, count = 0;
	ssize_t n;

	REQUIRE(bc_parse(in, len, 0, &root, &e) == 0);
	REQUIRE(bc_dict_get_type(&root, "files", BC_LIST, &files));
	bc_iter_init(&it, &files);
	while (bc_next(&it, NULL, &v))
		count++;
	bc_enc_init(&enc, list, sizeof(list));
	bc_enc_list(&enc);
	bc_iter_init(&it, &files);
	for (; bc_next(&it, NULL, &v); i++) {
		if (!key && i == count - 1)
			continue;
		if (key && i == which)
			bc_enc_raw(&enc, entry,
				   rewrite_str(v.raw, v.raw_len, key, val, entry, sizeof(entry)));
		else
			bc_enc_raw(&enc, v.raw, v.raw_len);
	}
	bc_enc_end(&enc);
	n = bc_enc_finish(&enc);
	REQUIRE(n > 0);
	return rewrite(in, len, "files", (const char *)list, (size_t)n, out, cap);
}

/* A state file that must be ignored: a full check, named reason, then a good state again. */
static void expect_ignored(const struct tor *t, const char *what, const void *buf, size_t len,
			   const char *reason)
{
	struct run r;

	write_state(t, buf, len);
	r = check(t, state_fd, 2);
	CHECK(all_good(t, &r));
	CHECK_EQ_INT(r.rep.hashed, t->mi.piece_count);
	CHECK(!r.rep.reused);
	if (!strstr(r.rep.state_ignored, reason)) {
		fprintf(stderr, "%s: state_ignored \"%s\" lacks \"%s\"\n", what,
			r.rep.state_ignored, reason);
		CHECK(false);
	}
	r = check(t, state_fd, 2);
	CHECK(r.rep.reused && r.rep.hashed == 0 && all_good(t, &r));
	CHECK_STR(r.rep.state_ignored, "");
}

static void test_bad_states(const struct tor *t)
{
	static uint8_t good[8192], buf[8192];
	size_t len, n;

	CHECK(all_good(t, (struct run[]){ check(t, state_fd, 2) }));
	len = read_state(t, good, sizeof(good));
	expect_ignored(t, "garbage", "hello", 5, "not bencode");
	expect_ignored(t, "empty", "", 0, "not bencode");
	expect_ignored(t, "truncated", good, len - 1, "not bencode");
	expect_ignored(t, "half", good, len / 2, "not bencode");
	memcpy(buf, good, len);
	buf[len] = 'x';
	expect_ignored(t, "trailing", buf, len + 1, "not bencode");
	expect_ignored(t, "list", "le", 2, "not a dictionary");
	n = rewrite_str(good, len, "version", "i2e", buf, sizeof(buf));
	expect_ignored(t, "version", buf, n, "version");
	n = rewrite_str(good, len, "version", "1:1", buf, sizeof(buf));
	expect_ignored(t, "version string", buf, n, "version");
	n = rewrite_str(good, len, "piece count", "i6e", buf, sizeof(buf));
	expect_ignored(t, "piece count", buf, n, "piece count");
	n = rewrite_str(good, len, "piece length", "i16385e", buf, sizeof(buf));
	expect_ignored(t, "piece length", buf, n, "piece length");
	n = rewrite_str(good, len, "have", "0:", buf, sizeof(buf)); /* 7 pieces: 1 byte */
	expect_ignored(t, "have short", buf, n, "have");
	n = rewrite_str(good, len, "have", "i0e", buf, sizeof(buf));
	expect_ignored(t, "have int", buf, n, "have");
	n = rewrite(good, len, "have", "2:\xfe\x00", 4, buf, sizeof(buf));
	expect_ignored(t, "have long", buf, n, "have");
	n = rewrite_str(good, len, "have", "1:\xff", buf, sizeof(buf));
	expect_ignored(t, "have trailing bit", buf, n, "have");
	n = rewrite_str(good, len, "info-hash", "20:AAAAAAAAAAAAAAAAAAAA", buf, sizeof(buf));
	expect_ignored(t, "info-hash", buf, n, "info-hash");
	n = rewrite_str(good, len, "checked", "i-1e", buf, sizeof(buf));
	expect_ignored(t, "checked", buf, n, "checked");
	n = rewrite_str(good, len, "checked-ns", NULL, buf, sizeof(buf));
	expect_ignored(t, "missing key", buf, n, "not a dictionary");
	n = rewrite_str(good, len, "extra", "i0e", buf, sizeof(buf));
	expect_ignored(t, "extra key", buf, n, "not a dictionary");
	n = rewrite_str(good, len, "zzz", "i0e", buf, sizeof(buf));
	expect_ignored(t, "extra key at the end", buf, n, "not a dictionary");
	n = rewrite_files(good, len, 0, NULL, NULL, buf, sizeof(buf));
	expect_ignored(t, "a file less", buf, n, "files: 5, the torrent has 6");
	n = rewrite_files(good, len, 0, "size", "5:40000", buf, sizeof(buf));
	expect_ignored(t, "size string", buf, n, "files[0]: not a dictionary");
	n = rewrite_files(good, len, 1, "size", "i1e", buf, sizeof(buf));
	expect_ignored(t, "size", buf, n, "files[1]: size 1");
	n = rewrite_files(good, len, 3, "mtime-ns", "i1000000000e", buf, sizeof(buf));
	expect_ignored(t, "nanoseconds", buf, n, "files[3]: nanoseconds");
	n = rewrite_files(good, len, 2, "ino", "i7e", buf, sizeof(buf));
	expect_ignored(t, "pad with inode", buf, n, "files[2]: a pad file");
	n = rewrite_files(good, len, 4, "extra", "i7e", buf, sizeof(buf));
	expect_ignored(t, "file extra key", buf, n, "files[4]: not a dictionary");
}

/* A state file that is a directory: ignored, and the new state cannot replace it. */
static void test_state_is_dir(const struct tor *t)
{
	char name[VERIFY_STATE_NAME_LEN], tmp[VERIFY_STATE_NAME_LEN + 4];
	struct verify_report rep;
	struct verify_opts o = { .data_dirfd = data_fd, .state_dirfd = state_fd };
	uint8_t have[16];
	char err[256];

	state_path(t, name);
	unlinkat(state_fd, name, 0);
	REQUIRE(mkdirat(state_fd, name, 0755) == 0);
	CHECK_EQ_INT(verify_torrent(&t->mi, &o, have, &rep, err, sizeof(err)), 0);
	CHECK(strstr(rep.state_ignored, "not a regular file") != NULL);
	CHECK_EQ_INT(rep.hashed, t->mi.piece_count);
	CHECK(rep.state_write_failed);
	CHECK(rep.state_write_errno == EISDIR || rep.state_write_errno == ENOTEMPTY ||
	      rep.state_write_errno == EEXIST);
	CHECK_EQ_INT(rep.good, t->mi.piece_count);
	REQUIRE(unlinkat(state_fd, name, AT_REMOVEDIR) == 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	CHECK(faccessat(state_fd, tmp, F_OK, 0) != 0); /* the temp file is cleaned up */
}

/* First sight hashes everything and saves; the next check reuses; no state dir: always hash. */
static void test_first_and_reuse(const struct tor *t)
{
	char name[VERIFY_STATE_NAME_LEN];
	struct run r1, r2, r3;

	state_path(t, name);
	unlinkat(state_fd, name, 0);
	r1 = check(t, state_fd, 0);
	CHECK(all_good(t, &r1));
	CHECK_EQ_INT(r1.rep.hashed, t->mi.piece_count);
	CHECK_EQ_INT(r1.rep.bytes_hashed, t->total);
	CHECK(!r1.rep.reused);
	CHECK_STR(r1.rep.state_ignored, "");
	CHECK(state_exists(t));
	r2 = check(t, state_fd, 0);
	CHECK(all_good(t, &r2));
	CHECK_EQ_INT(r2.rep.hashed, 0);
	CHECK(r2.rep.reused);
	CHECK_EQ_INT(r2.rep.files_changed, 0);
	CHECK_EQ_INT(r2.rep.files_racy, 0);
	CHECK(memcmp(r1.have, r2.have, sizeof(r1.have)) == 0);
	for (int i = 0; i < 2; i++) {
		r3 = check(t, -1, 1);
		CHECK(all_good(t, &r3));
		CHECK_EQ_INT(r3.rep.hashed, t->mi.piece_count);
		CHECK(!r3.rep.reused);
	}
}

/* An mtime change rehashes exactly the pieces of that file. */
static void test_touch(const struct tor *t)
{
	struct run r;

	set_mtime("multi/sub/b", base_time + 100);
	r = check(t, state_fd, 0);
	CHECK(all_good(t, &r));
	CHECK_EQ_INT(r.rep.files_changed, 1);
	CHECK_EQ_INT(r.rep.hashed, 2); /* pieces 3 and 4 */
	CHECK(!r.rep.reused);
	r = check(t, state_fd, 0);
	CHECK(r.rep.reused && r.rep.hashed == 0 && all_good(t, &r));
}

static void flip_byte(const char *path, off_t offset, time_t mtime)
{
	uint8_t b;
	int fd = openat(data_fd, path, O_RDWR);

	REQUIRE(fd >= 0);
	REQUIRE(pread(fd, &b, 1, offset) == 1);
	b ^= 0x5a;
	REQUIRE(pwrite(fd, &b, 1, offset) == 1);
	close(fd);
	set_mtime(path, mtime);
}

/*
 * A corrupt byte makes exactly its piece bad, reported with the first file it
 * touches; the state remembers it; restoring the byte makes it good again.
 */
static void test_corrupt(const struct tor *t)
{
	struct run r;

	flip_byte("multi/a", 39999, base_time + 200);	 /* piece 2, with the pad file */
	flip_byte("multi/sub/c", 3000, base_time + 200); /* piece 5, from sub/c to z */
	r = check(t, state_fd, 3);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.rep.files_changed, 2);
	CHECK_EQ_INT(r.rep.hashed, 5); /* 0-2 and 4-5 */
	CHECK_EQ_INT(r.rep.bad, 2);
	CHECK_EQ_INT(r.rep.good, t->mi.piece_count - 2);
	CHECK(!verify_has(r.have, 2) && !verify_has(r.have, 5));
	CHECK(verify_has(r.have, 4) && verify_has(r.have, 6));
	REQUIRE(r.bad.n == 2);
	CHECK_EQ_INT(r.bad.piece[0], 2);
	CHECK_STR(r.bad.path[0], "multi/a");
	CHECK_EQ_INT(r.bad.offset[0], 32768);
	CHECK_EQ_INT(r.bad.piece[1], 5);
	CHECK_STR(r.bad.path[1], "multi/sub/c");
	CHECK_EQ_INT(r.bad.offset[1], 81920 - 79152);
	CHECK(!state_bit(t, 2) && !state_bit(t, 5) && state_bit(t, 4));

	/* Unchanged since: the state is reused and still names the bad pieces. */
	r = check(t, state_fd, 0);
	CHECK(r.rep.reused && r.rep.hashed == 0);
	CHECK_EQ_INT(r.rep.bad, 2);
	CHECK_EQ_INT(r.bad.n, 2);
	CHECK(!verify_has(r.have, 2) && !verify_has(r.have, 5));

	flip_byte("multi/a", 39999, base_time + 300);
	flip_byte("multi/sub/c", 3000, base_time + 300);
	r = check(t, state_fd, 0);
	CHECK(all_good(t, &r));
	CHECK_EQ_INT(r.rep.hashed, 5);
	CHECK(state_bit(t, 2) && state_bit(t, 5));
}

/*
 * The single file has an mtime a day ahead (clock skew): once its ctime is
 * older than the racy window, the state is trusted, not rechecked for ever.
 */
static void test_single(const struct tor *t)
{
	struct run r;

	set_mtime("single.bin", time(NULL) + 86400);
	nanosleep(&(struct timespec){ .tv_sec = VERIFY_RACY_SECONDS, .tv_nsec = 500000000 }, NULL);
	test_first_and_reuse(t);
	flip_byte("single.bin", 99999, base_time + 10);
	r = check(t, state_fd, 0);
	CHECK_EQ_INT(r.rep.hashed, 4);
	CHECK_EQ_INT(r.rep.bad, 1);
	REQUIRE(r.bad.n == 1);
	CHECK_EQ_INT(r.bad.piece[0], 3);
	CHECK_STR(r.bad.path[0], "single.bin");
	CHECK_EQ_INT(r.bad.offset[0], 98304);
	flip_byte("single.bin", 99999, base_time + 20);
	r = check(t, state_fd, 0);
	CHECK(all_good(t, &r));
}

/* Same content, size and times, another inode (a copy renamed over it): rehashed. */
static void test_new_inode(const struct tor *t)
{
	struct stat st;
	struct run r;
	int fd;

	REQUIRE(fstatat(data_fd, "multi/sub/b", &st, 0) == 0);
	fd = openat(data_fd, "multi/sub/b.new", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, t->stream + 49152, 30000) == 30000);
	REQUIRE(futimens(fd, (struct timespec[]){ st.st_atim, st.st_mtim }) == 0);
	close(fd);
	REQUIRE(renameat(data_fd, "multi/sub/b.new", data_fd, "multi/sub/b") == 0);
	r = check(t, state_fd, 0);
	CHECK(all_good(t, &r));
	CHECK_EQ_INT(r.rep.files_changed, 1);
	CHECK_EQ_INT(r.rep.hashed, 2);
}

/* Rewritten in place with its mtime put back (cp -p, rsync --inplace -t): ctime tells. */
static void test_mtime_restored(const struct tor *t)
{
	struct stat st;
	struct run r;

	REQUIRE(fstatat(data_fd, "multi/sub/b", &st, 0) == 0);
	/* Past the timestamp tick (a jiffy) of the ctime the state recorded. */
	nanosleep(&(struct timespec){ .tv_nsec = 30 * 1000 * 1000 }, NULL);
	flip_byte("multi/sub/b", 100, st.st_mtim.tv_sec);
	REQUIRE(utimensat(data_fd, "multi/sub/b", (struct timespec[]){ st.st_atim, st.st_mtim },
			  0) == 0);
	r = check(t, state_fd, 0);
	CHECK_EQ_INT(r.rep.files_changed, 1);
	CHECK_EQ_INT(r.rep.hashed, 2);
	CHECK_EQ_INT(r.rep.bad, 1);
	CHECK(!verify_has(r.have, 3));
	flip_byte("multi/sub/b", 100, base_time + 400);
	r = check(t, state_fd, 0);
	CHECK(all_good(t, &r));
}

/* A file modified just before a check is rechecked by the next one too. */
static void test_racy(const struct tor *t)
{
	struct run r;

	set_mtime("multi/z", time(NULL));
	r = check(t, state_fd, 0);
	CHECK(all_good(t, &r));
	CHECK_EQ_INT(r.rep.files_changed, 1);
	CHECK_EQ_INT(r.rep.hashed, 2); /* 5 and 6 */
	r = check(t, state_fd, 0);
	CHECK(all_good(t, &r));
	CHECK_EQ_INT(r.rep.files_changed, 0);
	CHECK_EQ_INT(r.rep.files_racy, 1);
	CHECK_EQ_INT(r.rep.hashed, 2);
	CHECK(!r.rep.reused);
	set_mtime("multi/z", base_time);
	r = check(t, state_fd, 0);
	CHECK_EQ_INT(r.rep.hashed, 2);
	r = check(t, state_fd, 0);
	CHECK(r.rep.reused && all_good(t, &r));
}

/* A content error: rc and message, nothing served, the state file untouched. */
static void expect_error(const struct tor *t, int rc, const char *msg)
{
	uint8_t before[8192], after[8192];
	size_t n1 = 0, n2 = 0;
	struct run r;

	if (state_exists(t))
		n1 = read_state(t, before, sizeof(before));
	r = check(t, state_fd, 2);
	CHECK_EQ_INT(r.rc, rc);
	CHECK_STR(r.err, msg);
	for (size_t b = 0; b < verify_bitfield_len(t->mi.piece_count); b++)
		CHECK_EQ_INT(r.have[b], 0);
	if (n1) {
		n2 = read_state(t, after, sizeof(after));
		CHECK(n1 == n2 && memcmp(before, after, n1) == 0);
	} else {
		CHECK(!state_exists(t));
	}
}

static void test_errors(struct tor *t)
{
	char name[VERIFY_STATE_NAME_LEN];
	struct run r;
	int fd = openat(data_fd, "multi/z", O_WRONLY);

	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, 19999) == 0);
	close(fd);
	expect_error(t, -EIO, "multi/z: size is 19999 bytes, expected 20000");
	state_path(t, name);
	REQUIRE(unlinkat(state_fd, name, 0) == 0);
	expect_error(t, -EIO, "multi/z: size is 19999 bytes, expected 20000");
	write_file(t, 5);

	REQUIRE(unlinkat(data_fd, "multi/empty", 0) == 0);
	expect_error(t, -ENOENT, "multi/empty: No such file or directory");
	write_file(t, 1);

	REQUIRE(unlinkat(data_fd, "multi/sub/c", 0) == 0);
	REQUIRE(mkfifoat(data_fd, "multi/sub/c", 0644) == 0);
	expect_error(t, -EINVAL, "multi/sub/c: not a regular file");
	REQUIRE(unlinkat(data_fd, "multi/sub/c", 0) == 0);
	REQUIRE(mkdirat(data_fd, "multi/sub/c", 0755) == 0);
	expect_error(t, -EINVAL, "multi/sub/c: not a regular file");
	REQUIRE(unlinkat(data_fd, "multi/sub/c", AT_REMOVEDIR) == 0);
	write_file(t, 4);

	r = check(t, state_fd, 0);
	CHECK(all_good(t, &r));
	CHECK_EQ_INT(r.rep.hashed, t->mi.piece_count);
}

int main(void)
{
	char data[] = "/tmp/ringseed-test-verify-XXXXXX", cmd[128];
	struct tor multi = { .name = "multi",
			     .piece_length = 16384,
			     .files = multi_files,
			     .nfiles = sizeof(multi_files) / sizeof(multi_files[0]) };
	struct tor single = { .name = "single.bin",
			      .piece_length = 32768,
			      .files = single_file,
			      .nfiles = 1,
			      .single = true };

	srandom(11);
	base_time = time(NULL) - 3600;
	REQUIRE(mkdtemp(data));
	data_fd = open(data, O_RDONLY | O_DIRECTORY);
	REQUIRE(data_fd >= 0);
	REQUIRE(mkdirat(data_fd, "state", 0755) == 0);
	state_fd = openat(data_fd, "state", O_RDONLY | O_DIRECTORY);
	REQUIRE(state_fd >= 0);
	make_torrent(&multi);
	make_torrent(&single);
	REQUIRE(multi.mi.piece_count == 7 && single.mi.piece_count == 4);

	test_first_and_reuse(&multi);
	test_touch(&multi);
	test_corrupt(&multi);
	test_new_inode(&multi);
	test_mtime_restored(&multi);
	test_racy(&multi);
	test_errors(&multi);
	test_bad_states(&multi);
	test_state_is_dir(&multi);
	test_single(&single);

	close(state_fd);
	close(data_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", data);
	CHECK_EQ_INT(system(cmd), 0);
	mi_free(&multi.mi);
	mi_free(&single.mi);
	free(multi.stream);
	free(single.stream);
	return test_done("test_verify");
}
