/*
 * fetch_meta.c - a magnet's info dictionary from its peers; see fetch_meta.h.
 *
 * A short phase before the fetch proper, on non-blocking sockets and one
 * poll() per 100 ms turn (a few peers, a few hundred KiB at most: no ring
 * is needed). A connection's life:
 *
 *   IDLE --connect--> CONNECTING --writable--> HANDSHAKE (ours sent; theirs
 *   checked: info-hash, extension bit) --> ACTIVE (our extended handshake
 *   sent; theirs gives ut_metadata's id and metadata_size; requests out)
 *   any state --error, timeout, bad input--> IDLE (retry later) or banned
 *
 * Messages other than extended ones are skipped; a request for metadata
 * from the peer gets a reject, as we have none yet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/sha.h>

#include "iocore/clock.h"
#include "iocore/log.h"
#include "master/fetch/fetch_meta.h"
#include "master/fetch/fetch_udp.h"
#include "proto/bytes.h"
#include "proto/ext.h"
#include "proto/tracker.h"
#include "proto/wire.h"

#define FMETA_PEERS_MAX	   256	/* addresses kept, deduplicated */
#define FMETA_TRK_MAX	   16
#define FMETA_PIPE	   4	/* metadata requests in flight to one peer */
#define FMETA_REQ_MS	   5000 /* a request unanswered this long goes to another peer */
#define FMETA_CONNECT_MS   3000
#define FMETA_TURN_MS	   100
#define FMETA_ANNOUNCE_MS  10000 /* trackers asked again this often while nothing came */
#define FMETA_HTTP_TIMEOUT 3	 /* seconds for one HTTP announce */
#define FMETA_TRK_PEERS	   64
#define FMETA_UT_ID	   3 /* our id for ut_metadata in "m" (BEP 10: any 1..255) */
#define FMETA_MSG_MAX	   (EXT_META_PIECE + 1024) /* an extended message we read whole */
#define FMETA_PEER_ID	   "-RS0100-"

static const char *const fmeta_counter_names[FMC_MAX] = {
	[FMC_PIECES] = "pieces",
	[FMC_HASH_FAILS] = "hash_fails",
	[FMC_BANS] = "bans",
	[FMC_REJECTS] = "rejects",
	[FMC_TIMEOUTS] = "timeouts",
	[FMC_BAD_MESSAGES] = "bad_messages",
	[FMC_NO_METADATA] = "no_metadata",
	[FMC_CONNECTS] = "connects",
	[FMC_CONNECT_FAILS] = "connect_fails",
	[FMC_ANNOUNCES] = "announces",
	[FMC_ANNOUNCE_FAILS] = "announce_fails",
};

enum fm_pstate {
	FMP_IDLE,	/* not connected; retry_ms says when to try */
	FMP_CONNECTING, /* non-blocking connect under way */
	FMP_HANDSHAKE,	/* ours sent, theirs awaited */
	FMP_ACTIVE,	/* extended messages */
};

struct fm_peer {
	struct conf_addr addr;
	int fd;
	enum fm_pstate state;
	uint64_t deadline, retry_ms;
	uint32_t fails;
	bool banned;
	uint8_t ut_md;	 /* the peer's id for ut_metadata; 0: none yet */
	int64_t md_size; /* its metadata_size; -1: none */
	uint32_t n_out;	 /* requests in flight */
	uint64_t quiet_ms; /* after a reject, not asked again before this */
	uint8_t *in;	 /* FMETA_MSG_MAX + 4 */
	size_t in_len;
	uint32_t skip; /* bytes of a message we do not read */
};

enum fm_pc { FMPC_FREE, FMPC_REQ, FMPC_DONE };

struct fm_piece {
	uint8_t state;
	int peer; /* who was asked (REQ) or sent it (DONE) */
	uint64_t at;
};

struct fm_trk {
	const char *url;
	uint64_t next_ms;
	bool udp_busy;
	struct fudp u;
	struct trk_peer peers[FMETA_TRK_PEERS];
};

