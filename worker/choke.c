/*
 * choke.c - who holds the box's unchoke slots (serve.choker,
 * serve.unchoke_slots), and the allowed fast sets of BEP 6.
 *
 * Slots are per box, not per worker: the peers of one torrent sit on every
 * worker, and an operator who asks for 4 slots means 4. Each worker scores
 * its candidates (interested peers) by the choker's rule, higher is better:
 *
 *   all          an unchoked peer keeps its slot; waiting ones by wait
 *   round_robin  an unchoked peer keeps its slot until it had its quota
 *                (4 pieces, at least 1 MiB) or a minute; then the peer
 *                that waited longest takes it (libtorrent's seeding choker)
 *   fastest      our upload rate to it over the last interval, waits
 *                breaking ties; plus one optimistic unchoke that rotates
 *                every serve.optimistic_interval (BEP 3's choker as a seed)
 *   anti_leech   distance from half complete (|2 have - pieces| / pieces):
 *                peers near 0% and near 100% first, waits breaking ties
 *
 * Rechokes run at the same instants on every worker, at multiples of
 * serve.rechoke_interval on the monotonic clock all processes share: each
 * worker publishes its best scores in the box's shared area
 * (worker_shared.pub), then CHOKE_DECIDE_MS later every worker merges all
 * the lists of that round and takes as many slots as it has peers among the
 * best unchoke_slots (ties go to the lower worker index, so every worker
 * counts the same split). A worker that missed the round (busy, restarted)
 * is left out of it; a slot nobody claimed (fewer candidates than slots)
 * is spread evenly, so a peer that turns up between rechokes is unchoked at
 * once if its worker has room. The optimistic unchoke goes to one worker per
 * round, found the same way by all (round number modulo workers, the first
 * with a peer left out), which unchokes its peer unchoked optimistically
 * longest ago. With more slots than WORKER_PUB_MAX, a worker's share is
 * proportional to its candidates instead.
 *
 * Choking a peer with requests queued rejects them (BEP 6) or drops them
 * (BEP 3), except requests for its allowed fast pieces, which are served
 * while it is choked: a choked peer with such requests goes through the
 * batch states holding no slot (fast_serving) and back.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "iocore/log.h"
#include "proto/fast.h"
#include "worker/wk.h"

#define CHOKE_DECIDE_MS 300		   /* after the publish, when every worker decides */
#define CHOKE_KEEP	(1ull << 62)	   /* the score of a peer that keeps its slot */
#define CHOKE_RR_MS	60000		   /* round_robin: the longest a slot is kept */
#define CHOKE_RR_MIN	(1u << 20)	   /* round_robin: the smallest quota, bytes */
#define CHOKE_RR_PIECES 4		   /* round_robin: quota in pieces */
#define CHOKE_WAIT_MAX	((1ull << 20) - 1) /* ms of wait a score can tell apart */

static bool choke_unchoked_state(const struct peer *p)
{
	return (p->state == PEER_SERVING || p->state == PEER_WAITING_BATCH ||
		p->state == PEER_BATCH || p->state == PEER_WAITING_ROOM) &&
	       !p->ch.fast_serving;
}

bool choke_limited(const struct worker *w)
{
	return w->conf->unchoke_slots > 0;
}

static uint64_t choke_interval_ms(const struct worker *w)
{
	return (uint64_t)w->conf->rechoke_interval * 1000;
}

/*
 * Slots that no worker's share holds (fewer candidates than slots) are a
 * pool for the whole box, so that a peer that turns up between rechokes is
 * unchoked at once wherever it lands: the round's epoch and how many were
 * taken, in one word of the shared area.
 */
static uint32_t choke_spare_taken(const struct worker *w)
{
	uint64_t v = __atomic_load_n(&w->a->shared->spare, __ATOMIC_RELAXED);

	return (uint32_t)(v >> 32) == w->ch.round ? (uint32_t)v : 0;
}

