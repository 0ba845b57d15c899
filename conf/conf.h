/*
 * conf.h - ringseed's configuration: settings, loading, overrides, printing.
 *
 * Every key is one row of a table in conf.c (section, key, type, bounds, default,
 * help, place in struct conf). Loading a file, overriding a key from the command
 * line, filling in defaults and printing a loadable file all walk that table, so a
 * new setting is a new field here plus a new row there.
 *
 * conf never logs: errors come back to the caller as text, one per problem, in
 * the form "FILE:LINE: SECTION.KEY: REASON".
 */
#ifndef RINGSEED_CONF_H
#define RINGSEED_CONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define RINGSEED_VERSION "0.1.0"

#define CONF_LISTEN_MAX 16   /* listen addresses kept; one more is an error */
#define CONF_PATH_MAX	4096 /* PATH_MAX, including the terminating NUL */
#define CONF_ERRORS_MAX 32   /* messages kept by conf_load; the rest are counted */
#define CONF_ERROR_LEN	256  /* one message, including the NUL */

/*
 * [core] log_level. The value is the index of its word in the row's word list in
 * conf.c, so the two are in the same order; the words are the level names of
 * iocore/log.c.
 */
enum conf_send_strategy {
	CONF_SEND_COPY,   /* read into a buffer, then send: the baseline */
	CONF_SEND_SPLICE, /* file -> pipe -> socket, no copy through user space */
	CONF_SEND_ZC,	  /* zero-copy sendmsg (MSG_ZEROCOPY) from the mapped files */
	CONF_SEND_AUTO,	  /* splice for resident data, cold blocks read in first; copy for RC4 */
};

/* [serve] choker: who gets the unchoke slots (word order in conf.c). */
enum conf_choker {
	CONF_CHOKER_ALL,	 /* every interested peer (unchoke_slots: first come, kept) */
	CONF_CHOKER_ROUND_ROBIN, /* a slot is kept for a quota of bytes or a minute */
	CONF_CHOKER_FASTEST,	 /* top by our upload rate, plus one optimistic (BEP 3) */
	CONF_CHOKER_ANTI_LEECH,	 /* peers near 0% and near 100% first */
};

/* [net] encryption: what Message Stream Encryption peers may do (word order in conf.c). */
enum conf_encryption {
	CONF_ENC_OFF,	  /* MSE refused: plain BitTorrent handshakes only */
	CONF_ENC_ALLOW,	  /* both; a peer offering both gets plaintext after MSE */
	CONF_ENC_PREFER,  /* both; a peer offering both gets RC4 */
	CONF_ENC_REQUIRE, /* MSE with RC4 only: plain handshakes refused */
};

/* [fetch] preallocate (word order in conf.c). */
enum conf_prealloc {
	CONF_PREALLOC_FULL,   /* fallocate every file: a disk too small fails at start */
	CONF_PREALLOC_SPARSE, /* files of the right size, blocks taken as pieces land */
};

/* [serve] super_seed: BEP 16 super-seeding (word order in conf.c). */
enum conf_super_seed {
	CONF_SS_OFF,  /* a plain seed: have_all or a full bitfield */
	CONF_SS_ON,   /* always, for every complete torrent */
	CONF_SS_AUTO, /* while no other seed is seen (trackers, peers) */
};

enum conf_log_level {
	CONF_LOG_DEBUG,
	CONF_LOG_INFO,
	CONF_LOG_NOTICE,
	CONF_LOG_WARNING,
	CONF_LOG_ERROR,
};

/* One address to listen on, ready for bind(fd, &a.sa, a.len). */
struct conf_addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	};
	socklen_t len;
};

struct conf_addrs {
	unsigned n;
	struct conf_addr addr[CONF_LISTEN_MAX];
};

struct conf {
	/* [core] */
	int workers;   /* 1..256, or 0 for auto: the caller starts one per online CPU */
	int log_level; /* enum conf_log_level */
	char user[64];	/* drop to this user after binding; "" keeps the starting user */
	char group[64]; /* "" : core.user's primary group */

	/* [net] */
	struct conf_addrs listen;
	int encryption; /* enum conf_encryption */
	int mse_timeout; /* seconds for an MSE opening from accept (MSE_DEADLINE_S) */
	int max_per_ip;	    /* connections from one address at once; 0 = unlimited */
	int max_per_subnet; /* from one IPv4 /24 or IPv6 /48 at once; 0 = unlimited */

	/* [paths] */
	char data_dir[CONF_PATH_MAX];
	char torrents_dir[CONF_PATH_MAX];
	bool watch; /* inotify on torrents_dir */
	char state_dir[CONF_PATH_MAX];

