/*
 * explore.h - fault exploration: random schedules drawn from a seed (the
 * whole step and fault vocabulary, random delays, optional load) on a base
 * cluster, each run as an ordinary scenario on one target or more, checked
 * against named properties; a failing schedule is shrunk to a minimal one
 * and written out as a scenario file.
 *
 * The layers: a schedule is data (explore_schedule_t), turned into scenario
 * YAML (explore_schedule_yaml) and loaded with scenario_load_string, so
 * every schedule, shrunk or not, is a scenario `clustersim run` takes as it
 * is; it runs through runner_run_start; the properties read the runner's
 * result (its findings, outcome and trace).
 *
 * Conventions (every harness module follows them): functions return 0 or a
 * negative UV_E* code, except explore_main, which returns a BASE_EXIT_*
 * code; strings passed in are borrowed (copied when kept); objects
 * returned through an out pointer are owned by the caller and released by
 * the matching _free. Only explore_main prints.
 */
#ifndef EXPLORE_H
#define EXPLORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "load.h"
#include "oracle.h"
#include "runner.h"
#include "scenario.h"
#include "trace.h"

/* ---------------------------------------------------------------------- */
/* The base cluster                                                        */

/* What schedules are drawn on: a scenario without steps or expectations,
 * from a file or from flags, and what the generator and the properties
 * need to know of it. */
typedef struct {
  char *file;                /* the base file, or NULL (flags) */
  char *text;                /* its YAML without name, description, tags,
                                timeout and oracle (what every schedule
                                starts with) */
  unsigned workers;          /* forked before the first step */
  unsigned n_servers;
  bool http;                 /* the first server is HTTP and shared: load
                                and `connect` can use it */
  bool listens;              /* workers report `listening` (a shared
                                server, no on-listening action) */
  bool rr;                   /* round-robin scheduling: the primary hands
                                connections to the workers */
  bool exit_only;            /* the base allows Node's exit-only case */
  scenario_respawn_t respawn;
  int64_t backoff_max_ms;    /* the longest respawn delay the policy may
                                choose (0: immediate) */
  int64_t startup_delay_ms;  /* of the worker behaviour */
  uint64_t shutdown_signals; /* bit per signal the shutdown policy handles
                                (0: no shutdown policy) */
  int64_t shutdown_timeout_ms;
} explore_base_t;

/* The base of flags: `workers` (0-16), `scheduling` ("rr", "none" or
 * NULL), `respawn` (a rule of docs/scenarios.md, or NULL for
 * "always"), one shared HTTP server, echoing messages, a respawn backoff
 * of 50-400 ms and a shutdown policy on SIGTERM and SIGINT. */
int explore_base_from_flags(unsigned workers, const char *scheduling,
                            const char *respawn, explore_base_t *out,
                            base_diag_t *diag);
/* The base of a scenario file: it must load, and have no `steps` and no
 * `expect` (a schedule brings its own). Errors name file:line:column. */
int explore_base_from_file(const char *path, explore_base_t *out,
                           base_diag_t *diag);
void explore_base_free(explore_base_t *b);

/* ---------------------------------------------------------------------- */
/* Actions: the generator's vocabulary (explore-actions.c)                 */

/* How many kinds of action the generator draws from, and their names
 * ("crash", "pause", "pause-primary", "signal-primary"...): one row each
 * of the table in explore-actions.c, which says for each its step, weight,
 * parameters and what it does to the cluster. A new kind is one row. */
size_t explore_action_count(void);
const char *explore_action_name(size_t action);
/* The row of a name; -1 if none. */
int explore_action_find(const char *name);

/* ---------------------------------------------------------------------- */
/* Schedules                                                               */

#define EXPLORE_MAX_PARAMS 3
#define EXPLORE_MAX_STEPS 64

