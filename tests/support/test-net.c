/*
 * test-net.c - loopback listeners, accepted connections and fire-and-forget
 * writes for the tests of network code (test-support.h).
 */
#include <stdlib.h>
#include <string.h>

#include "test-support.h"

int test_tcp_listen(uv_loop_t *loop, uv_tcp_t *tcp, const char *host,
                    uv_connection_cb cb, int *port)
{
  struct sockaddr_storage addr;
  int namelen = sizeof(addr);
  int rc;

  memset(&addr, 0, sizeof(addr));
  if (strchr(host, ':') != NULL)
    rc = uv_ip6_addr(host, 0, (struct sockaddr_in6 *)&addr);
  else
    rc = uv_ip4_addr(host, 0, (struct sockaddr_in *)&addr);
  if (rc == 0)
    rc = uv_tcp_init(loop, tcp);
  if (rc != 0)
    return rc;
  rc = uv_tcp_bind(tcp, (const struct sockaddr *)&addr, 0);
  if (rc == 0 && cb != NULL)
    rc = uv_listen((uv_stream_t *)tcp, 128, cb);
  if (rc == 0)
    rc = uv_tcp_getsockname(tcp, (struct sockaddr *)&addr, &namelen);
  if (rc != 0) {
    uv_close((uv_handle_t *)tcp, NULL);
    return rc;
  }
  if (addr.ss_family == AF_INET6)
    *port = ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
  else
    *port = ntohs(((struct sockaddr_in *)&addr)->sin_port);
  return 0;
}

void test_handle_free(uv_handle_t *handle)
{
  free(handle);
}

int test_tcp_accept(uv_stream_t *listener, uv_tcp_t **conn)
{
  uv_tcp_t *tcp = malloc(sizeof(*tcp));
  int rc;

  *conn = NULL;
  if (tcp == NULL)
    return UV_ENOMEM;
  rc = uv_tcp_init(listener->loop, tcp);
  if (rc != 0) {
    free(tcp);
    return rc;
  }
  rc = uv_accept(listener, (uv_stream_t *)tcp);
  if (rc != 0) {
    uv_close((uv_handle_t *)tcp, test_handle_free);
    return rc;
  }
  *conn = tcp;
  return 0;
}

void test_tcp_release(uv_tcp_t *conn, void *arg)
{
  (void)arg;
  uv_close((uv_handle_t *)conn, test_handle_free);
}

typedef struct {
  uv_write_t req;
  void (*cb)(int status, void *arg);
  void *arg;
} test_write_t;

static void test_on_write(uv_write_t *req, int status)
{
  test_write_t *w = req->data;

  if (w->cb != NULL)
    w->cb(status, w->arg);
  free(w);
}

int test_write(uv_stream_t *stream, const char *text,
               void (*cb)(int status, void *arg), void *arg)
{
  test_write_t *w = malloc(sizeof(*w));
  uv_buf_t buf = uv_buf_init((char *)text, (unsigned)strlen(text));
  int rc;

  if (w == NULL)
    return UV_ENOMEM;
  w->req.data = w;
  w->cb = cb;
  w->arg = arg;
  rc = uv_write(&w->req, stream, &buf, 1, test_on_write);
  if (rc != 0)
    free(w);
  return rc;
}
