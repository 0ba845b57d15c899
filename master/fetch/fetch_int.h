/*
 * fetch_int.h - what the fetcher's files share: the engine (fetch.c), the
 * peer protocol (fetch_peer.c), the piece picker (fetch_pick.c), the files
 * and resume state (fetch_store.c) and the tracker client (fetch_tracker.c).
 */
#ifndef RINGSEED_FETCH_INT_H
#define RINGSEED_FETCH_INT_H

#include <arpa/inet.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "master/fetch/fetch.h"
#include "proto/wire.h"

#define FETCH_PEER_ID_PREFIX "-RS0100-" /* as the seeder's (announce.h) */
#define FETCH_BLOCK	   16384u /* what every client requests (BEP 3 convention) */
#define FETCH_REQ_MAX	   128	  /* requests in flight to one peer at most */
#define FETCH_REQ_MIN	   8	  /* and at least, while it has what we want */
#define FETCH_REQQ_DEFAULT 128	  /* a peer that states no reqq (BEP 10) */
#define FETCH_ACTIVE_MAX   64	  /* pieces being assembled at once */
#define FETCH_ACTIVE_BYTES (128u << 20) /* and their buffers' bytes at most */
#define FETCH_RANDOM_FIRST 4	  /* random pieces until this many are complete (BEP 3) */
#define FETCH_RECV_BUF	   65536
#define FETCH_EXT_MAX	   4096 /* an extended handshake longer than this is skipped */
#define FETCH_ENDGAME_DUP  2	/* requests in flight for one block in the endgame */
#define FETCH_BAN_STRIKES  2	/* bad pieces of its own that get a peer banned */
#define FETCH_TICK_MS	   100
#define FETCH_CONNECT_MS   3000
#define FETCH_SAVE_MS	   1000 /* the .fetch state is written at most this often */
#define FETCH_UT_PEX	   2	/* our id for ut_pex in "m" (BEP 10: any 1..255) */

/* --- files and resume state (fetch_store.c) --- */

struct fetch_store {
	const struct metainfo *mi;
	int data_dirfd, state_dirfd;
	int *fds; /* per file; -1 for pad files */
	uint8_t *have;
	size_t bf_len;
	bool all_present; /* every file was there at its full size before we opened it */
	bool create;	  /* make and grow files; else a missing or short one is -ENOENT */
	bool sparse;	  /* grow files without fallocate (fetch.preallocate = sparse) */
};

int fst_open(struct fetch_store *s, const struct metainfo *mi, int data_dirfd, int state_dirfd,
	     bool create, bool sparse, char *err, size_t errlen);
void fst_close(struct fetch_store *s);
/* Fills s->have from the .fetch state or a verify of complete files; *count its bits. */
int fst_resume(struct fetch_store *s, uint32_t *count);
int fst_sync(struct fetch_store *s);
int fst_save(struct fetch_store *s);
int fst_finish(struct fetch_store *s, char *err, size_t errlen);

/* --- pieces --- */

enum fps {
	FPS_WANTED,  /* not here, not being fetched */
	FPS_ACTIVE,  /* blocks being fetched into act[] */
	FPS_WRITING, /* verified, writes in flight */
	FPS_HAVE,    /* verified and on disk */
};

enum fblk {
	FBLK_FREE, /* nobody asked for it */
	FBLK_REQ,  /* requested from one peer or more */
	FBLK_DONE, /* in the buffer */
};

#define FETCH_CONTRIB_MAX 4

/* A piece being assembled, then written. */
struct fpiece {
	bool used;
	uint32_t index, size, nblocks, done;
	uint8_t *buf;  /* the piece's bytes */
	uint8_t *blk;  /* enum fblk, per block */
	uint8_t *nreq; /* requests in flight, per block */
	int owner;     /* the source fetching it whole; -1: anyone */
	int16_t contrib[FETCH_CONTRIB_MAX]; /* sources that sent blocks of it */
	uint8_t n_contrib;
	bool many; /* more sources than contrib[] holds */
	uint32_t writes; /* writes in flight */
	int write_err;
};

/* --- peers --- */

/* An address we may connect to; a connection is a struct fpeer. */
struct fsource {
	struct conf_addr addr;
	int conn;	  /* peers[] slot, or -1 */
	uint64_t retry_ms; /* when to connect again */
	uint32_t fails;	  /* connects in a row that went nowhere */
	uint8_t strikes;  /* bad pieces it alone sent */
	bool banned;
	uint32_t excluded_piece; /* the piece that failed with it last; UINT32_MAX: none */
	bool inbound; /* it connected to us: never dialled, its slot reused once free */
};

/*
 * A connection's life:
 *   FREE -> CONNECTING (connect with a linked timeout) -> HANDSHAKE (ours
 *   sent, theirs awaited) -> ACTIVE (messages) -> CLOSING (shut down, ops
 *   still in flight; the slot is freed when the last completes) -> FREE
 */
