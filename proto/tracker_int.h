/*
 * tracker_int.h - what the proto/tracker_*.c files share; callers use tracker.h.
 *
 * Packet sizes from the BEPs, the refusal convention (*why names the rule),
 * and the text helpers of tracker_text.c (a bounded writer, percent-encoding,
 * IP addresses as text both ways). Byte order and hex come from bytes.h.
 */
#ifndef RINGSEED_TRACKER_INT_H
#define RINGSEED_TRACKER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/bytes.h"
#include "proto/tracker.h"

#define TRK_PEER4_LEN	    6  /* BEP 23: IPv4 address, port */
#define TRK_PEER6_LEN	    18 /* BEP 7: IPv6 address, port */
#define TRK_PEER_ID_LEN	    20
#define TRK_IP_TEXT_MAX	    46 /* INET6_ADDRSTRLEN: the longest text form, with its NUL */
#define TRK_UDP_HEAD	    16 /* BEP 15 requests: connection id, action, txid */
#define TRK_UDP_RESP_HEAD   8  /* BEP 15 responses: action, txid */
#define TRK_UDP_CONNECT_LEN 16
#define TRK_UDP_ANN_REQ	    98
#define TRK_UDP_ANN_RESP    20
#define TRK_UDP_SCRAPE_ENT  12 /* seeders, completed, leechers */

/* Sets *why (when asked for) and returns err. */
static inline int trk_refuse(const char **why, int err, const char *msg)
{
	if (why)
		*why = msg;
	return err;
}

static inline int trk_accept(const char **why)
{
	if (why)
		*why = NULL;
	return 0;
}

static inline bool trk_event_ok(enum trk_event ev)
{
	return (unsigned)ev <= TRK_EVENT_STOPPED;
}

/* --- tracker_text.c: a bounded text writer; once full, it writes nothing more --- */

struct trk_text {
	char *p;
	size_t cap, len;
	bool full;
};

void trk_text_mem(struct trk_text *t, const void *s, size_t n);
void trk_text_str(struct trk_text *t, const char *s);
void trk_text_u64(struct trk_text *t, uint64_t v);
/* RFC 3986 unreserved characters go as they are; every other byte as %XX. */
void trk_text_pct(struct trk_text *t, const uint8_t *s, size_t n);
/* NUL-terminates; the length, or -ENOSPC when the text and its NUL did not fit. */
ssize_t trk_text_finish(struct trk_text *t);

/* Dotted quad, or an IPv6 address; *family says which. False for anything else. */
bool trk_text_parse_ip(const uint8_t *s, size_t n, uint8_t *family, uint8_t addr[16]);
void trk_text_ip4(struct trk_text *t, const uint8_t a[4]);
/* RFC 5952: lower-case hex, the longest run of two or more zero groups as "::". */
void trk_text_ip6(struct trk_text *t, const uint8_t a[16]);

#endif
