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

#define READ_CHUNK 65536

struct sim__send_s {
  uv_write_t req;
  sim__channel_t *ch;
  char *line;
  size_t len;
  uv_stream_t *handle;       /* borrowed: the caller keeps its copy */
  sim_send_cb cb;
  void *arg;
  int bypass;                /* NODE_HANDLE_ACK/NACK */
  sim__send_t *next;
};

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
/* Writing                                                                 */

static void send_free(sim__send_t *s)
{
  free(s->line);
  free(s);
}

static void on_write(uv_write_t *req, int status)
{
  sim__send_t *s = req->data;

  if (s->cb != NULL)
    s->cb(status, s->arg);
  send_free(s);
}

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
  buf = uv_buf_init(s->line, (unsigned)s->len);
  s->req.data = s;
  if (s->handle != NULL)
    err = uv_write2(&s->req, (uv_stream_t *)&ch->pipe, &buf, 1, s->handle,
                    on_write);
  else
    err = uv_write(&s->req, (uv_stream_t *)&ch->pipe, &buf, 1, on_write);
  if (err != 0)
    goto fail;
  if (s->handle != NULL)
    ch->queue_active = 1;
  return 0;

fail:
  if (s->cb != NULL)
    s->cb(err, s->arg);
  send_free(s);
  return err;
}

static int channel_send_line(sim__channel_t *ch, char *json,
                             uv_stream_t *handle, sim_send_cb cb, void *arg,
                             int bypass)
{
  size_t n = strlen(json);
  sim__send_t *s = calloc(1, sizeof(*s));

  if (s == NULL) {
    cJSON_free(json);
    return UV_ENOMEM;
  }
  s->line = malloc(n + 1);
  if (s->line == NULL) {
    cJSON_free(json);
    free(s);
    return UV_ENOMEM;
  }
  memcpy(s->line, json, n);
  s->line[n] = '\n';
  s->len = n + 1;
  cJSON_free(json);
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
  char *json;

  if (!ch->open)
    return UV_EPIPE;
  if (handle != NULL) {
    cJSON *wrap = cJSON_CreateObject();
    if (wrap == NULL)
      return UV_ENOMEM;
    cJSON_AddStringToObject(wrap, "cmd", "NODE_HANDLE");
    cJSON_AddStringToObject(wrap, "type", "net.Native");
    cJSON_AddItemReferenceToObject(wrap, "msg", (cJSON *)msg);
    json = cJSON_PrintUnformatted(wrap);
    cJSON_Delete(wrap);
  } else {
    json = cJSON_PrintUnformatted(msg);
  }
  if (json == NULL)
    return UV_ENOMEM;
  return channel_send_line(ch, json, handle, cb, arg, 0);
}

static void channel_send_bypass(sim__channel_t *ch, const char *cmd)
{
  char *json;
  cJSON *m = cJSON_CreateObject();

  if (m == NULL)
    return;
  cJSON_AddStringToObject(m, "cmd", cmd);
  json = cJSON_PrintUnformatted(m);
  cJSON_Delete(m);
  if (json != NULL)
    (void)channel_send_line(ch, json, NULL, NULL, NULL, 1);
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

static int buf_append(sim__channel_t *ch, const char *p, size_t n)
{
  if (ch->len + n > SIM_MAX_MESSAGE) {
    fail(ch, UV_E2BIG, "ERR_IPC_MESSAGE_TOO_LARGE",
         "message line longer than the channel's limit");
    return UV_E2BIG;
  }
  if (ch->len + n > ch->cap) {
    size_t cap = ch->cap ? ch->cap : 256;
    char *b;
    while (cap < ch->len + n)
      cap *= 2;
    b = realloc(ch->buf, cap);
    if (b == NULL) {
      fail(ch, UV_ENOMEM, "ERR_IPC_MESSAGE_TOO_LARGE", "out of memory");
      return UV_ENOMEM;
    }
    ch->buf = b;
    ch->cap = cap;
  }
  memcpy(ch->buf + ch->len, p, n);
  ch->len += n;
  return 0;
}

static int stopped(const sim__channel_t *ch)
{
  return ch->failed || ch->pipe_closing;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  sim__channel_t *ch = h->data;

  /* One read is outstanding at a time, so one chunk per channel serves
   * every read; lines that end inside it are parsed in place. */
  if (ch->rbuf == NULL)
    ch->rbuf = malloc(READ_CHUNK);
  buf->base = ch->rbuf;
  buf->len = ch->rbuf != NULL ? READ_CHUNK : 0;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  sim__channel_t *ch = stream->data;
  const char *p, *end;

  if (nread > 0) {
    rx_accept_pending(ch);
    p = buf->base;
    end = p + nread;
    while (p < end && !stopped(ch)) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      if (nl == NULL) {
        (void)buf_append(ch, p, (size_t)(end - p));
        break;
      }
      if (ch->len > 0) {
        size_t n;
        if (buf_append(ch, p, (size_t)(nl - p)) != 0)
          break;
        n = ch->len;
        ch->len = 0;
        process_line(ch, ch->buf, n);
      } else {
        process_line(ch, p, (size_t)(nl - p));
      }
      p = nl + 1;
    }
    return;
  }
  if (nread == 0)
    return;
  /* EOF or a read error: the peer is gone. */
  if (ch->len > 0 && !ch->failed)
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

  free(ch->buf);
  ch->buf = NULL;
  ch->len = ch->cap = 0;
  free(ch->rbuf);
  ch->rbuf = NULL;
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
