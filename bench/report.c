/*
 * report.c - what a run measured, as a table for people or JSON for scripts.
 *
 * Throughput is payload (block bytes of the pieces we asked for) received in
 * the window, divided by the window's length; MB is 10^6 bytes, Gbit 10^9
 * bits. A connection's own rate is its payload in the window divided by the
 * time it was open inside the window; in duration mode only connections open
 * for at least half the window count (one that joins late says little about
 * fairness). Time to first byte runs from the connect to the first payload
 * byte. Percentiles interpolate between the nearest ranks.
 *
 * With --rate or --mix each class of connections gets its own aggregate
 * (next to the sum of its caps) and per-connection spread. Per-block counts
 * are over the window: requests per write (1.00 is trickle's one request per
 * send), receive completions per block, waits for tokens.
 *
 * With --http the keys are the same: payload is response body bytes (headers
 * do not count), "handshaked" means a first 206 response header came, and
 * protocol.pieces_completed counts complete responses.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <http_parser.h>

#include "bench/bench.h"

struct report_dist {
	uint32_t count;
	double min, p10, median, p90, mean, max;
};

/* One --mix class over the window. */
struct report_class {
	uint32_t conns;
	uint64_t bytes;
	double mbps, cap_mbps; /* cap_mbps: the class's connections x its rate; 0 uncapped */
	struct report_dist rate;
};

struct report {
	double window_s;
	uint64_t window_bytes;
	double mbps, gbps;
	struct report_dist rate; /* MB/s per connection */
	struct report_dist ttfb; /* ms */
	uint32_t failed;
	double seeder_user, seeder_sys, self_user, self_sys;
	double irq_cores;   /* the machine's irq + softirq time in the window */
	double other_cores; /* processes that are neither the seeder nor us, and steal */
	struct report_class cls[BENCH_MAX_CLASSES];
	uint64_t count[5]; /* pace_note's counters over the window */
};

/* Other load above this many cores makes the report say that the run was not clean. */
#define REPORT_OTHER_MAX 0.10

static const char *report_recv_name(enum recv_mode m)
{
	return m == RECV_COPY ? "copy" : m == RECV_TRUNC ? "trunc" : "discard";
}

static int report_cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static double report_pct(const double *v, uint32_t n, double p)
{
	double r = p * (n - 1);
	uint32_t i = (uint32_t)r;

	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + (v[i + 1] - v[i]) * (r - i);
}

/* Sorts v and summarises it; an empty set is all zeros. */
static void report_dist(double *v, uint32_t n, struct report_dist *d)
{
	double sum = 0;

	memset(d, 0, sizeof(*d));
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), report_cmp);
	for (uint32_t i = 0; i < n; i++)
		sum += v[i];
	d->count = n;
	d->min = v[0];
	d->max = v[n - 1];
	d->p10 = report_pct(v, n, 0.10);
	d->median = report_pct(v, n, 0.50);
	d->p90 = report_pct(v, n, 0.90);
	d->mean = sum / n;
}

/* Payload of c in the window and how long it was open in it, in seconds. */
static double report_conn_active(const struct bench *b, const struct conn *c)
{
	uint64_t from = c->t_handshake > b->t_window ? c->t_handshake : b->t_window;
	uint64_t to = c->t_end && c->t_end < b->t_end ? c->t_end : b->t_end;

	if (!c->t_handshake || to <= from)
		return 0;
	return (double)(to - from) / 1e9;
}

