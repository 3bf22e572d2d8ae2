/*
 * suite-attempt.c - what an ended attempt puts in the reports: its
 * outcome and reason, the replay command, the timeline of its trace, and
 * the trace around the failure with the end of the agent's output, and
 * the load's requests and latency slice by slice when a load ran.
 */
#include "suite-internal.h"
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool isalnum_c(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

/* A shell word: as it is when nothing in it needs quoting. */
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

/* " --runtime PATH --runtime-arg ARG..." of a target that runs one. */
static char *runtime_words(const suite_opts_t *o, const runner_target_t *t)
{
  char *s = strdup(""), *q, *n;
  size_t i;

  if (t->kind == RUNNER_TARGET_BUILTIN || t->kind == RUNNER_TARGET_EXEC)
    return s;
  for (i = 0; s != NULL && i <= o->n_runtime_args; i++) {
    if (i == 0 && o->runtime == NULL)
      continue;
    q = quote(i == 0 ? o->runtime : o->runtime_args[i - 1]);
    n = q == NULL ? NULL
        : i == 0  ? base_asprintf("%s --runtime %s", s, q)
                  : base_asprintf("%s --runtime-arg=%s", s, q);
    free(q);
    free(s);
    s = n;
  }
  return s;
}

char *suite__replay_command(const suite_t *su, const suite__job_t *j)
{
  char *file = quote(j->s->file), *target = quote(j->target->spec);
  char *rt = runtime_words(su->opts, j->target);
  char scale[48] = "";
  char *r;

  if (su->opts->time_scale != 1.0)
    snprintf(scale, sizeof(scale), " --time-scale %g", su->opts->time_scale);
  r = base_asprintf("clustersim run %s --target %s%s --seed %llu%s",
                    file ? file : "?", target ? target : "?", rt ? rt : "",
                    (unsigned long long)j->seed, scale);
  free(file);
  free(target);
  free(rt);
  return r;
}

/* The actions drawn as faults: the roles of the step table (pause and
 * resume are the SIGSTOP and SIGCONT of `pause`). A message from a worker
 * or the harness's own work (fork, kill or disconnect from the primary,
 * rolling-restart, shutdown, policy, end...) is not drawn as a fault: it
 * would hide the faults among the routine. */
static bool fault_action(const char *name)
{
  return scenario_role_is_fault(scenario_action_role(name));
}

static int lane_of(const trace_event_t *e)
{
  switch (e->src) {
  case TRACE_SRC_AGENT:
  case TRACE_SRC_WORKER:
    return e->worker != 0 ? (int)e->worker : REPORT_LANE_PRIMARY;
  case TRACE_SRC_POLICY:
    return REPORT_LANE_PRIMARY;
  default:
    return REPORT_LANE_HARNESS;
  }
}

static unsigned flags_of(const runner_result_t *r, const trace_event_t *e)
{
  unsigned flags = 0;
  size_t k;

  if (e->src == TRACE_SRC_HARNESS && e->ev == TRACE_EV_NONE &&
      fault_action(e->name))
    flags |= REPORT_EVENT_FAULT;
  if (e->src == TRACE_SRC_LOAD && strcmp(e->name, "request") == 0) {
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(e->json, "outcome");
    /* every request is recorded for a `served` expectation: the served
     * and the cancelled ones are no failure */
    if (cJSON_IsString(o) && strcmp(o->valuestring, "retried") != 0 &&
        strcmp(o->valuestring, "ok") != 0 &&
        strcmp(o->valuestring, "cancelled") != 0)
      flags |= REPORT_EVENT_FAILED_REQUEST;
  }
  for (k = 0; k < r->findings.count; k++)
    if (r->findings.items[k].event == (int64_t)e->index)
      return flags | REPORT_EVENT_VIOLATION;
  return flags;
}

/* The timeline of an attempt, for the HTML report. Returns the mark index
 * of the trace event `want` (or -1). */
static int64_t add_marks(report_case_t *rc, const runner_result_t *r,
                         int64_t want)
{
  const trace_t *tr = &r->trace;
  int64_t n = 0, found = -1, cap;
  unsigned most = 0;
  size_t i;

  for (i = 0; i < tr->count; i++)
    if (tr->events[i].worker > most)
      most = tr->events[i].worker;
  cap = SUITE__MAX_MARKS +
        (int64_t)SUITE__MARKS_PER_WORKER * (most < 4096 ? most : 4096);
  for (i = 0; i < tr->count; i++) {
    const trace_event_t *e = &tr->events[i];
    report_event_t ev;
    char label[96];

    /* past the bound, only the event the failure points at */
    if (e->src == TRACE_SRC_LOG || (n >= cap && (int64_t)i != want))
      continue;
    /* the cluster twin of a Worker event adds nothing to a timeline */
    if (e->src == TRACE_SRC_AGENT && e->cluster_emitter &&
        e->ev != TRACE_EV_FORK && e->ev != TRACE_EV_SETUP &&
        (int64_t)i != want)
      continue;
    memset(&ev, 0, sizeof(ev));
    ev.t_ns = e->t;
    ev.kind = e->name[0] ? e->name : "?";
    ev.lane = lane_of(e);
    ev.flags = flags_of(r, e);
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

/* "warning: " before each line of what the run corrected. */
static char *warnings_first(char *out, size_t *len, size_t *cap,
                            const char *warnings)
{
  const char *p = warnings, *nl;
  char *b;

  for (; *p != '\0'; p = *nl ? nl + 1 : nl) {
    nl = strchr(p, '\n');
    if (nl == NULL)
      nl = p + strlen(p);
    if (*len + (size_t)(nl - p) + 16 >= *cap) {
      *cap = (*len + (size_t)(nl - p) + 16) * 2;
      b = realloc(out, *cap);
      if (b == NULL) {
        free(out);
        return NULL;
      }
      out = b;
    }
    *len += (size_t)snprintf(out + *len, *cap - *len, "warning: %.*s\n",
                             (int)(nl - p), p);
  }
  return out;
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
  if (r->warnings != NULL)
    out = warnings_first(out, &len, &cap, r->warnings);
  if (out == NULL)
    return NULL;
  if (r->load.ran)
    len += (size_t)snprintf(out + len, cap - len, "load: %llu requests: %llu ok, %llu "
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

int suite_load_report(report_case_t *rc, const load_measure_t *m)
{
  report_bucket_t *b;
  size_t i;
  int rc_set;

  if (m->nbuckets == 0)
    return 0;
  b = calloc(m->nbuckets, sizeof(*b));
  if (b == NULL)
    return UV_ENOMEM;
  for (i = 0; i < m->nbuckets; i++) {
    const load_bucket_t *lb = &m->buckets[i];
    uint64_t n = (uint64_t)lb->ok + lb->retried;
    b[i].t_ns = m->start_ns + (uint64_t)i * m->bucket_ms * 1000000u;
    b[i].ok = lb->ok;
    b[i].retried = lb->retried;
    b[i].failed = lb->failed;
    b[i].p50_us = (uint32_t)load_bucket_percentile(lb->cells, n, lb->max_us,
                                                   50);
    b[i].p99_us = (uint32_t)load_bucket_percentile(lb->cells, n, lb->max_us,
                                                   99);
    b[i].max_us = lb->max_us;
  }
  rc_set = report_load_set(rc, b, m->nbuckets,
                           (uint64_t)m->bucket_ms * 1000000u);
  free(b);
  return rc_set;
}

/* The load's slices for the page: every latency record of the trace
 * merged (one per load). */
static void add_load(report_case_t *rc, const trace_t *tr)
{
  load_measure_t m, one;
  size_t i;

  memset(&m, 0, sizeof(m));
  for (i = 0; i < tr->count; i++) {
    const trace_event_t *e = &tr->events[i];
    if (e->src != TRACE_SRC_LOAD || strcmp(e->name, "latency") != 0)
      continue;
    /* a malformed record is left out: the page draws what it can */
    if (load_measure_from_json(e->json, &one) == 0)
      load_measure_merge(&m, &one);
    load_measure_free(&one);
  }
  (void)suite_load_report(rc, &m);
  load_measure_free(&m);
}

void suite__record_attempt(suite_t *su, suite__job_t *j, runner_result_t *r)
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
    add_load(j->rc, &r->trace);
    return;
  }
  memset(&rr, 0, sizeof(rr));
  for (i = 0; i < r->findings.count; i++)
    if (r->findings.items[i].event >= 0) {
      first = r->findings.items[i].event;
      break;
    }
  rr.outcome = report_outcome_parse(runner_outcome_name(r->outcome));
  rr.reason = r->reason ? r->reason : runner_outcome_name(r->outcome);
  rr.detail = r->detail;
  rr.failed_event = add_marks(j->rc, r, first);
  add_load(j->rc, &r->trace);
  rr.output = excerpt(r, first);
  rr.duration_s = (double)(r->ended_ns - r->started_ns) / 1e9;
  report_attempt_add(j->rc, &rr);
  free((char *)rr.output);
}

