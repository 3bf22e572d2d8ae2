/*
 * `clustersim run|check|list`: command line, scenario discovery and
 * selection. Running the selected scenarios is suite.c.
 */
#include "suite.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static const char usage_text[] =
"usage: clustersim run   [options] [PATH...]\n"
"       clustersim check [options] [PATH...]\n"
"       clustersim list  [options] [PATH...]\n"
"       clustersim diff  [options] [PATH...]\n"
"       clustersim diff  TRACE_A.jsonl TRACE_B.jsonl\n"
"\n"
"Runs YAML scenarios (docs/scenarios.md) against a cluster target, checks\n"
"them without running, or lists them. PATH is a scenario file or a folder\n"
"searched for *.yaml and *.yml; the default is scenarios/.\n"
"\n"
"diff runs every scenario on two targets or more (default: builtin and\n"
"node) and shows, per worker, the first event where a target's trace\n"
"leaves the first target's (pids, ports and times normalised); given two\n"
"traces (from --trace-dir) it compares them.\n"
"\n"
"Selection:\n"
"  --filter GLOB      only scenarios whose name matches GLOB (repeatable:\n"
"                     any of them)\n"
"  --tag TAG          only scenarios tagged TAG (repeatable: any of them)\n"
"  --shard I/N        the I-th of N slices of the sorted selection (1-based)\n"
"\n"
"Running:\n"
"  --target T         builtin (default), node, node:PATH, node-c, c-node\n"
"                     or exec:CMD; repeatable: every scenario runs on\n"
"                     every target\n"
"  --runtime PATH     the node binary of node, node-c and c-node\n"
"                     (default: node)\n"
"  --diff             run: compare every target with the first (as diff)\n"
"  --clustersim PATH  the clustersim binary of the builtin agents\n"
"                     (default: this program, or $CLUSTERSIM_BIN)\n"
"  -j, --jobs N       runs in parallel (default 1)\n"
"  --repeat N         run every scenario N times; every attempt is kept\n"
"  --seed S           the base seed (default: random; always printed)\n"
"  --time-scale F     multiply every deadline by F (slow machines)\n"
"  --trace-dir DIR    write one JSON-lines trace per run into DIR\n"
"  --trace FILE       check: run the oracle and the scenario's expectations\n"
"                     on a recorded trace instead of running (one scenario)\n"
"\n"
"Reports:\n"
"  --junit FILE       JUnit XML (one testcase per scenario per target)\n"
"  --junit-strict     JUnit exactly as Jenkins' junit-10.xsd (no testcase\n"
"                     file/line attributes, no testcase properties)\n"
"  --tap              TAP 14 on stdout instead of the terminal view\n"
"  --html FILE        a self-contained HTML report with timelines\n"
"  -q, --quiet        only the summary\n"
"\n"
"Exit codes:\n"
"  0    every run passed (or was skipped)\n"
"  1    a run failed (an expectation or invariant broke, or it timed out),\n"
"       or diff found a worker whose events differ\n"
"  2    no failure, but a run was inconclusive\n"
"  3    a scenario is invalid, or a run could not be carried out\n"
"  4    internal error of the harness\n"
"  64   bad command line\n"
"  130  interrupted by SIGINT or SIGTERM (every process was reaped)\n"
"When several apply, the highest of 4, 3, 1, 2 wins.\n";

enum {
  OPT_FILTER = 256,
  OPT_TAG,
  OPT_SHARD,
  OPT_TARGET,
  OPT_RUNTIME,
  OPT_CLUSTERSIM,
  OPT_REPEAT,
  OPT_SEED,
  OPT_TIME_SCALE,
  OPT_TRACE_DIR,
  OPT_TRACE,
  OPT_JUNIT,
  OPT_JUNIT_STRICT,
  OPT_TAP,
  OPT_HTML,
  OPT_DIFF,
  OPT_HELP
};

