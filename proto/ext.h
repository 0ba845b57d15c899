/*
 * ext.h - what travels inside BEP 10 extended messages: the peer's extended
 * handshake (its "m" ids, "upload_only" of BEP 21, "p", "reqq", "v",
 * "metadata_size") and BEP 9 ut_metadata messages (request, data, reject).
 *
 * Our own extended handshake is written by wire_put_ext_handshake() in
 * wire.h; this file reads the peer's, and reads and writes ut_metadata.
 *
 * Every parser takes the payload after the extended id byte (as the wire
 * decoder hands it out) and the caller bounds its length. A refusal fills
 * struct ext_err with one line naming what was wrong and where. Keys the
 * parser does not know are skipped, as BEP 10 asks; a known key with the
 * wrong type or an impossible value is skipped too and counted, so one odd
 * client does not cost a connection.
 *
 * Pure: no syscalls, no allocation, no globals.
 */
#ifndef RINGSEED_EXT_H
#define RINGSEED_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EXT_META_PIECE	 (16u << 10) /* BEP 9: metadata is served in 16 KiB pieces */
#define EXT_CLIENT_MAX	 64	     /* "v" kept, NUL included; longer is cut */
#define EXT_META_HDR_CAP 96	     /* ext_put_meta_*() never write more */

/* BEP 9 msg_type values. */
enum ext_meta_type {
	EXT_META_REQUEST = 0,
	EXT_META_DATA = 1,
	EXT_META_REJECT = 2,
};

struct ext_err {
	char msg[96]; /* "ut_metadata: msg_type is not an integer", ... */
};

/* The peer's extended handshake; every field is 0 (or -1) when the key is absent. */
struct ext_peer_hs {
	uint8_t ut_metadata;	     /* the peer's id for BEP 9 messages we send it; 0 = none */
	uint8_t ut_pex;		     /* BEP 11, likewise */
	bool upload_only;	     /* BEP 21: the peer downloads nothing (a seed, mostly) */
	uint16_t port;		     /* "p": where the peer listens */
	uint32_t reqq;		     /* requests it lets us queue */
	int64_t metadata_size;	     /* -1 when absent */
	char client[EXT_CLIENT_MAX]; /* "v", bytes outside printable ASCII as '?' */
	unsigned skipped;	     /* known keys with a wrong type or value, skipped */
	const char *first_skipped;   /* the first of them (static text), NULL if none */
};

/*
 * Reads the bencoded dictionary of an extended handshake (BEP 10 message id
 * 0). Returns 0, or -EINVAL when it is not one whole bencoded dictionary
 * (unsorted keys are accepted: real clients send them).
 */
int ext_handshake_parse(const uint8_t *p, size_t n, struct ext_peer_hs *hs, struct ext_err *err);

/* A ut_metadata message: a bencoded dictionary, then (data only) the piece's bytes. */
struct ext_meta_msg {
	int64_t type;	     /* msg_type as sent; unknown ones are for the caller to ignore */
	int64_t piece;	     /* as sent, maybe out of range: the caller rejects it (BEP 9) */
	int64_t total_size;  /* data: the metadata size; -1 when absent */
	const uint8_t *data; /* the bytes after the dictionary, inside p */
	size_t data_len;
};

/*
 * Returns 0, or -EINVAL when p does not start with a bencoded dictionary
 * holding integers msg_type and piece.
 */
int ext_meta_parse(const uint8_t *p, size_t n, struct ext_meta_msg *m, struct ext_err *err);

/* How many 16 KiB pieces metadata of `size` bytes has, and how long piece i is (0 past the end). */
uint32_t ext_meta_pieces(uint64_t size);
uint32_t ext_meta_piece_len(uint64_t size, uint32_t piece);

/*
 * Each writes a whole extended message addressed to the peer's id `ext_id`
 * (length prefix, id 20, ext_id, dictionary) and returns its size, or
 * -ENOSPC when cap is too small (EXT_META_HDR_CAP always suffices), or
 * -EINVAL for a value out of range. ext_put_meta_data() writes the length
 * prefix for the dictionary and data_len bytes after it, but only the
 * dictionary: the caller appends the piece's bytes.
 */
ssize_t ext_put_meta_request(uint8_t *out, size_t cap, uint8_t ext_id, uint32_t piece);
ssize_t ext_put_meta_reject(uint8_t *out, size_t cap, uint8_t ext_id, int64_t piece);
ssize_t ext_put_meta_data(uint8_t *out, size_t cap, uint8_t ext_id, uint32_t piece,
			  uint64_t total_size, uint32_t data_len);

#endif
