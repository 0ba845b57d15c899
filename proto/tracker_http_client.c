/*
 * tracker_http_client.c - the HTTP tracker client's packets; see tracker.h.
 *
 * The announce URL (BEP 3, compact BEP 23, key BEP 7), the scrape URL
 * (BEP 48), and the announce and scrape reply parsers (peers compact, as
 * dictionaries, and peers6, BEP 7). Replies are read only inside
 * [buf, buf + len); on a refusal *why (when why is not NULL) names the rule.
 */
#include <errno.h>
#include <string.h>

#include "proto/bencode.h"
#include "proto/tracker_int.h"

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

ssize_t trk_http_announce_url(char *out, size_t cap, const char *base, const struct trk_announce *a)
{
	struct trk_text t = { out, cap, 0, false };
	const char *q, *ev;
	char key[8];
	size_t blen;

	if (!base || !a->info_hash || !a->peer_id || !trk_event_ok(a->event))
		return -EINVAL;
	blen = strlen(base);
	if (blen == 0 || memchr(base, '#', blen))
		return -EINVAL; /* a fragment would swallow the parameters */
	trk_text_mem(&t, base, blen);
	q = strchr(base, '?');
	if (!q)
		trk_text_mem(&t, "?", 1);
	else if (base[blen - 1] != '?' && base[blen - 1] != '&')
		trk_text_mem(&t, "&", 1);
	trk_text_str(&t, "info_hash=");
	trk_text_pct(&t, a->info_hash, TRK_HASH_LEN);
	trk_text_str(&t, "&peer_id=");
	trk_text_pct(&t, a->peer_id, TRK_PEER_ID_LEN);
	trk_text_str(&t, "&port=");
	trk_text_u64(&t, a->port);
	trk_text_str(&t, "&uploaded=");
	trk_text_u64(&t, a->uploaded);
	trk_text_str(&t, "&downloaded=");
	trk_text_u64(&t, a->downloaded);
	trk_text_str(&t, "&left=");
	trk_text_u64(&t, a->left);
	ev = event_name(a->event);
	if (ev) {
		trk_text_str(&t, "&event=");
		trk_text_str(&t, ev);
	}
	trk_text_str(&t, "&compact=1&numwant=");
	trk_text_u64(&t, a->numwant);
	trk_text_str(&t, "&key="); /* BEP 7: eight hex digits */
	for (int i = 0; i < 8; i++)
		key[i] = hex_upper(a->key >> (28 - 4 * i));
	trk_text_mem(&t, key, sizeof(key));
	if (a->tracker_id) {
		trk_text_str(&t, "&trackerid=");
		trk_text_pct(&t, (const uint8_t *)a->tracker_id, strlen(a->tracker_id));
	}
	return trk_text_finish(&t);
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
	trk_text_mem(&t, url, slash + 1);
	trk_text_str(&t, "scrape");
	trk_text_mem(&t, url + slash + 9, n - (slash + 9));
	return trk_text_finish(&t) < 0 ? -ENOSPC : 0;
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
		return trk_refuse(why, -EINVAL,
			      entry == TRK_PEER4_LEN ? "peers is not a string or list"
						     : "peers6 is not a string");
	if (v->str_len % entry)
		return trk_refuse(why, -EINVAL,
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
	    !trk_text_parse_ip(ip.str, ip.str_len, &p.family, p.addr)) {
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
		return trk_refuse(why, -EINVAL, err.what);
	if (root.type != BC_DICT)
		return trk_refuse(why, -EINVAL, "reply is not a dictionary");
	if (!get_opt_str(&root, "failure reason", &r->failure, &r->failure_len))
		return trk_refuse(why, -EINVAL, "failure reason is not a string");
	if (r->failure)
		return trk_accept(why); /* BEP 3: "no other keys are required" */
	if (!get_opt_str(&root, "warning message", &r->warning, &r->warning_len))
		return trk_refuse(why, -EINVAL, "warning message is not a string");
	if (!get_opt_str(&root, "tracker id", &r->tracker_id, &r->tracker_id_len))
		return trk_refuse(why, -EINVAL, "tracker id is not a string");
	if (!get_opt_count(&root, "interval", &r->interval))
		return trk_refuse(why, -EINVAL, "interval is not a count");
	if (!get_opt_count(&root, "min interval", &r->min_interval))
		return trk_refuse(why, -EINVAL, "min interval is not a count");
	if (!get_opt_count(&root, "complete", &r->complete))
		return trk_refuse(why, -EINVAL, "complete is not a count");
	if (!get_opt_count(&root, "incomplete", &r->incomplete))
		return trk_refuse(why, -EINVAL, "incomplete is not a count");
	if (reply_peers(r, &root, why))
		return -EINVAL;
	return trk_accept(why);
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
		return trk_refuse(why, -EINVAL, err.what);
	if (root.type != BC_DICT)
		return trk_refuse(why, -EINVAL, "reply is not a dictionary");
	if (bc_dict_get(&root, "failure reason", &v))
		return trk_refuse(why, -EINVAL, "the tracker sent a failure reason");
	if (!bc_dict_get_type(&root, "files", BC_DICT, &files))
		return trk_refuse(why, -EINVAL, "files is missing or not a dictionary");
	bc_iter_init(&it, &files);
	while (bc_next(&it, &k, &v)) {
		if (k.str_len != TRK_HASH_LEN || memcmp(k.str, info_hash, TRK_HASH_LEN) != 0)
			continue;
		if (v.type != BC_DICT)
			return trk_refuse(why, -EINVAL, "files entry is not a dictionary");
		if (!scrape_count(&v, "complete", &s->complete) ||
		    !scrape_count(&v, "downloaded", &s->downloaded) ||
		    !scrape_count(&v, "incomplete", &s->incomplete))
			return trk_refuse(why, -EINVAL, "files entry count is not a count");
		return trk_accept(why);
	}
	return trk_refuse(why, -ENOENT, "info_hash not in the scrape reply");
}
