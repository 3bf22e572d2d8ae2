/*
 * fuzz-ipc.c - libFuzzer target for the IPC channel's reading side
 * (sim/sim-channel.c): lines, V8 frames and the descriptors that come with
 * them, as a peer would send them.
 *
 * The input is written, chunk by chunk, into one end of a real socketpair
 * whose other end is a channel on a real loop (both serializations); each
 * chunk may carry descriptors (a TCP or UDP socket, a regular file, two at
 * once) with SCM_RIGHTS, and the loop reads it before the next one is
 * sent, so each chunk is one read of the channel. The channel may also
 * have a handle of its own in flight (so that ACKs are due) and pause
 * delivery after any message. Whatever the bytes: no crash, no leak (every
 * handle and buffer is released when the channel has closed), bounded
 * time; the channel fails or delivers, nothing else.
 *
 * (A regular file sent is this executable: a leak is recognisable.)
 *
 * Input: byte 0 picks the mode (bit 0: 'advanced', bit 1: a handle in
 * flight first, bit 2: pause after every message); then chunks of a
 * header byte (bits 0-1: descriptor kind, none/TCP/UDP/file; bit 2: two
 * of them; bits 3-7: nothing) and a length byte (n: n + 1 bytes follow, or
 * what is left).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uv_loop_t *loop;
static sim__tick_t tick;
static unsigned seq;
static struct stat exe;

static struct {
  sim__channel_t ch;
  int closed;
  int pause;
  int messages;
} f;

static void drop(uv_handle_t *handle)
{
  if (handle != NULL)
    uv_close(handle, sim__close_free);
}

/* A user message and a cluster message alike; a cluster message may bring
 * any kind of handle (a UDP socket among them). */
static void on_any(sim__channel_t *ch, const cJSON *msg, uv_handle_t *handle)
{
  /* What reaches a user must print (a trace shows it). */
  char *s = cJSON_PrintUnformatted(msg);

  if (msg == NULL || s == NULL)
    abort();
  free(s);
  drop(handle);
  f.messages++;
  if (f.pause)
    sim__channel_pause(ch);
}

static void on_message(sim__channel_t *ch, const cJSON *msg,
                       uv_stream_t *handle)
{
  on_any(ch, msg, (uv_handle_t *)handle);
}

static void on_internal(sim__channel_t *ch, const cJSON *msg,
                        uv_handle_t *handle)
{
  on_any(ch, msg, handle);
}

static void on_disconnect(sim__channel_t *ch)
{
  (void)ch;
}

static void on_error(sim__channel_t *ch, int err, const char *code,
                     const char *text)
{
  if (err >= 0 || code == NULL || text == NULL)
    abort();
  sim__channel_disconnect(ch);
}

static void on_closed(sim__channel_t *ch)
{
  (void)ch;
  f.closed = 1;
}

static const sim__channel_ops_t ops = {
  .message = on_message,
  .internal = on_internal,
  .disconnect = on_disconnect,
  .error = on_error,
  .closed = on_closed,
};

static int descriptor(int kind)
{
  switch (kind) {
  case 1:
    return socket(AF_INET, SOCK_STREAM, 0);
  case 2:
    return socket(AF_INET, SOCK_DGRAM, 0);
  default:
    return open("/proc/self/exe", O_RDONLY);
  }
}

/* A descriptor of a kind the inputs send (a socket, this executable) still
 * open once the channel has closed: the lowest numbers are where a leak
 * would be (the loop itself holds no socket). */
static int leaked(void)
{
  for (int fd = 3; fd < 64; fd++) {
    struct stat st;
    if (fstat(fd, &st) != 0)
      continue;
    if (S_ISSOCK(st.st_mode) ||
        (st.st_ino == exe.st_ino && st.st_dev == exe.st_dev))
      return 1;
  }
  return 0;
}

/* One chunk, with its descriptors, in one sendmsg. */
static void put(int fd, const uint8_t *p, size_t n, int kind, int two)
{
  char cbuf[CMSG_SPACE(2 * sizeof(int))];
  struct iovec iov = { (void *)p, n };
  struct msghdr mh = { 0 };
  int fds[2] = { -1, -1 };

  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (kind != 0) {
    struct cmsghdr *c;
    fds[0] = descriptor(kind);
    fds[1] = two ? descriptor(kind) : -1;
    memset(cbuf, 0, sizeof(cbuf));
    mh.msg_control = cbuf;
    mh.msg_controllen = CMSG_SPACE((two ? 2 : 1) * sizeof(int));
    c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN((two ? 2 : 1) * sizeof(int));
    memcpy(CMSG_DATA(c), fds, (two ? 2 : 1) * sizeof(int));
  }
  (void)sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
  for (int i = 0; i < 2; i++)
    if (fds[i] >= 0)
      close(fds[i]);
}

/* A handle of the channel's own, in flight: later messages queue behind
 * it and an ACK is due. */
static uv_tcp_t *send_handle(void)
{
  uv_tcp_t *t = malloc(sizeof(*t));
  cJSON *m = cJSON_CreateObject();

  if (t == NULL || m == NULL || uv_tcp_init(loop, t) != 0)
    abort();
  if (uv_tcp_open(t, socket(AF_INET, SOCK_STREAM, 0)) == 0) {
    cJSON_AddStringToObject(m, "x", "handle");
    (void)sim__channel_send(&f.ch, m, (uv_stream_t *)t, NULL, NULL);
    (void)sim__channel_send(&f.ch, m, NULL, NULL, NULL);
  }
  cJSON_Delete(m);
  return t;
}

static void turn(void)
{
  /* Twice: a read, then what it deferred. */
  uv_run(loop, UV_RUN_NOWAIT);
  uv_run(loop, UV_RUN_NOWAIT);
  if (f.ch.paused)
    sim__channel_resume(&f.ch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  uv_tcp_t *own = NULL;
  size_t i = 1;
  int sv[2];

  if (size == 0)
    return 0;
  if (loop == NULL) {
    loop = uv_default_loop();
    if (stat("/proc/self/exe", &exe) != 0)
      abort();
    if (sim__tick_init(loop, &tick) != 0)
      abort();
  }
  memset(&f, 0, sizeof(f));
  f.pause = (data[0] & 4) != 0;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
      sim__channel_init(loop, &f.ch, &ops, &tick, &seq) != 0)
    abort();
  if (data[0] & 1)
    sim__channel_set_advanced(&f.ch);
  if (sim__channel_open(&f.ch, sv[0]) != 0 || sim__channel_start(&f.ch) != 0)
    abort();
  if (data[0] & 2)
    own = send_handle();
  while (i < size && !f.ch.pipe_closing) {
    int h = data[i++];
    size_t n = i < size ? (size_t)data[i++] + 1 : 0;
    if (n > size - i)
      n = size - i;
    put(sv[1], data + i, n, h & 3, (h & 4) != 0);
    i += n;
    turn();
  }
  close(sv[1]);
  /* The end of the stream, then the end of the channel. */
  for (int k = 0; k < 8 && !f.ch.pipe_closing; k++)
    turn();
  sim__channel_close(&f.ch);
  if (own != NULL)
    uv_close((uv_handle_t *)own, sim__close_free);
  /* Closed, nothing deferred left that could name it, every handle
   * closed (a received one included). */
  while (!f.closed || tick.head != NULL || uv_loop_alive(loop))
    uv_run(loop, UV_RUN_NOWAIT);
  /* Every descriptor the peer sent is closed. */
  if (leaked())
    abort();
  return 0;
}
