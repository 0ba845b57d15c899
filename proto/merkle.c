/*
 * merkle.c - BEP 52 merkle trees; see merkle.h.
 */
#include <errno.h>
#include <string.h>

#include <openssl/sha.h>

#include "proto/merkle.h"

int mk_sha_init(struct mk_sha *s)
{
	s->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	s->ctx = EVP_MD_CTX_new();
	return s->md && s->ctx ? 0 : -ENOMEM;
}

void mk_sha_free(struct mk_sha *s)
{
	EVP_MD_CTX_free(s->ctx);
	EVP_MD_free(s->md);
	s->ctx = NULL;
	s->md = NULL;
}

void mk_sha256(struct mk_sha *s, const void *data, size_t len, uint8_t out[MK_HASH_LEN])
{
	unsigned int n;

	/* Init_ex2 only resets the context: no fetch, no allocation. */
	if (s && s->ctx && EVP_DigestInit_ex2(s->ctx, s->md, NULL) &&
	    EVP_DigestUpdate(s->ctx, data, len) && EVP_DigestFinal_ex(s->ctx, out, &n))
		return;
	SHA256(data, len, out);
}

static void mk_pair_sha(struct mk_sha *s, const uint8_t *l, const uint8_t *r,
			uint8_t out[MK_HASH_LEN])
{
	uint8_t buf[2 * MK_HASH_LEN];

	memcpy(buf, l, MK_HASH_LEN);
	memcpy(buf + MK_HASH_LEN, r, MK_HASH_LEN);
	mk_sha256(s, buf, sizeof(buf), out);
}

static void mk_pair(const uint8_t *l, const uint8_t *r, uint8_t out[MK_HASH_LEN])
{
	mk_pair_sha(NULL, l, r, out);
}

void mk_zero_hash(unsigned height, uint8_t out[MK_HASH_LEN])
{
	uint8_t h[MK_HASH_LEN] = { 0 };

	for (unsigned i = 0; i < height && i < MK_MAX_HEIGHT; i++)
		mk_pair(h, h, h);
	memcpy(out, h, MK_HASH_LEN);
}

uint64_t mk_pow2(uint64_t n)
{
	uint64_t p = 1;

	while (p < n && p < (1ull << 63))
		p <<= 1;
	return p;
}

uint64_t mk_piece_width(uint64_t file_length, uint64_t piece_length, uint64_t n)
{
	return file_length <= piece_length ? mk_pow2(n) : piece_length / MK_BLOCK_SIZE;
}

unsigned mk_piece_height(uint32_t piece_length)
{
	unsigned h = 0;

	while (((uint64_t)MK_BLOCK_SIZE << h) < piece_length)
		h++;
	return h;
}

int mk_reduce(uint8_t *row, size_t n, uint64_t width, unsigned pad_height,
	      uint8_t out[MK_HASH_LEN])
{
	return mk_reduce_sha(NULL, row, n, width, pad_height, out);
}

int mk_reduce_sha(struct mk_sha *s, uint8_t *row, size_t n, uint64_t width, unsigned pad_height,
		  uint8_t out[MK_HASH_LEN])
{
	uint8_t pad[MK_HASH_LEN];

	if (n == 0 || width < n || (width & (width - 1)) || pad_height > MK_MAX_HEIGHT)
		return -EINVAL;
	mk_zero_hash(pad_height, pad);
	/* Each pass halves the row in place; entry i only reads 2i and 2i+1. */
	while (width > 1) {
		size_t half = (n + 1) / 2;

		for (size_t i = 0; i < half; i++) {
			const uint8_t *r = 2 * i + 1 < n ? row + (2 * i + 1) * MK_HASH_LEN : pad;

			mk_pair_sha(s, row + 2 * i * MK_HASH_LEN, r, row + i * MK_HASH_LEN);
		}
		mk_pair_sha(s, pad, pad, pad);
		n = half;
		width /= 2;
	}
	memcpy(out, row, MK_HASH_LEN);
	return 0;
}

void mk_leaves(const uint8_t *data, size_t len, uint8_t *leaves)
{
	mk_leaves_sha(NULL, data, len, leaves);
}

