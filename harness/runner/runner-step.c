/*
 * The setup of a run and its steps in order: each step runs through the
 * handler of its kind (the table below, bound to SCENARIO_STEP_MAP), then
 * the sequence waits for what the handler says, within a deadline. Triggers
 * armed by steps fire on records. The phase machine (runner.c) calls in
 * here and is told, by the value returned, when the setup or the steps are
 * over.
 */
#include "runner-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a load may take to stop when a step waits for it. */
#define LOAD_STOP_MS 10000

static const runner__step_fn handlers[SCENARIO_STEP_KIND_COUNT] = {
  SCENARIO_STEP_MAP(RUNNER__STEP_ENTRY)
};

/* ---------------------------------------------------------------------- */
/* The setup                                                               */

enum { SETUP_SETUP = 0, SETUP_POLICY, SETUP_FORKS, SETUP_DONE };

static cJSON *setup_command(const runner_run_t *run)
{
  const scenario_t *s = run->s;
  cJSON *cmd = runner__act_command_new("setup");
  cJSON *settings, *env;
  char *b;

  if (cmd == NULL)
    return NULL;
  if (s->scheduling != NULL)
    cJSON_AddStringToObject(cmd, "scheduling", s->scheduling);
  settings = cJSON_Duplicate(s->settings, true);
  if (settings == NULL) {
    cJSON_Delete(cmd);
    return NULL;
  }
  runner__act_mixed_worker(run, cmd, settings, true);
  env = cJSON_GetObjectItemCaseSensitive(settings, "env");
  if (env == NULL)
    env = cJSON_AddObjectToObject(settings, "env");
  b = runner__act_behaviour_text(run, s->behaviour);
  if (b != NULL) {
    cJSON_AddStringToObject(env, "CLUSTERSIM_WORKER", b);
    free(b);
  }
  cJSON_AddItemToObject(cmd, "settings", settings);
  return cmd;
}

/* Sends the setup's next command; GO_NEXT when none is left. */
static runner__go_t setup_send(runner_run_t *run)
{
  runner__steps_t *sp = &run->steps;
  static const char *const what[] = {"setup", "the policy", "fork"};
  static const runner__req_kind_t kinds[] = {
    RUNNER__REQ_SETUP, RUNNER__REQ_POLICY, RUNNER__REQ_INITIAL_FORK};
  cJSON *cmd = NULL;
  int rc;

  if (sp->setup == SETUP_POLICY && run->s->policy == NULL)
    sp->setup = SETUP_FORKS;
  if (sp->setup == SETUP_FORKS && sp->forks_left == 0)
    sp->setup = SETUP_DONE;
  if (sp->setup == SETUP_DONE) {
    runner__timer_stop(run, RUNNER__TIMER_STEP);
    return RUNNER__GO_NEXT;
  }
  cmd = sp->setup == SETUP_SETUP    ? setup_command(run)
        : sp->setup == SETUP_POLICY ? cJSON_Duplicate(run->s->policy, true)
                                    : runner__act_fork_command(run, NULL);
  rc = cmd == NULL ? UV_ENOMEM
                   : runner__act_command(run, cmd, kinds[sp->setup], NULL,
                                         sp->setup == SETUP_FORKS
                                             ? run->s->behaviour
                                             : NULL);
  cJSON_Delete(cmd);
  if (rc != 0) {
    runner__error(run, "cannot send %s to the primary", what[sp->setup]);
    return RUNNER__GO_END;
  }
  runner__timer_start(run, RUNNER__TIMER_STEP,
                      runner__scaled(run, RUNNER__REPLY_MS), 0);
  return RUNNER__GO_WAIT;
}

runner__go_t runner__setup_begin(runner_run_t *run)
{
  run->steps.setup = SETUP_SETUP;
  run->steps.forks_left = run->s->workers;
  run->steps.rng = run->opts.seed ^ 0x9E3779B97F4A7C15ull;
  return setup_send(run);
}

