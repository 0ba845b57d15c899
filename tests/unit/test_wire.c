/*
 * test_wire.c - the peer wire protocol: handshakes and encoders write the
 * exact bytes of BEP 3 / BEP 6 / BEP 10, and the streaming decoder gives the
 * same events however its input is split, refuses every framing error with a
 * precise reason, and hands out payloads without copying them.
 */
#include <errno.h>

#include "proto/bencode.h"
#include "proto/wire.h"
#include "tests/unit/test.h"

#define MAX_MSG (1u << 20)

/* --- event logs: what a decoder said, DATA chunks merged --- */

struct rec {
	enum wire_ev type;
	uint8_t id;
	uint32_t len, piece, begin, length;
	size_t data_off, data_len; /* DATA: these bytes of log.data */
	char why[64];
};

struct log {
	struct rec *r;
	size_t n, cap;
	uint8_t *data;
	size_t data_len, data_cap;
};

static void log_init(struct log *lg, size_t recs, size_t data)
{
	lg->r = calloc(recs, sizeof(*lg->r));
	lg->data = malloc(data ? data : 1);
	REQUIRE(lg->r && lg->data);
	lg->n = 0;
	lg->cap = recs;
	lg->data_len = 0;
	lg->data_cap = data;
}

static void log_free(struct log *lg)
{
	free(lg->r);
	free(lg->data);
}

static struct rec *log_add(struct log *lg, enum wire_ev type, uint8_t id, uint32_t len)
{
	struct rec *r;

	REQUIRE(lg->n < lg->cap);
	r = &lg->r[lg->n++];
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->id = id;
	r->len = len;
	return r;
}

/* Appends a DATA chunk, merged into the previous record if that was DATA too. */
static void log_data(struct log *lg, uint8_t id, uint32_t len, const uint8_t *b, size_t n)
{
	struct rec *r = lg->n ? &lg->r[lg->n - 1] : NULL;

	REQUIRE(lg->data_len + n <= lg->data_cap);
	if (!r || r->type != WIRE_EV_DATA) {
		r = log_add(lg, WIRE_EV_DATA, id, len);
		r->data_off = lg->data_len;
	}
	memcpy(lg->data + lg->data_len, b, n);
	lg->data_len += n;
	r->data_len += n;
}

static void log_event(struct log *lg, const struct wire_event *ev)
{
	struct rec *r;

	if (ev->type == WIRE_EV_DATA) {
		log_data(lg, ev->id, ev->len, ev->data, ev->data_len);
		return;
	}
	r = log_add(lg, ev->type, ev->id, ev->len);
	r->piece = ev->piece;
	r->begin = ev->begin;
	r->length = ev->length;
	if (ev->type == WIRE_EV_ERROR)
		snprintf(r->why, sizeof(r->why), "%s", ev->why ? ev->why : "(null)");
}

