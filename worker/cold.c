/*
 * cold.c - content not in the page cache: read it in before a zero-copy
 * batch touches it, so that no page fault ever stalls the worker.
 *
 * splice and send_zc hand the kernel pointers into the mapped files; a page
 * that is not resident is then read by a fault in the worker's own thread,
 * and every other peer of the worker waits for the disk meanwhile. So before
 * such a batch goes out, mincore() looks at the stretches it sends from
 * (mincore counts a page only once it is up to date, not while its read is
 * in flight). When one is out, the aligned WK_COLD_RUN around it is read
 * with an io_uring READ into a scratch buffer: the bytes that matter are the
 * page-cache copy the read leaves behind, and its completion says they are
 * there. The batch waits for its reads, holding its peer, while the worker
 * serves the others; then it looks again and goes.
 *
 * One read per run: a run already being read is joined, not read again, so
 * many peers asking for the same piece share one disk read. The bytes asked
 * for by reads in flight are bounded by serve.read_budget; a batch that
 * needs more waits in a FIFO until reads complete. A batch that still finds
 * a page out after WK_COLD_ROUNDS rounds of reads (memory so short that its
 * pages are evicted before it sends) goes anyway and is counted.
 *
 * The files are advised POSIX_FADV_RANDOM and MADV_RANDOM (worker.c): a
 * fault, if one still happens, then reads its page alone instead of a whole
 * read-ahead window, and our runs are read exactly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iocore/log.h"
#include "worker/wk.h"

#define COLD_PAGE    4096u
#define COLD_UD_READ (1ull << 32) /* in user_data: the read, not the madvise after it */

int cold_init(struct worker *w)
{
	size_t span = (size_t)WK_SPLICE_BLOCKS * w->conf->max_request * 2;

	for (int i = 0; i < WK_COLD_READS; i++)
		w->cold[i].fd = -1;
	w->cold_sink = malloc(WK_COLD_RUN);
	w->cold_vec_len = span / COLD_PAGE + 2;
	w->cold_vec = malloc(w->cold_vec_len);
	return w->cold_sink && w->cold_vec ? 0 : -ENOMEM;
}

void cold_fini(struct worker *w)
{
	free(w->cold_sink);
	free(w->cold_vec);
}

static int cold_find(const struct worker *w, int fd, uint64_t run)
{
	for (int i = 0; i < WK_COLD_READS; i++)
		if (w->cold[i].fd == fd && w->cold[i].run == run)
			return i;
	return -1;
}

static int cold_free_slot(const struct worker *w)
{
	for (int i = 0; i < WK_COLD_READS; i++)
		if (w->cold[i].fd < 0)
			return i;
	return -1;
}

static bool cold_waits_on(const struct batch *b, int idx)
{
	for (int i = 0; i < b->cold_n; i++)
		if (b->cold_on[i] == idx)
			return true;
	return false;
}

enum cold_need {
	COLD_OK,     /* the run is being read, and b waits for it (or b's list is full) */
	COLD_BUDGET, /* no read could be issued for it now */
};

/*
 * The read of a run, linked to an MADV_POPULATE_READ of the same bytes of the
 * mapping: the read brings them in with one I/O, then an io-wq thread maps
 * them into our page tables, so that vmsplice finds them mapped instead of
 * taking a minor fault per page in the worker's thread. Only the second
 * completes on success (CQE_SKIP_SUCCESS); a failed read completes too,
 * marked COLD_UD_READ, and its madvise then completes with -ECANCELED.
 */
static void cold_submit(struct worker *w, const struct wk_torrent *t, uint32_t file, int idx)
{
	const struct cold_read *r = &w->cold[idx];
	uint64_t off = r->run * WK_COLD_RUN;
	uint64_t ud = ((uint64_t)OP_COLD << 56) | (uint32_t)idx;
	struct io_uring_sqe *sqe;

	/* a link must not be cut by a submit between its two entries */
	if (io_uring_sq_space_left(&w->ring) < 2)
		io_uring_submit(&w->ring);
	sqe = wk_sqe(w);

	io_uring_prep_read(sqe, r->fd, w->cold_sink, r->len, off);
	io_uring_sqe_set_data64(sqe, ud | COLD_UD_READ);
	io_uring_sqe_set_flags(sqe, IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS);
	sqe = wk_sqe(w);
	io_uring_prep_madvise(sqe, (void *)(t->maps[file] + off), r->len, MADV_POPULATE_READ);
	io_uring_sqe_set_data64(sqe, ud);
}

/* Makes b wait for the read of run of file, issuing it if nobody has. */
static enum cold_need cold_need_run(struct worker *w, struct batch *b, const struct wk_torrent *t,
				    uint32_t file, uint64_t run)
{
	int fd = t->fds[file];
	int idx = cold_find(w, fd, run);
	uint64_t off = run * WK_COLD_RUN;
	uint64_t len = t->mi.files[file].length - off;

	if (b->cold_n == WK_COLD_PER_BATCH)
		return COLD_OK; /* the rest after these: the batch looks again */
	if (idx >= 0) {
		if (!cold_waits_on(b, idx)) {
			b->cold_on[b->cold_n++] = (uint16_t)idx;
			wk_count(w, WSTAT_COLD_SHARED, 1);
		}
		return COLD_OK;
	}
	if (len > WK_COLD_RUN)
		len = WK_COLD_RUN;
	idx = cold_free_slot(w);
	/* Over budget waits, but never when nothing is in flight: a small budget still moves. */
	if (idx < 0 || (w->cold_bytes && w->cold_bytes + len > w->conf->read_budget))
		return COLD_BUDGET;
	w->cold[idx] = (struct cold_read){ .fd = fd, .len = (uint32_t)len, .run = run };
	w->cold_bytes += len;
	b->cold_on[b->cold_n++] = (uint16_t)idx;
	wk_count(w, WSTAT_COLD_READS, 1);
	wk_count(w, WSTAT_COLD_READ_BYTES, len);

	cold_submit(w, t, file, idx);
	return COLD_OK;
}

