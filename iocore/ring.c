/*
 * ring.c - io_uring set-up and feature probing; see ring.h.
 *
 * Opcodes are probed with IORING_REGISTER_PROBE. Two features are not
 * opcodes and are probed by using them once on the new ring:
 *   - provided buffer rings: register a one-entry ring and unregister it;
 *     a kernel without them refuses the register opcode with -EINVAL;
 *   - multishot recv: arm one on a socketpair with that empty buffer ring,
 *     then cancel it. Linux 5.19 refuses the flag at prep (-EINVAL); 6.0 and
 *     later accept it and end with -ENOBUFS (no buffer) or -ECANCELED.
 * Both leave nothing behind: the probe waits for every completion it caused.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iocore/ring.h"

/* IORING_MAX_ENTRIES in the kernel. */
#define RING_MAX_ENTRIES 32768u

/* Buffer group and user_data used only while probing, before the worker owns the ring. */
#define RING_PROBE_BGID	    0xffffu
#define RING_PROBE_RECV	    1u
#define RING_PROBE_CANCEL   2u
#define RING_PROBE_MAX_CQES 8

/* Setup modes, best first; each later one is tried only when the kernel says -EINVAL. */
static const unsigned ring_modes[] = {
	IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, /* 6.1 */
	IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,  /* 6.0 */
	0, /* plain: gets an old kernel as far as the probes, which say what it lacks */
};

/* Every feature ring_features reports about operations, with the kernel that brought it. */
struct ring_feature {
	size_t off;	  /* of the bool in struct ring_features */
	int op;		  /* IORING_OP_*, or -1 when probed by use */
	unsigned version; /* major * 100 + minor */
	bool required;
	const char *what; /* for the error line */
	const char *name; /* for ring_describe */
};

#define RF(field) offsetof(struct ring_features, field)

static const struct ring_feature ring_feature_table[] = {
	{ RF(read), IORING_OP_READ, 506, true, "IORING_OP_READ", "read" },
	{ RF(send), IORING_OP_SEND, 506, true, "IORING_OP_SEND", "send" },
	{ RF(recv), IORING_OP_RECV, 506, true, "IORING_OP_RECV", "recv" },
	{ RF(recvmsg), IORING_OP_RECVMSG, 503, true, "IORING_OP_RECVMSG", "recvmsg" },
	{ RF(splice), IORING_OP_SPLICE, 507, true, "IORING_OP_SPLICE", "splice" },
	{ RF(poll_add), IORING_OP_POLL_ADD, 501, true, "IORING_OP_POLL_ADD", "poll_add" },
	{ RF(timeout), IORING_OP_TIMEOUT, 504, true, "IORING_OP_TIMEOUT", "timeout" },
	{ RF(pbuf_ring), -1, 519, true, "provided buffer rings (IORING_REGISTER_PBUF_RING)",
	  "pbuf_ring" },
	{ RF(recv_multishot), -1, 600, true, "multishot recv (IORING_RECV_MULTISHOT)",
	  "recv_multishot" },
	{ RF(send_zc), IORING_OP_SEND_ZC, 600, false, "IORING_OP_SEND_ZC", "send_zc" },
	{ RF(sendmsg_zc), IORING_OP_SENDMSG_ZC, 601, false, "IORING_OP_SENDMSG_ZC", "sendmsg_zc" },
};

#define RING_NFEATURES (sizeof(ring_feature_table) / sizeof(ring_feature_table[0]))

static bool *ring_flag(struct ring_features *f, size_t off)
{
	return (bool *)((char *)f + off);
}

static bool ring_has(const struct ring_features *f, size_t off)
{
	return *(const bool *)((const char *)f + off);
}

