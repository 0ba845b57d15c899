/*
 * test_tracker_http_client.c - the HTTP tracker client's packets: announce and scrape
 * URLs byte for byte (BEP 3, BEP 7, BEP 23, BEP 48), replies in every peer
 * form, IP addresses as text, and what a reply may not be.
 */
#include <errno.h>

#include "proto/bencode.h"
#include "tests/unit/tracker_test.h"

/* --- client side, HTTP URLs --- */

static void test_announce_url(void)
{
	struct trk_announce a = announce_fixture();
	char url[TRK_MAX_URL];
	const char *want = "http://t.example/announce?info_hash=%00%01%02%03%04%05%06%07%08%09"
			   "%0A%0B%0C%0D%0E%0F%10%11%12%13&peer_id=-RS0001-abcdefghijkl"
			   "&port=6881&uploaded=0&downloaded=0&left=100&event=started"
			   "&compact=1&numwant=0&key=1234ABCD";
	ssize_t n = trk_http_announce_url(url, sizeof(url), "http://t.example/announce", &a);

	CHECK_EQ_INT(n, strlen(want));
	CHECK_STR(url, want);
	/* Every capacity short of the text and its NUL is -ENOSPC. */
	for (size_t cap = 0; cap <= strlen(want); cap++)
		CHECK_EQ_INT(trk_http_announce_url(url, cap, "http://t.example/announce", &a),
			     -ENOSPC);
	CHECK_EQ_INT(trk_http_announce_url(url, strlen(want) + 1, "http://t.example/announce", &a),
		     strlen(want));

	a.event = TRK_EVENT_NONE;
	a.uploaded = UINT64_MAX;
	a.downloaded = 1;
	a.left = 0;
	a.numwant = UINT32_MAX;
	a.key = 0xf;
	a.tracker_id = "a b/c~";
	a.info_hash = hash_c;
	n = trk_http_announce_url(url, sizeof(url), "http://t.example/a?passkey=x", &a);
	CHECK_STR(url, "http://t.example/a?passkey=x&info_hash=ABCDEFGHIJKLMNOPQRST"
		       "&peer_id=-RS0001-abcdefghijkl&port=6881&uploaded=18446744073709551615"
		       "&downloaded=1&left=0&compact=1&numwant=4294967295&key=0000000F"
		       "&trackerid=a%20b%2Fc~");
	CHECK_EQ_INT(n, strlen(url));

	/* A base that ends in '?' or '&' gets no separator. */
	a.tracker_id = NULL;
	a.event = TRK_EVENT_COMPLETED;
	trk_http_announce_url(url, sizeof(url), "http://t/a?", &a);
	CHECK(strncmp(url, "http://t/a?info_hash=ABC", 24) == 0 &&
	      strstr(url, "&event=completed&"));
	a.event = TRK_EVENT_STOPPED;
	trk_http_announce_url(url, sizeof(url), "http://t/a?k=v&", &a);
	CHECK(strncmp(url, "http://t/a?k=v&info_hash=ABC", 28) == 0 &&
	      strstr(url, "&event=stopped&"));

	CHECK_EQ_INT(trk_http_announce_url(url, sizeof(url), "http://t/a#x", &a), -EINVAL);
	CHECK_EQ_INT(trk_http_announce_url(url, sizeof(url), "", &a), -EINVAL);
	CHECK_EQ_INT(trk_http_announce_url(url, sizeof(url), NULL, &a), -EINVAL);
	a.event = (enum trk_event)4;
	CHECK_EQ_INT(trk_http_announce_url(url, sizeof(url), "http://t/a", &a), -EINVAL);
	a = announce_fixture();
	a.info_hash = NULL;
	CHECK_EQ_INT(trk_http_announce_url(url, sizeof(url), "http://t/a", &a), -EINVAL);
}

/* The info_hash value of a URL written by trk_http_announce_url. */
static const char *url_hash_value(const char *url, size_t *n)
{
	const char *v = strstr(url, "info_hash=");
	const char *amp;

	if (!v)
		return NULL;
	v += strlen("info_hash=");
	amp = strchr(v, '&');
	*n = amp ? (size_t)(amp - v) : strlen(v);
	return v;
}

