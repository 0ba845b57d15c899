/*
 * tracker.c - tracker packets, both sides; see tracker.h for the contract.
 *
 * In file order: byte and text helpers (big-endian loads and stores, a
 * bounded text writer, percent-encoding, IP address text both ways), the HTTP
 * client (announce and scrape URLs, reply parsers), UDP (BEP 15) for both
 * sides, and the HTTP server side (query parsers, bencoded replies).
 *
 * Nothing here keeps state between calls, so there is no state machine: the
 * BEP 15 exchange (connect, then announce or scrape with the connection id,
 * retransmit after 15 * 2^n seconds) is driven by the caller. Every parser
 * reads only inside [buf, buf + len) and every writer only inside
 * [out, out + cap); on a refusal *why (when why is not NULL) names the rule.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "proto/bencode.h"
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

_Static_assert(sizeof(((struct trk_peer *)0)->peer_id) == TRK_PEER_ID_LEN, "peer id size");
_Static_assert(sizeof(((struct trk_query *)0)->peer_id) == TRK_PEER_ID_LEN, "peer id size");

static int refuse(const char **why, int err, const char *msg)
{
	if (why)
		*why = msg;
	return err;
}

static int accept_ok(const char **why)
{
	if (why)
		*why = NULL;
	return 0;
}

/* --- big-endian loads and stores (BEP 15: "network byte order") --- */

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* --- a bounded text writer: once full, it writes nothing more --- */

struct trk_text {
	char *p;
	size_t cap, len;
	bool full;
};

static void text_mem(struct trk_text *t, const void *s, size_t n)
{
	if (t->full || n > t->cap - t->len) {
		t->full = true;
		return;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
}

static void text_str(struct trk_text *t, const char *s)
{
	text_mem(t, s, strlen(s));
}

static void text_u64(struct trk_text *t, uint64_t v)
{
	char d[20];
	size_t n = sizeof(d);

	do {
		d[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	text_mem(t, d + n, sizeof(d) - n);
}

static const char trk_hex_upper[] = "0123456789ABCDEF";

/* RFC 3986 unreserved characters go as they are; every other byte as %XX. */
static void text_pct(struct trk_text *t, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		char e[3] = { '%', trk_hex_upper[c >> 4], trk_hex_upper[c & 15] };

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			text_mem(t, &c, 1);
		else
			text_mem(t, e, 3);
	}
}

/* NUL-terminates; the length, or -ENOSPC when the text and its NUL did not fit. */
static ssize_t text_finish(struct trk_text *t)
{
	text_mem(t, "", 1);
	if (t->full)
		return -ENOSPC;
	return (ssize_t)(t->len - 1);
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* --- IP addresses as text, without inet_pton/inet_ntop (proto/ is pure) --- */

/* A dotted quad, exactly: four decimal octets, no leading zeros, nothing else. */
static bool ip4_parse(const char *s, size_t n, uint8_t out[4])
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0, nd = 0;

		if (part && (i == n || s[i++] != '.'))
			return false;
		while (i < n && s[i] >= '0' && s[i] <= '9' && nd < 4) {
			if (nd == 1 && v == 0)
				return false; /* a leading zero */
			v = v * 10 + (unsigned)(s[i++] - '0');
			nd++;
		}
		if (nd == 0 || v > 255)
			return false;
		out[part] = (uint8_t)v;
	}
	return i == n;
}

/* Moves the groups written after "::" to the end and zeroes the gap. */
static bool ip6_expand(uint8_t tmp[16], size_t tp, long gap, uint8_t out[16])
{
	if (gap < 0) {
		if (tp != 16)
			return false;
		memcpy(out, tmp, 16);
		return true;
	}
	if (tp == 16)
		return false; /* "::" must stand for at least one group */
	memset(out, 0, 16);
	memcpy(out, tmp, (size_t)gap);
	memcpy(out + 16 - (tp - (size_t)gap), tmp + gap, tp - (size_t)gap);
	return true;
}

/* RFC 4291 section 2.2 text: hex groups, one "::", an optional dotted quad at the end. */
static bool ip6_parse(const char *s, size_t n, uint8_t out[16])
{
	uint8_t tmp[16];
	size_t i = 0, tp = 0;
	long gap = -1;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	} else if (n == 0 || s[0] == ':') {
		return false;
	}
	while (i < n) {
		size_t start = i, nd = 0;
		unsigned v = 0;

		while (i < n && nd < 5 && hex_val(s[i]) >= 0) {
			v = v << 4 | (unsigned)hex_val(s[i++]);
			nd++;
		}
		if (i < n && s[i] == '.') {
			if (tp + 4 > 16 || !ip4_parse(s + start, n - start, tmp + tp))
				return false;
			tp += 4;
			break;
		}
		if (nd == 0 || nd > 4 || tp + 2 > 16)
			return false;
		tmp[tp++] = (uint8_t)(v >> 8);
		tmp[tp++] = (uint8_t)v;
		if (i == n)
			break;
		if (s[i++] != ':' || i == n)
			return false;
		if (s[i] == ':') {
			if (gap >= 0)
				return false;
			gap = (long)tp;
			i++;
		}
	}
	return ip6_expand(tmp, tp, gap, out);
}

