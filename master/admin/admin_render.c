/*
 * admin_render.c - a snapshot as Prometheus text (0.0.4), as JSON, and as a
 * table for people. Pure functions of struct admin_snap, so the unit test
 * renders made-up snapshots.
 *
 * Metric names follow Prometheus' conventions: ringseed_ prefix, the unit
 * in the name (_bytes, _seconds), _total for counters; every family has its
 * # HELP and # TYPE line once, before its samples.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "master/admin/admin.h"

/* ---- growing the snapshot's arrays ---- */

static void *admin_grow(void **arr, uint32_t *n, uint32_t *cap, size_t size, bool *oom)
{
	if (*n == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 16;
		void *p = realloc(*arr, (size_t)ncap * size);

		if (!p) {
			*oom = true;
			return NULL;
		}
		*arr = p;
		*cap = ncap;
	}
	void *e = (char *)*arr + (size_t)(*n)++ * size;

	memset(e, 0, size);
	return e;
}

/* Out of memory: the snapshot's scratch entry, so callers need not check; s->oom says so. */
struct admin_worker *admin_snap_worker(struct admin_snap *s)
{
	struct admin_worker *w = admin_grow((void **)&s->w, &s->n_w, &s->cap_w, sizeof(*w), &s->oom);

	return w ? w : memset(&s->spare_w, 0, sizeof(s->spare_w));
}

struct admin_torrent *admin_snap_torrent(struct admin_snap *s)
{
	struct admin_torrent *t = admin_grow((void **)&s->t, &s->n_t, &s->cap_t, sizeof(*t), &s->oom);

	return t ? t : memset(&s->spare_t, 0, sizeof(s->spare_t));
}

struct admin_tracker *admin_snap_tracker(struct admin_snap *s)
{
	struct admin_tracker *t =
		admin_grow((void **)&s->tr, &s->n_tr, &s->cap_tr, sizeof(*t), &s->oom);

	return t ? t : memset(&s->spare_tr, 0, sizeof(s->spare_tr));
}

void admin_snap_sample(struct admin_snap *s, const char *name, const char *help,
		       enum admin_metric_type type, double value, const char *label, ...)
{
	struct admin_sample *x =
		admin_grow((void **)&s->s, &s->n_s, &s->cap_s, sizeof(*x), &s->oom);
	va_list ap;

	if (!x)
		return;
	x->name = name;
	x->help = help;
	x->type = (uint8_t)type;
	x->value = value;
	if (label) {
		va_start(ap, label);
		vsnprintf(x->label, sizeof(x->label), label, ap);
		va_end(ap);
	}
}

/* ---- Prometheus ---- */

static void admin_num(struct admin_buf *b, double v)
{
	if (v > -1e18 && v < 1e18 && v == (double)(int64_t)v)
		admin_buf_printf(b, "%.0f", v);
	else
		admin_buf_printf(b, "%.6g", v);
}

/* A label value: backslash, double quote and newline escaped (format 0.0.4). */
static void admin_label_value(struct admin_buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			admin_buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			admin_buf_put(b, "\\n", 2);
		else
			admin_buf_put(b, v, 1);
	}
}

static void admin_family(struct admin_buf *b, const char *name, const char *help,
			 enum admin_metric_type type)
{
	admin_buf_printf(b, "# HELP ringseed_%s %s\n# TYPE ringseed_%s %s\n", name, help, name,
			 type == ADMIN_COUNTER ? "counter"
			 : type == ADMIN_GAUGE ? "gauge"
					       : "histogram");
}

/* The family a sample belongs to: a histogram's series without its suffix. */
static size_t admin_family_len(const struct admin_sample *x)
{
	static const char *const suffix[] = { "_bucket", "_sum", "_count" };
	size_t n = strlen(x->name);

	for (int i = 0; x->type == ADMIN_HISTOGRAM && i < 3; i++) {
		size_t k = strlen(suffix[i]);

		if (n > k && !strcmp(x->name + n - k, suffix[i]))
			return n - k;
	}
	return n;
}

#define ADMIN_WORKER_FAMILIES 8

static double admin_worker_value(const struct admin_worker *w, int f)
{
	switch (f) {
	case 0: return (double)w->peers;
	case 1: return (double)w->up_bytes;
	case 2: return (double)w->blocks;
	case 3: return (double)w->requests;
	case 4: return (double)w->rejects;
	case 5: return (double)w->handshakes;
	case 6: return (double)w->sq_full;
	default: return w->cpu_seconds;
	}
}

