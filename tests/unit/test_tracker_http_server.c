/*
 * test_tracker_http_server.c - the built-in tracker's HTTP side: the query
 * parsers, and the replies it writes, read back by bc_parse() and by the
 * client's own parser.
 */
#include <errno.h>

#include "proto/bencode.h"
#include "tests/unit/tracker_test.h"

/* --- server side: query strings --- */

#define HASH_A_PCT "%00%01%02%03%04%05%06%07%08%09%0a%0B%0c%0D%0e%0F%10%11%12%13"

static int query(const char *q, struct trk_query *out, const char **why)
{
	memset(out, 0x5a, sizeof(*out));
	return trk_parse_announce_query(q, strlen(q), out, why);
}

static void query_bad_case(int line, const char *q, const char *why_part)
{
	struct trk_query out;
	const char *why = NULL;
	int rc = query(q, &out, &why);

	test_checks++;
	if (rc == -EINVAL && why && strstr(why, why_part))
		return;
	test_failures++;
	fprintf(stderr, "%s:%d: query \"%s\": rc %d why \"%s\", expected \"%s\"\n", __FILE__, line,
		q, rc, why ? why : "(null)", why_part);
}

#define QUERY_BAD(q, why) query_bad_case(__LINE__, q, why)
#define BASE_Q		  "info_hash=" HASH_A_PCT "&peer_id=" PEER_ID "&port=6881"

static void test_query_good(void)
{
	struct trk_query q;
	const char *why = "unset";

	REQUIRE(query(BASE_Q "&uploaded=1&downloaded=2&left=18446744073709551615&event=completed"
			     "&compact=0&no_peer_id=1&numwant=4294967295&key=1234abCD"
			     "&ip=1.2.3.4&supportcrypto=1&trackerid=x&foo=%zz&&bare",
		      &q, &why) == 0);
	CHECK(why == NULL);
	CHECK(memcmp(q.info_hash, hash_a, 20) == 0 && memcmp(q.peer_id, PEER_ID, 20) == 0);
	CHECK(q.port == 6881 && q.uploaded == 1 && q.downloaded == 2 && q.left == UINT64_MAX);
	CHECK(q.event == TRK_EVENT_COMPLETED && !q.compact && q.no_peer_id);
	CHECK(q.has_numwant && q.numwant == UINT32_MAX && q.has_key && q.key == 0x1234abcd);

	/* Only the required three: defaults for the rest. */
	REQUIRE(query(BASE_Q, &q, &why) == 0);
	CHECK(q.uploaded == 0 && q.downloaded == 0 && q.left == 0 && q.event == TRK_EVENT_NONE);
	CHECK(q.compact && !q.no_peer_id && !q.has_numwant && q.numwant == 0 && !q.has_key);

	/* '+' is 0x2B, never a space; letters and escapes mix. */
	REQUIRE(query("port=1&peer_id=%2D++++++++++++++++++%2b&info_hash=ABCDEFGHIJKLMNOPQR%53T",
		      &q, &why) == 0);
	CHECK(memcmp(q.peer_id, "-+++++++++++++++++++", 20) == 0);
	CHECK(memcmp(q.info_hash, hash_c, 20) == 0 && q.port == 1);

	/* The last of a repeated key wins. */
	REQUIRE(query(BASE_Q "&port=2&event=started&event=&numwant=5&numwant=0", &q, &why) == 0);
	CHECK(q.port == 2 && q.event == TRK_EVENT_NONE && q.has_numwant && q.numwant == 0);
	REQUIRE(query(BASE_Q "&event=stopped&port=65535&event=paused", &q, &why) == 0);
	CHECK(q.port == 65535 && q.event == TRK_EVENT_NONE);
	REQUIRE(query(BASE_Q "&event=stopped&event", &q, &why) == 0);
	CHECK(q.event == TRK_EVENT_NONE);
	REQUIRE(query(BASE_Q "&event=%73topped&compact=1&no_peer_id=0&left=007", &q, &why) == 0);
	CHECK(q.event == TRK_EVENT_STOPPED && q.compact && !q.no_peer_id && q.left == 7);

	/* A key that is not 1..8 hex digits is ignored, not refused. */
	static const char *const keys[] = { "key=", "key=xyz", "key=123456789", "key=%zz",
					    "key=12 4" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char s[256];

		snprintf(s, sizeof(s), "%s&key=1&%s", BASE_Q, keys[i]);
		CHECK_EQ_INT(query(s, &q, &why), 0);
		CHECK(!q.has_key && q.key == 0);
	}
	REQUIRE(query(BASE_Q "&key=f", &q, &why) == 0);
	CHECK(q.has_key && q.key == 0xf);
	/* The length bounds the parse: a NUL-free prefix. */
	CHECK_EQ_INT(trk_parse_announce_query(BASE_Q "&port=0", strlen(BASE_Q), &q, &why), 0);
	CHECK_EQ_INT(trk_parse_announce_query(NULL, 0, &q, &why), -EINVAL);
}