/* Dotted quad, or an IPv6 address; *family says which. False for anything else. */
static bool ip_parse(const uint8_t *s, size_t n, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (n >= TRK_IP_TEXT_MAX)
		return false;
	if (ip4_parse((const char *)s, n, addr)) {
		*family = TRK_AF_INET;
		return true;
	}
	if (ip6_parse((const char *)s, n, addr)) {
		*family = TRK_AF_INET6;
		return true;
	}
	return false;
}

static void ip4_format(struct trk_text *t, const uint8_t a[4])
{
	for (int i = 0; i < 4; i++) {
		if (i)
			text_mem(t, ".", 1);
		text_u64(t, a[i]);
	}
}

/* RFC 5952: lower-case hex, the longest run of two or more zero groups as "::". */
static void ip6_format(struct trk_text *t, const uint8_t a[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	int best = -1, best_len = 1, run = 0;

	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		text_str(t, "::ffff:");
		ip4_format(t, a + 12);
		return;
	}
	for (int g = 0; g < 8; g++) {
		run = (a[2 * g] | a[2 * g + 1]) ? 0 : run + 1;
		if (run > best_len) {
			best_len = run;
			best = g - run + 1;
		}
	}
	for (int g = 0; g < 8; g++) {
		unsigned v = (unsigned)(a[2 * g] << 8 | a[2 * g + 1]);
		char d[4];
		int nd = 0;

		if (g == best) {
			text_str(t, "::");
			g += best_len - 1;
			continue;
		}
		if (g && g != best + best_len)
			text_mem(t, ":", 1);
		do {
			d[nd++] = "0123456789abcdef"[v & 15];
			v >>= 4;
		} while (v);
		while (nd)
			text_mem(t, &d[--nd], 1);
	}
}

/* --- client side, HTTP --- */

static const char *event_name(enum trk_event ev)
{
	switch (ev) {
	case TRK_EVENT_STARTED:
		return "started";
	case TRK_EVENT_COMPLETED:
		return "completed";
	case TRK_EVENT_STOPPED:
		return "stopped";
	default:
		return NULL;
	}
}

static bool event_ok(enum trk_event ev)
{
	return (unsigned)ev <= TRK_EVENT_STOPPED;
}

ssize_t trk_http_announce_url(char *out, size_t cap, const char *base, const struct trk_announce *a)
{
	struct trk_text t = { out, cap, 0, false };
	const char *q, *ev;
	size_t blen;

	if (!base || !a->info_hash || !a->peer_id || !event_ok(a->event))
		return -EINVAL;
	blen = strlen(base);
	if (blen == 0 || memchr(base, '#', blen))
		return -EINVAL; /* a fragment would swallow the parameters */
	text_mem(&t, base, blen);
	q = strchr(base, '?');
	if (!q)
		text_mem(&t, "?", 1);
	else if (base[blen - 1] != '?' && base[blen - 1] != '&')
		text_mem(&t, "&", 1);
	text_str(&t, "info_hash=");
	text_pct(&t, a->info_hash, TRK_HASH_LEN);
	text_str(&t, "&peer_id=");
	text_pct(&t, a->peer_id, TRK_PEER_ID_LEN);
	text_str(&t, "&port=");
	text_u64(&t, a->port);
	text_str(&t, "&uploaded=");
	text_u64(&t, a->uploaded);
	text_str(&t, "&downloaded=");
	text_u64(&t, a->downloaded);
	text_str(&t, "&left=");
	text_u64(&t, a->left);
	ev = event_name(a->event);
	if (ev) {
		text_str(&t, "&event=");
		text_str(&t, ev);
	}
	text_str(&t, "&compact=1&numwant=");
	text_u64(&t, a->numwant);
	text_str(&t, "&key="); /* BEP 7: eight hex digits */
	for (int i = 28; i >= 0; i -= 4)
		text_mem(&t, &trk_hex_upper[(a->key >> i) & 15], 1);
	if (a->tracker_id) {
		text_str(&t, "&trackerid=");
		text_pct(&t, (const uint8_t *)a->tracker_id, strlen(a->tracker_id));
	}
	return text_finish(&t);
}

/*
 * BEP 48 looks for "announce" in the path section only: after the authority
 * ("scheme://host:port") and before the query or fragment. The host itself
 * never counts, so http://announce.example/ has no scrape URL.
 */
