/*
 * privs.c - core.user / core.group: who the master and the workers run as.
 *
 * ringseed starts as whoever runs it (often root, for ports below 1024),
 * binds every listener, then becomes core.user: setgroups to that user's
 * supplementary groups, setgid, setuid, in that order (a process that gave
 * up its uid can no longer change its groups). Each worker forked before
 * the drop drops by itself as its first act; those forked after inherit it.
 *
 * Started as root with core.user empty, ringseed refuses to serve: running
 * as root must be asked for by writing core.user = root.
 *
 * The master keeps one capability across the drop, CAP_LEASE: the file
 * leases that tell it of a writer before the write (guard.h) need the
 * file's owner or CAP_LEASE, and content is usually not core.user's. The
 * workers keep none.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/proc/master.h"

/* Looks core.user and core.group up now, while /etc is certainly readable. */
int privs_resolve(struct master *m)
{
	const struct conf *c = &m->conf;
	struct passwd *pw;
	struct group *gr;

	m->priv_drop = false;
	if (!c->user[0]) {
		if (geteuid() == 0) {
			log_errx("refusing to serve as root: set core.user to the user to run as "
				 "(or to root, to run as root on purpose)");
			return -EPERM;
		}
		return 0;
	}
	errno = 0;
	pw = getpwnam(c->user);
	if (!pw) {
		log_errx("core.user: no user '%s'%s%s", c->user, errno ? ": " : "",
			 errno ? strerror(errno) : "");
		return -ENOENT;
	}
	m->priv_uid = pw->pw_uid;
	m->priv_gid = pw->pw_gid;
	if (c->group[0]) {
		gr = getgrnam(c->group);
		if (!gr) {
			log_errx("core.group: no group '%s'", c->group);
			return -ENOENT;
		}
		m->priv_gid = gr->gr_gid;
	}
	if (m->priv_uid == geteuid() && m->priv_gid == getegid())
		return 0; /* already that user (root = root included) */
	if (geteuid() != 0) {
		log_errx("core.user %s: only root can become another user (running as uid %u)",
			 c->user, (unsigned)geteuid());
		return -EPERM;
	}
	m->priv_drop = true;
	return 0;
}

/* In the master after binding, and in each worker forked before that. */
int privs_drop(const struct master *m)
{
	if (!m->priv_drop || geteuid() != 0)
		return 0;
	if (initgroups(m->conf.user, m->priv_gid) != 0 && setgroups(0, NULL) != 0) {
		log_err("setgroups for %s", m->conf.user);
		return -errno;
	}
	if (setgid(m->priv_gid) != 0 || setuid(m->priv_uid) != 0) {
		log_err("becoming %s (uid %u, gid %u)", m->conf.user, (unsigned)m->priv_uid,
			(unsigned)m->priv_gid);
		return -errno;
	}
	/* A dropped process must not be able to take root back. */
	if (setuid(0) == 0) {
		log_errx("still able to become root after dropping to %s", m->conf.user);
		return -EPERM;
	}
	return 0;
}

/* Leaves only CAP_LEASE in the permitted and effective sets (capset(2), version 3). */
static int privs_keep_lease(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	d[CAP_LEASE / 32].permitted = d[CAP_LEASE / 32].effective = 1u << (CAP_LEASE % 32);
	return syscall(SYS_capset, &h, d) == 0 ? 0 : -errno;
}

/* The master's drop: as privs_drop, keeping CAP_LEASE. */
int privs_drop_master(const struct master *m)
{
	int rc;

	if (!m->priv_drop || geteuid() != 0)
		return privs_drop(m);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		log_warn("prctl(PR_SET_KEEPCAPS): file leases will need the content's owner");
	rc = privs_drop(m);
	if (rc)
		return rc;
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	if (privs_keep_lease() != 0)
		log_warn("keeping CAP_LEASE: file leases will need the content's owner");
	return 0;
}
