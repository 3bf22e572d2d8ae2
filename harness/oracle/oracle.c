/*
 * The oracle: the invariants of DESIGN section 5 (sources in
 * shared/research/node-cluster-semantics.md sections 2 and 8), checked on
 * every trace in one pass plus a pass over the workers. Orders are only
 * ever asserted within one worker, never between workers.
 */
#include "oracle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The four events that have a Worker and a cluster twin. */
enum { TW_ONLINE = 0, TW_LISTENING, TW_DISCONNECT, TW_EXIT, TW_COUNT };

typedef struct {
  bool forked;
  /* fork() has returned (the harness's fork, a respawn or restart fork
   * names the id) though its `fork` event, emitted on a later tick, may
   * not be in the trace yet: cluster.workers holds the worker already */
  bool in_workers;
  int64_t fork_at;            /* trace index of fork */
  unsigned n_online, n_disconnect, n_exit;
  int64_t online_at, disconnect_at, exit_at;
  unsigned worker_n[TW_COUNT], cluster_n[TW_COUNT];
  int64_t exit_event;         /* index of the Worker's exit */
  int64_t cause_at;           /* first disconnect-like cause, -1: none */
  bool behaviour_cause;       /* on_listening disconnect/kill */
  bool after_end_reported;
} wstate_t;

typedef struct {
  const trace_t *tr;
  oracle_findings_t *out;
  wstate_t *w;
  unsigned n_w;
  int violations;
} oracle_t;

static int twin_of(trace_ev_t ev)
{
  switch (ev) {
  case TRACE_EV_ONLINE:
    return TW_ONLINE;
  case TRACE_EV_LISTENING:
    return TW_LISTENING;
  case TRACE_EV_DISCONNECT:
    return TW_DISCONNECT;
  case TRACE_EV_EXIT:
    return TW_EXIT;
  default:
    return -1;
  }
}

static wstate_t *ws(oracle_t *o, unsigned id)
{
  if (id == 0)
    return NULL;
  if (id > o->n_w) {
    unsigned n = id + 16;
    wstate_t *bigger = realloc(o->w, n * sizeof(*bigger));
    unsigned i;
    if (bigger == NULL)
      return NULL;
    for (i = o->n_w; i < n; i++) {
      memset(&bigger[i], 0, sizeof(bigger[i]));
      bigger[i].fork_at = bigger[i].online_at = -1;
      bigger[i].disconnect_at = bigger[i].exit_at = -1;
      bigger[i].exit_event = bigger[i].cause_at = -1;
    }
    o->w = bigger;
    o->n_w = n;
  }
  return &o->w[id - 1];
}

