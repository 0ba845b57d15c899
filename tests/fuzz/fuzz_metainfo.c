/*
 * fuzz_metainfo.c - libFuzzer target for proto/metainfo.
 *
 * A refused input must come back with -EINVAL (or -ENOMEM), a message and
 * nothing allocated. An accepted one must hold what the header promises: safe
 * relative paths, cumulative offsets that add up to the total, a piece count
 * that matches it, the info-hash of the info dictionary exactly as in the
 * input, dense tracker tiers, and an mi_map() whose extents tile each block.
 * A v2 or hybrid one (BEP 52): every data file on a piece boundary with a
 * 32-byte pieces root inside the info dictionary, and every piece layer
 * hashing to its root.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "proto/bencode.h"
#include "proto/merkle.h"
#include "proto/metainfo.h"
#include "proto/webseed.h"
#include "tests/fuzz/fuzz.h"

static void check_component(const char *s, size_t n)
{
	ASSERT(n > 0 && n <= MI_MAX_COMPONENT);
	ASSERT(!(n == 1 && s[0] == '.') && !(n == 2 && s[0] == '.' && s[1] == '.'));
}

static void check_path(const char *path)
{
	const char *p = path, *slash;
	size_t len;

	ASSERT(path);
	len = strlen(path);
	ASSERT(len > 0 && len <= MI_MAX_PATH && path[0] != '/');
	while ((slash = strchr(p, '/'))) {
		check_component(p, (size_t)(slash - p));
		p = slash + 1;
	}
	check_component(p, strlen(p));
}

/* No two files share a path, and no file is another's directory (pad files aside). */
static void check_distinct(const struct metainfo *mi)
{
	if (mi->file_count > 512) /* quadratic; inputs that large are rare */
		return;
	for (uint32_t i = 0; i < mi->file_count; i++) {
		const char *a = mi->files[i].path;
		size_t an = strlen(a);

		for (uint32_t j = 0; j < mi->file_count; j++) {
			const char *b = mi->files[j].path;

			if (i == j || mi->files[i].pad || mi->files[j].pad)
				continue;
			ASSERT(strcmp(a, b) != 0);
			ASSERT(!(strncmp(a, b, an) == 0 && b[an] == '/'));
		}
	}
}

static void check_files(const struct metainfo *mi)
{
	uint64_t at = 0;

	ASSERT(mi->file_count >= 1 && mi->files);
	if (!mi->multi_file) {
		/* A v2 single file may have its trailing pad file (BEP 52 layout). */
		ASSERT(mi->file_count == 1 || (mi->file_count == 2 && mi->files[1].pad &&
					       mi->format == MI_FORMAT_V2));
		ASSERT(strcmp(mi->files[0].path, mi->name) == 0);
	}
	for (uint32_t i = 0; i < mi->file_count; i++) {
		check_path(mi->files[i].path);
		ASSERT(mi->files[i].offset == at);
		ASSERT(mi->files[i].length <= MI_MAX_TOTAL_LENGTH);
		at += mi->files[i].length;
	}
	ASSERT(at == mi->total_length);
	check_distinct(mi);
}

