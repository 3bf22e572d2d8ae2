/*
 * primary-rolling.c - the rolling restart (docs/protocol.md §2.1): for each
 * member at the start, one at a time, fork a replacement with the same
 * env, wait for its first `listening`, disconnect the old worker and wait
 * for its exit (agents/node/lib/rolling-restart.cjs, as a state machine
 * driven by the cluster's events).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "primary-internal.h"

#define PRIMARY_ROLLING_DEFAULT_MS 5000.0
/* After a SIGKILL the exit normally follows at once; this only bounds it. */
#define PRIMARY_ROLLING_KILL_BOUND_MS 2000u

enum { ROLL_IDLE, ROLL_STARTING, ROLL_LISTEN, ROLL_EXIT, ROLL_REAP };

static struct {
  int phase;
  unsigned *olds;
  unsigned nolds, pos;
  cJSON *restarted;
  double timeout_ms;
  unsigned old_id, new_id;
  uv_timer_t timer;
  int timer_init;
} roll;

static void primary_rolling_step(void);

static void primary_rolling_reset(void)
{
  roll.phase = ROLL_IDLE;
  if (roll.timer_init)
    (void)uv_timer_stop(&roll.timer);
  free(roll.olds);
  roll.olds = NULL;
  roll.nolds = roll.pos = 0;
  cJSON_Delete(roll.restarted);
  roll.restarted = NULL;
}

static void primary_rolling_finish(const char *error)
{
  cJSON *m = primary__policy_new("restart-done");

  if (m != NULL) {
    cJSON_AddBoolToObject(m, "ok", error == NULL);
    if (error != NULL)
      cJSON_AddStringToObject(m, "error", error);
    cJSON_AddItemToObject(m, "restarted", roll.restarted != NULL
                                              ? roll.restarted
                                              : cJSON_CreateArray());
    roll.restarted = NULL;
  }
  primary_rolling_reset();
  primary__send(m);
}

/* The replacement failed: the old worker keeps serving, so it is the
 * respawn policy's again. */
static void primary_rolling_fail(const char *why)
{
  primary__record_t *old = primary__record(roll.old_id);
  char text[128];

  if (old != NULL)
    old->retired = 0;
  snprintf(text, sizeof(text), "worker %u %s", roll.new_id, why);
  primary_rolling_finish(text);
}

static void primary_rolling_on_timer(uv_timer_t *t);

static void primary_rolling_wait(int phase, double ms)
{
  roll.phase = phase;
  (void)uv_timer_start(&roll.timer, primary_rolling_on_timer, (uint64_t)ms, 0);
}

static void primary_rolling_advance(void)
{
  cJSON_AddItemToArray(roll.restarted, cJSON_CreateNumber(roll.old_id));
  roll.pos++;
  primary_rolling_step();
}

static void primary_rolling_on_timer(uv_timer_t *t)
{
  sim_worker_t *old = sim_cluster_find(&primary__agent.cluster, roll.old_id);
  char why[64];
  cJSON *m;

  (void)t;
  switch (roll.phase) {
  case ROLL_LISTEN:
    snprintf(why, sizeof(why), "did not listen within %.0f ms",
             roll.timeout_ms);
    primary_rolling_fail(why);
    break;
  case ROLL_EXIT:
    m = primary__policy_new("restart-kill");
    if (m != NULL)
      cJSON_AddNumberToObject(m, "worker", roll.old_id);
    primary__send(m);
    primary_rolling_wait(ROLL_REAP, PRIMARY_ROLLING_KILL_BOUND_MS);
    if (old != NULL)
      (void)sim_worker_kill(old, SIGKILL);
    break;
  case ROLL_REAP:
    primary_rolling_advance();
    break;
  default:
    break;
  }
}

