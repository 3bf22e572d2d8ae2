/*
 * report-coverage.c - what the matrix groups its rows by: the rules of
 * docs/coverage.md (its GFM tables, read with md4c), or the scenarios'
 * tags when there is no such file.
 *
 * The file is written by people, so the reading is tolerant: any table
 * whose rows name scenarios of the run in code spans is a rules table,
 * whatever its other columns; the heading above it names its area.
 */
#include "report-internal.h"

#include <errno.h>
#include <md4c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Grows a malloc'd array of `size` elements to hold n + 1; false when
 * memory runs out (the array stays as it was). */
static bool grow(void *pp, size_t n, size_t size)
{
  void **p = pp;
  void *q;

  if ((n & (n - 1)) != 0 && n != 0)
    return true; /* capacity is the next power of two */
  q = realloc(*p, (n ? n * 2 : 4) * size);
  if (q == NULL)
    return false;
  *p = q;
  return true;
}

/* ---------------------------------------------------------------------- */
/* Reading a Markdown file                                                 */

typedef struct {
  const char *const *known;
  report_groups_t *g;
  int rc;
  /* where md4c is */
  char *heading;             /* the text of the last heading */
  bool in_heading, in_table, in_head_row, in_code;
  unsigned col;              /* the current cell's column */
  int id_col, title_col;     /* from the header row; -1: none */
  char **head;               /* header cells' text */
  size_t n_head;
  char *cell;                /* the current cell's text */
  char *id, *title;          /* of the current row */
  char **names;              /* scenarios the current row names */
  size_t n_names;
} cov_t;

static void text_cat(cov_t *c, char **s, const char *t, size_t n)
{
  size_t len = *s ? strlen(*s) : 0;
  char *p = realloc(*s, len + n + 1);

  if (p == NULL) {
    c->rc = UV_ENOMEM;
    return;
  }
  memcpy(p + len, t, n);
  p[len + n] = '\0';
  *s = p;
}

static bool known_name(const cov_t *c, const char *s)
{
  size_t i;

  for (i = 0; c->known != NULL && c->known[i] != NULL; i++)
    if (strcmp(c->known[i], s) == 0)
      return true;
  return false;
}

/* A scenario as a row may name it: `kill-sigkill`, `kill-sigkill.yaml`
 * or `scenarios/kill-sigkill.yaml`. */
static void add_name(cov_t *c, const char *t, size_t n)
{
  const char *slash = memrchr(t, '/', n);
  char *s;
  size_t i;

  if (slash != NULL) {
    n -= (size_t)(slash + 1 - t);
    t = slash + 1;
  }
  if (n > 5 && memcmp(t + n - 5, ".yaml", 5) == 0)
    n -= 5;
  else if (n > 4 && memcmp(t + n - 4, ".yml", 4) == 0)
    n -= 4;
  s = strndup(t, n);

  if (s == NULL) {
    c->rc = UV_ENOMEM;
    return;
  }
  for (i = 0; i < c->n_names; i++)
    if (strcmp(c->names[i], s) == 0)
      break;
  if (!known_name(c, s) || i < c->n_names ||
      !grow(&c->names, c->n_names, sizeof(char *))) {
    free(s);
    return;
  }
  c->names[c->n_names++] = s;
}

/* A cell's text without the blanks around it; `code` (the whole cell
 * one code span, as ids often are) loses its backticks. */
static char *trimmed(const char *s)
{
  size_t n;

  while (s != NULL && *s == ' ')
    s++;
  if (s == NULL)
    return NULL;
  n = strlen(s);
  while (n > 0 && s[n - 1] == ' ')
    n--;
  if (n > 2 && s[0] == '`' && s[n - 1] == '`' &&
      memchr(s + 1, '`', n - 2) == NULL) {
    s++;
    n -= 2;
  }
  return n > 0 ? strndup(s, n) : NULL;
}

static bool header_says(const char *h, const char *const *words)
{
  size_t i;

  for (i = 0; h != NULL && words[i] != NULL; i++)
    if (strcasestr(h, words[i]) != NULL)
      return true;
  return false;
}

/* The id and title columns, from the header row. */
static void columns(cov_t *c)
{
  static const char *const id_words[] = {"rule", "id", NULL};
  static const char *const title_words[] = {"title", "statement",
                                            "behaviour", "behavior",
                                            "what", "description", NULL};
  size_t i;

  c->id_col = c->title_col = -1;
  for (i = 0; i < c->n_head; i++) {
    if (c->id_col < 0 && header_says(c->head[i], id_words))
      c->id_col = (int)i;
    else if (c->title_col < 0 && header_says(c->head[i], title_words))
      c->title_col = (int)i;
  }
  if (c->id_col < 0)
    c->id_col = 0;
}

