/*
 * cmd.h - the subcommands of bin/ringseed.
 *
 * Each takes the arguments after its own name (argv[0] is the command name),
 * prints its own --help, and returns the process exit status: 0 success,
 * 1 failure, 2 usage error.
 */
#ifndef RINGSEED_CMD_H
#define RINGSEED_CMD_H

int cmd_serve(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_print_config(int argc, char **argv);
int cmd_status(int argc, char **argv);

#endif
