/*
 * fetch.c - the fetcher's loop: one io_uring for connects, receives, sends,
 * file writes and the tick; see fetch.h for what it does.
 *
 *   sources (--peer, fetch.peers, trackers) --connect--> peers[] (one slot
 *   per source) --recv--> fetch_peer.c --blocks--> act[] pieces
 *   a piece complete --hash--> good: writes (io_uring) -> have, `have` to
 *                               every peer, the .fetch state (<= 1/s)
 *                          \--> bad: thrown away, its author struck
 *   every piece had --> fdatasync, verify state saved, .fetch removed
 *
 * A completion carries (op, slot, gen): a slot reused by a new connection
 * has a new gen, so late completions of the old one are only counted off.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iocore/clock.h"
#include "iocore/log.h"
#include "iocore/ring.h"
#include "master/content/verify.h"
#include "master/fetch/fetch_int.h"

#define FETCH_RING_ENTRIES 512
#define FETCH_WRITE_EXTENTS 16
#define FETCH_COMPLETED_MS 3000 /* event=completed gets this long, all trackers together */
/* A write's slot: the act[] index (< 256) and its file (0xffff: too far to say). */
#define FETCH_WRITE_FILE(i) ((i) < 0xffff ? (uint32_t)(i) << 8 : 0xffffu << 8)

static const char *const fetch_counter_names[FC_MAX] = {
	[FC_PIECES] = "pieces",
	[FC_BYTES] = "bytes",
	[FC_HASH_FAILS] = "hash_fails",
	[FC_BANS] = "bans",
	[FC_UNREQUESTED] = "unrequested",
	[FC_DUPLICATES] = "duplicates",
	[FC_CANCELS] = "cancels",
	[FC_SNUBS] = "snubs",
	[FC_BAD_MESSAGES] = "bad_messages",
	[FC_REJECTS] = "rejects",
	[FC_CONNECTS] = "connects",
	[FC_CONNECT_FAILS] = "connect_fails",
	[FC_ANNOUNCES] = "announces",
	[FC_ANNOUNCE_FAILS] = "announce_fails",
	[FC_WEB_BYTES] = "web_bytes",
	[FC_WEB_BANS] = "web_bans",
	[FC_WEB_NO_RANGE] = "web_no_range",
	[FC_WEB_BAD_LENGTH] = "web_bad_length",
	[FC_WEB_REDIRECTS] = "web_redirect_loops",
	[FC_WEB_HTTP_ERRORS] = "web_http_errors",
	[FC_WEB_STALLS] = "web_stalls",
	[FC_WEB_FAILS] = "web_fails",
	[FC_PEX_ADDED] = "pex_added",
	[FC_UP_BYTES] = "up_bytes",
	[FC_INBOUND] = "inbound",
	[FC_UP_REFUSED] = "up_refused",
};

const char *fetch_counter_name(enum fetch_counter c)
{
	return c < FC_MAX ? fetch_counter_names[c] : "?";
}

uint16_t fetch_announce_port(const struct conf *c)
{
	if (c->announce_port)
		return (uint16_t)c->announce_port;
	if (c->listen.n == 0)
		return 0;
	return ntohs(c->listen.addr[0].sa.sa_family == AF_INET6 ? c->listen.addr[0].in6.sin6_port
								 : c->listen.addr[0].in4.sin_port);
}

uint64_t fetch_rand(struct fetch *f)
{
	/* xorshift64*: picking pieces needs spread, not secrecy */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545F4914F6CDD1Dull;
}

const char *fetch_src_name(const struct fetch *f, int src, char *buf, size_t cap)
{
	const struct conf_addr *a = &f->src[src].addr;
	char host[INET6_ADDRSTRLEN];

	if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof(host));
		snprintf(buf, cap, "[%s]:%u", host, ntohs(a->in6.sin6_port));
	} else {
		inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof(host));
		snprintf(buf, cap, "%s:%u", host, ntohs(a->in4.sin_port));
	}
	return buf;
}