static void test_query_bad(void)
{
	QUERY_BAD("peer_id=" PEER_ID "&port=1", "info_hash missing");
	QUERY_BAD("info_hash=" HASH_A_PCT "&port=1", "peer_id missing");
	QUERY_BAD("info_hash=" HASH_A_PCT "&peer_id=" PEER_ID, "port missing");
	QUERY_BAD("", "info_hash missing");
	QUERY_BAD("&&&", "info_hash missing");
	QUERY_BAD("info_hash%3D" HASH_A_PCT "&peer_id=" PEER_ID "&port=1", "info_hash missing");
	/* Escapes. */
	QUERY_BAD("info_hash=%&peer_id=" PEER_ID "&port=1", "bad percent escape");
	QUERY_BAD("info_hash=" HASH_A_PCT "%&peer_id=" PEER_ID "&port=1", "bad percent escape");
	QUERY_BAD("info_hash=" HASH_A_PCT "%4", "bad percent escape");
	QUERY_BAD("info_hash=%G0%01%02%03%04%05%06%07%08%09%0a%0B%0c%0D%0e%0F%10%11%12%13",
		  "bad percent escape");
	QUERY_BAD("info_hash=%0g%01%02%03%04%05%06%07%08%09%0a%0B%0c%0D%0e%0F%10%11%12%13",
		  "bad percent escape");
	QUERY_BAD(BASE_Q "&port=%3", "bad percent escape");
	/* 19 and 21 bytes. */
	QUERY_BAD("info_hash=ABCDEFGHIJKLMNOPQRS&peer_id=" PEER_ID "&port=1",
		  "info_hash is not 20");
	QUERY_BAD("info_hash=ABCDEFGHIJKLMNOPQRSTU&peer_id=" PEER_ID "&port=1",
		  "info_hash is not 20");
	QUERY_BAD("info_hash=" HASH_A_PCT "%14&peer_id=" PEER_ID "&port=1", "info_hash is not 20");
	QUERY_BAD("info_hash=&peer_id=" PEER_ID "&port=1", "info_hash is not 20");
	QUERY_BAD("info_hash=" HASH_A_PCT "&peer_id=-RS0001-abcdefghijk&port=1",
		  "peer_id is not 20");
	QUERY_BAD("info_hash=" HASH_A_PCT "&peer_id=-RS0001-abcdefghijklm&port=1",
		  "peer_id is not 20");
	/* Ports and numbers. */
	QUERY_BAD(BASE_Q "&port=0", "bad port");
	QUERY_BAD(BASE_Q "&port=65536", "bad port");
	QUERY_BAD(BASE_Q "&port=", "bad port");
	QUERY_BAD(BASE_Q "&port=-1", "bad port");
	QUERY_BAD(BASE_Q "&port=+1", "bad port");
	QUERY_BAD(BASE_Q "&port=1x", "bad port");
	QUERY_BAD(BASE_Q "&port=99999999999999999999999", "bad port");
	QUERY_BAD(BASE_Q "&uploaded=18446744073709551616", "bad uploaded");
	QUERY_BAD(BASE_Q "&downloaded=99999999999999999999", "bad downloaded");
	QUERY_BAD(BASE_Q "&left=1000000000000000000000000000000", "bad left");
	QUERY_BAD(BASE_Q "&left=1.5", "bad left");
	QUERY_BAD(BASE_Q "&numwant=4294967296", "bad numwant");
	QUERY_BAD(BASE_Q "&numwant=-1", "bad numwant");
	/* Words. */
	QUERY_BAD(BASE_Q "&event=Started", "bad event");
	QUERY_BAD(BASE_Q "&event=start", "bad event");
	QUERY_BAD(BASE_Q "&event=startedd", "bad event");
	QUERY_BAD(BASE_Q "&event=%zz", "bad event");
	QUERY_BAD(BASE_Q "&compact=2", "bad compact");
	QUERY_BAD(BASE_Q "&compact=", "bad compact");
	QUERY_BAD(BASE_Q "&no_peer_id=yes", "bad no_peer_id");
}

