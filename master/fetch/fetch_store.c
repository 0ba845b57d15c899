/*
 * fetch_store.c - the fetcher's files and its resume state.
 *
 * Content goes where the seeder looks for it (verify.h): DATA/NAME for a
 * single-file torrent, DATA/NAME/<path> for a multi-file one; pad files are
 * never on disk. Each file is opened read-write and preallocated to its
 * length (fallocate; a filesystem without it gets a sparse file of the right
 * size), so a disk that is too small fails at start, not halfway; with
 * fetch.preallocate = sparse, files only get their size and a full disk
 * shows up as a failed write (fetch.c).
 *
 * Resume: STATE/<info-hash hex>.fetch, bencoded, replaced atomically:
 *   d 4:have <bitfield> 9:info-hash <20 bytes> 11:piece count i<n>e
 *     12:piece length i<n>e 7:version i1e e
 * A bit is set only after its piece was verified and its writes completed
 * and the files were fdatasync'd, so the bitfield never claims more than the
 * disk holds. Without a usable .fetch file, content already complete in
 * size is checked by verify_torrent() (which reuses a verify state), and a
 * torrent with missing or short files starts from nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/content/verify.h"
#include "master/fetch/fetch_int.h"
#include "proto/bencode.h"

#define FST_VERSION   1
#define FST_STATE_CAP 4096 /* beyond the bitfield */

static void fst_name(const struct metainfo *mi, char *out, size_t cap, const char *suffix)
{
	char hex[2 * MI_HASH_LEN + 1];

	mi_hex(mi->info_hash, hex);
	snprintf(out, cap, "%s%s", hex, suffix);
}

/* The file's path relative to the data directory, into buf. */
static int fst_path(const struct metainfo *mi, uint32_t i, char *buf, size_t cap)
{
	int n = mi->multi_file ? snprintf(buf, cap, "%s/%s", mi->name, mi->files[i].path)
			       : snprintf(buf, cap, "%s", mi->name);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* mkdir -p of every directory above path (relative to dirfd). */
static int fst_mkdirs(int dirfd, char *path)
{
	for (char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdirat(dirfd, path, 0755) != 0 && errno != EEXIST) {
			int rc = -errno;

			*s = '/';
			return rc;
		}
		*s = '/';
	}
	return 0;
}

static int fst_open_one(struct fetch_store *s, uint32_t i, char *err, size_t errlen)
{
	const struct mi_file *f = &s->mi->files[i];
	char path[MI_MAX_PATH + MI_MAX_COMPONENT + 2];
	struct stat st;
	int fd, rc;

	s->fds[i] = -1;
	if (f->pad)
		return 0;
	rc = fst_path(s->mi, i, path, sizeof(path));
	if (rc == 0)
		rc = fst_mkdirs(s->data_dirfd, path);
	if (rc) {
		snprintf(err, errlen, "%s: cannot make its directory: %s", path, strerror(-rc));
		return rc;
	}
	fd = openat(s->data_dirfd, path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (s->create ? O_CREAT : 0),
		    0644);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	s->fds[i] = fd;
	if ((uint64_t)st.st_size == f->length)
		return 0;
	if (!s->create) {
		snprintf(err, errlen, "%s: size is %lld bytes, expected %llu", path,
			 (long long)st.st_size, (unsigned long long)f->length);
		return -ENOENT;
	}
	s->all_present = false;
	if ((uint64_t)st.st_size > f->length && ftruncate(fd, (off_t)f->length) != 0)
		rc = -errno;
	else if (s->sparse || fallocate(fd, 0, 0, (off_t)f->length) != 0)
		rc = (s->sparse || errno == EOPNOTSUPP) && ftruncate(fd, (off_t)f->length) == 0
			     ? 0
			     : -errno;
	if (rc)
		snprintf(err, errlen, "%s: preallocating %s (%llu bytes): %s", s->mi->name, path,
			 (unsigned long long)f->length, strerror(-rc));
	return rc;
}

int fst_open(struct fetch_store *s, const struct metainfo *mi, int data_dirfd, int state_dirfd,
	     bool create, bool sparse, char *err, size_t errlen)
{
	int rc = 0;

	*s = (struct fetch_store){ .mi = mi,
				   .create = create,
				   .sparse = sparse,
				   .data_dirfd = data_dirfd,
				   .state_dirfd = state_dirfd,
				   .all_present = true,
				   .bf_len = verify_bitfield_len(mi->piece_count) };
	s->fds = malloc(mi->file_count * sizeof(*s->fds));
	s->have = calloc(1, s->bf_len);
	if (!s->fds || !s->have) {
		snprintf(err, errlen, "out of memory");
		free(s->fds);
		free(s->have);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < mi->file_count; i++)
		s->fds[i] = -1;
	for (uint32_t i = 0; i < mi->file_count && rc == 0; i++)
		rc = fst_open_one(s, i, err, errlen);
	if (rc)
		fst_close(s);
	return rc;
}

