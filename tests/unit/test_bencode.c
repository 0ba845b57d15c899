/*
 * test_bencode.c - the BEP 3 decoder accepts exactly canonical bencoding, the
 * walkers find what it accepted, and the encoder writes only what the decoder
 * accepts, never past its buffer.
 */
#include <errno.h>
#include <time.h>

#include <openssl/sha.h>

#include "proto/bencode.h"
#include "tests/unit/test.h"

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

static int parse(const char *s, unsigned flags, struct bc_val *v, struct bc_err *err)
{
	return bc_parse((const uint8_t *)s, strlen(s), flags, v, err);
}

/*
 * Expects s to be refused with -EINVAL, err.what containing why and err.offset
 * equal to off (off == SIZE_MAX: anywhere inside the input or at its end).
 */
static void bad_at(int line, const void *s, size_t n, unsigned flags, size_t off, const char *why)
{
	struct bc_val v;
	struct bc_err err;
	int rc = bc_parse(s, n, flags, &v, &err);
	bool ok = rc == -EINVAL && err.what && (why == NULL || strstr(err.what, why)) &&
		  (off == SIZE_MAX ? err.offset <= n : err.offset == off);

	test_checks++;
	if (ok)
		return;
	test_failures++;
	fprintf(stderr, "%s:%d: ", __FILE__, line);
	show(s, n);
	fprintf(stderr, " flags %u: rc %d what \"%s\" offset %zu; expected -EINVAL \"%s\" at %zu\n",
		flags, rc, err.what ? err.what : "(null)", err.offset, why ? why : "*", off);
}

/* Expects s to parse as one value of the given type spanning all of s. */
static bool good_at(int line, const void *s, size_t n, unsigned flags, enum bc_type type,
		    struct bc_val *v)
{
	struct bc_err err;
	int rc = bc_parse(s, n, flags, v, &err);
	bool ok = rc == 0 && !err.what && err.offset == n && v->type == type &&
		  v->raw == (const uint8_t *)s && v->raw_len == n;

	test_checks++;
	if (ok)
		return true;
	test_failures++;
	fprintf(stderr, "%s:%d: ", __FILE__, line);
	show(s, n);
	fprintf(stderr, " flags %u: rc %d what \"%s\" offset %zu type %d; expected type %d\n",
		flags, rc, err.what ? err.what : "(null)", err.offset, rc ? 0 : (int)v->type,
		(int)type);
	return false;
}

/* sizeof - 1 so that literals may hold NUL bytes. */
#define BAD(s, flags, off, why) bad_at(__LINE__, s, sizeof(s) - 1, flags, off, why)
#define GOOD(s, flags, type, v) good_at(__LINE__, s, sizeof(s) - 1, flags, type, v)

static void test_valid_scalars(void)
{
	struct bc_val v;

	if (GOOD("i0e", 0, BC_INT, &v))
		CHECK_EQ_INT(v.num, 0);
	if (GOOD("i-1e", 0, BC_INT, &v))
		CHECK_EQ_INT(v.num, -1);
	if (GOOD("i42e", 0, BC_INT, &v))
		CHECK_EQ_INT(v.num, 42);
	if (GOOD("i9223372036854775807e", 0, BC_INT, &v))
		CHECK(v.num == INT64_MAX);
	if (GOOD("i-9223372036854775808e", 0, BC_INT, &v))
		CHECK(v.num == INT64_MIN);
	if (GOOD("0:", 0, BC_STR, &v)) {
		CHECK_EQ_INT(v.str_len, 0);
		CHECK(v.str == v.raw + 2);
	}
	if (GOOD("5:a\0b\0c", 0, BC_STR, &v)) {
		CHECK_EQ_INT(v.str_len, 5);
		CHECK(memcmp(v.str, "a\0b\0c", 5) == 0);
	}
	if (GOOD("10:0123456789", 0, BC_STR, &v)) {
		CHECK_EQ_INT(v.str_len, 10);
		CHECK(memcmp(v.str, "0123456789", 10) == 0);
	}
	GOOD("le", 0, BC_LIST, &v);
	GOOD("de", 0, BC_DICT, &v);
	GOOD("llleee", 0, BC_LIST, &v);
	GOOD("ld0:lee0:dee", 0, BC_LIST, &v);
	GOOD("d0:0:e", 0, BC_DICT, &v);
	GOOD("d1:a0:2:ab0:e", 0, BC_DICT, &v);
	GOOD("d1:ai1e1:bi2e1:ci3ee", 0, BC_DICT, &v);
	/* Keys compare as unsigned bytes: 0xff sorts after 'a'. */
	GOOD("d1:a0:1:\3770:e", 0, BC_DICT, &v);
	GOOD("d1:\0000:1:\0010:e", 0, BC_DICT, &v);
	GOOD("d3:cowd3:mooi4ee4:spaml1:a1:bee", 0, BC_DICT, &v);
}

