/*
 * fuzz_wire.c - libFuzzer target for proto/wire.
 *
 * Input: one control byte, two bytes of split position, then the bytes a peer
 * sent. The control byte picks the decoder's max_msg. Those bytes are decoded
 * whole, split in two at the given position, byte by byte (short inputs), and
 * in chunks sized by the input itself, and once more by a reference decoder
 * written here from the rules in wire.h that looks at the whole buffer at
 * once. All must give the same events, DATA chunks merged per message: same
 * ids, fields, error texts and payload bytes. Every DATA chunk must be the
 * very bytes its call consumed, inside the input.
 *
 * The same bytes are then read as a tape of encoder calls; the stream they
 * write must decode to exactly what was encoded. A 68-byte prefix is also
 * tried as a handshake.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/bencode.h"
#include "proto/bytes.h"
#include "proto/wire.h"
#include "tests/fuzz/fuzz.h"

/* --- event logs, DATA merged --- */

struct rec {
	enum wire_ev type;
	uint8_t id;
	uint32_t len, piece, begin, length;
	size_t data_off, data_len;
};

struct log {
	struct rec *r;
	size_t n, cap;
	uint8_t *data;
	size_t data_len, data_cap;
	char why[64]; /* the ERROR's text; a log ends at its one error */
};

static void log_init(struct log *lg, size_t recs, size_t data)
{
	lg->r = malloc(recs * sizeof(*lg->r));
	lg->data = malloc(data + 1);
	ASSERT(lg->r && lg->data);
	lg->n = 0;
	lg->cap = recs;
	lg->data_len = 0;
	lg->data_cap = data;
	lg->why[0] = '\0';
}

static void log_free(struct log *lg)
{
	free(lg->r);
	free(lg->data);
}

static struct rec *log_add(struct log *lg, enum wire_ev type, uint8_t id, uint32_t len)
{
	struct rec *r;

	ASSERT(lg->n < lg->cap);
	r = &lg->r[lg->n++];
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->id = id;
	r->len = len;
	return r;
}

static void log_data(struct log *lg, uint8_t id, uint32_t len, const uint8_t *b, size_t n)
{
	struct rec *r = lg->n ? &lg->r[lg->n - 1] : NULL;

	ASSERT(lg->data_len + n <= lg->data_cap);
	if (!r || r->type != WIRE_EV_DATA) {
		r = log_add(lg, WIRE_EV_DATA, id, len);
		r->data_off = lg->data_len;
	}
	ASSERT(r->id == id && r->len == len);
	memcpy(lg->data + lg->data_len, b, n);
	lg->data_len += n;
	r->data_len += n;
}

static void logs_assert_equal(const struct log *a, const struct log *b)
{
	ASSERT(a->n == b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct rec *x = &a->r[i], *y = &b->r[i];

		ASSERT(x->type == y->type);
		ASSERT(x->id == y->id);
		ASSERT(x->len == y->len);
		ASSERT(x->piece == y->piece && x->begin == y->begin && x->length == y->length);
		ASSERT(x->data_len == y->data_len);
		ASSERT(memcmp(a->data + x->data_off, b->data + y->data_off, x->data_len) == 0);
	}
	ASSERT(strcmp(a->why, b->why) == 0);
}

/* --- the decoder under test, fed in chunks --- */

/* Chunk lengths: 0 = all that is left; otherwise cut[i] bytes, cycling, each at least 1. */
struct cuts {
	size_t first; /* length of the first chunk (0: no special first chunk) */
	const uint8_t *sizes;
	size_t nsizes;
};

static size_t next_chunk(const struct cuts *c, size_t k, size_t pos, size_t n)
{
	size_t left = n - pos, len = left;

	if (k == 0 && c->first)
		len = c->first;
	else if (c->nsizes)
		len = 1 + c->sizes[k % c->nsizes] % 64;
	return len < left ? len : left;
}

static void decode(const uint8_t *in, size_t n, uint32_t max_msg, const struct cuts *c,
		   struct log *lg)
{
	struct wire_dec d;
	struct wire_event ev;
	size_t pos = 0;

