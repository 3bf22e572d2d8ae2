/*
 * cli-suite.c - `clustersim run|check|list|diff`: their one table of
 * options, their defaults, and what they print of a selection. Running it
 * is harness/suite/'s.
 */
#include "cli-internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "suite.h"

/* The options of the four commands: what suite_opts_t says, and the two
 * that only the command line knows. */
typedef struct {
  suite_opts_t run;
  const char *trace;      /* check --trace FILE */
  const char *clustersim; /* --clustersim PATH */
} suite_args_t;

#define A suite_args_t
/* What every command of the suite reads: the selection and the running. */
#define SUITE_RUN_OPTIONS                                                     \
  CLI_SECTION("Selection"),                                                   \
  CLI_LIST(A, run.filters, run.n_filters, "filter", "GLOB",                   \
           "only scenarios whose name matches GLOB (repeatable:\n"            \
           "any of them)"),                                                   \
  CLI_LIST(A, run.tags, run.n_tags, "tag", "TAG",                             \
           "only scenarios tagged TAG (repeatable: any of them)"),            \
  CLI_SHARD(A, run.shard_i, run.shard_n, "shard", "I/N",                      \
            "I/N with 1 <= I <= N",                                           \
            "the I-th of N slices of the sorted selection (1-based)"),        \
  CLI_SECTION("Running"),                                                     \
  CLI_LIST(A, run.targets, run.n_targets, "target", "T",                      \
           "builtin (default), node, node:PATH, node-c, c-node\n"             \
           "or exec:CMD; repeatable: every scenario runs on\n"                \
           "every target"),                                                   \
  CLI_STRING(A, run.runtime, 0, "runtime", "PATH",                            \
             "the node binary of node, node-c and c-node\n"                   \
             "(default: node)"),                                              \
  CLI_LIST(A, run.runtime_args, run.n_runtime_args, "runtime-arg", "ARG",     \
           "give ARG to that runtime, before the agent's script\n"            \
           "(repeatable; node, node-c, c-node; e.g.\n"                        \
           "--runtime-arg=--max-old-space-size=512)"),                        \
  CLI_STRING(A, clustersim, 0, "clustersim", "PATH",                          \
             "the clustersim binary of the builtin agents\n"                  \
             "(default: this program, or $CLUSTERSIM_BIN)"),                  \
  CLI_UINT(A, run.jobs, 'j', "jobs", "N", 1, 64, "1 to 64",                   \
           "runs in parallel (default 1)"),                                   \
  CLI_UINT(A, run.repeat, 0, "repeat", "N", 1, 100000, "1 to 100000",         \
           "run every scenario N times; every attempt is kept"),              \
  CLI_U64(A, run.seed, run.seed_set, "seed", "S", "an unsigned integer",      \
          "the base seed (default: random; always printed)"),                 \
  CLI_DOUBLE(A, run.time_scale, "time-scale", "F", 0.1, 100.0, "0.1 to 100",  \
             "multiply every deadline by F (slow machines)"),                 \
  CLI_STRING(A, run.trace_dir, 0, "trace-dir", "DIR",                         \
             "write one JSON-lines trace per run into DIR")

/* Known failures: run and matrix. */
#define SUITE_EXPECT_OPTIONS                                                  \
  CLI_SECTION("Known failures"),                                              \
  CLI_STRING(A, run.expect, 0, "expect", "FILE",                              \
             "the failures FILE lists are known: pass when exactly\n"         \
             "those fail; newly passing ones are reported as fixed,\n"        \
             "new failures fail (docs/reimplementers.md)"),                   \
  CLI_STRING(A, run.write_expect, 0, "write-expect", "FILE",                  \
             "record the run's failures in FILE (the run then\n"              \
             "passes: they are known)")

#define SUITE_REPORT_OPTIONS                                                  \
  CLI_STRING(A, run.junit, 0, "junit", "FILE",                                \
             "JUnit XML (one testcase per scenario per target)"),             \
  CLI_FLAG(A, run.junit_strict, 0, "junit-strict",                            \
           "JUnit exactly as Jenkins' junit-10.xsd (no testcase\n"            \
           "file/line attributes, no testcase properties)"),                  \
  CLI_FLAG(A, run.tap, 0, "tap",                                              \
           "TAP 14 on stdout instead of the terminal view")

static const cli_option_t suite_options[] = {
  SUITE_RUN_OPTIONS,
  CLI_FLAG(A, run.diff, 0, "diff",
           "run: compare every target with the first (as diff)"),
  CLI_STRING(A, trace, 0, "trace", "FILE",
             "check: run the oracle and the scenario's expectations\n"
             "on a recorded trace instead of running (one scenario)"),
  SUITE_EXPECT_OPTIONS,
  CLI_SECTION("Reports"),
  SUITE_REPORT_OPTIONS,
  CLI_STRING(A, run.html, 0, "html", "FILE",
             "a self-contained HTML report with timelines"),
  CLI_FLAG(A, run.quiet, 'q', "quiet", "only the summary"),
  CLI_HELP,
};

