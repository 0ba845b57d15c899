/*
 * test_superseed.c - super-seeding's choices (worker/superseed.c, included so
 * its static functions are reachable): the piece shown is the rarest one the
 * peer has not got or been shown, counted over every worker's row; the next
 * is shown once another peer has it; a request for a piece not shown is
 * refused; a claim only the shown peers could back counts for nothing until
 * judged, and two such make a liar whose counts leave; a closed peer's
 * counts leave too; under auto, a leecher that has every piece is a seed
 * and turns the mode off until it leaves.
 *
 * The worker is real but idle, as in test_peer.c: a small ring whose
 * entries are prepared and never submitted, no sockets.
 */
#include "worker/superseed.c"
#include "tests/unit/test.h"

#define PIECES 8

static struct conf conf;
static struct worker_args args;
static struct worker wk;
static struct wk_torrent tor;
static uint64_t *stats_mem;
static struct worker_swarm *area; /* two rows: ours (0) and another worker's (1) */

static void setup(void)
{
	conf_defaults(&conf);
	conf.max_peers = 8;
	conf.super_seed = CONF_SS_ON;
	stats_mem = calloc(1, worker_stats_size(1));
	REQUIRE(stats_mem != NULL);
	args = (struct worker_args){ .conf = &conf,
				     .stats = (struct worker_stats *)stats_mem,
				     .max_torrents = 1,
				     .index = 0 };
	wk = (struct worker){ .a = &args, .conf = &conf };
	REQUIRE(io_uring_queue_init(64, &wk.ring, 0) == 0);
	wk.peers = calloc((size_t)conf.max_peers, sizeof(*wk.peers));
	REQUIRE(wk.peers != NULL);
	tor = (struct wk_torrent){ .id = 1, .complete = true };
	tor.mi.piece_count = PIECES;
	tor.mi.name = "t";
	area = calloc(1, worker_swarm_size(PIECES, 2));
	REQUIRE(area != NULL);
	*area = (struct worker_swarm){ .pieces = PIECES, .workers = 2 };
	REQUIRE(ss_torrent_get(&wk, &tor) != NULL);
	/* what ss_attach does, without the memfd */
	tor.ss->area = area;
	tor.ss->rows = 2;
	tor.ss->row = worker_swarm_row(area, 0);
	free(tor.ss->own);
	tor.ss->own = NULL;
}

/* A hidden peer in slot i that said have_none: it is shown a piece at once. */
static struct peer *peer_new(unsigned i)
{
	struct peer *p = &wk.peers[i];
	uint8_t out[8];
	size_t n;

	*p = (struct peer){ .state = PEER_CHOKED, .slot = i, .fd = -1, .t = &tor, .fast = true };
	REQUIRE(ss_intro(&wk, p, out, &n));
	CHECK_EQ_INT(n, WIRE_SIMPLE_LEN);
	CHECK_EQ_INT(out[4], WIRE_HAVE_NONE);
	p->sending_ctl = true; /* what it is sent stays in ctl, where the test reads it */
	ss_heard(&wk, p);
	return p;
}

static uint32_t cnt(uint32_t row, uint32_t piece, int shown)
{
	return worker_swarm_row(area, row)->cnt[2 * piece + (uint32_t)shown];
}

static void test_rarest(void)
{
	struct peer *a, *b;

	/* the other worker's peers have every piece but 5, twice over */
	for (uint32_t i = 0; i < PIECES; i++)
		worker_swarm_row(area, 1)->cnt[2 * i] = i == 5 ? 0 : 2;
	worker_swarm_row(area, 1)->leechers = 3;
	a = peer_new(0);
	CHECK_EQ_INT(a->ss->cur, 5);
	CHECK_EQ_INT(cnt(0, 5, 1), 1); /* counted as shown */
	CHECK_EQ_INT(a->ctl_len, WIRE_HAVE_LEN);
	CHECK_EQ_INT(a->ctl[4], WIRE_HAVE);
	CHECK_EQ_INT(a->ctl[8], 5);
	worker_swarm_row(area, 1)->cnt[2 * 3] = 0; /* 5 is shown to a: 3 is the rarest now */
	b = peer_new(1);
	CHECK_EQ_INT(b->ss->cur, 3);

	/* b says it has 5 but was not shown it and nobody has it: held, not counted */
	ss_have(&wk, b, 5);
	CHECK_EQ_INT(cnt(0, 5, 0), 0);
	CHECK_EQ_INT(b->ss->n_claims, 1);
	ss_advance(&wk, a);
	CHECK_EQ_INT(a->ss->cur, 5); /* not seen anywhere yet */

	/* a gets 5 and says so; then another worker's peer has it: a is shown the next */
	ss_have(&wk, a, 5);
	CHECK_EQ_INT(cnt(0, 5, 0), 1);
	CHECK_EQ_INT(cnt(0, 5, 1), 0);
	CHECK_EQ_INT(a->ss->cur, 5);
	worker_swarm_row(area, 1)->cnt[2 * 5] = 1;
	worker_swarm_row(area, 1)->cnt[2 * 0] = 0; /* the rarest next */
	ss_advance(&wk, a);
	CHECK_EQ_INT(a->ss->cur, 0);
	CHECK_EQ_INT(wk.a->stats->c[WSTAT_SS_REVEALS], 3);

	/* b's claim of 5 is judged a second later: 5 is out there now, so it counts */
	b->ss->claim_ms[0] -= SS_CLAIM_MS;
	ss_judge(&wk, b);
	CHECK_EQ_INT(b->ss->n_claims, 0);
	CHECK_EQ_INT(cnt(0, 5, 0), 2);
	CHECK_EQ_INT(b->ss->strikes, 0);
}