static report_area_t *area_for(cov_t *c)
{
  report_groups_t *g = c->g;
  const char *name = c->heading ? c->heading : "rules";
  report_area_t *a;

  if (g->n_areas > 0 && strcmp(g->areas[g->n_areas - 1].name, name) == 0)
    return &g->areas[g->n_areas - 1];
  if (!grow(&g->areas, g->n_areas, sizeof(*g->areas))) {
    c->rc = UV_ENOMEM;
    return NULL;
  }
  a = &g->areas[g->n_areas];
  memset(a, 0, sizeof(*a));
  if ((a->name = strdup(name)) == NULL) {
    c->rc = UV_ENOMEM;
    return NULL;
  }
  g->n_areas++;
  return a;
}

/* A row that names scenarios is a rule. */
static void row_end(cov_t *c)
{
  report_area_t *a;
  report_rule_t *r;

  if (c->n_names > 0 && (a = area_for(c)) != NULL &&
      grow(&a->rules, a->n_rules, sizeof(*a->rules))) {
    r = &a->rules[a->n_rules++];
    memset(r, 0, sizeof(*r));
    r->id = c->id ? c->id : strdup(c->names[0]);
    r->title = c->title;
    r->scenarios = c->names;
    r->n_scenarios = c->n_names;
    c->id = c->title = NULL;
    c->names = NULL;
    c->n_names = 0;
  }
  free(c->id);
  free(c->title);
  for (size_t i = 0; i < c->n_names; i++)
    free(c->names[i]);
  free(c->names);
  c->id = c->title = NULL;
  c->names = NULL;
  c->n_names = 0;
}

static void cell_end(cov_t *c)
{
  char *t = trimmed(c->cell);

  free(c->cell);
  c->cell = NULL;
  if (c->in_head_row) {
    if (grow(&c->head, c->n_head, sizeof(char *)))
      c->head[c->n_head++] = t;
    else
      free(t);
  } else if ((int)c->col == c->id_col && c->id == NULL) {
    c->id = t;
  } else if ((int)c->col == c->title_col && c->title == NULL) {
    c->title = t;
  } else {
    free(t);
  }
  c->col++;
}

static void head_free(cov_t *c)
{
  size_t i;

  for (i = 0; i < c->n_head; i++)
    free(c->head[i]);
  free(c->head);
  c->head = NULL;
  c->n_head = 0;
}

static int on_enter(MD_BLOCKTYPE type, void *detail, void *arg)
{
  cov_t *c = arg;

  (void)detail;
  switch (type) {
  case MD_BLOCK_H:
    free(c->heading);
    c->heading = NULL;
    c->in_heading = true;
    break;
  case MD_BLOCK_TABLE:
    c->in_table = true;
    head_free(c);
    break;
  case MD_BLOCK_THEAD:
    c->in_head_row = true;
    break;
  case MD_BLOCK_TR:
    c->col = 0;
    break;
  default:
    break;
  }
  return c->rc;
}

static int on_leave(MD_BLOCKTYPE type, void *detail, void *arg)
{
  cov_t *c = arg;

  (void)detail;
  switch (type) {
  case MD_BLOCK_H:
    c->in_heading = false;
    break;
  case MD_BLOCK_THEAD:
    c->in_head_row = false;
    columns(c);
    break;
  case MD_BLOCK_TH:
  case MD_BLOCK_TD:
    cell_end(c);
    break;
  case MD_BLOCK_TR:
    if (!c->in_head_row)
      row_end(c);
    break;
  case MD_BLOCK_TABLE:
    c->in_table = false;
    break;
  default:
    break;
  }
  return c->rc;
}

static int on_span(MD_SPANTYPE type, void *detail, void *arg, bool enter)
{
  cov_t *c = arg;

  (void)detail;
  if (type == MD_SPAN_CODE) {
    c->in_code = enter;
    if (c->in_table)
      text_cat(c, &c->cell, "`", 1);
  }
  return c->rc;
}

static int on_enter_span(MD_SPANTYPE type, void *detail, void *arg)
{
  return on_span(type, detail, arg, true);
}

static int on_leave_span(MD_SPANTYPE type, void *detail, void *arg)
{
  return on_span(type, detail, arg, false);
}

