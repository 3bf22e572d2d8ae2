/*
 * suite-env.c - what a `run` needs of its environment, checked before the
 * first case so that a wrong setting fails at once (BASE_EXIT_USAGE) with
 * its cause rather than case by case: TMPDIR (where every run's control
 * socket goes) and the report files. And the causes of the failures that
 * can only happen later, said the same way. And the descriptor limit,
 * raised for the control connections of big clusters.
 */
#include "suite-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* The longest TMPDIR whose control sockets fit in the 108 bytes of a UNIX
 * socket path: TMPDIR/clustersim-ctl-XXXXXX/ctl.sock and its NUL
 * (harness/runner/runner-control.c). */
#define MAX_TMPDIR (108 - 32)

static const char *tmpdir(void)
{
  const char *t = getenv("TMPDIR");

  return t != NULL && t[0] != '\0' ? t : NULL;
}

static int check_tmpdir(void)
{
  const char *t = tmpdir(), *dir = t ? t : "/tmp", *why = NULL;
  struct stat st;

  if (stat(dir, &st) != 0)
    why = strerror(errno);
  else if (!S_ISDIR(st.st_mode))
    why = "not a directory";
  else if (access(dir, W_OK | X_OK) != 0)
    why = strerror(errno);
  if (why != NULL) {
    fprintf(stderr, "clustersim: %s%s: %s (every run's control socket goes "
            "there)\n", t ? "TMPDIR=" : "", dir, why);
    return BASE_EXIT_USAGE;
  }
  if (strlen(dir) > MAX_TMPDIR) {
    fprintf(stderr, "clustersim: TMPDIR=%s is %zu bytes long: the control "
            "sockets of the runs go there, and their paths would not fit in "
            "the 108 bytes of a UNIX socket address (TMPDIR may have %d "
            "bytes at most)\n", dir, strlen(dir), MAX_TMPDIR);
    return BASE_EXIT_USAGE;
  }
  return BASE_EXIT_PASS;
}

/* A report is replaced atomically, through a new file next to it: what
 * has to work is creating a file in its directory. */
static int check_output(const char *opt, const char *path)
{
  struct stat st;
  char *probe;
  int fd, err = 0;

  if (path == NULL)
    return BASE_EXIT_PASS;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    fprintf(stderr, "clustersim: %s %s: is a directory\n", opt, path);
    return BASE_EXIT_USAGE;
  }
  probe = base_asprintf("%s.probe.%ld", path, (long)getpid());
  if (probe == NULL)
    return BASE_EXIT_INTERNAL;
  fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    err = errno;
  else
    close(fd);
  if (fd >= 0)
    unlink(probe);
  free(probe);
  if (err == 0)
    return BASE_EXIT_PASS;
  fprintf(stderr, "clustersim: %s %s: cannot create it: %s\n", opt, path,
          strerror(err));
  return BASE_EXIT_USAGE;
}

int suite__check_environment(const suite_opts_t *opts)
{
  int ret = check_tmpdir();

  if (ret == BASE_EXIT_PASS)
    ret = check_output("--junit", opts->junit);
  if (ret == BASE_EXIT_PASS)
    ret = check_output("--html", opts->html);
  return ret;
}

void suite__cannot_write(const char *opt, const char *path, int rc)
{
  fprintf(stderr, "clustersim: %s %s: cannot write it: %s\n", opt, path,
          rc == UV_ENOSYS ? "libxml2 (libxml2.so.2) could not be loaded"
                          : uv_strerror(rc));
}

char *suite__start_error(int rc)
{
  const char *t = tmpdir();

  /* what runner_run_start can fail on before the run exists: the control
   * socket's directory */
  if (rc == UV_ENAMETOOLONG || rc == UV_ENOENT || rc == UV_EACCES ||
      rc == UV_ENOTDIR || rc == UV_EROFS || rc == UV_ENOSPC)
    return base_asprintf("the harness could not start the run: cannot make "
                         "its control socket in %s%s: %s", t ? "TMPDIR=" : "",
                         t ? t : "/tmp", uv_strerror(rc));
  return base_asprintf("the harness could not start the run: %s",
                       uv_strerror(rc));
}

/* The workers a scenario forks in its setup and its top-level steps: what
 * its control connections need at least (steps in triggers may fork more;
 * this is for a warning only). */
static unsigned scenario_workers(const scenario_t *s)
{
  unsigned n = s->workers;
  size_t i;

  for (i = 0; i < s->n_steps; i++)
    if (s->steps[i].kind == SCENARIO_STEP_FORK)
      n += s->steps[i].count;
  return n;
}

void suite__raise_fd_limit(const suite_opts_t *opts,
                           const suite_selection_t *sel)
{
  unsigned most = 0, n;
  size_t i;
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return;
  if (rl.rlim_cur < rl.rlim_max) {
    /* fs.nr_open (2^20 unless raised) bounds an unlimited hard limit */
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 &&
        getrlimit(RLIMIT_NOFILE, &rl) != 0)
      return;
  }
  for (i = 0; i < sel->n_scenarios; i++)
    if ((n = scenario_workers(sel->scenarios[i])) > most)
      most = n;
  /* a control connection per worker and per primary, for each job at
   * once, and what the harness keeps open besides */
  n = (most + 1) * (opts->jobs > 0 ? opts->jobs : 1) + 64;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < n)
    fprintf(stderr, "clustersim: warning: the descriptor limit is %lu (hard "
            "limit %lu) and %u workers at -j %u need about %u: runs may fail "
            "with 'too many open files'; raise it (ulimit -Hn)\n",
            (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max, most,
            opts->jobs, n);
}
