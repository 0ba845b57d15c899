/*
 * mse.c - Message Stream Encryption handshake, both sides (see mse.h).
 *
 * The stages that know their length collect into m->acc and run once it is
 * full; the two sync stages search m->acc as it grows and give back what
 * they read past the match, so the next stage starts on the right byte.
 */
#include <errno.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/sha.h>

#include "proto/mse.h"

/* The 768-bit MSE prime (the Oakley group 1 modulus); the generator is 2. */
static const uint8_t mse_prime[MSE_KEY_LEN] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc9, 0x0f, 0xda, 0xa2, 0x21, 0x68,
	0xc2, 0x34, 0xc4, 0xc6, 0x62, 0x8b, 0x80, 0xdc, 0x1c, 0xd1, 0x29, 0x02, 0x4e, 0x08,
	0x8a, 0x67, 0xcc, 0x74, 0x02, 0x0b, 0xbe, 0xa6, 0x3b, 0x13, 0x9b, 0x22, 0x51, 0x4a,
	0x08, 0x79, 0x8e, 0x34, 0x04, 0xdd, 0xef, 0x95, 0x19, 0xb3, 0xcd, 0x3a, 0x43, 0x1b,
	0x30, 0x2b, 0x0a, 0x6d, 0xf2, 0x5f, 0x14, 0x37, 0x4f, 0xe1, 0x35, 0x6d, 0x6d, 0x51,
	0xc2, 0x45, 0xe4, 0x85, 0xb5, 0x76, 0x62, 0x5e, 0x7e, 0xc6, 0xf4, 0x4c, 0x42, 0xe9,
	0xa6, 0x3a, 0x36, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x05, 0x63,
};

#define MSE_R_SYNC_CAP (MSE_PAD_MAX + 20)	  /* PadA then HASH('req1', S) */
#define MSE_I_SYNC_CAP (MSE_PAD_MAX + MSE_VC_LEN) /* PadB then ENCRYPT(VC) */

const char *mse_err_name(enum mse_err e)
{
	static const char *const names[MSE_ERR_MAX] = {
		[MSE_ERR_NONE] = "none",
		[MSE_ERR_SHORT] = "short",
		[MSE_ERR_TIMEOUT] = "timeout",
		[MSE_ERR_BAD_KEY] = "bad_key",
		[MSE_ERR_NO_SYNC] = "no_sync",
		[MSE_ERR_UNKNOWN_SKEY] = "unknown_skey",
		[MSE_ERR_BAD_VC] = "bad_vc",
		[MSE_ERR_BAD_PAD] = "bad_pad",
		[MSE_ERR_IA_TOO_LONG] = "ia_too_long",
		[MSE_ERR_NO_CRYPTO] = "no_crypto",
		[MSE_ERR_INTERNAL] = "internal",
	};

	return (unsigned)e < MSE_ERR_MAX ? names[e] : "unknown";
}

/* HASH(tag, a, b): SHA-1 over the concatenation; b may be NULL. */
static void mse_hash(uint8_t out[20], const char *tag, const uint8_t *a, size_t a_len,
		     const uint8_t *b, size_t b_len)
{
	uint8_t buf[4 + MSE_KEY_LEN + 20];
	size_t t = strlen(tag);

	memcpy(buf, tag, t);
	memcpy(buf + t, a, a_len);
	if (b)
		memcpy(buf + t + a_len, b, b_len);
	SHA1(buf, t + a_len + b_len, out);
}

void mse_req2(const uint8_t info_hash[20], uint8_t out[20])
{
	mse_hash(out, "req2", info_hash, 20, NULL, 0);
}

/*
 * out = base^priv mod P, 96 bytes big-endian; base NULL means the generator.
 * A peer's key must lie in 2..P-2 (0, 1 and P-1 give a secret anyone knows).
 * Not BN_FLG_CONSTTIME: each private key serves one connection, so a timing
 * channel gives an observer one sample per key, and the constant-time path
 * costs a third more per handshake (measured with test_mse bench).
 */
