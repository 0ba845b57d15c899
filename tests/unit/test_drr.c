/*
 * test_drr.c - deficit round robin by bytes (worker/drr.h), driven the way
 * send.c drives it: a visit adds a quantum, the batch takes queued blocks
 * while the next one fits, what it took is charged. Peers whose queues differ
 * get the same bytes per round; a peer with one request is served in its
 * first round; a block as large as max_request always fits; an idle peer
 * saves nothing up.
 */
#include "tests/unit/test.h"
#include "worker/drr.h"

#define HDR	13u
#define BLOCK	16384u
#define LIMIT	32u /* WK_SPLICE_BLOCKS: a batch's own cap */

/* One visit: up to LIMIT blocks of len bytes out of *queued; returns the bytes sent. */
static uint32_t visit(int64_t *deficit, uint32_t quantum, uint32_t *queued, uint32_t len)
{
	uint32_t bytes = 0, blocks = 0;

	drr_visit(deficit, quantum);
	while (*queued && blocks < LIMIT && drr_fits(*deficit, bytes, HDR + len)) {
		bytes += HDR + len;
		blocks++;
		(*queued)--;
	}
	drr_charge(deficit, quantum, bytes, *queued);
	return bytes;
}

/* A deep queue (64 outstanding, refilled at once) and a shallow one (16) share alike. */
static void test_equal_shares(void)
{
	uint32_t q = drr_quantum(BLOCK);
	int64_t d_deep = 0, d_thin = 0;
	uint64_t deep = 0, thin = 0;

	for (int round = 0; round < 1000; round++) {
		uint32_t q_deep = 64, q_thin = 16;
		uint32_t got = visit(&d_deep, q, &q_deep, BLOCK);

		CHECK(got <= q); /* never more than a share in one round */
		deep += got;
		thin += visit(&d_thin, q, &q_thin, BLOCK);
	}
	/* Both always wanted more than a share: the same bytes, to within one block. */
	CHECK(deep == thin);
	CHECK_EQ_INT((int)(deep / 1000), (int)(DRR_QUANTUM));
}

static void test_small_queue_served_first_round(void)
{
	int64_t d = 0;
	uint32_t one = 1;

	CHECK_EQ_INT((int)visit(&d, drr_quantum(BLOCK), &one, BLOCK), (int)(HDR + BLOCK));
	CHECK_EQ_INT((int)one, 0);
	CHECK(d == 0); /* its queue emptied: no credit kept */
}

/* max_request up to 128 KiB (conf): the quantum grows so one block always fits. */
static void test_large_block_fits(void)
{
	uint32_t big = 131072, q = drr_quantum(big), queued = 64;
	int64_t d = 0;

	CHECK(q >= big + HDR);
	for (int i = 0; i < 16; i++)
		CHECK(visit(&d, q, &queued, big) >= big + HDR);
	CHECK(queued < 64 - 16);
}

/* Odd lengths (a piece's last block) carry a remainder over, never more than a quantum. */
static void test_remainder_bounded(void)
{
	uint32_t q = drr_quantum(BLOCK);
	int64_t d = 0;
	uint64_t sent = 0;

	for (int round = 1; round <= 500; round++) {
		uint32_t queued = 100;

		sent += visit(&d, q, &queued, 10000);
		CHECK(d >= 0 && d <= (int64_t)q);
		/* Over r rounds: r quanta, less what is still owed (at most one message). */
		CHECK(sent <= (uint64_t)round * q && sent + HDR + 10000 > (uint64_t)round * q);
	}
}

int main(void)
{
	test_equal_shares();
	test_small_queue_served_first_round();
	test_large_block_fits();
	test_remainder_bounded();
	return test_done("drr");
}
