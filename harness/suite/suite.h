/*
 * suite.h - running a selection of scenarios: discovery, selection,
 * sharding, repeats, jobs, reports; and the `run|check|list` commands.
 *
 * Conventions (every harness module follows them): functions return 0 or a
 * negative UV_E* code; strings passed in are borrowed (copied when kept);
 * objects returned through an out pointer are owned by the caller and
 * released by the matching _free. Libraries never print: diagnostics come
 * back as strings.
 */
#ifndef SUITE_H
#define SUITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

/* ---------------------------------------------------------------------- */
/* Command line                                                            */

/* `clustersim run|check|list ...`; argv[0] is the subcommand. Prints to
 * stdout/stderr; returns one of the BASE_EXIT_* codes. */
int suite_cli_main(int argc, char **argv);


/* ---------------------------------------------------------------------- */
/* Command line (suite-cli.c) and running a selection (suite.c)  */

typedef enum {
  SUITE_CMD_RUN = 0,
  SUITE_CMD_CHECK,
  SUITE_CMD_LIST,
  SUITE_CMD_DIFF
} suite_cmd_t;

typedef struct {
  suite_cmd_t command;
  char **paths;
  size_t n_paths;
  char **filters;
  size_t n_filters;
  char **tags;
  size_t n_tags;
  char **targets;
  size_t n_targets;
  unsigned shard_i, shard_n;
  unsigned jobs;
  unsigned repeat;
  uint64_t seed;
  bool seed_set;
  double time_scale;
  const char *runtime;
  const char *trace_dir;
  const char *trace_file;
  const char *junit;
  bool junit_strict;
  const char *html;
  bool tap;
  bool quiet;
  bool diff;                        /* compare the targets' projections */
  char *self;                       /* the clustersim binary */
  char *command_line;               /* for the reports */
  scenario_t **scenarios;   /* the selection, sorted by file */
  size_t n_scenarios;
  unsigned invalid;                 /* files that failed to load */
  char **bad_files;                 /* scenario files that are invalid */
  char **bad_details;               /* their error lines */
  size_t n_bad;
} suite_cli_t;

/* `run` over cli->scenarios; returns an exit code. */
int suite_run(suite_cli_t *cli);
/* `check --trace FILE`: oracle + expectations of the one selected
 * scenario on a recorded trace; returns an exit code. */
int suite_check_trace(suite_cli_t *cli);
/* `diff A.jsonl B.jsonl`: the first difference per worker of two recorded
 * traces; returns an exit code (0 the same, 1 different, 3 unreadable). */
int suite_diff_traces(const char *a, const char *b, bool quiet);


#endif /* SUITE_H */
