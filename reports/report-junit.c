/*
 * report-junit.c - the JUnit XML writer.
 *
 * Layout (docs/reports.md): one <testsuite> per target, in the order the
 * targets first appear, under one <testsuites>; one <testcase> per scenario
 * per target. classname is "<run name>.<target>" with dots in the target
 * made '_', so Jenkins (which splits on the last dot) shows package
 * "clustersim", class "<target>", and GitLab's "Suite" column the target.
 */
#include "report-internal.h"
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const report_t *r;
  xmlTextWriterPtr w;
} jw_t;

static char *classname_of(const report_t *r, const char *target)
{
  size_t n = strlen(r->name) + strlen(target) + 2;
  char *s = malloc(n), *p;

  if (s == NULL)
    return NULL;
  snprintf(s, n, "%s.%s", r->name, target);
  for (p = s + strlen(r->name) + 1; *p; p++)
    if (*p == '.')
      *p = '_';
  return s;
}

static int prop(xmlTextWriterPtr w, const char *name, const char *value)
{
  int rc;

  if (value == NULL)
    return 0;
  if ((rc = report__xml_start(w, "property")) ||
      (rc = report__xml_attr(w, "name", name)) ||
      (rc = report__xml_attr(w, "value", value)))
    return rc;
  return report__xml_end(w);
}

typedef struct {
  const char *name;
  const char *value;
} pair_t;

#define N_PAIRS(a) (sizeof(a) / sizeof((a)[0]))

/* Attributes in order (a NULL value is written as ""). */
static int attrs(xmlTextWriterPtr w, const pair_t *a, size_t n)
{
  size_t i;
  int rc;

  for (i = 0; i < n; i++)
    if ((rc = report__xml_attr(w, a[i].name, a[i].value)))
      return rc;
  return 0;
}

/* A <properties> element; properties with a NULL value are left out. */
static int props(xmlTextWriterPtr w, const pair_t *p, size_t n)
{
  size_t i;
  int rc;

  if ((rc = report__xml_start(w, "properties")))
    return rc;
  for (i = 0; i < n; i++)
    if ((rc = prop(w, p[i].name, p[i].value)))
      return rc;
  return report__xml_end_full(w);
}

/* A case's name, made unique within its suite: GitLab keys cases by
 * classname + name and would fold two same-named scenarios into one. */
static char *case_name(const report_t *r, const report_case_t *c)
{
  size_t i, n;
  char *s;

  for (i = 0; i < r->ncases; i++) {
    const report_case_t *o = r->cases[i];
    if (o != c && strcmp(o->target, c->target) == 0 &&
        strcmp(o->scenario, c->scenario) == 0)
      break;
  }
  if (i == r->ncases)
    return strdup(c->scenario);
  n = strlen(c->scenario) + (c->file ? strlen(c->file) : 0) + 48;
  s = malloc(n);
  if (s == NULL)
    return NULL;
  if (c->file)
    snprintf(s, n, "%s (%s:%u)", c->scenario, c->file, c->line);
  else
    snprintf(s, n, "%s (#%zu)", c->scenario, c->index + 1);
  return s;
}

static const char *str_or(const char *s, const char *dflt)
{
  return s && *s ? s : dflt;
}

static const char *attempt_reason(const report_t *r, const report__attempt_t *a)
{
  if (!a->ended)
    return report__interrupt_reason(r);
  return str_or(a->reason, report__outcome_name(a->outcome));
}

/* The body of a failure/error: what GitLab shows (it ignores @message). */
static char *failure_body(const report_t *r, const report_case_t *c,
                          const report__attempt_t *a)
{
  char secs[32];
  char *s = strdup(""), *rest = report__detail_rest(attempt_reason(r, a),
                                                  a->detail);

  if (rest == NULL) {
    free(s);
    return NULL;
  }
  report__str_cat(&s, "%s\n", attempt_reason(r, a));
  if (!a->ended) {
    report__fmt_seconds(secs, sizeof(secs), report__attempt_duration(a));
    report__str_cat(&s, "the run was interrupted after %s s of this scenario\n",
                   secs);
  }
  if (*rest)
    report__str_cat(&s, "\n%s\n", rest);
  free(rest);
  if (c->file)
    report__str_cat(&s, "\nscenario: %s:%u\n", c->file, c->line);
  /* this attempt's: with --repeat, attempt k ran with a seed of its own */
  report__str_cat(&s, "seed: %" PRIu64 "\n", report__attempt_seed_of(c, a));
  if (report__attempt_replay_of(c, a))
    report__str_cat(&s, "replay: %s\n", report__attempt_replay_of(c, a));
  return s;
}

static int attempt_index(const report_case_t *c, const report__attempt_t *a)
{
  return (int)(a - c->attempts) + 1;
}

