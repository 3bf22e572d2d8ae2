/*
 * The schema walk: checks a document against the tables of
 * scenario-schema.c, scenario-steps.c and scenario-expect.c. It reports
 * every problem it finds, so that one `check` shows all of them; the model
 * is built only from a document that passed.
 */
#include "scenario-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 64   /* keys of one mapping, for suggestions */

typedef struct {
  scenario__errs_t *errs;
  bool in_do;          /* inside a trigger's `do` */
  bool in_together;    /* inside `together` */
} walk_t;

static void walk(walk_t *w, struct fy_node *n, const scenario__type_t *t,
                 const char *path, scenario__loc_t loc);

/* ---------------------------------------------------------------------- */
/* What the user wrote, for messages                                       */

static const char *shape_name(struct fy_node *n)
{
  if (n == NULL)
    return "nothing";
  switch (fy_node_get_type(n)) {
  case FYNT_SEQUENCE:
    return "a sequence";
  case FYNT_MAPPING:
    return "a mapping";
  default:
    return "a scalar";
  }
}

/* "'two'", "nothing", "a sequence". With `typed`, a quoted scalar where a
 * number or a boolean was expected is "the string '2'": quotes are what
 * made it wrong. A ring of buffers: a message may quote a few nodes. */
static const char *got_as(struct fy_node *n, bool typed)
{
  static char ring[4][300];
  static unsigned next;
  char *buf = ring[next++ % 4];

  if (n == NULL || (fy_node_get_type(n) == FYNT_SCALAR &&
                    !scenario__node_is_quoted(n) &&
                    scenario__node_str(n)[0] == '\0'))
    return "nothing";
  if (fy_node_get_type(n) != FYNT_SCALAR)
    return shape_name(n);
  snprintf(buf, 300,
           typed && scenario__node_is_quoted(n) ? "the string '%s'" : "'%s'",
           scenario__node_str(n));
  return buf;
}

static const char *got(struct fy_node *n)
{
  return got_as(n, false);
}

static const char *got_typed(struct fy_node *n)
{
  return got_as(n, true);
}

static void join_words(char *buf, size_t len, const char *const *words)
{
  size_t i, used = 0;

  buf[0] = '\0';
  for (i = 0; words[i] && used + 2 < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
                             words[i]);
}

/* "unknown step 'x' (did you mean 'y'?)", or the list of what is known. */
static void report_unknown(walk_t *w, const char *what, const char *key,
                           const char *const *names,
                           const char *const *expected, scenario__loc_t loc,
                           const char *path)
{
  const char *hint = base_suggest(key, names);
  char list[512];

  if (hint != NULL) {
    scenario__errs_add(w->errs, loc, path,
                       "unknown %s '%s' (did you mean '%s'?)", what, key,
                       hint);
    return;
  }
  join_words(list, sizeof(list), expected);
  scenario__errs_add(w->errs, loc, path,
                     "unknown %s '%s' (expected one of: %s)", what, key,
                     list);
}

/* ---------------------------------------------------------------------- */
/* Scalars                                                                 */

typedef void scalar_check_t(walk_t *w, struct fy_node *n,
                            const scenario__type_t *t, const char *path,
                            scenario__loc_t loc);

static void check_str(walk_t *w, struct fy_node *n, const scenario__type_t *t,
                      const char *path, scenario__loc_t loc)
{
  if (!scenario__node_is_quoted(n) && scenario__node_is_nullish(n))
    scenario__errs_add(w->errs, loc, path, "expected %s, got %s", t->what,
                       got(n));
}

static void check_int(walk_t *w, struct fy_node *n, const scenario__type_t *t,
                      const char *path, scenario__loc_t loc)
{
  const char *s = scenario__node_str(n);
  int64_t v;

  if (scenario__node_is_quoted(n) || !scenario__parse_int(s, &v)) {
    scenario__errs_add(w->errs, loc, path, "expected %s (an integer), got %s",
                       t->what, got_typed(n));
    return;
  }
  if (v < t->min || v > t->max)
    scenario__errs_add(w->errs, loc, path,
                       "%s must be from %lld to %lld, got %s", t->what,
                       (long long)t->min, (long long)t->max, s);
}

