/*
 * explore-exec.c - running schedules: each one's YAML loaded as a
 * scenario and run on every target through the runner, -j runs at once
 * on one loop; SIGINT and SIGTERM abort every run (each kills and reaps
 * its processes) and stop the pools; a ticker for the progress line.
 */
#include "explore-internal.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void on_closed(uv_handle_t *h)
{
  (void)h;
}

static void abort_all(explore_t *ex, const char *reason)
{
  unsigned i;

  ex->aborted = true;
  for (i = 0; i < ex->n_running; i++)
    if (ex->running[i]->run != NULL)
      runner_run_abort(ex->running[i]->run, reason);
}

static void on_signal(uv_signal_t *h, int signum)
{
  explore_t *ex = h->data;
  char reason[64];

  snprintf(reason, sizeof(reason), "interrupted by %s",
           base_signal_name(signum) ? base_signal_name(signum) : "?");
  ex->interrupted = true;
  abort_all(ex, reason);
}

static void on_tick(uv_timer_t *t)
{
  explore_t *ex = t->data;

  if (ex->tick != NULL)
    ex->tick(ex);
}

int explore__exec_open(explore_t *ex)
{
  int rc;

  /* a peer closing its end must be an error, not the harness's death */
  signal(SIGPIPE, SIG_IGN);
  uv_signal_init(ex->loop, &ex->sigint);
  uv_signal_init(ex->loop, &ex->sigterm);
  uv_timer_init(ex->loop, &ex->ticker);
  ex->sigint.data = ex->sigterm.data = ex->ticker.data = ex;
  ex->handles_open = true;
  rc = uv_signal_start(&ex->sigint, on_signal, SIGINT);
  if (rc == 0)
    rc = uv_signal_start(&ex->sigterm, on_signal, SIGTERM);
  if (rc == 0)
    rc = uv_timer_start(&ex->ticker, on_tick, 200, 200);
  /* nothing keeps the loop alive but the runs */
  uv_unref((uv_handle_t *)&ex->ticker);
  uv_unref((uv_handle_t *)&ex->sigint);
  uv_unref((uv_handle_t *)&ex->sigterm);
  return rc;
}

void explore__exec_close(explore_t *ex)
{
  if (!ex->handles_open)
    return;
  ex->handles_open = false;
  uv_close((uv_handle_t *)&ex->sigint, on_closed);
  uv_close((uv_handle_t *)&ex->sigterm, on_closed);
  uv_close((uv_handle_t *)&ex->ticker, on_closed);
  uv_run(ex->loop, UV_RUN_DEFAULT);
}

char *explore__yaml(const explore_t *ex, const explore_schedule_t *s,
                    const char *comment)
{
  char name[64];

  return explore_schedule_yaml(&ex->base, &ex->gen, s,
                               explore__name(s, name, sizeof(name)), comment);
}

void explore__task_init(explore_t *ex, explore__task_t *t,
                        const explore_schedule_t *sched, uint64_t tag)
{
  size_t i;

  memset(t, 0, sizeof(*t));
  t->ex = ex;
  t->sched = *sched;
  t->tag = tag;
  t->busy = true;
  t->n_jobs = ex->n_targets;
  for (i = 0; i < t->n_jobs; i++) {
    t->jobs[i].task = t;
    t->jobs[i].target = i;
  }
}

/* ---------------------------------------------------------------------- */
/* One job                                                                 */

static void forget_running(explore_t *ex, explore__job_t *j)
{
  unsigned i;

  for (i = 0; i < ex->n_running; i++)
    if (ex->running[i] == j) {
      ex->running[i] = ex->running[--ex->n_running];
      return;
    }
}

static void on_run_done(runner_run_t *run, runner_result_t *r, void *arg)
{
  explore__job_t *j = arg;

  (void)run;
  forget_running(j->task->ex, j);
  j->run = NULL;
  j->result = r;
  j->done = true;
  j->task->finished++;
}

/* Loads the schedule's scenario and starts its run; a job that cannot
 * start is done at once, without a result. */
