/*
 * worker.h - a worker process, as the master sees it.
 *
 * The master forks each worker and talks to it over a SOCK_SEQPACKET
 * socketpair: one struct wmsg per packet, ADD_TORRENT and PEER carrying a file
 * descriptor (SCM_RIGHTS). Packets on one channel arrive in order, so a PEER
 * for a torrent always follows that torrent's ADD_TORRENT. The one message
 * the other way is REMOVED, a worker's answer to REMOVE_TORRENT.
 *
 * Counters the master needs live in a shared mapping (struct worker_stats)
 * that only its worker writes (relaxed atomic stores) and the master reads.
 * A restarted worker gets a fresh channel and the master sends it every
 * torrent again; its counters carry on from where the dead one left them.
 */
#ifndef RINGSEED_WORKER_H
#define RINGSEED_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "proto/mse.h"
#include "proto/wire.h"

/* A peer handed to a worker comes with the handshake it sent, all of it. */
#define WORKER_HANDSHAKE_LEN WIRE_HANDSHAKE_LEN
/* Stream bytes the master may have read past an MSE peer's handshake (a sync over-read). */
#define WORKER_EXTRA_MAX 640

enum wmsg_type {
	WMSG_ADD_TORRENT = 1, /* fd: memfd holding the .torrent bytes, then the have bitfield */
	WMSG_REMOVE_TORRENT,  /* drop every peer of the torrent and close its files */
	WMSG_PEER,	      /* fd: a peer's socket, its handshake already read (and MSE done) */
	WMSG_QUIT,	      /* finish blocks in flight, close every peer, exit 0 */
	WMSG_SWARM,	      /* fd: memfd of the torrent's shared swarm area (struct worker_swarm) */
	/* Peer exchange (BEP 11; worker/pex.c, master/proc/pex.c): struct wmsg_pex. */
	WMSG_PEX_JOIN,	/* worker -> master: a peer others may be told about */
	WMSG_PEX_LEAVE, /* worker -> master: that peer is gone */
	WMSG_PEX_ADD,	/* master -> worker: a peer of the torrent, on any worker */
	WMSG_PEX_DEL,	/* master -> worker: that peer is gone */
	/*
	 * Worker to master, the answer to every REMOVE_TORRENT: the torrent's
	 * files are closed and unmapped, and no batch of it is in flight. The
	 * master holds a file lease until every worker has said so.
	 */
	WMSG_REMOVED,
	/*
	 * fd: a memfd of torrent_len records, each a struct wmsg_add_rec then
	 * its .torrent bytes and have bitfield: every torrent a worker starts
	 * with, in one message instead of one each (10,000 torrents).
	 */
	WMSG_ADD_TORRENTS,
};

struct wmsg_add_rec {
	uint32_t torrent; /* id */
	uint32_t torrent_len, have_len;
};

/* A peer exchange message's payload, in place of the handshake. */
struct wmsg_pex {
	uint64_t key;	   /* the origin worker's name for the peer: generation << 32 | slot */
	uint64_t id;	   /* ADD, DEL: the master's name for it, unique for its lifetime */
	uint16_t worker;   /* ADD: the origin worker's index */
	uint16_t port;	   /* JOIN, ADD: where it listens (BEP 10 "p") */
	uint8_t family;	   /* JOIN, ADD: 4 or 6 */
	uint8_t flags;	   /* JOIN, ADD: BEP 11 flags */
	uint8_t addr[16];  /* JOIN, ADD: its address as seen (IPv4 in the first 4 bytes) */
};

