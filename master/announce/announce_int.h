/*
 * announce_int.h - what announce.c, announce_http.c and announce_udp.c share.
 *
 * announce.c owns the torrents, jobs, tracker records, timers, caps and pace,
 * and decides what an outcome means; announce_http.c and announce_udp.c run
 * one exchange in a slot and report it with ann_exchange_ok /
 * ann_exchange_fail / ann_scrape_result; announce_udp.c also makes and frees
 * a udp:// tracker record's transport state. A transport never dispatches
 * new work itself: the entry points (ann_event, ann_tick) do, once, after
 * everything they handled.
 *
 * An exchange (struct ann_slot) in phases:
 *
 *   HTTP:  HTTP_ANNOUNCE --ok--> [HTTP_SCRAPE] --> free
 *   UDP:   UDP_RESOLVE --> [UDP_CONNECT] --> UDP_ANNOUNCE --ok--> [UDP_SCRAPE] --> free
 *          (the connection id is reused for ANN_UDP_CONN_TTL_MS, BEP 15; a scrape
 *          whose id ran out connects again first)
 */
#ifndef RINGSEED_ANNOUNCE_INT_H
#define RINGSEED_ANNOUNCE_INT_H

#include <netdb.h>

#include "master/announce/announce.h"
#include "proto/tracker.h"

#define ANN_RATE_FLOOR	     10	  /* announces per second per host, whatever the catalogue */
#define ANN_DEFAULT_INTERVAL 1800 /* seconds, when a reply has none (BEP 3 requires one) */
#define ANN_SCRAPE_PERIOD_MS (6 * 3600000ull) /* a job scrapes this often anyway */
#define ANN_SCRAPE_MIN_MS    (1800000ull)     /* and never more often than this */
#define ANN_HTTP_MAX_REPLY   (1u << 20)	      /* a longer reply is refused */
#define ANN_HTTP_MAX_REDIRS  3
#define ANN_UDP_CONN_TTL_MS  60000  /* BEP 15: a connection id is good for a minute */
#define ANN_UDP_RETRANSMITS  2	    /* BEP 15 waits 15 * 2^n s; we stop at n = 2 */
#define ANN_DNS_TTL_MS	     300000 /* a UDP tracker's address is looked up again after */
#define ANN_TRACKER_ID_MAX   256
#define ANN_IDX_UDP	     0 /* + family index */
#define ANN_IDX_TIMER	     2
#define ANN_IDX_PACE	     3
#define ANN_IDX_CURL	     0x80000000u /* | the socket */

enum ann_scheme { ANN_HTTP, ANN_UDP };

enum ann_dns {
	ANN_DNS_NONE, /* never looked up, or the answer expired */
	ANN_DNS_BUSY, /* getaddrinfo_a in progress, polled on the tick */
	ANN_DNS_OK,
	ANN_DNS_FAIL, /* the last lookup failed: exchanges waiting on it fail, the next one asks
			 again */
};

/* A UDP tracker as seen from one address family. */
struct ann_udp_ep {
	uint8_t dns;	       /* enum ann_dns */
	int dns_err;	       /* EAI_* of the failed lookup */
	struct conf_addr addr; /* where it is, when dns is OK */
	uint64_t dns_expires_ms;
	struct gaicb *gai; /* while BUSY */
	uint64_t conn_id;
	uint64_t conn_expires_ms; /* 0: no connection id */
};

/* A tracker machine: the caps and the pace are per host. */
struct ann_host {
	struct ann_host *hnext; /* hash chain */
	struct ann_host *rnext; /* the ready list (QUEUED jobs waiting) */
	bool ready;
	char *name;
	uint32_t refs;	 /* trackers on this host */
	uint32_t n_jobs; /* live jobs whose current URL is here: sets the pace */
	uint32_t in_flight;
	uint64_t tokens;    /* the pace's bucket, in thousandths of an announce */
	uint64_t tokens_ms; /* when it was last filled */
	struct ann_job *q_head, *q_tail;
};

