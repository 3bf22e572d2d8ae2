/*
 * test-base.c - base/: the signal table against Node's, growable buffers
 * and arrays at their bounds, and the line reader fed every way a stream
 * can cut its bytes.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "base.h"
#include "test-support.h"

/* ---------------------------------------------------------------------- */
/* Signals                                                                 */

static void test_signal_table(void)
{
  static const struct {
    const char *name;
    int signum;
    const char *back;        /* base_signal_name(signum) */
  } rows[] = {
    {"SIGHUP", SIGHUP, "SIGHUP"},       {"SIGKILL", SIGKILL, "SIGKILL"},
    {"SIGTERM", SIGTERM, "SIGTERM"},   {"SIGABRT", SIGABRT, "SIGABRT"},
    {"SIGIOT", SIGABRT, "SIGABRT"},    {"SIGIO", SIGIO, "SIGIO"},
    {"SIGPOLL", SIGIO, "SIGIO"},       {"SIGSTKFLT", SIGSTKFLT, "SIGSTKFLT"},
    {"SIGPWR", SIGPWR, "SIGPWR"},      {"SIGSYS", SIGSYS, "SIGSYS"},
    {"TERM", 0, NULL},                 {"15", 0, NULL},
    {"sigterm", 0, NULL},              {"SIGTERM ", 0, NULL},
    {"", 0, NULL},                     {"SIGRTMIN", 0, NULL},
  };

  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    int n = base_signal_from_name(rows[i].name);
    TEST_CHECK(n == rows[i].signum, "%s -> %d, want %d", rows[i].name, n,
               rows[i].signum);
    if (rows[i].back != NULL)
      TEST_CHECK(strcmp(base_signal_name(n), rows[i].back) == 0,
                 "%d -> %s, want %s", n, base_signal_name(n), rows[i].back);
  }
  CU_ASSERT_EQUAL(base_signal_from_name(NULL), 0);
  CU_ASSERT_PTR_NULL(base_signal_name(0));
  CU_ASSERT_PTR_NULL(base_signal_name(-1));
  CU_ASSERT_PTR_NULL(base_signal_name(SIGRTMIN));
}

/* Every name of the table maps to a number whose name maps back to the
 * same number; the list holds each name once. */
static void test_signal_names(void)
{
  const char *const *names = base_signal_names();
  size_t n = 0;

  for (; names[n] != NULL; n++) {
    int signum = base_signal_from_name(names[n]);
    TEST_CHECK(signum > 0, "%s has no number", names[n]);
    TEST_CHECK(base_signal_from_name(base_signal_name(signum)) == signum,
               "%s does not round-trip", names[n]);
    for (size_t j = 0; j < n; j++)
      TEST_CHECK(strcmp(names[j], names[n]) != 0, "%s twice", names[n]);
  }
  CU_ASSERT_EQUAL(n, 33);
}

/* The table is Node's os.constants.signals, names and numbers, in order;
 * checked against the node on PATH when there is one. */
static void test_signals_are_nodes(void)
{
  const char *const *names = base_signal_names();
  char line[128];
  size_t i = 0;
  FILE *p;

  p = popen("node -e 'for (const [k, v] of Object.entries("
            "require(\"os\").constants.signals)) console.log(k + \" \" + v)'"
            " 2>/dev/null", "r");
  if (p == NULL)
    return;
  while (fgets(line, sizeof(line), p) != NULL) {
    char name[64];
    int num;
    if (sscanf(line, "%63s %d", name, &num) != 2)
      continue;
    TEST_CHECK(names[i] != NULL && strcmp(names[i], name) == 0,
               "Node's signal %zu is %s, ours %s", i, name,
               names[i] != NULL ? names[i] : "(end)");
    TEST_CHECK(base_signal_from_name(name) == num, "%s: Node %d, ours %d",
               name, num, base_signal_from_name(name));
    if (names[i] != NULL)
      i++;
  }
  if (pclose(p) != 0 && i == 0) {
    printf("\n    node is not on PATH: compared with nothing ");
    return;
  }
  TEST_CHECK(names[i] == NULL, "%s is not one of Node's signals", names[i]);
}

/* ---------------------------------------------------------------------- */
/* Buffers and arrays                                                      */

