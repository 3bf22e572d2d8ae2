/*
 * report-expect.c - expectations files: the failures a target is known to
 * have, so that a reimplementation's CI passes while exactly those fail,
 * reports the ones that now pass, and fails on a new one. JSON (cJSON):
 *
 *   {"clustersim-expectations": 1,
 *    "known-failures": [
 *      {"scenario": "kill-sigkill", "target": "exec:./my-agent",
 *       "verdict": "fail", "finding": "scenarios/kill-sigkill.yaml:17: ..."}]}
 */
#include "report-internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FORMAT_KEY "clustersim-expectations"
#define MAX_FILE (16 * 1024 * 1024)

typedef struct {
  char *scenario;
  char *target;          /* "*": any */
} expect_item_t;

struct report_expect_s {
  expect_item_t *items;
  size_t n;
};

void report_expect_free(report_expect_t *e)
{
  size_t i;

  if (e == NULL)
    return;
  for (i = 0; i < e->n; i++) {
    free(e->items[i].scenario);
    free(e->items[i].target);
  }
  free(e->items);
  free(e);
}

/* One entry of known-failures, checked; NULL and *why on a bad one. */
static int item_of(const cJSON *j, size_t i, expect_item_t *out, char **why)
{
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "scenario");
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "target");

  if (!cJSON_IsObject(j) || !cJSON_IsString(s) || s->valuestring[0] == 0 ||
      (t != NULL && !cJSON_IsString(t))) {
    *why = strdup("");
    report__str_cat(why, "known-failures[%zu]: an object with a string "
                    "\"scenario\" and, optionally, a string \"target\"", i);
    return UV_EINVAL;
  }
  out->scenario = strdup(s->valuestring);
  out->target = strdup(t != NULL ? t->valuestring : "*");
  return out->scenario && out->target ? 0 : UV_ENOMEM;
}

static int items_of(const cJSON *root, report_expect_t *e, char **why)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, FORMAT_KEY);
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(root,
                                                       "known-failures");
  size_t i = 0;
  int rc = 0;
  const cJSON *it;

  if (!cJSON_IsObject(root) || !cJSON_IsNumber(v) || v->valueint != 1 ||
      !cJSON_IsArray(list)) {
    *why = strdup("not an expectations file: a JSON object with \""
                  FORMAT_KEY "\": 1 and an array \"known-failures\"");
    return UV_EINVAL;
  }
  e->items = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*e->items));
  if (e->items == NULL)
    return UV_ENOMEM;
  cJSON_ArrayForEach(it, list)
  {
    if ((rc = item_of(it, i++, &e->items[e->n], why)) != 0) {
      free(e->items[e->n].scenario);
      free(e->items[e->n].target);
      return rc;
    }
    e->n++;
  }
  return 0;
}

int report_expect_read(const char *path, report_expect_t **out, char **why)
{
  report_expect_t *e = calloc(1, sizeof(*e));
  cJSON *root = NULL;
  const char *err;
  char *text;
  int rc;

  *out = NULL;
  *why = NULL;
  if (e == NULL)
    return UV_ENOMEM;
  text = report__file_read(path, MAX_FILE, NULL, &rc);
  if (text != NULL && (root = cJSON_Parse(text)) == NULL) {
    err = cJSON_GetErrorPtr();
    *why = strdup("");
    report__str_cat(why, "not JSON (at byte %td)",
                    err != NULL && err >= text ? err - text : (ptrdiff_t)0);
    rc = UV_EINVAL;
  } else if (text != NULL) {
    rc = items_of(root, e, why);
  }
  cJSON_Delete(root);
  free(text);
  if (rc != 0)
    report_expect_free(e);
  else
    *out = e;
  return rc;
}

/* ---------------------------------------------------------------------- */

static bool expected(const report_expect_t *e, const report_case_t *c)
{
  size_t i;

  for (i = 0; i < e->n; i++)
    if (strcmp(e->items[i].scenario, c->scenario) == 0 &&
        (strcmp(e->items[i].target, "*") == 0 ||
         strcmp(e->items[i].target, c->target) == 0))
      return true;
  return false;
}

static bool failed(report_verdict_t v)
{
  return v == REPORT_V_FAIL || v == REPORT_V_TIMEOUT ||
         v == REPORT_V_ERROR || v == REPORT_V_INTERRUPTED;
}

static int push(char ***list, size_t *n, const report_case_t *c)
{
  const char *why = report_case_reason(c);
  char *line = strdup(""), **l;

  report__str_cat(&line, "%s [%s]", c->scenario, c->target);
  if (why != NULL && failed(report_case_verdict(c)))
    report__str_cat(&line, ": %s", why);
  if (line == NULL)
    return UV_ENOMEM;
  l = realloc(*list, (*n + 1) * sizeof(char *));
  if (l == NULL) {
    free(line);
    return UV_ENOMEM;
  }
  *list = l;
  (*list)[(*n)++] = line;
  return 0;
}

int report_expect_compare(const report_t *r, const report_expect_t *e,
                          report_expect_result_t *out)
{
  size_t i;
  int rc = 0;

  memset(out, 0, sizeof(*out));
  for (i = 0; i < r->ncases && rc == 0; i++) {
    const report_case_t *c = r->cases[i];
    report_verdict_t v = report_case_verdict(c);
    bool known = expected(e, c);
    if (failed(v) && known)
      rc = push(&out->known, &out->n_known, c);
    else if (failed(v)) {
      rc = push(&out->fresh, &out->n_fresh, c);
      if (v != REPORT_V_FAIL && v != REPORT_V_TIMEOUT)
        out->fresh_errors++;
    } else if (known && (v == REPORT_V_PASS || v == REPORT_V_FLAKY))
      rc = push(&out->fixed, &out->n_fixed, c);
  }
  if (rc != 0)
    report_expect_result_free(out);
  return rc;
}

static void list_free(char **l, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    free(l[i]);
  free(l);
}

void report_expect_result_free(report_expect_result_t *res)
{
  list_free(res->known, res->n_known);
  list_free(res->fixed, res->n_fixed);
  list_free(res->fresh, res->n_fresh);
  memset(res, 0, sizeof(*res));
}

int report_expect_write(const report_t *r, const char *path)
{
  cJSON *root = cJSON_CreateObject(), *list;
  char *text, *why;
  size_t i;
  int rc;

  if (root == NULL)
    return UV_ENOMEM;
  cJSON_AddNumberToObject(root, FORMAT_KEY, 1);
  list = cJSON_AddArrayToObject(root, "known-failures");
  for (i = 0; list != NULL && i < r->ncases; i++) {
    const report_case_t *c = r->cases[i];
    report_verdict_t v = report_case_verdict(c);
    cJSON *o;
    if (!failed(v) || (o = cJSON_CreateObject()) == NULL)
      continue;
    cJSON_AddStringToObject(o, "scenario", c->scenario);
    cJSON_AddStringToObject(o, "target", c->target);
    cJSON_AddStringToObject(o, "verdict", report_verdict_name(v));
    why = report__text_line(report_case_reason(c));
    if (why != NULL)
      cJSON_AddStringToObject(o, "finding", why);
    free(why);
    cJSON_AddItemToArray(list, o);
  }
  text = cJSON_Print(root);
  cJSON_Delete(root);
  if (text == NULL)
    return UV_ENOMEM;
  report__str_cat(&text, "\n");
  rc = text != NULL ? report__file_replace(path, text, strlen(text))
                    : UV_ENOMEM;
  free(text);
  return rc;
}
