/*
 * cli.h - the command line of clustersim: every command, its options and
 * their parsing. One binary is re-executed in every role: `clustersim run`
 * for the user, `clustersim primary` and `clustersim worker` for the
 * harness and the cluster. main() (cli-main.c) only hands argv to cli_run.
 *
 * Exit codes are base.h's BASE_EXIT_*; a bad command line is
 * BASE_EXIT_USAGE (64) for every command (docs/harness.md, "Exit codes").
 */
#ifndef CLI_H
#define CLI_H

/* Runs one command line. argv[0] is the command ("run", "report",
 * "worker", "--help"...), argv[1..argc-1] its arguments; argv is not
 * freed and may be reordered (getopt_long moves operands last). Prints to
 * stdout and stderr; returns the process exit code. May be called again
 * in the same process (the tests do). */
int cli_run(int argc, char **argv);

#endif /* CLI_H */
