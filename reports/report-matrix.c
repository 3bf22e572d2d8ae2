/*
 * report-matrix.c - the compatibility matrix: the cases of a run laid out
 * as rules (rows, grouped by area) by targets (columns), and its Markdown
 * and JSON forms; report-matrix-html.c writes the page. The layout is
 * computed once (report__mx_t) and every writer reads it.
 */
#include "report-internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* ---------------------------------------------------------------------- */
/* Case fields                                                             */

const char *report_case_scenario(const report_case_t *c)
{
  return c->scenario;
}

const char *report_case_target(const report_case_t *c)
{
  return c->target;
}

const char *report_case_reason(const report_case_t *c)
{
  const report__attempt_t *a;

  if (c->nattempts == 0)
    return NULL;
  a = report__case_shown(c);
  if (!a->ended)
    return report__interrupt_reason(c->report);
  return a->reason;
}

/* ---------------------------------------------------------------------- */
/* The layout                                                              */

static bool listed(const report_groups_t *g, const char *scenario)
{
  size_t i, j, k;

  for (i = 0; i < g->n_areas; i++)
    for (j = 0; j < g->areas[i].n_rules; j++)
      for (k = 0; k < g->areas[i].rules[j].n_scenarios; k++)
        if (strcmp(g->areas[i].rules[j].scenarios[k], scenario) == 0)
          return true;
  return false;
}

/* The run's scenarios that no rule of the file names: an area of their
 * own, one rule each, so that nothing the run did is left out. */
static int leftovers(report__mx_t *m)
{
  const report_t *r = m->r;
  report_groups_t all;
  size_t i;
  int rc;

  if (m->g->source == NULL)
    return 0;
  if ((rc = report_groups_by_tag(r, &all)) != 0)
    return rc;
  m->rest.areas = calloc(1, sizeof(report_area_t));
  m->rest.n_areas = m->rest.areas != NULL ? 1 : 0;
  if (m->rest.areas != NULL) {
    m->rest.areas[0].name = strdup("");
    report__str_cat(&m->rest.areas[0].name, "not in %s", m->g->source);
  }
  if (m->rest.areas == NULL || m->rest.areas[0].name == NULL) {
    report_groups_free(&all);
    return UV_ENOMEM;
  }
  m->rest.areas[0].rules = calloc(r->ncases + 1, sizeof(report_rule_t));
  for (i = 0; m->rest.areas[0].rules != NULL && i < all.n_areas; i++) {
    report_area_t *a = &all.areas[i];
    size_t j;
    for (j = 0; j < a->n_rules; j++) {
      if (listed(m->g, a->rules[j].id) || listed(&m->rest, a->rules[j].id))
        continue;
      m->rest.areas[0].rules[m->rest.areas[0].n_rules++] = a->rules[j];
      memset(&a->rules[j], 0, sizeof(a->rules[j]));
    }
  }
  report_groups_free(&all);
  if (m->rest.areas[0].n_rules == 0)
    report_groups_free(&m->rest);
  return 0;
}

/* Targets in the order the run gave them, each with the runtime its
 * agent named (the first case that has one). */
static int targets(report__mx_t *m)
{
  const report_t *r = m->r;
  size_t i, j;

  m->targets = calloc(r->ncases + 1, sizeof(*m->targets));
  if (m->targets == NULL)
    return UV_ENOMEM;
  for (i = 0; i < r->ncases; i++) {
    const report_case_t *c = r->cases[i];
    for (j = 0; j < m->n_targets; j++)
      if (strcmp(m->targets[j].spec, c->target) == 0)
        break;
    if (j == m->n_targets)
      m->targets[m->n_targets++].spec = c->target;
    if (m->targets[j].runtime == NULL && c->runtime != NULL) {
      m->targets[j].runtime = c->runtime;
      m->targets[j].version = c->runtime_version;
    }
  }
  return 0;
}

