/*
 * metainfo_enc_v2.c - BEP 52 `file tree` and `piece layers`; see
 * metainfo_enc_v2.h.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/metainfo_enc_v2.h"
#include "proto/merkle.h"

/* Length of the first component of s (up to '/' or the end). */
static size_t mi_comp_len(const char *s)
{
	const char *slash = strchr(s, '/');

	return slash ? (size_t)(slash - s) : strlen(s);
}

/* How many leading components a and b share. */
static unsigned mi_common(const char *a, const char *b)
{
	unsigned n = 0;

	for (;;) {
		size_t la = mi_comp_len(a), lb = mi_comp_len(b);

		if (la != lb || memcmp(a, b, la) != 0 || !a[la] || !b[lb])
			return n;
		n++;
		a += la + 1;
		b += lb + 1;
	}
}

static unsigned mi_depth(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '/';
	return n; /* directories above the file */
}

static void mi_enc_leaf(struct bc_enc *e, const struct mi_v2_file *f)
{
	bc_enc_dict(e);
	bc_enc_str(e, "", 0);
	bc_enc_dict(e);
	bc_enc_cstr(e, "length");
	bc_enc_int(e, (int64_t)f->length);
	if (f->length) {
		bc_enc_cstr(e, "pieces root");
		bc_enc_str(e, f->root, MK_HASH_LEN);
	}
	bc_enc_end(e);
	bc_enc_end(e);
}

void mi_enc_file_tree(struct bc_enc *e, const char *single_name, const struct mi_v2_file *files,
		      uint32_t count)
{
	const char *prev = NULL;

	bc_enc_cstr(e, "file tree");
	bc_enc_dict(e);
	for (uint32_t i = 0; i < count; i++) {
		const struct mi_v2_file *f = &files[i];
		const char *p = single_name ? single_name : f->path;
		unsigned keep = 0, open;

		if (f->pad)
			continue;
		if (prev) {
			/* Close the directories prev is in that p is not. */
			keep = mi_common(prev, p);
			for (unsigned d = mi_depth(prev); d > keep; d--)
				bc_enc_end(e);
		}
		/* Skip the shared directories, then open p's others. */
		for (unsigned d = 0; d < keep; d++)
			p += mi_comp_len(p) + 1;
		open = mi_depth(p);
		for (unsigned d = 0; d < open; d++) {
			bc_enc_str(e, p, mi_comp_len(p));
			bc_enc_dict(e);
			p += mi_comp_len(p) + 1;
		}
		bc_enc_str(e, p, strlen(p));
		mi_enc_leaf(e, f);
		prev = single_name ? single_name : f->path;
	}
	for (unsigned d = prev ? mi_depth(prev) : 0; d > 0; d--)
		bc_enc_end(e);
	bc_enc_end(e);
}

static int mi_root_order(const void *x, const void *y, void *arg)
{
	const struct mi_v2_file *f = arg;

	return memcmp(f[*(const uint32_t *)x].root, f[*(const uint32_t *)y].root, MK_HASH_LEN);
}

void mi_enc_piece_layers(struct bc_enc *e, uint32_t piece_length, const struct mi_v2_file *files,
			 uint32_t count, uint32_t *order)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < count; i++) {
		if (!files[i].pad && files[i].root && files[i].length > piece_length)
			order[n++] = i;
	}
	if (n == 0)
		return;
	qsort_r(order, n, sizeof(*order), mi_root_order, (void *)files);
	bc_enc_cstr(e, "piece layers");
	bc_enc_dict(e);
	for (uint32_t k = 0; k < n; k++) {
		const struct mi_v2_file *f = &files[order[k]];

		/* Files with one content share one entry. */
		if (k && memcmp(files[order[k - 1]].root, f->root, MK_HASH_LEN) == 0)
			continue;
		bc_enc_str(e, f->root, MK_HASH_LEN);
		bc_enc_str(e, f->layer,
			   (size_t)((f->length + piece_length - 1) / piece_length) * MK_HASH_LEN);
	}
	bc_enc_end(e);
}
