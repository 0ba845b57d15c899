/*
 * metainfo_int.h - what metainfo.c shares with metainfo_v2.c (BEP 52), and
 * nothing else includes.
 */
#ifndef RINGSEED_METAINFO_INT_H
#define RINGSEED_METAINFO_INT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/bencode.h"
#include "proto/metainfo.h"

struct mi_ctx {
	struct metainfo *mi;
	struct mi_err *err;
	const uint8_t *buf; /* the input, for offsets in messages */
	uint8_t *arena;
	size_t used;
	size_t cap;
	size_t tracker_cap; /* room in mi->trackers and mi->web_seeds */
	size_t web_cap;
	size_t file_cap; /* room in mi->files (v2 adds pad files) */
	const uint8_t *info_base; /* the info dictionary in the input */
};

/* Sets err->msg; returns -EINVAL. */
__attribute__((format(printf, 2, 3))) int mi_fail(struct mi_ctx *c, const char *fmt, ...);
/* Counts a warning; keeps the text of the first. */
__attribute__((format(printf, 2, 3))) void mi_warn(struct mi_ctx *c, const char *fmt, ...);
void *mi_alloc(struct mi_ctx *c, size_t n, size_t align);
char *mi_strdup(struct mi_ctx *c, const uint8_t *s, size_t n);
/* Why a path component is unsafe, or NULL if it is fine. */
const char *mi_component_bad(const uint8_t *s, size_t n);
/* A path made safe for a one-line message (n bytes of out). */
const char *mi_quote(const char *s, char *out, size_t n);

/* BEP 52: the v2 half (metainfo_v2.c). */
size_t mi_v2_count_files(const struct bc_val *info);
int mi_v2_load(struct mi_ctx *c, const struct bc_val *root, const struct bc_val *info);

#endif
