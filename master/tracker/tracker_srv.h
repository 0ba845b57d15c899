/*
 * tracker_srv.h - the built-in tracker, served from the master's epoll loop.
 *
 * HTTP (GET /announce, GET /scrape; BEP 3, compact BEP 23, peers6 BEP 7,
 * scrape BEP 48) and UDP (BEP 15) on every tracker.listen address, one TCP
 * and one UDP socket each, same port. Packets are built and parsed by
 * proto/tracker.h; HTTP requests by http-parser. Everything here runs in the
 * master's thread: no blocking call, bounded work per event and per tick.
 *
 * Swarms. A hash table keyed by info-hash (SipHash with a random key, since
 * in open mode strangers choose the keys). Each swarm keeps its peers in two
 * arrays, IPv4 and IPv6, each partitioned leechers first, and one index from
 * (peer_id, family) to the array slot; each peer remembers its index slot,
 * so moving a peer inside an array costs O(1). A peer is (info_hash, peer_id,
 * family): a dual-stack client announcing over both families is two entries,
 * and each family's clients get peers of their own family (UDP has no other
 * choice; HTTP does the same, so a v4-only client is not sent v6 addresses).
 *
 * A request's peers are a uniform random subset (partial Fisher-Yates run on
 * a virtual copy of the array: a small map of the swapped positions, so the
 * array is not disturbed), never the requester itself; a seeder is sent
 * leechers only. Peers expire after 2 x interval without an announce; the
 * sweep visits a bounded number of peers per tick and resumes where it left.
 *
 * Swarms of the torrents we serve (tsrv_allow) always exist and do not count
 * towards max_swarms; with tracker.open, strangers' swarms are created on
 * their first announce, up to max_swarms, and dropped when they empty.
 *
 * An HTTP connection's life (one function, tsrv_conn_run, advances it):
 *
 *   accept -> IDLE --first byte--> READING --request parsed--> response sent
 *               ^                    |  \                        |    |
 *               |   (10 s header     |   bad bytes/too big:      |    partial send
 *               |    deadline)       |   error response ------+  |    v
 *               +-- keep-alive ------+------------------------|--+  WRITING --sent--+
 *                                                             v                    |
 *                         Connection: close / errors -->  LINGER --EOF/2 s--> closed
 *   IDLE 30 s, READING 10 s, WRITING 10 s without progress: closed (counted).
 */
#ifndef RINGSEED_TRACKER_SRV_H
#define RINGSEED_TRACKER_SRV_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "proto/tracker.h"

#define TSRV_MAX_CONNS	     4096  /* HTTP connections at once; more are closed at accept */
#define TSRV_REQ_MAX	     8192  /* one HTTP request, request line + headers + body */
#define TSRV_HEADER_MS	     10000 /* a request must be complete this long after its first byte */
#define TSRV_IDLE_MS	     30000 /* a keep-alive connection waits this long for its next request */
#define TSRV_WRITE_MS	     10000	 /* a buffered response must make progress within this */
#define TSRV_WBUF_TOTAL	     (32u << 20) /* response bytes buffered for all connections together */
#define TSRV_LINGER_MS	     2000	 /* input read and dropped after a closing response */
#define TSRV_SECRET_MS	     120000 /* BEP 15 connection-id secret rotation (current + previous) */
#define TSRV_UDP_SCRAPE_MAX  TRK_UDP_MAX_SCRAPE /* BEP 15: info-hashes in one UDP scrape */
#define TSRV_HTTP_SCRAPE_MAX 128		/* info-hashes in one HTTP scrape */
#define TSRV_UDP_REPLY_MAX   1232  /* an announce reply fits a 1280-byte IPv6 path unfragmented */
#define TSRV_NUMWANT_MAX     1000  /* tracker.numwant's upper bound */
#define TSRV_SWEEP_BUDGET    16384 /* peers and table slots examined per tick */
#define TSRV_UDP_BATCH	     32	   /* datagrams per recvmmsg / sendmmsg */
#define TSRV_UDP_ROUNDS	     8	   /* recvmmsg calls per event before the loop gets a turn */
#define TSRV_UDP_IN_MAX	     2048  /* bigger datagrams are truncated, hence refused */
#define TSRV_FY_CAP	     4096  /* the virtual Fisher-Yates map: > 2 x (TSRV_NUMWANT_MAX + 1) */

