/*
 * main.c - ringseed-bench: start-up, the run, the report, the exit status.
 *
 * Everything a run needs is taken before the first connect: the torrent, the
 * descriptors (RLIMIT_NOFILE raised to what N connections need), the ring, the
 * shared receive buffers, and every connection's request ring, send buffer and
 * (copy mode) piece buffers. Nothing is allocated per block. With --http there
 * is no torrent: the file's size comes from the server during the run (http.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/opts.h"
#include "iocore/clock.h"
#include "iocore/log.h"
#include "iocore/ring.h"

#define BENCH_MAX_TORRENT (64u << 20) /* a .torrent larger than this is not one */
#define BENCH_FD_SPARE	  64	      /* descriptors beyond one per connection */

volatile sig_atomic_t bench_interrupted;

static void bench_on_signal(int sig)
{
	(void)sig;
	bench_interrupted = 1;
}

uint64_t bench_now_ns(void)
{
	return clock_ns();
}

/* splitmix64: small, fast, good enough for piece orders and peer ids. */
uint64_t bench_rand(struct bench *b)
{
	uint64_t z = (b->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int bench_load_torrent(struct bench *b)
{
	FILE *f = fopen(b->o.torrent_path, "rb");
	uint8_t *buf = NULL;
	struct mi_err err;
	long len;
	int rc = -EINVAL;

	if (!f) {
		log_err("%s", b->o.torrent_path);
		return -errno;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || len > BENCH_MAX_TORRENT ||
	    fseek(f, 0, SEEK_SET) != 0) {
		log_errx("%s: not a readable file of at most %u bytes", b->o.torrent_path,
			 BENCH_MAX_TORRENT);
		goto out_close;
	}
	buf = malloc(len ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		log_errx("%s: cannot read it", b->o.torrent_path);
		goto out_close;
	}
	rc = mi_parse(buf, (size_t)len, &b->mi, &err);
	if (rc < 0)
		log_errx("%s: %s", b->o.torrent_path, err.msg);
	else if (b->mi.piece_count == 0 && (rc = -EINVAL) != 0)
		log_errx("%s: no pieces to download", b->o.torrent_path);
	else if (!b->mi.pieces && b->o.verify && (rc = -EINVAL) != 0)
		log_errx("%s: --verify checks SHA-1 pieces, and a v2-only torrent has none",
			 b->o.torrent_path);
	else
		rc = phase_info_hash(b);
out_close:
	free(buf);
	fclose(f);
	return rc;
}

/* One descriptor per connection, plus a few: raise the soft limit, and the hard one if we may. */
static int bench_rlimit(const struct bench *b)
{
	rlim_t need = (rlim_t)b->o.conns + BENCH_FD_SPARE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max < need) {
		struct rlimit want = { need, need };

		if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
			log_errx("%u connections need %llu descriptors, and the hard limit is %llu "
				 "(raising it takes CAP_SYS_RESOURCE): raise it with ulimit -Hn "
				 "or prlimit, or use fewer connections",
				 b->o.conns, (unsigned long long)need,
				 (unsigned long long)rl.rlim_max);
			return -EMFILE;
		}
		log_notice("RLIMIT_NOFILE raised from %llu/%llu to %llu (soft and hard)",
			   (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
			   (unsigned long long)need);
		return 0;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -errno;
	return 0;
}

/* MemAvailable in bytes, 0 when unknown. */
static uint64_t bench_mem_available(void)
{
	unsigned long long kb = 0;
	char line[256];
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb << 10;
}

/* Checks what depends on the torrent: the budget, the memory copy mode needs. */
static int bench_settle(struct bench *b)
{
	uint64_t span = (uint64_t)b->o.queue * BENCH_BLOCK, avail = bench_mem_available();
	uint64_t slots = (span + b->mi.piece_length - 1) / b->mi.piece_length + 1;
	uint64_t need = (uint64_t)b->o.conns * slots * b->mi.piece_length;

	if (b->o.budget == OPTS_BUDGET_ALL)
		b->o.budget = b->mi.total_length;
	if (b->o.recv == RECV_COPY && avail && need > avail / 4 * 3) {
		log_errx(
			"--recv copy needs %llu MiB of piece buffers (%u connections x %llu pieces "
			"of %u KiB) and %llu MiB are available: use --recv discard or fewer "
			"connections",
			(unsigned long long)(need >> 20), b->o.conns, (unsigned long long)slots,
			b->mi.piece_length >> 10, (unsigned long long)(avail >> 20));
		return -ENOMEM;
	}
	b->max_msg = 9 + WIRE_MAX_BLOCK;
	if (b->max_msg < 1 + (b->mi.piece_count + 7) / 8)
		b->max_msg = 1 + (b->mi.piece_count + 7) / 8;
	if (b->max_msg < (1u << 20))
		b->max_msg = 1u << 20; /* extended messages: metadata, pex */
	return 0;
}

/* BEP 3 handshake with the BEP 10 and BEP 6 bits; the peer id's tail is per connection. */
static void bench_handshake(struct bench *b)
{
	struct wire_handshake hs;

	memset(&hs, 0, sizeof(hs));
	hs.reserved[WIRE_RSV_EXT_BYTE] |= WIRE_RSV_EXT_MASK;
	hs.reserved[WIRE_RSV_FAST_BYTE] |= WIRE_RSV_FAST_MASK;
	if (b->o.ihash_v2)
		hs.reserved[WIRE_RSV_V2_BYTE] |= WIRE_RSV_V2_MASK; /* BEP 52: a v2 peer */
	memcpy(hs.info_hash, b->ih, MI_HASH_LEN);
	memcpy(hs.peer_id, "-RB0001-000000000000", 20);
	wire_handshake_build(b->hs_out, &hs);
}

static int bench_ring(struct bench *b)
{
	struct ring_features f;
	char err[256];
	int rc;

	rc = ring_init(&b->ring, BENCH_RING_ENTRIES, &f, err, sizeof(err));
	if (rc < 0) {
		log_errx("%s", err);
		return rc;
	}
	b->hs_sync = f.defer_taskrun;
	rc = bufring_setup(&b->ring, &b->br, BENCH_BGID, b->o.rbufs, b->o.rbuf_size);
	if (rc < 0) {
		log_errx("provided buffer ring (%u x %u bytes): %s", b->o.rbufs, b->o.rbuf_size,
			 strerror(-rc));
		io_uring_queue_exit(&b->ring);
	}
	return rc;
}

static void bench_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* The connections: BitTorrent leechers, or HTTP clients with --http. */
static int bench_conns(struct bench *b)
{
	int rc;

	if (b->o.http)
		return http_setup_all(b);
	if ((rc = conn_setup_all(b)) < 0)
		return rc;
	return pick_setup(b);
}

static void bench_free_conns(struct bench *b)
{
	if (b->o.http)
		http_free_all(b);
	else
		conn_free_all(b);
}

static int bench_setup(struct bench *b)
{
	int rc;

	if (!b->o.http) {
		if ((rc = bench_load_torrent(b)) < 0)
			return rc;
		if ((rc = bench_settle(b)) < 0)
			goto out_mi;
		bench_handshake(b);
	}
	if ((rc = bench_rlimit(b)) < 0)
		goto out_mi;
	b->rng = b->o.seed ? b->o.seed : bench_now_ns() ^ ((uint64_t)getpid() << 32);
	if ((rc = bench_ring(b)) < 0)
		goto out_mi;
	/* Trunc mode discards a block, or a range, per recv at most; never written. */
	b->scratch_len = b->o.http_range > WIRE_MAX_BLOCK ? b->o.http_range : WIRE_MAX_BLOCK;
	b->scratch = malloc(b->scratch_len);
	if (!b->scratch || (rc = bench_conns(b)) < 0 || (rc = pace_setup(b)) < 0) {
		rc = rc < 0 ? rc : -ENOMEM;
		log_errx("memory for %u connections: %s", b->o.conns, strerror(-rc));
		goto out_ring;
	}
	return 0;
out_ring:
	io_uring_queue_exit(&b->ring);
	bufring_free(NULL, &b->br);
	pace_free(b);
	bench_free_conns(b);
	free(b->scratch);
out_mi:
	mi_free(&b->mi);
	return rc;
}

int main(int argc, char **argv)
{
	static struct bench bench; /* large (the timer wheel): not on the stack */
	struct bench *b = &bench;
	const char *why;
	int rc;

	log_init("ringseed-bench", LOG_LVL_NOTICE);
	rc = opts_parse(&b->o, argc, argv);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (bench_setup(b) < 0)
		return 2;
	bench_signals();
	loop_run(b);
	if (b->o.json)
		report_json(b);
	else
		report_human(b);
	rc = report_status(b, &why);
	if (rc && !b->o.json)
		log_errx("%s", why);
	/* The ring first: its exit cancels every operation that still names our memory. The
	 * sockets close with the process; the seeder sees every connection go then. */
	io_uring_queue_exit(&b->ring);
	bufring_free(NULL, &b->br);
	pace_free(b);
	bench_free_conns(b);
	free(b->avail);
	free(b->scratch);
	mi_free(&b->mi);
	return rc;
}