/* Every byte value: unreserved ones as they are, the rest %XX upper case; and back. */
static void test_url_every_byte(void)
{
	for (unsigned b = 0; b < 256; b++) {
		uint8_t h[TRK_HASH_LEN];
		struct trk_announce a = announce_fixture();
		struct trk_query q;
		char url[TRK_MAX_URL], want[3 * TRK_HASH_LEN + 1], one[4];
		const char *v, *why;
		size_t vn = 0;
		bool plain = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') ||
			     (b >= '0' && b <= '9') || b == '-' || b == '.' || b == '_' || b == '~';

		memset(h, (int)b, sizeof(h));
		a.info_hash = h;
		REQUIRE(trk_http_announce_url(url, sizeof(url), "http://t/announce", &a) > 0);
		want[0] = '\0';
		for (int i = 0; i < TRK_HASH_LEN; i++) {
			if (plain)
				snprintf(one, sizeof(one), "%c", (char)b);
			else
				snprintf(one, sizeof(one), "%%%02X", b);
			strcat(want, one);
		}
		v = url_hash_value(url, &vn);
		CHECK(v && vn == strlen(want) && memcmp(v, want, vn) == 0);
		v = strchr(url, '?') + 1;
		CHECK_EQ_INT(trk_parse_announce_query(v, strlen(v), &q, &why), 0);
		CHECK(memcmp(q.info_hash, h, sizeof(h)) == 0);
	}
}

static void scrape_url_case(int line, const char *in, const char *want)
{
	char out[256];
	int rc = trk_http_scrape_url(out, sizeof(out), in);

	test_checks++;
	if (want ? rc == 0 && strcmp(out, want) == 0 : rc == -EINVAL)
		return;
	test_failures++;
	fprintf(stderr, "%s:%d: scrape url of \"%s\": rc %d \"%s\", expected \"%s\"\n", __FILE__,
		line, in, rc, rc ? "" : out, want ? want : "-EINVAL");
}

static void test_scrape_url(void)
{
	char out[64];
	const char *in = "http://example.com/x/announce?passkey=abc";

#define SCRAPE_URL(in, want) scrape_url_case(__LINE__, in, want)
	/* The examples of BEP 48 (path section only) and the old wiki. */
	SCRAPE_URL("http://example.com/announce", "http://example.com/scrape");
	SCRAPE_URL("http://example.com/x/announce", "http://example.com/x/scrape");
	SCRAPE_URL("http://example.com/announce.php", "http://example.com/scrape.php");
	SCRAPE_URL("http://example.com/a", NULL);
	SCRAPE_URL("http://example.com/announce?x2%0644", "http://example.com/scrape?x2%0644");
	SCRAPE_URL("http://example.com/announce?x=2/4", "http://example.com/scrape?x=2/4");
	SCRAPE_URL("http://example.com/x%064announce", NULL);
	SCRAPE_URL("http://example.com:6969/x/announce?passkey=0f1e/2d&a=b",
		   "http://example.com:6969/x/scrape?passkey=0f1e/2d&a=b");
	SCRAPE_URL("https://example.com/announce#top", "https://example.com/scrape#top");
	SCRAPE_URL("udp://example.com:80/announce", "udp://example.com:80/scrape");
	/* Not the last component, or not in the path at all. */
	SCRAPE_URL("http://example.com/announce/x", NULL);
	SCRAPE_URL("http://example.com/", NULL);
	SCRAPE_URL("http://example.com", NULL);
	SCRAPE_URL("http://announce.example.com", NULL);
	SCRAPE_URL("http://announce.example.com/", NULL);
	SCRAPE_URL("http://example.com?/announce", NULL);
	SCRAPE_URL("http://example.com/annou", NULL);
	SCRAPE_URL("http://example.com/Announce", NULL);
	SCRAPE_URL("example.com/announce", NULL);
	SCRAPE_URL("", NULL);
#undef SCRAPE_URL

	for (size_t cap = 0; cap < strlen(in) - 1; cap++)
		CHECK_EQ_INT(trk_http_scrape_url(out, cap, in), -ENOSPC);
	CHECK_EQ_INT(trk_http_scrape_url(out, strlen(in) - 1, in), 0);
	CHECK_STR(out, "http://example.com/x/scrape?passkey=abc");
}

