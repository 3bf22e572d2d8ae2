/*
 * The expectation kinds: one definition per row of SCENARIO_EXPECT_MAP,
 * named expect_<name>, read the same way as the step kinds (see
 * scenario-steps.c). A kind's value is a list of items or one item; its
 * hook checks what a row cannot say (a count needs a bound...).
 *
 * Adding an expectation kind: a row in SCENARIO_EXPECT_MAP (scenario.h),
 * its expect_<name> here, its oracle__expect_<name> in harness/oracle/.
 */
#include "scenario-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <regex.h>

#define T(x) (&scenario__t_##x)
#define REQ SCENARIO__REQUIRED
#define AT(m) SCENARIO__TO(scenario_expect_t, m)
#define POINT(m) SCENARIO__TO(scenario_point_t, m)
/* a probe check's step, as the step of its `from` point */
#define POINT_STEP                                                          \
  {.off = offsetof(scenario_expect_t, from) +                               \
          offsetof(scenario_point_t, step),                                 \
   .size = sizeof(((scenario_point_t *)0)->step),                           \
   .how = SCENARIO__TO_CHARS}

const scenario__type_t scenario__t_expect = {.kind = SCENARIO__T_EXPECT,
                                             .what = "expectations"};

/* Counts and absences are about what the steps did; lifecycles, flags and
 * timings may end in the end-of-run shutdown. */
#define DURING(dflt)                                                        \
  {"during", T(during), 0, dflt, AT(whole_run)}

/* ---------------------------------------------------------------------- */
/* Hooks                                                                   */

/* "fork", "online?", "!listening", "disconnect|exit" -> elements, and the
 * pattern as written, for messages. */
static int parse_pattern(scenario_expect_t *e, struct fy_node *seq)
{
  size_t n = fy_node_sequence_item_count(seq), i = 0, len;
  struct fy_node *item;
  void *it = NULL;
  FILE *text;

  e->pattern = calloc(n ? n : 1, sizeof(*e->pattern));
  text = open_memstream(&e->pattern_text, &len);
  if (e->pattern == NULL || text == NULL) {
    if (text != NULL)
      fclose(text);
    return UV_ENOMEM;
  }
  while ((item = fy_node_sequence_iterate(seq, &it)) != NULL && i < n) {
    scenario_pattern_elem_t *el = &e->pattern[i];
    char buf[256], *p = buf, *alt, *save = NULL;

    snprintf(buf, sizeof(buf), "%s", scenario__node_str(item));
    fprintf(text, "%s%s", i++ ? ", " : "", buf);
    el->quant = '1';
    if (*p == '!') {
      el->absent = true;
      p++;
    }
    len = strlen(p);
    if (len > 0 && strchr("?*+", p[len - 1]) != NULL) {
      el->quant = p[len - 1];
      p[len - 1] = '\0';
    }
    for (alt = strtok_r(p, "|", &save); alt; alt = strtok_r(NULL, "|", &save))
      el->alternatives |= 1ull << trace_ev_from_name(alt);
  }
  e->n_pattern = i;
  return fclose(text) == 0 ? 0 : UV_ENOMEM;
}

static int order_build(scenario__build_t *b, const scenario__at_t *at,
                       scenario_expect_t *e)
{
  struct fy_node *x = scenario__node_get(at->node, "pattern");

  if (fy_node_sequence_item_count(x) == 0)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "an order pattern needs events");
  return parse_pattern(e, x);
}

bool scenario__ev_of_no_worker(trace_ev_t ev)
{
  static const trace_ev_t none[] = {
    TRACE_EV_SETUP, TRACE_EV_DISCONNECT_CALLBACK, TRACE_EV_PRIMARY_EXIT,
    TRACE_EV_SHUTDOWN_START, TRACE_EV_SHUTDOWN_FORCE, TRACE_EV_SHUTDOWN_DONE,
    TRACE_EV_METRICS_LISTENING, TRACE_EV_METRICS_ERROR,
    TRACE_EV_RESTART_DONE, TRACE_EV_RESTART_FAILED,
    TRACE_EV_STICKY_LISTENING, TRACE_EV_STICKY_ERROR, TRACE_EV_STICKY_TABLE,
    TRACE_EV_STICKY_MOVE, TRACE_EV_HANDLE_LISTENING, TRACE_EV_HANDLE_ERROR,
    TRACE_EV_HANDLE_CONNECTION};
  size_t i;

  for (i = 0; i < sizeof(none) / sizeof(none[0]); i++)
    if (none[i] == ev)
      return true;
  return false;
}

