/*
 * ctl.c - the transport: JSON lines to and from the harness.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

static void ctl_on_closed(uv_handle_t *h)
{
  ctl_t *ctl = h->data;

  base_lines_free(&ctl->in);
  base_buf_free(&ctl->out);
  base_buf_free(&ctl->flight);
}

static void ctl_shut(ctl_t *ctl)
{
  ctl->open = 0;
  if (ctl->handle_init && !uv_is_closing((uv_handle_t *)&ctl->pipe))
    uv_close((uv_handle_t *)&ctl->pipe, ctl_on_closed);
}

static void ctl_lost(ctl_t *ctl)
{
  if (!ctl->open)
    return;
  ctl_shut(ctl);
  if (ctl->on_lost != NULL)
    ctl->on_lost(ctl);
}

/* ---------------------------------------------------------------------- */
/* Reading                                                                 */

static void ctl_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  ctl_t *ctl = h->data;

  /* One read at a time: the chunk is free again when on_read returns. */
  buf->base = ctl->chunk;
  buf->len = sizeof(ctl->chunk);
}

/* JavaScript's line.trim() === "" for the ASCII whitespace; a NUL is not
 * whitespace (strchr() would find the terminator). */
static int ctl_is_blank(const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] == '\0' || strchr(" \t\r\n\v\f", p[i]) == NULL)
      return 0;
  return 1;
}

static int ctl_on_lines(base_lines_t *lines, int status, const char *p,
                        size_t n)
{
  ctl_t *ctl = lines->data;

  if (ctl->on_line == NULL)
    return 0;
  if (status != 0) {
    /* Refused once (the reader skips the rest of it), so that a runaway
     * peer cannot grow the agent without bound. */
    ctl->on_line(ctl, NULL, 0);
  } else {
    if (n > 0 && p[n - 1] == '\r')
      n--;
    /* Blank lines carry nothing, as in the Node agents. */
    if (!ctl_is_blank(p, n))
      ctl->on_line(ctl, p, n);
  }
  /* The callback may have closed the connection: nothing more is read. */
  return ctl->open ? 0 : 1;
}

static void ctl_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  ctl_t *ctl = s->data;

  if (nread < 0) {
    ctl_lost(ctl);
    return;
  }
  if (ctl->open)
    (void)base_lines_feed(&ctl->in, buf->base, (size_t)nread);
}

/* ---------------------------------------------------------------------- */
/* Writing                                                                 */

static void ctl_kick(ctl_t *ctl);

static void ctl_on_written(uv_write_t *req, int status)
{
  ctl_t *ctl = req->data;
  ctl_drain_cb cb = ctl->on_drain;

  ctl->writing = 0;
  ctl->flight.len = 0;
  if (status != 0) {
    ctl_lost(ctl);
    return;
  }
  ctl_kick(ctl);
  if (cb != NULL && ctl->open && ctl_pending(ctl) <= ctl->drain_low) {
    ctl->on_drain = NULL;
    cb(ctl);
  }
}

size_t ctl_pending(const ctl_t *ctl)
{
  return ctl->out.len + ctl->flight.len;
}

void ctl_on_drain(ctl_t *ctl, ctl_drain_cb cb, size_t low)
{
  ctl->on_drain = cb;
  ctl->drain_low = low;
}

/* One write in flight at a time; lines sent meanwhile gather in `out`, so
 * the bytes libuv holds are never moved. */
static void ctl_kick(ctl_t *ctl)
{
  base_buf_t t;
  uv_buf_t b;

  if (ctl->writing || ctl->out.len == 0 || !ctl->open)
    return;
  t = ctl->flight;
  ctl->flight = ctl->out;
  ctl->out = t;
  ctl->out.len = 0;
  b = uv_buf_init(ctl->flight.base, (unsigned)ctl->flight.len);
  ctl->write_req.data = ctl;
  if (uv_write(&ctl->write_req, (uv_stream_t *)&ctl->pipe, &b, 1,
               ctl_on_written) != 0) {
    ctl->flight.len = 0;
    ctl_lost(ctl);
    return;
  }
  ctl->writing = 1;
}

int ctl_send(ctl_t *ctl, const cJSON *msg)
{
  return ctl_send_at(ctl, msg, uv_hrtime());
}