static void check_bool(walk_t *w, struct fy_node *n,
                       const scenario__type_t *t, const char *path,
                       scenario__loc_t loc)
{
  if (scenario__node_is_quoted(n) ||
      scenario__parse_bool(scenario__node_str(n)) < 0)
    scenario__errs_add(w->errs, loc, path, "expected %s, got %s", t->what,
                       got_typed(n));
}

static void check_duration(walk_t *w, struct fy_node *n,
                           const scenario__type_t *t, const char *path,
                           scenario__loc_t loc)
{
  char lo[32], hi[32];
  int64_t ms;
  int rc = base_duration_parse(scenario__node_str(n), &ms);

  if (rc == UV_ERANGE)
    scenario__errs_add(w->errs, loc, path,
                       "duration %s is longer than an hour", got(n));
  else if (rc != 0)
    scenario__errs_add(w->errs, loc, path,
                       "invalid duration %s (expected a number and a unit: "
                       "ms, s or m, as in '150ms' or '2s')", got(n));
  else if (t->max > 0 && (ms < t->min || ms > t->max)) {
    scenario__dur_text(t->min, lo, sizeof(lo));
    scenario__dur_text(t->max, hi, sizeof(hi));
    scenario__errs_add(w->errs, loc, path, "%s must be from %s to %s, got %s",
                       t->what, lo, hi, scenario__node_str(n));
  }
}

/* "unknown signal 'x'" with a suggestion from `names` when one is close. */
static void report_name(walk_t *w, struct fy_node *n, const char *what,
                        const char *const *names, const char *path,
                        scenario__loc_t loc)
{
  const char *hint = base_suggest(scenario__node_str(n), names);

  if (hint != NULL)
    scenario__errs_add(w->errs, loc, path,
                       "unknown %s %s (did you mean '%s'?)", what, got(n),
                       hint);
  else
    scenario__errs_add(w->errs, loc, path, "unknown %s %s", what, got(n));
}

static void check_signal(walk_t *w, struct fy_node *n,
                         const scenario__type_t *t, const char *path,
                         scenario__loc_t loc)
{
  (void)t;
  if (base_signal_from_name(scenario__node_str(n)) != 0 &&
      !scenario__node_is_quoted(n))
    return;
  report_name(w, n, "signal", base_signal_names(), path, loc);
}

static void check_event(walk_t *w, struct fy_node *n,
                        const scenario__type_t *t, const char *path,
                        scenario__loc_t loc)
{
  (void)t;
  if (trace_ev_from_name(scenario__node_str(n)) != TRACE_EV_NONE)
    return;
  report_name(w, n, "event", trace_ev_names(), path, loc);
}

/* A word of the type's list; an ACTION also takes exit:N. */
static void check_word(walk_t *w, struct fy_node *n,
                       const scenario__type_t *t, const char *path,
                       scenario__loc_t loc)
{
  const char *s = scenario__node_str(n);
  bool exit_ok = t->kind == SCENARIO__T_ACTION;
  const char *hint;
  char list[256];
  int64_t code;
  size_t i;

  for (i = 0; t->words[i]; i++)
    if (strcmp(t->words[i], s) == 0)
      return;
  if (exit_ok && strncmp(s, "exit:", 5) == 0) {
    if (!scenario__parse_int(s + 5, &code) || code < 0 || code > 255)
      scenario__errs_add(w->errs, loc, path,
                         "invalid exit code in '%s' (expected exit:N with N "
                         "from 0 to 255)", s);
    return;
  }
  join_words(list, sizeof(list), t->words);
  hint = base_suggest(s, t->words);
  if (hint != NULL)
    scenario__errs_add(w->errs, loc, path,
                       "unknown %s %s (did you mean '%s'?)", t->what, got(n),
                       hint);
  else
    scenario__errs_add(w->errs, loc, path, "unknown %s %s (expected %s%s)",
                       t->what, got(n), exit_ok ? "exit:N, " : "", list);
}

