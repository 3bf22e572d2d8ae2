/*
 * runner-internal.h - the inside of one run. Private to harness/runner/.
 *
 * Layering. A file calls functions of its own level or of lower levels
 * only, and no two files call each other. A lower level reports upwards by
 * queueing an event (runner__queue_*), which the dispatcher of runner.c
 * hands out on its next turn, or through a callback the level above set
 * (the supervisor's). So an input (a record, a reply, a timer, a process
 * exit) never runs the rest of the run inside its own call stack, and the
 * run's phase changes in one place only.
 *
 *   1  runner.c          runner_run_start/abort; the dispatcher and the
 *                        phase machine: start, setup, steps, end, drain or
 *                        kill, close, verdict
 *   2  runner-step.c     the setup, the step sequence, waits, triggers and
 *                        the step handler table
 *      runner-verdict.c  the verdict of a run whose processes are all gone
 *   3  runner-batch.c    step handlers of the primary program: setup,
 *                        together (commands in one turn), its own end
 *      runner-action.c   step handlers: commands to the primary, signals,
 *                        client connections; deferred actions
 *      runner-fault.c    step handlers: faults a worker injects into
 *                        itself, held until its control connection is up
 *      runner-loadgen.c  step handlers: the load generator
 *      runner-sample.c   step handlers: what the harness measures of the
 *                        run's processes itself (memory)
 *   4  runner-cluster.c  what the records say: workers, counts, ports
 *      runner-control.c  the control socket: connections, hellos, commands
 *                        and their replies
 *      runner-super.c    the supervisor process and the agent's output
 *   5  runner-queue.c    the event queue, the run's timers, failures and
 *                        the accounting of handles
 *
 * runner-target.c and runner-result.c know nothing of a run.
 *
 * Ownership. runner_run_t holds one sub-struct per concern; the file that
 * owns a sub-struct is the only one that writes it (others may read it).
 * The run itself, its phase and `agent` belong to runner.c; `report` and
 * `res` collect what any file notes (failures, errors, load totals).
 */
#ifndef RUNNER_INTERNAL_H
#define RUNNER_INTERNAL_H

#include "runner.h"
#include "load.h"

#define RUNNER__MAX_SERVERS 16
/* Faults held for one worker that has not connected yet. */
#define RUNNER__MAX_HELD 16
/* How long the primary has to answer a command. */
#define RUNNER__REPLY_MS 5000

typedef struct runner__req_s runner__req_t;
typedef struct runner__conn_s runner__conn_t;
typedef struct runner__deferred_s runner__deferred_t;
typedef struct runner__super_s runner__super_t;

/* ====================================================================== */
/* Level 5: runner-queue.c                                                */

/* What the dispatcher is handed. Every input of a run becomes one. */
typedef enum {
  RUNNER__EV_RECORD = 0,   /* a record for the trace (rec) */
  RUNNER__EV_HELLO,        /* the primary agent's hello (rec) */
  RUNNER__EV_REPLY,        /* the primary's reply (rec) to a command (req) */
  RUNNER__EV_REFUSAL,      /* worker `worker` refused a fault (rec) */
  RUNNER__EV_PRIMARY_EOF,  /* the primary's control connection ended */
  RUNNER__EV_AGENT_EXIT,   /* the agent was reaped: `status` at time `t` */
  RUNNER__EV_SUPER_DONE,   /* the supervisor is gone: `status` processes
                              it had to kill, `failed` */
  RUNNER__EV_LOAD_DONE,    /* the load generator stopped */
  RUNNER__EV_TIMER,        /* run timer `timer` expired (its start `gen`) */
  RUNNER__EV_TRIGGER,      /* trigger `st` is due, fired by `worker` */
  RUNNER__EV_ABORT,        /* runner_run_abort() */
  RUNNER__EV_COUNT
} runner__ev_kind_t;

