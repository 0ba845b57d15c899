/*
 * opts.c - ringseed-bench's command line.
 *
 * Every option is checked here, with one line naming the option and what it
 * takes; what depends on the torrent (the byte budget "all", the memory copy
 * mode needs) is settled in main.c once the torrent is loaded. --http (the
 * nginx anchor, http.c) replaces -t and -c; what is BitTorrent only is refused
 * with it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench/opts.h"

#define OPTS_DEFAULT_CONNS	16
#define OPTS_DEFAULT_QUEUE	32
#define OPTS_DEFAULT_DURATION	10.0
#define OPTS_DEFAULT_WARMUP	2.0
#define OPTS_DEFAULT_TIMEOUT	300.0
#define OPTS_DEFAULT_OPENING	256
#define OPTS_DEFAULT_CONNECT_MS 10000
#define OPTS_DEFAULT_HS_MS	30000
#define OPTS_RBUFS_PER_CONN	4    /* default receive buffers: 4 per connection, */
#define OPTS_RBUFS_MIN		64   /* rounded up to a power of two, at least this */
#define OPTS_RBUFS_MAX		2048 /* and at most this (128 MiB of 64 KiB buffers) */
#define OPTS_DEFAULT_RBUF_SIZE	(64u << 10)
#define OPTS_LOOPBACK_SRC_FIRST 0x7f000002u /* 127.0.0.2 */
#define OPTS_LOOPBACK_SRC_LAST	0x7f00fffeu /* 127.0.255.254 */
#define OPTS_DEFAULT_RANGE	16384u	    /* --range: a BitTorrent block */
#define OPTS_RANGE_MAX		(64u << 20)
#define OPTS_RATE_WANT		"want a rate in bytes per second (K, M, G: 10^3, 10^6, 10^9)"
#define OPTS_PATH_MAX		1024u /* --http's PATH; the request line must fit bench.h's buffer */

