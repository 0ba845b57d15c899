/*
 * pex.c - peer exchange (BEP 11, ut_pex) in a worker: telling each peer of a
 * public torrent about the torrent's other peers, on every worker.
 *
 * Peers of one torrent sit on different workers, which share nothing
 * writable, so the master keeps the list (master/proc/pex.c):
 *
 *   worker A: peer's extended handshake with "p"  --JOIN-->  master
 *   master: names it (a 64-bit id), then           --ADD-->   every worker
 *   worker A: that peer closes                     --LEAVE--> master
 *   master                                         --DEL-->   every worker
 *
 * A peer without "p" is not listed: it reached us from an ephemeral port
 * that nobody can connect to, and listing it would only cost others failed
 * connections. Its address is the one its socket shows; its flags say 0x01
 * when it opened with Message Stream Encryption; never 0x10 (reachable),
 * since a seeder only accepts connections and never learns whether a peer
 * accepts them; 0x02 (seed) never either, since seeds are closed (ext.c).
 *
 * Each worker keeps every torrent's list (struct wpex_set), each entry with
 * the sequence numbers of its arrival and its departure on that worker's
 * timeline, which is BEP 11's "per-torrent timeline" note: a peer's cursor
 * says up to which event it was told, so its next message is the live
 * entries that arrived after the cursor (added) and the entries that left
 * after it having arrived before (dropped), its own entry excluded. That
 * costs a peer no memory for what it was told, and nothing at all while
 * the list does not change. Departed entries are kept WPEX_KEEP_MS, long
 * enough for every peer's next message to carry the drop.
 *
 * Rules (BEP 11): the first message right after the peer's extended
 * handshake (or, when there is nobody to tell of yet, at its first timer
 * tick after somebody arrives), then at most one a minute; at most 50 added
 * and 50 dropped after the first (PEX_FIRST_MAX in the first); never an
 * empty one; never on a private torrent (BEP 27), for which "ut_pex" is not
 * in our "m" either. What peers send us is parsed strictly, counted and
 * ignored (a seeder downloads nothing), at most WPEX_RX_BURST messages and
 * then one per WPEX_RX_REFILL_MS; more is counted and skipped unread.
 *
 * None of this is on the block path: joins and leaves happen once per
 * connection, and each peer's timer (once a second) looks at a cursor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "iocore/log.h"
#include "proto/pex.h"
#include "worker/wk.h"

#define WPEX_INTERVAL_MS  60000	 /* BEP 11: at most one message a minute per peer */
#define WPEX_KEEP_MS	  180000 /* a departed entry is kept this long, for the drops */
#define WPEX_SET_MAX	  1024	 /* entries per torrent, departed ones included */
#define WPEX_RX_BURST	  4	 /* ut_pex messages a peer may send at once */
#define WPEX_RX_REFILL_MS 30000	 /* then one per this long */
#define WPEX_OUTQ	  1024	 /* joins and leaves waiting for room in the channel */

struct wpex_entry {
	uint64_t id;	  /* the master's name for it */
	uint64_t key;	  /* the origin worker's name for it (generation << 32 | slot) */
	uint32_t join;	  /* its arrival on this worker's timeline */
	uint32_t leave;	  /* its departure; 0 while live */
	uint64_t left_ms; /* when it departed */
	uint16_t worker;  /* the origin worker */
	struct pex_contact c;
};

struct wpex_set {
	struct wpex_entry *e;
	uint32_t n, cap;
	uint32_t seq; /* the last event's number; events start at 1 */
};

/* Messages for the master, in order, when its channel had no room. */
struct wpex_outq {
	struct wmsg m[WPEX_OUTQ];
	uint32_t head, len;
};

/* What one message is made of: an entry of the set, added or dropped. */
struct wpex_event {
	uint32_t seq;
	uint16_t idx;
	bool drop;
};

uint8_t wpex_id(const struct worker *w, const struct wk_torrent *t)
{
	return w->conf->pex_enable && !t->mi.private_torrent ? WK_UT_PEX_ID : 0;
}

static uint64_t wpex_key(const struct peer *p)
{
	return (uint64_t)p->gen << 32 | p->slot;
}

/* Sends msg to the master now, or queues it; joins give way first when the queue fills. */
static void wpex_post(struct worker *w, const struct wmsg *msg)
{
	struct wpex_outq *q = w->pexq;
	uint32_t limit = msg->type == WMSG_PEX_JOIN ? WPEX_OUTQ / 2 : WPEX_OUTQ;

	if ((!q || !q->len) && send(w->a->channel, msg, wmsg_len(msg),
				    MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)wmsg_len(msg))
		return;
	if (!q && !(q = w->pexq = calloc(1, sizeof(*q)))) {
		wk_count(w, WSTAT_PEX_LOST, 1);
		return;
	}
	if (q->len >= limit) {
		wk_count(w, WSTAT_PEX_LOST, 1);
		return;
	}
	q->m[(q->head + q->len++) % WPEX_OUTQ] = *msg;
}

