/*
 * tracker_swarm.c - the built-in tracker's memory: swarms, peers, selection,
 * expiry. No sockets here; see tracker_srv.h for the picture.
 *
 * Both tables (swarms by info-hash, and each swarm's index of peers by
 * (peer_id, family)) are open addressing with linear probing and
 * backward-shift deletion, so there are no tombstones to clean up and a probe
 * sequence stays as short as the load factor (at most 1/2) makes it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "master/tracker/tracker_srv.h"

#define TSRV_SWARMS_MIN 64 /* initial swarm table size */
#define TSRV_INDEX_MIN	16 /* initial peer index size */
#define TSRV_PLIST_MIN	8  /* initial peer array size */

/* --- SipHash-2-4 (Aumasson & Bernstein): a keyed hash strangers cannot aim collisions at --- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                   \
	do {                       \
		v0 += v1;          \
		v1 = ROTL(v1, 13); \
		v1 ^= v0;          \
		v0 = ROTL(v0, 32); \
		v2 += v3;          \
		v3 = ROTL(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = ROTL(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = ROTL(v1, 17); \
		v1 ^= v2;          \
		v2 = ROTL(v2, 32); \
	} while (0)

uint64_t tsrv_siphash(const uint64_t key[2], const void *data, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ key[0], v1 = 0x646f72616e646f6dull ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ull ^ key[0], v3 = 0x7465646279746573ull ^ key[1];
	const uint8_t *p = data;
	uint64_t m, b = (uint64_t)len << 56;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, p + i, 8); /* little-endian hosts only, like the rest of ringseed */
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t k = 0; i + k < len; k++)
		b |= (uint64_t)p[i + k] << (8 * k);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* --- xoshiro256** (Blackman & Vigna), seeded from getrandom in tsrv_init --- */

uint64_t tsrv_rand(struct tsrv *t)
{
	uint64_t *s = t->rng, r = ROTL(s[1] * 5, 7) * 9, x = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= x;
	s[3] = ROTL(s[3], 45);
	return r;
}

/* Uniform in [0, n), n > 0 (Lemire's multiply-and-reject). */
static uint32_t tsrv_below(struct tsrv *t, uint32_t n)
{
	uint64_t m = (tsrv_rand(t) >> 32) * n;

	if ((uint32_t)m < n) {
		uint32_t floor = (uint32_t)-n % n;

		while ((uint32_t)m < floor)
			m = (tsrv_rand(t) >> 32) * n;
	}
	return (uint32_t)(m >> 32);
}

/* --- the swarm table --- */

static uint32_t swarm_home(const struct tsrv *t, const uint8_t ih[TRK_HASH_LEN])
{
	return (uint32_t)tsrv_siphash(t->hkey, ih, TRK_HASH_LEN) & (t->swarms_cap - 1);
}

static uint32_t swarm_slot(const struct tsrv *t, const uint8_t ih[TRK_HASH_LEN])
{
	uint32_t i = swarm_home(t, ih), mask = t->swarms_cap - 1;

	while (t->swarms[i] && memcmp(t->swarms[i]->info_hash, ih, TRK_HASH_LEN) != 0)
		i = (i + 1) & mask;
	return i;
}

static struct tsrv_swarm *swarm_find(const struct tsrv *t, const uint8_t ih[TRK_HASH_LEN])
{
	return t->swarms[swarm_slot(t, ih)];
}

static int swarm_grow(struct tsrv *t)
{
	uint32_t cap = t->swarms_cap * 2, old = t->swarms_cap;
	struct tsrv_swarm **o = t->swarms, **n = calloc(cap, sizeof(*n));

	if (!n)
		return -ENOMEM;
	t->swarms = n;
	t->swarms_cap = cap;
	for (uint32_t i = 0; i < old; i++)
		if (o[i])
			n[swarm_slot(t, o[i]->info_hash)] = o[i];
	free(o);
	t->sweep_slot = 0;
	return 0;
}

/* A new empty swarm; NULL when out of memory. */
static struct tsrv_swarm *swarm_add(struct tsrv *t, const uint8_t ih[TRK_HASH_LEN], bool allowed)
{
	struct tsrv_swarm *s;

