/*
 * worker.h - a worker process, as the master sees it.
 *
 * The master forks each worker and talks to it over a SOCK_SEQPACKET
 * socketpair: one struct wmsg per packet, ADD_TORRENT and PEER carrying a file
 * descriptor (SCM_RIGHTS). Packets on one channel arrive in order, so a PEER
 * for a torrent always follows that torrent's ADD_TORRENT.
 *
 * Counters the master needs live in a shared mapping (struct worker_stats)
 * that only its worker writes (relaxed atomic stores) and the master reads.
 * A restarted worker gets a fresh channel and the master sends it every
 * torrent again; its counters carry on from where the dead one left them.
 */
#ifndef RINGSEED_WORKER_H
#define RINGSEED_WORKER_H

#include <stdint.h>

#include "conf/conf.h"

#define WORKER_HANDSHAKE_LEN 68 /* BEP 3: 1 + 19 + 8 + 20 + 20 */

enum wmsg_type {
	WMSG_ADD_TORRENT = 1, /* fd: memfd holding the .torrent bytes, then the have bitfield */
	WMSG_REMOVE_TORRENT,  /* drop every peer of the torrent and close its files */
	WMSG_PEER,	      /* fd: a peer's socket, its handshake already read */
	WMSG_QUIT,	      /* finish blocks in flight, close every peer, exit 0 */
};

struct wmsg {
	uint32_t type;
	uint32_t torrent;     /* the torrent's id, unique for the master's lifetime */
	uint32_t torrent_len; /* ADD_TORRENT: bytes of .torrent at the start of the memfd */
	uint32_t have_len;    /* ADD_TORRENT: bytes of bitfield after them (BEP 3 order) */
	uint8_t handshake[WORKER_HANDSHAKE_LEN]; /* PEER: as the peer sent it */
};

/* Counters, cumulative since the master started (peers is a gauge). */
enum wstat {
	WSTAT_PEERS,		/* connected now */
	WSTAT_UP_BYTES,		/* payload bytes of piece messages sent */
	WSTAT_BLOCKS,		/* piece messages sent */
	WSTAT_REQUESTS,		/* valid requests received */
	WSTAT_REJECTS,		/* reject_request messages sent (BEP 6) */
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
	WSTAT_MAX
};

struct worker_stats {
	uint64_t c[WSTAT_MAX];
	/*
	 * Payload bytes sent, by torrent id modulo max_torrents; then as many
	 * gauges of peers connected, by the same index (worker_torrent_peers).
	 */
	uint64_t torrent_up[];
};

struct worker_args {
	unsigned index; /* 0..workers-1, also the CPU it is pinned to (modulo CPUs) */
	int channel;	/* the worker's end of its socketpair */
	int data_dirfd; /* content is opened relative to this */
	const struct conf *conf;
	struct worker_stats *stats;
	uint32_t max_torrents;
};

/* Runs a worker in the process just forked; returns the exit status. */
int worker_main(const struct worker_args *a);

/* Bytes of shared memory one worker's stats take. */
static inline unsigned long worker_stats_size(uint32_t max_torrents)
{
	return sizeof(struct worker_stats) + 2ul * max_torrents * sizeof(uint64_t);
}

/* Peers connected now, by torrent id modulo max_torrents. */
static inline uint64_t *worker_torrent_peers(struct worker_stats *s, uint32_t max_torrents)
{
	return s->torrent_up + max_torrents;
}

#endif
