/*
 * report-load.c - what the load saw, under an attempt's timeline and on
 * its time axis: requests per time slice (ok, retried and failed,
 * stacked) and their latency (p50 and p99 as lines, the max as ticks, on
 * a log scale), so that a reader sees what a fault did to clients.
 * Integer coordinates only, as in report-timeline.c.
 */
#include "report-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each plot's height, the gap above it, and the room of its labels. */
#define PLOT_H 64
#define LAT_H 88
#define PLOT_GAP 18
#define LABEL_X 8
/* Decade labels of the latency scale at least this far apart. */
#define TICK_GAP 13

long report__load_height(const report__attempt_t *a)
{
  return a->nload > 0 ? 2 * PLOT_GAP + PLOT_H + LAT_H + 4 : 0;
}

static long x_at(const report__axis_t *ax, uint64_t t)
{
  double f;

  if (t < ax->t0)
    t = ax->t0;
  if (t > ax->t1)
    t = ax->t1;
  f = (double)(t - ax->t0) / (double)(ax->t1 - ax->t0);
  return ax->left + (long)(f * (double)(ax->right - ax->left) + 0.5);
}

static void rect(report__hw_t *h, const char *cls, long x, long y, long w,
                 long hh)
{
  report__hw_start(h, "rect", cls);
  report__hw_attri(h, "x", x);
  report__hw_attri(h, "y", y);
  report__hw_attri(h, "width", w > 0 ? w : 1);
  report__hw_attri(h, "height", hh > 0 ? hh : 0);
  report__hw_end_svg(h);
}

static void text(report__hw_t *h, const char *cls, long x, long y,
                 const char *anchor, const char *s)
{
  report__hw_start(h, "text", cls);
  report__hw_attri(h, "x", x);
  report__hw_attri(h, "y", y);
  if (anchor != NULL)
    report__hw_attr(h, "text-anchor", anchor);
  report__hw_text(h, s);
  report__hw_end_svg(h);
}

/* ---------------------------------------------------------------------- */
/* Requests per slice                                                      */

static void requests(report__hw_t *h, const report__attempt_t *a,
                     const report__axis_t *ax, long top)
{
  uint64_t most = 1;
  char buf[64];
  size_t i;

  for (i = 0; i < a->nload; i++) {
    const report_bucket_t *b = &a->load[i];
    uint64_t n = (uint64_t)b->ok + b->retried + b->failed;
    if (n > most)
      most = n;
  }
  rect(h, "plot-bg", ax->left, top, ax->right - ax->left, PLOT_H);
  for (i = 0; i < a->nload; i++) {
    const report_bucket_t *b = &a->load[i];
    long x = x_at(ax, b->t_ns), w = x_at(ax, b->t_ns + a->load_width_ns) - x;
    long y = top + PLOT_H, hh;
    /* stacked from the bottom: ok, then retried, then failed on top */
    hh = (long)((double)b->ok * PLOT_H / (double)most + 0.5);
    rect(h, "ld-ok", x, y - hh, w, hh);
    y -= hh;
    hh = (long)((double)b->retried * PLOT_H / (double)most + 0.5);
    rect(h, "ld-retried", x, y - hh, w, hh);
    y -= hh;
    /* a failure is never too small to see */
    hh = b->failed ? (long)((double)b->failed * PLOT_H / (double)most + 0.5)
                   : 0;
    rect(h, "ld-failed", x, y - (hh > 0 ? hh : b->failed ? 2 : 0), w,
         hh > 0 ? hh : b->failed ? 2 : 0);
  }
  text(h, "plot-label", LABEL_X, top - 3, NULL, "requests");
  snprintf(buf, sizeof(buf), "%" PRIu64 " per %" PRIu64 " ms", most,
           a->load_width_ns / 1000000u);
  text(h, "plot-tick", ax->left - 4, top + 8, "end", buf);
  text(h, "plot-tick", ax->left - 4, top + PLOT_H, "end", "0");
  text(h, "plot-key ld-ok-t", ax->right - 130, top - 3, NULL, "ok");
  text(h, "plot-key ld-retried-t", ax->right - 100, top - 3, NULL,
       "retried");
  text(h, "plot-key ld-failed-t", ax->right - 45, top - 3, NULL, "failed");
}

/* ---------------------------------------------------------------------- */
/* Latency per slice, log scale                                            */

/* log2 of v, to a few hundredths: plenty for a plot, and no libm. */
static double log2_of(uint64_t v)
{
  int e = 0;
  double m;

  if (v == 0)
    return 0;
  while ((v >> e) > 1)
    e++;
  m = (double)v / (double)((uint64_t)1 << e); /* in [1, 2) */
  /* log2(m) ~ a quadratic through (1, 0), (1.5, 0.585), (2, 1) */
  return e + (m - 1) * (1.3427 - 0.3427 * (m - 1)) ;
}

typedef struct {
  double lo, hi;             /* log2 of the scale's ends, in us */
  long top;
} lat_scale_t;

