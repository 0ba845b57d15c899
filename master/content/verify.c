/*
 * verify.c - check a torrent's content, reusing what a state file says about
 * files that have not changed; see verify.h for the rules and the format.
 *
 *   stat every file (the moment before is `checked`)
 *     -> missing / not regular / wrong size: fail, naming the file
 *   load STATE/<hash>.state; any doubt about it: ignore it
 *   plan: a piece is hashed again if it touches a file that changed (or any
 *         file, without a state); other pieces keep their state bit
 *   ph_run over those pieces -> compare with metainfo.pieces (SHA-1) or the
 *         BEP 52 piece layers (hybrids: whichever hashes faster here)
 *   report each bad piece; save the state unless it was reused unchanged
 *
 * The stat values are taken before hashing, so a file written while it is
 * being hashed is seen as changed next time; the racy-mtime rule (verify.h)
 * covers a write that lands in the same timestamp tick as that stat.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "iocore/clock.h"
#include "master/content/piece_hash.h"
#include "master/content/verify.h"
#include "proto/bencode.h"
#include "proto/merkle.h"

#define VF_FILE_KEYS 7 /* ctime ctime-ns dev ino mtime mtime-ns size */
#define VF_ROOT_KEYS 8 /* checked checked-ns files have info-hash piece count/length version */
#define VF_NSEC	     1000000000

/* What identifies a file's content without reading it. */
struct vf_id {
	int64_t size;
	int64_t mtime, mtime_ns;
	int64_t ctime, ctime_ns;
	uint64_t ino, dev;
};

struct vf_ctx {
	const struct metainfo *mi;
	const struct verify_opts *o;
	struct verify_report *rep;
	char *err;
	size_t errlen;
	size_t bf_len;
	const char **paths;	 /* per file, relative to the data directory */
	struct vf_id *now;	 /* per file, taken before hashing */
	struct timespec checked; /* when they were taken */
	uint8_t *have;		 /* the caller's bitfield */
	uint8_t *only;		 /* the pieces to hash */

	/* The previous check, when a state file passed every test. */
	bool have_state;
	struct vf_id *old;
	struct timespec old_checked;
	uint8_t *old_have;
};

static double vf_now(void)
{
	return (double)clock_ns() / 1e9;
}

static void vf_set(uint8_t *bits, uint32_t piece)
{
	bits[piece / 8] |= (uint8_t)(0x80u >> (piece % 8));
}

void verify_state_name(const uint8_t info_hash[MI_HASH_LEN], char out[VERIFY_STATE_NAME_LEN])
{
	mi_hex(info_hash, out);
	memcpy(out + 2 * MI_HASH_LEN, ".state", sizeof(".state"));
}

__attribute__((format(printf, 3, 4))) static int vf_fail(struct vf_ctx *c, int rc, const char *fmt,
							 ...)
{
	va_list ap;

	if (c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Says why the state file is not used; always returns -EINVAL. */
__attribute__((format(printf, 2, 3))) static int vf_ignore(struct vf_ctx *c, const char *fmt, ...)
{
	char why[sizeof(c->rep->state_ignored) - 64];
	char name[VERIFY_STATE_NAME_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	verify_state_name(c->mi->info_hash, name);
	snprintf(c->rep->state_ignored, sizeof(c->rep->state_ignored), "%s: %s", name, why);
	return -EINVAL;
}

/* One allocation: the pointer array, then the strings "NAME" or "NAME/path". */
static int vf_paths(struct vf_ctx *c)
{
	const struct metainfo *mi = c->mi;
	size_t need = mi->file_count * sizeof(*c->paths), name_len = strlen(mi->name);
	char *p;

	for (uint32_t i = 0; i < mi->file_count; i++)
		need += (mi->multi_file ? name_len + 1 : 0) + strlen(mi->files[i].path) + 1;
	c->paths = malloc(need);
	if (!c->paths)
		return -ENOMEM;
	p = (char *)(c->paths + mi->file_count);
	for (uint32_t i = 0; i < mi->file_count; i++) {
		size_t len = strlen(mi->files[i].path) + 1;

		c->paths[i] = p;
		if (mi->multi_file) {
			memcpy(p, mi->name, name_len);
			p[name_len] = '/';
			p += name_len + 1;
		}
		memcpy(p, mi->files[i].path, len);
		p += len;
	}
	return 0;
}

static int vf_alloc(struct vf_ctx *c)
{
	uint32_t n = c->mi->file_count;

	c->now = calloc(n, sizeof(*c->now));
	c->old = calloc(n, sizeof(*c->old));
	c->only = calloc(1, c->bf_len);
	c->old_have = calloc(1, c->bf_len);
	if (!c->now || !c->old || !c->only || !c->old_have)
		return vf_fail(c, -ENOMEM, "out of memory");
	return vf_paths(c) ? vf_fail(c, -ENOMEM, "out of memory") : 0;
}

static void vf_free(struct vf_ctx *c)
{
	free(c->paths);
	free(c->now);
	free(c->old);
	free(c->only);
	free(c->old_have);
}

/*
 * Whether st is file f as the torrent says: a regular file of its length.
 * 0, or -EINVAL / -EIO with the reason in err.
 */
static int vf_shape(const struct stat *st, const struct mi_file *f, const char *path, char *err,
		    size_t err_len)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, err_len, "%s: not a regular file", path);
		return -EINVAL;
	}
	if ((uint64_t)st->st_size != f->length) {
		snprintf(err, err_len, "%s: size is %lld bytes, expected %llu", path,
			 (long long)st->st_size, (unsigned long long)f->length);
		return -EIO;
	}
	return 0;
}

