/*
 * explore-measure.c - what a run did to its clients and its listeners,
 * from its trace: availability (the load's totals), latency (the load's
 * latency records, merged), time without a listening worker, and for
 * every fault the requests and latencies in a window before and after it
 * and how long until as many workers listened again as just before it.
 */
#include "explore-internal.h"

#include <stdlib.h>
#include <string.h>

/* The harness actions that are faults: what the schedules inject (the
 * roles of the step table: the worker's faults, signals, and the primary
 * ending workers). */
static bool is_fault(const trace_event_t *e)
{
  scenario_step_role_t role;
  const cJSON *end;

  if (e->src != TRACE_SRC_HARNESS)
    return false;
  /* the end of the run's own cluster.disconnect() is no fault */
  end = cJSON_GetObjectItemCaseSensitive(e->json, "end");
  if (cJSON_IsTrue(end))
    return false;
  role = scenario_action_role(e->name);
  return scenario_role_is_fault(role) || role == SCENARIO_ROLE_ENDING;
}

static bool is_named(const trace_event_t *e, trace_src_t src,
                     const char *name)
{
  return e->src == src && strcmp(e->name, name) == 0;
}

/* What the event does to the listening count: +1, -1 or 0, given what
 * each worker is (up[id]). */
static int listen_delta(const trace_event_t *e, uint8_t *up, size_t n)
{
  unsigned w = e->worker;

  if (w == 0 || w >= n)
    return 0;
  if (trace_event_is(e, TRACE_EV_LISTENING, false) && !up[w]) {
    up[w] = 1;
    return 1;
  }
  if (up[w] && (trace_event_is(e, TRACE_EV_DISCONNECT, false) ||
                trace_event_is(e, TRACE_EV_EXIT, false) ||
                e->ev == TRACE_EV_W_SERVER_CLOSE ||
                is_named(e, TRACE_SRC_HARNESS, "disconnect") ||
                is_named(e, TRACE_SRC_POLICY, "restart-disconnect"))) {
    up[w] = 0;
    return -1;
  }
  return 0;
}

/* The listening count after each event: counts[i]. */
static int *listening_counts(const trace_t *tr)
{
  int *counts = calloc(tr->count + 1, sizeof(int));
  uint8_t *up = calloc(4096, 1);
  int n = 0;
  size_t i;

  if (counts == NULL || up == NULL) {
    free(counts);
    free(up);
    return NULL;
  }
  for (i = 0; i < tr->count; i++) {
    n += listen_delta(&tr->events[i], up, 4096);
    counts[i] = n;
  }
  free(up);
  return counts;
}

static uint64_t steps_end(const trace_t *tr)
{
  size_t i;

  for (i = 0; i < tr->count; i++)
    if (is_named(&tr->events[i], TRACE_SRC_HARNESS, "end"))
      return tr->events[i].t;
  return tr->count > 0 ? tr->events[tr->count - 1].t : 0;
}

static int64_t no_listener(const trace_t *tr, const int *counts,
                           uint64_t end)
{
  uint64_t total = 0, since = 0;
  bool started = false, empty = false;
  size_t i;

  for (i = 0; i < tr->count && tr->events[i].t <= end; i++) {
    if (!started && counts[i] > 0)
      started = true;
    if (!started)
      continue;
    if (counts[i] == 0 && !empty) {
      empty = true;
      since = tr->events[i].t;
    } else if (counts[i] > 0 && empty) {
      empty = false;
      total += tr->events[i].t - since;
    }
  }
  if (empty && end > since)
    total += end - since;
  return (int64_t)(total / 1000000u);
}

/* Fault at event k -> as many listening as just before it. */
static int64_t recovery(const trace_t *tr, const int *counts, size_t k,
                        uint64_t end, uint64_t window_ns)
{
  int before = k > 0 ? counts[k - 1] : 0;
  bool dropped = false;
  size_t i;

  for (i = k; i < tr->count && tr->events[i].t <= end; i++) {
    if (!dropped && tr->events[i].t > tr->events[k].t + window_ns)
      return -1;
    if (counts[i] < before)
      dropped = true;
    else if (dropped && counts[i] >= before)
      return (int64_t)((tr->events[i].t - tr->events[k].t) / 1000000u);
  }
  return dropped ? -2 : -1;
}

/* ---------------------------------------------------------------------- */
/* The load                                                                */

static void load_totals(const cJSON *j, explore_measure_t *m)
{
  static const char *const failed[] = {"refused", "reset", "timeout",
                                       "bad_status", "truncated", "error",
                                       NULL};
  const cJSON *v;
  size_t i;

  m->load = true;
  if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(j, "sent")))
    m->requests += (uint64_t)v->valuedouble;
  if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(j, "ok")))
    m->ok += (uint64_t)v->valuedouble;
  if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(j, "retried")))
    m->retried += (uint64_t)v->valuedouble;
  for (i = 0; failed[i] != NULL; i++)
    if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(j, failed[i])))
      m->failed += (uint64_t)v->valuedouble;
}

