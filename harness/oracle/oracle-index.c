/*
 * The per-worker index of a trace: two passes (count, then place), a hash
 * from worker id to slot, so that building it and reading every worker's
 * records are linear in the trace.
 */
#include "oracle-internal.h"

#include <stdlib.h>
#include <string.h>

static size_t hash_of(unsigned id, size_t mask)
{
  /* Fibonacci hashing: consecutive ids, the usual case, spread out. */
  return (size_t)((id * 2654435761u) & mask);
}

static long find(const oracle__index_t *x, unsigned id, size_t *at)
{
  size_t h = hash_of(id, x->table_mask);

  while (x->table[h] != 0 && x->slots[x->table[h] - 1].id != id)
    h = (h + 1) & x->table_mask;
  *at = h;
  return x->table[h] != 0 ? (long)x->table[h] - 1 : -1;
}

/* The slot of `id`, made if new; -1 when out of memory. */
static long slot_of(oracle__index_t *x, unsigned id, size_t *cap)
{
  size_t at;
  long s = find(x, id, &at);

  if (s >= 0)
    return s;
  if (x->n_slots == *cap) {
    size_t n = *cap ? *cap * 2 : 16;
    oracle__slot_t *b = realloc(x->slots, n * sizeof(*b));
    if (b == NULL)
      return -1;
    x->slots = b;
    *cap = n;
  }
  memset(&x->slots[x->n_slots], 0, sizeof(x->slots[0]));
  x->slots[x->n_slots].id = id;
  x->slots[x->n_slots].fork_at = -1;
  x->table[at] = (uint32_t)++x->n_slots;
  return (long)x->n_slots - 1;
}

/* First pass: a slot per worker, how many records each has, and the
 * order of the forks. slot_at[i] is the slot of record i (-1: none). */
static int count(oracle__index_t *x, long *slot_at)
{
  const trace_t *tr = x->tr;
  size_t i, cap = 0;

  for (i = 0; i < tr->count; i++) {
    const trace_event_t *e = &tr->events[i];
    oracle__slot_t *sl;

    slot_at[i] = -1;
    if (e->worker == 0)
      continue;
    slot_at[i] = slot_of(x, e->worker, &cap);
    if (slot_at[i] < 0)
      return UV_ENOMEM;
    sl = &x->slots[slot_at[i]];
    sl->n++;
    if (sl->fork_at < 0 && trace_event_is(e, TRACE_EV_FORK, false)) {
      sl->fork_at = (int64_t)i;
      x->forked[x->n_forked++] = (uint32_t)slot_at[i];
    }
  }
  return 0;
}

int oracle__index_build(oracle__index_t *x, const trace_t *tr)
{
  size_t i, size = 16, *fill = NULL;
  long *slot_at = NULL;
  int rc = UV_ENOMEM;

  memset(x, 0, sizeof(*x));
  x->tr = tr;
  /* at most one slot per record: a table twice that never fills */
  while (size < 2 * tr->count + 2)
    size *= 2;
  x->table = calloc(size, sizeof(*x->table));
  x->table_mask = size - 1;
  x->events = malloc((tr->count + 1) * sizeof(*x->events));
  x->forked = malloc((tr->count + 1) * sizeof(*x->forked));
  slot_at = malloc((tr->count + 1) * sizeof(*slot_at));
  if (x->table == NULL || x->events == NULL || x->forked == NULL ||
      slot_at == NULL || (rc = count(x, slot_at)) != 0)
    goto out;
  rc = UV_ENOMEM;
  fill = calloc(x->n_slots + 1, sizeof(*fill));
  if (fill == NULL)
    goto out;
  for (i = 1; i < x->n_slots; i++)
    x->slots[i].first = x->slots[i - 1].first + x->slots[i - 1].n;
  for (i = 0; i < tr->count; i++)
    if (slot_at[i] >= 0) {
      const oracle__slot_t *sl = &x->slots[slot_at[i]];
      x->events[sl->first + fill[slot_at[i]]++] = (uint32_t)i;
    }
  rc = 0;
out:
  free(fill);
  free(slot_at);
  if (rc != 0)
    oracle__index_free(x);
  return rc;
}

void oracle__index_free(oracle__index_t *x)
{
  free(x->slots);
  free(x->events);
  free(x->forked);
  free(x->table);
  memset(x, 0, sizeof(*x));
}

long oracle__index_slot(const oracle__index_t *x, unsigned id)
{
  size_t at;

  if (x->table == NULL || id == 0)
    return -1;
  return find(x, id, &at);
}

const uint32_t *oracle__index_records(const oracle__index_t *x, unsigned id,
                                      size_t *n)
{
  long s = oracle__index_slot(x, id);

  *n = 0;
  if (s < 0)
    return NULL;
  *n = x->slots[s].n;
  return x->events + x->slots[s].first;
}
