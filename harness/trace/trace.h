/*
 * trace.h - the trace of a run: the event vocabulary, every record of a
 * run ordered by CLOCK_MONOTONIC time (ties broken by arrival), JSON lines
 * on disk, and the per-worker projections that differential runs compare.
 *
 * Conventions (every harness module follows them): functions return 0 or a
 * negative UV_E* code; strings passed in are borrowed (copied when kept);
 * objects returned through an out pointer are owned by the caller and
 * released by the matching _free. Libraries never print: diagnostics come
 * back as strings.
 */
#ifndef TRACE_H
#define TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <cjson/cJSON.h>

#include "base.h"

/* ---------------------------------------------------------------------- */
/* Event names                                                             */

/* The event vocabulary: everything a `wait`, a trigger or an expectation
 * can name, one row per event, read by the trace, the loader's
 * suggestions, the oracle and the docs.
 *   XX(ID, name, src, cluster_only)
 * ID            the enum suffix: TRACE_EV_<ID>
 * name          the name in records and scenarios
 * src           who reports it: TRACE_SRC_<src>
 * cluster_only  1: Node emits it on `cluster` only (so that emission is
 *               the event itself); 0: on the Worker object, then (for agent
 *               events) on `cluster` as its twin */
#define TRACE_EV_MAP(XX)                                                      \
  /* cluster and Worker events, reported by the primary agent */              \
  XX(SETUP, "setup", AGENT, 1)                                                \
  XX(FORK, "fork", AGENT, 1)                                                  \
  XX(ONLINE, "online", AGENT, 0)                                              \
  XX(LISTENING, "listening", AGENT, 0)                                        \
  XX(MESSAGE, "message", AGENT, 0)                                            \
  XX(DISCONNECT, "disconnect", AGENT, 0)                                      \
  XX(EXIT, "exit", AGENT, 0)                                                  \
  XX(ERROR, "error", AGENT, 0)                                                \
  XX(DISCONNECT_CALLBACK, "disconnect-callback", AGENT, 1)                    \
  /* primary policy actions */                                                \
  XX(RESPAWN, "respawn", POLICY, 0)                                           \
  XX(SHUTDOWN_START, "shutdown-start", POLICY, 0)                             \
  XX(SHUTDOWN_FORCE, "shutdown-force", POLICY, 0)                             \
  XX(SHUTDOWN_DONE, "shutdown-done", POLICY, 0)                               \
  XX(HEARTBEAT_KILL, "heartbeat-kill", POLICY, 0)                             \
  XX(METRICS_LISTENING, "metrics-listening", POLICY, 0)                       \
  XX(RESTART_FORK, "restart-fork", POLICY, 0)                                 \
  XX(RESTART_DISCONNECT, "restart-disconnect", POLICY, 0)                     \
  XX(RESTART_KILL, "restart-kill", POLICY, 0)                                 \
  XX(RESTART_DONE, "restart-done", POLICY, 0)                                 \
  XX(RESTART_FAILED, "restart-failed", POLICY, 0)                             \
  XX(METRICS_ERROR, "metrics-error", POLICY, 0)                               \
  XX(STICKY_LISTENING, "sticky-listening", POLICY, 0)                         \
  XX(STICKY_ERROR, "sticky-error", POLICY, 0)                                 \
  XX(STICKY_TABLE, "sticky-table", POLICY, 0)                                 \
  XX(STICKY_MOVE, "sticky-move", POLICY, 0)                                   \
  /* the primary's handles ({"type":"handle"}) and its silent workers'       \
   * output ({"type":"output"}), reported by the primary agent */             \
  XX(HANDLE_LISTENING, "handle-listening", POLICY, 0)                         \
  XX(HANDLE_ERROR, "handle-error", POLICY, 0)                                 \
  XX(HANDLE_CONNECTION, "handle-connection", POLICY, 0)                       \
  XX(HANDLE_RECEIVED, "handle-received", POLICY, 0)                           \
  XX(OUTPUT, "output", POLICY, 0)                                             \
  /* observations a worker reports on its control connection */               \
  XX(W_STARTED, "worker-started", WORKER, 0)                                  \
  XX(W_LISTENING, "worker-listening", WORKER, 0)                              \
  XX(W_SERVER_CLOSE, "worker-server-close", WORKER, 0)                        \
  XX(W_MESSAGE, "worker-message", WORKER, 0)                                  \
  XX(W_DISCONNECT, "worker-disconnect", WORKER, 0)                            \
  XX(W_EXITING, "worker-exiting", WORKER, 0)                                  \
  XX(W_FAULT, "worker-fault", WORKER, 0)                                      \
  XX(W_SERVER_ERROR, "worker-server-error", WORKER, 0)                        \
  XX(W_SIGNAL, "worker-signal", WORKER, 0)                                    \
  XX(W_PROBE, "worker-probe", WORKER, 0)                                      \
  XX(W_TIMER, "worker-timer", WORKER, 0)                                      \
  XX(W_HANDLE, "worker-handle", WORKER, 0)                                    \
  /* seen by the harness itself */                                            \
  XX(PRIMARY_EXIT, "primary-exit", HARNESS, 0)

