/*
 * test_ring.c - ring_init sets up a ring with every feature the worker needs
 * (or names the missing one in one line), leaves no probe behind, describes
 * itself in one line; ring_get_sqe submits and counts when the SQ is full.
 *
 * Includes ring.c, as h2o's unit tests do, to reach ring_check(); the
 * library's ring.o is then not linked in.
 */
#include <errno.h>
#include <pthread.h>

#include "iocore/ring.c"
#include "tests/unit/test.h"

/* Waits up to 5 s for one CQE, copies it out and marks it seen. */
static int next_cqe(struct io_uring *ring, struct io_uring_cqe *out)
{
	struct __kernel_timespec ts = { .tv_sec = 5 };
	struct io_uring_cqe *cqe;
	int rc = io_uring_wait_cqe_timeout(ring, &cqe, &ts);

	if (rc < 0)
		return rc;
	*out = *cqe;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

static void test_init(struct io_uring *ring, const struct ring_features *f)
{
	char line[256];

	ring_describe(f, line, sizeof(line));
	fprintf(stderr, "%s\n", line);
	CHECK(strncmp(line, "io_uring: ", 10) == 0);
	/* ring_init succeeded: every required feature is there. */
	CHECK(f->read && f->send && f->recv && f->recvmsg && f->splice && f->poll_add &&
	      f->timeout && f->pbuf_ring && f->recv_multishot);
	CHECK(!(f->defer_taskrun && f->coop_taskrun));
	CHECK(!f->defer_taskrun || f->single_issuer);
	CHECK_EQ_INT(ring->sq.ring_entries, 64);
	CHECK_EQ_INT(ring->cq.ring_entries, 128);
	CHECK(strstr(line, "recv_multishot") != NULL);
	CHECK(f->send_zc == (strstr(line, "(no send_zc)") == NULL));

	/* The probes left no completion and no request behind. */
	io_uring_get_events(ring);
	CHECK_EQ_INT(io_uring_cq_ready(ring), 0);
	CHECK_EQ_INT(io_uring_sq_ready(ring), 0);
}

static void test_bad_entries(void)
{
	struct io_uring r;
	struct ring_features f;
	char err[160];

	CHECK_EQ_INT(ring_init(&r, 0, &f, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "io_uring: 0 entries: must be 1 to 32768");
	CHECK_EQ_INT(ring_init(&r, 40000, &f, err, sizeof(err)), -EINVAL);
	/* The smallest ring still probes (the probe needs two SQEs: ring_get_sqe submits). */
	CHECK_EQ_INT(ring_init(&r, 1, &f, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	io_uring_queue_exit(&r);
}

static void all_features(struct ring_features *f)
{
	memset(f, 0, sizeof(*f));
	f->read = f->send = f->recv = f->recvmsg = f->splice = f->poll_add = f->timeout = true;
	f->pbuf_ring = f->recv_multishot = f->send_zc = f->sendmsg_zc = true;
}

/* The error line names the missing feature with the newest kernel, and the kernel. */
static void test_check(void)
{
	struct ring_features f;
	char err[200];

	all_features(&f);
	CHECK_EQ_INT(ring_check(&f, err, sizeof(err)), 0);
	f.send_zc = false; /* optional */
	CHECK_EQ_INT(ring_check(&f, err, sizeof(err)), 0);
	f.splice = false;
	CHECK_EQ_INT(ring_check(&f, err, sizeof(err)), -EOPNOTSUPP);
	CHECK_STR(err, "io_uring: IORING_OP_SPLICE is not supported by this kernel "
		       "(Linux 5.7 has it)");
	f.recv_multishot = false;
	CHECK_EQ_INT(ring_check(&f, err, sizeof(err)), -EOPNOTSUPP);
	CHECK_STR(err, "io_uring: multishot recv (IORING_RECV_MULTISHOT) is not supported by this "
		       "kernel (Linux 6.0 has it, and the 1 other missing feature)");
	f.pbuf_ring = false;
	CHECK_EQ_INT(ring_check(&f, err, sizeof(err)), -EOPNOTSUPP);
	CHECK(strstr(err, "(Linux 6.0 has it, and the 2 other missing features)") != NULL);
	all_features(&f);
	f.pbuf_ring = false;
	CHECK_EQ_INT(ring_check(&f, err, sizeof(err)), -EOPNOTSUPP);
	CHECK_STR(err, "io_uring: provided buffer rings (IORING_REGISTER_PBUF_RING) is not "
		       "supported by this kernel (Linux 5.19 has it)");
	/* A caller that does not want the message. */
	CHECK_EQ_INT(ring_check(&f, NULL, 0), -EOPNOTSUPP);
}

static void test_describe(void)
{
	struct ring_features f;
	char line[256], small[12];

	memset(&f, 0, sizeof(f));
	ring_describe(&f, line, sizeof(line));
	CHECK_STR(line, "io_uring: plain (no read send recv recvmsg splice poll_add timeout "
			"pbuf_ring recv_multishot send_zc sendmsg_zc)");
	all_features(&f);
	f.single_issuer = f.defer_taskrun = f.submit_all = true;
	ring_describe(&f, line, sizeof(line));
	CHECK_STR(line, "io_uring: single_issuer defer_taskrun submit_all read send recv recvmsg "
			"splice poll_add timeout pbuf_ring recv_multishot send_zc sendmsg_zc");
	f.send_zc = f.sendmsg_zc = false;
	f.defer_taskrun = false;
	f.coop_taskrun = true;
	ring_describe(&f, line, sizeof(line));
	CHECK_STR(line, "io_uring: single_issuer coop_taskrun submit_all read send recv recvmsg "
			"splice poll_add timeout pbuf_ring recv_multishot (no send_zc sendmsg_zc)");
	/* Truncated, terminated, never past the buffer. */
	memset(small, 'x', sizeof(small));
	ring_describe(&f, small, sizeof(small));
	CHECK_STR(small, "io_uring: s");
	memset(small, 'x', sizeof(small));
	ring_describe(&f, small, 1);
	CHECK_EQ_INT(small[0], '\0');
	CHECK_EQ_INT(small[1], 'x');
	ring_describe(&f, small, 0);
	CHECK_EQ_INT(small[1], 'x');
}

static void test_nop(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = ring_get_sqe(ring, NULL);
	struct io_uring_cqe cqe;

	REQUIRE(sqe);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, 0xdeadbeefcafeull);
	CHECK_EQ_INT(io_uring_submit(ring), 1);
	REQUIRE(next_cqe(ring, &cqe) == 0);
	CHECK_EQ_INT(cqe.user_data, 0xdeadbeefcafeull);
	CHECK_EQ_INT(cqe.res, 0);
	CHECK_EQ_INT(io_uring_cq_ready(ring), 0);
}

/* A 4-entry SQ filled with NOPs: the fifth SQE submits the four, counts once, and all five
 * complete. */
static void test_sq_full(void)
{
	struct io_uring r;
	struct ring_features f;
	struct io_uring_cqe cqe;
	char err[160];
	uint64_t full = 0;
	unsigned seen = 0;

	REQUIRE(ring_init(&r, 4, &f, err, sizeof(err)) == 0);
	for (unsigned i = 0; i < 4; i++) {
		struct io_uring_sqe *sqe = ring_get_sqe(&r, &full);

		REQUIRE(sqe);
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, i);
	}
	CHECK_EQ_INT(full, 0);
	CHECK_EQ_INT(io_uring_sq_space_left(&r), 0);
	CHECK(io_uring_get_sqe(&r) == NULL);
	for (unsigned i = 4; i < 6; i++) {
		struct io_uring_sqe *sqe = ring_get_sqe(&r, &full);

		REQUIRE(sqe);
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, i);
	}
	CHECK_EQ_INT(full, 1);
	CHECK_EQ_INT(io_uring_sq_ready(&r), 2);
	/* Without a counter it still works. */
	for (unsigned i = 6; i < 9; i++) {
		struct io_uring_sqe *sqe = ring_get_sqe(&r, NULL);

		REQUIRE(sqe);
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, i);
	}
	CHECK_EQ_INT(io_uring_submit(&r), 1);
	for (unsigned i = 0; i < 9; i++) {
		REQUIRE(next_cqe(&r, &cqe) == 0);
		CHECK_EQ_INT(cqe.res, 0);
		CHECK(cqe.user_data < 9 && !(seen & (1u << cqe.user_data)));
		seen |= 1u << (cqe.user_data & 31);
	}
	CHECK_EQ_INT(seen, 0x1ff);
	io_uring_queue_exit(&r);
}

