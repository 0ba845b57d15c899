/*
 * torrent_file.h - read a .torrent from disk and load it with mi_parse().
 */
#ifndef RINGSEED_TORRENT_FILE_H
#define RINGSEED_TORRENT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/metainfo.h"

/* Larger .torrent files are refused before being read (20 MB of hashes
 * already describes 1 TiB in 1 MiB pieces). */
#define TORRENT_FILE_MAX (128u << 20)

/* Returns 0, or -errno with err holding one line: what is wrong, and where. */
int torrent_file_load(const char *path, struct metainfo *mi, char *err, size_t errlen);

/* The same, also handing back the file's bytes (malloc'd, the caller frees *raw). */
int torrent_file_load_raw(const char *path, struct metainfo *mi, uint8_t **raw, size_t *len,
			  char *err, size_t errlen);

#endif
