/*
 * report-tool.c - the reports tests' helper program:
 *   report-tool gen DIR          every fixture as DIR/NAME.xml (default
 *                                dialect), DIR/NAME.strict.xml, NAME.html,
 *                                and DIR/scale.html (a 1000-worker run)
 *   report-tool tap NAME JUNIT   NAME as TAP 14 on stdout, JUnit to JUNIT
 *   report-tool tap13 NAME JUNIT the same, declared as TAP version 13
 *   report-tool term NAME        NAME through the terminal view (plain)
 *   report-tool report ...       cli_run (`clustersim report`)
 * The "interrupted" fixture is written from a uv_signal_t callback after
 * the tool sends itself SIGTERM, the way the harness's shutdown path does.
 */
#include "fixtures.h"
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  const char *dir;
  const char *name;
  int rc;
} gen_t;

static int write_all(const char *dir, const char *name, report_t *def,
                     report_t *strict)
{
  char path[4096];
  int rc;

  snprintf(path, sizeof(path), "%s/%s.xml", dir, name);
  if ((rc = report_junit_write(def, path)))
    return rc;
  snprintf(path, sizeof(path), "%s/%s.strict.xml", dir, name);
  if ((rc = report_junit_write(strict, path)))
    return rc;
  snprintf(path, sizeof(path), "%s/%s.html", dir, name);
  return report_html_write(def, path);
}

static int gen_one(const char *dir, const char *name)
{
  report_t *def = NULL, *strict = NULL;
  int rc;

  if ((rc = fixture_build(name, false, NULL, &def)) ||
      (rc = fixture_build(name, true, NULL, &strict)))
    goto out;
  rc = write_all(dir, name, def, strict);
out:
  report_free(def);
  report_free(strict);
  return rc;
}

static void on_sigterm(uv_signal_t *s, int signum)
{
  gen_t *g = s->data;
  report_t *def = NULL, *strict = NULL;

  (void)signum;
  if ((g->rc = fixture_build(g->name, false, NULL, &def)) ||
      (g->rc = fixture_build(g->name, true, NULL, &strict)) ||
      (g->rc = report_interrupt(def, "interrupted by SIGTERM")) ||
      (g->rc = report_interrupt(strict, "interrupted by SIGTERM")))
    goto out;
  g->rc = write_all(g->dir, g->name, def, strict);
out:
  report_free(def);
  report_free(strict);
  uv_close((uv_handle_t *)s, NULL);
}

static int gen_interrupted(const char *dir)
{
  uv_loop_t loop;
  uv_signal_t sig;
  gen_t g = {dir, "interrupted", UV_ECANCELED};
  int rc;

  if ((rc = uv_loop_init(&loop)))
    return rc;
  if ((rc = uv_signal_init(&loop, &sig)))
    goto out;
  sig.data = &g;
  if ((rc = uv_signal_start_oneshot(&sig, on_sigterm, SIGTERM)) ||
      (rc = uv_kill(getpid(), SIGTERM))) {
    uv_close((uv_handle_t *)&sig, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    goto out;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  rc = g.rc;
out:
  uv_loop_close(&loop);
  return rc;
}

/* DIR/scale.html: 1000 workers, worker 777 failing (a density). */
static int gen_scale(const char *dir)
{
  char path[4096];
  report_t *r = NULL;
  int rc;

  snprintf(path, sizeof(path), "%s/scale.html", dir);
  if ((rc = fixture_scale(1000, 777, &r)) == 0)
    rc = report_html_write(r, path);
  report_free(r);
  if (rc)
    fprintf(stderr, "report-tool: scale: %s\n", uv_strerror(rc));
  return rc;
}

static int gen(const char *dir)
{
  size_t i;
  int rc;

  for (i = 0; fixture_names[i]; i++) {
    if (strcmp(fixture_names[i], "interrupted") == 0)
      rc = gen_interrupted(dir);
    else
      rc = gen_one(dir, fixture_names[i]);
    if (rc) {
      fprintf(stderr, "report-tool: %s: %s\n", fixture_names[i],
              uv_strerror(rc));
      return rc;
    }
  }
  return gen_scale(dir);
}

static int tap(const char *name, const char *junit, unsigned flags)
{
  report_tap_t *t = NULL;
  report_t *r = NULL;
  int rc;

  if ((rc = report_tap_new(&t, stdout, 0, flags)) ||
      (rc = fixture_build(name, false, t, &r)) ||
      (rc = report_tap_end(t)))
    goto out;
  rc = report_junit_write(r, junit);
out:
  report_tap_free(t);
  report_free(r);
  return rc;
}

static int term(const char *name)
{
  report_term_t *t = NULL;
  report_t *r = NULL;
  uint64_t now = 0;
  int rc;

  if ((rc = fixture_build(name, false, NULL, &r)) ||
      (rc = report_term_new(&t, stdout, 0, REPORT_TERM_PLAIN, now)))
    goto out;
  rc = report_term_summary(t, r, 12345000000ull);
out:
  report_term_free(t);
  report_free(r);
  return rc;
}

int main(int argc, char **argv)
{
  int rc;

  if (argc >= 2 && strcmp(argv[1], "report") == 0)
    return cli_run(argc - 1, argv + 1);
  if (argc == 3 && strcmp(argv[1], "gen") == 0)
    rc = gen(argv[2]);
  else if (argc == 4 && strcmp(argv[1], "tap") == 0)
    rc = tap(argv[2], argv[3], 0);
  else if (argc == 4 && strcmp(argv[1], "tap13") == 0)
    rc = tap(argv[2], argv[3], REPORT_TAP_V13);
  else if (argc == 3 && strcmp(argv[1], "term") == 0)
    rc = term(argv[2]);
  else {
    fputs("usage: report-tool gen DIR | tap|tap13 NAME JUNIT | term NAME | "
          "report ...\n", stderr);
    return 99;
  }
  if (rc)
    fprintf(stderr, "report-tool: %s\n", uv_strerror(rc));
  return rc ? 99 : 0;
}
