/*
 * Step handlers that act from outside the workers: commands to the primary
 * agent, signals, client connections held open. And what an action leaves
 * for later (a trigger's delay, SIGCONT after a pause, the end of held
 * connections): deferred timers owned by the run.
 */
#include "runner-internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* Deferred actions                                                        */

static void free_deferred(runner__deferred_t *d)
{
  runner__deferred_t **pp;

  for (pp = &d->run->act.deferred; *pp; pp = &(*pp)->next)
    if (*pp == d) {
      *pp = d->next;
      break;
    }
  free(d->tcp);
  free(d);
}

static void on_deferred_closed(uv_handle_t *h)
{
  runner__deferred_t *d = h->data;
  runner_run_t *run = d->run;

  /* libuv runs close callbacks in no promised order: the object goes with
   * its last handle */
  if (--d->open == 0)
    free_deferred(d);
  runner__handle_closed(run);
}

/* Never leaves a process stopped. */
static void resume(runner__deferred_t *d)
{
  if (d->fired || d->pid <= 0)
    return;
  d->fired = true;
  (void)runner__super_signal(d->run->agent.sup, d->pid, SIGCONT);
  runner__queue_action(d->run, "resume", d->st, d->worker, NULL);
}

static void deferred_close(runner__deferred_t *d)
{
  unsigned i;

  if (uv_is_closing((uv_handle_t *)&d->timer))
    return;
  if (d->kind == RUNNER__DEFER_RESUME)
    resume(d);
  for (i = 0; i < d->n_tcp; i++)
    if (!uv_is_closing((uv_handle_t *)&d->tcp[i]))
      uv_close((uv_handle_t *)&d->tcp[i], on_deferred_closed);
  uv_close((uv_handle_t *)&d->timer, on_deferred_closed);
}

static void on_deferred(uv_timer_t *t)
{
  runner__deferred_t *d = t->data;
  runner__event_t *ev;

  switch (d->kind) {
  case RUNNER__DEFER_TRIGGER:
    d->fired = true;
    ev = runner__event_new(RUNNER__EV_TRIGGER);
    if (ev != NULL) {
      ev->st = d->st;
      ev->worker = d->worker;
      runner__queue_push(d->run, ev);
    }
    break;
  case RUNNER__DEFER_RESUME:
    resume(d);
    break;
  case RUNNER__DEFER_CONNECT:
    runner__queue_action(d->run, "disconnect-clients", d->st, 0, NULL);
    break;
  }
  deferred_close(d);
}

static runner__deferred_t *deferred_new(runner_run_t *run,
                                        runner__defer_kind_t kind,
                                        const scenario_step_t *st,
                                        unsigned worker)
{
  runner__deferred_t *d = calloc(1, sizeof(*d));

  if (d == NULL)
    return NULL;
  d->run = run;
  d->kind = kind;
  d->st = st;
  d->worker = worker;
  uv_timer_init(run->loop, &d->timer);
  d->timer.data = d;
  d->open = 1;
  runner__handle_opened(run);
  d->next = run->act.deferred;
  run->act.deferred = d;
  return d;
}

void runner__act_defer_trigger(runner_run_t *run, const scenario_step_t *st,
                               unsigned worker, uint64_t ms)
{
  runner__deferred_t *d = deferred_new(run, RUNNER__DEFER_TRIGGER, st,
                                       worker);

  if (d != NULL)
    uv_timer_start(&d->timer, on_deferred, ms, 0);
}

void runner__act_cancel(runner_run_t *run)
{
  runner__deferred_t *d;

  for (d = run->act.deferred; d; d = d->next)
    if (d->kind != RUNNER__DEFER_CONNECT)
      deferred_close(d);
}

void runner__act_close(runner_run_t *run)
{
  runner__deferred_t *d;

  for (d = run->act.deferred; d; d = d->next)
    deferred_close(d);
}

/* ---------------------------------------------------------------------- */
/* Commands to the primary                                                 */

cJSON *runner__act_command_new(const char *name)
{
  cJSON *c = cJSON_CreateObject();

  if (c != NULL)
    cJSON_AddStringToObject(c, "cmd", name);
  return c;
}

