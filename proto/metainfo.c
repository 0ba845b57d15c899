/*
 * metainfo.c - load and validate a v1 .torrent; see metainfo.h.
 *
 * mi_parse() runs in three steps:
 *   1. bc_parse() the file (unsorted keys tolerated) and re-parse the info
 *      dictionary strictly, because its bytes define the info-hash;
 *   2. count what will be kept (files, trackers, web seeds) and take one
 *      allocation, the arena, large enough for it and every string;
 *   3. copy into the arena, validating as it goes.
 * Strings copied from the file can never need more arena bytes than their
 * encodings took in the input, which bounds the arena by the input size.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "proto/bencode.h"
#include "proto/metainfo.h"
#include "proto/metainfo_int.h"

int mi_fail(struct mi_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void mi_warn(struct mi_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->mi->warning_count++ > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(c->mi->warning, sizeof(c->mi->warning), fmt, ap);
	va_end(ap);
}

/* Arrays are aligned to 16 bytes; strings (align 1) pack tightly. */
void *mi_alloc(struct mi_ctx *c, size_t n, size_t align)
{
	size_t off = (c->used + align - 1) & ~(align - 1);

	/* Sized in mi_arena_size(); running out means that sum is wrong. */
	if (off > c->cap || n > c->cap - off)
		return NULL;
	c->used = off + n;
	return c->arena + off;
}

