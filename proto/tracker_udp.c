/*
 * tracker_udp.c - UDP tracker packets (BEP 15), both sides; see tracker.h.
 *
 * Client requests and the responses the client parses, then the requests
 * the built-in tracker parses and the responses it writes. Nothing here
 * keeps state between calls, so there is no state machine: the exchange
 * (connect, then announce or scrape with the connection id, retransmit after
 * 15 * 2^n seconds) is driven by the caller. Every parser reads only inside
 * [buf, buf + len) and every writer only inside [out, out + cap).
 */
#include <errno.h>
#include <string.h>

#include "proto/tracker_int.h"

/* --- UDP, BEP 15: client requests --- */

static void udp_req_head(uint8_t *out, uint64_t conn_id, uint32_t action, uint32_t txid)
{
	put_be64(out, conn_id);
	put_be32(out + 8, action);
	put_be32(out + 12, txid);
}

size_t trk_udp_connect_req(uint8_t out[16], uint32_t txid)
{
	udp_req_head(out, TRK_UDP_PROTOCOL_ID, TRK_UDP_CONNECT, txid);
	return TRK_UDP_CONNECT_LEN;
}

size_t trk_udp_announce_req(uint8_t out[98], uint64_t conn_id, uint32_t txid,
			    const struct trk_announce *a)
{
	if (!a->info_hash || !a->peer_id || !trk_event_ok(a->event))
		return 0;
	udp_req_head(out, conn_id, TRK_UDP_ANNOUNCE, txid);
	memcpy(out + 16, a->info_hash, TRK_HASH_LEN);
	memcpy(out + 36, a->peer_id, TRK_PEER_ID_LEN);
	put_be64(out + 56, a->downloaded);
	put_be64(out + 64, a->left);
	put_be64(out + 72, a->uploaded);
	put_be32(out + 80, (uint32_t)a->event);
	put_be32(out + 84, 0); /* IP address: 0, the sender's */
	put_be32(out + 88, a->key);
	put_be32(out + 92, a->numwant);
	put_be16(out + 96, a->port);
	return TRK_UDP_ANN_REQ;
}

ssize_t trk_udp_scrape_req(uint8_t *out, size_t cap, uint64_t conn_id, uint32_t txid,
			   const uint8_t (*hashes)[TRK_HASH_LEN], unsigned n)
{
	size_t len = TRK_UDP_HEAD + (size_t)n * TRK_HASH_LEN;

	if (n == 0 || n > TRK_UDP_MAX_SCRAPE)
		return -EINVAL;
	if (cap < len)
		return -ENOSPC;
	udp_req_head(out, conn_id, TRK_UDP_SCRAPE, txid);
	memcpy(out + TRK_UDP_HEAD, hashes, (size_t)n * TRK_HASH_LEN);
	return (ssize_t)len;
}

/* --- UDP, BEP 15: responses the client parses --- */

static int udp_resp_announce(const uint8_t *buf, size_t len, int family, struct trk_udp_resp *r,
			     const char **why)
{
	size_t entry = family == TRK_AF_INET6 ? TRK_PEER6_LEN : TRK_PEER4_LEN;
	struct trk_peer p;

	if (len < TRK_UDP_ANN_RESP)
		return trk_refuse(why, -EINVAL, "announce response shorter than 20 bytes");
	if ((len - TRK_UDP_ANN_RESP) % entry)
		return trk_refuse(why, -EINVAL, "announce response ends inside a peer");
	r->interval = get_be32(buf + 8);
	r->leechers = get_be32(buf + 12);
	r->seeders = get_be32(buf + 16);
	r->total_peers = (uint32_t)((len - TRK_UDP_ANN_RESP) / entry);
	for (size_t off = TRK_UDP_ANN_RESP; off < len; off += entry) {
		memset(&p, 0, sizeof(p));
		p.family = (uint8_t)family;
		memcpy(p.addr, buf + off, entry - 2);
		p.port = get_be16(buf + off + entry - 2);
		if (p.port && r->peers && r->n_peers < r->max_peers)
			r->peers[r->n_peers++] = p;
	}
	return trk_accept(why);
}