static void test_buf(void)
{
  base_buf_t b = BASE_BUF_INIT;
  char *s;

  CU_ASSERT_EQUAL(b.len, 0);
  CU_ASSERT_EQUAL(base_buf_append(&b, "ab", 2), 0);
  CU_ASSERT_STRING_EQUAL(b.base, "ab");
  for (int i = 0; i < 1000; i++)
    CU_ASSERT_EQUAL_FATAL(base_buf_appendf(&b, "%03d,", i), 0);
  CU_ASSERT_EQUAL(b.len, 2 + 4000);
  CU_ASSERT_TRUE(b.cap > b.len);
  CU_ASSERT_EQUAL(b.base[b.len], '\0');
  CU_ASSERT_EQUAL(memcmp(b.base + 2 + 4 * 999, "999,", 4), 0);
  CU_ASSERT_EQUAL(base_buf_append(&b, "x\0y", 3), 0);
  CU_ASSERT_EQUAL(b.len, 4005);
  CU_ASSERT_EQUAL(b.base[4003], '\0');
  /* Overflowing sizes fail and leave the buffer as it was. */
  CU_ASSERT_EQUAL(base_buf_reserve(&b, SIZE_MAX), UV_ENOMEM);
  CU_ASSERT_EQUAL(base_buf_reserve(&b, SIZE_MAX - b.len), UV_ENOMEM);
  CU_ASSERT_EQUAL(b.len, 4005);
  base_buf_reset(&b);
  CU_ASSERT_EQUAL(b.len, 0);
  CU_ASSERT_STRING_EQUAL(b.base, "");
  CU_ASSERT_EQUAL(base_buf_appends(&b, "kept"), 0);
  s = base_buf_detach(&b);
  CU_ASSERT_STRING_EQUAL(s, "kept");
  CU_ASSERT_PTR_NULL(b.base);
  CU_ASSERT_EQUAL(b.cap, 0);
  free(s);
  /* An empty buffer detaches as "", never NULL. */
  s = base_buf_detach(&b);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  CU_ASSERT_STRING_EQUAL(s, "");
  free(s);
  base_buf_free(&b);
  base_buf_free(&b);
}

static void test_array_grow(void)
{
  uint64_t *a = NULL;
  size_t cap = 0;

  CU_ASSERT_EQUAL(base_array_grow(&a, &cap, 0, sizeof(*a)), 0);
  CU_ASSERT_PTR_NULL(a);
  for (size_t i = 0; i < 1000; i++) {
    CU_ASSERT_EQUAL_FATAL(base_array_grow(&a, &cap, i + 1, sizeof(*a)), 0);
    a[i] = i;
  }
  CU_ASSERT_TRUE(cap >= 1000 && cap < 2000);
  CU_ASSERT_EQUAL(a[999], 999);
  /* need * elem overflows: refused, array kept. */
  CU_ASSERT_EQUAL(base_array_grow(&a, &cap, SIZE_MAX / 4, sizeof(*a)),
                  UV_ENOMEM);
  CU_ASSERT_TRUE(cap >= 1000 && cap < 2000);
  CU_ASSERT_EQUAL(a[999], 999);
  free(a);
}

/* ---------------------------------------------------------------------- */
/* Lines                                                                   */

typedef struct {
  const char *name;
  const char *input;
  size_t input_len;          /* 0: strlen(input) */
  size_t max;
  const char *stop_at;       /* the callback stops after this line */
  const char *want;          /* each event followed by '|' */
  int pending;               /* base_lines_pending() > 0 at the end */
} lines_case_t;

static const lines_case_t lines_cases[] = {
  {"lines", "a\nbc\n", 0, 10, NULL, "a|bc|", 0},
  {"nothing", "", 0, 10, NULL, "", 0},
  {"empty lines are delivered", "\n\na\n", 0, 10, NULL, "||a|", 0},
  {"CR is kept", "a\r\n\r\n", 0, 10, NULL, "a\r|\r|", 0},
  {"unfinished line is pending", "a\nbc", 0, 10, NULL, "a|", 1},
  {"exactly max", "abc\nxyz\n", 0, 3, NULL, "abc|xyz|", 0},
  {"longer than max, then more", "abcd\nok\n", 0, 3, NULL, "E2BIG|ok|", 0},
  {"runaway line reported once", "abcdefghijklmnop", 0, 3, NULL, "E2BIG|",
   1},
  {"runaway line then a line", "abcdefghijklmnop\nok\nabcd", 0, 3, NULL,
   "E2BIG|ok|E2BIG|", 1},
  {"NUL inside a line", "a\0b\n", 4, 10, NULL, "a<0>b|", 0},
  {"callback stops the feed", "a\nstop\nb\n", 0, 10, "stop", "a|stop|", 0},
  {"JSON lines", "{\"a\":1}\n{\"b\":[1,2]}\n", 0, 64, NULL,
   "{\"a\":1}|{\"b\":[1,2]}|", 0},
};

