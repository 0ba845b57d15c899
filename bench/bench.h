/*
 * bench.h - ringseed-bench, a BitTorrent leecher load generator: shared types.
 *
 * One thread, one io_uring, N connections to one seeder. Each connection is a
 * leecher that asks for Q blocks of 16 KiB at a time and counts what comes back.
 * With --http the same connections ask a web server (nginx, the sendfile anchor)
 * for byte ranges of one file instead, Q requests pipelined (http.c).
 *
 *   main.c     start-up (torrent, rlimit, ring, buffers), the run, the exit status
 *   opts.c     the command line
 *   loop.c     the ring: connect, multishot recv, send, close, timers, phases
 *   conn.c     the wire protocol of one leecher: handshake, messages, requests;
 *              with --mse, Message Stream Encryption first (proto/mse.c) and,
 *              for RC4, the cipher on every byte both ways
 *   http.c     --http: range requests and responses of one keep-alive connection
 *   pick.c     which piece a connection asks for next (random, sequential, rarest)
 *   pace.c     how a leecher behaves in time: request pacing (trickle, burst), the
 *              --rtt hold of each request, --rate/--mix receive caps (token buckets)
 *   procstat.c CPU and memory of the seeder (by pid) and of the bench itself
 *   report.c   the numbers at the end: a table, or JSON
 *
 * A connection's life (conn_state, advanced by loop.c and conn.c):
 *
 *   IDLE --socket, bind, connect--> CONNECTING --connected--> HANDSHAKE
 *                                        |                        | peer's 68 bytes,
 *                                        | error, timeout         | right info-hash
 *                                        v                        v
 *                                     CLOSING <--------------- ACTIVE (interested;
 *            (budget reached, error, EOF, run over)              requests while unchoked)
 *                                        |
 *                                        | last operation completed
 *                                        v
 *                                      CLOSED (descriptor closed)
 *
 * In HTTP mode HANDSHAKE waits for the first response header (a 206) instead;
 * when the server closes a keep-alive connection cleanly between responses,
 * CLOSING goes back to CONNECTING on a new socket (a reconnect, counted).
 */
#ifndef RINGSEED_BENCH_H
#define RINGSEED_BENCH_H

#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <liburing.h>

#include "iocore/bufring.h"
#include "iocore/timer.h"
#include "proto/metainfo.h"
#include "proto/mse.h"
#include "proto/wire.h"

#define BENCH_BLOCK	   16384u /* BEP 3: the request size every client uses */
#define BENCH_MAX_CONNS	   50000u
#define BENCH_MAX_QUEUE	   1024u
#define BENCH_RING_ENTRIES 4096u
#define BENCH_BGID	   1
#define BENCH_KEEPALIVE_MS 60000u /* BEP 3: peers drop a silent connection after ~2 min */
#define BENCH_TICK_MS	   100u	  /* timer wheel resolution */
#define BENCH_HOST_MAX	   262u	  /* HOST:PORT of --http, with its NUL */
#define BENCH_MAX_CLASSES  8u	  /* --mix classes */
#define BENCH_FINE_TICK_MS 1u	  /* the wheel of --rate's waits: 1 ms resolution */

enum pick_order {
	PICK_RANDOM,	 /* each connection its own pseudo-random permutation of the pieces */
	PICK_SEQUENTIAL, /* every connection 0, 1, 2, ...: a flash crowd on the same pieces */
	PICK_RAREST,	 /* fewest copies first, counting what our own connections completed */
};

enum recv_mode {
	RECV_DISCARD, /* everything read into the shared receive buffers, payload dropped */
	RECV_TRUNC,   /* headers read, block payload discarded by TCP (recv MSG_TRUNC) */
	RECV_COPY,    /* payload copied into a per-connection piece buffer, like a client */
};

/* How a connection sends its requests (--requests). */
enum req_pacing {
	REQ_TRICKLE, /* each new request written alone as the block it replaces arrives */
	REQ_BURST,   /* the whole queue refilled per read, in one write */
};

/* A share of the connections and their receive cap (--rate, --mix). */
struct bench_class {
	uint32_t pct;  /* of the connections, 1..100 */
	uint64_t rate; /* bytes per second; 0 = uncapped */
};

