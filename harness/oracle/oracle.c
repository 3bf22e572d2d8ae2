/*
 * The oracle: one pass over the trace in which every record first updates
 * what is known of the causes of a disconnect, then each event of a worker
 * goes through every invariant of ORACLE_INVARIANT_MAP before it is
 * counted; a complete trace then goes through them once per forked worker.
 * Then the scenario's expectations, each through the check of its kind.
 */
#include "oracle-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*invariant_fn)(oracle__inv_t *o, unsigned worker,
                             oracle__worker_t *w,
                             const trace_event_t *e);

static const struct {
  const char *id;
  invariant_fn check;
} invariants[ORACLE_INVARIANT_COUNT] = {
#define XX(ID, name, str, doc)                                               \
  [ORACLE_INVARIANT_##ID] = {str, oracle__invariant_##name},
  ORACLE_INVARIANT_MAP(XX)
#undef XX
};

typedef void (*expect_fn)(oracle__expect_t *c);

static const expect_fn expects[SCENARIO_EXPECT_KIND_COUNT] = {
#define XX(ID, name, key, doc) [SCENARIO_EXPECT_##ID] = oracle__expect_##name,
  SCENARIO_EXPECT_MAP(XX)
#undef XX
};

const char *oracle_invariant_name(oracle_invariant_t inv)
{
  if ((int)inv < 0 || inv >= ORACLE_INVARIANT_COUNT)
    return "?";
  return invariants[inv].id;
}

void oracle__violation(oracle__inv_t *o, oracle_invariant_t inv,
                       const trace_event_t *e, unsigned worker,
                       const char *fmt, ...)
{
  const char *rule = oracle_invariant_name(inv);
  va_list ap;
  char *msg;
  char where[160];

  va_start(ap, fmt);
  msg = base_vasprintf(fmt, ap);
  va_end(ap);
  if (msg == NULL)
    return;
  o->violations++;
  if (e != NULL) {
    trace_event_describe(o->tr, e, where, sizeof(where));
    oracle_findings_add(o->out, ORACLE_FINDING_FAIL, rule, worker, e->index,
                        0, "worker %u: %s, got %s [invariant %s]", worker,
                        msg, where, rule);
  } else {
    oracle_findings_add(o->out, ORACLE_FINDING_FAIL, rule, worker, -1, 0,
                        "worker %u: %s [invariant %s]", worker, msg, rule);
  }
  free(msg);
}

static oracle__worker_t *worker_of(oracle__inv_t *o, unsigned id)
{
  long s = oracle__index_slot(&o->idx, id);

  return s < 0 ? NULL : &o->w[s];
}

/* ---------------------------------------------------------------------- */
/* Causes: what makes exitedAfterDisconnect legitimately true              */

typedef enum {
  CAUSE_ONE,       /* a disconnect or kill of the record's worker */
  CAUSE_ALL,       /* of every worker fork() has returned */
  CAUSE_FORK,      /* the harness's fork(): the worker is in the cluster */
  CAUSE_REPLACE,   /* a replacement: it is in the cluster, and runs the
                      behaviour of the worker it replaces */
  CAUSE_FAULT      /* a worker-side fault: a cause if a disconnect/kill */
} cause_t;

static const struct {
  trace_src_t src;
  const char *name;
  cause_t cause;
} causes[] = {
  {TRACE_SRC_HARNESS, "disconnect", CAUSE_ONE},
  {TRACE_SRC_HARNESS, "worker-kill", CAUSE_ONE},
  {TRACE_SRC_HARNESS, "worker-disconnect", CAUSE_ONE},
  {TRACE_SRC_HARNESS, "cluster-disconnect", CAUSE_ALL},
  {TRACE_SRC_HARNESS, "shutdown", CAUSE_ALL},
  {TRACE_SRC_HARNESS, "end-shutdown", CAUSE_ALL},
  {TRACE_SRC_HARNESS, "fork", CAUSE_FORK},
  {TRACE_SRC_POLICY, "restart-disconnect", CAUSE_ONE},
  {TRACE_SRC_POLICY, "shutdown-start", CAUSE_ALL},
  {TRACE_SRC_POLICY, "respawn", CAUSE_REPLACE},
  {TRACE_SRC_POLICY, "restart-fork", CAUSE_REPLACE},
  {TRACE_SRC_WORKER, "worker-fault", CAUSE_FAULT},
};

static bool str_in(const cJSON *v, const char *const *set)
{
  if (!cJSON_IsString(v))
    return false;
  for (; *set != NULL; set++)
    if (strcmp(v->valuestring, *set) == 0)
      return true;
  return false;
}

static void joins(oracle__worker_t *w, const trace_event_t *e)
{
  if (w->member_since < 0)
    w->member_since = e->index;
  if (e->src != TRACE_SRC_HARNESS && e->arrival < w->joined_arrival)
    w->joined_arrival = e->arrival;
}

static void cause_fork(const trace_event_t *e, oracle__worker_t *w)
{
  static const char *const kills[] = {"disconnect", "kill", NULL};

  joins(w, e);
  if (str_in(cJSON_GetObjectItemCaseSensitive(e->json, "on_listening"),
             kills))
    w->behaviour_cause = true;
}

static void cause_replace(oracle__inv_t *o, const trace_event_t *e,
                          oracle__worker_t *w)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(e->json, "old");
  oracle__worker_t *old = NULL;

  joins(w, e);
  if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 1e9)
    old = worker_of(o, (unsigned)v->valuedouble);
  if (old != NULL && old->behaviour_cause)
    w->behaviour_cause = true;
}

