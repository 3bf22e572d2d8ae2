/*
 * explore-actions.c - the generator's vocabulary: one row per kind of
 * action, with the step it writes, how often it is drawn, its parameters
 * (ranges, and the simplest value shrinking goes to) and what it does to
 * the cluster. Everything else (drawing, YAML, shrinking, the summary's
 * distribution) reads this table: a new kind is one row.
 */
#include "explore-internal.h"

#include <stdio.h>
#include <string.h>

/* Signals to a worker: the default ones that end it, one it ignores by
 * default. Not SIGUSR1 (Node starts its inspector on it), nor the ones
 * that dump core. */
static const char *const worker_signals[] = {
    "SIGTERM", "SIGINT", "SIGKILL", "SIGHUP", "SIGUSR2", "SIGWINCH", NULL};
/* What worker.kill(signal) is given. */
static const char *const kill_signals[] = {"SIGTERM", "SIGKILL", "SIGINT",
                                           NULL};
/* To the primary: the shutdown policy's signals first (a graceful end),
 * then deadly ones. */
static const char *const primary_signals[] = {"SIGTERM", "SIGINT", "SIGKILL",
                                              "SIGHUP", NULL};
static const char *const booleans[] = {"true", "false", NULL};
/* Events a trigger fires on: the early life of a worker forked later (a
 * respawn, a restart's replacement, a fork). */
static const char *const trigger_events[] = {"fork", "online", "listening",
                                             NULL};

#define MS(n, lo, hi, s) {EXPLORE__P_MS, n, lo, hi, s, NULL}
#define INT(n, lo, hi, s) {EXPLORE__P_INT, n, lo, hi, s, NULL}
#define CHOICE(n, list, count) {EXPLORE__P_CHOICE, n, 0, count - 1, 0, list}

#define W EXPLORE__A_WORKER
#define F EXPLORE__A_FAULT
#define END EXPLORE__A_ENDS

const explore__action_t explore__actions[] = {
  {"crash", 3, W | F | END | EXPLORE__A_CODE,
   "crash: {worker: %w, code: %0}", {INT("code", 0, 3, 1)}},
  {"throw", 2, W | F | END | EXPLORE__A_NONZERO, "throw: {worker: %w}", {{0}}},
  {"hang", 3, W | F, "hang: {worker: %w, for: %0}", {MS("for", 50, 1500, 50)}},
  {"pause", 4, W | F, "pause: {to: %w, for: %0}", {MS("for", 50, 1500, 50)}},
  {"pause-primary", 1, F, "pause: {to: primary, for: %0}",
   {MS("for", 50, 600, 50)}},
  {"signal", 3, W | F | EXPLORE__A_SIGNAL, "signal: {to: %w, signal: %0}",
   {CHOICE("signal", worker_signals, 6)}},
  {"signal-primary", 1, F | EXPLORE__A_LAST | EXPLORE__A_PSIGNAL,
   "signal: {to: primary, signal: %0}", {CHOICE("signal", primary_signals, 4)}},
  {"ipc-disconnect", 2, W | F | END, "ipc-disconnect: {worker: %w}", {{0}}},
  {"worker-kill", 2, W | F | END | EXPLORE__A_EAD, "worker-kill: {worker: %w}",
   {{0}}},
  {"worker-disconnect", 2, W | F | END | EXPLORE__A_EAD,
   "worker-disconnect: {worker: %w}", {{0}}},
  {"close-servers", 2, W | F | END, "close-servers: {worker: %w}", {{0}}},
  {"kill", 3, W | F | EXPLORE__A_SIGNAL, "kill: {worker: %w, signal: %0}",
   {CHOICE("signal", kill_signals, 3)}},
  {"disconnect", 3, W | F | END | EXPLORE__A_EAD, "disconnect: {worker: %w}",
   {{0}}},
  {"hold", 1, W | EXPLORE__A_PORT, "hold: {worker: %w, connections: %0}",
   {INT("connections", 1, 3, 1)}},
  {"connect", 2, EXPLORE__A_PORT, "connect: {connections: %0, hold: %1}",
   {INT("connections", 1, 4, 1), MS("hold", 50, 1000, 50)}},
  {"fork", 2, EXPLORE__A_FORKS, "fork: {count: %0}", {INT("count", 1, 2, 1)}},
  {"cluster-disconnect", 1, F | EXPLORE__A_ALL_END, "cluster-disconnect: {}",
   {{0}}},
  {"rolling-restart", 4, EXPLORE__A_RESTART,
   "rolling-restart: {timeout: %0, wait: %1}",
   {MS("timeout", 200, 2000, 2000), CHOICE("wait", booleans, 2)}},
  {"shutdown", 1, EXPLORE__A_LAST | EXPLORE__A_SHUTDOWN,
   "shutdown: {timeout: %0}", {MS("timeout", 200, 2000, 2000)}},
  {"send", 2, W, "send: {worker: %w, message: {n: %0}}", {INT("n", 0, 99, 0)}},
  {"worker-send", 2, W, "worker-send: {worker: %w, message: {n: %0}}",
   {INT("n", 0, 99, 0)}},
  {"status", 1, 0, "status: {worker: any}", {{0}}},
  {"trigger-kill", 2, F,
   "on: {event: %0, worker: any}\nafter: %1\n"
   "do: {signal: {to: trigger, signal: SIGKILL}}",
   {CHOICE("on", trigger_events, 3), MS("after", 0, 300, 0)}},
  {"trigger-crash", 1, F,
   "on: {event: %0, worker: any}\nafter: %1\n"
   "do: {crash: {worker: trigger, code: 3}}",
   {CHOICE("on", trigger_events, 3), MS("after", 0, 300, 0)}},  /* exit while a process the worker started keeps its channel open: the
   * primary sees `exit` before `disconnect`, the order Node's own
   * bookkeeping must survive */
  {"crash-held", 1, W | F | END | EXPLORE__A_CODE,
   "crash: {worker: %w, code: %0, hold-channel: %1}",
   {INT("code", 0, 3, 1), MS("hold-channel", 10, 1000, 10)}},
};

