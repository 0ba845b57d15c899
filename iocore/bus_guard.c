/*
 * bus_guard.c - SIGBUS from a mapped file as an error; see bus_guard.h.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>

#include "iocore/bus_guard.h"

static __thread sigjmp_buf *volatile bg_jmp;
static struct sigaction bg_old;
static pthread_once_t bg_once = PTHREAD_ONCE_INIT;
static int bg_rc;

static void bg_handler(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *jb = bg_jmp;

	if (jb) {
		bg_jmp = NULL;
		siglongjmp(*jb, 1);
	}
	/* Not ours: the old action, as if this handler had never been there. */
	if ((bg_old.sa_flags & SA_SIGINFO) && bg_old.sa_sigaction) {
		bg_old.sa_sigaction(sig, si, uc);
		return;
	}
	if (bg_old.sa_handler != SIG_DFL && bg_old.sa_handler != SIG_IGN) {
		bg_old.sa_handler(sig);
		return;
	}
	/* Returning re-runs the faulting access, which now gets the default. */
	signal(SIGBUS, SIG_DFL);
}

static void bg_setup(void)
{
	struct sigaction sa = { .sa_sigaction = bg_handler, .sa_flags = SA_SIGINFO | SA_NODEFER };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &bg_old) != 0)
		bg_rc = -errno;
}

int bg_install(void)
{
	pthread_once(&bg_once, bg_setup);
	return bg_rc;
}

void bg_enter(sigjmp_buf *jb)
{
	bg_jmp = jb;
}

void bg_leave(void)
{
	bg_jmp = NULL;
}
