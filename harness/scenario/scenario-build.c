/*
 * The builder: turns a document that passed the schema walk into the
 * model, reading the same tables: a field fills a member of the model, or
 * a member of the JSON the agents read (the worker behaviour, the cluster
 * settings, the primary's policy). A field's default is YAML text, read as
 * if the user had written it, so the docs and the model cannot disagree.
 * What no table can say is checked here or in a kind's hook: a worker that
 * can never exist, `trigger` outside a trigger, `last` before any fork.
 */
#include "scenario-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Values into members                                                     */

/* A value to store: a node, or the text of a default. */
typedef struct {
  struct fy_node *node;    /* NULL for a default */
  const char *text;
  bool is_null;
} value_t;

static value_t node_value(struct fy_node *n)
{
  value_t v = {n, scenario__node_str(n),
               !scenario__node_is_quoted(n) && scenario__node_is_nullish(n)};
  return v;
}

static int64_t word_index(const char *const *words, const char *s)
{
  int64_t i;

  for (i = 0; words[i] != NULL; i++)
    if (strcmp(words[i], s) == 0)
      return i;
  return 0;
}

/* "disconnect|exit" -> a bit per event. */
static uint64_t events_mask(const char *s)
{
  char buf[256], *alt, *save = NULL;
  uint64_t m = 0;

  snprintf(buf, sizeof(buf), "%s", s);
  for (alt = strtok_r(buf, "|", &save); alt; alt = strtok_r(NULL, "|", &save))
    m |= 1ull << trace_ev_from_name(alt);
  return m;
}

/* A scalar as a number; the walk has checked it. */
static int64_t number(const scenario__type_t *t, const char *s)
{
  int64_t v = 0;

  switch (t->kind) {
  case SCENARIO__T_INT:
    scenario__parse_int(s, &v);
    return v;
  case SCENARIO__T_BOOL:
    return scenario__parse_bool(s) == 1;
  case SCENARIO__T_DURATION:
    return base_duration_parse(s, &v) == 0 ? v : 0;
  case SCENARIO__T_SIGNAL:
    return base_signal_from_name(s);
  case SCENARIO__T_EVENT:
    return trace_ev_from_name(s);
  case SCENARIO__T_EVENTS:
    return (int64_t)events_mask(s);
  case SCENARIO__T_ENUM:
    /* `emitter: cluster`, `during: run`, `load: wait` are the second
     * word: stored as true */
    return word_index(t->words, s);
  default:
    return 0;
  }
}

static void put_number(void *dst, size_t size, int64_t v)
{
  if (size == sizeof(bool)) {
    *(bool *)dst = v != 0;
  } else if (size == sizeof(int32_t)) {
    int32_t x = (int32_t)v;
    memcpy(dst, &x, size);
  } else {
    memcpy(dst, &v, sizeof(v));
  }
}

static scenario_wref_t wref(value_t v)
{
  static const struct {
    const char *word;
    scenario_wref_kind_t kind;
  } words[] = {{"any", SCENARIO_W_ANY},         {"each", SCENARIO_W_EACH},
               {"last", SCENARIO_W_LAST},       {"trigger", SCENARIO_W_TRIGGER},
               {"primary", SCENARIO_W_PRIMARY}, {"group", SCENARIO_W_GROUP}};
  scenario_wref_t r = {SCENARIO_W_ID, 0, 0, 0};
  scenario__loc_t loc = scenario__node_loc(v.node, (scenario__loc_t){0, 0});
  int64_t id = 0;
  size_t i;

  r.line = loc.line;
  r.column = loc.column;
  for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
    if (strcmp(words[i].word, v.text) == 0) {
      r.kind = words[i].kind;
      return r;
    }
  scenario__parse_int(v.text, &id);
  r.id = (unsigned)id;
  return r;
}