static const char *ev_name(enum wire_ev t)
{
	static const char *const names[] = { "NONE", "KEEPALIVE", "MSG",  "BEGIN",
					     "DATA", "END",	  "ERROR" };

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

/* Prints up to 48 bytes of s, escaping what is not printable. */
static void show(const void *s, size_t n)
{
	const uint8_t *p = s;

	fputc('"', stderr);
	for (size_t i = 0; i < n && i < 48; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			fputc(p[i], stderr);
		else
			fprintf(stderr, "\\x%02x", p[i]);
	}
	fputs(n > 48 ? "\"..." : "\"", stderr);
}

static void show_rec(const char *who, const struct rec *r)
{
	fprintf(stderr,
		"  %s: %s id %u len %" PRIu32 " piece %" PRIu32 " begin %" PRIu32 " length %" PRIu32
		" data %zu why \"%s\"\n",
		who, ev_name(r->type), r->id, r->len, r->piece, r->begin, r->length, r->data_len,
		r->why);
}

static bool recs_equal(const struct log *a, const struct rec *x, const struct log *b,
		       const struct rec *y)
{
	return x->type == y->type && x->id == y->id && x->len == y->len && x->piece == y->piece &&
	       x->begin == y->begin && x->length == y->length && x->data_len == y->data_len &&
	       memcmp(a->data + x->data_off, b->data + y->data_off, x->data_len) == 0 &&
	       strcmp(x->why, y->why) == 0;
}

/* Compares two logs, saying where the first difference is. */
static bool logs_equal(int line, const char *what, const struct log *got, const struct log *want)
{
	size_t i;

	for (i = 0; i < got->n && i < want->n; i++) {
		if (!recs_equal(got, &got->r[i], want, &want->r[i]))
			break;
	}
	if (i == got->n && i == want->n)
		return true;
	fprintf(stderr, "%s:%d: %s: event %zu of %zu differs (expected %zu events)\n", __FILE__,
		line, what, i, got->n, want->n);
	if (i < got->n)
		show_rec("got ", &got->r[i]);
	if (i < want->n)
		show_rec("want", &want->r[i]);
	return false;
}

/* --- feeding a decoder --- */

enum split {
	SPLIT_WHOLE,  /* one call series over all of the input */
	SPLIT_BYTES,  /* one byte at a time */
	SPLIT_AT,     /* two chunks: [0, at) and [at, n) */
	SPLIT_RANDOM, /* chunks of 1..64 bytes, from a seed */
	SPLIT_EVERY,  /* chunks of `at` bytes */
};

struct feeder {
	enum split how;
	size_t at;
	uint64_t rng;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t next_chunk(struct feeder *f, size_t pos, size_t n)
{
	size_t left = n - pos, c = left;

	switch (f->how) {
	case SPLIT_WHOLE:
		break;
	case SPLIT_BYTES:
		c = 1;
		break;
	case SPLIT_AT:
		c = pos < f->at ? f->at - pos : left;
		break;
	case SPLIT_RANDOM:
		c = 1 + xorshift(&f->rng) % 64;
		break;
	case SPLIT_EVERY:
		c = f->at;
		break;
	}
	return c < left ? c : left;
}

/*
 * Decodes in[0..n) fed as f says, logging every event. Checks what must hold
 * on every call: NONE only with the input used up, DATA pointing at the very
 * bytes it consumed, a sticky error that consumes nothing more.
 */
static bool decode_all(const uint8_t *in, size_t n, uint32_t max_msg, struct feeder f,
		       struct log *lg)
{
	struct wire_dec d;
	struct wire_event ev;
	size_t pos = 0, calls = 0;
	bool ok = true;

	wire_dec_init(&d, max_msg);
	for (;;) {
		size_t c = next_chunk(&f, pos, n);
		const uint8_t *p = in + pos, *end = p + c;

		for (;;) {
			const uint8_t *before = p;
			enum wire_ev t = wire_decode(&d, &p, end, &ev);

			/* Every event but END consumes input, and END follows a BEGIN or DATA. */
			if (++calls > 2 * n + 2 * c + 4)
				return false;

			ok &= t == ev.type && p >= before && p <= end;
			if (t == WIRE_EV_NONE) {
				ok &= p == end;
				break;
			}
			if (t == WIRE_EV_DATA) {
				ok &= ev.data == before && ev.data_len >= 1 &&
				      p == before + ev.data_len && ev.data >= in &&
				      ev.data + ev.data_len <= in + n;
			} else if (t == WIRE_EV_END) {
				ok &= p == before;
			}
			log_event(lg, &ev);
			if (t == WIRE_EV_ERROR) {
				const char *why = ev.why;

				before = p;
				ok &= wire_decode(&d, &p, end, &ev) == WIRE_EV_ERROR &&
				      p == before && ev.why && strcmp(ev.why, why) == 0;
				return ok;
			}
		}
		pos += c;
		if (pos == n)
			return ok;
	}
}

/* Decodes in fed as f says and compares the events with want. */
static void expect_split(int line, const uint8_t *in, size_t n, uint32_t max_msg, struct feeder f,
			 const struct log *want)
{
	struct log got;
	char what[64];
	bool inv;

	log_init(&got, n + 8, n + 1);
	inv = decode_all(in, n, max_msg, f, &got);
	snprintf(what, sizeof(what), "split %d at %zu seed %" PRIu64, f.how, f.at, f.rng);
	test_checks++;
	if (!inv || !logs_equal(line, what, &got, want)) {
		test_failures++;
		if (!inv)
			fprintf(stderr, "%s:%d: %s: a per-call invariant failed\n", __FILE__, line,
				what);
	}
	log_free(&got);
}

/* Whole, byte by byte, and split at every point. */
static void expect_events(int line, const uint8_t *in, size_t n, uint32_t max_msg,
			  const struct log *want)
{
	expect_split(line, in, n, max_msg, (struct feeder){ SPLIT_WHOLE, 0, 0 }, want);
	expect_split(line, in, n, max_msg, (struct feeder){ SPLIT_BYTES, 0, 0 }, want);
	for (size_t at = 0; at <= n && n < 4096; at++)
		expect_split(line, in, n, max_msg, (struct feeder){ SPLIT_AT, at, 0 }, want);
}

/* --- a byte stream and the events it must give --- */

struct stream {
	uint8_t buf[8192];
	size_t len;
	struct log want;
};

static void s_init(struct stream *s)
{
	s->len = 0;
	log_init(&s->want, 256, sizeof(s->buf));
}

static void s_append(struct stream *s, const void *b, size_t n)
{
	REQUIRE(n > 0 && s->len + n <= sizeof(s->buf));
	memcpy(s->buf + s->len, b, n);
	s->len += n;
}

static void s_keepalive(struct stream *s)
{
	uint8_t m[4];

	s_append(s, m, wire_put_keepalive(m));
	log_add(&s->want, WIRE_EV_KEEPALIVE, 0, 0);
}

static void s_fixed(struct stream *s, const uint8_t *m, size_t n, uint8_t id, uint32_t piece,
		    uint32_t begin, uint32_t length)
{
	struct rec *r;

	s_append(s, m, n);
	r = log_add(&s->want, WIRE_EV_MSG, id, 0);
	r->piece = piece;
	r->begin = begin;
	r->length = length;
}

static void s_simple(struct stream *s, enum wire_id id)
{
	uint8_t m[5];

	s_fixed(s, m, wire_put_simple(m, id), (uint8_t)id, 0, 0, 0);
}

static void s_have(struct stream *s, enum wire_id id, uint32_t piece)
{
	uint8_t m[9];

	s_fixed(s, m, wire_put_have(m, id, piece), (uint8_t)id, piece, 0, 0);
}

static void s_block(struct stream *s, enum wire_id id, uint32_t piece, uint32_t begin,
		    uint32_t length)
{
	uint8_t m[17];

	s_fixed(s, m, wire_put_block(m, id, piece, begin, length), (uint8_t)id, piece, begin,
		length);
}

static void s_port(struct stream *s, uint16_t port)
{
	uint8_t m[7];

	s_fixed(s, m, wire_put_port(m, port), WIRE_PORT, port, 0, 0);
}

/* A variable message: hdr (prefix, id, maybe more) then body; the payload is both after the id. */
static void s_var(struct stream *s, const uint8_t *hdr, size_t hdr_len, const void *body,
		  size_t body_len)
{
	size_t start = s->len;
	uint32_t plen;
	uint8_t id;

	s_append(s, hdr, hdr_len);
	if (body_len)
		s_append(s, body, body_len);
	id = s->buf[start + 4];
	plen = (uint32_t)(s->len - start - 5);
	CHECK_EQ_INT(plen + 1, (uint32_t)s->buf[start] << 24 | (uint32_t)s->buf[start + 1] << 16 |
				       (uint32_t)s->buf[start + 2] << 8 | s->buf[start + 3]);
	log_add(&s->want, WIRE_EV_BEGIN, id, plen);
	if (plen)
		log_data(&s->want, id, plen, s->buf + start + 5, plen);
	log_add(&s->want, WIRE_EV_END, id, plen);
}

/* A message with any id and payload, written by hand. */
static void s_raw(struct stream *s, uint8_t id, const void *payload, uint32_t n)
{
	uint8_t h[5] = { (uint8_t)((n + 1) >> 24), (uint8_t)((n + 1) >> 16),
			 (uint8_t)((n + 1) >> 8), (uint8_t)(n + 1), id };

	s_var(s, h, sizeof(h), payload, n);
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 8));
}

