/*
 * test_choke.c - the choker's pure parts (worker/choke.c, included so its
 * static functions are reachable): each choker's scores order peers as the
 * README says, and the split of the box's slots between workers, read from
 * their published lists, gives every worker the same answer: the best
 * unchoke_slots scores, ties to the lower worker, stale lists left out,
 * unclaimed slots counted, one optimistic owner per round.
 */
#include "worker/choke.c"
#include "tests/unit/test.h"

static struct conf conf;
static struct worker_args args;
static struct worker wk;
static struct wk_torrent tor;
static struct worker_shared *sh;

static void setup(int choker, int slots, unsigned workers, unsigned index)
{
	free(sh);
	free(wk.ch_pubs);
	sh = calloc(1, worker_shared_size(workers));
	REQUIRE(sh != NULL);
	conf_defaults(&conf);
	conf.choker = choker;
	conf.unchoke_slots = slots;
	conf.rechoke_interval = 10;
	conf.optimistic_interval = 30;
	args = (struct worker_args){
		.conf = &conf, .shared = sh, .workers = workers, .index = index
	};
	wk = (struct worker){ .a = &args, .conf = &conf };
	wk.ch_pubs = calloc(workers, sizeof(*wk.ch_pubs));
	REQUIRE(wk.ch_pubs != NULL);
	tor = (struct wk_torrent){ .id = 1 };
	tor.mi.piece_length = 32768;
	tor.mi.piece_count = 100;
}

static struct peer mk(enum peer_state s, uint64_t since, uint64_t sent, uint32_t have)
{
	struct peer p = { .state = s, .t = &tor, .interested = true };

	p.ch.since_ms = since;
	p.ch.sent = sent;
	p.ch.have_n = have;
	return p;
}

static void test_scores(void)
{
	uint64_t now = 100000;
	struct peer up_fresh = mk(PEER_SERVING, now - 5000, 100000, 0);
	struct peer up_spent = mk(PEER_SERVING, now - 5000, 2u << 20, 0);
	struct peer up_old = mk(PEER_BATCH, now - 61000, 1000, 0);
	struct peer wait_long = mk(PEER_WAITING_SLOT, now - 9000, 0, 0);
	struct peer wait_short = mk(PEER_WAITING_SLOT, now - 1000, 0, 0);

	setup(CONF_CHOKER_ROUND_ROBIN, 2, 1, 0);
	CHECK(choke_score(&wk, &up_fresh, now) == CHOKE_KEEP);
	CHECK_EQ_INT(choke_score(&wk, &up_spent, now), 1); /* its quota: 4 pieces < 1 MiB */
	CHECK_EQ_INT(choke_score(&wk, &up_old, now), 1);   /* a minute */
	CHECK(choke_score(&wk, &wait_long, now) > choke_score(&wk, &wait_short, now));
	CHECK(choke_score(&wk, &wait_short, now) > choke_score(&wk, &up_spent, now));

	setup(CONF_CHOKER_ALL, 2, 1, 0);
	CHECK(choke_score(&wk, &up_spent, now) == CHOKE_KEEP); /* kept until it leaves */
	CHECK(choke_score(&wk, &wait_long, now) > choke_score(&wk, &wait_short, now));

	setup(CONF_CHOKER_FASTEST, 2, 1, 0);
	up_fresh.ch.rate = 1000000;
	up_spent.ch.rate = 200000;
	CHECK(choke_score(&wk, &up_fresh, now) > choke_score(&wk, &up_spent, now));
	CHECK(choke_score(&wk, &up_spent, now) > choke_score(&wk, &wait_long, now));
	CHECK(choke_score(&wk, &wait_long, now) > choke_score(&wk, &wait_short, now));

	setup(CONF_CHOKER_ANTI_LEECH, 2, 1, 0);
	{
		struct peer none = mk(PEER_WAITING_SLOT, now - 10, 0, 0);
		struct peer most = mk(PEER_WAITING_SLOT, now - 10, 0, 97);
		struct peer half = mk(PEER_WAITING_SLOT, now - 9000, 0, 50);
		struct peer liar = mk(PEER_WAITING_SLOT, now - 10, 0, 5000);

		CHECK(choke_score(&wk, &none, now) > choke_score(&wk, &most, now));
		CHECK(choke_score(&wk, &most, now) > choke_score(&wk, &half, now));
		CHECK(choke_score(&wk, &liar, now) >= choke_score(&wk, &none, now)); /* clamped */
	}
}

