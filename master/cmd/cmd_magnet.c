/*
 * cmd_magnet.c - a magnet link made into a .torrent; see cmd_magnet.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/cmd/cmd_magnet.h"
#include "master/content/torrent_file.h"
#include "master/fetch/fetch.h"
#include "master/fetch/fetch_meta.h"

#define CMD_MAGNET_META_TIMEOUT_MS 0 /* wait for peers as the fetch does; a signal stops it */

static void magnet_hex(const uint8_t *h, char out[41])
{
	for (int i = 0; i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* d8:announce..13:announce-list l l tr e ... e 4:info <info> e: one tier per tr (BEP 12). */
static uint8_t *magnet_torrent(const struct magnet *mg, const uint8_t *info, size_t info_len,
			       size_t *len)
{
	size_t cap = info_len + 64 + mg->n_tr * (MAGNET_URL_MAX + 24) + MAGNET_URL_MAX;
	char *out = malloc(cap);
	size_t n = 0;

	if (!out)
		return NULL;
	n += (size_t)sprintf(out + n, "d");
	if (mg->n_tr) {
		n += (size_t)sprintf(out + n, "8:announce%zu:%s13:announce-listl", strlen(mg->tr[0]),
				     mg->tr[0]);
		for (unsigned i = 0; i < mg->n_tr; i++)
			n += (size_t)sprintf(out + n, "l%zu:%se", strlen(mg->tr[i]), mg->tr[i]);
		n += (size_t)sprintf(out + n, "e");
	}
	n += (size_t)sprintf(out + n, "4:info");
	memcpy(out + n, info, info_len);
	n += info_len;
	out[n++] = 'e';
	*len = n;
	return (uint8_t *)out;
}

static int magnet_write(const char *path, const uint8_t *buf, size_t len)
{
	char tmp[PATH_MAX + 72];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wbe");
	if (!f)
		return -errno;
	if (fwrite(buf, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		unlink(tmp);
		return -EIO;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return -errno;
	return 0;
}

/* The .torrent from an earlier run, if it is there and is this torrent. */
static bool magnet_known(const struct magnet *mg, const char *path)
{
	struct metainfo mi;
	char err[256];
	bool same;

	if (access(path, R_OK) != 0 || torrent_file_load(path, &mi, err, sizeof(err)) != 0)
		return false;
	same = memcmp(mi.info_hash, mg->info_hash, 20) == 0;
	mi_free(&mi);
	return same;
}

static void magnet_log(const char *hex, const struct fmeta_result *r, size_t len, int rc)
{
	char line[384];
	size_t n = 0;

	for (int i = 0; i < FMC_MAX && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%llu", fmeta_counter_name(i),
				      (unsigned long long)r->c[i]);
	log_notice("fetch: magnet %s: metadata %s (%zu bytes) in %.1f s:%s", hex,
		   rc == 0 ? "complete" : "stopped", len, r->seconds, line);
}

static int magnet_fetch_meta(const struct magnet *mg, const struct conf *c,
			     volatile sig_atomic_t *stop, const char *hex, struct cmd_magnet_out *out)
{
	const char *tr[MAGNET_TR_MAX];
	struct fmeta_opts o = { .info_hash = mg->info_hash, .peers = c->fetch_peers.addr,
				.n_peers = c->fetch_peers.n, .trackers = tr, .n_trackers = mg->n_tr,
				.port = c->announce ? fetch_announce_port(c) : 0,
				.timeout_ms = CMD_MAGNET_META_TIMEOUT_MS, .stop = stop };
	struct fmeta_result res;
	struct metainfo mi;
	struct mi_err merr;
	uint8_t *info = NULL, *raw = NULL;
	size_t info_len = 0, raw_len = 0;
	char err[256];
	int rc;

	for (unsigned i = 0; i < mg->n_tr; i++)
		tr[i] = mg->tr[i];
	rc = fmeta_run(&o, &info, &info_len, &res, err, sizeof(err));
	magnet_log(hex, &res, info_len, rc);
	for (unsigned i = 0; i < res.n_banned && i < sizeof(out->banned) / sizeof(out->banned[0]); i++)
		out->banned[out->n_banned++] = res.banned[i];
	if (rc) {
		log_errx("fetch: magnet %s: %s", hex, err);
		return rc;
	}
	raw = magnet_torrent(mg, info, info_len, &raw_len);
	free(info);
	if (!raw)
		return -ENOMEM;
	rc = mi_parse(raw, raw_len, &mi, &merr);
	if (rc == 0 && memcmp(mi.info_hash, mg->info_hash, 20) != 0)
		rc = -EINVAL; /* cannot be: the SHA-1 was checked; a parser disagreement */
	if (rc) {
		log_errx("fetch: magnet %s: the metadata is not a usable info dictionary: %s", hex,
			 rc == -EINVAL ? merr.msg : strerror(-rc));
		free(raw);
		return rc;
	}
	mi_free(&mi);
	rc = magnet_write(out->path, raw, raw_len);
	free(raw);
	if (rc)
		log_errx("fetch: magnet %s: writing %s: %s", hex, out->path, strerror(-rc));
	return rc;
}

int cmd_magnet_torrent(const struct magnet *mg, const struct conf *c,
		       volatile sig_atomic_t *stop, struct cmd_magnet_out *out)
{
	char *path = out->path;
	size_t cap = sizeof(out->path);

	char hex[41], dir[PATH_MAX];

	if (!mg->has_v1) {
		log_errx("fetch: a v2-only magnet (urn:btmh:): fetch checks metadata and pieces by "
			 "SHA-1, so it needs the urn:btih: of a v1 or hybrid torrent");
		return -EINVAL;
	}
	magnet_hex(mg->info_hash, hex);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/magnet", c->state_dir) >= sizeof(dir) ||
	    (size_t)snprintf(path, cap, "%s/%s.torrent", dir, hex) >= cap)
		return -ENAMETOOLONG;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		log_errx("fetch: %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (magnet_known(mg, path)) {
		log_notice("fetch: magnet %s: metadata from an earlier run (%s)", hex, path);
		return 0;
	}
	return magnet_fetch_meta(mg, c, stop, hex, out);
}
