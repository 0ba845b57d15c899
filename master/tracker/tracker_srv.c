/*
 * tracker_srv.c - the built-in tracker's sockets: HTTP connections and UDP
 * datagrams, driven by the master's epoll loop. See tracker_srv.h for the
 * connection state machine and the design; the tables are tracker_swarm.c.
 *
 * epoll data (low 32 bits): [0, CONF_LISTEN_MAX) a TCP listener,
 * [CONF_LISTEN_MAX, 2 * CONF_LISTEN_MAX) a UDP socket, and for a connection
 * TSRV_IDX_CONN | generation << 12 | slot, so that an event still queued for a
 * connection closed earlier in the same batch cannot reach its successor.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/tracker/tracker_srv.h"
#include "proto/bytes.h"

#define TSRV_IDX_CONN	 0x80000000u
#define TSRV_SLOT_BITS	 12
#define TSRV_GEN_MASK	 0x7ffffu /* 19 bits */
#define TSRV_HDR_ROOM	 256	  /* room for the status line and headers before a body */
#define TSRV_BODY_MAX	 (128 * 1024)
#define TSRV_ACCEPTS	 64 /* accepts per event */
#define TSRV_READS	 4  /* recv calls per connection event */
#define TSRV_BIND_TRIES	 16 /* port 0: attempts to find a port free for both TCP and UDP */
#define TSRV_UDP_OUT_MAX 1280

_Static_assert(TSRV_MAX_CONNS <= 1u << TSRV_SLOT_BITS, "slot bits");
_Static_assert(TSRV_UDP_REPLY_MAX <= TSRV_UDP_OUT_MAX &&
		       8 + TSRV_UDP_SCRAPE_MAX * 12 <= TSRV_UDP_OUT_MAX,
	       "UDP reply buffers");

struct tsrv_udp_io {
	struct mmsghdr in[TSRV_UDP_BATCH], out[TSRV_UDP_BATCH];
	struct iovec in_iov[TSRV_UDP_BATCH], out_iov[TSRV_UDP_BATCH];
	struct sockaddr_in6 from[TSRV_UDP_BATCH]; /* big enough for either family */
	uint8_t in_buf[TSRV_UDP_BATCH][TSRV_UDP_IN_MAX];
	uint8_t out_buf[TSRV_UDP_BATCH][TSRV_UDP_OUT_MAX];
};

static void tsrv_errf(char *err, size_t errlen, const char *fmt, const char *what, int e)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, what, strerror(e));
}

static void tsrv_addr_str(const struct conf_addr *a, uint16_t port, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, port);
	} else {
		inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, port);
	}
}

/* A peer's address as the tables keep it: IPv4-mapped IPv6 becomes IPv4. */
static int tsrv_norm_addr(const struct sockaddr *sa, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memcpy(addr, &s6->sin6_addr, 16);
			return AF_INET6;
		}
		memcpy(addr, s6->sin6_addr.s6_addr + 12, 4);
		return AF_INET;
	}
	memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	return AF_INET;
}

static uint64_t tsrv_conn_id(const struct tsrv *t, unsigned which, int family,
			     const uint8_t addr[16])
{
	uint8_t k[17];

	k[0] = (uint8_t)family;
	memcpy(k + 1, addr, 16);
	return tsrv_siphash(t->secret[which], k, sizeof(k));
}

/* --- HTTP: responses --- */

static int tsrv_watch(struct tsrv *t, int op, int fd, uint32_t idx, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)t->kind << 32 | idx };

	return epoll_ctl(t->epfd, op, fd, &ev);
}

static uint32_t tsrv_conn_idx(const struct tsrv *t, const struct tsrv_conn *c)
{
	return TSRV_IDX_CONN | c->gen << TSRV_SLOT_BITS | (uint32_t)(c - t->conns);
}

static void tsrv_wbuf_free(struct tsrv *t, struct tsrv_conn *c)
{
	if (c->wbuf)
		t->wbuf_bytes -= c->wlen;
	free(c->wbuf);
	c->wbuf = NULL;
}

static void tsrv_conn_close(struct tsrv *t, struct tsrv_conn *c)
{
	close(c->fd); /* also leaves the epoll set */
	tsrv_wbuf_free(t, c);
	c->fd = -1;
	c->state = TC_FREE;
	t->free_conns[t->n_free++] = (uint32_t)(c - t->conns);
}