static void test_scrape_query(void)
{
	uint8_t h[4][TRK_HASH_LEN];
	unsigned n = 99;
	const char *why, *q3 = "info_hash=" HASH_A_PCT "&x=1&info_hash=ABCDEFGHIJKLMNOPQRST"
			       "&info_hash=" HASH_A_PCT;

	CHECK_EQ_INT(trk_parse_scrape_query("", 0, h, 4, &n, &why), 0);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(trk_parse_scrape_query("foo=bar&info_hashx=1", 20, h, 4, &n, &why), 0);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(trk_parse_scrape_query(q3, strlen(q3), h, 4, &n, &why), 0);
	CHECK_EQ_INT(n, 3);
	CHECK(memcmp(h[0], hash_a, 20) == 0 && memcmp(h[1], hash_c, 20) == 0 &&
	      memcmp(h[2], hash_a, 20) == 0);
	CHECK_EQ_INT(trk_parse_scrape_query(q3, strlen(q3), h, 3, &n, &why), 0);
	CHECK_EQ_INT(trk_parse_scrape_query(q3, strlen(q3), h, 2, &n, &why), -E2BIG);
	CHECK_EQ_INT(trk_parse_scrape_query(q3, strlen(q3), NULL, 0, &n, &why), -E2BIG);
	CHECK_EQ_INT(trk_parse_scrape_query("info_hash=abc", 13, h, 4, &n, &why), -EINVAL);
	CHECK_STR(why, "info_hash is not 20 bytes");
	CHECK_EQ_INT(trk_parse_scrape_query("info_hash=%", 11, h, 4, &n, &why), -EINVAL);
	CHECK_STR(why, "bad percent escape");
}

/* --- server side: bencoded replies --- */

static void test_announce_resp_compact(void)
{
	static const char want4[] = "d8:completei1e10:incompletei2e8:intervali1800e"
				    "12:min intervali300e5:peers12:\x7f\0\0\x01\x1a\xe1"
				    "\x0a\0\0\x02\0\x50"
				    "e";
	struct trk_peer in[4] = { peer4(127, 0, 0, 1, 6881), peer6(0xfe, 0x80, 443),
				  peer4(10, 0, 0, 2, 80), peer6(0x20, 1, 6882) };
	struct trk_peer only4[2] = { in[0], in[2] }, out[8];
	struct trk_reply r;
	uint8_t buf[256];
	const char *why;
	ssize_t n =
		trk_http_announce_resp(buf, sizeof(buf), 1800, 300, 1, 2, only4, 2, true, false);

	CHECK_EQ_INT(n, sizeof(want4) - 1);
	CHECK(n > 0 && memcmp(buf, want4, sizeof(want4) - 1) == 0);
	for (size_t cap = 0; cap < sizeof(want4) - 1; cap++)
		CHECK_EQ_INT(
			trk_http_announce_resp(buf, cap, 1800, 300, 1, 2, only4, 2, true, false),
			-ENOSPC);
	n = trk_http_announce_resp(buf, sizeof(buf), 60, 0, 0, 0, NULL, 0, true, false);
	CHECK_EQ_INT(n, strlen("d8:completei0e10:incompletei0e8:intervali60e5:peers0:e"));
	CHECK(n > 0 && memcmp(buf, "d8:completei0e10:incompletei0e8:intervali60e5:peers0:e",
			      (size_t)n) == 0);

	/* IPv4 in peers, IPv6 in peers6; back through the client's parser. */
	n = trk_http_announce_resp(buf, sizeof(buf), 1800, 300, 1, 2, in, 4, true, false);
	REQUIRE(n > 0);
	REQUIRE(parse_reply(buf, (size_t)n, &r, out, 8, &why) == 0);
	CHECK(r.interval == 1800 && r.min_interval == 300 && r.complete == 1 && r.incomplete == 2);
	REQUIRE(r.n_peers == 4 && r.peers4 == 2 && r.peers6 == 2);
	CHECK(peer_eq(&out[0], &in[0]) && peer_eq(&out[1], &in[2]));
	CHECK(peer_eq(&out[2], &in[1]) && peer_eq(&out[3], &in[3]));
	in[1].family = 7;
	CHECK_EQ_INT(trk_http_announce_resp(buf, sizeof(buf), 1, 1, 1, 1, in, 4, true, false),
		     -EINVAL);
}

