/*
 * fuzz-control.c - libFuzzer target for the decoder of the control socket
 * (runner__control_decode, harness/runner/runner-control.c).
 *
 * The first byte picks the role the line comes from (none yet, primary,
 * worker); the rest is the line. Whatever it is, the decoder classifies
 * it: a bad line has a reason and no message; any other has exactly one
 * JSON object with a string "type", which, printed and decoded again,
 * gives the same kind, role, worker and req. Anything else aborts.
 */
#include <stdlib.h>
#include <string.h>

#include "runner-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  runner__line_t l, again;
  runner__role_t from;
  char *text;

  if (size == 0)
    return 0;
  from = (runner__role_t)(data[0] % 3);
  runner__control_decode((const char *)data + 1, size - 1, from, &l);
  if (l.kind == RUNNER__LINE_BAD) {
    if (l.msg != NULL || l.why[0] == '\0')
      abort();
    return 0;
  }
  if (l.kind == RUNNER__LINE_BLANK) {
    if (l.msg != NULL)
      abort();
    return 0;
  }
  if (!cJSON_IsObject(l.msg) ||
      !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(l.msg, "type")))
    abort();
  text = cJSON_PrintUnformatted(l.msg);
  if (text == NULL)
    abort();
  runner__control_decode(text, strlen(text), from, &again);
  if (again.kind != l.kind || again.role != l.role ||
      again.worker != l.worker || again.req != l.req)
    abort();
  cJSON_Delete(again.msg);
  cJSON_Delete(l.msg);
  free(text);
  return 0;
}
