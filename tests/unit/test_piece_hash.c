/*
 * test_piece_hash.c - the parallel hasher against a one-buffer reference.
 *
 * Lays out random files (empty ones, pad files, pieces spanning several
 * files) in a temporary directory, hashes them with 1..4 threads and several
 * piece sizes, and compares every digest with SHA-1 over the concatenation.
 * Then the failures: a missing file, a short one, a directory in its place.
 * With an `only` mask, just the selected pieces are hashed, the other digests
 * are left alone, and files that only unselected pieces touch are not opened.
 * BEP 52: over a file-aligned layout, the SHA-256 piece roots (computed in
 * the same pass as SHA-1) equal a per-file merkle computation. Files of
 * 1 MiB and more are hashed from a mapping: a second layout of such files
 * mixed with small ones and pad files checks that path the same ways.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "master/content/piece_hash.h"
#include "proto/merkle.h"
#include "tests/unit/test.h"

#define NFILES 7

static const uint64_t sizes[NFILES] = { 5000, 0, 1, 16384, 0, 70001, 123457 };
static const bool pads[NFILES] = { false, false, false, true, false, false, false };
static const char *const names[NFILES] = { "a", "e1", "b", "pad", "e2", "sub/c", "sub/d" };

static uint8_t *stream;
static uint64_t stream_len;

static void write_file(int dirfd, const char *name, const uint8_t *data, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	REQUIRE(fd >= 0);
	REQUIRE(write(fd, data, len) == (ssize_t)len);
	close(fd);
}

/* The files on disk and the same bytes as one stream (pad files are zeros). */
static void make_tree(int dirfd)
{
	uint64_t off = 0;

	for (int i = 0; i < NFILES; i++)
		stream_len += sizes[i];
	stream = calloc(1, stream_len);
	REQUIRE(stream);
	REQUIRE(mkdirat(dirfd, "sub", 0755) == 0);
	for (int i = 0; i < NFILES; i++) {
		for (uint64_t j = 0; j < sizes[i] && !pads[i]; j++)
			stream[off + j] = (uint8_t)random();
		if (!pads[i])
			write_file(dirfd, names[i], stream + off, sizes[i]);
		off += sizes[i];
	}
}

static void set_files(struct ph_file *files)
{
	for (int i = 0; i < NFILES; i++)
		files[i] =
			(struct ph_file){ .path = names[i], .length = sizes[i], .zero = pads[i] };
}

static void check_layout(int dirfd, uint32_t plen, unsigned threads)
{
	uint32_t count = (uint32_t)((stream_len + plen - 1) / plen);
	uint8_t *got = calloc(count, 20), want[20];
	struct ph_file files[NFILES];
	struct ph_job job = { .dirfd = dirfd,
			      .files = files,
			      .file_count = NFILES,
			      .piece_length = plen,
			      .piece_count = count,
			      .threads = threads,
			      .digests = got };
	int bad = 0;

	REQUIRE(got);
	set_files(files);
	CHECK_EQ_INT(ph_run(&job), 0);
	CHECK_EQ_INT(job.bytes, stream_len);
	for (uint32_t p = 0; p < count; p++) {
		uint64_t start = (uint64_t)p * plen;
		uint64_t n = stream_len - start < plen ? stream_len - start : plen;

		SHA1(stream + start, n, want);
		bad += memcmp(want, got + 20 * p, 20) != 0;
	}
	if (bad)
		fprintf(stderr, "piece length %u, %u threads: %d bad digests\n", plen, threads,
			bad);
	CHECK_EQ_INT(bad, 0);
	free(got);
}