static int udp_resp_scrape(const uint8_t *buf, size_t len, struct trk_udp_resp *r, const char **why)
{
	if ((len - TRK_UDP_RESP_HEAD) % TRK_UDP_SCRAPE_ENT)
		return trk_refuse(why, -EINVAL, "scrape response ends inside an entry");
	for (size_t off = TRK_UDP_RESP_HEAD; off < len; off += TRK_UDP_SCRAPE_ENT) {
		struct trk_scrape *s;

		if (!r->scrapes || r->n_scrapes >= r->max_scrapes)
			break;
		s = &r->scrapes[r->n_scrapes++];
		s->complete = get_be32(buf + off);
		s->downloaded = get_be32(buf + off + 4);
		s->incomplete = get_be32(buf + off + 8);
	}
	return trk_accept(why);
}

static void udp_resp_reset(struct trk_udp_resp *r)
{
	r->action = r->txid = 0;
	r->conn_id = 0;
	r->interval = r->leechers = r->seeders = 0;
	r->error = NULL;
	r->error_len = 0;
	r->n_peers = r->total_peers = 0;
	r->n_scrapes = 0;
}

int trk_udp_parse_resp(const uint8_t *buf, size_t len, int family, uint32_t expect_txid,
		       struct trk_udp_resp *r, const char **why)
{
	udp_resp_reset(r);
	if (family != TRK_AF_INET && family != TRK_AF_INET6)
		return trk_refuse(why, -EINVAL, "address family is neither IPv4 nor IPv6");
	if (len < TRK_UDP_RESP_HEAD)
		return trk_refuse(why, -EINVAL, "response shorter than 8 bytes");
	r->action = get_be32(buf);
	r->txid = get_be32(buf + 4);
	if (r->txid != expect_txid)
		return trk_refuse(why, -EINVAL, "transaction id mismatch");
	switch (r->action) {
	case TRK_UDP_CONNECT:
		if (len < TRK_UDP_CONNECT_LEN)
			return trk_refuse(why, -EINVAL, "connect response shorter than 16 bytes");
		r->conn_id = get_be64(buf + 8);
		return trk_accept(why);
	case TRK_UDP_ANNOUNCE:
		return udp_resp_announce(buf, len, family, r, why);
	case TRK_UDP_SCRAPE:
		return udp_resp_scrape(buf, len, r, why);
	case TRK_UDP_ERROR:
		r->error = (const char *)buf + TRK_UDP_RESP_HEAD;
		r->error_len = len - TRK_UDP_RESP_HEAD;
		return trk_accept(why);
	default:
		return trk_refuse(why, -EINVAL, "unknown action");
	}
}

/* --- UDP, BEP 15: requests the server parses --- */

static int udp_req_announce(const uint8_t *buf, size_t len, struct trk_udp_req *r, const char **why)
{
	struct trk_query *q = &r->q;
	uint32_t event, numwant;

	if (len < TRK_UDP_ANN_REQ)
		return trk_refuse(why, -EINVAL, "announce request shorter than 98 bytes");
	memcpy(q->info_hash, buf + 16, TRK_HASH_LEN);
	memcpy(q->peer_id, buf + 36, TRK_PEER_ID_LEN);
	q->downloaded = get_be64(buf + 56);
	q->left = get_be64(buf + 64);
	q->uploaded = get_be64(buf + 72);
	event = get_be32(buf + 80);
	if (event > TRK_EVENT_STOPPED)
		return trk_refuse(why, -EINVAL, "unknown event");
	q->event = (enum trk_event)event;
	memcpy(&r->ip, buf + 84, 4); /* kept in network order */
	q->key = get_be32(buf + 88);
	q->has_key = true;
	numwant = get_be32(buf + 92);
	q->has_numwant = numwant != UINT32_MAX; /* -1: "default" */
	q->numwant = q->has_numwant ? numwant : 0;
	q->port = get_be16(buf + 96);
	if (q->port == 0)
		return trk_refuse(why, -EINVAL, "port 0");
	q->compact = true;
	return trk_accept(why);
}