/* The checks a flags item (or one of its `one-of` alternatives) may make:
 * the oracle reads their values from the item's JSON. */
static const char *const flag_checks[] = {
  "exitedAfterDisconnect", "isConnected", "isDead", "member", "state",
  "code", "signal", "error", "fields", NULL};

static bool has_a_check(struct fy_node *n)
{
  size_t i;

  for (i = 0; flag_checks[i] != NULL; i++)
    if (scenario__node_get(n, flag_checks[i]) != NULL)
      return true;
  return false;
}

static bool fields_not_a_mapping(struct fy_node *n)
{
  struct fy_node *f = scenario__node_get(n, "fields");

  return f != NULL && fy_node_get_type(f) != FYNT_MAPPING;
}

static bool some_fields_not_a_mapping(struct fy_node *alts)
{
  struct fy_node *alt;
  void *it = NULL;

  while ((alt = fy_node_sequence_iterate(alts, &it)) != NULL)
    if (fields_not_a_mapping(alt))
      return true;
  return false;
}

static int flags_build(scenario__build_t *b, const scenario__at_t *at,
                       scenario_expect_t *e)
{
  struct fy_node *alts = scenario__node_get(at->node, "one-of"), *alt;
  void *it = NULL;

  /* the primary's exit, `setup`, the disconnect callback and the shutdown
   * belong to no worker */
  if (scenario__ev_of_no_worker(e->event)) {
    if (scenario__node_get(at->node, "worker") != NULL)
      scenario__errs_add(b->errs, at->loc, at->path,
                         "%s belongs to no worker: drop 'worker'",
                         trace_ev_name(e->event));
    e->worker.kind = SCENARIO_W_NONE;
  }
  if (fields_not_a_mapping(at->node) || (alts != NULL &&
                                          some_fields_not_a_mapping(alts)))
    scenario__errs_add(b->errs, at->loc, at->path,
                       "fields is a mapping of the record's fields and "
                       "their values");
  if (alts != NULL && has_a_check(at->node))
    scenario__errs_add(b->errs, at->loc, at->path,
                       "checks go either next to 'at' or in 'one-of', not "
                       "both");
  else if (alts == NULL && !has_a_check(at->node))
    scenario__errs_add(b->errs, at->loc, at->path,
                       "a flags check needs at least one of "
                       "exitedAfterDisconnect, isConnected, isDead, member, "
                       "state, code, signal, error, fields (or one-of)");
  while (alts != NULL && (alt = fy_node_sequence_iterate(alts, &it)) != NULL)
    if (!has_a_check(alt))
      scenario__errs_add(b->errs, scenario__node_loc(alt, at->loc), at->path,
                         "an alternative of one-of needs at least one check");
  return 0;
}

/* `count: N` is `min: N, max: N`. */
static int count_build(scenario__build_t *b, const scenario__at_t *at,
                       scenario_expect_t *e)
{
  struct fy_node *c = scenario__node_get(at->node, "count");
  bool mn = scenario__node_get(at->node, "min") != NULL;
  bool mx = scenario__node_get(at->node, "max") != NULL;
  int64_t n;

  if (c != NULL && (mn || mx))
    scenario__errs_add(b->errs, at->loc, at->path,
                       "use either 'count' or 'min'/'max', not both");
  else if (c == NULL && !mn && !mx)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "a count needs 'count', 'min' or 'max'");
  if (c != NULL && scenario__parse_int(scenario__node_str(c), &n)) {
    if (!mn)
      e->min = n;
    if (!mx)
      e->max = n;
  }
  if (e->min >= 0 && e->max >= 0 && e->min > e->max)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "min %lld is more than max %lld", (long long)e->min,
                       (long long)e->max);
  return 0;
}

static int availability_build(scenario__build_t *b, const scenario__at_t *at,
                              scenario_expect_t *e)
{
  if (e->max_failed < 0 && !e->always_listening)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "an availability budget needs 'max-failed' or "
                       "'always-listening'");
  if (b->s->n_servers == 0)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "availability needs a worker server (worker: "
                       "{servers: [...]})");
  return 0;
}

/* A step named by its index or its name, anywhere in `steps`. */
static const scenario_step_t *step_named(const scenario_step_t *st, size_t n,
                                         const char *name)
{
  const scenario_step_t *x;
  size_t i;

  for (i = 0; i < n; i++) {
    if (strcmp(st[i].name, name) == 0)
      return &st[i];
    if ((x = step_named(st[i].actions, st[i].n_actions, name)) != NULL)
      return x;
  }
  return NULL;
}

