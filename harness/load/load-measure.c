/*
 * load-measure.c - what a load measured: the latency histogram of every
 * request (log-linear cells, as HdrHistogram lays them out, in fixed
 * memory), the load in 100 ms buckets (ok, retried, failed and a coarse
 * latency histogram each), their merge, and their trace record.
 */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "load-internal.h"

/* No measurement spans more than this (a load's longest run and its drain,
 * with room): a bucket index past it is counted in the last bucket. */
#define MAX_BUCKETS ((LOAD_MAX_DURATION_MS + 120000u) / LOAD_BUCKET_MS)

static unsigned msb64(uint64_t v)
{
  return 63u - (unsigned)__builtin_clzll(v);
}

size_t load_hist_cell(unsigned bits, uint64_t v)
{
  uint64_t half = (uint64_t)1 << (bits - 1);
  unsigned e;

  if (v >= LOAD_HIST_MAX_US)
    v = LOAD_HIST_MAX_US - 1;
  if (v < ((uint64_t)1 << bits))
    return (size_t)v;
  /* v lies in [2^(bits+e-1), 2^(bits+e)): v >> e is in [half, 2 half) */
  e = msb64(v) - bits + 1;
  return (size_t)(((uint64_t)1 << bits) + (e - 1) * half + ((v >> e) - half));
}

/* The shift of a cell's values (0 in the exact range) and its first
 * value. */
static uint64_t cell_bounds(unsigned bits, size_t cell, unsigned *shift)
{
  uint64_t half = (uint64_t)1 << (bits - 1), k;

  if (cell < ((size_t)1 << bits)) {
    *shift = 0;
    return cell;
  }
  k = cell - ((uint64_t)1 << bits);
  *shift = (unsigned)(k / half) + 1;
  return (k % half + half) << *shift;
}

uint64_t load_hist_cell_low(unsigned bits, size_t cell)
{
  unsigned shift;

  return cell_bounds(bits, cell, &shift);
}

uint64_t load_hist_cell_high(unsigned bits, size_t cell)
{
  unsigned shift;
  uint64_t low = cell_bounds(bits, cell, &shift);

  return low + ((uint64_t)1 << shift) - 1;
}

void load_hist_init(load_hist_t *h)
{
  memset(h, 0, sizeof(*h));
}

void load_hist_record(load_hist_t *h, uint64_t us)
{
  if (h->count == 0 || us < h->min)
    h->min = us;
  if (us > h->max)
    h->max = us;
  h->count++;
  h->sum += us;
  h->cells[load_hist_cell(LOAD_HIST_BITS, us)]++;
}

void load_hist_merge(load_hist_t *into, const load_hist_t *from)
{
  size_t i;

  if (from->count == 0)
    return;
  if (into->count == 0 || from->min < into->min)
    into->min = from->min;
  if (from->max > into->max)
    into->max = from->max;
  into->count += from->count;
  into->sum += from->sum;
  for (i = 0; i < LOAD_HIST_CELLS(LOAD_HIST_BITS); i++)
    into->cells[i] += from->cells[i];
}

/* The rank of percentile p among n values: ceil(p/100 n), at least 1.
 * 99.9 % of 1000 is 999.0000000000001 in doubles: what is that close to a
 * whole rank is that rank. */
static uint64_t rank_of(double p, uint64_t n)
{
  double r = p / 100.0 * (double)n - 1e-9;
  uint64_t k = (uint64_t)r;

  if ((double)k < r)
    k++;
  if (k < 1)
    k = 1;
  return k > n ? n : k;
}

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

uint64_t load_hist_percentile(const load_hist_t *h, double p)
{
  uint64_t want, seen = 0;
  size_t i;

  if (h->count == 0 || !(p > 0.0))
    return 0;
  want = rank_of(p, h->count);
  for (i = 0; i < LOAD_HIST_CELLS(LOAD_HIST_BITS); i++) {
    seen += h->cells[i];
    if (seen >= want)
      return clamp(load_hist_cell_high(LOAD_HIST_BITS, i), h->min, h->max);
  }
  return h->max;
}

uint64_t load_bucket_percentile(const uint32_t *cells, uint64_t count,
                                uint64_t max, double p)
{
  uint64_t want, seen = 0;
  size_t i;

  if (count == 0 || !(p > 0.0))
    return 0;
  want = rank_of(p, count);
  for (i = 0; i < LOAD_HIST_CELLS(LOAD_BUCKET_BITS); i++) {
    seen += cells[i];
    if (seen >= want)
      return clamp(load_hist_cell_high(LOAD_BUCKET_BITS, i), 0, max);
  }
  return max;
}

