/*
 * explore-out.c - what explore writes: every run's figures (runs.jsonl)
 * and their totals, the files of the output folder (written atomically),
 * summary.json (runs, findings per property, the shrunk scenarios,
 * differences, the distribution of actions, the measurements) and the
 * closing lines.
 */
#include "explore-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* Files                                                                   */

char *explore__out_path(const explore_t *ex, const char *file)
{
  return base_asprintf("%s/%s", ex->opts->out_dir, file);
}

char *explore__out_write(const explore_t *ex, const char *file,
                         const char *text)
{
  char *path = explore__out_path(ex, file);
  char *tmp = path ? base_asprintf("%s.tmp%d", path, (int)getpid()) : NULL;
  size_t len = strlen(text);
  FILE *f = tmp ? fopen(tmp, "we") : NULL;
  bool ok = f != NULL && fwrite(text, 1, len, f) == len;

  if (f != NULL && fclose(f) != 0)
    ok = false;
  if (ok && rename(tmp, path) != 0)
    ok = false;
  if (!ok) {
    fprintf(stderr, "clustersim explore: cannot write %s: %s\n",
            path ? path : file, strerror(errno));
    if (tmp != NULL)
      unlink(tmp);
    free(path);
    path = NULL;
  }
  free(tmp);
  return path;
}

char *explore__replay(const explore_t *ex, const explore_schedule_t *s)
{
  base_buf_t b = BASE_BUF_INIT;
  size_t i;

  base_buf_appendf(&b, "clustersim explore --seed %llu --run %llu",
                   (unsigned long long)s->seed, (unsigned long long)s->run);
  for (i = 0; i < ex->n_targets; i++)
    if (ex->n_targets > 1 || strcmp(ex->targets[i].spec, "builtin") != 0)
      base_buf_appendf(&b, " --target '%s'", ex->targets[i].spec);
  if (ex->opts->steps != 6)
    base_buf_appendf(&b, " --steps %u", ex->opts->steps);
  if (ex->opts->load != NULL && strcmp(ex->opts->load, "random") != 0)
    base_buf_appendf(&b, " --load %s", ex->opts->load);
  if (ex->opts->min_delay_ms > 0)
    base_buf_appendf(&b, " --min-delay %u", ex->opts->min_delay_ms);
  if (ex->opts->time_scale != 1.0)
    base_buf_appendf(&b, " --time-scale %g", ex->opts->time_scale);
  if (ex->base.file != NULL)
    base_buf_appendf(&b, " %s", ex->base.file);
  else if (ex->opts->workers != 2 || ex->opts->respawn != NULL ||
           ex->opts->scheduling != NULL)
    base_buf_appendf(&b, " --workers %u%s%s%s%s", ex->opts->workers,
                     ex->opts->respawn ? " --respawn " : "",
                     ex->opts->respawn ? ex->opts->respawn : "",
                     ex->opts->scheduling ? " --scheduling " : "",
                     ex->opts->scheduling ? ex->opts->scheduling : "");
  return base_buf_detach(&b);
}

/* ---------------------------------------------------------------------- */
/* Measurements of each run                                                */

static explore__fault_stats_t *fault_stats(explore__state_t *st,
                                           const char *action)
{
  size_t i;

  for (i = 0; i < st->n_fault_stats; i++)
    if (strcmp(st->fault_stats[i].action, action) == 0)
      return &st->fault_stats[i];
  if (st->n_fault_stats == sizeof(st->fault_stats) / sizeof(st->fault_stats[0]))
    return NULL;
  snprintf(st->fault_stats[st->n_fault_stats].action,
           sizeof(st->fault_stats[0].action), "%s", action);
  return &st->fault_stats[st->n_fault_stats++];
}

