/*
 * report-timeline.c - one attempt's SVG timeline: a lane for the harness
 * and load generator, one for the primary, one per worker; events as
 * marks, written names above them, faults and failed requests
 * highlighted, the failed expectation pointed at. Integer coordinates
 * only: printf's %f would follow LC_NUMERIC.
 */
#include "report-internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* SVG geometry, in user units (the viewBox scales it to the page). */
#define SVG_W 1000
#define GUTTER 96
#define PAD_R 24
#define AXIS_H 22
#define TOP_H 20
/* Room for a row of names above the marks of each lane. */
#define LANE_H 32
/* Names above the marks (CSS .mark-name: 10px): a generous width per
 * character, as proportional fonts average about half the size, so that
 * names never overlap. */
#define NAME_CHAR_W 6
/* Marks this close (user units) share one name ("disconnect, exit"). */
#define NAME_NEAR 6

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
static void geometry(const report__attempt_t *a, tl_geom_t *g)
{
  size_t i, j;

  memset(g, 0, sizeof(*g));
  g->lanes[g->nlanes++] = REPORT_LANE_PRIMARY;
  for (i = 0; i < a->nmarks; i++) {
    const report__mark_t *m = &a->marks[i];
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

static void svg_rect(report__hw_t *h, const char *cls, long x, long y, long w,
                     long hh)
{
  report__hw_start(h, "rect", cls);
  report__hw_attri(h, "x", x);
  report__hw_attri(h, "y", y);
  report__hw_attri(h, "width", w > 0 ? w : 1);
  report__hw_attri(h, "height", hh);
  report__hw_end_svg(h);
}

static void svg_line(report__hw_t *h, const char *cls, long x1, long y1,
                     long x2, long y2)
{
  report__hw_start(h, "line", cls);
  report__hw_attri(h, "x1", x1);
  report__hw_attri(h, "y1", y1);
  report__hw_attri(h, "x2", x2);
  report__hw_attri(h, "y2", y2);
  report__hw_end_svg(h);
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

static void axis(report__hw_t *h, const tl_geom_t *g, long bottom)
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
  report__hw_start(h, "g", "axis");
  for (t = 0; t <= span; t += step) {
    long x = x_of(g, g->t0 + t);
    svg_line(h, NULL, x, TOP_H + AXIS_H - 4, x, bottom);
    fmt_tick(buf, sizeof(buf), t, step);
    report__hw_start(h, "text", NULL);
    report__hw_attri(h, "x", x);
    report__hw_attri(h, "y", TOP_H + AXIS_H - 8);
    report__hw_attr(h, "text-anchor", "middle");
    report__hw_text(h, buf);
    report__hw_end_svg(h);
  }
  report__hw_end_svg(h);
}

const char *report__kind_class(const char *kind)
{
  static const char *const known[] = {"fork", "online", "listening",
                                      "disconnect", "exit", "message",
                                      "policy", "error", NULL};
  /* The events of the primary's policies (docs/scenarios.md), given by
   * their own names, are coloured as policy actions. */
  static const char *const policy_prefixes[] = {
      "respawn", "restart-", "shutdown-", "heartbeat-", "metrics-", NULL};
  size_t i;

  for (i = 0; known[i]; i++)
    if (strcmp(kind, known[i]) == 0)
      return known[i];
  for (i = 0; policy_prefixes[i]; i++)
    if (strncmp(kind, policy_prefixes[i], strlen(policy_prefixes[i])) == 0)
      return "policy";
  return "other";
}

static void mark(report__hw_t *h, const tl_geom_t *g, const report__mark_t *m,
                 size_t idx)
{
  long x = x_of(g, m->t_ns), y = y_of(lane_index(g, m->lane));
  char cls[64], tbuf[32], *tip = strdup("");

  report__fmt_seconds(tbuf, sizeof(tbuf), (double)(m->t_ns - g->t0) / 1e9);
  report__str_cat(&tip, "#%zu  %s s  %s%s%s", idx, tbuf, m->kind,
                 m->label ? ": " : "", m->label ? m->label : "");
  if (m->flags & REPORT_EVENT_FAULT) {
    char d[96];
    snprintf(d, sizeof(d), "M%ld %ldl7 7-7 7-7-7z", x, y - 7);
    report__hw_start(h, "path", "fault");
    report__hw_attr(h, "d", d);
  } else if (m->flags & REPORT_EVENT_FAILED_REQUEST) {
    char d[96];
    snprintf(d, sizeof(d), "M%ld %ldl8 8M%ld %ldl8-8", x - 4, y - 4, x - 4,
             y + 4);
    report__hw_start(h, "path", "failreq");
    report__hw_attr(h, "d", d);
  } else {
    snprintf(cls, sizeof(cls), "mark k-%s", report__kind_class(m->kind));
    report__hw_start(h, "circle", cls);
    report__hw_attri(h, "cx", x);
    report__hw_attri(h, "cy", y);
    report__hw_attri(h, "r", 5);
  }
  report__hw_start(h, "title", NULL);
  report__hw_text(h, tip ? tip : m->kind);
  report__hw_end_svg(h);
  report__hw_end_svg(h);
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
static void lifelines(report__hw_t *h, const tl_geom_t *g,
                      const report__attempt_t *a)
{
  size_t li, i;

  for (li = 0; li < g->nlanes; li++) {
    uint64_t first = 0, last = 0;
    bool seen = false, exited = false;
    if (g->lanes[li] < 0)
      continue;
    for (i = 0; i < a->nmarks; i++) {
      const report__mark_t *m = &a->marks[i];
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

/* How much a kind's name matters above a mark: Node's own events first,
 * then the policies' actions, then the rest (a worker's own reports). */
static int kind_rank(const char *kind)
{
  const char *c = report__kind_class(kind);

  if (strcmp(c, "other") == 0)
    return 2;
  return strcmp(c, "policy") == 0 ? 1 : 0;
}

/* Names above the marks, so that a printed page or a screenshot shows
 * what happened where without hovering. Lane by lane, in time order, marks
 * within NAME_NEAR of the first of a group share one name: their distinct
 * kinds, the most telling first, at most NAME_KINDS of them ("disconnect,
 * exit +2"). A name that would overlap the previous one in its lane is
 * left out (the hover titles stay). */
#define NAME_KINDS 3

/* One name: the distinct kinds of a group of marks, by rank, then the
 * count of the others. NULL when out of memory. */
static char *group_name(const report__mark_t *const *grp, size_t n)
{
  const char *kinds[16];
  size_t nk = 0, more = 0, i, k;
  int rank;
  char *text = strdup("");

  for (i = 0; i < n; i++) {
    for (k = 0; k < nk && strcmp(kinds[k], grp[i]->kind) != 0; k++)
      ;
    if (k == nk && nk < sizeof(kinds) / sizeof(kinds[0]))
      kinds[nk++] = grp[i]->kind;
    else if (k == nk)
      more++;
  }
  /* by rank, keeping time order within a rank */
  for (rank = 0, k = 0; rank <= 2; rank++)
    for (i = 0; i < nk; i++) {
      if (kind_rank(kinds[i]) != rank)
        continue;
      if (k < NAME_KINDS)
        report__str_cat(&text, "%s%s", k ? ", " : "", kinds[i]);
      else
        more++;
      k++;
    }
  if (more)
    report__str_cat(&text, " +%zu", more);
  return text;
}

static int cmp_mark_time(const void *a, const void *b)
{
  const report__mark_t *x = *(const report__mark_t *const *)a;
  const report__mark_t *y = *(const report__mark_t *const *)b;

  if (x->t_ns != y->t_ns)
    return x->t_ns < y->t_ns ? -1 : 1;
  return (x > y) - (x < y); /* stable: in the order they were added */
}

static void names(report__hw_t *h, const tl_geom_t *g,
                  const report__attempt_t *a)
{
  const report__mark_t **lane;
  size_t li, i, j, n;

  lane = malloc((a->nmarks ? a->nmarks : 1) * sizeof(*lane));
  if (lane == NULL)
    return; /* the names are a help; the marks and titles are drawn anyway */
  for (li = 0; li < g->nlanes; li++) {
    long free_x = 0;
    for (i = 0, n = 0; i < a->nmarks; i++)
      if (lane_index(g, a->marks[i].lane) == li)
        lane[n++] = &a->marks[i];
    qsort(lane, n, sizeof(*lane), cmp_mark_time);
    for (i = 0; i < n; i = j) {
      long x = x_of(g, lane[i]->t_ns), w, left;
      char *text;
      /* the group: this mark and the next ones close to it */
      for (j = i + 1; j < n && x_of(g, lane[j]->t_ns) - x <= NAME_NEAR; j++)
        ;
      text = group_name(lane + i, j - i);
      if (text == NULL)
        continue;
      w = (long)strlen(text) * NAME_CHAR_W;
      /* anchored at the mark; at the right edge, ending there */
      left = x - 3;
      if (left + w > SVG_W - 2)
        left = x + 3 - w;
      if (left >= free_x) {
        report__hw_start(h, "text", "mark-name");
        report__hw_attri(h, "x", left);
        report__hw_attri(h, "y", y_of(li) - 9);
        report__hw_text(h, text);
        report__hw_end_svg(h);
        free_x = left + w + 6;
      }
      free(text);
    }
  }
  free(lane);
}

static void pointer(report__hw_t *h, const tl_geom_t *g,
                    const report__attempt_t *a, long bottom)
{
  const report__mark_t *m;
  long x, y;
  char d[96], *line;

  if (a->failed_event < 0 || (size_t)a->failed_event >= a->nmarks)
    return;
  m = &a->marks[a->failed_event];
  x = x_of(g, m->t_ns);
  y = y_of(lane_index(g, m->lane));
  report__hw_start(h, "g", "expect");
  svg_line(h, "expect-line", x, TOP_H + 2, x, bottom);
  snprintf(d, sizeof(d), "M%ld %ldl-6-9h12z", x, (long)TOP_H + 2);
  report__hw_start(h, "path", "fault");
  report__hw_attr(h, "d", d);
  report__hw_end_svg(h);
  report__hw_start(h, "circle", "violation");
  report__hw_attri(h, "cx", x);
  report__hw_attri(h, "cy", y);
  report__hw_attri(h, "r", 9);
  report__hw_end_svg(h);
  line = report__text_line(a->reason);
  report__hw_start(h, "text", "expect-text");
  report__hw_attri(h, "x", x < SVG_W / 2 ? x + 8 : x - 8);
  report__hw_attri(h, "y", TOP_H - 6);
  report__hw_attr(h, "text-anchor", x < SVG_W / 2 ? "start" : "end");
  report__hw_text(h, "expectation failed");
  if (line && *line) {
    if (strlen(line) > 90)
      strcpy(line + 87, "...");
    report__hw_textf(h, ": %s", line);
  }
  report__hw_end_svg(h);
  free(line);
  report__hw_end_svg(h);
}

/* The marks drawn in full when the workers are a density: the primary's,
 * the harness's faults and failed requests, every mark of the failing
 * worker and the failing mark itself. `orig` maps them back to their
 * index in `a` (the number in their titles). */
static int detail_of(const report__attempt_t *a, report__attempt_t *out,
                     size_t **orig)
{
  int failing = REPORT_LANE_HARNESS - 1;
  size_t i, n = 0;

  *out = *a;
  out->marks = malloc((a->nmarks ? a->nmarks : 1) * sizeof(*out->marks));
  *orig = malloc((a->nmarks ? a->nmarks : 1) * sizeof(**orig));
  if (out->marks == NULL || *orig == NULL)
    return UV_ENOMEM;
  if (a->failed_event >= 0 && (size_t)a->failed_event < a->nmarks &&
      a->marks[a->failed_event].lane > REPORT_LANE_PRIMARY)
    failing = a->marks[a->failed_event].lane;
  out->failed_event = -1;
  for (i = 0; i < a->nmarks; i++) {
    const report__mark_t *m = &a->marks[i];
    if (!(m->lane == REPORT_LANE_PRIMARY || m->lane == failing ||
          (m->lane < REPORT_LANE_PRIMARY && m->flags != 0) ||
          (int64_t)i == a->failed_event))
      continue;
    if ((int64_t)i == a->failed_event)
      out->failed_event = (int64_t)n;
    (*orig)[n] = i;
    out->marks[n++] = *m;
  }
  out->nmarks = out->capmarks = n;
  return 0;
}

/* The time axis of every mark, drawn in full or not. */
static void span_all(const report__attempt_t *a, tl_geom_t *g)
{
  size_t i;

  for (i = 0; i < a->nmarks; i++) {
    if (i == 0 || a->marks[i].t_ns < g->t0)
      g->t0 = a->marks[i].t_ns;
    if (i == 0 || a->marks[i].t_ns > g->t1)
      g->t1 = a->marks[i].t_ns;
  }
  if (g->t1 <= g->t0)
    g->t1 = g->t0 + 1000000;
}

static void lanes_bg(report__hw_t *h, const tl_geom_t *g)
{
  char buf[32];
  size_t i;

  for (i = 0; i < g->nlanes; i++) {
    svg_rect(h, i % 2 ? "lane-bg odd" : "lane-bg", 0,
             TOP_H + AXIS_H + (long)i * LANE_H, SVG_W, LANE_H);
    report__hw_start(h, "text", "lane-label");
    report__hw_attri(h, "x", 8);
    report__hw_attri(h, "y", y_of(i) + 4);
    report__hw_text(h, lane_name(g->lanes[i], buf, sizeof(buf)));
    report__hw_end_svg(h);
  }
}

/* `a`'s marks in lanes; with `all` (a density), `a` holds the marks drawn
 * in full and `all` every mark, counted in the density under the lanes. */
static void draw(report__hw_t *h, const report__attempt_t *a,
                 const size_t *orig, const report__attempt_t *all)
{
  tl_geom_t g;
  report__axis_t ax;
  char vb[64];
  long height, bottom, lanes, dens;
  size_t i;

  geometry(a, &g);
  if (all != NULL)
    span_all(all, &g);
  lanes = TOP_H + AXIS_H + (long)g.nlanes * LANE_H;
  dens = all != NULL ? report__density_height(all) : 0;
  /* the load's plots go under the lanes, on the same time axis */
  bottom = lanes + dens + report__load_height(a);
  height = bottom + 6;
  snprintf(vb, sizeof(vb), "0 0 %d %ld", SVG_W, height);
  report__hw_start(h, "svg", "timeline");
  report__hw_attr(h, "xmlns", "http://www.w3.org/2000/svg");
  report__hw_attr(h, "viewBox", vb);
  report__hw_attr(h, "role", "img");
  report__hw_start(h, "title", NULL);
  report__hw_textf(h, "timeline: %zu lanes, %zu events", g.nlanes,
                   all != NULL ? all->nmarks : a->nmarks);
  report__hw_end_svg(h);
  lanes_bg(h, &g);
  axis(h, &g, bottom);
  lifelines(h, &g, a);
  names(h, &g, a);
  for (i = 0; i < a->nmarks; i++)
    mark(h, &g, &a->marks[i], orig != NULL ? orig[i] : i);
  ax.t0 = g.t0;
  ax.t1 = g.t1;
  ax.left = GUTTER;
  ax.right = SVG_W - PAD_R;
  ax.top = lanes;
  if (all != NULL)
    report__density_write(h, all, &ax);
  ax.top = lanes + dens;
  report__load_write(h, a, &ax);
  pointer(h, &g, a, bottom);
  report__hw_end_svg(h);
}

void report__timeline_write(report__hw_t *h, const report__attempt_t *a)
{
  report__attempt_t shown;
  size_t *orig = NULL;

  memset(&shown, 0, sizeof(shown));
  if (report__density_workers(a) <= REPORT__DENSE_LANES ||
      detail_of(a, &shown, &orig) != 0)
    draw(h, a, NULL, NULL);
  else
    draw(h, &shown, orig, a);
  free(shown.marks);
  free(orig);
}

void report__timeline_legend(report__hw_t *h)
{
  static const char *const kinds[] = {"fork", "online", "listening",
                                      "disconnect", "exit", "message",
                                      "policy", "error", NULL};
  char cls[32];
  size_t i;

  report__hw_start(h, "p", "legend");
  for (i = 0; kinds[i]; i++) {
    report__hw_start(h, "svg", NULL);
    report__hw_attr(h, "xmlns", "http://www.w3.org/2000/svg");
    report__hw_attr(h, "width", "12");
    report__hw_attr(h, "height", "12");
    snprintf(cls, sizeof(cls), "mark k-%s", kinds[i]);
    report__hw_start(h, "circle", cls);
    report__hw_attr(h, "cx", "6");
    report__hw_attr(h, "cy", "6");
    report__hw_attr(h, "r", "5");
    report__hw_end_svg(h);
    report__hw_end_svg(h);
    report__hw_textf(h, " %s  ", kinds[i]);
  }
  report__hw_start(h, "svg", NULL);
  report__hw_attr(h, "xmlns", "http://www.w3.org/2000/svg");
  report__hw_attr(h, "width", "16");
  report__hw_attr(h, "height", "16");
  report__hw_start(h, "path", "fault");
  report__hw_attr(h, "d", "M8 1l7 7-7 7-7-7z");
  report__hw_end_svg(h);
  report__hw_end_svg(h);
  report__hw_text(h, " fault  ");
  report__hw_start(h, "svg", NULL);
  report__hw_attr(h, "xmlns", "http://www.w3.org/2000/svg");
  report__hw_attr(h, "width", "12");
  report__hw_attr(h, "height", "12");
  report__hw_start(h, "path", "failreq");
  report__hw_attr(h, "d", "M2 2l8 8M2 10l8-8");
  report__hw_end_svg(h);
  report__hw_end_svg(h);
  report__hw_text(h, " failed request");
  report__hw_end(h);
}
