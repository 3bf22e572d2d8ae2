/*
 * suite.h - running a selection of scenarios: discovery and selection
 * (filters, tags, shards), every scenario on every target, repeats, jobs at
 * once, and the reports; `check --trace` and `diff` of two recorded traces.
 * The command line that fills suite_opts_t is cli/'s.
 *
 * Conventions (every harness module follows them): functions return 0 or a
 * negative UV_E* code, except the commands' entry points, which return a
 * BASE_EXIT_* code; strings passed in are borrowed (copied when kept);
 * objects returned through an out pointer are owned by the caller and
 * released by the matching _free. Diagnostics of loading come back as
 * strings; a run prints its progress, results and summary (the reports).
 */
#ifndef SUITE_H
#define SUITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "load.h"
#include "report.h"
#include "runner.h"

/* ---------------------------------------------------------------------- */
/* Options                                                                 */

/* What to run and how. Every string and list is borrowed and must outlive
 * the calls that read it. */
typedef struct {
  /* selection */
  const char **paths;     /* scenario files, or folders searched
                             (recursively, sorted) for *.yaml and *.yml */
  size_t n_paths;
  const char **filters;   /* globs on the name: any of them (none: all) */
  size_t n_filters;
  const char **tags;      /* any of them (none: all) */
  size_t n_tags;
  unsigned shard_i;       /* the shard_i-th (1-based) of shard_n slices */
  unsigned shard_n;       /* 0: no sharding */
  /* running */
  const char **targets;   /* runner_target_parse specs; at least one */
  size_t n_targets;
  const char *runtime;    /* node of node, node-c, c-node (NULL: "node") */
  const char **runtime_args; /* given to that runtime, before the agent */
  size_t n_runtime_args;
  const char *self;       /* the clustersim binary of the builtin agents */
  unsigned jobs;          /* runs at once, >= 1 */
  unsigned repeat;        /* attempts per scenario and target, >= 1 */
  uint64_t seed;          /* the base seed, when seed_set */
  bool seed_set;
  double time_scale;      /* multiplies every deadline */
  bool diff;              /* compare every target with the first */
  const char *trace_dir;  /* one JSON-lines trace per run, or NULL */
  /* reports */
  const char *junit;      /* JUnit file, or NULL */
  bool junit_strict;      /* exactly junit-10.xsd */
  const char *html;       /* HTML page, or NULL */
  bool tap;               /* TAP 14 on stdout instead of the terminal view */
  bool quiet;             /* one line per bad run, and the summary */
  const char *command_line; /* the command as typed, for the reports */
  /* the compatibility matrix (clustersim matrix) */
  bool matrix;
  const char *coverage;   /* rules file (default: docs/coverage.md of the
                             source tree when it exists; "none": by tag) */
  const char *markdown;   /* matrix files, or NULL */
  const char *matrix_html;
  const char *json;
  /* expectations files */
  const char *expect;     /* known failures: pass when exactly those fail */
  const char *write_expect; /* record the run's failures */
} suite_opts_t;

/* ---------------------------------------------------------------------- */
/* Selection                                                               */

typedef struct {
  scenario_t **scenarios; /* the selection, sorted by file */
  size_t n_scenarios;
  unsigned invalid;       /* paths, files and names that are invalid */
  char **bad_files;       /* the invalid scenario files, whatever the */
  char **bad_details;     /* selection, and their error lines */
  size_t n_bad;
} suite_selection_t;

/* Loads every scenario under opts->paths and keeps the valid ones that
 * the filters, tags and shard select. An invalid file is always counted
 * (and kept in bad_files), whatever the selection, so a typo cannot hide a
 * scenario; so are a missing path and a second scenario of one name.
 * Diagnostics ("file:line:col: error: ...") are appended to diag. Returns
 * 0, or UV_ENOMEM; *sel is released by suite_selection_free either way. */
int suite_select(const suite_opts_t *opts, suite_selection_t *sel,
                 base_diag_t *diag);
void suite_selection_free(suite_selection_t *sel);

/* A load's measure (merged latency slices) as the page's load plot of a
 * case: each slice with its p50 and p99. 0, UV_ENOMEM, or the error of
 * report_load_set(). Nothing to draw is 0. */
int suite_load_report(report_case_t *rc, const load_measure_t *m);

/* ---------------------------------------------------------------------- */
/* Commands (each returns a BASE_EXIT_* code)                              */

/* Every selected scenario on every target, opts->repeat times, opts->jobs
 * at once; invalid scenarios are error cases of the reports. Prints the
 * progress and the summary; writes the JUnit and HTML files. */
int suite_run(const suite_opts_t *opts, const suite_selection_t *sel);
/* The oracle and the expectations of the one selected scenario on a
 * recorded trace (`check --trace FILE`). */
int suite_check_trace(const suite_selection_t *sel, const char *trace,
                      bool quiet);
/* The first difference per worker of two recorded traces (`diff A B`):
 * 0 the same, 1 different, 3 unreadable. */
int suite_diff_traces(const char *a, const char *b, bool quiet);

#endif /* SUITE_H */
