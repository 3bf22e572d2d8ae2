/*
 * explore-find.c - findings: what each ended run broke (and the first
 * failing run of every property, kept), differential candidates
 * confirmed, and each finding reproduced, shrunk and confirmed, then
 * written out as scenario files with their shrink log. A run reproduces a
 * finding when it breaks the same property the same way (the first
 * violation's message, numbers aside: explore_failure_same): a candidate
 * that breaks it another way, say an exit missing where a disconnect was,
 * is another bug that shrinking must not drift to.
 */
#include "explore-internal.h"

#include <stdlib.h>
#include <string.h>

static double scale_of(const explore_t *ex)
{
  return ex->opts->time_scale > 0 ? ex->opts->time_scale : 1.0;
}

/* Whether the run could not carry out a step of its schedule. */
static bool step_failed(const runner_result_t *r)
{
  size_t i;

  for (i = 0; i < r->findings.count; i++)
    if (strcmp(r->findings.items[i].rule, "step") == 0)
      return true;
  return false;
}

static void keep_finding(explore_t *ex, explore__task_t *t, size_t k,
                         const explore_violation_t *v)
{
  explore__finding_t *f = &ex->st->findings[v->prop];

  if (f->set)
    return;
  f->set = true;
  f->prop = v->prop;
  f->target = k;
  f->original = t->sched;
  f->message = strdup(v->message);
  /* the run itself, for the report */
  f->seen = t->jobs[k].result;
  t->jobs[k].result = NULL;
}

static void judge_run(explore_t *ex, explore__task_t *t, size_t k)
{
  explore__state_t *st = ex->st;
  runner_result_t *r = t->jobs[k].result;
  explore_violations_t v;
  size_t i;

  memset(&v, 0, sizeof(v));
  st->runs++;
  st->outcomes[r->outcome]++;
  if (step_failed(r))
    st->step_failed++;
  explore__measure_run(ex, &t->sched, k, r);
  if (explore_check(&ex->base, r,
                    ex->checks & ~EXPLORE_PROP_BIT(EXPLORE_PROP_DIFF),
                    scale_of(ex), &v) != 0)
    ex->internal_error = true;
  if (v.count > 0)
    st->failing_runs++;
  for (i = 0; i < v.count; i++) {
    st->prop_runs[v.items[i].prop]++;
    if (!ex->opts->quiet || !st->findings[v.items[i].prop].set)
      printf("%srun %llu [%s]: %s: %s\n", st->tty ? "\r" : "",
             (unsigned long long)t->sched.run, ex->targets[k].spec,
             explore_prop_name(v.items[i].prop), v.items[i].message);
    keep_finding(ex, t, k, &v.items[i]);
  }
  fflush(stdout);
  explore_violations_free(&v);
}

static void keep_sample(explore_t *ex, explore__task_t *t, size_t k)
{
  explore__state_t *st = ex->st;
  runner_result_t *r = t->jobs[k].result;

  if (r == NULL || !r->load.ran || st->n_samples >= EXPLORE__SAMPLES)
    return;
  st->sample_sched[st->n_samples] = t->sched;
  st->sample_target[st->n_samples] = k;
  st->samples[st->n_samples++] = r;
  t->jobs[k].result = NULL;
}

/* The first runs of a schedule differed between targets: a candidate. */
static void diff_candidates(explore_t *ex, explore__task_t *t)
{
  explore__state_t *st = ex->st;
  size_t k;

  for (k = 1; k < t->n_jobs; k++) {
    base_diag_t d;
    base_diag_init(&d);
    if (t->jobs[0].result != NULL && t->jobs[k].result != NULL &&
        explore__diff(t->jobs[0].result, ex->targets[0].spec,
                      t->jobs[k].result, ex->targets[k].spec, &d) == 1) {
      st->diff_schedules++;
      if (st->n_diffs < EXPLORE__MAX_DIFFS) {
        explore__diff_t *c = &st->diffs[st->n_diffs++];
        base_buf_t b = BASE_BUF_INIT;
        size_t i;
        for (i = 0; i < d.count; i++)
          base_buf_appendf(&b, "%s\n", d.lines[i]);
        c->sched = t->sched;
        c->target = k;
        c->first = base_buf_detach(&b);
      }
    }
    base_diag_free(&d);
  }
}

