/*
 * test_announce.c - the announcer's scheduling, without a network.
 *
 * The scheduler's own files are included (their static functions are
 * reachable) and the two transports are replaced by stubs that only record
 * what would have gone out; the test then answers each exchange as it likes
 * and moves a simulated clock in 100 ms ticks, as the master does. Covered:
 * backoff and interval arithmetic with their jitter bounds, BEP 12 shuffle
 * and promotion, the pace of one host, the heap, tier failover, event
 * started/none/stopped, removal, shutdown with its deadline, families, and
 * the start-up of 10,000 torrents on one tracker (peak announces per second).
 */
#include <ctype.h>
#include <sys/epoll.h>

#include "master/announce/announce.c"
#include "master/announce/announce_sched.c"
#include "master/content/registry.h"
#include "tests/unit/test.h"

/* --- stub transports: every exchange waits in pend[] for the test --- */

#define MAX_PEND 100000
static struct ann_slot *pend[MAX_PEND];
static unsigned n_pend;
static unsigned n_started_total, n_scrapes;

static void pend_add(struct ann_slot *s)
{
	pend[n_pend++] = s;
	n_started_total++;
}

static void pend_del(struct ann_slot *s)
{
	for (unsigned i = 0; i < n_pend; i++)
		if (pend[i] == s) {
			pend[i] = pend[--n_pend];
			return;
		}
}

int ann_http_init(struct announcer *a, char *err, size_t errlen)
{
	(void)a, (void)err, (void)errlen;
	return 0;
}
void ann_http_close(struct announcer *a)
{
	(void)a;
}
int ann_http_announce(struct announcer *a, struct ann_slot *s)
{
	(void)a;
	s->phase = PH_HTTP_ANNOUNCE;
	pend_add(s);
	return 0;
}
int ann_http_scrape(struct announcer *a, struct ann_slot *s)
{
	(void)a;
	n_scrapes++;
	snprintf(s->errbuf, sizeof(s->errbuf), "no scrape in this test");
	return -1;
}
void ann_http_end(struct announcer *a, struct ann_slot *s)
{
	(void)a;
	pend_del(s);
}
void ann_http_event(struct announcer *a, int fd, uint32_t events)
{
	(void)a, (void)fd, (void)events;
}
void ann_http_timer(struct announcer *a)
{
	(void)a;
}
void ann_http_stopping(struct announcer *a)
{
	(void)a;
}
int ann_udp_init(struct announcer *a, char *err, size_t errlen)
{
	(void)a, (void)err, (void)errlen;
	return 0;
}
void ann_udp_close(struct announcer *a)
{
	(void)a;
}
int ann_udp_tracker(struct ann_tracker *tr, char *why, size_t whylen)
{
	(void)tr, (void)why, (void)whylen;
	return 0;
}
void ann_udp_tracker_free(struct ann_tracker *tr)
{
	(void)tr;
}
int ann_udp_announce(struct announcer *a, struct ann_slot *s)
{
	(void)a;
	s->phase = PH_UDP_ANNOUNCE;
	pend_add(s);
	return 0;
}
int ann_udp_scrape(struct announcer *a, struct ann_slot *s)
{
	return ann_http_scrape(a, s);
}
void ann_udp_end(struct announcer *a, struct ann_slot *s)
{
	ann_http_end(a, s);
}
void ann_udp_read(struct announcer *a, unsigned fam)
{
	(void)a, (void)fam;
}
void ann_udp_tick(struct announcer *a)
{
	(void)a;
}

/* --- helpers --- */

static uint64_t up_cb(void *arg, const struct torrent *t)
{
	(void)arg;
	return 1000u * t->id;
}

static struct conf conf_with(const char *listen4, const char *listen6)
{
	struct conf c;
	char why[256];

	conf_defaults(&c);
	REQUIRE(conf_set(&c, "net", "listen", listen4, why, sizeof(why)) == 0);
	if (listen6)
		REQUIRE(conf_add(&c, "net", "listen", listen6, why, sizeof(why)) == 0);
	return c;
}

