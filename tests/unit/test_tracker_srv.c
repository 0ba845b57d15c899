/*
 * test_tracker_srv.c - the built-in tracker through real sockets on loopback.
 *
 * The test runs its own epoll loop around a struct tsrv and talks to it with
 * plain HTTP and UDP clients in the same thread (requests are small, so a
 * send never blocks; the loop is pumped while a reply is awaited). Time is
 * the monotonic clock plus a skew the test moves forward to reach deadlines,
 * expiry and secret rotation without waiting.
 * (Announces per second: bench/tracker/, ringseed-tracker-bench.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/tracker/tracker_srv.h"
#include "tests/unit/test.h"

#define KIND	  7u
#define WAIT_MS	  3000
#define CLI_BUF	  (256 * 1024)
#define MAX_REPLY 256

static uint64_t skew_ms;
static char last_failure[256]; /* the last reply's failure reason, copied out of the reply */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + skew_ms;
}

/* --- the server under test and its loop --- */

struct srv {
	struct tsrv t;
	struct conf c;
	int epfd;
	uint64_t next_tick;
	bool v6;
};

static bool have_ipv6(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_DGRAM, 0), ok;

	if (fd < 0)
		return false;
	ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* Defaults, tracker on, 127.0.0.1:0 (and [::1]:0 where there is IPv6). */
static void srv_conf(struct srv *s)
{
	struct conf_addr *a;

	memset(s, 0, sizeof(*s));
	conf_defaults(&s->c);
	s->c.tracker = true;
	s->c.tracker_listen.n = 1;
	a = &s->c.tracker_listen.addr[0];
	memset(a, 0, sizeof(*a));
	a->in4.sin_family = AF_INET;
	a->in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->len = sizeof(a->in4);
	s->v6 = have_ipv6();
	if (s->v6) {
		a = &s->c.tracker_listen.addr[s->c.tracker_listen.n++];
		memset(a, 0, sizeof(*a));
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_addr = in6addr_loopback;
		a->len = sizeof(a->in6);
	}
}

static void srv_start(struct srv *s)
{
	char err[256] = "";

	REQUIRE((s->epfd = epoll_create1(EPOLL_CLOEXEC)) >= 0);
	if (tsrv_init(&s->t, &s->c, s->epfd, KIND, err, sizeof(err)) != 0) {
		fprintf(stderr, "tsrv_init: %s\n", err);
		exit(1);
	}
	REQUIRE(tsrv_port(&s->t, 0) != 0);
	s->next_tick = 0;
}

static void srv_stop(struct srv *s)
{
	tsrv_close(&s->t);
	close(s->epfd);
}

/* Runs the loop for about ms milliseconds (0: whatever is ready now), ticking every 100 ms. */
static void pump(struct srv *s, int ms)
{
	struct epoll_event ev[64];
	uint64_t end = now_ms() + (uint64_t)ms;

	do {
		int n = epoll_wait(s->epfd, ev, 64, ms ? 1 : 0);

		for (int i = 0; i < n; i++) {
			REQUIRE(ev[i].data.u64 >> 32 == KIND);
			tsrv_event(&s->t, (uint32_t)ev[i].data.u64, ev[i].events, now_ms());
		}
		if (now_ms() >= s->next_tick) {
			tsrv_tick(&s->t, now_ms());
			s->next_tick = now_ms() + 100;
		}
	} while (now_ms() < end);
}

/* Moves the clock and lets the tracker see it. */
static void skew(struct srv *s, uint64_t ms)
{
	skew_ms += ms;
	s->next_tick = 0;
	pump(s, 0);
}

/* --- HTTP client --- */

struct hcli {
	int fd;
	size_t len;
	char buf[CLI_BUF];
};

struct hresp {
	int status;
	bool conn_close;
	char body[16384];
	size_t blen;
};

static int hcli_rcvbuf; /* SO_RCVBUF set before connecting, when not 0 */

