/*
 * cli-internal.h - the tables cli/ is made of, and the parser that reads
 * them.
 *
 * Every command is one cli_command_t: its name, synopsis, help text, exit
 * codes, its table of options and its entry point. Every option is one
 * cli_option_t row: name, argument kind, destination (an offset into the
 * command's own options struct), and help line. The parser
 * (cli__parse, on getopt_long) and --help (cli__help) both read the rows,
 * so an option is added by adding a row.
 */
#ifndef CLI_INTERNAL_H
#define CLI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base.h"

/* What an option's argument is, and how it is stored at its destination. */
typedef enum {
  CLI_ARG_FLAG,   /* no argument; bool = true */
  CLI_ARG_STRING, /* const char * = the argument (borrowed from argv) */
  CLI_ARG_LIST,   /* appended to a const char ** array (malloc'ed, NULL
                     terminated); its size_t count at `offset2` */
  CLI_ARG_UINT,   /* unsigned, from `min` to `max` */
  CLI_ARG_U64,    /* uint64_t; the bool at `offset2` says it was given */
  CLI_ARG_DOUBLE, /* double, from `min` to `max` */
  CLI_ARG_SHARD,  /* "I/N" with 1 <= I <= N: unsigned I, unsigned N at
                     `offset2` */
  CLI_ARG_HELP    /* no argument; prints the command's --help, exits 0 */
} cli_arg_t;

typedef struct {
  const char *section; /* non-NULL: a heading of --help before this row */
  const char *name;    /* the long name, without "--" */
  char short_name;     /* '\0': none */
  cli_arg_t arg;
  const char *metavar; /* the argument in --help ("N", "FILE"), or NULL */
  size_t offset;       /* destination in the command's options struct */
  size_t offset2;      /* second destination (see cli_arg_t), or 0 */
  double min, max;     /* CLI_ARG_UINT, CLI_ARG_DOUBLE */
  const char *wants;   /* said of a bad value: "-j wants 1 to 64" */
  const char *help;    /* the --help text; '\n' goes on a new line */
} cli_option_t;

/* The offset of `field` in `type`, which must be of C type `ctype`: a row
 * of the wrong kind does not compile. */
#define CLI_OFF(type, field, ctype)                                           \
  (offsetof(type, field) +                                                    \
   0 * sizeof(_Generic(((type *)0)->field, ctype: 1)))

/* Rows, by kind. T is the command's options struct. */
#define CLI_FLAG(T, f, sh, name, help)                                        \
  {NULL, name, sh, CLI_ARG_FLAG, NULL, CLI_OFF(T, f, bool), 0, 0, 0, NULL,    \
   help}
#define CLI_STRING(T, f, sh, name, meta, help)                                \
  {NULL, name, sh, CLI_ARG_STRING, meta, CLI_OFF(T, f, const char *), 0, 0,   \
   0, NULL, help}
#define CLI_LIST(T, f, n, name, meta, help)                                   \
  {NULL, name, 0, CLI_ARG_LIST, meta, CLI_OFF(T, f, const char **),          \
   CLI_OFF(T, n, size_t), 0, 0, NULL, help}
#define CLI_UINT(T, f, sh, name, meta, lo, hi, wants, help)                  \
  {NULL, name, sh, CLI_ARG_UINT, meta, CLI_OFF(T, f, unsigned), 0, lo, hi,    \
   wants, help}
#define CLI_U64(T, f, set, name, meta, wants, help)                           \
  {NULL, name, 0, CLI_ARG_U64, meta, CLI_OFF(T, f, uint64_t),                \
   CLI_OFF(T, set, bool), 0, 0, wants, help}
#define CLI_DOUBLE(T, f, name, meta, lo, hi, wants, help)                     \
  {NULL, name, 0, CLI_ARG_DOUBLE, meta, CLI_OFF(T, f, double), 0, lo, hi,     \
   wants, help}