int fetch_add_source(struct fetch *f, const struct conf_addr *a)
{
	for (uint32_t i = 0; i < f->n_src; i++)
		if (f->src[i].addr.len == a->len && memcmp(&f->src[i].addr, a, a->len) == 0)
			return -EEXIST;
	if (f->n_src == FETCH_SOURCES_MAX)
		return -ENOSPC;
	f->src[f->n_src] = (struct fsource){ .addr = *a, .conn = -1, .excluded_piece = UINT32_MAX };
	f->peers[f->n_src].src = (int)f->n_src;
	f->n_src++;
	return 0;
}

int fetch_add_peer(struct fetch *f, bool v6, const uint8_t *addr, uint16_t port)
{
	struct conf_addr a = { 0 };

	if (v6) {
		a.in6.sin6_family = AF_INET6;
		memcpy(&a.in6.sin6_addr, addr, 16);
		a.in6.sin6_port = htons(port);
		a.len = sizeof(a.in6);
	} else {
		a.in4.sin_family = AF_INET;
		memcpy(&a.in4.sin_addr, addr, 4);
		a.in4.sin_port = htons(port);
		a.len = sizeof(a.in4);
	}
	return fetch_add_source(f, &a);
}

static struct io_uring_sqe *fetch_sqe(struct fetch *f)
{
	return ring_get_sqe(&f->ring, NULL);
}

void fetch_send(struct fetch *f, struct fpeer *p)
{
	struct io_uring_sqe *sqe;
	uint32_t slot = (uint32_t)(p - f->peers);

	if (p->send_busy || p->out_len == 0 ||
	    (p->state != FPEER_HANDSHAKE && p->state != FPEER_ACTIVE))
		return;
	sqe = fetch_sqe(f);
	if (!sqe)
		return; /* the tick tries again */
	io_uring_prep_send(sqe, p->fd, p->out, p->out_len, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, fetch_ud(FOP_SEND, slot, p->gen));
	p->out_inflight = p->out_len;
	p->send_busy = true;
	p->ops++;
}

void fetch_recv(struct fetch *f, struct fpeer *p)
{
	struct io_uring_sqe *sqe = fetch_sqe(f);
	uint32_t slot = (uint32_t)(p - f->peers);

	if (!sqe) {
		fpeer_drop(f, p, FC_MAX, "submission queue full");
		return;
	}
	io_uring_prep_recv(sqe, p->fd, p->in, FETCH_RECV_BUF, 0);
	io_uring_sqe_set_data64(sqe, fetch_ud(FOP_RECV, slot, p->gen));
	p->ops++;
}

static void fetch_connect(struct fetch *f, uint32_t slot)
{
	struct fpeer *p = &f->peers[slot];
	struct fsource *s = &f->src[slot];
	struct io_uring_sqe *sqe, *tmo;

	if (!p->in && !(p->in = malloc(FETCH_RECV_BUF)))
		return;
	p->fd = socket(s->addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		log_warn("fetch: socket");
		s->retry_ms = f->now_ms + 5000;
		return;
	}
	if (f->bind_src && f->src_addr.sa.sa_family == s->addr.sa.sa_family) {
		int one = 1;

		/* The port comes at connect: binding many sockets to one address is fine. */
		setsockopt(p->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(p->fd, &f->src_addr.sa, f->src_addr.len) != 0)
			log_warn("fetch: bind to %s", f->src_host);
	}
	sqe = fetch_sqe(f);
	tmo = sqe ? fetch_sqe(f) : NULL;
	if (!tmo) {
		close(p->fd);
		s->retry_ms = f->now_ms + 1000;
		return;
	}
	fetch_peer_reset(p);
	io_uring_prep_connect(sqe, p->fd, &s->addr.sa, s->addr.len);
	io_uring_sqe_set_data64(sqe, fetch_ud(FOP_CONNECT, slot, p->gen));
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_prep_link_timeout(tmo, &f->connect_ts, 0);
	io_uring_sqe_set_data64(tmo, fetch_ud(FOP_TIMEOUT, slot, p->gen));
	p->ops += 2;
	p->state = FPEER_CONNECTING;
	s->fails++; /* reset by a good handshake */
}

