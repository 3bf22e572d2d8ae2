/*
 * runner.h - one run of a scenario against a target: targets, the run on a
 * libuv loop (agent under a supervisor, control socket, steps, load, end of
 * run, verdict) and its result.
 *
 * Conventions (every harness module follows them): functions return 0 or a
 * negative UV_E* code; strings passed in are borrowed (copied when kept);
 * objects returned through an out pointer are owned by the caller and
 * released by the matching _free. Libraries never print: diagnostics come
 * back as strings.
 */
#ifndef RUNNER_H
#define RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "oracle.h"
#include "scenario.h"
#include "trace.h"

/* ---------------------------------------------------------------------- */
/* Targets                                                                 */

typedef enum {
  RUNNER_TARGET_BUILTIN = 0,
  RUNNER_TARGET_NODE,
  RUNNER_TARGET_EXEC,
  RUNNER_TARGET_NODE_C,   /* the Node primary agent, clustersim workers */
  RUNNER_TARGET_C_NODE,   /* the builtin primary agent, Node workers */
  RUNNER_TARGET_KIND_COUNT
} runner_target_kind_t;

typedef struct {
  runner_target_kind_t kind;
  char *spec;              /* as given: "builtin", "node", "exec:CMD" */
  char **argv;             /* the agent's command line (NULL-terminated) */
  char **env;              /* "K=V" added to the agent's environment
                              (NULL-terminated), or NULL */
  /* Mixed targets: the worker program the setup command names
   * (settings.exec, and args put before the scenario's), unless the
   * scenario names its own. NULL: the agent's own worker agent. */
  char *worker_exec;
  char **worker_args;
} runner_target_t;

/* Resolves a --target value: builtin, node, node:PATH, node-c, node-c:PATH,
 * c-node, c-node:PATH, exec:CMD. `self` is the clustersim executable (the
 * builtin agent is `self primary`), `runtime` the node binary (NULL:
 * "node" from PATH), `source_dir` holds agents/node/ and harness/. */
int runner_target_parse(const char *spec, const char *self,
                         const char *runtime, const char *source_dir,
                         runner_target_t *out, base_diag_t *diag);
void runner_target_free(runner_target_t *t);
/* Puts `args` (n of them, copied) on the runtime's command line, before
 * the agent's script: the Node primary agent's (node, node-c) or the Node
 * worker agent's (c-node; Node's own fork() gives a primary's execArgv to
 * its workers). UV_EINVAL for builtin and exec:, which run no runtime of
 * the harness's choosing. */
int runner_target_runtime_args(runner_target_t *t, const char *const *args,
                               size_t n);
/* "builtin", "node", "exec", "node-c" or "c-node". */
const char *runner_target_kind_name(runner_target_kind_t kind);
/* The kind of a name as `targets:` writes it; -1 if unknown. */
int runner_target_kind_from_name(const char *name);
/* NULL when `s` runs on `t`; else why it does not (the scenario's own
 * `skip:` or `targets:` reason, or why a mixed target cannot apply). */
const char *runner_target_skip_reason(const scenario_t *s,
                                       const runner_target_t *t);
/* The divergence `s` documents on `t`, or NULL. */
const scenario_target_note_t *
runner_target_divergence(const scenario_t *s,
                          const runner_target_t *t);

/* ---------------------------------------------------------------------- */
/* Running a scenario                                                      */

typedef enum {
  RUNNER_PASS = 0,
  RUNNER_FAIL,
  RUNNER_INCONCLUSIVE,
  RUNNER_ERROR,
  RUNNER_SKIP,
  RUNNER_TIMEOUT,
  RUNNER_OUTCOME_COUNT
} runner_outcome_t;

const char *runner_outcome_name(runner_outcome_t o);

typedef struct runner_run_s runner_run_t;

typedef struct {
  double time_scale;       /* multiplies every deadline; 1.0 */
  uint64_t seed;
  const char *trace_path;  /* JSON lines file to write, or NULL */
  unsigned attempt;        /* 1-based, for messages */
  /* Called once, on the loop, when the primary agent has said hello, with
   * the runtime and version it names (NULL when absent) and the `arg` of
   * runner_run_start; NULL: not called. */
  void (*hello)(runner_run_t *run, const char *runtime,
                const char *version, void *arg);
} runner_opts_t;

typedef struct {
  runner_outcome_t outcome;
  char *reason;            /* one line */
  char *detail;            /* every finding, one per line */
  oracle_findings_t findings;
  trace_t trace;   /* the finished trace */
  trace_load_totals_t load;
  char *runtime;           /* from the agent's hello */
  char *version;
  uint64_t started_ns, ended_ns;
  /* The harness's own cost, as uv_hrtime() stamps (0: did not happen):
   * the primary agent's hello dispatched (started_ns to it: supervisor
   * fork, agent exec, control connection), its exit seen, and the last
   * process of the run reaped (from the exit to it: the cluster's own
   * stragglers; from it to the verdict: closing, the checks). */
  uint64_t hello_ns, agent_exit_ns, gone_ns;
  unsigned leftovers;      /* processes still alive at the end */
  char *log;               /* the agent's stdout/stderr (tail) */
  /* What the harness corrected and the reader should know, one line each
   * (e.g. a process whose clock was not this machine's CLOCK_MONOTONIC),
   * or NULL. */
  char *warnings;
  /* Ended by runner_run_abort (SIGINT/SIGTERM to the harness): the
   * outcome is RUNNER_ERROR with the abort's reason, and the reports show
   * the run as interrupted rather than as an error of the run itself. */
  bool interrupted;
} runner_result_t;

void runner_result_free(runner_result_t *r);
typedef void (*runner_done_cb)(runner_run_t *run,
                                    runner_result_t *result, void *arg);

/* Starts one run of `s` on `target` on `loop`. `s` and `target` are
 * borrowed and must outlive the run. When the run has ended, every process
 * of it has been reaped and every handle closed, `done` is called once with
 * the result (owned by the callee: runner_result_free() and free(); NULL
 * only if memory ran out); after it returns the run is freed. */
int runner_run_start(uv_loop_t *loop, const scenario_t *s,
                      const runner_target_t *target,
                      const runner_opts_t *opts,
                      runner_done_cb done, void *arg,
                      runner_run_t **out);
/* Ends a run early (SIGINT/SIGTERM): every process is killed and reaped,
 * the result is an error with `reason` and `interrupted` set; `done` still
 * runs. */
void runner_run_abort(runner_run_t *run, const char *reason);


#endif /* RUNNER_H */