static void init(struct announcer *a, struct conf *c)
{
	char err[256];

	static int epfd = -1;

	n_pend = n_started_total = n_scrapes = 0;
	if (epfd < 0)
		REQUIRE((epfd = epoll_create1(EPOLL_CLOEXEC)) >= 0); /* for the pace timer */
	REQUIRE(ann_init(a, c, epfd, 9, up_cb, NULL, err, sizeof(err)) == 0);
	a->now_ms = 1000000; /* a clock of our own */
}

/*
 * A torrent of one or more tiers: tiers[k] is a comma-separated list. Torrents
 * made from the same tiers array share one tracker list (no allocation).
 */
static void mk_torrent(struct torrent *t, uint32_t id, const char *const *tiers, unsigned n_tiers)
{
	static struct mi_tracker trs[256];
	static char text[8192];
	static unsigned used, text_used, last_first, last_n;
	static const char *const *last;

	memset(t, 0, sizeof(*t));
	t->id = id;
	t->mi.name = "t";
	memcpy(t->mi.info_hash, &id, sizeof(id));
	if (tiers != last) {
		last = tiers;
		last_first = used;
		for (unsigned k = 0; k < n_tiers; k++) {
			char *s = text + text_used, *save = NULL;

			text_used += (unsigned)strlen(tiers[k]) + 1;
			REQUIRE(text_used <= sizeof(text));
			strcpy(s, tiers[k]);
			for (char *p = strtok_r(s, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
				REQUIRE(used < 256);
				trs[used++] = (struct mi_tracker){ .url = p, .tier = k };
			}
		}
		last_n = used - last_first;
	}
	t->mi.trackers = &trs[last_first];
	t->mi.tracker_count = last_n;
	t->mi.tier_count = n_tiers;
}

static void run_ticks(struct announcer *a, uint64_t ms)
{
	for (uint64_t end = a->now_ms + ms; a->now_ms < end;)
		ann_tick(a, a->now_ms + 100);
}

static const struct ann_reply good = {
	.interval = 1800, .min_interval = -1, .seeders = 1, .leechers = 2
};

/* --- arithmetic --- */

static void test_backoff(void)
{
	struct announcer a = { .retry_min_s = 60, .retry_max_s = 3600 };

	CHECK_EQ_INT(ann_backoff_ms(&a, 1, 0), 60000);
	CHECK_EQ_INT(ann_backoff_ms(&a, 2, 0), 120000);
	CHECK_EQ_INT(ann_backoff_ms(&a, 3, 0), 240000);
	CHECK_EQ_INT(ann_backoff_ms(&a, 6, 0), 1920000);
	CHECK_EQ_INT(ann_backoff_ms(&a, 7, 0), 3600000);
	CHECK_EQ_INT(ann_backoff_ms(&a, 1000, 0), 3600000);
	for (uint32_t f = 1; f < 40; f++)
		for (uint64_t r = 0; r < 100000; r += 977) {
			uint64_t d = ann_backoff_ms(&a, f, r * 7919),
				 base = ann_backoff_ms(&a, f, 0);

			CHECK(d >= base && d <= base + base / 10 && d <= 3600000);
		}
	a.retry_min_s = a.retry_max_s = 5;
	CHECK_EQ_INT(ann_backoff_ms(&a, 1, 123456), 5000);
}

static void test_interval(void)
{
	struct announcer a = { .min_interval_s = 60 };

	CHECK_EQ_INT(ann_interval_ms(&a, 1800, -1, 0), 1800000);
	CHECK_EQ_INT(ann_interval_ms(&a, 10, -1, 0), 60000);	/* our floor */
	CHECK_EQ_INT(ann_interval_ms(&a, 100, 900, 0), 900000); /* the tracker's min interval */
	CHECK_EQ_INT(ann_interval_ms(&a, -1, -1, 0), 1800000);	/* absent: BEP 3 default */
	CHECK_EQ_INT(ann_interval_ms(&a, 1LL << 40, -1, 0), 604800000); /* a week at most */
	for (uint64_t r = 0; r < 1000000; r += 1009) {
		uint64_t d = ann_interval_ms(&a, 1800, 300, r * 104729);

		CHECK(d >= 1800000 && d <= 1980000);
	}
}

static void test_shuffle_promote(void)
{
	struct announcer a = { 0 };
	struct ann_tracker t[4], *v[4];
	unsigned seen[4][4] = { { 0 } };
	struct ann_job j = { .urls = v, .n_urls = 4 };

	ann_seed(&a);
	for (int run = 0; run < 4000; run++) {
		unsigned mask = 0;

		for (int i = 0; i < 4; i++)
			v[i] = &t[i];
		ann_shuffle(&a, v, 4);
		for (int i = 0; i < 4; i++) {
			mask |= 1u << (v[i] - t);
			seen[i][v[i] - t]++;
		}
		CHECK_EQ_INT(mask, 15); /* a permutation */
	}
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 4; k++)
			CHECK(seen[i][k] > 800 && seen[i][k] < 1200); /* about 1000 each */
	for (int i = 0; i < 4; i++)
		v[i] = &t[i];
	j.pos = 2;
	ann_promote(&j);
	CHECK(v[0] == &t[2] && v[1] == &t[0] && v[2] == &t[1] && v[3] == &t[3]);
	CHECK_EQ_INT(j.pos, 0);
	CHECK(memcmp(a.peer_id, "-RS0100-", 8) == 0);
	for (int i = 8; i < 20; i++)
		CHECK(isalnum(a.peer_id[i]));
}