typedef struct runner__event_s runner__event_t;
struct runner__event_s {
  runner__event_t *next;
  runner__ev_kind_t kind;
  bool queued;
  bool embedded;           /* part of its source, never freed; else
                              freed (with rec and req) after dispatch */
  cJSON *rec;              /* owned */
  runner__req_t *req;      /* owned */
  const scenario_step_t *st;
  unsigned worker;
  unsigned timer;          /* a runner__timer_id_t */
  unsigned gen;
  int status;
  bool failed;
  uint64_t t;
};

/* The run's own timers. An expiry is queued; the dispatcher drops an
 * expiry that a later start or stop has made stale. */
typedef enum {
  RUNNER__TIMER_DEADLINE = 0,  /* the whole run (runner.c) */
  RUNNER__TIMER_BOUND,         /* the bound of the current phase (runner.c) */
  RUNNER__TIMER_STEP,          /* the setup's and the steps' waits */
  RUNNER__TIMER_TICK,          /* periodic: faults held too long */
  RUNNER__TIMER_COUNT
} runner__timer_id_t;

typedef struct {
  uv_timer_t handle;
  runner_run_t *run;
  runner__event_t expired;
  unsigned gen;            /* bumped by every start and stop */
} runner__timer_t;

typedef struct {
  runner__event_t *head, *tail;
  uv_check_t check;        /* the dispatcher: once per loop turn, after
                              the loop's I/O */
  uv_idle_t idle;          /* active while events wait, so that the loop
                              does not block before the check */
  bool open;
  unsigned closing;        /* of check and idle, not closed yet */
  uv_close_cb closed;      /* when both have closed */
} runner__queue_t;

/* What the verdict needs besides the trace. Failures and errors may be
 * noted from any level. */
typedef struct {
  char *error;             /* the harness could not run the scenario: the
                              outcome is an error, not a failure */
  char *step_failure;      /* the first failure of a step or trigger */
  char *abort_reason;      /* runner_run_abort() */
  bool timed_out;
  bool killed;             /* ended by SIGKILL rather than gracefully */
  bool shutdown_sent;      /* a shutdown command or signal went out */
} runner__report_t;

/* Sets up the dispatcher: `dispatch` runs once per loop turn. */
void runner__queue_init(runner_run_t *run, uv_check_cb dispatch);
/* Queues `ev`; an event already queued stays where it is. */
void runner__queue_push(runner_run_t *run, runner__event_t *ev);
runner__event_t *runner__queue_pop(runner_run_t *run);
/* An event of `kind` to fill in and push; NULL when memory ran out. */
runner__event_t *runner__event_new(runner__ev_kind_t kind);
/* Frees an event after its dispatch (nothing if it is embedded). */
void runner__event_release(runner__event_t *ev);
/* Queues a record for the trace (takes ownership; stamps "t" now when it
 * has none). */
void runner__queue_record(runner_run_t *run, cJSON *rec);
/* Queues an action record: what the harness did, for the trace. `extra`
 * (owned, or NULL) carries more fields. */
void runner__queue_action(runner_run_t *run, const char *name,
                          const scenario_step_t *st, unsigned worker,
                          cJSON *extra);
/* Makes the dispatcher run on this loop turn or the next. */
void runner__queue_wake(runner_run_t *run);
/* Closes the dispatcher's handles; `cb` runs when both have closed. */
void runner__queue_close(runner_run_t *run, uv_close_cb cb);
void runner__queue_free(runner_run_t *run);

/* Opens every timer of the run (stopped). */
void runner__timers_init(runner_run_t *run);
void runner__timer_start(runner_run_t *run, runner__timer_id_t id,
                         uint64_t ms, uint64_t repeat);
void runner__timer_stop(runner_run_t *run, runner__timer_id_t id);
/* Whether an expiry event is from the timer's current start. */
bool runner__timer_current(const runner_run_t *run,
                           const runner__event_t *ev);
void runner__timers_close(runner_run_t *run);

/* A step (or trigger, or with st NULL the run) failed: a finding; the
 * first one is the run's reason. */