#undef W
#undef F
#undef END

const size_t explore__n_actions =
    sizeof(explore__actions) / sizeof(explore__actions[0]);

size_t explore_action_count(void)
{
  return explore__n_actions;
}

const char *explore_action_name(size_t action)
{
  return action < explore__n_actions ? explore__actions[action].name : "?";
}

int explore_action_find(const char *name)
{
  size_t i;

  for (i = 0; name != NULL && i < explore__n_actions; i++)
    if (strcmp(explore__actions[i].name, name) == 0)
      return (int)i;
  return -1;
}

const char *explore__param_text(const explore_step_t *step, unsigned k,
                                char *buf, size_t len)
{
  const explore__param_t *p = &explore__actions[step->action].params[k];
  int64_t v = step->params[k];

  switch (p->kind) {
  case EXPLORE__P_MS:
    snprintf(buf, len, "%lldms", (long long)v);
    break;
  case EXPLORE__P_CHOICE:
    snprintf(buf, len, "%s",
             v >= p->lo && v <= p->hi ? p->choices[v] : "?");
    break;
  default:
    snprintf(buf, len, "%lld", (long long)v);
    break;
  }
  return buf;
}

bool explore__signal_kills(const char *name)
{
  static const char *const harmless[] = {"SIGWINCH", "SIGCHLD", "SIGURG",
                                         "SIGCONT", NULL};
  size_t i;

  for (i = 0; harmless[i] != NULL; i++)
    if (strcmp(name, harmless[i]) == 0)
      return false;
  return true;
}

const char *explore__step_signal(const explore_step_t *step)
{
  const explore__action_t *a = &explore__actions[step->action];

  if (!(a->flags & (EXPLORE__A_SIGNAL | EXPLORE__A_PSIGNAL)) ||
      a->params[0].kind != EXPLORE__P_CHOICE || step->params[0] < 0 ||
      step->params[0] > a->params[0].hi)
    return NULL;
  return a->params[0].choices[step->params[0]];
}