int runner__act_command(runner_run_t *run, cJSON *cmd,
                        runner__req_kind_t kind, const scenario_step_t *st,
                        cJSON *behaviour)
{
  if (run->agent.exited || run->agent.primary_gone)
    return UV_EPIPE;
  return runner__control_command(run, cmd, kind, st, behaviour);
}

/* A mixed target names the other runtime's worker program, whose own
 * arguments come first: the agents leave `own_args` of them out of what a
 * `setup` event reports. `initial`: the run's first setup, which also
 * names the program; later ones only restate the arguments they change.
 * `settings` is changed in place. */
/* Node removes NODE_CHANNEL_SERIALIZATION_MODE from a worker's environment
 * before any of its code runs, so the worker agents learn the mode that
 * decides how they report messages (docs/ipc.md, the JSON form) from
 * CLUSTERSIM_SERIALIZATION, set with the setting. */
static void tell_serialization(cJSON *settings)
{
  const cJSON *mode = cJSON_GetObjectItemCaseSensitive(settings,
                                                       "serialization");
  cJSON *env;

  if (!cJSON_IsString(mode))
    return;
  env = cJSON_GetObjectItemCaseSensitive(settings, "env");
  if (env == NULL)
    env = cJSON_AddObjectToObject(settings, "env");
  if (env != NULL)
    cJSON_AddStringToObject(env, "CLUSTERSIM_SERIALIZATION",
                            mode->valuestring);
}

void runner__act_mixed_worker(const runner_run_t *run, cJSON *cmd,
                              cJSON *settings, bool initial)
{
  const runner_target_t *t = run->target;
  cJSON *args, *given, *a;
  size_t i;

  tell_serialization(settings);
  if (t->worker_exec == NULL ||
      cJSON_GetObjectItemCaseSensitive(settings, "exec") != NULL ||
      (!initial && !cJSON_HasObjectItem(settings, "args")))
    return;
  args = cJSON_CreateArray();
  given = cJSON_DetachItemFromObjectCaseSensitive(settings, "args");
  for (i = 0; args != NULL && t->worker_args != NULL &&
              t->worker_args[i] != NULL; i++)
    cJSON_AddItemToArray(args, cJSON_CreateString(t->worker_args[i]));
  cJSON_AddNumberToObject(cmd, "own_args", (double)i);
  cJSON_ArrayForEach(a, given)
    cJSON_AddItemToArray(args, cJSON_Duplicate(a, true));
  cJSON_Delete(given);
  if (initial)
    cJSON_AddStringToObject(settings, "exec", t->worker_exec);
  if (args != NULL)
    cJSON_AddItemToObject(settings, "args", args);
}

const char *runner__act_socket_path(const runner_run_t *run,
                                    const char *path, char *out, size_t len)
{
  int n = path[0] == '/'
              ? snprintf(out, len, "%s", path)
              : snprintf(out, len, "%s/%s", run->ctl.dir, path);

  return n > 0 && (size_t)n < len ? out : NULL;
}

char *runner__act_behaviour_text(const runner_run_t *run,
                                 const cJSON *behaviour)
{
  cJSON *b = cJSON_Duplicate(behaviour, true), *srv;
  char *text, where[512];

  if (b == NULL)
    return NULL;
  cJSON_ArrayForEach(srv, cJSON_GetObjectItemCaseSensitive(b, "servers")) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(srv, "path");
    if (cJSON_IsString(p) &&
        runner__act_socket_path(run, p->valuestring, where, sizeof(where)) != NULL)
      cJSON_ReplaceItemInObjectCaseSensitive(srv, "path",
                                             cJSON_CreateString(where));
  }
  text = cJSON_PrintUnformatted(b);
  cJSON_Delete(b);
  return text;
}

cJSON *runner__act_fork_command(const runner_run_t *run,
                                const scenario_step_t *st)
{
  cJSON *cmd = runner__act_command_new("fork");
  cJSON *env;

  if (cmd == NULL)
    return NULL;
  env = st != NULL && st->env != NULL ? cJSON_Duplicate(st->env, true)
                                      : cJSON_CreateObject();
  if (st != NULL && st->behaviour != NULL) {
    char *b = runner__act_behaviour_text(run, st->behaviour);
    if (b != NULL) {
      cJSON_AddStringToObject(env, "CLUSTERSIM_WORKER", b);
      free(b);
    }
  }
  cJSON_AddItemToObject(cmd, "env", env);
  return cmd;
}