/* --- client side, HTTP replies --- */


static void test_reply_compact(void)
{
	static const char body[] = "d8:completei5e10:incompletei3e8:intervali1800e"
				   "12:min intervali300e5:peers18:\x7f\x00\x00\x01\x1a\xe1"
				   "\x0a\x00\x00\x02\x00\x50\x01\x02\x03\x04\x00\x00"
				   "6:peers618:\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x1a\xe2"
				   "10:tracker id3:tid15:warning message4:slowe";
	struct trk_peer peers[8];
	struct trk_reply r;
	const char *why = "unset";

	REQUIRE(parse_reply(U8(body), &r, peers, 8, &why) == 0);
	CHECK(why == NULL);
	CHECK(r.failure == NULL && r.failure_len == 0);
	CHECK(r.warning_len == 4 && memcmp(r.warning, "slow", 4) == 0);
	CHECK(r.tracker_id_len == 3 && memcmp(r.tracker_id, "tid", 3) == 0);
	CHECK(r.warning > body && r.warning < body + sizeof(body));
	CHECK_EQ_INT(r.interval, 1800);
	CHECK_EQ_INT(r.min_interval, 300);
	CHECK_EQ_INT(r.complete, 5);
	CHECK_EQ_INT(r.incomplete, 3);
	CHECK_EQ_INT(r.peers4, 2);
	CHECK_EQ_INT(r.peers6, 1);
	CHECK_EQ_INT(r.peers_skipped, 1); /* port 0 */
	REQUIRE(r.n_peers == 3);
	struct trk_peer p0 = peer4(127, 0, 0, 1, 6881), p1 = peer4(10, 0, 0, 2, 80);
	struct trk_peer p2 = peer6(0x20, 1, 6882);

	p2.addr[1] = 0x01;
	p2.addr[2] = 0x0d;
	p2.addr[3] = 0xb8;
	CHECK(peer_eq(&peers[0], &p0));
	CHECK(peer_eq(&peers[1], &p1));
	CHECK(peer_eq(&peers[2], &p2));

	/* Fewer slots than peers: counted all the same. */
	REQUIRE(parse_reply(U8(body), &r, peers, 2, &why) == 0);
	CHECK(r.n_peers == 2 && r.peers4 == 2 && r.peers6 == 1);
	REQUIRE(parse_reply(U8(body), &r, NULL, 0, &why) == 0);
	CHECK(r.n_peers == 0 && r.peers4 == 2 && r.peers6 == 1);

	/* Absent fields are -1; no peers at all is a valid (empty) reply. */
	REQUIRE(parse_reply(U8("de"), &r, peers, 8, &why) == 0);
	CHECK(r.interval == -1 && r.min_interval == -1 && r.complete == -1 && r.incomplete == -1);
	CHECK(r.warning == NULL && r.tracker_id == NULL && r.n_peers == 0 && r.peers4 == 0);
	CHECK(r.peers_skipped == 0);
}