static void test_pace(void)
{
	struct announcer a = { .per_host = 4, .min_interval_s = 60, .now_ms = 5000 };
	struct ann_host h = { .n_jobs = 10, .tokens = 4000, .tokens_ms = 5000 };
	unsigned got = 0;

	CHECK_EQ_INT(ann_pace_rate(&a, &h), ANN_RATE_FLOOR);
	h.n_jobs = 10000;
	CHECK_EQ_INT(ann_pace_rate(&a, &h), 167);
	/* a full bucket gives per_host at once, then the rate, a start every 6 ms */
	for (int i = 0; i < 10; i++)
		got += ann_pace_take(&a, &h);
	CHECK_EQ_INT(got, 4);
	CHECK_EQ_INT(ann_pace_next_ms(&a, &h), 5000 + 6);
	while (a.now_ms < 6000) {
		a.now_ms = ann_pace_next_ms(&a, &h);
		while (ann_pace_take(&a, &h))
			got++;
	}
	CHECK(got >= 4 + 166 && got <= 4 + 167);
	/* whatever the steps, a second never holds more than rate + burst */
	h.tokens = 4000;
	got = 0;
	for (uint64_t end = a.now_ms + 1000; a.now_ms < end; a.now_ms += 100)
		while (ann_pace_take(&a, &h))
			got++;
	CHECK(got <= 167 + 4);
	a.stopping = true;
	CHECK(ann_pace_take(&a, &h) && ann_pace_take(&a, &h));
}

static void test_heap(void)
{
	struct announcer a = { 0 };
	static struct ann_job jobs[500];
	uint64_t last = 0;

	ann_seed(&a);
	REQUIRE(ann_heap_reserve(&a, 500) == 0);
	for (int i = 0; i < 500; i++) {
		jobs[i].next_ms = ann_rand64(&a) % 100000;
		ann_heap_push(&a, &jobs[i]);
	}
	for (int i = 0; i < 500; i += 3)
		ann_heap_remove(&a, &jobs[i]);
	CHECK_EQ_INT(a.heap_n, 500 - 167);
	while (a.heap_n) {
		struct ann_job *j = a.heap[0];

		CHECK(j->next_ms >= last);
		CHECK((j - jobs) % 3 != 0);
		last = j->next_ms;
		ann_heap_remove(&a, j);
	}
	free(a.heap);
}

/* --- the state machine, on a simulated clock --- */

