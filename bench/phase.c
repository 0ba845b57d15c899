/*
 * phase.c - what a run does besides downloading: which info-hash it asks for,
 * when its window may open, what it notes inside the window.
 *
 * --info-hash v2   a hybrid torrent is asked for by its v2 info-hash truncated
 *                  to 20 bytes, with the v2 bit in the handshake (BEP 52), as
 *                  a v2 client would; a v2-only torrent always is.
 * --ramp S         the window opens only when every connection has completed
 *                  its handshake (or ended), then PHASE_SETTLE_NS later so the
 *                  last ones have their queues full; S bounds the wait past
 *                  --warmup. Without it a run of 10,000 connections would
 *                  measure part of its own ramp.
 * --split S        the window's throughput and seeder CPU before and after S
 *                  seconds into it: one run, a load added half-way (the
 *                  MSE-openings row of make bench).
 * --churn          each connection closes as soon as the seeder's handshake
 *                  has come (after the DH and the IA with --mse) and connects
 *                  again: handshakes per second, not bytes.
 * --master-pid P   P's own CPU time over the window, its children not counted:
 *                  ringseed's master, which runs every MSE handshake.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "iocore/log.h"

#define PHASE_SETTLE_NS 500000000ull /* after the last handshake: queues fill */
#define PHASE_POLL_NS	100000000ull /* how often a ramp that is not done is looked at */

/* The info-hash of the handshake (and of MSE's SKEY): 0, or -EINVAL said. */
int phase_info_hash(struct bench *b)
{
	bool v2 = b->mi.format == MI_FORMAT_V2;

	if (b->o.ihash_v2 && b->mi.format == MI_FORMAT_V1) {
		log_errx("%s: --info-hash v2: a v1 torrent has no v2 info-hash", b->o.torrent_path);
		return -EINVAL;
	}
	if (b->o.ihash_v2 && b->mi.format == MI_FORMAT_HYBRID) {
		memcpy(b->ih, b->mi.info_hash_v2, MI_HASH_LEN); /* BEP 52: truncated to 20 */
		v2 = true;
	} else {
		memcpy(b->ih, b->mi.info_hash, MI_HASH_LEN); /* v2-only: truncated already */
	}
	b->o.ihash_v2 = v2;
	return 0;
}

/*
 * In the warm-up: may the window open now? Not before warm_end; with --ramp
 * not before every connection is in and has settled, nor after the limit. If
 * not, when to look again, in *next (left alone before warm_end).
 */
bool phase_may_open(struct bench *b, uint64_t now, uint64_t warm_end, uint64_t *next)
{
	uint64_t limit = warm_end + (uint64_t)(b->o.ramp * 1e9);
	bool ramp = b->o.ramp > 0 && !b->o.budget;

	if (ramp && !b->t_ramp && b->next_start == b->o.conns && b->opening == 0)
		b->t_ramp = now;
	if (now < warm_end)
		return false;
	if (!ramp || (b->t_ramp && now >= b->t_ramp + PHASE_SETTLE_NS))
		return true;
	if (now >= limit) {
		b->ramp_cut = true;
		return true;
	}
	*next = b->t_ramp ? b->t_ramp + PHASE_SETTLE_NS : now + PHASE_POLL_NS;
	if (*next > limit)
		*next = limit;
	return false;
}

/* The window begins (end 0) or ends (1). */
void phase_window(struct bench *b, int end)
{
	b->churns_at[end] = b->churns;
	if (b->o.master_pid)
		proc_sample_one(b->o.master_pid, end ? &b->master_b : &b->master_a);
}

/* In the window: --split when due; its deadline in *next. */
void phase_tick(struct bench *b, uint64_t now, uint64_t *next)
{
	uint64_t at = b->t_window + (uint64_t)(b->o.split * 1e9);

	if (b->o.split <= 0 || b->t_split)
		return;
	if (now < at) {
		if (at < *next)
			*next = at;
		return;
	}
	b->t_split = now;
	b->rx_at_split = b->rx_payload;
	if (b->o.seeder_pid)
		proc_sample_tree(b->o.seeder_pid, &b->seeder_s);
}

/*
 * --churn: the seeder's handshake came (the info-hash already checked). The
 * connection closes and opens again; false: it is no longer live for input.
 */
bool phase_churn(struct bench *b, struct conn *c)
{
	if (!b->o.churn)
		return true;
	b->churns++;
	if (b->churns <= b->o.conns)
		b->handshaked++; /* "every connection handshaked" keeps its meaning */
	loop_reconnect(b, c);
	return false;
}

struct phase_sums {
	double before_s, after_s, before_mbps, after_mbps, before_cores, after_cores;
	double churn_rate, master_cpu, per_master_cpu;
};

