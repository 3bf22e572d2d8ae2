/*
 * One run of a scenario on a target: the agent under its supervisor, the
 * control socket every process of the cluster connects to, the records
 * that make the trace, and the end of the run (graceful shutdown, drain,
 * hygiene checks, the oracle, the verdict). Steps and triggers are
 * runner-step.c.
 */
#include "runner-internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The end-of-run shutdown: its SIGKILL timeout, and how long the agent may
 * take to exit after it (the timeout, the agent's own 3 s after its
 * SIGKILLs, and room to spare). */
#define END_SHUTDOWN_MS 2000
#define END_EXIT_MS (END_SHUTDOWN_MS + 3000 + 2000)
/* Agent output kept for the report (the tail). */
#define LOG_KEEP (32 * 1024)

static void run_finish(runner_run_t *run);
static void end_drain(runner_run_t *run);
static void run_kill(runner_run_t *run);
static void on_end_timer(uv_timer_t *t);
static void end_shutdown(runner_run_t *run);
static bool all_settled(const runner_run_t *run);

uint64_t runner__scaled(const runner_run_t *run, int64_t ms)
{
  double v = (double)ms * run->opts.time_scale;

  return v < 0 ? 0 : (uint64_t)v;
}

void runner__handle_gone(runner_run_t *run)
{
  run->handles--;
  run_finish(run);
}

void runner__maybe_finish(runner_run_t *run)
{
  run_finish(run);
}

static void on_run_handle_closed(uv_handle_t *h)
{
  runner__handle_gone(h->data);
}

static void close_run_handle(runner_run_t *run, uv_handle_t *h)
{
  h->data = run;
  if (!uv_is_closing(h))
    uv_close(h, on_run_handle_closed);
}

/* ---------------------------------------------------------------------- */
/* Failures                                                                */

void runner__fail(runner_run_t *run, const scenario_step_t *st,
              const char *fmt, ...)
{
  va_list ap;
  char *msg;

  va_start(ap, fmt);
  msg = base_vasprintf(fmt, ap);
  va_end(ap);
  if (msg == NULL)
    return;
  /* the first failure is the reason; later ones are in the findings */
  if (st != NULL)
    oracle_findings_add(&run->res.findings, ORACLE_FINDING_FAIL, "step",
                         0, -1, st->line, "%s:%u: %s %s: %s", run->s->file,
                         st->line,
                         st->kind == SCENARIO_STEP_TRIGGER ? "trigger" : "step",
                         scenario_step_name(st->kind), msg);
  else
    oracle_findings_add(&run->res.findings, ORACLE_FINDING_FAIL, "run", 0,
                         -1, 0, "%s", msg);
  if (run->step_failure == NULL)
    run->step_failure = run->res.findings.count > 0
        ? strdup(run->res.findings.items[run->res.findings.count - 1].message)
        : NULL;
  free(msg);
}

void runner__error(runner_run_t *run, const char *fmt, ...)
{
  va_list ap;

  if (run->error != NULL)
    return;
  va_start(ap, fmt);
  run->error = base_vasprintf(fmt, ap);
  va_end(ap);
}

/* ---------------------------------------------------------------------- */
/* The agent process                                                       */

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
  runner_run_t *run = st->data;

  if (n < 0) {
    uv_read_stop(st);
    return;
  }
  if (run->logbuf == NULL)
    run->logbuf = malloc(LOG_KEEP * 2);
  if (run->logbuf == NULL)
    return;
  /* keep the tail: the end of a log says why a process died */
  if ((size_t)n >= LOG_KEEP) {
    memcpy(run->logbuf, buf->base + n - LOG_KEEP, LOG_KEEP);
    run->loglen = LOG_KEEP;
    return;
  }
  if (run->loglen + (size_t)n > LOG_KEEP * 2) {
    size_t drop = run->loglen + (size_t)n - LOG_KEEP;
    memmove(run->logbuf, run->logbuf + drop, run->loglen - drop);
    run->loglen -= drop;
  }
  memcpy(run->logbuf + run->loglen, buf->base, (size_t)n);
  run->loglen += (size_t)n;
}