typedef struct {
  unsigned action;           /* row of the vocabulary */
  unsigned worker;           /* the worker it acts on (0: none, or the
                                primary for the primary's rows) */
  int64_t delay_ms;          /* a `sleep` before it (0: none) */
  int64_t params[EXPLORE_MAX_PARAMS];
} explore_step_t;

typedef enum {
  EXPLORE_LOAD_RANDOM = 0,   /* drawn per schedule */
  EXPLORE_LOAD_ALWAYS,
  EXPLORE_LOAD_NEVER
} explore_load_mode_t;

typedef struct {
  uint64_t seed;
  uint64_t run;              /* its index: (seed, run) draws it again */
  explore_step_t steps[EXPLORE_MAX_STEPS];
  size_t n_steps;
  unsigned load_connections; /* 0: no load */
  bool load_keepalive;
  int64_t settle_ms;         /* a last `sleep` before the end */
} explore_schedule_t;

typedef struct {
  unsigned steps;            /* actions per schedule (1-EXPLORE_MAX_STEPS) */
  explore_load_mode_t load;
  int64_t min_delay_ms;      /* every action waits at least this long */
  double time_scale;         /* of the bounds the expectations state */
  uint64_t checks;           /* the properties checked (bit per
                                explore_prop_t): which expectations the
                                YAML carries */
} explore_gen_opts_t;

/* Draws schedule `run` of `seed`: the same (seed, run) on the same base
 * and options always gives the same schedule. Actions are drawn by weight
 * among those that apply (a worker's action needs a worker the drawing
 * believes alive; the primary's end only last). */
void explore_generate(const explore_base_t *b, const explore_gen_opts_t *o,
                      uint64_t seed, uint64_t run, explore_schedule_t *out);

/* The scenario YAML of a schedule: `comment` (lines without '#', may be
 * NULL) as a comment on top, the name, a timeout that covers every delay
 * and duration, the base, the steps (a wait for every base worker's
 * `listening`, the load, each action after its sleep, the settle) and the
 * expectations of the checked properties that apply. The caller frees;
 * NULL when memory runs out. */
char *explore_schedule_yaml(const explore_base_t *b,
                            const explore_gen_opts_t *o,
                            const explore_schedule_t *s, const char *name,
                            const char *comment);
/* One line per action ("pause to=1 for=400ms after 120ms"), for logs. The
 * caller frees. */
char *explore_schedule_text(const explore_schedule_t *s);

/* ---------------------------------------------------------------------- */
/* Properties (explore-props.c)                                            */

/* The properties a run is checked against: every invariant of the oracle
 * (ORACLE_INVARIANT_MAP, by its id), then the policies' promises and the
 * run's own, one row each: XX(ID, id, how, doc). `how` says where a
 * violation comes from: EXPECT, an expectation the schedule's YAML carries
 * (so a shrunk scenario fails under `clustersim run` too); RUNNER, a
 * finding of the runner; CHECK, a check of the finished trace here;
 * OUTCOME, the run's outcome; DIFF, differential runs. */
#define EXPLORE_PROP_MAP(XX)                                                  \
  XX(RESPAWN, "respawn-restores", CHECK,                                      \
     "with a respawn policy, a worker that exits by a cause the rule "        \
     "replaces is replaced within the longest backoff plus a bound, and the " \
     "replacement listens (or comes online, without a shared server) within " \
     "a bound of its fork")                                                   \
  XX(SHUTDOWN, "shutdown-bounded", EXPECT,                                    \
     "a graceful shutdown (the shutdown policy on its signal, the "           \
     "`shutdown` step, the end of the run) ends with the primary's exit "     \
     "within its timeout plus a bound")                                       \
  XX(RESTART, "restart-availability", EXPECT,                                 \
     "a rolling restart under load, with no fault in the schedule, fails "    \
     "no request (a stale keep-alive request retried is not a failure) "      \
     "and always leaves a worker listening")                                  \
  XX(ORPHAN, "no-orphan", RUNNER,                                             \
     "no process of the run is alive after the primary exited, and no port "  \
     "it listened on is still listening")                                     \
  XX(ID_REUSE, "id-reuse", CHECK,                                             \
     "no worker id is forked twice")                                          \
  XX(EXIT, "exit-for-every-fork", EXPECT,                                     \
     "every worker that was forked ends with an `exit` (checked when the "    \
     "primary is not killed by the schedule)")                                \
  XX(DEADLINE, "deadline", OUTCOME,                                           \
     "the run ends within its deadline")                                      \
  XX(RUN_ERROR, "run-error", OUTCOME,                                         \
     "the run can be carried out: the agent says hello, answers every "       \
     "command and keeps to the protocol")                                     \
  XX(DIFF, "differential", DIFF,                                              \
     "with two targets, each worker's projection (as `clustersim diff` "      \
     "computes it) is the same on both, up to Node's documented "             \
     "nondeterminism, when each target repeats its own")

