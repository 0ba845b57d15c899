/*
 * metainfo.h - BEP 3 .torrent files (v1), loaded into one struct.
 *
 * mi_parse() validates a whole .torrent and copies what it keeps into one
 * allocation owned by struct metainfo, so the caller's buffer can be freed
 * afterwards. It refuses, with one precise reason naming the key, anything a
 * seeder cannot serve safely: a `pieces` string that is not a multiple of 20,
 * a piece count that does not match the total length, negative or absurd
 * sizes, and any path that could leave the data directory (an empty, `.` or
 * `..` component, one containing `/` or NUL, an absolute path) or that two
 * files share. Every path in a loaded metainfo is therefore a plain relative
 * path below the torrent's name.
 *
 * The info-hash is the SHA-1 of the info dictionary exactly as it appears in
 * the file. That dictionary must be canonical bencoding; keys outside it may
 * be unsorted (real .torrent files sometimes are), which is accepted with a
 * warning.
 *
 * BEP 52 v2 torrents (`meta version` 2, a `file tree` and `piece layers`
 * outside the info dictionary) and BEP 52 hybrids (both halves) load into the
 * same struct. Each v2 file starts on a piece boundary: a v2-only torrent gets
 * pad files between its files here, as a hybrid's v1 half carries them
 * (BEP 47), so that piece numbers, mi_map() and serving work alike for every
 * format. Every piece layer must hash to its file's `pieces root`, and the two
 * halves of a hybrid must list the same files, sizes and order.
 *
 * Pure: libcrypto for SHA-1 and SHA-256 is the only dependency; no syscalls,
 * no globals.
 */
#ifndef RINGSEED_METAINFO_H
#define RINGSEED_METAINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MI_HASH_LEN	    20
#define MI_HASH_V2_LEN	    32		 /* BEP 52: SHA-256 */
#define MI_V2_MIN_PIECE	    16384u	 /* BEP 52: a power of two, at least 16 KiB */
#define MI_MAX_PIECE_LENGTH (256u << 20) /* absurd beyond this */
#define MI_MAX_TOTAL_LENGTH (1ull << 53) /* 8 PiB */
#define MI_MAX_COMPONENT    255		 /* NAME_MAX */
#define MI_MAX_PATH	    4095	 /* PATH_MAX - 1, joined with '/' */
#define MI_MAX_TRACKERS	    1024	 /* further announce URLs are dropped */
#define MI_MAX_WEB_SEEDS    256

struct mi_file {
	const char *path; /* relative to the torrent's root; see mi_file_path() */
	uint64_t length;
	uint64_t offset; /* where the file starts in the torrent's byte stream */
	bool pad;	 /* BEP 47 padding: zeros, never on disk */
	/*
	 * BEP 52 (v2 and hybrid torrents; NULL otherwise and for pad and empty
	 * files): the file's merkle root (32 bytes), and its piece layer, one
	 * 32-byte hash per piece of the file, NULL when the file fits in one
	 * piece (its root is then that piece's hash).
	 */
	const uint8_t *pieces_root;
	const uint8_t *layer;
};

/* Which hash sets a torrent carries. */
enum mi_format {
	MI_FORMAT_V1 = 1,     /* BEP 3: SHA-1 per piece */
	MI_FORMAT_V2 = 2,     /* BEP 52: merkle trees per file */
	MI_FORMAT_HYBRID = 3, /* both, over the same layout */
};

struct mi_tracker {
	const char *url;
	uint32_t tier; /* BEP 12 tier, 0-based; one tier for a plain `announce` */
};

struct metainfo {
	/*
	 * What peers and trackers know the torrent by: the SHA-1 of the info
	 * dictionary for v1 and hybrids, the v2 info-hash truncated to 20 bytes
	 * for v2-only torrents (BEP 52).
	 */
	uint8_t info_hash[MI_HASH_LEN];
	uint8_t info_hash_v2[MI_HASH_V2_LEN]; /* SHA-256 of the info dictionary (v2, hybrid) */
	enum mi_format format;
	const char *name;
	uint32_t piece_length;
	uint32_t piece_count;
	uint64_t total_length;
	const uint8_t *pieces;	 /* piece_count * 20 bytes of SHA-1; NULL for v2-only */
	const uint8_t *info_raw; /* the info dictionary as in the file (BEP 9) */
	size_t info_len;
	bool multi_file;      /* `files` rather than `length` */
	bool private_torrent; /* BEP 27 */