/* Sends a step's command (owned); a step waits for its reply, a trigger
 * does not. */
int runner__act_send(runner_run_t *run, const scenario_step_t *st,
                     const runner__call_t *call, cJSON *cmd,
                     cJSON *behaviour)
{
  int rc;

  if (cmd != NULL && st->probe)
    cJSON_AddBoolToObject(cmd, "probe", true);
  rc = cmd == NULL ? UV_ENOMEM
                       : runner__act_command(run, cmd,
                                             call->trigger ? RUNNER__REQ_TRIGGER
                                                           : RUNNER__REQ_STEP,
                                             st, behaviour);
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(cmd, "cmd");

  if (rc != 0) {
    runner__fail(run, st, "cannot send '%s' to the primary: %s",
                 cJSON_IsString(name) ? name->valuestring : "?",
                 run->agent.exited ? "it has exited" : uv_strerror(rc));
    cJSON_Delete(cmd);
    return RUNNER__STEP_FAILED;
  }
  cJSON_Delete(cmd);
  return call->trigger ? RUNNER__WAIT_NONE : RUNNER__WAIT_REPLY;
}

/* The fork action is recorded when the primary says which worker it made,
 * dated when it was sent: it comes before anything of the worker. */
void runner__act_record_fork(runner_run_t *run, uint64_t sent,
                             const scenario_step_t *st,
                             const cJSON *behaviour, const cJSON *reply)
{
  const cJSON *w = cJSON_GetObjectItemCaseSensitive(reply, "worker");
  const cJSON *ol;
  unsigned id;
  cJSON *x;

  if (!cJSON_IsNumber(w) || (x = cJSON_CreateObject()) == NULL)
    return;
  id = (unsigned)w->valuedouble;
  cJSON_AddNumberToObject(x, "t", (double)sent);
  ol = cJSON_GetObjectItemCaseSensitive(behaviour, "on_listening");
  if (cJSON_IsString(ol))
    cJSON_AddStringToObject(x, "on_listening", ol->valuestring);
  runner__queue_action(run, "fork", st, id, x);
  runner__cluster_forked(run, id);
}

/* What a `status`, or a command with `probe`, saw goes into the trace as
 * an action of its own ("status", "probe"), dated when it was sent: the
 * agent sampled it in that turn. */
void runner__act_record_probe(runner_run_t *run, const char *name,
                              uint64_t sent, const scenario_step_t *st,
                              const cJSON *reply)
{
  static const char *const keys[] = {"workers", "probe", "callbacks",
                                     "returned"};
  const cJSON *w = cJSON_GetObjectItemCaseSensitive(reply, "worker");
  cJSON *x = cJSON_CreateObject();
  size_t i;

  if (x == NULL)
    return;
  cJSON_AddNumberToObject(x, "t", (double)sent);
  for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(reply, keys[i]);
    if (v != NULL)
      cJSON_AddItemToObject(x, keys[i], cJSON_Duplicate(v, true));
  }
  runner__queue_action(run, name, st,
                       cJSON_IsNumber(w) ? (unsigned)w->valuedouble : 0, x);
}

void runner__act_on_reply(runner_run_t *run, const runner__req_t *req,
                          const cJSON *reply)
{
  bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"));
  const cJSON *err = cJSON_GetObjectItemCaseSensitive(reply, "error");

  if (ok && strcmp(req->cmd, "fork") == 0)
    runner__act_record_fork(run, req->sent, req->st, req->behaviour, reply);
  if (ok && strcmp(req->cmd, "status") == 0)
    runner__act_record_probe(run, "status", req->sent, req->st, reply);
  else if (ok && req->st != NULL && req->st->probe)
    runner__act_record_probe(run, "probe", req->sent, req->st, reply);
  if (!ok && req->kind == RUNNER__REQ_TRIGGER)
    runner__fail(run, req->st, "the primary refused %s: %s", req->cmd,
                 cJSON_IsString(err) ? err->valuestring : "refused");
}