/* Per class: aggregate and per-connection spread, with rates as scratch (N doubles). */
static void report_classes(const struct bench *b, struct report *r, double *rates,
			   double min_active)
{
	for (uint32_t k = 0; k < b->o.nclasses && rates; k++) {
		struct report_class *rc = &r->cls[k];
		uint32_t nr = 0;

		for (uint32_t i = 0; i < b->o.conns; i++) {
			const struct conn *c = &b->conns[i];
			double active = report_conn_active(b, c);
			uint64_t in_window = c->bytes - c->bytes_at_warmup;

			if (c->cls != k)
				continue;
			rc->conns++;
			rc->bytes += in_window;
			if (active > 0 && active >= min_active)
				rates[nr++] = (double)in_window / active / 1e6;
		}
		if (r->window_s > 0)
			rc->mbps = (double)rc->bytes / r->window_s / 1e6;
		rc->cap_mbps = (double)rc->conns * (double)b->o.classes[k].rate / 1e6;
		report_dist(rates, nr, &rc->rate);
	}
}

static void report_compute(const struct bench *b, struct report *r)
{
	uint32_t n = b->o.conns, nr = 0, nt = 0;
	double *rates = calloc(n ? n : 1, sizeof(double));
	double *ttfb = calloc(n ? n : 1, sizeof(double));
	double min_active = b->o.budget ? 0 : (double)(b->t_end - b->t_window) / 2e9;

	memset(r, 0, sizeof(*r));
	r->window_s = (double)(b->t_end - b->t_window) / 1e9;
	for (uint32_t i = 0; i < n; i++) {
		const struct conn *c = &b->conns[i];
		double active = report_conn_active(b, c);
		uint64_t in_window = c->bytes - c->bytes_at_warmup;

		r->window_bytes += in_window;
		if (rates && active > 0 && active >= min_active)
			rates[nr++] = (double)in_window / active / 1e6;
		if (ttfb && c->t_first)
			ttfb[nt++] = (double)(c->t_first - c->t_connect) / 1e6;
	}
	if (r->window_s > 0) {
		r->mbps = (double)r->window_bytes / r->window_s / 1e6;
		r->gbps = (double)r->window_bytes * 8 / r->window_s / 1e9;
	}
	report_dist(rates, rates ? nr : 0, &r->rate);
	report_dist(ttfb, ttfb ? nt : 0, &r->ttfb);
	report_classes(b, r, rates, min_active);
	for (int k = 0; k < 5; k++)
		r->count[k] = b->count_at[1][k] - b->count_at[0][k];
	free(rates);
	free(ttfb);
	for (int e = END_DONE + 1; e < END_MAX; e++)
		r->failed += b->ends[e];
	r->seeder_user = b->seeder_b.user_s - b->seeder_a.user_s;
	r->seeder_sys = b->seeder_b.sys_s - b->seeder_a.sys_s;
	r->self_user = b->self_b.user_s - b->self_a.user_s;
	r->self_sys = b->self_b.sys_s - b->self_a.sys_s;
	if (b->machine_a.ok && b->machine_b.ok && r->window_s > 0) {
		double ours = r->self_user + r->self_sys + r->seeder_user + r->seeder_sys;

		const struct machine_sample *ma = &b->machine_a, *mb = &b->machine_b;

		r->irq_cores = (mb->irq_s - ma->irq_s) / r->window_s;
		r->other_cores =
			(mb->task_s - ma->task_s + mb->steal_s - ma->steal_s - ours) / r->window_s;
		if (r->other_cores < 0)
			r->other_cores = 0; /* tick rounding */
	}
}

/* A uint32_t counter of struct conn (at offset off), summed over the connections. */
static unsigned long long report_sum(const struct bench *b, size_t off)
{
	unsigned long long sum = 0;

	for (uint32_t i = 0; i < b->o.conns; i++)
		sum += *(const uint32_t *)((const char *)&b->conns[i] + off);
	return sum;
}