static void check_worker(walk_t *w, struct fy_node *n,
                         const scenario__type_t *t, const char *path,
                         scenario__loc_t loc)
{
  const char *s = scenario__node_str(n);
  int64_t v;
  char list[128];
  size_t i;

  if (!scenario__node_is_quoted(n) && scenario__parse_int(s, &v)) {
    if (v < 1)
      scenario__errs_add(w->errs, loc, path,
                         "worker ids start at 1, got %s", got(n));
    else if (v > 100000)
      scenario__errs_add(w->errs, loc, path, "worker id %s is out of range",
                         s);
    return;
  }
  for (i = 0; t->words[i]; i++)
    if (strcmp(t->words[i], s) == 0)
      return;
  join_words(list, sizeof(list), t->words);
  scenario__errs_add(w->errs, loc, path,
                     "expected %s (an id, or %s), got %s", t->what, list,
                     got(n));
}

/* Every alternative of "a|b?" must be an event. */
static void check_alternatives(walk_t *w, char *p, const char *path,
                               scenario__loc_t loc, const char *where)
{
  char *alt, *save = NULL;
  const char *hint;

  for (alt = strtok_r(p, "|", &save); alt; alt = strtok_r(NULL, "|", &save)) {
    if (trace_ev_from_name(alt) != TRACE_EV_NONE)
      continue;
    hint = base_suggest(alt, trace_ev_names());
    if (hint)
      scenario__errs_add(w->errs, loc, path,
                         "unknown event '%s' in %s (did you mean '%s'?)",
                         alt, where, hint);
    else
      scenario__errs_add(w->errs, loc, path, "unknown event '%s' in %s", alt,
                         where);
    return;
  }
}

static void check_events(walk_t *w, struct fy_node *n,
                         const scenario__type_t *t, const char *path,
                         scenario__loc_t loc)
{
  char buf[256];
  size_t len;

  (void)t;
  snprintf(buf, sizeof(buf), "%s", scenario__node_str(n));
  len = strlen(buf);
  if (len == 0 || buf[0] == '|' || buf[len - 1] == '|' ||
      strstr(buf, "||") != NULL) {
    scenario__errs_add(w->errs, loc, path,
                       "expected an event or alternatives a|b, got %s",
                       got(n));
    return;
  }
  check_alternatives(w, buf, path, loc, "alternatives");
}

static void check_pattern(walk_t *w, struct fy_node *n,
                          const scenario__type_t *t, const char *path,
                          scenario__loc_t loc)
{
  char buf[256], *p = buf;
  size_t len;

  (void)t;
  snprintf(buf, sizeof(buf), "%s", scenario__node_str(n));
  if (*p == '!')
    p++;
  len = strlen(p);
  if (len > 0 && strchr("?*+", p[len - 1]) != NULL) {
    if (buf[0] == '!') {
      scenario__errs_add(w->errs, loc, path,
                         "an absence '!' takes no quantifier, got %s", got(n));
      return;
    }
    p[--len] = '\0';
  }
  if (len == 0) {
    scenario__errs_add(w->errs, loc, path, "empty pattern element %s",
                       got(n));
    return;
  }
  if (p[0] == '|' || p[len - 1] == '|' || strstr(p, "||") != NULL) {
    scenario__errs_add(w->errs, loc, path, "empty alternative in %s", got(n));
    return;
  }
  check_alternatives(w, p, path, loc, "pattern");
}

static scalar_check_t *const scalar_checks[] = {
  [SCENARIO__T_STR] = check_str,
  [SCENARIO__T_INT] = check_int,
  [SCENARIO__T_BOOL] = check_bool,
  [SCENARIO__T_DURATION] = check_duration,
  [SCENARIO__T_SIGNAL] = check_signal,
  [SCENARIO__T_EVENT] = check_event,
  [SCENARIO__T_EVENTS] = check_events,
  [SCENARIO__T_ENUM] = check_word,
  [SCENARIO__T_ACTION] = check_word,
  [SCENARIO__T_WORKER] = check_worker,
  [SCENARIO__T_PATTERN] = check_pattern,
};

