/*
 * bus_guard.h - survive a SIGBUS while reading a file through mmap.
 *
 * Touching a mapped page past the end of a file that shrank after it was
 * mapped (or one the disk cannot read) raises SIGBUS, which would kill the
 * whole process (the master hashes content through mappings, a worker
 * ciphers RC4 peers' blocks from them). A thread that reads a mapping does it between bg_enter() and bg_leave(), with a
 * sigsetjmp() of its own before: a SIGBUS in that window jumps back there
 * (returning 1 from sigsetjmp), and the read is reported as a failure of
 * that file. A SIGBUS anywhere else gets the action that was there before.
 *
 *	sigjmp_buf jb;
 *
 *	if (sigsetjmp(jb, 0)) {
 *		bg_leave();
 *		return -EIO;
 *	}
 *	bg_enter(&jb);
 *	... read the mapping ...
 *	bg_leave();
 */
#ifndef RINGSEED_BUS_GUARD_H
#define RINGSEED_BUS_GUARD_H

#include <setjmp.h>

/* Installs the SIGBUS handler once per process. Returns 0 or -errno. */
int bg_install(void);
void bg_enter(sigjmp_buf *jb);
void bg_leave(void);

#endif
