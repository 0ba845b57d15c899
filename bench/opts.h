/*
 * opts.h - ringseed-bench's command line into struct bench_opts.
 */
#ifndef RINGSEED_BENCH_OPTS_H
#define RINGSEED_BENCH_OPTS_H

#include <stdio.h>

#include "bench/bench.h"

/* -b all: the torrent's total length, known once it is loaded. */
#define OPTS_BUDGET_ALL UINT64_MAX

/*
 * Fills o from argv. Returns 0, 1 after printing --help, or -EINVAL after
 * printing one line naming the bad option.
 */
int opts_parse(struct bench_opts *o, int argc, char **argv);
void opts_usage(FILE *f);

#endif
