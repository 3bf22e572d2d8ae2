/*
 * sim-shared.c - SCHED_NONE, and UDP under any policy: one bound socket
 * passed to every worker.
 *
 * As shared_handle.js: the primary binds (TCP, UNIX socket or UDP) but
 * does not listen; each worker receives the fd with its queryServer reply
 * (errno 0) and listens on it (or receives datagrams on it) itself, so the
 * kernel spreads the traffic. A bind error is sent instead of the handle.
 */
#include <stdlib.h>
#include <string.h>

#include "sim-internal.h"

typedef struct {
  sim__handle_t base;
  union {
    uv_handle_t handle;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_udp_t udp;
  } u;
  int err;
  unsigned char *on;         /* by worker id (dense): on this handle */
  unsigned cap;
  unsigned n;
} shared_t;

static int shared_add(sim__handle_t *h, sim_worker_t *w, sim__reply_fn reply,
                      void *arg)
{
  shared_t *s = (shared_t *)h;
  unsigned id = sim_worker_id(w);

  if (id >= s->cap) {
    unsigned cap = s->cap ? s->cap : 64;
    unsigned char *v;
    while (cap <= id)
      cap *= 2;
    v = realloc(s->on, cap);
    if (v == NULL)
      return UV_ENOMEM;
    memset(v + s->cap, 0, cap - s->cap);
    s->on = v;
    s->cap = cap;
  }
  if (!s->on[id]) {
    s->on[id] = 1;
    s->n++;
  }
  /* On error the reply destroys this handle: nothing may follow it. */
  reply(w, s->err, 0, NULL, s->err ? NULL : (uv_stream_t *)&s->u.handle,
        arg);
  return 0;
}

static int shared_remove(sim__handle_t *h, sim_worker_t *w)
{
  shared_t *s = (shared_t *)h;
  unsigned id = sim_worker_id(w);

  if (id >= s->cap || !s->on[id])
    return 0;
  s->on[id] = 0;
  s->n--;
  return s->n == 0;
}

static void on_closed(uv_handle_t *h)
{
  shared_t *s = h->data;
  sim_cluster_t *c = s->base.cluster;

  free(s->base.key);
  cJSON_Delete(s->base.data);
  free(s->on);
  free(s);
  sim__cluster_close_unref(c);
}

static void shared_destroy(sim__handle_t *h)
{
  shared_t *s = (shared_t *)h;

  uv_close(&s->u.handle, on_closed);
}

/* net._createServerHandle() or dgram._createSocketHandle(): the handle,
 * bound; the bind error is the handle's errno. */
static int shared_bind(shared_t *s, uv_loop_t *loop, const sim__query_t *q)
{
  int err;

  if (q->udp != 0) {
    err = uv_udp_init(loop, &s->u.udp);
    if (err == 0)
      s->err = sim__udp_bind(&s->u.udp, q->address, q->udp, q->port,
                             q->flags);
  } else if (q->address_type == -1) {
    err = uv_pipe_init(loop, &s->u.pipe, 0);
    if (err == 0)
      s->err = q->address == NULL ? UV_EINVAL
                                  : sim__pipe_bind(&s->u.pipe, q->address,
                                                   0, 0);
  } else {
    err = uv_tcp_init(loop, &s->u.tcp);
    if (err == 0)
      s->err = sim__tcp_bind(&s->u.tcp, q->address, q->address_type,
                             q->port, q->flags);
  }
  return err;
}

int sim__shared_new(sim_cluster_t *c, const char *key, const sim__query_t *q,
                    sim__handle_t **ret)
{
  shared_t *s = calloc(1, sizeof(*s));
  int err;

  if (s == NULL)
    return UV_ENOMEM;
  s->base.key = strdup(key);
  if (s->base.key == NULL) {
    free(s);
    return UV_ENOMEM;
  }
  s->base.cluster = c;
  s->base.add = shared_add;
  s->base.remove = shared_remove;
  s->base.destroy = shared_destroy;
  err = shared_bind(s, sim__cluster_loop(c), q);
  if (err != 0) {
    free(s->base.key);
    free(s);
    return err;
  }
  s->u.handle.data = s;
  sim__cluster_close_ref(c);
  *ret = &s->base;
  return 0;
}
