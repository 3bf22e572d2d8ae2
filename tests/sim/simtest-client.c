/*
 * simtest-client.c - TCP and HTTP clients on a case's loop.
 */
#include <stdlib.h>
#include <string.h>

#include "simtest.h"

/* ---------------------------------------------------------------------- */
/* Clients                                                                 */

static const char request[] =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

static void client_closed(uv_handle_t *h)
{
  st_client_t *c = h->data;

  c->open = 0;
}

void st_client_close(st_client_t *c)
{
  if (c->open && !uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, client_closed);
}

static void client_done(st_client_t *c)
{
  const char *h;

  c->buf[c->len] = '\0';
  h = strcasestr(c->buf, "\r\nX-Worker:");
  c->worker = h != NULL ? atoi(h + 11) : -1;
  st_client_close(c);
  if (!c->done) {
    c->done = 1;
    if (c->done_cb != NULL && !c->ctx->finishing)
      c->done_cb(c);
  }
}

static void client_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  st_client_t *c = h->data;
  size_t room = sizeof(c->buf) - 1 - c->len;

  /* A full buffer still reads (into a scratch area) so EOF is seen. */
  static char scratch[4096];
  if (room == 0) {
    buf->base = scratch;
    buf->len = sizeof(scratch);
  } else {
    buf->base = c->buf + c->len;
    buf->len = room;
  }
}

static void client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  st_client_t *c = s->data;

  if (nread > 0) {
    if (buf->base == c->buf + c->len)
      c->len += (size_t)nread;
    return;
  }
  if (nread == 0)
    return;
  if (nread == UV_EOF)
    c->eof = 1;
  else
    c->read_error = (int)nread;
  client_done(c);
}

static void client_written(uv_write_t *req, int status)
{
  (void)req;
  (void)status;
}

static void client_connected(uv_connect_t *req, int status)
{
  st_client_t *c = req->data;
  uv_buf_t b;

  c->status = status;
  if (status != 0) {
    client_done(c);
    return;
  }
  c->connected = 1;
  if (c->data == (void *)request) {
    b = uv_buf_init((char *)request, sizeof(request) - 1);
    (void)uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1,
                   client_written);
  }
  (void)uv_read_start((uv_stream_t *)&c->tcp, client_alloc, client_read);
}

static int client_start(st_ctx_t *t, st_client_t *c, int port, int get,
                        void (*done_cb)(st_client_t *c))
{
  struct sockaddr_in sa;
  int err;

  memset(c, 0, sizeof(*c));
  c->ctx = t;
  c->worker = -1;
  c->done_cb = done_cb;
  c->data = get ? (void *)request : NULL;
  if (t->nclients == ST_MAX_CLIENTS)
    return UV_ENOBUFS;
  err = uv_ip4_addr("127.0.0.1", port, &sa);
  if (err != 0)
    return err;
  err = uv_tcp_init(&t->loop, &c->tcp);
  if (err != 0)
    return err;
  c->open = 1;
  c->tcp.data = c;
  c->connect_req.data = c;
  t->clients[t->nclients++] = c;
  err = uv_tcp_connect(&c->connect_req, &c->tcp, (struct sockaddr *)&sa,
                       client_connected);
  if (err != 0)
    st_client_close(c);
  return err;
}

int st_client_get(st_ctx_t *t, st_client_t *c, int port,
                  void (*done_cb)(st_client_t *c))
{
  return client_start(t, c, port, 1, done_cb);
}

int st_client_connect(st_ctx_t *t, st_client_t *c, int port,
                      void (*done_cb)(st_client_t *c))
{
  return client_start(t, c, port, 0, done_cb);
}
