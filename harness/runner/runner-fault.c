/*
 * Step handlers for faults a worker injects into itself (crash, throw,
 * hang, ...): a message on the worker's control connection. A fault for a
 * worker that has not connected yet (a trigger on `fork` or `online` can be
 * that fast) is held until its hello, within a bound. Every fault is
 * numbered, so that a worker's refusal names its step.
 */
#include "runner-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a fault may wait for its worker's control connection. */
#define FAULT_CONNECT_MS 3000
/* Fault numbers a run hands out at most. */
#define MAX_FAULTS 100000

/* Fault numbers are 1, 2, 3... per run, apart from the agent's request
 * numbers (they travel on other connections). 0 when out of numbers. */
static unsigned fault_number(runner_run_t *run, const scenario_step_t *st)
{
  runner__faults_t *f = &run->faults;
  const scenario_step_t **b;

  if (f->n_sent >= MAX_FAULTS)
    return 0;
  b = realloc(f->sent, (f->n_sent + 1) * sizeof(*b));
  if (b == NULL)
    return 0;
  f->sent = b;
  b[f->n_sent++] = st;
  return f->n_sent;
}

static unsigned held_for(const runner_run_t *run, unsigned id)
{
  const runner__faults_t *f = &run->faults;
  unsigned n = 0;
  size_t i;

  for (i = 0; i < f->n_held; i++)
    n += f->held[i].worker == id;
  return n;
}

/* Holds `msg` (owned) for worker `id`; a failure is noted when it cannot. */
static int hold(runner_run_t *run, const scenario_step_t *st, unsigned id,
                cJSON *msg)
{
  runner__faults_t *f = &run->faults;
  runner__held_t *h;

  if (held_for(run, id) >= RUNNER__MAX_HELD) {
    cJSON_Delete(msg);
    runner__fail(run, st, "too many faults wait for worker %u", id);
    return RUNNER__STEP_FAILED;
  }
  if (f->n_held == f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 8;
    runner__held_t *b = realloc(f->held, cap * sizeof(*b));
    if (b == NULL) {
      cJSON_Delete(msg);
      return RUNNER__STEP_FAILED;
    }
    f->held = b;
    f->cap = cap;
  }
  h = &f->held[f->n_held++];
  h->worker = id;
  h->msg = msg;
  h->st = st;
  h->since = uv_hrtime();
  return RUNNER__WAIT_NONE;
}

/* What the trace says of a fault besides its name: a message sent. */
static cJSON *fault_record(const cJSON *msg)
{
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(msg, "message");
  cJSON *x = cJSON_CreateObject();

  if (x != NULL && m != NULL)
    cJSON_AddItemToObject(x, "message", cJSON_Duplicate(m, true));
  return x;
}

/* A fault (or a signal) for a worker already gone: with `tolerate: gone`
 * it is recorded as such, and the step goes on; else a failure. */
int runner__fault_gone(runner_run_t *run, const scenario_step_t *st,
                       unsigned id, const char *why)
{
  cJSON *x;

  if (!st->tolerate_gone) {
    runner__fail(run, st, "worker %u %s", id, why);
    return RUNNER__STEP_FAILED;
  }
  x = cJSON_CreateObject();
  if (x != NULL) {
    cJSON_AddStringToObject(x, "skipped", scenario_step_name(st->kind));
    cJSON_AddStringToObject(x, "why", why);
  }
  runner__queue_action(run, "gone", st, id, x);
  return RUNNER__WAIT_NONE;
}

/* Sends fault `msg` (owned) of step `st` to worker `id`, or holds it. */
static int fault(runner_run_t *run, const scenario_step_t *st, unsigned id,
                 cJSON *msg)
{
  runner__worker_t *w = runner__cluster_worker(run, id);
  unsigned n;
  cJSON *x;
  int rc;

  if (msg == NULL)
    return RUNNER__STEP_FAILED;
  if (w == NULL || w->exited) {
    cJSON_Delete(msg);
    if (w == NULL) {
      runner__fail(run, st, "worker %u does not exist", id);
      return RUNNER__STEP_FAILED;
    }
    return runner__fault_gone(run, st, id, "has already exited");
  }
  if (st->probe)
    cJSON_AddBoolToObject(msg, "probe", true);
  /* a worker refuses an inapplicable fault with a reply to this number,
   * and a probe answers to it */
  n = fault_number(run, st);
  x = fault_record(msg);
  if (x != NULL)
    cJSON_AddNumberToObject(x, "req", n);
  runner__queue_action(run, scenario_step_name(st->kind), st, id, x);
  cJSON_AddNumberToObject(msg, "req", n);
  rc = runner__control_send_worker(run, id, msg);
  if (rc == UV_ENOTCONN) {
    runner__cluster_expect(run, id);
    return hold(run, st, id, msg);
  }
  cJSON_Delete(msg);
  if (rc != 0) {
    runner__fail(run, st, "cannot reach worker %u: %s", id, uv_strerror(rc));
    return RUNNER__STEP_FAILED;
  }
  return RUNNER__WAIT_NONE;
}

