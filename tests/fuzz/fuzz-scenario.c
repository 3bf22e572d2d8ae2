/*
 * fuzz-scenario.c - libFuzzer target for the scenario loader
 * (harness/scenario/scenario.c): bytes -> a scenario or errors.
 *
 * Whatever the input: the load ends (libFuzzer's -timeout bounds each
 * input), and either every message names the file, a line and a column,
 * or the scenario holds every key of the file and the file is printable
 * UTF-8 to its last byte (tests/hostile/hostile-roundtrip.c). Anything
 * else aborts. Built with -Dfuzz=true and clang (tests/fuzz/meson.build).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"
#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "fuzz.yaml:L:C: error: ..." with L, C >= 1. */
static int placed(const char *line)
{
  unsigned l = 0, c = 0;
  int n = 0;

  if (sscanf(line, "fuzz.yaml:%u:%u: error: %n", &l, &c, &n) != 2 || n == 0)
    return 0;
  return l >= 1 && c >= 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  base_diag_t diag;
  scenario_t *s = NULL;
  char why[256];
  size_t i;
  int rc;

  base_diag_init(&diag);
  rc = scenario_load_string("fuzz.yaml", (const char *)data, size, &diag, &s);
  if (rc == 0) {
    if (s == NULL || diag.count != 0)
      abort();
    if (hostile_roundtrip((const char *)data, size, s, why, sizeof(why)) != 0) {
      fprintf(stderr, "loaded, but: %s\n", why);
      abort();
    }
  } else {
    if (s != NULL || diag.count == 0)
      abort();
    for (i = 0; i < diag.count; i++)
      if (rc != UV_ENOMEM && !placed(diag.lines[i])) {
        fprintf(stderr, "an error without its place: %s\n", diag.lines[i]);
        abort();
      }
  }
  scenario_free(s);
  base_diag_free(&diag);
  return 0;
}
