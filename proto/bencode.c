/*
 * bencode.c - BEP 3 bencoding; see bencode.h for the contract.
 *
 * bc_parse() is one forward pass over the input with an explicit stack of
 * open containers (no recursion, so nesting costs no C stack). Each frame
 * remembers the previous dictionary key for the order check. Once a
 * document is validated, the walkers trust its structure but still never
 * step past the end of the value they were given.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/bencode.h"

/* At most 19 decimal digits always fit in int64_t / size_t. */
#define BC_MAX_DIGITS 19

struct bc_frame {
	const uint8_t *start; /* the 'l' or 'd' */
	bool dict;
	bool want_key; /* dict: the next item is a key */
	bool unsorted;
	const uint8_t *last_key;
	size_t last_key_len;
	size_t nkeys;
};

static int bc_fail(struct bc_err *err, const uint8_t *buf, const uint8_t *at, const char *what)
{
	err->offset = (size_t)(at - buf);
	err->what = what;
	return -EINVAL;
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/*
 * Reads "<len>:<bytes>" at *pp. On success advances *pp past the string and
 * returns NULL; otherwise returns the reason and leaves *pp at the fault.
 */
static const char *bc_read_str(const uint8_t **pp, const uint8_t *end, const uint8_t **s, size_t *n)
{
	const uint8_t *p = *pp, *digits = p;
	size_t len = 0;

	while (p < end && is_digit(*p)) {
		if (p - digits == BC_MAX_DIGITS)
			return "string length has too many digits";
		len = len * 10 + (size_t)(*p - '0');
		p++;
	}
	if (p == digits)
		return "expected a string length";
	if (p == end)
		return "truncated string length";
	if (*p != ':')
		return "string length not followed by ':'";
	if (digits[0] == '0' && p - digits > 1)
		return "string length has a leading zero";
	p++;
	if (len > (size_t)(end - p)) {
		*pp = digits;
		return "string runs past the end of the input";
	}
	*s = p;
	*n = len;
	*pp = p + len;
	return NULL;
}

/* Reads "i<digits>e" at *pp, the same way as bc_read_str(). */
static const char *bc_read_int(const uint8_t **pp, const uint8_t *end, int64_t *out)
{
	const uint8_t *p = *pp + 1, *digits;
	bool neg = false;
	uint64_t v = 0, limit;

	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	digits = p;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	while (p < end && is_digit(*p)) {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (limit - d) / 10)
			return "integer does not fit in 64 bits";
		v = v * 10 + d;
		p++;
	}
	if (p == digits)
		return p == end ? "truncated integer" : "integer has no digits";
	if (p == end)
		return "truncated integer";
	if (*p != 'e')
		return "integer not terminated by 'e'";
	if (digits[0] == '0' && p - digits > 1)
		return "integer has a leading zero";
	if (neg && v == 0)
		return "integer is negative zero";
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	*pp = p + 1;
	return NULL;
}

static int bc_keycmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

/*
 * Skips one value that starts at p; returns the byte after it, or NULL if the
 * value is malformed or does not end before end. Iterative: the depth is a
 * counter, not recursion.
 */
static const uint8_t *bc_skip(const uint8_t *p, const uint8_t *end)
{
	size_t depth = 0;
	const uint8_t *s;
	size_t n;
	int64_t v;

	do {
		if (p >= end)
			return NULL;
		switch (*p) {
		case 'i':
			if (bc_read_int(&p, end, &v))
				return NULL;
			break;
		case 'l':
		case 'd':
			depth++;
			p++;
			break;
		case 'e':
			if (depth == 0)
				return NULL;
			depth--;
			p++;
			break;
		default:
			if (bc_read_str(&p, end, &s, &n))
				return NULL;
			break;
		}
	} while (depth > 0);
	return p;
}

/* Decodes the value at p (which must end before end) into *out. */
static bool bc_decode_at(const uint8_t *p, const uint8_t *end, struct bc_val *out)
{
	const uint8_t *q = p, *next = bc_skip(p, end);

	if (!next)
		return false;
	memset(out, 0, sizeof(*out));
	out->raw = p;
	out->raw_len = (size_t)(next - p);
	switch (*p) {
	case 'i':
		out->type = BC_INT;
		return bc_read_int(&q, end, &out->num) == NULL;
	case 'l':
		out->type = BC_LIST;
		return true;
	case 'd':
		out->type = BC_DICT;
		return true;
	default:
		out->type = BC_STR;
		return bc_read_str(&q, end, &out->str, &out->str_len) == NULL;
	}
}

