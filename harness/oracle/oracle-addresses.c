/*
 * `addresses` and `ports` expectations: the `listening` address of each
 * listen index, and which ports are shared.
 *
 * Node's `listening` event carries the address, not the listen index (the
 * worker sends it, the event leaves it out). A worker reports each of its
 * listens with its index (`worker-listening`), so a `listening` event
 * takes the index of the first report of its worker with the same port
 * not yet taken, or (a port that differs is what the check is there to
 * catch) of the first report not yet taken.
 */
#include "oracle-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LISTENS 256

typedef struct {
  const trace_event_t *ev;   /* the record */
  int index;                 /* listen index */
  int port;
  bool used;
} listen_t;

static int int_of(const cJSON *j, const char *key, int dflt)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

  return cJSON_IsNumber(v) ? (int)v->valuedouble : dflt;
}

static int port_of(const trace_event_t *e)
{
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(e->json, "address");

  return a != NULL ? int_of(a, "port", -1) : int_of(e->json, "port", -1);
}

/* A worker's reports of its listens (exclusive ones with `exclusive`
 * true are left out when `shared`), in order. */
static size_t reports(const oracle__expect_t *c, unsigned w, bool shared,
                      listen_t *out)
{
  const uint32_t *r;
  size_t n, i, k = 0;

  r = oracle__records(c, w, &n);
  for (i = 0; i < n && k < MAX_LISTENS; i++) {
    const trace_event_t *e = &c->tr->events[r[i]];
    if (e->ev != TRACE_EV_W_LISTENING ||
        (shared && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
                       e->json, "exclusive"))))
      continue;
    out[k].ev = e;
    out[k].index = int_of(e->json, "index", 0);
    out[k].port = port_of(e);
    out[k].used = false;
    k++;
  }
  return k;
}

/* The index a `listening` event is about (see the top of the file). */
static int index_of(const trace_event_t *e, listen_t *rep, size_t n,
                    int position)
{
  int port = port_of(e);
  size_t i;

  for (i = 0; i < n; i++)
    if (!rep[i].used && rep[i].port == port) {
      rep[i].used = true;
      return rep[i].index;
    }
  for (i = 0; i < n; i++)
    if (!rep[i].used) {
      rep[i].used = true;
      return rep[i].index;
    }
  return position;
}

/* A worker's `listening` events (the Worker's), each with its index. */
static size_t listens(const oracle__expect_t *c, unsigned w, listen_t *out)
{
  listen_t rep[MAX_LISTENS];
  size_t nrep = reports(c, w, true, rep), n, i, k = 0;
  const uint32_t *r = oracle__records(c, w, &n);

  for (i = 0; i < n && k < MAX_LISTENS; i++) {
    const trace_event_t *e = &c->tr->events[r[i]];
    if (!trace_event_is(e, TRACE_EV_LISTENING, false))
      continue;
    out[k].ev = e;
    out[k].index = index_of(e, rep, nrep, (int)k);
    out[k].port = port_of(e);
    k++;
  }
  return k;
}

/* ---------------------------------------------------------------------- */
/* addresses                                                               */

static const char *const addr_keys[] = {"addressType", "address", "port",
                                        "fd", NULL};

static void text_of(char *buf, size_t len, const cJSON *v)
{
  char *j = v != NULL ? cJSON_PrintUnformatted(v) : NULL;

  snprintf(buf, len, "%s", j != NULL ? j : "null");
  cJSON_free(j);
}

static bool alt_has(const cJSON *want, const cJSON *have)
{
  const cJSON *alt;

  if (!cJSON_IsArray(want))
    return oracle__json_has(want, have);
  cJSON_ArrayForEach(alt, want)
    if (oracle__json_has(alt, have))
      return true;
  return false;
}