int report__mx_open(report__mx_t *m, const report_t *r,
                    const report_groups_t *g)
{
  int rc;

  memset(m, 0, sizeof(*m));
  m->r = r;
  m->g = g;
  if ((rc = targets(m)) == 0)
    rc = leftovers(m);
  if (rc != 0)
    report__mx_close(m);
  return rc;
}

void report__mx_close(report__mx_t *m)
{
  free(m->targets);
  report_groups_free(&m->rest);
  memset(m, 0, sizeof(*m));
}

size_t report__mx_n_areas(const report__mx_t *m)
{
  return m->g->n_areas + m->rest.n_areas;
}

const report_area_t *report__mx_area(const report__mx_t *m, size_t i)
{
  return i < m->g->n_areas ? &m->g->areas[i]
                           : &m->rest.areas[i - m->g->n_areas];
}

const report_case_t *report__mx_case(const report__mx_t *m,
                                     const char *scenario, size_t t)
{
  size_t i;

  for (i = 0; i < m->r->ncases; i++)
    if (strcmp(m->r->cases[i]->scenario, scenario) == 0 &&
        strcmp(m->r->cases[i]->target, m->targets[t].spec) == 0)
      return m->r->cases[i];
  return NULL;
}

static bool divergence(const char *reason)
{
  return reason != NULL && strncmp(reason, "documented divergence", 21) == 0;
}

report__mx_state_t report__mx_state(const report_case_t *c)
{
  if (c == NULL)
    return REPORT__MX_NOT_RUN;
  switch (report_case_verdict(c)) {
  case REPORT_V_PASS:
  case REPORT_V_FLAKY:
    return REPORT__MX_PASS;
  case REPORT_V_SKIP:
    return divergence(report_case_reason(c)) ? REPORT__MX_DIVERGES
                                             : REPORT__MX_SKIP;
  case REPORT_V_INCONCLUSIVE:
    return REPORT__MX_SKIP;
  default:
    return REPORT__MX_FAIL;
  }
}

/* A verdict's word: pass, flaky, fail, timeout, error, skip, diverges,
 * inconclusive, interrupted, not run. */
const char *report__mx_word(const report_case_t *c)
{
  if (c == NULL)
    return "not run";
  if (report__mx_state(c) == REPORT__MX_DIVERGES)
    return "diverges";
  return report_verdict_name(report_case_verdict(c));
}

/* The one line a cell shows after its word: the first finding of a
 * failure, the reason of a skip; NULL for a pass. Caller frees. */
char *report__mx_text(const report_case_t *c)
{
  const char *why, *yaml, *slash;

  if (c == NULL || report__mx_state(c) == REPORT__MX_PASS)
    return NULL;
  why = report_case_reason(c);
  if (why == NULL)
    return NULL;
  /* "/long/path/scenarios/x.yaml:12: ..." -> "x.yaml:12: ...": the row
   * names the scenario already */
  yaml = strstr(why, ".yaml:");
  if (yaml != NULL && memchr(why, ' ', (size_t)(yaml - why)) == NULL &&
      (slash = memrchr(why, '/', (size_t)(yaml - why))) != NULL)
    why = slash + 1;
  return report__text_line(why);
}

/* A rule on a target: fail if any of its scenarios failed, pass if one
 * passed (and none failed), else skipped. */
report__mx_state_t report__mx_rule(const report__mx_t *m,
                                   const report_rule_t *rule, size_t t)
{
  bool seen[REPORT__MX_NOT_RUN + 1] = {false};
  size_t k;

  for (k = 0; k < rule->n_scenarios; k++)
    seen[report__mx_state(report__mx_case(m, rule->scenarios[k], t))] = true;
  if (seen[REPORT__MX_FAIL])
    return REPORT__MX_FAIL;
  if (seen[REPORT__MX_PASS])
    return REPORT__MX_PASS;
  if (seen[REPORT__MX_DIVERGES])
    return REPORT__MX_DIVERGES;
  return seen[REPORT__MX_SKIP] ? REPORT__MX_SKIP : REPORT__MX_NOT_RUN;
}

