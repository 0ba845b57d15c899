/*
 * master.h - the master process: accept, hand off, supervise, reload.
 *
 * One epoll loop. Signal handlers do not exist: SIGTERM, SIGINT, SIGHUP and
 * SIGCHLD arrive on a signalfd and are handled in a fixed order each turn
 * (reap, restart, terminate, reload), as nginx's master does.
 *
 * A connection's life in the master:
 *
 *   accept -> PENDING (reading the 68-byte handshake, deadline handshake_timeout)
 *     -> not a plain handshake: Message Stream Encryption first (mse_in.c)
 *     -> bad bytes, EOF or deadline: closed, counted
 *     -> being fetched:              sent to its fetcher (fetchers.c), closed here
 *     -> unknown info-hash:          closed, counted
 *     -> known: sent to the least-loaded worker with SCM_RIGHTS, closed here
 */
#ifndef RINGSEED_MASTER_H
#define RINGSEED_MASTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf/conf.h"
#include "master/content/registry.h"
#include "master/proc/pex.h"
#include "master/proc/workers.h"
#include "worker/worker.h"

#define MASTER_MAX_PENDING     4096  /* handshakes being read at once */

enum mstat {
	MSTAT_DROP_HANDSHAKE_TIMEOUT,
	MSTAT_DROP_BAD_HANDSHAKE,
	MSTAT_DROP_UNKNOWN_HASH,
	MSTAT_DROP_TOO_MANY,	/* pending table full (the workers table counts its own) */
	MSTAT_PEERS_PLAIN,	  /* peers handed on after a plain handshake */
	MSTAT_PEERS_MSE_PLAIN,	  /* ... after MSE, plaintext selected */
	MSTAT_PEERS_RC4,	  /* ... after MSE, RC4 selected */
	MSTAT_DROP_PLAIN_REFUSED, /* a plain handshake under net.encryption = require */
	MSTAT_DROP_MSE_REFUSED,	  /* an MSE opening under net.encryption = off */
	MSTAT_DROP_MSE_SHORT,	  /* then one per enum mse_err, in its order: */
	MSTAT_DROP_MSE_TIMEOUT,	  /*   96 bytes came, the rest did not */
	MSTAT_DROP_MSE_BAD_KEY,	  /*   a public key no one should send */
	MSTAT_DROP_MSE_NO_SYNC,	  /*   no HASH('req1', S) within 608 bytes */
	MSTAT_DROP_MSE_UNKNOWN,	  /*   SKEY names no torrent served here */
	MSTAT_DROP_MSE_BAD_VC,	  /*   VC not zero */
	MSTAT_DROP_MSE_BAD_PAD,	  /*   len(PadC) over 512 */
	MSTAT_DROP_MSE_IA_LONG,	  /*   len(IA) over the limit */
	MSTAT_DROP_MSE_NO_CRYPTO, /*   no method the policy allows */
	MSTAT_DROP_MSE_INTERNAL,  /*   libcrypto failed */
	MSTAT_DROP_PER_IP, /* over net.max_per_ip or net.max_per_subnet: closed at accept */
	MSTAT_PEERS_FETCH, /* peers for a torrent being fetched, handed to its fetcher */
	MSTAT_MAX
};

struct pending {
	int fd; /* -1: free slot */
	uint8_t got;
	uint8_t buf[WORKER_HANDSHAKE_LEN];
	uint64_t accepted_ms;
	uint64_t deadline_ms;
	struct msein *mse; /* MSE in progress (mse_in.c); NULL for a plain handshake */
	uint32_t addr_slot[2]; /* the master's live counters it charges (addrcap.h) */
};

struct msein;
struct msein_row;
struct tsrv;
struct announcer;
struct admin;
struct admin_source;
struct ops;

struct master {
	struct conf conf;
	const char *conf_path; /* NULL: defaults and command line only */
	char **overrides;      /* "section.key=value" from the command line, re-applied on reload */
	unsigned n_overrides;

	int epfd, sigfd, tickfd;
	int listen_fd[CONF_LISTEN_MAX];
	unsigned n_listen;
	bool accept_paused;	   /* out of descriptors: listeners unwatched until the next tick */
	uint64_t accept_warned_ms; /* when that was last logged */
	struct pending pend[MASTER_MAX_PENDING];
	unsigned n_pend;
	/*
	 * Connections by address slot (addrcap.h) still in the master; those
	 * handed over are in each worker's worker_addr_live, which it decrements.
	 */
	uint32_t *addr_live;
	uint64_t addr_key; /* random: which slot an address charges */

