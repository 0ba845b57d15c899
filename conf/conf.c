/*
 * conf.c - configuration: one table of keys, and what it takes to use it.
 *
 * Every key is a row of conf_keys[] below. The inih handler looks keys up in it,
 * conf_set does the same for command-line overrides, conf_defaults feeds each
 * row's default text through the same parser as a file value, and conf_print
 * walks it to write a loadable file. The machinery takes any table over any
 * struct (struct conf_table), which is how the unit test reaches every type.
 *
 * Reading a file (a line reader around inih, and its handler) is conf_load.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "conf/conf_int.h"

/* The field must have the C type the row's parser writes: a mistyped row does not compile. */
#define CONF_FIELD(st, field, ctype)                                                              \
	.off = offsetof(st, field) +                                                              \
	       0 * sizeof(struct {                                                                \
		       _Static_assert(                                                            \
			       __builtin_types_compatible_p(__typeof__(((st *)0)->field), ctype), \
			       #field " is not " #ctype);                                         \
		       int unused_;                                                               \
	       }),                                                                                \
	.size = sizeof(((st *)0)->field)

#define CONF_ROW(st, sec, name, t, field, ctype, def_, help_)                         \
	.section = (sec), .key = (name), .type = (t), .def = (def_), .help = (help_), \
	CONF_FIELD(st, field, ctype)

#define CONF_INT_ROW(st, sec, name, field, lo, hi, auto_, def_, help_)      \
	{                                                                   \
		CONF_ROW(st, sec, name, CONF_INT, field, int, def_, help_), \
			.min = (lo), .max = (hi), .allow_auto = (auto_)     \
	}
#define CONF_BOOL_ROW(st, sec, name, field, def_, help_)                     \
	{                                                                    \
		CONF_ROW(st, sec, name, CONF_BOOL, field, bool, def_, help_) \
	}
#define CONF_ENUM_ROW(st, sec, name, field, words_, def_, help_)                               \
	{                                                                                      \
		CONF_ROW(st, sec, name, CONF_ENUM, field, int, def_, help_), .words = (words_) \
	}
#define CONF_STRING_ROW(st, sec, name, field, def_, help_)                       \
	{                                                                        \
		CONF_ROW(st, sec, name, CONF_STRING, field, char[], def_, help_) \
	}
#define CONF_PATH_ROW(st, sec, name, field, def_, help_)                       \
	{                                                                      \
		CONF_ROW(st, sec, name, CONF_PATH, field, char[], def_, help_) \
	}
#define CONF_SIZE_ROW(st, sec, name, field, lo, hi, def_, help_)                               \
	{                                                                                      \
		CONF_ROW(st, sec, name, CONF_SIZE, field, uint64_t, def_, help_), .min = (lo), \
										  .max = (hi)  \
	}
#define CONF_ADDRS_ROW(st, sec, name, field, def_, help_)                                  \
	{                                                                                  \
		CONF_ROW(st, sec, name, CONF_ADDRS, field, struct conf_addrs, def_, help_) \
	}
#define CONF_ADDRS_OFF_ROW(st, sec, name, field, def_, help_)                               \
	{                                                                                   \
		CONF_ROW(st, sec, name, CONF_ADDRS, field, struct conf_addrs, def_, help_), \
			.empty_ok = true                                                    \
	}

/* Same order as enum conf_log_level; the names iocore/log.c uses. */
static const char *const conf_log_words[] = { "debug", "info", "notice", "warning", "error", NULL };

/*
 * The configuration. Rows of one section stay together (conf_print writes each
 * section header once); conf/ringseed.conf lists the same keys in the same order,
 * which the unit test checks.
 */
static const char *const conf_send_words[] = { "copy", "splice", "send_zc", "auto", NULL };
static const char *const conf_enc_words[] = { "off", "allow", "prefer", "require", NULL };
static const char *const conf_ss_words[] = { "off", "on", "auto", NULL };
static const char *const conf_prealloc_words[] = { "full", "sparse", NULL };
static const char *const conf_choker_words[] = { "all", "round_robin", "fastest", "anti_leech",
						 NULL };

static const struct conf_key conf_keys[] = {
	CONF_INT_ROW(struct conf, "core", "workers", workers, 1, 256, true, "auto",
		     "Worker processes serving peers, each pinned to one CPU; auto starts one "
		     "per online CPU."),
	CONF_ENUM_ROW(struct conf, "core", "log_level", log_level, conf_log_words, "info",
		      "Least important messages that are still logged (debug is the most "
		      "verbose)."),
	CONF_STRING_ROW(struct conf, "core", "user", user, "",
			"User to run as once bound; empty keeps the starting user (root must be "
			"named)."),
	CONF_STRING_ROW(struct conf, "core", "group", group, "",
			"Group to run as with core.user; empty takes that user's primary group."),
	CONF_ADDRS_ROW(struct conf, "net", "listen", listen, "0.0.0.0:6881 [::]:6881",
		       "Where peers connect: IPv4 ADDR:PORT or [IPv6]:PORT, one line per "
		       "address."),
	CONF_ENUM_ROW(struct conf, "net", "encryption", encryption, conf_enc_words, "allow",
		      "Message Stream Encryption: off, allow, prefer (RC4) or require (RC4 only)."),
	CONF_INT_ROW(struct conf, "net", "mse_timeout", mse_timeout, 1, 300, false, "30",
		     "Seconds an MSE opening has, from accept, to finish its handshake."),
	CONF_INT_ROW(struct conf, "net", "max_per_ip", max_per_ip, 0, 1000000, false, "8",
		     "Connections one peer address may hold at once; more are closed at "
		     "accept. 0: unlimited."),
	CONF_INT_ROW(struct conf, "net", "max_per_subnet", max_per_subnet, 0, 1000000, false,
		     "0", "Connections one IPv4 /24 or IPv6 /48 may hold at once; 0: unlimited."),
	CONF_PATH_ROW(struct conf, "paths", "data_dir", data_dir, "/var/lib/ringseed/data",
		      "Content of the torrents, read-only: the files and directories they "
		      "describe."),
	CONF_PATH_ROW(struct conf, "paths", "torrents_dir", torrents_dir,
		      "/var/lib/ringseed/torrents",
		      "The .torrent files to seed; re-read on SIGHUP."),
	CONF_BOOL_ROW(struct conf, "paths", "watch", watch, "yes",
		      "Watch torrents_dir (inotify): changes take effect at once, no SIGHUP."),
	CONF_PATH_ROW(struct conf, "paths", "state_dir", state_dir, "/var/lib/ringseed/state",
		      "Where ringseed keeps what it learned between runs, such as which "
		      "torrents were verified."),
	CONF_ENUM_ROW(struct conf, "serve", "send_strategy", send_strategy, conf_send_words,
		      "auto", "How blocks go from the content files to the sockets."),
	CONF_SIZE_ROW(struct conf, "serve", "max_request", max_request, 16384, 131072, "16K",
		      "Longest block a peer may request; longer ones are rejected."),
	CONF_SIZE_ROW(struct conf, "serve", "read_budget", read_budget, 1048576, 1073741824, "32M",
		      "Bytes of cold content a worker reads ahead of its sends at once."),
	CONF_ENUM_ROW(struct conf, "serve", "choker", choker, conf_choker_words, "all",
		      "Who is unchoked: all, round_robin, fastest or anti_leech (see README)."),
	CONF_INT_ROW(struct conf, "serve", "unchoke_slots", unchoke_slots, 0, 1000000, false, "0",
		     "Peers unchoked at once on the whole box; 0 unchokes every interested peer."),
	CONF_INT_ROW(struct conf, "serve", "rechoke_interval", rechoke_interval, 1, 3600, false,
		     "10", "Seconds between rechokes (shorter only for tests)."),
	CONF_INT_ROW(struct conf, "serve", "optimistic_interval", optimistic_interval, 1, 3600,
		     false, "30", "Seconds between optimistic unchokes of the fastest choker."),
	CONF_INT_ROW(struct conf, "serve", "allowed_fast", allowed_fast, 0, 256, false, "0",
		     "Pieces a choked peer may still request (BEP 6 allowed fast set)."),
	CONF_SIZE_ROW(struct conf, "serve", "max_upload_rate", max_upload_rate, 0,
		      (int64_t)1 << 40, "0", "Upload cap of the whole box, bytes/s; 0: none."),
	CONF_INT_ROW(struct conf, "serve", "handshake_timeout", handshake_timeout, 1, 300, false,
		     "10", "Seconds a new connection has to send its handshake."),
	CONF_INT_ROW(struct conf, "serve", "idle_timeout", idle_timeout, 5, 3600, false, "120",
		     "Seconds a peer may stay silent before it is dropped."),
	CONF_INT_ROW(struct conf, "serve", "reqq", reqq, 1, 4096, false, "500",
		     "Requests a peer may have queued; more is a flood and drops it."),
	CONF_INT_ROW(struct conf, "serve", "max_peers", max_peers, 16, 1000000, false, "20000",
		     "Connections each worker holds at most."),
	CONF_INT_ROW(struct conf, "serve", "stats_interval", stats_interval, 0, 86400, false,
		     "10", "Seconds between the stats lines in the log; 0 turns them off."),
	CONF_ENUM_ROW(struct conf, "serve", "super_seed", super_seed, conf_ss_words, "auto",
		      "Super-seeding (BEP 16): off, on, or auto (on while no other seed is "
		      "seen)."),
	CONF_INT_ROW(struct conf, "serve", "super_seed_timeout", super_seed_timeout, 1, 3600,
		     false, "30",
		     "Seconds after which a peer is shown its next piece even if nobody else "
		     "was seen with the last one."),
	CONF_BOOL_ROW(struct conf, "pex", "enable", pex_enable, "yes",
		      "Peer exchange (BEP 11): tell peers of public torrents about each other."),
	CONF_BOOL_ROW(struct conf, "announce", "enable", announce, "yes",
		      "Announce every torrent to the trackers its .torrent names."),
	CONF_INT_ROW(struct conf, "announce", "port", announce_port, 0, 65535, false, "0",
		     "Port told to trackers; 0 takes the first listen address's port."),
	CONF_INT_ROW(struct conf, "announce", "numwant", announce_numwant, 0, 1000, false, "0",
		     "Peers asked of a tracker; a seeder needs none."),
	CONF_INT_ROW(struct conf, "announce", "timeout", announce_timeout, 1, 300, false, "15",
		     "Seconds one announce may take before it counts as failed."),
	CONF_INT_ROW(struct conf, "announce", "per_host", announce_per_host, 1, 1000, false, "4",
		     "Announces in flight to one tracker host at once."),
	CONF_INT_ROW(struct conf, "announce", "in_flight", announce_in_flight, 1, 100000, false,
		     "64", "Announces in flight at once, all trackers together."),
	CONF_INT_ROW(struct conf, "announce", "retry_min", announce_retry_min, 1, 86400, false,
		     "60", "Seconds before retrying a tracker that failed; doubles each time."),
	CONF_INT_ROW(struct conf, "announce", "retry_max", announce_retry_max, 1, 86400, false,
		     "3600", "The most seconds between retries of a failing tracker."),
	CONF_INT_ROW(struct conf, "announce", "min_interval", announce_min_interval, 1, 86400,
		     false, "60", "Fewest seconds between announces, whatever a tracker says."),
	CONF_INT_ROW(struct conf, "announce", "stop_timeout", announce_stop_timeout, 0, 300, false,
		     "5", "Seconds the 'stopped' announces get on shutdown, all together."),
	CONF_BOOL_ROW(struct conf, "tracker", "enable", tracker, "no",
		      "Run the built-in tracker (HTTP and UDP) on tracker.listen."),
	CONF_ADDRS_ROW(struct conf, "tracker", "listen", tracker_listen, "0.0.0.0:6969",
		       "Where the built-in tracker answers, HTTP and UDP on each address."),
	CONF_INT_ROW(struct conf, "tracker", "interval", tracker_interval, 10, 86400, false,
		     "1800", "Seconds between announces that the tracker asks of clients."),
	CONF_INT_ROW(struct conf, "tracker", "min_interval", tracker_min_interval, 1, 86400,
		     false, "300", "The min interval the tracker tells clients."),
	CONF_INT_ROW(struct conf, "tracker", "numwant", tracker_numwant, 1, 1000, false, "50",
		     "Peers in one reply at most, whatever a client asks for."),
	CONF_INT_ROW(struct conf, "tracker", "max_swarms", tracker_max_swarms, 1, 10000000,
		     false, "100000", "Swarms the tracker keeps; more are refused."),
	CONF_INT_ROW(struct conf, "tracker", "max_peers", tracker_max_peers, 1, 10000000, false,
		     "10000", "Peers one swarm keeps; more are refused."),
	CONF_BOOL_ROW(struct conf, "tracker", "open", tracker_open, "no",
		      "Track any info-hash, not only the torrents this box serves."),
	CONF_BOOL_ROW(struct conf, "fetch", "enable", fetch, "yes",
		      "Fetch a torrent whose content is missing or incomplete from its peers, "
		      "then seed it."),
	CONF_ADDRS_OFF_ROW(struct conf, "fetch", "peers", fetch_peers, "",
			   "Peers every fetch connects to (origins), besides the trackers' ones."),
	CONF_INT_ROW(struct conf, "fetch", "request_timeout", fetch_request_timeout, 1, 600,
		     false, "10", "Seconds a peer may leave our requests unanswered before "
		     "they go to others."),
	CONF_ENUM_ROW(struct conf, "fetch", "preallocate", fetch_preallocate, conf_prealloc_words,
		      "full", "full: fallocate every file at start; sparse: blocks are taken "
		      "as pieces are written."),
	CONF_INT_ROW(struct conf, "fetch", "disk_retry", fetch_disk_retry, 1, 3600, false, "10",
		     "Seconds between tries of a fetch stopped by a full disk (ENOSPC, EDQUOT)."),
	CONF_ADDRS_OFF_ROW(struct conf, "admin", "listen", admin_listen, "127.0.0.1:9881",
			   "Where /metrics, /status and /healthz answer; empty turns it off."),
	CONF_INT_ROW(struct conf, "admin", "torrent_series", admin_torrent_series, 0, 1000000,
		     false, "1000",
		     "Torrents that get their own series in /metrics; the rest are summed."),
};

_Static_assert(ARRAY_SIZE(conf_keys) <= CONF_KEYS_MAX, "raise CONF_KEYS_MAX");

static const struct conf_table conf_table = {
	.keys = conf_keys,
	.n = ARRAY_SIZE(conf_keys),
	.base_size = sizeof(struct conf),
};

const struct conf_key *conf_find(const struct conf_table *t, const char *section,
					const char *key)
{
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->keys[i].section, section) == 0 && strcmp(t->keys[i].key, key) == 0)
			return &t->keys[i];
	}
	return NULL;
}

