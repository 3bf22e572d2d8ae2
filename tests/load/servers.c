/*
 * servers.c - the load generator's counterparts: a normal cluster-like
 * server made of two http/ groups, and raw servers that refuse, reset,
 * close early, truncate, stay silent or fail.
 */
#include <stdlib.h>
#include <string.h>

#include "servers.h"
#include "test-support.h"

#define OK_RESPONSE \
  "HTTP/1.1 200 OK\r\nX-Worker: 9\r\nContent-Length: 9\r\n\r\nworker 9\n"
#define ERROR_RESPONSE \
  "HTTP/1.1 500 Internal Server Error\r\nX-Worker: 9\r\n" \
  "Content-Length: 0\r\n\r\n"
#define PARTIAL_RESPONSE \
  "HTTP/1.1 200 OK\r\nX-Worker: 9\r\nContent-Length: 100\r\n\r\nwork"

struct srv_conn_s {
  uv_tcp_t tcp;
  srv_t *srv;
  srv_conn_t *prev, *next;
  http_parser parser;
  unsigned requests;
  bool closing;
};

static void on_conn_closed(uv_handle_t *handle)
{
  srv_conn_t *conn = handle->data;
  srv_t *srv = conn->srv;

  if (conn->prev != NULL)
    conn->prev->next = conn->next;
  else
    srv->conns = conn->next;
  if (conn->next != NULL)
    conn->next->prev = conn->prev;
  free(conn);
}

static void conn_close(srv_conn_t *conn, bool reset)
{
  if (conn->closing)
    return;
  conn->closing = true;
  if (!reset || uv_tcp_close_reset(&conn->tcp, on_conn_closed) < 0)
    uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
}

static void on_written(int status, void *arg)
{
  srv_conn_t *conn = arg;

  if (status == 0 && conn->srv->mode == SRV_TRUNCATE)
    conn_close(conn, false);
}

static void conn_write(srv_conn_t *conn, const char *text)
{
  if (test_write((uv_stream_t *)&conn->tcp, text, on_written, conn) < 0)
    conn_close(conn, false);
}

static int on_request(http_parser *parser)
{
  srv_conn_t *conn = parser->data;
  srv_t *srv = conn->srv;

  conn->requests++;
  switch (srv->mode) {
  case SRV_CLOSE_AFTER:
  case SRV_RESET_AFTER:
    if (conn->requests > srv->param)
      conn_close(conn, srv->mode == SRV_RESET_AFTER);
    else
      conn_write(conn, OK_RESPONSE);
    break;
  case SRV_TRUNCATE:
    conn_write(conn, PARTIAL_RESPONSE);
    break;
  case SRV_STATUS_500:
    conn_write(conn, ERROR_RESPONSE);
    break;
  default:
    break;
  }
  return 0;
}

static const http_parser_settings request_settings = {
  .on_message_complete = on_request,
};

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
  static char slab[16 * 1024];

  buf->base = slab;
  buf->len = sizeof(slab);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  srv_conn_t *conn = stream->data;

  if (nread < 0) {
    conn_close(conn, false);
    return;
  }
  if (conn->closing || nread == 0)
    return;
  http_parser_execute(&conn->parser, &request_settings, buf->base,
                      (size_t)nread);
  if (HTTP_PARSER_ERRNO(&conn->parser) != HPE_OK)
    conn_close(conn, false);
}

static void on_connection(uv_stream_t *listener, int status)
{
  srv_t *srv = listener->data;
  srv_conn_t *conn;
  uv_tcp_t *tcp;

  if (status < 0 || srv->closing)
    return;
  srv->accepted++;
  if (srv->mode == SRV_NORMAL) {
    if (test_tcp_accept(listener, &tcp) != 0)
      return;
    http_group_serve(srv->groups[srv->next_group], tcp);
    srv->next_group ^= 1;
    return;
  }
  conn = calloc(1, sizeof(*conn));
  if (conn == NULL)
    return;
  conn->srv = srv;
  conn->tcp.data = conn;
  uv_tcp_init(srv->loop, &conn->tcp);
  conn->next = srv->conns;
  if (srv->conns != NULL)
    srv->conns->prev = conn;
  srv->conns = conn;
  if (uv_accept(listener, (uv_stream_t *)&conn->tcp) < 0) {
    conn_close(conn, false);
    return;
  }
  if (srv->mode == SRV_RESET) {
    conn_close(conn, true);
    return;
  }
  http_parser_init(&conn->parser, HTTP_REQUEST);
  conn->parser.data = conn;
  if (uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read) < 0)
    conn_close(conn, false);
}

static int make_groups(srv_t *srv)
{
  unsigned i;
  int rc;

  for (i = 0; i < 2; i++) {
    http_opts_t opts = {.kind = HTTP_KIND_HTTP,
                        .worker_id = srv->next_worker++,
                        .release = test_tcp_release};

    rc = http_group_new(srv->loop, &opts, &srv->groups[i]);
    if (rc < 0)
      return rc;
  }
  return 0;
}

int srv_rotate(srv_t *srv)
{
  unsigned i;

  if (srv->mode != SRV_NORMAL || srv->closing)
    return UV_EINVAL;
  /* The old groups free themselves once their last connection is gone. */
  for (i = 0; i < 2; i++) {
    http_group_close(srv->groups[i], NULL, NULL);
    srv->groups[i] = NULL;
  }
  return make_groups(srv);
}

int srv_start(srv_t *srv, uv_loop_t *loop, const char *host, srv_mode_t mode,
              unsigned param)
{
  int rc;

  memset(srv, 0, sizeof(*srv));
  srv->loop = loop;
  srv->mode = mode;
  srv->param = param;
  srv->next_worker = 1;
  if (mode == SRV_NORMAL) {
    rc = make_groups(srv);
    if (rc < 0)
      return rc;
  }
  /* SRV_REFUSE: bound but not listening, the port refuses connections. */
  rc = test_tcp_listen(loop, &srv->listener, host,
                       mode != SRV_REFUSE ? on_connection : NULL,
                       &srv->port);
  if (rc < 0)
    return rc;
  srv->listener.data = srv;
  srv->listener_open = true;
  return 0;
}

void srv_close(srv_t *srv)
{
  srv_conn_t *conn, *next;
  unsigned i;

  if (srv->closing)
    return;
  srv->closing = true;
  if (srv->listener_open)
    uv_close((uv_handle_t *)&srv->listener, NULL);
  for (i = 0; i < 2; i++)
    if (srv->groups[i] != NULL)
      http_group_abort(srv->groups[i]);
  for (conn = srv->conns; conn != NULL; conn = next) {
    next = conn->next;
    conn_close(conn, false);
  }
}
