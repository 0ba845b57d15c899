/*
 * fetch_hash.c - is a piece that came from peers the torrent's piece?
 *
 * v1: its SHA-1 against `pieces`. v2 (BEP 52): the SHA-256 of each 16 KiB
 * block of the file's bytes in the piece (what follows the file's end in
 * the piece is padding, not hashed), reduced with proto/merkle.c to the
 * piece's subtree root and compared with its entry in the file's piece
 * layer; a file no longer than a piece has no layer, and its own leaves,
 * padded to a power of two, must reduce to its `pieces root`. A hybrid
 * piece must pass both, so that a later check by either hash set (verify.c
 * picks the faster) agrees with what the fetcher wrote.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "master/fetch/fetch_int.h"
#include "proto/merkle.h"

static int fhash_v2(const struct metainfo *mi, uint32_t index, const uint8_t *buf, uint32_t size)
{
	const uint8_t *want = mi_piece_hash_v2(mi, index);
	int64_t fi = mi_piece_file(mi, index);
	uint64_t pos = (uint64_t)index * mi->piece_length, end, bytes, n, width;
	uint8_t root[MK_HASH_LEN], *leaves;
	int rc;

	if (!want || fi < 0)
		return -EINVAL; /* no file's bytes in it: v2 has no such piece */
	end = mi->files[fi].offset + mi->files[fi].length;
	bytes = end - pos < size ? end - pos : size;
	n = (bytes + MK_BLOCK_SIZE - 1) / MK_BLOCK_SIZE;
	width = mk_piece_width(mi->files[fi].length, mi->piece_length, n);
	leaves = malloc((size_t)width * MK_HASH_LEN);
	if (!leaves)
		return -ENOMEM;
	mk_leaves(buf, (size_t)bytes, leaves);
	rc = mk_reduce(leaves, (size_t)n, width, 0, root);
	free(leaves);
	if (rc)
		return rc;
	return memcmp(root, want, MK_HASH_LEN) == 0 ? 0 : -EBADMSG;
}

int fetch_piece_check(const struct metainfo *mi, uint32_t index, const uint8_t *buf,
		      uint32_t size)
{
	uint8_t md[SHA_DIGEST_LENGTH];

	if (mi->pieces) {
		SHA1(buf, size, md);
		if (memcmp(md, mi->pieces + (size_t)index * MI_HASH_LEN, MI_HASH_LEN) != 0)
			return -EBADMSG;
	}
	if (mi->format == MI_FORMAT_V1)
		return 0;
	return fhash_v2(mi, index, buf, size);
}
