/*
 * cli-agent.c - the roles: `clustersim primary` (the builtin primary
 * agent, started by the harness) and `clustersim worker` (a cluster
 * worker, forked by a primary). What their environment says is the
 * agents' to judge, with the exit codes every agent of docs/protocol.md
 * uses; a bad command line is BASE_EXIT_USAGE here, as for every command.
 */
#include "cli-internal.h"

#include <stdlib.h>
#include <string.h>

#include "primary.h"
#include "worker.h"

/* The options struct of a command that only has --help. */
typedef struct {
  bool unused;
} no_args_t;

static const cli_option_t help_only[] = {CLI_HELP};

/* ---------------------------------------------------------------------- */
/* primary                                                                 */

static const cli_exit_t primary_exits[] = {
  {BASE_EXIT_PASS, "the cluster ended (the harness shut it down, or the\n"
                   "control socket closed)"},
  {2, "CLUSTERSIM_CONTROL is missing, the agent was started as\n"
      "a cluster worker, or it cannot connect (docs/protocol.md)"},
  {BASE_EXIT_USAGE, "bad command line"},
};

static int primary_command(const cli_command_t *cmd, int argc, char **argv);

const cli_command_t cli__primary = {
    "Roles (started by clustersim itself or by a cluster primary)",
    "primary",
    "",
    "the builtin primary agent (docs/protocol.md)",
    NULL,
    "The builtin target's primary agent: a cluster on sim/ driven over the\n"
    "control socket named by CLUSTERSIM_CONTROL (docs/protocol.md).\n",
    help_only,
    1,
    primary_exits,
    sizeof(primary_exits) / sizeof(primary_exits[0]),
    NULL,
    primary_command,
};

static int primary_command(const cli_command_t *cmd, int argc, char **argv)
{
  no_args_t a;
  int first, rc = cli__parse(cmd, argc, argv, &a, &first);

  if (rc != CLI__GO_ON)
    return rc;
  if (first < argc)
    return cli__usage_error(cmd, "takes no arguments, got '%s'",
                            argv[first]);
  return primary_main(0, argv + argc);
}

/* ---------------------------------------------------------------------- */
/* worker                                                                  */

static const cli_exit_t worker_exits[] = {
  {BASE_EXIT_PASS, "the worker ended (disconnected, or its servers closed)"},
  {2, "CLUSTERSIM_WORKER is not a valid behaviour\n"
      "(docs/protocol.md, section 4.1), as for every worker agent"},
  {BASE_EXIT_USAGE, "bad command line"},
};

static int worker_command(const cli_command_t *cmd, int argc, char **argv);

const cli_command_t cli__worker = {
    "Roles (started by clustersim itself or by a cluster primary)",
    "worker",
    "[options] [--] [ARGS...]",
    "a cluster worker (docs/protocol.md section 4)",
    NULL,
    "A cluster worker on sim/, forked by a primary (or alone, outside a\n"
    "cluster). Its behaviour is CLUSTERSIM_WORKER's (docs/protocol.md,\n"
    "section 4.1), and its options say the same on the command line:\n"
    "--http [HOST:]PORT or --tcp [HOST:]PORT per server (then\n"
    "--exclusive, --close-delay MS and --max-connections N for it),\n"
    "--messages none|echo|count|reply, --startup-delay MS,\n"
    "--signal SIG=ignore|exit:N|default, --on-listening ACTION. The\n"
    "options end at -- or at the first argument that is not one: the rest\n"
    "are the program's own (setupPrimary's args).\n",
    NULL,
    0,
    worker_exits,
    sizeof(worker_exits) / sizeof(worker_exits[0]),
    NULL,
    worker_command,
};

/* The worker agent tells a bad option (exit 64) from a bad
 * CLUSTERSIM_WORKER (the protocol's exit 2) itself. */
static int worker_command(const cli_command_t *cmd, int argc, char **argv)
{
  if (argc == 2 &&
      (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    cli__help(cmd, stdout);
    return BASE_EXIT_PASS;
  }
  return worker_main(argc - 1, argv + 1);
}
