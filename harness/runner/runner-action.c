/*
 * Actions of steps and triggers: agent commands, worker faults over the
 * control socket (held until the worker connects), signals, client
 * connections, and the run's one-shot timers (trigger delays, SIGCONT
 * after a pause, the end of held connections).
 */
#include "runner-internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a fault may wait for its worker's control connection. */
#define FAULT_CONNECT_MS 3000

static void on_rt_timer(uv_timer_t *t);

static const char *who(const runner_run_t *run, unsigned id, char *buf,
                       size_t len)
{
  (void)run;
  snprintf(buf, len, "worker %u", id);
  return buf;
}

/* ---------------------------------------------------------------------- */
/* Timers owned by the run                                                 */

static void free_timer(runner__timer_t *rt)
{
  runner_run_t *run = rt->run;
  runner__timer_t **pp;

  for (pp = &run->timers; *pp; pp = &(*pp)->next)
    if (*pp == rt) {
      *pp = rt->next;
      break;
    }
  free(rt->tcp);
  free(rt);
}

static void on_rt_closed(uv_handle_t *h)
{
  runner__timer_t *rt = h->data;
  runner_run_t *run = rt->run;

  /* libuv runs close callbacks in no promised order: the object goes with
   * its last handle */
  if (--rt->open == 0)
    free_timer(rt);
  runner__handle_gone(run);
}

void runner__action_timer_close(runner__timer_t *rt)
{
  runner_run_t *run = rt->run;
  unsigned i;

  if (uv_is_closing((uv_handle_t *)&rt->timer))
    return;
  if (rt->kind == TIMER_RESUME && !rt->fired && rt->pid > 0) {
    /* never leave a process stopped */
    (void)kill(rt->pid, SIGCONT);
    rt->fired = true;
    runner__action(run, "resume", rt->step, rt->worker, NULL);
  }
  for (i = 0; i < rt->n_tcp; i++)
    if (!uv_is_closing((uv_handle_t *)&rt->tcp[i]))
      uv_close((uv_handle_t *)&rt->tcp[i], on_rt_closed);
  uv_close((uv_handle_t *)&rt->timer, on_rt_closed);
}

static runner__timer_t *new_rt(runner_run_t *run, runner__timer_kind_t kind,
                           const scenario_step_t *st, unsigned worker)
{
  runner__timer_t *rt = calloc(1, sizeof(*rt));

  if (rt == NULL)
    return NULL;
  rt->run = run;
  rt->kind = kind;
  rt->step = st;
  rt->worker = worker;
  uv_timer_init(run->loop, &rt->timer);
  rt->timer.data = rt;
  rt->open = 1;
  run->handles++;
  rt->next = run->timers;
  run->timers = rt;
  return rt;
}

void runner__step_timers_close(runner_run_t *run)
{
  runner__timer_t *rt;

  for (rt = run->timers; rt; rt = rt->next)
    runner__action_timer_close(rt);
}

/* ---------------------------------------------------------------------- */
/* Resolving workers                                                       */

int runner__action_resolve(runner_run_t *run, const scenario_step_t *st,
                   scenario_wref_t ref, unsigned trig, unsigned *id)
{
  switch (ref.kind) {
  case SCENARIO_W_ID:
    *id = ref.id;
    return 0;
  case SCENARIO_W_LAST:
    if (run->last_forked == 0) {
      runner__fail(run, st, "'last' names no worker: none was forked yet");
      return -1;
    }
    *id = run->last_forked;
    return 0;
  case SCENARIO_W_TRIGGER:
    if (trig == 0) {
      runner__fail(run, st, "the trigger's event has no worker");
      return -1;
    }
    *id = trig;
    return 0;
  default:
    *id = 0;
    return 0;
  }
}

