/*
 * primary-heartbeat.c - the heartbeat policy (docs/protocol.md §2.1): ping
 * every member over the cluster's own IPC and SIGKILL one that stays
 * silent; the respawn policy, when on, then replaces it like any other
 * dead worker (agents/node/lib/heartbeat.cjs).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "primary-internal.h"

static uv_timer_t primary_hb_timer;
static int primary_hb_timer_init;
static double primary_hb_n;
static uint64_t primary_hb_timeout_ns;

static int primary_heartbeat_positive(const cJSON *hb, const char *key,
                                      double dflt, double *out, char *err,
                                      size_t n)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(hb, key);

  if (v == NULL) {
    *out = dflt;
    return 0;
  }
  if (!ctl_is_int(v, 1, PRIMARY_MAX_MS)) {
    snprintf(err, n, "heartbeat.%s must be a positive integer", key);
    return UV_EINVAL;
  }
  *out = v->valuedouble;
  return 0;
}

int primary__heartbeat_configure(const cJSON *v,
                                 primary__heartbeat_conf_t *next, char *err,
                                 size_t n)
{
  memset(next, 0, sizeof(*next));
  if (cJSON_IsNull(v) || cJSON_IsFalse(v))
    return 0;
  if (!ctl_is_object(v)) {
    snprintf(err, n, "heartbeat must be an object or null");
    return UV_EINVAL;
  }
  if (primary_heartbeat_positive(v, "interval_ms", 200, &next->interval_ms,
                                 err, n) != 0 ||
      primary_heartbeat_positive(v, "timeout_ms", 1000, &next->timeout_ms, err,
                                 n) != 0)
    return UV_EINVAL;
  next->on = 1;
  return 0;
}

static void primary_heartbeat_ping(sim_worker_t *w, void *arg)
{
  primary__record_t *rec = primary__record_of(w);
  uint64_t now = *(const uint64_t *)arg;
  cJSON *m;

  /* A worker is pinged once it is online: before that its agent cannot be
   * running yet. */
  if (rec == NULL || strcmp(sim_worker_state(w), "none") == 0 ||
      !sim_worker_is_connected(w))
    return;
  if (!rec->hb_seen) {
    rec->hb_seen = 1;
    rec->hb_killed = 0;
    rec->hb_last = now;
  } else if (rec->hb_killed) {
    return;
  } else if (now - rec->hb_last > primary_hb_timeout_ns) {
    rec->hb_killed = 1;
    m = primary__policy_new("heartbeat-kill");
    if (m != NULL) {
      cJSON_AddNumberToObject(m, "worker", rec->id);
      cJSON_AddNumberToObject(m, "pid", sim_worker_pid(w));
    }
    primary__send(m);
    (void)sim_worker_kill(w, SIGKILL);
    return;
  }
  m = cJSON_CreateObject();
  if (m == NULL)
    return;
  cJSON_AddStringToObject(m, "clustersim", "ping");
  cJSON_AddNumberToObject(m, "n", primary_hb_n);
  (void)sim_worker_send(w, m, NULL, NULL, NULL);
  cJSON_Delete(m);
}

static void primary_heartbeat_tick(uv_timer_t *t)
{
  uint64_t now = uv_hrtime();

  (void)t;
  primary_hb_n++;
  sim_cluster_foreach(&primary__agent.cluster, primary_heartbeat_ping, &now);
}

void primary__heartbeat_stop(void)
{
  if (primary_hb_timer_init)
    (void)uv_timer_stop(&primary_hb_timer);
  for (primary__record_t *r = primary__agent.records; r != NULL; r = r->next)
    r->hb_seen = 0;
}

void primary__heartbeat_apply(const primary__heartbeat_conf_t *next)
{
  primary__heartbeat_stop();
  if (!next->on)
    return;
  if (!primary_hb_timer_init) {
    if (uv_timer_init(primary__agent.loop, &primary_hb_timer) != 0)
      return;
    primary_hb_timer_init = 1;
  }
  primary_hb_timeout_ns = (uint64_t)next->timeout_ms * 1000000u;
  (void)uv_timer_start(&primary_hb_timer, primary_heartbeat_tick,
                       (uint64_t)next->interval_ms,
                       (uint64_t)next->interval_ms);
}

void primary__heartbeat_on_event(const sim_event_t *ev)
{
  primary__record_t *rec;

  if (ev->worker == NULL)
    return;
  rec = primary__record_of(ev->worker);
  if (rec == NULL)
    return;
  if (ev->type == SIM_EV_MESSAGE && rec->hb_seen) {
    const cJSON *tag = cJSON_GetObjectItemCaseSensitive(ev->message,
                                                        "clustersim");
    if (cJSON_IsObject(ev->message) && cJSON_IsString(tag) &&
        strcmp(tag->valuestring, "pong") == 0)
      rec->hb_last = uv_hrtime();
  } else if (ev->type == SIM_EV_EXIT) {
    rec->hb_seen = 0;
  }
}