#define MAX_NAMES 64

/* The names of the steps, for suggestions. */
static void step_names(const scenario_step_t *st, size_t n_st,
                       const char **names, size_t *n)
{
  size_t i;

  for (i = 0; i < n_st && *n < MAX_NAMES; i++) {
    if (st[i].name[0] != '\0')
      names[(*n)++] = st[i].name;
    step_names(st[i].actions, st[i].n_actions, names, n);
  }
}

/* `step: N` or `step: NAME` -> the step's path. */
static void resolve_step(scenario__build_t *b, struct fy_node *v,
                         scenario__loc_t loc, const char *path, char *step)
{
  const scenario_t *s = b->s;
  const scenario_step_t *st;
  const char *names[MAX_NAMES + 1], *hint;
  size_t n = 0;
  int64_t i;

  if (!scenario__node_is_quoted(v) &&
      scenario__parse_int(scenario__node_str(v), &i)) {
    if (i >= (int64_t)s->n_steps)
      scenario__errs_add(b->errs, loc, path,
                         "step %lld does not exist: this scenario has %zu "
                         "step%s (counted from 0, as in /steps/N)",
                         (long long)i, s->n_steps, s->n_steps == 1 ? "" : "s");
    else
      snprintf(step, 64, "%s", s->steps[i].path);
    return;
  }
  st = step_named(s->steps, s->n_steps, scenario__node_str(v));
  if (st != NULL) {
    snprintf(step, 64, "%s", st->path);
    return;
  }
  step_names(s->steps, s->n_steps, names, &n);
  names[n] = NULL;
  hint = base_suggest(scenario__node_str(v), names);
  if (hint != NULL)
    scenario__errs_add(b->errs, loc, path,
                       "no step is named '%s' (did you mean '%s'?)",
                       scenario__node_str(v), hint);
  else
    scenario__errs_add(b->errs, loc, path, "no step is named '%s'",
                       scenario__node_str(v));
}

/* The step at a path, anywhere in `steps`. */
static const scenario_step_t *step_at(const scenario_step_t *st, size_t n,
                                      const char *path)
{
  const scenario_step_t *x;
  size_t i;

  for (i = 0; i < n; i++) {
    if (strcmp(st[i].path, path) == 0)
      return &st[i];
    if ((x = step_at(st[i].actions, st[i].n_actions, path)) != NULL)
      return x;
  }
  return NULL;
}

/* A point names an event or a step; `worker` and `emitter` go with an
 * event. */
static void point_build(scenario__build_t *b, const scenario__at_t *at,
                        const char *key, scenario_point_t *p)
{
  struct fy_node *n = scenario__node_get(at->node, key), *step;
  scenario__loc_t loc;
  char path[512];

  if (n == NULL)
    return;
  loc = scenario__node_loc(n, at->loc);
  snprintf(path, sizeof(path), "%s/%s", at->path, key);
  step = scenario__node_get(n, "step");
  p->step[0] = '\0';
  if (step != NULL && scenario__node_get(n, "event") != NULL)
    scenario__errs_add(b->errs, loc, path,
                       "a point is an event or a step, not both");
  else if (step == NULL && scenario__node_get(n, "event") == NULL)
    scenario__errs_add(b->errs, loc, path,
                       "a point needs 'event' or 'step'");
  else if (step != NULL && (scenario__node_get(n, "worker") != NULL ||
                            scenario__node_get(n, "emitter") != NULL))
    scenario__errs_add(b->errs, loc, path,
                       "'worker' and 'emitter' go with 'event', not with "
                       "'step'");
  else if (step != NULL)
    resolve_step(b, step, scenario__node_loc(step, loc), path, p->step);
}

static int timing_build(scenario__build_t *b, const scenario__at_t *at,
                        scenario_expect_t *e)
{
  point_build(b, at, "from", &e->from);
  point_build(b, at, "to", &e->to);
  if (e->min_ms < 0 && e->max_ms < 0)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "a timing bound needs 'within' or 'at-least'");
  else if (e->min_ms >= 0 && e->max_ms >= 0 && e->min_ms > e->max_ms)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "at-least is longer than within");
  return 0;
}

static int precedes_build(scenario__build_t *b, const scenario__at_t *at,
                          scenario_expect_t *e)
{
  point_build(b, at, "first", &e->from);
  point_build(b, at, "then", &e->to);
  if (e->before_each && (e->from.worker.kind == SCENARIO_W_EACH ||
                         e->to.worker.kind == SCENARIO_W_EACH))
    scenario__errs_add(b->errs, at->loc, at->path,
                       "before-each pairs every 'then' with the 'first' "
                       "before it: 'worker: each' does not go with it");
  return 0;
}