static void walk_scalar(walk_t *w, struct fy_node *n,
                        const scenario__type_t *t, const char *path,
                        scenario__loc_t loc)
{
  /* `code: null` is a value; an empty `code:` is not */
  if ((t->flags & SCENARIO__NULLABLE) && n != NULL &&
      !scenario__node_is_quoted(n) && scenario__node_is_nullish(n) &&
      scenario__node_str(n)[0] != '\0')
    return;
  if ((size_t)t->kind < sizeof(scalar_checks) / sizeof(scalar_checks[0]) &&
      scalar_checks[t->kind] != NULL)
    scalar_checks[t->kind](w, n, t, path, loc);
}

/* ---------------------------------------------------------------------- */
/* Mappings                                                                */

static const scenario__field_t *find_field(const scenario__field_t *fields,
                                           const char *key)
{
  const scenario__field_t *f;

  for (f = fields; f != NULL && f->key != NULL; f++)
    if (strcmp(f->key, key) == 0)
      return f;
  return NULL;
}

static size_t field_keys(const char **names, size_t n, size_t cap,
                         const scenario__field_t *fields)
{
  const scenario__field_t *f;

  for (f = fields; f != NULL && f->key != NULL && n < cap - 1; f++)
    names[n++] = f->key;
  names[n] = NULL;
  return n;
}

/* One key of a mapping, already known to be a plain word. */
typedef void key_walk_t(walk_t *w, const char *key, struct fy_node *v,
                        scenario__loc_t kloc, const char *sub, void *ctx);

/* Calls `fn` for every key of a mapping that is a plain word and reports
 * the others. */
static void walk_keys(walk_t *w, struct fy_node *n, const char *path,
                      scenario__loc_t loc, key_walk_t *fn, void *ctx)
{
  struct fy_node_pair *p;
  void *it = NULL;
  char sub[512];

  while ((p = fy_node_mapping_iterate(n, &it)) != NULL) {
    struct fy_node *k = fy_node_pair_key(p);
    scenario__loc_t kloc = scenario__node_loc(k, loc);
    const char *key;

    if (k == NULL || fy_node_get_type(k) != FYNT_SCALAR ||
        scenario__node_is_nullish(k)) {
      scenario__errs_add(w->errs, kloc, path, "keys must be plain words");
      continue;
    }
    key = scenario__node_str(k);
    snprintf(sub, sizeof(sub), "%s/%s", path, key);
    fn(w, key, fy_node_pair_value(p), kloc, sub, ctx);
  }
}

/* The position of a key of a mapping (which has it). */
static scenario__loc_t key_loc(struct fy_node *n, const char *key,
                               scenario__loc_t fallback)
{
  struct fy_node_pair *kp = fy_node_mapping_lookup_pair_by_string(n, key,
                                                                  FY_NT);

  return scenario__node_loc(kp ? fy_node_pair_key(kp) : NULL, fallback);
}

static bool has_key(struct fy_node *n, const char *key)
{
  return fy_node_mapping_lookup_pair_by_string(n, key, FY_NT) != NULL;
}

typedef struct {
  const scenario__field_t *fields;
  const char *names[MAX_KEYS];
  unsigned unknown;
} map_walk_t;

static void walk_map_key(walk_t *w, const char *key, struct fy_node *v,
                         scenario__loc_t kloc, const char *sub, void *ctx)
{
  map_walk_t *m = ctx;
  const scenario__field_t *f = find_field(m->fields, key);

  if (f == NULL) {
    m->unknown++;
    report_unknown(w, "key", key, m->names, m->names, kloc, sub);
    return;
  }
  walk(w, v, f->type, sub, kloc);
}