typedef enum {
#define XX(ID, name, id, doc) EXPLORE_PROP_INV_##ID,
  ORACLE_INVARIANT_MAP(XX)
#undef XX
#define XX(ID, id, how, doc) EXPLORE_PROP_##ID,
  EXPLORE_PROP_MAP(XX)
#undef XX
  EXPLORE_PROP_COUNT
} explore_prop_t;

typedef enum {
  EXPLORE_HOW_INVARIANT = 0,
  EXPLORE_HOW_EXPECT,
  EXPLORE_HOW_RUNNER,
  EXPLORE_HOW_CHECK,
  EXPLORE_HOW_OUTCOME,
  EXPLORE_HOW_DIFF
} explore_how_t;

#define EXPLORE_PROP_BIT(p) ((uint64_t)1 << (p))
/* Every property. */
#define EXPLORE_PROPS_ALL (EXPLORE_PROP_BIT(EXPLORE_PROP_COUNT) - 1)

/* "both-ends", "respawn-restores"... ("?" out of range). */
const char *explore_prop_name(explore_prop_t p);
const char *explore_prop_doc(explore_prop_t p);
explore_how_t explore_prop_how(explore_prop_t p);
/* The property of a name; -1 if none. */
int explore_prop_find(const char *name);

typedef struct {
  explore_prop_t prop;
  char *message;             /* one line */
} explore_violation_t;

typedef struct {
  explore_violation_t *items;
  size_t count, cap;
} explore_violations_t;

void explore_violations_free(explore_violations_t *v);
/* Whether `v` holds a violation of `p`. */
bool explore_violations_has(const explore_violations_t *v, explore_prop_t p);
/* Whether two violation messages tell the same failure: their first lines
 * agree once every number in them is taken as any number (worker ids,
 * times, codes and event indexes vary between runs of one failure; the
 * words, signals and event names do not). NULL is no failure at all. */
bool explore_failure_same(const char *a, const char *b);
/* Whether `v` holds a violation of `p` that is the failure `message`
 * (explore_failure_same); any violation of `p` when `message` is NULL. */
bool explore_violations_same(const explore_violations_t *v, explore_prop_t p,
                             const char *message);

/* What one run broke, of the properties in `mask`: the runner's findings
 * mapped to their properties (an invariant to itself, an expectation to
 * the property that generated it, leftovers to no-orphan; a step that
 * could not be carried out is none), the outcome's, and the checks of the
 * trace. `time_scale` widens the bounds. Appends to `out`. */
int explore_check(const explore_base_t *b, const runner_result_t *r,
                  uint64_t mask, double time_scale,
                  explore_violations_t *out);

/* ---------------------------------------------------------------------- */
/* Shrinking (explore-shrink.c)                                            */

/* Whether a candidate still fails the same way: 1 it does, 0 it does
 * not, < 0 stop shrinking now (interrupted). */
typedef int (*explore_pred_fn)(const explore_schedule_t *candidate,
                               void *arg);

typedef struct {
  unsigned tests;            /* candidates tried */
  size_t steps_before, steps_after;
  bool interrupted;
} explore_shrink_stats_t;