/* BEP 52 piece roots of one file's bytes, as the piece layer has them. */
static void v2_expect(const uint8_t *data, uint64_t len, uint32_t plen, uint8_t *out)
{
	uint32_t per = plen / MK_BLOCK_SIZE;
	uint64_t n = (len + MK_BLOCK_SIZE - 1) / MK_BLOCK_SIZE;
	uint8_t *leaves = malloc(n * 32 + 32);

	REQUIRE(leaves);
	mk_leaves(data, len, leaves);
	if (len <= plen) {
		mk_reduce(leaves, n, mk_pow2(n), 0, out);
	} else {
		for (uint64_t p = 0; p * per < n; p++)
			mk_reduce(leaves + p * per * 32, n - p * per < per ? n - p * per : per, per,
				  0, out + p * 32);
	}
	free(leaves);
}

/* a, sub/c and sub/d each on a piece boundary, with pad files between. */
static void check_v2(int dirfd, uint32_t plen, unsigned threads)
{
	static const int real[3] = { 0, 5, 6 };
	uint64_t src[3] = { 0, 5000 + 1 + 16384, 5000 + 1 + 16384 + 70001 };
	struct ph_file files[5];
	uint32_t n = 0, count = 0, firsts[3];
	uint8_t *got, *got1, *want;

	for (int k = 0; k < 3; k++) {
		uint64_t len = sizes[real[k]];
		uint32_t pieces = (uint32_t)((len + plen - 1) / plen);

		firsts[k] = count;
		files[n++] = (struct ph_file){ .path = names[real[k]], .length = len };
		count += pieces;
		if (k < 2 && len % plen)
			files[n++] = (struct ph_file){ .path = "pad", .length = plen - len % plen,
						       .zero = true };
	}
	got = calloc(count, 32), got1 = calloc(count, 20), want = calloc(count, 32);
	REQUIRE(got && got1 && want);
	{
		struct ph_job job = { .dirfd = dirfd, .files = files, .file_count = n,
				      .piece_length = plen, .piece_count = count,
				      .threads = threads, .digests = got1, .digests_v2 = got };

		CHECK_EQ_INT(ph_run(&job), 0);
	}
	for (int k = 0; k < 3; k++)
		v2_expect(stream + src[k], sizes[real[k]], plen, want + firsts[k] * 32);
	CHECK(memcmp(got, want, (size_t)count * 32) == 0);
	free(got);
	free(got1);
	free(want);
}

