/*
 * explore-shrink.c - a failing schedule made small: delta debugging over
 * its actions (Zeller's ddmin: keep one chunk, else drop one, at finer
 * and finer cuts), then the load, the settle, each delay and each
 * parameter toward its simplest value, then the actions again while
 * anything still goes. The predicate decides "still fails the same way";
 * it may run the schedule several times.
 */
#include "explore-internal.h"

#include <string.h>

/* Candidates tried at most: each may be several runs. */
#define MAX_TESTS 400
/* Rounds of the whole (actions, then values) at most. */
#define MAX_ROUNDS 4

/* Candidates remembered, so that one tried before is not run again. */
#define MEMO 1024

typedef struct {
  explore_pred_fn pred;
  void *arg;
  explore_shrink_stats_t *st;
  base_buf_t *log;
  explore_schedule_t best;
  bool stop;
  uint64_t memo[MEMO];       /* hashes of the candidates that passed */
  size_t n_memo;
} shrink_t;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
  const unsigned char *b = p;
  size_t i;

  for (i = 0; i < n; i++)
    h = (h ^ b[i]) * 0x100000001B3ull;
  return h;
}

/* What a candidate is: its actions and values, nothing else. */
static uint64_t hash_of(const explore_schedule_t *s)
{
  uint64_t h = 0xCBF29CE484222325ull;
  size_t i;

  h = fnv(h, &s->n_steps, sizeof(s->n_steps));
  h = fnv(h, &s->load_connections, sizeof(s->load_connections));
  h = fnv(h, &s->load_keepalive, sizeof(s->load_keepalive));
  h = fnv(h, &s->settle_ms, sizeof(s->settle_ms));
  for (i = 0; i < s->n_steps; i++) {
    const explore_step_t *st = &s->steps[i];
    h = fnv(h, &st->action, sizeof(st->action));
    h = fnv(h, &st->worker, sizeof(st->worker));
    h = fnv(h, &st->delay_ms, sizeof(st->delay_ms));
    h = fnv(h, st->params, sizeof(st->params));
  }
  return h;
}

static bool passed_before(const shrink_t *k, uint64_t h)
{
  size_t i;

  for (i = 0; i < k->n_memo; i++)
    if (k->memo[i] == h)
      return true;
  return false;
}

/* Tries `cand`: on a failure it becomes the best. */
static bool attempt(shrink_t *k, const explore_schedule_t *cand,
                    const char *what)
{
  int r;

  uint64_t h = hash_of(cand);

  if (k->stop || k->st->tests >= MAX_TESTS) {
    k->stop = true;
    return false;
  }
  if (passed_before(k, h))
    return false;
  k->st->tests++;
  r = k->pred(cand, k->arg);
  if (r == 0 && k->n_memo < MEMO)
    k->memo[k->n_memo++] = h;
  if (k->log != NULL)
    base_buf_appendf(k->log, "try %u: %s (%zu action%s): %s\n", k->st->tests,
                     what, cand->n_steps, cand->n_steps == 1 ? "" : "s",
                     r > 0 ? "fails: kept" : r == 0 ? "passes" : "stopped");
  if (r < 0) {
    k->stop = true;
    k->st->interrupted = true;
    return false;
  }
  if (r > 0)
    k->best = *cand;
  return r > 0;
}

/* The best schedule keeping only steps [from, to) (keep) or all but them
 * (!keep). */
static void cut(const explore_schedule_t *s, size_t from, size_t to,
                bool keep, explore_schedule_t *out)
{
  size_t i;

  *out = *s;
  out->n_steps = 0;
  for (i = 0; i < s->n_steps; i++)
    if ((i >= from && i < to) == keep)
      out->steps[out->n_steps++] = s->steps[i];
}

/* One pass of ddmin at granularity n; true when something was dropped. */
static bool ddmin_pass(shrink_t *k, size_t *n)
{
  size_t len = k->best.n_steps, i, from, to;
  explore_schedule_t c;
  char what[64];
  bool keep;
  int pass;

  for (pass = 0; pass < 2; pass++)
    for (i = 0; i < *n && !k->stop; i++) {
      from = len * i / *n;
      to = len * (i + 1) / *n;
      keep = pass == 0;
      /* keeping a chunk of 2 is dropping the other chunk: done below */
      if (from == to || (keep && *n == 2 && i == 1))
        continue;
      cut(&k->best, from, to, keep, &c);
      snprintf(what, sizeof(what), "%s actions %zu-%zu",
               keep ? "keep only" : "drop", from + 1, to);
      if (attempt(k, &c, what)) {
        *n = keep ? 2 : (*n > 2 ? *n - 1 : 2);
        return true;
      }
    }
  return false;
}

