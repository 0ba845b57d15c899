/*
 * test_tracker_udp.c - UDP tracker packets (BEP 15) through both sides and
 * back: connect, announce of both families, scrape and error.
 */
#include <errno.h>

#include "tests/unit/tracker_test.h"

/* --- UDP, BEP 15, through both sides --- */

static void test_udp_connect(void)
{
	static const uint8_t want[16] = { 0, 0, 4, 0x17, 0x27, 0x10, 0x19, 0x80,
					  0, 0, 0, 0,	 0xde, 0xad, 0xbe, 0xef };
	uint8_t req[17], resp[16];
	struct trk_udp_req q;
	struct trk_udp_resp r = { 0 };
	const char *why;

	CHECK_EQ_INT(trk_udp_connect_req(req, 0xdeadbeef), 16);
	CHECK(memcmp(req, want, 16) == 0);
	REQUIRE(trk_udp_parse_req(req, 16, &q, &why) == 0);
	CHECK(q.action == TRK_UDP_CONNECT && q.txid == 0xdeadbeef &&
	      q.conn_id == TRK_UDP_PROTOCOL_ID);
	for (size_t n = 0; n < 16; n++)
		CHECK_EQ_INT(trk_udp_parse_req(req, n, &q, &why), -EINVAL);
	req[16] = 0;
	CHECK_EQ_INT(trk_udp_parse_req(req, 17, &q, &why), -EINVAL); /* exactly 16 */
	req[0] ^= 1;
	CHECK_EQ_INT(trk_udp_parse_req(req, 16, &q, &why), -EINVAL);
	CHECK(why && strstr(why, "protocol id"));

	CHECK_EQ_INT(trk_udp_connect_resp(resp, 0xdeadbeef, 0x0102030405060708ull), 16);
	REQUIRE(trk_udp_parse_resp(resp, 16, TRK_AF_INET, 0xdeadbeef, &r, &why) == 0);
	CHECK(r.action == TRK_UDP_CONNECT && r.conn_id == 0x0102030405060708ull && why == NULL);
	for (size_t n = 0; n < 16; n++)
		CHECK_EQ_INT(trk_udp_parse_resp(resp, n, TRK_AF_INET, 0xdeadbeef, &r, &why),
			     -EINVAL);
	CHECK_EQ_INT(trk_udp_parse_resp(resp, 16, TRK_AF_INET, 0xdeadbeee, &r, &why), -EINVAL);
	CHECK_STR(why, "transaction id mismatch");
	CHECK_EQ_INT(trk_udp_parse_resp(resp, 16, 0, 0xdeadbeef, &r, &why), -EINVAL);
}

static void test_udp_announce_req(void)
{
	struct trk_announce a = announce_fixture();
	uint8_t req[128];
	struct trk_udp_req q;
	const char *why;

	a.uploaded = 0x1112131415161718ull;
	a.downloaded = 0x2122232425262728ull;
	a.left = 0x3132333435363738ull;
	a.numwant = 50;
	CHECK_EQ_INT(trk_udp_announce_req(req, 0xc0c1c2c3c4c5c6c7ull, 7, &a), 98);
	CHECK(memcmp(req, "\xc0\xc1\xc2\xc3\xc4\xc5\xc6\xc7\0\0\0\1\0\0\0\7", 16) == 0);
	CHECK(memcmp(req + 16, hash_a, 20) == 0 && memcmp(req + 36, PEER_ID, 20) == 0);
	CHECK(memcmp(req + 56, "\x21\x22\x23\x24\x25\x26\x27\x28", 8) == 0); /* downloaded */
	CHECK(memcmp(req + 64, "\x31\x32\x33\x34\x35\x36\x37\x38", 8) == 0); /* left */
	CHECK(memcmp(req + 72, "\x11\x12\x13\x14\x15\x16\x17\x18", 8) == 0); /* uploaded */
	CHECK(memcmp(req + 80, "\0\0\0\2\0\0\0\0\x12\x34\xab\xcd\0\0\0\x32\x1a\xe1", 18) == 0);

	REQUIRE(trk_udp_parse_req(req, 98, &q, &why) == 0);
	CHECK(q.action == TRK_UDP_ANNOUNCE && q.txid == 7 && q.conn_id == 0xc0c1c2c3c4c5c6c7ull);
	CHECK(memcmp(q.q.info_hash, hash_a, 20) == 0 && memcmp(q.q.peer_id, PEER_ID, 20) == 0);
	CHECK(q.q.uploaded == a.uploaded && q.q.downloaded == a.downloaded && q.q.left == a.left);
	CHECK(q.q.event == TRK_EVENT_STARTED && q.q.port == 6881 && q.ip == 0);
	CHECK(q.q.has_key && q.q.key == 0x1234abcd && q.q.has_numwant && q.q.numwant == 50);
	CHECK(q.q.compact && q.hashes == NULL && q.n_hashes == 0);
	for (size_t n = 0; n < 98; n++)
		CHECK_EQ_INT(trk_udp_parse_req(req, n, &q, &why), -EINVAL);
	memset(req + 98, 0xee, 30); /* BEP 41 options: ignored */
	CHECK_EQ_INT(trk_udp_parse_req(req, 128, &q, &why), 0);

	a.numwant = UINT32_MAX; /* BEP 15's -1: the tracker's default */
	a.event = TRK_EVENT_NONE;
	trk_udp_announce_req(req, 1, 7, &a);
	memcpy(req + 84, "\x0a\0\0\x01", 4);
	REQUIRE(trk_udp_parse_req(req, 98, &q, &why) == 0);
	CHECK(!q.q.has_numwant && q.q.numwant == 0 && q.q.event == TRK_EVENT_NONE);
	CHECK(memcmp(&q.ip, "\x0a\0\0\x01", 4) == 0);
	req[83] = 4; /* event 4 */
	CHECK_EQ_INT(trk_udp_parse_req(req, 98, &q, &why), -EINVAL);
	req[83] = 3;
	req[96] = req[97] = 0; /* port 0 */
	CHECK_EQ_INT(trk_udp_parse_req(req, 98, &q, &why), -EINVAL);
	req[11] = 9; /* action 9 */
	CHECK_EQ_INT(trk_udp_parse_req(req, 98, &q, &why), -EINVAL);
	CHECK_STR(why, "unknown action");
	a.event = (enum trk_event)7;
	CHECK_EQ_INT(trk_udp_announce_req(req, 1, 7, &a), 0);
}