struct bench_opts {
	const char *torrent_path;
	const char *target_str;
	struct sockaddr_in target;
	uint32_t conns;	 /* -n */
	uint32_t queue;	 /* -q: requests in flight per connection; 0 = idle (hold only) */
	double duration; /* -d: measured seconds after warm-up (duration mode) */
	uint64_t budget; /* -b: payload bytes per connection (budget mode); 0 = none */
	double warmup;	 /* seconds before the window starts */
	double timeout;	 /* budget mode: give up after this many seconds */
	enum pick_order order;
	enum recv_mode recv;
	bool verify;
	uint32_t src_first, src_last; /* host order; 0 = do not bind */
	pid_t seeder_pid;	      /* 0 = none */
	bool json, quiet;
	uint32_t max_opening; /* connections connecting or handshaking at once */
	uint32_t connect_timeout_ms, handshake_timeout_ms;
	uint32_t rbufs, rbuf_size; /* the provided receive buffer ring */
	uint64_t seed;
	bool recv_set, src_set; /* given on the command line */
	/* --http HOST:PORT/PATH: the HTTP mode (http.c) */
	bool http;
	char http_host[BENCH_HOST_MAX]; /* HOST:PORT, for the Host header */
	const char *http_path;		/* "/PATH", within argv */
	uint32_t http_range;		/* --range: bytes per request */
	/* pace.c */
	enum req_pacing requests;
	bool requests_set;
	struct bench_class classes[BENCH_MAX_CLASSES]; /* --mix, or one from --rate */
	uint32_t nclasses;			       /* 1 without --mix */
	const char *mix_str;			       /* as given, for the report */
	uint64_t rtt_ns;			       /* --rtt: hold each request this long */
	uint8_t mse; /* --mse: MSE_CRYPTO_RC4 or MSE_CRYPTO_PLAIN offered; 0 = plain BitTorrent */
	/* phase.c */
	bool ihash_v2;	  /* --info-hash v2: a hybrid's truncated v2 info-hash (BEP 52) */
	bool churn;	  /* --churn: close at the seeder's handshake, connect again */
	double ramp;	  /* --ramp S: the window waits up to S more for every handshake */
	double split;	  /* --split S: throughput before and after S into the window */
	pid_t master_pid; /* --master-pid: that process alone, children not counted */
};

/* A connection's state; see the diagram above. */
enum conn_state {
	CONN_IDLE,	 /* not started: waits for an opening slot */
	CONN_CONNECTING, /* socket bound, connect (and its linked timeout) in flight */
	CONN_HANDSHAKE,	 /* connected, our handshake queued; collecting the peer's 68 bytes */
	CONN_ACTIVE,	 /* handshaked: interested sent, requesting while unchoked */
	CONN_CLOSING,	 /* finished or failed: socket shut down, operations draining */
	CONN_CLOSED,	 /* descriptor closed; the connection is only numbers now */
	CONN_STATE_MAX
};

/* Why a connection ended. END_DONE is the only good ending in budget mode. */
enum conn_end {
	END_NONE,
	END_DONE,	       /* byte budget received */
	END_CONNECT,	       /* socket, bind or connect failed */
	END_CONNECT_TIMEOUT,   /* connect took longer than --connect-timeout */
	END_HANDSHAKE_TIMEOUT, /* no handshake within --handshake-timeout */
	END_BAD_HANDSHAKE,     /* not BitTorrent, or another info-hash */
	END_EOF,	       /* the seeder closed the connection */
	END_RECV,	       /* recv failed */
	END_SEND,	       /* send failed */
	END_PROTOCOL,	       /* framing error, or a piece we did not ask for that does not fit */
	END_HTTP_STATUS,       /* HTTP: a response other than 206 Partial Content (err: status) */
	END_MAX
};

struct http_conn; /* http.c: the response being parsed on one connection */

/* One outstanding request. length 0 marks a hole left by an answer out of order. */
struct bench_req {
	uint32_t piece, begin, length;
};

/* A piece being downloaded: requested (maybe partly) and not complete yet. */
struct bench_slot {
	uint32_t piece;
	uint32_t got; /* payload bytes received */
	bool used;
	uint8_t *buf; /* copy mode: piece_length bytes; NULL in discard mode */
};

