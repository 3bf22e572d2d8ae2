/*
 * The control socket that the agent and every worker connect to: JSON
 * lines, hello first. What arrives is queued for the dispatcher as it
 * comes (records, hellos, replies, the end of the primary's connection);
 * nothing here knows what the run does with it. Commands to the primary
 * are numbered and kept until their reply.
 */
#include "runner-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A control line longer than this is a broken peer. */
#define MAX_LINE (1024 * 1024)
/* More connections than this is a broken cluster. */
#define MAX_CONNS 1024
/* A worker id above this is a broken peer. */
#define MAX_WORKER_ID 100000

/* ---------------------------------------------------------------------- */
/* Sending                                                                 */

typedef struct {
  uv_write_t req;
  char *data;
} conn_write_t;

static void on_write(uv_write_t *req, int status)
{
  conn_write_t *w = (conn_write_t *)req;

  (void)status;
  free(w->data);
  free(w);
}

static int conn_send(runner__conn_t *c, const cJSON *msg)
{
  conn_write_t *w;
  char *text;
  size_t len;
  uv_buf_t buf;
  int rc;

  if (c == NULL || c->closing)
    return UV_EPIPE;
  text = cJSON_PrintUnformatted(msg);
  if (text == NULL)
    return UV_ENOMEM;
  len = strlen(text);
  w = calloc(1, sizeof(*w));
  if (w == NULL) {
    free(text);
    return UV_ENOMEM;
  }
  w->data = realloc(text, len + 2);
  if (w->data == NULL) {
    free(text);
    free(w);
    return UV_ENOMEM;
  }
  w->data[len] = '\n';
  w->data[len + 1] = '\0';
  buf = uv_buf_init(w->data, (unsigned)len + 1);
  rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, on_write);
  if (rc != 0) {
    free(w->data);
    free(w);
  }
  return rc;
}

int runner__control_command(runner_run_t *run, cJSON *cmd,
                            runner__req_kind_t kind,
                            const scenario_step_t *st, cJSON *behaviour)
{
  runner__control_t *ctl = &run->ctl;
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(cmd, "cmd");
  runner__req_t *r;
  int rc;

  if (ctl->primary == NULL)
    return UV_EPIPE;
  r = calloc(1, sizeof(*r));
  if (r == NULL)
    return UV_ENOMEM;
  r->req = ++ctl->next_req;
  r->kind = kind;
  r->st = st;
  r->sent = uv_hrtime();
  r->behaviour = behaviour;
  snprintf(r->cmd, sizeof(r->cmd), "%s",
           cJSON_IsString(name) ? name->valuestring : "?");
  cJSON_AddNumberToObject(cmd, "req", r->req);
  rc = conn_send(ctl->primary, cmd);
  if (rc != 0) {
    free(r);
    return rc;
  }
  r->next = ctl->reqs;
  ctl->reqs = r;
  return 0;
}

static runner__conn_t *worker_conn(runner_run_t *run, unsigned id)
{
  runner__conn_t *c;

  for (c = run->ctl.conns; c; c = c->next)
    if (c->role == RUNNER__ROLE_WORKER && c->worker == id && !c->closing)
      return c;
  return NULL;
}

int runner__control_send_worker(runner_run_t *run, unsigned id,
                                const cJSON *msg)
{
  runner__conn_t *c = worker_conn(run, id);

  if (c == NULL)
    return UV_ENOTCONN;
  return conn_send(c, msg);
}

static void free_reqs(runner__req_t *r)
{
  runner__req_t *next;

  for (; r != NULL; r = next) {
    next = r->next;
    free(r);
  }
}

bool runner__control_forget(runner_run_t *run, const scenario_step_t *st,
                            char *cmd, size_t len)
{
  runner__req_t *r;
  bool found = false;

  /* the newest first: the one a step waits for */
  for (r = run->ctl.reqs; r != NULL && st != NULL && !found; r = r->next)
    if (r->st == st) {
      snprintf(cmd, len, "%s", r->cmd);
      found = true;
    }
  free_reqs(run->ctl.reqs);
  run->ctl.reqs = NULL;
  return found;
}

/* ---------------------------------------------------------------------- */
/* Receiving                                                               */

