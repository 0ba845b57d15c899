/*
 * test_admin.c - the admin endpoint's request parser and renderers, on
 * made-up requests and snapshots.
 */
#include "master/admin/admin.h"
#include "tests/unit/test.h"

static enum admin_parse feed_all(struct admin_req *r, const char *req, size_t step)
{
	size_t len = strlen(req), fed = 0, have = 0;
	enum admin_parse p = ADMIN_PARSE_MORE;

	admin_req_init(r);
	while (have < len && p == ADMIN_PARSE_MORE) {
		have = have + step > len ? len : have + step;
		p = admin_req_feed(r, req, have, &fed);
		CHECK(fed <= have);
	}
	return p;
}

static void test_parser(void)
{
	struct admin_req r;
	char big[ADMIN_REQ_MAX + 64], url[600];

	CHECK_EQ_INT(feed_all(&r, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 1000),
		     ADMIN_PARSE_DONE);
	CHECK_STR(r.target, "/metrics");
	CHECK_EQ_INT(r.method, HTTP_GET);
	/* byte by byte: the same */
	CHECK_EQ_INT(feed_all(&r, "GET /status?format=text HTTP/1.0\r\n\r\n", 1), ADMIN_PARSE_DONE);
	CHECK_STR(r.target, "/status?format=text");
	CHECK_EQ_INT(feed_all(&r, "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 7),
		     ADMIN_PARSE_DONE);
	CHECK_EQ_INT(r.method, HTTP_POST);
	CHECK_EQ_INT(feed_all(&r, "GET /metrics HTTP/1.1\r\nHost: x\r\n", 5), ADMIN_PARSE_MORE);
	CHECK_EQ_INT(feed_all(&r, "\x16\x03\x01\x02\x00 hello\r\n\r\n", 3), ADMIN_PARSE_BAD);
	CHECK_EQ_INT(feed_all(&r, "GET /x HTTP/1.1\r\nBad Header\r\n\r\n", 100), ADMIN_PARSE_BAD);
	/* a target longer than we keep is refused, not cut */
	memset(url, 'a', sizeof(url));
	memcpy(url, "GET /", 5);
	snprintf(url + 500, sizeof(url) - 500, " HTTP/1.1\r\n\r\n");
	CHECK_EQ_INT(feed_all(&r, url, 64), ADMIN_PARSE_BAD);
	/* headers that never end: too big once ADMIN_REQ_MAX bytes are in */
	snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: ");
	memset(big + strlen(big), 'b', sizeof(big) - strlen(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[ADMIN_REQ_MAX] = '\0';
	CHECK_EQ_INT(feed_all(&r, big, 512), ADMIN_PARSE_TOO_BIG);
}

static void fill(struct admin_snap *s, uint32_t n_torrents)
{
	memset(s, 0, sizeof(*s));
	s->phase = "serving";
	s->version = "9.9";
	s->uptime = 12.5;
	for (unsigned i = 0; i < 2; i++) {
		struct admin_worker *w = admin_snap_worker(s);

		w->index = i;
		w->pid = 100 + (int)i;
		w->peers = 3;
		w->up_bytes = 1000;
		w->cpu_seconds = 0.25;
	}
	for (uint32_t i = 0; i < n_torrents; i++) {
		struct admin_torrent *t = admin_snap_torrent(s);

		t->id = i;
		t->name = i == 0 ? "we\"ird\\na\nme" : "plain";
		t->info_hash[0] = (uint8_t)i;
		t->size = 100;
		t->pieces = t->good = 4;
		t->state = "seeding";
		t->progress = 1;
		t->peers = 1;
		t->up_bytes = 10 * (i + 1);
	}
	admin_snap_sample(s, "peer_drops_total", "Drops.", ADMIN_COUNTER, 5, "reason=\"%s\"", "idle");
	admin_snap_sample(s, "peer_drops_total", "Drops.", ADMIN_COUNTER, 0, "reason=\"%s\"", "io");
	admin_snap_sample(s, "pending", "Pending.", ADMIN_GAUGE, 2, NULL);
	admin_snap_sample(s, "loop_seconds_bucket", "Turns.", ADMIN_HISTOGRAM, 3, "le=\"0.001\"");
	admin_snap_sample(s, "loop_seconds_bucket", "Turns.", ADMIN_HISTOGRAM, 4, "le=\"+Inf\"");
	admin_snap_sample(s, "loop_seconds_sum", "Turns.", ADMIN_HISTOGRAM, 0.5, NULL);
	admin_snap_sample(s, "loop_seconds_count", "Turns.", ADMIN_HISTOGRAM, 4, NULL);
}

static void snap_free(struct admin_snap *s)
{
	free(s->w);
	free(s->t);
	free(s->tr);
	free(s->s);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_metrics(void)
{
	struct admin_snap s;
	struct admin_buf b = { 0 };

	fill(&s, 3);
	admin_render_metrics(&s, 2, &b);
	REQUIRE(b.p && !b.oom);
	CHECK_EQ_INT(count(b.p, "# TYPE ringseed_peer_drops_total counter\n"), 1);
	CHECK_EQ_INT(count(b.p, "# HELP ringseed_peer_drops_total "), 1);
	CHECK(strstr(b.p, "ringseed_peer_drops_total{reason=\"idle\"} 5\n"));
	CHECK(strstr(b.p, "ringseed_pending 2\n"));
	/* a histogram: one HELP and TYPE for its family, before its three kinds of series */
	CHECK_EQ_INT(count(b.p, "# TYPE ringseed_loop_seconds histogram\n"), 1);
	CHECK_EQ_INT(count(b.p, "# HELP ringseed_loop_seconds"), 1);
	CHECK(strstr(b.p, "# TYPE ringseed_loop_seconds histogram\n"
			  "ringseed_loop_seconds_bucket{le=\"0.001\"} 3\n"
			  "ringseed_loop_seconds_bucket{le=\"+Inf\"} 4\n"
			  "ringseed_loop_seconds_sum 0.5\n"
			  "ringseed_loop_seconds_count 4\n"));
	CHECK(strstr(b.p, "ringseed_upload_bytes_total{worker=\"1\"} 1000\n"));
	CHECK(strstr(b.p, "ringseed_worker_cpu_seconds_total{worker=\"0\"} 0.25\n"));
	/* label escaping (format 0.0.4): \\, \" and \n */
	CHECK(strstr(b.p, "name=\"we\\\"ird\\\\na\\nme\"}"));
	/* two torrents of their own, the third summed */
	CHECK_EQ_INT(count(b.p, "ringseed_torrent_upload_bytes_total{info_hash="), 2);
	CHECK(strstr(b.p, "ringseed_torrent_upload_bytes_total{torrent=\"_other\"} 30\n"));
	CHECK(strstr(b.p, "ringseed_torrents{state=\"seeding\"} 3\n"));
	/* every line is a comment or a ringseed_ sample */
	for (char *line = b.p; *line; line = strchr(line, '\n') + 1) {
		CHECK(line[0] == '#' || !strncmp(line, "ringseed_", 9));
		REQUIRE(strchr(line, '\n'));
	}
	free(b.p);
	snap_free(&s);
}

static void test_json_text(void)
{
	struct admin_snap s;
	struct admin_buf b = { 0 }, t = { 0 };
	struct admin_tracker *tr;

	fill(&s, 1);
	tr = admin_snap_tracker(&s);
	tr->url = "http://t/announce";
	tr->torrent = "x";
	tr->family = "ipv4";
	tr->result = "failed: \"no\"";
	admin_render_json(&s, &b);
	REQUIRE(b.p);
	CHECK(strstr(b.p, "\"name\":\"we\\\"ird\\\\na\\u000ame\""));
	CHECK(strstr(b.p, "\"result\":\"failed: \\\"no\\\"\""));
	CHECK(strstr(b.p, "\"workers\":[{\"index\":0,\"pid\":100,"));
	CHECK(strstr(b.p, "\"state\":\"serving\""));
	{
		struct admin_buf u = { 0 };

		s.t[0].name = "caf\xc3\xa9 \xff\xc3 \xe2\x82\xac \xed\xa0\x80\xff\x83\x8b";
		admin_render_json(&s, &u);
		REQUIRE(u.p);
		CHECK(strstr(u.p, "\"name\":\"caf\xc3\xa9 \\ufffd\\ufffd \xe2\x82\xac \\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\""));
		free(u.p);
		s.t[0].name = "we\"ird\\na\nme";
	}
	admin_render_text(&s, &t);
	REQUIRE(t.p);
	CHECK(strstr(t.p, "[####################] 100%"));
	CHECK(strstr(t.p, "6 peers"));
	CHECK(strstr(t.p, "\nwe\"ird\\na?me "));
	free(b.p);
	free(t.p);
	snap_free(&s);
}

int main(void)
{
	test_parser();
	test_metrics();
	test_json_text();
	return test_done("test_admin");
}
