/*
 * fetch_tracker.c - peers from the torrent's HTTP(S) trackers.
 *
 * One libcurl multi handle, driven from the fetch loop's tick with
 * curl_multi_perform (non-blocking; a tick is 100 ms, which is plenty for
 * announces every minute or so). Each tracker URL of the torrent (all tiers,
 * up to FTRK_MAX) is announced with event=started first, then at the
 * interval it asks for (at least FTRK_MIN_INTERVAL s), with `left` the bytes
 * still missing; when the fetch completes, event=completed goes to each
 * (fetch_run waits for them at most FTRK_DONE_MS). The announce URL and the
 * reply are built and parsed by proto/tracker.h. udp:// trackers (BEP 15)
 * go through fetch_udp.c, polled on the same tick, with the same schedule.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "iocore/clock.h"
#include "iocore/log.h"
#include "master/fetch/fetch_int.h"
#include "master/fetch/fetch_udp.h"
#include "proto/tracker.h"

#define FTRK_MAX	  8
#define FTRK_REPLY_MAX	  (64u << 10)
#define FTRK_PEERS_MAX	  64
#define FTRK_MIN_INTERVAL 10 /* seconds; a fleet wants peers fast */
#define FTRK_RETRY	  15 /* seconds after a failure */
#define FTRK_TIMEOUT	  10 /* seconds for one exchange */
#define FTRK_NUMWANT	  50

struct ftrk_one {
	const char *url;
	CURL *easy; /* in flight, or NULL */
	uint8_t *reply;
	size_t reply_len;
	uint64_t next_ms;
	bool started; /* event=started answered */
	bool completed;
	bool udp, udp_busy; /* a udp:// tracker, an exchange under way */
	struct fudp u;
	struct trk_peer *udp_peers; /* FTRK_PEERS_MAX */
};

struct fetch_tracker {
	CURLM *multi;
	struct ftrk_one t[FTRK_MAX];
	unsigned n;
	uint32_t key; /* BEP 7: the same for every announce of this fetch */
};

static size_t ftrk_write(char *data, size_t size, size_t n, void *arg)
{
	struct ftrk_one *t = arg;
	size_t len = size * n;

	if (t->reply_len + len > FTRK_REPLY_MAX)
		return 0; /* too big: the transfer fails */
	memcpy(t->reply + t->reply_len, data, len);
	t->reply_len += len;
	return len;
}

int ftrk_init(struct fetch *f)
{
	struct fetch_tracker *k;

	if (f->mi->tracker_count == 0 || f->o->port == 0)
		return 0;
	k = calloc(1, sizeof(*k));
	if (!k || curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(k->multi = curl_multi_init())) {
		free(k);
		return -ENOMEM;
	}
	k->key = (uint32_t)fetch_rand(f);
	for (uint32_t i = 0; i < f->mi->tracker_count && k->n < FTRK_MAX; i++) {
		const char *u = f->mi->trackers[i].url;

		bool udp = strncmp(u, "udp://", 6) == 0;

		if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0 && !udp)
			continue;
		k->t[k->n].url = u;
		k->t[k->n].udp = udp;
		k->t[k->n].reply = malloc(FTRK_REPLY_MAX);
		k->t[k->n].udp_peers = calloc(FTRK_PEERS_MAX, sizeof(struct trk_peer));
		if (!k->t[k->n].reply || !k->t[k->n].udp_peers) {
			free(k->t[k->n].reply);
			free(k->t[k->n].udp_peers);
			break;
		}
		k->n++;
	}
	f->trk = k;
	return (int)k->n;
}

static uint64_t ftrk_left(const struct fetch *f)
{
	uint64_t left = 0;

	for (uint32_t i = 0; i < f->mi->piece_count; i++)
		if (f->ps[i] != FPS_HAVE)
			left += mi_piece_size(f->mi, i);
	return left;
}

static void ftrk_start(struct fetch *f, struct ftrk_one *t)
{
	struct fetch_tracker *k = f->trk;
	char url[TRK_MAX_URL];
	uint64_t left = ftrk_left(f);
	struct trk_announce a = { .info_hash = f->mi->info_hash,
				  .peer_id = f->peer_id,
				  .port = f->o->port,
				  .downloaded = f->res->c[FC_BYTES],
				  .left = left,
				  .event = !t->started ? TRK_EVENT_STARTED
					   : left == 0 ? TRK_EVENT_COMPLETED
						       : TRK_EVENT_NONE,
				  .numwant = left ? FTRK_NUMWANT : 0,
				  .key = k->key };

	if (t->udp) {
		if (fudp_start(&t->u, t->url, &a, (uint32_t)fetch_rand(f),
			       f->bind_src ? f->src_host : NULL, t->udp_peers, FTRK_PEERS_MAX,
			       f->now_ms) == 0) {
			t->udp_busy = true;
		} else {
			f->res->c[FC_ANNOUNCE_FAILS]++;
			log_info("fetch: %s: announce failed: %s", t->url, t->u.why);
			t->next_ms = f->now_ms + FTRK_RETRY * 1000u;
		}
		return;
	}
	if (trk_http_announce_url(url, sizeof(url), t->url, &a) < 0 ||
	    !(t->easy = curl_easy_init())) {
		t->next_ms = f->now_ms + FTRK_RETRY * 1000u;
		return;
	}
	t->reply_len = 0;
	curl_easy_setopt(t->easy, CURLOPT_URL, url);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, ftrk_write);
	curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	curl_easy_setopt(t->easy, CURLOPT_TIMEOUT, (long)FTRK_TIMEOUT);
	curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(t->easy, CURLOPT_USERAGENT, "ringseed/" RINGSEED_VERSION);
	if (f->bind_src) {
		char iface[INET6_ADDRSTRLEN + 8];

		snprintf(iface, sizeof(iface), "host!%s", f->src_host);
		curl_easy_setopt(t->easy, CURLOPT_INTERFACE, iface);
	}
	if (curl_multi_add_handle(k->multi, t->easy) != CURLM_OK) {
		curl_easy_cleanup(t->easy);
		t->easy = NULL;
		t->next_ms = f->now_ms + FTRK_RETRY * 1000u;
	}
}

