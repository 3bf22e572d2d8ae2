/*
 * fuzz-trace.c - libFuzzer target for the trace reader of `diff A B` and
 * `check --trace FILE` (trace_parse, the projections and their diff, the
 * oracle and a scenario's expectations on what was read).
 *
 * Whatever the input: reading ends in a trace or in messages; a trace
 * read is diffed against itself with no difference, and the oracle and
 * the expectations of a scenario that uses every kind of them run on it.
 * Crashes, leaks and inputs slower than -timeout are the findings.
 */
#include <stdlib.h>
#include <string.h>

#include "oracle.h"
#include "scenario.h"
#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every kind of expectation, on workers 1 and 2. */
static const char expectations[] =
    "cluster: {workers: 2}\n"
    "worker: {servers: [{kind: http, port: 0}]}\n"
    "steps:\n"
    "  - load: {start: {connections: 2, duration: 100ms}}\n"
    "  - wait: {event: exit, worker: 1, within: 5s}\n"
    "expect:\n"
    "  order:\n"
    "    - {worker: each, pattern: [fork, online?, listening+, '!error',"
    " message*, disconnect|exit, exit|disconnect]}\n"
    "  absent: [{event: error}]\n"
    "  flags:\n"
    "    - {worker: 1, at: exit, exitedAfterDisconnect: false, code: 1}\n"
    "  counts:\n"
    "    - {event: fork, min: 1, max: 3}\n"
    "  availability: {max-failed: 0, always-listening: true}\n"
    "  timing:\n"
    "    - {from: {event: fork, worker: 1}, to: {event: exit, worker: 1},"
    " within: 1s}\n";

static scenario_t *scenario;

static void load_scenario(void)
{
  base_diag_t diag;

  base_diag_init(&diag);
  if (scenario_load_string("fuzz.yaml", expectations, strlen(expectations),
                           &diag, &scenario) != 0)
    abort();
  base_diag_free(&diag);
}

static void check(const trace_t *tr)
{
  trace_projection_t *p = NULL;
  oracle_findings_t f;
  oracle_opts_t oo;
  trace_load_totals_t load;
  base_diag_t d;

  base_diag_init(&d);
  if (trace_projection_of(tr, &p) == 0 &&
      trace_projection_diff(p, "a", p, "b", &d) != 0)
    abort();
  trace_projection_free(p);
  base_diag_free(&d);
  oracle_findings_init(&f);
  memset(&oo, 0, sizeof(oo));
  memset(&load, 0, sizeof(load));
  load.ran = true;
  oracle_check(tr, &oo, &f);
  oracle_expect_check(scenario, tr, &load, &f);
  oracle_findings_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text = malloc(size + 1);
  base_diag_t diag;
  trace_t tr;

  if (text == NULL)
    return 0;
  if (scenario == NULL)
    load_scenario();
  /* a file is read up to its end: the text is its bytes up to a NUL */
  memcpy(text, data, size);
  text[size] = '\0';
  trace_init(&tr, 0);
  base_diag_init(&diag);
  if (trace_parse(text, &tr, &diag) != UV_ENOMEM)
    check(&tr);
  trace_free(&tr);
  base_diag_free(&diag);
  free(text);
  return 0;
}
