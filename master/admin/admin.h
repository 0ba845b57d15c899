/*
 * admin.h - the admin endpoint: plain HTTP for operators and Prometheus,
 * served from the master's epoll loop.
 *
 *   GET /metrics   Prometheus text exposition format 0.0.4
 *   GET /status    JSON: torrents, workers, trackers, uptime, version
 *                  (/status?format=text: the same as a table, for `ringseed status`)
 *   GET /healthz   200 "serving", 503 "starting" or "stopping"
 *
 * The admin room knows nothing of the processes or the announcer: on each
 * request it asks its source (struct admin_source, filled in by master/proc)
 * for a snapshot (struct admin_snap) and renders that. One snapshot feeds
 * /metrics and /status alike, so the two never disagree.
 *
 * Bounded, since whoever reaches the port may be hostile: at most
 * ADMIN_MAX_CONNS connections (when full, the one still reading with the
 * nearest deadline is closed to make room: idle clients cannot lock an
 * operator out), a request of at
 * most ADMIN_REQ_MAX bytes, one request per connection (Connection: close),
 * and ADMIN_DEADLINE_MS from accept to the last byte of the response. Each
 * refusal is counted (enum admin_stat) and exported in /metrics.
 *
 * A connection's life (admin_conn_run advances it):
 *
 *   accept -> READING --request parsed--> response built -> WRITING --sent--> closed
 *               |  bad / too big: 400/405/431 --------------^    |
 *               +-- deadline, EOF or error: closed, counted ------+
 */
#ifndef RINGSEED_ADMIN_H
#define RINGSEED_ADMIN_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

#define ADMIN_MAX_CONNS	  64	   /* connections at once; more are closed at accept */
#define ADMIN_REQ_MAX	  4096	   /* request line and headers; more is 431 */
#define ADMIN_DEADLINE_MS 5000	   /* accept to last byte sent */
#define ADMIN_RESP_MAX	  (64u << 20) /* a response bigger than this is 500 (a bug or a huge catalogue) */
#define ADMIN_RATE_MS	  1000	   /* upload rates are sampled this often */

enum admin_stat {
	ASTAT_REQUESTS,	   /* requests answered 200 or 503 */
	ASTAT_REFUSED_CONNS, /* closed to make room, or at accept: ADMIN_MAX_CONNS open */
	ASTAT_TOO_BIG,	   /* request past ADMIN_REQ_MAX: 431 */
	ASTAT_BAD_REQUEST, /* not HTTP, or not GET/HEAD: 400/405 */
	ASTAT_NOT_FOUND,   /* unknown paths: 404 */
	ASTAT_TIMEOUT,	   /* closed at the deadline (slow sender, or not reading) */
	ASTAT_ABORTED,	   /* the client closed or reset before a complete request */
	ASTAT_MAX
};

/* A histogram's samples are named FAMILY_bucket, FAMILY_sum and FAMILY_count. */
enum admin_metric_type { ADMIN_COUNTER, ADMIN_GAUGE, ADMIN_HISTOGRAM };

/* One sample of a metric family; samples of one family are contiguous. */
struct admin_sample {
	const char *name; /* after "ringseed_" */
	const char *help;
	uint8_t type;	   /* enum admin_metric_type */
	char label[48];	   /* 'reason="idle"', or "" */
	double value;
};

struct admin_worker {
	unsigned index;
	int pid; /* 0: not running (restarting) */
	double cpu_seconds;
	uint64_t peers, up_bytes, blocks, requests, rejects, handshakes, sq_full;
};

struct admin_torrent {
	uint32_t id;
	const char *name;
	uint8_t info_hash[20];
	uint64_t size;
	uint32_t pieces, good;
	const char *state; /* "seeding", "partial" */
	double progress;   /* verification progress, 0..1 */
	uint64_t peers, up_bytes;
	double up_rate; /* bytes per second, over the last ADMIN_RATE_MS or so */
};

struct admin_tracker {
	const char *url;
	const char *torrent;
	const char *family; /* "ipv4", "ipv6" */
	int64_t last_unix;  /* 0: never */
	const char *result; /* "ok", "failing: why", "pending" */
	int64_t next_unix;  /* 0: not scheduled */
};

