/* The list of findings the oracle and the expectations report. */
#include "oracle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void oracle_findings_init(oracle_findings_t *f)
{
  memset(f, 0, sizeof(*f));
}

void oracle_findings_free(oracle_findings_t *f)
{
  size_t i;

  for (i = 0; i < f->count; i++)
    free(f->items[i].message);
  free(f->items);
  memset(f, 0, sizeof(*f));
}

int oracle_findings_add(oracle_findings_t *f, oracle_finding_kind_t kind,
                         const char *rule, unsigned worker, int64_t event,
                         unsigned line, const char *fmt, ...)
{
  oracle_finding_t *it;
  va_list ap;

  /* A broken run can violate the same rule for every event: the first few
   * hundred findings say all there is to say. */
  if (f->count >= ORACLE_FINDINGS_MAX)
    return 0;
  if (f->count == f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 8;
    oracle_finding_t *n = realloc(f->items, cap * sizeof(*n));
    if (n == NULL)
      return UV_ENOMEM;
    f->items = n;
    f->cap = cap;
  }
  it = &f->items[f->count];
  memset(it, 0, sizeof(*it));
  it->kind = kind;
  snprintf(it->rule, sizeof(it->rule), "%s", rule);
  it->worker = worker;
  it->event = event;
  it->line = line;
  va_start(ap, fmt);
  it->message = base_vasprintf(fmt, ap);
  va_end(ap);
  if (it->message == NULL)
    return UV_ENOMEM;
  f->count++;
  return 0;
}

size_t oracle_findings_count(const oracle_findings_t *f,
                              oracle_finding_kind_t kind)
{
  size_t i, n = 0;

  for (i = 0; i < f->count; i++)
    if (f->items[i].kind == kind)
      n++;
  return n;
}