int report_status(const struct bench *b, const char **why)
{
	*why = NULL;
	if (bench_interrupted)
		*why = "interrupted";
	else if (b->ends[END_HTTP_STATUS])
		*why = b->http_why; /* "GET /x: HTTP 404 Not Found, want 206 Partial Content" */
	else if (b->handshaked == 0)
		*why = b->o.http ? "no connection got a 206 response"
				 : "no connection completed the handshake";
	else if (b->handshaked < b->o.conns)
		*why = b->o.http ? "not every connection got a 206 response"
				 : "not every connection completed the handshake";
	else if (!b->o.budget && b->o.queue && !b->o.churn && b->rx_payload == b->rx_at_window)
		*why = "no payload received in the window";
	else if (b->mismatches)
		*why = "pieces failed their SHA-1 check";
	else if (b->budget_timeout)
		*why = "the byte budget was not received before --timeout";
	else if (b->o.budget && b->ends[END_DONE] != b->o.conns)
		*why = "some connections ended before their byte budget";
	return *why ? 1 : 0;
}

static void report_src(const struct bench *b, char *out, size_t len)
{
	struct in_addr a = { htonl(b->o.src_first) }, z = { htonl(b->o.src_last) };
	char s1[INET_ADDRSTRLEN], s2[INET_ADDRSTRLEN];

	if (!b->o.src_first) {
		snprintf(out, len, "any");
		return;
	}
	inet_ntop(AF_INET, &a, s1, sizeof(s1));
	inet_ntop(AF_INET, &z, s2, sizeof(s2));
	snprintf(out, len, "%s-%s", s1, s2);
}

/* The first failure of kind e in words: an errno, or an HTTP status. */
static const char *report_first_err(const struct bench *b, int e, char *buf, size_t len)
{
	int err = b->first_err[e];

	if (!err)
		return "";
	if (e != END_HTTP_STATUS)
		return strerror(err);
	snprintf(buf, len, "HTTP %d %s", err, http_status_str((enum http_status)err));
	return buf;
}

static void report_fails_human(const struct bench *b)
{
	char buf[64];

	for (int e = END_DONE + 1; e < END_MAX; e++) {
		if (!b->ends[e])
			continue;
		printf("  %-18s %u", conn_end_name(e), b->ends[e]);
		if (b->first_err[e])
			printf(" (first: %s)", report_first_err(b, e, buf, sizeof(buf)));
		printf("\n");
	}
}

static void report_title(const struct bench *b, const char *src)
{
	if (b->o.http) {
		printf("ringseed-bench: %u connections to %s over HTTP, ", b->o.conns,
		       b->o.target_str);
		if (b->http_size)
			printf("%llu bytes in %u ranges of %u bytes",
			       (unsigned long long)b->http_size, b->http_ranges, b->o.http_range);
		else
			printf("size unknown (no 206 response), ranges of %u bytes",
			       b->o.http_range);
		printf(", Q=%u, order %s, recv %s, from %s\n", b->o.queue,
		       pick_order_name(b->o.order), report_recv_name(b->o.recv), src);
		return;
	}
	printf("ringseed-bench: %u connections to %s, %s (%u pieces of %u KiB), Q=%u, "
	       "order %s, recv %s%s%s, from %s\n",
	       b->o.conns, b->o.target_str, b->mi.name, b->mi.piece_count,
	       b->mi.piece_length / 1024, b->o.queue, pick_order_name(b->o.order),
	       report_recv_name(b->o.recv), b->o.verify ? " + verify" : "",
	       !b->o.mse ? "" : b->o.mse == MSE_CRYPTO_RC4 ? ", MSE rc4" : ", MSE plaintext", src);
}

static void report_protocol_human(const struct bench *b)
{
	if (b->o.http)
		printf("http             %llu responses (206), %llu reconnects",
		       report_sum(b, offsetof(struct conn, pieces_done)),
		       (unsigned long long)b->reconnects);
	else
		printf("protocol         %llu chokes, %llu unchokes, %llu rejects, %llu blocks not "
		       "asked for",
		       report_sum(b, offsetof(struct conn, chokes)),
		       report_sum(b, offsetof(struct conn, unchokes)),
		       report_sum(b, offsetof(struct conn, rejects)),
		       report_sum(b, offsetof(struct conn, unexpected)));
	printf("; ring: %llu recv re-arms (ENOBUFS %llu), SQ full %llu\n",
	       (unsigned long long)b->rearms, (unsigned long long)b->enobufs,
	       (unsigned long long)b->sq_full);
}