	struct workers workers;
	struct mpex pex; /* peer exchange: the peers of every torrent, on every worker (pex.c) */
	struct registry reg;
	struct msein_row *mse_rows; /* HASH('req2', info_hash) of every torrent, sorted */
	uint32_t n_mse_rows;
	uint64_t mstat[MSTAT_MAX];
	uint64_t next_stats_ms;
	uint64_t quit_deadline_ms; /* 0: running */

	struct tsrv *tsrv;	  /* the built-in tracker, when enabled */
	struct announcer *ann;	  /* announcing to trackers, when enabled */
	uint64_t ann_deadline_ms; /* shutdown: the 'stopped' announces end by then */

	struct admin *admin; /* the admin endpoint, when admin.listen is set */
	struct ops *ops;     /* rates and snapshots for it and for the stats line */
	uint64_t started_ms;
	bool serving;  /* start-up is over (and shutdown has not begun) */
	int notify_fd; /* systemd's NOTIFY_SOCKET, connected; -1: none */
	bool notify_warned; /* a failed notification was logged */
	int watch_fd;	    /* inotify on the torrents directory; -1: none */
	uint64_t rescan_at_ms; /* a change was seen: rescan then; 0: none pending */
	struct guard *guard; /* content files watched while served (guard.c) */
	struct mfetchers *fetchers; /* fetches of incomplete torrents (fetchers.c) */
	bool priv_drop; /* become priv_uid/priv_gid (core.user) after binding */
	uid_t priv_uid;
	gid_t priv_gid;
};

/* master.c */
int master_run(struct master *m);
int master_load_conf(struct conf *c, const char *path, char **overrides, unsigned n);
int master_apply_overrides(struct conf *c, char **overrides, unsigned n);
uint64_t master_now_ms(void);
void master_pending_close(struct master *m, unsigned slot, enum mstat why);
void master_stats_line(struct master *m, const char *tag);
void master_rescan(struct master *m, const char *tag);

/* fetchers.c */
void mfetch_sync(struct master *m);
/* reg.repair: fetch.enable and a source for mi (arg: the master). */
bool mfetch_can_repair(void *arg, const struct metainfo *mi);
/*
 * A check while serving found bad pieces in t: a fetcher for them, if
 * mfetch_can_repair. True: one runs or waits for its retry (t stays out).
 */
bool mfetch_repair(struct master *m, const struct torrent *t);
void mfetch_reap(struct master *m);
void mfetch_tick(struct master *m, uint64_t now);
void mfetch_stop(struct master *m);
void mfetch_free(struct master *m);
bool mfetch_handoff(struct master *m, const uint8_t *info_hash, int fd, const uint8_t *hs);

/* ops.c */
int ops_init(struct master *m);
void ops_free(struct master *m);
void ops_tick(struct master *m, uint64_t now);
const char *ops_phase(const struct master *m);
struct admin_source ops_source(struct master *m);
void ops_stats_line(struct master *m, const char *tag);

/* privs.c */
int privs_resolve(struct master *m);
int privs_drop(const struct master *m);
int privs_drop_master(const struct master *m);

/* sdnotify.c */
int sdn_open(struct master *m);
void sdn_send(struct master *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sdn_reloading(struct master *m);
void sdn_close(struct master *m);

/* watch.c */
int watch_init(struct master *m, uint64_t epoll_data);
void watch_event(struct master *m, uint64_t now);
void watch_tick(struct master *m, uint64_t now);
void watch_close(struct master *m);

/* guard.c (guard.h) */
int guard_init(struct master *m, uint64_t ev_inotify, uint64_t ev_recheck);
void guard_add(struct master *m, struct torrent *t, bool verified);
bool guard_remove(struct master *m, struct torrent *t);
void guard_removed(void *arg, unsigned worker, uint32_t id);
void guard_lease_break(struct master *m, int fd);
void guard_lease_scan(struct master *m);
void guard_inotify(struct master *m);
void guard_checks(struct master *m);
void guard_tick(struct master *m, uint64_t now);
const char *guard_state(struct master *m, const struct torrent *t, double *progress);
void guard_stats(const struct master *m, uint64_t *out);
void guard_close(struct master *m);
/* master.c: a torrent checked for the first time in the background is served now. */
void master_guard_ready(struct master *m, const struct torrent *t);

/* mse_in.c */
void msein_rebuild(struct master *m);
void msein_start(struct master *m, unsigned slot);
void msein_read(struct master *m, unsigned slot);
void msein_free(struct pending *p);
enum mstat msein_expired(const struct pending *p);
void msein_stats(const struct master *m, const uint64_t *w, char *buf, size_t len);

void master_addr_put(struct master *m, const uint32_t slot[2]);

#endif
