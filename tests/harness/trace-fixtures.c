/* Helpers of the oracle's and the expectations' table-driven tests. */
#include "trace-fixtures.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fixture_trace(trace_t *tr, const char *text, bool complete)
{
  base_diag_t diag;
  size_t i;

  trace_init(tr, 0);
  base_diag_init(&diag);
  CU_ASSERT_EQUAL(trace_parse(text, tr, &diag), 0);
  for (i = 0; i < diag.count; i++)
    printf("\n%s\n", diag.lines[i]);
  base_diag_free(&diag);
  tr->complete = complete;
}

static void show(const char *name, const oracle_findings_t *f,
                 const char *const *expected, size_t want)
{
  size_t k;

  printf("\ncase '%s':\n  expected %zu finding(s):\n", name, want);
  for (k = 0; k < want; k++)
    printf("    %s\n", expected[k]);
  printf("  got %zu:\n", f->count);
  for (k = 0; k < f->count; k++)
    printf("    %s[%s] %s\n",
           f->items[k].kind == ORACLE_FINDING_FAIL ? "" : "(inconclusive) ",
           f->items[k].rule, f->items[k].message);
}

bool fixture_findings_are(const char *name, const oracle_findings_t *f,
                          const char *const *expected,
                          oracle_finding_kind_t kind)
{
  size_t want = 0, k;
  bool same;

  while (expected[want] != NULL)
    want++;
  same = f->count == want;
  for (k = 0; same && k < want; k++)
    same = strcmp(f->items[k].message, expected[k]) == 0 &&
           f->items[k].kind == kind && f->items[k].rule[0] != '\0';
  if (!same)
    show(name, f, expected, want);
  return same;
}

char *fixture_write_temp(const char *text)
{
  char *path = strdup("/tmp/clustersim-test-XXXXXX");
  size_t len = strlen(text);
  bool ok;
  int fd;

  if (path == NULL)
    return NULL;
  fd = mkstemp(path);
  if (fd < 0) {
    free(path);
    return NULL;
  }
  ok = write(fd, text, len) == (ssize_t)len;
  if (close(fd) != 0)
    ok = false;
  if (ok)
    return path;
  unlink(path);
  free(path);
  return NULL;
}