/* A slot's new connection (dialled, or inbound): a new gen, nothing carried over. */
void fetch_peer_reset(struct fpeer *p)
{
	p->gen++;
	p->out_len = p->out_inflight = 0;
	p->send_busy = false;
	p->hs_len = 0;
	p->n_req = 0;
	p->interested = false;
	p->n_wanted = 0;
	p->rate = p->window_bytes = 0;
	p->msg_len = 0;
	p->pm_live = false;
	p->up.choking = true;
	p->up.interested = false;
	p->up.busy = false;
	p->up.n_q = 0;
}

/* A slot whose last operation completed after it was shut down is free again. */
static void fetch_reap(struct fpeer *p)
{
	if (p->state == FPEER_CLOSING && p->ops == 0) {
		close(p->fd);
		p->fd = -1;
		p->state = FPEER_FREE;
	}
}

static void fetch_on_peer(struct fetch *f, enum fop op, struct fpeer *p, int res)
{
	p->ops--;
	if (p->state == FPEER_CLOSING || p->state == FPEER_FREE) {
		if (op == FOP_SEND) {
			p->send_busy = false;
			free(p->out_old);
			p->out_old = NULL;
		}
		if (op == FOP_READ && --p->up.reads == 0)
			p->up.busy = false;
		return;
	}
	switch (op) {
	case FOP_CONNECT:
		if (res < 0) {
			f->res->c[FC_CONNECT_FAILS]++;
			p->state = FPEER_CLOSING; /* nothing else in flight but its timeout */
			/* A second more per refused connect in a row, up to 10 s, as at a drop. */
			f->src[p->src].retry_ms =
				f->now_ms + 1000u * (f->src[p->src].fails < 10 ? f->src[p->src].fails : 10);
			return;
		}
		fpeer_connected(f, p);
		fetch_recv(f, p);
		break;
	case FOP_RECV:
		if (res <= 0) {
			fpeer_drop(f, p, res < 0 ? FC_MAX : FC_MAX, "%s",
				   res < 0 ? strerror(-res) : "closed the connection");
			return;
		}
		fpeer_input(f, p, p->in, (size_t)res);
		if (p->state == FPEER_HANDSHAKE || p->state == FPEER_ACTIVE)
			fetch_recv(f, p);
		break;
	case FOP_SEND:
		p->send_busy = false;
		if (res <= 0) {
			fpeer_drop(f, p, FC_MAX, "send: %s", res < 0 ? strerror(-res) : "0 bytes");
			return;
		}
		free(p->out_old);
		p->out_old = NULL;
		memmove(p->out, p->out + res, p->out_len - (size_t)res);
		p->out_len -= (size_t)res;
		fup_pump(f, p);
		fetch_send(f, p);
		break;
	case FOP_READ:
		fup_on_read(f, p, res);
		break;
	default:
		break;
	}
}

void fetch_piece_free(struct fpiece *a)
{
	free(a->buf);
	free(a->blk);
	a->buf = a->blk = a->nreq = NULL;
	a->used = false;
}

/* A piece that did not match its hash: who sent it is struck, it is fetched again. */
static void fetch_piece_bad(struct fetch *f, struct fpiece *a)
{
	char name[64];

	f->res->c[FC_HASH_FAILS]++;
	for (uint8_t i = 0; i < a->n_contrib; i++) {
		struct fsource *s;

		if (a->contrib[i] < 0) { /* a web seed */
			fweb_bad_piece(f, a->contrib[i], a->index, a->n_contrib > 1 || a->many);
			continue;
		}
		s = &f->src[a->contrib[i]];

		s->excluded_piece = a->index;
		if (a->n_contrib > 1 || a->many)
			continue; /* shared blame convicts nobody; the refetch will tell */
		log_warnx("fetch: %s: piece %u failed its hash check (%u bad of its own)",
			  fetch_src_name(f, a->contrib[i], name, sizeof(name)), a->index,
			  s->strikes + 1);
		if (++s->strikes >= FETCH_BAN_STRIKES && !s->banned) {
			s->banned = true;
			fpeer_drop(f, &f->peers[a->contrib[i]], FC_BANS, "banned: sent %u bad pieces",
				   s->strikes);
		}
	}
	f->ps[a->index] = FPS_WANTED;
	fetch_piece_free(a);
}