/* Server response -> client parse, on a socket of the given family. */
static void udp_announce_round_trip(int family)
{
	struct trk_peer in[5] = { peer4(1, 2, 3, 4, 1000), peer6(0xfe, 9, 2000),
				  peer4(5, 6, 7, 8, 65535), peer6(0x20, 1, 1),
				  peer4(9, 9, 9, 9, 0) }; /* port 0 is written, never parsed */
	struct trk_peer out[5];
	struct trk_udp_resp r = { .peers = out, .max_peers = 5 };
	uint8_t resp[128];
	size_t entry = family == TRK_AF_INET ? 6 : 18, n4 = family == TRK_AF_INET ? 3 : 2;
	ssize_t n = trk_udp_announce_resp(resp, sizeof(resp), 42, 1800, 3, 4, in, 5, family);
	const char *why;
	unsigned j = 0;

	CHECK_EQ_INT(n, 20 + n4 * entry);
	REQUIRE(n > 0);
	CHECK(memcmp(resp, "\0\0\0\1\0\0\0\x2a\0\0\x07\x08\0\0\0\3\0\0\0\4", 20) == 0);
	REQUIRE(trk_udp_parse_resp(resp, (size_t)n, family, 42, &r, &why) == 0);
	CHECK(r.action == TRK_UDP_ANNOUNCE && r.interval == 1800 && r.leechers == 3 &&
	      r.seeders == 4);
	CHECK_EQ_INT(r.total_peers, n4);
	CHECK_EQ_INT(r.n_peers, n4 - (family == TRK_AF_INET));
	for (unsigned i = 0; i < 5; i++) {
		if (in[i].family != family || in[i].port == 0)
			continue;
		REQUIRE(j < r.n_peers);
		CHECK(peer_eq(&out[j], &in[i]));
		j++;
	}
	r.max_peers = 1;
	REQUIRE(trk_udp_parse_resp(resp, (size_t)n, family, 42, &r, &why) == 0);
	CHECK(r.n_peers == 1 && r.total_peers == n4);
	for (ssize_t k = 0; k < n; k++) {
		int rc = trk_udp_parse_resp(resp, (size_t)k, family, 42, &r, &why);

		CHECK_EQ_INT(rc, k >= 20 && (k - 20) % (ssize_t)entry == 0 ? 0 : -EINVAL);
	}
	CHECK_EQ_INT(trk_udp_parse_resp(resp, (size_t)n, family, 43, &r, &why), -EINVAL);
	for (size_t cap = 0; cap < (size_t)n; cap++)
		CHECK_EQ_INT(trk_udp_announce_resp(resp, cap, 42, 1800, 3, 4, in, 5, family),
			     -ENOSPC);
	CHECK_EQ_INT(trk_udp_announce_resp(resp, sizeof(resp), 42, 1, 1, 1, in, 5, 0), -EINVAL);
}

