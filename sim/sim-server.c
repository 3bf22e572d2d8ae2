/*
 * sim-server.c - a net.Server inside a worker.
 *
 * A listen goes through the primary (queryServer) unless exclusive: the
 * reply either carries a bound socket (SCHED_NONE: listen on it here) or
 * nothing (SCHED_RR: connections arrive as newconn handles; a timer stands
 * in for Node's fake handle so the server keeps the process alive). As in
 * Node, the user's listen callback runs before `listening` is reported, and
 * close() waits for every open connection.
 */
#include <stdlib.h>
#include <string.h>

#include "sim-internal.h"

enum { M_NONE, M_EXCLUSIVE, M_SHARED, M_RR };

typedef struct index_s {
  char *key;
  int next_index;
  int active;
  struct index_s *next;
} index_t;

struct sim__server_priv {
  sim_child_t *child;
  int mode;
  uv_tcp_t *listener;        /* exclusive and shared modes */
  uv_timer_t *keepalive;     /* round-robin mode */
  uv_timer_t *deferred;      /* runs the listen callback later */
  int deferred_status;
  char *key;
  index_t *index_entry;
  int index;
  cJSON *query;              /* the fields sent with queryServer */
  sim_listen_cb listen_cb;
  sim_connection_cb connection_cb;
  sim_server_close_cb close_cb;
  void (*disc_cb)(void *arg);
  void *disc_arg;
  int max_connections;
  int backlog;
  int pending_query;
  int pending_closes;
  int closing;
};

/* Node's `indexes` map lives per process; a worker has one child. */
static index_t *indexes;

/* ---------------------------------------------------------------------- */
/* Close                                                                   */

static void finish_close(sim_server_t *server)
{
  struct sim__server_priv *p = server->priv;
  sim_server_close_cb cb;
  void (*disc_cb)(void *);
  void *disc_arg;

  if (!p->closing || p->pending_closes > 0 || p->pending_query ||
      server->connections > 0)
    return;
  cb = p->close_cb;
  disc_cb = p->disc_cb;
  disc_arg = p->disc_arg;
  free(p->key);
  cJSON_Delete(p->query);
  free(p);
  server->priv = NULL;
  if (disc_cb != NULL)
    disc_cb(disc_arg);
  if (cb != NULL)
    cb(server);
}

static void on_part_closed(uv_handle_t *h)
{
  sim_server_t *server = h->data;

  free(h);
  server->priv->pending_closes--;
  finish_close(server);
}

static void release_index(struct sim__server_priv *p)
{
  index_t *e = p->index_entry;

  if (e == NULL)
    return;
  p->index_entry = NULL;
  /* Only when every index of a tuple is released does the counter
   * restart at 0. */
  if (--e->active == 0) {
    for (index_t **pp = &indexes; *pp != NULL; pp = &(*pp)->next) {
      if (*pp == e) {
        *pp = e->next;
        break;
      }
    }
    free(e->key);
    free(e);
  }
}

static int start_close(sim_server_t *server)
{
  struct sim__server_priv *p = server->priv;

  if (p == NULL || p->closing)
    return UV_EALREADY;
  p->closing = 1;
  if (p->child != NULL && p->key != NULL) {
    cJSON *m = cJSON_CreateObject();
    sim__child_server_gone(p->child, server);
    if (m != NULL) {
      cJSON_AddStringToObject(m, "act", "close");
      cJSON_AddStringToObject(m, "key", p->key);
      (void)sim__child_send_cluster(p->child, m);
    }
  }
  release_index(p);
  /* The guard keeps finish_close() from running inside on_closing. */
  p->pending_closes++;
  if (server->on_closing != NULL)
    server->on_closing(server);
  p->pending_closes--;
  if (p->listener != NULL) {
    p->pending_closes++;
    uv_close((uv_handle_t *)p->listener, on_part_closed);
    p->listener = NULL;
  }
  if (p->deferred != NULL) {
    p->pending_closes++;
    uv_close((uv_handle_t *)p->deferred, on_part_closed);
    p->deferred = NULL;
  }
  if (p->keepalive != NULL) {
    p->pending_closes++;
    uv_close((uv_handle_t *)p->keepalive, on_part_closed);
    p->keepalive = NULL;
  }
  return 0;
}