	wire_dec_init(&d, max_msg);
	for (size_t k = 0;; k++) {
		size_t len = next_chunk(c, k, pos, n);
		const uint8_t *p = in + pos, *end = p + len;

		for (;;) {
			const uint8_t *before = p;
			enum wire_ev t = wire_decode(&d, &p, end, &ev);
			struct rec *r;

			ASSERT(t == ev.type);
			ASSERT(p >= before && p <= end);
			if (t == WIRE_EV_NONE) {
				ASSERT(p == end);
				break;
			}
			if (t == WIRE_EV_DATA) {
				ASSERT(ev.data == before && ev.data_len >= 1);
				ASSERT(p == before + ev.data_len);
				ASSERT(ev.data >= in && ev.data + ev.data_len <= in + n);
				log_data(lg, ev.id, ev.len, ev.data, ev.data_len);
				continue;
			}
			if (t == WIRE_EV_END)
				ASSERT(p == before);
			r = log_add(lg, t, ev.id, ev.len);
			r->piece = ev.piece;
			r->begin = ev.begin;
			r->length = ev.length;
			if (t == WIRE_EV_ERROR) {
				ASSERT(ev.why && strlen(ev.why) < sizeof(lg->why));
				strcpy(lg->why, ev.why);
				/* Sticky: the same error again, nothing consumed. */
				before = p;
				ASSERT(wire_decode(&d, &p, end, &ev) == WIRE_EV_ERROR);
				ASSERT(p == before && strcmp(ev.why, lg->why) == 0);
				return;
			}
		}
		pos += len;
		if (pos == n)
			return;
	}
}

/* --- a reference decoder over the whole buffer, from the rules in wire.h --- */

/* The allowed length prefixes of an id; *fixed when its fields are decoded. */
static void ref_rule(uint8_t id, uint32_t *min, uint32_t *max, int *fixed)
{
	static const uint8_t fixed_len[24] = { 1, 1, 1, 1, 5,  0, 13, 0, 13, 3, 0, 0,
					       0, 5, 1, 1, 13, 5, 0,  0, 0,  0, 0, 0 };

	*fixed = id < 24 && fixed_len[id];
	*min = *fixed ? fixed_len[id] : 1;
	*max = *fixed ? fixed_len[id] : 0;
	if (id == WIRE_PIECE)
		*min = 9;
	else if (id == WIRE_EXTENDED)
		*min = 2;
	else if (id == WIRE_HASHES)
		*min = 49;
	else if (id == WIRE_HASH_REQUEST || id == WIRE_HASH_REJECT)
		*min = *max = 49;
}

static void ref_decode(const uint8_t *in, size_t n, uint32_t max_msg, struct log *lg)
{
	size_t pos = 0;

	while (n - pos >= 4) {
		uint32_t len = get_be32(in + pos), min, max;
		const uint8_t *f;
		struct rec *r;
		uint8_t id;
		int fixed;

		if (len == 0) {
			log_add(lg, WIRE_EV_KEEPALIVE, 0, 0);
			pos += 4;
			continue;
		}
		if (len > max_msg) {
			log_add(lg, WIRE_EV_ERROR, 0, 0);
			snprintf(lg->why, sizeof(lg->why),
				 "message length %" PRIu32 " over limit %" PRIu32, len, max_msg);
			return;
		}
		if (n - pos < 5)
			return;
		id = in[pos + 4];
		ref_rule(id, &min, &max, &fixed);
		if (len < min || (max && len > max)) {
			log_add(lg, WIRE_EV_ERROR, id, 0);
			snprintf(lg->why, sizeof(lg->why), "%s message with length %" PRIu32,
				 wire_id_name(id), len);
			return;
		}
		if (fixed) {
			if (n - pos < 4 + (size_t)len)
				return;
			f = in + pos + 5;
			r = log_add(lg, WIRE_EV_MSG, id, 0);
			if (len == 3)
				r->piece = (uint32_t)f[0] << 8 | f[1];
			if (len >= 5)
				r->piece = get_be32(f);
			if (len == 13) {
				r->begin = get_be32(f + 4);
				r->length = get_be32(f + 8);
			}
			pos += 4 + len;
			continue;
		}
		log_add(lg, WIRE_EV_BEGIN, id, len - 1);
		pos += 5;
		if (n - pos < len - 1) {
			if (n - pos)
				log_data(lg, id, len - 1, in + pos, n - pos);
			return;
		}
		if (len > 1)
			log_data(lg, id, len - 1, in + pos, len - 1);
		log_add(lg, WIRE_EV_END, id, len - 1);
		pos += len - 1;
	}
}

/* --- encoder round trips --- */

struct tape {
	const uint8_t *p, *end;
};

static uint8_t tape_u8(struct tape *t)
{
	return t->p < t->end ? *t->p++ : 0;
}

static uint32_t tape_u32(struct tape *t)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | tape_u8(t);
	return v;
}

/* Up to max bytes from the tape, as many as its next byte says. */
static size_t tape_bytes(struct tape *t, const uint8_t **b, size_t max)
{
	size_t n = tape_u8(t) % (max + 1), left = (size_t)(t->end - t->p);

	if (n > left)
		n = left;
	*b = t->p;
	t->p += n;
	return n;
}

