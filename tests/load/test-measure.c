/*
 * test-measure.c - what the load generator measures: the log-linear
 * histogram's cells and exact percentiles on known data, merging, the
 * 100 ms buckets of a real load against local servers, and the trace
 * record read back (and refused when malformed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <CUnit/Basic.h>

#include "load.h"
#include "servers.h"
#include "test-support.h"

/* Every value lies in its cell; cells are contiguous, in order, and at
 * most 1/2^(bits-1) of their values wide above the exact range. */
static void test_cells(void)
{
  static const unsigned bits[] = {LOAD_HIST_BITS, LOAD_BUCKET_BITS};
  size_t b;

  for (b = 0; b < 2; b++) {
    unsigned B = bits[b];
    size_t c, n = LOAD_HIST_CELLS(B);
    uint64_t v;

    for (v = 0; v < 300000; v += 1 + v / 97) {
      size_t cell = load_hist_cell(B, v);
      TEST_CHECK(cell < n, "bits %u: %llu in cell %zu of %zu", B,
                 (unsigned long long)v, cell, n);
      TEST_CHECK(load_hist_cell_low(B, cell) <= v &&
                     v <= load_hist_cell_high(B, cell),
                 "bits %u: %llu outside its cell %zu [%llu, %llu]", B,
                 (unsigned long long)v, cell,
                 (unsigned long long)load_hist_cell_low(B, cell),
                 (unsigned long long)load_hist_cell_high(B, cell));
      if (v < (1u << B))
        TEST_CHECK(cell == v, "bits %u: %llu not exact", B,
                   (unsigned long long)v);
    }
    for (c = 1; c < n; c++) {
      uint64_t lo = load_hist_cell_low(B, c);
      TEST_CHECK(lo == load_hist_cell_high(B, c - 1) + 1,
                 "bits %u: cell %zu does not follow cell %zu", B, c, c - 1);
      TEST_CHECK((load_hist_cell_high(B, c) - lo + 1) * (1u << (B - 1)) <=
                     (lo > (1u << B) ? lo : (1u << B)),
                 "bits %u: cell %zu too wide", B, c);
    }
    CU_ASSERT_EQUAL(load_hist_cell_high(B, n - 1), LOAD_HIST_MAX_US - 1);
    CU_ASSERT_EQUAL(load_hist_cell(B, LOAD_HIST_MAX_US * 4), n - 1);
  }
}

typedef struct {
  const char *name;
  /* the data: `count` copies of each value, a zero count ends it */
  struct {
    uint64_t value;
    unsigned count;
  } data[6];
  double p[5];
  uint64_t want[5];
} pct_case_t;

static const pct_case_t pct_cases[] = {
  /* 1..100 us: every value exact; rank ceil(p n) */
  {"1 to 100", {{0, 0}}, {50, 90, 99, 99.9, 100}, {50, 90, 99, 100, 100}},
  /* 990 of 1000 us, 9 of 50 ms, 1 of 2 s. 1000 = 125 << 3: its cell is
   * [1000, 1007]; 50000 >> 9 = 97: [49664, 50175]; the top is the exact
   * max. */
  {"a tail",
   {{1000, 990}, {50000, 9}, {2000000, 1}, {0, 0}},
   {50, 99, 99.5, 99.9, 100},
   {1007, 1007, 50175, 50175, 2000000}},
  /* one value: every percentile is that value, clamped into [min, max] */
  {"one value", {{123456, 1}, {0, 0}}, {1, 50, 99, 99.9, 100},
   {123456, 123456, 123456, 123456, 123456}},
  /* the exact range's edge: 127 is exact, 128 starts the first shared
   * cells (two values wide: 128 is reported as 129, its cell's top) */
  {"the edge", {{127, 1}, {128, 1}, {129, 1}, {0, 0}}, {33, 34, 66, 67, 100},
   {127, 129, 129, 129, 129}},
};

static void fill(load_hist_t *h, const pct_case_t *c)
{
  size_t i;
  unsigned k;

  load_hist_init(h);
  if (c->data[0].count == 0) {
    uint64_t v;
    for (v = 1; v <= 100; v++)
      load_hist_record(h, v);
    return;
  }
  for (i = 0; c->data[i].count > 0; i++)
    for (k = 0; k < c->data[i].count; k++)
      load_hist_record(h, c->data[i].value);
}