void mk_leaves_sha(struct mk_sha *s, const uint8_t *data, size_t len, uint8_t *leaves)
{
	for (size_t off = 0, i = 0; off < len; off += MK_BLOCK_SIZE, i++) {
		size_t n = len - off < MK_BLOCK_SIZE ? len - off : MK_BLOCK_SIZE;

		mk_sha256(s, data + off, n, leaves + i * MK_HASH_LEN);
	}
}

int mk_root_from_layer(const uint8_t *layer, size_t count, uint32_t piece_length,
		       uint8_t *scratch, uint8_t out[MK_HASH_LEN])
{
	if (count == 0 || piece_length < MK_BLOCK_SIZE || (piece_length & (piece_length - 1)))
		return -EINVAL;
	memcpy(scratch, layer, count * MK_HASH_LEN);
	return mk_reduce(scratch, count, mk_pow2(count), mk_piece_height(piece_length), out);
}

void mk_node(const uint8_t *row, size_t n, unsigned pad_height, unsigned level, uint64_t idx,
	     uint8_t out[MK_HASH_LEN])
{
	uint8_t l[MK_HASH_LEN], r[MK_HASH_LEN];

	if (level > MK_MAX_HEIGHT)
		level = MK_MAX_HEIGHT;
	/* A subtree wholly past the row is padding: no need to descend. */
	if (idx >= ((uint64_t)n + (1ull << level) - 1) >> level) {
		mk_zero_hash(pad_height + level, out);
		return;
	}
	if (level == 0) {
		memcpy(out, row + idx * MK_HASH_LEN, MK_HASH_LEN);
		return;
	}
	mk_node(row, n, pad_height, level - 1, 2 * idx, l);
	mk_node(row, n, pad_height, level - 1, 2 * idx + 1, r);
	mk_pair(l, r, out);
}

int mk_proof(const uint8_t *row, size_t n, uint64_t width, unsigned pad_height, uint64_t index,
	     uint64_t length, unsigned layers, uint8_t *out, unsigned *count)
{
	unsigned level = 0, k = 0;
	uint64_t idx;

	*count = 0;
	if (length == 0 || (length & (length - 1)) || index % length || width < n ||
	    (width & (width - 1)) || length > width || index >= width)
		return -EINVAL;
	while ((1ull << level) < length)
		level++;
	idx = index >> level;
	/* Going up from the range's subtree: its sibling, then its parent's... */
	for (; (1ull << level) < width && k < layers; level++, idx >>= 1, k++)
		mk_node(row, n, pad_height, level, idx ^ 1, out + (size_t)k * MK_HASH_LEN);
	*count = k;
	return 0;
}

void mk_tree_build(const uint8_t *row, size_t n, uint64_t width, unsigned pad_height,
		   uint8_t *tree)
{
	uint8_t *lo = tree, *hi;

	memcpy(tree, row, n * MK_HASH_LEN);
	for (uint64_t i = n; i < width; i++)
		mk_zero_hash(pad_height, tree + i * MK_HASH_LEN);
	for (uint64_t w = width; w > 1; w /= 2, lo = hi) {
		hi = lo + w * MK_HASH_LEN;
		for (uint64_t i = 0; i < w / 2; i++)
			mk_pair(lo + 2 * i * MK_HASH_LEN, lo + (2 * i + 1) * MK_HASH_LEN,
				hi + i * MK_HASH_LEN);
	}
}

int mk_tree_proof(const uint8_t *tree, uint64_t width, uint64_t index, uint64_t length,
		  unsigned layers, uint8_t *out, unsigned *count)
{
	const uint8_t *lvl = tree;
	uint64_t w = width, idx;
	unsigned k = 0;

	*count = 0;
	if (length == 0 || (length & (length - 1)) || index % length || (width & (width - 1)) ||
	    length > width || index >= width)
		return -EINVAL;
	/* Up to the level where one node covers the range. */
	for (uint64_t span = 1; span < length; span *= 2) {
		lvl += w * MK_HASH_LEN;
		w /= 2;
	}
	idx = index / length;
	for (; w > 1 && k < layers; k++, idx /= 2) {
		memcpy(out + (size_t)k * MK_HASH_LEN, lvl + (idx ^ 1) * MK_HASH_LEN, MK_HASH_LEN);
		lvl += w * MK_HASH_LEN;
		w /= 2;
	}
	*count = k;
	return 0;
}
