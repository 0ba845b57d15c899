/*
 * fast.h - BEP 6's allowed fast set: the pieces a choked peer may still
 * request, derived from its IPv4 address and the torrent's info-hash so that
 * every seed computes the same set for the same peer.
 */
#ifndef RINGSEED_FAST_H
#define RINGSEED_FAST_H

#include <stddef.h>
#include <stdint.h>

/*
 * Writes min(k, piece_count) piece indices to out, in the order BEP 6's
 * canonical algorithm finds them (ip is the peer's IPv4 address, host order;
 * the algorithm keeps its top 24 bits). Returns how many were written.
 * BEP 6 defines no set for IPv6 peers.
 */
size_t fast_allowed_set(uint32_t ip, const uint8_t info_hash[20], uint32_t piece_count, size_t k,
			uint32_t *out);

#endif