static void test_percentiles(void)
{
  const pct_case_t *c = TEST_ROW(pct_cases);
  load_hist_t *h = malloc(sizeof(*h));
  size_t i;

  CU_ASSERT_PTR_NOT_NULL_FATAL(h);
  fill(h, c);
  for (i = 0; i < 5; i++) {
    uint64_t got = load_hist_percentile(h, c->p[i]);
    TEST_CHECK(got == c->want[i], "p%g: got %llu, want %llu", c->p[i],
               (unsigned long long)got, (unsigned long long)c->want[i]);
  }
  CU_ASSERT_EQUAL(load_hist_percentile(h, 0), 0);
  free(h);
}

/* Two histograms merged are the histogram of all their values. */
static void test_merge(void)
{
  load_hist_t *a = calloc(3, sizeof(*a)), *b = a + 1, *all = a + 2;
  uint64_t v;

  CU_ASSERT_PTR_NOT_NULL_FATAL(a);
  for (v = 1; v < 200000; v = v * 3 + 1) {
    load_hist_record(v % 2 ? a : b, v);
    load_hist_record(all, v);
  }
  load_hist_merge(a, b);
  CU_ASSERT_EQUAL(memcmp(a, all, sizeof(*a)), 0);
  load_hist_init(b);
  load_hist_merge(a, b); /* an empty one changes nothing */
  CU_ASSERT_EQUAL(memcmp(a, all, sizeof(*a)), 0);
  free(a);
}

/* A real load against a local server: every outcome is in a bucket, the
 * latencies of the ok ones in the histogram, and the record reads back
 * as it was. */
static void on_done(load_t *load, void *arg)
{
  (void)load;
  srv_close(arg);
}

static void check_roundtrip(const load_measure_t *m)
{
  cJSON *rec = load_measure_json(m, m->start_ns + 123);
  char *text = rec ? cJSON_PrintUnformatted(rec) : NULL;
  cJSON *back = text ? cJSON_Parse(text) : NULL;
  load_measure_t r;
  size_t i;

  CU_ASSERT_PTR_NOT_NULL_FATAL(back);
  CU_ASSERT_EQUAL(load_measure_from_json(back, &r), 0);
  CU_ASSERT_EQUAL(memcmp(&r.latency, &m->latency, sizeof(r.latency)), 0);
  CU_ASSERT_EQUAL(r.start_ns, m->start_ns);
  CU_ASSERT_EQUAL(r.nbuckets, m->nbuckets);
  for (i = 0; i < r.nbuckets && i < m->nbuckets; i++)
    TEST_CHECK(memcmp(&r.buckets[i], &m->buckets[i], sizeof(r.buckets[i])) ==
                   0, "bucket %zu differs", i);
  load_measure_free(&r);
  cJSON_Delete(back);
  cJSON_Delete(rec);
  free(text);
}