static void test_malformed(void)
{
	BAD("", 0, 0, "empty");
	BAD("5:abc", 0, 0, "past the end");
	BAD("1:", 0, 0, "past the end");
	BAD("99999999999999999999:x", 0, 0, "too many digits");
	BAD("0000000000000000000000:", 0, 0, "too many digits");
	BAD("1", 0, 0, "truncated");
	BAD("1x", 0, 0, "':'");
	BAD("03:abc", 0, 0, "leading zero");
	BAD("00:", 0, 0, "leading zero");
	BAD("i01e", 0, 0, "leading zero");
	BAD("i-01e", 0, 0, "leading zero");
	BAD("i00e", 0, 0, "leading zero");
	BAD("i0000000000000000000000000e", 0, 0, "leading zero");
	BAD("i-0e", 0, 0, "negative zero");
	BAD("ie", 0, 0, "no digits");
	BAD("i-e", 0, 0, "no digits");
	BAD("i+1e", 0, 0, "no digits");
	BAD("i 1e", 0, 0, "no digits");
	BAD("i--1e", 0, 0, "no digits");
	BAD("i1", 0, 0, "truncated");
	BAD("i", 0, 0, "truncated");
	BAD("i-", 0, 0, "truncated");
	BAD("i1-e", 0, 0, "'e'");
	BAD("i1.5e", 0, 0, "'e'");
	BAD("i9223372036854775808e", 0, 0, "64 bits");
	BAD("i-9223372036854775809e", 0, 0, "64 bits");
	BAD("i18446744073709551616e", 0, 0, "64 bits");
	BAD("i123456789012345678901234567890e", 0, 0, "64 bits");
	BAD("i-123456789012345678901234567890e", 0, 0, "64 bits");
	BAD("x", 0, 0, "value should start");
	BAD("e", 0, 0, "value should start");
	BAD("-1:a", 0, 0, "value should start");
	BAD(":a", 0, 0, "value should start");
	BAD("\0", 0, 0, "value should start");
	BAD("lxe", 0, 1, "value should start");
	BAD("d1:ax1:b0:e", 0, 4, "value should start");
	BAD("l", 0, 1, "truncated");
	BAD("li1e", 0, 4, "truncated");
	BAD("d", 0, 1, "truncated");
	BAD("d1:a", 0, 4, "truncated");
	BAD("l5:abce", 0, 1, "past the end");
	/* Keys must be strings. */
	BAD("di1e0:e", 0, 1, "not a string");
	BAD("dlee0:e", 0, 1, "not a string");
	BAD("ddee0:e", 0, 1, "not a string");
	BAD("d1:a0:i1e0:e", 0, 6, "not a string");
	BAD("dxe", 0, 1, "not a string");
	/* A key without a value. */
	BAD("d1:ae", 0, 4, "no value");
	BAD("d1:a0:1:be", 0, 9, "no value");
	BAD("ld1:aee", 0, 5, "no value");
	/* Trailing bytes: refused, and where the value ended is reported. */
	BAD("i1ex", 0, 3, "trailing");
	BAD("i1ei2e", 0, 3, "trailing");
	BAD("0:0:", 0, 2, "trailing");
	BAD("lee", 0, 2, "trailing");
	BAD("de\n", 0, 2, "trailing");
	BAD("i1e\0", 0, 3, "trailing");
	/* ALLOW_TRAILING does not rescue a broken value. */
	BAD("li1e", BC_ALLOW_TRAILING, 4, "truncated");
	BAD("i01ex", BC_ALLOW_TRAILING, 0, "leading zero");
	BAD("", BC_ALLOW_TRAILING | BC_ALLOW_UNSORTED, 0, "empty");
}

static void test_trailing_allowed(void)
{
	struct bc_val v;
	struct bc_err err;

	CHECK_EQ_INT(parse("i1ex", BC_ALLOW_TRAILING, &v, &err), 0);
	CHECK(err.what == NULL);
	CHECK_EQ_INT(err.offset, 3);
	CHECK_EQ_INT(v.type, BC_INT);
	CHECK_EQ_INT(v.num, 1);
	CHECK_EQ_INT(v.raw_len, 3);

	CHECK_EQ_INT(parse("d1:ali1ei2eee garbage", BC_ALLOW_TRAILING, &v, &err), 0);
	CHECK_EQ_INT(err.offset, 13);
	CHECK_EQ_INT(v.type, BC_DICT);
	CHECK_EQ_INT(v.raw_len, 13);

	CHECK_EQ_INT(parse("4:spamxyz", BC_ALLOW_TRAILING, &v, &err), 0);
	CHECK_EQ_INT(err.offset, 6);
	CHECK_EQ_INT(v.str_len, 4);

	/* Without trailing bytes the flag changes nothing. */
	CHECK_EQ_INT(parse("le", BC_ALLOW_TRAILING, &v, &err), 0);
	CHECK_EQ_INT(err.offset, 2);
}

