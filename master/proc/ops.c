/*
 * ops.c - what the operator sees of the master: the admin endpoint's
 * snapshot (workers, torrents, trackers, every counter), the upload rates
 * behind it, and the short periodic stats line.
 *
 * Rates: every ADMIN_RATE_MS the tick samples each torrent's bytes up (the
 * sum over the workers' shared counters) and keeps the difference as its
 * rate; the same for the total. The arrays are indexed like the workers'
 * counters, by torrent id modulo WORKERS_MAX_TORRENT_IDS.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/admin/admin.h"
#include "master/announce/announce.h"
#include "master/proc/guard.h"
#include "master/proc/master.h"
#include "master/tracker/tracker_srv.h"

struct ops {
	uint64_t *last_up; /* by torrent id modulo WORKERS_MAX_TORRENT_IDS */
	uint32_t *rate;	   /* bytes per second over the last sample */
	uint64_t last_total, last_ms;
	double total_rate;
	long clk_tck;
};

static uint64_t ops_torrent_up(const struct master *m, uint32_t id)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < m->workers.n; i++)
		sum += __atomic_load_n(&m->workers.w[i].stats->torrent_up[id % WORKERS_MAX_TORRENT_IDS],
				       __ATOMIC_RELAXED);
	return sum;
}

static uint64_t ops_torrent_peers(const struct master *m, uint32_t id)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < m->workers.n; i++)
		sum += __atomic_load_n(&worker_torrent_peers(m->workers.w[i].stats, WORKERS_MAX_TORRENT_IDS)
					       [id % WORKERS_MAX_TORRENT_IDS],
				       __ATOMIC_RELAXED);
	return sum;
}

static uint64_t ops_wstat(const struct master *m, enum wstat k)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < m->workers.n; i++)
		sum += __atomic_load_n(&m->workers.w[i].stats->c[k], __ATOMIC_RELAXED);
	return sum;
}

/* utime + stime of a process, in seconds; 0 when it cannot be read. */
static double ops_cpu_seconds(const struct ops *o, int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2)
		return 0;
	return (double)(ut + st) / (double)o->clk_tck;
}

int ops_init(struct master *m)
{
	struct ops *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->last_up = calloc(WORKERS_MAX_TORRENT_IDS, sizeof(*o->last_up));
	o->rate = calloc(WORKERS_MAX_TORRENT_IDS, sizeof(*o->rate));
	if (!o->last_up || !o->rate) {
		free(o->last_up);
		free(o->rate);
		free(o);
		return -ENOMEM;
	}
	o->clk_tck = sysconf(_SC_CLK_TCK);
	if (o->clk_tck <= 0)
		o->clk_tck = 100;
	m->ops = o;
	return 0;
}

void ops_free(struct master *m)
{
	if (!m->ops)
		return;
	free(m->ops->last_up);
	free(m->ops->rate);
	free(m->ops);
	m->ops = NULL;
}

/* Samples the rates; call on every tick, it acts every ADMIN_RATE_MS. */
void ops_tick(struct master *m, uint64_t now)
{
	struct ops *o = m->ops;
	uint64_t total, dt;

	if (!o || now - o->last_ms < ADMIN_RATE_MS)
		return;
	dt = o->last_ms ? now - o->last_ms : 0;
	for (uint32_t i = 0; i < m->reg.n; i++) {
		uint32_t k = m->reg.t[i]->id % WORKERS_MAX_TORRENT_IDS;
		uint64_t up = ops_torrent_up(m, m->reg.t[i]->id);

		o->rate[k] = dt && up >= o->last_up[k] ? (uint32_t)((up - o->last_up[k]) * 1000 / dt)
						       : 0;
		o->last_up[k] = up;
	}
	total = ops_wstat(m, WSTAT_UP_BYTES);
	o->total_rate = dt && total >= o->last_total ? (double)(total - o->last_total) * 1000 / dt : 0;
	o->last_total = total;
	o->last_ms = now;
}

