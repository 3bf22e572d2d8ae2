/*
 * Step handlers for the load generator (harness/load/) inside a run: it is
 * started and stopped by steps; every failed or retried request and the
 * totals are queued as records, and its end as an event.
 */
#include "runner-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Request records a run keeps: failed and retried ones, or all of them
 * for a scenario that asks who served each. */
#define RECORD_FAILED_BOUND 5000
#define RECORD_ALL_BOUND 50000

static void on_load_request(load_t *load, const load_record_t *r, void *arg)
{
  runner_run_t *run = arg;
  cJSON *j;

  (void)load;
  if (r->outcome == LOAD_CANCELLED ||
      (r->outcome == LOAD_OK && !run->s->record_requests))
    return;
  /* every failure and every retry is in the trace, up to a bound; every
   * request when the scenario asks who served them */
  if (++run->loadgen.failed_records > (run->s->record_requests
                                           ? RECORD_ALL_BOUND
                                           : RECORD_FAILED_BOUND)) {
    if (!run->loadgen.dropped && (j = cJSON_CreateObject()) != NULL) {
      cJSON_AddStringToObject(j, "type", "load");
      cJSON_AddStringToObject(j, "what", "dropped");
      runner__queue_record(run, j);
    }
    run->loadgen.dropped = true;
    return;
  }
  j = cJSON_CreateObject();
  if (j == NULL)
    return;
  cJSON_AddStringToObject(j, "type", "load");
  cJSON_AddStringToObject(j, "what", "request");
  cJSON_AddNumberToObject(j, "t", (double)r->end_ns);
  cJSON_AddNumberToObject(j, "start", (double)r->start_ns);
  cJSON_AddNumberToObject(j, "seq", (double)r->seq);
  cJSON_AddStringToObject(j, "outcome", load_outcome_name(r->outcome));
  cJSON_AddBoolToObject(j, "retried", r->retried);
  if (r->status != 0)
    cJSON_AddNumberToObject(j, "status", r->status);
  if (r->worker != 0)
    cJSON_AddNumberToObject(j, "served_by", r->worker);
  cJSON_AddNumberToObject(j, "connection", (double)r->conn_seq);
  if (r->client != 0) {
    char ip[32];
    snprintf(ip, sizeof(ip), "127.0.0.%u", 1 + r->client);
    cJSON_AddStringToObject(j, "client", ip);
  }
  if (r->error != 0)
    cJSON_AddStringToObject(j, "error", uv_err_name(r->error));
  runner__queue_record(run, j);
}

static void add_totals(trace_load_totals_t *t, const load_counters_t *c)
{
  t->ran = true;
  t->sent += c->finished - c->outcome[LOAD_CANCELLED];
  t->ok += c->outcome[LOAD_OK];
  t->retried += c->outcome[LOAD_RETRIED];
  t->refused += c->outcome[LOAD_REFUSED];
  t->reset += c->outcome[LOAD_RESET];
  t->timeout += c->outcome[LOAD_TIMEOUT];
  t->bad_status += c->outcome[LOAD_BAD_STATUS];
  t->truncated += c->outcome[LOAD_TRUNCATED];
  t->error += c->outcome[LOAD_ERROR];
  t->failed += c->failed;
}

static cJSON *totals_record(runner_run_t *run, load_t *load,
                            const load_counters_t *c)
{
  const trace_load_totals_t *t = &run->res.load;
  cJSON *j = cJSON_CreateObject(), *per;
  unsigned id;

  if (j == NULL)
    return NULL;
  cJSON_AddStringToObject(j, "type", "load");
  cJSON_AddStringToObject(j, "what", "totals");
  cJSON_AddNumberToObject(j, "sent", (double)t->sent);
  cJSON_AddNumberToObject(j, "ok", (double)t->ok);
  cJSON_AddNumberToObject(j, "retried", (double)t->retried);
  cJSON_AddNumberToObject(j, "refused", (double)t->refused);
  cJSON_AddNumberToObject(j, "reset", (double)t->reset);
  cJSON_AddNumberToObject(j, "timeout", (double)t->timeout);
  cJSON_AddNumberToObject(j, "bad_status", (double)t->bad_status);
  cJSON_AddNumberToObject(j, "truncated", (double)t->truncated);
  cJSON_AddNumberToObject(j, "error", (double)t->error);
  cJSON_AddNumberToObject(j, "failed", (double)t->failed);
  cJSON_AddNumberToObject(j, "connections", (double)c->connections);
  per = cJSON_AddObjectToObject(j, "served_by");
  for (id = 1; id <= run->cluster.last_forked && id <= LOAD_MAX_WORKER_ID;
       id++) {
    uint64_t n = load_worker_responses(load, id);
    char key[16];
    if (n == 0)
      continue;
    snprintf(key, sizeof(key), "%u", id);
    cJSON_AddNumberToObject(per, key, (double)n);
  }
  return j;
}

