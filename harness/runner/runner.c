/*
 * One run of a scenario on a target, driven by one state machine.
 *
 * Every input of the run (a record or a reply on the control socket, a
 * process reaped by the supervisor, a timer, the load's end) is queued as
 * it comes; the dispatcher hands the queue out once per loop turn, in
 * order, and only here does the run change phase:
 *
 *   START --hello--> SETUP --setup done--> STEPS --steps over/failed--> END
 *   END:  END_LOAD (stop the load) -> END_SETTLE (cluster.disconnect(),
 *         every worker leaves) -> END_EXIT (shutdown, the primary exits)
 *         -> END_EOF (read what it said last) -> DRAIN
 *   DRAIN (the rest has a grace to end) or KILL (at once) --supervisor
 *         gone--> CLOSE (handles close) --all closed--> VERDICT -> done
 *
 * An error of the agent, a deadline, or runner_run_abort() goes to KILL
 * from any phase before it.
 */
#include "runner-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* The end-of-run shutdown: its SIGKILL timeout, and how long the agent may
 * take to exit after it (the timeout, the agent's own 3 s after its
 * SIGKILLs, and room to spare). */
#define END_SHUTDOWN_MS 2000
#define END_EXIT_MS (END_SHUTDOWN_MS + 3000 + 2000)
/* How long the load may take to stop at the end of the steps. */
#define END_LOAD_MS 10000
/* How long the workers have to leave after cluster.disconnect(). */
#define END_SETTLE_MS 3000
/* How long the primary's last words may take after its exit. */
#define END_EOF_MS 1000
/* The grace of what is left once the agent is gone. */
#define DRAIN_MS 1000
/* How long the agent has to connect. */
#define START_MS 10000
/* How long the end of a run that timed out may take. */
#define OVERTIME_MS 10000
/* The period of the checks of held faults. */
#define TICK_MS 50

static void enter_settle(runner_run_t *run);
static void enter_shutdown(runner_run_t *run);
static void enter_close(runner_run_t *run);
static void enter_drain(runner_run_t *run);
static void enter_kill(runner_run_t *run);

/* ---------------------------------------------------------------------- */
/* The end of a run                                                        */

/* Whether the primary can still be told something. */
static bool primary_reachable(const runner_run_t *run)
{
  return run->agent.said_hello && !run->agent.primary_gone;
}

/* The steps are over (or failed, or the setup did): stop what runs, then
 * end the cluster gracefully. */
static void enter_end(runner_run_t *run)
{
  if (run->phase >= RUNNER__PHASE_END_LOAD)
    return;
  /* expectations `during: steps` see the trace up to here */
  runner__queue_action(run, "end", NULL, 0, NULL);
  runner__steps_stop(run);
  if (run->loadgen.running) {
    run->phase = RUNNER__PHASE_END_LOAD;
    runner__loadgen_stop(run);
    runner__timer_start(run, RUNNER__TIMER_BOUND,
                        runner__scaled(run, END_LOAD_MS), 0);
    return;
  }
  enter_settle(run);
}

/* Nothing new may start while the cluster winds down. */
static void stop_respawning(runner_run_t *run)
{
  cJSON *cmd = runner__act_command_new("policy"), *x;

  if (cmd == NULL)
    return;
  cJSON_AddStringToObject(cmd, "respawn", "never");
  if (runner__act_command(run, cmd, RUNNER__REQ_END, NULL, NULL) == 0) {
    x = cJSON_CreateObject();
    if (x != NULL)
      cJSON_AddStringToObject(x, "respawn", "never");
    runner__queue_action(run, "policy", NULL, 0, x);
  }
  cJSON_Delete(cmd);
}

/* The graceful end: cluster.disconnect(), then the shutdown once every
 * worker has left. The agent's shutdown alone may exit on the last exit
 * and so drop a `disconnect` that Node emits after `exit`; waiting for
 * both here keeps every lifecycle whole in the trace. */
