/*
 * The bottom of a run: the queue of events that the dispatcher (runner.c)
 * hands out once per loop turn, the run's timers (whose expiries are
 * events too), the failures any part of the run may note, and the count
 * of open handles that the end of a run waits for.
 */
#include "runner-internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* The queue                                                               */

static void on_idle(uv_idle_t *h)
{
  /* nothing: an active idle handle only keeps the loop from blocking in
   * its poll while events wait for the check */
  (void)h;
}

void runner__queue_init(runner_run_t *run, uv_check_cb dispatch)
{
  runner__queue_t *q = &run->queue;

  uv_check_init(run->loop, &q->check);
  uv_idle_init(run->loop, &q->idle);
  q->check.data = q->idle.data = run;
  uv_check_start(&q->check, dispatch);
  q->open = true;
}

void runner__queue_wake(runner_run_t *run)
{
  if (run->queue.open)
    uv_idle_start(&run->queue.idle, on_idle);
}

void runner__queue_push(runner_run_t *run, runner__event_t *ev)
{
  runner__queue_t *q = &run->queue;

  if (ev->queued)
    return;
  ev->queued = true;
  ev->next = NULL;
  if (q->tail != NULL)
    q->tail->next = ev;
  else
    q->head = ev;
  q->tail = ev;
  runner__queue_wake(run);
}

runner__event_t *runner__queue_pop(runner_run_t *run)
{
  runner__queue_t *q = &run->queue;
  runner__event_t *ev = q->head;

  if (ev == NULL) {
    if (q->open)
      uv_idle_stop(&q->idle);
    return NULL;
  }
  q->head = ev->next;
  if (q->head == NULL)
    q->tail = NULL;
  ev->next = NULL;
  ev->queued = false;
  return ev;
}

runner__event_t *runner__event_new(runner__ev_kind_t kind)
{
  runner__event_t *ev = calloc(1, sizeof(*ev));

  if (ev != NULL)
    ev->kind = kind;
  return ev;
}

void runner__event_release(runner__event_t *ev)
{
  if (ev == NULL || ev->embedded)
    return;
  cJSON_Delete(ev->rec);
  free(ev->req);
  free(ev);
}

void runner__queue_record(runner_run_t *run, cJSON *rec)
{
  runner__event_t *ev;

  if (rec == NULL)
    return;
  /* the time it arrived: the trace is ordered by it, not by dispatch */
  if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(rec, "t")))
    cJSON_AddNumberToObject(rec, "t", (double)uv_hrtime());
  ev = runner__event_new(RUNNER__EV_RECORD);
  if (ev == NULL) {
    cJSON_Delete(rec);
    return;
  }
  ev->rec = rec;
  runner__queue_push(run, ev);
}

void runner__queue_action(runner_run_t *run, const char *name,
                          const scenario_step_t *st, unsigned worker,
                          cJSON *extra)
{
  cJSON *j = extra ? extra : cJSON_CreateObject();

  if (j == NULL)
    return;
  cJSON_AddStringToObject(j, "type", "action");
  cJSON_AddStringToObject(j, "action", name);
  /* when the harness acted, not when the dispatcher got to it */
  if (!cJSON_HasObjectItem(j, "t"))
    cJSON_AddNumberToObject(j, "t", (double)uv_hrtime());
  if (worker != 0)
    cJSON_AddNumberToObject(j, "worker", worker);
  if (st != NULL) {
    cJSON_AddStringToObject(j, "step", st->path);
    cJSON_AddNumberToObject(j, "line", st->line);
  }
  runner__queue_record(run, j);
}

static void on_queue_closed(uv_handle_t *h)
{
  runner_run_t *run = h->data;

  if (--run->queue.closing == 0)
    run->queue.closed(h);
}

void runner__queue_close(runner_run_t *run, uv_close_cb cb)
{
  runner__queue_t *q = &run->queue;

  if (!q->open)
    return;
  q->open = false;
  runner__queue_free(run);
  q->closed = cb;
  q->closing = 2;
  uv_close((uv_handle_t *)&q->check, on_queue_closed);
  uv_close((uv_handle_t *)&q->idle, on_queue_closed);
}

