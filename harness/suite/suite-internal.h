/*
 * suite-internal.h - one `run` of a selection, shared by the files of
 * harness/suite/: suite.c schedules the jobs on the loop, suite-attempt.c
 * turns an ended attempt into report entries, suite-trace.c compares the
 * targets' traces, suite-env.c checks the environment before the first
 * case.
 */
#ifndef SUITE_INTERNAL_H
#define SUITE_INTERNAL_H

#include "suite.h"
#include "report.h"

/* Timeline marks kept per attempt in the reports, and as many more per
 * worker (counted up to 4096 workers): a big cluster's timeline is drawn
 * as a density of its workers' events, which wants them all. */
#define SUITE__MAX_MARKS 3000
#define SUITE__MARKS_PER_WORKER 16

typedef struct suite_s suite_t;

/* One scenario on one target, with all its attempts. */
typedef struct {
  suite_t *suite;
  const scenario_t *s;
  const runner_target_t *target;
  report_case_t *rc;
  runner_run_t *run;
  unsigned attempt;          /* 1-based, of the attempt running or last */
  int64_t attempt_start_unix_ns; /* wall clock at the attempt's start */
  uint64_t seed;
  char *replay;
  const char *skip_reason;   /* not run on this target, and why */
  trace_projection_t **proj; /* --diff: one per attempt (NULL: none) */
  bool added;                /* the case is in the report */
  bool done;
} suite__job_t;

struct suite_s {
  const suite_opts_t *opts;
  const suite_selection_t *sel;
  uv_loop_t *loop;
  uint64_t seed;             /* the base seed */
  suite__job_t *jobs;        /* target by target, scenario by scenario */
  size_t n_jobs;
  size_t next;
  unsigned running;
  runner_target_t *targets;
  size_t n_targets;
  char targets_text[256];    /* "builtin,node", for the reports */
  report_t *report;
  report_tap_t *tap;
  report_term_t *term;
  uv_signal_t sigint, sigterm;
  uv_timer_t ticker;
  bool finished;             /* the loop's handles are closing */
  bool interrupted;
  bool internal_error;
  bool junit_failed;         /* a write of the JUnit file failed (said once) */
  unsigned outcomes[RUNNER_OUTCOME_COUNT];
  uint64_t started;
  uint64_t busy_ns;          /* sum of run durations */
  report_expect_t *expect;   /* --expect, read before the first run */
};

/* suite-expect.c */
/* Reads --expect before anything runs: a bad file is said on stderr with
 * its cause; BASE_EXIT_USAGE then. */
int suite__expect_open(suite_t *su);
/* After the run: the matrix (its files and its summary), --write-expect,
 * and --expect's comparison; returns the command's exit code from the
 * run's `code`. */
int suite__after(suite_t *su, int code);

/* suite-attempt.c */
/* The command that replays the job's current attempt (the caller frees;
 * NULL when memory runs out). */
char *suite__replay_command(const suite_t *su, const suite__job_t *j);
/* Adds the ended attempt `r` to the job's case: outcome, reason, the
 * timeline, and the trace around the failure. */
void suite__record_attempt(suite_t *su, suite__job_t *j, runner_result_t *r);

/* suite-env.c */
/* TMPDIR and the report files, checked before the first case: a problem
 * is said with its cause on stderr; BASE_EXIT_USAGE then. */
int suite__check_environment(const suite_opts_t *opts);
/* Raises the soft descriptor limit to the hard one: a run holds a control
 * connection per worker. Warns on stderr when the limit stays below what
 * the selection's biggest cluster needs at opts->jobs runs at once. */
void suite__raise_fd_limit(const suite_opts_t *opts,
                           const suite_selection_t *sel);
/* "clustersim: --junit PATH: cannot write it: <cause of rc>" on stderr. */
void suite__cannot_write(const char *opt, const char *path, int rc);
/* The reason of a run that could not start (runner_run_start's rc), with
 * its cause; the caller frees it (NULL when memory ran out). */
char *suite__start_error(int rc);

/* suite-trace.c */
/* --diff: every scenario's runs on each target against the same attempt
 * on the first target, worker by worker. Returns how many comparisons
 * found a difference. */
unsigned suite__diff_targets(const suite_t *su);

#endif /* SUITE_INTERNAL_H */
