/*
 * test-serdes.c - the V8 codec on its own: the corpus round trips and
 * prints its documented JSON forms, hostile input fails with the right
 * code and never more, what V8 accepts beyond what Node writes is read as
 * Node reads it, framing, caps, and the JSON form's own errors.
 * (test-serdes-node.c checks the same corpus against real Node.)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "test-support.h"
#include "serdes-test.h"

/* ---------------------------------------------------------------------- */
/* Corpus                                                                  */

static int encode_hex(const sim_value_t *v, char **hex)
{
  sim_buf_t b;
  int rc;

  sim_buf_init(&b);
  rc = sim_v8_encode(v, &b, NULL);
  *hex = rc == 0 ? st_hex(b.base, b.len) : NULL;
  sim_buf_free(&b);
  return rc;
}

/* Decodes `hex` and encodes again: NULL when it does not decode. */
static char *reencode_hex(const char *hex, sim_heap_t *h, int *rc,
                          sim_v8_error_t *err)
{
  size_t n;
  uint8_t *bytes = st_unhex(hex, &n);
  sim_value_t *v;
  char *out = NULL;

  *rc = sim_v8_decode(h, bytes, n, &v, err);
  if (*rc == 0)
    (void)encode_hex(v, &out);
  free(bytes);
  return out;
}

static void corpus_row(const corpus_row_t *row)
{
  sim_heap_t *h = sim_heap_new(0), *h2 = sim_heap_new(0);
  sim_value_t *v = row->build(h), *back = NULL;
  char *hex = NULL, *again, *text, *hex2 = NULL;
  cJSON *json, *parsed;
  int rc;

  CU_ASSERT_PTR_NOT_NULL_FATAL(v);
  CU_ASSERT_EQUAL_FATAL(encode_hex(v, &hex), 0);
  again = reencode_hex(hex, h2, &rc, NULL);
  CU_ASSERT_EQUAL(rc, 0);
  CU_ASSERT(again != NULL && strcmp(again, hex) == 0);
  json = sim_value_to_json(v);
  text = cJSON_PrintUnformatted(json);
  if (row->json != NULL && strcmp(text, row->json) != 0) {
    fprintf(stderr, "  %s: JSON form\n    got:  %s\n    want: %s\n",
            row->name, text, row->json);
    CU_FAIL("JSON form");
  }
  parsed = cJSON_Parse(text);
  CU_ASSERT_EQUAL(sim_value_from_json(h2, parsed, &back), 0);
  CU_ASSERT(back != NULL && encode_hex(back, &hex2) == 0 &&
            strcmp(hex2, hex) == 0);
  free(hex);
  free(hex2);
  free(again);
  free(text);
  cJSON_Delete(json);
  cJSON_Delete(parsed);
  sim_heap_free(h);
  sim_heap_free(h2);
}

static void corpus_round_trips(void)
{
  CU_ASSERT(corpus_len >= 40);
  for (size_t i = 0; i < corpus_len; i++)
    corpus_row(&corpus[i]);
}

/* ---------------------------------------------------------------------- */
/* Hostile input: the code, and nothing else                               */

static void bad_input_rejected(void)
{
  for (size_t i = 0; i < bad_rows_len; i++) {
    const bad_row_t *row = &bad_rows[i];
    sim_heap_t *h = sim_heap_new(0);
    sim_value_t *v = NULL;
    sim_v8_error_t err = { 0, 0, NULL };
    size_t n;
    uint8_t *bytes = st_unhex(row->hex, &n);
    /* An exact-size copy, so that ASan sees any read past the end. */
    uint8_t *exact = malloc(n ? n : 1);
    int rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
    memcpy(exact, bytes, n);
    rc = sim_v8_decode(h, exact, n, &v, &err);
    if (rc != row->code || err.reason == NULL || err.offset > n) {
      fprintf(stderr, "  %s: rc %d (%s at %zu), want %d\n", row->name, rc,
              err.reason ? err.reason : "no reason", err.offset, row->code);
      CU_FAIL(row->name);
    }
    free(bytes);
    free(exact);
    sim_heap_free(h);
  }
}