/* ---------------------------------------------------------------------- */
/* Buckets                                                                 */

/* Room for bucket `i` (zeroed); false when memory runs out. */
static bool buckets_reserve(load_measure_t *m, size_t i)
{
  load_bucket_t *b;
  size_t cap = m->capbuckets ? m->capbuckets : 64;

  if (i < m->capbuckets)
    return true;
  while (cap <= i)
    cap *= 2;
  b = realloc(m->buckets, cap * sizeof(*b));
  if (b == NULL)
    return false;
  memset(b + m->capbuckets, 0, (cap - m->capbuckets) * sizeof(*b));
  m->buckets = b;
  m->capbuckets = cap;
  return true;
}

void load__measure_reset(load_measure_t *m, uint64_t start_ns)
{
  load_hist_init(&m->latency);
  m->start_ns = start_ns;
  m->bucket_ms = LOAD_BUCKET_MS;
  if (m->buckets != NULL)
    memset(m->buckets, 0, m->capbuckets * sizeof(*m->buckets));
  m->nbuckets = 0;
}

void load__measure_record(load_measure_t *m, const load_record_t *r)
{
  uint64_t at = r->end_ns > m->start_ns ? r->end_ns - m->start_ns : 0;
  uint64_t us = r->end_ns > r->start_ns ? (r->end_ns - r->start_ns) / 1000u
                                        : 0;
  size_t i = (size_t)(at / ((uint64_t)m->bucket_ms * 1000000u));
  load_bucket_t *b;

  if (r->outcome == LOAD_CANCELLED)
    return;
  if (i >= MAX_BUCKETS)
    i = MAX_BUCKETS - 1;
  if (r->outcome == LOAD_OK || r->outcome == LOAD_RETRIED)
    load_hist_record(&m->latency, us);
  /* a bucket that cannot be had loses its slice, not the histogram */
  if (!buckets_reserve(m, i))
    return;
  if (i + 1 > m->nbuckets)
    m->nbuckets = i + 1;
  b = &m->buckets[i];
  if (load_outcome_failed(r->outcome)) {
    b->failed++;
    return;
  }
  if (r->outcome == LOAD_OK)
    b->ok++;
  else
    b->retried++;
  if (us > b->max_us)
    b->max_us = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
  b->cells[load_hist_cell(LOAD_BUCKET_BITS, us)]++;
}

const load_measure_t *load_measure(const load_t *load)
{
  return load != NULL ? &load->measure : NULL;
}

void load_measure_free(load_measure_t *m)
{
  if (m == NULL)
    return;
  free(m->buckets);
  memset(m, 0, sizeof(*m));
}

static void bucket_add(load_bucket_t *into, const load_bucket_t *from)
{
  size_t c;

  into->ok += from->ok;
  into->retried += from->retried;
  into->failed += from->failed;
  if (from->max_us > into->max_us)
    into->max_us = from->max_us;
  for (c = 0; c < LOAD_HIST_CELLS(LOAD_BUCKET_BITS); c++)
    into->cells[c] += from->cells[c];
}

/* Moves into's buckets `by` slots later (its start `by` buckets earlier). */
static int shift_later(load_measure_t *into, size_t by)
{
  if (into->nbuckets > 0) {
    if (!buckets_reserve(into, into->nbuckets + by - 1))
      return UV_ENOMEM;
    memmove(into->buckets + by, into->buckets,
            into->nbuckets * sizeof(*into->buckets));
    memset(into->buckets, 0, by * sizeof(*into->buckets));
    into->nbuckets += by;
  }
  into->start_ns -= (uint64_t)by * into->bucket_ms * 1000000u;
  return 0;
}

