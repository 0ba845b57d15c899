/*
 * registry.c - the torrents the master serves; see registry.h.
 *
 * A scan lists *.torrent in name order, marks the registered torrents it
 * finds again (same path, same info-hash), loads and verifies the new ones,
 * and removes the unmarked. A .torrent whose inode, size, mtime and ctime
 * are those it had when it was read is not read again, so a change in a
 * directory of 10,000 torrents costs 10,000 stat calls, not 10,000 parses.
 * The first scan verifies new content itself (in the master's start-up
 * thread); later ones, with defer set, leave it to the master's background
 * checks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/content/registry.h"
#include "master/content/torrent_file.h"
#include "master/content/verify.h"

#define REG_MAX_TORRENTS 1000000

int reg_init(struct registry *r, const char *data_dir, const char *state_dir, char *err,
	     size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->state_dirfd = -1;
	r->progress = isatty(STDERR_FILENO);
	r->data_dirfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->data_dirfd < 0) {
		snprintf(err, errlen, "data directory %s: %s", data_dir, strerror(errno));
		return -errno;
	}
	if (mkdir(state_dir, 0755) != 0 && errno != EEXIST)
		log_warn("state directory %s: cannot create it; every start will hash", state_dir);
	r->state_dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->state_dirfd < 0)
		log_warn("state directory %s: every start will hash", state_dir);
	return 0;
}

void reg_torrent_free(struct torrent *t)
{
	if (!t)
		return;
	mi_free(&t->mi);
	free(t->raw);
	free(t->have);
	free(t->path);
	free(t);
}

static void reg_incomplete_clear(struct registry *r)
{
	for (uint32_t i = 0; i < r->n_incomplete; i++)
		free(r->incomplete[i]);
	free(r->incomplete);
	r->incomplete = NULL;
	r->n_incomplete = 0;
}

static void reg_incomplete_add(struct registry *r, const char *path)
{
	char **a = realloc(r->incomplete, (r->n_incomplete + 1) * sizeof(*a));

	if (!a)
		return;
	r->incomplete = a;
	if ((a[r->n_incomplete] = strdup(path)))
		r->n_incomplete++;
}

/* STATE/<hash>.fetch: a fetch started and did not finish; its files are not content yet. */
static bool reg_fetching(const struct registry *r, const struct torrent *t)
{
	char name[VERIFY_STATE_NAME_LEN + 8];

	if (r->state_dirfd < 0)
		return false;
	mi_hex(t->mi.info_hash, name);
	strcat(name, ".fetch");
	return faccessat(r->state_dirfd, name, F_OK, 0) == 0;
}

void reg_close(struct registry *r)
{
	for (uint32_t i = 0; i < r->n; i++)
		reg_torrent_free(r->t[i]);
	free(r->t);
	free(r->index);
	reg_incomplete_clear(r);
	if (r->data_dirfd >= 0)
		close(r->data_dirfd);
	if (r->state_dirfd >= 0)
		close(r->state_dirfd);
	memset(r, 0, sizeof(*r));
}

static uint32_t reg_slot(const uint8_t *h, uint32_t cap)
{
	uint32_t x;

	memcpy(&x, h, sizeof(x)); /* the info-hash is already uniformly random */
	return x & (cap - 1);
}

/*
 * A hybrid is found by either of its info-hashes: the v1 one and the v2 one
 * cut to 20 bytes (BEP 52), so it has two index entries.
 */
static bool reg_known_as(const struct torrent *t, const uint8_t h[MI_HASH_LEN])
{
	return memcmp(t->mi.info_hash, h, MI_HASH_LEN) == 0 ||
	       (t->mi.format == MI_FORMAT_HYBRID && memcmp(t->mi.info_hash_v2, h, MI_HASH_LEN) == 0);
}

