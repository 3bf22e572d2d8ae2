/*
 * sim-rr.c - SCHED_RR: the primary accepts and hands connections out.
 * TCP and UNIX sockets alike (UDP is always shared: sim-shared.c).
 *
 * As round_robin_handle.js: a worker has at most one connection in flight;
 * connections wait in a FIFO; the first idle worker takes the next one. A
 * worker that answers `accepted: false` gets its connection re-distributed.
 * A connection handed to a worker that dies before replying stays open in
 * the primary (Node leaks it; we keep it until sim_cluster_close()).
 *
 * epoll does not report one poll's events in the order they happened: a
 * listening socket (or a worker's channel) still on the kernel's ready
 * list from the poll before comes first. So what one poll brings is
 * settled together at the end of the turn: the replies first, the workers
 * back on the free list in the order they were handed their connections,
 * then the new connections. A worker that replied before a client
 * connected is free for that client, as it is in Node whenever the
 * primary keeps up; a primary that falls behind deals the same turns.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim-internal.h"

typedef struct conn_s {
  uv_stream_t *tcp;          /* a uv_tcp_t, or a uv_pipe_t */
  struct conn_s *next;
} conn_t;

/* A worker on this handle; idle ones are linked in arrival order. */
typedef struct member_s {
  sim_worker_t *worker;
  struct member_s *prev;
  struct member_s *next;
  struct member_s *replied;  /* next on the turn's list of replies */
  uint64_t handed;           /* when it last got a connection (a count) */
  int idle;
  int in_replied;
} member_t;

typedef struct {
  sim__handle_t base;
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } server;
  int pipe;                  /* a UNIX socket: no sockname */
  int err;
  cJSON *sockname;
  member_t **by_id;          /* workers on this handle, by id (dense) */
  unsigned by_id_cap;
  unsigned nall;
  member_t *idle_head;       /* Node's `free`, in insertion order */
  member_t *idle_tail;
  conn_t *queue;
  conn_t **queue_tail;
  member_t *replied;         /* replied this turn, not yet free again */
  uint64_t handoffs;
  sim__late_t late;          /* settles the turn (rr_settle()) */
  unsigned refs;             /* newconn replies still awaited */
  int destroyed;
} rr_t;

typedef struct {
  rr_t *rr;
  sim_worker_t *worker;
  uv_stream_t *conn;
} inflight_t;

static void handoff(rr_t *rr, sim_worker_t *w);

static void close_conn(uv_stream_t *t)
{
  uv_close((uv_handle_t *)t, sim__close_free);
}

static member_t *member_of(const rr_t *rr, const sim_worker_t *w)
{
  unsigned id = sim_worker_id(w);

  return id < rr->by_id_cap ? rr->by_id[id] : NULL;
}

static void idle_push(rr_t *rr, member_t *m)
{
  m->idle = 1;
  m->next = NULL;
  m->prev = rr->idle_tail;
  if (rr->idle_tail != NULL)
    rr->idle_tail->next = m;
  else
    rr->idle_head = m;
  rr->idle_tail = m;
}

static void idle_remove(rr_t *rr, member_t *m)
{
  if (!m->idle)
    return;
  m->idle = 0;
  if (m->prev != NULL)
    m->prev->next = m->next;
  else
    rr->idle_head = m->next;
  if (m->next != NULL)
    m->next->prev = m->prev;
  else
    rr->idle_tail = m->prev;
  m->prev = m->next = NULL;
}

static void rr_free(rr_t *rr)
{
  for (unsigned i = 0; i < rr->by_id_cap; i++)
    free(rr->by_id[i]);
  free(rr->by_id);
  free(rr->base.key);
  cJSON_Delete(rr->base.data);
  cJSON_Delete(rr->sockname);
  free(rr);
}

static void on_server_closed(uv_handle_t *h)
{
  rr_t *rr = h->data;
  sim_cluster_t *c = rr->base.cluster;

  if (rr->refs == 0)
    rr_free(rr);
  else
    rr->destroyed = 2;         /* the last reply frees it */
  sim__cluster_close_unref(c);
}

static void rr_release(rr_t *rr)
{
  if (--rr->refs == 0 && rr->destroyed == 2)
    rr_free(rr);
}

