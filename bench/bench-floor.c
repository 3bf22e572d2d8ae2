/*
 * bench-floor.c - what the kernel alone costs: the floors that the C
 * cluster's figures are compared with in the same run.
 *
 * Two processes, a UNIX stream socketpair, blocking read(2)/write(2) and
 * the same one-line JSON messages the cluster sends; no event loop, no
 * JSON parser. floor-spawn is fork(2)+execve(2) of this same binary, whose
 * first act is one `online` line on fd 3, as a worker's is.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define FLOOR_CHUNK 65536

static const char online_line[] =
    "{\"cmd\":\"NODE_CLUSTER\",\"act\":\"online\",\"seq\":0}\n";

static int floor_write_all(int fd, const char *p, size_t n)
{
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* With an event loop's poll before every read (floor-pingpong-epoll):
 * the epoll instance of the calling process, or -1 for blocking reads. */
static int floor_epfd = -1;

static void floor_wait(int fd)
{
  struct epoll_event ev;

  if (floor_epfd < 0)
    return;
  while (epoll_wait(floor_epfd, &ev, 1, -1) < 0 && errno == EINTR)
    ;
  (void)fd;
}

static int floor_epoll(int fd)
{
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

  floor_epfd = epoll_create1(EPOLL_CLOEXEC);
  if (floor_epfd < 0 || epoll_ctl(floor_epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
    return -1;
  return 0;
}

/* Reads until the data ends with a newline; the length, or -1. */
static ssize_t floor_read_line(int fd, char *buf, size_t cap)
{
  size_t len = 0;

  for (;;) {
    ssize_t r;
    floor_wait(fd);
    r = read(fd, buf + len, cap - len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    len += (size_t)r;
    if (buf[len - 1] == '\n')
      return (ssize_t)len;
    if (len == cap)
      return -1;
  }
}

static pid_t floor_fork_pair(int sv[2])
{
  pid_t pid;

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return -1;
  pid = fork();
  if (pid < 0) {
    close(sv[0]);
    close(sv[1]);
  }
  return pid;
}

static void floor_reap(pid_t pid)
{
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

/* The echo of the C and Node workers: {"echo":<message>}. */
static void floor_echo(int fd)
{
  char in[512], out[600];
  ssize_t len;

  while ((len = floor_read_line(fd, in, sizeof(in))) > 0) {
    int m = snprintf(out, sizeof(out), "{\"echo\":%.*s}\n", (int)(len - 1),
                     in);
    if (floor_write_all(fd, out, (size_t)m) != 0)
      break;
  }
}

static int floor_pingpong(unsigned n, int epoll)
{
  char in[600], out[64];
  double t0, t;
  unsigned i;
  int sv[2];
  pid_t pid = floor_fork_pair(sv);

  if (pid < 0)
    return 1;
  if (pid == 0) {
    close(sv[0]);
    if (!epoll || floor_epoll(sv[1]) == 0)
      floor_echo(sv[1]);
    _exit(0);
  }
  close(sv[1]);
  if (epoll && floor_epoll(sv[0]) != 0)
    n = 0;
  t0 = bench_now();
  for (i = 0; i < n; i++) {
    int m = snprintf(out, sizeof(out), "{\"n\":%u}\n", i);
    if (floor_write_all(sv[0], out, (size_t)m) != 0 ||
        floor_read_line(sv[0], in, sizeof(in)) < 0)
      break;
  }
  t = bench_now() - t0;
  close(sv[0]);
  floor_reap(pid);
  if (i < n)
    return 1;
  bench_figure("ipc.pingpong", epoll ? "floor-epoll" : "floor", "rtt/s",
               n / t);
  return 0;
}

/* The writer of floor-oneway: `n` lines {"n":i}, a socket buffer's worth
 * per write. */
static void floor_flood(int fd, unsigned n)
{
  static char buf[FLOOR_CHUNK];
  size_t len = 0;
  char go;

  if (read(fd, &go, 1) != 1)
    return;
  for (unsigned i = 0; i < n; i++) {
    if (len + 32 > sizeof(buf)) {
      if (floor_write_all(fd, buf, len) != 0)
        return;
      len = 0;
    }
    len += (size_t)snprintf(buf + len, 32, "{\"n\":%u}\n", i);
  }
  (void)floor_write_all(fd, buf, len);
}

static int floor_oneway(unsigned n)
{
  static char buf[FLOOR_CHUNK];
  unsigned lines = 0;
  double t0, t;
  int sv[2];
  pid_t pid = floor_fork_pair(sv);

  if (pid < 0)
    return 1;
  if (pid == 0) {
    close(sv[0]);
    floor_flood(sv[1], n);
    _exit(0);
  }
  close(sv[1]);
  t0 = bench_now();
  if (write(sv[0], "g", 1) != 1)
    lines = n + 1;
  while (lines < n) {
    ssize_t r = read(sv[0], buf, sizeof(buf));
    const char *p = buf, *end = buf + (r > 0 ? r : 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
      lines++;
      p++;
    }
  }
  t = bench_now() - t0;
  close(sv[0]);
  floor_reap(pid);
  if (lines != n)
    return 1;
  bench_figure("ipc.oneway.up", "floor", "msgs/s", n / t);
  return 0;
}

static int floor_spawn(unsigned runs, const char *self)
{
  char line[256];

  for (unsigned r = 0; r < runs; r++) {
    int sv[2];
    double t0 = bench_now();
    pid_t pid = floor_fork_pair(sv);
    ssize_t len;

    if (pid < 0)
      return 1;
    if (pid == 0) {
      /* dup2() onto itself would keep close-on-exec. */
      if (sv[1] == 3)
        (void)fcntl(3, F_SETFD, 0);
      else if (dup2(sv[1], 3) != 3)
        _exit(127);
      execl(self, self, "floor-child", (char *)NULL);
      _exit(127);
    }
    close(sv[1]);
    len = floor_read_line(sv[0], line, sizeof(line));
    if (len > 0)
      bench_figure("start.fork-online", "floor", "ms",
                   (bench_now() - t0) * 1e3);
    close(sv[0]);
    floor_reap(pid);
    if (len <= 0)
      return 1;
  }
  return 0;
}

int bench_floor_child(void)
{
  return floor_write_all(3, online_line, sizeof(online_line) - 1) == 0 ? 0
                                                                       : 1;
}

int bench_floor_main(const char *mode, unsigned n, const char *self)
{
  if (strcmp(mode, "floor-pingpong") == 0)
    return floor_pingpong(n, 0);
  if (strcmp(mode, "floor-pingpong-epoll") == 0)
    return floor_pingpong(n, 1);
  if (strcmp(mode, "floor-oneway") == 0)
    return floor_oneway(n);
  if (strcmp(mode, "floor-spawn") == 0)
    return floor_spawn(n, self);
  fprintf(stderr, "bench-cluster: unknown floor mode %s\n", mode);
  return 2;
}
