/*
 * metainfo_enc_v2.h - write the BEP 52 parts of a .torrent: the `file tree`
 * inside info and the `piece layers` beside it.
 *
 * The files come in mi_path_cmp() order, which is the key order of the
 * nested dictionaries, so the tree is written in one pass, opening and
 * closing a dictionary per directory where consecutive paths part. Pad files
 * (BEP 47) belong to the v1 half only and are passed over.
 *
 * Pure: writes through the caller's struct bc_enc; no allocation, no globals.
 */
#ifndef RINGSEED_METAINFO_ENC_V2_H
#define RINGSEED_METAINFO_ENC_V2_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/bencode.h"

struct mi_v2_file {
	const char *path;     /* '/'-separated, relative to the torrent's root */
	uint64_t length;
	bool pad;	      /* BEP 47 pad file: not in the file tree */
	const uint8_t *root;  /* 32-byte pieces root; NULL for an empty file */
	const uint8_t *layer; /* ceil(length / piece length) hashes; NULL if one piece or less */
};

/*
 * `file tree` and its value. single_name: a single-file torrent's name (its
 * file is then the tree's only entry, under that name); NULL for a tree of
 * paths.
 */
void mi_enc_file_tree(struct bc_enc *e, const char *single_name, const struct mi_v2_file *files,
		      uint32_t count);

/*
 * `piece layers` and its value (left out when no file has a layer): one
 * entry per distinct pieces root, in key order. order is scratch for count
 * indices.
 */
void mi_enc_piece_layers(struct bc_enc *e, uint32_t piece_length, const struct mi_v2_file *files,
			 uint32_t count, uint32_t *order);

#endif
