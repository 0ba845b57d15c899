/*
 * cmd_create.c - `ringseed create`: make a .torrent from a file or a tree:
 * v1 (BEP 3), v2 (BEP 52) or hybrid (both, over one layout; the default,
 * as qBittorrent and libtorrent make them).
 *
 * Policy for what goes in (also in --help):
 *   - every regular file below the directory, hidden ones included: a
 *     release's dot-files are content like any other;
 *   - a symbolic link to a regular file is followed (the seeder will follow
 *     it too when it opens the path); a link to a directory, a dangling link
 *     and any other kind of file (fifo, socket, device) is an error naming it;
 *   - files are listed in path order, comparing component by component, so
 *     a directory's files stay together.
 * v2 and hybrid torrents start every file on a piece boundary: a hybrid's v1
 * file list carries BEP 47 pad files (`attr` "p", path `.pad/N`) between
 * files for it. One read of the data feeds SHA-1 (v1 pieces) and SHA-256
 * (16 KiB merkle leaves, then each piece's subtree root: the piece layers) on
 * every core; a file's pieces root is the root over its piece layer.
 * The result is checked by loading it back with the same parser the seeder
 * uses before it is renamed into place.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "master/cmd/cmd.h"
#include "master/content/piece_hash.h"
#include "proto/merkle.h"
#include "proto/metainfo.h"
#include "proto/metainfo_enc.h"

#define CREATE_MIN_PIECE     (16u << 10)
#define CREATE_MAX_PIECE     (16u << 20)
#define CREATE_TARGET_PIECES 2500 /* auto: fewest pieces above half this */
#define CREATE_MAX_DEPTH     64
#define CREATE_MAX_FILES     1000000
#define CREATE_MAX_URLS	     256

struct create_entry {
	char *path; /* relative to the root, '/'-separated */
	uint64_t length;
};

struct create {
	/* options */
	const char *input;
	const char *output;
	char *tier_text[CREATE_MAX_URLS]; /* copies of the -a values, split in place */
	unsigned text_count;
	struct mi_tracker trackers[CREATE_MAX_URLS]; /* every tracker URL, tier by tier */
	unsigned url_count;
	unsigned tiers;
	const char *web[CREATE_MAX_URLS];
	unsigned web_count;
	const char *comment;
	const char *source;
	uint32_t piece_length; /* 0: automatic */
	unsigned threads;
	bool private_flag;
	bool quiet;
	enum mi_format format;

	/* what was found */
	char name[NAME_MAX + 1];
	bool single;
	struct create_entry *entries;
	uint32_t count;
	uint32_t cap;
	uint64_t total;

	/* The layout hashed and written: the files, with pad files for v2 and hybrid. */
	struct mi_v2_file *layout;
	uint32_t layout_count;
	char (*pad_names)[sizeof(".pad/18446744073709551615")];
	uint64_t padded_total;
	uint8_t *roots; /* 32 bytes per layout entry (v2) */
};

static void create_usage(FILE *f)
{
	fprintf(f, "usage: ringseed create PATH [-o FILE.torrent] [options]\n"
		   "\n"
		   "Makes a .torrent from the file or directory PATH.\n"
		   "\n"
		   "  -f, --format F        v1, v2 (BEP 52) or hybrid (both; the default)\n"
		   "  -o, --output FILE     where to write it (default: NAME.torrent here)\n"
		   "  -a, --announce URL    a tracker; each -a is one tier (BEP 12), and\n"
		   "                        comma-separated URLs in one -a share a tier\n"
		   "  -w, --web-seed URL    an HTTP(S) web seed (BEP 19); repeatable\n"
		   "  -l, --piece-length N  piece size, a power of two from 16K to 16M\n"
		   "                        (default: chosen for about 1250-2500 pieces)\n"
		   "  -p, --private         set the private flag (BEP 27)\n"
		   "  -c, --comment TEXT    a comment\n"
		   "  -s, --source TEXT     info.source (makes the info-hash unique to a site)\n"
		   "  -t, --threads N       hashing threads (default: one per CPU)\n"
		   "  -q, --quiet           no progress bar\n"
		   "  -h, --help            this text\n"
		   "\n"
		   "A directory's regular files are all included, hidden ones too, in path\n"
		   "order. A symbolic link to a regular file is followed; a link to a\n"
		   "directory, a dangling link or a special file is an error.\n");
}