/* One announce URL, shared by every torrent that lists it. */
struct ann_tracker {
	struct ann_tracker *hnext;
	char *url;
	uint8_t scheme;	  /* enum ann_scheme */
	uint8_t fam_mask; /* families that can reach it (a numeric host has one) */
	bool no_scrape;	  /* BEP 48 does not allow it, or the tracker refused one */
	bool redirect_logged;
	uint32_t refs;
	struct ann_host *host;
	char *udp_host; /* without brackets */
	char udp_port[8];
	struct ann_udp_ep ep[ANN_FAM_MAX];
};

enum ann_job_state {
	JOB_NEW,     /* being made by ann_add: in no set yet */
	JOB_IDLE,    /* in the heap, waiting for next_ms */
	JOB_QUEUED,  /* due: in its host's queue, waiting for a slot, the caps and the pace */
	JOB_RUNNING, /* an exchange in flight (slot) */
	JOB_DONE,    /* nothing more to send: freed with its torrent */
};

/* One (torrent, tier, address family): one timer. */
struct ann_job {
	struct ann_torrent *tor;
	struct ann_tracker **urls; /* the tier's URLs this family can reach: shuffled, promoted */
	uint16_t n_urls, pos;	   /* pos: the URL tried now */
	uint8_t fam;
	uint8_t state;	 /* enum ann_job_state */
	bool started_ok; /* the current URL answered an announce: no more 'started' */
	bool stop;	 /* the next exchange is the 'stopped' (and the last) */
	bool failing;	 /* the last round failed (a success after it is logged) */
	uint32_t fails;	 /* rounds of the whole tier failed in a row */
	uint32_t heap_idx;
	uint64_t next_ms;
	uint64_t next_scrape_ms; /* the periodic scrape is due */
	uint64_t last_scrape_ms; /* 0: never */
	char *tracker_id;
	int64_t seeders, leechers, downloaded; /* -1: unknown */
	uint64_t last_ms;     /* the last announce's outcome, for /status; 0: none yet */
	char last_result[96]; /* "ok" or "failed: why" */
	struct ann_job *q_next;
	struct ann_slot *slot;
};

struct ann_torrent {
	struct ann_torrent *hnext;		 /* by id, while served */
	struct ann_torrent *all_prev, *all_next; /* every one, removed ones too, for ann_close */
	const struct torrent *t;		 /* NULL once removed */
	uint32_t id;
	uint8_t info_hash[20];
	char *name;
	uint32_t key;	   /* BEP 7 */
	uint64_t uploaded; /* when removed: what the workers had sent */
	uint32_t n_jobs, n_live;
	struct ann_job *jobs;
	struct ann_tracker **url_pool; /* every job's urls point in here; each holds a reference */
};

enum ann_phase {
	PH_FREE,
	PH_HTTP_ANNOUNCE,
	PH_HTTP_SCRAPE,
	PH_UDP_RESOLVE,
	PH_UDP_CONNECT,
	PH_UDP_ANNOUNCE,
	PH_UDP_SCRAPE,
};

/* One exchange in flight; in_flight_max of them, taken at start-up. */
struct ann_slot {
	struct ann_job *job;
	struct ann_tracker *tr;
	uint8_t phase; /* enum ann_phase */
	uint8_t want;  /* UDP: PH_UDP_ANNOUNCE or PH_UDP_SCRAPE once connected */
	struct trk_announce ta;
	/* HTTP */
	CURL *easy; /* kept for reuse */
	bool in_multi;
	bool too_big; /* the reply passed ANN_HTTP_MAX_REPLY */
	uint8_t *buf;
	size_t len, cap;
	char errbuf[CURL_ERROR_SIZE];
	/* UDP */
	uint32_t txid;
	uint8_t pkt[100];
	uint8_t pkt_len;
	uint8_t tries;
	bool tx_on, udp_on;		  /* in udp_by_txid, in udp_active */
	uint64_t resend_ms;		  /* RESOLVE: when the lookup has taken too long */
	struct ann_slot *tx_next;	  /* txid chain */
	struct ann_slot *u_prev, *u_next; /* udp_active, or the free list (u_next) */
};

