/*
 * worker-servers.c - the worker agent's servers (docs/protocol.md §4.1):
 * sim servers with the http/ responder behind them (TCP or UNIX socket),
 * and UDP sockets that answer each datagram; sharing them is the
 * cluster's business.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker-internal.h"

static void worker_server_end_group(worker__server_t *s);

/* Node's net.Server.close() leaves its sockets alone: a tcp server's
 * group ends only once its last connection has, by the client's end. */
static int worker_server_draining(const worker__server_t *s)
{
  http_stats_t st;

  if (s->group == NULL || s->conf->udp != 0 || s->conf->kind != HTTP_KIND_TCP)
    return 0;
  http_group_stats(s->group, &st);
  return st.connections > 0;
}

static void worker_server_release(uv_stream_t *conn, void *arg)
{
  worker__server_t *s = arg;

  sim_server_conn_close(&s->server, conn);
  if (s->draining && !worker_server_draining(s)) {
    s->draining = 0;
    worker_server_end_group(s);
  }
}

static void worker_server_on_group_closed(http_group_t *g, void *arg)
{
  worker__server_t *s = arg;
  cJSON *m;

  (void)g;
  s->group = NULL;
  if (s->closed)
    return;
  s->closed = 1;
  m = worker__observation("server-close");
  if (m != NULL) {
    cJSON_AddNumberToObject(m, "index", s->index);
    if (s->conf->udp != 0)
      cJSON_AddNumberToObject(m, "datagrams", (double)s->datagrams);
  }
  worker__observe(m);
  /* After the report, so that a disconnect waiting for this server goes
   * on (and closes the channel) only after its 'close', as in Node. */
  if (s->held_for_group) {
    s->held_for_group = 0;
    sim_server_unhold(&s->server);
  }
}

/* A UDP socket has no connections to wait for: it is closed at once. */
static void worker_server_end_group(worker__server_t *s)
{
  if (worker_server_draining(s)) {
    s->draining = 1;
    return;
  }
  if (s->group == NULL ||
      http_group_close(s->group, worker_server_on_group_closed, s) != 0)
    worker_server_on_group_closed(s->group, s);
}

static void worker_server_on_delay_closed(uv_handle_t *h)
{
  worker__server_t *s = h->data;

  sim_server_unhold(&s->server);
}

static void worker_server_on_delay(uv_timer_t *t)
{
  worker__server_t *s = t->data;

  worker_server_end_group(s);
  uv_close((uv_handle_t *)t, worker_server_on_delay_closed);
}

/* Node's server.close(), whoever starts it (the agent or a disconnect):
 * idle connections end at once, busy ones finish. A slow close holds the
 * server open for close_delay_ms first. */
static void worker_server_on_closing(sim_server_t *server)
{
  worker__server_t *s = server->data;

  if (s->closing)
    return;
  s->closing = 1;
  /* The http group's end is the server's 'close' (its connections
   * gone): the sim server waits for it. */
  if (s->group != NULL) {
    s->held_for_group = 1;
    sim_server_hold(server);
  }
  if (s->conf->close_delay_ms > 0 &&
      uv_timer_init(worker__agent.loop, &s->delay) == 0) {
    s->delay.data = s;
    sim_server_hold(server);
    (void)uv_timer_start(&s->delay, worker_server_on_delay,
                         s->conf->close_delay_ms, 0);
    return;
  }
  worker_server_end_group(s);
}

static void worker_server_on_connection(sim_server_t *server,
                                        uv_stream_t *conn)
{
  worker__server_t *s = server->data;

  if (s->group == NULL) {
    sim_server_conn_close(server, conn);
    return;
  }
  (void)http_group_serve_stream(s->group, conn);
}

/* Every datagram is answered `worker <id>\n`, so that the sender knows who
 * received it (the X-Worker of UDP). */
static void worker_server_on_datagram(sim_server_t *server, const char *data,
                                      size_t len, const struct sockaddr *from)
{
  worker__server_t *s = server->data;
  char line[32];
  int n;

  (void)data;
  (void)len;
  s->datagrams++;
  n = snprintf(line, sizeof(line), "worker %u\n",
               worker__agent.in_cluster ? worker__agent.child.id : 0);
  (void)sim_server_send_udp(server, line, (size_t)n, from);
}

/* Reported rather than fatal, so that a failed listen is an observation
 * (the Node agent's `server-error`). */
