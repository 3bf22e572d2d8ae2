/*
 * primary-handles.c - handles the primary holds and sends with messages
 * (docs/protocol.md §2.2), as agents/node/lib/handles.cjs: servers of its
 * own (`serve`, net.createServer({pauseOnConnect: true})), the
 * connections they accept (held, unread), handles workers sent up, and
 * worker.send(message, handle, {keepOpen}).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "primary-internal.h"

/* What `send-handle` sends when the command gives no message. */
#define PRIMARY_HANDLE_MESSAGE "{\"clustersim\":\"handle\"}"

struct primary__held_s {
  unsigned id;               /* connections and received handles: 1, 2...;
                                0 for a server of `serve` */
  char name[PRIMARY_HANDLE_NAME_MAX + 1];
  uv_stream_t *h;            /* a malloc'ed uv_tcp_t or uv_pipe_t whose
                                data is this entry */
  int server;                /* a listening socket */
  unsigned sends;            /* sends whose callback has not run */
  int dropped;               /* closed (or to be closed once sent) */
  primary__server_cb on_connection;
  void *arg;
  primary__held_t *next;
};

static primary__held_t *primary_held;
static unsigned primary_held_ids;

/* ---------------------------------------------------------------------- */
/* The table                                                               */

static void primary_held_freed(uv_handle_t *h)
{
  free(h->data);
  free(h);
}

static void primary_held_close(primary__held_t *e)
{
  uv_close((uv_handle_t *)e->h, primary_held_freed);
}

static void primary_held_unlink(primary__held_t *e)
{
  for (primary__held_t **pp = &primary_held; *pp != NULL; pp = &(*pp)->next)
    if (*pp == e) {
      *pp = e->next;
      return;
    }
}

/* Leaves the table at once; the handle closes when no send needs it. */
void primary__held_drop(primary__held_t *e)
{
  if (e->dropped)
    return;
  e->dropped = 1;
  primary_held_unlink(e);
  if (e->sends == 0)
    primary_held_close(e);
}

static primary__held_t *primary_held_find(unsigned id, const char *name)
{
  for (primary__held_t *e = primary_held; e != NULL; e = e->next)
    if (name != NULL ? e->id == 0 && strcmp(e->name, name) == 0
                     : e->id == id)
      return e;
  return NULL;
}

/* An entry for `h` (owned from now on), or NULL (and `h` closed). */
static primary__held_t *primary_held_of(uv_stream_t *h)
{
  primary__held_t *e = calloc(1, sizeof(*e));

  if (e == NULL) {
    uv_close((uv_handle_t *)h, (uv_close_cb)free);
    return NULL;
  }
  e->h = h;
  h->data = e;
  return e;
}

/* An entry with a new handle of the type asked for. */
static primary__held_t *primary_held_new(int pipe, uv_loop_t *loop)
{
  uv_stream_t *h = malloc(pipe ? sizeof(uv_pipe_t) : sizeof(uv_tcp_t));
  int err;

  if (h == NULL)
    return NULL;
  err = pipe ? uv_pipe_init(loop, (uv_pipe_t *)h, 0)
             : uv_tcp_init(loop, (uv_tcp_t *)h);
  if (err != 0) {
    free(h);
    return NULL;
  }
  return primary_held_of(h);
}

static void primary_held_add(primary__held_t *e)
{
  e->next = primary_held;
  primary_held = e;
}

/* "socket" or "server": what a received descriptor is, as Node's handle
 * type would say. */
const char *primary__handle_kind(const uv_stream_t *h)
{
  uv_os_fd_t fd;
  int on = 0;
  socklen_t len = sizeof(on);

  if (uv_fileno((const uv_handle_t *)h, &fd) == 0 &&
      getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on)
    return "server";
  return "socket";
}

/* ---------------------------------------------------------------------- */
/* Servers of the primary and their connections                            */

