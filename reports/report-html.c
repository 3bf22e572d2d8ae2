/*
 * report-html.c - the self-contained HTML page: run facts, a table of
 * scenarios by target, and for every attempt an SVG timeline (a lane for
 * the primary, one per worker, one for the harness and load generator).
 *
 * Written with xmlTextWriter like the JUnit file, so every piece of data is
 * escaped; HTML elements always get an explicit end tag (an HTML parser
 * ignores "/>" on a <div>), SVG elements may self-close.
 */
#include "report-internal.h"
#include "report-html-style.inc"
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static char *vclass(report_verdict_t v)
{
  char *s = strdup("");

  report__str_cat(&s, "v v-%s", report_verdict_name(v));
  return s;
}

/* ---------------------------------------------------------------------- */

static void head(report__hw_t *h)
{
  report__hw_start(h, "head", NULL);
  report__hw_start(h, "meta", NULL);
  report__hw_attr(h, "charset", "utf-8");
  report__hw_end_svg(h);
  /* Self-contained means no network at all: the policy makes the browser
   * refuse any load a future change might add. */
  report__hw_start(h, "meta", NULL);
  report__hw_attr(h, "http-equiv", "Content-Security-Policy");
  report__hw_attr(h, "content",
                  "default-src 'none'; style-src 'unsafe-inline'; "
                     "script-src 'unsafe-inline'; img-src data:");
  report__hw_end_svg(h);
  report__hw_start(h, "title", NULL);
  report__hw_textf(h, "%s report", h->r->name);
  report__hw_end(h);
  report__hw_start(h, "script", NULL);
  report__hw_raw(h, report_html_guard_js);
  report__hw_end(h);
  report__hw_start(h, "style", NULL);
  report__hw_raw(h, report_html_css);
  report__hw_end(h);
  report__hw_end(h);
}

static void fact(report__hw_t *h, const char *dt, const char *dd, bool code)
{
  if (dd == NULL || *dd == '\0')
    return;
  report__hw_element(h, "dt", NULL, dt);
  report__hw_start(h, "dd", NULL);
  if (code)
    report__hw_element(h, "code", NULL, dd);
  else
    report__hw_text(h, dd);
  report__hw_end(h);
}

static void run_header(report__hw_t *h)
{
  const report_t *r = h->r;
  report_counts_t k;
  char iso[40], seed[32];

  report_counts_get(r, &k);
  report__fmt_iso(iso, sizeof(iso), r->start_unix_ns);
  snprintf(seed, sizeof(seed), "%" PRIu64, r->seed);
  report__hw_start(h, "header", NULL);
  report__hw_start(h, "h1", NULL);
  report__hw_textf(h, "%s report", r->name);
  report__hw_end(h);
  report__hw_start(h, "p", "badges");
  report__hw_start(h, "span", "v-pass");
  report__hw_textf(h, "%u passed", k.passed);
  report__hw_end(h);
  report__hw_start(h, "span", "v-flaky");
  report__hw_textf(h, "(%u flaky)", k.by_verdict[REPORT_V_FLAKY]);
  report__hw_end(h);
  report__hw_start(h, "span", "v-fail");
  report__hw_textf(h, "%u failed", k.failures);
  report__hw_end(h);
  report__hw_start(h, "span", "v-error");
  report__hw_textf(h, "%u errors", k.errors);
  report__hw_end(h);
  report__hw_start(h, "span", "v-skip");
  report__hw_textf(h, "%u skipped", k.skipped);
  report__hw_end(h);
  report__hw_start(h, "span", NULL);
  report__hw_textf(h, "of %u", k.cases);
  report__hw_end(h);
  report__hw_end(h);
  report__hw_start(h, "dl", "facts meta");
  fact(h, "started", iso, false);
  fact(h, "host", r->hostname, false);
  fact(h, "command", r->command_line, true);
  fact(h, "seed", seed, false);
  fact(h, "targets", r->targets, false);
  fact(h, "shard", r->shard, false);
  fact(h, "interrupted", r->interrupt_reason, false);
  fact(h, "clustersim", CLUSTERSIM_VERSION, false);
  report__hw_end(h);
  report__hw_start(h, "label", "meta");
  report__hw_start(h, "input", NULL);
  report__hw_attr(h, "type", "checkbox");
  report__hw_attr(h, "id", "only-bad");
  report__hw_end_svg(h);
  report__hw_text(h, " show only cases that need attention");
  report__hw_end(h);
  report__hw_end(h);
}

