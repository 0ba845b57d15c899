/*
 * fuzz_bencode.c - libFuzzer target for proto/bencode.
 *
 * Every input is parsed strictly and with BC_ALLOW_UNSORTED|BC_ALLOW_TRAILING.
 * What either accepts must walk cleanly: every span lies inside its parent,
 * the children of a container tile it exactly, keys are strings (in order when
 * sorted) that bc_dict_get() finds again. Walking also re-encodes the value;
 * the encoder must give back the input byte for byte, or refuse with -EINVAL
 * exactly when a dictionary was unsorted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/bencode.h"
#include "tests/fuzz/fuzz.h"

static int keycmp(const struct bc_val *a, const struct bc_val *b)
{
	int c = memcmp(a->str, b->str, a->str_len < b->str_len ? a->str_len : b->str_len);

	if (c)
		return c;
	return a->str_len < b->str_len ? -1 : a->str_len > b->str_len;
}

static void walk(const struct bc_val *v, const uint8_t *lo, const uint8_t *hi, unsigned depth,
		 bool sorted, struct bc_enc *e);

/* A key without NUL bytes can be looked up by name and must give back val. */
static void check_lookup(const struct bc_val *dict, const struct bc_val *key,
			 const struct bc_val *val)
{
	char name[64];
	struct bc_val got;

	if (key->str_len >= sizeof(name) || memchr(key->str, '\0', key->str_len))
		return;
	memcpy(name, key->str, key->str_len);
	name[key->str_len] = '\0';
	ASSERT(bc_str_eq(key, name));
	ASSERT(bc_dict_get(dict, name, &got));
	ASSERT(got.raw == val->raw && got.raw_len == val->raw_len && got.type == val->type);
	ASSERT(bc_dict_get_type(dict, name, val->type, &got));
	ASSERT(!bc_dict_get_type(dict, name, val->type == BC_INT ? BC_STR : BC_INT, &got));
}

static void walk_container(const struct bc_val *v, unsigned depth, bool sorted, struct bc_enc *e)
{
	const uint8_t *p = v->raw + 1, *end = v->raw + v->raw_len - 1;
	bool dict = v->type == BC_DICT, have_prev = false;
	struct bc_val key, val, prev;
	struct bc_iter it;
	size_t count = 0;

	ASSERT(*end == 'e');
	if (dict)
		bc_enc_dict(e);
	else
		bc_enc_list(e);
	bc_iter_init(&it, v);
	while (bc_next(&it, dict ? &key : NULL, &val)) {
		ASSERT(++count <= v->raw_len); /* every item takes at least two bytes */
		if (dict) {
			ASSERT(key.type == BC_STR && key.raw == p);
			p += key.raw_len;
			if (sorted && have_prev)
				ASSERT(keycmp(&prev, &key) < 0);
			prev = key;
			have_prev = true;
			bc_enc_str(e, key.str, key.str_len);
		}
		ASSERT(val.raw == p);
		walk(&val, v->raw + 1, end, depth + 1, sorted, e);
		p += val.raw_len;
		if (dict && count <= 16) /* each lookup scans the dictionary */
			check_lookup(v, &key, &val);
	}
	ASSERT(p == end);
	ASSERT(!bc_dict_get(v, "", &val) || dict);
	bc_enc_end(e);
}

/* Checks v, which must lie inside [lo, hi), and all below it; emits it to e. */
static void walk(const struct bc_val *v, const uint8_t *lo, const uint8_t *hi, unsigned depth,
		 bool sorted, struct bc_enc *e)
{
	struct bc_iter it;
	struct bc_val x;

	ASSERT(depth <= BC_MAX_DEPTH);
	ASSERT(v->raw >= lo && v->raw < hi && v->raw_len >= 2 &&
	       v->raw_len <= (size_t)(hi - v->raw));
	switch (v->type) {
	case BC_INT:
		ASSERT(v->raw[0] == 'i' && v->raw[v->raw_len - 1] == 'e');
		bc_iter_init(&it, v);
		ASSERT(!bc_next(&it, NULL, &x));
		bc_enc_int(e, v->num);
		break;
	case BC_STR:
		ASSERT(v->str > v->raw && v->str[-1] == ':');
		ASSERT(v->str + v->str_len == v->raw + v->raw_len);
		bc_enc_str(e, v->str, v->str_len);
		break;
	case BC_LIST:
		ASSERT(v->raw[0] == 'l');
		walk_container(v, depth, sorted, e);
		break;
	case BC_DICT:
		ASSERT(v->raw[0] == 'd');
		walk_container(v, depth, sorted, e);
		break;
	default:
		ASSERT(!"unknown type");
	}
}

/* Walks root (which spans data[0..len)) and re-encodes it. */
static void check_value(const uint8_t *data, size_t len, const struct bc_val *root, size_t unsorted)
{
	uint8_t *out = malloc(len);
	struct bc_enc e;
	ssize_t n;

	ASSERT(out);
	ASSERT(root->raw == data && root->raw_len == len);
	bc_enc_init(&e, out, len);
	walk(root, data, data + len, 0, unsorted == 0, &e);
	n = bc_enc_finish(&e);
	if (unsorted == 0) {
		ASSERT(n == (ssize_t)len);
		ASSERT(memcmp(out, data, len) == 0);
	} else {
		ASSERT(n == -EINVAL);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bc_val strict, relaxed, again;
	struct bc_err serr, rerr, aerr;
	int src = bc_parse(data, size, 0, &strict, &serr);
	int rrc = bc_parse(data, size, BC_ALLOW_UNSORTED | BC_ALLOW_TRAILING, &relaxed, &rerr);

	if (src) {
		ASSERT(src == -EINVAL && serr.what && serr.offset <= size);
	} else {
		ASSERT(!serr.what && serr.offset == size && serr.unsorted == 0);
		check_value(data, size, &strict, 0);
		/* The relaxed parse accepts the same value with nothing to report. */
		ASSERT(rrc == 0 && relaxed.raw_len == size && rerr.unsorted == 0);
	}
	if (rrc) {
		ASSERT(rrc == -EINVAL && rerr.what && rerr.offset <= size);
		return 0;
	}
	ASSERT(!rerr.what && rerr.offset == relaxed.raw_len && rerr.offset <= size);
	ASSERT(rerr.unsorted == 0 || rerr.unsorted_offset < rerr.offset);
	check_value(data, rerr.offset, &relaxed, rerr.unsorted);
	/* Without its trailing bytes and with sorted keys, the strict parse agrees. */
	if (rerr.unsorted == 0) {
		ASSERT(bc_parse(data, rerr.offset, 0, &again, &aerr) == 0);
		ASSERT(again.raw_len == rerr.offset);
	} else {
		ASSERT(bc_parse(data, rerr.offset, 0, &again, &aerr) == -EINVAL);
		ASSERT(strstr(aerr.what, "sorted"));
	}
	return 0;
}
