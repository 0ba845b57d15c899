/*
 * tracker_bench.c - ringseed-tracker-bench: how many announces a BitTorrent
 * tracker answers per second, over HTTP keep-alive and over UDP (BEP 15).
 *
 * Made for ringseed's built-in tracker (`ringseed serve --tracker-listen`),
 * it works against any tracker on an IPv4 address. First PEERS leechers join
 * one swarm (one UDP announce each, numwant 0); then each run lasts SECONDS:
 * HTTP with 1, 8 and 64 keep-alive connections, one request in flight each,
 * and UDP with 4 sockets and 1, 4 and 16 requests in flight each (a request
 * with no answer after 50 ms is written off as lost). Every request comes
 * from a random peer of the swarm and asks for 50 peers, so each reply
 * carries a full list. With --pid the tracker process's CPU time over each
 * run (utime + stime from /proc/PID/stat) gives the cost of one announce.
 *
 * The swarm's info-hash is made up unless --info-hash names one: ringseed's
 * tracker takes a made-up one only with `tracker.open = yes`.
 *
 * Exit status: 0; 1 when the tracker refused an announce, answered with a
 * status other than 200, or a run got no answer at all; 2 on a usage error.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/tracker.h"

#define TB_PEER_ID_LEN 20
#define TB_NUMWANT     50
#define TB_UDP_SOCKETS 4
#define TB_UDP_LOST_S  0.05
#define TB_REQ_MAX     640
#define TB_RESP_MAX    8192

struct tb {
	struct sockaddr_in addr;
	uint8_t info_hash[TRK_HASH_LEN];
	unsigned npeers;
	double secs;
	pid_t pid;              /* the tracker's, for its CPU time; 0: not sampled */
	char failure[256];      /* the first refusal or bad answer, "" if none */
	struct tb_req *reqs;    /* one HTTP GET per peer of the swarm */
};

struct tb_req {
	char text[TB_REQ_MAX];
	int len;
};

/* What one run did: announces answered, UDP requests written off, seconds. */
struct tb_result {
	unsigned long done, lost;
	double secs;
};

static double tb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Peer n of the swarm: a peer id and a port of its own. */
static void tb_peer(uint8_t id[TB_PEER_ID_LEN], unsigned n)
{
	char s[TB_PEER_ID_LEN + 1];

	snprintf(s, sizeof(s), "-RB0100-%012u", n);
	memcpy(id, s, TB_PEER_ID_LEN);
}

static uint16_t tb_port(unsigned n)
{
	return (uint16_t)(1024 + n % 60000);
}

/* CPU seconds of the tracker process so far, or -1 without --pid or once it is gone. */
static double tb_cpu(const struct tb *b)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	size_t n;
	FILE *f;

	if (!b->pid)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)b->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void tb_fail(struct tb *b, const char *what, const char *detail, size_t len)
{
	if (!b->failure[0])
		snprintf(b->failure, sizeof(b->failure), "%s%.*s", what, (int)len, detail);
}

static int tb_socket(const struct tb *b, int type)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&b->addr, sizeof(b->addr)) != 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (type == SOCK_STREAM)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* One GET per peer of the swarm, made before any clock starts. */
static int tb_make_reqs(struct tb *b)
{
	uint8_t id[TB_PEER_ID_LEN];
	struct trk_announce a = { .info_hash = b->info_hash, .peer_id = id, .left = 1,
				  .numwant = TB_NUMWANT };

	b->reqs = calloc(b->npeers, sizeof(*b->reqs));
	if (!b->reqs)
		return -ENOMEM;
	for (unsigned i = 0; i < b->npeers; i++) {
		struct tb_req *q = &b->reqs[i];
		ssize_t n;

		tb_peer(id, i);
		a.port = tb_port(i);
		a.key = i;
		memcpy(q->text, "GET ", 4);
		n = trk_http_announce_url(q->text + 4, sizeof(q->text) - 4, "/announce", &a);
		if (n < 0)
			return (int)n;
		n += 4;
		n += snprintf(q->text + n, sizeof(q->text) - (size_t)n,
			      " HTTP/1.1\r\nHost: tracker\r\nUser-Agent: ringseed-tracker-bench\r\n\r\n");
		if ((size_t)n >= sizeof(q->text))
			return -ENOSPC;
		q->len = (int)n;
	}
	return 0;
}