static void test_trackers_and_families(void)
{
	struct conf c = conf_with("0.0.0.0:6881", "[::]:6882");
	const char *tiers[] = { "http://tr.example/announce,udp://10.0.0.1:6969",
				"wss://tr.example/announce,udp://[2001:db8::1]:80/announce",
				"http://tr.example/announce" };
	struct announcer a;
	struct torrent t;

	init(&a, &c);
	mk_torrent(&t, 1, tiers, 3);
	ann_add(&a, &t);
	/* tier 0: IPv4 job (2 URLs), IPv6 job (1 URL); tier 1: wss left out, IPv6 only;
	   tier 2: the same URL as tier 0, left out */
	{
		struct ann_torrent *tor = *ann_torrent_slot(&a, 1);

		REQUIRE(tor);
		CHECK_EQ_INT(tor->n_jobs, 3);
		CHECK_EQ_INT(tor->jobs[0].n_urls, 2);
		CHECK_EQ_INT(tor->jobs[1].n_urls, 1);
		CHECK_EQ_INT(tor->jobs[2].n_urls, 1);
		CHECK_EQ_INT(tor->jobs[2].fam, 1);
		CHECK(tor->jobs[0].urls[0]->host == tor->jobs[1].urls[0]->host ||
		      tor->jobs[0].urls[1]->host == tor->jobs[1].urls[0]->host);
	}
	run_ticks(&a, 1000);
	CHECK_EQ_INT(n_pend, 3);
	for (unsigned i = 0; i < n_pend; i++) {
		CHECK_EQ_INT(pend[i]->ta.event, TRK_EVENT_STARTED);
		CHECK_EQ_INT(pend[i]->ta.port, pend[i]->job->fam ? 6882 : 6881);
		CHECK_EQ_INT(pend[i]->ta.uploaded, 1000);
		CHECK_EQ_INT(pend[i]->ta.left, 0);
	}
	ann_remove(&a, &t); /* in flight: each may have reached its tracker, so 'stopped' */
	run_ticks(&a, 500);
	CHECK_EQ_INT(n_pend, 3);
	for (unsigned i = 0; i < n_pend; i++)
		CHECK_EQ_INT(pend[i]->ta.event, TRK_EVENT_STOPPED);
	while (n_pend)
		ann_exchange_ok(&a, pend[0], &good);
	CHECK_EQ_INT(a.c[ANN_C_STOPPED], 3);
	CHECK(a.tor_list == NULL); /* freed after its last 'stopped' */
	CHECK(ann_torrent_slot(&a, 1) && !*ann_torrent_slot(&a, 1));
	ann_close(&a);
}

/* The first URL fails: the next one of the tier goes at once, answers, moves to the front. */
static void test_failover_promote(void)
{
	struct conf c = conf_with("127.0.0.1:6881", NULL);
	const char *tiers[] = { "http://a.example/announce,http://b.example/announce,"
				"http://c.example/announce" };
	struct announcer a;
	struct torrent t;
	struct ann_job *j;
	struct ann_tracker *first, *second;

	init(&a, &c);
	mk_torrent(&t, 7, tiers, 1);
	ann_add(&a, &t);
	j = &(*ann_torrent_slot(&a, 7))->jobs[0];
	run_ticks(&a, 600);
	REQUIRE(n_pend == 1);
	first = pend[0]->tr;
	ann_exchange_fail(&a, pend[0], "HTTP %d", 500);
	CHECK_EQ_INT(j->fails, 0); /* not a failed round yet */
	run_ticks(&a, 200);
	REQUIRE(n_pend == 1);
	second = pend[0]->tr;
	CHECK(second != first);
	CHECK_EQ_INT(pend[0]->ta.event, TRK_EVENT_STARTED);
	ann_exchange_ok(&a, pend[0],
			&(struct ann_reply){ .interval = 120,
					     .min_interval = -1,
					     .seeders = 1,
					     .leechers = 1,
					     .tracker_id = "xyz",
					     .tracker_id_len = 3 });
	CHECK(j->urls[0] == second);
	CHECK(j->urls[1] == first);
	CHECK(j->started_ok);
	/* the re-announce: same tracker, no event, its tracker id, after 120..132 s */
	run_ticks(&a, 119900);
	CHECK_EQ_INT(n_pend, 0);
	run_ticks(&a, 12200);
	REQUIRE(n_pend == 1);
	CHECK(pend[0]->tr == second);
	CHECK_EQ_INT(pend[0]->ta.event, TRK_EVENT_NONE);
	CHECK_STR(pend[0]->ta.tracker_id, "xyz");
	ann_exchange_ok(&a, pend[0], &good);
	ann_close(&a);
}

