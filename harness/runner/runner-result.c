/* Outcomes and results of a run. */
#include "runner.h"

#include <stdlib.h>
#include <string.h>

static const char *const outcome_names[RUNNER_OUTCOME_COUNT] = {
  "pass", "fail", "inconclusive", "error", "skip", "timeout",
};

const char *runner_outcome_name(runner_outcome_t o)
{
  if ((int)o < 0 || o >= RUNNER_OUTCOME_COUNT)
    return "?";
  return outcome_names[o];
}

void runner_result_free(runner_result_t *r)
{
  if (r == NULL)
    return;
  free(r->reason);
  free(r->detail);
  oracle_findings_free(&r->findings);
  trace_free(&r->trace);
  free(r->runtime);
  free(r->version);
  free(r->log);
  free(r->warnings);
  memset(r, 0, sizeof(*r));
}
