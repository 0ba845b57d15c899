/*
 * master.c - the master's event loop; see master.h for the picture.
 *
 * epoll data: the high 32 bits say what a descriptor is, the low 32 bits
 * which one (listener index, pending slot, worker slot).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "iocore/clock.h"
#include "iocore/log.h"
#include "master/admin/admin.h"
#include "master/announce/announce.h"
#include "master/proc/addrcap.h"
#include "master/proc/guard.h"
#include "master/proc/master.h"
#include "master/tracker/tracker_srv.h"
#include "proto/wire.h"

#define MASTER_TICK_MS 100
#define MASTER_QUIT_MS 5000 /* how long workers get to finish on SIGTERM */
#define MASTER_BACKLOG 4096

enum ev_kind {
	EV_LISTEN = 1,
	EV_PENDING,
	EV_CHANNEL,
	EV_SIGNAL,
	EV_TICK,
	EV_TRACKER,
	EV_ANNOUNCE,
	EV_ADMIN,
	EV_WATCH,
	EV_SCAN,
	EV_GUARD,
	EV_RECHECK
};

/* What a peer's handshake must start with: the length byte, then the string. */
static const char pstr[1 + WIRE_PROTOCOL_LEN] = "\x13" WIRE_PROTOCOL;
_Static_assert(WIRE_PROTOCOL_LEN == 0x13, "the length byte above is WIRE_PROTOCOL_LEN");

uint64_t master_now_ms(void)
{
	return clock_ms();
}

static int master_watch(struct master *m, int fd, enum ev_kind kind, uint32_t idx, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = ((uint64_t)kind << 32) | idx };

	return epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void master_addr_str(const struct conf_addr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(a->in6.sin6_port));
	} else {
		inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(a->in4.sin_port));
	}
}

static int master_listen(struct master *m)
{
	char name[80];
	int one = 1;

	for (unsigned i = 0; i < m->conf.listen.n; i++) {
		const struct conf_addr *a = &m->conf.listen.addr[i];
		int fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		master_addr_str(a, name, sizeof(name));
		if (fd < 0) {
			log_err("socket for %s", name);
			return -errno;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (a->sa.sa_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, &a->sa, a->len) != 0 || listen(fd, MASTER_BACKLOG) != 0) {
			log_err("listening on %s", name);
			close(fd);
			return -errno;
		}
		m->listen_fd[m->n_listen] = fd;
		master_watch(m, fd, EV_LISTEN, m->n_listen++, EPOLLIN);
		log_info("listening on %s", name);
	}
	return 0;
}

/*
 * The master's own counts per address slot (connections still handshaking
 * here), and a key no peer knows, so no one can pick addresses that share
 * another's slot.
 */
static int master_addr_init(struct master *m)
{
	m->addr_live = calloc(ADDRCAP_SLOTS, sizeof(*m->addr_live));
	if (!m->addr_live)
		return -ENOMEM;
	if (getrandom(&m->addr_key, sizeof(m->addr_key), 0) != (ssize_t)sizeof(m->addr_key))
		m->addr_key = (uint64_t)master_now_ms() ^ ((uint64_t)getpid() << 32);
	return 0;
}

/* Gives back the master's counts of a connection that leaves it. */
void master_addr_put(struct master *m, const uint32_t slot[2])
{
	for (int i = 0; i < 2; i++)
		if (slot[i] < ADDRCAP_SLOTS)
			m->addr_live[slot[i]]--;
}

/*
 * Whether a connection from sa stays under net.max_per_ip and
 * net.max_per_subnet, counting those still handshaking here and those every
 * worker holds; if so, charges it (slot says where) and returns true.
 */
static bool master_addr_admit(struct master *m, const struct sockaddr *sa, socklen_t len,
			      uint32_t slot[2])
{
	const int cap[2] = { m->conf.max_per_ip, m->conf.max_per_subnet };

	if (addrcap_slots(sa, len, m->addr_key, slot) != 0)
		return true; /* not IP: nothing to count */
	for (int i = 0; i < 2; i++) {
		if (cap[i] && m->addr_live[slot[i]] + workers_addr_live(&m->workers, slot[i]) >= (uint32_t)cap[i])
			return false;
	}
	for (int i = 0; i < 2; i++)
		m->addr_live[slot[i]]++;
	return true;
}

