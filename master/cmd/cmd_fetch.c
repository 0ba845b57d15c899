/*
 * cmd_fetch.c - `ringseed fetch`: get one torrent's content from its peers,
 * every piece checked, then seed it (or exit with --exit-when-done).
 *
 * Options become "section.key=value" overrides like serve's, so the file
 * and the command line are checked by the same key table. Seeding after the
 * fetch is `ringseed serve` on a torrents directory of its own under the
 * state directory (fetch-torrents/) holding a copy of this .torrent, with the
 * same data and state directories: the verify state the fetch saved lets it
 * start without hashing. While it fetches, the first listen address takes
 * peers too (fetch_listen): they get the pieces verified so far.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/cmd/cmd.h"
#include "master/cmd/cmd_magnet.h"
#include "master/content/torrent_file.h"
#include "master/fetch/fetch.h"
#include "master/proc/master.h"
#include "proto/webseed.h"

#define FETCH_MAX_OVERRIDES 128

static volatile sig_atomic_t fetch_stop;

static void fetch_on_signal(int sig)
{
	(void)sig;
	fetch_stop = 1;
}

static void fetch_usage(FILE *f)
{
	fprintf(f,
		"usage: ringseed fetch FILE.torrent|MAGNET [-c FILE] [options]\n"
		"\n"
		"Fetches the torrent's content from its peers into the data directory,\n"
		"checking every piece, then seeds it like `ringseed serve` (or exits).\n"
		"A magnet link's metadata comes first from its peers (x.pe, --peer) and\n"
		"trackers (tr), and is kept as STATE/magnet/INFOHASH.torrent.\n"
		"\n"
		"  -c, --config FILE        configuration file (see ringseed print-config)\n"
		"  -d, --data DIR           where the content goes: DIR/NAME\n"
		"  -s, --state DIR          resume state and the verified state for serve\n"
		"  -p, --peer ADDR:PORT     a peer to fetch from; repeatable (fetch.peers)\n"
		"  -w, --webseed URL        an HTTP(S) web seed besides the torrent's url-list\n"
		"                           (BEP 19); repeatable\n"
		"  -l, --listen ADDR:PORT   where peers reach us, fetching and seeding after;\n"
		"                           its port is announced\n"
		"      --exit-when-done     exit 0 once the content is complete\n"
		"  -o, --set SECTION.KEY=VALUE   any configuration key\n"
		"  -h, --help               this text\n"
		"\n"
		"Exit status: 0 complete, 1 failed or stopped (what was verified is kept,\n"
		"a new run resumes), 2 usage.\n");
}

struct fetch_cli {
	const char *config, *torrent;
	char *ov[FETCH_MAX_OVERRIDES];
	unsigned n;
	bool exit_when_done, peer_seen, listen_seen;
	const char *web[FETCH_WEB_EXTRA_MAX];
	unsigned n_web;
	const char *data, *state, *listen;
	bool magnet;
	struct magnet mg;
	struct cmd_magnet_out mo;
};

static int fetch_push(struct fetch_cli *o, const char *fmt, const char *key, const char *value)
{
	if (o->n == FETCH_MAX_OVERRIDES || asprintf(&o->ov[o->n], fmt, key, value) < 0) {
		fprintf(stderr, "ringseed fetch: too many options\n");
		return -1;
	}
	o->n++;
	return 0;
}

/* An absolute path, as the configuration wants. */
static int fetch_push_path(struct fetch_cli *o, const char *key, const char *value)
{
	char cwd[PATH_MAX], buf[2 * PATH_MAX];

	if (value[0] == '/')
		return fetch_push(o, "%s=%s", key, value);
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	snprintf(buf, sizeof(buf), "%s/%s", cwd, value);
	return fetch_push(o, "%s=%s", key, buf);
}

