/*
 * report.h - results of a clustersim run, and the writers that show them:
 * JUnit XML (atomic), TAP 14 (streaming), a live terminal view, and a
 * self-contained HTML page with one SVG timeline per run.
 *
 * The harness fills a report_t while it runs:
 *
 *   report_new(&r, &run_info);
 *   report_case_add(r, &case_info, &c);        scenario x target starts
 *   report_event_add(c, &ev);  ...             timeline of the running attempt
 *   report_attempt_add(c, &result);            the attempt ended
 *   report_attempt_start(c);  ...              --repeat: the next attempt
 *   report_attempt_seed(c, seed, replay);      its own seed, if it has one
 *   report_junit_write(r, path);               at the end, or on SIGINT/SIGTERM
 *   report_free(r);
 *
 * A case whose current attempt has not ended (report_case_add or
 * report_attempt_start without a report_attempt_add after it) is
 * "interrupted": every writer shows it as an error with the reason given to
 * report_interrupt() (or "interrupted before it finished"). So the harness's
 * shutdown path, running on its libuv loop (uv_signal_t, never inside a
 * signal handler), only calls report_interrupt() and the writers.
 *
 * Conventions:
 * - Functions return 0 or a negative UV_E* code (UV_ENOMEM, UV_EINVAL, or
 *   the errno of a failed file operation as -errno). The JUnit and HTML
 *   writers and the merge load libxml2 on first use (the executable does
 *   not link it, to keep process start fast) and return UV_ENOSYS when
 *   libxml2.so.2 cannot be loaded.
 * - Every string passed in is borrowed and copied; the caller keeps it.
 *   Strings may hold any bytes: writers remove ANSI escape sequences and show
 *   other control characters and invalid UTF-8 as \xNN, so output files are
 *   always well-formed.
 * - One thread: a report and its writers belong to the caller's loop.
 * - Library code never prints, except the TAP and terminal writers, which
 *   write to the FILE * they are given.
 *
 * Outcome mapping (documented in docs/reports.md):
 *   pass          JUnit pass                   TAP ok
 *   fail          <failure type="fail">        TAP not ok
 *   timeout       <failure type="timeout">     TAP not ok   (never a pass)
 *   error         <error type="error">         TAP not ok
 *   interrupted   <error type="interrupted">   TAP not ok
 *   skip          <skipped>                    TAP ok # SKIP
 *   inconclusive  <skipped type=inconclusive>  TAP ok # SKIP inconclusive
 *   flaky         pass + <flakyFailure>/<flakyError> per bad attempt
 *                 (Surefire shape; consumers count it as passing)
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

typedef struct report_s report_t;
typedef struct report_case_s report_case_t;

/* ---------------------------------------------------------------------- */
/* The model                                                               */

typedef enum {
  REPORT_PASS = 0,
  REPORT_FAIL,          /* an expectation or invariant broke */
  REPORT_INCONCLUSIVE,  /* ran, but could not decide (e.g. no load served) */
  REPORT_ERROR,         /* invalid scenario, or the harness could not run it */
  REPORT_SKIP,
  REPORT_TIMEOUT,       /* a failure: the run did not finish in time */
  REPORT_OUTCOME_MAX
} report_outcome_t;

/* The outcome named `name` ("pass", "fail", "inconclusive", "error",
 * "skip", "timeout": the runner's names too); REPORT_ERROR for any other
 * name or NULL, so an outcome nobody knows never reads as a pass. */
report_outcome_t report_outcome_parse(const char *name);

/* A case's verdict over all its attempts (report_case_verdict). */
typedef enum {
  REPORT_V_PASS = 0,
  REPORT_V_FAIL,
  REPORT_V_TIMEOUT,
  REPORT_V_ERROR,
  REPORT_V_INTERRUPTED, /* the current attempt never ended */
  REPORT_V_SKIP,
  REPORT_V_INCONCLUSIVE,
  REPORT_V_FLAKY,       /* some attempt was bad, and the last one passed */
  REPORT_V_MAX
} report_verdict_t;