struct bc_key {
	const uint8_t *s;
	size_t n;
};

static int bc_key_qsort_cmp(const void *a, const void *b)
{
	const struct bc_key *x = a, *y = b;

	return bc_keycmp(x->s, x->n, y->s, y->n);
}

/*
 * An unsorted dictionary (allowed by BC_ALLOW_UNSORTED) can hide duplicates
 * that the adjacent-key check misses; sort a copy of its keys to find them.
 * The frame's key count is capped at BC_UNSORTED_MAX_KEYS while parsing.
 */
static bool bc_unsorted_has_dup(const uint8_t *start, const uint8_t *end)
{
	struct bc_key keys[BC_UNSORTED_MAX_KEYS];
	struct bc_val dict, k, v;
	struct bc_iter it;
	size_t n = 0;

	if (!bc_decode_at(start, end, &dict))
		return true;
	bc_iter_init(&it, &dict);
	while (n < BC_UNSORTED_MAX_KEYS && bc_next(&it, &k, &v)) {
		keys[n].s = k.str;
		keys[n].n = k.str_len;
		n++;
	}
	qsort(keys, n, sizeof(keys[0]), bc_key_qsort_cmp);
	for (size_t i = 1; i < n; i++) {
		if (bc_keycmp(keys[i - 1].s, keys[i - 1].n, keys[i].s, keys[i].n) == 0)
			return true;
	}
	return false;
}

/* A dictionary key at *pp for frame f: read it and check its order. */
static int bc_parse_key(const uint8_t *buf, const uint8_t **pp, const uint8_t *end,
			struct bc_frame *f, unsigned flags, struct bc_err *err)
{
	const uint8_t *p = *pp, *key;
	const char *why;
	size_t n;
	int c;

	if (!is_digit(*p))
		return bc_fail(err, buf, p, "dictionary key is not a string");
	why = bc_read_str(pp, end, &key, &n);
	if (why)
		return bc_fail(err, buf, *pp, why);
	if (f->last_key) {
		c = bc_keycmp(f->last_key, f->last_key_len, key, n);
		if (c == 0)
			return bc_fail(err, buf, p, "duplicate dictionary key");
		if (c > 0) {
			if (!(flags & BC_ALLOW_UNSORTED))
				return bc_fail(err, buf, p, "dictionary keys not in sorted order");
			if (!f->unsorted && err->unsorted++ == 0)
				err->unsorted_offset = (size_t)(f->start - buf);
			f->unsorted = true;
		}
	}
	if (++f->nkeys > BC_UNSORTED_MAX_KEYS && f->unsorted)
		return bc_fail(err, buf, p, "unsorted dictionary has too many keys to check");
	f->last_key = key;
	f->last_key_len = n;
	f->want_key = false;
	return 0;
}

/* Closes the innermost container at p (an 'e'). */
static int bc_parse_close(const uint8_t *buf, const uint8_t *p, const uint8_t *end,
			  struct bc_frame *f, struct bc_err *err)
{
	if (f->dict && !f->want_key)
		return bc_fail(err, buf, p, "dictionary key has no value");
	if (f->unsorted && bc_unsorted_has_dup(f->start, end))
		return bc_fail(err, buf, f->start, "duplicate dictionary key");
	return 0;
}

int bc_parse(const uint8_t *buf, size_t len, unsigned flags, struct bc_val *root,
	     struct bc_err *err)
{
	struct bc_frame stack[BC_MAX_DEPTH];
	const uint8_t *p = buf, *end = buf + len, *s;
	unsigned depth = 0;
	const char *why;
	size_t n;
	int64_t v;
	int rc;