static enum mse_err mse_modexp(const uint8_t *base, const uint8_t priv[MSE_PRIV_LEN],
			       uint8_t out[MSE_KEY_LEN])
{
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *p, *b, *x, *r, *pm1;
	enum mse_err err = MSE_ERR_INTERNAL;

	if (!ctx)
		return MSE_ERR_INTERNAL;
	BN_CTX_start(ctx);
	p = BN_CTX_get(ctx);
	b = BN_CTX_get(ctx);
	x = BN_CTX_get(ctx);
	r = BN_CTX_get(ctx);
	pm1 = BN_CTX_get(ctx);
	if (!pm1 || !BN_bin2bn(mse_prime, MSE_KEY_LEN, p) || !BN_bin2bn(priv, MSE_PRIV_LEN, x))
		goto out;
	if (base) {
		if (!BN_bin2bn(base, MSE_KEY_LEN, b) || !BN_copy(pm1, p) || !BN_sub_word(pm1, 1))
			goto out;
		if (BN_cmp(b, BN_value_one()) <= 0 || BN_cmp(b, pm1) >= 0) {
			err = MSE_ERR_BAD_KEY;
			goto out;
		}
	} else if (!BN_set_word(b, 2)) {
		goto out;
	}
	if (!BN_mod_exp(r, b, x, p, ctx) || BN_bn2binpad(r, out, MSE_KEY_LEN) != MSE_KEY_LEN)
		goto out;
	err = MSE_ERR_NONE;
out:
	BN_CTX_end(ctx);
	BN_CTX_free(ctx);
	return err;
}

static int mse_fail(struct mse *m, enum mse_err e)
{
	m->state = MSE_FAILED;
	m->err = e;
	return -1;
}

/* Pad bytes look random: key stream from the caller's randomness. */
static void mse_put_pad(struct mse *m, uint8_t *out, size_t n)
{
	memset(out, 0, n);
	rc4_apply(&m->pad_gen, out, out, n);
}

static void mse_out_append(struct mse *m, const uint8_t *b, size_t n)
{
	memcpy(m->out + m->out_len, b, n);
	m->out_len += n;
}

/* Our key and first pad, then the second pad's length; both pads 0..pad_max. */
static int mse_init_common(struct mse *m, const struct mse_policy *pol, const uint8_t *rnd,
			   enum mse_state first)
{
	uint16_t pad_max;
	uint8_t pub[MSE_KEY_LEN];
	size_t pad1;

	if (!pol || !rnd || pol->pad_max > MSE_PAD_MAX || pol->ia_max > MSE_IA_MAX ||
	    !(pol->allow & (MSE_CRYPTO_PLAIN | MSE_CRYPTO_RC4)))
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->pol = *pol;
	m->pol.allow &= MSE_CRYPTO_PLAIN | MSE_CRYPTO_RC4;
	pad_max = pol->pad_max;
	memcpy(m->priv, rnd, MSE_PRIV_LEN);
	rc4_init(&m->pad_gen, rnd + 24, MSE_RAND_LEN - 24);
	pad1 = ((size_t)rnd[20] << 8 | rnd[21]) % (pad_max + 1u);
	m->pad2_len = (uint16_t)(((unsigned)rnd[22] << 8 | rnd[23]) % (pad_max + 1u));
	m->state = first;
	m->need = MSE_KEY_LEN;
	if (first == MSE_I_KEY) {
		if (mse_modexp(NULL, m->priv, pub) != MSE_ERR_NONE)
			return -ENOMEM;
		mse_out_append(m, pub, MSE_KEY_LEN);
		mse_put_pad(m, m->out + m->out_len, pad1);
		m->out_len += pad1;
	} else {
		m->pad2_len = (uint16_t)pad1; /* a receiver's first pad, PadB, goes after its key */
	}
	return 0;
}

int mse_init_receiver(struct mse *m, const struct mse_policy *pol, const uint8_t *rnd)
{
	if (!pol || !pol->find)
		return -EINVAL;
	return mse_init_common(m, pol, rnd, MSE_R_KEY);
}

int mse_init_initiator(struct mse *m, const struct mse_policy *pol, const uint8_t *rnd,
		       const uint8_t skey[20], const uint8_t *ia, size_t ia_len)
{
	int rc;

	if (ia_len > MSE_INIT_IA_MAX || (ia_len && !ia))
		return -EINVAL;
	rc = mse_init_common(m, pol, rnd, MSE_I_KEY);
	if (rc)
		return rc;
	memcpy(m->skey, skey, 20);
	if (ia_len)
		memcpy(m->ia, ia, ia_len);
	m->ia_out = (uint16_t)ia_len;
	return 0;
}