static void ops_fill_workers(struct master *m, struct admin_snap *s)
{
	for (unsigned i = 0; i < m->workers.n; i++) {
		struct admin_worker *w = admin_snap_worker(s);
		const struct worker_stats *st = m->workers.w[i].stats;

		w->index = i;
		w->pid = (int)m->workers.w[i].pid;
		w->cpu_seconds = w->pid ? ops_cpu_seconds(m->ops, w->pid) : 0;
		w->peers = __atomic_load_n(&st->c[WSTAT_PEERS], __ATOMIC_RELAXED);
		w->up_bytes = __atomic_load_n(&st->c[WSTAT_UP_BYTES], __ATOMIC_RELAXED);
		w->blocks = __atomic_load_n(&st->c[WSTAT_BLOCKS], __ATOMIC_RELAXED);
		w->requests = __atomic_load_n(&st->c[WSTAT_REQUESTS], __ATOMIC_RELAXED);
		w->rejects = __atomic_load_n(&st->c[WSTAT_REJECTS], __ATOMIC_RELAXED);
		w->handshakes = __atomic_load_n(&st->c[WSTAT_HANDSHAKES], __ATOMIC_RELAXED);
		w->sq_full = __atomic_load_n(&st->c[WSTAT_SQ_FULL], __ATOMIC_RELAXED);
	}
}

static void ops_fill_torrents(struct master *m, struct admin_snap *s)
{
	for (uint32_t i = 0; i < m->reg.n; i++) {
		const struct torrent *t = m->reg.t[i];
		struct admin_torrent *a = admin_snap_torrent(s);

		a->id = t->id;
		a->name = t->mi.name;
		memcpy(a->info_hash, t->mi.info_hash, sizeof(a->info_hash));
		a->size = t->mi.total_length;
		a->pieces = t->mi.piece_count;
		a->good = t->good;
		a->state = t->good == t->mi.piece_count ? "seeding" : "partial";
		a->progress = 1.0;
		if (t->paused) /* out of service: "checking", "changed", "draining" (guard.c) */
			a->state = guard_state(m, t, &a->progress);
		if (!a->state)
			a->state = "paused";
		a->peers = ops_torrent_peers(m, t->id);
		a->up_bytes = ops_torrent_up(m, t->id);
		a->up_rate = m->ops->rate[t->id % WORKERS_MAX_TORRENT_IDS];
	}
}

struct ops_tr_arg {
	struct admin_snap *s;
	uint64_t now_ms;
};

static void ops_tracker(void *arg, const struct ann_job_view *v)
{
	struct ops_tr_arg *x = arg;
	struct admin_tracker *t = admin_snap_tracker(x->s);

	t->url = v->url;
	t->torrent = v->torrent;
	t->family = v->family;
	t->result = v->result;
	t->last_unix = v->last_ms ? x->s->now_unix - (int64_t)(x->now_ms - v->last_ms) / 1000 : 0;
	t->next_unix = v->next_ms ? x->s->now_unix + ((int64_t)v->next_ms - (int64_t)x->now_ms) / 1000
				  : 0;
}

#define OPS_C(name, help, v) admin_snap_sample(s, name, help, ADMIN_COUNTER, (double)(v), NULL)
#define OPS_G(name, help, v) admin_snap_sample(s, name, help, ADMIN_GAUGE, (double)(v), NULL)