static int queue_push(rr_t *rr, uv_stream_t *tcp)
{
  conn_t *c = malloc(sizeof(*c));

  if (c == NULL) {
    close_conn(tcp);
    return UV_ENOMEM;
  }
  c->tcp = tcp;
  c->next = NULL;
  *rr->queue_tail = c;
  rr->queue_tail = &c->next;
  return 0;
}

/* Queued connections go to free workers, longest free first. */
static void deal(rr_t *rr)
{
  while (rr->queue != NULL && rr->idle_head != NULL) {
    member_t *m = rr->idle_head;
    idle_remove(rr, m);
    handoff(rr, m->worker);
  }
}

static void replied_remove(rr_t *rr, member_t *m)
{
  if (!m->in_replied)
    return;
  for (member_t **pp = &rr->replied; *pp != NULL; pp = &(*pp)->replied)
    if (*pp == m) {
      *pp = m->replied;
      break;
    }
  m->replied = NULL;
  m->in_replied = 0;
}

/* The turn's replies put their workers back on the free list, in the
 * order they were handed their connections; then the queue is dealt (to
 * them only if no worker was free before: Node's handoff()). */
static void rr_settle(sim__late_t *late)
{
  rr_t *rr = (rr_t *)((char *)late - offsetof(rr_t, late));

  while (rr->replied != NULL) {
    member_t **first = &rr->replied, *m;
    for (member_t **pp = &rr->replied; *pp != NULL; pp = &(*pp)->replied)
      if ((*pp)->handed < (*first)->handed)
        first = pp;
    m = *first;
    *first = m->replied;
    m->replied = NULL;
    m->in_replied = 0;
    idle_push(rr, m);
  }
  deal(rr);
}

/* Settle at the end of the turn; at once when the loop is closing. */
static void rr_later(rr_t *rr)
{
  if (sim__tick_late(sim__cluster_tick(rr->base.cluster), &rr->late) != 0)
    rr_settle(&rr->late);
}

static void replied_add(rr_t *rr, sim_worker_t *w)
{
  member_t *m = member_of(rr, w);

  if (m == NULL || m->in_replied || m->idle)
    return;                    /* Worker is closing (or has closed). */
  m->in_replied = 1;
  m->replied = rr->replied;
  rr->replied = m;
  rr_later(rr);
}

static void on_newconn_reply(sim__channel_t *ch, const cJSON *msg,
                             uv_handle_t *handle, void *arg)
{
  inflight_t *f = arg;
  rr_t *rr = f->rr;

  if (handle != NULL)
    uv_close(handle, sim__close_free);
  if (msg == NULL) {
    /* The worker's channel closed with the connection in flight. */
    sim__cluster_orphan(rr->base.cluster, f->conn);
  } else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg,
                                                           "accepted"))) {
    close_conn(f->conn);
  } else if (rr->destroyed) {
    close_conn(f->conn);
  } else {
    /* Worker is shutting down: the next one (Node's distribute()). */
    if (queue_push(rr, f->conn) == 0)
      deal(rr);
  }
  if (msg != NULL && !rr->destroyed)
    replied_add(rr, f->worker);
  free(f);
  rr_release(rr);
}