enum fpeer_state {
	FPEER_FREE,
	FPEER_CONNECTING,
	FPEER_HANDSHAKE,
	FPEER_ACTIVE,
	FPEER_CLOSING,
};

struct freq {
	uint32_t piece, begin, length;
};

#define FETCH_UP_BATCH 8 /* blocks of one piece, back to back, read at once (fetch_up.c) */

/* What we upload to one peer (fetch_up.c, fetch_choke.c). */
struct fup {
	bool choking;	 /* we choke it (the start, BEP 3) */
	bool interested; /* it is interested in us */
	bool busy;	 /* reads in flight */
	struct freq q[FETCH_REQ_MAX]; /* its requests we will serve, oldest first */
	uint32_t n_q;
	struct freq cur[FETCH_UP_BATCH]; /* the blocks being read */
	uint32_t n_cur;
	struct iovec iov[FETCH_UP_BATCH];
	uint8_t *buf; /* per block: its piece header and bytes (FUP_SLOT apart) */
	uint32_t reads, got;
	int err;
};

struct fpeer {
	enum fpeer_state state;
	int fd, src;
	uint32_t gen;	  /* guards completions of an earlier connection in this slot */
	uint32_t ops;	  /* ring operations in flight */
	bool send_busy;
	uint8_t *out; /* messages to send; the first out_inflight bytes are in a send */
	size_t out_len, out_cap, out_inflight;
	uint8_t *in; /* FETCH_RECV_BUF */
	uint8_t hs[WIRE_HANDSHAKE_LEN];
	uint8_t hs_len;
	struct wire_dec dec;
	uint8_t *bits; /* what the peer has */
	uint32_t nbits;
	uint32_t n_wanted; /* of those, pieces we do not have yet */
	bool choked;	 /* the peer chokes us */
	bool interested; /* we told it so */
	bool fast;	 /* BEP 6 on both sides */
	uint32_t reqq, depth;
	struct freq req[FETCH_REQ_MAX];
	uint32_t n_req;
	/* The piece message being received. */
	uint8_t pm_hdr[8];
	uint8_t pm_hdr_n;
	uint32_t pm_len, pm_off;
	uint8_t *pm_dst; /* where its bytes go; NULL: dropped */
	struct freq pm_req; /* the request it answers, while pm_live */
	bool pm_live;
	int pm_act;
	/* Other variable messages being collected. */
	uint8_t *msg; /* bitfield or extended payload */
	uint32_t msg_len, msg_cap;
	bool msg_skip;
	uint64_t window_bytes, rate; /* bytes/s, over the last second */
	uint64_t last_data_ms;	     /* a block arrived, or requests started */
	uint64_t since_ms;
	uint8_t *out_old; /* out before it grew while a send of it was in flight */
	struct fup up;
};

enum fop {
	FOP_CONNECT = 1,
	FOP_TIMEOUT, /* the connect's linked timeout */
	FOP_RECV,
	FOP_SEND,
	FOP_WRITE,
	FOP_TICK,
	FOP_WEB, /* the web seeds' epoll fd is readable (fetch_web.c) */
	FOP_READ, /* a block we upload, from the files */
};

struct fetch_tracker;
struct fetch_web;

struct fetch {
	const struct fetch_opts *o;
	struct fetch_result *res;
	struct fetch_store st;
	struct io_uring ring;
	uint8_t peer_id[20];
	uint64_t rng;
	uint64_t now_ms;
	const struct metainfo *mi;
	uint8_t *ps;	/* enum fps, per piece */
	uint16_t *avail; /* peers connected that have each piece */
	struct fpiece act[FETCH_ACTIVE_MAX];
	uint32_t act_max;
	struct fsource src[FETCH_SOURCES_MAX];
	uint32_t n_src;
	struct fpeer peers[FETCH_SOURCES_MAX];
	uint32_t n_have, n_left_bytes;
	uint32_t request_timeout_ms;
	bool dirty;
	uint64_t saved_ms;
	int fail; /* a write error: the torrent stops */
	uint32_t fail_file, fail_piece; /* where it happened (fail_file UINT32_MAX: unknown) */
	struct __kernel_timespec tick_ts, connect_ts;
	struct fetch_tracker *trk;
	struct fetch_web *web; /* NULL: no web seeds */
	/* The first listen address when it is not a wildcard: peers and trackers see it. */
	struct conf_addr src_addr;
	bool bind_src;
	char src_host[INET6_ADDRSTRLEN];
	/* Uploading: inbound peers, and the choker's rounds (fetch_up.c, fetch_choke.c). */
	int channel_fd, listen_fd; /* -1: none */
	uint64_t choke_ms, optimistic_ms;
	int optimistic; /* peers[] slot unchoked optimistically; -1: none */
};