static void primary_rolling_step(void)
{
  primary__record_t *old, *next;
  char why[96];
  cJSON *m;
  int rc;

  for (; roll.pos < roll.nolds; roll.pos++) {
    old = primary__record(roll.olds[roll.pos]);
    /* Skipped when it left cluster.workers meanwhile. */
    if (old != NULL &&
        sim_cluster_worker(&primary__agent.cluster, old->id) == old->worker)
      break;
  }
  if (roll.pos >= roll.nolds) {
    primary_rolling_finish(NULL);
    return;
  }
  /* Replaced from here on: the respawn policy must not replace it again. */
  old->retired = 1;
  roll.old_id = old->id;
  rc = primary__fork(old->env, &next);
  if (rc != 0) {
    old->retired = 0;
    snprintf(why, sizeof(why), "fork: %s", uv_strerror(rc));
    primary_rolling_finish(why);
    return;
  }
  roll.new_id = next->id;
  m = primary__policy_new("restart-fork");
  if (m != NULL) {
    cJSON_AddNumberToObject(m, "old", roll.old_id);
    cJSON_AddNumberToObject(m, "new", roll.new_id);
  }
  primary__send(m);
  primary_rolling_wait(ROLL_LISTEN, roll.timeout_ms);
}

static void primary_rolling_collect(sim_worker_t *w, void *arg)
{
  (void)arg;
  roll.olds[roll.nolds++] = sim_worker_id(w);
}

/* After the command's reply, as the Node agent starts on the next tick. */
static void primary_rolling_begin(void *arg)
{
  (void)arg;
  if (roll.phase != ROLL_STARTING)
    return;
  roll.olds = calloc(sim_cluster_count(&primary__agent.cluster) + 1,
                     sizeof(*roll.olds));
  roll.restarted = cJSON_CreateArray();
  if (roll.olds == NULL || roll.restarted == NULL) {
    primary_rolling_finish(uv_strerror(UV_ENOMEM));
    return;
  }
  sim_cluster_foreach(&primary__agent.cluster, primary_rolling_collect, NULL);
  primary_rolling_step();
}

int primary__rolling_start(const cJSON *t, char *err, size_t n)
{
  if (roll.phase != ROLL_IDLE) {
    snprintf(err, n, "a rolling restart is already running");
    return UV_EBUSY;
  }
  if (primary__agent.winding) {
    snprintf(err, n, "shutting down");
    return UV_EINVAL;
  }
  if (t != NULL && !ctl_is_int(t, 1, PRIMARY_MAX_MS)) {
    snprintf(err, n, "timeout_ms must be a positive integer");
    return UV_EINVAL;
  }
  if (!roll.timer_init) {
    int rc = uv_timer_init(primary__agent.loop, &roll.timer);
    if (rc != 0) {
      snprintf(err, n, "%s", uv_strerror(rc));
      return rc;
    }
    roll.timer_init = 1;
  }
  roll.timeout_ms = t != NULL ? t->valuedouble : PRIMARY_ROLLING_DEFAULT_MS;
  roll.phase = ROLL_STARTING;
  primary__after_reply(primary_rolling_begin, NULL);
  return 0;
}

void primary__rolling_abort(void)
{
  primary_rolling_reset();
}

void primary__rolling_on_event(const sim_event_t *ev)
{
  unsigned id = ev->worker != NULL ? sim_worker_id(ev->worker) : 0;
  sim_worker_t *old;
  cJSON *m;

  if (roll.phase == ROLL_LISTEN && id == roll.new_id) {
    if (ev->type == SIM_EV_EXIT) {
      (void)uv_timer_stop(&roll.timer);
      primary_rolling_fail("exited before listening");
      return;
    }
    if (ev->type != SIM_EV_LISTENING)
      return;
    (void)uv_timer_stop(&roll.timer);
    m = primary__policy_new("restart-disconnect");
    if (m != NULL)
      cJSON_AddNumberToObject(m, "worker", roll.old_id);
    primary__send(m);
    old = sim_cluster_find(&primary__agent.cluster, roll.old_id);
    if (old == NULL || sim_worker_is_dead(old)) {
      primary_rolling_advance();
      return;
    }
    primary_rolling_wait(ROLL_EXIT, roll.timeout_ms);
    (void)sim_worker_disconnect(old);
  } else if ((roll.phase == ROLL_EXIT || roll.phase == ROLL_REAP) &&
             id == roll.old_id && ev->type == SIM_EV_EXIT) {
    (void)uv_timer_stop(&roll.timer);
    primary_rolling_advance();
  }
}