/* Every proper prefix of a valid document is a truncated document. */
static void test_every_prefix(void)
{
	static const char doc[] =
		"d8:announce12:http://x/ann4:infod6:lengthi123456789e4:name5:a.txt"
		"12:piece lengthi16384e6:pieces20:\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09"
		"abcdefghij4:privi1ee4:listli-1e0:lel1:xede1:zi0ee6:nestedd1:ad1:bd1:cleeeee";
	const uint8_t *d = (const uint8_t *)doc;
	size_t len = sizeof(doc) - 1;
	struct bc_val v;
	struct bc_err err;
	int bad = 0;

	REQUIRE(bc_parse(d, len, 0, &v, &err) == 0);
	CHECK_EQ_INT(v.raw_len, len);
	for (size_t n = 0; n < len; n++) {
		for (unsigned flags = 0; flags < 4; flags++) {
			int rc = bc_parse(d, n, flags, &v, &err);
			bool ok = rc == -EINVAL && err.what && err.offset <= n &&
				  (strstr(err.what, "truncated") ||
				   strstr(err.what, "past the end") || strstr(err.what, "empty"));

			if (!ok && bad++ < 5) {
				fprintf(stderr,
					"prefix %zu flags %u: rc %d what \"%s\" offset %zu\n", n,
					flags, rc, err.what ? err.what : "(null)", err.offset);
			}
		}
	}
	CHECK_EQ_INT(bad, 0);
}

