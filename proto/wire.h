/*
 * wire.h - the BitTorrent peer wire protocol (BEP 3, BEP 6 Fast, BEP 10
 * extension protocol, BEP 52 hash messages): handshake, message encoders and
 * a streaming decoder.
 *
 * Every message after the handshake is <length prefix: 4 bytes big-endian>
 * <id: 1 byte><payload>; a length prefix of 0 is a keep-alive.
 *
 * The encoders write one whole message into a caller buffer of the size their
 * prototype names and return its size. Messages that carry a block or a
 * bitfield are written as a header only; the caller sends the payload after it
 * (from a file, a registered buffer, ...), so no payload is ever copied here.
 *
 * The decoder takes bytes as recv() gave them, split anywhere, and turns them
 * into events. It copies at most the 17 bytes of a fixed-size message (a
 * request, say) into its own state; every variable payload comes out as DATA
 * chunks pointing into the caller's input. It checks framing only: that each
 * message has the size its id requires and is not longer than the caller's
 * limit. Whether a piece index is in range or a bitfield came at the right
 * moment is for the caller to judge.
 *
 * Pure: no syscalls, no allocation, no globals.
 */
#ifndef RINGSEED_WIRE_H
#define RINGSEED_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WIRE_HANDSHAKE_LEN 68			 /* 1 + 19 + 8 + 20 + 20, BEP 3 */
#define WIRE_PROTOCOL	   "BitTorrent protocol" /* BEP 3 pstr, 19 bytes */
#define WIRE_PROTOCOL_LEN  19
#define WIRE_MAX_BLOCK	   (128u << 10) /* largest request length anyone may ask for */

/* Reserved handshake bits (byte index, mask). */
#define WIRE_RSV_EXT_BYTE  5 /* BEP 10 extension protocol */
#define WIRE_RSV_EXT_MASK  0x10
#define WIRE_RSV_FAST_BYTE 7 /* BEP 6 Fast extension */
#define WIRE_RSV_FAST_MASK 0x04
#define WIRE_RSV_DHT_BYTE  7 /* BEP 5 DHT */
#define WIRE_RSV_DHT_MASK  0x01
#define WIRE_RSV_V2_BYTE   7 /* BEP 52 upgrade to v2 */
#define WIRE_RSV_V2_MASK   0x10

/* What each encoder writes, for callers that size one buffer for several messages. */
#define WIRE_KEEPALIVE_LEN    4
#define WIRE_SIMPLE_LEN	      5
#define WIRE_HAVE_LEN	      9
#define WIRE_BLOCK_LEN	      17
#define WIRE_PIECE_HDR_LEN    13
#define WIRE_BITFIELD_HDR_LEN 5
#define WIRE_PORT_LEN	      7
#define WIRE_EXTENDED_HDR_LEN 6
#define WIRE_HASH_REQ_LEN     48 /* BEP 52: pieces root, base layer, index, length, proof layers */
#define WIRE_HASH_HDR_LEN     53 /* prefix, id and the 48 bytes of the request */

enum wire_id {
	WIRE_CHOKE = 0, /* BEP 3 */
	WIRE_UNCHOKE = 1,
	WIRE_INTERESTED = 2,
	WIRE_NOT_INTERESTED = 3,
	WIRE_HAVE = 4,
	WIRE_BITFIELD = 5,
	WIRE_REQUEST = 6,
	WIRE_PIECE = 7,
	WIRE_CANCEL = 8,
	WIRE_PORT = 9,	   /* BEP 5 */
	WIRE_SUGGEST = 13, /* BEP 6 */
	WIRE_HAVE_ALL = 14,
	WIRE_HAVE_NONE = 15,
	WIRE_REJECT = 16,
	WIRE_ALLOWED_FAST = 17,
	WIRE_EXTENDED = 20,	/* BEP 10 */
	WIRE_HASH_REQUEST = 21, /* BEP 52 */
	WIRE_HASHES = 22,
	WIRE_HASH_REJECT = 23,
};

/* "request", "not_interested", ...; "unknown" for an id without a name. */
const char *wire_id_name(uint8_t id);

/* --- handshake --- */