/* The info dictionary, hash and pieces are exactly those of the input. */
static void check_info(const struct metainfo *mi, const uint8_t *data, size_t size)
{
	struct bc_val root, info, pieces, strict;
	struct bc_err err;
	uint8_t h[SHA_DIGEST_LENGTH], h2[MI_HASH_V2_LEN];

	ASSERT(bc_parse(data, size, BC_ALLOW_UNSORTED, &root, &err) == 0);
	ASSERT(bc_dict_get_type(&root, "info", BC_DICT, &info));
	ASSERT(mi->info_len == info.raw_len);
	ASSERT(memcmp(mi->info_raw, info.raw, info.raw_len) == 0);
	ASSERT(bc_parse(mi->info_raw, mi->info_len, 0, &strict, &err) == 0);
	SHA256(mi->info_raw, mi->info_len, h2);
	ASSERT(memcmp(h2, mi->info_hash_v2, MI_HASH_V2_LEN) == 0);
	if (mi->format == MI_FORMAT_V2) {
		ASSERT(memcmp(h2, mi->info_hash, MI_HASH_LEN) == 0);
		ASSERT(mi->pieces == NULL);
		return;
	}
	SHA1(mi->info_raw, mi->info_len, h);
	ASSERT(memcmp(h, mi->info_hash, MI_HASH_LEN) == 0);
	ASSERT(bc_dict_get_type(&info, "pieces", BC_STR, &pieces));
	ASSERT(pieces.str_len == (size_t)mi->piece_count * MI_HASH_LEN);
	ASSERT(mi->pieces >= mi->info_raw &&
	       mi->pieces + pieces.str_len <= mi->info_raw + mi->info_len);
	ASSERT(memcmp(mi->pieces, pieces.str, pieces.str_len) == 0);
}

static void check_sizes(const struct metainfo *mi)
{
	uint64_t sum = 0;

	ASSERT(mi->name);
	check_component(mi->name, strlen(mi->name));
	ASSERT(!strchr(mi->name, '/'));
	ASSERT(mi->piece_length >= 1 && mi->piece_length <= MI_MAX_PIECE_LENGTH);
	ASSERT(mi->total_length >= 1 && mi->total_length <= MI_MAX_TOTAL_LENGTH);
	ASSERT(mi->piece_count == (mi->total_length + mi->piece_length - 1) / mi->piece_length);
	/* piece_count * 20 bytes came from the input, so this loop is bounded by it. */
	for (uint32_t i = 0; i < mi->piece_count; i++) {
		uint32_t ps = mi_piece_size(mi, i);

		ASSERT(ps >= 1 && ps <= mi->piece_length);
		ASSERT(ps == mi->piece_length || i == mi->piece_count - 1);
		sum += ps;
	}
	ASSERT(sum == mi->total_length);
	ASSERT(mi_piece_size(mi, mi->piece_count) == 0);
}

/* Every string was copied from the input, so each is shorter than it. */
static void check_lists(const struct metainfo *mi, size_t size)
{
	ASSERT(mi->tracker_count <= MI_MAX_TRACKERS);
	ASSERT(mi->tracker_count == 0 ? mi->tier_count == 0 : mi->trackers[0].tier == 0);
	for (uint32_t i = 0; i < mi->tracker_count; i++) {
		ASSERT(mi->trackers[i].url && mi->trackers[i].url[0]);
		ASSERT(mi->trackers[i].tier < mi->tier_count);
		if (i > 0)
			ASSERT(mi->trackers[i].tier - mi->trackers[i - 1].tier <= 1);
	}
	if (mi->tracker_count)
		ASSERT(mi->trackers[mi->tracker_count - 1].tier == mi->tier_count - 1);
	ASSERT(mi->web_seed_count <= MI_MAX_WEB_SEEDS);
	for (uint32_t i = 0; i < mi->web_seed_count; i++)
		ASSERT(mi->web_seeds[i] && mi->web_seeds[i][0]);
	if (mi->warning_count)
		ASSERT(mi->warning[0] && memchr(mi->warning, '\0', sizeof(mi->warning)));
	for (uint32_t i = 0; i < mi->tracker_count; i++)
		ASSERT(strlen(mi->trackers[i].url) < size);
	for (uint32_t i = 0; i < mi->web_seed_count; i++)
		ASSERT(strlen(mi->web_seeds[i]) < size);
	ASSERT(!mi->comment || strlen(mi->comment) < size);
	ASSERT(!mi->created_by || strlen(mi->created_by) < size);
	ASSERT(!mi->source || strlen(mi->source) < size);
}

