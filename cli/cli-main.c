/*
 * cli-main.c - `clustersim`: one binary, re-executed in every role. main()
 * only puts argv in the shape cli_run reads (cli/cli.c).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
  if (argc > 1 && is_self(argv[1])) {
    argv[1] = argv[0];
    argv++;
    argc--;
  }
  return cli_run(argc - 1, argv + 1);
}
