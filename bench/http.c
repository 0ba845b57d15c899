/*
 * http.c - ringseed-bench --http: byte ranges of one file from a web server.
 *
 * The benchmark's anchor is nginx serving the same file with sendfile. To
 * compare like with like, the same connections, ring, buffers and report drive
 * it: only what goes over the wire differs. Each connection keeps Q requests
 * pipelined on one keep-alive connection (RFC 9112 section 9.3.2: responses
 * come back in the order of the requests), each
 *
 *     GET /PATH HTTP/1.1\r\nHost: HOST:PORT\r\nRange: bytes=A-B\r\n\r\n
 *
 * for one aligned range of --range bytes (RFC 9110 section 14.2), in the
 * connection's own pseudo-random order (p(i) = (a*i + b) mod n, as pick.c does
 * for pieces) or sequentially. As each response ends, the next request is
 * queued; loop.c sends a connection's queue in one send per turn.
 *
 * One response, as read here:
 *
 *   HEADER --status line and headers complete--> checked --> BODY
 *     ^      (http_parser, paused at their end)                |
 *     |                                                        | Content-Length
 *     +-------------- next request queued <--------------------+ bytes counted
 *
 * The status line and headers go through http_parser (the library the tracker
 * uses), told to skip the body. The body is counted here by Content-Length and
 * never parsed: read and dropped (discard), or dropped by TCP unread (trunc,
 * see http_want()). Checked: the status is 206; Content-Range is "bytes
 * A-B/SIZE" for the range asked; Content-Length is B-A+1; no Transfer-Encoding.
 * Another status ends the connection as END_HTTP_STATUS (and fails the run),
 * any other mismatch as END_PROTOCOL.
 *
 * The file's size comes from the run's first Content-Range: until it is known a
 * connection asks for range 0 alone, then fills its queue. The server closing
 * the socket between responses, after one or more on it, is a reconnect
 * (loop.c; nginx does it after keepalive_requests): the new socket asks again
 * for what was left unanswered, then goes on in the same order.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "bench/bench.h"
#include "bench/opts.h"
#include "iocore/log.h"

#define HTTP_CRANGE_MAX 80  /* "bytes A-B/SIZE": three 20-digit numbers fit */
#define HTTP_REQ_TAIL	48  /* "A-B\r\n\r\n" after the prefix: two 20-digit numbers */
#define HTTP_HDR_GUESS	512 /* trunc mode: bytes read for a socket's first header */
#define HTTP_HDR_SLACK	8   /* ... then the last header's length and this (digits grow) */
#define HTTP_HDR_MORE	256 /* ... and this much more while a header is incomplete */
#define HTTP_LOG_MAX	5   /* failures of a kind logged, the rest only counted */

struct http_conn {
	http_parser parser;
	uint64_t body_left; /* body bytes of the current response still to come */
	uint64_t clen;	    /* its Content-Length; ULLONG_MAX without one */
	uint32_t hdr_len;   /* bytes of the current header so far */
	uint32_t hdr_guess; /* trunc mode: the length of the last header */
	uint32_t responses; /* complete responses on this socket */
	uint16_t status;
	bool headers_done; /* the parser paused at the end of a header */
	bool probe;	   /* range 0 was asked for alone, the size not known yet */
	bool closing;	   /* the server said Connection: close: ask for nothing more */
	bool chunked;
	bool in_value;	 /* the last header callback was a value: a name starts anew */
	bool name_match; /* the header name so far begins "content-range" */
	uint8_t name_len;
	uint8_t crange_len; /* HTTP_CRANGE_MAX: longer than any valid one */
	char crange[HTTP_CRANGE_MAX];
};

struct http_crange {
	uint64_t first, last, size;
};

static const char http_crange_name[] = "content-range";

/* --- the parser's callbacks: they only note what the header says --- */

static int http_on_begin(http_parser *p)
{
	struct http_conn *h = p->data;

	h->in_value = true;
	h->crange_len = 0;
	return 0;
}

