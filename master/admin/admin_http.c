/*
 * admin_http.c - the admin endpoint's sockets and HTTP; see admin.h.
 *
 * epoll data: idx < CONF_LISTEN_MAX is a listener, ADMIN_IDX_CONN | slot a
 * connection. One request per connection keeps the state small: the whole
 * response is built at once, written as far as the socket takes it, and the
 * rest waits for EPOLLOUT; the connection closes when it is gone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "master/admin/admin.h"

#define ADMIN_IDX_CONN 0x40000000u
#define ADMIN_BACKLOG  128

enum admin_conn_state {
	AC_FREE,    /* slot unused */
	AC_READING, /* the request is arriving */
	AC_WRITING, /* the response is partly sent */
};

/* ---- the request parser (http-parser underneath) ---- */

static int admin_on_url(http_parser *p, const char *at, size_t len)
{
	struct admin_req *r = p->data;
	size_t have = strlen(r->target);

	if (have + len >= sizeof(r->target)) {
		r->target_too_long = true;
		return 0;
	}
	memcpy(r->target + have, at, len);
	r->target[have + len] = '\0';
	return 0;
}

static int admin_on_headers_complete(http_parser *p)
{
	struct admin_req *r = p->data;

	r->done = true;
	r->method = p->method;
	return 1; /* no body is read: skip it */
}

static int admin_on_message_complete(http_parser *p)
{
	http_parser_pause(p, 1); /* one request per connection */
	return 0;
}

static const http_parser_settings admin_settings = {
	.on_url = admin_on_url,
	.on_headers_complete = admin_on_headers_complete,
	.on_message_complete = admin_on_message_complete,
};

void admin_req_init(struct admin_req *r)
{
	memset(r, 0, sizeof(*r));
	http_parser_init(&r->p, HTTP_REQUEST);
	r->p.data = r;
}

enum admin_parse admin_req_feed(struct admin_req *r, const char *buf, size_t len, size_t *fed)
{
	if (*fed < len && !r->done) {
		size_t n = http_parser_execute(&r->p, &admin_settings, buf + *fed, len - *fed);
		enum http_errno e = HTTP_PARSER_ERRNO(&r->p);

		*fed += n;
		if (!r->done && e != HPE_OK && e != HPE_PAUSED)
			return ADMIN_PARSE_BAD;
	}
	if (r->done)
		return r->target_too_long ? ADMIN_PARSE_BAD : ADMIN_PARSE_DONE;
	return len >= ADMIN_REQ_MAX ? ADMIN_PARSE_TOO_BIG : ADMIN_PARSE_MORE;
}

/* ---- buffers ---- */