int trk_udp_parse_req(const uint8_t *buf, size_t len, struct trk_udp_req *r, const char **why)
{
	memset(r, 0, sizeof(*r));
	if (len < TRK_UDP_HEAD)
		return trk_refuse(why, -EINVAL, "request shorter than 16 bytes");
	r->conn_id = get_be64(buf);
	r->action = get_be32(buf + 8);
	r->txid = get_be32(buf + 12);
	switch (r->action) {
	case TRK_UDP_CONNECT:
		if (len != TRK_UDP_CONNECT_LEN)
			return trk_refuse(why, -EINVAL, "connect request not 16 bytes");
		if (r->conn_id != TRK_UDP_PROTOCOL_ID)
			return trk_refuse(why, -EINVAL, "connect request without the protocol id");
		return trk_accept(why);
	case TRK_UDP_ANNOUNCE:
		return udp_req_announce(buf, len, r, why);
	case TRK_UDP_SCRAPE:
		if ((len - TRK_UDP_HEAD) % TRK_HASH_LEN)
			return trk_refuse(why, -EINVAL, "scrape request ends inside a hash");
		if (len == TRK_UDP_HEAD)
			return trk_refuse(why, -EINVAL, "scrape request without a hash");
		if ((len - TRK_UDP_HEAD) / TRK_HASH_LEN > TRK_UDP_MAX_SCRAPE)
			return trk_refuse(why, -EINVAL, "scrape request over 74 hashes");
		r->hashes = buf + TRK_UDP_HEAD;
		r->n_hashes = (unsigned)((len - TRK_UDP_HEAD) / TRK_HASH_LEN);
		return trk_accept(why);
	default:
		return trk_refuse(why, -EINVAL, "unknown action");
	}
}

/* --- UDP, BEP 15: server responses --- */

size_t trk_udp_connect_resp(uint8_t out[16], uint32_t txid, uint64_t conn_id)
{
	put_be32(out, TRK_UDP_CONNECT);
	put_be32(out + 4, txid);
	put_be64(out + 8, conn_id);
	return TRK_UDP_CONNECT_LEN;
}

ssize_t trk_udp_announce_resp(uint8_t *out, size_t cap, uint32_t txid, uint32_t interval,
			      uint32_t leechers, uint32_t seeders, const struct trk_peer *peers,
			      unsigned n, int family)
{
	size_t entry = family == TRK_AF_INET6 ? TRK_PEER6_LEN : TRK_PEER4_LEN;
	size_t len = TRK_UDP_ANN_RESP;

	if (family != TRK_AF_INET && family != TRK_AF_INET6)
		return -EINVAL;
	if (cap < len)
		return -ENOSPC;
	put_be32(out, TRK_UDP_ANNOUNCE);
	put_be32(out + 4, txid);
	put_be32(out + 8, interval);
	put_be32(out + 12, leechers);
	put_be32(out + 16, seeders);
	for (unsigned i = 0; i < n; i++) {
		if (peers[i].family != family)
			continue;
		if (cap - len < entry)
			return -ENOSPC;
		memcpy(out + len, peers[i].addr, entry - 2);
		put_be16(out + len + entry - 2, peers[i].port);
		len += entry;
	}
	return (ssize_t)len;
}

ssize_t trk_udp_scrape_resp(uint8_t *out, size_t cap, uint32_t txid, const struct trk_scrape *s,
			    unsigned n)
{
	size_t len = TRK_UDP_RESP_HEAD + (size_t)n * TRK_UDP_SCRAPE_ENT;

	if (cap < len)
		return -ENOSPC;
	put_be32(out, TRK_UDP_SCRAPE);
	put_be32(out + 4, txid);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = out + TRK_UDP_RESP_HEAD + (size_t)i * TRK_UDP_SCRAPE_ENT;

		put_be32(e, s[i].complete);
		put_be32(e + 4, s[i].downloaded);
		put_be32(e + 8, s[i].incomplete);
	}
	return (ssize_t)len;
}

ssize_t trk_udp_error_resp(uint8_t *out, size_t cap, uint32_t txid, const char *msg)
{
	size_t n;

	if (!msg)
		return -EINVAL;
	n = strlen(msg);
	if (cap < TRK_UDP_RESP_HEAD || n > cap - TRK_UDP_RESP_HEAD)
		return -ENOSPC;
	put_be32(out, TRK_UDP_ERROR);
	put_be32(out + 4, txid);
	memcpy(out + TRK_UDP_RESP_HEAD, msg, n);
	return (ssize_t)(TRK_UDP_RESP_HEAD + n);
}