static const cli_option_t matrix_options[] = {
  SUITE_RUN_OPTIONS,
  SUITE_EXPECT_OPTIONS,
  CLI_SECTION("The matrix"),
  CLI_STRING(A, run.coverage, 0, "coverage", "FILE",
             "the rules: a Markdown file whose tables name\n"
             "scenarios in code spans (default: docs/coverage.md\n"
             "of the source tree if it exists; 'none': by tag)"),
  CLI_STRING(A, run.markdown, 0, "markdown", "FILE",
             "the matrix in Markdown (a README, a PR comment)"),
  CLI_STRING(A, run.matrix_html, 0, "html", "FILE",
             "the matrix as a self-contained, filterable page"),
  CLI_STRING(A, run.json, 0, "json", "FILE", "the matrix in JSON"),
  CLI_STRING(A, run.html, 0, "timelines", "FILE",
             "the run's HTML report with timelines, which the\n"
             "page's cells link to"),
  CLI_SECTION("Reports"),
  SUITE_REPORT_OPTIONS,
  CLI_FLAG(A, run.quiet, 'q', "quiet", "only the summary"),
  CLI_HELP,
};
#undef A

static const cli_exit_t suite_exits[] = {
  {BASE_EXIT_PASS, "every run passed (or was skipped)"},
  {BASE_EXIT_FAIL, "a run failed (an expectation or invariant broke, or it "
                   "timed out),\nor diff found a worker whose events differ"},
  {BASE_EXIT_INCONCLUSIVE, "no failure, but a run was inconclusive"},
  {BASE_EXIT_SCENARIO, "a scenario is invalid, or a run could not be "
                       "carried out"},
  {BASE_EXIT_INTERNAL, "internal error of the harness"},
  {BASE_EXIT_USAGE, "bad command line"},
  {BASE_EXIT_INTERRUPTED, "interrupted by SIGINT or SIGTERM (every process "
                          "was reaped)"},
};

static const char suite_usage[] =
    "usage: clustersim run   [options] [PATH...]\n"
    "       clustersim check [options] [PATH...]\n"
    "       clustersim list  [options] [PATH...]\n"
    "       clustersim diff  [options] [PATH...]\n"
    "       clustersim diff  TRACE_A.jsonl TRACE_B.jsonl\n";

static const char suite_about[] =
    "Runs YAML scenarios (docs/scenarios.md) against a cluster target, checks\n"
    "them without running, or lists them. PATH is a scenario file or a folder\n"
    "searched for *.yaml and *.yml; the default is scenarios/.\n"
    "\n"
    "diff runs every scenario on two targets or more (default: builtin and\n"
    "node) and shows, per worker, the first event where a target's trace\n"
    "leaves the first target's (pids, ports and times normalised); given two\n"
    "traces (from --trace-dir) it compares them.\n";

static const char suite_epilogue[] =
    "When several apply, the highest of 4, 3, 1, 2 wins.\n";

static int suite_main(const cli_command_t *cmd, int argc, char **argv);

#define SUITE_COMMAND(var, cmd_name, line)                                    \
  const cli_command_t var = {                                                 \
      "Scenarios", cmd_name, "[options] [PATH...]", line, suite_usage,        \
      suite_about, suite_options,                                             \
      sizeof(suite_options) / sizeof(suite_options[0]), suite_exits,          \
      sizeof(suite_exits) / sizeof(suite_exits[0]), suite_epilogue,           \
      suite_main}

SUITE_COMMAND(cli__run, "run", "run scenarios against a target");
SUITE_COMMAND(cli__check, "check", "validate scenarios without running them");
SUITE_COMMAND(cli__list, "list", "list scenarios");
const cli_command_t cli__matrix = {
    "Scenarios", "matrix", "[options] [PATH...]",
    "run scenarios on every target and write a\n"
    "compatibility matrix (rules by targets)",
    "usage: clustersim matrix --target A --target B ... [options] "
    "[PATH...]\n",
    "Runs every scenario on every target, as run does, then lays the results\n"
    "out as a compatibility matrix: rows are the rules the scenarios pin\n"
    "(grouped by area, from --coverage), columns the targets with the\n"
    "runtime and version their agent named, cells pass, fail with the first\n"
    "finding, skip with its reason, or diverges. A per-area summary per\n"
    "target is printed and heads every file.\n",
    matrix_options, sizeof(matrix_options) / sizeof(matrix_options[0]),
    suite_exits, sizeof(suite_exits) / sizeof(suite_exits[0]),
    suite_epilogue, suite_main};