static void test_udp_scrape(void)
{
	static uint8_t many[75][TRK_HASH_LEN];
	uint8_t hashes[3][TRK_HASH_LEN], req[16 + 75 * 20], resp[64];
	struct trk_scrape s[3] = { { 1, 2, 3 }, { 4, 5, 6 }, { 0xffffffff, 0, 7 } }, got[3];
	struct trk_udp_resp r = { .scrapes = got, .max_scrapes = 3 };
	struct trk_udp_req q;
	const char *why;
	ssize_t n;

	memcpy(hashes[0], hash_a, 20);
	memcpy(hashes[1], hash_b, 20);
	memcpy(hashes[2], hash_c, 20);
	n = trk_udp_scrape_req(req, sizeof(req), 5, 9, (const uint8_t(*)[TRK_HASH_LEN])hashes, 3);
	CHECK_EQ_INT(n, 76);
	CHECK(memcmp(req, "\0\0\0\0\0\0\0\5\0\0\0\2\0\0\0\x09", 16) == 0);
	REQUIRE(trk_udp_parse_req(req, (size_t)n, &q, &why) == 0);
	CHECK(q.action == TRK_UDP_SCRAPE && q.txid == 9 && q.conn_id == 5 && q.n_hashes == 3);
	CHECK(q.hashes == req + 16 && memcmp(q.hashes, hashes, 60) == 0);
	for (ssize_t k = 0; k < n; k++)
		CHECK_EQ_INT(trk_udp_parse_req(req, (size_t)k, &q, &why),
			     k > 16 && (k - 16) % 20 == 0 ? 0 : -EINVAL);
	for (ssize_t cap = 0; cap < n; cap++)
		CHECK_EQ_INT(trk_udp_scrape_req(req, (size_t)cap, 5, 9,
						(const uint8_t(*)[TRK_HASH_LEN])hashes, 3),
			     -ENOSPC);
	CHECK_EQ_INT(trk_udp_scrape_req(req, sizeof(req), 5, 9, NULL, 0), -EINVAL);
	/* 74 is the most; a request of 75 is refused on both sides. */
	memset(req + 16, 0x11, 75 * 20);
	CHECK_EQ_INT(trk_udp_parse_req(req, 16 + 74 * 20, &q, &why), 0);
	CHECK_EQ_INT(q.n_hashes, 74);
	CHECK_EQ_INT(trk_udp_parse_req(req, 16 + 75 * 20, &q, &why), -EINVAL);
	memset(many, 0x11, sizeof(many));
	CHECK_EQ_INT(trk_udp_scrape_req(req, sizeof(req), 5, 9,
					(const uint8_t(*)[TRK_HASH_LEN])many, 74),
		     16 + 74 * 20);
	CHECK(memcmp(req + 16, many, 74 * 20) == 0);
	CHECK_EQ_INT(trk_udp_scrape_req(req, sizeof(req), 5, 9,
					(const uint8_t(*)[TRK_HASH_LEN])many, 75),
		     -EINVAL);

	n = trk_udp_scrape_resp(resp, sizeof(resp), 9, s, 3);
	CHECK_EQ_INT(n, 8 + 36);
	REQUIRE(trk_udp_parse_resp(resp, (size_t)n, TRK_AF_INET6, 9, &r, &why) == 0);
	CHECK(r.action == TRK_UDP_SCRAPE && r.n_scrapes == 3);
	CHECK(memcmp(got, s, sizeof(s)) == 0);
	r.max_scrapes = 2;
	REQUIRE(trk_udp_parse_resp(resp, (size_t)n, TRK_AF_INET6, 9, &r, &why) == 0);
	CHECK(r.n_scrapes == 2);
	for (ssize_t k = 0; k < n; k++)
		CHECK_EQ_INT(trk_udp_parse_resp(resp, (size_t)k, TRK_AF_INET, 9, &r, &why),
			     k >= 8 && (k - 8) % 12 == 0 ? 0 : -EINVAL);
	for (ssize_t cap = 0; cap < n; cap++)
		CHECK_EQ_INT(trk_udp_scrape_resp(resp, (size_t)cap, 9, s, 3), -ENOSPC);
}

static void test_udp_error(void)
{
	uint8_t resp[64];
	struct trk_udp_resp r = { 0 };
	const char *why;
	ssize_t n = trk_udp_error_resp(resp, sizeof(resp), 77, "unregistered torrent");

	CHECK_EQ_INT(n, 8 + 20);
	CHECK(memcmp(resp, "\0\0\0\3\0\0\0\x4dunregistered torrent", 28) == 0);
	REQUIRE(trk_udp_parse_resp(resp, (size_t)n, TRK_AF_INET, 77, &r, &why) == 0);
	CHECK(r.action == TRK_UDP_ERROR && r.error == (const char *)resp + 8 && r.error_len == 20);
	CHECK_EQ_INT(trk_udp_parse_resp(resp, 8, TRK_AF_INET, 77, &r, &why), 0);
	CHECK(r.error_len == 0);
	CHECK_EQ_INT(trk_udp_parse_resp(resp, (size_t)n, TRK_AF_INET, 78, &r, &why), -EINVAL);
	for (ssize_t cap = 0; cap < n; cap++)
		CHECK_EQ_INT(trk_udp_error_resp(resp, (size_t)cap, 77, "unregistered torrent"),
			     -ENOSPC);
	CHECK_EQ_INT(trk_udp_error_resp(resp, sizeof(resp), 77, NULL), -EINVAL);
	resp[3] = 4; /* action 4 */
	CHECK_EQ_INT(trk_udp_parse_resp(resp, (size_t)n, TRK_AF_INET, 77, &r, &why), -EINVAL);
	CHECK_STR(why, "unknown action");
}

int main(void)
{
	setup_hashes();
	test_udp_connect();
	test_udp_announce_req();
	udp_announce_round_trip(TRK_AF_INET);
	udp_announce_round_trip(TRK_AF_INET6);
	test_udp_scrape();
	test_udp_error();
	return test_done("test_tracker_udp");
}
