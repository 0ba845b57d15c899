/*
 * pace.c - how a leecher behaves in time: request pacing, round trips and
 * receive caps. What the seeder sees from real clients, not from a bench that
 * asks for everything at once.
 *
 * Requests (--requests): trickle (the default) writes each new request alone
 * the moment the block it replaces has arrived, which is what libtorrent and
 * aria2 do once a peer's rate is well under 1 MB/s: one read brings one block
 * and the client answers with one 17-byte write. Burst refills the whole queue
 * after each read in one write. conn.c decides when a request is made; here it
 * is held (--rtt) or put on the wire.
 *
 * Round trip (--rtt T): every request waits T before it is written, so a
 * connection can have at most Q blocks per T: Q x 16 KiB / T. Every hold is
 * equally long, so the held requests of all connections form one FIFO in due
 * order: a ring of N x Q entries at most (a request held is outstanding and
 * counts against the queue). A connection that drops its requests (a choke
 * without the Fast extension) bumps its epoch; the entries of the old epoch
 * are skipped when due.
 *
 * Receive caps (--rate, --mix): a token bucket per connection, filled at its
 * class's rate up to PACE_BURST_S of it (and at least one block). A capped
 * connection reads with single-shot recvs of at most its tokens; out of
 * tokens it does not read at all until it has a block's worth again, so its
 * socket's receive buffer fills, the window closes and the seeder's socket
 * stays full: TCP's own backpressure, as behind a slow link. The wait is a
 * timer on a wheel of 1 ms ticks.
 *
 * Classes (--mix 90:500K,10:0): connection i goes to the class that lags its
 * share most after i connections, so every prefix of the ramp is mixed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

#define PACE_BURST_S 0.05 /* a bucket holds 50 ms of its rate */

const char *pace_requests_name(enum req_pacing p)
{
	return p == REQ_BURST ? "burst" : "trickle";
}

static void pace_classes(struct bench *b)
{
	uint32_t count[BENCH_MAX_CLASSES] = { 0 };

	for (uint32_t i = 0; i < b->o.conns; i++) {
		uint32_t best = 0;
		int64_t lag_best = INT64_MIN;

		for (uint32_t k = 0; k < b->o.nclasses; k++) {
			int64_t lag =
				(int64_t)b->o.classes[k].pct * (i + 1) - 100 * (int64_t)count[k];

			if (lag > lag_best) {
				lag_best = lag;
				best = k;
			}
		}
		count[best]++;
		b->conns[i].cls = (uint8_t)best;
	}
}

int pace_setup(struct bench *b)
{
	pace_classes(b);
	if (b->o.rtt_ns) {
		b->held_cap = b->o.conns * (b->o.queue ? b->o.queue : 1);
		b->held = calloc(b->held_cap, sizeof(*b->held));
		if (!b->held)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < b->o.conns; i++)
		tw_timer_init(&b->conns[i].wake);
	return 0;
}

void pace_free(struct bench *b)
{
	free(b->held);
	b->held = NULL;
}

void pace_request(struct bench *b, struct conn *c, struct bench_req r, bool alone)
{
	struct pace_held *h;

	if (!b->o.rtt_ns || b->held_len == b->held_cap) {
		/* Full cannot happen (N x Q entries): written now rather than lost. */
		conn_write_request(b, c, r, alone);
		return;
	}
	h = &b->held[(b->held_head + b->held_len++) % b->held_cap];
	h->due = bench_now_ns() + b->o.rtt_ns;
	h->conn = c->idx;
	h->epoch = c->epoch;
	h->r = r;
	h->alone = alone;
}

uint64_t pace_release(struct bench *b, uint64_t now)
{
	while (b->held_len) {
		struct pace_held *h = &b->held[b->held_head];
		struct conn *c;

		if (h->due > now)
			return h->due;
		c = &b->conns[h->conn];
		if (c->state == CONN_ACTIVE && c->epoch == h->epoch)
			conn_write_request(b, c, h->r, h->alone);
		b->held_head = (b->held_head + 1) % b->held_cap;
		b->held_len--;
	}
	return UINT64_MAX;
}

bool pace_capped(const struct bench *b, const struct conn *c)
{
	return b->o.classes[c->cls].rate != 0;
}

static int64_t pace_bucket(uint64_t rate)
{
	int64_t cap = (int64_t)((double)rate * PACE_BURST_S);

	return cap > BENCH_BLOCK ? cap : BENCH_BLOCK;
}

uint32_t pace_allow(struct bench *b, struct conn *c, uint64_t now, uint64_t *wait_ms)
{
	uint64_t rate = b->o.classes[c->cls].rate;
	int64_t cap = pace_bucket(rate);

	if (!rate)
		return UINT32_MAX;
	if (!c->t_tokens) {
		c->tokens = cap;
	} else if (now > c->t_tokens) {
		c->tokens += (int64_t)((double)(now - c->t_tokens) * (double)rate / 1e9);
		if (c->tokens > cap)
			c->tokens = cap;
	}
	c->t_tokens = now;
	if (c->tokens >= BENCH_BLOCK || c->tokens >= cap)
		return c->tokens > UINT32_MAX ? UINT32_MAX : (uint32_t)c->tokens;
	*wait_ms = (uint64_t)((double)(BENCH_BLOCK - c->tokens) * 1e3 / (double)rate) + 1;
	b->throttles++;
	return 0;
}

void pace_spend(struct bench *b, struct conn *c, uint32_t n)
{
	(void)b;
	c->tokens -= n;
}

void pace_note(struct bench *b, int at)
{
	uint64_t *v = b->count_at[at];

	v[0] = b->blocks;
	v[1] = b->reqs_sent;
	v[2] = b->req_writes;
	v[3] = b->recv_cqes;
	v[4] = b->throttles;
}
