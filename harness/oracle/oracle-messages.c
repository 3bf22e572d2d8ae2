/*
 * `messages` and `twins` expectations. A worker's messages either way: to
 * the primary (its `message` events) or to the worker (what the worker
 * agent observed receiving), against exact values, values among others,
 * an increasing field, or what the other side sent (as such, or under
 * `echo` or `reply`). The heartbeat's ping and pong are the harness's
 * traffic and never counted. `twins`: which emitter Node calls first.
 */
#include "oracle-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const trace_event_t *ev;   /* NULL for what was sent */
  const cJSON *m;
} msg_t;

static bool heartbeat(const cJSON *m)
{
  return cJSON_IsObject(m) &&
         cJSON_GetObjectItemCaseSensitive(m, "clustersim") != NULL;
}

static bool word_is(const cJSON *item, const char *key, const char *word)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, key);

  return cJSON_IsString(v) && strcmp(v->valuestring, word) == 0;
}

static bool to_worker(const oracle__expect_t *c)
{
  return word_is(c->e->item, "to", "worker");
}

/* What worker `w` received (to: worker) or the primary received from it. */
static size_t received(const oracle__expect_t *c, unsigned w, msg_t *out,
                       size_t max)
{
  const uint32_t *r;
  size_t n, i, k = 0;
  bool worker = to_worker(c);

  r = oracle__records(c, w, &n);
  for (i = 0; i < n && k < max; i++) {
    const trace_event_t *e = &c->tr->events[r[i]];
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e->json, "message");
    if (worker ? e->ev != TRACE_EV_W_MESSAGE
               : !trace_event_is(e, TRACE_EV_MESSAGE, c->e->cluster_emitter))
      continue;
    if (m == NULL || heartbeat(m))
      continue;
    out[k].ev = e;
    out[k++].m = m;
  }
  return k;
}

/* What the other side sent worker `w`'s way: the primary's `send`s (to
 * the worker, or echoed back) or the worker's `worker-send`s. */
static size_t sent(const oracle__expect_t *c, unsigned w, bool by_primary,
                   msg_t *out, size_t max)
{
  const uint32_t *r;
  size_t n, i, k = 0;

  r = oracle__records(c, w, &n);
  for (i = 0; i < n && k < max; i++) {
    const trace_event_t *e = &c->tr->events[r[i]];
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e->json, "message");
    if (e->src != TRACE_SRC_HARNESS || m == NULL ||
        strcmp(e->name, by_primary ? "send" : "worker-send") != 0)
      continue;
    out[k].ev = NULL;
    out[k++].m = m;
  }
  return k;
}

static char *text_of(const cJSON *m)
{
  char *t = m != NULL ? cJSON_PrintUnformatted(m) : NULL;

  return t != NULL ? t : strdup("null");
}

/* "worker 1: ... to the primary" / "to worker 1". */
static const char *dir(const oracle__expect_t *c)
{
  return to_worker(c) ? "received by" : "sent to the primary by";
}

/* The received messages are exactly `want`, in order. */
static void exactly(oracle__expect_t *c, unsigned w, const msg_t *got,
                    size_t n, const msg_t *want, size_t nw)
{
  size_t i;
  char *a, *b;

  for (i = 0; i < n && i < nw; i++) {
    if (cJSON_Compare(got[i].m, want[i].m, true))
      continue;
    a = text_of(want[i].m);
    b = text_of(got[i].m);
    oracle__expect_fail(c, w, got[i].ev, "expected message #%zu %s worker "
                        "%u to be %s, got %s (%s)", i + 1, dir(c), w, a, b,
                        oracle__describe(c, got[i].ev));
    free(a);
    free(b);
    return;
  }
  if (n != nw)
    oracle__expect_fail(c, w, n > 0 ? got[n - 1].ev : NULL,
                        "expected %zu message%s %s worker %u, got %zu", nw,
                        nw == 1 ? "" : "s", dir(c), w, n);
}

