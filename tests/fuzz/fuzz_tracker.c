/*
 * fuzz_tracker.c - libFuzzer target for proto/tracker.
 *
 * The input goes whole to every parser: the HTTP announce and scrape reply
 * parsers, trk_udp_parse_resp on an IPv4 and an IPv6 socket (expecting the
 * transaction id the input carries, then one it does not), trk_udp_parse_req,
 * both query-string parsers, and (cut at its first NUL) the scrape URL
 * derivation and the announce URL writer as a base.
 *
 * Invariants: every parser returns 0 or its documented errors with *why set
 * exactly on failure; counts stay within the caller's max; pointers handed
 * back lie inside the input; stored peers have a port and a known family.
 *
 * Round trips: what a parser accepted, written again by the matching writer,
 * parses to the same fields (HTTP replies, compact and not; scrape replies;
 * queries through trk_http_announce_url) or gives back the very input bytes
 * (UDP packets, but the IP address field a client always sends as 0).
 */
#include <errno.h>
#include <string.h>

#include "proto/bencode.h"
#include "proto/bytes.h"
#include "proto/tracker.h"
#include "tests/fuzz/fuzz.h"

#define MAX_PEERS   8
#define MAX_SCRAPES 8
#define MAX_HASHES  8
#define BUF_CAP	    (64 * 1024)

/* The hash the scrape reply parser is asked about; the seeds use it. */
static const uint8_t fuzz_hash[TRK_HASH_LEN] = "01234567890123456789";

static uint8_t out_buf[BUF_CAP];

static void assert_inside(const void *p, size_t n, const uint8_t *buf, size_t len)
{
	const uint8_t *q = p;

	ASSERT(q >= buf && q <= buf + len && n <= (size_t)(buf + len - q));
}

static void assert_why(int rc, const char *why)
{
	ASSERT(rc == 0 ? why == NULL : why != NULL && why[0] != '\0');
}

static void assert_peer(const struct trk_peer *p)
{
	static const uint8_t zero[12];

	ASSERT(p->port != 0);
	ASSERT(p->family == TRK_AF_INET || p->family == TRK_AF_INET6);
	if (p->family == TRK_AF_INET)
		ASSERT(memcmp(p->addr + 4, zero, sizeof(zero)) == 0);
}

static bool same_addr(const struct trk_peer *x, const struct trk_peer *y)
{
	return x->family == y->family && memcmp(x->addr, y->addr, 16) == 0 && x->port == y->port;
}

/* --- HTTP replies --- */

/* Written again, compact and not, then parsed: the same peers come back. */
static void announce_round_trip(const struct trk_reply *r)
{
	struct trk_peer back[MAX_PEERS];
	struct trk_reply b = { .peers = back, .max_peers = MAX_PEERS };
	uint32_t interval = r->interval < 0 ? 0 : (uint32_t)r->interval;
	const char *why;
	ssize_t n;
	unsigned j = 0;

	n = trk_http_announce_resp(out_buf, BUF_CAP, interval, 0, 1, 2, r->peers, r->n_peers, false,
				   false);
	ASSERT(n > 0);
	ASSERT(trk_http_parse_announce(out_buf, (size_t)n, &b, &why) == 0);
	ASSERT(b.n_peers == r->n_peers && b.peers4 + b.peers6 == r->n_peers);
	ASSERT(b.interval == interval && b.min_interval == -1 && b.complete == 1);
	for (unsigned i = 0; i < r->n_peers; i++) {
		ASSERT(same_addr(&back[i], &r->peers[i]));
		ASSERT(back[i].has_id == r->peers[i].has_id);
		ASSERT(!back[i].has_id || memcmp(back[i].peer_id, r->peers[i].peer_id, 20) == 0);
	}

	/* Compact: IPv4 peers first, then IPv6, each in their order; no ids. */
	n = trk_http_announce_resp(out_buf, BUF_CAP, interval, 5, 1, 2, r->peers, r->n_peers, true,
				   false);
	ASSERT(n > 0);
	ASSERT(trk_http_parse_announce(out_buf, (size_t)n, &b, &why) == 0);
	ASSERT(b.n_peers == r->n_peers && b.min_interval == 5);
	for (int fam = 0; fam < 2; fam++)
		for (unsigned i = 0; i < r->n_peers; i++)
			if (r->peers[i].family == (fam ? TRK_AF_INET6 : TRK_AF_INET)) {
				ASSERT(same_addr(&back[j], &r->peers[i]) && !back[j].has_id);
				j++;
			}
	ASSERT(j == b.n_peers);
}

