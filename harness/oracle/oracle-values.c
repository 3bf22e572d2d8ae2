/*
 * `flags` expectations, and the value checks they share with `probes`:
 * what a record says (a flag sampled in a listener, an exit status, an
 * error's code, any field of the record) against the value written, or
 * against any of the values written as a list (Node's nondeterminism), or
 * against any one of several sets of checks (`one-of`).
 */
#include "oracle-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A check's key in a scenario, the record's field it reads, how a
 * message names it, and whether its values are quoted there. */
static const struct {
  const char *key, *field, *label;
  bool quoted;
} checks[] = {
  {"exitedAfterDisconnect", "ead", "exitedAfterDisconnect", false},
  {"isConnected", "connected", "isConnected()", false},
  {"isDead", "dead", "isDead()", false},
  {"member", "member", "member of cluster.workers", false},
  {"state", "state", "state", true},
  {"code", "code", "exit code", false},
  {"signal", "signal", "signal", false},
  {"error", NULL, "error", false},
  {"returned", "returned", "return value", false},
  {"workers", "workers", "cluster.workers", false},
  {"callbacks", "callbacks", "disconnect callbacks run", false},
  {"fields", NULL, "fields", false},
};

#define N_CHECKS (sizeof(checks) / sizeof(checks[0]))

static int check_index(const char *key)
{
  size_t i;

  for (i = 0; i < N_CHECKS; i++)
    if (strcmp(checks[i].key, key) == 0)
      return (int)i;
  return -1;
}

/* The value a record gives a check (borrowed; NULL reads as null). An
 * error's code is the `error` event's, or a worker observation's own. */
static const cJSON *value_of(const cJSON *rec, int k)
{
  const cJSON *v;

  if (checks[k].field != NULL)
    return cJSON_GetObjectItemCaseSensitive(rec, checks[k].field);
  if (strcmp(checks[k].key, "error") != 0)
    return rec;
  v = cJSON_GetObjectItemCaseSensitive(rec, "error");
  if (cJSON_IsObject(v))
    return cJSON_GetObjectItemCaseSensitive(v, "code");
  v = cJSON_GetObjectItemCaseSensitive(rec, "code");
  return cJSON_IsString(v) ? v : NULL;
}

/* Whether `have` has what `want` says: objects by the keys written,
 * lists item by item, scalars equal. */
bool oracle__json_has(const cJSON *want, const cJSON *have)
{
  const cJSON *w, *h;

  if (cJSON_IsObject(want)) {
    if (!cJSON_IsObject(have))
      return false;
    cJSON_ArrayForEach(w, want)
      if (!oracle__json_has(w, cJSON_GetObjectItemCaseSensitive(have,
                                                                w->string)))
        return false;
    return true;
  }
  if (cJSON_IsArray(want)) {
    if (!cJSON_IsArray(have) ||
        cJSON_GetArraySize(want) != cJSON_GetArraySize(have))
      return false;
    for (w = want->child, h = have->child; w != NULL; w = w->next,
        h = h->next)
      if (!oracle__json_has(w, h))
        return false;
    return true;
  }
  if (cJSON_IsNull(want))
    return have == NULL || cJSON_IsNull(have);
  return have != NULL && cJSON_Compare(want, have, true);
}

/* A state never sampled reads as "". */
static bool check_holds(const cJSON *rec, int k, const cJSON *want)
{
  const cJSON *have = value_of(rec, k), *alt;
  cJSON empty = {.type = cJSON_String, .valuestring = ""};

  if (strcmp(checks[k].key, "state") == 0 && !cJSON_IsString(have))
    have = &empty;
  /* `fields` and `workers` are values of their own, never alternatives */
  if (!cJSON_IsArray(want) || strcmp(checks[k].key, "workers") == 0 ||
      strcmp(checks[k].key, "fields") == 0)
    return oracle__json_has(want, have);
  cJSON_ArrayForEach(alt, want)
    if (oracle__json_has(alt, have))
      return true;
  return false;
}

/* One value as a message shows it. */
static void value_text(char *buf, size_t len, int k, const cJSON *v)
{
  char *j;

  if (v == NULL || cJSON_IsNull(v))
    snprintf(buf, len, "null");
  else if (cJSON_IsString(v))
    snprintf(buf, len, checks[k].quoted ? "'%s'" : "%s", v->valuestring);
  else if ((j = cJSON_PrintUnformatted(v)) != NULL) {
    snprintf(buf, len, "%s", j);
    cJSON_free(j);
  } else {
    snprintf(buf, len, "?");
  }
}

