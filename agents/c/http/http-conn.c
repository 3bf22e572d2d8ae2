/*
 * http-conn.c - one served connection: parsing requests, the ordered
 * queue of responses, keep-alive, graceful and abrupt ends.
 *
 * Lifetime: the struct lives until its timer is closed and every
 * write/shutdown request on the TCP handle has been called back (refs), so
 * callbacks that arrive after the handle was released (ECANCELED) still
 * find it. "Released" means given back to the owner; the struct is freed
 * later and only then leaves the group.
 */
#include <stdlib.h>
#include <string.h>

#include "http-internal.h"

/* Bytes the kernel did not take at once, for libuv to write. */
typedef struct {
  uv_write_t req;
  http__conn_t *conn;
  unsigned responses;       /* how many responses end in these bytes */
  char buf[];
} http_write_t;

/* Due responses leave together in one write of at most this much. */
#define HTTP_FLUSH_MAX 16384

static int on_message_begin(http_parser *parser);
static int on_message_complete(http_parser *parser);

static const http_parser_settings parser_settings = {
  .on_message_begin = on_message_begin,
  .on_message_complete = on_message_complete,
};

static bool conn_busy(const http__conn_t *conn)
{
  return conn->in_message || conn->q_len > 0 || conn->writes > 0 ||
         conn->shutting;
}

static unsigned conn_backlog(const http__conn_t *conn)
{
  return conn->q_len + conn->writes;
}

static void conn_unref(http__conn_t *conn)
{
  if (--conn->refs > 0)
    return;
  free(conn->rbuf);
  http__group_conn_gone(conn->group, conn);
  free(conn);
}

static void on_timer_closed(uv_handle_t *handle)
{
  conn_unref(handle->data);
}

static void conn_update_busy(http__conn_t *conn)
{
  bool busy = conn->stream != NULL && conn_busy(conn);

  if (busy == conn->busy_counted)
    return;
  conn->busy_counted = busy;
  if (busy)
    conn->group->stats.busy++;
  else
    conn->group->stats.busy--;
}

void http__conn_destroy(http__conn_t *conn)
{
  http_group_t *group = conn->group;
  uv_stream_t *tcp = conn->stream;

  if (tcp == NULL)
    return;
  uv_read_stop(tcp);
  tcp->data = conn->saved_data;
  conn->stream = NULL;
  conn->reading = false;
  conn_update_busy(conn);
  group->stats.connections--;
  uv_timer_stop(&conn->timer);
  uv_close((uv_handle_t *)&conn->timer, on_timer_closed);
  http__release(group, tcp);
}