void opts_usage(FILE *f)
{
	fprintf(f,
		"usage: ringseed-bench -t FILE.torrent -c HOST:PORT [options]\n"
		"       ringseed-bench --http HOST:PORT/PATH [--range BYTES] [options]\n"
		"\n"
		"N leecher connections against one BitTorrent seeder; measures what it serves.\n"
		"With --http, N keep-alive connections asking a web server for byte ranges\n"
		"of one file instead (the nginx sendfile anchor), measured the same way.\n"
		"\n"
		"  -t, --torrent FILE        the .torrent the seeder serves\n"
		"  -c, --connect HOST:PORT   the seeder (IPv4)\n"
		"      --http HOST:PORT/PATH instead of -t and -c: GET /PATH from HOST:PORT "
		"(IPv4)\n"
		"      --range BYTES         with --http: bytes per request (K/M; default %u)\n"
		"  -n, --connections N       leechers, 1..%u (default %u)\n"
		"  -q, --queue Q             16 KiB requests (with --http, ranges) in flight per\n"
		"                            connection, 0..%u (default %u); 0: idle, handshake\n"
		"                            and interested, no requests, held (not --http, -b)\n"
		"      --requests MODE       trickle (default: each new request written alone as\n"
		"                            a block arrives, like a real client) or burst (the\n"
		"                            whole queue refilled per read in one write)\n"
		"      --rate R              receive cap per connection in bytes/s, K/M/G as\n"
		"                            10^3/6/9, 0 uncapped: no tokens, no reads\n"
		"      --mix P:R[,P:R...]    P%% of the connections capped at R (0 = uncapped),\n"
		"                            percentages adding up to 100, e.g. 90:500K,10:0\n"
		"      --rtt T               hold each request T (e.g. 40ms, 0.1s) before it is\n"
		"                            written: a distant peer, queue / T per connection\n"
		"  -d, --duration S          measure S seconds after the warm-up (default %.0f)\n"
		"  -b, --budget BYTES|all    instead: each connection downloads BYTES (K/M/G) or "
		"the\n"
		"                            whole torrent, then closes; the run ends when all "
		"did\n"
		"      --warmup S            seconds before the window starts (default %.0f; 0 "
		"with "
		"-b)\n"
		"      --timeout S           with -b: give up after S seconds (default %.0f)\n"
		"      --order ORDER         random (default), sequential or rarest (not --http)\n"
		"      --recv MODE           discard (default: read into shared buffers, "
		"dropped),\n"
		"                            trunc (payload dropped by TCP unread, MSG_TRUNC), or\n"
		"                            copy (into per-connection piece buffers; not --http)\n"
		"      --verify              SHA-1 every piece received (implies --recv copy; not\n"
		"                            --http)\n"
		"      --src A[-B]|none      bind connections to source addresses A..B round "
		"robin\n"
		"                            (default 127.0.0.2-127.0.255.254 for a loopback "
		"seeder)\n"
		"      --seeder-pid PID      report the CPU time and RSS of PID and its children\n"
		"      --json                the report as JSON on stdout\n"
		"      --quiet               no progress lines on stderr\n"
		"      --max-opening N       connections connecting or handshaking at once "
		"(default %u)\n"
		"      --connect-timeout S   (default %u)\n"
		"      --handshake-timeout S (default %u)\n"
		"      --recv-bufs N         shared receive buffers, a power of two (default 4 "
		"per\n"
		"                            connection, %u to %u)\n"
		"      --recv-buf-size BYTES each (default %u)\n"
		"      --seed N              random seed for piece orders and peer ids\n"
		"      --mse rc4|plain       open with Message Stream Encryption offering only\n"
		"                            RC4 or only plaintext (not with --recv trunc)\n"
		"      --info-hash v1|v2     a hybrid's v1 (default) or truncated v2 info-hash\n"
		"      --churn               close at the seeder's handshake, connect again\n"
		"      --ramp S              the window waits up to S more for every handshake\n"
		"      --split S             throughput before and after S into the window\n"
		"      --master-pid PID      CPU of PID alone; --churn: handshakes per its CPU-s\n"
		"  -h, --help                this text\n"
		"\n"
		"Exit status: 0 the run finished as asked; 1 it did not (a connection never\n"
		"completed the handshake, no payload in the window, a piece failed its SHA-1,\n"
		"with -b a connection missed its budget, with --http a response was not 206);\n"
		"2 bad usage or set-up.\n",
		OPTS_DEFAULT_RANGE, BENCH_MAX_CONNS, OPTS_DEFAULT_CONNS, BENCH_MAX_QUEUE,
		OPTS_DEFAULT_QUEUE, OPTS_DEFAULT_DURATION, OPTS_DEFAULT_WARMUP,
		OPTS_DEFAULT_TIMEOUT, OPTS_DEFAULT_OPENING, OPTS_DEFAULT_CONNECT_MS / 1000,
		OPTS_DEFAULT_HS_MS / 1000, OPTS_RBUFS_MIN, OPTS_RBUFS_MAX, OPTS_DEFAULT_RBUF_SIZE);
}

static int opts_bad(const char *opt, const char *arg, const char *want)
{
	fprintf(stderr, "ringseed-bench: %s '%s': %s\n", opt, arg, want);
	return -EINVAL;
}

static int opts_u32(const char *opt, const char *arg, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < lo || v > hi) {
		char want[64];

		snprintf(want, sizeof(want), "want an integer from %u to %u", lo, hi);
		return opts_bad(opt, arg, want);
	}
	*out = (uint32_t)v;
	return 0;
}

static int opts_secs(const char *opt, const char *arg, double lo, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= lo) || v > 86400 * 7)
		return opts_bad(opt, arg, "want a number of seconds");
	*out = v;
	return 0;
}

/* 123, 16K, 32M, 1G (powers of two); "all" is OPTS_BUDGET_ALL. */
static int opts_size(const char *opt, const char *arg, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (strcasecmp(arg, "all") == 0) {
		*out = OPTS_BUDGET_ALL;
		return 0;
	}
	errno = 0;
	v = strtoull(arg, &end, 10);
	if (*end && !end[1])
		shift = *end == 'K' || *end == 'k'   ? 10
			: *end == 'M' || *end == 'm' ? 20
			: *end == 'G' || *end == 'g' ? 30
						     : 99;
	else if (*end)
		shift = 99;
	if (errno || end == arg || arg[0] == '-' || shift == 99 || v == 0 ||
	    v > (1ull << 50) >> shift)
		return opts_bad(opt, arg, "want a size in bytes (K, M, G suffixes) or all");
	*out = (uint64_t)v << shift;
	return 0;
}