static int http_on_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn *h = p->data;

	if (h->in_value) {
		h->in_value = false;
		h->name_len = 0;
		h->name_match = true;
	}
	for (size_t i = 0; i < len && h->name_match; i++, h->name_len++)
		h->name_match = h->name_len < sizeof(http_crange_name) - 1 &&
				tolower((unsigned char)at[i]) == http_crange_name[h->name_len];
	return 0;
}

static int http_on_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn *h = p->data;

	h->in_value = true;
	if (!h->name_match || h->name_len != sizeof(http_crange_name) - 1 ||
	    h->crange_len == HTTP_CRANGE_MAX)
		return 0;
	if (len >= (size_t)(HTTP_CRANGE_MAX - h->crange_len)) {
		h->crange_len = HTTP_CRANGE_MAX;
		return 0;
	}
	memcpy(h->crange + h->crange_len, at, len);
	h->crange_len = (uint8_t)(h->crange_len + len);
	return 0;
}

static int http_on_headers(http_parser *p)
{
	struct http_conn *h = p->data;

	h->status = (uint16_t)p->status_code;
	h->clen = p->content_length;
	h->chunked = (p->flags & F_CHUNKED) || p->uses_transfer_encoding;
	h->closing = !http_should_keep_alive(p);
	return 1; /* no body for the parser: http_input() counts it */
}

static int http_on_complete(http_parser *p)
{
	struct http_conn *h = p->data;

	h->headers_done = true;
	http_parser_pause(p, 1); /* execute returns right after the header */
	return 0;
}

static const http_parser_settings http_settings = {
	.on_message_begin = http_on_begin,
	.on_header_field = http_on_field,
	.on_header_value = http_on_value,
	.on_headers_complete = http_on_headers,
	.on_message_complete = http_on_complete,
};

/* --- pure helpers --- */

/* Decimal digits from s up to end into *v; past them, or NULL if none or too many. */
static const char *http_num(const char *s, const char *end, uint64_t *v)
{
	const char *start = s;

	*v = 0;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (*v > (UINT64_MAX - 9) / 10)
			return NULL;
		*v = *v * 10 + (uint64_t)(*s - '0');
	}
	return s > start ? s : NULL;
}

/* Content-Range "bytes A-B/SIZE" (RFC 9110 section 14.4), blanks around it: 0 or -EINVAL. */
static int http_parse_crange(const char *s, size_t n, struct http_crange *r)
{
	const char *end = s + n;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end - s < 6 || strncasecmp(s, "bytes ", 6) != 0)
		return -EINVAL;
	s += 6;
	if (!(s = http_num(s, end, &r->first)) || s == end || *s++ != '-' ||
	    !(s = http_num(s, end, &r->last)) || s == end || *s++ != '/' ||
	    !(s = http_num(s, end, &r->size)) || s != end)
		return -EINVAL;
	return r->first <= r->last && r->last < r->size ? 0 : -EINVAL;
}

