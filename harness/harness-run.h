/*
 * harness-run.h - the state of one run, shared by harness-run.c (the
 * agent, the control socket, the records, the end of a run) and
 * harness-step.c (steps, triggers and actions). Private to the module.
 */
#ifndef HARNESS_RUN_H
#define HARNESS_RUN_H

#include "harness-priv.h"
#include "load.h"

#define RUN_MAX_SERVERS 16
#define RUN_MAX_PENDING 16

typedef struct run_conn_s run_conn_t;
typedef struct run_timer_s run_timer_t;

typedef enum {
  ROLE_UNKNOWN = 0,
  ROLE_PRIMARY,
  ROLE_WORKER
} run_role_t;

struct run_conn_s {
  uv_pipe_t pipe;
  harness_run_t *run;
  run_conn_t *next;
  char *buf;
  size_t len, cap;
  run_role_t role;
  unsigned worker;
  bool closing;
};

typedef struct {
  bool known;
  bool forked;
  bool exited;               /* the agent reported its exit */
  int pid;
  run_conn_t *conn;
  cJSON *pending[RUN_MAX_PENDING];  /* faults waiting for the connection */
  const harness_step_t *pending_step[RUN_MAX_PENDING];
  unsigned n_pending;
  uint64_t pending_since;
  unsigned counts[HARNESS_EV_COUNT][2];
} run_worker_t;

typedef enum {
  TIMER_TRIGGER = 0,         /* run a trigger's actions */
  TIMER_RESUME,              /* SIGCONT after a pause */
  TIMER_CONNECT              /* close held client connections */
} run_timer_kind_t;

struct run_timer_s {
  uv_timer_t timer;
  harness_run_t *run;
  run_timer_t *next;
  run_timer_kind_t kind;
  const harness_step_t *step;
  unsigned worker;
  int pid;
  uv_tcp_t *tcp;
  unsigned n_tcp;
  unsigned open;             /* handles not yet closed */
  bool fired;
};

typedef struct {
  const harness_step_t *st;
  unsigned worker;           /* 0: any */
  unsigned seen;
  unsigned fired;
  bool armed;
} run_trigger_t;

/* What a request's reply continues. */
typedef enum {
  REQ_SETUP = 0,
  REQ_POLICY,
  REQ_INITIAL_FORK,
  REQ_STEP,
  REQ_TRIGGER,
  REQ_END
} run_req_kind_t;

typedef struct run_req_s run_req_t;
struct run_req_s {
  unsigned req;
  run_req_kind_t kind;
  const harness_step_t *st;
  char cmd[24];
  uint64_t sent;
  cJSON *behaviour;          /* fork: the worker's behaviour (borrowed) */
  run_req_t *next;
};

typedef enum {
  PHASE_START = 0,           /* waiting for the agent's hello */
  PHASE_SETUP,               /* setup, policy, initial forks */
  PHASE_STEPS,
  PHASE_END_LOAD,            /* stopping the load */
  PHASE_END_SETTLE,          /* cluster-disconnect, waiting for every
                                worker's disconnect and exit */
  PHASE_END_EXIT,            /* shutdown sent, waiting for the exit */
  PHASE_END_EOF,             /* agent gone, reading what is left */
  PHASE_DRAIN,               /* the supervisor lets the rest end */
  PHASE_KILL,                /* the supervisor kills everything */
  PHASE_CLOSE,               /* closing handles */
  PHASE_DONE
} run_phase_t;

typedef enum {
  WAIT_NONE = 0,
  WAIT_REPLY,
  WAIT_EVENT,
  WAIT_SLEEP,
  WAIT_LOAD,
  WAIT_RESTART,
  WAIT_EXIT
} run_wait_t;

struct harness_run_s {
  uv_loop_t *loop;
  const harness_scenario_t *s;
  const harness_target_t *target;
  harness_run_opts_t opts;
  char *trace_path;
  harness_run_done_cb done;
  void *done_arg;
  harness_result_t res;

  run_phase_t phase;
  unsigned handles;          /* open libuv handles of this run */
  uint64_t rng;

  char dir[256];
  char sock[300];
  uv_pipe_t server;
  run_conn_t *conns;
  run_conn_t *primary;

  harness_super_t *sup;
  bool sup_done;
  int agent_pid;             /* as forked */
  int hello_pid;             /* as the agent says */
  bool agent_exited;
  int agent_status;
  uv_pipe_t log;
  bool log_open;
  char *logbuf;
  size_t loglen;

  uv_timer_t deadline;       /* the whole run */
  uv_timer_t step_timer;     /* step deadlines and sleeps */
  uv_timer_t kick;           /* continue on the next loop turn */
  uv_timer_t tick;           /* periodic checks */
  uv_timer_t end_timer;      /* bounds each end phase */
  bool timers_open;