/* Decimal digits only (no sign, no spaces), at most max. */
static int create_parse_uint(const char *s, char **end, unsigned long long max,
			     unsigned long long *out)
{
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, end, 10);
	return errno || *out > max ? -EINVAL : 0;
}

/* "256K", "1M", "1048576" -> bytes; a power of two in range. */
static int create_parse_piece_length(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (create_parse_uint(s, &end, CREATE_MAX_PIECE, &v))
		return -EINVAL;
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end != '\0' || v < CREATE_MIN_PIECE || v > CREATE_MAX_PIECE || (v & (v - 1)))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int create_parse_format(const char *s, enum mi_format *out)
{
	if (strcmp(s, "v1") == 0)
		*out = MI_FORMAT_V1;
	else if (strcmp(s, "v2") == 0)
		*out = MI_FORMAT_V2;
	else if (strcmp(s, "hybrid") == 0)
		*out = MI_FORMAT_HYBRID;
	else {
		fprintf(stderr, "ringseed create: -f %s: want v1, v2 or hybrid\n", s);
		return -EINVAL;
	}
	return 0;
}

static bool create_url_ok(const char *url, bool tracker)
{
	if (!*url || strpbrk(url, " \t\r\n"))
		return false;
	return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0 ||
	       (tracker && strncmp(url, "udp://", 6) == 0);
}

/* One -a: a tier of comma-separated URLs, each of which must be usable. */
static int create_add_tier(struct create *c, const char *arg)
{
	char *text, *p, *url;

	if (c->tiers == CREATE_MAX_URLS)
		goto too_many;
	text = strdup(arg);
	if (!text)
		return -ENOMEM;
	c->tier_text[c->text_count++] = text;
	for (p = text; (url = strsep(&p, ",")) != NULL;) {
		if (!create_url_ok(url, true)) {
			fprintf(stderr,
				"ringseed create: -a '%s': '%s' is not an http://, "
				"https:// or udp:// URL\n",
				arg, url);
			return -EINVAL;
		}
		if (c->url_count == CREATE_MAX_URLS)
			goto too_many;
		c->trackers[c->url_count++] = (struct mi_tracker){ .url = url, .tier = c->tiers };
	}
	c->tiers++;
	return 0;
too_many:
	fprintf(stderr, "ringseed create: more than %d tracker URLs\n", CREATE_MAX_URLS);
	return -E2BIG;
}

/* One -w: an HTTP(S) web seed (BEP 19). */
static int create_add_web(struct create *c, const char *url)
{
	if (c->web_count == CREATE_MAX_URLS) {
		fprintf(stderr, "ringseed create: more than %d -w\n", CREATE_MAX_URLS);
		return -E2BIG;
	}
	if (!create_url_ok(url, false)) {
		fprintf(stderr, "ringseed create: -w '%s': not an http:// or https:// URL\n", url);
		return -EINVAL;
	}
	c->web[c->web_count++] = url;
	return 0;
}

/* -t N: hashing threads, 1..256. */
static int create_set_threads(struct create *c, const char *arg)
{
	unsigned long long n;
	char *end;

	if (create_parse_uint(arg, &end, 256, &n) || *end || n < 1) {
		fprintf(stderr, "ringseed create: -t %s: want 1..256\n", arg);
		return -EINVAL;
	}
	c->threads = (unsigned)n;
	return 0;
}

