/*
 * metainfo_enc.c - write a v1, v2 or hybrid .torrent; see metainfo_enc.h.
 *
 * Every dictionary is written in sorted key order by hand: the bencode
 * encoder refuses a key out of order, so a mistake here is an -EINVAL, never
 * a file whose info-hash other clients compute differently.
 */
#include <errno.h>
#include <string.h>

#include "proto/bencode.h"
#include "proto/merkle.h"
#include "proto/metainfo_enc.h"

/* announce is the first URL; announce-list (BEP 12) only when there are more. */
static void mi_enc_trackers(struct bc_enc *e, const struct mi_enc *m)
{
	if (m->tracker_count == 0)
		return;
	bc_enc_cstr(e, "announce");
	bc_enc_cstr(e, m->trackers[0].url);
	if (m->tracker_count == 1)
		return;
	bc_enc_cstr(e, "announce-list");
	bc_enc_list(e);
	for (uint32_t i = 0; i < m->tracker_count; i++) {
		if (i == 0 || m->trackers[i].tier != m->trackers[i - 1].tier) {
			if (i)
				bc_enc_end(e);
			bc_enc_list(e);
		}
		bc_enc_cstr(e, m->trackers[i].url);
	}
	bc_enc_end(e);
	bc_enc_end(e);
}

/* A path as a list of its components; empty ones (from "a//b") are dropped. */
static void mi_enc_path(struct bc_enc *e, const char *path)
{
	const char *p = path, *slash;

	bc_enc_list(e);
	while (*p) {
		slash = strchr(p, '/');
		if (!slash)
			slash = p + strlen(p);
		if (slash > p)
			bc_enc_str(e, p, (size_t)(slash - p));
		p = *slash ? slash + 1 : slash;
	}
	bc_enc_end(e);
}

static void mi_enc_files(struct bc_enc *e, const struct mi_enc *m)
{
	bc_enc_cstr(e, "files");
	bc_enc_list(e);
	for (uint32_t i = 0; i < m->file_count; i++) {
		bc_enc_dict(e);
		if (m->files[i].pad) {
			bc_enc_cstr(e, "attr"); /* BEP 47 */
			bc_enc_cstr(e, "p");
		}
		bc_enc_cstr(e, "length");
		bc_enc_int(e, (int64_t)m->files[i].length);
		bc_enc_cstr(e, "path");
		mi_enc_path(e, m->files[i].path);
		bc_enc_end(e);
	}
	bc_enc_end(e);
}

static void mi_enc_info(struct bc_enc *e, const struct mi_enc *m, enum mi_format format)
{
	bc_enc_cstr(e, "info");
	bc_enc_dict(e);
	if (format & MI_FORMAT_V2)
		mi_enc_file_tree(e, m->multi_file ? NULL : m->name, m->files, m->file_count);
	if (format & MI_FORMAT_V1 && m->multi_file) {
		mi_enc_files(e, m);
	} else if (format & MI_FORMAT_V1) {
		bc_enc_cstr(e, "length");
		bc_enc_int(e, (int64_t)m->files[0].length);
	}
	if (format & MI_FORMAT_V2) {
		bc_enc_cstr(e, "meta version"); /* BEP 52 */
		bc_enc_int(e, 2);
	}
	bc_enc_cstr(e, "name");
	bc_enc_cstr(e, m->name);
	bc_enc_cstr(e, "piece length");
	bc_enc_int(e, m->piece_length);
	if (format & MI_FORMAT_V1) {
		bc_enc_cstr(e, "pieces");
		bc_enc_str(e, m->pieces, (size_t)m->piece_count * MI_HASH_LEN);
	}
	if (m->private_torrent) {
		bc_enc_cstr(e, "private");
		bc_enc_int(e, 1);
	}
	if (m->source) {
		bc_enc_cstr(e, "source");
		bc_enc_cstr(e, m->source);
	}
	bc_enc_end(e);
}

ssize_t mi_encode(const struct mi_enc *m, uint8_t *out, size_t cap)
{
	enum mi_format format = m->format ? m->format : MI_FORMAT_V1;
	struct bc_enc e;

	if ((!m->multi_file && m->file_count != 1) || (format & MI_FORMAT_V2 && !m->order))
		return -EINVAL;
	bc_enc_init(&e, out, cap);
	bc_enc_dict(&e);
	mi_enc_trackers(&e, m);
	if (m->comment) {
		bc_enc_cstr(&e, "comment");
		bc_enc_cstr(&e, m->comment);
	}
	if (m->created_by) {
		bc_enc_cstr(&e, "created by");
		bc_enc_cstr(&e, m->created_by);
	}
	if (m->creation_date) {
		bc_enc_cstr(&e, "creation date");
		bc_enc_int(&e, m->creation_date);
	}
	mi_enc_info(&e, m, format);
	if (format & MI_FORMAT_V2) /* BEP 52: outside info */
		mi_enc_piece_layers(&e, m->piece_length, m->files, m->file_count, m->order);
	if (m->web_seed_count) {
		bc_enc_cstr(&e, "url-list");
		bc_enc_list(&e);
		for (uint32_t i = 0; i < m->web_seed_count; i++)
			bc_enc_cstr(&e, m->web_seeds[i]);
		bc_enc_end(&e);
	}
	bc_enc_end(&e);
	return bc_enc_finish(&e);
}

/*
 * Every string plus generous framing (lengths, list and dictionary marks):
 * each path twice (files and file tree), and per piece its SHA-1 and its
 * place in a v2 piece layer.
 */
size_t mi_enc_bound(const struct mi_enc *m)
{
	size_t n = 4096 + (size_t)m->piece_count * (MI_HASH_LEN + MK_HASH_LEN) + strlen(m->name);

	for (uint32_t i = 0; i < m->file_count; i++)
		n += 3 * strlen(m->files[i].path) + 192;
	for (uint32_t i = 0; i < m->tracker_count; i++)
		n += 2 * strlen(m->trackers[i].url) + 64;
	for (uint32_t i = 0; i < m->web_seed_count; i++)
		n += strlen(m->web_seeds[i]) + 32;
	n += m->comment ? strlen(m->comment) + 32 : 0;
	n += m->created_by ? strlen(m->created_by) + 32 : 0;
	n += m->source ? strlen(m->source) + 32 : 0;
	return n;
}