int trk_http_scrape_url(char *out, size_t cap, const char *url)
{
	size_t n = strlen(url), end = strcspn(url, "?#"), path, slash = SIZE_MAX;
	const char *scheme = strstr(url, "://");
	struct trk_text t = { out, cap, 0, false };

	if (!scheme || (size_t)(scheme - url) >= end)
		return -EINVAL;
	path = (size_t)(scheme - url) + 3;
	while (path < end && url[path] != '/')
		path++;
	for (size_t i = path; i < end; i++)
		if (url[i] == '/')
			slash = i;
	if (slash == SIZE_MAX || end - (slash + 1) < 8 || memcmp(url + slash + 1, "announce", 8))
		return -EINVAL;
	text_mem(&t, url, slash + 1);
	text_str(&t, "scrape");
	text_mem(&t, url + slash + 9, n - (slash + 9));
	return text_finish(&t) < 0 ? -ENOSPC : 0;
}

static void reply_add(struct trk_reply *r, const struct trk_peer *p)
{
	if (p->family == TRK_AF_INET)
		r->peers4++;
	else
		r->peers6++;
	if (r->peers && r->n_peers < r->max_peers)
		r->peers[r->n_peers++] = *p;
}

/* BEP 23 / BEP 7 compact entries: address then port, big-endian. */
static int reply_compact(struct trk_reply *r, const struct bc_val *v, size_t entry,
			 const char **why)
{
	struct trk_peer p;

	if (v->type != BC_STR)
		return refuse(why, -EINVAL,
			      entry == TRK_PEER4_LEN ? "peers is not a string or list"
						     : "peers6 is not a string");
	if (v->str_len % entry)
		return refuse(why, -EINVAL,
			      entry == TRK_PEER4_LEN ? "peers not a multiple of 6"
						     : "peers6 not a multiple of 18");
	for (size_t off = 0; off < v->str_len; off += entry) {
		const uint8_t *e = v->str + off;

		memset(&p, 0, sizeof(p));
		p.family = entry == TRK_PEER4_LEN ? TRK_AF_INET : TRK_AF_INET6;
		memcpy(p.addr, e, entry - 2);
		p.port = get_be16(e + entry - 2);
		if (p.port == 0)
			r->peers_skipped++;
		else
			reply_add(r, &p);
	}
	return 0;
}

/*
 * BEP 3 dictionary peers: "ip" (text: IPv4, IPv6 or a DNS name), "port",
 * optional "peer id". An entry we cannot use (not a dictionary, a host name,
 * a port outside 1..65535) is counted in peers_skipped, not refused: one odd
 * peer should not cost the whole reply.
 */
static void reply_dict_peer(struct trk_reply *r, const struct bc_val *d)
{
	struct bc_val ip, port, id;
	struct trk_peer p;

	memset(&p, 0, sizeof(p));
	if (!bc_dict_get_type(d, "ip", BC_STR, &ip) ||
	    !bc_dict_get_type(d, "port", BC_INT, &port) || port.num < 1 || port.num > 65535 ||
	    !ip_parse(ip.str, ip.str_len, &p.family, p.addr)) {
		r->peers_skipped++;
		return;
	}
	p.port = (uint16_t)port.num;
	if (bc_dict_get_type(d, "peer id", BC_STR, &id) && id.str_len == TRK_PEER_ID_LEN) {
		p.has_id = true;
		memcpy(p.peer_id, id.str, TRK_PEER_ID_LEN);
	}
	reply_add(r, &p);
}

static int reply_peers(struct trk_reply *r, const struct bc_val *root, const char **why)
{
	struct bc_val v, item;
	struct bc_iter it;
	int rc;

	if (bc_dict_get(root, "peers", &v)) {
		if (v.type == BC_LIST) {
			bc_iter_init(&it, &v);
			while (bc_next(&it, NULL, &item))
				reply_dict_peer(r, &item);
		} else if ((rc = reply_compact(r, &v, TRK_PEER4_LEN, why))) {
			return rc;
		}
	}
	if (bc_dict_get(root, "peers6", &v) && (rc = reply_compact(r, &v, TRK_PEER6_LEN, why)))
		return rc;
	return 0;
}

/* An optional string; false (with *why) when present with another type. */
static bool get_opt_str(const struct bc_val *d, const char *key, const char **s, size_t *n)
{
	struct bc_val v;

	if (!bc_dict_get(d, key, &v))
		return true;
	if (v.type != BC_STR)
		return false;
	*s = (const char *)v.str;
	*n = v.str_len;
	return true;
}

/* An optional count: absent stays as it is; another type or a negative is false. */
static bool get_opt_count(const struct bc_val *d, const char *key, int64_t *out)
{
	struct bc_val v;

	if (!bc_dict_get(d, key, &v))
		return true;
	if (v.type != BC_INT || v.num < 0)
		return false;
	*out = v.num;
	return true;
}

