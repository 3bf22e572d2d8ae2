/*
 * ctl.c - JSON lines to and from the harness.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

#define CTL_MAX_LINE (4u * 1024u * 1024u)

static void lost(ctl_t *ctl)
{
  if (!ctl->open)
    return;
  ctl->open = 0;
  uv_read_stop((uv_stream_t *)&ctl->pipe);
  if (ctl->on_lost != NULL)
    ctl->on_lost(ctl);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  buf->base = malloc(65536);
  buf->len = buf->base != NULL ? 65536 : 0;
}

static int append(ctl_t *ctl, const char *p, size_t n)
{
  if (ctl->len + n > CTL_MAX_LINE)
    return UV_E2BIG;
  if (ctl->len + n > ctl->cap) {
    size_t cap = ctl->cap ? ctl->cap : 1024;
    char *b;
    while (cap < ctl->len + n)
      cap *= 2;
    b = realloc(ctl->buf, cap);
    if (b == NULL)
      return UV_ENOMEM;
    ctl->buf = b;
    ctl->cap = cap;
  }
  memcpy(ctl->buf + ctl->len, p, n);
  ctl->len += n;
  return 0;
}

static int line(ctl_t *ctl, const char *p, size_t n)
{
  cJSON *msg = cJSON_ParseWithLength(p, n);

  if (msg == NULL)
    return UV_EINVAL;
  if (ctl->on_message != NULL)
    ctl->on_message(ctl, msg);
  cJSON_Delete(msg);
  return 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  ctl_t *ctl = s->data;
  const char *p = buf->base, *end = p + (nread > 0 ? nread : 0);

  while (nread > 0 && p < end && ctl->open) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    int err;
    if (nl == NULL) {
      if (append(ctl, p, (size_t)(end - p)) != 0)
        lost(ctl);
      break;
    }
    if (ctl->len > 0) {
      err = append(ctl, p, (size_t)(nl - p));
      if (err == 0)
        err = line(ctl, ctl->buf, ctl->len);
      ctl->len = 0;
    } else {
      err = line(ctl, p, (size_t)(nl - p));
    }
    if (err != 0) {
      /* An unparseable command line: answered by the caller's protocol
       * layer would need an id we cannot read; report it as a log. */
      cJSON *m = cJSON_CreateObject();
      cJSON_AddStringToObject(m, "type", "log");
      cJSON_AddStringToObject(m, "text", "unparseable command line ignored");
      (void)ctl_send(ctl, m);
      cJSON_Delete(m);
    }
    p = nl + 1;
  }
  free(buf->base);
  if (nread < 0)
    lost(ctl);
}

int ctl_open(uv_loop_t *loop, ctl_t *ctl, const char *path,
             ctl_message_cb on_message, ctl_lost_cb on_lost)
{
  struct sockaddr_un sa;
  int fd, err;

  memset(ctl, 0, sizeof(*ctl));
  ctl->on_message = on_message;
  ctl->on_lost = on_lost;
  if (strlen(path) >= sizeof(sa.sun_path))
    return UV_ENAMETOOLONG;
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  strcpy(sa.sun_path, path);
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    err = -errno;
    close(fd);
    return err;
  }
  err = uv_pipe_init(loop, &ctl->pipe, 0);
  if (err != 0) {
    close(fd);
    return err;
  }
  ctl->pipe.data = ctl;
  err = uv_pipe_open(&ctl->pipe, fd);
  if (err == 0)
    err = uv_read_start((uv_stream_t *)&ctl->pipe, on_alloc, on_read);
  if (err != 0) {
    uv_close((uv_handle_t *)&ctl->pipe, NULL);
    return err;
  }
  ctl->open = 1;
  return 0;
}

static void on_write(uv_write_t *req, int status)
{
  free(req);
}

int ctl_send(ctl_t *ctl, cJSON *msg)
{
  uv_write_t *req;
  uv_buf_t buf;
  char *json;
  size_t n;
  int err;

  if (!ctl->open)
    return UV_EPIPE;
  if (cJSON_GetObjectItemCaseSensitive(msg, "t") == NULL)
    cJSON_AddNumberToObject(msg, "t", (double)uv_hrtime());
  json = cJSON_PrintUnformatted(msg);
  if (json == NULL)
    return UV_ENOMEM;
  n = strlen(json);
  /* One allocation holds the request and the line. */
  req = malloc(sizeof(*req) + n + 1);
  if (req == NULL) {
    cJSON_free(json);
    return UV_ENOMEM;
  }
  memcpy((char *)(req + 1), json, n);
  ((char *)(req + 1))[n] = '\n';
  cJSON_free(json);
  buf = uv_buf_init((char *)(req + 1), (unsigned)n + 1);
  err = uv_write(req, (uv_stream_t *)&ctl->pipe, &buf, 1, on_write);
  if (err != 0)
    free(req);
  return err;
}

int ctl_send_now(ctl_t *ctl, cJSON *msg)
{
  char *json;
  uv_buf_t buf;
  size_t n;
  int err;

  if (!ctl->open)
    return UV_EPIPE;
  if (ctl->pipe.write_queue_size > 0)
    return ctl_send(ctl, msg);
  if (cJSON_GetObjectItemCaseSensitive(msg, "t") == NULL)
    cJSON_AddNumberToObject(msg, "t", (double)uv_hrtime());
  json = cJSON_PrintUnformatted(msg);
  if (json == NULL)
    return UV_ENOMEM;
  n = strlen(json);
  json[n] = '\0';
  {
    char *line = malloc(n + 1);
    if (line == NULL) {
      cJSON_free(json);
      return UV_ENOMEM;
    }
    memcpy(line, json, n);
    line[n] = '\n';
    buf = uv_buf_init(line, (unsigned)n + 1);
    /* Before exit(): a line this small goes out in one write or not at
     * all on a socket with an empty queue. */
    err = uv_try_write((uv_stream_t *)&ctl->pipe, &buf, 1);
    free(line);
  }
  cJSON_free(json);
  return err < 0 ? err : 0;
}

void ctl_close(ctl_t *ctl)
{
  if (ctl->pipe.type == UV_NAMED_PIPE && !uv_is_closing((uv_handle_t *)&ctl->pipe))
    uv_close((uv_handle_t *)&ctl->pipe, NULL);
  ctl->open = 0;
  free(ctl->buf);
  ctl->buf = NULL;
}
