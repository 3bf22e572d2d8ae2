/*
 * report_html.c - the self-contained HTML page: run facts, a table of
 * scenarios by target, and for every attempt an SVG timeline (a lane for
 * the primary, one per worker, one for the harness and load generator).
 *
 * Written with xmlTextWriter like the JUnit file, so every piece of data is
 * escaped; HTML elements always get an explicit end tag (an HTML parser
 * ignores "/>" on a <div>), SVG elements may self-close.
 */
#include "report_private.h"
#include "report_html_style.h"
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define X(s) ((const xmlChar *)(s))

/* SVG geometry, in user units (the viewBox scales it to the page). */
#define SVG_W 1000
#define GUTTER 96
#define PAD_R 24
#define AXIS_H 22
#define TOP_H 20
#define LANE_H 26

typedef struct {
  const report_t *r;
  xmlTextWriterPtr w;
  int rc;
} hw_t;

/* The writer keeps the first error and turns later calls into no-ops, so
 * the page code reads as the page it writes. */
static void start(hw_t *h, const char *name, const char *cls)
{
  if (h->rc == 0)
    h->rc = report_xml_start(h->w, name);
  if (h->rc == 0 && cls)
    h->rc = report_xml_attr(h->w, "class", cls);
}

static void attr(hw_t *h, const char *name, const char *value)
{
  if (h->rc == 0)
    h->rc = report_xml_attr(h->w, name, value);
}

static void attri(hw_t *h, const char *name, long v)
{
  if (h->rc == 0)
    h->rc = report_xml_attrf(h->w, name, "%ld", v);
}

static void text(hw_t *h, const char *s)
{
  if (h->rc == 0)
    h->rc = report_xml_text(h->w, s);
}