enum tsrv_stat {
	TSTAT_ANNOUNCES,       /* announces answered (HTTP and UDP, stopped included) */
	TSTAT_SCRAPES,	       /* scrapes answered */
	TSTAT_UDP_CONNECTS,    /* BEP 15 connect requests answered */
	TSTAT_REFUSED_UNKNOWN, /* a torrent we do not serve, tracker.open off */
	TSTAT_REFUSED_SWARMS,  /* a new swarm past tracker.max_swarms */
	TSTAT_REFUSED_PEERS,   /* a new peer in a swarm holding tracker.max_peers */
	TSTAT_REFUSED_CONNS,   /* an HTTP connection past TSRV_MAX_CONNS */
	TSTAT_BAD_REQUEST,     /* bad HTTP or a bad query: 400/405/431 */
	TSTAT_NOT_FOUND,       /* HTTP paths other than /announce and /scrape: 404 */
	TSTAT_BAD_UDP,	       /* short, truncated or malformed datagrams */
	TSTAT_BAD_CONN_ID,     /* UDP announce or scrape with an unknown or stale connection id */
	TSTAT_HTTP_TIMEOUT,    /* connections closed for a deadline (slow, idle or not reading) */
	TSTAT_HTTP_UNSENT,     /* closed: its response would pass TSRV_WBUF_TOTAL buffered */
	TSTAT_EXPIRED,	       /* peers dropped after 2 x interval without an announce */
	TSTAT_MAX
};

/* --- internals shared by tracker_srv.c (sockets, HTTP, UDP) and tracker_swarm.c (tables) --- */

struct tsrv_peer {
	uint8_t peer_id[20];
	uint8_t addr[16]; /* IPv4: the first 4 bytes */
	uint16_t port;	  /* host order */
	bool has_key;	  /* BEP 7 key: proves the peer when its address changes */
	uint32_t key;
	uint32_t seen_s; /* last announce, CLOCK_MONOTONIC seconds */
	uint32_t hslot;	 /* this peer's entry in its swarm's index */
};

/* One family's peers: leechers in [0, nleech), seeders in [nleech, n). */
struct tsrv_plist {
	struct tsrv_peer *p;
	uint32_t n, nleech, cap;
};

struct tsrv_swarm {
	uint8_t info_hash[TRK_HASH_LEN];
	bool allowed;		  /* a torrent we serve (tsrv_allow) */
	uint32_t downloaded;	  /* completed events seen */
	struct tsrv_plist fam[2]; /* [0] IPv4, [1] IPv6 */
	uint32_t *index;	  /* by (peer_id, family); 0 empty, else family << 31 | (pos + 1) */
	uint32_t index_cap; /* a power of two, more than twice the peers; 0 before the first */
};

/* One slot of the virtual Fisher-Yates array: position key holds val this request. */
struct tsrv_fy {
	uint32_t gen, key, val;
};

enum tsrv_conn_state {
	TC_FREE,    /* slot unused, on the free stack */
	TC_IDLE,    /* keep-alive: no byte of the next request yet (TSRV_IDLE_MS) */
	TC_READING, /* a request has begun and must be complete by its deadline (TSRV_HEADER_MS) */
	TC_WRITING, /* a response is partly sent; no reading until it is gone (TSRV_WRITE_MS) */
	TC_LINGER,  /* after a closing response: write side shut, input dropped (TSRV_LINGER_MS) */
	TC_MAX
};

struct tsrv_conn {
	int fd;
	uint8_t state; /* enum tsrv_conn_state */
	bool close_after;
	bool done; /* the parser finished a message */
	uint8_t family;
	uint8_t addr[16]; /* the client; IPv4-mapped IPv6 is stored as IPv4 */
	uint32_t gen;	  /* bumped on each accept into this slot: stale events are ignored */
	uint64_t deadline_ms;
	http_parser parser;
	uint32_t len, parsed;	   /* bytes in rbuf, bytes of them given to the parser */
	uint32_t url_off, url_len; /* the request target, inside rbuf */
	uint8_t *wbuf;		   /* the unsent rest of a response, or NULL */
	uint32_t wlen, woff;
	char rbuf[TSRV_REQ_MAX];
};

struct tsrv_udp_io; /* recvmmsg / sendmmsg buffers, tracker_srv.c */