static void walk_map(walk_t *w, struct fy_node *n, const scenario__type_t *t,
                     const char *path, scenario__loc_t loc)
{
  map_walk_t m = {.fields = t->fields};
  const scenario__field_t *f;

  field_keys(m.names, 0, MAX_KEYS, t->fields);
  walk_keys(w, n, path, loc, walk_map_key, &m);
  /* a rejected key was probably meant to be a required one: what follows
   * would only repeat that error */
  if (m.unknown > 0)
    return;
  for (f = t->fields; f->key != NULL; f++)
    if ((f->flags & SCENARIO__REQUIRED) && !has_key(n, f->key))
      scenario__errs_add(w->errs, loc, path, "missing key '%s' in %s",
                         f->key, t->what);
}

static void walk_dict(walk_t *w, struct fy_node *n, const scenario__type_t *t,
                      const char *path, scenario__loc_t here)
{
  struct fy_node_pair *p;
  void *it = NULL;
  char sub[512];

  while ((p = fy_node_mapping_iterate(n, &it)) != NULL) {
    struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
    scenario__loc_t kloc = scenario__node_loc(k, here);

    if (k == NULL || fy_node_get_type(k) != FYNT_SCALAR) {
      scenario__errs_add(w->errs, kloc, path, "keys must be plain words");
      continue;
    }
    snprintf(sub, sizeof(sub), "%s/%s", path, scenario__node_str(k));
    if (t->key != NULL)
      walk_scalar(w, k, t->key, sub, kloc);
    /* environment values are strings: no nesting */
    if (t->item->kind == SCENARIO__T_ANY && v != NULL &&
        fy_node_get_type(v) != FYNT_SCALAR)
      scenario__errs_add(w->errs, scenario__node_loc(v, kloc), sub,
                         "expected a string, number or boolean, got %s",
                         got(v));
    else if (t->item->kind != SCENARIO__T_ANY)
      walk(w, v, t->item, sub, kloc);
  }
}

static void walk_seq(walk_t *w, struct fy_node *n, const scenario__type_t *t,
                     const char *path, scenario__loc_t here)
{
  struct fy_node *item;
  void *it = NULL;
  unsigned i = 0;
  char sub[512];

  while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
    snprintf(sub, sizeof(sub), "%s/%u", path, i++);
    walk(w, item, t->item, sub, here);
  }
}

/* ---------------------------------------------------------------------- */
/* Steps                                                                   */

/* Whether kind k is the first of the kinds sharing its key (`load`). */
static bool first_of_key(size_t k)
{
  size_t j;

  for (j = 0; j < k; j++)
    if (strcmp(scenario_step_name(j), scenario_step_name(k)) == 0)
      return false;
  return true;
}

static bool allowed_here(const walk_t *w, size_t k)
{
  if (w->in_together && !scenario__steps[k]->together)
    return false;
  return !w->in_do || scenario__steps[k]->in_do == SCENARIO__IN_DO;
}

/* The step keys that can be used here: actions, then with `others` the
 * keys beside an action and those of every step. */
static void step_keys(const walk_t *w, const char **names, bool others)
{
  size_t k, n = 0;

  for (k = 0; k < SCENARIO_STEP_KIND_COUNT; k++)
    if (first_of_key(k) && allowed_here(w, k))
      names[n++] = scenario_step_name(k);
  names[n] = NULL;
  if (!others)
    return;
  for (k = 0; k < SCENARIO_STEP_KIND_COUNT; k++)
    n = field_keys(names, n, MAX_KEYS, scenario__steps[k]->beside);
  field_keys(names, n, MAX_KEYS, scenario__step_common);
}

/* The first kind with this key, or -1. */
static int step_kind(const char *key)
{
  size_t k;

  for (k = 0; k < SCENARIO_STEP_KIND_COUNT; k++)
    if (strcmp(scenario_step_name(k), key) == 0)
      return (int)k;
  return -1;
}

/* A key beside the action, and the kind owning it. */
static const scenario__field_t *beside_field(const char *key, int *owner)
{
  const scenario__field_t *f;
  size_t k;

  for (k = 0; k < SCENARIO_STEP_KIND_COUNT; k++)
    if ((f = find_field(scenario__steps[k]->beside, key)) != NULL) {
      *owner = (int)k;
      return f;
    }
  *owner = -1;
  return find_field(scenario__step_common, key);
}

