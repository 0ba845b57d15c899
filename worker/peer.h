/*
 * peer.h - one peer's session, owned by peer.c (the diagram is at its top).
 *
 * Only peer.c changes a peer's state, and only through peer_advance().
 * worker.c hands it completions and end-of-turn pumps; send.c reports a
 * batch's end through peer_on_batch_done().
 */
#ifndef RINGSEED_PEER_H
#define RINGSEED_PEER_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#include "iocore/timer.h"
#include "proto/wire.h"
#include "worker/choke.h"
#include "worker/pex.h"

struct batch;
struct wmsg;
struct peer_ext; /* ext.c: metadata requests waiting, a split extended message */
struct ss_peer;	 /* superseed.c: what it was shown and said it has (BEP 16) */
struct worker;
struct wk_torrent;

enum peer_state {
	PEER_FREE,	   /* the slot holds no peer */
	PEER_INTRO,	   /* our handshake, have_all or bitfield and extended handshake are
			      going out; what the peer says is read, its interest remembered */
	PEER_CHOKED,	   /* the intro is out; the peer is not interested: nothing to serve,
			      its requests rejected (BEP 6) or dropped (BEP 3) */
	PEER_WAITING_SLOT, /* interested, every unchoke slot taken: in the worker's unchoke
			      queue, longest-waiting first */
	PEER_SERVING,	   /* unchoked, no batch: queued requests are served when the peer is
			      pumped (at the end of the loop turn that brought them) */
	PEER_WAITING_BATCH, /* unchoked, requests queued, the worker's batch pool empty: in the
			       batch queue, readied when a batch comes free */
	PEER_BATCH,	   /* unchoked, a batch of piece messages in flight (send.c) */
	PEER_WAITING_ROOM, /* splice: the batch stopped on a full socket; POLLOUT is armed and
			      send.c pushes again when it fires */
	PEER_CLOSING,	   /* socket shut down; waits for its last operation to complete */
	PEER_STATE_MAX
};

/* What moves a peer from one state to another (peer_advance). */
enum peer_event {
	PEV_ADMIT,	 /* the master handed the socket over */
	PEV_INTRO_SENT,	 /* the intro's last byte went out */
	PEV_INTERESTED,	 /* the peer said interested */
	PEV_SLOT_FREE,	 /* an unchoke slot came free and this peer waited longest */
	PEV_SERVE,	 /* pumped with requests queued and no output in flight */
	PEV_BATCH_FREE,	 /* a batch came free and this peer waited longest */
	PEV_SOCKET_FULL, /* send.c: the batch waits for room in the socket */
	PEV_BATCH_DONE,	 /* send.c: the batch is all out */
	PEV_CLOSE,	 /* any end: error, EOF, idle, flood, removal, shutdown */
	PEV_LAST_OP,	 /* a closing peer's last operation completed */
	PEV_CHOKE,	 /* a rechoke took its slot (choke.c) */
};

/* What send.c reports of a batch (peer_on_batch_done). */
enum batch_result {
	BATCH_SENT,	    /* every byte is in the socket (send_zc: the pages are let go) */
	BATCH_SOCKET_FULL,  /* splice: stopped on a full socket, POLLOUT armed */
	BATCH_FAILED,	    /* a read or send failed, or the peer went away meanwhile */
};

struct block_req {
	uint32_t piece, begin, length;
};

struct peer {
	enum peer_state state;
	uint32_t slot, gen;
	int fd;
	struct wk_torrent *t;
	struct wire_dec dec;
	/* What the peer told us; inputs to the machine, not its state. */
	bool fast, ext;	 /* its handshake's reserved bits (BEP 6, BEP 10) */
	bool interested; /* its last interested / not interested */
	uint8_t hreq_len; /* bytes of a hash_request payload gathered in hreq (BEP 52) */
	uint8_t hreq[WIRE_HASH_REQ_LEN];
	/* Operations and list links; each is owned by one operation or list. */
	bool recv_armed;  /* the multishot receive is armed */
	bool sending_ctl; /* an OP_CTL send (intro or control) is in flight */
	bool ready;	  /* on the worker's ready list, to be pumped at the end of the turn */
	uint32_t ops;	  /* operations and lists holding the slot: peer_hold/peer_put only */
	/*
	 * Requests queued: q[(q_head + i) % reqq] for i < q_len, as send.c pops
	 * them. The buffer holds q_cap of them: none until the first request, then
	 * it doubles on demand up to reqq. While q_cap < reqq the queue never
	 * wraps (q_head + q_len <= q_cap); at reqq it is a plain ring (peer.c).
	 */
	uint32_t q_cap; /* here, it fills the hole before q */
	struct block_req *q;
	uint32_t q_head, q_len;
	int64_t drr_deficit; /* send.c: bytes it may still send this round (drr.h) */
	struct batch *batch; /* send.c's, while one is taken */
	uint8_t *intro;	     /* first output: handshake, bitfield, extended handshake */
	uint32_t intro_len;
	uint8_t *ctl; /* control messages waiting; grows to hold reqq rejects */
	uint32_t ctl_len, ctl_cap, ctl_inflight;
	uint8_t *ctl_old; /* the buffer a send in flight still reads, after a grow */
	struct tw_timer timer;
	uint64_t last_rx_ms, last_tx_ms; /* last_tx_ms: also see the batch's */
	uint64_t admit_ms; /* when it arrived; 0 once its first block went out (WHIST_TTFB_MS) */
	struct peer *next_wait;		 /* unchoke or batch queue */
	struct peer *next_ready;	 /* the worker's ready list */
	struct peer_ext *x;		 /* ext.c, taken on first need */
	uint8_t ut_metadata;		 /* the peer's id for ut_metadata (BEP 9); 0 = none */
	bool bf_full;			 /* its bitfield so far has every piece */
	uint32_t addr_slot[2];		 /* live counters its address charges, given back at close */
	struct wk_crypt *crypt;		 /* MSE peers only (crypt.c) */
	struct ss_peer *ss;		 /* super-seeding (superseed.c); NULL when off */
	struct peer_choke ch;		 /* choke.c: slot, rates, allowed fast set */
	struct wpex_peer pex;		 /* peer exchange (pex.c) */
};

/* Open: neither free nor closing. */
static inline bool peer_open(const struct peer *p)
{
	return p->state != PEER_FREE && p->state != PEER_CLOSING;
}

/* The one output operation a peer may have: a control send or a batch. */
static inline bool peer_output_busy(const struct peer *p)
{
	return p->sending_ctl || p->state == PEER_BATCH || p->state == PEER_WAITING_ROOM;
}

void peer_admit(struct worker *w, int fd, struct wk_torrent *t, const struct wmsg *msg);
void peer_on_recv(struct worker *w, struct peer *p, const struct io_uring_cqe *cqe);
void peer_on_ctl(struct worker *w, struct peer *p, int res);
void peer_on_batch_done(struct worker *w, struct peer *p, enum batch_result result);
void peer_close(struct worker *w, struct peer *p, int stat);
bool peer_ctl(struct worker *w, struct peer *p, const uint8_t *m, size_t n);
void peer_pump(struct worker *w, struct peer *p);
void peer_timer(struct tw_timer *t, void *arg);
void peer_hold(struct peer *p);
void peer_put(struct worker *w, struct peer *p);
void peer_advance(struct worker *w, struct peer *p, enum peer_event ev);

#endif