static long y_lat(const lat_scale_t *s, uint64_t us)
{
  double f = (log2_of(us) - s->lo) / (s->hi - s->lo);

  if (f < 0)
    f = 0;
  if (f > 1)
    f = 1;
  return s->top + LAT_H - (long)(f * LAT_H + 0.5);
}

/* The decades from 10 us (or lower) to the max (or higher). */
static void lat_range(const report__attempt_t *a, uint64_t *lo, uint64_t *hi)
{
  uint64_t least = UINT64_MAX, most = 1;
  size_t i;

  for (i = 0; i < a->nload; i++) {
    const report_bucket_t *b = &a->load[i];
    if (b->p50_us > 0 && b->p50_us < least)
      least = b->p50_us;
    if (b->max_us > most)
      most = b->max_us;
  }
  for (*lo = 10; *lo > 1 && *lo > least; *lo /= 10)
    ;
  for (*hi = *lo * 10; *hi < most && *hi < 100000000u; *hi *= 10)
    ;
}

static void decade_label(char *buf, size_t len, uint64_t us)
{
  if (us >= 1000000u)
    snprintf(buf, len, "%" PRIu64 " s", us / 1000000u);
  else if (us >= 1000u)
    snprintf(buf, len, "%" PRIu64 " ms", us / 1000u);
  else
    snprintf(buf, len, "%" PRIu64 " us", us);
}

static void lat_grid(report__hw_t *h, const report__axis_t *ax,
                     const lat_scale_t *s, uint64_t lo, uint64_t hi)
{
  char buf[32];
  long last = -1000;
  uint64_t d;

  for (d = lo; d <= hi; d *= 10) {
    long y = y_lat(s, d);
    report__hw_start(h, "line", "plot-grid");
    report__hw_attri(h, "x1", ax->left);
    report__hw_attri(h, "y1", y);
    report__hw_attri(h, "x2", ax->right);
    report__hw_attri(h, "y2", y);
    report__hw_end_svg(h);
    /* labels bottom up, none too close to the one below */
    if (last - y < TICK_GAP && last > 0)
      continue;
    decade_label(buf, sizeof(buf), d);
    text(h, "plot-tick", ax->left - 4, y + 4, "end", buf);
    last = y;
  }
}

/* One polyline through the slices' value (0: a gap). */
static void lat_line(report__hw_t *h, const report__attempt_t *a,
                     const report__axis_t *ax, const lat_scale_t *s,
                     bool p99, const char *cls)
{
  char *pts = strdup("");
  size_t i;

  for (i = 0; pts != NULL && i < a->nload; i++) {
    const report_bucket_t *b = &a->load[i];
    uint64_t v = p99 ? b->p99_us : b->p50_us;
    long x = x_at(ax, b->t_ns + a->load_width_ns / 2);
    if (v == 0)
      continue;
    report__str_cat(&pts, "%s%ld,%ld", pts[0] ? " " : "", x, y_lat(s, v));
  }
  if (pts != NULL && pts[0] != '\0') {
    report__hw_start(h, "polyline", cls);
    report__hw_attr(h, "points", pts);
    report__hw_end_svg(h);
  }
  free(pts);
}

static void latency(report__hw_t *h, const report__attempt_t *a,
                    const report__axis_t *ax, long top)
{
  lat_scale_t s;
  uint64_t lo, hi;
  size_t i;

  lat_range(a, &lo, &hi);
  s.lo = log2_of(lo);
  s.hi = log2_of(hi);
  s.top = top;
  rect(h, "plot-bg", ax->left, top, ax->right - ax->left, LAT_H);
  lat_grid(h, ax, &s, lo, hi);
  for (i = 0; i < a->nload; i++) {
    const report_bucket_t *b = &a->load[i];
    long x = x_at(ax, b->t_ns + a->load_width_ns / 2);
    if (b->max_us == 0)
      continue;
    rect(h, "lat-max", x - 1, y_lat(&s, b->max_us) - 1, 3, 3);
  }
  lat_line(h, a, ax, &s, false, "lat-p50");
  lat_line(h, a, ax, &s, true, "lat-p99");
  text(h, "plot-label", LABEL_X, top - 3, NULL, "latency");
  text(h, "plot-key lat-p50-t", ax->right - 130, top - 3, NULL, "p50");
  text(h, "plot-key lat-p99-t", ax->right - 100, top - 3, NULL, "p99");
  text(h, "plot-key lat-max-t", ax->right - 70, top - 3, NULL, "max");
}

void report__load_write(report__hw_t *h, const report__attempt_t *a,
                        const report__axis_t *ax)
{
  if (a->nload == 0 || ax->t1 <= ax->t0)
    return;
  report__hw_start(h, "g", "load");
  requests(h, a, ax, ax->top + PLOT_GAP);
  latency(h, a, ax, ax->top + 2 * PLOT_GAP + PLOT_H);
  report__hw_end_svg(h);
}
