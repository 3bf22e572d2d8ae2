/*
 * The malformed-scenario corpus (libfyaml test-errors style): every
 * malformed/NAME.yaml must be rejected with exactly the lines of
 * malformed/NAME.err, and never crash the loader. With --print the test
 * shows what the loader says for each file instead (to review a new case).
 */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario.h"
#include "test-support.h"

static const char *corpus;
static const char *scenarios;
static int print_only;

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "r");
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

static int by_name(const struct dirent **a, const struct dirent **b)
{
  return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_yaml(const struct dirent *d)
{
  size_t n = strlen(d->d_name);
  return n > 5 && strcmp(d->d_name + n - 5, ".yaml") == 0;
}

static void test_corpus(void)
{
  struct dirent **names = NULL;
  int n, i, checked = 0;

  /* messages name the file as given: load from inside the corpus */
  CU_ASSERT_FATAL(chdir(corpus) == 0);
  n = scandir(".", &names, is_yaml, by_name);
  CU_ASSERT_FATAL(n > 0);
  for (i = 0; i < n; i++) {
    const char *file = names[i]->d_name;
    base_diag_t diag;
    scenario_t *s = NULL;
    char err_path[512], *want, got[8192];
    size_t used = 0, k;
    int rc;

    base_diag_init(&diag);
    rc = scenario_load(file, &diag, &s);
    got[0] = '\0';
    for (k = 0; k < diag.count && used < sizeof(got) - 1; k++)
      used += (size_t)snprintf(got + used, sizeof(got) - used, "%s\n",
                               diag.lines[k]);
    if (print_only) {
      printf("== %s (rc %d)\n%s", file, rc, got);
    } else {
      snprintf(err_path, sizeof(err_path), "%.*s.err",
               (int)(strlen(file) - 5), file);
      want = slurp(err_path);
      if (want == NULL)
        printf("\n%s: no %s\n", file, err_path);
      CU_ASSERT_PTR_NOT_NULL(want);
      CU_ASSERT(rc != 0);
      CU_ASSERT_PTR_NULL(s);
      if (want != NULL && strcmp(want, got) != 0) {
        printf("\n%s:\n  expected:\n%s  got:\n%s", file, want, got);
        CU_FAIL("error text differs");
      }
      free(want);
      checked++;
    }
    scenario_free(s);
    base_diag_free(&diag);
    free(names[i]);
  }
  free(names);
  /* the corpus itself must not shrink below what the project promises */
  if (!print_only)
    CU_ASSERT(checked >= 30);
}

/* Damaged copies of the bundled scenarios (cut short, one byte replaced)
 * must each be loaded or rejected with an error, never crash or hang. */
static void test_mutations(void)
{
  static const char bytes[] = " :-[]{}!&*#|>'\"\t\n,?%@`0x";
  struct dirent **names = NULL;
  int n, i;
  unsigned loads = 0;

  if (scenarios == NULL)
    return;
  n = scandir(scenarios, &names, is_yaml, by_name);
  CU_ASSERT_FATAL(n > 0);
  for (i = 0; i < n; i++) {
    char path[1024], *text;
    size_t len, pos;
    unsigned k = 0;

    snprintf(path, sizeof(path), "%s/%s", scenarios, names[i]->d_name);
    text = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    len = strlen(text);
    for (pos = 0; pos < len; pos += 5) {
      char *copy = strdup(text);
      base_diag_t diag;
      scenario_t *s = NULL;
      int rc, cut = (pos / 5) % 2 == 0;

      CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
      if (cut)
        copy[pos] = '\0';
      else
        copy[pos] = bytes[k++ % (sizeof(bytes) - 1)];
      base_diag_init(&diag);
      rc = scenario_load_string(names[i]->d_name, copy,
                                        strlen(copy), &diag, &s);
      /* either a scenario, or at least one message: never silence */
      CU_ASSERT((rc == 0 && s != NULL) || (rc != 0 && diag.count > 0));
      scenario_free(s);
      base_diag_free(&diag);
      free(copy);
      loads++;
    }
    free(text);
    free(names[i]);
  }
  free(names);
  CU_ASSERT(loads > 1000);
}

static CU_TestInfo malformed_tests[] = {
  {"corpus", test_corpus},
  {"mutations", test_mutations},
  CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "malformed", .pTests = malformed_tests },
    CU_SUITE_INFO_NULL,
  };

  if (argc < 2) {
    fprintf(stderr, "usage: test-malformed CORPUS_DIR [SCENARIOS_DIR | --print]\n");
    return 99;
  }
  corpus = argv[1];
  print_only = argc > 2 && strcmp(argv[2], "--print") == 0;
  if (argc > 2 && !print_only)
    scenarios = argv[2];
  return test_run(suites, 0, NULL);
}
