/*
 * report-density.c - a big cluster's workers in one picture. Past a few
 * dozen lanes a timeline stops being readable (and a page of 4096 lanes
 * stops loading), so the workers are drawn as a grid: bands of
 * consecutive worker ids down, slices of time across, each cell shaded by
 * how many events the band had in the slice, its title saying which. A
 * cell holding a fault, a failed request or a violation is outlined.
 * Integer coordinates only, as in report-timeline.c.
 */
#include "report-internal.h"

#include <stdlib.h>
#include <string.h>

#define DENS_ROWS 64        /* bands at most */
#define DENS_COLS 110       /* slices of time */
#define DENS_ROW_H 10
#define DENS_HEAD_H 20
#define DENS_SHADES 8

/* The kinds a cell's title counts, as the timeline colours them. */
static const char *const dens_kinds[] = {"fork", "online", "listening",
                                         "disconnect", "exit", "message",
                                         "policy", "error", "other"};
#define DENS_NKINDS (sizeof(dens_kinds) / sizeof(dens_kinds[0]))

typedef struct {
  int lo, hi;               /* worker ids drawn */
  unsigned band, rows;      /* ids per band, bands */
  unsigned max;             /* events in the fullest cell */
  unsigned *n;              /* events per cell, rows * DENS_COLS */
  unsigned *kinds;          /* per cell, per dens_kinds */
  unsigned char *hot;       /* per cell: a flagged mark */
} dens_t;

static int cmp_int(const void *a, const void *b)
{
  int x = *(const int *)a, y = *(const int *)b;

  return (x > y) - (x < y);
}

size_t report__density_workers(const report__attempt_t *a)
{
  int *ids = malloc((a->nmarks ? a->nmarks : 1) * sizeof(*ids));
  size_t i, n = 0, distinct = 0;

  if (ids == NULL)
    return 0;
  for (i = 0; i < a->nmarks; i++)
    if (a->marks[i].lane > REPORT_LANE_PRIMARY)
      ids[n++] = a->marks[i].lane;
  qsort(ids, n, sizeof(*ids), cmp_int);
  for (i = 0; i < n; i++)
    distinct += i == 0 || ids[i] != ids[i - 1];
  free(ids);
  return distinct;
}

static void id_range(const report__attempt_t *a, dens_t *d)
{
  size_t i;
  bool any = false;

  d->lo = d->hi = 1;
  for (i = 0; i < a->nmarks; i++) {
    int lane = a->marks[i].lane;
    if (lane <= REPORT_LANE_PRIMARY)
      continue;
    if (!any || lane < d->lo)
      d->lo = lane;
    if (!any || lane > d->hi)
      d->hi = lane;
    any = true;
  }
  {
    unsigned span = (unsigned)(d->hi - d->lo) + 1;
    d->band = (span + DENS_ROWS - 1) / DENS_ROWS;
    d->rows = (span + d->band - 1) / d->band;
  }
}

long report__density_height(const report__attempt_t *a)
{
  dens_t d;

  id_range(a, &d);
  return DENS_HEAD_H + (long)d.rows * DENS_ROW_H;
}

static size_t kind_index(const char *kind)
{
  const char *c = report__kind_class(kind);
  size_t k;

  for (k = 0; k < DENS_NKINDS - 1; k++)
    if (strcmp(c, dens_kinds[k]) == 0)
      return k;
  return DENS_NKINDS - 1;
}

static int fill(dens_t *d, const report__attempt_t *a,
                const report__axis_t *ax)
{
  size_t cells, i;
  uint64_t span = ax->t1 > ax->t0 ? ax->t1 - ax->t0 : 1;

  id_range(a, d);
  cells = (size_t)d->rows * DENS_COLS;
  d->max = 0;
  d->n = calloc(cells, sizeof(*d->n));
  d->kinds = calloc(cells * DENS_NKINDS, sizeof(*d->kinds));
  d->hot = calloc(cells, 1);
  if (d->n == NULL || d->kinds == NULL || d->hot == NULL)
    return UV_ENOMEM;
  for (i = 0; i < a->nmarks; i++) {
    const report__mark_t *m = &a->marks[i];
    uint64_t t = m->t_ns < ax->t0 ? 0 : m->t_ns - ax->t0;
    size_t row, col, c;
    if (m->lane <= REPORT_LANE_PRIMARY)
      continue;
    row = (size_t)(m->lane - d->lo) / d->band;
    col = (size_t)((double)t / (double)span * DENS_COLS);
    c = row * DENS_COLS + (col < DENS_COLS ? col : DENS_COLS - 1);
    d->kinds[c * DENS_NKINDS + kind_index(m->kind)]++;
    if (++d->n[c] > d->max)
      d->max = d->n[c];
    d->hot[c] |= m->flags != 0;
  }
  return 0;
}

