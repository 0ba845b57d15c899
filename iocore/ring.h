/*
 * ring.h - one io_uring per worker, with the features we rely on probed once.
 *
 * ring_init() sets the ring up with the best task-run mode the kernel takes
 * and checks every feature the worker needs, so that a kernel too old fails
 * at start-up with one line saying what is missing and which kernel has it,
 * not later with -EINVAL on the first connection.
 *
 * With IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN (what Linux
 * 6.1 and later give), two rules hold for the caller:
 *   - the ring belongs to the thread that called ring_init(): create it in
 *     the worker process itself, after fork, and submit only from there;
 *   - completions are posted only when that thread enters the kernel asking
 *     for them (io_uring_submit_and_wait(), io_uring_wait_cqe*(), or
 *     io_uring_get_events()): io_uring_peek_cqe() alone never sees new ones.
 */
#ifndef RINGSEED_RING_H
#define RINGSEED_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <liburing.h>

struct ring_features {
	bool single_issuer, defer_taskrun, coop_taskrun; /* setup flags that took */
	bool submit_all; /* IORING_SETUP_SUBMIT_ALL: a bad SQE does not stop the batch */
	bool recv_multishot, pbuf_ring, splice, send_zc, poll_add, read, send, recvmsg, timeout;
	bool sendmsg_zc; /* IORING_OP_SENDMSG_ZC (6.1): the send_zc strategy */
	bool recv; /* IORING_OP_RECV (5.6), which multishot recv is a mode of */
};

/*
 * Sets up ring with `entries` SQEs (1 to 32768; CQ twice that), trying
 * SINGLE_ISSUER | DEFER_TASKRUN first, then SINGLE_ISSUER | COOP_TASKRUN, then
 * plain (SUBMIT_ALL with the first two), and probes what the worker needs.
 * Returns 0, or a negative errno with err holding ONE line naming what is
 * missing and the kernel that has it, e.g.
 * "io_uring: IORING_OP_SPLICE is not supported by this kernel (Linux 5.7 has it)".
 *   -ENOSYS	no io_uring at all
 *   -EPERM	io_uring refused (kernel.io_uring_disabled, seccomp, container policy)
 *   -EOPNOTSUPP	a required feature is missing; f says which ones are there
 *   other	from io_uring_queue_init_params() or a probe
 * Required: read, send, recv, recvmsg, splice, poll_add, timeout, provided buffer
 * rings (5.19), multishot recv (6.0). send_zc (6.0) and sendmsg_zc (6.1) are optional: reported in
 * f, not an error. On failure the ring is not set up (nothing to tear down).
 */
int ring_init(struct io_uring *ring, unsigned entries, struct ring_features *f, char *err,
	      size_t errlen);

/*
 * One line describing the features, for the log: "io_uring: single_issuer
 * defer_taskrun submit_all read send ...", ending "(no send_zc)" when an
 * operation is missing. Truncated to len, always terminated.
 */
void ring_describe(const struct ring_features *f, char *buf, size_t len);

/*
 * An SQE, submitting what is queued first if the SQ is full (counted in
 * *sq_full if non-NULL). NULL only if that submit fails or the kernel took
 * nothing from the full SQ; the caller then backs off to its next loop turn.
 */
struct io_uring_sqe *ring_get_sqe(struct io_uring *ring, uint64_t *sq_full);

#endif
