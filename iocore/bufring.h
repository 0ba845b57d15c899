/*
 * bufring.h - a provided-buffer ring shared by every receive of a worker.
 *
 * The kernel picks a buffer from the ring when data arrives, not when the
 * receive is armed, so an idle connection holds no buffer: a worker with
 * 10,000 peers needs buffers for the ones that are talking, not 10,000.
 *
 * The life of a buffer:
 *
 *     in the ring --(kernel fills it, CQE with IORING_CQE_F_BUFFER)--> owned
 *        ^                                                               |
 *        +-------------- bufring_recycle() / stage + commit -------------+
 *
 * A buffer the application owns must be recycled exactly once, when its
 * bytes have been consumed (or copied). When the ring is empty, a receive
 * that has data completes with -ENOBUFS, and a multishot receive stops (its
 * CQE lacks IORING_CQE_F_MORE): recycle, then arm it again. Any CQE without
 * F_MORE ends the multishot, even one that carries data (the kernel may stop
 * it, e.g. when the CQ overflows): take the buffer, then re-arm. res 0 is EOF.
 *
 * Arm a multishot receive on this group with
 *     io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);   (len must be 0)
 *     sqe->flags |= IOSQE_BUFFER_SELECT;
 *     sqe->buf_group = b->bgid;
 * Each CQE then carries at most one buffer of at most `size` bytes; a larger
 * message arrives as several CQEs, in order.
 *
 * Memory (the ring and the buffers) is mmap'd once by bufring_setup().
 */
#ifndef RINGSEED_BUFRING_H
#define RINGSEED_BUFRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <liburing.h>

/* The kernel's limit on entries in one provided-buffer ring. */
#define BUFRING_MAX_BUFS 32768u

struct bufring {
	struct io_uring_buf_ring *br; /* the ring, at the start of the mapping */
	uint8_t *bufs;		      /* nbufs * size bytes, after the ring */
	unsigned nbufs, size, mask;
	uint16_t bgid;
	uint16_t staged; /* buffers added since the last commit */
	void *map;	 /* one mapping for both */
	size_t map_len;
};

/*
 * Maps the memory, registers the ring as buffer group bgid and gives the
 * kernel every buffer. nbufs is a power of two from 1 to 32768, size > 0.
 * Returns 0 or a negative errno: -EINVAL for bad sizes (or a kernel without
 * buffer rings), -EEXIST if bgid is taken, -ENOMEM, or from mmap/register.
 */
int bufring_setup(struct io_uring *ring, struct bufring *b, uint16_t bgid, unsigned nbufs,
		  unsigned size);

/*
 * Unregisters the group (skipped when ring is NULL, e.g. after
 * io_uring_queue_exit(), which drops it anyway) and unmaps the memory.
 * Safe on a zeroed struct and twice.
 */
void bufring_free(struct io_uring *ring, struct bufring *b);

/* Address of buffer bid. */
static inline uint8_t *bufring_buf(const struct bufring *b, uint16_t bid)
{
	return b->bufs + (size_t)bid * b->size;
}

/* Gives bid back to the kernel (stage + commit). */
void bufring_recycle(struct bufring *b, uint16_t bid);

/*
 * The batched form, for a loop that walks many completions: stage each
 * buffer as it is done with, commit once at the end (one release store).
 * The kernel sees no staged buffer before the commit.
 */
void bufring_stage(struct bufring *b, uint16_t bid);
void bufring_commit(struct bufring *b);

/* From a CQE of a buffer-select op: is there a buffer, and which. */
static inline bool bufring_cqe_bid(const struct io_uring_cqe *cqe, uint16_t *bid)
{
	if (!(cqe->flags & IORING_CQE_F_BUFFER))
		return false;
	*bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
	return true;
}

#endif
