/*
 * Running a selection: every scenario on every target, --repeat times,
 * -j at once, with the reports. And `check --trace`.
 */
#include "harness-priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_findings(const harness_findings_t *f)
{
  size_t i;

  for (i = 0; i < f->count; i++)
    printf("%s: %s\n",
           f->items[i].kind == HARNESS_FINDING_FAIL ? "FAIL" : "INCONCLUSIVE",
           f->items[i].message);
}

int harness_cli_check_trace(harness_cli_t *cli)
{
  harness_trace_t tr;
  harness_diag_t diag;
  harness_findings_t f;
  harness_oracle_opts_t oo;
  harness_load_totals_t load;
  const harness_scenario_t *s;
  size_t i;
  int ret;

  if (cli->n_scenarios != 1 || cli->invalid > 0) {
    fprintf(stderr, "clustersim: check --trace needs exactly one valid "
            "scenario, got %zu\n", cli->n_scenarios);
    return cli->invalid > 0 ? HARNESS_EXIT_SCENARIO : HARNESS_EXIT_USAGE;
  }
  s = cli->scenarios[0];
  harness_trace_init(&tr, 0);
  harness_diag_init(&diag);
  harness_findings_init(&f);
  memset(&load, 0, sizeof(load));
  if (harness_trace_read(cli->trace_file, &tr, &diag) != 0) {
    for (i = 0; i < diag.count; i++)
      fprintf(stderr, "%s\n", diag.lines[i]);
    ret = HARNESS_EXIT_SCENARIO;
    goto out;
  }
  /* the load generator's totals, as the run recorded them */
  for (i = 0; i < tr.count; i++) {
    const harness_event_t *e = &tr.events[i];
    if (e->src == HARNESS_SRC_LOAD && strcmp(e->name, "totals") == 0) {
      const cJSON *j = e->json;
#define GET(field) \
      load.field = (uint64_t)cJSON_GetNumberValue( \
          cJSON_GetObjectItemCaseSensitive(j, #field)) 
      load.ran = true;
      GET(sent);
      GET(ok);
      GET(refused);
      GET(reset);
      GET(timeout);
      GET(bad_status);
      GET(truncated);
      GET(retried);
      GET(failed);
#undef GET
    }
  }
  memset(&oo, 0, sizeof(oo));
  oo.allow_exit_without_disconnect = s->allow_exit_without_disconnect;
  harness_oracle_check(&tr, &oo, &f);
  harness_expect_check(s, &tr, &load, &f);
  print_findings(&f);
  if (harness_findings_count(&f, HARNESS_FINDING_FAIL) > 0)
    ret = HARNESS_EXIT_FAIL;
  else if (harness_findings_count(&f, HARNESS_FINDING_INCONCLUSIVE) > 0)
    ret = HARNESS_EXIT_INCONCLUSIVE;
  else
    ret = HARNESS_EXIT_PASS;
  if (!cli->quiet)
    printf("%s: %s (%zu events)\n", s->name,
           ret == HARNESS_EXIT_PASS ? "pass"
           : ret == HARNESS_EXIT_FAIL ? "fail" : "inconclusive",
           tr.count);
out:
  harness_findings_free(&f);
  harness_diag_free(&diag);
  harness_trace_free(&tr);
  return ret;
}

int harness_cli_run(harness_cli_t *cli)
{
  (void)cli;
  fprintf(stderr, "clustersim: run is not available yet\n");
  return HARNESS_EXIT_INTERNAL;
}