bool conf_section_known(const struct conf_table *t, const char *name, size_t len)
{
	for (size_t i = 0; i < t->n; i++) {
		if (strlen(t->keys[i].section) == len && memcmp(t->keys[i].section, name, len) == 0)
			return true;
	}
	return false;
}

/* ---- values: text to field, one parser per type ---- */

/* Leading digits (after an optional '-') or -EINVAL; -ERANGE when they overflow. */
static int conf_strtoll(const char *v, long long *out, const char **end)
{
	char *e;

	if (!isdigit((unsigned char)v[v[0] == '-']))
		return -EINVAL;
	errno = 0;
	*out = strtoll(v, &e, 10);
	*end = e;
	return errno == ERANGE ? -ERANGE : 0;
}

static int conf_parse_int(const struct conf_key *k, const char *v, int *dst, char *why, size_t n)
{
	const char *end;
	long long x;
	int r;

	if (k->allow_auto && strcasecmp(v, "auto") == 0) {
		*dst = 0; /* allow_auto rows have min >= 1, so 0 cannot mean a number */
		return 0;
	}
	r = conf_strtoll(v, &x, &end);
	if (r == -EINVAL || *end) {
		snprintf(why, n, "'%s' is not a number%s", v, k->allow_auto ? " or auto" : "");
		return -EINVAL;
	}
	if (r == -ERANGE || x < k->min || x > k->max) {
		snprintf(why, n, "%s is out of range %lld..%lld", v, (long long)k->min,
			 (long long)k->max);
		return -EINVAL;
	}
	*dst = (int)x;
	return 0;
}

