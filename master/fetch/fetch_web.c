/*
 * fetch_web.c - BEP 19 web seeds: whole pieces by HTTP Range requests,
 * beside the peers.
 *
 * Each usable `url-list` entry (http:// or https://) is a web seed with up to
 * FWEB_JOBS pieces in flight. A job is one piece: one Range request per file
 * the piece touches (proto/webseed.h names the URL), its bytes into a buffer
 * of its own. When every part is in, the bytes go into the piece's act[] slot
 * and through fetch_piece_complete(), the path peer blocks take: SHA-1, the
 * io_uring writes, `have`. A web seed takes only pieces nobody is fetching
 * (FPS_WANTED), rarest first among the peers' (so it adds what the swarm
 * lacks), and owns them whole; peers touch its blocks only in the endgame.
 *
 * libcurl runs on the fetcher's own loop without blocking it: its sockets go
 * into an epoll set (CURLMOPT_SOCKETFUNCTION), and that one epoll fd is
 * polled through io_uring (POLL_ADD, FOP_WEB); when it fires,
 * curl_multi_socket_action() runs for each ready socket. curl's timer
 * (CURLMOPT_TIMERFUNCTION) is checked on every pass of the loop, which wakes
 * at least every FETCH_TICK_MS. A timer tick calling curl_multi_perform()
 * would cap each transfer at a socket buffer per tick; this way data is read
 * as it arrives.
 *
 * A bad source: a piece that fails its hash bans the web seed for
 * FWEB_BAN_MS, doubling at each ban (BEP 19 says to drop the URL; a while
 * lets a fixed origin back). A 200 for a range (the whole file would follow:
 * refused at its first byte, unless the range was the whole file, a small
 * file inside a piece, when the 200 is exactly what was asked), a Content-Range or length that is not what was
 * asked, a redirect loop (CURLOPT_MAXREDIRS), an HTTP error, a stall
 * (CURLOPT_LOW_SPEED_*, fetch.request_timeout) or a connect failure end the
 * job: its piece goes back to the picker, the seed backs off (FWEB_RETRY_MS,
 * doubling up to FWEB_RETRY_MAX_MS), the case is counted and logged once per
 * seed with its URL.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <curl/curl.h>

#include "iocore/clock.h"
#include "iocore/log.h"
#include "iocore/ring.h"
#include "master/fetch/fetch_int.h"
#include "proto/webseed.h"

#define FWEB_MAX	  16	   /* web seeds used; more are ignored */
#define FWEB_JOBS	  2	   /* pieces in flight per web seed */
#define FWEB_PARTS	  16	   /* files one piece may span; beyond, the piece is left to peers */
#define FWEB_BAN_MS	  60000u   /* first ban for a bad piece; doubles */
#define FWEB_BAN_MAX_MS	  3600000u
#define FWEB_RETRY_MS	  1000u	   /* first back-off after a failed request; doubles */
#define FWEB_RETRY_MAX_MS 60000u
#define FWEB_MAXREDIRS	  5
#define FWEB_LOW_SPEED	  1024 /* bytes/s below which, for request_timeout, a transfer stalls */
#define FWEB_URL_MAX	  (3 * (MI_MAX_PATH + MI_MAX_COMPONENT) + 2048)
#define FWEB_EVENTS	  32

enum fweb_why {
	FW_OK,
	FW_NO_RANGE,  /* 200: the server ignored the Range */
	FW_LENGTH,    /* Content-Range or length not what was asked */
	FW_REDIRECTS, /* more than FWEB_MAXREDIRS */
	FW_STATUS,    /* another HTTP status: 404, 5xx, ... */
	FW_STALL,     /* slower than FWEB_LOW_SPEED for request_timeout */
	FW_FAIL,      /* connect or transfer error */
	FW_HASH,      /* the piece failed its SHA-1 */
	FW_MAX
};

static const struct {
	enum fetch_counter c;
	const char *what;
} fweb_whys[FW_MAX] = {
	[FW_NO_RANGE] = { FC_WEB_NO_RANGE, "answered a range with 200 (no range support)" },
	[FW_LENGTH] = { FC_WEB_BAD_LENGTH, "sent another range or length than asked" },
	[FW_REDIRECTS] = { FC_WEB_REDIRECTS, "redirects in a loop" },
	[FW_STATUS] = { FC_WEB_HTTP_ERRORS, "HTTP error" },
	[FW_STALL] = { FC_WEB_STALLS, "stalled" },
	[FW_FAIL] = { FC_WEB_FAILS, "request failed" },
	[FW_HASH] = { FC_WEB_BANS, "sent a piece that failed its hash check: banned" },
};

