/*
 * Symptom and cause: a wait that timed out says what it waited for
 * ("waited 5.000 s for 1 exit event of worker 1, saw 0"), but the trace
 * knows more: the last thing the worker did, and from it what Node does
 * next. One table, by the worker's last event, says that next step and the
 * rule of Node's cluster it follows; the verdict appends it to the
 * failure.
 */
#include "runner-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the trace says of one worker. */
typedef struct {
  const trace_event_t *last;   /* its last event, observation or action */
  bool listened;               /* a server of it listened */
  bool server_closed;          /* it saw a server close */
  bool forked;
} cause_worker_t;

/* A row: the worker's last event (`last`: an event or observation name
 * of TRACE_EV_MAP, or "action:NAME" for what the harness did to it),
 * optionally only when it listened and never saw its server close; what
 * Node does next; the rule. */
typedef struct {
  const char *last;
  bool server_open;
  const char *next;
  const char *rule;
} cause_row_t;

#define R_DISCONNECT                                                          \
  "worker.disconnect(): the worker closes its servers, then its channel "     \
  "(disconnect), then exits when nothing keeps it alive (exit)"
#define R_EXIT "a worker that is gone is reported once, as exit"
#define R_KILL                                                                \
  "worker.kill(signal): the signal ends the process unless it handles it; "   \
  "Node reports exit with that signal"
#define R_START "cluster.fork(): fork, then online when the worker starts"

static const cause_row_t cause_table[] = {
  {"disconnect", true,
   "it reported disconnect but its server never closed; Node closes the "
   "server, then the worker exits",
   R_DISCONNECT},
  {"worker-disconnect", true,
   "it saw its channel close but its server never closed; Node closes the "
   "server, then the worker exits",
   R_DISCONNECT},
  {"disconnect", false,
   "its channel is closed; Node's worker exits next, as soon as no server, "
   "socket or timer keeps its event loop alive",
   R_DISCONNECT},
  {"worker-disconnect", false,
   "it saw its channel close; it exits next, as soon as no server, socket "
   "or timer keeps its event loop alive",
   R_DISCONNECT},
  {"worker-server-close", false,
   "its servers closed; Node closes its channel next (disconnect), then the "
   "worker exits",
   R_DISCONNECT},
  {"action:disconnect", false,
   "the primary called worker.disconnect(); Node tells the worker, which "
   "closes its servers, then its channel (disconnect), then exits",
   R_DISCONNECT},
  {"action:worker-disconnect", false,
   "the worker called worker.disconnect() itself; it closes its servers, "
   "then its channel (disconnect), then exits",
   R_DISCONNECT},
  {"worker-exiting", false,
   "it called process.exit(); the primary reports exit when the process is "
   "reaped",
   R_EXIT},
  {"action:kill", false,
   "the primary called worker.kill(); the process dies by the signal unless "
   "it handles it, then Node reports exit",
   R_KILL},
  {"action:signal", false,
   "the harness signalled it; the process dies unless it handles the "
   "signal, then Node reports exit",
   R_KILL},
  {"worker-signal", false,
   "it handled a signal itself and goes on running: nothing ends it until "
   "it exits or is killed",
   R_KILL},
  {"action:hang", false,
   "its event loop is blocked: it does nothing more until it is killed",
   "a hung worker answers nothing; only a signal ends it"},
  {"action:pause", false,
   "it is stopped (SIGSTOP): it does nothing more until it is resumed or "
   "killed",
   "a stopped worker answers nothing; only SIGCONT or SIGKILL move it"},
  {"action:crash", false,
   "it was made to crash; Node reports exit with its code",
   R_EXIT},
  {"action:throw", false,
   "it was made to throw; Node reports exit with code 1",
   R_EXIT},
  {"action:worker-kill", false,
   "it called worker.kill() on itself; its process ends, then Node reports "
   "exit",
   R_KILL},
  {"action:ipc-disconnect", false,
   "it called process.disconnect(): Node reports disconnect, and the worker "
   "exits at once (exitedAfterDisconnect false)",
   "a channel closed without worker.disconnect() ends the worker"},
  {"action:close-servers", false,
   "its servers were closed; it keeps running while its channel is open",
   "a worker without servers stays until told otherwise"},
  {"action:resume", false,
   "it was resumed (SIGCONT): it goes on from where it stopped",
   "a stopped worker answers nothing; only SIGCONT or SIGKILL move it"},
  {"action:fork", false,
   "the primary called cluster.fork(); Node reports fork, then online",
   R_START},
  {"fork", false,
   "Node starts its process; online follows when its channel is up",
   R_START},
  {"online", false,
   "its program runs: listening follows each server it starts",
   "server.listen() in a worker: the primary reports listening"},
  {"worker-started", false,
   "its program runs: listening follows each server it starts",
   "server.listen() in a worker: the primary reports listening"},
  {"listening", false,
   "it serves until it is disconnected, killed or exits by itself",
   "a listening worker stays until told otherwise"},
  {"worker-listening", false,
   "it serves until it is disconnected, killed or exits by itself",
   "a listening worker stays until told otherwise"},
  {"exit", false, "it is dead: no event of it follows", R_EXIT},
};
#define N_CAUSES (sizeof(cause_table) / sizeof(cause_table[0]))