/* Whether some step (also in a trigger's `do`) is of `kind`. */
static bool has_step(const scenario_step_t *st, size_t n,
                     scenario_step_kind_t kind)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (st[i].kind == kind || has_step(st[i].actions, st[i].n_actions, kind))
      return true;
  return false;
}

static int served_build(scenario__build_t *b, const scenario__at_t *at,
                        scenario_expect_t *e)
{
  bool bound = scenario__node_get(at->node, "count") != NULL ||
               scenario__node_get(at->node, "min") != NULL ||
               scenario__node_get(at->node, "max") != NULL;

  if (bound)
    count_build(b, at, e);
  else if (scenario__node_get(at->node, "rotation") == NULL &&
           scenario__node_get(at->node, "affinity") == NULL)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "a served check needs 'count', 'min', 'max', "
                       "'rotation' or 'affinity'");
  point_build(b, at, "after", &e->from);
  point_build(b, at, "before", &e->to);
  if (!has_step(b->s->steps, b->s->n_steps, SCENARIO_STEP_LOAD_START))
    scenario__errs_add(b->errs, at->loc, at->path,
                       "served needs a load step (load: {start: ...})");
  b->s->record_requests = true;
  return 0;
}

static int messages_build(scenario__build_t *b, const scenario__at_t *at,
                          scenario_expect_t *e)
{
  static const char *const checks[] = {"values", "includes", "increasing",
                                       "echoes", NULL};
  size_t i;

  (void)e;
  for (i = 0; checks[i] != NULL; i++)
    if (scenario__node_get(at->node, checks[i]) != NULL)
      return 0;
  scenario__errs_add(b->errs, at->loc, at->path,
                     "a messages check needs 'values', 'includes', "
                     "'increasing' or 'echoes'");
  return 0;
}

/* The step a probe check names: it must probe (a `status`, or `probe:
 * true`); a worker's own probe (of a fault) knows nothing of the
 * primary's membership, workers or callbacks. */
static int probes_build(scenario__build_t *b, const scenario__at_t *at,
                        scenario_expect_t *e)
{
  static const char *const primary_only[] = {"member", "workers",
                                             "callbacks", NULL};
  struct fy_node *v = scenario__node_get(at->node, "step");
  const scenario_step_t *st;
  size_t i;

  if (fields_not_a_mapping(at->node))
    scenario__errs_add(b->errs, at->loc, at->path,
                       "fields is a mapping of the record's fields and "
                       "their values");
  resolve_step(b, v, scenario__node_loc(v, at->loc), at->path, e->from.step);
  if (e->from.step[0] == '\0' ||
      (st = step_at(b->s->steps, b->s->n_steps, e->from.step)) == NULL)
    return 0;
  if (!st->probe && st->kind != SCENARIO_STEP_STATUS) {
    scenario__errs_add(b->errs, at->loc, at->path,
                       "step %s takes no probe: give it 'probe: true'",
                       st->path);
    return 0;
  }
  for (i = 0; scenario__step_is_fault(st->kind) && primary_only[i]; i++)
    if (scenario__node_get(at->node, primary_only[i]) != NULL)
      scenario__errs_add(b->errs, at->loc, at->path,
                         "a worker's own probe (of %s) has no '%s': that is "
                         "the primary's", scenario_step_name(st->kind),
                         primary_only[i]);
  return 0;
}

static int addresses_build(scenario__build_t *b, const scenario__at_t *at,
                           scenario_expect_t *e)
{
  static const char *const checks[] = {"addressType", "address", "port",
                                       "fd", NULL};
  size_t i;

  (void)e;
  if (b->s->n_servers == 0)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "addresses needs a worker server (worker: {servers: "
                       "[...]})");
  for (i = 0; checks[i] != NULL; i++)
    if (scenario__node_get(at->node, checks[i]) != NULL)
      return 0;
  scenario__errs_add(b->errs, at->loc, at->path,
                     "an address check needs 'addressType', 'address', "
                     "'port' or 'fd'");
  return 0;
}

static int handles_build(scenario__build_t *b, const scenario__at_t *at,
                         scenario_expect_t *e)
{
  struct fy_node *to = scenario__node_get(at->node, "to");

  if (to != NULL && strcmp(scenario__node_str(to), "primary") == 0 &&
      scenario__node_get(at->node, "action") != NULL)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "the primary holds what a worker sends: 'action' is "
                       "a worker's (to: worker)");
  return count_build(b, at, e);
}