static void add_fault(explore__state_t *st, const explore_fault_t *f)
{
  explore__fault_stats_t *s = fault_stats(st, f->action);

  if (s == NULL)
    return;
  s->faults++;
  if (f->recovery_ms >= 0) {
    s->dropped++;
    s->restored++;
    s->recovery_sum_ms += f->recovery_ms;
    if (f->recovery_ms > s->recovery_max_ms)
      s->recovery_max_ms = f->recovery_ms;
  } else if (f->recovery_ms == -2) {
    s->dropped++;
    s->unrestored++;
  }
  if (f->ok_before + f->failed_before + f->ok_after + f->failed_after == 0)
    return;
  s->with_load++;
  s->failed_after += f->failed_after;
  s->p99_before_sum_us += f->p99_before_us;
  s->p99_after_sum_us += f->p99_after_us;
  if (f->max_after_us > s->max_after_us)
    s->max_after_us = f->max_after_us;
}

static cJSON *fault_json(const trace_t *tr, const explore_fault_t *f)
{
  cJSON *j = cJSON_CreateObject();

  if (j == NULL)
    return NULL;
  cJSON_AddStringToObject(j, "action", f->action);
  if (f->worker != 0)
    cJSON_AddNumberToObject(j, "worker", f->worker);
  cJSON_AddNumberToObject(j, "at_s", trace_secs(tr, f->t_ns));
  cJSON_AddNumberToObject(j, "recovery_ms", (double)f->recovery_ms);
  cJSON_AddNumberToObject(j, "failed_after", (double)f->failed_after);
  cJSON_AddNumberToObject(j, "p99_before_us", (double)f->p99_before_us);
  cJSON_AddNumberToObject(j, "p99_after_us", (double)f->p99_after_us);
  cJSON_AddNumberToObject(j, "max_after_us", (double)f->max_after_us);
  return j;
}

static void latency_json(cJSON *j, const load_hist_t *h)
{
  cJSON_AddNumberToObject(j, "count", (double)h->count);
  cJSON_AddNumberToObject(j, "p50_us", (double)load_hist_percentile(h, 50));
  cJSON_AddNumberToObject(j, "p99_us", (double)load_hist_percentile(h, 99));
  cJSON_AddNumberToObject(j, "p999_us",
                          (double)load_hist_percentile(h, 99.9));
  cJSON_AddNumberToObject(j, "max_us", (double)h->max);
}

static void log_run(explore_t *ex, const explore_schedule_t *s, size_t target,
                    const runner_result_t *r, const explore_measure_t *m)
{
  cJSON *j = cJSON_CreateObject(), *faults;
  char *line;
  size_t i;

  if (j == NULL || ex->st->runs_log == NULL) {
    cJSON_Delete(j);
    return;
  }
  cJSON_AddNumberToObject(j, "run", (double)s->run);
  cJSON_AddStringToObject(j, "target", ex->targets[target].spec);
  cJSON_AddStringToObject(j, "outcome", runner_outcome_name(r->outcome));
  if (r->outcome != RUNNER_PASS && r->reason != NULL)
    cJSON_AddStringToObject(j, "reason", r->reason);
  cJSON_AddNumberToObject(j, "duration_s",
                          (double)(r->ended_ns - r->started_ns) / 1e9);
  if (m->load) {
    cJSON_AddNumberToObject(j, "requests", (double)m->requests);
    cJSON_AddNumberToObject(j, "failed", (double)m->failed);
    cJSON_AddNumberToObject(j, "availability", m->availability);
    if (m->latency.latency.count > 0)
      latency_json(cJSON_AddObjectToObject(j, "latency"),
                   &m->latency.latency);
  }
  cJSON_AddNumberToObject(j, "no_listener_ms", (double)m->no_listener_ms);
  faults = cJSON_AddArrayToObject(j, "faults");
  for (i = 0; faults != NULL && i < m->n_faults; i++)
    cJSON_AddItemToArray(faults, fault_json(&r->trace, &m->faults[i]));
  line = cJSON_PrintUnformatted(j);
  if (line != NULL)
    fprintf(ex->st->runs_log, "%s\n", line);
  free(line);
  cJSON_Delete(j);
}

