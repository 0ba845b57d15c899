/*
 * addrcap.h - which counters a peer's address charges, for the per-IP and
 * per-subnet connection caps (net.max_per_ip, net.max_per_subnet).
 *
 * Live connections are counted in fixed tables of ADDRCAP_BUCKETS counters
 * per kind, indexed by a keyed hash of the address (per IP) or of its prefix
 * (IPv4 /24, IPv6 /48): no allocation on the accept path, and a table that
 * lives in shared memory, so each worker can take its own peers off it when
 * they close. Two addresses that share a bucket share a cap; the key is
 * drawn at start so that no one can aim for another's bucket.
 */
#ifndef RINGSEED_ADDRCAP_H
#define RINGSEED_ADDRCAP_H

#include <stdint.h>
#include <sys/socket.h>

#define ADDRCAP_BUCKETS 65536u	   /* per kind: slot < BUCKETS per IP, the rest per subnet */
#define ADDRCAP_SLOTS	(2u * ADDRCAP_BUCKETS)
#define ADDRCAP_NONE	UINT32_MAX /* not an IP address: charges nothing */

/*
 * Sets slot[0] (per address) and slot[1] (per subnet) for the peer at sa;
 * an IPv4-mapped IPv6 address (::ffff:a.b.c.d) counts as a.b.c.d. Returns 0,
 * or -EAFNOSUPPORT (both slots ADDRCAP_NONE) for anything but IPv4 and IPv6.
 */
int addrcap_slots(const struct sockaddr *sa, socklen_t len, uint64_t key, uint32_t slot[2]);

#endif
