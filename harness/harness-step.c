/*
 * Steps, triggers and actions of a run: what the scenario asks for, turned
 * into agent commands, worker faults, signals, client connections and
 * load, each recorded in the trace as a harness action.
 */
#include "harness-run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a fault may wait for its worker's control connection. */
#define FAULT_CONNECT_MS 3000
/* How long the primary has to answer a command. */
#define REPLY_MS 5000

enum { ACT_DONE = 0, ACT_ASYNC = 1, ACT_FAIL = -1 };

static void step_done(harness_run_t *run);

static uint64_t next_random(harness_run_t *run)
{
  /* splitmix64: the run's decisions follow from its seed */
  uint64_t z = (run->rng += 0x9E3779B97F4A7C15ull);

  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static const char *who(const harness_run_t *run, unsigned id, char *buf,
                       size_t len)
{
  (void)run;
  snprintf(buf, len, "worker %u", id);
  return buf;
}

/* ---------------------------------------------------------------------- */
/* Timers owned by the run                                                 */

static void free_timer(run_timer_t *rt)
{
  harness_run_t *run = rt->run;
  run_timer_t **pp;

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
  run_timer_t *rt = h->data;
  harness_run_t *run = rt->run;

  /* libuv runs close callbacks in no promised order: the object goes with
   * its last handle */
  if (--rt->open == 0)
    free_timer(rt);
  run_handle_gone(run);
}

static void close_rt(run_timer_t *rt)
{
  harness_run_t *run = rt->run;
  unsigned i;

  if (uv_is_closing((uv_handle_t *)&rt->timer))
    return;
  if (rt->kind == TIMER_RESUME && !rt->fired && rt->pid > 0) {
    /* never leave a process stopped */
    (void)kill(rt->pid, SIGCONT);
    rt->fired = true;
    run_action(run, "resume", rt->step, rt->worker, NULL);
  }
  for (i = 0; i < rt->n_tcp; i++)
    if (!uv_is_closing((uv_handle_t *)&rt->tcp[i]))
      uv_close((uv_handle_t *)&rt->tcp[i], on_rt_closed);
  uv_close((uv_handle_t *)&rt->timer, on_rt_closed);
}

static run_timer_t *new_rt(harness_run_t *run, run_timer_kind_t kind,
                           const harness_step_t *st, unsigned worker)
{
  run_timer_t *rt = calloc(1, sizeof(*rt));

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

void step_timers_close(harness_run_t *run)
{
  run_timer_t *rt;

  for (rt = run->timers; rt; rt = rt->next)
    close_rt(rt);
}

/* ---------------------------------------------------------------------- */
/* Resolving workers                                                       */

static int resolve(harness_run_t *run, const harness_step_t *st,
                   harness_wref_t ref, unsigned trig, unsigned *id)
{
  switch (ref.kind) {
  case HARNESS_W_ID:
    *id = ref.id;
    return 0;
  case HARNESS_W_LAST:
    if (run->last_forked == 0) {
      run_fail(run, st, "'last' names no worker: none was forked yet");
      return -1;
    }
    *id = run->last_forked;
    return 0;
  case HARNESS_W_TRIGGER:
    if (trig == 0) {
      run_fail(run, st, "the trigger's event has no worker");
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
static int worker_pid(harness_run_t *run, const harness_step_t *st,
                      unsigned id)
{
  run_worker_t *w = run_worker(run, id);

  if (w == NULL || !w->known) {
    run_fail(run, st, "worker %u does not exist (yet)", id);
    return -1;
  }
  if (w->exited) {
    run_fail(run, st, "worker %u has already exited", id);
    return -1;
  }
  if (w->pid <= 0) {
    run_fail(run, st, "the pid of worker %u is not known yet", id);
    return -1;
  }
  return w->pid;
}

/* ---------------------------------------------------------------------- */
/* Faults through the worker's control connection                          */

static int fault(harness_run_t *run, const harness_step_t *st, unsigned id,
                 cJSON *msg)
{
  run_worker_t *w = run_worker(run, id);
  char buf[32];

  if (w == NULL) {
    cJSON_Delete(msg);
    run_fail(run, st, "worker %u does not exist", id);
    return ACT_FAIL;
  }
  if (w->exited) {
    cJSON_Delete(msg);
    run_fail(run, st, "%s has already exited", who(run, id, buf,
                                                   sizeof(buf)));
    return ACT_FAIL;
  }
  run_action(run, harness_step_name(st->kind), st, id, NULL);
  /* a worker refuses an inapplicable fault with a reply to this number */
  cJSON_AddNumberToObject(msg, "req", run_fault_req(run, st));
  if (w->conn != NULL) {
    int rc = run_send_worker(run, id, msg);
    cJSON_Delete(msg);
    if (rc != 0) {
      run_fail(run, st, "cannot reach worker %u: %s", id, uv_strerror(rc));
      return ACT_FAIL;
    }
    return ACT_DONE;
  }
  /* not connected yet (a trigger on `fork` or `online` can be that fast):
   * held until its hello, bounded by the tick */
  if (w->n_pending >= RUN_MAX_PENDING) {
    cJSON_Delete(msg);
    run_fail(run, st, "too many faults wait for worker %u", id);
    return ACT_FAIL;
  }
  if (w->n_pending == 0)
    w->pending_since = uv_hrtime();
  w->pending[w->n_pending] = msg;
  w->pending_step[w->n_pending++] = st;
  w->known = true;
  return ACT_DONE;
}

static void flush_pending(harness_run_t *run, unsigned id)
{
  run_worker_t *w = run_worker(run, id);
  unsigned i;

  if (w == NULL || w->conn == NULL)
    return;
  for (i = 0; i < w->n_pending; i++) {
    if (run_send_worker(run, id, w->pending[i]) != 0)
      run_fail(run, w->pending_step[i], "cannot reach worker %u", id);
    cJSON_Delete(w->pending[i]);
    w->pending[i] = NULL;
  }
  w->n_pending = 0;
}

static void drop_pending(harness_run_t *run, unsigned id, const char *why)
{
  run_worker_t *w = run_worker(run, id);
  unsigned i;

  if (w == NULL)
    return;
  for (i = 0; i < w->n_pending; i++) {
    run_fail(run, w->pending_step[i], "worker %u %s before the fault "
             "reached it", id, why);
    cJSON_Delete(w->pending[i]);
    w->pending[i] = NULL;
  }
  w->n_pending = 0;
}

void step_tick(harness_run_t *run)
{
  unsigned i;

  for (i = 0; i < run->n_workers; i++) {
    run_worker_t *w = &run->workers[i];
    if (w->n_pending > 0 &&
        uv_hrtime() - w->pending_since >
            run_scaled(run, FAULT_CONNECT_MS) * 1000000ull)
      drop_pending(run, i + 1, "never connected its control socket");
  }
}

/* ---------------------------------------------------------------------- */
/* Load                                                                    */

static void on_load_request(load_t *load, const load_record_t *r, void *arg)
{
  harness_run_t *run = arg;
  cJSON *j;

  (void)load;
  if (r->outcome == LOAD_OK || r->outcome == LOAD_CANCELLED)
    return;
  /* every failure and every retry is in the trace, up to a bound */
  if (++run->load_failed_records > 5000)
    return;
  j = cJSON_CreateObject();
  if (j == NULL)
    return;
  cJSON_AddStringToObject(j, "type", "load");
  cJSON_AddStringToObject(j, "what", "request");
  cJSON_AddNumberToObject(j, "t", (double)r->end_ns);
  cJSON_AddNumberToObject(j, "start", (double)r->start_ns);
  cJSON_AddNumberToObject(j, "seq", (double)r->seq);
  cJSON_AddStringToObject(j, "outcome", load_outcome_name(r->outcome));
  cJSON_AddBoolToObject(j, "retried", r->retried);
  if (r->status != 0)
    cJSON_AddNumberToObject(j, "status", r->status);
  if (r->worker != 0)
    cJSON_AddNumberToObject(j, "served_by", r->worker);
  cJSON_AddNumberToObject(j, "connection", (double)r->conn_seq);
  if (r->error != 0)
    cJSON_AddStringToObject(j, "error", uv_err_name(r->error));
  run_record(run, j);
}

static void on_load_done(load_t *load, void *arg)
{
  harness_run_t *run = arg;
  harness_load_totals_t *t = &run->res.load;
  load_counters_t c;
  cJSON *j, *per;
  unsigned id;

  load_counters(load, &c);
  t->ran = true;
  t->sent += c.finished - c.outcome[LOAD_CANCELLED];
  t->ok += c.outcome[LOAD_OK];
  t->retried += c.outcome[LOAD_RETRIED];
  t->refused += c.outcome[LOAD_REFUSED];
  t->reset += c.outcome[LOAD_RESET];
  t->timeout += c.outcome[LOAD_TIMEOUT];
  t->bad_status += c.outcome[LOAD_BAD_STATUS];
  t->truncated += c.outcome[LOAD_TRUNCATED];
  t->error += c.outcome[LOAD_ERROR];
  t->failed += c.failed;
  run->load_running = false;
  run->load_stopping = false;

  j = cJSON_CreateObject();
  if (j != NULL) {
    cJSON_AddStringToObject(j, "type", "load");
    cJSON_AddStringToObject(j, "what", "done");
    run_record(run, j);
  }
  j = cJSON_CreateObject();
  if (j != NULL) {
    cJSON_AddStringToObject(j, "type", "load");
    cJSON_AddStringToObject(j, "what", "totals");
    cJSON_AddNumberToObject(j, "sent", (double)t->sent);
    cJSON_AddNumberToObject(j, "ok", (double)t->ok);
    cJSON_AddNumberToObject(j, "retried", (double)t->retried);
    cJSON_AddNumberToObject(j, "refused", (double)t->refused);
    cJSON_AddNumberToObject(j, "reset", (double)t->reset);
    cJSON_AddNumberToObject(j, "timeout", (double)t->timeout);
    cJSON_AddNumberToObject(j, "bad_status", (double)t->bad_status);
    cJSON_AddNumberToObject(j, "truncated", (double)t->truncated);
    cJSON_AddNumberToObject(j, "error", (double)t->error);
    cJSON_AddNumberToObject(j, "failed", (double)t->failed);
    cJSON_AddNumberToObject(j, "connections", (double)c.connections);
    per = cJSON_AddObjectToObject(j, "served_by");
    for (id = 1; id <= run->last_forked && id <= LOAD_MAX_WORKER_ID; id++) {
      uint64_t n = load_worker_responses(load, id);
      char key[16];
      if (n == 0)
        continue;
      snprintf(key, sizeof(key), "%u", id);
      cJSON_AddNumberToObject(per, key, (double)n);
    }
    run_record(run, j);
  }
  if (run->phase == PHASE_STEPS && run->wait == WAIT_LOAD)
    step_done(run);
  else
    run_kick(run);
  /* a load stopped by the end of a killed run: the close may proceed */
  if (run->phase == PHASE_CLOSE)
    run_maybe_finish(run);
}

static int load_start_action(harness_run_t *run, const harness_step_t *st)
{
  const harness_load_spec_t *ls = &st->load;
  load_opts_t o;
  int port = ls->port_index < RUN_MAX_SERVERS ? run->ports[ls->port_index]
                                              : 0;
  uint64_t left_ms;
  cJSON *j;
  int rc;

  if (run->load_running) {
    run_fail(run, st, "a load is already running");
    return ACT_FAIL;
  }
  if (port <= 0) {
    run_fail(run, st, "no port is known for server %u: no worker listens "
             "on it yet (wait for listening first)", ls->port_index);
    return ACT_FAIL;
  }
  if (run->load == NULL && (rc = load_new(&run->load)) != 0) {
    run_fail(run, st, "cannot create the load: %s", uv_strerror(rc));
    return ACT_FAIL;
  }
  memset(&o, 0, sizeof(o));
  o.host = "127.0.0.1";
  o.port = port;
  o.path = ls->path;
  o.connections = ls->connections;
  o.keepalive = ls->keepalive;
  o.requests = ls->requests;
  /* bounded by its own settings, and by the run's deadline at most */
  left_ms = run_scaled(run, run->s->timeout_ms);
  o.duration_ms = (unsigned)(ls->duration_ms > 0 ? (uint64_t)ls->duration_ms
                                                 : left_ms);
  if (o.duration_ms > LOAD_MAX_DURATION_MS)
    o.duration_ms = LOAD_MAX_DURATION_MS;
  o.timeout_ms = (unsigned)run_scaled(run, ls->timeout_ms);
  o.request_cb = on_load_request;
  o.arg = run;
  rc = load_start(run->load, run->loop, &o, on_load_done);
  if (rc != 0) {
    run_fail(run, st, "cannot start the load: %s", uv_strerror(rc));
    return ACT_FAIL;
  }
  run->load_running = true;
  j = cJSON_CreateObject();
  if (j != NULL) {
    cJSON_AddStringToObject(j, "type", "load");
    cJSON_AddStringToObject(j, "what", "start");
    cJSON_AddNumberToObject(j, "port", port);
    cJSON_AddNumberToObject(j, "connections", o.connections);
    cJSON_AddBoolToObject(j, "keepalive", o.keepalive);
    cJSON_AddNumberToObject(j, "line", st->line);
    run_record(run, j);
  }
  return ACT_DONE;
}

void step_load_stop(harness_run_t *run)
{
  if (!run->load_running || run->load_stopping)
    return;
  run->load_stopping = true;
  if (load_stop(run->load) != 0)
    run->load_stopping = false;
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

static int connect_action(harness_run_t *run, const harness_step_t *st)
{
  int port = st->port > 0 ? st->port : run->ports[0];
  struct sockaddr_in addr;
  run_timer_t *rt;
  unsigned i;

  if (port <= 0) {
    run_fail(run, st, "no port is known yet: no worker listens");
    return ACT_FAIL;
  }
  rt = new_rt(run, TIMER_CONNECT, st, 0);
  if (rt == NULL)
    return ACT_FAIL;
  rt->tcp = calloc(st->count, sizeof(*rt->tcp));
  if (rt->tcp == NULL) {
    close_rt(rt);
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
    run_action(run, "connect", st, 0, x);
  }
  uv_timer_start(&rt->timer, on_rt_timer, (uint64_t)st->ms, 0);
  return ACT_DONE;
}

/* ---------------------------------------------------------------------- */
/* Actions                                                                 */

static cJSON *command(const char *name)
{
  cJSON *c = cJSON_CreateObject();

  if (c != NULL)
    cJSON_AddStringToObject(c, "cmd", name);
  return c;
}

static int send_command(harness_run_t *run, const harness_step_t *st,
                        cJSON *cmd, bool trigger, cJSON *behaviour)
{
  int rc = run_command(run, cmd, trigger ? REQ_TRIGGER : REQ_STEP, st,
                       behaviour);
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(cmd, "cmd");

  if (rc != 0) {
    run_fail(run, st, "cannot send '%s' to the primary: %s",
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

static cJSON *fork_command(const harness_run_t *run, const harness_step_t *st)
{
  cJSON *cmd = command("fork");
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

static int exec_action(harness_run_t *run, const harness_step_t *st,
                       unsigned trig, bool trigger)
{
  cJSON *cmd, *x;
  unsigned id = 0;
  int pid;

  if (resolve(run, st, st->worker, trig, &id) != 0)
    return ACT_FAIL;

  switch (st->kind) {
  case HARNESS_STEP_FORK:
    if (trigger) {
      unsigned i;
      for (i = 0; i < st->count; i++) {
        cmd = fork_command(run, st);
        if (cmd == NULL ||
            send_command(run, st, cmd, true,
                         st->behaviour ? st->behaviour
                                       : run->s->behaviour) != ACT_DONE)
          return ACT_FAIL;
      }
      return ACT_DONE;
    }
    run->fork_left = st->count;
    cmd = fork_command(run, st);
    return cmd ? send_command(run, st, cmd, false,
                              st->behaviour ? st->behaviour
                                            : run->s->behaviour)
               : ACT_FAIL;
  case HARNESS_STEP_SEND:
    cmd = command("send");
    cJSON_AddNumberToObject(cmd, "worker", id);
    cJSON_AddItemToObject(cmd, "message", cJSON_Duplicate(st->message, true));
    run_action(run, "send", st, id, NULL);
    return send_command(run, st, cmd, trigger, NULL);
  case HARNESS_STEP_DISCONNECT:
    cmd = command("disconnect");
    cJSON_AddNumberToObject(cmd, "worker", id);
    run_action(run, "disconnect", st, id, NULL);
    return send_command(run, st, cmd, trigger, NULL);
  case HARNESS_STEP_KILL:
    cmd = command("kill");
    cJSON_AddNumberToObject(cmd, "worker", id);
    cJSON_AddStringToObject(cmd, "signal", harness_signal_name(st->signal));
    x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "signal", harness_signal_name(st->signal));
    run_action(run, "kill", st, id, x);
    return send_command(run, st, cmd, trigger, NULL);
  case HARNESS_STEP_CLUSTER_DISCONNECT:
    run_action(run, "cluster-disconnect", st, 0, NULL);
    return send_command(run, st, command("cluster-disconnect"), trigger,
                        NULL);
  case HARNESS_STEP_ROLLING_RESTART:
    cmd = command("rolling-restart");
    cJSON_AddNumberToObject(cmd, "timeout_ms",
                            (double)run_scaled(run, st->ms));
    run_action(run, "rolling-restart", st, 0, NULL);
    run->restart_wait_target = run->restart_done_count + 1;
    return send_command(run, st, cmd, trigger, NULL);
  case HARNESS_STEP_SHUTDOWN:
    cmd = command("shutdown");
    cJSON_AddNumberToObject(cmd, "timeout_ms",
                            (double)run_scaled(run, st->ms));
    run_action(run, "shutdown", st, 0, NULL);
    run->shutdown_sent = true;
    return send_command(run, st, cmd, trigger, NULL);
  case HARNESS_STEP_SIGNAL:
  case HARNESS_STEP_PAUSE: {
    int sig = st->kind == HARNESS_STEP_PAUSE ? SIGSTOP : st->signal;
    const char *sname = harness_signal_name(sig);
    x = cJSON_CreateObject();
    if (st->worker.kind == HARNESS_W_PRIMARY) {
      pid = run->hello_pid > 0 ? run->hello_pid : run->agent_pid;
      if (run->agent_exited) {
        cJSON_Delete(x);
        run_fail(run, st, "the primary has already exited");
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
    if (st->worker.kind == HARNESS_W_PRIMARY &&
        (sig == SIGTERM || sig == SIGINT || sig == SIGKILL))
      run->shutdown_sent = true;
    run_action(run, st->kind == HARNESS_STEP_PAUSE ? "pause" : "signal", st,
               id, x);
    if (kill(pid, sig) != 0) {
      run_fail(run, st, "kill(%d, %s): %s", pid, sname, strerror(errno));
      return ACT_FAIL;
    }
    if (st->kind == HARNESS_STEP_PAUSE) {
      run_timer_t *rt = new_rt(run, TIMER_RESUME, st, id);
      if (rt == NULL) {
        (void)kill(pid, SIGCONT);
        return ACT_FAIL;
      }
      rt->pid = pid;
      uv_timer_start(&rt->timer, on_rt_timer, (uint64_t)st->ms, 0);
    }
    return ACT_DONE;
  }
  case HARNESS_STEP_CRASH:
    cmd = command("crash");
    cJSON_AddNumberToObject(cmd, "code", st->code);
    return fault(run, st, id, cmd);
  case HARNESS_STEP_THROW:
    return fault(run, st, id, command("throw"));
  case HARNESS_STEP_HANG:
    cmd = command("hang");
    cJSON_AddNumberToObject(cmd, "ms", (double)st->ms);
    return fault(run, st, id, cmd);
  case HARNESS_STEP_IPC_DISCONNECT:
    return fault(run, st, id, command("ipc-disconnect"));
  case HARNESS_STEP_WORKER_KILL:
    return fault(run, st, id, command("kill"));
  case HARNESS_STEP_WORKER_DISCONNECT:
    return fault(run, st, id, command("disconnect"));
  case HARNESS_STEP_CLOSE_SERVERS:
    return fault(run, st, id, command("close-servers"));
  case HARNESS_STEP_WORKER_SEND:
    cmd = command("send");
    cJSON_AddItemToObject(cmd, "message", cJSON_Duplicate(st->message, true));
    return fault(run, st, id, cmd);
  case HARNESS_STEP_HOLD: {
    int port = st->port > 0 ? st->port : run->ports[0];
    if (port <= 0) {
      run_fail(run, st, "no port is known yet: no worker listens");
      return ACT_FAIL;
    }
    cmd = command("hold");
    cJSON_AddNumberToObject(cmd, "connections", st->count);
    cJSON_AddNumberToObject(cmd, "port", port);
    return fault(run, st, id, cmd);
  }
  case HARNESS_STEP_CONNECT:
    return connect_action(run, st);
  case HARNESS_STEP_LOAD_START:
    return load_start_action(run, st);
  case HARNESS_STEP_LOAD_STOP:
    if (!run->load_running)
      return ACT_DONE;
    if (!st->wait_done)
      step_load_stop(run);
    if (trigger)
      return ACT_DONE;
    run->wait = WAIT_LOAD;
    return ACT_ASYNC;
  default:
    run_fail(run, st, "'%s' cannot run here", harness_step_name(st->kind));
    return ACT_FAIL;
  }
}

/* ---------------------------------------------------------------------- */
/* Triggers                                                                */

static void run_trigger_actions(harness_run_t *run, const harness_step_t *st,
                                unsigned worker)
{
  size_t i;

  for (i = 0; i < st->n_actions; i++)
    if (exec_action(run, &st->actions[i], worker, true) == ACT_FAIL)
      break;
}

static void on_rt_timer(uv_timer_t *t)
{
  run_timer_t *rt = t->data;
  harness_run_t *run = rt->run;

  switch (rt->kind) {
  case TIMER_TRIGGER:
    rt->fired = true;
    if (run->phase == PHASE_STEPS)
      run_trigger_actions(run, rt->step, rt->worker);
    break;
  case TIMER_RESUME:
    if (!rt->fired) {
      rt->fired = true;
      (void)kill(rt->pid, SIGCONT);
      run_action(run, "resume", rt->step, rt->worker, NULL);
    }
    break;
  case TIMER_CONNECT:
    run_action(run, "disconnect-clients", rt->step, 0, NULL);
    break;
  }
  close_rt(rt);
}

static void fire(harness_run_t *run, run_trigger_t *tg, unsigned worker)
{
  const harness_step_t *st = tg->st;
  uint64_t delay = (uint64_t)st->after_ms;
  run_timer_t *rt;
  cJSON *x;

  if (st->jitter_ms > 0)
    delay += next_random(run) % (uint64_t)(st->jitter_ms + 1);
  x = cJSON_CreateObject();
  cJSON_AddStringToObject(x, "on", harness_ev_name(st->event));
  cJSON_AddNumberToObject(x, "delay_ms", (double)delay);
  run_action(run, "trigger", st, worker, x);
  /* always from a timer: an action never runs inside the record that
   * fired it */
  rt = new_rt(run, TIMER_TRIGGER, st, worker);
  if (rt == NULL)
    return;
  uv_timer_start(&rt->timer, on_rt_timer, delay, 0);
}

static void triggers_on_record(harness_run_t *run, const harness_event_t *e)
{
  size_t i;

  for (i = 0; i < run->n_triggers; i++) {
    run_trigger_t *tg = &run->triggers[i];
    if (!tg->armed ||
        !harness_event_is(e, tg->st->event, tg->st->cluster_emitter) ||
        (tg->worker != 0 && e->worker != tg->worker))
      continue;
    if (++tg->seen < tg->st->count)
      continue;
    tg->seen = 0;
    tg->fired++;
    if (tg->st->times != 0 && tg->fired >= tg->st->times)
      tg->armed = false;
    fire(run, tg, e->worker);
  }
}

void step_stop_all(harness_run_t *run)
{
  run_timer_t *rt;
  size_t i;

  for (i = 0; i < run->n_triggers; i++)
    run->triggers[i].armed = false;
  /* delayed trigger actions are cancelled; paused processes resumed */
  for (rt = run->timers; rt; rt = rt->next)
    if (rt->kind != TIMER_CONNECT || run->phase >= PHASE_KILL)
      close_rt(rt);
  run->wait = WAIT_NONE;
}

/* ---------------------------------------------------------------------- */
/* The step sequence                                                       */

static unsigned wait_count(const harness_run_t *run, const harness_step_t *st,
                           unsigned worker)
{
  int slot;

  switch (st->event) {
  case HARNESS_EV_SETUP:
  case HARNESS_EV_FORK:
  case HARNESS_EV_DISCONNECT_CALLBACK:
    slot = 1;
    break;
  default:
    slot = st->cluster_emitter ? 1 : 0;
  }
  if (worker == 0)
    return run->counts_all[st->event][slot];
  if (worker > run->n_workers)
    return 0;
  return run->workers[worker - 1].counts[st->event][slot];
}

static void step_done(harness_run_t *run)
{
  uv_timer_stop(&run->step_timer);
  run->wait = WAIT_NONE;
  run->cur = NULL;
  run->step_i++;
  run_kick(run);
}

static void step_failed(harness_run_t *run)
{
  uv_timer_stop(&run->step_timer);
  run->wait = WAIT_NONE;
  run_end(run);
}

static void arm_wait_timer(harness_run_t *run, uint64_t ms);

static int exec_step(harness_run_t *run, const harness_step_t *st)
{
  unsigned id = 0;

  switch (st->kind) {
  case HARNESS_STEP_WAIT:
    if (resolve(run, st, st->worker, 0, &id) != 0)
      return ACT_FAIL;
    run->wait_worker = id;
    if (wait_count(run, st, id) >= st->count)
      return ACT_DONE;
    run->wait = WAIT_EVENT;
    arm_wait_timer(run, run_scaled(run, st->ms));
    return ACT_ASYNC;
  case HARNESS_STEP_SLEEP:
    run->wait = WAIT_SLEEP;
    arm_wait_timer(run, (uint64_t)st->ms);
    return ACT_ASYNC;
  case HARNESS_STEP_TRIGGER: {
    run_trigger_t *tg;
    run_trigger_t *b = realloc(run->triggers,
                               (run->n_triggers + 1) * sizeof(*b));
    if (b == NULL)
      return ACT_FAIL;
    run->triggers = b;
    tg = &b[run->n_triggers++];
    memset(tg, 0, sizeof(*tg));
    tg->st = st;
    tg->armed = true;
    if (resolve(run, st, st->worker, 0, &id) != 0)
      return ACT_FAIL;
    tg->worker = id;
    run_action(run, "arm", st, id, NULL);
    return ACT_DONE;
  }
  default: {
    int rc = exec_action(run, st, 0, false);
    if (rc == ACT_ASYNC && run->wait == WAIT_REPLY)
      arm_wait_timer(run, run_scaled(run, REPLY_MS));
    else if (rc == ACT_ASYNC && run->wait == WAIT_LOAD)
      arm_wait_timer(run, run_scaled(run, 10000));
    return rc;
  }
  }
}

static void on_step_deadline(uv_timer_t *t)
{
  step_on_timeout(t->data);
}

static void arm_wait_timer(harness_run_t *run, uint64_t ms)
{
  uv_timer_start(&run->step_timer, on_step_deadline, ms, 0);
}

static cJSON *setup_command(const harness_run_t *run)
{
  const harness_scenario_t *s = run->s;
  cJSON *cmd = command("setup");
  cJSON *settings, *env;
  char *b;

  if (cmd == NULL)
    return NULL;
  if (s->scheduling != NULL)
    cJSON_AddStringToObject(cmd, "scheduling", s->scheduling);
  settings = cJSON_Duplicate(s->settings, true);
  env = cJSON_GetObjectItemCaseSensitive(settings, "env");
  if (env == NULL)
    env = cJSON_AddObjectToObject(settings, "env");
  b = cJSON_PrintUnformatted(s->behaviour);
  if (b != NULL) {
    cJSON_AddStringToObject(env, "CLUSTERSIM_WORKER", b);
    free(b);
  }
  cJSON_AddItemToObject(cmd, "settings", settings);
  return cmd;
}

static void setup_continue(harness_run_t *run)
{
  cJSON *cmd;

  for (;;) {
    switch (run->setup_state) {
    case 0:
      run->setup_state = 1;
      cmd = setup_command(run);
      if (cmd == NULL || run_command(run, cmd, REQ_SETUP, NULL, NULL) != 0) {
        cJSON_Delete(cmd);
        run_error(run, "cannot send setup to the primary");
        run_end(run);
        return;
      }
      cJSON_Delete(cmd);
      arm_wait_timer(run, run_scaled(run, REPLY_MS));
      return;
    case 1:
      return; /* waiting for the setup reply */
    case 2:
      if (run->s->policy == NULL) {
        run->setup_state = 4;
        continue;
      }
      run->setup_state = 3;
      cmd = cJSON_Duplicate(run->s->policy, true);
      if (cmd == NULL || run_command(run, cmd, REQ_POLICY, NULL, NULL) != 0) {
        cJSON_Delete(cmd);
        run_error(run, "cannot send the policy to the primary");
        run_end(run);
        return;
      }
      cJSON_Delete(cmd);
      arm_wait_timer(run, run_scaled(run, REPLY_MS));
      return;
    case 3:
      return; /* waiting for the policy reply */
    case 4:
      run->setup_state = 5;
      run->initial_forks_left = run->s->workers;
      /* fall through */
    case 5:
      if (run->initial_forks_left == 0) {
        run->setup_state = 7;
        continue;
      }
      run->setup_state = 6;
      cmd = fork_command(run, NULL);
      if (cmd == NULL ||
          run_command(run, cmd, REQ_INITIAL_FORK, NULL,
                      run->s->behaviour) != 0) {
        cJSON_Delete(cmd);
        run_error(run, "cannot send fork to the primary");
        run_end(run);
        return;
      }
      cJSON_Delete(cmd);
      arm_wait_timer(run, run_scaled(run, REPLY_MS));
      return;
    case 6:
      return; /* waiting for a fork reply */
    default:
      uv_timer_stop(&run->step_timer);
      run->phase = PHASE_STEPS;
      run->step_i = 0;
      run->wait = WAIT_NONE;
      return;
    }
  }
}

void step_continue(harness_run_t *run)
{
  if (run->phase == PHASE_SETUP) {
    setup_continue(run);
    if (run->phase != PHASE_STEPS)
      return;
  }
  while (run->phase == PHASE_STEPS && run->wait == WAIT_NONE) {
    const harness_step_t *st;
    int rc;

    if (run->step_i >= run->s->n_steps) {
      run_end(run);
      return;
    }
    st = &run->s->steps[run->step_i];
    run->cur = st;
    rc = exec_step(run, st);
    if (rc == ACT_FAIL) {
      step_failed(run);
      return;
    }
    if (rc == ACT_ASYNC)
      return;
    run->step_i++;
  }
}

/* ---------------------------------------------------------------------- */
/* Events from the run                                                     */

static void record_fork(harness_run_t *run, run_req_t *req,
                        const cJSON *reply)
{
  const cJSON *w = cJSON_GetObjectItemCaseSensitive(reply, "worker");
  const cJSON *ol;
  cJSON *x;

  if (!cJSON_IsNumber(w))
    return;
  x = cJSON_CreateObject();
  if (x == NULL)
    return;
  /* dated when it was sent: it comes before anything of the worker */
  cJSON_AddNumberToObject(x, "t", (double)req->sent);
  ol = cJSON_GetObjectItemCaseSensitive(req->behaviour, "on_listening");
  if (cJSON_IsString(ol))
    cJSON_AddStringToObject(x, "on_listening", ol->valuestring);
  run_action(run, "fork", req->st, (unsigned)w->valuedouble, x);
  if ((unsigned)w->valuedouble > run->last_forked)
    run->last_forked = (unsigned)w->valuedouble;
  {
    run_worker_t *rw = run_worker(run, (unsigned)w->valuedouble);
    if (rw != NULL)
      rw->known = true;
  }
}

void step_on_reply(harness_run_t *run, run_req_t *req, const cJSON *reply)
{
  bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"));
  const cJSON *err = cJSON_GetObjectItemCaseSensitive(reply, "error");
  const char *why = cJSON_IsString(err) ? err->valuestring : "refused";

  if (ok && strcmp(req->cmd, "fork") == 0)
    record_fork(run, req, reply);
  switch (req->kind) {
  case REQ_SETUP:
  case REQ_POLICY:
  case REQ_INITIAL_FORK:
    if (run->phase != PHASE_SETUP)
      return;
    if (!ok) {
      /* a scenario the agent cannot even set up cannot be run */
      run_error(run, "the primary refused %s: %s", req->cmd, why);
      run_end(run);
      return;
    }
    uv_timer_stop(&run->step_timer);
    if (req->kind == REQ_INITIAL_FORK)
      run->initial_forks_left--;
    run->setup_state = req->kind == REQ_SETUP ? 2
                       : req->kind == REQ_POLICY ? 4 : 5;
    run_kick(run);
    return;
  case REQ_TRIGGER:
    if (!ok)
      run_fail(run, req->st, "the primary refused %s: %s", req->cmd, why);
    return;
  case REQ_END:
    return;
  case REQ_STEP:
    break;
  }
  if (run->phase != PHASE_STEPS || run->wait != WAIT_REPLY ||
      req->st != run->cur)
    return;
  if (!ok) {
    run_fail(run, req->st, "the primary refused %s: %s", req->cmd, why);
    step_failed(run);
    return;
  }
  switch (req->st->kind) {
  case HARNESS_STEP_FORK:
    if (--run->fork_left > 0) {
      cJSON *cmd = fork_command(run, req->st);
      if (cmd == NULL ||
          run_command(run, cmd, REQ_STEP, req->st,
                      req->st->behaviour ? req->st->behaviour
                                         : run->s->behaviour) != 0) {
        cJSON_Delete(cmd);
        run_fail(run, req->st, "cannot send fork to the primary");
        step_failed(run);
        return;
      }
      cJSON_Delete(cmd);
      arm_wait_timer(run, run_scaled(run, REPLY_MS));
      return;
    }
    break;
  case HARNESS_STEP_ROLLING_RESTART:
    if (req->st->wait_done &&
        run->restart_done_count < run->restart_wait_target) {
      run->wait = WAIT_RESTART;
      arm_wait_timer(run, run_scaled(run, req->st->after_ms));
      return;
    }
    break;
  case HARNESS_STEP_SHUTDOWN:
    if (req->st->wait_done && !run->agent_exited) {
      run->wait = WAIT_EXIT;
      arm_wait_timer(run, run_scaled(run, req->st->after_ms));
      return;
    }
    break;
  default:
    break;
  }
  step_done(run);
}

void step_on_record(harness_run_t *run, const harness_event_t *e)
{
  const cJSON *from;

  /* a worker's hello: faults waiting for it can go */
  if (e->src == HARNESS_SRC_LOG && strcmp(e->name, "hello") == 0) {
    from = cJSON_GetObjectItemCaseSensitive(e->json, "from");
    if (cJSON_IsString(from) && strcmp(from->valuestring, "worker") == 0)
      flush_pending(run, e->worker);
  }
  if (harness_event_is(e, HARNESS_EV_EXIT, false))
    drop_pending(run, e->worker, "exited");
  if (run->phase != PHASE_STEPS)
    return;
  triggers_on_record(run, e);
  switch (run->wait) {
  case WAIT_EVENT:
    if (run->cur != NULL &&
        wait_count(run, run->cur, run->wait_worker) >= run->cur->count)
      step_done(run);
    break;
  case WAIT_RESTART:
    if (e->ev == HARNESS_EV_RESTART_FAILED ||
        (e->ev == HARNESS_EV_RESTART_DONE &&
         cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(e->json, "ok")))) {
      const cJSON *why = cJSON_GetObjectItemCaseSensitive(e->json, "error");
      run_fail(run, run->cur, "the rolling restart failed: %s",
               cJSON_IsString(why) ? why->valuestring : "no reason given");
      step_failed(run);
    } else if (run->restart_done_count >= run->restart_wait_target) {
      step_done(run);
    }
    break;
  default:
    break;
  }
}

void step_on_agent_exit(harness_run_t *run)
{
  run_req_t *r;

  if (run->phase != PHASE_STEPS)
    return;
  /* the requests of the dead agent are never answered */
  while ((r = run->reqs) != NULL) {
    run->reqs = r->next;
    if (run->wait == WAIT_REPLY && r->st == run->cur && r->st != NULL) {
      run_fail(run, r->st, "the primary exited before it answered '%s'",
               r->cmd);
      free(r);
      while ((r = run->reqs) != NULL) {
        run->reqs = r->next;
        free(r);
      }
      step_failed(run);
      return;
    }
    free(r);
  }
  if (run->wait == WAIT_EXIT)
    step_done(run);
  else if (run->wait == WAIT_RESTART) {
    run_fail(run, run->cur, "the primary exited during the rolling restart");
    step_failed(run);
  }
}

void step_on_timeout(harness_run_t *run)
{
  const harness_step_t *st = run->cur;
  char wname[32];

  switch (run->phase) {
  case PHASE_START:
    run_error(run, "the agent did not connect to the control socket "
              "within %.3f s", (double)run_scaled(run, 10000) / 1e3);
    run_abort_error(run);
    return;
  case PHASE_SETUP:
    run_error(run, "the primary did not answer its setup within %.3f s",
              (double)run_scaled(run, REPLY_MS) / 1e3);
    run_abort_error(run);
    return;
  case PHASE_STEPS:
    break;
  default:
    return;
  }
  switch (run->wait) {
  case WAIT_SLEEP:
    step_done(run);
    return;
  case WAIT_EVENT:
    if (run->wait_worker != 0)
      snprintf(wname, sizeof(wname), "worker %u", run->wait_worker);
    else
      snprintf(wname, sizeof(wname), "any worker");
    run_fail(run, st, "waited %.3f s for %u %s event%s of %s, saw %u",
             (double)run_scaled(run, st->ms) / 1e3, st->count,
             harness_ev_name(st->event), st->count == 1 ? "" : "s", wname,
             wait_count(run, st, run->wait_worker));
    break;
  case WAIT_REPLY:
    run_fail(run, st, "the primary did not answer within %.3f s",
             (double)run_scaled(run, REPLY_MS) / 1e3);
    break;
  case WAIT_RESTART:
    run_fail(run, st, "the rolling restart did not finish within %.3f s",
             (double)run_scaled(run, st->after_ms) / 1e3);
    break;
  case WAIT_EXIT:
    run_fail(run, st, "the primary did not exit within %.3f s",
             (double)run_scaled(run, st->after_ms) / 1e3);
    break;
  case WAIT_LOAD:
    run_fail(run, st, "the load did not stop in time");
    break;
  default:
    return;
  }
  step_failed(run);
}