/* Writes n openers of "l" or "d1:a" then a leaf and n closers; returns the length. */
static size_t nest(char *buf, size_t cap, size_t n, bool dict)
{
	const char *open = dict ? "d1:a" : "l";
	size_t olen = strlen(open), len = 0;

	REQUIRE(n * (olen + 1) + 3 <= cap);
	for (size_t i = 0; i < n; i++) {
		memcpy(buf + len, open, olen);
		len += olen;
	}
	memcpy(buf + len, "i0e", 3);
	len += 3;
	memset(buf + len, 'e', n);
	return len + n;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_depth(void)
{
	static char buf[600000];
	struct bc_val v;
	size_t len;
	double t0;

	for (int dict = 0; dict < 2; dict++) {
		size_t olen = dict ? 4 : 1;

		len = nest(buf, sizeof(buf), BC_MAX_DEPTH, dict);
		good_at(__LINE__, buf, len, 0, dict ? BC_DICT : BC_LIST, &v);
		len = nest(buf, sizeof(buf), BC_MAX_DEPTH + 1, dict);
		bad_at(__LINE__, buf, len, 0, BC_MAX_DEPTH * olen, "too deep");
		bad_at(__LINE__, buf, len, BC_ALLOW_UNSORTED | BC_ALLOW_TRAILING,
		       BC_MAX_DEPTH * olen, "too deep");

		/* 100000 levels: refused at the limit, without recursion, at once. */
		len = nest(buf, sizeof(buf), 100000, dict);
		t0 = now();
		for (int i = 0; i < 100; i++)
			bad_at(__LINE__, buf, len, 0, BC_MAX_DEPTH * olen, "too deep");
		CHECK(now() - t0 < 1.0);
	}
	/* Only open containers count: a long flat list is fine. */
	for (size_t i = 0; i < 100000; i++)
		memcpy(buf + 1 + 2 * i, "le", 2);
	buf[0] = 'l';
	buf[200001] = 'e';
	good_at(__LINE__, buf, 200002, 0, BC_LIST, &v);
}

static void test_key_order(void)
{
	struct bc_val v;
	struct bc_err err;

	BAD("d1:b0:1:a0:e", 0, 6, "sorted order");
	BAD("d2:ab0:1:a0:e", 0, 7, "sorted order");
	BAD("d1:\3770:1:a0:e", 0, 6, "sorted order");
	BAD("ld1:b0:1:a0:ee", 0, 7, "sorted order");
	BAD("d1:a0:1:a0:e", 0, 6, "duplicate");
	BAD("d0:0:0:0:e", 0, 5, "duplicate");
	BAD("d1:a0:1:a0:e", BC_ALLOW_UNSORTED, 6, "duplicate");
	/* Non-adjacent duplicates can only hide in an unsorted dictionary. */
	BAD("d1:b0:1:a0:1:b0:e", BC_ALLOW_UNSORTED, 0, "duplicate");
	BAD("l0:d1:c0:1:a0:1:b0:1:a0:ee", BC_ALLOW_UNSORTED, 3, "duplicate");

	/* Accepted with the flag, and counted. */
	CHECK_EQ_INT(parse("d1:b0:1:a0:e", BC_ALLOW_UNSORTED, &v, &err), 0);
	CHECK_EQ_INT(err.unsorted, 1);
	CHECK_EQ_INT(err.unsorted_offset, 0);
	CHECK_EQ_INT(parse("li1ed1:b0:1:a0:ed1:z0:1:y0:1:x0:ee", BC_ALLOW_UNSORTED, &v, &err), 0);
	CHECK_EQ_INT(err.unsorted, 2);
	CHECK_EQ_INT(err.unsorted_offset, 4);
	CHECK_EQ_INT(parse("d1:ai1e1:bi2ee", BC_ALLOW_UNSORTED, &v, &err), 0);
	CHECK_EQ_INT(err.unsorted, 0);
	/* The walkers work on an unsorted dictionary too. */
	REQUIRE(parse("d1:ci3e1:ai1e1:bi2ee", BC_ALLOW_UNSORTED, &v, &err) == 0);
	for (int i = 0; i < 3; i++) {
		struct bc_val x;
		char key[2] = { (char)('a' + i), 0 };

		CHECK(bc_dict_get_type(&v, key, BC_INT, &x) && x.num == i + 1);
	}
}

/* Writes a dictionary of n keys "k000".."kNNN"; swaps the first two if unsorted. */
static size_t many_keys(char *buf, size_t cap, size_t n, bool unsorted, bool dup_last)
{
	size_t len = 0;

	buf[len++] = 'd';
	for (size_t i = 0; i < n; i++) {
		size_t k = i;

		if (unsorted && i < 2)
			k = 1 - i;
		if (dup_last && i == n - 1)
			k = n / 2;
		REQUIRE(len + 16 < cap);
		len += (size_t)snprintf(buf + len, cap - len, "5:k%04zui%zue", k, i);
	}
	buf[len++] = 'e';
	return len;
}

static void test_unsorted_cap(void)
{
	static char buf[65536];
	struct bc_val v;
	size_t len;

	len = many_keys(buf, sizeof(buf), BC_UNSORTED_MAX_KEYS, true, false);
	good_at(__LINE__, buf, len, BC_ALLOW_UNSORTED, BC_DICT, &v);
	bad_at(__LINE__, buf, len, 0, SIZE_MAX, "sorted order");
	len = many_keys(buf, sizeof(buf), BC_UNSORTED_MAX_KEYS + 1, true, false);
	bad_at(__LINE__, buf, len, BC_ALLOW_UNSORTED, SIZE_MAX, "too many keys");
	/* The cap is for unsorted dictionaries only. */
	len = many_keys(buf, sizeof(buf), 1000, false, false);
	good_at(__LINE__, buf, len, 0, BC_DICT, &v);
	good_at(__LINE__, buf, len, BC_ALLOW_UNSORTED, BC_DICT, &v);
	/* ... even when the disorder comes late. */
	len = many_keys(buf, sizeof(buf), 1000, false, true);
	bad_at(__LINE__, buf, len, BC_ALLOW_UNSORTED, SIZE_MAX, "too many keys");
	/* A duplicate far from its twin in a full unsorted dictionary. */
	len = many_keys(buf, sizeof(buf), BC_UNSORTED_MAX_KEYS, true, true);
	bad_at(__LINE__, buf, len, BC_ALLOW_UNSORTED, 0, "duplicate");
}

static void test_raw_spans(void)
{
	static const char doc[] = "d1:ad1:bli1ei2eee1:c3:xyz1:dle1:ede1:fi-7ee";
	struct bc_val root, a, b, c, x;
	struct bc_err err;
	uint8_t h1[SHA_DIGEST_LENGTH], h2[SHA_DIGEST_LENGTH];
	char copy[64];

	REQUIRE(parse(doc, 0, &root, &err) == 0);
	CHECK(root.raw == (const uint8_t *)doc);
	CHECK_EQ_INT(root.raw_len, strlen(doc));

	REQUIRE(bc_dict_get_type(&root, "a", BC_DICT, &a));
	CHECK(a.raw == (const uint8_t *)doc + 4);
	CHECK_EQ_INT(a.raw_len, strlen("d1:bli1ei2eee"));
	CHECK(memcmp(a.raw, "d1:bli1ei2eee", a.raw_len) == 0);
	/* The info-hash case: SHA-1 of the span equals SHA-1 of those bytes elsewhere. */
	memcpy(copy, "d1:bli1ei2eee", 13);
	SHA1(a.raw, a.raw_len, h1);
	SHA1((const uint8_t *)copy, 13, h2);
	CHECK(memcmp(h1, h2, sizeof(h1)) == 0);

	REQUIRE(bc_dict_get_type(&a, "b", BC_LIST, &b));
	CHECK(b.raw == (const uint8_t *)doc + 8);
	CHECK_EQ_INT(b.raw_len, 8);
	REQUIRE(bc_dict_get_type(&root, "c", BC_STR, &c));
	CHECK(c.raw == (const uint8_t *)doc + 20);
	CHECK_EQ_INT(c.raw_len, 5);
	CHECK(c.str == c.raw + 2);
	CHECK_EQ_INT(c.str_len, 3);
	REQUIRE(bc_dict_get(&root, "d", &x));
	CHECK(x.type == BC_LIST && x.raw == (const uint8_t *)doc + 28 && x.raw_len == 2);
	REQUIRE(bc_dict_get(&root, "e", &x));
	CHECK(x.type == BC_DICT && x.raw == (const uint8_t *)doc + 33 && x.raw_len == 2);
	REQUIRE(bc_dict_get(&root, "f", &x));
	CHECK(x.type == BC_INT && x.num == -7 && x.raw == (const uint8_t *)doc + 38);
	CHECK_EQ_INT(x.raw_len, 4);
}

static void test_walkers(void)
{
	struct bc_val root, v, k, l;
	struct bc_err err;
	struct bc_iter it;
	int n;

	REQUIRE(parse("d2:abi1e3:abci2e1:bl0:i3el1:xed1:ki4eee1:s4:spame", 0, &root, &err) == 0);
	CHECK(bc_dict_get(&root, "ab", &v) && v.type == BC_INT && v.num == 1);
	CHECK(bc_dict_get(&root, "abc", &v) && v.type == BC_INT && v.num == 2);
	CHECK(!bc_dict_get(&root, "a", &v));
	CHECK(!bc_dict_get(&root, "abcd", &v));
	CHECK(!bc_dict_get(&root, "", &v));
	CHECK(!bc_dict_get(&root, "zzz", &v));
	CHECK(bc_dict_get_type(&root, "s", BC_STR, &v) && bc_str_eq(&v, "spam"));
	CHECK(!bc_dict_get_type(&root, "s", BC_INT, &v));
	CHECK(!bc_dict_get_type(&root, "ab", BC_STR, &v));
	CHECK(!bc_dict_get_type(&root, "b", BC_DICT, &v));
	CHECK(!bc_dict_get_type(&root, "missing", BC_INT, &v));

	/* The list: four items of four types, in order. */
	REQUIRE(bc_dict_get_type(&root, "b", BC_LIST, &l));
	CHECK(!bc_dict_get(&l, "x", &v)); /* not a dictionary */
	bc_iter_init(&it, &l);
	n = 0;
	while (bc_next(&it, NULL, &v)) {
		static const enum bc_type want[] = { BC_STR, BC_INT, BC_LIST, BC_DICT };

		if (n < 4)
			CHECK_EQ_INT(v.type, want[n]);
		if (n == 1)
			CHECK_EQ_INT(v.num, 3);
		if (n == 3)
			CHECK(bc_dict_get_type(&v, "k", BC_INT, &k) && k.num == 4);
		n++;
	}
	CHECK_EQ_INT(n, 4);
	CHECK(!bc_next(&it, NULL, &v)); /* stays finished */

	/* The dictionary: keys in file order. */
	bc_iter_init(&it, &root);
	n = 0;
	while (bc_next(&it, &k, &v)) {
		static const char *const want[] = { "ab", "abc", "b", "s" };

		CHECK_EQ_INT(k.type, BC_STR);
		if (n < 4)
			CHECK(bc_str_eq(&k, want[n]));
		n++;
	}
	CHECK_EQ_INT(n, 4);

	/* Empty containers and scalars iterate as nothing. */
	REQUIRE(parse("le", 0, &l, &err) == 0);
	bc_iter_init(&it, &l);
	CHECK(!bc_next(&it, NULL, &v));
	REQUIRE(parse("de", 0, &l, &err) == 0);
	bc_iter_init(&it, &l);
	CHECK(!bc_next(&it, &k, &v));
	CHECK(!bc_dict_get(&l, "", &v));
	REQUIRE(parse("i5e", 0, &l, &err) == 0);
	bc_iter_init(&it, &l);
	CHECK(!bc_next(&it, NULL, &v));
	CHECK(!bc_dict_get(&l, "x", &v));
	REQUIRE(parse("2:de", 0, &l, &err) == 0);
	bc_iter_init(&it, &l);
	CHECK(!bc_next(&it, NULL, &v));
}

static void test_str_eq(void)
{
	struct bc_val v;
	struct bc_err err;

	REQUIRE(parse("3:abc", 0, &v, &err) == 0);
	CHECK(bc_str_eq(&v, "abc"));
	CHECK(!bc_str_eq(&v, "ab"));
	CHECK(!bc_str_eq(&v, "abcd"));
	CHECK(!bc_str_eq(&v, "abd"));
	CHECK(!bc_str_eq(&v, ""));
	REQUIRE(parse("0:", 0, &v, &err) == 0);
	CHECK(bc_str_eq(&v, ""));
	CHECK(!bc_str_eq(&v, "a"));
	REQUIRE(bc_parse((const uint8_t *)"3:a\0b", 5, 0, &v, &err) == 0);
	CHECK(!bc_str_eq(&v, "a"));
	REQUIRE(parse("i1e", 0, &v, &err) == 0);
	CHECK(!bc_str_eq(&v, "1"));
	CHECK(!bc_str_eq(&v, "i1e"));
	REQUIRE(parse("l1:ae", 0, &v, &err) == 0);
	CHECK(!bc_str_eq(&v, "a"));
}

/* Emits v through the encoder, walking containers; depth is bounded by bc_parse(). */
static void reencode(struct bc_enc *e, const struct bc_val *v)
{
	struct bc_iter it;
	struct bc_val k, x;

	switch (v->type) {
	case BC_INT:
		bc_enc_int(e, v->num);
		break;
	case BC_STR:
		bc_enc_str(e, v->str, v->str_len);
		break;
	case BC_LIST:
	case BC_DICT:
		if (v->type == BC_LIST)
			bc_enc_list(e);
		else
			bc_enc_dict(e);
		bc_iter_init(&it, v);
		while (bc_next(&it, &k, &x)) {
			if (v->type == BC_DICT)
				bc_enc_str(e, k.str, k.str_len);
			reencode(e, &x);
		}
		bc_enc_end(e);
		break;
	}
}

/* Expects what e holds to finish with want_len bytes equal to want and to parse strictly. */
static void enc_expect(int line, struct bc_enc *e, const char *want, size_t want_len)
{
	ssize_t n = bc_enc_finish(e);
	struct bc_val v;
	struct bc_err err;

	test_checks++;
	if (n == (ssize_t)want_len && memcmp(e->buf, want, want_len) == 0 &&
	    bc_parse(e->buf, (size_t)n, 0, &v, &err) == 0 && v.raw_len == (size_t)n)
		return;
	test_failures++;
	fprintf(stderr, "%s:%d: encoder gave %zd ", __FILE__, line, n);
	if (n > 0)
		show(e->buf, (size_t)n);
	fprintf(stderr, ", expected ");
	show(want, want_len);
	fputc('\n', stderr);
}

#define ENC_EXPECT(e, want) enc_expect(__LINE__, e, want, sizeof(want) - 1)

static void test_encoder_values(void)
{
	uint8_t buf[256];
	struct bc_enc e;

	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_int(&e, INT64_MIN);
	ENC_EXPECT(&e, "i-9223372036854775808e");
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_int(&e, INT64_MAX);
	ENC_EXPECT(&e, "i9223372036854775807e");
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_int(&e, 0);
	ENC_EXPECT(&e, "i0e");
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_int(&e, -1);
	ENC_EXPECT(&e, "i-1e");
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_str(&e, "", 0);
	ENC_EXPECT(&e, "0:");
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_str(&e, "a\0b", 3);
	ENC_EXPECT(&e, "3:a\0b");
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_cstr(&e, "0123456789ab");
	ENC_EXPECT(&e, "12:0123456789ab");
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_list(&e);
	bc_enc_end(&e);
	ENC_EXPECT(&e, "le");
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_dict(&e);
	bc_enc_end(&e);
	ENC_EXPECT(&e, "de");

	/* Keys: empty first, prefixes before longer keys, bytes unsigned. */
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "");
	bc_enc_int(&e, 0);
	bc_enc_cstr(&e, "a");
	bc_enc_list(&e);
	bc_enc_end(&e);
	bc_enc_cstr(&e, "ab");
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "z"); /* the inner dictionary has its own order */
	bc_enc_int(&e, 1);
	bc_enc_end(&e);
	bc_enc_cstr(&e, "b");
	bc_enc_raw(&e, "li1ee", 5);
	bc_enc_cstr(&e, "\xff");
	bc_enc_cstr(&e, "x");
	bc_enc_end(&e);
	ENC_EXPECT(&e, "d0:i0e1:ale2:abd1:zi1ee1:bli1ee1:\3771:xe");
}