/* A new round: the pool starts again, less the slots this worker's newcomers hold. */
static void choke_spare_reset(struct worker *w, uint32_t held)
{
	uint64_t v = __atomic_load_n(&w->a->shared->spare, __ATOMIC_RELAXED);
	uint64_t fresh = (uint64_t)w->ch.round << 32;

	while ((uint32_t)(v >> 32) != w->ch.round &&
	       !__atomic_compare_exchange_n(&w->a->shared->spare, &v, fresh, true, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
	__atomic_fetch_add(&w->a->shared->spare, held, __ATOMIC_RELAXED);
}

bool choke_room(const struct worker *w)
{
	if (!choke_limited(w) || w->unchoked < w->ch.allowance)
		return true;
	if (!w->a->shared) /* a worker alone (tests): the slots are all its own */
		return w->unchoked < (uint32_t)w->conf->unchoke_slots;
	/* Before the first round, every slot is in the pool. */
	return choke_spare_taken(w) < w->ch.unclaimed;
}

/* --- scores --- */

/*
 * How long p has waited for a slot at time now. Rankings take now as the
 * round's instant (epoch x interval), not the moment a worker got to it, so
 * that waits published by different workers compare.
 */
static uint64_t choke_wait(const struct peer *p, uint64_t now)
{
	uint64_t d = choke_unchoked_state(p) || now < p->ch.since_ms ? 0 : now - p->ch.since_ms;

	return d > CHOKE_WAIT_MAX ? CHOKE_WAIT_MAX : d;
}

static uint64_t choke_rr_quota(const struct peer *p)
{
	uint64_t q = (uint64_t)p->t->mi.piece_length * CHOKE_RR_PIECES;

	return q < CHOKE_RR_MIN ? CHOKE_RR_MIN : q;
}

/* How much p deserves a slot, by the choker's rule (the top of this file); >= 1. */
static uint64_t choke_score(const struct worker *w, const struct peer *p, uint64_t now)
{
	bool up = choke_unchoked_state(p);
	uint64_t wait = choke_wait(p, now), n = p->t->mi.piece_count, have = p->ch.have_n;
	uint64_t rate = p->ch.rate > (1ull << 40) ? (1ull << 40) : p->ch.rate;

	switch (w->conf->choker) {
	case CONF_CHOKER_ROUND_ROBIN:
		if (up)
			return p->ch.sent - p->ch.sent_at_unchoke < choke_rr_quota(p) &&
					       now < p->ch.since_ms + CHOKE_RR_MS
				       ? CHOKE_KEEP
				       : 1;
		return 2 + wait;
	case CONF_CHOKER_FASTEST:
		return (rate << 20 | wait) + 1;
	case CONF_CHOKER_ANTI_LEECH:
		have = have > n ? n : have;
		return ((2 * have > n ? 2 * have - n : n - 2 * have) * 65536 / (n ? n : 1)) << 32 |
		       (wait + 1);
	default: /* all: first come, first served, never rotated */
		return up ? CHOKE_KEEP : 1 + wait;
	}
}

/* --- candidates, ranked --- */

struct choke_cand {
	uint64_t score;
	uint32_t slot;
};

static int choke_cand_cmp(const void *a, const void *b)
{
	const struct choke_cand *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/*
 * This worker's candidates, best first, into w->ch_cand; returns how many.
 * At a publish they are marked with its epoch; a decision ranks only those.
 */
static uint32_t choke_rank(struct worker *w, uint64_t now, bool publish)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < (uint32_t)w->conf->max_peers; i++) {
		struct peer *p = &w->peers[i];

		if (!peer_open(p) || p->state == PEER_INTRO || !p->interested)
			continue;
		if (publish)
			p->ch.pub_epoch = (uint32_t)w->ch.epoch;
		else if (p->ch.pub_epoch != (uint32_t)w->ch.epoch)
			continue; /* came after the lists were made: left as it is */
		w->ch_cand[n++] = (struct choke_cand){ choke_score(w, p, now), i };
	}
	qsort(w->ch_cand, n, sizeof(*w->ch_cand), choke_cand_cmp);
	return n;
}

/* --- publish --- */

static void choke_publish(struct worker *w, uint64_t now)
{
	struct worker_pub *pub = &w->a->shared->pub[w->a->index];
	uint64_t dt = now - w->ch.pub_ms;
	uint32_t n, k;

	for (uint32_t i = 0; i < (uint32_t)w->conf->max_peers; i++) {
		struct peer *p = &w->peers[i];

		if (!peer_open(p))
			continue;
		p->ch.rate = dt ? (p->ch.sent - p->ch.sent_at_pub) * 1000 / dt : 0;
		p->ch.sent_at_pub = p->ch.sent;
	}
	w->ch.pub_ms = now;
	w->ch.epoch = now / choke_interval_ms(w);
	n = choke_rank(w, w->ch.epoch * choke_interval_ms(w), true);
	k = n < WORKER_PUB_MAX ? n : WORKER_PUB_MAX;
	__atomic_store_n(&pub->seq, pub->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (uint32_t i = 0; i < k; i++)
		__atomic_store_n(&pub->score[i], w->ch_cand[i].score, __ATOMIC_RELAXED);
	__atomic_store_n(&pub->n, k, __ATOMIC_RELAXED);
	__atomic_store_n(&pub->candidates, n, __ATOMIC_RELAXED);
	__atomic_store_n(&pub->epoch, w->ch.epoch, __ATOMIC_RELAXED);
	__atomic_store_n(&pub->seq, pub->seq + 1, __ATOMIC_RELEASE);
}

/* One worker's list of this round, copied whole; false if it has none or it kept changing. */
static bool choke_read_pub(const struct worker_pub *pub, uint64_t epoch, struct worker_pub *out)
{
	for (int tries = 0; tries < 4; tries++) {
		uint32_t s1 = __atomic_load_n(&pub->seq, __ATOMIC_ACQUIRE), s2;

		if (s1 & 1)
			continue;
		out->epoch = __atomic_load_n(&pub->epoch, __ATOMIC_RELAXED);
		out->candidates = __atomic_load_n(&pub->candidates, __ATOMIC_RELAXED);
		out->n = __atomic_load_n(&pub->n, __ATOMIC_RELAXED);
		if (out->n > WORKER_PUB_MAX)
			out->n = WORKER_PUB_MAX;
		for (uint32_t i = 0; i < out->n; i++)
			out->score[i] = __atomic_load_n(&pub->score[i], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&pub->seq, __ATOMIC_RELAXED);
		if (s1 == s2)
			return out->epoch == epoch;
	}
	return false;
}

/* --- decide --- */

struct choke_split {
	uint32_t mine;	    /* slots this worker takes */
	uint32_t unclaimed; /* slots nobody's candidates fill */
	int opt_owner;	    /* the worker that unchokes optimistically; -1: none */
};

/*
 * Every worker's share of the slots this round: the best unchoke_slots
 * scores of all lists, ties to the lower worker index.
 */
static void choke_split(struct worker *w, struct choke_split *sp)
{
	unsigned nw = w->a->workers, at[256] = { 0 };
	uint32_t slots = (uint32_t)w->conf->unchoke_slots, taken = 0, in_top[256] = { 0 };
	uint32_t cands[256] = { 0 };
	uint64_t total = 0, round;
	struct worker_pub *pubs = w->ch_pubs;
	bool ok[256] = { false };

	*sp = (struct choke_split){ .opt_owner = -1 };
	if (nw > 256)
		nw = 256;
	for (unsigned i = 0; i < nw; i++) {
		ok[i] = choke_read_pub(&w->a->shared->pub[i], w->ch.epoch, &pubs[i]);
		cands[i] = ok[i] ? pubs[i].candidates : 0;
		total += cands[i];
	}
	if (slots > WORKER_PUB_MAX) { /* proportional: lists too short to merge */
		for (unsigned i = 0; i < nw; i++)
			in_top[i] = total ? (uint32_t)((uint64_t)slots * cands[i] / total) : 0;
	} else {
		/* Merge: the best head among the lists, the lower index on ties. */
		while (taken < slots) {
			int best = -1;

			for (unsigned i = 0; i < nw; i++)
				if (ok[i] && at[i] < pubs[i].n &&
				    (best < 0 || pubs[i].score[at[i]] > pubs[best].score[at[best]]))
					best = (int)i;
			if (best < 0)
				break;
			at[best]++;
			in_top[best]++;
			taken++;
		}
	}
	sp->mine = in_top[w->a->index];
	sp->unclaimed = total < slots ? slots - (uint32_t)total : 0;
	if (w->conf->choker != CONF_CHOKER_FASTEST)
		return;
	round = w->ch.epoch * choke_interval_ms(w) /
		((uint64_t)w->conf->optimistic_interval * 1000);
	for (unsigned k = 0; k < nw; k++) {
		unsigned i = (unsigned)((round + k) % nw);

		if (cands[i] > in_top[i]) {
			sp->opt_owner = (int)i;
			break;
		}
	}
}

/* Takes p's slot; a batch in flight ends first (peer.c chokes it then). */
static void choke_take(struct worker *w, struct peer *p)
{
	p->ch.optimistic = false;
	if (p->state == PEER_BATCH || p->state == PEER_WAITING_ROOM)
		p->ch.choke_pending = true;
	else
		peer_advance(w, p, PEV_CHOKE);
}

static void choke_give(struct worker *w, struct peer *p)
{
	p->ch.choke_pending = false;
	if (p->state != PEER_WAITING_SLOT)
		return;
	wk_queue_remove(&w->unchoke_wait, p);
	peer_advance(w, p, PEV_SLOT_FREE);
}

/* The optimistic pick: the left-out candidate unchoked optimistically longest ago. */
static struct peer *choke_pick_opt(struct worker *w, uint32_t from, uint32_t n)
{
	struct peer *best = NULL;

	for (uint32_t i = from; i < n; i++) {
		struct peer *p = &w->peers[w->ch_cand[i].slot];

		if (p->ch.fast_serving)
			continue;
		if (p->ch.optimistic)
			return p; /* this round's: keeps it */
		if (!best || p->ch.last_opt_ms < best->ch.last_opt_ms)
			best = p;
	}
	return best;
}

static void choke_decide(struct worker *w, uint64_t now)
{
	struct choke_split sp;
	uint32_t n = choke_rank(w, w->ch.epoch * choke_interval_ms(w), false), mine, held = 0;
	uint64_t round = w->ch.epoch * choke_interval_ms(w) /
			 ((uint64_t)w->conf->optimistic_interval * 1000); /* as choke_split's */
	struct peer *opt = NULL;

	choke_split(w, &sp);
	mine = sp.mine < n ? sp.mine : n;
	if (w->ch.opt_round != round)
		for (uint32_t i = 0; i < n; i++)
			w->peers[w->ch_cand[i].slot].ch.optimistic = false;
	if (sp.opt_owner == (int)w->a->index && (opt = choke_pick_opt(w, mine, n))) {
		if (!opt->ch.optimistic) {
			opt->ch.optimistic = true;
			opt->ch.last_opt_ms = now;
			w->ch.opt_round = round;
			wk_count(w, WSTAT_OPTIMISTIC, 1);
		}
	}
	/* Choke first, so that the slots are free for the unchokes. */
	for (uint32_t i = 0; i < (uint32_t)w->conf->max_peers; i++) {
		struct peer *p = &w->peers[i];

		if (!peer_open(p) || !choke_unchoked_state(p))
			continue;
		p->ch.pooled = p->interested && p->ch.pub_epoch != (uint32_t)w->ch.epoch;
		p->ch.pool_round = (uint32_t)w->ch.epoch;
		if (!p->interested)
			choke_take(w, p);
		else if (p->ch.pooled)
			held++; /* a newcomer unchoked from the pool keeps its slot */
	}
	for (uint32_t i = mine; i < n; i++) {
		struct peer *p = &w->peers[w->ch_cand[i].slot];

		if (p != opt && choke_unchoked_state(p))
			choke_take(w, p);
		else if (p != opt)
			p->ch.optimistic = false;
	}
	log_debug("rechoke %llu: %u candidates, %u slots here, %u newcomers, %u unclaimed%s",
		  (unsigned long long)w->ch.epoch, n, mine, held, sp.unclaimed,
		  opt ? ", optimistic" : "");
	w->ch.allowance = mine + held + (opt ? 1 : 0);
	w->ch.unclaimed = sp.unclaimed;
	w->ch.round = (uint32_t)w->ch.epoch;
	choke_spare_reset(w, held);
	for (uint32_t i = 0; i < mine; i++)
		choke_give(w, &w->peers[w->ch_cand[i].slot]);
	if (opt)
		choke_give(w, opt);
	wk_count(w, WSTAT_RECHOKES, 1);
}

/* --- the timer --- */

static void choke_init(struct worker *w)
{
	tw_timer_init(&w->ch.timer);
	w->ch.pub_ms = tw_now_ms();
	w->ch.unclaimed = (uint32_t)w->conf->unchoke_slots; /* all in the pool until a round */
	if (!choke_limited(w) || !w->ch_cand || !w->a->shared)
		return;
	tw_add(&w->wheel, &w->ch.timer, choke_interval_ms(w) - w->ch.pub_ms % choke_interval_ms(w));
}

bool choke_on_timer(struct worker *w, struct tw_timer *tm)
{
	uint64_t now = tw_now_ms(), iv = choke_interval_ms(w);

	if (tm != &w->ch.timer)
		return pace_on_timer(w, tm);
	if (!w->ch.deciding) {
		choke_publish(w, now);
		w->ch.deciding = true;
		tw_add(&w->wheel, tm, iv / 3 < CHOKE_DECIDE_MS ? iv / 3 : CHOKE_DECIDE_MS);
	} else {
		choke_decide(w, now);
		w->ch.deciding = false;
		tw_add(&w->wheel, tm, iv - now % iv);
	}
	return true;
}

/* Takes what the choker needs for max_peers peers, and starts its timers. */
int choke_setup(struct worker *w)
{
	if (choke_limited(w)) {
		w->ch_cand = calloc((size_t)w->conf->max_peers, sizeof(*w->ch_cand));
		w->ch_pubs = calloc(w->a->workers ? w->a->workers : 1, sizeof(*w->ch_pubs));
		if (!w->ch_cand || !w->ch_pubs)
			return -ENOMEM;
	}
	choke_init(w);
	pace_init(w);
	return 0;
}

void choke_fini(struct worker *w)
{
	free(w->ch_cand);
	free(w->ch_pubs);
	w->ch_cand = NULL;
	w->ch_pubs = NULL;
}

/* --- peer hooks --- */

/* BEP 6: the allowed fast set of an IPv4 peer (or IPv4-mapped); none for IPv6. */
static int choke_peer_ipv4(int fd, uint32_t *ip)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET) {
		*ip = ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr);
		return 0;
	}
	if (ss.ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(a6))
		return -1;
	*ip = (uint32_t)a6->s6_addr[12] << 24 | (uint32_t)a6->s6_addr[13] << 16 |
	      (uint32_t)a6->s6_addr[14] << 8 | a6->s6_addr[15];
	return 0;
}