/* RC4 keyed HASH(keyA|keyB, S, SKEY), 1,024 bytes of key stream discarded. */
static void mse_keys(struct mse *m, bool initiator)
{
	uint8_t ka[20], kb[20];

	mse_hash(ka, "keyA", m->secret + m->s_off, MSE_KEY_LEN - m->s_off, m->skey, 20);
	mse_hash(kb, "keyB", m->secret + m->s_off, MSE_KEY_LEN - m->s_off, m->skey, 20);
	memcpy(m->st.key_in, initiator ? kb : ka, 20);
	memcpy(m->st.key_out, initiator ? ka : kb, 20);
	rc4_init(&m->st.in, m->st.key_in, 20);
	rc4_init(&m->st.out, m->st.key_out, 20);
	rc4_skip(&m->st.in, MSE_RC4_DISCARD);
	rc4_skip(&m->st.out, MSE_RC4_DISCARD);
}

/* Writes ENCRYPT(VC, bits, len(pad), pad) to out; the receiver's step 4, the initiator's step 3
 * start. */
static void mse_put_vc_block(struct mse *m, uint8_t bits, uint16_t pad_len)
{
	uint8_t *b = m->out + m->out_len;
	size_t n = MSE_VC_LEN + 4 + 2 + pad_len;

	memset(b, 0, MSE_VC_LEN + 3);
	b[MSE_VC_LEN + 3] = bits;
	b[MSE_VC_LEN + 4] = (uint8_t)(pad_len >> 8);
	b[MSE_VC_LEN + 5] = (uint8_t)pad_len;
	mse_put_pad(m, b + MSE_VC_LEN + 6, pad_len);
	rc4_apply(&m->st.out, b, b, n);
	m->out_len += n;
}

/*
 * S is hashed as 96 bytes, leading zeros included, but some initiators
 * (rtorrent's libtorrent before 2026, and others that export the secret as
 * a minimal big-endian number) leave the zeros out, about one opening in
 * 256. As a receiver we cannot ask which: when S starts with zeros we also
 * look for HASH('req1', S without them), and whichever the peer sent decides
 * the S of every later hash.
 */
static void mse_short_sync(struct mse *m)
{
	unsigned z = 0;

	while (z < MSE_KEY_LEN - 1 && m->secret[z] == 0)
		z++;
	if (z == 0)
		return;
	mse_hash(m->sync_short, "req1", m->secret + z, MSE_KEY_LEN - z, NULL, 0);
	m->s_off = (uint8_t)z; /* a candidate until the sync says which */
}

/* The peer's key is in acc: S, and what comes next on each side. */
static int mse_got_key(struct mse *m)
{
	uint8_t pub[MSE_KEY_LEN], h[20], x[20];
	enum mse_err e = mse_modexp(m->acc, m->priv, m->secret);

	if (e != MSE_ERR_NONE)
		return mse_fail(m, e);
	if (m->state == MSE_R_KEY) {
		if (mse_modexp(NULL, m->priv, pub) != MSE_ERR_NONE)
			return mse_fail(m, MSE_ERR_INTERNAL);
		mse_out_append(m, pub, MSE_KEY_LEN);
		mse_put_pad(m, m->out + m->out_len, m->pad2_len);
		m->out_len += m->pad2_len;
		m->pad2_len = 0; /* PadD: sent encrypted, nothing to hide, so none */
		mse_hash(m->sync, "req1", m->secret, MSE_KEY_LEN, NULL, 0);
		mse_short_sync(m);
		m->state = MSE_R_SYNC;
		m->need = MSE_R_SYNC_CAP;
		return 0;
	}
	/* Initiator: step 3, then look for B's ENCRYPT(VC). */
	mse_hash(h, "req1", m->secret, MSE_KEY_LEN, NULL, 0);
	mse_out_append(m, h, 20);
	mse_req2(m->skey, x);
	mse_hash(h, "req3", m->secret, MSE_KEY_LEN, NULL, 0);
	for (int i = 0; i < 20; i++)
		x[i] ^= h[i];
	mse_out_append(m, x, 20);
	mse_keys(m, true);
	mse_put_vc_block(m, m->pol.allow, m->pad2_len);
	x[0] = (uint8_t)(m->ia_out >> 8);
	x[1] = (uint8_t)m->ia_out;
	rc4_apply(&m->st.out, x, m->out + m->out_len, 2);
	m->out_len += 2;
	rc4_apply(&m->st.out, m->ia, m->out + m->out_len, m->ia_out);
	m->out_len += m->ia_out;
	{
		struct rc4 peek = m->st.in;

		memset(m->sync, 0, MSE_VC_LEN);
		rc4_apply(&peek, m->sync, m->sync, MSE_VC_LEN);
	}
	m->state = MSE_I_SYNC;
	m->need = MSE_I_SYNC_CAP;
	return 0;
}

