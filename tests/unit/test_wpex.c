/*
 * test_wpex.c - peer exchange in a worker (worker/pex.c, included so its
 * static functions are reachable): what each peer is told from the
 * torrent's list as the master's ADDs and DELs change it. Its own entry
 * never, nothing twice, drops only of what it could have been told, at
 * most one message a minute, 50 added and 50 dropped after a first of up to
 * 200, none on a private torrent or with pex.enable off; and the bound on
 * what a peer sends us.
 *
 * The worker is real but idle, as in test_peer: a ring whose entries are
 * prepared and never submitted, descriptors -1. A message "sent" is read
 * back from the peer's control bytes.
 */
#include "worker/pex.c"
#include "proto/bytes.h"
#include "tests/unit/test.h"

static struct conf conf;
static struct worker_args args;
static struct worker wk;
static struct wk_torrent tor;
static uint64_t *stats_mem;
static uint64_t now_ms;

static void setup(void)
{
	free(stats_mem);
	stats_mem = calloc(1, worker_stats_size(1));
	REQUIRE(stats_mem != NULL);
	conf_defaults(&conf);
	conf.max_peers = 4;
	args = (struct worker_args){ .conf = &conf,
				     .stats = (struct worker_stats *)stats_mem,
				     .max_torrents = 1,
				     .index = 1 };
	if (wk.peers) {
		for (int i = 0; i < conf.max_peers; i++)
			free(wk.peers[i].ctl);
		io_uring_queue_exit(&wk.ring);
	}
	free(wk.peers);
	wpex_torrent_free(&tor);
	wk = (struct worker){ .a = &args, .conf = &conf };
	REQUIRE(io_uring_queue_init(256, &wk.ring, 0) == 0);
	wk.peers = calloc((size_t)conf.max_peers, sizeof(*wk.peers));
	REQUIRE(wk.peers != NULL);
	tor = (struct wk_torrent){ .id = 1 };
	now_ms = tw_now_ms();
}

/* A peer of tor on this worker (index 1) in slot i, speaking ut_pex with id 7. */
static struct peer *peer_at(unsigned i)
{
	struct peer *p = &wk.peers[i];

	*p = (struct peer){ .state = PEER_CHOKED, .slot = i, .gen = 5, .fd = -1, .t = &tor };
	p->pex.id = 7;
	tw_timer_init(&p->timer);
	return p;
}

/* The master's ADD of peer `id` at 10.0.0.(id % 250).(id / 250), from (worker, key). */
static void add(uint64_t id, uint16_t worker, uint64_t key)
{
	struct wmsg m = { .type = WMSG_PEX_ADD, .torrent = 1 };

	m.pex = (struct wmsg_pex){ .key = key,
				   .id = id,
				   .worker = worker,
				   .port = 1000 + (uint16_t)id,
				   .family = 4,
				   .flags = 0 };
	m.pex.addr[0] = 10;
	m.pex.addr[2] = (uint8_t)(id / 250);
	m.pex.addr[3] = (uint8_t)(id % 250);
	wpex_channel(&tor, &m);
}

static void del(uint64_t id)
{
	struct wmsg m = { .type = WMSG_PEX_DEL, .torrent = 1 };

	m.pex.id = id;
	wpex_channel(&tor, &m);
}

/*
 * p's timer at now_ms + at: the ut_pex message that went out, parsed into
 * m; false when none did. The control bytes are emptied after.
 */
static bool tick(struct peer *p, uint64_t at, struct pex_msg *m)
{
	struct ext_err err;
	bool sent;

	p->ctl_len = 0;
	p->ctl_inflight = 0;
	p->sending_ctl = false;
	wpex_tick(&wk, p, now_ms + at);
	sent = p->ctl_len > 0;
	if (sent) {
		REQUIRE(p->ctl_len > WIRE_EXTENDED_HDR_LEN);
		CHECK_EQ_INT(p->ctl[4], WIRE_EXTENDED);
		CHECK_EQ_INT(p->ctl[5], 7);
		CHECK_EQ_INT(get_be32(p->ctl), p->ctl_len - 4);
		REQUIRE(pex_parse(p->ctl + 6, p->ctl_len - 6, m, &err) == 0);
	}
	p->sending_ctl = false; /* the send was prepared, never submitted */
	return sent;
}