static void primary_handles_add_remote(cJSON *m, const uv_stream_t *s)
{
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  char ip[64] = "";
  int port = 0;

  if (s->type != UV_TCP ||
      uv_tcp_getpeername((const uv_tcp_t *)s, (struct sockaddr *)&ss,
                         &len) != 0) {
    cJSON_AddNullToObject(m, "remote_address");
    cJSON_AddNullToObject(m, "remote_port");
    return;
  }
  if (ss.ss_family == AF_INET6) {
    uv_ip6_name((const struct sockaddr_in6 *)&ss, ip, sizeof(ip));
    port = ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
  } else {
    uv_ip4_name((const struct sockaddr_in *)&ss, ip, sizeof(ip));
    port = ntohs(((const struct sockaddr_in *)&ss)->sin_port);
  }
  cJSON_AddStringToObject(m, "remote_address", ip);
  cJSON_AddNumberToObject(m, "remote_port", port);
}

cJSON *primary__handle_record(const char *what)
{
  cJSON *m = cJSON_CreateObject();

  if (m == NULL)
    return NULL;
  cJSON_AddStringToObject(m, "type", "handle");
  cJSON_AddStringToObject(m, "what", what);
  return m;
}

const char *primary__held_remote(const primary__held_t *e, char *buf,
                                 size_t n)
{
  struct sockaddr_storage ss;
  int len = sizeof(ss);

  buf[0] = '\0';
  if (e->h->type != UV_TCP ||
      uv_tcp_getpeername((const uv_tcp_t *)e->h, (struct sockaddr *)&ss,
                         &len) != 0)
    return buf;
  if (ss.ss_family == AF_INET6)
    uv_ip6_name((const struct sockaddr_in6 *)&ss, buf, n);
  else
    uv_ip4_name((const struct sockaddr_in *)&ss, buf, n);
  return buf;
}

/* A connection is accepted and held, unread (pauseOnConnect). */
static void primary_handles_on_connection(uv_stream_t *server, int status)
{
  primary__held_t *srv = server->data;
  primary__held_t *e;

  if (status != 0)
    return;                  /* accept errors are ignored, as in Node */
  e = primary_held_new(server->type == UV_NAMED_PIPE, server->loop);
  if (e == NULL)
    return;
  if (uv_accept(server, e->h) != 0) {
    primary_held_close(e);
    return;
  }
  e->id = ++primary_held_ids;
  primary_held_add(e);
  srv->on_connection(srv, e, srv->arg);
}

int primary__server_open(const char *name, const char *host, int port,
                         const char *path, primary__server_cb on_connection,
                         void *arg, primary__held_t **ret)
{
  primary__held_t *e = primary_held_new(path != NULL, primary__agent.loop);
  struct sockaddr_storage ss;
  int err;

  *ret = e;
  if (e == NULL)
    return UV_ENOMEM;
  snprintf(e->name, sizeof(e->name), "%s", name);
  e->server = 1;
  e->on_connection = on_connection;
  e->arg = arg;
  primary_held_add(e);
  if (path != NULL) {
    err = uv_pipe_bind((uv_pipe_t *)e->h, path);
  } else {
    err = strchr(host, ':') != NULL
              ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss)
              : uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
    if (err == 0)
      err = uv_tcp_bind((uv_tcp_t *)e->h, (struct sockaddr *)&ss, 0);
  }
  if (err == 0)
    err = uv_listen(e->h, 511, primary_handles_on_connection);
  return err;
}

