/*
 * piece_hash.c - parallel SHA-1 and SHA-256 merkle roots over a torrent's
 * pieces; see piece_hash.h.
 *
 * Work is handed out in batches of consecutive pieces (about 16 MiB each)
 * from one atomic counter, so each thread reads long sequential runs that
 * the kernel's readahead can follow, and fast threads take more batches.
 * Each thread has its own piece buffer, its own descriptor (and, for a
 * large file, mapping) of the file it is in, and its own hash contexts, so
 * threads share nothing but the batch counter and the progress counts.
 * With job->only, a batch's unselected pieces are skipped, so a recheck of
 * the pieces of one changed file reads that file and nothing else.
 *
 *   main thread:  start N hashers -> [draw progress every 200 ms] -> join
 *   hasher:       batch = next++ -> for each piece, each file extent in
 *                 it (mapped, read, or zeros): SHA-1 and/or SHA-256 leaves,
 *                 16 KiB at a time -> merkle subtree root
 *                 -> until no batches are left or another hasher failed
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "iocore/clock.h"
#include "iocore/bus_guard.h"
#include "master/content/piece_hash.h"
#include "proto/merkle.h"

#define PH_BATCH_BYTES (16u << 20)
#define PH_MAX_THREADS 256
/*
 * Files this large are hashed from a mapping of the page cache: pread()
 * copied every byte first, which took 38% of create's samples in perf
 * against 50% for the hashes (SHA extensions, warm data). Smaller ones are
 * read: a mapping costs system calls, and its unmapping a TLB flush on
 * every core the process runs on.
 */
#define PH_MAP_MIN (1u << 20)
/*
 * A thread maps a window of the file at a time, not the whole file: the
 * hashing runs inside the serving master, and unmapping a populated GiB
 * keeps the kernel busy with the process's mappings long enough to delay
 * its loop by 100 ms and more (seen in serve_verify_bg). 16 MiB, one batch,
 * unmaps in well under a millisecond.
 */
#define PH_WINDOW (16u << 20)

struct ph_shared {
	struct ph_job *job;
	uint64_t *offsets; /* where each file starts in the byte stream */
	uint64_t total;
	uint64_t goal; /* bytes of the selected pieces: what the progress bar counts */
	uint32_t batch_pieces;
	uint32_t batch_count;
	atomic_uint next_batch;
	atomic_uint_fast64_t done_bytes;
	atomic_uint done_pieces;
	atomic_bool failed;
	int failed_rc; /* the first failure's -errno, under err_lock */
	atomic_uint running;
	atomic_uint_fast64_t cpu_us; /* the hashers' CPU time, added as each ends */
	pthread_mutex_t err_lock;
	EVP_MD *sha1;	/* fetched once for every thread */
	bool mappable;	/* the SIGBUS guard is in place: large files may be mapped */
	uint64_t page;	/* mmap offsets are multiples of it */
};

struct ph_thread {
	struct ph_shared *sh;
	pthread_t tid;
	uint8_t *buf;
	uint8_t *leaves; /* piece_length / 16 KiB hashes (v2 only) */
	int fd;		 /* open descriptor of file fd_index, or -1 */
	uint32_t fd_index;
	bool mapped;	    /* file fd_index is read through windows (else pread) */
	const uint8_t *map; /* the window: map_len bytes from file offset map_off, or NULL */
	size_t map_len;
	uint64_t map_off;
	EVP_MD_CTX *sha1; /* one context per thread, reset for every piece */
	struct mk_sha sha256;
};

static double ph_now(void)
{
	return (double)clock_ns() / 1e9;
}

static bool ph_selected(const struct ph_job *job, uint32_t p)
{
	return !job->only || (job->only[p / 8] & (0x80u >> (p % 8)));
}

unsigned ph_cpu_count(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && (n = CPU_COUNT(&set)) > 0)
		return (unsigned)n;
	n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* The first failure is the one reported; the others stop quietly. */
