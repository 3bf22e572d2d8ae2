/*
 * main.c - `clustersim`: one binary, re-executed in every role.
 *
 * The primary forks `clustersim worker`, the harness starts
 * `clustersim primary`: main() only picks the role from argv[1].
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "primary.h"
#include "worker.h"
#include "suite.h"
#include "report.h"

static void usage(FILE *f)
{
  fprintf(f,
          "usage: clustersim <command> [options]\n"
          "\n"
          "Scenarios:\n"
          "  run [PATH...]      run scenarios against a target (see run --help)\n"
          "  check [PATH...]    validate scenarios without running them\n"
          "  list [PATH...]     list scenarios\n"
          "  diff [PATH...]     run scenarios on two targets and compare them\n"
          "                     worker by worker (or: diff A.jsonl B.jsonl)\n"
          "  report merge ...   merge JUnit reports of sharded runs\n"
          "\n"
          "Roles (started by clustersim itself or by a cluster primary):\n"
          "  primary            the builtin primary agent (docs/protocol.md)\n"
          "  worker [options]   a cluster worker (docs/protocol.md §4)\n"
          "\n"
          "  version            print the version\n");
}

/* Node's cluster runs `execPath exec args...`: a Node primary that sets
 * both to this binary starts us with our own path as argv[1]. */
static int is_self(const char *path)
{
  char a[PATH_MAX], b[PATH_MAX];

  if (strchr(path, '/') == NULL || realpath(path, a) == NULL ||
      realpath("/proc/self/exe", b) == NULL)
    return 0;
  return strcmp(a, b) == 0;
}

int main(int argc, char **argv)
{
  const char *cmd;

  if (argc > 1 && is_self(argv[1])) {
    argv[1] = argv[0];
    argv++;
    argc--;
  }
  cmd = argc > 1 ? argv[1] : NULL;
  if (cmd == NULL) {
    usage(stderr);
    return 2;
  }
  if (strcmp(cmd, "worker") == 0)
    return worker_main(argc - 2, argv + 2);
  if (strcmp(cmd, "primary") == 0)
    return primary_main(argc - 2, argv + 2);
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
    printf("clustersim %s\n", CLUSTERSIM_VERSION);
    return 0;
  }
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
      strcmp(cmd, "-h") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "run") == 0 || strcmp(cmd, "check") == 0 ||
      strcmp(cmd, "list") == 0 || strcmp(cmd, "diff") == 0)
    return suite_cli_main(argc - 1, argv + 1);
  if (strcmp(cmd, "report") == 0)
    return report_cli_main(argc - 1, argv + 1);
  fprintf(stderr, "clustersim: unknown command '%s'\n", cmd);
  usage(stderr);
  return 2;
}