/* HOST:PORT, the first len bytes of arg, into o->target. */
static int opts_addr(struct bench_opts *o, const char *opt, const char *arg, size_t len)
{
	char host[256], port[16];
	const char *colon = memrchr(arg, ':', len);
	size_t plen = colon ? len - (size_t)(colon - arg) - 1 : 0;
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai;
	int rc;

	if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof(host) || !plen ||
	    plen >= sizeof(port))
		return opts_bad(opt, arg,
				strcmp(opt, "--http") ? "want HOST:PORT" : "want HOST:PORT/PATH");
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = '\0';
	memcpy(port, colon + 1, plen);
	port[plen] = '\0';
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0)
		return opts_bad(opt, arg, gai_strerror(rc));
	memcpy(&o->target, ai->ai_addr, sizeof(o->target));
	freeaddrinfo(ai);
	o->target_str = arg;
	return 0;
}

static int opts_target(struct bench_opts *o, const char *arg)
{
	return opts_addr(o, "--connect", arg, strlen(arg));
}

/* --http [http://]HOST:PORT/PATH: the server, the Host header and the request's path. */
static int opts_http(struct bench_opts *o, const char *arg)
{
	const char *hp = strncasecmp(arg, "http://", 7) == 0 ? arg + 7 : arg;
	const char *slash = strchr(hp, '/');
	size_t hlen = slash ? (size_t)(slash - hp) : 0;
	int rc;

	if (o->target_str)
		return opts_bad("--http", arg, "-c (or another --http) names the server already");
	if (!slash || hlen >= sizeof(o->http_host))
		return opts_bad("--http", arg, "want HOST:PORT/PATH");
	if (strlen(slash) > OPTS_PATH_MAX)
		return opts_bad("--http", arg, "the path is too long");
	for (const char *p = slash; *p; p++)
		if (*p <= ' ' || *p > '~')
			return opts_bad("--http", arg,
					"the path must be printable ASCII, "
					"without blanks (percent-encode them)");
	rc = opts_addr(o, "--http", hp, hlen);
	if (rc != 0)
		return rc;
	memcpy(o->http_host, hp, hlen);
	o->http_host[hlen] = '\0';
	o->http_path = slash;
	o->target_str = hp;
	o->http = true;
	return 0;
}

/* A rate in bytes per second: 500000, 500K, 2M, 1G (powers of ten, like MB/s). */
static int opts_rate_val(const char *opt, const char *arg, const char *s, size_t len, uint64_t *out)
{
	char buf[32], *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (len == 0 || len >= sizeof(buf))
		return opts_bad(opt, arg, OPTS_RATE_WANT);
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (*end && !end[1])
		mul = *end == 'K' || *end == 'k'   ? 1000
		      : *end == 'M' || *end == 'm' ? 1000000
		      : *end == 'G' || *end == 'g' ? 1000000000
						   : 0;
	else if (*end)
		mul = 0;
	if (errno || end == buf || buf[0] == '-' || mul == 0 || v > (1ull << 40))
		return opts_bad(opt, arg, OPTS_RATE_WANT);
	*out = (uint64_t)v * mul;
	return 0;
}

/* --mix 90:500K,10:0: shares of the connections, each with its cap. */
static int opts_mix(struct bench_opts *o, const char *arg)
{
	const char *p = arg;
	uint32_t sum = 0;

	o->nclasses = 0;
	while (*p) {
		const char *comma = strchr(p, ','), *colon = strchr(p, ':');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		struct bench_class *k = &o->classes[o->nclasses];
		char pct[8];

		if (o->nclasses == BENCH_MAX_CLASSES)
			return opts_bad("--mix", arg, "at most 8 classes");
		if (!colon || colon >= p + len || (size_t)(colon - p) >= sizeof(pct))
			return opts_bad("--mix", arg, "want PERCENT:RATE[,PERCENT:RATE...]");
		memcpy(pct, p, (size_t)(colon - p));
		pct[colon - p] = '\0';
		if (opts_u32("--mix", pct, 1, 100, &k->pct) != 0 ||
		    opts_rate_val("--mix", arg, colon + 1, len - (size_t)(colon - p) - 1,
				  &k->rate) != 0)
			return -EINVAL;
		sum += k->pct;
		o->nclasses++;
		p += len + (comma ? 1 : 0);
		if (comma && !*p)
			return opts_bad("--mix", arg, "want PERCENT:RATE[,PERCENT:RATE...]");
	}
	if (sum != 100)
		return opts_bad("--mix", arg, "the percentages must add up to 100");
	o->mix_str = arg;
	return 0;
}

