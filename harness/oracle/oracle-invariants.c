/*
 * The invariants of ORACLE_INVARIANT_MAP, one check each. A check sees one
 * event of one worker with what was known of the worker before it, or
 * (e == NULL) a forked worker at the end of a complete trace.
 */
#include "oracle-internal.h"


/* The event itself rather than its cluster twin (see trace_event_is): what
 * the per-worker counts and orders are about. */
static bool canonical(const trace_event_t *e)
{
  return !e->cluster_emitter || e->ev == TRACE_EV_FORK;
}

static bool is_end(const trace_event_t *e)
{
  return e->ev == TRACE_EV_DISCONNECT || e->ev == TRACE_EV_EXIT;
}

/* "cluster " for a cluster twin, in messages. */
static const char *who(const trace_event_t *e)
{
  return e->cluster_emitter ? "cluster " : "";
}

static const char *const twin_names[ORACLE__TWIN_COUNT] = {
  "online", "listening", "disconnect", "exit"};

int oracle__twin_of(trace_ev_t ev)
{
  static const trace_ev_t twins[ORACLE__TWIN_COUNT] = {
    TRACE_EV_ONLINE, TRACE_EV_LISTENING, TRACE_EV_DISCONNECT, TRACE_EV_EXIT};
  int t;

  for (t = 0; t < ORACLE__TWIN_COUNT; t++)
    if (twins[t] == ev)
      return t;
  return -1;
}

void oracle__invariant_both_ends(oracle__inv_t *o, unsigned worker,
                                 oracle__worker_t *w,
                                 const trace_event_t *e)
{
  const trace_event_t *ex;

  if (e != NULL)
    return;
  if (w->n_exit == 0) {
    oracle__violation(o, ORACLE_INVARIANT_BOTH_ENDS, NULL, worker,
                      "expected an exit, got none before the end of the "
                      "run");
    return;
  }
  if (w->n_disconnect > 0 || o->allow_exit_only)
    return;
  ex = &o->tr->events[w->exit_at];
  oracle__violation(o, ORACLE_INVARIANT_BOTH_ENDS, NULL, worker,
                    "expected a disconnect as well as the exit at %.3f s "
                    "(event #%u), got none", trace_secs(o->tr, ex->t),
                    ex->index);
}

void oracle__invariant_twin(oracle__inv_t *o, unsigned worker,
                            oracle__worker_t *w,
                            const trace_event_t *e)
{
  int t;

  if (e == NULL) {
    /* a worker without an exit is both-ends' finding: its missing twins
     * would say nothing more */
    if (w->n_exit == 0)
      return;
    for (t = 0; t < ORACLE__TWIN_COUNT; t++)
      if (w->cluster_n[t] < w->worker_n[t])
        oracle__violation(o, ORACLE_INVARIANT_TWIN, NULL, worker,
                          "expected cluster's %s after the Worker's, got "
                          "none", twin_names[t]);
    return;
  }
  t = oracle__twin_of(e->ev);
  /* the Worker object's event comes first, then cluster's */
  if (e->cluster_emitter && t >= 0 && w->cluster_n[t] + 1 > w->worker_n[t])
    oracle__violation(o, ORACLE_INVARIANT_TWIN, e, worker,
                      "expected the Worker's %s before cluster's", e->name);
}

void oracle__invariant_after_end(oracle__inv_t *o, unsigned worker,
                                 oracle__worker_t *w,
                                 const trace_event_t *e)
{
  /* a send to a dead worker may still raise ERR_IPC_CHANNEL_CLOSED, as in
   * Node; and one finding says it all */
  if (e == NULL || !canonical(e) || e->ev == TRACE_EV_ERROR ||
      w->n_disconnect == 0 || w->n_exit == 0 || w->after_end_reported)
    return;
  w->after_end_reported = true;
  oracle__violation(o, ORACLE_INVARIANT_AFTER_END, e, worker,
                    "expected nothing after disconnect and exit");
}

void oracle__invariant_ids(oracle__inv_t *o, unsigned worker,
                           oracle__worker_t *w,
                           const trace_event_t *e)
{
  char first[160];

  if (e == NULL || e->ev != TRACE_EV_FORK || !canonical(e))
    return;
  if (w->forked) {
    trace_event_describe(o->tr, &o->tr->events[w->fork_at], first,
                         sizeof(first));
    oracle__violation(o, ORACLE_INVARIANT_IDS, e, worker,
                      "expected a new id, worker %u was already forked (%s)",
                      worker, first);
  } else if (e->cluster_emitter && worker != o->next_id && o->next_id == 1) {
    oracle__violation(o, ORACLE_INVARIANT_IDS, e, worker,
                      "expected ids to start at 1");
  } else if (e->cluster_emitter && worker != o->next_id) {
    oracle__violation(o, ORACLE_INVARIANT_IDS, e, worker,
                      "expected the next id to be %u", o->next_id);
  }
}

