/*
 * http.h - the responder that worker processes put behind their servers.
 *
 * A "group" holds every connection of one server. The caller accepts a
 * connection (for instance in sim's connection_cb) and hands it to
 * http_group_serve(); the group reads and answers it and, when it is done
 * with it, gives it back through the caller's release callback, which must
 * close and free it (a worker passes a function that calls
 * sim_server_conn_close()). The group never closes a connection handle
 * itself.
 *
 * Kinds (docs/protocol.md §4.1):
 * - HTTP_KIND_HTTP: HTTP/1.1 as Node's http.Server answers it. Every request
 *   gets `200 OK`, body `worker <id>\n`, headers Content-Type: text/plain,
 *   Content-Length, X-Worker: <id> and Connection. Keep-alive follows
 *   HTTP/1.1 (and HTTP/1.0 with `Connection: keep-alive`); a request with
 *   `Connection: close` is answered with `Connection: close` and the
 *   connection ends after the response. Pipelined requests are answered in
 *   order. A request http-parser rejects gets `400 Bad Request` and the
 *   connection ends. HEAD is answered without a body. An Upgrade/CONNECT
 *   request ends the connection (Node does so without an upgrade listener).
 * - HTTP_KIND_TCP: writes `worker <id>\n`, then ends its side; the
 *   connection is released when the peer ends too (Node's allowHalfOpen
 *   false), or at the latest after the keep-alive timeout.
 *
 * Graceful close (http_group_close) is Node v20's http.Server.close(): the
 * caller stops accepting; the group ends every idle connection at once
 * (closeIdleConnections), and a connection with a request in flight
 * finishes that response, sent with `Connection: close`, and then ends.
 *
 * Everything runs on the caller's loop; no callback runs from inside an
 * API call except release, as stated below. Functions return 0 or a
 * negative UV_E* code.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdint.h>
#include <uv.h>

typedef enum {
  HTTP_KIND_HTTP = 0,
  HTTP_KIND_TCP = 1
} http_kind_t;

/* Node's server.keepAliveTimeout default. */
#define HTTP_KEEPALIVE_TIMEOUT_MS 5000u
/* How long a connection may make no progress while a request is being
 * received or answered before it is ended. */
#define HTTP_REQUEST_TIMEOUT_MS 30000u
/* Responses queued or being written per connection before the group stops
 * reading that connection until the client catches up. */
#define HTTP_MAX_BACKLOG 64u

typedef struct http_group_s http_group_t;

/* Gives a connection back to its owner, who must close (uv_close) and free
 * it. Called exactly once per served connection. The group has stopped
 * reading it and restored conn->data to the value it had at
 * http_group_serve(); writes still queued on it are cancelled by the close
 * and the group copes with that. */
typedef void (*http_release_cb)(uv_tcp_t *conn, void *arg);
/* The same for any stream (TCP or UNIX socket). */
typedef void (*http_release_stream_cb)(uv_stream_t *conn, void *arg);

/* Runs once, when the group has been closed and its last connection is
 * gone. The group is freed right after this callback returns. */
typedef void (*http_group_close_cb)(http_group_t *group, void *arg);

typedef struct {
  http_kind_t kind;
  unsigned worker_id;             /* the <id> in bodies and X-Worker */
  unsigned delay_ms;              /* each response is written this long
                                     after its request was complete (and
                                     after the response before it) */
  unsigned keepalive_timeout_ms;  /* idle keep-alive connection ends after
                                     this; 0: HTTP_KEEPALIVE_TIMEOUT_MS */
  unsigned request_timeout_ms;    /* 0: HTTP_REQUEST_TIMEOUT_MS */
  http_release_cb release;        /* required unless release_stream */
  http_release_stream_cb release_stream; /* when set, used instead of
                                            release for every connection */
  void *release_arg;
} http_opts_t;

/* Counters of one group, for observations and tests. */
typedef struct {
  unsigned connections;           /* open now */
  unsigned busy;                  /* open now with a request in flight */
  uint64_t served;                /* connections ever served */
  uint64_t requests;              /* complete requests received */
  uint64_t responses;             /* responses fully written */
  uint64_t bad_requests;          /* answered 400 */
} http_stats_t;

/* Creates a group on `loop`. `opts` is copied. UV_EINVAL without a release
 * callback (either) or with an unknown kind, UV_ENOMEM. The group is owned by the
 * caller until http_group_close(), then by itself. */
int http_group_new(uv_loop_t *loop, const http_opts_t *opts,
                   http_group_t **ret_group);

/* Serves an accepted, connected TCP connection. `conn` passes to the group
 * in every case: on failure (UV_E* returned) and on a group that is
 * already closing (UV_ECANCELED: an idle connection ends at once, as
 * closeIdleConnections would end it), release has been called before this
 * returns. The group uses conn->data while it holds the connection. */
int http_group_serve(http_group_t *group, uv_tcp_t *conn);
/* http_group_serve() for a TCP or UNIX-socket stream (conn->type); a UNIX
 * socket needs release_stream. UV_EINVAL for another type. */
int http_group_serve_stream(http_group_t *group, uv_stream_t *conn);

/* Starts the graceful close described above. `cb` (optional) runs from
 * the loop, never from inside this call, once every connection is gone,
 * then the group is freed. UV_EALREADY if the group is already closing. */
int http_group_close(http_group_t *group, http_group_close_cb cb,
                     void *arg);

/* Ends every connection at once, in flight or not. Implies
 * http_group_close(group, NULL, NULL) when no close was started; the cb of
 * an earlier http_group_close() still runs. */
void http_group_abort(http_group_t *group);

void http_group_stats(const http_group_t *group, http_stats_t *stats);

/* "http" -> HTTP_KIND_HTTP, "tcp" -> HTTP_KIND_TCP; UV_EINVAL otherwise. */
int http_kind_from_name(const char *name, http_kind_t *kind);

#endif /* HTTP_H */
