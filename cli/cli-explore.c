/*
 * cli-explore.c - `clustersim explore`: its table of options and their
 * defaults; the exploration itself is harness/explore/'s.
 */
#include "cli-internal.h"

#include <stdlib.h>
#include <string.h>

#include "explore.h"

typedef struct {
  explore_opts_t x;
  const char *clustersim;    /* --clustersim PATH */
  bool list_checks;
} explore_args_t;

#define E explore_args_t
static const cli_option_t explore_options[] = {
  CLI_SECTION("Base cluster (without BASE.yaml)"),
  CLI_UINT(E, x.workers, 0, "workers", "N", 0, 16, "0 to 16",
           "workers forked before the first action (default 2)"),
  CLI_STRING(E, x.scheduling, 0, "scheduling", "rr|none",
             "cluster.schedulingPolicy (default rr)"),
  CLI_STRING(E, x.respawn, 0, "respawn", "RULE",
             "never, always (default), unless-exited-after-disconnect\n"
             "or on-nonzero"),
  CLI_SECTION("Schedules"),
  CLI_U64(E, x.seed, x.seed_set, "seed", "S", "an unsigned integer",
          "the seed (default: random; always printed)"),
  CLI_U64(E, x.run, x.run_set, "run", "I", "an unsigned integer",
          "only schedule I of the seed: replays it exactly"),
  CLI_UINT(E, x.runs, 0, "runs", "N", 1, 1000000, "1 to 1000000",
           "schedules to draw and run (default 200)"),
  CLI_UINT(E, x.steps, 0, "steps", "K", 1, EXPLORE_MAX_STEPS, "1 to 64",
           "actions per schedule (default 6)"),
  CLI_STRING(E, x.load, 0, "load", "MODE",
             "random (default: 4 schedules in 10), always or never"),
  CLI_UINT(E, x.min_delay_ms, 0, "min-delay", "MS", 0, 60000, "0 to 60000",
           "every action waits at least MS ms (default 0)"),
  CLI_FLAG(E, x.print, 0, "print", "print every schedule's YAML as it runs"),
  CLI_FLAG(E, x.dry_run, 0, "dry-run", "print the schedules, run nothing"),
  CLI_SECTION("Targets and budgets"),
  CLI_LIST(E, x.targets, x.n_targets, "target", "T",
           "builtin (default), node, node-c, c-node, exec:CMD;\n"
           "two or more: differential (each against the first)"),
  CLI_STRING(E, x.runtime, 0, "runtime", "PATH",
             "the node binary of node, node-c and c-node"),
  CLI_STRING(E, clustersim, 0, "clustersim", "PATH",
             "the clustersim binary of the builtin agents"),
  CLI_UINT(E, x.jobs, 'j', "jobs", "N", 1, 64, "1 to 64",
           "runs at once (default 1)"),
  CLI_UINT(E, x.time_s, 0, "time", "SECONDS", 1, 86400, "1 to 86400",
           "stop drawing after this wall time (default 600)"),
  CLI_UINT(E, x.max_findings, 0, "max-findings", "N", 1, 1000000,
           "1 to 1000000", "stop drawing after N failing runs"),
  CLI_DOUBLE(E, x.time_scale, "time-scale", "F", 0.1, 100.0, "0.1 to 100",
             "multiply every deadline and bound by F"),
  CLI_SECTION("Properties and findings"),
  CLI_LIST(E, x.checks, x.n_checks, "check", "P",
           "check only property P (repeatable; default: all)"),
  CLI_FLAG(E, list_checks, 0, "list-checks",
           "list the properties and what each checks"),
  CLI_FLAG(E, x.no_shrink, 0, "no-shrink", "write findings as drawn"),
  CLI_UINT(E, x.shrink_tries, 0, "shrink-tries", "N", 1, 100, "1 to 100",
           "runs of a candidate before it counts as passing\n(default 3)"),
  CLI_UINT(E, x.confirm, 0, "confirm", "N", 1, 100, "1 to 100",
           "runs that reproduce a finding and confirm the shrunk\n"
           "one (default 5)"),
  CLI_UINT(E, x.window_ms, 0, "window", "MS", 100, 60000, "100 to 60000",
           "measurements before and after each fault (default\n1000)"),
  CLI_SECTION("Output"),
  CLI_STRING(E, x.out_dir, 'o', "out", "DIR",
             "summary.json, runs.jsonl and the findings' scenarios\n"
             "(default explore-out)"),
  CLI_STRING(E, x.html, 0, "html", "FILE",
             "a report: the findings' timelines, load and latency"),
  CLI_FLAG(E, x.quiet, 'q', "quiet", "no progress line"),
  CLI_HELP,
};
#undef E