void oracle__invariant_lifecycle(oracle__inv_t *o, unsigned worker,
                                 oracle__worker_t *w,
                                 const trace_event_t *e)
{
  if (e == NULL || !canonical(e))
    return;
  if ((e->ev == TRACE_EV_ONLINE || e->ev == TRACE_EV_LISTENING) &&
      !w->forked)
    oracle__violation(o, ORACLE_INVARIANT_LIFECYCLE, e, worker,
                      "expected fork before %s", e->name);
  else if (e->ev == TRACE_EV_LISTENING && w->n_online == 0)
    oracle__violation(o, ORACLE_INVARIANT_LIFECYCLE, e, worker,
                      "expected online before listening");
}

void oracle__invariant_once(oracle__inv_t *o, unsigned worker,
                            oracle__worker_t *w,
                            const trace_event_t *e)
{
  unsigned seen;

  if (e == NULL || !canonical(e))
    return;
  if (e->ev == TRACE_EV_ONLINE)
    seen = w->n_online;
  else if (e->ev == TRACE_EV_DISCONNECT)
    seen = w->n_disconnect;
  else if (e->ev == TRACE_EV_EXIT)
    seen = w->n_exit;
  else
    return;
  if (seen > 0)
    oracle__violation(o, ORACLE_INVARIANT_ONCE, e, worker,
                      "expected %s at most once", e->name);
}

void oracle__invariant_ead_boolean(oracle__inv_t *o, unsigned worker,
                                   oracle__worker_t *w,
                                   const trace_event_t *e)
{
  (void)w;
  if (e != NULL && is_end(e) && e->ead < 0)
    oracle__violation(o, ORACLE_INVARIANT_EAD_BOOLEAN, e, worker,
                      "expected exitedAfterDisconnect true or false at %s%s",
                      who(e), e->name);
}

void oracle__invariant_ead_cause(oracle__inv_t *o, unsigned worker,
                                 oracle__worker_t *w,
                                 const trace_event_t *e)
{
  if (e != NULL && is_end(e) && e->ead == 1 && !oracle__has_cause(o, w, e))
    oracle__violation(o, ORACLE_INVARIANT_EAD_CAUSE, e, worker,
                      "expected exitedAfterDisconnect false at %s%s (no "
                      "disconnect or worker-side kill came first)", who(e),
                      e->name);
}

void oracle__invariant_connected(oracle__inv_t *o, unsigned worker,
                                 oracle__worker_t *w,
                                 const trace_event_t *e)
{
  (void)w;
  if (e != NULL && e->ev == TRACE_EV_DISCONNECT && e->connected != 0)
    oracle__violation(o, ORACLE_INVARIANT_CONNECTED, e, worker,
                      "expected isConnected() false at %sdisconnect", who(e));
}

void oracle__invariant_dead(oracle__inv_t *o, unsigned worker,
                            oracle__worker_t *w,
                            const trace_event_t *e)
{
  if (e == NULL)
    return;
  /* disconnect before exit: the process is still alive */
  if (e->ev == TRACE_EV_DISCONNECT && w->n_exit == 0 && e->dead == 1)
    oracle__violation(o, ORACLE_INVARIANT_DEAD, e, worker,
                      "expected isDead() false at %sdisconnect before exit",
                      who(e));
  else if (e->ev == TRACE_EV_EXIT && e->dead != 1)
    oracle__violation(o, ORACLE_INVARIANT_DEAD, e, worker,
                      "expected isDead() true at %sexit", who(e));
}

void oracle__invariant_exit_status(oracle__inv_t *o, unsigned worker,
                                   oracle__worker_t *w,
                                   const trace_event_t *e)
{
  (void)w;
  if (e == NULL || e->ev != TRACE_EV_EXIT)
    return;
  if (!e->has_exit || ((e->code >= 0) == (e->signal != 0)))
    oracle__violation(o, ORACLE_INVARIANT_EXIT_STATUS, e, worker,
                      "expected exactly one of an exit code and a signal at "
                      "%sexit", who(e));
}

void oracle__invariant_membership(oracle__inv_t *o, unsigned worker,
                                  oracle__worker_t *w,
                                  const trace_event_t *e)
{
  bool last;

  if (e == NULL || !canonical(e) || e->member != 1)
    return;
  /* cluster.workers loses the worker before the later of disconnect and
   * exit is emitted */
  last = (e->ev == TRACE_EV_DISCONNECT && w->n_exit > 0) ||
         (e->ev == TRACE_EV_EXIT && w->n_disconnect > 0);
  if (last)
    oracle__violation(o, ORACLE_INVARIANT_MEMBERSHIP, e, worker,
                      "expected worker %u out of cluster.workers at its last "
                      "of disconnect and exit", worker);
}