/* --- UDP (BEP 15) --- */

/* A blocking exchange of one request and its answer (1 s receive timeout); the answer parsed. */
static int tb_udp_ask(struct tb *b, int fd, const uint8_t *req, size_t len, uint32_t txid,
		      struct trk_udp_resp *r)
{
	static uint8_t resp[TB_RESP_MAX];
	const char *why = NULL;
	ssize_t n;

	if (send(fd, req, len, 0) != (ssize_t)len)
		return -errno;
	n = recv(fd, resp, sizeof(resp), 0);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (trk_udp_parse_resp(resp, (size_t)n, TRK_AF_INET, txid, r, &why) != 0) {
		tb_fail(b, "UDP: ", why, strlen(why));
		return -EPROTO;
	}
	if (r->action == TRK_UDP_ERROR) {
		tb_fail(b, "UDP: the tracker refused: ", r->error, r->error_len);
		return -EPROTO;
	}
	return 0;
}

/* A UDP socket to the tracker and its connection id; the socket is left blocking. */
static int tb_udp_open(struct tb *b, uint64_t *cid)
{
	struct timeval tv = { 1, 0 };
	struct trk_udp_resp r;
	uint8_t req[16];
	int fd = tb_socket(b, SOCK_DGRAM), err;

	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	trk_udp_connect_req(req, 1);
	err = tb_udp_ask(b, fd, req, sizeof(req), 1, &r);
	if (err == 0 && r.action != TRK_UDP_CONNECT) {
		tb_fail(b, "UDP: no connect response", "", 0);
		err = -EPROTO;
	}
	if (err) {
		close(fd);
		return err;
	}
	*cid = r.conn_id;
	return fd;
}

/* npeers leechers join the swarm: one UDP announce each, numwant 0. */
static int tb_fill(struct tb *b)
{
	uint8_t id[TB_PEER_ID_LEN], req[98];
	struct trk_announce a = { .info_hash = b->info_hash, .peer_id = id, .left = 1 };
	struct trk_udp_resp r;
	uint64_t cid;
	int fd = tb_udp_open(b, &cid), err = 0;

	if (fd < 0)
		return fd;
	for (unsigned i = 0; i < b->npeers && !err; i++) {
		tb_peer(id, i);
		a.port = tb_port(i);
		a.key = i;
		trk_udp_announce_req(req, cid, i, &a);
		err = tb_udp_ask(b, fd, req, sizeof(req), i, &r);
	}
	close(fd);
	return err;
}

struct tb_udp {
	int fd[TB_UDP_SOCKETS];
	uint64_t cid[TB_UDP_SOCKETS];
	unsigned inflight[TB_UDP_SOCKETS];
	double last[TB_UDP_SOCKETS];
	unsigned long done, lost, seed;
};

/* Tops socket i up to window requests in flight, each from a random peer of the swarm. */
static void tb_udp_send(struct tb *b, struct tb_udp *u, unsigned i, unsigned window, double now)
{
	uint8_t id[TB_PEER_ID_LEN], req[98];
	struct trk_announce a = { .info_hash = b->info_hash, .peer_id = id, .left = 1,
				  .numwant = TB_NUMWANT };

	if (u->inflight[i] && now - u->last[i] > TB_UDP_LOST_S) {
		u->lost += u->inflight[i];
		u->inflight[i] = 0;
	}
	while (u->inflight[i] < window) {
		unsigned peer;

		u->seed = u->seed * 6364136223846793005ul + 1442695040888963407ul;
		peer = (unsigned)(u->seed >> 33) % b->npeers;
		tb_peer(id, peer);
		a.port = tb_port(peer);
		a.key = peer;
		trk_udp_announce_req(req, u->cid[i], (uint32_t)u->seed, &a);
		if (send(u->fd[i], req, sizeof(req), 0) != (ssize_t)sizeof(req))
			break;
		u->inflight[i]++;
		u->last[i] = now;
	}
}

