/*
 * suite-trace.c - comparisons and checks of traces: `check --trace FILE`
 * (the oracle and a scenario's expectations again), `diff A B` (the first
 * difference per worker of two recorded traces) and the targets' traces of
 * a `run --diff`.
 */
#include "suite-internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_findings(const oracle_findings_t *f)
{
  size_t i;

  for (i = 0; i < f->count; i++) {
    char *m = base_text_escape(f->items[i].message);
    printf("%s: %s\n",
           f->items[i].kind == ORACLE_FINDING_FAIL ? "FAIL" : "INCONCLUSIVE",
           m ? m : "?");
    free(m);
  }
}

/* A line of text from a trace or a scenario, escaped for the terminal. */
static void print_escaped(FILE *f, const char *prefix, const char *s)
{
  char *e = base_text_escape(s);

  fprintf(f, "%s%s\n", prefix, e ? e : "?");
  free(e);
}

/* A counter of a record: a whole number, 0 for anything else (a trace
 * file is anyone's: NaN or 1e300 must not reach a conversion). */
static uint64_t counter_of(const cJSON *j, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

  if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0))
    return 0;
  return v->valuedouble < 1e18 ? (uint64_t)v->valuedouble : (uint64_t)1e18;
}

/* The load generator's totals, as the run recorded them. */
static void load_totals_of(const trace_t *tr, trace_load_totals_t *load)
{
  size_t i;

  memset(load, 0, sizeof(*load));
  for (i = 0; i < tr->count; i++) {
    const trace_event_t *e = &tr->events[i];
    const cJSON *j = e->json;
    if (e->src != TRACE_SRC_LOAD || strcmp(e->name, "totals") != 0)
      continue;
#define GET(field) load->field = counter_of(j, #field)
    load->ran = true;
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

static int verdict_of(const oracle_findings_t *f)
{
  if (oracle_findings_count(f, ORACLE_FINDING_FAIL) > 0)
    return BASE_EXIT_FAIL;
  if (oracle_findings_count(f, ORACLE_FINDING_INCONCLUSIVE) > 0)
    return BASE_EXIT_INCONCLUSIVE;
  return BASE_EXIT_PASS;
}

int suite_check_trace(const suite_selection_t *sel, const char *trace,
                      bool quiet)
{
  trace_t tr;
  base_diag_t diag;
  oracle_findings_t f;
  oracle_opts_t oo;
  trace_load_totals_t load;
  const scenario_t *s;
  size_t i;
  int ret;

  if (sel->n_scenarios != 1 || sel->invalid > 0) {
    fprintf(stderr, "clustersim: check --trace needs exactly one valid "
            "scenario, got %zu\n", sel->n_scenarios);
    return sel->invalid > 0 ? BASE_EXIT_SCENARIO : BASE_EXIT_USAGE;
  }
  s = sel->scenarios[0];
  trace_init(&tr, 0);
  base_diag_init(&diag);
  oracle_findings_init(&f);
  if (trace_read(trace, &tr, &diag) != 0) {
    for (i = 0; i < diag.count; i++)
      print_escaped(stderr, "", diag.lines[i]);
    ret = BASE_EXIT_SCENARIO;
    goto out;
  }
  load_totals_of(&tr, &load);
  memset(&oo, 0, sizeof(oo));
  oo.allow_exit_without_disconnect = s->allow_exit_without_disconnect;
  oracle_check(&tr, &oo, &f);
  oracle_expect_check(s, &tr, &load, &f);
  print_findings(&f);
  ret = verdict_of(&f);
  if (!quiet) {
    char *name = base_text_escape(s->name);
    printf("%s: %s (%zu events)\n", name ? name : "?",
           ret == BASE_EXIT_PASS ? "pass"
           : ret == BASE_EXIT_FAIL ? "fail" : "inconclusive",
           tr.count);
    free(name);
  }
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
  /* a recorded trace is anyone's file: what it says is escaped */
  if (cJSON_IsNumber(a) && a->valuedouble > 1 && a->valuedouble < 1e9) {
    char *l = base_asprintf("%s (attempt %.0f)", target, a->valuedouble);
    char *e = base_text_escape(l);
    free(l);
    return e;
  }
  return base_text_escape(target);
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
      print_escaped(stderr, "clustersim: ", diag.lines[i]);
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
    print_escaped(stdout, "", diag.lines[i]);
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
/* run --diff                                                              */

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

  if (su->opts->tap && fmt[0] == '\n') {
    fputs("#\n", stdout);
    fmt++;
  }
  if (su->opts->tap)
    fputs("# ", stdout);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
}

/* Attempt `a` of job y against the same attempt of job x: 1 if they
 * differ, 0 if not, -1 when they could not be compared. */
static int compare_attempt(const suite_t *su, const suite__job_t *x,
                           const suite__job_t *y, unsigned a)
{
  base_diag_t d;
  size_t l;
  int w;
  char head[512], la[24], lb[24], *name = base_text_escape(x->s->name);

  snprintf(head, sizeof(head), "%s: %s vs %s", name ? name : "?",
           x->target->spec, y->target->spec);
  free(name);
  if (su->opts->repeat > 1)
    snprintf(head + strlen(head), sizeof(head) - strlen(head),
             " (attempt %u)", a + 1);
  if (x->skip_reason != NULL || y->skip_reason != NULL) {
    if (!su->opts->quiet)
      say(su, "%s: not compared (skipped on %s)\n", head,
          x->skip_reason ? x->target->spec : y->target->spec);
    return -1;
  }
  if (x->proj[a] == NULL || y->proj[a] == NULL) {
    say(su, "%s: not compared (no trace from %s)\n", head,
        x->proj[a] == NULL ? x->target->spec : y->target->spec);
    return -1;
  }
  base_diag_init(&d);
  short_labels(x->target, y->target, la, lb, sizeof(la));
  w = trace_projection_diff(x->proj[a], la, y->proj[a], lb, &d);
  if (w > 0)
    say(su, "%s: %d worker%s differ%s\n", head, w, w == 1 ? "" : "s",
        w == 1 ? "s" : "");
  else if (!su->opts->quiet || d.count > 0)
    say(su, "%s: the same\n", head);
  for (l = 0; l < d.count; l++) {
    char *e = base_text_escape(d.lines[l]);
    say(su, "%s\n", e ? e : "?");
    free(e);
  }
  base_diag_free(&d);
  return w > 0;
}

unsigned suite__diff_targets(const suite_t *su)
{
  size_t n = su->sel->n_scenarios, i, k;
  unsigned a, differ = 0, same = 0;

  say(su, "\nclustersim diff: every target against %s, worker by worker\n",
      su->targets[0].spec);
  for (i = 0; i < n; i++)
    for (k = 1; k < su->n_targets; k++)
      for (a = 0; a < su->opts->repeat; a++) {
        int r = compare_attempt(su, &su->jobs[i], &su->jobs[k * n + i], a);
        if (r > 0)
          differ++;
        else if (r == 0)
          same++;
      }
  say(su, "clustersim diff: %u the same, %u different\n", same, differ);
  return differ;
}