/* --rtt: 40ms, 0.04s, or a bare number of milliseconds. */
static int opts_rtt(struct bench_opts *o, const char *arg)
{
	char *end;
	double v, unit = 1e6;

	errno = 0;
	v = strtod(arg, &end);
	if (strcmp(end, "ms") == 0 || !*end)
		unit = 1e6;
	else if (strcmp(end, "s") == 0)
		unit = 1e9;
	else
		end = NULL;
	if (errno || !end || end == arg || !(v >= 0) || v * unit > 60e9)
		return opts_bad("--rtt", arg, "want a time up to 60 s, e.g. 40ms or 0.1s");
	o->rtt_ns = (uint64_t)(v * unit);
	return 0;
}

static int opts_src(struct bench_opts *o, const char *arg)
{
	char first[INET_ADDRSTRLEN];
	const char *dash = strchr(arg, '-');
	struct in_addr a, z;

	if (strcmp(arg, "none") == 0) {
		o->src_first = o->src_last = 0;
		o->src_set = true;
		return 0;
	}
	if (dash && (size_t)(dash - arg) < sizeof(first)) {
		memcpy(first, arg, (size_t)(dash - arg));
		first[dash - arg] = '\0';
	} else if (!dash && strlen(arg) < sizeof(first)) {
		strcpy(first, arg);
	} else {
		return opts_bad("--src", arg, "want ADDR or ADDR-ADDR (IPv4)");
	}
	if (inet_pton(AF_INET, first, &a) != 1 ||
	    inet_pton(AF_INET, dash ? dash + 1 : first, &z) != 1)
		return opts_bad("--src", arg, "want ADDR or ADDR-ADDR (IPv4)");
	o->src_first = ntohl(a.s_addr);
	o->src_last = ntohl(z.s_addr);
	if (o->src_first == 0 || o->src_last < o->src_first)
		return opts_bad("--src", arg, "want a non-empty range, first address first");
	o->src_set = true;
	return 0;
}

static int opts_choice(const char *opt, const char *arg, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(arg, names[i]) == 0)
			return i;
	opts_bad(opt, arg, "not one of the choices in --help");
	return -1;
}

enum {
	OPT_WARMUP = 256,
	OPT_TIMEOUT,
	OPT_ORDER,
	OPT_RECV,
	OPT_VERIFY,
	OPT_SRC,
	OPT_SEEDER,
	OPT_JSON,
	OPT_QUIET,
	OPT_OPENING,
	OPT_CONNECT_TO,
	OPT_HS_TO,
	OPT_RBUFS,
	OPT_RBUF_SIZE,
	OPT_SEED,
	OPT_HTTP,
	OPT_RANGE,
	OPT_REQUESTS,
	OPT_RATE,
	OPT_MIX,
	OPT_RTT,
	OPT_MSE,
	OPT_IHASH,
	OPT_CHURN,
	OPT_RAMP,
	OPT_SPLIT,
	OPT_MASTER,
};

