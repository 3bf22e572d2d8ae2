/*
 * explore-props.c - the properties a run is checked against: their table
 * (the oracle's invariants by their ids, then EXPLORE_PROP_MAP), what the
 * runner's findings and outcome say of each, and the checks of the
 * finished trace that no scenario expectation can state (respawn, id
 * reuse).
 */
#include "explore-internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* How long a respawn may take beyond the policy's longest backoff, and a
 * replacement from its fork to its `listening` (before --time-scale). */
#define RESPAWN_BOUND_MS 1000
#define LISTEN_BOUND_MS 2000

typedef struct {
  const char *id;
  explore_how_t how;
  const char *doc;
} prop_row_t;

static const prop_row_t props[EXPLORE_PROP_COUNT] = {
#define XX(ID, name, id, doc) {id, EXPLORE_HOW_INVARIANT, doc},
  ORACLE_INVARIANT_MAP(XX)
#undef XX
#define XX(ID, id, how, doc) {id, EXPLORE_HOW_##how, doc},
  EXPLORE_PROP_MAP(XX)
#undef XX
};

const char *explore_prop_name(explore_prop_t p)
{
  return (unsigned)p < EXPLORE_PROP_COUNT ? props[p].id : "?";
}

const char *explore_prop_doc(explore_prop_t p)
{
  return (unsigned)p < EXPLORE_PROP_COUNT ? props[p].doc : "?";
}

explore_how_t explore_prop_how(explore_prop_t p)
{
  return (unsigned)p < EXPLORE_PROP_COUNT ? props[p].how
                                          : EXPLORE_HOW_CHECK;
}

int explore_prop_find(const char *name)
{
  int i;

  for (i = 0; name != NULL && i < EXPLORE_PROP_COUNT; i++)
    if (strcmp(props[i].id, name) == 0)
      return i;
  return -1;
}

void explore_violations_free(explore_violations_t *v)
{
  size_t i;

  for (i = 0; i < v->count; i++)
    free(v->items[i].message);
  free(v->items);
  memset(v, 0, sizeof(*v));
}

bool explore_violations_has(const explore_violations_t *v, explore_prop_t p)
{
  size_t i;

  for (i = 0; i < v->count; i++)
    if (v->items[i].prop == p)
      return true;
  return false;
}

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

/* Past a number: digits, with a fraction. */
static const char *past_number(const char *s)
{
  while (is_digit(*s))
    s++;
  if (*s == '.' && is_digit(s[1]))
    for (s++; is_digit(*s); s++)
      ;
  return s;
}

bool explore_failure_same(const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return false;
  for (;;) {
    bool end_a = *a == '\0' || *a == '\n', end_b = *b == '\0' || *b == '\n';
    if (end_a || end_b)
      return end_a && end_b;
    if (is_digit(*a) && is_digit(*b)) {
      a = past_number(a);
      b = past_number(b);
      continue;
    }
    if (*a++ != *b++)
      return false;
  }
}

bool explore_violations_same(const explore_violations_t *v, explore_prop_t p,
                             const char *message)
{
  size_t i;

  for (i = 0; i < v->count; i++)
    if (v->items[i].prop == p &&
        (message == NULL || explore_failure_same(v->items[i].message,
                                                 message)))
      return true;
  return false;
}