#define OUT_CAP	 16384
#define OUT_OPS	 64
#define OUT_RECS (OUT_OPS * 3) /* BEGIN, DATA, END at most per encoder call */

struct out {
	uint8_t buf[OUT_CAP];
	size_t len;
	struct log want;
};

static void out_fixed(struct out *o, const uint8_t *m, size_t n, uint8_t id, uint32_t piece,
		      uint32_t begin, uint32_t length)
{
	struct rec *r;

	ASSERT(n >= 5 && o->len + n <= OUT_CAP);
	memcpy(o->buf + o->len, m, n);
	o->len += n;
	r = log_add(&o->want, WIRE_EV_MSG, id, 0);
	r->piece = piece;
	r->begin = begin;
	r->length = length;
}

/* A header from an encoder, then its payload's remaining bytes. */
static void out_var(struct out *o, const uint8_t *hdr, size_t hdr_len, const uint8_t *body,
		    size_t body_len)
{
	size_t start = o->len;
	uint32_t plen;

	ASSERT(hdr_len >= 5 && o->len + hdr_len + body_len <= OUT_CAP);
	memcpy(o->buf + o->len, hdr, hdr_len);
	if (body_len)
		memcpy(o->buf + o->len + hdr_len, body, body_len);
	o->len += hdr_len + body_len;
	plen = (uint32_t)(hdr_len + body_len - 5);
	ASSERT(get_be32(o->buf + start) == plen + 1);
	log_add(&o->want, WIRE_EV_BEGIN, hdr[4], plen);
	if (plen)
		log_data(&o->want, hdr[4], plen, o->buf + start + 5, plen);
	log_add(&o->want, WIRE_EV_END, hdr[4], plen);
}

/* The extended handshake must carry exactly the fields it was given. */
static void check_ext_handshake(const uint8_t *msg, size_t n, const struct wire_ext_handshake *hs)
{
	struct bc_val root, m, v;
	struct bc_err err;

	ASSERT(n >= 6 && get_be32(msg) == n - 4 && msg[4] == WIRE_EXTENDED && msg[5] == 0);
	ASSERT(bc_parse(msg + 6, n - 6, 0, &root, &err) == 0 && root.type == BC_DICT);
	ASSERT(bc_dict_get_type(&root, "m", BC_DICT, &m));
	ASSERT(bc_dict_get_type(&m, "ut_metadata", BC_INT, &v) == (hs->ut_metadata != 0));
	ASSERT(!hs->ut_metadata || v.num == hs->ut_metadata);
	ASSERT(bc_dict_get_type(&m, "ut_pex", BC_INT, &v) == (hs->ut_pex != 0));
	ASSERT(!hs->ut_pex || v.num == hs->ut_pex);
	ASSERT(bc_dict_get_type(&root, "reqq", BC_INT, &v) == (hs->reqq != 0));
	ASSERT(!hs->reqq || v.num == hs->reqq);
	ASSERT(bc_dict_get_type(&root, "p", BC_INT, &v) == (hs->listen_port != 0));
	ASSERT(!hs->listen_port || v.num == hs->listen_port);
	ASSERT(bc_dict_get_type(&root, "metadata_size", BC_INT, &v) == (hs->metadata_size != 0));
	ASSERT(!hs->metadata_size || v.num == hs->metadata_size);
	ASSERT(bc_dict_get_type(&root, "upload_only", BC_INT, &v) == hs->upload_only);
	ASSERT(bc_dict_get_type(&root, "v", BC_STR, &v) == (hs->client != NULL));
	ASSERT(!hs->client || bc_str_eq(&v, hs->client));
	ASSERT(bc_dict_get_type(&root, "yourip", BC_STR, &v) == (hs->yourip != NULL));
	ASSERT(!hs->yourip ||
	       (v.str_len == hs->yourip_len && memcmp(v.str, hs->yourip, v.str_len) == 0));
}

