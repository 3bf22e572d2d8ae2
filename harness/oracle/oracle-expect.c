/*
 * The scenario's expectations (`expect:` in docs/scenarios.md): what every
 * check shares, and the checks of absent and counts (the others have
 * files of their own: order, availability, values for flags, sequence
 * for timing and precedes). Every failure names the
 * worker, what was expected, what was observed with its time and event
 * index, and the scenario's file:line of the expectation.
 */
#include "oracle-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const expect_keys[SCENARIO_EXPECT_KIND_COUNT] = {
#define XX(ID, name, key, doc) [SCENARIO_EXPECT_##ID] = key,
  SCENARIO_EXPECT_MAP(XX)
#undef XX
};

static void add(oracle__expect_t *c, oracle_finding_kind_t kind,
                unsigned worker, const trace_event_t *ev, const char *fmt,
                va_list ap)
{
  char rule[40];
  char *msg = base_vasprintf(fmt, ap);

  if (msg == NULL)
    return;
  snprintf(rule, sizeof(rule), "expect.%s", expect_keys[c->e->kind]);
  oracle_findings_add(c->out, kind, rule, worker,
                      ev ? (int64_t)ev->index : -1, c->e->line, "%s:%u: %s",
                      c->s->file, c->e->line, msg);
  free(msg);
}

void oracle__expect_fail(oracle__expect_t *c, unsigned worker,
                         const trace_event_t *ev, const char *fmt, ...)
{
  va_list ap;

  c->failures++;
  va_start(ap, fmt);
  add(c, ORACLE_FINDING_FAIL, worker, ev, fmt, ap);
  va_end(ap);
}

void oracle__expect_inconclusive(oracle__expect_t *c, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  add(c, ORACLE_FINDING_INCONCLUSIVE, 0, NULL, fmt, ap);
  va_end(ap);
}

const char *oracle__describe(const oracle__expect_t *c,
                             const trace_event_t *e)
{
  static char ring[4][160];
  static unsigned next;
  char *buf = ring[next++ % 4];

  trace_event_describe(c->tr, e, buf, 160);
  return buf;
}

