/*
 * wire.c - the BitTorrent peer wire protocol; see wire.h for the contract.
 *
 * The decoder is a three-state machine (drawn in wire.h). In HEADER it copies
 * bytes into d->hdr in stages, deciding at each boundary:
 *
 *   hdr_len 4            the length prefix: keep-alive, over the limit, or go on
 *   hdr_len 5            the id: a size the id forbids is an error; a variable
 *                        or unknown id gives BEGIN; a fixed one reads on
 *   hdr_len 4 + msg_len  a fixed-size message is complete: MSG
 *
 * Each decision is made exactly when the byte that settles it arrives, so the
 * events (apart from how DATA is chunked) do not depend on how the input was
 * split. In BODY it hands out the caller's bytes as DATA and never copies them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "proto/bencode.h"
#include "proto/wire.h"

#define WIRE_PREFIX_LEN 4
#define WIRE_ID_COUNT	24 /* ids 0..23 have an entry in wire_ids[] */

enum wire_kind {
	WIRE_UNKNOWN = 0, /* not ours: handed out as a variable message to skip */
	WIRE_FIXED,	  /* min == max, fields decoded from hdr */
	WIRE_VARIABLE,	  /* BEGIN / DATA / END, length between min and max */
};

/*
 * Per id: its name and the length prefixes it allows (max 0 = no bound but
 * max_msg). The fixed sizes are BEP 3 (choke..port), BEP 6 (suggest..
 * allowed_fast) and BEP 52 (hash request and reject: pieces root 32, base
 * layer, index, length, proof layers 4 each).
 */
struct wire_id_info {
	const char *name;
	uint8_t kind;
	uint8_t min;
	uint8_t max;
};

static const struct wire_id_info wire_ids[WIRE_ID_COUNT] = {
	[WIRE_CHOKE] = { "choke", WIRE_FIXED, 1, 1 },
	[WIRE_UNCHOKE] = { "unchoke", WIRE_FIXED, 1, 1 },
	[WIRE_INTERESTED] = { "interested", WIRE_FIXED, 1, 1 },
	[WIRE_NOT_INTERESTED] = { "not_interested", WIRE_FIXED, 1, 1 },
	[WIRE_HAVE] = { "have", WIRE_FIXED, 5, 5 },
	[WIRE_BITFIELD] = { "bitfield", WIRE_VARIABLE, 1, 0 },
	[WIRE_REQUEST] = { "request", WIRE_FIXED, 13, 13 },
	[WIRE_PIECE] = { "piece", WIRE_VARIABLE, 9, 0 },
	[WIRE_CANCEL] = { "cancel", WIRE_FIXED, 13, 13 },
	[WIRE_PORT] = { "port", WIRE_FIXED, 3, 3 },
	[WIRE_SUGGEST] = { "suggest", WIRE_FIXED, 5, 5 },
	[WIRE_HAVE_ALL] = { "have_all", WIRE_FIXED, 1, 1 },
	[WIRE_HAVE_NONE] = { "have_none", WIRE_FIXED, 1, 1 },
	[WIRE_REJECT] = { "reject", WIRE_FIXED, 13, 13 },
	[WIRE_ALLOWED_FAST] = { "allowed_fast", WIRE_FIXED, 5, 5 },
	[WIRE_EXTENDED] = { "extended", WIRE_VARIABLE, 2, 0 },
	[WIRE_HASH_REQUEST] = { "hash_request", WIRE_VARIABLE, 49, 49 },
	[WIRE_HASHES] = { "hashes", WIRE_VARIABLE, 49, 0 },
	[WIRE_HASH_REJECT] = { "hash_reject", WIRE_VARIABLE, 49, 49 },
};

_Static_assert(WIRE_PREFIX_LEN + 13 <= sizeof(((struct wire_dec *)0)->hdr),
	       "hdr holds the longest fixed-size message");

static const struct wire_id_info *wire_info(uint8_t id)
{
	static const struct wire_id_info unknown = { "unknown", WIRE_UNKNOWN, 1, 0 };

	if (id < WIRE_ID_COUNT && wire_ids[id].name)
		return &wire_ids[id];
	return &unknown;
}