static const char *const conf_true_words[] = { "yes", "true", "on", "1" };
static const char *const conf_false_words[] = { "no", "false", "off", "0" };

static int conf_parse_bool(const char *v, bool *dst, char *why, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(conf_true_words); i++) {
		if (strcasecmp(v, conf_true_words[i]) == 0) {
			*dst = true;
			return 0;
		}
		if (strcasecmp(v, conf_false_words[i]) == 0) {
			*dst = false;
			return 0;
		}
	}
	snprintf(why, n, "'%s' is not yes or no (nor true/false, on/off, 1/0)", v);
	return -EINVAL;
}

/* "a, b, c" from a NULL-terminated word list. */
static void conf_join_words(const char *const *words, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; words[i] && len < n; i++)
		len += snprintf(buf + len, n - len, "%s%s", i ? ", " : "", words[i]);
}

static int conf_parse_enum(const struct conf_key *k, const char *v, int *dst, char *why, size_t n)
{
	char list[CONF_WHY_LEN / 2];

	for (int i = 0; k->words[i]; i++) {
		if (strcasecmp(v, k->words[i]) == 0) {
			*dst = i;
			return 0;
		}
	}
	conf_join_words(k->words, list, sizeof(list));
	snprintf(why, n, "'%s' is not one of %s", v, list);
	return -EINVAL;
}

