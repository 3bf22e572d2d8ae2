/*
 * primary-respawn.c - the respawn policy (docs/protocol.md §2.1): replace
 * a dead worker with a fork of the same env, after a back-off that doubles
 * along a lineage of start-up crashes (agents/node/lib/respawn.js).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "primary-agent.h"

enum { RESPAWN_NEVER, RESPAWN_ALWAYS, RESPAWN_UNLESS_EAD, RESPAWN_NONZERO };

static const char *const agent_respawn_modes[] = {
  "never", "always", "unless-exited-after-disconnect", "on-nonzero"
};

#define AGENT_RESPAWN_DEFAULT_MAX_MS 30000.0

typedef struct agent_respawn_timer_s {
  uv_timer_t timer;
  agent_record_t *rec;
  unsigned streak;
  double delay;
  struct agent_respawn_timer_s *next;
} agent_respawn_timer_t;

static agent_respawn_conf_t cfg = { RESPAWN_NEVER, 0, AGENT_RESPAWN_DEFAULT_MAX_MS,
                                    0 };
static agent_respawn_timer_t *timers;

int agent_respawn_configure(const cJSON *msg, agent_respawn_conf_t *next,
                            char *err, size_t n)
{
  static const char *const keys[] = { "backoff_ms", "backoff_max_ms",
                                      "startup_window_ms" };
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, "respawn");
  double *fields[] = { &next->backoff_ms, &next->backoff_max_ms,
                       &next->startup_window_ms };

  *next = cfg;
  if (v != NULL) {
    int mode = -1;
    for (int i = 0; i < 4; i++)
      if (cJSON_IsString(v) && strcmp(v->valuestring,
                                      agent_respawn_modes[i]) == 0)
        mode = i;
    if (mode < 0) {
      snprintf(err, n, "respawn must be one of never, always, "
                       "unless-exited-after-disconnect, on-nonzero");
      return UV_EINVAL;
    }
    next->mode = mode;
  }
  for (int i = 0; i < 3; i++) {
    v = cJSON_GetObjectItemCaseSensitive(msg, keys[i]);
    if (v == NULL)
      continue;
    if (!ctl_is_int(v, 0, AGENT_MAX_MS)) {
      snprintf(err, n, "%s must be a non-negative integer", keys[i]);
      return UV_EINVAL;
    }
    *fields[i] = v->valuedouble;
  }
  return 0;
}

static void agent_respawn_timer_closed(uv_handle_t *h)
{
  free(h->data);
}

static void agent_respawn_timer_drop(agent_respawn_timer_t *t)
{
  for (agent_respawn_timer_t **pp = &timers; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == t) {
      *pp = t->next;
      break;
    }
  }
  uv_close((uv_handle_t *)&t->timer, agent_respawn_timer_closed);
}

void agent_respawn_cancel(void)
{
  while (timers != NULL)
    agent_respawn_timer_drop(timers);
}

void agent_respawn_apply(const agent_respawn_conf_t *next)
{
  cfg = *next;
  /* "never" also means: no respawn that is still waiting out its delay. */
  if (cfg.mode == RESPAWN_NEVER)
    agent_respawn_cancel();
}

static void agent_respawn_now(agent_record_t *rec, unsigned streak,
                              double delay)
{
  agent_record_t *next;
  cJSON *m;

  if (A.winding || agent_fork(rec->env, &next) != 0)
    return;
  next->streak = streak;
  A.respawns++;
  m = agent_policy_new("respawn");
  if (m != NULL) {
    cJSON_AddNumberToObject(m, "old", rec->id);
    cJSON_AddNumberToObject(m, "new", next->id);
    cJSON_AddNumberToObject(m, "delay_ms", delay);
  }
  agent_send(m);
}

static void agent_respawn_on_timer(uv_timer_t *handle)
{
  agent_respawn_timer_t *t = handle->data;
  agent_record_t *rec = t->rec;
  unsigned streak = t->streak;
  double delay = t->delay;

  agent_respawn_timer_drop(t);
  agent_respawn_now(rec, streak, delay);
}

static int agent_respawn_wanted(const sim_event_t *ev)
{
  switch (cfg.mode) {
  case RESPAWN_ALWAYS:
    return 1;
  case RESPAWN_UNLESS_EAD:
    return sim_worker_exited_after_disconnect(ev->worker) != 1;
  case RESPAWN_NONZERO:
    return ev->term_signal != 0 || ev->exit_code != 0;
  default:
    return 0;
  }
}

/* After the reported exit, so that the respawn follows it. */
void agent_respawn_on_event(const sim_event_t *ev)
{
  agent_record_t *rec;
  agent_respawn_timer_t *t;
  double lived, delay;
  unsigned streak;
  int startup;

  if (ev->type != SIM_EV_EXIT)
    return;
  rec = agent_record(sim_worker_id(ev->worker));
  if (rec == NULL || rec->retired || A.winding || !agent_respawn_wanted(ev))
    return;
  lived = (double)((uv_hrtime() - rec->forked_at) / 1000000u);
  startup = cfg.startup_window_ms > 0 && lived < cfg.startup_window_ms;
  streak = startup ? rec->streak + 1 : 0;
  delay = cfg.backoff_ms;
  if (startup) {
    for (unsigned i = 1; i < streak && delay < cfg.backoff_max_ms; i++)
      delay *= 2;
    if (delay > cfg.backoff_max_ms)
      delay = cfg.backoff_max_ms;
  }
  if (delay == 0) {
    agent_respawn_now(rec, streak, delay);
    return;
  }
  t = calloc(1, sizeof(*t));
  if (t == NULL || uv_timer_init(A.loop, &t->timer) != 0) {
    free(t);
    return;
  }
  t->timer.data = t;
  t->rec = rec;
  t->streak = streak;
  t->delay = delay;
  t->next = timers;
  timers = t;
  (void)uv_timer_start(&t->timer, agent_respawn_on_timer, (uint64_t)delay, 0);
}