static const struct option opts_long[] = {
	{ "torrent", required_argument, NULL, 't' },
	{ "connect", required_argument, NULL, 'c' },
	{ "connections", required_argument, NULL, 'n' },
	{ "queue", required_argument, NULL, 'q' },
	{ "duration", required_argument, NULL, 'd' },
	{ "budget", required_argument, NULL, 'b' },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "order", required_argument, NULL, OPT_ORDER },
	{ "recv", required_argument, NULL, OPT_RECV },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "src", required_argument, NULL, OPT_SRC },
	{ "seeder-pid", required_argument, NULL, OPT_SEEDER },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "max-opening", required_argument, NULL, OPT_OPENING },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TO },
	{ "handshake-timeout", required_argument, NULL, OPT_HS_TO },
	{ "recv-bufs", required_argument, NULL, OPT_RBUFS },
	{ "recv-buf-size", required_argument, NULL, OPT_RBUF_SIZE },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "http", required_argument, NULL, OPT_HTTP },
	{ "range", required_argument, NULL, OPT_RANGE },
	{ "requests", required_argument, NULL, OPT_REQUESTS },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "mix", required_argument, NULL, OPT_MIX },
	{ "rtt", required_argument, NULL, OPT_RTT },
	{ "mse", required_argument, NULL, OPT_MSE },
	{ "info-hash", required_argument, NULL, OPT_IHASH },
	{ "churn", no_argument, NULL, OPT_CHURN },
	{ "ramp", required_argument, NULL, OPT_RAMP },
	{ "split", required_argument, NULL, OPT_SPLIT },
	{ "master-pid", required_argument, NULL, OPT_MASTER },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static void opts_defaults(struct bench_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->conns = OPTS_DEFAULT_CONNS;
	o->queue = OPTS_DEFAULT_QUEUE;
	o->duration = OPTS_DEFAULT_DURATION;
	o->warmup = -1; /* settled by the mode */
	o->timeout = OPTS_DEFAULT_TIMEOUT;
	o->max_opening = OPTS_DEFAULT_OPENING;
	o->connect_timeout_ms = OPTS_DEFAULT_CONNECT_MS;
	o->handshake_timeout_ms = OPTS_DEFAULT_HS_MS;
	o->rbuf_size = OPTS_DEFAULT_RBUF_SIZE;
	o->requests = REQ_TRICKLE;
	o->classes[0].pct = 100;
	o->nclasses = 1;
}

/* Options that take a number of milliseconds as seconds. */
static int opts_ms(const char *opt, const char *arg, uint32_t *out)
{
	double s;
	int rc = opts_secs(opt, arg, 0.001, &s);

	if (rc == 0)
		*out = (uint32_t)(s * 1000);
	return rc;
}

static int opts_range(struct bench_opts *o, const char *arg)
{
	uint64_t v;

	if (strcasecmp(arg, "all") == 0)
		return opts_bad("--range", arg, "want a size in bytes (K, M suffixes)");
	if (opts_size("--range", arg, &v) != 0)
		return -EINVAL;
	if (v > OPTS_RANGE_MAX)
		return opts_bad("--range", arg, "at most 64M");
	o->http_range = (uint32_t)v;
	return 0;
}

/* phase.c's options. */
static int opts_phase(struct bench_opts *o, int opt, const char *arg)
{
	uint32_t v;
	int i, rc;

	switch (opt) {
	case OPT_IHASH:
		i = opts_choice("--info-hash", arg, (const char *const[]){ "v1", "v2" }, 2);
		o->ihash_v2 = i == 1;
		return i < 0 ? -EINVAL : 0;
	case OPT_CHURN:
		o->churn = true;
		return 0;
	case OPT_RAMP:
		return opts_secs("--ramp", arg, 0.001, &o->ramp);
	case OPT_SPLIT:
		return opts_secs("--split", arg, 0.001, &o->split);
	case OPT_MASTER:
		rc = opts_u32("--master-pid", arg, 1, INT_MAX, &v);
		o->master_pid = (pid_t)v;
		return rc;
	}
	return -EINVAL;
}