int ctl_send_at(ctl_t *ctl, const cJSON *msg, uint64_t t)
{
  char stamp[40];
  char *json;
  size_t n;
  int err;

  if (!ctl->open)
    return UV_EPIPE;
  json = cJSON_PrintUnformatted(msg);
  if (json == NULL)
    return UV_ENOMEM;
  n = strlen(json);
  /* Digits written by hand: a double would round nanoseconds beyond 2^53,
   * as Node's agents avoid with BigInt. */
  snprintf(stamp, sizeof(stamp), "\"t\":%" PRIu64 "}\n", t);
  if (n < 2 || json[n - 1] != '}') {
    cJSON_free(json);
    return UV_EINVAL;
  }
  if (ctl->out.len + ctl->flight.len + n + sizeof(stamp) > CTL_MAX_PENDING) {
    cJSON_free(json);
    fprintf(stderr, "clustersim: the harness stopped reading the control "
                    "socket\n");
    ctl_lost(ctl);
    return UV_ENOBUFS;
  }
  err = base_buf_append(&ctl->out, json, n - 1);
  if (err == 0 && n > 2)
    err = base_buf_append(&ctl->out, ",", 1);
  if (err == 0)
    err = base_buf_appends(&ctl->out, stamp);
  cJSON_free(json);
  if (err != 0)
    return err;
  ctl_kick(ctl);
  return 0;
}

static int ctl_write_all(int fd, const char *p, size_t n, uint64_t deadline)
{
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd pfd = { .fd = fd, .events = POLLOUT };
      uint64_t now = uv_hrtime();
      if (now >= deadline)
        return UV_ETIMEDOUT;
      (void)poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
      continue;
    }
    return w < 0 ? -errno : UV_EIO;
  }
  return 0;
}

void ctl_flush_before_exit(ctl_t *ctl, unsigned ms)
{
  uint64_t deadline = uv_hrtime() + (uint64_t)ms * 1000000u;
  uv_os_fd_t fd;
  size_t done = 0;

  if (!ctl->open ||
      uv_fileno((uv_handle_t *)&ctl->pipe, &fd) != 0) {
    ctl_shut(ctl);
    return;
  }
  /* libuv counts the bytes of the write in flight that it has not written
   * yet; the rest of that write and everything after it go out here. */
  done = ctl->flight.len;
  if (ctl->writing && ctl->pipe.write_queue_size <= ctl->flight.len)
    done = ctl->flight.len - ctl->pipe.write_queue_size;
  if (ctl_write_all(fd, ctl->flight.base + done, ctl->flight.len - done,
                    deadline) == 0)
    (void)ctl_write_all(fd, ctl->out.base, ctl->out.len, deadline);
  ctl->flight.len = 0;
  ctl->out.len = 0;
  /* Nothing may be written twice: the connection ends here. */
  ctl_shut(ctl);
}

/* ---------------------------------------------------------------------- */
/* Open and close                                                          */

int ctl_open(uv_loop_t *loop, ctl_t *ctl, const char *path,
             ctl_line_cb on_line, ctl_lost_cb on_lost)
{
  struct sockaddr_un sa;
  int fd, err;

  memset(ctl, 0, sizeof(*ctl));
  ctl->on_line = on_line;
  ctl->on_lost = on_lost;
  base_lines_init(&ctl->in, CTL_MAX_LINE, ctl_on_lines);
  ctl->in.data = ctl;
  if (strlen(path) >= sizeof(sa.sun_path))
    return UV_ENAMETOOLONG;
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, strlen(path) + 1);
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
  ctl->handle_init = 1;
  ctl->pipe.data = ctl;
  err = uv_pipe_open(&ctl->pipe, fd);
  if (err != 0) {
    close(fd);
    uv_close((uv_handle_t *)&ctl->pipe, ctl_on_closed);
    return err;
  }
  err = uv_read_start((uv_stream_t *)&ctl->pipe, ctl_on_alloc, ctl_on_read);
  if (err != 0) {
    uv_close((uv_handle_t *)&ctl->pipe, ctl_on_closed);
    return err;
  }
  ctl->open = 1;
  return 0;
}

void ctl_close(ctl_t *ctl)
{
  ctl_shut(ctl);
}