static unsigned bits(unsigned v)
{
  unsigned b = 0;

  for (; v; v >>= 1)
    b++;
  return b;
}

/* 1 (a single event) to DENS_SHADES (the fullest cell), by the number's
 * order of magnitude: a few events stay visible next to thousands. */
static unsigned shade(const dens_t *d, unsigned n)
{
  unsigned bm = bits(d->max);

  if (bm <= 1)
    return DENS_SHADES;
  return 1 + (DENS_SHADES - 1) * (bits(n) - 1) / (bm - 1);
}

static void band_text(char *buf, size_t size, const dens_t *d, unsigned row)
{
  int first = d->lo + (int)(row * d->band);
  int last = first + (int)d->band - 1;

  if (last > d->hi)
    last = d->hi;
  if (first == last)
    snprintf(buf, size, "worker %d", first);
  else
    snprintf(buf, size, "workers %d-%d", first, last);
}

static void cell(report__hw_t *h, const dens_t *d, const report__axis_t *ax,
                 unsigned row, unsigned col)
{
  size_t c = (size_t)row * DENS_COLS + col, k;
  long w = ax->right - ax->left;
  long x0 = ax->left + w * (long)col / DENS_COLS;
  long x1 = ax->left + w * (long)(col + 1) / DENS_COLS;
  uint64_t span = ax->t1 - ax->t0;
  char cls[32], band[48], from[32], to[32], *tip = strdup("");
  bool first = true;

  snprintf(cls, sizeof(cls), "dens d%u%s", shade(d, d->n[c]),
           d->hot[c] ? " hot" : "");
  band_text(band, sizeof(band), d, row);
  report__fmt_seconds(from, sizeof(from), (double)span * col / DENS_COLS /
                                              1e9);
  report__fmt_seconds(to, sizeof(to), (double)span * (col + 1) /
                                          DENS_COLS / 1e9);
  report__str_cat(&tip, "%s, %s-%s s: %u event%s (", band, from, to,
                  d->n[c], d->n[c] == 1 ? "" : "s");
  for (k = 0; k < DENS_NKINDS; k++)
    if (d->kinds[c * DENS_NKINDS + k]) {
      report__str_cat(&tip, "%s%u %s", first ? "" : ", ",
                      d->kinds[c * DENS_NKINDS + k], dens_kinds[k]);
      first = false;
    }
  report__str_cat(&tip, ")%s", d->hot[c] ? "; a fault, failed request or "
                                           "violation" : "");
  report__hw_start(h, "rect", cls);
  report__hw_attri(h, "x", x0);
  report__hw_attri(h, "y", ax->top + DENS_HEAD_H + (long)row * DENS_ROW_H);
  report__hw_attri(h, "width", x1 - x0 > 0 ? x1 - x0 : 1);
  report__hw_attri(h, "height", DENS_ROW_H - 1);
  report__hw_start(h, "title", NULL);
  report__hw_text(h, tip ? tip : band);
  report__hw_end_svg(h);
  report__hw_end_svg(h);
  free(tip);
}

static void head(report__hw_t *h, const dens_t *d, const report__axis_t *ax,
                 size_t workers)
{
  char slice[32];

  report__fmt_seconds(slice, sizeof(slice),
                      (double)(ax->t1 - ax->t0) / DENS_COLS / 1e9);
  report__hw_start(h, "text", "dens-head");
  report__hw_attri(h, "x", 8);
  report__hw_attri(h, "y", ax->top + DENS_HEAD_H - 6);
  report__hw_textf(h, "%zu workers (%d-%d): events per %u worker%s per %s "
                   "s, darker: more; outlined: a fault, a failed request or "
                   "a violation", workers, d->lo, d->hi, d->band,
                   d->band == 1 ? "" : "s", slice);
  report__hw_end_svg(h);
}

void report__density_write(report__hw_t *h, const report__attempt_t *a,
                           const report__axis_t *ax)
{
  dens_t d;
  unsigned row, col;
  char band[48];

  memset(&d, 0, sizeof(d));
  if (fill(&d, a, ax) != 0)
    goto out;
  report__hw_start(h, "g", "density");
  head(h, &d, ax, report__density_workers(a));
  for (row = 0; row < d.rows; row++) {
    band_text(band, sizeof(band), &d, row);
    report__hw_start(h, "text", "dens-label");
    report__hw_attri(h, "x", 8);
    report__hw_attri(h, "y", ax->top + DENS_HEAD_H +
                                 (long)row * DENS_ROW_H + DENS_ROW_H - 2);
    report__hw_text(h, band);
    report__hw_end_svg(h);
    for (col = 0; col < DENS_COLS; col++)
      if (d.n[(size_t)row * DENS_COLS + col] > 0)
        cell(h, &d, ax, row, col);
  }
  report__hw_end_svg(h);
out:
  free(d.n);
  free(d.kinds);
  free(d.hot);
}
