/*
 * report-cli.c - `clustersim report ...`: merging the JUnit files of
 * sharded runs. An entry point like main(), so it may print (to stderr).
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
  fputs("usage: clustersim report merge [--strict] A.xml B.xml ... "
        "-o ALL.xml\n"
        "  Merges JUnit files (e.g. of --shard I/N runs) into one; counts\n"
        "  are recomputed from the test cases.\n"
        "  --strict  keep only what junit-10.xsd allows (drops testcase\n"
        "            file/line/properties)\n",
        f);
}

static int merge_main(int argc, char **argv)
{
  const char **inputs = NULL, *output = NULL;
  bool strict = false, opts = true;
  size_t n = 0;
  int i, rc, status = 2;

  inputs = calloc((size_t)argc, sizeof(*inputs));
  if (inputs == NULL) {
    fputs("clustersim report merge: out of memory\n", stderr);
    return 1;
  }
  for (i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (opts && strcmp(a, "--") == 0) {
      opts = false;
    } else if (opts && (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)) {
      if (++i == argc) {
        fprintf(stderr, "clustersim report merge: %s needs a file\n", a);
        goto out;
      }
      output = argv[i];
    } else if (opts && strncmp(a, "--output=", 9) == 0) {
      output = a + 9;
    } else if (opts && strcmp(a, "--strict") == 0) {
      strict = true;
    } else if (opts && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
      usage(stdout);
      status = 0;
      goto out;
    } else if (opts && a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "clustersim report merge: unknown option %s\n", a);
      goto out;
    } else {
      inputs[n++] = a;
    }
  }
  if (output == NULL || n == 0) {
    usage(stderr);
    goto out;
  }
  rc = report_junit_merge(inputs, n, output, strict);
  if (rc == UV_ENOSYS) {
    /* libxml2 is loaded only here, so this is where a missing one shows. */
    fprintf(stderr,
            "clustersim report merge: needs libxml2 (%s), which could not "
            "be loaded: %s\n"
            "  install it (Debian/Ubuntu: apt install libxml2)\n",
            REPORT_LIBXML_SONAME,
            report_libxml_error() ? report_libxml_error() : "unknown error");
    status = 1;
    goto out;
  }
  if (rc) {
    fprintf(stderr, "clustersim report merge: %s: %s\n", output,
            rc == UV_EINVAL ? "an input is not a JUnit file"
            : rc == UV_EIO  ? "an input is missing or not well-formed XML"
                            : uv_strerror(rc));
    status = 1;
    goto out;
  }
  status = 0;
out:
  free(inputs);
  return status;
}

int report_cli_main(int argc, char **argv)
{
  if (argc >= 2 && strcmp(argv[1], "merge") == 0)
    return merge_main(argc, argv);
  if (argc >= 2 &&
      (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    usage(stdout);
    return 0;
  }
  usage(stderr);
  return 2;
}