static void phase_sum(const struct bench *b, double window_s, struct phase_sums *p)
{
	memset(p, 0, sizeof(*p));
	if (b->t_split && b->t_end > b->t_split) {
		p->before_s = (double)(b->t_split - b->t_window) / 1e9;
		p->after_s = (double)(b->t_end - b->t_split) / 1e9;
		if (p->before_s > 0)
			p->before_mbps =
				(double)(b->rx_at_split - b->rx_at_window) / p->before_s / 1e6;
		p->after_mbps = (double)(b->rx_payload - b->rx_at_split) / p->after_s / 1e6;
		if (b->seeder_a.ok && b->seeder_s.ok && b->seeder_b.ok && p->before_s > 0) {
			p->before_cores = (b->seeder_s.user_s + b->seeder_s.sys_s -
					   b->seeder_a.user_s - b->seeder_a.sys_s) /
					  p->before_s;
			p->after_cores = (b->seeder_b.user_s + b->seeder_b.sys_s -
					  b->seeder_s.user_s - b->seeder_s.sys_s) /
					 p->after_s;
		}
	}
	if (window_s > 0)
		p->churn_rate = (double)(b->churns_at[1] - b->churns_at[0]) / window_s;
	if (b->master_a.ok && b->master_b.ok) {
		p->master_cpu = b->master_b.user_s + b->master_b.sys_s - b->master_a.user_s -
				b->master_a.sys_s;
		if (p->master_cpu > 0)
			p->per_master_cpu =
				(double)(b->churns_at[1] - b->churns_at[0]) / p->master_cpu;
	}
}

void phase_human(const struct bench *b, double window_s)
{
	struct phase_sums p;

	phase_sum(b, window_s, &p);
	if (b->o.ramp > 0 && !b->o.budget && !b->ramp_cut)
		printf("ramp             every connection in after %.2f s\n",
		       (double)(b->t_ramp - b->t0) / 1e9);
	else if (b->o.ramp > 0 && !b->o.budget)
		printf("ramp             NOT ALL IN: the window opened at --ramp's limit\n");
	if (b->o.split > 0)
		printf("split            %.1f MB/s over %.2f s, then %.1f MB/s over %.2f s; seeder "
		       "%.2f then %.2f cores\n",
		       p.before_mbps, p.before_s, p.after_mbps, p.after_s, p.before_cores,
		       p.after_cores);
	if (b->o.churn)
		printf("churn            %llu handshakes in the window, %.0f per second\n",
		       (unsigned long long)(b->churns_at[1] - b->churns_at[0]), p.churn_rate);
	if (b->o.master_pid && b->master_a.ok && b->master_b.ok)
		printf("master %-9d cpu %.2f s = %.2f cores%s", (int)b->o.master_pid, p.master_cpu,
		       window_s > 0 ? p.master_cpu / window_s : 0, b->o.churn ? "" : "\n");
	if (b->o.master_pid && b->master_a.ok && b->master_b.ok && b->o.churn)
		printf(", %.0f handshakes per master CPU-second\n", p.per_master_cpu);
}

void phase_json(const struct bench *b, double window_s)
{
	struct phase_sums p;

	phase_sum(b, window_s, &p);
	printf("  \"phases\": {\"info_hash_v2\": %s, \"ramp\": ", b->o.ihash_v2 ? "true" : "false");
	if (b->o.ramp > 0 && !b->o.budget)
		printf("{\"limit_s\": %.3f, \"all_in_s\": %.3f, \"complete\": %s}", b->o.ramp,
		       b->t_ramp ? (double)(b->t_ramp - b->t0) / 1e9 : 0,
		       b->ramp_cut ? "false" : "true");
	else
		printf("null");
	printf(", \"split\": ");
	if (b->o.split > 0)
		printf("{\"at_s\": %.3f, \"before_s\": %.3f, \"after_s\": %.3f, \"before_MBps\": "
		       "%.3f, "
		       "\"after_MBps\": %.3f, \"before_seeder_cores\": %.3f, "
		       "\"after_seeder_cores\": %.3f}",
		       b->o.split, p.before_s, p.after_s, p.before_mbps, p.after_mbps,
		       p.before_cores, p.after_cores);
	else
		printf("null");
	printf(", \"churn\": ");
	if (b->o.churn)
		printf("{\"handshakes\": %llu, \"per_s\": %.1f}",
		       (unsigned long long)(b->churns_at[1] - b->churns_at[0]), p.churn_rate);
	else
		printf("null");
	printf(", \"master\": ");
	if (b->o.master_pid && b->master_a.ok && b->master_b.ok)
		printf("{\"pid\": %d, \"cpu_s\": %.3f, \"cores\": %.3f, "
		       "\"handshakes_per_cpu_s\": %.1f}",
		       (int)b->o.master_pid, p.master_cpu,
		       window_s > 0 ? p.master_cpu / window_s : 0, p.per_master_cpu);
	else
		printf("null");
	printf("},\n");
}