/* Sends (send true) or fails everything held for worker `id`, in order.
 * Sending keeps what waits for a connection that is not there (any
 * more): its worker's exit or the tick fails it. */
static void release(runner_run_t *run, unsigned id, bool send,
                    const char *why)
{
  runner__faults_t *f = &run->faults;
  size_t i, k = 0;
  int rc;

  for (i = 0; i < f->n_held; i++) {
    runner__held_t *h = &f->held[i];
    rc = h->worker != id ? UV_ENOTCONN
         : send          ? runner__control_send_worker(run, id, h->msg)
                         : UV_ECANCELED;
    if (h->worker != id || (send && rc == UV_ENOTCONN)) {
      f->held[k++] = *h;
      continue;
    }
    if (!send && strcmp(why, "exited") == 0)
      (void)runner__fault_gone(run, h->st, id,
                               "exited before the fault reached it");
    else if (!send)
      runner__fail(run, h->st, "worker %u %s before the fault reached it", id,
                   why);
    else if (rc != 0)
      runner__fail(run, h->st, "cannot reach worker %u", id);
    cJSON_Delete(h->msg);
  }
  f->n_held = k;
}

void runner__faults_on_record(runner_run_t *run, const trace_event_t *e)
{
  const cJSON *from;

  if (e->worker == 0)
    return;
  if (e->src == TRACE_SRC_LOG && strcmp(e->name, "hello") == 0) {
    from = cJSON_GetObjectItemCaseSensitive(e->json, "from");
    if (cJSON_IsString(from) && strcmp(from->valuestring, "worker") == 0)
      release(run, e->worker, true, NULL);
  }
  if (trace_event_is(e, TRACE_EV_EXIT, false))
    release(run, e->worker, false, "exited");
}

void runner__faults_on_refusal(runner_run_t *run, unsigned worker,
                               const cJSON *msg)
{
  const cJSON *req = cJSON_GetObjectItemCaseSensitive(msg, "req");
  const cJSON *err = cJSON_GetObjectItemCaseSensitive(msg, "error");
  const scenario_step_t *st = NULL;
  unsigned n;

  if (cJSON_IsNumber(req) && req->valuedouble >= 1) {
    n = (unsigned)req->valuedouble;
    if (n <= run->faults.n_sent)
      st = run->faults.sent[n - 1];
  }
  runner__fail(run, st, "worker %u refused the fault: %s", worker,
               cJSON_IsString(err) ? err->valuestring : "no reason given");
}

void runner__faults_tick(runner_run_t *run)
{
  runner__faults_t *f = &run->faults;
  uint64_t bound = runner__scaled(run, FAULT_CONNECT_MS) * 1000000ull;
  uint64_t now = uv_hrtime();
  size_t i = 0;

  /* the first fault held for a worker is its oldest */
  while (i < f->n_held) {
    if (now - f->held[i].since > bound) {
      release(run, f->held[i].worker, false,
              "never connected its control socket");
      i = 0;
      continue;
    }
    i++;
  }
}

void runner__faults_free(runner_run_t *run)
{
  runner__faults_t *f = &run->faults;
  size_t i;

  for (i = 0; i < f->n_held; i++)
    cJSON_Delete(f->held[i].msg);
  free(f->held);
  free(f->sent);
  memset(f, 0, sizeof(*f));
}

/* ---------------------------------------------------------------------- */
/* The handlers                                                            */

static cJSON *fault_msg(const char *cmd)
{
  cJSON *msg = cJSON_CreateObject();

  if (msg != NULL)
    cJSON_AddStringToObject(msg, "cmd", cmd);
  return msg;
}

int runner__step_crash(runner_run_t *run, const scenario_step_t *st,
                       const runner__call_t *call)
{
  cJSON *msg = fault_msg("crash");

  if (msg != NULL)
    cJSON_AddNumberToObject(msg, "code", st->code);
  if (msg != NULL && st->ms > 0)
    cJSON_AddNumberToObject(msg, "hold_channel_ms", (double)st->ms);
  return fault(run, st, call->worker, msg);
}

