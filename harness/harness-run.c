/*
 * One run of a scenario on a target: the agent under its supervisor, the
 * control socket every process of the cluster connects to, the records
 * that make the trace, and the end of the run (graceful shutdown, drain,
 * hygiene checks, the oracle, the verdict). Steps and triggers are
 * harness-step.c.
 */
#include "harness-run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A control line longer than this is a broken peer. */
#define MAX_LINE (1024 * 1024)
/* The end-of-run shutdown: its SIGKILL timeout, and how long the agent may
 * take to exit after it (the timeout, the agent's own 3 s after its
 * SIGKILLs, and room to spare). */
#define END_SHUTDOWN_MS 2000
#define END_EXIT_MS (END_SHUTDOWN_MS + 3000 + 2000)
/* Agent output kept for the report (the tail). */
#define LOG_KEEP (32 * 1024)

static void run_finish(harness_run_t *run);
static void end_drain(harness_run_t *run);
static void run_kill(harness_run_t *run);
static void on_end_timer(uv_timer_t *t);
static void end_shutdown(harness_run_t *run);
static bool all_settled(const harness_run_t *run);
static void run_kill(harness_run_t *run);

uint64_t run_scaled(const harness_run_t *run, int64_t ms)
{
  double v = (double)ms * run->opts.time_scale;

  return v < 0 ? 0 : (uint64_t)v;
}

void run_handle_gone(harness_run_t *run)
{
  run->handles--;
  run_finish(run);
}

void run_maybe_finish(harness_run_t *run)
{
  run_finish(run);
}

static void on_run_handle_closed(uv_handle_t *h)
{
  run_handle_gone(h->data);
}

static void close_run_handle(harness_run_t *run, uv_handle_t *h)
{
  h->data = run;
  if (!uv_is_closing(h))
    uv_close(h, on_run_handle_closed);
}

/* ---------------------------------------------------------------------- */
/* Failures                                                                */

void run_fail(harness_run_t *run, const harness_step_t *st,
              const char *fmt, ...)
{
  va_list ap;
  char *msg;

  va_start(ap, fmt);
  msg = harness_vasprintf(fmt, ap);
  va_end(ap);
  if (msg == NULL)
    return;
  /* the first failure is the reason; later ones are in the findings */
  if (st != NULL)
    harness_findings_add(&run->res.findings, HARNESS_FINDING_FAIL, "step",
                         0, -1, st->line, "%s:%u: %s %s: %s", run->s->file,
                         st->line,
                         st->kind == HARNESS_STEP_TRIGGER ? "trigger" : "step",
                         harness_step_name(st->kind), msg);
  else
    harness_findings_add(&run->res.findings, HARNESS_FINDING_FAIL, "run", 0,
                         -1, 0, "%s", msg);
  if (run->step_failure == NULL)
    run->step_failure = run->res.findings.count > 0
        ? strdup(run->res.findings.items[run->res.findings.count - 1].message)
        : NULL;
  free(msg);
}

void run_error(harness_run_t *run, const char *fmt, ...)
{
  va_list ap;

  if (run->error != NULL)
    return;
  va_start(ap, fmt);
  run->error = harness_vasprintf(fmt, ap);
  va_end(ap);
}

/* ---------------------------------------------------------------------- */
/* Records                                                                 */

run_worker_t *run_worker(harness_run_t *run, unsigned id)
{
  if (id == 0 || id > 100000)
    return NULL;
  if (id > run->n_workers) {
    unsigned n = id + 16, i;
    run_worker_t *b = realloc(run->workers, n * sizeof(*b));
    if (b == NULL)
      return NULL;
    for (i = run->n_workers; i < n; i++)
      memset(&b[i], 0, sizeof(b[i]));
    run->workers = b;
    run->n_workers = n;
  }
  return &run->workers[id - 1];
}

static void learn(harness_run_t *run, const harness_event_t *e)
{
  run_worker_t *w = run_worker(run, e->worker);
  const cJSON *v;

  if (e->ev != HARNESS_EV_NONE && e->ev < HARNESS_EV_COUNT)
    run->counts_all[e->ev][e->cluster_emitter ? 1 : 0]++;
  if (e->ev == HARNESS_EV_SHUTDOWN_DONE)
    run->shutdown_done_seen = true;
  if (e->ev == HARNESS_EV_RESTART_DONE)
    run->restart_done_count++;
  if (w == NULL)
    return;
  w->known = true;
  if (e->ev != HARNESS_EV_NONE && e->ev < HARNESS_EV_COUNT)
    w->counts[e->ev][e->cluster_emitter ? 1 : 0]++;
  if (e->src == HARNESS_SRC_AGENT && e->ev == HARNESS_EV_FORK) {
    w->forked = true;
    if (e->pid > 0 && w->pid == 0)
      w->pid = e->pid;
    if (e->worker > run->last_forked)
      run->last_forked = e->worker;
  }
  if (e->src == HARNESS_SRC_AGENT && e->ev == HARNESS_EV_EXIT)
    w->exited = true;
  if (e->pid > 0 && w->pid == 0)
    w->pid = e->pid;
  /* the ports of the cluster's servers, by listen index */
  if (e->ev == HARNESS_EV_W_LISTENING) {
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(e->json, "index");
    v = cJSON_GetObjectItemCaseSensitive(e->json, "port");
    if (cJSON_IsNumber(idx) && cJSON_IsNumber(v) && idx->valuedouble >= 0 &&
        idx->valuedouble < RUN_MAX_SERVERS &&
        run->ports[(int)idx->valuedouble] == 0)
      run->ports[(int)idx->valuedouble] = (int)v->valuedouble;
  }
  if (e->src == HARNESS_SRC_AGENT && e->ev == HARNESS_EV_LISTENING &&
      run->ports[0] == 0) {
    v = cJSON_GetObjectItemCaseSensitive(e->json, "address");
    v = cJSON_GetObjectItemCaseSensitive(v, "port");
    if (cJSON_IsNumber(v) && v->valuedouble > 0)
      run->ports[0] = (int)v->valuedouble;
  }
}