/* An announce answered without a failure reason. */
struct ann_reply {
	int64_t interval, min_interval; /* -1: absent */
	int64_t seeders, leechers;	/* -1: absent */
	uint32_t peers;
	const char *warning;
	size_t warning_len;
	const char *tracker_id;
	size_t tracker_id_len;
};

/* announce_sched.c */
void ann_seed(struct announcer *a);
uint64_t ann_rand64(struct announcer *a);
uint32_t ann_rand32(struct announcer *a);
uint64_t ann_rand_upto(struct announcer *a, uint64_t n);
uint64_t ann_backoff_ms(const struct announcer *a, uint32_t fails, uint64_t rnd);
uint64_t ann_interval_ms(const struct announcer *a, int64_t interval, int64_t min_interval,
			 uint64_t rnd);
void ann_shuffle(struct announcer *a, struct ann_tracker **v, uint32_t n);
void ann_promote(struct ann_job *j);
uint64_t ann_pace_rate(const struct announcer *a, const struct ann_host *h);
bool ann_pace_take(struct announcer *a, struct ann_host *h);
uint64_t ann_pace_next_ms(const struct announcer *a, const struct ann_host *h);
uint32_t ann_hash_str(const char *s);
struct ann_host *ann_host_get(struct announcer *a, const char *name);
void ann_host_put(struct announcer *a, struct ann_host *h);
int ann_heap_reserve(struct announcer *a, uint32_t more);
void ann_heap_push(struct announcer *a, struct ann_job *j);
void ann_heap_remove(struct announcer *a, struct ann_job *j);
struct ann_host *ann_job_host(const struct ann_job *j);
void ann_queue_append(struct announcer *a, struct ann_job *j);
void ann_queue_unlink(struct announcer *a, struct ann_job *j);

/* announce.c */
struct ann_tracker *ann_tracker_get(struct announcer *a, const char *url, char *why, size_t whylen);
void ann_tracker_put(struct announcer *a, struct ann_tracker *tr);

/* announce.c, for the transports */
void ann_exchange_ok(struct announcer *a, struct ann_slot *s, const struct ann_reply *r);
void ann_exchange_fail(struct announcer *a, struct ann_slot *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ann_scrape_result(struct announcer *a, struct ann_slot *s, const struct trk_scrape *sc,
		       const char *why);
const char *ann_fam_tag(const struct announcer *a, unsigned fam);

/* announce_http.c */
int ann_http_init(struct announcer *a, char *err, size_t errlen);
void ann_http_close(struct announcer *a);
int ann_http_announce(struct announcer *a, struct ann_slot *s);
int ann_http_scrape(struct announcer *a, struct ann_slot *s);
void ann_http_end(struct announcer *a, struct ann_slot *s);
void ann_http_event(struct announcer *a, int fd, uint32_t events);
void ann_http_stopping(struct announcer *a);
void ann_http_timer(struct announcer *a);

/* announce_udp.c */
int ann_udp_init(struct announcer *a, char *err, size_t errlen);
void ann_udp_close(struct announcer *a);
int ann_udp_tracker(struct ann_tracker *tr, char *why, size_t whylen);
void ann_udp_tracker_free(struct ann_tracker *tr);
int ann_udp_announce(struct announcer *a, struct ann_slot *s);
int ann_udp_scrape(struct announcer *a, struct ann_slot *s);
void ann_udp_end(struct announcer *a, struct ann_slot *s);
void ann_udp_read(struct announcer *a, unsigned fam);
void ann_udp_tick(struct announcer *a);

#endif