/* One fixed document through every encoder call; returns bc_enc_finish(). */
static ssize_t build_doc(struct bc_enc *e, uint8_t *buf, size_t cap)
{
	bc_enc_init(e, buf, cap);
	bc_enc_dict(e);
	bc_enc_cstr(e, "announce");
	bc_enc_cstr(e, "http://tracker.example/announce");
	bc_enc_cstr(e, "info");
	bc_enc_dict(e);
	bc_enc_cstr(e, "length");
	bc_enc_int(e, INT64_MAX);
	bc_enc_cstr(e, "name");
	bc_enc_str(e, "n\0m", 3);
	bc_enc_cstr(e, "nums");
	bc_enc_list(e);
	bc_enc_int(e, INT64_MIN);
	bc_enc_int(e, 0);
	bc_enc_list(e);
	bc_enc_end(e);
	bc_enc_dict(e);
	bc_enc_end(e);
	bc_enc_end(e);
	bc_enc_end(e);
	bc_enc_cstr(e, "raw");
	bc_enc_raw(e, "d1:ai1ee", 8);
	bc_enc_end(e);
	return bc_enc_finish(e);
}

static void test_encoder_enospc(void)
{
	uint8_t full[512], arr[512 + 64];
	struct bc_enc e;
	ssize_t len = build_doc(&e, full, sizeof(full));
	struct bc_val v;
	struct bc_err err;
	int overflow = 0, wrong = 0;

	REQUIRE(len > 0);
	CHECK(bc_parse(full, (size_t)len, 0, &v, &err) == 0);
	for (size_t cap = 0; cap < (size_t)len; cap++) {
		size_t at;

		memset(arr, 0xa5, sizeof(arr));
		if (build_doc(&e, arr, cap) != -ENOSPC || e.len > cap || e.err != -ENOSPC)
			wrong++;
		for (at = cap; at < sizeof(arr) && arr[at] == 0xa5; at++)
			;
		if (at != sizeof(arr))
			overflow++;
		if (memcmp(arr, full, e.len <= cap ? e.len : cap) != 0)
			wrong++;
	}
	CHECK_EQ_INT(overflow, 0);
	CHECK_EQ_INT(wrong, 0);
	/* Exactly enough room. */
	memset(arr, 0xa5, sizeof(arr));
	CHECK_EQ_INT(build_doc(&e, arr, (size_t)len), len);
	CHECK(memcmp(arr, full, (size_t)len) == 0);
	CHECK(arr[len] == 0xa5);

	/* Sticky: once full, nothing more is written, even what would fit. */
	bc_enc_init(&e, arr, 6);
	bc_enc_list(&e);
	bc_enc_cstr(&e, "abcdef");
	CHECK_EQ_INT(e.err, -ENOSPC);
	len = (ssize_t)e.len;
	CHECK(len <= 6);
	bc_enc_int(&e, 1);
	bc_enc_end(&e);
	CHECK_EQ_INT(e.len, len);
	CHECK_EQ_INT(bc_enc_finish(&e), -ENOSPC);
}