static bool fault_is_cause(const trace_event_t *e)
{
  static const char *const kills[] = {"disconnect", "kill", "worker-kill",
                                      "worker-disconnect", NULL};
  static const char *const behaviour[] = {"on_listening", NULL};
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(e->json, "fault");

  /* an on-listening behaviour reports its action the same way */
  if (str_in(v, behaviour))
    v = cJSON_GetObjectItemCaseSensitive(e->json, "action");
  return str_in(v, kills);
}

static void note_cause(oracle__inv_t *o, const trace_event_t *e)
{
  oracle__worker_t *w = worker_of(o, e->worker);
  size_t i;

  for (i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
    if (causes[i].src == e->src && strcmp(causes[i].name, e->name) == 0)
      break;
  if (i == sizeof(causes) / sizeof(causes[0]))
    return;
  if (causes[i].cause == CAUSE_ALL) {
    o->all_cause_at = e->index;
    return;
  }
  if (w == NULL)
    return;
  switch (causes[i].cause) {
  case CAUSE_FORK:
    cause_fork(e, w);
    break;
  case CAUSE_REPLACE:
    cause_replace(o, e, w);
    break;
  case CAUSE_FAULT:
    if (fault_is_cause(e) && w->cause_at < 0)
      w->cause_at = e->index;
    break;
  default:
    if (w->cause_at < 0)
      w->cause_at = e->index;
    break;
  }
}

/* A cluster.disconnect() that ran, on the primary's own stream, after
 * worker w joined and before its event e. The harness stamps a command
 * when it sends it; a primary that forks a replacement before it reads
 * the command has the replacement disconnected too. */
static bool answered_between(const oracle__inv_t *o,
                             const oracle__worker_t *w,
                             const trace_event_t *e)
{
  if (e == NULL || w->joined_arrival == UINT32_MAX)
    return false;
  for (size_t i = 0; i < o->n_answered; i++)
    if (o->answered[i] > w->joined_arrival)
      return o->answered[i] < e->arrival;
  return false;
}

bool oracle__has_cause(const oracle__inv_t *o, const oracle__worker_t *w,
                       const trace_event_t *e)
{
  /* a cluster-wide disconnect covers the workers already in the cluster */
  return w->cause_at >= 0 || w->behaviour_cause ||
         (w->member_since >= 0 && o->all_cause_at > w->member_since) ||
         answered_between(o, w, e);
}

/* ---------------------------------------------------------------------- */
/* The pass                                                                */

/* Counts an event once every invariant has seen it. */
static void count_event(oracle__inv_t *o, oracle__worker_t *w,
                        const trace_event_t *e)
{
  int tw = oracle__twin_of(e->ev);

  if (tw >= 0 && e->cluster_emitter)
    w->cluster_n[tw]++;
  else if (tw >= 0)
    w->worker_n[tw]++;
  if (e->cluster_emitter && e->ev != TRACE_EV_FORK)
    return;
  if (e->ev == TRACE_EV_FORK && !w->forked) {
    if (e->cluster_emitter && e->worker >= o->next_id)
      o->next_id = e->worker + 1;
    w->forked = true;
    w->fork_at = e->index;
    joins(w, e);
  } else if (e->ev == TRACE_EV_ONLINE) {
    w->n_online++;
  } else if (e->ev == TRACE_EV_DISCONNECT) {
    w->n_disconnect++;
  } else if (e->ev == TRACE_EV_EXIT) {
    w->n_exit++;
    w->exit_at = e->index;
  }
}

static void check_event(oracle__inv_t *o, const trace_event_t *e)
{
  oracle__worker_t *w = worker_of(o, e->worker);
  int i;

  if (w == NULL)
    return;
  for (i = 0; i < ORACLE_INVARIANT_COUNT; i++)
    invariants[i].check(o, e->worker, w, e);
  count_event(o, w, e);
}

typedef struct {
  unsigned id;
  uint32_t slot;
} id_slot_t;

static int by_id(const void *a, const void *b)
{
  unsigned x = ((const id_slot_t *)a)->id, y = ((const id_slot_t *)b)->id;

  return x < y ? -1 : x > y;
}

/* A lifecycle is complete only when the run ended normally: then every
 * forked worker, in id order, through every invariant once more. */
static int check_ends(oracle__inv_t *o)
{
  id_slot_t *order = malloc((o->idx.n_slots + 1) * sizeof(*order));
  size_t i;
  int k;

  if (order == NULL)
    return UV_ENOMEM;
  for (i = 0; i < o->idx.n_slots; i++) {
    order[i].id = o->idx.slots[i].id;
    order[i].slot = (uint32_t)i;
  }
  qsort(order, o->idx.n_slots, sizeof(*order), by_id);
  for (i = 0; i < o->idx.n_slots; i++) {
    oracle__worker_t *w = &o->w[order[i].slot];
    if (!w->forked)
      continue;
    for (k = 0; k < ORACLE_INVARIANT_COUNT; k++)
      invariants[k].check(o, order[i].id, w, NULL);
  }
  free(order);
  return 0;
}

static int by_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

  return x < y ? -1 : x > y;
}