static int on_text(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size,
                   void *arg)
{
  cov_t *c = arg;

  (void)type;
  if (c->in_heading)
    text_cat(c, &c->heading, text, size);
  if (!c->in_table)
    return c->rc;
  text_cat(c, &c->cell, text, size);
  if (c->in_code && !c->in_head_row)
    add_name(c, text, size);
  return c->rc;
}

int report_groups_read(const char *path, const char *const *known,
                       report_groups_t *out)
{
  MD_PARSER p;
  cov_t c;
  size_t len = 0;
  int rc;
  char *text;

  memset(out, 0, sizeof(*out));
  text = report__file_read(path, 16 * 1024 * 1024, &len, &rc);
  if (text == NULL)
    return rc;
  memset(&p, 0, sizeof(p));
  p.flags = MD_FLAG_TABLES | MD_FLAG_NOHTML;
  p.enter_block = on_enter;
  p.leave_block = on_leave;
  p.enter_span = on_enter_span;
  p.leave_span = on_leave_span;
  p.text = on_text;
  memset(&c, 0, sizeof(c));
  c.known = known;
  c.g = out;
  if (md_parse(text, (MD_SIZE)len, &p, &c) != 0 && c.rc == 0)
    c.rc = UV_EINVAL;
  free(text);
  row_end(&c);
  head_free(&c);
  free(c.cell);
  free(c.heading);
  if (c.rc == 0 && (out->source = strdup(path)) == NULL)
    c.rc = UV_ENOMEM;
  if (c.rc != 0)
    report_groups_free(out);
  return c.rc;
}

/* ---------------------------------------------------------------------- */
/* By tag                                                                  */

static report_area_t *tag_area(report_groups_t *g, const char *tag)
{
  size_t i;
  report_area_t *a;

  for (i = 0; i < g->n_areas; i++)
    if (strcmp(g->areas[i].name, tag) == 0)
      return &g->areas[i];
  if (!grow(&g->areas, g->n_areas, sizeof(*g->areas)))
    return NULL;
  a = &g->areas[g->n_areas];
  memset(a, 0, sizeof(*a));
  if ((a->name = strdup(tag)) == NULL)
    return NULL;
  g->n_areas++;
  return a;
}

static bool has_rule(const report_area_t *a, const char *scenario)
{
  size_t i;

  for (i = 0; i < a->n_rules; i++)
    if (strcmp(a->rules[i].id, scenario) == 0)
      return true;
  return false;
}

static int add_scenario_rule(report_area_t *a, const char *scenario)
{
  report_rule_t *r;

  if (has_rule(a, scenario))
    return 0;
  if (!grow(&a->rules, a->n_rules, sizeof(*a->rules)))
    return UV_ENOMEM;
  r = &a->rules[a->n_rules];
  memset(r, 0, sizeof(*r));
  r->id = strdup(scenario);
  r->scenarios = calloc(1, sizeof(char *));
  if (r->id == NULL || r->scenarios == NULL ||
      (r->scenarios[0] = strdup(scenario)) == NULL) {
    free(r->id);
    free(r->scenarios);
    return UV_ENOMEM;
  }
  r->n_scenarios = 1;
  a->n_rules++;
  return 0;
}

int report_groups_by_tag(const report_t *r, report_groups_t *out)
{
  size_t i;
  int rc = 0;

  memset(out, 0, sizeof(*out));
  for (i = 0; i < r->ncases && rc == 0; i++) {
    const report_case_t *c = r->cases[i];
    report_area_t *a =
        tag_area(out, c->ntags > 0 ? c->tags[0] : "untagged");
    rc = a == NULL ? UV_ENOMEM : add_scenario_rule(a, c->scenario);
  }
  if (rc != 0)
    report_groups_free(out);
  return rc;
}

void report_groups_free(report_groups_t *g)
{
  size_t i, j, k;

  for (i = 0; g != NULL && i < g->n_areas; i++) {
    report_area_t *a = &g->areas[i];
    for (j = 0; j < a->n_rules; j++) {
      for (k = 0; k < a->rules[j].n_scenarios; k++)
        free(a->rules[j].scenarios[k]);
      free(a->rules[j].scenarios);
      free(a->rules[j].id);
      free(a->rules[j].title);
    }
    free(a->rules);
    free(a->name);
  }
  if (g != NULL) {
    free(g->areas);
    free(g->source);
    memset(g, 0, sizeof(*g));
  }
}