__attribute__((format(printf, 3, 4))) static void ring_err(char *err, size_t errlen,
							   const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Tries each setup mode in turn; says why the last one failed. */
static int ring_setup(struct io_uring *ring, unsigned entries, struct ring_features *f, char *err,
		      size_t errlen)
{
	int rc = -EINVAL;

	for (size_t i = 0; i < sizeof(ring_modes) / sizeof(ring_modes[0]); i++) {
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		p.flags = ring_modes[i] | IORING_SETUP_CQSIZE;
		p.cq_entries = entries * 2;
		rc = io_uring_queue_init_params(entries, ring, &p);
		if (rc == 0) {
			f->single_issuer = (p.flags & IORING_SETUP_SINGLE_ISSUER) != 0;
			f->defer_taskrun = (p.flags & IORING_SETUP_DEFER_TASKRUN) != 0;
			f->coop_taskrun = (p.flags & IORING_SETUP_COOP_TASKRUN) != 0;
			f->submit_all = (p.flags & IORING_SETUP_SUBMIT_ALL) != 0;
			return 0;
		}
		if (rc != -EINVAL)
			break;
	}
	switch (rc) {
	case -ENOSYS:
		ring_err(err, errlen,
			 "io_uring: io_uring_setup is not supported by this kernel "
			 "(Linux 5.1 has it; ringseed needs 6.0)");
		break;
	case -EPERM:
		ring_err(err, errlen,
			 "io_uring: io_uring_setup refused (EPERM): see sysctl "
			 "kernel.io_uring_disabled, or the seccomp policy of the container");
		break;
	case -ENOMEM:
		ring_err(err, errlen,
			 "io_uring: io_uring_setup(%u entries): out of memory "
			 "(or, before Linux 5.12, the locked memory limit: ulimit -l)",
			 entries);
		break;
	default:
		ring_err(err, errlen, "io_uring: io_uring_setup(%u entries): %s", entries,
			 strerror(-rc));
	}
	return rc;
}

/* Registers a one-entry buffer ring on page under RING_PROBE_BGID: the kernel has pbuf rings. */
static bool ring_probe_pbuf(struct io_uring *ring, void *page)
{
	struct io_uring_buf_reg reg;

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uintptr_t)page;
	reg.ring_entries = 1;
	reg.bgid = RING_PROBE_BGID;
	io_uring_buf_ring_init(page);
	return io_uring_register_buf_ring(ring, &reg, 0) == 0;
}

/*
 * Arms a multishot recv on an idle socket with the (empty) probe buffer group,
 * cancels it, and waits for both completions. Returns 0 with *ok set, or a
 * negative errno if the probe itself could not run.
 */