static void ops_fill_drops(struct master *m, struct admin_snap *s)
{
	static const char *help = "Peer connections dropped, by reason.";
	const struct {
		const char *why;
		uint64_t v;
	} d[] = {
		{ "handshake_timeout", m->mstat[MSTAT_DROP_HANDSHAKE_TIMEOUT] },
		{ "bad_handshake", m->mstat[MSTAT_DROP_BAD_HANDSHAKE] },
		{ "unknown_hash", m->mstat[MSTAT_DROP_UNKNOWN_HASH] },
		{ "protocol", ops_wstat(m, WSTAT_DROP_PROTOCOL) },
		{ "bad_request", ops_wstat(m, WSTAT_DROP_BAD_REQUEST) },
		{ "flood", ops_wstat(m, WSTAT_DROP_FLOOD) },
		{ "idle", ops_wstat(m, WSTAT_DROP_IDLE) },
		{ "too_many", ops_wstat(m, WSTAT_DROP_TOO_MANY) + m->mstat[MSTAT_DROP_TOO_MANY] +
				      m->workers.drop_no_worker },
		{ "io", ops_wstat(m, WSTAT_DROP_IO) },
		{ "seed", ops_wstat(m, WSTAT_DROP_SEED) },
		{ "bad_ext", ops_wstat(m, WSTAT_DROP_BAD_EXT) },
		{ "handoff_timeout", m->workers.drop_handoff_timeout },
		{ "plain_refused", m->mstat[MSTAT_DROP_PLAIN_REFUSED] },
		{ "mse_refused", m->mstat[MSTAT_DROP_MSE_REFUSED] },
		{ "per_ip", m->mstat[MSTAT_DROP_PER_IP] },
		{ "paused", m->workers.drop_paused },
	};
	/* Message Stream Encryption, in MSTAT_DROP_MSE_SHORT's order (enum mse_err). */
	static const char *const mse_why[] = { "mse_short",	"mse_timeout",	   "mse_bad_key",
					       "mse_no_sync",	"mse_unknown_skey", "mse_bad_vc",
					       "mse_bad_pad",	"mse_ia_too_long",  "mse_no_crypto",
					       "mse_internal" };

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		admin_snap_sample(s, "peer_drops_total", help, ADMIN_COUNTER, (double)d[i].v,
				  "reason=\"%s\"", d[i].why);
	for (size_t i = 0; i < sizeof(mse_why) / sizeof(mse_why[0]); i++)
		admin_snap_sample(s, "peer_drops_total", help, ADMIN_COUNTER,
				  (double)m->mstat[MSTAT_DROP_MSE_SHORT + i], "reason=\"%s\"",
				  mse_why[i]);
	OPS_C("v2_hashes_total", "hashes messages sent, answering hash requests (BEP 52).",
	      ops_wstat(m, WSTAT_HASHES));
	OPS_C("v2_hash_rejects_total", "hash_reject messages sent (BEP 52).",
	      ops_wstat(m, WSTAT_HASH_REJECTS));
	OPS_C("metadata_pieces_total", "ut_metadata pieces sent (BEP 9).",
	      ops_wstat(m, WSTAT_META_PIECES));
	OPS_C("metadata_rejects_total", "ut_metadata rejects sent: out of range, or flood.",
	      ops_wstat(m, WSTAT_META_REJECTS));
	OPS_C("metadata_flood_total", "ut_metadata requests over a peer's allowance.",
	      ops_wstat(m, WSTAT_META_FLOOD));
	OPS_C("superseed_reveals_total", "Pieces shown to peers with have while super-seeding (BEP 16).",
	      ops_wstat(m, WSTAT_SS_REVEALS));
	OPS_C("superseed_timeouts_total", "Of those, shown after serve.super_seed_timeout.",
	      ops_wstat(m, WSTAT_SS_TIMEOUTS));
	OPS_C("superseed_refused_total", "Requests for pieces not shown to the peer, refused.",
	      ops_wstat(m, WSTAT_SS_REFUSED));
	OPS_C("superseed_plain_total",
	      "auto: peers served a piece not shown to them, then told every piece.",
	      ops_wstat(m, WSTAT_SS_PLAIN));
	OPS_C("superseed_liars_total", "Peers whose claims were false, then ignored.",
	      ops_wstat(m, WSTAT_SS_LIARS));
	OPS_C("superseed_off_total", "Times auto turned a torrent's super-seeding off (another seed).",
	      ops_wstat(m, WSTAT_SS_OFF));
	OPS_C("pex_sent_total", "ut_pex messages sent (BEP 11).", ops_wstat(m, WSTAT_PEX_SENT));
	OPS_C("pex_received_total", "ut_pex messages received well-formed, and ignored.",
	      ops_wstat(m, WSTAT_PEX_RECEIVED));
	OPS_C("pex_bad_total", "ut_pex messages received malformed or too long, and ignored.",
	      ops_wstat(m, WSTAT_PEX_BAD));
	OPS_C("pex_flood_total", "ut_pex messages over a peer's allowance, not read.",
	      ops_wstat(m, WSTAT_PEX_FLOOD));
	OPS_C("pex_lost_total",
	      "Peer exchange joins and leaves lost: no room in the channel, or invalid.",
	      ops_wstat(m, WSTAT_PEX_LOST) + m->pex.bad);
	OPS_G("pex_peers", "Peers other peers are told about (BEP 11), all torrents.",
	      m->pex.listed);
	OPS_C("handoff_fallbacks_total", "Peers handed to another worker than the first choice.",
	      m->workers.handoff_fallback);
	OPS_C("worker_restarts_total", "Workers started again after dying.",
	      m->workers.restarts);
	OPS_G("pending_handshakes", "Connections whose handshake the master is reading.",
	      m->n_pend);
}