static int fetch_piece_write(struct fetch *f, int act)
{
	struct fpiece *a = &f->act[act];
	struct mi_extent ext[FETCH_WRITE_EXTENTS];
	uint32_t begin = 0;

	while (begin < a->size) {
		int n = mi_map(f->mi, a->index, begin, a->size - begin, ext, FETCH_WRITE_EXTENTS);

		if (n == -ENOSPC)
			n = mi_map(f->mi, a->index, begin, (uint32_t)ext[0].length, ext, 1);
		if (n <= 0)
			return n < 0 ? n : -EIO;
		for (int i = 0; i < n; i++) {
			int fd = f->st.fds[ext[i].file];
			struct io_uring_sqe *sqe;

			if (fd >= 0) { /* a pad file holds zeros and is never written */
				sqe = fetch_sqe(f);
				if (!sqe)
					return -EBUSY;
				io_uring_prep_write(sqe, fd, a->buf + begin, ext[i].length,
						    ext[i].offset);
				/* the file rides along, so a failed write can be named */
				io_uring_sqe_set_data64(
					sqe, fetch_ud(FOP_WRITE,
						      (uint32_t)act | FETCH_WRITE_FILE(ext[i].file),
						      ext[i].length));
				a->writes++;
			}
			begin += ext[i].length;
		}
	}
	return 0;
}

/* Verified and on disk: ours, and every peer hears of it. */
static void fetch_piece_done(struct fetch *f, struct fpiece *a)
{
	uint32_t piece = a->index;

	f->ps[piece] = FPS_HAVE;
	f->st.have[piece / 8] |= (uint8_t)(0x80u >> (piece % 8));
	f->n_have++;
	f->res->c[FC_PIECES]++;
	f->dirty = true;
	fetch_piece_free(a);
	fpeer_broadcast_have(f, piece);
}

void fetch_piece_complete(struct fetch *f, int act)
{
	struct fpiece *a = &f->act[act];
	int rc;

	rc = fetch_piece_check(f->mi, a->index, a->buf, a->size);
	if (rc == -EBADMSG) {
		fetch_piece_bad(f, a);
		return;
	}
	if (rc) { /* out of memory: fetched again later */
		f->ps[a->index] = FPS_WANTED;
		fetch_piece_free(a);
		return;
	}
	/* Requests still out for it (endgame) are cancelled as their blocks were. */
	f->ps[a->index] = FPS_WRITING;
	rc = fetch_piece_write(f, act);
	if (rc) {
		f->fail = rc;
		log_errx("fetch: %s: piece %u: submitting its writes: %s", f->mi->name, a->index,
			 strerror(-rc));
	} else if (a->writes == 0) { /* every byte in pad files: cannot be, but harmless */
		fetch_piece_done(f, a);
	}
}

static void fetch_on_write(struct fetch *f, uint32_t slot, uint32_t want, int res)
{
	struct fpiece *a = &f->act[slot & 0xff];

	if (res < 0 || (uint32_t)res != want) {
		/* a short write on a full disk: write() would give ENOSPC next */
		a->write_err = res < 0 ? res : -ENOSPC;
		if (!f->fail && f->fail_file == UINT32_MAX)
			f->fail_file = slot >> 8 == 0xffff ? UINT32_MAX - 1 : slot >> 8;
	}
	if (--a->writes > 0)
		return;
	if (a->write_err) {
		/* fetch_run's caller says it, with the file (fetch_fail_text) */
		if (!f->fail)
			f->fail_piece = a->index;
		f->fail = a->write_err;
		f->ps[a->index] = FPS_WANTED;
		fetch_piece_free(a);
		return;
	}
	fetch_piece_done(f, a);
}