static inline uint64_t fetch_ud(enum fop op, uint32_t slot, uint32_t gen)
{
	return (uint64_t)op << 56 | (uint64_t)(slot & 0xffffff) << 32 | gen;
}

uint64_t fetch_rand(struct fetch *f);

/* fetch_pick.c */
bool fpick_has(const struct fpeer *p, uint32_t piece);
/* The next block for p: *act (act[] slot) and *block. False: nothing to ask p for. */
bool fpick_next(struct fetch *f, struct fpeer *p, int *act, uint32_t *block);
bool fpick_interesting(const struct fetch *f, const struct fpeer *p);
void fpick_release(struct fetch *f, const struct freq *r);
int fpick_find(const struct fetch *f, uint32_t piece);
/* A free act[] slot for piece, fetched whole by owner; -1: none. */
int fpick_activate(struct fetch *f, uint32_t piece, int owner);

/* fetch_peer.c */
void fpeer_input(struct fetch *f, struct fpeer *p, const uint8_t *buf, size_t len);
void fpeer_connected(struct fetch *f, struct fpeer *p);
void fpeer_fill(struct fetch *f, struct fpeer *p);
void fpeer_put(struct fetch *f, struct fpeer *p, const void *msg, size_t len);
void fpeer_drop(struct fetch *f, struct fpeer *p, enum fetch_counter why, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void fpeer_tick(struct fetch *f, struct fpeer *p);
void fpeer_broadcast_have(struct fetch *f, uint32_t piece);

/* fetch_pex.c: a ut_pex message's added contacts become sources. */
void fetch_pex_input(struct fetch *f, struct fpeer *p, const uint8_t *b, size_t n);

/* fetch.c, for fetch_peer.c and fetch_up.c */
void fetch_piece_complete(struct fetch *f, int act);
void fetch_piece_free(struct fpiece *a);
void fetch_send(struct fetch *f, struct fpeer *p);
void fetch_recv(struct fetch *f, struct fpeer *p);
void fetch_peer_reset(struct fpeer *p);

/*
 * fetch_up.c: uploading what is verified while fetching. Inbound peers come
 * from the master's channel (SCM_RIGHTS, their handshake read) or our own
 * listener; requests are served with io_uring reads into fup.buf, then sent.
 */
void fup_tick(struct fetch *f);
void fup_msg(struct fetch *f, struct fpeer *p, const struct wire_event *ev);
void fup_pump(struct fetch *f, struct fpeer *p);
void fup_on_read(struct fetch *f, struct fpeer *p, int res);
void fup_set_choke(struct fetch *f, struct fpeer *p, bool choke);
void fup_drop(struct fpeer *p);

/* fetch_choke.c: the seeds' tit-for-tat while fetching. */
void fchoke_tick(struct fetch *f);
void fchoke_interested(struct fetch *f, struct fpeer *p);
const char *fetch_src_name(const struct fetch *f, int src, char *buf, size_t cap);

/*
 * fetch_hash.c: 0 when the piece's bytes match its hash (SHA-1 for v1, the
 * BEP 52 merkle subtree for v2, both for hybrids); -EBADMSG when not, or
 * -ENOMEM.
 */
int fetch_piece_check(const struct metainfo *mi, uint32_t index, const uint8_t *buf,
		      uint32_t size);

/* fetch_disk.c: why the fetch stopped, for fetch_run's err (save_rc: fst_save's). */
void fetch_fail_text(const struct fetch *f, int rc, int save_rc, char *err, size_t errlen);

/* fetch_tracker.c: HTTP announces on the tick; new sources with fetch_add_source. */
int ftrk_init(struct fetch *f);
void ftrk_tick(struct fetch *f);
void ftrk_completed(struct fetch *f, uint64_t wait_ms);
void ftrk_close(struct fetch *f);
int fetch_add_source(struct fetch *f, const struct conf_addr *a);
/* fetch.c: a peer's address (4 or 16 bytes, by v6) and port as a source to add. */
int fetch_add_peer(struct fetch *f, bool v6, const uint8_t *addr, uint16_t port);

/*
 * fetch_web.c: BEP 19 web seeds, whole pieces by HTTP Range (libcurl multi on
 * this loop). In act[] and contrib[] a web seed is a negative id (-2 - n).
 */
uint32_t fweb_usable(const struct metainfo *mi);
int fweb_init(struct fetch *f);
void fweb_service(struct fetch *f); /* every pass of the loop: curl's timer, new jobs */
void fweb_on_poll(struct fetch *f, int res);
void fweb_bad_piece(struct fetch *f, int id, uint32_t piece, bool shared);
void fweb_close(struct fetch *f);

#endif