/* Whether some setup of the scenario makes its workers silent. */
static bool silent_somewhere(const scenario_t *s)
{
  size_t i;

  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s->settings, "silent")))
    return true;
  for (i = 0; i < s->n_steps; i++)
    if (s->steps[i].kind == SCENARIO_STEP_SETUP &&
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s->steps[i].behaviour,
                                                      "silent")))
      return true;
  return false;
}

static int output_build(scenario__build_t *b, const scenario__at_t *at,
                        scenario_expect_t *e)
{
  struct fy_node *m = scenario__node_get(at->node, "match");
  bool bound = scenario__node_get(at->node, "count") != NULL ||
               scenario__node_get(at->node, "min") != NULL ||
               scenario__node_get(at->node, "max") != NULL;
  regex_t re;
  int rc;

  if (bound || scenario__node_get(at->node, "dropped") == NULL)
    count_build(b, at, e);
  if (m != NULL && scenario__node_get(at->node, "line") != NULL)
    scenario__errs_add(b->errs, at->loc, at->path,
                       "an output check takes 'line' or 'match', not both");
  if (m != NULL) {
    rc = regcomp(&re, scenario__node_str(m), REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
      char why[128];
      regerror(rc, &re, why, sizeof(why));
      scenario__errs_add(b->errs, scenario__node_loc(m, at->loc), at->path,
                         "'match' is not a POSIX extended regular "
                         "expression: %s", why);
    }
    regfree(&re);
  }
  if (!silent_somewhere(b->s))
    scenario__errs_add(b->errs, at->loc, at->path,
                       "output is reported for silent workers only "
                       "(cluster: {silent: true})");
  return 0;
}

/* ---------------------------------------------------------------------- */
/* The kinds, in the order of SCENARIO_EXPECT_MAP                          */

static const scenario__expect_def_t expect_order = {
  .value = SCENARIO__SEQ(
      "a list of order patterns",
      SCENARIO__MAP("an order pattern",
                    {"worker", T(wref_each), 0, "each", AT(worker)},
                    {"pattern", T(pattern_seq), REQ, NULL, {0}},
                    DURING("run"))),
  .build = order_build};

static const scenario__expect_def_t expect_absent = {
  .value = SCENARIO__SEQ(
      "a list of absences",
      SCENARIO__MAP("an absence",
                    {"event", T(event), REQ, NULL, AT(event)},
                    {"worker", T(wref_count), 0, "any", AT(worker)},
                    {"emitter", T(emitter), 0, "worker",
                     AT(cluster_emitter)},
                    DURING("steps")))};

/* What a flags item checks; each value may be a list of the values Node
 * may give. `error` is the code of an `error` event (or of a
 * worker-server-error); `fields` the record's own fields (objects
 * compared by the keys written). */
#define FLAG_CHECKS                                                         \
  {"exitedAfterDisconnect", T(bool_null_alts), 0, NULL, {0}},               \
  {"isConnected", T(bool_alts), 0, NULL, {0}},                              \
  {"isDead", T(bool_alts), 0, NULL, {0}},                                   \
  {"member", T(bool_alts), 0, NULL, {0}},                                   \
  {"state", T(str_alts), 0, NULL, {0}},                                     \
  {"code", T(code_alts), 0, NULL, {0}},                                     \
  {"signal", T(signal_alts), 0, NULL, {0}},                                 \
  {"error", T(str_alts), 0, NULL, {0}},                                     \
  {"fields", T(any), 0, NULL, {0}}

static const scenario__type_t t_nth_each = {
  .kind = SCENARIO__T_ONEOF, .what = "an occurrence or each",
  .alts = (const scenario__type_t *const[]){
      T(nth),
      &(const scenario__type_t){.kind = SCENARIO__T_ENUM,
                                .what = "an occurrence or each",
                                .words = (const char *const[]){"each", NULL}},
      NULL}};