/* One URL failing over and over: retry_min doubling to retry_max, then steady. */
static void test_backoff_schedule(void)
{
	struct conf c = conf_with("127.0.0.1:6881", NULL);
	const char *tiers[] = { "udp://10.9.9.9:6969" };
	uint64_t when[8], expect[] = { 0, 2000, 4000, 8000, 10000, 10000, 10000 };
	char why[64];
	struct announcer a;
	struct torrent t;

	REQUIRE(conf_set(&c, "announce", "retry_min", "2", why, sizeof(why)) == 0);
	REQUIRE(conf_set(&c, "announce", "retry_max", "10", why, sizeof(why)) == 0);
	init(&a, &c);
	mk_torrent(&t, 3, tiers, 1);
	ann_add(&a, &t);
	for (int k = 0; k < 7; k++) {
		for (int guard = 0; !n_pend && guard < 1000; guard++)
			run_ticks(&a, 100);
		REQUIRE(n_pend == 1);
		when[k] = a.now_ms;
		ann_exchange_fail(&a, pend[0], "tracker error \"%s\"", "no");
		if (k) {
			uint64_t d = when[k] - when[k - 1];

			CHECK(d >= expect[k] && d <= expect[k] + expect[k] / 10 + 100);
		}
	}
	CHECK_EQ_INT(a.c[ANN_C_FAILURES], 7);
	ann_close(&a);
}

/* Shutdown: 'stopped' to whoever knew us, in parallel, cut at stop_timeout. */
static void test_stop_all(void)
{
	struct conf c = conf_with("127.0.0.1:6881", NULL);
	const char *tiers[] = { "http://s.example/announce" };
	static struct torrent t[20];
	struct announcer a;
	unsigned stopped = 0;

	init(&a, &c);
	for (uint32_t i = 0; i < 20; i++) {
		mk_torrent(&t[i], 100 + i, tiers, 1);
		ann_add(&a, &t[i]);
	}
	run_ticks(&a, 1000);
	CHECK_EQ_INT(n_pend, 4); /* per_host */
	for (int i = 0; i < 3; i++)
		ann_exchange_ok(&a, pend[0], &good); /* 3 known; 1 in flight, 16 queued */
	ann_stop_all(&a, a.now_ms);
	CHECK(!ann_done(&a));
	/* the in-flight one was cancelled and is now a 'stopped' too: 4, all at once */
	CHECK_EQ_INT(a.n_running + a.n_queued, 4);
	for (unsigned i = 0; i < n_pend; i++)
		stopped += pend[i]->ta.event == TRK_EVENT_STOPPED;
	CHECK_EQ_INT(stopped, 4);
	ann_exchange_ok(&a, pend[0], &good);
	ann_exchange_fail(&a, pend[0], "HTTP %d", 503);
	CHECK(!ann_done(&a));
	run_ticks(&a, 4000);
	CHECK(!ann_done(&a));
	run_ticks(&a, 1100); /* stop_timeout (5 s) passed */
	CHECK(ann_done(&a));
	CHECK_EQ_INT(a.c[ANN_C_STOPPED], 1);
	CHECK_EQ_INT(a.c[ANN_C_STOPPED_LOST], 3);
	ann_close(&a);
}