/* The port of added (or dropped) contact i: 1000 + the master's id. */
static unsigned port_at(const uint8_t *list, uint32_t i)
{
	struct pex_contact c;

	pex_contact_at(list, i, 4, &c);
	return c.port - 1000u;
}

static void test_timeline(void)
{
	struct pex_msg m;
	struct peer *p, *q;

	setup();
	p = peer_at(0);
	add(1, 1, (uint64_t)5 << 32 | 0); /* p itself */
	CHECK(!tick(p, 0, &m));		  /* nobody else: nothing, and no empty message */
	CHECK_EQ_INT(p->pex.cursor, 1);
	add(2, 0, 77); /* another worker's peer */
	add(3, 1, 3);  /* this worker's, slot 3 */
	add(3, 1, 3);  /* a repeat (a restarted worker's first list) changes nothing */
	CHECK(tick(p, 0, &m));
	CHECK_EQ_INT(m.n_added, 2);
	CHECK_EQ_INT(m.n_dropped, 0);
	CHECK_EQ_INT(port_at(m.added, 0) + port_at(m.added, 1), 5);
	CHECK_EQ_INT(m.added_f[0], 0);
	CHECK_EQ_INT(stats_mem[WSTAT_PEX_SENT], 1);

	/* One a minute: news waits until then. */
	del(2);
	add(4, 0, 78);
	add(5, 0, 79);
	del(5);	 /* came and went between two messages: never said */
	del(99); /* unknown: ignored */
	CHECK(!tick(p, 1000, &m));
	CHECK(!tick(p, 59000, &m));
	CHECK(tick(p, 60000, &m));
	CHECK_EQ_INT(m.n_added, 1);
	CHECK_EQ_INT(port_at(m.added, 0), 4);
	CHECK_EQ_INT(m.n_dropped, 1);
	CHECK_EQ_INT(port_at(m.dropped, 0), 2);
	CHECK(!tick(p, 200000, &m)); /* nothing changed */

	/* A peer arriving now hears of the live ones only, itself excluded. */
	q = peer_at(2);
	add(6, 1, (uint64_t)5 << 32 | 2);
	CHECK(tick(q, 0, &m));
	CHECK_EQ_INT(m.n_added, 3); /* 1 (p), 3, 4 */
	CHECK_EQ_INT(m.n_dropped, 0);
	for (uint32_t i = 0; i < m.n_added; i++)
		CHECK(port_at(m.added, i) != 6 && port_at(m.added, i) != 2);
	wpex_torrent_free(&tor);
}

/* 50 added and 50 dropped at most after the first, which takes up to 200; the rest later. */
static void test_bounds(void)
{
	struct pex_msg m;
	struct peer *p, *q;
	uint64_t at = 0;

	setup();
	p = peer_at(0);
	for (uint64_t id = 1; id <= 10; id++)
		add(id, 0, id);
	CHECK(tick(p, at, &m));
	CHECK_EQ_INT(m.n_added, 10);
	for (uint64_t id = 11; id <= 130; id++)
		add(id, 0, id);
	for (uint64_t id = 1; id <= 10; id++)
		del(id);
	CHECK(tick(p, at += 60000, &m));
	CHECK_EQ_INT(m.n_added, PEX_DELTA_MAX);
	CHECK_EQ_INT(port_at(m.added, 0) >= 11, 1);
	CHECK(tick(p, at += 60000, &m));
	CHECK_EQ_INT(m.n_added, PEX_DELTA_MAX);
	CHECK(tick(p, at += 60000, &m));
	CHECK_EQ_INT(m.n_added, 20);
	CHECK_EQ_INT(m.n_dropped, 10); /* the drops came after every add */
	CHECK(!tick(p, at += 60000, &m));

	/* A first message takes up to PEX_FIRST_MAX; the next ones 50. */
	for (uint64_t id = 131; id <= 260; id++)
		add(id, 0, id);
	q = peer_at(1);
	CHECK(tick(q, 0, &m));
	CHECK_EQ_INT(m.n_added, PEX_FIRST_MAX);
	CHECK(tick(q, 60000, &m));
	CHECK_EQ_INT(m.n_added, PEX_DELTA_MAX);

	/* The list holds WPEX_SET_MAX entries; more are not listed. */
	for (uint64_t id = 1000; id < 1000 + WPEX_SET_MAX; id++)
		add(id, 0, id);
	CHECK_EQ_INT(tor.pex->n, WPEX_SET_MAX);
	CHECK(wpex_find(tor.pex, 1000 + WPEX_SET_MAX - 1) == NULL);
	wpex_torrent_free(&tor);
}