static int opts_one_long(struct bench_opts *o, int opt, const char *arg)
{
	static const char *const orders[] = { "random", "sequential", "rarest" };
	static const char *const recvs[] = { "discard", "trunc", "copy" };
	static const char *const pacings[] = { "trickle", "burst" };
	uint32_t v;
	int i, rc = 0;

	switch (opt) {
	case OPT_WARMUP:
		return opts_secs("--warmup", arg, 0, &o->warmup);
	case OPT_TIMEOUT:
		return opts_secs("--timeout", arg, 0.001, &o->timeout);
	case OPT_ORDER:
		i = opts_choice("--order", arg, orders, 3);
		o->order = (enum pick_order)i;
		return i < 0 ? -EINVAL : 0;
	case OPT_RECV:
		i = opts_choice("--recv", arg, recvs, 3);
		o->recv = (enum recv_mode)i;
		o->recv_set = true;
		return i < 0 ? -EINVAL : 0;
	case OPT_VERIFY:
		o->verify = true;
		return 0;
	case OPT_SRC:
		return opts_src(o, arg);
	case OPT_SEEDER:
		rc = opts_u32("--seeder-pid", arg, 1, INT_MAX, &v);
		o->seeder_pid = (pid_t)v;
		return rc;
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_QUIET:
		o->quiet = true;
		return 0;
	case OPT_OPENING:
		return opts_u32("--max-opening", arg, 1, BENCH_MAX_CONNS, &o->max_opening);
	case OPT_CONNECT_TO:
		return opts_ms("--connect-timeout", arg, &o->connect_timeout_ms);
	case OPT_HS_TO:
		return opts_ms("--handshake-timeout", arg, &o->handshake_timeout_ms);
	case OPT_RBUFS:
		rc = opts_u32("--recv-bufs", arg, 1, BUFRING_MAX_BUFS, &o->rbufs);
		if (rc == 0 && (o->rbufs & (o->rbufs - 1)))
			rc = opts_bad("--recv-bufs", arg, "want a power of two");
		return rc;
	case OPT_RBUF_SIZE:
		return opts_u32("--recv-buf-size", arg, 64, 1u << 20, &o->rbuf_size);
	case OPT_SEED:
		o->seed = strtoull(arg, NULL, 0);
		return 0;
	case OPT_HTTP:
		return opts_http(o, arg);
	case OPT_RANGE:
		return opts_range(o, arg);
	case OPT_REQUESTS:
		i = opts_choice("--requests", arg, pacings, 2);
		o->requests = (enum req_pacing)i;
		o->requests_set = true;
		return i < 0 ? -EINVAL : 0;
	case OPT_RATE:
		if (o->mix_str)
			return opts_bad("--rate", arg, "--mix gives the rates already");
		return opts_rate_val("--rate", arg, arg, strlen(arg), &o->classes[0].rate);
	case OPT_MIX:
		if (o->classes[0].rate && !o->mix_str)
			return opts_bad("--mix", arg, "--rate gives the rate already");
		return opts_mix(o, arg);
	case OPT_RTT:
		return opts_rtt(o, arg);
	case OPT_MSE:
		i = opts_choice("--mse", arg, (const char *const[]){ "rc4", "plain" }, 2);
		o->mse = i == 0 ? MSE_CRYPTO_RC4 : MSE_CRYPTO_PLAIN;
		return i < 0 ? -EINVAL : 0;
	default:
		return opts_phase(o, opt, arg);
	}
}

static int opts_one(struct bench_opts *o, int opt, const char *arg, bool *dur_set)
{
	switch (opt) {
	case 't':
		o->torrent_path = arg;
		return 0;
	case 'c':
		if (o->http)
			return opts_bad("--connect", arg, "--http names the server already");
		return opts_target(o, arg);
	case 'n':
		return opts_u32("--connections", arg, 1, BENCH_MAX_CONNS, &o->conns);
	case 'q':
		return opts_u32("--queue", arg, 0, BENCH_MAX_QUEUE, &o->queue);
	case 'd':
		*dur_set = true;
		return opts_secs("--duration", arg, 0.001, &o->duration);
	case 'b':
		return opts_size("--budget", arg, &o->budget);
	default:
		return opts_one_long(o, opt, arg);
	}
}

/* --http: the options that only make sense for BitTorrent are refused. */
static int opts_settle_http(struct bench_opts *o)
{
	const char *why = NULL;

	if (o->torrent_path)
		why = "-t: --http needs no torrent (the size comes from the server)";
	else if (o->verify)
		why = "--verify is not supported with --http: there are no piece hashes to check";
	else if (o->order == PICK_RAREST)
		why = "--order rarest is BitTorrent only: use random or sequential with --http";
	else if (o->recv == RECV_COPY)
		why = "--recv copy is BitTorrent only: use discard or trunc with --http";
	else if (o->queue == 0)
		why = "-q 0 (idle) is BitTorrent only: an HTTP client without a request is not "
		      "held";
	else if (o->rtt_ns)
		why = "--rtt is BitTorrent only";
	else if (o->requests_set && o->requests == REQ_TRICKLE)
		why = "--requests trickle is BitTorrent only: HTTP ranges go out in bursts";
	if (why) {
		fprintf(stderr, "ringseed-bench: %s\n", why);
		return -EINVAL;
	}
	if (!o->http_range)
		o->http_range = OPTS_DEFAULT_RANGE;
	o->requests = REQ_BURST; /* what http.c does: a turn's requests in one send */
	return 0;
}

