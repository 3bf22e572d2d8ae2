/*
 * The per-run supervisor: a forked copy of the harness that runs no libuv
 * code, leaves the harness's session (setsid: a terminal's Ctrl-C, and a
 * signal or SIGKILL to the harness's process group, do not reach it),
 * makes itself a child subreaper, and forks the agent into a new process
 * group. Every process of the run therefore stays below it: when the agent
 * dies, its orphans are reparented to the supervisor rather than to init.
 * The supervisor reports every reaped process to the harness over a pipe,
 * and at the end SIGKILLs whatever is left of the tree and removes the
 * run's control socket and its directory.
 *
 * The harness holds the write end of the supervisor's command pipe. When
 * the harness dies in any way (SIGKILL included) the pipe reads EOF and
 * the supervisor kills and reaps the whole run before it exits itself; so
 * does SIGINT, SIGTERM, SIGHUP or SIGQUIT sent to the supervisor itself.
 * The agent has PR_SET_PDEATHSIG=SIGKILL towards the supervisor, so even a
 * SIGKILL of the supervisor takes the agent with it (and the workers then
 * leave on their IPC channel's EOF, as Node's do). docs/harness.md
 * describes the mechanism.
 *
 * The harness signals a process of the run only through
 * runner__super_signal, which checks, at the moment of the signal, that
 * the process is below the supervisor.
 *
 * The agent's stdout and stderr (and so its workers') go to one pipe that
 * the harness reads; its tail is kept for the report.
 */
#include "runner-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Records on the status pipe (supervisor -> harness). */
enum { REC_AGENT = 1, REC_REAPED = 2, REC_DONE = 3 };

typedef struct {
  int32_t type;
  int32_t pid;
  int32_t status;
  int32_t extra;
} rec_t;

/* Commands on the command pipe (harness -> supervisor). */
#define CMD_DRAIN 'D'   /* followed by a uint32_t grace in ms */
#define CMD_KILL  'K'

/* Agent output kept for the report (the tail). */
#define LOG_KEEP (32 * 1024)

/* Fixed descriptors inside the supervisor. */
#define FD_CMD    3
#define FD_STATUS 4
#define FD_LOG    5

struct runner__super_s {
  uv_loop_t *loop;
  int pid;
  char sock[300];            /* the run's control socket ("": none) */
  int cmd_fd;
  uv_pipe_t status;
  bool status_open;
  char buf[sizeof(rec_t) * 64];
  size_t len;
  runner__super_cbs_t cbs;
  void *arg;
  bool done_seen;
  unsigned killed;
  int failed;
  uv_pipe_t log;
  bool log_open;
  char *logbuf;
  size_t loglen;
};

/* ---------------------------------------------------------------------- */
/* Inside the supervisor: plain system calls only, no libuv, no stdio.     */

static void put(int fd, int32_t type, int32_t pid, int32_t status,
                int32_t extra)
{
  rec_t r = {type, pid, status, extra};
  ssize_t n;

  do
    n = write(fd, &r, sizeof(r));
  while (n < 0 && errno == EINTR);
}

static uint64_t now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Reaps every child that has ended; returns -1 once there are none left. */
static int reap(int agent)
{
  int status, pid, n = 0;

  for (;;) {
    pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      put(FD_STATUS, REC_REAPED, pid, status, pid == agent);
      n++;
      continue;
    }
    if (pid < 0 && errno == EINTR)
      continue;
    if (pid < 0 && errno == ECHILD)
      return -1;
    return n;
  }
}

/* Every live (non-zombie) process that is our child or in the run's
 * process group. Reads /proc/<pid>/stat: "pid (comm) S ppid pgrp ...". */