static void on_linger_timeout(uv_timer_t *timer)
{
  http__conn_destroy(timer->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
  http__conn_t *conn = req->data;

  if (conn->stream != NULL) {
    conn->shutting = false;
    /* Node's destroySoon() for HTTP; for the TCP kind the socket stays
     * until the peer ends too (allowHalfOpen false), bounded by the
     * timer. */
    if (status < 0 || conn->group->opts.kind == HTTP_KIND_HTTP ||
        conn->peer_ended || conn->closing) {
      http__conn_destroy(conn);
    } else {
      conn->lingering = true;
      conn_update_busy(conn);
      uv_timer_start(&conn->timer, on_linger_timeout,
                     conn->group->opts.keepalive_timeout_ms, 0);
    }
  }
  conn_unref(conn);
}

static int conn_shutdown(http__conn_t *conn)
{
  int rc;

  conn->shutdown_req.data = conn;
  rc = uv_shutdown(&conn->shutdown_req, conn->stream,
                   on_shutdown);
  if (rc < 0)
    return rc;
  conn->refs++;
  conn->shutting = true;
  return 0;
}

static void on_write(uv_write_t *req, int status);

/* Sends `len` bytes holding `responses` whole responses: straight to the
 * kernel when it takes them all (no request, no callback), the rest
 * through libuv. */
static int conn_send(http__conn_t *conn, const char *data, size_t len,
                     unsigned responses)
{
  uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
  http_write_t *w;
  int n, rc;

  n = uv_try_write(conn->stream, &buf, 1);
  if (n == (int)len) {
    conn->group->stats.responses += responses;
    return 0;
  }
  if (n < 0 && n != UV_EAGAIN)
    return n;
  if (n < 0)
    n = 0;
  w = malloc(sizeof(*w) + len - (size_t)n);
  if (w == NULL)
    return UV_ENOMEM;
  memcpy(w->buf, data + n, len - (size_t)n);
  w->conn = conn;
  w->responses = responses;
  buf = uv_buf_init(w->buf, (unsigned)(len - (size_t)n));
  rc = uv_write(&w->req, conn->stream, &buf, 1, on_write);
  if (rc < 0) {
    free(w);
    return rc;
  }
  conn->refs++;
  conn->writes++;
  return 0;
}

/* Gathers the responses that are due, in order, up to the one that ends
 * the connection; their count, 0 when none is due. */
static unsigned conn_gather(http__conn_t *conn, char *buf, size_t *len,
                            bool *last)
{
  uint64_t now = uv_now(conn->group->loop);
  unsigned count = 0;

  *len = 0;
  *last = false;
  while (conn->q_len > 0 && !*last) {
    http__entry_t e = conn->queue[conn->q_head];
    const http__bytes_t *r;

    if (e.ready_at > now)
      break;
    r = http__group_response(conn->group, e.status, e.keep_alive, e.head);
    if (*len + r->len > HTTP_FLUSH_MAX)
      break;
    memcpy(buf + *len, r->data, r->len);
    *len += r->len;
    count++;
    conn->q_head = (conn->q_head + 1) % HTTP_MAX_BACKLOG;
    conn->q_len--;
    *last = !e.keep_alive;
  }
  return count;
}

/* Writes every queued response whose delay has passed, in order; the one
 * not kept alive ends the connection's sending side. */
static void conn_flush(http__conn_t *conn)
{
  char buf[HTTP_FLUSH_MAX];
  unsigned count;
  size_t len;
  bool last;
  int rc = 0;

  while (rc == 0 && conn->stream != NULL && !conn->shutting &&
         (count = conn_gather(conn, buf, &len, &last)) > 0) {
    rc = conn_send(conn, buf, len, count);
    if (rc == 0 && last)
      rc = conn_shutdown(conn);
  }
  if (rc < 0)
    http__conn_destroy(conn);
}

static void on_timer(uv_timer_t *timer);

/* Sets the deadline of whatever the connection waits for now. The one
 * timer is started only when it must fire earlier than it would: a
 * deadline that moves later (every request does) is caught up with when
 * the timer fires. */
static void conn_arm(http__conn_t *conn)
{
  const http_opts_t *opts = &conn->group->opts;
  uint64_t now = uv_now(conn->group->loop);
  uint64_t timeout;

  if (conn->stream == NULL || conn->lingering)
    return;
  if (conn->q_len > 0 && !conn->shutting &&
      conn->queue[conn->q_head].ready_at > now)
    timeout = conn->queue[conn->q_head].ready_at - now;
  else if (conn_busy(conn))
    timeout = opts->request_timeout_ms;
  else
    timeout = opts->keepalive_timeout_ms;
  conn->deadline = now + timeout;
  if (uv_is_active((uv_handle_t *)&conn->timer) &&
      conn->armed_due <= conn->deadline)
    return;
  conn->armed_due = conn->deadline;
  uv_timer_start(&conn->timer, on_timer, timeout, 0);
}

/* Called at the end of every event: writes what is due, ends a connection
 * that has nothing left to do, re-arms the timer. */
static void conn_resume(http__conn_t *conn);

static void conn_settle(http__conn_t *conn)
{
  conn_flush(conn);
  /* Responses the kernel took at once may have drained a full backlog:
   * parse what was kept, which may queue more to flush. */
  while (conn->stream != NULL && conn->paused && !conn->ending &&
         conn_backlog(conn) < HTTP_MAX_BACKLOG) {
    conn_resume(conn);
    if (conn->stream != NULL)
      conn_flush(conn);
  }
  if (conn->stream == NULL)
    return;
  if ((conn->closing || conn->ending) && !conn_busy(conn) &&
      !conn->lingering) {
    http__conn_destroy(conn);
    return;
  }
  conn_update_busy(conn);
  conn_arm(conn);
}

static void on_timer(uv_timer_t *timer)
{
  http__conn_t *conn = timer->data;
  uint64_t now = uv_now(conn->group->loop);

  if (conn->q_len > 0 && !conn->shutting &&
      conn->queue[conn->q_head].ready_at <= now) {
    conn_settle(conn);
    return;
  }
  if (now < conn->deadline) {
    /* Activity moved the deadline since the timer was started. */
    conn->armed_due = conn->deadline;
    uv_timer_start(timer, on_timer, conn->deadline - now, 0);
    return;
  }
  /* Keep-alive or request timeout: Node destroys the socket. */
  http__conn_destroy(conn);
}

static void conn_enqueue(http__conn_t *conn, unsigned short status,
                         bool keep_alive, bool head)
{
  http__entry_t *e;
  uint64_t ready_at = uv_now(conn->group->loop) + conn->group->opts.delay_ms;

  /* The parser is paused before the queue can overflow; a full queue here
   * would be a bug, and the safe answer is to stop serving. */
  if (conn->q_len == HTTP_MAX_BACKLOG) {
    conn->ending = true;
    return;
  }
  /* Responses leave in order, so one may not be due before the one ahead
   * of it. */
  if (conn->q_len > 0) {
    http__entry_t *last = &conn->queue[(conn->q_head + conn->q_len - 1) %
                                      HTTP_MAX_BACKLOG];
    if (last->ready_at > ready_at)
      ready_at = last->ready_at;
  }
  e = &conn->queue[(conn->q_head + conn->q_len) % HTTP_MAX_BACKLOG];
  e->ready_at = ready_at;
  e->status = status;
  e->keep_alive = keep_alive;
  e->head = head;
  conn->q_len++;
}

static int on_message_begin(http_parser *parser)
{
  http__conn_t *conn = parser->data;

  conn->in_message = true;
  return 0;
}

static int on_message_complete(http_parser *parser)
{
  http__conn_t *conn = parser->data;
  bool keep_alive;

  conn->in_message = false;
  conn->group->stats.requests++;
  if (parser->method == HTTP_CONNECT) {
    /* Without a 'connect' listener Node closes the connection. */
    conn->connect = true;
    conn->ending = true;
    http_parser_pause(parser, 1);
    return 0;
  }
  /* Bytes after an Upgrade request belong to another protocol that this
   * server does not speak, so the answer also ends the connection. */
  keep_alive = http_should_keep_alive(parser) && !parser->upgrade &&
               !conn->closing;
  conn_enqueue(conn, 200, keep_alive, parser->method == HTTP_HEAD);
  if (!keep_alive)
    conn->ending = true;
  if (conn->ending || conn_backlog(conn) >= HTTP_MAX_BACKLOG)
    http_parser_pause(parser, 1);
  return 0;
}

static void conn_stop_reading(http__conn_t *conn)
{
  if (conn->reading)
    uv_read_stop(conn->stream);
  conn->reading = false;
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static int conn_start_reading(http__conn_t *conn)
{
  int rc;

  if (conn->reading || conn->peer_ended)
    return 0;
  rc = uv_read_start(conn->stream, on_alloc, on_read);
  if (rc < 0)
    return rc;
  conn->reading = true;
  return 0;
}

static void conn_parse(http__conn_t *conn, const char *data, size_t len)
{
  size_t n;
  enum http_errno err;

  n = http_parser_execute(&conn->parser, &parser_settings, data, len);
  err = HTTP_PARSER_ERRNO(&conn->parser);
  if (conn->connect) {
    http__conn_destroy(conn);
    return;
  }
  if (conn->ending)
    return;     /* whatever follows the last answered request is dropped */
  if (err == HPE_PAUSED) {
    /* Backlog full: keep the rest and stop reading until it drains. */
    if (n < len) {
      conn->rbuf = malloc(len - n);
      if (conn->rbuf == NULL) {
        http__conn_destroy(conn);
        return;
      }
      memcpy(conn->rbuf, data + n, len - n);
      conn->roff = 0;
      conn->rlen = len - n;
    }
    conn->paused = true;
    conn_stop_reading(conn);
    return;
  }
  if (err != HPE_OK) {
    conn->in_message = false;
    conn->group->stats.bad_requests++;
    conn_enqueue(conn, 400, false, false);
    conn->ending = true;
  }
}

/* Parses what was kept while the backlog was full, then reads again. */
static void conn_resume(http__conn_t *conn)
{
  char *kept;

  if (!conn->paused || conn->ending ||
      conn_backlog(conn) >= HTTP_MAX_BACKLOG)
    return;
  conn->paused = false;
  http_parser_pause(&conn->parser, 0);
  kept = conn->rbuf;
  if (kept != NULL) {
    size_t off = conn->roff, len = conn->rlen;

    conn->rbuf = NULL;
    conn_parse(conn, kept + off, len - off);
    free(kept);
  }
  if (conn->stream != NULL && !conn->paused && conn_start_reading(conn) < 0)
    http__conn_destroy(conn);
}

static void on_write(uv_write_t *req, int status)
{
  http_write_t *w = (http_write_t *)req;
  http__conn_t *conn = w->conn;

  unsigned responses = w->responses;

  free(w);
  conn->writes--;
  if (conn->stream != NULL) {
    if (status < 0) {
      http__conn_destroy(conn);
    } else {
      conn->group->stats.responses += responses;
      conn_resume(conn);
      if (conn->stream != NULL)
        conn_settle(conn);
    }
  }
  conn_unref(conn);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
  http__conn_t *conn = handle->data;

  buf->base = conn->group->rbuf;
  buf->len = sizeof(conn->group->rbuf);
}

static void conn_on_eof(http__conn_t *conn)
{
  conn->peer_ended = true;
  conn_stop_reading(conn);
  if (conn->lingering) {
    http__conn_destroy(conn);
    return;
  }
  /* A request cut short by the peer's end is never answered; the ones
   * already complete still are, as Node does. */
  conn->in_message = false;
  conn->ending = true;
  free(conn->rbuf);
  conn->rbuf = NULL;
  conn_settle(conn);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  http__conn_t *conn = stream->data;

  if (nread == 0)
    return;
  if (nread < 0) {
    if (nread == UV_EOF)
      conn_on_eof(conn);
    else
      http__conn_destroy(conn);
    return;
  }
  /* Read and dropped: unread bytes at close time would turn the FIN
   * into a reset and could cost the peer its last response. */
  if (conn->ending || conn->lingering || conn->shutting ||
      conn->group->opts.kind == HTTP_KIND_TCP)
    return;
  conn_parse(conn, buf->base, (size_t)nread);
  if (conn->stream != NULL)
    conn_settle(conn);
}

void http__conn_close_gracefully(http__conn_t *conn)
{
  if (conn->stream == NULL || conn->closing)
    return;
  conn->closing = true;
  if (conn->lingering || !conn_busy(conn)) {
    http__conn_destroy(conn);
    return;
  }
  if (conn->q_len > 0) {
    /* The requests already complete are answered; the last answer
     * carries `Connection: close`, and nothing after it is parsed. */
    conn->queue[(conn->q_head + conn->q_len - 1) % HTTP_MAX_BACKLOG]
        .keep_alive = false;
    conn->ending = true;
    conn->in_message = false;
    free(conn->rbuf);
    conn->rbuf = NULL;
    if (!conn->shutting && conn_start_reading(conn) < 0) {
      http__conn_destroy(conn);
      return;
    }
  }
  /* Otherwise a request is being received (its answer will carry
   * `Connection: close`) or the last answers are being written. */
  conn_settle(conn);
}

int http__conn_start(http_group_t *group, uv_stream_t *tcp)
{
  const http_opts_t *opts = &group->opts;
  http__conn_t *conn;
  int rc;

  if (group->closing) {
    http__release(group, tcp);
    return UV_ECANCELED;
  }
  conn = calloc(1, sizeof(*conn));
  if (conn == NULL) {
    http__release(group, tcp);
    return UV_ENOMEM;
  }
  rc = uv_timer_init(group->loop, &conn->timer);
  if (rc < 0) {
    free(conn);
    http__release(group, tcp);
    return rc;
  }
  conn->timer.data = conn;
  conn->refs = 1;
  conn->group = group;
  conn->next = group->conns;
  if (group->conns != NULL)
    group->conns->prev = conn;
  group->conns = conn;
  conn->stream = tcp;
  conn->saved_data = tcp->data;
  tcp->data = conn;
  group->stats.connections++;
  group->stats.served++;
  http_parser_init(&conn->parser, HTTP_REQUEST);
  conn->parser.data = conn;

  rc = conn_start_reading(conn);
  if (rc < 0)
    goto out;
  if (opts->kind == HTTP_KIND_TCP) {
    char line[64];
    size_t len = http__response_format_tcp(line, sizeof(line),
                                          opts->worker_id);

    rc = len == 0 ? UV_ENOBUFS : conn_send(conn, line, len, 1);
    if (rc < 0)
      goto out;
    rc = conn_shutdown(conn);
    if (rc < 0)
      goto out;
  }
  conn_settle(conn);

out:
  if (rc < 0)
    http__conn_destroy(conn);
  return rc;
}