/* --- handshake --- */

static const uint8_t hs_bytes[WIRE_HANDSHAKE_LEN] =
	"\x13"
	"BitTorrent protocol"
	"\x00\x00\x00\x00\x00\x10\x00\x05"
	"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14"
	"-RS0001-abcdefghijkl";

static void test_handshake(void)
{
	struct wire_handshake hs, back;
	uint8_t out[WIRE_HANDSHAKE_LEN], bad[WIRE_HANDSHAKE_LEN];

	CHECK_EQ_INT(wire_handshake_parse(hs_bytes, &hs), 0);
	CHECK(memcmp(hs.reserved, "\x00\x00\x00\x00\x00\x10\x00\x05", 8) == 0);
	CHECK(hs.info_hash[0] == 1 && hs.info_hash[19] == 20);
	CHECK(memcmp(hs.peer_id, "-RS0001-abcdefghijkl", 20) == 0);
	CHECK(wire_has_extension(&hs));
	CHECK(wire_has_fast(&hs));
	CHECK(wire_has_dht(&hs));
	CHECK(!wire_has_v2(&hs));

	memset(out, 0xee, sizeof(out));
	wire_handshake_build(out, &hs);
	CHECK(memcmp(out, hs_bytes, sizeof(out)) == 0);
	CHECK_EQ_INT(wire_handshake_parse(out, &back), 0);
	CHECK(memcmp(&back, &hs, sizeof(hs)) == 0);

	/* Each reserved bit on its own. */
	memset(&hs, 0, sizeof(hs));
	CHECK(!wire_has_extension(&hs) && !wire_has_fast(&hs) && !wire_has_dht(&hs) &&
	      !wire_has_v2(&hs));
	hs.reserved[5] = 0x10;
	CHECK(wire_has_extension(&hs) && !wire_has_fast(&hs) && !wire_has_dht(&hs));
	hs.reserved[5] = 0xef;
	hs.reserved[7] = 0xeb; /* every bit but fast and v2 ... */
	CHECK(!wire_has_extension(&hs) && !wire_has_fast(&hs) && wire_has_dht(&hs) &&
	      !wire_has_v2(&hs));
	hs.reserved[7] = 0x04;
	CHECK(wire_has_fast(&hs) && !wire_has_dht(&hs));
	hs.reserved[7] = 0x10;
	CHECK(wire_has_v2(&hs) && !wire_has_fast(&hs));

	/* Refusals: pstrlen, and every byte of the protocol string. */
	for (int len = 0; len < 256; len++) {
		memcpy(bad, hs_bytes, sizeof(bad));
		bad[0] = (uint8_t)len;
		CHECK_EQ_INT(wire_handshake_parse(bad, &back), len == 19 ? 0 : -EINVAL);
	}
	for (int i = 1; i < 20; i++) {
		memcpy(bad, hs_bytes, sizeof(bad));
		bad[i] ^= 0x20; /* "bitTorrent protocol", ... */
		CHECK_EQ_INT(wire_handshake_parse(bad, &back), -EINVAL);
	}
	memcpy(bad, hs_bytes, sizeof(bad));
	memcpy(bad + 1, "BitTorrent Protocol", 19);
	CHECK_EQ_INT(wire_handshake_parse(bad, &back), -EINVAL);
}

/* --- encoders --- */

#define CHECK_BYTES(got, n, want)                                                             \
	do {                                                                                  \
		static const uint8_t w_[] = want;                                             \
		CHECK_EQ_INT(n, sizeof(w_) - 1);                                              \
		CHECK((size_t)(n) == sizeof(w_) - 1 && memcmp(got, w_, sizeof(w_) - 1) == 0); \
	} while (0)

static void test_encoders(void)
{
	uint8_t b[32];
	size_t n;

	memset(b, 0xee, sizeof(b));
	n = wire_put_keepalive(b);
	CHECK_BYTES(b, n, "\x00\x00\x00\x00");

	/* BEP 3: <len=0001><id> */
	n = wire_put_simple(b, WIRE_CHOKE);
	CHECK_BYTES(b, n, "\x00\x00\x00\x01\x00");
	n = wire_put_simple(b, WIRE_UNCHOKE);
	CHECK_BYTES(b, n, "\x00\x00\x00\x01\x01");
	n = wire_put_simple(b, WIRE_INTERESTED);
	CHECK_BYTES(b, n, "\x00\x00\x00\x01\x02");
	n = wire_put_simple(b, WIRE_NOT_INTERESTED);
	CHECK_BYTES(b, n, "\x00\x00\x00\x01\x03");
	/* BEP 6: Have All 0x0E, Have None 0x0F */
	n = wire_put_simple(b, WIRE_HAVE_ALL);
	CHECK_BYTES(b, n, "\x00\x00\x00\x01\x0e");
	n = wire_put_simple(b, WIRE_HAVE_NONE);
	CHECK_BYTES(b, n, "\x00\x00\x00\x01\x0f");

	/* BEP 3 have: <len=0005><id=4><piece index>; BEP 6 suggest 0x0D, allowed fast 0x11 */
	n = wire_put_have(b, WIRE_HAVE, 0x01020304);
	CHECK_BYTES(b, n, "\x00\x00\x00\x05\x04\x01\x02\x03\x04");
	n = wire_put_have(b, WIRE_SUGGEST, 0);
	CHECK_BYTES(b, n, "\x00\x00\x00\x05\x0d\x00\x00\x00\x00");
	n = wire_put_have(b, WIRE_ALLOWED_FAST, 0xffffffff);
	CHECK_BYTES(b, n, "\x00\x00\x00\x05\x11\xff\xff\xff\xff");

	/* <len=0013><id><index><begin><length>; BEP 6 reject request 0x10 */
	n = wire_put_block(b, WIRE_REQUEST, 1, 0x4000, 0x4000);
	CHECK_BYTES(b, n, "\x00\x00\x00\x0d\x06\x00\x00\x00\x01\x00\x00\x40\x00\x00\x00\x40\x00");
	n = wire_put_block(b, WIRE_CANCEL, 0x0a0b0c0d, 0, WIRE_MAX_BLOCK);
	CHECK_BYTES(b, n, "\x00\x00\x00\x0d\x08\x0a\x0b\x0c\x0d\x00\x00\x00\x00\x00\x02\x00\x00");
	n = wire_put_block(b, WIRE_REJECT, 7, 0x7fffc000, 0x4000);
	CHECK_BYTES(b, n, "\x00\x00\x00\x0d\x10\x00\x00\x00\x07\x7f\xff\xc0\x00\x00\x00\x40\x00");

	/* <len=0009+X><id=7><index><begin><block> */
	n = wire_put_piece_header(b, 2, 0x8000, 0x4000);
	CHECK_BYTES(b, n, "\x00\x00\x40\x09\x07\x00\x00\x00\x02\x00\x00\x80\x00");
	n = wire_put_piece_header(b, 0, 0, 0);
	CHECK_BYTES(b, n, "\x00\x00\x00\x09\x07\x00\x00\x00\x00\x00\x00\x00\x00");
	n = wire_put_piece_header(b, 0, 0, 0xfffffff6);
	CHECK_BYTES(b, n, "\xff\xff\xff\xff\x07\x00\x00\x00\x00\x00\x00\x00\x00");

	/* <len=0001+X><id=5><bitfield> */
	n = wire_put_bitfield_header(b, 125000);
	CHECK_BYTES(b, n, "\x00\x01\xe8\x49\x05");
	n = wire_put_bitfield_header(b, 0);
	CHECK_BYTES(b, n, "\x00\x00\x00\x01\x05");

	/* BEP 5: <len=0003><id=9><listen-port> */
	n = wire_put_port(b, 6881);
	CHECK_BYTES(b, n, "\x00\x00\x00\x03\x09\x1a\xe1");

	/* BEP 10: <len><id=20><extended id><payload> */
	n = wire_put_extended_header(b, 3, 10);
	CHECK_BYTES(b, n, "\x00\x00\x00\x0c\x14\x03");
}