/* Reads every answer waiting on socket i. */
static void tb_udp_recv(struct tb *b, struct tb_udp *u, unsigned i)
{
	static uint8_t resp[TB_RESP_MAX];
	ssize_t n;

	while ((n = recv(u->fd[i], resp, sizeof(resp), 0)) >= 8) {
		uint32_t action;

		memcpy(&action, resp, 4);
		action = be32toh(action);

		if (action == TRK_UDP_ANNOUNCE)
			u->done++;
		else if (action == TRK_UDP_ERROR)
			tb_fail(b, "UDP: the tracker refused: ", (const char *)resp + 8,
				(size_t)n - 8);
		if (u->inflight[i])
			u->inflight[i]--;
		u->last[i] = tb_now();
	}
}

/* TB_UDP_SOCKETS sockets, window requests in flight on each, for b->secs. */
static void tb_udp_run(struct tb *b, unsigned window, struct tb_result *res)
{
	struct tb_udp u = { .seed = 777 };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	double t0, t1;
	unsigned n = 0;

	for (; ep >= 0 && n < TB_UDP_SOCKETS; n++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = n };

		u.fd[n] = tb_udp_open(b, &u.cid[n]);
		if (u.fd[n] < 0)
			break;
		fcntl(u.fd[n], F_SETFL, O_NONBLOCK);
		epoll_ctl(ep, EPOLL_CTL_ADD, u.fd[n], &ev);
	}
	t0 = tb_now();
	t1 = t0 + b->secs;
	while (n == TB_UDP_SOCKETS && !b->failure[0] && tb_now() < t1) {
		struct epoll_event evs[TB_UDP_SOCKETS];
		double now = tb_now();
		int k;

		for (unsigned i = 0; i < n; i++)
			tb_udp_send(b, &u, i, window, now);
		k = epoll_wait(ep, evs, TB_UDP_SOCKETS, 10);
		for (int j = 0; j < k; j++)
			tb_udp_recv(b, &u, evs[j].data.u32);
	}
	t1 = tb_now();
	for (unsigned i = 0; i < n; i++)
		close(u.fd[i]);
	if (ep >= 0)
		close(ep);
	if (n < TB_UDP_SOCKETS)
		tb_fail(b, "UDP: could not open the sockets", "", 0);
	res->done = u.done;
	res->lost = u.lost;
	res->secs = t1 - t0;
}

/* --- HTTP keep-alive --- */

struct tb_http {
	int fd;
	size_t got; /* bytes of the answer so far; SIZE_MAX: the next request is due */
	char buf[TB_RESP_MAX + 1];
};

/* Reads from c: 1 when its answer is complete (a 200 without a failure reason), 0 if more is due. */
static int tb_http_read(struct tb *b, struct tb_http *c)
{
	ssize_t r = recv(c->fd, c->buf + c->got, TB_RESP_MAX - c->got, 0);
	char *end, *cl;
	size_t head, len;

	if (r <= 0) {
		tb_fail(b, "HTTP: the tracker closed a keep-alive connection", "", 0);
		return -EPIPE;
	}
	c->got += (size_t)r;
	c->buf[c->got] = '\0';
	end = memmem(c->buf, c->got, "\r\n\r\n", 4);
	if (!end)
		return c->got < TB_RESP_MAX ? 0 : -EMSGSIZE;
	head = (size_t)(end + 4 - c->buf);
	if (strncmp(c->buf, "HTTP/1.1 200 ", 13) != 0) {
		tb_fail(b, "HTTP: ", c->buf, strcspn(c->buf, "\r\n"));
		return -EPROTO;
	}
	cl = strcasestr(c->buf, "\r\nContent-Length:");
	if (!cl || cl > end) {
		tb_fail(b, "HTTP: an answer without Content-Length", "", 0);
		return -EPROTO;
	}
	len = strtoul(cl + 17, NULL, 10);
	if (head + len > TB_RESP_MAX) {
		tb_fail(b, "HTTP: an answer larger than the bench reads", "", 0);
		return -EMSGSIZE;
	}
	if (c->got < head + len)
		return 0;
	if (memmem(c->buf + head, len, "14:failure reason", 17)) {
		tb_fail(b, "HTTP: the tracker refused: ", c->buf + head, len);
		return -EPROTO;
	}
	c->got = SIZE_MAX;
	return 1;
}