/* The answers to cluster-disconnect, by arrival. */
static int collect_answers(oracle__inv_t *o)
{
  const trace_t *tr = o->tr;

  for (size_t i = 0; i < tr->count; i++) {
    const trace_event_t *e = &tr->events[i];
    if (e->src != TRACE_SRC_HARNESS ||
        strcmp(e->name, "cluster-disconnect-answered") != 0)
      continue;
    if (o->answered == NULL) {
      o->answered = malloc(tr->count * sizeof(*o->answered));
      if (o->answered == NULL)
        return UV_ENOMEM;
    }
    o->answered[o->n_answered++] = e->arrival;
  }
  if (o->n_answered > 1)
    qsort(o->answered, o->n_answered, sizeof(*o->answered), by_u32);
  return 0;
}

int oracle_check(const trace_t *tr, const oracle_opts_t *opts,
                 oracle_findings_t *out)
{
  oracle__inv_t o;
  size_t i;

  memset(&o, 0, sizeof(o));
  o.tr = tr;
  o.out = out;
  o.allow_exit_only = opts != NULL && opts->allow_exit_without_disconnect;
  o.next_id = 1;
  o.all_cause_at = -1;
  if (oracle__index_build(&o.idx, tr) != 0)
    return UV_ENOMEM;
  o.w = calloc(o.idx.n_slots + 1, sizeof(*o.w));
  if (o.w == NULL) {
    oracle__index_free(&o.idx);
    return UV_ENOMEM;
  }
  for (i = 0; i < o.idx.n_slots; i++) {
    o.w[i].fork_at = o.w[i].member_since = -1;
    o.w[i].exit_at = o.w[i].cause_at = -1;
    o.w[i].joined_arrival = UINT32_MAX;
  }
  if (collect_answers(&o) != 0) {
    free(o.w);
    oracle__index_free(&o.idx);
    return UV_ENOMEM;
  }
  for (i = 0; i < tr->count; i++) {
    note_cause(&o, &tr->events[i]);
    if (tr->events[i].src == TRACE_SRC_AGENT && tr->events[i].worker != 0)
      check_event(&o, &tr->events[i]);
  }
  if (tr->complete && check_ends(&o) != 0)
    o.violations = UV_ENOMEM;
  free(o.answered);
  free(o.w);
  oracle__index_free(&o.idx);
  return o.violations;
}

/* ---------------------------------------------------------------------- */
/* The expectations                                                        */

int oracle_expect_check(const scenario_t *s, const trace_t *tr,
                        const trace_load_totals_t *load,
                        oracle_findings_t *out)
{
  oracle__expect_t c;
  oracle__index_t idx;
  trace_t steps_view;
  size_t i, end;

  if (oracle__index_build(&idx, tr) != 0)
    return UV_ENOMEM;
  memset(&c, 0, sizeof(c));
  c.s = s;
  c.idx = &idx;
  c.load = load;
  c.out = out;
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
    if ((int)c.e->kind >= 0 && c.e->kind < SCENARIO_EXPECT_KIND_COUNT)
      expects[c.e->kind](&c);
  }
  oracle__index_free(&idx);
  return c.failures;
}