/* An `env` mapping: every value as a string, as the environment has it. */
static cJSON *env_json(struct fy_node *n)
{
  cJSON *j = cJSON_CreateObject();
  struct fy_node_pair *p;
  void *it = NULL;

  while (j != NULL && (p = fy_node_mapping_iterate(n, &it)) != NULL)
    cJSON_AddStringToObject(j, scenario__node_str(fy_node_pair_key(p)),
                            scenario__node_str(fy_node_pair_value(p)));
  return j;
}

static int put_owned(const scenario__field_t *f, value_t v, void *dst)
{
  if (f->to.how == SCENARIO__TO_STR) {
    char *s = strdup(v.text);
    if (s == NULL)
      return UV_ENOMEM;
    free(*(char **)dst);
    *(char **)dst = s;
  } else {
    cJSON *j = f->type->kind == SCENARIO__T_DICT
                   ? env_json(v.node)
                   : scenario__node_to_json(v.node);
    if (j == NULL)
      return UV_ENOMEM;
    cJSON_Delete(*(cJSON **)dst);
    *(cJSON **)dst = j;
  }
  return 0;
}

static int put(const scenario__field_t *f, value_t v, char *obj)
{
  void *dst = obj + f->to.off;
  const scenario__type_t *t;

  switch (f->to.how) {
  case SCENARIO__TO_NUM:
    /* of a number or a word (`nth: 2`, `nth: each`), the one written */
    t = scenario__scalar_alt(f->type, v.node);
    put_number(dst, f->to.size, t != NULL ? number(t, v.text) : 0);
    return 0;
  case SCENARIO__TO_STR:
  case SCENARIO__TO_JSON:
    return put_owned(f, v, dst);
  case SCENARIO__TO_CHARS:
    snprintf(dst, f->to.size, "%s", v.text);
    return 0;
  case SCENARIO__TO_WREF:
    *(scenario_wref_t *)dst = wref(v);
    return 0;
  default:
    return 0;
  }
}

/* ---------------------------------------------------------------------- */
/* Fields into an object                                                   */

/* The object a field's mapping fills: a nested struct (`from`) or the same
 * one (`cluster` fills scenario_t). */
static char *inner(const scenario__field_t *f, char *obj)
{
  return f->to.how == SCENARIO__TO_SUB ? obj + f->to.off : obj;
}

static int put_defaults(const scenario__type_t *t, char *obj)
{
  const scenario__field_t *f;
  const scenario__type_t *const *a;
  int rc = 0;

  if (t->kind == SCENARIO__T_ONEOF)
    for (a = t->alts; *a != NULL && rc == 0; a++)
      rc = put_defaults(*a, obj);
  if (t->kind != SCENARIO__T_MAP)
    return rc;
  for (f = t->fields; f->key != NULL && rc == 0; f++) {
    if (f->type->kind == SCENARIO__T_MAP)
      rc = put_defaults(f->type, inner(f, obj));
    else if (f->dflt != NULL)
      rc = put(f, (value_t){NULL, f->dflt, false}, obj);
  }
  return rc;
}

static int put_values(const scenario__type_t *t, struct fy_node *v, char *obj,
                      const scenario__dest_t *shorthand)
{
  const scenario__field_t *f;
  const scenario__type_t *const *a;
  int rc = 0;

  if (t->kind == SCENARIO__T_ONEOF) {
    for (a = t->alts; *a != NULL; a++)
      if (scenario__shape_matches(*a, v))
        return put_values(*a, v, obj, shorthand);
    return 0;
  }
  if (t->kind != SCENARIO__T_MAP) {
    /* `fork: 2`, `sleep: 1s`: the value of one member */
    scenario__field_t self = {.type = t};
    if (shorthand == NULL || t->kind == SCENARIO__T_NULL)
      return 0;
    self.to = *shorthand;
    return put(&self, node_value(v), obj);
  }
  for (f = t->fields; f->key != NULL && rc == 0; f++) {
    struct fy_node *x = scenario__node_get(v, f->key);
    if (x == NULL)
      continue;
    if (f->type->kind == SCENARIO__T_MAP)
      rc = put_values(f->type, x, inner(f, obj), NULL);
    else
      rc = put(f, node_value(x), obj);
  }
  return rc;
}

