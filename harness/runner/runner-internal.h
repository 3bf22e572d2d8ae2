/*
 * runner-internal.h - the state of one run, shared by runner.c (the
 * agent, the control socket, the records, the end of a run) and
 * runner-step.c (steps, triggers and actions). Private to the module.
 */
#ifndef RUNNER_INTERNAL_H
#define RUNNER_INTERNAL_H

#include "runner.h"
#include "load.h"

/* ---------------------------------------------------------------------- */
/* The per-run supervisor (runner-super.c)                                */

typedef struct runner__super_s runner__super_t;

typedef struct {
  /* a process of the run was reaped: status as from waitpid() */
  void (*reaped)(runner__super_t *s, int pid, int status, void *arg);
  /* the supervisor has exited: every process of the run is gone. `killed`
   * counts the processes it had to SIGKILL at the end (leftovers). */
  void (*done)(runner__super_t *s, unsigned killed, int failed, void *arg);
} runner__super_cbs_t;

/* Forks the supervisor, which forks the agent (argv, extra environment
 * `env` of "K=V" strings) in its own process group with the supervisor as
 * subreaper. The agent's stdout and stderr go to *log_fd (the read end,
 * owned by the caller). */
int runner__super_start(uv_loop_t *loop, char *const *argv, char *const *env,
                        const runner__super_cbs_t *cbs, void *arg,
                        runner__super_t **out, int *agent_pid, int *log_fd);
/* Lets the run's processes end by themselves for up to grace_ms, then
 * SIGKILLs what is left; `done` follows. */
void runner__super_drain(runner__super_t *s, unsigned grace_ms);
/* SIGKILLs every process of the run now; `done` follows. */
void runner__super_kill(runner__super_t *s);
/* Frees the supervisor object after `done`. */
void runner__super_free(runner__super_t *s);


#define RUN_MAX_SERVERS 16
#define RUN_MAX_PENDING 16

typedef struct runner__conn_s runner__conn_t;
typedef struct runner__timer_s runner__timer_t;

typedef enum {
  ROLE_UNKNOWN = 0,
  ROLE_PRIMARY,
  ROLE_WORKER
} runner__role_t;

struct runner__conn_s {
  uv_pipe_t pipe;
  runner_run_t *run;
  runner__conn_t *next;
  char *buf;
  size_t len, cap;
  runner__role_t role;
  unsigned worker;
  bool closing;
};

typedef struct {
  bool known;
  bool forked;
  bool exited;               /* the agent reported its exit */
  int pid;
  runner__conn_t *conn;
  cJSON *pending[RUN_MAX_PENDING];  /* faults waiting for the connection */
  const scenario_step_t *pending_step[RUN_MAX_PENDING];
  unsigned n_pending;
  uint64_t pending_since;
  unsigned counts[TRACE_EV_COUNT][2];
} runner__worker_t;

typedef enum {
  TIMER_TRIGGER = 0,         /* run a trigger's actions */
  TIMER_RESUME,              /* SIGCONT after a pause */
  TIMER_CONNECT              /* close held client connections */
} runner__timer_kind_t;

struct runner__timer_s {
  uv_timer_t timer;
  runner_run_t *run;
  runner__timer_t *next;
  runner__timer_kind_t kind;
  const scenario_step_t *step;
  unsigned worker;
  int pid;
  uv_tcp_t *tcp;
  unsigned n_tcp;
  unsigned open;             /* handles not yet closed */
  bool fired;
};

typedef struct {
  const scenario_step_t *st;
  unsigned worker;           /* 0: any */
  unsigned seen;
  unsigned fired;
  bool armed;
} runner__trigger_t;

/* What a request's reply continues. */
typedef enum {
  REQ_SETUP = 0,
  REQ_POLICY,
  REQ_INITIAL_FORK,
  REQ_STEP,
  REQ_TRIGGER,
  REQ_END
} runner__req_kind_t;

typedef struct runner__req_s runner__req_t;
struct runner__req_s {
  unsigned req;
  runner__req_kind_t kind;
  const scenario_step_t *st;
  char cmd[24];
  uint64_t sent;
  cJSON *behaviour;          /* fork: the worker's behaviour (borrowed) */
  runner__req_t *next;
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
} runner__phase_t;

typedef enum {
  WAIT_NONE = 0,
  WAIT_REPLY,
  WAIT_EVENT,
  WAIT_SLEEP,
  WAIT_LOAD,
  WAIT_RESTART,
  WAIT_EXIT
} runner__wait_t;

struct runner_run_s {
  uv_loop_t *loop;
  const scenario_t *s;
  const runner_target_t *target;
  runner_opts_t opts;
  char *trace_path;
  runner_done_cb done;
  void *done_arg;
  runner_result_t res;

  runner__phase_t phase;
  unsigned handles;          /* open libuv handles of this run */
  uint64_t rng;