/* The name a row matches an event by. */
static void key_of(const trace_event_t *e, char *buf, size_t len)
{
  if (e->src == TRACE_SRC_HARNESS)
    snprintf(buf, len, "action:%s", e->name);
  else
    snprintf(buf, len, "%s", trace_ev_name(e->ev));
}

/* Whether `e` tells what the worker did: its Worker events (not their
 * cluster twins), its observations, and what the harness did to it. */
static bool tells(const trace_event_t *e)
{
  switch (e->src) {
  case TRACE_SRC_AGENT:
    return !e->cluster_emitter && e->ev != TRACE_EV_NONE &&
           e->ev != TRACE_EV_MESSAGE;
  case TRACE_SRC_WORKER:
    return e->ev != TRACE_EV_NONE && e->ev != TRACE_EV_W_MESSAGE &&
           e->ev != TRACE_EV_W_PROBE && e->ev != TRACE_EV_W_TIMER;
  case TRACE_SRC_HARNESS:
    return strcmp(e->name, "step") != 0 && strcmp(e->name, "end") != 0;
  default:
    return false;
  }
}

/* Where the run's end begins (the harness's `end` action): what follows
 * is the harness ending the cluster, not what the worker did by itself. */
static size_t end_of_steps(const trace_t *tr)
{
  size_t i;

  for (i = 0; i < tr->count; i++)
    if (tr->events[i].src == TRACE_SRC_HARNESS &&
        strcmp(tr->events[i].name, "end") == 0)
      return i;
  return tr->count;
}

static void worker_of(const trace_t *tr, unsigned id, cause_worker_t *w)
{
  size_t i, end = end_of_steps(tr);

  memset(w, 0, sizeof(*w));
  for (i = 0; i < end; i++) {
    const trace_event_t *e = &tr->events[i];
    if (e->worker != id)
      continue;
    if (e->ev == TRACE_EV_FORK)
      w->forked = true;
    if (e->ev == TRACE_EV_LISTENING || e->ev == TRACE_EV_W_LISTENING)
      w->listened = true;
    if (e->ev == TRACE_EV_W_SERVER_CLOSE)
      w->server_closed = true;
    if (tells(e))
      w->last = e;
  }
}

static const cause_row_t *row_of(const cause_worker_t *w)
{
  char key[48];
  size_t i;

  key_of(w->last, key, sizeof(key));
  for (i = 0; i < N_CAUSES; i++)
    if (strcmp(cause_table[i].last, key) == 0 &&
        (!cause_table[i].server_open ||
         (w->listened && !w->server_closed)))
      return &cause_table[i];
  return NULL;
}