	memset(err, 0, sizeof(*err));
	if (len == 0)
		return bc_fail(err, buf, p, "empty input");
	for (;;) {
		struct bc_frame *f = depth ? &stack[depth - 1] : NULL;

		if (p == end)
			return bc_fail(err, buf, p,
				       f ? "truncated: container not closed" : "truncated input");
		if (f && *p == 'e') {
			rc = bc_parse_close(buf, p, p + 1, f, err);
			if (rc)
				return rc;
			p++;
			if (--depth == 0)
				break;
			if (stack[depth - 1].dict)
				stack[depth - 1].want_key = true;
			continue;
		}
		if (f && f->dict && f->want_key) {
			rc = bc_parse_key(buf, &p, end, f, flags, err);
			if (rc)
				return rc;
			continue;
		}
		switch (*p) {
		case 'l':
		case 'd':
			if (depth == BC_MAX_DEPTH)
				return bc_fail(err, buf, p, "nesting too deep");
			stack[depth] = (struct bc_frame){ .start = p,
							  .dict = *p == 'd',
							  .want_key = *p == 'd' };
			depth++;
			p++;
			continue;
		case 'i':
			why = bc_read_int(&p, end, &v);
			break;
		default:
			why = is_digit(*p) ? bc_read_str(&p, end, &s, &n)
					   : "unexpected byte where a value should start";
			break;
		}
		if (why)
			return bc_fail(err, buf, p, why);
		if (depth == 0)
			break;
		if (f->dict)
			f->want_key = true;
	}
	err->offset = (size_t)(p - buf);
	if (p != end && !(flags & BC_ALLOW_TRAILING))
		return bc_fail(err, buf, p, "trailing bytes after the value");
	if (!bc_decode_at(buf, p, root))
		return bc_fail(err, buf, buf, "internal: validated value did not decode");
	return 0;
}

void bc_iter_init(struct bc_iter *it, const struct bc_val *c)
{
	it->dict = c->type == BC_DICT;
	if (c->type != BC_LIST && c->type != BC_DICT) {
		it->p = it->end = NULL;
		return;
	}
	/* Between the opening byte and the closing 'e'. */
	it->p = c->raw + 1;
	it->end = c->raw + c->raw_len - 1;
}

bool bc_next(struct bc_iter *it, struct bc_val *key, struct bc_val *val)
{
	struct bc_val k;

	if (!it->p || it->p >= it->end)
		return false;
	if (it->dict) {
		if (!bc_decode_at(it->p, it->end, &k) || k.type != BC_STR)
			return false;
		it->p += k.raw_len;
		if (key)
			*key = k;
	}
	if (!bc_decode_at(it->p, it->end, val))
		return false;
	it->p += val->raw_len;
	return true;
}

bool bc_str_eq(const struct bc_val *v, const char *s)
{
	size_t n = strlen(s);

	return v->type == BC_STR && v->str_len == n && memcmp(v->str, s, n) == 0;
}

bool bc_dict_get(const struct bc_val *dict, const char *key, struct bc_val *out)
{
	struct bc_iter it;
	struct bc_val k, v;

	if (dict->type != BC_DICT)
		return false;
	bc_iter_init(&it, dict);
	while (bc_next(&it, &k, &v)) {
		if (bc_str_eq(&k, key)) {
			*out = v;
			return true;
		}
	}
	return false;
}

bool bc_dict_get_type(const struct bc_val *dict, const char *key, enum bc_type type,
		      struct bc_val *out)
{
	struct bc_val v;

	if (!bc_dict_get(dict, key, &v) || v.type != type)
		return false;
	*out = v;
	return true;
}

/* --- encoder --- */

void bc_enc_init(struct bc_enc *e, uint8_t *buf, size_t cap)
{
	e->buf = buf;
	e->cap = cap;
	e->len = 0;
	e->err = 0;
	e->depth = 0;
}

static void bc_put(struct bc_enc *e, const void *p, size_t n)
{
	if (e->err)
		return;
	if (n > e->cap - e->len) {
		e->err = -ENOSPC;
		return;
	}
	if (n == 0)
		return; /* p may be NULL for an empty string */
	memcpy(e->buf + e->len, p, n);
	e->len += n;
}

/*
 * Called before every value. Inside a dictionary a value must follow a key;
 * is_key says the caller is writing a string that may be that key.
 * Returns true if the caller should go on writing.
 */