/* After a closing response: no more output, input read and dropped until EOF. */
static void tsrv_conn_linger(struct tsrv *t, struct tsrv_conn *c)
{
	shutdown(c->fd, SHUT_WR);
	c->state = TC_LINGER;
	c->deadline_ms = t->now_ms + TSRV_LINGER_MS;
	tsrv_watch(t, EPOLL_CTL_MOD, c->fd, tsrv_conn_idx(t, c), EPOLLIN | EPOLLRDHUP);
}

/*
 * Sends status line, headers and the body already at t->out + TSRV_HDR_ROOM,
 * with one send when the socket takes it all; the rest is kept in c->wbuf and
 * reading stops until it is gone.
 */
static void tsrv_respond(struct tsrv *t, struct tsrv_conn *c, const char *status, size_t body_len)
{
	/* an HTTP/1.0 client keeps the connection only when told so */
	const char *conn = c->close_after	       ? "Connection: close\r\n"
			   : c->parser.http_minor == 0 ? "Connection: keep-alive\r\n"
						       : "";
	char hdr[TSRV_HDR_ROOM];
	int hl =
		snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
			 status, body_len, conn);
	uint8_t *p = t->out + TSRV_HDR_ROOM - hl;
	size_t len = (size_t)hl + body_len;
	ssize_t n;

	memcpy(p, hdr, (size_t)hl);
	n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		tsrv_conn_close(t, c);
		return;
	}
	if (n < 0)
		n = 0;
	if ((size_t)n == len) {
		if (c->close_after)
			tsrv_conn_linger(t, c);
		return;
	}
	if (t->wbuf_bytes + (len - (size_t)n) > TSRV_WBUF_TOTAL ||
	    !(c->wbuf = malloc(len - (size_t)n))) {
		t->stat[TSTAT_HTTP_UNSENT]++; /* clients that do not read cannot hold all memory */
		tsrv_conn_close(t, c);
		return;
	}
	t->wbuf_bytes += len - (size_t)n;
	memcpy(c->wbuf, p + n, len - (size_t)n);
	c->wlen = (uint32_t)(len - (size_t)n);
	c->woff = 0;
	c->state = TC_WRITING;
	c->deadline_ms = t->now_ms + TSRV_WRITE_MS;
	tsrv_watch(t, EPOLL_CTL_MOD, c->fd, tsrv_conn_idx(t, c), EPOLLOUT);
}

static uint8_t *tsrv_body(struct tsrv *t)
{
	return t->out + TSRV_HDR_ROOM;
}

/* An error: a bencoded failure reason, then the connection closes. */
static void tsrv_fail(struct tsrv *t, struct tsrv_conn *c, const char *status, const char *why,
		      enum tsrv_stat stat)
{
	ssize_t n = trk_http_failure(tsrv_body(t), TSRV_BODY_MAX, why);

	t->stat[stat]++;
	c->close_after = true;
	tsrv_respond(t, c, status, n > 0 ? (size_t)n : 0);
}

/* --- HTTP: requests --- */

static void tsrv_http_announce(struct tsrv *t, struct tsrv_conn *c, const char *q, size_t qlen)
{
	struct trk_query tq;
	struct tsrv_ann a;
	const char *why = "bad announce";
	ssize_t n;

	if (trk_parse_announce_query(q, qlen, &tq, &why) < 0) {
		tsrv_fail(t, c, "400 Bad Request", why, TSTAT_BAD_REQUEST);
		return;
	}
	if (tq.port == 0) {
		tsrv_fail(t, c, "400 Bad Request", "invalid port", TSTAT_BAD_REQUEST);
		return;
	}
	tsrv_announce(t, &tq, c->family, c->addr,
		      tq.has_numwant && tq.numwant < t->numwant ? tq.numwant : t->numwant, &a);
	if (a.refused)
		n = trk_http_failure(tsrv_body(t), TSRV_BODY_MAX, a.refused);
	else
		n = trk_http_announce_resp(tsrv_body(t), TSRV_BODY_MAX, t->interval,
					   t->min_interval, a.complete, a.incomplete, t->sel, a.n,
					   tq.compact, tq.no_peer_id);
	if (n < 0)
		n = trk_http_failure(tsrv_body(t), TSRV_BODY_MAX, "reply too large");
	tsrv_respond(t, c, "200 OK", n > 0 ? (size_t)n : 0);
}

