/*
 * primary-report.c - every cluster and Worker event as a protocol event
 * (docs/protocol.md §3), with the worker's flags sampled at the event, as
 * agents/node/lib/report.cjs reports them.
 */
#include <stdlib.h>

#include "primary-internal.h"

static const char *const primary_event_names[SIM_EV_MAX] = {
  "setup", "fork", "online", "listening", "message", "disconnect", "exit",
  "error"
};

void primary__report_flags(cJSON *m, const sim_worker_t *w)
{
  int ead = sim_worker_exited_after_disconnect(w);
  int pid = sim_worker_pid(w);

  cJSON_AddNumberToObject(m, "worker", sim_worker_id(w));
  /* A worker that failed to spawn has no pid: null, as in Node. */
  if (pid > 0)
    cJSON_AddNumberToObject(m, "pid", pid);
  else
    cJSON_AddNullToObject(m, "pid");
  if (ead < 0)
    cJSON_AddNullToObject(m, "ead");
  else
    cJSON_AddBoolToObject(m, "ead", ead);
  cJSON_AddBoolToObject(m, "connected", sim_worker_is_connected(w));
  cJSON_AddBoolToObject(m, "dead", sim_worker_is_dead(w));
  cJSON_AddBoolToObject(m, "member", sim_worker_in_workers(w));
  cJSON_AddStringToObject(m, "state", sim_worker_state(w));
}

static void primary_report_address(cJSON *m, const sim_address_t *a)
{
  cJSON *o = cJSON_AddObjectToObject(m, "address");

  if (o == NULL)
    return;
  if (a->udp != 0)
    cJSON_AddStringToObject(o, "addressType", a->udp == 6 ? "udp6" : "udp4");
  else
    cJSON_AddNumberToObject(o, "addressType", a->address_type);
  if (a->address != NULL)
    cJSON_AddStringToObject(o, "address", a->address);
  else
    cJSON_AddNullToObject(o, "address");
  cJSON_AddNumberToObject(o, "port", a->port);
  if (a->fd_defined)
    cJSON_AddNumberToObject(o, "fd", a->fd);
  else
    cJSON_AddNullToObject(o, "fd");
}

void primary__report_setup_snapshot(void)
{
  cJSON *copy = cJSON_Duplicate(primary__agent.settings, 1);

  if (copy != NULL && primary__agent.setup_snapshots != NULL)
    cJSON_AddItemToArray(primary__agent.setup_snapshots, copy);
  else
    cJSON_Delete(copy);
}

/* The settings of the oldest setupPrimary() whose event had not come. */
static void primary_report_settings(cJSON *m)
{
  cJSON *s = cJSON_DetachItemFromArray(primary__agent.setup_snapshots, 0);

  if (s == NULL)
    s = cJSON_Duplicate(primary__agent.settings, 1);
  if (s != NULL)
    cJSON_AddItemToObject(m, "settings", s);
}

/* The kind of the handle of the message being emitted: sim gives the
 * handle to the cluster's listener (the first) only, Node to both. */
static const char *primary_report_handle;

void primary__report_event(const sim_event_t *ev)
{
  cJSON *m = cJSON_CreateObject();

  if (m == NULL) {
    if (ev->type == SIM_EV_MESSAGE && ev->handle != NULL)
      primary__handles_received(ev);
    return;
  }
  cJSON_AddStringToObject(m, "type", "event");
  cJSON_AddStringToObject(m, "event", primary_event_names[ev->type]);
  cJSON_AddStringToObject(m, "emitter",
                          ev->emitter == SIM_ON_WORKER ? "worker" : "cluster");
  if (ev->worker != NULL)
    primary__report_flags(m, ev->worker);
  switch (ev->type) {
  case SIM_EV_EXIT: {
    const char *sig = ev->term_signal != 0 ? sim_signal_name(ev->term_signal)
                                           : NULL;
    if (ev->term_signal != 0)
      cJSON_AddNullToObject(m, "code");
    else
      cJSON_AddNumberToObject(m, "code", (double)ev->exit_code);
    if (sig != NULL)
      cJSON_AddStringToObject(m, "signal", sig);
    else
      cJSON_AddNullToObject(m, "signal");
    break;
  }
  case SIM_EV_LISTENING:
    primary_report_address(m, ev->address);
    break;
  case SIM_EV_MESSAGE:
    cJSON_AddItemToObject(m, "message", cJSON_Duplicate(ev->message, 1));
    if (ev->handle != NULL)
      primary_report_handle = primary__handle_kind(ev->handle);
    else if (ev->emitter == SIM_ON_CLUSTER)
      primary_report_handle = NULL;
    if (primary_report_handle != NULL)
      cJSON_AddStringToObject(m, "handle", primary_report_handle);
    break;
  case SIM_EV_SETUP:
    primary_report_settings(m);
    break;
  case SIM_EV_ERROR: {
    cJSON *e = cJSON_AddObjectToObject(m, "error");
    if (e == NULL)
      break;
    if (ev->error_code != NULL)
      cJSON_AddStringToObject(e, "code", ev->error_code);
    else
      cJSON_AddNullToObject(e, "code");
    cJSON_AddStringToObject(e, "message",
                            ev->error_message != NULL ? ev->error_message
                                                      : "");
    break;
  }
  default:
    break;
  }
  primary__send(m);
  /* The cluster's event, the handle held (its record), then the Worker's
   * event: the order of the Node agent's listeners. */
  if (ev->type == SIM_EV_MESSAGE && ev->handle != NULL)
    primary__handles_received(ev);
  if (ev->type == SIM_EV_MESSAGE && ev->emitter == SIM_ON_WORKER)
    primary_report_handle = NULL;
}

void primary__report_disconnect_callback(sim_cluster_t *c, void *arg)
{
  cJSON *m = cJSON_CreateObject();

  (void)c;
  (void)arg;
  primary__agent.callbacks++;
  if (m == NULL)
    return;
  cJSON_AddStringToObject(m, "type", "event");
  cJSON_AddStringToObject(m, "event", "disconnect-callback");
  cJSON_AddStringToObject(m, "emitter", "cluster");
  primary__send(m);
}
