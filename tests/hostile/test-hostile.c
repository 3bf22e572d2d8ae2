/*
 * Hostile scenario files: what an attacker or a broken generator would
 * write (invalid UTF-8 where libfyaml 0.7.12 hangs or stops reading,
 * control characters, unknown %YAML versions, duplicate keys, nesting,
 * sizes and counts past the bounds). Each must end, within 1 s of CPU
 * time, either in exactly the error lines its .err file gives, or (an
 * empty .err) in a scenario that holds every key of the file.
 *
 * scenarios/NAME.yaml are kept in the tree; the large ones are made here
 * (rows of `generated`). With --print the test shows what the loader says
 * of each file instead (to review a new case).
 */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostile.h"
#include "scenario.h"
#include "test-support.h"

static const char *corpus;
static int print_only;

/* CPU seconds of this process: a load bound that a busy machine does not
 * blur, and that a hang still breaks. */
static double cpu_now(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  base_buf_t b = BASE_BUF_INIT;
  char chunk[65536];
  size_t n;

  if (f == NULL)
    return NULL;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    if (base_buf_append(&b, chunk, n) != 0)
      break;
  fclose(f);
  *len = b.len;
  return base_buf_detach(&b);
}

/* Loads `text` as `name` and checks the outcome against `want` (the error
 * lines, or "" for a valid scenario). */
static void check_load(const char *name, const char *text, size_t len,
                       const char *want)
{
  base_diag_t diag;
  base_buf_t got = BASE_BUF_INIT;
  scenario_t *s = NULL;
  double t0 = cpu_now(), cpu;
  char why[256];
  size_t k;
  int rc;

  base_diag_init(&diag);
  rc = scenario_load_string(name, text, len, &diag, &s);
  cpu = cpu_now() - t0;
  for (k = 0; k < diag.count; k++)
    base_buf_appendf(&got, "%s\n", diag.lines[k]);
  if (print_only) {
    printf("== %s (rc %d, %.3f s)\n%s", name, rc, cpu,
           got.base ? got.base : "");
  } else {
    TEST_CHECK(cpu < 1.0, "%s: %.3f s of CPU time", name, cpu);
    TEST_CHECK(strcmp(want, got.base ? got.base : "") == 0,
               "%s:\n  expected:\n%s  got:\n%s", name, want,
               got.base ? got.base : "");
    if (want[0] != '\0')
      TEST_CHECK(rc != 0 && s == NULL, "%s: loaded (rc %d)", name, rc);
    else if (TEST_CHECK(rc == 0 && s != NULL, "%s: not loaded", name), s)
      TEST_CHECK(hostile_roundtrip(text, len, s, why, sizeof(why)) == 0,
                 "%s: loaded with bytes unread: %s", name, why);
  }
  scenario_free(s);
  base_diag_free(&diag);
  base_buf_free(&got);
}

static int is_yaml(const struct dirent *d)
{
  size_t n = strlen(d->d_name);

  return n > 5 && strcmp(d->d_name + n - 5, ".yaml") == 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
  return strcmp((*a)->d_name, (*b)->d_name);
}

static void corpus_body(void)
{
  struct dirent **names = NULL;
  int n, i;

  /* messages name the file as given: load from inside the corpus */
  if (chdir(corpus) != 0 || (n = scandir(".", &names, is_yaml, by_name)) < 30) {
    if (!print_only)
      TEST_CHECK(0, "the corpus %s is missing or has shrunk", corpus);
    return;
  }
  for (i = 0; i < n; i++) {
    const char *file = names[i]->d_name;
    char err[512], *text, *want;
    size_t len, wlen;

    snprintf(err, sizeof(err), "%.*s.err", (int)(strlen(file) - 5), file);
    text = slurp(file, &len);
    want = print_only ? strdup("") : slurp(err, &wlen);
    if (!print_only)
      TEST_CHECK(text != NULL && want != NULL, "%s: no %s", file, err);
    if (text != NULL && want != NULL)
      check_load(file, text, len, want);
    free(text);
    free(want);
    free(names[i]);
  }
  free(names);
}

/* A hang must fail the test, not stall it: the whole corpus runs in a
 * process of its own with a deadline. */
static void test_corpus(void)
{
  test_isolate(corpus_body, 20000, NULL);
}

/* ---------------------------------------------------------------------- */
/* Files too large for the tree                                            */

typedef struct {
  const char *name;
  void (*make)(base_buf_t *b, size_t n);
  size_t n;
  const char *want;        /* "%s" is the name; "" valid */
} generated_t;

static void env_keys(base_buf_t *b, size_t n)
{
  size_t i;

  base_buf_appends(b, "cluster:\n  workers: 1\n  env:\n");
  for (i = 0; i < n; i++)
    base_buf_appendf(b, "    K%zu: \"%zu\"\n", i, i);
  base_buf_appends(b, "steps: []\n");
}