static void test_reply_dict_peers(void)
{
	static const char body[] =
		"d8:intervali60e5:peersl"
		"d2:ip7:1.2.3.47:peer id20:" PEER_ID "4:porti1ee"
		"d2:ip11:2001:db8::14:porti65535ee"
		"d2:ip9:host.name4:porti80ee"		 /* a DNS name: skipped */
		"d2:ip7:1.2.3.44:porti0ee"		 /* port 0 */
		"d2:ip7:1.2.3.44:porti65536ee"		 /* port too big */
		"d2:ip7:1.2.3.4e"			 /* no port */
		"d4:porti5ee"				 /* no ip */
		"i7e"					 /* not a dictionary */
		"d2:ip7:5.6.7.87:peer id3:abc4:porti9ee" /* a short peer id: not kept */
		"ee";
	struct trk_peer peers[8], want;
	struct trk_reply r;
	const char *why;

	REQUIRE(parse_reply(U8(body), &r, peers, 8, &why) == 0);
	CHECK_EQ_INT(r.interval, 60);
	CHECK_EQ_INT(r.peers4, 2);
	CHECK_EQ_INT(r.peers6, 1);
	CHECK_EQ_INT(r.peers_skipped, 6);
	REQUIRE(r.n_peers == 3);
	want = peer4(1, 2, 3, 4, 1);
	want.has_id = true;
	memcpy(want.peer_id, PEER_ID, 20);
	CHECK(peer_eq(&peers[0], &want));
	want = peer6(0x20, 1, 65535);
	want.addr[1] = 0x01;
	want.addr[2] = 0x0d;
	want.addr[3] = 0xb8;
	CHECK(peer_eq(&peers[1], &want));
	want = peer4(5, 6, 7, 8, 9);
	CHECK(peer_eq(&peers[2], &want));
}

/* A reply with one dictionary peer whose ip is the given text. */
static bool ip_text_parses(const char *ip, struct trk_peer *p)
{
	uint8_t buf[256];
	struct bc_enc e;
	struct trk_reply r;
	const char *why;
	ssize_t n;

	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "peers");
	bc_enc_list(&e);
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "ip");
	bc_enc_cstr(&e, ip);
	bc_enc_cstr(&e, "port");
	bc_enc_int(&e, 1);
	bc_enc_end(&e);
	bc_enc_end(&e);
	bc_enc_end(&e);
	n = bc_enc_finish(&e);
	REQUIRE(n > 0);
	REQUIRE(parse_reply(buf, (size_t)n, &r, p, 1, &why) == 0);
	CHECK_EQ_INT(r.n_peers + r.peers_skipped, 1);
	return r.n_peers == 1;
}

static void test_ip_text(void)
{
	static const struct {
		const char *text;
		uint8_t family;
		uint8_t addr[16];
	} good[] = {
		{ "1.2.3.4", TRK_AF_INET, { 1, 2, 3, 4 } },
		{ "0.0.0.0", TRK_AF_INET, { 0 } },
		{ "255.255.255.255", TRK_AF_INET, { 255, 255, 255, 255 } },
		{ "::", TRK_AF_INET6, { 0 } },
		{ "::1", TRK_AF_INET6, { [15] = 1 } },
		{ "1::", TRK_AF_INET6, { 0, 1 } },
		{ "2001:DB8::a:1", TRK_AF_INET6, { 0x20, 1, 0xd, 0xb8, [13] = 0xa, [15] = 1 } },
		{ "1:2:3:4:5:6:7:8",
		  TRK_AF_INET6,
		  { 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8 } },
		{ "1:2:3:4:5:6:1.2.3.4",
		  TRK_AF_INET6,
		  { 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 1, 2, 3, 4 } },
		{ "::ffff:10.0.0.1", TRK_AF_INET6, { [10] = 0xff, 0xff, 10, 0, 0, 1 } },
		{ "::1.2.3.4", TRK_AF_INET6, { [12] = 1, 2, 3, 4 } },
		{ "1:2:3:4:5:6:7::", TRK_AF_INET6, { 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7 } },
		{ "ffff::ffff", TRK_AF_INET6, { 0xff, 0xff, [14] = 0xff, 0xff } },
		/* The longest text form there is: 45 characters. */
		{ "0000:0000:0000:0000:0000:ffff:255.255.255.255",
		  TRK_AF_INET6,
		  { [10] = 0xff, 0xff, 255, 255, 255, 255 } },
	};
	static const char *const bad[] = {
		"",
		"1.2.3",
		"1.2.3.4.5",
		"256.1.1.1",
		"01.2.3.4",
		"1.2.3.4 ",
		" 1.2.3.4",
		"1..2.3",
		"1.2.3.",
		"a.b.c.d",
		":",
		":::",
		"1:2:3:4:5:6:7:8:9",
		"1::2::3",
		":1::",
		"1:",
		"12345::",
		"1:2:3:4:5:6:7::8",
		"fe80::1%eth0",
		"[::1]",
		"g::",
		"::1.2.3",
		"1:2:3:4:5:6:7:1.2.3.4",
		"::1.2.3.04",
		"localhost",
		"1.2.3.4:80",
		"::ffff:1.2.3.4.5",
		"1:2:3:4:5:6:7",
		"0000:0000:0000:0000:0000:0000:ffff:0000:0000:1", /* 46 characters */
	};
	struct trk_peer p;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		bool ok = ip_text_parses(good[i].text, &p);

		CHECK(ok && p.family == good[i].family && memcmp(p.addr, good[i].addr, 16) == 0);
		if (!ok)
			fprintf(stderr, "  (ip \"%s\")\n", good[i].text);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool ok = ip_text_parses(bad[i], &p);

		CHECK(!ok);
		if (ok)
			fprintf(stderr, "  (ip \"%s\" accepted)\n", bad[i]);
	}
}