/* The load's shape: pacing, round trip, caps. */
static void report_load_human(const struct bench *b)
{
	printf("load             ");
	if (!b->o.queue)
		printf("idle (-q 0: handshake and interested, no requests)");
	else
		printf("requests %s", pace_requests_name(b->o.requests));
	if (b->o.rtt_ns)
		printf("; rtt %.1f ms", (double)b->o.rtt_ns / 1e6);
	for (uint32_t k = 0; k < b->o.nclasses; k++) {
		const struct bench_class *c = &b->o.classes[k];

		printf("%s%u%% ", k ? ", " : "; ", c->pct);
		if (c->rate)
			printf("capped at %.3f MB/s", (double)c->rate / 1e6);
		else
			printf("uncapped");
	}
	printf("\n");
}

static void report_classes_human(const struct bench *b, const struct report *r)
{
	if (b->o.nclasses == 1 && !b->o.classes[0].rate)
		return;
	for (uint32_t k = 0; k < b->o.nclasses; k++) {
		const struct report_class *c = &r->cls[k];

		printf("class %-10u %u connections, %.1f MB/s", k + 1, c->conns, c->mbps);
		if (c->cap_mbps > 0)
			printf(" of %.1f (sum of caps, %.0f%%)", c->cap_mbps,
			       100 * c->mbps / c->cap_mbps);
		printf("; per connection min %.3f  median %.3f  max %.3f MB/s\n", c->rate.min,
		       c->rate.median, c->rate.max);
	}
}

static void report_counts_human(const struct report *r)
{
	const uint64_t *v = r->count;

	printf("per block        %llu blocks; %llu requests in %llu writes (%.2f per write); "
	       "%.2f recv completions per block; %llu waits for tokens\n",
	       (unsigned long long)v[0], (unsigned long long)v[1], (unsigned long long)v[2],
	       v[2] ? (double)v[1] / (double)v[2] : 0, v[0] ? (double)v[3] / (double)v[0] : 0,
	       (unsigned long long)v[4]);
}

static void report_cpu_human(const char *who, const struct proc_sample *a,
			     const struct proc_sample *z, double user, double sys,
			     const struct report *r, uint64_t rss_peak)
{
	double cpu = user + sys;

	printf("%-16s cpu %.2f s (user %.2f, sys %.2f) = %.2f cores", who, cpu, user, sys,
	       r->window_s > 0 ? cpu / r->window_s : 0);
	if (cpu > 0)
		printf(", %.0f MB per cpu-second", (double)r->window_bytes / 1e6 / cpu);
	printf("\n%-16s rss %.1f MiB", "", (double)z->rss_kb / 1024);
	if (rss_peak)
		printf(" (peak %.1f MiB)", (double)rss_peak / 1024);
	if (a->nproc > 1 || z->nproc > 1)
		printf(", %u processes", z->nproc);
	printf("\n");
}