struct wire_handshake {
	uint8_t reserved[8];
	uint8_t info_hash[20];
	uint8_t peer_id[20];
};

/* 0, or -EINVAL if byte 0 is not 19 or the protocol string is not "BitTorrent protocol". */
int wire_handshake_parse(const uint8_t in[WIRE_HANDSHAKE_LEN], struct wire_handshake *hs);
void wire_handshake_build(uint8_t out[WIRE_HANDSHAKE_LEN], const struct wire_handshake *hs);

/* Read the reserved bits. */
bool wire_has_fast(const struct wire_handshake *hs);
bool wire_has_extension(const struct wire_handshake *hs);
bool wire_has_dht(const struct wire_handshake *hs);
bool wire_has_v2(const struct wire_handshake *hs);

/* --- encoders --- */

/*
 * Each writes one whole message, length prefix included, and returns its size.
 * An id outside the family a function names, or a payload length whose
 * prefix would not fit in 32 bits, is a bug in the caller: the function then
 * writes nothing and returns 0.
 */
size_t wire_put_keepalive(uint8_t out[4]);
/* choke, unchoke, interested, not_interested, have_all, have_none */
size_t wire_put_simple(uint8_t out[5], enum wire_id id);
/* have, suggest, allowed_fast */
size_t wire_put_have(uint8_t out[9], enum wire_id id, uint32_t piece);
/* request, cancel, reject */
size_t wire_put_block(uint8_t out[17], enum wire_id id, uint32_t piece, uint32_t begin,
		      uint32_t length);
/* The 13 bytes before a block of `length` bytes. */
size_t wire_put_piece_header(uint8_t out[13], uint32_t piece, uint32_t begin, uint32_t length);
/* The 5 bytes before a bitfield of `nbytes` bytes. */
size_t wire_put_bitfield_header(uint8_t out[5], uint32_t nbytes);
/* BEP 5: our DHT port. */
size_t wire_put_port(uint8_t out[7], uint16_t port);
/* BEP 10: the 6 bytes before an extended message's `nbytes` bencoded payload. */
size_t wire_put_extended_header(uint8_t out[6], uint8_t ext_id, uint32_t nbytes);

/*
 * BEP 52: hash_request, hashes or hash_reject for the 48-byte request req
 * (as received), followed (hashes) by nhashes 32-byte hashes the caller
 * sends after it.
 */
size_t wire_put_hash_header(uint8_t out[53], enum wire_id id, const uint8_t req[48],
			    uint32_t nhashes);

/* --- BEP 10 extended handshake --- */

#define WIRE_EXT_HANDSHAKE_ID 0 /* BEP 10: extended message id 0 is the handshake */

/* Every field's zero value leaves its key out, except "m", which is always sent. */
struct wire_ext_handshake {
	const char *client;    /* "v", e.g. "ringseed 0.1"; NULL = omit */
	uint32_t reqq;	       /* how many outstanding requests we accept; 0 = omit */
	uint16_t listen_port;  /* "p", 0 = omit */
	int64_t metadata_size; /* BEP 9, 0 = omit; negative is -EINVAL */
	const uint8_t *yourip; /* 4 or 16 bytes (else -EINVAL), NULL = omit */
	size_t yourip_len;
	bool upload_only;    /* BEP 21 "upload_only": 1 for a seeder */
	uint8_t ut_metadata; /* our id for BEP 9 ut_metadata in "m"; 0 = omit */
	uint8_t ut_pex;	     /* our id for BEP 11 ut_pex in "m"; 0 = omit */
};

/* A cap that always suffices when client is at most 127 bytes (every field set: 288). */
#define WIRE_EXT_HANDSHAKE_CAP 320

/*
 * Writes the whole message (length prefix, id 20, extended id 0, bencoded
 * dictionary) and returns its size, or -ENOSPC when cap is too small (out is
 * then unspecified, but nothing past cap is written), or -EINVAL for a field
 * out of range.
 */
ssize_t wire_put_ext_handshake(uint8_t *out, size_t cap, const struct wire_ext_handshake *hs);

/* --- decoder --- */

