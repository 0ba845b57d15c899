/*
 * metainfo_enc.h - write a .torrent (BEP 3 v1, BEP 52 v2 or hybrid) from a
 * description of it.
 *
 * The counterpart of mi_parse(): the caller says what goes in (files in
 * torrent order, piece digests or BEP 52 roots and layers, trackers by tier,
 * web seeds, the optional keys) and mi_encode() writes the bencoded file into a caller buffer that
 * mi_enc_bound() sized. Keys come out in sorted order, which the bencode
 * encoder checks, so the info dictionary is canonical and its SHA-1 is the
 * info-hash mi_parse() will compute.
 *
 * Pure: no syscalls, no allocation, no globals; the caller supplies the
 * creation date.
 */
#ifndef RINGSEED_METAINFO_ENC_H
#define RINGSEED_METAINFO_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/metainfo.h"
#include "proto/metainfo_enc_v2.h"

struct mi_enc {
	const char *name;
	enum mi_format format; /* v1, v2 (BEP 52) or hybrid; 0 is taken as v1 */
	bool multi_file;       /* `files`; otherwise `length` from files[0] */
	/*
	 * In mi_path_cmp() order, with BEP 47 pad files where the layout has them
	 * (they go in the v1 `files` list only); root and layer are for v2.
	 */
	const struct mi_v2_file *files;
	uint32_t file_count;
	uint32_t piece_length;
	const uint8_t *pieces; /* v1: piece_count * MI_HASH_LEN bytes of SHA-1 */
	uint32_t piece_count;
	uint32_t *order;       /* v2: scratch for file_count indices */
	bool private_torrent;  /* BEP 27 */

	/* `announce` is the first; `announce-list` (BEP 12) when more than one. */
	const struct mi_tracker *trackers; /* tier by tier, tiers ascending */
	uint32_t tracker_count;
	const char *const *web_seeds; /* BEP 19 url-list */
	uint32_t web_seed_count;

	const char *comment;    /* NULL: left out */
	const char *created_by; /* NULL: left out */
	const char *source;     /* info.source; NULL: left out */
	int64_t creation_date;  /* 0: left out */
};

/* An upper bound on what mi_encode() writes for m. */
size_t mi_enc_bound(const struct mi_enc *m);

/*
 * Writes the .torrent into out. Returns its length, -ENOSPC when cap is too
 * small, or -EINVAL when m cannot be a torrent (a single-file torrent
 * without exactly one file, a v2 one without order).
 */
ssize_t mi_encode(const struct mi_enc *m, uint8_t *out, size_t cap);

#endif
