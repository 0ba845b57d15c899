/*
 * fetch_meta.h - a magnet's metadata (the info dictionary) from its peers,
 * by the BEP 10 extended handshake and BEP 9 ut_metadata.
 *
 * Peers come from the addresses given (x.pe, --peer, fetch.peers) and from
 * the magnet's trackers (HTTP and UDP, BEP 15). Every peer that offers
 * ut_metadata with a size within FMETA_SIZE_MAX is asked for 16 KiB pieces,
 * a few at a time; a reject or a request unanswered for FMETA_REQ_MS frees
 * the piece for another peer. The whole is SHA-1 checked against the
 * info-hash before anyone uses it: when it does not match, the peer that
 * sent it alone is banned and counted; when several sent parts of it, the
 * next tries take the whole from one peer at a time until one is caught.
 */
#ifndef RINGSEED_FETCH_META_H
#define RINGSEED_FETCH_META_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

#define FMETA_SIZE_MAX	 (8u << 20) /* metadata larger than this is refused */
#define FMETA_BANNED_MAX 16	    /* banned peers reported back, for the fetch to skip */

enum fmeta_counter {
	FMC_PIECES,	   /* metadata pieces received */
	FMC_HASH_FAILS,	   /* whole metadata that did not hash to the info-hash */
	FMC_BANS,	   /* peers banned for it */
	FMC_REJECTS,	   /* ut_metadata rejects received */
	FMC_TIMEOUTS,	   /* requests unanswered in FMETA_REQ_MS */
	FMC_BAD_MESSAGES,  /* framing, a bad handshake, a piece nobody asked for, a size over the bound */
	FMC_NO_METADATA,   /* peers without ut_metadata or metadata_size */
	FMC_CONNECTS,	   /* handshakes completed */
	FMC_CONNECT_FAILS, /* refused, timed out, or another torrent */
	FMC_ANNOUNCES,	   /* tracker announces answered */
	FMC_ANNOUNCE_FAILS,
	FMC_MAX
};

struct fmeta_opts {
	const uint8_t *info_hash; /* 20 bytes */
	const struct conf_addr *peers;
	unsigned n_peers;
	const char *const *trackers; /* http(s):// and udp:// announce URLs */
	unsigned n_trackers;
	uint16_t port;		   /* told to trackers; 0: trackers are not asked */
	uint32_t timeout_ms;	   /* give up after this long; 0: never */
	const char *bind_host;	   /* the address to connect from, or NULL */
	volatile sig_atomic_t *stop;
};

struct fmeta_result {
	uint64_t c[FMC_MAX];
	double seconds;
	struct conf_addr banned[FMETA_BANNED_MAX]; /* peers that sent metadata not hashing right */
	unsigned n_banned;
};

/*
 * Returns 0 with *info (malloc'd, *len bytes) the info dictionary whose
 * SHA-1 is the info-hash; or -EINTR (stopped), -ETIMEDOUT, -ENOENT (no peer
 * to ask), -ENOMEM, with err set.
 */
int fmeta_run(const struct fmeta_opts *o, uint8_t **info, size_t *len, struct fmeta_result *res,
	      char *err, size_t errlen);

const char *fmeta_counter_name(enum fmeta_counter c);

#endif
