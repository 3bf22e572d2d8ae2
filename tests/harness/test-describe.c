/*
 * docs/scenarios.md holds the reference tables that the loader's own
 * tables print (scenario_describe): each part between a
 * "<!-- NAME:begin -->" and a "<!-- NAME:end -->" line, exactly. A step
 * or expectation kind added, renamed or given another default without the
 * docs following fails here. With --write the test regenerates those
 * parts of the file instead.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "test-support.h"

static const char *doc_path;

static char *slurp(const char *path)
{
  FILE *f = path != NULL ? fopen(path, "r") : NULL;
  char *buf;
  long n;

  if (f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = calloc(1, (size_t)n + 1);
  if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  return buf;
}

static char *generate(scenario_doc_t part)
{
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);

  if (f == NULL)
    return NULL;
  if (scenario_describe(f, part) != 0) {
    fclose(f);
    free(text);
    return NULL;
  }
  fclose(f);
  return text;
}

/* Where the generated text of a part starts and ends in the docs. */
static int find_part(const char *doc, scenario_doc_t part, size_t *start,
                     size_t *end)
{
  char begin[64], stop[64];
  const char *b, *e;

  snprintf(begin, sizeof(begin), "<!-- %s:begin -->\n",
           scenario_doc_name(part));
  snprintf(stop, sizeof(stop), "<!-- %s:end -->\n", scenario_doc_name(part));
  b = strstr(doc, begin);
  e = strstr(doc, stop);
  if (b == NULL || e == NULL || e < b + strlen(begin) ||
      strstr(b + 1, begin) != NULL || strstr(e + 1, stop) != NULL)
    return -1;
  *start = (size_t)(b - doc) + strlen(begin);
  *end = (size_t)(e - doc);
  return 0;
}

/* The first line where two texts differ, to say what drifted. */
static void show_difference(const char *want, const char *got, size_t n)
{
  size_t i = 0, line = 1, from = 0;

  while (i < n && want[i] != '\0' && want[i] == got[i]) {
    if (want[i] == '\n') {
      line++;
      from = i + 1;
    }
    i++;
  }
  printf("\nfirst difference in line %zu of the part:\n  generated: %.*s\n"
         "  docs:      %.*s\n", line, (int)strcspn(want + from, "\n"),
         want + from, (int)strcspn(got + from, "\n"), got + from);
}

static void test_docs_match(void)
{
  char *doc = slurp(doc_path);
  size_t start, end;
  int part;

  CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
  for (part = 0; part < SCENARIO_DOC_COUNT; part++) {
    char *want = generate((scenario_doc_t)part);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    if (find_part(doc, (scenario_doc_t)part, &start, &end) != 0) {
      printf("\n%s: no single <!-- %s:begin --> ... <!-- %s:end -->\n",
             doc_path, scenario_doc_name(part), scenario_doc_name(part));
      CU_FAIL("markers missing");
    } else if (strlen(want) != end - start ||
               memcmp(want, doc + start, end - start) != 0) {
      show_difference(want, doc + start, end - start);
      printf("(regenerate with: test-describe --write %s)\n", doc_path);
      CU_FAIL("docs differ from the tables");
    }
    free(want);
  }
  free(doc);
}

/* Every kind of both vocabularies has its row, under its key. */
static void test_every_kind(void)
{
  char *steps = generate(SCENARIO_DOC_STEPS);
  char *expect = generate(SCENARIO_DOC_EXPECT);
  char row[96];
  int k;

  CU_ASSERT_PTR_NOT_NULL_FATAL(steps);
  CU_ASSERT_PTR_NOT_NULL_FATAL(expect);
  for (k = 0; k < SCENARIO_STEP_KIND_COUNT; k++) {
    snprintf(row, sizeof(row), "\n| `%s` | ",
             scenario_step_name((scenario_step_kind_t)k));
    CU_ASSERT_PTR_NOT_NULL(strstr(steps, row));
  }
#define XX(ID, name, key, doc)                                                \
  snprintf(row, sizeof(row), "\n| `%s` | ", key);                            \
  CU_ASSERT_PTR_NOT_NULL(strstr(expect, row));                               \
  CU_ASSERT_PTR_NOT_NULL(strstr(expect, doc));
  SCENARIO_EXPECT_MAP(XX)
#undef XX
  CU_ASSERT_EQUAL(scenario_describe(stdout, SCENARIO_DOC_COUNT), UV_EINVAL);
  CU_ASSERT_PTR_NULL(scenario_doc_name(SCENARIO_DOC_COUNT));
  free(steps);
  free(expect);
}

/* Rewrites the parts of the docs from the tables. */
static int write_docs(void)
{
  char *doc = slurp(doc_path);
  FILE *f;
  size_t start, end, at = 0;
  int part;

  if (doc == NULL)
    return 1;
  f = fopen(doc_path, "w");
  if (f == NULL) {
    free(doc);
    return 1;
  }
  for (part = 0; part < SCENARIO_DOC_COUNT; part++) {
    /* parts in the order they appear: the enum's order */
    if (find_part(doc, (scenario_doc_t)part, &start, &end) != 0 ||
        start < at) {
      fprintf(stderr, "%s: markers of '%s' missing or out of order\n",
              doc_path, scenario_doc_name(part));
      fwrite(doc + at, 1, strlen(doc + at), f);
      fclose(f);
      free(doc);
      return 1;
    }
    fwrite(doc + at, 1, start - at, f);
    scenario_describe(f, (scenario_doc_t)part);
    at = end;
  }
  fwrite(doc + at, 1, strlen(doc + at), f);
  free(doc);
  return fclose(f) == 0 ? 0 : 1;
}

static int write_role(const char *path)
{
  doc_path = path;
  return write_docs();
}

static CU_TestInfo describe_tests[] = {
  {"docs match the tables", test_docs_match},
  {"every kind", test_every_kind},
  CU_TEST_INFO_NULL,
};

/* docs/scenarios.md comes in $SCENARIOS_DOCS; `test-describe --write PATH`
 * regenerates its reference tables instead of testing them. */
int main(int argc, char **argv)
{
  static const test_role_t roles[] = {
    {"--write", write_role},
    TEST_ROLES_END,
  };
  CU_SuiteInfo suites[] = {
    { .pName = "describe", .pTests = describe_tests },
    CU_SUITE_INFO_NULL,
  };

  doc_path = getenv("SCENARIOS_DOCS");
  return test_main(argc, argv, suites, roles);
}