static size_t tree(int self, int pgrp, int *pids, size_t max)
{
  DIR *d = opendir("/proc");
  struct dirent *de;
  size_t n = 0;

  if (d == NULL)
    return 0;
  while ((de = readdir(d)) != NULL && n < max) {
    char path[64], buf[512], *p, state;
    int fd, ppid, grp;
    ssize_t len;

    if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
        strlen(de->d_name) > 20)
      continue;
    snprintf(path, sizeof(path), "/proc/%.20s/stat", de->d_name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue;
    len = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (len <= 0)
      continue;
    buf[len] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL || sscanf(p + 1, " %c %d %d", &state, &ppid, &grp) != 3)
      continue;
    if (state == 'Z' || state == 'X')
      continue;
    if (ppid == self || (pgrp > 0 && grp == pgrp))
      pids[n++] = atoi(de->d_name);
  }
  closedir(d);
  return n;
}

/* SIGKILLs the tree until nothing is left (bounded); returns how many
 * distinct processes were alive when it started. */
static unsigned kill_tree(int self, int agent, int sfd)
{
  int pids[1024], first[1024];
  size_t n, nfirst, i;
  unsigned round;

  nfirst = tree(self, agent, first, 1024);
  for (round = 0; round < 300; round++) {
    struct pollfd p = {sfd, POLLIN, 0};
    n = tree(self, agent, pids, 1024);
    if (agent > 0)
      (void)kill(-agent, SIGKILL);
    for (i = 0; i < n; i++)
      (void)kill(pids[i], SIGKILL);
    if (reap(agent) < 0 && n == 0)
      break;
    /* wake on SIGCHLD or every 10 ms */
    (void)poll(&p, 1, 10);
    if (p.revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        ;
    }
  }
  return (unsigned)nfirst;
}

/* fork() without the pthread_atfork handlers: libuv's handler would close
 * and re-create its signal pipe in the child, on descriptor numbers that
 * the supervisor has reused for the agent's output. The supervisor has a
 * single thread and the child only execs. */
static pid_t plain_fork(void)
{
  return (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
}

/* Reads the signals that arrived; true if one asks the run to end. */
static bool drain_signals(int sfd)
{
  struct signalfd_siginfo si;
  bool end = false;

  while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
    if (si.ssi_signo != SIGCHLD)
      end = true;
  return end;
}

/* The control socket and its private directory: nothing of the run is
 * left in TMPDIR, whoever ended it. */
static void remove_socket(const char *sock)
{
  char dir[300];
  char *slash;

  if (sock[0] == '\0')
    return;
  (void)unlink(sock);
  snprintf(dir, sizeof(dir), "%s", sock);
  slash = strrchr(dir, '/');
  if (slash != NULL && slash != dir) {
    *slash = '\0';
    (void)rmdir(dir);
  }
}

static void supervise(int agent, int sfd, const char *sock)
    __attribute__((noreturn));

static void supervise(int agent, int sfd, const char *sock)
{
  int self = getpid();
  uint64_t deadline = 0;
  bool draining = false;
  unsigned killed = 0;

  for (;;) {
    struct pollfd p[2] = {{FD_CMD, POLLIN, 0}, {sfd, POLLIN, 0}};
    int timeout = -1;
    bool kill_now = false;

    if (draining) {
      uint64_t t = now_ms();
      /* no child at all means no process of the run at all: a live
       * descendant always has a live ancestor below the subreaper */
      if (reap(agent) < 0)
        break;
      if (t >= deadline) {
        killed = kill_tree(self, agent, sfd);
        break;
      }
      timeout = (int)(deadline - t);
    }
    if (poll(p, 2, timeout) < 0 && errno != EINTR)
      kill_now = true;
    if ((p[1].revents & POLLIN) && drain_signals(sfd))
      kill_now = true;          /* interrupted: the run ends here */
    if (p[1].revents & POLLIN)
      (void)reap(agent);
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char c;
      ssize_t n = read(FD_CMD, &c, 1);
      if (n <= 0) {
        kill_now = true;        /* the harness is gone */
      } else if (c == CMD_DRAIN) {
        uint32_t grace = 0;
        if (read(FD_CMD, &grace, sizeof(grace)) != (ssize_t)sizeof(grace))
          grace = 0;
        draining = true;
        deadline = now_ms() + grace;
      } else {
        kill_now = true;
      }
    }
    if (kill_now) {
      killed = kill_tree(self, agent, sfd);
      break;
    }
  }
  (void)reap(agent);
  remove_socket(sock);
  put(FD_STATUS, REC_DONE, 0, (int32_t)killed, 0);
  _exit(0);
}