/* Every prefix of every corpus value is truncated input. */
static void every_truncation_rejected(void)
{
  for (size_t i = 0; i < corpus_len; i++) {
    sim_heap_t *h = sim_heap_new(0);
    sim_buf_t b;

    sim_buf_init(&b);
    CU_ASSERT_EQUAL_FATAL(sim_v8_encode(corpus[i].build(h), &b, NULL), 0);
    for (size_t n = 0; n < b.len; n++) {
      sim_heap_t *h2 = sim_heap_new(0);
      uint8_t *exact = malloc(n ? n : 1);
      sim_value_t *v;
      sim_v8_error_t err;

      memcpy(exact, b.base, n);
      if (sim_v8_decode(h2, exact, n, &v, &err) != UV_EPROTO) {
        fprintf(stderr, "  %s cut at %zu: accepted\n", corpus[i].name, n);
        CU_FAIL("truncation accepted");
      }
      free(exact);
      sim_heap_free(h2);
    }
    sim_buf_free(&b);
    sim_heap_free(h);
  }
}

/* ---------------------------------------------------------------------- */
/* Accepted beyond what Node writes: read as Node reads it                 */

static void odd_input_read_as_node_reads_it(void)
{
  for (size_t i = 0; i < odd_rows_len; i++) {
    const odd_row_t *row = &odd_rows[i];
    sim_heap_t *h = sim_heap_new(0);
    sim_value_t *v;
    sim_v8_error_t err = { 0, 0, NULL };
    size_t n, m;
    uint8_t *in = st_unhex(row->hex, &n),
            *want = st_unhex(row->again, &m);
    char *got = NULL, *w = st_hex(want, m);
    int rc = sim_v8_decode(h, in, n, &v, &err);

    if (rc == 0)
      (void)encode_hex(v, &got);
    if (rc != 0 || got == NULL || strcmp(got, w) != 0) {
      fprintf(stderr, "  %s: rc %d (%s), again %s, want %s\n", row->name, rc,
              err.reason ? err.reason : "-", got ? got : "-", w);
      CU_FAIL(row->name);
    }
    free(in);
    free(want);
    free(got);
    free(w);
    sim_heap_free(h);
  }
}

/* ---------------------------------------------------------------------- */
/* Caps                                                                    */

/* `levels` nested one-element dense arrays around undefined. */
static uint8_t *nested_arrays(unsigned levels, size_t *n)
{
  uint8_t *b = malloc(2 + (size_t)levels * 5 + 1), *p = b;

  *p++ = 0xFF;
  *p++ = 0x0F;
  for (unsigned i = 0; i < levels; i++) {
    *p++ = 'A';
    *p++ = 1;
  }
  *p++ = '_';
  for (unsigned i = 0; i < levels; i++) {
    *p++ = '$';
    *p++ = 0;
    *p++ = 1;
  }
  *n = (size_t)(p - b);
  return b;
}

static void depth_is_capped(void)
{
  for (unsigned levels = SIM_V8_MAX_DEPTH; levels <= SIM_V8_MAX_DEPTH + 1;
       levels++) {
    sim_heap_t *h = sim_heap_new(0);
    sim_value_t *v = NULL, *deeper;
    sim_v8_error_t err;
    size_t n;
    uint8_t *b = nested_arrays(levels, &n);
    sim_buf_t out;
    int rc = sim_v8_decode(h, b, n, &v, &err);

    sim_buf_init(&out);
    if (levels == SIM_V8_MAX_DEPTH) {
      cJSON *json;
      sim_value_t *back = NULL;

      CU_ASSERT_EQUAL_FATAL(rc, 0);
      CU_ASSERT_EQUAL(sim_v8_encode(v, &out, NULL), 0);
      CU_ASSERT(out.len == n && memcmp(out.base, b, n) == 0);
      /* The JSON form holds as deep a value. */
      json = sim_value_to_json(v);
      CU_ASSERT_EQUAL(sim_value_from_json(h, json, &back), 0);
      out.len = 0;
      CU_ASSERT(back != NULL && sim_v8_encode(back, &out, NULL) == 0 &&
                out.len == n && memcmp(out.base, b, n) == 0);
      cJSON_Delete(json);
      /* The encoder refuses what the decoder would. */
      deeper = sim_value_new(h, SIM_VALUE_ARRAY);
      CU_ASSERT_EQUAL(sim_value_push(h, deeper, v), 0);
      out.len = 0;
      CU_ASSERT_EQUAL(sim_v8_encode(deeper, &out, &err), UV_E2BIG);
      CU_ASSERT_EQUAL(out.len, 0);
      CU_ASSERT_PTR_NULL(sim_value_to_json(deeper));
    } else {
      CU_ASSERT_EQUAL(rc, UV_E2BIG);
    }
    sim_buf_free(&out);
    free(b);
    sim_heap_free(h);
  }
}