static void on_load_done(load_t *load, void *arg)
{
  runner_run_t *run = arg;
  runner__event_t *ev;
  load_counters_t c;
  cJSON *j;

  load_counters(load, &c);
  add_totals(&run->res.load, &c);
  run->loadgen.running = false;
  run->loadgen.stopping = false;
  j = cJSON_CreateObject();
  if (j != NULL) {
    cJSON_AddStringToObject(j, "type", "load");
    cJSON_AddStringToObject(j, "what", "done");
    runner__queue_record(run, j);
  }
  runner__queue_record(run, totals_record(run, load, &c));
  runner__queue_record(run, load_measure_json(load_measure(load), uv_hrtime()));
  ev = runner__event_new(RUNNER__EV_LOAD_DONE);
  if (ev != NULL)
    runner__queue_push(run, ev);
  else
    /* the run's end waits for no load that is not running */
    runner__queue_wake(run);
}

/* The UNIX socket of the behaviour's server `index`, or NULL: a load
 * there connects to its path (in `buf`). */
static const char *load_unix_path(const runner_run_t *run,
                                  const scenario_load_spec_t *ls, char *buf,
                                  size_t len)
{
  const cJSON *srv = cJSON_GetArrayItem(
      cJSON_GetObjectItemCaseSensitive(run->s->behaviour, "servers"),
      (int)ls->port_index);
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(srv, "path");

  if (ls->serve[0] != '\0')
    return runner__cluster_primary_path(run, ls->serve);
  if (ls->sticky || !cJSON_IsString(p))
    return NULL;
  return runner__act_socket_path(run, p->valuestring, buf, len);
}

/* A load at a UDP server of the behaviour sends datagrams, to the
 * server's own host (::1 for udp6). */
static void load_udp(const runner_run_t *run, const scenario_load_spec_t *ls,
                     load_opts_t *o)
{
  const cJSON *srv = cJSON_GetArrayItem(
      cJSON_GetObjectItemCaseSensitive(run->s->behaviour, "servers"),
      (int)ls->port_index);
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(srv, "kind");
  const cJSON *host = cJSON_GetObjectItemCaseSensitive(srv, "host");

  if (ls->sticky || ls->serve[0] != '\0' || !cJSON_IsString(kind) ||
      strncmp(kind->valuestring, "udp", 3) != 0)
    return;
  o->udp = true;
  o->host = cJSON_IsString(host) ? host->valuestring
            : strcmp(kind->valuestring, "udp6") == 0 ? "::1"
                                                     : "127.0.0.1";
}

/* A scenario that asks who served every request needs every request in
 * the trace, which keeps RECORD_ALL_BOUND of them: a load with no count
 * bound is paced so that its duration cannot make more (on a fast machine
 * keep-alive load makes 100k requests a second, and the expectation would
 * be inconclusive). */
static void load_pace(const runner_run_t *run, load_opts_t *o)
{
  uint64_t most = RECORD_ALL_BOUND - RECORD_ALL_BOUND / 10;

  if (!run->s->record_requests || (o->requests > 0 && o->requests <= most))
    return;
  if (o->requests == 0 || o->requests > most)
    o->requests = most;
  o->rate = (unsigned)(most * 1000u / (o->duration_ms > 0 ? o->duration_ms
                                                          : 1000u));
  if (o->rate == 0)
    o->rate = 1;
}

static void load_options(runner_run_t *run, const scenario_load_spec_t *ls,
                         int port, load_opts_t *o)
{
  uint64_t left_ms = runner__scaled(run, run->s->timeout_ms);

  memset(o, 0, sizeof(*o));
  o->host = "127.0.0.1";
  o->port = port;
  o->path = ls->path;
  o->connections = ls->connections;
  o->keepalive = ls->keepalive;
  o->requests = ls->requests;
  /* bounded by its own settings, and by the run's deadline at most */
  o->duration_ms = (unsigned)(ls->duration_ms > 0 ? (uint64_t)ls->duration_ms
                                                  : left_ms);
  if (o->duration_ms > LOAD_MAX_DURATION_MS)
    o->duration_ms = LOAD_MAX_DURATION_MS;
  o->timeout_ms = (unsigned)runner__scaled(run, ls->timeout_ms);
  o->clients = ls->clients;
  load_pace(run, o);
  load_udp(run, ls, o);
  o->request_cb = on_load_request;
  o->arg = run;
}

/* Where a load goes: a server of the workers (by listen index), the
 * sticky policy's server, or a server of the primary's `serve`. */
static int load_port(const runner_run_t *run, const scenario_load_spec_t *ls)
{
  if (ls->sticky)
    return runner__cluster_primary_port(run, NULL);
  if (ls->serve[0] != '\0')
    return runner__cluster_primary_port(run, ls->serve);
  return runner__cluster_port(run, ls->port_index);
}

