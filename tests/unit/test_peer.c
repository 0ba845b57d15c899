/*
 * test_peer.c - the peer session's state machine (worker/peer.c, included so
 * its static functions are reachable): the transition table event by event,
 * events that do not apply leave a peer where it is, and the unchoke slots
 * pass from a closing peer to the longest-waiting interested one.
 *
 * The worker around the peers is real but idle: a small ring whose entries
 * are prepared and never submitted, no sockets (descriptors are -1).
 */
#include "worker/peer.c"
#include "tests/unit/test.h"

static struct conf conf;
static struct worker_stats *stats;
static struct worker_args args;
static struct worker wk;
static struct wk_torrent tor;

/* struct worker_stats for one torrent id: counters, then its up bytes and peers gauge */
static uint64_t stats_mem[WSTAT_MAX + 2];

/* Lets go of the worker of the last case and what its peers still hold. */
static void teardown(void)
{
	for (int i = 0; wk.peers && i < conf.max_peers; i++) {
		free(wk.peers[i].q);
		free(wk.peers[i].ctl);
		free(wk.peers[i].ctl_old);
		free(wk.peers[i].intro);
	}
	if (wk.peers)
		io_uring_queue_exit(&wk.ring);
	free(wk.peers);
	free(wk.free_slots);
	wk.peers = NULL;
	wk.free_slots = NULL;
}

static void setup(int unchoke_slots)
{
	teardown();
	REQUIRE(sizeof(stats_mem) >= worker_stats_size(1));
	memset(stats_mem, 0, sizeof(stats_mem));
	conf_defaults(&conf);
	conf.unchoke_slots = unchoke_slots;
	conf.max_peers = 8;
	stats = (struct worker_stats *)stats_mem;
	args = (struct worker_args){ .conf = &conf, .stats = stats, .max_torrents = 1 };
	wk = (struct worker){ .a = &args, .conf = &conf };
	REQUIRE(io_uring_queue_init(64, &wk.ring, 0) == 0);
	wk.peers = calloc((size_t)conf.max_peers, sizeof(*wk.peers));
	wk.free_slots = calloc((size_t)conf.max_peers, sizeof(*wk.free_slots));
	REQUIRE(wk.peers && wk.free_slots);
	tor = (struct wk_torrent){ .id = 1 };
}

/* A peer in state s, as if it had got there: slot i, counted where s counts. */
static struct peer *peer_in(unsigned i, enum peer_state s, bool interested)
{
	struct peer *p = &wk.peers[i];

	*p = (struct peer){ .state = s, .slot = i, .fd = -1, .t = &tor, .interested = interested };
	tw_timer_init(&p->timer);
	tor.peers++;
	wk.n_open++;
	stats->c[WSTAT_PEERS]++;
	if (peer_state_unchoked(s))
		wk.unchoked++;
	return p;
}

static void test_table(void)
{
	struct batch b = { 0 };
	struct peer *p;

	setup(1);
	p = peer_in(0, PEER_INTRO, false);
	CHECK_EQ_INT(peer_next(&wk, p, PEV_INTRO_SENT), PEER_CHOKED);
	CHECK_EQ_INT(peer_next(&wk, p, PEV_INTERESTED), PEER_INTRO); /* remembered, not acted on */
	p->interested = true;
	CHECK_EQ_INT(peer_next(&wk, p, PEV_INTRO_SENT), PEER_SERVING);
	wk.unchoked = 1; /* the one slot is taken */
	CHECK_EQ_INT(peer_next(&wk, p, PEV_INTRO_SENT), PEER_WAITING_SLOT);
	p->state = PEER_CHOKED;
	CHECK_EQ_INT(peer_next(&wk, p, PEV_INTERESTED), PEER_WAITING_SLOT);
	conf.unchoke_slots = 0; /* unlimited */
	CHECK_EQ_INT(peer_next(&wk, p, PEV_INTERESTED), PEER_SERVING);
	p->state = PEER_WAITING_SLOT;
	CHECK_EQ_INT(peer_next(&wk, p, PEV_SLOT_FREE), PEER_SERVING);
	p->interested = false;
	CHECK_EQ_INT(peer_next(&wk, p, PEV_SLOT_FREE), PEER_CHOKED);

	p->state = PEER_SERVING;
	CHECK_EQ_INT(peer_next(&wk, p, PEV_SERVE), PEER_SERVING); /* nothing queued */
	p->q_len = 3;
	CHECK_EQ_INT(peer_next(&wk, p, PEV_SERVE), PEER_WAITING_BATCH); /* the pool is empty */
	wk.free_batches = &b;
	CHECK_EQ_INT(peer_next(&wk, p, PEV_SERVE), PEER_BATCH);
	p->state = PEER_WAITING_BATCH;
	CHECK_EQ_INT(peer_next(&wk, p, PEV_SERVE), PEER_WAITING_BATCH);
	CHECK_EQ_INT(peer_next(&wk, p, PEV_BATCH_FREE), PEER_SERVING);
	p->state = PEER_BATCH;
	CHECK_EQ_INT(peer_next(&wk, p, PEV_SERVE), PEER_BATCH); /* one batch at a time */
	CHECK_EQ_INT(peer_next(&wk, p, PEV_SOCKET_FULL), PEER_WAITING_ROOM);
	CHECK_EQ_INT(peer_next(&wk, p, PEV_BATCH_DONE), PEER_SERVING);
	p->state = PEER_WAITING_ROOM;
	CHECK_EQ_INT(peer_next(&wk, p, PEV_SOCKET_FULL), PEER_WAITING_ROOM);
	CHECK_EQ_INT(peer_next(&wk, p, PEV_BATCH_DONE), PEER_SERVING);

	/* Every open state closes; closing waits for the last operation. */
	for (int s = PEER_INTRO; s < PEER_CLOSING; s++) {
		p->state = (enum peer_state)s;
		CHECK_EQ_INT(peer_next(&wk, p, PEV_CLOSE), PEER_CLOSING);
		CHECK_EQ_INT(peer_next(&wk, p, PEV_LAST_OP), s);
		CHECK_EQ_INT(peer_next(&wk, p, PEV_ADMIT), s);
	}
	p->state = PEER_CLOSING;
	p->ops = 1;
	CHECK_EQ_INT(peer_next(&wk, p, PEV_LAST_OP), PEER_CLOSING);
	CHECK_EQ_INT(peer_next(&wk, p, PEV_CLOSE), PEER_CLOSING);
	CHECK_EQ_INT(peer_next(&wk, p, PEV_INTERESTED), PEER_CLOSING);
	p->ops = 0;
	CHECK_EQ_INT(peer_next(&wk, p, PEV_LAST_OP), PEER_FREE);
	p->state = PEER_FREE;
	CHECK_EQ_INT(peer_next(&wk, p, PEV_ADMIT), PEER_INTRO);
	CHECK_EQ_INT(peer_next(&wk, p, PEV_CLOSE), PEER_FREE);
	wk.free_batches = NULL;
}