/* What the master looks like now; arrays grow with admin_snap_* and are reused. */
struct admin_snap {
	const char *phase; /* "starting", "serving", "stopping" */
	const char *version;
	double uptime;
	int64_t now_unix;
	double up_rate; /* all torrents, bytes per second */
	struct admin_worker *w;
	uint32_t n_w, cap_w;
	struct admin_torrent *t;
	uint32_t n_t, cap_t;
	struct admin_tracker *tr;
	uint32_t n_tr, cap_tr;
	struct admin_sample *s;
	uint32_t n_s, cap_s;
	bool oom; /* an array could not grow: the snapshot is short */
	struct admin_worker spare_w; /* written instead when an array cannot grow */
	struct admin_torrent spare_t;
	struct admin_tracker spare_tr;
};

struct admin_worker *admin_snap_worker(struct admin_snap *s);
struct admin_torrent *admin_snap_torrent(struct admin_snap *s);
struct admin_tracker *admin_snap_tracker(struct admin_snap *s);
/* label: printf-style, e.g. "reason=\"%s\"", or NULL. */
void admin_snap_sample(struct admin_snap *s, const char *name, const char *help,
		       enum admin_metric_type type, double value, const char *label, ...)
	__attribute__((format(printf, 6, 7)));

/* The master's side: fills a snapshot (the arrays start empty). */
struct admin_source {
	void (*fill)(void *arg, struct admin_snap *s);
	void *arg;
};

/* A growing output buffer; on allocation failure it stops growing and says so. */
struct admin_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

void admin_buf_printf(struct admin_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void admin_buf_put(struct admin_buf *b, const char *s, size_t n);

/* admin_render.c: the renderers, pure functions of a snapshot */
void admin_render_metrics(const struct admin_snap *s, uint32_t torrent_series, struct admin_buf *b);
void admin_render_json(const struct admin_snap *s, struct admin_buf *b);
void admin_render_text(const struct admin_snap *s, struct admin_buf *b);

/* admin_http.c: the request parser, for the server and its fuzz target */
enum admin_parse {
	ADMIN_PARSE_MORE,     /* the request is not complete yet */
	ADMIN_PARSE_DONE,     /* method and target are set */
	ADMIN_PARSE_BAD,      /* not HTTP/1.x: 400 */
	ADMIN_PARSE_TOO_BIG,  /* headers past ADMIN_REQ_MAX: 431 */
};

struct admin_req {
	http_parser p;
	bool done;
	unsigned method; /* enum http_method */
	char target[256];
	bool target_too_long;
};

void admin_req_init(struct admin_req *r);
/* Feeds the bytes of buf that were not fed yet (all len bytes are the request so far). */
enum admin_parse admin_req_feed(struct admin_req *r, const char *buf, size_t len, size_t *fed);

struct admin_conn {
	int fd; /* -1: free */
	uint8_t state;
	uint64_t deadline_ms;
	struct admin_req req;
	size_t len, fed;
	char rbuf[ADMIN_REQ_MAX];
	char *wbuf;
	size_t wlen, woff;
};

struct admin {
	bool enabled;
	int epfd;
	uint32_t kind;
	uint32_t torrent_series;
	unsigned n_listen;
	int listen_fd[CONF_LISTEN_MAX];
	struct admin_conn *conns; /* ADMIN_MAX_CONNS */
	unsigned n_conns;
	struct admin_source src;
	struct admin_snap snap; /* reused between requests */
	uint64_t stat[ASTAT_MAX];
};

/*
 * Binds every admin.listen address and watches it in epfd with data.u64 =
 * kind << 32 | index. Nothing to bind (admin.listen empty): 0, disabled.
 * On failure err says why and admin_close is still safe.
 */
int admin_init(struct admin *a, const struct conf *c, int epfd, uint32_t kind,
	       struct admin_source src, char *err, size_t errlen);
void admin_event(struct admin *a, uint32_t idx, uint32_t events, uint64_t now_ms);
/* Closes connections past their deadline; call on the master's tick. */
void admin_tick(struct admin *a, uint64_t now_ms);
void admin_close(struct admin *a);
/* Appends the admin endpoint's own counters to a snapshot. */
void admin_samples(const struct admin *a, struct admin_snap *s);
/* The first bound address's port (host order), 0 if none; for tests binding port 0. */
uint16_t admin_port(const struct admin *a);

#endif
