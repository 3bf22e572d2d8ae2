/*
 * The reference tables of docs/scenarios.md, printed from the tables the
 * loader reads: a key, its fields with their types and defaults, its doc
 * line. tests/harness/test-describe.c checks that the docs hold exactly
 * this text, so the docs cannot drift from the loader.
 */
#include "scenario-internal.h"

#include <stdio.h>
#include <string.h>

static void describe_fields(FILE *out, const scenario__field_t *fields);

/* "`a`, `b` or `c`" */
static void describe_words(FILE *out, const char *const *words,
                           const char *prefix)
{
  size_t i, n = 0;

  while (words[n] != NULL)
    n++;
  for (i = 0; i < n; i++)
    fprintf(out, "%s`%s%s`", i == 0 ? "" : i + 1 == n ? " or " : ", ", prefix,
            words[i]);
}

static void describe_scalar(FILE *out, const scenario__type_t *t)
{
  static const char *const names[] = {
    [SCENARIO__T_STR] = "string",   [SCENARIO__T_BOOL] = "boolean",
    [SCENARIO__T_SIGNAL] = "signal",
    [SCENARIO__T_EVENT] = "event",  [SCENARIO__T_ANY] = "any value",
    [SCENARIO__T_EVENTS] = "event or alternatives `a\\|b`",
    [SCENARIO__T_NULL] = "nothing"};

  char lo[32], hi[32];

  switch (t->kind) {
  case SCENARIO__T_INT:
    fprintf(out, "%lld-%lld", (long long)t->min, (long long)t->max);
    break;
  case SCENARIO__T_DURATION:
    if (t->max == 0) {
      fprintf(out, "duration");
      break;
    }
    scenario__dur_text(t->min, lo, sizeof(lo));
    scenario__dur_text(t->max, hi, sizeof(hi));
    fprintf(out, "duration %s-%s", lo, hi);
    break;
  case SCENARIO__T_ENUM:
    describe_words(out, t->words, "");
    break;
  case SCENARIO__T_ACTION:
    fprintf(out, "`exit:N`, ");
    describe_words(out, t->words, "");
    break;
  case SCENARIO__T_WORKER:
    fprintf(out, "worker id%s", t->words[1] != NULL ? ", " : " or ");
    describe_words(out, t->words, "");
    break;
  default:
    fprintf(out, "%s", (size_t)t->kind < sizeof(names) / sizeof(names[0]) &&
                               names[t->kind] != NULL
                           ? names[t->kind]
                           : scenario__bare(t->what));
    break;
  }
  if (t->flags & SCENARIO__NULLABLE)
    fprintf(out, " or `null`");
}

/* A field's type: a nested struct's fields inline, a section by name. */
static void describe_type(FILE *out, const scenario__field_t *f)
{
  const scenario__type_t *t = f->type;

  if (t->kind == SCENARIO__T_MAP && f->to.how == SCENARIO__TO_SUB) {
    fprintf(out, "{");
    describe_fields(out, t->fields);
    fprintf(out, "}");
  } else if (t->kind <= SCENARIO__T_EXPECT) {
    fprintf(out, "%s", scenario__bare(t->what));
  } else {
    describe_scalar(out, t);
  }
}

/* "`count` 1-64 (default `1`), `env` mapping of variables" */
static void describe_fields(FILE *out, const scenario__field_t *fields)
{
  const scenario__field_t *f;

  for (f = fields; f != NULL && f->key != NULL; f++) {
    fprintf(out, "%s`%s` ", f == fields ? "" : ", ", f->key);
    describe_type(out, f);
    if (f->flags & SCENARIO__REQUIRED)
      fprintf(out, " (required)");
    else if (f->dflt != NULL)
      fprintf(out, " (default `%s`)", f->dflt);
  }
}