/*
 * The longest text a row takes: it must fit its field, and "key = text" must fit
 * one line of inih's buffer (INI_MAX_LINE with the NUL), or conf_print would
 * write a file that does not load.
 */
static size_t conf_text_max(const struct conf_key *k)
{
	size_t line = INI_MAX_LINE - 1 - strlen(k->key) - strlen(" = ");

	return k->size - 1 < line ? k->size - 1 : line;
}

/*
 * Text must survive conf_print and a reload unchanged, so refuse what a file
 * cannot carry: control characters, outer spaces, and ';' after a space (inih
 * cuts an inline comment there). A file never gets these past inih; conf_set can.
 */
static int conf_parse_text(const struct conf_key *k, const char *v, char *dst, char *why, size_t n)
{
	size_t len = strlen(v);

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch < 0x20 || ch == 0x7f) {
			snprintf(why, n, "'%s' has a control character", v);
			return -EINVAL;
		}
		if (ch == ';' && i > 0 && isspace((unsigned char)v[i - 1])) {
			snprintf(why, n, "'%s' has ';' after a space, which starts a comment", v);
			return -EINVAL;
		}
	}
	if (len && (isspace((unsigned char)v[0]) || isspace((unsigned char)v[len - 1]))) {
		snprintf(why, n, "'%s' starts or ends with a space", v);
		return -EINVAL;
	}
	if (k->type == CONF_PATH && v[0] != '/') {
		snprintf(why, n, "'%s' is not an absolute path", v);
		return -EINVAL;
	}
	if (len > conf_text_max(k)) {
		snprintf(why, n, "'%.40s...' is longer than %zu characters", v, conf_text_max(k));
		return -EINVAL;
	}
	memset(dst, 0, k->size); /* so two equal configurations are equal bytes */
	memcpy(dst, v, len);
	return 0;
}