/*
 * One slot: A serves, B and C wait in order; C loses interest. A closes:
 * B gets the slot (and an UNCHOKE queued). B closes: C, no longer
 * interested, goes back to CHOKED and the slot stays free.
 */
static void test_slots(void)
{
	struct peer *a, *b, *c;

	setup(1);
	a = peer_in(0, PEER_CHOKED, true);
	b = peer_in(1, PEER_CHOKED, true);
	c = peer_in(2, PEER_CHOKED, true);
	peer_advance(&wk, a, PEV_INTERESTED);
	peer_advance(&wk, b, PEV_INTERESTED);
	peer_advance(&wk, c, PEV_INTERESTED);
	CHECK_EQ_INT(a->state, PEER_SERVING);
	CHECK_EQ_INT(b->state, PEER_WAITING_SLOT);
	CHECK_EQ_INT(c->state, PEER_WAITING_SLOT);
	CHECK_EQ_INT(wk.unchoked, 1);
	CHECK(a->ctl_len == 5 || a->ctl_inflight == 5); /* UNCHOKE, maybe already going out */
	c->interested = false;

	peer_close(&wk, a, -1);
	CHECK_EQ_INT(a->state, PEER_CLOSING); /* its control send holds it */
	CHECK_EQ_INT(b->state, PEER_SERVING);
	CHECK_EQ_INT(c->state, PEER_WAITING_SLOT);
	CHECK_EQ_INT(wk.unchoked, 1);
	peer_put(&wk, a); /* the send's completion */
	CHECK_EQ_INT(a->state, PEER_FREE);

	peer_close(&wk, b, WSTAT_DROP_IDLE);
	CHECK_EQ_INT(stats->c[WSTAT_DROP_IDLE], 1);
	CHECK_EQ_INT(c->state, PEER_CHOKED);
	CHECK_EQ_INT(wk.unchoked, 0);
	CHECK(wk.unchoke_wait.head == NULL);
	peer_put(&wk, b);
	CHECK_EQ_INT(b->state, PEER_FREE);

	/* Closing a waiting peer takes it off the queue. */
	peer_advance(&wk, c, PEV_INTERESTED); /* c->interested is false: stays choked */
	CHECK_EQ_INT(c->state, PEER_CHOKED);
	c->interested = true;
	peer_advance(&wk, c, PEV_INTERESTED);
	CHECK_EQ_INT(c->state, PEER_SERVING);
	CHECK_EQ_INT(wk.unchoked, 1);
	CHECK_EQ_INT(stats->c[WSTAT_PEERS], 1);
}

/* A peer waiting for a batch leaves the batch queue when it closes. */
static void test_batch_queue(void)
{
	struct peer *a, *b;

	setup(0);
	a = peer_in(0, PEER_SERVING, true);
	b = peer_in(1, PEER_SERVING, true);
	a->q_len = b->q_len = 1;
	peer_advance(&wk, a, PEV_SERVE);
	peer_advance(&wk, b, PEV_SERVE);
	CHECK_EQ_INT(a->state, PEER_WAITING_BATCH);
	CHECK_EQ_INT(b->state, PEER_WAITING_BATCH);
	CHECK(wk.batch_wait.head == a && wk.batch_wait.tail == b);
	peer_close(&wk, a, -1);
	CHECK(wk.batch_wait.head == b && wk.batch_wait.tail == b);
	CHECK_EQ_INT(a->state, PEER_FREE); /* nothing of it in flight */
	CHECK_EQ_INT(wk.unchoked, 1);
	peer_advance(&wk, b, PEV_BATCH_FREE);
	CHECK_EQ_INT(b->state, PEER_SERVING);
	CHECK(b->ready); /* pumped at the end of the turn */
}

int main(void)
{
	test_table();
	test_slots();
	test_batch_queue();
	teardown();
	return test_done("peer");
}