void fst_close(struct fetch_store *s)
{
	if (!s->fds)
		return;
	for (uint32_t i = 0; i < s->mi->file_count; i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	free(s->fds);
	free(s->have);
	s->fds = NULL;
	s->have = NULL;
}

static bool fst_bits_clean(const struct fetch_store *s, const uint8_t *bits)
{
	uint32_t spare = (uint32_t)(s->bf_len * 8 - s->mi->piece_count);

	return spare == 0 || (bits[s->bf_len - 1] & ((1u << spare) - 1)) == 0;
}

static int fst_parse(struct fetch_store *s, const uint8_t *buf, size_t len)
{
	struct bc_val root, v;
	struct bc_err e;

	if (bc_parse(buf, len, 0, &root, &e) != 0 || root.type != BC_DICT)
		return -EINVAL;
	if (!bc_dict_get_type(&root, "version", BC_INT, &v) || v.num != FST_VERSION)
		return -EINVAL;
	if (!bc_dict_get_type(&root, "info-hash", BC_STR, &v) || v.str_len != MI_HASH_LEN ||
	    memcmp(v.str, s->mi->info_hash, MI_HASH_LEN) != 0)
		return -EINVAL;
	if (!bc_dict_get_type(&root, "piece count", BC_INT, &v) || v.num != s->mi->piece_count)
		return -EINVAL;
	if (!bc_dict_get_type(&root, "piece length", BC_INT, &v) || v.num != s->mi->piece_length)
		return -EINVAL;
	if (!bc_dict_get_type(&root, "have", BC_STR, &v) || v.str_len != s->bf_len ||
	    !fst_bits_clean(s, v.str))
		return -EINVAL;
	memcpy(s->have, v.str, s->bf_len);
	return 0;
}

/* The .fetch state, if there is one that fits this torrent. */
static int fst_load(struct fetch_store *s)
{
	char name[64];
	size_t cap = s->bf_len + FST_STATE_CAP, len = 0;
	uint8_t *buf;
	ssize_t n;
	int fd, rc;

	if (s->state_dirfd < 0)
		return -ENOENT;
	fst_name(s->mi, name, sizeof(name), ".fetch");
	fd = openat(s->state_dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	close(fd);
	rc = len < cap ? fst_parse(s, buf, len) : -EFBIG;
	if (rc)
		log_warnx("fetch: %s: not usable, ignored (every piece is fetched or checked again)",
			  name);
	free(buf);
	return rc;
}

int fst_resume(struct fetch_store *s, uint32_t *count)
{
	struct verify_opts o = { .data_dirfd = s->data_dirfd, .state_dirfd = s->state_dirfd };
	struct verify_report rep;
	char err[256];
	int rc = -ENOENT;

	/* Files that had to be created or grown hold nothing a state could vouch for. */
	if (s->all_present)
		rc = fst_load(s);
	if (rc && s->all_present) {
		rc = verify_torrent(s->mi, &o, s->have, &rep, err, sizeof(err));
		if (rc) {
			memset(s->have, 0, s->bf_len);
			log_warnx("fetch: %s: checking what is there: %s", s->mi->name, err);
		}
	}
	*count = 0;
	for (uint32_t p = 0; p < s->mi->piece_count; p++)
		*count += verify_has(s->have, p);
	return 0;
}

int fst_sync(struct fetch_store *s)
{
	for (uint32_t i = 0; i < s->mi->file_count; i++)
		if (s->fds[i] >= 0 && fdatasync(s->fds[i]) != 0)
			return -errno;
	return 0;
}

static int fst_write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Syncs the content, then replaces the .fetch state with the have bitfield. */
int fst_save(struct fetch_store *s)
{
	char name[64], tmp[72];
	size_t cap = s->bf_len + FST_STATE_CAP;
	uint8_t *buf;
	struct bc_enc e;
	ssize_t len;
	int fd, rc;

	if (s->state_dirfd < 0)
		return 0;
	rc = fst_sync(s);
	if (rc)
		return rc;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	bc_enc_init(&e, buf, cap);
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "have");
	bc_enc_str(&e, s->have, s->bf_len);
	bc_enc_cstr(&e, "info-hash");
	bc_enc_str(&e, s->mi->info_hash, MI_HASH_LEN);
	bc_enc_cstr(&e, "piece count");
	bc_enc_int(&e, s->mi->piece_count);
	bc_enc_cstr(&e, "piece length");
	bc_enc_int(&e, s->mi->piece_length);
	bc_enc_cstr(&e, "version");
	bc_enc_int(&e, FST_VERSION);
	bc_enc_end(&e);
	len = bc_enc_finish(&e);
	fst_name(s->mi, name, sizeof(name), ".fetch");
	fst_name(s->mi, tmp, sizeof(tmp), ".fetch.tmp");
	fd = len < 0 ? -1 : openat(s->state_dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = len < 0 ? (int)len : -errno;
		goto out;
	}
	rc = fst_write_all(fd, buf, (size_t)len);
	if (rc == 0 && fdatasync(fd) != 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && renameat(s->state_dirfd, tmp, s->state_dirfd, name) != 0)
		rc = -errno;
	if (rc)
		unlinkat(s->state_dirfd, tmp, 0);
out:
	free(buf);
	return rc;
}

int fst_finish(struct fetch_store *s, char *err, size_t errlen)
{
	char name[64];
	int rc = fst_sync(s);

	if (rc) {
		snprintf(err, errlen, "%s: fdatasync: %s", s->mi->name, strerror(-rc));
		return rc;
	}
	if (s->state_dirfd < 0)
		return 0;
	rc = verify_save_fetched(s->mi, s->data_dirfd, s->state_dirfd, s->have, err, errlen);
	if (rc)
		return rc;
	fst_name(s->mi, name, sizeof(name), ".fetch");
	if (unlinkat(s->state_dirfd, name, 0) != 0 && errno != ENOENT)
		log_warn("fetch: unlink %s", name);
	return 0;
}