  char dir[256];
  char sock[300];
  uv_pipe_t server;
  runner__conn_t *conns;
  runner__conn_t *primary;

  runner__super_t *sup;
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

  runner__worker_t *workers;     /* index id-1 */
  unsigned n_workers;
  unsigned last_forked;
  int ports[RUN_MAX_SERVERS];

  unsigned next_req;
  runner__req_t *reqs;
  /* faults sent, by request number, for a worker's refusal */
  const scenario_step_t **fault_steps;
  unsigned n_fault_steps;
  unsigned initial_forks_left;

  bool started;              /* the agent said hello */
  unsigned setup_state;
  unsigned counts_all[TRACE_EV_COUNT][2];
  size_t step_i;
  const scenario_step_t *cur;
  runner__wait_t wait;
  unsigned wait_worker;
  unsigned fork_left;

  runner__trigger_t *triggers;
  size_t n_triggers;
  runner__timer_t *timers;

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
  char *abort_reason;        /* runner_run_abort() */
  char *error;               /* the harness could not run it */
  char *step_failure;        /* a step (or trigger) failed */
};

/* runner-control.c */
void runner__on_connection(uv_stream_t *server, int status);
void runner__conn_close(runner__conn_t *c);

/* runner-verdict.c: the outcome of a run whose processes are all gone */
void runner__verdict(runner_run_t *run);

/* runner.c */
/* The agent's control connection reached its end. */
void runner__agent_eof(runner_run_t *run);
/* During the end of the run: go on once every worker has left. */
void runner__settle_check(runner_run_t *run);
void runner__record(runner_run_t *run, cJSON *rec);
void runner__action(runner_run_t *run, const char *name,
                const scenario_step_t *st, unsigned worker, cJSON *extra);
int runner__command(runner_run_t *run, cJSON *cmd, runner__req_kind_t kind,
                const scenario_step_t *st, cJSON *behaviour);
int runner__send_worker(runner_run_t *run, unsigned id, cJSON *msg);
/* A request number for a fault of step `st` (kept for the run). */
unsigned runner__fault_req(runner_run_t *run, const scenario_step_t *st);
runner__worker_t *runner__worker(runner_run_t *run, unsigned id);
void runner__fail(runner_run_t *run, const scenario_step_t *st,
              const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The harness could not run the scenario (the agent did not start, broke
 * the protocol): the outcome is an error, not a failure. */
void runner__error(runner_run_t *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Kills every process of the run at once and ends it. */
void runner__abort_error(runner_run_t *run);
void runner__kick(runner_run_t *run);
void runner__end(runner_run_t *run);
uint64_t runner__scaled(const runner_run_t *run, int64_t ms);
/* A handle of the run has closed (its close callback). */
void runner__handle_gone(runner_run_t *run);
/* Finishes the run if it is closing and nothing is left open. */
void runner__maybe_finish(runner_run_t *run);

/* How long the primary has to answer a command. */
#define REPLY_MS 5000

/* What an action did: finished, started something the step waits for,
 * or failed (the failure is recorded). */
enum { ACT_DONE = 0, ACT_ASYNC = 1, ACT_FAIL = -1 };

/* runner-action.c */
int runner__action_exec(runner_run_t *run, const scenario_step_t *st, unsigned trig,
                bool trigger);
/* A step's worker: its id, `last`, or the trigger's worker `trig`. */
int runner__action_resolve(runner_run_t *run, const scenario_step_t *st,
                   scenario_wref_t ref, unsigned trig, unsigned *id);
cJSON *runner__action_command(const char *name);
cJSON *runner__action_fork_command(const runner_run_t *run, const scenario_step_t *st);
/* Faults held for a worker's control connection: sent on its hello,
 * failed when it exits first. */
void runner__action_flush_pending(runner_run_t *run, unsigned id);
void runner__action_drop_pending(runner_run_t *run, unsigned id, const char *why);
runner__timer_t *runner__action_timer_new(runner_run_t *run, runner__timer_kind_t kind,
                              const scenario_step_t *st, unsigned worker,
                              uint64_t ms);
void runner__action_timer_close(runner__timer_t *rt);

/* runner-loadgen.c */
int runner__loadgen_start(runner_run_t *run, const scenario_step_t *st);

/* runner-step.c */
/* The current step has finished: the next one follows. */
void runner__step_done(runner_run_t *run);
void runner__step_continue(runner_run_t *run);
void runner__step_on_record(runner_run_t *run, const trace_event_t *e);
void runner__step_on_reply(runner_run_t *run, runner__req_t *req, const cJSON *reply);
void runner__step_on_timeout(runner_run_t *run);
void runner__step_on_agent_exit(runner_run_t *run);
void runner__step_stop_all(runner_run_t *run);
void runner__step_load_stop(runner_run_t *run);
void runner__step_timers_close(runner_run_t *run);
void runner__step_tick(runner_run_t *run);

#endif /* RUNNER_INTERNAL_H */