static const char conf_size_suffix[] = "KMG"; /* 2^10, 2^20, 2^30 */

/* The shortest exact form: 4194304 is "4M", 1536 stays "1536". */
static void conf_format_size(uint64_t x, char *buf, size_t n)
{
	int s = -1;

	while (x && x % 1024 == 0 && s + 1 < (int)strlen(conf_size_suffix)) {
		x /= 1024;
		s++;
	}
	if (s < 0)
		snprintf(buf, n, "%llu", (unsigned long long)x);
	else
		snprintf(buf, n, "%llu%c", (unsigned long long)x, conf_size_suffix[s]);
}

static int conf_parse_size(const struct conf_key *k, const char *v, uint64_t *dst, char *why,
			   size_t n)
{
	unsigned long long x, mult = 1;
	char lo[24], hi[24], *e;
	const char *s;
	bool range;

	if (!isdigit((unsigned char)v[0]))
		goto not_size;
	errno = 0;
	x = strtoull(v, &e, 10);
	range = errno == ERANGE;
	s = *e ? strchr(conf_size_suffix, toupper((unsigned char)*e)) : NULL;
	if (s) {
		mult = 1ULL << (10 * (s - conf_size_suffix + 1));
		e++;
	}
	if (*e)
		goto not_size;
	if (range || __builtin_mul_overflow(x, mult, &x) || x < (uint64_t)k->min ||
	    x > (uint64_t)k->max) {
		conf_format_size((uint64_t)k->min, lo, sizeof(lo));
		conf_format_size((uint64_t)k->max, hi, sizeof(hi));
		snprintf(why, n, "%s is out of range %s..%s", v, lo, hi);
		return -EINVAL;
	}
	*dst = x;
	return 0;
not_size:
	snprintf(why, n, "'%s' is not a size (a number, then K, M or G for 2^10, 2^20, 2^30)", v);
	return -EINVAL;
}

