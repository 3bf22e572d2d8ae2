/*
 * report-cli.c - what `clustersim report` (cli/cli-report.c) needs from the
 * module beyond the writers: the words for a merge that failed, which
 * name libxml2 and why it could not be loaded (report-libxml.h).
 */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *no_libxml(void)
{
  static const char fmt[] = "needs libxml2 (%s), which could not be "
                            "loaded: %s\n  install it (Debian/Ubuntu: apt "
                            "install libxml2)";
  const char *err = report_libxml_error();
  int n;
  char *s;

  if (err == NULL)
    err = "unknown error";
  n = snprintf(NULL, 0, fmt, REPORT_LIBXML_SONAME, err);
  s = n < 0 ? NULL : malloc((size_t)n + 1);
  if (s != NULL)
    snprintf(s, (size_t)n + 1, fmt, REPORT_LIBXML_SONAME, err);
  return s;
}

char *report_junit_merge_strerror(int rc)
{
  switch (rc) {
  case UV_ENOSYS:
    return no_libxml();
  case UV_EINVAL:
    return strdup("an input is not a JUnit file");
  case UV_EIO:
    return strdup("an input is missing or not well-formed XML");
  default:
    return strdup(uv_strerror(rc));
  }
}