struct wmsg {
	uint32_t type;
	uint32_t torrent;     /* the torrent's id, unique for the master's lifetime */
	uint32_t torrent_len; /* ADD_TORRENT: bytes of .torrent at the start of the memfd */
	uint32_t have_len;    /* ADD_TORRENT: bytes of bitfield after them (BEP 3 order) */
	union {
		uint8_t handshake[WORKER_HANDSHAKE_LEN]; /* PEER: as the peer sent it (deciphered) */
		struct wmsg_pex pex;			 /* WMSG_PEX_* */
	};
	uint32_t addr_slot[2]; /* PEER: live counters its address charges (worker_addr_live) */
	uint8_t crypt;	       /* enum wmsg_crypt */
	uint16_t extra_len;    /* bytes after the handshake already read, deciphered */
	/*
	 * PEER after Message Stream Encryption: the ciphers where the master left
	 * them, and the bytes it read past the handshake. Only MSE peers carry
	 * these (wmsg_len): a plain hand-off stops before st.
	 */
	struct mse_stream st;
	uint8_t extra[WORKER_EXTRA_MAX];
};

enum wmsg_crypt {
	WCRYPT_NONE,	  /* a plain BitTorrent handshake */
	WCRYPT_MSE_PLAIN, /* MSE, then plaintext: the zero-copy paths stay */
	WCRYPT_RC4,	  /* MSE with RC4: the copy path, ciphered in the worker */
};

/* The bytes of msg that go over the channel: a plain peer's stop before the ciphers. */
static inline size_t wmsg_len(const struct wmsg *msg)
{
	if (msg->type >= WMSG_PEX_JOIN && msg->type <= WMSG_PEX_DEL)
		return offsetof(struct wmsg, addr_slot);
	if (msg->type != WMSG_PEER || (msg->crypt == WCRYPT_NONE && msg->extra_len == 0))
		return msg->type == WMSG_PEER ? offsetof(struct wmsg, st) : sizeof(*msg);
	return offsetof(struct wmsg, extra) + msg->extra_len;
}

/*
 * Live connections by peer address (per IP, then per subnet; the master's
 * addrcap.h picks the slots). The master adds one when it hands a peer over;
 * the worker takes it off when that peer's socket is closed, however it ends.
 */
#define WORKER_ADDR_SLOTS 131072u
#define WORKER_ADDR_NONE  UINT32_MAX

/* Upper bounds of the worker's loop-turn buckets in microseconds; the last is +Inf. */
#define WORKER_LOOP_LE	    { 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000, UINT32_MAX }
#define WORKER_LOOP_BUCKETS 10

