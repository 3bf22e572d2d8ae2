/*
 * The verdict of a run: the oracle, the expectations and the hygiene
 * checks on the finished trace, the outcome and its reason, and the trace
 * file.
 */
#include "harness-run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* A listening socket on a port the cluster used, after every process of
 * the run is gone, is a leftover (or the port's next owner, which on a
 * loopback test machine is as suspicious). */
static bool port_listening(int port)
{
  static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
  char line[512];
  size_t i;

  for (i = 0; i < 2; i++) {
    FILE *f = fopen(files[i], "re");
    if (f == NULL)
      continue;
    while (fgets(line, sizeof(line), f) != NULL) {
      char local[128];
      unsigned st, p;
      char *colon;
      if (sscanf(line, " %*d: %127s %*s %x", local, &st) != 2)
        continue;
      colon = strrchr(local, ':');
      if (colon == NULL || sscanf(colon + 1, "%x", &p) != 1)
        continue;
      if (st == 0x0A && (int)p == port) {
        fclose(f);
        return true;
      }
    }
    fclose(f);
  }
  return false;
}

static void hygiene(harness_run_t *run)
{
  int i;

  if (run->res.leftovers > 0)
    harness_findings_add(&run->res.findings, HARNESS_FINDING_FAIL,
                         "hygiene", 0, -1, 0,
                         "%u process%s of the run %s still alive %.1f s "
                         "after the primary exited (killed)",
                         run->res.leftovers,
                         run->res.leftovers == 1 ? "" : "es",
                         run->res.leftovers == 1 ? "was" : "were",
                         (double)run_scaled(run, 1000) / 1e3);
  for (i = 0; i < RUN_MAX_SERVERS; i++)
    if (run->ports[i] > 0 && port_listening(run->ports[i]))
      harness_findings_add(&run->res.findings, HARNESS_FINDING_FAIL,
                           "hygiene", 0, -1, 0,
                           "port %d is still listening after every process "
                           "of the run was reaped", run->ports[i]);
}

static char *join_findings(const harness_findings_t *f)
{
  size_t i, len = 1;
  char *s, *p;

  for (i = 0; i < f->count; i++)
    len += strlen(f->items[i].message) + 16;
  s = malloc(len);
  if (s == NULL)
    return NULL;
  p = s;
  *p = '\0';
  for (i = 0; i < f->count; i++)
    p += sprintf(p, "%s%s\n",
                 f->items[i].kind == HARNESS_FINDING_FAIL ? ""
                                                          : "inconclusive: ",
                 f->items[i].message);
  return s;
}

/* An invariant broken in a run points at the scenario: the line of the
 * last step the harness took before the violating event. */
static void locate_findings(harness_run_t *run, size_t from)
{
  harness_result_t *r = &run->res;
  size_t i;

  for (i = from; i < r->findings.count; i++) {
    harness_finding_t *f = &r->findings.items[i];
    int64_t k = f->event >= 0 ? f->event : (int64_t)r->trace.count - 1;
    unsigned line = 1;
    char *msg;

    for (; k >= 0; k--)
      if (r->trace.events[k].src == HARNESS_SRC_HARNESS &&
          r->trace.events[k].line > 0) {
        line = r->trace.events[k].line;
        break;
      }
    msg = harness_asprintf("%s:%u: %s", run->s->file, line, f->message);
    if (msg != NULL) {
      free(f->message);
      f->message = msg;
      f->line = line;
    }
  }
}

/* A divergence the scenario documents for this target: what it excuses
 * (the oracle's and the expectations' findings, never leftover processes)
 * is reported as skipped, with the reason and what was seen; a run that
 * did not show it says so. */
static void divergence(harness_run_t *run)
{
  harness_result_t *r = &run->res;
  const harness_target_note_t *d =
      harness_target_divergence(run->s, run->target);
  size_t i;
  char *why;

  if (d == NULL)
    return;
  if (r->outcome == HARNESS_PASS) {
    why = harness_asprintf("pass (the divergence documented at %s:%u did "
                           "not show)", run->s->file, d->line);
  } else if (r->outcome == HARNESS_FAIL) {
    for (i = 0; i < r->findings.count; i++)
      if (r->findings.items[i].kind == HARNESS_FINDING_FAIL &&
          strcmp(r->findings.items[i].rule, "hygiene") == 0)
        return;
    why = harness_asprintf("documented divergence on %s (%s:%u): %s; seen: "
                           "%s", harness_target_kind_name(run->target->kind),
                           run->s->file, d->line, d->reason,
                           r->reason ? r->reason : "?");
    r->outcome = HARNESS_SKIP;
  } else {
    return;
  }
  if (why != NULL) {
    free(r->reason);
    r->reason = why;
  }
}