static void reply_reset(struct trk_reply *r)
{
	r->failure = r->warning = r->tracker_id = NULL;
	r->failure_len = r->warning_len = r->tracker_id_len = 0;
	r->interval = r->min_interval = r->complete = r->incomplete = -1;
	r->peers4 = r->peers6 = r->n_peers = r->peers_skipped = 0;
}

int trk_http_parse_announce(const uint8_t *buf, size_t len, struct trk_reply *r, const char **why)
{
	struct bc_val root;
	struct bc_err err;

	reply_reset(r);
	/* Key order carries no meaning here, and some trackers do not sort. */
	if (bc_parse(buf, len, BC_ALLOW_UNSORTED, &root, &err))
		return refuse(why, -EINVAL, err.what);
	if (root.type != BC_DICT)
		return refuse(why, -EINVAL, "reply is not a dictionary");
	if (!get_opt_str(&root, "failure reason", &r->failure, &r->failure_len))
		return refuse(why, -EINVAL, "failure reason is not a string");
	if (r->failure)
		return accept_ok(why); /* BEP 3: "no other keys are required" */
	if (!get_opt_str(&root, "warning message", &r->warning, &r->warning_len))
		return refuse(why, -EINVAL, "warning message is not a string");
	if (!get_opt_str(&root, "tracker id", &r->tracker_id, &r->tracker_id_len))
		return refuse(why, -EINVAL, "tracker id is not a string");
	if (!get_opt_count(&root, "interval", &r->interval))
		return refuse(why, -EINVAL, "interval is not a count");
	if (!get_opt_count(&root, "min interval", &r->min_interval))
		return refuse(why, -EINVAL, "min interval is not a count");
	if (!get_opt_count(&root, "complete", &r->complete))
		return refuse(why, -EINVAL, "complete is not a count");
	if (!get_opt_count(&root, "incomplete", &r->incomplete))
		return refuse(why, -EINVAL, "incomplete is not a count");
	if (reply_peers(r, &root, why))
		return -EINVAL;
	return accept_ok(why);
}

/* A scrape count: absent is 0, beyond 32 bits saturates, another type or a negative is false. */
static bool scrape_count(const struct bc_val *d, const char *key, uint32_t *out)
{
	int64_t v = 0;

	if (!get_opt_count(d, key, &v))
		return false;
	*out = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	return true;
}

int trk_http_parse_scrape(const uint8_t *buf, size_t len, const uint8_t info_hash[TRK_HASH_LEN],
			  struct trk_scrape *s, const char **why)
{
	struct bc_val root, files, k, v;
	struct bc_err err;
	struct bc_iter it;

	memset(s, 0, sizeof(*s));
	if (bc_parse(buf, len, BC_ALLOW_UNSORTED, &root, &err))
		return refuse(why, -EINVAL, err.what);
	if (root.type != BC_DICT)
		return refuse(why, -EINVAL, "reply is not a dictionary");
	if (bc_dict_get(&root, "failure reason", &v))
		return refuse(why, -EINVAL, "the tracker sent a failure reason");
	if (!bc_dict_get_type(&root, "files", BC_DICT, &files))
		return refuse(why, -EINVAL, "files is missing or not a dictionary");
	bc_iter_init(&it, &files);
	while (bc_next(&it, &k, &v)) {
		if (k.str_len != TRK_HASH_LEN || memcmp(k.str, info_hash, TRK_HASH_LEN) != 0)
			continue;
		if (v.type != BC_DICT)
			return refuse(why, -EINVAL, "files entry is not a dictionary");
		if (!scrape_count(&v, "complete", &s->complete) ||
		    !scrape_count(&v, "downloaded", &s->downloaded) ||
		    !scrape_count(&v, "incomplete", &s->incomplete))
			return refuse(why, -EINVAL, "files entry count is not a count");
		return accept_ok(why);
	}
	return refuse(why, -ENOENT, "info_hash not in the scrape reply");
}

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
	if (!a->info_hash || !a->peer_id || !event_ok(a->event))
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
		return refuse(why, -EINVAL, "announce response shorter than 20 bytes");
	if ((len - TRK_UDP_ANN_RESP) % entry)
		return refuse(why, -EINVAL, "announce response ends inside a peer");
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
	return accept_ok(why);
}

