/*
 * explore-internal.h - shared by the files of harness/explore/ only: the
 * table of actions, the random numbers, the engine that runs schedules
 * (-j at once, on one loop), and the parts of the command.
 */
#ifndef EXPLORE_INTERNAL_H
#define EXPLORE_INTERNAL_H

#include <stdio.h>

#include "explore.h"
#include "report.h"

/* ---------------------------------------------------------------------- */
/* The actions (explore-actions.c)                                         */

typedef enum {
  EXPLORE__P_NONE = 0,
  EXPLORE__P_INT,      /* an integer in [lo, hi] */
  EXPLORE__P_MS,       /* a duration in [lo, hi] ms */
  EXPLORE__P_CHOICE    /* an index into `choices` */
} explore__pkind_t;

typedef struct {
  explore__pkind_t kind;
  const char *name;           /* in texts: "for", "code", "signal" */
  int64_t lo, hi;             /* P_CHOICE: 0 and the last index */
  int64_t simplest;           /* where shrinking takes it */
  const char *const *choices; /* P_CHOICE: NULL-terminated */
} explore__param_t;

/* What an action needs and what it does to the cluster (as the drawing
 * believes it: timing may make it otherwise, which only costs a step that
 * cannot be carried out). */
#define EXPLORE__A_WORKER   0x0001u /* acts on a worker believed alive */
#define EXPLORE__A_FAULT    0x0002u /* disturbs the cluster: no
                                       availability promise holds */
#define EXPLORE__A_ENDS     0x0004u /* the worker ends */
#define EXPLORE__A_EAD      0x0008u /* ... after a disconnect (ead true) */
#define EXPLORE__A_NONZERO  0x0010u /* ... with a non-zero code or a
                                       signal */
#define EXPLORE__A_CODE     0x0020u /* ... with the exit code params[0] */
#define EXPLORE__A_SIGNAL   0x0040u /* ... if the signal params[0] kills */
#define EXPLORE__A_LAST     0x0080u /* ends the primary: only as the last
                                       action */
#define EXPLORE__A_PSIGNAL  0x0100u /* params[0] is a signal to the
                                       primary */
#define EXPLORE__A_PORT     0x0200u /* needs the cluster's shared port */
#define EXPLORE__A_FORKS    0x0400u /* forks params[0] workers */
#define EXPLORE__A_RESTART  0x0800u /* a rolling restart: params[0] its
                                       timeout */
#define EXPLORE__A_ALL_END  0x1000u /* every worker leaves (ead true) */
#define EXPLORE__A_SHUTDOWN 0x2000u /* a graceful shutdown: params[0] its
                                       timeout */

typedef struct {
  const char *name;          /* in summaries and texts */
  unsigned weight;           /* how often it is drawn, relatively */
  unsigned flags;            /* EXPLORE__A_* */
  /* The step as YAML: %w the worker's id, %0 %1 %2 the parameters; a
   * '\n' starts another key of the same step (a trigger's `do`). */
  const char *yaml;
  explore__param_t params[EXPLORE_MAX_PARAMS];
} explore__action_t;

extern const explore__action_t explore__actions[];
extern const size_t explore__n_actions;

/* The text of parameter k of `step` ("400ms", "SIGKILL", "3"), in buf. */
const char *explore__param_text(const explore_step_t *step, unsigned k,
                                char *buf, size_t len);
/* Whether a signal of that name ends a process that does not handle it. */
bool explore__signal_kills(const char *name);
/* The signal name of a step's params[0] for the A_SIGNAL and A_PSIGNAL
 * rows, else NULL. */
const char *explore__step_signal(const explore_step_t *step);

/* ---------------------------------------------------------------------- */
/* Random numbers (explore-gen.c): xoshiro256**, seeded by splitmix64      */

typedef struct {
  uint64_t s[4];
} explore__rng_t;

void explore__rng_seed(explore__rng_t *r, uint64_t seed, uint64_t stream);
uint64_t explore__rng_next(explore__rng_t *r);
/* Uniform in [lo, hi]. */
int64_t explore__rng_range(explore__rng_t *r, int64_t lo, int64_t hi);

/* Whether the schedule, run on the base, kills the primary in a way that
 * is not a graceful shutdown (a signal the shutdown policy does not
 * handle). */
bool explore__kills_primary(const explore_base_t *b,
                            const explore_schedule_t *s);

