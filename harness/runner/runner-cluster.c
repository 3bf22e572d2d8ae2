/*
 * What the records of a run say about its cluster: the workers (pids,
 * forked, exited), how often each event happened, the ports its servers
 * listen on. The dispatcher feeds every record in; steps and actions read
 * it to wait, resolve `last` and aim signals and load.
 */
#include "runner-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A worker id above this is not a worker of a test cluster. */
#define MAX_WORKER_ID 100000

runner__worker_t *runner__cluster_worker(runner_run_t *run, unsigned id)
{
  runner__cluster_t *cl = &run->cluster;

  if (id == 0 || id > MAX_WORKER_ID)
    return NULL;
  if (id > cl->n_workers) {
    /* doubling: a big cluster's ids arrive one by one */
    unsigned n = id + 16 > 2 * cl->n_workers ? id + 16 : 2 * cl->n_workers, i;
    runner__worker_t *b = realloc(cl->workers, n * sizeof(*b));
    if (b == NULL)
      return NULL;
    for (i = cl->n_workers; i < n; i++)
      memset(&b[i], 0, sizeof(b[i]));
    cl->workers = b;
    cl->n_workers = n;
  }
  return &cl->workers[id - 1];
}

void runner__cluster_forked(runner_run_t *run, unsigned id)
{
  runner__worker_t *w = runner__cluster_worker(run, id);

  if (id > run->cluster.last_forked)
    run->cluster.last_forked = id;
  if (w != NULL)
    w->known = true;
}

void runner__cluster_expect(runner_run_t *run, unsigned id)
{
  runner__worker_t *w = runner__cluster_worker(run, id);

  if (w != NULL)
    w->known = true;
}

static bool is_worker_hello(const trace_event_t *e)
{
  const cJSON *from = cJSON_GetObjectItemCaseSensitive(e->json, "from");

  return e->src == TRACE_SRC_LOG && strcmp(e->name, "hello") == 0 &&
         cJSON_IsString(from) && strcmp(from->valuestring, "worker") == 0;
}

static void learn_worker(runner_run_t *run, runner__worker_t *w,
                         const trace_event_t *e)
{
  w->known = true;
  if (e->ev != TRACE_EV_NONE && e->ev < TRACE_EV_COUNT)
    w->counts[e->ev][e->cluster_emitter ? 1 : 0]++;
  if (e->src == TRACE_SRC_AGENT && e->ev == TRACE_EV_FORK) {
    w->forked = true;
    if (e->worker > run->cluster.last_forked)
      run->cluster.last_forked = e->worker;
  }
  if (e->src == TRACE_SRC_AGENT && e->ev == TRACE_EV_EXIT)
    w->exited = true;
  /* the worker's own word on its pid wins */
  if (e->pid > 0 && (w->pid == 0 || is_worker_hello(e)))
    w->pid = e->pid;
}

/* Whether some worker still serves `port` for listen index `i`. */
static bool served(const runner_run_t *run, int i, int port)
{
  unsigned k;

  for (k = 0; k < run->cluster.n_workers; k++)
    if (run->cluster.workers[k].serves[i] == port)
      return true;
  return false;
}

/* A worker reports a listen: the port of its index, unless the cluster
 * still serves another one there. */
static void learn_listen(runner_run_t *run, runner__worker_t *w,
                         const trace_event_t *e)
{
  int *ports = run->cluster.ports;
  const cJSON *idx = cJSON_GetObjectItemCaseSensitive(e->json, "index");
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(e->json, "port");
  int i, port;

  if (!cJSON_IsNumber(idx) || !cJSON_IsNumber(v) || idx->valuedouble < 0 ||
      idx->valuedouble >= RUNNER__MAX_SERVERS || v->valuedouble <= 0)
    return;
  i = (int)idx->valuedouble;
  port = (int)v->valuedouble;
  /* an exclusive server is the worker's own: it never moves the port */
  if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e->json, "exclusive")))
    w->serves[i] = port;
  else if (ports[i] != 0)
    return;
  if (ports[i] == 0 || (ports[i] != port && !served(run, i, ports[i])))
    ports[i] = port;
}

