/*
 * primary-shutdown.c - winding the cluster down: the graceful shutdown
 * policy (signals or the `shutdown` command, reported as policy events)
 * and the silent variant used when the harness is lost. Either way no
 * worker outlives the agent (agents/node/lib/shutdown.cjs).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "primary-internal.h"

#define PRIMARY_SHUTDOWN_DEFAULT_MS 2000.0
/* After the SIGKILLs the agent waits this long at most for the exits. */
#define PRIMARY_SHUTDOWN_REAP_MS 3000u

static primary__shutdown_conf_t cfg = {
  .timeout_ms = PRIMARY_SHUTDOWN_DEFAULT_MS
};
static uv_signal_t *primary_shutdown_handles[PRIMARY_MAX_SIGNALS];
static int primary_shutdown_nhandles;

static struct {
  int pending;               /* started, not done */
  int report;
  uv_timer_t force;
  uv_timer_t check;          /* the first check, after start() returns */
  uv_prepare_t settle;       /* the check of a worker with no disconnect */
  int timers_init;
} run;

/* ---------------------------------------------------------------------- */
/* Configuration                                                           */

static int primary_shutdown_signal(const cJSON *s,
                                   primary__shutdown_conf_t *next, char *err,
                                   size_t n)
{
  int signum = cJSON_IsString(s) ? base_signal_from_name(s->valuestring) : 0;

  if (signum == 0) {
    char *text = cJSON_PrintUnformatted(s);
    snprintf(err, n, "unknown signal %s", text != NULL ? text : "?");
    cJSON_free(text);
    return UV_EINVAL;
  }
  if (signum == SIGKILL || signum == SIGSTOP) {
    snprintf(err, n, "%s cannot be caught", s->valuestring);
    return UV_EINVAL;
  }
  for (int i = 0; i < next->nsignals; i++)
    if (strcmp(next->names[i], s->valuestring) == 0)
      return 0;
  if (next->nsignals == PRIMARY_MAX_SIGNALS) {
    snprintf(err, n, "shutdown.signals: too many");
    return UV_EINVAL;
  }
  next->signals[next->nsignals] = signum;
  snprintf(next->names[next->nsignals], sizeof(next->names[0]), "%s",
           s->valuestring);
  next->nsignals++;
  return 0;
}

int primary__shutdown_configure(const cJSON *v, primary__shutdown_conf_t *next,
                                char *err, size_t n)
{
  const cJSON *sigs, *t, *s;

  memset(next, 0, sizeof(*next));
  next->timeout_ms = cfg.timeout_ms;
  if (cJSON_IsNull(v) || cJSON_IsFalse(v))
    return 0;
  if (!ctl_is_object(v)) {
    snprintf(err, n, "shutdown must be an object or null");
    return UV_EINVAL;
  }
  sigs = cJSON_GetObjectItemCaseSensitive(v, "signals");
  if (sigs == NULL) {
    next->signals[0] = SIGTERM;
    snprintf(next->names[0], sizeof(next->names[0]), "SIGTERM");
    next->signals[1] = SIGINT;
    snprintf(next->names[1], sizeof(next->names[1]), "SIGINT");
    next->nsignals = 2;
  } else if (!cJSON_IsArray(sigs)) {
    snprintf(err, n, "shutdown.signals must be an array");
    return UV_EINVAL;
  }
  cJSON_ArrayForEach(s, sigs) {
    if (primary_shutdown_signal(s, next, err, n) != 0)
      return UV_EINVAL;
  }
  t = cJSON_GetObjectItemCaseSensitive(v, "timeout_ms");
  next->timeout_ms = PRIMARY_SHUTDOWN_DEFAULT_MS;
  if (t != NULL) {
    if (!ctl_is_int(t, 0, PRIMARY_MAX_MS)) {
      snprintf(err, n, "shutdown.timeout_ms must be a non-negative integer");
      return UV_EINVAL;
    }
    next->timeout_ms = t->valuedouble;
  }
  return 0;
}

static void primary_shutdown_on_signal(uv_signal_t *h, int signum)
{
  int i = (int)(intptr_t)h->data;

  (void)signum;
  (void)primary__shutdown_start(cfg.names[i], cfg.timeout_ms, 1);
}

static void primary_shutdown_handle_closed(uv_handle_t *h)
{
  free(h);
}

void primary__shutdown_apply(const primary__shutdown_conf_t *next)
{
  /* Stopping the last handler of a signal gives it back its default. */
  for (int i = 0; i < primary_shutdown_nhandles; i++)
    uv_close((uv_handle_t *)primary_shutdown_handles[i],
             primary_shutdown_handle_closed);
  primary_shutdown_nhandles = 0;
  cfg = *next;
  for (int i = 0; i < cfg.nsignals; i++) {
    uv_signal_t *h = malloc(sizeof(*h));
    if (h == NULL || uv_signal_init(primary__agent.loop, h) != 0) {
      free(h);
      continue;
    }
    h->data = (void *)(intptr_t)i;
    if (uv_signal_start(h, primary_shutdown_on_signal, cfg.signals[i]) != 0) {
      uv_close((uv_handle_t *)h, primary_shutdown_handle_closed);
      continue;
    }
    /* Like Node's signal listeners, they keep nothing alive. */
    uv_unref((uv_handle_t *)h);
    primary_shutdown_handles[primary_shutdown_nhandles++] = h;
  }
}