static void test_real_load(void)
{
  uv_loop_t loop;
  srv_t srv;
  load_t *load;
  load_opts_t opts = {.requests = 400, .connections = 3, .keepalive = true,
                      .rate = 2000, .arg = &srv};
  const load_measure_t *m;
  load_counters_t k;
  uint64_t ok = 0, retried = 0, failed = 0, cells = 0;
  size_t i, c;

  CU_ASSERT_EQUAL_FATAL(uv_loop_init(&loop), 0);
  CU_ASSERT_EQUAL_FATAL(srv_start(&srv, &loop, "127.0.0.1", SRV_NORMAL, 0),
                        0);
  opts.port = srv.port;
  CU_ASSERT_EQUAL_FATAL(load_new(&load), 0);
  CU_ASSERT_EQUAL_FATAL(load_start(load, &loop, &opts, on_done), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  load_counters(load, &k);
  m = load_measure(load);
  for (i = 0; i < m->nbuckets; i++) {
    ok += m->buckets[i].ok;
    retried += m->buckets[i].retried;
    failed += m->buckets[i].failed;
    for (c = 0; c < LOAD_HIST_CELLS(LOAD_BUCKET_BITS); c++)
      cells += m->buckets[i].cells[c];
  }
  CU_ASSERT_EQUAL(ok, k.outcome[LOAD_OK]);
  CU_ASSERT_EQUAL(retried, k.outcome[LOAD_RETRIED]);
  CU_ASSERT_EQUAL(failed, k.failed);
  CU_ASSERT_EQUAL(cells, ok + retried);
  CU_ASSERT_EQUAL(m->latency.count, ok + retried);
  CU_ASSERT(m->latency.min <= load_hist_percentile(&m->latency, 50));
  CU_ASSERT(load_hist_percentile(&m->latency, 100) == m->latency.max);
  /* 400 requests at 2000/s: about 200 ms, so 2 to 4 buckets */
  TEST_CHECK(m->nbuckets >= 2 && m->nbuckets <= 6, "%zu buckets",
             m->nbuckets);
  check_roundtrip(m);
  load_free(load);
  CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
}

/* Buckets are merged on their times: a measurement that starts 250 ms
 * earlier moves the other one's buckets later. */
static void test_merge_buckets(void)
{
  load_measure_t a, b, into;

  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  memset(&into, 0, sizeof(into));
  a.bucket_ms = b.bucket_ms = LOAD_BUCKET_MS;
  a.start_ns = 10000000000ull;
  b.start_ns = a.start_ns - 300000000ull;
  a.nbuckets = b.nbuckets = a.capbuckets = b.capbuckets = 2;
  a.buckets = calloc(2, sizeof(load_bucket_t));
  b.buckets = calloc(2, sizeof(load_bucket_t));
  CU_ASSERT_PTR_NOT_NULL_FATAL(a.buckets);
  CU_ASSERT_PTR_NOT_NULL_FATAL(b.buckets);
  a.buckets[0].ok = 1;
  a.buckets[1].ok = 2;
  b.buckets[0].failed = 3;
  b.buckets[1].retried = 4;
  CU_ASSERT_EQUAL(load_measure_merge(&into, &a), 0);
  CU_ASSERT_EQUAL(load_measure_merge(&into, &b), 0);
  CU_ASSERT_EQUAL(into.start_ns, b.start_ns);
  CU_ASSERT_EQUAL_FATAL(into.nbuckets, 5);
  CU_ASSERT_EQUAL(into.buckets[0].failed, 3);
  CU_ASSERT_EQUAL(into.buckets[1].retried, 4);
  CU_ASSERT_EQUAL(into.buckets[3].ok, 1);
  CU_ASSERT_EQUAL(into.buckets[4].ok, 2);
  load_measure_free(&a);
  load_measure_free(&b);
  load_measure_free(&into);
}

typedef struct {
  const char *name;
  const char *json;
} bad_case_t;

#define HEAD "{\"type\":\"load\",\"what\":\"latency\",\"t\":1,\"bits\":7," \
             "\"bucket_bits\":4,\"min\":1,\"max\":1,\"sum\":1,\"start\":5," \
             "\"bucket_ms\":100,"

static const bad_case_t bad_cases[] = {
  {"not a latency record", "{\"type\":\"load\",\"what\":\"totals\"}"},
  {"other bits", "{\"type\":\"load\",\"what\":\"latency\",\"bits\":9}"},
  {"count does not add up", HEAD "\"count\":2,\"cells\":[[1,1]],"
                                 "\"buckets\":[]}"},
  {"cell out of range", HEAD "\"count\":1,\"cells\":[[99999,1]],"
                             "\"buckets\":[]}"},
  {"bucket not an array", HEAD "\"count\":1,\"cells\":[[1,1]],"
                               "\"buckets\":[7]}"},
  {"bucket cell out of range", HEAD "\"count\":1,\"cells\":[[1,1]],"
                                    "\"buckets\":[[1,0,0,1,[[400,1]]]]}"},
  {"negative count", HEAD "\"count\":1,\"cells\":[[1,-1]],\"buckets\":[]}"},
};

static void test_bad_record(void)
{
  const bad_case_t *c = TEST_ROW(bad_cases);
  cJSON *j = cJSON_Parse(c->json);
  load_measure_t m;

  CU_ASSERT_PTR_NOT_NULL_FATAL(j);
  CU_ASSERT_EQUAL(load_measure_from_json(j, &m), UV_EINVAL);
  load_measure_free(&m);
  cJSON_Delete(j);
}

static CU_TestInfo pct_tests[sizeof(pct_cases) / sizeof(pct_cases[0]) + 1];
static CU_TestInfo bad_tests[sizeof(bad_cases) / sizeof(bad_cases[0]) + 1];

static CU_TestInfo tests[] = {
  {"cells", test_cells},
  {"merge", test_merge},
  {"a real load: buckets, histogram, record", test_real_load},
  {"buckets merged on their times", test_merge_buckets},
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    {.pName = "histogram", .pTests = tests},
    {.pName = "percentiles", .pTests = pct_tests},
    {.pName = "malformed records", .pTests = bad_tests},
    CU_SUITE_INFO_NULL,
  };

  TEST_ROWS_FILL(pct_tests, pct_cases, test_percentiles);
  TEST_ROWS_FILL(bad_tests, bad_cases, test_bad_record);
  return test_main(argc, argv, suites, NULL);
}
