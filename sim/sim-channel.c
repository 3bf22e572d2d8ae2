/*
 * sim-channel.c - Node's IPC channel, 'json' and 'advanced' serialization.
 *
 * 'json' frames one JSON value per line; 'advanced' frames a V8
 * ValueSerializer payload behind its 4-byte big-endian length (the codec
 * is sim-v8-*.c). Either way a handle travels as SCM_RIGHTS on the write
 * that carries its NODE_HANDLE message; the receiver ACKs it at once.
 * While a sent handle waits for NODE_HANDLE_ACK every later message to the
 * same peer is queued (only ACK/NACK bypass the queue), and disconnect()
 * is postponed until the queue drains - which is why Node never emits
 * 'disconnect' for a worker that dies with a handle in flight.
 *
 * What a peer sends is checked as Node would refuse it, and a few things
 * Node would crash on or keep forever are refused too (docs/ipc.md, "Bad
 * input"): the first breach fails the channel (ops->error) and nothing
 * more is read from it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim-internal.h"

/* A read gets at least this much room. */
#define READ_CHUNK 65536
/* A kept unfinished line's buffer above this size is freed once the line
 * is complete: thousands of channels must not each hold a chunk. */
#define KEEP_IN 4096
/* The same for the output buffer, which most messages fit in. */
#define KEEP_OUT 65536

/* A line that must wait for NODE_HANDLE_ACK, or that carries a handle. */
struct sim__send_s {
  uv_write_t req;
  sim__channel_t *ch;
  sim__buf_t line;
  uv_stream_t *handle;       /* borrowed: the caller keeps its copy */
  sim_send_cb cb;
  void *arg;
  int bypass;                /* NODE_HANDLE_ACK/NACK */
  sim__send_t *next;
};

struct sim__sent_s {
  sim_send_cb cb;
  void *arg;
  int status;
};

/* Coalesced lines that the kernel did not take at once: libuv owns them
 * until they are written. */
typedef struct {
  uv_write_t req;
  sim__channel_t *ch;
  char *data;
  sim__sents_t cbs;
} batch_t;

struct sim__ack_s {
  unsigned seq;
  sim__ack_fn fn;
  void *arg;
  sim__ack_t *next;
};

/* A received fd: TCP, UDP or a pipe as libuv guessed it; any other kind
 * is held in a pipe handle all the same (the way to close what libuv
 * queued), under its own type. */
struct sim__rx_s {
  uv_handle_t *handle;
  uv_handle_type type;
  unsigned batch;            /* fds that came with the same read */
  sim__rx_t *next;
};

static void channel_really_disconnect(sim__channel_t *ch, int now);

/* ---------------------------------------------------------------------- */
/* Send callbacks                                                          */

static int sents_add(sim__sents_t *l, sim_send_cb cb, void *arg, int status)
{
  if (l->n == l->cap) {
    unsigned cap = l->cap ? l->cap * 2 : 4;
    struct sim__sent_s *v = realloc(l->v, cap * sizeof(*v));
    if (v == NULL)
      return UV_ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n].cb = cb;
  l->v[l->n].arg = arg;
  l->v[l->n].status = status;
  l->n++;
  return 0;
}

/* sents_run(): each callback gets its entry's own status. */
#define OWN_STATUS 1

/* Runs and frees a detached list with `status` (0 or UV_E*) or
 * OWN_STATUS. */