void admin_buf_put(struct admin_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > ADMIN_RESP_MAX || !(p = realloc(b->p, cap))) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void admin_buf_printf(struct admin_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		admin_buf_put(b, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);

	if (!big) {
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	admin_buf_put(b, big, (size_t)n);
	free(big);
}

/* ---- connections ---- */

static void admin_conn_close(struct admin *a, unsigned slot, int stat)
{
	struct admin_conn *c = &a->conns[slot];

	if (stat >= 0)
		a->stat[stat]++;
	close(c->fd);
	free(c->wbuf);
	c->wbuf = NULL;
	c->fd = -1;
	c->state = AC_FREE;
	a->n_conns--;
}

/*
 * Full: the connection still reading with the nearest deadline makes room,
 * so that a crowd of idle or slow clients delays an operator's scrape by
 * nothing; the one pushed out is counted as refused. -EBUSY when every slot
 * is writing a response.
 */
static int admin_evict(struct admin *a)
{
	int best = -1;

	for (unsigned i = 0; i < ADMIN_MAX_CONNS; i++) {
		const struct admin_conn *c = &a->conns[i];

		if (c->fd >= 0 && c->state == AC_READING &&
		    (best < 0 || c->deadline_ms < a->conns[best].deadline_ms))
			best = (int)i;
	}
	if (best < 0)
		return -EBUSY;
	admin_conn_close(a, (unsigned)best, ASTAT_REFUSED_CONNS);
	return 0;
}

static void admin_accept(struct admin *a, unsigned li, uint64_t now_ms)
{
	int fd;

	while ((fd = accept4(a->listen_fd[li], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		unsigned slot = 0;

		if (a->n_conns == ADMIN_MAX_CONNS && admin_evict(a) != 0) {
			close(fd);
			a->stat[ASTAT_REFUSED_CONNS]++;
			continue;
		}
		while (a->conns[slot].fd >= 0)
			slot++;
		struct admin_conn *c = &a->conns[slot];
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
					  .data.u64 = (uint64_t)a->kind << 32 |
						      (ADMIN_IDX_CONN | slot) };

		c->fd = fd;
		c->state = AC_READING;
		c->deadline_ms = now_ms + ADMIN_DEADLINE_MS;
		c->len = c->fed = 0;
		c->wlen = c->woff = 0;
		admin_req_init(&c->req);
		a->n_conns++;
		if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
			admin_conn_close(a, slot, -1);
	}
}

/* Sends what the socket takes; the rest waits for EPOLLOUT. */
static void admin_conn_write(struct admin *a, unsigned slot)
{
	struct admin_conn *c = &a->conns[slot];

	while (c->woff < c->wlen) {
		ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (c->state != AC_WRITING) {
				struct epoll_event ev = {
					.events = EPOLLOUT,
					.data.u64 = (uint64_t)a->kind << 32 | (ADMIN_IDX_CONN | slot)
				};

				c->state = AC_WRITING;
				epoll_ctl(a->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			}
			return;
		}
		if (n <= 0) {
			admin_conn_close(a, slot, -1);
			return;
		}
		c->woff += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	admin_conn_close(a, slot, -1);
}

static void admin_respond(struct admin *a, unsigned slot, int code, const char *ctype,
			  const struct admin_buf *body, bool head)
{
	static const char *const reason[] = { [200] = "OK",
					      [400] = "Bad Request",
					      [404] = "Not Found",
					      [405] = "Method Not Allowed",
					      [431] = "Request Header Fields Too Large",
					      [500] = "Internal Server Error",
					      [503] = "Service Unavailable" };
	struct admin_conn *c = &a->conns[slot];
	struct admin_buf out = { 0 };
	size_t blen = body && body->p ? body->len : 0;

	admin_buf_printf(&out,
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
			 code, reason[code], ctype, blen);
	if (blen && !head)
		admin_buf_put(&out, body->p, blen);
	if (out.oom) {
		free(out.p);
		admin_conn_close(a, slot, -1);
		return;
	}
	c->wbuf = out.p;
	c->wlen = out.len;
	c->woff = 0;
	admin_conn_write(a, slot);
}

static void admin_respond_text(struct admin *a, unsigned slot, int code, const char *text)
{
	struct admin_buf b = { .p = (char *)text, .len = strlen(text) };

	admin_respond(a, slot, code, "text/plain; charset=utf-8", &b, false);
}

static void admin_snap_reset(struct admin_snap *s)
{
	s->n_w = s->n_t = s->n_tr = s->n_s = 0;
	s->oom = false;
	s->phase = "serving";
	s->version = "";
	s->uptime = s->up_rate = 0;
}

/* A complete request: route it, render, answer. */
static void admin_serve(struct admin *a, unsigned slot)
{
	struct admin_conn *c = &a->conns[slot];
	struct admin_buf body = { 0 };
	const char *ctype = "text/plain; charset=utf-8";
	char *q = strchr(c->req.target, '?');
	bool head = c->req.method == HTTP_HEAD;
	int code = 200;

	if (c->req.method != HTTP_GET && !head) {
		a->stat[ASTAT_BAD_REQUEST]++;
		admin_respond_text(a, slot, 405, "GET only\n");
		return;
	}
	if (q)
		*q++ = '\0';
	if (strcmp(c->req.target, "/metrics") && strcmp(c->req.target, "/status") &&
	    strcmp(c->req.target, "/healthz")) {
		a->stat[ASTAT_NOT_FOUND]++;
		admin_respond_text(a, slot, 404, "not found: try /metrics, /status, /healthz\n");
		return;
	}
	a->stat[ASTAT_REQUESTS]++;
	admin_snap_reset(&a->snap);
	a->src.fill(a->src.arg, &a->snap);
	admin_samples(a, &a->snap);
	if (!strcmp(c->req.target, "/healthz")) {
		code = strcmp(a->snap.phase, "serving") ? 503 : 200;
		admin_buf_printf(&body, "%s\n", a->snap.phase);
	} else if (!strcmp(c->req.target, "/metrics")) {
		ctype = "text/plain; version=0.0.4; charset=utf-8";
		admin_render_metrics(&a->snap, a->torrent_series, &body);
	} else if (q && !strcmp(q, "format=text")) {
		admin_render_text(&a->snap, &body);
	} else {
		ctype = "application/json";
		admin_render_json(&a->snap, &body);
	}
	if (body.oom || a->snap.oom) {
		free(body.p);
		admin_respond_text(a, slot, 500, "out of memory\n");
		return;
	}
	admin_respond(a, slot, code, ctype, &body, head);
	free(body.p);
}

static void admin_conn_read(struct admin *a, unsigned slot)
{
	struct admin_conn *c = &a->conns[slot];

	for (;;) {
		ssize_t n = recv(c->fd, c->rbuf + c->len, sizeof(c->rbuf) - c->len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			admin_conn_close(a, slot, ASTAT_ABORTED);
			return;
		}
		c->len += (size_t)n;
		switch (admin_req_feed(&c->req, c->rbuf, c->len, &c->fed)) {
		case ADMIN_PARSE_MORE:
			if (c->len < sizeof(c->rbuf))
				continue;
			__attribute__((fallthrough)); /* full buffer, no end of headers */
		case ADMIN_PARSE_TOO_BIG:
			a->stat[ASTAT_TOO_BIG]++;
			admin_respond_text(a, slot, 431, "request too large\n");
			return;
		case ADMIN_PARSE_BAD:
			a->stat[ASTAT_BAD_REQUEST]++;
			admin_respond_text(a, slot, 400, "bad request\n");
			return;
		case ADMIN_PARSE_DONE:
			admin_serve(a, slot);
			return;
		}
	}
}

void admin_event(struct admin *a, uint32_t idx, uint32_t events, uint64_t now_ms)
{
	unsigned slot = idx & ~ADMIN_IDX_CONN;

	if (!(idx & ADMIN_IDX_CONN)) {
		if (idx < a->n_listen)
			admin_accept(a, idx, now_ms);
		return;
	}
	if (slot >= ADMIN_MAX_CONNS || a->conns[slot].fd < 0)
		return;
	if (a->conns[slot].state == AC_WRITING)
		admin_conn_write(a, slot);
	else if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
		admin_conn_read(a, slot);
}

void admin_tick(struct admin *a, uint64_t now_ms)
{
	for (unsigned i = 0; i < ADMIN_MAX_CONNS && a->n_conns; i++)
		if (a->conns[i].fd >= 0 && now_ms >= a->conns[i].deadline_ms)
			admin_conn_close(a, i, ASTAT_TIMEOUT);
}

void admin_samples(const struct admin *a, struct admin_snap *s)
{
	static const char *const why[ASTAT_MAX] = {
		[ASTAT_REFUSED_CONNS] = "conns", [ASTAT_TOO_BIG] = "too_big",
		[ASTAT_BAD_REQUEST] = "bad_request", [ASTAT_NOT_FOUND] = "not_found",
		[ASTAT_TIMEOUT] = "timeout", [ASTAT_ABORTED] = "aborted",
	};

	admin_snap_sample(s, "admin_requests_total", "Admin requests answered (200 or 503).",
			  ADMIN_COUNTER, a->stat[ASTAT_REQUESTS], NULL);
	for (int i = ASTAT_REFUSED_CONNS; i < ASTAT_MAX; i++)
		admin_snap_sample(s, "admin_refused_total",
				  "Admin connections refused or closed, by reason.", ADMIN_COUNTER,
				  a->stat[i], "reason=\"%s\"", why[i]);
	admin_snap_sample(s, "admin_connections", "Admin connections open now.", ADMIN_GAUGE,
			  a->n_conns, NULL);
}

static void admin_addr_str(const struct conf_addr *ad, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (ad->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ad->in6.sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(ad->in6.sin6_port));
	} else {
		inet_ntop(AF_INET, &ad->in4.sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(ad->in4.sin_port));
	}
}

int admin_init(struct admin *a, const struct conf *c, int epfd, uint32_t kind,
	       struct admin_source src, char *err, size_t errlen)
{
	int one = 1;

	memset(a, 0, sizeof(*a));
	a->epfd = epfd;
	a->kind = kind;
	a->src = src;
	a->torrent_series = (uint32_t)c->admin_torrent_series;
	if (!c->admin_listen.n)
		return 0;
	a->conns = calloc(ADMIN_MAX_CONNS, sizeof(*a->conns));
	if (!a->conns) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < ADMIN_MAX_CONNS; i++)
		a->conns[i].fd = -1;
	a->enabled = true;
	for (unsigned i = 0; i < c->admin_listen.n; i++) {
		const struct conf_addr *ad = &c->admin_listen.addr[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)kind << 32 | i };
		char name[80];
		int fd = socket(ad->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		admin_addr_str(ad, name, sizeof(name));
		if (fd >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (ad->sa.sa_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		}
		if (fd < 0 || bind(fd, &ad->sa, ad->len) != 0 || listen(fd, ADMIN_BACKLOG) != 0 ||
		    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			int e = errno;

			snprintf(err, errlen, "admin.listen %s: %s", name, strerror(e));
			if (fd >= 0)
				close(fd);
			return -e;
		}
		a->listen_fd[a->n_listen++] = fd;
	}
	return 0;
}

uint16_t admin_port(const struct admin *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!a->n_listen || getsockname(a->listen_fd[0], (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

void admin_close(struct admin *a)
{
	for (unsigned i = 0; i < a->n_listen; i++)
		close(a->listen_fd[i]);
	a->n_listen = 0;
	for (unsigned i = 0; a->conns && i < ADMIN_MAX_CONNS; i++)
		if (a->conns[i].fd >= 0)
			admin_conn_close(a, i, -1);
	free(a->conns);
	a->conns = NULL;
	free(a->snap.w);
	free(a->snap.t);
	free(a->snap.tr);
	free(a->snap.s);
	memset(&a->snap, 0, sizeof(a->snap));
}