static void start_agent(char *const *argv, char *const *envp, int sfd)
    __attribute__((noreturn));

static void start_agent(char *const *argv, char *const *envp, int sfd)
{
  sigset_t none;
  int devnull;

  (void)setpgid(0, 0);
  /* the agent must not outlive its supervisor */
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* ignored signals stay ignored across exec: give the agent defaults */
  signal(SIGPIPE, SIG_DFL);
  devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0 && devnull != 0) {
    dup2(devnull, 0);
    close(devnull);
  }
  dup2(FD_LOG, 1);
  dup2(FD_LOG, 2);
  close(FD_CMD);
  close(FD_STATUS);
  close(FD_LOG);
  close(sfd);
  execvpe(argv[0], argv, envp);
  {
    const char *msg = "clustersim: cannot start the agent: ";
    const char *err = strerror(errno);
    (void)!write(2, msg, strlen(msg));
    (void)!write(2, argv[0], strlen(argv[0]));
    (void)!write(2, ": ", 2);
    (void)!write(2, err, strlen(err));
    (void)!write(2, "\n", 1);
  }
  _exit(127);
}

static void supervisor_main(int cmd, int status, int log, char *const *argv,
                            char *const *envp, const char *sock)
    __attribute__((noreturn));

static void supervisor_main(int cmd, int status, int log, char *const *argv,
                            char *const *envp, const char *sock)
{
  static const int ends[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  sigset_t chld;
  int fds[3] = {cmd, status, log}, hi[3], i, agent, sfd;

  /* Out of the harness's session and process group: what a terminal or a
   * kill(-pgrp) sends the harness must not end the supervisor before it
   * has ended the run. */
  (void)setsid();
  /* Signal dispositions and masks are the harness's (libuv's handlers):
   * back to the defaults, SIGPIPE ignored so that a dead harness shows as
   * EPIPE. SIGCHLD and the signals that end a process are read from the
   * signalfd: an interruption kills and reaps the run first. */
  for (i = 1; i < NSIG; i++)
    if (i != SIGKILL && i != SIGSTOP)
      signal(i, SIG_DFL);
  signal(SIGPIPE, SIG_IGN);
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  for (i = 0; i < (int)(sizeof(ends) / sizeof(ends[0])); i++)
    sigaddset(&chld, ends[i]);
  sigprocmask(SIG_SETMASK, &chld, NULL);

  /* Keep three descriptors at 3, 4, 5 and close everything else: the
   * harness's other runs must not leak into this one. */
  for (i = 0; i < 3; i++)
    hi[i] = fcntl(fds[i], F_DUPFD, 100);
  for (i = 0; i < 3; i++)
    if (hi[i] < 0 || dup2(hi[i], FD_CMD + i) < 0)
      _exit(3);
  if (close_range(FD_LOG + 1, ~0u, 0) != 0)
    for (i = FD_LOG + 1; i < 65536; i++)
      close(i);
  fcntl(FD_CMD, F_SETFD, FD_CLOEXEC);
  fcntl(FD_STATUS, F_SETFD, FD_CLOEXEC);
  fcntl(FD_LOG, F_SETFD, 0);

  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    put(FD_STATUS, REC_AGENT, -errno, 0, 0);
    _exit(3);
  }
  sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) {
    put(FD_STATUS, REC_AGENT, -errno, 0, 0);
    _exit(3);
  }
  agent = plain_fork();
  if (agent == 0)
    start_agent(argv, envp, sfd);
  if (agent < 0) {
    put(FD_STATUS, REC_AGENT, -errno, 0, 0);
    _exit(3);
  }
  (void)setpgid(agent, agent);
  close(FD_LOG);
  put(FD_STATUS, REC_AGENT, agent, 0, 0);
  supervise(agent, sfd, sock);
}

