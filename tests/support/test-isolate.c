/*
 * test-isolate.c - a case in a forked process of its own group: failures
 * go back to the test process over a pipe as "line\tfile\tcondition\n",
 * the passed checks as "P\tcount\n" (test-support.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "test-support.h"

/* The write end of the failure pipe inside an isolated case; -1 in the
 * test process. */
static int test_report_fd = -1;
static unsigned test_records_before;
static unsigned test_asserts_before;
static unsigned test_failures_before;

/* ---------------------------------------------------------------------- */
/* The case's side                                                         */

static void test_flatten(char *s)
{
  for (; *s != '\0'; s++)
    if (*s == '\t' || *s == '\n' || *s == '\r')
      *s = ' ';
}

static void test_report_failures(void)
{
  CU_pFailureRecord r = CU_get_failure_list();
  unsigned i = 0;

  for (; r != NULL; r = r->pNext, i++) {
    char line[1400];
    char cond[1100];
    int n;

    if (i < test_records_before)
      continue;
    snprintf(cond, sizeof(cond), "%s",
             r->strCondition != NULL ? r->strCondition : "?");
    test_flatten(cond);
    n = snprintf(line, sizeof(line), "%u\t%s\t%s\n", r->uiLineNumber,
                 r->strFileName != NULL ? r->strFileName : "?", cond);
    if (n > (int)sizeof(line) - 1)
      n = (int)sizeof(line) - 1;
    if (write(test_report_fd, line, (size_t)n) < 0)
      break;
  }
}

static unsigned test_case_failures(void)
{
  return CU_get_number_of_failure_records() - test_records_before;
}

static void test_leave(const test_isolate_opts_t *opts)
    __attribute__((noreturn));
static void test_leave(const test_isolate_opts_t *opts)
{
  unsigned failed = test_case_failures();
  char line[64];
  int n;

  if (opts != NULL && opts->on_leave != NULL)
    opts->on_leave(failed);
  test_report_failures();
  /* The passed checks count too, so that the summary stays meaningful. */
  n = snprintf(line, sizeof(line), "P\t%u\n",
               CU_get_number_of_asserts() - test_asserts_before -
               (CU_get_number_of_failures() - test_failures_before));
  if (write(test_report_fd, line, (size_t)n) < 0)
    failed++;
  fflush(stdout);
  fflush(stderr);
  _exit(failed > 0 ? 1 : 0);
}

void test_isolate_abort(void)
{
  fflush(stdout);
  fflush(stderr);
  if (test_report_fd < 0)
    _exit(1);
  test_report_failures();
  close(test_report_fd);
  /* The case leads its group: every process it started goes with it. */
  (void)kill(0, SIGKILL);
  _exit(1);
}

/* ---------------------------------------------------------------------- */
/* The test process's side                                                 */

static uint64_t test_now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void test_fail_here(const char *msg)
{
  CU_assertImplementation(CU_FALSE, __LINE__, msg, __FILE__, "", CU_FALSE);
}

/* Raises one reported line again; returns 1 for a failure. */
static int test_raise_line(char *line)
{
  char *tab1 = strchr(line, '\t');
  char *tab2 = tab1 != NULL ? strchr(tab1 + 1, '\t') : NULL;

  if (line[0] == 'P' && tab1 == line + 1) {
    for (unsigned long n = strtoul(tab1 + 1, NULL, 10); n > 0; n--)
      CU_assertImplementation(CU_TRUE, 0, "", "", "", CU_FALSE);
    return 0;
  }
  if (tab2 == NULL) {
    CU_assertImplementation(CU_FALSE, 0, line, "?", "", CU_FALSE);
    return 1;
  }
  *tab1 = *tab2 = '\0';
  CU_assertImplementation(CU_FALSE, (unsigned)strtoul(line, NULL, 10),
                          tab2 + 1, tab1 + 1, "", CU_FALSE);
  return 1;
}

/* Reads the case's reports until its end of the pipe closes or the
 * deadline passes; returns the number of failures raised. */
