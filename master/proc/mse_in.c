/*
 * mse_in.c - the receiving side of Message Stream Encryption, in the master.
 *
 * Where it runs: here, not in a worker. The handshake costs two modular
 * exponentiations (768-bit modulus, 160-bit exponent); measured with
 * `test_mse bench`, a core completes a few thousand receiver handshakes a
 * second (bench/README.md has the figure and the conditions). In the master
 * that work never lands on a worker's loop, so peers already being served do
 * not feel a flood of openings, and the hand-off stays what it was: a socket
 * whose handshake is read, plus the ciphers and the bytes already read. The
 * master stays responsive because each connection's work per event is
 * bounded (at most one exponentiation pair, at most 608 + 534 bytes read
 * before the IA) and the pending table bounds how many are open at once.
 *
 *   first bytes not "\x13BitTorrent protocol" -> net.encryption off: dropped
 *     -> MSE (proto/mse.c) until done, each failure counted by its reason,
 *        the deadline net.mse_timeout (MSE_DEADLINE_S) from accept (SHORT under 96 bytes)
 *     -> the 68-byte handshake read from the deciphered stream; its info-hash
 *        must be the one MSE named -> handed to the least-loaded worker
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/proc/master.h"
#include "proto/wire.h"

struct msein {
	struct mse hs;
	uint16_t stream_len; /* deciphered bytes after MSE: the handshake, then extra */
	uint8_t stream[WORKER_HANDSHAKE_LEN + WORKER_EXTRA_MAX];
};

struct msein_row {
	uint8_t req2[20]; /* HASH('req2', info_hash) */
	uint8_t info_hash[20];
};

static int msein_row_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 20);
}

/* The table MSE finds torrents in, again after every change of torrents. */
void msein_rebuild(struct master *m)
{
	struct msein_row *rows = m->reg.n ? calloc(m->reg.n, sizeof(*rows)) : NULL;

	if (m->reg.n && !rows) {
		log_warnx("out of memory for the MSE table; encrypted peers find the old one");
		return;
	}
	for (uint32_t i = 0; i < m->reg.n; i++) {
		memcpy(rows[i].info_hash, m->reg.t[i]->mi.info_hash, 20);
		mse_req2(rows[i].info_hash, rows[i].req2);
	}
	if (rows) /* none with no torrent: qsort wants a pointer even for 0 rows */
		qsort(rows, m->reg.n, sizeof(*rows), msein_row_cmp);
	free(m->mse_rows);
	m->mse_rows = rows;
	m->n_mse_rows = m->reg.n;
}

static int msein_find(void *ctx, const uint8_t req2[20], uint8_t info_hash[20])
{
	const struct master *m = ctx;
	const struct msein_row *r =
		bsearch(req2, m->mse_rows, m->n_mse_rows, sizeof(*r), msein_row_cmp);

	if (!r)
		return -ENOENT;
	memcpy(info_hash, r->info_hash, 20);
	return 0;
}

void msein_free(struct pending *p)
{
	free(p->mse);
	p->mse = NULL;
}

/* The counter of a pending MSE connection whose deadline passed. */
enum mstat msein_expired(const struct pending *p)
{
	return MSTAT_DROP_MSE_SHORT + (mse_expired(&p->mse->hs) - MSE_ERR_SHORT);
}

static void msein_drop(struct master *m, unsigned slot, enum mstat why)
{
	master_pending_close(m, slot, why);
}

/* The handshake inside the stream is complete: check it and hand the peer on. */
static void msein_finish(struct master *m, unsigned slot)
{
	struct pending *p = &m->pend[slot];
	struct msein *c = p->mse;
	struct wmsg msg = { .type = WMSG_PEER };
	struct wire_handshake hs;
	const struct torrent *t;
	bool rc4 = c->hs.st.method == MSE_CRYPTO_RC4;

	if (wire_handshake_parse(c->stream, &hs) != 0) {
		msein_drop(m, slot, MSTAT_DROP_BAD_HANDSHAKE);
		return;
	}
	t = reg_find(&m->reg, hs.info_hash);
	if (!t || memcmp(hs.info_hash, c->hs.skey, 20) != 0) {
		msein_drop(m, slot, MSTAT_DROP_UNKNOWN_HASH);
		return;
	}
	memcpy(msg.handshake, c->stream, WORKER_HANDSHAKE_LEN);
	msg.crypt = rc4 ? WCRYPT_RC4 : WCRYPT_MSE_PLAIN;
	msg.st = c->hs.st;
	msg.extra_len = (uint16_t)(c->stream_len - WORKER_HANDSHAKE_LEN);
	memcpy(msg.extra, c->stream + WORKER_HANDSHAKE_LEN, msg.extra_len);
	memcpy(msg.addr_slot, p->addr_slot, sizeof(msg.addr_slot));
	m->mstat[rc4 ? MSTAT_PEERS_RC4 : MSTAT_PEERS_MSE_PLAIN]++;
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	master_addr_put(m, p->addr_slot); /* the worker's counters take it over */
	workers_handoff(&m->workers, p->fd, t, &msg);
	msein_free(p);
	p->fd = -1;
	m->n_pend--;
}