void explore__measure_run(explore_t *ex, const explore_schedule_t *s,
                          size_t target, const runner_result_t *r)
{
  explore__state_t *st = ex->st;
  explore_measure_t m;
  size_t i;

  if (explore_measure(&r->trace, ex->opts->window_ms, &m) != 0) {
    ex->internal_error = true;
    return;
  }
  if (m.load) {
    st->load_runs++;
    st->requests += m.requests;
    st->ok += m.ok;
    st->retried += m.retried;
    st->failed += m.failed;
    load_hist_merge(st->latency, &m.latency.latency);
  }
  if (m.no_listener_ms > 0) {
    st->gap_runs++;
    st->gap_ms += m.no_listener_ms;
  }
  for (i = 0; i < m.n_faults; i++)
    add_fault(st, &m.faults[i]);
  log_run(ex, s, target, r, &m);
  explore_measure_free(&m);
}

/* ---------------------------------------------------------------------- */
/* summary.json                                                            */

static cJSON *runs_json(const explore_t *ex)
{
  const explore__state_t *st = ex->st;
  double secs = (double)st->explore_ns / 1e9;
  cJSON *j = cJSON_CreateObject(), *o;
  int k;

  if (j == NULL)
    return NULL;
  cJSON_AddNumberToObject(j, "schedules", (double)st->schedules);
  cJSON_AddNumberToObject(j, "runs", (double)st->runs);
  cJSON_AddNumberToObject(j, "seconds", secs);
  cJSON_AddNumberToObject(j, "runs_per_second",
                          secs > 0 ? (double)st->runs / secs : 0);
  cJSON_AddStringToObject(j, "stopped_by", st->stopped ? st->stopped : "");
  cJSON_AddNumberToObject(j, "step_not_carried_out", (double)st->step_failed);
  o = cJSON_AddObjectToObject(j, "outcomes");
  for (k = 0; o != NULL && k < RUNNER_OUTCOME_COUNT; k++)
    cJSON_AddNumberToObject(o, runner_outcome_name((runner_outcome_t)k),
                            (double)st->outcomes[k]);
  return j;
}

static cJSON *finding_json(const explore_t *ex, const explore__finding_t *f)
{
  cJSON *j = cJSON_CreateObject(), *s;
  char *replay = explore__replay(ex, &f->original);

  if (j == NULL) {
    free(replay);
    return NULL;
  }
  cJSON_AddStringToObject(j, "property", explore_prop_name(f->prop));
  cJSON_AddNumberToObject(j, "seed", (double)f->original.seed);
  cJSON_AddNumberToObject(j, "run", (double)f->original.run);
  cJSON_AddStringToObject(j, "target", ex->targets[f->target].spec);
  cJSON_AddStringToObject(j, "message", f->message ? f->message : "");
  cJSON_AddStringToObject(j, "replay", replay ? replay : "");
  cJSON_AddNumberToObject(j, "reproduced", f->repro_fail);
  cJSON_AddNumberToObject(j, "reproduce_runs", f->repro_runs);
  if (f->original_file != NULL)
    cJSON_AddStringToObject(j, "original", f->original_file);
  s = cJSON_AddObjectToObject(j, "shrunk");
  if (s != NULL && f->shrunk) {
    cJSON_AddNumberToObject(s, "actions_before", (double)f->stats.steps_before);
    cJSON_AddNumberToObject(s, "actions_after", (double)f->stats.steps_after);
    cJSON_AddNumberToObject(s, "candidates", f->stats.tests);
    cJSON_AddNumberToObject(s, "runs", f->shrink_runs);
    cJSON_AddNumberToObject(s, "confirmed", f->confirm_fail);
    cJSON_AddNumberToObject(s, "confirm_runs", f->confirm_runs);
    cJSON_AddNumberToObject(s, "fallbacks", f->fallbacks);
    cJSON_AddNumberToObject(s, "other_failures", f->other_fail);
  }
  if (s != NULL && f->scenario_file != NULL)
    cJSON_AddStringToObject(s, "scenario", f->scenario_file);
  if (s != NULL && f->log_file != NULL)
    cJSON_AddStringToObject(s, "log", f->log_file);
  free(replay);
  return j;
}