void master_pending_close(struct master *m, unsigned slot, enum mstat why)
{
	struct pending *p = &m->pend[slot];

	if (why < MSTAT_MAX)
		m->mstat[why]++;
	msein_free(p);
	master_addr_put(m, p->addr_slot);
	close(p->fd); /* also leaves the epoll set */
	p->fd = -1;
	m->n_pend--;
}

/* Watches the listeners again (paused: false) or stops watching them (true). */
static void master_listeners(struct master *m, bool paused)
{
	for (unsigned i = 0; i < m->n_listen; i++) {
		struct epoll_event ev = { .events = paused ? 0 : EPOLLIN,
					  .data.u64 = ((uint64_t)EV_LISTEN << 32) | i };

		epoll_ctl(m->epfd, EPOLL_CTL_MOD, m->listen_fd[i], &ev);
	}
	m->accept_paused = paused;
}

static void master_accept(struct master *m, unsigned li)
{
	unsigned slot = 0;
	int fd;

	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	uint32_t as[2];

	while ((fd = accept4(m->listen_fd[li], (struct sockaddr *)&ss, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (m->n_pend == MASTER_MAX_PENDING || m->quit_deadline_ms) {
			close(fd);
			m->mstat[MSTAT_DROP_TOO_MANY]++;
			len = sizeof(ss);
			continue;
		}
		if (!master_addr_admit(m, (struct sockaddr *)&ss, len, as)) {
			close(fd); /* before its handshake: it costs no more than this */
			m->mstat[MSTAT_DROP_PER_IP]++;
			len = sizeof(ss);
			continue;
		}
		len = sizeof(ss);
		while (m->pend[slot].fd >= 0)
			slot++;
		m->pend[slot] = (struct pending){
			.fd = fd,
			.accepted_ms = master_now_ms(),
			.deadline_ms = master_now_ms() + (uint64_t)m->conf.handshake_timeout * 1000,
			.addr_slot = { as[0], as[1] }
		};
		m->n_pend++;
		master_watch(m, fd, EV_PENDING, slot, EPOLLIN | EPOLLRDHUP);
	}
	if (errno == EMFILE || errno == ENFILE) {
		/*
		 * Out of descriptors: the connection stays in the backlog, and the
		 * listener would wake us again at once. Look again next tick; say
		 * so at most every 10 s.
		 */
		uint64_t now = master_now_ms();

		if (now - m->accept_warned_ms >= 10000 || !m->accept_warned_ms) {
			log_warn("accept (paused for %d ms; RLIMIT_NOFILE)", MASTER_TICK_MS);
			m->accept_warned_ms = now;
		}
		master_listeners(m, true);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED) {
		log_warn("accept");
	}
}

/*
 * Reads what has arrived of a handshake. Bytes that part from a plain
 * handshake's start are an MSE opening (mse_in.c), where allowed.
 */
static void master_pending_read(struct master *m, unsigned slot)
{
	struct pending *p = &m->pend[slot];
	struct wmsg msg = { 0 };
	const struct torrent *t;
	ssize_t n;

	if (p->mse) {
		msein_read(m, slot);
		return;
	}
	n = recv(p->fd, p->buf + p->got, WORKER_HANDSHAKE_LEN - p->got, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		master_pending_close(m, slot, MSTAT_DROP_BAD_HANDSHAKE);
		return;
	}
	p->got += (uint8_t)n;
	if (memcmp(p->buf, pstr, p->got < sizeof(pstr) ? p->got : sizeof(pstr)) != 0) {
		msein_start(m, slot);
		return;
	}
	if (p->got >= sizeof(pstr) && m->conf.encryption == CONF_ENC_REQUIRE) {
		master_pending_close(m, slot, MSTAT_DROP_PLAIN_REFUSED);
		return;
	}
	if (p->got < WORKER_HANDSHAKE_LEN)
		return;
	t = reg_find(&m->reg, p->buf + 28);
	if (!t) {
		master_pending_close(m, slot,
				     mfetch_handoff(m, p->buf + 28, p->fd, p->buf)
					     ? MSTAT_PEERS_FETCH
					     : MSTAT_DROP_UNKNOWN_HASH);
		return;
	}
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	memcpy(msg.handshake, p->buf, WORKER_HANDSHAKE_LEN);
	memcpy(msg.addr_slot, p->addr_slot, sizeof(msg.addr_slot));
	m->mstat[MSTAT_PEERS_PLAIN]++;
	master_addr_put(m, p->addr_slot); /* the worker's counters take it over */
	workers_handoff(&m->workers, p->fd, t, &msg);
	p->fd = -1;
	m->n_pend--;
}

static void master_expire_pending(struct master *m, uint64_t now)
{
	for (unsigned i = 0; i < MASTER_MAX_PENDING && m->n_pend; i++) {
		if (m->pend[i].fd >= 0 && now >= m->pend[i].deadline_ms)
			master_pending_close(m, i,
					     m->pend[i].mse ? msein_expired(&m->pend[i])
							    : MSTAT_DROP_HANDSHAKE_TIMEOUT);
	}
}

void master_stats_line(struct master *m, const char *tag)
{
	uint64_t w[WSTAT_MAX] = { 0 };
	char more[2048] = "";
	size_t n = 0;

	workers_stats(&m->workers, w);
	/* The announcer's and the built-in tracker's counters end the same line. */
	if (m->ann) {
		more[n++] = ' ';
		ann_stats(m->ann, more + n, sizeof(more) - n);
		n = strlen(more);
	}
	if (m->tsrv && n + 1 < sizeof(more)) {
		more[n++] = ' ';
		tsrv_stats(m->tsrv, more + n, sizeof(more) - n);
		n = strlen(more);
	}
	if (n + 1 < sizeof(more)) {
		more[n++] = ' ';
		msein_stats(m, w, more + n, sizeof(more) - n);
		n = strlen(more);
	}
	if (n + 1 < sizeof(more)) {
		more[n++] = ' ';
		mpex_stats(&m->pex, w, more + n, sizeof(more) - n);
		n = strlen(more);
	}
	if (n + 1 < sizeof(more)) {
		more[n++] = ' ';
		swarm_stats(w, more + n, sizeof(more) - n);
	}
	log_info("%s: peers=%llu up_bytes=%llu blocks=%llu requests=%llu rejects=%llu "
		 "hashes=%llu hash_rejects=%llu handshakes=%llu drop_handshake_timeout=%llu drop_bad_handshake=%llu "
		 "drop_unknown_hash=%llu drop_protocol=%llu drop_bad_request=%llu drop_flood=%llu "
		 "drop_idle=%llu drop_too_many=%llu drop_io=%llu drop_seed=%llu drop_bad_ext=%llu "
		 "meta_pieces=%llu meta_rejects=%llu meta_flood=%llu drop_handoff_timeout=%llu "
		 "handoff_fallback=%llu worker_restarts=%llu drop_per_ip=%llu peers_fetch=%llu%s",
		 tag, (unsigned long long)w[WSTAT_PEERS], (unsigned long long)w[WSTAT_UP_BYTES],
		 (unsigned long long)w[WSTAT_BLOCKS], (unsigned long long)w[WSTAT_REQUESTS],
		 (unsigned long long)w[WSTAT_REJECTS], (unsigned long long)w[WSTAT_HASHES],
		 (unsigned long long)w[WSTAT_HASH_REJECTS], (unsigned long long)w[WSTAT_HANDSHAKES],
		 (unsigned long long)m->mstat[MSTAT_DROP_HANDSHAKE_TIMEOUT],
		 (unsigned long long)m->mstat[MSTAT_DROP_BAD_HANDSHAKE],
		 (unsigned long long)m->mstat[MSTAT_DROP_UNKNOWN_HASH],
		 (unsigned long long)w[WSTAT_DROP_PROTOCOL],
		 (unsigned long long)w[WSTAT_DROP_BAD_REQUEST],
		 (unsigned long long)w[WSTAT_DROP_FLOOD], (unsigned long long)w[WSTAT_DROP_IDLE],
		 (unsigned long long)(w[WSTAT_DROP_TOO_MANY] + m->mstat[MSTAT_DROP_TOO_MANY] +
				      m->workers.drop_no_worker),
		 (unsigned long long)w[WSTAT_DROP_IO], (unsigned long long)w[WSTAT_DROP_SEED],
		 (unsigned long long)w[WSTAT_DROP_BAD_EXT],
		 (unsigned long long)w[WSTAT_META_PIECES],
		 (unsigned long long)w[WSTAT_META_REJECTS], (unsigned long long)w[WSTAT_META_FLOOD],
		 (unsigned long long)m->workers.drop_handoff_timeout,
		 (unsigned long long)m->workers.handoff_fallback,
		 (unsigned long long)m->workers.restarts,
		 (unsigned long long)m->mstat[MSTAT_DROP_PER_IP],
		 (unsigned long long)m->mstat[MSTAT_PEERS_FETCH], more);
}

/* Payload bytes the workers sent for t: what trackers are told as uploaded. */
static uint64_t master_uploaded(void *arg, const struct torrent *t)
{
	const struct master *m = arg;

	return workers_torrent_up(&m->workers, t->id);
}

/*
 * A torrent starts: workers, trackers and the built-in tracker learn of it.
 * The built-in tracker takes a hybrid's swarm under both info-hashes (the v2
 * one cut to 20 bytes, BEP 52): v1 and v2 clients announce by their own.
 */
static void master_torrent_added(struct master *m, const struct torrent *t)
{
	if (m->tsrv)
		tsrv_allow(m->tsrv, t->mi.info_hash);
	if (m->tsrv && t->mi.format == MI_FORMAT_HYBRID)
		tsrv_allow(m->tsrv, t->mi.info_hash_v2);
	if (m->ann)
		ann_add(m->ann, t);
}

static void master_torrent_removed(struct master *m, const struct torrent *t)
{
	if (m->ann)
		ann_remove(m->ann, t);
	if (m->tsrv)
		tsrv_disallow(m->tsrv, t->mi.info_hash);
	if (m->tsrv && t->mi.format == MI_FORMAT_HYBRID)
		tsrv_disallow(m->tsrv, t->mi.info_hash_v2);
}

/*
 * Applies "section.key=value" overrides in order; a leading '+' appends to a
 * list key instead of replacing it (the second --listen and later).
 */
int master_apply_overrides(struct conf *c, char **ov, unsigned n)
{
	char sec[64], why[256];

	for (unsigned i = 0; i < n; i++) {
		const char *s = ov[i] + (ov[i][0] == '+');
		const char *dot = strchr(s, '.'), *eq = strchr(s, '=');
		int rc;

		if (!dot || !eq || dot > eq || (size_t)(dot - s) >= sizeof(sec)) {
			log_errx("override '%s': want SECTION.KEY=VALUE", ov[i]);
			return -EINVAL;
		}
		memcpy(sec, s, (size_t)(dot - s));
		sec[dot - s] = '\0';
		char key[64];
		if ((size_t)(eq - dot - 1) >= sizeof(key)) {
			log_errx("override '%s': key too long", ov[i]);
			return -EINVAL;
		}
		memcpy(key, dot + 1, (size_t)(eq - dot - 1));
		key[eq - dot - 1] = '\0';
		rc = ov[i][0] == '+' ? conf_add(c, sec, key, eq + 1, why, sizeof(why))
				     : conf_set(c, sec, key, eq + 1, why, sizeof(why));
		if (rc) {
			log_errx("%s.%s: %s", sec, key, why);
			return rc;
		}
	}
	return 0;
}

/* The configuration as the command line asked: file (if any), then overrides. */
int master_load_conf(struct conf *c, const char *path, char **ov, unsigned n)
{
	struct conf_errors errs = { 0 };

	conf_defaults(c);
	if (path && conf_load(c, path, &errs) != 0) {
		for (unsigned i = 0; i < errs.n; i++)
			log_errx("%s", errs.msg[i]);
		if (errs.dropped)
			log_errx("%s: %u more errors", path, errs.dropped);
		return -EINVAL;
	}
	return master_apply_overrides(c, ov, n);
}

void master_guard_ready(struct master *m, const struct torrent *t)
{
	master_torrent_added(m, t);
}

static void master_apply_diff(struct master *m, struct reg_diff *d)
{
	for (uint32_t i = 0; i < d->n_removed; i++) {
		log_notice("torrent %s: removed", d->removed[i]->mi.name);
		workers_broadcast_remove(&m->workers, d->removed[i]->id);
		master_torrent_removed(m, d->removed[i]);
		if (guard_remove(m, d->removed[i]))
			reg_torrent_free(d->removed[i]);
	}
	for (uint32_t i = 0; i < d->n_added; i++) {
		bool verified = d->added[i]->checked_ns != 0; /* or deferred (registry.h) */

		guard_add(m, d->added[i], verified);
		if (!d->added[i]->paused)
			workers_broadcast_add(&m->workers, d->added[i]);
		if (verified) /* the others when their check is done (master_guard_ready) */
			master_torrent_added(m, d->added[i]);
	}
	msein_rebuild(m);
}

/*
 * SIGHUP: a complete new configuration, or the old one if the new one has
 * errors; then the torrents directory again. Listening addresses and the
 * worker count stay as they were until a restart, and the workers keep the
 * serving settings they started with.
 */
static void master_reload(struct master *m)
{
	struct conf fresh;

	sdn_reloading(m);
	if (master_load_conf(&fresh, m->conf_path, m->overrides, m->n_overrides) != 0) {
		log_errx("reload: the configuration has errors; keeping the running one");
	} else {
		if (memcmp(&fresh.listen, &m->conf.listen, sizeof(fresh.listen)) != 0 ||
		    fresh.workers != m->conf.workers)
			log_warnx("reload: listen and workers changes take effect at restart");
		fresh.listen = m->conf.listen;
		fresh.workers = m->conf.workers;
		fresh.tracker = m->conf.tracker;
		fresh.tracker_listen = m->conf.tracker_listen;
		fresh.announce = m->conf.announce;
		fresh.admin_listen = m->conf.admin_listen;
		memcpy(fresh.user, m->conf.user, sizeof(fresh.user));
		memcpy(fresh.group, m->conf.group, sizeof(fresh.group));
		m->conf = fresh;
		if (m->tsrv)
			tsrv_set_conf(m->tsrv, &m->conf);
	}
	master_rescan(m, "reload");
	sdn_send(m, "READY=1\nSTATUS=serving %u torrents", m->reg.n);
}

/* The torrents directory again: new torrents start, removed ones stop, the rest stay. */
void master_rescan(struct master *m, const char *tag)
{
	struct reg_diff d;

	if (reg_scan(&m->reg, m->conf.torrents_dir, &d) == 0 || d.n_added || d.n_removed)
		master_apply_diff(m, &d);
	log_notice("%s: %u torrents (+%u, -%u)", tag, m->reg.n, d.n_added, d.n_removed);
	reg_diff_free(&d);
	mfetch_sync(m);
}

static void master_begin_quit(struct master *m)
{
	if (m->quit_deadline_ms)
		return;
	log_notice("shutting down");
	sdn_send(m, "STOPPING=1\nSTATUS=stopping");
	m->quit_deadline_ms = master_now_ms() + MASTER_QUIT_MS;
	for (unsigned i = 0; i < m->n_listen; i++)
		close(m->listen_fd[i]);
	m->n_listen = 0;
	for (unsigned i = 0; i < MASTER_MAX_PENDING && m->n_pend; i++)
		if (m->pend[i].fd >= 0)
			master_pending_close(m, i, MSTAT_MAX);
	workers_quit(&m->workers);
	mfetch_stop(m);
	if (m->ann) {
		m->ann_deadline_ms =
			master_now_ms() + (uint64_t)m->conf.announce_stop_timeout * 1000;
		ann_stop_all(m->ann, master_now_ms());
	}
}

/* Shutdown is over when the workers are gone and the 'stopped' announces are out (or late). */
static bool master_quit_done(const struct master *m)
{
	return workers_all_gone(&m->workers) &&
	       (!m->ann || ann_done(m->ann) || master_now_ms() >= m->ann_deadline_ms);
}

/*
 * Reads every queued signal, then acts in a fixed order: quit, reap, reload
 * (quit first, so that workers dying of the same signal are not restarted).
 */
static void master_signals(struct master *m)
{
	struct signalfd_siginfo si;
	bool chld = false, quit = false, hup = false;

	while (read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if ((int)si.ssi_signo == GUARD_SIG) /* a writer waits: first of all */
			guard_lease_break(m, si.ssi_fd);
		if (si.ssi_signo == SIGIO)
			guard_lease_scan(m);
		chld |= si.ssi_signo == SIGCHLD;
		quit |= si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT;
		hup |= si.ssi_signo == SIGHUP;
	}
	if (quit)
		master_begin_quit(m);
	if (chld) {
		mfetch_reap(m); /* by pid, before the workers' waitpid(-1) */
		workers_reap(&m->workers);
		mpex_check(&m->pex, &m->workers);
	}
	if (hup && !m->quit_deadline_ms)
		master_reload(m);
}

static void master_tick(struct master *m)
{
	uint64_t now = master_now_ms(), ticks;

	(void)!read(m->tickfd, &ticks, sizeof(ticks));
	if (m->accept_paused && !m->quit_deadline_ms)
		master_listeners(m, false);
	master_expire_pending(m, now);
	workers_tick(&m->workers, now);
	mpex_check(&m->pex, &m->workers);
	if (m->tsrv)
		tsrv_tick(m->tsrv, now);
	if (m->ann)
		ann_tick(m->ann, now);
	swarm_tick(&m->workers.swarm, m->ann, now);
	if (m->admin)
		admin_tick(m->admin, now);
	ops_tick(m, now);
	watch_tick(m, now);
	guard_tick(m, now);
	mfetch_tick(m, now);
	if (m->conf.stats_interval && now >= m->next_stats_ms) {
		m->next_stats_ms = now + (uint64_t)m->conf.stats_interval * 1000;
		ops_stats_line(m, "stats");
	}
}

/*
 * Worker i's channel is readable: peer exchange joins and leaves (pex.c),
 * and REMOVED, the answer to each REMOVE_TORRENT (guard.c). Bounded per
 * wake-up; the rest waits for the next turn.
 */
static void master_channel_read(struct master *m, unsigned i)
{
	struct wmsg msg;

	for (int k = 0; k < 256; k++) {
		ssize_t n = workers_recv(&m->workers, i, &msg);

		if (n < 0)
			return; /* EAGAIN, or EOF: workers_reap sees the death */
		if (n != (ssize_t)wmsg_len(&msg))
			msg.type = 0;
		switch (msg.type) {
		case WMSG_REMOVED:
			guard_removed(m, i, msg.torrent);
			break;
		case WMSG_PEX_JOIN:
		case WMSG_PEX_LEAVE:
			mpex_on_msg(&m->pex, &m->workers, i, &msg);
			break;
		default:
			log_warnx("worker %u: a message of %zd bytes, type %u", i, n, msg.type);
		}
	}
}

static void master_dispatch(struct master *m, const struct epoll_event *ev)
{
	uint32_t idx = (uint32_t)ev->data.u64;

	switch ((enum ev_kind)(ev->data.u64 >> 32)) {
	case EV_LISTEN:
		master_accept(m, idx);
		break;
	case EV_PENDING:
		if (m->pend[idx].fd >= 0)
			master_pending_read(m, idx);
		break;
	case EV_CHANNEL:
		if (idx < m->workers.n && m->workers.w[idx].channel >= 0 && (ev->events & EPOLLIN))
			master_channel_read(m, idx);
		if (idx < m->workers.n && m->workers.w[idx].channel >= 0 &&
		    (ev->events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			workers_flush(&m->workers, idx);
		break;
	case EV_SIGNAL:
		master_signals(m);
		break;
	case EV_TICK:
		master_tick(m);
		break;
	case EV_TRACKER:
		tsrv_event(m->tsrv, idx, ev->events, master_now_ms());
		break;
	case EV_ANNOUNCE:
		ann_event(m->ann, idx, ev->events, master_now_ms());
		break;
	case EV_ADMIN:
		admin_event(m->admin, idx, ev->events, master_now_ms());
		break;
	case EV_WATCH:
		watch_event(m, master_now_ms());
		break;
	case EV_SCAN: /* closed when the first scan ended */
		break;
	case EV_GUARD:
		guard_inotify(m);
		break;
	case EV_RECHECK:
		guard_checks(m);
		break;
	}
}

static int master_setup_fds(struct master *m)
{
	struct itimerspec its = { .it_interval = { 0, MASTER_TICK_MS * 1000000L },
				  .it_value = { 0, MASTER_TICK_MS * 1000000L } };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, GUARD_SIG); /* lease breaks (guard.h) */
	sigaddset(&set, SIGIO);	    /* ... when the real-time queue is full */
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	m->tickfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->epfd < 0 || m->sigfd < 0 || m->tickfd < 0 ||
	    timerfd_settime(m->tickfd, 0, &its, NULL) != 0) {
		log_err("setting up the master's event loop");
		return -errno;
	}
	master_watch(m, m->sigfd, EV_SIGNAL, 0, EPOLLIN);
	master_watch(m, m->tickfd, EV_TICK, 0, EPOLLIN);
	for (unsigned i = 0; i < MASTER_MAX_PENDING; i++)
		m->pend[i].fd = -1;
	return 0;
}

/* The built-in tracker and the announcer, each when the configuration asks for it. */
static int master_start_trackers(struct master *m)
{
	char err[512];

	if (m->conf.tracker) {
		m->tsrv = calloc(1, sizeof(*m->tsrv));
		if (!m->tsrv ||
		    tsrv_init(m->tsrv, &m->conf, m->epfd, EV_TRACKER, err, sizeof(err))) {
			log_errx("built-in tracker: %s", m->tsrv ? err : "out of memory");
			free(m->tsrv);
			m->tsrv = NULL;
			return -EINVAL;
		}
	}
	if (m->conf.announce) {
		m->ann = calloc(1, sizeof(*m->ann));
		if (!m->ann || ann_init(m->ann, &m->conf, m->epfd, EV_ANNOUNCE, master_uploaded, m,
					err, sizeof(err))) {
			log_errx("announcing: %s", m->ann ? err : "out of memory");
			free(m->ann);
			m->ann = NULL;
			return -EINVAL;
		}
	}
	for (uint32_t i = 0; i < m->reg.n; i++)
		master_torrent_added(m, m->reg.t[i]);
	msein_rebuild(m);
	return 0;
}

/* The admin endpoint, first of all, so that it says 'starting' while the content is checked. */
static int master_start_admin(struct master *m)
{
	char err[512];

	m->started_ms = master_now_ms();
	if (ops_init(m) != 0)
		return -ENOMEM;
	if (!m->conf.admin_listen.n)
		return 0;
	m->admin = calloc(1, sizeof(*m->admin));
	if (!m->admin ||
	    admin_init(m->admin, &m->conf, m->epfd, EV_ADMIN, ops_source(m), err, sizeof(err))) {
		log_errx("admin endpoint: %s", m->admin ? err : "out of memory");
		return -EINVAL;
	}
	log_info("admin endpoint on port %u", admin_port(m->admin));
	return 0;
}

struct master_scan {
	struct master *m;
	int efd; /* written when the scan is over */
	int rc;
};

static void *master_scan_thread(void *arg)
{
	struct master_scan *s = arg;
	struct reg_diff d;
	uint64_t one = 1;

	s->rc = reg_scan(&s->m->reg, s->m->conf.torrents_dir, &d);
	reg_diff_free(&d);
	(void)!write(s->efd, &one, sizeof(one));
	return NULL;
}

/* One event while the first scan runs: only the admin endpoint, the tick and signals. */
static void master_scan_event(struct master *m, const struct epoll_event *ev, bool *quit)
{
	struct signalfd_siginfo si;
	uint64_t ticks;

	switch ((enum ev_kind)(ev->data.u64 >> 32)) {
	case EV_ADMIN:
		admin_event(m->admin, (uint32_t)ev->data.u64, ev->events, master_now_ms());
		break;
	case EV_TICK:
		(void)!read(m->tickfd, &ticks, sizeof(ticks));
		if (m->admin)
			admin_tick(m->admin, master_now_ms());
		/*
		 * A first check of a large catalogue may take longer than
		 * systemd's start timeout (90 s): ask for 30 s more every 10 s
		 * while it runs (sd_notify EXTEND_TIMEOUT_USEC, systemd 236).
		 */
		if (m->notify_fd >= 0 && master_now_ms() >= m->next_stats_ms) {
			m->next_stats_ms = master_now_ms() + 10000;
			sdn_send(m, "EXTEND_TIMEOUT_USEC=30000000\nSTATUS=checking the content");
		}
		break;
	case EV_WATCH:
		watch_event(m, master_now_ms());
		break;
	case EV_SIGNAL: /* SIGHUP: the scan in progress reads the directory anyway */
		while (read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			*quit |= si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT;
		break;
	default:
		break;
	}
}

/*
 * The first check of the content may take minutes (every piece hashed on
 * first sight). It runs in a thread while this loop answers the admin
 * endpoint (/healthz: 503 starting) and notes signals; nothing else exists
 * yet, and the registry is the thread's alone until it is over. SIGTERM
 * meanwhile ends the start once the check is done (-ECANCELED).
 */
static int master_first_scan(struct master *m)
{
	struct master_scan s = { .m = m, .efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)EV_SCAN << 32 }, evs[16];
	bool done = false, quit = false;
	pthread_t th;

	if (s.efd < 0 || epoll_ctl(m->epfd, EPOLL_CTL_ADD, s.efd, &ev) != 0 ||
	    pthread_create(&th, NULL, master_scan_thread, &s) != 0) {
		log_err("starting the content check in a thread; checking here");
		if (s.efd >= 0)
			close(s.efd);
		s.efd = -1;
		master_scan_thread(&s);
		return s.rc;
	}
	while (!done) {
		int n = epoll_wait(m->epfd, evs, 16, -1);

		for (int i = 0; i < n; i++) {
			if ((enum ev_kind)(evs[i].data.u64 >> 32) == EV_SCAN)
				done = true;
			else
				master_scan_event(m, &evs[i], &quit);
		}
	}
	pthread_join(th, NULL);
	close(s.efd);
	if (quit && !s.rc) {
		log_notice("shutting down");
		return -ECANCELED;
	}
	return s.rc;
}

/* In each forked worker: core.user, as the master itself becomes after binding. */
static int master_worker_setup(void *arg)
{
	return privs_drop(arg);
}

static int master_start(struct master *m)
{
	char err[512];
	int rc;

	m->watch_fd = -1;
	sdn_open(m);
	rc = privs_resolve(m);
	if (rc)
		return rc;
	rc = master_setup_fds(m);
	if (!rc)
		rc = master_start_admin(m);
	if (rc)
		return rc;
	rc = reg_init(&m->reg, m->conf.data_dir, m->conf.state_dir, err, sizeof(err));
	if (rc) {
		log_errx("%s", err);
		return rc;
	}
	m->reg.repair = mfetch_can_repair;
	m->reg.repair_arg = m;
	if (m->conf.watch) /* before the scan: no change after it is missed */
		watch_init(m, (uint64_t)EV_WATCH << 32);
	rc = master_first_scan(m);
	if (rc)
		return rc;
	rc = master_listen(m);
	if (rc)
		return rc;
	rc = master_addr_init(m);
	if (rc)
		return rc;
	rc = workers_init(&m->workers, &m->conf, &m->reg, m->epfd, EV_CHANNEL);
	if (!rc)
		rc = mpex_init(&m->pex, m->workers.n);
	if (!rc)
		rc = guard_init(m, (uint64_t)EV_GUARD << 32, (uint64_t)EV_RECHECK << 32);
	for (uint32_t i = 0; !rc && i < m->reg.n; i++) /* before the workers get them */
		guard_add(m, m->reg.t[i], true);
	m->reg.defer = true; /* later additions are checked off the loop (guard.c) */
	m->workers.child_setup = master_worker_setup;
	m->workers.child_arg = m;
	for (unsigned i = 0; !rc && i < m->workers.n; i++)
		rc = workers_start(&m->workers, i);
	if (rc)
		return rc;
	rc = master_start_trackers(m);
	if (!rc)
		rc = privs_drop_master(m); /* every socket is bound */
	if (rc)
		return rc;
	if (m->priv_drop)
		log_info("running as %s (uid %u, gid %u)", m->conf.user, (unsigned)m->priv_uid,
			 (unsigned)m->priv_gid);
	m->serving = true;
	log_notice("ready: %u torrents, %u workers", m->reg.n, m->workers.n);
	sdn_send(m, "READY=1\nSTATUS=serving %u torrents, %u workers\nMAINPID=%d", m->reg.n,
		 m->workers.n, (int)getpid());
	m->next_stats_ms = master_now_ms() + (uint64_t)m->conf.stats_interval * 1000;
	mfetch_sync(m);
	return 0;
}

int master_run(struct master *m)
{
	struct epoll_event evs[64];
	int rc = master_start(m), n;

	while (rc == 0) {
		n = epoll_wait(m->epfd, evs, 64, -1);
		if (n < 0 && errno != EINTR) {
			log_err("epoll_wait");
			rc = -errno;
			break;
		}
		for (int i = 0; i < n; i++)
			master_dispatch(m, &evs[i]);
		if (m->quit_deadline_ms && master_quit_done(m))
			break;
		if (m->quit_deadline_ms && master_now_ms() >= m->quit_deadline_ms) {
			log_warnx("workers did not finish within %d ms; killing them",
				  MASTER_QUIT_MS);
			workers_kill(&m->workers);
			while (!workers_all_gone(&m->workers) && (usleep(10000), 1))
				workers_reap(&m->workers);
			break;
		}
	}
	if (!m->quit_deadline_ms && m->workers.n) {
		workers_kill(&m->workers); /* a failed start or loop: never leave workers behind */
		while (!workers_all_gone(&m->workers) && (usleep(10000), 1))
			workers_reap(&m->workers);
	}
	if (m->workers.n)
		master_stats_line(m, "final");
	if (m->admin)
		admin_close(m->admin);
	free(m->admin);
	ops_free(m);
	mpex_free(&m->pex);
	sdn_close(m);
	watch_close(m);
	guard_close(m);
	if (m->ann)
		ann_close(m->ann);
	if (m->tsrv)
		tsrv_close(m->tsrv);
	free(m->ann);
	free(m->tsrv);
	reg_close(&m->reg);
	mfetch_free(m);
	swarm_free(&m->workers.swarm);
	free(m->mse_rows);
	log_notice("bye");
	return rc && rc != -ECANCELED ? 1 : 0; /* -ECANCELED: SIGTERM while starting */
}