static void tsrv_http_scrape(struct tsrv *t, struct tsrv_conn *c, const char *q, size_t qlen)
{
	uint8_t hashes[TSRV_HTTP_SCRAPE_MAX][TRK_HASH_LEN];
	struct trk_scrape s[TSRV_HTTP_SCRAPE_MAX];
	const char *why = "bad scrape";
	unsigned n = 0;
	ssize_t len;

	if (trk_parse_scrape_query(q, qlen, hashes, TSRV_HTTP_SCRAPE_MAX, &n, &why) < 0) {
		tsrv_fail(t, c, "400 Bad Request", why, TSTAT_BAD_REQUEST);
		return;
	}
	if (n == 0) {
		/* a full scrape would be as big as the table: not offered */
		len = trk_http_failure(tsrv_body(t), TSRV_BODY_MAX, "full scrape not supported");
	} else {
		for (unsigned i = 0; i < n; i++)
			tsrv_scrape_one(t, hashes[i], &s[i]);
		t->stat[TSTAT_SCRAPES]++;
		len = trk_http_scrape_resp(tsrv_body(t), TSRV_BODY_MAX,
					   (const uint8_t(*)[TRK_HASH_LEN])hashes, s, n);
	}
	tsrv_respond(t, c, "200 OK", len > 0 ? (size_t)len : 0);
}

/* One complete request (c->parser says method and keep-alive): one response. */
static void tsrv_http_request(struct tsrv *t, struct tsrv_conn *c)
{
	const char *url = c->rbuf + c->url_off, *path, *q = "";
	struct http_parser_url u;
	size_t plen, qlen = 0;

	c->close_after = !http_should_keep_alive(&c->parser);
	if (c->parser.method != HTTP_GET) {
		tsrv_fail(t, c, "405 Method Not Allowed", "GET only", TSTAT_BAD_REQUEST);
		return;
	}
	http_parser_url_init(&u);
	if (http_parser_parse_url(url, c->url_len, 0, &u) != 0 || !(u.field_set & 1 << UF_PATH)) {
		tsrv_fail(t, c, "400 Bad Request", "bad request target", TSTAT_BAD_REQUEST);
		return;
	}
	path = url + u.field_data[UF_PATH].off;
	plen = u.field_data[UF_PATH].len;
	if (u.field_set & 1 << UF_QUERY) {
		q = url + u.field_data[UF_QUERY].off;
		qlen = u.field_data[UF_QUERY].len;
	}
	if (plen == 9 && memcmp(path, "/announce", 9) == 0)
		tsrv_http_announce(t, c, q, qlen);
	else if (plen == 7 && memcmp(path, "/scrape", 7) == 0)
		tsrv_http_scrape(t, c, q, qlen);
	else
		tsrv_fail(t, c, "404 Not Found", "not a tracker path", TSTAT_NOT_FOUND);
}

static int tsrv_on_begin(http_parser *p)
{
	struct tsrv_conn *c = p->data;

	c->url_off = c->url_len = 0;
	return 0;
}

static int tsrv_on_url(http_parser *p, const char *at, size_t len)
{
	struct tsrv_conn *c = p->data;

	if (!c->url_len)
		c->url_off = (uint32_t)(at - c->rbuf);
	c->url_len += (uint32_t)len; /* pieces are contiguous: all of them are in rbuf */
	return 0;
}

static int tsrv_on_complete(http_parser *p)
{
	struct tsrv_conn *c = p->data;

	c->done = true;
	http_parser_pause(p, 1); /* one request at a time: execute returns right here */
	return 0;
}

static const http_parser_settings tsrv_http_settings = {
	.on_message_begin = tsrv_on_begin,
	.on_url = tsrv_on_url,
	.on_message_complete = tsrv_on_complete,
};

/*
 * Feeds the parser what it has not seen and answers each complete request,
 * until the buffer is used up or the connection cannot take another
 * response now. Returns false when the connection is no longer reading.
 */
