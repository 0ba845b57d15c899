/*
 * test_fetch_hash.c - the fetcher's piece check (master/fetch/fetch_hash.c)
 * against torrents python3-libtorrent made (tests/data/make-v2.py: v2-only
 * and hybrid, single- and multi-file, files shorter and longer than a
 * piece): every piece built from the content (pad bytes as zeros) passes;
 * the same piece with one byte of a file flipped fails with -EBADMSG. Skips
 * (77) when python3-libtorrent is missing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "master/fetch/fetch_int.h"
#include "tests/unit/test.h"

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	REQUIRE(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	REQUIRE(buf = malloc((size_t)n + 1));
	REQUIRE(fread(buf, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Piece p's bytes from the content under data (pad files: zeros). */
static void piece_bytes(const struct metainfo *mi, const char *data, uint32_t p, uint8_t *buf,
			uint32_t size)
{
	struct mi_extent ext[64];
	char path[8192];
	int n = mi_map(mi, p, 0, size, ext, 64);
	uint32_t at = 0;

	REQUIRE(n > 0);
	for (int i = 0; i < n; i++) {
		const struct mi_file *f = &mi->files[ext[i].file];
		FILE *fp;

		if (f->pad) {
			memset(buf + at, 0, ext[i].length);
		} else {
			snprintf(path, sizeof(path), "%s%s%s", data, mi->multi_file ? "/" : "",
				 mi->multi_file ? f->path : "");
			REQUIRE(fp = fopen(path, "rb"));
			fseek(fp, (long)ext[i].offset, SEEK_SET);
			REQUIRE(fread(buf + at, 1, ext[i].length, fp) == ext[i].length);
			fclose(fp);
		}
		at += ext[i].length;
	}
}

static void check_torrent(const char *dir, char *line)
{
	char *name = strtok(line, "\t"), *src;
	char path[4096], data[4096];
	struct metainfo mi;
	struct mi_err err;
	uint8_t *raw, *buf;
	size_t len;

	for (int i = 0; i < 3; i++)
		strtok(NULL, "\t");
	src = strtok(NULL, "\t\n");
	REQUIRE(name && src);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	raw = slurp(path, &len);
	REQUIRE(mi_parse(raw, len, &mi, &err) == 0);
	snprintf(data, sizeof(data), "%s/data/%s", dir, src);
	REQUIRE(buf = malloc(mi.piece_length));
	for (uint32_t p = 0; p < mi.piece_count; p++) {
		uint32_t size = mi_piece_size(&mi, p);

		piece_bytes(&mi, data, p, buf, size);
		CHECK_EQ_INT(fetch_piece_check(&mi, p, buf, size), 0);
		buf[0] ^= 0x40; /* a file's byte: every piece starts with its file (BEP 52 alignment) */
		CHECK_EQ_INT(fetch_piece_check(&mi, p, buf, size), -EBADMSG);
	}
	free(buf);
	mi_free(&mi);
	free(raw);
}

int main(void)
{
	char dir[] = "/tmp/ringseed-test-fh-XXXXXX", cmd[8192], line[8192];
	const char *top = getenv("TOP");
	unsigned n = 0;
	FILE *f;
	int rc;

	if (access("/usr/bin/python3", X_OK) != 0) {
		printf("skip: /usr/bin/python3 is missing\n");
		return 77;
	}
	REQUIRE(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/data/make-v2.py %s >/dev/null",
		 top ? top : ".", dir);
	rc = system(cmd);
	if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) {
		printf("skip: python3-libtorrent is missing\n");
		return 77;
	}
	REQUIRE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
	snprintf(cmd, sizeof(cmd), "%s/MANIFEST", dir);
	REQUIRE(f = fopen(cmd, "r"));
	while (fgets(line, sizeof(line), f)) {
		check_torrent(dir, line);
		n++;
	}
	fclose(f);
	CHECK_EQ_INT(n, 12);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return test_done("fetch_hash");
}
