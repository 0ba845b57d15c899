/*
 * superseed.c - super-seeding (BEP 16): ringseed poses as a peer with
 * nothing and shows each peer one piece at a time, so that leechers fetch
 * most of the torrent from each other.
 *
 * A hidden peer (one that got have_none, or no bitfield at all without the
 * Fast extension) is shown one piece with `have`: the one the fewest peers
 * hold or have been shown (summed over every worker's row of the torrent's
 * shared area, worker.h struct worker_swarm). Its next piece comes once the
 * shown piece is seen at another peer (a `have` from someone else, counted
 * in any worker's row), or after serve.super_seed_timeout:
 *
 *   admit --(torrent in super mode)--> hidden, nothing shown
 *     | the peer's bitfield / have_none, or one tick
 *     v
 *   shown X (have X sent; X counted as shown in our row)
 *     | another peer has X (its have), or X is in the peer and somewhere
 *     | else, or the timeout
 *     v
 *   shown Y ... until every piece is shown or had
 *   (any state) --(auto: another seed appears)--> flushing: `have` for every
 *     piece not shown yet, a few KiB per pump, then a plain peer
 *
 * serve.super_seed = auto: a torrent is in super mode while no tracker
 * reports more than one seed (`complete` counts us) and no other seed is
 * connected to any worker. A seed that connects while we hide is kept (it
 * is our witness, counted in our row's seeds) and never shown anything; the
 * mode comes back when it leaves. Peers flushed stay plain.
 *
 * Requests: a hidden peer is served only the pieces shown to it; any other
 * is refused (reject_request with the Fast extension, else ignored) and
 * counted, except under auto, which never refuses what it has: there the
 * peer is served and made plain (it does not follow the reveal). Claims are checked: a peer that requests a piece it said it had,
 * or twice says it has a piece that only peers we showed it to could have
 * (and none of them has yet, a second after the claim), is a liar: its
 * claims are taken out of the counts and it is never heard again, so it can
 * neither speed up nor hold back anybody's next piece. Counted.
 *
 * Nothing here is on the block path: the counts change on have, bitfield and
 * close, the reveal runs on those and on the peer's one-second tick.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iocore/log.h"
#include "worker/wk.h"

#define SS_NONE		UINT32_MAX
#define SS_EVAL_MS	100  /* a torrent's mode is looked at no more often than this */
#define SS_FIRST_MS	1000 /* a peer that says nothing is shown its first piece after this */
#define SS_CLAIM_MS	1000 /* a suspicious claim is judged this long after it came */
#define SS_LIAR_STRIKES 2    /* impossible claims that make a liar */
#define SS_CLAIMS	16   /* suspicious claims waiting to be judged, per peer */
#define SS_FLUSH_LOW	4096 /* flushing: haves join the control bytes while fewer than this */
#define SS_POLL_MS	100  /* the peers waiting for a sighting look this often */

struct ss_torrent {
	struct worker_swarm *area; /* shared (WMSG_SWARM), or NULL: our own row only */
	size_t area_len;
	struct worker_swarm_row *row; /* ours: in the area, or `own` */
	struct worker_swarm_row *own;
	uint32_t pieces, rows, index;
	bool on;
	uint64_t eval_ms;  /* 0: never looked at */
	uint32_t *waiting; /* slots of this worker's peers we still show pieces to */
	uint32_t n_waiting, cap_waiting;
};

struct ss_peer {
	uint8_t *has;	/* pieces it said it has; NULL until it says one */
	uint8_t *shown; /* pieces we showed it; NULL until the first */
	uint32_t cur;	/* the piece shown last, whose sighting we wait for; SS_NONE */
	uint32_t base;	/* others with cur when it was shown (lowered as they leave) */
	uint64_t cur_ms, admit_ms;
	uint32_t flush;		   /* the next piece to flush; SS_NONE: not flushing */
	uint32_t claim[SS_CLAIMS]; /* suspicious haves, not counted until judged at claim_ms */
	uint64_t claim_ms[SS_CLAIMS];
	uint32_t n_claims;
	uint32_t wait_at; /* its place in the torrent's waiting list; SS_NONE: not there */
	uint32_t n_has;	  /* pieces in has */
	uint8_t strikes;
	bool hidden, seed, liar, heard;
};

static bool ss_bit(const uint8_t *b, uint32_t i)
{
	return b && (b[i / 8] & (0x80u >> (i % 8)));
}

