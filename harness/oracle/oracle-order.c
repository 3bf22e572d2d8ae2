/*
 * `order` expectations: a worker's events, keeping only the kinds the
 * pattern names, must spell the pattern. The pattern is run as a
 * nondeterministic automaton (one state per element, plus the end), so
 * alternatives and quantifiers never backtrack: linear in the worker's
 * events times the pattern's length.
 */
#include "oracle-internal.h"

#include <stdio.h>
#include <string.h>

#define MAX_ELEMS 64

typedef struct {
  scenario_pattern_elem_t el[MAX_ELEMS];
  size_t m;                   /* elements; state m is the end */
  uint64_t mentioned;         /* every event the pattern names */
  bool state[MAX_ELEMS + 1];
} nfa_t;

static bool mine(const trace_event_t *x, unsigned worker, uint64_t kinds)
{
  return x->src == TRACE_SRC_AGENT && x->worker == worker &&
         x->ev != TRACE_EV_NONE && (kinds & (1ull << x->ev)) &&
         trace_event_is(x, x->ev, false);
}

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

/* The absences ("!event") first: any such event of the worker fails the
 * pattern at once. False when one did. */
static bool absences_hold(oracle__expect_t *c, unsigned worker,
                          const uint32_t *r, size_t n)
{
  const scenario_expect_t *e = c->e;
  size_t i, k;

  for (i = 0; i < e->n_pattern; i++) {
    if (!e->pattern[i].absent)
      continue;
    for (k = 0; k < n; k++) {
      const trace_event_t *ev = &c->tr->events[r[k]];
      if (!mine(ev, worker, e->pattern[i].alternatives))
        continue;
      oracle__expect_fail(c, worker, ev, "worker %u: expected no %s, got %s",
                          worker, ev->name, oracle__describe(c, ev));
      return false;
    }
  }
  return true;
}

/* The elements to match; '+' becomes "x x*". */
static void compile(nfa_t *a, const scenario_expect_t *e)
{
  size_t i;

  memset(a, 0, sizeof(*a));
  for (i = 0; i < e->n_pattern && a->m + 2 < MAX_ELEMS; i++) {
    const scenario_pattern_elem_t *p = &e->pattern[i];
    if (p->absent)
      continue;
    a->mentioned |= p->alternatives;
    a->el[a->m] = *p;
    if (p->quant == '+') {
      a->el[a->m].quant = '1';
      a->el[++a->m] = *p;
      a->el[a->m].quant = '*';
    }
    a->m++;
  }
  a->state[0] = true;
}

/* Skips over optional elements; returns what may come next. */
static uint64_t closure(nfa_t *a)
{
  uint64_t expected = 0;
  size_t i;

  for (i = 0; i < a->m; i++)
    if (a->state[i] && (a->el[i].quant == '?' || a->el[i].quant == '*'))
      a->state[i + 1] = true;
  for (i = 0; i < a->m; i++)
    if (a->state[i])
      expected |= a->el[i].alternatives;
  return expected;
}

/* Takes one event; false when no state accepts it. */
static bool step(nfa_t *a, trace_ev_t ev)
{
  bool next[MAX_ELEMS + 1] = {false};
  bool any = false;
  size_t i;

  for (i = 0; i < a->m; i++) {
    if (!a->state[i] || !(a->el[i].alternatives & (1ull << ev)))
      continue;
    if (a->el[i].quant == '*')
      next[i] = true;
    next[i + 1] = true;
    any = true;
  }
  memcpy(a->state, next, sizeof(next));
  return any;
}

static void ran_out(oracle__expect_t *c, unsigned worker, uint64_t expected,
                    const trace_event_t *last)
{
  char want[256];

  elems_text(want, sizeof(want), expected, false);
  if (last != NULL)
    oracle__expect_fail(c, worker, NULL, "worker %u: expected %s after %s, "
                        "got nothing (pattern: %s)", worker, want,
                        oracle__describe(c, last), c->e->pattern_text);
  else
    oracle__expect_fail(c, worker, NULL, "worker %u: expected %s, got no "
                        "events (pattern: %s)", worker, want,
                        c->e->pattern_text);
}

static void order_of(oracle__expect_t *c, unsigned worker)
{
  const trace_event_t *last = NULL;
  const uint32_t *r;
  size_t n, k;
  nfa_t a;

  r = oracle__records(c, worker, &n);
  if (!absences_hold(c, worker, r, n))
    return;
  compile(&a, c->e);
  for (k = 0; k <= n; k++) {
    const trace_event_t *ev = k < n ? &c->tr->events[r[k]] : NULL;
    uint64_t expected;
    char want[256];
    bool at_end;

    if (ev != NULL && !mine(ev, worker, a.mentioned))
      continue;
    expected = closure(&a);
    at_end = a.state[a.m];
    if (ev == NULL) {
      if (!at_end)
        ran_out(c, worker, expected, last);
      return;
    }
    if (!step(&a, ev->ev)) {
      elems_text(want, sizeof(want), expected, at_end);
      oracle__expect_fail(c, worker, ev, "worker %u: expected %s, got %s "
                          "(pattern: %s)", worker, want,
                          oracle__describe(c, ev), c->e->pattern_text);
      return;
    }
    last = ev;
  }
}

void oracle__expect_order(oracle__expect_t *c)
{
  size_t i, n;

  if (c->e->worker.kind == SCENARIO_W_ID) {
    order_of(c, c->e->worker.id);
    return;
  }
  n = oracle__n_forked(c);
  for (i = 0; i < n; i++)
    order_of(c, oracle__forked_id(c, i));
}
