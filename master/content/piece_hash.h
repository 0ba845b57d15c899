/*
 * piece_hash.h - SHA-1 and BEP 52 SHA-256 of every piece of a file layout,
 * on all cores, from one read of the data.
 *
 * Used by `ringseed create` to fill `pieces`, and by the seeder to verify
 * content before serving it. The files are opened relative to a directory
 * descriptor, so the caller decides what they can reach.
 */
#ifndef RINGSEED_PIECE_HASH_H
#define RINGSEED_PIECE_HASH_H

#include <stdbool.h>
#include <stdint.h>

struct ph_file {
	const char *path; /* relative to ph_job.dirfd (or absolute with AT_FDCWD) */
	uint64_t length;  /* the size the file must have */
	bool zero;	  /* BEP 47 pad file: hashed as zeros, never opened */
};

struct ph_share {
	uint64_t goal, done;
	bool cancel;
};

struct ph_job {
	int dirfd;
	const struct ph_file *files; /* in torrent order */
	uint32_t file_count;
	uint32_t piece_length;
	uint32_t piece_count; /* must be ceil(total / piece_length) */
	unsigned threads;     /* 0: one per CPU this process may run on */
	bool progress;	      /* draw a progress bar on stderr */
	const char *label;    /* shown beside the bar */
	uint8_t *digests;     /* out: piece_count * 20 bytes of SHA-1; NULL: not wanted */
	/*
	 * BEP 52, for a layout where every data file starts on a piece boundary
	 * (v2 and hybrid torrents): NULL, or out: piece_count * 32 bytes, each
	 * piece's merkle subtree root over the 16 KiB blocks of its file's bytes
	 * (pad bytes after the file's end are not hashed; missing leaves are
	 * zero hashes), which is the piece layer entry. For a file no longer
	 * than one piece it is the file's pieces root. A piece of pad bytes
	 * only gets 32 zero bytes.
	 */
	uint8_t *digests_v2;
	/*
	 * NULL: hash every piece. Otherwise a bitfield in BEP 3 order (piece 0 is
	 * the high bit of byte 0): only the pieces whose bit is set are hashed, and
	 * the digests of the others are left as they were. Files that only
	 * unselected pieces touch are not opened.
	 */
	const uint8_t *only;
	/*
	 * NULL, or shared with another thread while ph_run runs (relaxed atomic
	 * access): the bytes to hash and those hashed so far, for a progress
	 * display; cancel set makes ph_run stop early with -ECANCELED.
	 */
	struct ph_share *share;

	/* Results. */
	uint64_t bytes;	 /* bytes hashed */
	uint32_t pieces; /* pieces hashed */
	double seconds;	 /* wall time */
	double cpu_seconds; /* CPU time of the hashing threads (user and system) */
	unsigned threads_used;
	char err[512]; /* on failure: "path: what" */
};

/* Returns 0, or -errno with job->err naming the file and what went wrong. */
int ph_run(struct ph_job *job);

/* How many CPUs this process may run on (at least 1). */
unsigned ph_cpu_count(void);

#endif
