/*
 * What arrives during a run: the control socket that the agent and every
 * worker connect to (JSON lines, hello first), the replies to commands,
 * and every record, which goes into the trace and then to the steps and
 * triggers waiting for it.
 */
#include "runner-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A control line longer than this is a broken peer. */
#define MAX_LINE (1024 * 1024)

/* ---------------------------------------------------------------------- */
/* Records                                                                 */

runner__worker_t *runner__worker(runner_run_t *run, unsigned id)
{
  if (id == 0 || id > 100000)
    return NULL;
  if (id > run->n_workers) {
    unsigned n = id + 16, i;
    runner__worker_t *b = realloc(run->workers, n * sizeof(*b));
    if (b == NULL)
      return NULL;
    for (i = run->n_workers; i < n; i++)
      memset(&b[i], 0, sizeof(b[i]));
    run->workers = b;
    run->n_workers = n;
  }
  return &run->workers[id - 1];
}

static void learn(runner_run_t *run, const trace_event_t *e)
{
  runner__worker_t *w = runner__worker(run, e->worker);
  const cJSON *v;

  if (e->ev != TRACE_EV_NONE && e->ev < TRACE_EV_COUNT)
    run->counts_all[e->ev][e->cluster_emitter ? 1 : 0]++;
  if (e->ev == TRACE_EV_SHUTDOWN_DONE)
    run->shutdown_done_seen = true;
  if (e->ev == TRACE_EV_RESTART_DONE)
    run->restart_done_count++;
  if (w == NULL)
    return;
  w->known = true;
  if (e->ev != TRACE_EV_NONE && e->ev < TRACE_EV_COUNT)
    w->counts[e->ev][e->cluster_emitter ? 1 : 0]++;
  if (e->src == TRACE_SRC_AGENT && e->ev == TRACE_EV_FORK) {
    w->forked = true;
    if (e->pid > 0 && w->pid == 0)
      w->pid = e->pid;
    if (e->worker > run->last_forked)
      run->last_forked = e->worker;
  }
  if (e->src == TRACE_SRC_AGENT && e->ev == TRACE_EV_EXIT)
    w->exited = true;
  if (e->pid > 0 && w->pid == 0)
    w->pid = e->pid;
  /* the ports of the cluster's servers, by listen index */
  if (e->ev == TRACE_EV_W_LISTENING) {
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(e->json, "index");
    v = cJSON_GetObjectItemCaseSensitive(e->json, "port");
    if (cJSON_IsNumber(idx) && cJSON_IsNumber(v) && idx->valuedouble >= 0 &&
        idx->valuedouble < RUN_MAX_SERVERS &&
        run->ports[(int)idx->valuedouble] == 0)
      run->ports[(int)idx->valuedouble] = (int)v->valuedouble;
  }
  if (e->src == TRACE_SRC_AGENT && e->ev == TRACE_EV_LISTENING &&
      run->ports[0] == 0) {
    v = cJSON_GetObjectItemCaseSensitive(e->json, "address");
    v = cJSON_GetObjectItemCaseSensitive(v, "port");
    if (cJSON_IsNumber(v) && v->valuedouble > 0)
      run->ports[0] = (int)v->valuedouble;
  }
}

/* Takes ownership of rec. */
void runner__record(runner_run_t *run, cJSON *rec)
{
  trace_t *tr = &run->res.trace;
  size_t idx;

  if (rec == NULL)
    return;
  if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(rec, "t")))
    cJSON_AddNumberToObject(rec, "t", (double)uv_hrtime());
  if (trace_add(tr, rec) != 0)
    return;
  idx = tr->count - 1;
  learn(run, &tr->events[idx]);
  if (run->phase <= PHASE_END_EXIT)
    runner__step_on_record(run, &tr->events[idx]);
  runner__settle_check(run);
}

void runner__action(runner_run_t *run, const char *name,
                const scenario_step_t *st, unsigned worker, cJSON *extra)
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
  runner__record(run, j);
}

/* ---------------------------------------------------------------------- */
/* The control socket                                                      */

typedef struct {
  uv_write_t req;
  runner_run_t *run;
  char *data;
} run_write_t;

static void on_write(uv_write_t *req, int status)
{
  run_write_t *w = (run_write_t *)req;

  (void)status;
  free(w->data);
  free(w);
}

static int conn_send(runner__conn_t *c, cJSON *msg)
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