static const scenario__expect_def_t expect_flags = {
  .value = SCENARIO__SEQ(
      "a list of flag checks",
      SCENARIO__MAP(
          "a flags check",
          {"at", T(event), REQ, NULL, AT(event)},
          {"worker", T(wref_each), 0, "each", AT(worker)},
          /* each: every occurrence */
          {"nth", &t_nth_each, 0, "1", AT(nth)},
          {"emitter", T(emitter), 0, "worker", AT(cluster_emitter)},
          /* the event may not happen; when it does, the checks hold */
          {"optional", T(bool), 0, "false", AT(optional)},
          FLAG_CHECKS,
          /* any one of these sets of checks */
          {"one-of", SCENARIO__SEQ("a list of checks",
                                   SCENARIO__MAP("a set of checks",
                                                 FLAG_CHECKS)),
           0, NULL, {0}},
          DURING("run"))),
  .build = flags_build};

static const scenario__expect_def_t expect_count = {
  .value = SCENARIO__SEQ(
      "a list of counts",
      SCENARIO__MAP("a count",
                    {"event", T(event), REQ, NULL, AT(event)},
                    {"worker", T(wref_count), 0, "any", AT(worker)},
                    {"emitter", T(emitter), 0, "worker",
                     AT(cluster_emitter)},
                    {"count", T(count0), 0, NULL, {0}},
                    {"min", T(count0), 0, NULL, AT(min)},
                    {"max", T(count0), 0, NULL, AT(max)},
                    DURING("steps"))),
  .build = count_build};

static const scenario__expect_def_t expect_availability = {
  .value = SCENARIO__MAP(
      "an availability budget",
      /* after the retries */
      {"max-failed", T(limit), 0, NULL, AT(max_failed)},
      /* fewer served: inconclusive, the budget was not exercised */
      {"min-requests", T(limit), 0, "1", AT(min_requests)},
      {"always-listening", T(bool), 0, "false", AT(always_listening)}),
  .build = availability_build};

/* An event (of a worker, any worker or each worker) or a step. */
static const scenario__type_t t_point = SCENARIO__MAP_OF(
    "an event or a step",
    {"event", T(events), 0, NULL, POINT(events)},
    {"step", T(stepref), 0, NULL, POINT(step)},
    {"worker", T(wref_points), 0, "any", POINT(worker)},
    {"nth", T(nth), 0, "1", POINT(nth)},
    {"emitter", T(emitter), 0, "worker", POINT(cluster_emitter)});

static const scenario__expect_def_t expect_timing = {
  .value = SCENARIO__SEQ(
      "a list of timing bounds",
      SCENARIO__MAP("a timing bound",
                    /* without `from`: the start of the run */
                    {"from", &t_point, 0, NULL, AT(from)},
                    {"to", &t_point, REQ, NULL, AT(to)},
                    {"within", T(dur), 0, NULL, AT(max_ms)},
                    {"at-least", T(dur), 0, NULL, AT(min_ms)},
                    DURING("run"))),
  .build = timing_build};

static const scenario__expect_def_t expect_precedes = {
  .value = SCENARIO__SEQ(
      "a list of orders",
      SCENARIO__MAP("an order of two points",
                    {"first", &t_point, REQ, NULL, AT(from)},
                    {"then", &t_point, REQ, NULL, AT(to)},
                    /* every `then` event has a `first` since the one
                       before */
                    {"before-each", T(bool), 0, "false", AT(before_each)},
                    DURING("run"))),
  .build = precedes_build};

#define WORDS(what_, ...)                                                   \
  (&(const scenario__type_t){.kind = SCENARIO__T_ENUM, .what = what_,       \
                             .words = (const char *const[]){__VA_ARGS__,    \
                                                           NULL}})
#define ALTS_OF(what_, one)                                                 \
  (&(const scenario__type_t){                                               \
      .kind = SCENARIO__T_ONEOF, .what = what_,                             \
      .alts = (const scenario__type_t *const[]){                            \
          one, SCENARIO__SEQ("a list of alternatives", one), NULL}})

static const scenario__type_t t_str_null = {
  .kind = SCENARIO__T_STR, .what = "a string or null",
  .flags = SCENARIO__NULLABLE};
/* -1: a UNIX socket's */
static const scenario__type_t t_addr_port = {
  .kind = SCENARIO__T_INT, .what = "a port", .min = -1, .max = 65535};
static const scenario__type_t t_addr_family = {
  .kind = SCENARIO__T_INT, .what = "an address type", .min = -1, .max = 6};
/* 4, 6, -1 (a UNIX socket), or a UDP socket's udp4 and udp6 */
static const scenario__type_t t_addr_type = {
  .kind = SCENARIO__T_ONEOF, .what = "an address type (4, 6, -1, udp4, udp6)",
  .alts = (const scenario__type_t *const[]){
      &t_addr_family,
      &(const scenario__type_t){.kind = SCENARIO__T_ENUM,
                                .what = "an address type",
                                .words = (const char *const[]){"udp4", "udp6",
                                                               NULL}},
      NULL}};

