/*
 * fuzz_mse.c - libFuzzer target for proto/mse.
 *
 * Input: a control byte, then a tape. The low bits of the control byte pick
 * the run:
 *   0: a receiver (policy from the control byte) fed the tape as a peer's
 *      stream, in chunks whose sizes come from the tape itself;
 *   1: an initiator fed the tape the same way;
 *   2, 3: a real initiator and receiver talking, with the tape XORed onto
 *      the initiator's (2) or receiver's (3) bytes from a tape-given offset
 *      on, so the fuzzer reaches the stages past the key exchange.
 * Invariants: mse_feed never takes more than it was given, and takes all of
 * at most mse_want bytes unless it finished or failed; out never passes MSE_OUT_MAX; a
 * failure names an error and is sticky; a receiver never reads more than
 * 96 + 532 + 14 + 514 bytes before it is done; an untampered conversation
 * ends with both sides done, agreeing on the method and the IA.
 */
#include <string.h>

#include "proto/mse.h"
#include "tests/fuzz/fuzz.h"

static const uint8_t ih[20] = "fuzz-torrent-hash-01";

static int find(void *ctx, const uint8_t req2[20], uint8_t out[20])
{
	uint8_t h[20];

	(void)ctx;
	mse_req2(ih, h);
	if (memcmp(h, req2, 20) != 0)
		return -1;
	memcpy(out, ih, 20);
	return 0;
}

static struct mse_policy fuzz_policy(uint8_t ctl)
{
	uint8_t allow = (ctl >> 2) & 3;

	return (struct mse_policy){ .allow = allow ? allow : 3,
				    .prefer_rc4 = ctl & 0x10,
				    .pad_max = ctl & 0x20 ? 0 : MSE_PAD_MAX,
				    .ia_max = ctl & 0x40 ? 68 : MSE_IA_MAX,
				    .find = find };
}

/* One feed, checked; returns the bytes taken. */
static size_t feed(struct mse *m, const uint8_t *in, size_t n, int *r)
{
	size_t used = 99999, want = mse_want(m);
	enum mse_state before = m->state;
	int rc = mse_feed(m, in, n, &used);

	ASSERT(used <= n);
	ASSERT(rc >= -1 && rc <= 1);
	ASSERT(m->out_len <= MSE_OUT_MAX);
	if (before == MSE_FAILED || before == MSE_DONE)
		ASSERT(used == 0);
	/* What mse_want allowed is taken whole while the handshake goes on. */
	if (n <= want && rc == 0)
		ASSERT(used == n);
	if (rc < 0) {
		ASSERT(m->state == MSE_FAILED && m->err > MSE_ERR_NONE && m->err < MSE_ERR_MAX);
		ASSERT(strcmp(mse_err_name(m->err), "unknown") != 0);
		ASSERT(mse_want(m) == 0 && mse_expired(m) == m->err);
	}
	if (rc == 1)
		ASSERT(m->state == MSE_DONE && mse_want(m) == 0);
	*r = rc;
	return used;
}

static void one_side(uint8_t ctl, const uint8_t *tape, size_t n)
{
	struct mse_policy pol = fuzz_policy(ctl);
	uint8_t rnd[MSE_RAND_LEN] = { 7, 1, 2, 3 };
	struct mse m;
	size_t pos = 0, k = 0;
	int r = 0;

	if (ctl & 1)
		ASSERT(mse_init_initiator(&m, &pol, rnd, ih, (const uint8_t *)"ia", 2) == 0);
	else
		ASSERT(mse_init_receiver(&m, &pol, rnd) == 0);
	while (pos < n && r == 0) {
		size_t len = 1 + tape[k++ % n] % 200;

		if (len > n - pos)
			len = n - pos;
		m.out_len = 0;
		pos += feed(&m, tape + pos, len, &r);
	}
	if (!(ctl & 1) && r == 1)
		ASSERT(m.got <= 96 + MSE_PAD_MAX + 20 + 20 + 14 + MSE_PAD_MAX + 2);
}

/* A conversation with the tape XORed onto one direction from an offset. */
static void conversation(uint8_t ctl, const uint8_t *tape, size_t n)
{
	struct mse_policy pa, pb = fuzz_policy(ctl);
	uint8_t rnd[MSE_RAND_LEN];
	static struct mse a, b;
	static uint8_t ab[8192], ba[8192];
	size_t ab_len = 0, ba_len = 0, ab_pos = 0, ba_pos = 0, off;
	bool tamper_ab = !(ctl & 1), touched;
	int ra = 0, rb = 0;

	if (n < 3)
		return;
	pa = fuzz_policy(tape[2]);
	pa.ia_max = MSE_IA_MAX;
	off = ((size_t)tape[0] << 8 | tape[1]) % 1400;
	for (int i = 0; i < MSE_RAND_LEN; i++)
		rnd[i] = (uint8_t)(i * 37 + ctl);
	rnd[20] = tape[0];
	rnd[22] = tape[1];
	ASSERT(mse_init_initiator(&a, &pa, rnd, ih, (const uint8_t *)"handshake", 9) == 0);
	rnd[5] ^= 0x55;
	ASSERT(mse_init_receiver(&b, &pb, rnd) == 0);
	tape += 3;
	n -= 3;
	for (int turn = 0; turn < 64; turn++) {
		size_t used;

		/* a's output onto ab, b's onto ba, the tape XORed from off. */
		for (size_t i = 0; i < a.out_len && ab_len < sizeof(ab); i++, ab_len++)
			ab[ab_len] =
				a.out[i] ^
				(tamper_ab && n && ab_len >= off ? tape[(ab_len - off) % n] : 0);
		for (size_t i = 0; i < b.out_len && ba_len < sizeof(ba); i++, ba_len++)
			ba[ba_len] =
				b.out[i] ^
				(!tamper_ab && n && ba_len >= off ? tape[(ba_len - off) % n] : 0);
		a.out_len = b.out_len = 0;
		used = 0;
		if (rb == 0 && ab_pos < ab_len)
			ab_pos += used = feed(&b, ab + ab_pos, ab_len - ab_pos, &rb);
		if (ra == 0 && ba_pos < ba_len)
			ba_pos += feed(&a, ba + ba_pos, ba_len - ba_pos, &ra);
		if (a.out_len == 0 && b.out_len == 0 && used == 0 && (ra || rb))
			break;
	}
	touched = n && off < (tamper_ab ? ab_len : ba_len);
	if (!touched && (pa.allow & pb.allow))
		ASSERT(ra == 1 && rb == 1);
	/* With the initiator's bytes as sent, the receiver stops right before the IA. */
	if (ra == 1 && rb == 1 && (!tamper_ab || !touched)) {
		uint8_t ia[9];

		ASSERT(a.st.method == b.st.method || touched); /* a select the tape changed */
		ASSERT(ab_len - ab_pos == 9);
		memcpy(ia, ab + ab_pos, 9);
		mse_recv(&b.st, ia, 9);
		ASSERT(memcmp(ia, "handshake", 9) == 0);
	}
	/* Nothing both allow, and the offer reached the receiver as sent: it refuses. */
	if (!(pa.allow & pb.allow) && rb != 0 && (!tamper_ab || !touched))
		ASSERT(rb == -1 && b.err != MSE_ERR_NONE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	switch (data[0] & 3) {
	case 0:
	case 1:
		one_side(data[0], data + 1, size - 1);
		break;
	default:
		conversation(data[0], data + 1, size - 1);
		break;
	}
	return 0;
}
