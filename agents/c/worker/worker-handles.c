/*
 * worker-handles.c - handles that come with messages (docs/protocol.md
 * §4.1 `adopt`, §4.2 `handle`), handles the worker sends up (the
 * `send-handle` fault), and the output lines of `output`, as
 * agents/node/lib/worker-handles.cjs.
 *
 * A received socket is served as Node's server.emit('connection', socket)
 * serves it: by a responder of the `adopt` kind that listens nowhere. A
 * received server is listened on (server.listen(handle): exclusive, so a
 * cluster disconnect does not close it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "worker-internal.h"

/* Received servers listened on, in all. */
#define WORKER_MAX_ADOPTED 16

typedef struct {
  sim_server_t server;
  http_group_t *group;
  cJSON *message;            /* observed once listening */
  int used;
  int closing;
} worker_adopted_t;

static http_group_t *worker_adopt_group;
static worker_adopted_t worker_adopted[WORKER_MAX_ADOPTED];

static void worker_handles_close_free(uv_handle_t *h)
{
  free(h);
}

static void worker_handles_release(uv_stream_t *conn, void *arg)
{
  (void)arg;
  uv_close((uv_handle_t *)conn, worker_handles_close_free);
}

static int worker_handles_group(http_group_t **g, http_release_stream_cb cb,
                                void *arg)
{
  http_opts_t o = { 0 };

  if (*g != NULL)
    return 0;
  o.kind = (http_kind_t)worker__agent.conf.adopt_kind;
  o.worker_id = worker__agent.in_cluster ? worker__agent.child.id : 0;
  o.release_stream = cb;
  o.release_arg = arg;
  return http_group_new(worker__agent.loop, &o, g);
}

static void worker_handles_observe(const char *kind, const cJSON *message,
                                   const char *action, int port)
{
  cJSON *m = worker__observation("handle");

  if (m == NULL)
    return;
  cJSON_AddStringToObject(m, "kind", kind);
  cJSON_AddItemToObject(m, "message", cJSON_Duplicate(message, 1));
  cJSON_AddStringToObject(m, "action", action);
  if (port != 0)
    cJSON_AddNumberToObject(m, "port", port);
  worker__observe(m);
}

/* ---------------------------------------------------------------------- */
/* Received servers                                                        */

static void worker_adopted_release(uv_stream_t *conn, void *arg)
{
  worker_adopted_t *a = arg;

  sim_server_conn_close(&a->server, conn);
}

static void worker_adopted_on_connection(sim_server_t *server,
                                         uv_stream_t *conn)
{
  worker_adopted_t *a = server->data;

  if (a->group == NULL)
    sim_server_conn_close(server, conn);
  else
    (void)http_group_serve_stream(a->group, conn);
}

static void worker_adopted_closed(sim_server_t *server)
{
  worker_adopted_t *a = server->data;

  a->used = 0;
  a->closing = 0;
}

static void worker_adopted_on_listen(sim_server_t *server, int status)
{
  worker_adopted_t *a = server->data;

  worker_handles_observe("server", a->message, status == 0 ? "listen"
                                                           : "close",
                         status == 0 ? server->port : 0);
  cJSON_Delete(a->message);
  a->message = NULL;
  if (status != 0)
    (void)sim_server_close(server, worker_adopted_closed);
}

static void worker_adopted_on_closing(sim_server_t *server)
{
  worker_adopted_t *a = server->data;

  a->closing = 1;
  if (a->group != NULL)
    (void)http_group_close(a->group, NULL, NULL);
  a->group = NULL;
}

static int worker_handles_listen(const cJSON *message, uv_stream_t *h)
{
  worker_adopted_t *a = NULL;

  for (int i = 0; i < WORKER_MAX_ADOPTED && a == NULL; i++)
    if (!worker_adopted[i].used)
      a = &worker_adopted[i];
  if (a == NULL ||
      worker_handles_group(&a->group, worker_adopted_release, a) != 0)
    return UV_ENOMEM;
  a->used = 1;
  a->message = cJSON_Duplicate(message, 1);
  memset(&a->server, 0, sizeof(a->server));
  a->server.data = a;
  a->server.on_closing = worker_adopted_on_closing;
  /* The handle is the server's from here, on error too. */
  if (sim_server_listen_handle(worker__agent.in_cluster ? &worker__agent.child
                                                        : NULL,
                               &a->server, h, worker_adopted_on_listen,
                               worker_adopted_on_connection) != 0) {
    (void)http_group_close(a->group, NULL, NULL);
    a->group = NULL;
    cJSON_Delete(a->message);
    a->message = NULL;
    a->used = 0;
  }
  return 0;
}