struct conn {
	int fd;
	uint8_t state; /* enum conn_state */
	uint8_t end;   /* enum conn_end */
	uint8_t ops;   /* operations in the ring that name this connection */
	bool choked, peer_fast, has_all, send_busy, dirty, recv_armed, ext_seen;
	bool hs_listed; /* on the list loop_open_now() looks at each turn while opening */
	int err; /* the errno behind END_CONNECT, END_RECV, END_SEND */
	uint32_t idx;
	uint32_t src;	     /* source address, host order; 0 = unbound */
	uint32_t next_dirty; /* the dirty list (UINT32_MAX ends it) */
	uint32_t next_hs;    /* the opening list (UINT32_MAX ends it) */
	uint32_t hs_turn;    /* the loop turn it joined that list in */

	struct wire_dec dec;
	uint8_t hs[WIRE_HANDSHAKE_LEN];
	uint8_t hs_len;

	/* the piece message being received */
	uint8_t phdr[8]; /* index, begin */
	uint8_t phdr_len;
	uint32_t blk_len, blk_off;
	struct bench_slot *blk_slot; /* NULL: a block we did not ask for (payload ignored) */

	/* outstanding requests: a ring of queue entries, oldest at req_head */
	struct bench_req *reqs;
	uint32_t req_head, req_len, req_live;
	struct bench_req *retry; /* rejected (or dropped by a choke): ask again */
	uint32_t nretry;

	/* what to ask for next */
	struct bench_slot *slots;
	uint32_t nslots;
	struct bench_slot *cur; /* the piece being requested, NULL when none */
	uint32_t cur_begin;
	uint32_t pick_pos, perm_a, perm_b, round;
	uint8_t *got;	   /* rarest: pieces completed this round */
	uint8_t *peer_has; /* pieces the peer has, when it is not a seed; NULL otherwise */
	uint32_t bf_off;   /* bitfield bytes received so far */
	uint8_t *ext;	   /* the BEP 10 handshake being received; NULL otherwise */
	uint32_t ext_len, ext_off;
	uint32_t qmax; /* requests in flight: --queue, or less if the peer's reqq says so */

	uint8_t *sbuf; /* messages to send; [0, s_inflight) is in the kernel */
	uint32_t s_len, s_inflight, s_cap;

	uint64_t bytes, bytes_at_warmup, requested;
	uint64_t t_connect, t_handshake, t_first, t_end; /* ns, monotonic; 0 = not yet */
	/* HTTP: pieces_done counts complete responses, the other four stay 0 */
	uint32_t pieces_done, chokes, unchokes, rejects, unexpected;
	struct tw_timer timer;

	struct mse *mse;	/* --mse: the handshake, then the ciphers; NULL otherwise */
	EVP_CIPHER_CTX *rc4_in, *rc4_out; /* --mse rc4: libcrypto's RC4 when available */
	struct http_conn *http; /* HTTP mode: the response being parsed; NULL otherwise */
	bool reconnect;		/* HTTP: CLOSING to connect again, not to end */

	/* pace.c */
	uint8_t cls;	      /* index into o.classes */
	bool blk_open;	      /* a block that answers a request of ours is arriving */
	uint32_t epoch;	      /* bumped when outstanding requests are dropped: held ones go */
	uint32_t s_reqs;      /* requests in sbuf not yet handed to a send */
	int64_t tokens;	      /* --rate: bytes the connection may read now */
	uint64_t t_tokens;    /* ns, when tokens were last refilled */
	struct tw_timer wake; /* --rate: out of tokens, the recv waits for this */
};

/* A request held back by --rtt until due (ns). FIFO: every hold is equally long. */
struct pace_held {
	uint64_t due;
	uint32_t conn, epoch;
	struct bench_req r;
	bool alone; /* written on its own (trickle), else with the others due then */
};

struct proc_sample {
	bool ok;
	double user_s, sys_s;
	uint64_t rss_kb;
	uint64_t peak_kb; /* the bench's own peak RSS (ru_maxrss); 0 for a tree */
	unsigned nproc;
};

/* /proc/stat's first line: every CPU's time, in seconds. */
struct machine_sample {
	bool ok;
	double task_s; /* user, nice, system: charged to processes */
	double irq_s;  /* irq and softirq: the network stack, charged to no process */
	double steal_s;
	unsigned ncpu;
};