static void http_announce(const uint8_t *buf, size_t len)
{
	struct trk_peer peers[MAX_PEERS];
	struct trk_reply r = { .peers = peers, .max_peers = MAX_PEERS };
	const char *why = "unset";
	int rc = trk_http_parse_announce(buf, len, &r, &why);

	ASSERT(rc == 0 || rc == -EINVAL);
	assert_why(rc, why);
	if (rc)
		return;
	if (r.failure) {
		assert_inside(r.failure, r.failure_len, buf, len);
		ASSERT(r.n_peers == 0 && r.interval == -1);
		return;
	}
	if (r.warning)
		assert_inside(r.warning, r.warning_len, buf, len);
	if (r.tracker_id)
		assert_inside(r.tracker_id, r.tracker_id_len, buf, len);
	ASSERT(r.interval >= -1 && r.min_interval >= -1 && r.complete >= -1 && r.incomplete >= -1);
	ASSERT(r.n_peers <= MAX_PEERS);
	ASSERT(r.n_peers == (r.peers4 + r.peers6 < MAX_PEERS ? r.peers4 + r.peers6 : MAX_PEERS));
	for (unsigned i = 0; i < r.n_peers; i++)
		assert_peer(&peers[i]);
	/* Without room for the peers, the counts do not change. */
	{
		struct trk_reply none = { 0 };

		ASSERT(trk_http_parse_announce(buf, len, &none, &why) == 0);
		ASSERT(none.n_peers == 0 && none.peers4 == r.peers4 && none.peers6 == r.peers6);
		ASSERT(none.peers_skipped == r.peers_skipped);
	}
	announce_round_trip(&r);
}

static void http_scrape(const uint8_t *buf, size_t len)
{
	struct trk_scrape s, back;
	const char *why = "unset";
	int rc = trk_http_parse_scrape(buf, len, fuzz_hash, &s, &why);
	ssize_t n;

	ASSERT(rc == 0 || rc == -EINVAL || rc == -ENOENT);
	assert_why(rc, why);
	if (rc)
		return;
	n = trk_http_scrape_resp(out_buf, BUF_CAP, &fuzz_hash, &s, 1);
	ASSERT(n > 0);
	ASSERT(trk_http_parse_scrape(out_buf, (size_t)n, fuzz_hash, &back, &why) == 0);
	ASSERT(memcmp(&back, &s, sizeof(s)) == 0);
}

/* --- UDP --- */

/* A response the client accepted, written by the server's writer: the same bytes. */
static void udp_resp_again(const uint8_t *buf, size_t len, int family, const struct trk_udp_resp *r)
{
	ssize_t n = -1;

	switch (r->action) {
	case TRK_UDP_CONNECT:
		ASSERT(trk_udp_connect_resp(out_buf, r->txid, r->conn_id) == 16);
		ASSERT(memcmp(out_buf, buf, 16) == 0);
		return;
	case TRK_UDP_ANNOUNCE:
		if (r->n_peers != r->total_peers)
			return; /* a port 0 left out, or no room */
		n = trk_udp_announce_resp(out_buf, BUF_CAP, r->txid, r->interval, r->leechers,
					  r->seeders, r->peers, r->n_peers, family);
		break;
	case TRK_UDP_SCRAPE:
		if (r->n_scrapes != (len - 8) / 12)
			return;
		n = trk_udp_scrape_resp(out_buf, BUF_CAP, r->txid, r->scrapes, r->n_scrapes);
		break;
	case TRK_UDP_ERROR: {
		char msg[512];

		if (r->error_len >= sizeof(msg) || memchr(r->error, 0, r->error_len))
			return;
		memcpy(msg, r->error, r->error_len);
		msg[r->error_len] = '\0';
		n = trk_udp_error_resp(out_buf, BUF_CAP, r->txid, msg);
		break;
	}
	default:
		ASSERT(0);
	}
	ASSERT(n >= 0 && (size_t)n == len && memcmp(out_buf, buf, len) == 0);
}

static void udp_resp(const uint8_t *buf, size_t len, int family)
{
	struct trk_peer peers[MAX_PEERS];
	struct trk_scrape scrapes[MAX_SCRAPES];
	struct trk_udp_resp r = { .peers = peers,
				  .max_peers = MAX_PEERS,
				  .scrapes = scrapes,
				  .max_scrapes = MAX_SCRAPES };
	uint32_t txid = len >= 8 ? get_be32(buf + 4) : 0;
	const char *why = "unset";
	int rc = trk_udp_parse_resp(buf, len, family, txid, &r, &why);

	ASSERT(rc == 0 || rc == -EINVAL);
	assert_why(rc, why);
	if (len >= 8)
		ASSERT(trk_udp_parse_resp(buf, len, family, txid + 1, &r, &why) == -EINVAL &&
		       strcmp(why, "transaction id mismatch") == 0);
	if (rc)
		return;
	ASSERT(trk_udp_parse_resp(buf, len, family, txid, &r, &why) == 0);
	ASSERT(r.action <= TRK_UDP_ERROR && r.txid == txid);
	ASSERT(r.n_peers <= MAX_PEERS && r.n_peers <= r.total_peers);
	ASSERT(r.n_scrapes <= MAX_SCRAPES);
	for (unsigned i = 0; i < r.n_peers; i++) {
		assert_peer(&peers[i]);
		ASSERT(peers[i].family == family);
	}
	if (r.action == TRK_UDP_ANNOUNCE)
		ASSERT((size_t)r.total_peers * (family == TRK_AF_INET ? 6 : 18) + 20 == len);
	if (r.action == TRK_UDP_ERROR)
		assert_inside(r.error, r.error_len, buf, len);
	udp_resp_again(buf, len, family, &r);
}

