/*
 * test_bus_guard.c - a SIGBUS from a mapped file cut short, taken inside
 * bg_enter/bg_leave, returns to the sigsetjmp as a failure (twice: the
 * signal is not left blocked), and the process goes on.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iocore/bus_guard.h"
#include "tests/unit/test.h"

/* Reads byte off of the mapping under the guard: 0 read, -1 SIGBUS. */
static int touch(const volatile uint8_t *map, size_t off, uint8_t *out)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0)) {
		bg_leave();
		return -1;
	}
	bg_enter(&jb);
	*out = map[off];
	bg_leave();
	return 0;
}

int main(void)
{
	char path[] = "/tmp/ringseed-test-bg-XXXXXX";
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *buf = calloc(1, (size_t)page * 4), got = 0;
	volatile uint8_t *map;
	int fd = mkstemp(path);

	REQUIRE(fd >= 0 && buf);
	buf[page * 3] = 42;
	REQUIRE(write(fd, buf, (size_t)page * 4) == page * 4);
	map = mmap(NULL, (size_t)page * 4, PROT_READ, MAP_SHARED, fd, 0);
	REQUIRE(map != MAP_FAILED);
	CHECK_EQ_INT(bg_install(), 0);
	CHECK_EQ_INT(bg_install(), 0); /* once is enough; twice is harmless */
	CHECK_EQ_INT(touch(map, (size_t)page * 3, &got), 0);
	CHECK_EQ_INT(got, 42);
	REQUIRE(ftruncate(fd, page) == 0);
	CHECK_EQ_INT(touch(map, 0, &got), 0);
	CHECK_EQ_INT(touch(map, (size_t)page * 3, &got), -1);
	CHECK_EQ_INT(touch(map, (size_t)page * 2, &got), -1);
	munmap((void *)map, (size_t)page * 4);
	close(fd);
	unlink(path);
	free(buf);
	return test_done("test_bus_guard");
}