/* "0", "0 or 1", "0, 1 or null". */
static void alts_text(char *buf, size_t len, int k, const cJSON *want)
{
  const cJSON *alt;
  size_t used = 0, n, i = 0;
  char one[256];

  if (!cJSON_IsArray(want) || strcmp(checks[k].key, "workers") == 0 ||
      strcmp(checks[k].key, "fields") == 0) {
    value_text(buf, len, k, want);
    return;
  }
  n = (size_t)cJSON_GetArraySize(want);
  buf[0] = '\0';
  cJSON_ArrayForEach(alt, want) {
    value_text(one, sizeof(one), k, alt);
    used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
                             i == 0 ? "" : i + 1 == n ? " or " : ", ", one);
    i++;
  }
}

/* The record's side of `fields`: its values at the keys written. */
static void have_text(char *buf, size_t len, int k, const cJSON *rec,
                      const cJSON *want)
{
  cJSON *proj;
  const cJSON *w;

  if (strcmp(checks[k].key, "fields") != 0 || !cJSON_IsObject(want)) {
    const cJSON *have = value_of(rec, k);
    if (strcmp(checks[k].key, "state") == 0 && !cJSON_IsString(have)) {
      snprintf(buf, len, "''");
      return;
    }
    value_text(buf, len, k, have);
    return;
  }
  proj = cJSON_CreateObject();
  cJSON_ArrayForEach(w, want) {
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(rec, w->string);
    cJSON_AddItemToObject(proj, w->string, h != NULL
                                               ? cJSON_Duplicate(h, true)
                                               : cJSON_CreateNull());
  }
  value_text(buf, len, k, proj);
  cJSON_Delete(proj);
}

/* The first check of `set` that the record breaks: its index in checks[],
 * and its key's value in *want; -1 when every one holds. */
static int first_broken(const cJSON *rec, const cJSON *set,
                        const cJSON **want)
{
  const cJSON *c;
  int k;

  cJSON_ArrayForEach(c, set) {
    if ((k = check_index(c->string)) < 0)
      continue;
    if (!check_holds(rec, k, c)) {
      *want = c;
      return k;
    }
  }
  return -1;
}

/* "exit code 0, signal null": every check of a set. */
static void set_text(char *buf, size_t len, const cJSON *set, bool have,
                     const cJSON *rec)
{
  const cJSON *c;
  size_t used = 0;
  char v[256];
  int k, n = 0;

  buf[0] = '\0';
  cJSON_ArrayForEach(c, set) {
    if ((k = check_index(c->string)) < 0)
      continue;
    if (have)
      have_text(v, sizeof(v), k, rec, c);
    else
      alts_text(v, sizeof(v), k, c);
    used += (size_t)snprintf(buf + used, used < len ? len - used : 0,
                             "%s%s %s", n++ ? ", " : "", checks[k].label, v);
  }
}

/* `one-of`: any set holds, or one failure that lists them all. */
static bool one_of_holds(const cJSON *rec, const cJSON *sets, char *why,
                         size_t len)
{
  const cJSON *set, *want;
  size_t used;
  char text[512];
  int n = 0;

  cJSON_ArrayForEach(set, sets)
    if (first_broken(rec, set, &want) < 0)
      return true;
  used = (size_t)snprintf(why, len, "one of ");
  cJSON_ArrayForEach(set, sets) {
    set_text(text, sizeof(text), set, false, rec);
    used += (size_t)snprintf(why + used, used < len ? len - used : 0,
                             "%s(%s)", n++ ? " or " : "", text);
  }
  /* what the record had, for the checks of the first set */
  set_text(text, sizeof(text), sets->child, true, rec);
  snprintf(why + used, used < len ? len - used : 0, "\t%s", text);
  return false;
}

