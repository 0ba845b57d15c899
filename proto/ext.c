/*
 * ext.c - the peer's BEP 10 extended handshake and BEP 9 ut_metadata
 * messages; see ext.h for the contract.
 *
 * Both parsers lean on bc_parse(), which bounds the work by the input's
 * length and nesting, and then only look keys up in the dictionary it
 * validated. Nothing is copied but the client name.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto/bencode.h"
#include "proto/ext.h"
#include "proto/wire.h"

static void ext_fail(struct ext_err *err, const char *what, const struct bc_err *be)
{
	if (be)
		snprintf(err->msg, sizeof(err->msg), "%s: %s at byte %zu", what, be->what,
			 be->offset);
	else
		snprintf(err->msg, sizeof(err->msg), "%s", what);
}

/* A known key with a value we cannot use: skipped, counted, the first one named. */
static void ext_skip(struct ext_peer_hs *hs, const char *key)
{
	if (!hs->skipped++)
		hs->first_skipped = key;
}

/* An integer value of dict[key] within [lo, hi]; false (and counted) otherwise. */
static bool ext_int(struct ext_peer_hs *hs, const struct bc_val *dict, const char *key, int64_t lo,
		    int64_t hi, int64_t *out)
{
	struct bc_val v;

	if (!bc_dict_get(dict, key, &v))
		return false;
	if (v.type != BC_INT || v.num < lo || v.num > hi) {
		ext_skip(hs, key);
		return false;
	}
	*out = v.num;
	return true;
}

/* BEP 10 "m": extension name -> the id the peer wants it sent with (0 = disabled). */
static void ext_hs_m(struct ext_peer_hs *hs, const struct bc_val *root)
{
	struct bc_val m;
	int64_t id;

	if (!bc_dict_get(root, "m", &m))
		return;
	if (m.type != BC_DICT) {
		ext_skip(hs, "m");
		return;
	}
	if (ext_int(hs, &m, "ut_metadata", 0, 255, &id))
		hs->ut_metadata = (uint8_t)id;
	if (ext_int(hs, &m, "ut_pex", 0, 255, &id))
		hs->ut_pex = (uint8_t)id;
}

static void ext_hs_client(struct ext_peer_hs *hs, const struct bc_val *root)
{
	struct bc_val v;
	size_t n;

	if (!bc_dict_get(root, "v", &v))
		return;
	if (v.type != BC_STR) {
		ext_skip(hs, "v");
		return;
	}
	n = v.str_len < sizeof(hs->client) - 1 ? v.str_len : sizeof(hs->client) - 1;
	for (size_t i = 0; i < n; i++)
		hs->client[i] = v.str[i] >= 0x20 && v.str[i] < 0x7f ? (char)v.str[i] : '?';
	hs->client[n] = '\0';
}

int ext_handshake_parse(const uint8_t *p, size_t n, struct ext_peer_hs *hs, struct ext_err *err)
{
	struct bc_val root;
	struct bc_err be;
	int64_t v;

	memset(hs, 0, sizeof(*hs));
	hs->metadata_size = -1;
	if (bc_parse(p, n, BC_ALLOW_UNSORTED, &root, &be) != 0) {
		ext_fail(err, "extended handshake", &be);
		return -EINVAL;
	}
	if (root.type != BC_DICT) {
		ext_fail(err, "extended handshake: not a dictionary", NULL);
		return -EINVAL;
	}
	ext_hs_m(hs, &root);
	ext_hs_client(hs, &root);
	if (ext_int(hs, &root, "upload_only", INT64_MIN, INT64_MAX, &v))
		hs->upload_only = v != 0;
	if (ext_int(hs, &root, "p", 1, UINT16_MAX, &v))
		hs->port = (uint16_t)v;
	if (ext_int(hs, &root, "reqq", 1, UINT32_MAX, &v))
		hs->reqq = (uint32_t)v;
	if (ext_int(hs, &root, "metadata_size", 0, INT64_MAX, &v))
		hs->metadata_size = v;
	return 0;
}