static int create_options(struct create *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "announce", required_argument, NULL, 'a' },
		{ "web-seed", required_argument, NULL, 'w' },
		{ "piece-length", required_argument, NULL, 'l' },
		{ "private", no_argument, NULL, 'p' },
		{ "comment", required_argument, NULL, 'c' },
		{ "source", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;

	c->format = MI_FORMAT_HYBRID;
	while ((opt = getopt_long(argc, argv, "o:a:w:l:pc:s:t:qf:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			c->output = optarg;
			break;
		case 'a':
			if (create_add_tier(c, optarg))
				return 2;
			break;
		case 'w':
			if (create_add_web(c, optarg))
				return 2;
			break;
		case 'l':
			if (create_parse_piece_length(optarg, &c->piece_length)) {
				fprintf(stderr,
					"ringseed create: -l %s: want a power of two from "
					"16K to 16M\n",
					optarg);
				return 2;
			}
			break;
		case 'p':
			c->private_flag = true;
			break;
		case 'c':
			c->comment = optarg;
			break;
		case 's':
			c->source = optarg;
			break;
		case 't':
			if (create_set_threads(c, optarg))
				return 2;
			break;
		case 'q':
			c->quiet = true;
			break;
		case 'f':
			if (create_parse_format(optarg, &c->format))
				return 2;
			break;
		case 'h':
			create_usage(stdout);
			return -1;
		default:
			create_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		create_usage(stderr);
		return 2;
	}
	c->input = argv[optind];
	return 0;
}

static int create_add(struct create *c, const char *path, uint64_t length)
{
	if (c->count == c->cap) {
		uint32_t cap = c->cap ? c->cap * 2 : 64;
		struct create_entry *e;

		if (c->count >= CREATE_MAX_FILES) {
			fprintf(stderr, "ringseed create: more than %d files\n", CREATE_MAX_FILES);
			return -E2BIG;
		}
		e = realloc(c->entries, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		c->entries = e;
		c->cap = cap;
	}
	c->entries[c->count].path = strdup(path);
	if (!c->entries[c->count].path)
		return -ENOMEM;
	c->entries[c->count++].length = length;
	c->total += length;
	return 0;
}

static int create_scan_dir(struct create *c, int fd, const char *rel, unsigned depth);

/* One directory entry: a file to add, a directory to descend, or an error. */
static int create_scan_entry(struct create *c, int dirfd, const char *rel, const char *name,
			     unsigned depth)
{
	char path[PATH_MAX];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", name);

	if (n < 0 || n > MI_MAX_PATH) {
		fprintf(stderr, "ringseed create: %s/%s: path too long\n", c->input, rel);
		return -ENAMETOOLONG;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		goto fail_errno;
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0)
			goto fail_errno;
		return create_scan_dir(c, fd, path, depth + 1);
	}
	if (S_ISLNK(st.st_mode)) {
		if (fstatat(dirfd, name, &st, 0) != 0) {
			fprintf(stderr, "ringseed create: %s/%s: dangling symbolic link\n",
				c->input, path);
			return -ENOENT;
		}
		if (!S_ISREG(st.st_mode)) {
			fprintf(stderr,
				"ringseed create: %s/%s: symbolic link to something "
				"other than a regular file (not followed)\n",
				c->input, path);
			return -EINVAL;
		}
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "ringseed create: %s/%s: not a regular file\n", c->input, path);
		return -EINVAL;
	}
	return create_add(c, path, (uint64_t)st.st_size);
fail_errno:
	fprintf(stderr, "ringseed create: %s/%s: %s\n", c->input, path, strerror(errno));
	return -errno;
}

/* Adds the files below the open directory fd (closed here), rel being its path. */
static int create_scan_dir(struct create *c, int fd, const char *rel, unsigned depth)
{
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	if (depth > CREATE_MAX_DEPTH) {
		fprintf(stderr, "ringseed create: %s/%s: nested more than %d directories deep\n",
			c->input, rel, CREATE_MAX_DEPTH);
		close(fd);
		return -ELOOP;
	}
	dir = fdopendir(fd);
	if (!dir) {
		rc = -errno;
		fprintf(stderr, "ringseed create: %s/%s: %s\n", c->input, rel, strerror(errno));
		close(fd);
		return rc;
	}
	while (!rc && (errno = 0, de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		rc = create_scan_entry(c, fd, rel, de->d_name, depth);
	}
	if (!rc && errno) {
		rc = -errno;
		fprintf(stderr, "ringseed create: %s/%s: %s\n", c->input, rel, strerror(errno));
	}
	closedir(dir);
	return rc;
}

/* Files go in the torrent's path order (see mi_path_cmp()). */
static int create_entry_cmp(const void *x, const void *y)
{
	return mi_path_cmp(((const struct create_entry *)x)->path,
			   ((const struct create_entry *)y)->path);
}

/*
 * The torrent's name: the last component of PATH as given, so a symbolic
 * link keeps its own name; ".", ".." and the like are resolved first.
 */
static int create_name(struct create *c)
{
	char buf[PATH_MAX], *base;
	size_t n = strlen(c->input);

	if (n >= sizeof(buf))
		goto too_long;
	memcpy(buf, c->input, n + 1);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	base = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0 || *base == '\0') {
		if (!realpath(c->input, buf)) {
			fprintf(stderr, "ringseed create: %s: %s\n", c->input, strerror(errno));
			return -errno;
		}
		base = strrchr(buf, '/') + 1;
	}
	if (*base == '\0') {
		fprintf(stderr, "ringseed create: refusing to share the root directory\n");
		return -EINVAL;
	}
	if (strlen(base) > NAME_MAX)
		goto too_long;
	memcpy(c->name, base, strlen(base) + 1);
	return 0;
too_long:
	fprintf(stderr, "ringseed create: %s: name too long\n", c->input);
	return -ENAMETOOLONG;
}

/* Finds what to put in the torrent: one file, or a tree's files in order. */
static int create_scan(struct create *c)
{
	struct stat st;
	int rc;

	if (stat(c->input, &st) != 0) {
		fprintf(stderr, "ringseed create: %s: %s\n", c->input, strerror(errno));
		return -errno;
	}
	rc = create_name(c);
	if (rc)
		return rc;
	if (S_ISREG(st.st_mode)) {
		c->single = true;
		return create_add(c, c->input, (uint64_t)st.st_size);
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "ringseed create: %s: not a regular file or a directory\n",
			c->input);
		return -EINVAL;
	}
	rc = open(c->input, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rc < 0) {
		fprintf(stderr, "ringseed create: %s: %s\n", c->input, strerror(errno));
		return -errno;
	}
	rc = create_scan_dir(c, rc, "", 0);
	if (rc)
		return rc;
	if (c->count == 0) {
		fprintf(stderr, "ringseed create: %s: no files to share\n", c->input);
		return -ENOENT;
	}
	qsort(c->entries, c->count, sizeof(*c->entries), create_entry_cmp);
	return 0;
}

