/*
 * test_conf.c - the configuration table, its parsers, conf_load's error reports,
 * printing, and the sample file.
 *
 * It includes conf.c and conf_load.c (as h2o's unit tests do) to reach the
 * static parsers and to run the same machinery over a table of its own that
 * has a row of every type, since the real table does not use every type yet.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <unistd.h>

#include "conf/conf.c"
#include "conf/conf_load.c"
#include "tests/unit/test.h"

/* ---- a test table with one row of each type ---- */

struct tconf {
	int num;
	int cpus;
	bool flag;
	int color;
	char name[16];
	char dir[32];
	uint64_t size;
	struct conf_addrs addrs;
};

static const char *const tcolors[] = { "red", "green", "blue", NULL };

static const struct conf_key tkeys[] = {
	CONF_INT_ROW(struct tconf, "a", "num", num, -5, 10, false, "3", "a number"),
	CONF_INT_ROW(struct tconf, "a", "cpus", cpus, 1, 256, true, "auto", "CPUs"),
	CONF_BOOL_ROW(struct tconf, "a", "flag", flag, "no", "a flag"),
	CONF_ENUM_ROW(struct tconf, "a", "color", color, tcolors, "green", "a color"),
	CONF_STRING_ROW(struct tconf, "b", "name", name, "", "a name"),
	CONF_PATH_ROW(struct tconf, "b", "dir", dir, "/tmp", "a directory"),
	CONF_SIZE_ROW(struct tconf, "b", "size", size, 4096, 1LL << 40, "4M", "a size"),
	CONF_ADDRS_ROW(struct tconf, "c", "addrs", addrs, "127.0.0.1:1 [::1]:2", "addresses"),
};

static const struct conf_table ttable = { tkeys, ARRAY_SIZE(tkeys), sizeof(struct tconf) };

static char why[CONF_WHY_LEN];

/* Sets a.b = v in the test table; returns 0 or -errno, leaving the reason in why. */
static int tset(struct tconf *t, const char *section, const char *key, const char *v)
{
	why[0] = '\0';
	return conf_table_set(&ttable, t, section, key, v, CONF_MODE_SET, why, sizeof(why));
}

static int tadd(struct tconf *t, const char *section, const char *key, const char *v)
{
	why[0] = '\0';
	return conf_table_set(&ttable, t, section, key, v, CONF_MODE_ADD, why, sizeof(why));
}

/* ---- temporary files ---- */

static char tmp_path[64];

static void write_tmp(const char *text, size_t len)
{
	ssize_t done;
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/ringseed-test-conf-XXXXXX");
	fd = mkstemp(tmp_path);
	REQUIRE(fd >= 0);
	done = write(fd, text, len); /* not inside REQUIRE, which evaluates twice */
	REQUIRE(done == (ssize_t)len);
	close(fd);
}

/* Loads text (from a temporary file) into the real table, or into the test table if t. */
static int load_text(const char *text, struct conf *c, struct tconf *t, struct conf_errors *e)
{
	int r;

	write_tmp(text, strlen(text));
	if (t)
		r = conf_table_load(&ttable, t, tmp_path, e);
	else
		r = conf_load(c, tmp_path, e);
	unlink(tmp_path);
	return r;
}

/* The errors are exactly want[] (NULL-terminated), each after "TMPFILE:". */
static void check_errors(int line, const struct conf_errors *e, const char *const *want)
{
	char full[CONF_ERROR_LEN + 64];
	unsigned n = 0;

	for (; want[n]; n++) {
		snprintf(full, sizeof(full), "%s:%s", tmp_path, want[n]);
		if (n >= e->n) {
			fprintf(stderr, "line %d: missing error %s\n", line, full);
			CHECK(n < e->n);
			continue;
		}
		if (strcmp(e->msg[n], full) != 0)
			fprintf(stderr, "line %d: error %u:\n", line, n);
		CHECK_STR(e->msg[n], full);
	}
	for (unsigned i = n; i < e->n; i++)
		fprintf(stderr, "line %d: unexpected error %s\n", line, e->msg[i]);
	CHECK_EQ_INT(e->n, n);
	CHECK_EQ_INT(e->dropped, 0);
}

#define CHECK_ERRORS(e, ...) check_errors(__LINE__, (e), (const char *const[]){ __VA_ARGS__, NULL })

/* conf_print's output as a string (malloc'd). */
static char *print_to_string(const struct conf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	REQUIRE(f);
	CHECK_EQ_INT(conf_print(f, c), 0);
	fclose(f);
	return buf;
}

