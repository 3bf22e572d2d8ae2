/*
 * report-matrix-html.c - the compatibility matrix as one self-contained
 * page: the per-area summary, then the rules by targets, filterable by
 * text and by "failing" / "differing" rows; a cell links to its case's
 * timeline in the run's HTML report when there is one. Written with
 * xmlTextWriter like the other pages, so every piece of data is escaped.
 */
#include "report-internal.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs first: script errors and blocked loads, recorded on <html> for a
 * headless browser test to read back. */
static const char guard_js[] =
    "(function(){var d=document.documentElement,n=0,m=[];"
    "function rec(s){n++;m.push(String(s));"
    "d.setAttribute('data-console-errors',String(n));"
    "d.setAttribute('data-console-messages',m.join(' | '));}"
    "d.setAttribute('data-console-errors','0');"
    "window.addEventListener('error',function(e){"
    "rec(e.message||('resource error: '+(e.target&&e.target.tagName)));},true);"
    "document.addEventListener('securitypolicyviolation',function(e){"
    "rec('blocked load: '+e.blockedURI);});"
    "var ce=console.error;console.error=function(){"
    "rec(Array.prototype.join.call(arguments,' '));"
    "return ce.apply(console,arguments);};})();";

/* Runs last: the filters, then the marker that the script ran. A filter
 * may come in the address (#filter=TEXT&show=bad) so a link can share a
 * view. */
static const char main_js[] =
    "(function(){var f=document.getElementById('filter'),"
    "s=document.getElementById('show'),out=document.getElementById('shown'),"
    "rows=[].slice.call(document.querySelectorAll('#matrix tbody tr'));"
    "function apply(){var q=f.value.toLowerCase(),mode=s.value,n=0,t=0,"
    "area=null,seen=0;"
    "rows.forEach(function(r){if(r.className==='area'){"
    "if(area)area.hidden=!seen;area=r;seen=0;return;}t++;"
    "var ok=(!q||r.textContent.toLowerCase().indexOf(q)>=0)&&"
    "(mode==='all'||r.getAttribute('data-'+mode)==='1');"
    "r.hidden=!ok;if(ok){n++;seen++;}});"
    "if(area)area.hidden=!seen;"
    "out.textContent=n+' of '+t+' rows';"
    "document.documentElement.setAttribute('data-rows-shown',String(n));}"
    "var h=new URLSearchParams(location.hash.slice(1));"
    "if(h.get('filter'))f.value=h.get('filter');"
    "if(h.get('show'))s.value=h.get('show');"
    "f.addEventListener('input',apply);s.addEventListener('change',apply);"
    "apply();document.documentElement.setAttribute('data-report-ready','1');"
    "})();";

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "th,td{border:1px solid #ccc;padding:.25em .5em;vertical-align:top;"
    "text-align:left}"
    "thead th{background:#f3f3f3;position:sticky;top:0}"
    "tr.area th{background:#e8eef7;font-size:1.05em}"
    ".rt{font-weight:normal;color:#555;font-size:.9em}"
    "td.v-pass,td.v-flaky{background:#e6f4ea}"
    "td.v-fail,td.v-timeout,td.v-error,td.v-interrupted{background:#fce8e6}"
    "td.v-skip,td.v-inconclusive,td.v-not-run{background:#f5f5f5;color:#666}"
    "td.v-diverges{background:#fff4d6}"
    ".finding{font-size:.85em;color:#444;max-width:40em}"
    ".controls{margin:1em 0}.controls input{width:24em}"
    "code{font-size:.95em}";

static void head(report__hw_t *h)
{
  report__hw_start(h, "head", NULL);
  report__hw_start(h, "meta", NULL);
  report__hw_attr(h, "charset", "utf-8");
  report__hw_end_svg(h);
  report__hw_start(h, "meta", NULL);
  report__hw_attr(h, "http-equiv", "Content-Security-Policy");
  report__hw_attr(h, "content", "default-src 'none'; style-src "
                                "'unsafe-inline'; script-src 'unsafe-inline'");
  report__hw_end_svg(h);
  report__hw_element(h, "title", NULL, "clustersim compatibility matrix");
  report__hw_start(h, "script", NULL);
  report__hw_raw(h, guard_js);
  report__hw_end(h);
  report__hw_start(h, "style", NULL);
  report__hw_raw(h, css);
  report__hw_end(h);
  report__hw_end(h);
}