/* Bytes from the peer: the handshake first, then the deciphered stream. */
static void msein_input(struct master *m, unsigned slot, const uint8_t *in, size_t n)
{
	struct pending *p = &m->pend[slot];
	struct msein *c = p->mse;
	size_t used = 0;

	if (c->hs.state != MSE_DONE) {
		int rc = mse_feed(&c->hs, in, n, &used);

		if (c->hs.out_len) {
			ssize_t s =
				send(p->fd, c->hs.out, c->hs.out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

			/* At most 608 bytes to a fresh socket: anything short means it is gone. */
			if (s != (ssize_t)c->hs.out_len) {
				msein_drop(m, slot, MSTAT_DROP_BAD_HANDSHAKE);
				return;
			}
			c->hs.out_len = 0;
		}
		if (rc < 0) {
			log_debug("MSE peer dropped: %s", mse_err_name(c->hs.err));
			msein_drop(m, slot, MSTAT_DROP_MSE_SHORT + (c->hs.err - MSE_ERR_SHORT));
			return;
		}
		if (rc == 0)
			return;
	}
	n -= used;
	if (c->stream_len + n > sizeof(c->stream)) { /* beyond the sync bound: cannot happen */
		msein_drop(m, slot, MSTAT_DROP_BAD_HANDSHAKE);
		return;
	}
	memcpy(c->stream + c->stream_len, in + used, n);
	mse_recv(&c->hs.st, c->stream + c->stream_len, n);
	c->stream_len = (uint16_t)(c->stream_len + n);
	if (c->stream_len >= WORKER_HANDSHAKE_LEN)
		msein_finish(m, slot);
}

/* The first bytes (p->buf) were not a plain handshake: MSE, if allowed. */
void msein_start(struct master *m, unsigned slot)
{
	struct pending *p = &m->pend[slot];
	int enc = m->conf.encryption;
	struct mse_policy pol = {
		.allow = enc == CONF_ENC_REQUIRE ? MSE_CRYPTO_RC4
						 : MSE_CRYPTO_PLAIN | MSE_CRYPTO_RC4,
		.prefer_rc4 = enc == CONF_ENC_PREFER || enc == CONF_ENC_REQUIRE,
		.pad_max = MSE_PAD_MAX,
		.ia_max = MSE_IA_MAX,
		.find = msein_find,
		.find_ctx = m,
	};
	uint8_t rnd[MSE_RAND_LEN];

	if (enc == CONF_ENC_OFF) {
		msein_drop(m, slot, MSTAT_DROP_MSE_REFUSED);
		return;
	}
	p->mse = malloc(sizeof(*p->mse));
	if (!p->mse || getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd) ||
	    mse_init_receiver(&p->mse->hs, &pol, rnd) != 0) {
		log_warn("starting MSE for a peer");
		msein_drop(m, slot, MSTAT_DROP_TOO_MANY);
		return;
	}
	p->mse->stream_len = 0;
	p->deadline_ms = p->accepted_ms + (uint64_t)m->conf.mse_timeout * 1000;
	msein_input(m, slot, p->buf, p->got);
}

/* Reads no more than the handshake can take, so little is read past it. */
void msein_read(struct master *m, unsigned slot)
{
	struct pending *p = &m->pend[slot];
	struct msein *c = p->mse;
	uint8_t buf[MSE_PAD_MAX + 20];
	size_t want = c->hs.state == MSE_DONE ? (size_t)(WORKER_HANDSHAKE_LEN - c->stream_len)
					      : mse_want(&c->hs);
	ssize_t n;

	if (want > sizeof(buf))
		want = sizeof(buf);
	n = recv(p->fd, buf, want, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		msein_drop(m, slot, MSTAT_DROP_BAD_HANDSHAKE);
		return;
	}
	msein_input(m, slot, buf, (size_t)n);
}

/* " peers_plain=... drop_mse_short=..." for the stats line. */
void msein_stats(const struct master *m, const uint64_t *w, char *buf, size_t len)
{
	static const char *const names[] = { "short",	     "timeout", "bad_key", "no_sync",
					     "unknown_skey", "bad_vc",	"bad_pad", "ia_too_long",
					     "no_crypto",    "internal" };
	size_t n;

	n = (size_t)snprintf(buf, len,
			     "peers_plain=%llu peers_mse_plain=%llu peers_rc4=%llu "
			     "up_bytes_mse_plain=%llu up_bytes_rc4=%llu drop_plain_refused=%llu "
			     "drop_mse_refused=%llu",
			     (unsigned long long)m->mstat[MSTAT_PEERS_PLAIN],
			     (unsigned long long)m->mstat[MSTAT_PEERS_MSE_PLAIN],
			     (unsigned long long)m->mstat[MSTAT_PEERS_RC4],
			     (unsigned long long)w[WSTAT_UP_BYTES_MSE_PLAIN],
			     (unsigned long long)w[WSTAT_UP_BYTES_RC4],
			     (unsigned long long)m->mstat[MSTAT_DROP_PLAIN_REFUSED],
			     (unsigned long long)m->mstat[MSTAT_DROP_MSE_REFUSED]);
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]) && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, " drop_mse_%s=%llu", names[i],
				      (unsigned long long)m->mstat[MSTAT_DROP_MSE_SHORT + i]);
}
