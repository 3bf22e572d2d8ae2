/*
 * harness.h - the clustersim harness: YAML scenarios, the run of a scenario
 * against a target (an agent process speaking docs/protocol.md), the merged
 * trace, the invariant oracle and the scenario's expectations.
 *
 * Layers, each usable on its own (the tests use them that way):
 *   scenario   harness_scenario_load(): a file checked against the schema
 *              (docs/scenarios.md), errors as "file:line:col: error: ..."
 *   trace      harness_trace_t: every event of a run, ordered by
 *              CLOCK_MONOTONIC time, ties broken by arrival
 *   oracle     harness_oracle_check(): DESIGN section 5, on every run
 *   expect     harness_expect_check(): the scenario's `expect:` section
 *   run        harness_run_start(): one scenario on one target, on a loop
 *   cli        harness_cli_main(): `clustersim run|check|list`
 *
 * Conventions: functions return 0 or a negative UV_E* code; strings passed
 * in are borrowed (copied when kept); objects returned through an out
 * pointer are owned by the caller and released by the matching _free. The
 * library never prints: diagnostics come back as strings.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <cjson/cJSON.h>

/* ---------------------------------------------------------------------- */
/* Exit codes of `clustersim run|check|list` (docs/harness.md)             */

#define HARNESS_EXIT_PASS         0   /* every run passed (or was skipped) */
#define HARNESS_EXIT_FAIL         1   /* a run failed or timed out */
#define HARNESS_EXIT_INCONCLUSIVE 2   /* no failure, but a run could not decide */
#define HARNESS_EXIT_SCENARIO     3   /* a scenario is invalid or could not run */
#define HARNESS_EXIT_INTERNAL     4   /* the harness itself broke */
#define HARNESS_EXIT_USAGE        64  /* bad command line */
#define HARNESS_EXIT_INTERRUPTED  130 /* SIGINT/SIGTERM to the harness */

/* ---------------------------------------------------------------------- */
/* Diagnostics                                                             */

/* A list of formatted messages, e.g.
 * "s.yaml:5:11: error: unknown signal 'SIGKIL' (did you mean 'SIGKILL'?)
 * (at /steps/3/kill/signal)". */
typedef struct {
  char **lines;
  size_t count;
  size_t cap;
} harness_diag_t;