static cJSON *findings_json(const explore_t *ex, cJSON **found)
{
  const explore__state_t *st = ex->st;
  cJSON *per = cJSON_CreateObject();
  int p;

  *found = cJSON_CreateArray();
  for (p = 0; per != NULL && p < EXPLORE_PROP_COUNT; p++) {
    if (!(ex->checks & EXPLORE_PROP_BIT(p)))
      continue;
    cJSON_AddNumberToObject(per, explore_prop_name((explore_prop_t)p),
                            (double)st->prop_runs[p]);
    if (st->findings[p].set && *found != NULL)
      cJSON_AddItemToArray(*found, finding_json(ex, &st->findings[p]));
  }
  return per;
}

static cJSON *diffs_json(const explore_t *ex)
{
  const explore__state_t *st = ex->st;
  cJSON *a = cJSON_CreateArray();
  size_t i;

  for (i = 0; a != NULL && i < st->n_diffs; i++) {
    const explore__diff_t *d = &st->diffs[i];
    cJSON *j = cJSON_CreateObject();
    char *replay = explore__replay(ex, &d->sched);
    if (j == NULL || !cJSON_AddItemToArray(a, j)) {
      cJSON_Delete(j);
      free(replay);
      break;
    }
    cJSON_AddNumberToObject(j, "run", (double)d->sched.run);
    cJSON_AddStringToObject(j, "targets", ex->targets[d->target].spec);
    cJSON_AddStringToObject(j, "first_difference", d->first ? d->first : "");
    cJSON_AddBoolToObject(j, "confirmed", d->confirmed);
    cJSON_AddBoolToObject(j, "checked", d->checked);
    cJSON_AddStringToObject(j, "replay", replay ? replay : "");
    free(replay);
  }
  return a;
}

static cJSON *faults_json(const explore__state_t *st)
{
  cJSON *o = cJSON_CreateObject();
  size_t i;

  for (i = 0; o != NULL && i < st->n_fault_stats; i++) {
    const explore__fault_stats_t *s = &st->fault_stats[i];
    cJSON *j = cJSON_AddObjectToObject(o, s->action);
    if (j == NULL)
      continue;
    cJSON_AddNumberToObject(j, "faults", (double)s->faults);
    cJSON_AddNumberToObject(j, "listeners_dropped", (double)s->dropped);
    cJSON_AddNumberToObject(j, "restored", (double)s->restored);
    cJSON_AddNumberToObject(j, "not_restored", (double)s->unrestored);
    cJSON_AddNumberToObject(j, "recovery_mean_ms",
                            s->restored ? (double)s->recovery_sum_ms /
                                              (double)s->restored
                                        : 0);
    cJSON_AddNumberToObject(j, "recovery_max_ms", (double)s->recovery_max_ms);
    cJSON_AddNumberToObject(j, "under_load", (double)s->with_load);
    cJSON_AddNumberToObject(j, "failed_after", (double)s->failed_after);
    cJSON_AddNumberToObject(j, "p99_before_mean_us",
                            s->with_load ? (double)s->p99_before_sum_us /
                                               (double)s->with_load
                                         : 0);
    cJSON_AddNumberToObject(j, "p99_after_mean_us",
                            s->with_load ? (double)s->p99_after_sum_us /
                                               (double)s->with_load
                                         : 0);
    cJSON_AddNumberToObject(j, "max_after_us", (double)s->max_after_us);
  }
  return o;
}

static cJSON *measure_json(const explore_t *ex)
{
  const explore__state_t *st = ex->st;
  cJSON *j = cJSON_CreateObject();

  if (j == NULL)
    return NULL;
  cJSON_AddNumberToObject(j, "runs_with_load", (double)st->load_runs);
  cJSON_AddNumberToObject(j, "requests", (double)st->requests);
  cJSON_AddNumberToObject(j, "ok", (double)st->ok);
  cJSON_AddNumberToObject(j, "retried", (double)st->retried);
  cJSON_AddNumberToObject(j, "failed", (double)st->failed);
  cJSON_AddNumberToObject(j, "availability",
                          st->requests ? (double)(st->ok + st->retried) /
                                             (double)st->requests
                                       : 1.0);
  latency_json(cJSON_AddObjectToObject(j, "latency"), st->latency);
  cJSON_AddNumberToObject(j, "runs_without_listener", (double)st->gap_runs);
  cJSON_AddNumberToObject(j, "without_listener_ms", (double)st->gap_ms);
  cJSON_AddItemToObject(j, "faults", faults_json(st));
  return j;
}

