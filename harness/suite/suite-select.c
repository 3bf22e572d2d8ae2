/*
 * suite-select.c - discovery and selection: every scenario file under the
 * paths, loaded, filtered by name and tag, then sharded.
 */
#include "suite.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Folders are searched to this depth, for at most this many files. */
#define MAX_DEPTH 8
#define MAX_FILES 100000

static int push(char ***list, size_t *n, const char *s)
{
  char **bigger = realloc(*list, (*n + 2) * sizeof(char *));

  if (bigger == NULL)
    return UV_ENOMEM;
  *list = bigger;
  bigger[*n] = strdup(s);
  if (bigger[*n] == NULL)
    return UV_ENOMEM;
  bigger[++*n] = NULL;
  return 0;
}

static void free_list(char **list, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    free(list[i]);
  free(list);
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_scenario_name(const char *name)
{
  size_t n = strlen(name);

  if (name[0] == '.')
    return false;
  return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
         (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static bool is_dir(const char *path)
{
  struct stat st;

  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The folders and scenario files directly in `path`, sorted. */
static int list_dir(const char *path, char ***names, size_t *nn,
                    base_diag_t *diag)
{
  DIR *d = opendir(path);
  struct dirent *de;
  int rc = 0;

  if (d == NULL) {
    base_diag_addf(diag, "%s: error: %s", path, strerror(errno));
    return UV_EIO;
  }
  while (rc == 0 && (de = readdir(d)) != NULL) {
    char *full;
    if (de->d_name[0] == '.')
      continue;
    full = base_asprintf("%s/%s", path, de->d_name);
    if (full == NULL)
      rc = UV_ENOMEM;
    else if (is_dir(full) || is_scenario_name(de->d_name))
      rc = push(names, nn, full);
    free(full);
  }
  closedir(d);
  if (*nn > 0)
    qsort(*names, *nn, sizeof(char *), cmp_str);
  return rc;
}

/* Folders are searched recursively, to a bounded depth and count. */
static int scan(const char *path, int depth, char ***files, size_t *n,
                base_diag_t *diag)
{
  char **names = NULL;
  size_t nn = 0, i;
  struct stat st;
  int rc;

  if (stat(path, &st) != 0) {
    base_diag_addf(diag, "%s: error: %s", path, strerror(errno));
    return UV_ENOENT;
  }
  if (!S_ISDIR(st.st_mode))
    return push(files, n, path);
  if (depth > MAX_DEPTH || *n > MAX_FILES)
    return 0;
  rc = list_dir(path, &names, &nn, diag);
  for (i = 0; i < nn && rc == 0; i++) {
    if (is_dir(names[i]))
      rc = scan(names[i], depth + 1, files, n, diag);
    else
      rc = push(files, n, names[i]);
  }
  free_list(names, nn);
  return rc;
}

static bool any_glob(const char **globs, size_t n, const char *name)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (fnmatch(globs[i], name, 0) == 0)
      return true;
  return false;
}

static bool any_tag(const char **tags, size_t n, const scenario_t *s)
{
  size_t i, j;

  for (i = 0; i < n; i++)
    for (j = 0; j < s->n_tags; j++)
      if (strcmp(tags[i], s->tags[j]) == 0)
        return true;
  return false;
}

static bool selected(const suite_opts_t *o, const scenario_t *s)
{
  return (o->n_filters == 0 || any_glob(o->filters, o->n_filters, s->name)) &&
         (o->n_tags == 0 || any_tag(o->tags, o->n_tags, s));
}

/* The diagnostics of one file, one per line, for the reports. */
static char *join_lines(const base_diag_t *diag, size_t first)
{
  size_t k, len = 1;
  char *detail;

  for (k = first; k < diag->count; k++)
    len += strlen(diag->lines[k]) + 1;
  detail = malloc(len);
  if (detail == NULL)
    return NULL;
  detail[0] = '\0';
  for (k = first; k < diag->count; k++) {
    strcat(detail, diag->lines[k]);
    strcat(detail, "\n");
  }
  return detail;
}

/* An invalid scenario is kept for the reports: an error case. Takes
 * `detail`. */
static int add_bad(suite_selection_t *sel, const char *file, char *detail)
{
  char **b;

  if (detail == NULL)
    return 0;
  b = realloc(sel->bad_details, (sel->n_bad + 2) * sizeof(char *));
  if (b == NULL || push(&sel->bad_files, &sel->n_bad, file) != 0) {
    if (b != NULL)
      sel->bad_details = b;
    free(detail);
    return UV_ENOMEM;
  }
  sel->bad_details = b;
  b[sel->n_bad - 1] = detail;
  b[sel->n_bad] = NULL;
  return 0;
}

/* Reports and traces are keyed by name: two of one name would overwrite
 * each other. */
static const scenario_t *same_name(const suite_selection_t *sel,
                                   const scenario_t *s)
{
  size_t k;

  for (k = 0; k < sel->n_scenarios; k++)
    if (strcmp(sel->scenarios[k]->name, s->name) == 0)
      return sel->scenarios[k];
  return NULL;
}

static int load_one(const suite_opts_t *o, suite_selection_t *sel,
                    const char *file, base_diag_t *diag)
{
  scenario_t *s = NULL;
  const scenario_t *twin;
  size_t first = diag->count;
  int r = scenario_load(file, diag, &s);

  if (r == UV_ENOMEM)
    return r;
  if (r != 0) {
    sel->invalid++;
    return add_bad(sel, file, join_lines(diag, first));
  }
  if (!selected(o, s)) {
    scenario_free(s);
    return 0;
  }
  twin = same_name(sel, s);
  if (twin != NULL) {
    base_diag_addf(diag, "%s:1:1: error: the scenario name '%s' is already "
                   "used by %s", s->file, s->name, twin->file);
    sel->invalid++;
    scenario_free(s);
    return 0;
  }
  sel->scenarios[sel->n_scenarios++] = s;
  return 0;
}

/* --shard I/N keeps every N-th scenario of the sorted selection. */
static void shard(const suite_opts_t *o, suite_selection_t *sel)
{
  size_t i, kept = 0;

  if (o->shard_n == 0)
    return;
  for (i = 0; i < sel->n_scenarios; i++) {
    if (i % o->shard_n == o->shard_i - 1)
      sel->scenarios[kept++] = sel->scenarios[i];
    else
      scenario_free(sel->scenarios[i]);
  }
  sel->n_scenarios = kept;
}

int suite_select(const suite_opts_t *o, suite_selection_t *sel,
                 base_diag_t *diag)
{
  char **files = NULL;
  size_t nfiles = 0, i;
  int rc = 0;

  memset(sel, 0, sizeof(*sel));
  for (i = 0; i < o->n_paths && rc == 0; i++) {
    int r = scan(o->paths[i], 0, &files, &nfiles, diag);
    if (r == UV_ENOMEM)
      rc = r;
    else if (r != 0)
      sel->invalid++;
  }
  if (rc == 0) {
    sel->scenarios = calloc(nfiles + 1, sizeof(*sel->scenarios));
    if (sel->scenarios == NULL)
      rc = UV_ENOMEM;
  }
  for (i = 0; i < nfiles && rc == 0; i++)
    rc = load_one(o, sel, files[i], diag);
  if (rc == 0)
    shard(o, sel);
  free_list(files, nfiles);
  return rc;
}

void suite_selection_free(suite_selection_t *sel)
{
  size_t i;

  for (i = 0; i < sel->n_scenarios; i++)
    scenario_free(sel->scenarios[i]);
  free(sel->scenarios);
  for (i = 0; sel->bad_details != NULL && i < sel->n_bad; i++)
    free(sel->bad_details[i]);
  free(sel->bad_details);
  free_list(sel->bad_files, sel->n_bad);
  memset(sel, 0, sizeof(*sel));
}
