/*
 * announce_http.c - HTTP and HTTPS announces and scrapes (BEP 3, BEP 23,
 * BEP 48) through one libcurl multi handle driven by the master's epoll loop.
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION: they go into
 * the master's epoll set with our kind) and when to call it back
 * (CURLMOPT_TIMERFUNCTION: one timerfd, also in that set); the master hands
 * the events to ann_event, which calls curl_multi_socket_action. No thread of
 * ours, no blocking call; curl's own resolver thread does the DNS. The multi
 * handle's connection cache keeps connections to a tracker alive between
 * announces; CURLMOPT_MAX_HOST_CONNECTIONS matches announce.per_host.
 *
 * Each slot keeps its easy handle and reply buffer for the next exchange.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/announce/announce_int.h"
#include "proto/bytes.h"

#define ANN_USER_AGENT "ringseed/0.1"

/* CURLMOPT_SOCKETFUNCTION: curl's interest in a socket, mirrored in the master's epoll set. */
static int ann_curl_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct announcer *a = userp;
	struct epoll_event ev = { .data.u64 =
					  ((uint64_t)a->kind << 32) | ANN_IDX_CURL | (uint32_t)fd };

	(void)e;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(a->epfd, EPOLL_CTL_DEL, fd, NULL); /* ENOENT, EBADF: already gone */
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(a->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return 0;
	if (errno == ENOENT && epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
		return 0;
	log_warn("announce: epoll_ctl for a tracker connection (fd %d)", fd);
	return -1;
}

/* CURLMOPT_TIMERFUNCTION: -1 disarms, 0 means as soon as possible. */
static int ann_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct announcer *a = userp;
	struct itimerspec its = { 0 };

	(void)m;
	if (timeout_ms >= 0) {
		its.it_value.tv_sec = timeout_ms / 1000;
		its.it_value.tv_nsec = (timeout_ms % 1000) * 1000000L;
		if (timeout_ms == 0)
			its.it_value.tv_nsec = 1;
	}
	if (timerfd_settime(a->timerfd, 0, &its, NULL) != 0) {
		log_warn("announce: timerfd_settime");
		return -1;
	}
	return 0;
}

static size_t ann_http_write(char *p, size_t size, size_t n, void *arg)
{
	struct ann_slot *s = arg;
	size_t len = size * n, cap = s->cap ? s->cap : 4096;

	if (len > ANN_HTTP_MAX_REPLY - s->len) {
		s->too_big = true;
		return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
	}
	while (cap < s->len + len)
		cap *= 2;
	if (cap != s->cap) {
		uint8_t *b = realloc(s->buf, cap);

		if (!b)
			return 0;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, len);
	s->len += len;
	return len;
}

/* The transfer of one exchange: options set afresh each time, the connection cache kept. */
static int ann_http_start(struct announcer *a, struct ann_slot *s, const char *url, uint8_t phase)
{
	const struct ann_family *fa = &a->fam[s->job->fam];
	CURL *e;

	if (s->easy)
		curl_easy_reset(s->easy);
	else if (!(s->easy = curl_easy_init())) {
		snprintf(s->errbuf, sizeof(s->errbuf), "curl_easy_init failed");
		return -1;
	}
	e = s->easy;
	s->len = 0;
	s->too_big = false;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, s);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, ann_http_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms); /* stop_timeout cuts sooner */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)ANN_HTTP_MAX_REDIRS);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, ANN_USER_AGENT);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_IPRESOLVE,
			 fa->af == AF_INET6 ? CURL_IPRESOLVE_V6 : CURL_IPRESOLVE_V4);
	if (fa->bind)
		curl_easy_setopt(e, CURLOPT_INTERFACE, fa->iface);
	s->errbuf[0] = '\0';
	if (curl_multi_add_handle(a->multi, e) != CURLM_OK) {
		snprintf(s->errbuf, sizeof(s->errbuf), "curl_multi_add_handle failed");
		return -1;
	}
	s->in_multi = true;
	s->phase = phase;
	return 0;
}