	struct mi_file *files; /* in torrent order; one entry for single-file */
	uint32_t file_count;
	struct mi_tracker *trackers; /* tier by tier, in file order */
	uint32_t tracker_count;
	uint32_t tier_count;
	const char **web_seeds; /* BEP 19 url-list */
	uint32_t web_seed_count;

	const char *comment; /* NULL when absent */
	const char *created_by;
	const char *source;    /* info.source, as private trackers use it */
	int64_t creation_date; /* 0 when absent */

	unsigned warning_count; /* things accepted but worth saying */
	char warning[192];	/* the first of them */

	void *arena; /* the one allocation behind every pointer above */
};

struct mi_err {
	char msg[256]; /* "key: reason", e.g. "info.pieces: 41 bytes is not a multiple of 20" */
};

/* Returns 0, or -EINVAL (bad file) / -ENOMEM with err->msg set. */
int mi_parse(const uint8_t *buf, size_t len, struct metainfo *mi, struct mi_err *err);
void mi_free(struct metainfo *mi);

/* The size of one piece: piece_length, except for a shorter last piece. */
uint32_t mi_piece_size(const struct metainfo *mi, uint32_t piece);

/*
 * A run of bytes inside one file. A block maps to one extent per file it
 * touches; empty files are skipped.
 */
struct mi_extent {
	uint32_t file;
	uint64_t offset; /* inside that file */
	uint32_t length;
};

/*
 * Maps the block (piece, begin, length) to file extents. Returns how many it
 * wrote to out, -EINVAL if the block is empty or not inside the piece, or
 * -ENOSPC if it needs more than max extents.
 */
int mi_map(const struct metainfo *mi, uint32_t piece, uint32_t begin, uint32_t length,
	   struct mi_extent *out, unsigned max);

/*
 * The order of paths in a torrent: byte order, except that '/' sorts before
 * every other byte, so a directory's files follow each other and come right
 * after a file of the same name ("a" < "a/b" < "a-b"). `ringseed create`
 * lists files in this order; mi_parse() uses it to find clashes.
 */
int mi_path_cmp(const char *a, const char *b);

/* Lower-case hex of a 20-byte hash; out must hold 41 bytes. */
void mi_hex(const uint8_t hash[MI_HASH_LEN], char out[2 * MI_HASH_LEN + 1]);

/* Lower-case hex of n bytes; out must hold 2n + 1. */
void mi_hex_n(const uint8_t *bytes, size_t n, char *out);

/* The format's name: "v1", "v2" or "hybrid". */
const char *mi_format_name(enum mi_format f);

/*
 * The file a piece of a v2 or hybrid torrent belongs to (pieces never span
 * files there), or -1 when the piece is all padding or out of range.
 */
int64_t mi_piece_file(const struct metainfo *mi, uint32_t piece);

/*
 * BEP 52: the 32-byte hash piece must have (its piece layer entry, or its
 * file's pieces root when the file fits in one piece); NULL when the torrent
 * has no v2 half or the piece holds no file's bytes.
 */
const uint8_t *mi_piece_hash_v2(const struct metainfo *mi, uint32_t piece);

/*
 * BEP 52 hash_request (message 21), 48 bytes: pieces root, base layer,
 * index, length, proof layers (big-endian 32-bit each after the root).
 * A seeder holding the piece layers answers requests whose base layer is the
 * piece layer: length a power of two, at least 2 and at most MI_HASHES_MAX,
 * index a multiple of length, the range inside the layer padded to a power
 * of two.
 */
#define MI_HASHES_MAX 512 /* hashes per request we answer (16 KiB) */
#define MI_PROOF_MAX  64

/*
 * Writes the requested hashes, then the proof (the uncle of the range's
 * subtree at each level going up, at most `proof layers` of them, the root
 * excluded) into out (room for MI_HASHES_MAX + MI_PROOF_MAX hashes). Sets
 * *count to how many. Returns 0, or -EINVAL for a request to refuse (hash
 * reject): unknown root, another layer, bad index or length.
 */
int mi_v2_hashes(const struct metainfo *mi, const uint8_t req[48], const uint8_t *const *trees,
		 uint8_t *out, uint32_t *count);

/*
 * The index of the file a hash request names (by its pieces root, among
 * files with a piece layer), or -1. trees, in mi_v2_hashes(), may hold for
 * such a file (by index) mk_tree_build() of its layer padded to a power of
 * two (pad height: the piece's), so that the proof costs no hashing; NULL
 * (the array or an entry) computes it from the layer.
 */
int64_t mi_v2_hash_file(const struct metainfo *mi, const uint8_t req[48]);

#endif