/* The ports of the cluster's servers, by listen index: a worker says which
 * server it is; the primary's `listening` gives the first one. A worker
 * stops serving a port when it closes that server, disconnects, exits or
 * is disconnected. */
static void learn_ports(runner_run_t *run, runner__worker_t *w,
                        const trace_event_t *e)
{
  int *ports = run->cluster.ports;
  const cJSON *v;

  if (e->ev == TRACE_EV_W_LISTENING)
    learn_listen(run, w, e);
  if (e->ev == TRACE_EV_W_SERVER_CLOSE) {
    v = cJSON_GetObjectItemCaseSensitive(e->json, "index");
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 &&
        v->valuedouble < RUNNER__MAX_SERVERS)
      w->serves[(int)v->valuedouble] = 0;
  }
  if (trace_event_is(e, TRACE_EV_DISCONNECT, false) ||
      trace_event_is(e, TRACE_EV_EXIT, false) ||
      e->ev == TRACE_EV_RESTART_DISCONNECT ||
      (e->src == TRACE_SRC_HARNESS && strcmp(e->name, "disconnect") == 0))
    memset(w->serves, 0, sizeof(w->serves));
  if (e->src == TRACE_SRC_AGENT && e->ev == TRACE_EV_LISTENING &&
      ports[0] == 0) {
    v = cJSON_GetObjectItemCaseSensitive(e->json, "address");
    v = cJSON_GetObjectItemCaseSensitive(v, "port");
    if (cJSON_IsNumber(v) && v->valuedouble > 0)
      ports[0] = (int)v->valuedouble;
  }
}

/* Where the primary's own servers listen: its sticky policy's, and those
 * of `serve` by name. */
static void learn_primary_ports(runner_run_t *run, const trace_event_t *e)
{
  runner__cluster_t *cl = &run->cluster;
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(e->json, "port");
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(e->json, "server");
  const cJSON *path = cJSON_GetObjectItemCaseSensitive(e->json, "path");
  int port = cJSON_IsNumber(p) && p->valuedouble > 0 &&
                     p->valuedouble < 65536 ? (int)p->valuedouble : 0;
  unsigned i;

  if (e->ev == TRACE_EV_STICKY_LISTENING)
    cl->sticky_port = port;
  if (e->ev != TRACE_EV_HANDLE_LISTENING || !cJSON_IsString(n) ||
      (port == 0 && !cJSON_IsString(path)))
    return;
  for (i = 0; i < cl->n_serves; i++)
    if (strcmp(cl->serves[i].name, n->valuestring) == 0)
      break;
  if (i == RUNNER__MAX_SERVERS)
    return;
  if (i == cl->n_serves) {
    snprintf(cl->serves[i].name, sizeof(cl->serves[i].name), "%s",
             n->valuestring);
    cl->n_serves++;
  }
  cl->serves[i].port = port;
  snprintf(cl->serves[i].path, sizeof(cl->serves[i].path), "%s",
           cJSON_IsString(path) ? path->valuestring : "");
}

void runner__cluster_learn(runner_run_t *run, const trace_event_t *e)
{
  runner__cluster_t *cl = &run->cluster;
  runner__worker_t *w = runner__cluster_worker(run, e->worker);

  if (e->ev != TRACE_EV_NONE && e->ev < TRACE_EV_COUNT)
    cl->counts[e->ev][e->cluster_emitter ? 1 : 0]++;
  if (e->ev == TRACE_EV_SHUTDOWN_DONE)
    cl->shutdown_done_seen = true;
  if (e->ev == TRACE_EV_RESTART_DONE)
    cl->restart_done_count++;
  if (e->src == TRACE_SRC_POLICY)
    learn_primary_ports(run, e);
  /* records of no worker (the primary's own) say nothing of ports */
  if (w == NULL)
    return;
  learn_worker(run, w, e);
  learn_ports(run, w, e);
}