static const struct option long_opts[] = {
  {"filter", required_argument, NULL, OPT_FILTER},
  {"tag", required_argument, NULL, OPT_TAG},
  {"shard", required_argument, NULL, OPT_SHARD},
  {"target", required_argument, NULL, OPT_TARGET},
  {"runtime", required_argument, NULL, OPT_RUNTIME},
  {"clustersim", required_argument, NULL, OPT_CLUSTERSIM},
  {"jobs", required_argument, NULL, 'j'},
  {"repeat", required_argument, NULL, OPT_REPEAT},
  {"seed", required_argument, NULL, OPT_SEED},
  {"time-scale", required_argument, NULL, OPT_TIME_SCALE},
  {"trace-dir", required_argument, NULL, OPT_TRACE_DIR},
  {"trace", required_argument, NULL, OPT_TRACE},
  {"junit", required_argument, NULL, OPT_JUNIT},
  {"junit-strict", no_argument, NULL, OPT_JUNIT_STRICT},
  {"tap", no_argument, NULL, OPT_TAP},
  {"html", required_argument, NULL, OPT_HTML},
  {"diff", no_argument, NULL, OPT_DIFF},
  {"quiet", no_argument, NULL, 'q'},
  {"help", no_argument, NULL, OPT_HELP},
  {NULL, 0, NULL, 0},
};

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

static int usage_error(const char *fmt, const char *arg)
{
  fprintf(stderr, "clustersim: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nTry 'clustersim run --help'.\n");
  return BASE_EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t *out)
{
  char *end;
  unsigned long long v;

  if (s == NULL || *s == '\0' || *s == '-')
    return false;
  errno = 0;
  v = strtoull(s, &end, 0);
  if (errno != 0 || *end != '\0')
    return false;
  *out = v;
  return true;
}

/* ---------------------------------------------------------------------- */
/* Discovery                                                               */

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

/* `diff A B` compares two traces: files that are not scenarios. */
static bool is_trace_file(const char *path)
{
  struct stat st;
  const char *base = strrchr(path, '/');

  /* a missing one too: reading it gives the error */
  return !(stat(path, &st) == 0 && S_ISDIR(st.st_mode)) &&
         !is_scenario_name(base ? base + 1 : path);
}

