/*
 * base.h - what every module of clustersim shares: the exit codes of the
 * commands, lists of diagnostics, the one signal-name table, durations,
 * did-you-mean suggestions and string helpers.
 *
 * Conventions (every harness module follows them): functions return 0 or a
 * negative UV_E* code; strings passed in are borrowed (copied when kept);
 * objects returned through an out pointer are owned by the caller and
 * released by the matching _free. Libraries never print: diagnostics come
 * back as strings.
 */
#ifndef BASE_H
#define BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <uv.h>

/* ---------------------------------------------------------------------- */
/* Exit codes of `clustersim run|check|list` (docs/harness.md)             */

#define BASE_EXIT_PASS         0   /* every run passed (or was skipped) */
#define BASE_EXIT_FAIL         1   /* a run failed or timed out */
#define BASE_EXIT_INCONCLUSIVE 2   /* no failure, but a run could not decide */
#define BASE_EXIT_SCENARIO     3   /* a scenario is invalid or could not run */
#define BASE_EXIT_INTERNAL     4   /* the harness itself broke */
#define BASE_EXIT_USAGE        64  /* bad command line */
#define BASE_EXIT_INTERRUPTED  130 /* SIGINT/SIGTERM to the harness */

/* ---------------------------------------------------------------------- */
/* Diagnostics                                                             */

/* A list of formatted messages, e.g.
 * "s.yaml:5:11: error: unknown signal 'SIGKIL' (did you mean 'SIGKILL'?)
 * (at /steps/3/kill/signal)". */
typedef struct {
  char **lines;
  size_t count;
  size_t cap;
} base_diag_t;

void base_diag_init(base_diag_t *d);
void base_diag_free(base_diag_t *d);
int base_diag_addf(base_diag_t *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------------- */
/* Signals, durations, suggestions                                         */

/* "SIGKILL" -> SIGKILL; 0 if unknown (names only, no numbers). */
int base_signal_from_name(const char *name);
/* SIGKILL -> "SIGKILL"; NULL if unknown. */
const char *base_signal_name(int signum);

/* "150ms", "2s", "1.5s", "1m" -> milliseconds; UV_EINVAL otherwise. */
int base_duration_parse(const char *text, int64_t *ms);

/* The closest of `candidates` (NULL-terminated) to `word`, or NULL when
 * none is close enough to be a plausible typo. */
const char *base_suggest(const char *word, const char *const *candidates);

/* Every signal name, NULL-terminated (for suggestions). */
const char *const *base_signal_names(void);

/* ---------------------------------------------------------------------- */
/* Strings (NULL when memory runs out; the caller frees)                   */

char *base_vasprintf(const char *fmt, va_list ap);
char *base_asprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
char *base_strdup(const char *s);

#endif /* BASE_H */