unsigned runner__cluster_count(const runner_run_t *run,
                               const scenario_step_t *st, unsigned id)
{
  const runner__cluster_t *cl = &run->cluster;
  int slot;

  /* setup, fork and the disconnect callback exist on `cluster` only */
  switch (st->event) {
  case TRACE_EV_SETUP:
  case TRACE_EV_FORK:
  case TRACE_EV_DISCONNECT_CALLBACK:
    slot = 1;
    break;
  default:
    slot = st->cluster_emitter ? 1 : 0;
  }
  if (id == 0)
    return cl->counts[st->event][slot];
  if (id > cl->n_workers)
    return 0;
  return cl->workers[id - 1].counts[st->event][slot];
}

bool runner__cluster_all_exited(const runner_run_t *run)
{
  const runner__cluster_t *cl = &run->cluster;

  for (unsigned i = 0; i < cl->n_workers; i++)
    if (cl->workers[i].forked &&
        cl->workers[i].counts[TRACE_EV_EXIT][0] == 0)
      return false;
  return true;
}

bool runner__cluster_settled(const runner_run_t *run)
{
  const runner__cluster_t *cl = &run->cluster;
  unsigned i;

  for (i = 0; i < cl->n_workers; i++) {
    const runner__worker_t *w = &cl->workers[i];
    if (!w->forked)
      continue;
    if (w->counts[TRACE_EV_EXIT][0] == 0)
      return false;
    if (w->counts[TRACE_EV_DISCONNECT][0] == 0 &&
        !run->s->allow_exit_without_disconnect)
      return false;
  }
  return true;
}

int runner__cluster_resolve(runner_run_t *run, const scenario_step_t *st,
                            unsigned trig, unsigned *id)
{
  *id = 0;
  switch (st->worker.kind) {
  case SCENARIO_W_ID:
    *id = st->worker.id;
    return 0;
  case SCENARIO_W_LAST:
    if (run->cluster.last_forked == 0) {
      runner__fail(run, st, "'last' names no worker: none was forked yet");
      return -1;
    }
    *id = run->cluster.last_forked;
    return 0;
  case SCENARIO_W_TRIGGER:
    if (trig == 0) {
      runner__fail(run, st, "the trigger's event has no worker");
      return -1;
    }
    *id = trig;
    return 0;
  default:
    return 0;
  }
}

int runner__cluster_pid(runner_run_t *run, const scenario_step_t *st,
                        unsigned id)
{
  runner__worker_t *w = runner__cluster_worker(run, id);

  if (w == NULL || !w->known) {
    runner__fail(run, st, "worker %u does not exist (yet)", id);
    return -1;
  }
  if (w->exited) {
    runner__fail(run, st, "worker %u has already exited", id);
    return -1;
  }
  if (w->pid <= 0) {
    runner__fail(run, st, "the pid of worker %u is not known yet", id);
    return -1;
  }
  return w->pid;
}

int runner__cluster_port(const runner_run_t *run, unsigned index)
{
  return index < RUNNER__MAX_SERVERS ? run->cluster.ports[index] : 0;
}

int runner__cluster_primary_port(const runner_run_t *run, const char *name)
{
  const runner__cluster_t *cl = &run->cluster;
  unsigned i;

  if (name == NULL)
    return cl->sticky_port;
  for (i = 0; i < cl->n_serves; i++)
    if (strcmp(cl->serves[i].name, name) == 0)
      return cl->serves[i].port;
  return 0;
}

const char *runner__cluster_primary_path(const runner_run_t *run,
                                         const char *name)
{
  const runner__cluster_t *cl = &run->cluster;
  unsigned i;

  for (i = 0; i < cl->n_serves; i++)
    if (strcmp(cl->serves[i].name, name) == 0)
      return cl->serves[i].path[0] != '\0' ? cl->serves[i].path : NULL;
  return NULL;
}

void runner__cluster_free(runner_run_t *run)
{
  free(run->cluster.workers);
  run->cluster.workers = NULL;
  run->cluster.n_workers = 0;
}
