/*
 * The scenario's expectations (`expect:` in docs/scenarios.md), checked on
 * a finished trace. Every failure names the worker, what was expected, what
 * was observed with its time and event index, and the scenario's
 * file:line of the expectation.
 */
#include "oracle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const scenario_t *s;
  const trace_t *tr;
  const trace_load_totals_t *load;
  oracle_findings_t *out;
  const scenario_expect_t *e;
  int failures;
} chk_t;

static void fail(chk_t *c, unsigned worker, const trace_event_t *ev,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void fail(chk_t *c, unsigned worker, const trace_event_t *ev,
                 const char *fmt, ...)
{
  va_list ap;
  char *msg;

  va_start(ap, fmt);
  msg = base_vasprintf(fmt, ap);
  va_end(ap);
  if (msg == NULL)
    return;
  c->failures++;
  oracle_findings_add(c->out, ORACLE_FINDING_FAIL,
                       c->e->kind == SCENARIO_EXPECT_ORDER ? "expect.order"
                       : c->e->kind == SCENARIO_EXPECT_ABSENT ? "expect.absent"
                       : c->e->kind == SCENARIO_EXPECT_FLAGS ? "expect.flags"
                       : c->e->kind == SCENARIO_EXPECT_COUNT ? "expect.counts"
                       : c->e->kind == SCENARIO_EXPECT_AVAILABILITY
                           ? "expect.availability"
                           : "expect.timing",
                       worker, ev ? (int64_t)ev->index : -1, c->e->line,
                       "%s:%u: %s", c->s->file, c->e->line, msg);
  free(msg);
}

static void inconclusive(chk_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void inconclusive(chk_t *c, const char *fmt, ...)
{
  va_list ap;
  char *msg;

  va_start(ap, fmt);
  msg = base_vasprintf(fmt, ap);
  va_end(ap);
  if (msg == NULL)
    return;
  oracle_findings_add(c->out, ORACLE_FINDING_INCONCLUSIVE,
                       "expect.availability", 0, -1, c->e->line, "%s:%u: %s",
                       c->s->file, c->e->line, msg);
  free(msg);
}

static const char *describe(const chk_t *c, const trace_event_t *e)
{
  static char ring[4][160];
  static unsigned next;
  char *buf = ring[next++ % 4];

  trace_event_describe(c->tr, e, buf, 160);
  return buf;
}

/* The worker ids that were forked, in order. */
static unsigned forked_ids(const trace_t *tr, unsigned *ids,
                           unsigned max)
{
  unsigned n = 0, k;
  size_t i;

  for (i = 0; i < tr->count && n < max; i++) {
    const trace_event_t *e = &tr->events[i];
    if (!trace_event_is(e, TRACE_EV_FORK, false) || e->worker == 0)
      continue;
    for (k = 0; k < n && ids[k] != e->worker; k++)
      ;
    if (k == n)
      ids[n++] = e->worker;
  }
  return n;
}

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

/* The nth event `ev` of `worker` (0: any worker), or NULL. */
static const trace_event_t *nth_event(const trace_t *tr,
                                        trace_ev_t ev, bool cluster,
                                        unsigned worker, unsigned nth)
{
  size_t i;
  unsigned seen = 0;

  for (i = 0; i < tr->count; i++) {
    const trace_event_t *e = &tr->events[i];
    if (!trace_event_is(e, ev, cluster))
      continue;
    if (worker != 0 && e->worker != worker)
      continue;
    if (++seen == nth)
      return e;
  }
  return NULL;
}

/* ---------------------------------------------------------------------- */
/* order                                                                   */

#define MAX_ELEMS 64

static void elems_text(char *buf, size_t len, uint64_t set, bool end)
{
  size_t used = 0;
  int i, n = 0;

  buf[0] = '\0';
  for (i = 1; i < TRACE_EV_COUNT && used + 2 < len; i++)
    if (set & (1ull << i))
      used += (size_t)snprintf(buf + used, len - used, "%s%s",
                               n++ ? "|" : "", trace_ev_name(i));
  if (end && used + 2 < len)
    snprintf(buf + used, len - used, "%s", n ? " or the end" : "the end");
}

static void check_order_worker(chk_t *c, unsigned worker)
{
  const scenario_expect_t *e = c->e;
  scenario_pattern_elem_t el[MAX_ELEMS];
  size_t m = 0, i, k;
  uint64_t mentioned = 0;
  bool state[MAX_ELEMS + 1], next[MAX_ELEMS + 1];
  const trace_event_t *last = NULL;

  /* absences first; '+' becomes "x x*" */
  for (i = 0; i < e->n_pattern && m + 2 < MAX_ELEMS; i++) {
    const scenario_pattern_elem_t *p = &e->pattern[i];
    if (p->absent) {
      for (k = 0; k < c->tr->count; k++) {
        const trace_event_t *ev = &c->tr->events[k];
        if (ev->src != TRACE_SRC_AGENT || ev->worker != worker ||
            ev->ev == TRACE_EV_NONE ||
            !(p->alternatives & (1ull << ev->ev)) ||
            !trace_event_is(ev, ev->ev, false))
          continue;
        fail(c, worker, ev, "worker %u: expected no %s, got %s", worker,
             ev->name, describe(c, ev));
        return;
      }
      continue;
    }
    mentioned |= p->alternatives;
    el[m] = *p;
    if (p->quant == '+') {
      el[m].quant = '1';
      el[++m] = *p;
      el[m].quant = '*';
    }
    m++;
  }

  memset(state, 0, sizeof(state));
  state[0] = true;
  for (k = 0;; k++) {
    const trace_event_t *ev = NULL;
    uint64_t expected = 0;

    /* epsilon closure over optional elements */
    for (i = 0; i < m; i++)
      if (state[i] && (el[i].quant == '?' || el[i].quant == '*'))
        state[i + 1] = true;
    for (; k < c->tr->count; k++) {
      const trace_event_t *x = &c->tr->events[k];
      if (x->src == TRACE_SRC_AGENT && x->worker == worker &&
          x->ev != TRACE_EV_NONE && (mentioned & (1ull << x->ev)) &&
          trace_event_is(x, x->ev, false)) {
        ev = x;
        break;
      }
    }
    for (i = 0; i < m; i++)
      if (state[i])
        expected |= el[i].alternatives;
    if (ev == NULL) {
      char want[256];
      if (state[m])
        return;
      elems_text(want, sizeof(want), expected, false);
      if (last != NULL)
        fail(c, worker, NULL,
             "worker %u: expected %s after %s, got nothing (pattern: %s)",
             worker, want, describe(c, last), e->pattern_text);
      else
        fail(c, worker, NULL,
             "worker %u: expected %s, got no events (pattern: %s)", worker,
             want, e->pattern_text);
      return;
    }
    memset(next, 0, sizeof(next));
    for (i = 0; i < m; i++) {
      if (!state[i] || !(el[i].alternatives & (1ull << ev->ev)))
        continue;
      if (el[i].quant == '*')
        next[i] = true;
      next[i + 1] = true;
    }
    for (i = 0; i <= m && !next[i]; i++)
      ;
    if (i > m) {
      char want[256];
      elems_text(want, sizeof(want), expected, state[m]);
      fail(c, worker, ev, "worker %u: expected %s, got %s (pattern: %s)",
           worker, want, describe(c, ev), e->pattern_text);
      return;
    }
    memcpy(state, next, sizeof(state));
    last = ev;
  }
}

static void check_order(chk_t *c)
{
  unsigned ids[256], n, i;

  if (c->e->worker.kind == SCENARIO_W_ID) {
    check_order_worker(c, c->e->worker.id);
    return;
  }
  n = forked_ids(c->tr, ids, 256);
  for (i = 0; i < n; i++)
    check_order_worker(c, ids[i]);
}

/* ---------------------------------------------------------------------- */

static void check_absent(chk_t *c)
{
  const scenario_expect_t *e = c->e;
  size_t i;

  for (i = 0; i < c->tr->count; i++) {
    const trace_event_t *ev = &c->tr->events[i];
    if (!trace_event_is(ev, e->event, e->cluster_emitter) ||
        !worker_matches(e->worker, ev->worker))
      continue;
    if (e->worker.kind == SCENARIO_W_ID)
      fail(c, ev->worker, ev, "worker %u: expected no %s, got %s",
           ev->worker, trace_ev_name(e->event), describe(c, ev));
    else if (ev->worker != 0)
      fail(c, ev->worker, ev, "expected no %s of any worker, got %s of "
           "worker %u", trace_ev_name(e->event), describe(c, ev),
           ev->worker);
    else
      fail(c, 0, ev, "expected no %s, got %s", trace_ev_name(e->event),
           describe(c, ev));
    return;
  }
}

/* ---------------------------------------------------------------------- */

static const char *tri_text(int v)
{
  return v < 0 ? "null" : v ? "true" : "false";
}

static void flag_bool(chk_t *c, const trace_event_t *ev, const char *who,
                      const char *name, scenario_opt_t want, int got)
{
  int w = want.is_null ? -1 : (int)want.value;

  if (!want.set || w == got)
    return;
  fail(c, ev->worker, ev, "%sexpected %s %s at %s, got %s at %s", who, name,
       tri_text(w), ev->name, tri_text(got), describe(c, ev));
}

static void check_flags_at(chk_t *c, const trace_event_t *ev)
{
  const scenario_expect_t *e = c->e;
  char who[32] = "";
  char want[32], got[32];

  if (ev->worker != 0)
    snprintf(who, sizeof(who), "worker %u: ", ev->worker);
  flag_bool(c, ev, who, "exitedAfterDisconnect", e->ead, ev->ead);
  flag_bool(c, ev, who, "isConnected()", e->connected, ev->connected);
  flag_bool(c, ev, who, "isDead()", e->dead, ev->dead);
  flag_bool(c, ev, who, "member of cluster.workers", e->member, ev->member);
  if (e->state != NULL && strcmp(e->state, ev->state) != 0)
    fail(c, ev->worker, ev, "%sexpected state '%s' at %s, got '%s' at %s",
         who, e->state, ev->name, ev->state, describe(c, ev));
  if (e->code.set) {
    int64_t have = ev->has_exit ? ev->code : -1;
    int64_t need = e->code.is_null ? -1 : e->code.value;
    if (have != need) {
      if (need < 0)
        snprintf(want, sizeof(want), "null");
      else
        snprintf(want, sizeof(want), "%lld", (long long)need);
      if (have < 0)
        snprintf(got, sizeof(got), "null");
      else
        snprintf(got, sizeof(got), "%lld", (long long)have);
      fail(c, ev->worker, ev, "%sexpected exit code %s at %s, got %s at %s",
           who, want, ev->name, got, describe(c, ev));
    }
  }
  if (e->signal.set) {
    int need = e->signal.is_null ? 0 : (int)e->signal.value;
    if (ev->signal != need) {
      const char *g = ev->signal == 0 ? "null"
                      : base_signal_name(ev->signal)
                          ? base_signal_name(ev->signal) : "?";
      fail(c, ev->worker, ev, "%sexpected signal %s at %s, got %s at %s",
           who, need ? base_signal_name(need) : "null", ev->name, g,
           describe(c, ev));
    }
  }
}

static void check_flags(chk_t *c)
{
  const scenario_expect_t *e = c->e;
  const trace_event_t *ev;
  unsigned ids[256], n, i, found = 0;

  if (e->event == TRACE_EV_PRIMARY_EXIT || e->worker.kind == SCENARIO_W_ID) {
    unsigned w = e->event == TRACE_EV_PRIMARY_EXIT ? 0 : e->worker.id;
    ev = nth_event(c->tr, e->event, e->cluster_emitter, w, e->nth);
    if (ev == NULL) {
      if (w != 0)
        fail(c, w, NULL, "worker %u: expected %s #%u to check its flags, "
             "got none", w, trace_ev_name(e->event), e->nth);
      else
        fail(c, 0, NULL, "expected %s to check its flags, got none",
             trace_ev_name(e->event));
      return;
    }
    check_flags_at(c, ev);
    return;
  }
  n = forked_ids(c->tr, ids, 256);
  for (i = 0; i < n; i++) {
    ev = nth_event(c->tr, e->event, e->cluster_emitter, ids[i], e->nth);
    if (ev == NULL)
      continue;
    found++;
    check_flags_at(c, ev);
  }
  if (found == 0)
    fail(c, 0, NULL, "expected %s of some worker to check its flags, got "
         "none", trace_ev_name(e->event));
}

/* ---------------------------------------------------------------------- */

static void check_count_for(chk_t *c, unsigned worker, bool all)
{
  const scenario_expect_t *e = c->e;
  const trace_event_t *last = NULL, *over = NULL;
  const char *plural;
  int64_t n = 0;
  size_t i;
  char of[40] = "", range[64];

  for (i = 0; i < c->tr->count; i++) {
    const trace_event_t *ev = &c->tr->events[i];
    if (!trace_event_is(ev, e->event, e->cluster_emitter))
      continue;
    if (!all && ev->worker != worker)
      continue;
    n++;
    last = ev;
    if (e->max >= 0 && n == e->max + 1)
      over = ev;
  }
  if ((e->min < 0 || n >= e->min) && (e->max < 0 || n <= e->max))
    return;
  if (!all)
    snprintf(of, sizeof(of), " of worker %u", worker);
  plural = (e->max == 1 || (e->max < 0 && e->min == 1)) ? "" : "s";
  if (e->min == e->max)
    snprintf(range, sizeof(range), "%lld", (long long)e->min);
  else if (e->max < 0)
    snprintf(range, sizeof(range), "at least %lld", (long long)e->min);
  else if (e->min < 0)
    snprintf(range, sizeof(range), "at most %lld", (long long)e->max);
  else
    snprintf(range, sizeof(range), "%lld to %lld", (long long)e->min,
             (long long)e->max);
  if (over != NULL)
    fail(c, all ? 0 : worker, over,
         "%sexpected %s %s event%s%s, got %lld (one too many: %s)",
         all ? "" : "", range, trace_ev_name(e->event),
         plural, of, (long long)n,
         describe(c, over));
  else if (last != NULL)
    fail(c, all ? 0 : worker, last, "expected %s %s event%s%s, got %lld "
         "(the last: %s)", range, trace_ev_name(e->event),
         plural, of, (long long)n,
         describe(c, last));
  else
    fail(c, all ? 0 : worker, NULL, "expected %s %s event%s%s, got none",
         range, trace_ev_name(e->event),
         plural, of);
}

static void check_count(chk_t *c)
{
  unsigned ids[256], n, i;

  switch (c->e->worker.kind) {
  case SCENARIO_W_ID:
    check_count_for(c, c->e->worker.id, false);
    return;
  case SCENARIO_W_EACH:
    n = forked_ids(c->tr, ids, 256);
    for (i = 0; i < n; i++)
      check_count_for(c, ids[i], false);
    return;
  default:
    check_count_for(c, 0, true);
    return;
  }
}

/* ---------------------------------------------------------------------- */
/* availability                                                            */

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
  return is_action(e, "shutdown") || is_action(e, "cluster-disconnect") ||
         (e->src == TRACE_SRC_HARNESS && e->ev == TRACE_EV_PRIMARY_EXIT) ||
         e->ev == TRACE_EV_SHUTDOWN_START ||
         (is_action(e, "signal") &&
          cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e->json, "to")) &&
          strcmp(cJSON_GetObjectItemCaseSensitive(e->json, "to")->valuestring,
                 "primary") == 0);
}