/* Expects e to have been refused as misuse, and to stay refused. */
static void enc_misuse(int line, struct bc_enc *e)
{
	size_t len = e->len;

	test_checks++;
	bc_enc_int(e, 7);
	bc_enc_list(e);
	bc_enc_end(e);
	if (bc_enc_finish(e) == -EINVAL && e->len == len)
		return;
	test_failures++;
	fprintf(stderr, "%s:%d: encoder misuse not refused: err %d len %zu (was %zu)\n", __FILE__,
		line, e->err, e->len, len);
}

#define ENC_MISUSE(e) enc_misuse(__LINE__, e)

static void test_encoder_key_misuse(void)
{
	uint8_t buf[256];
	struct bc_enc e;

	/* Keys out of order, and duplicates. */
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "b");
	bc_enc_int(&e, 1);
	bc_enc_cstr(&e, "a");
	bc_enc_int(&e, 2);
	bc_enc_end(&e);
	ENC_MISUSE(&e);
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "ab");
	bc_enc_int(&e, 1);
	bc_enc_cstr(&e, "a");
	ENC_MISUSE(&e);
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "a");
	bc_enc_int(&e, 1);
	bc_enc_cstr(&e, "a");
	ENC_MISUSE(&e);
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "");
	bc_enc_int(&e, 1);
	bc_enc_cstr(&e, "");
	ENC_MISUSE(&e);
	/* The order check survives a nested dictionary between the keys. */
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "m");
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "z");
	bc_enc_int(&e, 1);
	bc_enc_end(&e);
	bc_enc_cstr(&e, "c");
	ENC_MISUSE(&e);
}

