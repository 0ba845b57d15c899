/*
 * test_merkle.c - proto/merkle.c against a plain reference: a full binary
 * tree built level by level over leaves padded with zero hashes, as BEP 52
 * describes it; proofs are checked by climbing back to the root with them.
 */
#include <errno.h>

#include <openssl/sha.h>

#include "proto/merkle.h"
#include "tests/unit/test.h"

/* The root of leaves[0..n) padded with zero leaves to width (reference). */
static void ref_root(const uint8_t *leaves, size_t n, size_t width, uint8_t out[32])
{
	uint8_t *row = calloc(width, 32);

	REQUIRE(row);
	memcpy(row, leaves, n * 32);
	for (; width > 1; width /= 2) {
		for (size_t i = 0; i < width / 2; i++)
			SHA256(row + 2 * i * 32, 64, row + i * 32);
	}
	memcpy(out, row, 32);
	free(row);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
}

static void test_zero_and_pow2(void)
{
	uint8_t z[32], zz[64] = { 0 }, h1[32], ref[32];

	mk_zero_hash(0, z);
	CHECK(memcmp(z, zz, 32) == 0);
	SHA256(zz, 64, h1);
	mk_zero_hash(1, z);
	CHECK(memcmp(z, h1, 32) == 0);
	ref_root(zz, 1, 8, ref); /* eight zero leaves */
	mk_zero_hash(3, z);
	CHECK(memcmp(z, ref, 32) == 0);
	CHECK_EQ_INT(mk_pow2(0), 1);
	CHECK_EQ_INT(mk_pow2(1), 1);
	CHECK_EQ_INT(mk_pow2(5), 8);
	CHECK_EQ_INT(mk_pow2(64), 64);
	CHECK_EQ_INT(mk_piece_height(16384), 0);
	CHECK_EQ_INT(mk_piece_height(1u << 20), 6);
}

/* A file's root through its piece layer equals the root over all its leaves. */
static void test_layer_root(void)
{
	static const size_t sizes[] = { 1, 16383, 16384, 16385, 65536, 100000, 5 * 65536 + 7 };
	static const uint32_t pls[] = { 16384, 32768, 65536 };
	uint8_t *data = malloc(400000), *leaves = malloc(64 * 32), *layer = malloc(64 * 32);
	uint8_t *scratch = malloc(64 * 32);

	REQUIRE(data && leaves && layer && scratch);
	fill(data, 400000, 1);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = (sizes[s] + MK_BLOCK_SIZE - 1) / MK_BLOCK_SIZE;
		uint8_t ref[32], got[32];

		mk_leaves(data, sizes[s], leaves);
		for (size_t pi = 0; pi < sizeof(pls) / sizeof(pls[0]); pi++) {
			uint32_t per = pls[pi] / MK_BLOCK_SIZE;
			size_t pieces = (n + per - 1) / per;

			/* The whole tree: leaves padded to pieces * per, then to a power of two. */
			ref_root(leaves, n, mk_pow2(pieces * per), ref);
			for (size_t p = 0; p < pieces; p++) {
				size_t k = n - p * per < per ? n - p * per : per;

				memcpy(scratch, leaves + p * per * 32, k * 32);
				CHECK(mk_reduce(scratch, k, per, 0, layer + p * 32) == 0);
			}
			CHECK(mk_root_from_layer(layer, pieces, pls[pi], scratch, got) == 0);
			if (sizes[s] > pls[pi])
				CHECK(memcmp(got, ref, 32) == 0);
		}
		/* A file in one piece: its own leaves padded to a power of two. */
		ref_root(leaves, n, mk_pow2(n), ref);
		memcpy(scratch, leaves, n * 32);
		CHECK(mk_reduce(scratch, n, mk_pow2(n), 0, got) == 0);
		CHECK(memcmp(got, ref, 32) == 0);
	}
	CHECK(mk_reduce(scratch, 3, 2, 0, scratch) == -EINVAL);
	CHECK(mk_reduce(scratch, 3, 6, 0, scratch) == -EINVAL);
	CHECK(mk_root_from_layer(layer, 1, 20000, scratch, scratch) == -EINVAL);
	free(data);
	free(leaves);
	free(layer);
	free(scratch);
}

