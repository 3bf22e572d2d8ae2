/*
 * The scenario's expectations (`expect:` in docs/scenarios.md): what every
 * check shares, and the checks of absent, flags, counts and timing (order
 * and availability have files of their own). Every failure names the
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
/* flags                                                                   */

static const char *tri_text(int v)
{
  return v < 0 ? "null" : v ? "true" : "false";
}

static void flag_bool(oracle__expect_t *c, const trace_event_t *ev,
                      const char *who, const char *name, scenario_opt_t want,
                      int got)
{
  int w = want.is_null ? -1 : (int)want.value;

  if (!want.set || w == got)
    return;
  oracle__expect_fail(c, ev->worker, ev, "%sexpected %s %s at %s, got %s at "
                      "%s", who, name, tri_text(w), ev->name, tri_text(got),
                      oracle__describe(c, ev));
}

static void int_text(char *buf, size_t len, int64_t v)
{
  if (v < 0)
    snprintf(buf, len, "null");
  else
    snprintf(buf, len, "%lld", (long long)v);
}

static void flag_code(oracle__expect_t *c, const trace_event_t *ev,
                      const char *who)
{
  const scenario_opt_t *want = &c->e->code;
  int64_t have = ev->has_exit ? ev->code : -1;
  int64_t need = want->is_null ? -1 : want->value;
  char need_text[32], have_text[32];

  if (!want->set || have == need)
    return;
  int_text(need_text, sizeof(need_text), need);
  int_text(have_text, sizeof(have_text), have);
  oracle__expect_fail(c, ev->worker, ev, "%sexpected exit code %s at %s, got "
                      "%s at %s", who, need_text, ev->name, have_text,
                      oracle__describe(c, ev));
}

static const char *signal_text(int sig)
{
  const char *name = base_signal_name(sig);

  if (sig == 0)
    return "null";
  return name ? name : "?";
}

static void flag_signal(oracle__expect_t *c, const trace_event_t *ev,
                        const char *who)
{
  const scenario_opt_t *want = &c->e->signal;
  int need = want->is_null ? 0 : (int)want->value;

  if (!want->set || ev->signal == need)
    return;
  oracle__expect_fail(c, ev->worker, ev, "%sexpected signal %s at %s, got %s "
                      "at %s", who, need ? base_signal_name(need) : "null",
                      ev->name, signal_text(ev->signal),
                      oracle__describe(c, ev));
}

static void flags_at(oracle__expect_t *c, const trace_event_t *ev)
{
  const scenario_expect_t *e = c->e;
  char who[32] = "";

  if (ev->worker != 0)
    snprintf(who, sizeof(who), "worker %u: ", ev->worker);
  flag_bool(c, ev, who, "exitedAfterDisconnect", e->ead, ev->ead);
  flag_bool(c, ev, who, "isConnected()", e->connected, ev->connected);
  flag_bool(c, ev, who, "isDead()", e->dead, ev->dead);
  flag_bool(c, ev, who, "member of cluster.workers", e->member, ev->member);
  if (e->state != NULL && strcmp(e->state, ev->state) != 0)
    oracle__expect_fail(c, ev->worker, ev, "%sexpected state '%s' at %s, got "
                        "'%s' at %s", who, e->state, ev->name, ev->state,
                        oracle__describe(c, ev));
  flag_code(c, ev, who);
  flag_signal(c, ev, who);
}

/* One worker named, or the primary's exit: its event must be there. */
static void flags_of_one(oracle__expect_t *c, unsigned w)
{
  const scenario_expect_t *e = c->e;
  const trace_event_t *ev =
      oracle__nth_event(c, e->event, e->cluster_emitter, w, e->nth);

  if (ev != NULL)
    flags_at(c, ev);
  else if (w != 0)
    oracle__expect_fail(c, w, NULL, "worker %u: expected %s #%u to check its "
                        "flags, got none", w, trace_ev_name(e->event),
                        e->nth);
  else
    oracle__expect_fail(c, 0, NULL, "expected %s to check its flags, got "
                        "none", trace_ev_name(e->event));
}

void oracle__expect_flags(oracle__expect_t *c)
{
  const scenario_expect_t *e = c->e;
  size_t i, n, found = 0;

  if (e->event == TRACE_EV_PRIMARY_EXIT) {
    flags_of_one(c, 0);
    return;
  }
  if (e->worker.kind == SCENARIO_W_ID) {
    flags_of_one(c, e->worker.id);
    return;
  }
  n = oracle__n_forked(c);
  for (i = 0; i < n; i++) {
    const trace_event_t *ev = oracle__nth_event(
        c, e->event, e->cluster_emitter, oracle__forked_id(c, i), e->nth);
    if (ev == NULL)
      continue;
    found++;
    flags_at(c, ev);
  }
  if (found == 0)
    oracle__expect_fail(c, 0, NULL, "expected %s of some worker to check its "
                        "flags, got none", trace_ev_name(e->event));
}

/* ---------------------------------------------------------------------- */
/* counts                                                                  */

static void range_text(char *buf, size_t len, const scenario_expect_t *e)
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
  if ((e->min < 0 || seen >= e->min) && (e->max < 0 || seen <= e->max))
    return;
  if (worker != 0)
    snprintf(of, sizeof(of), " of worker %u", worker);
  plural = (e->max == 1 || (e->max < 0 && e->min == 1)) ? "" : "s";
  range_text(range, sizeof(range), e);
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

/* ---------------------------------------------------------------------- */
/* timing                                                                  */

static const trace_event_t *point_event(oracle__expect_t *c,
                                        const scenario_point_t *p)
{
  unsigned w = p->worker.kind == SCENARIO_W_ID ? p->worker.id : 0;

  return oracle__nth_event(c, p->event, false, w, p->nth);
}

static void point_text(char *buf, size_t len, const scenario_point_t *p)
{
  if (p->event == TRACE_EV_NONE)
    snprintf(buf, len, "the start of the run");
  else if (p->worker.kind == SCENARIO_W_ID)
    snprintf(buf, len, "%s #%u of worker %u", trace_ev_name(p->event),
             p->nth, p->worker.id);
  else
    snprintf(buf, len, "%s #%u", trace_ev_name(p->event), p->nth);
}

void oracle__expect_timing(oracle__expect_t *c)
{
  const scenario_expect_t *e = c->e;
  const trace_event_t *from = NULL, *to;
  uint64_t t_from = c->tr->t0;
  char ft[96], tt[96];
  double d;

  point_text(ft, sizeof(ft), &e->from);
  point_text(tt, sizeof(tt), &e->to);
  if (e->from.event != TRACE_EV_NONE) {
    from = point_event(c, &e->from);
    if (from == NULL) {
      oracle__expect_fail(c, e->from.worker.id, NULL, "expected %s, got none",
                          ft);
      return;
    }
    t_from = from->t;
  }
  to = point_event(c, &e->to);
  if (to == NULL) {
    oracle__expect_fail(c, e->to.worker.id, NULL, "expected %s, got none", tt);
    return;
  }
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