int primary__server_port(const primary__held_t *e)
{
  struct sockaddr_storage ss;
  int len = sizeof(ss);

  if (e->h->type != UV_TCP ||
      uv_tcp_getsockname((const uv_tcp_t *)e->h, (struct sockaddr *)&ss,
                         &len) != 0)
    return -1;
  if (ss.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* ---------------------------------------------------------------------- */
/* Sending                                                                 */

typedef struct {
  primary__held_t *e;
  int keep_open;
} primary_send_t;

/* Node closes a sent socket at the peer's NODE_HANDLE_ACK unless
 * keepOpen; the peer's descriptor is its own from the moment it was
 * written, so closing ours once the write is done is the same to it. */
static void primary_handles_sent(int status, void *arg)
{
  primary_send_t *s = arg;
  primary__held_t *e = s->e;

  (void)status;
  e->sends--;
  if (!s->keep_open && !e->server)
    e->dropped = 1;
  if (e->dropped && e->sends == 0)
    primary_held_close(e);
  free(s);
}

int primary__held_send(primary__held_t *e, sim_worker_t *w,
                       const cJSON *message, int keep_open)
{
  primary_send_t *s;
  int err;

  /* As Node's send() on a closed channel: the worker's `error`, and the
   * handle stays where it was. */
  if (!sim_worker_is_connected(w))
    return sim_worker_send(w, message, NULL, NULL, NULL);
  s = malloc(sizeof(*s));
  if (s == NULL)
    return UV_ENOMEM;
  s->e = e;
  s->keep_open = keep_open;
  /* A socket sent without keepOpen leaves the primary's table at once, as
   * Node detaches it from its net.Socket. */
  if (!keep_open && !e->server) {
    primary_held_unlink(e);
    e->dropped = 1;
  }
  e->sends++;
  err = sim_worker_send(w, message, e->h, primary_handles_sent, s);
  if (err == UV_ENOMEM) {
    e->sends--;
    free(s);
    if (e->dropped && e->sends == 0)
      primary_held_close(e);
  }
  return err;
}

/* ---------------------------------------------------------------------- */
/* Commands                                                                */

static int primary_handles_fail(char *err, size_t n, const char *text,
                                const char *arg)
{
  snprintf(err, n, text, arg);
  return UV_EINVAL;
}

/* "conn" or "server" of send-handle and close-handle. */
static int primary_handles_target(const cJSON *msg, primary__held_t **ret,
                                  char *err, size_t n)
{
  const cJSON *conn = cJSON_GetObjectItemCaseSensitive(msg, "conn");
  const cJSON *server = cJSON_GetObjectItemCaseSensitive(msg, "server");
  char id[32];

  if ((conn == NULL) == (server == NULL))
    return primary_handles_fail(err, n, "%s",
                                "give one of \"conn\" and \"server\"");
  if (server != NULL) {
    if (!cJSON_IsString(server))
      return primary_handles_fail(err, n, "%s", "server must be a name");
    *ret = primary_held_find(0, server->valuestring);
    if (*ret == NULL)
      return primary_handles_fail(err, n, "no server \"%s\"",
                                  server->valuestring);
    return 0;
  }
  if (!ctl_is_int(conn, -9007199254740991.0, 9007199254740991.0))
    return primary_handles_fail(err, n, "%s",
                                "\"conn\" must be an integer id");
  *ret = conn->valuedouble >= 1 && conn->valuedouble <= 4294967295.0
             ? primary_held_find((unsigned)conn->valuedouble, NULL)
             : NULL;
  if (*ret == NULL) {
    snprintf(id, sizeof(id), "%.0f", conn->valuedouble);
    return primary_handles_fail(err, n, "no connection %s", id);
  }
  return 0;
}

static void primary_handles_report_connection(primary__held_t *srv,
                                              primary__held_t *e, void *arg)
{
  cJSON *m = primary__handle_record("connection");

  (void)arg;
  if (m == NULL)
    return;
  cJSON_AddStringToObject(m, "server", srv->name);
  cJSON_AddNumberToObject(m, "conn", e->id);
  primary_handles_add_remote(m, e->h);
  primary__send(m);
}

/* The address of `serve`: a host and port, or a path. */
static int primary_handles_where(const cJSON *msg, const char **host,
                                 int *port, const char **path, char *err,
                                 size_t n)
{
  const cJSON *h = cJSON_GetObjectItemCaseSensitive(msg, "host");
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(msg, "port");
  const cJSON *u = cJSON_GetObjectItemCaseSensitive(msg, "path");

  *host = "127.0.0.1";
  *port = 0;
  *path = NULL;
  if (u != NULL) {
    if (!cJSON_IsString(u) || u->valuestring[0] == '\0')
      return primary_handles_fail(err, n, "%s",
                                  "path must be a non-empty string");
    if (h != NULL || p != NULL)
      return primary_handles_fail(err, n, "%s",
                                  "path excludes host and port");
    *path = u->valuestring;
    return 0;
  }
  if (h != NULL && !cJSON_IsString(h))
    return primary_handles_fail(err, n, "%s", "host must be a string");
  if (p != NULL && !ctl_is_int(p, 0, 65535))
    return primary_handles_fail(err, n, "%s",
                                "port must be an integer in 0..65535");
  if (h != NULL)
    *host = h->valuestring;
  if (p != NULL)
    *port = (int)p->valuedouble;
  return 0;
}

static void primary_handles_add_error(cJSON *m, int rc)
{
  cJSON *e = cJSON_AddObjectToObject(m, "error");

  if (e == NULL)
    return;
  cJSON_AddStringToObject(e, "code", uv_err_name(rc));
  cJSON_AddStringToObject(e, "message", uv_strerror(rc));
}

int primary__handles_serve(const cJSON *msg, char *err, size_t n)
{
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(msg, "server");
  const char *host, *path;
  primary__held_t *e;
  cJSON *m;
  int port, rc;

  if (!cJSON_IsString(name) || name->valuestring[0] == '\0' ||
      strlen(name->valuestring) > PRIMARY_HANDLE_NAME_MAX)
    return primary_handles_fail(err, n, "%s",
                                "server must be a name of 1 to 64 "
                                "characters");
  if (primary_held_find(0, name->valuestring) != NULL)
    return primary_handles_fail(err, n, "server \"%s\" exists",
                                name->valuestring);
  if (primary_handles_where(msg, &host, &port, &path, err, n) != 0)
    return UV_EINVAL;
  rc = primary__server_open(name->valuestring, host, port, path,
                            primary_handles_report_connection, NULL, &e);
  if (rc == UV_ENOMEM && e == NULL)
    return rc;
  /* A failed listen is the server's 'error', after the reply (Node's
   * listen is asynchronous); the name is free again. */
  m = primary__handle_record(rc == 0 ? "listening" : "error");
  if (m != NULL) {
    cJSON_AddStringToObject(m, "server", name->valuestring);
    if (rc == 0 && path != NULL)
      cJSON_AddStringToObject(m, "path", path);
    else if (rc == 0)
      cJSON_AddNumberToObject(m, "port", primary__server_port(e));
    else
      primary_handles_add_error(m, rc);
    primary__send(m);
  }
  if (rc != 0)
    primary__held_drop(e);
  return 0;
}

int primary__handles_send(const cJSON *msg, sim_worker_t *w, char *err,
                          size_t n)
{
  const cJSON *keep = cJSON_GetObjectItemCaseSensitive(msg, "keep_open");
  const cJSON *message = cJSON_GetObjectItemCaseSensitive(msg, "message");
  cJSON *dflt = NULL;
  primary__held_t *e;
  int rc;

  if (primary_handles_target(msg, &e, err, n) != 0)
    return UV_EINVAL;
  if (keep != NULL && !cJSON_IsBool(keep))
    return primary_handles_fail(err, n, "%s", "keep_open must be a boolean");
  if (message == NULL) {
    dflt = cJSON_Parse(PRIMARY_HANDLE_MESSAGE);
    if (dflt == NULL)
      return UV_ENOMEM;
    message = dflt;
  }
  /* A closed channel is the worker's `error` event, as for `send`. */
  rc = primary__held_send(e, w, message, cJSON_IsTrue(keep));
  cJSON_Delete(dflt);
  return rc == UV_ENOMEM ? rc : 0;
}

int primary__handles_close(const cJSON *msg, char *err, size_t n)
{
  primary__held_t *e;

  if (primary_handles_target(msg, &e, err, n) != 0)
    return UV_EINVAL;
  primary__held_drop(e);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Handles from workers                                                    */

void primary__handles_received(const sim_event_t *ev)
{
  primary__held_t *e;
  const char *kind;
  cJSON *m;

  if (ev->handle == NULL)
    return;
  kind = primary__handle_kind(ev->handle);
  e = primary_held_of(ev->handle);
  m = primary__handle_record("received");
  if (e == NULL || m == NULL) {
    if (e != NULL)
      primary_held_close(e);
    cJSON_Delete(m);
    return;
  }
  e->id = ++primary_held_ids;
  e->server = strcmp(kind, "server") == 0;
  primary_held_add(e);
  cJSON_AddNumberToObject(m, "worker", sim_worker_id(ev->worker));
  cJSON_AddNumberToObject(m, "conn", e->id);
  cJSON_AddStringToObject(m, "kind", kind);
  primary__send(m);
}