/* The value of an action key. Kinds that share a key (`load`) are told
 * apart by the shape of the value. */
static void walk_action(walk_t *w, struct fy_node *v, int kind,
                        const char *sub, scenario__loc_t kloc)
{
  const scenario__type_t *alts[SCENARIO_STEP_KIND_COUNT + 1];
  const char *key = scenario_step_name(kind);
  size_t k, n = 0;

  for (k = (size_t)kind; k < SCENARIO_STEP_KIND_COUNT; k++)
    if (strcmp(scenario_step_name(k), key) == 0)
      alts[n++] = scenario__steps[k]->value;
  alts[n] = NULL;
  if (n == 1) {
    walk(w, v, alts[0], sub, kloc);
  } else {
    scenario__type_t either = {.kind = SCENARIO__T_ONEOF,
                               .what = scenario__steps[kind]->either,
                               .alts = alts};
    walk(w, v, &either, sub, kloc);
  }
}

typedef struct {
  int action, action2;             /* kinds, -1: none */
  scenario__loc_t action2_loc;
  unsigned unknown;
} step_walk_t;

static void report_not_in_do(walk_t *w, int kind, scenario__loc_t kloc,
                             const char *sub)
{
  const char *key = scenario_step_name(kind);

  if (w->in_together && !scenario__steps[kind]->together)
    scenario__errs_add(w->errs, kloc, sub,
                       "'%s' cannot be used inside 'together' (it runs "
                       "commands of the primary in one turn: fork, send, "
                       "disconnect, kill, cluster-disconnect, status, setup)",
                       key);
  else if (scenario__steps[kind]->in_do == SCENARIO__NOT_IN_DO_NESTS)
    scenario__errs_add(w->errs, kloc, sub,
                       "triggers cannot be nested: '%s' inside 'do'", key);
  else
    scenario__errs_add(w->errs, kloc, sub,
                       "'%s' cannot be used inside 'do' (a trigger runs "
                       "actions, it does not wait)", key);
}

static void walk_step_key(walk_t *w, const char *key, struct fy_node *v,
                          scenario__loc_t kloc, const char *sub, void *ctx)
{
  step_walk_t *s = ctx;
  int kind = step_kind(key), owner;
  const scenario__field_t *f;

  if (kind >= 0 && !allowed_here(w, (size_t)kind)) {
    s->unknown++;
    report_not_in_do(w, kind, kloc, sub);
    return;
  }
  if (kind >= 0) {
    if (s->action < 0) {
      s->action = kind;
    } else if (s->action2 < 0) {
      s->action2 = kind;
      s->action2_loc = kloc;
    }
    walk_action(w, v, kind, sub, kloc);
    return;
  }
  f = beside_field(key, &owner);
  if (f == NULL) {
    const char *names[MAX_KEYS], *actions[MAX_KEYS];
    step_keys(w, names, true);
    step_keys(w, actions, false);
    s->unknown++;
    report_unknown(w, "step", key, names, actions, kloc, sub);
    return;
  }
  /* a `do` in a `do` is refused below, or with its nested `on` */
  if ((f->type->flags & SCENARIO__DO) && w->in_do)
    return;
  walk(w, v, f->type, sub, kloc);
}

/* Keys beside an action belong to it: `do` needs `on`, and `on` needs
 * `do`. */
static void check_beside(walk_t *w, struct fy_node *n, int action,
                         const char *path, scenario__loc_t loc)
{
  const scenario__field_t *f;
  char sub[512];
  size_t k;

  for (k = 0; k < SCENARIO_STEP_KIND_COUNT; k++)
    for (f = scenario__steps[k]->beside; f != NULL && f->key != NULL; f++) {
      bool present = has_key(n, f->key);
      if (present && (size_t)action != k) {
        snprintf(sub, sizeof(sub), "%s/%s", path, f->key);
        scenario__errs_add(w->errs, key_loc(n, f->key, loc), sub,
                           "'%s' belongs to an '%s' step", f->key,
                           scenario_step_name(k));
      }
      if (!present && (f->flags & SCENARIO__REQUIRED) &&
          (size_t)action == k)
        scenario__errs_add(w->errs, loc, path, "missing key '%s' in a step",
                           f->key);
    }
}