char *mi_strdup(struct mi_ctx *c, const uint8_t *s, size_t n)
{
	char *p = mi_alloc(c, n + 1, 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Why a path component is unsafe, or NULL if it is fine. */
const char *mi_component_bad(const uint8_t *s, size_t n)
{
	if (n == 0)
		return "empty component";
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return "'.' and '..' are not allowed";
	if (n > MI_MAX_COMPONENT)
		return "component longer than 255 bytes";
	if (memchr(s, '/', n))
		return "component contains '/'";
	if (memchr(s, '\0', n))
		return "component contains a NUL byte";
	return NULL;
}

/* A URL we keep: non-empty and without control bytes or spaces. */
static bool mi_url_ok(const struct bc_val *v)
{
	if (v->type != BC_STR || v->str_len == 0)
		return false;
	for (size_t i = 0; i < v->str_len; i++) {
		if (v->str[i] <= ' ' || v->str[i] == 0x7f)
			return false;
	}
	return true;
}

static int mi_copy_path(struct mi_ctx *c, const struct bc_val *path, uint32_t idx,
			struct mi_file *f)
{
	struct bc_iter it;
	struct bc_val comp;
	char *out;
	size_t n = 0, k = 0;
	const char *why;

	if (path->type != BC_LIST)
		return mi_fail(c, "info.files[%u].path: not a list", idx);
	/* The joined path is shorter than the list's encoding. */
	out = mi_alloc(c, path->raw_len, 1);
	if (!out)
		return -ENOMEM;
	bc_iter_init(&it, path);
	while (bc_next(&it, NULL, &comp)) {
		if (comp.type != BC_STR)
			return mi_fail(c, "info.files[%u].path[%zu]: not a string", idx, k);
		why = mi_component_bad(comp.str, comp.str_len);
		if (why)
			return mi_fail(c, "info.files[%u].path[%zu]: %s", idx, k, why);
		if (n + comp.str_len + 1 > MI_MAX_PATH)
			return mi_fail(c, "info.files[%u].path: longer than %d bytes", idx,
				       MI_MAX_PATH);
		if (k++)
			out[n++] = '/';
		memcpy(out + n, comp.str, comp.str_len);
		n += comp.str_len;
	}
	if (k == 0)
		return mi_fail(c, "info.files[%u].path: empty list", idx);
	out[n] = '\0';
	f->path = out;
	return 0;
}

static int mi_load_file(struct mi_ctx *c, const struct bc_val *entry, uint32_t idx, uint64_t offset)
{
	struct mi_file *f = &c->mi->files[idx];
	struct bc_val len, path, attr;
	int rc;

	if (entry->type != BC_DICT)
		return mi_fail(c, "info.files[%u]: not a dictionary", idx);
	if (!bc_dict_get_type(entry, "length", BC_INT, &len))
		return mi_fail(c, "info.files[%u].length: missing or not an integer", idx);
	if (len.num < 0 || (uint64_t)len.num > MI_MAX_TOTAL_LENGTH)
		return mi_fail(c, "info.files[%u].length: %lld is not a valid size", idx,
			       (long long)len.num);
	if (!bc_dict_get(entry, "path", &path))
		return mi_fail(c, "info.files[%u].path: missing", idx);
	rc = mi_copy_path(c, &path, idx, f);
	if (rc)
		return rc;
	f->length = (uint64_t)len.num;
	f->offset = offset;
	/* BEP 47: an 'attr' string with 'p' marks a pad file. */
	f->pad = bc_dict_get_type(entry, "attr", BC_STR, &attr) &&
		 memchr(attr.str, 'p', attr.str_len) != NULL;
	return 0;
}

int mi_path_cmp(const char *x, const char *y)
{
	const unsigned char *a = (const unsigned char *)x, *b = (const unsigned char *)y;

	for (;; a++, b++) {
		/* NUL ends a path, '/' comes next, then every byte in order. */
		unsigned ca = *a == '/' ? 1 : *a ? *a + 1u : 0;
		unsigned cb = *b == '/' ? 1 : *b ? *b + 1u : 0;

		if (ca != cb || ca == 0)
			return (int)ca - (int)cb;
	}
}

static int mi_file_ptr_cmp(const void *x, const void *y)
{
	return mi_path_cmp((*(const struct mi_file *const *)x)->path,
			   (*(const struct mi_file *const *)y)->path);
}

/*
 * A path from the file, made safe for a one-line message: control bytes,
 * quotes and backslashes become \xNN, and a long one is cut with "...".
 */
const char *mi_quote(const char *s, char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *s && o + 8 < n; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f || ch == '\'' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else {
			out[o++] = (char)ch;
		}
	}
	if (*s)
		memcpy(out + o, "...", 3), o += 3;
	out[o] = '\0';
	return out;
}

/*
 * Two files with one path, or a file that is also another's directory. Pad
 * files are never on disk, and libtorrent names them by their size, so two
 * may share a path.
 */
static int mi_check_paths(struct mi_ctx *c)
{
	struct metainfo *mi = c->mi;
	struct mi_file **sorted;
	uint32_t n = 0;
	int rc = 0;

	if (mi->file_count < 2)
		return 0;
	sorted = malloc(mi->file_count * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (uint32_t i = 0; i < mi->file_count; i++) {
		if (!mi->files[i].pad)
			sorted[n++] = &mi->files[i];
	}
	qsort(sorted, n, sizeof(*sorted), mi_file_ptr_cmp);
	for (uint32_t i = 1; i < n && !rc; i++) {
		const char *a = sorted[i - 1]->path, *b = sorted[i]->path;
		size_t an = strlen(a);
		char qa[100], qb[100];

		if (strcmp(a, b) == 0)
			rc = mi_fail(c, "info.files: two files have the path '%s'",
				     mi_quote(a, qa, sizeof(qa)));
		else if (strncmp(a, b, an) == 0 && b[an] == '/')
			rc = mi_fail(c, "info.files: '%s' is a file and also the directory of '%s'",
				     mi_quote(a, qa, sizeof(qa)), mi_quote(b, qb, sizeof(qb)));
	}
	free(sorted);
	return rc;
}

static int mi_load_files(struct mi_ctx *c, const struct bc_val *files)
{
	struct metainfo *mi = c->mi;
	struct bc_iter it;
	struct bc_val entry;
	uint64_t total = 0;
	uint32_t i = 0;
	int rc;

	bc_iter_init(&it, files);
	while (bc_next(&it, NULL, &entry)) {
		rc = mi_load_file(c, &entry, i, total);
		if (rc)
			return rc;
		total += mi->files[i].length;
		if (total > MI_MAX_TOTAL_LENGTH)
			return mi_fail(c, "info.files: total length exceeds %llu bytes",
				       (unsigned long long)MI_MAX_TOTAL_LENGTH);
		i++;
	}
	mi->total_length = total;
	return mi_check_paths(c);
}

/* name, piece length, and for v1 pieces: present and sane. */
static int mi_load_basics(struct mi_ctx *c, const struct bc_val *info, struct bc_val *pieces)
{
	struct metainfo *mi = c->mi;
	struct bc_val name, plen;
	const char *why;

	if (!bc_dict_get_type(info, "name", BC_STR, &name))
		return mi_fail(c, "info.name: missing or not a string");
	why = mi_component_bad(name.str, name.str_len);
	if (why)
		return mi_fail(c, "info.name: %s", why);
	mi->name = mi_strdup(c, name.str, name.str_len);
	if (!mi->name)
		return -ENOMEM;
	if (!bc_dict_get_type(info, "piece length", BC_INT, &plen))
		return mi_fail(c, "info.piece length: missing or not an integer");
	if (plen.num <= 0 || plen.num > MI_MAX_PIECE_LENGTH)
		return mi_fail(c, "info.piece length: %lld is outside 1..%u", (long long)plen.num,
			       MI_MAX_PIECE_LENGTH);
	mi->piece_length = (uint32_t)plen.num;
	if (mi->format & MI_FORMAT_V2 &&
	    (plen.num < MI_V2_MIN_PIECE || (plen.num & (plen.num - 1))))
		return mi_fail(c, "info.piece length: %lld is not a power of two >= 16 KiB (BEP 52)",
			       (long long)plen.num);
	if (!(mi->format & MI_FORMAT_V1))
		return 0;
	if (!bc_dict_get_type(info, "pieces", BC_STR, pieces))
		return mi_fail(c, "info.pieces: missing or not a string");
	if (pieces->str_len % MI_HASH_LEN)
		return mi_fail(c, "info.pieces: %zu bytes is not a multiple of 20",
			       pieces->str_len);
	return 0;
}

/* length or files, and a piece count that matches the total length. */
static int mi_load_layout(struct mi_ctx *c, const struct bc_val *info, size_t pieces_len)
{
	struct metainfo *mi = c->mi;
	struct bc_val len, files;
	bool has_len = bc_dict_get(info, "length", &len);
	bool has_files = bc_dict_get(info, "files", &files);
	uint64_t want;
	int rc;

	if (has_len == has_files)
		return mi_fail(c, "info: needs exactly one of 'length' and 'files'");
	if (has_len) {
		if (len.type != BC_INT || len.num < 0 || (uint64_t)len.num > MI_MAX_TOTAL_LENGTH)
			return mi_fail(c, "info.length: not a valid size");
		mi->total_length = (uint64_t)len.num;
		mi->files[0] = (struct mi_file){ .path = mi->name, .length = mi->total_length };
	} else {
		if (files.type != BC_LIST)
			return mi_fail(c, "info.files: not a list");
		if (mi->file_count == 0)
			return mi_fail(c, "info.files: empty list");
		mi->multi_file = true;
		rc = mi_load_files(c, &files);
		if (rc)
			return rc;
	}
	if (mi->total_length == 0)
		return mi_fail(c, "info: the torrent holds no data (total length 0)");
	want = (mi->total_length + mi->piece_length - 1) / mi->piece_length;
	if (want != pieces_len / MI_HASH_LEN)
		return mi_fail(c,
			       "info.pieces: %zu hashes for %llu bytes in pieces of %u (want %llu)",
			       pieces_len / MI_HASH_LEN, (unsigned long long)mi->total_length,
			       mi->piece_length, (unsigned long long)want);
	mi->piece_count = (uint32_t)want;
	return 0;
}

/* BEP 52: `meta version` 2 with a `file tree` is v2; `pieces` beside them, a hybrid. */
static int mi_load_format(struct mi_ctx *c, const struct bc_val *info)
{
	struct metainfo *mi = c->mi;
	struct bc_val v;
	bool has_mv = bc_dict_get(info, "meta version", &v);
	bool has_tree = bc_dict_get(info, "file tree", &v);

	if (has_mv) {
		bc_dict_get(info, "meta version", &v);
		if (v.type != BC_INT || v.num != 2)
			return mi_fail(c, "info.meta version: not 2 (the only version BEP 52 defines)");
		if (!has_tree)
			return mi_fail(c, "info.file tree: missing (meta version 2)");
	} else if (has_tree) {
		return mi_fail(c, "info.meta version: missing beside 'file tree'");
	}
	mi->format = has_mv ? MI_FORMAT_V2 : MI_FORMAT_V1;
	if (has_mv && bc_dict_get(info, "pieces", &v))
		mi->format = MI_FORMAT_HYBRID;
	return 0;
}

static int mi_load_info(struct mi_ctx *c, const struct bc_val *root, const struct bc_val *info)
{
	struct metainfo *mi = c->mi;
	struct bc_val pieces, v;
	int rc;

	rc = mi_load_format(c, info);
	if (!rc)
		rc = mi_load_basics(c, info, &pieces);
	if (!rc && mi->format & MI_FORMAT_V1)
		rc = mi_load_layout(c, info, pieces.str_len);
	if (!rc && mi->format & MI_FORMAT_V2)
		rc = mi_v2_load(c, root, info);
	if (rc)
		return rc;
	/* BEP 52: v2 peers and trackers use the SHA-256 info-hash cut to 20 bytes. */
	if (mi->format == MI_FORMAT_V2)
		memcpy(mi->info_hash, mi->info_hash_v2, MI_HASH_LEN);
	/* Point into the arena's copy of the info dictionary. */
	if (mi->format & MI_FORMAT_V1)
		mi->pieces = mi->info_raw + (pieces.str - info->raw);
	mi->private_torrent = bc_dict_get_type(info, "private", BC_INT, &v) && v.num == 1;
	if (bc_dict_get_type(info, "source", BC_STR, &v)) {
		mi->source = mi_strdup(c, v.str, v.str_len);
		if (!mi->source)
			return -ENOMEM;
	}
	return 0;
}

static int mi_add_tracker(struct mi_ctx *c, const char *key, const struct bc_val *url,
			  uint32_t tier)
{
	struct metainfo *mi = c->mi;
	struct mi_tracker *t;

	if (!mi_url_ok(url)) {
		mi_warn(c, "%s: an entry of tier %u is not a usable URL (skipped)", key, tier);
		return 0;
	}
	if (mi->tracker_count == c->tracker_cap) {
		mi_warn(c, "%s: more than %d URLs, the rest are ignored", key, MI_MAX_TRACKERS);
		return 0;
	}
	t = &mi->trackers[mi->tracker_count++];
	t->tier = tier;
	t->url = mi_strdup(c, url->str, url->str_len);
	return t->url ? 0 : -ENOMEM;
}

/* BEP 12: announce-list, when it has any URL, replaces announce. */
static int mi_load_trackers(struct mi_ctx *c, const struct bc_val *root)
{
	struct metainfo *mi = c->mi;
	struct bc_val list, tier, url;
	struct bc_iter it, jt;
	int rc;

	if (bc_dict_get_type(root, "announce-list", BC_LIST, &list)) {
		bc_iter_init(&it, &list);
		while (bc_next(&it, NULL, &tier)) {
			uint32_t before = mi->tracker_count;

			if (tier.type != BC_LIST) {
				mi_warn(c, "announce-list: a tier is not a list (skipped)");
				continue;
			}
			bc_iter_init(&jt, &tier);
			while (bc_next(&jt, NULL, &url)) {
				rc = mi_add_tracker(c, "announce-list", &url, mi->tier_count);
				if (rc)
					return rc;
			}
			if (mi->tracker_count > before)
				mi->tier_count++;
		}
	}
	if (mi->tracker_count == 0 && bc_dict_get(root, "announce", &url)) {
		rc = mi_add_tracker(c, "announce", &url, 0);
		if (rc)
			return rc;
		mi->tier_count = mi->tracker_count;
	}
	return 0;
}

static int mi_add_web_seed(struct mi_ctx *c, const struct bc_val *url)
{
	struct metainfo *mi = c->mi;
	const char *s;

	if (!mi_url_ok(url)) {
		char shown[48];
		size_t n = 0;

		/* The entry as it is, unprintable bytes as '?', cut short. */
		for (size_t i = 0; url->type == BC_STR && i < url->str_len && n + 1 < sizeof(shown);
		     i++)
			shown[n++] = url->str[i] > ' ' && url->str[i] < 0x7f ? url->str[i] : '?';
		shown[n] = '\0';
		if (url->type != BC_STR)
			mi_warn(c, "url-list: an entry is not a string (skipped)");
		else
			mi_warn(c, "url-list: \"%s%s\" is not a usable URL (skipped)", shown,
				n < url->str_len ? "..." : "");
		return 0;
	}
	if (mi->web_seed_count == c->web_cap)
		return 0;
	s = mi_strdup(c, url->str, url->str_len);
	if (!s)
		return -ENOMEM;
	mi->web_seeds[mi->web_seed_count++] = s;
	return 0;
}

/* BEP 19: url-list is one URL or a list of them; "" means none. */
static int mi_load_web_seeds(struct mi_ctx *c, const struct bc_val *root)
{
	struct bc_val list, url;
	struct bc_iter it;
	int rc;

	if (!bc_dict_get(root, "url-list", &list))
		return 0;
	if (list.type == BC_STR)
		return list.str_len ? mi_add_web_seed(c, &list) : 0;
	if (list.type != BC_LIST) {
		mi_warn(c, "url-list: neither a URL nor a list of them (ignored)");
		return 0;
	}
	bc_iter_init(&it, &list);
	while (bc_next(&it, NULL, &url)) {
		rc = mi_add_web_seed(c, &url);
		if (rc)
			return rc;
	}
	return 0;
}

static int mi_load_extras(struct mi_ctx *c, const struct bc_val *root)
{
	struct metainfo *mi = c->mi;
	struct bc_val v;

	if (bc_dict_get_type(root, "comment", BC_STR, &v) &&
	    !(mi->comment = mi_strdup(c, v.str, v.str_len)))
		return -ENOMEM;
	if (bc_dict_get_type(root, "created by", BC_STR, &v) &&
	    !(mi->created_by = mi_strdup(c, v.str, v.str_len)))
		return -ENOMEM;
	if (bc_dict_get_type(root, "creation date", BC_INT, &v))
		mi->creation_date = v.num;
	return 0;
}

static size_t mi_count(const struct bc_val *v)
{
	struct bc_iter it;
	struct bc_val x;
	size_t n = 0;

	bc_iter_init(&it, v);
	while (bc_next(&it, NULL, &x))
		n++;
	return n;
}

/*
 * Step 2: how many files, trackers and web seeds there are (trackers and web
 * seeds capped), and the arena that holds them with every string.
 */
static size_t mi_arena_size(struct metainfo *mi, const struct bc_val *root,
			    const struct bc_val *info, size_t input_len, size_t *trackers,
			    size_t *web, size_t *files)
{
	struct bc_val v, tier;
	struct bc_iter it;

	mi->file_count = 1;
	if (bc_dict_get_type(info, "files", BC_LIST, &v))
		mi->file_count = (uint32_t)mi_count(&v);
	/* A v2-only torrent's files, each but the first maybe after a pad file. */
	*files = mi->file_count + 2 * mi_v2_count_files(info) + 1;
	*trackers = 1; /* a plain announce */
	if (bc_dict_get_type(root, "announce-list", BC_LIST, &v)) {
		bc_iter_init(&it, &v);
		while (bc_next(&it, NULL, &tier))
			*trackers += tier.type == BC_LIST ? mi_count(&tier) : 0;
	}
	if (*trackers > MI_MAX_TRACKERS)
		*trackers = MI_MAX_TRACKERS;
	*web = 0;
	if (bc_dict_get(root, "url-list", &v))
		*web = v.type == BC_LIST ? mi_count(&v) : v.type == BC_STR;
	if (*web > MI_MAX_WEB_SEEDS)
		*web = MI_MAX_WEB_SEEDS;
	/*
	 * Every string copied (with its NUL) is shorter than its encoding in the
	 * input, so input_len covers them, and the piece layers; the rest is the
	 * arrays, the names of the pad files a v2-only torrent gets, and
	 * alignment.
	 */
	return *files * (sizeof(struct mi_file) + sizeof(".pad/18446744073709551615")) +
	       *trackers * sizeof(struct mi_tracker) + *web * sizeof(char *) + info->raw_len +
	       input_len + 16 * 16;
}

static int mi_setup(struct mi_ctx *c, const struct bc_val *root, const struct bc_val *info,
		    size_t input_len)
{
	struct metainfo *mi = c->mi;
	size_t trackers, web, files;
	uint8_t *copy;

	c->cap = mi_arena_size(mi, root, info, input_len, &trackers, &web, &files);
	c->file_cap = files;
	c->tracker_cap = trackers;
	c->web_cap = web;
	c->arena = malloc(c->cap);
	if (!c->arena)
		return -ENOMEM;
	mi->arena = c->arena;
	mi->files = mi_alloc(c, files * sizeof(*mi->files), 16);
	mi->trackers = mi_alloc(c, trackers * sizeof(*mi->trackers), 16);
	mi->web_seeds = mi_alloc(c, web * sizeof(*mi->web_seeds), 16);
	copy = mi_alloc(c, info->raw_len, 1);
	if (!mi->files || !mi->trackers || !mi->web_seeds || !copy)
		return -ENOMEM;
	memset(mi->files, 0, files * sizeof(*mi->files));
	memcpy(copy, info->raw, info->raw_len);
	mi->info_raw = copy;
	mi->info_len = info->raw_len;
	SHA1(info->raw, info->raw_len, mi->info_hash);
	SHA256(info->raw, info->raw_len, mi->info_hash_v2);
	return 0;
}

/* Step 1: the document and its info dictionary are well-formed. */
static int mi_check_encoding(struct mi_ctx *c, size_t len, struct bc_val *root, struct bc_val *info)
{
	struct bc_val strict;
	struct bc_err bce;
	size_t unsorted;

	if (bc_parse(c->buf, len, BC_ALLOW_UNSORTED, root, &bce))
		return mi_fail(c, "not valid bencoding: %s at byte %zu", bce.what, bce.offset);
	unsorted = bce.unsorted;
	if (root->type != BC_DICT)
		return mi_fail(c, "not a .torrent: the top level is not a dictionary");
	if (!bc_dict_get(root, "info", info))
		return mi_fail(c, "info: missing");
	if (info->type != BC_DICT)
		return mi_fail(c, "info: not a dictionary");
	if (bc_parse(info->raw, info->raw_len, 0, &strict, &bce))
		return mi_fail(c, "info: %s at byte %zu (the info-hash would be ambiguous)",
			       bce.what, (size_t)(info->raw - c->buf) + bce.offset);
	if (unsorted)
		mi_warn(c, "keys outside the info dictionary are not in sorted order (accepted)");
	return 0;
}

int mi_parse(const uint8_t *buf, size_t len, struct metainfo *mi, struct mi_err *err)
{
	struct mi_ctx c = { .mi = mi, .err = err, .buf = buf };
	struct bc_val root, info;
	int rc;

	memset(mi, 0, sizeof(*mi));
	err->msg[0] = '\0';
	rc = mi_check_encoding(&c, len, &root, &info);
	if (!rc)
		rc = mi_setup(&c, &root, &info, len);
	if (!rc)
		rc = mi_load_info(&c, &root, &info);
	if (!rc)
		rc = mi_load_trackers(&c, &root);
	if (!rc)
		rc = mi_load_web_seeds(&c, &root);
	if (!rc)
		rc = mi_load_extras(&c, &root);
	if (rc == -ENOMEM && !err->msg[0])
		snprintf(err->msg, sizeof(err->msg), "out of memory loading the torrent");
	if (rc)
		mi_free(mi);
	return rc;
}

void mi_free(struct metainfo *mi)
{
	free(mi->arena);
	memset(mi, 0, sizeof(*mi));
}

uint32_t mi_piece_size(const struct metainfo *mi, uint32_t piece)
{
	uint64_t start = (uint64_t)piece * mi->piece_length;

	if (piece >= mi->piece_count)
		return 0;
	if (mi->total_length - start < mi->piece_length)
		return (uint32_t)(mi->total_length - start);
	return mi->piece_length;
}

int mi_map(const struct metainfo *mi, uint32_t piece, uint32_t begin, uint32_t length,
	   struct mi_extent *out, unsigned max)
{
	uint32_t size = mi_piece_size(mi, piece), lo = 0, hi = mi->file_count;
	uint64_t pos = (uint64_t)piece * mi->piece_length + begin, left = length;
	unsigned n = 0;

	if (length == 0 || piece >= mi->piece_count || begin > size || length > size - begin)
		return -EINVAL;
	/* The first file that ends after pos; empty files end where they start. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (mi->files[mid].offset + mi->files[mid].length <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (uint32_t i = lo; left > 0; i++) {
		const struct mi_file *f = &mi->files[i];
		uint64_t chunk;

		if (i >= mi->file_count)
			return -EINVAL; /* the layout does not cover the piece: cannot happen */
		if (f->length == 0)
			continue;
		if (n == max)
			return -ENOSPC;
		chunk = f->offset + f->length - pos;
		if (chunk > left)
			chunk = left;
		out[n++] = (struct mi_extent){ .file = i,
					       .offset = pos - f->offset,
					       .length = (uint32_t)chunk };
		pos += chunk;
		left -= chunk;
	}
	return (int)n;
}

void mi_hex(const uint8_t hash[MI_HASH_LEN], char out[2 * MI_HASH_LEN + 1])
{
	mi_hex_n(hash, MI_HASH_LEN, out);
}

void mi_hex_n(const uint8_t *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

const char *mi_format_name(enum mi_format f)
{
	return f == MI_FORMAT_HYBRID ? "hybrid" : f == MI_FORMAT_V2 ? "v2" : "v1";
}

int64_t mi_piece_file(const struct metainfo *mi, uint32_t piece)
{
	uint64_t pos = (uint64_t)piece * mi->piece_length;
	uint32_t lo = 0, hi = mi->file_count;

	if (piece >= mi->piece_count)
		return -1;
	/* The first file that ends after pos (as in mi_map()). */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (mi->files[mid].offset + mi->files[mid].length <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo < mi->file_count && mi->files[lo].length == 0)
		lo++;
	if (lo == mi->file_count || mi->files[lo].pad)
		return -1;
	return lo;
}

const uint8_t *mi_piece_hash_v2(const struct metainfo *mi, uint32_t piece)
{
	int64_t i = mi_piece_file(mi, piece);
	const struct mi_file *f;

	if (i < 0 || !mi->files[i].pieces_root)
		return NULL;
	f = &mi->files[i];
	if (!f->layer)
		return f->pieces_root;
	return f->layer + (size_t)(piece - f->offset / mi->piece_length) * MI_HASH_V2_LEN;
}