struct tsrv {
	bool enabled;
	int epfd;
	uint32_t kind;

	/* settings (tsrv_set_conf) */
	uint32_t interval, min_interval, numwant, max_swarms, max_peers;
	bool open;

	unsigned n_listen;
	int tcp_fd[CONF_LISTEN_MAX];
	int udp_fd[CONF_LISTEN_MAX];
	uint16_t port[CONF_LISTEN_MAX];

	struct tsrv_conn *conns; /* TSRV_MAX_CONNS */
	uint32_t *free_conns;	 /* stack of free slots */
	uint32_t n_free;
	size_t wbuf_bytes; /* in every c->wbuf */

	struct tsrv_swarm **swarms;		  /* open addressing by info-hash, linear probing */
	uint32_t swarms_cap, n_swarms, n_foreign; /* n_foreign: swarms not allowed */
	uint64_t n_peers;

	uint64_t hkey[2];      /* SipHash key of the tables */
	uint64_t secret[2][2]; /* connection-id keys: [0] current, [1] previous */
	uint64_t rotate_at_ms;
	uint64_t rng[4]; /* xoshiro256** */
	uint64_t now_ms; /* of the event being handled */

	uint32_t sweep_slot, sweep_pos; /* where the expiry sweep resumes */
	uint8_t sweep_fam;

	struct tsrv_fy *fy; /* TSRV_FY_CAP */
	uint32_t fy_gen;
	struct trk_peer *sel; /* the peers of one reply, TSRV_NUMWANT_MAX */
	uint8_t *out;	      /* one HTTP response */
	size_t out_cap;
	struct tsrv_udp_io *udp;

	uint64_t stat[TSTAT_MAX];
};

/* What one announce came to. */
struct tsrv_ann {
	const char *refused; /* a failure reason, or NULL */
	uint32_t complete, incomplete;
	unsigned n; /* peers in t->sel */
};

/* tracker_swarm.c */
int tsrv_tables_init(struct tsrv *t);
void tsrv_tables_free(struct tsrv *t);
void tsrv_announce(struct tsrv *t, const struct trk_query *q, int family, const uint8_t addr[16],
		   uint32_t want, struct tsrv_ann *out);
void tsrv_scrape_one(const struct tsrv *t, const uint8_t info_hash[TRK_HASH_LEN],
		     struct trk_scrape *s);
void tsrv_sweep(struct tsrv *t, uint32_t budget);
void tsrv_drop_foreign(struct tsrv *t);
uint64_t tsrv_siphash(const uint64_t key[2], const void *data, size_t len);
uint64_t tsrv_rand(struct tsrv *t);

/* --- the API the master calls --- */

/*
 * Binds TCP (HTTP) and UDP on every tracker.listen address (port 0: one the
 * kernel picks, the same for both; see tsrv_port) and registers them with
 * epfd, data.u64 = (uint64_t)kind << 32 | index. With tracker.enable off it
 * binds nothing and returns 0. On failure everything is undone, err says
 * why, and tsrv_close is still safe.
 */
int tsrv_init(struct tsrv *t, const struct conf *c, int epfd, uint32_t kind, char *err,
	      size_t errlen);
/* Settings that a reload may change (not the addresses). Closing an open tracker drops strangers'
 * swarms. */
void tsrv_set_conf(struct tsrv *t, const struct conf *c);
/* An epoll event for one of the tracker's descriptors (idx: the low 32 bits of data.u64). */
void tsrv_event(struct tsrv *t, uint32_t idx, uint32_t events, uint64_t now_ms);
/* Once per master tick: expire peers, close slow connections, rotate the UDP secret. */
void tsrv_tick(struct tsrv *t, uint64_t now_ms);
/* The torrents we serve: always tracked; the others only with tracker.open. */
void tsrv_allow(struct tsrv *t, const uint8_t info_hash[TRK_HASH_LEN]);
void tsrv_disallow(struct tsrv *t, const uint8_t info_hash[TRK_HASH_LEN]);
/* "tracker_announces=N tracker_scrapes=N tracker_refused=N ..." for the stats line. */
void tsrv_stats(const struct tsrv *t, char *buf, size_t len);
/* The port bound for tracker.listen address i (host order), 0 if there is none. */
uint16_t tsrv_port(const struct tsrv *t, unsigned i);
void tsrv_close(struct tsrv *t);

#endif
