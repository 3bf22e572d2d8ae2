/*
 * cli-opts.c - the option tables read two ways: getopt_long parses the
 * command line by them, and --help is printed from them.
 */
#include "cli-internal.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Options of one command, at most. */
#define MAX_OPTIONS 64
/* getopt_long's value for row i of a table (past every char). */
#define ROW_VALUE(i) (256 + (int)(i))

static void *at(void *opts, size_t offset)
{
  return (char *)opts + offset;
}

static bool takes_value(const cli_option_t *o)
{
  return o->arg != CLI_ARG_FLAG && o->arg != CLI_ARG_HELP;
}

int cli__push(const char ***list, size_t *n, const char *s)
{
  const char **bigger = realloc(*list, (*n + 2) * sizeof(**list));

  if (bigger == NULL)
    return UV_ENOMEM;
  bigger[(*n)++] = s;
  bigger[*n] = NULL;
  *list = bigger;
  return 0;
}

int cli__usage_error(const cli_command_t *cmd, const char *fmt, ...)
{
  va_list ap;

  fprintf(stderr, "clustersim %s: ", cmd->name);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'clustersim %s --help'.\n", cmd->name);
  return BASE_EXIT_USAGE;
}

/* -j for a row with a short name, else --name: what bad values are told. */
static const char *shown_name(const cli_option_t *o, char *buf, size_t len)
{
  if (o->short_name != '\0')
    snprintf(buf, len, "-%c", o->short_name);
  else
    snprintf(buf, len, "--%s", o->name);
  return buf;
}

/* Numbers as strtoull reads them (0x.. and 0.. too), never negative. */
static bool parse_u64(const char *s, uint64_t *out)
{
  char *end;
  unsigned long long v;

  if (s == NULL || *s == '\0' || *s == '-')
    return false;
  errno = 0;
  v = strtoull(s, &end, 0);
  if (errno != 0 || *end != '\0')
    return false;
  *out = v;
  return true;
}

static bool store_number(const cli_option_t *o, const char *arg, void *opts)
{
  uint64_t u;
  unsigned i, n;
  double d;
  char *end;

  switch (o->arg) {
  case CLI_ARG_UINT:
    if (!parse_u64(arg, &u) || u < o->min || u > o->max)
      return false;
    *(unsigned *)at(opts, o->offset) = (unsigned)u;
    return true;
  case CLI_ARG_U64:
    if (!parse_u64(arg, &u))
      return false;
    *(uint64_t *)at(opts, o->offset) = u;
    *(bool *)at(opts, o->offset2) = true;
    return true;
  case CLI_ARG_DOUBLE:
    d = strtod(arg, &end);
    /* written so that NaN is out of range too */
    if (*end != '\0' || !(d >= o->min && d <= o->max))
      return false;
    *(double *)at(opts, o->offset) = d;
    return true;
  case CLI_ARG_SHARD:
    if (sscanf(arg, "%u/%u", &i, &n) != 2 || n == 0 || i == 0 || i > n)
      return false;
    *(unsigned *)at(opts, o->offset) = i;
    *(unsigned *)at(opts, o->offset2) = n;
    return true;
  default:
    return false;
  }
}

/* Stores one option; returns CLI__GO_ON or an exit code. */
static int store(const cli_command_t *cmd, const cli_option_t *o,
                 const char *arg, void *opts)
{
  char name[64];

  switch (o->arg) {
  case CLI_ARG_FLAG:
    *(bool *)at(opts, o->offset) = true;
    return CLI__GO_ON;
  case CLI_ARG_STRING:
    *(const char **)at(opts, o->offset) = arg;
    return CLI__GO_ON;
  case CLI_ARG_LIST:
    return cli__push((const char ***)at(opts, o->offset),
                     (size_t *)at(opts, o->offset2), arg) == 0
               ? CLI__GO_ON
               : BASE_EXIT_INTERNAL;
  case CLI_ARG_HELP:
    cli__help(cmd, stdout);
    return BASE_EXIT_PASS;
  default:
    if (store_number(o, arg, opts))
      return CLI__GO_ON;
    return cli__usage_error(cmd, "%s wants %s, got '%s'",
                            shown_name(o, name, sizeof(name)), o->wants, arg);
  }
}

/* getopt_long's tables from the command's: long options return
 * ROW_VALUE(row), short ones their letter. */
static void getopt_tables(const cli_command_t *cmd, struct option *longs,
                          char *shorts)
{
  size_t i, k = 0, s = 0;

  /* a leading ':' makes a missing value ':' rather than '?' */
  shorts[s++] = ':';
  for (i = 0; i < cmd->n_options && k < MAX_OPTIONS; i++) {
    const cli_option_t *o = &cmd->options[i];
    if (o->name == NULL)
      continue;
    longs[k].name = o->name;
    longs[k].has_arg = takes_value(o) ? required_argument : no_argument;
    longs[k].flag = NULL;
    longs[k].val = ROW_VALUE(i);
    k++;
    if (o->short_name != '\0') {
      shorts[s++] = o->short_name;
      if (takes_value(o))
        shorts[s++] = ':';
    }
  }
  memset(&longs[k], 0, sizeof(longs[k]));
  shorts[s] = '\0';
}

