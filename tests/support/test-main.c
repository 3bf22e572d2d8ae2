/*
 * test-main.c - the main() of every CUnit test program, table-driven
 * registration and checks (test-support.h).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "test-support.h"

static const test_role_t *test_find_role(int argc, char **argv,
                                         const test_role_t *roles)
{
  if (roles == NULL || argc != 3)
    return NULL;
  for (; roles->flag != NULL; roles++)
    if (strcmp(argv[1], roles->flag) == 0)
      return roles;
  return NULL;
}

int test_main(int argc, char **argv, CU_SuiteInfo *suites,
              const test_role_t *roles)
{
  const test_role_t *role = test_find_role(argc, argv, roles);

  if (role != NULL)
    return role->fn(argv[2]);
  return test_run(suites, argc > 1 ? argc - 1 : 0, argv + 1);
}

/* Runs the tests named in only[] (a suite's name runs all of it). */
static int test_run_named(int n, char **only)
{
  for (int a = 0; a < n; a++) {
    CU_pSuite s = CU_get_registry()->pSuite;
    int found = 0;

    for (; s != NULL; s = s->pNext) {
      CU_pTest t = CU_get_test(s, only[a]);
      if (strcmp(s->pName, only[a]) == 0) {
        CU_basic_run_suite(s);
        found = 1;
      } else if (t != NULL) {
        CU_basic_run_test(s, t);
        found = 1;
      }
    }
    if (!found) {
      fprintf(stderr, "no test or suite named '%s'\n", only[a]);
      return 99;
    }
  }
  return 0;
}

int test_run(CU_SuiteInfo *suites, int n, char **only)
{
  unsigned failed;
  int rc;

  /* Output interleaves with the peer processes' in meson's log. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  /* A peer that dies mid-case closes its end of a pipe or socket: that
   * must be an error code for the test, not a fatal signal. */
  signal(SIGPIPE, SIG_IGN);
  if (CU_initialize_registry() != CUE_SUCCESS)
    return 99;
  if (CU_register_suites(suites) != CUE_SUCCESS) {
    fprintf(stderr, "CU_register_suites: %s\n", CU_get_error_msg());
    CU_cleanup_registry();
    return 99;
  }
  CU_basic_set_mode(CU_BRM_VERBOSE);
  rc = 0;
  if (n > 0)
    rc = test_run_named(n, only);
  else
    /* A suite whose set-up fails is counted below, as a failure. */
    (void)CU_basic_run_tests();
  /* Read before CU_cleanup_registry(), which zeroes them. */
  failed = CU_get_number_of_suites_failed() +
           CU_get_number_of_tests_failed() + CU_get_number_of_failures();
  CU_cleanup_registry();
  if (rc != 0)
    return rc;
  return failed > 0 ? 1 : 0;
}

/* ---------------------------------------------------------------------- */
/* Table-driven tests                                                      */

static const char *test_row_name(const void *first_name, size_t stride,
                                 size_t i)
{
  const char *p = (const char *)first_name + i * stride;
  const char *name;

  memcpy(&name, p, sizeof(name));
  return name;
}

void test_rows_fill(CU_TestInfo *tests, const void *first_name,
                    size_t stride, size_t n, CU_TestFunc fn)
{
  for (size_t i = 0; i < n; i++) {
    tests[i].pName = test_row_name(first_name, stride, i);
    tests[i].pTestFunc = fn;
  }
  tests[n].pName = NULL;
  tests[n].pTestFunc = NULL;
}

size_t test_row_index(const void *first_name, size_t stride, size_t n)
{
  const char *running = test_name();

  for (size_t i = 0; i < n; i++)
    if (strcmp(test_row_name(first_name, stride, i), running) == 0)
      return i;
  fprintf(stderr, "no row named '%s'\n", running);
  abort();
}

const char *test_name(void)
{
  CU_pTest t = CU_get_current_test();

  return t != NULL && t->pName != NULL ? t->pName : "";
}

/* ---------------------------------------------------------------------- */
/* Checks                                                                  */

void test_check_impl(int ok, unsigned line, const char *file,
                     const char *cond, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;

  if (ok) {
    CU_assertImplementation(CU_TRUE, line, cond, file, "", CU_FALSE);
    return;
  }
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  CU_assertImplementation(CU_FALSE, line, msg, file, "", CU_FALSE);
}