/* v in decimal at p; the number of digits. */
static uint32_t http_put_num(uint8_t *p, uint64_t v)
{
	uint8_t tmp[20];
	uint32_t n = 0;

	do {
		tmp[n++] = (uint8_t)('0' + v % 10);
		v /= 10;
	} while (v);
	for (uint32_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* Bytes in range idx: --range, or what is left of the file for the last one. */
static uint64_t http_range_len(const struct bench *b, uint32_t idx)
{
	uint64_t first = (uint64_t)idx * b->o.http_range;

	return b->http_size - first < b->o.http_range ? b->http_size - first : b->o.http_range;
}

/* --- set-up --- */

int http_setup_all(struct bench *b)
{
	uint32_t n = b->o.conns, q = b->o.queue, s_cap;
	int len = snprintf(b->http_req, sizeof(b->http_req),
			   "GET %s HTTP/1.1\r\nHost: %s\r\nRange: bytes=", b->o.http_path,
			   b->o.http_host);
	struct bench_req *reqs;
	uint8_t *sbufs;

	if (len < 0 || (size_t)len >= sizeof(b->http_req))
		return -ENAMETOOLONG; /* opts.c keeps host and path shorter */
	b->http_req_len = (uint32_t)len;
	s_cap = q * (b->http_req_len + HTTP_REQ_TAIL);
	reqs = calloc((size_t)n * q, sizeof(*reqs));
	sbufs = malloc((size_t)n * s_cap);
	b->http_conns = calloc(n, sizeof(*b->http_conns));
	b->conns = calloc(n, sizeof(*b->conns));
	if (!reqs || !sbufs || !b->http_conns || !b->conns) {
		free(reqs);
		free(sbufs);
		http_free_all(b);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct conn *c = &b->conns[i];

		c->fd = -1;
		c->idx = i;
		c->next_dirty = UINT32_MAX;
		c->reqs = reqs + (size_t)i * q;
		c->sbuf = sbufs + (size_t)i * s_cap;
		c->s_cap = s_cap;
		c->qmax = q;
		c->http = &b->http_conns[i];
		tw_timer_init(&c->timer);
	}
	return 0;
}

void http_free_all(struct bench *b)
{
	if (b->conns) {
		free(b->conns[0].reqs);
		free(b->conns[0].sbuf);
	}
	free(b->conns);
	free(b->http_conns);
	b->conns = NULL;
	b->http_conns = NULL;
}

/* --- requests --- */

static uint32_t http_gcd(uint32_t x, uint32_t y)
{
	while (y) {
		uint32_t t = x % y;

		x = y;
		y = t;
	}
	return x;
}

/*
 * The connection's order over the ranges, once their number is known. After a
 * probe the order starts at range 0 and goes on past it: -b all is the file.
 */
static void http_order_init(struct bench *b, struct conn *c)
{
	uint32_t n = b->http_ranges;

	c->perm_a = 1;
	c->perm_b = 0;
	c->pick_pos = c->http->probe ? 1 : 0;
	if (b->o.order != PICK_RANDOM || n < 2)
		return;
	if (!c->http->probe)
		c->perm_b = (uint32_t)(bench_rand(b) % n);
	/* Coprime multipliers are common (6/pi^2 of all numbers); 64 tries never all miss. */
	for (int i = 0; i < 64; i++) {
		uint32_t a = 1 + (uint32_t)(bench_rand(b) % (n - 1));

		if (http_gcd(a, n) == 1) {
			c->perm_a = a;
			break;
		}
	}
}

static uint32_t http_next_range(struct bench *b, struct conn *c)
{
	uint32_t n = b->http_ranges;

	if (!c->perm_a)
		http_order_init(b, c);
	if (c->pick_pos >= n) {
		c->pick_pos = 0;
		c->round++;
	}
	return (uint32_t)(((uint64_t)c->perm_a * c->pick_pos++ + c->perm_b) % n);
}

/* Appends the text of request r to the send buffer, which has room for it. */
static void http_put_request(struct bench *b, struct conn *c, struct bench_req r)
{
	uint64_t first = (uint64_t)r.piece * b->o.http_range;
	uint8_t *p = c->sbuf + c->s_len;

	memcpy(p, b->http_req, b->http_req_len);
	p += b->http_req_len;
	p += http_put_num(p, first);
	*p++ = '-';
	p += http_put_num(p, first + r.length - 1);
	memcpy(p, "\r\n\r\n", 4);
	c->s_len = (uint32_t)(p + 4 - c->sbuf);
	loop_mark_dirty(b, c);
}

/* Asks for range idx, of len bytes; false if the ring or the send buffer is full. */
static bool http_request(struct bench *b, struct conn *c, uint32_t idx, uint64_t len)
{
	struct bench_req r = { .piece = idx, .length = (uint32_t)len };

	if (c->s_cap - c->s_len < b->http_req_len + HTTP_REQ_TAIL || c->req_len == b->o.queue)
		return false;
	http_put_request(b, c, r);
	c->reqs[(c->req_head + c->req_len++) % b->o.queue] = r;
	c->requested += len;
	return true;
}

/* Keeps `queue` requests outstanding, within the budget. */
static void http_refill(struct bench *b, struct conn *c)
{
	if (!b->http_size || c->http->closing)
		return; /* the size is not known yet (range 0 is asked), or the socket is ending */
	while (c->req_len < c->qmax) {
		uint32_t idx;

		if (b->o.budget && c->requested >= b->o.budget)
			break;
		idx = http_next_range(b, c);
		if (!http_request(b, c, idx, http_range_len(b, idx)))
			break; /* cannot happen: the buffer holds `queue` requests */
	}
}

void http_start(struct bench *b, struct conn *c)
{
	struct http_conn *h = c->http;
	uint32_t guess = h->hdr_guess ? h->hdr_guess : HTTP_HDR_GUESS;

	memset(h, 0, sizeof(*h));
	http_parser_init(&h->parser, HTTP_RESPONSE);
	h->parser.data = h;
	h->hdr_guess = guess;
	/* A new socket: what the last one left unanswered is asked for again, first. */
	c->s_len = c->s_inflight = 0;
	for (uint32_t k = 0; k < c->req_len; k++)
		http_put_request(b, c, c->reqs[(c->req_head + k) % b->o.queue]);
	if (b->http_size) {
		http_refill(b, c);
		return;
	}
	h->probe = true; /* its Content-Range tells the size */
	http_request(b, c, 0, b->o.http_range);
}

/* --- responses --- */

/* A response the bench cannot use: logged (the first few), the connection ends. */
static bool __attribute__((format(printf, 3, 4)))
http_fail(struct bench *b, struct conn *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (b->ends[END_PROTOCOL] < HTTP_LOG_MAX)
		log_warnx("connection %u: %s", c->idx, msg);
	loop_finish(b, c, END_PROTOCOL, 0);
	return false;
}

static bool http_bad_status(struct bench *b, struct conn *c)
{
	unsigned status = c->http->status;
	char msg[sizeof(b->http_why)];

	snprintf(msg, sizeof(msg), "GET %s: HTTP %u %s, want 206 Partial Content%s", b->o.http_path,
		 status, http_status_str((enum http_status)status),
		 status == 200 ? " (the server ignored Range)" : "");
	if (!b->http_why[0])
		memcpy(b->http_why, msg, sizeof(msg));
	if (b->ends[END_HTTP_STATUS] < HTTP_LOG_MAX)
		log_warnx("connection %u: %s", c->idx, msg);
	loop_finish(b, c, END_HTTP_STATUS, (int)status);
	return false;
}

/* The first Content-Range of the run: the file's size, and how many ranges it has. */
static bool http_learn_size(struct bench *b, struct conn *c, uint64_t size)
{
	uint64_t n = (size + b->o.http_range - 1) / b->o.http_range;

	if (n > UINT32_MAX)
		return http_fail(b, c,
				 "%llu bytes are more than 2^32 ranges of %u: use a larger "
				 "--range",
				 (unsigned long long)size, b->o.http_range);
	b->http_size = size;
	b->http_ranges = (uint32_t)n;
	if (b->o.budget == OPTS_BUDGET_ALL)
		b->o.budget = size;
	return true;
}

/* The socket's first good response header: the connection is in (HANDSHAKE -> ACTIVE). */
static void http_handshaked(struct bench *b, struct conn *c)
{
	c->state = CONN_ACTIVE;
	b->opening--;
	if (++b->active > b->active_peak)
		b->active_peak = b->active;
	tw_del(&b->wheel, &c->timer);
	if (!c->t_handshake) {
		c->t_handshake = bench_now_ns();
		b->handshaked++;
	}
}

/* A status line and headers are in: are they the answer to the oldest request? */
static bool http_header_done(struct bench *b, struct conn *c)
{
	struct http_conn *h = c->http;
	struct bench_req r = c->reqs[c->req_head];
	struct http_crange cr;
	uint64_t first, len;

	h->headers_done = false;
	h->hdr_guess = h->hdr_len;
	h->hdr_len = 0;
	if (h->status != 206)
		return http_bad_status(b, c);
	if (!c->req_len)
		return http_fail(b, c, "a response to no request");
	if (h->chunked || h->clen == ULLONG_MAX)
		return http_fail(b, c, "a 206 response without Content-Length, or chunked");
	if (!h->crange_len)
		return http_fail(b, c, "a 206 response without Content-Range");
	if (h->crange_len >= HTTP_CRANGE_MAX || http_parse_crange(h->crange, h->crange_len, &cr))
		return http_fail(b, c, "Content-Range '%.*s' is not 'bytes A-B/SIZE'",
				 h->crange_len < HTTP_CRANGE_MAX ? (int)h->crange_len : 0,
				 h->crange);
	if (!b->http_size && !http_learn_size(b, c, cr.size))
		return false;
	if (cr.size != b->http_size)
		return http_fail(b, c, "the file's size changed from %llu to %llu bytes",
				 (unsigned long long)b->http_size, (unsigned long long)cr.size);
	first = (uint64_t)r.piece * b->o.http_range;
	len = http_range_len(b, r.piece);
	if (cr.first != first || cr.last != first + len - 1 || h->clen != len)
		return http_fail(b, c,
				 "asked for bytes %llu-%llu, got Content-Range '%.*s' with "
				 "Content-Length %llu",
				 (unsigned long long)first, (unsigned long long)(first + len - 1),
				 (int)h->crange_len, h->crange, (unsigned long long)h->clen);
	/* Range 0 alone was asked for with --range bytes before the size was known. */
	c->requested = c->requested - r.length + len;
	c->req_head = (c->req_head + 1) % b->o.queue;
	c->req_len--;
	h->body_left = len;
	if (c->state == CONN_HANDSHAKE)
		http_handshaked(b, c);
	return true;
}

/* A whole body is in: the budget may be, else the next request goes out. */
static bool http_response_done(struct bench *b, struct conn *c)
{
	c->http->responses++;
	c->pieces_done++;
	if (b->o.budget && c->requested >= b->o.budget && c->bytes >= c->requested && !c->req_len) {
		loop_finish(b, c, END_DONE, 0);
		return false;
	}
	http_refill(b, c);
	return true;
}

/* Header bytes for the parser: false when the connection ended. */
static bool http_header_input(struct bench *b, struct conn *c, const uint8_t **p, size_t *n)
{
	struct http_conn *h = c->http;
	size_t used = http_parser_execute(&h->parser, &http_settings, (const char *)*p, *n);
	enum http_errno e = HTTP_PARSER_ERRNO(&h->parser);

	*p += used;
	*n -= used;
	h->hdr_len += (uint32_t)used;
	if (e == HPE_OK && *n == 0)
		return true; /* the rest of the header is still to come */
	if (e != HPE_PAUSED || !h->headers_done)
		return http_fail(b, c, "response header: %s",
				 e == HPE_OK ? "protocol upgrade" : http_errno_description(e));
	http_parser_pause(&h->parser, 0);
	return http_header_done(b, c);
}

bool http_input(struct bench *b, struct conn *c, const uint8_t *p, size_t n)
{
	struct http_conn *h = c->http;

	while (n) {
		size_t take;

		if (!h->body_left) {
			if (!http_header_input(b, c, &p, &n))
				return false;
			continue;
		}
		take = n < h->body_left ? n : (size_t)h->body_left;
		h->body_left -= take;
		c->bytes += take;
		b->rx_payload += take;
		if (!c->t_first)
			c->t_first = bench_now_ns();
		p += take;
		n -= take;
		if (!h->body_left && !http_response_done(b, c))
			return false;
	}
	return true;
}

uint32_t http_want(const struct conn *c, bool *payload)
{
	const struct http_conn *h = c->http;

	*payload = h->body_left > 0;
	if (*payload)
		return h->body_left < UINT32_MAX ? (uint32_t)h->body_left : UINT32_MAX;
	/* About as long as the last header: read no more than a few bytes of body with it. */
	if (h->hdr_len < h->hdr_guess)
		return h->hdr_guess - h->hdr_len + HTTP_HDR_SLACK;
	return HTTP_HDR_MORE;
}

bool http_may_reconnect(const struct conn *c, int err)
{
	const struct http_conn *h = c->http;

	return c->state == CONN_ACTIVE && h->responses > 0 && !h->body_left && !h->hdr_len &&
	       (err == 0 || h->closing);
}