static cJSON *behaviour_of(const runner_run_t *run, const scenario_step_t *st)
{
  return st->behaviour ? st->behaviour : run->s->behaviour;
}

int runner__step_fork(runner_run_t *run, const scenario_step_t *st,
                      const runner__call_t *call)
{
  unsigned i;

  /* a step forks one at a time, each after the reply to the last */
  if (!call->trigger)
    return call->replies >= st->count
               ? RUNNER__WAIT_NONE
               : runner__act_send(run, st, call, runner__act_fork_command(run, st),
                              behaviour_of(run, st));
  for (i = 0; i < st->count; i++)
    if (runner__act_send(run, st, call, runner__act_fork_command(run, st),
                     behaviour_of(run, st)) != RUNNER__WAIT_NONE)
      return RUNNER__STEP_FAILED;
  return RUNNER__WAIT_NONE;
}

/* A command to worker `call->worker`. */
static int worker_command(runner_run_t *run, const scenario_step_t *st,
                          const runner__call_t *call, const char *name,
                          cJSON *extra)
{
  cJSON *cmd;

  if (call->replies > 0) {
    cJSON_Delete(extra);
    return RUNNER__WAIT_NONE;
  }
  cmd = runner__act_command_new(name);
  if (cmd != NULL)
    cJSON_AddNumberToObject(cmd, "worker", call->worker);
  runner__queue_action(run, name, st, call->worker, extra);
  return runner__act_send(run, st, call, cmd, NULL);
}

int runner__step_send(runner_run_t *run, const scenario_step_t *st,
                      const runner__call_t *call)
{
  cJSON *cmd, *x;

  if (call->replies > 0)
    return RUNNER__WAIT_NONE;
  cmd = runner__act_command_new("send");
  if (cmd != NULL) {
    cJSON_AddNumberToObject(cmd, "worker", call->worker);
    cJSON_AddItemToObject(cmd, "message", cJSON_Duplicate(st->message, true));
  }
  /* what was sent, for `messages` checks of echoes */
  x = cJSON_CreateObject();
  if (x != NULL)
    cJSON_AddItemToObject(x, "message", cJSON_Duplicate(st->message, true));
  runner__queue_action(run, "send", st, call->worker, x);
  return runner__act_send(run, st, call, cmd, NULL);
}

int runner__step_disconnect(runner_run_t *run, const scenario_step_t *st,
                            const runner__call_t *call)
{
  return worker_command(run, st, call, "disconnect", NULL);
}

int runner__step_kill(runner_run_t *run, const scenario_step_t *st,
                      const runner__call_t *call)
{
  const char *sig = base_signal_name(st->signal);
  cJSON *x, *cmd;

  if (call->replies > 0)
    return RUNNER__WAIT_NONE;
  cmd = runner__act_command_new("kill");
  if (cmd != NULL) {
    cJSON_AddNumberToObject(cmd, "worker", call->worker);
    cJSON_AddStringToObject(cmd, "signal", sig);
  }
  x = cJSON_CreateObject();
  if (x != NULL)
    cJSON_AddStringToObject(x, "signal", sig);
  runner__queue_action(run, "kill", st, call->worker, x);
  return runner__act_send(run, st, call, cmd, NULL);
}

int runner__step_cluster_disconnect(runner_run_t *run,
                                    const scenario_step_t *st,
                                    const runner__call_t *call)
{
  if (call->replies > 0)
    return RUNNER__WAIT_NONE;
  runner__queue_action(run, "cluster-disconnect", st, 0, NULL);
  return runner__act_send(run, st, call,
                      runner__act_command_new("cluster-disconnect"), NULL);
}

int runner__step_status(runner_run_t *run, const scenario_step_t *st,
                        const runner__call_t *call)
{
  cJSON *cmd;

  if (call->replies > 0)
    return RUNNER__WAIT_NONE;
  cmd = runner__act_command_new("status");
  if (cmd != NULL && call->worker != 0)
    cJSON_AddNumberToObject(cmd, "worker", call->worker);
  return runner__act_send(run, st, call, cmd, NULL);
}

/* ---------------------------------------------------------------------- */
/* Handles of the primary (docs/protocol.md section 2.2)                   */