static bool tsrv_conn_parse(struct tsrv *t, struct tsrv_conn *c)
{
	while (c->state == TC_READING && c->parsed < c->len) {
		size_t n = http_parser_execute(&c->parser, &tsrv_http_settings, c->rbuf + c->parsed,
					       c->len - c->parsed);
		enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);

		c->parsed += (uint32_t)n;
		if (e == HPE_PAUSED && c->done) {
			http_parser_pause(&c->parser, 0);
			c->done = false;
			tsrv_http_request(t, c); /* may close c */
			if (c->state == TC_FREE)
				return false;
			memmove(c->rbuf, c->rbuf + c->parsed, c->len - c->parsed);
			c->len -= c->parsed;
			c->parsed = 0;
			if (c->state == TC_READING) {
				c->state = c->len ? TC_READING : TC_IDLE;
				c->deadline_ms =
					t->now_ms + (c->len ? TSRV_HEADER_MS : TSRV_IDLE_MS);
			}
		} else if (e != HPE_OK || c->parser.upgrade) {
			tsrv_fail(t, c, "400 Bad Request", "bad HTTP request", TSTAT_BAD_REQUEST);
		}
	}
	return c->state == TC_READING || c->state == TC_IDLE;
}

static void tsrv_conn_read(struct tsrv *t, struct tsrv_conn *c)
{
	for (int i = 0; i < TSRV_READS; i++) {
		ssize_t n;

		if (c->len == TSRV_REQ_MAX) {
			tsrv_fail(t, c, "431 Request Header Fields Too Large", "request too large",
				  TSTAT_BAD_REQUEST);
			return;
		}
		n = recv(c->fd, c->rbuf + c->len, TSRV_REQ_MAX - c->len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) {
			tsrv_conn_close(t, c); /* EOF or error: whatever was half-sent is dropped */
			return;
		}
		if (c->state == TC_IDLE) {
			c->state = TC_READING;
			c->deadline_ms = t->now_ms + TSRV_HEADER_MS;
		}
		c->len += (uint32_t)n;
		if (!tsrv_conn_parse(t, c))
			return;
	}
}

/* LINGER: drop input until EOF, then close. */
static void tsrv_conn_drain(struct tsrv *t, struct tsrv_conn *c)
{
	for (int i = 0; i < TSRV_READS; i++) {
		ssize_t n = recv(c->fd, c->rbuf, TSRV_REQ_MAX, MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0)
			break;
	}
	tsrv_conn_close(t, c);
}

/* WRITING: the rest of a response; then back to reading, or to LINGER. */
static void tsrv_conn_flush(struct tsrv *t, struct tsrv_conn *c)
{
	ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0) {
		tsrv_conn_close(t, c);
		return;
	}
	c->woff += (uint32_t)n;
	c->deadline_ms = t->now_ms + TSRV_WRITE_MS;
	if (c->woff < c->wlen)
		return;
	tsrv_wbuf_free(t, c);
	if (c->close_after) {
		tsrv_conn_linger(t, c);
		return;
	}
	c->state = c->len ? TC_READING : TC_IDLE;
	c->deadline_ms = t->now_ms + (c->len ? TSRV_HEADER_MS : TSRV_IDLE_MS);
	tsrv_watch(t, EPOLL_CTL_MOD, c->fd, tsrv_conn_idx(t, c), EPOLLIN | EPOLLRDHUP);
	tsrv_conn_parse(t, c); /* requests that arrived pipelined behind the one answered */
}

/* Advances a connection's state machine on an epoll event. */
static void tsrv_conn_run(struct tsrv *t, struct tsrv_conn *c, uint32_t events)
{
	if (events & EPOLLERR) {
		tsrv_conn_close(t, c);
		return;
	}
	switch ((enum tsrv_conn_state)c->state) {
	case TC_IDLE:
	case TC_READING:
		tsrv_conn_read(t, c);
		break;
	case TC_WRITING:
		tsrv_conn_flush(t, c);
		break;
	case TC_LINGER:
		tsrv_conn_drain(t, c);
		break;
	case TC_FREE:
	case TC_MAX:
		break;
	}
}

static void tsrv_accept(struct tsrv *t, unsigned li)
{
	struct sockaddr_in6 sa;
	socklen_t sl;
	int fd, one = 1;

	for (int i = 0; i < TSRV_ACCEPTS; i++) {
		struct tsrv_conn *c;

		sl = sizeof(sa);
		fd = accept4(t->tcp_fd[li], (struct sockaddr *)&sa, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED &&
			    errno != EINTR)
				log_warn("tracker: accept");
			return;
		}
		if (!t->n_free) {
			close(fd);
			t->stat[TSTAT_REFUSED_CONNS]++;
			continue;
		}
		c = &t->conns[t->free_conns[--t->n_free]];
		c->fd = fd;
		c->gen = (c->gen + 1) & TSRV_GEN_MASK;
		c->state = TC_IDLE;
		c->close_after = c->done = false;
		c->family = (uint8_t)tsrv_norm_addr((struct sockaddr *)&sa, c->addr);
		c->deadline_ms = t->now_ms + TSRV_HEADER_MS;
		c->len = c->parsed = c->url_off = c->url_len = 0;
		http_parser_init(&c->parser, HTTP_REQUEST);
		c->parser.data = c;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (tsrv_watch(t, EPOLL_CTL_ADD, fd, tsrv_conn_idx(t, c), EPOLLIN | EPOLLRDHUP)) {
			log_warn("tracker: epoll_ctl");
			tsrv_conn_close(t, c);
		}
	}
}

