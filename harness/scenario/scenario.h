/*
 * scenario.h - scenario files: the model of a scenario (cluster, worker
 * behaviour, primary policies, steps, expectations) and its loader, which
 * checks a YAML file against the schema of docs/scenarios.md and reports
 * every problem as "file:line:col: error: ...".
 *
 * Conventions (every harness module follows them): functions return 0 or a
 * negative UV_E* code; strings passed in are borrowed (copied when kept);
 * objects returned through an out pointer are owned by the caller and
 * released by the matching _free. Libraries never print: diagnostics come
 * back as strings.
 */
#ifndef SCENARIO_H
#define SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>

#include "base.h"
#include "trace.h"

/* ---------------------------------------------------------------------- */
/* Scenarios                                                               */

/* A reference to a worker in a step or an expectation. */
typedef enum {
  SCENARIO_W_NONE = 0,  /* not given */
  SCENARIO_W_ID,        /* a worker id (1, 2, ...) */
  SCENARIO_W_ANY,       /* any worker (wait, on, counts) */
  SCENARIO_W_EACH,      /* every worker, separately (expectations) */
  SCENARIO_W_LAST,      /* the most recently forked worker */
  SCENARIO_W_TRIGGER,   /* the worker whose event fired the trigger */
  SCENARIO_W_PRIMARY,   /* the primary (signal steps) */
  SCENARIO_W_GROUP      /* the primary's process group (signal steps) */
} scenario_wref_kind_t;

typedef struct {
  scenario_wref_kind_t kind;
  unsigned id;
  unsigned line, column;       /* where the reference is written (0: none) */
} scenario_wref_t;

/* The step vocabulary, one row per kind:
 *   XX(ID, name, key, role, doc)
 * ID    the enum suffix: SCENARIO_STEP_<ID>
 * name  the C name of the kind: the loader's definition of the kind is
 *       step_<name> (harness/scenario/scenario-steps.c: the keys, types and
 *       defaults of its value), the runner's handler runner__step_<name>
 * key   the YAML key; kinds sharing one ("load") are told apart by the
 *       shape of the value (a mapping starts the load, a word stops it)
 * role  what the step is to a cluster (scenario_step_role_t without its
 *       prefix): the reports draw, and explore counts, the faults by it
 * doc   its line in the reference of docs/scenarios.md
 * The loader, the schema walk, the error messages and suggestions, the
 * runner and the reference (scenario_describe) all read these. Adding a
 * kind = a row here, its step_<name>, its runner__step_<name>. */