struct fweb_job;

/* One Range request: a run of one file. */
struct fweb_part {
	CURL *h;
	struct fweb_job *job;
	uint64_t file_off;
	uint32_t file;
	uint32_t off, len, got; /* in the piece */
	bool range_bad;		/* a Content-Range that is not ours */
	bool whole;		/* the range is the whole file: a 200 is what we asked */
	enum fweb_why why;
	long status;
};

struct fweb_job {
	bool used;
	uint32_t piece, size, left;
	uint8_t *buf;
	enum fweb_why why;
	long status;
	struct fweb_part parts[FWEB_PARTS];
	uint32_t nparts;
};

struct fweb_seed {
	const char *url;
	uint64_t retry_ms, backoff_ms, ban_ms;
	uint32_t logged; /* 1 << enum fweb_why already said */
	struct fweb_job jobs[FWEB_JOBS];
};

struct fetch_web {
	CURLM *multi;
	int epfd;
	bool armed;	   /* a POLL_ADD on epfd is in flight */
	uint64_t timer_at; /* curl's timeout, clock_ms; UINT64_MAX: none */
	struct fweb_seed seeds[FWEB_MAX];
	uint32_t n;
	struct fetch *f;
};

/* The owner id of web seed w in act[] (peers' sources are >= 0, -1 is anyone). */
static int fweb_id(uint32_t w)
{
	return -2 - (int)w;
}

static int fweb_sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct fetch_web *web = userp;
	struct epoll_event ev = { .data.fd = s };

	(void)e;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(web->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(web->epfd, EPOLL_CTL_MOD, s, &ev) != 0 &&
	    epoll_ctl(web->epfd, EPOLL_CTL_ADD, s, &ev) != 0)
		log_warn("fetch: web seeds: epoll_ctl");
	return 0;
}

static int fweb_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct fetch_web *web = userp;

	(void)m;
	web->timer_at = timeout_ms < 0 ? UINT64_MAX : clock_ms() + (uint64_t)timeout_ms;
	return 0;
}

static size_t fweb_header_cb(char *d, size_t sz, size_t n, void *ud)
{
	struct fweb_part *p = ud;
	size_t len = sz * n;
	unsigned long long a, b;
	char line[128];

	if (len >= 5 && memcmp(d, "HTTP/", 5) == 0) {
		p->range_bad = false; /* a new response (after a redirect) */
		return len;
	}
	if (len < 14 || strncasecmp(d, "content-range:", 14) != 0)
		return len;
	snprintf(line, sizeof(line), "%.*s", (int)(len - 14), d + 14);
	if (sscanf(line, " bytes %llu-%llu", &a, &b) != 2 || a != p->file_off ||
	    b != p->file_off + p->len - 1)
		p->range_bad = true;
	return len;
}

/* Returning less than given aborts the transfer (CURLE_WRITE_ERROR). */
static size_t fweb_write_cb(char *d, size_t sz, size_t n, void *ud)
{
	struct fweb_part *p = ud;
	size_t len = sz * n;

	curl_easy_getinfo(p->h, CURLINFO_RESPONSE_CODE, &p->status);
	if (p->status == 200 && !p->whole) {
		p->why = FW_NO_RANGE; /* the whole file would follow: not read */
		return 0;
	}
	if (p->status != 206 && p->status != 200) {
		p->why = FW_STATUS;
		return 0;
	}
	if (p->range_bad || len > p->len - p->got) {
		p->why = FW_LENGTH;
		return 0;
	}
	memcpy(p->job->buf + p->off + p->got, d, len);
	p->got += (uint32_t)len;
	return len;
}