	if ((t->n_swarms + 1) * 2 > t->swarms_cap && swarm_grow(t) != 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	memcpy(s->info_hash, ih, TRK_HASH_LEN);
	s->allowed = allowed;
	t->swarms[swarm_slot(t, ih)] = s;
	t->n_swarms++;
	t->n_foreign += !allowed;
	return s;
}

static void swarm_free(struct tsrv *t, struct tsrv_swarm *s)
{
	uint32_t i = swarm_slot(t, s->info_hash), j = i, mask = t->swarms_cap - 1;

	/* backward-shift deletion: pull later entries of the run into the hole */
	for (;;) {
		uint32_t k;

		j = (j + 1) & mask;
		if (!t->swarms[j])
			break;
		k = swarm_home(t, t->swarms[j]->info_hash);
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			t->swarms[i] = t->swarms[j];
			i = j;
		}
	}
	t->swarms[i] = NULL;
	t->n_swarms--;
	t->n_foreign -= !s->allowed;
	t->n_peers -= s->fam[0].n + s->fam[1].n;
	free(s->fam[0].p);
	free(s->fam[1].p);
	free(s->index);
	free(s);
}

/* --- a swarm's peer index, by (peer_id, family) --- */

static uint32_t idx_enc(unsigned fam, uint32_t pos)
{
	return (uint32_t)fam << 31 | (pos + 1);
}

static struct tsrv_peer *idx_peer(struct tsrv_swarm *s, uint32_t e)
{
	return &s->fam[e >> 31].p[(e & 0x7fffffff) - 1];
}

static uint32_t idx_home(const struct tsrv *t, const struct tsrv_swarm *s,
			 const uint8_t peer_id[20], unsigned fam)
{
	uint8_t k[21];

	memcpy(k, peer_id, 20);
	k[20] = (uint8_t)fam;
	return (uint32_t)tsrv_siphash(t->hkey, k, sizeof(k)) & (s->index_cap - 1);
}