/* A worker still alive, with a pid. */
static int worker_pid(runner_run_t *run, const scenario_step_t *st,
                      unsigned id)
{
  runner__worker_t *w = runner__worker(run, id);

  if (w == NULL || !w->known) {
    runner__fail(run, st, "worker %u does not exist (yet)", id);
    return -1;
  }
  if (w->exited) {
    runner__fail(run, st, "worker %u has already exited", id);
    return -1;
  }
  if (w->pid <= 0) {
    runner__fail(run, st, "the pid of worker %u is not known yet", id);
    return -1;
  }
  return w->pid;
}

/* ---------------------------------------------------------------------- */
/* Faults through the worker's control connection                          */

static int fault(runner_run_t *run, const scenario_step_t *st, unsigned id,
                 cJSON *msg)
{
  runner__worker_t *w = runner__worker(run, id);
  char buf[32];

  if (w == NULL) {
    cJSON_Delete(msg);
    runner__fail(run, st, "worker %u does not exist", id);
    return ACT_FAIL;
  }
  if (w->exited) {
    cJSON_Delete(msg);
    runner__fail(run, st, "%s has already exited", who(run, id, buf,
                                                   sizeof(buf)));
    return ACT_FAIL;
  }
  runner__action(run, scenario_step_name(st->kind), st, id, NULL);
  /* a worker refuses an inapplicable fault with a reply to this number */
  cJSON_AddNumberToObject(msg, "req", runner__fault_req(run, st));
  if (w->conn != NULL) {
    int rc = runner__send_worker(run, id, msg);
    cJSON_Delete(msg);
    if (rc != 0) {
      runner__fail(run, st, "cannot reach worker %u: %s", id, uv_strerror(rc));
      return ACT_FAIL;
    }
    return ACT_DONE;
  }
  /* not connected yet (a trigger on `fork` or `online` can be that fast):
   * held until its hello, bounded by the tick */
  if (w->n_pending >= RUN_MAX_PENDING) {
    cJSON_Delete(msg);
    runner__fail(run, st, "too many faults wait for worker %u", id);
    return ACT_FAIL;
  }
  if (w->n_pending == 0)
    w->pending_since = uv_hrtime();
  w->pending[w->n_pending] = msg;
  w->pending_step[w->n_pending++] = st;
  w->known = true;
  return ACT_DONE;
}

void runner__action_flush_pending(runner_run_t *run, unsigned id)
{
  runner__worker_t *w = runner__worker(run, id);
  unsigned i;

  if (w == NULL || w->conn == NULL)
    return;
  for (i = 0; i < w->n_pending; i++) {
    if (runner__send_worker(run, id, w->pending[i]) != 0)
      runner__fail(run, w->pending_step[i], "cannot reach worker %u", id);
    cJSON_Delete(w->pending[i]);
    w->pending[i] = NULL;
  }
  w->n_pending = 0;
}

void runner__action_drop_pending(runner_run_t *run, unsigned id, const char *why)
{
  runner__worker_t *w = runner__worker(run, id);
  unsigned i;

  if (w == NULL)
    return;
  for (i = 0; i < w->n_pending; i++) {
    runner__fail(run, w->pending_step[i], "worker %u %s before the fault "
             "reached it", id, why);
    cJSON_Delete(w->pending[i]);
    w->pending[i] = NULL;
  }
  w->n_pending = 0;
}