/* Shrinks `s` (which fails) to a schedule that still fails: delta
 * debugging over the actions (ddmin), then the load, then each delay
 * (none, then halved) and each parameter (its simplest value, then
 * halfway there), then the actions again, until nothing more goes. *out
 * is the smallest failing schedule found (s itself at worst). Each
 * candidate tried is a line of `log` (may be NULL). */
int explore_shrink(const explore_schedule_t *s, explore_pred_fn pred,
                   void *arg, explore_schedule_t *out,
                   explore_shrink_stats_t *stats, base_buf_t *log);

/* ---------------------------------------------------------------------- */
/* Measurements (explore-measure.c)                                        */

/* What a run did to its clients and its listeners. Times in ms. */
typedef struct {
  char action[32];           /* the fault's action name */
  unsigned worker;
  uint64_t t_ns;
  /* requests in a window before and after the fault */
  uint64_t ok_before, failed_before, ok_after, failed_after;
  uint64_t p50_before_us, p99_before_us, max_before_us;
  uint64_t p50_after_us, p99_after_us, max_after_us;
  /* fault -> as many workers listening as just before it; -1: the count
   * never dropped; -2: not restored before the end of the steps */
  int64_t recovery_ms;
} explore_fault_t;

typedef struct {
  bool load;                 /* a load ran */
  uint64_t requests, ok, retried, failed;
  double availability;       /* (ok + retried) / requests; 1 without load */
  load_measure_t latency;    /* every load of the run merged (empty when
                                the trace has no latency record) */
  int64_t no_listener_ms;    /* time without a listening worker, from the
                                first `listening` to the end of the steps */
  explore_fault_t *faults;
  size_t n_faults;
} explore_measure_t;

/* Figures of a finished trace; `window_ms` around each fault. */
int explore_measure(const trace_t *tr, int64_t window_ms,
                    explore_measure_t *out);
void explore_measure_free(explore_measure_t *m);

/* ---------------------------------------------------------------------- */
/* The command                                                             */

typedef struct {
  /* the base */
  const char *base_file;     /* NULL: the flags */
  unsigned workers;
  const char *scheduling;
  const char *respawn;
  /* drawing */
  uint64_t seed;
  bool seed_set;
  uint64_t run;              /* --run I: only that schedule */
  bool run_set;
  unsigned runs;             /* schedules (budget) */
  unsigned steps;
  const char *load;          /* "random", "always", "never" */
  unsigned min_delay_ms;
  /* running */
  const char **targets;      /* two or more: differential */
  size_t n_targets;
  const char *runtime;
  const char *self;          /* the clustersim binary */
  unsigned jobs;
  unsigned time_s;           /* wall time budget */
  double time_scale;
  unsigned window_ms;        /* measurements around a fault */
  /* properties */
  const char **checks;       /* names; none: every one */
  size_t n_checks;
  /* findings */
  unsigned max_findings;     /* stop after this many failing runs (0: no
                                bound) */
  bool no_shrink;
  unsigned shrink_tries;     /* runs of a candidate before it passes */
  unsigned confirm;          /* runs of the shrunk schedule at the end */
  /* output */
  const char *out_dir;
  const char *html;
  bool print;                /* print every schedule's YAML */
  bool dry_run;              /* print the schedules, run nothing */
  bool quiet;
  const char *command_line;
} explore_opts_t;

/* `clustersim explore`: draws, runs and checks the schedules within the
 * budgets, shrinks what failed, writes the summary, the scenarios and the
 * report. Returns BASE_EXIT_PASS (no finding), BASE_EXIT_FAIL (findings),
 * BASE_EXIT_SCENARIO (a base that cannot be used), BASE_EXIT_USAGE,
 * BASE_EXIT_INTERNAL or BASE_EXIT_INTERRUPTED. */
int explore_main(const explore_opts_t *o);

#endif /* EXPLORE_H */