/*
 * A sync stage: append to acc and look for the pattern (20 bytes for the
 * receiver, 8 for the initiator). Returns the bytes consumed: up to the end
 * of the match when found.
 */
static size_t mse_sync(struct mse *m, const uint8_t *in, size_t n)
{
	size_t plen = m->state == MSE_R_SYNC ? 20 : MSE_VC_LEN;
	size_t k = m->need - m->have, start = m->have >= plen ? m->have - plen + 1 : 0;

	if (k > n)
		k = n;
	memcpy(m->acc + m->have, in, k);
	m->have = (uint16_t)(m->have + k);
	for (size_t o = start; o + plen <= m->have; o++) {
		bool full = memcmp(m->acc + o, m->sync, plen) == 0;

		if (!full && !(m->state == MSE_R_SYNC && m->s_off &&
			       memcmp(m->acc + o, m->sync_short, plen) == 0))
			continue;
		k -= m->have - (o + plen); /* give back what follows the match */
		if (m->state == MSE_R_SYNC) {
			if (full)
				m->s_off = 0;
			m->state = MSE_R_SKEY;
			m->need = 20;
		} else {
			rc4_skip(&m->st.in, MSE_VC_LEN);
			m->state = MSE_I_SEL;
			m->need = 6;
		}
		m->have = 0;
		return k;
	}
	if (m->have == m->need)
		mse_fail(m, MSE_ERR_NO_SYNC);
	return k;
}

/* Receiver: req2 xor req3 names the torrent; the ciphers start. */
static int mse_got_skey(struct mse *m)
{
	uint8_t h[20];

	mse_hash(h, "req3", m->secret + m->s_off, MSE_KEY_LEN - m->s_off, NULL, 0);
	for (int i = 0; i < 20; i++)
		h[i] ^= m->acc[i];
	if (m->pol.find(m->pol.find_ctx, h, m->skey) != 0)
		return mse_fail(m, MSE_ERR_UNKNOWN_SKEY);
	mse_keys(m, false);
	m->state = MSE_R_VC;
	m->need = MSE_VC_LEN + 4 + 2;
	return 0;
}

static int mse_got_vc(struct mse *m)
{
	static const uint8_t zero[MSE_VC_LEN];
	uint16_t pad;

	rc4_apply(&m->st.in, m->acc, m->acc, m->need);
	if (memcmp(m->acc, zero, MSE_VC_LEN) != 0)
		return mse_fail(m, MSE_ERR_BAD_VC);
	m->provide = m->acc[MSE_VC_LEN + 3] & (MSE_CRYPTO_PLAIN | MSE_CRYPTO_RC4);
	pad = (uint16_t)(m->acc[MSE_VC_LEN + 4] << 8 | m->acc[MSE_VC_LEN + 5]);
	if (pad > MSE_PAD_MAX)
		return mse_fail(m, MSE_ERR_BAD_PAD);
	m->state = MSE_R_PADC;
	m->need = (uint16_t)(pad + 2);
	return 0;
}

/* Receiver: PadC and len(IA) are in; pick the method and answer (step 4). */
static int mse_got_padc(struct mse *m)
{
	uint8_t both = m->provide & m->pol.allow, sel;

	rc4_apply(&m->st.in, m->acc, m->acc, m->need);
	m->ia_len = (uint16_t)(m->acc[m->need - 2] << 8 | m->acc[m->need - 1]);
	if (m->ia_len > m->pol.ia_max)
		return mse_fail(m, MSE_ERR_IA_TOO_LONG);
	if (!both)
		return mse_fail(m, MSE_ERR_NO_CRYPTO);
	if (both == (MSE_CRYPTO_PLAIN | MSE_CRYPTO_RC4))
		sel = m->pol.prefer_rc4 ? MSE_CRYPTO_RC4 : MSE_CRYPTO_PLAIN;
	else
		sel = both;
	mse_put_vc_block(m, sel, m->pad2_len);
	m->st.method = sel;
	m->st.in_rc4_left = m->ia_len;
	m->state = MSE_DONE;
	return 0;
}

