/*
 * The steps of a run in order (and the setup before them), waits and
 * their deadlines, and triggers armed by steps.
 */
#include "runner-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t next_random(runner_run_t *run)
{
  /* splitmix64: the run's decisions follow from its seed */
  uint64_t z = (run->rng += 0x9E3779B97F4A7C15ull);

  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static void fire(runner_run_t *run, runner__trigger_t *tg, unsigned worker)
{
  const scenario_step_t *st = tg->st;
  uint64_t delay = (uint64_t)st->after_ms;
  cJSON *x;

  if (st->jitter_ms > 0)
    delay += next_random(run) % (uint64_t)(st->jitter_ms + 1);
  x = cJSON_CreateObject();
  cJSON_AddStringToObject(x, "on", trace_ev_name(st->event));
  cJSON_AddNumberToObject(x, "delay_ms", (double)delay);
  runner__action(run, "trigger", st, worker, x);
  /* always from a timer: an action never runs inside the record that
   * fired it */
  (void)runner__action_timer_new(run, TIMER_TRIGGER, st, worker, delay);
}

static void triggers_on_record(runner_run_t *run, const trace_event_t *e)
{
  size_t i;

  for (i = 0; i < run->n_triggers; i++) {
    runner__trigger_t *tg = &run->triggers[i];
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

void runner__step_stop_all(runner_run_t *run)
{
  runner__timer_t *rt;
  size_t i;

  for (i = 0; i < run->n_triggers; i++)
    run->triggers[i].armed = false;
  /* delayed trigger actions are cancelled; paused processes resumed */
  for (rt = run->timers; rt; rt = rt->next)
    if (rt->kind != TIMER_CONNECT || run->phase >= PHASE_KILL)
      runner__action_timer_close(rt);
  run->wait = WAIT_NONE;
}

/* ---------------------------------------------------------------------- */
/* The step sequence                                                       */

static unsigned wait_count(const runner_run_t *run, const scenario_step_t *st,
                           unsigned worker)
{
  int slot;

  switch (st->event) {
  case TRACE_EV_SETUP:
  case TRACE_EV_FORK:
  case TRACE_EV_DISCONNECT_CALLBACK:
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

void runner__step_done(runner_run_t *run)
{
  uv_timer_stop(&run->step_timer);
  run->wait = WAIT_NONE;
  run->cur = NULL;
  run->step_i++;
  runner__kick(run);
}

static void step_failed(runner_run_t *run)
{
  uv_timer_stop(&run->step_timer);
  run->wait = WAIT_NONE;
  runner__end(run);
}

static void arm_wait_timer(runner_run_t *run, uint64_t ms);

static int exec_step(runner_run_t *run, const scenario_step_t *st)
{
  unsigned id = 0;

  switch (st->kind) {
  case SCENARIO_STEP_WAIT:
    if (runner__action_resolve(run, st, st->worker, 0, &id) != 0)
      return ACT_FAIL;
    run->wait_worker = id;
    if (wait_count(run, st, id) >= st->count)
      return ACT_DONE;
    run->wait = WAIT_EVENT;
    arm_wait_timer(run, runner__scaled(run, st->ms));
    return ACT_ASYNC;
  case SCENARIO_STEP_SLEEP:
    run->wait = WAIT_SLEEP;
    arm_wait_timer(run, (uint64_t)st->ms);
    return ACT_ASYNC;
  case SCENARIO_STEP_TRIGGER: {
    runner__trigger_t *tg;
    runner__trigger_t *b = realloc(run->triggers,
                               (run->n_triggers + 1) * sizeof(*b));
    if (b == NULL)
      return ACT_FAIL;
    run->triggers = b;
    tg = &b[run->n_triggers++];
    memset(tg, 0, sizeof(*tg));
    tg->st = st;
    tg->armed = true;
    if (runner__action_resolve(run, st, st->worker, 0, &id) != 0)
      return ACT_FAIL;
    tg->worker = id;
    runner__action(run, "arm", st, id, NULL);
    return ACT_DONE;
  }
  default: {
    int rc = runner__action_exec(run, st, 0, false);
    if (rc == ACT_ASYNC && run->wait == WAIT_REPLY)
      arm_wait_timer(run, runner__scaled(run, REPLY_MS));
    else if (rc == ACT_ASYNC && run->wait == WAIT_LOAD)
      arm_wait_timer(run, runner__scaled(run, 10000));
    return rc;
  }
  }
}

static void on_step_deadline(uv_timer_t *t)
{
  runner__step_on_timeout(t->data);
}

static void arm_wait_timer(runner_run_t *run, uint64_t ms)
{
  uv_timer_start(&run->step_timer, on_step_deadline, ms, 0);
}

static cJSON *setup_command(const runner_run_t *run)
{
  const scenario_t *s = run->s;
  cJSON *cmd = runner__action_command("setup");
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
  /* a mixed target names the other runtime's worker agent; the
   * scenario's args follow its own (a scenario with an exec of its own
   * is skipped on mixed targets) */
  if (run->target->worker_exec != NULL &&
      cJSON_GetObjectItemCaseSensitive(settings, "exec") == NULL) {
    cJSON *args = cJSON_CreateArray();
    cJSON *given = cJSON_DetachItemFromObjectCaseSensitive(settings, "args");
    cJSON *a;
    size_t i;
    for (i = 0; args != NULL && run->target->worker_args != NULL &&
                run->target->worker_args[i] != NULL; i++)
      cJSON_AddItemToArray(args,
                           cJSON_CreateString(run->target->worker_args[i]));
    cJSON_ArrayForEach(a, given)
      cJSON_AddItemToArray(args, cJSON_Duplicate(a, true));
    cJSON_Delete(given);
    cJSON_AddStringToObject(settings, "exec", run->target->worker_exec);
    if (args != NULL)
      cJSON_AddItemToObject(settings, "args", args);
  }
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

static void setup_continue(runner_run_t *run)
{
  cJSON *cmd;

  for (;;) {
    switch (run->setup_state) {
    case 0:
      run->setup_state = 1;
      cmd = setup_command(run);
      if (cmd == NULL || runner__command(run, cmd, REQ_SETUP, NULL, NULL) != 0) {
        cJSON_Delete(cmd);
        runner__error(run, "cannot send setup to the primary");
        runner__end(run);
        return;
      }
      cJSON_Delete(cmd);
      arm_wait_timer(run, runner__scaled(run, REPLY_MS));
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
      if (cmd == NULL || runner__command(run, cmd, REQ_POLICY, NULL, NULL) != 0) {
        cJSON_Delete(cmd);
        runner__error(run, "cannot send the policy to the primary");
        runner__end(run);
        return;
      }
      cJSON_Delete(cmd);
      arm_wait_timer(run, runner__scaled(run, REPLY_MS));
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
      cmd = runner__action_fork_command(run, NULL);
      if (cmd == NULL ||
          runner__command(run, cmd, REQ_INITIAL_FORK, NULL,
                      run->s->behaviour) != 0) {
        cJSON_Delete(cmd);
        runner__error(run, "cannot send fork to the primary");
        runner__end(run);
        return;
      }
      cJSON_Delete(cmd);
      arm_wait_timer(run, runner__scaled(run, REPLY_MS));
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

void runner__step_continue(runner_run_t *run)
{
  if (run->phase == PHASE_SETUP) {
    setup_continue(run);
    if (run->phase != PHASE_STEPS)
      return;
  }
  while (run->phase == PHASE_STEPS && run->wait == WAIT_NONE) {
    const scenario_step_t *st;
    int rc;

    if (run->step_i >= run->s->n_steps) {
      runner__end(run);
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

static void record_fork(runner_run_t *run, runner__req_t *req,
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
  runner__action(run, "fork", req->st, (unsigned)w->valuedouble, x);
  if ((unsigned)w->valuedouble > run->last_forked)
    run->last_forked = (unsigned)w->valuedouble;
  {
    runner__worker_t *rw = runner__worker(run, (unsigned)w->valuedouble);
    if (rw != NULL)
      rw->known = true;
  }
}

void runner__step_on_reply(runner_run_t *run, runner__req_t *req, const cJSON *reply)
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
      runner__error(run, "the primary refused %s: %s", req->cmd, why);
      runner__end(run);
      return;
    }
    uv_timer_stop(&run->step_timer);
    if (req->kind == REQ_INITIAL_FORK)
      run->initial_forks_left--;
    run->setup_state = req->kind == REQ_SETUP ? 2
                       : req->kind == REQ_POLICY ? 4 : 5;
    runner__kick(run);
    return;
  case REQ_TRIGGER:
    if (!ok)
      runner__fail(run, req->st, "the primary refused %s: %s", req->cmd, why);
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
    runner__fail(run, req->st, "the primary refused %s: %s", req->cmd, why);
    step_failed(run);
    return;
  }
  switch (req->st->kind) {
  case SCENARIO_STEP_FORK:
    if (--run->fork_left > 0) {
      cJSON *cmd = runner__action_fork_command(run, req->st);
      if (cmd == NULL ||
          runner__command(run, cmd, REQ_STEP, req->st,
                      req->st->behaviour ? req->st->behaviour
                                         : run->s->behaviour) != 0) {
        cJSON_Delete(cmd);
        runner__fail(run, req->st, "cannot send fork to the primary");
        step_failed(run);
        return;
      }
      cJSON_Delete(cmd);
      arm_wait_timer(run, runner__scaled(run, REPLY_MS));
      return;
    }
    break;
  case SCENARIO_STEP_ROLLING_RESTART:
    if (req->st->wait_done &&
        run->restart_done_count < run->restart_wait_target) {
      run->wait = WAIT_RESTART;
      arm_wait_timer(run, runner__scaled(run, req->st->after_ms));
      return;
    }
    break;
  case SCENARIO_STEP_SHUTDOWN:
    if (req->st->wait_done && !run->agent_exited) {
      run->wait = WAIT_EXIT;
      arm_wait_timer(run, runner__scaled(run, req->st->after_ms));
      return;
    }
    break;
  default:
    break;
  }
  runner__step_done(run);
}

void runner__step_on_record(runner_run_t *run, const trace_event_t *e)
{
  const cJSON *from;

  /* a worker's hello: faults waiting for it can go */
  if (e->src == TRACE_SRC_LOG && strcmp(e->name, "hello") == 0) {
    from = cJSON_GetObjectItemCaseSensitive(e->json, "from");
    if (cJSON_IsString(from) && strcmp(from->valuestring, "worker") == 0)
      runner__action_flush_pending(run, e->worker);
  }
  if (trace_event_is(e, TRACE_EV_EXIT, false))
    runner__action_drop_pending(run, e->worker, "exited");
  if (run->phase != PHASE_STEPS)
    return;
  triggers_on_record(run, e);
  switch (run->wait) {
  case WAIT_EVENT:
    if (run->cur != NULL &&
        wait_count(run, run->cur, run->wait_worker) >= run->cur->count)
      runner__step_done(run);
    break;
  case WAIT_RESTART:
    if (e->ev == TRACE_EV_RESTART_FAILED ||
        (e->ev == TRACE_EV_RESTART_DONE &&
         cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(e->json, "ok")))) {
      const cJSON *why = cJSON_GetObjectItemCaseSensitive(e->json, "error");
      runner__fail(run, run->cur, "the rolling restart failed: %s",
               cJSON_IsString(why) ? why->valuestring : "no reason given");
      step_failed(run);
    } else if (run->restart_done_count >= run->restart_wait_target) {
      runner__step_done(run);
    }
    break;
  default:
    break;
  }
}

void runner__step_on_agent_exit(runner_run_t *run)
{
  runner__req_t *r;

  if (run->phase != PHASE_STEPS)
    return;
  /* the requests of the dead agent are never answered */
  while ((r = run->reqs) != NULL) {
    run->reqs = r->next;
    if (run->wait == WAIT_REPLY && r->st == run->cur && r->st != NULL) {
      runner__fail(run, r->st, "the primary exited before it answered '%s'",
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
    runner__step_done(run);
  else if (run->wait == WAIT_RESTART) {
    runner__fail(run, run->cur, "the primary exited during the rolling restart");
    step_failed(run);
  }
}

void runner__step_on_timeout(runner_run_t *run)
{
  const scenario_step_t *st = run->cur;
  char wname[32];

  switch (run->phase) {
  case PHASE_START:
    runner__error(run, "the agent did not connect to the control socket "
              "within %.3f s", (double)runner__scaled(run, 10000) / 1e3);
    runner__abort_error(run);
    return;
  case PHASE_SETUP:
    runner__error(run, "the primary did not answer its setup within %.3f s",
              (double)runner__scaled(run, REPLY_MS) / 1e3);
    runner__abort_error(run);
    return;
  case PHASE_STEPS:
    break;
  default:
    return;
  }
  switch (run->wait) {
  case WAIT_SLEEP:
    runner__step_done(run);
    return;
  case WAIT_EVENT:
    if (run->wait_worker != 0)
      snprintf(wname, sizeof(wname), "worker %u", run->wait_worker);
    else
      snprintf(wname, sizeof(wname), "any worker");
    runner__fail(run, st, "waited %.3f s for %u %s event%s of %s, saw %u",
             (double)runner__scaled(run, st->ms) / 1e3, st->count,
             trace_ev_name(st->event), st->count == 1 ? "" : "s", wname,
             wait_count(run, st, run->wait_worker));
    break;
  case WAIT_REPLY:
    runner__fail(run, st, "the primary did not answer within %.3f s",
             (double)runner__scaled(run, REPLY_MS) / 1e3);
    break;
  case WAIT_RESTART:
    runner__fail(run, st, "the rolling restart did not finish within %.3f s",
             (double)runner__scaled(run, st->after_ms) / 1e3);
    break;
  case WAIT_EXIT:
    runner__fail(run, st, "the primary did not exit within %.3f s",
             (double)runner__scaled(run, st->after_ms) / 1e3);
    break;
  case WAIT_LOAD:
    runner__fail(run, st, "the load did not stop in time");
    break;
  default:
    return;
  }
  step_failed(run);
}
