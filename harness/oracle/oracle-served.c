/*
 * `served` expectations: the load generator records every request (with
 * the worker named by the response's X-Worker, the client address and the
 * connection), and these check who served what: how many per worker, in
 * a window of the run, strict round-robin rotation, affinity of a client
 * or a connection to one worker, and the failed outcomes.
 */
#include "oracle-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const trace_event_t *ev;
  double seq;
  unsigned worker;
} req_t;

static const char *str_of(const cJSON *j, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

  return cJSON_IsString(v) ? v->valuestring : "";
}

static double num_of(const cJSON *j, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

  return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static bool is_load(const trace_event_t *e, const char *what)
{
  return e->src == TRACE_SRC_LOAD && strcmp(e->name, what) == 0;
}

/* Whether a request's outcome is the one asked for: `ok` is served (ok or
 * retried), `failed` any failure. */
static bool outcome_is(const char *have, const char *want)
{
  if (strcmp(want, "ok") == 0)
    return strcmp(have, "ok") == 0 || strcmp(have, "retried") == 0;
  if (strcmp(want, "failed") == 0)
    return strcmp(have, "ok") != 0 && strcmp(have, "retried") != 0 &&
           strcmp(have, "cancelled") != 0;
  return strcmp(have, want) == 0;
}

/* The window a point opens (after) or closes (before), for worker `w`
 * when it says each; false (a failure noted) when it never came. */
static bool bound_of(oracle__expect_t *c, const scenario_point_t *p,
                     unsigned w, uint64_t *t, bool *set)
{
  const trace_event_t *e;
  char text[128];

  *set = p->events != 0 || p->step[0] != '\0';
  if (!*set)
    return true;
  if ((e = oracle__point_event(c, p, w)) == NULL) {
    oracle__point_text(text, sizeof(text), p, w);
    oracle__expect_fail(c, w, NULL, "expected %s to start the window of the "
                        "requests, got none", text);
    return false;
  }
  *t = e->t;
  return true;
}

static int by_seq(const void *a, const void *b)
{
  double x = ((const req_t *)a)->seq, y = ((const req_t *)b)->seq;

  return x < y ? -1 : x > y;
}

/* The requests of the outcome asked for, started in the window (for
 * worker `w`'s points), ordered by issue. -1 when a point never came. */
static long requests(oracle__expect_t *c, unsigned w, req_t *out, size_t max)
{
  const scenario_expect_t *e = c->e;
  const char *want = str_of(e->item, "outcome");
  uint64_t t_after = 0, t_before = 0;
  bool has_after, has_before;
  size_t i, n = 0;

  if (!bound_of(c, &e->from, w, &t_after, &has_after) ||
      !bound_of(c, &e->to, w, &t_before, &has_before))
    return -1;
  for (i = 0; i < c->tr->count && n < max; i++) {
    const trace_event_t *r = &c->tr->events[i];
    double start;
    if (!is_load(r, "request") ||
        !outcome_is(str_of(r->json, "outcome"), want[0] ? want : "ok"))
      continue;
    start = num_of(r->json, "start");
    if ((has_after && start < (double)t_after) ||
        (has_before && start >= (double)t_before))
      continue;
    out[n].ev = r;
    out[n].seq = num_of(r->json, "seq");
    out[n].worker = (unsigned)(num_of(r->json, "served_by") > 0
                                   ? num_of(r->json, "served_by") : 0);
    n++;
  }
  qsort(out, n, sizeof(*out), by_seq);
  return (long)n;
}

/* ---------------------------------------------------------------------- */

static void window_text(char *buf, size_t len, const scenario_expect_t *e,
                        unsigned w)
{
  char a[128] = "", b[128] = "";

  if (e->from.events != 0 || e->from.step[0] != '\0')
    oracle__point_text(a, sizeof(a), &e->from, w);
  if (e->to.events != 0 || e->to.step[0] != '\0')
    oracle__point_text(b, sizeof(b), &e->to, w);
  snprintf(buf, len, "%s%s%s%s", a[0] ? " started after " : "", a,
           b[0] ? " started before " : "", b);
}

static void count_for(oracle__expect_t *c, unsigned w, const req_t *r,
                      long n)
{
  const scenario_expect_t *e = c->e;
  const char *outcome = str_of(e->item, "outcome");
  long k, seen = 0;
  char range[64], of[32] = "", window[300];
  const req_t *last = NULL;

  for (k = 0; k < n; k++)
    if (w == 0 || r[k].worker == w) {
      seen++;
      last = &r[k];
    }
  if (oracle__expect_within(e, seen))
    return;
  oracle__expect_range_text(range, sizeof(range), e);
  if (w != 0)
    snprintf(of, sizeof(of), " by worker %u", w);
  window_text(window, sizeof(window), e, w);
  oracle__expect_fail(c, w, last ? last->ev : NULL,
                      "expected %s %s request%s%s%s, got %ld", range,
                      outcome[0] && strcmp(outcome, "ok") != 0 ? outcome
                                                               : "served",
                      e->max == 1 || (e->max < 0 && e->min == 1) ? "" : "s",
                      of, window, seen);
}

static int by_worker(const void *a, const void *b)
{
  unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

  return (x > y) - (x < y);
}

/* The workers that served, in the order of their first request, into
 * `ring`; `seen` (as large) keeps them sorted to tell a new one, so the
 * thousands of workers a scenario may have cost no quadratic search. */
static size_t ring_of(const req_t *r, long n, unsigned *ring, unsigned *seen)
{
  size_t m = 0, at;
  long k;

  for (k = 0; k < n; k++) {
    unsigned w = r[k].worker;
    if (bsearch(&w, seen, m, sizeof(*seen), by_worker) != NULL)
      continue;
    for (at = m; at > 0 && seen[at - 1] > w; at--)
      seen[at] = seen[at - 1];
    seen[at] = w;
    ring[m++] = w;
  }
  return m;
}

/* Round robin: the workers take turns, always in the same order. */
static void rotation(oracle__expect_t *c, const req_t *r, long n)
{
  unsigned *ring = malloc(((size_t)n + 1) * 2 * sizeof(*ring));
  size_t m;
  long i;

  if (ring == NULL)
    return;
  m = ring_of(r, n, ring, ring + n + 1);
  for (i = 0; i < n; i++) {
    unsigned due = i < (long)m ? ring[i] : r[i - (long)m].worker;
    if (r[i].worker == due)
      continue;
    oracle__expect_fail(c, r[i].worker, r[i].ev,
                        "expected the requests served in strict rotation "
                        "over %zu workers, got request seq %.0f served by "
                        "worker %u where worker %u was due (%s)", m,
                        r[i].seq, r[i].worker, due,
                        oracle__describe(c, r[i].ev));
    break;
  }
  free(ring);
}

typedef struct {
  char key[64];
  const req_t *r;
} keyed_t;

static int by_key(const void *a, const void *b)
{
  const keyed_t *x = a, *y = b;
  int d = strcmp(x->key, y->key);

  return d != 0 ? d : by_seq(x->r, y->r);
}

/* One worker per client address (or per connection): the requests
 * grouped by it, in order of issue within a group. */
static void affinity(oracle__expect_t *c, const req_t *r, long n,
                     const char *by)
{
  const char *field = strcmp(by, "client") == 0 ? "client" : "connection";
  keyed_t *k = malloc(((size_t)n + 1) * sizeof(*k));
  long i;

  if (k == NULL)
    return;
  for (i = 0; i < n; i++) {
    char *text = cJSON_PrintUnformatted(
        cJSON_GetObjectItemCaseSensitive(r[i].ev->json, field));
    snprintf(k[i].key, sizeof(k[i].key), "%s", text ? text : "null");
    cJSON_free(text);
    k[i].r = &r[i];
  }
  qsort(k, (size_t)n, sizeof(*k), by_key);
  for (i = 1; i < n; i++) {
    const req_t *a = k[i - 1].r, *b = k[i].r;
    if (strcmp(k[i - 1].key, k[i].key) != 0 || a->worker == b->worker)
      continue;
    oracle__expect_fail(c, b->worker, b->ev,
                        "expected every request of %s %s served by one "
                        "worker, got worker %u (seq %.0f) and worker %u "
                        "(seq %.0f, %s)", by, k[i].key, a->worker, a->seq,
                        b->worker, b->seq, oracle__describe(c, b->ev));
    break;
  }
  free(k);
}

/* When worker `w` stopped serving: its first disconnect or exit
 * (UINT64_MAX: never, in what the expectation sees). */
static uint64_t gone_at(const oracle__expect_t *c, unsigned w)
{
  const trace_event_t *d = oracle__nth_event(c, TRACE_EV_DISCONNECT, false,
                                             w, 1);
  const trace_event_t *x = oracle__nth_event(c, TRACE_EV_EXIT, false, w, 1);
  uint64_t t = UINT64_MAX;

  if (d != NULL)
    t = d->t;
  if (x != NULL && x->t < t)
    t = x->t;
  return t;
}

typedef struct {
  unsigned from, to;
  const char *client;        /* the first client that moved so */
} move_t;

/* A client went from worker a->worker to b->worker: only after a was gone,
 * and to the one worker every client of a went to. */
static bool sticky_move(oracle__expect_t *c, const keyed_t *ka,
                        const keyed_t *kb, move_t *moves, size_t *n_moves)
{
  const req_t *a = ka->r, *b = kb->r;
  size_t j;

  /* a request ends after its connection was handed out */
  if (b->ev->t < gone_at(c, a->worker)) {
    oracle__expect_fail(c, b->worker, b->ev,
                        "expected client %s to stay with worker %u while it "
                        "lived, got worker %u (seq %.0f, %s)", kb->key,
                        a->worker, b->worker, b->seq,
                        oracle__describe(c, b->ev));
    return false;
  }
  for (j = 0; j < *n_moves && moves[j].from != a->worker; j++)
    ;
  if (j < *n_moves && moves[j].to != b->worker) {
    oracle__expect_fail(c, b->worker, b->ev,
                        "expected the clients of worker %u to move together "
                        "to one worker, got worker %u for client %s and "
                        "worker %u for client %s (seq %.0f, %s)", a->worker,
                        moves[j].to, moves[j].client, b->worker, kb->key,
                        b->seq, oracle__describe(c, b->ev));
    return false;
  }
  if (j == *n_moves && *n_moves < 256)
    moves[(*n_moves)++] = (move_t){a->worker, b->worker, kb->key};
  return true;
}

/* By client, then in the order the requests ended (a scenario's loads
 * each number their requests from 0). */
static int by_key_end(const void *a, const void *b)
{
  const keyed_t *x = a, *y = b;
  int d = strcmp(x->key, y->key);

  if (d != 0)
    return d;
  return x->r->ev->t < y->r->ev->t ? -1 : x->r->ev->t > y->r->ev->t;
}

/* Sticky sessions: each client address keeps its worker until that worker
 * is gone (its disconnect or exit); then all the clients of that worker
 * move to one other worker. */
static void sticky(oracle__expect_t *c, const req_t *r, long n)
{
  keyed_t *k = malloc(((size_t)n + 1) * sizeof(*k));
  move_t *moves = malloc(256 * sizeof(*moves));
  size_t n_moves = 0;
  long i;

  for (i = 0; k != NULL && moves != NULL && i < n; i++) {
    char *text = cJSON_PrintUnformatted(
        cJSON_GetObjectItemCaseSensitive(r[i].ev->json, "client"));
    snprintf(k[i].key, sizeof(k[i].key), "%s", text ? text : "null");
    cJSON_free(text);
    k[i].r = &r[i];
  }
  if (k != NULL && moves != NULL)
    qsort(k, (size_t)n, sizeof(*k), by_key_end);
  for (i = 1; k != NULL && moves != NULL && i < n; i++)
    if (strcmp(k[i - 1].key, k[i].key) == 0 &&
        k[i - 1].r->worker != k[i].r->worker &&
        !sticky_move(c, &k[i - 1], &k[i], moves, &n_moves))
      break;
  free(moves);
  free(k);
}

/* The load's records are all there: a run with no load, or with
 * requests the trace could not keep, cannot say. */
static bool exercised(oracle__expect_t *c)
{
  bool ran = false;
  size_t i;

  for (i = 0; i < c->tr->count; i++) {
    ran |= is_load(&c->tr->events[i], "start");
    if (is_load(&c->tr->events[i], "dropped")) {
      oracle__expect_inconclusive(c, "served: the trace could not keep "
                                  "every request of the load");
      return false;
    }
  }
  if (!ran)
    oracle__expect_inconclusive(c, "served: no load ran");
  return ran;
}

static void served_for(oracle__expect_t *c, unsigned w, req_t *r, long n)
{
  const scenario_expect_t *e = c->e;

  if (n < 0)
    return;
  if (e->min >= 0 || e->max >= 0)
    count_for(c, w, r, n);
  if (cJSON_GetObjectItemCaseSensitive(e->item, "rotation") != NULL)
    rotation(c, r, n);
  if (strcmp(str_of(e->item, "affinity"), "sticky") == 0)
    sticky(c, r, n);
  else if (cJSON_GetObjectItemCaseSensitive(e->item, "affinity") != NULL)
    affinity(c, r, n, str_of(e->item, "affinity"));
}

/* A window point that names `worker: each` is each worker's own. */
static bool per_worker(const scenario_point_t *p)
{
  return p->step[0] == '\0' && p->events != 0 &&
         p->worker.kind == SCENARIO_W_EACH;
}

/* `worker: each`: the requests are gathered once when the window is the
 * same for every worker, so the cost stays linear in the trace whatever
 * the number of workers. */
static void served_each(oracle__expect_t *c, req_t *r, size_t max)
{
  const scenario_expect_t *e = c->e;
  bool shared = !per_worker(&e->from) && !per_worker(&e->to);
  long got = shared ? requests(c, 0, r, max) : 0;
  size_t i, n = oracle__n_forked(c);
  unsigned w;

  for (i = 0; i < n && got >= 0; i++) {
    w = oracle__forked_id(c, i);
    served_for(c, w, r, shared ? got : requests(c, w, r, max));
  }
}

void oracle__expect_served(oracle__expect_t *c)
{
  const scenario_expect_t *e = c->e;
  size_t max = c->tr->count + 1;
  req_t *r;

  if (!exercised(c) || (r = malloc(max * sizeof(*r))) == NULL)
    return;
  switch (e->worker.kind) {
  case SCENARIO_W_ID:
    served_for(c, e->worker.id, r, requests(c, e->worker.id, r, max));
    break;
  case SCENARIO_W_EACH:
    served_each(c, r, max);
    break;
  default:
    served_for(c, 0, r, requests(c, 0, r, max));
    break;
  }
  free(r);
}