/* A request the server accepted, written by the client's writer: the same bytes. */
static void udp_req_again(const uint8_t *buf, size_t len, const struct trk_udp_req *r)
{
	struct trk_announce a = {
		.info_hash = r->q.info_hash,
		.peer_id = r->q.peer_id,
		.port = r->q.port,
		.uploaded = r->q.uploaded,
		.downloaded = r->q.downloaded,
		.left = r->q.left,
		.event = r->q.event,
		.numwant = r->q.has_numwant ? r->q.numwant : UINT32_MAX,
		.key = r->q.key,
	};
	ssize_t n;

	switch (r->action) {
	case TRK_UDP_CONNECT:
		ASSERT(trk_udp_connect_req(out_buf, r->txid) == 16);
		ASSERT(len == 16 && memcmp(out_buf, buf, 16) == 0);
		break;
	case TRK_UDP_ANNOUNCE:
		ASSERT(trk_udp_announce_req(out_buf, r->conn_id, r->txid, &a) == 98);
		ASSERT(memcmp(out_buf, buf, 84) == 0 && get_be32(out_buf + 84) == 0);
		ASSERT(memcmp(out_buf + 88, buf + 88, 10) == 0);
		break;
	case TRK_UDP_SCRAPE:
		n = trk_udp_scrape_req(out_buf, BUF_CAP, r->conn_id, r->txid,
				       (const uint8_t(*)[TRK_HASH_LEN])r->hashes, r->n_hashes);
		ASSERT(n >= 0 && (size_t)n == len && memcmp(out_buf, buf, len) == 0);
		break;
	default:
		ASSERT(0);
	}
}

static void udp_req(const uint8_t *buf, size_t len)
{
	struct trk_udp_req r;
	const char *why = "unset";
	int rc = trk_udp_parse_req(buf, len, &r, &why);

	ASSERT(rc == 0 || rc == -EINVAL);
	assert_why(rc, why);
	if (rc)
		return;
	ASSERT(r.action <= TRK_UDP_SCRAPE);
	if (r.action == TRK_UDP_ANNOUNCE)
		ASSERT(r.q.port != 0 && r.q.event <= TRK_EVENT_STOPPED && r.q.compact);
	if (r.action == TRK_UDP_SCRAPE) {
		ASSERT(r.n_hashes >= 1 && r.n_hashes <= TRK_UDP_MAX_SCRAPE);
		assert_inside(r.hashes, (size_t)r.n_hashes * TRK_HASH_LEN, buf, len);
	} else {
		ASSERT(r.hashes == NULL && r.n_hashes == 0);
	}
	udp_req_again(buf, len, &r);
}

/* --- query strings --- */

/* A parsed query, re-encoded as a URL and parsed again, gives the same fields. */
static void query_round_trip(const struct trk_query *q)
{
	static char url[TRK_MAX_URL];
	struct trk_announce a = {
		.info_hash = q->info_hash,
		.peer_id = q->peer_id,
		.port = q->port,
		.uploaded = q->uploaded,
		.downloaded = q->downloaded,
		.left = q->left,
		.event = q->event,
		.numwant = q->numwant,
		.key = q->key,
	};
	struct trk_query b;
	const char *why, *qs;
	ssize_t n = trk_http_announce_url(url, sizeof(url), "http://t.example/announce", &a);

	ASSERT(n > 0 && (size_t)n == strlen(url));
	qs = strchr(url, '?');
	ASSERT(qs);
	qs++;
	ASSERT(trk_parse_announce_query(qs, strlen(qs), &b, &why) == 0);
	ASSERT(memcmp(b.info_hash, q->info_hash, TRK_HASH_LEN) == 0);
	ASSERT(memcmp(b.peer_id, q->peer_id, 20) == 0);
	ASSERT(b.port == q->port && b.uploaded == q->uploaded && b.downloaded == q->downloaded);
	ASSERT(b.left == q->left && b.event == q->event);
	ASSERT(b.compact && !b.no_peer_id && b.has_numwant && b.numwant == q->numwant);
	ASSERT(b.has_key && b.key == q->key);
}

