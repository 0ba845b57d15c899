/*
 * fuzz_ext.c - libFuzzer target for proto/ext: the peer's extended handshake
 * and ut_metadata messages.
 *
 * Input: the payload of an extended message (what follows the extended id
 * byte). Both parsers read it. Whatever they accept must agree with a plain
 * bc_parse() of the same bytes: the ids and numbers they report are the
 * dictionary's values, within the ranges ext.h promises, and a ut_metadata
 * message's trailing data is exactly what follows the dictionary. Accepted
 * messages are written again with the encoders and must read back the same.
 */
#include <errno.h>
#include <string.h>

#include "proto/bencode.h"
#include "proto/ext.h"
#include "proto/wire.h"
#include "tests/fuzz/fuzz.h"

/* An integer key of d within [lo, hi], as ext.c should have read it. */
static bool int_in(const struct bc_val *d, const char *key, int64_t lo, int64_t hi, int64_t *v)
{
	struct bc_val x;

	if (!bc_dict_get_type(d, key, BC_INT, &x) || x.num < lo || x.num > hi)
		return false;
	*v = x.num;
	return true;
}

static void check_handshake(const uint8_t *data, size_t size)
{
	struct ext_peer_hs hs;
	struct ext_err err;
	struct bc_val root, m;
	struct bc_err be;
	int rc = ext_handshake_parse(data, size, &hs, &err);
	int want = bc_parse(data, size, BC_ALLOW_UNSORTED, &root, &be) == 0 && root.type == BC_DICT
			   ? 0
			   : -EINVAL;
	int64_t v;

	ASSERT(rc == want);
	if (rc != 0) {
		ASSERT(err.msg[0] && memchr(err.msg, '\0', sizeof(err.msg)));
		return;
	}
	ASSERT(memchr(hs.client, '\0', sizeof(hs.client)));
	for (const char *c = hs.client; *c; c++)
		ASSERT(*c >= 0x20 && *c < 0x7f);
	ASSERT(hs.skipped == 0 ? hs.first_skipped == NULL : hs.first_skipped != NULL);
	if (bc_dict_get_type(&root, "m", BC_DICT, &m) && int_in(&m, "ut_metadata", 0, 255, &v))
		ASSERT(hs.ut_metadata == v);
	else
		ASSERT(hs.ut_metadata == 0);
	ASSERT(int_in(&root, "p", 1, 65535, &v) ? hs.port == v : hs.port == 0);
	ASSERT(int_in(&root, "reqq", 1, UINT32_MAX, &v) ? hs.reqq == v : hs.reqq == 0);
	ASSERT(int_in(&root, "upload_only", INT64_MIN, INT64_MAX, &v) ? hs.upload_only == (v != 0)
								      : !hs.upload_only);
	ASSERT(int_in(&root, "metadata_size", 0, INT64_MAX, &v) ? hs.metadata_size == v
								: hs.metadata_size == -1);
}

/* What the encoders write for m reads back as m. */
static void check_meta_roundtrip(const struct ext_meta_msg *m, uint8_t ext_id)
{
	uint8_t out[EXT_META_HDR_CAP];
	struct ext_meta_msg back;
	struct ext_err err;
	ssize_t n;

	n = ext_put_meta_reject(out, sizeof(out), ext_id, m->piece);
	ASSERT(n > WIRE_EXTENDED_HDR_LEN && n <= EXT_META_HDR_CAP && out[5] == ext_id);
	ASSERT(ext_meta_parse(out + 6, (size_t)n - 6, &back, &err) == 0);
	ASSERT(back.type == EXT_META_REJECT && back.piece == m->piece && back.data_len == 0);
	if (m->piece < 0 || m->piece > UINT32_MAX)
		return;
	n = ext_put_meta_request(out, sizeof(out), ext_id, (uint32_t)m->piece);
	ASSERT(n > 0 && ext_meta_parse(out + 6, (size_t)n - 6, &back, &err) == 0);
	ASSERT(back.type == EXT_META_REQUEST && back.piece == m->piece);
	if (m->total_size < 0)
		return;
	n = ext_put_meta_data(out, sizeof(out), ext_id, (uint32_t)m->piece, (uint64_t)m->total_size,
			      (uint32_t)(m->data_len % EXT_META_PIECE));
	ASSERT(n > 0 && n <= EXT_META_HDR_CAP);
	ASSERT(((uint32_t)out[0] << 24 | (uint32_t)out[1] << 16 | (uint32_t)out[2] << 8 | out[3]) ==
	       (uint32_t)n - 4 + m->data_len % EXT_META_PIECE);
	ASSERT(ext_meta_parse(out + 6, (size_t)n - 6, &back, &err) == 0);
	ASSERT(back.type == EXT_META_DATA && back.piece == m->piece &&
	       back.total_size == m->total_size && back.data_len == 0);
}

static void check_meta(const uint8_t *data, size_t size)
{
	struct ext_meta_msg m;
	struct ext_err err;
	struct bc_val root, v;
	struct bc_err be;
	int rc = ext_meta_parse(data, size, &m, &err);
	bool dict = bc_parse(data, size, BC_ALLOW_UNSORTED | BC_ALLOW_TRAILING, &root, &be) == 0 &&
		    root.type == BC_DICT;

	if (rc != 0) {
		ASSERT(rc == -EINVAL && err.msg[0] && memchr(err.msg, '\0', sizeof(err.msg)));
		ASSERT(!dict || !bc_dict_get_type(&root, "msg_type", BC_INT, &v) ||
		       !bc_dict_get_type(&root, "piece", BC_INT, &v));
		return;
	}
	ASSERT(dict);
	ASSERT(bc_dict_get_type(&root, "msg_type", BC_INT, &v) && v.num == m.type);
	ASSERT(bc_dict_get_type(&root, "piece", BC_INT, &v) && v.num == m.piece);
	ASSERT(m.data == data + root.raw_len && m.data_len == size - root.raw_len);
	ASSERT(m.total_size >= -1);
	check_meta_roundtrip(&m, size ? data[size - 1] : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_handshake(data, size);
	check_meta(data, size);
	if (size >= 8) {
		uint64_t s = 0;

		memcpy(&s, data, 8);
		ASSERT(ext_meta_piece_len(s, ext_meta_pieces(s)) == 0 ||
		       ext_meta_pieces(s) == UINT32_MAX);
		ASSERT(s == 0 || ext_meta_piece_len(s, 0) > 0);
	}
	return 0;
}
