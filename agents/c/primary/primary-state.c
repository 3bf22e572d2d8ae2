/*
 * primary-state.c - what the agent knows beyond the cluster itself (as
 * agents/node/lib/primary-state.cjs): a record of every worker it forked,
 * which of them are alive, the counters of the metrics endpoint, and the
 * env every fork gets.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "primary-internal.h"

int primary__env_merge(cJSON *into, const cJSON *env)
{
  const cJSON *item;

  cJSON_ArrayForEach(item, env) {
    /* Env values reach the worker as strings; a structured value (such as
     * a CLUSTERSIM_WORKER object) is JSON-encoded. */
    char *text = cJSON_IsString(item) ? NULL : cJSON_PrintUnformatted(item);
    cJSON *v = cJSON_CreateString(text != NULL ? text : item->valuestring);
    cJSON_free(text);
    if (v == NULL)
      return UV_ENOMEM;
    if (cJSON_GetObjectItemCaseSensitive(into, item->string) != NULL)
      cJSON_ReplaceItemInObjectCaseSensitive(into, item->string, v);
    else
      cJSON_AddItemToObject(into, item->string, v);
  }
  return 0;
}

/* "K=V" strings for sim, NULL-terminated; one allocation. */
static char **primary_env_strv(const cJSON *env)
{
  const cJSON *item;
  size_t n = 0, bytes = 0;
  char **v, *p;

  cJSON_ArrayForEach(item, env) {
    n++;
    bytes += strlen(item->string) + strlen(item->valuestring) + 2;
  }
  v = malloc((n + 1) * sizeof(*v) + bytes);
  if (v == NULL)
    return NULL;
  p = (char *)(v + n + 1);
  n = 0;
  cJSON_ArrayForEach(item, env) {
    size_t k = strlen(item->string), l = strlen(item->valuestring);
    v[n++] = p;
    memcpy(p, item->string, k);
    p[k] = '=';
    memcpy(p + k + 1, item->valuestring, l + 1);
    p += k + l + 2;
  }
  v[n] = NULL;
  return v;
}

void primary__freeze(void)
{
  if (primary__agent.setup_done)
    return;
  primary__agent.setup_done = 1;
  primary__agent.frozen_policy = primary__agent.cluster.scheduling_policy;
}

/* The only way the agent forks, so that every worker is recorded. */
int primary__fork(const cJSON *env, primary__record_t **ret)
{
  primary__record_t *rec = calloc(1, sizeof(*rec));
  char **strv = NULL;
  int err = UV_ENOMEM;

  if (rec == NULL)
    return UV_ENOMEM;
  rec->env = cJSON_Duplicate(primary__agent.setup_env, 1);
  if (rec->env == NULL || primary__env_merge(rec->env, env) != 0)
    goto out;
  strv = primary_env_strv(rec->env);
  if (strv == NULL)
    goto out;
  primary__freeze();
  err = sim_cluster_fork(&primary__agent.cluster, (const char *const *)strv,
                         &rec->worker);
  if (err != 0)
    goto out;
  /* fork() calls setupPrimary(): its `setup` event has the settings */
  primary__report_setup_snapshot();
  rec->id = sim_worker_id(rec->worker);
  primary__agent.last_forked = rec->id;
  sim_worker_set_data(rec->worker, rec);
  rec->forked_at = uv_hrtime();
  rec->alive = 1;
  *primary__agent.records_tail = rec;
  primary__agent.records_tail = &rec->next;
  primary__agent.forks++;
  *ret = rec;
  rec = NULL;

out:
  free(strv);
  if (rec != NULL) {
    cJSON_Delete(rec->env);
    free(rec);
  }
  return err;
}

primary__record_t *primary__record(unsigned id)
{
  for (primary__record_t *r = primary__agent.records; r != NULL; r = r->next)
    if (r->id == id)
      return r;
  return NULL;
}

static void primary_state_gone(primary__record_t *rec)
{
  if (rec == NULL || !rec->alive)
    return;
  rec->alive = 0;
  primary__agent.exits++;
}

primary__record_t *primary__record_of(const sim_worker_t *w)
{
  return w != NULL ? sim_worker_get_data(w) : NULL;
}

void primary__state_on_event(const sim_event_t *ev)
{
  primary__record_t *rec = primary__record_of(ev->worker);

  if (rec == NULL)
    return;
  if (ev->type == SIM_EV_DISCONNECT && ev->emitter == SIM_ON_CLUSTER)
    rec->disconnect_reported = 1;
  else if (ev->type == SIM_EV_EXIT && ev->emitter == SIM_ON_CLUSTER)
    primary_state_gone(rec);
  else if (ev->type == SIM_EV_ERROR && sim_worker_pid(ev->worker) <= 0)
    /* A spawn failure never exits: without a pid there is no process to
     * wait for. */
    primary_state_gone(rec);
}

void primary__kill_all(int signum)
{
  for (primary__record_t *r = primary__agent.records; r != NULL; r = r->next)
    if (r->alive)
      (void)sim_worker_kill(r->worker, signum);
}