int oracle__values_check(const cJSON *rec, const cJSON *item,
                         oracle__value_fail_fn fail, void *arg)
{
  const cJSON *sets = cJSON_GetObjectItemCaseSensitive(item, "one-of");
  const cJSON *w;
  char want[1024], have[1024], *tab;
  size_t k;
  int n = 0;

  if (sets != NULL) {
    if (one_of_holds(rec, sets, want, sizeof(want)))
      return 0;
    tab = strchr(want, '\t');
    snprintf(have, sizeof(have), "%s", tab != NULL ? tab + 1 : "");
    if (tab != NULL)
      *tab = '\0';
    fail(arg, want, have);
    return 1;
  }
  /* in the order of the table, each check that breaks */
  for (k = 0; k < N_CHECKS; k++) {
    w = cJSON_GetObjectItemCaseSensitive(item, checks[k].key);
    if (w == NULL || check_holds(rec, (int)k, w))
      continue;
    snprintf(want, sizeof(want), "%s ", checks[k].label);
    alts_text(want + strlen(want), sizeof(want) - strlen(want), (int)k, w);
    have_text(have, sizeof(have), (int)k, rec, w);
    fail(arg, want, have);
    n++;
  }
  return n;
}

/* ---------------------------------------------------------------------- */
/* flags                                                                   */

typedef struct {
  oracle__expect_t *c;
  const trace_event_t *ev;
} flag_fail_t;

static void flag_failed(void *arg, const char *want, const char *have)
{
  flag_fail_t *f = arg;
  const trace_event_t *ev = f->ev;
  char who[32] = "";

  if (ev->worker != 0)
    snprintf(who, sizeof(who), "worker %u: ", ev->worker);
  oracle__expect_fail(f->c, ev->worker, ev, "%sexpected %s at %s, got %s at "
                      "%s", who, want, ev->name, have,
                      oracle__describe(f->c, ev));
}

static void flags_at(oracle__expect_t *c, const trace_event_t *ev)
{
  flag_fail_t f = {c, ev};

  (void)oracle__values_check(ev->json, c->e->item, flag_failed, &f);
}

/* Every occurrence (nth 0), or the nth; how many were checked. */
static size_t flags_of(oracle__expect_t *c, unsigned w)
{
  const scenario_expect_t *e = c->e;
  const trace_event_t *ev;
  size_t n = 0;
  unsigned k;

  for (k = e->nth == 0 ? 1 : e->nth;; k++) {
    ev = oracle__nth_event(c, e->event, e->cluster_emitter, w, k);
    if (ev == NULL)
      return n;
    flags_at(c, ev);
    n++;
    if (e->nth != 0)
      return n;
  }
}

/* One worker named, or the primary's exit: its event must be there
 * (unless optional). */
static void flags_of_one(oracle__expect_t *c, unsigned w)
{
  const scenario_expect_t *e = c->e;

  if (flags_of(c, w) > 0 || e->optional)
    return;
  if (w != 0)
    oracle__expect_fail(c, w, NULL, "worker %u: expected %s #%u to check its "
                        "flags, got none", w, trace_ev_name(e->event),
                        e->nth == 0 ? 1 : e->nth);
  else
    oracle__expect_fail(c, 0, NULL, "expected %s to check its flags, got "
                        "none", trace_ev_name(e->event));
}

void oracle__expect_flags(oracle__expect_t *c)
{
  const scenario_expect_t *e = c->e;
  size_t i, n, found = 0;

  if (e->worker.kind == SCENARIO_W_NONE) {
    flags_of_one(c, 0);
    return;
  }
  if (e->worker.kind == SCENARIO_W_ID) {
    flags_of_one(c, e->worker.id);
    return;
  }
  n = oracle__n_forked(c);
  for (i = 0; i < n; i++)
    found += flags_of(c, oracle__forked_id(c, i));
  if (found == 0 && !e->optional)
    oracle__expect_fail(c, 0, NULL, "expected %s of some worker to check its "
                        "flags, got none", trace_ev_name(e->event));
}

/* ---------------------------------------------------------------------- */
/* probes                                                                  */

static bool step_is(const trace_event_t *e, const char *path)
{
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(e->json, "step");

  return e->src == TRACE_SRC_HARNESS && cJSON_IsString(s) &&
         strcmp(s->valuestring, path) == 0;
}

/* The nth record of the step that is a primary's probe ("probe",
 * "status") or a fault sent to a worker (with its number, "req"). */