const char *wire_id_name(uint8_t id)
{
	return wire_info(id)->name;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* --- handshake --- */

int wire_handshake_parse(const uint8_t in[WIRE_HANDSHAKE_LEN], struct wire_handshake *hs)
{
	if (in[0] != WIRE_PROTOCOL_LEN || memcmp(in + 1, WIRE_PROTOCOL, WIRE_PROTOCOL_LEN) != 0)
		return -EINVAL;
	memcpy(hs->reserved, in + 20, sizeof(hs->reserved));
	memcpy(hs->info_hash, in + 28, sizeof(hs->info_hash));
	memcpy(hs->peer_id, in + 48, sizeof(hs->peer_id));
	return 0;
}

void wire_handshake_build(uint8_t out[WIRE_HANDSHAKE_LEN], const struct wire_handshake *hs)
{
	out[0] = WIRE_PROTOCOL_LEN;
	memcpy(out + 1, WIRE_PROTOCOL, WIRE_PROTOCOL_LEN);
	memcpy(out + 20, hs->reserved, sizeof(hs->reserved));
	memcpy(out + 28, hs->info_hash, sizeof(hs->info_hash));
	memcpy(out + 48, hs->peer_id, sizeof(hs->peer_id));
}

bool wire_has_fast(const struct wire_handshake *hs)
{
	return hs->reserved[WIRE_RSV_FAST_BYTE] & WIRE_RSV_FAST_MASK;
}

bool wire_has_extension(const struct wire_handshake *hs)
{
	return hs->reserved[WIRE_RSV_EXT_BYTE] & WIRE_RSV_EXT_MASK;
}

bool wire_has_dht(const struct wire_handshake *hs)
{
	return hs->reserved[WIRE_RSV_DHT_BYTE] & WIRE_RSV_DHT_MASK;
}

bool wire_has_v2(const struct wire_handshake *hs)
{
	return hs->reserved[WIRE_RSV_V2_BYTE] & WIRE_RSV_V2_MASK;
}

/* --- encoders --- */

/* Writes the length prefix and the id; returns where the payload goes. */
static uint8_t *put_head(uint8_t *out, uint32_t msg_len, uint8_t id)
{
	put_be32(out, msg_len);
	out[4] = id;
	return out + 5;
}

size_t wire_put_keepalive(uint8_t out[4])
{
	put_be32(out, 0);
	return WIRE_KEEPALIVE_LEN;
}

size_t wire_put_simple(uint8_t out[5], enum wire_id id)
{
	switch (id) {
	case WIRE_CHOKE:
	case WIRE_UNCHOKE:
	case WIRE_INTERESTED:
	case WIRE_NOT_INTERESTED:
	case WIRE_HAVE_ALL:
	case WIRE_HAVE_NONE:
		put_head(out, 1, (uint8_t)id);
		return WIRE_SIMPLE_LEN;
	default:
		return 0;
	}
}

size_t wire_put_have(uint8_t out[9], enum wire_id id, uint32_t piece)
{
	if (id != WIRE_HAVE && id != WIRE_SUGGEST && id != WIRE_ALLOWED_FAST)
		return 0;
	put_be32(put_head(out, 5, (uint8_t)id), piece);
	return WIRE_HAVE_LEN;
}

size_t wire_put_block(uint8_t out[17], enum wire_id id, uint32_t piece, uint32_t begin,
		      uint32_t length)
{
	uint8_t *p;

	if (id != WIRE_REQUEST && id != WIRE_CANCEL && id != WIRE_REJECT)
		return 0;
	p = put_head(out, 13, (uint8_t)id);
	put_be32(p, piece);
	put_be32(p + 4, begin);
	put_be32(p + 8, length);
	return WIRE_BLOCK_LEN;
}

size_t wire_put_piece_header(uint8_t out[13], uint32_t piece, uint32_t begin, uint32_t length)
{
	uint8_t *p;

	if (length > UINT32_MAX - 9)
		return 0;
	p = put_head(out, 9 + length, WIRE_PIECE);
	put_be32(p, piece);
	put_be32(p + 4, begin);
	return WIRE_PIECE_HDR_LEN;
}

size_t wire_put_bitfield_header(uint8_t out[5], uint32_t nbytes)
{
	if (nbytes > UINT32_MAX - 1)
		return 0;
	put_head(out, 1 + nbytes, WIRE_BITFIELD);
	return WIRE_BITFIELD_HDR_LEN;
}

size_t wire_put_port(uint8_t out[7], uint16_t port)
{
	uint8_t *p = put_head(out, 3, WIRE_PORT);

	p[0] = (uint8_t)(port >> 8);
	p[1] = (uint8_t)port;
	return WIRE_PORT_LEN;
}

size_t wire_put_extended_header(uint8_t out[6], uint8_t ext_id, uint32_t nbytes)
{
	if (nbytes > UINT32_MAX - 2)
		return 0;
	put_head(out, 2 + nbytes, WIRE_EXTENDED)[0] = ext_id;
	return WIRE_EXTENDED_HDR_LEN;
}

size_t wire_put_hash_header(uint8_t out[53], enum wire_id id, const uint8_t req[48],
			    uint32_t nhashes)
{
	if ((id != WIRE_HASH_REQUEST && id != WIRE_HASHES && id != WIRE_HASH_REJECT) ||
	    (id != WIRE_HASHES && nhashes) || nhashes > (UINT32_MAX - 49) / 32)
		return 0;
	memcpy(put_head(out, 1 + WIRE_HASH_REQ_LEN + 32 * nhashes, (uint8_t)id), req,
	       WIRE_HASH_REQ_LEN);
	return WIRE_HASH_HDR_LEN;
}

/* The dictionary, keys in byte order as bencoding requires. */
static void ext_handshake_encode(struct bc_enc *e, const struct wire_ext_handshake *hs)
{
	bc_enc_dict(e);
	bc_enc_cstr(e, "m");
	bc_enc_dict(e);
	if (hs->ut_metadata) {
		bc_enc_cstr(e, "ut_metadata");
		bc_enc_int(e, hs->ut_metadata);
	}
	if (hs->ut_pex) {
		bc_enc_cstr(e, "ut_pex");
		bc_enc_int(e, hs->ut_pex);
	}
	bc_enc_end(e);
	if (hs->metadata_size) {
		bc_enc_cstr(e, "metadata_size");
		bc_enc_int(e, hs->metadata_size);
	}
	if (hs->listen_port) {
		bc_enc_cstr(e, "p");
		bc_enc_int(e, hs->listen_port);
	}
	if (hs->reqq) {
		bc_enc_cstr(e, "reqq");
		bc_enc_int(e, hs->reqq);
	}
	if (hs->upload_only) {
		bc_enc_cstr(e, "upload_only");
		bc_enc_int(e, 1);
	}
	if (hs->client) {
		bc_enc_cstr(e, "v");
		bc_enc_cstr(e, hs->client);
	}
	if (hs->yourip) {
		bc_enc_cstr(e, "yourip");
		bc_enc_str(e, hs->yourip, hs->yourip_len);
	}
	bc_enc_end(e);
}

ssize_t wire_put_ext_handshake(uint8_t *out, size_t cap, const struct wire_ext_handshake *hs)
{
	struct bc_enc e;
	ssize_t n;

	if (hs->metadata_size < 0 || (hs->yourip && hs->yourip_len != 4 && hs->yourip_len != 16))
		return -EINVAL;
	if (cap < WIRE_EXTENDED_HDR_LEN)
		return -ENOSPC;
	bc_enc_init(&e, out + WIRE_EXTENDED_HDR_LEN, cap - WIRE_EXTENDED_HDR_LEN);
	ext_handshake_encode(&e, hs);
	n = bc_enc_finish(&e);
	if (n < 0)
		return n;
	if ((size_t)n > UINT32_MAX - 2) /* a client string of 4 GiB */
		return -EINVAL;
	wire_put_extended_header(out, WIRE_EXT_HANDSHAKE_ID, (uint32_t)n);
	return n + WIRE_EXTENDED_HDR_LEN;
}

/* --- decoder --- */

void wire_dec_init(struct wire_dec *d, uint32_t max_msg)
{
	memset(d, 0, sizeof(*d));
	d->state = WIRE_DEC_HEADER;
	d->max_msg = max_msg;
}

static enum wire_ev dec_error(struct wire_dec *d, struct wire_event *ev)
{
	d->state = WIRE_DEC_ERROR;
	ev->type = WIRE_EV_ERROR;
	ev->id = d->id;
	ev->why = d->why;
	return WIRE_EV_ERROR;
}

/* The next message starts: forget the previous one's header. */
static void dec_reset(struct wire_dec *d)
{
	d->hdr_len = 0;
	d->msg_len = 0;
	d->id = 0;
}

/* hdr holds a whole fixed-size message: give out its fields. */
static enum wire_ev dec_fixed(struct wire_dec *d, struct wire_event *ev)
{
	const uint8_t *f = d->hdr + WIRE_PREFIX_LEN + 1;

	ev->type = WIRE_EV_MSG;
	ev->id = d->id;
	switch (d->msg_len) {
	case 13:
		ev->length = get_be32(f + 8);
		ev->begin = get_be32(f + 4);
		/* fall through */
	case 5:
		ev->piece = get_be32(f);
		break;
	case 3:
		ev->piece = (uint32_t)f[0] << 8 | f[1];
		break;
	}
	dec_reset(d);
	return WIRE_EV_MSG;
}

/* hdr_len just reached 4: the length prefix is in. */
static enum wire_ev dec_prefix(struct wire_dec *d, struct wire_event *ev)
{
	d->msg_len = get_be32(d->hdr);
	if (d->msg_len == 0) {
		dec_reset(d);
		ev->type = WIRE_EV_KEEPALIVE;
		return WIRE_EV_KEEPALIVE;
	}
	if (d->msg_len > d->max_msg) {
		snprintf(d->why, sizeof(d->why), "message length %" PRIu32 " over limit %" PRIu32,
			 d->msg_len, d->max_msg);
		return dec_error(d, ev);
	}
	return WIRE_EV_NONE;
}

/* hdr_len just reached 5: the id is in. NONE means: read the fixed fields. */
static enum wire_ev dec_id(struct wire_dec *d, struct wire_event *ev)
{
	const struct wire_id_info *info;

	d->id = d->hdr[WIRE_PREFIX_LEN];
	info = wire_info(d->id);
	if (d->msg_len < info->min || (info->max && d->msg_len > info->max)) {
		snprintf(d->why, sizeof(d->why), "%s message with length %" PRIu32, info->name,
			 d->msg_len);
		return dec_error(d, ev);
	}
	if (info->kind == WIRE_FIXED)
		return d->msg_len == 1 ? dec_fixed(d, ev) : WIRE_EV_NONE;
	d->state = WIRE_DEC_BODY;
	d->body_left = d->msg_len - 1;
	ev->type = WIRE_EV_BEGIN;
	ev->id = d->id;
	ev->len = d->body_left;
	return WIRE_EV_BEGIN;
}

static enum wire_ev dec_header(struct wire_dec *d, const uint8_t **p, const uint8_t *end,
			       struct wire_event *ev)
{
	for (;;) {
		uint32_t need = d->hdr_len < WIRE_PREFIX_LEN	   ? WIRE_PREFIX_LEN
				: d->hdr_len < WIRE_PREFIX_LEN + 1 ? WIRE_PREFIX_LEN + 1
								   : WIRE_PREFIX_LEN + d->msg_len;
		size_t n = need - d->hdr_len;
		enum wire_ev r;

		if (n > (size_t)(end - *p))
			n = (size_t)(end - *p);
		if (n == 0)
			return WIRE_EV_NONE; /* the input ran out (*p may be NULL) */
		memcpy(d->hdr + d->hdr_len, *p, n);
		*p += n;
		d->hdr_len = (uint8_t)(d->hdr_len + n);
		if (d->hdr_len < need)
			return WIRE_EV_NONE;
		if (need == WIRE_PREFIX_LEN)
			r = dec_prefix(d, ev);
		else if (need == WIRE_PREFIX_LEN + 1)
			r = dec_id(d, ev);
		else
			r = dec_fixed(d, ev);
		if (r != WIRE_EV_NONE)
			return r;
	}
}

static enum wire_ev dec_body(struct wire_dec *d, const uint8_t **p, const uint8_t *end,
			     struct wire_event *ev)
{
	size_t n = (size_t)(end - *p);

	ev->id = d->id;
	ev->len = d->msg_len - 1;
	if (d->body_left == 0) {
		d->state = WIRE_DEC_HEADER;
		dec_reset(d);
		ev->type = WIRE_EV_END;
		return WIRE_EV_END;
	}
	if (n == 0) {
		ev->id = 0;
		ev->len = 0;
		return WIRE_EV_NONE;
	}
	if (n > d->body_left)
		n = d->body_left;
	ev->type = WIRE_EV_DATA;
	ev->data = *p;
	ev->data_len = (uint32_t)n;
	d->body_left -= (uint32_t)n;
	*p += n;
	return WIRE_EV_DATA;
}

enum wire_ev wire_decode(struct wire_dec *d, const uint8_t **p, const uint8_t *end,
			 struct wire_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	switch (d->state) {
	case WIRE_DEC_HEADER:
		return dec_header(d, p, end, ev);
	case WIRE_DEC_BODY:
		return dec_body(d, p, end, ev);
	default:
		return dec_error(d, ev);
	}
}