/* ---------------------------------------------------------------------- */
/* In the harness                                                          */

static void on_status_close(uv_handle_t *h)
{
  runner__super_t *s = h->data;
  int st;

  /* the supervisor has closed its end: it has exited or is exiting */
  while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (!s->done_seen)
    s->failed = 1;
  if (s->cbs.done != NULL)
    s->cbs.done(s, s->killed, s->failed, s->arg);
}

static void on_status_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  runner__super_t *s = h->data;

  (void)hint;
  buf->base = s->buf + s->len;
  buf->len = sizeof(s->buf) - s->len;
}

static void on_status_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
  runner__super_t *s = st->data;
  size_t off = 0;

  (void)buf;
  if (n < 0) {
    uv_read_stop(st);
    if (s->status_open) {
      s->status_open = false;
      uv_close((uv_handle_t *)&s->status, on_status_close);
    }
    return;
  }
  s->len += (size_t)n;
  while (s->len - off >= sizeof(rec_t)) {
    rec_t r;
    memcpy(&r, s->buf + off, sizeof(r));
    off += sizeof(r);
    if (r.type == REC_REAPED && s->cbs.reaped != NULL)
      s->cbs.reaped(s, r.pid, r.status, s->arg);
    else if (r.type == REC_DONE) {
      s->done_seen = true;
      s->killed = (unsigned)r.status;
    }
  }
  memmove(s->buf, s->buf + off, s->len - off);
  s->len -= off;
}

static int read_agent_pid(int fd, int *pid)
{
  struct pollfd p = {fd, POLLIN, 0};
  rec_t r;
  size_t got = 0;
  ssize_t n;

  /* The supervisor writes this record right after its fork: a short,
   * bounded wait. */
  while (got < sizeof(r)) {
    int pr = poll(&p, 1, 10000);
    if (pr < 0 && errno == EINTR)
      continue;
    if (pr <= 0)
      return UV_ETIMEDOUT;
    n = read(fd, (char *)&r + got, sizeof(r) - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return UV_EPIPE;
    got += (size_t)n;
  }
  if (r.type != REC_AGENT)
    return UV_EPROTO;
  if (r.pid <= 0)
    return r.pid < 0 ? r.pid : UV_ESRCH;
  *pid = r.pid;
  return 0;
}

/* The agent's environment: the harness's, with the extra "K=V" strings
 * replacing variables of the same name. Built before the fork: the
 * supervisor only calls exec. The strings are borrowed. */
static char **agent_env(char *const *env)
{
  extern char **environ;
  size_t n_env = 0, n_extra = 0, i, j, k;
  char **envp;

  while (environ[n_env] != NULL)
    n_env++;
  while (env != NULL && env[n_extra] != NULL)
    n_extra++;
  envp = calloc(n_env + n_extra + 1, sizeof(char *));
  if (envp == NULL)
    return NULL;
  for (i = 0, k = 0; i < n_env; i++) {
    const char *eq = strchr(environ[i], '=');
    size_t name_len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
    bool replaced = false;
    for (j = 0; j < n_extra && !replaced; j++)
      replaced = strncmp(env[j], environ[i], name_len) == 0 &&
                 env[j][name_len] == '=';
    if (!replaced)
      envp[k++] = environ[i];
  }
  for (i = 0; i < n_extra; i++)
    envp[k++] = env[i];
  envp[k] = NULL;
  return envp;
}

static void on_log_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  static char scratch[16384];

  (void)h;
  (void)hint;
  buf->base = scratch;
  buf->len = sizeof(scratch);
}

