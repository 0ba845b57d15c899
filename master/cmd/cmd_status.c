/*
 * cmd_status.c - `ringseed status`: what a running seeder is doing, from its
 * admin endpoint (GET /status).
 *
 * The table is rendered by the seeder itself (/status?format=text) from the
 * same snapshot as the JSON, so the two views never disagree; --json prints
 * the JSON as it came. One connection, a 5 s deadline, nothing else.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "master/cmd/cmd.h"

#define STATUS_TIMEOUT_MS 5000
#define STATUS_MAX	  (64u << 20)

static void status_usage(FILE *f)
{
	fprintf(f, "usage: ringseed status [--admin ADDR:PORT] [--json]\n"
		   "\n"
		   "Shows the torrents (state, size, peers, upload rate, bytes up, verification\n"
		   "as a bar), the workers and the trackers of a running `ringseed serve`, read\n"
		   "from its admin endpoint.\n"
		   "\n"
		   "  -a, --admin ADDR:PORT  where the admin endpoint is (default 127.0.0.1:9881,\n"
		   "                         admin.listen's default)\n"
		   "  -j, --json             the JSON of GET /status, for scripts\n"
		   "  -h, --help             this text\n");
}

static long status_left_ms(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return STATUS_TIMEOUT_MS - ((now.tv_sec - t0->tv_sec) * 1000 +
				    (now.tv_nsec - t0->tv_nsec) / 1000000);
}

/* The whole response (headers and body) into *out; -errno on failure. */
static int status_fetch(const struct conf_addr *a, const char *target, char **out, size_t *len)
{
	struct timespec t0;
	char req[256];
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	int fd, rc = 0, rlen;

	if (!buf)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, &a->sa, a->len) != 0) {
		rc = -errno;
		goto out;
	}
	rlen = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: ringseed\r\nConnection: close\r\n\r\n",
			target);
	if (send(fd, req, (size_t)rlen, MSG_NOSIGNAL) != rlen) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left = status_left_ms(&t0);
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) != 1) {
			rc = -ETIMEDOUT;
			goto out;
		}
		if (n + 1 == cap) {
			char *more = cap * 2 <= STATUS_MAX ? realloc(buf, cap * 2) : NULL;

			if (!more) {
				rc = -EFBIG;
				goto out;
			}
			buf = more;
			cap *= 2;
		}
		r = recv(fd, buf + n, cap - n - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "admin", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *where = "127.0.0.1:9881";
	bool json = false;
	struct conf c;
	char why[256], *resp = NULL, *body;
	size_t len;
	int opt, rc, code = 0;

	while ((opt = getopt_long(argc, argv, "a:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			where = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			status_usage(stdout);
			return 0;
		default:
			status_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		status_usage(stderr);
		return 2;
	}
	conf_defaults(&c);
	if (conf_set(&c, "admin", "listen", where, why, sizeof(why)) != 0 || !c.admin_listen.n) {
		fprintf(stderr, "ringseed status: --admin %s: %s\n", where, why);
		return 2;
	}
	rc = status_fetch(&c.admin_listen.addr[0], json ? "/status" : "/status?format=text", &resp,
			  &len);
	if (rc) {
		fprintf(stderr, "ringseed status: %s: %s (is `ringseed serve` running with admin.listen "
				"there?)\n",
			where, strerror(-rc));
		return 1;
	}
	body = strstr(resp, "\r\n\r\n");
	if (sscanf(resp, "HTTP/1.%*c %d", &code) != 1 || !body) {
		fprintf(stderr, "ringseed status: %s: not an HTTP response\n", where);
		free(resp);
		return 1;
	}
	body += 4;
	fputs(body, code == 200 ? stdout : stderr);
	free(resp);
	return code == 200 ? 0 : 1;
}