static void sents_run(sim__sents_t *l, int status)
{
  for (unsigned i = 0; i < l->n; i++)
    l->v[i].cb(status == OWN_STATUS ? l->v[i].status : status,
               l->v[i].arg);
  free(l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

static void channel_run_done(void *arg)
{
  sim__channel_t *ch = arg;
  sim__sents_t done = ch->done;

  ch->done_queued = 0;
  memset(&ch->done, 0, sizeof(ch->done));
  sents_run(&done, OWN_STATUS);
}

/* The lines of `cbs` were written (or failed): their callbacks run on the
 * next tick, as Node runs the callback of a write that completed at once
 * (or at the pipe's close, whichever comes first). */
static void channel_complete(sim__channel_t *ch, sim__sents_t *cbs,
                             int status)
{
  for (unsigned i = 0; i < cbs->n; i++)
    cbs->v[i].status = status;
  if (ch->done.n == 0) {
    /* The usual case: the list moves over, nothing to allocate. */
    free(ch->done.v);
    ch->done = *cbs;
  } else {
    for (unsigned i = 0; i < cbs->n; i++)
      (void)sents_add(&ch->done, cbs->v[i].cb, cbs->v[i].arg, status);
    free(cbs->v);
  }
  memset(cbs, 0, sizeof(*cbs));
  if (ch->done.n > 0 && !ch->done_queued &&
      sim__tick_defer(ch->tick, channel_run_done, ch) == 0)
    ch->done_queued = 1;
}

/* ---------------------------------------------------------------------- */
/* Writing                                                                 */

static void on_batch_written(uv_write_t *req, int status)
{
  batch_t *b = req->data;

  free(b->data);
  sents_run(&b->cbs, status);
  free(b);
}

/* Hands `out` to the kernel, or what it does not take at once to libuv
 * (which then owns that memory until it is written). */
static void channel_flush(sim__channel_t *ch)
{
  uv_buf_t buf = uv_buf_init(ch->out.data, (unsigned)ch->out.len);
  batch_t *b;
  int n;

  if (ch->out.len == 0)
    return;
  n = uv_try_write((uv_stream_t *)&ch->pipe, &buf, 1);
  if (n == (int)ch->out.len || (n < 0 && n != UV_EAGAIN)) {
    ch->out.len = 0;
    if (ch->out.cap > KEEP_OUT)
      sim__buf_free(&ch->out);   /* a burst's buffer is not kept */
    channel_complete(ch, &ch->out_cbs, n < 0 ? n : 0);
    return;
  }
  if (n < 0)
    n = 0;
  b = malloc(sizeof(*b));
  if (b == NULL) {
    /* Keep the rest for the next turn: nothing is lost or reordered. */
    memmove(ch->out.data, ch->out.data + n, ch->out.len - (size_t)n);
    ch->out.len -= (size_t)n;
    (void)sim__tick_late(ch->tick, &ch->late);
    return;
  }
  b->ch = ch;
  b->data = ch->out.data;
  b->cbs = ch->out_cbs;
  b->req.data = b;
  buf = uv_buf_init(ch->out.data + n, (unsigned)(ch->out.len - (size_t)n));
  memset(&ch->out, 0, sizeof(ch->out));
  memset(&ch->out_cbs, 0, sizeof(ch->out_cbs));
  n = uv_write(&b->req, (uv_stream_t *)&ch->pipe, &buf, 1, on_batch_written);
  if (n != 0) {
    free(b->data);
    channel_complete(ch, &b->cbs, n);
    free(b);
  }
}

static void channel_on_late(sim__late_t *late)
{
  sim__channel_t *ch = (sim__channel_t *)((char *)late -
                                          offsetof(sim__channel_t, late));

  if (!ch->pipe_closing)
    channel_flush(ch);
}

/* `out` gained lines: the first of a loop turn leaves at once, the others
 * at the end of the turn. */
static void channel_wrote(sim__channel_t *ch)
{
  if (ch->wrote_turn != ch->tick->turn) {
    ch->wrote_turn = ch->tick->turn;
    channel_flush(ch);
    if (ch->out.len == 0)
      return;
  }
  if (sim__tick_late(ch->tick, &ch->late) != 0)
    channel_flush(ch);         /* no more turns: the tick is closing */
}

/* Appends one encoded message (its delimiter or length included). */
static int channel_out_line(sim__channel_t *ch, const sim__buf_t *line,
                            sim_send_cb cb, void *arg)
{
  if (sim__buf_reserve(&ch->out, line->len) != 0 ||
      (cb != NULL && sents_add(&ch->out_cbs, cb, arg, 0) != 0))
    return UV_ENOMEM;
  memcpy(ch->out.data + ch->out.len, line->data, line->len);
  ch->out.len += line->len;
  channel_wrote(ch);
  return 0;
}

static void send_free(sim__send_t *s)
{
  sim__buf_free(&s->line);
  free(s);
}

static void on_write(uv_write_t *req, int status)
{
  sim__send_t *s = req->data;

  if (s->cb != NULL)
    s->cb(status, s->arg);
  send_free(s);
}

/* A held-back message, or one with a handle (sendmsg with SCM_RIGHTS of
 * its own, after everything coalesced before it). Takes `s`. */
static int channel_write(sim__channel_t *ch, sim__send_t *s)
{
  uv_buf_t buf;
  int err;

  if (ch->queue_active && !s->bypass) {
    s->next = NULL;
    *ch->queue_tail = s;
    ch->queue_tail = &s->next;
    return 0;
  }
  if (!ch->open || ch->pipe_closing) {
    err = UV_EPIPE;
    goto fail;
  }
  if (s->handle == NULL) {
    err = channel_out_line(ch, &s->line, s->cb, s->arg);
    if (err != 0)
      goto fail;
    send_free(s);
    return 0;
  }
  channel_flush(ch);
  buf = uv_buf_init(s->line.data, (unsigned)s->line.len);
  s->req.data = s;
  err = uv_write2(&s->req, (uv_stream_t *)&ch->pipe, &buf, 1, s->handle,
                  on_write);
  if (err != 0)
    goto fail;
  ch->queue_active = 1;
  return 0;

fail:
  if (s->cb != NULL)
    s->cb(err, s->arg);
  send_free(s);
  return err;
}

cJSON *sim__json_undefined(void)
{
  cJSON *u = cJSON_CreateObject();

  if (u != NULL && cJSON_AddStringToObject(u, "$v8", "undefined") == NULL) {
    cJSON_Delete(u);
    return NULL;
  }
  return u;
}

int sim__json_is_undefined(const cJSON *v)
{
  const cJSON *c = cJSON_IsObject(v) ? v->child : NULL;

  return c != NULL && c->next == NULL && c->string != NULL &&
         strcmp(c->string, "$v8") == 0 && cJSON_IsString(c) &&
         strcmp(c->valuestring, "undefined") == 0;
}

/* The `type` target._send() gives a native handle: a UDP socket (a
 * shared one, with a listen reply) is dgram's, TCP and pipes are net's. */
static const char *handle_type(const uv_stream_t *handle)
{
  return handle->type == UV_UDP ? "dgram.Native" : "net.Native";
}

/* One line: the JSON of a message, wrapped as Node wraps one that carries
 * a handle. On failure nothing is appended. */
static int encode_json(sim__buf_t *b, const cJSON *msg, uv_stream_t *handle)
{
  size_t mark = b->len;
  char wrap[64];
  int err = 0;

  if (handle != NULL) {
    snprintf(wrap, sizeof(wrap),
             "{\"cmd\":\"NODE_HANDLE\",\"type\":\"%s\",\"msg\":",
             handle_type(handle));
    err = sim__buf_append(b, wrap, strlen(wrap));
  }
  if (err == 0)
    err = sim__json_print(b, msg);
  if (err == 0 && handle != NULL)
    err = sim__buf_append(b, "}", 1);
  if (err == 0)
    err = sim__buf_append(b, "\n", 1);
  if (err != 0)
    b->len = mark;
  return err;
}

/* {cmd:'NODE_HANDLE', type:'net.Native' (or 'dgram.Native'), msg}, as
 * target._send() builds it. */
static int wrap_handle(sim_heap_t *heap, sim_value_t **msg,
                       const uv_stream_t *handle)
{
  const char *t = handle_type(handle);
  sim_value_t *w = sim_value_new(heap, SIM_VALUE_OBJECT);
  sim_value_t *cmd = sim_value_new_string(heap, "NODE_HANDLE", 11);
  sim_value_t *type = sim_value_new_string(heap, t, strlen(t));

  if (w == NULL || cmd == NULL || type == NULL ||
      sim_value_put_str(heap, w, "cmd", cmd) != 0 ||
      sim_value_put_str(heap, w, "type", type) != 0 ||
      sim_value_put_str(heap, w, "msg", *msg) != 0)
    return sim__heap_over(heap) ? UV_E2BIG : UV_ENOMEM;
  *msg = w;
  return 0;
}

/* One frame: the value of the message's JSON form (wrapped when a handle
 * goes with it), written straight after what `b` holds. On failure
 * nothing is appended. */
static int encode_v8(sim__buf_t *b, const cJSON *msg, uv_stream_t *handle)
{
  sim_heap_t *heap = sim_heap_new(0);
  sim_value_t *v = NULL;
  sim_buf_t out;
  int err;

  if (heap == NULL)
    return UV_ENOMEM;
  err = sim_value_from_json(heap, msg, &v);
  if (err == 0 && handle != NULL)
    err = wrap_handle(heap, &v, handle);
  if (err == 0) {
    /* Same layout, same allocator: the frame lands in `b` itself. */
    out.base = (uint8_t *)b->data;
    out.len = b->len;
    out.cap = b->cap;
    err = sim_v8_encode_frame(v, &out, NULL);
    b->data = (char *)out.base;
    b->len = out.len;
    b->cap = out.cap;
  }
  sim_heap_free(heap);
  return err;
}

static int channel_encode(const sim__channel_t *ch, sim__buf_t *b,
                          const cJSON *msg, uv_stream_t *handle)
{
  if (msg == NULL)
    return UV_EINVAL;
  return ch->advanced ? encode_v8(b, msg, handle)
                      : encode_json(b, msg, handle);
}

static int channel_send_line(sim__channel_t *ch, const cJSON *msg,
                             uv_stream_t *handle, sim_send_cb cb, void *arg,
                             int bypass)
{
  sim__send_t *s;
  size_t mark;
  int err;

  if (handle == NULL && (bypass || !ch->queue_active) && ch->open &&
      !ch->pipe_closing) {
    /* The common case: straight into the output buffer. */
    mark = ch->out.len;
    err = channel_encode(ch, &ch->out, msg, NULL);
    if (err == 0 &&
        (cb == NULL || (err = sents_add(&ch->out_cbs, cb, arg, 0)) == 0)) {
      channel_wrote(ch);
      return 0;
    }
    ch->out.len = mark;
    return err;
  }
  s = calloc(1, sizeof(*s));
  if (s == NULL)
    return UV_ENOMEM;
  err = channel_encode(ch, &s->line, msg, handle);
  if (err != 0) {
    send_free(s);
    return err;
  }
  s->ch = ch;
  s->handle = handle;
  s->cb = cb;
  s->arg = arg;
  s->bypass = bypass;
  return channel_write(ch, s);
}

int sim__channel_send(sim__channel_t *ch, const cJSON *msg,
                      uv_stream_t *handle, sim_send_cb cb, void *arg)
{
  if (!ch->open)
    return UV_EPIPE;
  return channel_send_line(ch, msg, handle, cb, arg, 0);
}

static void channel_send_bypass(sim__channel_t *ch, const char *cmd)
{
  cJSON *m = cJSON_CreateObject();

  if (m == NULL)
    return;
  if (cJSON_AddStringToObject(m, "cmd", cmd) != NULL)
    (void)channel_send_line(ch, m, NULL, NULL, NULL, 1);
  cJSON_Delete(m);
}

int sim__channel_send_cluster(sim__channel_t *ch, cJSON *fields,
                              uv_stream_t *handle, sim__ack_fn fn, void *arg)
{
  cJSON *msg, *item;
  unsigned seq;
  int err;

  if (!ch->connected) {
    cJSON_Delete(fields);
    return UV_EPIPE;
  }
  msg = cJSON_CreateObject();
  if (msg == NULL) {
    cJSON_Delete(fields);
    return UV_ENOMEM;
  }
  /* Node builds {cmd:'NODE_CLUSTER', ...message, seq}: cmd first. */
  cJSON_AddStringToObject(msg, "cmd", "NODE_CLUSTER");
  while (fields != NULL && (item = fields->child) != NULL) {
    cJSON_DetachItemViaPointer(fields, item);
    /* JSON.stringify() leaves out an undefined member. */
    if (!ch->advanced && sim__json_is_undefined(item))
      cJSON_Delete(item);
    else
      cJSON_AddItemToObject(msg, item->string, item);
  }
  cJSON_Delete(fields);
  seq = (*ch->seq)++;
  cJSON_AddNumberToObject(msg, "seq", seq);
  if (fn != NULL) {
    sim__ack_t *a = malloc(sizeof(*a));
    if (a == NULL) {
      cJSON_Delete(msg);
      return UV_ENOMEM;
    }
    a->seq = seq;
    a->fn = fn;
    a->arg = arg;
    a->next = ch->acks;
    ch->acks = a;
  }
  err = sim__channel_send(ch, msg, handle, NULL, NULL);
  cJSON_Delete(msg);
  return err;
}

/* ---------------------------------------------------------------------- */
/* Received descriptors                                                    */

static void rx_close(sim__rx_t *r)
{
  uv_close(r->handle, sim__close_free);
  free(r);
}

static sim__rx_t *rx_take(sim__channel_t *ch)
{
  sim__rx_t *r = ch->rx;

  if (r == NULL)
    return NULL;
  ch->rx = r->next;
  if (ch->rx == NULL)
    ch->rx_tail = &ch->rx;
  ch->nrx--;
  return r;
}

static void rx_close_all(sim__channel_t *ch)
{
  sim__rx_t *r;

  while ((r = rx_take(ch)) != NULL)
    rx_close(r);
}

/* Takes the next fd libuv holds for the pipe into a handle of its kind.
 * UV_ENOMEM leaves it with libuv (closed with the pipe). */
static int rx_accept_one(sim__channel_t *ch)
{
  uv_handle_type type = uv_pipe_pending_type(&ch->pipe);
  uv_loop_t *loop = ch->pipe.loop;
  sim__rx_t *r = malloc(sizeof(*r));
  uv_handle_t *h = NULL;
  int err = UV_ENOMEM;

  if (type == UV_TCP && (h = malloc(sizeof(uv_tcp_t))) != NULL)
    err = uv_tcp_init(loop, (uv_tcp_t *)h);
  else if (type == UV_UDP && (h = malloc(sizeof(uv_udp_t))) != NULL)
    err = uv_udp_init(loop, (uv_udp_t *)h);
  else if (type != UV_TCP && type != UV_UDP &&
           (h = malloc(sizeof(uv_pipe_t))) != NULL)
    err = uv_pipe_init(loop, (uv_pipe_t *)h, 0);
  if (r == NULL || err != 0) {
    free(r);
    free(h);
    return UV_ENOMEM;
  }
  /* On failure libuv has closed the fd: the entry stands for it all the
   * same, as a kind no message can carry. */
  if (uv_accept((uv_stream_t *)&ch->pipe, (uv_stream_t *)h) != 0)
    type = UV_UNKNOWN_HANDLE;
  r->handle = h;
  r->type = type;
  r->batch = 1;
  r->next = NULL;
  *ch->rx_tail = r;
  ch->rx_tail = &r->next;
  ch->nrx++;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Reading: what the peer sent                                             */

static void fail(sim__channel_t *ch, int err, const char *code,
                 const char *text)
{
  if (ch->failed)
    return;
  ch->failed = 1;
  if (ch->reading && !ch->pipe_closing)
    uv_read_stop((uv_stream_t *)&ch->pipe);
  ch->reading = 0;
  /* Descriptors a broken peer sent go at once, not at the close. */
  rx_close_all(ch);
  ch->ops->error(ch, err, code, text);
}

static void flush_queue(sim__channel_t *ch)
{
  sim__send_t *q = ch->queue;

  ch->queue = NULL;
  ch->queue_tail = &ch->queue;
  ch->queue_active = 0;
  while (q != NULL) {
    sim__send_t *next = q->next;
    q->next = NULL;
    (void)channel_write(ch, q);
    q = next;
  }
  if (!ch->connected && ch->open && !ch->queue_active)
    channel_really_disconnect(ch, 0);
}

static void dispatch_cluster(sim__channel_t *ch, const cJSON *msg,
                             uv_handle_t *handle)
{
  const cJSON *ack = cJSON_GetObjectItemCaseSensitive(msg, "ack");
  const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(msg, "cmd");

  if (!cJSON_IsString(cmd) || strcmp(cmd->valuestring, "NODE_CLUSTER") != 0)
    goto drop;
  if (cJSON_IsNumber(ack)) {
    for (sim__ack_t **pp = &ch->acks; *pp != NULL; pp = &(*pp)->next) {
      sim__ack_t *a = *pp;
      if ((double)a->seq == ack->valuedouble) {
        *pp = a->next;
        a->fn(ch, msg, handle, a->arg);
        free(a);
        return;
      }
    }
  }
  ch->ops->internal(ch, msg, handle);
  return;

drop:
  if (handle != NULL)
    uv_close((uv_handle_t *)handle, sim__close_free);
}

/* A message as both framings hand it over. */
enum { M_USER, M_ACK, M_HANDLE, M_CLUSTER };

typedef struct {
  int kind;                  /* M_* */
  const cJSON *msg;          /* M_USER, M_CLUSTER: the message; M_HANDLE:
                                the one it wraps (NULL when absent) */
  int inner_internal;        /* M_HANDLE: `msg` is internal */
  char type[16];             /* M_HANDLE: its `type` ("" if none fits) */
} inbound_t;

/* Node's isInternal() on the `cmd` of a message, and which one. */
static int classify(const char *cmd, size_t n)
{
  if (cmd == NULL || n <= 5 || memcmp(cmd, "NODE_", 5) != 0)
    return M_USER;
  if ((n == 15 && memcmp(cmd, "NODE_HANDLE_ACK", 15) == 0) ||
      (n == 16 && memcmp(cmd, "NODE_HANDLE_NACK", 16) == 0))
    return M_ACK;
  if (n == 11 && memcmp(cmd, "NODE_HANDLE", 11) == 0)
    return M_HANDLE;
  return M_CLUSTER;
}

/* The descriptors a NODE_HANDLE `type` can carry (handleConversion in
 * Node's child_process.js); 0 for a type Node does not know. */
static int type_fits(const char *type, uv_handle_type kind)
{
  if (strcmp(type, "net.Native") == 0 || strcmp(type, "net.Server") == 0 ||
      strcmp(type, "net.Socket") == 0)
    return kind == UV_TCP || kind == UV_NAMED_PIPE;
  if (strcmp(type, "dgram.Native") == 0 || strcmp(type, "dgram.Socket") == 0)
    return kind == UV_UDP;
  return 0;
}

/* NODE_HANDLE: the oldest fd received goes with the message it wraps. */
static void on_handle(sim__channel_t *ch, const inbound_t *in)
{
  sim__rx_t *r = rx_take(ch);
  uv_handle_t *handle;
  char text[96];

  if (r == NULL) {
    channel_send_bypass(ch, "NODE_HANDLE_NACK");
    fail(ch, UV_EPROTO, "ERR_IPC_HANDLE_MISSING",
         "NODE_HANDLE message without a file descriptor");
    return;
  }
  if (r->batch > SIM__MAX_FDS_PER_MESSAGE) {
    snprintf(text, sizeof(text), "a message came with %u file descriptors",
             r->batch);
    rx_close(r);
    fail(ch, UV_EPROTO, "ERR_IPC_TOO_MANY_FDS", text);
    return;
  }
  if (!type_fits(in->type, r->type)) {
    rx_close(r);
    snprintf(text, sizeof(text), "NODE_HANDLE of type '%s' with a "
             "descriptor it cannot carry", in->type);
    fail(ch, UV_EPROTO, "ERR_IPC_HANDLE_TYPE", text);
    return;
  }
  channel_send_bypass(ch, "NODE_HANDLE_ACK");
  /* Cluster messages take any handle (a shared UDP socket comes with a
   * listen reply); user messages take streams, the public API's: a UDP
   * socket sent with one is closed here, its message delivered without it
   * (docs/ipc.md). */
  if (in->msg == NULL || (r->type == UV_UDP && !in->inner_internal)) {
    rx_close(r);
    if (in->msg == NULL)
      return;
    handle = NULL;
  } else {
    handle = r->handle;
    free(r);
  }
  if (in->inner_internal)
    dispatch_cluster(ch, in->msg, handle);
  else
    ch->ops->message(ch, in->msg, (uv_stream_t *)handle);
}

static void deliver(sim__channel_t *ch, const inbound_t *in)
{
  switch (in->kind) {
  case M_USER:
    ch->ops->message(ch, in->msg, NULL);
    break;
  case M_ACK:
    /* Node asserts a queue here: an ACK for nothing breaks the peer. */
    if (!ch->queue_active)
      fail(ch, UV_EPROTO, "ERR_IPC_UNEXPECTED_ACK",
           "NODE_HANDLE_ACK without a handle in flight");
    else
      flush_queue(ch);
    break;
  case M_HANDLE:
    on_handle(ch, in);
    break;
  default:
    dispatch_cluster(ch, in->msg, NULL);
    break;
  }
}

/* ---------------------------------------------------------------------- */
/* Reading: 'json' lines                                                   */

static const char *json_cmd(const cJSON *msg, size_t *n)
{
  const cJSON *cmd = cJSON_IsObject(msg)
                         ? cJSON_GetObjectItemCaseSensitive(msg, "cmd")
                         : NULL;

  if (!cJSON_IsString(cmd))
    return NULL;
  *n = strlen(cmd->valuestring);
  return cmd->valuestring;
}

static void dispatch_json(sim__channel_t *ch, const cJSON *msg)
{
  inbound_t in = { 0 };
  const char *cmd;
  size_t n = 0;

  cmd = json_cmd(msg, &n);
  in.kind = classify(cmd, n);
  in.msg = msg;
  if (in.kind == M_HANDLE) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
    in.msg = cJSON_GetObjectItemCaseSensitive(msg, "msg");
    in.inner_internal = sim__is_internal(in.msg);
    if (cJSON_IsString(type) && strlen(type->valuestring) < sizeof(in.type))
      strcpy(in.type, type->valuestring);
  }
  deliver(ch, &in);
}

enum { LINE_OK, LINE_UTF8, LINE_CONTROL };

/* What JSON.parse() refuses before any parsing: control characters other
 * than tab and CR (no JSON text holds one raw, a NUL included; cJSON
 * would skip them as blanks); and what Node's UTF-8 decoder would have to
 * replace (docs/ipc.md). */
static int line_check(const char *line, size_t n)
{
  const unsigned char *p = (const unsigned char *)line;
  size_t i = 0;
  int wide = 0;

  while (i < n) {
    if (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, p + i, 8);
      /* No byte at or above 0x80, none below 0x20: printable ASCII. */
      if (((w | ((w - 0x2020202020202020ull) & ~w)) &
           0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    if (p[i] >= 0x80)
      wide = 1;
    else if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\r')
      return LINE_CONTROL;
    i++;
  }
  return wide && !sim__utf8_valid(line, n) ? LINE_UTF8 : LINE_OK;
}

static void process_line(sim__channel_t *ch, const char *line, size_t n)
{
  const char *end = NULL;
  int bad = line_check(line, n);
  cJSON *msg;

  if (bad == LINE_UTF8) {
    fail(ch, UV_EPROTO, "ERR_IPC_INVALID_UTF8",
         "message is not valid UTF-8");
    return;
  }
  if (bad == LINE_CONTROL) {
    fail(ch, UV_EPROTO, "ERR_IPC_BAD_JSON",
         "message is not valid JSON (a control character)");
    return;
  }
  /* cJSON would skip a byte order mark; JSON.parse() does not. */
  if (n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
    fail(ch, UV_EPROTO, "ERR_IPC_BAD_JSON",
         "message is not valid JSON (a byte order mark)");
    return;
  }
  msg = cJSON_ParseWithLengthOpts(line, n, &end, 0);
  if (msg == NULL) {
    fail(ch, UV_EPROTO, "ERR_IPC_BAD_JSON", "message is not valid JSON");
    return;
  }
  /* Exactly one value per line: only JSON's blanks may follow it. */
  while (end < line + n && (*end == ' ' || *end == '\t' || *end == '\r'))
    end++;
  if (end != line + n) {
    cJSON_Delete(msg);
    fail(ch, UV_EPROTO, "ERR_IPC_BAD_JSON",
         "message is not valid JSON (bytes after its value)");
    return;
  }
  dispatch_json(ch, msg);
  cJSON_Delete(msg);
}

/* ---------------------------------------------------------------------- */
/* Reading: 'advanced' frames                                              */

/* The string property `name` of an object (or an array's extra
 * properties), as ASCII in buf (any other character becomes '?', which no
 * name compared with has: the text may go into an error message); its
 * length in *n, NULL when absent or not a string. */
static const char *value_str(const sim_value_t *v, const char *name,
                             char *buf, size_t cap, size_t *n)
{
  const sim_props_t *props = NULL;
  const sim_value_t *s = NULL;

  if (v->kind == SIM_VALUE_OBJECT)
    props = &v->u.object;
  else if (v->kind == SIM_VALUE_ARRAY)
    props = &v->u.array.props;
  else if (v->kind == SIM_VALUE_SPARSE_ARRAY)
    props = &v->u.sparse.props;
  for (uint32_t i = 0; props != NULL && i < props->count; i++) {
    const sim_value_t *k = props->at[i].key;
    if (k->kind == SIM_VALUE_STRING && !k->u.string.two_byte &&
        k->u.string.length == strlen(name) &&
        memcmp(k->u.string.latin1, name, k->u.string.length) == 0)
      s = props->at[i].value;
  }
  if (s == NULL || s->kind != SIM_VALUE_STRING)
    return NULL;
  *n = s->u.string.length;
  for (uint32_t i = 0; i < s->u.string.length && i < cap; i++) {
    unsigned c = s->u.string.two_byte ? s->u.string.utf16[i]
                                      : s->u.string.latin1[i];
    buf[i] = (char)(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return buf;
}

/* The JSON a Node peer would have sent in 'json' mode for an internal
 * message: its JSON form without the undefined members. */
static cJSON *internal_json(const sim_value_t *v)
{
  cJSON *j = sim_value_to_json(v), *c, *next;

  for (c = cJSON_IsObject(j) ? j->child : NULL; c != NULL; c = next) {
    next = c->next;
    if (sim__json_is_undefined(c))
      cJSON_Delete(cJSON_DetachItemViaPointer(j, c));
  }
  return j;
}

static const sim_value_t *value_member(const sim_value_t *v, const char *k)
{
  for (uint32_t i = 0; v->kind == SIM_VALUE_OBJECT && i < v->u.object.count;
       i++) {
    const sim_value_t *key = v->u.object.at[i].key;
    if (key->kind == SIM_VALUE_STRING && !key->u.string.two_byte &&
        key->u.string.length == strlen(k) &&
        memcmp(key->u.string.latin1, k, key->u.string.length) == 0)
      return v->u.object.at[i].value;
  }
  return NULL;
}

/* The cJSON side of a decoded message, built in *owned (the caller
 * deletes it). UV_ENOMEM when the JSON form cannot be made. */
static int inbound_v8(inbound_t *in, const sim_value_t *v, cJSON **owned)
{
  const sim_value_t *inner;
  const char *s;
  char cmd[24];
  size_t n = 0;

  s = value_str(v, "cmd", cmd, sizeof(cmd), &n);
  in->kind = classify(s, n);
  *owned = NULL;
  if (in->kind == M_ACK)
    return 0;
  if (in->kind != M_HANDLE) {
    *owned = in->kind == M_USER ? sim_value_to_json(v) : internal_json(v);
    in->msg = *owned;
    return *owned != NULL ? 0 : UV_ENOMEM;
  }
  if (value_str(v, "type", in->type, sizeof(in->type) - 1, &n) == NULL ||
      n >= sizeof(in->type))
    n = 0;
  in->type[n] = '\0';
  if ((inner = value_member(v, "msg")) == NULL)
    return 0;
  s = value_str(inner, "cmd", cmd, sizeof(cmd), &n);
  in->inner_internal = classify(s, n) != M_USER;
  *owned = in->inner_internal ? internal_json(inner)
                              : sim_value_to_json(inner);
  in->msg = *owned;
  return *owned != NULL ? 0 : UV_ENOMEM;
}

static void fail_v8(sim__channel_t *ch, int rc, const sim_v8_error_t *e)
{
  char text[160];

  snprintf(text, sizeof(text), "message is not a valid V8 serialization: "
           "%s at byte %zu", e->reason != NULL ? e->reason : uv_strerror(rc),
           e->offset);
  if (rc == UV_E2BIG || rc == UV_ENOMEM)
    fail(ch, rc, "ERR_IPC_MESSAGE_TOO_LARGE", text);
  else
    fail(ch, UV_EPROTO, "ERR_IPC_BAD_V8", text);
}

static void process_frame(sim__channel_t *ch, const char *payload, size_t n)
{
  sim_heap_t *heap = sim_heap_new(0);
  sim_v8_error_t e = { 0, 0, NULL };
  inbound_t in = { 0 };
  cJSON *owned = NULL;
  sim_value_t *v;
  int rc;

  rc = heap == NULL ? UV_ENOMEM
                    : sim_v8_decode(heap, (const uint8_t *)payload, n, &v,
                                    &e);
  if (rc == 0 && (rc = inbound_v8(&in, v, &owned)) == 0)
    deliver(ch, &in);
  else
    fail_v8(ch, rc, &e);
  cJSON_Delete(owned);
  sim_heap_free(heap);
}

/* ---------------------------------------------------------------------- */
/* Reading: framing, pause, the read callback                              */

static int stopped(const sim__channel_t *ch)
{
  return ch->failed || ch->pipe_closing;
}

static void too_large(sim__channel_t *ch)
{
  fail(ch, UV_E2BIG, "ERR_IPC_MESSAGE_TOO_LARGE",
       "message longer than the channel's limit");
}

/* The next complete message at p: its size with its delimiter or length
 * (0: not complete yet, -1: too large, the channel failed), its body in
 * [*body, *body + *n). `scan` is where a newline may first be. */
static ssize_t next_message(sim__channel_t *ch, const char *p,
                            const char *scan, const char *end,
                            const char **body, size_t *n)
{
  const unsigned char *u = (const unsigned char *)p;
  const char *nl;
  size_t len;

  if (!ch->advanced) {
    nl = memchr(scan, '\n', (size_t)(end - scan));
    len = (size_t)((nl != NULL ? nl : end) - p);
    if (len > SIM_MAX_MESSAGE) {
      too_large(ch);
      return -1;
    }
    *body = p;
    *n = len;
    return nl != NULL ? (ssize_t)len + 1 : 0;
  }
  if (end - p < 4)
    return 0;
  len = (size_t)u[0] << 24 | (size_t)u[1] << 16 | (size_t)u[2] << 8 | u[3];
  /* Refused from the prefix alone: nothing of it is buffered. */
  if (len > SIM_MAX_MESSAGE) {
    too_large(ch);
    return -1;
  }
  *body = p + 4;
  *n = len;
  return (size_t)(end - p) - 4 >= len ? (ssize_t)len + 4 : 0;
}

/* Delivers the complete messages of [start, start + len), of which the
 * first `scanned` bytes hold no newline, until the channel stops or is
 * paused; keeps the rest in ch->in (where it may already be). */
static void consume(sim__channel_t *ch, char *start, size_t len,
                    size_t scanned)
{
  char *p = start, *end = start + len;
  const char *scan = start + scanned, *body;
  size_t n, tail;
  ssize_t m;

  while (!stopped(ch) && !ch->paused &&
         (m = next_message(ch, p, scan, end, &body, &n)) > 0) {
    if (ch->advanced)
      process_frame(ch, body, n);
    else
      process_line(ch, body, n);
    p += m;
    scan = p;
  }
  if (stopped(ch)) {
    ch->in.len = 0;
    return;
  }
  tail = (size_t)(end - p);
  if (start == ch->in.data) {
    memmove(ch->in.data, p, tail);
    ch->in.len = tail;
    if (tail == 0 && ch->in.cap > KEEP_IN)
      sim__buf_free(&ch->in);
  } else if (tail > 0 && sim__buf_append(&ch->in, p, tail) != 0) {
    fail(ch, UV_ENOMEM, "ERR_IPC_MESSAGE_TOO_LARGE", "out of memory");
  }
}

/* Every fd must go with a NODE_HANDLE message, one each: once nothing
 * unfinished is left, one that none claimed never will be; while a message
 * is still arriving, only its own may wait. So at most one fd outlives the
 * read that brought it. */
static void rx_check(sim__channel_t *ch)
{
  char text[96];

  if (stopped(ch) || ch->paused || ch->nrx == 0)
    return;
  if (ch->rx->batch > SIM__MAX_FDS_PER_MESSAGE) {
    snprintf(text, sizeof(text), "a message came with %u file descriptors",
             ch->rx->batch);
    fail(ch, UV_EPROTO, "ERR_IPC_TOO_MANY_FDS", text);
  } else if (ch->in.len == 0) {
    fail(ch, UV_EPROTO, "ERR_IPC_HANDLE_UNCLAIMED",
         "a file descriptor came without a NODE_HANDLE message");
  } else if (ch->nrx > SIM__MAX_FDS_WAITING) {
    fail(ch, UV_EPROTO, "ERR_IPC_TOO_MANY_FDS",
         "more than one file descriptor waits for its message");
  }
}

/* One chunk serves every read of the process (one loop, one thread): the
 * messages completed in it are delivered before the read callback
 * returns. */
static char *shared_chunk;

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  sim__channel_t *ch = h->data;

  (void)hint;
  buf->base = NULL;
  buf->len = 0;
  if (ch->in.len == 0) {
    if (shared_chunk == NULL)
      shared_chunk = malloc(READ_CHUNK);
    if (shared_chunk != NULL) {
      buf->base = shared_chunk;
      buf->len = READ_CHUNK;
    }
    return;
  }
  /* An unfinished message: the read lands right after it. (No room is
   * UV_ENOBUFS for on_read, which ends the channel.) */
  if (sim__buf_reserve(&ch->in, READ_CHUNK / 4) == 0) {
    buf->base = ch->in.data + ch->in.len;
    buf->len = ch->in.cap - ch->in.len;
  }
}

/* The descriptors of one read (a sendmsg's fds arrive together, with its
 * first bytes; the kernel never joins two such writes in one read, and
 * libuv takes at most 64 of them). They wait for the messages of the read
 * (rx_check()). 0, or -1 once the channel failed. */
static int read_fds(sim__channel_t *ch)
{
  sim__rx_t **first = ch->rx_tail;
  unsigned before = ch->nrx;

  while (uv_pipe_pending_count(&ch->pipe) > 0) {
    if (rx_accept_one(ch) != 0) {
      fail(ch, UV_ENOMEM, "ERR_IPC_TOO_MANY_FDS", "out of memory");
      return -1;
    }
  }
  for (sim__rx_t *r = *first; r != NULL; r = r->next)
    r->batch = ch->nrx - before;
  return 0;
}

static void on_eof(sim__channel_t *ch)
{
  if (ch->in.len > 0 && !ch->failed)
    fail(ch, UV_EPROTO, "ERR_IPC_TRUNCATED",
         "channel closed in the middle of a message");
  if (ch->reading && !ch->pipe_closing)
    uv_read_stop((uv_stream_t *)&ch->pipe);
  ch->reading = 0;
  if (ch->connected) {
    ch->connected = 0;
    /* Node emits 'disconnect' on the nextTick after this read: before any
     * other I/O callback of the same turn (a child's exit, say). The read
     * callback ends here, so emitting now is that same moment. */
    if (!ch->queue_active)
      channel_really_disconnect(ch, 1);
    else
      /* Node closes the pipe but never emits 'disconnect' here. */
      sim__channel_close(ch);
  }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  sim__channel_t *ch = stream->data;

  if (nread == 0)
    return;
  if (nread < 0) {
    /* EOF or a read error: the peer is gone. */
    on_eof(ch);
    return;
  }
  if (read_fds(ch) != 0)
    return;
  if (ch->in.len == 0) {
    consume(ch, buf->base, (size_t)nread, 0);
  } else {
    ch->in.len += (size_t)nread;
    consume(ch, ch->in.data, ch->in.len, ch->in.len - (size_t)nread);
  }
  rx_check(ch);
}

static void channel_read_start(sim__channel_t *ch)
{
  if (ch->reading || stopped(ch) || ch->paused || !ch->open)
    return;
  if (uv_read_start((uv_stream_t *)&ch->pipe, on_alloc, on_read) == 0)
    ch->reading = 1;
}

void sim__channel_pause(sim__channel_t *ch)
{
  if (ch->paused)
    return;
  ch->paused = 1;
  if (ch->reading && !ch->pipe_closing)
    uv_read_stop((uv_stream_t *)&ch->pipe);
  ch->reading = 0;
}

static void channel_on_resume(void *arg)
{
  sim__channel_t *ch = arg;

  ch->resume_queued = 0;
  if (ch->paused || stopped(ch))
    return;
  /* What the last chunk held first, then the socket. */
  if (ch->in.len > 0)
    consume(ch, ch->in.data, ch->in.len, 0);
  rx_check(ch);
  channel_read_start(ch);
}

void sim__channel_resume(sim__channel_t *ch)
{
  if (!ch->paused)
    return;
  ch->paused = 0;
  if (!ch->resume_queued && !stopped(ch) &&
      sim__tick_defer(ch->tick, channel_on_resume, ch) == 0)
    ch->resume_queued = 1;
}

/* ---------------------------------------------------------------------- */
/* Life cycle                                                              */

static void on_pipe_closed(uv_handle_t *h)
{
  sim__channel_t *ch = h->data;
  sim__sents_t done = ch->done, unsent = ch->out_cbs;

  sim__buf_free(&ch->in);
  sim__buf_free(&ch->out);
  memset(&ch->done, 0, sizeof(ch->done));
  memset(&ch->out_cbs, 0, sizeof(ch->out_cbs));
  /* Every send callback runs once: written ones with their status, the
   * rest as cancelled. */
  sents_run(&done, OWN_STATUS);
  sents_run(&unsent, UV_ECANCELED);
  if (ch->ops->closed != NULL)
    ch->ops->closed(ch);
}

static void emit_disconnect(void *arg)
{
  sim__channel_t *ch = arg;

  sim__channel_close(ch);
  ch->ops->disconnect(ch);
}

static void channel_really_disconnect(sim__channel_t *ch, int now)
{
  if (!ch->open)
    return;
  ch->open = 0;
  if (now || sim__tick_defer(ch->tick, emit_disconnect, ch) != 0)
    emit_disconnect(ch);
}

void sim__channel_disconnect(sim__channel_t *ch)
{
  if (!ch->connected)
    return;
  ch->connected = 0;
  if (!ch->queue_active)
    channel_really_disconnect(ch, 0);
}

void sim__channel_close(sim__channel_t *ch)
{
  sim__send_t *q;
  sim__ack_t *a;

  if (ch->pipe_closing)
    return;
  /* What was sent before the close leaves if the kernel takes it now. */
  channel_flush(ch);
  sim__tick_late_cancel(&ch->late);
  ch->pipe_closing = 1;
  ch->open = 0;
  ch->connected = 0;
  ch->reading = 0;
  q = ch->queue;
  ch->queue = NULL;
  ch->queue_tail = &ch->queue;
  while (q != NULL) {
    sim__send_t *next = q->next;
    if (q->cb != NULL)
      q->cb(UV_ECANCELED, q->arg);
    send_free(q);
    q = next;
  }
  /* A reply that can no longer come: its waiter learns so (msg NULL). */
  while ((a = ch->acks) != NULL) {
    ch->acks = a->next;
    a->fn(ch, NULL, NULL, a->arg);
    free(a);
  }
  rx_close_all(ch);
  uv_close((uv_handle_t *)&ch->pipe, on_pipe_closed);
}

int sim__channel_has_pending_handle(const sim__channel_t *ch)
{
  return ch->queue_active;
}

int sim__channel_init(uv_loop_t *loop, sim__channel_t *ch,
                      const sim__channel_ops_t *ops, sim__tick_t *tick,
                      unsigned *seq)
{
  int err;

  memset(ch, 0, sizeof(*ch));
  ch->ops = ops;
  ch->tick = tick;
  ch->seq = seq;
  ch->queue_tail = &ch->queue;
  ch->rx_tail = &ch->rx;
  ch->late.fn = channel_on_late;
  err = uv_pipe_init(loop, &ch->pipe, 1);
  if (err != 0)
    return err;
  ch->pipe.data = ch;
  return 0;
}

void sim__channel_set_advanced(sim__channel_t *ch)
{
  ch->advanced = 1;
}

int sim__channel_open(sim__channel_t *ch, int fd)
{
  return uv_pipe_open(&ch->pipe, fd);
}

int sim__channel_start(sim__channel_t *ch)
{
  int err = uv_read_start((uv_stream_t *)&ch->pipe, on_alloc, on_read);

  if (err != 0)
    return err;
  ch->reading = 1;
  ch->open = 1;
  ch->connected = 1;
  return 0;
}