static void ddmin(shrink_t *k)
{
  explore_schedule_t none;
  size_t n = 2;

  if (k->best.n_steps == 0)
    return;
  cut(&k->best, 0, 0, true, &none);
  if (attempt(k, &none, "no action at all"))
    return;
  while (k->best.n_steps >= 2 && !k->stop) {
    if (ddmin_pass(k, &n))
      continue;
    if (n >= k->best.n_steps)
      break;
    n = n * 2 < k->best.n_steps ? n * 2 : k->best.n_steps;
  }
  /* a last action alone may not be needed either */
  if (k->best.n_steps == 1 && !k->stop) {
    cut(&k->best, 0, 0, true, &none);
    attempt(k, &none, "no action at all");
  }
}

/* Halvings at most when the simplest value itself does not fail. */
#define MAX_HALVINGS 3

static int64_t *field_of(explore_schedule_t *s, size_t field)
{
  return (int64_t *)((char *)s + field);
}

static bool try_value(shrink_t *k, size_t field, int64_t v, const char *what)
{
  explore_schedule_t c = k->best;
  int64_t cur = *field_of(&c, field);
  char text[96];

  *field_of(&c, field) = v;
  snprintf(text, sizeof(text), "%s %lld -> %lld", what, (long long)cur,
           (long long)v);
  return attempt(k, &c, text);
}

/* Takes the value at `field` (an offset into the schedule) to `simplest`
 * if the schedule still fails so; else bisects between the two a few
 * times (failing is not monotonic in a value: a heuristic). */
static bool simplify(shrink_t *k, size_t field, int64_t simplest,
                     const char *what)
{
  int64_t lo = simplest, hi = *field_of(&k->best, field), mid;
  bool any = false;
  int i;

  if (hi == simplest || k->stop)
    return false;
  if (try_value(k, field, simplest, what))
    return true;
  for (i = 0; i < MAX_HALVINGS && !k->stop; i++) {
    mid = lo + (hi - lo) / 2;
    if (mid == lo || mid == hi)
      break;
    if (try_value(k, field, mid, what)) {
      hi = mid;
      any = true;
    } else {
      lo = mid;
    }
  }
  return any;
}

static size_t step_off(size_t i)
{
  return offsetof(explore_schedule_t, steps) + i * sizeof(explore_step_t);
}

static bool simplify_step(shrink_t *k, size_t i)
{
  const explore__action_t *a = &explore__actions[k->best.steps[i].action];
  bool any = false;
  char what[64];
  unsigned p;

  snprintf(what, sizeof(what), "action %zu delay", i + 1);
  any |= simplify(k, step_off(i) + offsetof(explore_step_t, delay_ms), 0,
                  what);
  for (p = 0; p < EXPLORE_MAX_PARAMS; p++) {
    if (a->params[p].kind == EXPLORE__P_NONE)
      continue;
    snprintf(what, sizeof(what), "action %zu %s", i + 1, a->params[p].name);
    any |= simplify(k, step_off(i) + offsetof(explore_step_t, params) +
                           p * sizeof(int64_t),
                    a->params[p].simplest, what);
  }
  return any;
}

static bool simplify_load(shrink_t *k)
{
  explore_schedule_t c;

  if (k->best.load_connections > 0) {
    c = k->best;
    c.load_connections = 0;
    if (attempt(k, &c, "no load"))
      return true;
  }
  if (k->best.load_connections > 1) {
    c = k->best;
    c.load_connections = 1;
    if (attempt(k, &c, "load on 1 connection"))
      return true;
  }
  if (k->best.load_connections > 0 && !k->best.load_keepalive) {
    c = k->best;
    c.load_keepalive = true;
    return attempt(k, &c, "keep-alive load");
  }
  return false;
}

/* The values, one by one; true when anything changed. */
static bool simplify_all(shrink_t *k)
{
  bool any = simplify_load(k);
  size_t i;

  any |= simplify(k, offsetof(explore_schedule_t, settle_ms), 0, "settle");
  for (i = 0; i < k->best.n_steps && !k->stop; i++)
    any |= simplify_step(k, i);
  return any;
}

int explore_shrink(const explore_schedule_t *s, explore_pred_fn pred,
                   void *arg, explore_schedule_t *out,
                   explore_shrink_stats_t *stats, base_buf_t *log)
{
  shrink_t k;
  int round;

  memset(stats, 0, sizeof(*stats));
  memset(&k, 0, sizeof(k));
  k.pred = pred;
  k.arg = arg;
  k.st = stats;
  k.log = log;
  k.best = *s;
  stats->steps_before = s->n_steps;
  for (round = 0; round < MAX_ROUNDS && !k.stop; round++) {
    size_t before = k.best.n_steps;
    ddmin(&k);
    if (!simplify_all(&k) && k.best.n_steps == before && round > 0)
      break;
  }
  *out = k.best;
  stats->steps_after = k.best.n_steps;
  return 0;
}