/* An id outside an encoder's family, or a length that overflows the prefix: nothing written. */
static void test_encoder_misuse(void)
{
	uint8_t b[32];

	memset(b, 0xee, sizeof(b));
	CHECK_EQ_INT(wire_put_simple(b, WIRE_HAVE), 0);
	CHECK_EQ_INT(wire_put_simple(b, WIRE_PORT), 0);
	CHECK_EQ_INT(wire_put_have(b, WIRE_REQUEST, 1), 0);
	CHECK_EQ_INT(wire_put_have(b, WIRE_CHOKE, 1), 0);
	CHECK_EQ_INT(wire_put_block(b, WIRE_HAVE, 1, 2, 3), 0);
	CHECK_EQ_INT(wire_put_block(b, WIRE_PIECE, 1, 2, 3), 0);
	CHECK_EQ_INT(wire_put_piece_header(b, 0, 0, 0xfffffff7), 0);
	CHECK_EQ_INT(wire_put_bitfield_header(b, 0xffffffff), 0);
	CHECK_EQ_INT(wire_put_extended_header(b, 0, 0xfffffffe), 0);
	for (size_t i = 0; i < sizeof(b); i++)
		CHECK_EQ_INT(b[i], 0xee);
}

/* --- BEP 10 extended handshake --- */

static void check_ext_int(const struct bc_val *d, const char *key, int64_t want)
{
	struct bc_val v;

	CHECK(bc_dict_get_type(d, key, BC_INT, &v));
	if (bc_dict_get_type(d, key, BC_INT, &v))
		CHECK_EQ_INT(v.num, want);
}

/* Parses a whole extended handshake message into its dictionary. */
static bool ext_parse(const uint8_t *m, ssize_t n, struct bc_val *root)
{
	struct bc_err err;

	if (n < 6 || m[4] != WIRE_EXTENDED || m[5] != WIRE_EXT_HANDSHAKE_ID)
		return false;
	if (((uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3]) !=
	    (uint32_t)n - 4)
		return false;
	return bc_parse(m + 6, (size_t)n - 6, 0, root, &err) == 0 && root->type == BC_DICT;
}

/* hs must encode as exactly this dictionary, behind a length prefix, id 20 and extended id 0. */
static void ext_expect(int line, const struct wire_ext_handshake *hs, const char *dict)
{
	size_t len = strlen(dict);
	uint8_t out[WIRE_EXT_HANDSHAKE_CAP], want[WIRE_EXT_HANDSHAKE_CAP];
	ssize_t n = wire_put_ext_handshake(out, sizeof(out), hs);

	want[0] = want[1] = 0;
	want[2] = (uint8_t)((len + 2) >> 8);
	want[3] = (uint8_t)(len + 2);
	want[4] = WIRE_EXTENDED;
	want[5] = WIRE_EXT_HANDSHAKE_ID;
	memcpy(want + 6, dict, len);
	test_checks++;
	if (n == (ssize_t)len + 6 && memcmp(out, want, len + 6) == 0)
		return;
	test_failures++;
	fprintf(stderr, "%s:%d: extended handshake: %zd bytes ", __FILE__, line, n);
	if (n > 0)
		show(out, (size_t)n);
	fprintf(stderr, ", expected %s\n", dict);
}

