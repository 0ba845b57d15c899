/*
 * magnet.h - magnet links (BEP 9 "magnet URI format"), read.
 *
 *   magnet:?xt=urn:btih:<info-hash>&dn=<name>&tr=<tracker>&x.pe=<host:port>
 *
 * xt is the torrent's v1 info-hash as 40 hex digits or 32 base32 letters
 * (RFC 4648, either case), or urn:btmh:1220<64 hex> for the v2 hash (BEP 52:
 * a multihash, 0x12 sha2-256, 0x20 bytes). A hybrid link may carry both.
 * Every value is percent-decoded ('+' is a space in dn only, as browsers
 * write it); every tr and x.pe is kept, in order, up to the bounds below.
 * Unknown parameters are skipped (BEP 9 lets links grow); a known one that is
 * malformed refuses the link, with err naming the parameter and why.
 *
 * Pure: no syscalls, no allocation, no globals.
 */
#ifndef RINGSEED_MAGNET_H
#define RINGSEED_MAGNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAGNET_TR_MAX	16   /* trackers kept; more are counted in skipped */
#define MAGNET_PE_MAX	16   /* x.pe peers kept, likewise */
#define MAGNET_URL_MAX	512  /* a decoded tr, NUL included */
#define MAGNET_HOST_MAX 80   /* a decoded x.pe "host:port" or "[v6]:port", NUL included */
#define MAGNET_DN_MAX	256  /* dn, NUL included */
#define MAGNET_LEN_MAX	8192 /* a longer link is refused */

struct magnet {
	bool has_v1, has_v2;
	uint8_t info_hash[20];	/* btih */
	uint8_t info_hash2[32]; /* btmh, sha2-256 */
	char dn[MAGNET_DN_MAX]; /* "" when absent; bytes below 0x20 become '?' */
	char tr[MAGNET_TR_MAX][MAGNET_URL_MAX];
	unsigned n_tr;
	char pe[MAGNET_PE_MAX][MAGNET_HOST_MAX];
	unsigned n_pe;
	unsigned skipped; /* tr and x.pe beyond the bounds, and repeated ones */
};

struct magnet_err {
	char msg[128]; /* "xt: 39 hex digits; an info-hash is 40 (or 32 base32)", ... */
};

/*
 * Reads a magnet link of len bytes (no NUL needed). Returns 0, or -EINVAL
 * with err set: not "magnet:?", no usable xt, a bad percent escape, a value
 * too long for its field, a link over MAGNET_LEN_MAX.
 */
int magnet_parse(const char *s, size_t len, struct magnet *m, struct magnet_err *err);

/* Whether s starts like a magnet link (the CLI takes a file or a link). */
bool magnet_is_link(const char *s);

#endif
