/*
 * cli-report.c - `clustersim report merge`: the JUnit files of sharded
 * runs merged into one (report_junit_merge).
 */
#include "cli-internal.h"

#include <stdlib.h>
#include <string.h>

#include "report.h"

typedef struct {
  const char *output;
  bool strict;
} merge_args_t;

#define M merge_args_t
static const cli_option_t merge_options[] = {
  CLI_STRING(M, output, 'o', "output", "FILE",
             "the merged file (written atomically)"),
  CLI_FLAG(M, strict, 0, "strict",
           "keep only what junit-10.xsd allows (drops testcase\n"
           "file/line/properties)"),
  CLI_HELP,
};
#undef M

static const cli_exit_t merge_exits[] = {
  {BASE_EXIT_PASS, "merged"},
  {BASE_EXIT_FAIL, "an input is missing, not well-formed or not JUnit, the\n"
      "output cannot be written, or libxml2 cannot be loaded"},
  {BASE_EXIT_USAGE, "bad command line"},
};

static int merge_main(const cli_command_t *cmd, int argc, char **argv);

const cli_command_t cli__report_merge = {
    "Reports",
    "report merge",
    "[--strict] A.xml B.xml ... -o ALL.xml",
    "merge the JUnit files of sharded runs",
    NULL,
    "Merges JUnit files (e.g. of --shard I/N runs) into one; counts\n"
    "are recomputed from the test cases.\n",
    merge_options,
    sizeof(merge_options) / sizeof(merge_options[0]),
    merge_exits,
    sizeof(merge_exits) / sizeof(merge_exits[0]),
    NULL,
    merge_main,
};

static int merge_main(const cli_command_t *cmd, int argc, char **argv)
{
  merge_args_t a;
  char *why;
  int first, rc;

  memset(&a, 0, sizeof(a));
  rc = cli__parse(cmd, argc, argv, &a, &first);
  if (rc != CLI__GO_ON)
    return rc;
  if (a.output == NULL || first >= argc)
    return cli__usage_error(cmd, "needs JUnit files to merge and -o FILE");
  rc = report_junit_merge((const char *const *)(argv + first),
                          (size_t)(argc - first), a.output, a.strict);
  if (rc == 0)
    return BASE_EXIT_PASS;
  why = report_junit_merge_strerror(rc);
  /* libxml2 is loaded only here, so this is where a missing one shows */
  if (rc == UV_ENOSYS)
    fprintf(stderr, "clustersim report merge: %s\n",
            why ? why : uv_strerror(rc));
  else
    fprintf(stderr, "clustersim report merge: %s: %s\n", a.output,
            why ? why : uv_strerror(rc));
  free(why);
  return BASE_EXIT_FAIL;
}