static void test_ext_handshake_bytes(void)
{
	static const uint8_t want[] = "\x00\x00\x00\x37\x14\x00"
				      "d1:mde4:reqqi250e11:upload_onlyi1e1:v12:ringseed 0.1e";
	struct wire_ext_handshake hs = { .client = "ringseed 0.1",
					 .reqq = 250,
					 .upload_only = true };
	uint8_t out[WIRE_EXT_HANDSHAKE_CAP];
	ssize_t n = wire_put_ext_handshake(out, sizeof(out), &hs);

	/* What the worker sends, written out by hand. */
	CHECK_EQ_INT(n, sizeof(want) - 1);
	CHECK(n == sizeof(want) - 1 && memcmp(out, want, (size_t)n) == 0);

	/* Zero values leave their keys out; "m" is always there. */
	ext_expect(__LINE__, &(struct wire_ext_handshake){ 0 }, "d1:mdee");
	ext_expect(__LINE__, &(struct wire_ext_handshake){ .upload_only = true },
		   "d1:mde11:upload_onlyi1ee");
	ext_expect(__LINE__, &(struct wire_ext_handshake){ .listen_port = 51413 },
		   "d1:mde1:pi51413ee");
	ext_expect(__LINE__, &(struct wire_ext_handshake){ .metadata_size = 1 },
		   "d1:mde13:metadata_sizei1ee");
	ext_expect(__LINE__, &(struct wire_ext_handshake){ .reqq = 1 }, "d1:mde4:reqqi1ee");
	ext_expect(__LINE__, &(struct wire_ext_handshake){ .client = "" }, "d1:mde1:v0:e");
	ext_expect(__LINE__, &(struct wire_ext_handshake){ .ut_pex = 2 }, "d1:md6:ut_pexi2eee");
	ext_expect(__LINE__, &(struct wire_ext_handshake){ .ut_metadata = 3, .ut_pex = 1 },
		   "d1:md11:ut_metadatai3e6:ut_pexi1eee");
	ext_expect(__LINE__,
		   &(struct wire_ext_handshake){ .yourip = (const uint8_t *)"\x0a\x01\x02\x03",
						 .yourip_len = 4 },
		   "d1:mde6:yourip4:\x0a\x01\x02\x03"
		   "e");
}

static void test_ext_handshake_keys(void)
{
	static const uint8_t ip4[4] = { 192, 0, 2, 7 };
	static const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct wire_ext_handshake hs = { .client = "ringseed 0.1",
					 .reqq = 250,
					 .listen_port = 6881,
					 .metadata_size = 31337,
					 .yourip = ip4,
					 .yourip_len = 4,
					 .upload_only = true,
					 .ut_metadata = 3,
					 .ut_pex = 1 };
	uint8_t out[512];
	struct bc_val root, v;
	char client[128];
	ssize_t n, full;

	/* Every key, read back with the bencode parser. */
	full = n = wire_put_ext_handshake(out, sizeof(out), &hs);
	REQUIRE(ext_parse(out, n, &root));
	REQUIRE(bc_dict_get_type(&root, "m", BC_DICT, &v));
	check_ext_int(&v, "ut_metadata", 3);
	check_ext_int(&v, "ut_pex", 1);
	check_ext_int(&root, "metadata_size", 31337);
	check_ext_int(&root, "p", 6881);
	check_ext_int(&root, "reqq", 250);
	check_ext_int(&root, "upload_only", 1);
	CHECK(bc_dict_get_type(&root, "v", BC_STR, &v) && bc_str_eq(&v, "ringseed 0.1"));
	CHECK(bc_dict_get_type(&root, "yourip", BC_STR, &v) && v.str_len == 4 &&
	      memcmp(v.str, ip4, 4) == 0);

	/* -ENOSPC for every cap short of the size; never a byte past cap. */
	for (size_t cap = 0; cap < (size_t)full; cap++) {
		memset(out, 0xee, sizeof(out));
		CHECK_EQ_INT(wire_put_ext_handshake(out, cap, &hs), -ENOSPC);
		CHECK(out[cap] == 0xee);
	}
	CHECK_EQ_INT(wire_put_ext_handshake(out, (size_t)full, &hs), full);

	/* yourip is 4 or 16 bytes; metadata_size is not negative. */
	hs.yourip_len = 5;
	CHECK_EQ_INT(wire_put_ext_handshake(out, sizeof(out), &hs), -EINVAL);
	hs.yourip = ip6;
	hs.yourip_len = 16;
	n = wire_put_ext_handshake(out, sizeof(out), &hs);
	REQUIRE(ext_parse(out, n, &root));
	CHECK(bc_dict_get_type(&root, "yourip", BC_STR, &v) && v.str_len == 16 &&
	      memcmp(v.str, ip6, 16) == 0);
	hs.metadata_size = -1;
	CHECK_EQ_INT(wire_put_ext_handshake(out, sizeof(out), &hs), -EINVAL);

	/* WIRE_EXT_HANDSHAKE_CAP holds every field at its longest. */
	memset(client, 'x', sizeof(client) - 1);
	client[sizeof(client) - 1] = '\0';
	hs = (struct wire_ext_handshake){ .client = client,
					  .reqq = UINT32_MAX,
					  .listen_port = UINT16_MAX,
					  .metadata_size = INT64_MAX,
					  .yourip = ip6,
					  .yourip_len = 16,
					  .upload_only = true,
					  .ut_metadata = 255,
					  .ut_pex = 255 };
	n = wire_put_ext_handshake(out, WIRE_EXT_HANDSHAKE_CAP, &hs);
	CHECK_EQ_INT(n, 288);
	CHECK(ext_parse(out, n, &root));
}

/* --- decoder --- */

static void test_id_names(void)
{
	static const char *const names[24] = {
		"choke",   "unchoke", "interested", "not_interested", "have",	"bitfield",
		"request", "piece",   "cancel",	    "port",	      NULL,	NULL,
		NULL,	   "suggest", "have_all",   "have_none",      "reject", "allowed_fast",
		NULL,	   NULL,      "extended",   "hash_request",   "hashes", "hash_reject",
	};

	for (unsigned id = 0; id < 256; id++)
		CHECK_STR(wire_id_name((uint8_t)id), id < 24 && names[id] ? names[id] : "unknown");
}

/* Length prefixes the spec allows per id: min..max (max 0 = any), fixed or not. */
struct size_rule {
	uint32_t min, max;
	bool fixed;
};

static struct size_rule rule_for(uint8_t id)
{
	switch (id) {
	case WIRE_CHOKE:
	case WIRE_UNCHOKE:
	case WIRE_INTERESTED:
	case WIRE_NOT_INTERESTED:
	case WIRE_HAVE_ALL:
	case WIRE_HAVE_NONE:
		return (struct size_rule){ 1, 1, true };
	case WIRE_HAVE:
	case WIRE_SUGGEST:
	case WIRE_ALLOWED_FAST:
		return (struct size_rule){ 5, 5, true };
	case WIRE_REQUEST:
	case WIRE_CANCEL:
	case WIRE_REJECT:
		return (struct size_rule){ 13, 13, true };
	case WIRE_PORT:
		return (struct size_rule){ 3, 3, true };
	case WIRE_PIECE:
		return (struct size_rule){ 9, 0, false };
	case WIRE_EXTENDED:
		return (struct size_rule){ 2, 0, false };
	case WIRE_HASH_REQUEST:
	case WIRE_HASH_REJECT:
		return (struct size_rule){ 49, 49, false };
	case WIRE_HASHES:
		return (struct size_rule){ 49, 0, false };
	default: /* bitfield and unknown ids */
		return (struct size_rule){ 1, 0, false };
	}
}