enum bench_phase {
	PHASE_WARMUP, /* connecting and downloading; the window has not begun */
	PHASE_WINDOW, /* measuring */
	PHASE_DONE,
};

struct bench {
	struct bench_opts o;
	struct metainfo mi;
	struct io_uring ring;
	struct bufring br;
	struct tw_wheel wheel;
	struct conn *conns;
	uint32_t next_start; /* first connection still IDLE */
	uint32_t opening;    /* CONNECTING + HANDSHAKE */
	uint32_t hs_head;    /* connections opening, looked at by loop_open_now() */
	uint32_t turns;	     /* loop turns (io_uring_enter calls that waited) so far */
	bool hs_sync;	     /* the ring defers its task work: that reading keeps byte order */
	uint32_t active;     /* ACTIVE: handshaked and still open */
	uint32_t active_peak;
	uint32_t dirty_head;
	uint32_t max_msg;
	uint32_t live; /* not CLOSED */
	uint32_t src_next;
	uint64_t rng;
	uint32_t *avail; /* rarest: completions per piece, over all our connections */
	uint32_t seeds;	 /* connections whose peer has every piece */
	uint8_t hs_out[WIRE_HANDSHAKE_LEN];
	uint8_t ih[MI_HASH_LEN]; /* the info-hash we handshake with (phase_info_hash) */
	EVP_CIPHER *rc4; /* --mse rc4: libcrypto's RC4 (legacy provider); NULL: proto/rc4.c */
	struct ossl_provider_st *prov[2]; /* default and legacy, loaded for it */
	struct __kernel_timespec connect_ts;
	uint8_t *scratch; /* trunc mode: where MSG_TRUNC recvs point (never written) */
	uint32_t scratch_len;

	/* HTTP mode */
	struct http_conn *http_conns; /* one per connection */
	char http_req[2048];	      /* "GET PATH HTTP/1.1\r\nHost: ...\r\nRange: bytes=" */
	uint32_t http_req_len;
	uint64_t http_size;   /* the file's size, from the first Content-Range; 0 = not yet */
	uint32_t http_ranges; /* --range pieces of it, the last maybe shorter */
	uint64_t reconnects;  /* clean closes between responses, connected again */
	char http_why[192];   /* the first status other than 206, said in words */

	/* pace.c: --rtt holds (a ring of N x Q at most) and --rate waits */
	struct pace_held *held;
	uint32_t held_cap, held_head, held_len;
	struct tw_wheel fine;

	enum bench_phase phase;
	uint64_t t0, t_window, t_end; /* ns */
	struct proc_sample seeder_a, seeder_b, self_a, self_b;
	struct machine_sample machine_a, machine_b;
	uint64_t seeder_rss_peak;

	/* counters */
	uint64_t rx_payload;   /* payload bytes of the blocks we asked for, all connections */
	uint64_t rx_at_window; /* rx_payload when the window began */
	uint64_t verified, mismatches;
	uint64_t enobufs, sq_full, rearms;
	uint32_t handshaked, attempted;
	uint32_t reqq_capped, reqq_min; /* connections whose queue the peer's reqq lowered */
	uint32_t ends[END_MAX];
	/* per-block counts: [0] at the start of the window, [1] at its end */
	uint64_t blocks;	 /* blocks received that answered a request of ours */
	uint64_t reqs_sent;	 /* requests handed to the kernel */
	uint64_t req_writes;	 /* sends (syscalls or ring sends) that carried requests */
	uint64_t recv_cqes;	 /* receive completions that brought bytes */
	uint64_t throttles;	 /* --rate: a connection ran out of tokens and waited */
	uint64_t count_at[2][5]; /* the five counters above, noted by pace_note() */
	int first_err[END_MAX];	 /* the errno of the first failure of each kind */
	bool budget_timeout;

	/* phase.c: --ramp, --split, --churn, --master-pid */
	uint64_t t_ramp;	       /* ns: every connection handshaked or ended; 0 = not yet */
	bool ramp_cut;		       /* the window opened at --ramp's limit, not all in */
	uint64_t t_split, rx_at_split; /* ns and rx_payload at --split; 0 = not yet */
	struct proc_sample seeder_s;   /* the seeder at --split */
	uint64_t churns, churns_at[2]; /* --churn: handshakes done; at window start and end */
	struct proc_sample master_a, master_b;
};