static void reply_bad_case(int line, const uint8_t *s, size_t n, const char *why_part)
{
	struct trk_peer peers[4];
	struct trk_reply r;
	const char *why = NULL;
	int rc = parse_reply(s, n, &r, peers, 4, &why);

	test_checks++;
	if (rc == -EINVAL && why && (!why_part || strstr(why, why_part)))
		return;
	test_failures++;
	fprintf(stderr, "%s:%d: reply refused with rc %d why \"%s\", expected \"%s\"\n", __FILE__,
		line, rc, why ? why : "(null)", why_part ? why_part : "*");
}

#define REPLY_BAD(s, why) reply_bad_case(__LINE__, U8(s), why)

static void test_reply_failure_and_refusals(void)
{
	static const char ok[] = "d8:intervali1e5:peers6:\1\2\3\4\0\1e";
	struct trk_peer peers[4];
	struct trk_reply r;
	const char *why;

	REQUIRE(parse_reply(U8("d14:failure reason11:not allowed8:intervali5ee"), &r, peers, 4,
			    &why) == 0);
	CHECK(r.failure_len == 11 && memcmp(r.failure, "not allowed", 11) == 0);
	CHECK(r.interval == -1 && r.n_peers == 0); /* only the failure is read */
	/* A failure hides a malformed rest. */
	REQUIRE(parse_reply(U8("d14:failure reason1:x5:peers7:1234567e"), &r, peers, 4, &why) == 0);
	CHECK(r.failure_len == 1);

	REPLY_BAD("d14:failure reasoni1ee", "failure reason");
	REPLY_BAD("d15:warning messagei1ee", "warning message");
	REPLY_BAD("d10:tracker idi1ee", "tracker id");
	REPLY_BAD("d8:interval3:abce", "interval");
	REPLY_BAD("d8:intervali-1ee", "interval");
	REPLY_BAD("d12:min interval0:e", "min interval");
	REPLY_BAD("d8:completei-5ee", "complete");
	REPLY_BAD("d10:incomplete0:e", "incomplete");
	REPLY_BAD("d5:peersi1ee", "peers");
	REPLY_BAD("d5:peers7:1234567e", "multiple of 6");
	REPLY_BAD("d6:peers617:12345678901234567e", "multiple of 18");
	REPLY_BAD("d6:peers6lee", "peers6");
	REPLY_BAD("le", "not a dictionary");
	REPLY_BAD("i5e", "not a dictionary");
	REPLY_BAD("", NULL);
	REPLY_BAD("<html>502 Bad Gateway</html>", NULL);
	REPLY_BAD("d8:intervali1e8:intervali2ee", NULL); /* duplicate key */
	REPLY_BAD("d8:intervali01ee", NULL);		 /* non-canonical */
	REPLY_BAD("d8:intervali1eed", NULL);		 /* trailing bytes */
	/* Every proper prefix of a good reply is refused. */
	for (size_t n = 0; n < sizeof(ok) - 1; n++)
		reply_bad_case(__LINE__, (const uint8_t *)ok, n, NULL);
	/* Unsorted keys are accepted (order means nothing in a reply); unknown keys ignored. */
	REQUIRE(parse_reply(U8("d8:intervali7e5:peers0:8:completei1e3:zzzi0e1:a0:e"), &r, peers, 4,
			    &why) == 0);
	CHECK(r.interval == 7 && r.complete == 1);
}

