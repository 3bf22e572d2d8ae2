/*
 * serdes-test.c - hex, PATH lookup and a bounded child process runner for
 * the codec's tests (serdes-test.h).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "serdes-test.h"

char *st_hex(const uint8_t *data, size_t n)
{
  static const char digits[] = "0123456789abcdef";
  char *s = malloc(n * 2 + 1);

  if (s == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = digits[data[i] >> 4];
    s[2 * i + 1] = digits[data[i] & 15];
  }
  s[n * 2] = '\0';
  return s;
}

static int nibble(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
    return (c | 0x20) - 'a' + 10;
  return -1;
}

uint8_t *st_unhex(const char *hex, size_t *n)
{
  uint8_t *b = malloc(strlen(hex) / 2 + 1);
  size_t k = 0;
  int hi = -1;

  for (const char *p = hex; b != NULL && *p != '\0'; p++) {
    int x = nibble(*p);
    if (*p == ' ')
      continue;
    if (x < 0) {
      free(b);
      return NULL;
    }
    if (hi < 0) {
      hi = x;
    } else {
      b[k++] = (uint8_t)(hi << 4 | x);
      hi = -1;
    }
  }
  if (hi >= 0) {
    free(b);
    return NULL;
  }
  *n = k;
  return b;
}

const char *st_which(const char *name)
{
  static char found[4096];
  const char *path = getenv("PATH");

  while (path != NULL && *path != '\0') {
    const char *colon = strchr(path, ':');
    size_t n = colon != NULL ? (size_t)(colon - path) : strlen(path);

    if (n > 0 && n + strlen(name) + 2 < sizeof(found)) {
      memcpy(found, path, n);
      found[n] = '/';
      strcpy(found + n + 1, name);
      if (access(found, X_OK) == 0)
        return found;
    }
    path = colon != NULL ? colon + 1 : NULL;
  }
  return NULL;
}

static uint64_t now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Feeds `input` and drains stdout until both are done or time runs out.
 * 0 when done. */
static int pump(int in, int out, const char *input, char **buf, size_t *len,
                uint64_t deadline)
{
  size_t off = 0, cap = 4096, ilen = input != NULL ? strlen(input) : 0;

  *buf = malloc(cap);
  *len = 0;
  if (*buf == NULL)
    return -1;
  if (ilen == 0)
    close(in), in = -1;
  while (out >= 0) {
    struct pollfd p[2] = { { out, POLLIN, 0 }, { in, POLLOUT, 0 } };
    uint64_t t = now_ms();
    ssize_t r;

    if (t >= deadline)
      return -1;             /* timed out */
    if (poll(p, in >= 0 ? 2 : 1, (int)(deadline - t)) < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (in >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      r = write(in, input + off, ilen - off);
      off += r > 0 ? (size_t)r : 0;
      if (r < 0 || off == ilen)
        close(in), in = -1;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (*len + 4096 >= cap) {
        char *nb = realloc(*buf, cap *= 2);
        if (nb == NULL)
          return -1;
        *buf = nb;
      }
      r = read(out, *buf + *len, cap - *len - 1);
      if (r <= 0)
        out = -1;
      else
        *len += (size_t)r;
    }
  }
  if (in >= 0)
    close(in);
  return 0;
}

int st_run(const char *const *argv, const char *input, char **output,
           unsigned timeout_ms)
{
  int to[2], from[2], status = 0, rc;
  size_t len = 0;
  uint64_t deadline;
  pid_t pid;

  *output = NULL;
  if (pipe(to) != 0)
    return -1;
  if (pipe(from) != 0) {
    close(to[0]);
    close(to[1]);
    return -1;
  }
  signal(SIGPIPE, SIG_IGN);
  pid = fork();
  if (pid == 0) {
    setpgid(0, 0);           /* killed as a group on timeout */
    dup2(to[0], 0);
    dup2(from[1], 1);
    close(to[0]);
    close(to[1]);
    close(from[0]);
    close(from[1]);
    execvp(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(to[0]);
  close(from[1]);
  if (pid < 0) {
    close(to[1]);
    close(from[0]);
    return -1;
  }
  setpgid(pid, pid);
  deadline = now_ms() + timeout_ms;
  rc = pump(to[1], from[0], input, output, &len, deadline);
  close(from[0]);
  if (*output != NULL)
    (*output)[len] = '\0';
  if (rc != 0)
    kill(-pid, SIGKILL);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (now_ms() >= deadline) {
      kill(-pid, SIGKILL);
      rc = -1;
    }
    usleep(5000);
  }
  /* Nothing it started outlives this call. */
  kill(-pid, SIGKILL);
  if (rc != 0)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