int ext_meta_parse(const uint8_t *p, size_t n, struct ext_meta_msg *m, struct ext_err *err)
{
	struct bc_val root, v;
	struct bc_err be;

	memset(m, 0, sizeof(*m));
	m->total_size = -1;
	if (bc_parse(p, n, BC_ALLOW_UNSORTED | BC_ALLOW_TRAILING, &root, &be) != 0) {
		ext_fail(err, "ut_metadata", &be);
		return -EINVAL;
	}
	if (root.type != BC_DICT) {
		ext_fail(err, "ut_metadata: not a dictionary", NULL);
		return -EINVAL;
	}
	if (!bc_dict_get_type(&root, "msg_type", BC_INT, &v)) {
		ext_fail(err, "ut_metadata: msg_type missing or not an integer", NULL);
		return -EINVAL;
	}
	m->type = v.num;
	if (!bc_dict_get_type(&root, "piece", BC_INT, &v)) {
		ext_fail(err, "ut_metadata: piece missing or not an integer", NULL);
		return -EINVAL;
	}
	m->piece = v.num;
	if (bc_dict_get_type(&root, "total_size", BC_INT, &v) && v.num >= 0)
		m->total_size = v.num;
	m->data = p + root.raw_len;
	m->data_len = n - root.raw_len;
	return 0;
}

uint32_t ext_meta_pieces(uint64_t size)
{
	uint64_t n = size / EXT_META_PIECE + (size % EXT_META_PIECE != 0);

	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

uint32_t ext_meta_piece_len(uint64_t size, uint32_t piece)
{
	uint64_t at = (uint64_t)piece * EXT_META_PIECE;

	if (at >= size)
		return 0;
	return size - at < EXT_META_PIECE ? (uint32_t)(size - at) : EXT_META_PIECE;
}

/*
 * The dictionary { msg_type, piece[, total_size] } behind the extended header,
 * whose length prefix also covers `tail` bytes the caller sends after it.
 */
static ssize_t ext_put_meta(uint8_t *out, size_t cap, uint8_t ext_id, int64_t type, int64_t piece,
			    int64_t total_size, uint32_t tail)
{
	struct bc_enc e;
	ssize_t n;

	if (cap < WIRE_EXTENDED_HDR_LEN)
		return -ENOSPC;
	bc_enc_init(&e, out + WIRE_EXTENDED_HDR_LEN, cap - WIRE_EXTENDED_HDR_LEN);
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "msg_type");
	bc_enc_int(&e, type);
	bc_enc_cstr(&e, "piece");
	bc_enc_int(&e, piece);
	if (total_size >= 0) {
		bc_enc_cstr(&e, "total_size");
		bc_enc_int(&e, total_size);
	}
	bc_enc_end(&e);
	n = bc_enc_finish(&e);
	if (n < 0)
		return n;
	if (!wire_put_extended_header(out, ext_id, (uint32_t)n + tail))
		return -EINVAL;
	return n + WIRE_EXTENDED_HDR_LEN;
}

ssize_t ext_put_meta_request(uint8_t *out, size_t cap, uint8_t ext_id, uint32_t piece)
{
	return ext_put_meta(out, cap, ext_id, EXT_META_REQUEST, piece, -1, 0);
}

ssize_t ext_put_meta_reject(uint8_t *out, size_t cap, uint8_t ext_id, int64_t piece)
{
	return ext_put_meta(out, cap, ext_id, EXT_META_REJECT, piece, -1, 0);
}

ssize_t ext_put_meta_data(uint8_t *out, size_t cap, uint8_t ext_id, uint32_t piece,
			  uint64_t total_size, uint32_t data_len)
{
	if (total_size > INT64_MAX || data_len > EXT_META_PIECE)
		return -EINVAL;
	return ext_put_meta(out, cap, ext_id, EXT_META_DATA, piece, (int64_t)total_size, data_len);
}