/* One of the workers' histograms (worker.h), summed and made cumulative; scale: unit to base unit. */
static void ops_fill_hist(struct master *m, struct admin_snap *s, enum whist k,
			  const char *const names[3], const char *help, double scale)
{
	static const uint64_t ttfb[] = WORKER_TTFB_BOUNDS, batch[] = WORKER_BATCH_BOUNDS;
	const uint64_t *le = k == WHIST_TTFB_MS ? ttfb : batch;
	unsigned n = k == WHIST_TTFB_MS ? WORKER_TTFB_N : WORKER_BATCH_N;
	uint64_t b[WORKER_TTFB_N + 1] = { 0 }, sum = 0, count = 0, acc = 0;

	for (unsigned i = 0; i < m->workers.n; i++) {
		const struct worker_hist *h = &m->workers.w[i].stats->h[k];

		for (unsigned j = 0; j <= n; j++)
			b[j] += __atomic_load_n(&h->bucket[j], __ATOMIC_RELAXED);
		sum += __atomic_load_n(&h->sum, __ATOMIC_RELAXED);
		count += __atomic_load_n(&h->count, __ATOMIC_RELAXED);
	}
	for (unsigned j = 0; j < n; j++) {
		acc += b[j];
		admin_snap_sample(s, names[0], help, ADMIN_HISTOGRAM, (double)acc, "le=\"%g\"",
				  (double)le[j] * scale);
	}
	/* +Inf is every observation: a worker may add to a bucket before its count */
	admin_snap_sample(s, names[0], help, ADMIN_HISTOGRAM, (double)(acc + b[n] > count ? acc + b[n] : count),
			  "le=\"+Inf\"");
	admin_snap_sample(s, names[1], help, ADMIN_HISTOGRAM, (double)sum * scale, NULL);
	admin_snap_sample(s, names[2], help, ADMIN_HISTOGRAM,
			  (double)(acc + b[n] > count ? acc + b[n] : count), NULL);
}

static void ops_fill_hists(struct master *m, struct admin_snap *s)
{
	static const char *const ttfb[3] = { "peer_first_byte_seconds_bucket",
					     "peer_first_byte_seconds_sum",
					     "peer_first_byte_seconds_count" };
	static const char *const batch[3] = { "send_batch_blocks_bucket", "send_batch_blocks_sum",
					      "send_batch_blocks_count" };

	ops_fill_hist(m, s, WHIST_TTFB_MS, ttfb,
		      "Time from a peer's arrival in a worker to its first piece message sent.",
		      0.001);
	ops_fill_hist(m, s, WHIST_BATCH_BLOCKS, batch, "Piece messages per send batch.", 1);
}