/* The index slot of (peer_id, fam): its entry, or the empty slot where it would go. */
static uint32_t idx_slot(const struct tsrv *t, struct tsrv_swarm *s, const uint8_t peer_id[20],
			 unsigned fam)
{
	uint32_t i = idx_home(t, s, peer_id, fam), mask = s->index_cap - 1, e;

	while ((e = s->index[i]) != 0) {
		if (e >> 31 == fam && memcmp(idx_peer(s, e)->peer_id, peer_id, 20) == 0)
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static int idx_rebuild(const struct tsrv *t, struct tsrv_swarm *s, uint32_t cap)
{
	uint32_t *n = calloc(cap, sizeof(*n));

	if (!n)
		return -ENOMEM;
	free(s->index);
	s->index = n;
	s->index_cap = cap;
	for (unsigned f = 0; f < 2; f++)
		for (uint32_t i = 0; i < s->fam[f].n; i++) {
			struct tsrv_peer *p = &s->fam[f].p[i];

			p->hslot = idx_slot(t, s, p->peer_id, f);
			s->index[p->hslot] = idx_enc(f, i);
		}
	return 0;
}

static void idx_del(const struct tsrv *t, struct tsrv_swarm *s, uint32_t i)
{
	uint32_t j = i, mask = s->index_cap - 1;

	for (;;) {
		uint32_t k, e;

		j = (j + 1) & mask;
		e = s->index[j];
		if (!e)
			break;
		k = idx_home(t, s, idx_peer(s, e)->peer_id, e >> 31);
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			s->index[i] = e;
			idx_peer(s, e)->hslot = i;
			i = j;
		}
	}
	s->index[i] = 0;
}

/* --- a family's peer array: leechers first --- */

static void pl_swap(struct tsrv_swarm *s, unsigned fam, uint32_t a, uint32_t b)
{
	struct tsrv_plist *l = &s->fam[fam];
	struct tsrv_peer tmp;

	if (a == b)
		return;
	tmp = l->p[a];
	l->p[a] = l->p[b];
	l->p[b] = tmp;
	s->index[l->p[a].hslot] = idx_enc(fam, a);
	s->index[l->p[b].hslot] = idx_enc(fam, b);
}

/* Moves the peer at pos to the seeder or leecher side; returns where it is now. */
static uint32_t pl_set_seeder(struct tsrv_swarm *s, unsigned fam, uint32_t pos, bool seeder)
{
	struct tsrv_plist *l = &s->fam[fam];

	if (seeder && pos < l->nleech) {
		pl_swap(s, fam, pos, l->nleech - 1);
		return --l->nleech;
	}
	if (!seeder && pos >= l->nleech) {
		pl_swap(s, fam, pos, l->nleech);
		return l->nleech++;
	}
	return pos;
}

static void pl_remove(struct tsrv *t, struct tsrv_swarm *s, unsigned fam, uint32_t pos)
{
	struct tsrv_plist *l = &s->fam[fam];

	if (pos < l->nleech)
		pos = pl_set_seeder(s, fam, pos, true);
	pl_swap(s, fam, pos, l->n - 1);
	l->n--;
	idx_del(t, s, l->p[l->n].hslot);
	t->n_peers--;
}

/* A new peer at the end of its side; -ENOMEM leaves the swarm as it was. */
static int pl_insert(struct tsrv *t, struct tsrv_swarm *s, unsigned fam, const struct tsrv_peer *np,
		     bool seeder, uint32_t *pos)
{
	struct tsrv_plist *l = &s->fam[fam];
	uint32_t total = s->fam[0].n + s->fam[1].n;

	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : TSRV_PLIST_MIN;
		struct tsrv_peer *p = realloc(l->p, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->p = p;
		l->cap = cap;
	}
	if ((total + 1) * 2 > s->index_cap) {
		uint32_t cap = s->index_cap ? s->index_cap * 2 : TSRV_INDEX_MIN;

		if (idx_rebuild(t, s, cap) != 0)
			return -ENOMEM;
	}
	l->p[l->n] = *np;
	l->p[l->n].hslot = idx_slot(t, s, np->peer_id, fam);
	s->index[l->p[l->n].hslot] = idx_enc(fam, l->n);
	l->n++;
	t->n_peers++;
	*pos = pl_set_seeder(s, fam, l->n - 1, seeder);
	return 0;
}

/* --- selection: k peers of [0, range) without replacement, skipping self --- */

static uint32_t fy_get(struct tsrv *t, uint32_t key)
{
	uint32_t i = (key * 0x9e3779b1u) >> 20; /* 12 bits: TSRV_FY_CAP */

	for (;; i = (i + 1) & (TSRV_FY_CAP - 1)) {
		if (t->fy[i].gen != t->fy_gen)
			return key;
		if (t->fy[i].key == key)
			return t->fy[i].val;
	}
}

static void fy_set(struct tsrv *t, uint32_t key, uint32_t val)
{
	uint32_t i = (key * 0x9e3779b1u) >> 20;

	while (t->fy[i].gen == t->fy_gen && t->fy[i].key != key)
		i = (i + 1) & (TSRV_FY_CAP - 1);
	t->fy[i] = (struct tsrv_fy){ .gen = t->fy_gen, .key = key, .val = val };
}

_Static_assert(TSRV_FY_CAP == 1u << 12 && TSRV_FY_CAP > 2 * (TSRV_NUMWANT_MAX + 1),
	       "fy_get hashes to 12 bits");

static void sel_put(struct trk_peer *o, const struct tsrv_peer *p, unsigned fam)
{
	o->family = fam ? AF_INET6 : AF_INET;
	memcpy(o->addr, p->addr, 16);
	o->port = p->port;
	o->has_id = true;
	memcpy(o->peer_id, p->peer_id, 20);
}

/*
 * Partial Fisher-Yates over a virtual copy of p[0, range): the map holds the
 * positions that differ from the array, so a request costs O(k), not O(range),
 * and the array (which the index points into) is never shuffled.
 */
static unsigned select_peers(struct tsrv *t, const struct tsrv_plist *l, unsigned fam,
			     uint32_t range, uint32_t self, uint32_t k)
{
	if (++t->fy_gen == 0) { /* a stamp wrapped: forget every old entry */
		memset(t->fy, 0, TSRV_FY_CAP * sizeof(*t->fy));
		t->fy_gen = 1;
	}
	if (self < range) {
		fy_set(t, self, range - 1);
		range--;
	}
	if (k > range)
		k = range;
	for (uint32_t i = 0; i < k; i++) {
		uint32_t j = i + tsrv_below(t, range - i), vj = fy_get(t, j);

		fy_set(t, j, fy_get(t, i));
		sel_put(&t->sel[i], &l->p[vj], fam);
	}
	return k;
}

/* --- announce and scrape --- */

static void swarm_counts(const struct tsrv_swarm *s, uint32_t *complete, uint32_t *incomplete)
{
	*incomplete = s->fam[0].nleech + s->fam[1].nleech;
	*complete = s->fam[0].n + s->fam[1].n - *incomplete;
}

/* The swarm for an announce, created if it may be; NULL with out->refused set. */
static struct tsrv_swarm *announce_swarm(struct tsrv *t, const struct trk_query *q,
					 struct tsrv_ann *out)
{
	struct tsrv_swarm *s = swarm_find(t, q->info_hash);

	if (s && (s->allowed || t->open))
		return s;
	if (s || !t->open) {
		t->stat[TSTAT_REFUSED_UNKNOWN]++;
		out->refused = "unregistered torrent";
		return NULL;
	}
	if (q->event == TRK_EVENT_STOPPED)
		return NULL; /* nothing to remove, nothing to create */
	if (t->n_foreign >= t->max_swarms) {
		t->stat[TSTAT_REFUSED_SWARMS]++;
		out->refused = "tracker full: too many torrents";
		return NULL;
	}
	s = swarm_add(t, q->info_hash, false);
	if (!s) {
		t->stat[TSTAT_REFUSED_SWARMS]++;
		out->refused = "tracker out of memory";
	}
	return s;
}

/* Whether an announce from addr may speak for the peer stored as p. */
static bool announce_owns(const struct tsrv_peer *p, const struct trk_query *q,
			  const uint8_t addr[16])
{
	if (memcmp(p->addr, addr, 16) == 0)
		return true;
	/* BEP 7: a client whose address changed proves itself with its key */
	return !p->has_key || (q->has_key && q->key == p->key);
}

/*
 * One announce, HTTP or UDP alike: finds or adds the swarm and the peer,
 * applies the event, and leaves up to want peers of the same family in
 * t->sel. A refusal is counted and named in out->refused.
 */
void tsrv_announce(struct tsrv *t, const struct trk_query *q, int family, const uint8_t addr[16],
		   uint32_t want, struct tsrv_ann *out)
{
	unsigned fam = family == AF_INET6;
	uint32_t now_s = (uint32_t)(t->now_ms / 1000), slot, pos = UINT32_MAX;
	bool seeder = q->left == 0, found;
	struct tsrv_swarm *s;
	struct tsrv_plist *l;

	*out = (struct tsrv_ann){ 0 };
	s = announce_swarm(t, q, out);
	if (!s) {
		t->stat[TSTAT_ANNOUNCES] +=
			!out->refused; /* stopped, in a swarm that is not there */
		return;
	}
	if (!s->index_cap && idx_rebuild(t, s, TSRV_INDEX_MIN) != 0)
		goto oom;
	l = &s->fam[fam];
	slot = idx_slot(t, s, q->peer_id, fam);
	found = s->index[slot] != 0;
	if (found)
		pos = (s->index[slot] & 0x7fffffff) - 1;
	if (found && announce_owns(&l->p[pos], q, addr)) {
		struct tsrv_peer *p = &l->p[pos];

		if (q->event == TRK_EVENT_STOPPED) {
			pl_remove(t, s, fam, pos);
			pos = UINT32_MAX;
		} else {
			memcpy(p->addr, addr, 16);
			p->port = q->port;
			p->seen_s = now_s;
			if (q->has_key) {
				p->has_key = true;
				p->key = q->key;
			}
			s->downloaded += q->event == TRK_EVENT_COMPLETED && pos < l->nleech;
			pos = pl_set_seeder(s, fam, pos, seeder);
		}
	} else if (!found && q->event != TRK_EVENT_STOPPED) {
		struct tsrv_peer np = {
			.port = q->port, .has_key = q->has_key, .key = q->key, .seen_s = now_s
		};

		if (s->fam[0].n + s->fam[1].n >= t->max_peers) {
			t->stat[TSTAT_REFUSED_PEERS]++;
			out->refused = "swarm full: too many peers";
			return;
		}
		memcpy(np.peer_id, q->peer_id, 20);
		memcpy(np.addr, addr, 16);
		if (pl_insert(t, s, fam, &np, seeder, &pos) != 0)
			goto oom;
		s->downloaded += q->event == TRK_EVENT_COMPLETED;
	}
	/* a peer id held from another address: answered, but the entry is not touched */
	t->stat[TSTAT_ANNOUNCES]++;
	swarm_counts(s, &out->complete, &out->incomplete);
	if (q->event != TRK_EVENT_STOPPED && want)
		out->n = select_peers(t, l, fam, seeder ? l->nleech : l->n, pos, want);
	if (!s->allowed && !s->fam[0].n && !s->fam[1].n)
		swarm_free(t, s);
	return;
oom:
	t->stat[TSTAT_REFUSED_PEERS]++;
	out->refused = "tracker out of memory";
	if (!s->allowed && !s->fam[0].n && !s->fam[1].n)
		swarm_free(t, s);
}

void tsrv_scrape_one(const struct tsrv *t, const uint8_t info_hash[TRK_HASH_LEN],
		     struct trk_scrape *sc)
{
	const struct tsrv_swarm *s = swarm_find(t, info_hash);

	*sc = (struct trk_scrape){ 0 };
	if (!s || (!s->allowed && !t->open))
		return;
	swarm_counts(s, &sc->complete, &sc->incomplete);
	sc->downloaded = s->downloaded;
}

/* --- allow, expiry --- */

void tsrv_allow(struct tsrv *t, const uint8_t info_hash[TRK_HASH_LEN])
{
	struct tsrv_swarm *s;

	if (!t->enabled)
		return;
	s = swarm_find(t, info_hash);
	if (s && !s->allowed) {
		s->allowed = true;
		t->n_foreign--;
	} else if (!s) {
		swarm_add(t, info_hash,
			  true); /* out of memory: refused as unknown, tried again later */
	}
}

/* A torrent we stopped serving: its swarm goes unless the tracker is open and it has peers. */
void tsrv_disallow(struct tsrv *t, const uint8_t info_hash[TRK_HASH_LEN])
{
	struct tsrv_swarm *s;

	if (!t->enabled)
		return;
	s = swarm_find(t, info_hash);
	if (!s || !s->allowed)
		return;
	s->allowed = false;
	t->n_foreign++;
	if (!t->open || !(s->fam[0].n + s->fam[1].n))
		swarm_free(t, s);
}

/* Closing an open tracker: strangers' swarms go at once. */
void tsrv_drop_foreign(struct tsrv *t)
{
	for (uint32_t i = 0; i < t->swarms_cap && t->n_foreign;) {
		if (t->swarms[i] && !t->swarms[i]->allowed)
			swarm_free(t, t->swarms[i]); /* a later entry may move here: look again */
		else
			i++;
	}
}

/*
 * Drops peers not heard from in 2 x interval, and strangers' swarms left
 * empty. Visits at most budget peers and table slots, resuming where the last
 * call stopped; a table resized in between only restarts the round.
 */
void tsrv_sweep(struct tsrv *t, uint32_t budget)
{
	uint32_t now_s = (uint32_t)(t->now_ms / 1000), ttl = 2 * t->interval;

	while (budget && t->n_swarms) {
		struct tsrv_swarm *s;
		struct tsrv_plist *l;

		if (t->sweep_slot >= t->swarms_cap)
			t->sweep_slot = 0;
		s = t->swarms[t->sweep_slot];
		budget--;
		if (!s || t->sweep_fam > 1) {
			t->sweep_slot++;
			t->sweep_fam = 0;
			t->sweep_pos = 0;
			continue;
		}
		l = &s->fam[t->sweep_fam];
		while (budget && t->sweep_pos < l->n) {
			budget--;
			if (now_s - l->p[t->sweep_pos].seen_s > ttl) {
				pl_remove(t, s, t->sweep_fam,
					  t->sweep_pos); /* an unseen peer moves in */
				t->stat[TSTAT_EXPIRED]++;
			} else {
				t->sweep_pos++;
			}
		}
		if (t->sweep_pos < l->n)
			break; /* out of budget inside this swarm */
		t->sweep_pos = 0;
		if (++t->sweep_fam > 1 && !s->allowed && !s->fam[0].n && !s->fam[1].n) {
			swarm_free(t, s); /* another swarm may move into this slot: keep the slot */
			t->sweep_fam = 0;
		}
	}
}

int tsrv_tables_init(struct tsrv *t)
{
	t->swarms_cap = TSRV_SWARMS_MIN;
	t->swarms = calloc(t->swarms_cap, sizeof(*t->swarms));
	t->fy = calloc(TSRV_FY_CAP, sizeof(*t->fy));
	t->sel = calloc(TSRV_NUMWANT_MAX, sizeof(*t->sel));
	if (!t->swarms || !t->fy || !t->sel)
		return -ENOMEM;
	return 0;
}

void tsrv_tables_free(struct tsrv *t)
{
	for (uint32_t i = 0; t->swarms && i < t->swarms_cap; i++) {
		struct tsrv_swarm *s = t->swarms[i];

		if (s) {
			free(s->fam[0].p);
			free(s->fam[1].p);
			free(s->index);
			free(s);
		}
	}
	free(t->swarms);
	free(t->fy);
	free(t->sel);
	t->swarms = NULL;
	t->fy = NULL;
	t->sel = NULL;
	t->swarms_cap = t->n_swarms = t->n_foreign = 0;
	t->n_peers = 0;
}