/* Takes ownership of rec. */
void run_record(harness_run_t *run, cJSON *rec)
{
  harness_trace_t *tr = &run->res.trace;
  size_t idx;

  if (rec == NULL)
    return;
  if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(rec, "t")))
    cJSON_AddNumberToObject(rec, "t", (double)uv_hrtime());
  if (harness_trace_add(tr, rec) != 0)
    return;
  idx = tr->count - 1;
  learn(run, &tr->events[idx]);
  if (run->phase <= PHASE_END_EXIT)
    step_on_record(run, &tr->events[idx]);
  if (run->phase == PHASE_END_SETTLE && all_settled(run))
    end_shutdown(run);
}

void run_action(harness_run_t *run, const char *name,
                const harness_step_t *st, unsigned worker, cJSON *extra)
{
  cJSON *j = extra ? extra : cJSON_CreateObject();

  if (j == NULL)
    return;
  cJSON_AddStringToObject(j, "type", "action");
  cJSON_AddStringToObject(j, "action", name);
  if (!cJSON_HasObjectItem(j, "t"))
    cJSON_AddNumberToObject(j, "t", (double)uv_hrtime());
  if (worker != 0)
    cJSON_AddNumberToObject(j, "worker", worker);
  if (st != NULL) {
    cJSON_AddStringToObject(j, "step", st->path);
    cJSON_AddNumberToObject(j, "line", st->line);
  }
  run_record(run, j);
}

/* ---------------------------------------------------------------------- */
/* The control socket                                                      */

typedef struct {
  uv_write_t req;
  harness_run_t *run;
  char *data;
} run_write_t;

static void on_write(uv_write_t *req, int status)
{
  run_write_t *w = (run_write_t *)req;

  (void)status;
  free(w->data);
  free(w);
}

static int conn_send(run_conn_t *c, cJSON *msg)
{
  run_write_t *w;
  char *text;
  size_t len;
  uv_buf_t buf;
  int rc;

  if (c == NULL || c->closing)
    return UV_EPIPE;
  text = cJSON_PrintUnformatted(msg);
  if (text == NULL)
    return UV_ENOMEM;
  len = strlen(text);
  w = calloc(1, sizeof(*w));
  if (w == NULL) {
    free(text);
    return UV_ENOMEM;
  }
  w->data = realloc(text, len + 2);
  if (w->data == NULL) {
    free(text);
    free(w);
    return UV_ENOMEM;
  }
  w->data[len] = '\n';
  w->data[len + 1] = '\0';
  buf = uv_buf_init(w->data, (unsigned)len + 1);
  rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, on_write);
  if (rc != 0) {
    free(w->data);
    free(w);
  }
  return rc;
}

int run_command(harness_run_t *run, cJSON *cmd, run_req_kind_t kind,
                const harness_step_t *st, cJSON *behaviour)
{
  run_req_t *r;
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(cmd, "cmd");
  int rc;

  if (run->primary == NULL || run->agent_exited)
    return UV_EPIPE;
  r = calloc(1, sizeof(*r));
  if (r == NULL)
    return UV_ENOMEM;
  r->req = ++run->next_req;
  r->kind = kind;
  r->st = st;
  r->sent = uv_hrtime();
  r->behaviour = behaviour;
  snprintf(r->cmd, sizeof(r->cmd), "%s",
           cJSON_IsString(name) ? name->valuestring : "?");
  cJSON_AddNumberToObject(cmd, "req", r->req);
  rc = conn_send(run->primary, cmd);
  if (rc != 0) {
    free(r);
    return rc;
  }
  r->next = run->reqs;
  run->reqs = r;
  return 0;
}

/* Fault numbers are 1, 2, 3... per run, apart from the agent's request
 * numbers (they travel on other connections). */