#define SCENARIO_STEP_MAP(XX)                                                 \
  XX(FORK, fork, "fork", ROUTINE,                                             \
     "`cluster.fork(env)` N times, waiting for each reply")                   \
  XX(WAIT, wait, "wait", ROUTINE,                                             \
     "waits until `count` such events have happened since the start of the "  \
     "run (`within` is scaled)")                                              \
  XX(SLEEP, sleep, "sleep", ROUTINE,                                          \
     "waits (not scaled)")                                                    \
  XX(SEND, send, "send", ROUTINE,                                             \
     "`worker.send(message)` from the primary")                               \
  XX(DISCONNECT, disconnect, "disconnect", ENDING,                            \
     "`worker.disconnect()` from the primary")                                \
  XX(KILL, kill, "kill", ENDING,                                              \
     "`worker.kill(signal)` from the primary")                                \
  XX(CLUSTER_DISCONNECT, cluster_disconnect, "cluster-disconnect", ENDING,    \
     "`cluster.disconnect(cb)`")                                              \
  XX(SIGNAL, signal, "signal", SIGNAL,                                        \
     "the harness sends a signal with kill(2) to a worker or the primary")    \
  XX(PAUSE, pause, "pause", SIGNAL,                                           \
     "SIGSTOP now, SIGCONT after `for` (the step does not wait)")             \
  XX(CRASH, crash, "crash", WORKER_FAULT,                                     \
     "the worker calls `process.exit(code)`; with `hold-channel`, a child "   \
     "process it starts right before shares its IPC channel and holds it "    \
     "open that long, past the exit (below)")                                 \
  XX(THROW, throw, "throw", WORKER_FAULT,                                     \
     "an uncaught error in the worker (exit code 1)")                         \
  XX(HANG, hang, "hang", WORKER_FAULT,                                        \
     "the worker blocks its event loop for `for`")                            \
  XX(IPC_DISCONNECT, ipc_disconnect, "ipc-disconnect", WORKER_FAULT,          \
     "`process.disconnect()` in the worker: the channel closes from the "     \
     "worker's end")                                                          \
  XX(WORKER_KILL, worker_kill, "worker-kill", WORKER_FAULT,                   \
     "`cluster.worker.kill()` in the worker")                                 \
  XX(WORKER_DISCONNECT, worker_disconnect, "worker-disconnect", WORKER_FAULT, \
     "`cluster.worker.disconnect()` in the worker")                           \
  XX(CLOSE_SERVERS, close_servers, "close-servers", WORKER_FAULT,             \
     "the worker closes its servers")                                         \
  XX(HOLD, hold, "hold", WORKER_FAULT,                                        \
     "the worker opens client connections to `port` (0: the cluster's "       \
     "first server) and keeps them: an open handle keeps a process alive")    \
  XX(WORKER_SEND, worker_send, "worker-send", WORKER_ACT,                     \
     "`process.send(message)` from the worker")                               \
  XX(CONNECT, connect, "connect", ROUTINE,                                    \
     "the harness opens client connections to `port` (0: the cluster's "      \
     "first server), sends the start of a request and keeps them open for "   \
     "`hold`")                                                                \
  XX(LOAD_START, load_start, "load", ROUTINE,                                 \
     "starts the load generator (below)")                                     \
  XX(LOAD_STOP, load_stop, "load", ROUTINE,                                   \
     "`stop` stops the load and waits for the requests in flight; `wait` "    \
     "waits until it ends by its own bounds")                                 \
  XX(ROLLING_RESTART, rolling_restart, "rolling-restart", ROUTINE,            \
     "the primary's rolling restart: `timeout` per old worker before "        \
     "SIGKILL; with `wait`, waits for `restart-done` for `within` (scaled)")  \
  XX(SHUTDOWN, shutdown, "shutdown", ROUTINE,                                 \
     "the primary's graceful shutdown; waits for the primary to exit for "    \
     "`within` (scaled)")                                                     \
  XX(STATUS, status, "status", ROUTINE,                                       \
     "asks the primary for `cluster.workers` and each worker's flags "        \
     "(`worker`: one, default every worker forked), recorded in the trace")   \
  XX(MEMORY, memory, "memory", ROUTINE,                                       \
     "the harness reads `Rss` and `Pss` of each worker alive (`worker`: "     \
     "one), and with `primary` of the primary, from /proc/PID/smaps_rollup: " \
     "a `sample` record per process in the trace (below)")                    \
  XX(SETUP, setup, "setup", ROUTINE,                                          \
     "`cluster.setupPrimary(settings)` again: cumulative, as Node's; `env` "  \
     "is added to later forks' environment")                                  \
  XX(TOGETHER, together, "together", ROUTINE,                                 \
     "the primary runs these commands in one turn of its event loop, in "     \
     "order, as one synchronous piece of a primary program")                  \
  XX(PRIMARY_THROW, primary_throw, "primary-throw", ROUTINE,                  \
     "an uncaught error in the primary program (Node: exit code 1; its "      \
     "workers leave when their channels end)")                                \
  XX(PRIMARY_CRASH, primary_crash, "primary-crash", ROUTINE,                  \
     "`process.exit(code)` in the primary program")                           \
  XX(TIMER, timer, "timer", WORKER_ACT,                                       \
     "the worker sets a timer of `for` (a pending timer keeps a process "     \
     "alive), observed as `worker-timer` when it fires")                      \
  XX(SERVE, serve, "serve", ROUTINE,                                          \
     "the primary listens itself on `port` or a UNIX socket `path` "          \
     "(`net.createServer({pauseOnConnect: true})`, no cluster involved) and " \
     "holds each connection it accepts, unread: `handle-listening`, then a "  \
     "`handle-connection` for each, numbered 1, 2... (`conn`)")               \
  XX(SEND_HANDLE, send_handle, "send-handle", ROUTINE,                        \
     "`worker.send(message, handle, {keepOpen})` from the primary: a held "   \
     "connection (`conn`) or a server of `serve` (`server`)")                 \
  XX(CLOSE_HANDLE, close_handle, "close-handle", ROUTINE,                     \
     "the primary closes a held connection or a server of `serve`")           \
  XX(WORKER_SEND_HANDLE, worker_send_handle, "worker-send-handle", WORKER_ACT, \
     "the worker connects to `port` (0: the cluster's first server) and "     \
     "`process.send(message, socket)`; the primary holds the socket "         \
     "(`handle-received`)")                                                   \
  XX(OUTPUT, output, "output", WORKER_ACT,                                    \
     "the worker writes `line` and a newline to `stream`, `repeat` times "    \
     "(with `silent`, the primary reports each line as `output`)")            \
  XX(TRIGGER, trigger, "on", ROUTINE,                                         \
     "arms a trigger: runs `do` when the event happens (below)")

