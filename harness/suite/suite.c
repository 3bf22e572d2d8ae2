/*
 * Running a selection: every scenario on every target, --repeat times,
 * -j at once, with the reports. And `check --trace`.
 */
#include "suite.h"
#include "report.h"

#include <errno.h>
#include <stdarg.h>
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

static void print_findings(const oracle_findings_t *f)
{
  size_t i;

  for (i = 0; i < f->count; i++)
    printf("%s: %s\n",
           f->items[i].kind == ORACLE_FINDING_FAIL ? "FAIL" : "INCONCLUSIVE",
           f->items[i].message);
}

int suite_check_trace(suite_cli_t *cli)
{
  trace_t tr;
  base_diag_t diag;
  oracle_findings_t f;
  oracle_opts_t oo;
  trace_load_totals_t load;
  const scenario_t *s;
  size_t i;
  int ret;

  if (cli->n_scenarios != 1 || cli->invalid > 0) {
    fprintf(stderr, "clustersim: check --trace needs exactly one valid "
            "scenario, got %zu\n", cli->n_scenarios);
    return cli->invalid > 0 ? BASE_EXIT_SCENARIO : BASE_EXIT_USAGE;
  }
  s = cli->scenarios[0];
  trace_init(&tr, 0);
  base_diag_init(&diag);
  oracle_findings_init(&f);
  memset(&load, 0, sizeof(load));
  if (trace_read(cli->trace_file, &tr, &diag) != 0) {
    for (i = 0; i < diag.count; i++)
      fprintf(stderr, "%s\n", diag.lines[i]);
    ret = BASE_EXIT_SCENARIO;
    goto out;
  }
  /* the load generator's totals, as the run recorded them */
  for (i = 0; i < tr.count; i++) {
    const trace_event_t *e = &tr.events[i];
    if (e->src == TRACE_SRC_LOAD && strcmp(e->name, "totals") == 0) {
      const cJSON *j = e->json;
#define GET(field) \
      load.field = (uint64_t)cJSON_GetNumberValue( \
          cJSON_GetObjectItemCaseSensitive(j, #field)) 
      load.ran = true;
      GET(sent);
      GET(ok);
      GET(refused);
      GET(reset);
      GET(timeout);
      GET(bad_status);
      GET(truncated);
      GET(error);
      GET(retried);
      GET(failed);
#undef GET
    }
  }
  memset(&oo, 0, sizeof(oo));
  oo.allow_exit_without_disconnect = s->allow_exit_without_disconnect;
  oracle_check(&tr, &oo, &f);
  oracle_expect_check(s, &tr, &load, &f);
  print_findings(&f);
  if (oracle_findings_count(&f, ORACLE_FINDING_FAIL) > 0)
    ret = BASE_EXIT_FAIL;
  else if (oracle_findings_count(&f, ORACLE_FINDING_INCONCLUSIVE) > 0)
    ret = BASE_EXIT_INCONCLUSIVE;
  else
    ret = BASE_EXIT_PASS;
  if (!cli->quiet)
    printf("%s: %s (%zu events)\n", s->name,
           ret == BASE_EXIT_PASS ? "pass"
           : ret == BASE_EXIT_FAIL ? "fail" : "inconclusive",
           tr.count);
out:
  oracle_findings_free(&f);
  base_diag_free(&diag);
  trace_free(&tr);
  return ret;
}

/* "node (attempt 2)" from a trace's header, else the file's name. */
static char *trace_label(const trace_t *tr, const char *path)
{
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(tr->meta, "target");
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(tr->meta, "attempt");
  char target[24];

  if (!cJSON_IsString(t))
    return strdup(path);
  /* an exec: command line is too long to head every line */
  snprintf(target, sizeof(target), "%s", t->valuestring);
  if (strlen(t->valuestring) >= sizeof(target))
    snprintf(target, sizeof(target), "%.*s",
             (int)strcspn(t->valuestring, ":"), t->valuestring);
  if (cJSON_IsNumber(a) && a->valuedouble > 1)
    return base_asprintf("%s (attempt %.0f)", target, a->valuedouble);
  return strdup(target);
}

int suite_diff_traces(const char *a, const char *b, bool quiet)
{
  trace_t ta, tb;
  base_diag_t diag;
  trace_projection_t *pa = NULL, *pb = NULL;
  char *la = NULL, *lb = NULL;
  size_t i;
  int ret = BASE_EXIT_SCENARIO, w;

  trace_init(&ta, 0);
  trace_init(&tb, 0);
  base_diag_init(&diag);
  if (trace_read(a, &ta, &diag) != 0 ||
      trace_read(b, &tb, &diag) != 0) {
    for (i = 0; i < diag.count; i++)
      fprintf(stderr, "clustersim: %s\n", diag.lines[i]);
    goto out;
  }
  la = trace_label(&ta, a);
  lb = trace_label(&tb, b);
  if (la != NULL && lb != NULL && strcmp(la, lb) == 0) {
    free(la);
    free(lb);
    la = strdup(a);
    lb = strdup(b);
  }
  if (la == NULL || lb == NULL || trace_projection_of(&ta, &pa) != 0 ||
      trace_projection_of(&tb, &pb) != 0) {
    ret = BASE_EXIT_INTERNAL;
    goto out;
  }
  w = trace_projection_diff(pa, la, pb, lb, &diag);
  if (w > 0)
    printf("%s vs %s: %d worker%s differ%s\n", la, lb, w, w == 1 ? "" : "s",
           w == 1 ? "s" : "");
  else if (!quiet || diag.count > 0)
    printf("%s vs %s: the same\n", la, lb);
  for (i = 0; i < diag.count; i++)
    printf("%s\n", diag.lines[i]);
  ret = w > 0 ? BASE_EXIT_FAIL : BASE_EXIT_PASS;
out:
  trace_projection_free(pa);
  trace_projection_free(pb);
  free(la);
  free(lb);
  base_diag_free(&diag);
  trace_free(&ta);
  trace_free(&tb);
  fflush(stdout);
  return ret;
}

/* ---------------------------------------------------------------------- */
/* run                                                                     */

/* Timeline marks kept per attempt in the reports. */
#define MAX_MARKS 3000

typedef struct suite_s suite_t;

typedef struct {
  suite_t *suite;
  const scenario_t *s;
  const runner_target_t *target;
  report_case_t *rc;
  runner_run_t *run;
  unsigned attempt;          /* 1-based, of the attempt running or last */
  int64_t attempt_start_unix_ns; /* wall clock at the attempt's start */
  uint64_t seed;
  char *replay;
  const char *skip_reason;   /* not run on this target, and why */
  trace_projection_t **proj; /* --diff: one per attempt (NULL: none) */
  bool added;                /* the case is in the report */
  bool done;
} job_t;

struct suite_s {
  suite_cli_t *cli;
  uv_loop_t *loop;
  job_t *jobs;
  size_t n_jobs;
  size_t next;
  unsigned running;
  runner_target_t *targets;
  size_t n_targets;
  report_t *report;
  report_tap_t *tap;
  report_term_t *term;
  uv_signal_t sigint, sigterm;
  uv_timer_t ticker;
  bool interrupted;
  bool internal_error;
  bool junit_failed;         /* a write of the JUnit file failed (said once) */
  unsigned outcomes[RUNNER_OUTCOME_COUNT];
  uint64_t started;
  uint64_t busy_ns;          /* sum of run durations */
};

static void start_more(suite_t *su);

static char *quote(const char *s)
{
  size_t i, n = 3;
  char *q, *p;
  bool plain = s[0] != '\0';

  for (i = 0; s[i]; i++) {
    n += s[i] == '\'' ? 4 : 1;
    if (!(isalnum_c(s[i]) || strchr("/._-:+=,@", s[i]) != NULL))
      plain = false;
  }
  if (plain)
    return strdup(s);
  q = malloc(n);
  if (q == NULL)
    return NULL;
  p = q;
  *p++ = '\'';
  for (i = 0; s[i]; i++) {
    if (s[i] == '\'') {
      memcpy(p, "'\\''", 4);
      p += 4;
    } else {
      *p++ = s[i];
    }
  }
  *p++ = '\'';
  *p = '\0';
  return q;
}

static char *replay_command(const suite_t *su, const job_t *j)
{
  char *file = quote(j->s->file), *target = quote(j->target->spec);
  char scale[48] = "";
  char *r;

  if (su->cli->time_scale != 1.0)
    snprintf(scale, sizeof(scale), " --time-scale %g", su->cli->time_scale);
  r = base_asprintf("clustersim run %s --target %s --seed %llu%s",
                       file ? file : "?", target ? target : "?",
                       (unsigned long long)j->seed, scale);
  free(file);
  free(target);
  return r;
}

static report_outcome_t map_outcome(runner_outcome_t o)
{
  switch (o) {
  case RUNNER_PASS:
    return REPORT_PASS;
  case RUNNER_FAIL:
    return REPORT_FAIL;
  case RUNNER_INCONCLUSIVE:
    return REPORT_INCONCLUSIVE;
  case RUNNER_SKIP:
    return REPORT_SKIP;
  case RUNNER_TIMEOUT:
    return REPORT_TIMEOUT;
  default:
    return REPORT_ERROR;
  }
}

/* The actions that inject a fault (docs/scenarios.md, "Faults"), by the
 * names the trace records them under: pause and resume are the SIGSTOP
 * and SIGCONT of `pause`. worker-send is listed there but only sends a
 * message, and the harness's own work (fork, kill or disconnect from the
 * primary, rolling-restart, shutdown, policy, end...) is not a fault:
 * drawn as one, it would hide the faults among the routine. */
static bool fault_action(const char *name)
{
  static const char *const faults[] = {
      "crash", "throw", "hang", "pause", "resume", "signal",
      "ipc-disconnect", "worker-kill", "worker-disconnect", "close-servers",
      "hold", NULL};
  size_t i;

  for (i = 0; faults[i] != NULL; i++)
    if (strcmp(name, faults[i]) == 0)
      return true;
  return false;
}

/* The timeline of an attempt, for the HTML report. Returns the mark index
 * of the trace event `want` (or -1). */
static int64_t add_marks(report_case_t *rc, const runner_result_t *r,
                         int64_t want)
{
  const trace_t *tr = &r->trace;
  int64_t n = 0, found = -1;
  size_t i, k;

  for (i = 0; i < tr->count && n < MAX_MARKS; i++) {
    const trace_event_t *e = &tr->events[i];
    report_event_t ev;
    char label[96];
    bool violation = false;

    if (e->src == TRACE_SRC_LOG)
      continue;
    /* the cluster twin of a Worker event adds nothing to a timeline */
    if (e->src == TRACE_SRC_AGENT && e->cluster_emitter &&
        e->ev != TRACE_EV_FORK && e->ev != TRACE_EV_SETUP &&
        (int64_t)i != want)
      continue;
    memset(&ev, 0, sizeof(ev));
    ev.t_ns = e->t;
    ev.kind = e->name[0] ? e->name : "?";
    switch (e->src) {
    case TRACE_SRC_AGENT:
    case TRACE_SRC_WORKER:
      ev.lane = e->worker != 0 ? (int)e->worker : REPORT_LANE_PRIMARY;
      break;
    case TRACE_SRC_POLICY:
      ev.lane = REPORT_LANE_PRIMARY;
      break;
    default:
      ev.lane = REPORT_LANE_HARNESS;
      break;
    }
    if (e->src == TRACE_SRC_HARNESS && e->ev == TRACE_EV_NONE &&
        fault_action(e->name))
      ev.flags |= REPORT_EVENT_FAULT;
    if (e->src == TRACE_SRC_LOAD && strcmp(e->name, "request") == 0) {
      const cJSON *o = cJSON_GetObjectItemCaseSensitive(e->json, "outcome");
      if (cJSON_IsString(o) && strcmp(o->valuestring, "retried") != 0)
        ev.flags |= REPORT_EVENT_FAILED_REQUEST;
    }
    for (k = 0; k < r->findings.count && !violation; k++)
      violation = r->findings.items[k].event == (int64_t)e->index;
    if (violation)
      ev.flags |= REPORT_EVENT_VIOLATION;
    if (e->worker != 0)
      snprintf(label, sizeof(label), "#%u %s worker %u", e->index, e->name,
               e->worker);
    else
      snprintf(label, sizeof(label), "#%u %s", e->index, e->name);
    ev.label = label;
    if (report_event_add(rc, &ev) != 0)
      break;
    if ((int64_t)i == want)
      found = n;
    n++;
  }
  return found;
}

/* The trace around the failure and the end of the agent's output. */
static char *excerpt(const runner_result_t *r, int64_t around)
{
  const trace_t *tr = &r->trace;
  size_t from, to, i, cap = 4096, len = 0;
  char *out = malloc(cap);

  if (out == NULL)
    return NULL;
  out[0] = '\0';
  if (r->load.ran)
    len += (size_t)snprintf(out, cap, "load: %llu requests: %llu ok, %llu "
                            "retried, %llu failed\n",
                            (unsigned long long)r->load.sent,
                            (unsigned long long)r->load.ok,
                            (unsigned long long)r->load.retried,
                            (unsigned long long)r->load.failed);
  if (around < 0)
    around = tr->count > 0 ? (int64_t)tr->count - 1 : 0;
  from = around > 20 ? (size_t)around - 20 : 0;
  to = (size_t)around + 10 < tr->count ? (size_t)around + 10 : tr->count;
  for (i = from; i < to; i++) {
    char *line = cJSON_PrintUnformatted(tr->events[i].json);
    size_t need;
    if (line == NULL)
      continue;
    need = strlen(line) + 64;
    if (len + need >= cap) {
      char *b;
      cap = (len + need) * 2;
      b = realloc(out, cap);
      if (b == NULL) {
        free(line);
        break;
      }
      out = b;
    }
    len += (size_t)snprintf(out + len, cap - len, "#%zu %.3fs %.400s\n", i,
                            trace_secs(tr, tr->events[i].t), line);
    free(line);
  }
  if (r->log != NULL && r->log[0] != '\0') {
    size_t ll = strlen(r->log);
    const char *tail = ll > 2048 ? r->log + ll - 2048 : r->log;
    char *b = realloc(out, len + strlen(tail) + 64);
    if (b != NULL) {
      out = b;
      len += (size_t)sprintf(out + len, "--- agent output (tail) ---\n%s",
                             tail);
    }
  }
  return out;
}

static void record_attempt(suite_t *su, job_t *j, runner_result_t *r)
{
  report_result_t rr;
  int64_t first = -1;
  size_t i;

  su->busy_ns += r->ended_ns - r->started_ns;
  su->outcomes[r->outcome]++;
  if (r->interrupted) {
    /* the report's interrupted path (docs/reports.md): the attempt stays
     * open, so every writer shows it as interrupted, with the reason
     * on_signal gave report_interrupt and how long it had run; the
     * timeline of what it did still goes on the page */
    add_marks(j->rc, r, -1);
    return;
  }
  memset(&rr, 0, sizeof(rr));
  for (i = 0; i < r->findings.count; i++)
    if (r->findings.items[i].event >= 0) {
      first = r->findings.items[i].event;
      break;
    }
  rr.outcome = map_outcome(r->outcome);
  rr.reason = r->reason ? r->reason : runner_outcome_name(r->outcome);
  rr.detail = r->detail;
  rr.failed_event = add_marks(j->rc, r, first);
  rr.output = excerpt(r, first);
  rr.duration_s = (double)(r->ended_ns - r->started_ns) / 1e9;
  report_attempt_add(j->rc, &rr);
  free((char *)rr.output);
}

/* The case enters the report when the agent has said who it is, so that
 * the report names the runtime and version that ran it (or when the run
 * ended without a hello). */
static int add_case(suite_t *su, job_t *j, const char *runtime,
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
  job_t *j = arg;

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
  if (su->cli->junit == NULL)
    return;
  if (report_junit_write(su->report, su->cli->junit) != 0 &&
      !su->junit_failed) {
    fprintf(stderr, "clustersim: cannot write %s\n", su->cli->junit);
    su->junit_failed = true;
  }
}

static void case_ended(suite_t *su, job_t *j)
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

static int begin_attempt(suite_t *su, job_t *j);

static void on_run_done(runner_run_t *run, runner_result_t *r, void *arg)
{
  job_t *j = arg;
  suite_t *su = j->suite;

  (void)run;
  j->run = NULL;
  su->running--;
  if (r == NULL) {
    su->internal_error = true;
    report_interrupt(su->report, "out of memory");
  } else if (add_case(su, j, r->runtime, r->version) == 0) {
    if (j->proj != NULL && j->attempt <= su->cli->repeat &&
        r->trace.count > 0 &&
        trace_projection_of(&r->trace, &j->proj[j->attempt - 1]) != 0)
      su->internal_error = true;
    if (r->outcome == RUNNER_ERROR && r->reason != NULL &&
        strncmp(r->reason, "cannot start the run", 20) == 0)
      su->internal_error = true;
    record_attempt(su, j, r);
    /* quiet still names what went wrong, one line per bad run */
    if (su->cli->quiet && r->outcome != RUNNER_PASS &&
        r->outcome != RUNNER_SKIP)
      printf("%s %s [%s] attempt %u: %s\n  replay: %s\n",
             r->interrupted ? "interrupted"
                            : runner_outcome_name(r->outcome),
             j->s->name, j->target->spec,
             j->attempt, r->reason ? r->reason : "", j->replay);
  }
  if (r != NULL) {
    runner_result_free(r);
    free(r);
  }
  if (!su->interrupted && j->added && j->attempt < su->cli->repeat) {
    j->attempt++;
    j->seed++;
    free(j->replay);
    j->replay = replay_command(su, j);
    if (report_attempt_start(j->rc) == 0) {
      /* attempt k runs with seed S+k-1: its own seed and replay command */
      if (report_attempt_seed(j->rc, j->seed, j->replay) != 0)
        su->internal_error = true;
      if (begin_attempt(su, j) == 0)
        return;
    }
  }
  case_ended(su, j);
  start_more(su);
}

/* Names and targets are free text: only [A-Za-z0-9._-] reach a file name. */
static void file_safe(char *s)
{
  for (; *s; s++)
    if (!(isalnum_c(*s) || *s == '-' || *s == '.' || *s == '_'))
      *s = '_';
}

static char *trace_file(const suite_t *su, const job_t *j)
{
  char target[64], name[128];

  if (su->cli->trace_dir == NULL)
    return NULL;
  snprintf(target, sizeof(target), "%s", j->target->spec);
  snprintf(name, sizeof(name), "%s", j->s->name);
  file_safe(target);
  file_safe(name);
  return base_asprintf("%s/%s.%s.%u.jsonl", su->cli->trace_dir, name,
                          target, j->attempt);
}

static int begin_attempt(suite_t *su, job_t *j)
{
  runner_opts_t o;
  char *path = trace_file(su, j);
  int rc;

  j->attempt_start_unix_ns = now_unix_ns();
  memset(&o, 0, sizeof(o));
  o.time_scale = su->cli->time_scale;
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
    rr.reason = "the harness could not start the run";
    rr.failed_event = -1;
    report_attempt_add(j->rc, &rr);
    su->outcomes[RUNNER_ERROR]++;
    su->internal_error = true;
    return rc;
  }
  su->running++;
  return 0;
}

static void start_job(suite_t *su, job_t *j)
{
  j->attempt = 1;
  j->replay = replay_command(su, j);
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
  while (!su->interrupted && su->running < su->cli->jobs &&
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
  static bool finished;

  if (finished)
    return;
  finished = true;
  uv_close((uv_handle_t *)&su->sigint, on_closed);
  uv_close((uv_handle_t *)&su->sigterm, on_closed);
  uv_close((uv_handle_t *)&su->ticker, on_closed);
}

/* The names the difference lines go by: the target as given when it is
 * short, else its kind ("exec"); never twice the same. */
static void short_labels(const runner_target_t *x, const runner_target_t *y,
                         char *la, char *lb, size_t len)
{
  snprintf(la, len, "%s", strlen(x->spec) < len ? x->spec
                          : runner_target_kind_name(x->kind));
  snprintf(lb, len, "%s", strlen(y->spec) < len ? y->spec
                          : runner_target_kind_name(y->kind));
  if (strcmp(la, lb) == 0)
    snprintf(lb + strlen(lb), len - strlen(lb), "%s", "'");
}

/* A line of the comparison: a TAP comment under --tap, so the stream
 * stays TAP. */
static void say(const suite_t *su, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(const suite_t *su, const char *fmt, ...)
{
  va_list ap;

  if (su->cli->tap && fmt[0] == '\n') {
    fputs("#\n", stdout);
    fmt++;
  }
  if (su->cli->tap)
    fputs("# ", stdout);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
}

/* --diff: every scenario's runs on each target against the same attempt
 * on the first target, worker by worker. Returns how many comparisons
 * found a difference. */
static unsigned diff_targets(suite_t *su)
{
  const suite_cli_t *cli = su->cli;
  size_t n = cli->n_scenarios, i, k;
  unsigned a, differ = 0, same = 0;

  say(su, "\nclustersim diff: every target against %s, worker by worker\n",
         su->targets[0].spec);
  for (i = 0; i < n; i++)
    for (k = 1; k < su->n_targets; k++)
      for (a = 0; a < cli->repeat; a++) {
        const job_t *x = &su->jobs[i], *y = &su->jobs[k * n + i];
        base_diag_t d;
        size_t l;
        int w;
        char head[512], la[24], lb[24];
        snprintf(head, sizeof(head), "%s: %s vs %s", x->s->name,
                 x->target->spec, y->target->spec);
        if (cli->repeat > 1)
          snprintf(head + strlen(head), sizeof(head) - strlen(head),
                   " (attempt %u)", a + 1);
        if (x->skip_reason != NULL || y->skip_reason != NULL) {
          if (!cli->quiet)
            say(su, "%s: not compared (skipped on %s)\n", head,
                   x->skip_reason ? x->target->spec : y->target->spec);
          continue;
        }
        if (x->proj[a] == NULL || y->proj[a] == NULL) {
          say(su, "%s: not compared (no trace from %s)\n", head,
                 x->proj[a] == NULL ? x->target->spec : y->target->spec);
          continue;
        }
        base_diag_init(&d);
        short_labels(x->target, y->target, la, lb, sizeof(la));
        w = trace_projection_diff(x->proj[a], la, y->proj[a], lb, &d);
        if (w > 0) {
          differ++;
          say(su, "%s: %d worker%s differ%s\n", head, w, w == 1 ? "" : "s",
                 w == 1 ? "s" : "");
        } else {
          same++;
          if (!cli->quiet || d.count > 0)
            say(su, "%s: the same\n", head);
        }
        for (l = 0; l < d.count; l++)
          say(su, "%s\n", d.lines[l]);
        base_diag_free(&d);
      }
  say(su, "clustersim diff: %u the same, %u different\n", same, differ);
  return differ;
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

int suite_run(suite_cli_t *cli)
{
  suite_t su;
  base_diag_t diag;
  report_run_info_t info;
  report_counts_t counts;
  size_t i, k, n_cases;
  int ret = BASE_EXIT_PASS;
  char targets_text[256] = "";
  uint64_t seed;
  unsigned differ;

  memset(&su, 0, sizeof(su));
  base_diag_init(&diag);
  su.cli = cli;
  su.loop = uv_default_loop();
  /* a peer closing its end must be an error, not the harness's death */
  signal(SIGPIPE, SIG_IGN);

  su.targets = calloc(cli->n_targets, sizeof(*su.targets));
  if (su.targets == NULL)
    return BASE_EXIT_INTERNAL;
  for (i = 0; i < cli->n_targets; i++) {
    if (runner_target_parse(cli->targets[i], cli->self, cli->runtime,
                             CLUSTERSIM_SOURCE_DIR, &su.targets[i],
                             &diag) != 0) {
      for (k = 0; k < diag.count; k++)
        fprintf(stderr, "clustersim: %s\n", diag.lines[k]);
      ret = BASE_EXIT_USAGE;
      goto out;
    }
    su.n_targets++;
    snprintf(targets_text + strlen(targets_text),
             sizeof(targets_text) - strlen(targets_text), "%s%s",
             i ? "," : "", cli->targets[i]);
  }
  if (cli->trace_dir != NULL && mkdir(cli->trace_dir, 0777) != 0 &&
      errno != EEXIST) {
    fprintf(stderr, "clustersim: --trace-dir %s: %s\n", cli->trace_dir,
            strerror(errno));
    ret = BASE_EXIT_USAGE;
    goto out;
  }
  seed = cli->seed_set ? cli->seed : random_seed();

  su.jobs = calloc(cli->n_scenarios * su.n_targets + 1, sizeof(*su.jobs));
  if (su.jobs == NULL) {
    ret = BASE_EXIT_INTERNAL;
    goto out;
  }
  /* target by target: the same scenario never runs twice at once (some
   * use fixed ports) */
  for (k = 0; k < su.n_targets; k++)
    for (i = 0; i < cli->n_scenarios; i++) {
      job_t *j = &su.jobs[su.n_jobs++];
      j->suite = &su;
      j->s = cli->scenarios[i];
      j->target = &su.targets[k];
      j->seed = seed;
      j->skip_reason = runner_target_skip_reason(j->s, j->target);
      if (cli->diff &&
          (j->proj = calloc(cli->repeat, sizeof(*j->proj))) == NULL) {
        ret = BASE_EXIT_INTERNAL;
        goto out;
      }
    }

  memset(&info, 0, sizeof(info));
  info.name = "clustersim";
  info.command_line = cli->command_line;
  info.targets = targets_text;
  info.seed = seed;
  info.junit_strict = cli->junit_strict;
  {
    char shard[32];
    if (cli->shard_n > 0) {
      snprintf(shard, sizeof(shard), "%u/%u", cli->shard_i, cli->shard_n);
      info.shard = shard;
    }
    if (report_new(&su.report, &info) != 0) {
      ret = BASE_EXIT_INTERNAL;
      goto out;
    }
  }
  /* an invalid scenario is a case of the reports on every target, so the
   * plan and the progress count it */
  n_cases = su.n_jobs + cli->n_bad * su.n_targets;
  if (cli->tap)
    report_tap_new(&su.tap, stdout, (unsigned)n_cases, 0);
  else if (!cli->quiet)
    report_term_new(&su.term, stdout, (unsigned)n_cases, REPORT_TERM_AUTO,
                    uv_hrtime());
  if (cli->tap)
    printf("# seed %llu\n", (unsigned long long)seed);
  else if (!cli->quiet)
    printf("clustersim: %zu run%s, seed %llu, -j %u\n", su.n_jobs,
           su.n_jobs == 1 ? "" : "s", (unsigned long long)seed, cli->jobs);
  fflush(stdout);

  /* an invalid scenario is a testcase too: an error, with its messages */
  for (k = 0; k < su.n_targets; k++)
    for (i = 0; i < cli->n_bad; i++) {
      report_case_info_t ci;
      report_result_t rr;
      report_case_t *rc = NULL;
      const char *base = strrchr(cli->bad_files[i], '/');
      char name[256];
      memset(&ci, 0, sizeof(ci));
      snprintf(name, sizeof(name), "%s", base ? base + 1 : cli->bad_files[i]);
      if (strrchr(name, '.') != NULL)
        *strrchr(name, '.') = '\0';
      ci.scenario = name;
      ci.file = cli->bad_files[i];
      ci.line = 1;
      /* the line of the first error: "file:LINE:COL: error: ..." */
      if (cli->bad_details != NULL && cli->bad_details[i] != NULL &&
          strncmp(cli->bad_details[i], ci.file, strlen(ci.file)) == 0 &&
          cli->bad_details[i][strlen(ci.file)] == ':') {
        unsigned long l = strtoul(cli->bad_details[i] + strlen(ci.file) + 1,
                                  NULL, 10);
        if (l > 0 && l < 1000000)
          ci.line = (unsigned)l;
      }
      ci.target = su.targets[k].spec;
      ci.seed = seed;
      if (report_case_add(su.report, &ci, &rc) != 0)
        continue;
      if (su.term != NULL)
        report_term_case_start(su.term, rc, uv_hrtime());
      memset(&rr, 0, sizeof(rr));
      rr.outcome = REPORT_ERROR;
      rr.detail = cli->bad_details ? cli->bad_details[i] : NULL;
      rr.reason = "invalid scenario";
      if (rr.detail != NULL) {
        size_t n = strcspn(rr.detail, "\n");
        char *first = strndup(rr.detail, n);
        rr.reason = first ? first : rr.reason;
        rr.failed_event = -1;
        report_attempt_add(rc, &rr);
        free(first);
      } else {
        rr.failed_event = -1;
        report_attempt_add(rc, &rr);
      }
      su.outcomes[RUNNER_ERROR]++;
      if (su.tap != NULL)
        report_tap_case(su.tap, rc);
      if (su.term != NULL)
        report_term_case_end(su.term, rc, uv_hrtime());
    }
  if (cli->n_bad > 0)
    junit_checkpoint(&su);

  uv_signal_init(su.loop, &su.sigint);
  uv_signal_init(su.loop, &su.sigterm);
  su.sigint.data = su.sigterm.data = &su;
  uv_signal_start(&su.sigint, on_signal, SIGINT);
  uv_signal_start(&su.sigterm, on_signal, SIGTERM);
  uv_timer_init(su.loop, &su.ticker);
  su.ticker.data = &su;
  uv_timer_start(&su.ticker, on_ticker, 200, 200);
  su.started = uv_hrtime();

  start_more(&su);
  /* bounded: every run has its own deadline and kills what it started */
  uv_run(su.loop, UV_RUN_DEFAULT);

  if (cli->junit != NULL && report_junit_write(su.report, cli->junit) != 0) {
    if (!su.junit_failed)
      fprintf(stderr, "clustersim: cannot write %s\n", cli->junit);
    su.internal_error = true;
  }
  if (cli->html != NULL && report_html_write(su.report, cli->html) != 0) {
    fprintf(stderr, "clustersim: cannot write %s\n", cli->html);
    su.internal_error = true;
  }
  if (su.tap != NULL)
    report_tap_end(su.tap);
  if (su.term != NULL)
    report_term_summary(su.term, su.report, uv_hrtime());
  report_counts_get(su.report, &counts);
  if (!cli->tap) {
    double wall = (double)(uv_hrtime() - su.started) / 1e9;
    printf("clustersim: %u pass, %u fail, %u timeout, %u inconclusive, "
           "%u error, %u skip in %.2f s (seed %llu)\n",
           su.outcomes[RUNNER_PASS], su.outcomes[RUNNER_FAIL],
           su.outcomes[RUNNER_TIMEOUT], su.outcomes[RUNNER_INCONCLUSIVE],
           su.outcomes[RUNNER_ERROR], su.outcomes[RUNNER_SKIP], wall,
           (unsigned long long)seed);
  }

  differ = cli->diff && !su.interrupted ? diff_targets(&su) : 0;

  if (su.interrupted)
    ret = BASE_EXIT_INTERRUPTED;
  else if (su.internal_error)
    ret = BASE_EXIT_INTERNAL;
  else if (su.outcomes[RUNNER_ERROR] > 0 || cli->invalid > 0)
    ret = BASE_EXIT_SCENARIO;
  else if (su.outcomes[RUNNER_FAIL] + su.outcomes[RUNNER_TIMEOUT] > 0 ||
           differ > 0)
    ret = BASE_EXIT_FAIL;
  else if (su.outcomes[RUNNER_INCONCLUSIVE] > 0)
    ret = BASE_EXIT_INCONCLUSIVE;
  else
    ret = BASE_EXIT_PASS;

out:
  if (su.tap != NULL)
    report_tap_free(su.tap);
  if (su.term != NULL)
    report_term_free(su.term);
  if (su.report != NULL)
    report_free(su.report);
  for (i = 0; i < su.n_jobs; i++) {
    free(su.jobs[i].replay);
    for (k = 0; su.jobs[i].proj != NULL && k < cli->repeat; k++)
      trace_projection_free(su.jobs[i].proj[k]);
    free(su.jobs[i].proj);
  }
  free(su.jobs);
  for (i = 0; i < su.n_targets; i++)
    runner_target_free(&su.targets[i]);
  free(su.targets);
  base_diag_free(&diag);
  fflush(stdout);
  return ret;
}
