/*
 * announce.h - every served torrent announced to its trackers, from the
 * master's event loop.
 *
 * No thread and no blocking call per announce: HTTP and HTTPS go through one
 * libcurl multi handle whose sockets and timer live in the master's epoll set
 * (CURLMOPT_SOCKETFUNCTION, CURLMOPT_TIMERFUNCTION, curl_multi_socket_action),
 * so connections are kept alive and reused per tracker host; UDP trackers
 * (BEP 15) use one non-blocking socket per address family, and host names are
 * resolved with getaddrinfo_a, polled on the tick.
 *
 * What is announced. A torrent's announce-list (BEP 12) gives tiers; each
 * tier is shuffled once. For every tier and every address family we listen
 * on, one job keeps its own timer: it announces to the tier's first URL, on
 * failure tries the next URL of the tier at once, and when every URL of the
 * tier failed it backs off (retry_min doubling up to retry_max). The URL that
 * answered moves to the front of the tier. Every tier is announced, not only
 * the first that works: a seeder wants to be found through every tracker a
 * leecher may fall back to. A private torrent (BEP 27) announces to the
 * trackers of its .torrent and nowhere else; nothing here adds any.
 *
 * A job's life (one function, ann_job_next in announce.c, moves it on):
 *
 *   ann_add --> IDLE (in the timer heap until next_ms)
 *                 |  due
 *                 v
 *               QUEUED (in its tracker host's queue, FIFO)
 *                 |  a free slot, the host under per_host, its pace allows
 *                 v
 *               RUNNING (an exchange in a slot) --ok--> IDLE at interval (+jitter)
 *                 |                           \-fail-> IDLE: next URL now, or backoff
 *   ann_remove, ann_stop_all: a job that reached its tracker turns into a
 *   'stopped' (QUEUED); the others, and every finished 'stopped', are DONE.
 *
 * Large catalogues: announces start through one token bucket per tracker
 * host whose rate is max(ANN_RATE_FLOOR, jobs on the host / min_interval)
 * per second: start-up with N torrents is as loud as the steadiest state a
 * tracker could ask for (everyone announcing every min_interval), never
 * louder, and a torrent added at runtime to a quiet host goes out at once.
 * The caps per_host and in_flight bound the exchanges in flight.
 *
 * Shutdown: ann_stop_all sends every 'stopped' at once (no pace; a host may
 * take all in_flight slots) and cancels whatever is still out after
 * stop_timeout, counting it; ann_done says when.
 */
#ifndef RINGSEED_ANNOUNCE_H
#define RINGSEED_ANNOUNCE_H

#include <curl/curl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf/conf.h"

#define ANN_PEER_ID_PREFIX "-RS0100-" /* Azureus-style client id, version 0.1.0.0 */
#define ANN_FAM_MAX	   2	      /* IPv4, IPv6 */

struct torrent;
struct ann_host;
struct ann_tracker;
struct ann_torrent;
struct ann_job;
struct ann_slot;

/* One address family we listen on: the port we announce and where we send from. */
struct ann_family {
	bool on;
	int af;		      /* AF_INET or AF_INET6 */
	uint16_t port;	      /* announced */
	bool bind;	      /* the listen address is not the wildcard: announce from it */
	struct conf_addr src; /* that address, port 0 */
	char iface[64];	      /* CURLOPT_INTERFACE "host!ADDR" when bind */
	int udp_fd;	      /* -1: none */
};

enum ann_counter {
	ANN_C_ANNOUNCES,    /* answered without a failure */
	ANN_C_FAILURES,	    /* announces that failed, whatever the reason */
	ANN_C_STOPPED,	    /* 'stopped' announces answered */
	ANN_C_STOPPED_LOST, /* 'stopped' that failed or were cut by stop_timeout */
	ANN_C_SCRAPES,	    /* scrapes answered */
	ANN_C_SCRAPE_FAILURES,
	ANN_C_WARNINGS, /* tracker warning messages */
	ANN_C_PEERS,	/* peers the trackers sent (a seeder needs none) */
	ANN_C_UDP_RETRANSMITS,
	ANN_C_UDP_STRAY, /* datagrams matching no exchange, or from elsewhere */
	ANN_C_MAX
};