static int fweb_part_start(struct fetch *f, struct fweb_seed *s, struct fweb_part *p)
{
	static char url[FWEB_URL_MAX];
	char range[64];
	long stall = f->request_timeout_ms / 1000;

	if (ws_file_url(s->url, f->mi, p->file, url, sizeof(url)) < 0)
		return -ENAMETOOLONG;
	p->h = curl_easy_init();
	if (!p->h)
		return -ENOMEM;
	snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)p->file_off,
		 (unsigned long long)(p->file_off + p->len - 1));
	curl_easy_setopt(p->h, CURLOPT_URL, url);
	curl_easy_setopt(p->h, CURLOPT_RANGE, range);
	curl_easy_setopt(p->h, CURLOPT_PRIVATE, p);
	curl_easy_setopt(p->h, CURLOPT_WRITEFUNCTION, fweb_write_cb);
	curl_easy_setopt(p->h, CURLOPT_WRITEDATA, p);
	curl_easy_setopt(p->h, CURLOPT_HEADERFUNCTION, fweb_header_cb);
	curl_easy_setopt(p->h, CURLOPT_HEADERDATA, p);
	curl_easy_setopt(p->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(p->h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(p->h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(p->h, CURLOPT_MAXREDIRS, (long)FWEB_MAXREDIRS);
	curl_easy_setopt(p->h, CURLOPT_CONNECTTIMEOUT_MS, (long)FETCH_CONNECT_MS);
	curl_easy_setopt(p->h, CURLOPT_LOW_SPEED_LIMIT, (long)FWEB_LOW_SPEED);
	curl_easy_setopt(p->h, CURLOPT_LOW_SPEED_TIME, stall > 0 ? stall : 1L);
	curl_easy_setopt(p->h, CURLOPT_USERAGENT, "ringseed/" FETCH_PEER_ID_PREFIX);
	if (f->bind_src) {
		char ifc[INET6_ADDRSTRLEN + 8];

		snprintf(ifc, sizeof(ifc), "host!%s", f->src_host);
		curl_easy_setopt(p->h, CURLOPT_INTERFACE, ifc);
	}
	if (curl_multi_add_handle(f->web->multi, p->h) != CURLM_OK) {
		curl_easy_cleanup(p->h);
		p->h = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* The piece's runs per file: one part each (pad files are zeros, asked of nobody). */
static int fweb_job_parts(struct fetch *f, struct fweb_job *j)
{
	struct mi_extent ext[FWEB_PARTS];
	int n = mi_map(f->mi, j->piece, 0, j->size, ext, FWEB_PARTS);

	if (n <= 0)
		return n < 0 ? n : -EIO;
	j->nparts = 0;
	for (uint32_t i = 0, off = 0; i < (uint32_t)n; off += ext[i].length, i++) {
		if (f->mi->files[ext[i].file].pad) {
			memset(j->buf + off, 0, ext[i].length);
			continue;
		}
		j->parts[j->nparts++] = (struct fweb_part){
			.job = j, .file = ext[i].file, .file_off = ext[i].offset, .off = off,
			.len = ext[i].length,
			.whole = ext[i].offset == 0 && ext[i].length == f->mi->files[ext[i].file].length,
		};
	}
	return 0;
}

static void fweb_job_stop(struct fetch *f, struct fweb_job *j)
{
	for (uint32_t i = 0; i < j->nparts; i++) {
		if (j->parts[i].h) {
			curl_multi_remove_handle(f->web->multi, j->parts[i].h);
			curl_easy_cleanup(j->parts[i].h);
			j->parts[i].h = NULL;
		}
	}
	free(j->buf);
	j->buf = NULL;
	j->used = false;
}

/* The piece for a web seed: not being fetched, rarest among peers, ties at random. */
static uint32_t fweb_pick(struct fetch *f)
{
	uint32_t best = UINT32_MAX, best_avail = UINT32_MAX, ties = 0;

	for (uint32_t i = 0; i < f->mi->piece_count; i++) {
		if (f->ps[i] != FPS_WANTED)
			continue;
		if (f->avail[i] < best_avail) {
			best = i;
			best_avail = f->avail[i];
			ties = 1;
		} else if (f->avail[i] == best_avail && fetch_rand(f) % ++ties == 0) {
			best = i;
		}
	}
	return best;
}

/* A piece given back: its blocks nobody has are free for peers, or it is wanted again. */
static void fweb_release(struct fetch *f, uint32_t w, uint32_t piece)
{
	int act = fpick_find(f, piece);
	struct fpiece *a = act >= 0 ? &f->act[act] : NULL;
	bool any = false;

	if (!a || a->owner != fweb_id(w) || a->writes)
		return;
	a->owner = -1;
	for (uint32_t b = 0; b < a->nblocks; b++) {
		if (a->blk[b] != FBLK_REQ)
			continue;
		if (a->nreq[b] > 0)
			a->nreq[b]--;
		if (a->nreq[b] == 0)
			a->blk[b] = FBLK_FREE;
		any |= a->blk[b] != FBLK_FREE;
	}
	if (!any && a->done == 0) {
		f->ps[piece] = FPS_WANTED;
		fetch_piece_free(a);
	}
}

static int fweb_job_start(struct fetch *f, uint32_t w, struct fweb_job *j)
{
	struct fweb_seed *s = &f->web->seeds[w];
	uint32_t piece = fweb_pick(f);
	struct fpiece *a;
	int act, rc;

	if (piece == UINT32_MAX)
		return -ENOENT;
	act = fpick_activate(f, piece, fweb_id(w));
	if (act < 0)
		return -EBUSY;
	a = &f->act[act];
	/* Whole: peers leave its blocks alone until the endgame. */
	memset(a->blk, FBLK_REQ, a->nblocks);
	memset(a->nreq, 1, a->nblocks);
	*j = (struct fweb_job){ .used = true, .piece = piece, .size = a->size };
	j->buf = malloc(a->size);
	rc = j->buf ? fweb_job_parts(f, j) : -ENOMEM;
	for (uint32_t i = 0; rc == 0 && i < j->nparts; i++)
		rc = fweb_part_start(f, s, &j->parts[i]);
	if (rc) {
		fweb_job_stop(f, j);
		fweb_release(f, w, piece);
		return rc;
	}
	j->left = j->nparts;
	return 0;
}

/* Counted each time, said once per seed and kind, with the URL. */
static void fweb_note(struct fetch *f, uint32_t w, enum fweb_why why, long status, uint32_t piece)
{
	struct fweb_seed *s = &f->web->seeds[w];

	f->res->c[fweb_whys[why].c]++;
	if (s->logged & (1u << why))
		return;
	s->logged |= 1u << why;
	if (status && why != FW_NO_RANGE)
		log_warnx("fetch: web seed %s: %s (status %ld, piece %u)", s->url,
			  fweb_whys[why].what, status, piece);
	else
		log_warnx("fetch: web seed %s: %s (piece %u)", s->url, fweb_whys[why].what, piece);
}

/* Every part is in: the piece takes the path of peer blocks (hash, write, have). */
static void fweb_job_done(struct fetch *f, uint32_t w, struct fweb_job *j)
{
	struct fweb_seed *s = &f->web->seeds[w];
	uint32_t piece = j->piece;
	int act = fpick_find(f, piece);
	struct fpiece *a = act >= 0 ? &f->act[act] : NULL;

	if (j->why != FW_OK) {
		fweb_note(f, w, j->why, j->status, piece);
		fweb_job_stop(f, j);
		fweb_release(f, w, piece);
		s->retry_ms = f->now_ms + s->backoff_ms;
		s->backoff_ms = s->backoff_ms * 2 > FWEB_RETRY_MAX_MS ? FWEB_RETRY_MAX_MS
								      : s->backoff_ms * 2;
		return;
	}
	s->backoff_ms = FWEB_RETRY_MS;
	if (!a || f->ps[piece] != FPS_ACTIVE || a->writes || a->done == a->nblocks) {
		f->res->c[FC_DUPLICATES]++; /* had from peers in the endgame meanwhile */
		fweb_job_stop(f, j);
		return;
	}
	f->res->c[FC_WEB_BYTES] += j->size;
	for (uint32_t b = 0; b < a->nblocks; b++) {
		uint32_t at = b * FETCH_BLOCK, len = a->size - at < FETCH_BLOCK ? a->size - at
										 : FETCH_BLOCK;

		if (a->blk[b] == FBLK_DONE)
			continue;
		memcpy(a->buf + at, j->buf + at, len);
		a->blk[b] = FBLK_DONE;
		a->done++;
	}
	if (a->n_contrib < FETCH_CONTRIB_MAX)
		a->contrib[a->n_contrib++] = (int16_t)fweb_id(w);
	else
		a->many = true;
	fweb_job_stop(f, j);
	fetch_piece_complete(f, act); /* may call fweb_bad_piece() */
}

static enum fweb_why fweb_classify(struct fweb_part *p, CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		curl_easy_getinfo(p->h, CURLINFO_RESPONSE_CODE, &p->status);
		if (p->status == 200 && !p->whole)
			return FW_NO_RANGE;
		if (p->status != 206 && p->status != 200)
			return FW_STATUS;
		return p->range_bad || p->got != p->len ? FW_LENGTH : FW_OK;
	case CURLE_WRITE_ERROR:
		return p->why != FW_OK ? p->why : FW_FAIL;
	case CURLE_TOO_MANY_REDIRECTS:
		return FW_REDIRECTS;
	case CURLE_OPERATION_TIMEDOUT:
		return FW_STALL;
	case CURLE_PARTIAL_FILE:
		return FW_LENGTH;
	default:
		return FW_FAIL;
	}
}

/* Finished transfers: their parts counted off, their jobs ended when the last is in. */
static void fweb_reap(struct fetch *f)
{
	struct fetch_web *web = f->web;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(web->multi, &left))) {
		struct fweb_part *p = NULL;
		struct fweb_job *j;
		uint32_t w;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&p);
		if (!p || p->h != m->easy_handle)
			continue;
		j = p->job;
		p->why = fweb_classify(p, m->data.result);
		curl_multi_remove_handle(web->multi, p->h);
		curl_easy_cleanup(p->h);
		p->h = NULL;
		if (p->why != FW_OK && j->why == FW_OK) {
			j->why = p->why;
			j->status = p->status;
		}
		/* which seed: jobs live inside their seed */
		for (w = 0; w < web->n; w++)
			if (j >= web->seeds[w].jobs && j < web->seeds[w].jobs + FWEB_JOBS)
				break;
		if (--j->left == 0 || j->why != FW_OK)
			fweb_job_done(f, w, j); /* a failed part ends the job: the rest is stopped */
	}
}