/* The "ip" texts of a non-compact reply, in order, joined with spaces. */
static void reply_ips(const uint8_t *buf, size_t n, char *out, size_t cap)
{
	struct bc_val root, peers, item, ip;
	struct bc_err err;
	struct bc_iter it;

	out[0] = '\0';
	REQUIRE(bc_parse(buf, n, 0, &root, &err) == 0);
	REQUIRE(bc_dict_get_type(&root, "peers", BC_LIST, &peers));
	bc_iter_init(&it, &peers);
	while (bc_next(&it, NULL, &item)) {
		REQUIRE(bc_dict_get_type(&item, "ip", BC_STR, &ip));
		snprintf(out + strlen(out), cap - strlen(out), "%s%.*s", out[0] ? " " : "",
			 (int)ip.str_len, (const char *)ip.str);
	}
}

static void test_announce_resp_dict(void)
{
	static const uint8_t v6[][16] = {
		{ 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
		{ [15] = 1 },
		{ 0 },
		{ 0, 1 },
		{ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1 },
		{ 0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 },
		{ 0, 1, 0, 0, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0xab, 0xcd },
		{ [10] = 0xff, 0xff, 192, 0, 2, 1 },
	};
	struct trk_peer in[9], out[9];
	struct trk_reply r;
	uint8_t buf[1024];
	char ips[512];
	const char *why;
	ssize_t n;

	in[0] = peer4(192, 168, 1, 10, 6881);
	in[0].has_id = true;
	memcpy(in[0].peer_id, PEER_ID, 20);
	for (int i = 0; i < 8; i++) {
		in[i + 1] = peer6(0, 0, (uint16_t)(100 + i));
		memcpy(in[i + 1].addr, v6[i], 16);
	}
	n = trk_http_announce_resp(buf, sizeof(buf), 1800, 0, 3, 4, in, 9, false, false);
	REQUIRE(n > 0);
	reply_ips(buf, (size_t)n, ips, sizeof(ips));
	CHECK_STR(ips, "192.168.1.10 2001:db8::1 ::1 :: 1:: 2001:db8::1:0:0:1 2001:0:0:1::1 "
		       "1:0:2:3:4:5:6:abcd ::ffff:192.0.2.1");
	CHECK(memcmp(buf,
		     "d8:completei3e10:incompletei4e8:intervali1800e5:peersl"
		     "d2:ip12:192.168.1.107:peer id20:" PEER_ID "4:porti6881ee",
		     strlen("d8:completei3e10:incompletei4e8:intervali1800e5:peersl"
			    "d2:ip12:192.168.1.107:peer id20:" PEER_ID "4:porti6881ee")) == 0);
	REQUIRE(parse_reply(buf, (size_t)n, &r, out, 9, &why) == 0);
	CHECK(r.min_interval == -1 && r.peers4 == 1 && r.peers6 == 8 && r.peers_skipped == 0);
	REQUIRE(r.n_peers == 9);
	for (int i = 0; i < 9; i++)
		CHECK(peer_eq(&out[i], &in[i]));

	/* no_peer_id leaves the ids out. */
	n = trk_http_announce_resp(buf, sizeof(buf), 1800, 0, 3, 4, in, 1, false, true);
	REQUIRE(n > 0);
	CHECK(memcmp(buf,
		     "d8:completei3e10:incompletei4e8:intervali1800e5:peersl"
		     "d2:ip12:192.168.1.104:porti6881eeee",
		     (size_t)n) == 0);
	for (ssize_t cap = 0; cap < n; cap++)
		CHECK_EQ_INT(
			trk_http_announce_resp(buf, (size_t)cap, 1800, 0, 3, 4, in, 1, false, true),
			-ENOSPC);
}

static void test_failure_and_scrape_resp(void)
{
	uint8_t buf[512], buf2[512];
	uint8_t hashes[4][TRK_HASH_LEN];
	struct trk_scrape s[4] = { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 }, { 10, 11, 12 } }, got;
	struct trk_reply r;
	const char *why;
	ssize_t n, n2;

	n = trk_http_failure(buf, sizeof(buf), "not registered");
	CHECK_EQ_INT(n, strlen("d14:failure reason14:not registerede"));
	CHECK(n > 0 && memcmp(buf, "d14:failure reason14:not registerede", (size_t)n) == 0);
	REQUIRE(parse_reply(buf, (size_t)n, &r, NULL, 0, &why) == 0);
	CHECK(r.failure_len == 14 && memcmp(r.failure, "not registered", 14) == 0);
	CHECK_EQ_INT(trk_http_failure(buf, 10, "not registered"), -ENOSPC);
	CHECK_EQ_INT(trk_http_failure(buf, sizeof(buf), NULL), -EINVAL);

	/* In order: the bytes of BEP 48's example shape. */
	memcpy(hashes[0], hash_a, 20);
	memcpy(hashes[1], hash_c, 20);
	memcpy(hashes[2], hash_b, 20);
	n = trk_http_scrape_resp(buf, sizeof(buf), (const uint8_t(*)[TRK_HASH_LEN])hashes, s, 3);
	REQUIRE(n > 0);
	CHECK(memcmp(buf, "d5:filesd20:", 12) == 0 && memcmp(buf + 12, hash_a, 20) == 0);
	CHECK(memcmp(buf + 32, "d8:completei1e10:downloadedi2e10:incompletei3ee20:", 50) == 0);
	CHECK(memcmp(buf + n - 2, "ee", 2) == 0);
	CHECK_EQ_INT(trk_http_parse_scrape(buf, (size_t)n, hash_c, &got, &why), 0);
	CHECK(got.complete == 4 && got.downloaded == 5 && got.incomplete == 6);
	CHECK_EQ_INT(trk_http_parse_scrape(buf, (size_t)n, hash_b, &got, &why), 0);
	CHECK(got.complete == 7 && got.downloaded == 8 && got.incomplete == 9);

	/* Out of order, with a repeat: the same bytes, the repeat written once. */
	memcpy(hashes[0], hash_b, 20);
	memcpy(hashes[1], hash_a, 20);
	memcpy(hashes[2], hash_c, 20);
	memcpy(hashes[3], hash_a, 20);
	struct trk_scrape s2[4] = { s[2], s[0], s[1], { 99, 99, 99 } };
	n2 = trk_http_scrape_resp(buf2, sizeof(buf2), (const uint8_t(*)[TRK_HASH_LEN])hashes, s2,
				  4);
	CHECK(n2 == n && memcmp(buf, buf2, (size_t)n) == 0);
	for (ssize_t cap = 0; cap < n; cap++)
		CHECK_EQ_INT(trk_http_scrape_resp(buf2, (size_t)cap,
						  (const uint8_t(*)[TRK_HASH_LEN])hashes, s2, 4),
			     -ENOSPC);
	n = trk_http_scrape_resp(buf, sizeof(buf), NULL, NULL, 0);
	CHECK(n == 11 && memcmp(buf, "d5:filesdee", 11) == 0);
}

int main(void)
{
	setup_hashes();
	test_query_good();
	test_query_bad();
	test_scrape_query();
	test_announce_resp_compact();
	test_announce_resp_dict();
	test_failure_and_scrape_resp();
	return test_done("test_tracker_http_server");
}