static bool bc_enc_begin_item(struct bc_enc *e, bool is_key_candidate)
{
	if (e->err)
		return false;
	if (e->depth == 0) {
		if (e->len != 0) /* a second top-level value */
			e->err = -EINVAL;
		return !e->err;
	}
	if (e->stack[e->depth - 1].dict && !e->stack[e->depth - 1].want_value && !is_key_candidate)
		e->err = -EINVAL; /* keys are strings */
	return !e->err;
}

/* After a value: inside a dictionary the next item is a key again. */
static void bc_enc_end_item(struct bc_enc *e)
{
	if (e->depth && e->stack[e->depth - 1].dict)
		e->stack[e->depth - 1].want_value = false;
}

void bc_enc_int(struct bc_enc *e, int64_t v)
{
	char tmp[24];
	size_t n = 0;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	char digits[21];
	size_t nd = 0;

	if (!bc_enc_begin_item(e, false))
		return;
	tmp[n++] = 'i';
	if (v < 0)
		tmp[n++] = '-';
	do {
		digits[nd++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	while (nd)
		tmp[n++] = digits[--nd];
	tmp[n++] = 'e';
	bc_put(e, tmp, n);
	bc_enc_end_item(e);
}

static void bc_enc_key_check(struct bc_enc *e, size_t key_off, size_t key_len)
{
	struct bc_enc_frame *f = &e->stack[e->depth - 1];

	if (f->has_key &&
	    bc_keycmp(e->buf + f->key_off, f->key_len, e->buf + key_off, key_len) >= 0) {
		e->err = -EINVAL; /* out of order or duplicate */
		return;
	}
	f->has_key = true;
	f->key_off = key_off;
	f->key_len = key_len;
	f->want_value = true;
}

void bc_enc_str(struct bc_enc *e, const void *s, size_t n)
{
	char hdr[24];
	size_t hn = 0, nd = 0, off;
	char digits[21];
	size_t u = n;
	bool is_key;

	if (!bc_enc_begin_item(e, true))
		return;
	is_key = e->depth && e->stack[e->depth - 1].dict && !e->stack[e->depth - 1].want_value;
	do {
		digits[nd++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	while (nd)
		hdr[hn++] = digits[--nd];
	hdr[hn++] = ':';
	bc_put(e, hdr, hn);
	off = e->len;
	bc_put(e, s, n);
	if (e->err)
		return;
	if (is_key)
		bc_enc_key_check(e, off, n);
	else
		bc_enc_end_item(e);
}

void bc_enc_cstr(struct bc_enc *e, const char *s)
{
	bc_enc_str(e, s, strlen(s));
}

static void bc_enc_open(struct bc_enc *e, bool dict)
{
	if (!bc_enc_begin_item(e, false))
		return;
	if (e->depth == BC_MAX_DEPTH) {
		e->err = -EINVAL;
		return;
	}
	bc_put(e, dict ? "d" : "l", 1);
	if (e->err)
		return;
	e->stack[e->depth].dict = dict;
	e->stack[e->depth].want_value = false;
	e->stack[e->depth].has_key = false;
	e->depth++;
}

void bc_enc_list(struct bc_enc *e)
{
	bc_enc_open(e, false);
}

void bc_enc_dict(struct bc_enc *e)
{
	bc_enc_open(e, true);
}

void bc_enc_end(struct bc_enc *e)
{
	if (e->err)
		return;
	if (e->depth == 0 || (e->stack[e->depth - 1].dict && e->stack[e->depth - 1].want_value)) {
		e->err = -EINVAL; /* nothing open, or a key without its value */
		return;
	}
	bc_put(e, "e", 1);
	if (e->err)
		return;
	e->depth--;
	bc_enc_end_item(e);
}

void bc_enc_raw(struct bc_enc *e, const void *raw, size_t n)
{
	if (!bc_enc_begin_item(e, false))
		return;
	bc_put(e, raw, n);
	bc_enc_end_item(e);
}

ssize_t bc_enc_finish(struct bc_enc *e)
{
	if (e->err)
		return e->err;
	if (e->depth != 0 || e->len == 0)
		return -EINVAL;
	return (ssize_t)e->len;
}
