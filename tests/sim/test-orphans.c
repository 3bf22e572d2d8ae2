/*
 * test-orphans.c - workers do not outlive their primary (Node's worker-side
 * automatic exit on an unexpected disconnect; Node's
 * test-cluster-primary-kill.js).
 *
 * A forked helper becomes a sim primary with a few workers and reports
 * their pids; the case SIGKILLs the helper. The case process is a child
 * subreaper, so the orphaned workers become its children and their exit
 * status can be read: each must exit 0 on its own (EOF on the channel),
 * within a bounded wait. A SIGSTOPped worker cannot see the EOF until it
 * is continued; a worker whose loop is blocked sees it once the loop runs
 * again. Both then exit 0.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "simtest.h"

#define TIMEOUT_MS 15000u
#define MAX_WORKERS 4

typedef struct {
  const char *name;
  int workers;
  int stopped;               /* worker (1-based) SIGSTOPped, 0: none */
  int hung;                  /* worker (1-based) blocking its loop, 0 */
  int bare;                  /* 1: bare sim_child workers (--sim-worker) */
} row_t;

static const row_t rows[] = {
  { "primary_sigkill_workers_exit_0", 2, 0, 0, 0 },
  { "primary_sigkill_stopped_worker_exits_0_after_sigcont", 3, 3, 0, 0 },
  { "primary_sigkill_hung_worker_exits_0_after_hang", 2, 0, 2, 0 },
  /* The library's own exit(0) on EOF, without the agent. */
  { "primary_sigkill_bare_sim_workers_exit_0", 2, 0, 0, 1 },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const row_t *row;

/* ---------------------------------------------------------------------- */
/* The helper primary (a forked child of the case, not exec'd)             */

static struct {
  uv_loop_t loop;
  sim_cluster_t cluster;
  st_ctl_t ctl;
  int fd;
  int listening;
} H;

static void report_pids(void)
{
  char line[128] = "";

  for (int id = 1; id <= row->workers; id++) {
    size_t n = strlen(line);
    snprintf(line + n, sizeof(line) - n, "%d ",
             sim_worker_pid(sim_cluster_worker(&H.cluster, (unsigned)id)));
  }
  strcat(line, "\n");
  if (write(H.fd, line, strlen(line)) < 0)
    _exit(5);
}

static void helper_observe(st_ctl_t *ctl, unsigned id, const char *what,
                           const cJSON *obs)
{
  /* The hung worker is blocked now (it reports a fault, then applies
   * it): time for the primary to go. */
  if (row->hung != 0 && id == (unsigned)row->hung &&
      strcmp(what, "fault") == 0)
    report_pids();
}

static void helper_event(sim_cluster_t *c, const sim_event_t *ev)
{
  if (ev->type != SIM_EV_LISTENING || ev->emitter != SIM_ON_CLUSTER ||
      ++H.listening != row->workers)
    return;
  if (row->hung != 0)
    (void)st_ctl_fault(&H.ctl, (unsigned)row->hung,
                       "{\"cmd\":\"hang\",\"ms\":1500}");
  else
    report_pids();
}

static void helper_primary(int fd)
{
  static const char *const args[] = { "worker", "--http", "127.0.0.1:0",
                                      NULL };
  static const char *const bare[] = { "--sim-worker", "listen", NULL };
  const char *env[2] = { NULL, NULL };
  sim_settings_t s = { 0 };
  sim_worker_t *w;

  /* Bounded even if the case never kills it. */
  alarm(30);
  H.fd = fd;
  if (uv_loop_init(&H.loop) != 0 ||
      sim_cluster_init(&H.loop, &H.cluster, helper_event) != 0 ||
      st_ctl_start(&H.loop, &H.ctl, helper_observe) != 0)
    _exit(6);
  env[0] = H.ctl.env;
  s.exec = row->bare ? st_self() : st_clustersim();
  s.args = row->bare ? bare : args;
  s.env = env;
  (void)sim_cluster_setup(&H.cluster, &s);
  for (int i = 0; i < row->workers; i++)
    (void)sim_cluster_fork(&H.cluster, NULL, &w);
  uv_run(&H.loop, UV_RUN_DEFAULT);
  _exit(7);
}

/* ---------------------------------------------------------------------- */

static uint64_t now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void pause_ms(unsigned ms)
{
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

/* Reaps `pid` (our child since we are a subreaper) within `ms`: 1 and
 * its status, or 0 if it is still there. */
static int reap(pid_t pid, int *status, unsigned ms)
{
  uint64_t end = now_ms() + ms;

  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid)
      return 1;
    if (r < 0 && errno != EINTR)
      return -1;
    if (now_ms() >= end)
      return 0;
    pause_ms(5);
  }
}