static const scenario__expect_def_t expect_addresses = {
  .value = SCENARIO__SEQ(
      "a list of address checks",
      SCENARIO__MAP("an address check",
                    {"worker", T(wref_each), 0, "each", AT(worker)},
                    /* which server of the behaviour */
                    {"index", T(server_index), 0, "0", {0}},
                    /* a re-listen on the same index is its second */
                    {"nth", T(nth), 0, "1", AT(nth)},
                    {"addressType",
                     ALTS_OF("an address type or a list of them",
                             &t_addr_type), 0, NULL, {0}},
                    {"address",
                     ALTS_OF("a string, null or a list of them", &t_str_null),
                     0, NULL, {0}},
                    {"port", ALTS_OF("a port or a list of them", &t_addr_port),
                     0, NULL, {0}},
                    {"fd", T(any), 0, NULL, {0}},
                    DURING("run"))),
  .build = addresses_build};

static const scenario__expect_def_t expect_ports = {
  .value = SCENARIO__SEQ(
      "a list of port checks",
      SCENARIO__MAP(
          "a port check",
          /* the primary's `listening`, or what workers report (exclusive
             servers too) */
          {"from", WORDS("source", "listening", "worker-listening"), 0,
           "listening", {0}},
          {"across-workers", WORDS("relation", "same", "distinct", "any"),
           0, "same", {0}},
          {"across-indexes", WORDS("relation", "distinct", "same", "any"),
           0, "distinct", {0}},
          DURING("run")))};

static const scenario__expect_def_t expect_served = {
  .value = SCENARIO__SEQ(
      "a list of served checks",
      SCENARIO__MAP(
          "a served check",
          {"worker", T(wref_count), 0, "any", AT(worker)},
          {"outcome",
           WORDS("outcome", "ok", "failed", "refused", "reset", "timeout",
                 "bad-status", "truncated", "error", "retried"),
           0, "ok", {0}},
          {"count", T(count0), 0, NULL, {0}},
          {"min", T(count0), 0, NULL, AT(min)},
          {"max", T(count0), 0, NULL, AT(max)},
          /* requests started from this point on, or before it */
          {"after", &t_point, 0, NULL, AT(from)},
          {"before", &t_point, 0, NULL, AT(to)},
          {"rotation", WORDS("rotation", "strict"), 0, NULL, {0}},
          {"affinity", WORDS("affinity", "client", "connection", "sticky"),
           0, NULL, {0}},
          DURING("run"))),
  .build = served_build};

static const scenario__expect_def_t expect_messages = {
  .value = SCENARIO__SEQ(
      "a list of message checks",
      SCENARIO__MAP(
          "a message check",
          {"worker", T(wref_each), 0, "each", AT(worker)},
          /* the primary's `message` events, or what the worker got */
          {"to", WORDS("receiver", "primary", "worker"), 0, "primary",
           {0}},
          {"emitter", T(emitter), 0, "worker", AT(cluster_emitter)},
          /* exactly these, in this order */
          {"values", SCENARIO__SEQ("a list of messages", T(any)), 0, NULL,
           {0}},
          /* these, in this order, among others */
          {"includes", SCENARIO__SEQ("a list of messages", T(any)), 0, NULL,
           {0}},
          {"increasing",
           SCENARIO__MAP("an increasing sequence",
                         /* a dotted path into each message; "": itself */
                         {"path", T(str), 0, "\"\"", {0}},
                         /* each the one before plus this */
                         {"by", T(limit), 0, NULL, {0}}),
           0, NULL, {0}},
          /* what the other side sent, as such, or under this key */
          {"echoes", WORDS("echo", "same", "echo", "reply"), 0, NULL,
           {0}},
          DURING("run"))),
  .build = messages_build};

/* What a probe can be asked: the flags of a worker, what the call
 * returned (a Worker object as {worker: id}), the ids in cluster.workers,
 * the cluster.disconnect() callbacks run so far. */
#define PROBE_CHECKS                                                        \
  {"exitedAfterDisconnect", T(bool_null_alts), 0, NULL, {0}},               \
  {"isConnected", T(bool_alts), 0, NULL, {0}},                              \
  {"isDead", T(bool_alts), 0, NULL, {0}},                                   \
  {"member", T(bool_alts), 0, NULL, {0}},                                   \
  {"state", T(str_alts), 0, NULL, {0}},                                     \
  {"returned", T(any), 0, NULL, {0}},                                       \
  {"workers", SCENARIO__SEQ("a list of worker ids", T(nth)), 0, NULL, {0}}, \
  {"callbacks", T(count0), 0, NULL, {0}},                                   \
  {"fields", T(any), 0, NULL, {0}}