/* Every id, as one well-formed message, whole, byte by byte and at every split. */
static void test_each_message(void)
{
	for (unsigned id = 0; id < 256; id++) {
		struct size_rule r = rule_for((uint8_t)id);
		struct stream s;
		uint8_t m[80];
		uint32_t len = r.max ? r.max : r.min + 7;

		s_init(&s);
		m[0] = 0;
		m[1] = 0;
		m[2] = 0;
		m[3] = (uint8_t)len;
		m[4] = (uint8_t)id;
		fill(m + 5, len - 1, id);
		if (r.fixed) {
			uint32_t a = (uint32_t)m[5] << 24 | (uint32_t)m[6] << 16 |
				     (uint32_t)m[7] << 8 | m[8];
			uint32_t b = (uint32_t)m[9] << 24 | (uint32_t)m[10] << 16 |
				     (uint32_t)m[11] << 8 | m[12];
			uint32_t c = (uint32_t)m[13] << 24 | (uint32_t)m[14] << 16 |
				     (uint32_t)m[15] << 8 | m[16];

			if (len == 1)
				s_fixed(&s, m, 5, (uint8_t)id, 0, 0, 0);
			else if (len == 3)
				s_fixed(&s, m, 7, (uint8_t)id, (uint32_t)m[5] << 8 | m[6], 0, 0);
			else if (len == 5)
				s_fixed(&s, m, 9, (uint8_t)id, a, 0, 0);
			else
				s_fixed(&s, m, 17, (uint8_t)id, a, b, c);
		} else {
			s_var(&s, m, 4 + len, NULL, 0);
		}
		expect_events(__LINE__, s.buf, s.len, MAX_MSG, &s.want);
		/* The same with a zero-length payload where that is allowed. */
		if (!r.fixed && r.min == 1) {
			log_free(&s.want);
			s_init(&s);
			s_raw(&s, (uint8_t)id, NULL, 0);
			expect_events(__LINE__, s.buf, s.len, MAX_MSG, &s.want);
		}
		log_free(&s.want);
	}
}

/* ~30 messages of every kind back to back, however the stream is cut. */
static void test_mixed_stream(void)
{
	static const char ut_meta[] = "d8:msg_typei0e5:piecei0ee";
	struct wire_ext_handshake ext = { .client = "ringseed 0.1",
					  .reqq = 500,
					  .upload_only = true };
	struct stream s;
	uint8_t m[512], body[400];
	ssize_t n;

	s_init(&s);
	s_keepalive(&s);
	s_simple(&s, WIRE_HAVE_ALL);
	s_simple(&s, WIRE_UNCHOKE);
	s_simple(&s, WIRE_CHOKE);
	s_simple(&s, WIRE_INTERESTED);
	s_simple(&s, WIRE_NOT_INTERESTED);
	s_simple(&s, WIRE_HAVE_NONE);
	s_have(&s, WIRE_HAVE, 7);
	s_have(&s, WIRE_SUGGEST, 0xffffffff);
	s_have(&s, WIRE_ALLOWED_FAST, 12345);
	s_block(&s, WIRE_REQUEST, 1, 0, 16384);
	s_block(&s, WIRE_CANCEL, 1, 0, 16384);
	s_block(&s, WIRE_REJECT, 0xfffffffe, 0x7fffc000, WIRE_MAX_BLOCK);
	s_port(&s, 6881);
	fill(body, 17, 1);
	s_var(&s, m, wire_put_bitfield_header(m, 17), body, 17);
	s_var(&s, m, wire_put_bitfield_header(m, 0), NULL, 0);
	fill(body, 100, 2);
	s_var(&s, m, wire_put_piece_header(m, 3, 16384, 100), body, 100);
	s_var(&s, m, wire_put_piece_header(m, 4, 0, 0), NULL, 0);
	n = wire_put_ext_handshake(m, sizeof(m), &ext);
	REQUIRE(n > 0);
	s_var(&s, m, (size_t)n, NULL, 0);
	s_var(&s, m, wire_put_extended_header(m, 3, sizeof(ut_meta) - 1), ut_meta,
	      sizeof(ut_meta) - 1);
	s_keepalive(&s);
	fill(body, 300, 3);
	s_raw(&s, 10, body, 5);
	s_raw(&s, 11, NULL, 0);
	s_raw(&s, 255, body, 300);
	s_raw(&s, WIRE_HASH_REQUEST, body, 48);
	s_raw(&s, WIRE_HASHES, body, 48 + 64);
	s_raw(&s, WIRE_HASH_REJECT, body + 1, 48);
	s_keepalive(&s);
	s_keepalive(&s);
	s_block(&s, WIRE_REQUEST, 9, 32768, 16384);
	s_raw(&s, WIRE_EXTENDED, "\x00", 1);

	expect_events(__LINE__, s.buf, s.len, MAX_MSG, &s.want);
	for (uint64_t seed = 1; seed <= 300; seed++)
		expect_split(__LINE__, s.buf, s.len, MAX_MSG,
			     (struct feeder){ SPLIT_RANDOM, 0, seed * 0x9e3779b97f4a7c15ull },
			     &s.want);
	for (size_t every = 2; every <= 20; every++)
		expect_split(__LINE__, s.buf, s.len, MAX_MSG,
			     (struct feeder){ SPLIT_EVERY, every, 0 }, &s.want);
	log_free(&s.want);
}