struct torrent *reg_find(const struct registry *r, const uint8_t info_hash[MI_HASH_LEN])
{
	if (!r->index_cap)
		return NULL;
	for (uint32_t i = reg_slot(info_hash, r->index_cap);; i = (i + 1) & (r->index_cap - 1)) {
		struct torrent *t = r->index[i];

		if (!t)
			return NULL;
		if (reg_known_as(t, info_hash))
			return t;
	}
}

static void reg_put(struct torrent **index, uint32_t cap, struct torrent *t)
{
	for (int k = 0; k < (t->mi.format == MI_FORMAT_HYBRID ? 2 : 1); k++) {
		uint32_t i = reg_slot(k ? t->mi.info_hash_v2 : t->mi.info_hash, cap);

		while (index[i])
			i = (i + 1) & (cap - 1);
		index[i] = t;
	}
}

/* Rebuilds the index from r->t, at least twice as large as its entries (two per hybrid). */
static int reg_reindex(struct registry *r)
{
	uint32_t cap = 16;
	struct torrent **index;

	while (cap < 4 * r->n + 4)
		cap *= 2;
	index = calloc(cap, sizeof(*index));
	if (!index)
		return -ENOMEM;
	for (uint32_t k = 0; k < r->n; k++)
		reg_put(index, cap, r->t[k]);
	free(r->index);
	r->index = index;
	r->index_cap = cap;
	return 0;
}

/* Adds the last torrent of r->t to the index, growing it when half full. */
static int reg_index_last(struct registry *r)
{
	if (4 * r->n + 4 > r->index_cap)
		return reg_reindex(r);
	reg_put(r->index, r->index_cap, r->t[r->n - 1]);
	return 0;
}

void reg_bad_piece(void *arg, uint32_t piece, const char *path, uint64_t offset)
{
	const struct torrent *t = arg;

	log_warnx("torrent %s: piece %u bad (%s at offset %llu); it will not be served", t->mi.name,
		  piece, path, (unsigned long long)offset);
}

/* The lines a finished check of t logs (also after a recheck, from the master). */
void reg_report(const struct torrent *t, const struct verify_report *rep)
{
	char hex[41];

	mi_hex(t->mi.info_hash, hex);
	if (rep->state_write_failed)
		log_warnx("torrent %s: could not save its state (%s); the next start hashes again",
			  t->mi.name, strerror(rep->state_write_errno));
	if (rep->reused)
		log_notice("torrent %s: verified from state", t->mi.name);
	else
		log_notice("torrent %s: hashed %u pieces (%s) in %.2f s (%u good, %u bad), "
			   "%.2f CPU-s on %u threads",
			   t->mi.name, rep->hashed, rep->hash_set ? rep->hash_set : "-", rep->seconds,
			   rep->good, rep->bad, rep->cpu_seconds, rep->threads_used);
	log_notice("torrent %s %s: %llu bytes, %u pieces, seeding%s", t->mi.name, hex,
		   (unsigned long long)t->mi.total_length, t->mi.piece_count,
		   t->mi.format == MI_FORMAT_V2	    ? " (v2)" :
		   t->mi.format == MI_FORMAT_HYBRID ? " (hybrid)" :
						      "");
}

int64_t reg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Checks t's content; logs the outcome line. Returns 0 if it can be served. */
static int reg_verify(struct registry *r, struct torrent *t)
{
	struct verify_opts o = { .data_dirfd = r->data_dirfd,
				 .state_dirfd = r->state_dirfd,
				 .progress = r->progress,
				 .no_dir_sync = true, /* once, at the end of the scan */
				 .bad_piece = reg_bad_piece,
				 .arg = t };
	struct verify_report rep;
	char err[512], hex[41];
	int rc;

	mi_hex(t->mi.info_hash, hex);
	t->have_len = verify_bitfield_len(t->mi.piece_count);
	t->have = calloc(1, t->have_len);
	if (!t->have)
		return -ENOMEM;
	t->checked_ns = reg_now_ns();
	rc = verify_torrent(&t->mi, &o, t->have, &rep, err, sizeof(err));
	if (rc) {
		log_errx("torrent %s %s: not served: %s", t->mi.name, hex, err);
		return rc;
	}
	t->good = rep.good;
	if (rep.bad && r->repair && r->repair(r->repair_arg, &t->mi)) {
		log_notice("torrent %s: %u of %u pieces bad; not served until they are fetched "
			   "again", t->mi.name, rep.bad, t->mi.piece_count);
		return -EBADMSG;
	}
	reg_report(t, &rep);
	return 0;
}

