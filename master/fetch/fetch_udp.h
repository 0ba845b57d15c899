/*
 * fetch_udp.h - one BEP 15 announce to a udp:// tracker, non-blocking.
 *
 *   IDLE --start--> CONNECT (connect request sent) --conn id--> ANNOUNCE
 *   (announce sent) --reply--> DONE (peers in the caller's array)
 *   any state --error packet, timeout after the retries--> FAILED
 *
 * The caller drives it with fudp_poll() (the fetcher's tick, or the
 * metadata loop) and reads the socket's readiness itself if it likes
 * (fudp_fd). A request unanswered for FUDP_RTO_MS is sent again, up to
 * FUDP_TRIES times: BEP 15 asks for 15 * 2^n s, far longer than a fetch on a
 * LAN should wait before it tries its other sources; the next announce
 * starts afresh. The host is resolved with getaddrinfo (blocking: a name in a
 * magnet or a .torrent, once per announce).
 */
#ifndef RINGSEED_FETCH_UDP_H
#define RINGSEED_FETCH_UDP_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/tracker.h"

#define FUDP_RTO_MS 2000
#define FUDP_TRIES  3

enum fudp_state {
	FUDP_IDLE,
	FUDP_CONNECT,  /* connect request out, waiting for the connection id */
	FUDP_ANNOUNCE, /* announce out with the connection id */
	FUDP_DONE,     /* the reply is in: peers, interval */
	FUDP_FAILED,   /* why says what */
};

struct fudp {
	enum fudp_state state;
	int fd, family;
	uint32_t txid, tries;
	uint64_t conn_id, sent_ms;
	uint8_t req[98];
	size_t req_len;
	uint8_t peer_id[20], info_hash[20];
	struct trk_announce a;
	struct trk_peer *peers; /* the caller's, max_peers long */
	uint32_t max_peers, n_peers, interval;
	char why[128];
};

/* udp://host:port[/path]: resolves, opens the socket, sends connect. 0 or -errno (why set). */
int fudp_start(struct fudp *u, const char *url, const struct trk_announce *a, uint32_t txid,
	       const char *bind_host, struct trk_peer *peers, uint32_t max_peers, uint64_t now_ms);
/* Reads what came, resends on timeout; returns the state. */
enum fudp_state fudp_poll(struct fudp *u, uint64_t now_ms);
void fudp_close(struct fudp *u);

#endif