int ann_http_announce(struct announcer *a, struct ann_slot *s)
{
	char url[TRK_MAX_URL];

	if (trk_http_announce_url(url, sizeof(url), s->tr->url, &s->ta) < 0) {
		snprintf(s->errbuf, sizeof(s->errbuf), "announce URL too long or not usable");
		return -1;
	}
	return ann_http_start(a, s, url, PH_HTTP_ANNOUNCE);
}

/* BEP 48: the scrape URL plus info_hash, percent-encoded. */
int ann_http_scrape(struct announcer *a, struct ann_slot *s)
{
	char url[TRK_MAX_URL];
	size_t n;

	if (trk_http_scrape_url(url, sizeof(url), s->tr->url) != 0 ||
	    (n = strlen(url)) + 12 + 3 * 20 >= sizeof(url)) {
		snprintf(s->errbuf, sizeof(s->errbuf), "no scrape URL (BEP 48)");
		return -1;
	}
	n += (size_t)sprintf(url + n, "%cinfo_hash=", strchr(url, '?') ? '&' : '?');
	for (int i = 0; i < 20; i++)
		n += pct_encode_byte(url + n, s->ta.info_hash[i]);
	url[n] = '\0';
	return ann_http_start(a, s, url, PH_HTTP_SCRAPE);
}

void ann_http_end(struct announcer *a, struct ann_slot *s)
{
	if (s->in_multi)
		curl_multi_remove_handle(a->multi, s->easy);
	s->in_multi = false;
}

static void ann_http_scraped(struct announcer *a, struct ann_slot *s, long status)
{
	struct trk_scrape sc;
	const char *why = NULL;
	char what[64];
	int rc;

	if (status != 200) {
		snprintf(what, sizeof(what), "HTTP %ld", status);
		if (status == 404 || status == 400 || status == 501)
			s->tr->no_scrape = true; /* the tracker has no scrape */
		ann_scrape_result(a, s, NULL, what);
		return;
	}
	rc = trk_http_parse_scrape(s->buf, s->len, s->ta.info_hash, &sc, &why);
	ann_scrape_result(a, s, rc ? NULL : &sc, rc ? why : NULL);
}

static void ann_http_announced(struct announcer *a, struct ann_slot *s, long status)
{
	struct trk_peer peers[8];
	struct trk_reply r = { .peers = peers, .max_peers = 8 };
	struct ann_reply ar;
	const char *why = "?";

	if (status != 200) {
		ann_exchange_fail(a, s, "HTTP %ld", status);
		return;
	}
	if (trk_http_parse_announce(s->buf, s->len, &r, &why) != 0) {
		ann_exchange_fail(a, s, "malformed reply (%zu bytes): %s", s->len, why);
		return;
	}
	if (r.failure) {
		ann_exchange_fail(a, s, "failure reason \"%.*s\"",
				  (int)(r.failure_len > 200 ? 200 : r.failure_len), r.failure);
		return;
	}
	ar = (struct ann_reply){
		.interval = r.interval,
		.min_interval = r.min_interval,
		.seeders = r.complete,
		.leechers = r.incomplete,
		.peers = r.peers4 + r.peers6 + r.peers_skipped,
		.warning = r.warning,
		.warning_len = r.warning_len,
		.tracker_id = r.tracker_id,
		.tracker_id_len = r.tracker_id_len,
	};
	ann_exchange_ok(a, s, &ar);
}

