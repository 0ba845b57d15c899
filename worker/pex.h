/*
 * pex.h - peer exchange (BEP 11, ut_pex) in a worker; pex.c says how.
 *
 * Embedded in struct peer: what one peer's exchange needs, a few bytes.
 */
#ifndef RINGSEED_WK_PEX_H
#define RINGSEED_WK_PEX_H

#include <stdbool.h>
#include <stdint.h>

struct wpex_peer {
	uint8_t id;	 /* the peer's ut_pex id (its "m"); 0: we send it nothing */
	bool listed;	 /* a JOIN went to the master: a LEAVE is owed when it closes */
	bool told;	 /* its first message went out */
	uint8_t tokens;	 /* ut_pex messages it may send us now (flood bound) */
	uint32_t cursor; /* the torrent's events up to this one are what it was told */
	uint64_t due_ms; /* our next message may go then, not before (0: not yet known) */
	uint64_t refill_ms;
};

#endif
