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
 * A piece is checked before it is written (fetch_hash.c: SHA-1 for v1, the
 * BEP 52 merkle subtree against the piece layer for v2, both for hybrids); a piece that fails is thrown away and fetched again from another
 * peer, and a peer that alone sent two bad pieces is banned. Verified pieces
 * are written with io_uring into preallocated files (fetch_store.c); the have
 * bitfield is kept in STATE/<info-hash>.fetch, so a restart, even after
 * kill -9, resumes without hashing what was done. When the last piece is
 * written the verify state (verify.h) is saved as if the content had been
 * checked at start, and the .fetch file goes: `ringseed serve` on the same
 * state directory seeds it at once.
 *
 * Peers get what is verified while we fetch (fetch_up.c): our bitfield (or
 * have_none), a have for each piece, and the blocks they request, read from
 * the files with io_uring; whom we unchoke is the seeds' tit-for-tat
 * (fetch_choke.c). Peers that connect to us come from the master, which
 * hands them over with their handshake (see master/proc/fetchers.c), or
 * from a listener of our own (`ringseed fetch --listen`).
 *
 * A magnet's metadata is fetched before, by fetch_meta.h.
 *
 * Web seeds (BEP 19 url-list, fetch_web.c): whole pieces by HTTP Range
 * requests beside the peers, checked like theirs; a bad piece bans the web
 * seed for a while.
 */
#ifndef RINGSEED_FETCH_H
#define RINGSEED_FETCH_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "proto/metainfo.h"

#define FETCH_SOURCES_MAX 512 /* peer addresses kept (deduplicated); more from trackers and PEX are dropped */
#define FETCH_CONNS_MAX	  64  /* of those, connected or connecting at once */
#define FETCH_WEB_EXTRA_MAX 16 /* web seeds given besides the torrent's (--webseed) */

enum fetch_counter {
	FC_PIECES,	    /* pieces verified and written */
	FC_BYTES,	    /* payload bytes of blocks received */
	FC_HASH_FAILS,	    /* pieces that did not match their hash: thrown away */
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
	FC_WEB_BYTES,	    /* piece bytes from web seeds (BEP 19) */
	FC_WEB_BANS,	    /* web seeds banned for a while for a bad piece */
	FC_WEB_NO_RANGE,    /* 200 for a Range request: refused */
	FC_WEB_BAD_LENGTH,  /* another range or length than asked */
	FC_WEB_REDIRECTS,   /* redirect loops (too many redirects) */
	FC_WEB_HTTP_ERRORS, /* 404, 5xx and other statuses */
	FC_WEB_STALLS,	    /* transfers slower than a floor for fetch.request_timeout */
	FC_WEB_FAILS,	    /* connects refused and other transfer errors */
	FC_PEX_ADDED,	    /* new peer addresses from ut_pex messages (BEP 11) */
	FC_UP_BYTES,	    /* payload bytes of blocks uploaded */
	FC_INBOUND,	    /* peers that connected to us (from the master or --listen) */
	FC_UP_REFUSED,	    /* requests not served: choked, a piece we lack, out of range */
	FC_MAX
};

struct fetch_opts {
	const struct metainfo *mi;
	int data_dirfd;
	int state_dirfd; /* -1: no resume, and no state for the seeder */
	const struct conf *conf;
	const struct conf_addr *peers; /* extra static peers (--peer) */
	unsigned n_peers;
	const char *const *webseeds; /* extra BEP 19 web seeds (--webseed), http(s) URLs */
	unsigned n_webseeds;
	uint16_t port; /* announced to trackers; 0: announce nothing */
	const struct conf_addr *banned; /* never asked: a magnet's metadata liars */
	unsigned n_banned;
	volatile sig_atomic_t *stop; /* set by a signal: save the state and return -EINTR */
	/*
	 * Inbound peers: channel_fd, a SOCK_SEQPACKET socket on which each
	 * message is a peer's 68-byte handshake with its descriptor
	 * (SCM_RIGHTS); listen_fd, a listening socket of our own. -1: none.
	 */
	int channel_fd, listen_fd;
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
 * bad paths), -ENOENT (no peer to fetch from).
 */
int fetch_run(const struct fetch_opts *o, struct fetch_result *res, char *err, size_t errlen);

/*
 * fetch_run, and when it stops on a full disk (-ENOSPC, -EDQUOT: one line
 * names the torrent, the file and the error) it waits: every
 * fetch.disk_retry seconds, once the data directory's filesystem has room
 * for a piece, it runs again from the .fetch state. Returns what fetch_run
 * returns otherwise, or -EINTR once *o->stop is set while waiting.
 */
int fetch_run_waiting(const struct fetch_opts *o, struct fetch_result *res, char *err,
		      size_t errlen);

/* A full disk: the errors after which fetch_run_waiting tries again. */
static inline bool fetch_disk_full(int rc)
{
	return rc == -ENOSPC || rc == -EDQUOT;
}

const char *fetch_counter_name(enum fetch_counter c);

/* Whether fetch_run would have anyone to ask (peers given, or an HTTP or UDP tracker and a port). */
bool fetch_has_source(const struct metainfo *mi, const struct conf *c, unsigned n_peers,
		      uint16_t port);

/* The port told to trackers: announce.port, else the first listen address's; 0: none. */
uint16_t fetch_announce_port(const struct conf *c);

#endif
