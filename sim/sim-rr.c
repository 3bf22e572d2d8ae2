/*
 * sim-rr.c - SCHED_RR: the primary accepts and hands connections out.
 *
 * As round_robin_handle.js: a worker has at most one connection in flight;
 * connections wait in a FIFO; the first idle worker takes the next one. A
 * worker that answers `accepted: false` gets its connection re-distributed.
 * A connection handed to a worker that dies before replying stays open in
 * the primary (Node leaks it; we keep it until sim_cluster_close()).
 */
#include <stdlib.h>
#include <string.h>

#include "sim-internal.h"

typedef struct conn_s {
  uv_tcp_t *tcp;
  struct conn_s *next;
} conn_t;

typedef struct {
  sim__handle_t base;
  uv_tcp_t server;
  int err;
  cJSON *sockname;
  sim_worker_t **all;        /* workers on this handle */
  unsigned nall;
  sim_worker_t **idle;       /* Node's `free`, in insertion order */
  unsigned nidle;
  unsigned cap;
  conn_t *queue;
  conn_t **queue_tail;
  unsigned refs;             /* newconn replies still awaited */
  int destroyed;
} rr_t;

typedef struct {
  rr_t *rr;
  sim_worker_t *worker;
  uv_tcp_t *conn;
} inflight_t;

static void handoff(rr_t *rr, sim_worker_t *w);

static void close_conn(uv_tcp_t *t)
{
  uv_close((uv_handle_t *)t, sim__close_free);
}

static int index_of(sim_worker_t **v, unsigned n, sim_worker_t *w)
{
  for (unsigned i = 0; i < n; i++)
    if (v[i] == w)
      return (int)i;
  return -1;
}

static void remove_at(sim_worker_t **v, unsigned *n, int i)
{
  memmove(&v[i], &v[i + 1], (*n - (unsigned)i - 1) * sizeof(*v));
  (*n)--;
}

static void on_server_closed(uv_handle_t *h)
{
  rr_t *rr = h->data;
  sim_cluster_t *c = rr->base.cluster;

  if (rr->refs == 0) {
    free(rr->base.key);
    cJSON_Delete(rr->base.data);
    cJSON_Delete(rr->sockname);
    free(rr->all);
    free(rr->idle);
    free(rr);
  } else {
    rr->destroyed = 2;         /* the last reply frees it */
  }
  sim__cluster_close_unref(c);
}

static void rr_release(rr_t *rr)
{
  if (--rr->refs == 0 && rr->destroyed == 2) {
    free(rr->base.key);
    cJSON_Delete(rr->base.data);
    cJSON_Delete(rr->sockname);
    free(rr->all);
    free(rr->idle);
    free(rr);
  }
}

static void distribute(rr_t *rr, uv_tcp_t *tcp)
{
  conn_t *c = malloc(sizeof(*c));

  if (c == NULL) {
    close_conn(tcp);
    return;
  }
  c->tcp = tcp;
  c->next = NULL;
  *rr->queue_tail = c;
  rr->queue_tail = &c->next;
  if (rr->nidle > 0) {
    sim_worker_t *w = rr->idle[0];
    remove_at(rr->idle, &rr->nidle, 0);
    handoff(rr, w);
  }
}

static void on_newconn_reply(sim__channel_t *ch, const cJSON *msg,
                             uv_stream_t *handle, void *arg)
{
  inflight_t *f = arg;
  rr_t *rr = f->rr;

  if (handle != NULL)
    uv_close((uv_handle_t *)handle, sim__close_free);
  if (msg == NULL) {
    /* The worker's channel closed with the connection in flight. */
    sim__cluster_orphan(rr->base.cluster, f->conn);
  } else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg,
                                                           "accepted"))) {
    close_conn(f->conn);
  } else if (rr->destroyed) {
    close_conn(f->conn);
  } else {
    distribute(rr, f->conn);   /* Worker is shutting down: next one. */
  }
  if (msg != NULL && !rr->destroyed)
    handoff(rr, f->worker);
  free(f);
  rr_release(rr);
}

static void handoff(rr_t *rr, sim_worker_t *w)
{
  conn_t *c;
  inflight_t *f;
  cJSON *msg;
  int err;

  if (index_of(rr->all, rr->nall, w) < 0)
    return;                    /* Worker is closing (or has closed). */
  c = rr->queue;
  if (c == NULL) {
    rr->idle[rr->nidle++] = w; /* Ready for the next one. */
    return;
  }
  rr->queue = c->next;
  if (rr->queue == NULL)
    rr->queue_tail = &rr->queue;
  f = malloc(sizeof(*f));
  msg = cJSON_CreateObject();
  if (f == NULL || msg == NULL) {
    free(f);
    cJSON_Delete(msg);
    close_conn(c->tcp);
    free(c);
    return;
  }
  f->rr = rr;
  f->worker = w;
  f->conn = c->tcp;
  free(c);
  cJSON_AddStringToObject(msg, "act", "newconn");
  cJSON_AddStringToObject(msg, "key", rr->base.key);
  rr->refs++;
  err = sim__worker_send_cluster(w, msg, (uv_stream_t *)f->conn,
                                 on_newconn_reply, f);
  if (err != 0) {
    /* sendHelper() drops the message when the worker is not connected;
     * Node then never hears back and the connection stays open. */
    sim__cluster_orphan(rr->base.cluster, f->conn);
    free(f);
    rr_release(rr);
  }
}