/* Counters, cumulative since the master started (peers is a gauge). */
enum wstat {
	WSTAT_PEERS,		/* connected now */
	WSTAT_UP_BYTES,		/* payload bytes of piece messages sent */
	WSTAT_BLOCKS,		/* piece messages sent */
	WSTAT_REQUESTS,		/* valid requests received */
	WSTAT_REJECTS,		/* reject_request messages sent (BEP 6) */
	WSTAT_HASHES,		/* hashes messages sent (BEP 52) */
	WSTAT_HASH_REJECTS,	/* hash_reject messages sent (BEP 52) */
	WSTAT_HANDSHAKES,	/* peers taken from the master */
	WSTAT_DROP_PROTOCOL,	/* malformed or unexpected messages */
	WSTAT_DROP_BAD_REQUEST, /* invalid requests from peers without the Fast extension */
	WSTAT_DROP_FLOOD,	/* more than reqq requests queued */
	WSTAT_DROP_IDLE,	/* silent, or not reading, for idle_timeout */
	WSTAT_DROP_TOO_MANY,	/* the worker already held max_peers */
	WSTAT_DROP_IO,		/* a read of content or a send failed */
	WSTAT_SQ_FULL,		/* times the submission queue was full */
	WSTAT_META_PIECES,	/* ut_metadata pieces sent (BEP 9) */
	WSTAT_META_REJECTS,	/* ut_metadata rejects sent: out of range, or flood */
	WSTAT_META_FLOOD,	/* ut_metadata requests over a peer's allowance */
	WSTAT_DROP_SEED,	/* the peer is a seed too (have_all, full bitfield, upload_only) */
	WSTAT_DROP_BAD_EXT,	/* malformed extended handshake or ut_metadata message */
	WSTAT_UP_BYTES_MSE_PLAIN, /* of UP_BYTES: to peers that chose plaintext after MSE */
	WSTAT_UP_BYTES_RC4,	  /* of UP_BYTES: to RC4 peers */
	WSTAT_SS_REVEALS,	  /* super-seeding (BEP 16): pieces revealed with have */
	WSTAT_SS_TIMEOUTS,	  /* of those: revealed after the timeout, not a sighting */
	WSTAT_SS_REFUSED,	  /* requests for pieces not revealed to the peer */
	WSTAT_SS_PLAIN,		  /* auto: peers made plain by asking for a piece not revealed */
	WSTAT_SS_LIARS,		  /* peers whose claims were found false, then ignored */
	WSTAT_SS_OFF,		  /* auto: a torrent's super-seeding turned off (another seed) */
	WSTAT_UNCHOKES,		/* unchoke messages sent (choke.c) */
	WSTAT_CHOKES,		/* peers choked again by a rechoke */
	WSTAT_RECHOKES,		/* rechokes run (serve.choker other than all, or slots) */
	WSTAT_OPTIMISTIC,	/* optimistic unchokes (choker = fastest) */
	WSTAT_ALLOWED_FAST,	/* blocks served to choked peers from their allowed fast set */
	WSTAT_THROTTLED,	/* batches delayed by serve.max_upload_rate */
	WSTAT_PEX_SENT,		/* ut_pex messages sent (BEP 11) */
	WSTAT_PEX_RECEIVED,	/* ut_pex messages received, well-formed (and ignored) */
	WSTAT_PEX_BAD,		/* ut_pex messages received malformed or too long (ignored) */
	WSTAT_PEX_FLOOD,	/* ut_pex messages over a peer's allowance, not read */
	WSTAT_PEX_LOST,		/* joins or leaves the master's channel had no room for */
	WSTAT_COLD_WAITS,	/* batches that waited for content to be read in (cold.c) */
	WSTAT_COLD_READS,	/* reads of cold runs issued */
	WSTAT_COLD_READ_BYTES,	/* bytes those reads asked for */
	WSTAT_COLD_SHARED,	/* times a batch joined a read already in flight */
	WSTAT_COLD_BUDGET,	/* times a batch waited for serve.read_budget */
	WSTAT_COLD_GAVE_UP,	/* batches sent after WK_COLD_ROUNDS reads still left a page out */
	WSTAT_LOOP_TURNS,	/* loop turns that handled something */
	WSTAT_LOOP_US,		/* their time in microseconds, summed */
	WSTAT_LOOP_LE0,		/* turns by duration, one counter per WORKER_LOOP_LE bucket */
	WSTAT_MAX = WSTAT_LOOP_LE0 + WORKER_LOOP_BUCKETS
};

/*
 * Histograms, as cheap as counters: each worker adds to its own buckets (not
 * cumulative; the master sums the workers' and makes them cumulative for
 * /metrics). Upper bounds below; the last bucket is +Inf.
 *  - time to first byte: from a peer's arrival in the worker to the end of
 *    the send that carried its first piece message, in milliseconds;
 *  - batch size: piece messages that left in one send batch.
 */
#define WORKER_TTFB_BOUNDS  { 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000 }
#define WORKER_TTFB_N	    12
#define WORKER_BATCH_BOUNDS { 1, 2, 4, 8, 16, 32 }
#define WORKER_BATCH_N	    6

struct worker_hist {
	uint64_t bucket[WORKER_TTFB_N + 1]; /* the larger of the two; +Inf last used */
	uint64_t sum, count;
};

enum whist { WHIST_TTFB_MS, WHIST_BATCH_BLOCKS, WHIST_MAX };

struct worker_stats {
	uint64_t c[WSTAT_MAX];
	struct worker_hist h[WHIST_MAX];
	/*
	 * Payload bytes sent, by torrent id modulo max_torrents; then as many
	 * gauges of peers connected, by the same index (worker_torrent_peers).
	 */
	uint64_t torrent_up[];
	/* then WORKER_ADDR_SLOTS uint32_t counters (worker_addr_live) */
};