unsigned run_fault_req(harness_run_t *run, const harness_step_t *st)
{
  const harness_step_t **b;

  if (run->n_fault_steps >= 100000)
    return 0;
  b = realloc(run->fault_steps, (run->n_fault_steps + 1) * sizeof(*b));
  if (b == NULL)
    return 0;
  run->fault_steps = b;
  b[run->n_fault_steps++] = st;
  return run->n_fault_steps;
}

/* A worker answers only a fault it refuses. */
static void on_worker_reply(harness_run_t *run, run_conn_t *c,
                            const cJSON *msg)
{
  const cJSON *req = cJSON_GetObjectItemCaseSensitive(msg, "req");
  const cJSON *err = cJSON_GetObjectItemCaseSensitive(msg, "error");
  const harness_step_t *st = NULL;
  unsigned n;

  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "ok")))
    return;
  if (cJSON_IsNumber(req) && req->valuedouble >= 1) {
    n = (unsigned)req->valuedouble;
    if (n <= run->n_fault_steps)
      st = run->fault_steps[n - 1];
  }
  run_fail(run, st, "worker %u refused the fault: %s", c->worker,
           cJSON_IsString(err) ? err->valuestring : "no reason given");
}

int run_send_worker(harness_run_t *run, unsigned id, cJSON *msg)
{
  run_worker_t *w = run_worker(run, id);

  if (w == NULL || w->conn == NULL)
    return UV_ENOTCONN;
  return conn_send(w->conn, msg);
}

