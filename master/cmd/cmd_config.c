/*
 * cmd_config.c - `ringseed check-config` and `ringseed print-config`.
 *
 * Both are thin: conf/ does the work and returns its errors as finished lines
 * ("FILE:LINE: KEY: REASON"), which land on stderr as they are, one per line,
 * so an operator (or an editor's jump-to-error) can go straight to the line.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "master/cmd/cmd.h"

static void check_config_usage(FILE *f)
{
	fprintf(f, "usage: ringseed check-config FILE\n"
		   "\n"
		   "Reads FILE as a ringseed configuration and reports every problem in it, not\n"
		   "just the first, one per line on stderr, as FILE:LINE: SECTION.KEY: REASON.\n"
		   "Prints 'FILE: ok' on stdout when there is none.\n"
		   "\n"
		   "  -h, --help   this text\n"
		   "\n"
		   "Exit status: 0 valid, 1 invalid or unreadable, 2 usage error.\n"
		   "See 'ringseed print-config' for every key, its values and its default.\n");
}

static void print_config_usage(FILE *f)
{
	fprintf(f, "usage: ringseed print-config [-c FILE]\n"
		   "       ringseed print-config --man   (ringseed.conf(5), in roff)\n"
		   "\n"
		   "Prints every configuration key with a comment saying what it does, the\n"
		   "values it takes and its default. Without -c the values are the defaults;\n"
		   "with -c they are FILE's. The output is itself a valid configuration file:\n"
		   "  ringseed print-config > /etc/ringseed/ringseed.conf\n"
		   "starts one. When FILE has errors they go to stderr and nothing is printed.\n"
		   "\n"
		   "  -c, --config FILE   print FILE's values instead of the defaults\n"
		   "  -h, --help          this text\n"
		   "\n"
		   "Exit status: 0 printed, 1 FILE invalid or unreadable, or a write error,\n"
		   "2 usage error.\n");
}

static void report_errors(const char *path, const struct conf_errors *errs)
{
	for (unsigned i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->msg[i]);
	if (errs->dropped)
		fprintf(stderr, "%s: %u more errors not shown\n", path, errs->dropped);
}

static const struct option help_only[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct option help_and_config[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "config", required_argument, NULL, 'c' },
	{ NULL, 0, NULL, 0 },
};

/* -h/--help, and -c FILE where config is not NULL. Returns the exit status, or -1 to go on. */
static int parse_options(int argc, char **argv, const char **config, void (*usage)(FILE *))
{
	int ch;

	optind = 1; /* argv[0] is the command name; start after it whatever ran before */
	while ((ch = getopt_long(argc, argv, config ? "hc:" : "h",
				 config ? help_and_config : help_only, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			return 0;
		}
		if (ch == 'c' && config) {
			*config = optarg;
			continue;
		}
		usage(stderr);
		return 2;
	}
	return -1;
}

int cmd_check_config(int argc, char **argv)
{
	struct conf_errors errs;
	struct conf c;
	int r;

	r = parse_options(argc, argv, NULL, check_config_usage);
	if (r >= 0)
		return r;
	if (argc - optind != 1) {
		fprintf(stderr, "ringseed check-config: expected one FILE\n");
		check_config_usage(stderr);
		return 2;
	}
	if (conf_load(&c, argv[optind], &errs) < 0) {
		report_errors(argv[optind], &errs);
		return 1;
	}
	printf("%s: ok\n", argv[optind]);
	return 0;
}

int cmd_print_config(int argc, char **argv)
{
	struct conf_errors errs;
	const char *path = NULL;
	struct conf c;
	int r;

	if (argc == 2 && strcmp(argv[1], "--man") == 0)
		return conf_print_man(stdout) == 0 ? 0 : 1;
	r = parse_options(argc, argv, &path, print_config_usage);
	if (r >= 0)
		return r;
	if (optind != argc) {
		fprintf(stderr, "ringseed print-config: unexpected argument '%s'\n", argv[optind]);
		print_config_usage(stderr);
		return 2;
	}
	if (path && conf_load(&c, path, &errs) < 0) {
		report_errors(path, &errs);
		return 1;
	}
	if (conf_print(stdout, path ? &c : NULL) < 0) {
		fprintf(stderr, "ringseed print-config: write error on stdout\n");
		return 1;
	}
	return 0;
}