/* "ADDR:PORT" or "[ADDR6]:PORT": finds the address text and the port text. */
static int conf_split_addr(const char *v, const char **host, size_t *hostlen, const char **port,
			   int *family, char *why, size_t n)
{
	const char *c;

	if (v[0] == '[') {
		c = strchr(v, ']');
		if (!c) {
			snprintf(why, n, "'%s' lacks ']'", v);
			return -EINVAL;
		}
		*family = AF_INET6;
		*host = v + 1;
		*hostlen = (size_t)(c - v - 1);
		c++;
	} else {
		c = strchr(v, ':');
		if (c && strchr(c + 1, ':')) {
			snprintf(why, n,
				 "'%s': write an IPv6 address in brackets, as in [::1]:6881", v);
			return -EINVAL;
		}
		if (!c)
			c = v + strlen(v);
		*family = AF_INET;
		*host = v;
		*hostlen = (size_t)(c - v);
	}
	if (*c != ':') {
		snprintf(why, n, "'%s' lacks :PORT", v);
		return -EINVAL;
	}
	*port = c + 1;
	return 0;
}

static int conf_parse_addr(const char *v, struct conf_addr *a, char *why, size_t n)
{
	char host[INET6_ADDRSTRLEN];
	const char *h, *p, *end;
	size_t hlen;
	long long port;
	int family, r;
	void *dst;

	if (strspn(v, "0123456789") == strlen(v))
		goto no_address; /* a bare port */
	if (conf_split_addr(v, &h, &hlen, &p, &family, why, n) < 0)
		return -EINVAL;
	if (family == AF_INET && hlen == 0)
		goto no_address;
	memset(a, 0, sizeof(*a));
	dst = family == AF_INET ? (void *)&a->in4.sin_addr : (void *)&a->in6.sin6_addr;
	if (hlen < sizeof(host)) {
		memcpy(host, h, hlen);
		host[hlen] = '\0';
	}
	if (hlen == 0 || hlen >= sizeof(host) || inet_pton(family, host, dst) != 1) {
		snprintf(why, n, "'%.*s' is not an %s address (names are not resolved)", (int)hlen,
			 h, family == AF_INET ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	r = conf_strtoll(p, &port, &end);
	if (r == -EINVAL || *end || p[0] == '-') {
		snprintf(why, n, "'%s': '%s' is not a port number", v, p);
		return -EINVAL;
	}
	if (r == -ERANGE || port < 1 || port > 65535) {
		snprintf(why, n, "'%s': port %s is out of range 1..65535", v, p);
		return -EINVAL;
	}
	a->sa.sa_family = (sa_family_t)family;
	if (family == AF_INET) {
		a->in4.sin_port = htons((uint16_t)port);
		a->len = sizeof(a->in4);
	} else {
		a->in6.sin6_port = htons((uint16_t)port);
		a->len = sizeof(a->in6);
	}
	return 0;
no_address:
	snprintf(why, n, "'%s' lacks an address, as in 0.0.0.0:6881 or [::]:6881", v);
	return -EINVAL;
}

static void conf_format_addr(const struct conf_addr *a, char *buf, size_t n)
{
	char host[INET6_ADDRSTRLEN];

	if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof(host));
		snprintf(buf, n, "[%s]:%u", host, ntohs(a->in6.sin6_port));
	} else {
		inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof(host));
		snprintf(buf, n, "%s:%u", host, ntohs(a->in4.sin_port));
	}
}

/* Same family, address and port: binding both would fail with EADDRINUSE. */
static bool conf_addr_equal(const struct conf_addr *a, const struct conf_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		       memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(struct in6_addr)) == 0;
	return a->in4.sin_port == b->in4.sin_port &&
	       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
}

static int conf_apply_addr(const char *v, struct conf_addrs *list, enum conf_mode mode, char *why,
			   size_t n)
{
	struct conf_addr a;

	if (conf_parse_addr(v, &a, why, n) < 0)
		return -EINVAL;
	if (mode == CONF_MODE_SET) {
		memset(list, 0, sizeof(*list));
	} else {
		for (unsigned i = 0; i < list->n; i++) {
			if (conf_addr_equal(&list->addr[i], &a)) {
				snprintf(why, n, "'%s' is listed twice", v);
				return -EINVAL;
			}
		}
		if (list->n == CONF_LISTEN_MAX) {
			snprintf(why, n, "more than %d addresses", CONF_LISTEN_MAX);
			return -EINVAL;
		}
	}
	list->addr[list->n++] = a;
	return 0;
}

