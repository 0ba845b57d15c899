/*
 * verify.h - check a torrent's content before seeding it, and remember the result.
 *
 * The first time a torrent is seen, every piece's hash is checked (ph_run,
 * all cores): SHA-1 for v1 torrents, the BEP 52 merkle subtree (SHA-256 of
 * each 16 KiB block, then up to the piece layer) for v2 ones, and for a
 * hybrid whichever of the two this CPU computes faster (measured once per
 * process; verify_report.hash_set says which). The result goes to the state directory, one file per torrent,
 * with what identifies each file's content without reading it: size, mtime,
 * ctime, inode and device. On the next start a file whose identity is
 * unchanged keeps its pieces' results; every piece that touches a changed
 * file is hashed again. So a restart with unchanged content seeds at once,
 * and a piece is never served on the word of a state file about a file that
 * has changed since.
 *
 * Content location, as other clients lay it out: a single-file torrent is
 * DATA/NAME, a multi-file one DATA/NAME/<path>. BEP 47 pad files are zeros
 * and never on disk. Every other file, empty ones included, must exist as a
 * regular file of exactly its size, or the torrent is not served at all.
 *
 * Two cases are treated as changed although the stat values match:
 *  - ctime is compared too, so content rewritten in place with its mtime put
 *    back (rsync --inplace -t, cp -p, touch -r) is still seen;
 *  - a file whose mtime and ctime were both no earlier than VERIFY_RACY_SECONDS
 *    before the moment the previous check took its stat values ("racily
 *    clean", as git calls it): a write landing just after that stat may carry
 *    the same timestamps, on filesystems whose clocks tick in jiffies (ext4,
 *    xfs) or seconds (FAT: 2). Such a file is hashed again by the next check,
 *    once. Content written seconds before a first check therefore costs one
 *    more hash of those files at the next start.
 *
 * State file: STATE/<info-hash hex>.state, bencoded, replaced atomically
 * (write <name>.tmp, fsync, rename, fsync the directory unless no_dir_sync):
 *
 *   d
 *     7:checked      i<unix seconds>e   when this check took the stat values
 *     10:checked-ns  i<0..999999999>e
 *     5:files        l  one per file of the torrent, in torrent order:
 *                       d 5:ctime i 8:ctime-ns i 3:dev i 3:ino i
 *                         5:mtime i 8:mtime-ns i 4:size i e
 *                       (a pad file: its size, every other value 0)
 *                    e
 *     4:have         <ceil(piece count / 8) bytes: the bitfield, BEP 3 order>
 *     9:info-hash    <20 bytes>
 *     11:piece count  i<n>e
 *     12:piece length i<n>e
 *     7:version      i1e
 *   e
 *
 * (ino and dev are unsigned 64-bit values stored as the int64 with the same
 * bits.) A state file is used only if it parses strictly (bc_parse flags 0),
 * has exactly these keys with these types, and matches the torrent in
 * version, info-hash, piece length and count, file count, each file's size
 * and the bitfield's length (unused trailing bits 0). Anything else is
 * ignored, with the reason in verify_report.state_ignored, and every piece is
 * hashed.
 */
#ifndef RINGSEED_VERIFY_H
#define RINGSEED_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "master/content/piece_hash.h"
#include "proto/metainfo.h"

#define VERIFY_STATE_VERSION 1
#define VERIFY_RACY_SECONDS  2 /* FAT's 2 s mtime is the coarsest on Linux */

/* Bitfields are BEP 3 order: piece 0 is the high bit of byte 0. */
struct verify_opts {
	int data_dirfd; /* the data directory */
	/*
	 * The state directory (-1: no state kept, always hash). Opened
	 * O_RDONLY | O_DIRECTORY, not O_PATH: it is fsynced after a rename.
	 */
	int state_dirfd;
	unsigned threads; /* 0: all CPUs */
	bool progress;	  /* progress bar on stderr (the caller passes isatty(2)) */
	/*
	 * The caller fsyncs the state directory itself once it has checked
	 * many torrents (the first start of 10,000): a rename not yet durable
	 * costs at most a hash at the next start.
	 */
	bool no_dir_sync;
	/*
	 * Called once per piece that does not match its hash when the check
	 * ends (hashed this time, or remembered bad from the state file for
	 * unchanged files), in piece order, with the first file the piece
	 * touches that is not a pad file (path relative to the data directory,
	 * e.g. "NAME/sub/file") and the offset inside that file where the
	 * piece's bytes start. May be NULL.
	 */
	void (*bad_piece)(void *arg, uint32_t piece, const char *path, uint64_t offset);
	void *arg;
	struct ph_share *share; /* progress and cancel (piece_hash.h); may be NULL */
};

struct verify_report {
	uint32_t good, bad;	/* pieces */
	uint32_t hashed;	/* pieces hashed this time (0 when the state was reused) */
	bool reused;		/* the state file covered everything */
	uint32_t files_changed; /* files whose size/mtime/ctime/inode/dev differed from the state */
	uint32_t files_racy;	/* files that matched but were too fresh to trust (rehashed) */
	double seconds;
	double cpu_seconds; /* of the hashing threads */
	uint64_t bytes_hashed;
	unsigned threads_used; /* 0 when nothing was hashed */
	const char *hash_set;  /* "SHA-1" or "SHA-256 merkle (BEP 52)": what was checked */
	/* Why an existing state file was not used ("" when it was, or there was none). */
	char state_ignored[160];
	/*
	 * The check succeeded but its result could not be saved (the next
	 * start hashes again): state_write_errno says why. The caller logs it.
	 */
	bool state_write_failed;
	int state_write_errno;
};

/*
 * Fills have (piece_count bits, rounded up to bytes; unused trailing bits 0)
 * with the pieces that match their hash. Returns 0; or -ENOENT/-EIO/-EINVAL/...
 * with err naming the file ("NAME/sub/file: size is 10 bytes, expected 12")
 * when a file is missing, unreadable, not a regular file, or not its expected
 * size (then the torrent must not be served, have is all zeros, and no state
 * is written); or -ENOMEM.
 */
int verify_torrent(const struct metainfo *mi, const struct verify_opts *o, uint8_t *have,
		   struct verify_report *rep, char *err, size_t errlen);

/* The size of a bitfield of count pieces. */
static inline size_t verify_bitfield_len(uint32_t count)
{
	return ((size_t)count + 7) / 8;
}

static inline bool verify_has(const uint8_t *bits, uint32_t piece)
{
	return bits[piece / 8] & (0x80u >> (piece % 8));
}

/*
 * Saves the state of content the fetcher (master/fetch) wrote and checked
 * piece by piece, so the next verify_torrent() reuses it without hashing.
 * 0, or -errno with err naming the file or the state.
 */
/*
 * Whether every file of mi is in data_dirfd at its full size, without
 * reading it: 0, -ENOENT (missing), -EIO (another size) or -EINVAL (not a
 * regular file), with the reason in err. The quick look a deferred check
 * makes first, so that missing content goes to the fetcher.
 */
int verify_present(const struct metainfo *mi, int data_dirfd, char *err, size_t err_len);

int verify_save_fetched(const struct metainfo *mi, int data_dirfd, int state_dirfd,
			const uint8_t *have, char *err, size_t errlen);

/* The state file's name for a torrent: "<info-hash hex>.state"; out holds 47 bytes. */
#define VERIFY_STATE_NAME_LEN (2 * MI_HASH_LEN + sizeof(".state"))
void verify_state_name(const uint8_t info_hash[MI_HASH_LEN], char out[VERIFY_STATE_NAME_LEN]);

#endif