void runner__queue_free(runner_run_t *run)
{
  runner__event_t *ev;

  while ((ev = run->queue.head) != NULL) {
    run->queue.head = ev->next;
    ev->queued = false;
    runner__event_release(ev);
  }
  run->queue.tail = NULL;
}

/* ---------------------------------------------------------------------- */
/* Timers                                                                  */

static void on_timer(uv_timer_t *h)
{
  runner__timer_t *t = h->data;

  t->expired.gen = t->gen;
  runner__queue_push(t->run, &t->expired);
}

void runner__timers_init(runner_run_t *run)
{
  unsigned i;

  for (i = 0; i < RUNNER__TIMER_COUNT; i++) {
    runner__timer_t *t = &run->timers[i];
    uv_timer_init(run->loop, &t->handle);
    t->handle.data = t;
    t->run = run;
    t->expired.kind = RUNNER__EV_TIMER;
    t->expired.embedded = true;
    t->expired.timer = i;
    runner__handle_opened(run);
  }
  run->timers_open = true;
}

void runner__timer_start(runner_run_t *run, runner__timer_id_t id,
                         uint64_t ms, uint64_t repeat)
{
  runner__timer_t *t = &run->timers[id];

  if (!run->timers_open)
    return;
  t->gen++;
  uv_timer_start(&t->handle, on_timer, ms, repeat);
}

void runner__timer_stop(runner_run_t *run, runner__timer_id_t id)
{
  runner__timer_t *t = &run->timers[id];

  if (!run->timers_open)
    return;
  t->gen++;
  uv_timer_stop(&t->handle);
}

bool runner__timer_current(const runner_run_t *run,
                           const runner__event_t *ev)
{
  return run->timers_open && ev->timer < RUNNER__TIMER_COUNT &&
         ev->gen == run->timers[ev->timer].gen;
}

static void on_handle_closed(uv_handle_t *h)
{
  runner__handle_closed(h->data);
}

void runner__timers_close(runner_run_t *run)
{
  unsigned i;

  if (!run->timers_open)
    return;
  run->timers_open = false;
  for (i = 0; i < RUNNER__TIMER_COUNT; i++) {
    run->timers[i].gen++;
    run->timers[i].handle.data = run;
    uv_close((uv_handle_t *)&run->timers[i].handle, on_handle_closed);
  }
}

/* ---------------------------------------------------------------------- */
/* Failures, time, handles                                                 */

void runner__fail(runner_run_t *run, const scenario_step_t *st,
                  const char *fmt, ...)
{
  oracle_findings_t *f = &run->res.findings;
  va_list ap;
  char *msg;

  va_start(ap, fmt);
  msg = base_vasprintf(fmt, ap);
  va_end(ap);
  if (msg == NULL)
    return;
  if (st != NULL)
    oracle_findings_add(f, ORACLE_FINDING_FAIL, "step", 0, -1, st->line,
                        "%s:%u: %s %s: %s", run->s->file, st->line,
                        st->kind == SCENARIO_STEP_TRIGGER ? "trigger"
                                                          : "step",
                        scenario_step_name(st->kind), msg);
  else
    oracle_findings_add(f, ORACLE_FINDING_FAIL, "run", 0, -1, 0, "%s", msg);
  /* the first failure is the reason; later ones are in the findings */
  if (run->report.step_failure == NULL && f->count > 0)
    run->report.step_failure = strdup(f->items[f->count - 1].message);
  free(msg);
}

void runner__error(runner_run_t *run, const char *fmt, ...)
{
  va_list ap;

  if (run->report.error != NULL)
    return;
  va_start(ap, fmt);
  run->report.error = base_vasprintf(fmt, ap);
  va_end(ap);
}

uint64_t runner__scaled(const runner_run_t *run, int64_t ms)
{
  double v = (double)ms * run->opts.time_scale;

  return v < 0 ? 0 : (uint64_t)v;
}

void runner__handle_opened(runner_run_t *run)
{
  run->handles++;
}

void runner__handle_closed(runner_run_t *run)
{
  run->handles--;
  /* the dispatcher finishes a closing run once nothing is left open */
  runner__queue_wake(run);
}