int runner__step_serve(runner_run_t *run, const scenario_step_t *st,
                       const runner__call_t *call)
{
  char where[512];
  cJSON *cmd;

  if (call->replies > 0)
    return RUNNER__WAIT_NONE;
  if (st->text != NULL &&
      runner__act_socket_path(run, st->text, where, sizeof(where)) == NULL) {
    runner__fail(run, st, "the socket path does not fit in the run's "
                          "directory");
    return RUNNER__STEP_FAILED;
  }
  cmd = runner__act_command_new("serve");
  if (cmd != NULL) {
    cJSON_AddStringToObject(cmd, "server", st->server);
    if (st->text != NULL) {
      cJSON_AddStringToObject(cmd, "path", where);
    } else {
      cJSON_AddStringToObject(cmd, "host", "127.0.0.1");
      cJSON_AddNumberToObject(cmd, "port", st->port);
    }
  }
  runner__queue_action(run, "serve", st, 0, NULL);
  return runner__act_send(run, st, call, cmd, NULL);
}

/* The handle a send-handle or close-handle step names. */
static void add_handle(cJSON *cmd, const scenario_step_t *st)
{
  if (st->conn != 0)
    cJSON_AddNumberToObject(cmd, "conn", st->conn);
  else
    cJSON_AddStringToObject(cmd, "server", st->server);
}

int runner__step_send_handle(runner_run_t *run, const scenario_step_t *st,
                             const runner__call_t *call)
{
  cJSON *cmd, *x;

  if (call->replies > 0)
    return RUNNER__WAIT_NONE;
  cmd = runner__act_command_new("send-handle");
  if (cmd != NULL) {
    cJSON_AddNumberToObject(cmd, "worker", call->worker);
    add_handle(cmd, st);
    if (st->message != NULL)
      cJSON_AddItemToObject(cmd, "message",
                            cJSON_Duplicate(st->message, true));
    cJSON_AddBoolToObject(cmd, "keep_open", st->keep_open);
  }
  x = cJSON_CreateObject();
  if (x != NULL)
    add_handle(x, st);
  runner__queue_action(run, "send-handle", st, call->worker, x);
  return runner__act_send(run, st, call, cmd, NULL);
}

int runner__step_close_handle(runner_run_t *run, const scenario_step_t *st,
                              const runner__call_t *call)
{
  cJSON *cmd, *x;

  if (call->replies > 0)
    return RUNNER__WAIT_NONE;
  cmd = runner__act_command_new("close-handle");
  if (cmd != NULL)
    add_handle(cmd, st);
  x = cJSON_CreateObject();
  if (x != NULL)
    add_handle(x, st);
  runner__queue_action(run, "close-handle", st, 0, x);
  return runner__act_send(run, st, call, cmd, NULL);
}

/* A primary policy command with a timeout ("rolling-restart",
 * "shutdown"). */
static cJSON *timed_command(runner_run_t *run, const char *name, int64_t ms)
{
  cJSON *cmd = runner__act_command_new(name);

  if (cmd != NULL)
    cJSON_AddNumberToObject(cmd, "timeout_ms",
                            (double)runner__scaled(run, ms));
  return cmd;
}

int runner__step_rolling_restart(runner_run_t *run, const scenario_step_t *st,
                                 const runner__call_t *call)
{
  if (call->replies > 0)
    return st->wait_done && run->cluster.restart_done_count <
                                run->act.restart_wait_target
               ? RUNNER__WAIT_RESTART
               : RUNNER__WAIT_NONE;
  runner__queue_action(run, "rolling-restart", st, 0, NULL);
  run->act.restart_wait_target = run->cluster.restart_done_count + 1;
  return runner__act_send(run, st, call,
                      timed_command(run, "rolling-restart", st->ms), NULL);
}

int runner__step_shutdown(runner_run_t *run, const scenario_step_t *st,
                          const runner__call_t *call)
{
  if (call->replies > 0)
    return st->wait_done && !run->agent.exited ? RUNNER__WAIT_EXIT
                                               : RUNNER__WAIT_NONE;
  runner__queue_action(run, "shutdown", st, 0, NULL);
  run->report.shutdown_sent = true;
  return runner__act_send(run, st, call, timed_command(run, "shutdown", st->ms),
                      NULL);
}

/* ---------------------------------------------------------------------- */
/* Signals                                                                 */

