/*
 * explore-html.c - the report of an exploration (--html): for each
 * finding, a run of its shrunk schedule and the run it was found in, then
 * a few runs under load; each with its timeline (reports/) and, under it
 * on the same time axis, the load's requests and latency per 100 ms.
 */
#include "explore-internal.h"
#include "suite.h"

#include <stdlib.h>
#include <string.h>

/* Timeline marks kept per run. */
#define MAX_MARKS 3000

/* Drawn as faults: the roles of the step table, the primary's kills and
 * disconnects among them (explore draws them). */
static bool fault_name(const char *name)
{
  scenario_step_role_t role = scenario_action_role(name);

  return scenario_role_is_fault(role) || role == SCENARIO_ROLE_ENDING;
}

static int lane_of(const trace_event_t *e)
{
  if (e->src == TRACE_SRC_AGENT || e->src == TRACE_SRC_WORKER)
    return e->worker != 0 ? (int)e->worker : REPORT_LANE_PRIMARY;
  if (e->src == TRACE_SRC_POLICY)
    return REPORT_LANE_PRIMARY;
  return REPORT_LANE_HARNESS;
}

static unsigned flags_of(const trace_event_t *e)
{
  const cJSON *o = cJSON_GetObjectItemCaseSensitive(e->json, "outcome");
  const cJSON *end = cJSON_GetObjectItemCaseSensitive(e->json, "end");

  if (e->src == TRACE_SRC_HARNESS && e->ev == TRACE_EV_NONE &&
      !cJSON_IsTrue(end) && fault_name(e->name))
    return REPORT_EVENT_FAULT;
  if (e->src == TRACE_SRC_LOAD && strcmp(e->name, "request") == 0 &&
      cJSON_IsString(o) && strcmp(o->valuestring, "retried") != 0)
    return REPORT_EVENT_FAILED_REQUEST;
  return 0;
}

static void add_marks(report_case_t *rc, const trace_t *tr)
{
  size_t i, n = 0;

  for (i = 0; i < tr->count && n < MAX_MARKS; i++) {
    const trace_event_t *e = &tr->events[i];
    report_event_t ev;
    char label[96];
    /* logs say nothing on a timeline; nor does a Worker event's twin */
    if (e->src == TRACE_SRC_LOG ||
        (e->src == TRACE_SRC_AGENT && e->cluster_emitter &&
         e->ev != TRACE_EV_FORK && e->ev != TRACE_EV_SETUP))
      continue;
    memset(&ev, 0, sizeof(ev));
    ev.t_ns = e->t;
    ev.kind = e->name[0] ? e->name : "?";
    ev.lane = lane_of(e);
    ev.flags = flags_of(e);
    snprintf(label, sizeof(label), "#%u %s", e->index, e->name);
    ev.label = label;
    if (report_event_add(rc, &ev) != 0)
      return;
    n++;
  }
}

/* The run's load, slice by slice. */
static void add_load(report_case_t *rc, const trace_t *tr, int64_t window)
{
  explore_measure_t m;

  if (explore_measure(tr, window, &m) != 0)
    return;
  (void)suite_load_report(rc, &m.latency);
  explore_measure_free(&m);
}

static void add_case(explore_t *ex, report_t *r, const char *title,
                     const explore_schedule_t *s, size_t target,
                     const runner_result_t *res, const char *why)
{
  char *replay = explore__replay(ex, s), *text = explore_schedule_text(s);
  char *detail = base_asprintf("%s\nschedule:\n%s%s", why ? why : "",
                               text ? text : "",
                               res->detail ? res->detail : "");
  report_case_info_t ci;
  report_result_t rr;
  report_case_t *rc = NULL;

  memset(&ci, 0, sizeof(ci));
  ci.scenario = title;
  ci.target = ex->targets[target].spec;
  ci.runtime = res->runtime;
  ci.runtime_version = res->version;
  ci.seed = s->seed;
  ci.replay = replay;
  if (report_case_add(r, &ci, &rc) == 0) {
    add_marks(rc, &res->trace);
    add_load(rc, &res->trace, ex->opts->window_ms);
    memset(&rr, 0, sizeof(rr));
    rr.outcome = report_outcome_parse(runner_outcome_name(res->outcome));
    rr.reason = why ? why : res->reason;
    rr.detail = detail;
    rr.failed_event = -1;
    rr.duration_s = (double)(res->ended_ns - res->started_ns) / 1e9;
    report_attempt_add(rc, &rr);
  }
  free(replay);
  free(text);
  free(detail);
}

static void add_findings(explore_t *ex, report_t *r)
{
  size_t p;
  char title[160];

  for (p = 0; p < EXPLORE_PROP_COUNT; p++) {
    const explore__finding_t *f = &ex->st->findings[p];
    if (!f->set)
      continue;
    if (f->shown != NULL) {
      snprintf(title, sizeof(title), "%s: shrunk (run %llu, %zu actions)",
               explore_prop_name(f->prop),
               (unsigned long long)f->original.run, f->small.n_steps);
      add_case(ex, r, title, &f->small, f->target, f->shown, f->message);
    }
    if (f->seen != NULL) {
      snprintf(title, sizeof(title), "%s: as found (run %llu)",
               explore_prop_name(f->prop),
               (unsigned long long)f->original.run);
      add_case(ex, r, title, &f->original, f->target, f->seen, f->message);
    }
  }
}

int explore__html_write(explore_t *ex)
{
  explore__state_t *st = ex->st;
  report_run_info_t info;
  report_t *r = NULL;
  char title[64], targets[256] = "";
  size_t i;
  int rc;

  for (i = 0; i < ex->n_targets; i++)
    snprintf(targets + strlen(targets), sizeof(targets) - strlen(targets),
             "%s%s", i ? "," : "", ex->targets[i].spec);
  memset(&info, 0, sizeof(info));
  info.name = "clustersim explore";
  info.command_line = ex->opts->command_line;
  info.targets = targets;
  info.seed = ex->seed;
  if ((rc = report_new(&r, &info)) != 0)
    return rc;
  add_findings(ex, r);
  for (i = 0; i < st->n_samples; i++) {
    snprintf(title, sizeof(title), "run %llu (under load)",
             (unsigned long long)st->sample_sched[i].run);
    add_case(ex, r, title, &st->sample_sched[i], st->sample_target[i],
             st->samples[i], NULL);
  }
  rc = report_html_write(r, ex->opts->html);
  report_free(r);
  return rc;
}