static void handoff(rr_t *rr, sim_worker_t *w)
{
  member_t *m;
  conn_t *c;
  inflight_t *f;
  cJSON *msg;
  int err;

  m = member_of(rr, w);
  if (m == NULL)
    return;                    /* Worker is closing (or has closed). */
  c = rr->queue;
  if (c == NULL) {
    if (!m->idle)
      idle_push(rr, m);        /* Ready for the next one. */
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
  m->handed = ++rr->handoffs;
  cJSON_AddStringToObject(msg, "act", "newconn");
  cJSON_AddStringToObject(msg, "key", rr->base.key);
  rr->refs++;
  err = sim__worker_send_cluster(w, msg, f->conn, on_newconn_reply, f);
  if (err != 0) {
    /* sendHelper() drops the message when the worker is not connected;
     * Node then never hears back and the connection stays open. */
    sim__cluster_orphan(rr->base.cluster, f->conn);
    free(f);
    rr_release(rr);
  }
}

/* A connection handle of the listener's type, initialised; NULL when out
 * of memory. */
static uv_stream_t *conn_new(const rr_t *rr, uv_loop_t *loop)
{
  uv_stream_t *t = malloc(rr->pipe ? sizeof(uv_pipe_t) : sizeof(uv_tcp_t));
  int err;

  if (t == NULL)
    return NULL;
  err = rr->pipe ? uv_pipe_init(loop, (uv_pipe_t *)t, 0)
                 : uv_tcp_init(loop, (uv_tcp_t *)t);
  if (err != 0) {
    free(t);
    return NULL;
  }
  return t;
}

static void on_connection(uv_stream_t *server, int status)
{
  rr_t *rr = server->data;
  uv_stream_t *t;

  if (status != 0)
    return;                    /* Accept errors are ignored, as in Node. */
  t = conn_new(rr, server->loop);
  if (t == NULL)
    return;
  if (uv_accept(server, t) != 0) {
    close_conn(t);
    return;
  }
  if (queue_push(rr, t) == 0)
    rr_later(rr);
}

static int rr_add(sim__handle_t *h, sim_worker_t *w, sim__reply_fn reply,
                  void *arg)
{
  rr_t *rr = (rr_t *)h;
  cJSON *extra;
  unsigned id;

  if (rr->err != 0) {
    /* The reply destroys this handle: do not touch it afterwards. */
    reply(w, rr->err, 0, NULL, NULL, arg);
    return 0;
  }
  id = sim_worker_id(w);
  if (id >= rr->by_id_cap) {
    unsigned cap = rr->by_id_cap ? rr->by_id_cap : 16;
    member_t **v;
    while (cap <= id)
      cap *= 2;
    v = realloc(rr->by_id, cap * sizeof(*v));
    if (v == NULL)
      return UV_ENOMEM;
    memset(v + rr->by_id_cap, 0, (cap - rr->by_id_cap) * sizeof(*v));
    rr->by_id = v;
    rr->by_id_cap = cap;
  }
  if (rr->by_id[id] == NULL) {
    rr->by_id[id] = calloc(1, sizeof(member_t));
    if (rr->by_id[id] == NULL)
      return UV_ENOMEM;
    rr->by_id[id]->worker = w;
    rr->nall++;
  }
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
  member_t *m = member_of(rr, w);

  if (m == NULL)
    return 0;
  idle_remove(rr, m);
  replied_remove(rr, m);
  rr->by_id[sim_worker_id(w)] = NULL;
  free(m);
  rr->nall--;
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
  rr->replied = NULL;          /* the members are freed with the handle */
  sim__tick_late_cancel(&rr->late);
  rr->destroyed = 1;
  uv_close(&rr->server.handle, on_server_closed);
}

/* The listening socket, as RoundRobinHandle's net.Server makes it; the
 * error of bind or listen is the handle's errno. */
static int rr_listen(rr_t *rr, uv_loop_t *loop, const sim__query_t *q)
{
  int backlog = q->backlog > 0 ? q->backlog : 511;
  int err;

  if (q->address_type == -1) {
    rr->pipe = 1;
    err = uv_pipe_init(loop, &rr->server.pipe, 0);
    if (err != 0)
      return err;
    rr->err = q->address == NULL
                  ? UV_EINVAL
                  : sim__pipe_bind(&rr->server.pipe, q->address,
                                   q->readable_all, q->writable_all);
  } else {
    err = uv_tcp_init(loop, &rr->server.tcp);
    if (err != 0)
      return err;
    rr->err = sim__tcp_bind(&rr->server.tcp, q->address, q->address_type,
                            q->port, q->flags);
  }
  if (rr->err == 0)
    rr->err = uv_listen(&rr->server.stream, backlog, on_connection);
  if (rr->err == 0 && !rr->pipe)
    rr->sockname = sim__tcp_sockname(&rr->server.tcp);
  return 0;
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
  rr->late.fn = rr_settle;
  err = rr_listen(rr, sim__cluster_loop(c), q);
  if (err != 0) {
    free(rr->base.key);
    free(rr);
    return err;
  }
  rr->server.handle.data = rr;
  sim__cluster_close_ref(c);
  *ret = &rr->base;
  return 0;
}