static void test_reply_scrape(void)
{
	uint8_t buf[512];
	struct bc_enc e;
	struct trk_scrape s;
	const char *why;
	ssize_t n;

	bc_enc_init(&e, buf, sizeof(buf));
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "files");
	bc_enc_dict(&e);
	bc_enc_str(&e, hash_a, 20);
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "complete");
	bc_enc_int(&e, 11);
	bc_enc_cstr(&e, "downloaded");
	bc_enc_int(&e, 13772);
	bc_enc_cstr(&e, "incomplete");
	bc_enc_int(&e, 19);
	bc_enc_end(&e);
	bc_enc_str(&e, hash_b, 20);
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "complete");
	bc_enc_int(&e, 5000000000); /* saturates */
	bc_enc_cstr(&e, "incomplete");
	bc_enc_int(&e, 2); /* downloaded absent: 0 */
	bc_enc_end(&e);
	bc_enc_end(&e);
	bc_enc_cstr(&e, "flags");
	bc_enc_dict(&e);
	bc_enc_end(&e);
	bc_enc_end(&e);
	n = bc_enc_finish(&e);
	REQUIRE(n > 0);

	CHECK_EQ_INT(trk_http_parse_scrape(buf, (size_t)n, hash_a, &s, &why), 0);
	CHECK(s.complete == 11 && s.downloaded == 13772 && s.incomplete == 19);
	CHECK_EQ_INT(trk_http_parse_scrape(buf, (size_t)n, hash_b, &s, &why), 0);
	CHECK(s.complete == UINT32_MAX && s.downloaded == 0 && s.incomplete == 2);
	CHECK_EQ_INT(trk_http_parse_scrape(buf, (size_t)n, hash_c, &s, &why), -ENOENT);
	for (ssize_t k = 0; k < n; k++)
		CHECK_EQ_INT(trk_http_parse_scrape(buf, (size_t)k, hash_a, &s, &why), -EINVAL);

	CHECK_EQ_INT(trk_http_parse_scrape(U8("d14:failure reason2:noe"), hash_a, &s, &why),
		     -EINVAL);
	CHECK_EQ_INT(trk_http_parse_scrape(U8("de"), hash_a, &s, &why), -EINVAL);
	CHECK_EQ_INT(trk_http_parse_scrape(U8("d5:filesleee"), hash_a, &s, &why), -EINVAL);
	CHECK_EQ_INT(trk_http_parse_scrape(U8("d5:filesdee"), hash_a, &s, &why), -ENOENT);
	CHECK_EQ_INT(trk_http_parse_scrape(U8("le"), hash_a, &s, &why), -EINVAL);
	CHECK_EQ_INT(trk_http_parse_scrape(U8("d5:filesd20:ABCDEFGHIJKLMNOPQRSTi1eee"), hash_c, &s,
					   &why),
		     -EINVAL);
	CHECK_EQ_INT(trk_http_parse_scrape(U8("d5:filesd20:ABCDEFGHIJKLMNOPQRSTd8:completei-1eeee"),
					   hash_c, &s, &why),
		     -EINVAL);
	CHECK_EQ_INT(trk_http_parse_scrape(U8("d5:filesd20:ABCDEFGHIJKLMNOPQRSTd8:complete0:eeee"),
					   hash_c, &s, &why),
		     -EINVAL);
}

int main(void)
{
	setup_hashes();
	test_announce_url();
	test_url_every_byte();
	test_scrape_url();
	test_reply_compact();
	test_reply_dict_peers();
	test_ip_text();
	test_reply_failure_and_refusals();
	test_reply_scrape();
	return test_done("test_tracker_http_client");
}