double primary__shutdown_default_timeout(void)
{
  return cfg.timeout_ms;
}

/* ---------------------------------------------------------------------- */
/* The run                                                                 */

/* Finished as Node's own removeWorker() sees it (and as the Node agent
 * checks): every forked worker dead and no longer connected. A worker
 * that died with a connection handed to it and not acknowledged closes
 * its channel without a `disconnect` event ever (Node's exit-only case):
 * it is finished all the same. With `reported`, every `disconnect` must
 * also have gone out, so that one emitted on a later turn is not reported
 * after shutdown-done. */
static int primary_shutdown_finished(int reported)
{
  for (primary__record_t *r = primary__agent.records; r != NULL; r = r->next) {
    if (sim_worker_pid(r->worker) <= 0)
      continue;
    if (!sim_worker_is_dead(r->worker) || sim_worker_is_connected(r->worker))
      return 0;
    if (reported && !r->disconnect_reported)
      return 0;
  }
  return 1;
}

static void primary_shutdown_done(void)
{
  run.pending = 0;
  if (run.report)
    primary__send(primary__policy_new("shutdown-done"));
  primary__exit(0);
}

/* A turn later, whatever `disconnect` the library had still to emit (on
 * its next tick: the idle phase, before this prepare) has been emitted. */
static void primary_shutdown_on_settled(uv_prepare_t *p)
{
  uv_prepare_stop(p);
  if (run.pending && primary_shutdown_finished(0))
    primary_shutdown_done();
}

static void primary_shutdown_check(void)
{
  if (!run.pending)
    return;
  if (primary_shutdown_finished(1))
    primary_shutdown_done();
  else if (primary_shutdown_finished(0))
    (void)uv_prepare_start(&run.settle, primary_shutdown_on_settled);
}

static void primary_shutdown_on_reap(uv_timer_t *t)
{
  (void)t;
  if (run.pending)
    primary_shutdown_done();
}

static void primary_shutdown_on_force(uv_timer_t *t)
{
  cJSON *m, *ids = NULL;
  int left = 0;

  for (primary__record_t *r = primary__agent.records; r != NULL; r = r->next)
    left += r->alive;
  if (left > 0) {
    m = run.report ? primary__policy_new("shutdown-force") : NULL;
    if (m != NULL)
      ids = cJSON_AddArrayToObject(m, "workers");
    for (primary__record_t *r = primary__agent.records;
         r != NULL && ids != NULL; r = r->next)
      if (r->alive)
        cJSON_AddItemToArray(ids, cJSON_CreateNumber(r->id));
    primary__send(m);
    primary__kill_all(SIGKILL);
  }
  (void)uv_timer_start(t, primary_shutdown_on_reap, PRIMARY_SHUTDOWN_REAP_MS,
                       0);
}

static void primary_shutdown_on_first_check(uv_timer_t *t)
{
  (void)t;
  primary_shutdown_check();
}

int primary__shutdown_start(const char *signal, double timeout_ms, int report)
{
  cJSON *m;

  if (primary__agent.winding)
    return UV_EALREADY;
  primary__agent.winding = 1;
  primary__respawn_cancel();
  primary__heartbeat_stop();
  primary__rolling_abort();
  primary__sticky_stop();
  run.pending = 1;
  run.report = report;
  if (report) {
    m = primary__policy_new("shutdown-start");
    if (m != NULL) {
      if (signal != NULL)
        cJSON_AddStringToObject(m, "signal", signal);
      else
        cJSON_AddNullToObject(m, "signal");
    }
    primary__send(m);
  }
  (void)sim_cluster_disconnect(&primary__agent.cluster, NULL, NULL);
  if (!run.timers_init) {
    if (uv_timer_init(primary__agent.loop, &run.force) != 0 ||
        uv_timer_init(primary__agent.loop, &run.check) != 0 ||
        uv_prepare_init(primary__agent.loop, &run.settle) != 0) {
      primary_shutdown_done();
      return 0;
    }
    run.timers_init = 1;
  }
  (void)uv_timer_start(&run.force, primary_shutdown_on_force,
                       (uint64_t)timeout_ms, 0);
  /* The first check comes once start() has returned, as Node's nextTick:
   * with no worker left the shutdown is done at once. */
  (void)uv_timer_start(&run.check, primary_shutdown_on_first_check, 0, 0);
  return 0;
}

void primary__shutdown_on_event(const sim_event_t *ev)
{
  if (ev->type == SIM_EV_EXIT || ev->type == SIM_EV_DISCONNECT)
    primary_shutdown_check();
}
