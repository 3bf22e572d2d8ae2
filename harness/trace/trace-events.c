/* The event vocabulary: every name a `wait`, a trigger or an expectation
 * can use. */
#include "trace.h"

#include <string.h>


static const char *const ev_names[TRACE_EV_COUNT] = {
  [TRACE_EV_NONE] = "",
  [TRACE_EV_SETUP] = "setup",
  [TRACE_EV_FORK] = "fork",
  [TRACE_EV_ONLINE] = "online",
  [TRACE_EV_LISTENING] = "listening",
  [TRACE_EV_MESSAGE] = "message",
  [TRACE_EV_DISCONNECT] = "disconnect",
  [TRACE_EV_EXIT] = "exit",
  [TRACE_EV_ERROR] = "error",
  [TRACE_EV_DISCONNECT_CALLBACK] = "disconnect-callback",
  [TRACE_EV_RESPAWN] = "respawn",
  [TRACE_EV_SHUTDOWN_START] = "shutdown-start",
  [TRACE_EV_SHUTDOWN_FORCE] = "shutdown-force",
  [TRACE_EV_SHUTDOWN_DONE] = "shutdown-done",
  [TRACE_EV_HEARTBEAT_KILL] = "heartbeat-kill",
  [TRACE_EV_METRICS_LISTENING] = "metrics-listening",
  [TRACE_EV_RESTART_FORK] = "restart-fork",
  [TRACE_EV_RESTART_DISCONNECT] = "restart-disconnect",
  [TRACE_EV_RESTART_KILL] = "restart-kill",
  [TRACE_EV_RESTART_DONE] = "restart-done",
  [TRACE_EV_RESTART_FAILED] = "restart-failed",
  [TRACE_EV_METRICS_ERROR] = "metrics-error",
  [TRACE_EV_W_STARTED] = "worker-started",
  [TRACE_EV_W_LISTENING] = "worker-listening",
  [TRACE_EV_W_SERVER_CLOSE] = "worker-server-close",
  [TRACE_EV_W_MESSAGE] = "worker-message",
  [TRACE_EV_W_DISCONNECT] = "worker-disconnect",
  [TRACE_EV_W_EXITING] = "worker-exiting",
  [TRACE_EV_W_FAULT] = "worker-fault",
  [TRACE_EV_W_SERVER_ERROR] = "worker-server-error",
  [TRACE_EV_W_SIGNAL] = "worker-signal",
  [TRACE_EV_PRIMARY_EXIT] = "primary-exit",
};

const char *const *trace_ev_names(void)
{
  /* For suggestions: the list without the empty first entry. */
  static const char *list[TRACE_EV_COUNT];
  int i;

  if (list[0] == NULL)
    for (i = 1; i < TRACE_EV_COUNT; i++)
      list[i - 1] = ev_names[i];
  return list;
}

trace_ev_t trace_ev_from_name(const char *name)
{
  int i;

  if (name == NULL)
    return TRACE_EV_NONE;
  for (i = 1; i < TRACE_EV_COUNT; i++)
    if (strcmp(ev_names[i], name) == 0)
      return (trace_ev_t)i;
  return TRACE_EV_NONE;
}

const char *trace_ev_name(trace_ev_t ev)
{
  if ((int)ev < 0 || ev >= TRACE_EV_COUNT)
    return "?";
  return ev_names[ev];
}