struct fm {
	const struct fmeta_opts *o;
	struct fmeta_result *res;
	uint64_t now_ms;
	uint8_t peer_id[20];
	struct fm_peer peer[FMETA_PEERS_MAX];
	unsigned n_peer;
	struct fm_trk trk[FMETA_TRK_MAX];
	unsigned n_trk;
	uint8_t *md; /* the metadata being assembled, md_size bytes */
	uint32_t md_size, n_pieces, n_done;
	struct fm_piece *pc;
	bool solo;     /* a failed whole came from several peers: one peer per try now */
	int solo_peer; /* the peer of this try; -1: the next that asks */
	bool done;
	CURL *easy;
};

const char *fmeta_counter_name(enum fmeta_counter c)
{
	return c < FMC_MAX ? fmeta_counter_names[c] : "?";
}

static const char *fm_name(const struct fm_peer *p, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN];

	if (p->addr.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &p->addr.in6.sin6_addr, host, sizeof(host));
		snprintf(buf, cap, "[%s]:%u", host, ntohs(p->addr.in6.sin6_port));
	} else {
		inet_ntop(AF_INET, &p->addr.in4.sin_addr, host, sizeof(host));
		snprintf(buf, cap, "%s:%u", host, ntohs(p->addr.in4.sin_port));
	}
	return buf;
}

static void fm_add_peer(struct fm *m, const struct conf_addr *a)
{
	for (unsigned i = 0; i < m->n_peer; i++)
		if (m->peer[i].addr.len == a->len && memcmp(&m->peer[i].addr, a, a->len) == 0)
			return;
	if (m->n_peer == FMETA_PEERS_MAX)
		return;
	m->peer[m->n_peer++] = (struct fm_peer){ .addr = *a, .fd = -1, .md_size = -1 };
}

/* Frees what p was asked for; a piece of a solo try from p starts the try over. */
static void fm_release(struct fm *m, int idx)
{
	for (uint32_t i = 0; m->pc && i < m->n_pieces; i++)
		if (m->pc[i].state == FMPC_REQ && m->pc[i].peer == idx)
			m->pc[i].state = FMPC_FREE;
	if (m->solo && m->solo_peer == idx) {
		for (uint32_t i = 0; m->pc && i < m->n_pieces; i++)
			m->pc[i].state = FMPC_FREE;
		m->n_done = 0;
		m->solo_peer = -1;
	}
	m->peer[idx].n_out = 0;
}

static void fm_drop(struct fm *m, int idx, enum fmeta_counter why, uint32_t retry_ms,
		    const char *text)
{
	struct fm_peer *p = &m->peer[idx];
	char name[64];

	if (why < FMC_MAX)
		m->res->c[why]++;
	log_info("fetch: metadata: %s: %s", fm_name(p, name, sizeof(name)), text);
	fm_release(m, idx);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->state = FMP_IDLE;
	p->ut_md = 0;
	p->md_size = -1;
	p->in_len = p->skip = 0;
	p->fails++;
	p->retry_ms = m->now_ms + (retry_ms ? retry_ms : 1000u * (p->fails < 10 ? p->fails : 10));
}

static int fm_send(struct fm *m, int idx, const void *buf, size_t len)
{
	ssize_t n = send(m->peer[idx].fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	/* Our messages are a few hundred bytes into an idle socket: a short send is a dead peer. */
	if (n != (ssize_t)len) {
		fm_drop(m, idx, FMC_MAX, 0, n < 0 ? strerror(errno) : "short send");
		return -EIO;
	}
	return 0;
}

static void fm_connect(struct fm *m, int idx)
{
	struct fm_peer *p = &m->peer[idx];

	if (!p->in && !(p->in = malloc(FMETA_MSG_MAX + 4)))
		return;
	p->fd = socket(p->addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		p->retry_ms = m->now_ms + 5000;
		return;
	}
	if (m->o->bind_host && p->addr.sa.sa_family == AF_INET) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		if (inet_pton(AF_INET, m->o->bind_host, &src.sin_addr) == 1)
			(void)bind(p->fd, (struct sockaddr *)&src, sizeof(src));
	}
	if (connect(p->fd, &p->addr.sa, p->addr.len) != 0 && errno != EINPROGRESS) {
		fm_drop(m, idx, FMC_CONNECT_FAILS, 0, strerror(errno));
		return;
	}
	p->state = FMP_CONNECTING;
	p->deadline = m->now_ms + FMETA_CONNECT_MS;
}