static void admin_metrics_workers(const struct admin_snap *s, struct admin_buf *b)
{
	static const struct {
		const char *name, *help;
		enum admin_metric_type type;
	} fam[ADMIN_WORKER_FAMILIES] = {
		{ "peers", "Peers connected now, by worker.", ADMIN_GAUGE },
		{ "upload_bytes_total", "Payload bytes of piece messages sent.", ADMIN_COUNTER },
		{ "blocks_sent_total", "Piece messages sent.", ADMIN_COUNTER },
		{ "requests_total", "Valid block requests received.", ADMIN_COUNTER },
		{ "rejects_total", "Reject messages sent (BEP 6).", ADMIN_COUNTER },
		{ "handshakes_total", "Peers handed to the worker by the master.", ADMIN_COUNTER },
		{ "worker_sq_full_total", "Times a worker's submission queue was full.",
		  ADMIN_COUNTER },
		{ "worker_cpu_seconds_total", "CPU time of the worker process (user + system).",
		  ADMIN_COUNTER },
	};

	for (int f = 0; f < ADMIN_WORKER_FAMILIES; f++) {
		admin_family(b, fam[f].name, fam[f].help, fam[f].type);
		for (uint32_t i = 0; i < s->n_w; i++) {
			admin_buf_printf(b, "ringseed_%s{worker=\"%u\"} ", fam[f].name,
					 s->w[i].index);
			admin_num(b, admin_worker_value(&s->w[i], f));
			admin_buf_put(b, "\n", 1);
		}
	}
}

static void admin_torrent_labels(struct admin_buf *b, const struct admin_torrent *t)
{
	admin_buf_put(b, "{info_hash=\"", 12);
	for (int i = 0; i < 20; i++)
		admin_buf_printf(b, "%02x", t->info_hash[i]);
	admin_buf_put(b, "\",name=\"", 8);
	admin_label_value(b, t->name);
	admin_buf_put(b, "\"}", 2);
}

/* Per torrent up to limit; the rest summed under torrent="_other". */
static void admin_metrics_torrents(const struct admin_snap *s, uint32_t limit, struct admin_buf *b)
{
	static const char *const states[] = { "seeding", "partial" };
	static const struct {
		const char *name, *help;
		enum admin_metric_type type;
	} fam[3] = {
		{ "torrent_upload_bytes_total", "Payload bytes sent, by torrent.", ADMIN_COUNTER },
		{ "torrent_peers", "Peers connected now, by torrent.", ADMIN_GAUGE },
		{ "torrent_size_bytes", "Bytes of content, by torrent.", ADMIN_GAUGE },
	};

	admin_family(b, "torrents", "Torrents served, by state.", ADMIN_GAUGE);
	for (unsigned k = 0; k < 2; k++) {
		uint32_t n = 0;

		for (uint32_t i = 0; i < s->n_t; i++)
			n += !strcmp(s->t[i].state, states[k]);
		admin_buf_printf(b, "ringseed_torrents{state=\"%s\"} %u\n", states[k], n);
	}
	for (int f = 0; f < 3; f++) {
		double other = 0;

		admin_family(b, fam[f].name, fam[f].help, fam[f].type);
		for (uint32_t i = 0; i < s->n_t; i++) {
			const struct admin_torrent *t = &s->t[i];
			double v = f == 0 ? (double)t->up_bytes
				 : f == 1 ? (double)t->peers
					  : (double)t->size;

			if (i >= limit) {
				other += v;
				continue;
			}
			admin_buf_printf(b, "ringseed_%s", fam[f].name);
			admin_torrent_labels(b, t);
			admin_buf_put(b, " ", 1);
			admin_num(b, v);
			admin_buf_put(b, "\n", 1);
		}
		if (s->n_t > limit) {
			admin_buf_printf(b, "ringseed_%s{torrent=\"_other\"} ", fam[f].name);
			admin_num(b, other);
			admin_buf_put(b, "\n", 1);
		}
	}
}

