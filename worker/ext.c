/*
 * ext.c - one peer's extension messages: the BEP 10 extended handshake both
 * ways, BEP 9 ut_metadata (so a leecher that has only a magnet link gets the
 * info dictionary from us), and telling a seed from a leecher (BEP 6
 * have_all, a complete bitfield, BEP 21 upload_only), since two seeds have
 * nothing to say to each other.
 *
 * peer.c hands every extended and bitfield payload here as the decoder cut
 * it. An extended message that arrived whole in one receive buffer is read
 * in place; one split across buffers is gathered in the peer's struct
 * peer_ext, taken on first need. Extended messages for extensions we did not
 * announce are skipped unread.
 *
 * ut_metadata requests wait in a short queue per peer and are served, one
 * 16 KiB piece per control send, from the info dictionary exactly as it is
 * in the .torrent (struct metainfo keeps that span; its SHA-1 is the
 * info-hash, which is how the leecher checks it). Limits, each counted:
 * a piece out of range gets a reject (BEP 9); a peer gets a burst of twice
 * the metadata and then one piece per second (tokens), and WK_META_QUEUE
 * requests waiting; beyond either, a reject; beyond what the control buffer
 * holds of rejects, the peer is dropped as a flood.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "iocore/log.h"
#include "proto/ext.h"
#include "worker/wk.h"

#define WK_EXT_MAX	  (EXT_META_PIECE + 1024) /* longest extended message read whole */
#define WK_META_QUEUE	  64			  /* requests waiting per peer */
#define WK_META_REFILL_MS 1000			  /* one more piece per peer this often */
#define PEER_EXT_CLIENT	  "ringseed 0.1"

struct peer_ext {
	uint8_t *buf; /* a split extended message being gathered (ext id first) */
	uint32_t buf_len, buf_cap;
	uint32_t q[WK_META_QUEUE]; /* metadata pieces asked for, in order */
	uint32_t q_head, q_len;
	uint32_t tokens; /* pieces the peer may still be served now */
	uint64_t refill_ms;
};

void peer_ext_free(struct peer *p)
{
	if (!p->x)
		return;
	free(p->x->buf);
	free(p->x);
	p->x = NULL;
}

static struct peer_ext *peer_ext_get(struct worker *w, struct peer *p)
{
	if (!p->x) {
		p->x = calloc(1, sizeof(*p->x));
		if (!p->x) {
			log_warnx("peer slot %u: out of memory for its extension state", p->slot);
			peer_close(w, p, WSTAT_DROP_TOO_MANY);
			return NULL;
		}
		p->x->tokens = 2 * ext_meta_pieces(p->t->mi.info_len) + 8;
		p->x->refill_ms = tw_now_ms();
	}
	return p->x;
}

/* The peer's address as 4 or 16 bytes (an IPv4-mapped one as 4), for "yourip". */
size_t peer_ext_yourip(int fd, uint8_t out[16])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)&ss)->sin_addr, 4);
		return 4;
	}
	if (ss.ss_family != AF_INET6)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(out, s6->sin6_addr.s6_addr + 12, 4);
		return 4;
	}
	memcpy(out, &s6->sin6_addr, 16);
	return 16;
}

/* The port the peer reached us on: where we listen. */
static uint16_t peer_ext_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

ssize_t peer_ext_hello(struct worker *w, struct peer *p, uint8_t *out, size_t cap)
{
	uint8_t ip[16];
	struct wire_ext_handshake hs = {
		.client = PEER_EXT_CLIENT,
		.reqq = (uint32_t)w->conf->reqq,
		.listen_port = peer_ext_port(p->fd),
		.metadata_size = (int64_t)p->t->mi.info_len,
		.yourip = ip,
		.yourip_len = peer_ext_yourip(p->fd, ip),
		/* BEP 21: a seeder downloads nothing; but a super-seed poses as a leecher
		   (BEP 16), and libtorrent drops an upload-only peer it finds useless */
		.upload_only = !ss_hidden(p),
		.ut_metadata = WK_UT_METADATA_ID,
		.ut_pex = wpex_id(w, p->t),
	};

	if (!hs.yourip_len)
		hs.yourip = NULL;
	return wire_put_ext_handshake(out, cap, &hs);
}