/* The primary's process group, as -pgid for kill(2): only when the agent
 * leads a group of its own (the supervisor makes it so), which the
 * harness is never in. 0 (a failure noted) otherwise. */
static int group_of(runner_run_t *run, const scenario_step_t *st)
{
  int pid = run->agent.pid;

  if (pid <= 0 || getpgid(pid) != pid || getpgid(pid) == getpgrp()) {
    runner__fail(run, st, "the primary does not lead a process group of "
                          "its own: no signal to its group");
    return 0;
  }
  return -pid;
}

/* A pid the agents got wrong or made up is never signalled: an error of
 * the run, naming who gave it. */
static void foreign_pid(runner_run_t *run, unsigned id, int pid,
                        const char *sname)
{
  if (id == 0)
    runner__error(run, "the primary agent said its pid is %d, which is not "
                  "a process of this run: %s was not sent", pid,
                  sname ? sname : "the signal");
  else
    runner__error(run, "the agents said worker %u is pid %d, which is not "
                  "a process of this run: %s was not sent", id, pid,
                  sname ? sname : "the signal");
}

/* Where a signal step aims (*pid; a group as -pgid): 0, or -1 when there
 * is nothing to aim at (a failure noted), -2 for a worker gone, which
 * `tolerate: gone` accepts. *id becomes 0 for the primary. */
static int signal_target(runner_run_t *run, const scenario_step_t *st,
                         unsigned *id, cJSON *x, int *pid)
{
  bool group = st->worker.kind == SCENARIO_W_GROUP;
  runner__worker_t *w;

  if (group || st->worker.kind == SCENARIO_W_PRIMARY) {
    if (run->agent.exited) {
      runner__fail(run, st, "the primary has already exited");
      return -1;
    }
    *id = 0;
    cJSON_AddStringToObject(x, "to", group ? "group" : "primary");
    *pid = group ? group_of(run, st)
           : run->agent.hello_pid > 0 ? run->agent.hello_pid
                                      : run->agent.pid;
    return *pid != 0 ? 0 : -1;
  }
  w = runner__cluster_worker(run, *id);
  if (w != NULL && w->exited && st->tolerate_gone)
    return -2;
  *pid = runner__cluster_pid(run, st, *id);
  return *pid < 0 ? -1 : 0;
}

/* Sends `sig` as step `st` says; 1 when sent, 0 when the worker was gone
 * (tolerated), -1 on failure. */
static int send_signal(runner_run_t *run, const scenario_step_t *st,
                       unsigned *id, int sig, const char *action, int *pid)
{
  const char *sname = base_signal_name(sig);
  cJSON *x = cJSON_CreateObject();
  int rc;

  if (x == NULL)
    return -1;
  rc = signal_target(run, st, id, x, pid);
  if (rc != 0) {
    cJSON_Delete(x);
    if (rc == -2)
      return runner__fault_gone(run, st, *id, "has already exited") ==
                     RUNNER__STEP_FAILED ? -1 : 0;
    return -1;
  }
  cJSON_AddStringToObject(x, "signal", sname ? sname : "?");
  cJSON_AddNumberToObject(x, "pid", *pid);
  /* the primary asked to end: its exit is the end the trace expects */
  if ((st->worker.kind == SCENARIO_W_PRIMARY ||
       st->worker.kind == SCENARIO_W_GROUP) &&
      (sig == SIGTERM || sig == SIGINT || sig == SIGKILL))
    run->report.shutdown_sent = true;
  /* stamped before it goes, queued once it went: the trace never shows a
   * signal to a process that is not the run's */
  cJSON_AddNumberToObject(x, "t", (double)uv_hrtime());
  rc = runner__super_signal(run->agent.sup, *pid, sig);
  if (rc == UV_EPERM) {
    cJSON_Delete(x);
    foreign_pid(run, *id, *pid, sname);
    return -1;
  }
  runner__queue_action(run, action, st, *id, x);
  if (rc == 0)
    return 1;
  /* a worker that exited between its last record and the kill */
  if (rc == UV_ESRCH && st->tolerate_gone && *id != 0)
    return runner__fault_gone(run, st, *id, "has already exited") ==
                   RUNNER__STEP_FAILED ? -1 : 0;
  runner__fail(run, st, "kill(%d, %s): %s", *pid, sname, uv_strerror(rc));
  return -1;
}