/* Run-level facts. Every field may be NULL/0; hostname defaults to
 * gethostname(), start_unix_ns to the current wall clock. */
typedef struct {
  const char *name;          /* JUnit testsuites@name; default "clustersim" */
  const char *command_line;  /* how the run was started */
  const char *hostname;
  const char *targets;       /* e.g. "builtin,node" (informational) */
  const char *shard;         /* "I/N" for --shard runs, else NULL */
  uint64_t seed;             /* the run's seed */
  int64_t start_unix_ns;     /* wall clock at start; 0 = now */
  /* JUnit strictly as jenkinsci/xunit-plugin's junit-10.xsd: no testcase
   * file/line attributes and no testcase <properties> (the replay command
   * and seed stay in system-out and in the suite properties). */
  bool junit_strict;
} report_run_info_t;

/* One scenario on one target, as it starts. Only scenario and target are
 * required. */
typedef struct {
  const char *scenario;         /* scenario name, e.g. "rolling-restart" */
  const char *file;             /* scenario file, as given to the harness */
  unsigned line;                /* 1-based line of the scenario (0: unknown) */
  const char *target;           /* "builtin", "node", "exec:CMD" */
  const char *runtime;          /* e.g. "node", "clustersim" */
  const char *runtime_version;  /* e.g. "v20.20.2" */
  uint64_t seed;
  const char *replay;           /* a shell command that replays this case */
  const char *const *tags;      /* NULL-terminated, or NULL */
  int64_t start_unix_ns;        /* 0 = now */
} report_case_info_t;

/* How one attempt ended. */
typedef struct {
  report_outcome_t outcome;
  const char *reason;       /* one line: failure@message, TAP description */
  const char *detail;       /* full diagnostic (multi-line), or NULL */
  const char *output;       /* trace excerpt and logs: system-out */
  double duration_s;
  /* Index (0-based, in report_event_add order within this attempt) of the
   * event at which the failed expectation was detected, or -1. */
  int64_t failed_event;
} report_result_t;

#define REPORT_LANE_PRIMARY 0   /* lanes >= 1 are worker ids */
#define REPORT_LANE_HARNESS (-1) /* harness, load generator */

#define REPORT_EVENT_FAULT          0x1u /* a fault the harness injected */
#define REPORT_EVENT_FAILED_REQUEST 0x2u /* a request/connection that failed */
#define REPORT_EVENT_VIOLATION      0x4u /* an expectation broke here */

/* One timeline mark. */
typedef struct {
  uint64_t t_ns;        /* CLOCK_MONOTONIC ns, as in the trace */
  int lane;             /* REPORT_LANE_PRIMARY, worker id, or _HARNESS */
  const char *kind;     /* "fork", "online", "exit", "fault", "request"... */
  const char *label;    /* short text shown on hover, may be NULL */
  unsigned flags;       /* REPORT_EVENT_* */
} report_event_t;

/* Creates an empty report. The caller owns *out (report_free). */
int report_new(report_t **out, const report_run_info_t *info);
void report_free(report_t *r);

/* Starts a case and its first attempt. *out is owned by r and stays valid
 * until report_free. Cases keep the order in which they were added. */
int report_case_add(report_t *r, const report_case_info_t *info,
                    report_case_t **out);

/* Adds a mark to the timeline of the case's current attempt (the one
 * running, or, after report_attempt_add, the one that ended last). */
int report_event_add(report_case_t *c, const report_event_t *ev);

/* One time slice of the load an attempt put on the cluster: its requests
 * by outcome and the latency of its ok and retried ones. */
typedef struct {
  uint64_t t_ns;        /* the slice's start, CLOCK_MONOTONIC as the marks */
  uint32_t ok, retried, failed;
  uint32_t p50_us, p99_us, max_us;   /* 0: no latency in the slice */
} report_bucket_t;

