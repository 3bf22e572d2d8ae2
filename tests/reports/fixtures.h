/*
 * fixtures.h - synthetic clustersim runs for the reports tests: every
 * outcome, repeats, an interrupted run, hostile output, shards, and a
 * rolling restart with a timeline.
 */
#ifndef TESTS_REPORTS_FIXTURES_H
#define TESTS_REPORTS_FIXTURES_H

#include "report.h"

/* Builds fixture `name` into a new report (caller frees). junit_strict as
 * in report_run_info_t. With tap non-NULL, each case is printed there as it
 * ends. UV_ENOENT for an unknown name. The "interrupted" fixture leaves its
 * last case running. */
int fixture_build(const char *name, bool junit_strict, report_tap_t *tap,
                  report_t **out);

/* A big cluster's run: `workers` workers forked one after another, each
 * online, listening, disconnected and exited, and worker `failing` (0:
 * none) exiting by SIGKILL, the failed expectation pointing at that exit;
 * a fault and a failed request in the harness's lane. */
int fixture_scale(unsigned workers, unsigned failing, report_t **out);

/* NULL-terminated list of the fixture names. */
extern const char *const fixture_names[];

#endif