int sim_server_close(sim_server_t *server, sim_server_close_cb cb)
{
  int err;

  if (server->priv == NULL)
    return UV_EALREADY;
  if (cb != NULL)
    server->priv->close_cb = cb;
  err = start_close(server);
  if (err == 0)
    finish_close(server);
  return err;
}

int sim__server_close_for_disconnect(sim_server_t *server,
                                     void (*cb)(void *arg), void *arg)
{
  int err;

  if (server->priv == NULL)
    return UV_EALREADY;
  server->priv->disc_cb = cb;
  server->priv->disc_arg = arg;
  err = start_close(server);
  if (err == 0)
    finish_close(server);
  else
    server->priv->disc_cb = NULL;
  return err;
}

/* ---------------------------------------------------------------------- */
/* Connections                                                             */

void sim_server_hold(sim_server_t *server)
{
  server->connections++;
}

void sim_server_unhold(sim_server_t *server)
{
  server->connections--;
  if (server->priv != NULL)
    finish_close(server);
}

int sim__server_accepts(const sim_server_t *server)
{
  const struct sim__server_priv *p = server->priv;

  return p != NULL && !p->closing &&
         !(p->max_connections > 0 &&
           server->connections >= p->max_connections);
}

void sim__server_on_connection(sim_server_t *server, uv_tcp_t *conn)
{
  server->connections++;
  server->priv->connection_cb(server, conn);
}

void sim_server_conn_close(sim_server_t *server, uv_tcp_t *conn)
{
  if (!uv_is_closing((uv_handle_t *)conn))
    uv_close((uv_handle_t *)conn, sim__close_free);
  server->connections--;
  if (server->priv != NULL)
    finish_close(server);
}

static void on_local_connection(uv_stream_t *listener, int status)
{
  sim_server_t *server = listener->data;
  uv_tcp_t *t;

  if (status != 0 || server->priv == NULL || server->priv->closing)
    return;
  t = malloc(sizeof(*t));
  if (t == NULL || uv_tcp_init(listener->loop, t) != 0) {
    free(t);
    return;
  }
  if (uv_accept(listener, (uv_stream_t *)t) != 0) {
    uv_close((uv_handle_t *)t, sim__close_free);
    return;
  }
  if (!sim__server_accepts(server)) {
    /* net.js: over maxConnections the connection is closed at once. */
    uv_close((uv_handle_t *)t, sim__close_free);
    return;
  }
  sim__server_on_connection(server, t);
}

/* ---------------------------------------------------------------------- */
/* Listening                                                               */