/* Text to the row's field, through the parser of its type; the field changes only on success. */
int conf_apply(const struct conf_key *k, void *base, const char *v, enum conf_mode mode,
		      char *why, size_t n)
{
	void *dst = (char *)base + k->off;

	if (!*v && k->type == CONF_ADDRS && k->empty_ok && mode == CONF_MODE_SET) {
		memset(dst, 0, sizeof(struct conf_addrs));
		return 0;
	}
	if (!*v && k->type != CONF_STRING) {
		snprintf(why, n, "empty value");
		return -EINVAL;
	}
	/*
	 * inih ends a value at " ;" only: "/srv/data # disk 2" would be a path with
	 * a space in it, where the operator surely meant a comment.
	 */
	for (const char *h = strchr(v, '#'); h; h = strchr(h + 1, '#')) {
		if (h > v && isspace((unsigned char)h[-1])) {
			snprintf(why, n, "'%s': a comment after a value starts with ';', not '#'",
				 v);
			return -EINVAL;
		}
	}
	switch (k->type) {
	case CONF_INT:
		return conf_parse_int(k, v, dst, why, n);
	case CONF_BOOL:
		return conf_parse_bool(v, dst, why, n);
	case CONF_ENUM:
		return conf_parse_enum(k, v, dst, why, n);
	case CONF_STRING:
	case CONF_PATH:
		return conf_parse_text(k, v, dst, why, n);
	case CONF_SIZE:
		return conf_parse_size(k, v, dst, why, n);
	case CONF_ADDRS:
		return conf_apply_addr(v, dst, mode, why, n);
	}
	snprintf(why, n, "row of unknown type %d", (int)k->type);
	return -EINVAL;
}

/* ---- the table-wide operations, on any table ---- */

/*
 * A default that does not parse is a bug in the table, found by the first test
 * run: fail loudly rather than run with a zeroed setting.
 */
static void conf_bad_default(const struct conf_key *k, const char *why)
{
	fprintf(stderr, "conf: default of %s.%s: %s\n", k->section, k->key, why);
	abort();
}

void conf_table_defaults(const struct conf_table *t, void *base)
{
	char why[CONF_WHY_LEN], entry[CONF_LINE_MAX];
	const char *s, *e;

	memset(base, 0, t->base_size);
	for (size_t i = 0; i < t->n; i++) {
		const struct conf_key *k = &t->keys[i];
		enum conf_mode mode = CONF_MODE_SET;

		if (k->type != CONF_ADDRS) {
			if (conf_apply(k, base, k->def, mode, why, sizeof(why)) < 0)
				conf_bad_default(k, why);
			continue;
		}
		for (s = k->def; *s; s = e + strspn(e, " "), mode = CONF_MODE_ADD) {
			e = s + strcspn(s, " ");
			snprintf(entry, sizeof(entry), "%.*s", (int)(e - s), s);
			if (conf_apply(k, base, entry, mode, why, sizeof(why)) < 0)
				conf_bad_default(k, why);
		}
	}
}

static int conf_table_set(const struct conf_table *t, void *base, const char *section,
			  const char *key, const char *value, enum conf_mode mode, char *why,
			  size_t n)
{
	const struct conf_key *k = conf_find(t, section, key);

	if (!k) {
		snprintf(why, n, "unknown %s",
			 conf_section_known(t, section, strlen(section)) ? "key" : "section");
		return -ENOENT;
	}
	if (mode == CONF_MODE_ADD && k->type != CONF_ADDRS) {
		snprintf(why, n, "takes one value, not a list");
		return -EINVAL;
	}
	return conf_apply(k, base, value, mode, why, n);
}

/* ---- printing ---- */

/* The value of entry i (lists) or of the row, as a file would write it. */
static void conf_format(const struct conf_key *k, const void *base, unsigned i, char *buf, size_t n)
{
	const void *src = (const char *)base + k->off;
	int x;

	switch (k->type) {
	case CONF_INT:
		x = *(const int *)src;
		if (k->allow_auto && x == 0)
			snprintf(buf, n, "auto");
		else
			snprintf(buf, n, "%d", x);
		return;
	case CONF_BOOL:
		snprintf(buf, n, "%s", *(const bool *)src ? "yes" : "no");
		return;
	case CONF_ENUM:
		snprintf(buf, n, "%s", k->words[*(const int *)src]);
		return;
	case CONF_STRING:
	case CONF_PATH:
		snprintf(buf, n, "%s", (const char *)src);
		return;
	case CONF_SIZE:
		conf_format_size(*(const uint64_t *)src, buf, n);
		return;
	case CONF_ADDRS:
		conf_format_addr(&((const struct conf_addrs *)src)->addr[i], buf, n);
		return;
	}
	buf[0] = '\0';
}