static void test_encoder_structure_misuse(void)
{
	uint8_t buf[256];
	struct bc_enc e;

	/* Keys must be strings. */
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_dict(&e);
	bc_enc_int(&e, 1);
	ENC_MISUSE(&e);
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_dict(&e);
	bc_enc_list(&e);
	ENC_MISUSE(&e);
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_dict(&e);
	bc_enc_dict(&e);
	ENC_MISUSE(&e);
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_dict(&e);
	bc_enc_raw(&e, "1:a", 3);
	ENC_MISUSE(&e);

	/* A key without a value. */
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "a");
	bc_enc_end(&e);
	ENC_MISUSE(&e);

	/* Unbalanced end, unclosed containers, nothing at all. */
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_end(&e);
	ENC_MISUSE(&e);
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_list(&e);
	bc_enc_end(&e);
	bc_enc_end(&e);
	CHECK_EQ_INT(bc_enc_finish(&e), -EINVAL);
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_list(&e);
	bc_enc_int(&e, 1);
	CHECK_EQ_INT(bc_enc_finish(&e), -EINVAL);
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "a");
	bc_enc_list(&e);
	bc_enc_end(&e);
	CHECK_EQ_INT(bc_enc_finish(&e), -EINVAL);
	bc_enc_init(&e, buf, sizeof(buf));
	CHECK_EQ_INT(bc_enc_finish(&e), -EINVAL);
}

static void test_encoder_top_level(void)
{
	uint8_t buf[256];
	struct bc_enc e;

	/* Two top-level values. */
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_int(&e, 1);
	bc_enc_int(&e, 2);
	CHECK_EQ_INT(bc_enc_finish(&e), -EINVAL);
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_list(&e);
	bc_enc_end(&e);
	bc_enc_dict(&e);
	CHECK_EQ_INT(bc_enc_finish(&e), -EINVAL);
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_cstr(&e, "a");
	bc_enc_cstr(&e, "b");
	CHECK_EQ_INT(bc_enc_finish(&e), -EINVAL);
	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_raw(&e, "i1e", 3);
	bc_enc_raw(&e, "i2e", 3);
	CHECK_EQ_INT(bc_enc_finish(&e), -EINVAL);

	/* Depth: BC_MAX_DEPTH containers fit, one more does not. */
	bc_enc_init(&e, buf, sizeof(buf));
	for (int i = 0; i < BC_MAX_DEPTH; i++)
		bc_enc_list(&e);
	for (int i = 0; i < BC_MAX_DEPTH; i++)
		bc_enc_end(&e);
	CHECK_EQ_INT(bc_enc_finish(&e), 2 * BC_MAX_DEPTH);
	bc_enc_init(&e, buf, sizeof(buf));
	for (int i = 0; i <= BC_MAX_DEPTH; i++)
		bc_enc_list(&e);
	CHECK_EQ_INT(e.err, -EINVAL);
	CHECK_EQ_INT(e.len, BC_MAX_DEPTH);
}