int worker__handles_close_all(void)
{
  int n = 0;

  for (int i = 0; i < WORKER_MAX_ADOPTED; i++) {
    worker_adopted_t *a = &worker_adopted[i];
    if (!a->used || a->closing || a->server.priv == NULL)
      continue;
    (void)sim_server_close(&a->server, worker_adopted_closed);
    n++;
  }
  return n;
}

/* ---------------------------------------------------------------------- */
/* Received handles                                                        */

/* A listening socket is a server (Node's net.Server); anything else is a
 * socket. */
static int worker_handles_is_server(const uv_stream_t *h)
{
  uv_os_fd_t fd;
  int on = 0;
  socklen_t len = sizeof(on);

  return uv_fileno((const uv_handle_t *)h, &fd) == 0 &&
         getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

void worker__handle_received(const cJSON *message, uv_stream_t *h)
{
  int server = worker_handles_is_server(h);
  /* Only streams are adopted (a UDP socket is closed). */
  int adopt = worker__agent.conf.adopt &&
              (h->type == UV_TCP || h->type == UV_NAMED_PIPE);

  if (server && adopt && worker_handles_listen(message, h) == 0)
    return;                  /* observed once it listens */
  if (!server && adopt &&
      worker_handles_group(&worker_adopt_group, worker_handles_release,
                           NULL) == 0) {
    worker_handles_observe("socket", message, "serve", 0);
    /* The group owns it from here, on error too. */
    (void)http_group_serve_stream(worker_adopt_group, h);
    return;
  }
  worker_handles_observe(server ? "server" : "socket", message, "close", 0);
  uv_close((uv_handle_t *)h, worker_handles_close_free);
}

/* ---------------------------------------------------------------------- */
/* The send-handle fault: a connection sent up with a message              */

typedef struct {
  uv_connect_t req;
  uv_tcp_t *tcp;
  cJSON *message;
} worker_send_up_t;

static void worker_handles_sent(int status, void *arg)
{
  uv_tcp_t *tcp = arg;

  (void)status;
  /* Not keepOpen: our copy goes once it is written (Node: at the ACK). */
  uv_close((uv_handle_t *)tcp, worker_handles_close_free);
}

static void worker_handles_connected(uv_connect_t *req, int status)
{
  worker_send_up_t *s = req->data;
  int err = status;

  if (err == 0)
    err = worker__agent.in_cluster
              ? sim_child_send(&worker__agent.child, s->message,
                               (uv_stream_t *)s->tcp, worker_handles_sent,
                               s->tcp)
              : UV_EPIPE;
  /* Any other error of the send has run its callback already. */
  if (status != 0 || err == UV_EPIPE || err == UV_ENOMEM)
    uv_close((uv_handle_t *)s->tcp, worker_handles_close_free);
  cJSON_Delete(s->message);
  free(s);
}

void worker__handles_send_up(int port, const cJSON *message)
{
  worker_send_up_t *s = calloc(1, sizeof(*s));
  struct sockaddr_in sa;

  if (s == NULL || uv_ip4_addr("127.0.0.1", port, &sa) != 0)
    goto fail;
  s->message = message != NULL ? cJSON_Duplicate(message, 1)
                               : cJSON_Parse("{\"clustersim\":\"handle\"}");
  s->tcp = malloc(sizeof(*s->tcp));
  if (s->message == NULL || s->tcp == NULL ||
      uv_tcp_init(worker__agent.loop, s->tcp) != 0)
    goto fail;
  s->req.data = s;
  if (uv_tcp_connect(&s->req, s->tcp, (struct sockaddr *)&sa,
                     worker_handles_connected) == 0)
    return;
  uv_close((uv_handle_t *)s->tcp, worker_handles_close_free);
  s->tcp = NULL;

fail:
  if (s != NULL) {
    free(s->tcp);
    cJSON_Delete(s->message);
  }
  free(s);
}

/* ---------------------------------------------------------------------- */
/* Output                                                                  */

void worker__output(const worker__output_conf_t *o)
{
  size_t len = strlen(o->line);
  char *buf = malloc(len + 1);

  if (buf == NULL)
    return;
  memcpy(buf, o->line, len);
  buf[len] = '\n';
  /* Blocking writes, as Node's process.stdout on a pipe: a primary that
   * stops reading holds the worker here. */
  for (int i = 0; i < o->repeat; i++) {
    size_t off = 0;
    while (off < len + 1) {
      ssize_t w = write(o->fd, buf + off, len + 1 - off);
      if (w <= 0)
        break;
      off += (size_t)w;
    }
  }
  free(buf);
}
