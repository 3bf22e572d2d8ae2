/*
 * load-outcome.c - names of the outcomes as they appear in traces and
 * reports, and which of them count as failures.
 */
#include "load.h"

static const char *const names[LOAD_OUTCOME_MAX] = {
  [LOAD_OK] = "ok",
  [LOAD_RETRIED] = "retried",
  [LOAD_REFUSED] = "refused",
  [LOAD_RESET] = "reset",
  [LOAD_TIMEOUT] = "timeout",
  [LOAD_BAD_STATUS] = "bad-status",
  [LOAD_TRUNCATED] = "truncated",
  [LOAD_ERROR] = "error",
  [LOAD_CANCELLED] = "cancelled",
};

const char *load_outcome_name(load_outcome_t outcome)
{
  if ((unsigned)outcome >= LOAD_OUTCOME_MAX)
    return NULL;
  return names[outcome];
}

bool load_outcome_failed(load_outcome_t outcome)
{
  switch (outcome) {
  case LOAD_REFUSED:
  case LOAD_RESET:
  case LOAD_TIMEOUT:
  case LOAD_BAD_STATUS:
  case LOAD_TRUNCATED:
  case LOAD_ERROR:
    return true;
  default:
    return false;
  }
}