typedef enum {
#define XX(ID, name, key, role, doc) SCENARIO_STEP_##ID,
  SCENARIO_STEP_MAP(XX)
#undef XX
  SCENARIO_STEP_KIND_COUNT
} scenario_step_kind_t;

/* The YAML key of a step kind ("fork", "rolling-restart", "on"...). */
const char *scenario_step_name(scenario_step_kind_t kind);

/* What a step is to the cluster: the one list of the faults that reports
 * draw and explore counts. */
typedef enum {
  SCENARIO_ROLE_ROUTINE,       /* the harness's own work: fork, wait, load */
  SCENARIO_ROLE_WORKER_ACT,    /* the worker agent does it; no harm meant
                                  (a message, a timer, output) */
  SCENARIO_ROLE_WORKER_FAULT,  /* the worker agent does it to itself */
  SCENARIO_ROLE_SIGNAL,        /* the harness signals a process */
  SCENARIO_ROLE_ENDING         /* the primary ends workers (kill,
                                  disconnect, cluster.disconnect) */
} scenario_step_role_t;

scenario_step_role_t scenario_step_role(scenario_step_kind_t kind);
/* The role of a harness action as the trace names it: a step's key, or
 * "resume" (the SIGCONT that ends a `pause`); ROUTINE for anything else. */
scenario_step_role_t scenario_action_role(const char *action);
/* A fault as the reports draw it: WORKER_FAULT or SIGNAL. */
bool scenario_role_is_fault(scenario_step_role_t role);

/* Load generator settings of a `load: {start: ...}` step. */
typedef struct {
  unsigned connections;   /* concurrent connections */
  bool keepalive;         /* false: Connection: close */
  uint64_t requests;      /* stop after this many (0: until stopped) */
  int64_t duration_ms;    /* stop after this time (0: until stopped) */
  int64_t timeout_ms;     /* per request */
  unsigned port_index;    /* which server of the worker behaviour */
  unsigned clients;       /* client addresses (0: any) */
  char path[64];          /* request target, default "/" */
  char serve[64];         /* "": a worker server; else a server of the
                             primary's `serve` steps, by name */
  bool sticky;            /* the sticky policy's server */
} scenario_load_spec_t;

typedef struct scenario_step_s scenario_step_t;

struct scenario_step_s {
  scenario_step_kind_t kind;
  unsigned line, column;       /* 1-based position of the step's key */
  char *path;                  /* "/steps/3" (or "/steps/3/do/0") */
  scenario_wref_t worker;       /* the worker it acts on or waits for */
  trace_ev_t event;          /* wait, on */
  bool cluster_emitter;        /* wait/on: count the `cluster` twin */
  unsigned count;              /* fork count; wait/on occurrences; hold */
  int64_t ms;                  /* sleep/pause/hang `for`, wait `within`,
                                  shutdown/rolling-restart `timeout`,
                                  connect `hold`, crash `hold-channel`
                                  (0: none) */
  int signal;                  /* signal, kill */
  int code;                    /* crash */
  int port;                    /* hold/connect port (0: the cluster's) */
  bool wait_done;              /* rolling-restart/load: wait until done */
  bool probe;                  /* sample the flags right after the call */
  bool primary;                /* memory: the primary's process too */
  bool tolerate_gone;          /* a worker already gone is not a failure */
  cJSON *message;              /* send, worker-send */
  cJSON *env;                  /* fork: env object or NULL */
  cJSON *behaviour;            /* fork: worker behaviour override or NULL;
                                  setup: the settings */
  scenario_load_spec_t load;    /* load start */
  /* handles */
  char server[64];             /* serve, send-handle, close-handle,
                                  connect: a server of `serve` ("": none) */
  unsigned conn;               /* send-handle, close-handle: a held
                                  connection (0: none) */
  bool keep_open;              /* send-handle */
  char *text;                  /* serve: a UNIX socket path; output: the
                                  line (owned, or NULL) */
  bool to_stderr;              /* output */
  /* trigger */
  char name[64];               /* `name`, or "" */
  int64_t after_ms;            /* delay before the actions */
  int64_t jitter_ms;           /* + uniform [0, jitter] drawn from the seed */
  unsigned times;              /* how often it may fire (0: unlimited) */
  scenario_step_t *actions;     /* `do` */
  size_t n_actions;
};

