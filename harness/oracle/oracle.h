/*
 * oracle.h - what a finished trace is checked against: Node's invariants
 * on every run, and the scenario's own expectations. Both report findings.
 *
 * Conventions (every harness module follows them): functions return 0 or a
 * negative UV_E* code; strings passed in are borrowed (copied when kept);
 * objects returned through an out pointer are owned by the caller and
 * released by the matching _free. Libraries never print: diagnostics come
 * back as strings.
 */
#ifndef ORACLE_H
#define ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"
#include "trace.h"

/* ---------------------------------------------------------------------- */
/* Findings: what the oracle and the expectations report                   */

typedef enum {
  ORACLE_FINDING_FAIL = 0,      /* a violation */
  ORACLE_FINDING_INCONCLUSIVE   /* could not be decided */
} oracle_finding_kind_t;

typedef struct {
  oracle_finding_kind_t kind;
  char rule[40];           /* invariant or expectation id, e.g.
                              "once", "expect.order" */
  unsigned worker;         /* 0: none */
  int64_t event;           /* trace index, -1: none */
  unsigned line;           /* scenario line, 0: none */
  char *message;           /* one line, complete */
} oracle_finding_t;

typedef struct {
  oracle_finding_t *items;
  size_t count;
  size_t cap;
} oracle_findings_t;

void oracle_findings_init(oracle_findings_t *f);
void oracle_findings_free(oracle_findings_t *f);
int oracle_findings_add(oracle_findings_t *f, oracle_finding_kind_t kind,
                         const char *rule, unsigned worker, int64_t event,
                         unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
size_t oracle_findings_count(const oracle_findings_t *f,
                              oracle_finding_kind_t kind);

/* The invariant ids (docs/harness.md lists what each one means). */
#define ORACLE_INV_LIFECYCLE    "lifecycle"     /* fork < online < listening */
#define ORACLE_INV_ONCE         "once"          /* online/disconnect/exit <= 1 */
#define ORACLE_INV_BOTH_ENDS    "both-ends"     /* disconnect and exit */
#define ORACLE_INV_AFTER_END    "after-end"     /* nothing after both */
#define ORACLE_INV_TWIN         "twin"          /* Worker event, then cluster */
#define ORACLE_INV_EAD_BOOL     "ead-boolean"
#define ORACLE_INV_EAD_CAUSE    "ead-cause"
#define ORACLE_INV_CONNECTED    "connected"     /* isConnected() at disconnect */
#define ORACLE_INV_DEAD         "dead"          /* isDead() at exit */
#define ORACLE_INV_IDS          "ids"           /* 1, 2, 3..., never reused */
#define ORACLE_INV_EXIT_STATUS  "exit-status"   /* code xor signal */
#define ORACLE_INV_MEMBERSHIP   "membership"    /* removed before the last */

typedef struct {
  /* Node's documented exit-only case (a worker that dies while a handle
   * sent to it is not acknowledged never emits `disconnect`): accepted when
   * set. */
  bool allow_exit_without_disconnect;
} oracle_opts_t;

/* Checks DESIGN section 5 on a finished trace; appends one finding per
 * violation. Returns the number of violations found (>= 0). */
int oracle_check(const trace_t *tr,
                         const oracle_opts_t *opts,
                         oracle_findings_t *out);


/* Checks the scenario's expectations on a finished trace. */
int oracle_expect_check(const scenario_t *s,
                         const trace_t *tr,
                         const trace_load_totals_t *load,
                         oracle_findings_t *out);


#endif /* ORACLE_H */