void runner__fail(runner_run_t *run, const scenario_step_t *st,
                  const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The harness could not run the scenario (the agent did not start, broke
 * the protocol): the first error is the reason. */
void runner__error(runner_run_t *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A deadline in ms of the scenario, times --time-scale. */
uint64_t runner__scaled(const runner_run_t *run, int64_t ms);
/* A libuv handle of the run was opened / has closed (its close
 * callback). The run ends only when every one has closed. */
void runner__handle_opened(runner_run_t *run);
void runner__handle_closed(runner_run_t *run);

/* ====================================================================== */
/* Level 4: runner-super.c                                                */

typedef struct {
  /* a process of the run was reaped: status as from waitpid() */
  void (*reaped)(runner__super_t *s, int pid, int status, void *arg);
  /* the supervisor has exited: every process of the run is gone. `killed`
   * counts the processes it had to SIGKILL at the end (leftovers). */
  void (*done)(runner__super_t *s, unsigned killed, int failed, void *arg);
  /* the pipe of the agent's output has closed (after runner__super_close) */
  void (*closed)(runner__super_t *s, void *arg);
} runner__super_cbs_t;

/* Forks the supervisor, which forks the agent (argv, extra environment
 * `env` of "K=V" strings) in its own process group with the supervisor as
 * subreaper, and reads the agent's stdout and stderr (their tail is kept).
 * `cbs` and `arg` are kept. */
int runner__super_start(uv_loop_t *loop, char *const *argv, char *const *env,
                        const runner__super_cbs_t *cbs, void *arg,
                        runner__super_t **out, int *agent_pid);
/* Lets the run's processes end by themselves for up to grace_ms, then
 * SIGKILLs what is left; `done` follows. */
void runner__super_drain(runner__super_t *s, unsigned grace_ms);
/* Sends `sig` to `pid` if, at this moment, it is a process of the run (a
 * descendant of the supervisor): 0; UV_EPERM, and nothing is sent, when it
 * is not (a pid an agent got wrong or made up); UV_ESRCH when it is gone.
 * Every signal the harness sends to a pid it learnt from an agent goes
 * through here. A pid below -1 is a process group (-pgid), signalled only
 * when its leader is below the supervisor. */
int runner__super_signal(const runner__super_t *s, int pid, int sig);
/* SIGKILLs every process of the run now; `done` follows. */
void runner__super_kill(runner__super_t *s);
/* Stops reading the agent's output; `closed` follows. */
void runner__super_close(runner__super_t *s);
/* The tail of the agent's output (a copy, the caller frees it), or NULL. */
char *runner__super_log(const runner__super_t *s);
/* Frees the supervisor object after `done` and `closed`. */
void runner__super_free(runner__super_t *s);

/* ====================================================================== */
/* Level 4: runner-control.c                                              */

typedef enum {
  RUNNER__ROLE_UNKNOWN = 0,
  RUNNER__ROLE_PRIMARY,
  RUNNER__ROLE_WORKER
} runner__role_t;

struct runner__conn_s {
  uv_pipe_t pipe;
  uv_timer_t hello;          /* the bound of its hello */
  unsigned open;             /* of pipe and hello, not closed yet */
  runner_run_t *run;
  runner__conn_t *next;
  char *buf;
  size_t len, cap;
  runner__role_t role;
  unsigned worker;
  int peer_pid;              /* the process that connected (0: unknown) */
  bool closing;
  /* Added to every time this connection sends: its process's clock was
   * not the harness's at its hello (runner-control.c, clock_check). */
  double clock_shift;
  bool clock_shifted;
};

/* What one line of the control socket is (runner__control_decode). */
typedef enum {
  RUNNER__LINE_BAD = 0,      /* a protocol error; `why` says which */
  RUNNER__LINE_BLANK,        /* nothing but blanks: ignored */
  RUNNER__LINE_HELLO,        /* `role`, and `worker` for a worker */
  RUNNER__LINE_REPLY,        /* `req` (0: null, absent or not a number) */
  RUNNER__LINE_LOG,          /* {"type":"log"} */
  RUNNER__LINE_RECORD        /* any other record, for the trace */
} runner__line_kind_t;

typedef struct {
  runner__line_kind_t kind;
  cJSON *msg;                /* the object (owned; NULL for BAD, BLANK) */
  runner__role_t role;       /* HELLO */
  unsigned worker;           /* HELLO of a worker */
  unsigned req;              /* REPLY */
  char why[80];              /* BAD: "a line that is not JSON" */
} runner__line_t;

/* Which part of the run a command belongs to: its reply goes there. */
typedef enum {
  RUNNER__REQ_SETUP = 0,
  RUNNER__REQ_POLICY,
  RUNNER__REQ_INITIAL_FORK,
  RUNNER__REQ_STEP,
  RUNNER__REQ_TRIGGER,
  RUNNER__REQ_END
} runner__req_kind_t;

struct runner__req_s {
  unsigned req;
  runner__req_kind_t kind;
  const scenario_step_t *st;
  char cmd[24];
  uint64_t sent;
  cJSON *behaviour;          /* fork: the worker's behaviour (borrowed) */
  runner__req_t *next;
};

typedef struct {
  char dir[256];             /* private: parallel runs never share it */
  char sock[300];
  uv_pipe_t server;
  bool listening;
  runner__conn_t *conns;
  unsigned n_conns;          /* in `conns` */
  runner__conn_t *primary;   /* NULL: not connected yet, or gone */
  bool had_primary;          /* a second primary is an error */
  bool refuse;               /* the run is ending: no new connection */
  runner__event_t primary_eof;
  unsigned next_req;
  runner__req_t *reqs;       /* sent, not answered yet */
  char (*cmds)[24];          /* the command of each req, by req - 1 */
  size_t cmds_cap;
  /* bounds of what the agents may make the harness keep */
  unsigned records;          /* records queued for the trace */
  size_t record_bytes;
  bool truncated;            /* one more was refused: the run's error */
  unsigned logs;             /* log records kept */
  size_t log_bytes;
  unsigned logs_dropped;     /* log records past the bound, counted */
} runner__control_t;

/* The run's private directory and the socket's path (no handle yet). */
int runner__control_prepare(runner_run_t *run);
/* Listens on the socket: every record, hello and reply is queued. */
int runner__control_listen(runner_run_t *run);
/* Refuses connections from now on (the run is ending). */
void runner__control_refuse(runner_run_t *run);
/* Closes the server and every connection. */
void runner__control_close(runner_run_t *run);
/* After the close: removes the socket and the directory, frees requests. */
void runner__control_cleanup(runner_run_t *run);
/* Sends a command to the primary (adds "req"); its reply is queued with
 * the request. `st` and `behaviour` are borrowed. UV_EPIPE: no primary. */
int runner__control_command(runner_run_t *run, cJSON *cmd,
                            runner__req_kind_t kind,
                            const scenario_step_t *st, cJSON *behaviour);
/* UV_ENOTCONN: worker `id` has no control connection (yet). */
int runner__control_send_worker(runner_run_t *run, unsigned id,
                                const cJSON *msg);
/* Decodes one line (without its newline) from a connection whose role is
 * `from`: exactly one JSON object with a string "type" and nothing after
 * it but blanks; before the hello, only a hello. Never fails otherwise:
 * out->kind is RUNNER__LINE_BAD with the reason in out->why. The caller
 * owns out->msg. */
void runner__control_decode(const char *line, size_t len,
                            runner__role_t from, runner__line_t *out);
/* Forgets every request the primary did not answer (it has exited);
 * true, with the command's name in `cmd`, if one was of step `st`. */
bool runner__control_forget(runner_run_t *run, const scenario_step_t *st,
                            char *cmd, size_t len);

/* ====================================================================== */
/* Level 4: runner-cluster.c                                              */

typedef struct {
  bool known;
  bool forked;
  bool exited;               /* the agent reported its exit */
  int pid;
  /* occurrences by event, [0] on the Worker, [1] on `cluster` */
  unsigned counts[TRACE_EV_COUNT][2];
  /* by listen index, the shared port it serves (0: none, or no more) */
  int serves[RUNNER__MAX_SERVERS];
} runner__worker_t;

typedef struct {
  runner__worker_t *workers; /* index id-1 */
  unsigned n_workers;
  unsigned last_forked;
  /* by listen index, the port the cluster serves it on: the first one
   * reported, until no worker serves that one any more and a worker
   * reports another (a new listen(0) after every worker left) */
  int ports[RUNNER__MAX_SERVERS];
  unsigned counts[TRACE_EV_COUNT][2];
  bool shutdown_done_seen;
  unsigned restart_done_count;
  /* the primary's own servers: the sticky policy's, and those of `serve`
   * by name (a name listening again takes its new port) */
  int sticky_port;
  struct {
    char name[64];
    int port;                /* 0 on a UNIX socket */
    char path[108];          /* "" on a port */
  } serves[RUNNER__MAX_SERVERS];
  unsigned n_serves;
} runner__cluster_t;

/* Worker `id` (grown on demand); NULL for 0 or an absurd id. */
runner__worker_t *runner__cluster_worker(runner_run_t *run, unsigned id);
/* The primary says it forked worker `id` (before any record of it). */
void runner__cluster_forked(runner_run_t *run, unsigned id);
/* The harness addressed worker `id`: it exists, or is about to. */
void runner__cluster_expect(runner_run_t *run, unsigned id);
/* Takes in what a record of the trace says. */
void runner__cluster_learn(runner_run_t *run, const trace_event_t *e);
/* How often the event of a wait or trigger (`st`) has happened, for
 * worker `id` (0: any). */
unsigned runner__cluster_count(const runner_run_t *run,
                               const scenario_step_t *st, unsigned id);
/* Every forked worker has exited (its `disconnect` may still come). */
bool runner__cluster_all_exited(const runner_run_t *run);
/* Every forked worker has both its disconnect and its exit. */
bool runner__cluster_settled(const runner_run_t *run);
/* A step's worker: its id, `last`, or `trig`, the worker whose event fired
 * the trigger; 0 for none or any. -1 (a failure noted) when it names none. */
int runner__cluster_resolve(runner_run_t *run, const scenario_step_t *st,
                            unsigned trig, unsigned *id);
/* The pid of worker `id`, alive; -1 (a failure noted) otherwise. */
int runner__cluster_pid(runner_run_t *run, const scenario_step_t *st,
                        unsigned id);
/* The port of the cluster's server `index`; 0 when none is known. */
int runner__cluster_port(const runner_run_t *run, unsigned index);
/* The port of the primary's server `name` of `serve`, or with NULL of its
 * sticky policy; 0 when none is known. */
int runner__cluster_primary_port(const runner_run_t *run, const char *name);
/* The UNIX socket path of the primary's server `name` of `serve`, or
 * NULL. */
const char *runner__cluster_primary_path(const runner_run_t *run,
                                         const char *name);
void runner__cluster_free(runner_run_t *run);

/* ====================================================================== */
/* Level 3: the step handlers (runner-action.c, -fault.c, -loadgen.c,    */
/* and wait, sleep and on in runner-step.c)                               */

/* What a step waits for once its handler has returned. */
typedef enum {
  RUNNER__WAIT_NONE = 0,     /* nothing: the step is done */
  RUNNER__WAIT_REPLY,        /* the primary's reply to its command */
  RUNNER__WAIT_EVENT,        /* `wait`: enough of its event */
  RUNNER__WAIT_SLEEP,        /* `sleep`: its time */
  RUNNER__WAIT_LOAD,         /* the load to stop */
  RUNNER__WAIT_RESTART,      /* the rolling restart to finish */
  RUNNER__WAIT_EXIT,         /* the primary to exit */
  RUNNER__WAIT_COUNT
} runner__wait_t;

/* A handler's failure (noted with runner__fail). */
#define RUNNER__STEP_FAILED (-1)

/* How a handler is called. */
typedef struct {
  bool trigger;              /* from a trigger's `do`: it never waits */
  unsigned trig;             /* then, the worker whose event fired it */
  unsigned worker;           /* the step's worker, resolved (0: none) */
  unsigned replies;          /* the primary's ok replies to it so far */
} runner__call_t;

/* One handler per step kind, bound by name to SCENARIO_STEP_MAP: it runs
 * step `st` and returns what the step now waits for, or
 * RUNNER__STEP_FAILED. A handler that returned RUNNER__WAIT_REPLY is
 * called again after each ok reply, with call->replies counting them. */
typedef int (*runner__step_fn)(runner_run_t *run, const scenario_step_t *st,
                               const runner__call_t *call);

/* The binding to the step table; the only code here that knows its
 * columns (an ID, then the kind's C name). A row without a handler does
 * not link. */
#define RUNNER__STEP_PROTO(ID, name, ...)                                      \
  int runner__step_##name(runner_run_t *run, const scenario_step_t *st,        \
                          const runner__call_t *call);
#define RUNNER__STEP_ENTRY(ID, name, ...)                                      \
  [SCENARIO_STEP_##ID] = runner__step_##name,
SCENARIO_STEP_MAP(RUNNER__STEP_PROTO)

/* runner-action.c */

typedef enum {
  RUNNER__DEFER_TRIGGER = 0, /* queue a trigger's actions */
  RUNNER__DEFER_RESUME,      /* SIGCONT after a pause */
  RUNNER__DEFER_CONNECT      /* close held client connections */
} runner__defer_kind_t;

struct runner__deferred_s {
  uv_timer_t timer;
  runner_run_t *run;
  runner__deferred_t *next;
  runner__defer_kind_t kind;
  const scenario_step_t *st;
  unsigned worker;
  int pid;
  uv_tcp_t *tcp;
  unsigned n_tcp;
  unsigned open;             /* handles not yet closed */
  bool fired;
};

typedef struct {
  runner__deferred_t *deferred;
  /* the restart-done count the current rolling restart waits for */
  unsigned restart_wait_target;
} runner__actions_t;

/* A command to the primary, unless the agent is known to be gone. */
int runner__act_command(runner_run_t *run, cJSON *cmd,
                        runner__req_kind_t kind, const scenario_step_t *st,
                        cJSON *behaviour);
/* {"cmd": name}; NULL when memory ran out. */
cJSON *runner__act_command_new(const char *name);
/* A fork command: the step's env and behaviour (st NULL: the scenario's
 * own workers). */
cJSON *runner__act_fork_command(const runner_run_t *run,
                                const scenario_step_t *st);
/* A UNIX socket path as the agents get it: a relative one is taken in
 * the run's private directory, so that runs in parallel never share one.
 * `out` holds it; NULL when it does not fit. */
const char *runner__act_socket_path(const runner_run_t *run,
                                    const char *path, char *out, size_t len);
/* A worker behaviour as CLUSTERSIM_WORKER carries it (the caller frees
 * it): relative UNIX socket paths taken in the run's own directory. */
char *runner__act_behaviour_text(const runner_run_t *run,
                                 const cJSON *behaviour);
/* What every reply says to the actions: a fork made a worker; a
 * trigger's command was refused. */
void runner__act_on_reply(runner_run_t *run, const runner__req_t *req,
                          const cJSON *reply);
/* Sends step `st`'s command `cmd` (owned; with `probe` when the step
 * asks); returns what the step waits for (the reply, unless in a
 * trigger), or RUNNER__STEP_FAILED. */
int runner__act_send(runner_run_t *run, const scenario_step_t *st,
                     const runner__call_t *call, cJSON *cmd,
                     cJSON *behaviour);
/* The records of what a reply says, dated `sent`: a fork's worker, what
 * a `status` or a `probe` sampled (named so in the trace). */
void runner__act_record_fork(runner_run_t *run, uint64_t sent,
                             const scenario_step_t *st,
                             const cJSON *behaviour, const cJSON *reply);
void runner__act_record_probe(runner_run_t *run, const char *name,
                              uint64_t sent, const scenario_step_t *st,
                              const cJSON *reply);
/* A `setup` command's settings made the target's (a mixed target's
 * worker program and its own args first, `own_args` in `cmd`); `initial`
 * for the run's first setup. */
void runner__act_mixed_worker(const runner_run_t *run, cJSON *cmd,
                              cJSON *settings, bool initial);

/* runner-batch.c: the primary program's steps (setup, together,
 * primary-throw, primary-crash) */

/* A `together` step's reply: the records of every command it ran. */
void runner__batch_on_reply(runner_run_t *run, const runner__req_t *req,
                            const cJSON *reply);
/* Queues trigger `st` (fired by `worker`) after `ms`. */
void runner__act_defer_trigger(runner_run_t *run, const scenario_step_t *st,
                               unsigned worker, uint64_t ms);
/* Cancels what a trigger or a pause left for later (a paused process is
 * resumed); held client connections stay until their time. */
void runner__act_cancel(runner_run_t *run);
/* Closes everything deferred, held connections too. */
void runner__act_close(runner_run_t *run);

/* runner-fault.c */

typedef struct {
  unsigned worker;
  cJSON *msg;
  const scenario_step_t *st;
  uint64_t since;
} runner__held_t;

typedef struct {
  runner__held_t *held;      /* waiting for their worker's connection */
  size_t n_held, cap;
  const scenario_step_t **sent;   /* by fault number - 1: for a refusal */
  unsigned n_sent;
} runner__faults_t;

/* A fault or a signal for worker `id`, which is gone (`why`): recorded,
 * with `tolerate: gone`; else the step's failure. What the step now waits
 * for (nothing), or RUNNER__STEP_FAILED. */
int runner__fault_gone(runner_run_t *run, const scenario_step_t *st,
                       unsigned id, const char *why);
/* A worker's hello sends what was held for it; its exit fails it. */
void runner__faults_on_record(runner_run_t *run, const trace_event_t *e);
/* A worker refused fault `msg.req`. */
void runner__faults_on_refusal(runner_run_t *run, unsigned worker,
                               const cJSON *msg);
/* Fails faults held longer than their bound. */
void runner__faults_tick(runner_run_t *run);
void runner__faults_free(runner_run_t *run);

/* runner-loadgen.c */

typedef struct {
  load_t *load;
  bool running;
  bool stopping;
  uint64_t failed_records;
  bool dropped;              /* request records past the bound */
  unsigned index;            /* the server the load aims at */
  bool fixed;                /* at a server of the primary: no following */
  int port;                  /* and the port it goes to now */
} runner__loadgen_t;

/* Asks a running load to stop; RUNNER__EV_LOAD_DONE follows. */
void runner__loadgen_stop(runner_run_t *run);
/* New connections of a running load go where its server listens now
 * (runner__cluster_port): the cluster may have moved it. */
void runner__loadgen_follow(runner_run_t *run);
void runner__loadgen_free(runner_run_t *run);

/* ====================================================================== */
/* Level 2: runner-step.c, runner-verdict.c                               */

/* What the setup or the step sequence asks of the phase machine. */
typedef enum {
  RUNNER__GO_WAIT = 0,       /* waiting for something: nothing to do */
  RUNNER__GO_NEXT,           /* over: the run moves on */
  RUNNER__GO_END,            /* failed: the run ends gracefully */
  RUNNER__GO_KILL            /* failed: every process is killed */
} runner__go_t;

typedef struct {
  const scenario_step_t *st;
  unsigned worker;           /* 0: any */
  unsigned seen;
  unsigned fired;
  bool armed;
} runner__trigger_t;

typedef struct {
  int setup;                 /* the setup's stage */
  unsigned forks_left;       /* initial forks still to send */
  size_t next;               /* the step to run next */
  const scenario_step_t *cur;     /* the step under way (the last one
                                     started), or NULL */
  runner__call_t call;       /* how cur was called */
  runner__wait_t wait;       /* what cur waits for */
  unsigned wait_worker;      /* `wait`: its worker (0: any) */
  runner__trigger_t *triggers;
  size_t n_triggers;
  uint64_t rng;              /* trigger jitter, from the seed */
} runner__steps_t;

/* The setup: `setup`, the scenario's policy, then its workers forked one
 * by one. */
runner__go_t runner__setup_begin(runner_run_t *run);
runner__go_t runner__setup_on_reply(runner_run_t *run,
                                    const runner__req_t *req,
                                    const cJSON *reply);
runner__go_t runner__setup_on_timer(runner_run_t *run);

/* The steps, in order, until one waits (GO_WAIT) or none is left
 * (GO_NEXT) or one failed (GO_END). Each on_* continues the sequence when
 * it ends the current wait. */
runner__go_t runner__steps_run(runner_run_t *run);
runner__go_t runner__steps_on_record(runner_run_t *run,
                                     const trace_event_t *e);
runner__go_t runner__steps_on_reply(runner_run_t *run,
                                    const runner__req_t *req,
                                    const cJSON *reply);
runner__go_t runner__steps_on_timer(runner_run_t *run);
runner__go_t runner__steps_on_agent_exit(runner_run_t *run);
runner__go_t runner__steps_on_load_done(runner_run_t *run);
/* Runs a trigger's `do` (its failures are noted; the run goes on). */
void runner__steps_trigger(runner_run_t *run, const scenario_step_t *st,
                           unsigned worker);
/* The steps are over: triggers disarmed, waits and what they deferred
 * cancelled. */
void runner__steps_stop(runner_run_t *run);
void runner__steps_free(runner_run_t *run);

/* The outcome of a run whose processes are all gone and whose handles are
 * all closed: the oracle, the expectations, hygiene, the trace file. */
void runner__verdict(runner_run_t *run);
/* Whether a TCP socket on this machine listens on `port` (IPv4 or IPv6). */
bool runner__port_listening(int port);

/* ====================================================================== */
/* Level 1: runner.c                                                      */

typedef enum {
  RUNNER__PHASE_START = 0,   /* waiting for the agent's hello */
  RUNNER__PHASE_SETUP,       /* setup, policy, initial forks */
  RUNNER__PHASE_STEPS,
  RUNNER__PHASE_END_LOAD,    /* stopping the load */
  RUNNER__PHASE_END_SETTLE,  /* cluster-disconnect: waiting for every
                                worker's disconnect and exit */
  RUNNER__PHASE_END_EXIT,    /* shutdown sent: waiting for the exit */
  RUNNER__PHASE_END_EOF,     /* agent gone: reading what it said last */
  RUNNER__PHASE_DRAIN,       /* the supervisor lets the rest end */
  RUNNER__PHASE_KILL,        /* the supervisor kills everything */
  RUNNER__PHASE_CLOSE,       /* closing the run's handles */
  RUNNER__PHASE_VERDICT      /* all closed: the verdict, then `done` */
} runner__phase_t;

/* The agent process, as runner.c learns of it from the dispatched events. */
typedef struct {
  runner__super_t *sup;
  bool sup_done;
  int pid;                   /* as forked */
  int hello_pid;             /* as its hello says */
  bool said_hello;
  bool exited;
  int status;                /* as from waitpid() */
  bool primary_gone;         /* its control connection has ended */
  runner__event_t exit_ev, done_ev, abort_ev;
} runner__agent_t;

struct runner_run_s {
  /* given to runner_run_start (s and target are borrowed) */
  uv_loop_t *loop;
  const scenario_t *s;
  const runner_target_t *target;
  runner_opts_t opts;
  char *trace_path;
  runner_done_cb done;
  void *done_arg;

  runner_result_t res;       /* the trace and findings, built up */
  runner__phase_t phase;
  unsigned handles;          /* open libuv handles of the run */

  runner__queue_t queue;     /* runner-queue.c */
  runner__timer_t timers[RUNNER__TIMER_COUNT];
  bool timers_open;
  runner__report_t report;
  runner__agent_t agent;     /* runner.c */
  runner__control_t ctl;     /* runner-control.c */
  runner__cluster_t cluster; /* runner-cluster.c */
  runner__actions_t act;     /* runner-action.c */
  runner__faults_t faults;   /* runner-fault.c */
  runner__loadgen_t loadgen; /* runner-loadgen.c */
  runner__steps_t steps;     /* runner-step.c */
};

/* runner-cause.c: each failed wait's finding (and the step failure) gets
 * the cause the trace shows: the worker's last event, what Node does next,
 * and the rule. */
void runner__verdict_causes(runner_run_t *run);

#endif /* RUNNER_INTERNAL_H */