void harness_diag_init(harness_diag_t *d);
void harness_diag_free(harness_diag_t *d);
int harness_diag_addf(harness_diag_t *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------------- */
/* Event names                                                             */

/* Everything a `wait`, a trigger or an expectation can name. */
typedef enum {
  HARNESS_EV_NONE = 0,
  /* cluster and Worker events, reported by the primary agent */
  HARNESS_EV_SETUP,
  HARNESS_EV_FORK,
  HARNESS_EV_ONLINE,
  HARNESS_EV_LISTENING,
  HARNESS_EV_MESSAGE,
  HARNESS_EV_DISCONNECT,
  HARNESS_EV_EXIT,
  HARNESS_EV_ERROR,
  HARNESS_EV_DISCONNECT_CALLBACK,
  /* primary policy actions */
  HARNESS_EV_RESPAWN,
  HARNESS_EV_SHUTDOWN_START,
  HARNESS_EV_SHUTDOWN_FORCE,
  HARNESS_EV_SHUTDOWN_DONE,
  HARNESS_EV_HEARTBEAT_KILL,
  HARNESS_EV_METRICS_LISTENING,
  HARNESS_EV_RESTART_FORK,
  HARNESS_EV_RESTART_DISCONNECT,
  HARNESS_EV_RESTART_KILL,
  HARNESS_EV_RESTART_DONE,
  HARNESS_EV_RESTART_FAILED,
  HARNESS_EV_METRICS_ERROR,
  /* observations a worker reports on its control connection */
  HARNESS_EV_W_STARTED,
  HARNESS_EV_W_LISTENING,
  HARNESS_EV_W_SERVER_CLOSE,
  HARNESS_EV_W_MESSAGE,
  HARNESS_EV_W_DISCONNECT,
  HARNESS_EV_W_EXITING,
  HARNESS_EV_W_FAULT,
  HARNESS_EV_W_SERVER_ERROR,
  HARNESS_EV_W_SIGNAL,
  /* seen by the harness itself */
  HARNESS_EV_PRIMARY_EXIT,
  HARNESS_EV_COUNT
} harness_ev_t;

/* "listening" -> HARNESS_EV_LISTENING; HARNESS_EV_NONE if unknown. */
harness_ev_t harness_ev_from_name(const char *name);
const char *harness_ev_name(harness_ev_t ev);

/* "SIGKILL" -> SIGKILL; 0 if unknown (names only, no numbers). */
int harness_signal_from_name(const char *name);
/* SIGKILL -> "SIGKILL"; NULL if unknown. */
const char *harness_signal_name(int signum);

/* "150ms", "2s", "1.5s", "1m" -> milliseconds; UV_EINVAL otherwise. */
int harness_duration_parse(const char *text, int64_t *ms);

/* The closest of `candidates` (NULL-terminated) to `word`, or NULL when
 * none is close enough to be a plausible typo. */
const char *harness_suggest(const char *word, const char *const *candidates);

/* ---------------------------------------------------------------------- */
/* Scenarios                                                               */

/* A reference to a worker in a step or an expectation. */
typedef enum {
  HARNESS_W_NONE = 0,  /* not given */
  HARNESS_W_ID,        /* a worker id (1, 2, ...) */
  HARNESS_W_ANY,       /* any worker (wait, on, counts) */
  HARNESS_W_EACH,      /* every worker, separately (expectations) */
  HARNESS_W_LAST,      /* the most recently forked worker */
  HARNESS_W_TRIGGER,   /* the worker whose event fired the trigger */
  HARNESS_W_PRIMARY    /* the primary (signal steps) */
} harness_wref_kind_t;

typedef struct {
  harness_wref_kind_t kind;
  unsigned id;
  unsigned line, column;       /* where the reference is written (0: none) */
} harness_wref_t;

typedef enum {
  HARNESS_STEP_FORK = 0,
  HARNESS_STEP_WAIT,
  HARNESS_STEP_SLEEP,
  HARNESS_STEP_SEND,
  HARNESS_STEP_DISCONNECT,
  HARNESS_STEP_KILL,
  HARNESS_STEP_CLUSTER_DISCONNECT,
  HARNESS_STEP_SIGNAL,
  HARNESS_STEP_PAUSE,
  HARNESS_STEP_CRASH,
  HARNESS_STEP_THROW,
  HARNESS_STEP_HANG,
  HARNESS_STEP_IPC_DISCONNECT,
  HARNESS_STEP_WORKER_KILL,
  HARNESS_STEP_WORKER_DISCONNECT,
  HARNESS_STEP_CLOSE_SERVERS,
  HARNESS_STEP_HOLD,
  HARNESS_STEP_WORKER_SEND,
  HARNESS_STEP_CONNECT,
  HARNESS_STEP_LOAD_START,
  HARNESS_STEP_LOAD_STOP,
  HARNESS_STEP_ROLLING_RESTART,
  HARNESS_STEP_SHUTDOWN,
  HARNESS_STEP_TRIGGER,
  HARNESS_STEP_KIND_COUNT
} harness_step_kind_t;

/* The YAML key of a step kind ("fork", "rolling-restart", "on"...). */
const char *harness_step_name(harness_step_kind_t kind);

/* Load generator settings of a `load: {start: ...}` step. */
typedef struct {
  unsigned connections;   /* concurrent connections */
  bool keepalive;         /* false: Connection: close */
  uint64_t requests;      /* stop after this many (0: until stopped) */
  int64_t duration_ms;    /* stop after this time (0: until stopped) */
  int64_t timeout_ms;     /* per request */
  unsigned port_index;    /* which server of the worker behaviour */
  char path[64];          /* request target, default "/" */
} harness_load_spec_t;

typedef struct harness_step_s harness_step_t;

struct harness_step_s {
  harness_step_kind_t kind;
  unsigned line, column;       /* 1-based position of the step's key */
  char *path;                  /* "/steps/3" (or "/steps/3/do/0") */
  harness_wref_t worker;       /* the worker it acts on or waits for */
  harness_ev_t event;          /* wait, on */
  bool cluster_emitter;        /* wait/on: count the `cluster` twin */
  unsigned count;              /* fork count; wait/on occurrences; hold */
  int64_t ms;                  /* sleep/pause/hang `for`, wait `within`,
                                  shutdown/rolling-restart `timeout`,
                                  connect `hold` */
  int signal;                  /* signal, kill */
  int code;                    /* crash */
  int port;                    /* hold/connect port (0: the cluster's) */
  bool wait_done;              /* rolling-restart/load: wait until done */
  cJSON *message;              /* send, worker-send */
  cJSON *env;                  /* fork: env object or NULL */
  cJSON *behaviour;            /* fork: worker behaviour override or NULL */
  harness_load_spec_t load;    /* load start */
  /* trigger */
  int64_t after_ms;            /* delay before the actions */
  int64_t jitter_ms;           /* + uniform [0, jitter] drawn from the seed */
  unsigned times;              /* how often it may fire (0: unlimited) */
  harness_step_t *actions;     /* `do` */
  size_t n_actions;
};

/* One element of an order pattern: a set of alternative events with a
 * quantifier, or an absence (!event). */
typedef struct {
  uint64_t alternatives;       /* bit (1 << harness_ev_t) per alternative */
  char quant;                  /* '1', '?', '*', '+' */
  bool absent;                 /* !event: must not occur at all */
} harness_pattern_elem_t;

typedef enum {
  HARNESS_EXPECT_ORDER = 0,
  HARNESS_EXPECT_ABSENT,
  HARNESS_EXPECT_FLAGS,
  HARNESS_EXPECT_COUNT,
  HARNESS_EXPECT_AVAILABILITY,
  HARNESS_EXPECT_TIMING,
  HARNESS_EXPECT_KIND_COUNT
} harness_expect_kind_t;

/* A tri-state expected value: unset, null, or a value. */
typedef struct {
  bool set;
  bool is_null;
  int64_t value;
} harness_opt_t;

/* One end of a timing bound: the nth event of a worker, or the run start. */
typedef struct {
  harness_ev_t event;          /* HARNESS_EV_NONE: the start of the run */
  harness_wref_t worker;
  unsigned nth;                /* 1-based */
} harness_point_t;

typedef struct {
  harness_expect_kind_t kind;
  unsigned line, column;
  char *path;
  harness_wref_t worker;
  bool whole_run;              /* `during: run`: also the end-of-run
                                  shutdown; else only up to the end of the
                                  steps */
  harness_ev_t event;          /* absent, flags `at`, count */
  bool cluster_emitter;
  unsigned nth;                /* flags: which occurrence (1-based) */
  /* order */
  harness_pattern_elem_t *pattern;
  size_t n_pattern;
  char *pattern_text;          /* as written, for messages */
  /* flags */
  harness_opt_t ead, connected, dead, member, code, signal;
  char *state;
  /* count */
  int64_t min, max;            /* -1: unbounded */
  /* availability */
  int64_t max_failed;          /* -1: not checked */
  int64_t min_requests;        /* fewer served: inconclusive */
  bool always_listening;
  /* timing */
  harness_point_t from, to;
  int64_t min_ms, max_ms;      /* -1: unbounded */
} harness_expect_t;

typedef enum {
  HARNESS_RESPAWN_NEVER = 0,
  HARNESS_RESPAWN_ALWAYS,
  HARNESS_RESPAWN_UNLESS_EAD,
  HARNESS_RESPAWN_ON_NONZERO
} harness_respawn_t;

/* What `targets:` says of one target kind: not run there, or run with a
 * documented divergence (a failure there is reported as skipped, with the
 * reason and what was seen). Always with a reason. */
typedef struct {
  char *kind;                  /* "builtin", "node", "node-c", "c-node",
                                  "exec" */
  bool skip;                   /* true: skip; false: diverges */
  char *reason;
  unsigned line;
} harness_target_note_t;

typedef struct harness_scenario_s {
  char *file;                  /* as given to the loader */
  char *name;
  char *description;
  char **tags;
  size_t n_tags;
  char *skip;                  /* reason, or NULL */
  harness_target_note_t *target_notes;  /* `targets:`, one per kind named */
  size_t n_target_notes;
  int64_t timeout_ms;          /* per-run deadline before --time-scale */
  /* cluster */
  unsigned workers;            /* forked before the first step */
  char *scheduling;            /* "rr", "none" or NULL */
  cJSON *settings;             /* setup settings {exec,args,cwd,silent,env} */
  cJSON *behaviour;            /* CLUSTERSIM_WORKER of every worker */
  unsigned n_servers;          /* servers in `behaviour` */
  /* primary policies */
  harness_respawn_t respawn;
  cJSON *policy;               /* the `policy` command, or NULL */
  /* the oracle's one documented exception */
  bool allow_exit_without_disconnect;
  harness_step_t *steps;
  size_t n_steps;
  harness_expect_t *expects;
  size_t n_expects;
} harness_scenario_t;

/* Loads and validates a scenario file. On success *out is set (caller owns
 * it, harness_scenario_free) and 0 is returned. On any problem every error
 * found (up to a limit) is appended to diag and UV_EINVAL is returned (or
 * the -errno of reading the file, with a message in diag too). */
int harness_scenario_load(const char *path, harness_diag_t *diag,
                          harness_scenario_t **out);
/* The same from a buffer; `name` stands for the file in messages. */
int harness_scenario_load_string(const char *name, const char *text,
                                 size_t len, harness_diag_t *diag,
                                 harness_scenario_t **out);
void harness_scenario_free(harness_scenario_t *s);

/* ---------------------------------------------------------------------- */
/* Traces                                                                  */

typedef enum {
  HARNESS_SRC_AGENT = 0,   /* cluster/Worker event from the primary agent */
  HARNESS_SRC_POLICY,      /* a policy action of the primary agent */
  HARNESS_SRC_WORKER,      /* a worker's observation (control socket) */
  HARNESS_SRC_HARNESS,     /* something the harness did or saw */
  HARNESS_SRC_LOAD,        /* the load generator */
  HARNESS_SRC_LOG,         /* agent output, log lines */
  HARNESS_SRC_COUNT
} harness_src_t;

/* Tri-state flags sampled by the agent: -1 absent/null, 0 false, 1 true. */
typedef struct {
  uint32_t index;          /* position in the ordered trace */
  uint32_t arrival;        /* arrival order */
  uint64_t t;              /* CLOCK_MONOTONIC ns */
  harness_src_t src;
  harness_ev_t ev;         /* HARNESS_EV_NONE for actions, logs, load */
  char name[32];           /* event/action/observation name */
  bool cluster_emitter;    /* agent events: emitted on `cluster` */
  unsigned worker;         /* 0: none */
  int pid;
  int ead, connected, dead, member;
  bool has_exit;           /* code/signal present */
  int64_t code;            /* -1 with has_exit: null */
  int signal;              /* 0: null */
  char state[16];
  unsigned line;           /* harness actions: the scenario line */
  cJSON *json;             /* the whole record (owned) */
} harness_event_t;

typedef struct {
  harness_event_t *events;
  size_t count;
  size_t cap;
  uint64_t t0;             /* the run's start: times are shown from here */
  bool complete;           /* the run ended normally: every worker's
                              lifecycle is in the trace */
  bool sorted;
  cJSON *meta;             /* extra fields of the header line, or NULL
                              (owned): scenario, target, seed... */
} harness_trace_t;

void harness_trace_init(harness_trace_t *tr, uint64_t t0);
void harness_trace_free(harness_trace_t *tr);
/* Appends a record. Takes ownership of `json` (also on failure). The
 * record must have "t"; "type" decides the source: event, policy, observe,
 * action, load, log, process. */
int harness_trace_add(harness_trace_t *tr, cJSON *json);
/* Orders the trace by time (stable: arrival order breaks ties) and numbers
 * the events. Idempotent. */
void harness_trace_finish(harness_trace_t *tr);
/* JSON lines: one record per line, each with "i" (its index). */
int harness_trace_write(const harness_trace_t *tr, const char *path);
/* Reads a file written by harness_trace_write (or hand-written JSON
 * lines). A first line {"type":"trace","t0":...,"complete":true} sets t0
 * and completeness. Errors name the line in diag. */
int harness_trace_read(const char *path, harness_trace_t *tr,
                       harness_diag_t *diag);
int harness_trace_parse(const char *text, harness_trace_t *tr,
                        harness_diag_t *diag);
/* Seconds since t0 (for messages). */
double harness_trace_secs(const harness_trace_t *tr, uint64_t t);

/* ---------------------------------------------------------------------- */
/* Findings: what the oracle and the expectations report                   */

typedef enum {
  HARNESS_FINDING_FAIL = 0,      /* a violation */
  HARNESS_FINDING_INCONCLUSIVE   /* could not be decided */
} harness_finding_kind_t;

typedef struct {
  harness_finding_kind_t kind;
  char rule[40];           /* invariant or expectation id, e.g.
                              "once", "expect.order" */
  unsigned worker;         /* 0: none */
  int64_t event;           /* trace index, -1: none */
  unsigned line;           /* scenario line, 0: none */
  char *message;           /* one line, complete */
} harness_finding_t;

typedef struct {
  harness_finding_t *items;
  size_t count;
  size_t cap;
} harness_findings_t;

void harness_findings_init(harness_findings_t *f);
void harness_findings_free(harness_findings_t *f);
int harness_findings_add(harness_findings_t *f, harness_finding_kind_t kind,
                         const char *rule, unsigned worker, int64_t event,
                         unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
size_t harness_findings_count(const harness_findings_t *f,
                              harness_finding_kind_t kind);

/* The invariant ids (docs/harness.md lists what each one means). */
#define HARNESS_INV_LIFECYCLE    "lifecycle"     /* fork < online < listening */
#define HARNESS_INV_ONCE         "once"          /* online/disconnect/exit <= 1 */
#define HARNESS_INV_BOTH_ENDS    "both-ends"     /* disconnect and exit */
#define HARNESS_INV_AFTER_END    "after-end"     /* nothing after both */
#define HARNESS_INV_TWIN         "twin"          /* Worker event, then cluster */
#define HARNESS_INV_EAD_BOOL     "ead-boolean"
#define HARNESS_INV_EAD_CAUSE    "ead-cause"
#define HARNESS_INV_CONNECTED    "connected"     /* isConnected() at disconnect */
#define HARNESS_INV_DEAD         "dead"          /* isDead() at exit */
#define HARNESS_INV_IDS          "ids"           /* 1, 2, 3..., never reused */
#define HARNESS_INV_EXIT_STATUS  "exit-status"   /* code xor signal */
#define HARNESS_INV_MEMBERSHIP   "membership"    /* removed before the last */

typedef struct {
  /* Node's documented exit-only case (a worker that dies while a handle
   * sent to it is not acknowledged never emits `disconnect`): accepted when
   * set. */
  bool allow_exit_without_disconnect;
} harness_oracle_opts_t;

/* Checks DESIGN section 5 on a finished trace; appends one finding per
 * violation. Returns the number of violations found (>= 0). */
int harness_oracle_check(const harness_trace_t *tr,
                         const harness_oracle_opts_t *opts,
                         harness_findings_t *out);

/* What the load generator counted (all zero when no load ran). */
typedef struct {
  bool ran;
  uint64_t sent, ok, refused, reset, timeout, bad_status, truncated, error,
      retried, failed;
} harness_load_totals_t;

/* Checks the scenario's expectations on a finished trace. */
int harness_expect_check(const harness_scenario_t *s,
                         const harness_trace_t *tr,
                         const harness_load_totals_t *load,
                         harness_findings_t *out);

/* ---------------------------------------------------------------------- */
/* Differential runs (harness-diff.c)                                      */

/* Per worker, the cluster and Worker events of a trace, normalised: no
 * pids, times or real ports (numbered by first appearance), no heartbeat
 * traffic. */
typedef struct harness_projection_s harness_projection_t;

int harness_projection_of(const harness_trace_t *tr,
                          harness_projection_t **out);
void harness_projection_free(harness_projection_t *p);
/* Compares two projections worker by worker; for each worker that
 * differs, appends its first difference to `out` (the event with its
 * index in each trace); workers that are the same only up to what Node
 * leaves open (the order of disconnect and exit) or up to the end of an
 * incomplete trace get a note. Returns how many workers differ. */
int harness_projection_diff(const harness_projection_t *a,
                            const char *label_a,
                            const harness_projection_t *b,
                            const char *label_b, harness_diag_t *out);

/* ---------------------------------------------------------------------- */
/* Targets                                                                 */

typedef enum {
  HARNESS_TARGET_BUILTIN = 0,
  HARNESS_TARGET_NODE,
  HARNESS_TARGET_EXEC,
  HARNESS_TARGET_NODE_C,   /* the Node primary agent, clustersim workers */
  HARNESS_TARGET_C_NODE,   /* the builtin primary agent, Node workers */
  HARNESS_TARGET_KIND_COUNT
} harness_target_kind_t;

typedef struct {
  harness_target_kind_t kind;
  char *spec;              /* as given: "builtin", "node", "exec:CMD" */
  char **argv;             /* the agent's command line (NULL-terminated) */
  char **env;              /* "K=V" added to the agent's environment
                              (NULL-terminated), or NULL */
  /* Mixed targets: the worker program the setup command names
   * (settings.exec, and args put before the scenario's), unless the
   * scenario names its own. NULL: the agent's own worker agent. */
  char *worker_exec;
  char **worker_args;
} harness_target_t;

/* Resolves a --target value: builtin, node, node:PATH, node-c, node-c:PATH,
 * c-node, c-node:PATH, exec:CMD. `self` is the clustersim executable (the
 * builtin agent is `self primary`), `runtime` the node binary (NULL:
 * "node" from PATH), `source_dir` holds agents/node/ and harness/. */
int harness_target_parse(const char *spec, const char *self,
                         const char *runtime, const char *source_dir,
                         harness_target_t *out, harness_diag_t *diag);
void harness_target_free(harness_target_t *t);
/* "builtin", "node", "exec", "node-c" or "c-node". */
const char *harness_target_kind_name(harness_target_kind_t kind);
/* The kind of a name as `targets:` writes it; -1 if unknown. */
int harness_target_kind_from_name(const char *name);
/* NULL when `s` runs on `t`; else why it does not (the scenario's own
 * `skip:` or `targets:` reason, or why a mixed target cannot apply). */
const char *harness_target_skip_reason(const harness_scenario_t *s,
                                       const harness_target_t *t);
/* The divergence `s` documents on `t`, or NULL. */
const harness_target_note_t *
harness_target_divergence(const harness_scenario_t *s,
                          const harness_target_t *t);

/* ---------------------------------------------------------------------- */
/* Running a scenario                                                      */

typedef enum {
  HARNESS_PASS = 0,
  HARNESS_FAIL,
  HARNESS_INCONCLUSIVE,
  HARNESS_ERROR,
  HARNESS_SKIP,
  HARNESS_TIMEOUT,
  HARNESS_OUTCOME_COUNT
} harness_outcome_t;

const char *harness_outcome_name(harness_outcome_t o);

typedef struct harness_run_s harness_run_t;

typedef struct {
  double time_scale;       /* multiplies every deadline; 1.0 */
  uint64_t seed;
  const char *trace_path;  /* JSON lines file to write, or NULL */
  unsigned attempt;        /* 1-based, for messages */
  /* Called once, on the loop, when the primary agent has said hello, with
   * the runtime and version it names (NULL when absent) and the `arg` of
   * harness_run_start; NULL: not called. */
  void (*hello)(harness_run_t *run, const char *runtime,
                const char *version, void *arg);
} harness_run_opts_t;

typedef struct {
  harness_outcome_t outcome;
  char *reason;            /* one line */
  char *detail;            /* every finding, one per line */
  harness_findings_t findings;
  harness_trace_t trace;   /* the finished trace */
  harness_load_totals_t load;
  char *runtime;           /* from the agent's hello */
  char *version;
  uint64_t started_ns, ended_ns;
  unsigned leftovers;      /* processes still alive at the end */
  char *log;               /* the agent's stdout/stderr (tail) */
  /* Ended by harness_run_abort (SIGINT/SIGTERM to the harness): the
   * outcome is HARNESS_ERROR with the abort's reason, and the reports show
   * the run as interrupted rather than as an error of the run itself. */
  bool interrupted;
} harness_result_t;

void harness_result_free(harness_result_t *r);
typedef void (*harness_run_done_cb)(harness_run_t *run,
                                    harness_result_t *result, void *arg);

/* Starts one run of `s` on `target` on `loop`. `s` and `target` are
 * borrowed and must outlive the run. When the run has ended, every process
 * of it has been reaped and every handle closed, `done` is called once with
 * the result (owned by the callee: harness_result_free() and free(); NULL
 * only if memory ran out); after it returns the run is freed. */
int harness_run_start(uv_loop_t *loop, const harness_scenario_t *s,
                      const harness_target_t *target,
                      const harness_run_opts_t *opts,
                      harness_run_done_cb done, void *arg,
                      harness_run_t **out);
/* Ends a run early (SIGINT/SIGTERM): every process is killed and reaped,
 * the result is an error with `reason` and `interrupted` set; `done` still
 * runs. */
void harness_run_abort(harness_run_t *run, const char *reason);

/* ---------------------------------------------------------------------- */
/* Command line                                                            */

/* `clustersim run|check|list ...`; argv[0] is the subcommand. Prints to
 * stdout/stderr; returns one of the HARNESS_EXIT_* codes. */
int harness_cli_main(int argc, char **argv);

#endif /* HARNESS_H */
