/*
 * simtest-ctl.c - the harness end of the worker agents' control socket
 * (docs/protocol.md §1, §4.2, §4.3), enough for tests to inject faults and
 * see observations.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simtest.h"

/* ---------------------------------------------------------------------- */
/* Control socket (the harness side of docs/protocol.md)                   */

typedef struct {
  uv_write_t req;
  size_t len;
  char data[];
} ctl_write_t;

static void ctl_written(uv_write_t *req, int status)
{
  (void)status;
  free(req);
}

static int ctl_write(st_ctl_conn_t *c, const char *line)
{
  size_t n = strlen(line);
  ctl_write_t *w = malloc(sizeof(*w) + n + 1);
  uv_buf_t b;
  int err;

  if (w == NULL)
    return UV_ENOMEM;
  memcpy(w->data, line, n);
  w->data[n] = '\n';
  w->len = n + 1;
  b = uv_buf_init(w->data, (unsigned)w->len);
  err = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, ctl_written);
  if (err != 0)
    free(w);
  return err;
}

static void ctl_conn_closed(uv_handle_t *h)
{
  st_ctl_conn_t *c = h->data;

  c->open = 0;
}

static void ctl_conn_close(st_ctl_conn_t *c)
{
  if (c->open && !uv_is_closing((uv_handle_t *)&c->pipe))
    uv_close((uv_handle_t *)&c->pipe, ctl_conn_closed);
}

static void ctl_flush_pending(st_ctl_t *ctl, st_ctl_conn_t *c)
{
  int k = 0;

  for (int i = 0; i < ctl->npending; i++) {
    if (ctl->pending[i].id == c->id) {
      (void)ctl_write(c, ctl->pending[i].line);
      free(ctl->pending[i].line);
    } else {
      ctl->pending[k++] = ctl->pending[i];
    }
  }
  ctl->npending = k;
}

static void ctl_line(st_ctl_conn_t *c, char *line)
{
  st_ctl_t *ctl = c->ctl;
  cJSON *m = cJSON_Parse(line);
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(m, "type");
  const cJSON *what = cJSON_GetObjectItemCaseSensitive(m, "what");

  if (!cJSON_IsString(type)) {
    cJSON_Delete(m);
    return;
  }
  if (strcmp(type->valuestring, "hello") == 0 && c->id == 0) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
    c->id = cJSON_IsNumber(id) ? (unsigned)id->valuedouble : 0;
    if (c->id != 0)
      ctl_flush_pending(ctl, c);
  } else if (strcmp(type->valuestring, "observe") == 0 &&
             cJSON_IsString(what) && ctl->on_observe != NULL) {
    ctl->on_observe(ctl, c->id, what->valuestring, m);
  }
  cJSON_Delete(m);
}

static void ctl_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  st_ctl_conn_t *c = h->data;

  buf->base = c->buf + c->len;
  buf->len = sizeof(c->buf) - 1 - c->len;
}

static void ctl_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  st_ctl_conn_t *c = s->data;
  char *nl;

  if (nread < 0) {
    ctl_conn_close(c);
    return;
  }
  c->len += (size_t)nread;
  c->buf[c->len] = '\0';
  while ((nl = strchr(c->buf, '\n')) != NULL) {
    size_t rest;
    *nl = '\0';
    ctl_line(c, c->buf);
    rest = c->len - (size_t)(nl + 1 - c->buf);
    memmove(c->buf, nl + 1, rest + 1);
    c->len = rest;
  }
  if (c->len == sizeof(c->buf) - 1)
    c->len = 0;                /* an overlong observation: dropped */
}

static void ctl_on_connection(uv_stream_t *server, int status)
{
  st_ctl_t *ctl = server->data;
  st_ctl_conn_t *c;

  if (status != 0 || ctl->nconns == ST_CTL_CONNS)
    return;
  c = &ctl->conns[ctl->nconns];
  memset(c, 0, sizeof(*c));
  c->ctl = ctl;
  if (uv_pipe_init(ctl->loop, &c->pipe, 0) != 0)
    return;
  c->pipe.data = c;
  c->open = 1;
  ctl->nconns++;
  if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 ||
      uv_read_start((uv_stream_t *)&c->pipe, ctl_alloc, ctl_read) != 0)
    ctl_conn_close(c);
}

int st_ctl_start(uv_loop_t *loop, st_ctl_t *ctl, st_observe_fn on_observe)
{
  static unsigned counter;
  int err;

  memset(ctl, 0, sizeof(*ctl));
  ctl->loop = loop;
  ctl->on_observe = on_observe;
  /* The process group (the case) comes first: the runner removes what a
   * killed case leaves behind. */
  snprintf(ctl->path, sizeof(ctl->path), "/tmp/simtest-%d-%d-%u.sock",
           (int)getpgrp(), (int)getpid(), counter++);
  snprintf(ctl->env, sizeof(ctl->env), "CLUSTERSIM_CONTROL=%s", ctl->path);
  (void)unlink(ctl->path);
  err = uv_pipe_init(loop, &ctl->server, 0);
  if (err != 0)
    return err;
  ctl->server.data = ctl;
  ctl->open = 1;
  err = uv_pipe_bind(&ctl->server, ctl->path);
  if (err == 0)
    err = uv_listen((uv_stream_t *)&ctl->server, 16, ctl_on_connection);
  if (err != 0)
    st_ctl_close(ctl);
  return err;
}

int st_ctl_fault(st_ctl_t *ctl, unsigned id, const char *json)
{
  for (int i = 0; i < ctl->nconns; i++)
    if (ctl->conns[i].id == id && ctl->conns[i].open)
      return ctl_write(&ctl->conns[i], json);
  if (ctl->npending == ST_CTL_PENDING)
    return UV_ENOBUFS;
  ctl->pending[ctl->npending].id = id;
  ctl->pending[ctl->npending].line = strdup(json);
  if (ctl->pending[ctl->npending].line == NULL)
    return UV_ENOMEM;
  ctl->npending++;
  return 0;
}

void st_ctl_close(st_ctl_t *ctl)
{
  if (!ctl->open)
    return;
  ctl->open = 0;
  for (int i = 0; i < ctl->nconns; i++)
    ctl_conn_close(&ctl->conns[i]);
  for (int i = 0; i < ctl->npending; i++)
    free(ctl->pending[i].line);
  ctl->npending = 0;
  if (!uv_is_closing((uv_handle_t *)&ctl->server))
    uv_close((uv_handle_t *)&ctl->server, NULL);
  (void)unlink(ctl->path);
}