/* The content guard (guard.h): what it saw and did. */
static void ops_fill_guard(struct master *m, struct admin_snap *s)
{
	static const char *const kind[GSTAT_MAX] = {
		[GSTAT_LEASE_BREAKS] = "lease_breaks", [GSTAT_CHANGES] = "changes",
		[GSTAT_TAKEN_OUT] = "taken_out",       [GSTAT_RECHECKS] = "rechecks",
		[GSTAT_KILLS] = "worker_kills",	       [GSTAT_NO_LEASE] = "no_lease",
	};
	uint64_t v[GSTAT_MAX];

	guard_stats(m, v);
	for (int i = 0; i < GSTAT_MAX; i++)
		admin_snap_sample(s, "content_events_total",
				  "Content files changed while served, and what was done, by kind.",
				  ADMIN_COUNTER, (double)v[i], "kind=\"%s\"", kind[i]);
}

/* The choker, allowed fast and the upload cap (worker/choke.c, worker/pace.c). */
static void ops_fill_choke(struct master *m, struct admin_snap *s)
{
	OPS_C("unchokes_total", "Unchoke messages sent.", ops_wstat(m, WSTAT_UNCHOKES));
	OPS_C("chokes_total", "Peers choked again by a rechoke.", ops_wstat(m, WSTAT_CHOKES));
	OPS_C("rechokes_total", "Rechokes run, summed over workers.",
	      ops_wstat(m, WSTAT_RECHOKES));
	OPS_C("optimistic_unchokes_total", "Optimistic unchokes (choker fastest).",
	      ops_wstat(m, WSTAT_OPTIMISTIC));
	OPS_C("allowed_fast_blocks_total", "Blocks served to choked peers from their allowed "
	      "fast set (BEP 6).", ops_wstat(m, WSTAT_ALLOWED_FAST));
	OPS_C("upload_throttled_total", "Times a batch waited for serve.max_upload_rate.",
	      ops_wstat(m, WSTAT_THROTTLED));
}

/* Peers and payload by handshake path: plain, plaintext after MSE, RC4. */
static void ops_fill_paths(struct master *m, struct admin_snap *s)
{
	static const char *peers = "Peers handed to a worker, by handshake path.";
	static const char *bytes = "Payload bytes sent to MSE peers, by path.";

	admin_snap_sample(s, "peers_accepted_total", peers, ADMIN_COUNTER,
			  (double)m->mstat[MSTAT_PEERS_PLAIN], "path=\"plain\"");
	admin_snap_sample(s, "peers_accepted_total", peers, ADMIN_COUNTER,
			  (double)m->mstat[MSTAT_PEERS_MSE_PLAIN], "path=\"mse_plain\"");
	admin_snap_sample(s, "peers_accepted_total", peers, ADMIN_COUNTER,
			  (double)m->mstat[MSTAT_PEERS_RC4], "path=\"rc4\"");
	admin_snap_sample(s, "peers_fetch_total",
			  "Peers for a torrent being fetched, handed to its fetcher.", ADMIN_COUNTER,
			  (double)m->mstat[MSTAT_PEERS_FETCH], NULL);
	admin_snap_sample(s, "upload_bytes_by_path_total", bytes, ADMIN_COUNTER,
			  (double)ops_wstat(m, WSTAT_UP_BYTES_MSE_PLAIN), "path=\"mse_plain\"");
	admin_snap_sample(s, "upload_bytes_by_path_total", bytes, ADMIN_COUNTER,
			  (double)ops_wstat(m, WSTAT_UP_BYTES_RC4), "path=\"rc4\"");
}

