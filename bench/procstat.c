/*
 * procstat.c - CPU time and resident memory of a process tree, from /proc.
 *
 * A seeder may be one process (rtorrent, aria2c, libtorrent) or a master with
 * worker children (ringseed, nginx): a sample sums the process and its direct
 * children. CPU time is utime + stime of each (all their threads, io_uring's
 * io-wq workers included, since those are threads of the process), plus the
 * process's cutime + cstime: the children it has already reaped, so a worker
 * that exited between two samples keeps counting. Memory is VmRSS summed over
 * the same processes (pages shared between a master and its forked workers
 * count once per process).
 *
 * The machine's own times (/proc/stat) say how much CPU went to processes
 * other than the seeder and the bench (or was stolen by the hypervisor):
 * another load during the window makes the numbers of a run on a shared
 * machine worth little, and the report says so. Interrupt and softirq time is
 * kept apart: on loopback it is mostly the TCP receive path of both sides,
 * which the kernel charges to no process.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench/bench.h"

struct proc_stat {
	pid_t ppid;
	unsigned long long utime, stime, cutime, cstime; /* clock ticks */
};

/* /proc/PID/stat fields 4 (ppid) and 14 to 17; false if the process is gone. */
static bool proc_read_stat(pid_t pid, struct proc_stat *st)
{
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: the fields follow the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return false;
	if (sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &ppid,
		   &st->utime, &st->stime, &st->cutime, &st->cstime) != 5)
		return false;
	st->ppid = ppid;
	return true;
}

/* VmRSS of /proc/PID/status in KiB; 0 when unknown (a kernel thread, a zombie). */
static uint64_t proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	unsigned long long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void proc_add(struct proc_sample *s, const struct proc_stat *st, pid_t pid, bool reaped)
{
	double tick = (double)sysconf(_SC_CLK_TCK);

	s->user_s += (double)(st->utime + (reaped ? st->cutime : 0)) / tick;
	s->sys_s += (double)(st->stime + (reaped ? st->cstime : 0)) / tick;
	s->rss_kb += proc_rss_kb(pid);
	s->nproc++;
}

void proc_sample_tree(pid_t pid, struct proc_sample *s)
{
	struct proc_stat st;
	struct dirent *de;
	DIR *d;

	memset(s, 0, sizeof(*s));
	if (!proc_read_stat(pid, &st))
		return;
	proc_add(s, &st, pid, true);
	s->ok = true;
	d = opendir("/proc");
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		pid_t child;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		child = (pid_t)strtol(de->d_name, NULL, 10);
		if (child != pid && proc_read_stat(child, &st) && st.ppid == pid)
			proc_add(s, &st, child, false);
	}
	closedir(d);
}

/* One process alone: its threads, not its children (ringseed's master, say). */
void proc_sample_one(pid_t pid, struct proc_sample *s)
{
	struct proc_stat st;

	memset(s, 0, sizeof(*s));
	if (!proc_read_stat(pid, &st))
		return;
	proc_add(s, &st, pid, false);
	s->ok = true;
}

void proc_sample_self(struct proc_sample *s)
{
	struct rusage ru;

	memset(s, 0, sizeof(*s));
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return;
	s->ok = true;
	s->user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	s->sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	s->rss_kb = proc_rss_kb(getpid());
	s->peak_kb = (uint64_t)ru.ru_maxrss; /* KiB on Linux; counted a little unlike VmRSS */
	if (s->peak_kb < s->rss_kb)
		s->peak_kb = s->rss_kb;
	s->nproc = 1;
}

void proc_sample_machine(struct machine_sample *m)
{
	unsigned long long v[8] = { 0 }; /* user nice system idle iowait irq softirq steal */
	double tick = (double)sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "r");

	memset(m, 0, sizeof(*m));
	if (!f)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) == 8) {
		m->ok = true;
		m->task_s = (double)(v[0] + v[1] + v[2]) / tick;
		m->irq_s = (double)(v[5] + v[6]) / tick;
		m->steal_s = (double)v[7] / tick;
	}
	fclose(f);
	m->ncpu = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
}