/* The smallest power of two in range that keeps the count at or below target. */
static uint32_t create_auto_piece_length(uint64_t total)
{
	uint32_t p = CREATE_MIN_PIECE;

	while (p < CREATE_MAX_PIECE && (total + p - 1) / p > CREATE_TARGET_PIECES)
		p <<= 1;
	return p;
}

/*
 * The files in torrent order; for v2 and hybrid, a pad file right after each
 * file that ends off a piece boundary and has files with data after it (BEP
 * 47, BEP 52), where libtorrent puts them, so that empty files sit on the
 * boundary too.
 */
static int create_layout(struct create *c)
{
	uint64_t pos = 0;
	uint32_t n = 0, pads = 0, last = 0;

	c->layout = calloc(2 * (size_t)c->count, sizeof(*c->layout));
	c->pad_names = calloc(c->count, sizeof(*c->pad_names));
	if (!c->layout || !c->pad_names)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->count; i++)
		last = c->entries[i].length ? i : last;
	for (uint32_t i = 0; i < c->count; i++) {
		uint64_t gap;

		c->layout[n++] = (struct mi_v2_file){ .path = c->entries[i].path,
						      .length = c->entries[i].length };
		pos += c->entries[i].length;
		gap = (c->piece_length - pos % c->piece_length) % c->piece_length;
		if (c->format == MI_FORMAT_V1 || !c->entries[i].length || !gap || i >= last)
			continue;
		snprintf(c->pad_names[pads], sizeof(c->pad_names[pads]), ".pad/%llu",
			 (unsigned long long)gap);
		c->layout[n++] = (struct mi_v2_file){ .path = c->pad_names[pads++],
						      .length = gap,
						      .pad = true };
		pos += gap;
	}
	c->layout_count = n;
	c->padded_total = pos;
	return 0;
}

