/*
 * suite-expect.c - what follows a run when it is a compatibility matrix or
 * tracks known failures: the matrix's files and its per-area summary, and
 * the expectations files (--expect, --write-expect), which decide the exit
 * code: pass while exactly the known failures fail, newly passing ones
 * reported as fixed, a new failure a failure.
 */
#include "suite-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

int suite__expect_open(suite_t *su)
{
  const char *path = su->opts->expect, *cov = su->opts->coverage;
  char *why = NULL;
  struct stat st;
  int rc;

  errno = 0;
  /* a rules file that cannot be read is said before hours of running */
  if (su->opts->matrix && cov != NULL && strcmp(cov, "none") != 0 &&
      (stat(cov, &st) != 0 || !S_ISREG(st.st_mode) ||
       access(cov, R_OK) != 0)) {
    fprintf(stderr, "clustersim: --coverage %s: %s\n", cov,
            errno != 0 ? uv_strerror(-errno) : "not a file");
    return BASE_EXIT_USAGE;
  }
  if (path == NULL)
    return BASE_EXIT_PASS;
  rc = report_expect_read(path, &su->expect, &why);
  if (rc == 0)
    return BASE_EXIT_PASS;
  fprintf(stderr, "clustersim: --expect %s: %s\n", path,
          why != NULL ? why : uv_strerror(rc));
  free(why);
  return BASE_EXIT_USAGE;
}

/* Where the rules come from: --coverage, else docs/coverage.md of the
 * source tree when there is one; "none" (or no file): by tag. */
static int load_groups(suite_t *su, report_groups_t *g)
{
  const suite_opts_t *o = su->opts;
  const char *path = o->coverage;
  const char **known;
  char dflt[4096];
  size_t i;
  int rc;

  if (path == NULL) {
    snprintf(dflt, sizeof(dflt), "%s/docs/coverage.md", CLUSTERSIM_SOURCE_DIR);
    path = access(dflt, R_OK) == 0 ? dflt : "none";
  }
  if (strcmp(path, "none") == 0)
    return report_groups_by_tag(su->report, g);
  known = calloc(su->sel->n_scenarios + 1, sizeof(char *));
  if (known == NULL)
    return UV_ENOMEM;
  for (i = 0; i < su->sel->n_scenarios; i++)
    known[i] = su->sel->scenarios[i]->name;
  rc = report_groups_read(path, known, g);
  free(known);
  if (rc != 0) {
    fprintf(stderr, "clustersim: --coverage %s: %s\n", path, uv_strerror(rc));
    return rc;
  }
  if (g->n_areas == 0) {
    fprintf(stderr, "clustersim: %s names no scenario of the run in a "
            "table: rows grouped by tag\n", path);
    report_groups_free(g);
    return report_groups_by_tag(su->report, g);
  }
  return 0;
}

static bool matrix(suite_t *su)
{
  const suite_opts_t *o = su->opts;
  report_matrix_opts_t mo = {0};
  report_groups_t g;
  char *sum;
  int rc;

  if ((rc = load_groups(su, &g)) != 0)
    return false;
  mo.groups = &g;
  mo.markdown = o->markdown;
  mo.html = o->matrix_html;
  mo.json = o->json;
  mo.timelines = o->html;
  rc = report_matrix_write(su->report, &mo);
  if (rc != 0)
    suite__cannot_write("the matrix", o->matrix_html ? o->matrix_html
                        : o->markdown ? o->markdown : o->json, rc);
  sum = report_matrix_summary(su->report, &g);
  if (sum != NULL)
    fprintf(o->tap ? stderr : stdout, "clustersim: matrix, %s%s",
            g.source ? "rules of " : "scenarios by tag",
            g.source ? g.source : "");
  if (sum != NULL)
    fprintf(o->tap ? stderr : stdout, "\n%s", sum);
  free(sum);
  report_groups_free(&g);
  return rc == 0;
}

static void print_list(FILE *f, const char *what, char **l, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    char *e = base_text_escape(l[i]);
    fprintf(f, "  %s: %s\n", what, e ? e : "?");
    free(e);
  }
}

/* The run against --expect; the exit code the comparison gives. */
static int compare(suite_t *su, int code)
{
  FILE *f = su->opts->tap ? stderr : stdout;
  report_expect_result_t res;

  if (report_expect_compare(su->report, su->expect, &res) != 0)
    return BASE_EXIT_INTERNAL;
  fprintf(f, "clustersim: expectations %s: %zu known failure%s, %zu fixed, "
          "%zu new failure%s\n", su->opts->expect, res.n_known,
          res.n_known == 1 ? "" : "s", res.n_fixed, res.n_fresh,
          res.n_fresh == 1 ? "" : "s");
  if (!su->opts->quiet)
    print_list(f, "known", res.known, res.n_known);
  print_list(f, "fixed (now passes; remove it from the file)", res.fixed,
             res.n_fixed);
  print_list(f, "new failure", res.fresh, res.n_fresh);
  if (res.fresh_errors > 0 || su->sel->invalid > 0)
    code = BASE_EXIT_SCENARIO;
  else if (res.n_fresh > 0)
    code = BASE_EXIT_FAIL;
  else if (code != BASE_EXIT_INCONCLUSIVE)
    code = BASE_EXIT_PASS;
  report_expect_result_free(&res);
  return code;
}

int suite__after(suite_t *su, int code)
{
  const suite_opts_t *o = su->opts;
  int rc;

  if (code == BASE_EXIT_INTERRUPTED || code == BASE_EXIT_INTERNAL)
    return code;
  if (o->matrix && !matrix(su))
    return BASE_EXIT_INTERNAL;
  if (o->write_expect != NULL) {
    if ((rc = report_expect_write(su->report, o->write_expect)) != 0) {
      suite__cannot_write("--write-expect", o->write_expect, rc);
      return BASE_EXIT_INTERNAL;
    }
    fprintf(o->tap ? stderr : stdout, "clustersim: the run's failures are "
            "recorded in %s\n", o->write_expect);
  }
  if (su->expect != NULL)
    return compare(su, code);
  if (o->write_expect != NULL)
    return su->sel->invalid > 0 ? BASE_EXIT_SCENARIO : BASE_EXIT_PASS;
  return code;
}
