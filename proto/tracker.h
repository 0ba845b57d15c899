/*
 * tracker.h - tracker packets, both sides, pure.
 *
 * Client side: the HTTP announce URL (BEP 3, compact BEP 23, key BEP 7),
 * the scrape URL (BEP 48), parsing announce and scrape replies (peers in
 * compact, dictionary and peers6 form, BEP 7); UDP tracker packets (BEP 15).
 * Server side (the built-in tracker): parsing an announce or scrape query
 * string, building bencoded replies and UDP responses.
 *
 * One header, three files by transport: tracker_http_client.c,
 * tracker_udp.c (both sides) and tracker_http_server.c; tracker_text.c holds
 * the text helpers they share (tracker_int.h).
 *
 * Everything writes into caller buffers and returns a length or a negative
 * errno; parsers never read past their input and say why they refused with
 * a static string. No syscalls, no allocation, no globals.
 */
#ifndef RINGSEED_TRACKER_H
#define RINGSEED_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TRK_HASH_LEN 20
#define TRK_MAX_URL 4096

/*
 * Address families of struct trk_peer and trk_udp_*(family). They equal
 * Linux's AF_INET and AF_INET6 (tests/unit/tracker_test.h asserts it), so a
 * caller may pass AF_INET; proto/ may not include <sys/socket.h> to get them.
 */
#define TRK_AF_INET  2
#define TRK_AF_INET6 10

/* BEP 15: "up to about 74 torrents can be scraped at once" over UDP. */
#define TRK_UDP_MAX_SCRAPE 74

enum trk_event {
	TRK_EVENT_NONE = 0, /* BEP 15 numbering */
	TRK_EVENT_COMPLETED = 1,
	TRK_EVENT_STARTED = 2,
	TRK_EVENT_STOPPED = 3,
};

/* What a client tells a tracker. */
struct trk_announce {
	const uint8_t *info_hash; /* 20 bytes */
	const uint8_t *peer_id;   /* 20 bytes */
	uint16_t port;
	uint64_t uploaded, downloaded, left;
	enum trk_event event;
	uint32_t numwant;
	uint32_t key;             /* BEP 7: stable per torrent */
	const char *tracker_id;   /* from an earlier reply, or NULL */
};

struct trk_peer {
	uint8_t family; /* TRK_AF_INET (addr[0..3]) or TRK_AF_INET6 */
	uint8_t addr[16];
	uint16_t port;
	bool has_id;
	uint8_t peer_id[20];
};

/* --- client side, HTTP --- */

/*
 * base (which may already hold a '?') plus the announce parameters, compact=1,
 * NUL-terminated. The length, -ENOSPC, or -EINVAL (a NULL hash, a bad event,
 * a '#' in base).
 */
ssize_t trk_http_announce_url(char *out, size_t cap, const char *base,
			      const struct trk_announce *a);
/*
 * BEP 48: the last path component "announce..." becomes "scrape..."; -EINVAL if
 * it is not there. 0 (out NUL-terminated) or -ENOSPC.
 */
int trk_http_scrape_url(char *out, size_t cap, const char *announce_url);

struct trk_reply {
	const char *failure;    /* "failure reason", pointing into the input; NULL if absent */
	size_t failure_len;
	const char *warning;    /* "warning message" */
	size_t warning_len;
	int64_t interval;       /* -1 if absent */
	int64_t min_interval;   /* -1 if absent */
	const char *tracker_id; /* "tracker id" */
	size_t tracker_id_len;
	int64_t complete, incomplete; /* -1 if absent */
	uint32_t peers4, peers6;      /* peers the reply held, of each family */
	struct trk_peer *peers;       /* the caller's array, filled up to max_peers */
	uint32_t max_peers, n_peers;
	uint32_t peers_skipped;       /* entries left out: a host name, a bad ip, port 0 */
};
/*
 * An announce reply body (bencoded; dictionary keys may be unsorted). 0, or
 * -EINVAL with *why. With a failure reason only failure is filled. The
 * caller sets peers and max_peers; everything else is written.
 */
int trk_http_parse_announce(const uint8_t *buf, size_t len, struct trk_reply *r,
			    const char **why);

struct trk_scrape {
	uint32_t complete, downloaded, incomplete;
};
/*
 * A scrape reply: the entry for info_hash (counts over UINT32_MAX saturate,
 * absent ones are 0). -ENOENT if it is not in the reply, -EINVAL otherwise.
 */
int trk_http_parse_scrape(const uint8_t *buf, size_t len, const uint8_t info_hash[TRK_HASH_LEN],
			  struct trk_scrape *s, const char **why);

/* --- client side, UDP (BEP 15) --- */

#define TRK_UDP_PROTOCOL_ID 0x41727101980ull
enum trk_udp_action {
	TRK_UDP_CONNECT = 0,
	TRK_UDP_ANNOUNCE = 1,
	TRK_UDP_SCRAPE = 2,
	TRK_UDP_ERROR = 3,
};
size_t trk_udp_connect_req(uint8_t out[16], uint32_t txid);
/* num_want is a->numwant as given (UINT32_MAX is BEP 15's -1, "default"); 0 on a bad event. */
size_t trk_udp_announce_req(uint8_t out[98], uint64_t conn_id, uint32_t txid,
			    const struct trk_announce *a);
