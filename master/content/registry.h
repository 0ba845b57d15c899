/*
 * registry.h - the torrents the master serves.
 *
 * Each *.torrent in the torrents directory becomes a struct torrent once its
 * content has been verified (or found unchanged since the last run). A torrent
 * whose files are missing or short is not registered; the next scan (SIGHUP)
 * tries it again (with defer set, it is registered paused and its check
 * waits for the files instead). Lookups by info-hash serve the accept path.
 */
#ifndef RINGSEED_REGISTRY_H
#define RINGSEED_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/metainfo.h"

struct torrent {
	uint32_t id;  /* unique for the master's lifetime; workers know it by this */
	char *path;   /* the .torrent file */
	uint8_t *raw; /* its bytes, as handed to workers */
	size_t raw_len;
	struct metainfo mi;
	uint8_t *have; /* verified pieces, BEP 3 bit order */
	size_t have_len;
	uint32_t good; /* pieces in have */
	bool seen;     /* found by the scan in progress */
	/*
	 * Out of service: not in the workers, peers for it refused. Its
	 * content changed, or is being checked (the master's guard.c).
	 */
	bool paused;
	struct tguard *guard; /* the master's watch on its content files */
	int64_t checked_ns;   /* CLOCK_REALTIME when its last check took the files' stat values; 0: none */
	/* The .torrent file as last read: a rescan rereads it only if one of these changed. */
	uint64_t file_ino, file_dev;
	int64_t file_size, file_mtime_ns, file_ctime_ns;
};

struct registry {
	struct torrent **t; /* registered torrents, in no particular order */
	uint32_t n, cap;
	struct torrent **index; /* open addressing by info-hash; NULL = empty */
	uint32_t index_cap;	/* a power of two, at least twice n */
	uint32_t next_id;
	int data_dirfd;
	int state_dirfd;
	bool progress; /* hashing progress bars on a terminal */
	/*
	 * New torrents are not checked by reg_scan but left paused, with no
	 * piece in have and checked_ns 0, for a check off the loop (the
	 * master's guard.c) after the first scan.
	 */
	bool defer;
	/*
	 * The .torrent files of the last scan whose content is missing, short,
	 * or being fetched (STATE/<hash>.fetch exists): not served, for the
	 * fetcher (master/fetch) to complete. Rebuilt by every scan.
	 */
	char **incomplete;
	uint32_t n_incomplete;
	/*
	 * Whether content whose check found bad pieces can be repaired (the
	 * master: fetch.enable, and someone to fetch from). Then the torrent is
	 * not served with holes but listed in incomplete, and the fetcher gets
	 * the bad pieces only. NULL, or false: served with its good pieces.
	 */
	bool (*repair)(void *arg, const struct metainfo *mi);
	void *repair_arg;
};

/* What a scan changed; the arrays are the caller's to free (reg_diff_free). */
struct reg_diff {
	struct torrent **added;
	uint32_t n_added;
	struct torrent **removed; /* no longer in the registry: free with reg_torrent_free */
	uint32_t n_removed;
	uint32_t failed; /* .torrent files not served (logged) */
};

int reg_init(struct registry *r, const char *data_dir, const char *state_dir, char *err,
	     size_t errlen);
void reg_close(struct registry *r);

/* Loads new *.torrent files of dir, drops the ones gone, keeps the rest untouched. */
int reg_scan(struct registry *r, const char *dir, struct reg_diff *d);
void reg_diff_free(struct reg_diff *d);
void reg_torrent_free(struct torrent *t);

struct verify_report;
/* The log lines of a finished check; a verify_opts.bad_piece that logs (arg: the torrent). */
void reg_report(const struct torrent *t, const struct verify_report *rep);
void reg_bad_piece(void *arg, uint32_t piece, const char *path, uint64_t offset);
int64_t reg_now_ns(void); /* CLOCK_REALTIME, for checked_ns */

struct torrent *reg_find(const struct registry *r, const uint8_t info_hash[MI_HASH_LEN]);

#endif