/* How many of the n ascending positions are below `limit`. */
static size_t below(const uint32_t *pos, size_t n, size_t limit)
{
  size_t lo = 0, hi = n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (pos[mid] < limit)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

const uint32_t *oracle__records(const oracle__expect_t *c, unsigned id,
                                size_t *n)
{
  const uint32_t *r = oracle__index_records(c->idx, id, n);

  *n = below(r, *n, c->tr->count);
  return r;
}

size_t oracle__n_forked(const oracle__expect_t *c)
{
  const oracle__index_t *x = c->idx;
  size_t lo = 0, hi = x->n_forked;

  /* forked is in fork order: the ones this view sees come first */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if ((size_t)x->slots[x->forked[mid]].fork_at < c->tr->count)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

unsigned oracle__forked_id(const oracle__expect_t *c, size_t i)
{
  return c->idx->slots[c->idx->forked[i]].id;
}

const trace_event_t *oracle__nth_event(const oracle__expect_t *c,
                                       trace_ev_t ev, bool cluster,
                                       unsigned worker, unsigned nth)
{
  const uint32_t *r = NULL;
  size_t i, n = c->tr->count;
  unsigned seen = 0;

  if (worker != 0)
    r = oracle__records(c, worker, &n);
  for (i = 0; i < n; i++) {
    const trace_event_t *e = &c->tr->events[r ? r[i] : i];
    if (trace_event_is(e, ev, cluster) && ++seen == nth)
      return e;
  }
  return NULL;
}

/* ---------------------------------------------------------------------- */
/* absent                                                                  */

static bool worker_matches(scenario_wref_t r, unsigned worker)
{
  switch (r.kind) {
  case SCENARIO_W_ID:
    return worker == r.id;
  case SCENARIO_W_ANY:
  case SCENARIO_W_EACH:
  case SCENARIO_W_NONE:
    return true;
  default:
    return false;
  }
}

void oracle__expect_absent(oracle__expect_t *c)
{
  const scenario_expect_t *e = c->e;
  const char *name = trace_ev_name(e->event);
  size_t i;

  for (i = 0; i < c->tr->count; i++) {
    const trace_event_t *ev = &c->tr->events[i];
    if (!trace_event_is(ev, e->event, e->cluster_emitter) ||
        !worker_matches(e->worker, ev->worker))
      continue;
    if (e->worker.kind == SCENARIO_W_ID)
      oracle__expect_fail(c, ev->worker, ev, "worker %u: expected no %s, "
                          "got %s", ev->worker, name, oracle__describe(c, ev));
    else if (ev->worker != 0)
      oracle__expect_fail(c, ev->worker, ev, "expected no %s of any worker, "
                          "got %s of worker %u", name,
                          oracle__describe(c, ev), ev->worker);
    else
      oracle__expect_fail(c, 0, ev, "expected no %s, got %s", name,
                          oracle__describe(c, ev));
    return;
  }
}

/* ---------------------------------------------------------------------- */
/* counts                                                                  */

bool oracle__expect_within(const scenario_expect_t *e, int64_t n)
{
  return (e->min < 0 || n >= e->min) && (e->max < 0 || n <= e->max);
}

void oracle__expect_range_text(char *buf, size_t len,
                               const scenario_expect_t *e)
{
  if (e->min == e->max)
    snprintf(buf, len, "%lld", (long long)e->min);
  else if (e->max < 0)
    snprintf(buf, len, "at least %lld", (long long)e->min);
  else if (e->min < 0)
    snprintf(buf, len, "at most %lld", (long long)e->max);
  else
    snprintf(buf, len, "%lld to %lld", (long long)e->min, (long long)e->max);
}

/* Counts the event for one worker (worker 0: for all of them). */
static void count_for(oracle__expect_t *c, unsigned worker)
{
  const scenario_expect_t *e = c->e;
  const trace_event_t *last = NULL, *over = NULL;
  const uint32_t *r = NULL;
  const char *plural, *name = trace_ev_name(e->event);
  size_t i, n = c->tr->count;
  int64_t seen = 0;
  char of[40] = "", range[64];

  if (worker != 0)
    r = oracle__records(c, worker, &n);
  for (i = 0; i < n; i++) {
    const trace_event_t *ev = &c->tr->events[r ? r[i] : i];
    if (!trace_event_is(ev, e->event, e->cluster_emitter))
      continue;
    last = ev;
    if (++seen == e->max + 1 && e->max >= 0)
      over = ev;
  }
  if (oracle__expect_within(e, seen))
    return;
  if (worker != 0)
    snprintf(of, sizeof(of), " of worker %u", worker);
  plural = (e->max == 1 || (e->max < 0 && e->min == 1)) ? "" : "s";
  oracle__expect_range_text(range, sizeof(range), e);
  if (over != NULL)
    oracle__expect_fail(c, worker, over, "expected %s %s event%s%s, got %lld "
                        "(one too many: %s)", range, name, plural, of,
                        (long long)seen, oracle__describe(c, over));
  else if (last != NULL)
    oracle__expect_fail(c, worker, last, "expected %s %s event%s%s, got %lld "
                        "(the last: %s)", range, name, plural, of,
                        (long long)seen, oracle__describe(c, last));
  else
    oracle__expect_fail(c, worker, NULL, "expected %s %s event%s%s, got none",
                        range, name, plural, of);
}

void oracle__expect_count(oracle__expect_t *c)
{
  size_t i, n;

  switch (c->e->worker.kind) {
  case SCENARIO_W_ID:
    count_for(c, c->e->worker.id);
    return;
  case SCENARIO_W_EACH:
    n = oracle__n_forked(c);
    for (i = 0; i < n; i++)
      count_for(c, oracle__forked_id(c, i));
    return;
  default:
    count_for(c, 0);
    return;
  }
}