static int result_element(jw_t *j, const report_case_t *c,
                          const report__attempt_t *a, const char *elem,
                          const char *type, bool rerun)
{
  xmlTextWriterPtr w = j->w;
  char *msg = NULL, *body = NULL, *line = NULL;
  int rc = UV_ENOMEM;

  line = report__text_line(attempt_reason(j->r, a));
  msg = strdup("");
  body = failure_body(j->r, c, a);
  if (line == NULL || msg == NULL || body == NULL)
    goto out;
  if (c->nattempts > 1)
    report__str_cat(&msg, "attempt %d/%zu: ", attempt_index(c, a),
                    c->nattempts);
  if (strcmp(type, "inconclusive") == 0)
    report__str_cat(&msg, "inconclusive: ");
  report__str_cat(&msg, "%s", line);
  if (msg == NULL)
    goto out;
  if ((rc = report__xml_start(w, elem)) ||
      (rc = report__xml_attr(w, "type", type)) ||
      (rc = report__xml_attr(w, "message", msg)))
    goto out;
  if (rerun) {
    /* Surefire's rerun shape: the diagnostic in stackTrace, the attempt's
     * own output beside it. */
    if ((rc = report__xml_element(w, "stackTrace", body)) ||
        (a->output && *a->output &&
         (rc = report__xml_element(w, "system-out", a->output))))
      goto out;
  } else if (strcmp(elem, "skipped") != 0) {
    if ((rc = report__xml_text(w, body)))
      goto out;
  }
  rc = report__xml_end_full(w);
out:
  free(line);
  free(msg);
  free(body);
  return rc;
}

static const char *type_of(const report__attempt_t *a)
{
  return a->ended ? report__outcome_name(a->outcome) : "interrupted";
}

static int case_properties(jw_t *j, const report_case_t *c,
                           report_verdict_t v)
{
  char iso[40], seed[32], passed[48], *tags = strdup(""),
      *outcomes = strdup("");
  size_t i;
  int rc = UV_ENOMEM;

  for (i = 0; i < c->ntags; i++)
    report__str_cat(&tags, "%s%s", i ? "," : "", c->tags[i]);
  for (i = 0; i < c->nattempts; i++)
    report__str_cat(&outcomes, "%s%s", i ? "," : "",
                    type_of(&c->attempts[i]));
  if (tags != NULL && outcomes != NULL) {
    const pair_t p[] = {
      {"target", c->target}, {"runtime", c->runtime},
      {"runtime.version", c->runtime_version}, {"seed", seed},
      {"replay", c->replay}, {"timestamp", iso},
      {"verdict", report_verdict_name(v)}, {"attempts", outcomes},
      {"passed", passed},
      {"tags", c->ntags ? tags : NULL}};
    report__fmt_iso(iso, sizeof(iso), c->start_unix_ns);
    snprintf(seed, sizeof(seed), "%" PRIu64, c->seed);
    snprintf(passed, sizeof(passed), "%u/%zu", report_case_passed(c),
             c->nattempts);
    rc = props(j->w, p, N_PAIRS(p));
  }
  free(tags);
  free(outcomes);
  return rc;
}

/* system-out: the facts a reader of GitLab's or Jenkins's page needs to
 * replay the case, then the deciding attempt's trace excerpt, then the
 * output of passing attempts that no other element carries. */
static char *case_output(const report_case_t *c, report_verdict_t v,
                         const report__attempt_t *dec)
{
  char secs[32];
  char *s = strdup("");
  size_t i;

  report__str_cat(&s, "scenario: %s", c->scenario);
  if (c->file)
    report__str_cat(&s, " (%s:%u)", c->file, c->line);
  report__str_cat(&s, "\ntarget: %s", c->target);
  if (c->runtime)
    report__str_cat(&s, " (%s%s%s)", c->runtime, c->runtime_version ? " " : "",
        str_or(c->runtime_version, ""));
  report__str_cat(&s, "\nseed: %" PRIu64 "\n", c->seed);
  if (c->replay)
    report__str_cat(&s, "replay: %s\n", c->replay);
  report__str_cat(&s, "verdict: %s\n", report_verdict_name(v));
  if (c->nattempts > 1) {
    report__str_cat(&s, "attempts:");
    for (i = 0; i < c->nattempts; i++) {
      const report__attempt_t *a = &c->attempts[i];
      report__fmt_seconds(secs, sizeof(secs), report__attempt_duration(a));
      if (a->has_seed)
        report__str_cat(&s, " %zu=%s(%ss, seed %" PRIu64 ")", i + 1,
                       type_of(a), secs, a->seed);
      else
        report__str_cat(&s, " %zu=%s(%ss)", i + 1, type_of(a), secs);
    }
    report__str_cat(&s, "\n");
  }
  if (dec->output && *dec->output)
    report__str_cat(&s, "\n%s%s", dec->output,
        dec->output[strlen(dec->output) - 1] == '\n' ? "" : "\n");
  for (i = 0; i < c->nattempts; i++) {
    const report__attempt_t *a = &c->attempts[i];
    if (a == dec || !a->ended || report__outcome_bad(a->outcome) ||
        a->output == NULL || *a->output == '\0')
      continue;
    report__str_cat(&s, "\n--- attempt %zu (%s) ---\n%s", i + 1, type_of(a),
                   a->output);
  }
  return s;
}

