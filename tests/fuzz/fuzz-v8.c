/*
 * fuzz-v8.c - libFuzzer target for the V8 value decoder (sim/sim-v8-read.c).
 *
 * Whatever the input, decoding must fail cleanly or give a value that
 * encodes, decodes again, and encodes to the same bytes; its JSON form
 * must give those bytes too. Anything else aborts. Built with -Dfuzz=true
 * and clang (tests/fuzz/meson.build).
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A smaller heap than the default keeps each run quick; the limit itself
 * is part of what is fuzzed. */
#define FUZZ_HEAP (16u * 1024u * 1024u)

static void encode_or_die(const sim_value_t *v, sim_buf_t *out)
{
  int rc = sim_v8_encode(v, out, NULL);

  if (rc == UV_ENOMEM)
    exit(0);                 /* not a finding */
  if (rc != 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  sim_heap_t *h = sim_heap_new(FUZZ_HEAP), *h2 = sim_heap_new(FUZZ_HEAP),
             *h3 = sim_heap_new(2 * FUZZ_HEAP);
  sim_value_t *v, *again, *back;
  sim_buf_t b1, b2, b3;
  cJSON *json = NULL;
  int rc;

  sim_buf_init(&b1);
  sim_buf_init(&b2);
  sim_buf_init(&b3);
  if (h == NULL || h2 == NULL || h3 == NULL)
    abort();
  if (sim_v8_decode(h, data, size, &v, NULL) != 0)
    goto out;
  encode_or_die(v, &b1);
  if (sim_v8_decode(h2, b1.base, b1.len, &again, NULL) != 0)
    abort();
  encode_or_die(again, &b2);
  if (b1.len != b2.len || memcmp(b1.base, b2.base, b1.len) != 0)
    abort();
  /* The JSON form may take more heap than the value (keys are read as
   * strings first): only running out of it is not a finding. */
  json = sim_value_to_json(again);
  if (json == NULL)
    abort();
  rc = sim_value_from_json(h3, json, &back);
  if (rc == UV_E2BIG || rc == UV_ENOMEM)
    goto out;
  if (rc != 0)
    abort();
  encode_or_die(back, &b3);
  if (b1.len != b3.len || memcmp(b1.base, b3.base, b1.len) != 0)
    abort();
out:
  cJSON_Delete(json);
  sim_buf_free(&b1);
  sim_buf_free(&b2);
  sim_buf_free(&b3);
  sim_heap_free(h);
  sim_heap_free(h2);
  sim_heap_free(h3);
  return 0;
}