/* Two seeds have nothing to trade: close, counted. */
void peer_ext_seed(struct worker *w, struct peer *p, const char *why)
{
	if (ss_seed(w, p)) { /* kept: our witness that we are not the only seed (BEP 16) */
		log_debug("peer slot %u: a seed (%s), kept while super-seeding", p->slot, why);
		return;
	}
	log_debug("peer slot %u: a seed too (%s); closed", p->slot, why);
	peer_close(w, p, WSTAT_DROP_SEED);
}

static void peer_ext_bad(struct worker *w, struct peer *p, const char *why)
{
	log_debug("peer slot %u: %s", p->slot, why);
	peer_close(w, p, WSTAT_DROP_BAD_EXT);
}

static void peer_ext_reject(struct worker *w, struct peer *p, int64_t piece)
{
	uint8_t m[EXT_META_HDR_CAP];
	ssize_t n = ext_put_meta_reject(m, sizeof(m), p->ut_metadata, piece);

	wk_count(w, WSTAT_META_REJECTS, 1);
	if (n > 0 && peer_ctl(w, p, m, (size_t)n))
		peer_pump(w, p);
}

/* Tokens come back one per WK_META_REFILL_MS, up to the burst a peer starts with. */
static bool peer_ext_take_token(struct peer_ext *x, const struct peer *p)
{
	uint64_t now = tw_now_ms(), n = (now - x->refill_ms) / WK_META_REFILL_MS;
	uint32_t burst = 2 * ext_meta_pieces(p->t->mi.info_len) + 8;

	if (n) {
		x->tokens = x->tokens + n >= burst ? burst : x->tokens + (uint32_t)n;
		x->refill_ms += n * WK_META_REFILL_MS;
	}
	if (!x->tokens)
		return false;
	x->tokens--;
	return true;
}

static void peer_ext_request(struct worker *w, struct peer *p, int64_t piece)
{
	struct peer_ext *x;

	if (!p->ut_metadata) {
		peer_ext_bad(w, p, "ut_metadata request, but no ut_metadata id in its handshake");
		return;
	}
	if (piece < 0 || piece >= ext_meta_pieces(p->t->mi.info_len)) {
		peer_ext_reject(w, p, piece);
		return;
	}
	if (!(x = peer_ext_get(w, p)))
		return;
	if (x->q_len == WK_META_QUEUE || !peer_ext_take_token(x, p)) {
		wk_count(w, WSTAT_META_FLOOD, 1);
		peer_ext_reject(w, p, piece);
		return;
	}
	x->q[(x->q_head + x->q_len++) % WK_META_QUEUE] = (uint32_t)piece;
	wk_ready(w, p);
}

/* One piece of metadata into the control bytes, when they are nearly out. */
void peer_ext_pump(struct worker *w, struct peer *p)
{
	struct peer_ext *x = p->x;
	const struct metainfo *mi = &p->t->mi;
	uint8_t h[EXT_META_HDR_CAP];
	uint32_t piece, len;
	ssize_t n;

	if (!x || !x->q_len || p->ctl_len >= WK_META_CTL_LOW)
		return;
	piece = x->q[x->q_head];
	x->q_head = (x->q_head + 1) % WK_META_QUEUE;
	x->q_len--;
	len = ext_meta_piece_len(mi->info_len, piece);
	n = ext_put_meta_data(h, sizeof(h), p->ut_metadata, piece, mi->info_len, len);
	if (n <= 0 || !peer_ctl(w, p, h, (size_t)n) ||
	    !peer_ctl(w, p, mi->info_raw + (size_t)piece * EXT_META_PIECE, len))
		return;
	wk_count(w, WSTAT_META_PIECES, 1);
}

static void peer_ext_handshake(struct worker *w, struct peer *p, const uint8_t *b, size_t n)
{
	struct ext_peer_hs hs;
	struct ext_err err;

	if (ext_handshake_parse(b, n, &hs, &err) != 0) {
		peer_ext_bad(w, p, err.msg);
		return;
	}
	if (hs.skipped)
		log_debug("peer slot %u: extended handshake: %u keys skipped, the first %s",
			  p->slot, hs.skipped, hs.first_skipped);
	p->ut_metadata = hs.ut_metadata;
	log_debug("peer slot %u: '%s', ut_metadata %u, upload_only %d, port %u, reqq %u", p->slot,
		  hs.client, hs.ut_metadata, hs.upload_only, hs.port, hs.reqq);
	if (hs.upload_only)
		peer_ext_seed(w, p, "upload_only");
	else
		wpex_hello(w, p, &hs);
}