/* Climb from the range's subtree root with the proof; it must give the root. */
static void test_proof(void)
{
	enum { N = 11, WIDTH = 16 };
	uint8_t row[N * 32], sub[32], root[32], proof[64 * 32], tmp[WIDTH * 32];
	unsigned count;

	fill(row, sizeof(row), 2);
	memcpy(tmp, row, sizeof(row));
	REQUIRE(mk_reduce(tmp, N, WIDTH, 3, root) == 0);
	for (uint64_t len = 1; len <= WIDTH; len *= 2) {
		for (uint64_t idx = 0; idx < WIDTH; idx += len) {
			uint8_t h[32], buf[64];
			unsigned level = 0;

			while ((1ull << level) < len)
				level++;
			mk_node(row, N, 3, level, idx >> level, sub);
			CHECK(mk_proof(row, N, WIDTH, 3, idx, len, 64, proof, &count) == 0);
			CHECK_EQ_INT(count, 4 - level);
			memcpy(h, sub, 32);
			for (unsigned k = 0, pos = (unsigned)(idx >> level); k < count; k++, pos /= 2) {
				memcpy(buf + (pos & 1 ? 0 : 32), proof + k * 32, 32);
				memcpy(buf + (pos & 1 ? 32 : 0), h, 32);
				SHA256(buf, 64, h);
			}
			CHECK(memcmp(h, root, 32) == 0);
		}
	}
	/* Fewer layers asked: fewer given. */
	CHECK(mk_proof(row, N, WIDTH, 3, 0, 1, 2, proof, &count) == 0);
	CHECK_EQ_INT(count, 2);
	CHECK(mk_proof(row, N, WIDTH, 3, 1, 2, 64, proof, &count) == -EINVAL);
	CHECK(mk_proof(row, N, WIDTH, 3, 0, 3, 64, proof, &count) == -EINVAL);
	CHECK(mk_proof(row, N, WIDTH, 3, 16, 1, 64, proof, &count) == -EINVAL);
	CHECK(mk_proof(row, N, WIDTH, 3, 0, 32, 64, proof, &count) == -EINVAL);
}

/* A built tree gives the same root and the same proofs as hashing from the row. */
static void test_tree(void)
{
	enum { N = 11, WIDTH = 16 };
	uint8_t row[N * 32], tree[(2 * WIDTH - 1) * 32], tmp[WIDTH * 32], root[32];
	uint8_t a[64 * 32], b[64 * 32];
	unsigned na, nb;

	fill(row, sizeof(row), 3);
	mk_tree_build(row, N, WIDTH, 2, tree);
	memcpy(tmp, row, sizeof(row));
	REQUIRE(mk_reduce(tmp, N, WIDTH, 2, root) == 0);
	CHECK(memcmp(tree + (2 * WIDTH - 2) * 32, root, 32) == 0);
	for (uint64_t len = 1; len <= WIDTH; len *= 2) {
		for (uint64_t idx = 0; idx < WIDTH; idx += len) {
			for (unsigned layers = 0; layers < 6; layers += 2) {
				CHECK(mk_proof(row, N, WIDTH, 2, idx, len, layers, a, &na) == 0);
				CHECK(mk_tree_proof(tree, WIDTH, idx, len, layers, b, &nb) == 0);
				CHECK_EQ_INT(na, nb);
				CHECK(memcmp(a, b, na * 32) == 0);
			}
		}
	}
	CHECK(mk_tree_proof(tree, WIDTH, 1, 2, 64, b, &nb) == -EINVAL);
	CHECK(mk_tree_proof(tree, WIDTH, 16, 1, 64, b, &nb) == -EINVAL);
}

int main(void)
{
	test_tree();
	test_zero_and_pow2();
	test_layer_root();
	test_proof();
	return test_done("merkle");
}