static const cli_exit_t explore_exits[] = {
  {BASE_EXIT_PASS, "no property broke"},
  {BASE_EXIT_FAIL, "a run broke a property (the findings are written)"},
  {BASE_EXIT_SCENARIO, "BASE.yaml cannot be used"},
  {BASE_EXIT_INTERNAL, "internal error of the harness"},
  {BASE_EXIT_USAGE, "bad command line"},
  {BASE_EXIT_INTERRUPTED, "interrupted by SIGINT or SIGTERM (what was found "
                          "is written)"},
};

static int explore_cli_main(const cli_command_t *cmd, int argc, char **argv);

const cli_command_t cli__explore = {
    "Scenarios",
    "explore",
    "[options] [BASE.yaml]",
    "draw random fault schedules, check every property,\n"
    "shrink a failure to a minimal scenario",
    NULL,
    "Draws --runs schedules of --steps actions from the seed (faults,\n"
    "signals, disconnects, restarts, forks, sends, random delays, optional\n"
    "load) on a base cluster (BASE.yaml: a scenario without steps, or the\n"
    "flags), runs each as a scenario on the targets, checks the\n"
    "properties (--list-checks), and shrinks the first failure of each to\n"
    "a minimal scenario file (docs/explore.md).\n",
    explore_options,
    sizeof(explore_options) / sizeof(explore_options[0]),
    explore_exits,
    sizeof(explore_exits) / sizeof(explore_exits[0]),
    NULL,
    explore_cli_main,
};

static const char *const how_names[] = {"invariant", "expect", "runner",
                                        "check", "outcome", "diff"};

static void list_checks(void)
{
  int p;

  for (p = 0; p < EXPLORE_PROP_COUNT; p++) {
    char label[48];
    snprintf(label, sizeof(label), "%s (%s)",
             explore_prop_name((explore_prop_t)p),
             how_names[explore_prop_how((explore_prop_t)p)]);
    printf("%-34s %s\n", label, explore_prop_doc((explore_prop_t)p));
  }
}

static void defaults(explore_args_t *a)
{
  memset(a, 0, sizeof(*a));
  a->x.workers = 2;
  a->x.runs = 200;
  a->x.steps = 6;
  a->x.jobs = 1;
  a->x.time_s = 600;
  a->x.time_scale = 1.0;
  a->x.shrink_tries = 3;
  a->x.confirm = 5;
  a->x.window_ms = 1000;
  a->x.out_dir = "explore-out";
}

static int explore_cli_main(const cli_command_t *cmd, int argc, char **argv)
{
  explore_args_t a;
  char *line = cli__command_line(argc, argv), *self = NULL;
  int first, ret;

  defaults(&a);
  a.x.command_line = line;
  ret = cli__parse(cmd, argc, argv, &a, &first);
  if (ret == CLI__GO_ON && argc - first > 1)
    ret = cli__usage_error(cmd, "takes one BASE.yaml at most, got '%s'",
                           argv[first + 1]);
  if (ret == CLI__GO_ON && a.list_checks) {
    list_checks();
    ret = BASE_EXIT_PASS;
  }
  if (ret == CLI__GO_ON) {
    a.x.base_file = first < argc ? argv[first] : NULL;
    a.x.self = self = cli__find_self(a.clustersim);
    ret = self == NULL ? BASE_EXIT_INTERNAL : explore_main(&a.x);
  }
  cli__free(cmd, &a);
  free(line);
  free(self);
  fflush(stdout);
  return ret;
}