__attribute__((format(printf, 3, 4))) static int ph_fail(struct ph_shared *sh, int rc,
							 const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&sh->err_lock);
	if (!atomic_exchange(&sh->failed, true)) {
		sh->failed_rc = rc;
		va_start(ap, fmt);
		vsnprintf(sh->job->err, sizeof(sh->job->err), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&sh->err_lock);
	return rc;
}

static void ph_close(struct ph_thread *t)
{
	if (t->map)
		munmap((void *)t->map, t->map_len);
	if (t->fd >= 0)
		close(t->fd);
	t->map = NULL;
	t->mapped = false;
	t->fd = -1;
}

/*
 * Points *src at length bytes at offset of file fd_index through a window
 * that covers them (mapping a new one if needed). Returns false if the
 * window cannot be mapped: then the bytes are read.
 */
static bool ph_window(struct ph_thread *t, uint64_t offset, size_t length, const uint8_t **src)
{
	uint64_t flen = t->sh->job->files[t->fd_index].length;
	uint64_t start = offset - offset % t->sh->page, len = PH_WINDOW;
	void *m;

	if (t->map && offset >= t->map_off && offset + length <= t->map_off + t->map_len) {
		*src = t->map + (offset - t->map_off);
		return true;
	}
	if (t->map)
		munmap((void *)t->map, t->map_len);
	t->map = NULL;
	if (len < offset + length - start)
		len = offset + length - start;
	if (len > flen - start)
		len = flen - start;
	m = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, t->fd, (off_t)start);
	if (m == MAP_FAILED)
		return false;
	/* Cold data: fault-ins read far ahead, as read(2) does after FADV_SEQUENTIAL. */
	(void)madvise(m, (size_t)len, MADV_SEQUENTIAL);
	t->map = m;
	t->map_len = (size_t)len;
	t->map_off = start;
	*src = t->map + (offset - start);
	return true;
}

/* Makes t->fd the descriptor of file i, checking the file has its size. */
static int ph_open(struct ph_thread *t, uint32_t i)
{
	const struct ph_file *f = &t->sh->job->files[i];
	struct stat st;
	int fd;

	if (t->fd >= 0 && t->fd_index == i)
		return 0;
	ph_close(t);
	/* O_NONBLOCK: a FIFO in the file's place must fail the size check, not hang. */
	fd = openat(t->sh->job->dirfd, f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return ph_fail(t->sh, -errno, "%s: %s", f->path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != f->length) {
		int rc = S_ISREG(st.st_mode) ? -EIO : -EINVAL;

		close(fd);
		if (rc == -EINVAL)
			return ph_fail(t->sh, rc, "%s: not a regular file", f->path);
		return ph_fail(t->sh, rc, "%s: size is %lld bytes, expected %llu", f->path,
			       (long long)st.st_size, (unsigned long long)f->length);
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	t->fd = fd;
	t->fd_index = i;
	t->mapped = t->sh->mappable && f->length >= PH_MAP_MIN;
	return 0;
}

/*
 * Points *src at length bytes at offset of file i: in the file's mapping,
 * or read into dst (zeros for a pad file).
 */
static int ph_bytes(struct ph_thread *t, uint32_t i, uint64_t offset, uint8_t *dst, size_t length,
		    const uint8_t **src)
{
	const struct ph_file *f = &t->sh->job->files[i];
	ssize_t n;
	int rc;

	*src = dst;
	if (f->zero) {
		memset(dst, 0, length);
		return 0;
	}
	rc = ph_open(t, i);
	if (rc)
		return rc;
	if (t->mapped && ph_window(t, offset, length, src))
		return 0;
	while (length > 0) {
		n = pread(t->fd, dst, length, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ph_fail(t->sh, -errno, "%s: read at offset %llu: %s", f->path,
				       (unsigned long long)offset, strerror(errno));
		if (n == 0)
			return ph_fail(t->sh, -EIO, "%s: ends early, at offset %llu", f->path,
				       (unsigned long long)offset);
		dst += n;
		offset += (uint64_t)n;
		length -= (size_t)n;
	}
	return 0;
}

/*
 * Feeds len bytes to the piece's SHA-1 and, with leaves, hashes them as BEP
 * 52 leaves too: 16 KiB at a time, so that the second hash reads the block
 * from L1 and the data crosses the memory bus once.
 */
static void ph_feed(struct ph_thread *t, const uint8_t *src, size_t len, uint8_t *leaves)
{
	bool sha1 = t->sh->job->digests != NULL;

	if (!leaves) {
		if (sha1)
			EVP_DigestUpdate(t->sha1, src, len);
		return;
	}
	for (size_t off = 0; off < len; off += MK_BLOCK_SIZE) {
		size_t n = len - off < MK_BLOCK_SIZE ? len - off : MK_BLOCK_SIZE;

		if (sha1)
			EVP_DigestUpdate(t->sha1, src + off, n);
		mk_sha256(&t->sha256, src + off, n, leaves + off / MK_BLOCK_SIZE * MK_HASH_LEN);
	}
}

/* ph_feed() from file fd_index's mapping: a SIGBUS there (file cut short) fails it. */
static int ph_feed_mapped(struct ph_thread *t, const uint8_t *src, size_t len, uint8_t *leaves)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0)) {
		bg_leave();
		return ph_fail(t->sh, -EIO, "%s: cannot be read (cut short while hashed, or an I/O error)",
			       t->sh->job->files[t->fd_index].path);
	}
	bg_enter(&jb);
	ph_feed(t, src, len, leaves);
	bg_leave();
	return 0;
}