typedef struct {
  const lines_case_t *c;
  base_buf_t got;
} lines_run_t;

static int on_line(base_lines_t *r, int status, const char *line,
                   size_t len)
{
  lines_run_t *run = r->data;

  if (status != 0) {
    CU_ASSERT_PTR_NULL(line);
    CU_ASSERT_TRUE(len > run->c->max || status == UV_ENOMEM);
    base_buf_appendf(&run->got, "%s|", uv_err_name(status));
    return 0;
  }
  CU_ASSERT_TRUE(len <= run->c->max);
  for (size_t i = 0; i < len; i++)
    if (line[i] == '\0')
      base_buf_appends(&run->got, "<0>");
    else
      base_buf_append(&run->got, &line[i], 1);
  base_buf_appends(&run->got, "|");
  if (run->c->stop_at != NULL && len == strlen(run->c->stop_at) &&
      memcmp(line, run->c->stop_at, len) == 0)
    return 7;
  return 0;
}

/* Feeds the input cut at `cuts` (sorted offsets); returns what the
 * callback saw. */
static void feed_cut(const lines_case_t *c, const size_t *cuts, size_t ncuts,
                     const char *how)
{
  size_t n = c->input_len > 0 ? c->input_len : strlen(c->input);
  lines_run_t run = { c, BASE_BUF_INIT };
  base_lines_t r;
  size_t at = 0;
  int rc = 0;

  base_lines_init(&r, c->max, on_line);
  r.data = &run;
  for (size_t i = 0; i <= ncuts && rc == 0; i++) {
    size_t end = i < ncuts ? cuts[i] : n;
    /* The bytes of one read live only for the call. */
    char *chunk = malloc(end - at + 1);
    memcpy(chunk, c->input + at, end - at);
    rc = base_lines_feed(&r, chunk, end - at);
    free(chunk);
    at = end;
  }
  TEST_CHECK(strcmp(run.got.base != NULL ? run.got.base : "", c->want) == 0,
             "%s, %s: got \"%s\", want \"%s\"", c->name, how,
             run.got.base != NULL ? run.got.base : "", c->want);
  TEST_CHECK(rc == (c->stop_at != NULL ? 7 : 0), "%s, %s: feed returned %d",
             c->name, how, rc);
  if (c->stop_at == NULL)
    TEST_CHECK((base_lines_pending(&r) > 0) == c->pending,
               "%s, %s: pending %zu", c->name, how, base_lines_pending(&r));
  /* Never more than max held, whatever the cuts. */
  TEST_CHECK(r.partial.len <= c->max, "%s, %s: %zu bytes held", c->name,
             how, r.partial.len);
  base_lines_free(&r);
  base_buf_free(&run.got);
}

/* The same events whether the stream comes in one read, byte by byte, or
 * cut anywhere in two or three reads. */
static void test_lines(void)
{
  for (size_t k = 0; k < sizeof(lines_cases) / sizeof(lines_cases[0]); k++) {
    const lines_case_t *c = &lines_cases[k];
    size_t n = c->input_len > 0 ? c->input_len : strlen(c->input);
    size_t bytes[64], cuts[2];
    char how[64];

    feed_cut(c, NULL, 0, "one read");
    for (size_t i = 0; i + 1 < n && i < 64; i++)
      bytes[i] = i + 1;
    feed_cut(c, bytes, n > 1 ? n - 1 : 0, "byte by byte");
    for (cuts[0] = 0; cuts[0] <= n; cuts[0]++)
      for (cuts[1] = cuts[0]; cuts[1] <= n; cuts[1]++) {
        snprintf(how, sizeof(how), "cut at %zu and %zu", cuts[0], cuts[1]);
        feed_cut(c, cuts, 2, how);
      }
  }
}