static void on_reaped(runner__super_t *s, int pid, int status, void *arg)
{
  runner_run_t *run = arg;
  cJSON *rec;

  (void)s;
  if (pid != run->agent_pid)
    return;
  run->agent_exited = true;
  run->agent_status = status;
  rec = cJSON_CreateObject();
  if (rec != NULL) {
    cJSON_AddStringToObject(rec, "type", "process");
    cJSON_AddStringToObject(rec, "what", "primary-exit");
    cJSON_AddNumberToObject(rec, "pid", run->hello_pid ? run->hello_pid
                                                       : pid);
    if (WIFEXITED(status)) {
      cJSON_AddNumberToObject(rec, "code", WEXITSTATUS(status));
      cJSON_AddNullToObject(rec, "signal");
    } else {
      const char *name = base_signal_name(WTERMSIG(status));
      cJSON_AddNullToObject(rec, "code");
      cJSON_AddStringToObject(rec, "signal", name ? name : "?");
    }
    runner__record(run, rec);
  }
  switch (run->phase) {
  case PHASE_START:
    runner__error(run, "the agent exited (%s %d) before it connected",
              WIFEXITED(status) ? "code" : "signal",
              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    run_kill(run);
    break;
  case PHASE_SETUP:
    runner__error(run, "the agent exited (%s %d) during setup",
              WIFEXITED(status) ? "code" : "signal",
              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    run_kill(run);
    break;
  case PHASE_STEPS:
  case PHASE_END_LOAD:
    runner__step_on_agent_exit(run);
    break;
  case PHASE_END_SETTLE:
  case PHASE_END_EXIT:
    run->phase = PHASE_END_EOF;
    uv_timer_stop(&run->end_timer);
    if (run->primary == NULL)
      end_drain(run);
    else
      /* whatever the agent wrote last is still in the socket */
      uv_timer_start(&run->end_timer, on_end_timer, 1000, 0);
    break;
  default:
    break;
  }
}

static void on_sup_done(runner__super_t *s, unsigned killed, int failed,
                        void *arg)
{
  runner_run_t *run = arg;

  (void)s;
  run->sup_done = true;
  if (!run->killed_path)
    run->res.leftovers = killed;
  if (failed)
    runner__error(run, "the run's supervisor process failed");
  run->phase = PHASE_CLOSE;
  run_finish(run);
}

/* ---------------------------------------------------------------------- */
/* The end of a run                                                        */

static void on_end_timer(uv_timer_t *t)
{
  runner_run_t *run = t->data;

  switch (run->phase) {
  case PHASE_END_LOAD:
    runner__fail(run, NULL, "the load generator did not stop in time");
    run_kill(run);
    break;
  case PHASE_END_SETTLE:
    /* what has not ended by now is the shutdown's to end */
    end_shutdown(run);
    break;
  case PHASE_END_EXIT:
    runner__fail(run, NULL,
             "the primary did not exit within %.3f s of the end-of-run "
             "shutdown", (double)runner__scaled(run, END_EXIT_MS) / 1e3);
    run_kill(run);
    break;
  case PHASE_END_EOF:
    end_drain(run);
    break;
  default:
    break;
  }
}

static void end_shutdown(runner_run_t *run)
{
  cJSON *cmd;

  uv_timer_stop(&run->end_timer);
  if (run->agent_exited || run->primary == NULL) {
    if (!run->agent_exited) {
      /* the agent closed its socket but lives on */
      run_kill(run);
      return;
    }
    end_drain(run);
    return;
  }
  run->phase = PHASE_END_EXIT;
  runner__action(run, "shutdown", NULL, 0, NULL);
  run->shutdown_sent = true;
  cmd = cJSON_CreateObject();
  cJSON_AddStringToObject(cmd, "cmd", "shutdown");
  cJSON_AddNumberToObject(cmd, "timeout_ms",
                          (double)runner__scaled(run, END_SHUTDOWN_MS));
  if (runner__command(run, cmd, REQ_END, NULL, NULL) != 0) {
    cJSON_Delete(cmd);
    run_kill(run);
    return;
  }
  cJSON_Delete(cmd);
  uv_timer_start(&run->end_timer, on_end_timer, runner__scaled(run, END_EXIT_MS),
                 0);
}

/* Every forked worker has both its disconnect and its exit. */
static bool all_settled(const runner_run_t *run)
{
  unsigned i;

  for (i = 0; i < run->n_workers; i++) {
    const runner__worker_t *w = &run->workers[i];
    if (!w->forked)
      continue;
    if (w->counts[TRACE_EV_EXIT][0] == 0)
      return false;
    if (w->counts[TRACE_EV_DISCONNECT][0] == 0 &&
        !run->s->allow_exit_without_disconnect)
      return false;
  }
  return true;
}

/* The graceful end: cluster.disconnect(), then the shutdown once every
 * worker has left. The agent's shutdown alone may exit on the last exit
 * and so drop a `disconnect` that Node emits after `exit`; waiting for
 * both here keeps every lifecycle whole in the trace. */
static void end_settle(runner_run_t *run)
{
  cJSON *cmd, *x;

  uv_timer_stop(&run->end_timer);
  if (run->agent_exited || run->primary == NULL || all_settled(run)) {
    end_shutdown(run);
    return;
  }
  run->phase = PHASE_END_SETTLE;
  if (run->s->respawn != SCENARIO_RESPAWN_NEVER) {
    /* nothing new may start while the cluster winds down */
    cmd = cJSON_CreateObject();
    cJSON_AddStringToObject(cmd, "cmd", "policy");
    cJSON_AddStringToObject(cmd, "respawn", "never");
    if (runner__command(run, cmd, REQ_END, NULL, NULL) == 0) {
      x = cJSON_CreateObject();
      if (x != NULL)
        cJSON_AddStringToObject(x, "respawn", "never");
      runner__action(run, "policy", NULL, 0, x);
    }
    cJSON_Delete(cmd);
  }
  x = cJSON_CreateObject();
  if (x != NULL)
    cJSON_AddBoolToObject(x, "end", true);
  runner__action(run, "cluster-disconnect", NULL, 0, x);
  cmd = cJSON_CreateObject();
  cJSON_AddStringToObject(cmd, "cmd", "cluster-disconnect");
  if (runner__command(run, cmd, REQ_END, NULL, NULL) != 0) {
    cJSON_Delete(cmd);
    end_shutdown(run);
    return;
  }
  cJSON_Delete(cmd);
  uv_timer_start(&run->end_timer, on_end_timer, runner__scaled(run, 3000), 0);
}

/* Called when the steps are over (or a step failed). */
void runner__end(runner_run_t *run)
{
  if (run->phase >= PHASE_END_LOAD)
    return;
  /* expectations `during: steps` see the trace up to here */
  runner__action(run, "end", NULL, 0, NULL);
  runner__step_stop_all(run);
  uv_timer_stop(&run->step_timer);
  if (run->load_running) {
    run->phase = PHASE_END_LOAD;
    runner__step_load_stop(run);
    uv_timer_start(&run->end_timer, on_end_timer, runner__scaled(run, 10000), 0);
    return;
  }
  end_settle(run);
}

/* The load has ended (runner-step.c tells us through runner__kick). */
static void end_after_load(runner_run_t *run)
{
  if (run->phase == PHASE_END_LOAD && !run->load_running)
    end_settle(run);
}

static void end_drain(runner_run_t *run)
{
  if (run->phase >= PHASE_DRAIN)
    return;
  uv_timer_stop(&run->end_timer);
  run->phase = PHASE_DRAIN;
  /* the agent is gone; what is left of the cluster has a short grace to
   * end by itself, after that it counts as left over */
  if (run->sup != NULL)
    runner__super_drain(run->sup, (unsigned)runner__scaled(run, 1000));
  else
    run_finish(run);
}

void runner__agent_eof(runner_run_t *run)
{
  if (run->phase == PHASE_END_EOF && run->primary == NULL)
    end_drain(run);
}

void runner__settle_check(runner_run_t *run)
{
  if (run->phase == PHASE_END_SETTLE && all_settled(run))
    end_shutdown(run);
}

void runner__abort_error(runner_run_t *run)
{
  run_kill(run);
}

static void run_kill(runner_run_t *run)
{
  if (run->phase >= PHASE_KILL)
    return;
  run->killed_path = true;
  runner__step_stop_all(run);
  if (run->load_running)
    runner__step_load_stop(run);
  run->phase = PHASE_KILL;
  uv_timer_stop(&run->end_timer);
  uv_timer_stop(&run->step_timer);
  if (run->sup != NULL && !run->sup_done)
    runner__super_kill(run->sup);
  else {
    run->phase = PHASE_CLOSE;
    run_finish(run);
  }
}

static void on_deadline(uv_timer_t *t)
{
  runner_run_t *run = t->data;

  if (run->phase >= PHASE_KILL)
    return;
  if (run->phase <= PHASE_STEPS) {
    run->timed_out = true;
    if (run->phase == PHASE_STEPS && run->cur != NULL)
      runner__fail(run, NULL, "timed out after %.3f s in %s:%u (%s)",
               (double)runner__scaled(run, run->s->timeout_ms) / 1e3,
               run->s->file, run->cur->line,
               scenario_step_name(run->cur->kind));
    else
      runner__fail(run, NULL, "timed out after %.3f s",
               (double)runner__scaled(run, run->s->timeout_ms) / 1e3);
    runner__end(run);
    /* the end of a timed-out run has its own bound below */
    uv_timer_start(&run->deadline, on_deadline, runner__scaled(run, 10000), 0);
    return;
  }
  run->timed_out = true;
  runner__fail(run, NULL, "the end of the run took too long");
  run_kill(run);
}

static void on_step_timer(uv_timer_t *t)
{
  runner__step_on_timeout(t->data);
}

static void on_tick(uv_timer_t *t)
{
  runner__step_tick(t->data);
}

static void on_kick(uv_timer_t *t)
{
  runner_run_t *run = t->data;

  if (run->phase == PHASE_END_LOAD)
    end_after_load(run);
  else if (run->phase == PHASE_SETUP || run->phase == PHASE_STEPS)
    runner__step_continue(run);
}

void runner__kick(runner_run_t *run)
{
  if (run->timers_open)
    uv_timer_start(&run->kick, on_kick, 0, 0);
}

void runner_run_abort(runner_run_t *run, const char *reason)
{
  if (run == NULL || run->phase >= PHASE_KILL)
    return;
  if (run->abort_reason == NULL)
    run->abort_reason = strdup(reason ? reason : "interrupted");
  run_kill(run);
}

static void run_finish(runner_run_t *run)
{
  runner__conn_t *c;
  runner_result_t *res;
  runner_done_cb done;
  void *arg;
  runner__req_t *r;

  if (run->phase != PHASE_CLOSE)
    return;
  if (run->load_running)
    return;
  for (c = run->conns; c; c = c->next)
    runner__conn_close(c);
  if (run->server.data != NULL && !uv_is_closing((uv_handle_t *)&run->server))
    close_run_handle(run, (uv_handle_t *)&run->server);
  if (run->log_open) {
    run->log_open = false;
    close_run_handle(run, (uv_handle_t *)&run->log);
  }
  if (run->timers_open) {
    run->timers_open = false;
    close_run_handle(run, (uv_handle_t *)&run->deadline);
    close_run_handle(run, (uv_handle_t *)&run->step_timer);
    close_run_handle(run, (uv_handle_t *)&run->kick);
    close_run_handle(run, (uv_handle_t *)&run->tick);
    close_run_handle(run, (uv_handle_t *)&run->end_timer);
  }
  runner__step_timers_close(run);
  if (run->handles > 0 || (run->sup != NULL && !run->sup_done))
    return;

  run->phase = PHASE_DONE;
  if (run->sock[0] != '\0')
    unlink(run->sock);
  if (run->dir[0] != '\0')
    rmdir(run->dir);
  runner__verdict(run);
  while ((r = run->reqs) != NULL) {
    run->reqs = r->next;
    free(r);
  }
  res = malloc(sizeof(*res));
  if (res != NULL) {
    *res = run->res;
    memset(&run->res, 0, sizeof(run->res));
  }
  done = run->done;
  arg = run->done_arg;
  /* the run is still valid (as an identity) inside the callback; res is
   * NULL only when memory ran out at this very point */
  done(run, res, arg);
  runner__super_free(run->sup);
  if (run->load != NULL)
    load_free(run->load);
  if (run->workers != NULL) {
    unsigned i, k;
    for (i = 0; i < run->n_workers; i++)
      for (k = 0; k < run->workers[i].n_pending; k++)
        cJSON_Delete(run->workers[i].pending[k]);
  }
  free(run->workers);
  free(run->fault_steps);
  free(run->triggers);
  free(run->logbuf);
  free(run->trace_path);
  free(run->abort_reason);
  free(run->error);
  free(run->step_failure);
  runner_result_free(&run->res);
  free(run);
}

void runner_result_free(runner_result_t *r)
{
  if (r == NULL)
    return;
  free(r->reason);
  free(r->detail);
  oracle_findings_free(&r->findings);
  trace_free(&r->trace);
  free(r->runtime);
  free(r->version);
  free(r->log);
  memset(r, 0, sizeof(*r));
}

/* ---------------------------------------------------------------------- */

int runner_run_start(uv_loop_t *loop, const scenario_t *s,
                      const runner_target_t *target,
                      const runner_opts_t *opts,
                      runner_done_cb done, void *arg,
                      runner_run_t **out)
{
  runner_run_t *run;
  const char *tmp = getenv("TMPDIR");
  char *env[2 + 8 + 1] = {NULL};
  size_t k;
  runner__super_cbs_t cbs = {on_reaped, on_sup_done};
  int rc = 0, log_fd = -1;
  bool opened = false;

  if (out != NULL)
    *out = NULL;
  run = calloc(1, sizeof(*run));
  if (run == NULL)
    return UV_ENOMEM;
  run->loop = loop;
  run->s = s;
  run->target = target;
  run->opts = *opts;
  if (run->opts.time_scale <= 0)
    run->opts.time_scale = 1.0;
  if (opts->trace_path != NULL)
    run->trace_path = strdup(opts->trace_path);
  run->opts.trace_path = run->trace_path;
  run->done = done;
  run->done_arg = arg;
  run->rng = opts->seed ^ 0x9E3779B97F4A7C15ull;
  run->res.started_ns = uv_hrtime();
  trace_init(&run->res.trace, run->res.started_ns);
  oracle_findings_init(&run->res.findings);

  /* A private directory for the control socket: parallel runs never
   * share a path, and nobody else can connect. */
  snprintf(run->dir, sizeof(run->dir), "%s/clustersim-XXXXXX",
           tmp && tmp[0] && strlen(tmp) < 150 ? tmp : "/tmp");
  if (mkdtemp(run->dir) == NULL) {
    rc = -errno;
    run->dir[0] = '\0';
    goto out;
  }
  snprintf(run->sock, sizeof(run->sock), "%s/ctl.sock", run->dir);
  if (strlen(run->sock) >= 100) {
    rc = UV_ENAMETOOLONG;
    goto out;
  }
  uv_pipe_init(loop, &run->server, 0);
  run->server.data = run;
  run->handles++;
  opened = true;
  if ((rc = uv_pipe_bind(&run->server, run->sock)) != 0 ||
      (rc = uv_listen((uv_stream_t *)&run->server, 128, runner__on_connection)) != 0)
    goto out;

  uv_timer_init(loop, &run->deadline);
  uv_timer_init(loop, &run->step_timer);
  uv_timer_init(loop, &run->kick);
  uv_timer_init(loop, &run->tick);
  uv_timer_init(loop, &run->end_timer);
  run->deadline.data = run->step_timer.data = run->kick.data = run;
  run->tick.data = run->end_timer.data = run;
  run->handles += 5;
  run->timers_open = true;

  env[0] = base_asprintf("CLUSTERSIM_CONTROL=%s", run->sock);
  env[1] = base_asprintf("CLUSTERSIM_RUN=%s-%llu-%u", s->name,
                            (unsigned long long)opts->seed, opts->attempt);
  if (env[0] == NULL || env[1] == NULL) {
    rc = UV_ENOMEM;
    goto out;
  }
  /* the target's own (borrowed: freed with the target) */
  for (k = 0; target->env != NULL && target->env[k] != NULL && k < 8; k++)
    env[2 + k] = target->env[k];
  rc = runner__super_start(loop, target->argv, env, &cbs, run, &run->sup,
                           &run->agent_pid, &log_fd);
  if (rc != 0)
    goto out;
  uv_pipe_init(loop, &run->log, 0);
  run->log.data = run;
  run->handles++;
  run->log_open = true;
  if (uv_pipe_open(&run->log, log_fd) == 0)
    uv_read_start((uv_stream_t *)&run->log, on_log_alloc, on_log_read);
  else
    close(log_fd);

  uv_timer_start(&run->deadline, on_deadline,
                 runner__scaled(run, s->timeout_ms), 0);
  uv_timer_start(&run->tick, on_tick, 50, 50);
  /* the agent must connect within a bound of its own */
  uv_timer_start(&run->step_timer, on_step_timer, runner__scaled(run, 10000), 0);

out:
  free(env[0]);
  free(env[1]);
  if (rc != 0 && opened) {
    /* handles are open: close them and report the error through the
     * callback like any other run */
    runner__error(run, "cannot start the run: %s", uv_strerror(rc));
    run->phase = PHASE_CLOSE;
    rc = 0;
    run_finish(run);
  } else if (rc != 0) {
    if (run->dir[0] != '\0')
      rmdir(run->dir);
    trace_free(&run->res.trace);
    oracle_findings_free(&run->res.findings);
    free(run->trace_path);
    free(run);
    return rc;
  }
  if (out != NULL)
    *out = run;
  return 0;
}