static int test_collect(int fd, uint64_t deadline, unsigned timeout_ms)
{
  char buf[8192];
  size_t len = 0;
  int failures = 0;

  for (;;) {
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    uint64_t now = test_now_ms();
    ssize_t n;

    if (now >= deadline) {
      char msg[128];
      snprintf(msg, sizeof(msg),
               "case did not end within %u ms: process group killed",
               timeout_ms + 5000u);
      test_fail_here(msg);
      return failures + 1;
    }
    if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
      continue;
    n = read(fd, buf + len, sizeof(buf) - 1 - len);
    if (n <= 0)
      return failures;
    len += (size_t)n;
    buf[len] = '\0';
    for (char *nl; (nl = strchr(buf, '\n')) != NULL;) {
      *nl = '\0';
      failures += test_raise_line(buf);
      len -= (size_t)(nl + 1 - buf);
      memmove(buf, nl + 1, len + 1);
    }
    if (len == sizeof(buf) - 1)
      len = 0;                 /* an absurd line: dropped */
  }
}

/* Reaps the case within the same deadline, killing its group when late;
 * returns 1 once reaped. */
static int test_reap(pid_t pid, uint64_t deadline, int *status)
{
  for (;;) {
    pid_t w = waitpid(pid, status, WNOHANG);
    struct timespec ts = { 0, 5000000 };

    if (w == pid)
      return 1;
    if (w < 0 && errno != EINTR)
      return 0;
    if (test_now_ms() >= deadline) {
      (void)kill(-pid, SIGKILL);
      (void)waitpid(pid, status, 0);
      return 1;
    }
    nanosleep(&ts, NULL);
  }
}

static void test_fail_status(int status)
{
  char msg[128];

  if (WIFSIGNALED(status))
    snprintf(msg, sizeof(msg), "case process killed by signal %d",
             WTERMSIG(status));
  else
    snprintf(msg, sizeof(msg), "case process exited with status %d",
             WEXITSTATUS(status));
  test_fail_here(msg);
}

static void test_run_case(void (*body)(void), int fd,
                          const test_isolate_opts_t *opts)
    __attribute__((noreturn));
static void test_run_case(void (*body)(void), int fd,
                          const test_isolate_opts_t *opts)
{
  /* Own process group: the test process can end the case and everything
   * it started at once. */
  (void)setpgid(0, 0);
  test_report_fd = fd;
  test_records_before = CU_get_number_of_failure_records();
  test_asserts_before = CU_get_number_of_asserts();
  test_failures_before = CU_get_number_of_failures();
  body();
  test_leave(opts);
}

void test_isolate(void (*body)(void), unsigned timeout_ms,
                  const test_isolate_opts_t *opts)
{
  uint64_t deadline;
  int fds[2];
  int status = 0;
  int failures;
  pid_t pid;

  if (getenv("TEST_INLINE") != NULL) {
    body();
    return;
  }
  if (pipe2(fds, O_CLOEXEC) != 0) {
    CU_FAIL("pipe2");
    return;
  }
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if (pid < 0) {
    CU_FAIL("fork");
    close(fds[0]);
    close(fds[1]);
    return;
  }
  if (pid == 0) {
    close(fds[0]);
    test_run_case(body, fds[1], opts);
  }
  (void)setpgid(pid, pid);
  close(fds[1]);
  /* The case's own watchdog should fire first; this backstop covers a
   * case that cannot run its loop any more. */
  deadline = test_now_ms() + timeout_ms + 5000u;
  failures = test_collect(fds[0], deadline, timeout_ms);
  close(fds[0]);
  if (!test_reap(pid, deadline, &status))
    status = 0;
  else if (failures == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    test_fail_status(status);
  /* Whatever the case left behind in its group goes too. */
  (void)kill(-pid, SIGKILL);
  if (opts != NULL && opts->on_reaped != NULL)
    opts->on_reaped(pid);
}