/* The settings of a config file: its lines without comments, blanks or outer spaces. */
static char *settings_of(FILE *f)
{
	char line[1024], *out = NULL, *s, *e;
	size_t len = 0;
	FILE *o = open_memstream(&out, &len);

	REQUIRE(o);
	while (fgets(line, sizeof(line), f)) {
		for (s = line; isspace((unsigned char)*s); s++)
			;
		for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
			;
		*e = '\0';
		if (*s && *s != '#' && *s != ';')
			fprintf(o, "%s\n", s);
	}
	fclose(o);
	return out;
}

static void check_round_trip(const struct conf *c);

/* ---- the tests ---- */

/* The real table: what conf_print and the loader rely on. */
static void test_table_sane(void)
{
	for (size_t i = 0; i < conf_table.n; i++) {
		const struct conf_key *k = &conf_keys[i];

		CHECK(k->help && *k->help && !strchr(k->help, '\n'));
		CHECK(strlen(k->help) < 100);
		CHECK(!k->allow_auto || k->min >= 1);
		CHECK(k->type != CONF_INT || (k->min >= INT_MIN && k->max <= INT_MAX));
		CHECK(k->type != CONF_SIZE || k->min >= 0);
		CHECK(k->min <= k->max || (k->type != CONF_INT && k->type != CONF_SIZE));
		CHECK(k->type != CONF_ENUM || k->words);
		for (size_t j = 0; j < i; j++) {
			CHECK(strcmp(conf_keys[j].section, k->section) != 0 ||
			      strcmp(conf_keys[j].key, k->key) != 0);
			/* a section's rows are adjacent, so conf_print writes its header once */
			CHECK(strcmp(conf_keys[j].section, k->section) != 0 ||
			      strcmp(conf_keys[i - 1].section, k->section) == 0);
		}
	}
}

static void test_defaults(void)
{
	struct conf c;
	struct in6_addr any6 = IN6ADDR_ANY_INIT;

	conf_defaults(&c);
	CHECK_EQ_INT(c.workers, 0);
	CHECK_EQ_INT(c.log_level, CONF_LOG_INFO);
	REQUIRE(c.listen.n == 2);
	CHECK_EQ_INT(c.listen.addr[0].sa.sa_family, AF_INET);
	CHECK_EQ_INT(c.listen.addr[0].len, sizeof(struct sockaddr_in));
	CHECK_EQ_INT(c.listen.addr[0].in4.sin_addr.s_addr, htonl(INADDR_ANY));
	CHECK_EQ_INT(ntohs(c.listen.addr[0].in4.sin_port), 6881);
	CHECK_EQ_INT(c.listen.addr[1].sa.sa_family, AF_INET6);
	CHECK_EQ_INT(c.listen.addr[1].len, sizeof(struct sockaddr_in6));
	CHECK(memcmp(&c.listen.addr[1].in6.sin6_addr, &any6, sizeof(any6)) == 0);
	CHECK_EQ_INT(ntohs(c.listen.addr[1].in6.sin6_port), 6881);
	CHECK_STR(c.data_dir, "/var/lib/ringseed/data");
	CHECK_STR(c.torrents_dir, "/var/lib/ringseed/torrents");
	CHECK_STR(c.state_dir, "/var/lib/ringseed/state");
}