static void on_log_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
  runner__super_t *s = st->data;

  if (n < 0) {
    uv_read_stop(st);
    return;
  }
  if (s->logbuf == NULL)
    s->logbuf = malloc(LOG_KEEP * 2);
  if (s->logbuf == NULL)
    return;
  /* keep the tail: the end of a log says why a process died */
  if ((size_t)n >= LOG_KEEP) {
    memcpy(s->logbuf, buf->base + n - LOG_KEEP, LOG_KEEP);
    s->loglen = LOG_KEEP;
    return;
  }
  if (s->loglen + (size_t)n > LOG_KEEP * 2) {
    size_t drop = s->loglen + (size_t)n - LOG_KEEP;
    memmove(s->logbuf, s->logbuf + drop, s->loglen - drop);
    s->loglen -= drop;
  }
  memcpy(s->logbuf + s->loglen, buf->base, (size_t)n);
  s->loglen += (size_t)n;
}

/* The harness's side once the supervisor has said the agent's pid. */
static void watch(runner__super_t *s, int status_fd, int log_fd)
{
  uv_pipe_init(s->loop, &s->status, 0);
  s->status.data = s;
  uv_pipe_open(&s->status, status_fd);
  s->status_open = true;
  uv_read_start((uv_stream_t *)&s->status, on_status_alloc, on_status_read);
  uv_pipe_init(s->loop, &s->log, 0);
  s->log.data = s;
  s->log_open = true;
  if (uv_pipe_open(&s->log, log_fd) == 0)
    uv_read_start((uv_stream_t *)&s->log, on_log_alloc, on_log_read);
  else
    close(log_fd);
}

/* The path of the run's control socket, from the agent's environment. */
static void control_socket(char *const *env, char *buf, size_t len)
{
  static const char key[] = "CLUSTERSIM_CONTROL=";
  size_t i;

  buf[0] = '\0';
  for (i = 0; env != NULL && env[i] != NULL; i++)
    if (strncmp(env[i], key, sizeof(key) - 1) == 0)
      snprintf(buf, len, "%s", env[i] + sizeof(key) - 1);
}

int runner__super_start(uv_loop_t *loop, char *const *argv, char *const *env,
                        const runner__super_cbs_t *cbs, void *arg,
                        runner__super_t **out, int *agent_pid)
{
  runner__super_t *s = NULL;
  int cmd[2] = {-1, -1}, status[2] = {-1, -1}, log[2] = {-1, -1};
  char **envp = agent_env(env);
  int rc, pid, i;

  *out = NULL;
  s = calloc(1, sizeof(*s));
  if (envp == NULL || s == NULL) {
    rc = UV_ENOMEM;
    goto out;
  }
  control_socket(env, s->sock, sizeof(s->sock));
  if (pipe2(cmd, O_CLOEXEC) != 0 || pipe2(status, O_CLOEXEC) != 0 ||
      pipe2(log, O_CLOEXEC) != 0) {
    rc = -errno;
    goto out;
  }
  pid = fork();
  if (pid < 0) {
    rc = -errno;
    goto out;
  }
  if (pid == 0)
    supervisor_main(cmd[0], status[1], log[1], argv, envp, s->sock);

  close(cmd[0]);
  close(status[1]);
  close(log[1]);
  cmd[0] = status[1] = log[1] = -1;
  s->pid = pid;
  s->cmd_fd = cmd[1];
  cmd[1] = -1;
  s->loop = loop;
  s->cbs = *cbs;
  s->arg = arg;
  rc = read_agent_pid(status[0], agent_pid);
  if (rc != 0) {
    int st;
    close(s->cmd_fd);
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
      ;
    goto out;
  }
  watch(s, status[0], log[0]);
  status[0] = log[0] = -1;
  *out = s;
  s = NULL;

out:
  for (i = 0; i < 2; i++) {
    if (cmd[i] >= 0)
      close(cmd[i]);
    if (status[i] >= 0)
      close(status[i]);
    if (log[i] >= 0)
      close(log[i]);
  }
  free(s);
  free(envp);
  return rc;
}

