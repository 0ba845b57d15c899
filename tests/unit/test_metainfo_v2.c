/*
 * test_metainfo_v2.c - BEP 52 v2 and hybrid torrents made by libtorrent
 * (tests/data/make-v2.py, python3-libtorrent's create_torrent) load with the
 * info-hashes libtorrent computes, and every pieces root and piece layer
 * equals what proto/merkle.c computes from the content itself, and
 * proto/metainfo_enc_v2.c writes back the same v2 info dictionary (same
 * info-hash) and piece layers from what was loaded. Skips (77)
 * when python3-libtorrent is missing. The refusals are tested through the
 * binary in tests/e2e/info_bad.sh (tests/data/make-bad.py).
 */
#include <errno.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "proto/merkle.h"
#include "proto/metainfo_enc_v2.h"
#include "proto/bencode.h"
#include "proto/metainfo.h"
#include "tests/unit/test.h"

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	REQUIRE(f);
	REQUIRE(fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	REQUIRE(buf && fread(buf, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* The file's root and piece layer computed from its bytes, compared with the torrent's. */
static void check_file(const struct metainfo *mi, const struct mi_file *f, const uint8_t *data)
{
	size_t n = (f->length + MK_BLOCK_SIZE - 1) / MK_BLOCK_SIZE;
	uint32_t per = mi->piece_length / MK_BLOCK_SIZE;
	size_t pieces = (f->length + mi->piece_length - 1) / mi->piece_length;
	uint8_t *leaves = malloc(n * 32 + 32), *layer = malloc(pieces * 32 + 32);
	uint8_t root[32];

	REQUIRE(leaves && layer);
	CHECK(f->pieces_root != NULL);
	CHECK_EQ_INT(f->offset % mi->piece_length, 0);
	mk_leaves(data, f->length, leaves);
	for (size_t p = 0; p < pieces; p++) {
		size_t k = n - p * per < per ? n - p * per : per;

		CHECK(mk_reduce(leaves + p * per * 32, k, per, 0, layer + p * 32) == 0);
	}
	if (f->length > mi->piece_length) {
		uint8_t *scratch = malloc(pieces * 32);

		REQUIRE(scratch && f->layer);
		CHECK(memcmp(f->layer, layer, pieces * 32) == 0);
		CHECK(mk_root_from_layer(layer, pieces, mi->piece_length, scratch, root) == 0);
		free(scratch);
	} else {
		CHECK(f->layer == NULL);
		mk_leaves(data, f->length, leaves);
		CHECK(mk_reduce(leaves, n, mk_pow2(n), 0, root) == 0);
	}
	if (f->pieces_root)
		CHECK(memcmp(root, f->pieces_root, 32) == 0);
	free(leaves);
	free(layer);
}

/* v2-only: the info dictionary written again from mi gives the same v2 info-hash. */
static void check_encode(const struct metainfo *mi, const uint8_t *torrent, size_t len)
{
	struct mi_v2_file *files = calloc(mi->file_count, sizeof(*files));
	uint32_t *order = calloc(mi->file_count, sizeof(*order));
	size_t cap = mi->info_len + len + 256;
	uint8_t *out = malloc(cap), h[32];
	struct bc_val root, layers, again;
	struct bc_err err;
	struct bc_enc e;
	ssize_t n;

	REQUIRE(files && order && out);
	for (uint32_t i = 0; i < mi->file_count; i++)
		files[i] = (struct mi_v2_file){ .path = mi->files[i].path,
						.length = mi->files[i].length,
						.pad = mi->files[i].pad,
						.root = mi->files[i].pieces_root,
						.layer = mi->files[i].layer };
	bc_enc_init(&e, out, cap);
	bc_enc_dict(&e);
	mi_enc_file_tree(&e, mi->multi_file ? NULL : mi->name, files, mi->file_count);
	bc_enc_cstr(&e, "meta version");
	bc_enc_int(&e, 2);
	bc_enc_cstr(&e, "name");
	bc_enc_cstr(&e, mi->name);
	bc_enc_cstr(&e, "piece length");
	bc_enc_int(&e, mi->piece_length);
	bc_enc_end(&e);
	n = bc_enc_finish(&e);
	REQUIRE(n > 0);
	SHA256(out, (size_t)n, h);
	CHECK(memcmp(h, mi->info_hash_v2, 32) == 0);
	/* piece layers: the same bytes as libtorrent's. */
	bc_enc_init(&e, out, cap);
	bc_enc_dict(&e);
	mi_enc_piece_layers(&e, mi->piece_length, files, mi->file_count, order);
	bc_enc_end(&e);
	n = bc_enc_finish(&e);
	REQUIRE(n > 0);
	REQUIRE(bc_parse(torrent, len, 0, &root, &err) == 0);
	REQUIRE(bc_parse(out, (size_t)n, 0, &again, &err) == 0);
	if (bc_dict_get(&root, "piece layers", &layers)) {
		struct bc_val mine;

		CHECK(bc_dict_get(&again, "piece layers", &mine) && mine.raw_len == layers.raw_len &&
		      memcmp(mine.raw, layers.raw, layers.raw_len) == 0);
	}
	free(files);
	free(order);
	free(out);
}

/*
 * BEP 52 hash requests against the piece layer of each file that has one:
 * with and without a built tree the same answer, the hashes are the layer's,
 * and refusals for what a seeder cannot answer.
 */
static void check_hash_requests(const struct metainfo *mi)
{
	static uint8_t a[(MI_HASHES_MAX + MI_PROOF_MAX) * 32], b[(MI_HASHES_MAX + MI_PROOF_MAX) * 32];
	unsigned height = mk_piece_height(mi->piece_length);

	for (uint32_t i = 0; i < mi->file_count; i++) {
		const struct mi_file *f = &mi->files[i];
		uint64_t n = (f->length + mi->piece_length - 1) / mi->piece_length, w = mk_pow2(n);
		const uint8_t **trees = calloc(mi->file_count, sizeof(*trees));
		uint8_t req[48], *tree = malloc((2 * w - 1) * 32);
		uint32_t ca, cb;

		REQUIRE(trees && tree);
		if (!f->layer) {
			free(trees);
			free(tree);
			continue;
		}
		mk_tree_build(f->layer, n, w, height, tree);
		trees[i] = tree;
		memcpy(req, f->pieces_root, 32);
		/* base layer, index 0, length 2, proof 20 layers: big-endian */
		memset(req + 32, 0, 16);
		req[35] = (uint8_t)height, req[43] = 2, req[47] = 20;
		CHECK(mi_v2_hash_file(mi, req) == i);
		CHECK(mi_v2_hashes(mi, req, NULL, a, &ca) == 0);
		CHECK(mi_v2_hashes(mi, req, trees, b, &cb) == 0);
		CHECK(ca == cb && memcmp(a, b, ca * 32) == 0);
		CHECK(memcmp(a, f->layer, 64) == 0);
		CHECK_EQ_INT(ca, 2 + (w > 2 ? __builtin_ctzll(w) - 1 : 0));
		req[43] = 1; /* length 1 */
		CHECK(mi_v2_hashes(mi, req, trees, b, &cb) == -EINVAL);
		req[43] = 2, req[35] = (uint8_t)(height + 1); /* another layer */
		CHECK(mi_v2_hashes(mi, req, trees, b, &cb) == -EINVAL);
		req[35] = (uint8_t)height, req[36] = 1; /* index past the layer */
		CHECK(mi_v2_hashes(mi, req, trees, b, &cb) == -EINVAL);
		req[36] = 0, req[0] ^= 1; /* unknown root */
		CHECK(mi_v2_hashes(mi, req, trees, b, &cb) == -EINVAL);
		free(tree);
		free(trees);
	}
}

static void hex_of(const uint8_t *b, size_t n, char *out)
{
	mi_hex_n(b, n, out);
}

static void check_torrent(const char *dir, char *line)
{
	char *name = strtok(line, "\t"), *fmt = strtok(NULL, "\t"), *v1 = strtok(NULL, "\t");
	char *v2 = strtok(NULL, "\t"), *src = strtok(NULL, "\t\n");
	char path[4096], hex[65];
	struct metainfo mi;
	struct mi_err err;
	uint8_t *buf;
	size_t len;

	REQUIRE(name && fmt && v1 && v2 && src);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf = slurp(path, &len);
	if (mi_parse(buf, len, &mi, &err) != 0) {
		fprintf(stderr, "%s: refused: %s\n", name, err.msg);
		CHECK(!"libtorrent's torrent refused");
		free(buf);
		return;
	}
	CHECK_STR(mi_format_name(mi.format), fmt);
	CHECK_EQ_INT(mi.warning_count, 0);
	hex_of(mi.info_hash_v2, 32, hex);
	CHECK_STR(hex, v2);
	hex_of(mi.info_hash, 20, hex);
	if (strcmp(v1, "-") == 0) {
		CHECK(strncmp(hex, v2, 40) == 0); /* BEP 52: v2-only goes by the truncation */
		CHECK(mi.pieces == NULL);
	} else {
		CHECK_STR(hex, v1);
	}
	CHECK_EQ_INT(mi.multi_file, strcmp(src, "tree") == 0);
	if (mi.format == MI_FORMAT_V2)
		check_encode(&mi, buf, len);
	check_hash_requests(&mi);
	for (uint32_t i = 0; i < mi.file_count; i++) {
		const struct mi_file *f = &mi.files[i];
		size_t dlen;
		uint8_t *data;

		if (f->pad || f->length == 0) {
			CHECK(f->pieces_root == NULL);
			continue;
		}
		snprintf(path, sizeof(path), "%s/data/%s%s%s", dir, mi.multi_file ? src : "",
			 mi.multi_file ? "/" : "", f->path);
		data = slurp(path, &dlen);
		CHECK_EQ_INT(dlen, f->length);
		check_file(&mi, f, data);
		free(data);
	}
	/* Piece numbers are file-aligned: the last piece of each file maps into it alone. */
	for (uint32_t p = 0; p < mi.piece_count; p++) {
		int64_t fi = mi_piece_file(&mi, p);

		CHECK(fi >= 0);
		if (fi >= 0)
			CHECK_EQ_INT(mi.files[fi].offset / mi.piece_length <= p, 1);
	}
	mi_free(&mi);
	free(buf);
}

int main(void)
{
	char dir[] = "/tmp/ringseed-test-v2-XXXXXX", cmd[8192], line[8192];
	const char *top = getenv("TOP");
	unsigned n = 0;
	FILE *f;
	int rc;

	if (access("/usr/bin/python3", X_OK) != 0) {
		printf("skip: /usr/bin/python3 is missing\n");
		return 77;
	}
	REQUIRE(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/data/make-v2.py %s", top ? top : ".",
		 dir);
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
	return test_done("metainfo_v2");
}