  run_worker_t *workers;     /* index id-1 */
  unsigned n_workers;
  unsigned last_forked;
  int ports[RUN_MAX_SERVERS];

  unsigned next_req;
  run_req_t *reqs;
  /* faults sent, by request number, for a worker's refusal */
  const harness_step_t **fault_steps;
  unsigned n_fault_steps;
  unsigned initial_forks_left;

  bool started;              /* the agent said hello */
  unsigned setup_state;
  unsigned counts_all[HARNESS_EV_COUNT][2];
  size_t step_i;
  const harness_step_t *cur;
  run_wait_t wait;
  unsigned wait_worker;
  unsigned fork_left;

  run_trigger_t *triggers;
  size_t n_triggers;
  run_timer_t *timers;

  load_t *load;
  bool load_running;
  bool load_stopping;
  uint64_t load_failed_records;

  bool shutdown_sent;        /* a shutdown command or signal went out */
  bool shutdown_done_seen;
  bool restart_done_seen;
  unsigned restart_done_count;
  unsigned restart_wait_target;
  bool killed_path;          /* ended by SIGKILL rather than gracefully */
  bool timed_out;
  char *abort_reason;        /* harness_run_abort() */
  char *error;               /* the harness could not run it */
  char *step_failure;        /* a step (or trigger) failed */
};

/* harness-control.c */
void run_on_connection(uv_stream_t *server, int status);
void run_conn_close(run_conn_t *c);

/* harness-verdict.c: the outcome of a run whose processes are all gone */
void run_verdict(harness_run_t *run);

/* harness-run.c */
/* The agent's control connection reached its end. */
void run_agent_eof(harness_run_t *run);
/* During the end of the run: go on once every worker has left. */
void run_settle_check(harness_run_t *run);
void run_record(harness_run_t *run, cJSON *rec);
void run_action(harness_run_t *run, const char *name,
                const harness_step_t *st, unsigned worker, cJSON *extra);
int run_command(harness_run_t *run, cJSON *cmd, run_req_kind_t kind,
                const harness_step_t *st, cJSON *behaviour);
int run_send_worker(harness_run_t *run, unsigned id, cJSON *msg);
/* A request number for a fault of step `st` (kept for the run). */
unsigned run_fault_req(harness_run_t *run, const harness_step_t *st);
run_worker_t *run_worker(harness_run_t *run, unsigned id);
void run_fail(harness_run_t *run, const harness_step_t *st,
              const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The harness could not run the scenario (the agent did not start, broke
 * the protocol): the outcome is an error, not a failure. */
void run_error(harness_run_t *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Kills every process of the run at once and ends it. */
void run_abort_error(harness_run_t *run);
void run_kick(harness_run_t *run);
void run_end(harness_run_t *run);
uint64_t run_scaled(const harness_run_t *run, int64_t ms);
/* A handle of the run has closed (its close callback). */
void run_handle_gone(harness_run_t *run);
/* Finishes the run if it is closing and nothing is left open. */
void run_maybe_finish(harness_run_t *run);

/* How long the primary has to answer a command. */
#define REPLY_MS 5000

/* What an action did: finished, started something the step waits for,
 * or failed (the failure is recorded). */
enum { ACT_DONE = 0, ACT_ASYNC = 1, ACT_FAIL = -1 };

/* harness-action.c */
int action_exec(harness_run_t *run, const harness_step_t *st, unsigned trig,
                bool trigger);
/* A step's worker: its id, `last`, or the trigger's worker `trig`. */
int action_resolve(harness_run_t *run, const harness_step_t *st,
                   harness_wref_t ref, unsigned trig, unsigned *id);
cJSON *action_command(const char *name);
cJSON *action_fork_command(const harness_run_t *run, const harness_step_t *st);
/* Faults held for a worker's control connection: sent on its hello,
 * failed when it exits first. */
void action_flush_pending(harness_run_t *run, unsigned id);
void action_drop_pending(harness_run_t *run, unsigned id, const char *why);
run_timer_t *action_timer_new(harness_run_t *run, run_timer_kind_t kind,
                              const harness_step_t *st, unsigned worker,
                              uint64_t ms);
void action_timer_close(run_timer_t *rt);

/* harness-loadgen.c */
int loadgen_start(harness_run_t *run, const harness_step_t *st);

/* harness-step.c */
/* The current step has finished: the next one follows. */
void step_done(harness_run_t *run);
void step_continue(harness_run_t *run);
void step_on_record(harness_run_t *run, const harness_event_t *e);
void step_on_reply(harness_run_t *run, run_req_t *req, const cJSON *reply);
void step_on_timeout(harness_run_t *run);
void step_on_agent_exit(harness_run_t *run);
void step_stop_all(harness_run_t *run);
void step_load_stop(harness_run_t *run);
void step_timers_close(harness_run_t *run);
void step_tick(harness_run_t *run);

#endif /* HARNESS_RUN_H */