/* --- UDP (BEP 15) --- */

static size_t tsrv_udp_error(uint8_t *out, uint32_t txid, const char *msg)
{
	ssize_t n = trk_udp_error_resp(out, TSRV_UDP_OUT_MAX, txid, msg);

	return n > 0 ? (size_t)n : 0;
}

static size_t tsrv_udp_announce(struct tsrv *t, const struct trk_udp_req *r, int family,
				const uint8_t addr[16], uint8_t *out)
{
	/* peers that fit TSRV_UDP_REPLY_MAX: 20-byte header, 6 or 18 bytes each */
	uint32_t fit = (TSRV_UDP_REPLY_MAX - 20) / (family == AF_INET6 ? 18 : 6);
	uint32_t want = r->q.has_numwant && r->q.numwant < t->numwant ? r->q.numwant : t->numwant;
	struct tsrv_ann a;
	ssize_t n;

	if (r->q.port == 0)
		return tsrv_udp_error(out, r->txid, "invalid port");
	tsrv_announce(t, &r->q, family, addr, want < fit ? want : fit, &a);
	if (a.refused)
		return tsrv_udp_error(out, r->txid, a.refused);
	n = trk_udp_announce_resp(out, TSRV_UDP_OUT_MAX, r->txid, t->interval, a.incomplete,
				  a.complete, t->sel, a.n, family);
	return n > 0 ? (size_t)n : 0;
}

static size_t tsrv_udp_scrape(struct tsrv *t, const struct trk_udp_req *r, uint8_t *out)
{
	struct trk_scrape s[TSRV_UDP_SCRAPE_MAX];
	unsigned n = r->n_hashes < TSRV_UDP_SCRAPE_MAX ? r->n_hashes : TSRV_UDP_SCRAPE_MAX;
	ssize_t len;

	for (unsigned i = 0; i < n; i++)
		tsrv_scrape_one(t, r->hashes + (size_t)i * TRK_HASH_LEN, &s[i]);
	t->stat[TSTAT_SCRAPES]++;
	len = trk_udp_scrape_resp(out, TSRV_UDP_OUT_MAX, r->txid, s, n);
	return len > 0 ? (size_t)len : 0;
}

/* One datagram: the length of the reply written to out, 0 for none. */
static size_t tsrv_udp_one(struct tsrv *t, const uint8_t *in, size_t len, int family,
			   const uint8_t addr[16], uint8_t *out)
{
	struct trk_udp_req r;
	const char *why = "bad request";

	if (len < 16) { /* not even a transaction id to answer to */
		t->stat[TSTAT_BAD_UDP]++;
		return 0;
	}
	if (trk_udp_parse_req(in, len, &r, &why) < 0) {
		t->stat[TSTAT_BAD_UDP]++;
		return tsrv_udp_error(out, get_be32(in + 12), why);
	}
	if (r.action == TRK_UDP_CONNECT) {
		t->stat[TSTAT_UDP_CONNECTS]++;
		return trk_udp_connect_resp(out, r.txid, tsrv_conn_id(t, 0, family, addr));
	}
	if (r.conn_id != tsrv_conn_id(t, 0, family, addr) &&
	    r.conn_id != tsrv_conn_id(t, 1, family, addr)) {
		t->stat[TSTAT_BAD_CONN_ID]++;
		return tsrv_udp_error(out, r.txid, "unknown connection id");
	}
	if (r.action == TRK_UDP_ANNOUNCE)
		return tsrv_udp_announce(t, &r, family, addr, out);
	if (r.action == TRK_UDP_SCRAPE)
		return tsrv_udp_scrape(t, &r, out);
	t->stat[TSTAT_BAD_UDP]++;
	return tsrv_udp_error(out, r.txid, "unknown action");
}

