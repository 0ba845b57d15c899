/*
 * test_mse.c - Message Stream Encryption: RC4 against published vectors; an
 * initiator against a receiver (every policy pair, pads from 0 to 512, bytes
 * split anywhere) agreeing on the torrent, the method, the IA and the
 * payload both ways; and every refusal, each with its own error.
 *
 * `test_mse bench [SECONDS]` times whole handshakes instead and prints the
 * receiver's handshakes per second of CPU time, and RC4's bytes per second.
 */
#include <errno.h>
#include <time.h>

#include <openssl/provider.h>
#include <openssl/sha.h>

#include "proto/mse.h"
#include "tests/unit/test.h"

static const uint8_t ih_known[20] = "torrent-hash-0000001";
static const uint8_t ih_other[20] = "torrent-hash-0000002";
static const uint8_t ih_unknown[20] = "torrent-not-served!!";

/* The receiver's table: two torrents. */
static int find(void *ctx, const uint8_t req2[20], uint8_t ih[20])
{
	const uint8_t *tab[2] = { ih_known, ih_other };
	uint8_t h[20];

	(void)ctx;
	for (int i = 0; i < 2; i++) {
		mse_req2(tab[i], h);
		if (memcmp(h, req2, 20) == 0) {
			memcpy(ih, tab[i], 20);
			return 0;
		}
	}
	return -ENOENT;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/* Random bytes with the two pad lengths set (pad % (pad_max + 1) is what is used). */
static void fill_rnd(uint8_t rnd[MSE_RAND_LEN], unsigned pad1, unsigned pad2)
{
	for (int i = 0; i < MSE_RAND_LEN; i++)
		rnd[i] = (uint8_t)rng();
	rnd[20] = (uint8_t)(pad1 >> 8);
	rnd[21] = (uint8_t)pad1;
	rnd[22] = (uint8_t)(pad2 >> 8);
	rnd[23] = (uint8_t)pad2;
}

static void test_rc4_vectors(void)
{
	static const struct {
		const char *key, *plain;
		uint8_t cipher[16];
	} v[] = {
		{ "Key", "Plaintext", { 0xbb, 0xf3, 0x16, 0xe8, 0xd9, 0x40, 0xaf, 0x0a, 0xd3 } },
		{ "Wiki", "pedia", { 0x10, 0x21, 0xbf, 0x04, 0x20 } },
		{ "Secret",
		  "Attack at dawn",
		  { 0x45, 0xa0, 0x1f, 0x64, 0x5f, 0xc3, 0x5b, 0x38, 0x35, 0x52, 0x54, 0x4b, 0x9b,
		    0xf5 } },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct rc4 c;
		uint8_t out[16];
		size_t n = strlen(v[i].plain);

		rc4_init(&c, (const uint8_t *)v[i].key, strlen(v[i].key));
		rc4_apply(&c, (const uint8_t *)v[i].plain, out, n);
		CHECK(memcmp(out, v[i].cipher, n) == 0);
		/* In place, and skip equals applying to discarded bytes. */
		rc4_init(&c, (const uint8_t *)v[i].key, strlen(v[i].key));
		rc4_skip(&c, 2);
		memcpy(out, v[i].plain + 2, n - 2);
		rc4_apply(&c, out, out, n - 2);
		CHECK(memcmp(out, v[i].cipher + 2, n - 2) == 0);
	}
}

/* --- an initiator and a receiver talking through two pipes --- */

struct pipe {
	uint8_t buf[16384];
	size_t len;
	uint64_t pos;	    /* stream offset of buf[0] */
	int64_t tamper_off; /* stream offset whose byte is XORed on the way; -1: none */
	uint8_t tamper_xor;
};

struct pair {
	struct mse a, b; /* a initiates, b receives */
	struct pipe ab, ba;
	int ra, rb; /* last mse_feed results */
	size_t chunk_max;
};

static void pipe_put(struct pipe *p, const uint8_t *b, size_t n)
{
	REQUIRE(p->len + n <= sizeof(p->buf));
	for (size_t i = 0; i < n; i++) {
		uint8_t c = b[i];

		if ((int64_t)(p->pos + p->len) == p->tamper_off)
			c ^= p->tamper_xor;
		p->buf[p->len++] = c;
	}
}

static void pipe_drop(struct pipe *p, size_t n)
{
	memmove(p->buf, p->buf + n, p->len - n);
	p->len -= n;
	p->pos += n;
}

/* One feed of at most chunk_max bytes; true when it took something. */
static bool pair_feed(struct mse *m, struct pipe *p, int *r, size_t chunk_max)
{
	size_t n = p->len, used;

	if (*r != 0 || n == 0)
		return false;
	if (chunk_max) {
		size_t c = 1 + rng() % chunk_max;

		n = n < c ? n : c;
	}
	*r = mse_feed(m, p->buf, n, &used);
	CHECK(used <= n);
	pipe_drop(p, used);
	return used > 0;
}

static void pair_flush(struct pair *s)
{
	pipe_put(&s->ab, s->a.out, s->a.out_len);
	s->a.out_len = 0;
	pipe_put(&s->ba, s->b.out, s->b.out_len);
	s->b.out_len = 0;
}

static void pair_run(struct pair *s)
{
	for (int turn = 0; turn < 100000; turn++) {
		bool moved;

		pair_flush(s);
		moved = pair_feed(&s->b, &s->ab, &s->rb, s->chunk_max);
		moved |= pair_feed(&s->a, &s->ba, &s->ra, s->chunk_max);
		if (!moved && s->a.out_len == 0 && s->b.out_len == 0)
			break;
	}
	pair_flush(s);
}

static void pair_init(struct pair *s, const struct mse_policy *pa, const struct mse_policy *pb,
		      const uint8_t *skey, const uint8_t *ia, size_t ia_len, unsigned pad_a,
		      unsigned pad_b)
{
	uint8_t rnd[MSE_RAND_LEN];

	memset(s, 0, sizeof(*s));
	s->ab.tamper_off = s->ba.tamper_off = -1;
	fill_rnd(rnd, pad_a, pad_a);
	REQUIRE(mse_init_initiator(&s->a, pa, rnd, skey, ia, ia_len) == 0);
	fill_rnd(rnd, pad_b, 0);
	REQUIRE(mse_init_receiver(&s->b, pb, rnd) == 0);
}

static struct mse_policy policy(uint8_t allow, bool prefer_rc4)
{
	return (struct mse_policy){ .allow = allow,
				    .prefer_rc4 = prefer_rc4,
				    .pad_max = MSE_PAD_MAX,
				    .ia_max = MSE_IA_MAX,
				    .find = find };
}

/* After a good handshake: the IA arrives, then payload flows both ways. */
static void check_stream(struct pair *s, const uint8_t *ia, size_t ia_len)
{
	uint8_t buf[300], want[300];

	/* Each cipher is also its key and how much key stream it used. */
	for (int k = 0; k < 4; k++) {
		struct mse_stream *st = k < 2 ? &s->a.st : &s->b.st;
		struct rc4 c = k % 2 ? st->out : st->in, r;
		uint8_t x[32] = { 0 }, y[32] = { 0 };

		rc4_init(&r, k % 2 ? st->key_out : st->key_in, 20);
		rc4_skip(&r, c.used);
		rc4_apply(&r, x, x, sizeof(x));
		rc4_apply(&c, y, y, sizeof(y));
		CHECK(memcmp(x, y, sizeof(x)) == 0 && c.used >= MSE_RC4_DISCARD);
	}
	REQUIRE(s->ab.len == ia_len);
	mse_recv(&s->b.st, s->ab.buf, s->ab.len);
	CHECK(ia_len == 0 || memcmp(s->ab.buf, ia, ia_len) == 0);
	CHECK_EQ_INT(s->b.st.in_rc4_left, 0);
	CHECK_EQ_INT(s->ba.len, 0);
	for (int dir = 0; dir < 2; dir++) {
		struct mse_stream *tx = dir ? &s->b.st : &s->a.st, *rx = dir ? &s->a.st : &s->b.st;

		for (size_t i = 0; i < sizeof(buf); i++)
			want[i] = buf[i] = (uint8_t)rng();
		mse_send(tx, buf, sizeof(buf));
		CHECK((memcmp(buf, want, sizeof(buf)) == 0) == (tx->method == MSE_CRYPTO_PLAIN));
		mse_recv(rx, buf, 100);
		mse_recv(rx, buf + 100, sizeof(buf) - 100);
		CHECK(memcmp(buf, want, sizeof(buf)) == 0);
	}
}

static void test_pairs(void)
{
	static const uint8_t allows[3] = { MSE_CRYPTO_PLAIN, MSE_CRYPTO_RC4,
					   MSE_CRYPTO_PLAIN | MSE_CRYPTO_RC4 };
	uint8_t ia[68];

	for (size_t i = 0; i < sizeof(ia); i++)
		ia[i] = (uint8_t)(i * 3);
	for (int ai = 0; ai < 3; ai++)
		for (int bi = 0; bi < 3; bi++)
			for (int pref = 0; pref < 2; pref++) {
				struct mse_policy pa = policy(allows[ai], false);
				struct mse_policy pb = policy(allows[bi], pref);
				uint8_t both = allows[ai] & allows[bi], want;
				struct pair *s = malloc(sizeof(*s));

				REQUIRE(s);
				want = both == 3 ? (pref ? MSE_CRYPTO_RC4 : MSE_CRYPTO_PLAIN)
						 : both;
				pair_init(s, &pa, &pb, ih_other, ia, (ai + bi) % 2 ? 68 : 0,
					  rng() % 513, rng() % 513);
				s->chunk_max = (size_t)(ai * 3 + bi) * 40;
				pair_run(s);
				if (!both) {
					CHECK_EQ_INT(s->rb, -1);
					CHECK_EQ_INT(s->b.err, MSE_ERR_NO_CRYPTO);
					free(s);
					continue;
				}
				CHECK_EQ_INT(s->ra, 1);
				CHECK_EQ_INT(s->rb, 1);
				CHECK_EQ_INT(s->a.st.method, want);
				CHECK_EQ_INT(s->b.st.method, want);
				CHECK(memcmp(s->b.skey, ih_other, 20) == 0);
				check_stream(s, ia, (ai + bi) % 2 ? 68 : 0);
				free(s);
			}
}

/* SHA1(tag, a, b): the test's own copy of the handshake's hash. */
static void tag_hash(uint8_t out[20], const char *tag, const uint8_t *a, size_t a_len,
		     const uint8_t *b, size_t b_len)
{
	uint8_t buf[4 + MSE_KEY_LEN + 20];
	size_t t = strlen(tag);

	memcpy(buf, tag, t);
	memcpy(buf + t, a, a_len);
	if (b)
		memcpy(buf + t + a_len, b, b_len);
	SHA1(buf, t + a_len + (b ? b_len : 0), out);
}

/*
 * An initiator that hashes S without its leading zero bytes (as rtorrent's
 * libtorrent did until 2026): the receiver must still find the torrent and
 * key its ciphers from the same short S. The test plays that initiator's
 * step 3 by hand, for openings whose S starts with a zero.
 */
static void test_short_secret(void)
{
	struct mse_policy pa = policy(MSE_CRYPTO_RC4, false), pb = policy(MSE_CRYPTO_RC4, false);
	uint8_t ia[68], h[20], x[20], step3[20 + 20 + MSE_VC_LEN + 8 + sizeof(ia)];
	int found = 0;

	for (size_t i = 0; i < sizeof(ia); i++)
		ia[i] = (uint8_t)(i + 7);
	for (int tries = 0; tries < 4000 && found < 3; tries++) {
		struct pair *s = malloc(sizeof(*s));
		struct rc4 enc, dec;
		unsigned z = 0;
		size_t n = 0, used;
		uint8_t ka[20], kb[20], vc[MSE_VC_LEN + 6];

		REQUIRE(s);
		pair_init(s, &pa, &pb, ih_known, ia, sizeof(ia), 0, 0);
		pipe_put(&s->ab, s->a.out, s->a.out_len); /* Ya */
		s->a.out_len = 0;
		REQUIRE(pair_feed(&s->b, &s->ab, &s->rb, 0)); /* b answers Yb, knows S */
		if (s->b.secret[0] != 0) {
			free(s);
			continue;
		}
		found++;
		while (z < MSE_KEY_LEN - 1 && s->b.secret[z] == 0)
			z++;
		tag_hash(step3, "req1", s->b.secret + z, MSE_KEY_LEN - z, NULL, 0);
		mse_req2(ih_known, x);
		tag_hash(h, "req3", s->b.secret + z, MSE_KEY_LEN - z, NULL, 0);
		for (int i = 0; i < 20; i++)
			step3[20 + i] = x[i] ^ h[i];
		n = 40;
		memset(step3 + n, 0, MSE_VC_LEN + 3);
		step3[n + MSE_VC_LEN + 3] = MSE_CRYPTO_RC4;
		step3[n + MSE_VC_LEN + 4] = 0; /* len(PadC) */
		step3[n + MSE_VC_LEN + 5] = 0;
		step3[n + MSE_VC_LEN + 6] = 0; /* len(IA) */
		step3[n + MSE_VC_LEN + 7] = sizeof(ia);
		memcpy(step3 + n + MSE_VC_LEN + 8, ia, sizeof(ia));
		tag_hash(ka, "keyA", s->b.secret + z, MSE_KEY_LEN - z, ih_known, 20);
		tag_hash(kb, "keyB", s->b.secret + z, MSE_KEY_LEN - z, ih_known, 20);
		rc4_init(&enc, ka, 20);
		rc4_skip(&enc, 1024);
		rc4_apply(&enc, step3 + n, step3 + n, sizeof(step3) - n);
		s->b.out_len = 0; /* Yb: the hand-played initiator needs only S */
		CHECK_EQ_INT(mse_feed(&s->b, step3, sizeof(step3), &used), 1);
		CHECK_EQ_INT(s->b.state, MSE_DONE);
		CHECK(memcmp(s->b.skey, ih_known, 20) == 0);
		CHECK_EQ_INT(s->b.st.method, MSE_CRYPTO_RC4);
		/* b's step 4 decrypts with keyB of the short S: VC, then RC4 chosen. */
		REQUIRE(s->b.out_len >= sizeof(vc));
		rc4_init(&dec, kb, 20);
		rc4_skip(&dec, 1024);
		rc4_apply(&dec, s->b.out, vc, sizeof(vc));
		for (int i = 0; i < MSE_VC_LEN; i++)
			CHECK_EQ_INT(vc[i], 0);
		CHECK_EQ_INT(vc[MSE_VC_LEN + 3], MSE_CRYPTO_RC4);
		free(s);
	}
	CHECK(found == 3); /* one S in 256 starts with a zero: 4,000 tries find three */
}

/* Pads at both ends of their range, one byte at a time and all at once. */
static void test_pad_edges(void)
{
	struct mse_policy p = policy(MSE_CRYPTO_PLAIN | MSE_CRYPTO_RC4, true);
	static const unsigned pads[] = { 0, 1, 511, 512 };

	for (size_t i = 0; i < 4; i++)
		for (size_t c = 0; c < 2; c++) {
			struct pair *s = malloc(sizeof(*s));

			REQUIRE(s);
			pair_init(s, &p, &p, ih_known, (const uint8_t *)"hello", 5, pads[i],
				  pads[3 - i]);
			s->chunk_max = c;
			pair_run(s);
			CHECK_EQ_INT(s->ra, 1);
			CHECK_EQ_INT(s->rb, 1);
			CHECK_EQ_INT(s->b.st.method, MSE_CRYPTO_RC4);
			CHECK(s->ab.pos == 96 + pads[i] + 40 + 14 + pads[i] + 2);
			check_stream(s, (const uint8_t *)"hello", 5);
			free(s);
		}
}

/* The generator's key: priv = 1 gives Y = 2. */
static void test_public_key(void)
{
	struct mse_policy p = policy(MSE_CRYPTO_RC4, false);
	uint8_t rnd[MSE_RAND_LEN] = { 0 }, want[MSE_KEY_LEN] = { 0 };
	struct mse *m = malloc(sizeof(*m));

	REQUIRE(m);
	rnd[19] = 1;
	want[95] = 2;
	REQUIRE(mse_init_initiator(m, &p, rnd, ih_known, NULL, 0) == 0);
	CHECK_EQ_INT(m->out_len, 96); /* pad length 0 from the zero bytes */
	CHECK(memcmp(m->out, want, 96) == 0);
	free(m);
}

/* A run tampered at one stream offset fails with the given error on side b or a. */
static void tampered(struct pipe *(*which)(struct pair *), int64_t off, uint8_t x,
		     bool receiver_fails, enum mse_err want, size_t garbage)
{
	struct mse_policy p = policy(MSE_CRYPTO_PLAIN | MSE_CRYPTO_RC4, false);
	struct pair *s = malloc(sizeof(*s));
	struct pipe *t;

	REQUIRE(s);
	pair_init(s, &p, &p, ih_known, (const uint8_t *)"ia", 2, 0, 0);
	t = which(s);
	t->tamper_off = off;
	t->tamper_xor = x;
	pair_run(s);
	if (garbage) {
		uint8_t g[1024];

		for (size_t i = 0; i < garbage; i++)
			g[i] = (uint8_t)rng();
		pipe_put(t, g, garbage);
		pair_run(s);
	}
	if (receiver_fails) {
		CHECK_EQ_INT(s->rb, -1);
		CHECK_STR(mse_err_name(s->b.err), mse_err_name(want));
	} else {
		CHECK_EQ_INT(s->ra, -1);
		CHECK_STR(mse_err_name(s->a.err), mse_err_name(want));
	}
	free(s);
}

static struct pipe *to_b(struct pair *s)
{
	return &s->ab;
}

static struct pipe *to_a(struct pair *s)
{
	return &s->ba;
}

static void test_refusals(void)
{
	/* With PadA = 0, step 3 starts at 96: req1, req2^req3 at 116, VC at 136,
	 * crypto_provide 144..147, len(PadC) 148..149. */
	tampered(to_b, 96, 1, true, MSE_ERR_NO_SYNC, 600);
	tampered(to_b, 116, 1, true, MSE_ERR_UNKNOWN_SKEY, 0);
	tampered(to_b, 136, 1, true, MSE_ERR_BAD_VC, 0);
	tampered(to_b, 148, 0x04, true, MSE_ERR_BAD_PAD, 0);
	tampered(to_b, 147, 0x03, true, MSE_ERR_NO_CRYPTO, 0);
	/* Step 4 after Yb (PadB = 0): VC at 96, crypto_select 104..107, len(PadD) 108. */
	tampered(to_a, 96, 1, false, MSE_ERR_NO_SYNC, 600);
	tampered(to_a, 107, 0x04, false, MSE_ERR_NO_CRYPTO, 0);
	tampered(to_a, 108, 0x04, false, MSE_ERR_BAD_PAD, 0);
}

static void test_bad_keys_and_time(void)
{
	struct mse_policy p = policy(MSE_CRYPTO_RC4, false);
	uint8_t rnd[MSE_RAND_LEN] = { 0 }, key[MSE_KEY_LEN], one[MSE_KEY_LEN] = { 0 };
	struct mse *m = malloc(sizeof(*m)), *init = malloc(sizeof(*init));
	size_t used;

	REQUIRE(m && init);
	/* 0 and 1 (P - 1 and P are in test_prime_keys). */
	rnd[19] = 1;
	REQUIRE(mse_init_initiator(init, &p, rnd, ih_known, NULL, 0) == 0);
	one[95] = 1;
	for (int k = 0; k < 2; k++) {
		memcpy(key, k ? one : (uint8_t[MSE_KEY_LEN]){ 0 }, sizeof(key));
		REQUIRE(mse_init_receiver(m, &p, rnd) == 0);
		CHECK_EQ_INT(mse_feed(m, key, 96, &used), -1);
		CHECK_EQ_INT(m->err, MSE_ERR_BAD_KEY);
	}
	/* Under 96 bytes when time runs out is SHORT; after them TIMEOUT. */
	REQUIRE(mse_init_receiver(m, &p, rnd) == 0);
	CHECK_EQ_INT(mse_want(m), 96);
	CHECK_EQ_INT(mse_feed(m, init->out, 95, &used), 0);
	CHECK_EQ_INT(mse_expired(m), MSE_ERR_SHORT);
	CHECK_EQ_INT(mse_want(m), 1);
	CHECK_EQ_INT(mse_feed(m, init->out + 95, 1, &used), 0);
	CHECK_EQ_INT(m->out_len >= 96, 1);
	CHECK_EQ_INT(mse_expired(m), MSE_ERR_TIMEOUT);
	CHECK_EQ_INT(mse_want(m), MSE_PAD_MAX + 20);
	/* Failure is sticky and takes nothing. */
	memset(key, 0, sizeof(key));
	REQUIRE(mse_init_receiver(m, &p, rnd) == 0);
	CHECK_EQ_INT(mse_feed(m, key, 96, &used), -1);
	CHECK_EQ_INT(mse_feed(m, key, 96, &used), -1);
	CHECK_EQ_INT(used, 0);
	CHECK_EQ_INT(mse_want(m), 0);
	free(m);
	free(init);
}

/* P - 1 and P (and above) are refused: the 768-bit prime ends in 0x...090563. */
static void test_prime_keys(void)
{
	static const char hex[] = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
				  "020BBEA63B139B22514A08"
				  "798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B5"
				  "76625E7EC6F44C42E9A"
				  "63A36210000000000090563";
	struct mse_policy p = policy(MSE_CRYPTO_RC4, false);
	uint8_t rnd[MSE_RAND_LEN] = { 1 }, key[MSE_KEY_LEN];
	struct mse *m = malloc(sizeof(*m));
	size_t used;

	REQUIRE(m && strlen(hex) == 192);
	for (int i = 0; i < 96; i++) {
		unsigned v;

		sscanf(hex + 2 * i, "%2x", &v);
		key[i] = (uint8_t)v;
	}
	for (int d = 0; d < 3; d++) {
		uint8_t k[MSE_KEY_LEN];

		memcpy(k, key, sizeof(k));
		k[95] = (uint8_t)(k[95] - 1 + d); /* P - 1, P, P + 1 */
		REQUIRE(mse_init_receiver(m, &p, rnd) == 0);
		CHECK_EQ_INT(mse_feed(m, k, 96, &used), -1);
		CHECK_EQ_INT(m->err, MSE_ERR_BAD_KEY);
	}
	key[95] = (uint8_t)(key[95] - 2); /* P - 2 is a legal key */
	REQUIRE(mse_init_receiver(m, &p, rnd) == 0);
	CHECK_EQ_INT(mse_feed(m, key, 96, &used), 0);
	free(m);
}

/* 513 bytes of PadA is one too many: NO_SYNC. The IA limit is the caller's. */
static void test_bounds(void)
{
	struct mse_policy p = policy(MSE_CRYPTO_RC4, false), small = p;
	uint8_t ia[68] = { 19 };
	struct pair *s = malloc(sizeof(*s));

	REQUIRE(s);
	pair_init(s, &p, &p, ih_known, NULL, 0, 512, 0);
	pipe_put(&s->ab, s->a.out, s->a.out_len);
	s->a.out_len = 0;
	pipe_put(&s->ab, (const uint8_t *)"x", 1); /* byte 513 of PadA */
	pair_run(s);
	CHECK_EQ_INT(s->rb, -1);
	CHECK_EQ_INT(s->b.err, MSE_ERR_NO_SYNC);
	CHECK(s->ab.pos <= MSE_SYNC_MAX + 20);

	small.ia_max = 67;
	pair_init(s, &p, &small, ih_known, ia, 68, 3, 3);
	pair_run(s);
	CHECK_EQ_INT(s->rb, -1);
	CHECK_EQ_INT(s->b.err, MSE_ERR_IA_TOO_LONG);
	small.ia_max = 68;
	pair_init(s, &p, &small, ih_known, ia, 68, 3, 3);
	pair_run(s);
	CHECK_EQ_INT(s->rb, 1);

	/* An unknown torrent. */
	pair_init(s, &p, &p, ih_unknown, NULL, 0, 7, 7);
	pair_run(s);
	CHECK_EQ_INT(s->rb, -1);
	CHECK_EQ_INT(s->b.err, MSE_ERR_UNKNOWN_SKEY);
	free(s);

	/* Bad arguments. */
	{
		struct mse m;
		uint8_t rnd[MSE_RAND_LEN] = { 0 };
		struct mse_policy bad = p;

		bad.pad_max = 513;
		CHECK_EQ_INT(mse_init_receiver(&m, &bad, rnd), -EINVAL);
		bad = p;
		bad.allow = 0x04;
		CHECK_EQ_INT(mse_init_receiver(&m, &bad, rnd), -EINVAL);
		bad = p;
		bad.find = NULL;
		CHECK_EQ_INT(mse_init_receiver(&m, &bad, rnd), -EINVAL);
		CHECK_EQ_INT(mse_init_initiator(&m, &p, rnd, ih_known, ia, MSE_INIT_IA_MAX + 1),
			     -EINVAL);
	}
	CHECK_STR(mse_err_name(MSE_ERR_UNKNOWN_SKEY), "unknown_skey");
	CHECK_STR(mse_err_name(MSE_ERR_MAX), "unknown");
}

/* CPU time of this thread: a figure per core that a busy machine does not shrink much. */
/* libcrypto's RC4 rebuilt from a key and a count continues our cipher exactly. */
static void test_evp_rc4(void)
{
	EVP_CIPHER *evp = NULL;
	OSSL_PROVIDER *def = OSSL_PROVIDER_load(NULL, "default");
	OSSL_PROVIDER *legacy = def ? OSSL_PROVIDER_load(NULL, "legacy") : NULL;
	struct rc4 c;
	uint8_t x[3000] = { 0 }, y[3000] = { 0 };
	EVP_CIPHER_CTX *ctx;
	int n;

	if (legacy)
		evp = EVP_CIPHER_fetch(NULL, "RC4", NULL);
	if (!evp) {
		fprintf(stderr, "note: no RC4 in libcrypto (legacy provider): mse_evp_rc4 unchecked\n");
		goto out;
	}
	rc4_init(&c, (const uint8_t *)"0123456789abcdefghij", 20);
	rc4_skip(&c, MSE_RC4_DISCARD + 77);
	ctx = mse_evp_rc4(evp, (const uint8_t *)"0123456789abcdefghij", c.used);
	REQUIRE(ctx);
	rc4_apply(&c, x, x, sizeof(x));
	CHECK(EVP_EncryptUpdate(ctx, y, &n, y, (int)sizeof(y)) == 1 && n == (int)sizeof(y));
	CHECK(memcmp(x, y, sizeof(x)) == 0);
	EVP_CIPHER_CTX_free(ctx);
out:
	EVP_CIPHER_free(evp);
	if (legacy)
		OSSL_PROVIDER_unload(legacy);
	if (def)
		OSSL_PROVIDER_unload(def);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * libcrypto's RC4 (legacy provider) on the same 16 KiB blocks a batch has,
 * from one buffer into another as crypt_gather runs it: the figure to set
 * beside proto/rc4.c's when choosing the cipher of RC4 peers.
 */
static void bench_evp_rc4(double seconds)
{
	OSSL_PROVIDER *def = OSSL_PROVIDER_load(NULL, "default");
	OSSL_PROVIDER *legacy = def ? OSSL_PROVIDER_load(NULL, "legacy") : NULL;
	EVP_CIPHER *evp = legacy ? EVP_CIPHER_fetch(NULL, "RC4", NULL) : NULL;
	EVP_CIPHER_CTX *ctx = evp ? mse_evp_rc4(evp, (const uint8_t *)"0123456789abcdefghij", 0)
				  : NULL;
	static uint8_t in[16384], out[16384];
	double t0 = now_s();
	long rounds = 0;
	int n;

	if (!ctx) {
		printf("rc4 (libcrypto): not available (legacy provider)\n");
	} else {
		while (now_s() - t0 < seconds) {
			EVP_EncryptUpdate(ctx, out, &n, in, (int)sizeof(in));
			rounds++;
		}
		printf("rc4 (libcrypto): %.0f MB/s, 16 KiB blocks, one core\n",
		       rounds * (double)sizeof(in) / 1e6 / (now_s() - t0));
	}
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(evp);
	if (legacy)
		OSSL_PROVIDER_unload(legacy);
	if (def)
		OSSL_PROVIDER_unload(def);
}

/*
 * Whole handshakes, initiator and receiver in this thread; the receiver's
 * own time (its two modular exponentiations and the rest) is timed apart.
 */
static int bench(double seconds)
{
	struct mse_policy p = policy(MSE_CRYPTO_PLAIN | MSE_CRYPTO_RC4, true);
	struct pair *s = malloc(sizeof(*s));
	double start = now_s(), recv_time = 0;
	unsigned long n = 0;

	REQUIRE(s);
	while (now_s() - start < seconds) {
		double t0;
		uint8_t rnd[MSE_RAND_LEN];

		pair_init(s, &p, &p, ih_known, NULL, 0, rng() % 513, 0);
		fill_rnd(rnd, rng() % 513, 0);
		t0 = now_s();
		REQUIRE(mse_init_receiver(&s->b, &p, rnd) == 0);
		recv_time += now_s() - t0;
		for (int turn = 0; turn < 8 && (s->ra == 0 || s->rb == 0); turn++) {
			pair_flush(s);
			t0 = now_s();
			pair_feed(&s->b, &s->ab, &s->rb, 0);
			recv_time += now_s() - t0;
			pair_feed(&s->a, &s->ba, &s->ra, 0);
		}
		REQUIRE(s->ra == 1 && s->rb == 1);
		n++;
	}
	printf("mse bench: %lu handshakes in %.2f CPU s (both sides, one thread): %.0f/s; "
	       "receiver side alone: %.0f/s per core\n",
	       n, now_s() - start, n / (now_s() - start), n / recv_time);
	{
		static uint8_t buf[1 << 20];
		struct rc4 c;
		double t0 = now_s();
		int rounds = 0;

		rc4_init(&c, (const uint8_t *)"key", 3);
		while (now_s() - t0 < seconds / 2) {
			rc4_apply(&c, buf, buf, sizeof(buf));
			rounds++;
		}
		printf("rc4 (proto/rc4.c): %.0f MB/s in place, one core\n", rounds / (now_s() - t0));
	}
	bench_evp_rc4(seconds / 2);
	free(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "bench") == 0)
		return bench(argc > 2 ? atof(argv[2]) : 2.0);
	test_rc4_vectors();
	test_public_key();
	test_pairs();
	test_short_secret();
	test_pad_edges();
	test_refusals();
	test_bad_keys_and_time();
	test_prime_keys();
	test_bounds();
	test_evp_rc4(); /* last: it unloads the providers it loaded, default included */
	return test_done("mse");
}
