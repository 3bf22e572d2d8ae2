/*
 * `availability` expectations: the load generator's failed requests
 * against a budget, and "always listening": some worker listening at every
 * moment of a window.
 */
#include "oracle-internal.h"

#include <stdlib.h>
#include <string.h>

static bool is_action(const trace_event_t *e, const char *name)
{
  return e->src == TRACE_SRC_HARNESS && strcmp(e->name, name) == 0;
}

static bool is_load(const trace_event_t *e, const char *what)
{
  return e->src == TRACE_SRC_LOAD && strcmp(e->name, what) == 0;
}

/* Is the whole cluster stopping at this record? */
static bool ends_window(const trace_event_t *e)
{
  const cJSON *to = cJSON_GetObjectItemCaseSensitive(e->json, "to");

  return is_action(e, "shutdown") || is_action(e, "cluster-disconnect") ||
         (e->src == TRACE_SRC_HARNESS && e->ev == TRACE_EV_PRIMARY_EXIT) ||
         e->ev == TRACE_EV_SHUTDOWN_START ||
         (is_action(e, "signal") && cJSON_IsString(to) &&
          strcmp(to->valuestring, "primary") == 0);
}

/* The window: the load's life if it ran, else from the first listening to
 * the first record that stops the whole cluster. False when no worker
 * ever listened. */
static bool window(const trace_t *tr, uint64_t *start, uint64_t *end)
{
  const trace_event_t *first = NULL;
  bool load_seen = false;
  size_t i;

  *start = 0;
  *end = UINT64_MAX;
  for (i = 0; i < tr->count; i++) {
    const trace_event_t *e = &tr->events[i];
    if (is_load(e, "start") && !load_seen) {
      *start = e->t;
      load_seen = true;
    }
    if (load_seen && is_load(e, "done"))
      *end = e->t;
    if (first == NULL && trace_event_is(e, TRACE_EV_LISTENING, false))
      first = e;
  }
  if (first == NULL)
    return false;
  if (first->t > *start)
    *start = first->t;
  for (i = 0; i < tr->count && !load_seen; i++)
    if (ends_window(&tr->events[i]) && tr->events[i].t > *start) {
      *end = tr->events[i].t;
      break;
    }
  return true;
}

typedef enum { LS_NONE, LS_UP, LS_DOWN, LS_ALL_DOWN } ls_change_t;

/* What a record changes in who is listening. */
static ls_change_t change_of(const trace_event_t *e)
{
  if (trace_event_is(e, TRACE_EV_LISTENING, false))
    return e->worker != 0 ? LS_UP : LS_NONE;
  if (trace_event_is(e, TRACE_EV_DISCONNECT, false) ||
      trace_event_is(e, TRACE_EV_EXIT, false) ||
      is_action(e, "disconnect") || e->ev == TRACE_EV_RESTART_DISCONNECT)
    return e->worker != 0 ? LS_DOWN : LS_NONE;
  if (is_action(e, "cluster-disconnect") || e->ev == TRACE_EV_SHUTDOWN_START)
    return LS_ALL_DOWN;
  return LS_NONE;
}

typedef struct {
  unsigned char *listening;   /* per index slot */
  size_t n_slots;
  unsigned live;
} live_set_t;

static void apply(live_set_t *ls, const oracle__index_t *idx,
                  const trace_event_t *e, ls_change_t ch)
{
  long s = ch == LS_ALL_DOWN ? -1 : oracle__index_slot(idx, e->worker);

  if (ch == LS_ALL_DOWN) {
    memset(ls->listening, 0, ls->n_slots);
    ls->live = 0;
  } else if (s < 0) {
    return;
  } else if (ch == LS_UP && !ls->listening[s]) {
    ls->listening[s] = 1;
    ls->live++;
  } else if (ch == LS_DOWN && ls->listening[s]) {
    ls->listening[s] = 0;
    ls->live--;
  }
}

static void check_listening(oracle__expect_t *c)
{
  const trace_t *tr = c->tr;
  const trace_event_t *gap = NULL, *back = NULL;
  uint64_t start, end;
  live_set_t ls = {NULL, c->idx->n_slots, 0};
  size_t i;

  if (!window(tr, &start, &end)) {
    oracle__expect_inconclusive(c, "always-listening: no worker ever "
                                "listened");
    return;
  }
  ls.listening = calloc(ls.n_slots + 1, 1);
  if (ls.listening == NULL)
    return;
  for (i = 0; i < tr->count && tr->events[i].t <= end && back == NULL; i++) {
    const trace_event_t *e = &tr->events[i];
    ls_change_t ch = change_of(e);
    if (ch == LS_NONE)
      continue;
    apply(&ls, c->idx, e, ch);
    if (ls.live == 0 && e->t >= start && e->t < end && gap == NULL)
      gap = e;
    if (ls.live > 0 && gap != NULL)
      back = e;
  }
  if (back != NULL)
    oracle__expect_fail(c, gap->worker, gap, "expected a listening worker at "
                        "every moment, got none from %s to %s",
                        oracle__describe(c, gap), oracle__describe(c, back));
  else if (gap != NULL)
    oracle__expect_fail(c, gap->worker, gap, "expected a listening worker at "
                        "every moment, got none from %s on",
                        oracle__describe(c, gap));
  free(ls.listening);
}

static void check_budget(oracle__expect_t *c)
{
  const scenario_expect_t *e = c->e;
  const trace_load_totals_t *l = c->load;

  if (l == NULL || !l->ran || l->sent < (uint64_t)e->min_requests)
    oracle__expect_inconclusive(
        c, "availability was not exercised: %llu request%s, at least %lld "
        "needed", (unsigned long long)(l ? l->sent : 0),
        l && l->sent == 1 ? "" : "s", (long long)e->min_requests);
  else if (l->failed > (uint64_t)e->max_failed)
    oracle__expect_fail(
        c, 0, NULL, "expected at most %lld failed request%s, got %llu of "
        "%llu (refused %llu, reset %llu, timeout %llu, bad status %llu, "
        "truncated %llu, error %llu; %llu retried)",
        (long long)e->max_failed, e->max_failed == 1 ? "" : "s",
        (unsigned long long)l->failed, (unsigned long long)l->sent,
        (unsigned long long)l->refused, (unsigned long long)l->reset,
        (unsigned long long)l->timeout, (unsigned long long)l->bad_status,
        (unsigned long long)l->truncated, (unsigned long long)l->error,
        (unsigned long long)l->retried);
}

void oracle__expect_availability(oracle__expect_t *c)
{
  if (c->e->max_failed >= 0)
    check_budget(c);
  if (c->e->always_listening)
    check_listening(c);
}