static void fetch_dispatch(struct fetch *f, const struct io_uring_cqe *cqe)
{
	enum fop op = (enum fop)(cqe->user_data >> 56);
	uint32_t slot = (uint32_t)(cqe->user_data >> 32) & 0xffffff;
	uint32_t gen = (uint32_t)cqe->user_data;
	struct fpeer *p;

	switch (op) {
	case FOP_WRITE:
		fetch_on_write(f, slot, gen, cqe->res);
		return;
	case FOP_TICK:
		return;
	case FOP_WEB:
		fweb_on_poll(f, cqe->res);
		return;
	case FOP_TIMEOUT:
	case FOP_CONNECT:
	case FOP_RECV:
	case FOP_SEND:
	case FOP_READ:
		if (slot >= FETCH_SOURCES_MAX)
			return;
		p = &f->peers[slot];
		if (op == FOP_TIMEOUT)
			p->ops--;
		else
			fetch_on_peer(f, op, p, cqe->res);
		fetch_reap(p);
		(void)gen;
		return;
	}
}

static void fetch_arm_tick(struct fetch *f)
{
	struct io_uring_sqe *sqe = fetch_sqe(f);

	if (!sqe)
		return; /* the wait below has its own timeout */
	io_uring_prep_timeout(sqe, &f->tick_ts, 0, 0);
	io_uring_sqe_set_data64(sqe, fetch_ud(FOP_TICK, 0, 0));
}

static void fetch_tick(struct fetch *f)
{
	uint32_t conns = 0;

	for (uint32_t i = 0; i < f->n_src; i++)
		conns += f->peers[i].state != FPEER_FREE;
	for (uint32_t i = 0; i < f->n_src; i++) {
		struct fpeer *p = &f->peers[i];
		struct fsource *s = &f->src[i];

		if (p->state == FPEER_FREE && !s->banned && !s->inbound &&
		    f->now_ms >= s->retry_ms && !f->fail) {
			if (conns < FETCH_CONNS_MAX && ++conns)
				fetch_connect(f, i);
		} else {
			fpeer_tick(f, p);
		}
	}
	if (f->dirty && f->now_ms - f->saved_ms >= FETCH_SAVE_MS) {
		int rc = fst_save(&f->st);

		if (rc)
			log_warnx("fetch: %s: saving the .fetch state: %s", f->mi->name,
				  strerror(-rc));
		f->dirty = false;
		f->saved_ms = f->now_ms;
	}
	fup_tick(f);
	ftrk_tick(f);
}

static bool fetch_busy(const struct fetch *f)
{
	for (uint32_t i = 0; i < f->act_max; i++)
		if (f->act[i].used && f->act[i].writes)
			return true;
	return false;
}

static int fetch_loop(struct fetch *f)
{
	struct __kernel_timespec wait = { .tv_nsec = FETCH_TICK_MS * 1000000ll };
	uint64_t next_tick = 0;

	while (f->n_have < f->mi->piece_count || fetch_busy(f)) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		int rc;

		if (*f->o->stop)
			return -EINTR;
		if (f->fail && !fetch_busy(f))
			return f->fail;
		f->now_ms = clock_ms();
		if (f->now_ms >= next_tick) {
			fetch_tick(f);
			fetch_arm_tick(f);
			next_tick = f->now_ms + FETCH_TICK_MS;
		}
		fweb_service(f);
		rc = io_uring_submit_and_wait_timeout(&f->ring, &cqe, 1, &wait, NULL);
		if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY)
			return rc;
		f->now_ms = clock_ms();
		io_uring_for_each_cqe(&f->ring, head, cqe)
		{
			fetch_dispatch(f, cqe);
			n++;
		}
		io_uring_cq_advance(&f->ring, n);
	}
	return 0;
}

