/*
 * test_recheck.c - master/content/recheck.c: checks off the caller's thread.
 *
 * A one-file torrent (8 pieces) in a temporary directory: a check finds
 * every piece good and says so on the eventfd; after a byte changes the next
 * finds that piece bad; a job cancelled while queued comes back -ECANCELED
 * without being run; progress reads 1 neither before nor after; close frees
 * what is still queued.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "master/content/recheck.h"
#include "test.h"

#define PL 16384
#define NP 8

static uint8_t content[PL * NP];

/* d4:infod6:lengthi..e4:name5:c.bin12:piece lengthi16384e6:pieces160:...ee */
static size_t make_torrent(uint8_t *out)
{
	size_t n = (size_t)sprintf((char *)out,
				   "d4:infod6:lengthi%de4:name5:c.bin12:piece lengthi%de6:pieces%d:",
				   PL * NP, PL, NP * 20);

	for (int p = 0; p < NP; p++, n += 20)
		SHA1(content + p * PL, PL, out + n);
	memcpy(out + n, "ee", 2);
	return n + 2;
}

static struct rck_job *wait_job(struct recheck *r)
{
	struct pollfd pfd = { .fd = r->efd, .events = POLLIN };
	struct rck_job *j;

	for (int i = 0; i < 100; i++) {
		if ((j = rck_take(r)))
			return j;
		poll(&pfd, 1, 100);
	}
	return NULL;
}

static int count_bits(const uint8_t *b, size_t len)
{
	int n = 0;

	for (size_t i = 0; i < len; i++)
		n += __builtin_popcount(b[i]);
	return n;
}

int main(void)
{
	char dir[] = "/tmp/test_recheck.XXXXXX";
	uint8_t raw[512];
	struct metainfo mi;
	struct mi_err err;
	struct recheck r;
	struct rck_job *j, *a, *b;
	int dfd, fd;

	REQUIRE(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(content); i++)
		content[i] = (uint8_t)(i * 31 + 7);
	REQUIRE((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	REQUIRE((fd = openat(dfd, "c.bin", O_WRONLY | O_CREAT, 0644)) >= 0);
	REQUIRE(write(fd, content, sizeof(content)) == (ssize_t)sizeof(content));
	REQUIRE(mi_parse(raw, make_torrent(raw), &mi, &err) == 0);
	REQUIRE(rck_init(&r, dfd, -1) == 0);

	/* all good, announced on the eventfd */
	REQUIRE((j = calloc(1, sizeof(*j))));
	j->mi = &mi;
	j->gen = 7;
	rck_submit(&r, j);
	REQUIRE(wait_job(&r) == j);
	CHECK_EQ_INT(j->rc, 0);
	CHECK_EQ_INT(j->gen, 7);
	CHECK_EQ_INT(j->rep.good, NP);
	CHECK_EQ_INT(count_bits(j->have, 1), NP);
	CHECK(j->checked_ns > 0);
	CHECK(rck_progress(&r, j) == 0); /* not running any more */
	rck_job_free(j);

	/* one byte of piece 5 changed: that piece is bad */
	REQUIRE(pwrite(fd, "x", 1, 5 * PL + 100) == 1);
	REQUIRE((j = calloc(1, sizeof(*j))));
	j->mi = &mi;
	rck_submit(&r, j);
	REQUIRE(wait_job(&r) == j);
	CHECK_EQ_INT(j->rc, 0);
	CHECK_EQ_INT(j->rep.good, NP - 1);
	CHECK(!verify_has(j->have, 5));
	CHECK(verify_has(j->have, 4));
	rck_job_free(j);

	/*
	 * two queued, the second cancelled: it comes back -ECANCELED, the first
	 * as usual. The thread may already have finished the first and taken the
	 * second (hashing this torrent takes microseconds), so this repeats until
	 * a cancel finds the second still queued, which it must within 50 tries.
	 */
	int hits = 0;
	for (int t = 0; t < 50 && !hits; t++) {
		bool queued;

		REQUIRE((a = calloc(1, sizeof(*a))) && (b = calloc(1, sizeof(*b))));
		a->mi = b->mi = &mi;
		rck_submit(&r, a);
		rck_submit(&r, b);
		queued = rck_cancel(&r, b);
		hits += queued;
		for (int k = 0; k < 2; k++) {
			REQUIRE((j = wait_job(&r)));
			if (j == b && queued)
				CHECK_EQ_INT(j->rc, -ECANCELED);
			else
				CHECK((j == a || j == b) && (j->rc == 0 || j->rc == -ECANCELED));
		}
		rck_job_free(a);
		rck_job_free(b);
	}
	CHECK(hits == 1);

	/* a queued job is freed by close */
	REQUIRE((j = calloc(1, sizeof(*j))));
	j->mi = &mi;
	rck_submit(&r, j);
	rck_close(&r);

	mi_free(&mi);
	close(fd);
	unlinkat(dfd, "c.bin", 0);
	close(dfd);
	rmdir(dir);
	return test_done("test_recheck");
}