static void test_requests_and_liars(void)
{
	struct peer *a = &wk.peers[0], *b = &wk.peers[1], *c;
	struct wire_event e = { .id = WIRE_REQUEST, .begin = 0, .length = 16384 };
	uint32_t x;

	e.piece = a->ss->cur;
	CHECK(ss_request_ok(&wk, a, &e)); /* shown to it */
	e.piece = b->ss->cur;
	CHECK(!ss_request_ok(&wk, a, &e)); /* shown to b only */
	CHECK_EQ_INT(wk.a->stats->c[WSTAT_SS_REFUSED], 1);

	/* c claims twice what only a and b were shown and do not have: a liar */
	worker_swarm_row(area, 1)->cnt[2 * 1] = 0;
	c = peer_new(2);
	CHECK_EQ_INT(c->ss->cur, 1);
	x = a->ss->cur;
	ss_have(&wk, c, x);
	ss_have(&wk, c, b->ss->cur);
	CHECK_EQ_INT(c->ss->n_claims, 2);
	c->ss->claim_ms[0] -= SS_CLAIM_MS;
	c->ss->claim_ms[1] -= SS_CLAIM_MS;
	ss_judge(&wk, c);
	CHECK(c->ss->liar);
	CHECK_EQ_INT(wk.a->stats->c[WSTAT_SS_LIARS], 1);
	ss_have(&wk, c, 0); /* not heard any more */
	CHECK(!ss_bit(c->ss->has, 0));

	/* b asks for a piece it said it had: a liar, and its have of 5 leaves the counts */
	CHECK_EQ_INT(cnt(0, 5, 0), 2);
	e.piece = 5;
	ss_request_ok(&wk, b, &e);
	CHECK(b->ss->liar);
	CHECK_EQ_INT(cnt(0, 5, 0), 1);

	/* closing: every count a peer added goes */
	for (unsigned i = 0; i < 3; i++) {
		ss_peer_free(&wk, &wk.peers[i]);
		free(wk.peers[i].ctl);
	}
	for (uint32_t i = 0; i < PIECES; i++) {
		CHECK_EQ_INT(cnt(0, i, 0), 0);
		CHECK_EQ_INT(cnt(0, i, 1), 0);
	}
	CHECK_EQ_INT(worker_swarm_row(area, 0)->leechers, 0);
	CHECK_EQ_INT(tor.ss->n_waiting, 0);
}

/* auto: a leecher whose haves come to every piece is another seed: kept, and the mode goes off */
static void test_auto(void)
{
	struct peer *d;

	conf.super_seed = CONF_SS_AUTO;
	d = peer_new(3);
	CHECK(d->ss->hidden);
	for (uint32_t i = 0; i < PIECES; i++)
		ss_have(&wk, d, i);
	CHECK(d->ss->seed);
	CHECK_EQ_INT(worker_swarm_row(area, 0)->seeds, 1);
	CHECK(!ss_eval(&wk, &tor, true));
	CHECK_EQ_INT(wk.a->stats->c[WSTAT_SS_OFF], 1);
	ss_peer_free(&wk, d);
	free(d->ctl);
	CHECK_EQ_INT(worker_swarm_row(area, 0)->seeds, 0);
	CHECK(ss_eval(&wk, &tor, true)); /* it left: on again */
}

int main(void)
{
	setup();
	test_rarest();
	test_requests_and_liars();
	test_auto();
	tor.ss->area = NULL; /* ours, not mapped */
	ss_torrent_free(&tor);
	free(area);
	io_uring_queue_exit(&wk.ring);
	free(wk.peers);
	free(stats_mem);
	return test_done("superseed");
}