void explore__task_judge(explore_t *ex, explore__task_t *t)
{
  size_t k;

  ex->st->schedules++;
  for (k = 0; k < t->n_jobs; k++) {
    if (t->jobs[k].result == NULL) {
      ex->internal_error = true;
      continue;
    }
    judge_run(ex, t, k);
  }
  if (t->n_jobs > 1 && (ex->checks & EXPLORE_PROP_BIT(EXPLORE_PROP_DIFF)))
    diff_candidates(ex, t);
  for (k = 0; k < t->n_jobs; k++)
    keep_sample(ex, t, k);
}

/* ---------------------------------------------------------------------- */
/* Running one schedule again                                              */

/* How long a schedule is run again: all `want` times, or until the first
 * run that fails, or until the first that does not. */
typedef enum { UNTIL_ALL, UNTIL_FAIL, UNTIL_PASS } until_t;

typedef struct {
  const explore_schedule_t *sched;
  explore_prop_t prop;
  const char *message;       /* the failure, NULL: any of the property */
  unsigned want, issued;     /* tasks */
  unsigned failed, ended, runs;
  unsigned other;            /* runs that broke the property another way */
  until_t until;
  runner_result_t *keep;     /* the first failing run (taken) */
  runner_result_t *pairs[2][EXPLORE__MAX_TARGETS];  /* differential */
  unsigned n_pairs;
} repeat_t;

static bool repeat_next(explore_t *ex, explore__pool_t *p, explore__task_t *t)
{
  repeat_t *r = p->arg;

  if (r->issued >= r->want || ex->interrupted)
    return false;
  explore__task_init(ex, t, r->sched, r->issued++);
  return true;
}

static void repeat_done(explore_t *ex, explore__pool_t *p, explore__task_t *t)
{
  repeat_t *r = p->arg;
  size_t k;

  r->ended++;
  r->runs += (unsigned)t->n_jobs;
  if (r->prop == EXPLORE_PROP_DIFF) {
    for (k = 0; k < t->n_jobs && r->n_pairs < 2; k++) {
      r->pairs[r->n_pairs][k] = t->jobs[k].result;
      t->jobs[k].result = NULL;
    }
    r->n_pairs++;
    return;
  }
  for (k = 0; k < t->n_jobs; k++) {
    explore_violations_t v;
    bool broke;
    memset(&v, 0, sizeof(v));
    broke = t->jobs[k].result != NULL &&
            explore_check(&ex->base, t->jobs[k].result,
                          EXPLORE_PROP_BIT(r->prop), scale_of(ex), &v) == 0;
    if (broke && explore_violations_same(&v, r->prop, r->message)) {
      r->failed++;
      if (r->keep == NULL) {
        r->keep = t->jobs[k].result;
        t->jobs[k].result = NULL;
      }
      if (r->until == UNTIL_FAIL)
        p->stop = true;
    } else {
      if (broke && v.count > 0)
        r->other++;
      if (r->until == UNTIL_PASS)
        p->stop = true;
    }
    explore_violations_free(&v);
  }
}

static void repeat_run(explore_t *ex, repeat_t *r)
{
  explore__task_t *slots = calloc(EXPLORE__MAX_JOBS, sizeof(*slots));
  explore__pool_t pool;

  if (slots == NULL) {
    ex->internal_error = true;
    return;
  }
  memset(&pool, 0, sizeof(pool));
  pool.next = repeat_next;
  pool.done = repeat_done;
  pool.arg = r;
  pool.slots = slots;
  pool.n_slots = ex->jobs < r->want ? ex->jobs : r->want;
  explore__pool_run(ex, &pool);
  free(slots);
}