/* 1..TRK_UDP_MAX_SCRAPE hashes, else -EINVAL; -ENOSPC. */
ssize_t trk_udp_scrape_req(uint8_t *out, size_t cap, uint64_t conn_id, uint32_t txid,
			   const uint8_t (*hashes)[TRK_HASH_LEN], unsigned n);

struct trk_udp_resp {
	uint32_t action, txid;
	uint64_t conn_id;                   /* CONNECT */
	uint32_t interval, leechers, seeders; /* ANNOUNCE */
	const char *error;                  /* ERROR: the message, pointing into the input */
	size_t error_len;
	struct trk_peer *peers;             /* ANNOUNCE: the caller's array */
	uint32_t max_peers, n_peers, total_peers;
	struct trk_scrape *scrapes;         /* SCRAPE: the caller's array */
	unsigned max_scrapes, n_scrapes;
};
/*
 * Any response to us. family (TRK_AF_INET or TRK_AF_INET6) is the socket's,
 * which says whether announce peers are 6 or 18 bytes. A txid other than
 * expect_txid is -EINVAL ("transaction id mismatch"). total_peers counts the
 * entries in the packet, n_peers those stored (port 0 is left out).
 */
int trk_udp_parse_resp(const uint8_t *buf, size_t len, int family, uint32_t expect_txid,
		       struct trk_udp_resp *r, const char **why);

/* --- server side (the built-in tracker) --- */

struct trk_query {
	uint8_t info_hash[TRK_HASH_LEN];
	uint8_t peer_id[20];
	uint16_t port;
	uint64_t uploaded, downloaded, left;
	enum trk_event event;
	bool compact;       /* compact=1 (the default when absent is compact) */
	bool no_peer_id;
	uint32_t numwant;   /* 0 if absent */
	bool has_numwant;
	uint32_t key;
	bool has_key;
};
/*
 * The query string of GET /announce?...: info_hash, peer_id and port are
 * required. Values are percent-decoded and '+' is itself (0x2B), never a
 * space. The last of a repeated key wins; unknown keys are ignored; a key
 * that is not 1..8 hex digits is ignored (has_key false).
 */
int trk_parse_announce_query(const char *q, size_t len, struct trk_query *out, const char **why);
/* The query string of GET /scrape?...: up to max info_hash values (none: *n = 0; more: -E2BIG). */
int trk_parse_scrape_query(const char *q, size_t len, uint8_t (*hashes)[TRK_HASH_LEN],
			   unsigned max, unsigned *n, const char **why);

/*
 * Bencoded replies: compact peers (and peers6 when there are IPv6 peers), or
 * the dictionary list. "min interval" is left out when 0. Scrape hashes may
 * come in any order (sorted ones are written in one pass; others take
 * O(n^2) comparisons); a repeated hash is written once.
 */
ssize_t trk_http_announce_resp(uint8_t *out, size_t cap, uint32_t interval, uint32_t min_interval,
			       uint32_t complete, uint32_t incomplete,
			       const struct trk_peer *peers, unsigned n, bool compact,
			       bool no_peer_id);
ssize_t trk_http_failure(uint8_t *out, size_t cap, const char *reason);
ssize_t trk_http_scrape_resp(uint8_t *out, size_t cap, const uint8_t (*hashes)[TRK_HASH_LEN],
			     const struct trk_scrape *s, unsigned n);

struct trk_udp_req {
	uint32_t action, txid;
	uint64_t conn_id;
	struct trk_query q;     /* ANNOUNCE (compact is implied; num_want -1 is !has_numwant) */
	uint32_t ip;            /* ANNOUNCE: the IPv4 field, network order; 0 = the sender */
	const uint8_t *hashes;  /* SCRAPE: n_hashes * 20 bytes inside the input */
	unsigned n_hashes;
};
/* connect: exactly 16 bytes; announce: 98 or more (BEP 41 options ignored); scrape: 16 + 20n. */
int trk_udp_parse_req(const uint8_t *buf, size_t len, struct trk_udp_req *r, const char **why);
size_t trk_udp_connect_resp(uint8_t out[16], uint32_t txid, uint64_t conn_id);
/* Peers of the other family than the socket's are left out. */
ssize_t trk_udp_announce_resp(uint8_t *out, size_t cap, uint32_t txid, uint32_t interval,
			      uint32_t leechers, uint32_t seeders, const struct trk_peer *peers,
			      unsigned n, int family);
ssize_t trk_udp_scrape_resp(uint8_t *out, size_t cap, uint32_t txid, const struct trk_scrape *s,
			    unsigned n);
ssize_t trk_udp_error_resp(uint8_t *out, size_t cap, uint32_t txid, const char *msg);

#endif