int scenario__fill(const scenario__type_t *t, struct fy_node *v, void *obj,
                   const scenario__dest_t *shorthand)
{
  int rc = put_defaults(t, obj);

  return rc != 0 ? rc : put_values(t, v, obj, shorthand);
}

/* ---------------------------------------------------------------------- */
/* Fields into JSON (the sections the agents read)                          */

static cJSON *json_value(const scenario__type_t *t, struct fy_node *n);

static cJSON *json_scalar(const scenario__type_t *t, struct fy_node *n)
{
  const char *s = scenario__node_str(n);

  if (!scenario__node_is_quoted(n) && scenario__node_is_nullish(n))
    return cJSON_CreateNull();
  switch (t->kind) {
  case SCENARIO__T_INT:
  case SCENARIO__T_DURATION:
    return cJSON_CreateNumber((double)number(t, s));
  case SCENARIO__T_BOOL:
    return cJSON_CreateBool(number(t, s) != 0);
  default:
    return cJSON_CreateString(s);
  }
}

/* A list of mappings (servers): each with its defaults. */
static cJSON *json_list(const scenario__type_t *t, struct fy_node *n)
{
  cJSON *arr = cJSON_CreateArray(), *item;
  struct fy_node *x;
  void *it = NULL;

  while (arr != NULL && (x = fy_node_sequence_iterate(n, &it)) != NULL) {
    if ((item = json_value(t->item, x)) == NULL) {
      cJSON_Delete(arr);
      return NULL;
    }
    cJSON_AddItemToArray(arr, item);
  }
  return arr;
}

static cJSON *json_value(const scenario__type_t *t, struct fy_node *n)
{
  const scenario__type_t *const *a;
  cJSON *j;

  switch (t->kind) {
  case SCENARIO__T_ONEOF:
    for (a = t->alts; *a != NULL; a++)
      if (scenario__shape_matches(*a, n))
        return json_value(*a, n);
    return NULL;
  case SCENARIO__T_MAP:
    j = cJSON_CreateObject();
    if (j != NULL && scenario__json_fill(t, n, j, true) != 0) {
      cJSON_Delete(j);
      return NULL;
    }
    return j;
  case SCENARIO__T_DICT:
    return env_json(n);
  case SCENARIO__T_SEQ:
    return t->item->kind == SCENARIO__T_MAP ? json_list(t, n)
                                            : scenario__node_to_json(n);
  default:
    return json_scalar(t, n);
  }
}

/* A default is YAML text: parsed like what a user writes. */
static cJSON *json_default(const scenario__field_t *f)
{
  struct fy_document *doc = fy_document_build_from_string(NULL, f->dflt,
                                                          FY_NT);
  cJSON *j;

  if (doc == NULL)
    return NULL;
  j = json_value(f->type, fy_document_root(doc));
  fy_document_destroy(doc);
  return j;
}