/* New jobs for the seeds with room and not banned or backing off. */
static void fweb_fill(struct fetch *f)
{
	struct fetch_web *web = f->web;

	if (f->fail)
		return;
	for (uint32_t w = 0; w < web->n; w++) {
		struct fweb_seed *s = &web->seeds[w];

		if (f->now_ms < s->retry_ms)
			continue;
		for (uint32_t k = 0; k < FWEB_JOBS; k++) {
			int rc;

			if (s->jobs[k].used)
				continue;
			rc = fweb_job_start(f, w, &s->jobs[k]);
			if (rc == -ENOENT || rc == -EBUSY)
				return; /* nothing to pick, or no room: no other seed would do better */
			if (rc) { /* this seed's URL or curl: a while before it is tried again */
				if (!(s->logged & (1u << FW_FAIL)))
					log_warnx("fetch: web seed %s: cannot start a request: %s",
						  s->url, strerror(-rc));
				s->logged |= 1u << FW_FAIL;
				f->res->c[FC_WEB_FAILS]++;
				s->retry_ms = f->now_ms + FWEB_RETRY_MAX_MS;
				break;
			}
			if (s->jobs[k].left == 0)
				fweb_job_done(f, w, &s->jobs[k]); /* all padding */
		}
	}
}

static void fweb_arm(struct fetch *f)
{
	struct io_uring_sqe *sqe;

	if (f->web->armed)
		return;
	sqe = ring_get_sqe(&f->ring, NULL);
	if (!sqe)
		return; /* the next pass tries again */
	io_uring_prep_poll_add(sqe, f->web->epfd, POLLIN);
	io_uring_sqe_set_data64(sqe, fetch_ud(FOP_WEB, 0, 0));
	f->web->armed = true;
}

