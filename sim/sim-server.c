/*
 * sim-server.c - a net.Server (or a dgram socket) inside a worker.
 *
 * A listen goes through the primary (queryServer) unless exclusive: the
 * reply either carries a bound socket (SCHED_NONE, and UDP always: listen
 * or receive on it here) or nothing (SCHED_RR: connections arrive as
 * newconn handles; a timer stands in for Node's fake handle so the server
 * keeps the process alive). As in Node, the user's listen callback runs
 * before `listening` is reported, and close() waits for every open
 * connection. TCP, UNIX-socket paths and UDP share all of it: they are
 * one `obj` to child.js; only the handle's type differs.
 */
#include <stdlib.h>
#include <string.h>

#include "sim-internal.h"

enum { M_NONE, M_EXCLUSIVE, M_SHARED, M_RR };
/* What the server listens on: the type its handles must have. */
enum { K_TCP, K_PIPE, K_UDP };

typedef struct index_s {
  char *key;
  int next_index;
  int active;
  struct index_s *next;
} index_t;

struct sim__server_priv {
  sim_child_t *child;
  int mode;
  int kind;                  /* K_* */
  uv_handle_t *listener;     /* exclusive and shared modes: a malloc'ed
                                uv_tcp_t, uv_pipe_t or uv_udp_t */
  uv_timer_t *keepalive;     /* round-robin mode */
  uv_timer_t *deferred;      /* runs the listen callback later */
  int deferred_status;
  char *key;
  index_t *index_entry;
  int index;
  cJSON *query;              /* the fields sent with queryServer */
  sim_listen_cb listen_cb;
  sim_connection_cb connection_cb;
  sim_datagram_cb datagram_cb;
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
  /* The application's close callback stands for its 'close' listener,
   * registered before the disconnect's server.close(cb): it runs first,
   * with the channel still connected. */
  if (cb != NULL)
    cb(server);
  if (disc_cb != NULL)
    disc_cb(disc_arg);
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
    uv_close(p->listener, on_part_closed);
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

/* The handle type a server's connections (and listeners) have. */
static uv_handle_type kind_type(int kind)
{
  return kind == K_PIPE ? UV_NAMED_PIPE : kind == K_UDP ? UV_UDP : UV_TCP;
}

int sim__server_accepts(const sim_server_t *server, const uv_stream_t *conn)
{
  const struct sim__server_priv *p = server->priv;

  return p != NULL && !p->closing && p->kind != K_UDP && conn != NULL &&
         conn->type == kind_type(p->kind) &&
         !(p->max_connections > 0 &&
           server->connections >= p->max_connections);
}

void sim__server_on_connection(sim_server_t *server, uv_stream_t *conn)
{
  server->connections++;
  server->priv->connection_cb(server, conn);
}

void sim__server_on_datagram(sim_server_t *server, const char *data,
                             size_t len, const struct sockaddr *from)
{
  struct sim__server_priv *p = server->priv;

  if (p != NULL && !p->closing && p->datagram_cb != NULL)
    p->datagram_cb(server, data, len, from);
}

int sim_server_send_udp(sim_server_t *server, const void *data, size_t len,
                        const struct sockaddr *to)
{
  struct sim__server_priv *p = server->priv;

  if (p == NULL || p->closing || p->kind != K_UDP || p->listener == NULL)
    return UV_EBADF;
  return sim__udp_send((uv_udp_t *)p->listener, data, len, to);
}

void sim_server_conn_close(sim_server_t *server, uv_stream_t *conn)
{
  if (!uv_is_closing((uv_handle_t *)conn))
    uv_close((uv_handle_t *)conn, sim__close_free);
  server->connections--;
  if (server->priv != NULL)
    finish_close(server);
}

/* A stream handle of the type of `listener`, initialised; NULL when out of
 * memory. */
static uv_stream_t *stream_new(uv_loop_t *loop, uv_handle_type type)
{
  uv_stream_t *t = malloc(type == UV_NAMED_PIPE ? sizeof(uv_pipe_t)
                                                : sizeof(uv_tcp_t));
  int err;

  if (t == NULL)
    return NULL;
  err = type == UV_NAMED_PIPE ? uv_pipe_init(loop, (uv_pipe_t *)t, 0)
                              : uv_tcp_init(loop, (uv_tcp_t *)t);
  if (err != 0) {
    free(t);
    return NULL;
  }
  return t;
}

static void on_local_connection(uv_stream_t *listener, int status)
{
  sim_server_t *server = listener->data;
  uv_stream_t *t;

  if (status != 0 || server->priv == NULL || server->priv->closing)
    return;
  t = stream_new(listener->loop, listener->type);
  if (t == NULL)
    return;
  if (uv_accept(listener, t) != 0) {
    uv_close((uv_handle_t *)t, sim__close_free);
    return;
  }
  if (!sim__server_accepts(server, t)) {
    /* net.js: over maxConnections the connection is closed at once. */
    uv_close((uv_handle_t *)t, sim__close_free);
    return;
  }
  sim__server_on_connection(server, t);
}

/* ---------------------------------------------------------------------- */
/* Listening                                                               */

/* The port a listener is bound to; -1 for a UNIX socket, as Node's
 * `listening` reports it. */
static int local_port(const uv_handle_t *h)
{
  struct sockaddr_storage ss;
  int len = sizeof(ss);

  if (h->type == UV_NAMED_PIPE)
    return -1;
  if (h->type == UV_UDP)
    return sim__udp_port((const uv_udp_t *)h);
  if (uv_tcp_getsockname((const uv_tcp_t *)h, (struct sockaddr *)&ss,
                         &len) != 0)
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

/* dgram's bind flags: UV_UDP_IPV6ONLY and UV_UDP_REUSEADDR. */
static int udp_flags(const sim_listen_opts_t *o)
{
  return (o->ipv6_only ? UV_UDP_IPV6ONLY : 0) |
         (o->reuse_addr ? UV_UDP_REUSEADDR : 0);
}

static void on_keepalive(uv_timer_t *t)
{
  (void)t;
}

/* Starts a bound listener: listen() for TCP and UNIX sockets, receiving
 * for UDP. */
static int listener_start(sim_server_t *server, int backlog)
{
  struct sim__server_priv *p = server->priv;
  int err;

  p->listener->data = server;
  if (p->listener->type != kind_type(p->kind))
    return UV_EINVAL;          /* a handle of the wrong type */
  if (p->kind == K_UDP)
    err = sim__udp_start(server, (uv_udp_t *)p->listener);
  else
    err = uv_listen((uv_stream_t *)p->listener, backlog > 0 ? backlog : 511,
                    on_local_connection);
  if (err == 0)
    server->port = local_port(p->listener);
  return err;
}

/* Round-robin: no handle here; Node's fake handle keeps the process alive
 * (a timer), and getsockname() answers with the primary's sockname. */
static void start_rr(sim_server_t *server, const cJSON *reply)
{
  struct sim__server_priv *p = server->priv;
  const cJSON *sockname = cJSON_GetObjectItemCaseSensitive(reply, "sockname");

  p->mode = M_RR;
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

void sim__server_on_reply(sim_server_t *server, const cJSON *reply,
                          uv_handle_t *handle)
{
  struct sim__server_priv *p = server->priv;
  const cJSON *key, *err;
  int status = 0;

  p->pending_query = 0;
  if (reply == NULL || p->closing) {
    /* The channel closed first, or the server was closed meanwhile. */
    if (handle != NULL)
      uv_close(handle, sim__close_free);
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
    p->listener = handle;
    status = listener_start(server, p->backlog);
  } else if (cJSON_IsNumber(err) && err->valuedouble != 0) {
    status = (int)err->valuedouble;
  } else if (p->kind == K_UDP) {
    status = UV_EINVAL;        /* UDP is always a shared handle */
  } else {
    start_rr(server, reply);
  }
  defer_listening(server, status);
}

const char *sim__server_key(const sim_server_t *server)
{
  return server->priv != NULL ? server->priv->key : NULL;
}

/* Binds a new listener of the server's kind here, as Node's _listen2 and
 * dgram's own bind do for a listen that does not ask the primary. */
static int bind_here(uv_loop_t *loop, struct sim__server_priv *p,
                     const sim_listen_opts_t *o)
{
  size_t size = p->kind == K_PIPE  ? sizeof(uv_pipe_t)
                : p->kind == K_UDP ? sizeof(uv_udp_t)
                                   : sizeof(uv_tcp_t);
  int err;

  p->listener = malloc(size);
  if (p->listener == NULL)
    return UV_ENOMEM;
  err = p->kind == K_PIPE  ? uv_pipe_init(loop, (uv_pipe_t *)p->listener, 0)
        : p->kind == K_UDP ? uv_udp_init(loop, (uv_udp_t *)p->listener)
                           : uv_tcp_init(loop, (uv_tcp_t *)p->listener);
  if (err != 0) {
    free(p->listener);
    p->listener = NULL;
    return err;
  }
  if (p->kind == K_PIPE)
    return sim__pipe_bind((uv_pipe_t *)p->listener, o->path, o->readable_all,
                          o->writable_all);
  if (p->kind == K_UDP)
    return sim__udp_bind((uv_udp_t *)p->listener, o->address,
                         o->address_type == 6 ? 6 : 4, o->port,
                         udp_flags(o));
  return sim__tcp_bind((uv_tcp_t *)p->listener, o->address, o->address_type,
                       o->port, o->ipv6_only ? 1 : 0);
}

/* An error of the bind or the listen reaches listen_cb; only a failure to
 * make the handle at all is the caller's. */
static int listen_exclusive(uv_loop_t *loop, sim_server_t *server,
                            const sim_listen_opts_t *opts)
{
  struct sim__server_priv *p = server->priv;
  int err;

  p->mode = M_EXCLUSIVE;
  err = bind_here(loop, p, opts);
  if (err != 0 && p->listener == NULL)
    return err;
  if (err == 0)
    err = listener_start(server, opts->backlog);
  defer_listening(server, err);
  return 0;
}

/* The queryServer fields, in the order Node's listenInCluster() (or
 * dgram's bindServerHandle) puts them. */
static cJSON *build_query(const sim_listen_opts_t *o, int kind,
                          const char *address, int address_type, int index)
{
  cJSON *q = cJSON_CreateObject();

  if (q == NULL)
    return NULL;
  cJSON_AddStringToObject(q, "act", "queryServer");
  cJSON_AddNumberToObject(q, "index", index);
  cJSON_AddNullToObject(q, "data");
  if (address != NULL)
    cJSON_AddStringToObject(q, "address", address);
  else
    cJSON_AddNullToObject(q, "address");
  cJSON_AddNumberToObject(q, "port", kind == K_PIPE ? -1 : o->port);
  if (kind == K_UDP) {
    cJSON_AddStringToObject(q, "addressType",
                            address_type == 6 ? "udp6" : "udp4");
    cJSON_AddNumberToObject(q, "fd", -1);
    cJSON_AddNumberToObject(q, "flags", udp_flags(o));
    return q;
  }
  cJSON_AddNumberToObject(q, "addressType", address_type);
  /* net.js's listenInCluster() has fd and flags members, undefined
   * unless given ('advanced' writes them; 'json' leaves them out); flags
   * only come with a host. */
  cJSON_AddItemToObject(q, "fd", sim__json_undefined());
  if (kind == K_TCP && address != NULL)
    cJSON_AddNumberToObject(q, "flags", o->ipv6_only ? 1 : 0);
  else
    cJSON_AddItemToObject(q, "flags", sim__json_undefined());
  cJSON_AddNumberToObject(q, "backlog", o->backlog);
  if (kind == K_PIPE && o->readable_all)
    cJSON_AddBoolToObject(q, "readableAll", 1);
  if (kind == K_PIPE && o->writable_all)
    cJSON_AddBoolToObject(q, "writableAll", 1);
  return q;
}

/* child.js _getServer(): the listen's index among the listens of the same
 * [address, port, addressType, fd] in this process. */
static int take_index(struct sim__server_priv *p, const char *address,
                      int port, const char *atype, const char *fd)
{
  char ikey[4200];
  index_t *e;

  /* Array.prototype.join renders null and undefined as the empty
   * string. */
  snprintf(ikey, sizeof(ikey), "%s:%d:%s:%s", address ? address : "", port,
           atype, fd);
  for (e = indexes; e != NULL; e = e->next)
    if (strcmp(e->key, ikey) == 0)
      break;
  if (e == NULL) {
    e = calloc(1, sizeof(*e));
    if (e == NULL || (e->key = strdup(ikey)) == NULL) {
      free(e);
      return UV_ENOMEM;
    }
    e->next = indexes;
    indexes = e;
  }
  p->index = e->next_index++;
  e->active++;
  p->index_entry = e;
  return 0;
}

/* The query through the primary. */
static int listen_cluster(sim_child_t *child, sim_server_t *server,
                          const sim_listen_opts_t *opts)
{
  struct sim__server_priv *p = server->priv;
  char *resolved = NULL;
  const char *address = opts->address;
  char atext[16];
  int atype = opts->address_type, err;
  cJSON *q;

  if (atype == 0)
    atype = (address != NULL && strchr(address, ':')) ? 6 : 4;
  if (p->kind == K_PIPE) {
    /* Resolve unix socket paths to absolute paths (child.js). */
    address = resolved = sim__path_resolve(opts->path);
    if (resolved == NULL)
      return UV_ENOMEM;
    atype = -1;
  } else if (p->kind == K_UDP && address == NULL) {
    address = atype == 6 ? "::" : "0.0.0.0";
  }
  if (p->kind == K_UDP)
    snprintf(atext, sizeof(atext), "udp%d", atype == 6 ? 6 : 4);
  else
    snprintf(atext, sizeof(atext), "%d", atype);
  err = take_index(p, address, p->kind == K_PIPE ? -1 : opts->port, atext,
                   p->kind == K_UDP ? "-1" : "");
  q = err == 0 ? build_query(opts, p->kind, address, atype, p->index) : NULL;
  free(resolved);
  if (q == NULL)
    return UV_ENOMEM;
  p->query = cJSON_Duplicate(q, 1);
  if (p->query == NULL) {
    cJSON_Delete(q);
    return UV_ENOMEM;
  }
  p->pending_query = 1;
  if (sim__child_query(child, server, q) != 0) {
    /* Not connected: sendHelper drops it and Node never calls back. */
    p->pending_query = 0;
  }
  return 0;
}

static int server_start(sim_child_t *child, sim_server_t *server,
                        const sim_listen_opts_t *opts, int kind,
                        sim_listen_cb listen_cb)
{
  struct sim__server_priv *p;
  int err;

  if (server->priv != NULL)
    return UV_EALREADY;
  if (kind == K_PIPE && (opts->path == NULL || opts->path[0] == '\0'))
    return UV_EINVAL;
  p = calloc(1, sizeof(*p));
  if (p == NULL)
    return UV_ENOMEM;
  server->priv = p;
  server->child = child;
  server->port = kind == K_PIPE ? -1 : 0;
  server->connections = 0;
  p->child = child;
  p->kind = kind;
  p->listen_cb = listen_cb;
  p->max_connections = opts->max_connections;
  p->backlog = opts->backlog;
  if (child == NULL || opts->exclusive)
    err = listen_exclusive(child != NULL ? child->loop : uv_default_loop(),
                           server, opts);
  else
    err = listen_cluster(child, server, opts);
  if (err != 0) {
    release_index(p);
    cJSON_Delete(p->query);
    if (p->listener != NULL)
      uv_close(p->listener, sim__close_free);
    free(p);
    server->priv = NULL;
  }
  return err;
}

int sim_server_listen(sim_child_t *child, sim_server_t *server,
                      const sim_listen_opts_t *opts, sim_listen_cb listen_cb,
                      sim_connection_cb connection_cb)
{
  int err = server_start(child, server, opts,
                         opts->path != NULL ? K_PIPE : K_TCP, listen_cb);

  if (err == 0)
    server->priv->connection_cb = connection_cb;
  return err;
}

int sim_server_bind_udp(sim_child_t *child, sim_server_t *server,
                        const sim_listen_opts_t *opts, sim_listen_cb listen_cb,
                        sim_datagram_cb datagram_cb)
{
  int err;

  if (opts->path != NULL)
    return UV_EINVAL;
  err = server_start(child, server, opts, K_UDP, listen_cb);
  if (err == 0)
    server->priv->datagram_cb = datagram_cb;
  return err;
}

int sim_server_listen_handle(sim_child_t *child, sim_server_t *server,
                             uv_stream_t *handle, sim_listen_cb listen_cb,
                             sim_connection_cb connection_cb)
{
  struct sim__server_priv *p;
  int err;

  if (server->priv != NULL || handle == NULL ||
      (handle->type != UV_TCP && handle->type != UV_NAMED_PIPE)) {
    if (handle != NULL)
      uv_close((uv_handle_t *)handle, sim__close_free);
    return server->priv != NULL ? UV_EALREADY : UV_EINVAL;
  }
  p = calloc(1, sizeof(*p));
  if (p == NULL) {
    uv_close((uv_handle_t *)handle, sim__close_free);
    return UV_ENOMEM;
  }
  server->priv = p;
  server->child = child;
  server->port = 0;
  server->connections = 0;
  p->child = child;
  p->kind = handle->type == UV_NAMED_PIPE ? K_PIPE : K_TCP;
  p->mode = M_EXCLUSIVE;
  p->listener = (uv_handle_t *)handle;
  p->listen_cb = listen_cb;
  p->connection_cb = connection_cb;
  err = listener_start(server, 0);
  defer_listening(server, err);
  return 0;
}
