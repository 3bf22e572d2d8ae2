/*
 * explore.c - `clustersim explore`: the options checked, the base, the
 * targets, then the phases: schedules drawn and run within the budgets
 * (runs, wall time, findings), the findings reproduced, shrunk and
 * confirmed, and the summary, the scenarios and the report written. Every
 * phase stops on SIGINT/SIGTERM, and what was found so far is written.
 */
#include "explore-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static uint64_t random_seed(void)
{
  uint64_t s = uv_hrtime() ^ ((uint64_t)getpid() << 32);

  /* one splitmix64 round: close start times give distant seeds */
  s += 0x9E3779B97F4A7C15ull;
  s = (s ^ (s >> 30)) * 0xBF58476D1CE4E5B9ull;
  s = (s ^ (s >> 27)) * 0x94D049BB133111EBull;
  return (s ^ (s >> 31)) % 1000000000000ull;
}

/* --check NAME... into a mask; every property without one. */
static int checks_of(const explore_opts_t *o, uint64_t *mask)
{
  size_t i;

  if (o->n_checks == 0) {
    *mask = EXPLORE_PROPS_ALL;
    return 0;
  }
  *mask = 0;
  for (i = 0; i < o->n_checks; i++) {
    int p = explore_prop_find(o->checks[i]);
    if (strcmp(o->checks[i], "all") == 0) {
      *mask = EXPLORE_PROPS_ALL;
      continue;
    }
    if (p < 0) {
      fprintf(stderr, "clustersim explore: unknown property '%s' (see "
                      "`clustersim explore --list-checks`)\n", o->checks[i]);
      return BASE_EXIT_USAGE;
    }
    *mask |= EXPLORE_PROP_BIT(p);
  }
  return 0;
}

static int load_mode(const char *s, explore_load_mode_t *mode)
{
  if (s == NULL || strcmp(s, "random") == 0)
    *mode = EXPLORE_LOAD_RANDOM;
  else if (strcmp(s, "always") == 0)
    *mode = EXPLORE_LOAD_ALWAYS;
  else if (strcmp(s, "never") == 0)
    *mode = EXPLORE_LOAD_NEVER;
  else {
    fprintf(stderr, "clustersim explore: --load wants random, always or "
                    "never, got '%s'\n", s);
    return BASE_EXIT_USAGE;
  }
  return 0;
}

static int open_base(explore_t *ex)
{
  const explore_opts_t *o = ex->opts;
  base_diag_t diag;
  size_t i;
  int rc;

  base_diag_init(&diag);
  rc = o->base_file != NULL
           ? explore_base_from_file(o->base_file, &ex->base, &diag)
           : explore_base_from_flags(o->workers, o->scheduling, o->respawn,
                                     &ex->base, &diag);
  for (i = 0; i < diag.count; i++)
    fprintf(stderr, "%s\n", diag.lines[i]);
  base_diag_free(&diag);
  if (rc == UV_ENOMEM)
    return BASE_EXIT_INTERNAL;
  /* bad flags are the command line's; a bad file is a scenario's */
  return rc == 0 ? 0 : o->base_file ? BASE_EXIT_SCENARIO : BASE_EXIT_USAGE;
}

static int open_targets(explore_t *ex)
{
  const explore_opts_t *o = ex->opts;
  static const char *const dflt[] = {"builtin"};
  const char *const *specs = o->n_targets > 0 ? o->targets : dflt;
  size_t n = o->n_targets > 0 ? o->n_targets : 1, i, k;
  base_diag_t diag;
  int rc = 0;

  if (n > EXPLORE__MAX_TARGETS) {
    fprintf(stderr, "clustersim explore: at most %d targets\n",
            EXPLORE__MAX_TARGETS);
    return BASE_EXIT_USAGE;
  }
  base_diag_init(&diag);
  for (i = 0; i < n && rc == 0; i++) {
    rc = runner_target_parse(specs[i], o->self, o->runtime,
                             CLUSTERSIM_SOURCE_DIR, &ex->targets[i], &diag);
    if (rc == 0)
      ex->n_targets++;
  }
  for (k = 0; k < diag.count; k++)
    fprintf(stderr, "clustersim explore: %s\n", diag.lines[k]);
  base_diag_free(&diag);
  return rc == 0 ? 0 : BASE_EXIT_USAGE;
}

static int make_out_dir(const char *dir)
{
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "clustersim explore: %s: %s\n", dir, strerror(errno));
    return BASE_EXIT_USAGE;
  }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Printing schedules                                                      */

static char *comment_of(const explore_t *ex, const explore_schedule_t *s)
{
  char *replay = explore__replay(ex, s);
  char *c = base_asprintf("clustersim explore: seed %llu, run %llu\n"
                          "replay: %s", (unsigned long long)s->seed,
                          (unsigned long long)s->run, replay ? replay : "?");

  free(replay);
  return c;
}