/* The load of the case's current attempt (the one running, or the one
 * that ended last): `n` slices of `width_ns` each, copied. The HTML page
 * draws them under the attempt's timeline, on its time axis: the requests
 * per slice (ok, retried, failed) and their latency (p50, p99, max).
 * Replaces what an earlier call gave; n = 0 removes it. */
int report_load_set(report_case_t *c, const report_bucket_t *b, size_t n,
                    uint64_t width_ns);

/* Ends the current attempt with its result. UV_EINVAL when no attempt is
 * running. */
int report_attempt_add(report_case_t *c, const report_result_t *res);

/* Starts another attempt of the same case (--repeat). UV_EBUSY when one is
 * still running. */
int report_attempt_start(report_case_t *c);

/* The seed the case's current attempt (the one running, or the one that
 * ended last) ran with, and the command that replays it (may be NULL):
 * `clustersim run --repeat` runs attempt k with seed S+k-1. The writers
 * show that attempt with its own seed and replay command (its failure,
 * rerun or flaky element, its TAP and terminal lines); an attempt without
 * one shows the case's. May be called before or after report_attempt_add,
 * so an attempt that is interrupted has it too. */
int report_attempt_seed(report_case_t *c, uint64_t seed, const char *replay);

/* Marks the run interrupted: running attempts are then shown as errors with
 * this reason (e.g. "interrupted by SIGTERM"). May be called more than once;
 * the last reason wins. */
int report_interrupt(report_t *r, const char *reason);

/* The cases in the order they were added (e.g. to print the interrupted
 * ones on the shutdown path). report_case_at returns NULL past the end. */
size_t report_case_count(const report_t *r);
report_case_t *report_case_at(const report_t *r, size_t i);
/* True while the case's current attempt has not ended. */
bool report_case_running(const report_case_t *c);

/* The case's verdict from the outcomes of its attempts, whatever their
 * order: flaky when some passed and some failed (docs/reports.md). */
report_verdict_t report_case_verdict(const report_case_t *c);
/* How many of the case's attempts passed (of c->nattempts, "k/N"). */
unsigned report_case_passed(const report_case_t *c);
const char *report_verdict_name(report_verdict_t v);  /* "pass", "flaky"... */

/* Totals over all cases, by verdict, in JUnit's terms. */
typedef struct {
  unsigned cases;
  unsigned by_verdict[REPORT_V_MAX];
  unsigned passed;    /* pass + flaky */
  unsigned failures;  /* fail + timeout */
  unsigned errors;    /* error + interrupted */
  unsigned skipped;   /* skip + inconclusive */
} report_counts_t;

void report_counts_get(const report_t *r, report_counts_t *out);

/* ---------------------------------------------------------------------- */
/* JUnit XML                                                               */

/* Writes the whole report to path through a temporary file in the same
 * directory and rename(2), so readers never see a partial file. Safe to call
 * repeatedly (e.g. after each case, and again on SIGINT). */
int report_junit_write(const report_t *r, const char *path);

/* Merges JUnit files (ours or any tool's: a <testsuites> or a <testsuite>
 * root) into one <testsuites> at output, atomically. Every testsuite is kept
 * in input order, ids renumbered; every count is recomputed from the
 * testcases (failure, error, skipped children; reruns and flaky attempts
 * do not count). strict: drop what junit-10.xsd does not allow (testcase
 * file/line/properties, testsuites@skipped). UV_EINVAL for a file that is
 * not JUnit, UV_EIO for one that is not well-formed. */
int report_junit_merge(const char *const *inputs, size_t n,
                       const char *output, bool strict);

/* ---------------------------------------------------------------------- */
/* TAP 14 (streaming: one test point per case as it ends)                  */

typedef struct report_tap_s report_tap_t;

/* Declare "TAP version 13" instead of 14. The stream is the same (flat,
 * no subtests, no pragmas), but Debian bookworm's prove (Test::Harness
 * 3.44) rejects version 14 with a parse error. */
#define REPORT_TAP_V13 0x1u

