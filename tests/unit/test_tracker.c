/*
 * test_tracker.c - tracker packets: announce and scrape URLs byte for byte
 * (BEP 3, BEP 7, BEP 23, BEP 48), HTTP replies in every peer form, UDP
 * (BEP 15) packets through both sides and back, the built-in tracker's query
 * parsers and the replies it writes, read back by bc_parse() and by the
 * client's own parser.
 */
#include <errno.h>
#include <sys/socket.h>

#include "proto/bencode.h"
#include "proto/tracker.h"
#include "tests/unit/test.h"

_Static_assert(TRK_AF_INET == AF_INET, "TRK_AF_INET is Linux's AF_INET");
_Static_assert(TRK_AF_INET6 == AF_INET6, "TRK_AF_INET6 is Linux's AF_INET6");

#define PEER_ID "-RS0001-abcdefghijkl"

/* sizeof - 1 so that literals may hold NUL bytes. */
#define U8(s) ((const uint8_t *)(s)), (sizeof(s) - 1)

static uint8_t hash_a[TRK_HASH_LEN], hash_b[TRK_HASH_LEN], hash_c[TRK_HASH_LEN];

static void setup_hashes(void)
{
	for (int i = 0; i < TRK_HASH_LEN; i++) {
		hash_a[i] = (uint8_t)i; /* 00 01 .. 13: nothing unreserved */
		hash_b[i] = (uint8_t)(0xa0 + i);
		hash_c[i] = (uint8_t)('A' + i); /* "ABCDEFGHIJKLMNOPQRST" */
	}
}

static struct trk_announce announce_fixture(void)
{
	struct trk_announce a = {
		.info_hash = hash_a,
		.peer_id = (const uint8_t *)PEER_ID,
		.port = 6881,
		.left = 100,
		.event = TRK_EVENT_STARTED,
		.key = 0x1234abcd,
	};
	return a;
}

static struct trk_peer peer4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct trk_peer p = { .family = TRK_AF_INET, .port = port };

	p.addr[0] = a;
	p.addr[1] = b;
	p.addr[2] = c;
	p.addr[3] = d;
	return p;
}

static struct trk_peer peer6(uint8_t first, uint8_t last, uint16_t port)
{
	struct trk_peer p = { .family = TRK_AF_INET6, .port = port };

	p.addr[0] = first;
	p.addr[15] = last;
	return p;
}

static bool peer_eq(const struct trk_peer *x, const struct trk_peer *y)
{
	return x->family == y->family && memcmp(x->addr, y->addr, 16) == 0 && x->port == y->port &&
	       x->has_id == y->has_id && (!x->has_id || memcmp(x->peer_id, y->peer_id, 20) == 0);
}

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

static int parse_reply(const uint8_t *buf, size_t len, struct trk_reply *r, struct trk_peer *peers,
		       uint32_t max, const char **why)
{
	memset(r, 0x5a, sizeof(*r)); /* every output field must be written */
	r->peers = peers;
	r->max_peers = max;
	return trk_http_parse_announce(buf, len, r, why);
}

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
	test_announce_url();
	test_url_every_byte();
	test_scrape_url();
	test_reply_compact();
	test_reply_dict_peers();
	test_ip_text();
	test_reply_failure_and_refusals();
	test_reply_scrape();
	test_udp_connect();
	test_udp_announce_req();
	udp_announce_round_trip(TRK_AF_INET);
	udp_announce_round_trip(TRK_AF_INET6);
	test_udp_scrape();
	test_udp_error();
	test_query_good();
	test_query_bad();
	test_scrape_query();
	test_announce_resp_compact();
	test_announce_resp_dict();
	test_failure_and_scrape_resp();
	return test_done("tracker");
}
