/*
 * http-response.c - the bytes of every response the group sends, shaped
 * like those of Node's http.Server for the same handler.
 */
#include <stdio.h>

#include "http-internal.h"

static size_t fitted(int n, size_t size)
{
  /* snprintf reports the length it wanted; a cut response is no response. */
  if (n < 0 || (size_t)n >= size)
    return 0;
  return (size_t)n;
}

size_t http__response_format(char *buf, size_t size, unsigned status,
                            unsigned worker_id, bool keep_alive, bool head,
                            unsigned keepalive_timeout_ms)
{
  char body[32];
  int body_len;
  int n;

  if (status != 200) {
    /* Node answers a parse error with exactly these bytes
     * (lib/_http_server.js socketOnError). */
    n = snprintf(buf, size,
                 "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    return fitted(n, size);
  }

  body_len = snprintf(body, sizeof(body), "worker %u\n", worker_id);
  if (body_len < 0 || (size_t)body_len >= sizeof(body))
    return 0;

  if (keep_alive)
    n = snprintf(buf, size,
                 "HTTP/1.1 200 OK\r\n"
                 "Content-Type: text/plain\r\n"
                 "X-Worker: %u\r\n"
                 "Connection: keep-alive\r\n"
                 "Keep-Alive: timeout=%u\r\n"
                 "Content-Length: %d\r\n"
                 "\r\n%s",
                 worker_id, (keepalive_timeout_ms + 999u) / 1000u, body_len,
                 head ? "" : body);
  else
    n = snprintf(buf, size,
                 "HTTP/1.1 200 OK\r\n"
                 "Content-Type: text/plain\r\n"
                 "X-Worker: %u\r\n"
                 "Connection: close\r\n"
                 "Content-Length: %d\r\n"
                 "\r\n%s",
                 worker_id, body_len, head ? "" : body);
  return fitted(n, size);
}

size_t http__response_format_tcp(char *buf, size_t size, unsigned worker_id)
{
  return fitted(snprintf(buf, size, "worker %u\n", worker_id), size);
}