/* --churn, --ramp, --split, --info-hash: duration mode, BitTorrent. */
static int opts_settle_phase(struct bench_opts *o)
{
	const char *why = NULL;

	if (o->http && (o->churn || o->ihash_v2))
		why = "--churn and --info-hash are BitTorrent only";
	else if (o->budget && (o->churn || o->ramp > 0 || o->split > 0))
		why = "--churn, --ramp and --split measure a duration: not with -b";
	else if (o->split > 0 && o->split >= o->duration)
		why = "--split must fall inside the window (less than -d)";
	else if (o->churn && o->verify)
		why = "--churn closes at the handshake: there is nothing to --verify";
	if (why) {
		fprintf(stderr, "ringseed-bench: %s\n", why);
		return -EINVAL;
	}
	return 0;
}

/* What depends on several options at once. */
static int opts_settle(struct bench_opts *o, bool dur_set)
{
	if (o->http && opts_settle_http(o) != 0)
		return -EINVAL;
	if (!o->http && o->http_range) {
		fprintf(stderr, "ringseed-bench: --range goes with --http (BitTorrent blocks are "
				"16 KiB)\n");
		return -EINVAL;
	}
	if (!o->http && (!o->torrent_path || !o->target_str)) {
		fprintf(stderr, "ringseed-bench: -t FILE.torrent and -c HOST:PORT (or --http "
				"HOST:PORT/PATH) are required (--help says more)\n");
		return -EINVAL;
	}
	if (dur_set && o->budget) {
		fprintf(stderr, "ringseed-bench: -d and -b exclude each other: a run is measured "
				"over a duration or until a byte budget\n");
		return -EINVAL;
	}
	if (o->queue == 0 && o->budget) {
		fprintf(stderr, "ringseed-bench: -q 0 (idle) and -b exclude each other: an idle "
				"connection downloads nothing\n");
		return -EINVAL;
	}
	if (o->verify && o->recv_set && o->recv != RECV_COPY) {
		fprintf(stderr, "ringseed-bench: --verify needs the pieces: it goes with --recv "
				"copy only\n");
		return -EINVAL;
	}
	if (o->verify)
		o->recv = RECV_COPY;
	if (opts_settle_phase(o) != 0)
		return -EINVAL;
	if (o->mse && (o->http || o->recv == RECV_TRUNC)) {
		fprintf(stderr, "ringseed-bench: --mse is BitTorrent only, and RC4 needs every "
				"byte: not with --http or --recv trunc\n");
		return -EINVAL;
	}
	/*
	 * Few buffers stay in the cache, which made the bench 20% cheaper per byte
	 * at 16 connections; too few for the connections makes every multishot recv
	 * end in ENOBUFS and be armed again. 4 per connection did best (bench/README.md).
	 */
	if (!o->rbufs) {
		o->rbufs = OPTS_RBUFS_MIN;
		while (o->rbufs < OPTS_RBUFS_MAX && o->rbufs < o->conns * OPTS_RBUFS_PER_CONN)
			o->rbufs *= 2;
	}
	if (o->warmup < 0)
		o->warmup = o->budget ? 0 : OPTS_DEFAULT_WARMUP;
	/* 127.0.0.0/8 is all ours on loopback: spread over it, other seeders limit per address. */
	if (!o->src_set && (ntohl(o->target.sin_addr.s_addr) >> 24) == 127) {
		o->src_first = OPTS_LOOPBACK_SRC_FIRST;
		o->src_last = OPTS_LOOPBACK_SRC_LAST;
	}
	return 0;
}

int opts_parse(struct bench_opts *o, int argc, char **argv)
{
	bool dur_set = false;
	int opt;

	opts_defaults(o);
	while ((opt = getopt_long(argc, argv, "t:c:n:q:d:b:h", opts_long, NULL)) != -1) {
		if (opt == 'h') {
			opts_usage(stdout);
			return 1;
		}
		if (opt == '?' || opts_one(o, opt, optarg, &dur_set) != 0)
			return -EINVAL;
	}
	if (optind < argc) {
		fprintf(stderr, "ringseed-bench: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return opts_settle(o, dur_set);
}