int load_measure_merge(load_measure_t *into, const load_measure_t *from)
{
  uint64_t width;
  size_t off, i;

  if (from->bucket_ms != 0 && into->bucket_ms == 0) {
    into->bucket_ms = from->bucket_ms;
    into->start_ns = from->start_ns;
  }
  if (from->nbuckets > 0 && from->bucket_ms != into->bucket_ms)
    return UV_EINVAL;
  width = (uint64_t)into->bucket_ms * 1000000u;
  if (from->nbuckets > 0 && from->start_ns < into->start_ns) {
    size_t by = (size_t)((into->start_ns - from->start_ns + width - 1) /
                         width);
    if (by + into->nbuckets > MAX_BUCKETS || shift_later(into, by) != 0)
      return by + into->nbuckets > MAX_BUCKETS ? UV_EINVAL : UV_ENOMEM;
  }
  off = from->nbuckets > 0
            ? (size_t)((from->start_ns - into->start_ns + width / 2) / width)
            : 0;
  if (from->nbuckets > 0 && (off + from->nbuckets > MAX_BUCKETS ||
                             !buckets_reserve(into, off + from->nbuckets - 1)))
    return off + from->nbuckets > MAX_BUCKETS ? UV_EINVAL : UV_ENOMEM;
  for (i = 0; i < from->nbuckets; i++)
    bucket_add(&into->buckets[off + i], &from->buckets[i]);
  if (from->nbuckets > 0 && off + from->nbuckets > into->nbuckets)
    into->nbuckets = off + from->nbuckets;
  load_hist_merge(&into->latency, &from->latency);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* The trace record                                                        */

/* [[cell, count], ...] of the cells that hold something. */
static cJSON *cells_json(const void *cells, size_t n, bool wide)
{
  cJSON *a = cJSON_CreateArray();
  size_t i;

  for (i = 0; a != NULL && i < n; i++) {
    uint64_t v = wide ? ((const uint64_t *)cells)[i]
                      : ((const uint32_t *)cells)[i];
    cJSON *pair;
    if (v == 0)
      continue;
    pair = cJSON_CreateArray();
    if (pair == NULL || !cJSON_AddItemToArray(a, pair)) {
      cJSON_Delete(pair);
      cJSON_Delete(a);
      return NULL;
    }
    cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)i));
    cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)v));
  }
  return a;
}

static cJSON *bucket_json(const load_bucket_t *b)
{
  cJSON *a = cJSON_CreateArray();
  cJSON *cells = cells_json(b->cells, LOAD_HIST_CELLS(LOAD_BUCKET_BITS),
                            false);

  if (a == NULL || cells == NULL) {
    cJSON_Delete(a);
    cJSON_Delete(cells);
    return NULL;
  }
  cJSON_AddItemToArray(a, cJSON_CreateNumber(b->ok));
  cJSON_AddItemToArray(a, cJSON_CreateNumber(b->retried));
  cJSON_AddItemToArray(a, cJSON_CreateNumber(b->failed));
  cJSON_AddItemToArray(a, cJSON_CreateNumber(b->max_us));
  cJSON_AddItemToArray(a, cells);
  return a;
}

static bool add_buckets(cJSON *rec, const load_measure_t *m)
{
  cJSON *all = cJSON_AddArrayToObject(rec, "buckets");
  size_t i;

  for (i = 0; all != NULL && i < m->nbuckets; i++) {
    cJSON *b = bucket_json(&m->buckets[i]);
    if (b == NULL || !cJSON_AddItemToArray(all, b)) {
      cJSON_Delete(b);
      return false;
    }
  }
  return all != NULL;
}

cJSON *load_measure_json(const load_measure_t *m, uint64_t t_ns)
{
  cJSON *rec = cJSON_CreateObject(), *cells;

  if (rec == NULL)
    return NULL;
  cJSON_AddStringToObject(rec, "type", "load");
  cJSON_AddStringToObject(rec, "what", "latency");
  cJSON_AddNumberToObject(rec, "t", (double)t_ns);
  cJSON_AddStringToObject(rec, "unit", "us");
  cJSON_AddNumberToObject(rec, "bits", LOAD_HIST_BITS);
  cJSON_AddNumberToObject(rec, "count", (double)m->latency.count);
  cJSON_AddNumberToObject(rec, "min", (double)m->latency.min);
  cJSON_AddNumberToObject(rec, "max", (double)m->latency.max);
  cJSON_AddNumberToObject(rec, "sum", (double)m->latency.sum);
  cells = cells_json(m->latency.cells, LOAD_HIST_CELLS(LOAD_HIST_BITS), true);
  if (cells == NULL || !cJSON_AddItemToObject(rec, "cells", cells)) {
    cJSON_Delete(cells);
    cJSON_Delete(rec);
    return NULL;
  }
  cJSON_AddNumberToObject(rec, "start", (double)m->start_ns);
  cJSON_AddNumberToObject(rec, "bucket_ms", m->bucket_ms);
  cJSON_AddNumberToObject(rec, "bucket_bits", LOAD_BUCKET_BITS);
  if (!add_buckets(rec, m)) {
    cJSON_Delete(rec);
    return NULL;
  }
  return rec;
}

/* ---------------------------------------------------------------------- */
/* Reading it back                                                         */

static bool num(const cJSON *o, const char *key, double lo, double hi,
                double *out)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

  if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
    return false;
  *out = v->valuedouble;
  return true;
}