/* Only this worker writes its row: a plain store, atomic for the readers. */
static void ss_row_add(struct worker_swarm_row *r, uint32_t k, int32_t d)
{
	__atomic_store_n(&r->cnt[k], r->cnt[k] + (uint32_t)d, __ATOMIC_RELAXED);
}

static void ss_seeds_add(struct worker_swarm_row *r, int32_t d)
{
	__atomic_store_n(&r->seeds, r->seeds + (uint32_t)d, __ATOMIC_RELAXED);
	__atomic_store_n(&r->leechers, r->leechers - (uint32_t)d, __ATOMIC_RELAXED);
}

static void ss_leechers_add(struct worker_swarm_row *r, int32_t d)
{
	__atomic_store_n(&r->leechers, r->leechers + (uint32_t)d, __ATOMIC_RELAXED);
}

/* Leechers of the torrent connected to any worker. */
static uint32_t ss_leechers(const struct ss_torrent *s)
{
	uint32_t n = 0;

	if (!s->area)
		return s->row->leechers;
	for (uint32_t r = 0; r < s->rows; r++)
		n += __atomic_load_n(&worker_swarm_row(s->area, r)->leechers, __ATOMIC_RELAXED);
	return n;
}

/* Summed over the rows: peers that have piece i ([0]) and were shown it ([1]). */
static void ss_sum(const struct ss_torrent *s, uint32_t i, uint32_t out[2])
{
	out[0] = out[1] = 0;
	if (!s->area) {
		out[0] = s->row->cnt[2 * i];
		out[1] = s->row->cnt[2 * i + 1];
		return;
	}
	for (uint32_t r = 0; r < s->rows; r++) {
		const struct worker_swarm_row *row = worker_swarm_row(s->area, r);

		out[0] += __atomic_load_n(&row->cnt[2 * i], __ATOMIC_RELAXED);
		out[1] += __atomic_load_n(&row->cnt[2 * i + 1], __ATOMIC_RELAXED);
	}
}

static struct ss_torrent *ss_torrent_get(struct worker *w, struct wk_torrent *t)
{
	struct ss_torrent *s;

	if (t->ss || w->conf->super_seed == CONF_SS_OFF || !t->complete)
		return t->ss;
	s = calloc(1, sizeof(*s));
	if (s)
		s->own = calloc(1, worker_swarm_row_size(t->mi.piece_count));
	if (!s || !s->own) {
		free(s);
		log_warnx("torrent %s: out of memory for super-seeding; seeding plainly",
			  t->mi.name);
		return NULL;
	}
	s->pieces = t->mi.piece_count;
	s->row = s->own;
	t->ss = s;
	return s;
}