static void put_ext_handshake(struct out *o, struct tape *t)
{
	uint8_t m[WIRE_EXT_HANDSHAKE_CAP];
	char client[128];
	const uint8_t *b;
	struct wire_ext_handshake hs = { 0 };
	uint8_t flags = tape_u8(t);
	size_t n = tape_bytes(t, &b, sizeof(client) - 1);
	ssize_t got, again;

	memcpy(client, b, n);
	client[n] = '\0';
	hs.client = flags & 1 ? client : NULL; /* cut at the first NUL */
	hs.reqq = flags & 2 ? tape_u32(t) : 0;
	hs.listen_port = flags & 4 ? (uint16_t)tape_u32(t) : 0;
	hs.metadata_size = flags & 8 ? (int64_t)tape_u32(t) << (flags >> 6) * 10 : 0;
	hs.upload_only = flags & 16;
	hs.ut_metadata = tape_u8(t);
	hs.ut_pex = tape_u8(t);
	if (flags & 32) {
		hs.yourip_len = tape_bytes(t, &hs.yourip, 17);
		if (hs.yourip_len == 0)
			hs.yourip = NULL;
	}
	got = wire_put_ext_handshake(m, sizeof(m), &hs);
	if (hs.yourip && hs.yourip_len != 4 && hs.yourip_len != 16) {
		ASSERT(got == -EINVAL);
		return;
	}
	ASSERT(got > 0 && (size_t)got <= sizeof(m));
	check_ext_handshake(m, (size_t)got, &hs);
	/* One byte short is -ENOSPC; the exact size is enough. */
	ASSERT(wire_put_ext_handshake(m, (size_t)got - 1, &hs) == -ENOSPC);
	again = wire_put_ext_handshake(m, (size_t)got, &hs);
	ASSERT(again == got);
	if (o->len + (size_t)got <= OUT_CAP)
		out_var(o, m, (size_t)got, NULL, 0);
}

/*
 * A fixed-size message: the encoder must refuse an id outside its family;
 * one from the family (picked by id) is encoded and expected back.
 */
static void put_fixed(struct out *o, struct tape *t, unsigned op, uint8_t id)
{
	static const uint8_t simple[] = { WIRE_CHOKE,	       WIRE_UNCHOKE,  WIRE_INTERESTED,
					  WIRE_NOT_INTERESTED, WIRE_HAVE_ALL, WIRE_HAVE_NONE };
	static const uint8_t have[] = { WIRE_HAVE, WIRE_SUGGEST, WIRE_ALLOWED_FAST };
	static const uint8_t block[] = { WIRE_REQUEST, WIRE_CANCEL, WIRE_REJECT };
	uint32_t a = tape_u32(t), b = tape_u32(t), c = tape_u32(t);
	uint8_t m[17], fid;
	size_t n;

	switch (op) {
	case 0:
		n = wire_put_simple(m, (enum wire_id)id);
		ASSERT(n == (memchr(simple, id, sizeof(simple)) ? 5u : 0u));
		fid = simple[id % sizeof(simple)];
		out_fixed(o, m, wire_put_simple(m, (enum wire_id)fid), fid, 0, 0, 0);
		break;
	case 1:
		n = wire_put_have(m, (enum wire_id)id, a);
		ASSERT(n == (memchr(have, id, sizeof(have)) ? 9u : 0u));
		fid = have[id % sizeof(have)];
		out_fixed(o, m, wire_put_have(m, (enum wire_id)fid, a), fid, a, 0, 0);
		break;
	case 2:
		n = wire_put_block(m, (enum wire_id)id, a, b, c);
		ASSERT(n == (memchr(block, id, sizeof(block)) ? 17u : 0u));
		fid = block[id % sizeof(block)];
		out_fixed(o, m, wire_put_block(m, (enum wire_id)fid, a, b, c), fid, a, b, c);
		break;
	default:
		out_fixed(o, m, wire_put_port(m, (uint16_t)a), WIRE_PORT, (uint16_t)a, 0, 0);
		break;
	}
}

/* One encoder call chosen by the tape; false when out of room. */
static bool put_one(struct out *o, struct tape *t)
{
	uint8_t m[16], h[5], op = tape_u8(t), id = tape_u8(t);
	const uint8_t *body;
	uint32_t a, b;
	size_t len;

	if (o->len + 600 > OUT_CAP)
		return false;
	switch (op % 9) {
	case 0:
		ASSERT(wire_put_keepalive(m) == 4);
		memcpy(o->buf + o->len, m, 4);
		o->len += 4;
		log_add(&o->want, WIRE_EV_KEEPALIVE, 0, 0);
		break;
	case 1:
		put_fixed(o, t, op / 9 % 4, id);
		break;
	case 2:
		a = tape_u32(t);
		b = tape_u32(t);
		len = tape_bytes(t, &body, 255);
		out_var(o, m, wire_put_piece_header(m, a, b, (uint32_t)len), body, len);
		break;
	case 3:
		len = tape_bytes(t, &body, 255);
		out_var(o, m, wire_put_bitfield_header(m, (uint32_t)len), body, len);
		break;
	case 4:
		len = tape_bytes(t, &body, 255);
		out_var(o, m, wire_put_extended_header(m, id, (uint32_t)len), body, len);
		break;
	case 5:
		put_ext_handshake(o, t);
		break;
	default:
		/* An id the decoder skips, written by hand. */
		if (strcmp(wire_id_name(id), "unknown") != 0)
			id = (uint8_t)(24 + id);
		len = tape_bytes(t, &body, 255);
		h[0] = h[1] = 0;
		h[2] = (uint8_t)((len + 1) >> 8);
		h[3] = (uint8_t)(len + 1);
		h[4] = id;
		out_var(o, h, 5, body, len);
		break;
	}
	return true;
}