static void result_drop(runner_result_t **r)
{
  if (*r != NULL) {
    runner_result_free(*r);
    free(*r);
    *r = NULL;
  }
}

static void repeat_clear(repeat_t *r)
{
  size_t i, k;

  result_drop(&r->keep);
  for (i = 0; i < 2; i++)
    for (k = 0; k < EXPLORE__MAX_TARGETS; k++)
      result_drop(&r->pairs[i][k]);
}

/* Twice on every target: each target tells the same story both times,
 * and target k another one than the first. */
static bool diff_stable(explore_t *ex, repeat_t *r, size_t k, char **first)
{
  runner_result_t *(*p)[EXPLORE__MAX_TARGETS] = r->pairs;
  base_diag_t d;
  bool stable;
  size_t i;

  if (r->n_pairs < 2 || p[0][0] == NULL || p[1][0] == NULL ||
      p[0][k] == NULL || p[1][k] == NULL)
    return false;
  base_diag_init(&d);
  stable = explore__diff(p[0][0], "a", p[1][0], "b", NULL) == 0 &&
           explore__diff(p[0][k], "a", p[1][k], "b", NULL) == 0 &&
           explore__diff(p[0][0], ex->targets[0].spec, p[0][k],
                         ex->targets[k].spec, &d) == 1;
  if (stable && first != NULL) {
    base_buf_t b = BASE_BUF_INIT;
    for (i = 0; i < d.count; i++)
      base_buf_appendf(&b, "%s\n", d.lines[i]);
    *first = base_buf_detach(&b);
  }
  base_diag_free(&d);
  return stable;
}

/* ---------------------------------------------------------------------- */
/* Differential candidates                                                 */

static void confirm_diff(explore_t *ex, explore__diff_t *c)
{
  explore__state_t *st = ex->st;
  explore__finding_t *f = &st->findings[EXPLORE_PROP_DIFF];
  repeat_t r;

  memset(&r, 0, sizeof(r));
  r.sched = &c->sched;
  r.prop = EXPLORE_PROP_DIFF;
  r.want = 2;
  repeat_run(ex, &r);
  c->checked = !ex->interrupted;
  c->confirmed = diff_stable(ex, &r, c->target, NULL);
  if (c->confirmed) {
    st->prop_runs[EXPLORE_PROP_DIFF]++;
    st->failing_runs++;
    printf("run %llu [%s vs %s]: differential: confirmed\n%s",
           (unsigned long long)c->sched.run, ex->targets[0].spec,
           ex->targets[c->target].spec, c->first ? c->first : "");
  }
  if (c->confirmed && !f->set) {
    f->set = true;
    f->prop = EXPLORE_PROP_DIFF;
    f->target = c->target;
    f->original = c->sched;
    f->message = c->first ? strdup(c->first) : NULL;
    f->seen = r.pairs[0][c->target];
    r.pairs[0][c->target] = NULL;
  }
  repeat_clear(&r);
}

/* ---------------------------------------------------------------------- */
/* Shrinking                                                               */

typedef struct {
  explore_t *ex;
  explore__finding_t *f;
  explore_schedule_t *kept;  /* the candidates kept, in order (owned) */
  size_t n_kept, cap_kept;
} shrink_arg_t;

/* Candidates confirmed at most after the last one kept fails less often
 * than the original did; then the original itself is the finding. */
#define MAX_FALLBACKS 3

/* Runs the schedule up to `want` times (as `until` says); how many
 * failed as `f` did. The first failing run goes to *keep if not NULL. */