static const trace_event_t *probe_action(const oracle__expect_t *c)
{
  const scenario_expect_t *e = c->e;
  unsigned seen = 0;
  size_t i;

  for (i = 0; i < c->tr->count; i++) {
    const trace_event_t *x = &c->tr->events[i];
    if (!step_is(x, e->from.step) || strcmp(x->name, "step") == 0 ||
        (strcmp(x->name, "probe") != 0 && strcmp(x->name, "status") != 0 &&
         !cJSON_HasObjectItem(x->json, "req")))
      continue;
    if (++seen == e->nth)
      return x;
  }
  return NULL;
}

/* A worker's own probe: its observation answering the fault `a`. */
static const trace_event_t *worker_probe(const oracle__expect_t *c,
                                         const trace_event_t *a)
{
  const cJSON *req = cJSON_GetObjectItemCaseSensitive(a->json, "req");
  size_t i;

  for (i = 0; i < c->tr->count; i++) {
    const trace_event_t *x = &c->tr->events[i];
    if (x->ev == TRACE_EV_W_PROBE && x->worker == a->worker &&
        cJSON_Compare(cJSON_GetObjectItemCaseSensitive(x->json, "req"), req,
                      true))
      return x;
  }
  return NULL;
}

typedef struct {
  oracle__expect_t *c;
  const trace_event_t *at;
  unsigned worker;
} probe_fail_t;

static void probe_failed(void *arg, const char *want, const char *have)
{
  probe_fail_t *f = arg;
  char who[40] = "";

  if (f->worker != 0)
    snprintf(who, sizeof(who), " of worker %u", f->worker);
  oracle__expect_fail(f->c, f->worker, f->at, "expected %s in the probe%s "
                      "of %s, got %s (%s)", want, who, f->c->e->from.step,
                      have, oracle__describe(f->c, f->at));
}

/* The primary's probe: each worker's flags asked for, with what the call
 * returned, cluster.workers and the callbacks beside them. */
static void primary_probe(oracle__expect_t *c, const trace_event_t *a)
{
  const scenario_expect_t *e = c->e;
  const cJSON *entries = cJSON_GetObjectItemCaseSensitive(a->json, "probe");
  const cJSON *entry, *k;
  unsigned only = e->worker.kind == SCENARIO_W_ID ? e->worker.id
                  : e->worker.kind == SCENARIO_W_EACH ? 0 : a->worker;
  int checked = 0;

  cJSON_ArrayForEach(entry, entries) {
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(entry, "worker");
    unsigned id = cJSON_IsNumber(w) ? (unsigned)w->valuedouble : 0;
    cJSON *rec;
    probe_fail_t f = {c, a, id};
    if (only != 0 && id != only)
      continue;
    if ((rec = cJSON_Duplicate(entry, true)) == NULL)
      return;
    cJSON_ArrayForEach(k, a->json)
      if (!cJSON_HasObjectItem(rec, k->string))
        cJSON_AddItemToObject(rec, k->string, cJSON_Duplicate(k, true));
    (void)oracle__values_check(rec, e->item, probe_failed, &f);
    cJSON_Delete(rec);
    checked++;
  }
  if (checked == 0) {
    probe_fail_t f = {c, a, 0};
    /* no worker was probed: what the call itself says */
    if (only != 0)
      oracle__expect_fail(c, only, a, "expected worker %u in the probe of "
                          "%s, got none (%s)", only, e->from.step,
                          oracle__describe(c, a));
    else
      (void)oracle__values_check(a->json, e->item, probe_failed, &f);
  }
}

void oracle__expect_probes(oracle__expect_t *c)
{
  const trace_event_t *a = probe_action(c), *p;
  probe_fail_t f = {c, NULL, 0};

  if (a == NULL) {
    oracle__expect_fail(c, 0, NULL, "expected a probe of %s #%u, got none",
                        c->e->from.step, c->e->nth);
    return;
  }
  if (strcmp(a->name, "probe") == 0 || strcmp(a->name, "status") == 0) {
    primary_probe(c, a);
    return;
  }
  if ((p = worker_probe(c, a)) == NULL) {
    oracle__expect_fail(c, a->worker, a, "expected worker %u's probe of %s, "
                        "got none", a->worker, c->e->from.step);
    return;
  }
  f.at = p;
  f.worker = p->worker;
  (void)oracle__values_check(p->json, c->e->item, probe_failed, &f);
}