static char proc_state(pid_t pid)
{
  char path[64], buf[256];
  FILE *f;
  char *p;

  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  f = fopen(path, "r");
  if (f == NULL)
    return '-';
  p = fgets(buf, sizeof(buf), f);
  fclose(f);
  if (p == NULL || (p = strrchr(buf, ')')) == NULL || p[1] == '\0')
    return '?';
  return p[2];
}

static void row_body(void)
{
  int fds[2];
  pid_t helper, pids[MAX_WORKERS] = { 0 };
  char buf[256] = "";
  size_t len = 0;
  int status, n = 0;
  char *p;

  row = TEST_ROW(rows);
  /* Orphans of the helper become ours, so we can read how they ended. */
  TEST_CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER");
  if (pipe(fds) != 0) {
    CU_FAIL("pipe");
    return;
  }
  helper = fork();
  if (helper == 0) {
    close(fds[0]);
    helper_primary(fds[1]);
  }
  close(fds[1]);
  {
    uint64_t end = now_ms() + 10000u;
    while (strchr(buf, '\n') == NULL && now_ms() < end) {
      struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
      ssize_t r;
      if (poll(&pfd, 1, 100) <= 0)
        continue;
      r = read(fds[0], buf + len, sizeof(buf) - 1 - len);
      if (r <= 0)
        break;
      len += (size_t)r;
      buf[len] = '\0';
    }
  }
  close(fds[0]);
  for (p = buf; n < row->workers;) {
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p || v <= 0)
      break;
    pids[n++] = (pid_t)v;
    p = end;
  }
  TEST_CHECK(n == row->workers, "helper reported %d worker pids, want %d: '%s'",
             n, row->workers, buf);
  if (n != row->workers) {
    kill(helper, SIGKILL);
    return;
  }
  if (row->stopped != 0)
    TEST_CHECK(kill(pids[row->stopped - 1], SIGSTOP) == 0, "SIGSTOP");

  /* The primary dies without a word. */
  TEST_CHECK(kill(helper, SIGKILL) == 0, "kill helper");
  TEST_CHECK(waitpid(helper, &status, 0) == helper && WIFSIGNALED(status) &&
             WTERMSIG(status) == SIGKILL, "helper did not die of SIGKILL");

  for (int i = 0; i < n; i++) {
    int r;
    if (i + 1 == row->stopped)
      continue;
    r = reap(pids[i], &status, 5000);
    TEST_CHECK(r == 1, "worker %d (pid %d) still there 5 s after its primary "
                     "died", i + 1, (int)pids[i]);
    if (r == 1)
      TEST_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                 "orphaned worker %d: %s %d, want exit 0", i + 1,
                 WIFEXITED(status) ? "exit" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  }
  if (row->stopped != 0) {
    pid_t pid = pids[row->stopped - 1];
    char st;
    /* Stopped, it cannot read the EOF: it is still there, stopped. */
    TEST_CHECK(reap(pid, &status, 300) == 0,
               "the stopped worker ended while stopped");
    st = proc_state(pid);
    TEST_CHECK(st == 'T' || st == 't', "stopped worker in state '%c'", st);
    TEST_CHECK(kill(pid, SIGCONT) == 0, "SIGCONT");
    TEST_CHECK(reap(pid, &status, 5000) == 1,
               "the continued worker did not exit within 5 s");
    TEST_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "continued worker: %s %d, want exit 0",
               WIFEXITED(status) ? "exit" : "signal",
               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  }
  for (int i = 0; i < n; i++)
    TEST_CHECK(kill(pids[i], 0) != 0 && errno == ESRCH,
               "worker %d (pid %d) still exists", i + 1, (int)pids[i]);
}

static void run_row(void)
{
  st_isolate(row_body, TIMEOUT_MS);
}

static CU_TestInfo table_tests[NROWS + 1];

int main(int argc, char **argv)
{
  CU_SuiteInfo suites[] = {
    { .pName = "orphans", .pTests = table_tests },
    CU_SUITE_INFO_NULL,
  };

  TEST_ROWS_FILL(table_tests, rows, run_row);
  return test_main(argc, argv, suites, st_roles);
}