/* Cold content (worker/cold.c) and how long the workers' loop turns take. */
static void ops_fill_cold(struct master *m, struct admin_snap *s)
{
	static const uint32_t le[WORKER_LOOP_BUCKETS] = WORKER_LOOP_LE;
	static const char *help = "Time a worker's loop turn spends handling what woke it.";
	uint64_t cum = 0;

	OPS_C("cold_waits_total", "Batches that waited for content to be read into memory.",
	      ops_wstat(m, WSTAT_COLD_WAITS));
	OPS_C("cold_reads_total", "Reads of cold content into the page cache.",
	      ops_wstat(m, WSTAT_COLD_READS));
	OPS_C("cold_read_bytes_total", "Bytes those reads asked for.",
	      ops_wstat(m, WSTAT_COLD_READ_BYTES));
	OPS_C("cold_shared_total", "Times a batch joined a read already in flight.",
	      ops_wstat(m, WSTAT_COLD_SHARED));
	OPS_C("cold_budget_waits_total", "Times a batch waited for serve.read_budget.",
	      ops_wstat(m, WSTAT_COLD_BUDGET));
	OPS_C("cold_gave_up_total", "Batches sent with a page still out after repeated reads.",
	      ops_wstat(m, WSTAT_COLD_GAVE_UP));
	for (int k = 0; k < WORKER_LOOP_BUCKETS; k++) {
		cum += ops_wstat(m, (enum wstat)(WSTAT_LOOP_LE0 + k));
		if (k == WORKER_LOOP_BUCKETS - 1)
			admin_snap_sample(s, "worker_loop_seconds_bucket", help, ADMIN_HISTOGRAM,
					  (double)cum, "le=\"+Inf\"");
		else
			admin_snap_sample(s, "worker_loop_seconds_bucket", help, ADMIN_HISTOGRAM,
					  (double)cum, "le=\"%g\"", le[k] / 1e6);
	}
	admin_snap_sample(s, "worker_loop_seconds_sum", help, ADMIN_HISTOGRAM,
			  (double)ops_wstat(m, WSTAT_LOOP_US) / 1e6, NULL);
	admin_snap_sample(s, "worker_loop_seconds_count", help, ADMIN_HISTOGRAM,
			  (double)ops_wstat(m, WSTAT_LOOP_TURNS), NULL);
}

static void ops_fill_announce(const struct announcer *a, struct admin_snap *s)
{
	OPS_C("announces_total", "Announces answered without a failure.", a->c[ANN_C_ANNOUNCES]);
	OPS_C("announce_failures_total", "Announces that failed.", a->c[ANN_C_FAILURES]);
	OPS_C("announce_stopped_total", "'stopped' announces answered.", a->c[ANN_C_STOPPED]);
	OPS_C("announce_stopped_lost_total", "'stopped' announces failed or cut short.",
	      a->c[ANN_C_STOPPED_LOST]);
	OPS_C("scrapes_total", "Scrapes answered.", a->c[ANN_C_SCRAPES]);
	OPS_C("scrape_failures_total", "Scrapes that failed.", a->c[ANN_C_SCRAPE_FAILURES]);
	OPS_C("tracker_warnings_total", "Warning messages from trackers.", a->c[ANN_C_WARNINGS]);
	OPS_C("tracker_peers_received_total", "Peers the trackers sent.", a->c[ANN_C_PEERS]);
	OPS_C("announce_udp_retransmits_total", "UDP tracker requests sent again (BEP 15).",
	      a->c[ANN_C_UDP_RETRANSMITS]);
	OPS_C("announce_udp_stray_total", "UDP datagrams that matched no exchange.",
	      a->c[ANN_C_UDP_STRAY]);
	OPS_G("announces_in_flight", "Announces in flight now.", a->n_running);
	OPS_G("announces_queued", "Announces due and waiting for a slot.", a->n_queued);
	OPS_G("announce_torrents", "Torrents the announcer knows.", a->n_torrents);
}