static void target_th(report__hw_t *h, const report__mx_target_t *t)
{
  char *label = report__mx_label(t);

  report__hw_start(h, "th", NULL);
  report__hw_element(h, "code", NULL, t->spec);
  if (label != NULL && *label) {
    report__hw_start(h, "div", "rt");
    report__hw_text(h, label);
    report__hw_end(h);
  }
  report__hw_end(h);
  free(label);
}

static void summary(report__hw_t *h, const report__mx_t *m)
{
  report__mx_count_t k;
  size_t i, t;

  report__hw_start(h, "table", "summary");
  report__hw_attr(h, "id", "summary");
  report__hw_start(h, "thead", NULL);
  report__hw_start(h, "tr", NULL);
  report__hw_element(h, "th", NULL, m->g->source ? "area" : "tag");
  for (t = 0; t < m->n_targets; t++)
    target_th(h, &m->targets[t]);
  report__hw_end(h);
  report__hw_end(h);
  report__hw_start(h, "tbody", NULL);
  for (i = 0; i < report__mx_n_areas(m); i++) {
    const report_area_t *a = report__mx_area(m, i);
    report__hw_start(h, "tr", NULL);
    report__hw_element(h, "th", NULL, a->name);
    for (t = 0; t < m->n_targets; t++) {
      report__mx_count(m, a, t, &k);
      report__hw_start(h, "td", k.passed == k.ran ? "v-pass" : "v-fail");
      report__hw_textf(h, "%u of %u %s", k.passed, k.ran,
                       m->g->source ? "rules" : "scenarios");
      if (k.skipped)
        report__hw_textf(h, " (%u skipped)", k.skipped);
      report__hw_end(h);
    }
    report__hw_end(h);
  }
  report__hw_end(h);
  report__hw_end(h);
}

static void cell(report__hw_t *h, const report_case_t *c,
                 const char *timelines)
{
  char cls[48], href[4200];
  const char *word = report__mx_word(c);
  char *text = report__mx_text(c);
  size_t i;

  snprintf(cls, sizeof(cls), "v v-%s", word);
  for (i = 4; cls[i]; i++) /* "not run" is one class */
    if (cls[i] == ' ')
      cls[i] = '-';
  report__hw_start(h, "td", cls);
  if (c != NULL && timelines != NULL) {
    snprintf(href, sizeof(href), "%s#case-%zu", timelines, c->index + 1);
    report__hw_start(h, "a", NULL);
    report__hw_attr(h, "href", href);
    report__hw_text(h, word);
    report__hw_end(h);
  } else {
    report__hw_text(h, word);
  }
  if (text != NULL && *text) {
    report__hw_start(h, "div", "finding");
    report__hw_text(h, text);
    report__hw_end(h);
  }
  report__hw_end(h);
  free(text);
}

/* Whether the targets disagree on a scenario, and whether any failed. */
static void row_flags(const report__mx_t *m, const char *scenario,
                      bool *bad, bool *differ)
{
  report__mx_state_t first = REPORT__MX_NOT_RUN, s;
  size_t t;

  *bad = *differ = false;
  for (t = 0; t < m->n_targets; t++) {
    s = report__mx_state(report__mx_case(m, scenario, t));
    if (s == REPORT__MX_FAIL)
      *bad = true;
    if (t == 0)
      first = s;
    else if (s != first)
      *differ = true;
  }
}

static void row(report__hw_t *h, const report__mx_t *m,
                const report_rule_t *rule, size_t k, const char *timelines)
{
  bool bad, differ;
  size_t t;

  row_flags(m, rule->scenarios[k], &bad, &differ);
  report__hw_start(h, "tr", NULL);
  report__hw_attr(h, "data-bad", bad ? "1" : "0");
  report__hw_attr(h, "data-differ", differ ? "1" : "0");
  if (m->g->source != NULL) { /* by tag, the rule is the scenario */
    report__hw_start(h, "td", "rule");
    report__hw_element(h, "code", NULL, rule->id);
    if (rule->title != NULL) {
      report__hw_text(h, " ");
      report__hw_text(h, rule->title);
    }
    report__hw_end(h);
  }
  report__hw_start(h, "td", NULL);
  report__hw_element(h, "code", NULL, rule->scenarios[k]);
  report__hw_end(h);
  for (t = 0; t < m->n_targets; t++)
    cell(h, report__mx_case(m, rule->scenarios[k], t), timelines);
  report__hw_end(h);
}