static void check_listening(chk_t *c)
{
  const trace_t *tr = c->tr;
  size_t i;
  uint64_t start = 0, end = UINT64_MAX;
  bool load_seen = false;
  unsigned char *listening = NULL;
  unsigned n_ids = 0, live = 0;
  const trace_event_t *first = NULL, *gap = NULL;

  /* the window: the load's life if it ran, else from the first listening
   * to the first record that stops the whole cluster */
  for (i = 0; i < tr->count; i++) {
    const trace_event_t *e = &tr->events[i];
    if (is_load(e, "start") && !load_seen) {
      start = e->t;
      load_seen = true;
    }
    if (load_seen && is_load(e, "done"))
      end = e->t;
  }
  for (i = 0; i < tr->count; i++) {
    const trace_event_t *e = &tr->events[i];
    if (trace_event_is(e, TRACE_EV_LISTENING, false)) {
      first = e;
      break;
    }
  }
  if (first == NULL) {
    inconclusive(c, "always-listening: no worker ever listened");
    return;
  }
  if (first->t > start)
    start = first->t;
  if (!load_seen)
    for (i = 0; i < tr->count; i++)
      if (ends_window(&tr->events[i]) && tr->events[i].t > start) {
        end = tr->events[i].t;
        break;
      }

  for (i = 0; i < tr->count; i++) {
    const trace_event_t *e = &tr->events[i];
    unsigned id = e->worker;
    bool up = false, down = false, all_down = false;

    if (e->t > end)
      break;
    if (trace_event_is(e, TRACE_EV_LISTENING, false))
      up = true;
    else if (trace_event_is(e, TRACE_EV_DISCONNECT, false) ||
             trace_event_is(e, TRACE_EV_EXIT, false) ||
             is_action(e, "disconnect") ||
             e->ev == TRACE_EV_RESTART_DISCONNECT)
      down = true;
    else if (is_action(e, "cluster-disconnect") ||
             e->ev == TRACE_EV_SHUTDOWN_START)
      all_down = true;
    if (up || down) {
      if (id == 0)
        continue;
      if (id > n_ids) {
        unsigned char *b = realloc(listening, id + 16);
        if (b == NULL)
          break;
        memset(b + n_ids, 0, id + 16 - n_ids);
        listening = b;
        n_ids = id + 16;
      }
      if (up && !listening[id - 1]) {
        listening[id - 1] = 1;
        live++;
      } else if (down && listening[id - 1]) {
        listening[id - 1] = 0;
        live--;
      }
    } else if (all_down) {
      if (listening != NULL)
        memset(listening, 0, n_ids);
      live = 0;
    } else {
      continue;
    }
    if (live == 0 && e->t >= start && e->t < end && gap == NULL)
      gap = e;
    if (live > 0 && gap != NULL) {
      fail(c, gap->worker, gap,
           "expected a listening worker at every moment, got none from %s "
           "to %s", describe(c, gap), describe(c, e));
      free(listening);
      return;
    }
  }
  if (gap != NULL)
    fail(c, gap->worker, gap,
         "expected a listening worker at every moment, got none from %s "
         "on", describe(c, gap));
  free(listening);
}

