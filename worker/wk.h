/*
 * wk.h - the worker's insides, shared by worker.c, peer.c, ext.c and send.c only.
 *
 * A peer's session (struct peer, its states and the events between them)
 * belongs to peer.c, drawn at the top of that file and declared in peer.h.
 *
 * Every operation in the ring names its peer by slot and generation in
 * user_data, so a completion for a slot that was reused is recognised.
 * One output operation is in flight per peer at a time (a control send or a
 * whole batch of blocks), so bytes on the wire never interleave.
 */
#ifndef RINGSEED_WK_H
#define RINGSEED_WK_H

#include <liburing.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <stdbool.h>
#include <stdint.h>

#include "iocore/bufring.h"
#include "iocore/ring.h"
#include "iocore/timer.h"
#include "proto/ext.h"
#include "proto/metainfo.h"
#include "proto/wire.h"
#include "worker/peer.h"
#include "worker/worker.h"

#define WK_BATCH_BLOCKS	 8    /* copy: piece messages per batch (one send) */
#define WK_SPLICE_BLOCKS 32   /* splice: piece messages per batch (one vmsplice) */
#define WK_SPLICE_IOV	 160  /* splice: header and extent pieces of one batch */
#define WK_BATCHES	 128  /* batches in flight per worker */
#define WK_MAX_EXTENTS	 64   /* files one block may span */
#define WK_CTL_MIN	 256  /* control bytes a peer starts with; grows on demand */
#define WK_RECV_BUFS	 1024 /* provided receive buffers shared by all peers */
#define WK_RECV_BUF_SIZE 4096
#define WK_PIPE_SIZE	 (512u << 10) /* splice: asked for; less is fine */
#define WK_HLOG_SIZE	 (256u << 10) /* splice: one chunk of the header log (20,164 headers) */
#define WK_TICK_MS	 1000	      /* how often each peer's timer looks at it */
#define WK_KEEPALIVE_MS	 90000	      /* send a keep-alive after this long without output */
#define WK_MAX_MSG	 (2u << 20)   /* longest message a peer may send (bitfields) */

/*
 * cold.c: content not in the page cache is read in by aligned runs before a
 * zero-copy batch touches it, so no page fault ever stalls the worker.
 */
#define WK_COLD_RUN	 (256u << 10) /* one read: an aligned run of a file */
#define WK_COLD_READS	 256	      /* reads in flight per worker, at most */
#define WK_COLD_PER_BATCH 8	      /* reads one batch waits on at once */
#define WK_COLD_ROUNDS	 4	      /* reads after which a batch goes anyway */

/*
 * ext.c: our id for BEP 9 ut_metadata in "m"; a metadata piece joins the
 * control bytes while they are fewer than WK_META_CTL_LOW, so the control
 * buffer may hold that many more than rejects alone need.
 */
#define WK_UT_METADATA_ID 3
#define WK_UT_PEX_ID	  1 /* pex.c: our id for BEP 11 ut_pex in "m" */
#define WK_PEX_MAX_MSG	  (8u << 10) /* longer ut_pex messages are skipped unread */
#define WK_META_CTL_LOW	  4096
#define WK_CTL_META	  (WK_META_CTL_LOW + EXT_META_HDR_CAP + EXT_META_PIECE)

enum wk_op {
	OP_RECV = 1,
	OP_CTL,	    /* a control send */
	OP_READ,    /* copy: reading a block's extent */
	OP_SEND,    /* copy: sending a batch */
	OP_SPLICE,  /* splice: waiting for room in the socket (POLLOUT) */
	OP_ZC,	    /* send_zc: a batch's sendmsg, then its notification */
	OP_CHANNEL, /* the master's channel is readable */
	OP_COLD,    /* cold.c: a run read into the page cache and mapped; the rest is cold.c's */
};

/* cold.c: one run of a file being read into the page cache. */
struct cold_read {
	int fd; /* -1: the entry is free */
	uint32_t len;
	uint64_t run; /* offset / WK_COLD_RUN */
};

/* A stretch of one file a zero-copy batch sends from its mapping (cold.c checks it). */
struct cold_span {
	uint32_t file, len;
	uint64_t off;
};

struct wk_torrent {
	uint32_t id;
	struct metainfo mi;
	uint8_t *have;
	bool complete;
	bool removed; /* freed when its last peer is */
	int *fds;     /* per file; -1 for empty and pad files */
	const uint8_t **maps; /* splice: per file, mapped read-only; NULL for none */
	/*
	 * BEP 52: per file, its piece layer's whole merkle tree, built at the
	 * first hash request for it, so that answers cost no hashing (NULL:
	 * not asked yet, or no memory: answered the slow way).
	 */
	uint8_t **trees;
	uint32_t peers;
	struct ss_torrent *ss; /* superseed.c: BEP 16 state; NULL when off */
	struct wpex_set *pex; /* pex.c: the torrent's peers on every worker (BEP 11) */
};