static int ring_probe_multishot(struct io_uring *ring, bool *ok)
{
	struct __kernel_timespec ts = { .tv_sec = 1 };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	bool recv_done = false, cancel_done = false;
	int sv[2], recv_res = 0, rc = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	sqe = ring_get_sqe(ring, NULL);
	if (!sqe) {
		rc = -EBUSY;
		goto out_close;
	}
	/* Multishot recv takes its length from the buffer: len must be 0. */
	io_uring_prep_recv_multishot(sqe, sv[0], NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = RING_PROBE_BGID;
	io_uring_sqe_set_data64(sqe, RING_PROBE_RECV);
	sqe = ring_get_sqe(ring, NULL);
	if (!sqe) {
		rc = -EBUSY;
		goto out_close;
	}
	io_uring_prep_cancel64(sqe, RING_PROBE_RECV, 0);
	io_uring_sqe_set_data64(sqe, RING_PROBE_CANCEL);
	rc = io_uring_submit(ring);
	if (rc < 0)
		goto out_close;
	rc = 0;
	for (int i = 0; i < RING_PROBE_MAX_CQES && !(recv_done && cancel_done); i++) {
		rc = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
		if (rc < 0)
			goto out_close;
		if (cqe->user_data == RING_PROBE_RECV && !(cqe->flags & IORING_CQE_F_MORE)) {
			recv_done = true;
			recv_res = cqe->res;
		} else if (cqe->user_data == RING_PROBE_CANCEL) {
			cancel_done = true;
		}
		io_uring_cqe_seen(ring, cqe);
	}
	if (!(recv_done && cancel_done))
		rc = -ETIMEDOUT;
	*ok = recv_res != -EINVAL;
out_close:
	close(sv[0]);
	close(sv[1]);
	return rc;
}

/* Fills f with the opcodes the kernel has and the results of the two probes by use. */
static int ring_probe(struct io_uring *ring, struct ring_features *f, char *err, size_t errlen)
{
	struct io_uring_probe *probe;
	void *page;
	long pagesz = sysconf(_SC_PAGESIZE);
	int rc = 0;

	probe = io_uring_get_probe_ring(ring);
	if (!probe) {
		ring_err(err, errlen,
			 "io_uring: IORING_REGISTER_PROBE is not supported by this kernel "
			 "(Linux 5.6 has it)");
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < RING_NFEATURES; i++)
		if (ring_feature_table[i].op >= 0)
			*ring_flag(f, ring_feature_table[i].off) =
				io_uring_opcode_supported(probe, ring_feature_table[i].op);
	io_uring_free_probe(probe);

	page = mmap(NULL, (size_t)pagesz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		    0);
	if (page == MAP_FAILED) {
		rc = -errno;
		ring_err(err, errlen, "io_uring: mmap for the buffer ring probe: %s",
			 strerror(-rc));
		return rc;
	}
	f->pbuf_ring = ring_probe_pbuf(ring, page);
	if (f->pbuf_ring && f->recv) {
		rc = ring_probe_multishot(ring, &f->recv_multishot);
		if (rc < 0)
			ring_err(err, errlen, "io_uring: multishot recv probe: %s", strerror(-rc));
	}
	if (f->pbuf_ring)
		io_uring_unregister_buf_ring(ring, RING_PROBE_BGID);
	munmap(page, (size_t)pagesz);
	return rc;
}

/* Names the required feature missing with the newest kernel: upgrading to it brings them all. */
static int ring_check(const struct ring_features *f, char *err, size_t errlen)
{
	const struct ring_feature *worst = NULL;
	unsigned missing = 0;

	for (size_t i = 0; i < RING_NFEATURES; i++) {
		const struct ring_feature *rf = &ring_feature_table[i];

		if (!rf->required || ring_has(f, rf->off))
			continue;
		missing++;
		if (!worst || rf->version > worst->version)
			worst = rf;
	}
	if (!worst)
		return 0;
	if (missing == 1)
		ring_err(err, errlen,
			 "io_uring: %s is not supported by this kernel (Linux %u.%u has it)",
			 worst->what, worst->version / 100, worst->version % 100);
	else
		ring_err(
			err, errlen,
			"io_uring: %s is not supported by this kernel (Linux %u.%u has it, and the "
			"%u other missing feature%s)",
			worst->what, worst->version / 100, worst->version % 100, missing - 1,
			missing > 2 ? "s" : "");
	return -EOPNOTSUPP;
}

int ring_init(struct io_uring *ring, unsigned entries, struct ring_features *f, char *err,
	      size_t errlen)
{
	int rc;

	memset(f, 0, sizeof(*f));
	ring_err(err, errlen, "%s", "");
	if (entries == 0 || entries > RING_MAX_ENTRIES) {
		ring_err(err, errlen, "io_uring: %u entries: must be 1 to %u", entries,
			 RING_MAX_ENTRIES);
		return -EINVAL;
	}
	rc = ring_setup(ring, entries, f, err, errlen);
	if (rc < 0)
		return rc;
	rc = ring_probe(ring, f, err, errlen);
	if (rc == 0)
		rc = ring_check(f, err, errlen);
	if (rc < 0)
		io_uring_queue_exit(ring);
	return rc;
}

/* Appends sep and word to buf at *pos, keeping it terminated and never past len. */
static void ring_word(char *buf, size_t len, size_t *pos, const char *sep, const char *word)
{
	int n;

	if (*pos >= len)
		return;
	n = snprintf(buf + *pos, len - *pos, "%s%s", sep, word);
	if (n > 0)
		*pos += (size_t)n;
}

void ring_describe(const struct ring_features *f, char *buf, size_t len)
{
	static const struct {
		size_t off;
		const char *name;
	} modes[] = {
		{ RF(single_issuer), "single_issuer" },
		{ RF(defer_taskrun), "defer_taskrun" },
		{ RF(coop_taskrun), "coop_taskrun" },
		{ RF(submit_all), "submit_all" },
	};
	size_t pos = 0, before;
	bool lacks = false;

	if (len == 0)
		return;
	buf[0] = '\0';
	ring_word(buf, len, &pos, "", "io_uring:");
	before = pos;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (ring_has(f, modes[i].off))
			ring_word(buf, len, &pos, " ", modes[i].name);
	if (pos == before)
		ring_word(buf, len, &pos, " ", "plain");
	for (size_t i = 0; i < RING_NFEATURES; i++)
		if (ring_has(f, ring_feature_table[i].off))
			ring_word(buf, len, &pos, " ", ring_feature_table[i].name);
	for (size_t i = 0; i < RING_NFEATURES; i++) {
		if (ring_has(f, ring_feature_table[i].off))
			continue;
		ring_word(buf, len, &pos, lacks ? " " : " (no ", ring_feature_table[i].name);
		lacks = true;
	}
	if (lacks)
		ring_word(buf, len, &pos, "", ")");
}

struct io_uring_sqe *ring_get_sqe(struct io_uring *ring, uint64_t *sq_full)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (sqe)
		return sqe;
	/* Full SQ: hand what is queued to the kernel and count it, it means the SQ is too small. */
	if (sq_full)
		(*sq_full)++;
	if (io_uring_submit(ring) < 0)
		return NULL;
	return io_uring_get_sqe(ring);
}