/* Folders are searched recursively, to a bounded depth and count. */
static int scan(const char *path, int depth, char ***files, size_t *n,
                base_diag_t *diag)
{
  struct stat st;
  DIR *d;
  struct dirent *de;
  char **names = NULL;
  size_t nn = 0, i;
  int rc = 0;

  if (stat(path, &st) != 0) {
    base_diag_addf(diag, "%s: error: %s", path, strerror(errno));
    return UV_ENOENT;
  }
  if (!S_ISDIR(st.st_mode))
    return push(files, n, path);
  if (depth > 8 || *n > 100000)
    return 0;
  d = opendir(path);
  if (d == NULL) {
    base_diag_addf(diag, "%s: error: %s", path, strerror(errno));
    return UV_EIO;
  }
  while ((de = readdir(d)) != NULL) {
    char *full;
    struct stat cst;
    if (de->d_name[0] == '.')
      continue;
    full = base_asprintf("%s/%s", path, de->d_name);
    if (full == NULL) {
      rc = UV_ENOMEM;
      break;
    }
    if (stat(full, &cst) == 0 &&
        (S_ISDIR(cst.st_mode) || is_scenario_name(de->d_name)))
      rc = push(&names, &nn, full);
    free(full);
    if (rc != 0)
      break;
  }
  closedir(d);
  if (nn > 0)
    qsort(names, nn, sizeof(char *), cmp_str);
  for (i = 0; i < nn && rc == 0; i++) {
    struct stat cst;
    if (stat(names[i], &cst) == 0 && S_ISDIR(cst.st_mode))
      rc = scan(names[i], depth + 1, files, n, diag);
    else
      rc = push(files, n, names[i]);
  }
  free_list(names, nn);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Showing a scenario error with its source line                           */

static void show_source(const char *line_text)
{
  /* "file:L:C: error: ..." -> print line L of file with a caret at C */
  char file[4096];
  unsigned l, c;
  const char *p = strstr(line_text, ": error: ");
  const char *q;
  FILE *f;
  char buf[1024];
  unsigned i;

  if (p == NULL)
    return;
  /* walk back over ":L:C" */
  q = p;
  while (q > line_text && q[-1] != ':')
    q--;
  if (q == line_text || sscanf(q, "%u", &c) != 1)
    return;
  q--;
  while (q > line_text && q[-1] != ':')
    q--;
  if (q == line_text || sscanf(q, "%u", &l) != 1 || l == 0)
    return;
  if ((size_t)(q - 1 - line_text) >= sizeof(file))
    return;
  memcpy(file, line_text, (size_t)(q - 1 - line_text));
  file[q - 1 - line_text] = '\0';
  f = fopen(file, "r");
  if (f == NULL)
    return;
  for (i = 1; fgets(buf, sizeof(buf), f) != NULL; i++) {
    if (i == l) {
      size_t len = strcspn(buf, "\r\n");
      buf[len] = '\0';
      fprintf(stderr, "%5u | %s\n      | %*s^\n", l, buf,
              c > 1 ? (int)c - 1 : 0, "");
      break;
    }
  }
  fclose(f);
}

static void print_diag(const base_diag_t *d)
{
  size_t i;

  for (i = 0; i < d->count; i++) {
    fprintf(stderr, "%s\n", d->lines[i]);
    show_source(d->lines[i]);
  }
}

/* ---------------------------------------------------------------------- */

static bool selected(const suite_cli_t *cli, const scenario_t *s)
{
  size_t i, j;
  bool ok;

  if (cli->n_filters > 0) {
    ok = false;
    for (i = 0; i < cli->n_filters && !ok; i++)
      ok = fnmatch(cli->filters[i], s->name, 0) == 0;
    if (!ok)
      return false;
  }
  if (cli->n_tags > 0) {
    ok = false;
    for (i = 0; i < cli->n_tags && !ok; i++)
      for (j = 0; j < s->n_tags && !ok; j++)
        ok = strcmp(cli->tags[i], s->tags[j]) == 0;
    if (!ok)
      return false;
  }
  return true;
}

static char **realloc_details(char **list, size_t n, char *detail)
{
  char **b = realloc(list, (n + 1) * sizeof(char *));

  if (b == NULL) {
    free(detail);
    return list;
  }
  b[n - 1] = detail;
  b[n] = NULL;
  return b;
}

/* Loads every file; invalid ones are reported and counted. The selection
 * (filter, tag, shard) applies to valid scenarios; an invalid scenario is
 * always an error, whatever the selection, so a typo cannot hide one. */
static int load_all(suite_cli_t *cli)
{
  base_diag_t diag;
  char **files = NULL;
  size_t nfiles = 0, i, kept = 0;
  int rc = 0;

  base_diag_init(&diag);
  for (i = 0; i < cli->n_paths; i++) {
    int r = scan(cli->paths[i], 0, &files, &nfiles, &diag);
    if (r == UV_ENOMEM) {
      rc = r;
      goto out;
    }
    if (r != 0)
      cli->invalid++;
  }
  cli->scenarios = calloc(nfiles + 1, sizeof(*cli->scenarios));
  if (cli->scenarios == NULL) {
    rc = UV_ENOMEM;
    goto out;
  }
  for (i = 0; i < nfiles; i++) {
    scenario_t *s = NULL;
    size_t first = diag.count;
    int r = scenario_load(files[i], &diag, &s);
    if (r == UV_ENOMEM) {
      rc = r;
      goto out;
    }
    if (r != 0) {
      /* kept for the reports: an invalid scenario is an error case */
      size_t k, len = 1;
      char *detail;
      cli->invalid++;
      for (k = first; k < diag.count; k++)
        len += strlen(diag.lines[k]) + 1;
      detail = malloc(len);
      if (detail != NULL) {
        detail[0] = '\0';
        for (k = first; k < diag.count; k++) {
          strcat(detail, diag.lines[k]);
          strcat(detail, "\n");
        }
        if (push(&cli->bad_files, &cli->n_bad, files[i]) != 0) {
          free(detail);
          rc = UV_ENOMEM;
          goto out;
        }
        cli->bad_details = realloc_details(cli->bad_details, cli->n_bad,
                                           detail);
      }
      continue;
    }
    if (!selected(cli, s)) {
      scenario_free(s);
      continue;
    }
    {
      /* reports and traces are keyed by name: two of one name would
       * overwrite each other */
      size_t k;
      for (k = 0; k < cli->n_scenarios; k++)
        if (strcmp(cli->scenarios[k]->name, s->name) == 0)
          break;
      if (k < cli->n_scenarios) {
        base_diag_addf(&diag, "%s:1:1: error: the scenario name '%s' is "
                          "already used by %s", s->file, s->name,
                          cli->scenarios[k]->file);
        cli->invalid++;
        scenario_free(s);
        continue;
      }
    }
    cli->scenarios[cli->n_scenarios++] = s;
  }
  /* --shard I/N keeps every N-th scenario of the sorted selection. */
  if (cli->shard_n > 0) {
    for (i = 0; i < cli->n_scenarios; i++) {
      if (i % cli->shard_n == cli->shard_i - 1)
        cli->scenarios[kept++] = cli->scenarios[i];
      else
        scenario_free(cli->scenarios[i]);
    }
    cli->n_scenarios = kept;
  }

out:
  print_diag(&diag);
  base_diag_free(&diag);
  free_list(files, nfiles);
  return rc;
}

static int cmd_list(suite_cli_t *cli)
{
  size_t i, j;

  for (i = 0; i < cli->n_scenarios; i++) {
    const scenario_t *s = cli->scenarios[i];
    printf("%-40s %s", s->name, s->file);
    if (s->n_tags > 0) {
      printf("  [");
      for (j = 0; j < s->n_tags; j++)
        printf("%s%s", j ? ", " : "", s->tags[j]);
      printf("]");
    }
    if (s->skip != NULL)
      printf("  (skip: %s)", s->skip);
    printf("\n");
  }
  return cli->invalid > 0 ? BASE_EXIT_SCENARIO : BASE_EXIT_PASS;
}

static int cmd_check(suite_cli_t *cli)
{
  if (cli->trace_file != NULL)
    return suite_check_trace(cli);
  if (!cli->quiet)
    printf("%zu scenario%s valid, %u invalid\n", cli->n_scenarios,
           cli->n_scenarios == 1 ? "" : "s", cli->invalid);
  return cli->invalid > 0 ? BASE_EXIT_SCENARIO : BASE_EXIT_PASS;
}

static void suite_cli_free(suite_cli_t *cli)
{
  size_t i;

  for (i = 0; i < cli->n_scenarios; i++)
    scenario_free(cli->scenarios[i]);
  free(cli->scenarios);
  free_list(cli->paths, cli->n_paths);
  free_list(cli->filters, cli->n_filters);
  free_list(cli->tags, cli->n_tags);
  free_list(cli->targets, cli->n_targets);
  free(cli->self);
  free(cli->command_line);
  for (i = 0; cli->bad_details != NULL && i < cli->n_bad; i++)
    free(cli->bad_details[i]);
  free(cli->bad_details);
  free_list(cli->bad_files, cli->n_bad);
}

static char *find_self(const char *given)
{
  char buf[4096];
  size_t len = sizeof(buf);
  const char *env = getenv("CLUSTERSIM_BIN");

  if (given != NULL)
    return strdup(given);
  if (env != NULL && env[0] != '\0')
    return strdup(env);
  if (uv_exepath(buf, &len) == 0)
    return strdup(buf);
  return strdup("clustersim");
}

int suite_cli_main(int argc, char **argv)
{
  suite_cli_t cli;
  const char *clustersim = NULL;
  int c, rc, ret;
  uint64_t v;

  memset(&cli, 0, sizeof(cli));
  cli.jobs = 1;
  cli.repeat = 1;
  cli.time_scale = 1.0;
  if (argc < 1 || argv[0] == NULL) {
    fputs(usage_text, stderr);
    return BASE_EXIT_USAGE;
  }
  if (strcmp(argv[0], "run") == 0)
    cli.command = SUITE_CMD_RUN;
  else if (strcmp(argv[0], "check") == 0)
    cli.command = SUITE_CMD_CHECK;
  else if (strcmp(argv[0], "list") == 0)
    cli.command = SUITE_CMD_LIST;
  else if (strcmp(argv[0], "diff") == 0)
    cli.command = SUITE_CMD_DIFF;
  else if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
           strcmp(argv[0], "help") == 0) {
    fputs(usage_text, stdout);
    return BASE_EXIT_PASS;
  } else {
    return usage_error("unknown command '%s' (expected run, check, list or "
                       "diff)", argv[0]);
  }

  {
    size_t len = 16;
    int i;
    for (i = 0; i < argc; i++)
      len += strlen(argv[i]) + 1;
    cli.command_line = malloc(len);
    if (cli.command_line != NULL) {
      strcpy(cli.command_line, "clustersim");
      for (i = 0; i < argc; i++) {
        strcat(cli.command_line, " ");
        strcat(cli.command_line, argv[i]);
      }
    }
  }
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":j:qh", long_opts, NULL)) != -1) {
    rc = 0;
    switch (c) {
    case OPT_FILTER:
      rc = push(&cli.filters, &cli.n_filters, optarg);
      break;
    case OPT_TAG:
      rc = push(&cli.tags, &cli.n_tags, optarg);
      break;
    case OPT_SHARD:
      if (sscanf(optarg, "%u/%u", &cli.shard_i, &cli.shard_n) != 2 ||
          cli.shard_n == 0 || cli.shard_i == 0 || cli.shard_i > cli.shard_n) {
        ret = usage_error("--shard wants I/N with 1 <= I <= N, got '%s'",
                          optarg);
        goto out;
      }
      break;
    case OPT_TARGET:
      rc = push(&cli.targets, &cli.n_targets, optarg);
      break;
    case OPT_RUNTIME:
      cli.runtime = optarg;
      break;
    case OPT_CLUSTERSIM:
      clustersim = optarg;
      break;
    case 'j':
      if (!parse_u64(optarg, &v) || v < 1 || v > 64) {
        ret = usage_error("-j wants 1 to 64, got '%s'", optarg);
        goto out;
      }
      cli.jobs = (unsigned)v;
      break;
    case OPT_REPEAT:
      if (!parse_u64(optarg, &v) || v < 1 || v > 100000) {
        ret = usage_error("--repeat wants 1 to 100000, got '%s'", optarg);
        goto out;
      }
      cli.repeat = (unsigned)v;
      break;
    case OPT_SEED:
      if (!parse_u64(optarg, &cli.seed)) {
        ret = usage_error("--seed wants an unsigned integer, got '%s'",
                          optarg);
        goto out;
      }
      cli.seed_set = true;
      break;
    case OPT_TIME_SCALE: {
      char *end;
      cli.time_scale = strtod(optarg, &end);
      if (*end != '\0' || !(cli.time_scale >= 0.1 &&
                            cli.time_scale <= 100.0)) {
        ret = usage_error("--time-scale wants 0.1 to 100, got '%s'", optarg);
        goto out;
      }
      break;
    }
    case OPT_TRACE_DIR:
      cli.trace_dir = optarg;
      break;
    case OPT_TRACE:
      cli.trace_file = optarg;
      break;
    case OPT_JUNIT:
      cli.junit = optarg;
      break;
    case OPT_JUNIT_STRICT:
      cli.junit_strict = true;
      break;
    case OPT_TAP:
      cli.tap = true;
      break;
    case OPT_HTML:
      cli.html = optarg;
      break;
    case OPT_DIFF:
      cli.diff = true;
      break;
    case 'q':
      cli.quiet = true;
      break;
    case 'h':
    case OPT_HELP:
      fputs(usage_text, stdout);
      ret = BASE_EXIT_PASS;
      goto out;
    case ':':
      ret = usage_error("option '%s' needs a value", argv[optind - 1]);
      goto out;
    default:
      ret = usage_error("unknown option '%s'", argv[optind - 1]);
      goto out;
    }
    if (rc != 0) {
      ret = BASE_EXIT_INTERNAL;
      goto out;
    }
  }
  for (; optind < argc; optind++)
    if (push(&cli.paths, &cli.n_paths, argv[optind]) != 0) {
      ret = BASE_EXIT_INTERNAL;
      goto out;
    }
  if (cli.command == SUITE_CMD_DIFF && cli.n_paths == 2 &&
      is_trace_file(cli.paths[0]) && is_trace_file(cli.paths[1])) {
    ret = suite_diff_traces(cli.paths[0], cli.paths[1], cli.quiet);
    goto out;
  }
  if (cli.command == SUITE_CMD_DIFF) {
    /* the running form: `run --diff`, by default the C cluster against
     * Node */
    cli.command = SUITE_CMD_RUN;
    cli.diff = true;
    if (cli.n_targets == 0 &&
        (push(&cli.targets, &cli.n_targets, "builtin") != 0 ||
         push(&cli.targets, &cli.n_targets, "node") != 0)) {
      ret = BASE_EXIT_INTERNAL;
      goto out;
    }
  }
  if (cli.diff && (cli.command != SUITE_CMD_RUN || cli.n_targets < 2)) {
    ret = usage_error("%s compares targets: give two --target or more",
                      "--diff");
    goto out;
  }
  if (cli.n_paths == 0) {
    struct stat st;
    const char *dflt = "scenarios";
    char *src = NULL;
    if (stat(dflt, &st) != 0) {
      src = base_asprintf("%s/scenarios", CLUSTERSIM_SOURCE_DIR);
      if (src != NULL && stat(src, &st) == 0)
        dflt = src;
    }
    rc = push(&cli.paths, &cli.n_paths, dflt);
    free(src);
    if (rc != 0) {
      ret = BASE_EXIT_INTERNAL;
      goto out;
    }
  }
  if (cli.n_targets == 0 &&
      push(&cli.targets, &cli.n_targets, "builtin") != 0) {
    ret = BASE_EXIT_INTERNAL;
    goto out;
  }
  if (cli.trace_file != NULL && cli.command != SUITE_CMD_CHECK) {
    ret = usage_error("--trace '%s' belongs to `clustersim check`",
                      cli.trace_file);
    goto out;
  }
  cli.self = find_self(clustersim);
  if (cli.self == NULL) {
    ret = BASE_EXIT_INTERNAL;
    goto out;
  }

  if (load_all(&cli) != 0) {
    ret = BASE_EXIT_INTERNAL;
    goto out;
  }
  switch (cli.command) {
  case SUITE_CMD_LIST:
    ret = cmd_list(&cli);
    break;
  case SUITE_CMD_CHECK:
    ret = cmd_check(&cli);
    break;
  default:
    ret = suite_run(&cli);
    break;
  }

out:
  suite_cli_free(&cli);
  fflush(stdout);
  return ret;
}