/* BEP 52: each file's pieces root over its piece layer (digests_v2 are file-aligned). */
static int create_roots(struct create *c, const uint8_t *v2)
{
	uint64_t pos = 0;
	uint8_t *scratch;

	c->roots = malloc((size_t)c->layout_count * MK_HASH_LEN);
	scratch = malloc((c->padded_total / c->piece_length + 1) * MK_HASH_LEN);
	if (!c->roots || !scratch) {
		free(scratch);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < c->layout_count; i++) {
		struct mi_v2_file *f = &c->layout[i];
		const uint8_t *layer = v2 + (size_t)(pos / c->piece_length) * MK_HASH_LEN;
		uint64_t count = (f->length + c->piece_length - 1) / c->piece_length;

		pos += f->length;
		if (f->pad || f->length == 0)
			continue;
		f->root = c->roots + (size_t)i * MK_HASH_LEN;
		if (count == 1) {
			memcpy(c->roots + (size_t)i * MK_HASH_LEN, layer, MK_HASH_LEN);
			continue;
		}
		f->layer = layer;
		mk_root_from_layer(layer, count, c->piece_length, scratch,
				   c->roots + (size_t)i * MK_HASH_LEN);
	}
	free(scratch);
	return 0;
}

/* One read of the data: SHA-1 pieces (v1, hybrid) and SHA-256 piece roots (v2, hybrid). */
static int create_hash(struct create *c, uint8_t *digests, uint8_t *v2, uint32_t pieces)
{
	struct ph_file *files = calloc(c->layout_count, sizeof(*files));
	struct ph_job job = {
		.dirfd = AT_FDCWD,
		.file_count = c->layout_count,
		.piece_length = c->piece_length,
		.piece_count = pieces,
		.threads = c->threads,
		.progress = !c->quiet && isatty(STDERR_FILENO),
		.label = c->name,
		.digests = c->format & MI_FORMAT_V1 ? digests : NULL,
		.digests_v2 = c->format & MI_FORMAT_V2 ? v2 : NULL,
	};
	int rc;

	if (!files)
		return -ENOMEM;
	if (!c->single) {
		job.dirfd = open(c->input, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (job.dirfd < 0) {
			rc = -errno;
			fprintf(stderr, "ringseed create: %s: %s\n", c->input, strerror(errno));
			goto out;
		}
	}
	for (uint32_t i = 0; i < c->layout_count; i++)
		files[i] = (struct ph_file){ .path = c->layout[i].path,
					     .length = c->layout[i].length,
					     .zero = c->layout[i].pad };
	job.files = files;
	rc = ph_run(&job);
	if (rc)
		fprintf(stderr, "ringseed create: %s%s%s (did it change while hashing?)\n",
			c->single ? "" : c->input, c->single ? "" : "/", job.err);
	else if (!c->quiet)
		fprintf(stderr, "hashed %llu bytes in %.2f s (%.2f CPU-s): %.0f MiB/s on %u threads%s\n",
			(unsigned long long)job.bytes, job.seconds, job.cpu_seconds,
			job.seconds > 0 ? job.bytes / job.seconds / 1048576 : 0.0,
			job.threads_used,
			c->format == MI_FORMAT_HYBRID ? " (SHA-1 and SHA-256 merkle)" :
			c->format == MI_FORMAT_V2     ? " (SHA-256 merkle)" :
							"");
	if (job.dirfd >= 0 && job.dirfd != AT_FDCWD)
		close(job.dirfd);
	if (!rc && c->format & MI_FORMAT_V2)
		rc = create_roots(c, v2);
out:
	free(files);
	return rc;
}

/* What create found and hashed, as proto/metainfo_enc.h describes a torrent. */
static void create_describe(const struct create *c, const uint8_t *digests, uint32_t pieces,
			    uint32_t *order, struct mi_enc *m)
{
	*m = (struct mi_enc){
		.name = c->name,
		.format = c->format,
		.multi_file = !c->single,
		.files = c->layout,
		.file_count = c->layout_count,
		.piece_length = c->piece_length,
		.pieces = digests,
		.piece_count = pieces,
		.order = order,
		.private_torrent = c->private_flag,
		.trackers = c->trackers,
		.tracker_count = c->url_count,
		.web_seeds = c->web,
		.web_seed_count = c->web_count,
		.comment = c->comment,
		.created_by = "ringseed",
		.source = c->source,
		.creation_date = (int64_t)time(NULL),
	};
}

/* Writes to a temporary name beside the target, then renames it into place. */
static int create_write(const char *path, const uint8_t *buf, size_t len)
{
	char tmp[PATH_MAX];
	size_t off = 0;
	ssize_t n;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (off < len) {
		n = write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) != 0)
		goto fail_unlink;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
fail_unlink:
	n = -errno;
	unlink(tmp);
	return (int)n;
}

