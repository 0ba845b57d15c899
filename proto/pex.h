/*
 * pex.h - BEP 11 peer exchange (ut_pex) messages, read and written.
 *
 * A ut_pex message is a BEP 10 extended message whose payload is one
 * bencoded dictionary of compact contacts: "added" (IPv4, 6 bytes each) with
 * "added.f" (one flags byte per contact), "added6" (IPv6, 18 bytes each) with
 * "added6.f", "dropped" and "dropped6".
 *
 * pex_parse() is strict: every list a string of whole contacts, a flags
 * string exactly one byte per contact, no port 0, no contact twice in a list,
 * none both added and dropped, at least one list present, and at most
 * PEX_PARSE_MAX contacts in all. It only points into the caller's bytes.
 *
 * Pure: no syscalls, no allocation, no globals.
 */
#ifndef RINGSEED_PEX_H
#define RINGSEED_PEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/ext.h"

#define PEX_DELTA_MAX \
	50 /* BEP 11: added (v4 and v6 together) per message after the first; dropped too */
#define PEX_FIRST_MAX 200  /* added in our first message to a peer (BEP 11 leaves it open) */
#define PEX_PARSE_MAX 1000 /* contacts in one message we read; more is refused */
#define PEX_V4_LEN    6	   /* compact IPv4 contact: address, port (BEP 23) */
#define PEX_V6_LEN    18   /* compact IPv6 contact (BEP 7) */

/* BEP 11 flags, one byte per added contact. */
#define PEX_F_ENCRYPT	0x01 /* prefers encryption */
#define PEX_F_SEED	0x02 /* seed or upload_only */
#define PEX_F_UTP	0x04 /* supports uTP */
#define PEX_F_HOLEPUNCH 0x08 /* ut_holepunch */
#define PEX_F_REACHABLE 0x10 /* an outgoing connection: the peer is reachable */

/* One contact: family 4 uses addr[0..3], family 6 all 16 bytes. */
struct pex_contact {
	uint8_t family; /* 4 or 6 */
	uint8_t flags;	/* PEX_F_*; added only */
	uint16_t port;	/* host order */
	uint8_t addr[16];
};

/* A parsed message: each list as a pointer into the payload and a count. */
struct pex_msg {
	const uint8_t *added, *added_f, *added6, *added6_f, *dropped, *dropped6;
	uint32_t n_added, n_added6, n_dropped, n_dropped6;
};

/*
 * Reads the payload of a ut_pex message (after the extended id byte).
 * Returns 0, or -EINVAL with err naming what was wrong.
 */
int pex_parse(const uint8_t *p, size_t n, struct pex_msg *m, struct ext_err *err);

/* Contact i of a list read by pex_parse() (family 4: added/dropped; 6: added6/dropped6). */
void pex_contact_at(const uint8_t *list, uint32_t i, uint8_t family, struct pex_contact *c);

/*
 * Writes a whole ut_pex message addressed to the peer's id ext_id (length
 * prefix, id 20, ext_id, dictionary) with the contacts given, which the
 * caller keeps free of duplicates. Returns its size, -ENOSPC when cap is too
 * small (PEX_PUT_CAP() always suffices), or -EINVAL when there is nothing to
 * say (BEP 11: at least one list) or a contact's family is neither 4 nor 6.
 */
ssize_t pex_put(uint8_t *out, size_t cap, uint8_t ext_id, const struct pex_contact *added,
		size_t n_added, const struct pex_contact *dropped, size_t n_dropped);

/* Bytes pex_put() may need for that many contacts (a constant expression). */
#define PEX_PUT_CAP(n_added, n_dropped) (96 + (n_added) * (PEX_V6_LEN + 1) + (n_dropped)*PEX_V6_LEN)

#endif