static int udp_resp_scrape(const uint8_t *buf, size_t len, struct trk_udp_resp *r, const char **why)
{
	if ((len - TRK_UDP_RESP_HEAD) % TRK_UDP_SCRAPE_ENT)
		return refuse(why, -EINVAL, "scrape response ends inside an entry");
	for (size_t off = TRK_UDP_RESP_HEAD; off < len; off += TRK_UDP_SCRAPE_ENT) {
		struct trk_scrape *s;

		if (!r->scrapes || r->n_scrapes >= r->max_scrapes)
			break;
		s = &r->scrapes[r->n_scrapes++];
		s->complete = get_be32(buf + off);
		s->downloaded = get_be32(buf + off + 4);
		s->incomplete = get_be32(buf + off + 8);
	}
	return accept_ok(why);
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
		return refuse(why, -EINVAL, "address family is neither IPv4 nor IPv6");
	if (len < TRK_UDP_RESP_HEAD)
		return refuse(why, -EINVAL, "response shorter than 8 bytes");
	r->action = get_be32(buf);
	r->txid = get_be32(buf + 4);
	if (r->txid != expect_txid)
		return refuse(why, -EINVAL, "transaction id mismatch");
	switch (r->action) {
	case TRK_UDP_CONNECT:
		if (len < TRK_UDP_CONNECT_LEN)
			return refuse(why, -EINVAL, "connect response shorter than 16 bytes");
		r->conn_id = get_be64(buf + 8);
		return accept_ok(why);
	case TRK_UDP_ANNOUNCE:
		return udp_resp_announce(buf, len, family, r, why);
	case TRK_UDP_SCRAPE:
		return udp_resp_scrape(buf, len, r, why);
	case TRK_UDP_ERROR:
		r->error = (const char *)buf + TRK_UDP_RESP_HEAD;
		r->error_len = len - TRK_UDP_RESP_HEAD;
		return accept_ok(why);
	default:
		return refuse(why, -EINVAL, "unknown action");
	}
}

/* --- UDP, BEP 15: requests the server parses --- */

static int udp_req_announce(const uint8_t *buf, size_t len, struct trk_udp_req *r, const char **why)
{
	struct trk_query *q = &r->q;
	uint32_t event, numwant;

	if (len < TRK_UDP_ANN_REQ)
		return refuse(why, -EINVAL, "announce request shorter than 98 bytes");
	memcpy(q->info_hash, buf + 16, TRK_HASH_LEN);
	memcpy(q->peer_id, buf + 36, TRK_PEER_ID_LEN);
	q->downloaded = get_be64(buf + 56);
	q->left = get_be64(buf + 64);
	q->uploaded = get_be64(buf + 72);
	event = get_be32(buf + 80);
	if (event > TRK_EVENT_STOPPED)
		return refuse(why, -EINVAL, "unknown event");
	q->event = (enum trk_event)event;
	memcpy(&r->ip, buf + 84, 4); /* kept in network order */
	q->key = get_be32(buf + 88);
	q->has_key = true;
	numwant = get_be32(buf + 92);
	q->has_numwant = numwant != UINT32_MAX; /* -1: "default" */
	q->numwant = q->has_numwant ? numwant : 0;
	q->port = get_be16(buf + 96);
	if (q->port == 0)
		return refuse(why, -EINVAL, "port 0");
	q->compact = true;
	return accept_ok(why);
}