runner__go_t runner__setup_on_reply(runner_run_t *run,
                                    const runner__req_t *req,
                                    const cJSON *reply)
{
  const cJSON *err = cJSON_GetObjectItemCaseSensitive(reply, "error");

  if (req->kind != RUNNER__REQ_SETUP && req->kind != RUNNER__REQ_POLICY &&
      req->kind != RUNNER__REQ_INITIAL_FORK)
    return RUNNER__GO_WAIT;
  if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"))) {
    /* a scenario the agent cannot even set up cannot be run */
    runner__error(run, "the primary refused %s: %s", req->cmd,
                  cJSON_IsString(err) ? err->valuestring : "refused");
    return RUNNER__GO_END;
  }
  runner__timer_stop(run, RUNNER__TIMER_STEP);
  if (req->kind == RUNNER__REQ_INITIAL_FORK)
    run->steps.forks_left--;
  else
    run->steps.setup++;
  return setup_send(run);
}

runner__go_t runner__setup_on_timer(runner_run_t *run)
{
  runner__error(run, "the primary did not answer its setup within %.3f s",
                (double)runner__scaled(run, RUNNER__REPLY_MS) / 1e3);
  return RUNNER__GO_KILL;
}

/* ---------------------------------------------------------------------- */
/* Waits                                                                   */

/* How long the current step may wait for `wait`. */
static uint64_t wait_ms(const runner_run_t *run, const scenario_step_t *st,
                        runner__wait_t wait)
{
  switch (wait) {
  case RUNNER__WAIT_REPLY:
    return runner__scaled(run, RUNNER__REPLY_MS);
  case RUNNER__WAIT_EVENT:
    return runner__scaled(run, st->ms);
  case RUNNER__WAIT_SLEEP:
    /* a sleep is the scenario's own time, not a deadline */
    return (uint64_t)st->ms;
  case RUNNER__WAIT_LOAD:
    return runner__scaled(run, LOAD_STOP_MS);
  default:
    return runner__scaled(run, st->after_ms);
  }
}

static void begin_wait(runner_run_t *run, runner__wait_t wait)
{
  run->steps.wait = wait;
  runner__timer_start(run, RUNNER__TIMER_STEP,
                      wait_ms(run, run->steps.cur, wait), 0);
}

static runner__go_t step_failed(runner_run_t *run)
{
  runner__timer_stop(run, RUNNER__TIMER_STEP);
  run->steps.wait = RUNNER__WAIT_NONE;
  return RUNNER__GO_END;
}

/* What a handler returned, for the sequence. */
static runner__go_t step_went(runner_run_t *run, int rc)
{
  if (rc == RUNNER__STEP_FAILED)
    return step_failed(run);
  if (rc == RUNNER__WAIT_NONE)
    return RUNNER__GO_NEXT;
  begin_wait(run, (runner__wait_t)rc);
  return RUNNER__GO_WAIT;
}

/* The current step's wait is over: the sequence goes on. */
static runner__go_t step_done(runner_run_t *run)
{
  runner__timer_stop(run, RUNNER__TIMER_STEP);
  run->steps.wait = RUNNER__WAIT_NONE;
  run->steps.cur = NULL;
  run->steps.next++;
  return runner__steps_run(run);
}

runner__go_t runner__steps_run(runner_run_t *run)
{
  runner__steps_t *sp = &run->steps;
  runner__go_t go;

  while (sp->next < run->s->n_steps) {
    const scenario_step_t *st = &run->s->steps[sp->next];
    sp->cur = st;
    memset(&sp->call, 0, sizeof(sp->call));
    /* the moment the step began: what `{step: N}` points at */
    runner__queue_action(run, "step", st, 0, NULL);
    if (runner__cluster_resolve(run, st, 0, &sp->call.worker) != 0)
      return step_failed(run);
    go = step_went(run, handlers[st->kind](run, st, &sp->call));
    if (go != RUNNER__GO_NEXT)
      return go;
    sp->next++;
  }
  return RUNNER__GO_NEXT;
}

/* ---------------------------------------------------------------------- */
/* Triggers                                                                */