/*
 *                 4-byte prefix = 0: KEEPALIVE
 *        +------------------------------------------+
 *        v                                          |
 *   HEADER: collect prefix, id, fixed fields -------+--> ERROR (sticky)
 *        |       |    prefix > max_msg, or a size the id does not allow
 *        |       +--> fixed-size message complete: MSG, back to HEADER
 *        v
 *   variable id (or unknown id): BEGIN
 *   BODY: DATA ... DATA (chunks of the input), then END, back to HEADER
 */
enum wire_dec_state {
	WIRE_DEC_HEADER, /* collecting a length prefix, id and fixed fields into hdr */
	WIRE_DEC_BODY,	 /* BEGIN given: body_left payload bytes still to hand out */
	WIRE_DEC_ERROR,	 /* a framing error was found; every call repeats it */
};

struct wire_dec {
	uint8_t hdr[17]; /* length prefix + id + up to 12 bytes of fixed fields */
	uint8_t hdr_len;
	uint8_t state;	    /* enum wire_dec_state */
	uint8_t id;	    /* the current message's id */
	uint32_t msg_len;   /* the current message's length prefix */
	uint32_t body_left; /* variable payload bytes still to hand out */
	uint32_t max_msg;   /* set by wire_dec_init: longest message accepted */
	char why[56];	    /* the error's text, once in WIRE_DEC_ERROR */
};

enum wire_ev {
	WIRE_EV_NONE,	   /* need more input; everything given was consumed */
	WIRE_EV_KEEPALIVE, /* a zero length prefix */
	WIRE_EV_MSG,	   /* a complete fixed-size message: see ev->id and fields */
	WIRE_EV_BEGIN,	   /* a variable message starts: ev->id, ev->len (payload after the id) */
	WIRE_EV_DATA,	   /* ev->data, ev->data_len: next chunk of that payload */
	WIRE_EV_END,	   /* that payload is complete */
	WIRE_EV_ERROR,	   /* ev->why says what; the connection must be dropped */
};

/*
 * Fixed-size messages (each must have exactly this length prefix):
 *   choke, unchoke, interested, not_interested, have_all, have_none   1
 *   have, suggest, allowed_fast (ev->piece)                           5
 *   request, cancel, reject (ev->piece, ev->begin, ev->length)       13
 *   port (ev->piece = the port)                                       3
 * Variable messages, as BEGIN / DATA... / END (payload = after the id):
 *   bitfield (any length, 0 too), piece (at least index + begin: 8),
 *   extended (at least the extended id: 1), hash_request and hash_reject
 *   (exactly 48), hashes (at least 48), and every unknown id (any length),
 *   which BEP 3 says to ignore: the caller skips its DATA.
 */
struct wire_event {
	enum wire_ev type;
	uint8_t id;   /* MSG, BEGIN, DATA, END, ERROR (0 if refused by its length prefix) */
	uint32_t len; /* BEGIN, DATA, END: payload length (excluding the id byte) */
	uint32_t piece, begin, length; /* MSG, as listed above; otherwise 0 */
	const uint8_t *data;	       /* DATA: points into the input given to wire_decode() */
	uint32_t data_len;	       /* DATA: at least 1 */
	/* ERROR: e.g. "request message with length 14"; in the decoder until wire_dec_init() */
	const char *why;
};

/*
 * max_msg: the longest length prefix accepted; longer is an ERROR ("message
 * length 2147483648 over limit 1048576"). It must cover what the caller
 * expects to receive: a bitfield of N pieces has the prefix 1 + (N + 7) / 8,
 * a piece message 9 + its block length, and hash messages 49 and more.
 */
void wire_dec_init(struct wire_dec *d, uint32_t max_msg);

/*
 * Consumes from *p (advancing it) up to end, stopping after one event. Call in
 * a loop until it returns WIRE_EV_NONE, which it does only with *p == end. END
 * consumes no input, so it can come after the input ran out. After
 * WIRE_EV_ERROR the decoder stays in error: every further call returns the
 * same error and consumes nothing.
 */
enum wire_ev wire_decode(struct wire_dec *d, const uint8_t **p, const uint8_t *end,
			 struct wire_event *ev);

#endif