static void fm_connected(struct fm *m, int idx)
{
	struct wire_handshake hs = { 0 };
	uint8_t out[WIRE_HANDSHAKE_LEN];
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (getsockopt(m->peer[idx].fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
		fm_drop(m, idx, FMC_CONNECT_FAILS, 0, strerror(soerr ? soerr : errno));
		return;
	}
	hs.reserved[WIRE_RSV_EXT_BYTE] |= WIRE_RSV_EXT_MASK;
	memcpy(hs.info_hash, m->o->info_hash, 20);
	memcpy(hs.peer_id, m->peer_id, 20);
	wire_handshake_build(out, &hs);
	if (fm_send(m, idx, out, sizeof(out)) == 0)
		m->peer[idx].state = FMP_HANDSHAKE;
}

/* Their handshake: the torrent we asked for, and extensions, or nothing to say. */
static void fm_handshake(struct fm *m, int idx)
{
	struct fm_peer *p = &m->peer[idx];
	struct wire_handshake hs;
	uint8_t out[WIRE_EXT_HANDSHAKE_CAP];
	struct wire_ext_handshake ext = { .client = "ringseed " RINGSEED_VERSION,
					  .ut_metadata = FMETA_UT_ID };
	ssize_t n;

	if (wire_handshake_parse(p->in, &hs) != 0 || memcmp(hs.info_hash, m->o->info_hash, 20)) {
		fm_drop(m, idx, FMC_CONNECT_FAILS, 30000, "not a handshake for this info-hash");
		return;
	}
	if (!wire_has_extension(&hs)) {
		fm_drop(m, idx, FMC_NO_METADATA, 60000, "no extension protocol (BEP 10): no metadata");
		return;
	}
	memmove(p->in, p->in + WIRE_HANDSHAKE_LEN, p->in_len - WIRE_HANDSHAKE_LEN);
	p->in_len -= WIRE_HANDSHAKE_LEN;
	m->res->c[FMC_CONNECTS]++;
	p->fails = 0;
	p->state = FMP_ACTIVE;
	p->deadline = m->now_ms + FMETA_REQ_MS; /* for its extended handshake */
	n = wire_put_ext_handshake(out, sizeof(out), &ext);
	if (n > 0)
		fm_send(m, idx, out, (size_t)n);
}

/* The size the first able peer states is the one assembled; a wrong one fails the hash. */
static int fm_alloc(struct fm *m, uint32_t size)
{
	m->md = malloc(size);
	m->n_pieces = ext_meta_pieces(size);
	m->pc = calloc(m->n_pieces, sizeof(*m->pc));
	if (!m->md || !m->pc) {
		free(m->md);
		free(m->pc);
		m->md = NULL;
		m->pc = NULL;
		return -ENOMEM;
	}
	m->md_size = size;
	m->n_done = 0;
	return 0;
}

static void fm_fill(struct fm *m, int idx)
{
	struct fm_peer *p = &m->peer[idx];
	uint8_t out[EXT_META_HDR_CAP];

	if (p->state != FMP_ACTIVE || !p->ut_md || p->md_size <= 0 || m->done ||
	    m->now_ms < p->quiet_ms)
		return;
	if (!m->md && fm_alloc(m, (uint32_t)p->md_size) != 0)
		return;
	if ((uint64_t)p->md_size != m->md_size || (m->solo && m->solo_peer >= 0 && m->solo_peer != idx))
		return;
	for (uint32_t i = 0; i < m->n_pieces && p->n_out < FMETA_PIPE; i++) {
		ssize_t n;

		if (m->pc[i].state != FMPC_FREE)
			continue;
		n = ext_put_meta_request(out, sizeof(out), p->ut_md, i);
		if (n < 0 || fm_send(m, idx, out, (size_t)n) != 0)
			return;
		m->pc[i] = (struct fm_piece){ FMPC_REQ, idx, m->now_ms };
		p->n_out++;
		if (m->solo)
			m->solo_peer = idx;
	}
}

/* Every piece is in: the whole must hash to the info-hash, or someone lied. */
static void fm_check(struct fm *m)
{
	uint8_t md[SHA_DIGEST_LENGTH];
	int who = -1;
	bool several = false;
	char name[64];

	SHA1(m->md, m->md_size, md);
	if (memcmp(md, m->o->info_hash, 20) == 0) {
		m->done = true;
		return;
	}
	m->res->c[FMC_HASH_FAILS]++;
	for (uint32_t i = 0; i < m->n_pieces; i++) {
		if (who >= 0 && m->pc[i].peer != who)
			several = true;
		who = m->pc[i].peer;
	}
	if (several) {
		log_warnx("fetch: metadata of %u bytes from several peers does not hash to the "
			  "info-hash; asking one peer at a time", m->md_size);
		m->solo = true;
	} else {
		log_warnx("fetch: metadata: %s: banned: sent metadata that does not hash to the "
			  "info-hash", fm_name(&m->peer[who], name, sizeof(name)));
		m->peer[who].banned = true;
		if (m->res->n_banned < FMETA_BANNED_MAX)
			m->res->banned[m->res->n_banned++] = m->peer[who].addr;
		fm_drop(m, who, FMC_BANS, 0, "banned");
	}
	/* Another peer may state another size: start from nothing. */
	free(m->md);
	free(m->pc);
	m->md = NULL;
	m->pc = NULL;
	m->solo_peer = -1;
}

static void fm_meta_msg(struct fm *m, int idx, const uint8_t *b, size_t n)
{
	struct fm_peer *p = &m->peer[idx];
	struct ext_meta_msg mm;
	struct ext_err err;
	uint8_t out[EXT_META_HDR_CAP];
	ssize_t len;

	if (ext_meta_parse(b, n, &mm, &err) != 0) {
		fm_drop(m, idx, FMC_BAD_MESSAGES, 0, err.msg);
		return;
	}
	if (mm.type == EXT_META_REQUEST) { /* we have none to give */
		len = ext_put_meta_reject(out, sizeof(out), p->ut_md ? p->ut_md : 1, mm.piece);
		if (len > 0 && p->ut_md)
			fm_send(m, idx, out, (size_t)len);
		return;
	}
	if (mm.type != EXT_META_DATA && mm.type != EXT_META_REJECT)
		return;
	if (!m->pc || mm.piece < 0 || (uint64_t)mm.piece >= m->n_pieces ||
	    m->pc[mm.piece].state != FMPC_REQ || m->pc[mm.piece].peer != idx) {
		fm_drop(m, idx, FMC_BAD_MESSAGES, 0, "a metadata piece we did not ask it for");
		return;
	}
	p->n_out--;
	if (mm.type == EXT_META_REJECT) {
		char name[64];

		log_info("fetch: metadata: %s: rejected our request for piece %lld",
			 fm_name(p, name, sizeof(name)), (long long)mm.piece);
		m->res->c[FMC_REJECTS]++;
		m->pc[mm.piece].state = FMPC_FREE;
		p->quiet_ms = m->now_ms + FMETA_REQ_MS; /* others first; this one after a while */
		return;
	}
	if (mm.total_size != (int64_t)m->md_size ||
	    mm.data_len != ext_meta_piece_len(m->md_size, (uint32_t)mm.piece)) {
		fm_drop(m, idx, FMC_BAD_MESSAGES, 0, "a metadata piece of the wrong size");
		return;
	}
	memcpy(m->md + (size_t)mm.piece * EXT_META_PIECE, mm.data, mm.data_len);
	m->pc[mm.piece].state = FMPC_DONE;
	m->res->c[FMC_PIECES]++;
	if (++m->n_done == m->n_pieces)
		fm_check(m);
}

static void fm_ext(struct fm *m, int idx, const uint8_t *b, size_t n)
{
	struct fm_peer *p = &m->peer[idx];
	struct ext_peer_hs hs;
	struct ext_err err;
	char why[160];

	if (n < 1)
		return;
	if (b[0] == FMETA_UT_ID) {
		fm_meta_msg(m, idx, b + 1, n - 1);
		return;
	}
	if (b[0] != WIRE_EXT_HANDSHAKE_ID)
		return; /* ut_pex and others: the fetch proper reads them */
	if (ext_handshake_parse(b + 1, n - 1, &hs, &err) != 0) {
		fm_drop(m, idx, FMC_BAD_MESSAGES, 0, err.msg);
		return;
	}
	if (!hs.ut_metadata || hs.metadata_size <= 0) {
		fm_drop(m, idx, FMC_NO_METADATA, 60000, "no ut_metadata (BEP 9) or metadata_size");
		return;
	}
	if (hs.metadata_size > FMETA_SIZE_MAX) {
		snprintf(why, sizeof(why), "metadata_size %lld over the bound of %u",
			 (long long)hs.metadata_size, FMETA_SIZE_MAX);
		fm_drop(m, idx, FMC_BAD_MESSAGES, 60000, why);
		return;
	}
	p->ut_md = hs.ut_metadata;
	p->md_size = hs.metadata_size;
}

/* Whole messages out of p->in; others than extended ones are skipped unread. */
static void fm_frames(struct fm *m, int idx)
{
	struct fm_peer *p = &m->peer[idx];
	size_t off = 0;

	while (p->state == FMP_ACTIVE && off < p->in_len) {
		uint32_t len;

		if (p->skip) {
			size_t k = p->in_len - off < p->skip ? p->in_len - off : p->skip;

			off += k;
			p->skip -= (uint32_t)k;
			continue;
		}
		if (p->in_len - off < 5)
			break;
		len = get_be32(p->in + off);
		if (len == 0) {
			off += 4;
			continue;
		}
		if (p->in[off + 4] != WIRE_EXTENDED) {
			off += 4;
			p->skip = len;
			continue;
		}
		if (len > FMETA_MSG_MAX) { /* id and payload must fit the buffer after the length */
			fm_drop(m, idx, FMC_BAD_MESSAGES, 0, "an extended message over 17 KiB");
			return;
		}
		if (p->in_len - off < 4 + (size_t)len)
			break;
		fm_ext(m, idx, p->in + off + 5, len - 1);
		off += 4 + (size_t)len;
	}
	if (p->state != FMP_ACTIVE)
		return;
	memmove(p->in, p->in + off, p->in_len - off);
	p->in_len -= off;
	fm_fill(m, idx);
}

static void fm_readable(struct fm *m, int idx)
{
	struct fm_peer *p = &m->peer[idx];
	ssize_t n = recv(p->fd, p->in + p->in_len, FMETA_MSG_MAX + 4 - p->in_len, MSG_DONTWAIT);

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		fm_drop(m, idx, p->state == FMP_HANDSHAKE ? FMC_CONNECT_FAILS : FMC_MAX, 0,
			n < 0 ? strerror(errno) : "closed the connection");
		return;
	}
	p->in_len += (size_t)n;
	if (p->state == FMP_HANDSHAKE) {
		if (p->in_len < WIRE_HANDSHAKE_LEN)
			return;
		fm_handshake(m, idx);
	}
	if (p->state == FMP_ACTIVE)
		fm_frames(m, idx);
}