static int local_port(uv_tcp_t *tcp)
{
  struct sockaddr_storage ss;
  int len = sizeof(ss);

  if (uv_tcp_getsockname(tcp, (struct sockaddr *)&ss, &len) != 0)
    return 0;
  if (ss.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* The user's callback first, then cluster's own 'listening' listener. */
static void listening(sim_server_t *server, int status)
{
  struct sim__server_priv *p = server->priv;
  cJSON *m;

  p->listen_cb(server, status);
  p = server->priv;
  if (status != 0 || p == NULL || p->closing || p->child == NULL ||
      p->mode == M_EXCLUSIVE || p->index_entry == NULL)
    return;
  sim__child_set_listening(p->child);
  m = cJSON_Duplicate(p->query, 1);
  if (m == NULL)
    return;
  cJSON_ReplaceItemInObjectCaseSensitive(m, "act",
                                         cJSON_CreateString("listening"));
  cJSON_ReplaceItemInObjectCaseSensitive(m, "port",
                                         cJSON_CreateNumber(server->port));
  (void)sim__child_send_cluster(p->child, m);
}

static void on_deferred(uv_timer_t *t)
{
  sim_server_t *server = t->data;
  struct sim__server_priv *p = server->priv;

  p->deferred = NULL;
  p->pending_closes++;
  uv_close((uv_handle_t *)t, on_part_closed);
  listening(server, p->deferred_status);
}

/* 'listening' (and a bind error) is emitted asynchronously in Node. */
static void defer_listening(sim_server_t *server, int status)
{
  struct sim__server_priv *p = server->priv;
  uv_loop_t *loop = p->listener != NULL ? p->listener->loop : NULL;
  uv_timer_t *t;

  if (loop == NULL && p->child != NULL)
    loop = p->child->loop;
  t = malloc(sizeof(*t));
  if (t == NULL || loop == NULL || uv_timer_init(loop, t) != 0) {
    free(t);
    listening(server, status);
    return;
  }
  t->data = server;
  p->deferred = t;
  p->deferred_status = status;
  (void)uv_timer_start(t, on_deferred, 0, 0);
}

static void on_keepalive(uv_timer_t *t)
{
  (void)t;
}

void sim__server_on_reply(sim_server_t *server, const cJSON *reply,
                          uv_stream_t *handle)
{
  struct sim__server_priv *p = server->priv;
  const cJSON *key, *err, *sockname;
  int status = 0;

  p->pending_query = 0;
  if (reply == NULL || p->closing) {
    /* The channel closed first, or the server was closed meanwhile. */
    if (handle != NULL)
      uv_close((uv_handle_t *)handle, sim__close_free);
    if (p->child != NULL)
      sim__child_server_gone(p->child, server);
    finish_close(server);
    return;
  }
  key = cJSON_GetObjectItemCaseSensitive(reply, "key");
  if (cJSON_IsString(key))
    p->key = strdup(key->valuestring);
  err = cJSON_GetObjectItemCaseSensitive(reply, "errno");
  if (handle != NULL) {
    p->mode = M_SHARED;
    p->listener = (uv_tcp_t *)handle;
    handle->data = server;
    if (handle->type != UV_TCP)
      status = UV_EINVAL;
    else
      status = uv_listen(handle, p->backlog > 0 ? p->backlog : 511,
                         on_local_connection);
    if (status == 0)
      server->port = local_port(p->listener);
  } else if (cJSON_IsNumber(err) && err->valuedouble != 0) {
    status = (int)err->valuedouble;
  } else {
    p->mode = M_RR;
    sockname = cJSON_GetObjectItemCaseSensitive(reply, "sockname");
    if (cJSON_IsObject(sockname)) {
      const cJSON *port = cJSON_GetObjectItemCaseSensitive(sockname, "port");
      if (cJSON_IsNumber(port))
        server->port = (int)port->valuedouble;
    }
    p->keepalive = malloc(sizeof(*p->keepalive));
    if (p->keepalive != NULL &&
        uv_timer_init(p->child->loop, p->keepalive) == 0) {
      p->keepalive->data = server;
      (void)uv_timer_start(p->keepalive, on_keepalive, 1u << 30, 1u << 30);
    } else {
      free(p->keepalive);
      p->keepalive = NULL;
    }
  }
  defer_listening(server, status);
}

const char *sim__server_key(const sim_server_t *server)
{
  return server->priv != NULL ? server->priv->key : NULL;
}

static int listen_exclusive(uv_loop_t *loop, sim_server_t *server,
                            const sim_listen_opts_t *opts)
{
  struct sim__server_priv *p = server->priv;
  int err;

  p->mode = M_EXCLUSIVE;
  p->listener = malloc(sizeof(*p->listener));
  if (p->listener == NULL)
    return UV_ENOMEM;
  err = uv_tcp_init(loop, p->listener);
  if (err != 0) {
    free(p->listener);
    p->listener = NULL;
    return err;
  }
  p->listener->data = server;
  err = sim__tcp_bind(p->listener, opts->address, opts->address_type,
                      opts->port, opts->ipv6_only ? 1 : 0);
  if (err == 0)
    err = uv_listen((uv_stream_t *)p->listener,
                    opts->backlog > 0 ? opts->backlog : 511,
                    on_local_connection);
  if (err == 0)
    server->port = local_port(p->listener);
  defer_listening(server, err);
  return 0;
}

static cJSON *build_query(const sim_listen_opts_t *o, int address_type,
                          int index)
{
  cJSON *q = cJSON_CreateObject();

  if (q == NULL)
    return NULL;
  cJSON_AddStringToObject(q, "act", "queryServer");
  cJSON_AddNumberToObject(q, "index", index);
  cJSON_AddNullToObject(q, "data");
  if (o->address != NULL)
    cJSON_AddStringToObject(q, "address", o->address);
  else
    cJSON_AddNullToObject(q, "address");
  cJSON_AddNumberToObject(q, "port", o->port);
  cJSON_AddNumberToObject(q, "addressType", address_type);
  /* net.js's listenInCluster() has fd and flags members, undefined
   * unless given ('advanced' writes them; 'json' leaves them out); flags
   * only come with a host. */
  cJSON_AddItemToObject(q, "fd", sim__json_undefined());
  if (o->address != NULL)
    cJSON_AddNumberToObject(q, "flags", o->ipv6_only ? 1 : 0);
  else
    cJSON_AddItemToObject(q, "flags", sim__json_undefined());
  cJSON_AddNumberToObject(q, "backlog", o->backlog);
  return q;
}

int sim_server_listen(sim_child_t *child, sim_server_t *server,
                      const sim_listen_opts_t *opts, sim_listen_cb listen_cb,
                      sim_connection_cb connection_cb)
{
  struct sim__server_priv *p;
  char ikey[512];
  index_t *e;
  int atype;
  cJSON *q;
  int err;

  if (server->priv != NULL)
    return UV_EALREADY;
  p = calloc(1, sizeof(*p));
  if (p == NULL)
    return UV_ENOMEM;
  server->priv = p;
  server->child = child;
  server->port = 0;
  server->connections = 0;
  p->child = child;
  p->listen_cb = listen_cb;
  p->connection_cb = connection_cb;
  p->max_connections = opts->max_connections;
  p->backlog = opts->backlog;
  if (child == NULL || opts->exclusive)
    return listen_exclusive(child != NULL ? child->loop : uv_default_loop(),
                            server, opts);

  atype = opts->address_type;
  if (atype == 0)
    atype = (opts->address != NULL && strchr(opts->address, ':')) ? 6 : 4;
  /* Array.prototype.join renders null as the empty string. */
  snprintf(ikey, sizeof(ikey), "%s:%d:%d:", opts->address ? opts->address : "",
           opts->port, atype);
  for (e = indexes; e != NULL; e = e->next)
    if (strcmp(e->key, ikey) == 0)
      break;
  if (e == NULL) {
    e = calloc(1, sizeof(*e));
    if (e == NULL || (e->key = strdup(ikey)) == NULL) {
      free(e);
      err = UV_ENOMEM;
      goto fail;
    }
    e->next = indexes;
    indexes = e;
  }
  p->index = e->next_index++;
  e->active++;
  p->index_entry = e;
  q = build_query(opts, atype, p->index);
  p->query = cJSON_Duplicate(q, 1);
  if (q == NULL || p->query == NULL) {
    cJSON_Delete(q);
    err = UV_ENOMEM;
    goto fail;
  }
  p->pending_query = 1;
  err = sim__child_query(child, server, q);
  if (err != 0) {
    /* Not connected: sendHelper drops it and Node never calls back. */
    p->pending_query = 0;
  }
  return 0;

fail:
  release_index(p);
  cJSON_Delete(p->query);
  free(p);
  server->priv = NULL;
  return err;
}