static void textf(hw_t *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void textf(hw_t *h, const char *fmt, ...)
{
  char buf[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  text(h, buf);
}

static void end(hw_t *h)
{
  if (h->rc == 0)
    h->rc = report_xml_end_full(h->w);
}

static void end_svg(hw_t *h)
{
  if (h->rc == 0)
    h->rc = report_xml_end(h->w);
}

static void raw(hw_t *h, const char *s)
{
  if (h->rc == 0 && xmlTextWriterWriteRaw(h->w, X(s)) < 0)
    h->rc = UV_EIO;
}

static void element(hw_t *h, const char *name, const char *cls,
                    const char *s)
{
  start(h, name, cls);
  text(h, s);
  end(h);
}

static char *vclass(report_verdict_t v)
{
  char *s = strdup("");

  report_str_cat(&s, "v v-%s", report_verdict_name(v));
  return s;
}

/* ---------------------------------------------------------------------- */

static void head(hw_t *h)
{
  start(h, "head", NULL);
  start(h, "meta", NULL);
  attr(h, "charset", "utf-8");
  end_svg(h);
  /* Self-contained means no network at all: the policy makes the browser
   * refuse any load a future change might add. */
  start(h, "meta", NULL);
  attr(h, "http-equiv", "Content-Security-Policy");
  attr(h, "content", "default-src 'none'; style-src 'unsafe-inline'; "
                     "script-src 'unsafe-inline'; img-src data:");
  end_svg(h);
  start(h, "title", NULL);
  textf(h, "%s report", h->r->name);
  end(h);
  start(h, "script", NULL);
  raw(h, report_html_guard_js);
  end(h);
  start(h, "style", NULL);
  raw(h, report_html_css);
  end(h);
  end(h);
}

static void fact(hw_t *h, const char *dt, const char *dd, bool code)
{
  if (dd == NULL || *dd == '\0')
    return;
  element(h, "dt", NULL, dt);
  start(h, "dd", NULL);
  if (code)
    element(h, "code", NULL, dd);
  else
    text(h, dd);
  end(h);
}

static void run_header(hw_t *h)
{
  const report_t *r = h->r;
  report_counts_t k;
  char iso[40], seed[32];

  report_counts_get(r, &k);
  report_fmt_iso(iso, sizeof(iso), r->start_unix_ns);
  snprintf(seed, sizeof(seed), "%" PRIu64, r->seed);
  start(h, "header", NULL);
  start(h, "h1", NULL);
  textf(h, "%s report", r->name);
  end(h);
  start(h, "p", "badges");
  start(h, "span", "v-pass");
  textf(h, "%u passed", k.passed);
  end(h);
  start(h, "span", "v-flaky");
  textf(h, "%u flaky", k.by_verdict[REPORT_V_FLAKY]);
  end(h);
  start(h, "span", "v-fail");
  textf(h, "%u failed", k.failures);
  end(h);
  start(h, "span", "v-error");
  textf(h, "%u errors", k.errors);
  end(h);
  start(h, "span", "v-skip");
  textf(h, "%u skipped", k.skipped);
  end(h);
  start(h, "span", NULL);
  textf(h, "of %u", k.cases);
  end(h);
  end(h);
  start(h, "dl", "facts meta");
  fact(h, "started", iso, false);
  fact(h, "host", r->hostname, false);
  fact(h, "command", r->command_line, true);
  fact(h, "seed", seed, false);
  fact(h, "targets", r->targets, false);
  fact(h, "shard", r->shard, false);
  fact(h, "interrupted", r->interrupt_reason, false);
  fact(h, "clustersim", CLUSTERSIM_VERSION, false);
  end(h);
  start(h, "label", "meta");
  start(h, "input", NULL);
  attr(h, "type", "checkbox");
  attr(h, "id", "only-bad");
  end_svg(h);
  text(h, " show only cases that need attention");
  end(h);
  end(h);
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

static void matrix(hw_t *h)
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
  start(h, "table", "matrix");
  start(h, "thead", NULL);
  start(h, "tr", NULL);
  element(h, "th", NULL, "scenario");
  for (j = 0; j < nt; j++)
    element(h, "th", NULL, targets[j]);
  end(h);
  end(h);
  start(h, "tbody", NULL);
  for (i = 0; i < ns; i++) {
    bool good = true;
    for (k = 0; k < r->ncases; k++)
      if (strcmp(r->cases[k]->scenario, scen[i]) == 0 &&
          !verdict_good(report_case_verdict(r->cases[k])))
        good = false;
    start(h, "tr", good ? "good" : "bad");
    element(h, "th", NULL, scen[i]);
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
          start(h, "td", cls ? cls + strlen("v ") : NULL);
          free(cls);
        }
        any = true;
        snprintf(id, sizeof(id), "#case-%zu", c->index + 1);
        report_fmt_seconds(secs, sizeof(secs), report_case_duration(c));
        start(h, "a", NULL);
        attr(h, "href", id);
        textf(h, "%s %s s", report_verdict_name(v), secs);
        end(h);
        text(h, " ");
      }
      if (!any) {
        start(h, "td", NULL);
        text(h, "\xe2\x80\x94");
      }
      end(h);
    }
    end(h);
  }
  end(h);
  end(h);
out:
  free(targets);
  free(scen);
}

/* ---------------------------------------------------------------------- */
/* The timeline                                                            */

typedef struct {
  int lanes[256];
  size_t nlanes;
  uint64_t t0, t1;
} tl_geom_t;

