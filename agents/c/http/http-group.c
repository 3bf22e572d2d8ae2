/*
 * http-group.c - the set of connections of one server and its graceful
 * close.
 */
#include <stdlib.h>
#include <string.h>

#include "http-internal.h"

int http_kind_from_name(const char *name, http_kind_t *kind)
{
  if (name == NULL || kind == NULL)
    return UV_EINVAL;
  if (strcmp(name, "http") == 0)
    *kind = HTTP_KIND_HTTP;
  else if (strcmp(name, "tcp") == 0)
    *kind = HTTP_KIND_TCP;
  else
    return UV_EINVAL;
  return 0;
}

static int http_group_format(http_group_t *group)
{
  const http_opts_t *o = &group->opts;

  for (unsigned i = 0; i < HTTP_RESP_MAX; i++) {
    http__bytes_t *r = &group->responses[i];
    r->len = http__response_format(r->data, sizeof(r->data),
                                  i == HTTP_RESP_BAD ? 400 : 200,
                                  o->worker_id, (i & HTTP_RESP_KEEP) != 0,
                                  (i & HTTP_RESP_HEAD) != 0,
                                  o->keepalive_timeout_ms);
    if (r->len == 0)
      return UV_ENOBUFS;
  }
  return 0;
}

const http__bytes_t *http__group_response(const http_group_t *group,
                                        unsigned status, bool keep_alive,
                                        bool head)
{
  if (status != 200)
    return &group->responses[HTTP_RESP_BAD];
  return &group->responses[(keep_alive ? HTTP_RESP_KEEP : 0) |
                           (head ? HTTP_RESP_HEAD : 0)];
}

int http_group_new(uv_loop_t *loop, const http_opts_t *opts,
                   http_group_t **ret_group)
{
  http_group_t *group;
  int rc;

  if (loop == NULL || opts == NULL || ret_group == NULL ||
      (opts->release == NULL && opts->release_stream == NULL) ||
      (opts->kind != HTTP_KIND_HTTP && opts->kind != HTTP_KIND_TCP))
    return UV_EINVAL;

  group = calloc(1, sizeof(*group));
  if (group == NULL)
    return UV_ENOMEM;
  group->loop = loop;
  group->opts = *opts;
  if (group->opts.keepalive_timeout_ms == 0)
    group->opts.keepalive_timeout_ms = HTTP_KEEPALIVE_TIMEOUT_MS;
  if (group->opts.request_timeout_ms == 0)
    group->opts.request_timeout_ms = HTTP_REQUEST_TIMEOUT_MS;

  rc = http_group_format(group);
  if (rc == 0)
    rc = uv_idle_init(loop, &group->closer);
  if (rc < 0) {
    free(group);
    return rc;
  }
  group->closer.data = group;
  *ret_group = group;
  return 0;
}

static void on_closer_closed(uv_handle_t *handle)
{
  http_group_t *group = handle->data;

  if (group->close_cb != NULL)
    group->close_cb(group, group->close_arg);
  free(group);
}

static void maybe_finish(http_group_t *group)
{
  if (!group->closing || group->conns != NULL || group->closer_closing)
    return;
  group->closer_closing = true;
  uv_close((uv_handle_t *)&group->closer, on_closer_closed);
}

void http__group_conn_gone(http_group_t *group, http__conn_t *conn)
{
  if (conn->prev != NULL)
    conn->prev->next = conn->next;
  else
    group->conns = conn->next;
  if (conn->next != NULL)
    conn->next->prev = conn->prev;
  conn->prev = conn->next = NULL;
  maybe_finish(group);
}

void http__release(http_group_t *group, uv_stream_t *stream)
{
  if (group->opts.release_stream != NULL)
    group->opts.release_stream(stream, group->opts.release_arg);
  else
    group->opts.release((uv_tcp_t *)stream, group->opts.release_arg);
}

int http_group_serve(http_group_t *group, uv_tcp_t *conn)
{
  if (group == NULL || conn == NULL)
    return UV_EINVAL;
  return http__conn_start(group, (uv_stream_t *)conn);
}

int http_group_serve_stream(http_group_t *group, uv_stream_t *conn)
{
  if (group == NULL || conn == NULL ||
      (conn->type != UV_TCP && conn->type != UV_NAMED_PIPE) ||
      (conn->type != UV_TCP && group->opts.release_stream == NULL))
    return UV_EINVAL;
  return http__conn_start(group, conn);
}

int http_group_close(http_group_t *group, http_group_close_cb cb, void *arg)
{
  http__conn_t *conn, *next;

  if (group == NULL)
    return UV_EINVAL;
  if (group->closing)
    return UV_EALREADY;
  group->closing = true;
  group->close_cb = cb;
  group->close_arg = arg;
  /* A connection may leave the list while it is being closed, so the next
   * one is taken first; freeing always happens later, from a close
   * callback, so `next` stays valid. */
  for (conn = group->conns; conn != NULL; conn = next) {
    next = conn->next;
    http__conn_close_gracefully(conn);
  }
  maybe_finish(group);
  return 0;
}

void http_group_abort(http_group_t *group)
{
  http__conn_t *conn, *next;

  if (group == NULL)
    return;
  if (!group->closing) {
    group->closing = true;
    group->close_cb = NULL;
    group->close_arg = NULL;
  }
  for (conn = group->conns; conn != NULL; conn = next) {
    next = conn->next;
    http__conn_destroy(conn);
  }
  maybe_finish(group);
}

void http_group_stats(const http_group_t *group, http_stats_t *stats)
{
  if (group == NULL || stats == NULL)
    return;
  *stats = group->stats;
}