/* The element a case's verdict is shown by, or NULL for a pass. */
static const char *verdict_element(report_verdict_t v)
{
  switch (v) {
  case REPORT_V_FAIL:
  case REPORT_V_TIMEOUT:
    return "failure";
  case REPORT_V_ERROR:
  case REPORT_V_INTERRUPTED:
    return "error";
  case REPORT_V_SKIP:
  case REPORT_V_INCONCLUSIVE:
    return "skipped";
  default:
    return NULL;
  }
}

/* Every other bad attempt: reruns of a failing case, or the flaky
 * failures of a case that passed in the end (Surefire's shapes). */
static int other_attempts(jw_t *j, const report_case_t *c, report_verdict_t v,
                          const report__attempt_t *dec)
{
  size_t i;
  int rc;

  for (i = 0; i < c->nattempts; i++) {
    const report__attempt_t *a = &c->attempts[i];
    bool err = a->outcome == REPORT_ERROR;
    const char *elem = v == REPORT_V_FLAKY
                           ? (err ? "flakyError" : "flakyFailure")
                           : (err ? "rerunError" : "rerunFailure");
    if (a == dec || !a->ended || !report__outcome_bad(a->outcome))
      continue;
    if ((rc = result_element(j, c, a, elem, type_of(a), true)))
      return rc;
  }
  return 0;
}

/* The testcase's own attributes: file and line are not junit-10.xsd's. */
static int case_attrs(jw_t *j, const report_case_t *c, const char *name,
                      const char *classname)
{
  char secs[32], line[16];
  const pair_t a[] = {{"name", name}, {"classname", classname},
                      {"time", secs}};
  int rc;

  report__fmt_seconds(secs, sizeof(secs), report__case_duration(c));
  snprintf(line, sizeof(line), "%u", c->line);
  if ((rc = attrs(j->w, a, N_PAIRS(a))) || j->r->junit_strict || !c->file)
    return rc;
  if ((rc = report__xml_attr(j->w, "file", c->file)) || !c->line)
    return rc;
  return report__xml_attr(j->w, "line", line);
}

static int write_case(jw_t *j, const report_case_t *c, const char *classname)
{
  xmlTextWriterPtr w = j->w;
  report_verdict_t v = report_case_verdict(c);
  const report__attempt_t *dec = report__case_deciding(c);
  const char *elem = verdict_element(v);
  char *name = case_name(j->r, c), *out = case_output(c, v, dec);
  int rc = UV_ENOMEM;

  if (name == NULL || out == NULL)
    goto out;
  if ((rc = report__xml_start(w, "testcase")) ||
      (rc = case_attrs(j, c, name, classname)) ||
      (!j->r->junit_strict && (rc = case_properties(j, c, v))) ||
      (elem && (rc = result_element(j, c, dec, elem, type_of(dec), false))) ||
      (rc = other_attempts(j, c, v, dec)) ||
      (rc = report__xml_element(w, "system-out", out)))
    goto out;
  rc = report__xml_end_full(w);
out:
  free(name);
  free(out);
  return rc;
}

static void suite_counts(const report_t *r, const char *target,
                         report_counts_t *k, double *time,
                         int64_t *first_start)
{
  report_verdict_t v;
  size_t i;

  memset(k, 0, sizeof(*k));
  *time = 0;
  *first_start = 0;
  for (i = 0; i < r->ncases; i++) {
    const report_case_t *c = r->cases[i];
    if (strcmp(c->target, target) != 0)
      continue;
    v = report_case_verdict(c);
    k->cases++;
    k->by_verdict[v]++;
    *time += report__case_duration(c);
    if (*first_start == 0 || c->start_unix_ns < *first_start)
      *first_start = c->start_unix_ns;
  }
  k->passed = k->by_verdict[REPORT_V_PASS] + k->by_verdict[REPORT_V_FLAKY];
  k->failures = k->by_verdict[REPORT_V_FAIL] + k->by_verdict[REPORT_V_TIMEOUT];
  k->errors =
      k->by_verdict[REPORT_V_ERROR] + k->by_verdict[REPORT_V_INTERRUPTED];
  k->skipped =
      k->by_verdict[REPORT_V_SKIP] + k->by_verdict[REPORT_V_INCONCLUSIVE];
}

