/*
 * suite.c - running a selection: every scenario on every target, --repeat
 * times, -j at once, on one loop, with the reports.
 */
#include "suite-internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

static int64_t now_unix_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool isalnum_c(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

static void start_more(suite_t *su);

/* The case enters the report when the agent has said who it is, so that
 * the report names the runtime and version that ran it (or when the run
 * ended without a hello). */
static int add_case(suite_t *su, suite__job_t *j, const char *runtime,
                    const char *version)
{
  report_case_info_t ci;

  if (j->added)
    return 0;
  memset(&ci, 0, sizeof(ci));
  ci.scenario = j->s->name;
  ci.file = j->s->file;
  ci.line = 1;
  ci.target = j->target->spec;
  ci.runtime = runtime != NULL ? runtime
                               : runner_target_kind_name(j->target->kind);
  ci.runtime_version = version;
  ci.seed = j->seed;
  ci.replay = j->replay;
  ci.tags = (const char *const *)j->s->tags;
  /* the case enters at the agent's hello (or at the end of a run that had
   * none), but its attempt started with the run */
  ci.start_unix_ns = j->attempt_start_unix_ns;
  if (report_case_add(su->report, &ci, &j->rc) != 0) {
    su->internal_error = true;
    return UV_ENOMEM;
  }
  j->added = true;
  if (report_attempt_seed(j->rc, j->seed, j->replay) != 0)
    su->internal_error = true;
  if (su->term != NULL)
    report_term_case_start(su->term, j->rc, uv_hrtime());
  return 0;
}

static void on_run_hello(runner_run_t *run, const char *runtime,
                         const char *version, void *arg)
{
  suite__job_t *j = arg;

  (void)run;
  add_case(j->suite, j, runtime, version);
}

/* The JUnit file as it stands: rewritten (atomically) after every case,
 * so a harness killed outright (SIGKILL, the OOM killer), which writes
 * nothing more, leaves the results of every case that had ended. A case
 * still running shows there as interrupted. The last write, at the end of
 * the run, decides whether the file could be written. */
static void junit_checkpoint(suite_t *su)
{
  int rc;

  if (su->opts->junit == NULL)
    return;
  rc = report_junit_write(su->report, su->opts->junit);
  if (rc != 0 && !su->junit_failed) {
    suite__cannot_write("--junit", su->opts->junit, rc);
    su->junit_failed = true;
  }
}

static void case_ended(suite_t *su, suite__job_t *j)
{
  j->done = true;
  if (!j->added)
    return;
  if (su->tap != NULL)
    report_tap_case(su->tap, j->rc);
  if (su->term != NULL)
    report_term_case_end(su->term, j->rc, uv_hrtime());
  fflush(stdout);
  junit_checkpoint(su);
}

static int begin_attempt(suite_t *su, suite__job_t *j);

/* A bad run in one line, and its replay command. Names, targets and
 * reasons come from files and agents: escaped for the terminal. */
static void quiet_line(const suite__job_t *j, const runner_result_t *r)
{
  char *name = base_text_escape(j->s->name);
  char *spec = base_text_escape(j->target->spec);
  char *why = base_text_escape(r->reason);
  char *replay = base_text_escape(j->replay);

  printf("%s %s [%s] attempt %u: %s\n  replay: %s\n",
         r->interrupted ? "interrupted" : runner_outcome_name(r->outcome),
         name ? name : "?", spec ? spec : "?", j->attempt, why ? why : "",
         replay ? replay : "");
  free(name);
  free(spec);
  free(why);
  free(replay);
}

/* What the run corrected, on stderr (stdout may be TAP): the first line,
 * and how many more the report holds. */
static void warn_line(const suite__job_t *j, const runner_result_t *r)
{
  const char *nl = strchr(r->warnings, '\n');
  unsigned more = 0;
  char *first, *name, *spec;

  for (const char *p = nl; p != NULL; p = strchr(p + 1, '\n'))
    more++;
  first = nl ? base_asprintf("%.*s", (int)(nl - r->warnings), r->warnings)
             : base_strdup(r->warnings);
  name = base_text_escape(j->s->name);
  spec = base_text_escape(j->target->spec);
  if (first != NULL) {
    char *esc = base_text_escape(first);
    fprintf(stderr, "warning: %s [%s] attempt %u: %s", name ? name : "?",
            spec ? spec : "?", j->attempt, esc ? esc : "");
    if (more > 0)
      fprintf(stderr, " (and %u more process%s)", more, more > 1 ? "es" : "");
    fputc('\n', stderr);
    free(esc);
  }
  free(first);
  free(name);
  free(spec);
}

/* The result of an attempt, into the case (and the --diff projections). */
static void attempt_ended(suite_t *su, suite__job_t *j, runner_result_t *r)
{
  if (add_case(su, j, r->runtime, r->version) != 0)
    return;
  if (j->proj != NULL && j->attempt <= su->opts->repeat &&
      r->trace.count > 0 &&
      trace_projection_of(&r->trace, &j->proj[j->attempt - 1]) != 0)
    su->internal_error = true;
  if (r->outcome == RUNNER_ERROR && r->reason != NULL &&
      strncmp(r->reason, "cannot start the run", 20) == 0)
    su->internal_error = true;
  suite__record_attempt(su, j, r);
  if (r->warnings != NULL)
    warn_line(j, r);
  /* quiet still names what went wrong, one line per bad run */
  if (su->opts->quiet && r->outcome != RUNNER_PASS &&
      r->outcome != RUNNER_SKIP)
    quiet_line(j, r);
}

/* Starts the job's next attempt, if --repeat asks for one; false when the
 * case has ended. Attempt k runs with seed S+k-1: its own seed and replay
 * command. */
static bool next_attempt(suite_t *su, suite__job_t *j)
{
  if (su->interrupted || !j->added || j->attempt >= su->opts->repeat)
    return false;
  j->attempt++;
  j->seed++;
  free(j->replay);
  j->replay = suite__replay_command(su, j);
  if (report_attempt_start(j->rc) != 0)
    return false;
  if (report_attempt_seed(j->rc, j->seed, j->replay) != 0)
    su->internal_error = true;
  return begin_attempt(su, j) == 0;
}

static void on_run_done(runner_run_t *run, runner_result_t *r, void *arg)
{
  suite__job_t *j = arg;
  suite_t *su = j->suite;

  (void)run;
  j->run = NULL;
  su->running--;
  if (r == NULL) {
    su->internal_error = true;
    report_interrupt(su->report, "out of memory");
  } else {
    attempt_ended(su, j, r);
    runner_result_free(r);
    free(r);
  }
  if (next_attempt(su, j))
    return;
  case_ended(su, j);
  start_more(su);
}

/* The longest a name or a target may be in a file name; past it, its
 * head and a hash of the whole. */
#define FILE_PART_MAX 100

/* Names and targets are free text. In a file name, [A-Za-z0-9.-] stay as
 * they are and any other byte becomes _XX (its hex): two names never make
 * one file name ("a<b" is a_3cb, "a>b" a_3eb). A long one keeps its head
 * and ends with ~ and a 64-bit FNV-1a hash of the whole. */
static void file_part(char *out, const char *s)
{
  static const char hex[] = "0123456789abcdef";
  uint64_t h = 14695981039346656037ull;
  size_t n = 0;
  const unsigned char *p;

  for (p = (const unsigned char *)s; *p; p++) {
    h = (h ^ *p) * 1099511628211ull;
    if (n + 3 >= FILE_PART_MAX + 20)
      continue;
    if (isalnum_c((char)*p) || *p == '-' || *p == '.') {
      out[n++] = (char)*p;
    } else {
      out[n++] = '_';
      out[n++] = hex[*p >> 4];
      out[n++] = hex[*p & 15];
    }
  }
  out[n] = '\0';
  if (n > FILE_PART_MAX)
    snprintf(out + FILE_PART_MAX - 17, 18, "~%016llx",
             (unsigned long long)h);
}

static char *trace_file(const suite_t *su, const suite__job_t *j)
{
  char target[FILE_PART_MAX + 24], name[FILE_PART_MAX + 24];

  if (su->opts->trace_dir == NULL)
    return NULL;
  file_part(target, j->target->spec);
  file_part(name, j->s->name);
  return base_asprintf("%s/%s.%s.%u.jsonl", su->opts->trace_dir, name,
                       target, j->attempt);
}

static int begin_attempt(suite_t *su, suite__job_t *j)
{
  runner_opts_t o;
  char *path = trace_file(su, j), *reason;
  int rc;

  j->attempt_start_unix_ns = now_unix_ns();
  memset(&o, 0, sizeof(o));
  o.time_scale = su->opts->time_scale;
  o.seed = j->seed;
  o.trace_path = path;
  o.attempt = j->attempt;
  o.hello = on_run_hello;
  rc = runner_run_start(su->loop, j->s, j->target, &o, on_run_done, j,
                         &j->run);
  free(path);
  if (rc != 0) {
    report_result_t rr;
    if (add_case(su, j, NULL, NULL) != 0)
      return rc;
    memset(&rr, 0, sizeof(rr));
    rr.outcome = REPORT_ERROR;
    reason = suite__start_error(rc);
    rr.reason = reason ? reason : "the harness could not start the run";
    rr.failed_event = -1;
    report_attempt_add(j->rc, &rr);
    fprintf(stderr, "clustersim: %s\n", rr.reason);
    free(reason);
    su->outcomes[RUNNER_ERROR]++;
    su->internal_error = true;
    return rc;
  }
  su->running++;
  return 0;
}

static void start_job(suite_t *su, suite__job_t *j)
{
  j->attempt = 1;
  j->replay = suite__replay_command(su, j);
  if (j->skip_reason != NULL) {
    report_result_t rr;
    if (add_case(su, j, NULL, NULL) != 0) {
      j->done = true;
      return;
    }
    memset(&rr, 0, sizeof(rr));
    rr.outcome = REPORT_SKIP;
    rr.reason = j->skip_reason;
    rr.failed_event = -1;
    report_attempt_add(j->rc, &rr);
    su->outcomes[RUNNER_SKIP]++;
    case_ended(su, j);
    return;
  }
  if (begin_attempt(su, j) != 0)
    case_ended(su, j);
}

static void finish(suite_t *su);

static void start_more(suite_t *su)
{
  while (!su->interrupted && su->running < su->opts->jobs &&
         su->next < su->n_jobs)
    start_job(su, &su->jobs[su->next++]);
  if (su->running == 0 && (su->interrupted || su->next >= su->n_jobs))
    finish(su);
}

static void on_signal(uv_signal_t *h, int signum)
{
  suite_t *su = h->data;
  size_t i;
  char reason[64];

  snprintf(reason, sizeof(reason), "interrupted by %s",
           base_signal_name(signum) ? base_signal_name(signum) : "?");
  if (!su->interrupted) {
    su->interrupted = true;
    report_interrupt(su->report, reason);
  }
  /* every run kills and reaps its processes, then reports */
  for (i = 0; i < su->n_jobs; i++)
    if (su->jobs[i].run != NULL)
      runner_run_abort(su->jobs[i].run, reason);
  if (su->running == 0)
    finish(su);
}

static void on_ticker(uv_timer_t *t)
{
  suite_t *su = t->data;

  if (su->term != NULL)
    report_term_tick(su->term, uv_hrtime());
}

static void on_closed(uv_handle_t *h)
{
  (void)h;
}

static void finish(suite_t *su)
{
  if (su->finished)
    return;
  su->finished = true;
  uv_close((uv_handle_t *)&su->sigint, on_closed);
  uv_close((uv_handle_t *)&su->sigterm, on_closed);
  uv_close((uv_handle_t *)&su->ticker, on_closed);
}

static uint64_t random_seed(void)
{
  uint64_t s = uv_hrtime() ^ ((uint64_t)getpid() << 32);

  /* one splitmix64 round, so close start times give distant seeds */
  s += 0x9E3779B97F4A7C15ull;
  s = (s ^ (s >> 30)) * 0xBF58476D1CE4E5B9ull;
  s = (s ^ (s >> 27)) * 0x94D049BB133111EBull;
  return (s ^ (s >> 31)) % 1000000000000ull;
}

/* ---------------------------------------------------------------------- */
/* suite_run, phase by phase                                               */

/* --runtime-arg, on the targets that run a runtime; builtin and exec:
 * run none of the harness's choosing, and leave them out. */
static int runtime_args(const suite_opts_t *o, runner_target_t *t)
{
  int rc;

  if (t->kind == RUNNER_TARGET_BUILTIN || t->kind == RUNNER_TARGET_EXEC)
    return 0;
  rc = runner_target_runtime_args(t, o->runtime_args, o->n_runtime_args);
  if (rc != 0)
    fprintf(stderr, "clustersim: --runtime-arg: %s\n", uv_strerror(rc));
  return rc;
}

static int open_targets(suite_t *su)
{
  const suite_opts_t *o = su->opts;
  base_diag_t diag;
  size_t i, k, len;
  int ret = BASE_EXIT_PASS;

  su->targets = calloc(o->n_targets, sizeof(*su->targets));
  if (su->targets == NULL)
    return BASE_EXIT_INTERNAL;
  base_diag_init(&diag);
  for (i = 0; i < o->n_targets; i++) {
    for (k = 0; k < i; k++)
      if (strcmp(o->targets[k], o->targets[i]) == 0)
        break;
    if (k < i) {
      /* its runs would have the same names, their traces one file */
      fprintf(stderr, "clustersim: --target %s is given twice\n",
              o->targets[i]);
      ret = BASE_EXIT_USAGE;
      break;
    }
    if (runner_target_parse(o->targets[i], o->self, o->runtime,
                            CLUSTERSIM_SOURCE_DIR, &su->targets[i],
                            &diag) != 0) {
      for (k = 0; k < diag.count; k++)
        fprintf(stderr, "clustersim: %s\n", diag.lines[k]);
      ret = BASE_EXIT_USAGE;
      break;
    }
    su->n_targets++;
    if (runtime_args(o, &su->targets[i]) != 0) {
      ret = BASE_EXIT_USAGE;
      break;
    }
    len = strlen(su->targets_text);
    snprintf(su->targets_text + len, sizeof(su->targets_text) - len, "%s%s",
             i ? "," : "", o->targets[i]);
  }
  base_diag_free(&diag);
  return ret;
}

static int make_trace_dir(const suite_opts_t *o)
{
  if (o->trace_dir != NULL && mkdir(o->trace_dir, 0777) != 0 &&
      errno != EEXIST) {
    fprintf(stderr, "clustersim: --trace-dir %s: %s\n", o->trace_dir,
            strerror(errno));
    return BASE_EXIT_USAGE;
  }
  return BASE_EXIT_PASS;
}

static int make_jobs(suite_t *su)
{
  const suite_selection_t *sel = su->sel;
  size_t i, k;

  su->jobs = calloc(sel->n_scenarios * su->n_targets + 1, sizeof(*su->jobs));
  if (su->jobs == NULL)
    return BASE_EXIT_INTERNAL;
  /* target by target: the same scenario never runs twice at once (some
   * use fixed ports) */
  for (k = 0; k < su->n_targets; k++)
    for (i = 0; i < sel->n_scenarios; i++) {
      suite__job_t *j = &su->jobs[su->n_jobs++];
      j->suite = su;
      j->s = sel->scenarios[i];
      j->target = &su->targets[k];
      j->seed = su->seed;
      j->skip_reason = runner_target_skip_reason(j->s, j->target);
      if (su->opts->diff &&
          (j->proj = calloc(su->opts->repeat, sizeof(*j->proj))) == NULL)
        return BASE_EXIT_INTERNAL;
    }
  return BASE_EXIT_PASS;
}

static int open_reports(suite_t *su)
{
  const suite_opts_t *o = su->opts;
  report_run_info_t info;
  char shard[32];
  size_t n_cases;

  memset(&info, 0, sizeof(info));
  info.name = "clustersim";
  info.command_line = o->command_line;
  info.targets = su->targets_text;
  info.seed = su->seed;
  info.junit_strict = o->junit_strict;
  if (o->shard_n > 0) {
    snprintf(shard, sizeof(shard), "%u/%u", o->shard_i, o->shard_n);
    info.shard = shard;
  }
  if (report_new(&su->report, &info) != 0)
    return BASE_EXIT_INTERNAL;
  /* an invalid scenario is a case of the reports on every target, so the
   * plan and the progress count it */
  n_cases = su->n_jobs + su->sel->n_bad * su->n_targets;
  if (o->tap)
    report_tap_new(&su->tap, stdout, (unsigned)n_cases, 0);
  else if (!o->quiet)
    report_term_new(&su->term, stdout, (unsigned)n_cases, REPORT_TERM_AUTO,
                    uv_hrtime());
  if (o->tap)
    printf("# seed %llu\n", (unsigned long long)su->seed);
  else if (!o->quiet)
    printf("clustersim: %zu run%s, seed %llu, -j %u\n", su->n_jobs,
           su->n_jobs == 1 ? "" : "s", (unsigned long long)su->seed,
           o->jobs);
  fflush(stdout);
  return BASE_EXIT_PASS;
}

/* The line of the first error of an invalid file, from its first
 * diagnostic "FILE:LINE:COL: error: ..."; 1 when there is none. */
static unsigned first_error_line(const char *file, const char *detail)
{
  size_t n = strlen(file);
  unsigned long l;

  if (detail == NULL || strncmp(detail, file, n) != 0 || detail[n] != ':')
    return 1;
  l = strtoul(detail + n + 1, NULL, 10);
  return l > 0 && l < 1000000 ? (unsigned)l : 1;
}

/* An invalid scenario is a testcase too: an error, with its messages. */
static void add_invalid_case(suite_t *su, const runner_target_t *t, size_t i)
{
  const suite_selection_t *sel = su->sel;
  const char *detail = sel->bad_details ? sel->bad_details[i] : NULL;
  const char *base = strrchr(sel->bad_files[i], '/');
  report_case_info_t ci;
  report_result_t rr;
  report_case_t *rc = NULL;
  char name[256], *first = NULL;

  snprintf(name, sizeof(name), "%s", base ? base + 1 : sel->bad_files[i]);
  if (strrchr(name, '.') != NULL)
    *strrchr(name, '.') = '\0';
  memset(&ci, 0, sizeof(ci));
  ci.scenario = name;
  ci.file = sel->bad_files[i];
  ci.line = first_error_line(ci.file, detail);
  ci.target = t->spec;
  ci.seed = su->seed;
  if (report_case_add(su->report, &ci, &rc) != 0)
    return;
  if (su->term != NULL)
    report_term_case_start(su->term, rc, uv_hrtime());
  memset(&rr, 0, sizeof(rr));
  rr.outcome = REPORT_ERROR;
  rr.detail = detail;
  rr.reason = "invalid scenario";
  if (detail != NULL &&
      (first = strndup(detail, strcspn(detail, "\n"))) != NULL)
    rr.reason = first;
  rr.failed_event = -1;
  report_attempt_add(rc, &rr);
  free(first);
  su->outcomes[RUNNER_ERROR]++;
  if (su->tap != NULL)
    report_tap_case(su->tap, rc);
  if (su->term != NULL)
    report_term_case_end(su->term, rc, uv_hrtime());
}

static void add_invalid_cases(suite_t *su)
{
  size_t i, k;

  for (k = 0; k < su->n_targets; k++)
    for (i = 0; i < su->sel->n_bad; i++)
      add_invalid_case(su, &su->targets[k], i);
  if (su->sel->n_bad > 0)
    junit_checkpoint(su);
}

static void run_loop(suite_t *su)
{
  uv_signal_init(su->loop, &su->sigint);
  uv_signal_init(su->loop, &su->sigterm);
  su->sigint.data = su->sigterm.data = su;
  uv_signal_start(&su->sigint, on_signal, SIGINT);
  uv_signal_start(&su->sigterm, on_signal, SIGTERM);
  uv_timer_init(su->loop, &su->ticker);
  su->ticker.data = su;
  uv_timer_start(&su->ticker, on_ticker, 200, 200);
  su->started = uv_hrtime();
  start_more(su);
  /* bounded: every run has its own deadline and kills what it started */
  uv_run(su->loop, UV_RUN_DEFAULT);
}

static void close_reports(suite_t *su)
{
  const suite_opts_t *o = su->opts;
  int rc;

  if (o->junit != NULL && (rc = report_junit_write(su->report, o->junit))) {
    if (!su->junit_failed)
      suite__cannot_write("--junit", o->junit, rc);
    su->internal_error = true;
  }
  if (o->html != NULL && (rc = report_html_write(su->report, o->html))) {
    suite__cannot_write("--html", o->html, rc);
    su->internal_error = true;
  }
  if (su->tap != NULL)
    report_tap_end(su->tap);
  if (su->term != NULL)
    report_term_summary(su->term, su->report, uv_hrtime());
  if (!o->tap)
    printf("clustersim: %u pass, %u fail, %u timeout, %u inconclusive, "
           "%u error, %u skip in %.2f s (seed %llu)\n",
           su->outcomes[RUNNER_PASS], su->outcomes[RUNNER_FAIL],
           su->outcomes[RUNNER_TIMEOUT], su->outcomes[RUNNER_INCONCLUSIVE],
           su->outcomes[RUNNER_ERROR], su->outcomes[RUNNER_SKIP],
           (double)(uv_hrtime() - su->started) / 1e9,
           (unsigned long long)su->seed);
}

/* When several apply: interrupted, internal, scenario, fail, inconclusive
 * (docs/harness.md, "Exit codes"). */
static int verdict(const suite_t *su, unsigned differ)
{
  const unsigned *n = su->outcomes;

  if (su->interrupted)
    return BASE_EXIT_INTERRUPTED;
  if (su->internal_error)
    return BASE_EXIT_INTERNAL;
  if (n[RUNNER_ERROR] > 0 || su->sel->invalid > 0)
    return BASE_EXIT_SCENARIO;
  if (n[RUNNER_FAIL] + n[RUNNER_TIMEOUT] > 0 || differ > 0)
    return BASE_EXIT_FAIL;
  if (n[RUNNER_INCONCLUSIVE] > 0)
    return BASE_EXIT_INCONCLUSIVE;
  return BASE_EXIT_PASS;
}

static void suite_free(suite_t *su)
{
  size_t i, k;

  if (su->tap != NULL)
    report_tap_free(su->tap);
  if (su->term != NULL)
    report_term_free(su->term);
  if (su->report != NULL)
    report_free(su->report);
  report_expect_free(su->expect);
  for (i = 0; i < su->n_jobs; i++) {
    free(su->jobs[i].replay);
    for (k = 0; su->jobs[i].proj != NULL && k < su->opts->repeat; k++)
      trace_projection_free(su->jobs[i].proj[k]);
    free(su->jobs[i].proj);
  }
  free(su->jobs);
  for (i = 0; i < su->n_targets; i++)
    runner_target_free(&su->targets[i]);
  free(su->targets);
}

int suite_run(const suite_opts_t *opts, const suite_selection_t *sel)
{
  suite_t su;
  unsigned differ;
  int ret;

  memset(&su, 0, sizeof(su));
  su.opts = opts;
  su.sel = sel;
  su.loop = uv_default_loop();
  /* a peer closing its end must be an error, not the harness's death */
  signal(SIGPIPE, SIG_IGN);
  suite__raise_fd_limit(opts, sel);
  ret = open_targets(&su);
  if (ret == BASE_EXIT_PASS)
    ret = suite__check_environment(opts);
  if (ret == BASE_EXIT_PASS)
    ret = make_trace_dir(opts);
  if (ret == BASE_EXIT_PASS)
    ret = suite__expect_open(&su);
  if (ret == BASE_EXIT_PASS) {
    su.seed = opts->seed_set ? opts->seed : random_seed();
    ret = make_jobs(&su);
  }
  if (ret == BASE_EXIT_PASS)
    ret = open_reports(&su);
  if (ret == BASE_EXIT_PASS) {
    add_invalid_cases(&su);
    run_loop(&su);
    close_reports(&su);
    differ = opts->diff && !su.interrupted ? suite__diff_targets(&su) : 0;
    ret = suite__after(&su, verdict(&su, differ));
  }
  suite_free(&su);
  fflush(stdout);
  return ret;
}
