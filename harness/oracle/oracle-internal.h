/*
 * oracle-internal.h - shared between the files of harness/oracle only: the
 * per-worker index of a trace, the state the invariants keep per worker,
 * and the check functions the two tables of checks point at.
 */
#ifndef ORACLE_INTERNAL_H
#define ORACLE_INTERNAL_H

#include "oracle.h"

/* ---------------------------------------------------------------------- */
/* The index (oracle-index.c)                                              */

/* Every record that names a worker, grouped by worker: per-worker checks
 * then read that worker's records only, so checking every worker costs one
 * pass over the trace, whatever the number of workers. Worker ids come
 * from the trace and may be anything: they are hashed, never used as array
 * indices. */
typedef struct {
  unsigned id;
  uint32_t first;          /* its records: events[first .. first + n) */
  uint32_t n;
  int64_t fork_at;         /* trace position of its fork, -1: none */
} oracle__slot_t;

typedef struct {
  const trace_t *tr;
  oracle__slot_t *slots;   /* in order of first appearance */
  size_t n_slots;
  uint32_t *events;        /* trace positions, grouped by slot */
  uint32_t *forked;        /* slots in order of their fork event */
  size_t n_forked;
  uint32_t *table;         /* open addressing: slot + 1, 0: empty */
  size_t table_mask;
} oracle__index_t;

/* Builds the index of a finished trace; 0 or UV_ENOMEM. The trace must
 * outlive it (oracle__index_free). */
int oracle__index_build(oracle__index_t *x, const trace_t *tr);
void oracle__index_free(oracle__index_t *x);
/* The slot of worker `id`, or -1 when no record names it. */
long oracle__index_slot(const oracle__index_t *x, unsigned id);
/* The records of worker `id` (trace positions in trace order); *n = 0 and
 * NULL when there are none. */
const uint32_t *oracle__index_records(const oracle__index_t *x, unsigned id,
                                      size_t *n);

/* ---------------------------------------------------------------------- */
/* The invariants (oracle.c, oracle-invariants.c)                          */

/* The four events that have a Worker and a cluster twin. */
enum { ORACLE__TWIN_ONLINE = 0, ORACLE__TWIN_LISTENING, ORACLE__TWIN_DISCONNECT,
       ORACLE__TWIN_EXIT, ORACLE__TWIN_COUNT };

/* What the checks know of one worker: its events up to, not including,
 * the event being checked (the oracle counts an event after checking it). */
typedef struct {
  bool forked;
  int64_t fork_at;            /* trace index of its fork event */
  /* since when cluster.workers holds it: the first of its fork event and
   * the record of the fork() that returned it (the harness's fork, a
   * respawn or a restart fork), which may come first, the event being
   * emitted on a later tick; -1: not yet */
  int64_t member_since;
  unsigned n_online, n_disconnect, n_exit;
  unsigned worker_n[ORACLE__TWIN_COUNT], cluster_n[ORACLE__TWIN_COUNT];
  int64_t exit_at;            /* index of the Worker's latest exit */
  /* the arrival (trace_event_t.arrival) of the first record of the
   * primary's own stream that has it in cluster.workers (its fork event,
   * a respawn or restart fork), UINT32_MAX: none yet */
  uint32_t joined_arrival;
  int64_t cause_at;           /* first disconnect-like cause of its own */
  bool behaviour_cause;       /* on_listening disconnect/kill */
  bool after_end_reported;
} oracle__worker_t;

typedef struct {
  const trace_t *tr;
  bool allow_exit_only;
  oracle_findings_t *out;
  oracle__index_t idx;
  oracle__worker_t *w;        /* one per index slot */
  unsigned next_id;           /* the id the next new fork must have */
  int64_t all_cause_at;       /* the latest cluster-wide disconnect, -1 */
  /* arrivals of the primary's answers to cluster-disconnect, ascending:
   * where on the primary's stream each call really ran */
  uint32_t *answered;
  size_t n_answered;
  int violations;
} oracle__inv_t;

/* One invariant on one event of `worker` (e: the event; w: the worker
 * before it), or, with e NULL, on a forked worker at the end of a complete
 * trace. Each check decides for itself which events it concerns, and only
 * reads w, but for a mark of its own (after-end reports a worker once). */