typedef enum {
  TRACE_EV_NONE = 0,
#define XX(ID, name, src, cluster_only) TRACE_EV_##ID,
  TRACE_EV_MAP(XX)
#undef XX
  TRACE_EV_COUNT
} trace_ev_t;

/* "listening" -> TRACE_EV_LISTENING; TRACE_EV_NONE if unknown. */
trace_ev_t trace_ev_from_name(const char *name);
const char *trace_ev_name(trace_ev_t ev);

/* Every event name, NULL-terminated (for suggestions). */
const char *const *trace_ev_names(void);

/* ---------------------------------------------------------------------- */
/* Traces                                                                  */

typedef enum {
  TRACE_SRC_AGENT = 0,   /* cluster/Worker event from the primary agent */
  TRACE_SRC_POLICY,      /* a policy action of the primary agent */
  TRACE_SRC_WORKER,      /* a worker's observation (control socket) */
  TRACE_SRC_HARNESS,     /* something the harness did or saw */
  TRACE_SRC_LOAD,        /* the load generator */
  TRACE_SRC_SAMPLE,      /* a measure the harness took of a process */
  TRACE_SRC_LOG,         /* agent output, log lines */
  TRACE_SRC_COUNT
} trace_src_t;

/* Tri-state flags sampled by the agent: -1 absent/null, 0 false, 1 true. */
typedef struct {
  uint32_t index;          /* position in the ordered trace */
  uint32_t arrival;        /* arrival order */
  uint64_t t;              /* CLOCK_MONOTONIC ns */
  trace_src_t src;
  trace_ev_t ev;         /* TRACE_EV_NONE for actions, logs, load */
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
} trace_event_t;

typedef struct {
  trace_event_t *events;
  size_t count;
  size_t cap;
  uint64_t t0;             /* the run's start: times are shown from here */
  bool complete;           /* the run ended normally: every worker's
                              lifecycle is in the trace */
  bool sorted;
  cJSON *meta;             /* extra fields of the header line, or NULL
                              (owned): scenario, target, seed... */
} trace_t;

void trace_init(trace_t *tr, uint64_t t0);
void trace_free(trace_t *tr);
/* Appends a record. Takes ownership of `json` (also on failure). The
 * record must have "t"; "type" decides the source: event, policy, observe,
 * action, load, sample, log, process. */
int trace_add(trace_t *tr, cJSON *json);
/* Orders the trace by time (stable: arrival order breaks ties) and numbers
 * the events. Idempotent. */
void trace_finish(trace_t *tr);
/* JSON lines: one record per line, each with "i" (its index). */
int trace_write(const trace_t *tr, const char *path);
/* Reads a file written by trace_write (or hand-written JSON
 * lines). A first line {"type":"trace","t0":...,"complete":true} sets t0
 * and completeness. Errors name the line in diag. */
int trace_read(const char *path, trace_t *tr,
                       base_diag_t *diag);
int trace_parse(const char *text, trace_t *tr,
                        base_diag_t *diag);
/* Seconds since t0 (for messages). */
double trace_secs(const trace_t *tr, uint64_t t);

/* ---------------------------------------------------------------------- */
/* Trace helpers                                                          */

/* Adds a record built from a printf-style JSON object text. */
int trace_addf(trace_t *tr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Whether `e` counts as the event `ev` (emitted on `cluster` for the
 * cluster_only events of TRACE_EV_MAP, on the Worker object otherwise),
 * or as its cluster twin when `cluster` is set. Records that are not the
 * agent's count as themselves unless `cluster` is set. */
bool trace_event_is(const trace_event_t *e, trace_ev_t ev, bool cluster);
/* "listening at 1.203 s (event #57)" */
void trace_event_describe(const trace_t *tr,
                            const trace_event_t *e, char *buf, size_t len);

/* What the load generator counted (all zero when no load ran). */
typedef struct {
  bool ran;
  uint64_t sent, ok, refused, reset, timeout, bad_status, truncated, error,
      retried, failed;
} trace_load_totals_t;

/* ---------------------------------------------------------------------- */
/* Differential runs (trace-diff.c)                                      */

/* Per worker, the cluster and Worker events of a trace, normalised: no
 * pids, times or real ports (numbered by first appearance), no heartbeat
 * traffic. */
typedef struct trace_projection_s trace_projection_t;

int trace_projection_of(const trace_t *tr,
                          trace_projection_t **out);
void trace_projection_free(trace_projection_t *p);
/* Compares two projections worker by worker; for each worker that
 * differs, appends its first difference to `out` (the event with its
 * index in each trace); workers that are the same only up to what Node
 * leaves open (the order of disconnect and exit) or up to the end of an
 * incomplete trace get a note. Returns how many workers differ. */
int trace_projection_diff(const trace_projection_t *a,
                            const char *label_a,
                            const trace_projection_t *b,
                            const char *label_b, base_diag_t *out);


#endif /* TRACE_H */
