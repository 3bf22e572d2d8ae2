/*
 * cli.c - the table of commands: `clustersim COMMAND ...` finds its row,
 * and `clustersim --help` is printed from it.
 */
#include "cli.h"
#include "cli-internal.h"

#include <string.h>

#include "config.h"

static int version_main(const cli_command_t *cmd, int argc, char **argv);
static int help_main(const cli_command_t *cmd, int argc, char **argv);

typedef struct {
  bool unused;
} no_args_t;

static const cli_option_t help_only[] = {CLI_HELP};

static const cli_command_t version_cmd = {
    "Other", "version", "", "print the version (also: --version)",
    NULL, NULL, help_only, 1, NULL, 0, NULL, version_main,
};

static const cli_exit_t top_exits[] = {
  {BASE_EXIT_USAGE, "bad command line, for every command (each command's\n"
                    "--help lists its other codes)"},
};

static const cli_command_t help_cmd = {
    "Other", "help", "[COMMAND]", "this text, or a command's (also: --help)",
    "usage: clustersim <command> [options]\n", NULL, help_only, 1,
    top_exits, 1,
    "\nFrom the source tree, ./setup.sh builds the binary as build/clustersim:\n"
    "  build/clustersim run scenarios/\n"
    "  build/clustersim run --help\n",
    help_main,
};

/* In the order of `clustersim --help`. */
static const cli_command_t *const commands[] = {
    &cli__run,          &cli__check,   &cli__list,   &cli__diff,
    &cli__matrix,
    &cli__explore,      &cli__report_merge, &cli__primary, &cli__worker,
    &version_cmd,       &help_cmd,
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Whether `word` is the first word of `name` ("report" of "report
 * merge"); *rest is what follows it ("merge", or ""). */
static bool first_word(const char *name, const char *word, const char **rest)
{
  size_t n = strlen(word);

  if (strncmp(name, word, n) != 0 || (name[n] != '\0' && name[n] != ' '))
    return false;
  *rest = name[n] == ' ' ? name + n + 1 : name + n;
  return true;
}

/* The row for argv; *words is how many of argv name it (1 or 2). NULL, and
 * *group true when argv[0] is the first word of a command, if none. */
static const cli_command_t *find(int argc, char **argv, int *words,
                                 bool *group)
{
  const char *rest;
  size_t i;

  *group = false;
  for (i = 0; i < N_COMMANDS; i++) {
    if (!first_word(commands[i]->name, argv[0], &rest))
      continue;
    *group = true;
    *words = rest[0] == '\0' ? 1 : 2;
    if (rest[0] == '\0' || (argc > 1 && strcmp(argv[1], rest) == 0))
      return commands[i];
  }
  return NULL;
}

/* The help of every command whose first word is `word` ("report"). */
static void group_help(const char *word, FILE *f)
{
  const char *rest;
  size_t i;

  for (i = 0; i < N_COMMANDS; i++)
    if (first_word(commands[i]->name, word, &rest))
      cli__help(commands[i], f);
}

static void top_help(FILE *f)
{
  const char *group = NULL;
  size_t i;

  fputs(help_cmd.usage, f);
  for (i = 0; i < N_COMMANDS; i++) {
    const cli_command_t *c = commands[i];
    if (group == NULL || strcmp(group, c->group) != 0)
      fprintf(f, "\n%s:\n", group = c->group);
    cli__help_row(f, c->name, 18, c->summary);
  }
  fputs("\n'clustersim COMMAND --help' lists a command's options.\n", f);
  fputs("\nExit codes:\n", f);
  for (i = 0; i < help_cmd.n_exits; i++) {
    char code[16];
    snprintf(code, sizeof(code), "%d", help_cmd.exits[i].code);
    cli__help_row(f, code, 4, help_cmd.exits[i].meaning);
  }
  fputs(help_cmd.epilogue, f);
}

static int version_main(const cli_command_t *cmd, int argc, char **argv)
{
  no_args_t a;
  int first, rc = cli__parse(cmd, argc, argv, &a, &first);

  if (rc != CLI__GO_ON)
    return rc;
  if (first < argc)
    return cli__usage_error(cmd, "takes no arguments, got '%s'",
                            argv[first]);
  printf("clustersim %s\n", CLUSTERSIM_VERSION);
  return BASE_EXIT_PASS;
}

/* `clustersim help [COMMAND]`. */
static int help_main(const cli_command_t *cmd, int argc, char **argv)
{
  const cli_command_t *c;
  bool group;
  int words;

  if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "-h") == 0) {
    top_help(stdout);
    return BASE_EXIT_PASS;
  }
  c = find(argc - 1, argv + 1, &words, &group);
  if (c == NULL && !group)
    return cli__usage_error(cmd, "no command '%s'", argv[1]);
  if (c == NULL)
    group_help(argv[1], stdout);
  else
    cli__help(c, stdout);
  return BASE_EXIT_PASS;
}

/* Every command name, for did-you-mean (first words only). */
static const char *const *command_names(void)
{
  static const char *names[N_COMMANDS + 1];
  size_t i;

  for (i = 0; i < N_COMMANDS; i++)
    names[i] = commands[i]->name;
  names[N_COMMANDS] = NULL;
  return names;
}

/* `clustersim report` without its second word, or with a wrong one. */
static int bad_subcommand(int argc, char **argv)
{
  const char *rest;
  size_t i;

  if (argc > 1 &&
      (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    group_help(argv[0], stdout);
    return BASE_EXIT_PASS;
  }
  fprintf(stderr, "clustersim %s: expected", argv[0]);
  for (i = 0; i < N_COMMANDS; i++)
    if (first_word(commands[i]->name, argv[0], &rest))
      fprintf(stderr, " '%s'", rest);
  if (argc > 1)
    fprintf(stderr, ", got '%s'", argv[1]);
  fprintf(stderr, "\nTry 'clustersim %s --help'.\n", argv[0]);
  return BASE_EXIT_USAGE;
}

static int unknown(int argc, char **argv, bool group)
{
  const char *guess;

  if (group)
    return bad_subcommand(argc, argv);
  guess = base_suggest(argv[0], command_names());
  fprintf(stderr, "clustersim: unknown command '%s'", argv[0]);
  if (guess != NULL)
    fprintf(stderr, " (did you mean '%s'?)", guess);
  fputs("\nTry 'clustersim --help'.\n", stderr);
  return BASE_EXIT_USAGE;
}

int cli_run(int argc, char **argv)
{
  const cli_command_t *c;
  bool group;
  int words;

  if (argc < 1 || argv[0] == NULL) {
    top_help(stderr);
    return BASE_EXIT_USAGE;
  }
  if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)
    return help_main(&help_cmd, 1, argv);
  if (strcmp(argv[0], "--version") == 0)
    return version_main(&version_cmd, 1, argv);
  c = find(argc, argv, &words, &group);
  if (c == NULL)
    return unknown(argc, argv, group);
  return c->main(c, argc - (words - 1), argv + (words - 1));
}