void runner__step_tick(runner_run_t *run)
{
  unsigned i;

  for (i = 0; i < run->n_workers; i++) {
    runner__worker_t *w = &run->workers[i];
    if (w->n_pending > 0 &&
        uv_hrtime() - w->pending_since >
            runner__scaled(run, FAULT_CONNECT_MS) * 1000000ull)
      runner__action_drop_pending(run, i + 1, "never connected its control socket");
  }
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

static void on_rt_timer(uv_timer_t *t);

static int connect_action(runner_run_t *run, const scenario_step_t *st)
{
  int port = st->port > 0 ? st->port : run->ports[0];
  struct sockaddr_in addr;
  runner__timer_t *rt;
  unsigned i;

  if (port <= 0) {
    runner__fail(run, st, "no port is known yet: no worker listens");
    return ACT_FAIL;
  }
  rt = new_rt(run, TIMER_CONNECT, st, 0);
  if (rt == NULL)
    return ACT_FAIL;
  rt->tcp = calloc(st->count, sizeof(*rt->tcp));
  if (rt->tcp == NULL) {
    runner__action_timer_close(rt);
    return ACT_FAIL;
  }
  uv_ip4_addr("127.0.0.1", port, &addr);
  for (i = 0; i < st->count; i++) {
    uv_connect_t *req = malloc(sizeof(*req));
    uv_tcp_init(run->loop, &rt->tcp[i]);
    rt->tcp[i].data = rt;
    rt->open++;
    run->handles++;
    rt->n_tcp++;
    if (req == NULL ||
        uv_tcp_connect(req, &rt->tcp[i], (const struct sockaddr *)&addr,
                       on_tcp_connect) != 0)
      free(req);
  }
  {
    cJSON *x = cJSON_CreateObject();
    cJSON_AddNumberToObject(x, "connections", st->count);
    cJSON_AddNumberToObject(x, "port", port);
    runner__action(run, "connect", st, 0, x);
  }
  uv_timer_start(&rt->timer, on_rt_timer, (uint64_t)st->ms, 0);
  return ACT_DONE;
}

/* ---------------------------------------------------------------------- */
/* Actions                                                                 */

cJSON *runner__action_command(const char *name)
{
  cJSON *c = cJSON_CreateObject();

  if (c != NULL)
    cJSON_AddStringToObject(c, "cmd", name);
  return c;
}

static int send_command(runner_run_t *run, const scenario_step_t *st,
                        cJSON *cmd, bool trigger, cJSON *behaviour)
{
  int rc = runner__command(run, cmd, trigger ? REQ_TRIGGER : REQ_STEP, st,
                       behaviour);
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(cmd, "cmd");

  if (rc != 0) {
    runner__fail(run, st, "cannot send '%s' to the primary: %s",
             cJSON_IsString(name) ? name->valuestring : "?",
             run->agent_exited ? "it has exited" : uv_strerror(rc));
    cJSON_Delete(cmd);
    return ACT_FAIL;
  }
  cJSON_Delete(cmd);
  if (trigger)
    return ACT_DONE;
  run->wait = WAIT_REPLY;
  return ACT_ASYNC;
}

cJSON *runner__action_fork_command(const runner_run_t *run, const scenario_step_t *st)
{
  cJSON *cmd = runner__action_command("fork");
  cJSON *env;

  if (cmd == NULL)
    return NULL;
  env = st != NULL && st->env != NULL ? cJSON_Duplicate(st->env, true)
                                      : cJSON_CreateObject();
  if (st != NULL && st->behaviour != NULL) {
    char *b = cJSON_PrintUnformatted(st->behaviour);
    if (b != NULL) {
      cJSON_AddStringToObject(env, "CLUSTERSIM_WORKER", b);
      free(b);
    }
  }
  (void)run;
  cJSON_AddItemToObject(cmd, "env", env);
  return cmd;
}

int runner__action_exec(runner_run_t *run, const scenario_step_t *st,
                       unsigned trig, bool trigger)
{
  cJSON *cmd, *x;
  unsigned id = 0;
  int pid;

  if (runner__action_resolve(run, st, st->worker, trig, &id) != 0)
    return ACT_FAIL;

  switch (st->kind) {
  case SCENARIO_STEP_FORK:
    if (trigger) {
      unsigned i;
      for (i = 0; i < st->count; i++) {
        cmd = runner__action_fork_command(run, st);
        if (cmd == NULL ||
            send_command(run, st, cmd, true,
                         st->behaviour ? st->behaviour
                                       : run->s->behaviour) != ACT_DONE)
          return ACT_FAIL;
      }
      return ACT_DONE;
    }
    run->fork_left = st->count;
    cmd = runner__action_fork_command(run, st);
    return cmd ? send_command(run, st, cmd, false,
                              st->behaviour ? st->behaviour
                                            : run->s->behaviour)
               : ACT_FAIL;
  case SCENARIO_STEP_SEND:
    cmd = runner__action_command("send");
    cJSON_AddNumberToObject(cmd, "worker", id);
    cJSON_AddItemToObject(cmd, "message", cJSON_Duplicate(st->message, true));
    runner__action(run, "send", st, id, NULL);
    return send_command(run, st, cmd, trigger, NULL);
  case SCENARIO_STEP_DISCONNECT:
    cmd = runner__action_command("disconnect");
    cJSON_AddNumberToObject(cmd, "worker", id);
    runner__action(run, "disconnect", st, id, NULL);
    return send_command(run, st, cmd, trigger, NULL);
  case SCENARIO_STEP_KILL:
    cmd = runner__action_command("kill");
    cJSON_AddNumberToObject(cmd, "worker", id);
    cJSON_AddStringToObject(cmd, "signal", base_signal_name(st->signal));
    x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "signal", base_signal_name(st->signal));
    runner__action(run, "kill", st, id, x);
    return send_command(run, st, cmd, trigger, NULL);
  case SCENARIO_STEP_CLUSTER_DISCONNECT:
    runner__action(run, "cluster-disconnect", st, 0, NULL);
    return send_command(run, st, runner__action_command("cluster-disconnect"), trigger,
                        NULL);
  case SCENARIO_STEP_ROLLING_RESTART:
    cmd = runner__action_command("rolling-restart");
    cJSON_AddNumberToObject(cmd, "timeout_ms",
                            (double)runner__scaled(run, st->ms));
    runner__action(run, "rolling-restart", st, 0, NULL);
    run->restart_wait_target = run->restart_done_count + 1;
    return send_command(run, st, cmd, trigger, NULL);
  case SCENARIO_STEP_SHUTDOWN:
    cmd = runner__action_command("shutdown");
    cJSON_AddNumberToObject(cmd, "timeout_ms",
                            (double)runner__scaled(run, st->ms));
    runner__action(run, "shutdown", st, 0, NULL);
    run->shutdown_sent = true;
    return send_command(run, st, cmd, trigger, NULL);
  case SCENARIO_STEP_SIGNAL:
  case SCENARIO_STEP_PAUSE: {
    int sig = st->kind == SCENARIO_STEP_PAUSE ? SIGSTOP : st->signal;
    const char *sname = base_signal_name(sig);
    x = cJSON_CreateObject();
    if (st->worker.kind == SCENARIO_W_PRIMARY) {
      pid = run->hello_pid > 0 ? run->hello_pid : run->agent_pid;
      if (run->agent_exited) {
        cJSON_Delete(x);
        runner__fail(run, st, "the primary has already exited");
        return ACT_FAIL;
      }
      cJSON_AddStringToObject(x, "to", "primary");
      id = 0;
    } else {
      pid = worker_pid(run, st, id);
      if (pid < 0) {
        cJSON_Delete(x);
        return ACT_FAIL;
      }
    }
    cJSON_AddStringToObject(x, "signal", sname ? sname : "?");
    cJSON_AddNumberToObject(x, "pid", pid);
    if (st->worker.kind == SCENARIO_W_PRIMARY &&
        (sig == SIGTERM || sig == SIGINT || sig == SIGKILL))
      run->shutdown_sent = true;
    runner__action(run, st->kind == SCENARIO_STEP_PAUSE ? "pause" : "signal", st,
               id, x);
    if (kill(pid, sig) != 0) {
      runner__fail(run, st, "kill(%d, %s): %s", pid, sname, strerror(errno));
      return ACT_FAIL;
    }
    if (st->kind == SCENARIO_STEP_PAUSE) {
      runner__timer_t *rt = new_rt(run, TIMER_RESUME, st, id);
      if (rt == NULL) {
        (void)kill(pid, SIGCONT);
        return ACT_FAIL;
      }
      rt->pid = pid;
      uv_timer_start(&rt->timer, on_rt_timer, (uint64_t)st->ms, 0);
    }
    return ACT_DONE;
  }
  case SCENARIO_STEP_CRASH:
    cmd = runner__action_command("crash");
    cJSON_AddNumberToObject(cmd, "code", st->code);
    return fault(run, st, id, cmd);
  case SCENARIO_STEP_THROW:
    return fault(run, st, id, runner__action_command("throw"));
  case SCENARIO_STEP_HANG:
    cmd = runner__action_command("hang");
    cJSON_AddNumberToObject(cmd, "ms", (double)st->ms);
    return fault(run, st, id, cmd);
  case SCENARIO_STEP_IPC_DISCONNECT:
    return fault(run, st, id, runner__action_command("ipc-disconnect"));
  case SCENARIO_STEP_WORKER_KILL:
    return fault(run, st, id, runner__action_command("kill"));
  case SCENARIO_STEP_WORKER_DISCONNECT:
    return fault(run, st, id, runner__action_command("disconnect"));
  case SCENARIO_STEP_CLOSE_SERVERS:
    return fault(run, st, id, runner__action_command("close-servers"));
  case SCENARIO_STEP_WORKER_SEND:
    cmd = runner__action_command("send");
    cJSON_AddItemToObject(cmd, "message", cJSON_Duplicate(st->message, true));
    return fault(run, st, id, cmd);
  case SCENARIO_STEP_HOLD: {
    int port = st->port > 0 ? st->port : run->ports[0];
    if (port <= 0) {
      runner__fail(run, st, "no port is known yet: no worker listens");
      return ACT_FAIL;
    }
    cmd = runner__action_command("hold");
    cJSON_AddNumberToObject(cmd, "connections", st->count);
    cJSON_AddNumberToObject(cmd, "port", port);
    return fault(run, st, id, cmd);
  }
  case SCENARIO_STEP_CONNECT:
    return connect_action(run, st);
  case SCENARIO_STEP_LOAD_START:
    return runner__loadgen_start(run, st);
  case SCENARIO_STEP_LOAD_STOP:
    if (!run->load_running)
      return ACT_DONE;
    if (!st->wait_done)
      runner__step_load_stop(run);
    if (trigger)
      return ACT_DONE;
    run->wait = WAIT_LOAD;
    return ACT_ASYNC;
  default:
    runner__fail(run, st, "'%s' cannot run here", scenario_step_name(st->kind));
    return ACT_FAIL;
  }
}