/* End of a loop turn: what waits for the master goes while its channel takes it. */
void wpex_flush(struct worker *w)
{
	struct wpex_outq *q = w->pexq;

	while (q && q->len) {
		const struct wmsg *m = &q->m[q->head];

		if (send(w->a->channel, m, wmsg_len(m), MSG_DONTWAIT | MSG_NOSIGNAL) !=
		    (ssize_t)wmsg_len(m))
			return;
		q->head = (q->head + 1) % WPEX_OUTQ;
		q->len--;
	}
}

void wpex_worker_free(struct worker *w)
{
	free(w->pexq);
	w->pexq = NULL;
}

/* The peer's extended handshake: whether we tell it of others, whether others hear of it. */
void wpex_hello(struct worker *w, struct peer *p, const struct ext_peer_hs *hs)
{
	struct wmsg msg = { .type = WMSG_PEX_JOIN, .torrent = p->t->id };
	uint8_t ip[16];
	size_t n;

	if (!wpex_id(w, p->t))
		return;
	if (hs->ut_pex && !p->pex.id) {
		p->pex.id = hs->ut_pex;
		p->pex.due_ms = tw_now_ms();
		wpex_tick(w, p, p->pex.due_ms);
	} else {
		p->pex.id = hs->ut_pex; /* BEP 10: a later handshake may move or disable it */
	}
	if (p->pex.listed || !hs->port || !(n = peer_ext_yourip(p->fd, ip)))
		return;
	msg.pex = (struct wmsg_pex){ .key = wpex_key(p),
				     .port = hs->port,
				     .family = n == 4 ? 4 : 6,
				     .flags = p->crypt ? PEX_F_ENCRYPT : 0 };
	memcpy(msg.pex.addr, ip, n);
	p->pex.listed = true;
	wpex_post(w, &msg);
}

/* p is closing: the master, and through it every worker, hears it left. */
void wpex_close(struct worker *w, struct peer *p)
{
	struct wmsg msg = { .type = WMSG_PEX_LEAVE, .torrent = p->t->id };

	if (!p->pex.listed)
		return;
	msg.pex.key = wpex_key(p);
	p->pex.listed = false;
	wpex_post(w, &msg);
}

void wpex_torrent_free(struct wk_torrent *t)
{
	if (!t->pex)
		return;
	free(t->pex->e);
	free(t->pex);
	t->pex = NULL;
}

static struct wpex_entry *wpex_find(struct wpex_set *s, uint64_t id)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (s->e[i].id == id)
			return &s->e[i];
	return NULL;
}

/* Room for one more entry: departed ones past WPEX_KEEP_MS go, then the array grows. */
static bool wpex_room(struct wpex_set *s, uint64_t now)
{
	struct wpex_entry *e;
	uint32_t cap;

	if (s->n < s->cap)
		return true;
	for (uint32_t i = 0; i < s->n;) {
		if (s->e[i].leave && now - s->e[i].left_ms > WPEX_KEEP_MS)
			s->e[i] = s->e[--s->n];
		else
			i++;
	}
	if (s->n < s->cap)
		return true;
	cap = s->cap ? s->cap * 2 : 16;
	if (cap > WPEX_SET_MAX || !(e = realloc(s->e, cap * sizeof(*e))))
		return false;
	s->e = e;
	s->cap = cap;
	return true;
}

static void wpex_add(struct wk_torrent *t, const struct wmsg_pex *m)
{
	struct wpex_set *s = t->pex;
	struct wpex_entry *e;

	if (!s && !(s = t->pex = calloc(1, sizeof(*s))))
		return;
	if (wpex_find(s, m->id)) /* a restarted worker's first list can repeat an ADD */
		return;
	if (!wpex_room(s, tw_now_ms())) {
		log_debug("torrent %s: peer exchange list full (%u)", t->mi.name, s->n);
		return;
	}
	e = &s->e[s->n++];
	*e = (struct wpex_entry){
		.id = m->id, .key = m->key, .join = ++s->seq, .worker = m->worker
	};
	e->c = (struct pex_contact){ .family = m->family, .flags = m->flags, .port = m->port };
	memcpy(e->c.addr, m->addr, sizeof(e->c.addr));
}

/* The master's ADD and DEL, for a torrent this worker serves. */
void wpex_channel(struct wk_torrent *t, const struct wmsg *msg)
{
	struct wpex_entry *e;

	if (msg->type == WMSG_PEX_ADD && (msg->pex.family == 4 || msg->pex.family == 6)) {
		wpex_add(t, &msg->pex);
		return;
	}
	if (msg->type != WMSG_PEX_DEL || !t->pex || !(e = wpex_find(t->pex, msg->pex.id)) ||
	    e->leave)
		return;
	e->leave = ++t->pex->seq;
	e->left_ms = tw_now_ms();
}

