/*
 * test_webseed.c - BEP 19 URLs: folder or file, single or multi-file,
 * escaping, pad files, room.
 */
#include <errno.h>

#include "proto/webseed.h"
#include "tests/unit/test.h"

static void test_usable(void)
{
	CHECK(ws_url_usable("http://h/x"));
	CHECK(ws_url_usable("https://h:8443/"));
	CHECK(!ws_url_usable("ftp://h/x"));
	CHECK(!ws_url_usable("http://"));
	CHECK(!ws_url_usable("http:///x"));
	CHECK(!ws_url_usable("HTTPX://h"));
	CHECK(!ws_url_usable(""));
}

static void test_single(void)
{
	struct mi_file f = { .path = "rel ease#1.iso", .length = 10 };
	struct metainfo mi = { .name = "rel ease#1.iso", .files = &f, .file_count = 1 };
	char out[64];

	/* BEP 19: a trailing slash gets the name; otherwise the URL is the file. */
	CHECK_EQ_INT(ws_file_url("http://m/pub/", &mi, 0, out, sizeof(out)), 31);
	CHECK_STR(out, "http://m/pub/rel%20ease%231.iso");
	CHECK_EQ_INT(ws_file_url("http://m/file.exe", &mi, 0, out, sizeof(out)), 17);
	CHECK_STR(out, "http://m/file.exe");
	CHECK_EQ_INT(ws_file_url("http://m/pub/", &mi, 1, out, sizeof(out)), -EINVAL);
	/* exactly full: 31 bytes and the NUL fit in 32, not in 31 */
	CHECK_EQ_INT(ws_file_url("http://m/pub/", &mi, 0, out, 32), 31);
	CHECK_EQ_INT(ws_file_url("http://m/pub/", &mi, 0, out, 31), -ENOSPC);
	CHECK_STR(out, "");
	CHECK_EQ_INT(ws_file_url("http://m/pub/", &mi, 0, out, 0), -ENOSPC);
}

static void test_multi(void)
{
	struct mi_file f[3] = {
		{ .path = "Readme.txt", .length = 949 },
		{ .path = ".pad/75", .length = 75, .pad = true },
		{ .path = "sub dir/ü.bin", .length = 5 },
	};
	struct metainfo mi = { .name = "michael", .files = f, .file_count = 3, .multi_file = true };
	char out[128];

	/* BEP 19's own example */
	CHECK(ws_file_url("http://mirror.com/pub/", &mi, 0, out, sizeof(out)) > 0);
	CHECK_STR(out, "http://mirror.com/pub/michael/Readme.txt");
	/* no slash: a folder all the same for a multi-file torrent */
	CHECK(ws_file_url("http://mirror.com/pub", &mi, 0, out, sizeof(out)) > 0);
	CHECK_STR(out, "http://mirror.com/pub/michael/Readme.txt");
	/* path separators stay, everything else outside RFC 3986 unreserved is escaped */
	CHECK(ws_file_url("http://m/", &mi, 2, out, sizeof(out)) > 0);
	CHECK_STR(out, "http://m/michael/sub%20dir/%C3%BC.bin");
	/* pad files are zeros nobody serves */
	CHECK_EQ_INT(ws_file_url("http://m/", &mi, 1, out, sizeof(out)), -EINVAL);
}

int main(void)
{
	test_usable();
	test_single();
	test_multi();
	return test_done("webseed");
}
