/*
 * `timing` and `precedes` expectations: two points of the run (an event of
 * a worker, of any worker or of each worker, or a step of the harness) and
 * the time or the order between them. With `worker: each` on a side, the
 * check holds for every forked worker, pairing a worker's events with the
 * other side's (its own when both sides say each).
 */
#include "oracle-internal.h"

#include <stdio.h>
#include <string.h>

/* Whether `e` is the record of the harness beginning the step at `path`
 * (or a trigger running it). */
static bool is_step(const trace_event_t *e, const char *path)
{
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(e->json, "step");

  return e->src == TRACE_SRC_HARNESS && strcmp(e->name, "step") == 0 &&
         cJSON_IsString(s) && strcmp(s->valuestring, path) == 0;
}

/* The nth time the step began. */
static const trace_event_t *step_record(const oracle__expect_t *c,
                                        const char *path, unsigned nth)
{
  unsigned seen = 0;
  size_t i;

  for (i = 0; i < c->tr->count; i++)
    if (is_step(&c->tr->events[i], path) && ++seen == nth)
      return &c->tr->events[i];
  return NULL;
}

bool oracle__event_in(const trace_event_t *e, uint64_t events, bool cluster)
{
  int ev;

  for (ev = 1; ev < TRACE_EV_COUNT; ev++)
    if ((events & (1ull << ev)) && trace_event_is(e, (trace_ev_t)ev, cluster))
      return true;
  return false;
}

/* The nth event of the alternatives of worker `w` (0: of any). */
static const trace_event_t *nth_of(const oracle__expect_t *c, uint64_t events,
                                   bool cluster, unsigned w, unsigned nth)
{
  const uint32_t *r = NULL;
  size_t i, n = c->tr->count;
  unsigned seen = 0;

  if (w != 0)
    r = oracle__records(c, w, &n);
  for (i = 0; i < n; i++) {
    const trace_event_t *e = &c->tr->events[r ? r[i] : i];
    if (oracle__event_in(e, events, cluster) && ++seen == nth)
      return e;
  }
  return NULL;
}

/* The point's worker: its id, `w` for each, 0 for any. */
static unsigned point_worker(const scenario_point_t *p, unsigned w)
{
  if (p->worker.kind == SCENARIO_W_EACH)
    return w;
  return p->worker.kind == SCENARIO_W_ID ? p->worker.id : 0;
}

const trace_event_t *oracle__point_event(const oracle__expect_t *c,
                                         const scenario_point_t *p,
                                         unsigned w)
{
  if (p->step[0] != '\0')
    return step_record(c, p->step, p->nth);
  return nth_of(c, p->events, p->cluster_emitter, point_worker(p, w),
                p->nth);
}

/* "exit #1 of worker 2", "disconnect|exit #2", "step /steps/3". */
void oracle__point_text(char *buf, size_t len, const scenario_point_t *p,
                        unsigned w)
{
  size_t used = 0;
  unsigned id = point_worker(p, w);
  int ev, n = 0;

  if (p->step[0] != '\0') {
    snprintf(buf, len, p->nth > 1 ? "step %s #%u" : "step %s", p->step,
             p->nth);
    return;
  }
  if (p->events == 0) {
    snprintf(buf, len, "the start of the run");
    return;
  }
  buf[0] = '\0';
  for (ev = 1; ev < TRACE_EV_COUNT && used + 2 < len; ev++)
    if (p->events & (1ull << ev))
      used += (size_t)snprintf(buf + used, len - used, "%s%s",
                               n++ ? "|" : "", trace_ev_name(ev));
  if (used + 2 < len)
    used += (size_t)snprintf(buf + used, len - used, "%s #%u",
                             p->cluster_emitter ? " (cluster)" : "", p->nth);
  if (id != 0 && used + 2 < len)
    snprintf(buf + used, len - used, " of worker %u", id);
}

/* Calls fn for worker 0 (no side says each) or for every forked worker. */
static void for_pairs(oracle__expect_t *c,
                      void (*fn)(oracle__expect_t *c, unsigned w))
{
  const scenario_expect_t *e = c->e;
  size_t i, n;

  if (e->from.worker.kind != SCENARIO_W_EACH &&
      e->to.worker.kind != SCENARIO_W_EACH) {
    fn(c, 0);
    return;
  }
  n = oracle__n_forked(c);
  for (i = 0; i < n; i++)
    fn(c, oracle__forked_id(c, i));
}