static void print_schedule(const explore_t *ex, const explore_schedule_t *s)
{
  char *comment = comment_of(ex, s);
  char *yaml = explore__yaml(ex, s, comment);

  if (yaml != NULL)
    printf("---\n%s", yaml);
  fflush(stdout);
  free(yaml);
  free(comment);
}

static int dry_run(explore_t *ex)
{
  explore__state_t *st = ex->st;
  explore_schedule_t s;
  uint64_t i;

  for (i = st->first_run; i < st->end_run; i++) {
    explore_generate(&ex->base, &ex->gen, ex->seed, i, &s);
    print_schedule(ex, &s);
  }
  return BASE_EXIT_PASS;
}

/* ---------------------------------------------------------------------- */
/* Exploring                                                               */

static double elapsed_s(const explore_t *ex)
{
  return (double)(uv_hrtime() - ex->started_ns) / 1e9;
}

static uint64_t findings_count(const explore__state_t *st)
{
  uint64_t n = 0;
  size_t p;

  for (p = 0; p < EXPLORE_PROP_COUNT; p++)
    n += st->prop_runs[p];
  return n;
}

static int progress_line(const explore_t *ex, char *line, size_t len)
{
  const explore__state_t *st = ex->st;
  const explore__finding_t *f = st->shrinking;
  double secs = elapsed_s(ex);

  if (f != NULL)
    return snprintf(line, len, "explore: shrinking the %s finding: %u "
                               "candidates, %u runs, %.0f s",
                    explore_prop_name(f->prop), f->stats.tests,
                    f->shrink_runs, secs);
  return snprintf(line, len,
                  "explore: %llu/%llu schedules, %llu runs, %llu finding%s, "
                  "%.1f runs/s, %.0f s",
                  (unsigned long long)st->schedules,
                  (unsigned long long)(st->end_run - st->first_run),
                  (unsigned long long)st->runs,
                  (unsigned long long)findings_count(st),
                  findings_count(st) == 1 ? "" : "s",
                  secs > 0 ? (double)st->runs / secs : 0.0, secs);
}

/* Redrawn on a terminal; elsewhere a line every 30 s. */
static void progress(explore_t *ex)
{
  explore__state_t *st = ex->st;
  static uint64_t last_ns;
  char line[160];
  int n;

  if (ex->opts->quiet ||
      (!st->tty && uv_hrtime() - last_ns < 30000000000ull))
    return;
  last_ns = uv_hrtime();
  n = progress_line(ex, line, sizeof(line));
  if (st->tty)
    fprintf(stderr, "\r%s%*s", line,
            (int)(st->progress_len > (size_t)n ? st->progress_len - n : 0),
            "");
  else
    fprintf(stderr, "%s\n", line);
  st->progress_len = (size_t)n;
}

static bool explore_next(explore_t *ex, explore__pool_t *p,
                         explore__task_t *t)
{
  explore__state_t *st = ex->st;
  const explore_opts_t *o = ex->opts;
  explore_schedule_t s;
  size_t i;

  (void)p;
  if (st->next_run >= st->end_run) {
    st->stopped = "runs";
    return false;
  }
  if (o->time_s > 0 && elapsed_s(ex) >= o->time_s) {
    st->stopped = "time";
    return false;
  }
  if (o->max_findings > 0 && st->failing_runs >= o->max_findings) {
    st->stopped = "findings";
    return false;
  }
  explore_generate(&ex->base, &ex->gen, ex->seed, st->next_run, &s);
  for (i = 0; i < s.n_steps; i++)
    st->actions[s.steps[i].action]++;
  if (o->print)
    print_schedule(ex, &s);
  explore__task_init(ex, t, &s, st->next_run++);
  return true;
}

static void explore_done(explore_t *ex, explore__pool_t *p,
                         explore__task_t *t)
{
  (void)p;
  explore__task_judge(ex, t);
}

static void explore_runs(explore_t *ex)
{
  explore__task_t slots[EXPLORE__MAX_JOBS];
  explore__pool_t pool;
  uint64_t t0 = uv_hrtime();

  memset(&pool, 0, sizeof(pool));
  memset(slots, 0, sizeof(slots));
  pool.next = explore_next;
  pool.done = explore_done;
  pool.slots = slots;
  pool.n_slots = ex->jobs;
  ex->tick = progress;
  explore__pool_run(ex, &pool);
  ex->st->explore_ns = uv_hrtime() - t0;
  if (ex->interrupted)
    ex->st->stopped = "interrupted";
  if (ex->st->tty && !ex->opts->quiet)
    fprintf(stderr, "\n");
}

/* ---------------------------------------------------------------------- */