/* WMSG_SWARM: the torrent's shared area; what our own row counted so far moves into it. */
void ss_attach(struct worker *w, uint32_t id, int fd, struct wk_torrent *t)
{
	struct ss_torrent *s = t ? ss_torrent_get(w, t) : NULL;
	struct worker_swarm hdr;
	void *p;

	if (!s || s->area || pread(fd, &hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
	    hdr.pieces != s->pieces || w->a->index >= hdr.workers) {
		if (s && !s->area)
			log_warnx("torrent %u: its swarm area does not fit this worker", id);
		return;
	}
	p = mmap(NULL, worker_swarm_size(hdr.pieces, hdr.workers), PROT_READ | PROT_WRITE,
		 MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		log_warn("torrent %u: mapping its swarm area", id);
		return;
	}
	s->area = p;
	s->area_len = worker_swarm_size(hdr.pieces, hdr.workers);
	s->rows = hdr.workers;
	s->index = w->a->index;
	s->row = worker_swarm_row(s->area, s->index);
	/* What our own row counted so far (the master cleared a dead predecessor's). */
	memcpy(s->row, s->own, worker_swarm_row_size(s->pieces));
	free(s->own);
	s->own = NULL;
	log_debug("torrent %s: swarm area of %u rows attached as row %u", t->mi.name, s->rows,
		  s->index);
}

void ss_torrent_free(struct wk_torrent *t)
{
	struct ss_torrent *s = t->ss;

	if (!s)
		return;
	if (s->area) {
		memset(s->row, 0, worker_swarm_row_size(s->pieces));
		munmap(s->area, s->area_len);
	}
	free(s->own);
	free(s->waiting);
	free(s);
	t->ss = NULL;
}

/* auto: another seed anywhere (trackers, or a witness on any worker) turns super mode off. */
static bool ss_other_seed(const struct ss_torrent *s)
{
	uint32_t n = 0;

	if (!s->area)
		return s->row->seeds > 0;
	if (__atomic_load_n(&s->area->tracker_seeds, __ATOMIC_RELAXED) > 1)
		return true;
	for (uint32_t r = 0; r < s->rows && !n; r++)
		n += __atomic_load_n(&worker_swarm_row(s->area, r)->seeds, __ATOMIC_RELAXED);
	return n > 0;
}

static bool ss_eval(struct worker *w, struct wk_torrent *t, bool now)
{
	struct ss_torrent *s = t->ss;
	uint64_t ms = tw_now_ms();
	bool on;

	if (!now && s->eval_ms && ms - s->eval_ms < SS_EVAL_MS)
		return s->on;
	on = w->conf->super_seed == CONF_SS_ON || !ss_other_seed(s);
	if (s->eval_ms && on != s->on) {
		log_info("torrent %s: %s", t->mi.name,
			 on ? "no other seed now: super-seeding on for new peers"
			    : "another seed is there: super-seeding off");
		if (!on)
			wk_count(w, WSTAT_SS_OFF, 1);
	}
	s->eval_ms = ms;
	s->on = on;
	return on;
}

static uint8_t *ss_bits_get(struct peer *p, uint8_t **b)
{
	if (!*b)
		*b = calloc(1, (p->t->mi.piece_count + 7) / 8);
	return *b;
}

static bool ss_wait(struct worker *w, struct ss_torrent *s, struct peer *p)
{
	uint64_t due = tw_now_ms() + SS_POLL_MS;

	if (due < w->ss_poll_ms)
		w->ss_poll_ms = due;
	if (s->n_waiting == s->cap_waiting) {
		uint32_t cap = s->cap_waiting ? s->cap_waiting * 2 : 64;
		uint32_t *n = realloc(s->waiting, cap * sizeof(*n));

		if (!n)
			return false;
		s->waiting = n;
		s->cap_waiting = cap;
	}
	p->ss->wait_at = s->n_waiting;
	s->waiting[s->n_waiting++] = p->slot;
	return true;
}

static void ss_unwait(struct worker *w, struct peer *p)
{
	struct ss_torrent *s = p->t->ss;
	uint32_t at = p->ss->wait_at;

	if (at == SS_NONE)
		return;
	s->waiting[at] = s->waiting[--s->n_waiting];
	if (at < s->n_waiting)
		w->peers[s->waiting[at]].ss->wait_at = at;
	p->ss->wait_at = SS_NONE;
}

/*
 * The intro's bitfield part: true when p is to be hidden, with what to send
 * in out (*n bytes): have_none with the Fast extension (BEP 6), else nothing
 * (BEP 3: a peer with nothing may skip the bitfield).
 */
bool ss_intro(struct worker *w, struct peer *p, uint8_t *out, size_t *n)
{
	struct ss_torrent *s = ss_torrent_get(w, p->t);

	*n = 0;
	if (!s)
		return false;
	p->ss = calloc(1, sizeof(*p->ss));
	if (!p->ss)
		return false;
	*p->ss = (struct ss_peer){
		.cur = SS_NONE, .flush = SS_NONE, .wait_at = SS_NONE, .admit_ms = tw_now_ms()
	};
	ss_leechers_add(s->row, 1); /* ss_peer_free takes it off */
	if (!ss_eval(w, p->t, true) || !ss_wait(w, s, p))
		return false;
	p->ss->hidden = true;
	if (p->fast)
		*n = wire_put_simple(out, WIRE_HAVE_NONE);
	return true;
}

bool ss_hidden(const struct peer *p)
{
	return p->ss && p->ss->hidden;
}

/* Peers other than p that have piece i. */
static uint32_t ss_others(const struct peer *p, uint32_t i)
{
	uint32_t c[2];

	ss_sum(p->t->ss, i, c);
	return c[0] - (ss_bit(p->ss->has, i) && !p->ss->liar ? 1 : 0);
}

/* The piece p has not got nor been shown that the fewest hold or were shown; SS_NONE. */
static uint32_t ss_rarest(const struct peer *p)
{
	const struct ss_torrent *s = p->t->ss;
	uint32_t best = SS_NONE, best_n = UINT32_MAX, start = (uint32_t)random() % s->pieces;

	for (uint32_t k = 0; k < s->pieces && best_n; k++) {
		uint32_t i = (start + k) % s->pieces, c[2];

		if (ss_bit(p->ss->has, i) || ss_bit(p->ss->shown, i))
			continue;
		ss_sum(s, i, c);
		if (c[0] + c[1] < best_n) {
			best = i;
			best_n = c[0] + c[1];
		}
	}
	return best;
}

static void ss_reveal(struct worker *w, struct peer *p, bool late)
{
	struct ss_peer *q = p->ss;
	uint32_t i = ss_rarest(p);
	uint8_t m[WIRE_HAVE_LEN];

	q->cur = SS_NONE;
	if (i == SS_NONE || !ss_bits_get(p, &q->shown)) {
		ss_unwait(w, p); /* everything is shown or had: nothing more to reveal */
		return;
	}
	q->shown[i / 8] |= (uint8_t)(0x80u >> (i % 8));
	ss_row_add(p->t->ss->row, 2 * i + 1, 1);
	q->cur = i;
	q->base = ss_others(p, i);
	q->cur_ms = tw_now_ms();
	wk_count(w, WSTAT_SS_REVEALS, 1);
	if (late)
		wk_count(w, WSTAT_SS_TIMEOUTS, 1);
	if (peer_ctl(w, p, m, wire_put_have(m, WIRE_HAVE, i)))
		peer_pump(w, p);
}

/* Has the piece shown to p been seen at another peer? Then, or after the timeout, the next. */
static void ss_advance(struct worker *w, struct peer *p)
{
	struct ss_peer *q = p->ss;
	uint64_t now = tw_now_ms();
	uint32_t others;

	if (!q->hidden || q->seed || q->flush != SS_NONE)
		return;
	if (q->cur == SS_NONE) {
		if (!q->shown && (q->heard || now - q->admit_ms >= SS_FIRST_MS))
			ss_reveal(w, p, false);
		return;
	}
	others = ss_others(p, q->cur);
	if (others < q->base)
		q->base = others;
	/* Seen elsewhere; or it has it and nobody else could see it (a lone leecher). */
	if (others > q->base ||
	    (ss_bit(q->has, q->cur) && (others > 0 || ss_leechers(p->t->ss) <= 1)))
		ss_reveal(w, p, false);
	else if (now - q->cur_ms >= (uint64_t)w->conf->super_seed_timeout * 1000)
		ss_reveal(w, p, true);
}

/* Every piece p was shown and has not got: it is no longer waiting for them. */
static void ss_unshow(struct peer *p)
{
	struct ss_peer *q = p->ss;

	for (uint32_t i = 0; q->shown && i < p->t->mi.piece_count; i++)
		if (ss_bit(q->shown, i) && (!ss_bit(q->has, i) || q->liar))
			ss_row_add(p->t->ss->row, 2 * i + 1, -1);
	free(q->shown);
	q->shown = NULL;
	q->cur = SS_NONE;
}

/* A liar's claims leave the counts, and it is not heard again. */
static void ss_liar(struct worker *w, struct peer *p, const char *why)
{
	struct ss_peer *q = p->ss;

	if (q->liar)
		return;
	log_info("peer slot %u: %s: its claims are ignored from now on", p->slot, why);
	wk_count(w, WSTAT_SS_LIARS, 1);
	for (uint32_t i = 0; q->has && i < p->t->mi.piece_count; i++) {
		if (!ss_bit(q->has, i))
			continue;
		ss_row_add(p->t->ss->row, 2 * i, -1);
		if (ss_bit(q->shown, i)) /* waiting for it again, as far as counts go */
			ss_row_add(p->t->ss->row, 2 * i + 1, 1);
	}
	if (q->seed)
		ss_seeds_add(p->t->ss->row, -1);
	q->seed = false;
	q->liar = true;
}

static void ss_strike(struct worker *w, struct peer *p)
{
	if (++p->ss->strikes >= SS_LIAR_STRIKES)
		ss_liar(w, p, "claims pieces nobody could have given it");
}

static void ss_mark(struct peer *p, uint32_t i)
{
	struct ss_peer *q = p->ss;

	q->has[i / 8] |= (uint8_t)(0x80u >> (i % 8));
	q->n_has++;
	ss_row_add(p->t->ss->row, 2 * i, 1);
	if (ss_bit(q->shown, i))
		ss_row_add(p->t->ss->row, 2 * i + 1, -1);
}

/*
 * A have for piece i that only the peers we showed i to could have given,
 * none of which has it yet: counted only if one of them has it a second
 * later (another worker may be a little behind); else a strike.
 */
static void ss_claim(struct peer *p, uint32_t i)
{
	struct ss_peer *q = p->ss;

	for (uint32_t k = 0; k < q->n_claims; k++)
		if (q->claim[k] == i)
			return;
	/*
	 * Full: a fast swarm brings a peer many pieces a second, and the haves of
	 * the peers we showed them to may lag (another worker, a busy loop): the
	 * claim is dropped, neither counted nor a strike.
	 */
	if (q->n_claims == SS_CLAIMS)
		return;
	q->claim[q->n_claims] = i;
	q->claim_ms[q->n_claims++] = tw_now_ms();
}

static void ss_judge(struct worker *w, struct peer *p)
{
	struct ss_peer *q = p->ss;
	uint64_t now = tw_now_ms();
	uint32_t c[2];

	for (uint32_t k = 0; k < q->n_claims && !q->liar;) {
		if (now - q->claim_ms[k] < SS_CLAIM_MS) {
			k++;
			continue;
		}
		ss_sum(p->t->ss, q->claim[k], c);
		if (c[0] > 0)
			ss_mark(p, q->claim[k]);
		else
			ss_strike(w, p);
		q->claim[k] = q->claim[q->n_claims - 1];
		q->claim_ms[k] = q->claim_ms[--q->n_claims];
	}
	if (q->liar)
		q->n_claims = 0;
}

/* BEP 3 have: the peer got piece i; the peers waiting for a sighting of i see it at their poll. */
void ss_have(struct worker *w, struct peer *p, uint32_t i)
{
	struct ss_peer *q = p->ss;
	uint32_t c[2];

	if (!q || q->liar || i >= p->t->mi.piece_count || ss_bit(q->has, i) ||
	    !ss_bits_get(p, &q->has))
		return;
	q->heard = true;
	ss_sum(p->t->ss, i, c);
	if (!ss_bit(q->shown, i) && c[0] == 0 && c[1] > 0) {
		ss_claim(p, i);
		return;
	}
	ss_mark(p, i);
	if (q->n_has == p->t->mi.piece_count && ss_seed(w, p)) /* a leecher done is a seed */
		return;
	ss_advance(w, p); /* the peers waiting for a sighting of i see it at their poll */
}

/* Bitfield bytes at offset off of its payload. */
void ss_bits(struct worker *w, struct peer *p, const uint8_t *d, uint32_t n, uint32_t off)
{
	struct ss_peer *q = p->ss;
	uint32_t count = p->t->mi.piece_count;

	(void)w;
	if (!q || q->liar || !ss_bits_get(p, &q->has))
		return;
	for (uint32_t k = 0; k < n && off + k < (count + 7) / 8; k++)
		for (uint32_t b = 0; b < 8; b++) {
			uint32_t i = (off + k) * 8 + b;

			if (i < count && (d[k] & (0x80u >> b)) && !ss_bit(q->has, i))
				ss_mark(p, i);
		}
}

/* The peer's first word after the handshake (bitfield, have_none): show it a piece. */
void ss_heard(struct worker *w, struct peer *p)
{
	if (!p->ss)
		return;
	p->ss->heard = true;
	ss_advance(w, p);
}

/*
 * A seed (have_all, a full bitfield, upload_only, or a leecher whose haves
 * now cover every piece) that we hide from, under auto: kept as the witness
 * that another seed is there. Others are closed
 * by the caller, as two seeds have nothing to say to each other.
 */
bool ss_seed(struct worker *w, struct peer *p)
{
	struct ss_peer *q = p->ss;

	if (!q || !q->hidden || q->liar || w->conf->super_seed != CONF_SS_AUTO)
		return false;
	if (!q->seed) {
		q->seed = true;
		ss_seeds_add(p->t->ss->row, 1);
		ss_unwait(w, p);
		ss_unshow(p);
		ss_eval(w, p->t, true);
	}
	return true;
}

/* p is hidden from no more: every piece may be asked for, and ss_pump tells it the rest. */
static void ss_plain(struct worker *w, struct peer *p)
{
	p->ss->hidden = false;
	p->ss->flush = 0;
	ss_unwait(w, p);
	wk_ready(w, p);
}

/* A request from a peer we hide from, or one that claimed the piece: false if refused. */
bool ss_request_ok(struct worker *w, struct peer *p, const struct wire_event *e)
{
	struct ss_peer *q = p->ss;

	if (!q || e->piece >= p->t->mi.piece_count)
		return true;
	if (!q->liar && (q->seed || ss_bit(q->has, e->piece)))
		ss_liar(w, p, "asks for a piece it said it had");
	if (!q->hidden || ss_bit(q->shown, e->piece))
		return true;
	if (w->conf->super_seed == CONF_SS_AUTO && !q->liar && !q->seed) {
		/*
		 * auto never refuses what it has: a peer that asks for a piece it
		 * was not shown does not follow the reveal (a client or a load
		 * generator that takes a seed to have everything). It is served
		 * and becomes a plain peer, told every piece; `on` refuses it.
		 */
		ss_plain(w, p);
		wk_count(w, WSTAT_SS_PLAIN, 1);
		return true;
	}
	wk_count(w, WSTAT_SS_REFUSED, 1);
	return false;
}

/* Auto turned super mode off: every piece p was not shown goes out as `have`, a few KiB a pump. */
void ss_pump(struct worker *w, struct peer *p)
{
	struct ss_peer *q = p->ss;
	uint8_t m[WIRE_HAVE_LEN];

	if (!q || q->flush == SS_NONE)
		return;
	while (q->flush < p->t->mi.piece_count && p->ctl_len < SS_FLUSH_LOW) {
		uint32_t i = q->flush++;

		if (!ss_bit(q->shown, i) && !peer_ctl(w, p, m, wire_put_have(m, WIRE_HAVE, i)))
			return;
	}
	if (q->flush == p->t->mi.piece_count) {
		q->flush = SS_NONE;
		ss_unshow(p);
	}
}

/* The torrent's mode, then the next piece to show: auto may have turned it off meanwhile. */
static void ss_step(struct worker *w, struct peer *p)
{
	struct ss_peer *q = p->ss;

	if (q->hidden && !q->seed && !ss_eval(w, p->t, false)) {
		ss_plain(w, p);
		return;
	}
	ss_advance(w, p);
}

/* Once a second: a claim to judge, the mode, the next piece to show. */
void ss_tick(struct worker *w, struct peer *p)
{
	if (!p->ss || !p->t->ss)
		return;
	ss_judge(w, p);
	if (peer_open(p))
		ss_step(w, p);
}

/*
 * Each loop turn: every SS_POLL_MS, the peers still being shown pieces look
 * whether their piece was seen (on any worker) or timed out, and whether
 * auto turned super-seeding off. Returns how
 * long the loop may sleep before the next poll is due (UINT64_MAX: none).
 */
uint64_t ss_poll(struct worker *w, uint64_t now)
{
	bool any = false;

	if (now < w->ss_poll_ms)
		return w->ss_poll_ms == UINT64_MAX ? UINT64_MAX : w->ss_poll_ms - now;
	for (uint32_t k = 0; k < w->n_tt; k++) {
		struct ss_torrent *s = w->tt[k]->ss;

		for (uint32_t i = s ? s->n_waiting : 0; i-- > 0;)
			if (i < s->n_waiting && peer_open(&w->peers[s->waiting[i]])) {
				ss_judge(w, &w->peers[s->waiting[i]]);
				ss_step(w, &w->peers[s->waiting[i]]);
			}
		any = any || (s && s->n_waiting);
	}
	/* Nobody waiting: no poll until ss_wait puts someone on a list. */
	w->ss_poll_ms = any ? now + SS_POLL_MS : UINT64_MAX;
	return any ? SS_POLL_MS : UINT64_MAX;
}

void ss_peer_free(struct worker *w, struct peer *p)
{
	struct ss_peer *q = p->ss;

	if (!q)
		return;
	ss_unwait(w, p);
	if (!q->liar)
		for (uint32_t i = 0; q->has && i < p->t->mi.piece_count; i++)
			if (ss_bit(q->has, i))
				ss_row_add(p->t->ss->row, 2 * i, -1);
	ss_unshow(p);
	if (q->seed)
		ss_seeds_add(p->t->ss->row, -1);
	ss_leechers_add(p->t->ss->row, -1);
	free(q->has);
	free(q);
	p->ss = NULL;
}