/*
 * What the workers of one box share to act as one box (choke.c): each
 * worker's candidates for an unchoke slot, published at every rechoke so
 * that every worker takes its share of serve.unchoke_slots, and the upload
 * bucket of serve.max_upload_rate. The master maps it before forking; a
 * worker writes only its own pub[index] (under its seq, odd while it
 * writes) and the bucket (atomically); every worker reads all of it.
 */
#define WORKER_PUB_MAX 64 /* best scores a worker publishes */

struct worker_pub {
	uint32_t seq;	      /* odd while being written */
	uint32_t candidates;  /* interested peers of this worker */
	uint64_t epoch;	      /* the rechoke these scores are for */
	uint32_t n;	      /* scores in score[] */
	uint32_t opt;	      /* peers that could take the optimistic unchoke */
	uint64_t score[WORKER_PUB_MAX]; /* best first */
};

struct worker_shared {
	int64_t tokens;	    /* upload bucket, bytes; negative: in debt */
	uint64_t refill_ns; /* when it was last refilled */
	uint64_t spare;	    /* slots of no worker's share taken: rechoke epoch << 32 | taken */
	struct worker_pub pub[]; /* one per worker */
};

static inline size_t worker_shared_size(unsigned workers)
{
	return sizeof(struct worker_shared) + workers * sizeof(struct worker_pub);
}

struct worker_args {
	unsigned index; /* 0..workers-1, also the CPU it is pinned to (modulo CPUs) */
	int channel;	/* the worker's end of its socketpair */
	int data_dirfd; /* content is opened relative to this */
	const struct conf *conf;
	struct worker_stats *stats;
	uint32_t max_torrents;
	struct worker_shared *shared; /* the box's (see above) */
	unsigned workers;	      /* how many share it */
};

/* Runs a worker in the process just forked; returns the exit status. */
int worker_main(const struct worker_args *a);

/* Bytes of shared memory one worker's stats take. */
static inline unsigned long worker_stats_size(uint32_t max_torrents)
{
	return sizeof(struct worker_stats) + 2ul * max_torrents * sizeof(uint64_t) +
	       WORKER_ADDR_SLOTS * sizeof(uint32_t);
}

/* Peers connected now, by torrent id modulo max_torrents. */
static inline uint64_t *worker_torrent_peers(struct worker_stats *s, uint32_t max_torrents)
{
	return s->torrent_up + max_torrents;
}

/* Connections live now, by address slot (WMSG_PEER's addr_slot). */
static inline uint32_t *worker_addr_live(struct worker_stats *s, uint32_t max_torrents)
{
	return (uint32_t *)(s->torrent_up + 2ul * max_torrents);
}

/*
 * Super-seeding (BEP 16) needs piece availability across workers: each
 * torrent has one shared area, made by the master at its first ADD_TORRENT
 * (sized then: a row per worker, two counters per piece) and sent to every
 * worker after it (WMSG_SWARM). The master writes only the header's
 * tracker_seeds; worker i writes only row i; whoever decides sums the rows.
 */
struct worker_swarm {
	uint32_t pieces, workers;
	uint32_t tracker_seeds; /* master: the highest `complete` a tracker gave; 0: unknown */
	uint32_t pad;
};

struct worker_swarm_row {
	uint32_t seeds;	   /* other seeds connected to this worker now */
	uint32_t leechers; /* the other peers of the torrent connected to this worker now */
	uint32_t pad[2];
	uint32_t cnt[];	 /* per piece: [2i] peers that have it, [2i+1] revealed, not yet had */
};

static inline size_t worker_swarm_row_size(uint32_t pieces)
{
	return sizeof(struct worker_swarm_row) + 2ul * pieces * sizeof(uint32_t);
}

static inline size_t worker_swarm_size(uint32_t pieces, uint32_t workers)
{
	return sizeof(struct worker_swarm) + (size_t)workers * worker_swarm_row_size(pieces);
}

static inline struct worker_swarm_row *worker_swarm_row(struct worker_swarm *s, uint32_t i)
{
	return (struct worker_swarm_row *)((uint8_t *)(s + 1) + i * worker_swarm_row_size(s->pieces));
}

#endif