int trk_udp_parse_req(const uint8_t *buf, size_t len, struct trk_udp_req *r, const char **why)
{
	memset(r, 0, sizeof(*r));
	if (len < TRK_UDP_HEAD)
		return refuse(why, -EINVAL, "request shorter than 16 bytes");
	r->conn_id = get_be64(buf);
	r->action = get_be32(buf + 8);
	r->txid = get_be32(buf + 12);
	switch (r->action) {
	case TRK_UDP_CONNECT:
		if (len != TRK_UDP_CONNECT_LEN)
			return refuse(why, -EINVAL, "connect request not 16 bytes");
		if (r->conn_id != TRK_UDP_PROTOCOL_ID)
			return refuse(why, -EINVAL, "connect request without the protocol id");
		return accept_ok(why);
	case TRK_UDP_ANNOUNCE:
		return udp_req_announce(buf, len, r, why);
	case TRK_UDP_SCRAPE:
		if ((len - TRK_UDP_HEAD) % TRK_HASH_LEN)
			return refuse(why, -EINVAL, "scrape request ends inside a hash");
		if (len == TRK_UDP_HEAD)
			return refuse(why, -EINVAL, "scrape request without a hash");
		if ((len - TRK_UDP_HEAD) / TRK_HASH_LEN > TRK_UDP_MAX_SCRAPE)
			return refuse(why, -EINVAL, "scrape request over 74 hashes");
		r->hashes = buf + TRK_UDP_HEAD;
		r->n_hashes = (unsigned)((len - TRK_UDP_HEAD) / TRK_HASH_LEN);
		return accept_ok(why);
	default:
		return refuse(why, -EINVAL, "unknown action");
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

/* --- server side, HTTP: query strings --- */

/* One "key=value" of a query; a key without '=' has an empty value. */
struct trk_qfield {
	const char *key, *val;
	size_t key_len, val_len;
};

/* The next non-empty field at or after *pos, or false at the end. */
static bool q_next(const char *q, size_t len, size_t *pos, struct trk_qfield *f)
{
	size_t i, amp, eq;

	while (*pos < len && q[*pos] == '&')
		(*pos)++;
	if (*pos == len)
		return false;
	i = *pos;
	for (amp = i; amp < len && q[amp] != '&'; amp++)
		;
	for (eq = i; eq < amp && q[eq] != '='; eq++)
		;
	f->key = q + i;
	f->key_len = eq - i;
	f->val = eq < amp ? q + eq + 1 : q + amp;
	f->val_len = eq < amp ? amp - eq - 1 : 0;
	*pos = amp;
	return true;
}

static bool q_key(const struct trk_qfield *f, const char *k)
{
	return f->key_len == strlen(k) && memcmp(f->key, k, f->key_len) == 0;
}

/*
 * Percent-decodes f's value, keeping the first cap bytes; the decoded length
 * (which may exceed cap), or -1 on a '%' not followed by two hex digits. '+'
 * stays 0x2B: clients percent-encode binary fields, and form encoding's
 * space would corrupt a hash that holds the byte.
 */
static ssize_t q_decode(const struct trk_qfield *f, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < f->val_len; n++) {
		uint8_t c = (uint8_t)f->val[i];

		if (c == '%') {
			if (f->val_len - i < 3 || hex_val(f->val[i + 1]) < 0 ||
			    hex_val(f->val[i + 2]) < 0)
				return -1;
			c = (uint8_t)(hex_val(f->val[i + 1]) << 4 | hex_val(f->val[i + 2]));
			i += 3;
		} else {
			i++;
		}
		if (n < cap)
			out[n] = c;
	}
	return (ssize_t)n;
}

/* Exactly n bytes after decoding (info_hash, peer_id). */
static int q_bytes(const struct trk_qfield *f, uint8_t *out, size_t n, const char **why,
		   const char *bad)
{
	uint8_t tmp[TRK_HASH_LEN];
	ssize_t got = q_decode(f, tmp, sizeof(tmp));

	if (got < 0)
		return refuse(why, -EINVAL, "bad percent escape");
	if ((size_t)got != n)
		return refuse(why, -EINVAL, bad);
	memcpy(out, tmp, n);
	return 0;
}

/* Unsigned decimal up to max; 0, -EINVAL with bad, or -EINVAL for an escape. */
static int q_num(const struct trk_qfield *f, uint64_t max, uint64_t *v, const char **why,
		 const char *bad)
{
	uint8_t d[21];
	ssize_t n = q_decode(f, d, sizeof(d));
	uint64_t x = 0;

	if (n < 0)
		return refuse(why, -EINVAL, "bad percent escape");
	if (n == 0 || (size_t)n > sizeof(d))
		return refuse(why, -EINVAL, bad);
	for (ssize_t i = 0; i < n; i++) {
		unsigned dig = (unsigned)(d[i] - '0');

		if (dig > 9 || x > (max - dig) / 10)
			return refuse(why, -EINVAL, bad);
		x = x * 10 + dig;
	}
	*v = x;
	return 0;
}

/* Compares f's decoded value with s; false also on a bad escape. */
static bool q_val_is(const struct trk_qfield *f, const char *s)
{
	uint8_t d[16];
	ssize_t n = q_decode(f, d, sizeof(d));

	return n >= 0 && (size_t)n == strlen(s) && (size_t)n <= sizeof(d) &&
	       !memcmp(d, s, (size_t)n);
}

/* event=: BEP 3's three, empty, or BEP 21's "paused" (no event of ours). */
static int q_event(const struct trk_qfield *f, enum trk_event *ev, const char **why)
{
	if (q_val_is(f, "started"))
		*ev = TRK_EVENT_STARTED;
	else if (q_val_is(f, "completed"))
		*ev = TRK_EVENT_COMPLETED;
	else if (q_val_is(f, "stopped"))
		*ev = TRK_EVENT_STOPPED;
	else if (q_val_is(f, "") || q_val_is(f, "paused"))
		*ev = TRK_EVENT_NONE;
	else
		return refuse(why, -EINVAL, "bad event");
	return 0;
}

static int q_flag(const struct trk_qfield *f, bool *b, const char **why, const char *bad)
{
	if (q_val_is(f, "1"))
		*b = true;
	else if (q_val_is(f, "0"))
		*b = false;
	else
		return refuse(why, -EINVAL, bad);
	return 0;
}

/* BEP 7 key: 1..8 hex digits. Anything else is not ours to judge; it is ignored. */
static void q_hexkey(const struct trk_qfield *f, struct trk_query *out)
{
	uint8_t d[9];
	ssize_t n = q_decode(f, d, sizeof(d));
	uint32_t k = 0;

	out->key = 0; /* the last key wins, even one we ignore */
	out->has_key = false;
	if (n < 1 || n > 8)
		return;
	for (ssize_t i = 0; i < n; i++) {
		int h = hex_val((char)d[i]);

		if (h < 0)
			return;
		k = k << 4 | (uint32_t)h;
	}
	out->key = k;
	out->has_key = true;
}

/* One field of an announce query; *seen collects the required ones (bits 0..2). */
static int q_announce_field(const struct trk_qfield *f, struct trk_query *out, unsigned *seen,
			    const char **why)
{
	uint64_t v = 0;
	int rc = 0;

	if (q_key(f, "info_hash")) {
		rc = q_bytes(f, out->info_hash, TRK_HASH_LEN, why, "info_hash is not 20 bytes");
		*seen |= 1;
	} else if (q_key(f, "peer_id")) {
		rc = q_bytes(f, out->peer_id, TRK_PEER_ID_LEN, why, "peer_id is not 20 bytes");
		*seen |= 2;
	} else if (q_key(f, "port")) {
		rc = q_num(f, 65535, &v, why, "bad port");
		if (!rc && v == 0)
			rc = refuse(why, -EINVAL, "bad port");
		out->port = (uint16_t)v;
		*seen |= 4;
	} else if (q_key(f, "uploaded")) {
		rc = q_num(f, UINT64_MAX, &out->uploaded, why, "bad uploaded");
	} else if (q_key(f, "downloaded")) {
		rc = q_num(f, UINT64_MAX, &out->downloaded, why, "bad downloaded");
	} else if (q_key(f, "left")) {
		rc = q_num(f, UINT64_MAX, &out->left, why, "bad left");
	} else if (q_key(f, "event")) {
		rc = q_event(f, &out->event, why);
	} else if (q_key(f, "compact")) {
		rc = q_flag(f, &out->compact, why, "bad compact");
	} else if (q_key(f, "no_peer_id")) {
		rc = q_flag(f, &out->no_peer_id, why, "bad no_peer_id");
	} else if (q_key(f, "numwant")) {
		rc = q_num(f, UINT32_MAX, &v, why, "bad numwant");
		out->numwant = (uint32_t)v;
		out->has_numwant = true;
	} else if (q_key(f, "key")) {
		q_hexkey(f, out);
	}
	return rc;
}

int trk_parse_announce_query(const char *q, size_t len, struct trk_query *out, const char **why)
{
	struct trk_qfield f;
	unsigned seen = 0;
	size_t pos = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->compact = true;
	while (q_next(q, len, &pos, &f))
		if ((rc = q_announce_field(&f, out, &seen, why)))
			return rc;
	if (!(seen & 1))
		return refuse(why, -EINVAL, "info_hash missing");
	if (!(seen & 2))
		return refuse(why, -EINVAL, "peer_id missing");
	if (!(seen & 4))
		return refuse(why, -EINVAL, "port missing");
	return accept_ok(why);
}

int trk_parse_scrape_query(const char *q, size_t len, uint8_t (*hashes)[TRK_HASH_LEN], unsigned max,
			   unsigned *n, const char **why)
{
	struct trk_qfield f;
	uint8_t h[TRK_HASH_LEN];
	size_t pos = 0;
	int rc;

	*n = 0;
	while (q_next(q, len, &pos, &f)) {
		if (!q_key(&f, "info_hash"))
			continue;
		if ((rc = q_bytes(&f, h, TRK_HASH_LEN, why, "info_hash is not 20 bytes")))
			return rc;
		if (*n == max)
			return refuse(why, -E2BIG, "too many info_hash values");
		memcpy(hashes[(*n)++], h, TRK_HASH_LEN);
	}
	return accept_ok(why);
}

/* --- server side, HTTP: bencoded replies --- */

/*
 * A compact peer string of one family. The encoder copies a string from a
 * source it is given; rather than stage the entries in a buffer of unbounded
 * size, it is handed n * entry bytes of the peer array as filler, and the
 * entries are then written over that filler in place.
 */
static void enc_compact(struct bc_enc *e, const struct trk_peer *peers, unsigned n, int family)
{
	size_t entry = family == TRK_AF_INET ? TRK_PEER4_LEN : TRK_PEER6_LEN, count = 0;
	uint8_t *dst;

	_Static_assert(sizeof(struct trk_peer) >= TRK_PEER6_LEN, "the filler is large enough");
	for (unsigned i = 0; i < n; i++)
		count += peers[i].family == family;
	bc_enc_str(e, peers, count * entry);
	if (e->err)
		return;
	dst = e->buf + e->len - count * entry;
	for (unsigned i = 0; i < n; i++) {
		if (peers[i].family != family)
			continue;
		memcpy(dst, peers[i].addr, entry - 2);
		put_be16(dst + entry - 2, peers[i].port);
		dst += entry;
	}
}

static void enc_dict_peer(struct bc_enc *e, const struct trk_peer *p, bool no_peer_id)
{
	char ip[TRK_IP_TEXT_MAX];
	struct trk_text t = { ip, sizeof(ip), 0, false };

	if (p->family == TRK_AF_INET)
		ip4_format(&t, p->addr);
	else
		ip6_format(&t, p->addr);
	bc_enc_dict(e);
	bc_enc_cstr(e, "ip");
	bc_enc_str(e, ip, t.len);
	if (p->has_id && !no_peer_id) {
		bc_enc_cstr(e, "peer id");
		bc_enc_str(e, p->peer_id, TRK_PEER_ID_LEN);
	}
	bc_enc_cstr(e, "port");
	bc_enc_int(e, p->port);
	bc_enc_end(e);
}

ssize_t trk_http_announce_resp(uint8_t *out, size_t cap, uint32_t interval, uint32_t min_interval,
			       uint32_t complete, uint32_t incomplete, const struct trk_peer *peers,
			       unsigned n, bool compact, bool no_peer_id)
{
	struct bc_enc e;
	bool any6 = false;

	for (unsigned i = 0; i < n; i++) {
		if (peers[i].family != TRK_AF_INET && peers[i].family != TRK_AF_INET6)
			return -EINVAL;
		any6 |= peers[i].family == TRK_AF_INET6;
	}
	bc_enc_init(&e, out, cap);
	bc_enc_dict(&e); /* keys in byte order, as the encoder insists */
	bc_enc_cstr(&e, "complete");
	bc_enc_int(&e, complete);
	bc_enc_cstr(&e, "incomplete");
	bc_enc_int(&e, incomplete);
	bc_enc_cstr(&e, "interval");
	bc_enc_int(&e, interval);
	if (min_interval) {
		bc_enc_cstr(&e, "min interval");
		bc_enc_int(&e, min_interval);
	}
	bc_enc_cstr(&e, "peers");
	if (compact) {
		enc_compact(&e, peers, n, TRK_AF_INET);
		if (any6) {
			bc_enc_cstr(&e, "peers6");
			enc_compact(&e, peers, n, TRK_AF_INET6);
		}
	} else {
		bc_enc_list(&e);
		for (unsigned i = 0; i < n; i++)
			enc_dict_peer(&e, &peers[i], no_peer_id);
		bc_enc_end(&e);
	}
	bc_enc_end(&e);
	return bc_enc_finish(&e);
}

ssize_t trk_http_failure(uint8_t *out, size_t cap, const char *reason)
{
	struct bc_enc e;

	if (!reason)
		return -EINVAL;
	bc_enc_init(&e, out, cap);
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "failure reason");
	bc_enc_cstr(&e, reason);
	bc_enc_end(&e);
	return bc_enc_finish(&e);
}

