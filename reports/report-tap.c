/*
 * report-tap.c - TAP 14 on a stream, one test point per case as it ends,
 * flat (no subtests: meson 1.0.1 cannot parse them), with a YAML
 * diagnostic block for anything that did not simply pass.
 */
#include "report-internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct report_tap_s {
  FILE *f;
  unsigned planned;
  unsigned n;
  unsigned ok, not_ok, skipped;
  bool plan_done;
};

int report_tap_new(report_tap_t **out, FILE *f, unsigned planned,
                   unsigned flags)
{
  report_tap_t *t;

  if (out == NULL || f == NULL)
    return UV_EINVAL;
  t = calloc(1, sizeof(*t));
  if (t == NULL)
    return UV_ENOMEM;
  t->f = f;
  t->planned = planned;
  fputs(flags & REPORT_TAP_V13 ? "TAP version 13\n" : "TAP version 14\n", f);
  if (planned) {
    fprintf(f, "1..%u\n", planned);
    t->plan_done = true;
  }
  fflush(f);
  *out = t;
  return 0;
}

void report_tap_free(report_tap_t *t)
{
  free(t);
}

/* TAP 14: '#' starts a directive and '\' escapes, in descriptions. */
static void put_desc(FILE *f, const char *s)
{
  for (; *s; s++) {
    if (*s == '#' || *s == '\\')
      fputc('\\', f);
    fputc(*s, f);
  }
}

/* A YAML double-quoted scalar; the text is already clean UTF-8 with no
 * control characters but \t and \n. */
static void put_yaml_str(FILE *f, const char *raw)
{
  char *s = report__text_clean(raw), *p;

  fputc('"', f);
  for (p = s; p && *p; p++) {
    switch (*p) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\t': fputs("\\t", f); break;
    default: fputc(*p, f);
    }
  }
  fputc('"', f);
  free(s);
}

static void put_yaml_kv(FILE *f, const char *key, const char *value)
{
  if (value == NULL)
    return;
  fprintf(f, "  %s: ", key);
  put_yaml_str(f, value);
  fputc('\n', f);
}

static void put_diag(report_tap_t *t, const report_case_t *c,
                     report_verdict_t v, const report__attempt_t *dec)
{
  const report_t *r = c->report;
  /* the attempt the message is about, whose seed and replay follow */
  const report__attempt_t *shown = report__case_shown(c);
  FILE *f = t->f;
  char *msg;
  size_t i;

  fputs("  ---\n", f);
  if (v == REPORT_V_FLAKY) {
    /* The pass decides, but the message is what went wrong before it. */
    fputs("  message: ", f);
    msg = strdup("flaky: ");
    report__str_cat(&msg, "%s",
                   shown->reason ? shown->reason
                                 : report__outcome_name(shown->outcome));
    put_yaml_str(f, msg ? msg : "flaky");
    fputc('\n', f);
    free(msg);
  } else {
    put_yaml_kv(f, "message",
                dec->ended ? (dec->reason ? dec->reason
                                          : report__outcome_name(dec->outcome))
                           : report__interrupt_reason(r));
  }
  fprintf(f, "  severity: %s\n", report_verdict_name(v));
  put_yaml_kv(f, "scenario", c->scenario);
  put_yaml_kv(f, "target", c->target);
  put_yaml_kv(f, "runtime", c->runtime);
  put_yaml_kv(f, "runtime_version", c->runtime_version);
  put_yaml_kv(f, "file", c->file);
  if (c->line)
    fprintf(f, "  line: %u\n", c->line);
  fprintf(f, "  seed: %" PRIu64 "\n", report__attempt_seed_of(c, shown));
  put_yaml_kv(f, "replay", report__attempt_replay_of(c, shown));
  fprintf(f, "  duration_ms: %.0f\n", report__case_duration(c) * 1000.0);
  if (c->nattempts > 1) {
    fprintf(f, "  passed: %u/%zu\n", report_case_passed(c), c->nattempts);
    fputs("  attempts:\n", f);
    for (i = 0; i < c->nattempts; i++) {
      const report__attempt_t *a = &c->attempts[i];
      fprintf(f, "    - outcome: %s\n",
              a->ended ? report__outcome_name(a->outcome) : "interrupted");
      if (a->has_seed)
        fprintf(f, "      seed: %" PRIu64 "\n", a->seed);
      if (a->ended && a->reason) {
        fputs("      reason: ", f);
        put_yaml_str(f, a->reason);
        fputc('\n', f);
      }
    }
  }
  if (dec->ended) {
    /* the message above already says the reason; nothing more, no key */
    char *rest = report__detail_rest(dec->reason, dec->detail);
    if (rest != NULL && *rest)
      put_yaml_kv(f, "detail", rest);
    free(rest);
  }
  fputs("  ...\n", f);
}

int report_tap_case(report_tap_t *t, const report_case_t *c)
{
  const report__attempt_t *dec;
  report_verdict_t v;
  char *name, *target, *reason;
  bool good;

  if (t == NULL || c == NULL || c->nattempts == 0)
    return UV_EINVAL;
  v = report_case_verdict(c);
  dec = report__case_deciding(c);
  good = v == REPORT_V_PASS || v == REPORT_V_FLAKY ||
         v == REPORT_V_SKIP || v == REPORT_V_INCONCLUSIVE;
  name = report__text_line(c->scenario);
  target = report__text_line(c->target);
  reason = report__text_line(dec->ended ? dec->reason : NULL);
  if (name == NULL || target == NULL || reason == NULL) {
    free(name);
    free(target);
    free(reason);
    return UV_ENOMEM;
  }
  t->n++;
  fprintf(t->f, "%s %u - ", good ? "ok" : "not ok", t->n);
  put_desc(t->f, name);
  fputs(" [", t->f);
  put_desc(t->f, target);
  fputc(']', t->f);
  if (v == REPORT_V_SKIP || v == REPORT_V_INCONCLUSIVE) {
    fprintf(t->f, " # SKIP %s%s",
            v == REPORT_V_INCONCLUSIVE ? "inconclusive: " : "",
            *reason ? reason : report_verdict_name(v));
    t->skipped++;
  } else if (good) {
    t->ok++;
  } else {
    t->not_ok++;
  }
  fputc('\n', t->f);
  if (v != REPORT_V_PASS && v != REPORT_V_SKIP &&
      v != REPORT_V_INCONCLUSIVE)
    put_diag(t, c, v, dec);
  fflush(t->f);
  free(name);
  free(target);
  free(reason);
  return 0;
}

int report_tap_end(report_tap_t *t)
{
  if (t == NULL)
    return UV_EINVAL;
  if (!t->plan_done) {
    fprintf(t->f, "1..%u\n", t->n);
    t->plan_done = true;
  }
  fprintf(t->f, "# %u passed, %u failed, %u skipped\n", t->ok, t->not_ok,
          t->skipped);
  fflush(t->f);
  return 0;
}

int report_tap_bail(report_tap_t *t, const char *reason)
{
  char *s;

  if (t == NULL)
    return UV_EINVAL;
  s = report__text_line(reason ? reason : "");
  if (s == NULL)
    return UV_ENOMEM;
  fprintf(t->f, "Bail out! %s\n", s);
  fflush(t->f);
  free(s);
  return 0;
}