void choke_admit(struct worker *w, struct peer *p, const uint8_t info_hash[20])
{
	uint32_t ip, k = (uint32_t)w->conf->allowed_fast;
	uint8_t m[9];

	p->ch.since_ms = tw_now_ms();
	if (!k || !p->fast || choke_peer_ipv4(p->fd, &ip) != 0 || !(p->ch.af = calloc(k, 4)))
		return;
	p->ch.af_n = (uint32_t)fast_allowed_set(ip, info_hash, p->t->mi.piece_count, k, p->ch.af);
	for (uint32_t i = 0; i < p->ch.af_n; i++) {
		uint32_t piece = p->ch.af[i];

		if (!(p->t->have[piece / 8] & (0x80u >> (piece % 8))))
			continue; /* a piece we lack is no use to it */
		if (!peer_ctl(w, p, m, wire_put_have(m, WIRE_ALLOWED_FAST, piece)))
			return;
	}
}

void choke_free(struct peer *p)
{
	free(p->ch.af);
	p->ch.af = NULL;
	p->ch.af_n = 0;
}

bool choke_allowed(const struct peer *p, uint32_t piece)
{
	for (uint32_t i = 0; i < p->ch.af_n; i++)
		if (p->ch.af[i] == piece)
			return true;
	return false;
}