/* A batch of datagrams in, a batch of replies out, a few rounds per event. */
static void tsrv_udp(struct tsrv *t, unsigned li)
{
	struct tsrv_udp_io *u = t->udp;
	int fd = t->udp_fd[li];

	for (int round = 0; round < TSRV_UDP_ROUNDS; round++) {
		unsigned nout = 0;
		int n;

		for (unsigned i = 0; i < TSRV_UDP_BATCH; i++) {
			u->in_iov[i] = (struct iovec){ u->in_buf[i], TSRV_UDP_IN_MAX };
			u->in[i].msg_hdr = (struct msghdr){ .msg_name = &u->from[i],
							    .msg_namelen = sizeof(u->from[i]),
							    .msg_iov = &u->in_iov[i],
							    .msg_iovlen = 1 };
		}
		n = recvmmsg(fd, u->in, TSRV_UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("tracker: recvmmsg");
			return;
		}
		for (int i = 0; i < n; i++) {
			uint8_t addr[16];
			int family = tsrv_norm_addr((struct sockaddr *)&u->from[i], addr);
			size_t len;

			if (u->in[i].msg_hdr.msg_flags & MSG_TRUNC) {
				t->stat[TSTAT_BAD_UDP]++;
				continue;
			}
			len = tsrv_udp_one(t, u->in_buf[i], u->in[i].msg_len, family, addr,
					   u->out_buf[nout]);
			if (!len)
				continue;
			u->out_iov[nout] = (struct iovec){ u->out_buf[nout], len };
			u->out[nout].msg_hdr =
				(struct msghdr){ .msg_name = &u->from[i],
						 .msg_namelen = u->in[i].msg_hdr.msg_namelen,
						 .msg_iov = &u->out_iov[nout],
						 .msg_iovlen = 1 };
			nout++;
		}
		/* a full send buffer drops the replies, as the network could have: clients retry */
		for (unsigned sent = 0; sent < nout;) {
			int m = sendmmsg(fd, u->out + sent, nout - sent, MSG_DONTWAIT);

			if (m < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			sent += m > 0 ? (unsigned)m : 1; /* a reply the kernel refused: the next */
		}
		if (n < TSRV_UDP_BATCH)
			return;
	}
}

/* --- the API --- */

void tsrv_event(struct tsrv *t, uint32_t idx, uint32_t events, uint64_t now_ms)
{
	if (!t->enabled)
		return;
	t->now_ms = now_ms;
	if (idx & TSRV_IDX_CONN) {
		uint32_t slot = idx & ((1u << TSRV_SLOT_BITS) - 1);
		struct tsrv_conn *c = &t->conns[slot];

		if (slot < TSRV_MAX_CONNS && c->state != TC_FREE &&
		    c->gen == ((idx & ~TSRV_IDX_CONN) >> TSRV_SLOT_BITS))
			tsrv_conn_run(t, c, events);
	} else if (idx < CONF_LISTEN_MAX) {
		if (idx < t->n_listen)
			tsrv_accept(t, idx);
	} else if (idx - CONF_LISTEN_MAX < t->n_listen) {
		tsrv_udp(t, idx - CONF_LISTEN_MAX);
	}
}

void tsrv_tick(struct tsrv *t, uint64_t now_ms)
{
	if (!t->enabled)
		return;
	t->now_ms = now_ms;
	if (!t->rotate_at_ms) {
		t->rotate_at_ms = now_ms + TSRV_SECRET_MS; /* the secrets from init serve first */
	} else if (now_ms >= t->rotate_at_ms) {
		uint64_t fresh[2];

		if (getrandom(fresh, sizeof(fresh), GRND_NONBLOCK) != (ssize_t)sizeof(fresh)) {
			fresh[0] = tsrv_rand(t);
			fresh[1] = tsrv_rand(t);
		}
		memcpy(t->secret[1], t->secret[0], sizeof(t->secret[0]));
		memcpy(t->secret[0], fresh, sizeof(fresh));
		t->rotate_at_ms = now_ms + TSRV_SECRET_MS;
	}
	for (uint32_t i = 0; i < TSRV_MAX_CONNS && t->n_free < TSRV_MAX_CONNS; i++) {
		struct tsrv_conn *c = &t->conns[i];

		if (c->state == TC_FREE || now_ms < c->deadline_ms)
			continue;
		if (c->state != TC_LINGER)
			t->stat[TSTAT_HTTP_TIMEOUT]++;
		tsrv_conn_close(t, c);
	}
	tsrv_sweep(t, TSRV_SWEEP_BUDGET);
}

void tsrv_set_conf(struct tsrv *t, const struct conf *c)
{
	bool was_open = t->open;

	t->interval = (uint32_t)c->tracker_interval;
	t->min_interval = (uint32_t)c->tracker_min_interval;
	t->numwant = (uint32_t)c->tracker_numwant;
	if (t->numwant > TSRV_NUMWANT_MAX)
		t->numwant = TSRV_NUMWANT_MAX;
	t->max_swarms = (uint32_t)c->tracker_max_swarms;
	t->max_peers = (uint32_t)c->tracker_max_peers;
	t->open = c->tracker_open;
	if (t->enabled && was_open && !t->open)
		tsrv_drop_foreign(t);
}

/* A TCP listener and a UDP socket on the same address and port. */
static int tsrv_bind_pair(struct tsrv *t, const struct conf_addr *a, unsigned i, char *err,
			  size_t errlen)
{
	struct conf_addr b = *a;
	char name[80];
	int one = 1, rc = 0;

	for (int tries = 0; tries < TSRV_BIND_TRIES; tries++) {
		socklen_t sl = b.len;
		int tfd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int ufd = socket(a->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		b = *a;
		tsrv_addr_str(a, ntohs(a->in4.sin_port), name, sizeof(name));
		if (tfd < 0 || ufd < 0) {
			rc = -errno;
			tsrv_errf(err, errlen, "tracker: socket for %s: %s", name, errno);
			goto fail;
		}
		setsockopt(tfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (a->sa.sa_family == AF_INET6) {
			setsockopt(tfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			setsockopt(ufd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		}
		if (bind(tfd, &b.sa, b.len) != 0 || listen(tfd, SOMAXCONN) != 0 ||
		    getsockname(tfd, &b.sa, &sl) != 0) {
			rc = -errno;
			tsrv_errf(err, errlen, "tracker: listening on %s: %s", name, errno);
			goto fail;
		}
		if (bind(ufd, &b.sa, b.len) != 0) {
			rc = -errno;
			tsrv_errf(err, errlen, "tracker: UDP on %s: %s", name, errno);
			if (rc == -EADDRINUSE && a->in4.sin_port == 0) {
				close(tfd);
				close(ufd);
				continue; /* the kernel's TCP pick is taken in UDP: another */
			}
			goto fail;
		}
		t->tcp_fd[i] = tfd;
		t->udp_fd[i] = ufd;
		t->port[i] = ntohs(b.in4.sin_port); /* sin_port and sin6_port share the offset */
		tsrv_addr_str(a, t->port[i], name, sizeof(name));
		log_info("tracker listening on %s (HTTP and UDP)", name);
		return 0;
	fail:
		if (tfd >= 0)
			close(tfd);
		if (ufd >= 0)
			close(ufd);
		return rc;
	}
	return rc;
}

int tsrv_init(struct tsrv *t, const struct conf *c, int epfd, uint32_t kind, char *err,
	      size_t errlen)
{
	uint64_t seed[10];
	int rc = -ENOMEM;

	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < CONF_LISTEN_MAX; i++)
		t->tcp_fd[i] = t->udp_fd[i] = -1;
	t->epfd = epfd;
	t->kind = kind;
	tsrv_set_conf(t, c);
	if (!c->tracker)
		return 0;
	t->enabled = true;
	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
		rc = -errno;
		tsrv_errf(err, errlen, "tracker: %s: %s", "getrandom", errno);
		goto out_fail;
	}
	memcpy(t->rng, seed, 32);
	memcpy(t->hkey, seed + 4, 16);
	memcpy(t->secret, seed + 6, 32);
	t->out_cap = TSRV_HDR_ROOM + TSRV_BODY_MAX;
	t->out = malloc(t->out_cap);
	t->udp = malloc(sizeof(*t->udp));
	t->conns = calloc(TSRV_MAX_CONNS, sizeof(*t->conns));
	t->free_conns = calloc(TSRV_MAX_CONNS, sizeof(*t->free_conns));
	if (!t->out || !t->udp || !t->conns || !t->free_conns || tsrv_tables_init(t) != 0) {
		tsrv_errf(err, errlen, "tracker: %s: %s", "allocating", ENOMEM);
		goto out_fail;
	}
	for (uint32_t i = 0; i < TSRV_MAX_CONNS; i++) {
		t->conns[i].fd = -1;
		t->free_conns[t->n_free++] = TSRV_MAX_CONNS - 1 - i; /* slot 0 first */
	}
	for (unsigned i = 0; i < c->tracker_listen.n; i++) {
		rc = tsrv_bind_pair(t, &c->tracker_listen.addr[i], i, err, errlen);
		if (rc)
			goto out_fail;
		t->n_listen++;
		if (tsrv_watch(t, EPOLL_CTL_ADD, t->tcp_fd[i], i, EPOLLIN) ||
		    tsrv_watch(t, EPOLL_CTL_ADD, t->udp_fd[i], CONF_LISTEN_MAX + i, EPOLLIN)) {
			rc = -errno;
			tsrv_errf(err, errlen, "tracker: %s: %s", "epoll_ctl", errno);
			goto out_fail;
		}
	}
	return 0;
out_fail:
	tsrv_close(t);
	return rc;
}

uint16_t tsrv_port(const struct tsrv *t, unsigned i)
{
	return i < t->n_listen ? t->port[i] : 0;
}

void tsrv_stats(const struct tsrv *t, char *buf, size_t len)
{
	const uint64_t *s = t->stat;

	snprintf(buf, len,
		 "tracker_announces=%llu tracker_scrapes=%llu tracker_refused=%llu "
		 "tracker_refused_unknown=%llu tracker_refused_swarms=%llu "
		 "tracker_refused_peers=%llu tracker_refused_conns=%llu tracker_bad_requests=%llu "
		 "tracker_not_found=%llu tracker_bad_udp=%llu tracker_bad_conn_id=%llu "
		 "tracker_udp_connects=%llu tracker_http_timeouts=%llu tracker_http_unsent=%llu "
		 "tracker_expired=%llu "
		 "tracker_swarms=%u tracker_peers=%llu tracker_conns=%u",
		 (unsigned long long)s[TSTAT_ANNOUNCES], (unsigned long long)s[TSTAT_SCRAPES],
		 (unsigned long long)(s[TSTAT_REFUSED_UNKNOWN] + s[TSTAT_REFUSED_SWARMS] +
				      s[TSTAT_REFUSED_PEERS] + s[TSTAT_REFUSED_CONNS]),
		 (unsigned long long)s[TSTAT_REFUSED_UNKNOWN],
		 (unsigned long long)s[TSTAT_REFUSED_SWARMS],
		 (unsigned long long)s[TSTAT_REFUSED_PEERS],
		 (unsigned long long)s[TSTAT_REFUSED_CONNS],
		 (unsigned long long)s[TSTAT_BAD_REQUEST], (unsigned long long)s[TSTAT_NOT_FOUND],
		 (unsigned long long)s[TSTAT_BAD_UDP], (unsigned long long)s[TSTAT_BAD_CONN_ID],
		 (unsigned long long)s[TSTAT_UDP_CONNECTS],
		 (unsigned long long)s[TSTAT_HTTP_TIMEOUT],
		 (unsigned long long)s[TSTAT_HTTP_UNSENT], (unsigned long long)s[TSTAT_EXPIRED],
		 t->n_swarms, (unsigned long long)t->n_peers,
		 t->conns ? TSRV_MAX_CONNS - t->n_free : 0);
}

void tsrv_close(struct tsrv *t)
{
	for (uint32_t i = 0; t->conns && i < TSRV_MAX_CONNS; i++)
		if (t->conns[i].state != TC_FREE)
			tsrv_conn_close(t, &t->conns[i]);
	for (unsigned i = 0; i < CONF_LISTEN_MAX; i++) {
		if (t->tcp_fd[i] >= 0)
			close(t->tcp_fd[i]);
		if (t->udp_fd[i] >= 0)
			close(t->udp_fd[i]);
		t->tcp_fd[i] = t->udp_fd[i] = -1;
	}
	tsrv_tables_free(t);
	free(t->conns);
	free(t->free_conns);
	free(t->out);
	free(t->udp);
	t->conns = NULL;
	t->free_conns = NULL;
	t->out = NULL;
	t->udp = NULL;
	t->n_listen = 0;
	t->n_free = 0;
	t->enabled = false;
}