int runner__command(runner_run_t *run, cJSON *cmd, runner__req_kind_t kind,
                const scenario_step_t *st, cJSON *behaviour)
{
  runner__req_t *r;
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
unsigned runner__fault_req(runner_run_t *run, const scenario_step_t *st)
{
  const scenario_step_t **b;

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
static void on_worker_reply(runner_run_t *run, runner__conn_t *c,
                            const cJSON *msg)
{
  const cJSON *req = cJSON_GetObjectItemCaseSensitive(msg, "req");
  const cJSON *err = cJSON_GetObjectItemCaseSensitive(msg, "error");
  const scenario_step_t *st = NULL;
  unsigned n;

  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "ok")))
    return;
  if (cJSON_IsNumber(req) && req->valuedouble >= 1) {
    n = (unsigned)req->valuedouble;
    if (n <= run->n_fault_steps)
      st = run->fault_steps[n - 1];
  }
  runner__fail(run, st, "worker %u refused the fault: %s", c->worker,
           cJSON_IsString(err) ? err->valuestring : "no reason given");
}

int runner__send_worker(runner_run_t *run, unsigned id, cJSON *msg)
{
  runner__worker_t *w = runner__worker(run, id);

  if (w == NULL || w->conn == NULL)
    return UV_ENOTCONN;
  return conn_send(w->conn, msg);
}

static void on_conn_closed(uv_handle_t *h)
{
  runner__conn_t *c = h->data;
  runner_run_t *run = c->run;
  runner__conn_t **pp;

  for (pp = &run->conns; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  free(c->buf);
  free(c);
  runner__handle_gone(run);
}

void runner__conn_close(runner__conn_t *c)
{
  runner_run_t *run = c->run;

  if (c->closing)
    return;
  c->closing = true;
  if (run->primary == c)
    run->primary = NULL;
  if (c->role == ROLE_WORKER) {
    runner__worker_t *w = runner__worker(run, c->worker);
    if (w != NULL && w->conn == c)
      w->conn = NULL;
  }
  uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

static void on_reply(runner_run_t *run, const cJSON *msg)
{
  const cJSON *req = cJSON_GetObjectItemCaseSensitive(msg, "req");
  runner__req_t **pp, *r = NULL;

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
  runner__step_on_reply(run, r, msg);
  free(r);
}

static void on_hello(runner_run_t *run, runner__conn_t *c, cJSON *msg)
{
  const cJSON *role = cJSON_GetObjectItemCaseSensitive(msg, "role");
  const cJSON *v;

  if (cJSON_IsString(role) && strcmp(role->valuestring, "primary") == 0) {
    if (run->primary != NULL || run->phase != PHASE_START) {
      runner__error(run, "a second primary agent connected");
      runner__conn_close(c);
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
    runner__record(run, msg);
    run->phase = PHASE_SETUP;
    run->started = true;
    if (run->opts.hello != NULL)
      run->opts.hello(run, run->res.runtime, run->res.version,
                      run->done_arg);
    uv_timer_stop(&run->step_timer);
    runner__kick(run);
    return;
  }
  if (cJSON_IsString(role) && strcmp(role->valuestring, "worker") == 0) {
    runner__worker_t *w;
    v = cJSON_GetObjectItemCaseSensitive(msg, "id");
    w = runner__worker(run, cJSON_IsNumber(v) ? (unsigned)v->valuedouble : 0);
    if (w == NULL) {
      runner__error(run, "a worker connected without a valid id");
      cJSON_Delete(msg);
      runner__conn_close(c);
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
    runner__record(run, msg);
    return;
  }
  runner__error(run, "a control connection sent a hello without a role");
  cJSON_Delete(msg);
  runner__conn_close(c);
}

static void on_line(runner__conn_t *c, const char *line, size_t len)
{
  runner_run_t *run = c->run;
  cJSON *msg = cJSON_ParseWithLength(line, len);
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");

  if (!cJSON_IsObject(msg) || !cJSON_IsString(type)) {
    runner__error(run, "a %s sent a line that is not a JSON object: %.*s",
              c->role == ROLE_PRIMARY ? "primary agent"
              : c->role == ROLE_WORKER ? "worker" : "control connection",
              (int)(len < 60 ? len : 60), line);
    cJSON_Delete(msg);
    runner__conn_close(c);
    return;
  }
  if (c->role == ROLE_UNKNOWN) {
    if (strcmp(type->valuestring, "hello") != 0) {
      runner__error(run, "a control connection sent '%s' before hello",
                type->valuestring);
      cJSON_Delete(msg);
      runner__conn_close(c);
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
  runner__record(run, msg);
}

static void on_conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  runner__conn_t *c = h->data;

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
  runner__conn_t *c = st->data;
  size_t off = 0;
  char *nl;

  (void)buf;
  if (n < 0) {
    runner__conn_close(c);
    /* the agent's socket reached its end: what it said is all read */
    runner__agent_eof(c->run);
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
    runner__error(c->run, "a control line is longer than %d bytes", MAX_LINE);
    runner__conn_close(c);
  }
}

void runner__on_connection(uv_stream_t *server, int status)
{
  runner_run_t *run = server->data;
  runner__conn_t *c;
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
    runner__conn_close(c);
    return;
  }
  uv_read_start((uv_stream_t *)&c->pipe, on_conn_alloc, on_conn_read);
}