static void test_round_trip(void)
{
	static const char doc[] =
		"d8:announce3:url7:comment0:4:infod5:filesld6:lengthi0e4:pathl1:aeed6:length"
		"i-9223372036854775808e4:pathl1:b1:ceee4:name3:\x00\xff\x01"
		"12:piece lengthi9223372036854775807eee";
	uint8_t out[sizeof(doc)];
	struct bc_val root;
	struct bc_err err;
	struct bc_enc e;

	REQUIRE(bc_parse((const uint8_t *)doc, sizeof(doc) - 1, 0, &root, &err) == 0);
	bc_enc_init(&e, out, sizeof(doc) - 1);
	reencode(&e, &root);
	CHECK_EQ_INT(bc_enc_finish(&e), sizeof(doc) - 1);
	CHECK(memcmp(out, doc, sizeof(doc) - 1) == 0);
}

/* xorshift64: deterministic, so a failure reproduces. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A random value; dictionary keys are made strictly increasing by construction. */
static void random_value(struct bc_enc *e, uint64_t *s, int depth)
{
	static const int64_t edge[] = { 0, 1, -1, INT64_MAX, INT64_MIN, 10, -10 };
	uint8_t bytes[24], key[16];
	size_t klen = 0, n;
	unsigned kind = (unsigned)(rnd(s) % (depth < 6 ? 4 : 2));

	switch (kind) {
	case 0:
		bc_enc_int(e, rnd(s) % 2 ? (int64_t)rnd(s) : edge[rnd(s) % 7]);
		break;
	case 1:
		n = rnd(s) % sizeof(bytes);
		for (size_t i = 0; i < n; i++)
			bytes[i] = (uint8_t)rnd(s);
		bc_enc_str(e, bytes, n);
		break;
	case 2:
		bc_enc_list(e);
		for (uint64_t i = rnd(s) % 5; i > 0; i--)
			random_value(e, s, depth + 1);
		bc_enc_end(e);
		break;
	default:
		bc_enc_dict(e);
		for (uint64_t i = rnd(s) % 6; i > 0; i--) {
			/* Longer than the last key, or its last byte raised. */
			if (klen < sizeof(key) &&
			    (klen == 0 || key[klen - 1] == 0xff || rnd(s) % 2))
				key[klen++] = (uint8_t)rnd(s);
			else if (key[klen - 1] != 0xff)
				key[klen - 1] += (uint8_t)(1 + rnd(s) % (0xffu - key[klen - 1]));
			else
				break; /* no greater key of at most sizeof(key) bytes */
			bc_enc_str(e, key, klen);
			random_value(e, s, depth + 1);
		}
		bc_enc_end(e);
		break;
	}
}

/* What the encoder writes parses strictly and walks back to the same bytes. */
static void test_encoder_random(void)
{
	static uint8_t buf[1 << 20], again[1 << 20];
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	int fails = 0, built = 0;

	for (int i = 0; i < 3000; i++) {
		struct bc_enc e;
		struct bc_val root;
		struct bc_err err;
		ssize_t n;

		bc_enc_init(&e, buf, sizeof(buf));
		random_value(&e, &seed, 0);
		n = bc_enc_finish(&e);
		if (n < 0) {
			if (fails++ < 3)
				fprintf(stderr, "random document %d: encoder said %zd\n", i, n);
			continue;
		}
		built++;
		if (bc_parse(buf, (size_t)n, 0, &root, &err) != 0) {
			if (fails++ < 3) {
				fprintf(stderr, "random document %d refused: %s at %zu: ", i,
					err.what, err.offset);
				show(buf, (size_t)n);
				fputc('\n', stderr);
			}
			continue;
		}
		bc_enc_init(&e, again, sizeof(again));
		reencode(&e, &root);
		if (bc_enc_finish(&e) != n || memcmp(again, buf, (size_t)n) != 0)
			fails++;
	}
	CHECK_EQ_INT(fails, 0);
	CHECK_EQ_INT(built, 3000);
}

int main(void)
{
	test_valid_scalars();
	test_malformed();
	test_trailing_allowed();
	test_every_prefix();
	test_depth();
	test_key_order();
	test_unsorted_cap();
	test_raw_spans();
	test_walkers();
	test_str_eq();
	test_encoder_values();
	test_encoder_enospc();
	test_encoder_key_misuse();
	test_encoder_structure_misuse();
	test_encoder_top_level();
	test_round_trip();
	test_encoder_random();
	return test_done("bencode");
}