/* Sends the next request on every connection that has its answer. */
static void tb_http_send(struct tb *b, struct tb_http *c, unsigned n, unsigned long *seed)
{
	for (unsigned i = 0; i < n; i++) {
		const struct tb_req *q;

		if (c[i].got != SIZE_MAX)
			continue;
		*seed = *seed * 6364136223846793005ul + 1442695040888963407ul;
		q = &b->reqs[(*seed >> 33) % b->npeers];
		if (send(c[i].fd, q->text, (size_t)q->len, MSG_NOSIGNAL) != q->len) {
			tb_fail(b, "HTTP: send: ", strerror(errno), strlen(strerror(errno)));
			return;
		}
		c[i].got = 0;
	}
}

/* nconn keep-alive connections, one request in flight on each, for b->secs. */
static void tb_http_run(struct tb *b, unsigned nconn, struct tb_result *res)
{
	struct tb_http *c = calloc(nconn, sizeof(*c));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	unsigned long seed = 12345;
	unsigned n = 0;
	double t0;

	memset(res, 0, sizeof(*res));
	for (; c && ep >= 0 && n < nconn; n++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = n };

		c[n].fd = tb_socket(b, SOCK_STREAM);
		if (c[n].fd < 0)
			break;
		c[n].got = SIZE_MAX;
		epoll_ctl(ep, EPOLL_CTL_ADD, c[n].fd, &ev);
	}
	if (n < nconn)
		tb_fail(b, "HTTP: could not connect all the connections", "", 0);
	t0 = tb_now();
	while (!b->failure[0] && tb_now() < t0 + b->secs) {
		struct epoll_event evs[64];
		int k;

		tb_http_send(b, c, n, &seed);
		k = epoll_wait(ep, evs, 64, 100);
		for (int j = 0; j < k && !b->failure[0]; j++)
			if (tb_http_read(b, &c[evs[j].data.u32]) == 1)
				res->done++;
	}
	res->secs = tb_now() - t0;
	for (unsigned i = 0; i < n; i++)
		close(c[i].fd);
	if (ep >= 0)
		close(ep);
	free(c);
}

/* --- the runs and their report --- */

/* One line of the report; false (and the reason in b->failure) when the run failed. */
static bool tb_report(struct tb *b, const char *what, const struct tb_result *r, double cpu0)
{
	double cpu = tb_cpu(b), rate = r->secs > 0 ? (double)r->done / r->secs : 0;

	printf("%-36s %8.0f announces/s", what, rate);
	if (r->lost)
		printf(" (%lu lost)", r->lost);
	if (cpu >= 0 && cpu0 >= 0 && r->done)
		printf(", tracker CPU %.1f us each (%.0f/s per core)", (cpu - cpu0) * 1e6 / (double)r->done,
		       cpu > cpu0 ? (double)r->done / (cpu - cpu0) : 0);
	printf("\n");
	fflush(stdout);
	if (!b->failure[0] && r->done == 0)
		tb_fail(b, what, " no announce answered", strlen(" no announce answered"));
	return !b->failure[0];
}

static int tb_runs(struct tb *b)
{
	struct tb_result r;
	char what[64];
	double cpu0;

	for (unsigned c = 1; c <= 64; c *= 8) {
		snprintf(what, sizeof(what), "HTTP keep-alive, %2u connections:", c);
		cpu0 = tb_cpu(b);
		tb_http_run(b, c, &r);
		if (!tb_report(b, what, &r, cpu0))
			return 1;
	}
	for (unsigned w = 1; w <= 16; w *= 4) {
		snprintf(what, sizeof(what), "UDP, %u sockets x %2u in flight:", TB_UDP_SOCKETS, w);
		cpu0 = tb_cpu(b);
		tb_udp_run(b, w, &r);
		if (!tb_report(b, what, &r, cpu0))
			return 1;
	}
	return 0;
}

/* --- the command line --- */