/* Hashes every third piece and the last one; the other digests keep their 0xaa. */
static void check_only(int dirfd, uint32_t plen, unsigned threads)
{
	uint32_t count = (uint32_t)((stream_len + plen - 1) / plen), want_pieces = 0;
	uint8_t *got = malloc((size_t)count * 20), *only = calloc(1, (count + 7) / 8), want[20];
	struct ph_file files[NFILES];
	struct ph_job job = { .dirfd = dirfd,
			      .files = files,
			      .file_count = NFILES,
			      .piece_length = plen,
			      .piece_count = count,
			      .threads = threads,
			      .digests = got,
			      .only = only };
	uint64_t want_bytes = 0;
	int bad = 0;

	REQUIRE(got && only);
	memset(got, 0xaa, (size_t)count * 20);
	for (uint32_t p = 0; p < count; p++)
		if (p % 3 == 1 || p == count - 1)
			only[p / 8] |= (uint8_t)(0x80u >> (p % 8));
	set_files(files);
	CHECK_EQ_INT(ph_run(&job), 0);
	for (uint32_t p = 0; p < count; p++) {
		uint64_t start = (uint64_t)p * plen;
		uint64_t n = stream_len - start < plen ? stream_len - start : plen;

		if (only[p / 8] & (0x80u >> (p % 8))) {
			SHA1(stream + start, n, want);
			want_pieces++;
			want_bytes += n;
		} else {
			memset(want, 0xaa, sizeof(want));
		}
		bad += memcmp(want, got + 20 * p, 20) != 0;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(job.pieces, want_pieces);
	CHECK_EQ_INT(job.bytes, want_bytes);
	CHECK(job.threads_used >= 1 && job.threads_used <= want_pieces);
	free(got);
	free(only);
}

/* Only the first piece (inside "a"): a missing sub/c is never opened. */
static void check_only_avoids(int dirfd)
{
	struct ph_file files[NFILES];
	uint8_t digests[20 * 64], only[8] = { 0x80 }, want[20];
	struct ph_job job = { .dirfd = dirfd,
			      .files = files,
			      .file_count = NFILES,
			      .piece_length = 4096,
			      .threads = 4,
			      .digests = digests,
			      .only = only };

	job.piece_count = (uint32_t)((stream_len + 4095) / 4096);
	REQUIRE(job.piece_count <= 64);
	set_files(files);
	CHECK_EQ_INT(ph_run(&job), 0);
	CHECK_EQ_INT(job.pieces, 1);
	CHECK_EQ_INT(job.threads_used, 1);
	SHA1(stream, 4096, want);
	CHECK(memcmp(want, digests, 20) == 0);
}

static void check_failure(int dirfd, const char *damage, const char *want_text)
{
	struct ph_file files[NFILES];
	uint8_t digests[20 * 64];
	struct ph_job job = { .dirfd = dirfd,
			      .files = files,
			      .file_count = NFILES,
			      .piece_length = 4096,
			      .threads = 2,
			      .digests = digests };

	job.piece_count = (uint32_t)((stream_len + 4095) / 4096);
	REQUIRE(job.piece_count <= 64);
	set_files(files);
	CHECK(ph_run(&job) < 0);
	if (!strstr(job.err, want_text)) {
		fprintf(stderr, "%s: error \"%s\" lacks \"%s\"\n", damage, job.err, want_text);
		CHECK(false);
	}
}

/*
 * Mapped files (>= 1 MiB) beside read ones and pad files: SHA-1 over the
 * stream (pieces across the boundaries) and, aligned, the BEP 52 roots.
 */
static void check_mapped(int dirfd)
{
	static const uint64_t msz[] = { (1u << 20) + 12345, 5000, (2u << 20) + 1 };
	static const char *const mnames[] = { "m1", "m2", "m3" };
	uint64_t total = 0, off[3];
	uint8_t *data, *got, *got1, *want;
	struct ph_file files[5];

	for (int k = 0; k < 3; k++) {
		off[k] = total;
		total += msz[k];
	}
	data = malloc(total);
	REQUIRE(data);
	for (uint64_t j = 0; j < total; j++)
		data[j] = (uint8_t)random();
	for (int k = 0; k < 3; k++) {
		write_file(dirfd, mnames[k], data + off[k], msz[k]);
		files[k] = (struct ph_file){ .path = mnames[k], .length = msz[k] };
	}
	/* v1, unaligned: pieces span the mapped and the read files. */
	for (uint32_t plen = 1000; plen <= (1u << 20); plen *= 32) {
		uint32_t count = (uint32_t)((total + plen - 1) / plen);
		uint8_t md[20];
		int bad = 0;

		got1 = calloc(count, 20);
		REQUIRE(got1);
		struct ph_job job = { .dirfd = dirfd, .files = files, .file_count = 3,
				      .piece_length = plen, .piece_count = count,
				      .threads = 3, .digests = got1 };
		CHECK_EQ_INT(ph_run(&job), 0);
		for (uint32_t p = 0; p < count; p++) {
			uint64_t st = (uint64_t)p * plen;

			SHA1(data + st, total - st < plen ? total - st : plen, md);
			bad += memcmp(md, got1 + 20 * p, 20) != 0;
		}
		CHECK_EQ_INT(bad, 0);
		free(got1);
	}
	/* Hybrid: each file on a piece boundary, pad files between. */
	for (uint32_t plen = 16384; plen <= (1u << 20); plen *= 8) {
		uint32_t n = 0, count = 0, firsts[3];
		uint8_t *stream2;
		uint64_t slen;

		for (int k = 0; k < 3; k++) {
			firsts[k] = count;
			files[n++] = (struct ph_file){ .path = mnames[k], .length = msz[k] };
			count += (uint32_t)((msz[k] + plen - 1) / plen);
			if (k < 2 && msz[k] % plen)
				files[n++] = (struct ph_file){ .path = "pad",
							       .length = plen - msz[k] % plen,
							       .zero = true };
		}
		slen = (uint64_t)firsts[2] * plen + msz[2];
		stream2 = calloc(1, slen);
		got = calloc(count, 32), got1 = calloc(count, 20), want = calloc(count, 32);
		REQUIRE(stream2 && got && got1 && want);
		for (int k = 0; k < 3; k++)
			memcpy(stream2 + (uint64_t)firsts[k] * plen, data + off[k], msz[k]);
		struct ph_job job = { .dirfd = dirfd, .files = files, .file_count = n,
				      .piece_length = plen, .piece_count = count,
				      .threads = 2, .digests = got1, .digests_v2 = got };
		CHECK_EQ_INT(ph_run(&job), 0);
		CHECK_EQ_INT(job.bytes, slen);
		for (int k = 0; k < 3; k++)
			v2_expect(data + off[k], msz[k], plen, want + firsts[k] * 32);
		CHECK(memcmp(got, want, (size_t)count * 32) == 0);
		for (uint32_t p = 0; p < count; p++) {
			uint64_t st = (uint64_t)p * plen;
			uint8_t md[20];

			SHA1(stream2 + st, slen - st < plen ? slen - st : plen, md);
			CHECK(memcmp(md, got1 + 20 * p, 20) == 0);
		}
		free(stream2);
		free(got);
		free(got1);
		free(want);
		for (int k = 0; k < 3; k++)
			files[k] = (struct ph_file){ .path = mnames[k], .length = msz[k] };
	}
	for (int k = 0; k < 3; k++)
		unlinkat(dirfd, mnames[k], 0);
	free(data);
}

int main(void)
{
	char dir[] = "/tmp/ringseed-test-ph-XXXXXX";
	static const uint32_t plens[] = { 1, 1000, 4096, 16384, 65536, 1 << 20 };
	uint8_t one = 'x';
	int dirfd;

	srandom(7);
	REQUIRE(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	REQUIRE(dirfd >= 0);
	make_tree(dirfd);
	for (size_t i = 0; i < sizeof(plens) / sizeof(plens[0]); i++)
		for (unsigned t = 1; t <= 4; t++)
			check_layout(dirfd, plens[i], t);
	for (size_t i = 0; i < sizeof(plens) / sizeof(plens[0]); i++)
		for (unsigned t = 1; t <= 4; t += 3)
			check_only(dirfd, plens[i], t);
	CHECK(ph_cpu_count() >= 1);
	for (uint32_t plen = 16384; plen <= 262144; plen *= 4)
		for (unsigned t = 1; t <= 3; t += 2)
			check_v2(dirfd, plen, t);
	check_mapped(dirfd);

	/* Shrink sub/c by one byte, then make it a directory, then remove it. */
	write_file(dirfd, "sub/c", stream + 5000 + 1 + 16384, sizes[5] - 1);
	check_failure(dirfd, "short file", "sub/c: size is 70000 bytes, expected 70001");
	write_file(dirfd, "sub/c", &one, 0);
	REQUIRE(unlinkat(dirfd, "sub/c", 0) == 0);
	REQUIRE(mkdirat(dirfd, "sub/c", 0755) == 0);
	check_failure(dirfd, "directory", "sub/c: not a regular file");
	REQUIRE(unlinkat(dirfd, "sub/c", AT_REMOVEDIR) == 0);
	check_failure(dirfd, "missing file", "sub/c: No such file or directory");
	check_only_avoids(dirfd);

	for (int i = 0; i < NFILES; i++)
		unlinkat(dirfd, names[i], 0);
	unlinkat(dirfd, "sub", AT_REMOVEDIR);
	close(dirfd);
	rmdir(dir);
	free(stream);
	return test_done("test_piece_hash");
}
