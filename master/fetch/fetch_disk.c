/*
 * fetch_disk.c - a fetch stopped by a full disk, and how it goes on.
 *
 * A full disk (ENOSPC, or EDQUOT for a quota) shows up either when the
 * files are preallocated (fst_open, fetch.preallocate = full) or as a failed
 * write of a verified piece (sparse files). Either way fetch_run stops: the
 * piece whose write failed is not marked, every piece marked before was
 * written and synced before its bit reached the .fetch state (fst_save), so
 * the state never claims more than the disk holds. fetch_run_waiting then
 * says so once, waits for room and runs again: the files are there at full
 * size, the .fetch state is loaded, and only the missing pieces are fetched.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "iocore/clock.h"
#include "iocore/log.h"
#include "master/fetch/fetch_int.h"

#define FDISK_POLL_MS 100 /* how often the stop flag is looked at while waiting */

void fetch_fail_text(const struct fetch *f, int rc, int save_rc, char *err, size_t errlen)
{
	const struct metainfo *mi = f->mi;
	char where[MI_MAX_PATH + MI_MAX_COMPONENT + 64] = "";
	char kept[96];

	if (save_rc)
		snprintf(kept, sizeof(kept), "%u of %u pieces verified; saving the .fetch state: %s",
			 f->n_have, mi->piece_count, strerror(-save_rc));
	else
		snprintf(kept, sizeof(kept), "%u of %u pieces verified and kept", f->n_have,
			 mi->piece_count);
	if (rc == -EINTR) {
		snprintf(err, errlen, "%s: stopped (%s)", mi->name, kept);
		return;
	}
	if (f->fail && rc == f->fail) {
		uint32_t i = f->fail_file;

		if (i < mi->file_count && mi->multi_file)
			snprintf(where, sizeof(where), "writing %s/%s (piece %u): ", mi->name,
				 mi->files[i].path, f->fail_piece);
		else if (i < mi->file_count)
			snprintf(where, sizeof(where), "writing %s (piece %u): ", mi->name,
				 f->fail_piece);
		else
			snprintf(where, sizeof(where), "writing piece %u: ", f->fail_piece);
	}
	snprintf(err, errlen, "%s: %s%s (%s)", mi->name, where, strerror(-rc), kept);
}

/* Whether the data directory's filesystem has room for one more piece. */
static bool fdisk_room(const struct fetch_opts *o)
{
	struct statvfs sv;

	if (fstatvfs(o->data_dirfd, &sv) != 0)
		return true; /* cannot tell: trying costs one failed attempt */
	return (uint64_t)sv.f_bavail * sv.f_frsize >= o->mi->piece_length;
}

/* Sleeps until the next try; -EINTR once stopped. */
static int fdisk_wait(const struct fetch_opts *o)
{
	uint64_t until = clock_ms() + (uint64_t)o->conf->fetch_disk_retry * 1000u;

	for (;;) {
		if (*o->stop)
			return -EINTR;
		if (clock_ms() >= until) {
			if (fdisk_room(o))
				return 0;
			until = clock_ms() + (uint64_t)o->conf->fetch_disk_retry * 1000u;
		}
		usleep(FDISK_POLL_MS * 1000);
	}
}

int fetch_run_waiting(const struct fetch_opts *o, struct fetch_result *res, char *err,
		      size_t errlen)
{
	char last[512] = "";
	int rc;

	for (;;) {
		rc = fetch_run(o, res, err, errlen);
		if (!fetch_disk_full(rc))
			return rc;
		/* The same failure again (no room yet for what it needs) is not news. */
		if (strcmp(last, err) != 0)
			log_errx("fetch: %s; the fetch stops and tries again every %d s", err,
				 o->conf->fetch_disk_retry);
		snprintf(last, sizeof(last), "%s", err);
		rc = fdisk_wait(o);
		if (rc) {
			snprintf(err, errlen, "%s: stopped while waiting for disk space", o->mi->name);
			return rc;
		}
		log_info("fetch: %s: trying again (%s)", o->mi->name, "disk space");
	}
}