static uint64_t next_random(runner_run_t *run)
{
  /* splitmix64: the run's decisions follow from its seed */
  uint64_t z = (run->steps.rng += 0x9E3779B97F4A7C15ull);

  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* The actions always run from a timer, never inside the record that fired
 * them. */
static void fire(runner_run_t *run, runner__trigger_t *tg, unsigned worker)
{
  const scenario_step_t *st = tg->st;
  uint64_t delay = (uint64_t)st->after_ms;
  cJSON *x;

  if (st->jitter_ms > 0)
    delay += next_random(run) % (uint64_t)(st->jitter_ms + 1);
  x = cJSON_CreateObject();
  if (x != NULL) {
    cJSON_AddStringToObject(x, "on", trace_ev_name(st->event));
    cJSON_AddNumberToObject(x, "delay_ms", (double)delay);
  }
  runner__queue_action(run, "trigger", st, worker, x);
  runner__act_defer_trigger(run, st, worker, delay);
}

static void triggers_on_record(runner_run_t *run, const trace_event_t *e)
{
  size_t i;

  for (i = 0; i < run->steps.n_triggers; i++) {
    runner__trigger_t *tg = &run->steps.triggers[i];
    if (!tg->armed ||
        !trace_event_is(e, tg->st->event, tg->st->cluster_emitter) ||
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

void runner__steps_trigger(runner_run_t *run, const scenario_step_t *st,
                           unsigned worker)
{
  runner__call_t call = {.trigger = true, .trig = worker};
  size_t i;

  for (i = 0; i < st->n_actions; i++) {
    const scenario_step_t *a = &st->actions[i];
    runner__queue_action(run, "step", a, worker, NULL);
    if (runner__cluster_resolve(run, a, worker, &call.worker) != 0 ||
        handlers[a->kind](run, a, &call) == RUNNER__STEP_FAILED)
      break;
  }
}

void runner__steps_stop(runner_run_t *run)
{
  size_t i;

  for (i = 0; i < run->steps.n_triggers; i++)
    run->steps.triggers[i].armed = false;
  runner__act_cancel(run);
  runner__timer_stop(run, RUNNER__TIMER_STEP);
  run->steps.wait = RUNNER__WAIT_NONE;
}

void runner__steps_free(runner_run_t *run)
{
  free(run->steps.triggers);
  run->steps.triggers = NULL;
  run->steps.n_triggers = 0;
}

/* ---------------------------------------------------------------------- */
/* What ends a wait                                                        */

static bool restart_failed(const trace_event_t *e)
{
  return e->ev == TRACE_EV_RESTART_FAILED ||
         (e->ev == TRACE_EV_RESTART_DONE &&
          cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(e->json, "ok")));
}

runner__go_t runner__steps_on_record(runner_run_t *run,
                                     const trace_event_t *e)
{
  runner__steps_t *sp = &run->steps;
  const cJSON *why;

  triggers_on_record(run, e);
  if (sp->wait == RUNNER__WAIT_EVENT &&
      runner__cluster_count(run, sp->cur, sp->wait_worker) >= sp->cur->count)
    return step_done(run);
  if (sp->wait != RUNNER__WAIT_RESTART)
    return RUNNER__GO_WAIT;
  if (restart_failed(e)) {
    why = cJSON_GetObjectItemCaseSensitive(e->json, "error");
    runner__fail(run, sp->cur, "the rolling restart failed: %s",
                 cJSON_IsString(why) ? why->valuestring : "no reason given");
    return step_failed(run);
  }
  if (run->cluster.restart_done_count >= run->act.restart_wait_target)
    return step_done(run);
  return RUNNER__GO_WAIT;
}

runner__go_t runner__steps_on_reply(runner_run_t *run,
                                    const runner__req_t *req,
                                    const cJSON *reply)
{
  runner__steps_t *sp = &run->steps;
  const cJSON *err = cJSON_GetObjectItemCaseSensitive(reply, "error");
  runner__go_t go;

  if (req->kind != RUNNER__REQ_STEP || sp->wait != RUNNER__WAIT_REPLY ||
      req->st != sp->cur)
    return RUNNER__GO_WAIT;
  if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"))) {
    runner__fail(run, req->st, "the primary refused %s: %s", req->cmd,
                 cJSON_IsString(err) ? err->valuestring : "refused");
    return step_failed(run);
  }
  runner__timer_stop(run, RUNNER__TIMER_STEP);
  sp->wait = RUNNER__WAIT_NONE;
  sp->call.replies++;
  go = step_went(run, handlers[sp->cur->kind](run, sp->cur, &sp->call));
  return go == RUNNER__GO_NEXT ? step_done(run) : go;
}

runner__go_t runner__steps_on_agent_exit(runner_run_t *run)
{
  runner__steps_t *sp = &run->steps;
  char cmd[24];

  /* the requests of the dead agent are never answered */
  if (runner__control_forget(run,
                             sp->wait == RUNNER__WAIT_REPLY ? sp->cur : NULL,
                             cmd, sizeof(cmd))) {
    runner__fail(run, sp->cur, "the primary exited before it answered '%s'",
                 cmd);
    return step_failed(run);
  }
  if (sp->wait == RUNNER__WAIT_EXIT)
    return step_done(run);
  if (sp->wait == RUNNER__WAIT_RESTART) {
    runner__fail(run, sp->cur,
                 "the primary exited during the rolling restart");
    return step_failed(run);
  }
  return RUNNER__GO_WAIT;
}

runner__go_t runner__steps_on_load_done(runner_run_t *run)
{
  if (run->steps.wait != RUNNER__WAIT_LOAD)
    return RUNNER__GO_WAIT;
  return step_done(run);
}

static void wait_failed(runner_run_t *run, const scenario_step_t *st)
{
  unsigned w = run->steps.wait_worker;
  char wname[32];

  if (w != 0)
    snprintf(wname, sizeof(wname), "worker %u", w);
  else
    snprintf(wname, sizeof(wname), "any worker");
  runner__fail(run, st, "waited %.3f s for %u %s event%s of %s, saw %u",
               (double)runner__scaled(run, st->ms) / 1e3, st->count,
               trace_ev_name(st->event), st->count == 1 ? "" : "s", wname,
               runner__cluster_count(run, st, w));
}

runner__go_t runner__steps_on_timer(runner_run_t *run)
{
  const scenario_step_t *st = run->steps.cur;
  double s = st != NULL ? (double)wait_ms(run, st, run->steps.wait) / 1e3
                        : 0;

  switch (run->steps.wait) {
  case RUNNER__WAIT_SLEEP:
    return step_done(run);
  case RUNNER__WAIT_EVENT:
    wait_failed(run, st);
    break;
  case RUNNER__WAIT_REPLY:
    runner__fail(run, st, "the primary did not answer within %.3f s", s);
    break;
  case RUNNER__WAIT_RESTART:
    runner__fail(run, st, "the rolling restart did not finish within %.3f s",
                 s);
    break;
  case RUNNER__WAIT_EXIT:
    runner__fail(run, st, "the primary did not exit within %.3f s", s);
    break;
  case RUNNER__WAIT_LOAD:
    runner__fail(run, st, "the load did not stop in time");
    break;
  default:
    return RUNNER__GO_WAIT;
  }
  return step_failed(run);
}

/* ---------------------------------------------------------------------- */
/* The handlers of the sequence's own kinds                                */

static int sequence_only(runner_run_t *run, const scenario_step_t *st)
{
  runner__fail(run, st, "'%s' cannot run here", scenario_step_name(st->kind));
  return RUNNER__STEP_FAILED;
}

int runner__step_wait(runner_run_t *run, const scenario_step_t *st,
                      const runner__call_t *call)
{
  if (call->trigger)
    return sequence_only(run, st);
  run->steps.wait_worker = call->worker;
  if (runner__cluster_count(run, st, call->worker) >= st->count)
    return RUNNER__WAIT_NONE;
  return RUNNER__WAIT_EVENT;
}

int runner__step_sleep(runner_run_t *run, const scenario_step_t *st,
                       const runner__call_t *call)
{
  if (call->trigger)
    return sequence_only(run, st);
  return RUNNER__WAIT_SLEEP;
}

int runner__step_trigger(runner_run_t *run, const scenario_step_t *st,
                         const runner__call_t *call)
{
  runner__steps_t *sp = &run->steps;
  runner__trigger_t *b;

  if (call->trigger)
    return sequence_only(run, st);
  b = realloc(sp->triggers, (sp->n_triggers + 1) * sizeof(*b));
  if (b == NULL)
    return RUNNER__STEP_FAILED;
  sp->triggers = b;
  b = &b[sp->n_triggers++];
  memset(b, 0, sizeof(*b));
  b->st = st;
  b->worker = call->worker;
  b->armed = true;
  runner__queue_action(run, "arm", st, call->worker, NULL);
  return RUNNER__WAIT_NONE;
}