/* One transfer finished: what it means goes to announce.c. */
static void ann_http_done(struct announcer *a, struct ann_slot *s, CURLcode rc)
{
	long status = 0, redirects = 0;
	char *eff = NULL;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(s->easy, CURLINFO_REDIRECT_COUNT, &redirects);
	if (redirects && !s->tr->redirect_logged &&
	    curl_easy_getinfo(s->easy, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff) {
		s->tr->redirect_logged = true;
		log_info("announce: %s redirects to %.*s", s->tr->url, (int)strcspn(eff, "?"), eff);
	}
	if (rc != CURLE_OK) {
		char what[CURL_ERROR_SIZE + 64];

		if (s->too_big)
			snprintf(what, sizeof(what), "reply longer than %u bytes",
				 ANN_HTTP_MAX_REPLY);
		else
			snprintf(what, sizeof(what), "curl: %s%s%s%s", curl_easy_strerror(rc),
				 s->errbuf[0] ? " (" : "", s->errbuf, s->errbuf[0] ? ")" : "");
		if (s->phase == PH_HTTP_SCRAPE)
			ann_scrape_result(a, s, NULL, what);
		else
			ann_exchange_fail(a, s, "%s", what);
		return;
	}
	if (s->phase == PH_HTTP_SCRAPE)
		ann_http_scraped(a, s, status);
	else
		ann_http_announced(a, s, status);
}

static void ann_http_harvest(struct announcer *a)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(a->multi, &left))) {
		struct ann_slot *s = NULL;
		CURLcode rc = m->data.result;
		CURL *e = m->easy_handle;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&s);
		curl_multi_remove_handle(a->multi, e);
		s->in_multi = false;
		ann_http_done(a, s, rc);
	}
}

void ann_http_event(struct announcer *a, int fd, uint32_t events)
{
	int flags = 0, running;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(a->multi, fd, flags, &running);
	ann_http_harvest(a);
}

void ann_http_timer(struct announcer *a)
{
	uint64_t n;
	int running;

	(void)!read(a->timerfd, &n, sizeof(n));
	curl_multi_socket_action(a->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	ann_http_harvest(a);
}

int ann_http_init(struct announcer *a, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.u64 = ((uint64_t)a->kind << 32) | ANN_IDX_TIMER };

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "announce: curl_global_init failed");
		return -EIO;
	}
	a->curl_global = true;
	a->multi = curl_multi_init();
	a->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!a->multi || a->timerfd < 0 ||
	    epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->timerfd, &ev) != 0) {
		snprintf(err, errlen, "announce: setting up curl: %s",
			 a->multi ? strerror(errno) : "curl_multi_init failed");
		return -EIO;
	}
	curl_multi_setopt(a->multi, CURLMOPT_SOCKETFUNCTION, ann_curl_socket);
	curl_multi_setopt(a->multi, CURLMOPT_SOCKETDATA, a);
	curl_multi_setopt(a->multi, CURLMOPT_TIMERFUNCTION, ann_curl_timer);
	curl_multi_setopt(a->multi, CURLMOPT_TIMERDATA, a);
	curl_multi_setopt(a->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)a->per_host);
	curl_multi_setopt(a->multi, CURLMOPT_MAXCONNECTS,
			  (long)(a->in_flight_max < 1024 ? a->in_flight_max : 1024));
	return 0;
}

/* Shutdown: the per-host cap is lifted to in_flight, curl's own limit with it. */
void ann_http_stopping(struct announcer *a)
{
	curl_multi_setopt(a->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)a->in_flight_max);
}

void ann_http_close(struct announcer *a)
{
	for (uint32_t i = 0; a->slots && i < a->in_flight_max; i++) {
		struct ann_slot *s = &a->slots[i];

		if (s->in_multi)
			curl_multi_remove_handle(a->multi, s->easy);
		if (s->easy)
			curl_easy_cleanup(s->easy);
		free(s->buf);
		s->easy = NULL;
		s->buf = NULL;
		s->in_multi = false;
	}
	if (a->multi)
		curl_multi_cleanup(a->multi); /* closes the kept connections */
	a->multi = NULL;
	if (a->timerfd >= 0)
		close(a->timerfd);
	a->timerfd = -1;
	if (a->curl_global)
		curl_global_cleanup();
	a->curl_global = false;
}