void report_human(const struct bench *b)
{
	struct report r;
	const char *why;
	char src[64];

	report_compute(b, &r);
	report_src(b, src, sizeof(src));
	report_title(b, src);
	printf("window           %.2f s after %.2f s warm-up%s\n", r.window_s,
	       (double)(b->t_window - b->t0) / 1e9, b->o.budget ? " (byte budget mode)" : "");
	printf("throughput       %.1f MB/s  %.2f Gbit/s  (%.1f MB in the window)\n", r.mbps, r.gbps,
	       (double)r.window_bytes / 1e6);
	printf("per connection   min %.2f  p10 %.2f  median %.2f  max %.2f  MB/s  (%u "
	       "connections)\n",
	       r.rate.min, r.rate.p10, r.rate.median, r.rate.max, r.rate.count);
	printf("first byte       min %.1f  median %.1f  p90 %.1f  max %.1f  ms  (%u connections)\n",
	       r.ttfb.min, r.ttfb.median, r.ttfb.p90, r.ttfb.max, r.ttfb.count);
	report_load_human(b);
	report_classes_human(b, &r);
	if (!b->o.http)
		report_counts_human(&r); /* HTTP counts no blocks */
	printf("connections      %u started, %u handshaked, %u held at the end (peak %u), "
	       "%u done, %u failed",
	       b->attempted, b->handshaked, b->active, b->active_peak, b->ends[END_DONE], r.failed);
	if (b->o.http)
		printf(", %llu reconnects", (unsigned long long)b->reconnects);
	printf("\n");
	report_fails_human(b);
	phase_human(b, r.window_s);
	if (b->reqq_capped)
		printf("  queue lowered to the peer's reqq on %u connections (lowest %u)\n",
		       b->reqq_capped, b->reqq_min);
	if (b->o.seeder_pid && b->seeder_a.ok && b->seeder_b.ok) {
		char who[32];

		snprintf(who, sizeof(who), "seeder %d", (int)b->o.seeder_pid);
		report_cpu_human(who, &b->seeder_a, &b->seeder_b, r.seeder_user, r.seeder_sys, &r,
				 b->seeder_rss_peak);
	} else if (b->o.seeder_pid) {
		printf("seeder %-9d not found in /proc\n", (int)b->o.seeder_pid);
	}
	report_cpu_human("bench", &b->self_a, &b->self_b, r.self_user, r.self_sys, &r,
			 b->self_b.peak_kb);
	if (b->machine_b.ok)
		printf("machine          %u CPUs; irq+softirq %.2f cores; other processes %.2f "
		       "cores%s%s\n",
		       b->machine_b.ncpu, r.irq_cores, r.other_cores,
		       b->o.seeder_pid ? "" : " (the seeder among them: no --seeder-pid)",
		       r.other_cores > REPORT_OTHER_MAX ? ": ANOTHER LOAD SHARED THE MACHINE" : "");
	if (b->o.verify)
		printf("verify           %llu pieces good, %llu bad\n",
		       (unsigned long long)b->verified, (unsigned long long)b->mismatches);
	report_protocol_human(b);
	report_status(b, &why);
	printf("result           %s%s\n", why ? "FAILED: " : "ok", why ? why : "");
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void json_dist(const char *name, const struct report_dist *d, const char *tail)
{
	printf("  \"%s\": {\"count\": %u, \"min\": %.3f, \"p10\": %.3f, \"median\": %.3f, "
	       "\"p90\": %.3f, \"mean\": %.3f, \"max\": %.3f}%s\n",
	       name, d->count, d->min, d->p10, d->median, d->p90, d->mean, d->max, tail);
}

static void json_cpu(const char *name, const struct proc_sample *z, double user, double sys,
		     const struct report *r, uint64_t rss_peak, const char *extra)
{
	double cpu = user + sys;

	printf("  \"%s\": {%s\"cpu_s\": %.3f, \"user_s\": %.3f, \"sys_s\": %.3f, \"cores\": %.3f, "
	       "\"MB_per_cpu_s\": %.1f, \"rss_kb\": %llu, \"rss_peak_kb\": %llu, "
	       "\"processes\": %u},\n",
	       name, extra, cpu, user, sys, r->window_s > 0 ? cpu / r->window_s : 0,
	       cpu > 0 ? (double)r->window_bytes / 1e6 / cpu : 0, (unsigned long long)z->rss_kb,
	       (unsigned long long)rss_peak, z->nproc);
}

static void json_conns(const struct bench *b, const struct report *r)
{
	bool first = true;
	char buf[64];

	printf("  \"connections\": {\"target\": %u, \"started\": %u, \"handshaked\": %u, "
	       "\"held\": %u, \"held_peak\": %u, \"done\": %u, \"failed\": %u, "
	       "\"reconnects\": %llu, \"failures\": {",
	       b->o.conns, b->attempted, b->handshaked, b->active, b->active_peak,
	       b->ends[END_DONE], r->failed, (unsigned long long)b->reconnects);
	for (int e = END_DONE + 1; e < END_MAX; e++) {
		if (!b->ends[e])
			continue;
		printf("%s\"%s\": {\"count\": %u, \"first_error\": ", first ? "" : ", ",
		       conn_end_name(e), b->ends[e]);
		json_str(report_first_err(b, e, buf, sizeof(buf)));
		printf("}");
		first = false;
	}
	printf("}},\n");
}

static void json_head(const struct bench *b)
{
	char hex[2 * MI_HASH_LEN + 1], src[64];

	mi_hex(b->ih, hex);
	report_src(b, src, sizeof(src));
	printf("{\n  \"target\": ");
	json_str(b->o.target_str);
	if (b->o.http) {
		printf(",\n  \"torrent\": null,\n  \"http\": {\"host\": ");
		json_str(b->o.http_host);
		printf(", \"path\": ");
		json_str(b->o.http_path);
		printf(", \"size\": %llu, \"range\": %u, \"ranges\": %u, \"responses\": %llu},\n",
		       (unsigned long long)b->http_size, b->o.http_range, b->http_ranges,
		       report_sum(b, offsetof(struct conn, pieces_done)));
	} else {
		printf(",\n  \"torrent\": {\"path\": ");
		json_str(b->o.torrent_path);
		printf(", \"name\": ");
		json_str(b->mi.name);
		printf(", \"info_hash\": \"%s\", \"piece_length\": %u, \"pieces\": %u, "
		       "\"total_length\": %llu},\n  \"http\": null,\n",
		       hex, b->mi.piece_length, b->mi.piece_count,
		       (unsigned long long)b->mi.total_length);
	}
	printf("  \"options\": {\"connections\": %u, \"queue\": %u, \"block\": %u, "
	       "\"duration_s\": %.3f, \"budget_bytes\": %llu, \"warmup_s\": %.3f, "
	       "\"order\": \"%s\", \"recv\": \"%s\", \"verify\": %s, \"src\": \"%s\", "
	       "\"seeder_pid\": %d, \"mse\": \"%s\", \"requests\": \"%s\", \"rtt_ms\": %.3f, "
	       "\"mix\": ",
	       b->o.conns, b->o.queue, b->o.http ? b->o.http_range : BENCH_BLOCK,
	       b->o.budget ? 0 : b->o.duration, (unsigned long long)b->o.budget, b->o.warmup,
	       pick_order_name(b->o.order), report_recv_name(b->o.recv),
	       b->o.verify ? "true" : "false", src, (int)b->o.seeder_pid,
	       !b->o.mse ? "none" : b->o.mse == MSE_CRYPTO_RC4 ? "rc4" : "plain",
	       b->o.queue ? pace_requests_name(b->o.requests) : "idle", (double)b->o.rtt_ns / 1e6);
	for (uint32_t k = 0; k < b->o.nclasses; k++)
		printf("%s{\"pct\": %u, \"rate_Bps\": %llu}", k ? ", " : "[", b->o.classes[k].pct,
		       (unsigned long long)b->o.classes[k].rate);
	printf("]},\n");
}

static void json_classes(const struct bench *b, const struct report *r)
{
	const uint64_t *v = r->count;

	printf("  \"classes\": [");
	for (uint32_t k = 0; k < b->o.nclasses; k++) {
		const struct report_class *c = &r->cls[k];

		printf("%s\n    {\"pct\": %u, \"rate_Bps\": %llu, \"connections\": %u, "
		       "\"MBps\": %.3f, \"cap_MBps\": %.3f, \"per_connection_MBps\": "
		       "{\"count\": %u, \"min\": %.3f, \"p10\": %.3f, \"median\": %.3f, \"max\": "
		       "%.3f}}",
		       k ? "," : "", b->o.classes[k].pct, (unsigned long long)b->o.classes[k].rate,
		       c->conns, c->mbps, c->cap_mbps, c->rate.count, c->rate.min, c->rate.p10,
		       c->rate.median, c->rate.max);
	}
	printf("],\n  \"counts\": {\"blocks\": %llu, \"requests\": %llu, \"request_writes\": %llu, "
	       "\"recv_completions\": %llu, \"token_waits\": %llu, \"requests_per_write\": %.3f, "
	       "\"recv_completions_per_block\": %.3f},\n",
	       (unsigned long long)v[0], (unsigned long long)v[1], (unsigned long long)v[2],
	       (unsigned long long)v[3], (unsigned long long)v[4],
	       v[2] ? (double)v[1] / (double)v[2] : 0, v[0] ? (double)v[3] / (double)v[0] : 0);
}

void report_json(const struct bench *b)
{
	struct report r;
	const char *why;

	report_compute(b, &r);
	json_head(b);
	printf("  \"window_s\": %.3f,\n  \"warmup_s\": %.3f,\n", r.window_s,
	       (double)(b->t_window - b->t0) / 1e9);
	printf("  \"throughput\": {\"bytes\": %llu, \"MBps\": %.3f, \"Gbps\": %.4f},\n",
	       (unsigned long long)r.window_bytes, r.mbps, r.gbps);
	json_dist("per_connection_MBps", &r.rate, ",");
	json_dist("ttfb_ms", &r.ttfb, ",");
	json_classes(b, &r);
	json_conns(b, &r);
	phase_json(b, r.window_s);
	if (b->o.seeder_pid && b->seeder_a.ok && b->seeder_b.ok) {
		char extra[32];

		snprintf(extra, sizeof(extra), "\"pid\": %d, ", (int)b->o.seeder_pid);
		json_cpu("seeder", &b->seeder_b, r.seeder_user, r.seeder_sys, &r,
			 b->seeder_rss_peak, extra);
	} else {
		printf("  \"seeder\": null,\n");
	}
	json_cpu("bench", &b->self_b, r.self_user, r.self_sys, &r, b->self_b.peak_kb, "");
	printf("  \"machine\": {\"cpus\": %u, \"irq_cores\": %.3f, \"other_cores\": %.3f, "
	       "\"clean\": %s},\n",
	       b->machine_b.ncpu, r.irq_cores, r.other_cores,
	       r.other_cores > REPORT_OTHER_MAX ? "false" : "true");
	printf("  \"verify\": {\"enabled\": %s, \"pieces_ok\": %llu, \"mismatches\": %llu},\n",
	       b->o.verify ? "true" : "false", (unsigned long long)b->verified,
	       (unsigned long long)b->mismatches);
	printf("  \"protocol\": {\"chokes\": %llu, \"unchokes\": %llu, \"rejects\": %llu, "
	       "\"unexpected_blocks\": %llu, \"pieces_completed\": %llu},\n",
	       report_sum(b, offsetof(struct conn, chokes)),
	       report_sum(b, offsetof(struct conn, unchokes)),
	       report_sum(b, offsetof(struct conn, rejects)),
	       report_sum(b, offsetof(struct conn, unexpected)),
	       report_sum(b, offsetof(struct conn, pieces_done)));
	printf("  \"reqq\": {\"capped_connections\": %u, \"lowest\": %u},\n", b->reqq_capped,
	       b->reqq_min);
	printf("  \"ring\": {\"recv_rearms\": %llu, \"enobufs\": %llu, \"sq_full\": %llu},\n",
	       (unsigned long long)b->rearms, (unsigned long long)b->enobufs,
	       (unsigned long long)b->sq_full);
	report_status(b, &why);
	printf("  \"ok\": %s,\n  \"error\": ", why ? "false" : "true");
	json_str(why ? why : "");
	printf("\n}\n");
}