static unsigned fails(explore_t *ex, explore__finding_t *f,
                      const explore_schedule_t *s, unsigned want,
                      until_t until, runner_result_t **keep, unsigned *runs)
{
  repeat_t r;
  unsigned n;

  memset(&r, 0, sizeof(r));
  r.sched = s;
  r.prop = f->prop;
  r.message = f->message;
  if (f->prop == EXPLORE_PROP_DIFF) {
    /* a difference counts when both targets repeat their own stories */
    unsigned i, got = 0;
    for (i = 0; i < want && !ex->interrupted; i++) {
      r.want = 2;
      r.issued = r.n_pairs = 0;
      repeat_run(ex, &r);
      *runs += r.runs;
      r.runs = 0;
      if (diff_stable(ex, &r, f->target, NULL)) {
        got++;
        if (keep != NULL && *keep == NULL) {
          *keep = r.pairs[0][f->target];
          r.pairs[0][f->target] = NULL;
        }
      }
      repeat_clear(&r);
      if ((until == UNTIL_FAIL && got > 0) || (until == UNTIL_PASS &&
                                               got < i + 1))
        break;
    }
    return got;
  }
  r.want = want;
  r.until = until;
  repeat_run(ex, &r);
  *runs += r.runs;
  f->other_fail += r.other;
  n = r.failed;
  if (keep != NULL && *keep == NULL) {
    *keep = r.keep;
    r.keep = NULL;
  }
  repeat_clear(&r);
  return n;
}

/* A candidate still fails: when the finding reproduced every time, it
 * must fail as the finding did in every one of --shrink-tries runs (a
 * deterministic failure shrinks to a deterministic one, not to a flake);
 * else once in --shrink-tries runs, and confirmation decides. */
static int still_fails(const explore_schedule_t *cand, void *arg)
{
  shrink_arg_t *a = arg;
  explore__finding_t *f = a->f;
  unsigned tries = a->ex->opts->shrink_tries ? a->ex->opts->shrink_tries : 3;
  bool strict = f->repro_fail == f->repro_runs;
  unsigned n;
  bool ok;

  if (a->ex->interrupted)
    return -1;
  n = fails(a->ex, f, cand, tries, strict ? UNTIL_PASS : UNTIL_FAIL, NULL,
            &f->shrink_runs);
  if (a->ex->interrupted)
    return -1;
  ok = strict ? n == tries : n > 0;
  /* out of memory: the fallback then ends at the original */
  if (ok && base_array_grow(&a->kept, &a->cap_kept, a->n_kept + 1,
                            sizeof(*a->kept)) == 0)
    a->kept[a->n_kept++] = *cand;
  return ok;
}

static unsigned confirm_runs(const explore_t *ex)
{
  return ex->opts->confirm ? ex->opts->confirm : 5;
}

/* Whether the shrunk schedule failed at least as often as the original. */
static bool as_often(const explore__finding_t *f)
{
  return (uint64_t)f->confirm_fail * f->repro_runs >=
         (uint64_t)f->repro_fail * f->confirm_runs;
}

/* Confirms the shrunk schedule; while it fails less often than the
 * original, the candidate kept before it (a few at most), and at last the
 * original itself. */
static void confirm_small(explore_t *ex, explore__finding_t *f,
                          const shrink_arg_t *a, base_buf_t *log)
{
  size_t i = a->n_kept;
  unsigned runs;

  f->confirm_runs = confirm_runs(ex);
  for (;;) {
    runs = 0;
    f->confirm_fail = fails(ex, f, &f->small, f->confirm_runs, UNTIL_ALL,
                            &f->shown, &runs);
    f->shrink_runs += runs;
    if (ex->interrupted || as_often(f))
      break;
    base_buf_appendf(log, "confirm (%zu actions): failed %u of %u runs, "
                          "less often than the original: ",
                     f->small.n_steps, f->confirm_fail, f->confirm_runs);
    result_drop(&f->shown);
    f->fallbacks++;
    if (i < 2 || f->fallbacks > MAX_FALLBACKS) {
      base_buf_appends(log, "back to the original\n");
      f->small = f->original;
      f->confirm_fail = f->repro_fail;
      f->confirm_runs = f->repro_runs;
      break;
    }
    f->small = a->kept[--i - 1];
    base_buf_appends(log, "back to the candidate kept before it\n");
  }
  f->stats.steps_after = f->small.n_steps;
}