static void worker_server_error(worker__server_t *s, int status)
{
  cJSON *m = worker__observation("server-error");
  char text[160];

  snprintf(text, sizeof(text), "listen %s: %s", uv_err_name(status),
           uv_strerror(status));
  if (m != NULL) {
    cJSON_AddNumberToObject(m, "index", s->index);
    cJSON_AddStringToObject(m, "code", uv_err_name(status));
    cJSON_AddStringToObject(m, "message", text);
  }
  worker__observe(m);
}

/* The listen callback: it runs before the cluster hears of the listen, so
 * an on_listening action can keep `listening` from reaching the primary,
 * as in Node. */
static void worker_server_on_listen(sim_server_t *server, int status)
{
  worker__server_t *s = server->data;
  cJSON *m;

  if (status != 0) {
    worker_server_error(s, status);
    return;
  }
  m = worker__observation("listening");
  if (m != NULL) {
    cJSON_AddNumberToObject(m, "index", s->index);
    cJSON_AddNumberToObject(m, "port", server->port);
    if (s->conf->has_path)
      cJSON_AddStringToObject(m, "path", s->conf->path);
    cJSON_AddBoolToObject(m, "exclusive", s->conf->exclusive);
  }
  worker__observe(m);
  if (s->index != 0 || worker__agent.conf.on_listening_act == WORKER_ACT_NONE)
    return;
  m = worker__observation("fault");
  if (m != NULL) {
    cJSON_AddStringToObject(m, "fault", "on_listening");
    cJSON_AddStringToObject(m, "action", worker__agent.conf.on_listening);
  }
  worker__observe(m);
  worker__act(worker__agent.conf.on_listening_act,
              worker__agent.conf.on_listening_code, s);
}

/* The listen (or bind) of one server; its responder first. */
static int worker_server_start(worker__server_t *s)
{
  const worker__server_conf_t *c = s->conf;
  sim_child_t *child = worker__agent.in_cluster ? &worker__agent.child : NULL;
  sim_listen_opts_t opts = { 0 };
  http_opts_t hopts = { 0 };
  int rc;

  opts.address = c->has_host ? c->host : NULL;
  opts.port = c->port;
  opts.path = c->has_path ? c->path : NULL;
  opts.exclusive = c->exclusive;
  opts.max_connections = c->max_connections;
  if (c->udp != 0) {
    opts.address_type = c->udp;
    return sim_server_bind_udp(child, &s->server, &opts,
                               worker_server_on_listen,
                               worker_server_on_datagram);
  }
  hopts.kind = (http_kind_t)c->kind;
  /* Outside a cluster there is no id; 0 is never a cluster worker's. */
  hopts.worker_id = worker__agent.in_cluster ? worker__agent.child.id : 0;
  hopts.release_stream = worker_server_release;
  /* A net.Socket that ended its side waits for the peer's end without a
   * time limit (allowHalfOpen false): so does a tcp connection here. */
  if (c->kind == HTTP_KIND_TCP)
    hopts.keepalive_timeout_ms = WORKER_TCP_LINGER_MS;
  hopts.release_arg = s;
  rc = http_group_new(worker__agent.loop, &hopts, &s->group);
  if (rc == 0)
    rc = sim_server_listen(child, &s->server, &opts, worker_server_on_listen,
                           worker_server_on_connection);
  return rc;
}

void worker__servers_start(void)
{
  for (int i = 0; i < worker__agent.conf.nservers; i++) {
    worker__server_t *s = &worker__agent.servers[i];
    int rc;

    s->conf = &worker__agent.conf.servers[i];
    s->index = i;
    s->server.data = s;
    s->server.on_closing = worker_server_on_closing;
    rc = worker_server_start(s);
    if (rc != 0) {
      if (s->group != NULL)
        (void)http_group_close(s->group, NULL, NULL);
      s->group = NULL;
      worker_server_error(s, rc);
      continue;
    }
    s->listening = 1;
  }
}

void worker__server_close(worker__server_t *s)
{
  if (s->listening && s->server.priv != NULL)
    (void)sim_server_close(&s->server, NULL);
}

int worker__servers_close_all(void)
{
  int n = worker__handles_close_all();

  for (int i = 0; i < worker__agent.conf.nservers; i++) {
    worker__server_t *s = &worker__agent.servers[i];
    if (s->closing || !s->listening || s->server.priv == NULL)
      continue;
    worker__server_close(s);
    n++;
  }
  return n;
}
