/*
 * primary-respawn.c - the respawn policy (docs/protocol.md §2.1): replace
 * a dead worker with a fork of the same env, after a back-off that doubles
 * along a lineage of start-up crashes (agents/node/lib/respawn.cjs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "primary-internal.h"

enum { RESPAWN_NEVER, RESPAWN_ALWAYS, RESPAWN_UNLESS_EAD, RESPAWN_NONZERO };

static const char *const primary_respawn_modes[] = {
  "never", "always", "unless-exited-after-disconnect", "on-nonzero"
};

#define PRIMARY_RESPAWN_DEFAULT_MAX_MS 30000.0

typedef struct primary_respawn_timer_s {
  uv_timer_t timer;
  primary__record_t *rec;
  unsigned streak;
  double delay;
  struct primary_respawn_timer_s *next;
} primary_respawn_timer_t;

static primary__respawn_conf_t cfg = {
  RESPAWN_NEVER, 0, PRIMARY_RESPAWN_DEFAULT_MAX_MS, 0
};
static primary_respawn_timer_t *timers;

int primary__respawn_configure(const cJSON *msg, primary__respawn_conf_t *next,
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
                                      primary_respawn_modes[i]) == 0)
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
    if (!ctl_is_int(v, 0, PRIMARY_MAX_MS)) {
      snprintf(err, n, "%s must be a non-negative integer", keys[i]);
      return UV_EINVAL;
    }
    *fields[i] = v->valuedouble;
  }
  return 0;
}

static void primary_respawn_timer_closed(uv_handle_t *h)
{
  free(h->data);
}

static void primary_respawn_timer_drop(primary_respawn_timer_t *t)
{
  for (primary_respawn_timer_t **pp = &timers; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == t) {
      *pp = t->next;
      break;
    }
  }
  uv_close((uv_handle_t *)&t->timer, primary_respawn_timer_closed);
}

void primary__respawn_cancel(void)
{
  while (timers != NULL)
    primary_respawn_timer_drop(timers);
}

void primary__respawn_apply(const primary__respawn_conf_t *next)
{
  cfg = *next;
  /* "never" also means: no respawn that is still waiting out its delay. */
  if (cfg.mode == RESPAWN_NEVER)
    primary__respawn_cancel();
}

static void primary_respawn_now(primary__record_t *rec, unsigned streak,
                                double delay)
{
  primary__record_t *next;
  cJSON *m;

  if (primary__agent.winding || primary__fork(rec->env, &next) != 0)
    return;
  next->streak = streak;
  primary__agent.respawns++;
  m = primary__policy_new("respawn");
  if (m != NULL) {
    cJSON_AddNumberToObject(m, "old", rec->id);
    cJSON_AddNumberToObject(m, "new", next->id);
    cJSON_AddNumberToObject(m, "delay_ms", delay);
  }
  primary__send(m);
}

static void primary_respawn_on_timer(uv_timer_t *handle)
{
  primary_respawn_timer_t *t = handle->data;
  primary__record_t *rec = t->rec;
  unsigned streak = t->streak;
  double delay = t->delay;

  primary_respawn_timer_drop(t);
  primary_respawn_now(rec, streak, delay);
}

static int primary_respawn_wanted(const sim_event_t *ev)
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
void primary__respawn_on_event(const sim_event_t *ev)
{
  primary__record_t *rec;
  primary_respawn_timer_t *t;
  double lived, delay;
  unsigned streak;
  int startup;

  if (ev->type != SIM_EV_EXIT)
    return;
  rec = primary__record_of(ev->worker);
  if (rec == NULL || rec->retired || primary__agent.winding ||
      !primary_respawn_wanted(ev))
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
    primary_respawn_now(rec, streak, delay);
    return;
  }
  t = calloc(1, sizeof(*t));
  if (t == NULL || uv_timer_init(primary__agent.loop, &t->timer) != 0) {
    free(t);
    return;
  }
  t->timer.data = t;
  t->rec = rec;
  t->streak = streak;
  t->delay = delay;
  t->next = timers;
  timers = t;
  (void)uv_timer_start(&t->timer, primary_respawn_on_timer, (uint64_t)delay, 0);
}