/* ---------------------------------------------------------------------- */
/* Properties (explore-props.c)                                            */

int explore__violation_add(explore_violations_t *v, explore_prop_t p,
                           const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------------- */
/* The engine (explore-exec.c)                                             */

/* Targets at most (differential runs compare each with the first). */
#define EXPLORE__MAX_TARGETS 4
/* Runs at once at most (-j). */
#define EXPLORE__MAX_JOBS 64

typedef struct explore_s explore_t;
typedef struct explore__task_s explore__task_t;
typedef struct explore__state_s explore__state_t;

/* One schedule on one target. */
typedef struct {
  explore__task_t *task;
  size_t target;             /* index into ex->targets */
  scenario_t *scenario;      /* loaded from the schedule's YAML */
  runner_run_t *run;         /* while it runs */
  runner_result_t *result;   /* when it has ended (NULL: it could not
                                start, or memory ran out) */
  bool started, done;
} explore__job_t;

/* One schedule on every target. */
struct explore__task_s {
  explore_t *ex;
  explore_schedule_t sched;
  explore__job_t jobs[EXPLORE__MAX_TARGETS];
  size_t n_jobs, started, finished;
  bool busy;
  uint64_t tag;              /* the caller's */
};

/* Runs tasks, -j runs at once: `next` fills a free task (false: no
 * more), `done` reads an ended one (its results are freed after it). */
typedef struct explore__pool_s explore__pool_t;
struct explore__pool_s {
  bool (*next)(explore_t *ex, explore__pool_t *p, explore__task_t *t);
  void (*done)(explore_t *ex, explore__pool_t *p, explore__task_t *t);
  void *arg;
  explore__task_t *slots;
  size_t n_slots;
  bool stop;                 /* start nothing more (running ones end) */
  bool exhausted;
};

struct explore_s {
  const explore_opts_t *opts;
  uv_loop_t *loop;
  explore_base_t base;
  explore_gen_opts_t gen;
  uint64_t checks;           /* bit per explore_prop_t */
  uint64_t seed;
  runner_target_t targets[EXPLORE__MAX_TARGETS];
  size_t n_targets;
  unsigned jobs;
  explore__job_t *running[EXPLORE__MAX_JOBS];
  unsigned n_running;
  bool interrupted;
  bool aborted;
  bool internal_error;
  uv_signal_t sigint, sigterm;
  uv_timer_t ticker;
  bool handles_open;
  void (*tick)(explore_t *ex);   /* the progress line, every 200 ms */
  uint64_t started_ns;
  explore__state_t *st;      /* the command's bookkeeping (explore.c) */
};

/* Opens the loop's handles: SIGINT and SIGTERM (which abort every run and
 * stop the pools), the progress ticker. */
int explore__exec_open(explore_t *ex);
/* Closes them and runs the loop until they are closed. */
void explore__exec_close(explore_t *ex);
/* Runs the pool until it is exhausted or stopped (or interrupted) and
 * every task it started has ended. */
void explore__pool_run(explore_t *ex, explore__pool_t *p);
/* A task for `sched` on every target (the caller's slot). */
void explore__task_init(explore_t *ex, explore__task_t *t,
                        const explore_schedule_t *sched, uint64_t tag);

/* The name a schedule's scenario gets ("explore-S-I"), in buf. */
const char *explore__name(const explore_schedule_t *s, char *buf, size_t len);
/* The YAML of a schedule as explore runs it and writes it out; `comment`
 * as explore_schedule_yaml. The caller frees. */
char *explore__yaml(const explore_t *ex, const explore_schedule_t *s,
                    const char *comment);

/* ---------------------------------------------------------------------- */
/* The command's bookkeeping (explore.c, explore-find.c, explore-out.c)    */

/* A run's measurements are shown for this many runs with load, besides
 * the findings. */
#define EXPLORE__SAMPLES 3
/* Differential candidates confirmed at most. */
#define EXPLORE__MAX_DIFFS 64

/* The first failing run of a property, and what became of it. */
typedef struct {
  bool set;
  explore_prop_t prop;
  size_t target;             /* where it failed (differential: the second
                                target of the pair) */
  explore_schedule_t original;
  char *message;             /* the first violation's (or difference's) */
  runner_result_t *seen;     /* that run (owned), for the report */
  /* reproducing, shrinking, confirming */
  unsigned repro_fail, repro_runs;
  bool shrunk;
  explore_schedule_t small;
  explore_shrink_stats_t stats;
  unsigned shrink_runs;
  unsigned other_fail;       /* runs that broke the property another way */
  unsigned confirm_fail, confirm_runs;
  unsigned fallbacks;        /* confirmations that fell short */
  runner_result_t *shown;    /* a failing run of the shrunk schedule */
  char *scenario_file, *original_file, *log_file;
} explore__finding_t;

/* A schedule whose targets told different stories, and whether each
 * target then told its own again. */
typedef struct {
  explore_schedule_t sched;
  size_t target;
  char *first;               /* the first difference, as lines */
  bool confirmed;            /* stable on both targets, and different */
  bool checked;
} explore__diff_t;

typedef struct {
  char action[32];
  uint64_t faults, dropped, restored, unrestored;
  int64_t recovery_sum_ms, recovery_max_ms;
  uint64_t with_load, failed_after;
  uint64_t p99_after_sum_us, p99_before_sum_us, max_after_us;
} explore__fault_stats_t;

struct explore__state_s {
  uint64_t first_run, end_run, next_run;
  uint64_t schedules, runs;
  uint64_t outcomes[RUNNER_OUTCOME_COUNT];
  uint64_t step_failed;
  uint64_t prop_runs[EXPLORE_PROP_COUNT];
  uint64_t failing_runs;     /* runs with a violation */
  uint64_t *actions;         /* drawn, per row */
  const char *stopped;       /* why exploration ended */
  uint64_t explore_ns;       /* how long it took */
  explore__finding_t findings[EXPLORE_PROP_COUNT];
  explore__diff_t diffs[EXPLORE__MAX_DIFFS];
  size_t n_diffs;
  uint64_t diff_schedules;   /* schedules whose first runs differed */
  /* measurements */
  load_hist_t *latency;      /* every run's, merged */
  uint64_t load_runs, requests, ok, retried, failed;
  uint64_t gap_runs;         /* runs with time without a listener */
  int64_t gap_ms;
  explore__fault_stats_t fault_stats[32];
  size_t n_fault_stats;
  FILE *runs_log;            /* runs.jsonl */
  runner_result_t *samples[EXPLORE__SAMPLES];
  explore_schedule_t sample_sched[EXPLORE__SAMPLES];
  size_t sample_target[EXPLORE__SAMPLES];
  size_t n_samples;
  bool tty;
  size_t progress_len;
  explore__finding_t *shrinking;   /* the finding being shrunk, for the
                                      progress line */
};

/* explore-find.c */
/* What one ended task says: outcomes, violations, differences; keeps the
 * first failing run of each property. */
void explore__task_judge(explore_t *ex, explore__task_t *t);
/* Confirms the differential candidates, then reproduces, shrinks and
 * confirms each finding; writes its files. */
void explore__findings_work(explore_t *ex);

/* explore-out.c */
/* "clustersim explore --seed S --run I [--target T...] [BASE]": replays
 * the schedule. The caller frees. */
char *explore__replay(const explore_t *ex, const explore_schedule_t *s);
/* The measurements of one run, into the totals and runs.jsonl. */
void explore__measure_run(explore_t *ex, const explore_schedule_t *s,
                          size_t target, const runner_result_t *r);
/* DIR/<file>: the caller frees; NULL when memory runs out. */
char *explore__out_path(const explore_t *ex, const char *file);
/* Writes `text` to DIR/<file> (atomically); its path, or NULL. */
char *explore__out_write(const explore_t *ex, const char *file,
                         const char *text);
/* summary.json; 0 or UV_E*. */
int explore__summary_write(explore_t *ex);
/* The report (--html). */
int explore__html_write(explore_t *ex);
/* The closing lines on stdout. */
void explore__summary_print(explore_t *ex);

/* ---------------------------------------------------------------------- */
/* Differential runs (explore-diff.c)                                      */

/* The first difference between two runs' per-worker projections, in
 * `out` (lines), or none; 1 when they differ, 0 when not, < 0 on error. */
int explore__diff(const runner_result_t *a, const char *label_a,
                  const runner_result_t *b, const char *label_b,
                  base_diag_t *out);

#endif /* EXPLORE_INTERNAL_H */