bool fetch_has_source(const struct metainfo *mi, const struct conf *c, unsigned n_peers,
		      uint16_t port)
{
	if (n_peers || c->fetch_peers.n || fweb_usable(mi))
		return true;
	for (uint32_t i = 0; port && i < mi->tracker_count; i++)
		if (strncmp(mi->trackers[i].url, "http://", 7) == 0 ||
		    strncmp(mi->trackers[i].url, "https://", 8) == 0 ||
		    strncmp(mi->trackers[i].url, "udp://", 6) == 0)
			return true;
	return false;
}

/*
 * A box listening on one address (127.0.1.5, a service IP) connects and
 * announces from it too, as the seeder's announces do: trackers then hand
 * out an address where it can be reached, and peers see one box, not two.
 */
static void fetch_source_address(struct fetch *f, const struct conf *c)
{
	const struct conf_addr *a = &c->listen.addr[0];

	if (c->listen.n == 0)
		return;
	if (a->sa.sa_family == AF_INET && a->in4.sin_addr.s_addr != htonl(INADDR_ANY)) {
		f->src_addr = *a;
		f->src_addr.in4.sin_port = 0;
		inet_ntop(AF_INET, &a->in4.sin_addr, f->src_host, sizeof(f->src_host));
		f->bind_src = true;
	} else if (a->sa.sa_family == AF_INET6 && !IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr)) {
		f->src_addr = *a;
		f->src_addr.in6.sin6_port = 0;
		inet_ntop(AF_INET6, &a->in6.sin6_addr, f->src_host, sizeof(f->src_host));
		f->bind_src = true;
	}
}

static int fetch_setup(struct fetch *f, const struct fetch_opts *o, char *err, size_t errlen)
{
	struct ring_features feat;
	uint64_t bytes = 0;
	bool source;
	int rc;

	if (getrandom(&f->rng, sizeof(f->rng), 0) != sizeof(f->rng) || f->rng == 0)
		f->rng = clock_ns() | 1;
	memcpy(f->peer_id, FETCH_PEER_ID_PREFIX, 8);
	for (unsigned i = 8; i < sizeof(f->peer_id); i++)
		f->peer_id[i] = (uint8_t)('0' + fetch_rand(f) % 10);
	f->ps = calloc(f->mi->piece_count, 1);
	f->avail = calloc(f->mi->piece_count, sizeof(*f->avail));
	if (!f->ps || !f->avail) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (f->act_max = 0; f->act_max < FETCH_ACTIVE_MAX && bytes < FETCH_ACTIVE_BYTES;
	     f->act_max++)
		bytes += f->mi->piece_length;
	if (f->act_max < 2)
		f->act_max = 2;
	f->request_timeout_ms = (uint32_t)o->conf->fetch_request_timeout * 1000u;
	fetch_source_address(f, o->conf);
	f->tick_ts.tv_nsec = FETCH_TICK_MS * 1000000ll;
	f->connect_ts.tv_sec = FETCH_CONNECT_MS / 1000;
	for (uint32_t i = 0; i < FETCH_SOURCES_MAX; i++)
		f->peers[i].fd = -1;
	f->channel_fd = o->channel_fd;
	f->listen_fd = o->listen_fd;
	f->optimistic = -1;
	for (unsigned i = 0; i < o->n_peers; i++)
		fetch_add_source(f, &o->peers[i]);
	for (unsigned i = 0; i < o->conf->fetch_peers.n; i++)
		fetch_add_source(f, &o->conf->fetch_peers.addr[i]);
	for (unsigned i = 0; i < o->n_banned; i++)
		for (uint32_t s = 0; s < f->n_src; s++)
			if (!memcmp(&f->src[s].addr, &o->banned[i], o->banned[i].len))
				f->src[s].banned = true;
	rc = ring_init(&f->ring, FETCH_RING_ENTRIES, &feat, err, errlen);
	if (rc)
		return rc;
	/* With nobody to ask, only content already complete in size is looked at. */
	source = fetch_has_source(f->mi, o->conf, o->n_peers, o->port) || o->n_webseeds;
	rc = fst_open(&f->st, f->mi, o->data_dirfd, o->state_dirfd, source,
		      o->conf->fetch_preallocate == CONF_PREALLOC_SPARSE, err, errlen);
	if (rc == -ENOENT && !source)
		snprintf(err, errlen, "%s: no peer to fetch from (give --peer, fetch.peers, or a "
			 "torrent with an HTTP tracker)", f->mi->name);
	if (rc) {
		io_uring_queue_exit(&f->ring);
		return rc;
	}
	return 0;
}