static void ops_fill_tsrv(const struct tsrv *t, struct admin_snap *s)
{
	static const char *const name[TSTAT_MAX] = {
		[TSTAT_ANNOUNCES] = "announces",	  [TSTAT_SCRAPES] = "scrapes",
		[TSTAT_UDP_CONNECTS] = "udp_connects",	  [TSTAT_REFUSED_UNKNOWN] = "refused_unknown",
		[TSTAT_REFUSED_SWARMS] = "refused_swarms", [TSTAT_REFUSED_PEERS] = "refused_peers",
		[TSTAT_REFUSED_CONNS] = "refused_conns",   [TSTAT_BAD_REQUEST] = "bad_request",
		[TSTAT_NOT_FOUND] = "not_found",	  [TSTAT_BAD_UDP] = "bad_udp",
		[TSTAT_BAD_CONN_ID] = "bad_conn_id",	  [TSTAT_HTTP_TIMEOUT] = "http_timeout",
		[TSTAT_HTTP_UNSENT] = "http_unsent",	  [TSTAT_EXPIRED] = "expired",
	};

	for (int i = 0; i < TSTAT_MAX; i++)
		admin_snap_sample(s, "builtin_tracker_events_total",
				  "Built-in tracker: requests answered and refused, by kind.",
				  ADMIN_COUNTER, (double)t->stat[i], "kind=\"%s\"", name[i]);
	OPS_G("builtin_tracker_swarms", "Built-in tracker: swarms kept.", t->n_swarms);
	OPS_G("builtin_tracker_peers", "Built-in tracker: peers kept.", t->n_peers);
	OPS_G("builtin_tracker_connections", "Built-in tracker: HTTP connections open.",
	      TSRV_MAX_CONNS - t->n_free);
}

const char *ops_phase(const struct master *m)
{
	return m->quit_deadline_ms ? "stopping" : m->serving ? "serving" : "starting";
}

/* admin_source.fill: the snapshot behind /metrics and /status. */
static void ops_fill(void *arg, struct admin_snap *s)
{
	struct master *m = arg;
	uint64_t now = master_now_ms();
	struct ops_tr_arg tr = { .s = s, .now_ms = now };

	s->phase = ops_phase(m);
	s->version = RINGSEED_VERSION;
	s->uptime = (double)(now - m->started_ms) / 1000;
	s->now_unix = (int64_t)time(NULL);
	s->up_rate = m->ops->total_rate;
	ops_fill_workers(m, s);
	if (m->serving) /* before, the first scan's thread owns the registry */
		ops_fill_torrents(m, s);
	ops_fill_drops(m, s);
	ops_fill_paths(m, s);
	ops_fill_guard(m, s);
	ops_fill_hists(m, s);
	ops_fill_choke(m, s);
	ops_fill_cold(m, s);
	if (m->ann) {
		ops_fill_announce(m->ann, s);
		ann_each_job(m->ann, ops_tracker, &tr);
	}
	if (m->tsrv)
		ops_fill_tsrv(m->tsrv, s);
}

struct admin_source ops_source(struct master *m)
{
	return (struct admin_source){ .fill = ops_fill, .arg = m };
}

/*
 * The periodic line, short: peers, rate up, torrents by state, and only the
 * drop and error counters that are not zero (all of them are in /metrics).
 */
void ops_stats_line(struct master *m, const char *tag)
{
	struct admin_snap s = { 0 };
	char line[1024], rate[32];
	uint32_t seeding = 0, partial = 0;
	size_t n;

	ops_fill(m, &s);
	for (uint32_t i = 0; i < s.n_t; i++) {
		if (!strcmp(s.t[i].state, "seeding"))
			seeding++;
		else
			partial++;
	}
	snprintf(rate, sizeof(rate), "%.1fMB/s", s.up_rate / 1e6);
	n = (size_t)snprintf(line, sizeof(line), "peers=%llu up=%s up_bytes=%llu torrents=%u seeding",
			     (unsigned long long)ops_wstat(m, WSTAT_PEERS), rate,
			     (unsigned long long)ops_wstat(m, WSTAT_UP_BYTES), seeding);
	if (partial && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, ",%u partial", partial);
	for (uint32_t i = 0; i < s.n_s && n < sizeof(line); i++) {
		const struct admin_sample *x = &s.s[i];
		const char *why = strchr(x->label, '"');

		if (x->value == 0 || !why || strcmp(x->name, "peer_drops_total"))
			continue;
		n += (size_t)snprintf(line + n, sizeof(line) - n, " drop_%.*s=%.0f",
				      (int)strcspn(why + 1, "\""), why + 1, x->value);
	}
	if (m->workers.restarts && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, " worker_restarts=%llu",
			 (unsigned long long)m->workers.restarts);
	log_info("%s: %s", tag, line);
	free(s.w);
	free(s.t);
	free(s.tr);
	free(s.s);
}