static int setup(explore_t *ex, const explore_opts_t *o)
{
  int rc;

  ex->opts = o;
  ex->loop = uv_default_loop();
  ex->started_ns = uv_hrtime();
  ex->jobs = o->jobs > 0 ? o->jobs : 1;
  if (ex->jobs > EXPLORE__MAX_JOBS)
    ex->jobs = EXPLORE__MAX_JOBS;
  if ((rc = checks_of(o, &ex->checks)) != 0 ||
      (rc = load_mode(o->load, &ex->gen.load)) != 0 ||
      (rc = open_base(ex)) != 0)
    return rc;
  ex->gen.steps = o->steps > 0 ? o->steps : 1;
  ex->gen.min_delay_ms = o->min_delay_ms;
  ex->gen.time_scale = o->time_scale > 0 ? o->time_scale : 1.0;
  ex->gen.checks = ex->checks;
  ex->seed = o->seed_set ? o->seed : random_seed();
  ex->st->first_run = o->run_set ? o->run : 0;
  ex->st->end_run = o->run_set ? o->run + 1 : o->runs;
  ex->st->next_run = ex->st->first_run;
  ex->st->tty = isatty(2) != 0;
  ex->st->actions = calloc(explore__n_actions, sizeof(uint64_t));
  ex->st->latency = calloc(1, sizeof(load_hist_t));
  if (ex->st->actions == NULL || ex->st->latency == NULL)
    return BASE_EXIT_INTERNAL;
  if (o->dry_run)
    return 0;
  if ((rc = open_targets(ex)) != 0 || (rc = make_out_dir(o->out_dir)) != 0)
    return rc;
  return 0;
}

static void teardown(explore_t *ex)
{
  explore__state_t *st = ex->st;
  size_t i;

  for (i = 0; i < EXPLORE_PROP_COUNT; i++) {
    explore__finding_t *f = &st->findings[i];
    free(f->message);
    free(f->scenario_file);
    free(f->original_file);
    free(f->log_file);
    if (f->seen != NULL)
      runner_result_free(f->seen);
    if (f->shown != NULL)
      runner_result_free(f->shown);
    free(f->seen);
    free(f->shown);
  }
  for (i = 0; i < st->n_diffs; i++)
    free(st->diffs[i].first);
  for (i = 0; i < st->n_samples; i++) {
    runner_result_free(st->samples[i]);
    free(st->samples[i]);
  }
  if (st->runs_log != NULL)
    fclose(st->runs_log);
  free(st->actions);
  free(st->latency);
  for (i = 0; i < ex->n_targets; i++)
    runner_target_free(&ex->targets[i]);
  explore_base_free(&ex->base);
}

static int verdict(const explore_t *ex)
{
  if (ex->interrupted)
    return BASE_EXIT_INTERRUPTED;
  if (ex->internal_error)
    return BASE_EXIT_INTERNAL;
  return ex->st->failing_runs > 0 ? BASE_EXIT_FAIL : BASE_EXIT_PASS;
}

static void open_runs_log(explore_t *ex)
{
  char *path = explore__out_path(ex, "runs.jsonl");

  ex->st->runs_log = path ? fopen(path, "we") : NULL;
  if (ex->st->runs_log == NULL)
    fprintf(stderr, "clustersim explore: cannot write %s\n",
            path ? path : "runs.jsonl");
  free(path);
}

static int run_all(explore_t *ex)
{
  const explore_opts_t *o = ex->opts;

  if (!o->quiet)
    printf("clustersim explore: seed %llu, %llu schedule%s of %u action%s "
           "on %s%s, -j %u\n", (unsigned long long)ex->seed,
           (unsigned long long)(ex->st->end_run - ex->st->first_run),
           ex->st->end_run - ex->st->first_run == 1 ? "" : "s",
           ex->gen.steps, ex->gen.steps == 1 ? "" : "s", ex->targets[0].spec,
           ex->n_targets > 1 ? " and more (differential)" : "", ex->jobs);
  fflush(stdout);
  open_runs_log(ex);
  if (explore__exec_open(ex) != 0)
    return BASE_EXIT_INTERNAL;
  explore_runs(ex);
  /* interrupted, it still writes what it found */
  explore__findings_work(ex);
  ex->tick = NULL;
  explore__exec_close(ex);
  if (explore__summary_write(ex) != 0)
    ex->internal_error = true;
  if (o->html != NULL && explore__html_write(ex) != 0) {
    fprintf(stderr, "clustersim explore: cannot write %s\n", o->html);
    ex->internal_error = true;
  }
  explore__summary_print(ex);
  return verdict(ex);
}

int explore_main(const explore_opts_t *o)
{
  /* on the heap: each finding holds two schedules */
  explore__state_t *st = calloc(1, sizeof(*st));
  explore_t ex;
  int rc;

  if (st == NULL)
    return BASE_EXIT_INTERNAL;
  memset(&ex, 0, sizeof(ex));
  ex.st = st;
  rc = setup(&ex, o);
  if (rc == 0)
    rc = o->dry_run ? dry_run(&ex) : run_all(&ex);
  teardown(&ex);
  free(st);
  fflush(stdout);
  return rc;
}