static const cli_option_t *row_of(const cli_command_t *cmd, int c)
{
  size_t i;

  if (c >= ROW_VALUE(0) && c < ROW_VALUE(cmd->n_options))
    return &cmd->options[c - ROW_VALUE(0)];
  for (i = 0; i < cmd->n_options; i++)
    if (cmd->options[i].name != NULL && cmd->options[i].short_name == c)
      return &cmd->options[i];
  return NULL;
}

int cli__parse(const cli_command_t *cmd, int argc, char **argv, void *opts,
               int *operands)
{
  struct option longs[MAX_OPTIONS + 1];
  char shorts[2 * MAX_OPTIONS + 2];
  int c, ret = CLI__GO_ON;

  getopt_tables(cmd, longs, shorts);
  /* 0, not 1: glibc then starts afresh, also after an earlier command of
   * the same process */
  optind = 0;
  opterr = 0;
  while (ret == CLI__GO_ON &&
         (c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
    const cli_option_t *o = row_of(cmd, c);
    if (c == ':')
      ret = cli__usage_error(cmd, "option '%s' needs a value",
                             argv[optind - 1]);
    else if (o == NULL)
      ret = cli__usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
    else
      ret = store(cmd, o, optarg, opts);
  }
  *operands = optind;
  return ret;
}

void cli__free(const cli_command_t *cmd, void *opts)
{
  size_t i;

  for (i = 0; i < cmd->n_options; i++)
    if (cmd->options[i].name != NULL && cmd->options[i].arg == CLI_ARG_LIST) {
      const char ***list = at(opts, cmd->options[i].offset);
      free(*list);
      *list = NULL;
      *(size_t *)at(opts, cmd->options[i].offset2) = 0;
    }
}

/* ---------------------------------------------------------------------- */
/* --help                                                                  */

void cli__help_row(FILE *f, const char *label, int width, const char *text)
{
  const char *nl;

  fprintf(f, "  %-*s ", width, label);
  while ((nl = strchr(text, '\n')) != NULL) {
    fprintf(f, "%.*s\n%*s", (int)(nl - text), text, width + 3, "");
    text = nl + 1;
  }
  fprintf(f, "%s\n", text);
}

static void help_options(const cli_command_t *cmd, FILE *f)
{
  size_t i;

  for (i = 0; i < cmd->n_options; i++) {
    const cli_option_t *o = &cmd->options[i];
    char label[64];
    int n = 0;
    if (o->section != NULL) {
      fprintf(f, "\n%s:\n", o->section);
      continue;
    }
    if (o->short_name != '\0')
      n = snprintf(label, sizeof(label), "-%c, ", o->short_name);
    snprintf(label + n, sizeof(label) - (size_t)n, "--%s%s%s", o->name,
             o->metavar ? " " : "", o->metavar ? o->metavar : "");
    cli__help_row(f, label, 18, o->help);
  }
}

void cli__help(const cli_command_t *cmd, FILE *f)
{
  size_t i;

  if (cmd->usage != NULL)
    fputs(cmd->usage, f);
  else
    fprintf(f, "usage: clustersim %s%s%s\n", cmd->name,
            cmd->synopsis[0] ? " " : "", cmd->synopsis);
  if (cmd->about != NULL)
    fprintf(f, "\n%s", cmd->about);
  if (cmd->n_options > 0 && cmd->options[0].section == NULL)
    fputs("\nOptions:\n", f);
  help_options(cmd, f);
  if (cmd->n_exits > 0)
    fputs("\nExit codes:\n", f);
  for (i = 0; i < cmd->n_exits; i++) {
    char code[16];
    snprintf(code, sizeof(code), "%d", cmd->exits[i].code);
    cli__help_row(f, code, 4, cmd->exits[i].meaning);
  }
  if (cmd->epilogue != NULL)
    fputs(cmd->epilogue, f);
}

char *cli__command_line(int argc, char **argv)
{
  base_buf_t b = BASE_BUF_INIT;

  base_buf_appends(&b, "clustersim");
  for (int i = 0; i < argc; i++)
    base_buf_appendf(&b, " %s", argv[i]);
  return base_buf_detach(&b);
}

char *cli__find_self(const char *given)
{
  char buf[4096];
  size_t len = sizeof(buf);
  const char *env = getenv("CLUSTERSIM_BIN");

  if (given != NULL)
    return strdup(given);
  if (env != NULL && env[0] != '\0')
    return strdup(env);
  if (uv_exepath(buf, &len) == 0)
    return strdup(buf);
  return strdup("clustersim");
}