void report__mx_count(const report__mx_t *m, const report_area_t *a,
                      size_t t, report__mx_count_t *out)
{
  size_t j;

  memset(out, 0, sizeof(*out));
  for (j = 0; j < a->n_rules; j++)
    switch (report__mx_rule(m, &a->rules[j], t)) {
    case REPORT__MX_PASS:
      out->passed++;
      out->ran++;
      break;
    case REPORT__MX_FAIL:
      out->ran++;
      break;
    case REPORT__MX_NOT_RUN:
      break;
    default:
      out->skipped++;
    }
}

char *report__mx_label(const report__mx_target_t *t)
{
  char *s = strdup("");

  if (t->runtime != NULL)
    report__str_cat(&s, "%s%s%s", t->runtime, t->version ? " " : "",
                    t->version ? t->version : "");
  return s;
}

/* ---------------------------------------------------------------------- */
/* Summary                                                                 */

char *report_matrix_summary(const report_t *r, const report_groups_t *g)
{
  report__mx_t m;
  report__mx_count_t k;
  char *s = strdup(""), *label;
  size_t t, i;

  if (s == NULL || report__mx_open(&m, r, g) != 0) {
    free(s);
    return NULL;
  }
  for (t = 0; t < m.n_targets && s != NULL; t++) {
    label = report__mx_label(&m.targets[t]);
    report__str_cat(&s, "%s%s%s%s:", m.targets[t].spec,
                    label && *label ? " (" : "", label ? label : "",
                    label && *label ? ")" : "");
    free(label);
    for (i = 0; i < report__mx_n_areas(&m) && s != NULL; i++) {
      const report_area_t *a = report__mx_area(&m, i);
      report__mx_count(&m, a, t, &k);
      report__str_cat(&s, "%s %u of %u %s of %s", i ? "," : "", k.passed,
                      k.ran, g->source ? "rules" : "scenarios", a->name);
      if (k.skipped > 0)
        report__str_cat(&s, " (%u skipped)", k.skipped);
    }
    report__str_cat(&s, "\n");
  }
  report__mx_close(&m);
  return s;
}

/* ---------------------------------------------------------------------- */
/* Markdown                                                                */

/* Text for a table cell: one line, no pipes, at most `max` bytes. */
static void md_cell(char **s, const char *text, size_t max)
{
  size_t i, n = 0;

  for (i = 0; text != NULL && text[i] != '\0' && n < max; i++, n++) {
    char ch = text[i];
    if (ch == '|')
      report__str_cat(s, "\\|");
    else if (ch == '\n' || ch == '\r')
      report__str_cat(s, " ");
    else if (ch == '<')
      report__str_cat(s, "&lt;");
    else
      report__str_cat(s, "%c", ch);
  }
  if (text != NULL && text[i] != '\0')
    report__str_cat(s, "...");
}

static const char *md_mark(report__mx_state_t st)
{
  switch (st) {
  case REPORT__MX_PASS:
    return "✅";
  case REPORT__MX_FAIL:
    return "❌";
  case REPORT__MX_DIVERGES:
    return "🔀";
  default:
    return "⏭️";
  }
}

static void md_summary(char **s, const report__mx_t *m)
{
  report__mx_count_t k;
  size_t i, t;
  char *label;

  report__str_cat(s, "| %s |", m->g->source ? "area" : "tag");
  for (t = 0; t < m->n_targets; t++) {
    label = report__mx_label(&m->targets[t]);
    report__str_cat(s, " ");
    md_cell(s, m->targets[t].spec, 80);
    if (label && *label) {
      report__str_cat(s, "<br>");
      md_cell(s, label, 80);
    }
    report__str_cat(s, " |");
    free(label);
  }
  report__str_cat(s, "\n|---|");
  for (t = 0; t < m->n_targets; t++)
    report__str_cat(s, "---|");
  for (i = 0; i < report__mx_n_areas(m); i++) {
    const report_area_t *a = report__mx_area(m, i);
    report__str_cat(s, "\n| ");
    md_cell(s, a->name, 120);
    report__str_cat(s, " |");
    for (t = 0; t < m->n_targets; t++) {
      report__mx_count(m, a, t, &k);
      report__str_cat(s, " %u of %u%s |", k.passed, k.ran,
                      k.skipped ? " (skips)" : "");
    }
  }
  report__str_cat(s, "\n");
}