/*
 * splice: a chunk of the header log. Headers are appended, never rewritten;
 * a full chunk is retired and unmapped once no batch still has headers in it
 * that are not in its pipe yet (what is in a pipe holds its own page refs).
 */
struct hlog {
	uint8_t *base;
	uint32_t used;
	uint32_t refs; /* batches with headers here */
	bool retired;
};

struct batch {
	struct batch *next_free;
	struct peer *peer;
	uint8_t *buf;	/* copy: headers and blocks, back to back */
	uint32_t bytes; /* what the batch puts on the wire */
	uint32_t sent;
	uint32_t payload;
	uint32_t blocks;
	uint32_t ops; /* completions still due */
	uint64_t tx_ms; /* when bytes of it last went out; 0: none yet */
	uint64_t read_want, read_got;
	bool failed;
	int pipe[2];	   /* splice: created on first use, -1 before */
	uint32_t in_pipe;  /* splice: bytes in the pipe, not yet in the socket */
	uint32_t iov_at;   /* splice: the first iov not wholly in the pipe */
	uint32_t iov_n;
	struct iovec *iov; /* splice: WK_SPLICE_IOV pieces: header, extents, ... */
	struct hlog *hl[2]; /* splice: the log chunks its headers are in */
	struct msghdr msg;  /* send_zc: what the sendmsg in flight reads */
	uint32_t blen[WK_SPLICE_BLOCKS]; /* each block's length, to count what was sent */
	/* cold.c: the mapped stretches, and the reads the batch waits for */
	struct cold_span span[WK_SPLICE_IOV];
	uint32_t n_span;
	uint16_t cold_on[WK_COLD_PER_BATCH]; /* indexes into worker.cold */
	uint8_t cold_n;
	uint8_t cold_rounds;
	bool cold_held; /* waiting: holds one of ops and a peer reference */
	struct batch *next_cold; /* the worker's budget queue */
};

struct choke_cand;

struct wk_queue {
	struct peer *head, *tail;
};

struct worker {
	const struct worker_args *a;
	const struct conf *conf;
	struct io_uring ring;
	struct ring_features feat;
	struct bufring rx;
	struct tw_wheel wheel;
	struct peer *peers;   /* conf->max_peers slots */
	uint32_t *free_slots; /* stack of free slot numbers */
	uint32_t n_free;
	uint32_t n_open; /* not FREE */
	struct wk_torrent **tt;
	uint32_t n_tt;
	struct batch batches[WK_BATCHES];
	struct batch *free_batches;
	struct wk_queue batch_wait;   /* peers with requests, waiting for a batch */
	struct wk_queue unchoke_wait; /* interested peers, waiting for a slot */
	uint32_t unchoked; /* peers in SERVING, WAITING_BATCH, BATCH or WAITING_ROOM */
	uint8_t *batch_mem;
	struct iovec *iov_mem;
	struct hlog *hlog; /* splice: the header log chunk being appended to */
	const uint8_t *zeros; /* splice: a read-only run of zeros, for pad files */
	uint32_t zeros_len;
	struct peer *ready_head, *ready_tail; /* to pump at the end of the loop turn */
	struct cold_read cold[WK_COLD_READS];
	uint64_t cold_bytes; /* asked for by the reads in flight (serve.read_budget) */
	struct batch *cold_head, *cold_tail; /* waiting for budget, oldest first */
	uint8_t *cold_sink; /* where reads land: only the page cache copy matters */
	unsigned char *cold_vec; /* mincore() results for one span */
	size_t cold_vec_len;
	bool quitting;
	uint64_t quit_deadline_ms;
	bool channel_armed;
	bool channel_gone;
	bool channel_more; /* the last drain stopped at its cap: read on next turn */
	uint8_t peer_id[20];
	uint64_t ss_poll_ms; /* superseed.c: the next poll of waiting peers; UINT64_MAX: none */
	struct evp_cipher_st *rc4; /* libcrypto's RC4 (crypt.c); NULL: ringseed's own */
	struct choke ch;	   /* choke.c and pace.c */
	struct choke_cand *ch_cand;   /* choke.c: max_peers of them, ranked at each rechoke */
	struct worker_pub *ch_pubs;   /* choke.c: every worker's list, as read at a rechoke */
	bool rc4_probed;
	struct wpex_outq *pexq; /* pex.c: joins and leaves waiting for the master's channel */
};

/* user_data: op (8 bits) | generation (24 bits) | slot (32 bits) */
static inline uint64_t wk_ud(enum wk_op op, const struct peer *p)
{
	return ((uint64_t)op << 56) | ((uint64_t)(p->gen & 0xffffff) << 32) | p->slot;
}

static inline void wk_count(struct worker *w, enum wstat k, uint64_t n)
{
	__atomic_fetch_add(&w->a->stats->c[k], n, __ATOMIC_RELAXED);
}