/* [[cell, count], ...] into `cells` (wide: uint64_t, else uint32_t). */
static bool cells_read(const cJSON *a, void *cells, size_t n, bool wide,
                       uint64_t *total)
{
  const cJSON *pair;

  *total = 0;
  if (!cJSON_IsArray(a))
    return false;
  cJSON_ArrayForEach(pair, a) {
    const cJSON *c = cJSON_GetArrayItem(pair, 0), *k = cJSON_GetArrayItem(pair, 1);
    if (cJSON_GetArraySize(pair) != 2 || !cJSON_IsNumber(c) ||
        !cJSON_IsNumber(k) || !(c->valuedouble >= 0 &&
                                c->valuedouble < (double)n) ||
        !(k->valuedouble >= 0 && k->valuedouble <= (wide ? 9e15 : 4e9)))
      return false;
    if (wide)
      ((uint64_t *)cells)[(size_t)c->valuedouble] += (uint64_t)k->valuedouble;
    else
      ((uint32_t *)cells)[(size_t)c->valuedouble] += (uint32_t)k->valuedouble;
    *total += (uint64_t)k->valuedouble;
  }
  return true;
}

static bool bucket_read(const cJSON *a, load_bucket_t *b)
{
  double v[4];
  uint64_t total;
  int i;

  if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 5)
    return false;
  for (i = 0; i < 4; i++) {
    const cJSON *x = cJSON_GetArrayItem(a, i);
    if (!cJSON_IsNumber(x) || !(x->valuedouble >= 0 && x->valuedouble < 4e9))
      return false;
    v[i] = x->valuedouble;
  }
  b->ok = (uint32_t)v[0];
  b->retried = (uint32_t)v[1];
  b->failed = (uint32_t)v[2];
  b->max_us = (uint32_t)v[3];
  return cells_read(cJSON_GetArrayItem(a, 4), b->cells,
                    LOAD_HIST_CELLS(LOAD_BUCKET_BITS), false, &total);
}

static int head_read(const cJSON *rec, load_measure_t *out)
{
  const cJSON *what = cJSON_GetObjectItemCaseSensitive(rec, "what");
  double bits, bbits, count, min, max, sum, start, width;
  uint64_t total;

  if (!cJSON_IsString(what) || strcmp(what->valuestring, "latency") != 0 ||
      !num(rec, "bits", LOAD_HIST_BITS, LOAD_HIST_BITS, &bits) ||
      !num(rec, "bucket_bits", LOAD_BUCKET_BITS, LOAD_BUCKET_BITS, &bbits) ||
      !num(rec, "count", 0, 9e15, &count) || !num(rec, "min", 0, 9e15, &min) ||
      !num(rec, "max", 0, 9e15, &max) || !num(rec, "sum", 0, 1.8e19, &sum) ||
      !num(rec, "start", 0, 1.8e19, &start) ||
      !num(rec, "bucket_ms", 1, 60000, &width))
    return UV_EINVAL;
  out->latency.count = (uint64_t)count;
  out->latency.min = (uint64_t)min;
  out->latency.max = (uint64_t)max;
  out->latency.sum = (uint64_t)sum;
  out->start_ns = (uint64_t)start;
  out->bucket_ms = (unsigned)width;
  if (!cells_read(cJSON_GetObjectItemCaseSensitive(rec, "cells"),
                  out->latency.cells, LOAD_HIST_CELLS(LOAD_HIST_BITS), true,
                  &total) ||
      total != out->latency.count)
    return UV_EINVAL;
  return 0;
}

int load_measure_from_json(const cJSON *rec, load_measure_t *out)
{
  const cJSON *buckets, *b;
  size_t i = 0;
  int rc;

  memset(out, 0, sizeof(*out));
  if (!cJSON_IsObject(rec))
    return UV_EINVAL;
  if ((rc = head_read(rec, out)) != 0)
    return rc;
  buckets = cJSON_GetObjectItemCaseSensitive(rec, "buckets");
  if (!cJSON_IsArray(buckets) ||
      (size_t)cJSON_GetArraySize(buckets) > MAX_BUCKETS)
    return UV_EINVAL;
  if (cJSON_GetArraySize(buckets) > 0 &&
      !buckets_reserve(out, (size_t)cJSON_GetArraySize(buckets) - 1))
    return UV_ENOMEM;
  cJSON_ArrayForEach(b, buckets) {
    if (!bucket_read(b, &out->buckets[i++]))
      return UV_EINVAL;
  }
  out->nbuckets = i;
  return 0;
}
