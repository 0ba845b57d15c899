/*
 * guard.h - never a stale byte: the content files of every torrent served
 * are watched, and a torrent whose file is opened for writing, modified,
 * truncated, replaced or deleted is taken out of service before a changed
 * byte can go out, rechecked off the loop, and served again with only the
 * pieces that pass.
 *
 * Two watches per file:
 *  - a read lease (fcntl F_SETLEASE, F_RDLCK) on a read-only descriptor the
 *    master holds. A writer's open(2) or truncate(2) then waits until the
 *    master lets the lease go (at most /proc/sys/fs/lease-break-time
 *    seconds), and the kernel tells the master at once with GUARD_SIG
 *    (F_SETSIG; read on the master's signalfd, si_fd names the file).
 *    Leases need the file's owner or CAP_LEASE: a master that drops to
 *    core.user keeps CAP_LEASE (privs.c) and nothing else.
 *  - inotify (IN_MODIFY, IN_ATTRIB, IN_DELETE_SELF, IN_MOVE_SELF,
 *    IN_CLOSE_WRITE): a delete or a rename over the file (which no lease
 *    sees), and the fallback where a lease cannot be had (another owner
 *    without CAP_LEASE, a filesystem without leases): then a change is seen
 *    only after the write, so a changed byte may go out before.
 *
 * A torrent's states:
 *
 *   SERVING --lease break / inotify--> DRAINING: REMOVE_TORRENT to every
 *      worker (its peers closed, its files closed and unmapped); peers for
 *      it refused (workers.drop_paused); the lease is still held
 *   DRAINING --every worker said REMOVED (or died)--> HELD: leases let go,
 *      the writer's open completes
 *      (a worker that has not answered by half the lease-break time is
 *      killed, so the kernel never gives the file to a writer first)
 *   HELD --no event for GUARD_SETTLE_MS, every file there with its size,
 *      no writer holding one (the new lease is granted)--> CHECKING: the
 *      torrent is rechecked in the background (recheck.h), under new leases
 *   CHECKING --done--> SERVING: ADD_TORRENT with the new have bitfield
 *   CHECKING --lease break / inotify--> HELD (the check's result is void)
 */
#ifndef RINGSEED_GUARD_H
#define RINGSEED_GUARD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define GUARD_SIG	  (SIGRTMIN + 1) /* lease breaks, with si_fd */
#define GUARD_SETTLE_MS	  200	/* a file quiet this long may be checked */
#define GUARD_RETRY_MS	  1000	/* a file missing or short: look again this often */

enum gstat {
	GSTAT_LEASE_BREAKS, /* a writer opened a leased file */
	GSTAT_CHANGES,	    /* inotify saw a change to a file being served */
	GSTAT_TAKEN_OUT,    /* torrents taken out of service */
	GSTAT_RECHECKS,	    /* background checks finished */
	GSTAT_KILLS,	    /* workers killed for not closing a torrent's files in time */
	GSTAT_NO_LEASE,	    /* files watched by inotify only */
	GSTAT_MAX
};

#endif
