/* Outcomes and results of a run. */
#include "runner.h"


static const char *const outcome_names[RUNNER_OUTCOME_COUNT] = {
  "pass", "fail", "inconclusive", "error", "skip", "timeout",
};

const char *runner_outcome_name(runner_outcome_t o)
{
  if ((int)o < 0 || o >= RUNNER_OUTCOME_COUNT)
    return "?";
  return outcome_names[o];
}