void run_verdict(harness_run_t *run)
{
  harness_result_t *r = &run->res;
  harness_oracle_opts_t oo;
  size_t i;
  bool checked = run->started && run->error == NULL &&
                 run->abort_reason == NULL;

  r->ended_ns = uv_hrtime();
  r->trace.complete = !run->killed_path && !run->timed_out &&
                      run->agent_exited && WIFEXITED(run->agent_status) &&
                      WEXITSTATUS(run->agent_status) == 0 &&
                      (run->shutdown_sent || run->shutdown_done_seen) &&
                      r->leftovers == 0;
  harness_trace_finish(&r->trace);
  if (run->logbuf != NULL && run->loglen > 0)
    r->log = strndup(run->logbuf, run->loglen);
  if (checked || run->step_failure != NULL || run->timed_out) {
    memset(&oo, 0, sizeof(oo));
    oo.allow_exit_without_disconnect = run->s->allow_exit_without_disconnect;
    i = r->findings.count;
    harness_oracle_check(&r->trace, &oo, &r->findings);
    locate_findings(run, i);
    harness_expect_check(run->s, &r->trace, &r->load, &r->findings);
    hygiene(run);
  }
  if (run->abort_reason != NULL) {
    r->outcome = HARNESS_ERROR;
    r->interrupted = true;
    r->reason = strdup(run->abort_reason);
  } else if (run->error != NULL) {
    r->outcome = HARNESS_ERROR;
    r->reason = strdup(run->error);
  } else if (run->timed_out) {
    r->outcome = HARNESS_TIMEOUT;
    r->reason = strdup(run->step_failure ? run->step_failure : "timed out");
  } else if (harness_findings_count(&r->findings, HARNESS_FINDING_FAIL) > 0) {
    r->outcome = HARNESS_FAIL;
    for (i = 0; i < r->findings.count; i++)
      if (r->findings.items[i].kind == HARNESS_FINDING_FAIL) {
        r->reason = strdup(r->findings.items[i].message);
        break;
      }
  } else if (harness_findings_count(&r->findings,
                                    HARNESS_FINDING_INCONCLUSIVE) > 0) {
    r->outcome = HARNESS_INCONCLUSIVE;
    r->reason = strdup(r->findings.items[0].message);
  } else {
    r->outcome = HARNESS_PASS;
    r->reason = strdup("pass");
  }
  divergence(run);
  r->detail = join_findings(&r->findings);
  if (r->load.ran && r->detail != NULL) {
    /* closed keep-alive connections retried are shown, not hidden */
    const harness_load_totals_t *l = &r->load;
    char *d = harness_asprintf(
        "%sload: %llu requests: %llu ok, %llu retried, %llu failed "
        "(refused %llu, reset %llu, timeout %llu, bad status %llu, "
        "truncated %llu, error %llu)\n", r->detail,
        (unsigned long long)l->sent, (unsigned long long)l->ok,
        (unsigned long long)l->retried, (unsigned long long)l->failed,
        (unsigned long long)l->refused, (unsigned long long)l->reset,
        (unsigned long long)l->timeout, (unsigned long long)l->bad_status,
        (unsigned long long)l->truncated, (unsigned long long)l->error);
    if (d != NULL) {
      free(r->detail);
      r->detail = d;
    }
  }
  if (run->trace_path != NULL) {
    cJSON *meta = cJSON_CreateObject();
    if (meta != NULL) {
      cJSON_AddStringToObject(meta, "scenario", run->s->name);
      cJSON_AddStringToObject(meta, "file", run->s->file);
      cJSON_AddStringToObject(meta, "target", run->target->spec);
      if (r->runtime != NULL)
        cJSON_AddStringToObject(meta, "runtime", r->runtime);
      if (r->version != NULL)
        cJSON_AddStringToObject(meta, "runtime_version", r->version);
      cJSON_AddNumberToObject(meta, "seed", (double)run->opts.seed);
      cJSON_AddNumberToObject(meta, "attempt", run->opts.attempt);
      cJSON_AddStringToObject(meta, "outcome", harness_outcome_name(
                                                   r->outcome));
      cJSON_Delete(r->trace.meta);
      r->trace.meta = meta;
    }
    if (harness_trace_write(&r->trace, run->trace_path) != 0 &&
        r->outcome == HARNESS_PASS) {
      r->outcome = HARNESS_ERROR;
      free(r->reason);
      r->reason = harness_asprintf("cannot write the trace to %s",
                                   run->trace_path);
    }
  }
}

/* Closes every handle once the processes are gone; the last close calls
 * the done callback. */