struct other {
	struct io_uring *ring;
	int rc;
};

static void *submit_from_other_thread(void *arg)
{
	struct other *o = arg;
	struct io_uring_sqe *sqe = io_uring_get_sqe(o->ring);

	io_uring_prep_nop(sqe);
	o->rc = io_uring_submit(o->ring);
	return NULL;
}

/* SINGLE_ISSUER is enforced: what ring.h tells the worker (create it where it is used) holds. */
static void test_single_issuer(struct io_uring *ring, const struct ring_features *f)
{
	struct other o = { .ring = ring };
	pthread_t th;

	if (!f->single_issuer) {
		fprintf(stderr, "single_issuer did not take: not checked\n");
		return;
	}
	REQUIRE(pthread_create(&th, NULL, submit_from_other_thread, &o) == 0);
	pthread_join(th, NULL);
	CHECK_EQ_INT(o.rc, -EEXIST);
	/* The SQE it queued is still there; the owner submits it. */
	CHECK_EQ_INT(io_uring_submit(ring), 1);
	{
		struct io_uring_cqe cqe;

		REQUIRE(next_cqe(ring, &cqe) == 0);
		CHECK_EQ_INT(cqe.res, 0);
	}
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
	CHECK_STR(err, "");
	test_init(&ring, &f);
	test_nop(&ring);
	test_single_issuer(&ring, &f);
	test_bad_entries();
	test_check();
	test_describe();
	test_sq_full();
	io_uring_queue_exit(&ring);
	return test_done("ring");
}