static void check_availability(chk_t *c)
{
  const scenario_expect_t *e = c->e;
  const trace_load_totals_t *l = c->load;

  if (e->max_failed >= 0) {
    if (l == NULL || !l->ran || l->sent < (uint64_t)e->min_requests)
      inconclusive(c, "availability was not exercised: %llu request%s, "
                   "at least %lld needed",
                   (unsigned long long)(l ? l->sent : 0),
                   l && l->sent == 1 ? "" : "s",
                   (long long)e->min_requests);
    else if (l->failed > (uint64_t)e->max_failed)
      fail(c, 0, NULL,
           "expected at most %lld failed request%s, got %llu of %llu "
           "(refused %llu, reset %llu, timeout %llu, bad status %llu, "
           "truncated %llu, error %llu; %llu retried)",
           (long long)e->max_failed,
           e->max_failed == 1 ? "" : "s", (unsigned long long)l->failed,
           (unsigned long long)l->sent, (unsigned long long)l->refused,
           (unsigned long long)l->reset, (unsigned long long)l->timeout,
           (unsigned long long)l->bad_status,
           (unsigned long long)l->truncated,
           (unsigned long long)l->error, (unsigned long long)l->retried);
  }
  if (e->always_listening)
    check_listening(c);
}

/* ---------------------------------------------------------------------- */