/*
 * Looks at one span's pages; for each run with a page out, makes b wait for
 * its read. Returns -1 when a read could not be issued (budget), 0 otherwise.
 */
static int cold_check_span(struct worker *w, struct batch *b, const struct cold_span *s)
{
	const struct wk_torrent *t = b->peer->t;
	uint64_t start = s->off & ~(uint64_t)(COLD_PAGE - 1);
	uint64_t end = (s->off + s->len + COLD_PAGE - 1) & ~(uint64_t)(COLD_PAGE - 1);
	size_t pages = (size_t)((end - start) / COLD_PAGE);
	uint64_t last_run = UINT64_MAX;

	if (pages > w->cold_vec_len ||
	    mincore((void *)(t->maps[s->file] + start), end - start, w->cold_vec) != 0)
		return 0; /* cannot tell (cannot happen for our own mapping): send it */
	for (size_t i = 0; i < pages; i++) {
		uint64_t run = (start + i * COLD_PAGE) / WK_COLD_RUN;

		if ((w->cold_vec[i] & 1) || run == last_run)
			continue;
		last_run = run;
		if (cold_need_run(w, b, t, s->file, run) == COLD_BUDGET)
			return -1;
	}
	return 0;
}

static void cold_queue(struct worker *w, struct batch *b)
{
	b->next_cold = NULL;
	if (w->cold_tail)
		w->cold_tail->next_cold = b;
	else
		w->cold_head = b;
	w->cold_tail = b;
	wk_count(w, WSTAT_COLD_BUDGET, 1);
}

/*
 * Whether b must wait for content to be read in: true when it waits (on its
 * reads, or for budget) and will be sent by batch_go() when it is in.
 */
static bool cold_check(struct worker *w, struct batch *b)
{
	bool budget = false;

	b->cold_n = 0;
	if (b->failed || !b->blocks || b->cold_rounds >= WK_COLD_ROUNDS) {
		if (b->cold_rounds >= WK_COLD_ROUNDS)
			wk_count(w, WSTAT_COLD_GAVE_UP, 1);
		return false;
	}
	for (uint32_t i = 0; i < b->n_span && !budget; i++)
		budget = cold_check_span(w, b, &b->span[i]) < 0;
	if (b->cold_n == 0 && !budget)
		return false;
	if (b->cold_n == 0)
		cold_queue(w, b); /* a wait for budget is not a round of reads */
	else
		b->cold_rounds++;
	return true;
}

/* Before a zero-copy batch goes: true if it waits for reads (cold_on_cqe sends it later). */
bool cold_hold(struct worker *w, struct peer *p)
{
	struct batch *b = p->batch;

	b->cold_rounds = 0;
	if (!cold_check(w, b))
		return false;
	wk_count(w, WSTAT_COLD_WAITS, 1);
	b->cold_held = true;
	b->ops++;
	peer_hold(p);
	return true;
}

/* b's reads are in (or budget came free): look again, then send it or wait on. */
static void cold_resume(struct worker *w, struct batch *b)
{
	struct peer *p = b->peer;

	if (peer_open(p) && cold_check(w, b))
		return;
	b->cold_held = false;
	b->ops--;
	batch_go(w, p);
	peer_put(w, p);
}

void cold_on_cqe(struct worker *w, uint64_t ud, int res)
{
	uint32_t idx = (uint32_t)ud;
	struct cold_read *r = idx < WK_COLD_READS ? &w->cold[idx] : NULL;
	struct batch *ready = NULL;
	uint32_t pending = 0;

	if (!r || r->fd < 0) {
		log_alert("completion for a free cold read %u", idx);
		return;
	}
	if (ud & COLD_UD_READ) { /* it failed: its madvise completes next, cancelled */
		log_debug("cold read of run %llu: %s", (unsigned long long)r->run, strerror(-res));
		return;
	}
	if (res < 0 && res != -ECANCELED)
		log_debug("cold populate of run %llu: %s", (unsigned long long)r->run,
			  strerror(-res));
	w->cold_bytes -= r->len;
	r->fd = -1;
	for (int i = 0; i < WK_BATCHES; i++) {
		struct batch *b = &w->batches[i];

		for (int k = 0; b->cold_held && k < b->cold_n; k++) {
			if (b->cold_on[k] != idx)
				continue;
			b->cold_on[k] = b->cold_on[--b->cold_n];
			if (b->cold_n == 0) {
				b->next_cold = ready;
				ready = b;
			}
			break;
		}
	}
	while (ready) {
		struct batch *b = ready;

		ready = b->next_cold;
		cold_resume(w, b);
	}
	/* Batches that waited for budget, as many as were waiting now: a resumed one may queue again. */
	for (struct batch *b = w->cold_head; b; b = b->next_cold)
		pending++;
	while (pending-- && w->cold_head && w->cold_bytes < w->conf->read_budget) {
		struct batch *b = w->cold_head;

		w->cold_head = b->next_cold;
		if (!w->cold_head)
			w->cold_tail = NULL;
		cold_resume(w, b);
	}
}