void fweb_on_poll(struct fetch *f, int res)
{
	struct fetch_web *web = f->web;
	struct epoll_event ev[FWEB_EVENTS];
	int n, running;

	if (!web)
		return;
	web->armed = false;
	(void)res;
	n = epoll_wait(web->epfd, ev, FWEB_EVENTS, 0);
	for (int i = 0; i < n; i++) {
		int mask = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
			   (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			   (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);

		curl_multi_socket_action(web->multi, ev[i].data.fd, mask, &running);
	}
	fweb_reap(f);
	fweb_fill(f);
	fweb_arm(f);
}

void fweb_service(struct fetch *f)
{
	struct fetch_web *web = f->web;
	int running;

	if (!web)
		return;
	if (f->now_ms >= web->timer_at) {
		web->timer_at = UINT64_MAX;
		curl_multi_socket_action(web->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		fweb_reap(f);
	}
	fweb_fill(f);
	fweb_arm(f);
}

void fweb_bad_piece(struct fetch *f, int id, uint32_t piece, bool shared)
{
	struct fweb_seed *s;
	uint32_t w = (uint32_t)(-2 - id);

	if (!f->web || id > -2 || w >= f->web->n)
		return;
	s = &f->web->seeds[w];
	if (shared)
		return; /* with peers in the endgame: the refetch will tell */
	fweb_note(f, w, FW_HASH, 0, piece);
	/* Its other pieces in flight come from the same server: dropped too. */
	for (uint32_t k = 0; k < FWEB_JOBS; k++) {
		if (s->jobs[k].used) {
			uint32_t other = s->jobs[k].piece;

			fweb_job_stop(f, &s->jobs[k]);
			fweb_release(f, w, other);
		}
	}
	log_warnx("fetch: web seed %s: banned for %llu s", s->url,
		  (unsigned long long)s->ban_ms / 1000);
	s->retry_ms = f->now_ms + s->ban_ms;
	s->ban_ms = s->ban_ms * 2 > FWEB_BAN_MAX_MS ? FWEB_BAN_MAX_MS : s->ban_ms * 2;
}

uint32_t fweb_usable(const struct metainfo *mi)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < mi->web_seed_count; i++)
		n += ws_url_usable(mi->web_seeds[i]);
	return n;
}