/* One element of an order pattern: a set of alternative events with a
 * quantifier, or an absence (!event). */
typedef struct {
  uint64_t alternatives;       /* bit (1 << trace_ev_t) per alternative */
  char quant;                  /* '1', '?', '*', '+' */
  bool absent;                 /* !event: must not occur at all */
} scenario_pattern_elem_t;

/* The expectation vocabulary, one row per kind: XX(ID, name, key, doc),
 * read as SCENARIO_STEP_MAP is. key is the key under `expect:`; the
 * loader's definition of the kind is expect_<name>
 * (harness/scenario/scenario-expect.c), the oracle's check
 * oracle__expect_<name>. */
#define SCENARIO_EXPECT_MAP(XX)                                               \
  XX(ORDER, order, "order", "per-worker event order patterns")                \
  XX(ABSENT, absent, "absent", "events that must not happen")                 \
  XX(FLAGS, flags, "flags",                                                   \
     "what the listener saw at an event; at least one check")                 \
  XX(COUNT, count, "counts",                                                  \
     "how many times an event happens: `count`, or `min` and/or `max`")       \
  XX(AVAILABILITY, availability, "availability",                              \
     "failed-request budgets: `max-failed` and/or `always-listening`")        \
  XX(TIMING, timing, "timing",                                                \
     "time bounds between two points (events or steps): `within` and/or "     \
     "`at-least`")                                                            \
  XX(PRECEDES, precedes, "precedes",                                          \
     "orders across workers and of cluster-level events: `first` before "     \
     "`then`")                                                                \
  XX(ADDRESSES, addresses, "addresses",                                       \
     "the `listening` address of a worker's listen index")                    \
  XX(PORTS, ports, "ports",                                                   \
     "ports shared or not: across workers for one listen index, across "      \
     "indexes")                                                               \
  XX(SERVED, served, "served",                                                \
     "who served the load's requests: counts per worker, strict rotation, "   \
     "affinity, outcomes")                                                    \
  XX(MESSAGES, messages, "messages",                                          \
     "message contents and order, either way: exact values, increasing "      \
     "sequences, echoes")                                                     \
  XX(TWINS, twins, "twins",                                                   \
     "emitter order: which of the Worker and `cluster` emits an event first")  \
  XX(PROBES, probes, "probes",                                                \
     "what a step's probe sampled in the turn of its call: flags, "           \
     "membership, the return value, callbacks run")                           \
  XX(HANDLES, handles, "handles",                                             \
     "handles that came with messages: what workers did with those they "     \
     "received, or what the primary got from them; kind, action, message, "   \
     "how many")                                                              \
  XX(OUTPUT, output, "output",                                                \
     "the output of silent workers: lines per worker and stream, by text "    \
     "or pattern, how many; the bytes dropped past the bounds")

typedef enum {
#define XX(ID, name, key, doc) SCENARIO_EXPECT_##ID,
  SCENARIO_EXPECT_MAP(XX)
#undef XX
  SCENARIO_EXPECT_KIND_COUNT
} scenario_expect_kind_t;

/* A moment of the run that timings and orders name: the nth event (one
 * of alternatives, as "disconnect|exit") of a worker, or of each worker,
 * or the nth record of a step (when the harness began it, or a trigger
 * ran it). Neither: the start of the run. */
typedef struct {
  uint64_t events;             /* bit (1 << trace_ev_t) per alternative;
                                  0: not an event */
  scenario_wref_t worker;      /* an id, any (0) or each */
  unsigned nth;                /* 1-based */
  bool cluster_emitter;        /* the `cluster` twin */
  char step[64];               /* "" or the step's path ("/steps/3") */
} scenario_point_t;

