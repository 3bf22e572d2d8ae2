/*
 * explore-diff.c - differential runs: the per-worker projections of two
 * runs of one schedule compared as `clustersim diff` compares them
 * (harness/trace), with Node's own nondeterminism (the order of
 * `disconnect` and `exit`, a trace cut short) noted, not counted.
 */
#include "explore-internal.h"

int explore__diff(const runner_result_t *a, const char *label_a,
                  const runner_result_t *b, const char *label_b,
                  base_diag_t *out)
{
  trace_projection_t *pa = NULL, *pb = NULL;
  int rc;

  rc = trace_projection_of(&a->trace, &pa);
  if (rc == 0)
    rc = trace_projection_of(&b->trace, &pb);
  if (rc == 0)
    rc = trace_projection_diff(pa, label_a, pb, label_b, out) > 0 ? 1 : 0;
  trace_projection_free(pa);
  trace_projection_free(pb);
  return rc;
}