/* A magnet link: read now, so that a bad one is a usage error and its x.pe are peers. */
static int fetch_magnet_args(struct fetch_cli *o)
{
	struct magnet_err err;

	if (magnet_parse(o->torrent, strlen(o->torrent), &o->mg, &err) != 0) {
		fprintf(stderr, "ringseed fetch: magnet link: %s\n", err.msg);
		return 2;
	}
	o->magnet = true;
	for (unsigned i = 0; i < o->mg.n_pe; i++) {
		if (fetch_push(o, o->peer_seen ? "+%s=%s" : "%s=%s", "fetch.peers", o->mg.pe[i]))
			return 2;
		o->peer_seen = true;
	}
	return 0;
}

static int fetch_options(struct fetch_cli *o, int argc, char **argv)
{
	enum { OPT_EXIT = 256 };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "data", required_argument, NULL, 'd' },
		{ "state", required_argument, NULL, 's' },
		{ "peer", required_argument, NULL, 'p' },
		{ "webseed", required_argument, NULL, 'w' },
		{ "listen", required_argument, NULL, 'l' },
		{ "exit-when-done", no_argument, NULL, OPT_EXIT },
		{ "set", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt, rc = 0;

	while (rc == 0 && (opt = getopt_long(argc, argv, "c:d:s:p:w:l:o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			o->config = optarg;
			break;
		case 'd':
			o->data = optarg;
			rc = fetch_push_path(o, "paths.data_dir", optarg);
			break;
		case 's':
			o->state = optarg;
			rc = fetch_push_path(o, "paths.state_dir", optarg);
			break;
		case 'p':
			rc = fetch_push(o, o->peer_seen ? "+%s=%s" : "%s=%s", "fetch.peers", optarg);
			o->peer_seen = true;
			break;
		case 'w':
			if (!ws_url_usable(optarg) || o->n_web == FETCH_WEB_EXTRA_MAX) {
				fprintf(stderr, "ringseed fetch: --webseed '%s': %s\n", optarg,
					o->n_web == FETCH_WEB_EXTRA_MAX ? "too many"
									: "not an http:// or https:// URL");
				return 2;
			}
			o->web[o->n_web++] = optarg;
			break;
		case 'l':
			o->listen = optarg;
			rc = fetch_push(o, o->listen_seen ? "+%s=%s" : "%s=%s", "net.listen", optarg);
			o->listen_seen = true;
			break;
		case OPT_EXIT:
			o->exit_when_done = true;
			break;
		case 'o':
			rc = fetch_push(o, "%s%s", "", optarg);
			break;
		case 'h':
			fetch_usage(stdout);
			return -1;
		default:
			fetch_usage(stderr);
			return 2;
		}
	}
	if (rc)
		return 2;
	if (optind + 1 != argc) {
		fetch_usage(stderr);
		return 2;
	}
	o->torrent = argv[optind];
	return magnet_is_link(o->torrent) ? fetch_magnet_args(o) : 0;
}

/* STATE/fetch-torrents/NAME.torrent, a copy of the .torrent for serve to find. */
static int fetch_stage(const struct conf *c, const struct metainfo *mi, const uint8_t *raw,
		       size_t len, char *dir, size_t cap)
{
	char path[2 * PATH_MAX + 64];
	FILE *f;

	if ((size_t)snprintf(dir, cap, "%s/fetch-torrents", c->state_dir) >= cap)
		return -ENAMETOOLONG;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s.torrent", dir, mi->name);
	f = fopen(path, "wbe");
	if (!f)
		return -errno;
	if (fwrite(raw, 1, len, f) != len) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) == 0 ? 0 : -errno;
}