/* Maps one block and checks that its extents tile it, in file order. */
static void check_block(const struct metainfo *mi, uint32_t piece, uint32_t begin, uint32_t length,
			struct mi_extent *x)
{
	uint64_t pos = (uint64_t)piece * mi->piece_length + begin, sum = 0;
	int n = mi_map(mi, piece, begin, length, x, mi->file_count);

	ASSERT(n >= 1 && (uint32_t)n <= mi->file_count);
	for (int i = 0; i < n; i++) {
		const struct mi_file *f = &mi->files[x[i].file];

		ASSERT(x[i].file < mi->file_count && x[i].length > 0 && f->length > 0);
		ASSERT(i == 0 || x[i].file > x[i - 1].file);
		ASSERT(x[i].offset < f->length && x[i].length <= f->length - x[i].offset);
		ASSERT(f->offset + x[i].offset == pos);
		pos += x[i].length;
		sum += x[i].length;
	}
	ASSERT(sum == length);
	if (n > 1)
		ASSERT(mi_map(mi, piece, begin, length, x, (unsigned)n - 1) == -ENOSPC);
}

static void check_map(const struct metainfo *mi, size_t seed)
{
	uint32_t last = mi->piece_count - 1, ls = mi_piece_size(mi, last);
	uint32_t fs = mi_piece_size(mi, 0);
	struct mi_extent *x = malloc(mi->file_count * sizeof(*x));

	ASSERT(x);
	check_block(mi, 0, 0, fs < 16384 ? fs : 16384, x);
	check_block(mi, last, ls - (ls < 16384 ? ls : 16384), ls < 16384 ? ls : 16384, x);
	check_block(mi, (uint32_t)(seed % mi->piece_count), 0,
		    mi_piece_size(mi, (uint32_t)(seed % mi->piece_count)), x);
	/* From the byte before each of the first file boundaries to the piece's end. */
	for (uint32_t i = 1; i < mi->file_count && i < 16; i++) {
		uint64_t at = mi->files[i].offset;
		uint32_t piece, begin;

		if (at == 0 || at >= mi->total_length)
			continue;
		piece = (uint32_t)((at - 1) / mi->piece_length);
		begin = (uint32_t)(at - 1 - (uint64_t)piece * mi->piece_length);
		check_block(mi, piece, begin, mi_piece_size(mi, piece) - begin, x);
	}
	ASSERT(mi_map(mi, mi->piece_count, 0, 1, x, mi->file_count) == -EINVAL);
	ASSERT(mi_map(mi, 0, 0, 0, x, mi->file_count) == -EINVAL);
	ASSERT(mi_map(mi, last, ls, 1, x, mi->file_count) == -EINVAL);
	ASSERT(mi_map(mi, last, 0, ls + 1, x, mi->file_count) == -EINVAL);
	free(x);
}

/* BEP 52: aligned files, roots inside info, layers that hash to them. */
static void check_v2(const struct metainfo *mi)
{
	uint8_t root[MK_HASH_LEN];

	ASSERT(mi->format >= MI_FORMAT_V1 && mi->format <= MI_FORMAT_HYBRID);
	for (uint32_t i = 0; i < mi->file_count; i++) {
		const struct mi_file *f = &mi->files[i];
		uint64_t count = (f->length + mi->piece_length - 1) / mi->piece_length;
		uint8_t *scratch;

		if (!(mi->format & MI_FORMAT_V2) || f->pad || f->length == 0) {
			ASSERT(!f->pieces_root && !f->layer);
			continue;
		}
		ASSERT(f->offset % mi->piece_length == 0);
		ASSERT(f->pieces_root >= mi->info_raw &&
		       f->pieces_root + MI_HASH_V2_LEN <= mi->info_raw + mi->info_len);
		ASSERT(mi_piece_file(mi, (uint32_t)(f->offset / mi->piece_length)) == i);
		ASSERT(!f->layer == (f->length <= mi->piece_length));
		if (!f->layer)
			continue;
		scratch = malloc(count * MK_HASH_LEN);
		ASSERT(scratch);
		ASSERT(mk_root_from_layer(f->layer, count, mi->piece_length, scratch, root) == 0);
		ASSERT(memcmp(root, f->pieces_root, MK_HASH_LEN) == 0);
		free(scratch);
	}
}

