/*
 * bytes.h - byte-level helpers every layer shares: big-endian loads and
 * stores, hex digits and RFC 3986 percent-encoding.
 *
 * BitTorrent's wire messages (BEP 3) and UDP tracker packets (BEP 15) are in
 * network byte order at any alignment, so values are assembled byte by byte
 * rather than loaded through a cast. Percent-encoding is what tracker URLs,
 * scrape URLs and magnet links (BEP 9) carry binary hashes and names in.
 *
 * Pure and header-only: everything is static inline.
 */
#ifndef RINGSEED_BYTES_H
#define RINGSEED_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- big-endian loads and stores --- */

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* --- hex digits --- */

/* The value of one hex digit of either case, or -1. */
static inline int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The upper-case digit for the low four bits of v. */
static inline char hex_upper(unsigned v)
{
	return "0123456789ABCDEF"[v & 15];
}

/* --- percent-encoding (RFC 3986) --- */

/* Section 2.3: the characters a URI carries as they are. */
static inline bool pct_unreserved(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/*
 * One byte as a URI carries it: itself when unreserved, otherwise "%XX" with
 * upper-case digits (section 2.1 says producers should use upper case).
 * Writes 1 or 3 chars to out (not NUL-terminated) and returns how many.
 */
static inline size_t pct_encode_byte(char out[3], uint8_t c)
{
	if (pct_unreserved(c)) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '%';
	out[1] = hex_upper(c >> 4);
	out[2] = hex_upper(c);
	return 3;
}

/*
 * The byte "%XX" at s stands for, with n chars readable from s (s[0] is the
 * '%'); -1 when two hex digits do not follow.
 */
static inline int pct_decode_byte(const char *s, size_t n)
{
	if (n < 3 || hex_val(s[1]) < 0 || hex_val(s[2]) < 0)
		return -1;
	return hex_val(s[1]) << 4 | hex_val(s[2]);
}

#endif
