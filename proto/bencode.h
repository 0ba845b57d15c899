/*
 * bencode.h - BEP 3 bencoding: a strict in-place decoder and a bounded encoder.
 *
 * Decoding is two steps. bc_parse() validates a whole buffer once, without
 * allocating: every string length lies inside the input, integers are
 * canonical ("i0e", no leading zeros, no "-0") and fit in int64_t, nesting is
 * at most BC_MAX_DEPTH deep, dictionary keys are strings in strictly
 * increasing byte order (which also rules out duplicates), and nothing follows
 * the value. After that, struct bc_val names a value by its raw byte span
 * inside the caller's buffer, and the walkers below (bc_dict_get, bc_next)
 * decode lazily from that span. The buffer must outlive every bc_val taken
 * from it.
 *
 * The raw span is what makes the info-hash right: SHA-1 over
 * info.raw/info.raw_len is the hash of the info dictionary exactly as it
 * appears in the file.
 *
 * Encoding writes into a caller buffer through struct bc_enc. Errors are
 * sticky: after the first one every call is a no-op and bc_enc_finish()
 * returns it. The encoder refuses dictionary keys out of order, so what it
 * writes always parses back with bc_parse().
 *
 * Pure: no syscalls, no allocation, no globals.
 */
#ifndef RINGSEED_BENCODE_H
#define RINGSEED_BENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Deep enough for any real document (metainfo nests 5 levels). */
#define BC_MAX_DEPTH 64

/*
 * With BC_ALLOW_UNSORTED, dictionaries whose keys are out of order are
 * accepted and counted in bc_err.unsorted; duplicate keys are still refused.
 * An unsorted dictionary with more than BC_UNSORTED_MAX_KEYS keys is refused,
 * because checking it for duplicates costs a comparison per pair of keys.
 */
#define BC_ALLOW_UNSORTED 0x1u
/* Accept bytes after the value; bc_err.offset says where the value ended. */
#define BC_ALLOW_TRAILING    0x2u
#define BC_UNSORTED_MAX_KEYS 256

enum bc_type {
	BC_INT = 1,
	BC_STR,
	BC_LIST,
	BC_DICT,
};

struct bc_val {
	enum bc_type type;
	const uint8_t *raw; /* the whole encoding, from its first byte */
	size_t raw_len;
	const uint8_t *str; /* BC_STR: the string's bytes (not NUL-terminated) */
	size_t str_len;
	int64_t num; /* BC_INT */
};

struct bc_err {
	size_t offset;		/* where the error is (or where the value ended) */
	const char *what;	/* static text; NULL on success */
	size_t unsorted;	/* dictionaries accepted with unsorted keys */
	size_t unsorted_offset; /* where the first one found starts (inner before outer) */
};

/* Returns 0 and fills *root, or -EINVAL with err->what and err->offset. */
int bc_parse(const uint8_t *buf, size_t len, unsigned flags, struct bc_val *root,
	     struct bc_err *err);

/*
 * Lookup and iteration over a value bc_parse() accepted. bc_dict_get() finds
 * key in dict (first match); it returns false if absent or if dict is not a
 * dictionary. The typed forms also return false when the type differs.
 */
bool bc_dict_get(const struct bc_val *dict, const char *key, struct bc_val *out);
bool bc_dict_get_type(const struct bc_val *dict, const char *key, enum bc_type type,
		      struct bc_val *out);

/*
 * Iteration: bc_iter_init() on a list or dictionary, then bc_next() until it
 * returns false. For a list, *key is untouched (may be NULL).
 */
struct bc_iter {
	const uint8_t *p;
	const uint8_t *end;
	bool dict;
};

void bc_iter_init(struct bc_iter *it, const struct bc_val *container);
bool bc_next(struct bc_iter *it, struct bc_val *key, struct bc_val *val);

/* True when a BC_STR value equals the NUL-terminated s. */
bool bc_str_eq(const struct bc_val *v, const char *s);

/* --- encoder --- */

/*
 * Per open container: is it a dictionary, is a value due next, and where the
 * previous key is (offset and length inside buf) for the order check.
 */
struct bc_enc_frame {
	bool dict;
	bool want_value;
	bool has_key;
	size_t key_off;
	size_t key_len;
};

struct bc_enc {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err; /* 0, -ENOSPC (buffer too small) or -EINVAL (misuse) */
	unsigned depth;
	struct bc_enc_frame stack[BC_MAX_DEPTH];
};

void bc_enc_init(struct bc_enc *e, uint8_t *buf, size_t cap);
void bc_enc_int(struct bc_enc *e, int64_t v);
void bc_enc_str(struct bc_enc *e, const void *s, size_t n);
void bc_enc_cstr(struct bc_enc *e, const char *s);
void bc_enc_list(struct bc_enc *e);
void bc_enc_dict(struct bc_enc *e);
void bc_enc_end(struct bc_enc *e);
/* Appends an already-encoded value (e.g. a raw span from bc_parse()). */
void bc_enc_raw(struct bc_enc *e, const void *raw, size_t n);
/* The encoded length, or -ENOSPC / -EINVAL (including unclosed containers). */
ssize_t bc_enc_finish(struct bc_enc *e);

#endif