/* ---------------------------------------------------------------------- */
/* Triggers' actions and the timers                                        */

static void trigger_actions(runner_run_t *run, const scenario_step_t *st,
                                unsigned worker)
{
  size_t i;

  for (i = 0; i < st->n_actions; i++)
    if (runner__action_exec(run, &st->actions[i], worker, true) == ACT_FAIL)
      break;
}

static void on_rt_timer(uv_timer_t *t)
{
  runner__timer_t *rt = t->data;
  runner_run_t *run = rt->run;

  switch (rt->kind) {
  case TIMER_TRIGGER:
    rt->fired = true;
    if (run->phase == PHASE_STEPS)
      trigger_actions(run, rt->step, rt->worker);
    break;
  case TIMER_RESUME:
    if (!rt->fired) {
      rt->fired = true;
      (void)kill(rt->pid, SIGCONT);
      runner__action(run, "resume", rt->step, rt->worker, NULL);
    }
    break;
  case TIMER_CONNECT:
    runner__action(run, "disconnect-clients", rt->step, 0, NULL);
    break;
  }
  runner__action_timer_close(rt);
}

runner__timer_t *runner__action_timer_new(runner_run_t *run, runner__timer_kind_t kind,
                              const scenario_step_t *st, unsigned worker,
                              uint64_t ms)
{
  runner__timer_t *rt = new_rt(run, kind, st, worker);

  if (rt != NULL)
    uv_timer_start(&rt->timer, on_rt_timer, ms, 0);
  return rt;
}