static int wpex_event_cmp(const void *a, const void *b)
{
	const struct wpex_event *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The events p has not been told of: entries live now that arrived after
 * its cursor, and entries that left after it having arrived before; its own
 * entry is never one. Returns how many went into ev (the set's size bounds it).
 */
static uint32_t wpex_pending(const struct worker *w, const struct peer *p, struct wpex_event *ev)
{
	const struct wpex_set *s = p->t->pex;
	uint32_t c = p->pex.cursor, n = 0;

	for (uint32_t i = 0; i < s->n; i++) {
		const struct wpex_entry *e = &s->e[i];

		if (e->worker == w->a->index && e->key == wpex_key(p))
			continue;
		if (!e->leave && e->join > c)
			ev[n++] = (struct wpex_event){ .seq = e->join, .idx = (uint16_t)i };
		else if (e->leave > c && e->join <= c)
			ev[n++] = (struct wpex_event){ .seq = e->leave,
						       .idx = (uint16_t)i,
						       .drop = true };
	}
	return n;
}

/*
 * Sends p what changed since its cursor, within BEP 11's bounds: when more
 * changed, the oldest events go now and the cursor stops before the first
 * left out, so the rest go in the next message.
 */
static void wpex_send(struct worker *w, struct peer *p, uint64_t now)
{
	struct wpex_event ev[WPEX_SET_MAX];
	struct pex_contact add[PEX_FIRST_MAX], drop[PEX_DELTA_MAX];
	uint8_t out[PEX_PUT_CAP(PEX_FIRST_MAX, PEX_DELTA_MAX)];
	uint32_t n = wpex_pending(w, p, ev), n_add = 0, n_drop = 0, cursor = p->t->pex->seq;
	uint32_t max_add = p->pex.told ? PEX_DELTA_MAX : PEX_FIRST_MAX;
	ssize_t len;

	if (n > max_add || n > PEX_DELTA_MAX)
		qsort(ev, n, sizeof(ev[0]), wpex_event_cmp);
	for (uint32_t i = 0; i < n; i++) {
		const struct wpex_entry *e = &p->t->pex->e[ev[i].idx];

		if (ev[i].drop ? n_drop == PEX_DELTA_MAX : n_add == max_add) {
			cursor = ev[i].seq - 1;
			break;
		}
		if (ev[i].drop)
			drop[n_drop++] = e->c;
		else
			add[n_add++] = e->c;
	}
	p->pex.cursor = cursor;
	if (!n_add && !n_drop) /* nothing to tell (BEP 11: never an empty message) */
		return;
	len = pex_put(out, sizeof(out), p->pex.id, add, n_add, drop, n_drop);
	if (len <= 0) {
		log_warnx("peer slot %u: ut_pex message not written (%zd)", p->slot, len);
		return;
	}
	p->pex.told = true;
	p->pex.due_ms = now + WPEX_INTERVAL_MS;
	wk_count(w, WSTAT_PEX_SENT, 1);
	log_debug("peer slot %u: ut_pex: %u added, %u dropped", p->slot, n_add, n_drop);
	if (peer_ctl(w, p, out, (size_t)len))
		peer_pump(w, p);
}

/* Once a second per peer (peer.c's timer): a message when one is due and there is news. */
void wpex_tick(struct worker *w, struct peer *p, uint64_t now)
{
	if (!peer_open(p) || !p->pex.id || !p->t->pex || now < p->pex.due_ms ||
	    p->pex.cursor == p->t->pex->seq || !wpex_id(w, p->t))
		return;
	wpex_send(w, p, now);
}

/*
 * A ut_pex message is coming, len bytes with its id: whether to read it.
 * Too long, or over the peer's allowance: counted and skipped unread.
 */
bool wpex_accept(struct worker *w, struct peer *p, uint32_t len)
{
	uint64_t now = tw_now_ms(), n;

	if (p->pex.refill_ms == 0) {
		p->pex.tokens = WPEX_RX_BURST;
		p->pex.refill_ms = now;
	}
	n = (now - p->pex.refill_ms) / WPEX_RX_REFILL_MS;
	if (n) {
		p->pex.tokens = p->pex.tokens + n >= WPEX_RX_BURST ? WPEX_RX_BURST
								   : p->pex.tokens + (uint8_t)n;
		p->pex.refill_ms += n * WPEX_RX_REFILL_MS;
	}
	if (len > WK_PEX_MAX_MSG) {
		log_debug("peer slot %u: ut_pex message of %u bytes skipped", p->slot, len);
		wk_count(w, WSTAT_PEX_BAD, 1);
		return false;
	}
	if (!p->pex.tokens) {
		wk_count(w, WSTAT_PEX_FLOOD, 1);
		return false;
	}
	p->pex.tokens--;
	return true;
}

/* A whole ut_pex message from the peer (after its id): read strictly, counted, ignored. */
void wpex_message(struct worker *w, struct peer *p, const uint8_t *b, size_t n)
{
	struct pex_msg m;
	struct ext_err err;

	if (pex_parse(b, n, &m, &err) != 0) {
		log_debug("peer slot %u: %s", p->slot, err.msg);
		wk_count(w, WSTAT_PEX_BAD, 1);
		return;
	}
	wk_count(w, WSTAT_PEX_RECEIVED, 1);
}
