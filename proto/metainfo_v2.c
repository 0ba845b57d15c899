/*
 * metainfo_v2.c - the BEP 52 half of a .torrent: `file tree`, `piece layers`,
 * and for hybrids the check that both halves describe one layout.
 *
 * The file tree is walked depth first in key order, which is the order of
 * mi_path_cmp() and so the order a hybrid's `files` list must have. Each file
 * found goes to a callback: for a v2-only torrent it is appended to
 * mi->files (after a pad file that puts it on a piece boundary); for a
 * hybrid it is matched with the next non-pad entry of the v1 list.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/merkle.h"
#include "proto/metainfo_int.h"

struct mi_walk {
	char path[MI_MAX_PATH + 1]; /* the current file's path, joined with '/' */
	uint32_t next;		    /* hybrid: the next v1 entry to match */
	uint64_t end;		    /* where the last file ended (v2 layout) */
	uint32_t leaves;	    /* files seen */
	int top_entries;	    /* entries of the tree's top level */
};

static size_t mi_v2_count(const struct bc_val *dir, unsigned depth)
{
	struct bc_iter it;
	struct bc_val k, v;
	size_t n = 0;

	if (dir->type != BC_DICT || depth > BC_MAX_DEPTH)
		return 0;
	bc_iter_init(&it, dir);
	while (bc_next(&it, &k, &v)) {
		if (v.type != BC_DICT)
			continue;
		n += bc_dict_get(&v, "", &k) ? 1 : mi_v2_count(&v, depth + 1);
	}
	return n;
}

size_t mi_v2_count_files(const struct bc_val *info)
{
	struct bc_val tree;

	if (!bc_dict_get_type(info, "file tree", BC_DICT, &tree))
		return 0;
	return mi_v2_count(&tree, 0);
}

static int mi_v2_leaf_check(struct mi_ctx *c, const char *path, const struct bc_val *node,
			    uint64_t *length, const uint8_t **root)
{
	struct bc_val leaf, v;
	char q[100];

	if (!bc_dict_get_type(node, "", BC_DICT, &leaf))
		return mi_fail(c, "info.file tree: '%s': the \"\" entry is not a dictionary",
			       mi_quote(path, q, sizeof(q)));
	if (!bc_dict_get_type(&leaf, "length", BC_INT, &v))
		return mi_fail(c, "info.file tree: '%s': length missing or not an integer",
			       mi_quote(path, q, sizeof(q)));
	if (v.num < 0 || (uint64_t)v.num > MI_MAX_TOTAL_LENGTH)
		return mi_fail(c, "info.file tree: '%s': length %lld is not a valid size",
			       mi_quote(path, q, sizeof(q)), (long long)v.num);
	*length = (uint64_t)v.num;
	*root = NULL;
	if (*length == 0)
		return 0; /* BEP 52: empty files have no pieces root */
	if (!bc_dict_get_type(&leaf, "pieces root", BC_STR, &v) || v.str_len != MI_HASH_V2_LEN)
		return mi_fail(c, "info.file tree: '%s': pieces root missing or not 32 bytes",
			       mi_quote(path, q, sizeof(q)));
	/* Into the arena's copy of the info dictionary. */
	*root = c->mi->info_raw + (v.str - c->info_base);
	return 0;
}

/*
 * v2-only: the file goes to mi->files, on a piece boundary (length 0: only
 * the pad file, after the last file). libtorrent pads after the last file
 * too, so its last piece is a whole one; so do we, so that its requests
 * there are inside the torrent.
 */
static int mi_v2_add(struct mi_ctx *c, struct mi_walk *w, uint64_t length, const uint8_t *root)
{
	struct metainfo *mi = c->mi;
	uint64_t gap = length || !root ?
			       (mi->piece_length - w->end % mi->piece_length) % mi->piece_length :
			       0;
	struct mi_file *f;

	if (mi->file_count + 2 > c->file_cap)
		return -ENOMEM; /* mi_v2_count_files() sized it: cannot happen */
	if (gap) {
		char name[sizeof(".pad/18446744073709551615")];
		int n = snprintf(name, sizeof(name), ".pad/%llu", (unsigned long long)gap);

		f = &mi->files[mi->file_count++];
		*f = (struct mi_file){ .length = gap, .offset = w->end, .pad = true };
		f->path = mi_strdup(c, (const uint8_t *)name, (size_t)n);
		if (!f->path)
			return -ENOMEM;
		w->end += gap;
	}
	if (!root && !length && w->path[0] == '\0')
		return 0; /* the trailing pad only */
	f = &mi->files[mi->file_count++];
	*f = (struct mi_file){ .length = length, .offset = w->end, .pieces_root = root };
	f->path = mi_strdup(c, (const uint8_t *)w->path, strlen(w->path));
	if (!f->path)
		return -ENOMEM;
	w->end += length;
	if (w->end > MI_MAX_TOTAL_LENGTH)
		return mi_fail(c, "info.file tree: total length exceeds %llu bytes",
			       (unsigned long long)MI_MAX_TOTAL_LENGTH);
	return 0;
}