static void md_row(char **s, const report__mx_t *m, const report_rule_t *rule,
                   size_t k)
{
  size_t t;

  if (m->g->source != NULL) { /* by tag, the rule is the scenario */
    report__str_cat(s, "| ");
    if (k == 0) {
      report__str_cat(s, "`");
      md_cell(s, rule->id, 80);
      report__str_cat(s, "`");
      if (rule->title) {
        report__str_cat(s, " ");
        md_cell(s, rule->title, 160);
      }
    }
    report__str_cat(s, " ");
  }
  report__str_cat(s, "| `");
  md_cell(s, rule->scenarios[k], 80);
  report__str_cat(s, "` |");
  for (t = 0; t < m->n_targets; t++) {
    const report_case_t *c = report__mx_case(m, rule->scenarios[k], t);
    char *text = report__mx_text(c);
    report__str_cat(s, " %s %s", md_mark(report__mx_state(c)),
                    report__mx_word(c));
    if (text != NULL && *text) {
      report__str_cat(s, ": ");
      md_cell(s, text, 300);
    }
    report__str_cat(s, " |");
    free(text);
  }
  report__str_cat(s, "\n");
}

static char *markdown(const report__mx_t *m)
{
  char *s = strdup("");
  size_t i, j, k, t;

  report__str_cat(&s, "# Compatibility matrix\n\n");
  if (m->g->source)
    report__str_cat(&s, "Rules from `%s`; per target, the rules whose every "
                    "scenario passed, of those that ran.\n\n", m->g->source);
  else
    report__str_cat(&s, "Scenarios by tag (no coverage file); per target, "
                    "the scenarios that passed, of those that ran.\n\n");
  md_summary(&s, m);
  for (i = 0; i < report__mx_n_areas(m); i++) {
    const report_area_t *a = report__mx_area(m, i);
    report__str_cat(&s, "\n## ");
    md_cell(&s, a->name, 120);
    report__str_cat(&s, "\n\n%s| scenario |",
                    m->g->source != NULL ? "| rule " : "");
    for (t = 0; t < m->n_targets; t++) {
      report__str_cat(&s, " ");
      md_cell(&s, m->targets[t].spec, 80);
      report__str_cat(&s, " |");
    }
    report__str_cat(&s, "\n%s|---|", m->g->source != NULL ? "|---" : "");
    for (t = 0; t < m->n_targets; t++)
      report__str_cat(&s, "---|");
    report__str_cat(&s, "\n");
    for (j = 0; j < a->n_rules; j++)
      for (k = 0; k < a->rules[j].n_scenarios; k++)
        md_row(&s, m, &a->rules[j], k);
  }
  return s;
}

/* ---------------------------------------------------------------------- */
/* JSON                                                                    */

static cJSON *json_cell(const report_case_t *c)
{
  cJSON *j = cJSON_CreateObject();
  char *text = report__mx_text(c);

  cJSON_AddStringToObject(j, "verdict", report__mx_word(c));
  if (text != NULL)
    cJSON_AddStringToObject(j, "finding", text);
  if (c != NULL)
    cJSON_AddNumberToObject(j, "case", (double)c->index + 1);
  free(text);
  return j;
}