struct announcer {
	bool enabled;
	int epfd, timerfd;     /* timerfd: curl's timer */
	int pacefd;	       /* wakes the loop when a paced host may start its next announce */
	uint64_t pace_wake_ms; /* what pacefd is armed for; 0: disarmed */
	uint32_t kind;	       /* epoll data: (uint64_t)kind << 32 | index */
	uint64_t (*uploaded)(void *arg, const struct torrent *t);
	void *arg;
	uint8_t peer_id[20];
	uint64_t rng[4]; /* xoshiro256**, seeded by getrandom */
	uint64_t now_ms; /* the last time the master told us */

	/* settings, from struct conf at ann_init */
	uint32_t numwant, timeout_ms, per_host, in_flight_max;
	uint32_t retry_min_s, retry_max_s, min_interval_s, stop_timeout_ms;
	struct ann_family fam[ANN_FAM_MAX];

	CURLM *multi;
	bool curl_global;	 /* curl_global_init done */
	struct ann_host **hosts; /* hash tables, chained */
	uint32_t hosts_cap;
	struct ann_tracker **trackers;
	uint32_t trackers_cap;
	struct ann_torrent **torrents; /* by torrent id, while served */
	struct ann_torrent *tor_list;  /* every one, removed ones still sending 'stopped' too */
	uint32_t torrents_cap, n_torrents;

	uint32_t n_jobs;       /* not DONE */
	struct ann_job **heap; /* IDLE jobs, earliest next_ms first */
	uint32_t heap_n, heap_cap;
	struct ann_host *ready; /* hosts with QUEUED jobs */
	uint32_t n_queued;

	struct ann_slot *slots; /* in_flight_max exchanges */
	struct ann_slot *free_slots;
	uint32_t n_running;
	struct ann_slot *udp_active;   /* UDP exchanges, for the tick */
	struct ann_slot **udp_by_txid; /* chained, udp_tx_mask + 1 buckets */
	uint32_t udp_tx_mask;

	bool stopping;
	uint64_t stop_deadline_ms;
	uint64_t c[ANN_C_MAX];
};

/*
 * kind: the epoll data kind to use for our descriptors (data.u64 = kind << 32
 * | idx); ann_event gets idx back. uploaded(arg, t): the torrent's payload
 * bytes sent so far. With announce.enable off, every call is a no-op.
 */
int ann_init(struct announcer *a, const struct conf *c, int epfd, uint32_t kind,
	     uint64_t (*uploaded)(void *arg, const struct torrent *t), void *arg, char *err,
	     size_t errlen);
/* event=started within seconds (sooner on a quiet tracker). */
void ann_add(struct announcer *a, const struct torrent *t);
/* event=stopped where it was announced; t may be freed right after the call. */
void ann_remove(struct announcer *a, const struct torrent *t);
void ann_event(struct announcer *a, uint32_t idx, uint32_t events, uint64_t now_ms);
void ann_tick(struct announcer *a, uint64_t now_ms); /* every 100 ms */
/* Every 'stopped' at once; call ann_tick/ann_event until ann_done(). */
void ann_stop_all(struct announcer *a, uint64_t now_ms);
bool ann_done(const struct announcer *a);
/* "announces=N announce_failures=N ..." */
void ann_stats(const struct announcer *a, char *buf, size_t len);

/* One announce job as the admin endpoint shows it; valid during the callback. */
struct ann_job_view {
	const char *torrent, *url, *family;
	uint64_t last_ms;   /* monotonic; 0: never */
	const char *result; /* "ok", "failed: why", "pending" */
	uint64_t next_ms;   /* monotonic; 0: queued or in flight now */
};
void ann_each_job(const struct announcer *a, void (*fn)(void *arg, const struct ann_job_view *v),
		  void *arg);
/* The most seeders (`complete`) any tracker of the torrent reported; -1: none said. */
int64_t ann_seeders(const struct announcer *a, uint32_t torrent_id);
void ann_close(struct announcer *a);

#endif