/* A chain of count prefixes nests too, without any object. */
static void count_prefix_chain_is_capped(void)
{
  size_t n = 2 + 2 * 5000 + 1;
  uint8_t *b = malloc(n);
  sim_heap_t *h = sim_heap_new(0);
  sim_value_t *v;

  b[0] = 0xFF;
  b[1] = 0x0F;
  for (size_t i = 0; i < 5000; i++) {
    b[2 + 2 * i] = '?';
    b[3 + 2 * i] = 0;
  }
  b[n - 1] = '_';
  CU_ASSERT_EQUAL(sim_v8_decode(h, b, n, &v, NULL), UV_E2BIG);
  free(b);
  sim_heap_free(h);
}

/* A million undefined elements fit in 1 MB of input but not in a heap of
 * 1 MiB: refused before the elements are read. */
static void heap_limit_is_kept(void)
{
  size_t count = 1000000, n = 2 + 4 + count + 1 + 1 + 4;
  uint8_t *b = malloc(n), *p = b;
  sim_heap_t *h = sim_heap_new(1u << 20), *big = sim_heap_new(0);
  sim_value_t *v;
  sim_v8_error_t err;

  *p++ = 0xFF;
  *p++ = 0x0F;
  *p++ = 'A';
  *p++ = 0xC0;               /* varint 1000000 */
  *p++ = 0x84;
  *p++ = 0x3D;
  memset(p, '_', count);
  p += count;
  *p++ = '$';
  *p++ = 0;
  *p++ = 0xC0;
  *p++ = 0x84;
  *p++ = 0x3D;
  n = (size_t)(p - b);
  CU_ASSERT_EQUAL(sim_v8_decode(h, b, n, &v, &err), UV_E2BIG);
  CU_ASSERT(sim_heap_used(h) <= (1u << 20));
  CU_ASSERT_EQUAL(sim_v8_decode(big, b, n, &v, &err), 0);
  CU_ASSERT_EQUAL(v->u.array.elements.count, count);
  free(b);
  sim_heap_free(h);
  sim_heap_free(big);
}

/* ---------------------------------------------------------------------- */
/* Framing                                                                 */

