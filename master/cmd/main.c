/*
 * main.c - bin/ringseed: dispatch to a subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "iocore/log.h"
#include "master/cmd/cmd.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "serve", cmd_serve, "seed the torrents of a directory (the seeder itself)" },
	{ "fetch", cmd_fetch, "fetch a torrent from its peers, every piece checked, then seed it" },
	{ "create", cmd_create, "make a .torrent from a file or a directory" },
	{ "status", cmd_status, "show what a running seeder is doing (from its admin endpoint)" },
	{ "info", cmd_info, "show what a .torrent holds (or why it is bad)" },
	{ "check-config", cmd_check_config, "validate a configuration file" },
	{ "print-config", cmd_print_config, "print every configuration key with its default" },
	{ 0 },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: ringseed COMMAND [ARGS]\n"
		   "       ringseed COMMAND --help\n\n"
		   "ringseed is a BitTorrent seeder appliance.\n\ncommands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(f, "  %-14s %s\n", c->name, c->summary);
	fprintf(f, "\n  --version      print the version\n  --help         this text\n");
}

int main(int argc, char **argv)
{
	log_init("ringseed", LOG_LVL_INFO);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("ringseed %s\n", RINGSEED_VERSION);
		return 0;
	}
	for (const struct command *c = commands; c->name; c++) {
		if (strcmp(argv[1], c->name) == 0)
			return c->run(argc - 1, argv + 1);
	}
	fprintf(stderr, "ringseed: unknown command '%s' (see ringseed --help)\n", argv[1]);
	return 2;
}