int scenario__json_fill(const scenario__type_t *t, struct fy_node *n,
                        cJSON *obj, bool defaults)
{
  const scenario__field_t *f;
  struct fy_node *x;
  cJSON *v;

  for (f = t->fields; f->key != NULL; f++) {
    if (f->to.how != SCENARIO__TO_JSON_KEY)
      continue;
    if ((x = scenario__node_get(n, f->key)) != NULL)
      v = json_value(f->type, x);
    else if (defaults && f->dflt != NULL)
      v = json_default(f);
    else
      continue;
    if (v == NULL)
      return UV_ENOMEM;
    if (cJSON_HasObjectItem(obj, f->to.json))
      cJSON_ReplaceItemInObjectCaseSensitive(obj, f->to.json, v);
    else
      cJSON_AddItemToObject(obj, f->to.json, v);
  }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Steps                                                                   */

/* The step's action key and the kind it names: of the kinds sharing a key
 * (`load`), the one whose value has this shape. */
static int step_action(struct fy_node *step, struct fy_node_pair **out)
{
  struct fy_node_pair *p;
  void *it = NULL;
  size_t k;

  while ((p = fy_node_mapping_iterate(step, &it)) != NULL) {
    const char *key = scenario__node_str(fy_node_pair_key(p));
    for (k = 0; k < SCENARIO_STEP_KIND_COUNT; k++)
      if (strcmp(scenario_step_name(k), key) == 0 &&
          scenario__shape_matches(scenario__steps[k]->value,
                                  fy_node_pair_value(p))) {
        *out = p;
        return (int)k;
      }
  }
  return -1;
}

/* The field of a step kind that names its worker (`worker`, `to`). */
static const scenario__field_t *worker_field(const scenario__type_t *t)
{
  const scenario__field_t *f;
  const scenario__type_t *const *a;

  if (t->kind == SCENARIO__T_ONEOF) {
    for (a = t->alts; *a != NULL; a++)
      if ((f = worker_field(*a)) != NULL)
        return f;
    return NULL;
  }
  if (t->kind != SCENARIO__T_MAP)
    return NULL;
  for (f = t->fields; f->key != NULL; f++)
    if (f->to.how == SCENARIO__TO_WREF)
      return f;
  return NULL;
}

/* `trigger` and `last` need a trigger and a fork before them. */
static void check_ref(scenario__build_t *b, const scenario__at_t *at,
                      const scenario_step_t *st)
{
  const scenario__field_t *f = worker_field(scenario__steps[st->kind]->value);
  scenario_wref_t r = st->worker;
  scenario__loc_t loc;
  char sub[512];

  if (f == NULL)
    return;
  loc = scenario__node_loc(scenario__node_get(at->value, f->key), at->loc);
  snprintf(sub, sizeof(sub), "%s/%s", at->sub, f->key);
  if (r.kind == SCENARIO_W_TRIGGER && !at->in_do)
    scenario__errs_add(b->errs, loc, sub,
                       "'trigger' names the worker whose event fired a "
                       "trigger; use it inside 'do'");
  if (r.kind == SCENARIO_W_LAST && !at->in_do && b->bound == 0 &&
      !b->unbounded)
    scenario__errs_add(b->errs, loc, sub,
                       "'last' names the most recently forked worker, and "
                       "no worker is forked before this step");
}

int scenario__build_step(scenario__build_t *b, struct fy_node *n,
                         const char *path, bool in_do, scenario_step_t *st)
{
  struct fy_node_pair *ap = NULL;
  int kind = step_action(n, &ap);
  const scenario__step_def_t *def;
  scenario__type_t beside = {.kind = SCENARIO__T_MAP};
  scenario__at_t at = {.node = n, .path = path, .in_do = in_do};
  char sub[512];
  int rc;

  memset(st, 0, sizeof(*st));
  st->path = strdup(path);
  if (st->path == NULL)
    return UV_ENOMEM;
  if (kind < 0)   /* the walk makes sure there is one */
    return UV_EINVAL;
  def = scenario__steps[kind];
  st->kind = (scenario_step_kind_t)kind;
  at.value = fy_node_pair_value(ap);
  at.loc = scenario__node_loc(fy_node_pair_key(ap), (scenario__loc_t){1, 1});
  st->line = at.loc.line;
  st->column = at.loc.column;
  snprintf(sub, sizeof(sub), "%s/%s", path, scenario_step_name(st->kind));
  at.sub = sub;
  rc = scenario__fill(def->value, at.value, st, &def->shorthand);
  beside.fields = def->beside;
  if (rc == 0 && def->beside != NULL)
    rc = scenario__fill(&beside, n, st, NULL);
  beside.fields = scenario__step_common;
  if (rc == 0)
    rc = scenario__fill(&beside, n, st, NULL);
  if (rc != 0)
    return rc;
  check_ref(b, &at, st);
  return def->build != NULL ? def->build(b, &at, st) : 0;
}

int scenario__build_steps(scenario__build_t *b, struct fy_node *seq,
                          const char *path, bool in_do,
                          scenario_step_t **out, size_t *n_out)
{
  size_t n = (size_t)fy_node_sequence_item_count(seq), i = 0;
  struct fy_node *item;
  void *it = NULL;
  char sub[512];
  int rc;

  *out = NULL;
  *n_out = 0;
  if (n == 0)
    return 0;
  *out = calloc(n, sizeof(**out));
  if (*out == NULL)
    return UV_ENOMEM;
  while ((item = fy_node_sequence_iterate(seq, &it)) != NULL && i < n) {
    snprintf(sub, sizeof(sub), "%s/%zu", path, i);
    rc = scenario__build_step(b, item, sub, in_do, &(*out)[i]);
    *n_out = ++i;
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Expectations                                                            */

static int build_expect_item(scenario__build_t *b, scenario_expect_kind_t kind,
                             const scenario__type_t *t, struct fy_node *n,
                             const char *path, scenario_expect_t *e)
{
  const scenario__expect_def_t *def = scenario__expects[kind];
  scenario__at_t at = {.node = n, .value = n, .path = path, .sub = path};
  int rc;

  at.loc = scenario__node_loc(n, (scenario__loc_t){1, 1});
  memset(e, 0, sizeof(*e));
  e->kind = kind;
  e->line = at.loc.line;
  e->column = at.loc.column;
  /* -1: no bound; an expectation without `during` looks at the whole
   * run */
  e->min = e->max = e->max_failed = -1;
  e->min_ms = e->max_ms = -1;
  e->nth = 1;
  e->whole_run = true;
  e->path = strdup(path);
  e->item = scenario__node_to_json(n);
  if (e->path == NULL || e->item == NULL)
    return UV_ENOMEM;
  rc = scenario__fill(t, n, e, NULL);
  if (rc == 0 && def->build != NULL)
    rc = def->build(b, &at, e);
  return rc;
}

static size_t count_items(struct fy_node *n)
{
  size_t total = 0, k;

  for (k = 0; k < SCENARIO_EXPECT_KIND_COUNT; k++) {
    struct fy_node *v = scenario__node_get(n, scenario__expect_key(k));
    if (v != NULL)
      total += fy_node_get_type(v) == FYNT_SEQUENCE
                   ? (size_t)fy_node_sequence_item_count(v) : 1;
  }
  return total;
}

/* The items of one kind: a list, or one item. */
static int build_expect_kind(scenario__build_t *b, scenario_expect_kind_t k,
                             struct fy_node *v)
{
  const scenario__type_t *t = scenario__expects[k]->value;
  const char *key = scenario__expect_key(k);
  scenario_t *s = b->s;
  struct fy_node *item;
  void *it = NULL;
  char path[512];
  size_t i = 0;
  int rc;

  if (t->kind != SCENARIO__T_SEQ) {
    snprintf(path, sizeof(path), "/expect/%s", key);
    return build_expect_item(b, k, t, v, path, &s->expects[s->n_expects++]);
  }
  while ((item = fy_node_sequence_iterate(v, &it)) != NULL) {
    snprintf(path, sizeof(path), "/expect/%s/%zu", key, i++);
    rc = build_expect_item(b, k, t->item, item, path,
                           &s->expects[s->n_expects++]);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int scenario__build_expect(scenario__build_t *b, struct fy_node *n)
{
  scenario_t *s = b->s;
  size_t total = count_items(n), k;
  int rc;

  if (total == 0)
    return 0;
  s->expects = calloc(total, sizeof(*s->expects));
  if (s->expects == NULL)
    return UV_ENOMEM;
  for (k = 0; k < SCENARIO_EXPECT_KIND_COUNT; k++) {
    struct fy_node *v = scenario__node_get(n, scenario__expect_key(k));
    if (v != NULL && (rc = build_expect_kind(b, k, v)) != 0)
      return rc;
  }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Worker references that can never be satisfied                           */

static void check_id(scenario__build_t *b, scenario_wref_t r, unsigned line,
                     unsigned column, const char *path)
{
  scenario__loc_t loc = {line, column};

  if (b->unbounded || r.kind != SCENARIO_W_ID || r.id <= b->bound)
    return;
  if (r.line != 0)
    loc = (scenario__loc_t){r.line, r.column};
  if (b->bound == 0)
    scenario__errs_add(b->errs, loc, path,
                       "worker %u cannot exist: this scenario forks no "
                       "workers", r.id);
  else
    scenario__errs_add(b->errs, loc, path,
                       "worker %u cannot exist: this scenario forks at most "
                       "%u worker%s", r.id, b->bound,
                       b->bound == 1 ? "" : "s");
}

/* Every worker reference among the fields of `t` (and of its mappings). */
static void check_fields(scenario__build_t *b, const scenario__type_t *t,
                         const char *obj, unsigned line, unsigned column,
                         const char *path)
{
  const scenario__field_t *f;
  const scenario__type_t *const *a;
  char sub[512];

  if (t->kind == SCENARIO__T_ONEOF)
    for (a = t->alts; *a != NULL; a++)
      check_fields(b, *a, obj, line, column, path);
  if (t->kind != SCENARIO__T_MAP)
    return;
  for (f = t->fields; f->key != NULL; f++) {
    snprintf(sub, sizeof(sub), "%s/%s", path, f->key);
    if (f->type->kind == SCENARIO__T_MAP)
      check_fields(b, f->type, inner(f, (char *)obj), line, column, sub);
    else if (f->to.how == SCENARIO__TO_WREF)
      check_id(b, *(const scenario_wref_t *)(obj + f->to.off), line, column,
               sub);
  }
}

static void check_step_ids(scenario__build_t *b, const scenario_step_t *st,
                           size_t n)
{
  char base[512];
  size_t i;

  for (i = 0; i < n; i++) {
    snprintf(base, sizeof(base), "%s/%s", st[i].path,
             scenario_step_name(st[i].kind));
    check_fields(b, scenario__steps[st[i].kind]->value, (const char *)&st[i],
                 st[i].line, st[i].column, base);
    check_step_ids(b, st[i].actions, st[i].n_actions);
  }
}

/* A name a timing or an order may give: one step only. Every step's name
 * against those of the steps before it (`before` of them, in `all`). */
static void check_names(scenario__build_t *b, const scenario_step_t *st,
                        size_t n, const scenario_step_t **all,
                        size_t *seen)
{
  size_t i, k;

  for (i = 0; i < n; i++) {
    for (k = 0; st[i].name[0] != '\0' && k < *seen; k++)
      if (strcmp(all[k]->name, st[i].name) == 0) {
        scenario__errs_add(b->errs,
                           (scenario__loc_t){st[i].line, st[i].column},
                           st[i].path, "the step name '%s' is taken by %s",
                           st[i].name, all[k]->path);
        break;
      }
    if (st[i].name[0] != '\0' && *seen < 256)
      all[(*seen)++] = &st[i];
    check_names(b, st[i].actions, st[i].n_actions, all, seen);
  }
}

void scenario__check_ids(scenario__build_t *b)
{
  const scenario_t *s = b->s;
  const scenario_step_t *named[256];
  size_t i, seen = 0;

  check_names(b, s->steps, s->n_steps, named, &seen);
  check_step_ids(b, s->steps, s->n_steps);
  for (i = 0; i < s->n_expects; i++) {
    const scenario_expect_t *e = &s->expects[i];
    const scenario__type_t *t = scenario__expects[e->kind]->value;
    check_fields(b, t->kind == SCENARIO__T_SEQ ? t->item : t,
                 (const char *)e, e->line, e->column, e->path);
  }
}