SUITE_COMMAND(cli__diff, "diff",
              "run scenarios on two targets and compare them\n"
              "worker by worker (or: diff A.jsonl B.jsonl)");

/* ---------------------------------------------------------------------- */
/* Printing a selection                                                    */

/* The byte where character `col` (1-based) of a line starts. */
static size_t col_offset(const char *line, unsigned col)
{
  size_t i = 0;
  unsigned c = 1;

  for (; line[i] != '\0' && c < col; c++)
    for (i++; ((unsigned char)line[i] & 0xc0) == 0x80; i++)
      ;
  return i;
}

/* The characters of an escaped text, for the caret's column. */
static unsigned width(const char *s)
{
  unsigned w = 0;

  for (; *s; s++)
    w += ((unsigned char)*s & 0xc0) != 0x80;
  return w;
}

/* Line `l` of `file`, escaped as base_text_escape does, with a caret under
 * its character `c`. */
static void show_line(const char *file, unsigned l, unsigned c)
{
  char buf[4096], *line = NULL, *head = NULL;
  unsigned i;
  FILE *f = fopen(file, "r");

  if (f == NULL)
    return;
  for (i = 1; fgets(buf, sizeof(buf), f) != NULL; i++)
    if (i == l) {
      buf[strcspn(buf, "\r\n")] = '\0';
      line = base_text_escape(buf);
      buf[col_offset(buf, c)] = '\0';
      head = base_text_escape(buf);
      break;
    }
  fclose(f);
  if (line != NULL && head != NULL)
    fprintf(stderr, "%5u | %s\n      | %*s^\n", l, line, (int)width(head),
            "");
  free(line);
  free(head);
}

/* "FILE:L:C: error: ..." -> line L of FILE, with a caret under column C. */
static void show_source(const char *line_text)
{
  char file[4096];
  const char *p = strstr(line_text, ": error: ");
  const char *q;
  unsigned l, c;

  if (p == NULL)
    return;
  /* walk back over ":L:C" */
  for (q = p; q > line_text && q[-1] != ':'; q--)
    ;
  if (q == line_text || sscanf(q, "%u", &c) != 1)
    return;
  for (q--; q > line_text && q[-1] != ':'; q--)
    ;
  if (q == line_text || sscanf(q, "%u", &l) != 1 || l == 0 ||
      (size_t)(q - 1 - line_text) >= sizeof(file))
    return;
  memcpy(file, line_text, (size_t)(q - 1 - line_text));
  file[q - 1 - line_text] = '\0';
  show_line(file, l, c);
}

/* What a file says goes to a terminal escaped: control characters, ESC
 * and bidirectional overrides are shown, not obeyed. */
static void print_safe(FILE *f, const char *fmt, const char *s)
{
  char *e = base_text_escape(s);

  fprintf(f, fmt, e ? e : "?");
  free(e);
}

static void print_diag(const base_diag_t *d)
{
  size_t i;

  for (i = 0; i < d->count; i++) {
    print_safe(stderr, "%s\n", d->lines[i]);
    show_source(d->lines[i]);
  }
}

static int list_selection(const suite_selection_t *sel)
{
  size_t i, j;

  for (i = 0; i < sel->n_scenarios; i++) {
    const scenario_t *s = sel->scenarios[i];
    char *name = base_text_escape(s->name);
    printf("%-40s ", name ? name : "?");
    free(name);
    print_safe(stdout, "%s", s->file);
    if (s->n_tags > 0) {
      printf("  [");
      for (j = 0; j < s->n_tags; j++)
        print_safe(stdout, j ? ", %s" : "%s", s->tags[j]);
      printf("]");
    }
    if (s->skip != NULL)
      print_safe(stdout, "  (skip: %s)", s->skip);
    printf("\n");
  }
  return sel->invalid > 0 ? BASE_EXIT_SCENARIO : BASE_EXIT_PASS;
}

static int check_selection(const suite_args_t *a,
                           const suite_selection_t *sel)
{
  if (a->trace != NULL)
    return suite_check_trace(sel, a->trace, a->run.quiet);
  if (!a->run.quiet)
    printf("%zu scenario%s valid, %u invalid\n", sel->n_scenarios,
           sel->n_scenarios == 1 ? "" : "s", sel->invalid);
  return sel->invalid > 0 ? BASE_EXIT_SCENARIO : BASE_EXIT_PASS;
}

/* ---------------------------------------------------------------------- */
/* The command line                                                        */

static bool is_scenario_file(const char *path)
{
  const char *base = strrchr(path, '/');
  size_t n;

  base = base ? base + 1 : path;
  n = strlen(base);
  return base[0] != '.' &&
         ((n > 5 && strcmp(base + n - 5, ".yaml") == 0) ||
          (n > 4 && strcmp(base + n - 4, ".yml") == 0));
}

