/*
 * fetch_udp.c - a BEP 15 announce, driven from a loop's tick; see fetch_udp.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "master/fetch/fetch_udp.h"

static int fudp_fail(struct fudp *u, int rc, const char *why)
{
	snprintf(u->why, sizeof(u->why), "%s", why);
	u->state = FUDP_FAILED;
	return rc;
}

static void fudp_send(struct fudp *u, uint64_t now_ms)
{
	if (u->state == FUDP_CONNECT)
		u->req_len = trk_udp_connect_req(u->req, u->txid);
	else
		u->req_len = trk_udp_announce_req(u->req, u->conn_id, u->txid, &u->a);
	if (send(u->fd, u->req, u->req_len, MSG_DONTWAIT) < 0)
		snprintf(u->why, sizeof(u->why), "send: %s", strerror(errno));
	u->sent_ms = now_ms;
	u->tries++;
}

/* "udp://host:port/..." into host and port strings. */
static int fudp_split(const char *url, char *host, size_t hcap, char *port, size_t pcap)
{
	const char *h = url + 6, *end, *colon;
	size_t hn;

	if (strncmp(url, "udp://", 6) != 0)
		return -EINVAL;
	end = h + strcspn(h, "/?");
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hn = (size_t)(rb - h - 1);
		h++;
		colon = rb + 1;
	} else {
		colon = memrchr(h, ':', (size_t)(end - h));
		if (!colon)
			return -EINVAL;
		hn = (size_t)(colon - h);
	}
	if (hn == 0 || hn >= hcap || (size_t)(end - colon - 1) >= pcap || end == colon + 1)
		return -EINVAL;
	memcpy(host, h, hn);
	host[hn] = '\0';
	memcpy(port, colon + 1, (size_t)(end - colon - 1));
	port[end - colon - 1] = '\0';
	return 0;
}

int fudp_start(struct fudp *u, const char *url, const struct trk_announce *a, uint32_t txid,
	       const char *bind_host, struct trk_peer *peers, uint32_t max_peers, uint64_t now_ms)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV }, *res;
	char host[256], port[8];
	int rc;

	*u = (struct fudp){ .fd = -1, .txid = txid, .a = *a, .peers = peers,
			    .max_peers = max_peers };
	memcpy(u->info_hash, a->info_hash, 20);
	memcpy(u->peer_id, a->peer_id, 20);
	u->a.info_hash = u->info_hash;
	u->a.peer_id = u->peer_id;
	u->a.tracker_id = NULL;
	if (fudp_split(url, host, sizeof(host), port, sizeof(port)) != 0)
		return fudp_fail(u, -EINVAL, "not udp://HOST:PORT");
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0)
		return fudp_fail(u, -EHOSTUNREACH, gai_strerror(rc));
	u->family = res->ai_family;
	u->fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (u->fd >= 0 && bind_host && res->ai_family == AF_INET) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		/* A box on its own address announces from it, as its TCP side does. */
		if (inet_pton(AF_INET, bind_host, &src.sin_addr) == 1)
			(void)bind(u->fd, (struct sockaddr *)&src, sizeof(src));
	}
	if (u->fd < 0 || connect(u->fd, res->ai_addr, res->ai_addrlen) != 0) {
		snprintf(u->why, sizeof(u->why), "%s: %s", u->fd < 0 ? "socket" : "connect",
			 strerror(errno));
		freeaddrinfo(res);
		fudp_close(u);
		u->state = FUDP_FAILED;
		return -EIO;
	}
	freeaddrinfo(res);
	u->state = FUDP_CONNECT;
	fudp_send(u, now_ms);
	return 0;
}

/* One datagram: the connection id, or the announce's answer. */
static void fudp_read(struct fudp *u, const uint8_t *buf, size_t n, uint64_t now_ms)
{
	struct trk_udp_resp r = { .peers = u->peers, .max_peers = u->max_peers };
	const char *why = NULL;

	if (trk_udp_parse_resp(buf, n, u->family == AF_INET6 ? TRK_AF_INET6 : TRK_AF_INET, u->txid,
			       &r, &why) != 0)
		return; /* not ours, or garbage: the timeout handles silence */
	if (r.action == TRK_UDP_ERROR) {
		snprintf(u->why, sizeof(u->why), "tracker error: %.*s", (int)r.error_len, r.error);
		u->state = FUDP_FAILED;
	} else if (u->state == FUDP_CONNECT && r.action == TRK_UDP_CONNECT) {
		u->conn_id = r.conn_id;
		u->state = FUDP_ANNOUNCE;
		u->tries = 0;
		u->txid = u->txid * 2654435761u + 1; /* a new transaction per request (BEP 15) */
		fudp_send(u, now_ms);
	} else if (u->state == FUDP_ANNOUNCE && r.action == TRK_UDP_ANNOUNCE) {
		u->n_peers = r.n_peers;
		u->interval = r.interval;
		u->state = FUDP_DONE;
	}
}

enum fudp_state fudp_poll(struct fudp *u, uint64_t now_ms)
{
	uint8_t buf[2048];
	ssize_t n;

	if (u->state != FUDP_CONNECT && u->state != FUDP_ANNOUNCE)
		return u->state;
	while ((u->state == FUDP_CONNECT || u->state == FUDP_ANNOUNCE) &&
	       (n = recv(u->fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0)
		fudp_read(u, buf, (size_t)n, now_ms);
	if ((u->state == FUDP_CONNECT || u->state == FUDP_ANNOUNCE) &&
	    now_ms - u->sent_ms >= FUDP_RTO_MS) {
		if (u->tries >= FUDP_TRIES)
			fudp_fail(u, 0, "no answer");
		else
			fudp_send(u, now_ms);
	}
	return u->state;
}

void fudp_close(struct fudp *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}