/* s must be refused with exactly `why` (about id), after the events it expects so far. */
static void expect_refusal(int line, struct stream *s, uint32_t max_msg, uint8_t id,
			   const char *why)
{
	struct rec *r = log_add(&s->want, WIRE_EV_ERROR, id, 0);

	snprintf(r->why, sizeof(r->why), "%s", why);
	expect_events(line, s->buf, s->len, max_msg, &s->want);
}

/* Appends the length prefix and, if has_id, the id of a message that must be refused. */
static void refuse(int line, uint32_t prefix, int id, uint32_t max_msg, const char *why)
{
	uint8_t h[5] = { (uint8_t)(prefix >> 24), (uint8_t)(prefix >> 16), (uint8_t)(prefix >> 8),
			 (uint8_t)prefix, (uint8_t)id };
	struct stream s;
	struct rec *r;
	uint8_t m[5];

	/* A valid message first: the error must not depend on what came before. */
	s_init(&s);
	if (max_msg >= 1)
		s_fixed(&s, m, wire_put_simple(m, WIRE_INTERESTED), WIRE_INTERESTED, 0, 0, 0);
	s_append(&s, h, id < 0 ? 4 : 5);
	r = log_add(&s.want, WIRE_EV_ERROR, id < 0 ? 0 : (uint8_t)id, 0);
	snprintf(r->why, sizeof(r->why), "%s", why);
	/* The error comes as soon as the deciding byte is in, before any payload. */
	expect_events(line, s.buf, s.len, max_msg, &s.want);
	/* Payload after it changes nothing. */
	memset(s.buf + s.len, 0, 64);
	s.len += 64;
	expect_events(line, s.buf, s.len, max_msg, &s.want);
	log_free(&s.want);
}

static void test_refusals(void)
{
	char why[64];

	refuse(__LINE__, 14, WIRE_REQUEST, MAX_MSG, "request message with length 14");
	refuse(__LINE__, 12, WIRE_CANCEL, MAX_MSG, "cancel message with length 12");
	refuse(__LINE__, 2, WIRE_CHOKE, MAX_MSG, "choke message with length 2");
	refuse(__LINE__, 4, WIRE_HAVE, MAX_MSG, "have message with length 4");
	refuse(__LINE__, 2, WIRE_PORT, MAX_MSG, "port message with length 2");
	refuse(__LINE__, 8, WIRE_PIECE, MAX_MSG, "piece message with length 8");
	refuse(__LINE__, 1, WIRE_PIECE, MAX_MSG, "piece message with length 1");
	refuse(__LINE__, 1, WIRE_EXTENDED, MAX_MSG, "extended message with length 1");
	refuse(__LINE__, 48, WIRE_HASH_REQUEST, MAX_MSG, "hash_request message with length 48");
	refuse(__LINE__, 50, WIRE_HASH_REJECT, MAX_MSG, "hash_reject message with length 50");
	refuse(__LINE__, 48, WIRE_HASHES, MAX_MSG, "hashes message with length 48");
	/* Every fixed-size id, one above and one below its size. */
	for (unsigned id = 0; id < 256; id++) {
		struct size_rule r = rule_for((uint8_t)id);

		if (r.max) {
			snprintf(why, sizeof(why), "%s message with length %" PRIu32,
				 wire_id_name((uint8_t)id), r.max + 1);
			refuse(__LINE__, r.max + 1, (int)id, MAX_MSG, why);
		}
		if (r.min > 1) {
			snprintf(why, sizeof(why), "%s message with length %" PRIu32,
				 wire_id_name((uint8_t)id), r.min - 1);
			refuse(__LINE__, r.min - 1, (int)id, MAX_MSG, why);
		}
	}

	/* Length prefixes over the limit are refused before the id arrives. */
	refuse(__LINE__, 0x7fffffff, -1, MAX_MSG, "message length 2147483647 over limit 1048576");
	refuse(__LINE__, 0x80000000, -1, MAX_MSG, "message length 2147483648 over limit 1048576");
	refuse(__LINE__, 0xffffffff, -1, MAX_MSG, "message length 4294967295 over limit 1048576");
	refuse(__LINE__, MAX_MSG + 1, -1, MAX_MSG, "message length 1048577 over limit 1048576");
	refuse(__LINE__, 14, -1, 13, "message length 14 over limit 13");
	refuse(__LINE__, 1, -1, 0, "message length 1 over limit 0");
}

/* Lengths exactly at the limit pass; keep-alives are never limited. */
static void test_limits(void)
{
	struct stream s;
	uint8_t m[17];

	s_init(&s);
	s_keepalive(&s);
	s_block(&s, WIRE_REQUEST, 1, 2, 3);
	s_raw(&s, WIRE_BITFIELD, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 12);
	s_keepalive(&s);
	expect_events(__LINE__, s.buf, s.len, 13, &s.want);
	log_free(&s.want);

	/* max_msg 0: keep-alives only. */
	s_init(&s);
	s_keepalive(&s);
	s_keepalive(&s);
	expect_events(__LINE__, s.buf, s.len, 0, &s.want);
	s_append(&s, m, wire_put_simple(m, WIRE_UNCHOKE));
	/* "over limit" comes before the id is read: the error's id is 0 */
	expect_refusal(__LINE__, &s, 0, 0, "message length 1 over limit 0");
	log_free(&s.want);
}

/* Keep-alives anywhere, many in a row, and a stream cut inside one. */
static void test_keepalives(void)
{
	struct stream s;

	s_init(&s);
	for (int i = 0; i < 5; i++)
		s_keepalive(&s);
	s_simple(&s, WIRE_INTERESTED);
	s_keepalive(&s);
	s_have(&s, WIRE_HAVE, 0);
	s_keepalive(&s);
	expect_events(__LINE__, s.buf, s.len, MAX_MSG, &s.want);
	/* Three bytes of a fourth keep-alive: nothing yet. */
	s_append(&s, "\x00\x00\x00", 3);
	expect_events(__LINE__, s.buf, s.len, MAX_MSG, &s.want);
	log_free(&s.want);
}