static const trace_event_t *point_event(chk_t *c, const scenario_point_t *p)
{
  unsigned w = p->worker.kind == SCENARIO_W_ID ? p->worker.id : 0;

  return nth_event(c->tr, p->event, false, w, p->nth);
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

static void check_timing(chk_t *c)
{
  const scenario_expect_t *e = c->e;
  const trace_event_t *from = NULL, *to;
  uint64_t t_from;
  char ft[96], tt[96];
  double d;

  point_text(ft, sizeof(ft), &e->from);
  point_text(tt, sizeof(tt), &e->to);
  if (e->from.event != TRACE_EV_NONE) {
    from = point_event(c, &e->from);
    if (from == NULL) {
      fail(c, e->from.worker.id, NULL, "expected %s, got none", ft);
      return;
    }
    t_from = from->t;
  } else {
    t_from = c->tr->t0;
  }
  to = point_event(c, &e->to);
  if (to == NULL) {
    fail(c, e->to.worker.id, NULL, "expected %s, got none", tt);
    return;
  }
  d = to->t >= t_from ? (double)(to->t - t_from) / 1e6
                      : -(double)(t_from - to->t) / 1e6;
  if (e->max_ms >= 0 && d > (double)e->max_ms)
    fail(c, to->worker, to, "expected %s within %.3f s of %s, got %.3f s "
         "(%s)", tt, (double)e->max_ms / 1e3, ft, d / 1e3, describe(c, to));
  else if (e->min_ms >= 0 && d < (double)e->min_ms)
    fail(c, to->worker, to, "expected %s at least %.3f s after %s, got "
         "%.3f s (%s)", tt, (double)e->min_ms / 1e3, ft, d / 1e3,
         describe(c, to));
}

int oracle_expect_check(const scenario_t *s,
                         const trace_t *tr,
                         const trace_load_totals_t *load,
                         oracle_findings_t *out)
{
  chk_t c;
  size_t i;

  memset(&c, 0, sizeof(c));
  c.s = s;
  c.tr = tr;
  c.load = load;
  c.out = out;
  trace_t steps_view;
  size_t end;

  /* the steps end where the harness starts its end-of-run shutdown */
  for (end = 0; end < tr->count; end++)
    if (tr->events[end].src == TRACE_SRC_HARNESS &&
        strcmp(tr->events[end].name, "end") == 0)
      break;
  steps_view = *tr;
  steps_view.count = end;
  for (i = 0; i < s->n_expects; i++) {
    c.e = &s->expects[i];
    c.tr = c.e->whole_run ? tr : &steps_view;
    switch (c.e->kind) {
    case SCENARIO_EXPECT_ORDER:
      check_order(&c);
      break;
    case SCENARIO_EXPECT_ABSENT:
      check_absent(&c);
      break;
    case SCENARIO_EXPECT_FLAGS:
      check_flags(&c);
      break;
    case SCENARIO_EXPECT_COUNT:
      check_count(&c);
      break;
    case SCENARIO_EXPECT_AVAILABILITY:
      check_availability(&c);
      break;
    case SCENARIO_EXPECT_TIMING:
      check_timing(&c);
      break;
    default:
      break;
    }
  }
  return c.failures;
}