static cJSON *json_rule(const report__mx_t *m, const report_rule_t *rule)
{
  static const char *const states[] = {"pass", "fail", "skip", "diverges",
                                       "not run"};
  cJSON *j = cJSON_CreateObject(), *sc = cJSON_AddArrayToObject(j, "scenarios");
  cJSON *st = cJSON_AddObjectToObject(j, "status");
  size_t k, t;

  cJSON_AddStringToObject(j, "rule", rule->id);
  if (rule->title)
    cJSON_AddStringToObject(j, "title", rule->title);
  for (t = 0; t < m->n_targets; t++)
    cJSON_AddStringToObject(st, m->targets[t].spec,
                            states[report__mx_rule(m, rule, t)]);
  for (k = 0; k < rule->n_scenarios; k++) {
    cJSON *row = cJSON_CreateObject();
    cJSON *cells = cJSON_AddObjectToObject(row, "cells");
    cJSON_AddStringToObject(row, "scenario", rule->scenarios[k]);
    for (t = 0; t < m->n_targets; t++)
      cJSON_AddItemToObject(cells, m->targets[t].spec,
                            json_cell(report__mx_case(m, rule->scenarios[k],
                                                      t)));
    cJSON_AddItemToArray(sc, row);
  }
  return j;
}

static cJSON *json_targets(const report__mx_t *m)
{
  cJSON *arr = cJSON_CreateArray();
  report__mx_count_t k;
  size_t t, i;

  for (t = 0; t < m->n_targets; t++) {
    cJSON *o = cJSON_CreateObject(), *sum;
    cJSON_AddStringToObject(o, "target", m->targets[t].spec);
    if (m->targets[t].runtime)
      cJSON_AddStringToObject(o, "runtime", m->targets[t].runtime);
    if (m->targets[t].version)
      cJSON_AddStringToObject(o, "version", m->targets[t].version);
    sum = cJSON_AddArrayToObject(o, "summary");
    for (i = 0; i < report__mx_n_areas(m); i++) {
      const report_area_t *a = report__mx_area(m, i);
      cJSON *x = cJSON_CreateObject();
      report__mx_count(m, a, t, &k);
      cJSON_AddStringToObject(x, "area", a->name);
      cJSON_AddNumberToObject(x, "rules", a->n_rules);
      cJSON_AddNumberToObject(x, "ran", k.ran);
      cJSON_AddNumberToObject(x, "passed", k.passed);
      cJSON_AddNumberToObject(x, "skipped", k.skipped);
      cJSON_AddItemToArray(sum, x);
    }
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}

static char *json(const report__mx_t *m)
{
  cJSON *root = cJSON_CreateObject(), *areas;
  size_t i, j;
  char *s;

  cJSON_AddStringToObject(root, "clustersim", CLUSTERSIM_VERSION);
  cJSON_AddStringToObject(root, "grouping", m->g->source ? "rules" : "tags");
  if (m->g->source)
    cJSON_AddStringToObject(root, "rules_from", m->g->source);
  cJSON_AddItemToObject(root, "targets", json_targets(m));
  areas = cJSON_AddArrayToObject(root, "areas");
  for (i = 0; i < report__mx_n_areas(m); i++) {
    const report_area_t *a = report__mx_area(m, i);
    cJSON *o = cJSON_CreateObject();
    cJSON *rules = cJSON_AddArrayToObject(o, "rules");
    cJSON_AddStringToObject(o, "area", a->name);
    for (j = 0; j < a->n_rules; j++)
      cJSON_AddItemToArray(rules, json_rule(m, &a->rules[j]));
    cJSON_AddItemToArray(areas, o);
  }
  s = cJSON_Print(root);
  cJSON_Delete(root);
  return s;
}

/* ---------------------------------------------------------------------- */

static int write_text(const char *path, char *text)
{
  int rc;

  if (text == NULL)
    return UV_ENOMEM;
  rc = report__file_replace(path, text, strlen(text));
  free(text);
  return rc;
}

int report_matrix_write(const report_t *r, const report_matrix_opts_t *o)
{
  report__mx_t m;
  int rc;

  if (r == NULL || o == NULL || o->groups == NULL)
    return UV_EINVAL;
  if ((rc = report__mx_open(&m, r, o->groups)) != 0)
    return rc;
  if (o->markdown != NULL)
    rc = write_text(o->markdown, markdown(&m));
  if (rc == 0 && o->json != NULL)
    rc = write_text(o->json, json(&m));
  if (rc == 0 && o->html != NULL)
    rc = report__mx_html(&m, o->html, o->timelines);
  report__mx_close(&m);
  return rc;
}