static const scenario__expect_def_t expect_probes = {
  .value = SCENARIO__SEQ(
      "a list of probe checks",
      SCENARIO__MAP("a probe check",
                    {"step", T(stepref), REQ, NULL, POINT_STEP},
                    /* which time the step ran (in a trigger) */
                    {"nth", T(nth), 0, "1", AT(nth)},
                    /* default: the step's own worker, or each probed */
                    {"worker", T(wref_each), 0, NULL, AT(worker)},
                    PROBE_CHECKS,
                    {"one-of", SCENARIO__SEQ("a list of checks",
                                             SCENARIO__MAP("a set of checks",
                                                           PROBE_CHECKS)),
                     0, NULL, {0}},
                    DURING("run"))),
  .build = probes_build};

static const scenario__expect_def_t expect_twins = {
  .value = SCENARIO__SEQ(
      "a list of emitter orders",
      SCENARIO__MAP("an emitter order",
                    {"event", T(event), REQ, NULL, AT(event)},
                    {"first", T(emitter), REQ, NULL, AT(cluster_emitter)},
                    {"worker", T(wref_each), 0, "each", AT(worker)},
                    DURING("run")))};

static const scenario__expect_def_t expect_handles = {
  .value = SCENARIO__SEQ(
      "a list of handle checks",
      SCENARIO__MAP(
          "a handle check",
          {"worker", T(wref_count), 0, "any", AT(worker)},
          /* what the worker got (its `handle` observations), or what the
             primary got from it (`handle-received`) */
          {"to", WORDS("receiver", "worker", "primary"), 0, "worker", {0}},
          {"kind", WORDS("handle kind", "socket", "server"), 0, NULL, {0}},
          {"action", WORDS("action", "serve", "listen", "close"), 0, NULL,
           {0}},
          {"message", T(any), 0, NULL, {0}},
          {"count", T(count0), 0, NULL, {0}},
          {"min", T(count0), 0, NULL, AT(min)},
          {"max", T(count0), 0, NULL, AT(max)},
          DURING("run"))),
  .build = handles_build};

static const scenario__expect_def_t expect_output = {
  .value = SCENARIO__SEQ(
      "a list of output checks",
      SCENARIO__MAP(
          "an output check",
          {"worker", T(wref_count), 0, "each", AT(worker)},
          /* default: both */
          {"stream", WORDS("stream", "stdout", "stderr"), 0, NULL, {0}},
          /* the whole line, or a POSIX extended regular expression */
          {"line", T(str), 0, NULL, {0}},
          {"match", T(str), 0, NULL, {0}},
          {"count", T(count0), 0, NULL, {0}},
          {"min", T(count0), 0, NULL, AT(min)},
          {"max", T(count0), 0, NULL, AT(max)},
          /* bytes no line record carries, exactly or at least */
          {"dropped",
           SCENARIO__ONEOF("a number of bytes or {min: N}", T(count0),
                           SCENARIO__MAP("a bound",
                                         {"min", T(count0), REQ, NULL, {0}})),
           0, NULL, {0}},
          DURING("run"))),
  .build = output_build};

const scenario__expect_def_t *const
    scenario__expects[SCENARIO_EXPECT_KIND_COUNT] = {
#define XX(ID, name, key, doc) [SCENARIO_EXPECT_##ID] = &expect_##name,
        SCENARIO_EXPECT_MAP(XX)
#undef XX
};

static const char *const expect_keys[SCENARIO_EXPECT_KIND_COUNT] = {
#define XX(ID, name, key, doc) key,
  SCENARIO_EXPECT_MAP(XX)
#undef XX
};

static const char *const expect_docs[SCENARIO_EXPECT_KIND_COUNT] = {
#define XX(ID, name, key, doc) doc,
  SCENARIO_EXPECT_MAP(XX)
#undef XX
};

void scenario__expect_release(scenario_expect_t *e)
{
  free(e->path);
  free(e->pattern);
  free(e->pattern_text);
  cJSON_Delete(e->item);
}

const char *scenario__expect_key(scenario_expect_kind_t kind)
{
  return expect_keys[kind];
}

const char *scenario__expect_doc(scenario_expect_kind_t kind)
{
  return expect_docs[kind];
}