static bool verdict_good(report_verdict_t v)
{
  return v == REPORT_V_PASS || v == REPORT_V_SKIP;
}

/* The distinct values of a case field, in order of first appearance. */
static size_t distinct(const report_t *r, size_t field_off, const char **out)
{
  size_t i, j, n = 0;

  for (i = 0; i < r->ncases; i++) {
    const char *v = *(const char *const *)((const char *)r->cases[i] +
                                           field_off);
    for (j = 0; j < n; j++)
      if (strcmp(out[j], v) == 0)
        break;
    if (j == n)
      out[n++] = v;
  }
  return n;
}

static void matrix(report__hw_t *h)
{
  const report_t *r = h->r;
  const char **targets, **scen;
  size_t nt, ns, i, j, k;
  char secs[32], id[32], *cls;

  targets = calloc(r->ncases + 1, sizeof(*targets));
  scen = calloc(r->ncases + 1, sizeof(*scen));
  if (targets == NULL || scen == NULL) {
    h->rc = UV_ENOMEM;
    goto out;
  }
  nt = distinct(r, offsetof(report_case_t, target), targets);
  ns = distinct(r, offsetof(report_case_t, scenario), scen);
  report__hw_start(h, "table", "matrix");
  report__hw_start(h, "thead", NULL);
  report__hw_start(h, "tr", NULL);
  report__hw_element(h, "th", NULL, "scenario");
  for (j = 0; j < nt; j++)
    report__hw_element(h, "th", NULL, targets[j]);
  report__hw_end(h);
  report__hw_end(h);
  report__hw_start(h, "tbody", NULL);
  for (i = 0; i < ns; i++) {
    bool good = true;
    for (k = 0; k < r->ncases; k++)
      if (strcmp(r->cases[k]->scenario, scen[i]) == 0 &&
          !verdict_good(report_case_verdict(r->cases[k])))
        good = false;
    report__hw_start(h, "tr", good ? "good" : "bad");
    report__hw_element(h, "th", NULL, scen[i]);
    for (j = 0; j < nt; j++) {
      bool any = false;
      for (k = 0; k < r->ncases; k++) {
        const report_case_t *c = r->cases[k];
        report_verdict_t v;
        if (strcmp(c->scenario, scen[i]) || strcmp(c->target, targets[j]))
          continue;
        v = report_case_verdict(c);
        if (!any) {
          /* "v v-fail" -> "v-fail": the cell takes the colour only. */
          cls = vclass(v);
          report__hw_start(h, "td", cls ? cls + strlen("v ") : NULL);
          free(cls);
        }
        any = true;
        snprintf(id, sizeof(id), "#case-%zu", c->index + 1);
        report__fmt_seconds(secs, sizeof(secs), report__case_duration(c));
        report__hw_start(h, "a", NULL);
        report__hw_attr(h, "href", id);
        report__hw_textf(h, "%s %s s", report_verdict_name(v), secs);
        report__hw_end(h);
        report__hw_text(h, " ");
      }
      if (!any) {
        report__hw_start(h, "td", NULL);
        report__hw_text(h, "\xe2\x80\x94");
      }
      report__hw_end(h);
    }
    report__hw_end(h);
  }
  report__hw_end(h);
  report__hw_end(h);
out:
  free(targets);
  free(scen);
}

static void case_heading(report__hw_t *h, const report_case_t *c,
                         report_verdict_t v)
{
  const report__attempt_t *dec = report__case_deciding(c);
  char *cls = vclass(v);

  report__hw_start(h, "h2", NULL);
  report__hw_element(h, "span", cls, report_verdict_name(v));
  free(cls);
  report__hw_text(h, " ");
  report__hw_text(h, c->scenario);
  report__hw_text(h, " [");
  report__hw_text(h, c->target);
  report__hw_text(h, "]");
  if (c->nattempts > 1)
    report__hw_textf(h, " (%u/%zu passed)", report_case_passed(c),
                     c->nattempts);
  report__hw_end(h);
  if (!dec->ended)
    report__hw_element(h, "p", "reason",
                       report__interrupt_reason(c->report));
  else if (v != REPORT_V_PASS && dec->reason)
    report__hw_element(h, "p", "reason", dec->reason);
}