static void load_no_port(runner_run_t *run, const scenario_step_t *st)
{
  const scenario_load_spec_t *ls = &st->load;

  if (ls->sticky)
    runner__fail(run, st, "no port is known for the sticky policy's server "
                          "yet (wait for sticky-listening first)");
  else if (ls->serve[0] != '\0')
    runner__fail(run, st, "no port is known for the primary's server '%s' "
                          "yet (wait for handle-listening first)", ls->serve);
  else
    runner__fail(run, st, "no port is known for server %u: no worker listens "
                          "on it yet (wait for listening first)",
                 ls->port_index);
}

int runner__step_load_start(runner_run_t *run, const scenario_step_t *st,
                            const runner__call_t *call)
{
  const scenario_load_spec_t *ls = &st->load;
  int port = load_port(run, ls);
  char path[512];
  const char *unix_path = load_unix_path(run, ls, path, sizeof(path));
  load_opts_t o;
  cJSON *j;
  int rc;

  (void)call;
  if (run->loadgen.running) {
    runner__fail(run, st, "a load is already running");
    return RUNNER__STEP_FAILED;
  }
  if (port <= 0 && unix_path == NULL) {
    load_no_port(run, st);
    return RUNNER__STEP_FAILED;
  }
  if (run->loadgen.load == NULL && (rc = load_new(&run->loadgen.load)) != 0) {
    runner__fail(run, st, "cannot create the load: %s", uv_strerror(rc));
    return RUNNER__STEP_FAILED;
  }
  load_options(run, ls, port, &o);
  o.unix_path = unix_path;
  rc = load_start(run->loadgen.load, run->loop, &o, on_load_done);
  if (rc != 0) {
    runner__fail(run, st, "cannot start the load: %s", uv_strerror(rc));
    return RUNNER__STEP_FAILED;
  }
  run->loadgen.running = true;
  run->loadgen.dropped = false;
  run->loadgen.index = ls->port_index;
  run->loadgen.port = port;
  /* the primary's own servers and UNIX sockets never move */
  run->loadgen.fixed = ls->sticky || ls->serve[0] != '\0' ||
                       unix_path != NULL;
  j = cJSON_CreateObject();
  if (j != NULL) {
    cJSON_AddStringToObject(j, "type", "load");
    cJSON_AddStringToObject(j, "what", "start");
    if (unix_path != NULL)
      cJSON_AddStringToObject(j, "path", unix_path);
    else
      cJSON_AddNumberToObject(j, "port", port);
    cJSON_AddNumberToObject(j, "connections", o.connections);
    cJSON_AddBoolToObject(j, "keepalive", o.keepalive);
    if (o.udp)
      cJSON_AddBoolToObject(j, "udp", true);
    cJSON_AddNumberToObject(j, "line", st->line);
    cJSON_AddNumberToObject(j, "server", ls->port_index);
    if (ls->clients > 0)
      cJSON_AddNumberToObject(j, "clients", ls->clients);
    runner__queue_record(run, j);
  }
  return RUNNER__WAIT_NONE;
}

/* Stops the load, or (wait_done) waits for it to end by itself. */
int runner__step_load_stop(runner_run_t *run, const scenario_step_t *st,
                           const runner__call_t *call)
{
  if (!run->loadgen.running)
    return RUNNER__WAIT_NONE;
  if (!st->wait_done)
    runner__loadgen_stop(run);
  return call->trigger ? RUNNER__WAIT_NONE : RUNNER__WAIT_LOAD;
}

void runner__loadgen_stop(runner_run_t *run)
{
  runner__loadgen_t *lg = &run->loadgen;

  if (!lg->running || lg->stopping)
    return;
  lg->stopping = true;
  if (load_stop(lg->load) != 0)
    lg->stopping = false;
}

void runner__loadgen_follow(runner_run_t *run)
{
  runner__loadgen_t *lg = &run->loadgen;
  int port = runner__cluster_port(run, lg->index);
  cJSON *j;

  if (!lg->running || lg->stopping || lg->fixed || port <= 0 ||
      port == lg->port ||
      load_retarget(lg->load, port) != 0)
    return;
  j = cJSON_CreateObject();
  if (j != NULL) {
    cJSON_AddStringToObject(j, "type", "load");
    cJSON_AddStringToObject(j, "what", "retarget");
    cJSON_AddNumberToObject(j, "server", lg->index);
    cJSON_AddNumberToObject(j, "from", lg->port);
    cJSON_AddNumberToObject(j, "port", port);
    runner__queue_record(run, j);
  }
  lg->port = port;
}

void runner__loadgen_free(runner_run_t *run)
{
  if (run->loadgen.load != NULL)
    load_free(run->loadgen.load);
  run->loadgen.load = NULL;
}