/* The parent of `pid` by /proc/<pid>/stat ("pid (comm) S ppid ..."); -1
 * when it is gone. */
static int parent_of(int pid)
{
  char path[64], buf[512], *p, state;
  int fd, ppid;
  ssize_t len;

  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  len = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (len <= 0)
    return -1;
  buf[len] = '\0';
  p = strrchr(buf, ')');
  if (p == NULL || sscanf(p + 1, " %c %d", &state, &ppid) != 2)
    return -1;
  return ppid;
}

/* Whether `pid` is a descendant of `ancestor` (not `ancestor` itself). */
static bool below(int pid, int ancestor)
{
  int depth;

  /* a run's tree is shallow; a longer chain is not the run's */
  for (depth = 0; depth < 64 && pid > 1; depth++) {
    pid = parent_of(pid);
    if (pid == ancestor)
      return true;
  }
  return false;
}

/* -pgid: a group, only one whose leader is below the supervisor (the
 * leader checked as a pid is; its group is the one it leads). */
static int signal_group(const runner__super_t *s, int pgid, int sig)
{
  if (!below(pgid, s->pid) || getpgid(pgid) != pgid)
    return UV_EPERM;
  return kill(-pgid, sig) == 0 ? 0 : -errno;
}

int runner__super_signal(const runner__super_t *s, int pid, int sig)
{
  int fd, rc = 0;

  if (s != NULL && pid < -1)
    return signal_group(s, -pid, sig);
  if (s == NULL || pid <= 0)
    return UV_ESRCH;
  /* The pidfd pins the process: if it dies after the check and its pid
   * is reused, the signal goes nowhere (ESRCH) rather than to the
   * newcomer. */
  fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0 && errno != ENOSYS)
    return -errno;
  if (!below(pid, s->pid))
    rc = UV_EPERM;
  else if (fd >= 0 && syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) != 0)
    rc = -errno;
  else if (fd < 0 && kill(pid, sig) != 0)
    rc = -errno;
  if (fd >= 0)
    close(fd);
  return rc;
}

static void send_cmd(runner__super_t *s, const void *buf, size_t len)
{
  ssize_t n;

  if (s->cmd_fd < 0)
    return;
  do
    n = write(s->cmd_fd, buf, len);
  while (n < 0 && errno == EINTR);
}

void runner__super_drain(runner__super_t *s, unsigned grace_ms)
{
  char buf[1 + sizeof(uint32_t)];
  uint32_t g = grace_ms;

  buf[0] = CMD_DRAIN;
  memcpy(buf + 1, &g, sizeof(g));
  send_cmd(s, buf, sizeof(buf));
}

void runner__super_kill(runner__super_t *s)
{
  char c = CMD_KILL;

  send_cmd(s, &c, 1);
}

static void on_log_closed(uv_handle_t *h)
{
  runner__super_t *s = h->data;

  if (s->cbs.closed != NULL)
    s->cbs.closed(s, s->arg);
}

void runner__super_close(runner__super_t *s)
{
  if (s == NULL || !s->log_open)
    return;
  s->log_open = false;
  uv_close((uv_handle_t *)&s->log, on_log_closed);
}

char *runner__super_log(const runner__super_t *s)
{
  if (s == NULL || s->logbuf == NULL || s->loglen == 0)
    return NULL;
  return strndup(s->logbuf, s->loglen);
}

void runner__super_free(runner__super_t *s)
{
  if (s == NULL)
    return;
  if (s->cmd_fd >= 0)
    close(s->cmd_fd);
  free(s->logbuf);
  free(s);
}
