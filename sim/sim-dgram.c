/*
 * sim-dgram.c - UDP sockets as lib/dgram.js makes them for cluster.
 *
 * In a worker, socket.bind() without `exclusive` goes to the primary
 * (bindServerHandle -> cluster._getServer with addressType "udp4" or
 * "udp6"), which always answers with a shared, bound handle, whatever the
 * scheduling policy; the worker then receives on it. The cluster part of
 * that (query, registry, close, disconnect) is sim-server.c's; this file
 * binds, receives and sends.
 */
#include <stdlib.h>
#include <string.h>

#include "sim-internal.h"

/* Largest datagram received: UDP's own limit. */
#define DGRAM_MAX 65536

int sim__udp_bind(uv_udp_t *udp, const char *address, int family, int port,
                  int flags)
{
  struct sockaddr_storage ss;
  int err;

  /* Node's lookup of an absent address gives the wildcard of the family. */
  if (address == NULL)
    address = family == 6 ? "::" : "0.0.0.0";
  if (family == 6)
    err = uv_ip6_addr(address, port, (struct sockaddr_in6 *)&ss);
  else
    err = uv_ip4_addr(address, port, (struct sockaddr_in *)&ss);
  if (err != 0)
    return err;
  return uv_udp_bind(udp, (const struct sockaddr *)&ss, (unsigned)flags);
}

int sim__udp_port(const uv_udp_t *udp)
{
  struct sockaddr_storage ss;
  int len = sizeof(ss);

  if (uv_udp_getsockname(udp, (struct sockaddr *)&ss, &len) != 0)
    return 0;
  if (ss.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* ---------------------------------------------------------------------- */
/* Receiving                                                               */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  /* One loop, one thread: one buffer serves every socket of the process,
   * as each datagram is handed over before the next is read. */
  static char chunk[DGRAM_MAX];

  (void)h;
  (void)hint;
  buf->base = chunk;
  buf->len = sizeof(chunk);
}

static void on_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *from, unsigned flags)
{
  sim_server_t *server = udp->data;

  (void)flags;
  /* nread 0 with no sender: nothing more to read now. Errors are a
   * socket's 'error' in Node; a receiving worker reads on. */
  if (nread < 0 || from == NULL)
    return;
  sim__server_on_datagram(server, buf->base, (size_t)nread, from);
}

int sim__udp_start(sim_server_t *server, uv_udp_t *udp)
{
  udp->data = server;
  return uv_udp_recv_start(udp, on_alloc, on_recv);
}

/* ---------------------------------------------------------------------- */
/* Sending                                                                 */

typedef struct {
  uv_udp_send_t req;
  char data[];
} dgram_send_t;

static void on_sent(uv_udp_send_t *req, int status)
{
  (void)status;
  free(req->data);
}

int sim__udp_send(uv_udp_t *udp, const void *data, size_t len,
                  const struct sockaddr *to)
{
  dgram_send_t *s;
  uv_buf_t buf;
  int err;

  if (len > DGRAM_MAX)
    return UV_EMSGSIZE;
  /* Most datagrams leave at once; a full socket buffer queues a copy. */
  buf = uv_buf_init((char *)data, (unsigned)len);
  err = uv_udp_try_send(udp, &buf, 1, to);
  if (err >= 0)
    return 0;
  if (err != UV_EAGAIN && err != UV_ENOSYS)
    return err;
  s = malloc(sizeof(*s) + len);
  if (s == NULL)
    return UV_ENOMEM;
  memcpy(s->data, data, len);
  s->req.data = s;
  buf = uv_buf_init(s->data, (unsigned)len);
  err = uv_udp_send(&s->req, udp, &buf, 1, to, on_sent);
  if (err != 0)
    free(s);
  return err;
}