static void frames_arrive_in_pieces(void)
{
  sim_heap_t *h = sim_heap_new(0);
  sim_buf_t all;
  size_t used, at = 0, got = 0;

  sim_buf_init(&all);
  for (size_t i = 0; i < corpus_len; i++)
    CU_ASSERT_EQUAL(sim_v8_encode_frame(corpus[i].build(h), &all, NULL), 0);
  /* One byte more at a time: incomplete until a frame is whole. */
  for (size_t have = 0; have <= all.len; have++) {
    sim_value_t *v;
    int rc = sim_v8_decode_frame(h, all.base + at, have - at, &v, &used,
                                 NULL);
    if (rc == UV_EAGAIN) {
      CU_ASSERT_EQUAL(used, 0);
      continue;
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    at += used;
    got++;
  }
  CU_ASSERT_EQUAL(got, corpus_len);
  CU_ASSERT_EQUAL(at, all.len);
  sim_buf_free(&all);
  sim_heap_free(h);
}

static void frame_limits(void)
{
  static const uint8_t huge[4] = { 0xFF, 0xFF, 0xFF, 0xFF };
  static const uint8_t over[4] = { 0x01, 0x00, 0x00, 0x01 };
  static const uint8_t empty[4] = { 0, 0, 0, 0 };
  static const uint8_t bad[6] = { 0, 0, 0, 2, 0xFF, 0x10 };
  sim_heap_t *h = sim_heap_new(0);
  sim_value_t *v, *ab;
  size_t used;
  sim_buf_t b;
  sim_v8_error_t err;

  /* Refused from the prefix alone, before any payload is buffered. */
  CU_ASSERT_EQUAL(sim_v8_decode_frame(h, huge, 4, &v, &used, &err),
                  UV_E2BIG);
  CU_ASSERT_EQUAL(sim_v8_decode_frame(h, over, 4, &v, &used, &err),
                  UV_E2BIG);
  CU_ASSERT_EQUAL(sim_v8_decode_frame(h, huge, 3, &v, &used, &err),
                  UV_EAGAIN);
  /* A whole frame with a bad payload is consumed and reported. */
  CU_ASSERT_EQUAL(sim_v8_decode_frame(h, empty, 4, &v, &used, &err),
                  UV_EPROTO);
  CU_ASSERT_EQUAL(used, 4);
  CU_ASSERT_EQUAL(sim_v8_decode_frame(h, bad, 6, &v, &used, &err),
                  UV_EPROTO);
  CU_ASSERT_EQUAL(used, 6);
  /* The encoder never writes what the decoder would refuse. */
  sim_buf_init(&b);
  ab = sim_value_new_buffer(h, NULL, SIM_MAX_MESSAGE);
  CU_ASSERT_EQUAL(sim_v8_encode_frame(ab, &b, &err), UV_E2BIG);
  CU_ASSERT_EQUAL(b.len, 0);
  CU_ASSERT_EQUAL(sim_v8_encode(ab, &b, &err), 0);
  sim_buf_free(&b);
  sim_heap_free(h);
}

/* ---------------------------------------------------------------------- */
/* The encoder refuses what the model cannot mean                         */

static void encoder_refuses_invalid_models(void)
{
  sim_heap_t *h = sim_heap_new(0);
  sim_value_t *hole = sim_value_new(h, SIM_VALUE_HOLE);
  sim_value_t *obj = sim_value_new(h, SIM_VALUE_OBJECT);
  sim_value_t *set = sim_value_new(h, SIM_VALUE_SET);
  sim_value_t *map = sim_value_new(h, SIM_VALUE_MAP);
  sim_value_t *src = sim_value_new_string(h, "a", 1);
  sim_value_t *cases[6];
  sim_buf_t b;
  sim_v8_error_t err;

  CU_ASSERT_EQUAL(sim_value_put_str(h, obj, "h", hole), 0);
  CU_ASSERT_EQUAL(sim_value_push(h, set, hole), 0);
  CU_ASSERT_EQUAL(sim_value_put(h, map, hole, src), 0);
  cases[0] = hole;
  cases[1] = obj;
  cases[2] = set;
  cases[3] = map;
  cases[4] = sim_value_new_view(h, SIM_VIEW_FLOAT64, NULL, 7);
  cases[5] = sim_value_new_regexp(h, src, SIM_REGEXP_LINEAR);
  sim_buf_init(&b);
  CU_ASSERT_EQUAL(sim_buf_append(&b, "keep", 4), 0);
  for (size_t i = 0; i < 6; i++) {
    CU_ASSERT_EQUAL(sim_v8_encode(cases[i], &b, &err), UV_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(err.reason);
    CU_ASSERT_EQUAL(b.len, 4);
  }
  /* Keys other than strings and numbers are refused at the door. */
  CU_ASSERT_EQUAL(sim_value_put(h, obj, obj, src), UV_EINVAL);
  CU_ASSERT_EQUAL(sim_value_push(h, obj, src), UV_EINVAL);
  CU_ASSERT_PTR_NULL(sim_value_new_boxed(h, obj));
  CU_ASSERT_PTR_NULL(sim_value_new_regexp(h, obj, 0));
  CU_ASSERT_PTR_NULL(sim_value_new_view(h, SIM_VIEW_MAX, NULL, 0));
  sim_buf_free(&b);
  sim_heap_free(h);
}

/* ---------------------------------------------------------------------- */
/* Constructors make V8's choices                                          */

static void constructors_choose_as_v8(void)
{
  sim_heap_t *h = sim_heap_new(0);
  sim_value_t *v;

  CU_ASSERT_EQUAL(sim_value_new_number(h, 2.0)->kind, SIM_VALUE_INT32);
  CU_ASSERT_EQUAL(sim_value_new_number(h, -0.0)->kind, SIM_VALUE_DOUBLE);
  CU_ASSERT_EQUAL(sim_value_new_number(h, 2147483648.0)->kind,
                  SIM_VALUE_DOUBLE);
  CU_ASSERT_EQUAL(sim_value_new_number(h, -2147483648.0)->kind,
                  SIM_VALUE_INT32);
  CU_ASSERT_EQUAL(sim_value_new_number(h, 0.5)->kind, SIM_VALUE_DOUBLE);
  CU_ASSERT_FALSE(sim_value_new_string(h, "\xc3\xa9", 2)->u.string.two_byte);
  CU_ASSERT_TRUE(sim_value_new_string(h, "\xc4\x80", 2)->u.string.two_byte);
  CU_ASSERT_EQUAL(sim_value_new_string(h, "\xf0\x9f\x98\x80", 4)
                      ->u.string.length, 2);
  CU_ASSERT_PTR_NULL(sim_value_new_string(h, "\xff", 1));
  CU_ASSERT_PTR_NULL(sim_value_new_string(h, "\xed\xa0\x80", 3));
  CU_ASSERT_PTR_NULL(sim_value_new_string(h, "\xc0\xaf", 2));
  v = sim_value_new_bigint_str(h, "0x10000000000000000");
  CU_ASSERT(v != NULL && v->u.bigint.ndigits == 2 &&
            v->u.bigint.digits[1] == 1 && v->u.bigint.digits[0] == 0);
  v = sim_value_new_bigint_str(h, "-0");
  CU_ASSERT(v != NULL && v->u.bigint.ndigits == 0 && !v->u.bigint.negative);
  CU_ASSERT_PTR_NULL(sim_value_new_bigint_str(h, ""));
  CU_ASSERT_PTR_NULL(sim_value_new_bigint_str(h, "12a"));
  CU_ASSERT_PTR_NULL(sim_value_new_bigint_str(h, "-"));
  CU_ASSERT_EQUAL(sim_value_new_date(h, 1.9)->u.number, 1.0);
  CU_ASSERT_FALSE(signbit(sim_value_new_date(h, -0.5)->u.number));
  CU_ASSERT_TRUE(isnan(sim_value_new_date(h, 8.64e15 + 1)->u.number));
  CU_ASSERT_EQUAL(sim_value_new_date(h, -8.64e15)->u.number, -8.64e15);
  sim_heap_free(h);
}

static void heap_accounts_and_frees(void)
{
  sim_heap_t *h = sim_heap_new(4096);
  sim_value_t *a = sim_value_new(h, SIM_VALUE_ARRAY), *s;
  int rc = 0;

  CU_ASSERT(sim_heap_used(h) > 0 && sim_heap_used(h) <= 4096);
  for (int i = 0; i < 10000 && rc == 0; i++)
    rc = sim_value_push(h, a, sim_value_new(h, SIM_VALUE_UNDEFINED));
  CU_ASSERT_EQUAL(rc, UV_E2BIG);
  CU_ASSERT(sim_heap_used(h) <= 4096);
  s = sim_value_new_latin1(h, NULL, 8192);
  CU_ASSERT_PTR_NULL(s);
  sim_heap_free(h);
  sim_heap_free(NULL);
}

/* ---------------------------------------------------------------------- */
/* The JSON form's own errors                                              */

static const char *const bad_json[] = {
  "{\"$v8\":\"nope\"}",
  "{\"$v8\":1}",
  "{\"$v8\":\"int32\",\"value\":1.5}",
  "{\"$v8\":\"int32\",\"value\":\"NaN\"}",
  "{\"$v8\":\"double\",\"value\":\"nan\"}",
  "{\"$v8\":\"ref\",\"id\":9}",
  "{\"$v8\":\"def\",\"id\":1,\"value\":1}",
  "[{\"$v8\":\"def\",\"id\":1,\"value\":{}},{\"$v8\":\"def\",\"id\":1,"
  "\"value\":{}}]",
  "{\"$v8\":\"bigint\",\"value\":\"12x\"}",
  "{\"$v8\":\"bigint\",\"value\":12}",
  "{\"$v8\":\"Uint8Array\",\"hex\":\"abc\"}",
  "{\"$v8\":\"Uint8Array\",\"hex\":\"zz\"}",
  "{\"$v8\":\"Float64Array\",\"hex\":\"00\"}",
  "{\"$v8\":\"regexp\",\"source\":\"a\",\"flags\":\"gg\"}",
  "{\"$v8\":\"regexp\",\"source\":\"a\",\"flags\":\"q\"}",
  "{\"$v8\":\"regexp\",\"source\":1,\"flags\":\"\"}",
  "{\"$v8\":\"string\",\"utf16\":[70000]}",
  "{\"$v8\":\"string\",\"value\":\"\xe2\x82\xac\",\"twoByte\":false}",
  "{\"$v8\":\"string\"}",
  "{\"$v8\":\"sparse\",\"length\":-1}",
  "{\"$v8\":\"object\",\"entries\":[[{},1]]}",
  "{\"$v8\":\"object\",\"entries\":[[1]]}",
  "{\"$v8\":\"object\",\"entries\":{}}",
  "{\"$v8\":\"map\"}",
  "{\"$v8\":\"ArrayBuffer\",\"hex\":\"00\",\"maxByteLength\":0}",
  "{\"$v8\":\"date\",\"value\":\"x\"}",
  "{\"$v8\":\"Number\",\"value\":\"1\"}",
  "{\"$v8\":\"error\",\"message\":1}",
  "\"\xff\"",
};

#define NBADJSON (sizeof(bad_json) / sizeof(bad_json[0]))

static void json_form_refuses_malformed(void)
{
  for (size_t i = 0; i < NBADJSON; i++) {
    cJSON *j = cJSON_Parse(bad_json[i]);
    sim_heap_t *h = sim_heap_new(0);
    sim_value_t *v = NULL;
    sim_buf_t b;
    int rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    rc = sim_value_from_json(h, j, &v);
    /* A refused encoding counts: the model could not mean anything. */
    sim_buf_init(&b);
    if (rc == 0)
      rc = sim_v8_encode(v, &b, NULL);
    if (rc != UV_EINVAL) {
      fprintf(stderr, "  %s: rc %d\n", bad_json[i], rc);
      CU_FAIL("malformed JSON form accepted");
    }
    sim_buf_free(&b);
    cJSON_Delete(j);
    sim_heap_free(h);
  }
}

/* ---------------------------------------------------------------------- */

static CU_TestInfo tests[] = {
  { "corpus_round_trips", corpus_round_trips },
  { "bad_input_rejected", bad_input_rejected },
  { "every_truncation_rejected", every_truncation_rejected },
  { "odd_input_read_as_node_reads_it", odd_input_read_as_node_reads_it },
  { "depth_is_capped", depth_is_capped },
  { "count_prefix_chain_is_capped", count_prefix_chain_is_capped },
  { "heap_limit_is_kept", heap_limit_is_kept },
  { "frames_arrive_in_pieces", frames_arrive_in_pieces },
  { "frame_limits", frame_limits },
  { "encoder_refuses_invalid_models", encoder_refuses_invalid_models },
  { "constructors_choose_as_v8", constructors_choose_as_v8 },
  { "heap_accounts_and_frees", heap_accounts_and_frees },
  { "json_form_refuses_malformed", json_form_refuses_malformed },
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "serdes", .pTests = tests },
    CU_SUITE_INFO_NULL,
  };

  return test_main(argc, argv, suites, NULL);
}