static void enc_scrape_entry(struct bc_enc *e, const uint8_t *hash, const struct trk_scrape *s)
{
	bc_enc_str(e, hash, TRK_HASH_LEN);
	bc_enc_dict(e);
	bc_enc_cstr(e, "complete");
	bc_enc_int(e, s->complete);
	bc_enc_cstr(e, "downloaded");
	bc_enc_int(e, s->downloaded);
	bc_enc_cstr(e, "incomplete");
	bc_enc_int(e, s->incomplete);
	bc_enc_end(e);
}

/*
 * The files dictionary must list hashes in byte order. In order already, one
 * pass; otherwise each turn picks the smallest hash above the last written
 * (a repeated hash is written once, with its first entry's counts).
 */
static void enc_scrape_files(struct bc_enc *e, const uint8_t (*hashes)[TRK_HASH_LEN],
			     const struct trk_scrape *s, unsigned n)
{
	const uint8_t *last = NULL;
	bool sorted = true;

	for (unsigned i = 1; i < n && sorted; i++)
		sorted = memcmp(hashes[i - 1], hashes[i], TRK_HASH_LEN) < 0;
	for (unsigned done = 0; done < n; done++) {
		unsigned pick = sorted ? done : n;

		for (unsigned i = 0; !sorted && i < n; i++) {
			if (last && memcmp(hashes[i], last, TRK_HASH_LEN) <= 0)
				continue;
			if (pick == n || memcmp(hashes[i], hashes[pick], TRK_HASH_LEN) < 0)
				pick = i;
		}
		if (pick == n)
			break; /* only repeats were left */
		enc_scrape_entry(e, hashes[pick], &s[pick]);
		last = hashes[pick];
	}
}

ssize_t trk_http_scrape_resp(uint8_t *out, size_t cap, const uint8_t (*hashes)[TRK_HASH_LEN],
			     const struct trk_scrape *s, unsigned n)
{
	struct bc_enc e;

	bc_enc_init(&e, out, cap);
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "files");
	bc_enc_dict(&e);
	enc_scrape_files(&e, hashes, s, n);
	bc_enc_end(&e);
	bc_enc_end(&e);
	return bc_enc_finish(&e);
}