/* IPv6 peers go in added6 with their flags, and in dropped6. */
static void test_v6(void)
{
	struct wmsg a = { .type = WMSG_PEX_ADD, .torrent = 1 };
	struct pex_contact c;
	struct pex_msg m;
	struct peer *p;

	setup();
	p = peer_at(0);
	a.pex = (struct wmsg_pex){ .key = 9,
				   .id = 9,
				   .port = 6881,
				   .family = 6,
				   .flags = PEX_F_ENCRYPT,
				   .addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } };
	wpex_channel(&tor, &a);
	add(10, 0, 10);
	CHECK(tick(p, 0, &m));
	CHECK_EQ_INT(m.n_added, 1);
	CHECK_EQ_INT(m.n_added6, 1);
	CHECK_EQ_INT(m.added6_f[0], PEX_F_ENCRYPT);
	pex_contact_at(m.added6, 0, 6, &c);
	CHECK(c.port == 6881 && !memcmp(c.addr, a.pex.addr, 16));
	del(9);
	CHECK(tick(p, 60000, &m));
	CHECK_EQ_INT(m.n_dropped6, 1);
	CHECK_EQ_INT(m.n_added + m.n_added6 + m.n_dropped, 0);
	wpex_torrent_free(&tor);
}

static void test_off(void)
{
	struct pex_msg m;
	struct peer *p;

	setup();
	p = peer_at(0);
	add(1, 0, 1);
	conf.pex_enable = false;
	CHECK_EQ_INT(wpex_id(&wk, &tor), 0);
	CHECK(!tick(p, 0, &m));
	conf.pex_enable = true;
	tor.mi.private_torrent = true; /* BEP 27 */
	CHECK_EQ_INT(wpex_id(&wk, &tor), 0);
	CHECK(!tick(p, 0, &m));
	tor.mi.private_torrent = false;
	CHECK_EQ_INT(wpex_id(&wk, &tor), WK_UT_PEX_ID);
	CHECK(tick(p, 0, &m));
	wpex_torrent_free(&tor);
}

/* What a peer sends: WPEX_RX_BURST read, then one per WPEX_RX_REFILL_MS; too long never. */
static void test_accept(void)
{
	struct peer *p;

	setup();
	p = peer_at(0);
	for (int i = 0; i < WPEX_RX_BURST; i++)
		CHECK(wpex_accept(&wk, p, 100));
	CHECK(!wpex_accept(&wk, p, 100));
	CHECK_EQ_INT(stats_mem[WSTAT_PEX_FLOOD], 1);
	p->pex.refill_ms -= WPEX_RX_REFILL_MS;
	CHECK(wpex_accept(&wk, p, 100));
	CHECK(!wpex_accept(&wk, p, 100));
	CHECK(!wpex_accept(&wk, p, WK_PEX_MAX_MSG + 1));
	CHECK_EQ_INT(stats_mem[WSTAT_PEX_BAD], 1);
	wpex_message(&wk, p, (const uint8_t *)"de", 2);
	CHECK_EQ_INT(stats_mem[WSTAT_PEX_BAD], 2);
	{
		static const char ok[] = "d7:dropped6:\x01\x02\x03\x04\x00\x01"
					 "e";

		wpex_message(&wk, p, (const uint8_t *)ok, sizeof(ok) - 1);
	}
	CHECK_EQ_INT(stats_mem[WSTAT_PEX_RECEIVED], 1);
}

int main(void)
{
	test_timeline();
	test_bounds();
	test_v6();
	test_off();
	test_accept();
	if (wk.peers) {
		for (int i = 0; i < conf.max_peers; i++)
			free(wk.peers[i].ctl);
		io_uring_queue_exit(&wk.ring);
	}
	free(wk.peers);
	free(stats_mem);
	return test_done("wpex");
}