static void on_conn_closed(uv_handle_t *h)
{
  runner__conn_t *c = h->data;
  runner_run_t *run = c->run;
  runner__conn_t **pp;

  for (pp = &run->ctl.conns; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  free(c->buf);
  free(c);
  runner__handle_closed(run);
}

static void conn_close(runner__conn_t *c)
{
  runner_run_t *run = c->run;

  if (c->closing)
    return;
  c->closing = true;
  if (run->ctl.primary == c) {
    run->ctl.primary = NULL;
    /* what the primary said before is queued ahead of this */
    runner__queue_push(run, &run->ctl.primary_eof);
  }
  uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

/* A protocol error: the run is an error, the connection is dropped. */
static void conn_broken(runner__conn_t *c, cJSON *msg, const char *fmt,
                        const char *arg)
{
  runner__error(c->run, fmt, arg);
  cJSON_Delete(msg);
  conn_close(c);
}

static void queue_with(runner_run_t *run, runner__ev_kind_t kind,
                       cJSON *rec, runner__req_t *req, unsigned worker)
{
  runner__event_t *ev = runner__event_new(kind);

  if (ev == NULL) {
    cJSON_Delete(rec);
    free(req);
    return;
  }
  if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(rec, "t")))
    cJSON_AddNumberToObject(rec, "t", (double)uv_hrtime());
  ev->rec = rec;
  ev->req = req;
  ev->worker = worker;
  runner__queue_push(run, ev);
}

static void on_primary_hello(runner__conn_t *c, cJSON *msg)
{
  runner__control_t *ctl = &c->run->ctl;

  if (ctl->had_primary) {
    conn_broken(c, msg, "a second %s agent connected", "primary");
    return;
  }
  c->role = RUNNER__ROLE_PRIMARY;
  ctl->primary = c;
  ctl->had_primary = true;
  cJSON_AddStringToObject(msg, "from", "primary");
  queue_with(c->run, RUNNER__EV_HELLO, msg, NULL, 0);
}

static void on_worker_hello(runner__conn_t *c, cJSON *msg)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, "id");

  if (!cJSON_IsNumber(v) || v->valuedouble < 1 ||
      v->valuedouble > MAX_WORKER_ID) {
    conn_broken(c, msg, "a %s connected without a valid id", "worker");
    return;
  }
  c->role = RUNNER__ROLE_WORKER;
  c->worker = (unsigned)v->valuedouble;
  cJSON_AddNumberToObject(msg, "worker", c->worker);
  cJSON_AddStringToObject(msg, "from", "worker");
  runner__queue_record(c->run, msg);
}

static void on_hello(runner__conn_t *c, cJSON *msg)
{
  const cJSON *role = cJSON_GetObjectItemCaseSensitive(msg, "role");

  if (cJSON_IsString(role) && strcmp(role->valuestring, "primary") == 0)
    on_primary_hello(c, msg);
  else if (cJSON_IsString(role) && strcmp(role->valuestring, "worker") == 0)
    on_worker_hello(c, msg);
  else
    conn_broken(c, msg, "a control connection sent a %s without a role",
                "hello");
}

/* The primary's reply goes with its request; a worker answers only a
 * fault it refuses. */
static void on_reply(runner__conn_t *c, cJSON *msg)
{
  runner_run_t *run = c->run;
  const cJSON *req = cJSON_GetObjectItemCaseSensitive(msg, "req");
  runner__req_t **pp, *r = NULL;

  if (c->role == RUNNER__ROLE_WORKER) {
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "ok")))
      cJSON_Delete(msg);
    else
      queue_with(run, RUNNER__EV_REFUSAL, msg, NULL, c->worker);
    return;
  }
  for (pp = &run->ctl.reqs; cJSON_IsNumber(req) && *pp; pp = &(*pp)->next)
    if ((*pp)->req == (unsigned)req->valuedouble) {
      r = *pp;
      *pp = r->next;
      break;
    }
  if (r == NULL) {
    cJSON_Delete(msg);
    return;
  }
  queue_with(run, RUNNER__EV_REPLY, msg, r, 0);
}

static const char *role_name(runner__role_t role)
{
  return role == RUNNER__ROLE_PRIMARY  ? "primary agent"
         : role == RUNNER__ROLE_WORKER ? "worker"
                                       : "control connection";
}

static void on_line(runner__conn_t *c, const char *line, size_t len)
{
  cJSON *msg = cJSON_ParseWithLength(line, len);
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");

  if (!cJSON_IsObject(msg) || !cJSON_IsString(type)) {
    runner__error(c->run, "a %s sent a line that is not a JSON object: %.*s",
                  role_name(c->role), (int)(len < 60 ? len : 60), line);
    cJSON_Delete(msg);
    conn_close(c);
  } else if (c->role == RUNNER__ROLE_UNKNOWN) {
    if (strcmp(type->valuestring, "hello") == 0)
      on_hello(c, msg);
    else
      conn_broken(c, msg, "a control connection sent '%s' before hello",
                  type->valuestring);
  } else if (strcmp(type->valuestring, "reply") == 0) {
    on_reply(c, msg);
  } else {
    if (c->role == RUNNER__ROLE_WORKER && !cJSON_HasObjectItem(msg, "worker"))
      cJSON_AddNumberToObject(msg, "worker", c->worker);
    runner__queue_record(c->run, msg);
  }
}