/* A step: a mapping with exactly one action key. */
static void walk_step(walk_t *w, struct fy_node *n, const char *path,
                      scenario__loc_t loc)
{
  step_walk_t s = {.action = -1, .action2 = -1};

  walk_keys(w, n, path, loc, walk_step_key, &s);
  /* a rejected key was probably meant to be the action or its companion:
   * what follows would only repeat that error */
  if (s.unknown > 0)
    return;
  if (s.action2 >= 0) {
    scenario__errs_add(w->errs, s.action2_loc, path,
                       "a step has exactly one action, this one has '%s' "
                       "and '%s'", scenario_step_name(s.action),
                       scenario_step_name(s.action2));
    return;
  }
  if (s.action < 0) {
    scenario__errs_add(w->errs, loc, path,
                       "a step needs an action such as fork, wait, kill or "
                       "on");
    return;
  }
  check_beside(w, n, s.action, path, loc);
}

/* ---------------------------------------------------------------------- */
/* Expectations                                                            */

static void walk_expect_key(walk_t *w, const char *key, struct fy_node *v,
                            scenario__loc_t kloc, const char *sub, void *ctx)
{
  const char *const *names = ctx;
  size_t k;

  for (k = 0; k < SCENARIO_EXPECT_KIND_COUNT; k++)
    if (strcmp(scenario__expect_key(k), key) == 0) {
      walk(w, v, scenario__expects[k]->value, sub, kloc);
      return;
    }
  report_unknown(w, "key", key, names, names, kloc, sub);
}

static void walk_expect(walk_t *w, struct fy_node *n, const char *path,
                        scenario__loc_t loc)
{
  const char *names[SCENARIO_EXPECT_KIND_COUNT + 1];
  size_t k;

  for (k = 0; k < SCENARIO_EXPECT_KIND_COUNT; k++)
    names[k] = scenario__expect_key(k);
  names[k] = NULL;
  walk_keys(w, n, path, loc, walk_expect_key, names);
}

/* ---------------------------------------------------------------------- */
/* The walk                                                                */

bool scenario__shape_matches(const scenario__type_t *t, struct fy_node *n)
{
  enum fy_node_type nt = n ? fy_node_get_type(n) : FYNT_SCALAR;
  const scenario__type_t *const *a;

  switch (t->kind) {
  case SCENARIO__T_MAP:
  case SCENARIO__T_DICT:
  case SCENARIO__T_STEP:
  case SCENARIO__T_EXPECT:
    return nt == FYNT_MAPPING;
  case SCENARIO__T_SEQ:
    return nt == FYNT_SEQUENCE;
  case SCENARIO__T_ONEOF:
    for (a = t->alts; *a; a++)
      if (scenario__shape_matches(*a, n))
        return true;
    return false;
  case SCENARIO__T_NULL:
    return scenario__node_is_nullish(n) && !scenario__node_is_quoted(n);
  case SCENARIO__T_ANY:
    return true;
  default:
    return nt == FYNT_SCALAR;
  }
}

static bool is_scalar_type(const scenario__type_t *t)
{
  return t->kind >= SCENARIO__T_STR;
}

const scenario__type_t *scenario__scalar_alt(const scenario__type_t *t,
                                             struct fy_node *n)
{
  const scenario__type_t *const *a;
  base_diag_t scratch;
  scenario__errs_t errs = {.file = "", .diag = &scratch};
  walk_t w = {.errs = &errs};

  if (t->kind != SCENARIO__T_ONEOF)
    return t;
  for (a = t->alts; *a; a++) {
    if (!is_scalar_type(*a) || !scenario__shape_matches(*a, n))
      continue;
    /* a default (no node) is written for the first one */
    if (n == NULL)
      return *a;
    base_diag_init(&scratch);
    errs.errors = 0;
    walk_scalar(&w, n, *a, "", (scenario__loc_t){0, 0});
    base_diag_free(&scratch);
    if (errs.errors == 0)
      return *a;
  }
  return NULL;
}