int runner__step_signal(runner_run_t *run, const scenario_step_t *st,
                        const runner__call_t *call)
{
  unsigned id = call->worker;
  int pid;

  return send_signal(run, st, &id, st->signal, "signal", &pid) < 0
             ? RUNNER__STEP_FAILED
             : RUNNER__WAIT_NONE;
}

int runner__step_pause(runner_run_t *run, const scenario_step_t *st,
                       const runner__call_t *call)
{
  unsigned id = call->worker;
  int pid, rc = send_signal(run, st, &id, SIGSTOP, "pause", &pid);
  runner__deferred_t *d;

  if (rc < 0)
    return RUNNER__STEP_FAILED;
  if (rc == 0)   /* gone, and tolerated: nothing to resume */
    return RUNNER__WAIT_NONE;
  d = deferred_new(run, RUNNER__DEFER_RESUME, st, id);
  if (d == NULL) {
    (void)runner__super_signal(run->agent.sup, pid, SIGCONT);
    return RUNNER__STEP_FAILED;
  }
  d->pid = pid;
  uv_timer_start(&d->timer, on_deferred, (uint64_t)st->ms, 0);
  return RUNNER__WAIT_NONE;
}

/* ---------------------------------------------------------------------- */
/* Client connections held open                                            */

static void on_partial_written(uv_write_t *req, int status)
{
  (void)status;
  free(req);
}

/* A connection with a request under way is busy: a graceful server close
 * waits for it (an idle one would be closed at once, as Node v20's
 * http.Server.close() does). So the client sends the start of a request
 * and never its end. */
static void on_tcp_connect(uv_connect_t *req, int status)
{
  static char partial[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  uv_buf_t buf = uv_buf_init(partial, sizeof(partial) - 1);
  uv_write_t *w;

  if (status == 0 && !uv_is_closing((uv_handle_t *)req->handle) &&
      (w = malloc(sizeof(*w))) != NULL &&
      uv_write(w, req->handle, &buf, 1, on_partial_written) != 0)
    free(w);
  free(req);
}

static void open_connections(runner__deferred_t *d, unsigned n, int port)
{
  runner_run_t *run = d->run;
  struct sockaddr_in addr;
  unsigned i;

  uv_ip4_addr("127.0.0.1", port, &addr);
  for (i = 0; i < n; i++) {
    uv_connect_t *req = malloc(sizeof(*req));
    uv_tcp_init(run->loop, &d->tcp[i]);
    d->tcp[i].data = d;
    d->open++;
    runner__handle_opened(run);
    d->n_tcp++;
    if (req == NULL ||
        uv_tcp_connect(req, &d->tcp[i], (const struct sockaddr *)&addr,
                       on_tcp_connect) != 0)
      free(req);
  }
}

int runner__step_connect(runner_run_t *run, const scenario_step_t *st,
                         const runner__call_t *call)
{
  int port = st->port > 0            ? st->port
             : st->server[0] != '\0' ? runner__cluster_primary_port(
                                           run, st->server)
                                     : runner__cluster_port(run, 0);
  runner__deferred_t *d;
  cJSON *x;

  (void)call;
  if (port <= 0) {
    runner__fail(run, st, "no port is known yet: no worker listens");
    return RUNNER__STEP_FAILED;
  }
  d = deferred_new(run, RUNNER__DEFER_CONNECT, st, 0);
  if (d == NULL)
    return RUNNER__STEP_FAILED;
  d->tcp = calloc(st->count, sizeof(*d->tcp));
  if (d->tcp == NULL) {
    deferred_close(d);
    return RUNNER__STEP_FAILED;
  }
  open_connections(d, st->count, port);
  x = cJSON_CreateObject();
  if (x != NULL) {
    cJSON_AddNumberToObject(x, "connections", st->count);
    cJSON_AddNumberToObject(x, "port", port);
  }
  runner__queue_action(run, "connect", st, 0, x);
  uv_timer_start(&d->timer, on_deferred, (uint64_t)st->ms, 0);
  return RUNNER__WAIT_NONE;
}
