/*
 * cmd_serve.c - `ringseed serve`: run the seeder in the foreground.
 *
 * Every option becomes a "section.key=value" override applied after the
 * configuration file, through the same key table, so the command line and
 * the file are validated alike and a reload (SIGHUP) keeps the command
 * line's word over the file's.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/cmd/cmd.h"
#include "master/proc/master.h"

#define SERVE_MAX_OVERRIDES 256

static void serve_usage(FILE *f)
{
	fprintf(f,
		"usage: ringseed serve [-c FILE] [options]\n"
		"\n"
		"Seeds every *.torrent of the torrents directory from the data directory,\n"
		"in the foreground, logging to stderr. Options override the file.\n"
		"\n"
		"  -c, --config FILE        configuration file (see ringseed print-config)\n"
		"  -l, --listen ADDR:PORT   where peers connect; repeatable ([::]:6881 for IPv6)\n"
		"  -t, --torrents DIR       the .torrent files\n"
		"  -d, --data DIR           their content: DIR/NAME for a single file,\n"
		"                           DIR/NAME/... for a directory\n"
		"  -s, --state DIR          what is remembered between runs (verified pieces)\n"
		"  -w, --workers N|auto     worker processes, one per CPU by default\n"
		"      --log-level LEVEL    debug, info, notice, warning or error\n"
		"      --send-strategy S    copy, splice or send_zc\n"
		"      --tracker-listen ADDR:PORT  run the built-in tracker there (HTTP\n"
		"                           and UDP); repeatable\n"
		"      --admin-listen ADDR:PORT  the admin endpoint (/metrics, /status,\n"
		"                           /healthz); \"\" turns it off\n"
		"  -u, --user USER          run as USER once every socket is bound\n"
		"  -o, --set SECTION.KEY=VALUE   any configuration key\n"
		"  -h, --help               this text\n"
		"\n"
		"Signals: SIGTERM or SIGINT stop (blocks in flight finish first); SIGHUP\n"
		"re-reads the configuration and the torrents directory without dropping\n"
		"peers of the torrents that stay.\n");
}

struct serve_opts {
	const char *config;
	char *ov[SERVE_MAX_OVERRIDES];
	unsigned n;
	bool listen_seen;
	bool tracker_seen;
	bool admin_seen;
};

/* Adds "key=value"; a path is made absolute, since the file wants it so. */
static int serve_push(struct serve_opts *o, const char *key, const char *value, bool path)
{
	char cwd[PATH_MAX];
	int rc;

	if (o->n == SERVE_MAX_OVERRIDES) {
		fprintf(stderr, "ringseed serve: too many options\n");
		return -1;
	}
	if (path && value[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)))
			return -1;
		rc = asprintf(&o->ov[o->n], "%s=%s/%s", key, cwd, value);
	} else {
		rc = asprintf(&o->ov[o->n], "%s=%s", key, value);
	}
	if (rc < 0)
		return -1;
	o->n++;
	return 0;
}

/* A list key (an address): the first use replaces the file's list, later ones add to it. */
static int serve_push_list(struct serve_opts *o, const char *key, bool *seen, const char *value)
{
	char more[64];
	bool first = !*seen;

	snprintf(more, sizeof(more), "+%s", key);
	*seen = true;
	return serve_push(o, first ? key : more, value, false);
}

static int serve_options(struct serve_opts *o, int argc, char **argv)
{
	enum { OPT_LOG = 256, OPT_SEND, OPT_TRACKER, OPT_ADMIN };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "torrents", required_argument, NULL, 't' },
		{ "data", required_argument, NULL, 'd' },
		{ "state", required_argument, NULL, 's' },
		{ "workers", required_argument, NULL, 'w' },
		{ "log-level", required_argument, NULL, OPT_LOG },
		{ "send-strategy", required_argument, NULL, OPT_SEND },
		{ "tracker-listen", required_argument, NULL, OPT_TRACKER },
		{ "admin-listen", required_argument, NULL, OPT_ADMIN },
		{ "user", required_argument, NULL, 'u' },
		{ "set", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt, rc = 0;

	while (rc == 0 && (opt = getopt_long(argc, argv, "c:l:t:d:s:w:o:u:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			o->config = optarg;
			break;
		case 'l':
			rc = serve_push_list(o, "net.listen", &o->listen_seen, optarg);
			break;
		case 't':
			rc = serve_push(o, "paths.torrents_dir", optarg, true);
			break;
		case 'd':
			rc = serve_push(o, "paths.data_dir", optarg, true);
			break;
		case 's':
			rc = serve_push(o, "paths.state_dir", optarg, true);
			break;
		case 'w':
			rc = serve_push(o, "core.workers", optarg, false);
			break;
		case OPT_LOG:
			rc = serve_push(o, "core.log_level", optarg, false);
			break;
		case OPT_SEND:
			rc = serve_push(o, "serve.send_strategy", optarg, false);
			break;
		case OPT_TRACKER:
			if (!o->tracker_seen)
				rc = serve_push(o, "tracker.enable", "yes", false);
			if (!rc)
				rc = serve_push_list(o, "tracker.listen", &o->tracker_seen, optarg);
			break;
		case OPT_ADMIN:
			rc = serve_push_list(o, "admin.listen", &o->admin_seen, optarg);
			break;
		case 'u':
			rc = serve_push(o, "core.user", optarg, false);
			break;
		case 'o':
			if (o->n == SERVE_MAX_OVERRIDES || !(o->ov[o->n] = strdup(optarg)))
				return 2;
			o->n++;
			break;
		case 'h':
			serve_usage(stdout);
			return -1;
		default:
			serve_usage(stderr);
			return 2;
		}
	}
	if (rc)
		return 2;
	if (optind != argc) {
		serve_usage(stderr);
		return 2;
	}
	return 0;
}

static enum log_level serve_log_level(int conf_level)
{
	static const enum log_level map[] = {
		[CONF_LOG_DEBUG] = LOG_LVL_DEBUG,   [CONF_LOG_INFO] = LOG_LVL_INFO,
		[CONF_LOG_NOTICE] = LOG_LVL_NOTICE, [CONF_LOG_WARNING] = LOG_LVL_WARN,
		[CONF_LOG_ERROR] = LOG_LVL_ERR,
	};

	return map[conf_level];
}

/*
 * Every peer is a descriptor in a worker: take the whole hard limit, and say
 * so when serve.max_peers per worker cannot be reached under it.
 */
static void serve_raise_nofile(const struct conf *c)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("raising the descriptor limit to %llu", (unsigned long long)rl.rlim_max);
	if (rl.rlim_max != RLIM_INFINITY && (rlim_t)c->max_peers + 512 > rl.rlim_max)
		log_notice("serve.max_peers = %d per worker, but a worker may hold only %llu "
			   "descriptors (RLIMIT_NOFILE): peers beyond that are refused",
			   c->max_peers, (unsigned long long)rl.rlim_max);
}

int cmd_serve(int argc, char **argv)
{
	static struct master m; /* large (pending table); one per process */
	struct serve_opts o = { 0 };
	int rc;

	rc = serve_options(&o, argc, argv);
	if (rc)
		goto out;
	if (master_load_conf(&m.conf, o.config, o.ov, o.n) != 0) {
		rc = 1;
		goto out;
	}
	log_init("ringseed", serve_log_level(m.conf.log_level));
	serve_raise_nofile(&m.conf);
	m.conf_path = o.config;
	m.overrides = o.ov;
	m.n_overrides = o.n;
	rc = master_run(&m);
out:
	for (unsigned i = 0; i < o.n; i++)
		free(o.ov[i]);
	return rc < 0 ? 0 : rc;
}