/* A peer that never sends a newline costs at most about max bytes. */
static void test_lines_bounded(void)
{
  lines_case_t c = { "bounded", "", 0, 1000, NULL, "", 0 };
  lines_run_t run = { &c, BASE_BUF_INIT };
  char chunk[4096];
  base_lines_t r;

  memset(chunk, 'x', sizeof(chunk));
  base_lines_init(&r, c.max, on_line);
  r.data = &run;
  for (int i = 0; i < 256; i++) {
    CU_ASSERT_EQUAL(base_lines_feed(&r, chunk, 300), 0);
    CU_ASSERT_TRUE(r.partial.cap <= 2 * c.max + 64);
  }
  CU_ASSERT_STRING_EQUAL(run.got.base, "E2BIG|");
  CU_ASSERT_TRUE(base_lines_pending(&r) > c.max);
  CU_ASSERT_EQUAL(base_lines_feed(&r, "\nok\n", 4), 0);
  CU_ASSERT_STRING_EQUAL(run.got.base, "E2BIG|ok|");
  CU_ASSERT_EQUAL(base_lines_pending(&r), 0);
  base_lines_free(&r);
  base_buf_free(&run.got);
}

/* The callback may free the reader when it stops it. */
static int free_and_stop(base_lines_t *r, int status, const char *line,
                         size_t len)
{
  int *calls = r->data;

  (*calls)++;
  CU_ASSERT_EQUAL(status, 0);
  CU_ASSERT_EQUAL(len, 6);
  CU_ASSERT_EQUAL(memcmp(line, "abcdef", 6), 0);
  base_lines_free(r);
  free(r);
  return 1;
}

static void test_lines_free_in_callback(void)
{
  base_lines_t *r = malloc(sizeof(*r));
  int calls = 0;

  CU_ASSERT_PTR_NOT_NULL_FATAL(r);
  base_lines_init(r, 100, free_and_stop);
  r->data = &calls;
  /* The line is cut between two reads, so it lives in the reader. */
  CU_ASSERT_EQUAL(base_lines_feed(r, "abc", 3), 0);
  CU_ASSERT_EQUAL(base_lines_feed(r, "def\nmore\n", 9), 1);
  CU_ASSERT_EQUAL(calls, 1);
}

/* ---------------------------------------------------------------------- */
/* Durations                                                               */

static void test_durations(void)
{
  static const struct {
    const char *text;
    int rc;
    int64_t ms;
  } rows[] = {
    {"150ms", 0, 150}, {"2s", 0, 2000},     {"1.5s", 0, 1500},
    {"1m", 0, 60000},  {"0ms", 0, 0},       {"60m", 0, 3600000},
    {"61m", UV_ERANGE, 0}, {"1", UV_EINVAL, 0}, {"ms", UV_EINVAL, 0},
    {"1.s", UV_EINVAL, 0}, {"-1s", UV_EINVAL, 0}, {"1h", UV_EINVAL, 0},
    {"", UV_EINVAL, 0},
  };

  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    int64_t ms = -1;
    int rc = base_duration_parse(rows[i].text, &ms);
    TEST_CHECK(rc == rows[i].rc, "%s: rc %d, want %d", rows[i].text, rc,
               rows[i].rc);
    if (rc == 0)
      TEST_CHECK(ms == rows[i].ms, "%s: %lld ms", rows[i].text,
                 (long long)ms);
  }
  CU_ASSERT_EQUAL(base_duration_parse(NULL, NULL), UV_EINVAL);
}

static CU_TestInfo signal_tests[] = {
  {"names and numbers", test_signal_table},
  {"the list", test_signal_names},
  {"the same as Node's", test_signals_are_nodes},
  CU_TEST_INFO_NULL,
};

static CU_TestInfo buf_tests[] = {
  {"buffer", test_buf},
  {"array", test_array_grow},
  {"durations", test_durations},
  CU_TEST_INFO_NULL,
};

static CU_TestInfo lines_tests[] = {
  {"every cut of the stream", test_lines},
  {"a runaway line is bounded", test_lines_bounded},
  {"freed by its callback", test_lines_free_in_callback},
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "signals", .pTests = signal_tests },
    { .pName = "buffers", .pTests = buf_tests },
    { .pName = "lines", .pTests = lines_tests },
    CU_SUITE_INFO_NULL,
  };

  return test_main(argc, argv, suites, NULL);
}