/* One violation per property and run: the first says it. */
int explore__violation_add(explore_violations_t *v, explore_prop_t p,
                           const char *fmt, ...)
{
  va_list ap;
  char *msg;

  if (explore_violations_has(v, p))
    return 0;
  if (base_array_grow(&v->items, &v->cap, v->count + 1,
                      sizeof(*v->items)) != 0)
    return UV_ENOMEM;
  va_start(ap, fmt);
  msg = base_vasprintf(fmt, ap);
  va_end(ap);
  if (msg == NULL)
    return UV_ENOMEM;
  v->items[v->count].prop = p;
  v->items[v->count].message = msg;
  v->count++;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* The runner's findings and outcome                                       */

/* The property of a finding's rule; -1 for none (a step that could not be
 * carried out says nothing of the cluster). */
static int prop_of_rule(const char *rule)
{
  static const struct {
    const char *rule;
    explore_prop_t prop;
  } map[] = {
    {"hygiene", EXPLORE_PROP_ORPHAN},
    {"expect.order", EXPLORE_PROP_EXIT},
    {"expect.timing", EXPLORE_PROP_SHUTDOWN},
    {"expect.availability", EXPLORE_PROP_RESTART},
  };
  size_t i;

  for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (strcmp(rule, map[i].rule) == 0)
      return (int)map[i].prop;
  for (i = 0; i < ORACLE_INVARIANT_COUNT; i++)
    if (strcmp(rule, oracle_invariant_name((oracle_invariant_t)i)) == 0)
      return (int)i;
  return -1;
}

static int check_findings(const runner_result_t *r, uint64_t mask,
                          explore_violations_t *out)
{
  size_t i;
  int rc = 0;

  for (i = 0; i < r->findings.count && rc == 0; i++) {
    const oracle_finding_t *f = &r->findings.items[i];
    int p = prop_of_rule(f->rule);
    if (f->kind != ORACLE_FINDING_FAIL || p < 0 ||
        !(mask & EXPLORE_PROP_BIT(p)))
      continue;
    rc = explore__violation_add(out, (explore_prop_t)p, "%s", f->message);
  }
  return rc;
}

static int check_outcome(const runner_result_t *r, uint64_t mask,
                         explore_violations_t *out)
{
  const char *why = r->reason ? r->reason : "";

  if (r->outcome == RUNNER_TIMEOUT &&
      (mask & EXPLORE_PROP_BIT(EXPLORE_PROP_DEADLINE)))
    return explore__violation_add(out, EXPLORE_PROP_DEADLINE,
                                  "the run passed its deadline: %s", why);
  if (r->outcome == RUNNER_ERROR && !r->interrupted &&
      (mask & EXPLORE_PROP_BIT(EXPLORE_PROP_RUN_ERROR)))
    return explore__violation_add(out, EXPLORE_PROP_RUN_ERROR,
                                  "the run could not be carried out: %s",
                                  why);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* id-reuse                                                                */

static int check_id_reuse(const trace_t *tr, explore_violations_t *out)
{
  uint8_t *seen;
  size_t i;
  int rc = 0;

  seen = calloc(4096, 1);
  if (seen == NULL)
    return UV_ENOMEM;
  for (i = 0; i < tr->count && rc == 0; i++) {
    const trace_event_t *e = &tr->events[i];
    char what[160];
    if (!trace_event_is(e, TRACE_EV_FORK, false) || e->worker == 0 ||
        e->worker >= 4096)
      continue;
    if (seen[e->worker]++ == 0)
      continue;
    trace_event_describe(tr, e, what, sizeof(what));
    rc = explore__violation_add(out, EXPLORE_PROP_ID_REUSE,
                                "worker %u: forked a second time: %s",
                                e->worker, what);
  }
  free(seen);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* respawn-restores                                                        */

typedef struct {
  const explore_base_t *b;
  const trace_t *tr;
  double scale;
  uint64_t stop_t;           /* nothing is respawned from here on */
  explore_violations_t *out;
} respawn_ctx_t;

static bool is_action(const trace_event_t *e, const char *name)
{
  return e->src == TRACE_SRC_HARNESS && strcmp(e->name, name) == 0;
}

static bool is_policy(const trace_event_t *e, trace_ev_t ev)
{
  return e->src == TRACE_SRC_POLICY && e->ev == ev;
}

/* The end of the steps, the start of a shutdown, or the primary's exit,
 * whichever comes first. */
static uint64_t stop_time(const trace_t *tr)
{
  size_t i;

  for (i = 0; i < tr->count; i++) {
    const trace_event_t *e = &tr->events[i];
    if (is_action(e, "end") || is_policy(e, TRACE_EV_SHUTDOWN_START) ||
        e->ev == TRACE_EV_PRIMARY_EXIT)
      return e->t;
  }
  return tr->count > 0 ? tr->events[tr->count - 1].t : 0;
}

/* The time the primary spent SIGSTOPped within [from, to]: it then
 * cannot respawn. */
static uint64_t primary_paused(const trace_t *tr, uint64_t from, uint64_t to)
{
  uint64_t total = 0, since = 0;
  bool paused = false;
  size_t i;

  for (i = 0; i < tr->count; i++) {
    const trace_event_t *e = &tr->events[i];
    if (e->worker != 0 || e->src != TRACE_SRC_HARNESS)
      continue;
    if (is_action(e, "pause")) {
      paused = true;
      since = e->t;
    } else if (is_action(e, "resume") && paused) {
      uint64_t a = since > from ? since : from, z = e->t < to ? e->t : to;
      total += z > a ? z - a : 0;
      paused = false;
    }
  }
  return total;
}

/* A rolling restart retired it: never respawned. */
static bool retired(const trace_t *tr, unsigned w)
{
  size_t i;

  for (i = 0; i < tr->count; i++) {
    const trace_event_t *e = &tr->events[i];
    if ((is_policy(e, TRACE_EV_RESTART_DISCONNECT) ||
         is_policy(e, TRACE_EV_RESTART_KILL)) && e->worker == w)
      return true;
  }
  return false;
}

static bool rule_replaces(scenario_respawn_t rule, const trace_event_t *exit)
{
  bool nonzero = (exit->code != 0 && exit->code != -1) || exit->signal != 0;

  switch (rule) {
  case SCENARIO_RESPAWN_ALWAYS:
    return true;
  case SCENARIO_RESPAWN_UNLESS_EAD:
    return exit->ead == 0;
  case SCENARIO_RESPAWN_ON_NONZERO:
    return nonzero;
  default:
    return false;
  }
}

/* The worker's replacement: the respawn policy's, or the one a rolling
 * restart forked for it (the restart then owns it: when something else,
 * a cluster.disconnect(), ends it before the restart's own disconnect,
 * the policy rightly does not replace it again). */
static const trace_event_t *respawn_of(const trace_t *tr, unsigned old)
{
  size_t i;

  for (i = 0; i < tr->count; i++) {
    const trace_event_t *e = &tr->events[i];
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(e->json, "old");
    if ((is_policy(e, TRACE_EV_RESPAWN) ||
         is_policy(e, TRACE_EV_RESTART_FORK)) && cJSON_IsNumber(o) &&
        (unsigned)o->valuedouble == old)
      return e;
  }
  return NULL;
}

/* The first of the worker's `listening` (or `online`), its `exit`, or a
 * fault the harness aimed at it, after `from`. */
static const trace_event_t *first_news(const trace_t *tr, unsigned w,
                                       trace_ev_t up, uint64_t from)
{
  size_t i;

  for (i = 0; i < tr->count; i++) {
    const trace_event_t *e = &tr->events[i];
    if (e->t < from || e->worker != w)
      continue;
    if (trace_event_is(e, up, false) || trace_event_is(e, TRACE_EV_EXIT,
                                                        false) ||
        (e->src == TRACE_SRC_HARNESS && e->line > 0))
      return e;
  }
  return NULL;
}

static double secs(uint64_t ns)
{
  return (double)ns / 1e9;
}

/* The replacement `n` (forked at rt) listens in time. */
static int check_replacement(respawn_ctx_t *c, unsigned w,
                             const trace_event_t *rt)
{
  const trace_t *tr = c->tr;
  trace_ev_t up = c->b->listens ? TRACE_EV_LISTENING : TRACE_EV_ONLINE;
  uint64_t bound = (uint64_t)((double)(c->b->startup_delay_ms +
                                       LISTEN_BOUND_MS) * c->scale * 1e6);
  uint64_t deadline = rt->t + bound, late;
  const trace_event_t *n = first_news(tr, rt->worker, up, rt->t);

  deadline += primary_paused(tr, rt->t, deadline);
  late = n != NULL ? n->t : c->stop_t;
  if (late <= deadline || (n == NULL && c->stop_t <= deadline))
    return 0;
  if (n != NULL && !trace_event_is(n, up, false))
    return 0; /* it exited, or was hit, first: judged on its own */
  return explore__violation_add(
      c->out, EXPLORE_PROP_RESPAWN,
      "worker %u (replacing worker %u, forked at %.3f s) was not %s within "
      "%.3f s%s", rt->worker, w, trace_secs(tr, rt->t), trace_ev_name(up),
      secs(bound), n != NULL ? "" : " (nor before the end of the steps)");
}

static int check_exit(respawn_ctx_t *c, const trace_event_t *e)
{
  const trace_t *tr = c->tr;
  uint64_t bound = (uint64_t)((double)(c->b->backoff_max_ms +
                                       RESPAWN_BOUND_MS) * c->scale * 1e6);
  uint64_t deadline = e->t + bound;
  const trace_event_t *rt;

  if (e->t >= c->stop_t || !rule_replaces(c->b->respawn, e) ||
      retired(tr, e->worker))
    return 0;
  deadline += primary_paused(tr, e->t, deadline);
  rt = respawn_of(tr, e->worker);
  if (rt == NULL && deadline >= c->stop_t)
    return 0;
  if (rt == NULL)
    return explore__violation_add(
        c->out, EXPLORE_PROP_RESPAWN,
        "worker %u exited at %.3f s (code %lld, signal %s, ead %s) and was "
        "not replaced within %.3f s", e->worker, trace_secs(tr, e->t),
        (long long)e->code, e->signal ? base_signal_name(e->signal) : "null",
        e->ead == 1 ? "true" : "false", secs(bound));
  if (rt->t > deadline)
    return explore__violation_add(
        c->out, EXPLORE_PROP_RESPAWN,
        "worker %u exited at %.3f s and was replaced (by worker %u) only "
        "%.3f s later, past %.3f s", e->worker, trace_secs(tr, e->t),
        rt->worker, secs(rt->t - e->t), secs(bound));
  return check_replacement(c, e->worker, rt);
}

static int check_respawn(const explore_base_t *b, const runner_result_t *r,
                         double scale, explore_violations_t *out)
{
  respawn_ctx_t c = {b, &r->trace, scale, stop_time(&r->trace), out};
  size_t i;
  int rc = 0;

  if (b->respawn == SCENARIO_RESPAWN_NEVER)
    return 0;
  for (i = 0; i < r->trace.count && rc == 0; i++)
    if (trace_event_is(&r->trace.events[i], TRACE_EV_EXIT, false))
      rc = check_exit(&c, &r->trace.events[i]);
  return rc;
}

/* ---------------------------------------------------------------------- */

int explore_check(const explore_base_t *b, const runner_result_t *r,
                  uint64_t mask, double time_scale,
                  explore_violations_t *out)
{
  int rc = check_outcome(r, mask, out);

  if (rc == 0)
    rc = check_findings(r, mask, out);
  if (rc == 0 && (mask & EXPLORE_PROP_BIT(EXPLORE_PROP_ID_REUSE)))
    rc = check_id_reuse(&r->trace, out);
  if (rc == 0 && (mask & EXPLORE_PROP_BIT(EXPLORE_PROP_RESPAWN)))
    rc = check_respawn(b, r, time_scale > 0 ? time_scale : 1.0, out);
  return rc;
}