static void env_keys_dup(base_buf_t *b, size_t n)
{
  env_keys(b, n);
  base_buf_appends(b, "cluster: {}\n");
}

static void comments(base_buf_t *b, size_t n)
{
  base_buf_appends(b, "steps: []\n");
  while (b->len + 81 <= n)
    base_buf_appendf(b, "#%79s\n", "");
  while (b->len < n)
    base_buf_appends(b, "#");
}

static void long_value(base_buf_t *b, size_t n)
{
  size_t i;

  base_buf_appends(b, "steps: []\ndescription: ");
  for (i = 0; i < n; i++)
    base_buf_appends(b, i % 10 == 9 ? " " : "x");
  base_buf_appends(b, "y\n");
}

static void many_values(base_buf_t *b, size_t n)
{
  size_t i;

  base_buf_appends(b, "cluster: {workers: 1}\nsteps:\n  - send: {worker: 1, "
                      "message: [");
  for (i = 0; i < n; i++)
    base_buf_appends(b, i ? ",1" : "1");
  base_buf_appends(b, "]}\n");
}

static void deep(base_buf_t *b, size_t n)
{
  size_t i;

  base_buf_appends(b, "steps: []\ndescription: ");
  for (i = 0; i < n; i++)
    base_buf_appends(b, "[");
  for (i = 0; i < n; i++)
    base_buf_appends(b, "]");
  base_buf_appends(b, "\n");
}

static void documents(base_buf_t *b, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    base_buf_appends(b, "---\nsteps: []\n");
}

static void unknown_keys(base_buf_t *b, size_t n)
{
  size_t i;

  base_buf_appends(b, "steps: []\n");
  for (i = 0; i < n; i++)
    base_buf_appendf(b, "k%zu: v\n", i);
}

static const generated_t generated[] = {
    {"keys-over-the-bound", env_keys, 20000,
     "%s:20001:5: error: a scenario holds at most 20000 keys\n"},
    {"keys-below-the-bound", env_keys, 19996, ""},
    {"duplicate-after-many-keys", env_keys_dup, 15000,
     "%s:15005:1: error: duplicate key\n"},
    {"over-one-mebibyte", comments, 1024 * 1024 + 1,
     "%s:1:1: error: a scenario is at most 1048576 bytes, this one has "
     "1048577\n"},
    {"one-mebibyte", comments, 1024 * 1024, ""},
    {"value-over-the-bound", long_value, 65535,
     "%s:2:14: error: a value is at most 65535 bytes, this one has 65536\n"},
    {"value-at-the-bound", long_value, 65534, ""},
    {"values-over-the-bound", many_values, 100000,
     "%s:3:200005: error: a scenario holds at most 100000 values (scalars, "
     "lists and mappings)\n"},
    {"nesting-ten-thousand", deep, 10000,
     "%s:2:45: error: nested deeper than 32 lists and mappings\n"},
    {"thousands-of-documents", documents, 5000,
     "%s:4:1: error: a scenario file holds one document, this one has "
     "more\n"},
    {"thousands-of-unknown-keys", unknown_keys, 10000, NULL},
};

static void test_generated(void)
{
  const generated_t *g = TEST_ROW(generated);
  base_buf_t text = BASE_BUF_INIT;
  char *want;

  g->make(&text, g->n);
  if (g->want == NULL) {
    /* as many messages as are useful, then silence: the first 20 */
    base_buf_t w = BASE_BUF_INIT;
    unsigned i;
    for (i = 0; i < 20; i++)
      base_buf_appendf(&w, "%s:%u:1: error: unknown key 'k%u' (expected "
                       "one of: name, description, tags, skip, targets, "
                       "timeout, cluster, worker, primary, oracle, steps, "
                       "expect) (at /k%u)\n", g->name, i + 2, i, i);
    want = base_buf_detach(&w);
  } else {
    want = base_asprintf(g->want, g->name);
  }
  check_load(g->name, text.base, text.len, want);
  free(want);
  base_buf_free(&text);
}

int main(int argc, char **argv)
{
  static CU_TestInfo gen_tests[sizeof(generated) / sizeof(generated[0]) + 1];
  static CU_TestInfo corpus_tests[] = {
      {"corpus", test_corpus},
      CU_TEST_INFO_NULL,
  };
  CU_SuiteInfo suites[] = {
      {.pName = "hostile", .pTests = corpus_tests},
      {.pName = "generated", .pTests = gen_tests},
      CU_SUITE_INFO_NULL,
  };

  if (argc < 2) {
    fprintf(stderr, "usage: test-hostile CORPUS_DIR [--print | TEST...]\n");
    return 99;
  }
  corpus = argv[1];
  print_only = argc > 2 && strcmp(argv[2], "--print") == 0;
  TEST_ROWS_FILL(gen_tests, generated, test_generated);
  if (print_only) {
    corpus_body();
    return 0;
  }
  return test_run(suites, argc - 2, argv + 2);
}