	/* [serve] */
	int send_strategy;     /* enum conf_send_strategy */
	uint64_t max_request;  /* longest block a peer may request, bytes */
	uint64_t read_budget;  /* bytes of cold reads in flight per worker */
	int choker;	       /* enum conf_choker */
	int unchoke_slots;     /* peers unchoked at once on the box; 0 = every interested one */
	int rechoke_interval;  /* seconds between rechokes */
	int optimistic_interval; /* seconds between optimistic unchokes (fastest) */
	int allowed_fast;      /* BEP 6 allowed fast pieces per choked peer */
	uint64_t max_upload_rate; /* bytes/s for the whole box; 0 = unlimited */
	int handshake_timeout; /* seconds for a peer's 68-byte handshake */
	int idle_timeout;      /* seconds of silence before a peer is dropped */
	int reqq;              /* requests queued per peer; more is a flood */
	int max_peers;         /* connections per worker */
	int stats_interval;    /* seconds between stats lines; 0 = off */
	int super_seed;	       /* enum conf_super_seed */
	int super_seed_timeout; /* seconds before a peer's next piece is revealed anyway */

	/* [pex] */
	bool pex_enable; /* BEP 11 peer exchange on torrents that are not private */

	/* [announce]: ringseed as a tracker client */
	bool announce;             /* announce the torrents to their trackers */
	int announce_port;         /* port announced; 0 = the first listen address's */
	int announce_numwant;      /* peers asked for (a seeder needs none) */
	int announce_timeout;      /* seconds for one HTTP or UDP exchange */
	int announce_per_host;     /* announces in flight per tracker host */
	int announce_in_flight;    /* announces in flight in all */
	int announce_retry_min;    /* seconds before the first retry after a failure */
	int announce_retry_max;    /* the ceiling of the doubling backoff */
	int announce_min_interval; /* floor under a tracker's interval, seconds */
	int announce_stop_timeout; /* seconds for every 'stopped' on shutdown */

	/* [tracker]: the built-in tracker */
	bool tracker;              /* serve HTTP and UDP tracker requests */
	struct conf_addrs tracker_listen;
	int tracker_interval;      /* interval we tell clients, seconds */
	int tracker_min_interval;
	int tracker_numwant;       /* peers per reply at most */
	int tracker_max_swarms;
	int tracker_max_peers;     /* per swarm */
	bool tracker_open;         /* swarms for torrents we do not serve too */

	/* [admin]: the HTTP endpoint for operators */
	bool fetch;		       /* fetch a torrent whose content is missing or incomplete */
	struct conf_addrs fetch_peers; /* peers every fetch connects to, besides trackers' */
	int fetch_request_timeout;     /* seconds without a block before a peer is snubbed */
	int fetch_preallocate;	       /* enum conf_prealloc */
	int fetch_disk_retry;	       /* seconds between looks for space after a disk-full stop */

	struct conf_addrs admin_listen; /* empty: off */
	int admin_torrent_series;       /* torrents with their own series in /metrics */
};

/* What conf_load found wrong, in file order. */
struct conf_errors {
	unsigned n;	  /* messages in msg[] */
	unsigned dropped; /* further errors, counted but not kept */
	char msg[CONF_ERRORS_MAX][CONF_ERROR_LEN];
};

/* Fills every key with its default. */
void conf_defaults(struct conf *c);

/*
 * Sets c to the defaults, then applies the file at path. Reads the whole file and
 * reports every problem into errs (which may be NULL), rather than the first.
 * Returns 0, -EINVAL when the file has errors, or -errno when it cannot be read
 * ("FILE: <strerror>" is then in errs). c is written even on failure, so load into
 * a scratch struct and keep the running configuration when this fails.
 *
 * In a file, a list key (net.listen) replaces the defaults on its first line and
 * adds on later lines; any other key given twice is an error naming both lines.
 */
int conf_load(struct conf *c, const char *path, struct conf_errors *errs);

/*
 * Sets section.key from text, through the same parser as the file, e.g. for a
 * command-line override. A list key becomes exactly this one entry. Returns 0,
 * -ENOENT for an unknown section or key, -EINVAL for a bad value; why (may be
 * NULL) then says why, without the key name, e.g. "999 is out of range 1..256".
 * On failure c is unchanged.
 */
int conf_set(struct conf *c, const char *section, const char *key, const char *value, char *why,
	     size_t whylen);

/* Like conf_set, but adds one entry to a list key; -EINVAL for a key that is not a list. */
int conf_add(struct conf *c, const char *section, const char *key, const char *value, char *why,
	     size_t whylen);

/*
 * Prints c (the defaults when c is NULL) as a configuration file that conf_load
 * reads back to the same values: every section and key, each with its help, its
 * allowed values and its default as comments. Returns 0 or -EIO on a write error.
 */
int conf_print(FILE *f, const struct conf *c);

/* Row i of the key table, for documentation; -ENOENT past the last. */
struct conf_key_doc {
	const char *section, *key, *def, *help;
	char values[200]; /* what the key takes, e.g. "1..256" */
};
int conf_key_doc(size_t i, struct conf_key_doc *d);

/* conf_man.c: ringseed.conf(5) in roff, from the key table. */
int conf_print_man(FILE *f);

#endif