/* One way to write a value: its fields, `{}`, `key:` alone, `key: N`. */
static void describe_form(FILE *out, const char *key,
                          const scenario__type_t *t)
{
  char prefix[64];

  snprintf(prefix, sizeof(prefix), "%s: ", key);
  if (t->kind == SCENARIO__T_MAP && t->fields[0].key != NULL)
    describe_fields(out, t->fields);
  else if (t->kind == SCENARIO__T_MAP)
    fprintf(out, "`{}`");
  else if (t->kind == SCENARIO__T_NULL)
    fprintf(out, "`%s:` alone", key);
  else if (t->kind == SCENARIO__T_ENUM)
    describe_words(out, t->words, prefix);
  else if (t->kind == SCENARIO__T_INT)
    fprintf(out, "`%s: N` (%lld-%lld)", key, (long long)t->min,
            (long long)t->max);
  else if (t->kind == SCENARIO__T_DURATION)
    fprintf(out, "`%s: DURATION`", key);
  else
    fprintf(out, "`%s: VALUE` (%s)", key, scenario__bare(t->what));
}

/* Every form of a value, mappings first. */
static void describe_value(FILE *out, const char *key,
                           const scenario__type_t *t)
{
  const scenario__type_t *const *a;
  bool first = true;
  int pass;

  if (t->kind != SCENARIO__T_ONEOF) {
    describe_form(out, key, t);
    return;
  }
  for (pass = 0; pass < 2; pass++)
    for (a = t->alts; *a != NULL; a++) {
      if ((pass == 0) != ((*a)->kind == SCENARIO__T_MAP))
        continue;
      fprintf(out, "%s", first ? "" : "; or ");
      describe_form(out, key, *a);
      first = false;
    }
}

static void describe_steps(FILE *out)
{
  size_t k;

  fprintf(out, "| step | fields | in `do` | what it does |\n"
               "|---|---|---|---|\n");
  for (k = 0; k < SCENARIO_STEP_KIND_COUNT; k++) {
    const scenario__step_def_t *def = scenario__steps[k];

    fprintf(out, "| `%s` | ", scenario_step_name(k));
    describe_value(out, scenario_step_name(k), def->value);
    if (def->beside != NULL) {
      fprintf(out, "; next to `%s`: ", scenario_step_name(k));
      describe_fields(out, def->beside);
    }
    fprintf(out, " | %s | %s |\n",
            def->in_do == SCENARIO__IN_DO ? "yes" : "no",
            scenario__step_doc(k));
  }
  fprintf(out, "\nEvery step may also have ");
  describe_fields(out, scenario__step_common);
  fprintf(out, ".\n");
}

static void describe_expects(FILE *out)
{
  size_t k;

  fprintf(out, "| key | fields | what it checks |\n|---|---|---|\n");
  for (k = 0; k < SCENARIO_EXPECT_KIND_COUNT; k++) {
    const scenario__type_t *t = scenario__expects[k]->value;

    fprintf(out, "| `%s` | ", scenario__expect_key(k));
    if (t->kind == SCENARIO__T_SEQ) {
      fprintf(out, "a list of: ");
      t = t->item;
    }
    describe_fields(out, t->fields);
    fprintf(out, " | %s |\n", scenario__expect_doc(k));
  }
}

static const char *const doc_names[SCENARIO_DOC_COUNT] = {
  [SCENARIO_DOC_STEPS] = "steps",
  [SCENARIO_DOC_EXPECT] = "expect",
};

const char *scenario_doc_name(scenario_doc_t part)
{
  if ((int)part < 0 || part >= SCENARIO_DOC_COUNT)
    return NULL;
  return doc_names[part];
}

int scenario_describe(FILE *out, scenario_doc_t part)
{
  switch (part) {
  case SCENARIO_DOC_STEPS:
    describe_steps(out);
    break;
  case SCENARIO_DOC_EXPECT:
    describe_expects(out);
    break;
  default:
    return UV_EINVAL;
  }
  return ferror(out) ? UV_EIO : 0;
}