/* Hybrid: the file must be the next non-pad entry of the v1 list, on a piece boundary. */
static int mi_v2_match(struct mi_ctx *c, struct mi_walk *w, uint64_t length, const uint8_t *root)
{
	struct metainfo *mi = c->mi;
	uint64_t gap = length ? (mi->piece_length - w->end % mi->piece_length) % mi->piece_length : 0;
	char qa[100], qb[100];
	struct mi_file *f;

	while (w->next < mi->file_count && mi->files[w->next].pad)
		w->next++;
	if (w->next == mi->file_count)
		return mi_fail(c, "info: '%s' is in the file tree but not in the v1 file list "
			       "(the v1 and v2 halves differ)", mi_quote(w->path, qa, sizeof(qa)));
	f = &mi->files[w->next++];
	if (strcmp(f->path, w->path) != 0)
		return mi_fail(c, "info: file %u is '%s' in the v1 file list but '%s' in the file "
			       "tree (the v1 and v2 halves differ)", w->leaves,
			       mi_quote(f->path, qa, sizeof(qa)), mi_quote(w->path, qb, sizeof(qb)));
	if (f->length != length)
		return mi_fail(c, "info: '%s' is %llu bytes in the v1 file list but %llu in the "
			       "file tree (the v1 and v2 halves differ)",
			       mi_quote(w->path, qa, sizeof(qa)), (unsigned long long)f->length,
			       (unsigned long long)length);
	w->end += gap;
	if (length && f->offset != w->end)
		return mi_fail(c, "info.files: '%s' starts at byte %llu, not %llu where its v2 "
			       "piece starts (BEP 47 padding)", mi_quote(w->path, qa, sizeof(qa)),
			       (unsigned long long)f->offset, (unsigned long long)w->end);
	f->pieces_root = root;
	w->end += length;
	return 0;
}

static int mi_v2_walk(struct mi_ctx *c, struct mi_walk *w, const struct bc_val *dir, size_t plen,
		      unsigned depth)
{
	struct bc_iter it;
	struct bc_val k, v, x;
	char q[100];
	int rc;

	bc_iter_init(&it, dir);
	while (bc_next(&it, &k, &v)) {
		const char *why = mi_component_bad(k.str, k.str_len);
		size_t n = plen + (plen ? 1 : 0) + k.str_len;
		bool is_file;
		uint64_t length = 0;
		const uint8_t *root = NULL;

		w->top_entries += depth == 0;
		if (why && plen == 0)
			return mi_fail(c, "info.file tree: a top-level name: %s", why);
		if (why)
			return mi_fail(c, "info.file tree: a name in '%s': %s",
				       mi_quote(w->path, q, sizeof(q)), why);
		if (n > MI_MAX_PATH)
			return mi_fail(c, "info.file tree: a path is longer than %d bytes",
				       MI_MAX_PATH);
		if (plen)
			w->path[plen] = '/';
		memcpy(w->path + n - k.str_len, k.str, k.str_len);
		w->path[n] = '\0';
		if (v.type != BC_DICT)
			return mi_fail(c, "info.file tree: '%s': not a dictionary",
				       mi_quote(w->path, q, sizeof(q)));
		is_file = bc_dict_get(&v, "", &x);
		if (is_file && v.raw_len != x.raw_len + 4)
			return mi_fail(c, "info.file tree: '%s' is a file and also a directory",
				       mi_quote(w->path, q, sizeof(q)));
		if (!is_file) {
			if (v.raw_len == 2)
				return mi_fail(c, "info.file tree: '%s': empty directory",
					       mi_quote(w->path, q, sizeof(q)));
			rc = mi_v2_walk(c, w, &v, n, depth + 1);
		} else {
			rc = mi_v2_leaf_check(c, w->path, &v, &length, &root);
			if (!rc)
				rc = c->mi->format == MI_FORMAT_HYBRID ?
					     mi_v2_match(c, w, length, root) :
					     mi_v2_add(c, w, length, root);
			w->leaves++;
		}
		if (rc)
			return rc;
		w->path[plen] = '\0';
	}
	return 0;
}

/* Files that need a piece layer, sorted by pieces root so that layers find them. */
static int mi_root_cmp(const void *x, const void *y)
{
	return memcmp((*(const struct mi_file *const *)x)->pieces_root,
		      (*(const struct mi_file *const *)y)->pieces_root, MI_HASH_V2_LEN);
}

static int mi_key_cmp(const void *key, const void *elem)
{
	return memcmp(key, (*(const struct mi_file *const *)elem)->pieces_root, MI_HASH_V2_LEN);
}

