/*
 * bufring.c - provided-buffer ring set-up and recycling; see bufring.h.
 *
 * One anonymous mapping holds the ring (16 bytes per entry, rounded up to a
 * page, since the kernel wants the ring page-aligned) followed by the
 * buffers. MAP_POPULATE takes the memory at start-up rather than on the first
 * receive of each buffer.
 *
 * Ring entries and buffer ids are separate: after some recycling, entry i of
 * the ring may hold any bid. The tail is a free-running 16-bit counter;
 * entries are addressed as (tail + offset) & mask.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iocore/bufring.h"

int bufring_setup(struct io_uring *ring, struct bufring *b, uint16_t bgid, unsigned nbufs,
		  unsigned size)
{
	struct io_uring_buf_reg reg;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), ring_len, bufs_len;
	void *map;
	int rc;

	memset(b, 0, sizeof(*b));
	if (nbufs == 0 || nbufs > BUFRING_MAX_BUFS || (nbufs & (nbufs - 1)) != 0 || size == 0)
		return -EINVAL;
	ring_len = (nbufs * sizeof(struct io_uring_buf) + page - 1) & ~(page - 1);
	/* nbufs <= 2^15 and size < 2^32: the product fits in 64 bits. */
	bufs_len = (size_t)nbufs * size;
	if (bufs_len > SIZE_MAX - ring_len)
		return -ENOMEM;
	map = mmap(NULL, ring_len + bufs_len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (map == MAP_FAILED)
		return -errno;

	b->map = map;
	b->map_len = ring_len + bufs_len;
	b->br = map;
	b->bufs = (uint8_t *)map + ring_len;
	b->nbufs = nbufs;
	b->size = size;
	b->mask = (unsigned)io_uring_buf_ring_mask(nbufs);
	b->bgid = bgid;
	io_uring_buf_ring_init(b->br);

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uintptr_t)b->br;
	reg.ring_entries = nbufs;
	reg.bgid = bgid;
	rc = io_uring_register_buf_ring(ring, &reg, 0);
	if (rc < 0)
		goto out_unmap;
	for (unsigned i = 0; i < nbufs; i++)
		bufring_stage(b, (uint16_t)i);
	bufring_commit(b);
	return 0;

out_unmap:
	munmap(map, b->map_len);
	memset(b, 0, sizeof(*b));
	return rc;
}

void bufring_free(struct io_uring *ring, struct bufring *b)
{
	if (!b->map)
		return;
	if (ring)
		io_uring_unregister_buf_ring(ring, b->bgid);
	munmap(b->map, b->map_len);
	memset(b, 0, sizeof(*b));
}

void bufring_stage(struct bufring *b, uint16_t bid)
{
	io_uring_buf_ring_add(b->br, bufring_buf(b, bid), b->size, bid, (int)b->mask, b->staged);
	b->staged++;
}

void bufring_commit(struct bufring *b)
{
	if (b->staged == 0)
		return;
	io_uring_buf_ring_advance(b->br, b->staged);
	b->staged = 0;
}

void bufring_recycle(struct bufring *b, uint16_t bid)
{
	bufring_stage(b, bid);
	bufring_commit(b);
}