static void fm_trk_peers(struct fm *m, const struct trk_peer *tp, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct conf_addr a = { 0 };

		if (tp[i].family == TRK_AF_INET) {
			a.in4.sin_family = AF_INET;
			memcpy(&a.in4.sin_addr, tp[i].addr, 4);
			a.in4.sin_port = htons(tp[i].port);
			a.len = sizeof(a.in4);
		} else {
			a.in6.sin6_family = AF_INET6;
			memcpy(&a.in6.sin6_addr, tp[i].addr, 16);
			a.in6.sin6_port = htons(tp[i].port);
			a.len = sizeof(a.in6);
		}
		fm_add_peer(m, &a);
	}
}

static size_t fm_http_write(char *data, size_t size, size_t n, void *arg)
{
	struct { uint8_t buf[16384]; size_t len; } *r = arg;
	size_t len = size * n;

	if (r->len + len > sizeof(r->buf))
		return 0;
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	return len;
}

/* One HTTP announce, blocking for FMETA_HTTP_TIMEOUT at most: a phase of seconds can wait. */
static void fm_http(struct fm *m, struct fm_trk *t, const struct trk_announce *a)
{
	struct { uint8_t buf[16384]; size_t len; } r = { .len = 0 };
	struct trk_reply rep = { .peers = t->peers, .max_peers = FMETA_TRK_PEERS };
	char url[TRK_MAX_URL];
	const char *why = "not a tracker reply";
	long status = 0;
	CURLcode code;

	if (trk_http_announce_url(url, sizeof(url), t->url, a) < 0)
		return;
	if (!m->easy && !(m->easy = curl_easy_init()))
		return;
	curl_easy_reset(m->easy);
	curl_easy_setopt(m->easy, CURLOPT_URL, url);
	curl_easy_setopt(m->easy, CURLOPT_WRITEFUNCTION, fm_http_write);
	curl_easy_setopt(m->easy, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(m->easy, CURLOPT_TIMEOUT, (long)FMETA_HTTP_TIMEOUT);
	curl_easy_setopt(m->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(m->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	code = curl_easy_perform(m->easy);
	curl_easy_getinfo(m->easy, CURLINFO_RESPONSE_CODE, &status);
	if (code != CURLE_OK || status != 200 ||
	    trk_http_parse_announce(r.buf, r.len, &rep, &why) != 0 || rep.failure) {
		m->res->c[FMC_ANNOUNCE_FAILS]++;
		log_info("fetch: metadata: %s: announce failed: %s", t->url,
			 code != CURLE_OK ? curl_easy_strerror(code)
			 : status != 200 ? "HTTP status not 200"
			 : rep.failure	 ? "failure reason from the tracker"
					 : why);
		return;
	}
	m->res->c[FMC_ANNOUNCES]++;
	fm_trk_peers(m, rep.peers, rep.n_peers);
}

static void fm_trackers(struct fm *m)
{
	struct trk_announce a = { .info_hash = m->o->info_hash, .peer_id = m->peer_id,
				  .port = m->o->port, .left = 1, /* unknown yet, but not 0 */
				  .event = TRK_EVENT_STARTED, .numwant = FMETA_TRK_PEERS };

	for (unsigned i = 0; i < m->n_trk; i++) {
		struct fm_trk *t = &m->trk[i];

		if (t->udp_busy) {
			enum fudp_state s = fudp_poll(&t->u, m->now_ms);

			if (s == FUDP_DONE || s == FUDP_FAILED) {
				m->res->c[s == FUDP_DONE ? FMC_ANNOUNCES : FMC_ANNOUNCE_FAILS]++;
				if (s == FUDP_DONE)
					fm_trk_peers(m, t->peers, t->u.n_peers);
				else
					log_info("fetch: metadata: %s: announce failed: %s", t->url,
						 t->u.why);
				fudp_close(&t->u);
				t->udp_busy = false;
			}
			continue;
		}
		if (m->now_ms < t->next_ms)
			continue;
		t->next_ms = m->now_ms + FMETA_ANNOUNCE_MS;
		if (strncmp(t->url, "udp://", 6) == 0) {
			if (fudp_start(&t->u, t->url, &a, (uint32_t)random(), m->o->bind_host,
				       t->peers, FMETA_TRK_PEERS, m->now_ms) == 0)
				t->udp_busy = true;
			else
				m->res->c[FMC_ANNOUNCE_FAILS]++;
		} else {
			fm_http(m, t, &a);
		}
	}
}

static void fm_tick(struct fm *m)
{
	for (unsigned i = 0; i < m->n_peer; i++) {
		struct fm_peer *p = &m->peer[i];

		if (p->state == FMP_IDLE && !p->banned && m->now_ms >= p->retry_ms)
			fm_connect(m, (int)i);
		else if ((p->state == FMP_CONNECTING || p->state == FMP_HANDSHAKE ||
			  (p->state == FMP_ACTIVE && !p->ut_md)) && m->now_ms > p->deadline)
			fm_drop(m, (int)i, p->state == FMP_ACTIVE ? FMC_NO_METADATA
							       : FMC_CONNECT_FAILS,
				p->state == FMP_ACTIVE ? 30000 : 0, "timed out");
	}
	for (uint32_t i = 0; m->pc && i < m->n_pieces; i++) {
		struct fm_piece *c = &m->pc[i];

		if (c->state == FMPC_REQ && m->now_ms - c->at > FMETA_REQ_MS) {
			m->res->c[FMC_TIMEOUTS]++;
			fm_drop(m, c->peer, FMC_MAX, 0, "no answer to a metadata request");
		}
	}
	for (unsigned i = 0; i < m->n_peer; i++)
		fm_fill(m, (int)i);
	fm_trackers(m);
}

/* One turn: wait up to FMETA_TURN_MS for any socket, then serve what is ready. */
static void fm_turn(struct fm *m)
{
	struct pollfd pfd[FMETA_PEERS_MAX];
	int who[FMETA_PEERS_MAX];
	nfds_t n = 0;

	for (unsigned i = 0; i < m->n_peer; i++) {
		struct fm_peer *p = &m->peer[i];

		if (p->state == FMP_IDLE)
			continue;
		pfd[n] = (struct pollfd){ .fd = p->fd,
					  .events = p->state == FMP_CONNECTING ? POLLOUT : POLLIN };
		who[n++] = (int)i;
	}
	if (poll(pfd, n, FMETA_TURN_MS) <= 0)
		return;
	m->now_ms = clock_ms();
	for (nfds_t i = 0; i < n && !m->done; i++) {
		struct fm_peer *p = &m->peer[who[i]];

		if (!pfd[i].revents || p->fd != pfd[i].fd)
			continue;
		if (p->state == FMP_CONNECTING)
			fm_connected(m, who[i]);
		else if (p->state != FMP_IDLE)
			fm_readable(m, who[i]);
	}
}

static void fm_free(struct fm *m)
{
	for (unsigned i = 0; i < m->n_peer; i++) {
		if (m->peer[i].fd >= 0)
			close(m->peer[i].fd);
		free(m->peer[i].in);
	}
	for (unsigned i = 0; i < m->n_trk; i++)
		if (m->trk[i].udp_busy)
			fudp_close(&m->trk[i].u);
	if (m->easy)
		curl_easy_cleanup(m->easy);
	free(m->pc);
}

static void fm_setup(struct fm *m, const struct fmeta_opts *o)
{
	memcpy(m->peer_id, FMETA_PEER_ID, 8);
	if (getrandom(m->peer_id + 8, 12, 0) != 12)
		memset(m->peer_id + 8, '7', 12);
	for (unsigned i = 8; i < 20; i++)
		m->peer_id[i] = (uint8_t)('0' + m->peer_id[i] % 10);
	m->solo_peer = -1;
	for (unsigned i = 0; i < o->n_peers; i++)
		fm_add_peer(m, &o->peers[i]);
	for (unsigned i = 0; o->port && i < o->n_trackers && m->n_trk < FMETA_TRK_MAX; i++)
		if (!strncmp(o->trackers[i], "http://", 7) || !strncmp(o->trackers[i], "https://", 8) ||
		    !strncmp(o->trackers[i], "udp://", 6))
			m->trk[m->n_trk++].url = o->trackers[i];
}

int fmeta_run(const struct fmeta_opts *o, uint8_t **info, size_t *len, struct fmeta_result *res,
	      char *err, size_t errlen)
{
	struct fm *m = calloc(1, sizeof(*m));
	uint64_t start = clock_ms();
	int rc = 0;

	*res = (struct fmeta_result){ 0 };
	*info = NULL;
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->o = o;
	m->res = res;
	fm_setup(m, o);
	if (m->n_peer == 0 && m->n_trk == 0) {
		snprintf(err, errlen, "no peer to ask for the metadata (give x.pe, --peer, "
			 "fetch.peers, or a tr with a listen port to announce)");
		rc = -ENOENT;
	}
	while (rc == 0 && !m->done) {
		m->now_ms = clock_ms();
		if (*o->stop) {
			snprintf(err, errlen, "stopped before the metadata came");
			rc = -EINTR;
		} else if (o->timeout_ms && m->now_ms - start > o->timeout_ms) {
			snprintf(err, errlen, "no metadata in %u s from %u peers", o->timeout_ms / 1000,
				 m->n_peer);
			rc = -ETIMEDOUT;
		} else {
			fm_tick(m);
			fm_turn(m);
		}
	}
	res->seconds = (double)(clock_ms() - start) / 1e3;
	if (rc == 0) {
		*info = m->md;
		*len = m->md_size;
	} else {
		free(m->md);
	}
	fm_free(m);
	free(m);
	return rc;
}