/* What values the row takes, for the comment above it. */
static void conf_describe(const struct conf_key *k, char *buf, size_t n)
{
	char lo[24], hi[24], words[CONF_WHY_LEN / 2];

	switch (k->type) {
	case CONF_INT:
		snprintf(buf, n, "%s%lld..%lld", k->allow_auto ? "auto or " : "", (long long)k->min,
			 (long long)k->max);
		return;
	case CONF_BOOL:
		snprintf(buf, n, "yes or no");
		return;
	case CONF_ENUM:
		conf_join_words(k->words, words, sizeof(words));
		snprintf(buf, n, "one of %s", words);
		return;
	case CONF_STRING:
		snprintf(buf, n, "text, may be empty");
		return;
	case CONF_PATH:
		snprintf(buf, n, "an absolute path");
		return;
	case CONF_SIZE:
		conf_format_size((uint64_t)k->min, lo, sizeof(lo));
		conf_format_size((uint64_t)k->max, hi, sizeof(hi));
		snprintf(buf, n, "a size in bytes, K/M/G for 2^10/2^20/2^30, %s..%s", lo, hi);
		return;
	case CONF_ADDRS:
		snprintf(buf, n, "up to %d lines; the first replaces the default", CONF_LISTEN_MAX);
		return;
	}
	buf[0] = '\0';
}

static void conf_print_key(FILE *f, const struct conf_key *k, const void *base)
{
	char desc[CONF_WHY_LEN], value[CONF_PATH_MAX];
	unsigned count = 1;

	conf_describe(k, desc, sizeof(desc));
	fprintf(f, "\n# %s\n# %s; default: %s\n", k->help, desc, k->def);
	if (k->type == CONF_ADDRS)
		count = ((const struct conf_addrs *)((const char *)base + k->off))->n;
	if (k->type == CONF_ADDRS && count == 0)
		fprintf(f, "%s =\n", k->key); /* empty_ok: off */
	for (unsigned i = 0; i < count; i++) {
		conf_format(k, base, i, value, sizeof(value));
		fprintf(f, "%s = %s\n", k->key, value);
	}
}

static int conf_table_print(const struct conf_table *t, FILE *f, const void *base)
{
	const char *section = NULL;

	fprintf(f, "# ringseed configuration: every key, with what it does, the values it\n"
		   "# takes and its default. Lines starting with '#' or ';' are comments;\n"
		   "# after a value, ' ;' starts one.\n");
	for (size_t i = 0; i < t->n; i++) {
		const struct conf_key *k = &t->keys[i];

		if (!section || strcmp(section, k->section) != 0) {
			section = k->section;
			fprintf(f, "\n[%s]\n", section);
		}
		conf_print_key(f, k, base);
	}
	if (fflush(f) != 0 || ferror(f))
		return -EIO;
	return 0;
}

/* ---- the public API, on the one real table ---- */

void conf_defaults(struct conf *c)
{
	conf_table_defaults(&conf_table, c);
}

int conf_load(struct conf *c, const char *path, struct conf_errors *errs)
{
	return conf_table_load(&conf_table, c, path, errs);
}

int conf_set(struct conf *c, const char *section, const char *key, const char *value, char *why,
	     size_t whylen)
{
	return conf_table_set(&conf_table, c, section, key, value, CONF_MODE_SET, why, whylen);
}

int conf_add(struct conf *c, const char *section, const char *key, const char *value, char *why,
	     size_t whylen)
{
	return conf_table_set(&conf_table, c, section, key, value, CONF_MODE_ADD, why, whylen);
}

int conf_key_doc(size_t i, struct conf_key_doc *d)
{
	const struct conf_key *k;

	if (i >= conf_table.n)
		return -ENOENT;
	k = &conf_table.keys[i];
	d->section = k->section;
	d->key = k->key;
	d->def = k->def;
	d->help = k->help;
	conf_describe(k, d->values, sizeof(d->values));
	return 0;
}

int conf_print(FILE *f, const struct conf *c)
{
	struct conf defaults;

	if (!c) {
		conf_defaults(&defaults);
		c = &defaults;
	}
	return conf_table_print(&conf_table, f, c);
}