/* How many alternatives of a ONEOF have the shape of `n`. */
static size_t shapes_matching(const scenario__type_t *t, struct fy_node *n,
                              const scenario__type_t **first)
{
  const scenario__type_t *const *a;
  size_t k = 0;

  *first = NULL;
  for (a = t->alts; *a; a++)
    if (scenario__shape_matches(*a, n) && k++ == 0)
      *first = *a;
  return k;
}

static void walk_oneof(walk_t *w, struct fy_node *n,
                       const scenario__type_t *t, const char *path,
                       scenario__loc_t loc, scenario__loc_t here)
{
  const scenario__type_t *alt;
  size_t k = shapes_matching(t, n, &alt);

  /* several scalar kinds (a number or a word): the one that takes it */
  if (k > 1 && is_scalar_type(alt))
    alt = scenario__scalar_alt(t, n);
  if (k > 0 && alt != NULL) {
    walk(w, n, alt, path, loc);
    return;
  }
  scenario__errs_add(w->errs, here, path, "expected %s, got %s", t->what,
                     got(n));
}

static void walk_shaped(walk_t *w, struct fy_node *n,
                        const scenario__type_t *t, const char *path,
                        scenario__loc_t here)
{
  switch (t->kind) {
  case SCENARIO__T_MAP:
    walk_map(w, n, t, path, here);
    return;
  case SCENARIO__T_DICT:
    walk_dict(w, n, t, path, here);
    return;
  case SCENARIO__T_SEQ:
    walk_seq(w, n, t, path, here);
    return;
  case SCENARIO__T_STEP:
    walk_step(w, n, path, here);
    return;
  case SCENARIO__T_EXPECT:
    walk_expect(w, n, path, here);
    return;
  case SCENARIO__T_ANY:
  case SCENARIO__T_NULL:
    return;
  default:
    walk_scalar(w, n, t, path, here);
    return;
  }
}

static void walk(walk_t *w, struct fy_node *n, const scenario__type_t *t,
                 const char *path, scenario__loc_t loc)
{
  scenario__loc_t here = scenario__node_loc(n, loc);
  bool in_do = w->in_do, in_together = w->in_together;

  if (n != NULL && (fy_node_is_alias(n) || fy_node_get_anchor(n) != NULL)) {
    scenario__errs_add(w->errs, here, path,
                       "anchors and aliases are not supported in scenarios");
    return;
  }
  if (n != NULL && fy_node_get_tag_token(n) != NULL) {
    scenario__errs_add(w->errs, here, path,
                       "tags are not supported in scenarios");
    return;
  }
  if (t->flags & SCENARIO__DO)
    w->in_do = true;
  if (t->flags & SCENARIO__TOGETHER)
    w->in_together = true;
  if (t->kind == SCENARIO__T_ONEOF)
    walk_oneof(w, n, t, path, loc, here);
  else if (!scenario__shape_matches(t, n))
    scenario__errs_add(w->errs, here, path, "expected %s, got %s", t->what,
                       got(n));
  else
    walk_shaped(w, n, t, path, here);
  w->in_do = in_do;
  w->in_together = in_together;
}

unsigned scenario__schema_check(struct fy_node *root, scenario__errs_t *errs)
{
  walk_t w = {.errs = errs, .in_do = false};
  scenario__loc_t start = {1, 1};
  unsigned before = errs->errors;

  if (root == NULL || fy_node_get_type(root) != FYNT_MAPPING) {
    scenario__errs_add(errs, scenario__node_loc(root, start), NULL,
                       "a scenario is a mapping (name, cluster, worker, "
                       "steps, expect...), got %s", got(root));
    return errs->errors - before;
  }
  walk(&w, root, &scenario__t_root, "", start);
  return errs->errors - before;
}