typedef struct {
  scenario_expect_kind_t kind;
  unsigned line, column;
  char *path;
  scenario_wref_t worker;
  bool whole_run;              /* `during: run`: also the end-of-run
                                  shutdown; else only up to the end of the
                                  steps */
  trace_ev_t event;          /* absent, flags `at`, count */
  bool cluster_emitter;
  unsigned nth;                /* flags: which occurrence (1-based; 0:
                                  every one) */
  bool optional;               /* flags: the event may not happen */
  /* order */
  scenario_pattern_elem_t *pattern;
  size_t n_pattern;
  char *pattern_text;          /* as written, for messages */
  /* count */
  int64_t min, max;            /* -1: unbounded */
  /* availability */
  int64_t max_failed;          /* -1: not checked */
  int64_t min_requests;        /* fewer served: inconclusive */
  bool always_listening;
  /* timing (from, to), precedes (first: from, then: to) */
  scenario_point_t from, to;
  int64_t min_ms, max_ms;      /* -1: unbounded */
  bool before_each;            /* precedes: a `from` before every `to` */
  /* The item as written, as JSON: what the checks of values read
   * (alternatives, fields, messages, settings...). Owned. */
  cJSON *item;
} scenario_expect_t;

typedef enum {
  SCENARIO_RESPAWN_NEVER = 0,
  SCENARIO_RESPAWN_ALWAYS,
  SCENARIO_RESPAWN_UNLESS_EAD,
  SCENARIO_RESPAWN_ON_NONZERO
} scenario_respawn_t;

/* What `targets:` says of one target kind: not run there, or run with a
 * documented divergence (a failure there is reported as skipped, with the
 * reason and what was seen). Always with a reason. */
typedef struct {
  char *kind;                  /* "builtin", "node", "node-c", "c-node",
                                  "exec" */
  bool skip;                   /* true: skip; false: diverges */
  char *reason;
  unsigned line;
} scenario_target_note_t;

/* A loaded scenario. It owns everything it points to (strings, cJSON
 * objects, steps with their `do` actions, expectations): all of it lives
 * until scenario_free and is read-only for everyone else. */
typedef struct scenario_s {
  char *file;                  /* as given to the loader */
  char *name;
  char *description;
  char **tags;
  size_t n_tags;
  char *skip;                  /* reason, or NULL */
  scenario_target_note_t *target_notes;  /* `targets:`, one per kind named */
  size_t n_target_notes;
  int64_t timeout_ms;          /* per-run deadline before --time-scale */
  /* cluster */
  unsigned workers;            /* forked before the first step */
  char *scheduling;            /* "rr", "none" or NULL */
  cJSON *settings;             /* setup settings {exec,args,cwd,silent,env} */
  cJSON *behaviour;            /* CLUSTERSIM_WORKER of every worker */
  unsigned n_servers;          /* servers in `behaviour` */
  /* primary policies */
  scenario_respawn_t respawn;
  cJSON *policy;               /* the `policy` command, or NULL */
  /* the oracle's one documented exception */
  bool allow_exit_without_disconnect;
  /* a `served` expectation reads every request of the load, not only
   * the failed ones: the trace records them all */
  bool record_requests;
  scenario_step_t *steps;
  size_t n_steps;
  scenario_expect_t *expects;
  size_t n_expects;
} scenario_t;

/* Loads and validates a scenario file. On success *out is set (caller owns
 * it, scenario_free) and 0 is returned. On any problem every error
 * found (up to a limit) is appended to diag and UV_EINVAL is returned (or
 * the -errno of reading the file, with a message in diag too). */
int scenario_load(const char *path, base_diag_t *diag, scenario_t **out);
/* The same from a buffer; `name` stands for the file in messages. `text`
 * and `name` are borrowed for the call only. */
int scenario_load_string(const char *name, const char *text, size_t len,
                         base_diag_t *diag, scenario_t **out);
/* Frees a scenario and all it owns; NULL is a no-op. */
void scenario_free(scenario_t *s);

/* ---------------------------------------------------------------------- */
/* Reference                                                               */

/* The parts of docs/scenarios.md generated from the tables above; the
 * docs hold each between <!-- NAME:begin --> and <!-- NAME:end --> lines,
 * NAME being scenario_doc_name(). */
typedef enum {
  SCENARIO_DOC_STEPS = 0,   /* "steps": every step kind */
  SCENARIO_DOC_EXPECT,      /* "expect": every expectation kind */
  SCENARIO_DOC_COUNT
} scenario_doc_t;

/* "steps", "expect"; NULL for anything else. A static string. */
const char *scenario_doc_name(scenario_doc_t part);

/* Writes the Markdown of one part to `out` (borrowed, not closed): a table
 * with a row per kind giving its key, its fields with their types and
 * defaults, and its doc line. 0, UV_EINVAL for an unknown part, UV_EIO when
 * `out` reports a write error. */
int scenario_describe(FILE *out, scenario_doc_t part);


#endif /* SCENARIO_H */
