/*
 * sim-channel.c - Node's IPC channel, json serialization.
 *
 * Framing is one JSON value per line. A handle travels as SCM_RIGHTS on the
 * write that carries its NODE_HANDLE line; the receiver ACKs it at once.
 * While a sent handle waits for NODE_HANDLE_ACK every later message to the
 * same peer is queued (only ACK/NACK bypass the queue), and disconnect() is
 * postponed until the queue drains - which is why Node never emits
 * 'disconnect' for a worker that dies with a handle in flight.
 */
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

struct sim__rx_s {
  uv_stream_t *handle;
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

/* Appends one line to `out`: `line` + '\n'. */
static int channel_out_line(sim__channel_t *ch, const sim__buf_t *line,
                            sim_send_cb cb, void *arg)
{
  if (sim__buf_reserve(&ch->out, line->len + 1) != 0 ||
      (cb != NULL && sents_add(&ch->out_cbs, cb, arg, 0) != 0))
    return UV_ENOMEM;
  memcpy(ch->out.data + ch->out.len, line->data, line->len);
  ch->out.len += line->len;
  ch->out.data[ch->out.len++] = '\n';
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

/* A held-back line, or one with a handle (sendmsg with SCM_RIGHTS of its
 * own, after everything coalesced before it). Takes `s`. */
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
  if (sim__buf_append(&s->line, "\n", 1) != 0) {
    err = UV_ENOMEM;
    goto fail;
  }
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

/* The JSON of a message, wrapped as Node wraps one that carries a
 * handle. */
static int channel_print(sim__buf_t *b, const cJSON *msg,
                         uv_stream_t *handle)
{
  static const char wrap[] =
      "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Native\",\"msg\":";
  int err;

  if (handle == NULL)
    return sim__json_print(b, msg);
  err = sim__buf_append(b, wrap, sizeof(wrap) - 1);
  if (err == 0)
    err = sim__json_print(b, msg);
  if (err == 0)
    err = sim__buf_append(b, "}", 1);
  return err;
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
    err = sim__json_print(&ch->out, msg);
    if (err == 0 && (err = sim__buf_append(&ch->out, "\n", 1)) == 0 &&
        (cb == NULL || (err = sents_add(&ch->out_cbs, cb, arg, 0)) == 0)) {
      channel_wrote(ch);
      return 0;
    }
    ch->out.len = mark;
    return err == UV_EINVAL ? UV_EINVAL : UV_ENOMEM;
  }
  s = calloc(1, sizeof(*s));
  if (s == NULL)
    return UV_ENOMEM;
  err = channel_print(&s->line, msg, handle);
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
/* Reading                                                                 */

static void fail(sim__channel_t *ch, int err, const char *code,
                 const char *text)
{
  if (ch->failed)
    return;
  ch->failed = 1;
  if (!ch->pipe_closing)
    uv_read_stop((uv_stream_t *)&ch->pipe);
  ch->ops->error(ch, err, code, text);
}

static uv_stream_t *rx_take(sim__channel_t *ch)
{
  sim__rx_t *r = ch->rx;
  uv_stream_t *h;

  if (r == NULL)
    return NULL;
  ch->rx = r->next;
  if (ch->rx == NULL)
    ch->rx_tail = &ch->rx;
  h = r->handle;
  free(r);
  return h;
}

static void rx_accept_pending(sim__channel_t *ch)
{
  uv_loop_t *loop = ch->pipe.loop;

  while (uv_pipe_pending_count(&ch->pipe) > 0) {
    uv_handle_type type = uv_pipe_pending_type(&ch->pipe);
    uv_stream_t *h = NULL;
    sim__rx_t *r;

    if (type == UV_TCP) {
      uv_tcp_t *t = malloc(sizeof(*t));
      if (t != NULL && uv_tcp_init(loop, t) == 0)
        h = (uv_stream_t *)t;
      else
        free(t);
    } else if (type == UV_NAMED_PIPE) {
      uv_pipe_t *p = malloc(sizeof(*p));
      if (p != NULL && uv_pipe_init(loop, p, 0) == 0)
        h = (uv_stream_t *)p;
      else
        free(p);
    }
    if (h == NULL) {
      /* A handle type we cannot adopt (UDP) or OOM: libuv keeps the fd
       * queued until the pipe closes, which closes it. Stop looking. */
      return;
    }
    if (uv_accept((uv_stream_t *)&ch->pipe, h) != 0) {
      uv_close((uv_handle_t *)h, sim__close_free);
      return;
    }
    r = malloc(sizeof(*r));
    if (r == NULL) {
      uv_close((uv_handle_t *)h, sim__close_free);
      return;
    }
    r->handle = h;
    r->next = NULL;
    *ch->rx_tail = r;
    ch->rx_tail = &r->next;
  }
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
                             uv_stream_t *handle)
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

static void dispatch(sim__channel_t *ch, const cJSON *msg)
{
  const char *cmd;

  if (!sim__is_internal(msg)) {
    ch->ops->message(ch, msg, NULL);
    return;
  }
  cmd = cJSON_GetObjectItemCaseSensitive(msg, "cmd")->valuestring;
  if (strcmp(cmd, "NODE_HANDLE_ACK") == 0 ||
      strcmp(cmd, "NODE_HANDLE_NACK") == 0) {
    if (ch->queue_active)
      flush_queue(ch);
    return;
  }
  if (strcmp(cmd, "NODE_HANDLE") == 0) {
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(msg, "msg");
    uv_stream_t *handle = rx_take(ch);

    if (handle == NULL) {
      channel_send_bypass(ch, "NODE_HANDLE_NACK");
      fail(ch, UV_EPROTO, "ERR_IPC_HANDLE_MISSING",
           "NODE_HANDLE message without a file descriptor");
      return;
    }
    channel_send_bypass(ch, "NODE_HANDLE_ACK");
    if (inner == NULL) {
      uv_close((uv_handle_t *)handle, sim__close_free);
      return;
    }
    if (sim__is_internal(inner))
      dispatch_cluster(ch, inner, handle);
    else
      ch->ops->message(ch, inner, handle);
    return;
  }
  dispatch_cluster(ch, msg, NULL);
}

static void process_line(sim__channel_t *ch, const char *line, size_t n)
{
  cJSON *msg;

  if (!sim__utf8_valid(line, n)) {
    fail(ch, UV_EPROTO, "ERR_IPC_INVALID_UTF8",
         "message is not valid UTF-8");
    return;
  }
  msg = cJSON_ParseWithLength(line, n);
  if (msg == NULL) {
    fail(ch, UV_EPROTO, "ERR_IPC_BAD_JSON", "message is not valid JSON");
    return;
  }
  dispatch(ch, msg);
  cJSON_Delete(msg);
}

static int stopped(const sim__channel_t *ch)
{
  return ch->failed || ch->pipe_closing;
}

/* One chunk serves every read of the process (one loop, one thread): the
 * lines completed in it are parsed before the read callback returns. */
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
  /* An unfinished line: the read lands right after it. (No room is
   * UV_ENOBUFS for on_read, which ends the channel.) */
  if (sim__buf_reserve(&ch->in, READ_CHUNK / 4) == 0) {
    buf->base = ch->in.data + ch->in.len;
    buf->len = ch->in.cap - ch->in.len;
  }
}

static void too_large(sim__channel_t *ch)
{
  fail(ch, UV_E2BIG, "ERR_IPC_MESSAGE_TOO_LARGE",
       "message line longer than the channel's limit");
}

/* Parses the complete lines of [start, start+len); the first `scanned`
 * bytes are known to hold no newline. Keeps the unfinished rest in
 * ch->in. */
static void read_lines(sim__channel_t *ch, char *start, size_t len,
                       size_t scanned)
{
  char *p = start, *scan = start + scanned, *end = start + len, *nl;
  size_t tail;

  while (!stopped(ch) &&
         (nl = memchr(scan, '\n', (size_t)(end - scan))) != NULL) {
    if ((size_t)(nl - p) > SIM_MAX_MESSAGE) {
      too_large(ch);
      break;
    }
    process_line(ch, p, (size_t)(nl - p));
    p = scan = nl + 1;
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
    return;
  }
  if (ch->in.len > SIM_MAX_MESSAGE)
    too_large(ch);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  sim__channel_t *ch = stream->data;

  if (nread > 0) {
    rx_accept_pending(ch);
    if (ch->in.len == 0) {
      read_lines(ch, buf->base, (size_t)nread, 0);
    } else {
      ch->in.len += (size_t)nread;
      read_lines(ch, ch->in.data, ch->in.len, ch->in.len - (size_t)nread);
    }
    return;
  }
  if (nread == 0)
    return;
  /* EOF or a read error: the peer is gone. */
  if (ch->in.len > 0 && !ch->failed)
    fail(ch, UV_EPROTO, "ERR_IPC_TRUNCATED",
         "channel closed in the middle of a message");
  if (!ch->pipe_closing)
    uv_read_stop(stream);
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
  uv_stream_t *h;

  if (ch->pipe_closing)
    return;
  /* What was sent before the close leaves if the kernel takes it now. */
  channel_flush(ch);
  sim__tick_late_cancel(&ch->late);
  ch->pipe_closing = 1;
  ch->open = 0;
  ch->connected = 0;
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
  while ((h = rx_take(ch)) != NULL)
    uv_close((uv_handle_t *)h, sim__close_free);
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

int sim__channel_open(sim__channel_t *ch, int fd)
{
  return uv_pipe_open(&ch->pipe, fd);
}

int sim__channel_start(sim__channel_t *ch)
{
  int err = uv_read_start((uv_stream_t *)&ch->pipe, on_alloc, on_read);

  if (err != 0)
    return err;
  ch->open = 1;
  ch->connected = 1;
  return 0;
}
