/*
 * announce.c - the announcer's core: torrents and their jobs, the state
 * machine that moves a job, starting exchanges within the caps and the
 * pace, and what an exchange's outcome means. See announce.h for the
 * picture and the job state diagram, announce_int.h for the exchange
 * phases, announce_sched.c for the arithmetic, the heap and the queues.
 *
 * Bounds: slots (exchanges in flight) are taken at start-up, in_flight of
 * them; jobs are allocated with their torrent (tiers x families), trackers
 * and hosts are shared and reference-counted. Every loop here walks one of
 * those sets, nothing retries without a timer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "iocore/clock.h"
#include "iocore/log.h"
#include "master/announce/announce_int.h"
#include "master/content/registry.h"

/*
 * --- tracker records: one per announce URL, shared by every torrent that
 * lists it; a udp:// one holds the UDP transport's state for it (its address
 * per family, lookups in flight, connection ids), which announce_udp.c makes
 * and frees ---
 */

static void ann_tracker_free(struct announcer *a, struct ann_tracker *tr)
{
	if (tr->host)
		ann_host_put(a, tr->host);
	ann_udp_tracker_free(tr);
	free(tr->url);
	free(tr);
}

/* Scheme, host and the families that can reach it; "why" when the URL is not for us. */
static int ann_tracker_parse(struct ann_tracker *tr, char *host, size_t hostlen, char *why,
			     size_t whylen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *h = NULL;
	int rc = -EINVAL;

	if (!u || curl_url_set(u, CURLUPART_URL, tr->url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK) {
		snprintf(why, whylen, "not a URL");
		goto out;
	}
	if (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) {
		tr->scheme = ANN_HTTP;
	} else if (strcmp(scheme, "udp") == 0) {
		tr->scheme = ANN_UDP;
	} else {
		snprintf(why, whylen, "scheme %s is not http, https or udp", scheme);
		goto out;
	}
	tr->fam_mask = 3;
	if (h[0] == '[')
		tr->fam_mask = 2; /* an IPv6 literal */
	else if (strspn(h, "0123456789.") == strlen(h))
		tr->fam_mask = 1; /* an IPv4 literal */
	snprintf(host, hostlen, "%s", h);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(h);
	curl_url_cleanup(u);
	return rc;
}

struct ann_tracker *ann_tracker_get(struct announcer *a, const char *url, char *why, size_t whylen)
{
	uint32_t b = ann_hash_str(url) & (a->trackers_cap - 1);
	struct ann_tracker *tr;
	char host[256];

	for (tr = a->trackers[b]; tr; tr = tr->hnext)
		if (strcmp(tr->url, url) == 0) {
			tr->refs++;
			return tr;
		}
	tr = calloc(1, sizeof(*tr));
	if (!tr || !(tr->url = strdup(url))) {
		free(tr);
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if (ann_tracker_parse(tr, host, sizeof(host), why, whylen) != 0 ||
	    (tr->scheme == ANN_UDP && ann_udp_tracker(tr, why, whylen) != 0) ||
	    !(tr->host = ann_host_get(a, host))) {
		if (!why[0])
			snprintf(why, whylen, "out of memory");
		ann_tracker_free(a, tr);
		return NULL;
	}
	if (tr->scheme == ANN_HTTP) {
		char scrape[TRK_MAX_URL];

		tr->no_scrape = trk_http_scrape_url(scrape, sizeof(scrape), url) != 0;
	}
	tr->refs = 1;
	tr->hnext = a->trackers[b];
	a->trackers[b] = tr;
	return tr;
}

void ann_tracker_put(struct announcer *a, struct ann_tracker *tr)
{
	struct ann_tracker **pp = &a->trackers[ann_hash_str(tr->url) & (a->trackers_cap - 1)];

	if (--tr->refs)
		return;
	while (*pp != tr)
		pp = &(*pp)->hnext;
	*pp = tr->hnext;
	ann_tracker_free(a, tr);
}

/* --- torrents and jobs --- */

static void ann_torrent_free(struct announcer *a, struct ann_torrent *tor)
{
	for (uint32_t i = 0; i < tor->n_jobs; i++)
		free(tor->jobs[i].tracker_id);
	for (uint32_t i = 0; tor->url_pool && i < tor->n_jobs; i++)
		for (uint32_t k = 0; k < tor->jobs[i].n_urls; k++)
			ann_tracker_put(a, tor->jobs[i].urls[k]);
	if (tor->all_prev)
		tor->all_prev->all_next = tor->all_next;
	else if (a->tor_list == tor)
		a->tor_list = tor->all_next;
	if (tor->all_next)
		tor->all_next->all_prev = tor->all_prev;
	free(tor->url_pool);
	free(tor->jobs);
	free(tor->name);
	free(tor);
}

/* The torrent stays while a job or a caller (pin) holds it. */
static void ann_torrent_unpin(struct announcer *a, struct ann_torrent *tor)
{
	if (--tor->n_live == 0 && !tor->t)
		ann_torrent_free(a, tor);
}

/*
 * Moves a job from its state to another (announce.h draws them); at is the
 * time for IDLE. RUNNING is entered by ann_job_start only, and left here
 * after ann_slot_release. A DONE job may free its torrent: do not touch it
 * after this call.
 */
static void ann_job_next(struct announcer *a, struct ann_job *j, enum ann_job_state to, uint64_t at)
{
	switch ((enum ann_job_state)j->state) {
	case JOB_IDLE:
		ann_heap_remove(a, j);
		break;
	case JOB_QUEUED:
		ann_queue_unlink(a, j);
		break;
	case JOB_RUNNING:
	case JOB_NEW:
		break;
	case JOB_DONE:
		return;
	}
	j->state = (uint8_t)to;
	switch (to) {
	case JOB_IDLE:
		j->next_ms = at;
		ann_heap_push(a, j);
		break;
	case JOB_QUEUED:
		ann_queue_append(a, j);
		break;
	case JOB_DONE:
		ann_job_host(j)->n_jobs--;
		a->n_jobs--;
		ann_torrent_unpin(a, j->tor);
		break;
	case JOB_RUNNING:
	case JOB_NEW:
		break;
	}
}

/* The job turns to another URL of its tier; a new tracker has not seen us start. */
static void ann_job_url(struct ann_job *j, uint16_t pos)
{
	if (pos == j->pos)
		return;
	ann_job_host(j)->n_jobs--;
	j->pos = pos;
	ann_job_host(j)->n_jobs++;
	j->started_ok = false;
	free(j->tracker_id);
	j->tracker_id = NULL;
}

const char *ann_fam_tag(const struct announcer *a, unsigned fam)
{
	if (!a->fam[0].on || !a->fam[1].on)
		return "";
	return fam ? " (IPv6)" : " (IPv4)";
}

/* --- exchanges --- */

static uint64_t ann_uploaded(struct announcer *a, const struct torrent *t)
{
	return a->uploaded ? a->uploaded(a->arg, t) : 0;
}

static void ann_slot_release(struct announcer *a, struct ann_slot *s)
{
	struct ann_job *j = s->job;

	if (s->tr->scheme == ANN_HTTP)
		ann_http_end(a, s);
	else
		ann_udp_end(a, s);
	s->tr->host->in_flight--;
	a->n_running--;
	j->slot = NULL;
	s->job = NULL;
	s->tr = NULL;
	s->phase = PH_FREE;
	s->u_next = a->free_slots;
	a->free_slots = s;
}

static void ann_job_start(struct announcer *a, struct ann_job *j)
{
	struct ann_slot *s = a->free_slots;
	struct ann_torrent *tor = j->tor;
	int rc;

	a->free_slots = s->u_next;
	s->u_next = s->u_prev = NULL;
	s->job = j;
	s->tr = j->urls[j->pos];
	s->tr->host->in_flight++;
	a->n_running++;
	j->slot = s;
	j->state = JOB_RUNNING;
	s->ta = (struct trk_announce){
		.info_hash = tor->info_hash,
		.peer_id = a->peer_id,
		.port = a->fam[j->fam].port,
		.uploaded = tor->t ? ann_uploaded(a, tor->t) : tor->uploaded,
		.event = j->stop ? TRK_EVENT_STOPPED
				 : (j->started_ok ? TRK_EVENT_NONE : TRK_EVENT_STARTED),
		.numwant = j->stop ? 0 : a->numwant,
		.key = tor->key,
		.tracker_id = j->tracker_id,
	};
	s->errbuf[0] = '\0';
	rc = s->tr->scheme == ANN_HTTP ? ann_http_announce(a, s) : ann_udp_announce(a, s);
	if (rc)
		ann_exchange_fail(a, s, "%s", s->errbuf[0] ? s->errbuf : "cannot start");
}

/* The pace timer, for the earliest host the pace holds back (a slot and a cap free). */
static void ann_pace_arm(struct announcer *a, uint64_t wake)
{
	struct itimerspec its = { 0 };
	uint64_t in;

	if (wake == UINT64_MAX ||
	    (a->pace_wake_ms && a->pace_wake_ms <= wake && a->pace_wake_ms > a->now_ms))
		return; /* nothing held back, or an earlier wake-up is armed already */
	in = wake > a->now_ms ? wake - a->now_ms : 1;
	its.it_value.tv_sec = (time_t)(in / 1000);
	its.it_value.tv_nsec = (long)(in % 1000) * 1000000L;
	if (a->pacefd >= 0 && timerfd_settime(a->pacefd, 0, &its, NULL) == 0)
		a->pace_wake_ms = a->now_ms + in;
}

/*
 * Starts what the caps and the pace allow, one job per host per round, hosts
 * in turn. While stopping there is no pace and a host may take every slot:
 * each 'stopped' goes out as soon as a slot is free, until stop_timeout.
 */
static void ann_dispatch(struct announcer *a)
{
	uint32_t cap = a->stopping ? a->in_flight_max : a->per_host;
	uint64_t wake = UINT64_MAX;
	bool progress = true;

	while (progress && a->free_slots) {
		progress = false;
		wake = UINT64_MAX;
		for (struct ann_host **pp = &a->ready, *h; (h = *pp) && a->free_slots;) {
			if (!h->q_head) {
				*pp = h->rnext;
				h->ready = false;
				continue;
			}
			if (h->in_flight < cap) {
				if (ann_pace_take(a, h)) {
					struct ann_job *j = h->q_head;

					ann_job_next(a, j, JOB_RUNNING, 0);
					ann_job_start(a, j);
					progress = true;
				} else if (ann_pace_next_ms(a, h) < wake) {
					wake = ann_pace_next_ms(a, h);
				}
			}
			pp = &h->rnext;
		}
	}
	ann_pace_arm(a, wake);
}

static const char *ann_event_word(enum trk_event ev)
{
	return ev == TRK_EVENT_STARTED	 ? "started"
	       : ev == TRK_EVENT_STOPPED ? "stopped"
					 : "announce";
}

/*
 * A scrape follows a good announce (same slot, same connection) when the
 * reply left out the swarm's counts (BEP 48 has them), or every
 * ANN_SCRAPE_PERIOD_MS for the 'downloaded' count; never twice within
 * ANN_SCRAPE_MIN_MS, never where BEP 48 gives no scrape URL.
 */
static bool ann_scrape_due(const struct announcer *a, const struct ann_job *j,
			   const struct ann_tracker *tr, const struct ann_reply *r)
{
	if (tr->no_scrape ||
	    (j->last_scrape_ms && a->now_ms - j->last_scrape_ms < ANN_SCRAPE_MIN_MS))
		return false;
	return r->seeders < 0 || r->leechers < 0 || a->now_ms >= j->next_scrape_ms;
}

void ann_exchange_ok(struct announcer *a, struct ann_slot *s, const struct ann_reply *r)
{
	struct ann_job *j = s->job;
	const char *url = s->tr->url, *name = j->tor->name, *tag = ann_fam_tag(a, j->fam);

	if (j->stop) {
		a->c[ANN_C_STOPPED]++;
		log_debug("announce ok: torrent %s, %s%s: stopped", name, url, tag);
		ann_slot_release(a, s);
		ann_job_next(a, j, JOB_DONE, 0);
		return;
	}
	a->c[ANN_C_ANNOUNCES]++;
	a->c[ANN_C_PEERS] += r->peers;
	if (r->warning) {
		a->c[ANN_C_WARNINGS]++;
		log_warnx("tracker warning: torrent %s, %s%s: \"%.*s\"", name, url, tag,
			  (int)(r->warning_len > 200 ? 200 : r->warning_len), r->warning);
	}
	if (r->tracker_id && r->tracker_id_len && r->tracker_id_len < ANN_TRACKER_ID_MAX) {
		free(j->tracker_id);
		j->tracker_id = strndup(r->tracker_id, r->tracker_id_len);
	}
	if (j->failing)
		log_info("announce ok again: torrent %s, %s%s", name, url, tag);
	log_debug("announce ok: torrent %s, %s%s: %s, interval %lld s, %lld seeders, %lld "
		  "leechers, %u peers",
		  name, url, tag, ann_event_word(s->ta.event), (long long)r->interval,
		  (long long)r->seeders, (long long)r->leechers, r->peers);
	j->failing = false;
	j->fails = 0;
	j->started_ok = true;
	j->last_ms = a->now_ms;
	snprintf(j->last_result, sizeof(j->last_result), "ok");
	ann_promote(j);
	j->seeders = r->seeders;
	j->leechers = r->leechers;
	j->next_ms = a->now_ms + ann_interval_ms(a, r->interval, r->min_interval, ann_rand64(a));
	if (ann_scrape_due(a, j, s->tr, r)) {
		j->last_scrape_ms = a->now_ms;
		j->next_scrape_ms = a->now_ms + ANN_SCRAPE_PERIOD_MS;
		s->errbuf[0] = '\0';
		if ((s->tr->scheme == ANN_HTTP ? ann_http_scrape(a, s) : ann_udp_scrape(a, s)) == 0)
			return; /* the slot goes on; ann_scrape_result ends it */
		ann_scrape_result(a, s, NULL, s->errbuf[0] ? s->errbuf : "cannot start");
		return;
	}
	ann_slot_release(a, s);
	ann_job_next(a, j, JOB_IDLE, j->next_ms);
}

void ann_exchange_fail(struct announcer *a, struct ann_slot *s, const char *fmt, ...)
{
	struct ann_job *j = s->job;
	const char *url = s->tr->url, *name = j->tor->name, *tag = ann_fam_tag(a, j->fam);
	const char *ev = ann_event_word(s->ta.event);
	char what[512];
	va_list ap;
	uint64_t delay;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	ann_slot_release(a, s);
	if (j->stop) {
		a->c[ANN_C_STOPPED_LOST]++;
		log_warnx("announce failed: torrent %s, %s%s: stopped: %s; not retried", name, url,
			  tag, what);
		ann_job_next(a, j, JOB_DONE, 0);
		return;
	}
	a->c[ANN_C_FAILURES]++;
	j->failing = true;
	j->last_ms = a->now_ms;
	snprintf(j->last_result, sizeof(j->last_result), "failed: %.80s", what);
	if (j->pos + 1 < j->n_urls) {
		ann_job_url(j, (uint16_t)(j->pos + 1));
		log_warnx("announce failed: torrent %s, %s%s: %s: %s; trying %s now", name, url,
			  tag, ev, what, j->urls[j->pos]->url);
		ann_job_next(a, j, JOB_QUEUED, 0);
		return;
	}
	j->fails++;
	ann_job_url(j, 0);
	delay = ann_backoff_ms(a, j->fails, ann_rand64(a));
	log_warnx("announce failed: torrent %s, %s%s: %s: %s; retry in %.1f s", name, url, tag, ev,
		  what, (double)delay / 1000);
	ann_job_next(a, j, JOB_IDLE, a->now_ms + delay);
}

void ann_scrape_result(struct announcer *a, struct ann_slot *s, const struct trk_scrape *sc,
		       const char *why)
{
	struct ann_job *j = s->job;

	if (sc) {
		a->c[ANN_C_SCRAPES]++;
		j->seeders = sc->complete;
		j->leechers = sc->incomplete;
		j->downloaded = sc->downloaded;
		log_debug("scrape ok: torrent %s, %s%s: %u seeders, %u leechers, %u downloaded",
			  j->tor->name, s->tr->url, ann_fam_tag(a, j->fam), sc->complete,
			  sc->incomplete, sc->downloaded);
	} else {
		a->c[ANN_C_SCRAPE_FAILURES]++;
		log_info("scrape failed: torrent %s, %s%s: %s; next in %llu h", j->tor->name,
			 s->tr->url, ann_fam_tag(a, j->fam), why,
			 (unsigned long long)(ANN_SCRAPE_PERIOD_MS / 3600000));
	}
	ann_slot_release(a, s);
	ann_job_next(a, j, JOB_IDLE, j->next_ms);
}

/*
 * A job whose torrent goes away (or the master stops): a tracker that heard
 * from us gets a 'stopped', the others nothing. An exchange in flight is
 * cancelled; if it was an announce, the tracker may have it, so it counts.
 */
static void ann_job_stop(struct announcer *a, struct ann_job *j)
{
	bool known = j->started_ok;

	if (j->state == JOB_DONE || j->state == JOB_NEW || j->stop)
		return;
	if (j->state == JOB_RUNNING) {
		struct ann_slot *s = j->slot;

		known |= s->phase == PH_HTTP_ANNOUNCE || s->phase == PH_UDP_ANNOUNCE;
		ann_slot_release(a, s);
	}
	if (!known || (a->stopping && a->stop_timeout_ms == 0)) {
		ann_job_next(a, j, JOB_DONE, 0);
		return;
	}
	j->stop = true;
	if (j->state != JOB_QUEUED)
		ann_job_next(a, j, JOB_QUEUED, 0);
}

static void ann_torrent_stop(struct announcer *a, struct ann_torrent *tor)
{
	tor->n_live++; /* pinned: the last job done must not free it under the loop */
	for (uint32_t i = 0; i < tor->n_jobs; i++)
		ann_job_stop(a, &tor->jobs[i]);
	ann_torrent_unpin(a, tor);
}

/* --- torrents in and out --- */

static struct ann_torrent **ann_torrent_slot(struct announcer *a, uint32_t id)
{
	struct ann_torrent **pp = &a->torrents[(id * 2654435761u) & (a->torrents_cap - 1)];

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->hnext;
	return pp;
}

static int ann_torrents_grow(struct announcer *a)
{
	uint32_t cap = a->torrents_cap * 2;
	struct ann_torrent **old = a->torrents, **nt = calloc(cap, sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	a->torrents = nt;
	a->torrents_cap = cap;
	for (uint32_t i = 0; i < cap / 2; i++)
		for (struct ann_torrent *t = old[i], *next; t; t = next) {
			struct ann_torrent **pp = ann_torrent_slot(a, t->id);

			next = t->hnext;
			t->hnext = NULL;
			*pp = t;
		}
	free(old);
	return 0;
}

/*
 * The trackers of one tier (mi.trackers is tier by tier), interned (one
 * reference each), appended to all[*n] unless an earlier tier has them, and
 * shuffled in place. Returns where the tier starts in all.
 */
static uint32_t ann_tier(struct announcer *a, const struct metainfo *mi, uint32_t *i,
			 struct ann_tracker **all, uint32_t *n)
{
	uint32_t tier = mi->trackers[*i].tier, start = *n;
	char why[160];

	for (; *i < mi->tracker_count && mi->trackers[*i].tier == tier; (*i)++) {
		struct ann_tracker *tr;
		bool dup = false;

		why[0] = '\0';
		tr = ann_tracker_get(a, mi->trackers[*i].url, why, sizeof(why));
		if (!tr) {
			log_info("torrent %s: tracker %s left out: %s", mi->name,
				 mi->trackers[*i].url, why);
			continue;
		}
		for (uint32_t k = 0; k < *n && !dup; k++)
			dup = all[k] == tr;
		if (dup)
			ann_tracker_put(a, tr);
		else
			all[(*n)++] = tr;
	}
	ann_shuffle(a, all + start, *n - start);
	return start;
}

/* Jobs of one tier (n URLs at urls) for every family that can reach one of them. */
static void ann_tier_jobs(struct announcer *a, struct ann_torrent *tor, struct ann_tracker **urls,
			  uint32_t n, uint32_t *pool_used)
{
	for (unsigned f = 0; f < ANN_FAM_MAX; f++) {
		struct ann_job *j = &tor->jobs[tor->n_jobs];

		if (!a->fam[f].on)
			continue;
		j->urls = tor->url_pool + *pool_used;
		for (uint32_t k = 0; k < n; k++)
			if (urls[k]->fam_mask & (1u << f)) {
				urls[k]->refs++;
				j->urls[j->n_urls++] = urls[k];
			}
		if (!j->n_urls)
			continue;
		*pool_used += j->n_urls;
		j->tor = tor;
		j->fam = (uint8_t)f;
		j->seeders = j->leechers = j->downloaded = -1;
		j->next_scrape_ms = a->now_ms + ann_rand_upto(a, ANN_SCRAPE_PERIOD_MS);
		tor->n_jobs++;
	}
}

static struct ann_torrent *ann_torrent_new(struct announcer *a, const struct torrent *t,
					   uint32_t id, const uint8_t *info_hash)
{
	const struct metainfo *mi = &t->mi;
	size_t nf = (size_t)a->fam[0].on + a->fam[1].on;
	struct ann_torrent *tor = calloc(1, sizeof(*tor));
	struct ann_tracker **all = calloc(mi->tracker_count + 1, sizeof(*all));
	uint32_t n = 0, used = 0;

	if (!tor || !all || !(tor->name = strdup(mi->name)) ||
	    !(tor->jobs = calloc(mi->tier_count * nf + 1, sizeof(*tor->jobs))) ||
	    !(tor->url_pool = calloc(mi->tracker_count * nf + 1, sizeof(*tor->url_pool)))) {
		if (tor) {
			free(tor->jobs);
			free(tor->name);
		}
		free(tor);
		free(all);
		return NULL;
	}
	tor->t = t;
	tor->id = id;
	memcpy(tor->info_hash, info_hash, sizeof(tor->info_hash));
	tor->key = ann_rand32(a);
	for (uint32_t i = 0; i < mi->tracker_count && tor->n_jobs < mi->tier_count * nf;) {
		uint32_t start = ann_tier(a, mi, &i, all, &n);

		ann_tier_jobs(a, tor, all + start, n - start, &used);
	}
	for (uint32_t k = 0; k < n; k++)
		ann_tracker_put(a, all[k]); /* the jobs hold their own references */
	free(all);
	return tor;
}

/*
 * A hybrid is announced under both info-hashes (the v2 one cut to 20 bytes,
 * BEP 52), since v1 and v2 clients look for it by their own: its second
 * entry has the torrent's id with the top bit set (ids are small counters).
 */
#define ANN_V2_TWIN 0x80000000u

static void ann_add_one(struct announcer *a, const struct torrent *t, uint32_t id,
			const uint8_t *info_hash);

void ann_add(struct announcer *a, const struct torrent *t)
{
	ann_add_one(a, t, t->id, t->mi.info_hash);
	if (t->mi.format == MI_FORMAT_HYBRID)
		ann_add_one(a, t, t->id | ANN_V2_TWIN, t->mi.info_hash_v2);
}

static void ann_add_one(struct announcer *a, const struct torrent *t, uint32_t id,
			const uint8_t *info_hash)
{
	struct ann_torrent *tor, **pp;

	if (!a->enabled || a->stopping || *ann_torrent_slot(a, id))
		return;
	if ((a->n_torrents >= a->torrents_cap && ann_torrents_grow(a) != 0) ||
	    ann_heap_reserve(a, t->mi.tier_count * ANN_FAM_MAX) != 0 ||
	    !(tor = ann_torrent_new(a, t, id, info_hash))) {
		log_errx("torrent %s: out of memory for its announces; not announced", t->mi.name);
		return;
	}
	pp = ann_torrent_slot(a, id);
	*pp = tor;
	a->n_torrents++;
	tor->all_next = a->tor_list;
	if (a->tor_list)
		a->tor_list->all_prev = tor;
	a->tor_list = tor;
	tor->n_live = tor->n_jobs + 1; /* + 1: served */
	for (uint32_t i = 0; i < tor->n_jobs; i++) {
		struct ann_job *j = &tor->jobs[i];

		ann_job_host(j)->n_jobs++;
		a->n_jobs++;
		/* a little jitter; the host's pace spreads a crowd */
		ann_job_next(a, j, JOB_IDLE, a->now_ms + ann_rand_upto(a, 500));
	}
	if (t->mi.tracker_count && !tor->n_jobs)
		log_info("torrent %s: no tracker it lists can be announced to", tor->name);
	log_debug("torrent %s: %u announce jobs", tor->name, tor->n_jobs);
}

static void ann_remove_one(struct announcer *a, const struct torrent *t, uint32_t id);

void ann_remove(struct announcer *a, const struct torrent *t)
{
	ann_remove_one(a, t, t->id);
	if (t->mi.format == MI_FORMAT_HYBRID)
		ann_remove_one(a, t, t->id | ANN_V2_TWIN);
}

static void ann_remove_one(struct announcer *a, const struct torrent *t, uint32_t id)
{
	struct ann_torrent **pp, *tor;

	if (!a->enabled || !*(pp = ann_torrent_slot(a, id)))
		return;
	tor = *pp;
	*pp = tor->hnext;
	a->n_torrents--;
	tor->uploaded = ann_uploaded(a, t);
	ann_torrent_stop(a, tor);
	tor->t = NULL; /* from here on it lives as long as its 'stopped' announces */
	ann_torrent_unpin(a, tor);
}

/* stop_timeout passed: whatever has not gone out is dropped, and counted. */
static void ann_abort_all(struct announcer *a)
{
	uint64_t lost = 0;

	for (uint32_t i = 0; i < a->in_flight_max; i++) {
		struct ann_slot *s = &a->slots[i];
		struct ann_job *j = s->job;

		if (s->phase == PH_FREE)
			continue;
		ann_slot_release(a, s);
		ann_job_next(a, j, JOB_DONE, 0);
		lost++;
	}
	while (a->ready) {
		struct ann_host *h = a->ready;

		while (h->q_head) {
			ann_job_next(a, h->q_head, JOB_DONE, 0);
			lost++;
		}
		a->ready = h->rnext;
		h->ready = false;
	}
	a->c[ANN_C_STOPPED_LOST] += lost;
	if (lost)
		log_notice("announce: %llu 'stopped' not sent within %u s",
			   (unsigned long long)lost, a->stop_timeout_ms / 1000);
}

static void ann_pace_fired(struct announcer *a)
{
	uint64_t n;

	(void)!read(a->pacefd, &n, sizeof(n));
	a->pace_wake_ms = 0;
}

void ann_event(struct announcer *a, uint32_t idx, uint32_t events, uint64_t now_ms)
{
	if (!a->enabled)
		return;
	a->now_ms = now_ms;
	if (idx & ANN_IDX_CURL)
		ann_http_event(a, (int)(idx & ~ANN_IDX_CURL), events);
	else if (idx == ANN_IDX_TIMER)
		ann_http_timer(a);
	else if (idx == ANN_IDX_PACE)
		ann_pace_fired(a);
	else if (idx < ANN_IDX_UDP + ANN_FAM_MAX)
		ann_udp_read(a, idx - ANN_IDX_UDP);
	ann_dispatch(a);
}

void ann_tick(struct announcer *a, uint64_t now_ms)
{
	if (!a->enabled)
		return;
	a->now_ms = now_ms;
	if (a->stopping && now_ms >= a->stop_deadline_ms) {
		ann_abort_all(a);
		return;
	}
	while (a->heap_n && a->heap[0]->next_ms <= now_ms)
		ann_job_next(a, a->heap[0], JOB_QUEUED, 0);
	ann_udp_tick(a);
	ann_dispatch(a);
}

void ann_stop_all(struct announcer *a, uint64_t now_ms)
{
	if (!a->enabled || a->stopping)
		return;
	a->now_ms = now_ms;
	a->stopping = true;
	a->stop_deadline_ms = now_ms + a->stop_timeout_ms;
	ann_http_stopping(a);
	for (struct ann_torrent *tor = a->tor_list, *next; tor; tor = next) {
		tor->n_live++; /* keeps next valid too: only tor itself can go */
		ann_torrent_stop(a, tor);
		next = tor->all_next;
		ann_torrent_unpin(a, tor);
	}
	if (a->n_queued + a->n_running)
		log_notice("announce: sending %u 'stopped' (at most %u s)",
			   a->n_queued + a->n_running, a->stop_timeout_ms / 1000);
	ann_dispatch(a);
}

bool ann_done(const struct announcer *a)
{
	return !a->enabled || (a->stopping && a->n_queued == 0 && a->n_running == 0);
}

void ann_each_job(const struct announcer *a, void (*fn)(void *arg, const struct ann_job_view *v),
		  void *arg)
{
	for (const struct ann_torrent *tor = a->tor_list; tor; tor = tor->all_next) {
		for (uint32_t i = 0; tor->t && i < tor->n_jobs; i++) {
			const struct ann_job *j = &tor->jobs[i];
			struct ann_job_view v = {
				.torrent = tor->name,
				.url = j->n_urls ? j->urls[j->pos]->url : "",
				.family = a->fam[j->fam].af == AF_INET6 ? "ipv6" : "ipv4",
				.last_ms = j->last_ms,
				.result = j->last_ms ? j->last_result : "pending",
				.next_ms = j->state == JOB_IDLE ? j->next_ms : 0,
			};

			if (j->state != JOB_DONE)
				fn(arg, &v);
		}
	}
}

void ann_stats(const struct announcer *a, char *buf, size_t len)
{
	snprintf(
		buf, len,
		"announces=%llu announce_failures=%llu stopped=%llu stopped_lost=%llu scrapes=%llu "
		"scrape_failures=%llu tracker_warnings=%llu peers_received=%llu "
		"udp_retransmits=%llu udp_stray=%llu announce_in_flight=%u announce_queued=%u "
		"announce_torrents=%u",
		(unsigned long long)a->c[ANN_C_ANNOUNCES], (unsigned long long)a->c[ANN_C_FAILURES],
		(unsigned long long)a->c[ANN_C_STOPPED],
		(unsigned long long)a->c[ANN_C_STOPPED_LOST],
		(unsigned long long)a->c[ANN_C_SCRAPES],
		(unsigned long long)a->c[ANN_C_SCRAPE_FAILURES],
		(unsigned long long)a->c[ANN_C_WARNINGS], (unsigned long long)a->c[ANN_C_PEERS],
		(unsigned long long)a->c[ANN_C_UDP_RETRANSMITS],
		(unsigned long long)a->c[ANN_C_UDP_STRAY], a->n_running, a->n_queued,
		a->n_torrents);
}

/* --- set-up and tear-down --- */

static bool ann_wildcard(const struct conf_addr *ad)
{
	if (ad->sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&ad->in6.sin6_addr);
	return ad->in4.sin_addr.s_addr == htonl(INADDR_ANY);
}

/* One entry per family we listen on: the first address of that family says port and source. */
static void ann_families(struct announcer *a, const struct conf *c)
{
	for (unsigned i = 0; i < c->listen.n; i++) {
		const struct conf_addr *ad = &c->listen.addr[i];
		unsigned f = ad->sa.sa_family == AF_INET6;
		struct ann_family *fa = &a->fam[f];
		char ip[INET6_ADDRSTRLEN];

		if (fa->on)
			continue;
		fa->on = true;
		fa->af = ad->sa.sa_family;
		fa->port = c->announce_port ? (uint16_t)c->announce_port
					    : ntohs(f ? ad->in6.sin6_port : ad->in4.sin_port);
		fa->bind = !ann_wildcard(ad);
		fa->src = *ad;
		if (f)
			fa->src.in6.sin6_port = 0;
		else
			fa->src.in4.sin_port = 0;
		inet_ntop(fa->af,
			  f ? (const void *)&ad->in6.sin6_addr : (const void *)&ad->in4.sin_addr,
			  ip, sizeof(ip));
		snprintf(fa->iface, sizeof(fa->iface), "host!%s", ip);
	}
}

static int ann_tables(struct announcer *a)
{
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.u64 = ((uint64_t)a->kind << 32) | ANN_IDX_PACE };
	uint32_t tx = 64;

	while (tx < a->in_flight_max)
		tx *= 2;
	a->hosts_cap = 256;
	a->trackers_cap = 1024;
	a->torrents_cap = 1024;
	a->udp_tx_mask = tx - 1;
	a->hosts = calloc(a->hosts_cap, sizeof(*a->hosts));
	a->trackers = calloc(a->trackers_cap, sizeof(*a->trackers));
	a->torrents = calloc(a->torrents_cap, sizeof(*a->torrents));
	a->udp_by_txid = calloc(tx, sizeof(*a->udp_by_txid));
	a->slots = calloc(a->in_flight_max, sizeof(*a->slots));
	if (!a->hosts || !a->trackers || !a->torrents || !a->udp_by_txid || !a->slots ||
	    ann_heap_reserve(a, 1024) != 0)
		return -ENOMEM;
	a->pacefd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (a->pacefd < 0 || epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->pacefd, &ev) != 0)
		return -errno;
	for (uint32_t i = a->in_flight_max; i-- > 0;) {
		a->slots[i].u_next = a->free_slots;
		a->free_slots = &a->slots[i];
	}
	return 0;
}

int ann_init(struct announcer *a, const struct conf *c, int epfd, uint32_t kind,
	     uint64_t (*uploaded)(void *arg, const struct torrent *t), void *arg, char *err,
	     size_t errlen)
{
	int rc;

	memset(a, 0, sizeof(*a));
	a->epfd = epfd;
	a->timerfd = a->pacefd = -1;
	a->kind = kind;
	a->uploaded = uploaded;
	a->arg = arg;
	a->fam[0].udp_fd = a->fam[1].udp_fd = -1;
	if (!c->announce)
		return 0;
	a->now_ms = clock_ms();
	a->numwant = (uint32_t)c->announce_numwant;
	a->timeout_ms = (uint32_t)c->announce_timeout * 1000;
	a->per_host = (uint32_t)c->announce_per_host;
	a->in_flight_max = (uint32_t)c->announce_in_flight;
	a->retry_min_s = (uint32_t)c->announce_retry_min;
	a->retry_max_s =
		(uint32_t)(c->announce_retry_max > c->announce_retry_min ? c->announce_retry_max
									 : c->announce_retry_min);
	a->min_interval_s = (uint32_t)c->announce_min_interval;
	a->stop_timeout_ms = (uint32_t)c->announce_stop_timeout * 1000;
	ann_seed(a);
	ann_families(a, c);
	a->enabled = true;
	rc = ann_tables(a);
	if (rc)
		snprintf(err, errlen, "announce: setting up: %s", strerror(-rc));
	if (!rc)
		rc = ann_http_init(a, err, errlen);
	if (!rc)
		rc = ann_udp_init(a, err, errlen);
	if (rc)
		ann_close(a);
	return rc;
}

void ann_close(struct announcer *a)
{
	if (!a->enabled)
		return;
	for (uint32_t i = 0; a->slots && i < a->in_flight_max; i++)
		if (a->slots[i].phase != PH_FREE)
			ann_slot_release(a, &a->slots[i]);
	while (a->tor_list)
		ann_torrent_free(a, a->tor_list); /* puts the trackers, which put the hosts */
	ann_http_close(a);
	ann_udp_close(a);
	if (a->pacefd >= 0)
		close(a->pacefd);
	a->pacefd = -1;
	free(a->heap);
	free(a->slots);
	free(a->udp_by_txid);
	free(a->torrents);
	free(a->trackers);
	free(a->hosts);
	a->enabled = false;
}

int64_t ann_seeders(const struct announcer *a, uint32_t torrent_id)
{
	struct ann_torrent *const *slot;
	int64_t best = -1;

	if (!a->enabled || !a->torrents_cap)
		return -1;
	slot = ann_torrent_slot((struct announcer *)a, torrent_id);
	if (!slot || !*slot)
		return -1;
	for (uint32_t i = 0; i < (*slot)->n_jobs; i++)
		if ((*slot)->jobs[i].seeders > best)
			best = (*slot)->jobs[i].seeders;
	return best;
}