#define CLI_SHARD(T, i, n, name, meta, wants, help)                           \
  {NULL, name, 0, CLI_ARG_SHARD, meta, CLI_OFF(T, i, unsigned),              \
   CLI_OFF(T, n, unsigned), 0, 0, wants, help}
#define CLI_HELP                                                              \
  {NULL, "help", 'h', CLI_ARG_HELP, NULL, 0, 0, 0, 0, NULL,                   \
   "this text"}
/* A heading of --help before the rows that follow. */
#define CLI_SECTION(title)                                                    \
  {title, NULL, 0, CLI_ARG_FLAG, NULL, 0, 0, 0, 0, NULL, NULL}

/* An exit code of a command, for its --help. */
typedef struct {
  int code;            /* a BASE_EXIT_* (or a role's own, docs/protocol.md) */
  const char *meaning; /* '\n' goes on a new line */
} cli_exit_t;

typedef struct cli_command_s cli_command_t;

struct cli_command_s {
  const char *group;    /* heading in `clustersim --help` */
  const char *name;     /* "run", "report merge" */
  const char *synopsis; /* "[options] [PATH...]" */
  const char *summary;  /* its line in `clustersim --help` */
  const char *usage;    /* the top of its --help; NULL: "usage: clustersim
                           NAME SYNOPSIS" */
  const char *about;    /* the paragraph under the usage, or NULL */
  const cli_option_t *options;
  size_t n_options;
  const cli_exit_t *exits;
  size_t n_exits;
  const char *epilogue; /* after the exit codes, or NULL */
  /* argv[0] is the command's last word; argc >= 1. Returns the exit code. */
  int (*main)(const cli_command_t *cmd, int argc, char **argv);
};

/* The commands (cli-suite.c, cli-report.c, cli-agent.c). */
extern const cli_command_t cli__run, cli__check, cli__list, cli__diff,
    cli__matrix;
extern const cli_command_t cli__report_merge;
extern const cli_command_t cli__explore;
extern const cli_command_t cli__primary, cli__worker;

/* cli__parse's "no exit yet: go on with the command". */
#define CLI__GO_ON (-1)

/* Parses argv (argv[0]: the command's last word) by cmd->options into
 * `opts`, the command's options struct, zeroed or set to its defaults by
 * the caller. The operands (non-options, in order) are argv[*operands] to
 * argv[argc - 1] (getopt_long moves them there). Returns CLI__GO_ON, or the
 * code to exit with: BASE_EXIT_PASS after --help, BASE_EXIT_USAGE after a
 * bad option or value (said on stderr), BASE_EXIT_INTERNAL when memory
 * runs out. Lists in `opts` are released with cli__free, whatever it
 * returned. */
int cli__parse(const cli_command_t *cmd, int argc, char **argv, void *opts,
               int *operands);
/* Releases the lists cli__parse allocated in `opts`. */
void cli__free(const cli_command_t *cmd, void *opts);
/* Appends `s` (borrowed) to a list as CLI_ARG_LIST stores them; 0 or
 * UV_ENOMEM. */
int cli__push(const char ***list, size_t *n, const char *s);

/* "clustersim ARGV...", as typed, for the reports: malloc'ed (the caller
 * frees it), NULL when out of memory. */
char *cli__command_line(int argc, char **argv);
/* The binary the builtin agents run: `given` (--clustersim), else
 * $CLUSTERSIM_BIN, else this program; malloc'ed, NULL when out of
 * memory. */
char *cli__find_self(const char *given);

/* Prints "clustersim NAME: <message>" and where to find the usage on
 * stderr; returns BASE_EXIT_USAGE. */
int cli__usage_error(const cli_command_t *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A row of --help: "  LABEL" padded to `width`, then the text; a '\n' in
 * the text goes on a new line under the text's column. */
void cli__help_row(FILE *f, const char *label, int width, const char *text);
/* The whole --help of a command, generated from its tables. */
void cli__help(const cli_command_t *cmd, FILE *f);

#endif /* CLI_INTERNAL_H */
