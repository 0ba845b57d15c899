/*
 * test_bufring.c - a multishot recv on a provided-buffer ring delivers the
 * byte stream exactly, in order, one buffer per CQE; buffers come back and
 * are reused; an empty ring ends the multishot with -ENOBUFS and re-arming
 * after recycling resumes the stream where it stopped; EOF ends it too.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iocore/bufring.h"
#include "iocore/ring.h"
#include "tests/unit/test.h"

#define MAXBUFS 32

struct rx {
	struct io_uring *ring;
	struct bufring *b;
	int fd;
	bool armed;
	uint8_t *got; /* the received stream */
	size_t got_len, got_cap;
	bool owned[MAXBUFS]; /* buffers the kernel gave us and we have not recycled */
	unsigned uses[MAXBUFS];
	unsigned cqes, more_missing, double_bid, too_big, enobufs, arms;
};

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void arm(struct rx *r)
{
	struct io_uring_sqe *sqe = ring_get_sqe(r->ring, NULL);

	REQUIRE(sqe);
	io_uring_prep_recv_multishot(sqe, r->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = r->b->bgid;
	io_uring_sqe_set_data64(sqe, 0x5ec7);
	REQUIRE(io_uring_submit(r->ring) == 1);
	r->armed = true;
	r->arms++;
}

/* Waits up to 5 s for one CQE, copies it out and marks it seen. */
static void next_cqe(struct io_uring *ring, struct io_uring_cqe *out)
{
	struct __kernel_timespec ts = { .tv_sec = 5 };
	struct io_uring_cqe *cqe;
	int rc = io_uring_wait_cqe_timeout(ring, &cqe, &ts);

	if (rc < 0)
		fprintf(stderr, "waiting for a CQE: %s\n", strerror(-rc));
	REQUIRE(rc == 0);
	*out = *cqe;
	io_uring_cqe_seen(ring, cqe);
}

/*
 * Handles one CQE of the multishot recv: takes the buffer's bytes, checks the
 * buffer was not ours already. Leaves the buffer owned; returns its bid or -1.
 */
static int take(struct rx *r, const struct io_uring_cqe *cqe)
{
	uint16_t bid;

	r->cqes++;
	CHECK_EQ_INT(cqe->user_data, 0x5ec7);
	if (!(cqe->flags & IORING_CQE_F_MORE))
		r->armed = false;
	if (cqe->res == -ENOBUFS)
		r->enobufs++;
	if (!bufring_cqe_bid(cqe, &bid)) {
		CHECK(cqe->res <= 0);
		return -1;
	}
	REQUIRE(cqe->res > 0);
	REQUIRE(bid < r->b->nbufs);
	if ((unsigned)cqe->res > r->b->size)
		r->too_big++;
	if (r->owned[bid])
		r->double_bid++;
	r->owned[bid] = true;
	r->uses[bid]++;
	REQUIRE(r->got_len + (size_t)cqe->res <= r->got_cap);
	memcpy(r->got + r->got_len, bufring_buf(r->b, bid), (size_t)cqe->res);
	r->got_len += (size_t)cqe->res;
	return bid;
}

static void give_back(struct rx *r, uint16_t bid)
{
	CHECK(r->owned[bid]);
	r->owned[bid] = false;
	bufring_recycle(r->b, bid);
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		REQUIRE(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

/*
 * Reads CQEs until the stream has `want` bytes, the multishot armed
 * throughout. batch: walk every completion available and give the buffers
 * back with one commit, as a worker's loop would; else recycle each at once.
 * Returns how many commits covered more than one buffer.
 */
static unsigned drain(struct rx *r, size_t want, bool batch)
{
	enum { MAXHELD = 64 };
	struct io_uring_cqe cqe;
	unsigned batched = 0;

	while (r->got_len < want) {
		uint16_t held[MAXHELD];
		unsigned nheld = 0;
		int bid;

		next_cqe(r->ring, &cqe);
		bid = take(r, &cqe);
		REQUIRE(r->armed);
		if (bid < 0)
			continue;
		if (!batch) {
			give_back(r, (uint16_t)bid);
			continue;
		}
		held[nheld++] = (uint16_t)bid;
		for (struct io_uring_cqe *c;
		     nheld < MAXHELD && io_uring_peek_cqe(r->ring, &c) == 0;) {
			cqe = *c;
			io_uring_cqe_seen(r->ring, c);
			bid = take(r, &cqe);
			REQUIRE(r->armed);
			if (bid >= 0)
				held[nheld++] = (uint16_t)bid;
		}
		batched += nheld > 1;
		for (unsigned i = 0; i < nheld; i++) {
			r->owned[held[i]] = false;
			bufring_stage(r->b, held[i]);
		}
		bufring_commit(r->b);
	}
	return batched;
}

/*
 * 300 messages from 1 byte to 7 buffers long, sent one at a time or in bursts
 * that fit the ring; every buffer recycled as soon as it is read (singly or
 * staged and committed per batch). The multishot never stops.
 */
static void test_stream(struct io_uring *ring)
{
	enum { NBUFS = 8, SIZE = 128, NMSG = 300, MAXMSG = 7 * SIZE };
	static uint8_t sent[NMSG * MAXMSG], got[NMSG * MAXMSG];
	static const unsigned edge[] = { 1, SIZE - 1, SIZE, SIZE + 1, 2 * SIZE, MAXMSG };
	struct bufring b;
	struct rx r = { .ring = ring, .b = &b, .got = got, .got_cap = sizeof(got) };
	struct io_uring_cqe cqe;
	size_t sent_len = 0;
	unsigned batched = 0;
	int sv[2];

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	REQUIRE(bufring_setup(ring, &b, 1, NBUFS, SIZE) == 0);
	CHECK_EQ_INT(b.nbufs, NBUFS);
	CHECK_EQ_INT(b.mask, NBUFS - 1);
	r.fd = sv[0];
	arm(&r);
	for (unsigned m = 0; m < NMSG;) {
		/* A burst of messages whose total fits in the ring's buffers. */
		bool is_burst = m % 10 == 9;
		unsigned burst = is_burst ? 3 : 1;
		size_t burst_len = 0;

		for (; burst > 0 && m < NMSG; burst--, m++) {
			size_t len = m < 6	? edge[m]
				     : is_burst ? 1 + rnd() % (MAXMSG / 3)
						: 1 + rnd() % MAXMSG;

			for (size_t i = 0; i < len; i++)
				sent[sent_len + i] = (uint8_t)(rnd() >> 32);
			send_all(sv[1], sent + sent_len, len);
			sent_len += len;
			burst_len += len;
		}
		/* Read until the burst is in; recycle alternately one by one and per batch. */
		batched += drain(&r, r.got_len + burst_len, m % 2 == 0);
	}
	CHECK_EQ_INT(r.got_len, sent_len);
	CHECK(memcmp(got, sent, sent_len) == 0);
	CHECK_EQ_INT(r.double_bid, 0);
	CHECK_EQ_INT(r.too_big, 0);
	CHECK_EQ_INT(r.enobufs, 0);
	CHECK_EQ_INT(r.arms, 1);
	CHECK(r.cqes > 4 * NBUFS);
	CHECK(batched > 10); /* the staged path ran with several buffers per commit */
	for (unsigned i = 0; i < NBUFS; i++)
		CHECK(r.uses[i] >= 4); /* every buffer went round again and again */
	fprintf(stderr,
		"stream: %zu bytes in %u CQEs through %u buffers of %u, %u batched commits\n",
		sent_len, r.cqes, NBUFS, SIZE, batched);

	/* EOF: res 0, no buffer, the multishot ends. */
	CHECK(r.armed);
	REQUIRE(shutdown(sv[1], SHUT_WR) == 0);
	next_cqe(ring, &cqe);
	CHECK_EQ_INT(cqe.res, 0);
	CHECK(!(cqe.flags & IORING_CQE_F_MORE));
	CHECK(!(cqe.flags & IORING_CQE_F_BUFFER));
	close(sv[0]);
	close(sv[1]);
	bufring_free(ring, &b);
	bufring_free(ring, &b); /* twice: no-op */
}

/*
 * 1000 bytes into 4 buffers of 64 held by the application: the multishot
 * fills the four, then ends with -ENOBUFS. Recycle and re-arm, four times
 * over, and the stream resumes where it stopped.
 */
static void test_enobufs(struct io_uring *ring)
{
	enum { NBUFS = 4, SIZE = 64, LEN = 1000 };
	static uint8_t sent[LEN], got[LEN];
	struct bufring b;
	struct rx r = { .ring = ring, .b = &b, .got = got, .got_cap = sizeof(got) };
	struct io_uring_cqe cqe;
	unsigned rounds = 0;
	int sv[2];

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	REQUIRE(bufring_setup(ring, &b, 2, NBUFS, SIZE) == 0);
	r.fd = sv[0];
	for (unsigned i = 0; i < LEN; i++)
		sent[i] = (uint8_t)(i * 7 + 3);
	send_all(sv[1], sent, LEN);
	arm(&r);
	while (r.got_len < LEN && rounds < 10) {
		unsigned data = 0;

		/* Until the multishot stops or the stream is complete. */
		while (r.armed && r.got_len < LEN) {
			next_cqe(ring, &cqe);
			if (take(&r, &cqe) >= 0)
				data++;
		}
		if (r.got_len == LEN)
			break;
		rounds++;
		/* It stopped because all four buffers are ours: -ENOBUFS, no buffer, no F_MORE. */
		CHECK_EQ_INT(cqe.res, -ENOBUFS);
		CHECK(!(cqe.flags & IORING_CQE_F_BUFFER));
		CHECK_EQ_INT(data, NBUFS);
		CHECK_EQ_INT(r.got_len, (size_t)rounds * NBUFS * SIZE);
		for (uint16_t bid = 0; bid < NBUFS; bid++)
			give_back(&r, bid);
		arm(&r);
	}
	CHECK_EQ_INT(rounds, 3);
	CHECK_EQ_INT(r.enobufs, 3);
	CHECK_EQ_INT(r.arms, 4);
	CHECK_EQ_INT(r.got_len, LEN);
	CHECK(memcmp(got, sent, LEN) == 0);
	CHECK_EQ_INT(r.double_bid, 0);
	/* The last round had buffers to spare: still armed. More data, without recycling, still
	 * arrives. */
	CHECK(r.armed);
	for (uint16_t bid = 0; bid < NBUFS; bid++)
		if (r.owned[bid])
			give_back(&r, bid);
	send_all(sv[1], (const uint8_t *)"x", 1);
	next_cqe(ring, &cqe);
	CHECK_EQ_INT(cqe.res, 1);
	CHECK(cqe.flags & IORING_CQE_F_MORE);
	/* Closing the sender ends it with res 0. */
	close(sv[1]);
	next_cqe(ring, &cqe);
	CHECK_EQ_INT(cqe.res, 0);
	CHECK(!(cqe.flags & IORING_CQE_F_MORE));
	close(sv[0]);
	bufring_free(ring, &b);
}

static void test_setup_errors(struct io_uring *ring)
{
	struct bufring b, b2;

	CHECK_EQ_INT(bufring_setup(ring, &b, 3, 0, 64), -EINVAL);
	CHECK_EQ_INT(bufring_setup(ring, &b, 3, 3, 64), -EINVAL);
	CHECK_EQ_INT(bufring_setup(ring, &b, 3, 65536, 64), -EINVAL);
	CHECK_EQ_INT(bufring_setup(ring, &b, 3, 8, 0), -EINVAL);
	CHECK(b.map == NULL);
	bufring_free(ring, &b); /* zeroed by the failed setup: no-op */
	/* The largest ring the kernel takes, and a group id in use. */
	REQUIRE(bufring_setup(ring, &b, 3, BUFRING_MAX_BUFS, 16) == 0);
	CHECK(((uintptr_t)b.br & 4095) == 0);
	CHECK(b.bufs >= (uint8_t *)b.br + BUFRING_MAX_BUFS * sizeof(struct io_uring_buf));
	CHECK(bufring_buf(&b, BUFRING_MAX_BUFS - 1) + 16 == (uint8_t *)b.map + b.map_len);
	CHECK_EQ_INT(bufring_setup(ring, &b2, 3, 8, 64), -EEXIST);
	bufring_free(ring, &b);
	/* Freed, the id can be taken again; ring_init's probe group (0xffff) is free too. */
	REQUIRE(bufring_setup(ring, &b2, 3, 8, 64) == 0);
	REQUIRE(bufring_setup(ring, &b, 0xffff, 1, 64) == 0);
	bufring_free(ring, &b);
	bufring_free(ring, &b2);
}

int main(void)
{
	struct io_uring ring;
	struct ring_features f;
	char err[160];
	int rc;

	rc = ring_init(&ring, 64, &f, err, sizeof(err));
	if (rc == -ENOSYS || rc == -EPERM || rc == -EOPNOTSUPP) {
		printf("skip: %s\n", err);
		return 77;
	}
	if (rc != 0)
		fprintf(stderr, "ring_init: %d: %s\n", rc, err);
	REQUIRE(rc == 0);
	test_setup_errors(&ring);
	test_stream(&ring);
	test_enobufs(&ring);
	io_uring_queue_exit(&ring);
	return test_done("bufring");
}