/* The suite's properties: what its cases have in common. */
static int suite_properties(jw_t *j, const report_case_t *first)
{
  const report_t *r = j->r;
  char seed[32];
  const pair_t p[] = {
    {"target", first->target}, {"runtime", first->runtime},
    {"runtime.version", first->runtime_version}, {"seed", seed},
    {"command", r->command_line}, {"shard", r->shard},
    {"clustersim.version", CLUSTERSIM_VERSION},
    {"interrupted", r->interrupt_reason}};

  snprintf(seed, sizeof(seed), "%" PRIu64, r->seed);
  return props(j->w, p, N_PAIRS(p));
}

static int suite_attrs(jw_t *j, const char *classname, const char *target,
                       unsigned id)
{
  const report_t *r = j->r;
  report_counts_t k;
  double time;
  int64_t start;
  char secs[32], iso[40], tests[16], failures[16], errors[16], skipped[16],
      ids[16];
  const pair_t a[] = {
    {"name", classname}, {"tests", tests}, {"failures", failures},
    {"errors", errors}, {"skipped", skipped}, {"time", secs},
    {"timestamp", iso}, {"hostname", r->hostname}, {"id", ids},
    {"package", r->name}};

  suite_counts(r, target, &k, &time, &start);
  report__fmt_seconds(secs, sizeof(secs), time);
  report__fmt_iso(iso, sizeof(iso), start);
  snprintf(tests, sizeof(tests), "%u", k.cases);
  snprintf(failures, sizeof(failures), "%u", k.failures);
  snprintf(errors, sizeof(errors), "%u", k.errors);
  snprintf(skipped, sizeof(skipped), "%u", k.skipped);
  snprintf(ids, sizeof(ids), "%u", id);
  return attrs(j->w, a, N_PAIRS(a));
}

static int write_suite(jw_t *j, const report_case_t *first, unsigned id)
{
  const report_t *r = j->r;
  char *classname = classname_of(r, first->target);
  size_t i;
  int rc;

  if (classname == NULL)
    return UV_ENOMEM;
  if ((rc = report__xml_start(j->w, "testsuite")) ||
      (rc = suite_attrs(j, classname, first->target, id)) ||
      (rc = suite_properties(j, first)))
    goto out;
  for (i = 0; i < r->ncases; i++)
    if (strcmp(r->cases[i]->target, first->target) == 0 &&
        (rc = write_case(j, r->cases[i], classname)))
      goto out;
  rc = report__xml_end_full(j->w);
out:
  free(classname);
  return rc;
}

int report_junit_write(const report_t *r, const char *path)
{
  xmlBufferPtr buf = NULL;
  xmlTextWriterPtr w = NULL;
  report_counts_t k;
  char secs[32];
  double time = 0;
  unsigned id = 0;
  size_t i, m;
  jw_t j;
  int rc;

  if (r == NULL || path == NULL)
    return UV_EINVAL;
  if ((rc = report__xml_new(&buf, &w)))
    return rc;
  j.r = r;
  j.w = w;
  report_counts_get(r, &k);
  for (i = 0; i < r->ncases; i++)
    time += report__case_duration(r->cases[i]);
  report__fmt_seconds(secs, sizeof(secs), time);
  report__lx->xmlTextWriterSetIndent(w, 1);
  report__lx->xmlTextWriterSetIndentString(w, (const xmlChar *)"  ");
  if (report__lx->xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) < 0) {
    rc = UV_EIO;
    goto out;
  }
  if ((rc = report__xml_start(w, "testsuites")) ||
      (rc = report__xml_attr(w, "name", r->name)) ||
      (rc = report__xml_attrf(w, "tests", "%u", k.cases)) ||
      (rc = report__xml_attrf(w, "failures", "%u", k.failures)) ||
      (rc = report__xml_attrf(w, "errors", "%u", k.errors)) ||
      (!r->junit_strict &&
       (rc = report__xml_attrf(w, "skipped", "%u", k.skipped))) ||
      (rc = report__xml_attr(w, "time", secs)))
    goto out;
  for (i = 0; i < r->ncases; i++) {
    /* A suite per target, written where its first case is. */
    for (m = 0; m < i; m++)
      if (strcmp(r->cases[m]->target, r->cases[i]->target) == 0)
        break;
    if (m == i && (rc = write_suite(&j, r->cases[i], id++)))
      goto out;
  }
  if ((rc = report__xml_end_full(w)))
    goto out;
  rc = report__xml_finish(buf, w, path);
  buf = NULL;
  w = NULL;
out:
  report__xml_abort(buf, w);
  return rc;
}