static void announce_query(const uint8_t *buf, size_t len)
{
	struct trk_query q;
	const char *why = "unset";
	int rc = trk_parse_announce_query((const char *)buf, len, &q, &why);

	ASSERT(rc == 0 || rc == -EINVAL);
	assert_why(rc, why);
	if (rc)
		return;
	ASSERT(q.port != 0 && q.event <= TRK_EVENT_STOPPED);
	ASSERT(q.has_numwant || q.numwant == 0);
	ASSERT(q.has_key || q.key == 0);
	query_round_trip(&q);
}

/* The hashes of a scrape query, answered and looked up one by one. */
static void scrape_query(const uint8_t *buf, size_t len)
{
	uint8_t hashes[MAX_HASHES][TRK_HASH_LEN];
	struct trk_scrape s[MAX_HASHES], got;
	unsigned n = 99;
	const char *why = "unset";
	int rc = trk_parse_scrape_query((const char *)buf, len, hashes, MAX_HASHES, &n, &why);
	ssize_t m;

	ASSERT(rc == 0 || rc == -EINVAL || rc == -E2BIG);
	assert_why(rc, why);
	if (rc)
		return;
	ASSERT(n <= MAX_HASHES);
	for (unsigned i = 0; i < n; i++)
		s[i] = (struct trk_scrape){ i, i + 100, i + 200 };
	m = trk_http_scrape_resp(out_buf, BUF_CAP, (const uint8_t(*)[TRK_HASH_LEN])hashes, s, n);
	ASSERT(m > 0);
	for (unsigned i = 0; i < n; i++) {
		unsigned first = 0;

		while (memcmp(hashes[first], hashes[i], TRK_HASH_LEN) != 0)
			first++;
		ASSERT(trk_http_parse_scrape(out_buf, (size_t)m, hashes[i], &got, &why) == 0);
		ASSERT(memcmp(&got, &s[first], sizeof(got)) == 0);
	}
}

/* --- URLs --- */

/* The text as a failure reason, read back; as a tracker id, carried in a URL that still parses. */
static void failure_and_tracker_id(const char *text, size_t n)
{
	static char url[3 * TRK_MAX_URL + 1024];
	struct trk_announce a = { .info_hash = fuzz_hash, .peer_id = fuzz_hash, .port = 1 };
	struct trk_reply r = { 0 };
	struct trk_query q;
	const char *why, *qs;
	ssize_t got = trk_http_failure(out_buf, BUF_CAP, text);

	ASSERT(got > 0);
	ASSERT(trk_http_parse_announce(out_buf, (size_t)got, &r, &why) == 0);
	ASSERT(r.failure_len == n && memcmp(r.failure, text, n) == 0);
	a.tracker_id = text;
	got = trk_http_announce_url(url, sizeof(url), "http://t/announce", &a);
	ASSERT(got > 0);
	qs = strchr(url, '?') + 1;
	ASSERT(trk_parse_announce_query(qs, strlen(qs), &q, &why) == 0 && q.port == 1);
}

static void urls(const uint8_t *buf, size_t len)
{
	static char in[TRK_MAX_URL], out[TRK_MAX_URL + 1024];
	size_t n = strnlen((const char *)buf, len < sizeof(in) - 1 ? len : sizeof(in) - 1);
	struct trk_announce a = { .info_hash = fuzz_hash, .peer_id = fuzz_hash, .port = 1 };
	ssize_t got;
	int rc;

	memcpy(in, buf, n);
	in[n] = '\0';
	rc = trk_http_scrape_url(out, sizeof(out), in);
	ASSERT(rc == 0 || rc == -EINVAL);
	if (rc == 0) {
		/* "announce" and "scrape" differ from their first letter on. */
		size_t p = 0;

		while (in[p] == out[p])
			p++;
		ASSERT(strlen(out) == n - 2 && p > 0 && in[p - 1] == '/');
		ASSERT(memcmp(in + p, "announce", 8) == 0 && memcmp(out + p, "scrape", 6) == 0);
		ASSERT(strcmp(out + p + 6, in + p + 8) == 0);
	}
	got = trk_http_announce_url(out, sizeof(out), in, &a);
	ASSERT(got == -EINVAL || got > 0);
	if (got > 0)
		ASSERT(strncmp(out, in, n) == 0 && (size_t)got == strlen(out));
	failure_and_tracker_id(in, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	http_announce(data, size);
	http_scrape(data, size);
	udp_resp(data, size, TRK_AF_INET);
	udp_resp(data, size, TRK_AF_INET6);
	udp_req(data, size);
	announce_query(data, size);
	scrape_query(data, size);
	urls(data, size);
	return 0;
}
