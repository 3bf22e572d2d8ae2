/*
 * Step handlers of what the harness measures itself: `memory` reads the
 * Rss and Pss of the run's processes from /proc and records one `sample`
 * per process. Nothing is asked of the agents, so the step is the same on
 * every target; the pids are those the records gave (runner-cluster.c)
 * and the agent's own.
 */
#include "runner-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* smaps_rollup is about 1 KB, Rss and Pss on its first lines. */
#define ROLLUP_MAX 4096

/* The number in kB on the line of `text` that begins with `key`; -1 when
 * there is none. */
static long rollup_field(const char *text, const char *key)
{
  size_t n = strlen(key);
  const char *p = text;
  char *end;
  long v;

  while (p != NULL) {
    if (strncmp(p, key, n) == 0) {
      v = strtol(p + n, &end, 10);
      return end != p + n && v >= 0 ? v : -1;
    }
    p = strchr(p, '\n');
    if (p != NULL)
      p++;
  }
  return -1;
}

/* Rss and Pss of `pid`, in kB. Read synchronously on the loop: the kernel
 * builds the file from the process's page tables in the call, with no I/O
 * to wait for (tens of microseconds; up to about a millisecond when a busy
 * Node process holds its memory map's lock), and a read in the thread pool
 * would let the records dispatched meanwhile come between the step and its
 * samples. A process that has gone is UV_ENOENT (no /proc entry) or
 * UV_ESRCH (a zombie: no memory left to read). */
static int rollup_read(int pid, long *rss, long *pss)
{
  char path[64], buf[ROLLUP_MAX];
  size_t len = 0;
  ssize_t n;
  int fd, rc = 0;

  snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  while (len < sizeof(buf) - 1) {
    n = read(fd, buf + len, sizeof(buf) - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = -errno;
      goto out;
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  *rss = rollup_field(buf, "Rss:");
  *pss = rollup_field(buf, "Pss:");
  if (*rss < 0 || *pss < 0)
    rc = UV_EINVAL;
out:
  close(fd);
  return rc;
}

/* The sample of one process (`id` 0: the primary): read now, unless
 * `rc` already says why it cannot be (UV_ESRCH: the records tell it has
 * exited). */
static void sample(runner_run_t *run, const scenario_step_t *st, unsigned id,
                   int pid, int rc)
{
  cJSON *j = cJSON_CreateObject();
  uint64_t t = uv_hrtime();
  long rss = -1, pss = -1;

  if (j == NULL)
    return;
  /* signal 0: the pid is, at this moment, a live process of the run (an
   * agent may have got a pid wrong; a worker may just have exited) */
  if (rc == 0)
    rc = runner__super_signal(run->agent.sup, pid, 0);
  if (rc == 0)
    rc = rollup_read(pid, &rss, &pss);
  cJSON_AddStringToObject(j, "type", "sample");
  cJSON_AddStringToObject(j, "what", "memory");
  if (id != 0)
    cJSON_AddNumberToObject(j, "worker", id);
  else
    cJSON_AddBoolToObject(j, "primary", true);
  if (pid > 0)
    cJSON_AddNumberToObject(j, "pid", pid);
  if (rc == 0) {
    cJSON_AddNumberToObject(j, "rss_kb", (double)rss);
    cJSON_AddNumberToObject(j, "pss_kb", (double)pss);
  } else {
    cJSON_AddStringToObject(j, "error", uv_err_name(rc));
  }
  cJSON_AddNumberToObject(j, "t", (double)t);
  cJSON_AddStringToObject(j, "step", st->path);
  cJSON_AddNumberToObject(j, "line", st->line);
  runner__queue_record(run, j);
}

static void sample_primary(runner_run_t *run, const scenario_step_t *st)
{
  int pid = run->agent.hello_pid > 0 ? run->agent.hello_pid : run->agent.pid;

  sample(run, st, 0, pid, run->agent.exited ? UV_ESRCH : 0);
}

/* A worker the step names: one that never existed is the scenario's
 * mistake; one that has exited gets a sample that says so. */
static int sample_named(runner_run_t *run, const scenario_step_t *st,
                        unsigned id)
{
  const runner__worker_t *w = runner__cluster_worker(run, id);

  if (w == NULL || !w->known) {
    runner__fail(run, st, "worker %u does not exist (yet)", id);
    return RUNNER__STEP_FAILED;
  }
  sample(run, st, id, w->pid, w->exited || w->pid <= 0 ? UV_ESRCH : 0);
  return RUNNER__WAIT_NONE;
}

int runner__step_memory(runner_run_t *run, const scenario_step_t *st,
                        const runner__call_t *call)
{
  const runner__cluster_t *cl = &run->cluster;
  unsigned i;

  if (st->primary)
    sample_primary(run, st);
  if (call->worker != 0)
    return sample_named(run, st, call->worker);
  /* every worker alive as far as the records tell: an exit reported is
   * the end of its samples */
  for (i = 0; i < cl->n_workers; i++) {
    const runner__worker_t *w = &cl->workers[i];
    if (!w->exited && (w->forked || w->pid > 0))
      sample(run, st, i + 1, w->pid, w->pid > 0 ? 0 : UV_ESRCH);
  }
  return RUNNER__WAIT_NONE;
}