static void enter_settle(runner_run_t *run)
{
  cJSON *cmd, *x;
  int rc;

  runner__timer_stop(run, RUNNER__TIMER_BOUND);
  if (run->agent.exited || !primary_reachable(run) ||
      runner__cluster_settled(run)) {
    enter_shutdown(run);
    return;
  }
  run->phase = RUNNER__PHASE_END_SETTLE;
  if (run->s->respawn != SCENARIO_RESPAWN_NEVER)
    stop_respawning(run);
  if (runner__cluster_all_exited(run)) {
    /* Only `disconnect`s Node emits after `exit` are to come: a
     * cluster.disconnect() now would add a callback to the run. */
    runner__timer_start(run, RUNNER__TIMER_BOUND,
                        runner__scaled(run, END_SETTLE_MS), 0);
    return;
  }
  x = cJSON_CreateObject();
  if (x != NULL)
    cJSON_AddBoolToObject(x, "end", true);
  runner__queue_action(run, "cluster-disconnect", NULL, 0, x);
  cmd = runner__act_command_new("cluster-disconnect");
  rc = cmd == NULL ? UV_ENOMEM
                   : runner__act_command(run, cmd, RUNNER__REQ_END, NULL,
                                         NULL);
  cJSON_Delete(cmd);
  if (rc != 0) {
    enter_shutdown(run);
    return;
  }
  runner__timer_start(run, RUNNER__TIMER_BOUND,
                      runner__scaled(run, END_SETTLE_MS), 0);
}

static void enter_shutdown(runner_run_t *run)
{
  cJSON *cmd;
  int rc;

  runner__timer_stop(run, RUNNER__TIMER_BOUND);
  if (run->agent.exited) {
    enter_drain(run);
    return;
  }
  if (!primary_reachable(run)) {
    /* the agent closed its socket (or never opened it) but lives on */
    enter_kill(run);
    return;
  }
  run->phase = RUNNER__PHASE_END_EXIT;
  runner__queue_action(run, "shutdown", NULL, 0, NULL);
  run->report.shutdown_sent = true;
  cmd = runner__act_command_new("shutdown");
  if (cmd != NULL)
    cJSON_AddNumberToObject(cmd, "timeout_ms",
                            (double)runner__scaled(run, END_SHUTDOWN_MS));
  rc = cmd == NULL ? UV_ENOMEM
                   : runner__act_command(run, cmd, RUNNER__REQ_END, NULL,
                                         NULL);
  cJSON_Delete(cmd);
  if (rc != 0) {
    enter_kill(run);
    return;
  }
  runner__timer_start(run, RUNNER__TIMER_BOUND,
                      runner__scaled(run, END_EXIT_MS), 0);
}

/* The agent has exited: whatever it wrote last may still be in the
 * socket. */
static void enter_eof(runner_run_t *run)
{
  run->phase = RUNNER__PHASE_END_EOF;
  runner__timer_stop(run, RUNNER__TIMER_BOUND);
  if (!primary_reachable(run))
    enter_drain(run);
  else
    runner__timer_start(run, RUNNER__TIMER_BOUND, END_EOF_MS, 0);
}

/* The agent is gone; what is left of the cluster has a short grace to end
 * by itself, after that it counts as left over. */
static void enter_drain(runner_run_t *run)
{
  if (run->phase >= RUNNER__PHASE_DRAIN)
    return;
  runner__timer_stop(run, RUNNER__TIMER_BOUND);
  run->phase = RUNNER__PHASE_DRAIN;
  runner__control_refuse(run);
  if (run->agent.sup == NULL)
    enter_close(run);
  else
    runner__super_drain(run->agent.sup,
                        (unsigned)runner__scaled(run, DRAIN_MS));
}

static void enter_close(runner_run_t *run)
{
  run->phase = RUNNER__PHASE_CLOSE;
  runner__control_close(run);
  runner__super_close(run->agent.sup);
  runner__timers_close(run);
  runner__act_close(run);
  runner__queue_wake(run);
}

static void enter_kill(runner_run_t *run)
{
  if (run->phase >= RUNNER__PHASE_KILL)
    return;
  run->report.killed = true;
  runner__steps_stop(run);
  runner__loadgen_stop(run);
  run->phase = RUNNER__PHASE_KILL;
  runner__timer_stop(run, RUNNER__TIMER_BOUND);
  runner__control_refuse(run);
  if (run->agent.sup != NULL && !run->agent.sup_done)
    runner__super_kill(run->agent.sup);
  else
    enter_close(run);
}