/* The event of a point, or a failure that it is missing. */
static const trace_event_t *need(oracle__expect_t *c,
                                 const scenario_point_t *p, unsigned w,
                                 char *text, size_t len)
{
  const trace_event_t *e = oracle__point_event(c, p, w);

  oracle__point_text(text, len, p, w);
  if (e == NULL)
    oracle__expect_fail(c, point_worker(p, w), NULL,
                        "expected %s, got none", text);
  return e;
}

/* ---------------------------------------------------------------------- */
/* timing                                                                  */

static void timing_of(oracle__expect_t *c, unsigned w)
{
  const scenario_expect_t *e = c->e;
  const trace_event_t *from = NULL, *to;
  uint64_t t_from = c->tr->t0;
  char ft[128], tt[128];
  double d;

  oracle__point_text(ft, sizeof(ft), &e->from, w);
  if (e->from.events != 0 || e->from.step[0] != '\0') {
    if ((from = need(c, &e->from, w, ft, sizeof(ft))) == NULL)
      return;
    t_from = from->t;
  }
  if ((to = need(c, &e->to, w, tt, sizeof(tt))) == NULL)
    return;
  d = to->t >= t_from ? (double)(to->t - t_from) / 1e6
                      : -(double)(t_from - to->t) / 1e6;
  if (e->max_ms >= 0 && d > (double)e->max_ms)
    oracle__expect_fail(c, to->worker, to, "expected %s within %.3f s of %s, "
                        "got %.3f s (%s)", tt, (double)e->max_ms / 1e3, ft,
                        d / 1e3, oracle__describe(c, to));
  else if (e->min_ms >= 0 && d < (double)e->min_ms)
    oracle__expect_fail(c, to->worker, to, "expected %s at least %.3f s after "
                        "%s, got %.3f s (%s)", tt, (double)e->min_ms / 1e3, ft,
                        d / 1e3, oracle__describe(c, to));
}

void oracle__expect_timing(oracle__expect_t *c)
{
  for_pairs(c, timing_of);
}

/* ---------------------------------------------------------------------- */
/* precedes                                                                */

static void precedes_of(oracle__expect_t *c, unsigned w)
{
  const scenario_expect_t *e = c->e;
  const trace_event_t *a, *b;
  char at[128], bt[128];

  if ((a = need(c, &e->from, w, at, sizeof(at))) == NULL ||
      (b = need(c, &e->to, w, bt, sizeof(bt))) == NULL)
    return;
  if (a->index < b->index)
    return;
  oracle__expect_fail(c, b->worker ? b->worker : a->worker, b,
                      "expected %s before %s, got %s after %s", at, bt,
                      oracle__describe(c, a), oracle__describe(c, b));
}

/* Whether `e` is one of the point's events (any occurrence). */
static bool of_point(const trace_event_t *e, const scenario_point_t *p)
{
  if (p->step[0] != '\0')
    return is_step(e, p->step);
  if (p->worker.kind == SCENARIO_W_ID && e->worker != p->worker.id)
    return false;
  return oracle__event_in(e, p->events, p->cluster_emitter);
}

/* Every `then` event has a `first` event since the `then` before it. */
static void before_each(oracle__expect_t *c)
{
  const scenario_expect_t *e = c->e;
  const trace_event_t *prev = NULL;
  bool seen_first = false, seen_then = false;
  char at[128], bt[128];
  size_t i;

  oracle__point_text(at, sizeof(at), &e->from, 0);
  oracle__point_text(bt, sizeof(bt), &e->to, 0);
  for (i = 0; i < c->tr->count; i++) {
    const trace_event_t *ev = &c->tr->events[i];
    if (of_point(ev, &e->from))
      seen_first = true;
    if (!of_point(ev, &e->to))
      continue;
    seen_then = true;
    if (!seen_first) {
      oracle__expect_fail(c, ev->worker, ev, "expected %s before each %s, "
                          "got none before %s since %s", at, bt,
                          oracle__describe(c, ev),
                          prev ? oracle__describe(c, prev)
                               : "the start of the run");
      return;
    }
    seen_first = false;
    prev = ev;
  }
  if (!seen_then)
    oracle__expect_fail(c, 0, NULL, "expected %s, got none", bt);
}

void oracle__expect_precedes(oracle__expect_t *c)
{
  if (c->e->before_each)
    before_each(c);
  else
    for_pairs(c, precedes_of);
}