/* p took a slot (peer.c is entering SERVING from a choked state): tell it. */
bool choke_unchoked(struct worker *w, struct peer *p)
{
	uint8_t m[5];

	if (choke_limited(w) && w->unchoked >= w->ch.allowance && w->a->shared) {
		__atomic_fetch_add(&w->a->shared->spare, 1, __ATOMIC_RELAXED); /* from the pool */
		p->ch.pooled = true;
		p->ch.pool_round = w->ch.round;
	}
	w->unchoked++;
	p->ch.since_ms = tw_now_ms();
	p->ch.sent_at_unchoke = p->ch.sent;
	p->ch.choke_pending = false;
	wk_count(w, WSTAT_UNCHOKES, 1);
	return peer_ctl(w, p, m, wire_put_simple(m, WIRE_UNCHOKE));
}

/* p leaves its slot (choked, or closing): a slot of the pool goes back to it, same round. */
void choke_slot_freed(struct worker *w, struct peer *p)
{
	uint64_t v;

	w->unchoked--;
	if (!p->ch.pooled || !w->a->shared)
		return;
	p->ch.pooled = false;
	v = __atomic_load_n(&w->a->shared->spare, __ATOMIC_RELAXED);
	while ((uint32_t)(v >> 32) == p->ch.pool_round && (uint32_t)v > 0 &&
	       !__atomic_compare_exchange_n(&w->a->shared->spare, &v, v - 1, true, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

/*
 * p gave its slot back (peer.c is moving it from an unchoked state to
 * CHOKED or WAITING_SLOT): choke, then its queued requests are rejected
 * (BEP 6) or dropped (BEP 3), but for its allowed fast pieces.
 */
void choke_choked(struct worker *w, struct peer *p)
{
	uint32_t reqq = (uint32_t)w->conf->reqq, keep = 0;
	uint8_t m[WIRE_BLOCK_LEN];

	choke_slot_freed(w, p);
	p->ch.since_ms = tw_now_ms();
	p->ch.choke_pending = false;
	p->ch.optimistic = false;
	wk_count(w, WSTAT_CHOKES, 1);
	if (!peer_ctl(w, p, m, wire_put_simple(m, WIRE_CHOKE)))
		return;
	for (uint32_t i = 0; i < p->q_len; i++) {
		struct block_req r = p->q[(p->q_head + i) % reqq];

		if (choke_allowed(p, r.piece)) {
			p->q[(p->q_head + keep++) % reqq] = r;
		} else if (p->fast) {
			wk_count(w, WSTAT_REJECTS, 1);
			if (!peer_ctl(w, p, m,
				      wire_put_block(m, WIRE_REJECT, r.piece, r.begin, r.length)))
				return;
		}
	}
	p->q_len = keep;
}

void choke_have(struct peer *p, uint32_t piece)
{
	if (piece < p->t->mi.piece_count && p->ch.have_n < p->t->mi.piece_count)
		p->ch.have_n++;
}

void choke_bits(struct peer *p, const uint8_t *d, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		p->ch.have_n += (uint32_t)__builtin_popcount(d[i]);
}

void choke_sent(struct worker *w, struct peer *p, uint32_t blocks, uint64_t payload)
{
	p->ch.sent += payload;
	if (p->ch.fast_serving)
		wk_count(w, WSTAT_ALLOWED_FAST, blocks);
}

static bool choke_state_choked(enum peer_state s)
{
	return s == PEER_CHOKED || s == PEER_WAITING_SLOT;
}

/*
 * What moving between the choked and the unchoked states does, before
 * peer.c's own actions for the new state: a choked peer that starts a batch
 * serves its allowed fast requests (it leaves the slot queue, takes no
 * slot); one that comes back from that just clears the mark; one that loses
 * its slot is choked (choke_choked), and what it still may ask for is
 * served next turn.
 */
void choke_enter(struct worker *w, struct peer *p, int from_state)
{
	enum peer_state from = (enum peer_state)from_state;
	bool to_batch = p->state == PEER_BATCH || p->state == PEER_WAITING_BATCH;

	if (choke_state_choked(from) && to_batch) {
		p->ch.fast_serving = true;
		if (from == PEER_WAITING_SLOT)
			wk_queue_remove(&w->unchoke_wait, p);
		return;
	}
	if (choke_state_choked(from) || !choke_state_choked(p->state) || from == PEER_INTRO)
		return;
	if (from == PEER_WAITING_BATCH)
		wk_queue_remove(&w->batch_wait, p);
	if (p->ch.fast_serving)
		p->ch.fast_serving = false;
	else
		choke_choked(w, p);
	if (peer_open(p)) /* the choke goes out, and what it still may ask for */
		wk_ready(w, p);
}