/* The torrent's url-list, then --webseed. */
static void fweb_add(struct fetch_web *web, const struct fetch *f, const char *url)
{
	if (!ws_url_usable(url)) {
		log_warnx("fetch: %s: web seed %s: not http:// or https:// (ignored)", f->mi->name,
			  url);
		return;
	}
	for (uint32_t i = 0; i < web->n; i++)
		if (strcmp(web->seeds[i].url, url) == 0)
			return;
	if (web->n == FWEB_MAX) {
		log_warnx("fetch: %s: more than %d web seeds: %s ignored", f->mi->name, FWEB_MAX,
			  url);
		return;
	}
	web->seeds[web->n++] = (struct fweb_seed){ .url = url, .backoff_ms = FWEB_RETRY_MS,
						   .ban_ms = FWEB_BAN_MS };
}

int fweb_init(struct fetch *f)
{
	struct fetch_web *web;

	if (fweb_usable(f->mi) == 0 && f->o->n_webseeds == 0)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	web = calloc(1, sizeof(*web));
	if (!web)
		return -ENOMEM;
	web->f = f;
	web->timer_at = UINT64_MAX;
	web->epfd = epoll_create1(EPOLL_CLOEXEC);
	web->multi = web->epfd >= 0 ? curl_multi_init() : NULL;
	if (!web->multi) {
		if (web->epfd >= 0)
			close(web->epfd);
		free(web);
		return -ENOMEM;
	}
	curl_multi_setopt(web->multi, CURLMOPT_SOCKETFUNCTION, fweb_sock_cb);
	curl_multi_setopt(web->multi, CURLMOPT_SOCKETDATA, web);
	curl_multi_setopt(web->multi, CURLMOPT_TIMERFUNCTION, fweb_timer_cb);
	curl_multi_setopt(web->multi, CURLMOPT_TIMERDATA, web);
	for (uint32_t i = 0; i < f->mi->web_seed_count; i++)
		fweb_add(web, f, f->mi->web_seeds[i]);
	for (uint32_t i = 0; i < f->o->n_webseeds; i++)
		fweb_add(web, f, f->o->webseeds[i]);
	f->web = web;
	log_notice("fetch: %s: %u web seed%s", f->mi->name, web->n, web->n == 1 ? "" : "s");
	return 0;
}

void fweb_close(struct fetch *f)
{
	struct fetch_web *web = f->web;

	if (!web)
		return;
	for (uint32_t w = 0; w < web->n; w++)
		for (uint32_t k = 0; k < FWEB_JOBS; k++)
			if (web->seeds[w].jobs[k].used)
				fweb_job_stop(f, &web->seeds[w].jobs[k]);
	curl_multi_cleanup(web->multi);
	close(web->epfd);
	free(web);
	f->web = NULL;
}