/* Loads what was encoded with the seeder's own parser: create must never
 * write a torrent the seeder would refuse. */
static int create_self_check(const struct create *c, const uint8_t *buf, size_t len,
			     struct metainfo *mi)
{
	struct mi_err err;

	if (mi_parse(buf, len, mi, &err) != 0) {
		fprintf(stderr, "ringseed create: %s: the result does not load: %s\n", c->name,
			err.msg);
		return -EINVAL;
	}
	return 0;
}

/* What was written, for people and scripts: both info-hashes where there are two. */
static void create_say(const char *output, const struct metainfo *mi)
{
	char hex[2 * MI_HASH_V2_LEN + 1];
	uint32_t files = 0;

	for (uint32_t i = 0; i < mi->file_count; i++)
		files += !mi->files[i].pad;
	mi_hex(mi->info_hash, hex);
	printf("%s: %s, %u file%s, %llu bytes, %u pieces of %u, info-hash %s", output, mi->name,
	       files, files == 1 ? "" : "s", (unsigned long long)mi->total_length,
	       mi->piece_count, mi->piece_length, hex);
	mi_hex_n(mi->info_hash_v2, MI_HASH_V2_LEN, hex);
	if (mi->format & MI_FORMAT_V2)
		printf(", %s, v2 info-hash %s", mi_format_name(mi->format), hex);
	putchar('\n');
}

static int create_build(struct create *c, const char *output)
{
	uint32_t pieces;
	uint8_t *digests = NULL, *v2 = NULL, *out = NULL;
	uint32_t *order = NULL;
	struct mi_enc m;
	size_t cap;
	struct metainfo mi;
	ssize_t len;
	int rc = create_layout(c);

	pieces = (uint32_t)((c->padded_total + c->piece_length - 1) / c->piece_length);
	digests = malloc((size_t)pieces * MI_HASH_LEN);
	v2 = malloc((size_t)pieces * MK_HASH_LEN);
	order = calloc(c->layout_count + 1, sizeof(*order));
	create_describe(c, digests, pieces, order, &m);
	cap = mi_enc_bound(&m);
	out = malloc(cap);
	if (rc || !digests || !v2 || !order || !out) {
		rc = -ENOMEM;
		fprintf(stderr, "ringseed create: out of memory\n");
		goto out;
	}
	rc = create_hash(c, digests, v2, pieces);
	if (rc)
		goto out;
	len = mi_encode(&m, out, cap);
	if (len < 0) {
		rc = (int)len;
		fprintf(stderr, "ringseed create: encoding failed: %s\n", strerror((int)-len));
		goto out;
	}
	rc = create_self_check(c, out, (size_t)len, &mi);
	if (rc)
		goto out;
	rc = create_write(output, out, (size_t)len);
	if (rc)
		fprintf(stderr, "ringseed create: %s: %s\n", output, strerror(-rc));
	else
		create_say(output, &mi);
	mi_free(&mi);
out:
	free(out);
	free(order);
	free(v2);
	free(digests);
	return rc;
}

int cmd_create(int argc, char **argv)
{
	struct create c = { 0 };
	char output[PATH_MAX];
	int rc, status = 1;

	rc = create_options(&c, argc, argv);
	if (rc) {
		status = rc < 0 ? 0 : rc; /* --help, or a usage error */
		goto out;
	}
	rc = create_scan(&c);
	if (rc)
		goto out;
	if (c.total == 0) {
		fprintf(stderr, "ringseed create: %s: nothing to share (total size is 0)\n",
			c.input);
		rc = -EINVAL;
		goto out;
	}
	if (c.piece_length == 0)
		c.piece_length = create_auto_piece_length(c.total);
	if (c.output)
		snprintf(output, sizeof(output), "%s", c.output);
	else
		snprintf(output, sizeof(output), "%s.torrent", c.name);
	rc = create_build(&c, output);
	status = rc ? 1 : 0;
out:
	for (uint32_t i = 0; i < c.count; i++)
		free(c.entries[i].path);
	free(c.entries);
	free(c.layout);
	free(c.pad_names);
	free(c.roots);
	for (unsigned i = 0; i < c.text_count; i++)
		free(c.tier_text[i]);
	return status;
}