static void job_start(explore_t *ex, explore__job_t *j)
{
  explore__task_t *t = j->task;
  char name[64], file[80], *yaml = explore__yaml(ex, &t->sched, NULL);
  runner_opts_t o;
  base_diag_t diag;

  j->started = true;
  t->started++;
  base_diag_init(&diag);
  snprintf(file, sizeof(file), "%s.yaml",
           explore__name(&t->sched, name, sizeof(name)));
  if (yaml == NULL ||
      scenario_load_string(file, yaml, strlen(yaml), &diag,
                           &j->scenario) != 0) {
    /* a schedule is written by explore itself: a bug of explore */
    if (diag.count > 0)
      fprintf(stderr, "clustersim explore: %s\n", diag.lines[0]);
    ex->internal_error = true;
    goto out;
  }
  memset(&o, 0, sizeof(o));
  o.time_scale = ex->opts->time_scale;
  o.seed = t->sched.seed + t->sched.run;
  o.attempt = 1;
  if (runner_run_start(ex->loop, j->scenario, &ex->targets[j->target], &o,
                       on_run_done, j, &j->run) != 0) {
    ex->internal_error = true;
    goto out;
  }
  ex->running[ex->n_running++] = j;
  free(yaml);
  base_diag_free(&diag);
  return;
out:
  j->done = true;
  t->finished++;
  free(yaml);
  base_diag_free(&diag);
}

static void task_clear(explore__task_t *t)
{
  size_t i;

  for (i = 0; i < t->n_jobs; i++) {
    if (t->jobs[i].result != NULL) {
      runner_result_free(t->jobs[i].result);
      free(t->jobs[i].result);
    }
    scenario_free(t->jobs[i].scenario);
  }
  memset(t, 0, sizeof(*t));
}

/* ---------------------------------------------------------------------- */
/* Pools                                                                   */

/* A job of a busy task that has not started, or NULL. */
static explore__job_t *next_job(explore__pool_t *p)
{
  size_t i, k;

  for (i = 0; i < p->n_slots; i++) {
    explore__task_t *t = &p->slots[i];
    if (!t->busy || t->started == t->n_jobs)
      continue;
    for (k = 0; k < t->n_jobs; k++)
      if (!t->jobs[k].started)
        return &t->jobs[k];
  }
  return NULL;
}

static explore__task_t *free_slot(explore__pool_t *p)
{
  size_t i;

  for (i = 0; i < p->n_slots; i++)
    if (!p->slots[i].busy)
      return &p->slots[i];
  return NULL;
}

/* Starts what -j allows. */
static void fill(explore_t *ex, explore__pool_t *p)
{
  while (ex->n_running < ex->jobs && !ex->interrupted) {
    explore__job_t *j = next_job(p);
    explore__task_t *t;
    if (j != NULL) {
      job_start(ex, j);
      continue;
    }
    if (p->stop || p->exhausted || (t = free_slot(p)) == NULL)
      return;
    if (!p->next(ex, p, t)) {
      p->exhausted = true;
      return;
    }
  }
}

/* Hands every task whose jobs have all ended to `done`. */
static bool reap(explore_t *ex, explore__pool_t *p)
{
  bool busy = false;
  size_t i;

  for (i = 0; i < p->n_slots; i++) {
    explore__task_t *t = &p->slots[i];
    if (!t->busy)
      continue;
    if (t->finished < t->n_jobs &&
        !(ex->interrupted && t->started == t->finished)) {
      busy = true;
      continue;
    }
    if (!ex->interrupted)
      p->done(ex, p, t);
    task_clear(t);
  }
  return busy;
}

void explore__pool_run(explore_t *ex, explore__pool_t *p)
{
  for (;;) {
    fill(ex, p);
    if (!reap(ex, p) && (p->stop || p->exhausted || ex->interrupted) &&
        ex->n_running == 0)
      break;
    if (ex->interrupted && !ex->aborted)
      abort_all(ex, "interrupted");
    if (ex->n_running > 0)
      uv_run(ex->loop, UV_RUN_ONCE);
  }
}