/* One observation of histogram k (worker.h). */
static inline void wk_hist(struct worker *w, enum whist k, uint64_t v)
{
	static const uint64_t ttfb[] = WORKER_TTFB_BOUNDS, batch[] = WORKER_BATCH_BOUNDS;
	const uint64_t *le = k == WHIST_TTFB_MS ? ttfb : batch;
	unsigned n = k == WHIST_TTFB_MS ? WORKER_TTFB_N : WORKER_BATCH_N, i = 0;
	struct worker_hist *h = &w->a->stats->h[k];

	while (i < n && v > le[i])
		i++;
	__atomic_fetch_add(&h->bucket[i], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum, v, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
}

/* The peer that charged these address slots is gone (worker.h, WORKER_ADDR_SLOTS). */
static inline void wk_addr_put(struct worker *w, const uint32_t slot[2])
{
	uint32_t *live = worker_addr_live(w->a->stats, w->a->max_torrents);

	for (int i = 0; i < 2; i++)
		if (slot[i] < WORKER_ADDR_SLOTS)
			__atomic_fetch_sub(&live[slot[i]], 1, __ATOMIC_RELAXED);
}

/* A batch may start: one is free, and the upload cap allows (pace.c). */
static inline bool batch_available(const struct worker *w)
{
	return w->free_batches != NULL && pace_ok(w);
}

/* worker.c */
struct io_uring_sqe *wk_sqe(struct worker *w);
struct io_uring_sqe *wk_peer_sqe(struct worker *w, enum wk_op op, struct peer *p);
void wk_queue_push(struct wk_queue *q, struct peer *p);
struct peer *wk_queue_pop(struct wk_queue *q);
void wk_queue_remove(struct wk_queue *q, struct peer *p);
void wk_torrent_put(struct worker *w, struct wk_torrent *t);
void wk_ready(struct worker *w, struct peer *p);

/* ext.c */
ssize_t peer_ext_hello(struct worker *w, struct peer *p, uint8_t *out, size_t cap);
void peer_ext_feed(struct worker *w, struct peer *p, const struct wire_event *e);
void peer_ext_pump(struct worker *w, struct peer *p);
void peer_ext_seed(struct worker *w, struct peer *p, const char *why);
void peer_ext_free(struct peer *p);
size_t peer_ext_yourip(int fd, uint8_t out[16]);

/* pex.c */
uint8_t wpex_id(const struct worker *w, const struct wk_torrent *t);
void wpex_hello(struct worker *w, struct peer *p, const struct ext_peer_hs *hs);
void wpex_close(struct worker *w, struct peer *p);
void wpex_tick(struct worker *w, struct peer *p, uint64_t now);
bool wpex_accept(struct worker *w, struct peer *p, uint32_t len);
void wpex_message(struct worker *w, struct peer *p, const uint8_t *b, size_t n);
void wpex_channel(struct wk_torrent *t, const struct wmsg *msg);
void wpex_flush(struct worker *w);
void wpex_worker_free(struct worker *w);
void wpex_torrent_free(struct wk_torrent *t);

/* superseed.c (BEP 16) */
bool ss_intro(struct worker *w, struct peer *p, uint8_t *out, size_t *n);
bool ss_hidden(const struct peer *p);
void ss_have(struct worker *w, struct peer *p, uint32_t piece);
void ss_bits(struct worker *w, struct peer *p, const uint8_t *d, uint32_t n, uint32_t off);
void ss_heard(struct worker *w, struct peer *p);
bool ss_seed(struct worker *w, struct peer *p);
bool ss_request_ok(struct worker *w, struct peer *p, const struct wire_event *e);
void ss_pump(struct worker *w, struct peer *p);
void ss_tick(struct worker *w, struct peer *p);
uint64_t ss_poll(struct worker *w, uint64_t now);
void ss_peer_free(struct worker *w, struct peer *p);
void ss_attach(struct worker *w, uint32_t id, int fd, struct wk_torrent *t);
void ss_torrent_free(struct wk_torrent *t);

/* crypt.c */
int crypt_attach(struct worker *w, struct peer *p, const struct wmsg *msg);
void crypt_free(struct peer *p);
bool crypt_rc4(const struct peer *p);
void crypt_recv(struct peer *p, uint8_t *buf, size_t n);
void crypt_seal(struct peer *p, uint8_t *buf, size_t n);
void crypt_seal_ctl(struct peer *p);
void crypt_ctl_sent(struct peer *p, uint32_t n);
int crypt_up_stat(const struct peer *p);
int crypt_gather_init(void);
bool crypt_gathers(const struct peer *p);
int crypt_gather(struct peer *p, uint8_t *dst, const struct iovec *iov, uint32_t n);

/* send.c */
int batch_init(struct worker *w);
void batch_fini(struct worker *w);
void batch_start(struct worker *w, struct peer *p);
void batch_on_cqe(struct worker *w, struct peer *p, enum wk_op op, int res);
void batch_on_zc(struct worker *w, struct peer *p, int res, uint32_t flags);
void batch_go(struct worker *w, struct peer *p);

/* cold.c */
int cold_init(struct worker *w);
void cold_fini(struct worker *w);
bool cold_hold(struct worker *w, struct peer *p);
void cold_on_cqe(struct worker *w, uint64_t ud, int res);

#endif
