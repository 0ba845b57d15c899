/*
 * choke.h - who is unchoked (serve.choker, serve.unchoke_slots), allowed
 * fast sets (BEP 6) and the box's upload cap (serve.max_upload_rate).
 *
 * peer.c keeps the states; choke.c decides when a peer moves between the
 * unchoked states and CHOKED / WAITING_SLOT, and how many slots this worker
 * may fill (choke_room). The per-peer part lives in struct peer (ch), the
 * per-worker part in struct worker (ch).
 */
#ifndef RINGSEED_CHOKE_H
#define RINGSEED_CHOKE_H

#include <stdbool.h>
#include <stdint.h>

#include "iocore/timer.h"

struct peer;
struct worker;
struct wire_event;

struct peer_choke {
	uint64_t since_ms;	  /* last choked or unchoked (or admitted): waits count from it */
	uint64_t sent;		  /* payload bytes sent to it */
	uint64_t sent_at_unchoke; /* sent when it was last unchoked (round_robin's quota) */
	uint64_t sent_at_pub;	  /* sent at the last publish (fastest's rate) */
	uint64_t rate;		  /* bytes/s over the last rechoke interval */
	uint64_t last_opt_ms;	  /* its last optimistic unchoke; 0: never */
	uint32_t have_n;	  /* pieces it says it has (bitfield, have) */
	uint32_t pub_epoch;	  /* the last rechoke whose lists it is in */
	uint32_t *af;		  /* its allowed fast set (BEP 6), af_n pieces */
	uint32_t af_n;
	uint32_t pool_round; /* pooled: the round whose pool it drew from */
	bool pooled;	     /* holds a slot of the pool (choke.c), given back when it leaves */
	bool optimistic;     /* holds this round's optimistic unchoke */
	bool choke_pending;  /* choke it when its batch in flight ends */
	bool fast_serving;   /* choked, serving its allowed fast requests (holds no slot) */
};

struct choke {
	struct tw_timer timer; /* rechoke: publish at each interval, decide a little later */
	struct tw_timer pacer; /* max_upload_rate: hands out batches as the bucket refills */
	bool deciding;	       /* the timer's next firing decides (else publishes) */
	uint32_t unclaimed;    /* the last round's slots beyond every candidate (the spare pool) */
	uint32_t round;	       /* the epoch of the last decision; 0: none yet */
	uint64_t epoch;	       /* of the last publish */
	uint64_t pub_ms;       /* when */
	uint32_t allowance;    /* unchoked peers this worker may hold, optimistic excluded */
	uint64_t opt_round;    /* the optimistic round this worker's pick belongs to */
};

/* The slot policy is in force (anything but "all" with unlimited slots). */
bool choke_limited(const struct worker *w);
/* An interested peer may be unchoked now, between rechokes. */
bool choke_room(const struct worker *w);

int choke_setup(struct worker *w);
void choke_fini(struct worker *w);
/* Takes tm if it is one of the worker's choke timers. */
bool choke_on_timer(struct worker *w, struct tw_timer *tm);

/* Peer hooks, from peer.c, ext.c and send.c. */
void choke_admit(struct worker *w, struct peer *p, const uint8_t info_hash[20]);
void choke_free(struct peer *p);
bool choke_unchoked(struct worker *w, struct peer *p);
void choke_slot_freed(struct worker *w, struct peer *p);
void choke_choked(struct worker *w, struct peer *p);
void choke_enter(struct worker *w, struct peer *p, int from); /* from: enum peer_state */
bool choke_allowed(const struct peer *p, uint32_t piece);
void choke_have(struct peer *p, uint32_t piece);
void choke_bits(struct peer *p, const uint8_t *d, uint32_t n);
void choke_sent(struct worker *w, struct peer *p, uint32_t blocks, uint64_t payload);

/* pace.c: the box's upload bucket (serve.max_upload_rate), shared by its workers. */
bool pace_ok(const struct worker *w);		    /* a batch may start */
void pace_charge(struct worker *w, uint64_t bytes); /* a batch of this many bytes started */
void pace_init(struct worker *w);
bool pace_on_timer(struct worker *w, struct tw_timer *tm);

#endif