static void round_trip(const uint8_t *data, size_t size)
{
	struct tape t = { data, data + size };
	struct out *o = malloc(sizeof(*o));
	struct log got;
	struct cuts whole = { 0, NULL, 0 }, bytes = { 0, (const uint8_t *)"\0", 1 };

	ASSERT(o);
	o->len = 0;
	log_init(&o->want, OUT_RECS, OUT_CAP);
	for (int i = 0; i < OUT_OPS && t.p < t.end && put_one(o, &t); i++)
		;
	log_init(&got, OUT_RECS, OUT_CAP);
	decode(o->buf, o->len, 1u << 20, &whole, &got);
	logs_assert_equal(&got, &o->want);
	got.n = got.data_len = 0;
	decode(o->buf, o->len, 1u << 20, &bytes, &got);
	logs_assert_equal(&got, &o->want);
	log_free(&got);
	log_free(&o->want);
	free(o);
}

/* --- handshake --- */

static void handshake(const uint8_t *data, size_t size)
{
	uint8_t out[WIRE_HANDSHAKE_LEN];
	struct wire_handshake hs, back;
	int rc;

	if (size < WIRE_HANDSHAKE_LEN)
		return;
	rc = wire_handshake_parse(data, &hs);
	ASSERT(rc ==
	       (data[0] == 19 && memcmp(data + 1, "BitTorrent protocol", 19) == 0 ? 0 : -EINVAL));
	if (rc == 0) {
		wire_handshake_build(out, &hs);
		ASSERT(memcmp(out, data, sizeof(out)) == 0);
	}
	/* Any 48 bytes of fields survive build and parse. */
	memcpy(&hs, data + 20, sizeof(hs));
	wire_handshake_build(out, &hs);
	ASSERT(wire_handshake_parse(out, &back) == 0 && memcmp(&hs, &back, sizeof(hs)) == 0);
	ASSERT(wire_has_fast(&hs) == !!(data[20 + 7] & 0x04));
	ASSERT(wire_has_extension(&hs) == !!(data[20 + 5] & 0x10));
	ASSERT(wire_has_dht(&hs) == !!(data[20 + 7] & 0x01));
	ASSERT(wire_has_v2(&hs) == !!(data[20 + 7] & 0x10));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t limits[8] = { 1u << 20, 0, 1, 13, 17, 49, 300, UINT32_MAX };
	struct log ref, whole, split, bytes, chunks;
	struct cuts c_whole = { 0, NULL, 0 }, c_split, c_bytes = { 0, (const uint8_t *)"\0", 1 },
		    c_chunks;
	const uint8_t *in;
	uint32_t max_msg;
	size_t n, at;

	if (size < 3)
		return 0;
	max_msg = limits[data[0] & 7];
	in = data + 3;
	n = size - 3;
	at = ((size_t)data[1] << 8 | data[2]) % (n + 1);
	c_split = (struct cuts){ at, NULL, 0 };
	c_chunks = (struct cuts){ 0, data, size };

	log_init(&ref, n + 8, n);
	log_init(&whole, n + 8, n);
	log_init(&split, n + 8, n);
	log_init(&chunks, n + 8, n);
	ref_decode(in, n, max_msg, &ref);
	decode(in, n, max_msg, &c_whole, &whole);
	logs_assert_equal(&whole, &ref);
	decode(in, n, max_msg, &c_split, &split);
	logs_assert_equal(&split, &ref);
	decode(in, n, max_msg, &c_chunks, &chunks);
	logs_assert_equal(&chunks, &ref);
	if (n <= 1024) {
		log_init(&bytes, n + 8, n);
		decode(in, n, max_msg, &c_bytes, &bytes);
		logs_assert_equal(&bytes, &ref);
		log_free(&bytes);
	}
	log_free(&ref);
	log_free(&whole);
	log_free(&split);
	log_free(&chunks);

	handshake(in, n);
	round_trip(in, n);
	return 0;
}