/* The values of `includes` appear in this order among the others. */
static void includes(oracle__expect_t *c, unsigned w, const msg_t *got,
                     size_t n, const cJSON *want)
{
  const cJSON *v;
  size_t i = 0, k = 0;
  char *t;

  cJSON_ArrayForEach(v, want) {
    while (i < n && !cJSON_Compare(got[i].m, v, true))
      i++;
    k++;
    if (i < n) {
      i++;
      continue;
    }
    t = text_of(v);
    oracle__expect_fail(c, w, NULL, "expected %s (value %zu of includes) "
                        "among the messages %s worker %u, got %s", t, k,
                        dir(c), w, n == 0 ? "none" : "it not in order");
    free(t);
    return;
  }
}

/* The value at a dotted path of a message ("" or "." : the message). */
static const cJSON *at_path(const cJSON *m, const char *path)
{
  char buf[256], *part, *save = NULL;

  snprintf(buf, sizeof(buf), "%s", path);
  for (part = strtok_r(buf, ".", &save); part && m != NULL;
       part = strtok_r(NULL, ".", &save))
    m = cJSON_GetObjectItemCaseSensitive(m, part);
  return m;
}

static void increasing(oracle__expect_t *c, unsigned w, const msg_t *got,
                       size_t n, const cJSON *spec)
{
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(spec, "path");
  const cJSON *by = cJSON_GetObjectItemCaseSensitive(spec, "by");
  const char *path = cJSON_IsString(p) ? p->valuestring : "";
  const char *name = path[0] ? path : "the message";
  double prev = 0;
  size_t i;

  for (i = 0; i < n; i++) {
    const cJSON *v = at_path(got[i].m, path);
    bool ok = cJSON_IsNumber(v) &&
              (i == 0 || (cJSON_IsNumber(by)
                              ? v->valuedouble == prev + by->valuedouble
                              : v->valuedouble > prev));
    char *t;
    if (ok) {
      prev = v->valuedouble;
      continue;
    }
    t = text_of(v);
    if (!cJSON_IsNumber(v))
      oracle__expect_fail(c, w, got[i].ev, "expected %s of message #%zu %s "
                          "worker %u to be a number, got %s (%s)", name,
                          i + 1, dir(c), w, t,
                          oracle__describe(c, got[i].ev));
    else if (cJSON_IsNumber(by))
      oracle__expect_fail(c, w, got[i].ev, "expected %s of message #%zu %s "
                          "worker %u to be %g, got %s (%s)", name, i + 1,
                          dir(c), w, prev + by->valuedouble, t,
                          oracle__describe(c, got[i].ev));
    else
      oracle__expect_fail(c, w, got[i].ev, "expected %s of message #%zu %s "
                          "worker %u to be more than %g, got %s (%s)", name,
                          i + 1, dir(c), w, prev, t,
                          oracle__describe(c, got[i].ev));
    free(t);
    return;
  }
}

/* What the other side sent, as such or wrapped under `echo`/`reply`. */
static void echoes(oracle__expect_t *c, unsigned w, const msg_t *got,
                   size_t n, msg_t *want, size_t max)
{
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(c->e->item, "echoes");
  bool same = word_is(c->e->item, "echoes", "same");
  /* what reaches the primary answers what the primary sent, unless it
   * is the worker's own sends as such */
  bool by_primary = to_worker(c) || !same;
  size_t nw = sent(c, w, by_primary, want, max), i;
  cJSON *wrapped = cJSON_CreateArray();

  for (i = 0; i < nw && wrapped != NULL && !same; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, e->valuestring, cJSON_Duplicate(want[i].m, 1));
    cJSON_AddItemToArray(wrapped, o);
    want[i].m = o;
  }
  exactly(c, w, got, n, want, nw);
  cJSON_Delete(wrapped);
}