static void reg_file_id(struct torrent *t, const struct stat *st)
{
	t->file_ino = st->st_ino;
	t->file_dev = st->st_dev;
	t->file_size = st->st_size;
	t->file_mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	t->file_ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

static bool reg_file_same(const struct torrent *t, const struct stat *st)
{
	return t->file_ino == st->st_ino && t->file_dev == st->st_dev &&
	       t->file_size == st->st_size &&
	       t->file_mtime_ns == (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec &&
	       t->file_ctime_ns == (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

/* A torrent left for a background check: no piece yet, paused. */
static int reg_defer(struct torrent *t)
{
	t->have_len = verify_bitfield_len(t->mi.piece_count);
	t->have = calloc(1, t->have_len);
	t->paused = true;
	return t->have ? 0 : -ENOMEM;
}

/* Loads one .torrent file; NULL (logged) if it cannot be served. */
static struct torrent *reg_load(struct registry *r, const char *path)
{
	struct torrent *t = calloc(1, sizeof(*t));
	struct stat st;
	char err[512];
	int rc;

	if (!t || !(t->path = strdup(path))) {
		free(t);
		log_errx("%s: out of memory", path);
		return NULL;
	}
	if (stat(path, &st) == 0) /* before reading: a change after it is seen next time */
		reg_file_id(t, &st);
	if (torrent_file_load_raw(path, &t->mi, &t->raw, &t->raw_len, err, sizeof(err)) != 0) {
		log_errx("torrent file %s", err);
		free(t->path);
		free(t);
		return NULL;
	}
	if (t->mi.warning_count)
		log_warnx("torrent file %s: %s", path, t->mi.warning);
	if (reg_find(r, t->mi.info_hash) ||
	    (t->mi.format == MI_FORMAT_HYBRID && reg_find(r, t->mi.info_hash_v2))) {
		log_warnx("torrent file %s: same info-hash as one already loaded; skipped", path);
		goto fail;
	}
	if (reg_fetching(r, t)) {
		log_notice("torrent %s: incomplete (a fetch is under way); not served yet",
			   t->mi.name);
		reg_incomplete_add(r, path);
		goto fail;
	}
	if (r->defer) { /* checked off the loop later; only see now if there is content */
		rc = verify_present(&t->mi, r->data_dirfd, err, sizeof(err));
		if (rc)
			log_errx("torrent %s: not served: %s", t->mi.name, err);
		else
			rc = reg_defer(t);
	} else {
		rc = reg_verify(r, t);
	}
	if (rc == -ENOENT || rc == -EIO || rc == -EBADMSG) /* missing, short or bad: to fetch */
		reg_incomplete_add(r, path);
	if (rc)
		goto fail;
	t->id = r->next_id++;
	return t;
fail:
	reg_torrent_free(t);
	return NULL;
}

static int reg_push(struct torrent ***arr, uint32_t *n, struct torrent *t)
{
	struct torrent **a = realloc(*arr, (*n + 1) * sizeof(**arr));

	if (!a)
		return -ENOMEM;
	a[(*n)++] = t;
	*arr = a;
	return 0;
}

static int reg_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.torrent names in dir, sorted (so loading order is predictable). */
static int reg_list(const char *dir, char ***names, uint32_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t len;

	*names = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		len = strlen(de->d_name);
		if (len <= 8 || strcmp(de->d_name + len - 8, ".torrent") != 0 ||
		    *n >= REG_MAX_TORRENTS)
			continue;
		char **a = realloc(*names, (*n + 1) * sizeof(*a));
		if (!a || asprintf(&a[*n], "%s/%s", dir, de->d_name) < 0) {
			*names = a ? a : *names;
			closedir(d);
			return -ENOMEM;
		}
		*names = a;
		(*n)++;
	}
	closedir(d);
	if (*n > 1) /* an empty directory leaves *names NULL, which qsort may not take */
		qsort(*names, *n, sizeof(**names), reg_name_cmp);
	return 0;
}

static int reg_path_cmp(const void *a, const void *b)
{
	return strcmp((*(struct torrent *const *)a)->path, (*(struct torrent *const *)b)->path);
}

/* A registered torrent still at path (by_path: the registry sorted by path), unchanged: keep it. */
static struct torrent *reg_same(struct torrent **by_path, uint32_t n, const char *path)
{
	struct torrent key = { .path = (char *)path }, *kp = &key, **hit;
	struct torrent *t;
	struct metainfo mi;
	uint8_t *raw = NULL;
	size_t len = 0;
	struct stat st;
	char err[256];
	bool same;

	hit = n ? bsearch(&kp, by_path, n, sizeof(*by_path), reg_path_cmp) : NULL;
	if (!hit)
		return NULL;
	t = *hit;
	if (stat(path, &st) != 0)
		return NULL;
	if (reg_file_same(t, &st))
		return t;
	if (torrent_file_load_raw(path, &mi, &raw, &len, err, sizeof(err)) != 0)
		return NULL;
	same = len == t->raw_len && memcmp(raw, t->raw, len) == 0;
	mi_free(&mi);
	free(raw);
	if (same) /* touched, or rewritten with the same bytes */
		reg_file_id(t, &st);
	return same ? t : NULL;
}

static int reg_drop_unseen(struct registry *r, struct reg_diff *d)
{
	uint32_t kept = 0;
	int rc = 0;

	for (uint32_t i = 0; i < r->n; i++) {
		if (r->t[i]->seen)
			r->t[kept++] = r->t[i];
		else if (reg_push(&d->removed, &d->n_removed, r->t[i]))
			rc = -ENOMEM;
	}
	r->n = kept;
	return rc;
}

int reg_scan(struct registry *r, const char *dir, struct reg_diff *d)
{
	struct torrent **by_path;
	uint32_t n_by_path;
	char **names;
	uint32_t n;
	int rc;

	memset(d, 0, sizeof(*d));
	rc = reg_list(dir, &names, &n);
	if (rc) {
		log_errx("torrents directory %s: %s", dir, strerror(-rc));
		return rc;
	}
	for (uint32_t i = 0; i < r->n; i++)
		r->t[i]->seen = false;
	by_path = r->n ? malloc(r->n * sizeof(*by_path)) : NULL;
	n_by_path = by_path ? r->n : 0;
	if (by_path) {
		memcpy(by_path, r->t, r->n * sizeof(*by_path));
		qsort(by_path, n_by_path, sizeof(*by_path), reg_path_cmp);
	}
	reg_incomplete_clear(r);
	for (uint32_t i = 0; i < n && !rc; i++) {
		struct torrent *t = reg_same(by_path, n_by_path, names[i]);

		if (t) {
			t->seen = true;
			continue;
		}
		t = reg_load(r, names[i]);
		if (!t) {
			d->failed++;
			continue;
		}
		t->seen = true;
		if (reg_push(&r->t, &r->n, t) || reg_push(&d->added, &d->n_added, t) ||
		    reg_index_last(r))
			rc = -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(by_path);
	if (d->n_added && !r->defer && r->state_dirfd >= 0 && fsync(r->state_dirfd) != 0)
		log_warn("fsync of the state directory");
	if (!rc)
		rc = reg_drop_unseen(r, d);
	if (!rc)
		rc = reg_reindex(r);
	return rc;
}

void reg_diff_free(struct reg_diff *d)
{
	free(d->added);
	free(d->removed);
	memset(d, 0, sizeof(*d));
}