static void fetch_teardown(struct fetch *f)
{
	for (uint32_t i = 0; i < FETCH_SOURCES_MAX; i++) {
		struct fpeer *p = &f->peers[i];

		if (p->fd >= 0)
			close(p->fd);
		free(p->in);
		free(p->out);
		free(p->out_old);
		free(p->up.buf);
		free(p->bits);
		free(p->msg);
	}
	for (uint32_t i = 0; i < FETCH_ACTIVE_MAX; i++)
		if (f->act[i].used)
			fetch_piece_free(&f->act[i]);
	ftrk_close(f);
	fweb_close(f);
	io_uring_queue_exit(&f->ring);
	fst_close(&f->st);
	free(f->ps);
	free(f->avail);
}

static void fetch_log_done(const struct fetch *f, int rc)
{
	char line[1024];
	size_t n = 0;

	for (int i = 0; i < FC_MAX && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%llu", fetch_counter_name(i),
				      (unsigned long long)f->res->c[i]);
	log_notice("fetch: %s: %s in %.1f s, %u of %u pieces:%s", f->mi->name,
		   rc == 0 ? "complete" : "stopped", f->res->seconds, f->n_have,
		   f->mi->piece_count, line);
}

int fetch_run(const struct fetch_opts *o, struct fetch_result *res, char *err, size_t errlen)
{
	struct fetch *f = calloc(1, sizeof(*f));
	uint64_t start = clock_ms();
	int rc;

	*res = (struct fetch_result){ 0 };
	if (errlen)
		err[0] = '\0';
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	f->o = o;
	f->res = res;
	f->mi = o->mi;
	f->fail_file = UINT32_MAX;
	rc = fetch_setup(f, o, err, errlen);
	if (rc) {
		free(f->ps);
		free(f->avail);
		free(f);
		return rc;
	}
	fst_resume(&f->st, &res->resumed);
	for (uint32_t i = 0; i < f->mi->piece_count; i++)
		if (verify_has(f->st.have, i))
			f->ps[i] = FPS_HAVE;
	f->n_have = res->resumed;
	if (res->resumed)
		log_notice("fetch: %s: %u of %u pieces already here", f->mi->name, res->resumed,
			   f->mi->piece_count);
	/*
	 * The .fetch state goes down before any byte comes: from now on a scan
	 * of the seeder sees a fetch under way, not content to hash (the
	 * preallocated files are full size but mostly zeros).
	 */
	if (f->n_have < f->mi->piece_count && (rc = fst_save(&f->st)) != 0)
		log_warnx("fetch: %s: saving the .fetch state: %s", f->mi->name, strerror(-rc));
	if (ftrk_init(f) < 0)
		log_warnx("fetch: %s: no tracker client (out of memory)", f->mi->name);
	if (fweb_init(f) < 0)
		log_warnx("fetch: %s: no web seed client (out of memory)", f->mi->name);
	if (f->n_have < f->mi->piece_count && !o->n_webseeds &&
	    !fetch_has_source(f->mi, o->conf, o->n_peers, o->port)) {
		snprintf(err, errlen, "%s: %u of %u pieces here and no peer to fetch the rest from",
			 f->mi->name, f->n_have, f->mi->piece_count);
		rc = -ENOENT;
	} else {
		rc = fetch_loop(f);
	}
	if (rc == 0)
		rc = fst_finish(&f->st, err, errlen);
	if (rc == 0)
		ftrk_completed(f, FETCH_COMPLETED_MS);
	else
		fetch_fail_text(f, rc, fst_save(&f->st), err, errlen);
	res->seconds = (double)(clock_ms() - start) / 1e3;
	fetch_log_done(f, rc);
	fetch_teardown(f);
	free(f);
	return rc;
}