/* What the setup or the steps asked for. */
static void go(runner_run_t *run, runner__go_t g)
{
  switch (g) {
  case RUNNER__GO_WAIT:
    break;
  case RUNNER__GO_NEXT:
    if (run->phase == RUNNER__PHASE_SETUP) {
      run->phase = RUNNER__PHASE_STEPS;
      go(run, runner__steps_run(run));
      break;
    }
    enter_end(run);
    break;
  case RUNNER__GO_END:
    enter_end(run);
    break;
  case RUNNER__GO_KILL:
    enter_kill(run);
    break;
  }
}

/* ---------------------------------------------------------------------- */
/* The events                                                              */

/* Into the trace, and to whoever waits for it. */
static void on_record(runner_run_t *run, runner__event_t *ev)
{
  trace_t *tr = &run->res.trace;
  const trace_event_t *e;

  if (trace_add(tr, ev->rec) != 0) {
    ev->rec = NULL;
    return;
  }
  ev->rec = NULL;
  e = &tr->events[tr->count - 1];
  runner__cluster_learn(run, e);
  runner__loadgen_follow(run);
  if (run->phase <= RUNNER__PHASE_END_EXIT)
    runner__faults_on_record(run, e);
  if (run->phase == RUNNER__PHASE_STEPS)
    go(run, runner__steps_on_record(run, e));
  if (run->phase == RUNNER__PHASE_END_SETTLE && runner__cluster_settled(run))
    enter_shutdown(run);
}