static int cmp_int(const void *a, const void *b)
{
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* Lanes: the harness (when it has marks) on top, the primary, then the
 * workers by id. More than the array holds share the last lane. */
static void geometry(const report_attempt_t *a, tl_geom_t *g)
{
  size_t i, j;

  memset(g, 0, sizeof(*g));
  g->lanes[g->nlanes++] = REPORT_LANE_PRIMARY;
  for (i = 0; i < a->nmarks; i++) {
    const report_mark_t *m = &a->marks[i];
    if (i == 0 || m->t_ns < g->t0)
      g->t0 = m->t_ns;
    if (i == 0 || m->t_ns > g->t1)
      g->t1 = m->t_ns;
    for (j = 0; j < g->nlanes; j++)
      if (g->lanes[j] == m->lane)
        break;
    if (j == g->nlanes && g->nlanes < sizeof(g->lanes) / sizeof(g->lanes[0]))
      g->lanes[g->nlanes++] = m->lane < REPORT_LANE_HARNESS
                                  ? REPORT_LANE_HARNESS
                                  : m->lane;
  }
  qsort(g->lanes, g->nlanes, sizeof(g->lanes[0]), cmp_int);
  /* Dedupe what the clamp above may have doubled. */
  for (i = 1, j = 1; i < g->nlanes; i++)
    if (g->lanes[i] != g->lanes[j - 1])
      g->lanes[j++] = g->lanes[i];
  g->nlanes = j;
  if (g->t1 <= g->t0)
    g->t1 = g->t0 + 1000000; /* a 1 ms span for one-instant traces */
}

static size_t lane_index(const tl_geom_t *g, int lane)
{
  size_t i;

  if (lane < REPORT_LANE_HARNESS)
    lane = REPORT_LANE_HARNESS;
  for (i = 0; i < g->nlanes; i++)
    if (g->lanes[i] == lane)
      return i;
  return g->nlanes - 1;
}

static long x_of(const tl_geom_t *g, uint64_t t)
{
  double f = (double)(t - g->t0) / (double)(g->t1 - g->t0);
  return GUTTER + (long)(f * (SVG_W - GUTTER - PAD_R) + 0.5);
}

static long y_of(size_t lane_i)
{
  return TOP_H + AXIS_H + (long)lane_i * LANE_H + LANE_H / 2;
}

static void svg_rect(hw_t *h, const char *cls, long x, long y, long w, long hh)
{
  start(h, "rect", cls);
  attri(h, "x", x);
  attri(h, "y", y);
  attri(h, "width", w > 0 ? w : 1);
  attri(h, "height", hh);
  end_svg(h);
}

static void svg_line(hw_t *h, const char *cls, long x1, long y1, long x2,
                     long y2)
{
  start(h, "line", cls);
  attri(h, "x1", x1);
  attri(h, "y1", y1);
  attri(h, "x2", x2);
  attri(h, "y2", y2);
  end_svg(h);
}

/* Time labels in ms or s, with integer arithmetic (no locale). */
static void fmt_tick(char *buf, size_t size, uint64_t ns, uint64_t step)
{
  uint64_t ms = ns / 1000000u;

  if (step >= 1000000000u)
    snprintf(buf, size, "%" PRIu64 " s", ns / 1000000000u);
  else if (step >= 100000000u)
    snprintf(buf, size, "%" PRIu64 ".%" PRIu64 " s", ms / 1000,
             (ms % 1000) / 100);
  else if (step >= 1000000u)
    snprintf(buf, size, "%" PRIu64 " ms", ms);
  else
    snprintf(buf, size, "%" PRIu64 " us", ns / 1000u);
}

static void axis(hw_t *h, const tl_geom_t *g, long bottom)
{
  static const uint64_t mult[] = {1, 2, 5};
  uint64_t span = g->t1 - g->t0, step = 1000, t;
  char buf[32];
  size_t i = 0;

  /* A 1-2-5 step giving at most 10 ticks. */
  while (span / (step * mult[i % 3]) > 10)
    if (++i % 3 == 0)
      step *= 10;
  step *= mult[i % 3];
  start(h, "g", "axis");
  for (t = 0; t <= span; t += step) {
    long x = x_of(g, g->t0 + t);
    svg_line(h, NULL, x, TOP_H + AXIS_H - 4, x, bottom);
    fmt_tick(buf, sizeof(buf), t, step);
    start(h, "text", NULL);
    attri(h, "x", x);
    attri(h, "y", TOP_H + AXIS_H - 8);
    attr(h, "text-anchor", "middle");
    text(h, buf);
    end_svg(h);
  }
  end_svg(h);
}

static const char *kind_class(const char *kind)
{
  static const char *const known[] = {"fork", "online", "listening",
                                      "disconnect", "exit", "message",
                                      "policy", "error", NULL};
  size_t i;

  for (i = 0; known[i]; i++)
    if (strcmp(kind, known[i]) == 0)
      return known[i];
  return "other";
}

static void mark(hw_t *h, const tl_geom_t *g, const report_mark_t *m,
                 size_t idx)
{
  long x = x_of(g, m->t_ns), y = y_of(lane_index(g, m->lane));
  char cls[64], tbuf[32], *tip = strdup("");

  report_fmt_seconds(tbuf, sizeof(tbuf), (double)(m->t_ns - g->t0) / 1e9);
  report_str_cat(&tip, "#%zu  %s s  %s%s%s", idx, tbuf, m->kind,
                 m->label ? ": " : "", m->label ? m->label : "");
  if (m->flags & REPORT_EVENT_FAULT) {
    char d[96];
    snprintf(d, sizeof(d), "M%ld %ldl7 7-7 7-7-7z", x, y - 7);
    start(h, "path", "fault");
    attr(h, "d", d);
  } else if (m->flags & REPORT_EVENT_FAILED_REQUEST) {
    char d[96];
    snprintf(d, sizeof(d), "M%ld %ldl8 8M%ld %ldl8-8", x - 4, y - 4, x - 4,
             y + 4);
    start(h, "path", "failreq");
    attr(h, "d", d);
  } else {
    snprintf(cls, sizeof(cls), "mark k-%s", kind_class(m->kind));
    start(h, "circle", cls);
    attri(h, "cx", x);
    attri(h, "cy", y);
    attri(h, "r", 5);
  }
  start(h, "title", NULL);
  text(h, tip ? tip : m->kind);
  end_svg(h);
  end_svg(h);
  free(tip);
}

static const char *lane_name(int lane, char *buf, size_t size)
{
  if (lane == REPORT_LANE_PRIMARY)
    return "primary";
  if (lane < 0)
    return "harness";
  snprintf(buf, size, "worker %d", lane);
  return buf;
}

/* Each worker's life as a bar from its first mark to its exit (or to the
 * end of the trace when it never exited). */
static void lifelines(hw_t *h, const tl_geom_t *g, const report_attempt_t *a)
{
  size_t li, i;

  for (li = 0; li < g->nlanes; li++) {
    uint64_t first = 0, last = 0;
    bool seen = false, exited = false;
    if (g->lanes[li] < 0)
      continue;
    for (i = 0; i < a->nmarks; i++) {
      const report_mark_t *m = &a->marks[i];
      if (lane_index(g, m->lane) != li)
        continue;
      if (!seen || m->t_ns < first)
        first = m->t_ns;
      if (!seen || m->t_ns > last)
        last = m->t_ns;
      seen = true;
      if (strcmp(m->kind, "exit") == 0)
        exited = true;
    }
    if (!seen)
      continue;
    if (!exited)
      last = g->t1;
    svg_rect(h, "life", x_of(g, first), y_of(li) - 3,
             x_of(g, last) - x_of(g, first), 6);
  }
}

static void pointer(hw_t *h, const tl_geom_t *g, const report_attempt_t *a,
                    long bottom)
{
  const report_mark_t *m;
  long x, y;
  char d[96], *line;

  if (a->failed_event < 0 || (size_t)a->failed_event >= a->nmarks)
    return;
  m = &a->marks[a->failed_event];
  x = x_of(g, m->t_ns);
  y = y_of(lane_index(g, m->lane));
  start(h, "g", "expect");
  svg_line(h, "expect-line", x, TOP_H + 2, x, bottom);
  snprintf(d, sizeof(d), "M%ld %ldl-6-9h12z", x, (long)TOP_H + 2);
  start(h, "path", "fault");
  attr(h, "d", d);
  end_svg(h);
  start(h, "circle", "violation");
  attri(h, "cx", x);
  attri(h, "cy", y);
  attri(h, "r", 9);
  end_svg(h);
  line = report_text_line(a->reason);
  start(h, "text", "expect-text");
  attri(h, "x", x < SVG_W / 2 ? x + 8 : x - 8);
  attri(h, "y", TOP_H - 6);
  attr(h, "text-anchor", x < SVG_W / 2 ? "start" : "end");
  text(h, "expectation failed");
  if (line && *line) {
    if (strlen(line) > 90)
      strcpy(line + 87, "...");
    textf(h, ": %s", line);
  }
  end_svg(h);
  free(line);
  end_svg(h);
}

static void timeline(hw_t *h, const report_attempt_t *a)
{
  tl_geom_t g;
  char vb[64], buf[32];
  long height, bottom;
  size_t i;

  geometry(a, &g);
  bottom = TOP_H + AXIS_H + (long)g.nlanes * LANE_H;
  height = bottom + 6;
  snprintf(vb, sizeof(vb), "0 0 %d %ld", SVG_W, height);
  start(h, "svg", "timeline");
  attr(h, "xmlns", "http://www.w3.org/2000/svg");
  attr(h, "viewBox", vb);
  attr(h, "role", "img");
  start(h, "title", NULL);
  textf(h, "timeline: %zu lanes, %zu events", g.nlanes, a->nmarks);
  end_svg(h);
  for (i = 0; i < g.nlanes; i++) {
    svg_rect(h, i % 2 ? "lane-bg odd" : "lane-bg", 0,
             TOP_H + AXIS_H + (long)i * LANE_H, SVG_W, LANE_H);
    start(h, "text", "lane-label");
    attri(h, "x", 8);
    attri(h, "y", y_of(i) + 4);
    text(h, lane_name(g.lanes[i], buf, sizeof(buf)));
    end_svg(h);
  }
  axis(h, &g, bottom);
  lifelines(h, &g, a);
  for (i = 0; i < a->nmarks; i++)
    mark(h, &g, &a->marks[i], i);
  pointer(h, &g, a, bottom);
  end_svg(h);
}

static void legend(hw_t *h)
{
  static const char *const kinds[] = {"fork", "online", "listening",
                                      "disconnect", "exit", "message",
                                      "policy", "error", NULL};
  char cls[32];
  size_t i;

  start(h, "p", "legend");
  for (i = 0; kinds[i]; i++) {
    start(h, "svg", NULL);
    attr(h, "xmlns", "http://www.w3.org/2000/svg");
    attr(h, "width", "12");
    attr(h, "height", "12");
    snprintf(cls, sizeof(cls), "mark k-%s", kinds[i]);
    start(h, "circle", cls);
    attr(h, "cx", "6");
    attr(h, "cy", "6");
    attr(h, "r", "5");
    end_svg(h);
    end_svg(h);
    textf(h, " %s  ", kinds[i]);
  }
  start(h, "svg", NULL);
  attr(h, "xmlns", "http://www.w3.org/2000/svg");
  attr(h, "width", "16");
  attr(h, "height", "16");
  start(h, "path", "fault");
  attr(h, "d", "M8 1l7 7-7 7-7-7z");
  end_svg(h);
  end_svg(h);
  text(h, " fault  ");
  start(h, "svg", NULL);
  attr(h, "xmlns", "http://www.w3.org/2000/svg");
  attr(h, "width", "12");
  attr(h, "height", "12");
  start(h, "path", "failreq");
  attr(h, "d", "M2 2l8 8M2 10l8-8");
  end_svg(h);
  end_svg(h);
  text(h, " failed request");
  end(h);
}

static void case_article(hw_t *h, const report_case_t *c)
{
  report_verdict_t v = report_case_verdict(c);
  const report_attempt_t *dec = report_case_deciding(c);
  char id[32], secs[32], seed[32], loc[64], *cls;
  size_t i;

  snprintf(id, sizeof(id), "case-%zu", c->index + 1);
  snprintf(seed, sizeof(seed), "%" PRIu64, c->seed);
  start(h, "article", verdict_good(v) ? "good" : "bad");
  attr(h, "id", id);
  start(h, "h2", NULL);
  cls = vclass(v);
  element(h, "span", cls, report_verdict_name(v));
  free(cls);
  text(h, " ");
  text(h, c->scenario);
  text(h, " [");
  text(h, c->target);
  text(h, "]");
  end(h);
  if (!dec->ended)
    element(h, "p", "reason", report_interrupt_reason(c->report));
  else if (v != REPORT_V_PASS && dec->reason)
    element(h, "p", "reason", dec->reason);
  start(h, "dl", "facts");
  if (c->file) {
    snprintf(loc, sizeof(loc), ":%u", c->line);
    start(h, "dt", NULL);
    text(h, "scenario");
    end(h);
    start(h, "dd", NULL);
    start(h, "code", NULL);
    text(h, c->file);
    text(h, loc);
    end(h);
    end(h);
  }
  fact(h, "runtime", c->runtime, false);
  fact(h, "version", c->runtime_version, false);
  fact(h, "seed", seed, false);
  fact(h, "replay", c->replay, true);
  end(h);
  for (i = 0; i < c->nattempts; i++) {
    const report_attempt_t *a = &c->attempts[i];
    report_fmt_seconds(secs, sizeof(secs), report_attempt_duration(a));
    start(h, "h3", NULL);
    if (c->nattempts > 1)
      textf(h, "attempt %zu of %zu: ", i + 1, c->nattempts);
    cls = strdup("");
    report_str_cat(&cls, "v v-%s",
                   a->ended ? (report_outcome_bad(a->outcome)
                                   ? "fail"
                                   : report_outcome_name(a->outcome))
                            : "interrupted");
    element(h, "span", cls,
            a->ended ? report_outcome_name(a->outcome) : "interrupted");
    free(cls);
    textf(h, " in %s s, %zu events", secs, a->nmarks);
    if (a->ended && a->reason && i + 1 < c->nattempts) {
      text(h, ": ");
      text(h, a->reason);
    }
    end(h);
    if (a->nmarks)
      timeline(h, a);
    if (a->detail && *a->detail) {
      start(h, "details", NULL);
      if (!verdict_good(v))
        attr(h, "open", "open");
      element(h, "summary", NULL, "diagnostic");
      element(h, "pre", NULL, a->detail);
      end(h);
    }
    if (a->output && *a->output) {
      start(h, "details", NULL);
      element(h, "summary", NULL, "trace excerpt");
      element(h, "pre", NULL, a->output);
      end(h);
    }
  }
  end(h);
}

int report_html_write(const report_t *r, const char *path)
{
  xmlBufferPtr buf = NULL;
  xmlTextWriterPtr w = NULL;
  hw_t h;
  size_t i;
  int rc;

  if (r == NULL || path == NULL)
    return UV_EINVAL;
  if ((rc = report_xml_new(&buf, &w)))
    return rc;
  h.r = r;
  h.w = w;
  h.rc = 0;
  raw(&h, "<!DOCTYPE html>\n");
  start(&h, "html", NULL);
  attr(&h, "lang", "en");
  head(&h);
  start(&h, "body", NULL);
  run_header(&h);
  matrix(&h);
  legend(&h);
  for (i = 0; i < r->ncases; i++)
    case_article(&h, r->cases[i]);
  start(&h, "script", NULL);
  raw(&h, report_html_main_js);
  end(&h);
  end(&h);
  end(&h);
  raw(&h, "\n");
  if ((rc = h.rc))
    goto out;
  rc = report_xml_finish(buf, w, path);
  buf = NULL;
  w = NULL;
out:
  report_xml_abort(buf, w);
  return rc;
}