static void violation(oracle_t *o, const char *rule, const trace_event_t *e,
                      unsigned worker, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void violation(oracle_t *o, const char *rule, const trace_event_t *e,
                      unsigned worker, const char *fmt, ...)
{
  va_list ap;
  char *msg;
  char where[160] = "";

  va_start(ap, fmt);
  msg = base_vasprintf(fmt, ap);
  va_end(ap);
  if (msg == NULL)
    return;
  if (e != NULL)
    trace_event_describe(o->tr, e, where, sizeof(where));
  o->violations++;
  if (e != NULL)
    oracle_findings_add(o->out, ORACLE_FINDING_FAIL, rule, worker,
                         e->index, 0, "worker %u: %s, got %s [invariant %s]",
                         worker, msg, where, rule);
  else
    oracle_findings_add(o->out, ORACLE_FINDING_FAIL, rule, worker, -1, 0,
                         "worker %u: %s [invariant %s]", worker, msg, rule);
  free(msg);
}

/* Records that make exitedAfterDisconnect legitimately true. */
static void note_cause(oracle_t *o, const trace_event_t *e)
{
  const cJSON *v;
  unsigned i;
  bool all = false;
  unsigned id = 0;

  if (e->src == TRACE_SRC_HARNESS) {
    if (strcmp(e->name, "disconnect") == 0 ||
        strcmp(e->name, "worker-kill") == 0 ||
        strcmp(e->name, "worker-disconnect") == 0)
      id = e->worker;
    else if (strcmp(e->name, "cluster-disconnect") == 0 ||
             strcmp(e->name, "shutdown") == 0 ||
             strcmp(e->name, "end-shutdown") == 0)
      all = true;
    else if (strcmp(e->name, "fork") == 0) {
      wstate_t *f = ws(o, e->worker);
      if (f != NULL)
        f->in_workers = true;
      v = cJSON_GetObjectItemCaseSensitive(e->json, "on_listening");
      if (cJSON_IsString(v) && (strcmp(v->valuestring, "disconnect") == 0 ||
                                strcmp(v->valuestring, "kill") == 0)) {
        wstate_t *w = ws(o, e->worker);
        if (w != NULL)
          w->behaviour_cause = true;
      }
      return;
    }
  } else if (e->src == TRACE_SRC_POLICY) {
    if (e->ev == TRACE_EV_RESTART_DISCONNECT)
      id = e->worker;
    else if (e->ev == TRACE_EV_SHUTDOWN_START)
      all = true;
    else if (e->ev == TRACE_EV_RESPAWN || e->ev == TRACE_EV_RESTART_FORK) {
      /* a replacement runs the behaviour of the worker it replaces */
      unsigned old = 0;
      v = cJSON_GetObjectItemCaseSensitive(e->json, "old");
      if (cJSON_IsNumber(v) && v->valuedouble > 0)
        old = (unsigned)v->valuedouble;
      if (e->worker != 0 && ws(o, e->worker) != NULL)
        ws(o, e->worker)->in_workers = true;
      if (old != 0 && e->worker != 0) {
        wstate_t *wo = ws(o, old), *wn = ws(o, e->worker);
        if (wo != NULL && wn != NULL && wo->behaviour_cause)
          wn->behaviour_cause = true;
      }
      return;
    }
  } else if (e->src == TRACE_SRC_WORKER && e->ev == TRACE_EV_W_FAULT) {
    v = cJSON_GetObjectItemCaseSensitive(e->json, "fault");
    /* an on-listening behaviour reports its action the same way */
    if (cJSON_IsString(v) && strcmp(v->valuestring, "on_listening") == 0)
      v = cJSON_GetObjectItemCaseSensitive(e->json, "action");
    if (cJSON_IsString(v) && (strcmp(v->valuestring, "disconnect") == 0 ||
                              strcmp(v->valuestring, "kill") == 0 ||
                              strcmp(v->valuestring, "worker-kill") == 0 ||
                              strcmp(v->valuestring, "worker-disconnect") ==
                                  0))
      id = e->worker;
  }
  if (all) {
    for (i = 0; i < o->n_w; i++)
      if ((o->w[i].forked || o->w[i].in_workers) && o->w[i].cause_at < 0)
        o->w[i].cause_at = e->index;
  } else if (id != 0) {
    wstate_t *w = ws(o, id);
    if (w != NULL && w->cause_at < 0)
      w->cause_at = e->index;
  }
}

static void check_flags(oracle_t *o, const trace_event_t *e, wstate_t *w)
{
  const char *who = e->cluster_emitter ? "cluster " : "";

  if (e->ev != TRACE_EV_DISCONNECT && e->ev != TRACE_EV_EXIT)
    return;
  if (e->ead < 0)
    violation(o, ORACLE_INV_EAD_BOOL, e, e->worker,
              "expected exitedAfterDisconnect true or false at %s%s", who,
              e->name);
  else if (e->ead == 1 && w->cause_at < 0 && !w->behaviour_cause)
    violation(o, ORACLE_INV_EAD_CAUSE, e, e->worker,
              "expected exitedAfterDisconnect false at %s%s (no disconnect "
              "or worker-side kill came first)", who, e->name);
  if (e->ev == TRACE_EV_DISCONNECT) {
    if (e->connected != 0)
      violation(o, ORACLE_INV_CONNECTED, e, e->worker,
                "expected isConnected() false at %sdisconnect", who);
    /* disconnect before exit: the process is still alive */
    if (w->n_exit == 0 && e->dead == 1)
      violation(o, ORACLE_INV_DEAD, e, e->worker,
                "expected isDead() false at %sdisconnect before exit", who);
  } else {
    if (e->dead != 1)
      violation(o, ORACLE_INV_DEAD, e, e->worker,
                "expected isDead() true at %sexit", who);
    if (!e->has_exit || ((e->code >= 0) == (e->signal != 0)))
      violation(o, ORACLE_INV_EXIT_STATUS, e, e->worker,
                "expected exactly one of an exit code and a signal at "
                "%sexit", who);
  }
}

static void on_worker_event(oracle_t *o, const trace_event_t *e)
{
  wstate_t *w = ws(o, e->worker);
  int tw = twin_of(e->ev);
  char first[160];

  if (w == NULL)
    return;

  if (e->cluster_emitter && tw >= 0) {
    /* the Worker object's event comes first, then cluster's */
    if (w->cluster_n[tw] + 1 > w->worker_n[tw])
      violation(o, ORACLE_INV_TWIN, e, e->worker,
                "expected the Worker's %s before cluster's", e->name);
    w->cluster_n[tw]++;
    check_flags(o, e, w);
    return;
  }
  if (e->cluster_emitter && e->ev != TRACE_EV_FORK)
    return;

  /* nothing after both disconnect and exit (a send to a dead worker may
   * still raise ERR_IPC_CHANNEL_CLOSED, as in Node) */
  if (w->n_disconnect > 0 && w->n_exit > 0 && !w->after_end_reported &&
      e->ev != TRACE_EV_ERROR) {
    w->after_end_reported = true;
    violation(o, ORACLE_INV_AFTER_END, e, e->worker,
              "expected nothing after disconnect and exit");
  }

  switch (e->ev) {
  case TRACE_EV_FORK:
    if (w->forked) {
      trace_event_describe(o->tr, &o->tr->events[w->fork_at], first,
                             sizeof(first));
      violation(o, ORACLE_INV_IDS, e, e->worker,
                "expected a new id, worker %u was already forked (%s)",
                e->worker, first);
      return;
    }
    w->forked = true;
    w->fork_at = e->index;
    return;
  case TRACE_EV_ONLINE:
    if (!w->forked)
      violation(o, ORACLE_INV_LIFECYCLE, e, e->worker,
                "expected fork before online");
    if (++w->n_online > 1)
      violation(o, ORACLE_INV_ONCE, e, e->worker,
                "expected online at most once");
    w->online_at = e->index;
    break;
  case TRACE_EV_LISTENING:
    if (!w->forked)
      violation(o, ORACLE_INV_LIFECYCLE, e, e->worker,
                "expected fork before listening");
    else if (w->n_online == 0)
      violation(o, ORACLE_INV_LIFECYCLE, e, e->worker,
                "expected online before listening");
    break;
  case TRACE_EV_DISCONNECT:
    if (++w->n_disconnect > 1)
      violation(o, ORACLE_INV_ONCE, e, e->worker,
                "expected disconnect at most once");
    w->disconnect_at = e->index;
    break;
  case TRACE_EV_EXIT:
    if (++w->n_exit > 1)
      violation(o, ORACLE_INV_ONCE, e, e->worker,
                "expected exit at most once");
    w->exit_at = e->index;
    w->exit_event = e->index;
    break;
  default:
    break;
  }
  if (tw >= 0)
    w->worker_n[tw]++;
  check_flags(o, e, w);
  /* cluster.workers loses the worker before the later of disconnect and
   * exit is emitted */
  if ((e->ev == TRACE_EV_DISCONNECT || e->ev == TRACE_EV_EXIT) &&
      w->n_disconnect > 0 && w->n_exit > 0 && e->member == 1)
    violation(o, ORACLE_INV_MEMBERSHIP, e, e->worker,
              "expected worker %u out of cluster.workers at its last of "
              "disconnect and exit", e->worker);
}

int oracle_check(const trace_t *tr,
                         const oracle_opts_t *opts,
                         oracle_findings_t *out)
{
  oracle_t o;
  size_t i;
  unsigned next_id = 1, id;
  bool allow_exit_only = opts != NULL && opts->allow_exit_without_disconnect;

  memset(&o, 0, sizeof(o));
  o.tr = tr;
  o.out = out;
  for (i = 0; i < tr->count; i++) {
    const trace_event_t *e = &tr->events[i];

    note_cause(&o, e);
    if (e->src != TRACE_SRC_AGENT || e->worker == 0)
      continue;
    /* ids: 1, 2, 3... in fork order, never reused */
    if (e->ev == TRACE_EV_FORK && e->cluster_emitter) {
      wstate_t *w = ws(&o, e->worker);
      if (w != NULL && !w->forked && e->worker != next_id) {
        if (next_id == 1)
          violation(&o, ORACLE_INV_IDS, e, e->worker,
                    "expected ids to start at 1");
        else
          violation(&o, ORACLE_INV_IDS, e, e->worker,
                    "expected the next id to be %u", next_id);
      }
      if (w != NULL && !w->forked && e->worker >= next_id)
        next_id = e->worker + 1;
    }
    on_worker_event(&o, e);
  }

  /* A lifecycle is complete only when the run ended normally. */
  if (tr->complete) {
    for (id = 1; id <= o.n_w; id++) {
      wstate_t *w = &o.w[id - 1];
      const trace_event_t *ex =
          w->exit_event >= 0 ? &tr->events[w->exit_event] : NULL;
      int t;
      if (!w->forked)
        continue;
      if (w->n_exit == 0) {
        violation(&o, ORACLE_INV_BOTH_ENDS, NULL, id,
                  "expected an exit, got none before the end of the run");
        continue;
      }
      if (w->n_disconnect == 0 && !allow_exit_only)
        violation(&o, ORACLE_INV_BOTH_ENDS, NULL, id,
                  "expected a disconnect as well as the exit at %.3f s "
                  "(event #%u), got none",
                  trace_secs(tr, ex->t), ex->index);
      for (t = 0; t < TW_COUNT; t++)
        if (w->cluster_n[t] < w->worker_n[t]) {
          static const char *const names[TW_COUNT] = {
            "online", "listening", "disconnect", "exit"};
          violation(&o, ORACLE_INV_TWIN, NULL, id,
                    "expected cluster's %s after the Worker's, got none",
                    names[t]);
        }
    }
  }
  free(o.w);
  return o.violations;
}
