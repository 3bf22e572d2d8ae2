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

/* NULL-terminated list of the fixture names. */
extern const char *const fixture_names[];

#endif