/* Prints "TAP version 14" (13 with REPORT_TAP_V13) and, when planned > 0,
 * the plan. The caller owns *out; f is borrowed and must outlive the
 * writer. */
int report_tap_new(report_tap_t **out, FILE *f, unsigned planned,
                   unsigned flags);
/* Prints the test point of an ended (or interrupted) case, with a YAML
 * diagnostic block for anything but a pass or skip. */
int report_tap_case(report_tap_t *t, const report_case_t *c);
/* Prints the plan when none was printed first, then a "# " summary line. */
int report_tap_end(report_tap_t *t);
/* Prints "Bail out! reason" (harness errors that stop the run). */
int report_tap_bail(report_tap_t *t, const char *reason);
void report_tap_free(report_tap_t *t);

/* ---------------------------------------------------------------------- */
/* Terminal view                                                           */

typedef struct report_term_s report_term_t;

#define REPORT_TERM_AUTO   0u  /* TTY and colours from isatty(), NO_COLOR */
#define REPORT_TERM_TTY    1u  /* force the redrawn progress line */
#define REPORT_TERM_PLAIN  2u  /* force line-per-case output */
#define REPORT_TERM_COLOR  4u  /* force colours */
#define REPORT_TERM_NOCOLOR 8u /* never colours */

/* A progress view on f for a run of `total` cases (0 = unknown), started at
 * now_ns (uv_hrtime()). On a TTY the progress line
 * "[done/total] N failed | running: a, b | 12.3s" is redrawn in place; on
 * anything else one plain line per finished case. Times are passed in so
 * that the view is deterministic. The caller owns *out; f is borrowed. */
int report_term_new(report_term_t **out, FILE *f, unsigned total,
                    unsigned flags, uint64_t now_ns);
int report_term_case_start(report_term_t *t, const report_case_t *c,
                           uint64_t now_ns);
int report_term_case_end(report_term_t *t, const report_case_t *c,
                         uint64_t now_ns);
/* Redraws the progress line (call from a uv_timer, e.g. every 200 ms). */
int report_term_tick(report_term_t *t, uint64_t now_ns);
/* Clears the progress line and prints the summary: counts, then each bad
 * case with its reason and replay command. */
int report_term_summary(report_term_t *t, const report_t *r, uint64_t now_ns);
void report_term_free(report_term_t *t);

/* ---------------------------------------------------------------------- */
/* HTML                                                                    */

/* One self-contained page (inline CSS, SVG and a small script; no network):
 * a table of scenarios by target, then for every attempt a timeline with
 * one lane for the primary and one per worker. Atomic like the JUnit file. */
int report_html_write(const report_t *r, const char *path);

/* ---------------------------------------------------------------------- */
/* libxml2                                                                 */

/* The soname the JUnit and HTML writers and the merge load on first use:
 * the ABI of the libxml2 headers the module is compiled against. */
#define REPORT_LIBXML_SONAME "libxml2.so.2"

/* Why they returned UV_ENOSYS (dlopen's or dlsym's text), or NULL when
 * libxml2 was loaded or never asked for. */
const char *report_libxml_error(void);

/* ---------------------------------------------------------------------- */
/* `clustersim report merge`                                               */

/* What went wrong, for an error `rc` of report_junit_merge, in words
 * (with UV_ENOSYS: libxml2's name, why it could not be loaded, and how to
 * install it). The caller frees it; NULL when memory runs out. */
char *report_junit_merge_strerror(int rc);


/* ---------------------------------------------------------------------- */
/* Case fields, for the writers and checks outside this module            */

const char *report_case_scenario(const report_case_t *c);
const char *report_case_target(const report_case_t *c);
/* The reason of the attempt the case is shown by (its first bad one, or
 * the last), or NULL. */
const char *report_case_reason(const report_case_t *c);

/* ---------------------------------------------------------------------- */
/* The compatibility matrix (report-matrix*.c, report-coverage.c)          */

/* What the rows are grouped by: areas (a heading of docs/coverage.md, or
 * a tag), each with rules, each pinned by scenarios. */