/* One `piece layers` entry: its size and its merkle root, then the files it serves. */
static int mi_v2_layer(struct mi_ctx *c, const struct bc_val *k, const struct bc_val *v,
		       struct mi_file **need, size_t n, uint8_t *scratch)
{
	struct metainfo *mi = c->mi;
	struct mi_file **hit = bsearch(k->str, need, n, sizeof(*need), mi_key_cmp);
	uint64_t count;
	uint8_t root[MK_HASH_LEN];
	uint8_t *copy;
	char q[100];

	if (!hit) {
		mi_warn(c, "piece layers: an entry matches no file's pieces root (ignored)");
		return 0;
	}
	while (hit > need && mi_key_cmp(k->str, hit - 1) == 0)
		hit--;
	count = ((*hit)->length + mi->piece_length - 1) / mi->piece_length;
	if (v->type != BC_STR || v->str_len != count * MK_HASH_LEN)
		return mi_fail(c, "piece layers: the layer for '%s' is not %llu hashes of 32 bytes",
			       mi_quote((*hit)->path, q, sizeof(q)), (unsigned long long)count);
	mk_root_from_layer(v->str, count, mi->piece_length, scratch, root);
	if (memcmp(root, k->str, MK_HASH_LEN) != 0)
		return mi_fail(c, "piece layers: the layer for '%s' does not hash to its pieces root",
			       mi_quote((*hit)->path, q, sizeof(q)));
	copy = mi_alloc(c, v->str_len, 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, v->str, v->str_len);
	/* Files with one root have one content, so one length (or they fail here). */
	for (; hit < need + n && mi_key_cmp(k->str, hit) == 0; hit++) {
		if (((*hit)->length + mi->piece_length - 1) / mi->piece_length != count)
			return mi_fail(c, "piece layers: '%s' shares a pieces root with a file of "
				       "another size", mi_quote((*hit)->path, q, sizeof(q)));
		(*hit)->layer = copy;
	}
	return 0;
}

/*
 * BEP 52: every file longer than a piece has its layer in `piece layers`
 * (outside info), keyed by its pieces root, and the layer must hash to it.
 */
static int mi_v2_layers(struct mi_ctx *c, const struct bc_val *root)
{
	struct metainfo *mi = c->mi;
	struct mi_file **need;
	struct bc_val layers, k, v;
	struct bc_iter it;
	uint8_t *scratch = NULL;
	size_t n = 0, most = 0;
	char q[100];
	int rc = 0;

	need = malloc((mi->file_count + 1) * sizeof(*need));
	if (!need)
		return -ENOMEM;
	for (uint32_t i = 0; i < mi->file_count; i++) {
		struct mi_file *f = &mi->files[i];

		if (f->pieces_root && f->length > mi->piece_length)
			need[n++] = f;
	}
	if (n == 0)
		goto out;
	if (!bc_dict_get_type(root, "piece layers", BC_DICT, &layers)) {
		rc = mi_fail(c, "piece layers: missing or not a dictionary ('%s' needs one)",
			     mi_quote(need[0]->path, q, sizeof(q)));
		goto out;
	}
	qsort(need, n, sizeof(*need), mi_root_cmp);
	/* Scratch for the longest layer in the input (a size in the file tree may lie). */
	bc_iter_init(&it, &layers);
	while (bc_next(&it, &k, &v))
		most = v.type == BC_STR && v.str_len > most ? v.str_len : most;
	scratch = malloc(most + MK_HASH_LEN);
	if (!scratch) {
		rc = -ENOMEM;
		goto out;
	}
	bc_iter_init(&it, &layers);
	while (!rc && bc_next(&it, &k, &v)) {
		if (k.str_len != MI_HASH_V2_LEN)
			rc = mi_fail(c, "piece layers: a key is %zu bytes, not a 32-byte pieces root",
				     k.str_len);
		else
			rc = mi_v2_layer(c, &k, &v, need, n, scratch);
	}
	for (size_t i = 0; i < n && !rc; i++) {
		if (!need[i]->layer)
			rc = mi_fail(c, "piece layers: none for '%s' (%llu bytes, more than a piece)",
				     mi_quote(need[i]->path, q, sizeof(q)),
				     (unsigned long long)need[i]->length);
	}
out:
	free(scratch);
	free(need);
	return rc;
}