/*
 * BEP 52: the piece's subtree root from its leaves in t->leaves, over the
 * bytes of file i (the first with bytes at pos) up to the file's end; what
 * follows in the piece is padding, not hashed.
 */
static void ph_piece_v2(struct ph_thread *t, uint32_t p, uint32_t i, uint64_t pos, uint64_t size)
{
	const struct ph_job *job = t->sh->job;
	uint8_t *out = job->digests_v2 + (size_t)p * MK_HASH_LEN;
	uint64_t end, bytes, leaves, width;

	if (i == job->file_count || job->files[i].zero) {
		memset(out, 0, MK_HASH_LEN);
		return;
	}
	end = t->sh->offsets[i] + job->files[i].length;
	bytes = end - pos < size ? end - pos : size;
	leaves = (bytes + MK_BLOCK_SIZE - 1) / MK_BLOCK_SIZE;
	width = mk_piece_width(job->files[i].length, job->piece_length, leaves);
	mk_reduce_sha(&t->sha256, t->leaves, (size_t)leaves, width, 0, out);
}

/* The first file that ends after pos (so it has bytes there). */
static uint32_t ph_file_at(const struct ph_shared *sh, uint64_t pos)
{
	uint32_t lo = 0, hi = sh->job->file_count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (sh->offsets[mid] + sh->job->files[mid].length <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Hashes piece p: streams its bytes from every file it covers. */
static int ph_piece(struct ph_thread *t, uint32_t p)
{
	struct ph_shared *sh = t->sh;
	const struct ph_job *job = sh->job;
	uint64_t pos = (uint64_t)p * job->piece_length;
	uint64_t size = sh->total - pos < job->piece_length ? sh->total - pos : job->piece_length;
	uint32_t lo = ph_file_at(sh, pos);
	const uint8_t *src;
	unsigned int mdlen;
	size_t got = 0;
	int rc;

	if (job->digests)
		EVP_DigestInit_ex2(t->sha1, sh->sha1, NULL);
	for (uint32_t i = lo; got < size && i < job->file_count; i++) {
		uint64_t off = pos + got - sh->offsets[i];
		uint64_t chunk = job->files[i].length - off;
		/* BEP 52 leaves: the bytes of the piece's first file (it starts the piece). */
		uint8_t *leaves = job->digests_v2 && i == lo ? t->leaves : NULL;

		if (job->files[i].length == 0)
			continue;
		if (chunk > size - got)
			chunk = size - got;
		rc = ph_bytes(t, i, off, t->buf + got, (size_t)chunk, &src);
		if (!rc && src != t->buf + got)
			rc = ph_feed_mapped(t, src, (size_t)chunk, leaves);
		else if (!rc)
			ph_feed(t, src, (size_t)chunk, leaves);
		if (rc)
			return rc;
		got += (size_t)chunk;
	}
	if (job->digests)
		EVP_DigestFinal_ex(t->sha1, job->digests + (size_t)p * SHA_DIGEST_LENGTH, &mdlen);
	if (job->digests_v2)
		ph_piece_v2(t, p, lo, pos, size);
	atomic_fetch_add(&sh->done_bytes, size);
	atomic_fetch_add(&sh->done_pieces, 1);
	if (sh->job->share)
		__atomic_fetch_add(&sh->job->share->done, size, __ATOMIC_RELAXED);
	return 0;
}

static void *ph_thread_main(void *arg)
{
	struct ph_thread *t = arg;
	struct ph_shared *sh = t->sh;
	struct rusage ru;
	unsigned b;

	while (!atomic_load(&sh->failed) &&
	       !(sh->job->share && __atomic_load_n(&sh->job->share->cancel, __ATOMIC_RELAXED)) &&
	       (b = atomic_fetch_add(&sh->next_batch, 1)) < sh->batch_count) {
		uint32_t first = b * sh->batch_pieces;
		uint32_t last = first + sh->batch_pieces;

		if (last > sh->job->piece_count)
			last = sh->job->piece_count;
		for (uint32_t p = first; p < last && !atomic_load(&sh->failed); p++) {
			if (ph_selected(sh->job, p) && ph_piece(t, p))
				break;
		}
	}
	ph_close(t);
	if (getrusage(RUSAGE_THREAD, &ru) == 0)
		atomic_fetch_add(&sh->cpu_us, (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
						      (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec));
	atomic_fetch_sub(&sh->running, 1);
	return NULL;
}

static void ph_human(double bytes, char *out, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	int u = 0;

	while (bytes >= 1024 && u < 5) {
		bytes /= 1024;
		u++;
	}
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

static void ph_draw(struct ph_shared *sh, double start, bool last)
{
	uint64_t done = atomic_load(&sh->done_bytes);
	double secs = ph_now() - start, rate = secs > 0 ? done / secs : 0;
	double frac = sh->goal ? (double)done / sh->goal : 1;
	char bar[31], d[16], t[16], r[16];
	int fill = (int)(frac * 30), eta = rate > 0 ? (int)((sh->goal - done) / rate) : 0;

	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = '\0';
	ph_human((double)done, d, sizeof(d));
	ph_human((double)sh->goal, t, sizeof(t));
	ph_human(rate, r, sizeof(r));
	fprintf(stderr, "\r%s [%s] %3d%% %s / %s  %s/s  ETA %d:%02d \033[K%s",
		sh->job->label ? sh->job->label : "hashing", bar, (int)(frac * 100), d, t, r,
		eta / 60, eta % 60, last ? "\n" : "");
}

static int ph_start(struct ph_shared *sh, struct ph_thread *threads, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		threads[i] = (struct ph_thread){ .sh = sh, .fd = -1 };
		threads[i].buf = malloc(sh->job->piece_length);
		threads[i].leaves = malloc((sh->job->piece_length / MK_BLOCK_SIZE + 1) * MK_HASH_LEN);
		threads[i].sha1 = EVP_MD_CTX_new();
		if (!threads[i].buf || !threads[i].leaves || !threads[i].sha1 ||
		    mk_sha_init(&threads[i].sha256))
			return ph_fail(sh, -ENOMEM, "out of memory for piece buffers");
	}
	for (unsigned i = 0; i < n; i++) {
		atomic_fetch_add(&sh->running, 1);
		int rc = pthread_create(&threads[i].tid, NULL, ph_thread_main, &threads[i]);
		if (rc) {
			atomic_fetch_sub(&sh->running, 1);
			/* Threads already started see the failure and stop. */
			ph_fail(sh, -rc, "cannot start a hashing thread: %s", strerror(rc));
			return (int)i;
		}
	}
	return (int)n;
}

/* The bytes and the number of the selected pieces. */
static uint64_t ph_goal(const struct ph_job *job, uint64_t total, uint32_t *count)
{
	uint64_t goal = 0;

	*count = job->piece_count;
	if (!job->only)
		return total;
	*count = 0;
	for (uint32_t p = 0; p < job->piece_count; p++) {
		uint64_t pos = (uint64_t)p * job->piece_length;

		if (!ph_selected(job, p))
			continue;
		goal += total - pos < job->piece_length ? total - pos : job->piece_length;
		(*count)++;
	}
	return goal;
}

int ph_run(struct ph_job *job)
{
	struct ph_shared sh = { .job = job, .err_lock = PTHREAD_MUTEX_INITIALIZER };
	struct ph_thread *threads = NULL;
	unsigned n = job->threads ? job->threads : ph_cpu_count();
	double start = ph_now();
	int started = 0, rc = -ENOMEM;
	uint32_t selected;

	job->err[0] = '\0';
	job->bytes = 0;
	job->pieces = 0;
	sh.offsets = malloc((job->file_count + 1) * sizeof(*sh.offsets));
	if (!sh.offsets)
		goto out;
	for (uint32_t i = 0; i < job->file_count; i++) {
		sh.offsets[i] = sh.total;
		sh.total += job->files[i].length;
	}
	sh.goal = ph_goal(job, sh.total, &selected);
	sh.page = (uint64_t)sysconf(_SC_PAGESIZE);
	sh.mappable = bg_install() == 0 && sysconf(_SC_PAGESIZE) > 0;
	sh.sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	if (!sh.sha1)
		goto out_offsets;
	if (job->share)
		__atomic_store_n(&job->share->goal, sh.goal, __ATOMIC_RELAXED);
	sh.batch_pieces =
		PH_BATCH_BYTES / job->piece_length ? PH_BATCH_BYTES / job->piece_length : 1;
	sh.batch_count = (job->piece_count + sh.batch_pieces - 1) / sh.batch_pieces;
	if (n > PH_MAX_THREADS)
		n = PH_MAX_THREADS;
	if (n > sh.batch_count)
		n = sh.batch_count;
	if (n > selected) /* a recheck of a few pieces needs few piece buffers */
		n = selected;
	if (n == 0)
		n = 1;
	threads = calloc(n, sizeof(*threads));
	if (!threads)
		goto out_offsets;
	started = ph_start(&sh, threads, n);
	while (job->progress && atomic_load(&sh.running) > 0) {
		ph_draw(&sh, start, false);
		nanosleep(&(struct timespec){ .tv_nsec = 200 * 1000 * 1000 }, NULL);
	}
	for (int i = 0; i < started; i++)
		pthread_join(threads[i].tid, NULL);
	if (job->progress)
		ph_draw(&sh, start, true);
	job->bytes = atomic_load(&sh.done_bytes);
	job->pieces = atomic_load(&sh.done_pieces);
	job->seconds = ph_now() - start;
	job->cpu_seconds = (double)atomic_load(&sh.cpu_us) / 1e6;
	job->threads_used = n;
	rc = atomic_load(&sh.failed) ? sh.failed_rc : 0;
	if (!rc && job->share && __atomic_load_n(&job->share->cancel, __ATOMIC_RELAXED)) {
		snprintf(job->err, sizeof(job->err), "cancelled");
		rc = -ECANCELED;
	}
	for (unsigned i = 0; i < n; i++) {
		free(threads[i].buf);
		free(threads[i].leaves);
		EVP_MD_CTX_free(threads[i].sha1);
		mk_sha_free(&threads[i].sha256);
	}
	free(threads);
out_offsets:
	EVP_MD_free(sh.sha1);
	free(sh.offsets);
out:
	if (rc == -ENOMEM && !job->err[0])
		snprintf(job->err, sizeof(job->err), "out of memory");
	return rc;
}