/* Seeds what was fetched: `ringseed serve` with the same directories. */
static int fetch_then_serve(struct fetch_cli *o, const struct conf *c, const struct metainfo *mi,
			    const uint8_t *raw, size_t len)
{
	char dir[PATH_MAX + 32], targ[PATH_MAX + 64];
	char *argv[16 + 2 * FETCH_MAX_OVERRIDES];
	int argc = 0, rc;

	rc = fetch_stage(c, mi, raw, len, dir, sizeof(dir));
	if (rc) {
		log_errx("fetch: %s: staging the .torrent for serve: %s", dir, strerror(-rc));
		return 1;
	}
	snprintf(targ, sizeof(targ), "paths.torrents_dir=%s", dir);
	argv[argc++] = "serve";
	if (o->config) {
		argv[argc++] = "-c";
		argv[argc++] = (char *)o->config;
	}
	for (unsigned i = 0; i < o->n; i++) {
		argv[argc++] = "-o";
		argv[argc++] = o->ov[i];
	}
	argv[argc++] = "-o";
	argv[argc++] = targ;
	argv[argc] = NULL;
	optind = 0; /* glibc: start getopt afresh for serve's options */
	return cmd_serve(argc, argv);
}

/*
 * The first listen address, for peers while we fetch; -1 if it cannot be
 * had (a seeder on it already, say): the fetch goes on without, outbound.
 */
static int fetch_listen(const struct conf *c)
{
	const struct conf_addr *a = &c->listen.addr[0];
	int one = 1, fd;

	if (c->listen.n == 0)
		return -1;
	fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &a->sa, a->len) != 0 || listen(fd, 64) != 0) {
		log_info("fetch: no listener while fetching (%s): outbound peers only",
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int fetch_go(struct fetch_cli *o, struct conf *c)
{
	struct metainfo mi;
	struct fetch_result res;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	char err[512];
	int data_fd, state_fd, rc = 1;

	if (o->magnet) {
		if (cmd_magnet_torrent(&o->mg, c, &fetch_stop, &o->mo) != 0)
			return 1;
		o->torrent = o->mo.path;
	}
	if (torrent_file_load_raw(o->torrent, &mi, &raw, &raw_len, err, sizeof(err)) != 0) {
		log_errx("fetch: %s", err);
		return 1;
	}
	data_fd = open(c->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	state_fd = open(c->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (data_fd < 0 || state_fd < 0) {
		log_errx("fetch: %s: %s", data_fd < 0 ? c->data_dir : c->state_dir, strerror(errno));
		goto out;
	}
	struct fetch_opts fo = { .mi = &mi,
				 .data_dirfd = data_fd,
				 .state_dirfd = state_fd,
				 .conf = c,
				 .port = c->announce ? fetch_announce_port(c) : 0,
				 .webseeds = o->web,
				 .n_webseeds = o->n_web,
				 .banned = o->mo.banned,
				 .n_banned = o->mo.n_banned,
				 .stop = &fetch_stop,
				 .channel_fd = -1,
				 .listen_fd = fetch_listen(c) };
	/* A full disk: --exit-when-done exits 1 at once; otherwise it waits for room. */
	rc = o->exit_when_done ? fetch_run(&fo, &res, err, sizeof(err))
			       : fetch_run_waiting(&fo, &res, err, sizeof(err));
	if (fo.listen_fd >= 0)
		close(fo.listen_fd); /* serve binds it again */
	if (rc) {
		log_errx("fetch: %s", err);
		rc = 1;
	} else if (!o->exit_when_done) {
		close(data_fd);
		close(state_fd);
		data_fd = state_fd = -1;
		rc = fetch_then_serve(o, c, &mi, raw, raw_len);
	}
out:
	if (data_fd >= 0)
		close(data_fd);
	if (state_fd >= 0)
		close(state_fd);
	free(raw);
	mi_free(&mi);
	return rc;
}

int cmd_fetch(int argc, char **argv)
{
	static struct conf c;
	struct fetch_cli o = { 0 };
	struct sigaction sa = { .sa_handler = fetch_on_signal };
	int rc;

	rc = fetch_options(&o, argc, argv);
	if (rc)
		goto out;
	if (master_load_conf(&c, o.config, o.ov, o.n) != 0) {
		rc = 2;
		goto out;
	}
	if (c.log_level == CONF_LOG_DEBUG)
		log_init("ringseed", LOG_LVL_DEBUG);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = fetch_go(&o, &c);
out:
	for (unsigned i = 0; i < o.n; i++)
		free(o.ov[i]);
	return rc < 0 ? 0 : rc;
}
