/*
 * fuzz_admin.c - libFuzzer target for the admin endpoint's request parser
 * and its renderers.
 *
 * The input's first byte picks a chunk size; the rest is fed to
 * admin_req_feed in chunks of that size, as the socket would deliver it.
 * Invariants: fed never passes the bytes given; DONE leaves a NUL-terminated
 * target that fits its buffer; nothing past ADMIN_REQ_MAX is ever MORE.
 *
 * Then the input (cut at its first NUL) is a torrent's name and a tracker's
 * result in a snapshot rendered as Prometheus text, JSON and a table:
 * every /metrics line is still a comment or a ringseed_ sample (escaping
 * holds), and the JSON has no raw control character and is valid UTF-8
 * (checked with mbrtowc in a UTF-8 locale); the table has no control
 * character but its newlines.
 */
#include <locale.h>
#include <string.h>
#include <wchar.h>

#include "master/admin/admin.h"
#include "tests/fuzz/fuzz.h"

static void fuzz_parse(const uint8_t *data, size_t size)
{
	struct admin_req r;
	size_t step = size ? (size_t)data[0] % 64 + 1 : 1, have = 0, fed = 0;
	const char *req = size ? (const char *)data + 1 : "";
	size_t len = size ? size - 1 : 0;
	enum admin_parse p = ADMIN_PARSE_MORE;

	if (len > ADMIN_REQ_MAX)
		len = ADMIN_REQ_MAX;
	admin_req_init(&r);
	while (have < len && p == ADMIN_PARSE_MORE) {
		have = have + step > len ? len : have + step;
		p = admin_req_feed(&r, req, have, &fed);
		ASSERT(fed <= have);
	}
	if (p == ADMIN_PARSE_DONE)
		ASSERT(strlen(r.target) < sizeof(r.target));
	if (p == ADMIN_PARSE_MORE)
		ASSERT(have < ADMIN_REQ_MAX);
}

static void fuzz_render(const uint8_t *data, size_t size)
{
	char name[512];
	size_t n = strnlen((const char *)data, size < sizeof(name) - 1 ? size : sizeof(name) - 1);
	struct admin_snap s = { .phase = "serving", .version = name };
	struct admin_buf b = { 0 }, j = { 0 }, t = { 0 };
	struct admin_torrent *tor;
	struct admin_tracker *tr;

	memcpy(name, data, n);
	name[n] = '\0';
	tor = admin_snap_torrent(&s);
	tor->name = name;
	tor->state = "seeding";
	tr = admin_snap_tracker(&s);
	tr->url = tr->torrent = tr->result = name;
	tr->family = "ipv4";
	admin_snap_sample(&s, "x_total", "X.", ADMIN_COUNTER, 1, "reason=\"%s\"", "a");
	admin_render_metrics(&s, 1000, &b);
	admin_render_json(&s, &j);
	admin_render_text(&s, &t);
	ASSERT(b.p && j.p && t.p);
	for (char *line = b.p; *line; line = strchr(line, '\n') + 1) {
		ASSERT(line[0] == '#' || !strncmp(line, "ringseed_", 9));
		ASSERT(strchr(line, '\n'));
	}
	for (const unsigned char *c = (const unsigned char *)j.p; *c; c++)
		ASSERT(*c >= 0x20 || *c == '\n');
	for (const unsigned char *c = (const unsigned char *)t.p; *c; c++)
		ASSERT(*c >= 0x20 || *c == '\n');
	if (setlocale(LC_CTYPE, "C.UTF-8")) {
		mbstate_t st = { 0 };
		size_t left = j.len, k;

		for (const char *c = j.p; left; c += k, left -= k) {
			wchar_t wc;

			k = mbrtowc(&wc, c, left, &st);
			ASSERT(k != (size_t)-1 && k != (size_t)-2 && k != 0);
			ASSERT(!(wc >= 0xd800 && wc <= 0xdfff));
		}
	}
	free(b.p);
	free(j.p);
	free(t.p);
	free(s.t);
	free(s.tr);
	free(s.s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_parse(data, size);
	fuzz_render(data, size);
	return 0;
}