static void work_one(explore_t *ex, explore__finding_t *f, base_buf_t *log)
{
  shrink_arg_t arg = {ex, f, NULL, 0, 0};
  unsigned runs = 0;

  f->repro_runs = confirm_runs(ex);
  f->repro_fail = fails(ex, f, &f->original, f->repro_runs, UNTIL_ALL, NULL,
                        &runs);
  f->shrink_runs += runs;
  base_buf_appendf(log, "original: failed %u of %u runs\n", f->repro_fail,
                   f->repro_runs);
  if (ex->interrupted || ex->opts->no_shrink || f->repro_fail == 0) {
    f->small = f->original;
    if (f->repro_fail == 0)
      base_buf_appends(log, "not reproduced: not shrunk (a flake?)\n");
    return;
  }
  explore_shrink(&f->original, still_fails, &arg, &f->small, &f->stats, log);
  f->shrunk = true;
  confirm_small(ex, f, &arg, log);
  free(arg.kept);
  base_buf_appendf(log, "shrunk: %zu -> %zu actions in %u candidates, %u "
                        "runs in all (%u broke %s another way: not the "
                        "finding); the shrunk schedule failed %u of %u "
                        "runs\n", f->stats.steps_before, f->stats.steps_after,
                   f->stats.tests, f->shrink_runs, f->other_fail,
                   explore_prop_name(f->prop), f->confirm_fail,
                   f->confirm_runs);
}

/* How the finding's scenario shows it. */
static char *how_text(const explore_t *ex, const explore__finding_t *f)
{
  char *replay;
  char *how;

  if (f->prop == EXPLORE_PROP_DIFF)
    return base_asprintf("run it with `clustersim diff FILE --target %s "
                         "--target %s`", ex->targets[0].spec,
                         ex->targets[f->target].spec);
  if (explore_prop_how(f->prop) != EXPLORE_HOW_CHECK)
    return base_asprintf("`clustersim run FILE --target %s` fails on it",
                         ex->targets[f->target].spec);
  replay = explore__replay(ex, &f->small);
  how = base_asprintf("explore checks it on the trace: `%s --check %s`",
                      replay ? replay : "?", explore_prop_name(f->prop));
  free(replay);
  return how;
}

/* The comment on top of a finding's scenario. */
static char *finding_comment(const explore_t *ex, const explore__finding_t *f,
                             bool shrunk)
{
  const char *msg = f->message ? f->message : "";
  char *how = how_text(ex, f), *replay = explore__replay(ex, &f->original);
  char *state, *c;

  state = shrunk && f->shrunk
              ? base_asprintf("shrunk from %zu to %zu actions in %u "
                              "candidates (%u runs); it failed %u of %u "
                              "runs", f->stats.steps_before,
                              f->stats.steps_after, f->stats.tests,
                              f->shrink_runs, f->confirm_fail,
                              f->confirm_runs)
              : base_asprintf("as drawn; it failed %u of %u runs again",
                              f->repro_fail, f->repro_runs);
  c = base_asprintf("clustersim explore: property %s: %s\n%s\n"
                    "found: seed %llu, run %llu, target %s:\n  %.*s\n"
                    "%s\nreplay the original: %s",
                    explore_prop_name(f->prop), explore_prop_doc(f->prop),
                    how ? how : "", (unsigned long long)f->original.seed,
                    (unsigned long long)f->original.run,
                    ex->targets[f->target].spec, (int)strcspn(msg, "\n"),
                    msg, state ? state : "", replay ? replay : "");
  free(how);
  free(replay);
  free(state);
  return c;
}