/* main.c */
extern volatile sig_atomic_t bench_interrupted; /* SIGINT or SIGTERM: stop and report */
uint64_t bench_now_ns(void);
uint64_t bench_rand(struct bench *b);

/* loop.c */
int loop_run(struct bench *b);
void loop_mark_dirty(struct bench *b, struct conn *c);
void loop_finish(struct bench *b, struct conn *c, enum conn_end why, int err);
void loop_reconnect(struct bench *b, struct conn *c);

/* conn.c */
int conn_setup_all(struct bench *b);
void conn_free_all(struct bench *b);
void conn_start_handshake(struct bench *b, struct conn *c);
/* Bytes from the socket; false when the connection must end (already done). */
bool conn_input(struct bench *b, struct conn *c, const uint8_t *p, size_t n);
void conn_keepalive(struct bench *b, struct conn *c);
/* Puts request r on the wire now: alone in a send of its own, or into the send buffer. */
void conn_write_request(struct bench *b, struct conn *c, struct bench_req r, bool alone);
/* Trunc mode: bytes the next recv should take; *payload if they may be discarded unread. */
uint32_t conn_want(const struct conn *c, bool *payload);
const char *conn_end_name(enum conn_end e);

/* pace.c */
int pace_setup(struct bench *b);
void pace_free(struct bench *b);
/* The request r is due now: written alone (trickle), or queued with others (burst). */
void pace_request(struct bench *b, struct conn *c, struct bench_req r, bool alone);
/* Writes the held requests that are due; the time of the next one (UINT64_MAX: none). */
uint64_t pace_release(struct bench *b, uint64_t now);
/* --rate: bytes c may read now (UINT32_MAX: uncapped); 0 and *wait_ms when it must wait. */
uint32_t pace_allow(struct bench *b, struct conn *c, uint64_t now, uint64_t *wait_ms);
void pace_spend(struct bench *b, struct conn *c, uint32_t n);
bool pace_capped(const struct bench *b, const struct conn *c);
/* Notes the per-block counters at the start (0) or the end (1) of the window. */
void pace_note(struct bench *b, int at);
const char *pace_requests_name(enum req_pacing p);

/* pick.c */
int pick_setup(struct bench *b);
void pick_conn_init(struct bench *b, struct conn *c);
/* The next piece for c to download, or false when the peer has nothing c wants now. */
bool pick_next(struct bench *b, struct conn *c, uint32_t *piece);
void pick_completed(struct bench *b, struct conn *c, uint32_t piece);
const char *pick_order_name(enum pick_order o);

/* procstat.c */
void proc_sample_tree(pid_t pid, struct proc_sample *s);
void proc_sample_self(struct proc_sample *s);
void proc_sample_one(pid_t pid, struct proc_sample *s);
void proc_sample_machine(struct machine_sample *m);

/* report.c */
void report_human(const struct bench *b);
void report_json(const struct bench *b);
/* The run's verdict: 0 finished as asked, 1 otherwise; why is set when 1. */
int report_status(const struct bench *b, const char **why);

/* phase.c */
int phase_info_hash(struct bench *b);
bool phase_may_open(struct bench *b, uint64_t now, uint64_t warm_end, uint64_t *next);
void phase_window(struct bench *b, int end);
void phase_tick(struct bench *b, uint64_t now, uint64_t *next);
bool phase_churn(struct bench *b, struct conn *c);
void phase_human(const struct bench *b, double window_s);
void phase_json(const struct bench *b, double window_s);

/* http.c */
int http_setup_all(struct bench *b);
void http_free_all(struct bench *b);
/* Connected (again): a fresh parser, nothing outstanding, the first requests queued. */
void http_start(struct bench *b, struct conn *c);
/* Bytes from the socket; false when the connection must end (already done). */
bool http_input(struct bench *b, struct conn *c, const uint8_t *p, size_t n);
/* Trunc mode: as conn_want(); body bytes may be discarded unread. */
uint32_t http_want(const struct conn *c, bool *payload);
/* The socket ended (err 0: EOF): true if cleanly between responses, to connect again. */
bool http_may_reconnect(const struct conn *c, int err);

#endif