static int load_of(const trace_t *tr, explore_measure_t *m)
{
  size_t i;
  int rc = 0;

  for (i = 0; i < tr->count && rc != UV_ENOMEM; i++) {
    const trace_event_t *e = &tr->events[i];
    load_measure_t one;
    if (e->src != TRACE_SRC_LOAD)
      continue;
    if (strcmp(e->name, "totals") == 0)
      load_totals(e->json, m);
    if (strcmp(e->name, "latency") != 0)
      continue;
    /* a malformed record is left out: the figures say what they can */
    rc = load_measure_from_json(e->json, &one);
    if (rc == 0)
      rc = load_measure_merge(&m->latency, &one);
    load_measure_free(&one);
  }
  m->availability = m->requests > 0
                        ? (double)(m->ok + m->retried) / (double)m->requests
                        : 1.0;
  return rc == UV_ENOMEM ? rc : 0;
}

/* Requests and latencies in [from, to) of the merged buckets. */
static void window(const load_measure_t *lm, uint64_t from, uint64_t to,
                   uint64_t *ok, uint64_t *failed, uint64_t pct[3])
{
  uint32_t cells[LOAD_HIST_CELLS(LOAD_BUCKET_BITS)];
  uint64_t width = (uint64_t)lm->bucket_ms * 1000000u, n = 0, max = 0;
  size_t i, c;

  memset(cells, 0, sizeof(cells));
  *ok = *failed = 0;
  for (i = 0; width > 0 && i < lm->nbuckets; i++) {
    const load_bucket_t *b = &lm->buckets[i];
    uint64_t t = lm->start_ns + i * width;
    if (t + width <= from || t >= to)
      continue;
    *ok += b->ok + b->retried;
    *failed += b->failed;
    n += b->ok + b->retried;
    if (b->max_us > max)
      max = b->max_us;
    for (c = 0; c < LOAD_HIST_CELLS(LOAD_BUCKET_BITS); c++)
      cells[c] += b->cells[c];
  }
  pct[0] = load_bucket_percentile(cells, n, max, 50);
  pct[1] = load_bucket_percentile(cells, n, max, 99);
  pct[2] = max;
}

static void fault_figures(const trace_t *tr, const int *counts, size_t k,
                          uint64_t end, uint64_t win,
                          const load_measure_t *lm, explore_fault_t *f)
{
  const trace_event_t *e = &tr->events[k];
  uint64_t pct[3];

  memset(f, 0, sizeof(*f));
  snprintf(f->action, sizeof(f->action), "%s", e->name);
  f->worker = e->worker;
  f->t_ns = e->t;
  window(lm, e->t > win ? e->t - win : 0, e->t, &f->ok_before,
         &f->failed_before, pct);
  f->p50_before_us = pct[0];
  f->p99_before_us = pct[1];
  f->max_before_us = pct[2];
  window(lm, e->t, e->t + win, &f->ok_after, &f->failed_after, pct);
  f->p50_after_us = pct[0];
  f->p99_after_us = pct[1];
  f->max_after_us = pct[2];
  f->recovery_ms = recovery(tr, counts, k, end, win);
}

int explore_measure(const trace_t *tr, int64_t window_ms,
                    explore_measure_t *out)
{
  uint64_t end = steps_end(tr), win = (uint64_t)window_ms * 1000000u;
  int *counts;
  size_t i, n = 0;
  int rc;

  memset(out, 0, sizeof(*out));
  if ((rc = load_of(tr, out)) != 0)
    return rc;
  if ((counts = listening_counts(tr)) == NULL)
    return UV_ENOMEM;
  out->no_listener_ms = no_listener(tr, counts, end);
  for (i = 0; i < tr->count; i++)
    n += is_fault(&tr->events[i]) && tr->events[i].t <= end;
  out->faults = n > 0 ? calloc(n, sizeof(*out->faults)) : NULL;
  if (n > 0 && out->faults == NULL) {
    free(counts);
    return UV_ENOMEM;
  }
  for (i = 0; i < tr->count && out->n_faults < n; i++)
    if (is_fault(&tr->events[i]) && tr->events[i].t <= end)
      fault_figures(tr, counts, i, end, win, &out->latency,
                    &out->faults[out->n_faults++]);
  free(counts);
  return 0;
}

void explore_measure_free(explore_measure_t *m)
{
  if (m == NULL)
    return;
  load_measure_free(&m->latency);
  free(m->faults);
  memset(m, 0, sizeof(*m));
}