/* "; worker 1 last did disconnect at 1.234 s (#40): <next> (rule: ...)" */
static char *cause_of(const trace_t *tr, unsigned id)
{
  cause_worker_t w;
  const cause_row_t *row;
  char key[48];

  worker_of(tr, id, &w);
  if (!w.forked && w.last == NULL)
    return base_asprintf("; worker %u was never forked", id);
  if (w.last == NULL)
    return NULL;
  key_of(w.last, key, sizeof(key));
  row = row_of(&w);
  if (row == NULL)
    return base_asprintf("; worker %u last did %s at %.3f s (#%u)", id, key,
                         trace_secs(tr, w.last->t), w.last->index);
  return base_asprintf("; worker %u last did %s at %.3f s (#%u): %s "
                       "(rule: %s)", id, key, trace_secs(tr, w.last->t),
                       w.last->index, row->next, row->rule);
}

/* The worker a failed wait named, from the message the step gave it
 * ("waited 5.000 s for 1 exit event of worker 1, saw 0"); 0 for any
 * worker, -1 for no failed wait. `event` gets the event's name. */
static int waited_for(const char *msg, char *event, size_t len)
{
  const char *p = strstr(msg, "waited ");
  unsigned count, id;
  char ev[32];

  if (p == NULL ||
      sscanf(p, "waited %*f s for %u %31s", &count, ev) != 2)
    return -1;
  snprintf(event, len, "%s", ev);
  p = strstr(p, " of worker ");
  if (p != NULL && sscanf(p, " of worker %u", &id) == 1)
    return (int)id;
  return 0;
}

/* Who reports each event: a wait on the primary's policy events says
 * nothing of what a worker did. */
static const trace_src_t ev_src[TRACE_EV_COUNT] = {
#define XX(ID, name, src, cluster_only) [TRACE_EV_##ID] = TRACE_SRC_##src,
    TRACE_EV_MAP(XX)
#undef XX
};

static bool of_workers(const char *event)
{
  trace_ev_t ev = trace_ev_from_name(event);

  return ev != TRACE_EV_NONE && ev != TRACE_EV_SETUP &&
         ev != TRACE_EV_DISCONNECT_CALLBACK &&
         (ev_src[ev] == TRACE_SRC_AGENT || ev_src[ev] == TRACE_SRC_WORKER);
}

/* Workers that never had `event`, for a wait on any worker: at most 3. */
static size_t lacking(const trace_t *tr, const char *event, unsigned *ids,
                      size_t max)
{
  trace_ev_t ev = trace_ev_from_name(event);
  size_t i, j, n = 0;

  size_t end = end_of_steps(tr);

  for (i = 0; i < end && n < max; i++) {
    const trace_event_t *e = &tr->events[i];
    bool had = false;
    if (e->ev != TRACE_EV_FORK || e->worker == 0)
      continue;
    for (j = i; j < end && !had; j++)
      had = tr->events[j].worker == e->worker && tr->events[j].ev == ev;
    if (!had)
      ids[n++] = e->worker;
  }
  return n;
}

static char *append(char *msg, char *more)
{
  char *s;

  if (more == NULL)
    return msg;
  s = base_asprintf("%s%s", msg, more);
  free(more);
  if (s == NULL)
    return msg;
  free(msg);
  return s;
}

/* The message of a failed wait, with the cause of each worker it names. */
static char *explained(const trace_t *tr, const char *msg)
{
  char event[32];
  unsigned ids[3];
  int id = waited_for(msg, event, sizeof(event));
  size_t n, i;
  char *out;

  if (id < 0 || strstr(msg, "; worker ") != NULL || !of_workers(event))
    return NULL;
  if (id > 0) {
    ids[0] = (unsigned)id;
    n = 1;
  } else {
    n = lacking(tr, event, ids, 3);
  }
  if (n == 0 || (out = strdup(msg)) == NULL)
    return NULL;
  for (i = 0; i < n; i++)
    out = append(out, cause_of(tr, ids[i]));
  return out;
}

void runner__verdict_causes(runner_run_t *run)
{
  oracle_findings_t *f = &run->res.findings;
  char **first = &run->report.step_failure;
  size_t i;

  for (i = 0; i < f->count; i++) {
    char *m = explained(&run->res.trace, f->items[i].message);
    if (m == NULL)
      continue;
    if (*first != NULL && strcmp(*first, f->items[i].message) == 0) {
      free(*first);
      *first = strdup(m);
    }
    free(f->items[i].message);
    f->items[i].message = m;
  }
}