/* Hybrid: nothing left over in the v1 list, and no padding past the last piece. */
static int mi_v2_match_end(struct mi_ctx *c, struct mi_walk *w)
{
	struct metainfo *mi = c->mi;
	uint64_t last_piece_end;
	char q[100];

	while (w->next < mi->file_count && mi->files[w->next].pad)
		w->next++;
	if (w->next < mi->file_count)
		return mi_fail(c, "info.files: '%s' is not in the file tree (the v1 and v2 halves "
			       "differ)", mi_quote(mi->files[w->next].path, q, sizeof(q)));
	last_piece_end = (w->end + mi->piece_length - 1) / mi->piece_length * mi->piece_length;
	if (mi->total_length > last_piece_end)
		return mi_fail(c, "info.files: %llu bytes, but the file tree ends at %llu (the v1 "
			       "and v2 halves differ)", (unsigned long long)mi->total_length,
			       (unsigned long long)w->end);
	return 0;
}

/* v2-only: the trailing pad file, the total and the piece count. */
static int mi_v2_end(struct mi_ctx *c, struct mi_walk *w)
{
	struct metainfo *mi = c->mi;
	int rc;

	if (w->end == 0)
		return mi_fail(c, "info: the torrent holds no data (total length 0)");
	if ((w->end + mi->piece_length - 1) / mi->piece_length > UINT32_MAX)
		return mi_fail(c, "info.file tree: more than 2^32 pieces");
	rc = mi_v2_add(c, w, 0, NULL);
	mi->total_length = w->end;
	mi->piece_count = (uint32_t)(w->end / mi->piece_length);
	return rc;
}

int mi_v2_load(struct mi_ctx *c, const struct bc_val *root, const struct bc_val *info)
{
	struct metainfo *mi = c->mi;
	struct mi_walk *w;
	struct bc_val tree;
	int rc;

	if (!bc_dict_get_type(info, "file tree", BC_DICT, &tree))
		return mi_fail(c, "info.file tree: not a dictionary");
	if (tree.raw_len == 2)
		return mi_fail(c, "info.file tree: empty");
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	c->info_base = info->raw;
	if (mi->format == MI_FORMAT_V2)
		mi->file_count = 0;
	rc = mi_v2_walk(c, w, &tree, 0, 0);
	if (!rc && mi->format == MI_FORMAT_HYBRID)
		rc = mi_v2_match_end(c, w);
	if (!rc && mi->format == MI_FORMAT_V2) {
		/*
		 * One file at the top of the tree, named as the torrent, is a
		 * single-file torrent (DATA/NAME); anything else lives in DATA/NAME/.
		 */
		mi->multi_file = !(w->top_entries == 1 && mi->file_count == 1 &&
				   strcmp(mi->files[0].path, mi->name) == 0);
		w->path[0] = '\0';
		rc = mi_v2_end(c, w);
	}
	if (!rc)
		rc = mi_v2_layers(c, root);
	free(w);
	return rc;
}

static uint32_t mi_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int64_t mi_v2_hash_file(const struct metainfo *mi, const uint8_t req[48])
{
	for (uint32_t i = 0; i < mi->file_count; i++) {
		const struct mi_file *f = &mi->files[i];

		if (f->layer && memcmp(f->pieces_root, req, MI_HASH_V2_LEN) == 0)
			return i;
	}
	return -1;
}

int mi_v2_hashes(const struct metainfo *mi, const uint8_t req[48], const uint8_t *const *trees,
		 uint8_t *out, uint32_t *count)
{
	uint32_t base = mi_be32(req + 32), index = mi_be32(req + 36), length = mi_be32(req + 40);
	uint32_t proof = mi_be32(req + 44);
	unsigned height = mk_piece_height(mi->piece_length), nproof;
	const struct mi_file *f;
	uint64_t n, width;
	int64_t fi;
	int rc;

	*count = 0;
	if (!(mi->format & MI_FORMAT_V2) || base != height || length < 2 || length > MI_HASHES_MAX ||
	    (length & (length - 1)) || index % length)
		return -EINVAL;
	fi = mi_v2_hash_file(mi, req);
	if (fi < 0)
		return -EINVAL;
	f = &mi->files[fi];
	n = (f->length + mi->piece_length - 1) / mi->piece_length;
	width = mk_pow2(n);
	if ((uint64_t)index + length > width)
		return -EINVAL;
	for (uint32_t k = 0; k < length; k++) {
		if (index + k < n)
			memcpy(out + (size_t)k * MK_HASH_LEN, f->layer + (size_t)(index + k) * MK_HASH_LEN,
			       MK_HASH_LEN);
		else
			mk_zero_hash(height, out + (size_t)k * MK_HASH_LEN);
	}
	proof = proof < MI_PROOF_MAX ? proof : MI_PROOF_MAX;
	if (trees && trees[fi])
		rc = mk_tree_proof(trees[fi], width, index, length, proof,
				   out + (size_t)length * MK_HASH_LEN, &nproof);
	else
		rc = mk_proof(f->layer, (size_t)n, width, height, index, length, proof,
			      out + (size_t)length * MK_HASH_LEN, &nproof);
	if (rc)
		return -EINVAL;
	*count = length + nproof;
	return 0;
}
