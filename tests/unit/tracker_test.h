/*
 * tracker_test.h - fixtures the proto/tracker unit tests share: three info
 * hashes, an announce, peers of both families, and the client's reply parser
 * with every output field poisoned first.
 */
#ifndef RINGSEED_TRACKER_TEST_H
#define RINGSEED_TRACKER_TEST_H

#include <sys/socket.h>

#include "proto/tracker.h"
#include "tests/unit/test.h"

_Static_assert(TRK_AF_INET == AF_INET, "TRK_AF_INET is Linux's AF_INET");
_Static_assert(TRK_AF_INET6 == AF_INET6, "TRK_AF_INET6 is Linux's AF_INET6");

#define PEER_ID "-RS0001-abcdefghijkl"

/* sizeof - 1 so that literals may hold NUL bytes. */
#define U8(s) ((const uint8_t *)(s)), (sizeof(s) - 1)

static uint8_t hash_a[TRK_HASH_LEN], hash_b[TRK_HASH_LEN], hash_c[TRK_HASH_LEN];

static inline void setup_hashes(void)
{
	for (int i = 0; i < TRK_HASH_LEN; i++) {
		hash_a[i] = (uint8_t)i; /* 00 01 .. 13: nothing unreserved */
		hash_b[i] = (uint8_t)(0xa0 + i);
		hash_c[i] = (uint8_t)('A' + i); /* "ABCDEFGHIJKLMNOPQRST" */
	}
}

static inline struct trk_announce announce_fixture(void)
{
	struct trk_announce a = {
		.info_hash = hash_a,
		.peer_id = (const uint8_t *)PEER_ID,
		.port = 6881,
		.left = 100,
		.event = TRK_EVENT_STARTED,
		.key = 0x1234abcd,
	};
	return a;
}

static inline struct trk_peer peer4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct trk_peer p = { .family = TRK_AF_INET, .port = port };

	p.addr[0] = a;
	p.addr[1] = b;
	p.addr[2] = c;
	p.addr[3] = d;
	return p;
}

static inline struct trk_peer peer6(uint8_t first, uint8_t last, uint16_t port)
{
	struct trk_peer p = { .family = TRK_AF_INET6, .port = port };

	p.addr[0] = first;
	p.addr[15] = last;
	return p;
}

static inline bool peer_eq(const struct trk_peer *x, const struct trk_peer *y)
{
	return x->family == y->family && memcmp(x->addr, y->addr, 16) == 0 && x->port == y->port &&
	       x->has_id == y->has_id && (!x->has_id || memcmp(x->peer_id, y->peer_id, 20) == 0);
}


static inline int parse_reply(const uint8_t *buf, size_t len, struct trk_reply *r,
			      struct trk_peer *peers, uint32_t max, const char **why)
{
	memset(r, 0x5a, sizeof(*r)); /* every output field must be written */
	r->peers = peers;
	r->max_peers = max;
	return trk_http_parse_announce(buf, len, r, why);
}

#endif