static void on_conn_closed(uv_handle_t *h)
{
  run_conn_t *c = h->data;
  harness_run_t *run = c->run;
  run_conn_t **pp;

  for (pp = &run->conns; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  free(c->buf);
  free(c);
  run->handles--;
  run_finish(run);
}

static void conn_close(run_conn_t *c)
{
  harness_run_t *run = c->run;

  if (c->closing)
    return;
  c->closing = true;
  if (run->primary == c)
    run->primary = NULL;
  if (c->role == ROLE_WORKER) {
    run_worker_t *w = run_worker(run, c->worker);
    if (w != NULL && w->conn == c)
      w->conn = NULL;
  }
  uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

static void on_reply(harness_run_t *run, const cJSON *msg)
{
  const cJSON *req = cJSON_GetObjectItemCaseSensitive(msg, "req");
  run_req_t **pp, *r = NULL;

  if (!cJSON_IsNumber(req))
    return;
  for (pp = &run->reqs; *pp; pp = &(*pp)->next)
    if ((*pp)->req == (unsigned)req->valuedouble) {
      r = *pp;
      *pp = r->next;
      break;
    }
  if (r == NULL)
    return;
  step_on_reply(run, r, msg);
  free(r);
}

static void on_hello(harness_run_t *run, run_conn_t *c, cJSON *msg)
{
  const cJSON *role = cJSON_GetObjectItemCaseSensitive(msg, "role");
  const cJSON *v;

  if (cJSON_IsString(role) && strcmp(role->valuestring, "primary") == 0) {
    if (run->primary != NULL || run->phase != PHASE_START) {
      run_error(run, "a second primary agent connected");
      conn_close(c);
      return;
    }
    c->role = ROLE_PRIMARY;
    run->primary = c;
    v = cJSON_GetObjectItemCaseSensitive(msg, "pid");
    run->hello_pid = cJSON_IsNumber(v) ? (int)v->valuedouble : 0;
    v = cJSON_GetObjectItemCaseSensitive(msg, "runtime");
    if (cJSON_IsString(v))
      run->res.runtime = strdup(v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(msg, "version");
    if (cJSON_IsString(v))
      run->res.version = strdup(v->valuestring);
    cJSON_AddStringToObject(msg, "from", "primary");
    run_record(run, msg);
    run->phase = PHASE_SETUP;
    run->started = true;
    uv_timer_stop(&run->step_timer);
    run_kick(run);
    return;
  }
  if (cJSON_IsString(role) && strcmp(role->valuestring, "worker") == 0) {
    run_worker_t *w;
    v = cJSON_GetObjectItemCaseSensitive(msg, "id");
    w = run_worker(run, cJSON_IsNumber(v) ? (unsigned)v->valuedouble : 0);
    if (w == NULL) {
      run_error(run, "a worker connected without a valid id");
      cJSON_Delete(msg);
      conn_close(c);
      return;
    }
    c->role = ROLE_WORKER;
    c->worker = (unsigned)v->valuedouble;
    w->conn = c;
    w->known = true;
    v = cJSON_GetObjectItemCaseSensitive(msg, "pid");
    if (cJSON_IsNumber(v))
      w->pid = (int)v->valuedouble;
    cJSON_AddNumberToObject(msg, "worker", c->worker);
    cJSON_AddStringToObject(msg, "from", "worker");
    run_record(run, msg);
    return;
  }
  run_error(run, "a control connection sent a hello without a role");
  cJSON_Delete(msg);
  conn_close(c);
}

static void on_line(run_conn_t *c, const char *line, size_t len)
{
  harness_run_t *run = c->run;
  cJSON *msg = cJSON_ParseWithLength(line, len);
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");

  if (!cJSON_IsObject(msg) || !cJSON_IsString(type)) {
    run_error(run, "a %s sent a line that is not a JSON object: %.60s",
              c->role == ROLE_PRIMARY ? "primary agent"
              : c->role == ROLE_WORKER ? "worker" : "control connection",
              line);
    cJSON_Delete(msg);
    conn_close(c);
    return;
  }
  if (c->role == ROLE_UNKNOWN) {
    if (strcmp(type->valuestring, "hello") != 0) {
      run_error(run, "a control connection sent '%s' before hello",
                type->valuestring);
      cJSON_Delete(msg);
      conn_close(c);
      return;
    }
    on_hello(run, c, msg);
    return;
  }
  if (strcmp(type->valuestring, "reply") == 0) {
    if (c->role == ROLE_WORKER)
      on_worker_reply(run, c, msg);
    else
      on_reply(run, msg);
    cJSON_Delete(msg);
    return;
  }
  if (c->role == ROLE_WORKER &&
      !cJSON_HasObjectItem(msg, "worker"))
    cJSON_AddNumberToObject(msg, "worker", c->worker);
  run_record(run, msg);
}

static void on_conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  run_conn_t *c = h->data;

  (void)hint;
  if (c->cap - c->len < 65536) {
    size_t cap = c->cap ? c->cap * 2 : 131072;
    char *b = realloc(c->buf, cap);
    if (b == NULL) {
      buf->base = NULL;
      buf->len = 0;
      return;
    }
    c->buf = b;
    c->cap = cap;
  }
  buf->base = c->buf + c->len;
  buf->len = c->cap - c->len;
}

static void on_conn_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
  run_conn_t *c = st->data;
  size_t off = 0;
  char *nl;

  (void)buf;
  if (n < 0) {
    conn_close(c);
    /* the agent's socket reached its end: what it said is all read */
    if (c->run->phase == PHASE_END_EOF && c->run->primary == NULL)
      end_drain(c->run);
    return;
  }
  c->len += (size_t)n;
  while (!c->closing &&
         (nl = memchr(c->buf + off, '\n', c->len - off)) != NULL) {
    size_t len = (size_t)(nl - (c->buf + off));
    if (len > 0)
      on_line(c, c->buf + off, len);
    off += len + 1;
  }
  if (off > 0) {
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
  }
  if (c->len > MAX_LINE && !c->closing) {
    run_error(c->run, "a control line is longer than %d bytes", MAX_LINE);
    conn_close(c);
  }
}

static void on_connection(uv_stream_t *server, int status)
{
  harness_run_t *run = server->data;
  run_conn_t *c;
  unsigned n = 0;

  if (status != 0)
    return;
  for (c = run->conns; c; c = c->next)
    n++;
  c = calloc(1, sizeof(*c));
  if (c == NULL)
    return;
  c->run = run;
  uv_pipe_init(run->loop, &c->pipe, 0);
  c->pipe.data = c;
  run->handles++;
  c->next = run->conns;
  run->conns = c;
  if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 || n >= 1024 ||
      run->phase >= PHASE_DRAIN) {
    conn_close(c);
    return;
  }
  uv_read_start((uv_stream_t *)&c->pipe, on_conn_alloc, on_conn_read);
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
  harness_run_t *run = st->data;

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

static void on_reaped(harness_super_t *s, int pid, int status, void *arg)
{
  harness_run_t *run = arg;
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
      const char *name = harness_signal_name(WTERMSIG(status));
      cJSON_AddNullToObject(rec, "code");
      cJSON_AddStringToObject(rec, "signal", name ? name : "?");
    }
    run_record(run, rec);
  }
  switch (run->phase) {
  case PHASE_START:
    run_error(run, "the agent exited (%s %d) before it connected",
              WIFEXITED(status) ? "code" : "signal",
              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    run_kill(run);
    break;
  case PHASE_SETUP:
    run_error(run, "the agent exited (%s %d) during setup",
              WIFEXITED(status) ? "code" : "signal",
              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    run_kill(run);
    break;
  case PHASE_STEPS:
  case PHASE_END_LOAD:
    step_on_agent_exit(run);
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

static void on_sup_done(harness_super_t *s, unsigned killed, int failed,
                        void *arg)
{
  harness_run_t *run = arg;

  (void)s;
  run->sup_done = true;
  if (!run->killed_path)
    run->res.leftovers = killed;
  if (failed)
    run_error(run, "the run's supervisor process failed");
  run->phase = PHASE_CLOSE;
  run_finish(run);
}

/* ---------------------------------------------------------------------- */
/* The end of a run                                                        */

static void on_end_timer(uv_timer_t *t)
{
  harness_run_t *run = t->data;

  switch (run->phase) {
  case PHASE_END_LOAD:
    run_fail(run, NULL, "the load generator did not stop in time");
    run_kill(run);
    break;
  case PHASE_END_SETTLE:
    /* what has not ended by now is the shutdown's to end */
    end_shutdown(run);
    break;
  case PHASE_END_EXIT:
    run_fail(run, NULL,
             "the primary did not exit within %.3f s of the end-of-run "
             "shutdown", (double)run_scaled(run, END_EXIT_MS) / 1e3);
    run_kill(run);
    break;
  case PHASE_END_EOF:
    end_drain(run);
    break;
  default:
    break;
  }
}

static void end_shutdown(harness_run_t *run)
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
  run_action(run, "shutdown", NULL, 0, NULL);
  run->shutdown_sent = true;
  cmd = cJSON_CreateObject();
  cJSON_AddStringToObject(cmd, "cmd", "shutdown");
  cJSON_AddNumberToObject(cmd, "timeout_ms",
                          (double)run_scaled(run, END_SHUTDOWN_MS));
  if (run_command(run, cmd, REQ_END, NULL, NULL) != 0) {
    cJSON_Delete(cmd);
    run_kill(run);
    return;
  }
  cJSON_Delete(cmd);
  uv_timer_start(&run->end_timer, on_end_timer, run_scaled(run, END_EXIT_MS),
                 0);
}

/* Every forked worker has both its disconnect and its exit. */
static bool all_settled(const harness_run_t *run)
{
  unsigned i;

  for (i = 0; i < run->n_workers; i++) {
    const run_worker_t *w = &run->workers[i];
    if (!w->forked)
      continue;
    if (w->counts[HARNESS_EV_EXIT][0] == 0)
      return false;
    if (w->counts[HARNESS_EV_DISCONNECT][0] == 0 &&
        !run->s->allow_exit_without_disconnect)
      return false;
  }
  return true;
}

/* The graceful end: cluster.disconnect(), then the shutdown once every
 * worker has left. The agent's shutdown alone may exit on the last exit
 * and so drop a `disconnect` that Node emits after `exit`; waiting for
 * both here keeps every lifecycle whole in the trace. */
static void end_settle(harness_run_t *run)
{
  cJSON *cmd, *x;

  uv_timer_stop(&run->end_timer);
  if (run->agent_exited || run->primary == NULL || all_settled(run)) {
    end_shutdown(run);
    return;
  }
  run->phase = PHASE_END_SETTLE;
  if (run->s->respawn != HARNESS_RESPAWN_NEVER) {
    /* nothing new may start while the cluster winds down */
    cmd = cJSON_CreateObject();
    cJSON_AddStringToObject(cmd, "cmd", "policy");
    cJSON_AddStringToObject(cmd, "respawn", "never");
    if (run_command(run, cmd, REQ_END, NULL, NULL) == 0) {
      x = cJSON_CreateObject();
      if (x != NULL)
        cJSON_AddStringToObject(x, "respawn", "never");
      run_action(run, "policy", NULL, 0, x);
    }
    cJSON_Delete(cmd);
  }
  x = cJSON_CreateObject();
  if (x != NULL)
    cJSON_AddBoolToObject(x, "end", true);
  run_action(run, "cluster-disconnect", NULL, 0, x);
  cmd = cJSON_CreateObject();
  cJSON_AddStringToObject(cmd, "cmd", "cluster-disconnect");
  if (run_command(run, cmd, REQ_END, NULL, NULL) != 0) {
    cJSON_Delete(cmd);
    end_shutdown(run);
    return;
  }
  cJSON_Delete(cmd);
  uv_timer_start(&run->end_timer, on_end_timer, run_scaled(run, 3000), 0);
}

/* Called when the steps are over (or a step failed). */
void run_end(harness_run_t *run)
{
  if (run->phase >= PHASE_END_LOAD)
    return;
  /* expectations `during: steps` see the trace up to here */
  run_action(run, "end", NULL, 0, NULL);
  step_stop_all(run);
  uv_timer_stop(&run->step_timer);
  if (run->load_running) {
    run->phase = PHASE_END_LOAD;
    step_load_stop(run);
    uv_timer_start(&run->end_timer, on_end_timer, run_scaled(run, 10000), 0);
    return;
  }
  end_settle(run);
}

/* The load has ended (harness-step.c tells us through run_kick). */
static void end_after_load(harness_run_t *run)
{
  if (run->phase == PHASE_END_LOAD && !run->load_running)
    end_settle(run);
}

static void end_drain(harness_run_t *run)
{
  if (run->phase >= PHASE_DRAIN)
    return;
  uv_timer_stop(&run->end_timer);
  run->phase = PHASE_DRAIN;
  /* the agent is gone; what is left of the cluster has a short grace to
   * end by itself, after that it counts as left over */
  if (run->sup != NULL)
    harness_super_drain(run->sup, (unsigned)run_scaled(run, 1000));
  else
    run_finish(run);
}

void run_abort_error(harness_run_t *run)
{
  run_kill(run);
}

static void run_kill(harness_run_t *run)
{
  if (run->phase >= PHASE_KILL)
    return;
  run->killed_path = true;
  step_stop_all(run);
  if (run->load_running)
    step_load_stop(run);
  run->phase = PHASE_KILL;
  uv_timer_stop(&run->end_timer);
  uv_timer_stop(&run->step_timer);
  if (run->sup != NULL && !run->sup_done)
    harness_super_kill(run->sup);
  else {
    run->phase = PHASE_CLOSE;
    run_finish(run);
  }
}

static void on_deadline(uv_timer_t *t)
{
  harness_run_t *run = t->data;

  if (run->phase >= PHASE_KILL)
    return;
  if (run->phase <= PHASE_STEPS) {
    run->timed_out = true;
    if (run->phase == PHASE_STEPS && run->cur != NULL)
      run_fail(run, NULL, "timed out after %.3f s in %s:%u (%s)",
               (double)run_scaled(run, run->s->timeout_ms) / 1e3,
               run->s->file, run->cur->line,
               harness_step_name(run->cur->kind));
    else
      run_fail(run, NULL, "timed out after %.3f s",
               (double)run_scaled(run, run->s->timeout_ms) / 1e3);
    run_end(run);
    /* the end of a timed-out run has its own bound below */
    uv_timer_start(&run->deadline, on_deadline, run_scaled(run, 10000), 0);
    return;
  }
  run->timed_out = true;
  run_fail(run, NULL, "the end of the run took too long");
  run_kill(run);
}

static void on_step_timer(uv_timer_t *t)
{
  step_on_timeout(t->data);
}

static void on_tick(uv_timer_t *t)
{
  step_tick(t->data);
}

static void on_kick(uv_timer_t *t)
{
  harness_run_t *run = t->data;

  if (run->phase == PHASE_END_LOAD)
    end_after_load(run);
  else if (run->phase == PHASE_SETUP || run->phase == PHASE_STEPS)
    step_continue(run);
}

void run_kick(harness_run_t *run)
{
  if (run->timers_open)
    uv_timer_start(&run->kick, on_kick, 0, 0);
}

void harness_run_abort(harness_run_t *run, const char *reason)
{
  if (run == NULL || run->phase >= PHASE_KILL)
    return;
  if (run->abort_reason == NULL)
    run->abort_reason = strdup(reason ? reason : "interrupted");
  run_kill(run);
}

/* ---------------------------------------------------------------------- */
/* Verdict                                                                 */

/* A listening socket on a port the cluster used, after every process of
 * the run is gone, is a leftover (or the port's next owner, which on a
 * loopback test machine is as suspicious). */
static bool port_listening(int port)
{
  static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
  char line[512];
  size_t i;

  for (i = 0; i < 2; i++) {
    FILE *f = fopen(files[i], "re");
    if (f == NULL)
      continue;
    while (fgets(line, sizeof(line), f) != NULL) {
      char local[128];
      unsigned st, p;
      char *colon;
      if (sscanf(line, " %*d: %127s %*s %x", local, &st) != 2)
        continue;
      colon = strrchr(local, ':');
      if (colon == NULL || sscanf(colon + 1, "%x", &p) != 1)
        continue;
      if (st == 0x0A && (int)p == port) {
        fclose(f);
        return true;
      }
    }
    fclose(f);
  }
  return false;
}

static void hygiene(harness_run_t *run)
{
  int i;

  if (run->res.leftovers > 0)
    harness_findings_add(&run->res.findings, HARNESS_FINDING_FAIL,
                         "hygiene", 0, -1, 0,
                         "%u process%s of the run %s still alive %.1f s "
                         "after the primary exited (killed)",
                         run->res.leftovers,
                         run->res.leftovers == 1 ? "" : "es",
                         run->res.leftovers == 1 ? "was" : "were",
                         (double)run_scaled(run, 1000) / 1e3);
  for (i = 0; i < RUN_MAX_SERVERS; i++)
    if (run->ports[i] > 0 && port_listening(run->ports[i]))
      harness_findings_add(&run->res.findings, HARNESS_FINDING_FAIL,
                           "hygiene", 0, -1, 0,
                           "port %d is still listening after every process "
                           "of the run was reaped", run->ports[i]);
}

static char *join_findings(const harness_findings_t *f)
{
  size_t i, len = 1;
  char *s, *p;

  for (i = 0; i < f->count; i++)
    len += strlen(f->items[i].message) + 16;
  s = malloc(len);
  if (s == NULL)
    return NULL;
  p = s;
  *p = '\0';
  for (i = 0; i < f->count; i++)
    p += sprintf(p, "%s%s\n",
                 f->items[i].kind == HARNESS_FINDING_FAIL ? ""
                                                          : "inconclusive: ",
                 f->items[i].message);
  return s;
}

/* An invariant broken in a run points at the scenario: the line of the
 * last step the harness took before the violating event. */
static void locate_findings(harness_run_t *run, size_t from)
{
  harness_result_t *r = &run->res;
  size_t i;

  for (i = from; i < r->findings.count; i++) {
    harness_finding_t *f = &r->findings.items[i];
    int64_t k = f->event >= 0 ? f->event : (int64_t)r->trace.count - 1;
    unsigned line = 1;
    char *msg;

    for (; k >= 0; k--)
      if (r->trace.events[k].src == HARNESS_SRC_HARNESS &&
          r->trace.events[k].line > 0) {
        line = r->trace.events[k].line;
        break;
      }
    msg = harness_asprintf("%s:%u: %s", run->s->file, line, f->message);
    if (msg != NULL) {
      free(f->message);
      f->message = msg;
      f->line = line;
    }
  }
}

static void verdict(harness_run_t *run)
{
  harness_result_t *r = &run->res;
  harness_oracle_opts_t oo;
  size_t i;
  bool checked = run->started && run->error == NULL &&
                 run->abort_reason == NULL;

  r->ended_ns = uv_hrtime();
  r->trace.complete = !run->killed_path && !run->timed_out &&
                      run->agent_exited && WIFEXITED(run->agent_status) &&
                      WEXITSTATUS(run->agent_status) == 0 &&
                      (run->shutdown_sent || run->shutdown_done_seen) &&
                      r->leftovers == 0;
  harness_trace_finish(&r->trace);
  if (run->logbuf != NULL && run->loglen > 0)
    r->log = strndup(run->logbuf, run->loglen);
  if (checked || run->step_failure != NULL || run->timed_out) {
    memset(&oo, 0, sizeof(oo));
    oo.allow_exit_without_disconnect = run->s->allow_exit_without_disconnect;
    i = r->findings.count;
    harness_oracle_check(&r->trace, &oo, &r->findings);
    locate_findings(run, i);
    harness_expect_check(run->s, &r->trace, &r->load, &r->findings);
    hygiene(run);
  }
  if (run->abort_reason != NULL) {
    r->outcome = HARNESS_ERROR;
    r->reason = strdup(run->abort_reason);
  } else if (run->error != NULL) {
    r->outcome = HARNESS_ERROR;
    r->reason = strdup(run->error);
  } else if (run->timed_out) {
    r->outcome = HARNESS_TIMEOUT;
    r->reason = strdup(run->step_failure ? run->step_failure : "timed out");
  } else if (harness_findings_count(&r->findings, HARNESS_FINDING_FAIL) > 0) {
    r->outcome = HARNESS_FAIL;
    for (i = 0; i < r->findings.count; i++)
      if (r->findings.items[i].kind == HARNESS_FINDING_FAIL) {
        r->reason = strdup(r->findings.items[i].message);
        break;
      }
  } else if (harness_findings_count(&r->findings,
                                    HARNESS_FINDING_INCONCLUSIVE) > 0) {
    r->outcome = HARNESS_INCONCLUSIVE;
    r->reason = strdup(r->findings.items[0].message);
  } else {
    r->outcome = HARNESS_PASS;
    r->reason = strdup("pass");
  }
  r->detail = join_findings(&r->findings);
  if (r->load.ran && r->detail != NULL) {
    /* closed keep-alive connections retried are shown, not hidden */
    const harness_load_totals_t *l = &r->load;
    char *d = harness_asprintf(
        "%sload: %llu requests: %llu ok, %llu retried, %llu failed "
        "(refused %llu, reset %llu, timeout %llu, bad status %llu, "
        "truncated %llu, error %llu)\n", r->detail,
        (unsigned long long)l->sent, (unsigned long long)l->ok,
        (unsigned long long)l->retried, (unsigned long long)l->failed,
        (unsigned long long)l->refused, (unsigned long long)l->reset,
        (unsigned long long)l->timeout, (unsigned long long)l->bad_status,
        (unsigned long long)l->truncated, (unsigned long long)l->error);
    if (d != NULL) {
      free(r->detail);
      r->detail = d;
    }
  }
  if (run->trace_path != NULL) {
    cJSON *meta = cJSON_CreateObject();
    if (meta != NULL) {
      cJSON_AddStringToObject(meta, "scenario", run->s->name);
      cJSON_AddStringToObject(meta, "file", run->s->file);
      cJSON_AddStringToObject(meta, "target", run->target->spec);
      cJSON_AddNumberToObject(meta, "seed", (double)run->opts.seed);
      cJSON_AddNumberToObject(meta, "attempt", run->opts.attempt);
      cJSON_AddStringToObject(meta, "outcome", harness_outcome_name(
                                                   r->outcome));
      cJSON_Delete(r->trace.meta);
      r->trace.meta = meta;
    }
    if (harness_trace_write(&r->trace, run->trace_path) != 0 &&
        r->outcome == HARNESS_PASS) {
      r->outcome = HARNESS_ERROR;
      free(r->reason);
      r->reason = harness_asprintf("cannot write the trace to %s",
                                   run->trace_path);
    }
  }
}

/* Closes every handle once the processes are gone; the last close calls
 * the done callback. */
static void run_finish(harness_run_t *run)
{
  run_conn_t *c;
  harness_result_t *res;
  harness_run_done_cb done;
  void *arg;
  run_req_t *r;

  if (run->phase != PHASE_CLOSE)
    return;
  if (run->load_running)
    return;
  for (c = run->conns; c; c = c->next)
    conn_close(c);
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
  step_timers_close(run);
  if (run->handles > 0 || (run->sup != NULL && !run->sup_done))
    return;

  run->phase = PHASE_DONE;
  if (run->sock[0] != '\0')
    unlink(run->sock);
  if (run->dir[0] != '\0')
    rmdir(run->dir);
  verdict(run);
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
  harness_super_free(run->sup);
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
  harness_result_free(&run->res);
  free(run);
}

void harness_result_free(harness_result_t *r)
{
  if (r == NULL)
    return;
  free(r->reason);
  free(r->detail);
  harness_findings_free(&r->findings);
  harness_trace_free(&r->trace);
  free(r->runtime);
  free(r->version);
  free(r->log);
  memset(r, 0, sizeof(*r));
}

/* ---------------------------------------------------------------------- */

int harness_run_start(uv_loop_t *loop, const harness_scenario_t *s,
                      const harness_target_t *target,
                      const harness_run_opts_t *opts,
                      harness_run_done_cb done, void *arg,
                      harness_run_t **out)
{
  harness_run_t *run;
  const char *tmp = getenv("TMPDIR");
  char *env[3] = {NULL, NULL, NULL};
  harness_super_cbs_t cbs = {on_reaped, on_sup_done};
  int rc, log_fd = -1;

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
  harness_trace_init(&run->res.trace, run->res.started_ns);
  harness_findings_init(&run->res.findings);

  /* A private directory for the control socket: parallel runs never
   * share a path, and nobody else can connect. */
  snprintf(run->dir, sizeof(run->dir), "%s/clustersim-XXXXXX",
           tmp && tmp[0] && strlen(tmp) < 150 ? tmp : "/tmp");
  if (mkdtemp(run->dir) == NULL) {
    rc = -errno;
    run->dir[0] = '\0';
    goto fail;
  }
  snprintf(run->sock, sizeof(run->sock), "%s/ctl.sock", run->dir);
  if (strlen(run->sock) >= 100) {
    rc = UV_ENAMETOOLONG;
    goto fail;
  }
  uv_pipe_init(loop, &run->server, 0);
  run->server.data = run;
  run->handles++;
  if ((rc = uv_pipe_bind(&run->server, run->sock)) != 0 ||
      (rc = uv_listen((uv_stream_t *)&run->server, 128, on_connection)) != 0)
    goto fail_handles;

  uv_timer_init(loop, &run->deadline);
  uv_timer_init(loop, &run->step_timer);
  uv_timer_init(loop, &run->kick);
  uv_timer_init(loop, &run->tick);
  uv_timer_init(loop, &run->end_timer);
  run->deadline.data = run->step_timer.data = run->kick.data = run;
  run->tick.data = run->end_timer.data = run;
  run->handles += 5;
  run->timers_open = true;

  env[0] = harness_asprintf("CLUSTERSIM_CONTROL=%s", run->sock);
  env[1] = harness_asprintf("CLUSTERSIM_RUN=%s-%llu-%u", s->name,
                            (unsigned long long)opts->seed, opts->attempt);
  if (env[0] == NULL || env[1] == NULL) {
    rc = UV_ENOMEM;
    goto fail_handles;
  }
  rc = harness_super_start(loop, target->argv, env, &cbs, run, &run->sup,
                           &run->agent_pid, &log_fd);
  free(env[0]);
  free(env[1]);
  env[0] = env[1] = NULL;
  if (rc != 0)
    goto fail_handles;
  uv_pipe_init(loop, &run->log, 0);
  run->log.data = run;
  run->handles++;
  run->log_open = true;
  if (uv_pipe_open(&run->log, log_fd) == 0)
    uv_read_start((uv_stream_t *)&run->log, on_log_alloc, on_log_read);
  else
    close(log_fd);

  uv_timer_start(&run->deadline, on_deadline,
                 run_scaled(run, s->timeout_ms), 0);
  uv_timer_start(&run->tick, on_tick, 50, 50);
  /* the agent must connect within a bound of its own */
  uv_timer_start(&run->step_timer, on_step_timer, run_scaled(run, 10000), 0);
  if (out != NULL)
    *out = run;
  return 0;

fail_handles:
  free(env[0]);
  free(env[1]);
  /* nothing was started: close what was opened and report the error
   * through the callback like any other run */
  run_error(run, "cannot start the run: %s", uv_strerror(rc));
  run->phase = PHASE_CLOSE;
  if (out != NULL)
    *out = run;
  run_finish(run);
  return 0;

fail:
  if (run->dir[0] != '\0')
    rmdir(run->dir);
  harness_trace_free(&run->res.trace);
  harness_findings_free(&run->res.findings);
  free(run->trace_path);
  free(run);
  return rc;
}