int runner__step_throw(runner_run_t *run, const scenario_step_t *st,
                       const runner__call_t *call)
{
  return fault(run, st, call->worker, fault_msg("throw"));
}

int runner__step_hang(runner_run_t *run, const scenario_step_t *st,
                      const runner__call_t *call)
{
  cJSON *msg = fault_msg("hang");

  if (msg != NULL)
    cJSON_AddNumberToObject(msg, "ms", (double)st->ms);
  return fault(run, st, call->worker, msg);
}

int runner__step_ipc_disconnect(runner_run_t *run, const scenario_step_t *st,
                                const runner__call_t *call)
{
  return fault(run, st, call->worker, fault_msg("ipc-disconnect"));
}

int runner__step_worker_kill(runner_run_t *run, const scenario_step_t *st,
                             const runner__call_t *call)
{
  cJSON *msg = fault_msg("kill");

  /* cluster.worker.kill(signal): the worker ignores it, as Node does */
  if (msg != NULL && st->signal != 0)
    cJSON_AddStringToObject(msg, "signal", base_signal_name(st->signal));
  return fault(run, st, call->worker, msg);
}

int runner__step_timer(runner_run_t *run, const scenario_step_t *st,
                       const runner__call_t *call)
{
  cJSON *msg = fault_msg("timer");

  if (msg != NULL)
    cJSON_AddNumberToObject(msg, "ms", (double)st->ms);
  return fault(run, st, call->worker, msg);
}

int runner__step_worker_disconnect(runner_run_t *run,
                                   const scenario_step_t *st,
                                   const runner__call_t *call)
{
  return fault(run, st, call->worker, fault_msg("disconnect"));
}

int runner__step_close_servers(runner_run_t *run, const scenario_step_t *st,
                               const runner__call_t *call)
{
  return fault(run, st, call->worker, fault_msg("close-servers"));
}

int runner__step_worker_send(runner_run_t *run, const scenario_step_t *st,
                             const runner__call_t *call)
{
  cJSON *msg = fault_msg("send");

  if (msg != NULL)
    cJSON_AddItemToObject(msg, "message", cJSON_Duplicate(st->message, true));
  return fault(run, st, call->worker, msg);
}

/* The step's `port`, else the cluster's first server's; <= 0 (the step
 * failed) when no worker listens yet. */
static int fault_port(runner_run_t *run, const scenario_step_t *st)
{
  int port = st->port > 0 ? st->port : runner__cluster_port(run, 0);

  if (port <= 0)
    runner__fail(run, st, "no port is known yet: no worker listens");
  return port;
}

int runner__step_hold(runner_run_t *run, const scenario_step_t *st,
                      const runner__call_t *call)
{
  int port = fault_port(run, st);
  cJSON *msg;

  if (port <= 0)
    return RUNNER__STEP_FAILED;
  msg = fault_msg("hold");
  if (msg != NULL) {
    cJSON_AddNumberToObject(msg, "connections", st->count);
    cJSON_AddNumberToObject(msg, "port", port);
  }
  return fault(run, st, call->worker, msg);
}

/* The worker connects to `port` and sends the socket up with a message;
 * the primary holds it (docs/protocol.md section 2.2). */
int runner__step_worker_send_handle(runner_run_t *run,
                                    const scenario_step_t *st,
                                    const runner__call_t *call)
{
  int port = fault_port(run, st);
  cJSON *msg;

  if (port <= 0)
    return RUNNER__STEP_FAILED;
  msg = fault_msg("send-handle");
  if (msg != NULL) {
    cJSON_AddNumberToObject(msg, "port", port);
    if (st->message != NULL)
      cJSON_AddItemToObject(msg, "message",
                            cJSON_Duplicate(st->message, true));
  }
  return fault(run, st, call->worker, msg);
}

int runner__step_output(runner_run_t *run, const scenario_step_t *st,
                        const runner__call_t *call)
{
  cJSON *msg = fault_msg("output");

  if (msg != NULL) {
    cJSON_AddStringToObject(msg, "stream", st->to_stderr ? "stderr"
                                                         : "stdout");
    cJSON_AddStringToObject(msg, "line", st->text != NULL ? st->text : "");
    cJSON_AddNumberToObject(msg, "repeat", st->count);
  }
  return fault(run, st, call->worker, msg);
}