/*
 * An announce that ended, by HTTP or UDP: counted and the next one
 * scheduled; with r (answered), its peers become sources; without, why
 * names the failure.
 */
static void ftrk_ended(struct fetch *f, struct ftrk_one *t, const struct trk_reply *r,
		       int64_t interval, const char *why)
{
	if (!r) {
		f->res->c[FC_ANNOUNCE_FAILS]++;
		log_info("fetch: %s: announce failed: %s", t->url, why);
		t->next_ms = f->now_ms + FTRK_RETRY * 1000u;
		return;
	}
	f->res->c[FC_ANNOUNCES]++;
	if (!t->started)
		t->started = true;
	else if (ftrk_left(f) == 0)
		t->completed = true;
	for (uint32_t i = 0; i < r->n_peers; i++) {
		const struct trk_peer *p = &r->peers[i];

		fetch_add_peer(f, p->family != TRK_AF_INET, p->addr, p->port);
	}
	t->next_ms = f->now_ms +
		     1000ull * (uint64_t)(interval > FTRK_MIN_INTERVAL ? interval : FTRK_MIN_INTERVAL);
}

static void ftrk_done(struct fetch *f, struct ftrk_one *t, CURLcode code)
{
	struct trk_peer peers[FTRK_PEERS_MAX];
	struct trk_reply r = { .peers = peers, .max_peers = FTRK_PEERS_MAX };
	const char *why = NULL;
	long status = 0;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(f->trk->multi, t->easy);
	curl_easy_cleanup(t->easy);
	t->easy = NULL;
	if (code != CURLE_OK || status != 200 ||
	    trk_http_parse_announce(t->reply, t->reply_len, &r, &why) != 0 || r.failure)
		ftrk_ended(f, t, NULL, 0,
			   code != CURLE_OK ? curl_easy_strerror(code)
			   : status != 200 ? "HTTP status not 200"
			   : why	   ? why
					   : "failure reason from the tracker");
	else
		ftrk_ended(f, t, &r, r.interval, NULL);
}

/* A udp:// exchange: when it ends, the same bookkeeping as an HTTP reply's. */
static void ftrk_udp_poll(struct fetch *f, struct ftrk_one *t)
{
	enum fudp_state s = fudp_poll(&t->u, f->now_ms);
	struct trk_reply r = { .peers = t->udp_peers, .n_peers = t->u.n_peers };

	if (s != FUDP_DONE && s != FUDP_FAILED)
		return;
	fudp_close(&t->u);
	t->udp_busy = false;
	if (s == FUDP_FAILED)
		ftrk_ended(f, t, NULL, 0, t->u.why);
	else
		ftrk_ended(f, t, &r, t->u.interval, NULL);
}

void ftrk_tick(struct fetch *f)
{
	struct fetch_tracker *k = f->trk;
	bool complete = f->n_have == f->mi->piece_count;
	CURLMsg *m;
	int running, left;

	if (!k)
		return;
	for (unsigned i = 0; i < k->n; i++) {
		struct ftrk_one *t = &k->t[i];

		if (t->udp_busy)
			ftrk_udp_poll(f, t);
		if (t->easy || t->udp_busy || t->completed)
			continue;
		if (f->now_ms >= t->next_ms || (complete && t->started))
			ftrk_start(f, t);
	}
	curl_multi_perform(k->multi, &running);
	while ((m = curl_multi_info_read(k->multi, &left)))
		if (m->msg == CURLMSG_DONE) {
			struct ftrk_one *t = NULL;

			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
			if (t)
				ftrk_done(f, t, m->data.result);
		}
}

/* After the last piece: event=completed to every tracker that heard started. */
void ftrk_completed(struct fetch *f, uint64_t wait_ms)
{
	struct fetch_tracker *k = f->trk;
	uint64_t end = clock_ms() + wait_ms;

	while (k && clock_ms() < end) {
		bool pending = false;

		f->now_ms = clock_ms();
		ftrk_tick(f);
		for (unsigned i = 0; i < k->n; i++)
			pending |= k->t[i].started && !k->t[i].completed;
		if (!pending)
			return;
		curl_multi_poll(k->multi, NULL, 0, 100, NULL);
	}
}

void ftrk_close(struct fetch *f)
{
	struct fetch_tracker *k = f->trk;

	if (!k)
		return;
	for (unsigned i = 0; i < k->n; i++) {
		if (k->t[i].easy) {
			curl_multi_remove_handle(k->multi, k->t[i].easy);
			curl_easy_cleanup(k->t[i].easy);
		}
		if (k->t[i].udp_busy)
			fudp_close(&k->t[i].u);
		free(k->t[i].reply);
		free(k->t[i].udp_peers);
	}
	curl_multi_cleanup(k->multi);
	curl_global_cleanup();
	free(k);
	f->trk = NULL;
}
