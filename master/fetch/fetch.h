/*
 * fetch.h - the leecher: get a torrent's content from peers, every piece
 * checked, then hand it to the seeder.
 *
 * One process, one io_uring (fetch.c): outbound connections to the peers
 * given (--peer, fetch.peers), to those an HTTP or UDP tracker returns (the
 * announce says `left`, then event=completed) and to those peers name in
 * ut_pex (fetch_pex.c), the BEP 3 handshake, bitfield
 * and have, interested, pipelined requests sized by each peer's rate up to
 * its reqq. Pieces are picked by fetch_pick.c: at random until a few are
 * complete, then rarest first, a whole piece per peer, and an endgame for
 * the last blocks (duplicate requests, cancel on arrival).
 *
 * A piece is SHA-1 checked (v1, and the v1 half of a hybrid) before it is
 * written; a piece that fails is thrown away and fetched again from another
 * peer, and a peer that alone sent two bad pieces is banned. Verified pieces
 * are written with io_uring into preallocated files (fetch_store.c); the have
 * bitfield is kept in STATE/<info-hash>.fetch, so a restart, even after
 * kill -9, resumes without hashing what was done. When the last piece is
 * written the verify state (verify.h) is saved as if the content had been
 * checked at start, and the .fetch file goes: `ringseed serve` on the same
 * state directory seeds it at once.
 *
 * Left out here: uploading to peers while fetching (they get no unchoke;
 * the seeder serves the content once it is complete), v2-only torrents
 * (no SHA-1 to check against), web seeds. A magnet's metadata is fetched
 * before, by fetch_meta.h.
 */
#ifndef RINGSEED_FETCH_H
#define RINGSEED_FETCH_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "proto/metainfo.h"

#define FETCH_SOURCES_MAX 512 /* peer addresses kept (deduplicated); more from trackers and PEX are dropped */
#define FETCH_CONNS_MAX	  64  /* of those, connected or connecting at once */

enum fetch_counter {
	FC_PIECES,	    /* pieces verified and written */
	FC_BYTES,	    /* payload bytes of blocks received */
	FC_HASH_FAILS,	    /* pieces that did not match their SHA-1: thrown away */
	FC_BANS,	    /* peers banned for bad data (two bad pieces of their own) */
	FC_UNREQUESTED,	    /* blocks nobody asked for, dropped */
	FC_DUPLICATES,	    /* blocks received twice (endgame), dropped */
	FC_CANCELS,	    /* cancels sent when a duplicate request was answered elsewhere */
	FC_SNUBS,	    /* peers dropped for sending nothing in request_timeout */
	FC_BAD_MESSAGES,    /* framing errors, a have or bitfield out of range, ... */
	FC_REJECTS,	    /* reject_request received (BEP 6) */
	FC_CONNECTS,	    /* connections that reached a handshake */
	FC_CONNECT_FAILS,   /* connections refused, timed out or with a wrong handshake */
	FC_ANNOUNCES,	    /* tracker announces answered */
	FC_ANNOUNCE_FAILS,  /* tracker announces that failed */
	FC_PEX_ADDED,	    /* new peer addresses from ut_pex messages (BEP 11) */
	FC_MAX
};

struct fetch_opts {
	const struct metainfo *mi;
	int data_dirfd;
	int state_dirfd; /* -1: no resume, and no state for the seeder */
	const struct conf *conf;
	const struct conf_addr *peers; /* extra static peers (--peer) */
	unsigned n_peers;
	uint16_t port; /* announced to trackers; 0: announce nothing */
	const struct conf_addr *banned; /* never asked: a magnet's metadata liars */
	unsigned n_banned;
	volatile sig_atomic_t *stop; /* set by a signal: save the state and return -EINTR */
};

struct fetch_result {
	uint64_t c[FC_MAX];
	uint32_t resumed; /* pieces known from the .fetch state or a verify at start */
	double seconds;
};

/*
 * Fetches what is missing and returns 0 once every piece is verified and on
 * disk, with the verify state saved. Otherwise a negative errno with err set:
 * -EINTR (stopped), -ENOSPC or another write error (the torrent stops; the
 * pieces verified so far are kept in the state), -EINVAL (cannot be fetched:
 * v2-only torrent, bad paths), -ENOENT (no peer to fetch from).
 */
int fetch_run(const struct fetch_opts *o, struct fetch_result *res, char *err, size_t errlen);

const char *fetch_counter_name(enum fetch_counter c);

/* Whether fetch_run would have anyone to ask (peers given, or an HTTP or UDP tracker and a port). */
bool fetch_has_source(const struct metainfo *mi, const struct conf *c, unsigned n_peers,
		      uint16_t port);

/* The port told to trackers: announce.port, else the first listen address's; 0: none. */
uint16_t fetch_announce_port(const struct conf *c);

#endif