static void address_of(oracle__expect_t *c, unsigned w)
{
  const scenario_expect_t *e = c->e;
  const cJSON *idx = cJSON_GetObjectItemCaseSensitive(e->item, "index");
  int want_index = cJSON_IsNumber(idx) ? (int)idx->valuedouble : 0;
  listen_t l[MAX_LISTENS];
  size_t n = listens(c, w, l), i, k;
  unsigned seen = 0;

  for (i = 0; i < n; i++) {
    const cJSON *addr;
    if (l[i].index != want_index || ++seen != e->nth)
      continue;
    addr = cJSON_GetObjectItemCaseSensitive(l[i].ev->json, "address");
    for (k = 0; addr_keys[k] != NULL; k++) {
      const cJSON *want = cJSON_GetObjectItemCaseSensitive(e->item,
                                                           addr_keys[k]);
      const cJSON *have = cJSON_GetObjectItemCaseSensitive(addr,
                                                           addr_keys[k]);
      char wt[256], ht[256];
      if (want == NULL || alt_has(want, have))
        continue;
      text_of(wt, sizeof(wt), want);
      text_of(ht, sizeof(ht), have);
      oracle__expect_fail(c, w, l[i].ev, "worker %u: expected %s %s at "
                          "listening of index %d, got %s at %s", w,
                          addr_keys[k], wt, want_index, ht,
                          oracle__describe(c, l[i].ev));
    }
    return;
  }
  oracle__expect_fail(c, w, NULL, "worker %u: expected listening #%u of "
                      "index %d, got %u", w, e->nth, want_index, seen);
}

void oracle__expect_addresses(oracle__expect_t *c)
{
  size_t i, n;

  if (c->e->worker.kind == SCENARIO_W_ID) {
    address_of(c, c->e->worker.id);
    return;
  }
  n = oracle__n_forked(c);
  for (i = 0; i < n; i++)
    address_of(c, oracle__forked_id(c, i));
}

/* ---------------------------------------------------------------------- */
/* ports                                                                   */

typedef struct {
  unsigned worker;
  listen_t l;
} port_t;

static bool word_is(const cJSON *item, const char *key, const char *word)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, key);

  return cJSON_IsString(v) && strcmp(v->valuestring, word) == 0;
}

/* Every listen of every worker, with its index. */
static size_t all_ports(oracle__expect_t *c, port_t *out, size_t max)
{
  bool reported = word_is(c->e->item, "from", "worker-listening");
  listen_t l[MAX_LISTENS];
  size_t i, n = oracle__n_forked(c), k, m = 0;

  for (i = 0; i < n; i++) {
    unsigned w = oracle__forked_id(c, i);
    size_t got = reported ? reports(c, w, false, l) : listens(c, w, l);
    for (k = 0; k < got && m < max; k++) {
      out[m].worker = w;
      out[m++].l = l[k];
    }
  }
  return m;
}

/* Two listens against a relation ("same", "distinct" or "any") of
 * `key`; a failure names both. */
static bool related(oracle__expect_t *c, const char *key, const port_t *a,
                    const port_t *b, const char *what)
{
  const char *want = word_is(c->e->item, key, "same") ? "same" : "distinct";

  if (word_is(c->e->item, key, "any") ||
      (a->l.port == b->l.port) == (strcmp(want, "same") == 0))
    return true;
  oracle__expect_fail(c, b->worker, b->l.ev, "expected the %s port %s, got "
                      "%d for worker %u index %d (%s) and %d for worker %u "
                      "index %d (%s)", want, what, a->l.port, a->worker,
                      a->l.index, oracle__describe(c, a->l.ev), b->l.port,
                      b->worker, b->l.index, oracle__describe(c, b->l.ev));
  return false;
}

void oracle__expect_ports(oracle__expect_t *c)
{
  port_t *p = calloc(4 * MAX_LISTENS, sizeof(*p));
  size_t n, i, k;
  bool ok = true;

  if (p == NULL)
    return;
  n = all_ports(c, p, 4 * MAX_LISTENS);
  for (i = 0; i < n && ok; i++)
    for (k = i + 1; k < n && ok; k++) {
      if (p[i].worker == p[k].worker && p[i].l.index == p[k].l.index)
        continue;   /* a re-listen of one worker */
      if (p[i].l.index == p[k].l.index)
        ok = related(c, "across-workers", &p[i], &p[k],
                     "for one index on every worker");
      else
        ok = related(c, "across-indexes", &p[i], &p[k],
                     "for different indexes");
    }
  if (n == 0)
    oracle__expect_fail(c, 0, NULL, "expected %s to compare ports, got none",
                        word_is(c->e->item, "from", "worker-listening")
                            ? "worker-listening" : "listening");
  free(p);
}