static char *write_yaml(explore_t *ex, const explore__finding_t *f,
                        bool shrunk, const char *suffix)
{
  char *comment = finding_comment(ex, f, shrunk), *yaml, *file, *path;
  char name[64];

  yaml = explore__yaml(ex, shrunk ? &f->small : &f->original, comment);
  file = base_asprintf("%s-%s%s", explore__name(&f->original, name,
                                                sizeof(name)),
                       explore_prop_name(f->prop), suffix);
  path = yaml && file ? explore__out_write(ex, file, yaml) : NULL;
  free(comment);
  free(yaml);
  free(file);
  return path;
}

/* The trace of a run of the finding, next to its scenario. */
static void write_trace(explore_t *ex, const explore__finding_t *f,
                        const runner_result_t *r, const char *suffix)
{
  char name[64], *file, *path;

  if (r == NULL)
    return;
  file = base_asprintf("%s-%s%s", explore__name(&f->original, name,
                                                sizeof(name)),
                       explore_prop_name(f->prop), suffix);
  path = file ? explore__out_path(ex, file) : NULL;
  if (path == NULL || trace_write(&r->trace, path) != 0)
    fprintf(stderr, "clustersim explore: cannot write %s\n",
            path ? path : "a trace");
  free(file);
  free(path);
}

static void write_finding(explore_t *ex, explore__finding_t *f,
                          base_buf_t *log)
{
  char name[64], *file;

  write_trace(ex, f, f->seen, ".original.jsonl");
  write_trace(ex, f, f->shown, ".jsonl");
  f->original_file = write_yaml(ex, f, false, ".original.yaml");
  f->scenario_file = write_yaml(ex, f, true, ".yaml");
  file = base_asprintf("%s-%s.shrink.log",
                       explore__name(&f->original, name, sizeof(name)),
                       explore_prop_name(f->prop));
  if (file != NULL && log->base != NULL)
    f->log_file = explore__out_write(ex, file, log->base);
  free(file);
  if (f->scenario_file == NULL || f->original_file == NULL)
    ex->internal_error = true;
}

/* The log's head: the property, where it was found, the schedule. */
static void log_head(const explore_t *ex, const explore__finding_t *f,
                     base_buf_t *log)
{
  char *text = explore_schedule_text(&f->original);

  base_buf_appendf(log, "property %s, seed %llu, run %llu, target %s\n"
                        "%s\nschedule:\n%s\n",
                   explore_prop_name(f->prop),
                   (unsigned long long)f->original.seed,
                   (unsigned long long)f->original.run,
                   ex->targets[f->target].spec, f->message ? f->message : "",
                   text ? text : "");
  free(text);
}

static void log_tail(const explore__finding_t *f, base_buf_t *log)
{
  char *text = explore_schedule_text(&f->small);

  base_buf_appendf(log, "\nshrunk schedule:\n%s", text ? text : "");
  free(text);
}

void explore__findings_work(explore_t *ex)
{
  explore__state_t *st = ex->st;
  size_t i;

  for (i = 0; i < st->n_diffs && !ex->interrupted; i++)
    confirm_diff(ex, &st->diffs[i]);
  for (i = 0; i < EXPLORE_PROP_COUNT; i++) {
    explore__finding_t *f = &st->findings[i];
    base_buf_t log = BASE_BUF_INIT;
    if (!f->set)
      continue;
    log_head(ex, f, &log);
    /* interrupted: what was found is written as drawn */
    if (ex->interrupted) {
      f->small = f->original;
      base_buf_appends(&log, "interrupted before it was shrunk\n");
    } else {
      if (!ex->opts->quiet)
        printf("shrinking the %s finding of run %llu...\n",
               explore_prop_name(f->prop),
               (unsigned long long)f->original.run);
      fflush(stdout);
      st->shrinking = f;
      work_one(ex, f, &log);
      st->shrinking = NULL;
      if (st->tty && !ex->opts->quiet)
        fprintf(stderr, "\n");
    }
    log_tail(f, &log);
    write_finding(ex, f, &log);
    base_buf_free(&log);
  }
}