static void on_connection(uv_stream_t *server, int status)
{
  rr_t *rr = server->data;
  uv_tcp_t *t;

  if (status != 0)
    return;                    /* Accept errors are ignored, as in Node. */
  t = malloc(sizeof(*t));
  if (t == NULL)
    return;
  if (uv_tcp_init(server->loop, t) != 0) {
    free(t);
    return;
  }
  if (uv_accept(server, (uv_stream_t *)t) != 0) {
    close_conn(t);
    return;
  }
  distribute(rr, t);
}

static int rr_add(sim__handle_t *h, sim_worker_t *w, sim__reply_fn reply,
                  void *arg)
{
  rr_t *rr = (rr_t *)h;
  cJSON *extra;

  if (rr->err != 0) {
    /* The reply destroys this handle: do not touch it afterwards. */
    reply(w, rr->err, 0, NULL, NULL, arg);
    return 0;
  }
  if (rr->nall == rr->cap) {
    unsigned cap = rr->cap ? rr->cap * 2 : 4;
    sim_worker_t **a = realloc(rr->all, cap * sizeof(*a));
    sim_worker_t **b;
    if (a == NULL)
      return UV_ENOMEM;
    rr->all = a;
    b = realloc(rr->idle, cap * sizeof(*b));
    if (b == NULL)
      return UV_ENOMEM;
    rr->idle = b;
    rr->cap = cap;
  }
  rr->all[rr->nall++] = w;
  extra = cJSON_CreateObject();
  if (extra != NULL && rr->sockname != NULL)
    cJSON_AddItemToObject(extra, "sockname",
                          cJSON_Duplicate(rr->sockname, 1));
  reply(w, 0, 1, extra, NULL, arg);
  handoff(rr, w);              /* In case connections are pending. */
  return 0;
}

static int rr_remove(sim__handle_t *h, sim_worker_t *w)
{
  rr_t *rr = (rr_t *)h;
  int i = index_of(rr->all, rr->nall, w);

  if (i < 0)
    return 0;
  remove_at(rr->all, &rr->nall, i);
  i = index_of(rr->idle, rr->nidle, w);
  if (i >= 0)
    remove_at(rr->idle, &rr->nidle, i);
  return rr->nall == 0;
}

static void rr_destroy(sim__handle_t *h)
{
  rr_t *rr = (rr_t *)h;

  /* Queued connections are closed: clients see a reset or EOF, and new
   * ones are refused once the listening socket is gone. */
  while (rr->queue != NULL) {
    conn_t *c = rr->queue;
    rr->queue = c->next;
    close_conn(c->tcp);
    free(c);
  }
  rr->queue_tail = &rr->queue;
  rr->destroyed = 1;
  uv_close((uv_handle_t *)&rr->server, on_server_closed);
}

int sim__rr_new(sim_cluster_t *c, const char *key, const sim__query_t *q,
                sim__handle_t **ret)
{
  rr_t *rr = calloc(1, sizeof(*rr));
  int err;

  if (rr == NULL)
    return UV_ENOMEM;
  rr->base.key = strdup(key);
  if (rr->base.key == NULL) {
    free(rr);
    return UV_ENOMEM;
  }
  rr->base.cluster = c;
  rr->base.round_robin = 1;
  rr->base.add = rr_add;
  rr->base.remove = rr_remove;
  rr->base.destroy = rr_destroy;
  rr->queue_tail = &rr->queue;
  err = uv_tcp_init(sim__cluster_loop(c), &rr->server);
  if (err != 0) {
    free(rr->base.key);
    free(rr);
    return err;
  }
  rr->server.data = rr;
  sim__cluster_close_ref(c);
  if (q->address_type == -1) {
    rr->err = UV_ENOTSUP;      /* UNIX socket servers: not supported yet */
  } else {
    err = sim__tcp_bind(&rr->server, q->address, q->address_type, q->port,
                        q->flags);
    if (err == 0)
      err = uv_listen((uv_stream_t *)&rr->server,
                      q->backlog > 0 ? q->backlog : 511, on_connection);
    rr->err = err;
    if (err == 0)
      rr->sockname = sim__tcp_sockname(&rr->server);
  }
  *ret = &rr->base;
  return 0;
}