typedef struct {
  char *id;              /* the rule's id, or the scenario's name */
  char *title;           /* what the rule says, or NULL */
  char **scenarios;      /* names, as the scenarios' `name:` */
  size_t n_scenarios;
} report_rule_t;

typedef struct {
  char *name;            /* "worker lifecycle", or a tag */
  report_rule_t *rules;
  size_t n_rules;
} report_area_t;

typedef struct {
  report_area_t *areas;
  size_t n_areas;
  char *source;          /* the coverage file read, or NULL: by tag */
} report_groups_t;

/* Reads the rules out of a Markdown file (docs/coverage.md): every GFM
 * table whose rows name scenarios in code spans (`kill-sigkill`). The
 * rule is the row's cell under a header containing "rule" or "id" (else
 * its first cell), its title the cell under "title", "statement",
 * "behaviour" or "what" if any; the area is the heading above the table.
 * Only code spans that are names in `known` (NULL-terminated) count, so
 * other code in a row (`exitedAfterDisconnect`) is ignored. A table that
 * names no known scenario is not a rules table. UV_ENOENT when the file
 * does not exist; 0 with no areas when it holds no such table. */
int report_groups_read(const char *path, const char *const *known,
                       report_groups_t *out);
/* One area per tag (a scenario's first tag; "untagged" without one), one
 * rule per scenario: when there is no coverage file. */
int report_groups_by_tag(const report_t *r, report_groups_t *out);
void report_groups_free(report_groups_t *g);

typedef struct {
  const report_groups_t *groups;
  const char *markdown;   /* files to write, each NULL to skip */
  const char *html;
  const char *json;
  const char *timelines;  /* the run's HTML report, which cells link to
                             (as written in the page: relative to it) */
} report_matrix_opts_t;

/* Rows = the groups' rules and their scenarios (scenarios of the run that
 * no rule names come last, under "not in <source>"), columns = targets
 * with the runtime and version their agent named, cells = the case's
 * verdict with its first finding or skip reason ("diverges" for a
 * divergence the scenario documents). A per-area summary per target comes
 * first: rules whose every scenario passed, of the rules that ran. */
int report_matrix_write(const report_t *r, const report_matrix_opts_t *o);
/* The summary as lines for the terminal ("node (node v20.20.2):
 * lifecycle 12 of 13 rules, ..."); the caller frees it. */
char *report_matrix_summary(const report_t *r, const report_groups_t *g);

/* ---------------------------------------------------------------------- */
/* Expectations files (report-expect.c)                                    */

/* Known failures, as web-platform-tests' and test262's runners keep them:
 * a JSON file {"clustersim-expectations": 1, "known-failures": [{"scenario":
 * S, "target": T, "verdict": V, "finding": F}, ...]}; target "*" is any
 * target, verdict and finding are what was seen when it was written. */
typedef struct report_expect_s report_expect_t;

/* Reads FILE; on a bad file, UV_EINVAL and *why says where and what
 * (caller frees). */
int report_expect_read(const char *path, report_expect_t **out, char **why);
void report_expect_free(report_expect_t *e);

/* The run against the expectations, one line each ("scenario [target]:
 * finding"). Only cases of the run count: an expected failure of a
 * scenario or target not run (another shard) is neither fixed nor new. */
typedef struct {
  char **known;          /* failed, as expected */
  size_t n_known;
  char **fixed;          /* expected to fail, passed */
  size_t n_fixed;
  char **fresh;          /* failed, not expected to */
  size_t n_fresh;
  unsigned fresh_errors; /* of fresh: errors (exit code 3 rather than 1) */
} report_expect_result_t;

int report_expect_compare(const report_t *r, const report_expect_t *e,
                          report_expect_result_t *out);
void report_expect_result_free(report_expect_result_t *res);
/* Writes the failing cases of the run (fail, timeout, error, interrupted,
 * and flaky ones are not: they passed) as an expectations file,
 * atomically. */
int report_expect_write(const report_t *r, const char *path);

#endif