static void messages_of(oracle__expect_t *c, unsigned w, msg_t *got,
                        msg_t *want, size_t max)
{
  const cJSON *item = c->e->item, *v, *x;
  size_t n = received(c, w, got, max), i = 0;

  if ((v = cJSON_GetObjectItemCaseSensitive(item, "values")) != NULL) {
    cJSON_ArrayForEach(x, v) {
      if (i < max) {
        want[i].ev = NULL;
        want[i++].m = x;
      }
    }
    exactly(c, w, got, n, want, i);
  }
  if ((v = cJSON_GetObjectItemCaseSensitive(item, "includes")) != NULL)
    includes(c, w, got, n, v);
  if ((v = cJSON_GetObjectItemCaseSensitive(item, "increasing")) != NULL)
    increasing(c, w, got, n, v);
  if (cJSON_GetObjectItemCaseSensitive(item, "echoes") != NULL)
    echoes(c, w, got, n, want, max);
}

void oracle__expect_messages(oracle__expect_t *c)
{
  size_t max = c->tr->count + 1, i, n;
  msg_t *got = malloc(max * sizeof(*got)), *want = malloc(max * sizeof(*want));

  if (got != NULL && want != NULL) {
    if (c->e->worker.kind == SCENARIO_W_ID) {
      messages_of(c, c->e->worker.id, got, want, max);
    } else {
      n = oracle__n_forked(c);
      for (i = 0; i < n; i++)
        messages_of(c, oracle__forked_id(c, i), got, want, max);
    }
  }
  free(got);
  free(want);
}

/* ---------------------------------------------------------------------- */
/* twins                                                                   */

/* What the two emissions of one event share: its message, address or exit
 * status. */
static bool same_payload(const trace_event_t *a, const trace_event_t *b)
{
  static const char *const keys[] = {"message", "address", "code", "signal",
                                     "error", NULL};
  size_t i;

  for (i = 0; keys[i] != NULL; i++) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(a->json, keys[i]);
    const cJSON *y = cJSON_GetObjectItemCaseSensitive(b->json, keys[i]);
    if ((x == NULL) != (y == NULL) ||
        (x != NULL && !cJSON_Compare(x, y, true)))
      return false;
  }
  return true;
}

static void twins_of(oracle__expect_t *c, unsigned w)
{
  const scenario_expect_t *e = c->e;
  const char *first = e->cluster_emitter ? "cluster" : "the Worker";
  const trace_event_t *open = NULL;
  const uint32_t *r;
  size_t n, i;

  r = oracle__records(c, w, &n);
  for (i = 0; i < n; i++) {
    const trace_event_t *x = &c->tr->events[r[i]];
    if (x->src != TRACE_SRC_AGENT || x->ev != e->event ||
        (x->ev == TRACE_EV_MESSAGE &&
         heartbeat(cJSON_GetObjectItemCaseSensitive(x->json, "message"))))
      continue;
    if (open == NULL && x->cluster_emitter != e->cluster_emitter) {
      oracle__expect_fail(c, w, x, "worker %u: expected %s on %s first, got "
                          "%s", w, trace_ev_name(e->event), first,
                          oracle__describe(c, x));
      return;
    }
    if (open == NULL) {
      open = x;
      continue;
    }
    if (x->cluster_emitter == e->cluster_emitter || !same_payload(open, x)) {
      oracle__expect_fail(c, w, x, "worker %u: expected the twin of %s, got "
                          "%s", w, oracle__describe(c, open),
                          oracle__describe(c, x));
      return;
    }
    open = NULL;
  }
}

void oracle__expect_twins(oracle__expect_t *c)
{
  size_t i, n;

  if (c->e->worker.kind == SCENARIO_W_ID) {
    twins_of(c, c->e->worker.id);
    return;
  }
  n = oracle__n_forked(c);
  for (i = 0; i < n; i++)
    twins_of(c, oracle__forked_id(c, i));
}