static void controls(report__hw_t *h)
{
  report__hw_start(h, "p", "controls");
  report__hw_start(h, "input", NULL);
  report__hw_attr(h, "id", "filter");
  report__hw_attr(h, "type", "search");
  report__hw_attr(h, "placeholder", "filter: rule, scenario, finding");
  report__hw_end_svg(h);
  report__hw_text(h, " ");
  report__hw_start(h, "select", NULL);
  report__hw_attr(h, "id", "show");
  report__hw_start(h, "option", NULL);
  report__hw_attr(h, "value", "all");
  report__hw_text(h, "every row");
  report__hw_end(h);
  report__hw_start(h, "option", NULL);
  report__hw_attr(h, "value", "bad");
  report__hw_text(h, "rows where a target fails");
  report__hw_end(h);
  report__hw_start(h, "option", NULL);
  report__hw_attr(h, "value", "differ");
  report__hw_text(h, "rows where targets differ");
  report__hw_end(h);
  report__hw_end(h);
  report__hw_text(h, " ");
  report__hw_start(h, "span", NULL);
  report__hw_attr(h, "id", "shown");
  report__hw_end(h);
  report__hw_end(h);
}

static void matrix(report__hw_t *h, const report__mx_t *m,
                   const char *timelines)
{
  size_t i, j, k, t;

  report__hw_start(h, "table", NULL);
  report__hw_attr(h, "id", "matrix");
  report__hw_start(h, "thead", NULL);
  report__hw_start(h, "tr", NULL);
  if (m->g->source != NULL)
    report__hw_element(h, "th", NULL, "rule");
  report__hw_element(h, "th", NULL, "scenario");
  for (t = 0; t < m->n_targets; t++)
    target_th(h, &m->targets[t]);
  report__hw_end(h);
  report__hw_end(h);
  report__hw_start(h, "tbody", NULL);
  for (i = 0; i < report__mx_n_areas(m); i++) {
    const report_area_t *a = report__mx_area(m, i);
    report__hw_start(h, "tr", "area");
    report__hw_start(h, "th", NULL);
    report__hw_attri(h, "colspan",
                     (long)m->n_targets + (m->g->source != NULL ? 2 : 1));
    report__hw_text(h, a->name);
    report__hw_end(h);
    report__hw_end(h);
    for (j = 0; j < a->n_rules; j++)
      for (k = 0; k < a->rules[j].n_scenarios; k++)
        row(h, m, &a->rules[j], k, timelines);
  }
  report__hw_end(h);
  report__hw_end(h);
}

int report__mx_html(const report__mx_t *m, const char *path,
                    const char *timelines)
{
  xmlBufferPtr buf = NULL;
  xmlTextWriterPtr w = NULL;
  report__hw_t h;
  int rc;

  if ((rc = report__xml_new(&buf, &w)))
    return rc;
  h.r = m->r;
  h.w = w;
  h.rc = 0;
  report__hw_raw(&h, "<!DOCTYPE html>\n");
  report__hw_start(&h, "html", NULL);
  report__hw_attr(&h, "lang", "en");
  head(&h);
  report__hw_start(&h, "body", NULL);
  report__hw_element(&h, "h1", NULL, "Compatibility matrix");
  report__hw_start(&h, "p", NULL);
  if (m->g->source != NULL)
    report__hw_textf(&h, "Rules from %s; per target, the rules whose every "
                     "scenario passed, of those that ran.", m->g->source);
  else
    report__hw_text(&h, "Scenarios by tag (no coverage file); per target, "
                        "the scenarios that passed, of those that ran.");
  report__hw_textf(&h, " clustersim %s.", CLUSTERSIM_VERSION);
  report__hw_end(&h);
  summary(&h, m);
  controls(&h);
  matrix(&h, m, timelines);
  report__hw_page_end(&h, main_js);
  if ((rc = h.rc))
    goto out;
  rc = report__xml_finish(buf, w, path);
  buf = NULL;
  w = NULL;
out:
  report__xml_abort(buf, w);
  return rc;
}