/*
 * BEP 52 hash requests built from the input's last 48 bytes, once as they are
 * and once aimed at each file's real root: never more hashes than asked for
 * plus a proof, and every answer inside the output buffer.
 */
static void check_hash_requests(const struct metainfo *mi, const uint8_t *data, size_t size)
{
	static uint8_t out[(MI_HASHES_MAX + MI_PROOF_MAX) * MK_HASH_LEN];
	uint8_t req[48] = { 0 };
	uint32_t count;

	memcpy(req, data + (size > 48 ? size - 48 : 0), size < 48 ? size : 48);
	if (mi_v2_hashes(mi, req, NULL, out, &count) == 0)
		ASSERT(count >= 2 && count <= MI_HASHES_MAX + MI_PROOF_MAX);
	for (uint32_t i = 0; i < mi->file_count && i < 8; i++) {
		if (!mi->files[i].layer)
			continue;
		memcpy(req, mi->files[i].pieces_root, MK_HASH_LEN);
		if (mi_v2_hashes(mi, req, NULL, out, &count) == 0)
			ASSERT(count >= 2 && count <= MI_HASHES_MAX + MI_PROOF_MAX);
	}
}

static void check_hex(const struct metainfo *mi)
{
	char hex[2 * MI_HASH_LEN + 1];

	mi_hex(mi->info_hash, hex);
	ASSERT(strlen(hex) == 2 * MI_HASH_LEN);
	for (int i = 0; i < MI_HASH_LEN; i++) {
		unsigned byte;

		ASSERT(sscanf(hex + 2 * i, "%2x", &byte) == 1 && byte == mi->info_hash[i]);
		ASSERT(!strchr("ABCDEF", hex[2 * i]) && !strchr("ABCDEF", hex[2 * i + 1]));
	}
}

/* BEP 19: every data file of every web seed has a URL that starts with the seed's. */
static void check_web_urls(const struct metainfo *mi)
{
	static char url[MI_MAX_PATH * 3 + 512];

	for (uint32_t w = 0; w < mi->web_seed_count && w < 4; w++) {
		size_t blen = strlen(mi->web_seeds[w]);

		for (uint32_t i = 0; i < mi->file_count && i < 16; i++) {
			int n = ws_file_url(mi->web_seeds[w], mi, i, url, sizeof(url));

			if (mi->files[i].pad) {
				ASSERT(n == -EINVAL);
				continue;
			}
			ASSERT(n > 0 || n == -ENOSPC);
			if (n == -ENOSPC) {
				ASSERT(blen + 3 * (strlen(mi->name) + strlen(mi->files[i].path)) + 2 >=
				       sizeof(url));
				continue;
			}
			ASSERT((size_t)n == strlen(url) && (size_t)n >= blen);
			ASSERT(memcmp(url, mi->web_seeds[w], blen) == 0);
			for (int k = (int)blen; k < n; k++) /* what we added is escaped */
				ASSERT(url[k] > ' ' && url[k] < 0x7f);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metainfo mi;
	struct mi_err err;
	int rc = mi_parse(data, size, &mi, &err);

	if (rc) {
		ASSERT(rc == -EINVAL || rc == -ENOMEM);
		ASSERT(err.msg[0] && memchr(err.msg, '\0', sizeof(err.msg)));
		ASSERT(mi.arena == NULL);
		return 0;
	}
	check_sizes(&mi);
	check_files(&mi);
	check_info(&mi, data, size);
	check_lists(&mi, size);
	check_web_urls(&mi);
	check_map(&mi, size);
	check_hex(&mi);
	check_v2(&mi);
	check_hash_requests(&mi, data, size);
	mi_free(&mi);
	ASSERT(mi.arena == NULL);
	return 0;
}
