/*
 * merkle.h - BEP 52 SHA-256 merkle trees over 16 KiB blocks.
 *
 * A v2 file's tree has one leaf per 16 KiB block (the last one may be
 * shorter), hashed with SHA-256. The leaf count is padded to a power of two
 * with leaves of 32 zero bytes, so a padding subtree of height h hashes to
 * mk_zero_hash(h). Pieces are subtrees of piece_length / 16 KiB leaves; the
 * "piece layer" is the row of their roots, and the file's `pieces root` is
 * the tree's root. A file no longer than one piece has no piece layer: its
 * root is the tree of its own leaves padded to a power of two.
 *
 * Every function takes a "row" of hashes: n hashes at one layer of a tree,
 * each the root of a subtree of height pad_height (0 for leaves), so that a
 * missing entry at that layer is mk_zero_hash(pad_height).
 *
 * Pure: libcrypto only, caller-owned buffers, no allocation (but for the
 * libcrypto context of a struct mk_sha).
 */
#ifndef RINGSEED_MERKLE_H
#define RINGSEED_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define MK_HASH_LEN   32	  /* SHA-256 (BEP 52) */
#define MK_BLOCK_SIZE 16384u	  /* BEP 52: leaves cover 16 KiB */
#define MK_MAX_HEIGHT 63	  /* enough for any 64-bit row */

/*
 * A reusable SHA-256 context for bulk hashing. SHA256() fetches the
 * algorithm and allocates a context on every call, which costs as much as
 * hashing 1 KiB; a tree has one leaf of 16 KiB and one 64-byte node per
 * 16 KiB of data, so hashers of bulk data keep one of these per thread.
 * Every function taking one accepts NULL (the one-shot SHA256() then).
 */
struct mk_sha {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};

/* Returns 0 or -ENOMEM; mk_sha_free() undoes it (also after a failure). */
int mk_sha_init(struct mk_sha *s);
void mk_sha_free(struct mk_sha *s);
/* SHA-256 of data[0..len). */
void mk_sha256(struct mk_sha *s, const void *data, size_t len, uint8_t out[MK_HASH_LEN]);

/* The root of a subtree of 2^height zero leaves. */
void mk_zero_hash(unsigned height, uint8_t out[MK_HASH_LEN]);

/* The smallest power of two >= n (1 for n == 0). */
uint64_t mk_pow2(uint64_t n);

/*
 * BEP 52: how many leaves the subtree of one piece spans when it holds n
 * leaves of a file file_length long: a file of one piece or less is a tree
 * of its own leaves (padded to a power of two); in a longer file every piece
 * spans piece_length / 16 KiB leaves, the last one padded.
 */
uint64_t mk_piece_width(uint64_t file_length, uint64_t piece_length, uint64_t n);

/*
 * The root over row[0..n) padded to width entries (width a power of two,
 * n <= width, n >= 1). row is rewritten (it is the scratch space). Returns 0
 * or -EINVAL.
 */
int mk_reduce(uint8_t *row, size_t n, uint64_t width, unsigned pad_height,
	      uint8_t out[MK_HASH_LEN]);
/* mk_reduce() with a hasher (or NULL). */
int mk_reduce_sha(struct mk_sha *s, uint8_t *row, size_t n, uint64_t width, unsigned pad_height,
		  uint8_t out[MK_HASH_LEN]);

/* SHA-256 of each 16 KiB block of data[0..len): ceil(len / 16 KiB) leaves. */
void mk_leaves(const uint8_t *data, size_t len, uint8_t *leaves);
/* mk_leaves() with a hasher (or NULL). */
void mk_leaves_sha(struct mk_sha *s, const uint8_t *data, size_t len, uint8_t *leaves);

/*
 * A file's `pieces root` from its piece layer (count hashes, each a subtree
 * of piece_length / 16 KiB leaves). Returns 0 or -EINVAL (piece_length not a
 * power of two >= 16 KiB, count 0). layer is not modified; scratch holds
 * count hashes.
 */
int mk_root_from_layer(const uint8_t *layer, size_t count, uint32_t piece_length,
		       uint8_t *scratch, uint8_t out[MK_HASH_LEN]);

/* log2(piece_length / 16 KiB): the height of a piece's subtree. */
unsigned mk_piece_height(uint32_t piece_length);

/*
 * The node at height level above the row, at index idx (covering row
 * entries [idx << level, (idx + 1) << level)), entries past n being padding.
 * Costs 2^level hashes at most. level <= MK_MAX_HEIGHT.
 */
void mk_node(const uint8_t *row, size_t n, unsigned pad_height, unsigned level, uint64_t idx,
	     uint8_t out[MK_HASH_LEN]);

/*
 * BEP 52 proof hashes for the range [index, index + length) of a row of n
 * entries padded to width: the sibling of the range's subtree at each level
 * going up, `layers` of them at most, stopping below the root. length is a
 * power of two and index a multiple of it. Writes the count written (<= 64)
 * to *count. Returns 0 or -EINVAL.
 */
int mk_proof(const uint8_t *row, size_t n, uint64_t width, unsigned pad_height, uint64_t index,
	     uint64_t length, unsigned layers, uint8_t *out, unsigned *count);

/*
 * The whole tree over a row padded to width (a power of two >= n): level 0
 * (width entries, padding included), then each level up to the root, one
 * after the other: 2 * width - 1 hashes in tree. Costs width - 1 hashes, once,
 * so that proofs are lookups.
 */
void mk_tree_build(const uint8_t *row, size_t n, uint64_t width, unsigned pad_height,
		   uint8_t *tree);

/* mk_proof() from a tree mk_tree_build() made: the same hashes, no hashing. */
int mk_tree_proof(const uint8_t *tree, uint64_t width, uint64_t index, uint64_t length,
		  unsigned layers, uint8_t *out, unsigned *count);

#endif