/* Opens file i as the hasher will, and records what identifies it. */
static int vf_stat_one(struct vf_ctx *c, uint32_t i)
{
	const struct mi_file *f = &c->mi->files[i];
	const char *path = c->paths[i];
	struct stat st;
	int fd, rc = 0;

	if (f->pad) {
		c->now[i] = (struct vf_id){ .size = (int64_t)f->length };
		return 0;
	}
	/* O_NONBLOCK: a FIFO in the file's place must fail below, not hang here. */
	fd = openat(c->o->data_dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return vf_fail(c, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0)
		rc = vf_fail(c, -errno, "%s: fstat: %s", path, strerror(errno));
	else if ((rc = vf_shape(&st, f, path, c->err, c->errlen)) != 0)
		;
	else
		c->now[i] = (struct vf_id){ .size = st.st_size,
					    .mtime = st.st_mtim.tv_sec,
					    .mtime_ns = st.st_mtim.tv_nsec,
					    .ctime = st.st_ctim.tv_sec,
					    .ctime_ns = st.st_ctim.tv_nsec,
					    .ino = st.st_ino,
					    .dev = st.st_dev };
	close(fd);
	return rc;
}

/* The largest state file this torrent can have: bounds the read and the encoder. */
static size_t vf_state_cap(const struct metainfo *mi)
{
	/* An integer is at most 22 bytes ("i-9223372036854775808e"), a key at most 14. */
	return 512 + (size_t)mi->file_count * (2 + VF_FILE_KEYS * (14 + 22)) + 24 +
	       verify_bitfield_len(mi->piece_count);
}

/* Reads the whole state file; -ENOENT when there is none (not worth a note). */
static int vf_read_state(struct vf_ctx *c, uint8_t **out, size_t *len)
{
	char name[VERIFY_STATE_NAME_LEN];
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0, size;
	ssize_t n = 0;
	int fd, rc;

	verify_state_name(c->mi->info_hash, name);
	fd = openat(c->o->state_dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return -ENOENT;
	if (fd < 0)
		return vf_ignore(c, "cannot be opened: %s", strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = vf_ignore(c, "fstat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > vf_state_cap(c->mi)) {
		rc = vf_ignore(c, "not a regular file of at most %zu bytes", vf_state_cap(c->mi));
		goto out;
	}
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	if (!buf) {
		rc = vf_ignore(c, "no memory to read it");
		goto out;
	}
	while (got <= size) { /* asks for one byte more, to see the file did not grow */
		n = read(fd, buf + got, size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (n < 0)
		rc = vf_ignore(c, "read: %s", strerror(errno));
	else if (got != size)
		rc = vf_ignore(c, "changed size while it was read");
	else
		rc = 0;
out:
	close(fd);
	if (rc == 0) {
		*out = buf;
		*len = got;
	} else {
		free(buf);
	}
	return rc;
}

static bool vf_int(const struct bc_val *dict, const char *key, int64_t *out)
{
	struct bc_val v;

	if (!bc_dict_get_type(dict, key, BC_INT, &v))
		return false;
	*out = v.num;
	return true;
}

static size_t vf_dict_size(const struct bc_val *dict)
{
	struct bc_val k, v;
	struct bc_iter it;
	size_t n = 0;

	bc_iter_init(&it, dict);
	while (bc_next(&it, &k, &v))
		n++;
	return n;
}

/* One entry of "files": exactly the seven integers, consistent with file i. */
static int vf_parse_file(struct vf_ctx *c, const struct bc_val *d, uint32_t i)
{
	const struct mi_file *f = &c->mi->files[i];
	struct vf_id *id = &c->old[i];
	int64_t ino, dev;

	if (d->type != BC_DICT || vf_dict_size(d) != VF_FILE_KEYS ||
	    !vf_int(d, "size", &id->size) || !vf_int(d, "mtime", &id->mtime) ||
	    !vf_int(d, "mtime-ns", &id->mtime_ns) || !vf_int(d, "ctime", &id->ctime) ||
	    !vf_int(d, "ctime-ns", &id->ctime_ns) || !vf_int(d, "ino", &ino) ||
	    !vf_int(d, "dev", &dev))
		return vf_ignore(c, "files[%u]: not a dictionary of the %d integers", i,
				 VF_FILE_KEYS);
	id->ino = (uint64_t)ino;
	id->dev = (uint64_t)dev;
	if (id->size < 0 || (uint64_t)id->size != f->length)
		return vf_ignore(c, "files[%u]: size %lld, the torrent says %llu", i,
				 (long long)id->size, (unsigned long long)f->length);
	if (id->mtime_ns < 0 || id->mtime_ns >= VF_NSEC || id->ctime_ns < 0 ||
	    id->ctime_ns >= VF_NSEC)
		return vf_ignore(c, "files[%u]: nanoseconds out of range", i);
	if (f->pad && (id->mtime || id->mtime_ns || id->ctime || id->ctime_ns || ino || dev))
		return vf_ignore(c, "files[%u]: a pad file with stat values", i);
	return 0;
}

static int vf_parse_files(struct vf_ctx *c, const struct bc_val *root)
{
	struct bc_val files, entry;
	struct bc_iter it;
	uint32_t i = 0;
	int rc;

	if (!bc_dict_get_type(root, "files", BC_LIST, &files))
		return vf_ignore(c, "files: missing or not a list");
	bc_iter_init(&it, &files);
	while (bc_next(&it, NULL, &entry)) {
		if (i == c->mi->file_count)
			return vf_ignore(c, "files: more than the torrent's %u", c->mi->file_count);
		rc = vf_parse_file(c, &entry, i++);
		if (rc)
			return rc;
	}
	if (i != c->mi->file_count)
		return vf_ignore(c, "files: %u, the torrent has %u", i, c->mi->file_count);
	return 0;
}

/* have: the right length, and no bit set past the last piece. */
static int vf_parse_have(struct vf_ctx *c, const struct bc_val *root)
{
	uint32_t count = c->mi->piece_count;
	struct bc_val v;

	if (!bc_dict_get_type(root, "have", BC_STR, &v) || v.str_len != c->bf_len)
		return vf_ignore(c, "have: not a bitfield of %zu bytes", c->bf_len);
	if (count % 8 && (v.str[c->bf_len - 1] & (0xffu >> (count % 8))))
		return vf_ignore(c, "have: bits set past the last piece");
	memcpy(c->old_have, v.str, c->bf_len);
	return 0;
}

static int vf_parse_state(struct vf_ctx *c, const uint8_t *buf, size_t len)
{
	const struct metainfo *mi = c->mi;
	struct bc_val root, v;
	struct bc_err e;
	int64_t n, s, ns;
	int rc;

	if (bc_parse(buf, len, 0, &root, &e) != 0)
		return vf_ignore(c, "not bencode: %s at byte %zu", e.what, e.offset);
	if (root.type != BC_DICT || vf_dict_size(&root) != VF_ROOT_KEYS)
		return vf_ignore(c, "not a dictionary of the %d state keys", VF_ROOT_KEYS);
	if (!vf_int(&root, "version", &n) || n != VERIFY_STATE_VERSION)
		return vf_ignore(c, "version: not %d", VERIFY_STATE_VERSION);
	if (!bc_dict_get_type(&root, "info-hash", BC_STR, &v) || v.str_len != MI_HASH_LEN ||
	    memcmp(v.str, mi->info_hash, MI_HASH_LEN) != 0)
		return vf_ignore(c, "info-hash: not this torrent's");
	if (!vf_int(&root, "piece length", &n) || n != mi->piece_length)
		return vf_ignore(c, "piece length: not %u", mi->piece_length);
	if (!vf_int(&root, "piece count", &n) || n != mi->piece_count)
		return vf_ignore(c, "piece count: not %u", mi->piece_count);
	if (!vf_int(&root, "checked", &s) || !vf_int(&root, "checked-ns", &ns) || s < 0 || ns < 0 ||
	    ns >= VF_NSEC)
		return vf_ignore(c, "checked: not a time");
	c->old_checked = (struct timespec){ .tv_sec = (time_t)s, .tv_nsec = (long)ns };
	rc = vf_parse_have(c, &root);
	if (rc)
		return rc;
	return vf_parse_files(c, &root);
}

static void vf_load(struct vf_ctx *c)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	if (c->o->state_dirfd < 0 || vf_read_state(c, &buf, &len) != 0)
		return;
	c->have_state = vf_parse_state(c, buf, len) == 0;
	free(buf);
}

static bool vf_id_eq(const struct vf_id *a, const struct vf_id *b)
{
	return a->size == b->size && a->mtime == b->mtime && a->mtime_ns == b->mtime_ns &&
	       a->ctime == b->ctime && a->ctime_ns == b->ctime_ns && a->ino == b->ino &&
	       a->dev == b->dev;
}

static bool vf_not_before(int64_t s, int64_t ns, int64_t limit_s, int64_t limit_ns)
{
	return s > limit_s || (s == limit_s && ns >= limit_ns);
}

/*
 * A write after the check's stat stamps mtime and ctime with the time of that
 * write, so it can go unseen only if both recorded values are at least
 * that late, less a timestamp tick. ctime cannot be set from user space, so
 * a file with an mtime in the future (clock skew, touch -d) is not racy for
 * ever: its ctime is old.
 */
static bool vf_racy(const struct vf_id *id, const struct timespec *checked)
{
	int64_t s = (int64_t)checked->tv_sec - VERIFY_RACY_SECONDS; /* checked >= 0 */

	return vf_not_before(id->mtime, id->mtime_ns, s, checked->tv_nsec) &&
	       vf_not_before(id->ctime, id->ctime_ns, s, checked->tv_nsec);
}

/* Decides which pieces to hash (only) and which keep their state bit (have). */
static void vf_plan(struct vf_ctx *c)
{
	const struct metainfo *mi = c->mi;

	if (!c->have_state) {
		for (uint32_t p = 0; p < mi->piece_count; p++)
			vf_set(c->only, p);
		return;
	}
	for (uint32_t i = 0; i < mi->file_count; i++) {
		const struct mi_file *f = &mi->files[i];

		if (f->pad)
			continue;
		if (!vf_id_eq(&c->now[i], &c->old[i]))
			c->rep->files_changed++;
		else if (vf_racy(&c->old[i], &c->old_checked))
			c->rep->files_racy++;
		else
			continue;
		if (f->length == 0)
			continue;
		for (uint64_t p = f->offset / mi->piece_length;
		     p <= (f->offset + f->length - 1) / mi->piece_length; p++)
			vf_set(c->only, (uint32_t)p);
	}
	for (size_t b = 0; b < c->bf_len; b++)
		c->have[b] = c->old_have[b] & (uint8_t)~c->only[b];
}

static bool vf_any(const uint8_t *bits, size_t len)
{
	for (size_t b = 0; b < len; b++)
		if (bits[b])
			return true;
	return false;
}

/* MB/s of one hash function over a 1 MiB buffer. */
static double vf_speed(bool sha256)
{
	enum { LEN = 1 << 20 };
	uint8_t *buf = calloc(1, LEN), md[32];
	struct mk_sha sha = { 0 };
	double t;

	/* With a reused context, as piece_hash hashes leaves: the fetch is not timed. */
	if (!buf || mk_sha_init(&sha)) {
		mk_sha_free(&sha);
		free(buf);
		return 0;
	}
	t = vf_now();
	if (sha256)
		mk_leaves_sha(&sha, buf, LEN, buf); /* the leaves land in the buffer's head: harmless */
	else
		SHA1(buf, LEN, md);
	t = vf_now() - t;
	mk_sha_free(&sha);
	free(buf);
	return t > 0 ? LEN / t / 1e6 : 0;
}

/*
 * A hybrid can be checked by either half: take the faster hash on this CPU
 * (SHA extensions make SHA-256 as fast as SHA-1 or faster; without them
 * SHA-1 wins). Measured each time a hybrid is hashed: about 2 ms.
 */
static bool vf_use_v2(const struct metainfo *mi)
{
	if (mi->format != MI_FORMAT_HYBRID)
		return mi->format == MI_FORMAT_V2;
	return vf_speed(true) > vf_speed(false);
}

/* Does piece p's digest match the torrent's hash for it? */
static bool vf_match(const struct metainfo *mi, const uint8_t *digests, bool v2, uint32_t p)
{
	const uint8_t *want;

	if (!v2)
		return memcmp(digests + (size_t)p * MI_HASH_LEN, mi->pieces + (size_t)p * MI_HASH_LEN,
			      MI_HASH_LEN) == 0;
	want = mi_piece_hash_v2(mi, p);
	return want && memcmp(digests + (size_t)p * MK_HASH_LEN, want, MK_HASH_LEN) == 0;
}

/* Hashes the planned pieces and sets the bits of those that match. */
static int vf_hash(struct vf_ctx *c)
{
	const struct metainfo *mi = c->mi;
	bool v2 = vf_use_v2(mi);
	struct ph_file *files = calloc(mi->file_count, sizeof(*files));
	uint8_t *digests = malloc((size_t)mi->piece_count * (v2 ? MK_HASH_LEN : MI_HASH_LEN));
	char label[40];
	struct ph_job job = { .dirfd = c->o->data_dirfd,
			      .files = files,
			      .file_count = mi->file_count,
			      .piece_length = mi->piece_length,
			      .piece_count = mi->piece_count,
			      .threads = c->o->threads,
			      .progress = c->o->progress,
			      .label = label,
			      .digests = v2 ? NULL : digests,
			      .digests_v2 = v2 ? digests : NULL,
			      .only = c->only,
			      .share = c->o->share };
	int rc = -ENOMEM;

	if (!files || !digests)
		goto out;
	snprintf(label, sizeof(label), "verify %.32s", mi->name);
	for (uint32_t i = 0; i < mi->file_count; i++)
		files[i] = (struct ph_file){ .path = c->paths[i],
					     .length = mi->files[i].length,
					     .zero = mi->files[i].pad };
	rc = ph_run(&job);
	if (rc) {
		vf_fail(c, rc, "%s", job.err);
		goto out;
	}
	for (uint32_t p = 0; p < mi->piece_count; p++) {
		if (verify_has(c->only, p) && vf_match(mi, digests, v2, p))
			vf_set(c->have, p);
	}
	c->rep->hash_set = v2 ? "SHA-256 merkle (BEP 52)" : "SHA-1";
	c->rep->hashed = job.pieces;
	c->rep->bytes_hashed = job.bytes;
	c->rep->threads_used = job.threads_used;
	c->rep->cpu_seconds = job.cpu_seconds;
out:
	if (rc == -ENOMEM)
		vf_fail(c, rc, "out of memory");
	free(files);
	free(digests);
	return rc;
}

/* The first file with bytes in the piece, pad files passed over if another follows. */
static uint32_t vf_first_file(const struct metainfo *mi, uint32_t piece, uint64_t *offset)
{
	uint64_t pos = (uint64_t)piece * mi->piece_length;
	uint64_t end = pos + mi_piece_size(mi, piece);
	uint32_t lo = 0, hi = mi->file_count - 1, i;

	while (lo < hi) { /* the first file that ends after pos */
		uint32_t mid = lo + (hi - lo) / 2;

		if (mi->files[mid].offset + mi->files[mid].length <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < mi->file_count && mi->files[i].offset < end; i++)
		if (!mi->files[i].pad && mi->files[i].length > 0)
			break;
	if (i == mi->file_count || mi->files[i].offset >= end)
		i = lo;
	*offset = pos > mi->files[i].offset ? pos - mi->files[i].offset : 0;
	return i;
}

static void vf_count(struct vf_ctx *c)
{
	const struct verify_opts *o = c->o;
	uint64_t offset;
	uint32_t i;

	for (uint32_t p = 0; p < c->mi->piece_count; p++) {
		if (verify_has(c->have, p)) {
			c->rep->good++;
			continue;
		}
		c->rep->bad++;
		if (o->bad_piece) {
			i = vf_first_file(c->mi, p, &offset);
			o->bad_piece(o->arg, p, c->paths[i], offset);
		}
	}
}

static void vf_encode_file(struct bc_enc *e, const struct vf_id *id)
{
	bc_enc_dict(e);
	bc_enc_cstr(e, "ctime");
	bc_enc_int(e, id->ctime);
	bc_enc_cstr(e, "ctime-ns");
	bc_enc_int(e, id->ctime_ns);
	bc_enc_cstr(e, "dev");
	bc_enc_int(e, (int64_t)id->dev);
	bc_enc_cstr(e, "ino");
	bc_enc_int(e, (int64_t)id->ino);
	bc_enc_cstr(e, "mtime");
	bc_enc_int(e, id->mtime);
	bc_enc_cstr(e, "mtime-ns");
	bc_enc_int(e, id->mtime_ns);
	bc_enc_cstr(e, "size");
	bc_enc_int(e, id->size);
	bc_enc_end(e);
}

static ssize_t vf_encode(const struct vf_ctx *c, uint8_t *buf, size_t cap)
{
	const struct metainfo *mi = c->mi;
	struct bc_enc e;

	bc_enc_init(&e, buf, cap);
	bc_enc_dict(&e);
	bc_enc_cstr(&e, "checked");
	bc_enc_int(&e, c->checked.tv_sec);
	bc_enc_cstr(&e, "checked-ns");
	bc_enc_int(&e, c->checked.tv_nsec);
	bc_enc_cstr(&e, "files");
	bc_enc_list(&e);
	for (uint32_t i = 0; i < mi->file_count; i++)
		vf_encode_file(&e, &c->now[i]);
	bc_enc_end(&e);
	bc_enc_cstr(&e, "have");
	bc_enc_str(&e, c->have, c->bf_len);
	bc_enc_cstr(&e, "info-hash");
	bc_enc_str(&e, mi->info_hash, MI_HASH_LEN);
	bc_enc_cstr(&e, "piece count");
	bc_enc_int(&e, mi->piece_count);
	bc_enc_cstr(&e, "piece length");
	bc_enc_int(&e, mi->piece_length);
	bc_enc_cstr(&e, "version");
	bc_enc_int(&e, VERIFY_STATE_VERSION);
	bc_enc_end(&e);
	return bc_enc_finish(&e);
}

static int vf_write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Replaces the state file atomically: temp file, fsync, rename, fsync the directory. */
static int vf_save(const struct vf_ctx *c)
{
	int dirfd = c->o->state_dirfd, fd, rc;
	char name[VERIFY_STATE_NAME_LEN], tmp[VERIFY_STATE_NAME_LEN + 4];
	size_t cap = vf_state_cap(c->mi);
	uint8_t *buf = malloc(cap);
	ssize_t len;

	if (!buf)
		return -ENOMEM;
	len = vf_encode(c, buf, cap);
	if (len < 0) { /* vf_state_cap() is too small: a bug, but not worth a crash */
		rc = (int)len;
		goto out;
	}
	verify_state_name(c->mi->info_hash, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = vf_write_all(fd, buf, (size_t)len);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dirfd, tmp, dirfd, name) != 0)
		rc = -errno;
	if (rc != 0)
		unlinkat(dirfd, tmp, 0);
	else if (!c->o->no_dir_sync && fsync(dirfd) != 0)
		rc = -errno;
out:
	free(buf);
	return rc;
}

int verify_torrent(const struct metainfo *mi, const struct verify_opts *o, uint8_t *have,
		   struct verify_report *rep, char *err, size_t errlen)
{
	struct vf_ctx c = { .mi = mi,
			    .o = o,
			    .rep = rep,
			    .err = err,
			    .errlen = errlen,
			    .have = have,
			    .bf_len = verify_bitfield_len(mi->piece_count) };
	double start = vf_now();
	int rc;

	*rep = (struct verify_report){ 0 };
	memset(have, 0, c.bf_len);
	if (errlen)
		err[0] = '\0';
	rc = vf_alloc(&c);
	if (rc)
		goto out;
	clock_gettime(CLOCK_REALTIME, &c.checked);
	for (uint32_t i = 0; i < mi->file_count && rc == 0; i++)
		rc = vf_stat_one(&c, i);
	if (rc)
		goto out;
	vf_load(&c);
	vf_plan(&c);
	if (vf_any(c.only, c.bf_len))
		rc = vf_hash(&c);
	if (rc) {
		memset(have, 0, c.bf_len);
		goto out;
	}
	vf_count(&c);
	rep->reused = c.have_state && rep->hashed == 0;
	/* A state reused with nothing changed is already what we would write. */
	if (o->state_dirfd >= 0 && !(c.have_state && !rep->files_changed && !rep->files_racy)) {
		int wrc = vf_save(&c);

		rep->state_write_failed = wrc != 0;
		rep->state_write_errno = -wrc;
	}
out:
	vf_free(&c);
	rep->seconds = vf_now() - start;
	return rc;
}

/*
 * The fetcher's end: every piece was checked as it arrived and written by
 * the caller, who closed the files after an fsync. Their identity now is
 * what the state records, with `checked` put past the racy window of the
 * newest timestamp: the racy rule guards against a writer landing in the
 * same tick as our stat, and the only writer of these files has finished.
 */
int verify_save_fetched(const struct metainfo *mi, int data_dirfd, int state_dirfd,
			const uint8_t *have, char *err, size_t errlen)
{
	struct verify_opts o = { .data_dirfd = data_dirfd, .state_dirfd = state_dirfd };
	struct verify_report rep = { 0 };
	struct vf_ctx c = { .mi = mi,
			    .o = &o,
			    .rep = &rep,
			    .err = err,
			    .errlen = errlen,
			    .have = (uint8_t *)have,
			    .bf_len = verify_bitfield_len(mi->piece_count) };
	int rc;

	if (errlen)
		err[0] = '\0';
	rc = vf_alloc(&c);
	if (rc)
		goto out;
	clock_gettime(CLOCK_REALTIME, &c.checked);
	for (uint32_t i = 0; i < mi->file_count && rc == 0; i++)
		rc = vf_stat_one(&c, i);
	if (rc)
		goto out;
	for (uint32_t i = 0; i < mi->file_count; i++) {
		int64_t newest = c.now[i].mtime > c.now[i].ctime ? c.now[i].mtime : c.now[i].ctime;

		if (newest + VERIFY_RACY_SECONDS + 1 > c.checked.tv_sec)
			c.checked.tv_sec = newest + VERIFY_RACY_SECONDS + 1;
	}
	rc = vf_save(&c);
	if (rc)
		vf_fail(&c, rc, "state: %s", strerror(-rc));
out:
	vf_free(&c);
	return rc;
}

int verify_present(const struct metainfo *mi, int data_dirfd, char *err, size_t err_len)
{
	struct vf_ctx c = { .mi = mi };
	int rc = vf_paths(&c);

	if (rc) {
		snprintf(err, err_len, "out of memory");
		return rc;
	}
	for (uint32_t i = 0; i < mi->file_count && !rc; i++) {
		struct stat st;

		if (mi->files[i].pad)
			continue;
		if (fstatat(data_dirfd, c.paths[i], &st, 0) != 0) {
			rc = -errno;
			snprintf(err, err_len, "%s: %s", c.paths[i], strerror(errno));
		} else {
			rc = vf_shape(&st, &mi->files[i], c.paths[i], err, err_len);
		}
	}
	free(c.paths);
	return rc;
}