void admin_render_metrics(const struct admin_snap *s, uint32_t limit, struct admin_buf *b)
{
	const struct admin_sample *prev = NULL;
	size_t prev_len = 0;

	admin_family(b, "build_info", "The version of ringseed that runs.", ADMIN_GAUGE);
	admin_buf_printf(b, "ringseed_build_info{version=\"");
	admin_label_value(b, s->version);
	admin_buf_printf(b, "\"} 1\n");
	admin_family(b, "uptime_seconds", "Seconds since the master started.", ADMIN_GAUGE);
	admin_buf_printf(b, "ringseed_uptime_seconds %.3f\n", s->uptime);
	admin_family(b, "serving", "1 when serving, 0 while starting or stopping.", ADMIN_GAUGE);
	admin_buf_printf(b, "ringseed_serving %d\n", !strcmp(s->phase, "serving"));
	admin_metrics_workers(s, b);
	admin_metrics_torrents(s, limit, b);
	for (uint32_t i = 0; i < s->n_s; i++) {
		const struct admin_sample *x = &s->s[i];
		size_t fl = admin_family_len(x);

		if (!prev || prev_len != fl || strncmp(prev->name, x->name, fl)) {
			char fam[64];

			snprintf(fam, sizeof(fam), "%.*s", (int)fl, x->name);
			admin_family(b, fam, x->help, (enum admin_metric_type)x->type);
		}
		prev = x;
		prev_len = fl;
		admin_buf_printf(b, x->label[0] ? "ringseed_%s{%s} " : "ringseed_%s%s ", x->name,
				 x->label);
		admin_num(b, x->value);
		admin_buf_put(b, "\n", 1);
	}
}

/* ---- JSON ---- */

/* Bytes of the well-formed UTF-8 sequence at p (RFC 3629), or 0. */
static size_t admin_utf8_len(const unsigned char *p)
{
	size_t n = p[0] >= 0xc2 && p[0] <= 0xdf	  ? 2
		 : p[0] >= 0xe0 && p[0] <= 0xef ? 3
		 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
						: 0;

	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
	    (n == 4 && p[0] == 0xf0 && p[1] < 0x90) || (n == 4 && p[0] == 0xf4 && p[1] >= 0x90))
		return 0; /* overlong, surrogate, past U+10FFFF */
	return n;
}

/* A JSON string: escapes as RFC 8259 asks; bytes that are not UTF-8 become U+FFFD. */
static void admin_json_str(struct admin_buf *b, const char *v)
{
	admin_buf_put(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		size_t n;

		if (*p == '"' || *p == '\\') {
			admin_buf_printf(b, "\\%c", *p);
		} else if (*p < 0x20 || *p == 0x7f) {
			admin_buf_printf(b, "\\u%04x", *p);
		} else if (*p < 0x80) {
			admin_buf_put(b, (const char *)p, 1);
		} else if ((n = admin_utf8_len(p))) {
			admin_buf_put(b, (const char *)p, n);
			p += n - 1;
		} else {
			admin_buf_put(b, "\\ufffd", 6);
		}
	}
	admin_buf_put(b, "\"", 1);
}

static void admin_json_torrents(const struct admin_snap *s, struct admin_buf *b)
{
	admin_buf_printf(b, "\"torrents\":[");
	for (uint32_t i = 0; i < s->n_t; i++) {
		const struct admin_torrent *t = &s->t[i];

		admin_buf_printf(b, "%s{\"name\":", i ? "," : "");
		admin_json_str(b, t->name);
		admin_buf_printf(b, ",\"info_hash\":\"");
		for (int k = 0; k < 20; k++)
			admin_buf_printf(b, "%02x", t->info_hash[k]);
		admin_buf_printf(b,
				 "\",\"size\":%llu,\"pieces\":%u,\"pieces_good\":%u,\"state\":\"%s\","
				 "\"verified\":%.4f,\"peers\":%llu,\"upload_rate\":%.0f,"
				 "\"uploaded\":%llu}",
				 (unsigned long long)t->size, t->pieces, t->good, t->state,
				 t->progress, (unsigned long long)t->peers, t->up_rate,
				 (unsigned long long)t->up_bytes);
	}
	admin_buf_printf(b, "]");
}

static void admin_json_trackers(const struct admin_snap *s, struct admin_buf *b)
{
	admin_buf_printf(b, ",\"trackers\":[");
	for (uint32_t i = 0; i < s->n_tr; i++) {
		const struct admin_tracker *t = &s->tr[i];

		admin_buf_printf(b, "%s{\"url\":", i ? "," : "");
		admin_json_str(b, t->url);
		admin_buf_printf(b, ",\"torrent\":");
		admin_json_str(b, t->torrent);
		admin_buf_printf(b, ",\"family\":\"%s\",\"last_announce\":%lld,\"result\":",
				 t->family, (long long)t->last_unix);
		admin_json_str(b, t->result);
		admin_buf_printf(b, ",\"next_announce\":%lld}", (long long)t->next_unix);
	}
	admin_buf_printf(b, "]");
}