static void on_conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  runner__conn_t *c = h->data;

  (void)hint;
  if (c->cap - c->len < 65536) {
    size_t cap = c->cap ? c->cap * 2 : 131072;
    char *b = realloc(c->buf, cap);
    if (b == NULL) {
      buf->base = NULL;
      buf->len = 0;
      return;
    }
    c->buf = b;
    c->cap = cap;
  }
  buf->base = c->buf + c->len;
  buf->len = c->cap - c->len;
}

static void on_conn_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
  runner__conn_t *c = st->data;
  size_t off = 0;
  char *nl;

  (void)buf;
  if (n < 0) {
    conn_close(c);
    return;
  }
  c->len += (size_t)n;
  while (!c->closing &&
         (nl = memchr(c->buf + off, '\n', c->len - off)) != NULL) {
    size_t len = (size_t)(nl - (c->buf + off));
    if (len > 0)
      on_line(c, c->buf + off, len);
    off += len + 1;
  }
  if (off > 0) {
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
  }
  if (c->len > MAX_LINE && !c->closing) {
    runner__error(c->run, "a control line is longer than %d bytes",
                  MAX_LINE);
    conn_close(c);
  }
}

static void on_connection(uv_stream_t *server, int status)
{
  runner_run_t *run = server->data;
  runner__conn_t *c;
  unsigned n = 0;

  if (status != 0)
    return;
  for (c = run->ctl.conns; c; c = c->next)
    n++;
  c = calloc(1, sizeof(*c));
  if (c == NULL)
    return;
  c->run = run;
  uv_pipe_init(run->loop, &c->pipe, 0);
  c->pipe.data = c;
  runner__handle_opened(run);
  c->next = run->ctl.conns;
  run->ctl.conns = c;
  if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 || n >= MAX_CONNS ||
      run->ctl.refuse) {
    conn_close(c);
    return;
  }
  uv_read_start((uv_stream_t *)&c->pipe, on_conn_alloc, on_conn_read);
}

/* ---------------------------------------------------------------------- */
/* The socket                                                              */

int runner__control_prepare(runner_run_t *run)
{
  runner__control_t *ctl = &run->ctl;
  const char *tmp = getenv("TMPDIR");

  ctl->primary_eof.kind = RUNNER__EV_PRIMARY_EOF;
  ctl->primary_eof.embedded = true;
  /* A private directory for the socket: parallel runs never share a path,
   * and nobody else can connect. */
  snprintf(ctl->dir, sizeof(ctl->dir), "%s/clustersim-XXXXXX",
           tmp && tmp[0] && strlen(tmp) < 150 ? tmp : "/tmp");
  if (mkdtemp(ctl->dir) == NULL) {
    ctl->dir[0] = '\0';
    return -errno;
  }
  snprintf(ctl->sock, sizeof(ctl->sock), "%s/ctl.sock", ctl->dir);
  /* sun_path holds 108 bytes */
  if (strlen(ctl->sock) >= 100)
    return UV_ENAMETOOLONG;
  return 0;
}

int runner__control_listen(runner_run_t *run)
{
  runner__control_t *ctl = &run->ctl;
  int rc;

  uv_pipe_init(run->loop, &ctl->server, 0);
  ctl->server.data = run;
  runner__handle_opened(run);
  ctl->listening = true;
  rc = uv_pipe_bind(&ctl->server, ctl->sock);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&ctl->server, 128, on_connection);
  return rc;
}

void runner__control_refuse(runner_run_t *run)
{
  run->ctl.refuse = true;
}

static void on_server_closed(uv_handle_t *h)
{
  runner__handle_closed(h->data);
}

void runner__control_close(runner_run_t *run)
{
  runner__conn_t *c;

  run->ctl.refuse = true;
  for (c = run->ctl.conns; c; c = c->next)
    conn_close(c);
  if (run->ctl.listening) {
    run->ctl.listening = false;
    uv_close((uv_handle_t *)&run->ctl.server, on_server_closed);
  }
}

void runner__control_cleanup(runner_run_t *run)
{
  runner__control_t *ctl = &run->ctl;

  if (ctl->sock[0] != '\0')
    unlink(ctl->sock);
  if (ctl->dir[0] != '\0')
    rmdir(ctl->dir);
  ctl->sock[0] = ctl->dir[0] = '\0';
  free_reqs(ctl->reqs);
  ctl->reqs = NULL;
}