static struct hcli *hcli_open(struct srv *s, int family, const char *src)
{
	struct hcli *h = calloc(1, sizeof(*h));
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET };

	REQUIRE(h);
	REQUIRE((h->fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	if (hcli_rcvbuf)
		setsockopt(h->fd, SOL_SOCKET, SO_RCVBUF, &hcli_rcvbuf, sizeof(hcli_rcvbuf));
	if (family == AF_INET) {
		if (src) {
			inet_pton(AF_INET, src, &a4.sin_addr);
			REQUIRE(bind(h->fd, (struct sockaddr *)&a4, sizeof(a4)) == 0);
		}
		inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
		a4.sin_port = htons(tsrv_port(&s->t, 0));
		REQUIRE(connect(h->fd, (struct sockaddr *)&a4, sizeof(a4)) == 0);
	} else {
		a6.sin6_port = htons(tsrv_port(&s->t, 1));
		REQUIRE(connect(h->fd, (struct sockaddr *)&a6, sizeof(a6)) == 0);
	}
	fcntl(h->fd, F_SETFL, O_NONBLOCK);
	pump(s, 0); /* the accept */
	return h;
}

static void hcli_close(struct hcli *h)
{
	close(h->fd);
	free(h);
}

static void hcli_send(struct hcli *h, const void *buf, size_t len)
{
	REQUIRE(send(h->fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len);
}

/* Takes one whole response off the front of h->buf, if there is one. */
static bool hcli_take(struct hcli *h, struct hresp *r)
{
	char *end = memmem(h->buf, h->len, "\r\n\r\n", 4), *cl;
	size_t hlen, clen;

	if (!end)
		return false;
	hlen = (size_t)(end - h->buf) + 4;
	*end = '\0';
	cl = strcasestr(h->buf, "\r\nContent-Length: ");
	REQUIRE(cl);
	clen = strtoul(cl + 18, NULL, 10);
	if (h->len < hlen + clen) {
		*end = '\r';
		return false;
	}
	r->status = atoi(h->buf + 9);
	r->conn_close = strcasestr(h->buf, "\r\nConnection: close") != NULL;
	REQUIRE(clen < sizeof(r->body));
	memcpy(r->body, h->buf + hlen, clen);
	r->body[clen] = '\0';
	r->blen = clen;
	memmove(h->buf, h->buf + hlen + clen, h->len - hlen - clen);
	h->len -= hlen + clen;
	return true;
}

/* Waits for one response: 0, or -1 when the connection closed first or time ran out. */
static int hcli_resp(struct srv *s, struct hcli *h, struct hresp *r)
{
	uint64_t end = now_ms() + WAIT_MS;

	while (now_ms() < end) {
		ssize_t n;

		if (hcli_take(h, r))
			return 0;
		pump(s, 0);
		n = recv(h->fd, h->buf + h->len, CLI_BUF - h->len, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			return hcli_take(h, r) ? 0 : -1;
		if (n > 0)
			h->len += (size_t)n;
		else
			pump(s, 1);
	}
	return -1;
}

/* True when the server closes the connection within the wait (input is dropped). */
static bool hcli_closed(struct srv *s, struct hcli *h)
{
	uint64_t end = now_ms() + WAIT_MS;
	char tmp[4096];

	while (now_ms() < end) {
		ssize_t n = recv(h->fd, tmp, sizeof(tmp), 0);

		if (n == 0 || (n < 0 && errno != EAGAIN))
			return true;
		pump(s, n > 0 ? 0 : 1);
	}
	return false;
}

/* --- announce URLs --- */

struct ann {
	uint8_t ih[20], id[20];
	uint16_t port;
	uint64_t left;
	const char *event; /* NULL: none */
	int numwant;	   /* < 0: absent */
	int compact;	   /* < 0: absent */
	bool no_peer_id;
	const char *key; /* NULL: absent */
};

static void hash_of(uint8_t out[20], char tag, unsigned n)
{
	memset(out, tag, 20);
	memcpy(out, &n, sizeof(n));
}

static size_t pct(char *o, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(o + 3 * i, 4, "%%%02X", b[i]);
	return 3 * n;
}

static size_t ann_url(char *o, size_t cap, const struct ann *a)
{
	size_t n = 0;

	n += (size_t)snprintf(o + n, cap - n, "/announce?info_hash=");
	n += pct(o + n, a->ih, 20);
	n += (size_t)snprintf(o + n, cap - n, "&peer_id=");
	n += pct(o + n, a->id, 20);
	n += (size_t)snprintf(o + n, cap - n, "&port=%u&uploaded=0&downloaded=0&left=%llu", a->port,
			      (unsigned long long)a->left);
	if (a->event)
		n += (size_t)snprintf(o + n, cap - n, "&event=%s", a->event);
	if (a->numwant >= 0)
		n += (size_t)snprintf(o + n, cap - n, "&numwant=%d", a->numwant);
	if (a->compact >= 0)
		n += (size_t)snprintf(o + n, cap - n, "&compact=%d", a->compact);
	if (a->no_peer_id)
		n += (size_t)snprintf(o + n, cap - n, "&no_peer_id=1");
	if (a->key)
		n += (size_t)snprintf(o + n, cap - n, "&key=%s", a->key);
	return n;
}

static struct ann ann_make(char tag_ih, unsigned ih, char tag_id, unsigned id, uint16_t port)
{
	struct ann a = { .port = port, .left = 1000, .numwant = -1, .compact = -1 };

	hash_of(a.ih, tag_ih, ih);
	hash_of(a.id, tag_id, id);
	return a;
}

/* GET on h; r gets the parsed reply (peers into the caller's array). Returns the HTTP status. */
static int http_announce(struct srv *s, struct hcli *h, const struct ann *a, struct trk_reply *r,
			 struct trk_peer *peers)
{
	char req[4096];
	int n = snprintf(req, sizeof(req), "GET ");
	struct hresp *resp = malloc(sizeof(*resp));
	const char *why = NULL;
	int status;

	REQUIRE(resp);
	n += (int)ann_url(req + n, sizeof(req) - (size_t)n, a);
	n += snprintf(req + n, sizeof(req) - (size_t)n, " HTTP/1.1\r\nHost: t\r\n\r\n");
	hcli_send(h, req, (size_t)n);
	REQUIRE(hcli_resp(s, h, resp) == 0);
	memset(r, 0, sizeof(*r));
	r->peers = peers;
	r->max_peers = MAX_REPLY;
	if (trk_http_parse_announce((uint8_t *)resp->body, resp->blen, r, &why) != 0) {
		fprintf(stderr, "reply not parsed (%s): %s\n", why, resp->body);
		test_failures++;
	}
	if (r->failure) {
		snprintf(last_failure, sizeof(last_failure), "%.*s", (int)r->failure_len,
			 r->failure);
		r->failure = last_failure;
	}
	status = resp->status;
	free(resp);
	return status;
}

/* One announce on a fresh connection from src; the reply's failure reason or NULL. */
static const char *announce_from(struct srv *s, const char *src, const struct ann *a,
				 struct trk_reply *r, struct trk_peer *peers)
{
	struct hcli *h = hcli_open(s, AF_INET, src);

	CHECK_EQ_INT(http_announce(s, h, a, r, peers), 200);
	hcli_close(h);
	return r->failure;
}

static bool has_peer(const struct trk_reply *r, uint16_t port)
{
	for (unsigned i = 0; i < r->n_peers; i++)
		if (r->peers[i].port == port)
			return true;
	return false;
}

/* --- the tests --- */

/* Three leechers from three addresses; compact, non-compact, pipelined. */
static void http_leechers(struct srv *s)
{
	struct trk_reply r;
	struct trk_peer p[MAX_REPLY];
	struct ann a;
	struct hcli *h;
	uint8_t lo2[4] = { 127, 0, 0, 2 };

	a = ann_make('h', 1, 'p', 1, 1001);
	CHECK(!announce_from(s, "127.0.0.1", &a, &r, p));
	CHECK_EQ_INT(r.n_peers, 0); /* alone: nobody to meet, not itself */
	a = ann_make('h', 1, 'p', 2, 1002);
	CHECK(!announce_from(s, "127.0.0.2", &a, &r, p));
	CHECK_EQ_INT(r.n_peers, 1);
	CHECK(has_peer(&r, 1001));
	a = ann_make('h', 1, 'p', 3, 1003);
	a.event = "started";
	CHECK(!announce_from(s, "127.0.0.3", &a, &r, p));
	CHECK_EQ_INT(r.n_peers, 2);
	CHECK(has_peer(&r, 1001) && has_peer(&r, 1002) && !has_peer(&r, 1003));
	CHECK_EQ_INT(r.peers4, 2);
	CHECK_EQ_INT(r.peers6, 0);
	CHECK_EQ_INT(r.interval, 900);
	CHECK_EQ_INT(r.min_interval, 60);
	CHECK_EQ_INT(r.incomplete, 3);
	CHECK_EQ_INT(r.complete, 0);
	for (unsigned i = 0; i < r.n_peers; i++)
		if (r.peers[i].port == 1002)
			CHECK(memcmp(r.peers[i].addr, lo2, 4) == 0);

	/* non-compact: a list of dictionaries with peer ids; no_peer_id leaves them out */
	h = hcli_open(s, AF_INET, "127.0.0.3");
	a.event = NULL;
	a.compact = 0;
	CHECK_EQ_INT(http_announce(s, h, &a, &r, p), 200);
	CHECK_EQ_INT(r.n_peers, 2);
	for (unsigned i = 0; i < r.n_peers; i++) {
		uint8_t id[20];

		hash_of(id, 'p', r.peers[i].port - 1000u);
		CHECK(r.peers[i].has_id && memcmp(r.peers[i].peer_id, id, 20) == 0);
	}
	a.no_peer_id = true;
	CHECK_EQ_INT(http_announce(s, h, &a, &r, p), 200); /* the same keep-alive connection */
	CHECK_EQ_INT(r.n_peers, 2);
	CHECK(r.n_peers == 2 && !r.peers[0].has_id && !r.peers[1].has_id);

	/* two requests in one segment: two responses, in order */
	{
		char req[4096];
		struct hresp *x = malloc(sizeof(*x));
		struct ann b = ann_make('h', 1, 'p', 3, 1003);
		int n;

		n = snprintf(req, sizeof(req), "GET ");
		n += (int)ann_url(req + n, sizeof(req) - (size_t)n, &b);
		n += snprintf(req + n, sizeof(req) - (size_t)n,
			      " HTTP/1.1\r\n\r\nGET /scrape?info_hash=");
		n += (int)pct(req + n, b.ih, 20);
		n += snprintf(req + n, sizeof(req) - (size_t)n, " HTTP/1.1\r\n\r\n");
		hcli_send(h, req, (size_t)n);
		REQUIRE(x);
		CHECK(hcli_resp(s, h, x) == 0 && x->status == 200 && strstr(x->body, "5:peers"));
		CHECK(hcli_resp(s, h, x) == 0 && x->status == 200 && strstr(x->body, "5:files"));
		free(x);
	}
	hcli_close(h);
}

/* Seeders are sent leechers only; stopped removes; BEP 7 key guards a peer's entry. */
static void http_seeders_stopped(struct srv *s)
{
	struct trk_reply r;
	struct trk_peer p[MAX_REPLY];
	struct ann a;

	/* a seeder gets leechers only; a second seeder does not see the first */
	a = ann_make('h', 1, 'p', 4, 1004);
	a.left = 0;
	CHECK(!announce_from(s, "127.0.0.4", &a, &r, p));
	CHECK_EQ_INT(r.n_peers, 3);
	CHECK_EQ_INT(r.complete, 1);
	a = ann_make('h', 1, 'p', 5, 1005);
	a.left = 0;
	CHECK(!announce_from(s, "127.0.0.5", &a, &r, p));
	CHECK(!has_peer(&r, 1004) && r.n_peers == 3);
	a = ann_make('h', 1, 'p', 1, 1001);
	CHECK(!announce_from(s, "127.0.0.1", &a, &r, p));
	CHECK(has_peer(&r, 1004) && has_peer(&r, 1005) && r.n_peers == 4);
	CHECK_EQ_INT(r.complete, 2);
	CHECK_EQ_INT(r.incomplete, 3);

	/* stopped removes the peer; a stranger's stopped with its id and the wrong key does not */
	a = ann_make('h', 1, 'p', 2, 1002);
	a.key = "abcd";
	CHECK(!announce_from(s, "127.0.0.2", &a, &r, p));
	a.key = "ffff";
	a.event = "stopped";
	CHECK(!announce_from(s, "127.0.0.9", &a, &r, p));
	CHECK_EQ_INT(r.incomplete, 3);
	a.key = "abcd";
	CHECK(!announce_from(s, "127.0.0.2", &a, &r, p));
	CHECK_EQ_INT(r.n_peers, 0);
	CHECK_EQ_INT(r.incomplete, 2);
	a = ann_make('h', 1, 'p', 3, 1003);
	CHECK(!announce_from(s, "127.0.0.3", &a, &r, p));
	CHECK(!has_peer(&r, 1002));
	/* BEP 7: the right key moves a peer to its new address */
	a = ann_make('h', 1, 'p', 2, 1002);
	a.key = "abcd";
	CHECK(!announce_from(s, "127.0.0.2", &a, &r, p));
	CHECK(!announce_from(s, "127.0.0.7", &a, &r, p));
	a = ann_make('h', 1, 'p', 3, 1003);
	CHECK(!announce_from(s, "127.0.0.3", &a, &r, p));
	for (unsigned i = 0; i < r.n_peers; i++)
		if (r.peers[i].port == 1002)
			CHECK(r.peers[i].addr[3] == 7);
}

static void test_http_announce(void)
{
	struct srv s;

	srv_conf(&s);
	s.c.tracker_open = true;
	s.c.tracker_interval = 900;
	s.c.tracker_min_interval = 60;
	srv_start(&s);
	http_leechers(&s);
	http_seeders_stopped(&s);
	srv_stop(&s);
}

static void test_http_ipv6(void)
{
	struct srv s;
	struct trk_reply r;
	struct trk_peer p[MAX_REPLY];
	struct ann a;
	struct hcli *h;

	srv_conf(&s);
	if (!s.v6) {
		fprintf(stderr, "skip: IPv6 part, ::1 unavailable\n");
		return;
	}
	s.c.tracker_open = true;
	srv_start(&s);
	a = ann_make('6', 1, 'q', 1, 2001);
	h = hcli_open(&s, AF_INET6, NULL);
	CHECK_EQ_INT(http_announce(&s, h, &a, &r, p), 200);
	hcli_close(h);
	a = ann_make('6', 1, 'q', 2, 2002);
	CHECK(!announce_from(&s, "127.0.0.1", &a, &r, p));
	CHECK_EQ_INT(r.n_peers, 0); /* a v4 client is not sent v6 peers */
	a = ann_make('6', 1, 'q', 3, 2003);
	h = hcli_open(&s, AF_INET6, NULL);
	CHECK_EQ_INT(http_announce(&s, h, &a, &r, p), 200);
	CHECK_EQ_INT(r.peers6, 1);
	CHECK_EQ_INT(r.peers4, 0);
	CHECK(r.n_peers == 1 && r.peers[0].port == 2001 && r.peers[0].family == AF_INET6 &&
	      memcmp(r.peers[0].addr, &in6addr_loopback, 16) == 0);
	CHECK_EQ_INT(r.incomplete, 3); /* counts cover both families */
	a.compact = 0;
	CHECK_EQ_INT(http_announce(&s, h, &a, &r, p), 200);
	CHECK(r.n_peers == 1 && r.peers[0].family == AF_INET6 && r.peers[0].has_id);
	hcli_close(h);
	srv_stop(&s);
}

static void test_expiry_numwant(void)
{
	struct srv s;
	struct trk_reply r;
	struct trk_peer p[MAX_REPLY];
	struct ann a;
	struct hcli *h;
	char stats[1024];

	srv_conf(&s);
	s.c.tracker_open = true;
	s.c.tracker_interval = 10;
	s.c.tracker_numwant = 5;
	srv_start(&s);
	h = hcli_open(&s, AF_INET, NULL);
	for (unsigned i = 1; i <= 20; i++) {
		a = ann_make('e', 1, 'x', i, (uint16_t)(3000 + i));
		CHECK_EQ_INT(http_announce(&s, h, &a, &r, p), 200);
	}
	a = ann_make('e', 1, 'x', 20, 3020);
	a.numwant = 100;
	CHECK_EQ_INT(http_announce(&s, h, &a, &r, p), 200);
	CHECK_EQ_INT(r.n_peers, 5); /* capped by tracker.numwant */
	a.numwant = 3;
	CHECK_EQ_INT(http_announce(&s, h, &a, &r, p), 200);
	CHECK_EQ_INT(r.n_peers, 3);
	a.numwant = 0;
	CHECK_EQ_INT(http_announce(&s, h, &a, &r, p), 200);
	CHECK_EQ_INT(r.n_peers, 0);
	/* a random subset: no repeats, never itself, and different subsets over requests */
	{
		unsigned seen = 0;

		a.numwant = -1;
		for (int k = 0; k < 80; k++) {
			CHECK_EQ_INT(http_announce(&s, h, &a, &r, p), 200);
			CHECK_EQ_INT(r.n_peers, 5);
			for (unsigned i = 0; i < r.n_peers; i++) {
				CHECK(r.peers[i].port != 3020);
				for (unsigned j = 0; j < i; j++)
					CHECK(r.peers[i].port != r.peers[j].port);
				seen |= 1u << (r.peers[i].port - 3000);
			}
		}
		CHECK_EQ_INT(__builtin_popcount(seen), 19);
	}
	/* 15 s later peer 20 announces again; 6 s later the others are 21 s old */
	skew(&s, 15000);
	CHECK_EQ_INT(http_announce(&s, h, &a, &r, p), 200);
	skew(&s, 6000);
	pump(&s, 150);
	CHECK_EQ_INT(s.t.stat[TSTAT_EXPIRED], 19);
	CHECK_EQ_INT(s.t.n_peers, 1);
	hcli_close(h);
	a = ann_make('e', 1, 'x', 21, 3021);
	CHECK(!announce_from(&s, NULL, &a, &r, p));
	CHECK(r.n_peers == 1 && r.peers[0].port == 3020);
	/* a swarm expired empty is gone (open mode) */
	skew(&s, 25000);
	pump(&s, 150);
	CHECK_EQ_INT(s.t.n_swarms, 0);
	tsrv_stats(&s.t, stats, sizeof(stats));
	CHECK(strstr(stats, "tracker_expired=21 "));
	CHECK(strstr(stats, "tracker_swarms=0 "));
	srv_stop(&s);
}

static void test_refusals(void)
{
	struct srv s;
	struct trk_reply r;
	struct trk_peer p[MAX_REPLY];
	struct ann a;
	char stats[1024];
	uint8_t ours[20];

	/* closed: only the torrents we serve */
	srv_conf(&s);
	s.c.tracker_max_swarms = 2;
	s.c.tracker_max_peers = 3;
	srv_start(&s);
	a = ann_make('u', 1, 'r', 1, 4001);
	CHECK_STR(announce_from(&s, NULL, &a, &r, p), "unregistered torrent");
	memcpy(ours, a.ih, 20);
	tsrv_allow(&s.t, ours);
	CHECK(!announce_from(&s, NULL, &a, &r, p));
	for (unsigned i = 2; i <= 4; i++) { /* max_peers 3: the 4th is refused */
		a = ann_make('u', 1, 'r', i, (uint16_t)(4000 + i));
		if (i < 4)
			CHECK(!announce_from(&s, NULL, &a, &r, p));
		else
			CHECK(announce_from(&s, NULL, &a, &r, p) != NULL);
	}
	a = ann_make('u', 1, 'r', 2, 4002); /* a peer already in: still answered */
	CHECK(!announce_from(&s, NULL, &a, &r, p));
	CHECK_EQ_INT(r.n_peers, 2);
	CHECK_EQ_INT(s.t.stat[TSTAT_REFUSED_PEERS], 1);
	tsrv_disallow(&s.t, ours);
	CHECK(announce_from(&s, NULL, &a, &r, p) != NULL);
	CHECK_EQ_INT(s.t.stat[TSTAT_REFUSED_UNKNOWN], 2);
	CHECK_EQ_INT(s.t.n_peers, 0);
	tsrv_stats(&s.t, stats, sizeof(stats));
	CHECK(strstr(stats, "tracker_refused=3 "));
	CHECK(strstr(stats, "tracker_refused_unknown=2 "));
	CHECK(strstr(stats, "tracker_refused_peers=1 "));
	srv_stop(&s);

	/* open: any torrent, up to max_swarms strangers; ours are always taken */
	srv_conf(&s);
	s.c.tracker_open = true;
	s.c.tracker_max_swarms = 2;
	srv_start(&s);
	hash_of(ours, 'u', 99);
	tsrv_allow(&s.t, ours);
	for (unsigned i = 1; i <= 3; i++) {
		a = ann_make('o', i, 'r', 1, 4001);
		if (i < 3)
			CHECK(!announce_from(&s, NULL, &a, &r, p));
		else
			CHECK(announce_from(&s, NULL, &a, &r, p) != NULL);
	}
	a = ann_make('u', 99, 'r', 1, 4001);
	CHECK(!announce_from(&s, NULL, &a, &r, p));
	CHECK_EQ_INT(s.t.stat[TSTAT_REFUSED_SWARMS], 1);
	CHECK_EQ_INT(s.t.n_swarms, 3);
	/* closing the tracker on reload drops strangers' swarms */
	s.c.tracker_open = false;
	tsrv_set_conf(&s.t, &s.c);
	CHECK_EQ_INT(s.t.n_swarms, 1);
	CHECK_EQ_INT(s.t.n_peers, 1);
	a = ann_make('o', 1, 'r', 1, 4001);
	CHECK(announce_from(&s, NULL, &a, &r, p) != NULL);
	tsrv_stats(&s.t, stats, sizeof(stats));
	CHECK(strstr(stats, "tracker_refused_swarms=1 "));
	srv_stop(&s);
}

static void test_scrape(void)
{
	struct srv s;
	struct trk_reply r;
	struct trk_peer p[MAX_REPLY];
	struct trk_scrape sc;
	struct ann a;
	struct hcli *h;
	struct hresp *x = malloc(sizeof(*x));
	char req[2048];
	uint8_t other[20];
	const char *why;
	int n;

	REQUIRE(x);
	srv_conf(&s);
	s.c.tracker_open = true;
	srv_start(&s);
	a = ann_make('s', 1, 'r', 1, 5001);
	CHECK(!announce_from(&s, NULL, &a, &r, p));
	a = ann_make('s', 1, 'r', 2, 5002);
	a.left = 0;
	a.event = "completed";
	CHECK(!announce_from(&s, NULL, &a, &r, p));
	a = ann_make('s', 1, 'r', 3, 5003);
	a.left = 0;
	CHECK(!announce_from(&s, NULL, &a, &r, p));
	hash_of(other, 's', 2);

	h = hcli_open(&s, AF_INET, NULL);
	n = snprintf(req, sizeof(req), "GET /scrape?info_hash=");
	n += (int)pct(req + n, a.ih, 20);
	n += snprintf(req + n, sizeof(req) - (size_t)n, "&info_hash=");
	n += (int)pct(req + n, other, 20);
	n += snprintf(req + n, sizeof(req) - (size_t)n, " HTTP/1.1\r\n\r\n");
	hcli_send(h, req, (size_t)n);
	REQUIRE(hcli_resp(&s, h, x) == 0);
	CHECK_EQ_INT(x->status, 200);
	CHECK(trk_http_parse_scrape((uint8_t *)x->body, x->blen, a.ih, &sc, &why) == 0);
	CHECK_EQ_INT(sc.complete, 2);
	CHECK_EQ_INT(sc.incomplete, 1);
	CHECK_EQ_INT(sc.downloaded, 1);
	CHECK(trk_http_parse_scrape((uint8_t *)x->body, x->blen, other, &sc, &why) == 0);
	CHECK(sc.complete == 0 && sc.incomplete == 0 && sc.downloaded == 0);
	/* a full scrape is not offered */
	hcli_send(h, "GET /scrape HTTP/1.1\r\n\r\n", 24);
	REQUIRE(hcli_resp(&s, h, x) == 0);
	CHECK(x->status == 200 && strstr(x->body, "14:failure reason"));
	hcli_close(h);
	CHECK_EQ_INT(s.t.stat[TSTAT_SCRAPES], 1);
	free(x);
	srv_stop(&s);
}

#define EXPECT_ERROR(s, lit, status, reason) expect_error(s, lit, sizeof(lit) - 1, status, reason)

/* Sends raw bytes; expects status (0: none) and then the connection closed. */
static void expect_error(struct srv *s, const char *raw, size_t len, int status, const char *reason)
{
	struct hcli *h = hcli_open(s, AF_INET, NULL);
	struct hresp *x = malloc(sizeof(*x));

	REQUIRE(x);
	if (len)
		hcli_send(h, raw, len);
	if (status) {
		if (hcli_resp(s, h, x) != 0) {
			fprintf(stderr, "no response to %.40s...\n", raw);
			test_failures++;
		} else {
			CHECK_EQ_INT(x->status, status);
			CHECK(x->conn_close);
			CHECK(strstr(x->body, "d14:failure reason") == x->body);
			if (reason && !strstr(x->body, reason)) {
				fprintf(stderr, "reason %s not in %s\n", reason, x->body);
				test_failures++;
			}
		}
	}
	CHECK(hcli_closed(s, h));
	hcli_close(h);
	free(x);
}

static void test_http_errors(void)
{
	struct srv s;
	struct hcli *h;
	char *big;
	char stats[1024];

	srv_conf(&s);
	s.c.tracker_open = true;
	srv_start(&s);
	EXPECT_ERROR(&s, "GET /announce?peer_id=aaaaaaaaaaaaaaaaaaaa&port=1 HTTP/1.1\r\n\r\n", 400,
		     "info_hash missing");
	EXPECT_ERROR(
		&s,
		"GET /announce?info_hash=abc&peer_id=aaaaaaaaaaaaaaaaaaaa&port=1 HTTP/1.1\r\n\r\n",
		400, "info_hash");
	EXPECT_ERROR(
		&s,
		"GET /announce?info_hash=aaaaaaaaaaaaaaaaaaaa&peer_id=aaaaaaaaaaaaaaaaaaaa&port=0 "
		"HTTP/1.1\r\n\r\n",
		400, "port");
	EXPECT_ERROR(&s, "GET /index.html HTTP/1.1\r\n\r\n", 404, NULL);
	EXPECT_ERROR(&s, "POST /announce HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405, NULL);
	EXPECT_ERROR(&s, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 400,
		     "bad HTTP request");
	EXPECT_ERROR(&s, "GET /scrape?info_hash=%zz HTTP/1.1\r\n\r\n", 400, NULL);
	/* a request past 8 KiB without its end */
	big = malloc(TSRV_REQ_MAX + 100);
	REQUIRE(big);
	memcpy(big, "GET /announce?x=", 16);
	memset(big + 16, 'a', TSRV_REQ_MAX + 84);
	expect_error(&s, big, TSRV_REQ_MAX + 100, 431, "too large");
	free(big);
	CHECK_EQ_INT(s.t.stat[TSTAT_BAD_REQUEST], 7);
	CHECK_EQ_INT(s.t.stat[TSTAT_NOT_FOUND], 1);

	/* slowloris: half a request line, then nothing; and a silent connection */
	h = hcli_open(&s, AF_INET, NULL);
	hcli_send(h, "GET /announce?info_hash=", 24);
	pump(&s, 20);
	skew(&s, TSRV_HEADER_MS - 1000);
	hcli_send(h, "aa", 2); /* bytes do not extend the deadline */
	pump(&s, 20);
	CHECK_EQ_INT(s.t.stat[TSTAT_HTTP_TIMEOUT], 0);
	skew(&s, 1100);
	CHECK(hcli_closed(&s, h));
	CHECK_EQ_INT(s.t.stat[TSTAT_HTTP_TIMEOUT], 1);
	hcli_close(h);
	h = hcli_open(&s, AF_INET, NULL);
	skew(&s, TSRV_HEADER_MS + 100);
	CHECK(hcli_closed(&s, h));
	hcli_close(h);
	/* an idle keep-alive connection goes after TSRV_IDLE_MS, not before */
	{
		struct trk_reply r;
		struct trk_peer p[MAX_REPLY];
		struct ann a = ann_make('i', 1, 'i', 1, 6001);

		h = hcli_open(&s, AF_INET, NULL);
		CHECK_EQ_INT(http_announce(&s, h, &a, &r, p), 200);
		skew(&s, TSRV_IDLE_MS - 5000);
		CHECK_EQ_INT(http_announce(&s, h, &a, &r, p), 200);
		skew(&s, TSRV_IDLE_MS + 100);
		CHECK(hcli_closed(&s, h));
		hcli_close(h);
	}
	CHECK_EQ_INT(s.t.stat[TSTAT_HTTP_TIMEOUT], 3);
	/* the connection table is back to empty */
	tsrv_stats(&s.t, stats, sizeof(stats));
	CHECK(strstr(stats, "tracker_conns=0"));
	srv_stop(&s);
}

static unsigned conns_in(const struct srv *s, enum tsrv_conn_state st)
{
	unsigned n = 0;

	for (unsigned i = 0; i < TSRV_MAX_CONNS; i++)
		n += s->t.conns[i].state == st;
	return n;
}

/* A response bigger than the socket takes at once: buffered, then flushed. */
static void test_http_big_reply(void)
{
	struct srv s;
	struct trk_reply r;
	struct trk_peer *p = calloc(1000, sizeof(*p));
	struct ann a;
	struct hcli *h;
	int small = 4096;

	REQUIRE(p);
	srv_conf(&s);
	s.c.tracker_open = true;
	s.c.tracker_numwant = 1000;
	srv_start(&s);
	h = hcli_open(&s, AF_INET, NULL);
	for (unsigned i = 1; i <= 900; i++) {
		a = ann_make('b', 1, 'b', i, (uint16_t)(10000 + i));
		a.numwant = 0;
		CHECK_EQ_INT(http_announce(&s, h, &a, &r, p), 200);
	}
	hcli_close(h);
	hcli_rcvbuf = small; /* a small window from the start */
	h = hcli_open(&s, AF_INET, NULL);
	hcli_rcvbuf = 0;
	a = ann_make('b', 1, 'b', 1, 10001);
	a.compact = 0; /* about 50 KB of dictionaries */
	{
		char req[4096];
		int n = snprintf(req, sizeof(req), "GET ");
		uint64_t end;

		n += (int)ann_url(req + n, sizeof(req) - (size_t)n, &a);
		n += snprintf(req + n, sizeof(req) - (size_t)n, " HTTP/1.1\r\n\r\n");
		/* the server's end takes little at a time too */
		for (unsigned i = 0; i < TSRV_MAX_CONNS; i++)
			if (s.t.conns[i].state == TC_IDLE)
				setsockopt(s.t.conns[i].fd, SOL_SOCKET, SO_SNDBUF, &small,
					   sizeof(small));
		hcli_send(h, req, (size_t)n);
		end = now_ms() + WAIT_MS;
		while (conns_in(&s, TC_WRITING) == 0 && now_ms() < end)
			pump(&s, 1);
		CHECK_EQ_INT(conns_in(&s, TC_WRITING), 1);
		end = now_ms() + WAIT_MS;
		/* the body is over 16 KB: read it raw */
		for (;;) {
			ssize_t k = recv(h->fd, h->buf + h->len, CLI_BUF - h->len, 0);

			if (k > 0)
				h->len += (size_t)k;
			if (memmem(h->buf, h->len, "\r\n\r\n", 4)) {
				char *body = memmem(h->buf, h->len, "\r\n\r\n", 4) + 4;
				size_t clen = strtoul(strcasestr(h->buf, "Content-Length: ") + 16,
						      NULL, 10);

				if ((size_t)(h->buf + h->len - body) >= clen) {
					const char *why;

					memset(&r, 0, sizeof(r));
					r.peers = p;
					r.max_peers = 1000;
					CHECK(trk_http_parse_announce((uint8_t *)body, clen, &r,
								      &why) == 0);
					CHECK_EQ_INT(r.n_peers, 899);
					break;
				}
			}
			if (now_ms() > end) {
				CHECK(!"big reply not received");
				break;
			}
			pump(&s, k > 0 ? 0 : 1);
		}
		pump(&s, 10);
		CHECK_EQ_INT(conns_in(&s, TC_WRITING), 0); /* flushed, keep-alive again */
		CHECK_EQ_INT(conns_in(&s, TC_IDLE), 1);
	}
	hcli_close(h);
	free(p);
	srv_stop(&s);
}

/* --- UDP --- */

static int udp_open(struct srv *s, int family)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	REQUIRE(fd >= 0);
	if (family == AF_INET) {
		a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a4.sin_port = htons(tsrv_port(&s->t, 0));
		REQUIRE(connect(fd, (struct sockaddr *)&a4, sizeof(a4)) == 0);
	} else {
		a6.sin6_port = htons(tsrv_port(&s->t, 1));
		REQUIRE(connect(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0);
	}
	return fd;
}

/* Sends a datagram and waits for the reply: its length, or -1 when none came in 300 ms. */
static ssize_t udp_ask(struct srv *s, int fd, const void *req, size_t len, uint8_t *resp,
		       size_t cap)
{
	uint64_t end = now_ms() + 300;

	REQUIRE(send(fd, req, len, 0) == (ssize_t)len);
	while (now_ms() < end) {
		ssize_t n;

		pump(s, 0);
		n = recv(fd, resp, cap, 0);
		if (n >= 0)
			return n;
		pump(s, 1);
	}
	return -1;
}

static uint64_t udp_connect(struct srv *s, int fd)
{
	uint8_t req[16], resp[64];
	struct trk_udp_resp r = { 0 };
	const char *why;
	ssize_t n;

	trk_udp_connect_req(req, 77);
	n = udp_ask(s, fd, req, sizeof(req), resp, sizeof(resp));
	REQUIRE(n == 16);
	REQUIRE(trk_udp_parse_resp(resp, (size_t)n, AF_INET, 77, &r, &why) == 0);
	CHECK_EQ_INT(r.action, TRK_UDP_CONNECT);
	return r.conn_id;
}

/* An announce; the reply parsed into r (action ANNOUNCE or ERROR). */
static int udp_announce(struct srv *s, int fd, int family, uint64_t cid, const uint8_t ih[20],
			unsigned id, uint16_t port, uint64_t left, struct trk_udp_resp *r,
			struct trk_peer *peers)
{
	struct trk_announce a = {
		.info_hash = ih, .port = port, .left = left, .numwant = UINT32_MAX
	};
	static uint8_t resp[2048]; /* r->error points in here */
	uint8_t req[98], pid[20];
	const char *why;
	ssize_t n;

	hash_of(pid, 'U', id);
	a.peer_id = pid;
	trk_udp_announce_req(req, cid, 1234 + id, &a);
	n = udp_ask(s, fd, req, sizeof(req), resp, sizeof(resp));
	if (n < 0)
		return -1;
	memset(r, 0, sizeof(*r));
	r->peers = peers;
	r->max_peers = MAX_REPLY;
	return trk_udp_parse_resp(resp, (size_t)n, family, 1234 + id, r, &why);
}

/* Three announces (the third a seeder), then a scrape of the swarm and of an unknown hash. */
static void udp_announce_scrape(struct srv *s, int fd, uint64_t cid, const uint8_t ih[20])
{
	struct trk_udp_resp r;
	struct trk_peer p[MAX_REPLY];
	struct trk_scrape sc[4];
	uint8_t req[2048], resp[2048], hashes[3][20];
	const char *why;
	ssize_t n;

	for (unsigned i = 1; i <= 3; i++) {
		CHECK(udp_announce(s, fd, AF_INET, cid, ih, i, (uint16_t)(7000 + i), i == 3 ? 0 : 5,
				   &r, p) == 0);
		CHECK_EQ_INT(r.action, TRK_UDP_ANNOUNCE);
		CHECK_EQ_INT(r.n_peers, i == 3 ? 2 : i - 1);
	}
	CHECK_EQ_INT(r.seeders, 1);
	CHECK_EQ_INT(r.leechers, 2);
	CHECK_EQ_INT(r.interval, (uint32_t)s->c.tracker_interval);
	CHECK(r.n_peers == 2 && r.peers[0].port != 7003 && r.peers[1].port != 7003);

	/* in request order, a repeated hash answered twice */
	memcpy(hashes[0], ih, 20);
	hash_of(hashes[1], 'v', 2);
	memcpy(hashes[2], ih, 20);
	n = trk_udp_scrape_req(req, sizeof(req), cid, 99, (const uint8_t(*)[20])hashes, 3);
	REQUIRE(n > 0);
	n = udp_ask(s, fd, req, (size_t)n, resp, sizeof(resp));
	memset(&r, 0, sizeof(r));
	r.scrapes = sc;
	r.max_scrapes = 4;
	CHECK(n == 8 + 3 * 12 && trk_udp_parse_resp(resp, (size_t)n, AF_INET, 99, &r, &why) == 0);
	CHECK(r.n_scrapes == 3 && sc[0].complete == 1 && sc[0].incomplete == 2 &&
	      sc[1].complete == 0 && sc[1].incomplete == 0 && sc[2].incomplete == 2);
}

/* Wrong connection ids, short, cut and oversized datagrams. */
static void udp_bad(struct srv *s, int fd, uint64_t cid, const uint8_t ih[20])
{
	struct trk_udp_resp r;
	struct trk_peer p[MAX_REPLY];
	uint8_t req[2048], resp[2048], *huge = calloc(1, 4000);
	ssize_t n;

	REQUIRE(huge);
	CHECK(udp_announce(s, fd, AF_INET, cid ^ 1, ih, 9, 7009, 5, &r, p) == 0);
	CHECK_EQ_INT(r.action, TRK_UDP_ERROR);
	CHECK_EQ_INT(s->t.stat[TSTAT_BAD_CONN_ID], 1);
	/* short: no reply; 16 bytes of nonsense: an error with its transaction id */
	memset(req, 0, sizeof(req));
	CHECK(udp_ask(s, fd, req, 8, resp, sizeof(resp)) == -1);
	req[11] = 9; /* action 9 */
	req[15] = 42;
	n = udp_ask(s, fd, req, 16, resp, sizeof(resp));
	CHECK(n >= 8 && resp[3] == TRK_UDP_ERROR && resp[7] == 42);
	/* an announce cut short */
	memcpy(req, &cid, 8);
	req[11] = TRK_UDP_ANNOUNCE;
	n = udp_ask(s, fd, req, 50, resp, sizeof(resp));
	CHECK(n >= 8 && resp[3] == TRK_UDP_ERROR);
	CHECK_EQ_INT(s->t.stat[TSTAT_BAD_UDP], 3);
	/* over TSRV_UDP_IN_MAX: truncated, dropped */
	CHECK(udp_ask(s, fd, huge, 4000, resp, sizeof(resp)) == -1);
	CHECK_EQ_INT(s->t.stat[TSTAT_BAD_UDP], 4);
	free(huge);
}

/* A connection id outlives one secret rotation, not two. */
static void udp_rotation(struct srv *s, int fd, uint64_t cid, const uint8_t ih[20])
{
	struct trk_udp_resp r;
	struct trk_peer p[MAX_REPLY];

	skew(s, TSRV_SECRET_MS + 1000);
	CHECK(udp_announce(s, fd, AF_INET, cid, ih, 1, 7001, 5, &r, p) == 0);
	CHECK_EQ_INT(r.action, TRK_UDP_ANNOUNCE);
	skew(s, TSRV_SECRET_MS + 1000);
	CHECK(udp_announce(s, fd, AF_INET, cid, ih, 1, 7001, 5, &r, p) == 0);
	CHECK_EQ_INT(r.action, TRK_UDP_ERROR);
	cid = udp_connect(s, fd);
	CHECK(udp_announce(s, fd, AF_INET, cid, ih, 1, 7001, 5, &r, p) == 0);
	CHECK_EQ_INT(r.action, TRK_UDP_ANNOUNCE);
}

static void test_udp(void)
{
	struct srv s;
	struct trk_udp_resp r;
	struct trk_peer p[MAX_REPLY];
	uint8_t ih[20];
	uint64_t cid;
	int fd;

	srv_conf(&s);
	s.c.tracker_open = true;
	srv_start(&s);
	hash_of(ih, 'v', 1);
	fd = udp_open(&s, AF_INET);
	cid = udp_connect(&s, fd);
	udp_announce_scrape(&s, fd, cid, ih);
	udp_bad(&s, fd, cid, ih);
	udp_rotation(&s, fd, cid, ih);
	close(fd);

	/* IPv6: 18-byte peers of v6 clients only */
	if (s.v6) {
		fd = udp_open(&s, AF_INET6);
		cid = udp_connect(&s, fd);
		CHECK(udp_announce(&s, fd, AF_INET6, cid, ih, 11, 7011, 5, &r, p) == 0);
		CHECK_EQ_INT(r.n_peers, 0);
		CHECK(udp_announce(&s, fd, AF_INET6, cid, ih, 12, 7012, 5, &r, p) == 0);
		CHECK(r.action == TRK_UDP_ANNOUNCE && r.n_peers == 1 && r.peers[0].port == 7011 &&
		      r.peers[0].family == AF_INET6);
		close(fd);
	}
	/* closed tracker: an unknown torrent is an error */
	s.c.tracker_open = false;
	tsrv_set_conf(&s.t, &s.c);
	fd = udp_open(&s, AF_INET);
	cid = udp_connect(&s, fd);
	CHECK(udp_announce(&s, fd, AF_INET, cid, ih, 1, 7001, 5, &r, p) == 0);
	CHECK(r.action == TRK_UDP_ERROR && r.error &&
	      memcmp(r.error, "unregistered torrent", r.error_len) == 0);
	close(fd);
	srv_stop(&s);
}

/* --- the tables, straight: random operations against a model --- */

struct model {
	bool in, seeder;
};

static void check_tables(struct tsrv *t, const uint8_t ih[20], const struct model *m, unsigned nm)
{
	struct tsrv_swarm *s = NULL;
	unsigned in = 0, seeders = 0, entries = 0;

	for (uint32_t i = 0; i < t->swarms_cap; i++)
		if (t->swarms[i] && memcmp(t->swarms[i]->info_hash, ih, 20) == 0)
			s = t->swarms[i];
	for (unsigned i = 0; i < nm; i++) {
		in += m[i].in;
		seeders += m[i].in && m[i].seeder;
	}
	if (!s) {
		CHECK_EQ_INT(in, 0);
		return;
	}
	CHECK_EQ_INT(s->fam[0].n, in);
	CHECK_EQ_INT(s->fam[0].n - s->fam[0].nleech, seeders);
	for (uint32_t i = 0; i < s->fam[0].n; i++) {
		const struct tsrv_peer *p = &s->fam[0].p[i];
		unsigned id;

		memcpy(&id, p->peer_id, sizeof(id));
		CHECK(id < nm && m[id].in && m[id].seeder == (i >= s->fam[0].nleech));
		CHECK(p->hslot < s->index_cap && s->index[p->hslot] == (i + 1));
	}
	for (uint32_t i = 0; i < s->index_cap; i++)
		entries += s->index[i] != 0;
	CHECK_EQ_INT(entries, in);
	CHECK_EQ_INT(t->n_peers, in);
}

static void test_tables(void)
{
	enum { NM = 3000, OPS = 60000 };
	struct tsrv t;
	struct conf c;
	struct model *m = calloc(NM, sizeof(*m));
	uint8_t ih[20], addr[16] = { 10, 0, 0, 1 };
	char err[128];
	unsigned fails = 0, in = 0;

	REQUIRE(m);
	conf_defaults(&c);
	c.tracker = true;
	c.tracker_listen.n = 0; /* no sockets: the tables alone */
	c.tracker_max_peers = 2500;
	c.tracker_numwant = 1000;
	REQUIRE(tsrv_init(&t, &c, -1, KIND, err, sizeof(err)) == 0);
	t.now_ms = 1000000;
	hash_of(ih, 'T', 1);
	tsrv_allow(&t, ih);
	for (unsigned op = 0; op < OPS; op++) {
		unsigned id = (unsigned)(tsrv_rand(&t) % NM), k = (unsigned)(tsrv_rand(&t) % 10);
		struct trk_query q = { .port = 1, .left = k < 3 ? 0 : 1, .compact = true };
		struct tsrv_ann a;

		memcpy(q.info_hash, ih, 20);
		memset(q.peer_id, 0, 20);
		memcpy(q.peer_id, &id, sizeof(id));
		q.event = k == 9 ? TRK_EVENT_STOPPED : TRK_EVENT_NONE;
		tsrv_announce(&t, &q, AF_INET, addr, (unsigned)(tsrv_rand(&t) % 60), &a);
		if (q.event == TRK_EVENT_STOPPED) {
			in -= m[id].in;
			m[id].in = false;
		} else if (a.refused) {
			CHECK(!m[id].in && in == 2500);
			fails++;
		} else {
			in += !m[id].in;
			m[id].in = true;
			m[id].seeder = q.left == 0;
		}
		/* the reply: distinct, never the requester, leechers only for a seeder */
		for (unsigned i = 0; i < a.n; i++) {
			unsigned pid;

			memcpy(&pid, t.sel[i].peer_id, sizeof(pid));
			CHECK(pid != id && pid < NM && m[pid].in);
			if (q.left == 0)
				CHECK(!m[pid].seeder);
			for (unsigned j = 0; j < i; j++)
				CHECK(memcmp(t.sel[i].peer_id, t.sel[j].peer_id, 20) != 0);
		}
		if (op % 5000 == 0)
			check_tables(&t, ih, m, NM);
	}
	check_tables(&t, ih, m, NM);
	CHECK(fails > 0);
	/* everything expires; the swarm stays (ours), empty */
	t.now_ms += (uint64_t)c.tracker_interval * 2000 + 1000;
	for (int i = 0; i < 10; i++)
		tsrv_sweep(&t, 1000);
	memset(m, 0, NM * sizeof(*m));
	check_tables(&t, ih, m, NM);
	CHECK_EQ_INT(t.n_swarms, 1);
	tsrv_close(&t);
	free(m);
}

int main(void)
{
	log_init("test_tracker_srv", LOG_LVL_NOTICE);
	signal(SIGPIPE, SIG_IGN);
	test_tables();
	test_http_announce();
	test_http_ipv6();
	test_expiry_numwant();
	test_refusals();
	test_scrape();
	test_http_errors();
	test_http_big_reply();
	test_udp();
	return test_done("test_tracker_srv");
}