/* A torrent removed before any announce went out: nothing to say. */
static void test_remove_unannounced(void)
{
	struct conf c = conf_with("127.0.0.1:6881", NULL);
	const char *tiers[] = { "http://r.example/announce" };
	struct announcer a;
	struct torrent t;

	init(&a, &c);
	mk_torrent(&t, 5, tiers, 1);
	ann_add(&a, &t);
	ann_remove(&a, &t);
	run_ticks(&a, 2000);
	CHECK_EQ_INT(n_started_total, 0);
	CHECK(a.tor_list == NULL);
	ann_close(&a);
}

/*
 * 10,000 torrents on one tracker answering in 1 ms, on a clock of 1 ms steps
 * that fires the pace timer when it is due, as epoll would: start-up is paced
 * at max(floor, N / min_interval) per second plus a burst of per_host, and
 * every torrent has announced within about min_interval.
 */
static void test_startup_pace(void)
{
	struct conf c = conf_with("127.0.0.1:6881", NULL);
	const char *tiers[] = { "http://big.example/announce" };
	enum { N = 10000, SECS = 70 };
	static struct torrent t[N];
	static unsigned per_sec[SECS];
	static struct ann_slot *answer[MAX_PEND];
	struct announcer a;
	unsigned peak = 0, last_sec = 0, bound, n_answer = 0;
	uint64_t t0;

	init(&a, &c);
	t0 = a.now_ms;
	for (uint32_t i = 0; i < N; i++) {
		mk_torrent(&t[i], i + 1, tiers, 1);
		ann_add(&a, &t[i]);
	}
	for (uint64_t ms = 1; ms <= SECS * 1000ull; ms++) {
		uint64_t now = t0 + ms;
		unsigned before = n_started_total;

		for (unsigned k = 0; k < n_answer; k++)
			ann_exchange_ok(&a, answer[k], &good); /* the ones sent a ms ago */
		if (n_answer) {
			n_answer = 0;
			ann_event(&a, ANN_IDX_TIMER, 0, now); /* an event: dispatch again */
		}
		if (ms % 100 == 0)
			ann_tick(&a, now);
		if (a.pace_wake_ms && now >= a.pace_wake_ms)
			ann_event(&a, ANN_IDX_PACE, EPOLLIN, now);
		per_sec[(ms - 1) / 1000] += n_started_total - before;
		memcpy(answer, pend, n_pend * sizeof(*pend));
		n_answer = n_pend;
	}
	for (unsigned s = 0; s < SECS; s++) {
		if (per_sec[s] > peak)
			peak = per_sec[s];
		if (per_sec[s])
			last_sec = s;
	}
	bound = (N + c.announce_min_interval - 1) / c.announce_min_interval +
		(unsigned)c.announce_per_host;
	fprintf(stderr, "startup of %d torrents: peak %u announces/s (bound %u), last at %u s\n", N,
		peak, bound, last_sec);
	CHECK_EQ_INT(n_started_total, N);
	CHECK(peak <= bound);
	CHECK(peak >= bound - 10); /* the pace is used, not lost between ticks */
	CHECK(last_sec <= (unsigned)c.announce_min_interval + 1);
	for (unsigned k = 0; k < n_answer; k++)
		ann_exchange_ok(&a, answer[k], &good);
	/* a torrent added now, to a quiet host, goes out at once */
	{
		const char *other[] = { "http://quiet.example/announce" };
		struct torrent x;
		unsigned before = n_started_total;

		mk_torrent(&x, N + 1, other, 1);
		ann_add(&a, &x);
		run_ticks(&a, 600);
		CHECK_EQ_INT(n_started_total, before + 1);
	}
	ann_close(&a);
}

int main(void)
{
	log_init("test_announce", LOG_LVL_ERR);
	test_backoff();
	test_interval();
	test_shuffle_promote();
	test_pace();
	test_heap();
	test_trackers_and_families();
	test_failover_promote();
	test_backoff_schedule();
	test_stop_all();
	test_remove_unannounced();
	test_startup_pace();
	return test_done("test_announce");
}