static void publish(unsigned i, uint64_t epoch, uint32_t cands, const uint64_t *s, uint32_t n)
{
	struct worker_pub *p = &sh->pub[i];

	p->seq += 2;
	p->epoch = epoch;
	p->candidates = cands;
	p->n = n;
	memcpy(p->score, s, n * sizeof(*s));
}

static void test_split(void)
{
	static const uint64_t a[] = { 100, 5 }, b[] = { 50, 40 }, c[] = { 100, 100 };
	struct choke_split sp;

	setup(CONF_CHOKER_ROUND_ROBIN, 2, 2, 0);
	wk.ch.epoch = 7;
	publish(0, 7, 2, a, 2);
	publish(1, 7, 2, b, 2);
	choke_split(&wk, &sp);
	CHECK_EQ_INT(sp.mine, 1); /* 100 and 50 */
	CHECK_EQ_INT(sp.unclaimed, 0);
	args.index = 1;
	choke_split(&wk, &sp);
	CHECK_EQ_INT(sp.mine, 1);

	publish(1, 7, 2, c, 2); /* ties: the lower worker first */
	args.index = 0;
	choke_split(&wk, &sp);
	CHECK_EQ_INT(sp.mine, 1);
	args.index = 1;
	choke_split(&wk, &sp);
	CHECK_EQ_INT(sp.mine, 1);

	publish(1, 6, 2, c, 2); /* a stale list: left out */
	args.index = 0;
	choke_split(&wk, &sp);
	CHECK_EQ_INT(sp.mine, 2);
	CHECK_EQ_INT(sp.unclaimed, 0);

	sh->pub[1].seq = 3; /* being written, every time: left out */
	choke_split(&wk, &sp);
	CHECK_EQ_INT(sp.mine, 2);

	publish(0, 7, 1, a, 1); /* fewer candidates than slots */
	publish(1, 7, 0, b, 0);
	choke_split(&wk, &sp);
	CHECK_EQ_INT(sp.mine, 1);
	CHECK_EQ_INT(sp.unclaimed, 1);
}

static void test_optimistic_owner(void)
{
	static const uint64_t a[] = { 100, 90, 80 }, b[] = { 10, 9, 8 };
	struct choke_split sp;

	setup(CONF_CHOKER_FASTEST, 2, 2, 0);
	/* epoch * 10 s / 30 s = the round: 3 -> round 1 -> worker 1 first */
	wk.ch.epoch = 3;
	publish(0, 3, 3, a, 3);
	publish(1, 3, 3, b, 3);
	choke_split(&wk, &sp);
	CHECK_EQ_INT(sp.mine, 2);
	CHECK_EQ_INT(sp.opt_owner, 1);
	wk.ch.epoch = 6; /* round 2: worker 0, which has a peer left out */
	publish(0, 6, 3, a, 3);
	publish(1, 6, 3, b, 3);
	choke_split(&wk, &sp);
	CHECK_EQ_INT(sp.opt_owner, 0);
	publish(0, 6, 2, a, 2); /* worker 0 has nobody left out: worker 1 */
	choke_split(&wk, &sp);
	CHECK_EQ_INT(sp.opt_owner, 1);
	setup(CONF_CHOKER_ROUND_ROBIN, 2, 2, 0); /* no optimistic unchoke but for fastest */
	wk.ch.epoch = 6;
	publish(0, 6, 3, a, 3);
	choke_split(&wk, &sp);
	CHECK_EQ_INT(sp.opt_owner, -1);
}

int main(void)
{
	test_scores();
	test_split();
	test_optimistic_owner();
	free(sh);
	free(wk.ch_pubs);
	return test_done("choke");
}