/* A whole extended message: its ext id, then its payload. */
static void peer_ext_message(struct worker *w, struct peer *p, const uint8_t *b, size_t n)
{
	struct ext_meta_msg m;
	struct ext_err err;

	if (b[0] == WIRE_EXT_HANDSHAKE_ID) {
		peer_ext_handshake(w, p, b + 1, n - 1);
		return;
	}
	if (b[0] == WK_UT_PEX_ID) {
		wpex_message(w, p, b + 1, n - 1);
		return;
	}
	if (ext_meta_parse(b + 1, n - 1, &m, &err) != 0) {
		peer_ext_bad(w, p, err.msg);
		return;
	}
	/* BEP 9: data and reject are answers to requests we never make; unknown types are ignored.
	 */
	if (m.type == EXT_META_REQUEST)
		peer_ext_request(w, p, m.piece);
}

/*
 * An extended message's bytes, at offset `off` of its payload of `len`. A
 * message is being gathered exactly when x->buf_len == off > 0; the rest of
 * one we skip (an extension we did not announce) never matches.
 */
static void peer_ext_chunk(struct worker *w, struct peer *p, const uint8_t *d, uint32_t n,
			   uint32_t off, uint32_t len)
{
	struct peer_ext *x = p->x;
	bool pex = off == 0 && d[0] == WK_UT_PEX_ID && wpex_id(w, p->t);

	if (pex && !wpex_accept(w, p, len))
		return;
	if (off == 0 && d[0] != WIRE_EXT_HANDSHAKE_ID && d[0] != WK_UT_METADATA_ID && !pex)
		return;
	if (off == 0 && n == len) {
		peer_ext_message(w, p, d, n);
		return;
	}
	if (off > 0 && (!x || !x->buf || x->buf_len != off))
		return;
	if (len > WK_EXT_MAX) {
		peer_ext_bad(w, p, "extended message over 17 KiB");
		return;
	}
	if (!(x = peer_ext_get(w, p)))
		return;
	if (off == 0)
		x->buf_len = 0;
	if (x->buf_cap < len) {
		uint8_t *b = realloc(x->buf, len);

		if (!b) {
			peer_close(w, p, WSTAT_DROP_TOO_MANY);
			return;
		}
		x->buf = b;
		x->buf_cap = len;
	}
	memcpy(x->buf + x->buf_len, d, n);
	x->buf_len += n;
	if (x->buf_len == len) {
		peer_ext_message(w, p, x->buf, len);
		if (p->x) { /* gathered: give the buffer back */
			free(p->x->buf);
			p->x->buf = NULL;
			p->x->buf_cap = p->x->buf_len = 0;
		}
	}
}

/* Bitfield bytes at offset off: is every piece there so far? */
static void peer_ext_bits(struct worker *w, struct peer *p, const uint8_t *d, uint32_t n,
			  uint32_t off)
{
	uint32_t count = p->t->mi.piece_count, last = (count - 1) / 8;
	uint8_t tail = (uint8_t)(0xff00u >> (count % 8 ? count % 8 : 8));

	ss_bits(w, p, d, n, off); /* super-seeding counts what peers have (BEP 16) */
	for (uint32_t i = 0; i < n && p->bf_full; i++) {
		uint8_t want = off + i == last ? tail : 0xff;

		p->bf_full = (d[i] & want) == want;
	}
}

void peer_ext_feed(struct worker *w, struct peer *p, const struct wire_event *e)
{
	uint32_t off;

	if (e->id == WIRE_BITFIELD) {
		if (e->type == WIRE_EV_BEGIN)
			p->bf_full = e->len == (p->t->mi.piece_count + 7) / 8;
		else if (e->type == WIRE_EV_DATA)
			peer_ext_bits(w, p, e->data, e->data_len,
				      e->len - p->dec.body_left - e->data_len);
		if (e->type == WIRE_EV_DATA)
			choke_bits(p, e->data, e->data_len);
		else if (e->type == WIRE_EV_END && p->bf_full)
			peer_ext_seed(w, p, "complete bitfield");
		else if (e->type == WIRE_EV_END)
			ss_heard(w, p);
		return;
	}
	if (e->id != WIRE_EXTENDED || e->type != WIRE_EV_DATA)
		return;
	off = e->len - p->dec.body_left - e->data_len;
	peer_ext_chunk(w, p, e->data, e->data_len, off, e->len);
}