static void test_int(void)
{
	struct tconf t;
	struct conf c;

	conf_table_defaults(&ttable, &t);
	CHECK_EQ_INT(t.num, 3);
	CHECK_EQ_INT(t.cpus, 0);
	CHECK(tset(&t, "a", "num", "-5") == 0 && t.num == -5);
	CHECK(tset(&t, "a", "num", "10") == 0 && t.num == 10);
	CHECK(tset(&t, "a", "num", "007") == 0 && t.num == 7);
	CHECK_EQ_INT(tset(&t, "a", "num", "-6"), -EINVAL);
	CHECK_STR(why, "-6 is out of range -5..10");
	CHECK_EQ_INT(tset(&t, "a", "num", "11"), -EINVAL);
	CHECK_STR(why, "11 is out of range -5..10");
	CHECK_EQ_INT(tset(&t, "a", "num", "99999999999999999999"), -EINVAL);
	CHECK_STR(why, "99999999999999999999 is out of range -5..10");
	CHECK_EQ_INT(tset(&t, "a", "num", "abc"), -EINVAL);
	CHECK_STR(why, "'abc' is not a number");
	CHECK_EQ_INT(tset(&t, "a", "num", "4x"), -EINVAL);
	CHECK_EQ_INT(tset(&t, "a", "num", "+4"), -EINVAL);
	CHECK_EQ_INT(tset(&t, "a", "num", "-"), -EINVAL);
	CHECK_EQ_INT(tset(&t, "a", "num", "auto"), -EINVAL);
	CHECK_EQ_INT(tset(&t, "a", "num", ""), -EINVAL);
	CHECK_STR(why, "empty value");
	CHECK_EQ_INT(t.num, 7); /* failures left it alone */
	CHECK(tset(&t, "a", "cpus", "5") == 0 && t.cpus == 5);
	CHECK(tset(&t, "a", "cpus", "Auto") == 0 && t.cpus == 0);
	CHECK_EQ_INT(tset(&t, "a", "cpus", "many"), -EINVAL);
	CHECK_STR(why, "'many' is not a number or auto");

	/* core.workers: auto, and the bounds with one past each */
	conf_defaults(&c);
	CHECK(conf_set(&c, "core", "workers", "1", why, sizeof(why)) == 0 && c.workers == 1);
	CHECK(conf_set(&c, "core", "workers", "256", why, sizeof(why)) == 0 && c.workers == 256);
	CHECK(conf_set(&c, "core", "workers", "auto", why, sizeof(why)) == 0 && c.workers == 0);
	CHECK_EQ_INT(conf_set(&c, "core", "workers", "0", why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "0 is out of range 1..256");
	CHECK_EQ_INT(conf_set(&c, "core", "workers", "257", why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "257 is out of range 1..256");
	CHECK_EQ_INT(conf_set(&c, "core", "workers", "999", why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "999 is out of range 1..256");
	CHECK_EQ_INT(c.workers, 0);
}

static void test_bool(void)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES", "True", "ON" };
	static const char *const no[] = { "no", "false", "off", "0", "No", "FALSE", "Off" };
	struct tconf t;

	conf_table_defaults(&ttable, &t);
	CHECK_EQ_INT(t.flag, false);
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		CHECK(tset(&t, "a", "flag", yes[i]) == 0 && t.flag);
		CHECK(tset(&t, "a", "flag", no[i]) == 0 && !t.flag);
	}
	CHECK_EQ_INT(tset(&t, "a", "flag", "maybe"), -EINVAL);
	CHECK_STR(why, "'maybe' is not yes or no (nor true/false, on/off, 1/0)");
	CHECK_EQ_INT(tset(&t, "a", "flag", "2"), -EINVAL);
	CHECK_EQ_INT(tset(&t, "a", "flag", "y"), -EINVAL);
	CHECK_EQ_INT(tset(&t, "a", "flag", ""), -EINVAL);
}

static void test_enum(void)
{
	struct tconf t;
	struct conf c;

	conf_table_defaults(&ttable, &t);
	CHECK_EQ_INT(t.color, 1);
	CHECK(tset(&t, "a", "color", "red") == 0 && t.color == 0);
	CHECK(tset(&t, "a", "color", "BLUE") == 0 && t.color == 2);
	CHECK_EQ_INT(tset(&t, "a", "color", "purple"), -EINVAL);
	CHECK_STR(why, "'purple' is not one of red, green, blue");
	CHECK_EQ_INT(tset(&t, "a", "color", ""), -EINVAL);
	CHECK_EQ_INT(t.color, 2);

	conf_defaults(&c);
	for (int i = 0; conf_log_words[i]; i++) {
		CHECK_EQ_INT(conf_set(&c, "core", "log_level", conf_log_words[i], why, sizeof(why)),
			     0);
		CHECK_EQ_INT(c.log_level, i);
	}
	CHECK_EQ_INT(CONF_LOG_DEBUG, 0);
	CHECK_STR(conf_log_words[CONF_LOG_WARNING], "warning");
	CHECK_STR(conf_log_words[CONF_LOG_ERROR], "error");
	CHECK_EQ_INT(conf_set(&c, "core", "log_level", "verbose", why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "'verbose' is not one of debug, info, notice, warning, error");
}

static void test_text(void)
{
	char long_path[256];
	struct tconf t;
	struct conf c;

	conf_table_defaults(&ttable, &t);
	CHECK_STR(t.name, "");
	CHECK_STR(t.dir, "/tmp");
	CHECK(tset(&t, "b", "name", "hello world") == 0);
	CHECK_STR(t.name, "hello world");
	CHECK(tset(&t, "b", "name", "") == 0); /* a string may be empty */
	CHECK_STR(t.name, "");
	CHECK(tset(&t, "b", "name", "a;b#c") == 0); /* no space before: not a comment */
	CHECK(tset(&t, "b", "name", "0123456789abcde") == 0);
	CHECK_EQ_INT(tset(&t, "b", "name", "0123456789abcdef"), -EINVAL);
	CHECK_STR(why, "'0123456789abcdef...' is longer than 15 characters");
	CHECK_EQ_INT(tset(&t, "b", "name", "a ;b"), -EINVAL);
	CHECK_STR(why, "'a ;b' has ';' after a space, which starts a comment");
	CHECK_EQ_INT(tset(&t, "b", "name", "a #b"), -EINVAL);
	CHECK_STR(why, "'a #b': a comment after a value starts with ';', not '#'");
	CHECK_EQ_INT(tset(&t, "b", "name", "a\tb"), -EINVAL);
	CHECK_STR(why, "'a\tb' has a control character");
	CHECK_EQ_INT(tset(&t, "b", "name", " x"), -EINVAL);
	CHECK_STR(why, "' x' starts or ends with a space");
	CHECK_STR(t.name, "0123456789abcde");

	CHECK(tset(&t, "b", "dir", "/srv/a b") == 0);
	CHECK_STR(t.dir, "/srv/a b");
	CHECK_EQ_INT(tset(&t, "b", "dir", ""), -EINVAL);
	CHECK_STR(why, "empty value");
	CHECK_EQ_INT(tset(&t, "b", "dir", "srv"), -EINVAL);
	CHECK_STR(why, "'srv' is not an absolute path");
	CHECK_EQ_INT(tset(&t, "b", "dir", "/0123456789012345678901234567890"), -EINVAL);
	CHECK_STR(t.dir, "/srv/a b");

	conf_defaults(&c);
	CHECK_EQ_INT(conf_set(&c, "paths", "data_dir", "/srv/data", why, sizeof(why)), 0);
	CHECK_STR(c.data_dir, "/srv/data");
	/* "data_dir = " and the path fill inih's 199-character line exactly, and no more */
	memset(long_path, 'p', sizeof(long_path));
	long_path[0] = '/';
	long_path[188] = '\0';
	CHECK_EQ_INT(conf_set(&c, "paths", "data_dir", long_path, why, sizeof(why)), 0);
	check_round_trip(&c);
	long_path[188] = 'p';
	long_path[189] = '\0';
	CHECK_EQ_INT(conf_set(&c, "paths", "data_dir", long_path, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "is longer than 188 characters"));
	CHECK_EQ_INT(conf_set(&c, "paths", "state_dir", "", why, sizeof(why)), -EINVAL);
	CHECK_EQ_INT(conf_set(&c, "paths", "torrents_dir", "./t", why, sizeof(why)), -EINVAL);
}

static void test_size(void)
{
	static const struct {
		const char *text;
		uint64_t value;
	} good[] = {
		{ "4096", 4096 },
		{ "4K", 4096 },
		{ "4k", 4096 },
		{ "1M", 1 << 20 },
		{ "3g", 3ULL << 30 },
		{ "1024G", 1ULL << 40 },
		{ "1099511627776", 1ULL << 40 },
	};
	static const char *const out_of_range[] = {
		"0",
		"4095",
		"1025G",
		"1099511627777",
		"99999999999999999999G",
		"17179869184G",
		"18446744073709551615",
		"99999999999999999999",
	};
	static const char *const not_size[] = { "4KB", "4 K", "-1K", "K", "1.5M", "4T", "0x10" };
	char buf[32];
	struct tconf t;

	conf_table_defaults(&ttable, &t);
	CHECK_EQ_INT(t.size, 4 << 20);
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		CHECK_EQ_INT(tset(&t, "b", "size", good[i].text), 0);
		CHECK_EQ_INT(t.size, good[i].value);
	}
	for (size_t i = 0; i < ARRAY_SIZE(out_of_range); i++) {
		char want[96];

		snprintf(want, sizeof(want), "%s is out of range 4K..1024G", out_of_range[i]);
		CHECK_EQ_INT(tset(&t, "b", "size", out_of_range[i]), -EINVAL);
		CHECK_STR(why, want);
	}
	for (size_t i = 0; i < ARRAY_SIZE(not_size); i++) {
		CHECK_EQ_INT(tset(&t, "b", "size", not_size[i]), -EINVAL);
		CHECK(strstr(why, "is not a size"));
	}
	CHECK_EQ_INT(t.size, 1ULL << 40);
	conf_format_size(4 << 20, buf, sizeof(buf));
	CHECK_STR(buf, "4M");
	conf_format_size(1536, buf, sizeof(buf));
	CHECK_STR(buf, "1536");
	conf_format_size(0, buf, sizeof(buf));
	CHECK_STR(buf, "0");
	conf_format_size(5ULL << 40, buf, sizeof(buf));
	CHECK_STR(buf, "5120G");
}

/* One address through the parser and back through the formatter. */
static void check_addr(const char *text, const char *want_why, int family, unsigned port)
{
	struct conf_addr a;
	char buf[64];
	int r = conf_parse_addr(text, &a, why, sizeof(why));

	if (want_why) {
		CHECK_EQ_INT(r, -EINVAL);
		CHECK_STR(why, want_why);
		return;
	}
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(a.sa.sa_family, family);
	CHECK_EQ_INT(a.len, family == AF_INET ? sizeof(a.in4) : sizeof(a.in6));
	CHECK_EQ_INT(ntohs(family == AF_INET ? a.in4.sin_port : a.in6.sin6_port), port);
	conf_format_addr(&a, buf, sizeof(buf));
	CHECK_STR(buf, text);
}

static void test_addr_forms(void)
{
	check_addr("0.0.0.0:6881", NULL, AF_INET, 6881);
	check_addr("127.0.0.1:1", NULL, AF_INET, 1);
	check_addr("[::]:6881", NULL, AF_INET6, 6881);
	check_addr("[2001:db8::1]:65535", NULL, AF_INET6, 65535);
	check_addr("[::ffff:10.0.0.1]:80", NULL, AF_INET6, 80);
	check_addr("1.2.3.4", "'1.2.3.4' lacks :PORT", 0, 0);
	check_addr("[::1]", "'[::1]' lacks :PORT", 0, 0);
	check_addr("[::1]80", "'[::1]80' lacks :PORT", 0, 0);
	check_addr("[::1:80", "'[::1:80' lacks ']'", 0, 0);
	check_addr("1.2.3.4:0", "'1.2.3.4:0': port 0 is out of range 1..65535", 0, 0);
	check_addr("[::]:65536", "'[::]:65536': port 65536 is out of range 1..65535", 0, 0);
	check_addr("1.2.3.4:99999999999999999999",
		   "'1.2.3.4:99999999999999999999': port 99999999999999999999 is out of range "
		   "1..65535",
		   0, 0);
	check_addr("1.2.3.4:", "'1.2.3.4:': '' is not a port number", 0, 0);
	check_addr("1.2.3.4:http", "'1.2.3.4:http': 'http' is not a port number", 0, 0);
	check_addr("1.2.3.4:-1", "'1.2.3.4:-1': '-1' is not a port number", 0, 0);
	check_addr("1.2.3.4:80x", "'1.2.3.4:80x': '80x' is not a port number", 0, 0);
	check_addr("localhost:80", "'localhost' is not an IPv4 address (names are not resolved)", 0,
		   0);
	check_addr("256.1.1.1:80", "'256.1.1.1' is not an IPv4 address (names are not resolved)", 0,
		   0);
	check_addr("[1.2.3.4]:80", "'1.2.3.4' is not an IPv6 address (names are not resolved)", 0,
		   0);
	check_addr("[]:80", "'' is not an IPv6 address (names are not resolved)", 0, 0);
	check_addr("::1:80", "'::1:80': write an IPv6 address in brackets, as in [::1]:6881", 0, 0);
	check_addr("6881", "'6881' lacks an address, as in 0.0.0.0:6881 or [::]:6881", 0, 0);
	check_addr(":6881", "':6881' lacks an address, as in 0.0.0.0:6881 or [::]:6881", 0, 0);
	check_addr("garbage", "'garbage' lacks :PORT", 0, 0);
}

static void test_addr_list(void)
{
	struct tconf t;
	struct conf c;
	char text[32];

	conf_table_defaults(&ttable, &t);
	CHECK_EQ_INT(t.addrs.n, 2);
	CHECK_EQ_INT(tadd(&t, "c", "addrs", "127.0.0.1:3"), 0);
	CHECK_EQ_INT(t.addrs.n, 3);
	CHECK_EQ_INT(tadd(&t, "c", "addrs", "[::1]:2"), -EINVAL);
	CHECK_STR(why, "'[::1]:2' is listed twice");
	CHECK_EQ_INT(tadd(&t, "a", "num", "1"), -EINVAL);

	conf_defaults(&c);
	CHECK_EQ_INT(conf_set(&c, "net", "listen", "10.0.0.1:7000", why, sizeof(why)), 0);
	CHECK_EQ_INT(c.listen.n, 1); /* set replaces the whole list */
	for (unsigned i = 2; i <= CONF_LISTEN_MAX; i++) {
		snprintf(text, sizeof(text), "10.0.0.%u:7000", i);
		CHECK_EQ_INT(conf_add(&c, "net", "listen", text, why, sizeof(why)), 0);
	}
	CHECK_EQ_INT(c.listen.n, CONF_LISTEN_MAX);
	CHECK_EQ_INT(conf_add(&c, "net", "listen", "10.0.0.99:7000", why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "more than 16 addresses");
	CHECK_EQ_INT(conf_add(&c, "net", "listen", "10.0.0.1:7000", why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "'10.0.0.1:7000' is listed twice");
	CHECK_EQ_INT(conf_set(&c, "net", "listen", "bad", why, sizeof(why)), -EINVAL);
	CHECK_EQ_INT(c.listen.n, CONF_LISTEN_MAX); /* a bad value does not clear the list */
	CHECK_EQ_INT(conf_set(&c, "net", "listen", "[::1]:7000", why, sizeof(why)), 0);
	CHECK_EQ_INT(c.listen.n, 1);
	/* the same port on v4 and v6 any-addresses is two sockets, not a duplicate */
	CHECK_EQ_INT(conf_set(&c, "net", "listen", "0.0.0.0:1", why, sizeof(why)), 0);
	CHECK_EQ_INT(conf_add(&c, "net", "listen", "[::]:1", why, sizeof(why)), 0);
	CHECK_EQ_INT(conf_add(&c, "net", "listen", "[::]:2", why, sizeof(why)), 0);
	CHECK_EQ_INT(c.listen.n, 3);
}

static void test_set_api(void)
{
	struct conf c;

	conf_defaults(&c);
	CHECK_EQ_INT(conf_set(&c, "core", "threads", "4", why, sizeof(why)), -ENOENT);
	CHECK_STR(why, "unknown key");
	CHECK_EQ_INT(conf_set(&c, "bogus", "workers", "4", why, sizeof(why)), -ENOENT);
	CHECK_STR(why, "unknown section");
	CHECK_EQ_INT(conf_add(&c, "core", "workers", "4", why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "takes one value, not a list");
	CHECK_EQ_INT(conf_set(&c, "core", "workers", "4", NULL, 0), 0);
	CHECK_EQ_INT(conf_set(&c, "core", "workers", "x", NULL, 0), -EINVAL);
	CHECK_EQ_INT(c.workers, 4);
}

/* A file of valid, non-default values in every accepted spelling. */
static void test_load_values(void)
{
	static const char text[] = "\xef\xbb\xbf; a comment on line 1, after a byte order mark\r\n"
				   "# another comment\n"
				   "\n"
				   "[core]  ; trailing comment\n"
				   "    workers = 4   ; indented, and an inline comment\n"
				   "\tlog_level: DEBUG\r\n"
				   "[net]\n"
				   "listen = 192.0.2.1:6881\n"
				   "listen=[2001:db8::2]:51413\n"
				   "[paths]\n"
				   "data_dir = /srv/ring seed/data\n"
				   "torrents_dir = /srv/t;not-a-comment\n";
	struct conf_errors e;
	struct conf c;
	char addr[64];

	CHECK_EQ_INT(load_text(text, &c, NULL, &e), 0);
	CHECK_ERRORS(&e, NULL);
	CHECK_EQ_INT(c.workers, 4);
	CHECK_EQ_INT(c.log_level, CONF_LOG_DEBUG);
	REQUIRE(c.listen.n == 2); /* the first listen line replaced both defaults */
	conf_format_addr(&c.listen.addr[0], addr, sizeof(addr));
	CHECK_STR(addr, "192.0.2.1:6881");
	conf_format_addr(&c.listen.addr[1], addr, sizeof(addr));
	CHECK_STR(addr, "[2001:db8::2]:51413");
	CHECK_STR(c.data_dir, "/srv/ring seed/data");
	CHECK_STR(c.torrents_dir, "/srv/t;not-a-comment");
	CHECK_STR(c.state_dir, "/var/lib/ringseed/state");

	CHECK_EQ_INT(load_text("", &c, NULL, &e), 0); /* an empty file is all defaults */
	CHECK_EQ_INT(c.listen.n, 2);
	CHECK_EQ_INT(load_text("[core]\nworkers = 2", &c, NULL, NULL), 0); /* no final newline */
	CHECK_EQ_INT(c.workers, 2);
}

/* Several errors in one file: all reported, in order, with their lines. */
static void test_load_errors(void)
{
	static const char text[] = "[core]\n"			/* 1 */
				   "workers = 999\n"		/* 2 */
				   "log_level = loud\n"		/* 3 */
				   "threads = 4\n"		/* 4 */
				   "[bogus]\n"			/* 5 */
				   "x = 1\n"			/* 6: not reported again */
				   "[net]\n"			/* 7 */
				   "listen = 1.2.3.4\n"		/* 8 */
				   "listen = [::1]:0\n"		/* 9 */
				   "this line is wrong\n"	/* 10 */
				   "[core]\n"			/* 11 */
				   "workers = 2\n"		/* 12 */
				   "  log_level = debug\n"	/* 13 */
				   "listen = [::]:1\n"		/* 14 */
				   "[paths]\n"			/* 15 */
				   "data_dir = relative/x\n"	/* 16 */
				   "torrents_dir = /t # mine\n" /* 17 */
				   "state_dir =\n"		/* 18 */
				   "[core\n"			/* 19 */
				   "workers = 3\n"		/* 20: under a broken header */
				   "[paths] junk\n"		/* 21 */
				   "[]\n"			/* 22 */
				   "[core]\n"			/* 23 */
				   "= 4\n"			/* 24 */
				   "log_level = \n";		/* 25 */
	struct conf_errors e;
	struct conf c;

	CHECK_EQ_INT(load_text(text, &c, NULL, &e), -EINVAL);
	CHECK_ERRORS(&e, "2: core.workers: 999 is out of range 1..256",
		     "3: core.log_level: 'loud' is not one of debug, info, notice, warning, error",
		     "4: core.threads: unknown key", "5: [bogus]: unknown section",
		     "8: net.listen: '1.2.3.4' lacks :PORT",
		     "9: net.listen: '[::1]:0': port 0 is out of range 1..65535",
		     "10: syntax error", "12: core.workers: already set on line 2",
		     "13: core.log_level: already set on line 3",
		     "14: core.listen: unknown key; listen belongs in [net]",
		     "16: paths.data_dir: 'relative/x' is not an absolute path",
		     "17: paths.torrents_dir: '/t # mine': a comment after a value starts with "
		     "';', not '#'",
		     "18: paths.state_dir: empty value", "19: syntax error", "21: syntax error",
		     "22: []: unknown section", "24: syntax error",
		     "25: core.log_level: already set on line 3",
		     "25: core.log_level: empty value");
}

static void test_load_syntax(void)
{
	char text[1024];
	struct conf_errors e;
	struct conf c;

	CHECK_EQ_INT(load_text("workers = 4\n[core]\nworkers = 5\n", &c, NULL, &e), -EINVAL);
	CHECK_ERRORS(&e, "1: workers: key before any [section]");
	CHECK_EQ_INT(c.workers, 5);

	/* too long for inih's line buffer: reported, never split into two lines */
	snprintf(text, sizeof(text), "[paths]\n#%0300d\ndata_dir = /%0250d\nstate_dir = /x\n", 0,
		 0);
	CHECK_EQ_INT(load_text(text, &c, NULL, &e), -EINVAL);
	CHECK_ERRORS(&e, "3: line is longer than 199 characters");
	CHECK_STR(c.state_dir, "/x");

	write_tmp("[core]\nworkers = 4\0x\nlog_level = debug\n", 38);
	CHECK_EQ_INT(conf_load(&c, tmp_path, &e), -EINVAL);
	unlink(tmp_path);
	CHECK_ERRORS(&e, "2: line has a NUL byte");
	CHECK_EQ_INT(c.log_level, CONF_LOG_DEBUG);

	/* keys under an unknown section are skipped until the next known one */
	CHECK_EQ_INT(
		load_text("[Core]\nworkers = 4\nbogus = 1\n[core]\nworkers = x\n", &c, NULL, &e),
		-EINVAL);
	CHECK_ERRORS(&e, "1: [Core]: unknown section",
		     "5: core.workers: 'x' is not a number or auto");
}

static void test_load_listen(void)
{
	char text[2048];
	size_t len;
	struct conf_errors e;
	struct conf c;

	len = (size_t)snprintf(text, sizeof(text), "[net]\n");
	for (unsigned i = 1; i <= CONF_LISTEN_MAX + 2; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "listen = [::1]:%u\n", i);
	len += (size_t)snprintf(text + len, sizeof(text) - len, "listen = [::1]:3\nlisten =\n");
	CHECK_EQ_INT(load_text(text, &c, NULL, &e), -EINVAL);
	CHECK_ERRORS(&e, "18: net.listen: more than 16 addresses",
		     "19: net.listen: more than 16 addresses",
		     "20: net.listen: '[::1]:3' is listed twice", "21: net.listen: empty value");
	CHECK_EQ_INT(c.listen.n, CONF_LISTEN_MAX);
}

static void test_load_bounded(void)
{
	char text[2048];
	size_t len;
	struct conf_errors e;
	struct conf c;

	len = (size_t)snprintf(text, sizeof(text), "[core]\n");
	for (unsigned i = 0; i < CONF_ERRORS_MAX + 8; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "k%u = 1\n", i);
	CHECK_EQ_INT(load_text(text, &c, NULL, &e), -EINVAL);
	CHECK_EQ_INT(e.n, CONF_ERRORS_MAX);
	CHECK_EQ_INT(e.dropped, 8);
	CHECK(strstr(e.msg[CONF_ERRORS_MAX - 1], ":33: core.k31: unknown key"));
	CHECK_EQ_INT(load_text(text, &c, NULL, NULL), -EINVAL); /* errs may be NULL */
}

static void test_load_unreadable(void)
{
	struct conf_errors e;
	struct conf c;

	CHECK_EQ_INT(conf_load(&c, "/nonexistent/ringseed.conf", &e), -ENOENT);
	CHECK_EQ_INT(e.n, 1);
	CHECK_STR(e.msg[0], "/nonexistent/ringseed.conf: No such file or directory");
	CHECK_EQ_INT(conf_load(&c, "/tmp", &e), -EISDIR);
	CHECK_EQ_INT(e.n, 1);
	CHECK_STR(e.msg[0], "/tmp: Is a directory");
	CHECK_EQ_INT(c.workers, 0); /* defaults all the same */
}

/* print, load, print again: same text, and for the defaults the same bytes. */
static void check_round_trip(const struct conf *c)
{
	char *first = print_to_string(c), *second;
	struct conf_errors e;
	struct conf back;

	CHECK_EQ_INT(load_text(first, &back, NULL, &e), 0);
	CHECK_ERRORS(&e, NULL);
	second = print_to_string(&back);
	CHECK_STR(second, first);
	CHECK(memcmp(&back, c, sizeof(back)) == 0);
	free(first);
	free(second);
}

static void test_print(void)
{
	struct conf c;
	struct tconf t, tback;
	char *text, *again = NULL;
	size_t len;
	FILE *f;

	conf_defaults(&c);
	check_round_trip(&c);
	text = print_to_string(NULL);
	CHECK(strstr(text, "\n[core]\n"));
	CHECK(strstr(text, "\n# auto or 1..256; default: auto\nworkers = auto\n"));
	CHECK(strstr(text, "\nlisten = 0.0.0.0:6881\nlisten = [::]:6881\n"));
	free(text);
	/* (REQUIRE evaluates its condition twice: no side effects in it) */
	CHECK_EQ_INT(conf_set(&c, "core", "workers", "12", NULL, 0), 0);
	CHECK_EQ_INT(conf_set(&c, "core", "log_level", "warning", NULL, 0), 0);
	CHECK_EQ_INT(conf_set(&c, "net", "listen", "[fe80::1]:9000", NULL, 0), 0);
	CHECK_EQ_INT(conf_add(&c, "net", "listen", "10.1.2.3:9001", NULL, 0), 0);
	CHECK_EQ_INT(conf_set(&c, "paths", "data_dir", "/srv/a;b c", NULL, 0), 0);
	CHECK_EQ_INT(c.listen.n, 2);
	check_round_trip(&c);

	/* every type, through the test table */
	conf_table_defaults(&ttable, &t);
	CHECK_EQ_INT(tset(&t, "a", "flag", "on"), 0);
	CHECK_EQ_INT(tset(&t, "b", "size", "5000"), 0);
	f = open_memstream(&text, &len);
	REQUIRE(f);
	CHECK_EQ_INT(conf_table_print(&ttable, f, &t), 0);
	fclose(f);
	CHECK(strstr(text, "\nname = \n"));
	CHECK(strstr(text, "\nsize = 5000\n"));
	CHECK(strstr(text, "# a size in bytes, K/M/G for 2^10/2^20/2^30, 4K..1024G; default: 4M"));
	CHECK_EQ_INT(load_text(text, NULL, &tback, NULL), 0);
	CHECK(memcmp(&t, &tback, sizeof(t)) == 0);
	f = open_memstream(&again, &len);
	REQUIRE(f);
	conf_table_print(&ttable, f, &tback);
	fclose(f);
	CHECK_STR(again, text);
	free(text);
	free(again);

	f = fopen("/dev/full", "w");
	if (f) {
		CHECK_EQ_INT(conf_print(f, NULL), -EIO);
		fclose(f);
	}
}

/* conf/ringseed.conf loads to the defaults and sets the keys conf_print prints, in order. */
static void test_sample(void)
{
	char path[4096];
	const char *top = getenv("TOP");
	struct conf_errors e;
	struct conf c, d;
	char *text, *want, *have;
	FILE *f;

	snprintf(path, sizeof(path), "%s/conf/ringseed.conf", top ? top : ".");
	CHECK_EQ_INT(conf_load(&c, path, &e), 0);
	for (unsigned i = 0; i < e.n; i++)
		fprintf(stderr, "%s\n", e.msg[i]);
	conf_defaults(&d);
	CHECK(memcmp(&c, &d, sizeof(c)) == 0);

	f = fopen(path, "r");
	REQUIRE(f);
	have = settings_of(f);
	fclose(f);
	text = print_to_string(NULL);
	f = fmemopen(text, strlen(text), "r");
	REQUIRE(f);
	want = settings_of(f);
	fclose(f);
	CHECK_STR(have, want);
	free(text);
	free(want);
	free(have);
}

int main(void)
{
	test_table_sane();
	test_defaults();
	test_int();
	test_bool();
	test_enum();
	test_text();
	test_size();
	test_addr_forms();
	test_addr_list();
	test_set_api();
	test_load_values();
	test_load_errors();
	test_load_syntax();
	test_load_listen();
	test_load_bounded();
	test_load_unreadable();
	test_print();
	test_sample();
	return test_done("test_conf");
}
