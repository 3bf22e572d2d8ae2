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

/* A list owned by the caller: init, then free (which frees every
 * message). */
void oracle_findings_init(oracle_findings_t *f);
void oracle_findings_free(oracle_findings_t *f);
/* Appends a finding; the message is formatted into a string of its own.
 * Past ORACLE_FINDINGS_MAX findings the rest are dropped (0 all the
 * same): a broken run can violate one rule at every event, and the first
 * ones say it all. UV_ENOMEM leaves the list as it was. */
#define ORACLE_FINDINGS_MAX 500
int oracle_findings_add(oracle_findings_t *f, oracle_finding_kind_t kind,
                         const char *rule, unsigned worker, int64_t event,
                         unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* How many findings are of `kind`. */
size_t oracle_findings_count(const oracle_findings_t *f,
                              oracle_finding_kind_t kind);

/* The invariants of Node's `cluster` that every trace is checked against,
 * one row each, read by the oracle and by the test that holds
 * docs/harness.md's list to it.
 *   XX(ID, name, id, doc)
 * ID    the enum suffix: ORACLE_INVARIANT_<ID>
 * name  the C name: the check is oracle__invariant_<name>
 * id    the id findings carry, as "[invariant <id>]"
 * doc   the rule, one line of docs/harness.md
 * Rows are checked in this order, so the findings of one event come in
 * this order too. Orders are only ever asserted within one worker, never
 * between workers: Node fixes none between them. */
#define ORACLE_INVARIANT_MAP(XX)                                              \
  XX(BOTH_ENDS, both_ends, "both-ends",                                       \
     "in a complete trace, every forked worker has an `exit` and a "          \
     "`disconnect`, in either order. The one exception is Node's "            \
     "exit-only case (a worker that dies while a connection handed to it"     \
     " is not acknowledged), accepted when the scenario sets `oracle: "       \
     "{allow-exit-without-disconnect: true}`")                                \
  XX(TWIN, twin, "twin",                                                      \
     "the Worker's `online`/`listening`/`disconnect`/`exit` before its "      \
     "`cluster` twin; in a complete trace every one has its twin")            \
  XX(AFTER_END, after_end, "after-end",                                       \
     "nothing of a worker after both its `disconnect` and its `exit` "        \
     "(except Node's late `ERR_IPC_CHANNEL_CLOSED` error from a send)")       \
  XX(IDS, ids, "ids",                                                         \
     "ids start at 1, go up by one in fork order, never reused")              \
  XX(LIFECYCLE, lifecycle, "lifecycle",                                       \
     "per worker, `fork` before `online` before `listening`")                 \
  XX(ONCE, once, "once",                                                      \
     "`online`, `disconnect`, `exit` at most once per worker")                \
  XX(EAD_BOOLEAN, ead_boolean, "ead-boolean",                                 \
     "`exitedAfterDisconnect` is `true` or `false` at `disconnect` and "      \
     "`exit`")                                                                \
  XX(EAD_CAUSE, ead_cause, "ead-cause",                                       \
     "`exitedAfterDisconnect` is `true` only after a disconnect from "        \
     "either side or a worker-side `kill()`: the primary's "                  \
     "`disconnect()`, `cluster.disconnect()`, the shutdown or "               \
     "rolling-restart policy, a worker-side `disconnect`/`kill` fault or"     \
     " `on-listening` behaviour (inherited by respawned replacements). A"     \
     " cluster-wide disconnect covers every worker whose `fork()` has "       \
     "returned (the harness's fork, a respawn or a restart fork names "       \
     "it), also one whose `fork` event, emitted on a later tick, comes "      \
     "after it, and one the primary forked before it ran the command (its"    \
     " answer, `cluster-disconnect-answered`, comes later on the "            \
     "primary's stream than that fork)")                                      \
  XX(CONNECTED, connected, "connected",                                       \
     "`isConnected()` is false at `disconnect`")                              \
  XX(DEAD, dead, "dead",                                                      \
     "`isDead()` is true at `exit`, and false at a `disconnect` that "        \
     "comes before the exit")                                                 \
  XX(EXIT_STATUS, exit_status, "exit-status",                                 \
     "exactly one of an exit code and a signal at `exit`")                    \
  XX(MEMBERSHIP, membership, "membership",                                    \
     "the worker is out of `cluster.workers` at the later of its "            \
     "`disconnect` and `exit`")                                               

typedef enum {
#define XX(ID, name, id, doc) ORACLE_INVARIANT_##ID,
  ORACLE_INVARIANT_MAP(XX)
#undef XX
  ORACLE_INVARIANT_COUNT
} oracle_invariant_t;

/* "lifecycle", "once"... ("?" out of range). */
const char *oracle_invariant_name(oracle_invariant_t inv);

typedef struct {
  /* Node's documented exit-only case (a worker that dies while a handle
   * sent to it is not acknowledged never emits `disconnect`): accepted when
   * set. */
  bool allow_exit_without_disconnect;
} oracle_opts_t;

/* Checks every invariant on a finished (trace_finish) trace; appends one
 * finding per violation, rule = the invariant's id. Returns the number of
 * violations found (>= 0), or UV_ENOMEM. Time and memory are linear in
 * the trace. */
int oracle_check(const trace_t *tr,
                         const oracle_opts_t *opts,
                         oracle_findings_t *out);


/* Checks the scenario's expectations on a finished trace; appends one
 * finding per failure (rule "expect.<key>", key as under `expect:`) and
 * an inconclusive one for what the run did not exercise. Returns the number
 * of failures. Linear in the trace for each expectation. */
int oracle_expect_check(const scenario_t *s,
                         const trace_t *tr,
                         const trace_load_totals_t *load,
                         oracle_findings_t *out);


#endif /* ORACLE_H */