static char *string_of(const cJSON *j, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

  return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

/* The version the reports show: the runtime's own, and beside it the
 * Node version it imitates when that is another ("1.1.34 (node v22.6.0)");
 * an agent that names only one gives that one. */
static char *version_of(const cJSON *hello)
{
  const cJSON *own = cJSON_GetObjectItemCaseSensitive(hello, "runtime_version");
  const cJSON *compat = cJSON_GetObjectItemCaseSensitive(hello, "version");

  if (!cJSON_IsString(own))
    return string_of(hello, "version");
  if (!cJSON_IsString(compat) ||
      strcmp(compat->valuestring + (compat->valuestring[0] == 'v'),
             own->valuestring) == 0)
    return cJSON_IsString(compat) ? strdup(compat->valuestring)
                                  : strdup(own->valuestring);
  return base_asprintf("%s (node %s)", own->valuestring, compat->valuestring);
}

static void on_hello(runner_run_t *run, runner__event_t *ev)
{
  const cJSON *pid = cJSON_GetObjectItemCaseSensitive(ev->rec, "pid");

  if (run->phase != RUNNER__PHASE_START) {
    on_record(run, ev);
    return;
  }
  run->agent.hello_pid = cJSON_IsNumber(pid) ? (int)pid->valuedouble : 0;
  run->res.runtime = string_of(ev->rec, "runtime");
  run->res.version = version_of(ev->rec);
  on_record(run, ev);
  run->agent.said_hello = true;
  run->res.hello_ns = uv_hrtime();
  run->phase = RUNNER__PHASE_SETUP;
  runner__timer_stop(run, RUNNER__TIMER_BOUND);
  if (run->opts.hello != NULL)
    run->opts.hello(run, run->res.runtime, run->res.version, run->done_arg);
  go(run, runner__setup_begin(run));
}

static void on_reply(runner_run_t *run, runner__event_t *ev)
{
  runner__act_on_reply(run, ev->req, ev->rec);
  runner__batch_on_reply(run, ev->req, ev->rec);
  if (run->phase == RUNNER__PHASE_SETUP)
    go(run, runner__setup_on_reply(run, ev->req, ev->rec));
  else if (run->phase == RUNNER__PHASE_STEPS)
    go(run, runner__steps_on_reply(run, ev->req, ev->rec));
}

static void on_refusal(runner_run_t *run, runner__event_t *ev)
{
  runner__faults_on_refusal(run, ev->worker, ev->rec);
}

static void on_primary_eof(runner_run_t *run, runner__event_t *ev)
{
  (void)ev;
  run->agent.primary_gone = true;
  if (run->phase == RUNNER__PHASE_END_EOF)
    enter_drain(run);
}

static cJSON *exit_record(const runner_run_t *run, const runner__event_t *ev)
{
  cJSON *rec = cJSON_CreateObject();
  int status = ev->status;
  const char *name;

  if (rec == NULL)
    return NULL;
  cJSON_AddStringToObject(rec, "type", "process");
  cJSON_AddStringToObject(rec, "what", "primary-exit");
  cJSON_AddNumberToObject(rec, "pid", run->agent.hello_pid
                                          ? run->agent.hello_pid
                                          : run->agent.pid);
  if (WIFEXITED(status)) {
    cJSON_AddNumberToObject(rec, "code", WEXITSTATUS(status));
    cJSON_AddNullToObject(rec, "signal");
  } else {
    name = base_signal_name(WTERMSIG(status));
    cJSON_AddNullToObject(rec, "code");
    cJSON_AddStringToObject(rec, "signal", name ? name : "?");
  }
  cJSON_AddNumberToObject(rec, "t", (double)ev->t);
  return rec;
}

static void on_agent_exit(runner_run_t *run, runner__event_t *ev)
{
  runner__event_t rec = {.kind = RUNNER__EV_RECORD};
  int st = ev->status;

  run->agent.exited = true;
  run->agent.status = st;
  run->res.agent_exit_ns = uv_hrtime();
  rec.rec = exit_record(run, ev);
  if (rec.rec != NULL)
    on_record(run, &rec);
  switch (run->phase) {
  case RUNNER__PHASE_START:
  case RUNNER__PHASE_SETUP:
    runner__error(run, "the agent exited (%s %d) %s",
                  WIFEXITED(st) ? "code" : "signal",
                  WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
                  run->phase == RUNNER__PHASE_START ? "before it connected"
                                                    : "during setup");
    enter_kill(run);
    break;
  case RUNNER__PHASE_STEPS:
    go(run, runner__steps_on_agent_exit(run));
    break;
  case RUNNER__PHASE_END_SETTLE:
  case RUNNER__PHASE_END_EXIT:
    enter_eof(run);
    break;
  default:
    break;
  }
}

static void on_super_done(runner_run_t *run, runner__event_t *ev)
{
  run->agent.sup_done = true;
  run->res.gone_ns = uv_hrtime();
  if (!run->report.killed)
    run->res.leftovers = (unsigned)ev->status;
  if (ev->failed)
    runner__error(run, "the run's supervisor process failed");
  enter_close(run);
}

static void on_load_done(runner_run_t *run, runner__event_t *ev)
{
  (void)ev;
  if (run->phase == RUNNER__PHASE_STEPS)
    go(run, runner__steps_on_load_done(run));
  else if (run->phase == RUNNER__PHASE_END_LOAD)
    enter_settle(run);
}

static void on_deadline(runner_run_t *run)
{
  const scenario_step_t *cur = run->steps.cur;
  double s = (double)runner__scaled(run, run->s->timeout_ms) / 1e3;

  run->report.timed_out = true;
  if (run->phase > RUNNER__PHASE_STEPS) {
    runner__fail(run, NULL, "the end of the run took too long");
    enter_kill(run);
    return;
  }
  if (run->phase == RUNNER__PHASE_STEPS && cur != NULL)
    runner__fail(run, NULL, "timed out after %.3f s in %s:%u (%s)", s,
                 run->s->file, cur->line, scenario_step_name(cur->kind));
  else
    runner__fail(run, NULL, "timed out after %.3f s", s);
  enter_end(run);
  /* the end of a timed-out run has its own bound */
  runner__timer_start(run, RUNNER__TIMER_DEADLINE,
                      runner__scaled(run, OVERTIME_MS), 0);
}

/* The bound of the current phase has passed. */
static void on_bound(runner_run_t *run)
{
  switch (run->phase) {
  case RUNNER__PHASE_START:
    runner__error(run, "the agent did not connect to the control socket "
                       "within %.3f s",
                  (double)runner__scaled(run, START_MS) / 1e3);
    enter_kill(run);
    break;
  case RUNNER__PHASE_END_LOAD:
    runner__fail(run, NULL, "the load generator did not stop in time");
    enter_kill(run);
    break;
  case RUNNER__PHASE_END_SETTLE:
    /* what has not ended by now is the shutdown's to end */
    enter_shutdown(run);
    break;
  case RUNNER__PHASE_END_EXIT:
    runner__fail(run, NULL,
                 "the primary did not exit within %.3f s of the end-of-run "
                 "shutdown", (double)runner__scaled(run, END_EXIT_MS) / 1e3);
    enter_kill(run);
    break;
  case RUNNER__PHASE_END_EOF:
    enter_drain(run);
    break;
  default:
    break;
  }
}

static void on_timer(runner_run_t *run, runner__event_t *ev)
{
  if (!runner__timer_current(run, ev))
    return;
  /* held faults fail on time whatever the phase, up to the close */
  if (ev->timer == RUNNER__TIMER_TICK) {
    runner__faults_tick(run);
    return;
  }
  if (run->phase >= RUNNER__PHASE_KILL)
    return;
  switch ((runner__timer_id_t)ev->timer) {
  case RUNNER__TIMER_DEADLINE:
    on_deadline(run);
    break;
  case RUNNER__TIMER_BOUND:
    on_bound(run);
    break;
  case RUNNER__TIMER_STEP:
    if (run->phase == RUNNER__PHASE_SETUP)
      go(run, runner__setup_on_timer(run));
    else if (run->phase == RUNNER__PHASE_STEPS)
      go(run, runner__steps_on_timer(run));
    break;
  default:
    break;
  }
}

static void on_trigger(runner_run_t *run, runner__event_t *ev)
{
  if (run->phase == RUNNER__PHASE_STEPS)
    runner__steps_trigger(run, ev->st, ev->worker);
}

static void on_abort(runner_run_t *run, runner__event_t *ev)
{
  (void)ev;
  if (run->phase >= RUNNER__PHASE_KILL)
    return;
  enter_kill(run);
}

typedef void (*event_fn)(runner_run_t *run, runner__event_t *ev);

static const event_fn on_event[RUNNER__EV_COUNT] = {
  [RUNNER__EV_RECORD] = on_record,
  [RUNNER__EV_HELLO] = on_hello,
  [RUNNER__EV_REPLY] = on_reply,
  [RUNNER__EV_REFUSAL] = on_refusal,
  [RUNNER__EV_PRIMARY_EOF] = on_primary_eof,
  [RUNNER__EV_AGENT_EXIT] = on_agent_exit,
  [RUNNER__EV_SUPER_DONE] = on_super_done,
  [RUNNER__EV_LOAD_DONE] = on_load_done,
  [RUNNER__EV_TIMER] = on_timer,
  [RUNNER__EV_TRIGGER] = on_trigger,
  [RUNNER__EV_ABORT] = on_abort,
};

/* ---------------------------------------------------------------------- */
/* The dispatcher and the end of the run                                   */

static void free_run(runner_run_t *run)
{
  runner__super_free(run->agent.sup);
  runner__loadgen_free(run);
  runner__faults_free(run);
  runner__cluster_free(run);
  runner__steps_free(run);
  runner__queue_free(run);
  runner__control_cleanup(run);
  free(run->trace_path);
  free(run->report.abort_reason);
  free(run->report.error);
  free(run->report.step_failure);
  runner_result_free(&run->res);
  free(run);
}

/* Everything is closed: the verdict, then the result goes to `done`. */
static void on_dispatcher_closed(uv_handle_t *h)
{
  runner_run_t *run = h->data;
  runner_result_t *res;

  run->phase = RUNNER__PHASE_VERDICT;
  runner__control_cleanup(run);
  runner__verdict(run);
  res = malloc(sizeof(*res));
  if (res != NULL) {
    *res = run->res;
    memset(&run->res, 0, sizeof(run->res));
  }
  /* the run is still valid (as an identity) inside the callback; res is
   * NULL only when memory ran out at this very point */
  run->done(run, res, run->done_arg);
  free_run(run);
}

static void dispatch(uv_check_t *h)
{
  runner_run_t *run = h->data;
  runner__event_t *ev;

  while ((ev = runner__queue_pop(run)) != NULL) {
    on_event[ev->kind](run, ev);
    runner__event_release(ev);
  }
  /* the last of the run: its processes are gone, its handles closed */
  if (run->phase == RUNNER__PHASE_CLOSE && run->handles == 0 &&
      !run->loadgen.running)
    runner__queue_close(run, on_dispatcher_closed);
}

void runner_run_abort(runner_run_t *run, const char *reason)
{
  if (run == NULL || run->phase >= RUNNER__PHASE_KILL ||
      run->agent.abort_ev.queued)
    return;
  free(run->report.abort_reason);
  run->report.abort_reason = strdup(reason ? reason : "interrupted");
  runner__queue_push(run, &run->agent.abort_ev);
}

/* ---------------------------------------------------------------------- */
/* Starting                                                                */

static void on_reaped(runner__super_t *s, int pid, int status, void *arg)
{
  runner_run_t *run = arg;

  (void)s;
  if (pid != run->agent.pid)
    return;
  run->agent.exit_ev.status = status;
  run->agent.exit_ev.t = uv_hrtime();
  runner__queue_push(run, &run->agent.exit_ev);
}

static void on_sup_done(runner__super_t *s, unsigned killed, int failed,
                        void *arg)
{
  runner_run_t *run = arg;

  (void)s;
  run->agent.done_ev.status = (int)killed;
  run->agent.done_ev.failed = failed != 0;
  runner__queue_push(run, &run->agent.done_ev);
}

static void on_log_closed(runner__super_t *s, void *arg)
{
  (void)s;
  runner__handle_closed(arg);
}

static void embed(runner__event_t *ev, runner__ev_kind_t kind)
{
  ev->kind = kind;
  ev->embedded = true;
}

static runner_run_t *run_new(uv_loop_t *loop, const scenario_t *s,
                             const runner_target_t *target,
                             const runner_opts_t *opts)
{
  runner_run_t *run = calloc(1, sizeof(*run));

  if (run == NULL)
    return NULL;
  run->loop = loop;
  run->s = s;
  run->target = target;
  run->opts = *opts;
  if (run->opts.time_scale <= 0)
    run->opts.time_scale = 1.0;
  if (opts->trace_path != NULL)
    run->trace_path = strdup(opts->trace_path);
  run->opts.trace_path = run->trace_path;
  embed(&run->agent.exit_ev, RUNNER__EV_AGENT_EXIT);
  embed(&run->agent.done_ev, RUNNER__EV_SUPER_DONE);
  embed(&run->agent.abort_ev, RUNNER__EV_ABORT);
  run->res.started_ns = uv_hrtime();
  trace_init(&run->res.trace, run->res.started_ns);
  oracle_findings_init(&run->res.findings);
  return run;
}

/* The agent under its supervisor, told where the control socket is. */
static int start_agent(runner_run_t *run)
{
  static const runner__super_cbs_t cbs = {on_reaped, on_sup_done,
                                          on_log_closed};
  const runner_target_t *target = run->target;
  char *env[2 + 8 + 1] = {NULL};
  size_t k;
  int rc = UV_ENOMEM;

  env[0] = base_asprintf("CLUSTERSIM_CONTROL=%s", run->ctl.sock);
  env[1] = base_asprintf("CLUSTERSIM_RUN=%s-%llu-%u", run->s->name,
                         (unsigned long long)run->opts.seed,
                         run->opts.attempt);
  /* the target's own (borrowed: freed with the target) */
  for (k = 0; target->env != NULL && target->env[k] != NULL && k < 8; k++)
    env[2 + k] = target->env[k];
  if (env[0] != NULL && env[1] != NULL)
    rc = runner__super_start(run->loop, target->argv, env, &cbs, run,
                             &run->agent.sup, &run->agent.pid);
  if (rc == 0)
    runner__handle_opened(run);   /* the agent's output */
  free(env[0]);
  free(env[1]);
  return rc;
}

int runner_run_start(uv_loop_t *loop, const scenario_t *s,
                     const runner_target_t *target,
                     const runner_opts_t *opts,
                     runner_done_cb done, void *arg,
                     runner_run_t **out)
{
  runner_run_t *run;
  int rc;

  if (out != NULL)
    *out = NULL;
  run = run_new(loop, s, target, opts);
  if (run == NULL)
    return UV_ENOMEM;
  run->done = done;
  run->done_arg = arg;
  rc = runner__control_prepare(run);
  if (rc != 0) {
    free_run(run);
    return rc;
  }
  /* from here on, handles are open: a failure is the run's error and
   * reaches `done` like any other end */
  runner__queue_init(run, dispatch);
  runner__timers_init(run);
  rc = runner__control_listen(run);
  if (rc == 0)
    rc = start_agent(run);
  if (rc != 0) {
    runner__error(run, "cannot start the run: %s", uv_strerror(rc));
    enter_close(run);
  } else {
    runner__timer_start(run, RUNNER__TIMER_DEADLINE,
                        runner__scaled(run, s->timeout_ms), 0);
    runner__timer_start(run, RUNNER__TIMER_TICK, TICK_MS, TICK_MS);
    runner__timer_start(run, RUNNER__TIMER_BOUND,
                        runner__scaled(run, START_MS), 0);
  }
  if (out != NULL)
    *out = run;
  return 0;
}