static const char tb_usage[] =
	"usage: ringseed-tracker-bench [OPTIONS] HOST:PORT\n"
	"  Announces per second a tracker answers at HOST:PORT (IPv4), over HTTP\n"
	"  keep-alive (1, 8, 64 connections) and UDP (4 sockets, 1, 4, 16 in flight).\n"
	"  -d, --duration SECONDS  each run (default 3)\n"
	"  -n, --peers N           leechers in the swarm, filled first (default 10000)\n"
	"  -i, --info-hash HEX     the swarm's (default: a made-up one, which ringseed's\n"
	"                          tracker takes with tracker.open = yes)\n"
	"  -p, --pid PID           the tracker's process: its CPU time per announce\n"
	"  -h, --help              this text\n";

static int tb_usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "ringseed-tracker-bench: %s%s\n%s", what, arg, tb_usage);
	return 2;
}

static int tb_hex(uint8_t out[TRK_HASH_LEN], const char *hex)
{
	if (strlen(hex) != 2 * TRK_HASH_LEN)
		return -EINVAL;
	for (unsigned i = 0; i < TRK_HASH_LEN; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &out[i]) != 1)
			return -EINVAL;
	return 0;
}

static int tb_addr(struct sockaddr_in *a, const char *hostport)
{
	char host[64];
	const char *colon = strrchr(hostport, ':');
	char *end;
	unsigned long port;

	if (!colon || (size_t)(colon - hostport) >= sizeof(host))
		return -EINVAL;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535 || inet_pton(AF_INET, host, &a->sin_addr) != 1)
		return -EINVAL;
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	return 0;
}

/* 0, 1 for --help (done), or the exit status of a usage error (2). */
static int tb_opts(struct tb *b, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "duration", required_argument, NULL, 'd' }, { "peers", required_argument, NULL, 'n' },
		{ "info-hash", required_argument, NULL, 'i' }, { "pid", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },	      { NULL, 0, NULL, 0 },
	};
	char *end;
	int o;

	while ((o = getopt_long(argc, argv, "d:n:i:p:h", longs, NULL)) != -1) {
		switch (o) {
		case 'd':
			b->secs = strtod(optarg, &end);
			if (*end || !(b->secs > 0 && b->secs <= 3600))
				return tb_usage_error("--duration wants seconds in (0, 3600]: ", optarg);
			break;
		case 'n':
			b->npeers = (unsigned)strtoul(optarg, &end, 10);
			if (*end || b->npeers < 1 || b->npeers > 1000000)
				return tb_usage_error("--peers wants 1..1000000: ", optarg);
			break;
		case 'i':
			if (tb_hex(b->info_hash, optarg) != 0)
				return tb_usage_error("--info-hash wants 40 hex digits: ", optarg);
			break;
		case 'p':
			b->pid = (pid_t)strtol(optarg, &end, 10);
			if (*end || b->pid <= 0)
				return tb_usage_error("--pid wants a process id: ", optarg);
			break;
		case 'h':
			fputs(tb_usage, stdout);
			return 1;
		default:
			return 2;
		}
	}
	if (optind != argc - 1)
		return tb_usage_error("one HOST:PORT, please", "");
	if (tb_addr(&b->addr, argv[optind]) != 0)
		return tb_usage_error("not an IPv4 HOST:PORT: ", argv[optind]);
	return 0;
}

int main(int argc, char **argv)
{
	struct tb b = { .npeers = 10000, .secs = 3 };
	int rc;

	memcpy(b.info_hash, "ringseed-tracker-bch", TRK_HASH_LEN);
	rc = tb_opts(&b, argc, argv);
	if (rc)
		return rc == 1 ? 0 : rc;
	rc = tb_make_reqs(&b);
	if (rc == 0)
		rc = tb_fill(&b);
	if (rc == 0) {
		printf("swarm: %u peers, numwant %d\n", b.npeers, TB_NUMWANT);
		rc = tb_runs(&b);
	} else if (!b.failure[0]) {
		tb_fail(&b, "filling the swarm: ", strerror(-rc), strlen(strerror(-rc)));
	}
	free(b.reqs);
	if (b.failure[0]) {
		fprintf(stderr, "ringseed-tracker-bench: %s\n", b.failure);
		return 1;
	}
	return rc ? 1 : 0;
}
