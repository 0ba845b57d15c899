/*
 * test_mpex.c - the master's half of peer exchange (master/proc/pex.c): a
 * worker's JOIN becomes an ADD to every worker, its LEAVE a DEL; a leave
 * that does not match (another generation, another torrent) changes
 * nothing; a worker that dies takes its entries with it (DELs), and one
 * that starts hears the whole list.
 *
 * The workers are socketpairs: the test plays each worker's end.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "master/proc/pex.h"
#include "tests/unit/test.h"

static struct workers ws;
static struct wproc wp[2];
static int theirs[2]; /* each worker's end */

static void setup(void)
{
	int sv[2];

	ws = (struct workers){ .w = wp, .n = 2, .epfd = epoll_create1(EPOLL_CLOEXEC) };
	REQUIRE(ws.epfd >= 0);
	for (int i = 0; i < 2; i++) {
		REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) == 0);
		wp[i] = (struct wproc){ .channel = sv[0], .pid = 100 + i };
		theirs[i] = sv[1];
	}
}

static void join(int i, uint32_t torrent, uint64_t key, uint8_t last)
{
	struct wmsg m = { .type = WMSG_PEX_JOIN, .torrent = torrent };

	m.pex = (struct wmsg_pex){
		.key = key, .port = 6881, .family = 4, .flags = 1, .addr = { 10, 0, 0, last }
	};
	REQUIRE(send(theirs[i], &m, wmsg_len(&m), 0) == (ssize_t)wmsg_len(&m));
}

static void leave(int i, uint32_t torrent, uint64_t key)
{
	struct wmsg m = { .type = WMSG_PEX_LEAVE, .torrent = torrent };

	m.pex.key = key;
	REQUIRE(send(theirs[i], &m, wmsg_len(&m), 0) == (ssize_t)wmsg_len(&m));
}

/* The next message worker i got; false when none waits. */
static bool got(int i, struct wmsg *m)
{
	ssize_t n = recv(theirs[i], m, sizeof(*m), MSG_DONTWAIT);

	if (n <= 0)
		return false;
	CHECK_EQ_INT(n, wmsg_len(m));
	return true;
}

static void test_fanout(void)
{
	struct mpex x;
	struct wmsg m, m1;
	uint64_t id;

	setup();
	REQUIRE(mpex_init(&x, 2) == 0);
	mpex_check(&x, &ws); /* both workers start: empty lists */
	CHECK(!got(0, &m) && !got(1, &m));

	join(0, 7, (uint64_t)3 << 32 | 5, 1);
	mpex_read(&x, &ws, 0);
	CHECK_EQ_INT(x.listed, 1);
	for (int i = 0; i < 2; i++) {
		REQUIRE(got(i, &m));
		CHECK_EQ_INT(m.type, WMSG_PEX_ADD);
		CHECK_EQ_INT(m.torrent, 7);
		CHECK_EQ_INT(m.pex.worker, 0);
		CHECK_EQ_INT(m.pex.key, (uint64_t)3 << 32 | 5);
		CHECK_EQ_INT(m.pex.port, 6881);
		CHECK_EQ_INT(m.pex.flags, 1);
		CHECK_EQ_INT(m.pex.addr[3], 1);
	}
	id = m.pex.id;

	/* Leaves that are not its: another generation, another torrent. */
	leave(0, 7, (uint64_t)4 << 32 | 5);
	leave(0, 8, (uint64_t)3 << 32 | 5);
	leave(1, 7, (uint64_t)3 << 32 | 5); /* the other worker's slot 5 */
	mpex_read(&x, &ws, 0);
	mpex_read(&x, &ws, 1);
	CHECK(!got(0, &m) && !got(1, &m));
	CHECK_EQ_INT(x.listed, 1);

	/* A bad join is counted and goes nowhere. */
	join(1, 7, 9, 2);
	{
		struct wmsg bad = { .type = WMSG_PEX_JOIN, .torrent = 7 };

		bad.pex.key = 10;
		bad.pex.family = 5;
		REQUIRE(send(theirs[1], &bad, wmsg_len(&bad), 0) > 0);
	}
	mpex_read(&x, &ws, 1);
	CHECK_EQ_INT(x.bad, 1);
	CHECK_EQ_INT(x.listed, 2);
	REQUIRE(got(0, &m1));
	CHECK(m1.pex.id != id && m1.pex.worker == 1);
	REQUIRE(got(1, &m1));
	CHECK(!got(0, &m) && !got(1, &m));

	/* Its own leave: a DEL everywhere. */
	leave(0, 7, (uint64_t)3 << 32 | 5);
	mpex_read(&x, &ws, 0);
	CHECK_EQ_INT(x.listed, 1);
	for (int i = 0; i < 2; i++) {
		REQUIRE(got(i, &m));
		CHECK_EQ_INT(m.type, WMSG_PEX_DEL);
		CHECK_EQ_INT(m.pex.id, id);
	}

	/* Worker 1 dies: its entry goes (a DEL to the living); restarted, it hears the list. */
	join(0, 7, 11, 3);
	mpex_read(&x, &ws, 0);
	REQUIRE(got(0, &m) && got(1, &m));
	close(wp[1].channel);
	wp[1].channel = -1;
	wp[1].pid = 0;
	mpex_check(&x, &ws);
	CHECK_EQ_INT(x.listed, 1);
	REQUIRE(got(0, &m));
	CHECK_EQ_INT(m.type, WMSG_PEX_DEL);
	CHECK_EQ_INT(m.pex.worker, 1);
	{
		int sv[2];

		REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) == 0);
		close(theirs[1]);
		wp[1].channel = sv[0];
		wp[1].pid = 200;
		theirs[1] = sv[1];
	}
	mpex_check(&x, &ws);
	REQUIRE(got(1, &m));
	CHECK_EQ_INT(m.type, WMSG_PEX_ADD);
	CHECK_EQ_INT(m.pex.key, 11);
	CHECK(!got(1, &m) && !got(0, &m));
	mpex_free(&x);
	for (int i = 0; i < 2; i++) {
		close(wp[i].channel);
		close(theirs[i]);
	}
	close(ws.epfd);
}

int main(void)
{
	test_fanout();
	return test_done("mpex");
}