static cJSON *summary_json(const explore_t *ex)
{
  cJSON *j = cJSON_CreateObject(), *targets, *actions, *found = NULL;
  size_t i;

  if (j == NULL)
    return NULL;
  cJSON_AddStringToObject(j, "command", ex->opts->command_line
                                            ? ex->opts->command_line : "");
  cJSON_AddNumberToObject(j, "seed", (double)ex->seed);
  cJSON_AddStringToObject(j, "base", ex->base.file ? ex->base.file : "flags");
  targets = cJSON_AddArrayToObject(j, "targets");
  for (i = 0; targets != NULL && i < ex->n_targets; i++)
    cJSON_AddItemToArray(targets, cJSON_CreateString(ex->targets[i].spec));
  cJSON_AddNumberToObject(j, "actions_per_schedule", ex->gen.steps);
  cJSON_AddItemToObject(j, "runs", runs_json(ex));
  cJSON_AddItemToObject(j, "findings", findings_json(ex, &found));
  cJSON_AddItemToObject(j, "found", found);
  cJSON_AddNumberToObject(j, "differing_schedules",
                          (double)ex->st->diff_schedules);
  cJSON_AddItemToObject(j, "differences", diffs_json(ex));
  actions = cJSON_AddObjectToObject(j, "actions");
  for (i = 0; actions != NULL && i < explore__n_actions; i++)
    cJSON_AddNumberToObject(actions, explore__actions[i].name,
                            (double)ex->st->actions[i]);
  cJSON_AddItemToObject(j, "measurements", measure_json(ex));
  return j;
}

int explore__summary_write(explore_t *ex)
{
  cJSON *j = summary_json(ex);
  char *text = j ? cJSON_Print(j) : NULL, *path = NULL;
  base_buf_t b = BASE_BUF_INIT;

  if (text != NULL && base_buf_appendf(&b, "%s\n", text) == 0)
    path = explore__out_write(ex, "summary.json", b.base);
  base_buf_free(&b);
  cJSON_Delete(j);
  free(text);
  if (path == NULL)
    return UV_EIO;
  free(path);
  return 0;
}

void explore__summary_print(explore_t *ex)
{
  const explore__state_t *st = ex->st;
  double secs = (double)st->explore_ns / 1e9;
  int p;

  for (p = 0; p < EXPLORE_PROP_COUNT; p++) {
    const explore__finding_t *f = &st->findings[p];
    if (!f->set)
      continue;
    printf("finding: %s in %llu run%s; first: run %llu [%s]\n",
           explore_prop_name((explore_prop_t)p),
           (unsigned long long)st->prop_runs[p],
           st->prop_runs[p] == 1 ? "" : "s",
           (unsigned long long)f->original.run, ex->targets[f->target].spec);
    if (f->shrunk)
      printf("  shrunk: %zu -> %zu actions (%u candidates, %u runs), fails "
             "%u of %u: %s\n", f->stats.steps_before, f->stats.steps_after,
             f->stats.tests, f->shrink_runs, f->confirm_fail,
             f->confirm_runs, f->scenario_file ? f->scenario_file : "?");
    else if (f->original_file != NULL)
      printf("  not shrunk (reproduced %u of %u): %s\n", f->repro_fail,
             f->repro_runs, f->original_file);
  }
  printf("clustersim explore: %llu schedule%s, %llu runs in %.1f s (%.2f "
         "runs/s), %llu with findings, %llu with a step not carried out, "
         "seed %llu%s%s\n",
         (unsigned long long)st->schedules, st->schedules == 1 ? "" : "s",
         (unsigned long long)st->runs, secs,
         secs > 0 ? (double)st->runs / secs : 0.0,
         (unsigned long long)st->failing_runs,
         (unsigned long long)st->step_failed, (unsigned long long)ex->seed,
         ex->interrupted ? " (interrupted)" : "",
         ex->opts->out_dir ? "" : "");
  printf("summary: %s/summary.json\n", ex->opts->out_dir);
  fflush(stdout);
}