#define XX(ID, name, str, doc)                                               \
  void oracle__invariant_##name(oracle__inv_t *o, unsigned worker,           \
                                oracle__worker_t *w,                         \
                                const trace_event_t *e);
ORACLE_INVARIANT_MAP(XX)
#undef XX

/* ORACLE__TWIN_* of an event, -1 for the others. */
int oracle__twin_of(trace_ev_t ev);

/* Whether worker w had a reason for exitedAfterDisconnect to be true at
 * its event e (from the primary's stream). */
bool oracle__has_cause(const oracle__inv_t *o, const oracle__worker_t *w,
                       const trace_event_t *e);

/* Records a violation: "worker N: <what>, got <e> [invariant <id>]". */
void oracle__violation(oracle__inv_t *o, oracle_invariant_t inv,
                       const trace_event_t *e, unsigned worker,
                       const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---------------------------------------------------------------------- */
/* The expectations (oracle-expect*.c)                                     */

typedef struct {
  const scenario_t *s;
  const trace_t *tr;          /* what the expectation sees: up to the end
                                 of the steps, or the whole run */
  const oracle__index_t *idx; /* of the whole run */
  const trace_load_totals_t *load;
  oracle_findings_t *out;
  const scenario_expect_t *e; /* the expectation being checked */
  int failures;
} oracle__expect_t;

/* One check per kind of SCENARIO_EXPECT_MAP: a missing one fails the
 * build. */
#define XX(ID, name, key, doc) void oracle__expect_##name(oracle__expect_t *c);
SCENARIO_EXPECT_MAP(XX)
#undef XX

/* A failure of the current expectation: "file:line: <message>". */
void oracle__expect_fail(oracle__expect_t *c, unsigned worker,
                         const trace_event_t *ev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Whether n lies in the expectation's [min, max] (-1: no bound). */
bool oracle__expect_within(const scenario_expect_t *e, int64_t n);
/* The expectation's count as a message says it: "3", "at least 1",
 * "at most 2", "1 to 4". */
void oracle__expect_range_text(char *buf, size_t len,
                               const scenario_expect_t *e);
/* The run did not exercise what the expectation needs. */
void oracle__expect_inconclusive(oracle__expect_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "listening at 1.203 s (event #57)", in one of a few rotating buffers, so
 * that a message can describe two events. */
const char *oracle__describe(const oracle__expect_t *c,
                             const trace_event_t *e);
/* The records of worker `id` that the expectation sees. */
const uint32_t *oracle__records(const oracle__expect_t *c, unsigned id,
                                size_t *n);
/* The workers forked in what the expectation sees, in fork order: how
 * many, and the id of the i-th. */
size_t oracle__n_forked(const oracle__expect_t *c);
unsigned oracle__forked_id(const oracle__expect_t *c, size_t i);
/* The nth event `ev` (or its cluster twin) of worker `worker` (0: of any),
 * or NULL. */
const trace_event_t *oracle__nth_event(const oracle__expect_t *c,
                                       trace_ev_t ev, bool cluster,
                                       unsigned worker, unsigned nth);

/* oracle-values.c */
/* Whether `have` holds what `want` says: objects by the keys written,
 * lists item by item, scalars equal (null: absent or null). */
bool oracle__json_has(const cJSON *want, const cJSON *have);
/* The checks of an expectation item on a record: exitedAfterDisconnect,
 * isConnected, isDead, member, state, code, signal, error, returned,
 * workers, fields (a list of values for alternatives), or `one-of` sets.
 * `fail` is called with what was expected and what the record had, for
 * each check that breaks (in a fixed order), or once for a `one-of` none
 * of whose sets holds. Returns how many times. */
typedef void (*oracle__value_fail_fn)(void *arg, const char *want,
                                      const char *have);
int oracle__values_check(const cJSON *rec, const cJSON *item,
                         oracle__value_fail_fn fail, void *arg);

/* oracle-sequence.c */
/* Whether `e` is one of the events of the mask (or their cluster twin). */
bool oracle__event_in(const trace_event_t *e, uint64_t events, bool cluster);
/* The record a point names (its worker `w` when it says each), or NULL;
 * and how messages name it. */
const trace_event_t *oracle__point_event(const oracle__expect_t *c,
                                         const scenario_point_t *p,
                                         unsigned w);
void oracle__point_text(char *buf, size_t len, const scenario_point_t *p,
                        unsigned w);

#endif /* ORACLE_INTERNAL_H */