void admin_render_json(const struct admin_snap *s, struct admin_buf *b)
{
	admin_buf_printf(b, "{\"version\":");
	admin_json_str(b, s->version);
	admin_buf_printf(b, ",\"state\":\"%s\",\"uptime\":%.3f,\"upload_rate\":%.0f,", s->phase,
			 s->uptime, s->up_rate);
	admin_json_torrents(s, b);
	admin_buf_printf(b, ",\"workers\":[");
	for (uint32_t i = 0; i < s->n_w; i++)
		admin_buf_printf(b, "%s{\"index\":%u,\"pid\":%d,\"cpu_seconds\":%.2f,\"peers\":%llu,"
				    "\"uploaded\":%llu}",
				 i ? "," : "", s->w[i].index, s->w[i].pid, s->w[i].cpu_seconds,
				 (unsigned long long)s->w[i].peers,
				 (unsigned long long)s->w[i].up_bytes);
	admin_buf_printf(b, "]");
	admin_json_trackers(s, b);
	admin_buf_printf(b, "}\n");
}

/* ---- a table for people ---- */

/* "12.3 MB" style, powers of 1000 as network rates are. */
static void admin_human(double v, char *buf, size_t n)
{
	static const char *const unit[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	int u = 0;

	while (v >= 1000 && u < 5) {
		v /= 1000;
		u++;
	}
	snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* A name for the table: control characters would break its lines, so they become '?'. */
static const char *admin_printable(const char *v, char *buf, size_t n)
{
	size_t i = 0;

	for (; v[i] && i + 1 < n; i++)
		buf[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' : v[i];
	buf[i] = '\0';
	return buf;
}

static void admin_bar(struct admin_buf *b, double frac)
{
	int full = (int)(frac * 20 + 0.5);

	admin_buf_put(b, "[", 1);
	for (int i = 0; i < 20; i++)
		admin_buf_put(b, i < full ? "#" : ".", 1);
	admin_buf_printf(b, "] %3.0f%%", frac * 100);
}

void admin_render_text(const struct admin_snap *s, struct admin_buf *b)
{
	char r[32], u[32], z[32], nm[128], res[128];
	uint64_t peers = 0;

	for (uint32_t i = 0; i < s->n_w; i++)
		peers += s->w[i].peers;
	admin_human(s->up_rate, r, sizeof(r));
	admin_buf_printf(b, "ringseed %s, %s, up %.0f s: %llu peers, %s/s up, %u torrents\n\n",
			 admin_printable(s->version, nm, sizeof(nm)), s->phase, s->uptime, (unsigned long long)peers, r, s->n_t);
	admin_buf_printf(b, "%-32s %-8s %10s %6s %11s %10s  %s\n", "TORRENT", "STATE", "SIZE",
			 "PEERS", "RATE", "UPLOADED", "VERIFIED");
	for (uint32_t i = 0; i < s->n_t; i++) {
		const struct admin_torrent *t = &s->t[i];

		admin_human((double)t->size, z, sizeof(z));
		admin_human(t->up_rate, r, sizeof(r));
		admin_human((double)t->up_bytes, u, sizeof(u));
		admin_buf_printf(b, "%-32.32s %-8s %10s %6llu %9s/s %10s  ",
				 admin_printable(t->name, nm, sizeof(nm)), t->state, z,
				 (unsigned long long)t->peers, r, u);
		admin_bar(b, t->progress);
		admin_buf_put(b, "\n", 1);
	}
	admin_buf_printf(b, "\n%-8s %8s %8s %8s %10s\n", "WORKER", "PID", "CPU s", "PEERS",
			 "UPLOADED");
	for (uint32_t i = 0; i < s->n_w; i++) {
		admin_human((double)s->w[i].up_bytes, u, sizeof(u));
		admin_buf_printf(b, "%-8u %8d %8.1f %8llu %10s\n", s->w[i].index, s->w[i].pid,
				 s->w[i].cpu_seconds, (unsigned long long)s->w[i].peers, u);
	}
	if (s->n_tr)
		admin_buf_printf(b, "\n%-40s %-5s %-24s %s\n", "TRACKER", "FAM", "RESULT",
				 "NEXT (s)");
	for (uint32_t i = 0; i < s->n_tr; i++)
		admin_buf_printf(b, "%-40.40s %-5s %-24.24s %lld\n",
				 admin_printable(s->tr[i].url, nm, sizeof(nm)), s->tr[i].family,
				 admin_printable(s->tr[i].result, res, sizeof(res)),
				 (long long)(s->tr[i].next_unix ? s->tr[i].next_unix - s->now_unix : 0));
}