/* Initiator: crypto_select and len(PadD). */
static int mse_got_select(struct mse *m)
{
	uint8_t sel;
	uint16_t pad;

	rc4_apply(&m->st.in, m->acc, m->acc, 6);
	sel = m->acc[3];
	if (m->acc[0] || m->acc[1] || m->acc[2] || !(sel & m->pol.allow) ||
	    (sel != MSE_CRYPTO_PLAIN && sel != MSE_CRYPTO_RC4))
		return mse_fail(m, MSE_ERR_NO_CRYPTO);
	pad = (uint16_t)(m->acc[4] << 8 | m->acc[5]);
	if (pad > MSE_PAD_MAX)
		return mse_fail(m, MSE_ERR_BAD_PAD);
	m->st.method = sel;
	m->st.in_rc4_left = 0;
	m->state = pad ? MSE_I_PADD : MSE_DONE;
	m->need = pad;
	return 0;
}

/* A stage of known length is complete in acc: act on it. */
static int mse_stage_done(struct mse *m)
{
	m->have = 0;
	switch (m->state) {
	case MSE_R_KEY:
	case MSE_I_KEY:
		return mse_got_key(m);
	case MSE_R_SKEY:
		return mse_got_skey(m);
	case MSE_R_VC:
		return mse_got_vc(m);
	case MSE_R_PADC:
		return mse_got_padc(m);
	case MSE_I_SEL:
		return mse_got_select(m);
	case MSE_I_PADD:
		rc4_apply(&m->st.in, m->acc, m->acc, m->need);
		m->state = MSE_DONE;
		return 0;
	default:
		return mse_fail(m, MSE_ERR_INTERNAL);
	}
}

int mse_feed(struct mse *m, const uint8_t *in, size_t n, size_t *used)
{
	*used = 0;
	while (m->state != MSE_DONE && m->state != MSE_FAILED && *used < n) {
		size_t k;

		if (m->state == MSE_R_SYNC || m->state == MSE_I_SYNC) {
			k = mse_sync(m, in + *used, n - *used);
		} else {
			k = m->need - m->have;
			if (k > n - *used)
				k = n - *used;
			memcpy(m->acc + m->have, in + *used, k);
			m->have = (uint16_t)(m->have + k);
		}
		*used += k;
		m->got += (uint32_t)k;
		if (m->state != MSE_R_SYNC && m->state != MSE_I_SYNC && m->state != MSE_FAILED &&
		    m->have == m->need && mse_stage_done(m) < 0)
			break;
	}
	if (m->state == MSE_FAILED)
		return -1;
	return m->state == MSE_DONE;
}

size_t mse_want(const struct mse *m)
{
	if (m->state == MSE_DONE || m->state == MSE_FAILED)
		return 0;
	return (size_t)(m->need - m->have);
}

enum mse_err mse_expired(const struct mse *m)
{
	if (m->state == MSE_FAILED)
		return m->err;
	return m->got < MSE_KEY_LEN ? MSE_ERR_SHORT : MSE_ERR_TIMEOUT;
}

EVP_CIPHER_CTX *mse_evp_rc4(EVP_CIPHER *rc4, const uint8_t key[20], uint64_t used)
{
	static const uint8_t zero[1024];
	uint8_t junk[sizeof(zero)];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n;

	if (!ctx || !EVP_EncryptInit_ex2(ctx, rc4, NULL, NULL, NULL) ||
	    !EVP_CIPHER_CTX_set_key_length(ctx, 20) || !EVP_EncryptInit_ex2(ctx, NULL, key, NULL, NULL))
		goto fail;
	while (used) {
		size_t k = used < sizeof(zero) ? (size_t)used : sizeof(zero);

		if (!EVP_EncryptUpdate(ctx, junk, &n, zero, (int)k))
			goto fail;
		used -= k;
	}
	return ctx;
fail:
	EVP_CIPHER_CTX_free(ctx);
	return NULL;
}

void mse_recv(struct mse_stream *s, uint8_t *buf, size_t n)
{
	size_t k = n < s->in_rc4_left ? n : s->in_rc4_left;

	rc4_apply(&s->in, buf, buf, k);
	s->in_rc4_left -= (uint32_t)k;
	if (s->method == MSE_CRYPTO_RC4)
		rc4_apply(&s->in, buf + k, buf + k, n - k);
}

void mse_send(struct mse_stream *s, uint8_t *buf, size_t n)
{
	if (s->method == MSE_CRYPTO_RC4)
		rc4_apply(&s->out, buf, buf, n);
}
