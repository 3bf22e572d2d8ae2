/*
 * fuzz-http.c - libFuzzer target for the request side of the HTTP
 * responder (agents/c/http: http-parser behind a worker's server).
 *
 * The input is what a client sends on one connection, then it ends its
 * side; the first byte picks the kind (http or tcp). The responder reads
 * it all on a real stream (one end of a socketpair), answers, and gives
 * the connection back; the group then closes. Whatever the bytes: the
 * loop ends (libFuzzer's -timeout), nothing leaks, and what was written
 * back is HTTP responses (or tcp's line) from its first byte.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool released, closed;

static void on_conn_closed(uv_handle_t *h)
{
  free(h);
}

static void on_release(uv_tcp_t *conn, void *arg)
{
  (void)arg;
  released = true;
  uv_close((uv_handle_t *)conn, on_conn_closed);
}

static void on_group_closed(http_group_t *group, void *arg)
{
  (void)group;
  (void)arg;
  closed = true;
}

/* What the client got: all of it, the socket being non-blocking. */
static void check_answer(int fd, http_kind_t kind)
{
  static char buf[1 << 20];
  size_t len = 0;
  ssize_t n;

  while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
    len += (size_t)n;
  if (len == 0)
    return;
  if (kind == HTTP_KIND_TCP ? memcmp(buf, "worker 1\n", len < 9 ? len : 9)
                            : memcmp(buf, "HTTP/1.", len < 7 ? len : 7))
    abort();
}

static void serve(uv_loop_t *loop, const uint8_t *data, size_t size,
                  http_kind_t kind)
{
  http_opts_t o = {.kind = kind, .worker_id = 1, .keepalive_timeout_ms = 1,
                   .request_timeout_ms = 5, .release = on_release};
  http_group_t *g = NULL;
  uv_tcp_t *conn = malloc(sizeof(*conn));
  int sv[2];

  if (conn == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
                                 sv) != 0 || http_group_new(loop, &o, &g))
    abort();
  uv_tcp_init(loop, conn);
  if (uv_tcp_open(conn, sv[0]) != 0)
    abort();
  released = closed = false;
  (void)http_group_serve(g, conn);
  /* under the socket's buffer: the inputs are at most a few kB */
  if (size > 0 && write(sv[1], data, size) != (ssize_t)size)
    abort();
  shutdown(sv[1], SHUT_WR);
  while (!released && uv_run(loop, UV_RUN_ONCE) != 0)
    ;
  if (http_group_close(g, on_group_closed, NULL) != 0)
    abort();
  while (!closed && uv_run(loop, UV_RUN_ONCE) != 0)
    ;
  uv_run(loop, UV_RUN_NOWAIT);
  if (!released || !closed)
    abort();
  check_answer(sv[1], kind);
  close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static uv_loop_t *loop;

  if (loop == NULL)
    loop = uv_default_loop();
  if (size == 0)
    return 0;
  serve(loop, data + 1, size - 1,
        data[0] & 1 ? HTTP_KIND_TCP : HTTP_KIND_HTTP);
  return 0;
}
