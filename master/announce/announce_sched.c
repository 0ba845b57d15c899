/*
 * announce_sched.c - the announcer's scheduling machinery: randomness, the
 * arithmetic of intervals, backoff and jitter, BEP 12 tier order, the pace
 * of each tracker host, the timer heap, the host queues, and the shared
 * host records. No I/O; tests/unit/test_announce.c includes it. (The tracker
 * records, which hold a transport's state, are announce.c's.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "master/announce/announce_int.h"

/* --- randomness: xoshiro256**, seeded once from getrandom --- */

static uint64_t ann_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t ann_rand64(struct announcer *a)
{
	uint64_t *s = a->rng, r = ann_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = ann_rotl(s[3], 45);
	return r;
}

uint32_t ann_rand32(struct announcer *a)
{
	return (uint32_t)(ann_rand64(a) >> 32);
}

/* Uniform in [0, n]; n = 0 gives 0. */
uint64_t ann_rand_upto(struct announcer *a, uint64_t n)
{
	return n == UINT64_MAX ? ann_rand64(a) : ann_rand64(a) % (n + 1);
}

void ann_seed(struct announcer *a)
{
	static const char chars[] =
		"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	uint64_t t = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

	if (getrandom(a->rng, sizeof(a->rng), 0) != (ssize_t)sizeof(a->rng)) {
		/* getrandom cannot fail on Linux >= 3.17 once the pool is up; be safe */
		for (int i = 0; i < 4; i++)
			a->rng[i] = (t += 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;
	}
	memcpy(a->peer_id, ANN_PEER_ID_PREFIX, 8);
	for (int i = 8; i < 20; i++)
		a->peer_id[i] = (uint8_t)chars[ann_rand64(a) % (sizeof(chars) - 1)];
}

/* --- scheduling arithmetic (tests/unit/test_announce.c) --- */

/* After the fails-th failed round in a row: retry_min doubling, a tenth of jitter, retry_max. */
uint64_t ann_backoff_ms(const struct announcer *a, uint32_t fails, uint64_t rnd)
{
	uint64_t base = a->retry_min_s, max = (uint64_t)a->retry_max_s * 1000;

	for (uint32_t i = 1; i < fails && base < a->retry_max_s; i++)
		base *= 2;
	base *= 1000;
	if (base > max)
		base = max;
	base += rnd % (base / 10 + 1);
	return base > max ? max : base;
}

/*
 * Until the next announce after a good reply: the tracker's interval, never
 * under its min interval nor our min_interval, plus up to a tenth of jitter
 * (later, never sooner, so both are honoured) to undo lock-step.
 */
uint64_t ann_interval_ms(const struct announcer *a, int64_t interval, int64_t min_interval,
			 uint64_t rnd)
{
	uint64_t iv = interval >= 0 ? (uint64_t)interval : ANN_DEFAULT_INTERVAL;

	if (min_interval > 0 && (uint64_t)min_interval > iv)
		iv = (uint64_t)min_interval;
	if (iv < a->min_interval_s)
		iv = a->min_interval_s;
	if (iv > 86400 * 7)
		iv = 86400 * 7; /* a tracker asking for weeks is broken; a week is plenty */
	iv *= 1000;
	return iv + rnd % (iv / 10 + 1);
}

/* BEP 12: "shuffled once, when the torrent is first loaded" (Fisher-Yates). */
void ann_shuffle(struct announcer *a, struct ann_tracker **v, uint32_t n)
{
	for (uint32_t i = n; i > 1; i--) {
		uint32_t k = (uint32_t)(ann_rand64(a) % i);
		struct ann_tracker *t = v[i - 1];

		v[i - 1] = v[k];
		v[k] = t;
	}
}

/* BEP 12: the URL that answered moves to the front of its tier. */
void ann_promote(struct ann_job *j)
{
	struct ann_tracker *t = j->urls[j->pos];

	memmove(j->urls + 1, j->urls, j->pos * sizeof(*j->urls));
	j->urls[0] = t;
	j->pos = 0;
}

/* Announces per second a host may get: enough for every job at min_interval, at least the floor. */
uint64_t ann_pace_rate(const struct announcer *a, const struct ann_host *h)
{
	uint64_t r = (h->n_jobs + (uint64_t)a->min_interval_s - 1) / a->min_interval_s;

	return r < ANN_RATE_FLOOR ? ANN_RATE_FLOOR : r;
}

/*
 * Token bucket, in thousandths of an announce, holding per_host at most: in
 * any second a host gets at most rate + per_host starts. The dispatcher
 * arms the pace timer for ann_pace_next_ms, so the credit is used as it
 * comes (starts spaced by 1/rate), not lost between ticks. Off while stopping.
 */
bool ann_pace_take(struct announcer *a, struct ann_host *h)
{
	uint64_t burst = (uint64_t)a->per_host * 1000;

	if (a->stopping)
		return true;
	if (a->now_ms > h->tokens_ms) {
		h->tokens += (a->now_ms - h->tokens_ms) * ann_pace_rate(a, h);
		h->tokens_ms = a->now_ms;
	}
	if (h->tokens > burst)
		h->tokens = burst;
	if (h->tokens < 1000)
		return false;
	h->tokens -= 1000;
	return true;
}

/* When h has its next whole token (after a refused ann_pace_take). */
uint64_t ann_pace_next_ms(const struct announcer *a, const struct ann_host *h)
{
	uint64_t rate = ann_pace_rate(a, h), need = h->tokens < 1000 ? 1000 - h->tokens : 0;

	return h->tokens_ms + (need + rate - 1) / rate;
}

/* --- tracker hosts: shared by their trackers, each with its pace --- */

uint32_t ann_hash_str(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

struct ann_host *ann_host_get(struct announcer *a, const char *name)
{
	uint32_t b = ann_hash_str(name) & (a->hosts_cap - 1);
	struct ann_host *h;

	for (h = a->hosts[b]; h; h = h->hnext)
		if (strcmp(h->name, name) == 0)
			break;
	if (!h) {
		h = calloc(1, sizeof(*h));
		if (!h || !(h->name = strdup(name))) {
			free(h);
			return NULL;
		}
		h->tokens = (uint64_t)a->per_host * 1000;
		h->tokens_ms = a->now_ms;
		h->hnext = a->hosts[b];
		a->hosts[b] = h;
	}
	h->refs++;
	return h;
}

void ann_host_put(struct announcer *a, struct ann_host *h)
{
	struct ann_host **pp = &a->hosts[ann_hash_str(h->name) & (a->hosts_cap - 1)];

	if (--h->refs)
		return;
	while (*pp != h)
		pp = &(*pp)->hnext;
	*pp = h->hnext;
	free(h->name);
	free(h);
}

/* --- the timer heap (IDLE jobs) and the host queues (QUEUED jobs) --- */

static void ann_heap_set(struct announcer *a, uint32_t i, struct ann_job *j)
{
	a->heap[i] = j;
	j->heap_idx = i;
}

static void ann_heap_up(struct announcer *a, uint32_t i)
{
	struct ann_job *j = a->heap[i];

	while (i > 0 && a->heap[(i - 1) / 2]->next_ms > j->next_ms) {
		ann_heap_set(a, i, a->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	ann_heap_set(a, i, j);
}

static void ann_heap_down(struct announcer *a, uint32_t i)
{
	struct ann_job *j = a->heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= a->heap_n)
			break;
		if (c + 1 < a->heap_n && a->heap[c + 1]->next_ms < a->heap[c]->next_ms)
			c++;
		if (a->heap[c]->next_ms >= j->next_ms)
			break;
		ann_heap_set(a, i, a->heap[c]);
		i = c;
	}
	ann_heap_set(a, i, j);
}

/* The heap has room for every job: ann_add grows it before a job exists. */
void ann_heap_push(struct announcer *a, struct ann_job *j)
{
	ann_heap_set(a, a->heap_n++, j);
	ann_heap_up(a, a->heap_n - 1);
}

void ann_heap_remove(struct announcer *a, struct ann_job *j)
{
	uint32_t i = j->heap_idx;
	struct ann_job *last = a->heap[--a->heap_n];

	if (i == a->heap_n)
		return;
	ann_heap_set(a, i, last);
	ann_heap_up(a, i);
	ann_heap_down(a, last->heap_idx);
}

struct ann_host *ann_job_host(const struct ann_job *j)
{
	return j->urls[j->pos]->host;
}

void ann_queue_append(struct announcer *a, struct ann_job *j)
{
	struct ann_host *h = ann_job_host(j);

	j->q_next = NULL;
	if (h->q_tail)
		h->q_tail->q_next = j;
	else
		h->q_head = j;
	h->q_tail = j;
	a->n_queued++;
	if (!h->ready) {
		h->ready = true;
		h->rnext = a->ready;
		a->ready = h;
	}
}

/* Rare (a removal or shutdown of a queued job): a walk of the host's queue. */
void ann_queue_unlink(struct announcer *a, struct ann_job *j)
{
	struct ann_host *h = ann_job_host(j);
	struct ann_job **pp = &h->q_head, *prev = NULL;

	while (*pp != j) {
		prev = *pp;
		pp = &(*pp)->q_next;
	}
	*pp = j->q_next;
	if (h->q_tail == j)
		h->q_tail = prev;
	a->n_queued--;
}

int ann_heap_reserve(struct announcer *a, uint32_t more)
{
	uint32_t cap = a->heap_cap;
	struct ann_job **h;

	while (cap < a->n_jobs + more)
		cap = cap ? cap * 2 : 1024;
	if (cap == a->heap_cap)
		return 0;
	h = realloc(a->heap, cap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	a->heap = h;
	a->heap_cap = cap;
	return 0;
}