static void case_facts(report__hw_t *h, const report_case_t *c)
{
  char seed[32], loc[64];

  snprintf(seed, sizeof(seed), "%" PRIu64, c->seed);
  report__hw_start(h, "dl", "facts");
  if (c->file) {
    snprintf(loc, sizeof(loc), ":%u", c->line);
    report__hw_element(h, "dt", NULL, "scenario");
    report__hw_start(h, "dd", NULL);
    report__hw_start(h, "code", NULL);
    report__hw_text(h, c->file);
    report__hw_text(h, loc);
    report__hw_end(h);
    report__hw_end(h);
  }
  fact(h, "runtime", c->runtime, false);
  fact(h, "version", c->runtime_version, false);
  fact(h, "seed", seed, false);
  fact(h, "replay", c->replay, true);
  report__hw_end(h);
}

/* "attempt 2 of 3: fail in 0.412 s, 57 events, seed 8: reason" */
static void attempt_heading(report__hw_t *h, const report_case_t *c,
                            size_t i)
{
  const report__attempt_t *a = &c->attempts[i];
  const char *outcome =
      a->ended ? report__outcome_name(a->outcome) : "interrupted";
  /* every bad outcome is coloured as a failure */
  const char *colour = a->ended && report__outcome_bad(a->outcome)
                           ? "fail" : outcome;
  char secs[32], *cls = strdup("");

  report__fmt_seconds(secs, sizeof(secs), report__attempt_duration(a));
  report__hw_start(h, "h3", NULL);
  if (c->nattempts > 1)
    report__hw_textf(h, "attempt %zu of %zu: ", i + 1, c->nattempts);
  report__str_cat(&cls, "v v-%s", colour);
  report__hw_element(h, "span", cls, outcome);
  free(cls);
  report__hw_textf(h, " in %s s, %zu events", secs, a->nmarks);
  if (c->nattempts > 1 && a->has_seed)
    report__hw_textf(h, ", seed %" PRIu64, a->seed);
  if (a->ended && a->reason && i + 1 < c->nattempts) {
    report__hw_text(h, ": ");
    report__hw_text(h, a->reason);
  }
  report__hw_end(h);
}

/* A collapsible block of preformatted text. */
static void details(report__hw_t *h, const char *summary, const char *text,
                    bool open)
{
  if (text == NULL || *text == '\0')
    return;
  report__hw_start(h, "details", NULL);
  if (open)
    report__hw_attr(h, "open", "open");
  report__hw_element(h, "summary", NULL, summary);
  report__hw_element(h, "pre", NULL, text);
  report__hw_end(h);
}

static void case_article(report__hw_t *h, const report_case_t *c)
{
  report_verdict_t v = report_case_verdict(c);
  char id[32];
  size_t i;

  snprintf(id, sizeof(id), "case-%zu", c->index + 1);
  report__hw_start(h, "article", verdict_good(v)         ? "good"
                                 : v == REPORT_V_FLAKY ? "bad flaky"
                                                       : "bad");
  report__hw_attr(h, "id", id);
  case_heading(h, c, v);
  case_facts(h, c);
  for (i = 0; i < c->nattempts; i++) {
    const report__attempt_t *a = &c->attempts[i];
    attempt_heading(h, c, i);
    if (a->nmarks)
      report__timeline_write(h, a);
    details(h, "diagnostic", a->detail, !verdict_good(v));
    details(h, "trace excerpt", a->output, false);
  }
  report__hw_end(h);
}

int report_html_write(const report_t *r, const char *path)
{
  xmlBufferPtr buf = NULL;
  xmlTextWriterPtr w = NULL;
  report__hw_t h;
  size_t i;
  int rc;

  if (r == NULL || path == NULL)
    return UV_EINVAL;
  if ((rc = report__xml_new(&buf, &w)))
    return rc;
  h.r = r;
  h.w = w;
  h.rc = 0;
  report__hw_raw(&h, "<!DOCTYPE html>\n");
  report__hw_start(&h, "html", NULL);
  report__hw_attr(&h, "lang", "en");
  head(&h);
  report__hw_start(&h, "body", NULL);
  run_header(&h);
  matrix(&h);
  report__timeline_legend(&h);
  for (i = 0; i < r->ncases; i++)
    case_article(&h, r->cases[i]);
  report__hw_page_end(&h, report_html_main_js);
  if ((rc = h.rc))
    goto out;
  rc = report__xml_finish(buf, w, path);
  buf = NULL;
  w = NULL;
out:
  report__xml_abort(buf, w);
  return rc;
}