/* Decoder calls with nothing to read, and END arriving without input. */
static void test_edges(void)
{
	static const uint8_t bf[] = "\x00\x00\x00\x03\x05\xaa\xbb";
	struct wire_dec d;
	struct wire_event ev;
	const uint8_t *p = NULL, *end;

	wire_dec_init(&d, MAX_MSG);
	CHECK_EQ_INT(wire_decode(&d, &p, NULL, &ev), WIRE_EV_NONE);
	CHECK(p == NULL);

	p = bf;
	end = bf + 5;
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_BEGIN);
	CHECK(ev.id == WIRE_BITFIELD && ev.len == 2 && p == end);
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_NONE);
	end = bf + 7;
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_DATA);
	CHECK(ev.data == bf + 5 && ev.data_len == 2 && p == end);
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_END);
	CHECK(ev.id == WIRE_BITFIELD && ev.len == 2);
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_NONE);
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_NONE);

	/* A zero-length payload: BEGIN, END, with no input at all for the END. */
	p = (const uint8_t *)"\x00\x00\x00\x01\x05";
	end = p + 5;
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_BEGIN);
	CHECK(ev.len == 0);
	p = end = NULL;
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_END);
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_NONE);

	/* Re-initialising forgets an error. */
	p = (const uint8_t *)"\x00\x00\x00\x02\x00";
	end = p + 5;
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_ERROR);
	CHECK_STR(ev.why, "choke message with length 2");
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_ERROR);
	wire_dec_init(&d, MAX_MSG);
	p = (const uint8_t *)"\x00\x00\x00\x01\x00";
	end = p + 5;
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_MSG);
	CHECK(ev.id == WIRE_CHOKE && p == end);
}

/* A 1,000,000-piece bitfield goes out as chunks of the input, never copied. */
static void test_big_bitfield(void)
{
	const uint32_t nbytes = 125000;
	size_t n = 5 + nbytes + 5;
	uint8_t *in = malloc(n);
	struct wire_dec d;
	struct wire_event ev;
	const uint8_t *p, *end;
	uint32_t total = 0, chunks = 0;
	size_t calls = 0;
	bool ok = true;

	REQUIRE(in);
	REQUIRE(wire_put_bitfield_header(in, nbytes) == 5);
	fill(in + 5, nbytes, 9);
	wire_put_simple(in + 5 + nbytes, WIRE_UNCHOKE);

	/* Whole: one DATA of all of it. */
	wire_dec_init(&d, MAX_MSG);
	p = in;
	end = in + n;
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_BEGIN);
	CHECK(ev.id == WIRE_BITFIELD && ev.len == nbytes);
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_DATA);
	CHECK(ev.data == in + 5 && ev.data_len == nbytes);
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_END);
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_MSG);
	CHECK(ev.id == WIRE_UNCHOKE);
	CHECK_EQ_INT(wire_decode(&d, &p, end, &ev), WIRE_EV_NONE);

	/* As TCP segments of 1448 bytes: each DATA is the segment's own bytes. */
	wire_dec_init(&d, MAX_MSG);
	for (size_t off = 0; off < n; off += 1448) {
		p = in + off;
		end = in + (off + 1448 < n ? off + 1448 : n);
		for (;;) {
			const uint8_t *before = p;
			enum wire_ev t = wire_decode(&d, &p, end, &ev);

			if (t == WIRE_EV_NONE || t == WIRE_EV_ERROR || ++calls > 4 * n) {
				ok &= t == WIRE_EV_NONE;
				break;
			}
			if (t == WIRE_EV_DATA) {
				ok &= ev.data == before && ev.data_len == (size_t)(p - before) &&
				      ev.data >= in + 5 && ev.data + ev.data_len <= in + 5 + nbytes;
				total += ev.data_len;
				chunks++;
			}
		}
	}
	CHECK(ok);
	CHECK_EQ_INT(total, nbytes);
	CHECK_EQ_INT(chunks, (nbytes + 5 + 1447) / 1448);

	/* One byte over the limit. */
	wire_dec_init(&d, nbytes);
	p = in;
	CHECK_EQ_INT(wire_decode(&d, &p, in + n, &ev), WIRE_EV_ERROR);
	CHECK_STR(ev.why, "message length 125001 over limit 125000");
	free(in);
}

/* BEP 52: the three hash messages echo the 48-byte request; hashes announce their count. */
static void test_hash_headers(void)
{
	uint8_t req[48], out[53 + 64];
	const uint8_t *p, *end;
	struct wire_event ev;
	struct wire_dec d;
	uint32_t got = 0;

	for (int i = 0; i < 48; i++)
		req[i] = (uint8_t)(i * 5 + 1);
	CHECK_EQ_INT(wire_put_hash_header(out, WIRE_HASH_REJECT, req, 0), 53);
	CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0 && out[3] == 49 && out[4] == 23);
	CHECK(memcmp(out + 5, req, 48) == 0);
	CHECK_EQ_INT(wire_put_hash_header(out, WIRE_HASHES, req, 2), 53);
	CHECK(out[3] == 49 + 64 && out[4] == 22);
	memset(out + 53, 0xab, 64);
	CHECK_EQ_INT(wire_put_hash_header(out, WIRE_HASH_REJECT, req, 1), 0); /* no hashes in a reject */
	CHECK_EQ_INT(wire_put_hash_header(out, WIRE_PIECE, req, 0), 0);
	/* what we write, the decoder reads back: BEGIN 22, 112 payload bytes, END */
	wire_put_hash_header(out, WIRE_HASHES, req, 2);
	wire_dec_init(&d, 1 << 20);
	p = out;
	end = out + sizeof(out);
	while (wire_decode(&d, &p, end, &ev) != WIRE_EV_NONE) {
		if (ev.type == WIRE_EV_BEGIN)
			CHECK(ev.id == WIRE_HASHES && ev.len == 112);
		if (ev.type == WIRE_EV_DATA)
			got += ev.data_len;
		CHECK(ev.type != WIRE_EV_ERROR);
	}
	CHECK_EQ_INT(got, 112);
}

int main(void)
{
	test_hash_headers();
	test_handshake();
	test_encoders();
	test_encoder_misuse();
	test_ext_handshake_bytes();
	test_ext_handshake_keys();
	test_id_names();
	test_each_message();
	test_mixed_stream();
	test_refusals();
	test_limits();
	test_keepalives();
	test_edges();
	test_big_bitfield();
	return test_done("wire");
}
