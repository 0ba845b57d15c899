/*
 * tracker_http_server.c - the built-in tracker's HTTP side; see tracker.h.
 *
 * Parsing the query strings of GET /announce and GET /scrape (percent-
 * decoded, BEP 3 and BEP 7 fields), and writing the bencoded announce,
 * failure and scrape replies (peers compact BEP 23 and peers6 BEP 7, or as
 * dictionaries).
 */
#include <errno.h>
#include <string.h>

#include "proto/bencode.h"
#include "proto/tracker_int.h"

_Static_assert(sizeof(((struct trk_peer *)0)->peer_id) == TRK_PEER_ID_LEN, "peer id size");
_Static_assert(sizeof(((struct trk_query *)0)->peer_id) == TRK_PEER_ID_LEN, "peer id size");

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
			int v = pct_decode_byte(f->val + i, f->val_len - i);

			if (v < 0)
				return -1;
			c = (uint8_t)v;
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
		return trk_refuse(why, -EINVAL, "bad percent escape");
	if ((size_t)got != n)
		return trk_refuse(why, -EINVAL, bad);
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
		return trk_refuse(why, -EINVAL, "bad percent escape");
	if (n == 0 || (size_t)n > sizeof(d))
		return trk_refuse(why, -EINVAL, bad);
	for (ssize_t i = 0; i < n; i++) {
		unsigned dig = (unsigned)(d[i] - '0');

		if (dig > 9 || x > (max - dig) / 10)
			return trk_refuse(why, -EINVAL, bad);
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
		return trk_refuse(why, -EINVAL, "bad event");
	return 0;
}

static int q_flag(const struct trk_qfield *f, bool *b, const char **why, const char *bad)
{
	if (q_val_is(f, "1"))
		*b = true;
	else if (q_val_is(f, "0"))
		*b = false;
	else
		return trk_refuse(why, -EINVAL, bad);
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
			rc = trk_refuse(why, -EINVAL, "bad port");
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
		return trk_refuse(why, -EINVAL, "info_hash missing");
	if (!(seen & 2))
		return trk_refuse(why, -EINVAL, "peer_id missing");
	if (!(seen & 4))
		return trk_refuse(why, -EINVAL, "port missing");
	return trk_accept(why);
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
			return trk_refuse(why, -E2BIG, "too many info_hash values");
		memcpy(hashes[(*n)++], h, TRK_HASH_LEN);
	}
	return trk_accept(why);
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
		trk_text_ip4(&t, p->addr);
	else
		trk_text_ip6(&t, p->addr);
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