/* `diff A B` compares two traces: files that are not scenarios (a missing
 * one too: reading it gives the error). */
static bool is_trace_file(const char *path)
{
  struct stat st;

  return !(stat(path, &st) == 0 && S_ISDIR(st.st_mode)) &&
         !is_scenario_file(path);
}

/* scenarios/ of the working directory, else of the source tree. */
static char *default_path(void)
{
  struct stat st;
  char *src;

  if (stat("scenarios", &st) == 0)
    return strdup("scenarios");
  src = base_asprintf("%s/scenarios", CLUSTERSIM_SOURCE_DIR);
  if (src != NULL && stat(src, &st) != 0) {
    free(src);
    return strdup("scenarios");
  }
  return src;
}

/* What the command line left out, and what it may not combine. `diff` is
 * `run --diff`, by default the C cluster against Node. */
static int complete(const cli_command_t *cmd, suite_args_t *a,
                    char **dflt_path)
{
  suite_opts_t *o = &a->run;

  if (cmd == &cli__diff) {
    o->diff = true;
    if (o->n_targets == 0 && (cli__push(&o->targets, &o->n_targets,
                                        "builtin") != 0 ||
                              cli__push(&o->targets, &o->n_targets,
                                        "node") != 0))
      return BASE_EXIT_INTERNAL;
  }
  if (o->diff && ((cmd != &cli__run && cmd != &cli__diff) ||
                  o->n_targets < 2))
    return cli__usage_error(cmd, "--diff compares targets: give two "
                                 "--target or more");
  if (o->n_paths == 0 &&
      ((*dflt_path = default_path()) == NULL ||
       cli__push(&o->paths, &o->n_paths, *dflt_path) != 0))
    return BASE_EXIT_INTERNAL;
  if (o->n_targets == 0 &&
      cli__push(&o->targets, &o->n_targets, "builtin") != 0)
    return BASE_EXIT_INTERNAL;
  if ((o->expect != NULL || o->write_expect != NULL) && cmd != &cli__run &&
      cmd != &cli__matrix)
    return cli__usage_error(cmd, "--expect and --write-expect belong to "
                                 "`clustersim run` and `clustersim matrix`");
  o->matrix = cmd == &cli__matrix;
  if (a->trace != NULL && cmd != &cli__check)
    return cli__usage_error(cmd, "--trace '%s' belongs to `clustersim check`",
                            a->trace);
  return CLI__GO_ON;
}

/* Selects, then lists, checks or runs. */
static int select_and_go(const cli_command_t *cmd, const suite_args_t *a)
{
  suite_selection_t sel;
  base_diag_t diag;
  int ret;

  base_diag_init(&diag);
  ret = suite_select(&a->run, &sel, &diag) == 0 ? CLI__GO_ON
                                                 : BASE_EXIT_INTERNAL;
  print_diag(&diag);
  base_diag_free(&diag);
  if (ret == CLI__GO_ON && cmd == &cli__list)
    ret = list_selection(&sel);
  else if (ret == CLI__GO_ON && cmd == &cli__check)
    ret = check_selection(a, &sel);
  else if (ret == CLI__GO_ON)
    ret = suite_run(&a->run, &sel);
  suite_selection_free(&sel);
  return ret;
}

static int suite_main(const cli_command_t *cmd, int argc, char **argv)
{
  suite_args_t a;
  char *line = cli__command_line(argc, argv), *self = NULL, *dflt = NULL;
  int i, first, ret;

  memset(&a, 0, sizeof(a));
  a.run.jobs = 1;
  a.run.repeat = 1;
  a.run.time_scale = 1.0;
  a.run.command_line = line;
  ret = cli__parse(cmd, argc, argv, &a, &first);
  for (i = first; i < argc && ret == CLI__GO_ON; i++)
    if (cli__push(&a.run.paths, &a.run.n_paths, argv[i]) != 0)
      ret = BASE_EXIT_INTERNAL;
  if (ret == CLI__GO_ON && cmd == &cli__diff && a.run.n_paths == 2 &&
      is_trace_file(a.run.paths[0]) && is_trace_file(a.run.paths[1]))
    ret = suite_diff_traces(a.run.paths[0], a.run.paths[1], a.run.quiet);
  if (ret == CLI__GO_ON)
    ret = complete(cmd, &a, &dflt);
  if (ret == CLI__GO_ON)
    ret = (a.run.self = self = cli__find_self(a.clustersim)) == NULL
              ? BASE_EXIT_INTERNAL
              : select_and_go(cmd, &a);
  cli__free(cmd, &a);
  free(a.run.paths);
  free(line);
  free(self);
  free(dflt);
  fflush(stdout);
  return ret;
}
